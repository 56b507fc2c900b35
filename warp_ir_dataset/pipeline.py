"""Seeds in, records out: synthesis -> batched build -> launch -> record, one generator stage each.

``generate_records(config, indices)`` yields exactly one record per sample index, in order. A kernel
that fails to build or validate is counted by reason in ``stats`` and replaced by the sample's next
attempt (a new kernel from the same seed and index), so a build never dies because one kernel failed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from . import warp_internals as wi
from .compile import BatchCompiler, BuiltKernel
from .config import SPLITS, GenerationConfig
from .errors import GenerationError
from .synth import GENERATOR_VERSION, KernelSource, sample_id, synthesize_kernel
from .timing import timed
from .validate import LaunchResult, input_seed, launch_cpu

logger = logging.getLogger(__name__)


def split_of(seed: int, index: int, ratios: tuple[float, float, float]) -> str:
    """The split of sample ``index``: a hash of its id, so it never changes when ``count`` grows."""
    digest = hashlib.blake2b(f"split|{sample_id(seed, index)}".encode(), digest_size=8).digest()
    position = int.from_bytes(digest, "little") / 2**64
    cumulative = 0.0
    for split, ratio in zip(SPLITS, ratios, strict=True):
        cumulative += ratio
        if position < cumulative:
            return split
    return next(s for s, r in zip(reversed(SPLITS), reversed(ratios), strict=True) if r > 0)


def split_indices(config: GenerationConfig) -> dict[str, list[int]]:
    """Sample indices ``0..count-1`` grouped by split (every split present, possibly empty)."""
    plan: dict[str, list[int]] = {split: [] for split in SPLITS}
    for index in range(config.count):
        plan[split_of(config.seed, index, config.split_ratios)].append(index)
    return plan


def shards(indices: list[int], size: int) -> list[list[int]]:
    return [indices[k : k + size] for k in range(0, len(indices), size)]


def _batched(items: Iterable[int], size: int) -> Iterator[list[int]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def to_record(
    built: BuiltKernel, launch: LaunchResult | None, config: GenerationConfig, failed_attempts: list[str]
) -> dict[str, Any]:
    source, code = built.source, built.code
    return {
        "id": source.id,
        "seed": source.seed,
        "index": source.index,
        "attempt": source.attempt,
        "failed_attempts": list(failed_attempts),
        "category": source.category,
        "complexity": source.complexity,
        "kernel_name": source.kernel_name,
        "python_source": source.source,
        "launch": source.launch,
        "cpp_forward": code.cpp_forward if code else "",
        "cpp_backward": code.cpp_backward if code else "",
        "cuda_forward": code.cuda_forward if code else "",
        "cuda_backward": code.cuda_backward if code else "",
        "ptx": built.ptx if config.include_ptx else None,
        "ptx_arch": f"sm_{config.ptx_arch}" if config.include_ptx else None,
        "compiled": built.compiled,
        "launched_cpu": launch.launched if launch else (False if built.compiled is False else None),
        "outputs_finite": launch.outputs_finite if launch else None,
        "launched_cuda": None,
        "cpu_cuda_agree": None,
        "warp_version": wi.warp_version(),
        "generator_version": GENERATOR_VERSION,
    }


def _check(built: BuiltKernel, config: GenerationConfig) -> tuple[LaunchResult | None, str | None]:
    """Launch a built kernel if asked; return (launch result, failure reason or None)."""
    if not built.ok:
        return None, built.failure
    if config.include_ptx and not built.ptx:
        return None, "ptx_missing"
    if not config.validate:
        return None, None
    launch = launch_cpu(built.kernel, input_seed(built.source.id), json.loads(built.source.launch))
    return launch, launch.reason


def generate_records(
    config: GenerationConfig, indices: Iterable[int], stats: Counter | None = None, seconds: Counter | None = None
) -> Iterator[dict[str, Any]]:
    """One record per sample index, in the order given.

    Args:
        config: what to generate.
        indices: sample indices (any order; each is generated independently of the others).
        stats: a Counter that receives ``generated`` and ``dropped_<reason>`` counts.
        seconds: a Counter that receives seconds per stage (see ``timing.STAGES``).
    """
    stats = stats if stats is not None else Counter()
    seconds = seconds if seconds is not None else Counter()
    compiler = BatchCompiler(compile_cpu=config.validate, include_ptx=config.include_ptx, ptx_arch=config.ptx_arch)
    compiler.seconds = seconds
    for chunk in _batched(indices, config.batch_size):
        attempts = dict.fromkeys(chunk, 0)
        records: dict[int, dict[str, Any]] = {}
        last_failure: dict[int, str] = {}
        failed_reasons: dict[int, list[str]] = {index: [] for index in chunk}
        while attempts:
            with timed(seconds, "synthesis"):
                sources = [_synthesize(config, index, attempt) for index, attempt in attempts.items()]
            try:
                for built in compiler.build(sources):
                    index = built.source.index
                    with timed(seconds, "launch"):
                        launch, failure = _check(built, config)
                    keep = failure is None or (config.keep_failed and built.code is not None)
                    if failure is not None:
                        stats[f"dropped_{failure}" if not keep else f"kept_{failure}"] += 1
                        last_failure[index] = f"{failure}: {built.detail or ''}".strip()
                        logger.debug("sample %d attempt %d: %s", index, built.source.attempt, last_failure[index])
                    if keep:
                        records[index] = to_record(built, launch, config, failed_reasons[index])
                        del attempts[index]
                    elif attempts[index] + 1 >= config.max_attempts:
                        raise GenerationError(
                            f"sample {index} (seed {config.seed}) failed {config.max_attempts} attempts; last: "
                            f"{last_failure[index][:500]}. The generator is broken for this configuration: "
                            "report it with the seed and index"
                        )
                    else:
                        failed_reasons[index].append(failure)
                        attempts[index] += 1
            finally:
                compiler.release()
        for index in chunk:
            stats["generated"] += 1
            yield records[index]


def _synthesize(config: GenerationConfig, index: int, attempt: int) -> KernelSource:
    return synthesize_kernel(config.seed, index, attempt, config.categories, config.complexity, config.category_weights)
