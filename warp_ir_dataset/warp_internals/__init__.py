"""Everything that touches Warp's private API (``warp._src``) lives in this package, and only here.

Warp's private API changes between releases; the package pins ``warp-lang`` (see ``pyproject.toml``)
and records :func:`warp_version` in every record. Other modules use the plain functions re-exported
here. Importing the package starts nothing: Warp is initialised on first use.

Modules: ``scratch`` (Warp's initialisation, the kernel cache and per-process scratch folders),
``kernels`` (loading generated source, modules, concrete kernels), ``codegen`` (one kernel's C++/CUDA),
``build`` (Clang and NVRTC), ``harvest`` (kernels in imported code, what they use), ``headers`` (Clang's
precompiled header, shared between processes) and
``arguments`` (kernel argument types, for validation).
"""

from .arguments import ArgSpec, ValueLayout, kernel_args, value_layout
from .build import capture_native_stderr, compile_cpu, compile_ptx
from .codegen import KernelCode, kernel_code
from .harvest import (
    FoundKernel,
    compile_kernels,
    concrete_kernels,
    constant_expression,
    kernel_dependencies,
    python_function,
    registered_kernels,
    struct_class,
    type_expression,
)
from .headers import (
    PCH_CACHE_ENV,
    exchange_precompiled_headers,
    is_clang_pch,
    shared_pch_dir,
    warm_up_cpu_compiler,
    warming_up,
)
from .kernels import (
    builtin_names,
    concrete_kernel,
    drop_kernel,
    forget_source,
    is_kernel,
    kernel_name,
    kernel_python_source,
    load_kernel_source,
    module_of,
    pch_dirs,
    release_module,
)
from .scratch import cuda_available, init_warp, process_scratch_dir, remove_scratch_of, scratch_dir, warp_version

__all__ = [
    "FoundKernel",
    "compile_kernels",
    "concrete_kernels",
    "constant_expression",
    "kernel_dependencies",
    "python_function",
    "registered_kernels",
    "struct_class",
    "type_expression",
    "PCH_CACHE_ENV",
    "ArgSpec",
    "KernelCode",
    "ValueLayout",
    "builtin_names",
    "capture_native_stderr",
    "compile_cpu",
    "compile_ptx",
    "concrete_kernel",
    "cuda_available",
    "drop_kernel",
    "exchange_precompiled_headers",
    "forget_source",
    "init_warp",
    "is_clang_pch",
    "is_kernel",
    "kernel_args",
    "kernel_code",
    "kernel_name",
    "kernel_python_source",
    "load_kernel_source",
    "module_of",
    "pch_dirs",
    "process_scratch_dir",
    "release_module",
    "remove_scratch_of",
    "scratch_dir",
    "shared_pch_dir",
    "value_layout",
    "warm_up_cpu_compiler",
    "warming_up",
    "warp_version",
]
