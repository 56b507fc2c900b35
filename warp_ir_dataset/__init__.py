"""warp_ir_dataset: synthetic NVIDIA Warp kernels paired with the C++/CUDA code Warp generates for them.

Public API::

    import warp_ir_dataset as wid
    ds = wid.load_dataset(count=200, seed=0)        # DatasetDict: train / validation / test
    ir = wid.extract_ir(my_kernel)                  # IR of any concrete @wp.kernel
"""

__version__ = "0.1.0"

from .api import extract_ir, load_dataset  # noqa: E402
from .builder import WarpIRConfig, WarpIRDataset  # noqa: E402
from .config import GenerationConfig  # noqa: E402
from .errors import (  # noqa: E402
    ConfigError,
    GenerationError,
    KernelBuildError,
    NotAKernelError,
    UnknownCategoryError,
    WarpIRError,
)
from .formats import format_record, to_task_format  # noqa: E402
from .hub import write_hub_dataset  # noqa: E402
from .pipeline import generate_records  # noqa: E402
from .schema import FEATURES  # noqa: E402
from .synth import CATEGORIES, GENERATOR_VERSION, register_category, synthesize_kernel  # noqa: E402

__all__ = [
    "CATEGORIES",
    "FEATURES",
    "GENERATOR_VERSION",
    "ConfigError",
    "GenerationConfig",
    "GenerationError",
    "KernelBuildError",
    "NotAKernelError",
    "UnknownCategoryError",
    "WarpIRConfig",
    "WarpIRDataset",
    "WarpIRError",
    "__version__",
    "extract_ir",
    "format_record",
    "to_task_format",
    "generate_records",
    "load_dataset",
    "register_category",
    "synthesize_kernel",
    "write_hub_dataset",
]
