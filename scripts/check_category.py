"""Generate kernels of one category, build them in one batch, launch each, and report.

Usage: python scripts/check_category.py CATEGORY [--count 50] [--seed 0] [--complexity 1-5] [--show-failures 2]

Prints failures by reason (with the first failing sources), the distinct Warp builtins the category's
kernels use, and exits non-zero if any kernel failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter

from warp_ir_dataset import GenerationConfig
from warp_ir_dataset.compile import BatchCompiler
from warp_ir_dataset.pipeline import _check
from warp_ir_dataset.stats import python_builtins
from warp_ir_dataset.synth import synthesize_kernel


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("category")
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--complexity", default="1-5")
    parser.add_argument("--show-failures", type=int, default=2)
    args = parser.parse_args()
    config = GenerationConfig(count=args.count, seed=args.seed, categories=[args.category], complexity=args.complexity)
    sources = [synthesize_kernel(config.seed, i, 0, config.categories, config.complexity) for i in range(args.count)]
    start = time.perf_counter()
    compiler = BatchCompiler(compile_cpu=True)
    built = compiler.build(sources)
    failures: Counter = Counter()
    gradients: Counter = Counter()
    shown = 0
    builtins: Counter = Counter()
    for item in built:
        builtins.update(python_builtins(item.source.source))
        checks, failure = _check(item, config)
        if checks is not None:
            gradients["differentiable" if checks.differentiable else "not_differentiable"] += 1
            if checks.grad_check is not None:
                gradients["grad_pass" if checks.grad_check else "grad_fail"] += 1
        if failure:
            failures[failure] += 1
            if shown < args.show_failures:
                shown += 1
                detail = item.detail or (checks.detail if checks else "") or ""
                print(f"--- {failure}: {item.source.kernel_name}\n{item.source.source}\n{detail[:3000]}\n")
    compiler.release()
    elapsed = time.perf_counter() - start
    print(
        json.dumps(
            {
                "category": args.category,
                "kernels": len(sources),
                "failed": dict(failures),
                "seconds": round(elapsed, 1),
                "distinct_builtins": len(builtins),
                "builtins": sorted(builtins),
            },
            indent=None,
        )
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
