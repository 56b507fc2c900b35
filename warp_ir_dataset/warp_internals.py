"""Everything that touches Warp's private API (``warp._src``) lives in this module, and only here.

Warp's private API changes between releases; the package pins ``warp-lang`` (see ``pyproject.toml``)
and records :func:`warp_version` in every record. Other modules use the plain functions below.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import linecache
import multiprocessing.util
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import warp as wp
import warp._src.build as wp_build
import warp._src.codegen as wp_codegen
import warp._src.context as wp_context
import warp._src.types as wp_types

from .errors import NotAKernelError

#: Module options used to generate the recorded IR, whatever the process's Warp configuration.
_CODEGEN_OVERRIDES = {"mode": "release", "enable_backward": True}

#: The block size wp.launch uses on the CPU; CPU builds (and their cache folders) are made for it.
_CPU_BLOCK_DIM = 1

_initialized_cache: str | None = None
_private_cache_pid: int | None = None  # the process that made the private kernel cache in use, if it is one
_source_lock = threading.Lock()
_scratch: tuple[int, Path] | None = None  # (pid, folder)


def warp_version() -> str:
    return wp.config.version


def scratch_dir(prefix: str) -> Path:
    """A new folder under this process's scratch folder, which is removed when the process exits.

    Processes forked from this one (DataLoader workers) get scratch folders of their own on first use,
    removed when they exit, also through ``os._exit`` at the end of a ``multiprocessing`` child.
    """
    global _scratch
    if _scratch is None or _scratch[0] != os.getpid():
        folder = Path(tempfile.mkdtemp(prefix=f"warp_ir_{os.getpid()}_"))
        _scratch = (os.getpid(), folder)
        inherited_pch = set(wp_context.runtime._pch_dirs) if wp_context.runtime is not None else set()
        cleanup = functools.partial(_remove_process_files, os.getpid(), folder, inherited_pch)
        atexit.register(cleanup)
        multiprocessing.util.Finalize(None, cleanup, exitpriority=0)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=_scratch[1]))


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
            with contextlib.suppress(Exception):
                pch.cleanup()


def init_warp(kernel_cache_dir: str | os.PathLike | None = None) -> None:
    """Initialise Warp quietly, with its kernel cache in ``kernel_cache_dir``.

    By default the cache is a private folder of this process (see :func:`scratch_dir`): compiled batches
    are never reused, and a forked process gets its own. Safe to call repeatedly; a different folder
    re-points the cache of an initialised Warp.
    """
    global _initialized_cache, _private_cache_pid
    cache = str(kernel_cache_dir) if kernel_cache_dir else None
    if _initialized_cache is not None and (cache is None or cache == _initialized_cache):
        if cache is not None or _private_cache_pid in (None, os.getpid()):
            return
    wp.config.log_level = wp.LOG_WARNING
    private = cache is None
    if private:
        cache = str(scratch_dir("kernel_cache_"))
    if wp_context.runtime is None:
        wp.config.kernel_cache_dir = cache
        with capture_native_stderr():  # "could not find the CUDA driver" on machines without a GPU
            wp.init()
    else:
        wp_build.init_kernel_cache(cache)
    _initialized_cache = cache
    _private_cache_pid = os.getpid() if private else None


def cuda_available() -> bool:
    init_warp()
    return wp.is_cuda_available()


# ---------------------------------------------------------------------------------------------- kernels
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
    with _source_lock:  # the helper-name counter is process-wide
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
        folder = Path(wp.config.kernel_cache_dir, module.get_module_identifier(block_dim=_CPU_BLOCK_DIM))
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


# ---------------------------------------------------------------------------------------------- codegen
@dataclass(frozen=True)
class KernelCode:
    """One kernel's generated code, restricted to that kernel and the helpers it calls.

    ``*_forward``: the structs it uses, its ``@wp.func`` helpers' forward functions, its argument struct
    (CPU) and its forward kernel function. ``*_backward``: the helpers' adjoint functions and the
    backward (adjoint) kernel function. Warp's per-module launch wrappers are not included.
    """

    symbol: str  # "<key>_<hash8>", the prefix of every native name of this kernel
    cpp_forward: str
    cpp_backward: str
    cuda_forward: str
    cuda_backward: str


def _codegen_options(kernel: Any) -> dict:
    return kernel.module.resolve_options(wp.config) | _CODEGEN_OVERRIDES


def kernel_code(kernel: Any) -> KernelCode:
    """Generate CPU and CUDA code (forward and adjoint) for one concrete kernel. No compiler runs.

    One backend-neutral ``ModuleBuilder`` restricted to this kernel (it builds only the kernel and the
    functions and structs it uses) serves both devices; its output equals a per-device builder's.
    """
    kernel = concrete_kernel(kernel)
    init_warp()
    options = _codegen_options(kernel)
    builder = wp_context.ModuleBuilder(kernel.module, options, hasher=wp_context.ModuleHasher([kernel], options))
    structs = "".join(wp_codegen.codegen_struct(struct) for struct in builder.structs)
    helpers = list(builder.functions)
    code = []
    for device in ("cpu", "cuda"):
        full = wp_codegen.codegen_kernel(kernel, device=device, options=options)
        forward = wp_codegen.codegen_kernel(kernel, device=device, options=options | {"enable_backward": False})
        if not full.startswith(forward):  # Warp's layout changed: refuse to record a wrong split
            raise RuntimeError(f"unexpected codegen layout for {kernel.key}: forward is not a prefix of the whole")
        code.append(structs + builder._codegen_functions(helpers, device, forward_only=True) + forward)
        code.append(builder._codegen_functions(helpers, device, reverse_only=True) + full[len(forward) :])
    symbol = wp_codegen.cuda_kernel_forward_name(kernel).removesuffix("_cuda_kernel_forward")
    return KernelCode(symbol, *(_portable(text) for text in code))


#: Warp's own @wp.func helpers (e.g. quat_to_euler) are echoed with their file's absolute path.
_WARP_PACKAGE_DIR = os.path.dirname(os.path.abspath(wp.__file__)) + os.sep


def _portable(code: str) -> str:
    """Code with the install location of warp-lang replaced by ``warp/``, so it is the same on every machine."""
    return code.replace(_WARP_PACKAGE_DIR, "warp/")


# ---------------------------------------------------------------------------------------------- compile
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


#: Where Clang's precompiled headers are shared between processes; an empty value turns sharing off.
PCH_CACHE_ENV = "WARP_IR_PCH_CACHE"
#: (thread folder, file name) of headers copied in from the shared folder, and of those Warp discarded.
_pch_seeded: set[tuple[str, str]] = set()
_pch_rejected: set[tuple[str, str]] = set()


def shared_pch_dir() -> Path | None:
    """The folder that shares Clang's precompiled Warp headers between processes (None: not shared).

    Warp builds its precompiled header (~1-3 s) in a fresh temporary folder in every process, so every
    worker and every new interpreter pays for it again. The header depends only on the Warp install and
    the compile flags (which are in its file name), so one copy per install serves all processes. The
    folder is ``$WARP_IR_PCH_CACHE`` (default ``~/.cache/warp_ir_dataset/pch``), one subfolder per Warp
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
    header = Path(_WARP_PACKAGE_DIR, "native", "builtin.h")
    try:
        stamp = f"{header.stat().st_mtime_ns}:{header.stat().st_size}"
    except OSError:
        stamp = "?"
    return hashlib.sha256(f"{_WARP_PACKAGE_DIR}\0{stamp}".encode()).hexdigest()[:16]


def _is_clang_pch(name: str) -> bool:
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
        present = {name for name in os.listdir(local) if _is_clang_pch(name)}
        if not after_compile:
            for name in os.listdir(shared) if shared.is_dir() else ():
                if _is_clang_pch(name) and name not in present and (local, name) not in _pch_rejected:
                    _copy_atomically(shared / name, Path(local, name))
                    _pch_seeded.add((local, name))
            return
        for key in [key for key in _pch_seeded if key[0] == local and key[1] not in present]:
            _pch_seeded.discard(key)
            _pch_rejected.add(key)
            (shared / key[1]).unlink(missing_ok=True)
        for name in present:
            if not (shared / name).exists():
                shared.mkdir(parents=True, exist_ok=True)
                _copy_atomically(Path(local, name), shared / name)


def _exchange_precompiled_headers(after_compile: bool) -> None:
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
_warm_up_thread: threading.Thread | None = None


def warm_up_cpu_compiler() -> None:
    """Start loading Clang and preparing the precompiled header in a background thread.

    A stream calls this before ``datasets`` imports torch (seconds of Python), so a machine's first stream
    builds the header while torch imports: Clang runs without the GIL, on the second core. Nothing is
    started when the shared folder has the header already. The first :func:`compile_cpu` waits for the
    warm-up; it happens once per process, and failures are ignored (the real compile reports its own).
    It prepares the header of :func:`compile_cpu`'s default level (-O0), the one the pipeline uses.
    """
    global _warm_up_thread
    if _warm_up_thread is not None:
        return
    shared = shared_pch_dir()
    with contextlib.suppress(OSError):
        if shared is not None and any(shared.glob(f"builtin_bd{_CPU_BLOCK_DIM}_*o0_*.pch")):
            return  # the header is shared already: copying it in costs milliseconds, warming up would not pay
    init_warp()

    def warm_up() -> None:
        with contextlib.suppress(Exception):
            kernel = load_kernel_source(_WARM_UP_SOURCE, "warm_up", "warp_ir_warm_up", "<warp_ir_warm_up>")
            try:
                _compile_cpu(kernel.module, 0)
            finally:
                release_module(kernel.module)
                forget_source("<warp_ir_warm_up>")

    # not a daemon: interpreter shutdown must not pull Warp's runtime from under a running Clang
    _warm_up_thread = threading.Thread(target=warm_up, name="warp-ir-warm-up")
    _warm_up_thread.start()


def _wait_for_warm_up() -> None:
    warm_up = _warm_up_thread
    if warm_up is not None and warm_up is not threading.current_thread():
        warm_up.join()


# A process forked mid-warm-up (DataLoader workers, by default) would inherit a half-done compile and
# possibly a held lock; forking waits for it, and the children then find the header in the shared folder.
os.register_at_fork(before=_wait_for_warm_up)


def compile_cpu(module: Any, optimization_level: int | None = 0) -> None:
    """Compile (and load) a module for the CPU; raises with Clang's diagnostics on failure."""
    _wait_for_warm_up()
    _compile_cpu(module, optimization_level)


def _compile_cpu(module: Any, optimization_level: int | None) -> None:
    module.options["optimization_level"] = optimization_level
    _exchange_precompiled_headers(after_compile=False)
    with capture_native_stderr() as err:
        try:
            module.load("cpu", block_dim=_CPU_BLOCK_DIM)
        except Exception as exc:
            failure = exc
        else:
            failure = None
    _exchange_precompiled_headers(after_compile=True)
    if failure is not None:
        raise RuntimeError(f"{failure}\n{''.join(err)[-4000:]}".strip()) from failure


def compile_ptx(module: Any, arch: int, out_dir: str | os.PathLike) -> str:
    """Compile a module to PTX for ``sm_<arch>`` with NVRTC (no GPU needed); return the module's PTX."""
    module.options["optimization_level"] = None  # PTX is data: Warp's default CUDA level
    with capture_native_stderr() as err:
        try:
            paths = wp.compile_aot_module(module, arch=arch, use_ptx=True, module_dir=str(out_dir))
        except Exception as exc:
            failure = exc
        else:
            failure = None
    if failure is not None:
        raise RuntimeError(f"{failure}\n{''.join(err)[-4000:]}".strip()) from failure
    ptx_files = [Path(p) for p in paths if str(p).endswith(".ptx")]
    if not ptx_files:
        raise RuntimeError(f"NVRTC produced no PTX file for module {module.name!r} (got {paths})")
    return ptx_files[0].read_text()


# ---------------------------------------------------------------------------------------------- launching
@dataclass(frozen=True)
class ValueLayout:
    """How to build a value of a Warp type from numbers.

    ``shape`` is the component shape (``()`` for scalars, ``(3,)`` for vec3, ``(3, 3)`` for mat33);
    ``fields`` lists a struct's fields (then ``shape`` is ``()`` and ``is_int`` is false).
    """

    dtype: Any
    shape: tuple[int, ...]
    is_int: bool
    is_unsigned: bool
    fields: tuple[tuple[str, ValueLayout], ...] = ()

    @property
    def is_struct(self) -> bool:
        return bool(self.fields)


@dataclass(frozen=True)
class ArgSpec:
    """A kernel argument as validation sees it: an array of ``ndim`` dimensions or a by-value value."""

    name: str
    is_array: bool
    ndim: int
    layout: ValueLayout


def value_layout(dtype: Any) -> ValueLayout:
    if isinstance(dtype, wp_codegen.Struct):
        fields = tuple((name, value_layout(var.type)) for name, var in dtype.vars.items())
        return ValueLayout(dtype, (), False, False, fields)
    scalar = wp_types.type_scalar_type(dtype)
    shape = tuple(getattr(dtype, "_shape_", ()))
    is_int = wp_types.type_is_int(scalar)
    return ValueLayout(dtype, shape, is_int, is_int and scalar.__name__.startswith("uint"))


def kernel_args(kernel: Any) -> list[ArgSpec]:
    specs = []
    for arg in kernel.adj.args:
        t = arg.type
        is_array = wp_types.is_array(t)
        dtype = t.dtype if is_array else t
        specs.append(ArgSpec(arg.label, is_array, t.ndim if is_array else 0, value_layout(dtype)))
    return specs
