"""Seeded synthesis of self-contained Warp kernel source.

``synthesize_kernel(SynthesisConfig(seed=...), index)`` is a pure function: the same arguments give the
same source, byte for byte, in any process. The category is assigned round-robin over the requested categories (so every
category is equally represented in any prefix of the dataset), the complexity level and everything
else is drawn from a ``random.Random`` seeded by a hash of ``(generator version, seed, index, attempt)``.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass

from . import categories as _categories  # noqa: F401  (registers the built-in categories)
from .category import CATEGORIES, Category, register_category
from .writer import COMPLEXITY, KernelWriter

#: Bump when a change to the generator changes what a (seed, index) produces.
GENERATOR_VERSION = "2"


@dataclass(frozen=True)
class KernelSource:
    """One synthesized kernel before compilation.

    Attributes:
        id: stable record id, a hash of (generator version, seed, index); unique across seeds.
        seed: the dataset seed.
        index: the sample's position in the dataset (0-based).
        attempt: which try this is for the sample (a kernel that fails to build is replaced by the next try).
        category: registered category name.
        complexity: level 1-5.
        kernel_name: the ``@wp.kernel`` function's name (unique per id).
        source: the Python module text.
        launch: JSON launch spec for validation (dimensions, tiled block size, input recipes).
    """

    id: str
    seed: int
    index: int
    attempt: int
    category: str
    complexity: int
    kernel_name: str
    source: str
    launch: str = '{"dim": [64], "tiled_block_dim": null, "args": {}}'


def sample_id(seed: int, index: int) -> str:
    """The stable id of sample ``index`` of a dataset generated with ``seed``."""
    return hashlib.blake2b(f"warp_ir_dataset|{GENERATOR_VERSION}|{seed}|{index}".encode(), digest_size=8).hexdigest()


def _pick_category(names: tuple[str, ...], weights: tuple[float, ...] | None, seed: int, index: int) -> str:
    if not weights:
        return names[index % len(names)]
    digest = hashlib.blake2b(f"category|{GENERATOR_VERSION}|{seed}|{index}".encode(), digest_size=8).digest()
    point = int.from_bytes(digest, "little") / 2**64 * sum(weights)
    for name, weight in zip(names, weights, strict=True):
        point -= weight
        if point < 0:
            return name
    return next(n for n, w in zip(reversed(names), reversed(weights), strict=True) if w > 0)


def _kernel_rng(seed: int, index: int, attempt: int) -> random.Random:
    digest = hashlib.blake2b(f"kernel|{GENERATOR_VERSION}|{seed}|{index}|{attempt}".encode(), digest_size=8)
    return random.Random(int.from_bytes(digest.digest(), "little"))


@dataclass(frozen=True)
class SynthesisConfig:
    """The synthesis stage's part of the configuration: which kernel each sample index gets.

    ``GenerationConfig.synthesis`` gives the one a dataset uses (validated there).

    Attributes:
        seed: dataset seed.
        categories: category names (default: all registered, sorted).
        category_weights: relative weights of ``categories`` (same order); default: round-robin.
        complexity: inclusive (low, high) range of complexity levels.
    """

    seed: int = 0
    categories: tuple[str, ...] | None = None
    category_weights: tuple[float, ...] | None = None
    complexity: tuple[int, int] = (1, 5)


def synthesize_kernel(config: SynthesisConfig, index: int, attempt: int = 0) -> KernelSource:
    """Write the source of sample ``index`` (try ``attempt``) of the dataset ``config`` describes.

    Args:
        config: seed, categories, their weights and the complexity range.
        index: sample index; selects the category round-robin over the categories (or, with weights, by a
            hash of the seed and index), so a replacement attempt keeps its sample's category.
        attempt: replacement number for a sample whose earlier tries failed to build.
    """
    seed, categories, weights, complexity = config.seed, config.categories, config.category_weights, config.complexity
    names = tuple(categories) if categories else tuple(CATEGORIES.names())
    category = CATEGORIES.get(_pick_category(names, weights, seed, index))
    rng = _kernel_rng(seed, index, attempt)
    level = rng.randint(complexity[0], complexity[1])
    sid = sample_id(seed, index)
    kernel_name = f"{category.name}_{sid[:10]}"
    writer = KernelWriter(kernel_name, rng, level, category.groups)
    category.write(writer)
    return KernelSource(
        id=sid,
        seed=seed,
        index=index,
        attempt=attempt,
        category=category.name,
        complexity=level,
        kernel_name=kernel_name,
        source=writer.render(),
        launch=json.dumps(writer.launch_spec(), sort_keys=True),
    )


__all__ = [
    "CATEGORIES",
    "COMPLEXITY",
    "GENERATOR_VERSION",
    "Category",
    "KernelSource",
    "KernelWriter",
    "SynthesisConfig",
    "register_category",
    "sample_id",
    "synthesize_kernel",
]
