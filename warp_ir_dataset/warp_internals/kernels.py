"""Loading generated kernel source into Warp modules, and the bookkeeping that keeps memory and disk flat."""

from __future__ import annotations

import contextlib
import linecache
import shutil
import threading
from pathlib import Path
from typing import Any

import warp as wp
import warp._src.context as wp_context

from ..errors import NotAKernelError
from .scratch import init_warp

#: The block size wp.launch uses on the CPU; CPU builds (and their cache folders) are made for it.
CPU_BLOCK_DIM = 1

_source_lock = threading.Lock()  # Warp's helper-name counter is process-wide


def is_kernel(obj: Any) -> bool:
    return isinstance(obj, wp_context.Kernel)


def load_kernel_source(source: str, kernel_name: str, module_name: str, filename: str) -> Any:
    """Execute generated kernel source and return the ``@wp.kernel`` named ``kernel_name``.

    The source is registered in ``linecache`` under ``filename`` (Warp reads kernel source through
    ``inspect``), and executed in a namespace whose ``__name__`` is ``module_name``, so every kernel
    loaded with the same ``module_name`` lands in one Warp module (one compile). Helper functions get
    native names from a per-source counter, so the generated code does not depend on what the process
    compiled before.
    """
    init_warp()
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    namespace: dict[str, Any] = {"__name__": module_name}
    with _source_lock:
        saved_counts = wp_context.function_key_counts
        wp_context.function_key_counts = {}
        try:
            # dont_inherit: this module's `from __future__ import annotations` must not leak into the
            # generated code, or @wp.struct field annotations stay strings that Warp cannot resolve
            exec(compile(source, filename, "exec", dont_inherit=True), namespace)
        finally:
            wp_context.function_key_counts = saved_counts
    kernel = namespace.get(kernel_name)
    if not is_kernel(kernel):
        raise NotAKernelError(f"source defines no @wp.kernel named {kernel_name!r}")
    return kernel


def forget_source(filename: str) -> None:
    linecache.cache.pop(filename, None)


def module_of(kernel: Any) -> Any:
    return kernel.module


def drop_kernel(kernel: Any) -> None:
    """Remove ``kernel`` from its Warp module so the module compiles without it."""
    module = kernel.module
    if module.kernels.get(kernel.key) is kernel:
        del module.kernels[kernel.key]
    module._live_kernels.discard(kernel)
    module.mark_modified()


def release_module(module: Any) -> None:
    """Unload a module's binaries, delete its build folder and forget it: memory and disk stay flat."""
    folder = None
    with contextlib.suppress(Exception):
        folder = Path(wp.config.kernel_cache_dir, module.get_module_identifier(block_dim=CPU_BLOCK_DIM))
    with contextlib.suppress(Exception):
        module.unload()
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
    if wp_context.user_modules.get(module.name) is module:
        del wp_context.user_modules[module.name]


def concrete_kernel(kernel: Any) -> Any:
    """``kernel`` itself, or the only overload of a generic kernel; otherwise a :class:`NotAKernelError`."""
    if not is_kernel(kernel):
        raise NotAKernelError(
            f"expected a Warp kernel (a function decorated with @wp.kernel), got {type(kernel).__name__}: {kernel!r}"
        )
    if kernel.is_generic:
        overloads = list(kernel.overloads.values())
        if len(overloads) == 1:
            return overloads[0]
        raise NotAKernelError(
            f"kernel {kernel.key!r} is generic with {len(overloads)} overloads; pass one concrete overload "
            "(wp.overload(kernel, [...]) returns it) instead of the generic kernel"
        )
    return kernel


def builtin_names() -> frozenset[str]:
    """Names of Warp's builtin functions (what ``wp.<name>(...)`` and operators resolve to)."""
    return frozenset(wp_context.builtin_functions)


def kernel_name(kernel: Any) -> str:
    return kernel.func.__name__


def kernel_python_source(kernel: Any) -> str:
    return kernel.adj.source


def pch_dirs() -> list[str]:
    """The precompiled-header folders Warp's runtime made (one per compiling thread), if it is initialised."""
    runtime = wp_context.runtime
    return [d.name for d in getattr(runtime, "_pch_dirs", {}).values()]
