"""warp_ir_dataset: synthetic NVIDIA Warp kernels paired with the C++/CUDA code Warp generates for them.

Public API::

    import warp_ir_dataset as wid
    ds = wid.load_dataset(count=200, seed=0)        # DatasetDict: train / validation / test
    ir = wid.extract_ir(my_kernel)                  # IR of any concrete @wp.kernel
"""

from ._version import __version__
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
from .hub import write_hub_dataset
from .pipeline import generate_records
from .schema import FEATURES
from .stats import drops_by_reason
from .synth import CATEGORIES, GENERATOR_VERSION, register_category, synthesize_kernel

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
    "format_record",
    "to_task_format",
    "generate_records",
    "load_dataset",
    "register_category",
    "synthesize_kernel",
    "write_hub_dataset",
]
