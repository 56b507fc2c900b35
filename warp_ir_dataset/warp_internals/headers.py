"""Clang's precompiled Warp header, shared between processes, and a warm-up that builds it in the background.

Warp builds its precompiled header (~1-3 s) in a fresh temporary folder in every process, so every
worker and every new interpreter pays for it again. The header depends only on the Warp install and the
compile flags (which are in its file name), so one copy per install serves all processes.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import warp._src.context as wp_context

from .codegen import WARP_PACKAGE_DIR
from .kernels import CPU_BLOCK_DIM, forget_source, load_kernel_source, release_module
from .scratch import init_warp, warp_version

#: Where Clang's precompiled headers are shared between processes; an empty value turns sharing off.
PCH_CACHE_ENV = "WARP_IR_PCH_CACHE"


@dataclass
class _Exchange:
    """(thread folder, file name) of headers copied in from the shared folder, of those Warp discarded,
    and the warm-up thread, if one was started."""

    seeded: set[tuple[str, str]] = field(default_factory=set)
    rejected: set[tuple[str, str]] = field(default_factory=set)
    warm_up: threading.Thread | None = None


_exchange = _Exchange()


def shared_pch_dir() -> Path | None:
    """The folder that shares Clang's precompiled Warp headers between processes (None: not shared).

    The folder is ``$WARP_IR_PCH_CACHE`` (default ``~/.cache/warp_ir_dataset/pch``), one subfolder per Warp
    version and install; Warp itself discards a header that Clang cannot use, and builds a new one.
    """
    value = os.environ.get(PCH_CACHE_ENV)
    if value is not None and not value.strip():
        return None
    if value:
        root = Path(value).expanduser()
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "warp_ir_dataset" / "pch"
    return root / f"warp-{warp_version()}-{_install_key()}"


@functools.cache
def _install_key() -> str:
    """A short hash of where Warp is installed and of its headers' stamp (computed once per process)."""
    header = Path(WARP_PACKAGE_DIR, "native", "builtin.h")
    try:
        stamp = f"{header.stat().st_mtime_ns}:{header.stat().st_size}"
    except OSError:
        stamp = "?"
    return hashlib.sha256(f"{WARP_PACKAGE_DIR}\0{stamp}".encode()).hexdigest()[:16]


def is_clang_pch(name: str) -> bool:
    return name.startswith("builtin_") and name.endswith(".pch")


def _copy_atomically(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` under a temporary name, then rename: readers never see half a file."""
    partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.partial")
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def exchange_precompiled_headers(local: str | os.PathLike, shared: str | os.PathLike, after_compile: bool) -> None:
    """Before a compile, copy shared headers into ``local`` (a thread's Warp folder); after it, share new ones.

    A header copied in that Warp then discarded (Clang could not use it) is removed from ``shared``, so
    the one Warp builds next replaces it, and is not copied into ``local`` again. Sharing is an
    optimisation: folder errors are ignored.
    """
    local, shared = str(local), Path(shared)
    with contextlib.suppress(OSError):
        present = {name for name in os.listdir(local) if is_clang_pch(name)}
        if not after_compile:
            for name in os.listdir(shared) if shared.is_dir() else ():
                if is_clang_pch(name) and name not in present and (local, name) not in _exchange.rejected:
                    _copy_atomically(shared / name, Path(local, name))
                    _exchange.seeded.add((local, name))
            return
        for key in [key for key in _exchange.seeded if key[0] == local and key[1] not in present]:
            _exchange.seeded.discard(key)
            _exchange.rejected.add(key)
            (shared / key[1]).unlink(missing_ok=True)
        for name in present:
            if not (shared / name).exists():
                shared.mkdir(parents=True, exist_ok=True)
                _copy_atomically(Path(local, name), shared / name)


def exchange(after_compile: bool) -> None:
    """:func:`exchange_precompiled_headers` for the calling thread's Warp folder and the shared folder."""
    shared = shared_pch_dir()
    local = wp_context.runtime.get_clang_pch_dir() if wp_context.runtime is not None else None
    if shared is not None and local is not None:
        exchange_precompiled_headers(local, shared, after_compile)


_WARM_UP_SOURCE = """
import warp as wp

@wp.kernel
def warm_up(a: wp.array(dtype=float)):
    a[wp.tid()] = a[wp.tid()] * 2.0
"""


def warm_up_cpu_compiler() -> None:
    """Start loading Clang and preparing the precompiled header in a background thread.

    A stream calls this before ``datasets`` imports torch (seconds of Python), so a machine's first stream
    builds the header while torch imports: Clang runs without the GIL, on the second core. Nothing is
    started when the shared folder has the header already. The first ``compile_cpu`` waits for the
    warm-up; it happens once per process, and failures are ignored (the real compile reports its own).
    It prepares the header of ``compile_cpu``'s default level (-O0), the one the pipeline uses.
    """
    if _exchange.warm_up is not None:
        return
    shared = shared_pch_dir()
    with contextlib.suppress(OSError):
        if shared is not None and any(shared.glob(f"builtin_bd{CPU_BLOCK_DIM}_*o0_*.pch")):
            return  # the header is shared already: copying it in costs milliseconds, warming up would not pay
    init_warp()
    # not a daemon: interpreter shutdown must not pull Warp's runtime from under a running Clang
    _exchange.warm_up = threading.Thread(target=_warm_up, name="warp-ir-warm-up")
    # A process forked mid-warm-up (DataLoader workers, by default) would inherit a half-done compile and
    # possibly a held lock; forking waits for it, and the children then find the header in the shared folder.
    os.register_at_fork(before=wait_for_warm_up)
    _exchange.warm_up.start()


def _warm_up() -> None:
    from .build import load_cpu

    with contextlib.suppress(Exception):
        kernel = load_kernel_source(_WARM_UP_SOURCE, "warm_up", "warp_ir_warm_up", "<warp_ir_warm_up>")
        try:
            load_cpu(kernel.module, 0)
        finally:
            release_module(kernel.module)
            forget_source("<warp_ir_warm_up>")


def warming_up() -> bool:
    """Is the warm-up thread still running?"""
    return _exchange.warm_up is not None and _exchange.warm_up.is_alive()


def wait_for_warm_up() -> None:
    warm_up = _exchange.warm_up
    if warm_up is not None and warm_up is not threading.current_thread():
        warm_up.join()
