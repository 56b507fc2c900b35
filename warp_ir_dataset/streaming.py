"""Streaming: an ``IterableDataset`` that synthesizes, compiles and validates records on the fly.

The stream is cut into ``num_shards`` interleaved *stripes*: stripe ``k`` of ``K`` holds sample indices
``k, k + K, k + 2K, ...`` (those of the requested split), so PyTorch ``DataLoader`` workers and
``datasets.distributed.split_dataset_by_node`` ranks each get disjoint records. With ``count=None`` the
stripes never end: an endless, deterministic stream of fresh kernels. Each stripe builds its kernels in
batches that start small and double up to ``batch_size``, so the first record arrives quickly.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count as count_from
from typing import Any

import datasets

from .config import SPLITS, GenerationConfig
from .errors import ConfigError
from .pipeline import generate_records, split_of
from .schema import FEATURES
from .warp_internals import warm_up_cpu_compiler

#: Stripes of a stream: enough for a few DataLoader workers on each of several ranks.
DEFAULT_NUM_SHARDS = 16
FIRST_BATCH = 1


def _stripe_indices(
    config: GenerationConfig, split: str, stripe: int, stripes: int, limit: int | None
) -> Iterator[int]:
    for index in count_from(stripe, stripes):
        if limit is not None and index >= limit:
            return
        if split_of(config.seed, index, config.split_ratios) == split:
            yield index


def _generate_stripes(
    stripes: list[int], config_kwargs: dict, split: str, num_stripes: int, limit: int | None
) -> Iterator[dict[str, Any]]:
    config = GenerationConfig(**config_kwargs)
    for stripe in stripes:
        indices = _stripe_indices(config, split, stripe, num_stripes, limit)
        batch = FIRST_BATCH
        while True:
            chunk = [index for _, index in zip(range(batch), indices, strict=False)]
            if not chunk:
                break
            yield from generate_records(config, chunk)
            batch = min(batch * 2, config.batch_size)


def stream_split(
    config: GenerationConfig, split: str, limit: int | None, num_shards: int = DEFAULT_NUM_SHARDS
) -> datasets.IterableDataset:
    """The records of ``split`` among sample indices ``0..limit-1`` (all of them if ``limit`` is None)."""
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {list(SPLITS)}, got {split!r}")
    if config.validate:
        warm_up_cpu_compiler()  # overlaps with datasets' import of torch below
    return datasets.IterableDataset.from_generator(
        _generate_stripes,
        features=FEATURES,
        gen_kwargs={
            "stripes": list(range(num_shards)),  # a list: datasets shards over it
            "config_kwargs": config.generation_kwargs(),
            "split": split,
            "num_stripes": num_shards,
            "limit": limit,
        },
        split=datasets.NamedSplit(split),
    )
