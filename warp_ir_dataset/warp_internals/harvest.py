"""Kernels in imported code: Warp's module registry, generic overloads, what a kernel uses, building a module
that holds kernels someone else wrote (a kernel that fails is found by halving and left out)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import warp as wp
import warp._src.codegen as wp_codegen
import warp._src.context as wp_context
import warp._src.types as wp_types

from ..errors import KernelBuildError
from .build import compile_cpu
from .kernels import is_kernel


def registered_kernels() -> dict[tuple[str, str], Any]:
    """Every kernel in Warp's module registry, keyed by ``(module name, kernel key)``."""
    return {
        (name, key): kernel
        for name, module in list(wp_context.user_modules.items())
        for key, kernel in list(module.kernels.items())
    }


@dataclass(frozen=True)
class FoundKernel:
    """One concrete kernel: a plain kernel, or one overload of a generic kernel (``overload`` is then the
    argument types, by name)."""

    kernel: Any
    generic: Any | None = None
    overload: tuple[tuple[str, Any], ...] | None = None

    @property
    def module_name(self) -> str:
        return self.kernel.module.name

    @property
    def func(self) -> Any:
        return (self.generic or self.kernel).func

    @property
    def origin(self) -> str:
        """``module:qualname:line`` of the Python function (its Warp module's name, which is the public one)."""
        func = self.func
        return f"{self.module_name}:{func.__qualname__}:{func.__code__.co_firstlineno}"


def concrete_kernels(kernel: Any) -> list[FoundKernel]:
    """``kernel`` itself, or each overload of a generic kernel (in Warp's order of their signatures);
    a generic kernel without overloads has none."""
    if not is_kernel(kernel):
        return []
    if not kernel.is_generic:
        return [FoundKernel(kernel)]
    found = []
    for signature in sorted(kernel.overloads):
        overload = kernel.overloads[signature]
        found.append(FoundKernel(overload, kernel, tuple((arg.label, arg.type) for arg in overload.adj.args)))
    return found


def kernel_dependencies(kernel: Any) -> tuple[list[Any], list[Any]]:
    """The Python functions (``@wp.func``s, each once) and ``@wp.struct`` classes the kernel uses, in the order
    Warp's code generator emits them (dependencies first)."""
    options = kernel.module.resolve_options(wp.config)
    builder = wp_context.ModuleBuilder(
        kernel.module, options | {"output_arch": None}, hasher=wp_context.ModuleHasher([kernel], options)
    )
    functions: list[Any] = []
    for function in builder.functions:
        func = getattr(function, "func", None)
        if func is not None and func not in functions:
            functions.append(func)
    return functions, [struct.cls for struct in builder.structs]


def python_function(obj: Any) -> Any | None:
    """The Python function behind a ``@wp.func`` or ``@wp.kernel`` object, else ``None``."""
    if isinstance(obj, wp_context.Function | wp_context.Kernel):
        return obj.func
    return None


def struct_class(obj: Any) -> Any | None:
    """The Python class behind a ``@wp.struct``, else ``None``."""
    return obj.cls if isinstance(obj, wp_codegen.Struct) else None


def type_expression(t: Any) -> str | None:
    """Python text that builds the Warp type ``t`` (``wp.float32``, ``wp.vec3f``, ``wp.array(dtype=wp.vec3f,
    ndim=2)``, a struct's class name), or ``None`` if there is no plain spelling of it."""
    if isinstance(t, wp_codegen.Struct):
        return t.cls.__name__
    if t in (int, float, bool):
        return t.__name__
    if wp_types.is_array(t):
        if (getattr(type(t), "_concrete_cls", None) or type(t)) is not wp_types.array:  # wp.array[...] too
            return None
        dtype = type_expression(t.dtype)
        if dtype is None:
            return None
        return f"wp.array(dtype={dtype})" if t.ndim == 1 else f"wp.array(dtype={dtype}, ndim={t.ndim})"
    name = getattr(t, "__name__", None)
    if name and getattr(wp, name, None) is t:
        return f"wp.{name}"
    scalar = type_expression(getattr(t, "_wp_scalar_type_", None)) if hasattr(t, "_wp_scalar_type_") else None
    if scalar is None:
        return None
    if wp_types.type_is_quaternion(t):
        return f"wp.types.quaternion(dtype={scalar})"
    if wp_types.type_is_transformation(t):
        return f"wp.types.transformation(dtype={scalar})"
    if wp_types.type_is_vector(t):  # a vector type made with wp.types.vector (vec5, vec2h, ...)
        return f"wp.types.vector(length={t._length_}, dtype={scalar})"
    if wp_types.type_is_matrix(t):
        return f"wp.types.matrix(shape={tuple(t._shape_)}, dtype={scalar})"
    return None


def constant_expression(value: Any) -> str | None:
    """Python text for a constant a kernel reads (a number, or a Warp vector, matrix or quaternion), or ``None``."""
    if isinstance(value, bool | int | float):
        return repr(value)
    cls = type(value)
    name = getattr(cls, "__name__", None)
    if wp_types.type_is_vector(cls) or wp_types.type_is_matrix(cls) or wp_types.type_is_quaternion(cls):
        if name and getattr(wp, name, None) is cls:
            components = ", ".join(repr(float(x)) if isinstance(x, float) else repr(x) for x in _flat(value))
            return f"wp.{name}({components})"
    return None


def _flat(value: Any) -> Iterable[Any]:
    for item in value:
        if wp_types.type_is_vector(type(item)):
            yield from item
        else:
            yield item


def compile_kernels(module: Any, optimization_level: int | None = 0) -> dict[str, KernelBuildError]:
    """Compile ``module`` for the CPU with every kernel it holds; if Clang fails, find the kernels at fault by
    compiling halves, drop them from the module and compile the rest. Return the failures by kernel key (a
    dropped kernel cannot be launched; the others can)."""
    try:
        compile_cpu(module, optimization_level)
        return {}
    except KernelBuildError:
        pass
    kernels = dict(module.kernels)
    failures: dict[str, KernelBuildError] = {}

    def compiles(keys: list[str]) -> bool:
        module.kernels.clear()
        module.kernels.update({key: kernels[key] for key in keys})
        module.mark_modified()
        try:
            compile_cpu(module, optimization_level)
            return True
        except KernelBuildError as exc:
            if len(keys) == 1:
                failures[keys[0]] = exc
            return False

    def search(keys: list[str]) -> None:
        if compiles(keys) or len(keys) == 1:
            return
        half = len(keys) // 2
        search(keys[:half])
        search(keys[half:])

    search(sorted(kernels))
    good = [key for key in kernels if key not in failures]
    module.kernels.clear()
    module.kernels.update({key: kernels[key] for key in good})
    module.mark_modified()
    if good:
        compile_cpu(module, optimization_level)  # leave the module loaded, with the kernels that compile
    return failures
