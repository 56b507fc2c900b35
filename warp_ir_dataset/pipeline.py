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
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from . import warp_internals as wi
from .compile import BatchCompiler, BuiltKernel
from .config import SPLITS, GenerationConfig
from .errors import ConfigError, GenerationError, SynthesisError
from .synth import GENERATOR_VERSION, KernelSource, sample_id, synthesize_kernel
from .timing import timed
from .validate import ValidationResult, input_seed, validate_kernel

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
    built: BuiltKernel, checks: ValidationResult | None, config: GenerationConfig, failed_attempts: list[str]
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
        "launched_cpu": checks.launched_cpu if checks else (False if built.compiled is False else None),
        "outputs_finite": checks.outputs_finite if checks else None,
        "validation_trials": checks.trials if checks else 0,
        "launched_cuda": checks.launched_cuda if checks else None,
        "cpu_cuda_agree": checks.cpu_cuda_agree if checks else None,
        "cpu_cuda_max_abs_diff": checks.cpu_cuda_max_abs_diff if checks else None,
        "differentiable": checks.differentiable if checks else None,
        "grad_check": checks.grad_check if checks else None,
        "grad_max_rel_err": checks.grad_max_rel_err if checks else None,
        "warp_version": wi.warp_version(),
        "generator_version": GENERATOR_VERSION,
    }


def resolve_devices(config: GenerationConfig) -> tuple[str, ...]:
    """The devices to validate on: the config's, or the CPU plus CUDA when a GPU is present."""
    available = ("cpu", "cuda") if wi.cuda_available() else ("cpu",)
    if config.devices is None:
        return available
    if "cuda" in config.devices and "cuda" not in available:
        raise ConfigError(
            f"devices={config.devices!r} asks for CUDA validation but no CUDA device is available; "
            "use devices='cpu' (or leave devices unset to detect)"
        )
    return config.devices


def _check(
    built: BuiltKernel, config: GenerationConfig, devices: tuple[str, ...] = ("cpu",)
) -> tuple[ValidationResult | None, str | None]:
    """Validate a built kernel if asked; return (what was checked, failure reason or None)."""
    if not built.ok:
        return None, built.failure
    if config.include_ptx and not built.ptx:
        return None, "ptx_missing"
    if not config.validate:
        return None, None
    source = built.source
    checks = validate_kernel(
        built.kernel,
        source.source,
        source.kernel_name,
        input_seed(source.id),
        json.loads(source.launch),
        trials=config.trials,
        devices=devices,
        grad_check=config.grad_check,
    )
    return checks, checks.reason


def generate_records(
    config: GenerationConfig,
    indices: Iterable[int],
    stats: Counter | None = None,
    seconds: Counter | None = None,
    cpu_optimization_level: int | None = 0,
) -> Iterator[dict[str, Any]]:
    """One record per sample index, in the order given.

    Args:
        config: what to generate.
        indices: sample indices (any order; each is generated independently of the others).
        stats: a Counter that receives ``generated`` and ``dropped_<reason>`` counts.
        seconds: a Counter that receives seconds per stage (see ``timing.STAGES``).
        cpu_optimization_level: Clang level of the validation builds (0: fastest to compile; the benchmark
            compares levels).
    """
    stats = stats if stats is not None else Counter()
    seconds = seconds if seconds is not None else Counter()
    devices = resolve_devices(config) if config.validate else ("cpu",)
    compiler = BatchCompiler(
        compile_cpu=config.validate,
        include_ptx=config.include_ptx,
        ptx_arch=config.ptx_arch,
        cpu_optimization_level=cpu_optimization_level,
    )
    compiler.seconds = seconds
    for chunk in _batched(indices, config.batch_size):
        samples = {index: _Sample(index) for index in chunk}
        pending = dict(samples)
        while pending:
            sources = []
            with timed(seconds, "synthesis"):
                for sample in list(pending.values()):
                    try:
                        sources.append(_synthesize(config, sample.index, sample.attempt))
                    except SynthesisError as exc:  # a generator bug for this draw: the next attempt draws anew
                        sample.fail("synthesis_error", str(exc), config, stats)
            try:
                for built in compiler.build(sources):
                    sample = samples[built.source.index]
                    with timed(seconds, "launch"):
                        checks, failure = _check(built, config, devices)
                    if failure is None or (config.keep_failed and built.code is not None):
                        if failure is not None:
                            stats[f"kept_{failure}"] += 1
                        sample.record = to_record(built, checks, config, sample.failed)
                        del pending[sample.index]
                    else:
                        sample.fail(failure, built.detail, config, stats)
            finally:
                compiler.release()
        for index in chunk:
            stats["generated"] += 1
            yield samples[index].record


@dataclass
class _Sample:
    """One sample index while it is generated: its current attempt, why earlier ones failed, its record."""

    index: int
    attempt: int = 0
    failed: list[str] = field(default_factory=list)
    record: dict[str, Any] | None = None

    def fail(self, reason: str, detail: str | None, config: GenerationConfig, stats: Counter) -> None:
        """Count a failed attempt and move to the next one, or stop the build when none is left."""
        stats[f"dropped_{reason}"] += 1
        last = f"{reason}: {detail or ''}".strip()
        logger.debug("sample %d attempt %d: %s", self.index, self.attempt, last)
        if self.attempt + 1 >= config.max_attempts:
            raise GenerationError(
                f"sample {self.index} (seed {config.seed}) failed {config.max_attempts} attempts; last: "
                f"{last[:500]}. The generator is broken for this configuration: report it with the seed and index"
            )
        self.failed.append(reason)
        self.attempt += 1


def _synthesize(config: GenerationConfig, index: int, attempt: int) -> KernelSource:
    return synthesize_kernel(config.seed, index, attempt, config.categories, config.complexity, config.category_weights)
