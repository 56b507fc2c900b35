"""Validation figures on a GPU machine (or CPU-only ones here): build records with CPU and CUDA checks.

    python scripts/gpu_check.py --count 2000 --num-workers 16           # on the GPU machine
    python scripts/gpu_check.py --count 200 --devices cpu            # CPU-side figures anywhere

Builds with ``keep_failed=True`` so that every failure is counted, and prints: samples/s, % launched on
CUDA, % CPU/CUDA agreement (of those launched), % gradient checks passed (of the differentiable ones),
and the failures grouped by reason, against the targets (>= 99%, >= 99%, >= 95%).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter

import warp_ir_dataset as wid


def percent(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.2f}% ({part}/{whole})" if whole else "n/a (0)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-workers", type=int, default=os.cpu_count())
    parser.add_argument("--devices", default=None, help="cpu or cpu,cuda (default: detect)")
    parser.add_argument("--json", default=None, help="write the figures to this file")
    args = parser.parse_args()

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        ds = wid.load_dataset(
            count=args.count,
            seed=args.seed,
            num_workers=args.num_workers,
            cache_dir=cache,
            keep_failed=True,
            devices=args.devices,
        )
        rows = [r for split in ds.values() for r in split]
    elapsed = time.perf_counter() - start

    reasons: Counter = Counter(reason for r in rows for reason in r["failed_attempts"])
    launched_cuda = [r for r in rows if r["launched_cuda"] is not None]
    agreed = [r for r in launched_cuda if r["launched_cuda"] and r["cpu_cuda_agree"]]
    differentiable = [r for r in rows if r["differentiable"]]
    grad_pass = [r for r in differentiable if r["grad_check"]]
    for r in rows:
        if r["launched_cuda"] is False:
            reasons["kept_cuda_launch_error"] += 1
        elif r["cpu_cuda_agree"] is False:
            reasons["kept_cpu_cuda_mismatch"] += 1
        if r["grad_check"] is False:
            reasons["kept_grad_mismatch"] += 1
    figures = {
        "records": len(rows),
        "seconds": round(elapsed, 1),
        "samples_per_s": round(len(rows) / elapsed, 2),
        "num_workers": args.num_workers,
        "devices": sorted({"cpu"} | ({"cuda"} if launched_cuda else set())),
        "launched_cpu": percent(sum(bool(r["launched_cpu"]) for r in rows), len(rows)),
        "launched_cuda": percent(sum(bool(r["launched_cuda"]) for r in launched_cuda), len(launched_cuda)),
        "cpu_cuda_agree": percent(len(agreed), sum(bool(r["launched_cuda"]) for r in launched_cuda)),
        "differentiable": percent(len(differentiable), len(rows)),
        "grad_check_passed": percent(len(grad_pass), len(differentiable)),
        "failures_by_reason": dict(sorted(reasons.items())),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
