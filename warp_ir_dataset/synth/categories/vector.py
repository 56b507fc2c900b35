from __future__ import annotations

from ..category import register_category
from ..types import FLOAT, MAT22, MAT33, QUAT, VEC2, VEC3, VEC4
from ..writer import KernelWriter
from .common import Vocabulary, declare_inputs, param, store, straight_line

VOCABULARY = Vocabulary(
    inputs={
        "vec3": (
            ("positions", "pos"),
            ("velocities", "vel"),
            ("normals", "normal"),
            ("directions", "dir"),
            ("targets", "target"),
            ("forces", "force"),
        ),
        "mat33": (("rotations", "rot"), ("frames", "frame"), ("strains", "strain")),
        "quat": (("orientations", "orient"), ("spins", "spin")),
        "float": (("masses", "mass"), ("lengths", "length"), ("speeds", "speed")),
        "vec2": (("uvs", "uv"), ("coords", "coord")),
        "vec4": (("colors", "color"), ("planes", "plane")),
    },
    params={"float": ("scale", "dt", "stiffness"), "vec3": ("gravity", "axis", "origin")},
    outputs={
        "vec3": ("out_dir", "moved", "forces_out"),
        "float": ("lengths_out", "energy", "alignment"),
        "mat33": ("out_frames", "tensors_out"),
        "quat": ("out_orient",),
    },
)


@register_category("vector", groups={"arith", "vector"})
def vector(w: KernelWriter) -> None:
    """Vector, matrix and quaternion algebra: dot/cross/normalize, mat-vec products, outer, quat rotation."""
    rng = w.rng
    VOCABULARY.apply(w)
    declare_inputs(w, VOCABULARY, (VEC3, VEC3, MAT33, QUAT, FLOAT, VEC2, VEC4))
    if rng.random() < 0.5:
        param(w, VOCABULARY, rng.choice((FLOAT, FLOAT, VEC3)))
    w.add_helpers((VEC3, FLOAT, MAT33))
    straight_line(w, (VEC3, VEC3, FLOAT, MAT33, QUAT, VEC2, VEC4, MAT22))
    store(w, VOCABULARY, rng.choice((VEC3, VEC3, FLOAT, MAT33, QUAT)))
    if rng.random() < 0.4:
        store(w, VOCABULARY, FLOAT)
