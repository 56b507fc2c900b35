"""Batched building: many generated kernels per Warp module, one compile per module.

A batch is loaded into one Warp module. Each kernel's IR is generated on its own (a codegen error
drops only that kernel). The module is then compiled once for the CPU (validation builds use
optimization level 0: they only prove that the code compiles and runs) and, with ``include_ptx``,
once to PTX with NVRTC. If a module fails to compile, the batch is split in halves and each half
rebuilt, down to the kernel at fault, so one bad kernel never takes its batch-mates down with it.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import warp_internals as wi
from .config import BuildSettings
from .errors import FailureReason, KernelBuildError
from .ptx import kernel_ptx
from .synth import KernelSource
from .timing import timed
from .warp_internals import KernelCode

_module_numbers = itertools.count()


def source_filename(source: KernelSource) -> str:
    """The stable pseudo file name a kernel's source is registered under (Warp echoes it in helper comments)."""
    return f"<warp_ir_dataset/{source.kernel_name}.py>"


@dataclass
class BuiltKernel:
    """The outcome of building one kernel.

    Attributes:
        source: what was built.
        code: its generated C++/CUDA code (``None`` if loading or codegen failed).
        kernel: the loaded Warp kernel, ready to launch on the CPU when ``compiled`` is true.
        compiled: ``True``/``False`` for the CPU compile, ``None`` when no compile was asked for.
        ptx: the kernel's PTX when requested and NVRTC succeeded.
        failure: why this kernel failed (load, codegen, CPU or PTX compile), or ``None``.
        detail: the error message behind ``failure``.
    """

    source: KernelSource
    code: KernelCode | None = None
    kernel: Any = None
    compiled: bool | None = None
    ptx: str | None = None
    failure: FailureReason | None = None
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    def fail(self, reason: FailureReason, exc: BaseException) -> None:
        self.kernel, self.failure, self.detail = None, reason, _describe(exc)


class BatchCompiler:
    """Builds batches of :class:`KernelSource` into :class:`BuiltKernel` results.

    Args:
        settings: what to compile for (the build part of a ``GenerationConfig``: ``config.build``).
        seconds: a Counter that receives seconds per stage (load, extraction, cpu_compile, ptx).
        work_dir: scratch directory for PTX output (by default a folder removed when the process exits).
    """

    def __init__(
        self,
        settings: BuildSettings,
        seconds: Counter | None = None,
        work_dir: str | os.PathLike | None = None,
    ):
        self.settings = settings
        self.seconds = seconds if seconds is not None else Counter()
        self._work_dir = Path(work_dir) if work_dir else None
        self._modules: list[Any] = []
        self._filenames: list[str] = []

    @property
    def work_dir(self) -> Path:
        """Scratch space for NVRTC's output (made on first use; removed when the process exits)."""
        if self._work_dir is None:
            self._work_dir = wi.scratch_dir("build_")
        return self._work_dir

    def build(self, sources: list[KernelSource]) -> list[BuiltKernel]:
        """Build ``sources`` (same order in the result). Call :meth:`release` once the kernels are launched."""
        built = {b.source.id: b for b in self._build_group(sources, f"warp_ir_batch_{next(_module_numbers)}")}
        return [built[s.id] for s in sources]

    def release(self) -> None:
        """Unload every module this compiler built and forget the sources (keeps memory flat)."""
        for module in self._modules:
            wi.release_module(module)
        for filename in self._filenames:
            wi.forget_source(filename)
        self._modules.clear()
        self._filenames.clear()

    def _build_group(self, sources: list[KernelSource], module_name: str) -> list[BuiltKernel]:
        results = [self._load(source, module_name) for source in sources]
        loaded = [item for item in results if item.ok]
        settings = self.settings
        if not loaded or not (settings.compile_cpu or settings.include_ptx):
            for item in loaded:
                item.kernel = None
            return results
        module = wi.module_of(loaded[0].kernel)
        self._modules.append(module)
        try:
            module_ptx = self._compile(module, module_name)
        except KernelBuildError as exc:
            wi.release_module(module)
            if len(loaded) > 1:
                return self._bisect(results, loaded, module_name)
            loaded[0].fail(exc.reason, exc)
            cpu_failed = exc.reason is FailureReason.CPU_COMPILE_ERROR
            loaded[0].compiled = False if cpu_failed else True if settings.compile_cpu else None
            return results
        for item in loaded:
            item.compiled = True if settings.compile_cpu else None
            if settings.include_ptx:
                item.ptx = kernel_ptx(module_ptx, item.code.symbol)
            if not settings.compile_cpu:
                item.kernel = None
        return results

    def _load(self, source: KernelSource, module_name: str) -> BuiltKernel:
        """Load one kernel into the module ``module_name`` and generate its code."""
        item = BuiltKernel(source)
        filename = source_filename(source)
        self._filenames.append(filename)
        try:
            with timed(self.seconds, "load"):
                item.kernel = wi.load_kernel_source(source.source, source.kernel_name, module_name, filename)
        except Exception as exc:  # noqa: BLE001 - any failure of generated code is data, not a crash
            item.fail(FailureReason.LOAD_ERROR, exc)
            return item
        try:
            with timed(self.seconds, "extraction"):
                item.code = wi.kernel_code(item.kernel)
        except Exception as exc:  # noqa: BLE001
            wi.drop_kernel(item.kernel)
            item.fail(FailureReason.CODEGEN_ERROR, exc)
        return item

    def _compile(self, module: Any, module_name: str) -> str | None:
        """Compile the module as the settings ask; return its PTX (with ``include_ptx``)."""
        if self.settings.compile_cpu:
            with timed(self.seconds, "cpu_compile"):
                wi.compile_cpu(module, self.settings.cpu_optimization_level)
        if not self.settings.include_ptx:
            return None
        with timed(self.seconds, "ptx"):
            try:
                return wi.compile_ptx(module, self.settings.ptx_arch, self.work_dir / module_name)
            finally:
                shutil.rmtree(self.work_dir / module_name, ignore_errors=True)

    def _bisect(self, results: list[BuiltKernel], loaded: list[BuiltKernel], module_name: str) -> list[BuiltKernel]:
        """Rebuild each half of a module that failed to compile in its own module, to isolate the kernel(s)
        at fault."""
        half = len(loaded) // 2
        rebuilt = {
            b.source.id: b
            for part, suffix in ((loaded[:half], "a"), (loaded[half:], "b"))
            for b in self._build_group([item.source for item in part], f"{module_name}{suffix}")
        }
        return [rebuilt.get(item.source.id, item) for item in results]


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 2000 else text[:2000] + " ..."
