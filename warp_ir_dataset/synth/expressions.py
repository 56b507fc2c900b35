"""Typed expression generation from a table of Warp operations.

Every production states the type it returns and the types of its operands, so a generated
expression is well-typed by construction. Productions belong to *groups*; a category enables the
groups it is about (its palette). Operations that could overflow or leave their domain are written
in a guarded form (``wp.exp(wp.clamp(x, -4.0, 4.0))``, ``x / (1.0 + wp.abs(y))``) so that kernels
launched on random inputs produce finite outputs.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from .types import BOOL, FLOAT, INT, MAT22, MAT33, QUAT, VEC2, VEC3, VEC4, WarpType, literal

T = TypeVar("T")


@dataclass(frozen=True)
class Production:
    """One way to build an expression of type ``result`` from operands of types ``operands``.

    ``template`` uses ``{0}``, ``{1}``, ... for the operands and ``{k}`` for a small random component index.
    """

    result: WarpType
    template: str
    operands: tuple[WarpType, ...]
    group: str
    weight: float = 1.0


def _p(result: WarpType, template: str, operands: tuple[WarpType, ...], group: str, weight: float = 1.0) -> Production:
    return Production(result, template, operands, group, weight)


F, I, B = FLOAT, INT, BOOL

PRODUCTIONS: tuple[Production, ...] = (
    # --- float arithmetic
    _p(F, "({0} + {1})", (F, F), "arith", 3),
    _p(F, "({0} - {1})", (F, F), "arith", 3),
    _p(F, "({0} * {1})", (F, F), "arith", 3),
    _p(F, "({0} / (1.0 + wp.abs({1})))", (F, F), "arith"),
    _p(F, "(-{0})", (F,), "arith", 0.5),
    _p(F, "wp.abs({0})", (F,), "arith"),
    _p(F, "wp.min({0}, {1})", (F, F), "arith"),
    _p(F, "wp.max({0}, {1})", (F, F), "arith"),
    _p(F, "wp.clamp({0}, -1.0, 1.0)", (F,), "arith"),
    _p(F, "wp.floor({0})", (F,), "arith", 0.5),
    _p(F, "wp.ceil({0})", (F,), "arith", 0.5),
    _p(F, "wp.sign({0})", (F,), "arith", 0.5),
    _p(F, "wp.lerp({0}, {1}, 0.25)", (F, F), "arith", 0.5),
    _p(F, "wp.mod({0}, 1.5)", (F,), "arith", 0.5),
    _p(F, "wp.frac({0})", (F,), "arith", 0.3),
    _p(F, "wp.trunc({0})", (F,), "arith", 0.3),
    _p(F, "wp.round({0})", (F,), "arith", 0.3),
    _p(F, "float({0})", (I,), "arith", 0.7),
    # --- transcendental
    _p(F, "wp.sin({0})", (F,), "trig", 2),
    _p(F, "wp.cos({0})", (F,), "trig", 2),
    _p(F, "wp.tan(wp.clamp({0}, -1.2, 1.2))", (F,), "trig"),
    _p(F, "wp.asin(wp.clamp({0}, -1.0, 1.0))", (F,), "trig"),
    _p(F, "wp.acos(wp.clamp({0}, -1.0, 1.0))", (F,), "trig"),
    _p(F, "wp.atan({0})", (F,), "trig"),
    _p(F, "wp.atan2({0}, {1})", (F, F), "trig"),
    _p(F, "wp.sinh(wp.clamp({0}, -3.0, 3.0))", (F,), "trig", 0.5),
    _p(F, "wp.cosh(wp.clamp({0}, -3.0, 3.0))", (F,), "trig", 0.5),
    _p(F, "wp.tanh({0})", (F,), "trig"),
    _p(F, "wp.exp(wp.clamp({0}, -4.0, 4.0))", (F,), "trig"),
    _p(F, "wp.log(1.0 + wp.abs({0}))", (F,), "trig"),
    _p(F, "wp.log2(1.0 + wp.abs({0}))", (F,), "trig", 0.5),
    _p(F, "wp.log10(1.0 + wp.abs({0}))", (F,), "trig", 0.5),
    _p(F, "wp.sqrt(wp.abs({0}))", (F,), "trig"),
    _p(F, "wp.cbrt({0})", (F,), "trig", 0.5),
    _p(F, "wp.pow(wp.abs({0}) + 0.5, wp.clamp({1}, -2.0, 2.0))", (F, F), "trig"),
    _p(F, "wp.degrees({0})", (F,), "trig", 0.3),
    _p(F, "wp.radians({0})", (F,), "trig", 0.3),
    _p(F, "wp.erf({0})", (F,), "trig", 0.3),
    _p(F, "wp.smoothstep(-1.0, 1.0, {0})", (F,), "trig", 0.5),
    # --- vector / matrix / quaternion reductions to float
    _p(F, "wp.dot({0}, {1})", (VEC3, VEC3), "vector", 2),
    _p(F, "wp.length({0})", (VEC3,), "vector"),
    _p(F, "wp.length_sq({0})", (VEC3,), "vector"),
    _p(F, "{0}[{k}]", (VEC3,), "vector", 2),
    _p(F, "wp.dot({0}, {1})", (VEC2, VEC2), "vector", 0.5),
    _p(F, "wp.length({0})", (VEC4,), "vector", 0.5),
    _p(F, "{0}[{k}]", (VEC4,), "vector", 0.5),
    _p(F, "wp.determinant({0})", (MAT33,), "vector"),
    _p(F, "wp.trace({0})", (MAT33,), "vector"),
    _p(F, "wp.ddot({0}, {1})", (MAT33, MAT33), "vector", 0.5),
    _p(F, "wp.determinant({0})", (MAT22,), "vector", 0.5),
    _p(F, "{0}[3]", (QUAT,), "vector", 0.5),
    # --- conditional values
    _p(F, "wp.where({0}, {1}, {2})", (B, F, F), "cond", 2),
    _p(F, "({1} if {0} else {2})", (B, F, F), "cond", 2),
    _p(I, "wp.where({0}, {1}, {2})", (B, I, I), "cond", 0.5),
    # --- integer arithmetic
    _p(I, "({0} + {1})", (I, I), "arith", 2),
    _p(I, "({0} - {1})", (I, I), "arith", 2),
    _p(I, "({0} * {1})", (I, I), "arith"),
    _p(I, "wp.min({0}, {1})", (I, I), "arith"),
    _p(I, "wp.max({0}, {1})", (I, I), "arith"),
    _p(I, "wp.abs({0})", (I,), "arith"),
    _p(I, "wp.clamp({0}, -8, 8)", (I,), "arith"),
    _p(I, "({0} % 7)", (I,), "arith"),
    _p(I, "({0} & {1})", (I, I), "arith", 0.5),
    _p(I, "({0} | {1})", (I, I), "arith", 0.5),
    _p(I, "({0} ^ {1})", (I, I), "arith", 0.5),
    _p(I, "int(wp.clamp({0}, -100.0, 100.0))", (F,), "arith", 0.5),
    # --- booleans (conditions)
    _p(B, "({0} < {1})", (F, F), "bool", 2),
    _p(B, "({0} > {1})", (F, F), "bool", 2),
    _p(B, "({0} >= {1})", (F, F), "bool"),
    _p(B, "({0} == {1})", (I, I), "bool", 0.5),
    _p(B, "({0} < {1})", (I, I), "bool"),
    _p(B, "({0} and {1})", (B, B), "bool", 0.5),
    _p(B, "({0} or {1})", (B, B), "bool", 0.5),
    _p(B, "(not {0})", (B,), "bool", 0.3),
    # --- vectors
    _p(VEC3, "({0} + {1})", (VEC3, VEC3), "vector", 2),
    _p(VEC3, "({0} - {1})", (VEC3, VEC3), "vector", 2),
    _p(VEC3, "({0} * {1})", (VEC3, F), "vector", 2),
    _p(VEC3, "({0} * {1})", (F, VEC3), "vector"),
    _p(VEC3, "wp.cross({0}, {1})", (VEC3, VEC3), "vector", 2),
    _p(VEC3, "wp.normalize({0})", (VEC3,), "vector"),
    _p(VEC3, "(-{0})", (VEC3,), "vector", 0.5),
    _p(VEC3, "wp.cw_mul({0}, {1})", (VEC3, VEC3), "vector"),
    _p(VEC3, "wp.vec3({0}, {1}, {2})", (F, F, F), "vector"),
    _p(VEC3, "({0} @ {1})", (MAT33, VEC3), "vector", 1.5),
    _p(VEC3, "wp.quat_rotate({0}, {1})", (QUAT, VEC3), "vector"),
    _p(VEC3, "wp.lerp({0}, {1}, 0.5)", (VEC3, VEC3), "vector", 0.5),
    _p(VEC3, "wp.min({0}, {1})", (VEC3, VEC3), "vector", 0.5),
    _p(VEC3, "wp.max({0}, {1})", (VEC3, VEC3), "vector", 0.5),
    _p(VEC3, "wp.where({0}, {1}, {2})", (B, VEC3, VEC3), "cond", 0.5),
    _p(VEC2, "({0} + {1})", (VEC2, VEC2), "vector"),
    _p(VEC2, "({0} * {1})", (VEC2, F), "vector"),
    _p(VEC2, "wp.vec2({0}, {1})", (F, F), "vector"),
    _p(VEC2, "({0} @ {1})", (MAT22, VEC2), "vector", 0.5),
    _p(VEC4, "({0} + {1})", (VEC4, VEC4), "vector"),
    _p(VEC4, "({0} * {1})", (VEC4, F), "vector"),
    _p(VEC4, "wp.vec4({0}, {1}, {2}, {3})", (F, F, F, F), "vector", 0.5),
    _p(VEC4, "wp.normalize({0})", (VEC4,), "vector", 0.5),
    _p(MAT33, "({0} + {1})", (MAT33, MAT33), "vector"),
    _p(MAT33, "({0} * {1})", (MAT33, F), "vector"),
    _p(MAT33, "({0} @ {1})", (MAT33, MAT33), "vector"),
    _p(MAT33, "wp.transpose({0})", (MAT33,), "vector"),
    _p(MAT33, "wp.outer({0}, {1})", (VEC3, VEC3), "vector"),
    _p(MAT33, "wp.skew({0})", (VEC3,), "vector", 0.5),
    _p(MAT33, "wp.diag({0})", (VEC3,), "vector", 0.5),
    _p(MAT33, "wp.quat_to_matrix({0})", (QUAT,), "vector", 0.5),
    _p(MAT22, "({0} + {1})", (MAT22, MAT22), "vector", 0.5),
    _p(MAT22, "wp.transpose({0})", (MAT22,), "vector", 0.5),
    _p(MAT22, "wp.outer({0}, {1})", (VEC2, VEC2), "vector", 0.5),
    _p(QUAT, "({0} * {1})", (QUAT, QUAT), "vector"),
    _p(QUAT, "wp.quat_inverse({0})", (QUAT,), "vector"),
    _p(QUAT, "wp.normalize({0})", (QUAT,), "vector", 0.5),
    _p(QUAT, "wp.quat_from_axis_angle(wp.normalize({0} + wp.vec3(0.0, 0.0, 1.5)), {1})", (VEC3, F), "vector"),
)

#: Groups that every category may use whatever its palette.
ALWAYS_ENABLED = frozenset({"bool", "helper"})


class ExpressionGenerator:
    """Writes random expressions of a requested type.

    Args:
        rng: the random source (one per kernel; never the global one).
        groups: production groups enabled for this kernel (the category's palette).
        extra: additional productions (for example calls to this kernel's ``@wp.func`` helpers).
    """

    def __init__(self, rng: random.Random, groups: frozenset[str], extra: tuple[Production, ...] = ()):
        self.rng = rng
        self.uses: dict[str, int] = {}
        enabled = groups | ALWAYS_ENABLED
        self._by_type: dict[str, list[Production]] = {}
        for prod in (*PRODUCTIONS, *extra):
            if prod.group in enabled:
                self._by_type.setdefault(prod.result.name, []).append(prod)

    def add(self, prod: Production) -> None:
        self._by_type.setdefault(prod.result.name, []).append(prod)

    def can_build(self, t: WarpType) -> bool:
        return t.name in self._by_type

    def expr(self, t: WarpType, depth: int, scope: Mapping[str, WarpType], leaf_bias: float = 0.3) -> str:
        """An expression of type ``t`` at most ``depth`` operations deep, reading variables from ``scope``."""
        rng = self.rng
        names = sorted(name for name, vt in scope.items() if vt == t)
        prods = self._by_type.get(t.name, [])
        if depth <= 0 or not prods or (names and rng.random() < leaf_bias):
            if names and (t is not FLOAT or rng.random() < 0.85):
                return self._pick_variable(names)
            return literal(t, rng)
        prod = _weighted_choice(rng, prods, lambda p: p.weight)
        operands = [self.expr(op, depth - 1, scope, leaf_bias) for op in prod.operands]
        width = prod.operands[0].length if prod.operands else 1
        return prod.template.format(*operands, k=rng.randrange(max(1, min(width, 3))))

    def _pick_variable(self, names: list[str]) -> str:
        # favour variables read least so far: fewer dead locals, more data flow between statements
        name = _weighted_choice(self.rng, names, lambda n: 1.0 / (1 + self.uses.get(n, 0)) ** 2)
        self.uses[name] = self.uses.get(name, 0) + 1
        return name


def _weighted_choice(rng: random.Random, items: list[T], weight: Callable[[T], float]) -> T:
    total = sum(weight(item) for item in items)
    pick = rng.uniform(0.0, total)
    for item in items:
        pick -= weight(item)
        if pick <= 0.0:
            return item
    return items[-1]
