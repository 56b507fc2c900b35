"""Synthesis coverage and diversity (issue figures), plus build success, throughput and worker memory.

    python scripts/measure_synthesis.py --count 10000 --compile-count 2000 --seed 0 --workers 2

1. Synthesizes ``count`` kernels with the default configuration (all categories, complexity 1-5) and
   measures what depends on the Python alone: records per category and complexity, distinct Warp
   builtins, exact-unique, structural-unique and near-duplicate rates.
2. Builds and validates the first ``compile-count`` of them (compile, 3 launches, gradient checks) in
   worker processes and measures the share of generated kernels (every attempt) that compiled and
   launched on the CPU, what replaced kernels failed, IR sizes, samples/s and the peak RSS per worker.
Figures are printed against the targets (>= 99.5% compile and launch, >= 99% structural-unique,
>= 200 builtins, every category present, < 2 GB per worker).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter

from warp_ir_dataset import CATEGORIES, GenerationConfig
from warp_ir_dataset.pipeline import shards
from warp_ir_dataset.stats import compute_stats, near_duplicate_ids, python_builtins, structural_form
from warp_ir_dataset.synth import synthesize_kernel
from warp_ir_dataset.workers import WorkerPool

COMPILE_OR_LAUNCH = {"load_error", "codegen_error", "cpu_compile_error", "launch_error"}


def source_figures(config: GenerationConfig, count: int) -> dict:
    start = time.perf_counter()
    kernels = [synthesize_kernel(config.seed, i, 0, config.categories, config.complexity) for i in range(count)]
    synthesis_seconds = time.perf_counter() - start
    builtins: Counter = Counter()
    for k in kernels:
        builtins.update(python_builtins(k.source))
    rows = [{"id": k.id, "python_source": k.source} for k in kernels]
    return {
        "kernels": count,
        "synthesis_per_s": count / synthesis_seconds,
        "per_category": dict(sorted(Counter(k.category for k in kernels).items())),
        "per_complexity": dict(sorted(Counter(str(k.complexity) for k in kernels).items())),
        "distinct_builtins_python": len(builtins),
        "exact_unique_rate": len({k.source for k in kernels}) / count,
        "structural_unique_rate": len({structural_form(k.source) for k in kernels}) / count,
        "near_duplicate_rate": len(near_duplicate_ids(rows)) / count,
        "missing_categories": sorted(set(CATEGORIES.names()) - {k.category for k in kernels}),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--compile-count", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    config = GenerationConfig(count=args.count, seed=args.seed, batch_size=args.batch_size)

    sources = source_figures(config, args.count)
    print(f"== {args.count} synthesized kernels (seed {args.seed}, all categories, complexity 1-5)")
    for key, value in sources.items():
        print(f"{key}: {value:.4f}" if isinstance(value, float) else f"{key}: {value}")
    sys.stdout.flush()
    if args.compile_count == 0:
        return 0

    rows = []
    start = time.perf_counter()
    with WorkerPool(args.workers) as pool:
        for done, result in enumerate(pool.map(config, shards(list(range(args.compile_count)), args.batch_size)), 1):
            rows.extend(result.records)
            if done % 5 == 0:
                rate = len(rows) / (time.perf_counter() - start)
                print(f"{len(rows)}/{args.compile_count} records, {rate:.2f}/s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - start
    built = compute_stats(rows)
    failed = Counter(reason for r in rows for reason in r["failed_attempts"])
    attempts = len(rows) + sum(failed.values())
    compile_launch_failures = sum(n for reason, n in failed.items() if reason in COMPILE_OR_LAUNCH)
    differentiable = [r for r in rows if r["differentiable"]]
    figures = {
        "records_built": len(rows),
        "kernels_generated_all_attempts": attempts,
        "compile_and_launch_rate": 1 - compile_launch_failures / attempts,
        "replaced_by_reason": dict(sorted(failed.items())),
        "differentiable_share": len(differentiable) / len(rows),
        "grad_check_inconclusive": sum(r["grad_check"] is None for r in differentiable),
        "distinct_builtins_ir": built["distinct_builtins_ir"],
        "python_chars_median": built["python_chars_median"],
        "ir_chars_median": built["ir_chars_median"],
        "expansion_ratio_median": built["expansion_ratio_median"],
        "samples_per_s": len(rows) / elapsed,
        "workers": args.workers,
        "peak_rss_mb_per_worker": max(pool.peak_rss_kb) / 1024,
    }
    print(f"== {len(rows)} built and validated ({args.workers} workers, {elapsed:.0f} s)")
    for key, value in figures.items():
        print(f"{key}: {value:.4f}" if isinstance(value, float) else f"{key}: {value}")
    targets = [
        (
            "compile_and_launch_rate",
            figures["compile_and_launch_rate"],
            ">= 0.995",
            figures["compile_and_launch_rate"] >= 0.995,
        ),
        (
            "structural_unique_rate",
            sources["structural_unique_rate"],
            ">= 0.99",
            sources["structural_unique_rate"] >= 0.99,
        ),
        (
            "distinct_builtins_python",
            sources["distinct_builtins_python"],
            ">= 200",
            sources["distinct_builtins_python"] >= 200,
        ),
        (
            "categories present",
            len(sources["per_category"]),
            f"all {len(CATEGORIES)}",
            not sources["missing_categories"],
        ),
        (
            "peak RSS per worker (MB)",
            figures["peak_rss_mb_per_worker"],
            "< 2048",
            figures["peak_rss_mb_per_worker"] < 2048,
        ),
    ]
    print("== targets")
    for name, value, target, met in targets:
        shown = f"{value:.4f}" if isinstance(value, float) else value
        print(f"{name}: {shown} (target {target}): {'met' if met else 'MISSED'}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"sources": sources, "built": figures}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
