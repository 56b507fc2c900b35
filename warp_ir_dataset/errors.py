"""One error family for the package: everything we raise on purpose derives from :class:`WarpIRError`."""

from __future__ import annotations


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
        reason: a short machine-readable reason (``"load_error"``, ``"codegen_error"``,
            ``"cpu_compile_error"``, ``"ptx_compile_error"``), used to count drops.
    """

    def __init__(self, reason: str, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.detail = message


class GenerationError(WarpIRError, RuntimeError):
    """The generator could not produce a valid kernel for a sample after every allowed attempt."""


class SynthesisError(WarpIRError, RuntimeError):
    """A kernel category asked the kernel writer for something it cannot write (a bug in the category)."""
