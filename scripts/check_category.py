"""Generate kernels of one category and check them: dataflow (no compiling), then build and launch.

Usage: python scripts/check_category.py CATEGORY [--count 50] [--seed 0] [--complexity 1-5]
       [--show-failures 2] [--dataflow-only]

Prints the share of kernels with each dataflow finding (``warp_ir_dataset.dataflow``; the first
``--show-failures`` offenders with their findings), then builds the kernels in one batch, launches each,
and prints failures by reason (with the first failing sources) and the distinct Warp builtins the kernels
use. Exits non-zero if any kernel has a dataflow finding or failed to build or launch.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter

from warp_ir_dataset import GenerationConfig
from warp_ir_dataset.dataflow import analyze, flag_counts
from warp_ir_dataset.stats import python_builtins
from warp_ir_dataset.synth import synthesize_kernel


def dataflow_report(sources: list, show: int) -> dict:
    flows = [analyze(s.source) for s in sources]
    shown = 0
    for source, flow in zip(sources, flows, strict=True):
        if not flow.clean and shown < show:
            shown += 1
            print(f"--- dataflow: {source.kernel_name}\n{source.source}\n" + "\n".join(flow.problems()) + "\n")
    figures = flag_counts(flows)
    figures["kernels_with_findings"] = sum(not f.clean for f in flows)
    figures["lines_per_kernel"] = sum(s.source.count("\n") for s in sources) / len(sources)
    return figures


def build_report(sources: list, config: GenerationConfig, show: int) -> dict:
    from warp_ir_dataset.compile import BatchCompiler
    from warp_ir_dataset.pipeline import check_kernel

    start = time.perf_counter()
    compiler = BatchCompiler(config.build)
    failures: Counter = Counter()
    gradients: Counter = Counter()
    shown = 0
    for item in compiler.build(sources):
        checks, failure = check_kernel(item, config)
        if checks is not None:
            gradients["differentiable" if checks.differentiable else "not_differentiable"] += 1
            if checks.grad_check is not None:
                gradients["grad_pass" if checks.grad_check else "grad_fail"] += 1
        if failure:
            failures[failure] += 1
            if shown < show:
                shown += 1
                detail = item.detail or (checks.detail if checks else "") or ""
                print(f"--- {failure}: {item.source.kernel_name}\n{item.source.source}\n{detail[:3000]}\n")
    compiler.release()
    return {"failed": dict(failures), "gradients": dict(gradients), "seconds": round(time.perf_counter() - start, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("category")
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--complexity", default="1-5")
    parser.add_argument("--show-failures", type=int, default=2)
    parser.add_argument("--dataflow-only", action="store_true", help="check the sources only, build nothing")
    args = parser.parse_args()
    config = GenerationConfig(count=args.count, seed=args.seed, categories=[args.category], complexity=args.complexity)
    start = time.perf_counter()
    sources = [synthesize_kernel(config.synthesis, i) for i in range(args.count)]
    synthesis = time.perf_counter() - start
    builtins: Counter = Counter()
    for source in sources:
        builtins.update(python_builtins(source.source))
    report = {
        "category": args.category,
        "kernels": len(sources),
        "synthesized_per_s": round(len(sources) / synthesis, 1),
        "dataflow": dataflow_report(sources, args.show_failures),
        "distinct_builtins": len(builtins),
        "builtins": sorted(builtins),
    }
    if not args.dataflow_only:
        report.update(build_report(sources, config, args.show_failures))
    print(json.dumps(report, indent=None))
    return 1 if report["dataflow"]["kernels_with_findings"] or report.get("failed") else 0


if __name__ == "__main__":
    sys.exit(main())
