"""warp_ir_dataset: synthetic NVIDIA Warp kernels paired with the C++/CUDA code Warp generates for them.

Public API::

    import warp_ir_dataset as wid
    ds = wid.load_dataset(count=200, seed=0)        # DatasetDict: train / validation / test
    ir = wid.extract_ir(my_kernel)                  # IR of any concrete @wp.kernel
"""

from importlib import import_module
from typing import TYPE_CHECKING

from ._version import __version__

#: Public name -> the module that defines it. Loaded on first use (PEP 562), so ``import warp_ir_dataset``
#: stays cheap and a command that needs neither ``datasets`` nor Warp (``warp-ir generate`` resuming a finished
#: build, ``--help``) does not import them.
_EXPORTS = {
    "extract_ir": "api",
    "load_dataset": "api",
    "WarpIRConfig": "builder",
    "WarpIRDataset": "builder",
    "GenerationConfig": "config",
    "ConfigError": "errors",
    "FailureReason": "errors",
    "GenerationError": "errors",
    "KernelBuildError": "errors",
    "NotAKernelError": "errors",
    "UnknownCategoryError": "errors",
    "WarpIRError": "errors",
    "extract_records": "harvest",
    "format_record": "formats",
    "to_task_format": "formats",
    "write_hub_dataset": "hub",
    "generate_records": "pipeline",
    "FEATURES": "schema",
    "drops_by_reason": "stats",
    "CATEGORIES": "synth",
    "GENERATOR_VERSION": "synth",
    "register_category": "synth",
    "synthesize_kernel": "synth",
}

if TYPE_CHECKING:
    from .api import extract_ir, load_dataset
    from .builder import WarpIRConfig, WarpIRDataset
    from .config import GenerationConfig
    from .errors import (
        ConfigError,
        FailureReason,
        GenerationError,
        KernelBuildError,
        NotAKernelError,
        UnknownCategoryError,
        WarpIRError,
    )
    from .formats import format_record, to_task_format
    from .harvest import extract_records
    from .hub import write_hub_dataset
    from .pipeline import generate_records
    from .schema import FEATURES
    from .stats import drops_by_reason
    from .synth import CATEGORIES, GENERATOR_VERSION, register_category, synthesize_kernel


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = [
    "CATEGORIES",
    "FEATURES",
    "GENERATOR_VERSION",
    "ConfigError",
    "FailureReason",
    "GenerationConfig",
    "GenerationError",
    "KernelBuildError",
    "NotAKernelError",
    "UnknownCategoryError",
    "WarpIRConfig",
    "WarpIRDataset",
    "WarpIRError",
    "__version__",
    "drops_by_reason",
    "extract_ir",
    "extract_records",
    "format_record",
    "to_task_format",
    "generate_records",
    "load_dataset",
    "register_category",
    "synthesize_kernel",
    "write_hub_dataset",
]
