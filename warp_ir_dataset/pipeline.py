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
from .errors import ConfigError, FailureReason, GenerationError, SynthesisError
from .synth import GENERATOR_VERSION, KernelSource, sample_id, synthesize_kernel
from .timing import timed
from .validate import ValidationResult, input_seed, validate_kernel

logger = logging.getLogger(__name__)


def split_of(seed: int, index: int, ratios: tuple[float, float, float]) -> str:
    """The split of sample ``index``: a hash of its id, so it never changes when ``count`` grows."""
    return split_of_key(sample_id(seed, index), ratios)


def split_of_key(key: str, ratios: tuple[float, float, float]) -> str:
    """The split a hash of ``key`` falls in, for these train/validation/test ratios."""
    digest = hashlib.blake2b(f"split|{key}".encode(), digest_size=8).digest()
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
        "source": "synthetic",
        "origin": None,
        "package": None,
        "package_version": None,
        "license": None,
        "python_self_contained": True,
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


def check_kernel(
    built: BuiltKernel, config: GenerationConfig, devices: tuple[str, ...] = ("cpu",)
) -> tuple[ValidationResult | None, FailureReason | None]:
    """Every check the config asks for on one built kernel: (what was checked, why it failed or None).

    The pipeline's validate stage; also what the benchmark and the category checks run.
    """
    if not built.ok:
        return None, built.failure
    if config.include_ptx and not built.ptx:
        return None, FailureReason.PTX_MISSING
    if not config.validate:
        return None, None
    source = built.source
    checks = validate_kernel(
        built.kernel,
        source.source,
        source.kernel_name,
        input_seed(source.id),
        json.loads(source.launch),
        config.validation(devices),
    )
    return checks, checks.reason


@dataclass
class _Sample:
    """One sample index on its way through the stages: its current attempt and what each stage made of it."""

    index: int
    attempt: int = 0
    failed: list[str] = field(default_factory=list)  # reasons of the attempts before this one
    source: KernelSource | None = None
    built: BuiltKernel | None = None
    checks: ValidationResult | None = None
    failure: FailureReason | None = None
    detail: str | None = None
    record: dict[str, Any] | None = None

    def retry(self, config: GenerationConfig, stats: Counter) -> None:
        """Count the failed attempt and move to the next one, or stop the build when none is left."""
        stats[f"dropped_{self.failure}"] += 1
        last = f"{self.failure}: {self.detail or ''}".strip()
        logger.debug("sample %d attempt %d: %s", self.index, self.attempt, last)
        if self.attempt + 1 >= config.max_attempts:
            raise GenerationError(
                f"sample {self.index} (seed {config.seed}) failed {config.max_attempts} attempts; last: "
                f"{last[:500]}. The generator is broken for this configuration: report it with the seed and index"
            )
        self.failed.append(str(self.failure))
        self.attempt += 1
        self.source = self.built = self.checks = self.failure = self.detail = None


# ---------------------------------------------------------------------------------------------- stages
def synthesize(samples: Iterable[_Sample], config: GenerationConfig, seconds: Counter) -> Iterator[_Sample]:
    """Write each sample's kernel source for its current attempt."""
    for sample in samples:
        with timed(seconds, "synthesis"):
            try:
                sample.source = synthesize_kernel(config.synthesis, sample.index, sample.attempt)
            except SynthesisError as exc:  # a generator bug for this draw: the next attempt draws anew
                sample.failure, sample.detail = FailureReason.SYNTHESIS_ERROR, str(exc)
        yield sample


def build(samples: Iterable[_Sample], compiler: BatchCompiler) -> Iterator[_Sample]:
    """Build the batch's sources in one module (one compile); keep what each kernel became."""
    samples = list(samples)
    drafted = [s for s in samples if s.failure is None]
    for sample, built in zip(drafted, compiler.build([s.source for s in drafted]), strict=True):
        sample.built, sample.failure, sample.detail = built, built.failure, built.detail
    yield from samples


def validate(
    samples: Iterable[_Sample], config: GenerationConfig, devices: tuple[str, ...], seconds: Counter
) -> Iterator[_Sample]:
    """Launch and check each built kernel (:func:`check_kernel`)."""
    for sample in samples:
        if sample.failure is None:
            with timed(seconds, "launch"):
                sample.checks, sample.failure = check_kernel(sample.built, config, devices)
            sample.detail = sample.checks.detail if sample.checks else None
        yield sample


def record(samples: Iterable[_Sample], config: GenerationConfig, stats: Counter) -> Iterator[_Sample]:
    """Turn a sample that passed (or failed with ``keep_failed`` and has code) into its record; send the
    others to their next attempt."""
    for sample in samples:
        kept = config.keep_failed and sample.built is not None and sample.built.code is not None
        if sample.failure is None or kept:
            if sample.failure is not None:
                stats[f"kept_{sample.failure}"] += 1
            sample.record = to_record(sample.built, sample.checks, config, sample.failed)
        else:
            sample.retry(config, stats)
        yield sample


def generate_records(
    config: GenerationConfig,
    indices: Iterable[int],
    stats: Counter | None = None,
    seconds: Counter | None = None,
) -> Iterator[dict[str, Any]]:
    """One record per sample index, in the order given: synthesize -> build -> validate -> record.

    Args:
        config: what to generate.
        indices: sample indices (any order; each is generated independently of the others).
        stats: a Counter that receives ``generated``, ``dropped_<reason>`` and ``kept_<reason>`` counts.
        seconds: a Counter that receives seconds per stage (see ``timing.STAGES``).
    """
    stats = stats if stats is not None else Counter()
    seconds = seconds if seconds is not None else Counter()
    devices = resolve_devices(config) if config.validate else ("cpu",)
    compiler = BatchCompiler(config.build, seconds)
    for chunk in _batched(indices, config.batch_size):
        samples = [_Sample(index) for index in chunk]
        pending = samples
        while pending:
            try:
                drafted = synthesize(pending, config, seconds)
                built = build(drafted, compiler)
                checked = validate(built, config, devices, seconds)
                pending = [sample for sample in record(checked, config, stats) if sample.record is None]
            finally:
                compiler.release()
        for sample in samples:
            stats["generated"] += 1
            yield sample.record
