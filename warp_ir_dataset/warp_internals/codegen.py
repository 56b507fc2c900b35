"""One kernel's generated C++ and CUDA code, forward and adjoint, without compiling anything."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import warp as wp
import warp._src.codegen as wp_codegen
import warp._src.context as wp_context

from ..errors import UnsupportedWarpError
from .kernels import concrete_kernel
from .scratch import init_warp

#: Module options used to generate the recorded IR, whatever the process's Warp configuration.
_CODEGEN_OVERRIDES = {"mode": "release", "enable_backward": True}

#: Warp's own @wp.func helpers (e.g. quat_to_euler) are echoed with their file's absolute path.
WARP_PACKAGE_DIR = os.path.dirname(os.path.abspath(wp.__file__)) + os.sep


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


def kernel_code(kernel: Any) -> KernelCode:
    """Generate CPU and CUDA code (forward and adjoint) for one concrete kernel. No compiler runs.

    One backend-neutral ``ModuleBuilder`` restricted to this kernel (it builds only the kernel and the
    functions and structs it uses) serves both devices; its output equals a per-device builder's.

    Raises:
        UnsupportedWarpError: Warp's code layout is not the pinned release's.
    """
    kernel = concrete_kernel(kernel)
    init_warp()
    options = kernel.module.resolve_options(wp.config) | _CODEGEN_OVERRIDES
    # as Warp's own builders: no output architecture while building adjoints, so tile built-ins with an LTO
    # variant (tile_matmul, tile_fft, tile_cholesky, ...) take their generic code, not a MathDx call
    builder_options = options | {"output_arch": None}
    builder = wp_context.ModuleBuilder(
        kernel.module, builder_options, hasher=wp_context.ModuleHasher([kernel], options)
    )
    structs = "".join(wp_codegen.codegen_struct(struct) for struct in builder.structs)
    helpers = list(builder.functions)
    code = []
    for device in ("cpu", "cuda"):
        full = wp_codegen.codegen_kernel(kernel, device=device, options=options)
        forward = wp_codegen.codegen_kernel(kernel, device=device, options=options | {"enable_backward": False})
        if not full.startswith(forward):  # Warp's layout changed: refuse to record a wrong split
            raise UnsupportedWarpError(
                f"unexpected codegen layout for {kernel.key}: the forward kernel is not a prefix of the whole; "
                f"install the pinned warp-lang (this is {wp.config.version})"
            )
        code.append(structs + builder._codegen_functions(helpers, device, forward_only=True) + forward)
        code.append(builder._codegen_functions(helpers, device, reverse_only=True) + full[len(forward) :])
    symbol = wp_codegen.cuda_kernel_forward_name(kernel).removesuffix("_cuda_kernel_forward")
    return KernelCode(symbol, *(_portable(text) for text in code))


def _portable(code: str) -> str:
    """Code with the install location of warp-lang replaced by ``warp/``, so it is the same on every machine."""
    return code.replace(WARP_PACKAGE_DIR, "warp/")
