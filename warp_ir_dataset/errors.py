"""One error family for the package: everything we raise on purpose derives from :class:`WarpIRError`."""

from __future__ import annotations

import sys
from enum import Enum

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # pragma: no cover - Python 3.10

    class StrEnum(str, Enum):
        def __str__(self) -> str:
            return str(self.value)


class FailureReason(StrEnum):
    """Why a generated kernel was replaced, or a harvested module or kernel skipped: the one vocabulary of
    compile, pipeline, validation, extraction and the card.

    A record lists the reasons of the attempts before it in ``failed_attempts``.
    """

    SYNTHESIS_ERROR = "synthesis_error"
    LOAD_ERROR = "load_error"
    CODEGEN_ERROR = "codegen_error"
    CPU_COMPILE_ERROR = "cpu_compile_error"
    PTX_COMPILE_ERROR = "ptx_compile_error"
    PTX_MISSING = "ptx_missing"
    LAUNCH_ERROR = "launch_error"
    NON_FINITE_OUTPUT = "non_finite_output"
    CUDA_LAUNCH_ERROR = "cuda_launch_error"
    CPU_CUDA_MISMATCH = "cpu_cuda_mismatch"
    GRAD_ERROR = "grad_error"
    GRAD_MISMATCH = "grad_mismatch"
    # harvesting real code (``warp-ir extract``): a module that could not be imported, a kernel that cannot be built
    IMPORT_ERROR = "import_error"
    IMPORT_EXIT = "import_exit"
    IMPORT_TIMEOUT = "import_timeout"
    IMPORT_CRASH = "import_crash"
    WORKER_CRASH = "worker_crash"
    GENERIC_WITHOUT_OVERLOADS = "generic_without_overloads"

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    FailureReason.SYNTHESIS_ERROR: "the category asked the kernel writer for something it cannot write",
    FailureReason.LOAD_ERROR: "the Python did not define a loadable @wp.kernel",
    FailureReason.CODEGEN_ERROR: "Warp's code generator rejected the kernel",
    FailureReason.CPU_COMPILE_ERROR: "Clang could not compile the C++",
    FailureReason.PTX_COMPILE_ERROR: "NVRTC could not compile the CUDA C++ to PTX",
    FailureReason.PTX_MISSING: "NVRTC gave no PTX for the kernel",
    FailureReason.LAUNCH_ERROR: "the CPU launch raised",
    FailureReason.NON_FINITE_OUTPUT: "an output held NaN or infinity",
    FailureReason.CUDA_LAUNCH_ERROR: "the CUDA launch raised",
    FailureReason.CPU_CUDA_MISMATCH: "CPU and CUDA outputs disagree",
    FailureReason.GRAD_ERROR: "the adjoint launch raised",
    FailureReason.GRAD_MISMATCH: "the adjoint disagrees with finite differences",
    FailureReason.IMPORT_ERROR: "importing the module raised (a missing optional dependency, a GPU needed, ...)",
    FailureReason.IMPORT_EXIT: "importing the module called sys.exit",
    FailureReason.IMPORT_TIMEOUT: "importing the module ran past the timeout",
    FailureReason.IMPORT_CRASH: "importing the module ended its process (a crash or os._exit)",
    FailureReason.WORKER_CRASH: "the process harvesting the module died after importing it",
    FailureReason.GENERIC_WITHOUT_OVERLOADS: "a generic kernel with no overload registered: no concrete code",
}


class WarpIRError(Exception):
    """Base class of every error raised by ``warp_ir_dataset``."""


class ConfigError(WarpIRError, ValueError):
    """A configuration value is invalid (the message names the field, the value and what is accepted)."""


class UnknownCategoryError(ConfigError, KeyError):
    """A category name is not registered (the message lists the available ones)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class NotAKernelError(WarpIRError, TypeError):
    """Something other than a concrete ``@wp.kernel`` was passed where a kernel is required."""


class KernelBuildError(WarpIRError, RuntimeError):
    """Warp failed to load, generate code for, or compile a kernel.

    Attributes:
        reason: the :class:`FailureReason` (load, codegen, CPU or PTX compile), used to count drops.
        detail: the compiler's or Warp's message.
    """

    def __init__(self, reason: FailureReason, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = FailureReason(reason)
        self.detail = message


class UnsupportedWarpError(WarpIRError, RuntimeError):
    """Warp's private API does not behave as the pinned release does (a different ``warp-lang`` is installed)."""


class GenerationError(WarpIRError, RuntimeError):
    """The generator could not produce a valid kernel for a sample after every allowed attempt."""


class BuildInterrupted(WarpIRError, KeyboardInterrupt):
    """A build was interrupted (Ctrl-C); the message says how many shards are done and how to resume."""


class SynthesisError(WarpIRError, RuntimeError):
    """A kernel category asked the kernel writer for something it cannot write (a bug in the category)."""
