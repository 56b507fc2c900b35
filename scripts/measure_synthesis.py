"""Synthesis coverage and diversity over a large build (issue figures), plus throughput and worker memory.

    python scripts/measure_synthesis.py --count 10000 --seed 0 --workers 2 --json synthesis.json

Builds ``count`` records with the default configuration (all categories, complexity 1-5) in worker
processes, then prints, against the targets:
- the share of generated kernels (every attempt) that compiled and launched on the CPU (>= 99.5%);
- the structural-unique rate (>= 99%) and the other `warp-ir stats` figures;
- distinct Warp builtins used (>= 200);
- that every registered category appears;
- samples/s and the peak RSS of each worker (< 2 GB).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter

from warp_ir_dataset import CATEGORIES, GenerationConfig
from warp_ir_dataset.pipeline import shards
from warp_ir_dataset.stats import compute_stats, format_stats
from warp_ir_dataset.workers import WorkerPool

COMPILE_OR_LAUNCH = {"load_error", "codegen_error", "cpu_compile_error", "launch_error"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    config = GenerationConfig(count=args.count, seed=args.seed, batch_size=args.batch_size)
    rows = []
    start = time.perf_counter()
    with WorkerPool(args.workers) as pool:
        for done, result in enumerate(pool.map(config, shards(list(range(args.count)), args.batch_size)), 1):
            rows.extend(result.records)
            if done % 10 == 0:
                rate = len(rows) / (time.perf_counter() - start)
                print(f"{len(rows)}/{args.count} records, {rate:.2f}/s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - start

    numbers = compute_stats(rows)
    failed = Counter(reason for r in rows for reason in r["failed_attempts"])
    attempts = len(rows) + sum(failed.values())
    compile_launch_failures = sum(n for reason, n in failed.items() if reason in COMPILE_OR_LAUNCH)
    missing = sorted(set(CATEGORIES.names()) - set(numbers["records_per_category"]))
    checks = {
        "compile_and_launch_rate": (1 - compile_launch_failures / attempts, ">= 0.995"),
        "structural_unique_rate": (numbers["structural_unique_rate"], ">= 0.99"),
        "distinct_builtins_python": (numbers["distinct_builtins_python"], ">= 200"),
        "categories_missing": (missing, "none"),
    }
    print(format_stats(numbers))
    print(
        f"kernels generated (all attempts): {attempts}; failed compile or launch: {compile_launch_failures}; "
        f"replaced for any reason: {dict(sorted(failed.items()))}"
    )
    print(f"throughput: {len(rows) / elapsed:.2f} samples/s with {args.workers} workers ({elapsed:.0f} s)")
    print(f"peak RSS per worker process: max {max(pool.peak_rss_kb) / 1024:.0f} MB (target < 2048 MB)")
    for name, (value, target) in checks.items():
        if isinstance(value, float):
            shown = f"{value:.4f}"
        else:
            shown = str(value)
        print(f"{name}: {shown} (target {target})")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(
                {
                    "stats": numbers,
                    "attempts": attempts,
                    "failed": failed,
                    "compile_launch_failures": compile_launch_failures,
                    "samples_per_s": len(rows) / elapsed,
                    "workers": args.workers,
                    "peak_rss_mb": max(pool.peak_rss_kb) / 1024,
                },
                handle,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
