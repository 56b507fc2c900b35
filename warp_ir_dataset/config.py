"""``GenerationConfig``: what to generate, validated on construction. The CLI options are built from it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import ConfigError, UnknownCategoryError
from .synth import CATEGORIES, COMPLEXITY, SynthesisConfig

SPLITS = ("train", "validation", "test")
SOURCES = ("synthetic", "harvested")
#: Bounds of the default shard size of a ``warp-ir generate`` build (``--shard-size`` overrides it).
MIN_SHARD_SIZE, MAX_SHARD_SIZE = 64, 256


def default_shard_size(count: int) -> int:
    """``count / 32`` within 64-256: at least 32 shards to balance over workers, while each shard still fills
    a compile batch of 64 kernels; 256 (about 2 minutes on one core) for large builds. A function of
    ``count`` alone, so a rerun of the same command resumes the same plan on any number of workers."""
    return max(MIN_SHARD_SIZE, min(MAX_SHARD_SIZE, -(-count // 32)))


@dataclass(frozen=True)
class BuildSettings:
    """The build stage's part of the configuration: what each batch module is compiled for.

    Attributes:
        compile_cpu: compile for the CPU (needed to launch).
        include_ptx: also compile to PTX with NVRTC and attach each kernel's slice.
        ptx_arch: the ``sm_XX`` architecture number of the PTX.
        cpu_optimization_level: Clang level of the CPU build; ``None`` is Warp's default (-O2).
    """

    compile_cpu: bool = True
    include_ptx: bool = False
    ptx_arch: int = 90
    cpu_optimization_level: int | None = 0


@dataclass(frozen=True)
class ValidationSettings:
    """The validation stage's part of the configuration.

    Attributes:
        trials: input sets each kernel is launched with.
        devices: devices to launch on (resolved: ``"cpu"``, plus ``"cuda"`` to compare with it).
        grad_check: check differentiable kernels' adjoints against central finite differences.
    """

    trials: int = 3
    devices: tuple[str, ...] = ("cpu",)
    grad_check: bool = True


def _option(help: str, **kwargs: Any) -> Any:
    """A config field. Metadata: ``help``; ``default_text``, what a default of ``None`` means; ``cli_help``,
    the command line's wording where it differs (a dict cannot be typed there); ``cli_type``, its parsing."""
    default = kwargs.pop("default")
    return field(default=default, metadata={"help": help, **kwargs})


@dataclass
class GenerationConfig:
    """What to generate. Every field is validated in ``__post_init__`` (a :class:`ConfigError` names it)."""

    count: int | None = _option(
        "number of records to generate, over all splits (None, or `all` on the command line: every harvested kernel)",
        default=100,
        cli_type="count",
    )
    seed: int = _option("dataset seed: same seed and config give byte-identical records", default=0)
    categories: tuple[str, ...] | None = _option(
        "kernel categories to draw from: a list of names, or a {name: weight} dict",
        default=None,
        default_text="all, in equal shares",
        cli_help="kernel categories to draw from, comma-separated: names, or name:weight pairs (vector:2,loop:1)",
        cli_type="csv",
    )
    category_weights: tuple[float, ...] | None = _option(
        "relative weights of the categories, in their order",
        default=None,
        default_text="equal",
        cli_help="relative weights of --categories, comma-separated, in their order (or use name:weight pairs)",
        cli_type="csv_float",
    )
    complexity: tuple[int, int] = _option(
        "complexity level or inclusive range of levels, 1-5 (e.g. 3 or 1-5)", default=(1, 5), cli_type="range"
    )
    validate: bool = _option("compile for CPU and launch each kernel (off: IR only)", default=True)
    trials: int = _option("input sets each kernel is launched with when validating", default=3)
    devices: tuple[str, ...] | None = _option(
        "devices to validate on, from cpu and cuda",
        default=None,
        default_text="cpu, plus cuda when a GPU is present",
        cli_help="devices to validate on, comma-separated from cpu,cuda",
        cli_type="csv",
    )
    grad_check: bool = _option(
        "check differentiable kernels' adjoints against central finite differences", default=True
    )
    include_ptx: bool = _option("also compile to PTX with NVRTC (no GPU needed)", default=False)
    ptx_arch: int = _option("SM architecture of the PTX, e.g. 90 for sm_90", default=90)
    keep_failed: bool = _option("keep records that failed a check (flagged) instead of replacing them", default=False)
    batch_size: int = _option("kernels per Warp module (one compile each)", default=64)
    cpu_optimization_level: int = _option(
        "Clang optimization level (0-3) of the validation builds: 0 compiles fastest, and validation only needs "
        "to know that the code compiles and runs",
        default=0,
    )
    split_ratios: tuple[float, float, float] = _option(
        "train,validation,test fractions (sum to 1)", default=(0.9, 0.05, 0.05), cli_type="csv_float"
    )
    max_attempts: int = _option("tries per sample before the build stops with an error", default=16)
    remove_near_duplicates: bool = _option(
        "drop records whose Python is a near-duplicate (MinHash, Jaccard >= 0.8) of a lower-index record",
        default=False,
    )
    source: str = _option(
        "where kernels come from: synthetic (written from the seed) or harvested (the kernels of installed Warp "
        "code, see packages; count=None takes every one)",
        default="synthetic",
    )
    packages: tuple[str, ...] | None = _option(
        "with source=harvested: the modules or packages whose kernels to take (every submodule is imported, each "
        "in its own process)",
        default=None,
        default_text="Warp's own: warp.examples, warp.tests, warp.fem, warp.sparse, warp.optim",
        cli_type="csv",
    )

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ConfigError(f"source must be one of {', '.join(SOURCES)}, got {self.source!r}")
        if not (self.count is None and self.source == "harvested"):  # a harvest may take everything it finds
            self.count = _positive_int("count", self.count)
        self.packages = _packages(self.packages, self.source)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative int, got {self.seed!r} ({type(self.seed).__name__})")
        self.categories, self.category_weights = _categories(self.categories, self.category_weights)
        self.complexity = _complexity(self.complexity)
        self.trials = _positive_int("trials", self.trials)
        self.devices = _devices(self.devices)
        for name in ("validate", "include_ptx", "keep_failed", "remove_near_duplicates", "grad_check"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be True or False, got {getattr(self, name)!r}")
        self.ptx_arch = _positive_int("ptx_arch", self.ptx_arch)
        if not 50 <= self.ptx_arch <= 130:
            raise ConfigError(f"ptx_arch must be an SM number such as 75, 86 or 90, got {self.ptx_arch!r}")
        self.batch_size = _positive_int("batch_size", self.batch_size)
        if self.cpu_optimization_level not in (0, 1, 2, 3) or isinstance(self.cpu_optimization_level, bool):
            raise ConfigError(f"cpu_optimization_level must be 0, 1, 2 or 3, got {self.cpu_optimization_level!r}")
        self.max_attempts = _positive_int("max_attempts", self.max_attempts)
        self.split_ratios = _split_ratios(self.split_ratios)

    @property
    def synthesis(self) -> SynthesisConfig:
        """The synthesis stage's part of this config."""
        return SynthesisConfig(self.seed, self.categories, self.category_weights, self.complexity)

    @property
    def build(self) -> BuildSettings:
        """The build stage's part of this config (a CPU compile only when validating)."""
        return BuildSettings(self.validate, self.include_ptx, self.ptx_arch, self.cpu_optimization_level)

    def validation(self, devices: tuple[str, ...]) -> ValidationSettings:
        """The validation stage's part of this config, on ``devices`` (``pipeline.resolve_devices`` picks them)."""
        return ValidationSettings(self.trials, devices, self.grad_check)

    def generation_kwargs(self) -> dict[str, Any]:
        """The fields of this class (and only those), for building another config from this one."""
        return {f.name: getattr(self, f.name) for f in fields(GenerationConfig)}


def _devices(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)) or not value or any(v not in ("cpu", "cuda") for v in value):
        raise ConfigError(f"devices must be a non-empty list from 'cpu', 'cuda', got {value!r}")
    if "cpu" not in value:
        raise ConfigError(f"devices must include 'cpu' (CUDA results are compared with the CPU's), got {value!r}")
    return tuple(sorted(set(value)))


def _packages(value: Any, source: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if source != "harvested":
        raise ConfigError(f"packages is for source='harvested' only (source is {source!r}), got {value!r}")
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    if not isinstance(value, (list, tuple)) or not value or any(not isinstance(v, str) or not v.strip() for v in value):
        raise ConfigError(f"packages must be a non-empty list of module names, files or folders, got {value!r}")
    return tuple(value)


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name} must be a positive int, got {value!r} ({type(value).__name__})")
    return value


def _categories(value: Any, weights: Any) -> tuple[tuple[str, ...] | None, tuple[float, ...] | None]:
    """Normalise to (sorted names, weights in the same order or None)."""
    if value is None:
        if weights is not None:
            raise ConfigError(f"category_weights needs categories to weigh, got weights {weights!r} and no categories")
        return None, None
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if any(":" in p for p in parts):
            try:
                value = {name.strip(): float(w) for name, w in (p.split(":") if ":" in p else (p, 1) for p in parts)}
            except ValueError:
                raise ConfigError(f"categories must look like 'vector:2,loop:1', got {value!r}") from None
        else:
            value = parts
    if isinstance(value, (set, frozenset)):
        value = sorted(value, key=str)
    if isinstance(value, dict):
        if weights is not None:
            raise ConfigError("give weights either in a categories dict or in category_weights, not both")
        value, weights = list(value), list(value.values())
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f"categories must be a non-empty list of names, got {value!r}. Available: {', '.join(CATEGORIES.names())}"
        )
    for name in value:
        try:
            CATEGORIES.get(name)
        except UnknownCategoryError as exc:  # it lists the available ones; name the field too
            raise UnknownCategoryError(f"categories: {exc}") from None
    if len(set(value)) != len(value):
        raise ConfigError(f"categories must not repeat a name, got {value!r}")
    if weights is None:
        return tuple(sorted(value)), None
    if isinstance(weights, str):
        weights = weights.split(",")
    try:
        weights = [float(w) for w in weights]
    except (TypeError, ValueError):
        raise ConfigError(f"category_weights must be numbers, got {weights!r}") from None
    if len(weights) != len(value) or any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
        raise ConfigError(
            f"category_weights must be one non-negative number per category with a positive sum, got {weights!r} "
            f"for categories {list(value)!r}"
        )
    pairs = sorted(zip(value, weights, strict=True))
    return tuple(n for n, _ in pairs), tuple(w for _, w in pairs)


def _complexity(value: Any) -> tuple[int, int]:
    if isinstance(value, str):
        parts = value.split("-")
        try:
            value = tuple(int(p) for p in parts)
        except ValueError:
            raise ConfigError(f"complexity must be a level or a range like '1-5', got {value!r}") from None
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if (
        not isinstance(value, (list, tuple))
        or len(value) not in (1, 2)
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise ConfigError(f"complexity must be an int or a (low, high) pair, got {value!r}")
    low, high = value[0], value[-1]
    levels = sorted(COMPLEXITY)
    if not (levels[0] <= low <= high <= levels[-1]):
        raise ConfigError(f"complexity must lie within {levels[0]}-{levels[-1]} with low <= high, got {value!r}")
    return (low, high)


def _split_ratios(value: Any) -> tuple[float, float, float]:
    if isinstance(value, str):
        value = value.split(",")
    try:
        ratios = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"split_ratios must be three numbers (train, validation, test), got {value!r}") from None
    if len(ratios) != len(SPLITS) or any(r < 0 or not math.isfinite(r) for r in ratios):
        raise ConfigError(f"split_ratios must be three non-negative numbers (train, validation, test), got {value!r}")
    if not math.isclose(sum(ratios), 1.0, abs_tol=1e-6):
        raise ConfigError(f"split_ratios must sum to 1, got {value!r} (sum {sum(ratios):g})")
    return ratios  # type: ignore[return-value]
