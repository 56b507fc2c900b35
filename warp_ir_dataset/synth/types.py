"""The Warp value types the generator writes programs over, and how to spell their literals."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class WarpType:
    """A Warp value type as the generator sees it.

    Attributes:
        name: short name used in production tables (``"float"``, ``"vec3"``, ...).
        annotation: how the type is written in a kernel signature (``"float"``, ``"wp.vec3"``).
        length: number of scalar components (1 for scalars), used for component access.
    """

    name: str
    annotation: str
    length: int = 1

    @property
    def is_scalar(self) -> bool:
        return self.length == 1 and self.name != "bool"


FLOAT = WarpType("float", "float")
INT = WarpType("int", "int")
BOOL = WarpType("bool", "bool")
VEC2 = WarpType("vec2", "wp.vec2", 2)
VEC3 = WarpType("vec3", "wp.vec3", 3)
VEC4 = WarpType("vec4", "wp.vec4", 4)
MAT22 = WarpType("mat22", "wp.mat22", 4)
MAT33 = WarpType("mat33", "wp.mat33", 9)
QUAT = WarpType("quat", "wp.quat", 4)
MAT44 = WarpType("mat44", "wp.mat44", 16)
TRANSFORM = WarpType("transform", "wp.transform", 7)
SPATIAL = WarpType("spatial_vector", "wp.spatial_vector", 6)
FLOAT64 = WarpType("float64", "wp.float64")
INT64 = WarpType("int64", "wp.int64")
UINT32 = WarpType("uint32", "wp.uint32")
VEC2I = WarpType("vec2i", "wp.vec2i", 2)
VEC3I = WarpType("vec3i", "wp.vec3i", 3)
UINT64 = WarpType("uint64", "wp.uint64")  # ids of meshes, BVHs and hash grids

TYPES: dict[str, WarpType] = {
    t.name: t
    for t in (
        FLOAT,
        INT,
        BOOL,
        VEC2,
        VEC3,
        VEC4,
        MAT22,
        MAT33,
        QUAT,
        MAT44,
        TRANSFORM,
        SPATIAL,
        FLOAT64,
        INT64,
        UINT32,
        VEC2I,
        VEC3I,
        UINT64,
    )
}

#: Types that may be stored in arrays (kernel inputs and outputs).
ARRAY_TYPES = (FLOAT, INT, VEC2, VEC3, VEC4, MAT22, MAT33, QUAT, MAT44, TRANSFORM, SPATIAL, FLOAT64, INT64, UINT32)


def float_literal(rng: random.Random, low: float = -2.0, high: float = 2.0) -> str:
    """A short float literal such as ``0.75`` or ``-1.5`` (always with a decimal point)."""
    span = max(abs(low), abs(high))
    digits = 2 if span >= 0.1 or span == 0 else 1 - math.floor(math.log10(span))  # 0.0125 in [0.001, 0.02], not 0.01
    value = round(rng.uniform(low, high), digits)
    if value == 0.0:  # a literal zero reads as a mistake: the nearest end of the range that is not zero
        value = round(high if high != 0.0 else low, digits)
    text = f"{value:.{digits}f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def int_literal(rng: random.Random, low: int = 1, high: int = 9) -> str:
    return str(rng.randint(low, high))


#: Types with a literal form (a constant such as ``wp.vec3(0.5, -1.0, 0.25)``). Booleans have none: a condition
#: on constants is decided before the kernel runs.
_LITERAL_TYPES = frozenset(
    {
        "float",
        "int",
        "vec2",
        "vec3",
        "vec4",
        "mat22",
        "mat33",
        "quat",
        "mat44",
        "transform",
        "spatial_vector",
        "float64",
        "int64",
        "uint32",
        "vec2i",
        "vec3i",
    }
)


def has_literal(t: WarpType) -> bool:
    return t.name in _LITERAL_TYPES


def unit_quat_literal(rng: random.Random) -> str:
    """A unit quaternion written out as numbers (``wp.quat(x, y, z, w)``), rotation about a random axis."""
    axis = [rng.uniform(0.1, 1.0) for _ in range(3)]
    norm = math.sqrt(sum(a * a for a in axis))
    angle = rng.uniform(-3.0, 3.0)
    s = math.sin(angle / 2) / norm
    parts = [a * s for a in axis] + [math.cos(angle / 2)]
    return f"wp.quat({', '.join(_fixed(p, 4) for p in parts)})"


def unit_vec_literal(rng: random.Random, low: float = -1.0, high: float = 1.0) -> str:
    """A unit vector written out as numbers (``wp.vec3(0.267, 0.535, 0.802)``)."""
    while True:
        v = [rng.uniform(low, high) for _ in range(3)]
        norm = math.sqrt(sum(a * a for a in v))
        if norm > 1e-3:
            return f"wp.vec3({', '.join(_fixed(a / norm, 3) for a in v)})"


def _fixed(value: float, digits: int) -> str:
    text = f"{value:.{digits}f}".rstrip("0")
    text = text + "0" if text.endswith(".") else text
    return "0.0" if text in ("-0.0", "0.0") else text


def literal(t: WarpType, rng: random.Random) -> str:
    """A constant of type ``t`` (numbers and constructors only, never an operation)."""
    if t is FLOAT:
        return float_literal(rng)
    if t is INT:
        return int_literal(rng)
    if t in (VEC2, VEC3, VEC4):
        return f"{t.annotation}({', '.join(float_literal(rng) for _ in range(t.length))})"
    if t is MAT22:
        return f"wp.mat22({', '.join(float_literal(rng) for _ in range(4))})"
    if t is MAT33:
        if rng.random() < 0.3:
            return "wp.identity(n=3, dtype=float)"
        return f"wp.mat33({', '.join(float_literal(rng) for _ in range(9))})"
    if t is QUAT:
        return unit_quat_literal(rng)
    if t is MAT44:
        if rng.random() < 0.3:
            return "wp.identity(n=4, dtype=float)"
        return f"wp.mat44({', '.join(float_literal(rng) for _ in range(16))})"
    if t is TRANSFORM:
        return f"wp.transform({literal(VEC3, rng)}, {literal(QUAT, rng)})"
    if t is SPATIAL:
        return f"wp.spatial_vector({', '.join(float_literal(rng) for _ in range(6))})"
    if t is FLOAT64:
        return f"wp.float64({float_literal(rng)})"
    if t is INT64:
        return f"wp.int64({int_literal(rng)})"
    if t is UINT32:
        return f"wp.uint32({int_literal(rng)})"
    if t in (VEC2I, VEC3I):
        return f"{t.annotation}({', '.join(int_literal(rng) for _ in range(t.length))})"
    raise ValueError(f"no literal form for type {t.name!r}")
