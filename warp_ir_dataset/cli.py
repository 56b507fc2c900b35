"""The ``warp-ir`` command. Its ``generate`` options are built from :class:`GenerationConfig`'s fields."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from .config import MAX_SHARD_SIZE, MIN_SHARD_SIZE, GenerationConfig
from .errors import BuildInterrupted, ConfigError, WarpIRError

GENERATE_EXAMPLES = """examples:
  warp-ir generate --count 1000 --out warp_ir_data                  # every core; rerun to resume
  warp-ir generate --count 200 --categories vector:2,loop:1 --complexity 2-4 --out small
  warp-ir generate --count 100000 --out s3://bucket/warp-ir --shards 0-9   # one Slurm array task
  warp-ir finalize s3://bucket/warp-ir                                     # once every shard is done
"""


REPO_ID_HELP = (
    "Hub repo id the dataset card's Load line names (default: the folder's path; `warp-ir push` names its repo)"
)
VERBOSE_HELP = "log each replaced kernel's reason (default: off)"


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    """One option per :class:`GenerationConfig` field, with its help and exactly one default."""
    for f in fields(GenerationConfig):
        flag = "--" + f.name.replace("_", "-")
        help_text = f.metadata.get("cli_help", f.metadata.get("help", ""))
        default = f.default if f.default is not MISSING else None
        if isinstance(default, bool):
            parser.add_argument(
                flag,
                dest=f.name,
                action=argparse.BooleanOptionalAction,
                default=default,
                help=f"{help_text} (default: {'on' if default else 'off'})",
            )
            continue
        if default is None:
            shown = f.metadata.get("default_text", "none")
        elif f.metadata.get("cli_type") == "range":
            shown = f"{default[0]}-{default[1]}"
        elif isinstance(default, tuple):
            shown = ",".join(map(str, default))
        else:
            shown = default
        kind = _count if f.metadata.get("cli_type") == "count" else int if isinstance(default, int) else str
        parser.add_argument(flag, dest=f.name, type=kind, default=default, help=f"{help_text} (default: {shown})")


def _count(text: str) -> int | None:
    """``--count``: a number, or ``all`` (every harvested kernel)."""
    if text == "all":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'all', got {text!r}") from None


def config_arguments(config: GenerationConfig) -> list[str]:
    """The ``generate`` options that rebuild ``config``: ``--count``, ``--seed`` and every field that differs
    from its default, spelled as :func:`_add_config_options` parses them."""
    default = GenerationConfig()
    args: list[str] = []
    for f in fields(GenerationConfig):
        value = getattr(config, f.name)
        if f.name not in ("count", "seed") and value == getattr(default, f.name):
            continue
        if f.name == "count" and value is None:
            args += ["--count", "all"]
            continue
        flag = "--" + f.name.replace("_", "-")
        if f.name == "category_weights":
            continue  # spelled with the categories, as name:weight pairs
        if isinstance(value, bool):
            args.append(flag if value else "--no-" + flag[2:])
        elif f.name == "categories" and config.category_weights is not None:
            pairs = zip(value, config.category_weights, strict=True)
            args += [flag, ",".join(f"{name}:{weight!r}" for name, weight in pairs)]
        elif f.metadata.get("cli_type") == "range":
            args += [flag, f"{value[0]}-{value[1]}"]
        elif isinstance(value, tuple):
            args += [flag, ",".join(map(repr, value)) if f.metadata.get("cli_type") == "csv_float" else ",".join(value)]
        else:
            args += [flag, str(value)]
    return args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="warp-ir", description="Synthetic Warp kernels and their generated IR.")
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser(
        "generate",
        help="generate a dataset into a folder in the Hugging Face Hub layout, shard by shard (resumable)",
        epilog=GENERATE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_config_options(generate)
    generate.add_argument("--out", default="warp_ir_data", help="output folder or fsspec URL (default: warp_ir_data)")
    generate.add_argument(
        "--shard-size",
        type=int,
        default=None,
        help=f"sample indices per shard (default: count/32 within {MIN_SHARD_SIZE}-{MAX_SHARD_SIZE})",
    )
    generate.add_argument(
        "--shards",
        default=None,
        help="build only shards A-B (e.g. 0-3; one Slurm array task each), then stop (default: every shard)",
    )
    generate.add_argument("--repo-id", default=None, help=REPO_ID_HELP)
    generate.add_argument("--num-workers", type=int, default=None, help="worker processes (default: every core)")
    generate.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="where shards run: a local process pool, or Ray tasks (pip install 'warp_ir_dataset[ray]') "
        "(default: local)",
    )
    generate.add_argument(
        "--address", default=None, help="Ray cluster address (default: $RAY_ADDRESS, else a local Ray)"
    )
    generate.add_argument("--num-gpus", type=float, default=0, help="GPUs per Ray task (default: 0)")
    generate.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)

    finalize = commands.add_parser("finalize", help="write the card of a folder whose shards were built with --shards")
    finalize.add_argument("folder", help="the --out of the shard runs")
    finalize.add_argument("--repo-id", default=None, help=REPO_ID_HELP)

    stats = commands.add_parser(
        "stats",
        help="coverage and diversity statistics of a dataset folder, or of a dataset built from the options",
    )
    stats.add_argument("path", nargs="?", help="a folder written by `warp-ir generate` (omit to build one)")
    _add_config_options(stats)
    stats.add_argument(
        "--num-workers", type=int, default=None, help="worker processes when building (default: every core)"
    )
    stats.add_argument("--cache-dir", default=None, help="datasets cache folder (default: datasets' own)")
    stats.add_argument("--json", action="store_true", help="print every number as JSON (default: a table)")
    stats.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)

    commands.add_parser("categories", help="list the registered kernel categories")

    extract = commands.add_parser(
        "extract",
        help="turn the kernels of existing Warp code into records (each module imported in its own process)",
        epilog="""examples:
  warp-ir extract my_sim_package --out my_kernels           # an installed package, every submodule
  warp-ir extract src/kernels.py tools/ --out my_kernels      # a file and a folder
  warp-ir extract warp.examples warp.tests warp.fem warp.sparse warp.optim --out warp_kernels
""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    extract.add_argument("targets", nargs="+", metavar="TARGET", help="module or package name, .py file, or folder")
    extract.add_argument("--out", required=True, help="output folder or fsspec URL, new or empty (required)")
    extract.add_argument("--count", type=int, default=None, help="keep the first N records by origin (default: all)")
    extract.add_argument(
        "--include-ptx", action="store_true", help="also compile each module to PTX with NVRTC (default: off)"
    )
    extract.add_argument("--ptx-arch", type=int, default=90, help="SM architecture of the PTX (default: 90)")
    extract.add_argument(
        "--launch",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="try one CPU launch per kernel on synthesized inputs, in the worker (default: on)",
    )
    extract.add_argument(
        "--import-timeout", type=float, default=60.0, help="seconds a module may take to import (default: 60)"
    )
    extract.add_argument(
        "--launch-timeout", type=float, default=10.0, help="seconds one CPU launch may take (default: 10)"
    )
    extract.add_argument(
        "--num-workers", type=int, default=None, help="modules harvested at once (default: every core)"
    )
    extract.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)

    push = commands.add_parser(
        "push", help="publish a dataset folder to the Hugging Face Hub (generated from the options if it is missing)"
    )
    push.add_argument("folder", help="folder written by `warp-ir generate` (created from the options if missing)")
    push.add_argument("--repo-id", required=True, help="dataset repo, 'namespace/name' (required)")
    push.add_argument(
        "--private", action="store_true", help="create the repo as private, if it does not exist (default: public)"
    )
    push.add_argument("--revision", default=None, help="branch to push to, created if missing (default: main)")
    push.add_argument(
        "--create-pr", action="store_true", help="open a pull request instead of committing (default: commit)"
    )
    push.add_argument("--commit-message", default=None, help="commit message (default: names the record count)")
    push.add_argument(
        "--dry-run", action="store_true", help="print the plan (files, sizes, message); upload nothing (default: off)"
    )
    _add_config_options(push)
    push.add_argument(
        "--num-workers", type=int, default=None, help="worker processes when generating (default: every core)"
    )
    push.add_argument("--cache-dir", default=None, help="datasets cache folder (default: datasets' own)")
    push.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)

    bench = commands.add_parser("bench", help="throughput of the pipeline against one kernel per module")
    bench.add_argument("--count", type=int, default=64, help="kernels to build in each run (default: 64)")
    bench.add_argument("--seed", type=int, default=0, help="dataset seed (default: 0)")
    bench.add_argument("--num-workers", type=int, default=2, help="worker processes for run (d) (default: 2)")
    bench.add_argument("--batch-size", type=int, default=32, help="kernels per module (default: 32)")
    bench.add_argument("--json", help="also write every figure to this JSON file (default: print only)")
    bench.add_argument(
        "--sweep",
        action="store_true",
        help="instead: samples/s at batch sizes 8-64 and CPU optimization levels 0-2 (default: off)",
    )
    return parser


def _build(args: argparse.Namespace) -> tuple[GenerationConfig, Any]:
    from .builder import WarpIRDataset

    config = GenerationConfig(**{f.name: getattr(args, f.name) for f in fields(GenerationConfig)})  # validate first
    builder = WarpIRDataset(cache_dir=args.cache_dir, num_workers=args.num_workers, **config.generation_kwargs())
    builder.download_and_prepare()
    return config, builder.as_dataset()


def _generate(args: argparse.Namespace) -> int:
    from .shards import generate_to

    config = GenerationConfig(**{f.name: getattr(args, f.name) for f in fields(GenerationConfig)})
    summary = generate_to(
        args.out,
        config,
        shard_size=args.shard_size,
        shards=_shard_range(args.shards),
        num_workers=_num_workers(args.num_workers),
        repo_id=args.repo_id,
        engine=args.engine,
        ray_options={"address": args.address, "num_gpus": args.num_gpus},
    )
    print(summary.describe())
    return 0


def _finalize(args: argparse.Namespace) -> int:
    from .shards import finalize as write_card
    from .shards import open_existing

    write_card(open_existing(args.folder), args.repo_id)
    print(f"dataset card: {args.folder.rstrip('/')}/README.md")
    return 0


def _shard_range(text: str | None) -> range | None:
    if text is None:
        return None
    try:
        first, _, last = text.partition("-")
        start, stop = int(first), int(last or first) + 1
    except ValueError:
        raise ConfigError(f"shards must be a shard number or a range like 0-3, got {text!r}") from None
    if start < 0 or stop <= start:
        raise ConfigError(f"shards must be a non-empty range A-B with 0 <= A <= B, got {text!r}")
    return range(start, stop)


def _num_workers(value: int | None) -> int:
    if value is None:
        return os.cpu_count() or 1
    if value < 1:
        raise ConfigError(f"num_workers must be a positive int, got {value!r}")
    return value


def _stats(args: argparse.Namespace) -> int:
    import datasets

    from .stats import compute_stats, format_stats

    if args.path:
        if not Path(args.path, "README.md").is_file() or not Path(args.path, "data").is_dir():
            raise WarpIRError(
                f"{args.path!r} is not a dataset folder written by `warp-ir generate` (expected README.md and data/)"
            )
        dataset = datasets.load_dataset(args.path, cache_dir=args.cache_dir)
    else:
        _, dataset = _build(args)
    numbers = compute_stats(r for split in dataset.values() for r in split)
    print(json.dumps(numbers, indent=2, sort_keys=True) if args.json else format_stats(numbers))
    return 0


def _extract(args: argparse.Namespace) -> int:
    from .harvest import extract_records, write_harvest

    if args.count is not None and args.count < 1:
        raise ConfigError(f"count must be a positive int, got {args.count!r}")
    records, report = extract_records(
        args.targets,
        count=args.count,
        include_ptx=args.include_ptx,
        ptx_arch=args.ptx_arch,
        launch=args.launch,
        num_workers=_num_workers(args.num_workers),
        import_timeout=args.import_timeout,
        launch_timeout=args.launch_timeout,
        out_check=args.out,
    )
    rows = write_harvest(records, report, args.out)
    print(report.describe())
    print(
        f"{len(records)} records in {args.out} ({', '.join(f'{s} {n}' for s, n in rows.items())}); report.json beside"
    )
    return 0


def _categories(args: argparse.Namespace) -> int:
    from .synth import CATEGORIES

    width = max(map(len, CATEGORIES.names()))
    for name in CATEGORIES.names():
        print(f"{name:<{width}}  {CATEGORIES.get(name).description}")
    return 0


def _push(args: argparse.Namespace) -> int:
    from .push import plan_push, push, validate_repo_id
    from .shards import MANIFEST, finalize, generate_to, open_existing

    validate_repo_id(args.repo_id)
    if not Path(args.folder).exists():
        print(f"{args.folder} does not exist: generating it first", file=sys.stderr)
        config = GenerationConfig(**{f.name: getattr(args, f.name) for f in fields(GenerationConfig)})
        print(
            generate_to(
                args.folder, config, num_workers=_num_workers(args.num_workers), repo_id=args.repo_id
            ).describe()
        )
    elif Path(args.folder, MANIFEST).is_file():  # a `warp-ir generate` folder: its card's Load line names the repo
        finalize(open_existing(args.folder), args.repo_id)
    plan = plan_push(
        args.folder,
        args.repo_id,
        private=args.private,
        revision=args.revision,
        create_pr=args.create_pr,
        commit_message=args.commit_message,
    )
    print(plan.describe())
    if args.dry_run:
        print("dry run: nothing was uploaded")
        return 0
    print(push(plan))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from .bench import dumps, format_benchmark, run_benchmark, run_sweep

    if args.sweep:
        result = run_sweep(args.count, args.seed, batch_sizes=(8, 16, 32, 64), levels=(0, 1, 2))
        print("\n".join(f"{name:24s} {rate:8.3f} samples/s" for name, rate in result.items()))
    else:
        result = run_benchmark(
            count=args.count, seed=args.seed, num_workers=args.num_workers, batch_size=args.batch_size
        )
        print(format_benchmark(result))
    if args.json:
        Path(args.json).write_text(dumps(result))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        commands = {
            "generate": _generate,
            "finalize": _finalize,
            "stats": _stats,
            "categories": _categories,
            "extract": _extract,
            "bench": _bench,
            "push": _push,
        }
        if args.command in commands:
            return commands[args.command](args)
    except BuildInterrupted as exc:
        print(f"warp-ir: {exc}", file=sys.stderr)
        return 130
    except WarpIRError as exc:
        print(f"warp-ir: error: {exc}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command!r}")
    return 2


def _run() -> Any:  # console-script entry point
    sys.exit(main())


if __name__ == "__main__":
    _run()
