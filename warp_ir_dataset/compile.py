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
        failure: the reason this kernel failed (``load_error``, ``codegen_error``, ``cpu_compile_error``,
            ``ptx_compile_error``) or ``None``.
        detail: the error message behind ``failure``.
    """

    source: KernelSource
    code: KernelCode | None = None
    kernel: Any = None
    compiled: bool | None = None
    ptx: str | None = None
    failure: str | None = None
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


class BatchCompiler:
    """Builds batches of :class:`KernelSource` into :class:`BuiltKernel` results.

    Args:
        compile_cpu: compile each batch for the CPU (needed to launch).
        include_ptx: compile each batch to PTX and attach each kernel's slice.
        ptx_arch: the ``sm_XX`` architecture number for PTX.
        work_dir: scratch directory for PTX output (by default a folder removed when the process exits).
        cpu_optimization_level: Clang level of the CPU build: 0 by default (validation only needs to know
            that the code compiles and runs), ``None`` for Warp's default (-O2).
    """

    def __init__(
        self,
        *,
        compile_cpu: bool = True,
        include_ptx: bool = False,
        ptx_arch: int = 90,
        work_dir: str | os.PathLike | None = None,
        cpu_optimization_level: int | None = 0,
    ):
        self.compile_cpu = compile_cpu
        self.cpu_optimization_level = cpu_optimization_level
        self.include_ptx = include_ptx
        self.ptx_arch = ptx_arch
        self._work_dir = Path(work_dir) if work_dir else None
        self._modules: list[Any] = []
        self._filenames: list[str] = []
        self.seconds: Counter = Counter()  # per stage: load, extraction, cpu_compile, ptx

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
        results: list[BuiltKernel] = []
        loaded: list[BuiltKernel] = []
        for source in sources:
            item = BuiltKernel(source)
            results.append(item)
            filename = source_filename(source)
            self._filenames.append(filename)
            try:
                with timed(self.seconds, "load"):
                    item.kernel = wi.load_kernel_source(source.source, source.kernel_name, module_name, filename)
            except Exception as exc:  # noqa: BLE001 - any failure of generated code is data, not a crash
                item.failure, item.detail = "load_error", _describe(exc)
                continue
            try:
                with timed(self.seconds, "extraction"):
                    item.code = wi.kernel_code(item.kernel)
            except Exception as exc:  # noqa: BLE001
                wi.drop_kernel(item.kernel)
                item.kernel = None
                item.failure, item.detail = "codegen_error", _describe(exc)
                continue
            loaded.append(item)
        if not loaded or not (self.compile_cpu or self.include_ptx):
            for item in loaded:
                item.kernel = None
            return results

        module = wi.module_of(loaded[0].kernel)
        self._modules.append(module)
        stage = "cpu_compile_error"
        try:
            if self.compile_cpu:
                with timed(self.seconds, "cpu_compile"):
                    wi.compile_cpu(module, self.cpu_optimization_level)
            if self.include_ptx:
                stage = "ptx_compile_error"
                with timed(self.seconds, "ptx"):
                    try:
                        module_ptx = wi.compile_ptx(module, self.ptx_arch, self.work_dir / module_name)
                    finally:
                        shutil.rmtree(self.work_dir / module_name, ignore_errors=True)
        except Exception as exc:  # noqa: BLE001
            wi.release_module(module)
            if len(loaded) == 1:
                item = loaded[0]
                item.kernel, item.failure, item.detail = None, stage, _describe(exc)
                item.compiled = False if stage == "cpu_compile_error" else True if self.compile_cpu else None
                return results
            # bisect: rebuild each half in its own module to isolate the kernel(s) at fault
            half = len(loaded) // 2
            redo = {item.source.id for item in loaded}
            rebuilt = {
                b.source.id: b
                for part, suffix in ((loaded[:half], "a"), (loaded[half:], "b"))
                for b in self._build_group([item.source for item in part], f"{module_name}{suffix}")
            }
            return [rebuilt[item.source.id] if item.source.id in redo else item for item in results]

        for item in loaded:
            item.compiled = True if self.compile_cpu else None
            if self.include_ptx:
                item.ptx = kernel_ptx(module_ptx, item.code.symbol)
            if not self.compile_cpu:
                item.kernel = None
        return results


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 2000 else text[:2000] + " ..."
