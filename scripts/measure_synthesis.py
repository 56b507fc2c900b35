"""Synthesis coverage, diversity and dataflow (issue figures), plus build success, throughput and worker memory.

    python scripts/measure_synthesis.py --count 10000 --per-category 500 --compile-count 2000 --seed 0 --num-workers 2
    python scripts/measure_synthesis.py --count 10000 --per-category 500 --compile-count 0 --baseline OLD_CHECKOUT

1. Synthesizes ``count`` kernels with the default configuration (all categories, complexity 1-5) and
   measures what depends on the Python alone: records per category and complexity, distinct Warp
   builtins, exact-unique, structural-unique and near-duplicate rates, and the dataflow figures (share of
   kernels with a parameter reaching no output, an output depending on no input, a local never read, ...:
   ``warp_ir_dataset.dataflow``, computed from each source's syntax tree).
2. With ``--per-category N``: the dataflow figures over N kernels of each category.
3. With ``--baseline DIR`` (a checkout of an earlier version of this package): the same kernels' sources are
   synthesized by that version in a subprocess and measured by this version's analysis, side by side.
4. Builds and validates the first ``compile-count`` kernels in worker processes and measures the share of
   generated kernels (every attempt) that compiled and launched on the CPU, what replaced kernels failed, IR
   sizes, samples/s and the peak RSS per worker.
Figures are printed against the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter

from warp_ir_dataset import CATEGORIES, GenerationConfig
from warp_ir_dataset.dataflow import FLAGS, analyze, flag_counts
from warp_ir_dataset.pipeline import shards
from warp_ir_dataset.stats import near_duplicate_ids, python_builtins, structural_form
from warp_ir_dataset.synth import SynthesisConfig, synthesize_kernel
from warp_ir_dataset.workers import WorkerPool

COMPILE_OR_LAUNCH = {"load_error", "codegen_error", "cpu_compile_error", "launch_error"}
#: Dataflow targets: the largest share of kernels allowed to have each finding.
DATAFLOW_TARGETS = {
    "dead_input": 0.01,
    "constant_output": 0.005,
    "dead_local": 0.01,
    "unused_param": 0.0,
    "dropped_helper_result": 0.0,
}
#: Written by the baseline subprocess: the sources of a list of (seed, index, category) samples as JSON lines.
_BASELINE_PROGRAM = """
import json, sys
from warp_ir_dataset.synth import SynthesisConfig, synthesize_kernel
try:  # a version that takes the synthesis config whole
    from warp_ir_dataset.synth import SynthesisConfig
    def make(seed, index, categories):
        return synthesize_kernel(SynthesisConfig(seed=seed, categories=categories), index)
except ImportError:  # generator version 1
    def make(seed, index, categories):
        return synthesize_kernel(seed, index, 0, categories, (1, 5))
for line in sys.stdin:
    seed, index, categories = json.loads(line)
    k = make(seed, index, tuple(categories) if categories else None)
    print(json.dumps({"source": k.source, "category": k.category}), flush=True)
"""


def source_figures(sources: list[str], categories: list[str]) -> dict:
    count = len(sources)
    builtins: Counter = Counter()
    for source in sources:
        builtins.update(python_builtins(source))
    rows = [{"id": str(n), "python_source": s} for n, s in enumerate(sources)]
    return {
        "kernels": count,
        "per_category": dict(sorted(Counter(categories).items())),
        "distinct_builtins_python": len(builtins),
        "exact_unique_rate": len(set(sources)) / count,
        "structural_unique_rate": len({structural_form(s) for s in sources}) / count,
        "near_duplicate_rate": len(near_duplicate_ids(rows)) / count,
        "lines_per_kernel": sum(s.count("\n") for s in sources) / count,
        "missing_categories": sorted(set(CATEGORIES.names()) - set(categories)),
    }


def dataflow_figures(sources: list[str]) -> dict:
    return flag_counts(analyze(s) for s in sources)


def synthesize(samples: list[tuple[int, int, list[str] | None]]) -> tuple[list[str], list[str], float]:
    start = time.perf_counter()
    kernels = [
        synthesize_kernel(SynthesisConfig(seed=seed, categories=tuple(c) if c else None), index)
        for seed, index, c in samples
    ]
    return [k.source for k in kernels], [k.category for k in kernels], time.perf_counter() - start


def synthesize_baseline(checkout: str, samples: list[tuple[int, int, list[str] | None]]) -> tuple[list[str], list[str]]:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(checkout))
    stdin = "".join(json.dumps(list(s)) + "\n" for s in samples)
    # run from the checkout: an editable install of this version would otherwise shadow it
    out = subprocess.run(
        [sys.executable, "-c", _BASELINE_PROGRAM],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=checkout,
        check=True,
    ).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    return [r["source"] for r in rows], [r["category"] for r in rows]


def _print(figures: dict, prefix: str = "") -> None:
    for key, value in figures.items():
        print(f"{prefix}{key}: {value:.4f}" if isinstance(value, float) else f"{prefix}{key}: {value}")


def _dataflow_table(columns: dict[str, dict]) -> None:
    names = list(columns)
    print(f"{'finding (share of kernels)':44s}" + "".join(f"{n:>14s}" for n in names))
    for key, label, _ in FLAGS:
        print(f"{label[:44]:44s}" + "".join(f"{columns[n][key]:14.4f}" for n in names))
    print(
        f"{'numbered names (share of defined names)':44s}"
        + "".join(f"{columns[n]['numbered_name_share']:14.4f}" for n in names)
    )


def build_figures(config: GenerationConfig, args: argparse.Namespace) -> dict:
    from warp_ir_dataset.stats import compute_stats

    rows = []
    start = time.perf_counter()
    with WorkerPool(args.num_workers) as pool:
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
    return {
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
        "num_workers": args.num_workers,
        "peak_rss_mb_per_worker": max(pool.peak_rss_kb) / 1024,
    }


Target = tuple[str, float, str, bool]


def _target(name: str, value: float, bound: float, at_most: bool) -> Target:
    met = value <= bound if at_most else value >= bound
    return (name, value, f"{'<=' if at_most else '>='} {bound}", met)


def source_section(args: argparse.Namespace, report: dict) -> list[Target]:
    """Figures of ``count`` kernels of the default config (and of the baseline's), with their targets."""
    samples = [(args.seed, i, None) for i in range(args.count)]
    sources, categories, seconds = synthesize(samples)
    figures = source_figures(sources, categories)
    figures["synthesis_per_s"] = args.count / seconds
    columns = {"this version": dataflow_figures(sources)}
    if args.baseline:
        old_sources, old_categories = synthesize_baseline(args.baseline, samples)
        report["baseline_sources"] = source_figures(old_sources, old_categories)
        columns = {"baseline": dataflow_figures(old_sources), **columns}
    print(f"== {args.count} synthesized kernels (seed {args.seed}, all categories, complexity 1-5)")
    _print(figures)
    if args.baseline:
        print("-- baseline (" + args.baseline + ")")
        _print(report["baseline_sources"], "baseline ")
    _dataflow_table(columns)
    report["sources"], report["dataflow"] = figures, columns
    sys.stdout.flush()
    new = columns["this version"]
    return [
        _target(f"{key} ({args.count} kernels)", new[key], limit, True) for key, limit in DATAFLOW_TARGETS.items()
    ] + [
        _target("structural_unique_rate", figures["structural_unique_rate"], 0.99, False),
        _target("distinct_builtins_python", figures["distinct_builtins_python"], 240, False),
        (
            "categories present",
            len(figures["per_category"]),
            f"all {len(CATEGORIES)}",
            not figures["missing_categories"],
        ),
    ]


def per_category_section(args: argparse.Namespace, report: dict) -> list[Target]:
    """Dataflow figures of ``per_category`` kernels of each category; the worst category against the targets."""
    per: dict[str, dict] = {}
    print(f"== {args.per_category} kernels of each category (seed {args.seed})")
    for name in CATEGORIES.names():
        cat_samples = [(args.seed, i, [name]) for i in range(args.per_category)]
        cat_sources, _, _ = synthesize(cat_samples)
        per[name] = {"this version": dataflow_figures(cat_sources)}
        if args.baseline:
            per[name] = {"baseline": dataflow_figures(synthesize_baseline(args.baseline, cat_samples)[0]), **per[name]}
        per[name]["lines_per_kernel"] = sum(s.count("\n") for s in cat_sources) / len(cat_sources)
    keys = [k for k, _, _ in FLAGS] + ["numbered_name_share"]
    for version in ("baseline", "this version") if args.baseline else ("this version",):
        print(f"-- {version}: share of kernels with each finding, by category")
        print(f"{'category':12s}" + "".join(f"{k[:12]:>13s}" for k in keys))
        for name, cols in per.items():
            print(f"{name:12s}" + "".join(f"{cols[version][k]:13.4f}" for k in keys))
    report["per_category"] = per
    worst = {key: max(cols["this version"][key] for cols in per.values()) for key in DATAFLOW_TARGETS}
    return [
        _target(f"{key} (worst category, {args.per_category} each)", worst[key], DATAFLOW_TARGETS[key], True)
        for key in DATAFLOW_TARGETS
    ]


def build_section(args: argparse.Namespace, report: dict) -> list[Target]:
    """Build and validate the first ``compile_count`` kernels; the compile-and-launch rate against its target."""
    config = GenerationConfig(count=args.compile_count, seed=args.seed, batch_size=args.batch_size)
    built = build_figures(config, args)
    print(f"== {built['records_built']} built and validated ({args.num_workers} workers)")
    _print(built)
    report["built"] = built
    return [
        _target("compile_and_launch_rate", built["compile_and_launch_rate"], 0.999, False),
        _target("peak RSS per worker (MB)", built["peak_rss_mb_per_worker"], 2048, True),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--per-category", type=int, default=0, help="also measure N kernels of each category")
    parser.add_argument("--compile-count", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--baseline", default=None, help="checkout of an earlier version to measure beside this one")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    report: dict = {}
    targets = source_section(args, report)
    if args.per_category:
        targets += per_category_section(args, report)
    if args.compile_count:
        targets += build_section(args, report)
    print("== targets")
    for name, value, target, met in targets:
        shown = f"{value:.4f}" if isinstance(value, float) else value
        print(f"{name}: {shown} (target {target}): {'met' if met else 'MISSED'}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
