"""Kernel arguments as validation sees them: arrays of some dimension, or by-value scalars, vectors,
matrices and structs, each with the layout needed to build it from numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import warp._src.codegen as wp_codegen
import warp._src.types as wp_types


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

    @property
    def is_float(self) -> bool:
        """Floating-point numbers (scalar, vector or matrix): what a gradient check can perturb."""
        return not self.is_int and not self.is_struct


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


def kernel_args(kernel: Any) -> tuple[ArgSpec, ...]:
    """The kernel's arguments, in order."""
    specs = []
    for arg in kernel.adj.args:
        t = arg.type
        is_array = wp_types.is_array(t)
        dtype = t.dtype if is_array else t
        specs.append(ArgSpec(arg.label, is_array, t.ndim if is_array else 0, value_layout(dtype)))
    return tuple(specs)
