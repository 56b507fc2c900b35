"""Typed expression generation from a table of Warp operations.

Every production states the type it returns and the types of its operands, so a generated expression
is well-typed by construction. Productions belong to *groups*; a category enables the groups it is
about (its palette). Operations that could overflow or leave their domain are written in a guarded form
(``wp.exp(wp.clamp(x, -4.0, 4.0))``, ``x / (1.0 + wp.abs(y))``) so that kernels launched on random
inputs produce finite outputs.

The generator writes code that computes something:

- every operation has at least one operand that is not a literal, and an operand the template wraps in
  an operation of its own (``wp.clamp({0}, -1.0, 1.0)``) is never a literal, so no operation has only
  literal operands (a constant such as ``wp.vec3(0.0, 1.0, 0.0)`` is a leaf, not an operation);
- two operands of one operation are never the same expression unless the production allows it
  (``x * x`` and ``wp.dot(v, v)`` do, ``p - p`` and ``wp.min(a, a)`` do not);
- it can be asked to *consume* given variables (values nothing has read yet): the expression then reads
  at least one of them, routed through operations from its type to the requested one.
"""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

from ..dataflow import operands, self_cancelling
from . import magnitude
from .types import BOOL, FLOAT, INT, MAT22, MAT33, QUAT, VEC2, VEC3, VEC4, WarpType, has_literal, literal

T = TypeVar("T")


@dataclass(frozen=True)
class Production:
    """One way to build an expression of type ``result`` from operands of types ``operands``.

    ``template`` uses ``{0}``, ``{1}``, ... for the operands and ``{k}`` for a small random component index.
    ``names`` are what a local holding the result may be called (first unused wins); ``same_ok`` allows
    two operands to be the same expression (``x * x``).
    """

    result: WarpType
    template: str
    operands: tuple[WarpType, ...]
    group: str
    weight: float = 1.0
    names: tuple[str, ...] = ()
    same_ok: bool = False

    @cached_property
    def signature(self) -> tuple:
        """What reachability depends on: the result and operand types, and which operands must read a variable."""
        return (self.result.name, tuple(op.name for op in self.operands), self.wrapped)

    @cached_property
    def wrapped(self) -> frozenset[int]:
        """Operand positions the template puts inside an operation of its own (they must not be literals)."""
        text = self.template.replace("{k}", "0")
        for n in range(len(self.operands)):
            text = text.replace(f"{{{n}}}", f"_op{n}")
        try:
            tree = ast.parse(text, mode="eval").body
        except SyntaxError:
            return frozenset(range(len(self.operands)))
        while isinstance(tree, ast.Expr):
            tree = tree.value
        direct = {n.id for n in operands(tree, index=False) if isinstance(n, ast.Name)}
        return frozenset(n for n in range(len(self.operands)) if f"_op{n}" not in direct)


def _p(
    result: WarpType,
    template: str,
    operands: tuple[WarpType, ...],
    group: str,
    weight: float = 1.0,
    names: tuple[str, ...] = (),
    same_ok: bool = False,
) -> Production:
    return Production(result, template, operands, group, weight, names, same_ok)


F, I, B = FLOAT, INT, BOOL
_SUM = ("total", "combined", "sum")
_DIFF = ("diff", "delta", "gap")
_SCALED = ("scaled", "weighted", "product")
_BOUND = ("clamped", "limited", "bounded")
_ANGLE = ("angle", "theta", "heading")
_WAVE = ("wave", "oscillation", "phase_term")
_OFFSET = ("offset", "displacement", "shift")

PRODUCTIONS: tuple[Production, ...] = (
    # --- float arithmetic
    _p(F, "({0} + {1})", (F, F), "arith", 3, _SUM),
    _p(F, "({0} - {1})", (F, F), "arith", 3, _DIFF),
    _p(F, "({0} * {1})", (F, F), "arith", 3, _SCALED, same_ok=True),
    _p(F, "({0} / (1.0 + wp.abs({1})))", (F, F), "arith", 1, ("ratio", "normalized", "damped")),
    _p(F, "(-{0})", (F,), "arith", 0.5, ("negated", "flipped")),
    _p(F, "wp.abs({0})", (F,), "arith", 1, ("magnitude", "size")),
    _p(F, "wp.min({0}, {1})", (F, F), "arith", 1, ("lower", "smallest", "nearest")),
    _p(F, "wp.max({0}, {1})", (F, F), "arith", 1, ("upper", "largest", "peak")),
    _p(F, "wp.clamp({0}, -1.0, 1.0)", (F,), "arith", 1, _BOUND),
    _p(F, "wp.floor({0})", (F,), "arith", 0.5, ("cell", "floored")),
    _p(F, "wp.ceil({0})", (F,), "arith", 0.5, ("ceiled", "upper_cell")),
    _p(F, "wp.sign({0})", (F,), "arith", 0.5, ("side", "polarity")),
    _p(F, "wp.lerp({0}, {1}, 0.25)", (F, F), "arith", 0.5, ("blend", "mixed")),
    _p(F, "wp.mod({0}, 1.5)", (F,), "arith", 0.5, ("wrapped", "cycle")),
    _p(F, "wp.frac({0})", (F,), "arith", 0.3, ("fraction", "frac_part")),
    _p(F, "wp.trunc({0})", (F,), "arith", 0.3, ("whole", "truncated")),
    _p(F, "wp.round({0})", (F,), "arith", 0.3, ("rounded", "snapped")),
    _p(F, "float({0})", (I,), "arith", 0.7, ("count_f", "as_float")),
    # --- transcendental
    _p(F, "wp.sin({0})", (F,), "trig", 2, _WAVE),
    _p(F, "wp.cos({0})", (F,), "trig", 2, ("cosine", "wave", "oscillation")),
    _p(F, "wp.tan(wp.clamp({0}, -1.2, 1.2))", (F,), "trig", 1, ("slope", "tangent")),
    _p(F, "wp.asin(wp.clamp({0}, -1.0, 1.0))", (F,), "trig", 1, _ANGLE),
    _p(F, "wp.acos(wp.clamp({0}, -1.0, 1.0))", (F,), "trig", 1, _ANGLE),
    _p(F, "wp.atan({0})", (F,), "trig", 1, _ANGLE),
    _p(F, "wp.atan2({0}, {1})", (F, F), "trig", 1, ("angle", "bearing", "heading")),
    _p(F, "wp.sinh(wp.clamp({0}, -3.0, 3.0))", (F,), "trig", 0.5, ("hyper_sine", "growth")),
    _p(F, "wp.cosh(wp.clamp({0}, -3.0, 3.0))", (F,), "trig", 0.5, ("catenary", "hyper_cosine")),
    _p(F, "wp.tanh({0})", (F,), "trig", 1, ("squashed", "activation", "saturated")),
    _p(F, "wp.exp(wp.clamp({0}, -4.0, 4.0))", (F,), "trig", 1, ("decay", "gain", "growth")),
    _p(F, "wp.log(1.0 + wp.abs({0}))", (F,), "trig", 1, ("log_mag", "log_scale")),
    _p(F, "wp.log2(1.0 + wp.abs({0}))", (F,), "trig", 0.5, ("octave", "bits")),
    _p(F, "wp.log10(1.0 + wp.abs({0}))", (F,), "trig", 0.5, ("decibels", "decade")),
    _p(F, "wp.sqrt(wp.abs({0}))", (F,), "trig", 1, ("root", "rms")),
    _p(F, "wp.cbrt({0})", (F,), "trig", 0.5, ("cube_root",)),
    _p(F, "wp.pow(wp.abs({0}) + 0.5, wp.clamp({1}, -2.0, 2.0))", (F, F), "trig", 1, ("powered", "response")),
    _p(F, "wp.degrees({0})", (F,), "trig", 0.3, ("degrees", "angle_deg")),
    _p(F, "wp.radians({0})", (F,), "trig", 0.3, ("radians", "angle_rad")),
    _p(F, "wp.erf({0})", (F,), "trig", 0.3, ("cdf", "error_term")),
    _p(F, "wp.smoothstep(-1.0, 1.0, {0})", (F,), "trig", 0.5, ("ramp", "smooth", "fade")),
    # --- vector / matrix / quaternion reductions to float
    _p(F, "wp.dot({0}, {1})", (VEC3, VEC3), "vector", 2, ("alignment", "projection", "cos_angle"), True),
    _p(F, "wp.length({0})", (VEC3,), "vector", 1, ("dist", "length", "speed")),
    _p(F, "wp.length_sq({0})", (VEC3,), "vector", 1, ("dist_sq", "energy", "norm_sq")),
    _p(F, "{0}[{k}]", (VEC3,), "vector", 2, ("height", "component", "axis_value")),
    _p(F, "wp.dot({0}, {1})", (VEC2, VEC2), "vector", 0.5, ("planar_dot", "alignment"), True),
    _p(F, "wp.length({0})", (VEC4,), "vector", 0.5, ("norm4", "length")),
    _p(F, "{0}[{k}]", (VEC4,), "vector", 0.5, ("channel", "component")),
    _p(F, "wp.determinant({0})", (MAT33,), "vector", 1, ("det", "volume")),
    _p(F, "wp.trace({0})", (MAT33,), "vector", 1, ("trace", "dilation")),
    _p(F, "wp.ddot({0}, {1})", (MAT33, MAT33), "vector", 0.5, ("contraction", "work"), True),
    _p(F, "wp.determinant({0})", (MAT22,), "vector", 0.5, ("area", "det2")),
    _p(F, "{0}[3]", (QUAT,), "vector", 0.5, ("real_part", "qw")),
    # --- conditional values
    _p(F, "wp.where({0}, {1}, {2})", (B, F, F), "cond", 2, ("selected", "chosen", "picked")),
    _p(F, "({1} if {0} else {2})", (B, F, F), "cond", 2, ("selected", "choice", "branch_value")),
    _p(I, "wp.where({0}, {1}, {2})", (B, I, I), "cond", 0.5, ("choice", "picked_index")),
    # --- integer arithmetic
    _p(I, "({0} + {1})", (I, I), "arith", 2, ("offset", "total", "count")),
    _p(I, "({0} - {1})", (I, I), "arith", 2, ("span", "gap", "rel_index")),
    _p(I, "({0} * {1})", (I, I), "arith", 1, ("stride", "area", "product"), True),
    _p(I, "wp.min({0}, {1})", (I, I), "arith", 1, ("first", "lower_index")),
    _p(I, "wp.max({0}, {1})", (I, I), "arith", 1, ("last", "upper_index")),
    _p(I, "wp.abs({0})", (I,), "arith", 1, ("distance", "steps")),
    _p(I, "wp.clamp({0}, -8, 8)", (I,), "arith", 1, ("capped", "clamped_index")),
    _p(I, "({0} % 7)", (I,), "arith", 1, ("bucket", "slot", "lane")),
    _p(I, "({0} & {1})", (I, I), "arith", 0.5, ("mask", "common_bits")),
    _p(I, "({0} | {1})", (I, I), "arith", 0.5, ("flags", "merged_bits")),
    _p(I, "({0} ^ {1})", (I, I), "arith", 0.5, ("toggled", "parity_bits")),
    _p(I, "int(wp.clamp({0}, -100.0, 100.0))", (F,), "arith", 0.5, ("level", "bin", "quantized")),
    # --- booleans (conditions)
    _p(B, "({0} < {1})", (F, F), "bool", 2, ("below", "inside", "is_near")),
    _p(B, "({0} > {1})", (F, F), "bool", 2, ("above", "exceeds", "is_far")),
    _p(B, "({0} >= {1})", (F, F), "bool", 1, ("reached", "at_least")),
    _p(B, "({0} == {1})", (I, I), "bool", 0.5, ("matches", "same_slot")),
    _p(B, "({0} < {1})", (I, I), "bool", 1, ("earlier", "in_range")),
    _p(B, "({0} and {1})", (B, B), "bool", 0.5, ("both", "all_ok")),
    _p(B, "({0} or {1})", (B, B), "bool", 0.5, ("either", "any_hit")),
    _p(B, "(not {0})", (B,), "bool", 0.3, ("outside", "missed")),
    # --- vectors
    _p(VEC3, "({0} + {1})", (VEC3, VEC3), "vector", 2, _OFFSET),
    _p(VEC3, "({0} - {1})", (VEC3, VEC3), "vector", 2, ("delta", "relative", "span")),
    _p(VEC3, "({0} * {1})", (VEC3, F), "vector", 2, ("scaled", "step", "impulse")),
    _p(VEC3, "({0} * {1})", (F, VEC3), "vector", 1, ("scaled", "stretched")),
    _p(VEC3, "wp.cross({0}, {1})", (VEC3, VEC3), "vector", 2, ("normal", "torque", "tangent")),
    _p(VEC3, "wp.normalize({0})", (VEC3,), "vector", 1, ("direction", "unit", "axis")),
    _p(VEC3, "(-{0})", (VEC3,), "vector", 0.5, ("reversed", "opposite")),
    _p(VEC3, "wp.cw_mul({0}, {1})", (VEC3, VEC3), "vector", 1, ("weighted", "masked_vec"), True),
    _p(VEC3, "wp.vec3({0}, {1}, {2})", (F, F, F), "vector", 1, ("packed", "point", "coords")),
    _p(VEC3, "({0} @ {1})", (MAT33, VEC3), "vector", 1.5, ("mapped", "transformed", "rotated")),
    _p(VEC3, "wp.quat_rotate({0}, {1})", (QUAT, VEC3), "vector", 1, ("rotated", "turned")),
    _p(VEC3, "wp.lerp({0}, {1}, 0.5)", (VEC3, VEC3), "vector", 0.5, ("midpoint", "blend")),
    _p(VEC3, "wp.min({0}, {1})", (VEC3, VEC3), "vector", 0.5, ("lower_corner", "box_min")),
    _p(VEC3, "wp.max({0}, {1})", (VEC3, VEC3), "vector", 0.5, ("upper_corner", "box_max")),
    _p(VEC3, "wp.where({0}, {1}, {2})", (B, VEC3, VEC3), "cond", 0.5, ("selected_vec", "chosen_dir")),
    _p(VEC2, "({0} + {1})", (VEC2, VEC2), "vector", 1, ("uv_sum", "shifted_uv")),
    _p(VEC2, "({0} * {1})", (VEC2, F), "vector", 1, ("scaled_uv", "uv")),
    _p(VEC2, "wp.vec2({0}, {1})", (F, F), "vector", 1, ("uv", "pair", "planar")),
    _p(VEC2, "({0} @ {1})", (MAT22, VEC2), "vector", 0.5, ("mapped_uv", "rotated_uv")),
    _p(VEC4, "({0} + {1})", (VEC4, VEC4), "vector", 1, ("color_sum", "combined4")),
    _p(VEC4, "({0} * {1})", (VEC4, F), "vector", 1, ("tinted", "scaled4")),
    _p(VEC4, "wp.vec4({0}, {1}, {2}, {3})", (F, F, F, F), "vector", 0.5, ("color", "packed4")),
    _p(VEC4, "wp.normalize({0})", (VEC4,), "vector", 0.5, ("unit4", "normalized4")),
    _p(MAT33, "({0} + {1})", (MAT33, MAT33), "vector", 1, ("combined", "summed_basis")),
    _p(MAT33, "({0} * {1})", (MAT33, F), "vector", 1, ("scaled_basis", "stress")),
    _p(MAT33, "({0} @ {1})", (MAT33, MAT33), "vector", 1, ("composed", "product_basis"), True),
    _p(MAT33, "wp.transpose({0})", (MAT33,), "vector", 1, ("transposed", "inverse_rotation")),
    _p(MAT33, "wp.outer({0}, {1})", (VEC3, VEC3), "vector", 1, ("covariance", "outer_product"), True),
    _p(MAT33, "wp.skew({0})", (VEC3,), "vector", 0.5, ("cross_matrix", "skew_mat")),
    _p(MAT33, "wp.diag({0})", (VEC3,), "vector", 0.5, ("scale_matrix", "diag_mat")),
    _p(MAT33, "wp.quat_to_matrix({0})", (QUAT,), "vector", 0.5, ("rotation", "frame")),
    _p(MAT22, "({0} + {1})", (MAT22, MAT22), "vector", 0.5, ("summed2", "combined2")),
    _p(MAT22, "wp.transpose({0})", (MAT22,), "vector", 0.5, ("transposed2",)),
    _p(MAT22, "wp.outer({0}, {1})", (VEC2, VEC2), "vector", 0.5, ("covariance2", "outer2"), True),
    _p(QUAT, "({0} * {1})", (QUAT, QUAT), "vector", 1, ("composed_rot", "orientation")),
    _p(QUAT, "wp.quat_inverse({0})", (QUAT,), "vector", 1, ("inverse_rot", "undo_rot")),
    _p(QUAT, "wp.normalize({0})", (QUAT,), "vector", 0.5, ("unit_rot", "orientation")),
    _p(
        QUAT,
        "wp.quat_from_axis_angle(wp.normalize({0} + wp.vec3(0.0, 0.0, 1.5)), {1})",
        (VEC3, F),
        "vector",
        1,
        ("spin", "rotation"),
    ),
)

#: Reachability tables shared by every generator in the process, by (production signatures, scope types).
_TABLES: dict[tuple, tuple[dict, dict, dict]] = {}

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
        self.last_names: tuple[str, ...] = ()  # names of the operation at the root of the last expression
        self.last_magnitude = 0.0  # magnitude estimate (bits) of the last expression
        self.magnitudes: Mapping[str, float] = {}  # estimates of the variables expressions read
        self.calls: dict[str, magnitude.Rule] = {}  # estimate rules of this kernel's helpers
        self._signatures: frozenset | None = None
        enabled = groups | ALWAYS_ENABLED
        self._by_type: dict[str, list[Production]] = {}
        for prod in (*PRODUCTIONS, *extra):
            if prod.group in enabled:
                self._by_type.setdefault(prod.result.name, []).append(prod)

    def add(self, prod: Production) -> None:
        self._by_type.setdefault(prod.result.name, []).append(prod)
        self._signatures = None

    def remove(self, prod: Production) -> None:
        self._by_type.get(prod.result.name, []).remove(prod)
        self._signatures = None

    def _tables(self, types: frozenset[str]) -> tuple[dict, dict, dict]:
        """Reachability tables for a scope holding ``types``: they depend only on those types and on the
        productions' signatures, so kernels with the same palette share them."""
        if self._signatures is None:
            self._signatures = frozenset(p.signature for prods in self._by_type.values() for p in prods)
        key = (self._signatures, types)
        if key not in _TABLES:
            if len(_TABLES) >= 1024:
                _TABLES.clear()
            _TABLES[key] = ({}, {}, {})
        return _TABLES[key]

    def can_build(self, t: WarpType) -> bool:
        return t.name in self._by_type or has_literal(t)

    def can_read(self, t: WarpType, depth: int, scope: Mapping[str, WarpType]) -> bool:
        """Can an expression of ``t`` that reads a variable of ``scope`` be built within ``depth`` operations?"""
        return _Build(self, scope, {}, 0.0).can_var(t, depth)

    def can_operate(self, t: WarpType, depth: int, scope: Mapping[str, WarpType]) -> bool:
        """Can an operation (not a bare variable) of ``t`` over ``scope`` be built within ``depth``?"""
        return bool(_Build(self, scope, {}, 0.0)._productions(t, depth, None))

    def can_route(self, t: WarpType, source: WarpType, depth: int) -> bool:
        """Can an expression of ``t`` read a variable of type ``source`` within ``depth`` operations?"""
        return _Build(self, {"_source": source}, {}, 0.0).can_route(t, source, depth)

    def productions(self, t: WarpType) -> list[Production]:
        return list(self._by_type.get(t.name, ()))

    def expr(
        self,
        t: WarpType,
        depth: int,
        scope: Mapping[str, WarpType],
        leaf_bias: float = 0.3,
        *,
        consume: Sequence[str] = (),
        prefer: Mapping[str, float] | None = None,
        operation: bool = False,
    ) -> str:
        """An expression of type ``t`` at most ``depth`` operations deep over the variables in ``scope``.

        It reads at least one variable (a literal only if nothing in scope can make a ``t``): with ``consume``,
        the first of those names whose type can reach ``t`` within ``depth``. ``prefer`` weighs variables
        (default: the least read so far first). With ``operation`` the root is an operation, not a variable.
        """
        text = self._build(t, depth, scope, leaf_bias, consume, prefer, operation)
        return _SIGNS.sub(lambda m: "- " if m.group(1) == "+" else "+ ", text)  # x + -0.5 reads as x - 0.5

    def _build(
        self,
        t: WarpType,
        depth: int,
        scope: Mapping[str, WarpType],
        leaf_bias: float,
        consume: Sequence[str],
        prefer: Mapping[str, float] | None,
        operation: bool,
    ) -> str:
        build = _Build(self, scope, prefer or {}, leaf_bias)
        self.last_names = ()
        for name in consume:
            if name in scope and build.can_route(t, scope[name], depth):
                text = build.gen(t, depth, need=name, const_ok=False, root=operation)
                if text is not None:
                    self.last_magnitude = build.magnitude[text]
                    return text
        if build.can_var(t, depth):
            for _ in range(3):
                text = build.gen(t, depth, need=None, const_ok=False, root=operation)
                if text is not None:
                    self.last_magnitude = build.magnitude[text]
                    return text
        if has_literal(t):
            self.last_magnitude = 1.0
            return literal(t, self.rng)
        raise ValueError(f"no expression of type {t.name!r} can be built from {sorted(scope)}")

    def _pick_variable(self, names: list[str], prefer: Mapping[str, float]) -> str:
        # favour variables read least so far (and those the caller prefers): more data flow between statements
        name = _weighted_choice(self.rng, names, lambda n: prefer.get(n, 1.0) / (1 + self.uses.get(n, 0)) ** 2)
        self.uses[name] = self.uses.get(name, 0) + 1
        return name


class _Build:
    """One expression's construction: reachability tables over the scope it reads."""

    def __init__(
        self, owner: ExpressionGenerator, scope: Mapping[str, WarpType], prefer: Mapping[str, float], leaf_bias: float
    ):
        self.owner = owner
        self.scope = scope
        self.prefer = prefer
        self.leaf_bias = leaf_bias
        # reachability depends only on which types are in scope and on the productions: shared between builds
        self._var_memo, self._route_memo, self._slot_memo = owner._tables(frozenset(t.name for t in scope.values()))
        self.magnitude: dict[str, float] = {}  # estimate (bits) of every expression built
        self.by_type: dict[str, list[str]] = {}
        for name, t in sorted(scope.items()):
            self.by_type.setdefault(t.name, []).append(name)

    # ---------------------------------------------------------------- reachability
    def can_var(self, t: WarpType, depth: int) -> bool:
        """Can an expression of ``t`` reading a variable be built within ``depth`` operations?"""
        key = (t.name, depth)
        if key not in self._var_memo:
            self._var_memo[key] = False  # guards recursion through the same (type, depth)
            self._var_memo[key] = bool(self.by_type.get(t.name)) or (
                depth > 0 and any(self._carrier_slots(p, depth) for p in self.owner._by_type.get(t.name, ()))
            )
        return self._var_memo[key]

    def can_route(self, t: WarpType, source: WarpType, depth: int) -> bool:
        """Can an expression of ``t`` that reads a variable of type ``source`` be built within ``depth``?"""
        if t.name == source.name:
            return True
        key = (t.name, source.name, depth)
        if key not in self._route_memo:
            self._route_memo[key] = False
            self._route_memo[key] = depth > 0 and any(
                self._route_slots(p, source, depth) for p in self.owner._by_type.get(t.name, ())
            )
        return self._route_memo[key]

    def _fillable(self, prod: Production, slot: int, depth: int, carrier: int) -> bool:
        t = prod.operands[slot]
        if slot == carrier:
            return True
        if slot in prod.wrapped or not has_literal(t):
            return self.can_var(t, depth - 1)
        return True

    def _carrier_slots(self, prod: Production, depth: int) -> list[int]:
        key = (prod.signature, depth)
        if key not in self._slot_memo:
            self._slot_memo[key] = [
                s
                for s, op in enumerate(prod.operands)
                if self.can_var(op, depth - 1)
                and all(self._fillable(prod, o, depth, s) for o in range(len(prod.operands)))
            ]
        return self._slot_memo[key]

    def _route_slots(self, prod: Production, source: WarpType, depth: int) -> list[int]:
        key = (prod.signature, source.name, depth)
        if key not in self._slot_memo:
            self._slot_memo[key] = [
                s
                for s, op in enumerate(prod.operands)
                if self.can_route(op, source, depth - 1)
                and all(self._fillable(prod, o, depth, s) for o in range(len(prod.operands)))
            ]
        return self._slot_memo[key]

    # ---------------------------------------------------------------- construction
    def gen(self, t: WarpType, depth: int, need: str | None, const_ok: bool, root: bool = False) -> str | None:
        """An expression of ``t`` (reading ``need`` if given; not a literal unless ``const_ok``); with ``root``,
        an operation (its names become ``last_names``)."""
        rng = self.owner.rng
        names = self.by_type.get(t.name, [])
        if root:
            prods = self._productions(t, depth, need)
            for _ in range(3 if prods else 0):
                prod = _weighted_choice(rng, prods, lambda p: p.weight)
                text = self._apply(prod, depth, need)
                if text is not None:
                    self.owner.last_names = prod.names
                    return text
            return None
        if need is not None and self.scope[need].name == t.name:
            if depth <= 0 or rng.random() < 0.5 or not self._productions(t, depth, need):
                self.owner.uses[need] = self.owner.uses.get(need, 0) + 1
                return self._leaf(need)
        elif need is None and (depth <= 0 or rng.random() < self.leaf_bias):
            if names and (not const_ok or not has_literal(t) or rng.random() < 0.85):
                return self._leaf(self.owner._pick_variable(names, self.prefer))
            if const_ok and has_literal(t):
                return self._literal(t)
            if depth <= 0:
                return None
        prods = self._productions(t, depth, need)
        for _ in range(3 if prods else 0):
            prod = _weighted_choice(rng, prods, lambda p: p.weight)
            text = self._apply(prod, depth, need)
            if text is not None:
                return text
        if need is None and names:
            return self._leaf(self.owner._pick_variable(names, self.prefer))
        if need is None and const_ok and has_literal(t):
            return self._literal(t)
        return None

    def _leaf(self, name: str) -> str:
        self.magnitude[name] = self.owner.magnitudes.get(name, magnitude.UNKNOWN)
        return name

    def _literal(self, t: WarpType) -> str:
        text = literal(t, self.owner.rng)
        self.magnitude[text] = magnitude.of_text(text, {})
        return text

    def _productions(self, t: WarpType, depth: int, need: str | None) -> list[Production]:
        """The productions of ``t`` that can be built within ``depth`` (reading ``need``, if given)."""
        if depth <= 0:
            return []
        source = self.scope[need] if need is not None else None
        key = ("productions", t.name, depth, source.name if source else None)
        prods = self.owner._by_type.get(t.name, ())
        if key not in self._slot_memo:  # shared between kernels: keep signatures, never another kernel's helpers
            if source is not None:
                self._slot_memo[key] = {p.signature for p in prods if self._route_slots(p, source, depth)}
            else:
                self._slot_memo[key] = {p.signature for p in prods if self._carrier_slots(p, depth)}
        return [p for p in prods if p.signature in self._slot_memo[key]]

    def _apply(self, prod: Production, depth: int, need: str | None) -> str | None:
        rng = self.owner.rng
        slots = self._route_slots(prod, self.scope[need], depth) if need else self._carrier_slots(prod, depth)
        carrier = rng.choice(slots)
        operands: list[str | None] = [None] * len(prod.operands)
        operands[carrier] = self.gen_slot(prod.operands[carrier], depth - 1, need, False)
        if operands[carrier] is None:
            return None
        for slot, op in enumerate(prod.operands):
            if slot == carrier:
                continue
            const_ok = slot not in prod.wrapped
            for _ in range(3):
                text = self.gen(op, depth - 1, None, const_ok)
                if text is None:
                    return None
                if prod.same_ok or text not in operands:
                    break
            else:
                return None
            operands[slot] = text
        sizes = [self.magnitude.get(o, magnitude.UNKNOWN) for o in operands]
        size = magnitude.of_template(prod.template, sizes, self.owner.calls)
        if size > magnitude.LIMIT and prod.result.name in _FLOATING:
            return None  # would overflow soon: build something else
        width = prod.operands[0].length if prod.operands else 1
        text = prod.template.format(*operands, k=rng.randrange(max(1, min(width, 3))))
        text = _SIGNS.sub(lambda m: "- " if m.group(1) == "+" else "+ ", text)  # x + -0.5 reads as x - 0.5
        if any(isinstance(n, ast.expr) and self_cancelling(n) for n in ast.walk(ast.parse(text, mode="eval"))):
            return None  # (a + b) - b, q * wp.quat_inverse(q), (a < b) and (a > b): build something else
        self.magnitude[text] = size
        return text

    def gen_slot(self, t: WarpType, depth: int, need: str | None, const_ok: bool) -> str | None:
        return self.gen(t, depth, need, const_ok)


#: A binary plus or minus followed by a negative number literal.
_SIGNS = re.compile(r"([+-]) -(?=\d)")

#: Types whose values can overflow to infinity (integers wrap instead).
_FLOATING = frozenset(
    {"float", "float64", "vec2", "vec3", "vec4", "mat22", "mat33", "mat44", "quat", "transform", "spatial_vector"}
)


def _weighted_choice(rng: random.Random, items: Sequence[T], weight: Callable[[T], float]) -> T:
    total = sum(weight(item) for item in items)
    pick = rng.uniform(0.0, total)
    for item in items:
        pick -= weight(item)
        if pick <= 0.0:
            return item
    return items[-1]


def weighted_choice(rng: random.Random, items: Sequence[T], weight: Callable[[T], float]) -> T:
    """One of ``items`` drawn with probability proportional to ``weight(item)``."""
    return _weighted_choice(rng, items, weight)
