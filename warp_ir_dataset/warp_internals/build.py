"""Compiling Warp modules: Clang for the CPU (loaded, ready to launch) and NVRTC to PTX (no GPU needed)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import warp as wp

from ..errors import FailureReason, KernelBuildError
from . import headers
from .kernels import CPU_BLOCK_DIM


@contextlib.contextmanager
def capture_native_stderr() -> Iterator[list[str]]:
    """Collect what native code (Clang, NVRTC) writes to file descriptor 2 while the block runs."""
    captured: list[str] = []
    with tempfile.TemporaryFile(mode="w+b") as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.append(sink.read().decode("utf-8", errors="replace"))


@contextlib.contextmanager
def _compiler_errors(reason: FailureReason) -> Iterator[None]:
    """Turn a compiler failure into a :class:`KernelBuildError` with the compiler's own diagnostics."""
    with capture_native_stderr() as err:
        try:
            yield
        except Exception as exc:
            failure: Exception | None = exc
        else:
            failure = None
    if failure is not None:
        raise KernelBuildError(reason, f"{failure}\n{''.join(err)[-4000:]}".strip()) from failure


def compile_cpu(module: Any, optimization_level: int | None = 0) -> None:
    """Compile (and load) a module for the CPU.

    Raises:
        KernelBuildError: ``cpu_compile_error``, with Clang's diagnostics.
    """
    headers.wait_for_warm_up()
    load_cpu(module, optimization_level)


def load_cpu(module: Any, optimization_level: int | None) -> None:
    """:func:`compile_cpu` without waiting for a warm-up (the warm-up itself calls this)."""
    module.options["optimization_level"] = optimization_level
    headers.exchange(after_compile=False)
    try:
        with _compiler_errors(FailureReason.CPU_COMPILE_ERROR):
            module.load("cpu", block_dim=CPU_BLOCK_DIM)
    finally:
        headers.exchange(after_compile=True)


def compile_ptx(module: Any, arch: int, out_dir: str | os.PathLike) -> str:
    """Compile a module to PTX for ``sm_<arch>`` with NVRTC (no GPU needed); return the module's PTX.

    Raises:
        KernelBuildError: ``ptx_compile_error``, with NVRTC's diagnostics.
    """
    module.options["optimization_level"] = None  # PTX is data: Warp's default CUDA level
    with _compiler_errors(FailureReason.PTX_COMPILE_ERROR):
        paths = wp.compile_aot_module(module, arch=arch, use_ptx=True, module_dir=str(out_dir))
    ptx_files = [Path(p) for p in paths if str(p).endswith(".ptx")]
    if not ptx_files:
        raise KernelBuildError(
            FailureReason.PTX_COMPILE_ERROR, f"NVRTC produced no PTX file for module {module.name!r} (got {paths})"
        )
    return ptx_files[0].read_text()
