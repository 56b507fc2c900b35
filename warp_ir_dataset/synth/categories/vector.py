from __future__ import annotations

from ..category import register_category
from ..types import FLOAT, MAT22, MAT33, QUAT, VEC2, VEC3, VEC4
from ..writer import KernelWriter
from .common import declare_inputs, store, straight_line


@register_category("vector", groups={"arith", "vector"})
def vector(w: KernelWriter) -> None:
    """Vector, matrix and quaternion algebra: dot/cross/normalize, mat-vec products, outer, quat rotation."""
    rng = w.rng
    declare_inputs(w, (VEC3, VEC3, MAT33, QUAT, FLOAT, VEC2, VEC4))
    if rng.random() < 0.5:
        w.param(FLOAT)
    w.add_helpers((VEC3, FLOAT, MAT33))
    straight_line(w, (VEC3, VEC3, FLOAT, MAT33, QUAT, VEC2, VEC4, MAT22))
    store(w, rng.choice((VEC3, VEC3, FLOAT, MAT33, QUAT)))
    if rng.random() < 0.4:
        store(w, FLOAT)
