"""Warp's initialisation, its kernel cache, and this process's scratch folders (removed at exit)."""

from __future__ import annotations

import atexit
import contextlib
import functools
import multiprocessing.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import warp as wp
import warp._src.build as wp_build
import warp._src.context as wp_context


@dataclass
class _ProcessState:
    """What this process set up: its scratch folder and Warp's kernel cache (reset in a forked child)."""

    pid: int | None = None
    scratch: Path | None = None
    kernel_cache: str | None = None
    private_cache_pid: int | None = None  # the process that made the private kernel cache in use, if it is one


_state = _ProcessState()


def warp_version() -> str:
    return wp.config.version


def process_scratch_dir() -> Path | None:
    """This process's scratch folder, if it made one."""
    return _state.scratch if _state.pid == os.getpid() else None


def scratch_dir(prefix: str) -> Path:
    """A new folder under this process's scratch folder, which is removed when the process exits.

    Processes forked from this one (DataLoader workers) get scratch folders of their own on first use,
    removed when they exit, also through ``os._exit`` at the end of a ``multiprocessing`` child.
    """
    if process_scratch_dir() is None:
        folder = Path(tempfile.mkdtemp(prefix=f"warp_ir_{os.getpid()}_"))
        _state.pid, _state.scratch = os.getpid(), folder
        inherited_pch = set(wp_context.runtime._pch_dirs) if wp_context.runtime is not None else set()
        cleanup = functools.partial(_remove_process_files, os.getpid(), folder, inherited_pch)
        atexit.register(cleanup)
        multiprocessing.util.Finalize(None, cleanup, exitpriority=0)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=_state.scratch))


def remove_scratch_of(pid: int) -> None:
    """Remove the scratch folder of a process that has exited without removing it (a killed worker)."""
    for folder in Path(tempfile.gettempdir()).glob(f"warp_ir_{pid}_*"):
        shutil.rmtree(folder, ignore_errors=True)


def _remove_process_files(pid: int, folder: Path, inherited_pch: set[int]) -> None:
    if os.getpid() != pid:  # atexit handlers are inherited through fork
        return
    shutil.rmtree(folder, ignore_errors=True)
    # Warp's precompiled-header folders are TemporaryDirectory objects, removed by finalizers that a
    # multiprocessing child skips (it leaves through os._exit): remove those this process made
    runtime = wp_context.runtime
    for thread, pch in list(getattr(runtime, "_pch_dirs", {}).items()):
        if thread not in inherited_pch:
            with contextlib.suppress(Exception):  # best effort at exit
                pch.cleanup()


def init_warp(kernel_cache_dir: str | os.PathLike | None = None) -> None:
    """Initialise Warp quietly, with its kernel cache in ``kernel_cache_dir``.

    By default the cache is a private folder of this process (see :func:`scratch_dir`): compiled batches
    are never reused, and a forked process gets its own. Safe to call repeatedly; a different folder
    re-points the cache of an initialised Warp.
    """
    cache = str(kernel_cache_dir) if kernel_cache_dir else None
    if _state.kernel_cache is not None and (cache is None or cache == _state.kernel_cache):
        if cache is not None or _state.private_cache_pid in (None, os.getpid()):
            return
    wp.config.log_level = wp.LOG_WARNING
    private = cache is None
    if private:
        cache = str(scratch_dir("kernel_cache_"))
    if wp_context.runtime is None:
        from .build import capture_native_stderr

        wp.config.kernel_cache_dir = cache
        with capture_native_stderr():  # "could not find the CUDA driver" on machines without a GPU
            wp.init()
    else:
        wp_build.init_kernel_cache(cache)
    _state.kernel_cache, _state.private_cache_pid = cache, os.getpid() if private else None


def cuda_available() -> bool:
    init_warp()
    return wp.is_cuda_available()
