"""The local Hub layout: ``data/<split>-NNNNN-of-NNNNN.parquet`` plus a ``README.md`` dataset card whose
YAML (``configs``, ``dataset_info``) lets ``datasets.load_dataset(DIR)`` load it with the builder's
splits and features. Written to a temporary folder and renamed into place, so a folder that exists is
always complete."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import datasets
from huggingface_hub import DatasetCard, DatasetCardData

from ._version import __version__
from .config import SPLITS, GenerationConfig
from .dataflow import FLAGS
from .errors import FailureReason, WarpIRError
from .plots import PLOTS, write_plots
from .schema import FEATURES, FIELD_DOCS, type_name
from .stats import compute_stats
from .synth import GENERATOR_VERSION

#: Every statistic of the written data (``stats.compute_stats``), drops by reason included, beside the card.
STATS_FILE = "stats.json"
#: Parquet shards of at most this many bytes (of Arrow data) and row groups of this many rows: small
#: enough for the Hub's dataset viewer and for streaming.
MAX_SHARD_BYTES = 256 * 2**20
ROW_GROUP_ROWS = 100


def write_hub_dataset(
    dataset: datasets.DatasetDict,
    out_dir: str | Path,
    config: GenerationConfig,
    *,
    repo_id: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``dataset`` to ``out_dir`` in the Hub layout with a dataset card; return ``out_dir``.

    Raises:
        WarpIRError: ``out_dir`` exists and ``overwrite`` is false.
    """
    out = Path(out_dir)
    if out.exists() and not overwrite:
        raise WarpIRError(
            f"output folder {str(out)!r} already exists; pass overwrite=True (--overwrite) or choose another folder"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        staging.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the result is an ordinary folder
        (staging / "data").mkdir()
        for split in _splits(dataset):
            _write_split(dataset[split], staging / "data", split)
        write_card_files(dataset, staging, config, repo_id, location=str(out))
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def write_card_files(
    dataset: datasets.DatasetDict,
    folder: Path,
    config: GenerationConfig,
    repo_id: str | None = None,
    location: str | None = None,
) -> None:
    """The card (``README.md``), its plots and ``stats.json`` of ``dataset``, written into ``folder``.

    The card's Load line names ``repo_id`` (the Hub repo, once known) or else ``location`` (the folder)."""
    rows = _stats_rows(dataset)
    numbers = compute_stats(rows)
    write_plots(rows, folder / "plots")
    (folder / "README.md").write_text(render_card(dataset, config, repo_id, rows, numbers, location))
    (folder / STATS_FILE).write_text(json.dumps(numbers, indent=2, sort_keys=True) + "\n")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _splits(dataset: datasets.DatasetDict) -> list[str]:
    """The dataset's splits in canonical order (a split with no records is absent)."""
    unknown = set(dataset) - set(SPLITS)
    if unknown:
        raise WarpIRError(f"unexpected splits {sorted(unknown)}; expected some of {list(SPLITS)}")
    return [s for s in SPLITS if s in dataset]


def _write_split(ds: datasets.Dataset, data_dir: Path, split: str) -> None:
    n_shards = max(1, min(len(ds), -(-ds.data.nbytes // MAX_SHARD_BYTES)))
    for k in range(n_shards):
        shard = ds.shard(num_shards=n_shards, index=k, contiguous=True)
        shard.to_parquet(str(data_dir / f"{split}-{k:05d}-of-{n_shards:05d}.parquet"), batch_size=ROW_GROUP_ROWS)


def card_data(dataset: datasets.DatasetDict, repo_id: str) -> DatasetCardData:
    """YAML metadata: license, tags, ``configs`` (data files per split) and ``dataset_info``."""
    splits = _splits(dataset)
    total = sum(len(dataset[s]) for s in splits)
    data = DatasetCardData(
        license="apache-2.0",
        language=["en"],
        task_categories=["text-generation"],
        tags=["code", "gpu", "cuda", "warp", "compilers", "synthetic"],
        pretty_name="Warp IR Dataset",
        size_categories=[_size_category(total)],
        configs=[{"config_name": "default", "data_files": [{"split": s, "path": f"data/{s}-*"} for s in splits]}],
    )
    info = datasets.DatasetInfo(
        features=FEATURES,
        splits=datasets.SplitDict(
            {
                s: datasets.SplitInfo(name=s, num_examples=len(dataset[s]), num_bytes=dataset[s].data.nbytes)
                for s in splits
            }
        ),
    )
    datasets.info.DatasetInfosDict({"default": info}).to_dataset_card_data(data)
    return data


def _stats_rows(dataset: datasets.DatasetDict) -> list[dict[str, Any]]:
    return [r for split in _splits(dataset) for r in dataset[split].select_columns(list(_STATS_COLUMNS))]


def render_card(
    dataset: datasets.DatasetDict,
    config: GenerationConfig,
    repo_id: str | None = None,
    rows: list[dict[str, Any]] | None = None,
    numbers: dict[str, Any] | None = None,
    location: str | None = None,
) -> str:
    """The dataset card: YAML metadata and a body with the statistics of exactly this data."""
    rows = _stats_rows(dataset) if rows is None else rows
    numbers = compute_stats(rows) if numbers is None else numbers
    body = Template(resources.files("warp_ir_dataset.dataset_card").joinpath("template.md").read_text())
    text = body.substitute(
        package_version=__version__,
        generator_version=GENERATOR_VERSION,
        warp_version=rows[0]["warp_version"] if rows else "unknown",
        split_table="\n".join(f"| {s} | {len(dataset[s])} |" for s in _splits(dataset)),
        category_table=_category_table(numbers),
        validation_table=_validation_table(numbers),
        replaced_table=_replaced_table(numbers),
        dataflow_table=_dataflow_table(numbers),
        numbered_name_share=f"{numbers['dataflow']['numbered_name_share']:.2%}",
        distinct_builtins_python=numbers["distinct_builtins_python"],
        distinct_builtins_ir=numbers["distinct_builtins_ir"],
        builtins_available=numbers["builtins_available"],
        exact_unique_rate=f"{numbers['exact_unique_rate']:.4f}",
        structural_unique_rate=f"{numbers['structural_unique_rate']:.4f}",
        near_duplicate_rate=f"{numbers['near_duplicate_rate']:.4f}",
        near_duplicate_threshold=numbers["near_duplicate_threshold"],
        median_python=f"{numbers['python_chars_median']:.0f}",
        median_ir=f"{numbers['ir_chars_median']:.0f}",
        expansion_ratio=f"{numbers['expansion_ratio_median']:.1f}",
        field_table="\n".join(
            f"| `{name}` | {type_name(value)} | {doc} |" for name, (value, doc) in FIELD_DOCS.items()
        ),
        load_line=_load_line(repo_id, location),
        cli_arguments=_cli_arguments(config),
        config_json=json.dumps(config.generation_kwargs(), sort_keys=True),
        plots="\n\n".join(f"![{caption}](plots/{name})" for name, caption in PLOTS.items()),
    )
    card = DatasetCard(f"---\n{card_data(dataset, repo_id).to_yaml()}\n---\n\n{text}")
    return str(card)


_STATS_COLUMNS = (
    "id",
    "category",
    "complexity",
    "python_source",
    "cpp_forward",
    "cpp_backward",
    "cuda_forward",
    "cuda_backward",
    "compiled",
    "launched_cpu",
    "outputs_finite",
    "failed_attempts",
    "warp_version",
)


def _category_table(numbers: dict[str, Any]) -> str:
    counts = {tuple(key.split("/")): n for key, n in numbers["records_per_category_and_complexity"].items()}
    categories = sorted({c for c, _ in counts})
    levels = sorted({lv for _, lv in counts}, key=int)
    lines = [
        "| category | " + " | ".join(levels) + " | total |",
        "|---|" + "---:|" * (len(levels) + 1),
    ]
    for c in categories:
        cells = [counts.get((c, lv), 0) for lv in levels]
        lines.append(f"| {c} | " + " | ".join(map(str, cells)) + f" | {sum(cells)} |")
    return "\n".join(lines)


def _validation_table(numbers: dict[str, Any]) -> str:
    lines = []
    for field, counts in numbers["validation"].items():
        lines.append(
            f"| {field}: true / false / not run | {counts.get('true', 0)} / {counts.get('false', 0)} / "
            f"{counts.get('none', 0)} |"
        )
    return "\n".join(lines)


def _dataflow_table(numbers: dict[str, Any]) -> str:
    return "\n".join(f"| {label} | {numbers['dataflow'][key]:.2%} |" for key, label, _ in FLAGS)


def _replaced_table(numbers: dict[str, Any]) -> str:
    replaced = numbers["replaced_by_reason"]
    if not replaced:
        return "none."
    return "\n".join(
        f"- `{reason}` ({FailureReason(reason).description}): {count}" for reason, count in replaced.items()
    )


def _load_line(repo_id: str | None, location: str | None) -> str:
    if repo_id:
        return f'ds = load_dataset("{repo_id}")'
    return (
        f'ds = load_dataset("{location or "path/to/this/folder"}")  # this folder; '
        "`warp-ir push --repo-id NAME` names the Hub repo here"
    )


def _cli_arguments(config: GenerationConfig) -> str:
    from .cli import config_arguments

    return shlex.join(config_arguments(config))


def _size_category(n: int) -> str:
    for limit, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
    ):
        if n < limit:
            return label
    return "10M<n<100M"
