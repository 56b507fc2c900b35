"""``WarpIRDataset``: the Hugging Face ``datasets`` builder.

``_split_generators`` assigns sample indices to splits by a hash of their id and passes them as shard
*lists* (so ``num_workers`` parallelises over shards); ``_generate_examples`` builds each shard with
``shards.build_records``, the function every engine runs, so it yields the records ``warp-ir generate`` writes.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter
from dataclasses import dataclass

import datasets

from ._version import __version__
from .config import GenerationConfig
from .errors import ConfigError
from .pipeline import shards, split_indices
from .schema import FEATURES
from .shards import build_records
from .stats import near_duplicate_ids
from .synth import GENERATOR_VERSION
from .workers import WorkerPool

logger = logging.getLogger(__name__)

_DESCRIPTION = (
    "Synthetic NVIDIA Warp kernels paired with the code Warp generates for them: C++ (CPU) and CUDA C++ "
    "forward and adjoint functions, optionally PTX, with compile and launch validation results."
)


@dataclass
class WarpIRConfig(datasets.BuilderConfig, GenerationConfig):
    """Builder config: ``datasets.BuilderConfig`` plus every field of :class:`GenerationConfig`."""

    def __post_init__(self) -> None:
        datasets.BuilderConfig.__post_init__(self)
        GenerationConfig.__post_init__(self)


def versions_hash() -> str:
    """Part of the cache path: a new package or Warp version never reuses data built by an old one."""
    from .warp_internals import warp_version

    key = f"{__version__}|{GENERATOR_VERSION}|{warp_version()}"
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


class WarpIRDataset(datasets.GeneratorBasedBuilder):
    """Generates Warp kernels and their IR. Config fields: see :class:`GenerationConfig`."""

    BUILDER_CONFIG_CLASS = WarpIRConfig
    BUILDER_CONFIGS = [WarpIRConfig(name="default")]
    DEFAULT_CONFIG_NAME = "default"
    VERSION = datasets.Version(__version__)
    config: WarpIRConfig

    def __init__(self, *args, num_workers: int | None = None, **kwargs):
        """Args as ``datasets.GeneratorBasedBuilder`` plus the config fields, and ``num_workers``: worker
        processes that build shards in parallel (default: every core; 1 builds in this process). It is not
        part of the config: records do not depend on it."""
        if num_workers is not None and (
            isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1
        ):
            raise ConfigError(f"num_workers must be a positive int, got {num_workers!r}")
        self.num_workers = num_workers or os.cpu_count() or 1
        kwargs.setdefault("dataset_name", "warp_ir_dataset")
        kwargs.setdefault("hash", versions_hash())
        super().__init__(*args, **kwargs)

    def _download_and_prepare(self, *args, **kwargs):
        # one pool of workers for all splits (warm kernel caches), closed however preparation ends
        self._pool = WorkerPool(self.num_workers) if self.num_workers > 1 else None
        try:
            return super()._download_and_prepare(*args, **kwargs)
        finally:
            if self._pool is not None:
                self._pool.close()
            self._pool = None

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(description=_DESCRIPTION, features=FEATURES, license="apache-2.0")

    def _split_generators(self, dl_manager):
        if self.config.source == "harvested":
            return self._harvested_splits()
        # a split that no index hashes into (small counts) is left out rather than written empty
        return [
            datasets.SplitGenerator(name=split, gen_kwargs={"shards": shards(indices, self.config.batch_size)})
            for split, indices in split_indices(self.config).items()
            if indices
        ]

    def _harvested_splits(self):
        """Harvest ``packages`` (each module imported in its own process) and hand each split its records."""
        from .harvest.extract import harvest_config

        records, report = harvest_config(self.config, self.num_workers)
        logger.info("warp_ir_dataset harvest:\n%s", report.describe())
        by_split = {s: [r for r in records if r["split"] == s] for s in ("train", "validation", "test")}
        return [
            datasets.SplitGenerator(name=split, gen_kwargs={"records": rows})
            for split, rows in by_split.items()
            if rows
        ]

    def as_dataset(self, split=None, **kwargs):
        """``datasets``' ``as_dataset``, then (with ``remove_near_duplicates``) near-duplicates dropped across
        all splits, keeping the lowest-index record of each group."""
        if not self.config.remove_near_duplicates:
            return super().as_dataset(split=split, **kwargs)
        full = super().as_dataset(split=None, **kwargs)
        ordered = sorted(
            (r for ds in full.values() for r in ds.select_columns(["id", "index", "python_source"])),
            key=lambda r: r["index"],
        )
        drop = near_duplicate_ids(ordered)
        kept = datasets.DatasetDict({name: ds.filter(lambda r: r["id"] not in drop) for name, ds in full.items()})
        if split is None:
            return kept
        if str(split) not in kept:
            raise ConfigError(
                f"split {split!r} is not available with remove_near_duplicates=True; "
                f"use one of {sorted(kept)} (slices are not supported with deduplication)"
            )
        return kept[str(split)]

    def _generate_examples(self, shards: list[list[int]] | None = None, records: list[dict] | None = None):
        if records is not None:  # harvested: built in _split_generators
            for record in records:
                yield record["id"], {k: v for k, v in record.items() if k != "split"}
            return
        stats: Counter = Counter()
        pool = getattr(self, "_pool", None)
        if pool is None:  # in-process (num_workers=1, or datasets' own num_proc processes)
            for shard in shards:
                records, counts = build_records(self.config, shard)
                stats.update(counts)
                for record in records:
                    yield record["id"], record
        else:
            for result in pool.map(self.config, shards):
                stats.update(result.stats)
                for record in result.records:
                    yield record["id"], record
        dropped = {k: v for k, v in stats.items() if k != "generated"}
        if dropped:
            logger.info("warp_ir_dataset: replaced kernels by reason: %s", dict(sorted(dropped.items())))
