"""A rough upper bound on the size of values, so that generated arithmetic stays finite.

Every value of a generated kernel reaches an output, so products of products compound: a chain of
``outer``, ``@`` and ``*`` statements overflows float32 within a few lines. The generator therefore keeps
an estimate, ``log2`` of an upper bound on each value's magnitude (inputs: 0, since validation draws them
in [-1, 1]), and does not write an operation whose estimate exceeds ``LIMIT``. The estimate is an
interpretation of the expression's syntax tree: sums add one bit, products add their operands' bits,
bounded functions (``sin``, ``tanh``, ``normalize``, ``clamp``) have fixed sizes.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from functools import lru_cache

#: Largest estimate (bits) an expression the generator writes may have: 2**24 is far from float32's limit
#: even after a further sum or product with an input.
LIMIT = 24.0
#: Estimate for a name nothing is known about.
UNKNOWN = 2.0

Rule = Callable[[list[float]], float]


def _const(bits: float) -> Rule:
    return lambda m: bits


def _max(extra: float = 0.0) -> Rule:
    return lambda m: (max(m) if m else 0.0) + extra


def _sum(extra: float = 0.0) -> Rule:
    return lambda m: sum(m) + extra


def _scale(factor: float, extra: float = 0.0) -> Rule:
    return lambda m: factor * (m[0] if m else 0.0) + extra


def _exp(m: list[float]) -> float:
    return min(2.0 ** m[0], 60.0) * 1.45 if m else 1.0


_CALLS: dict[str, Rule] = {
    # bounded whatever the argument
    **dict.fromkeys(
        "sin cos tanh erf erfc smoothstep sign step nonzero frac normalize quat_from_axis_angle quat_identity "
        "sample_unit_sphere sample_unit_sphere_surface sample_unit_hemisphere sample_unit_hemisphere_surface "
        "sample_unit_disk sample_unit_ring sample_unit_square sample_unit_cube sample_triangle noise pnoise "
        "isfinite isnan isinf smooth_normalize transform_identity identity randf randu".split(),
        _const(1.0),
    ),
    **dict.fromkeys("atan atan2 asin acos tan randn curlnoise erfinv erfcinv".split(), _const(3.0)),
    "randi": _const(31.0),
    "rand_init": _const(32.0),
    # as large as the largest argument
    **dict.fromkeys(
        "abs neg min max floor ceil round rint trunc lerp transpose skew diag get_diag vec2 vec3 vec4 vec2i vec3i "
        "mat22 mat33 mat44 quat quaternion transform transformation spatial_vector float int float32 float64 int32 "
        "int64 uint32 float16 copysign quat_inverse transform_inverse transform_get_translation "
        "transform_get_rotation spatial_top spatial_bottom matrix_from_cols matrix_from_rows cast untile tile "
        "transform_point transform_vector quat_rotate_inv_unit radians".split(),
        _max(),
    ),
    "where": lambda m: max(m[1:]) if len(m) > 1 else _max()(m),
    "select": lambda m: max(m[1:]) if len(m) > 1 else _max()(m),
    "cw_div": lambda m: m[0] if m else 0.0,
    "mod": lambda m: m[1] if len(m) > 1 else 0.0,
    "clamp": lambda m: min(m[0], max(m[1:])) if len(m) > 2 else _max()(m),
    # products
    "mul": _sum(2.0),
    "dot": _sum(2.0),
    "cross": _sum(1.0),
    "outer": _sum(),
    "cw_mul": _sum(),
    "ddot": _sum(3.0),
    "spatial_dot": _sum(3.0),
    "spatial_cross": _sum(2.0),
    "spatial_cross_dual": _sum(2.0),
    "quat_rotate": lambda m: 2 * m[0] + m[1] if len(m) > 1 else _max()(m),
    "quat_rotate_inv": lambda m: 2 * m[0] + m[1] if len(m) > 1 else _max()(m),
    "quat_to_matrix": _scale(2.0),
    "transform_multiply": _sum(1.0),
    # norms and the like
    "length": _scale(1.0, 1.0),
    "norm_l2": _scale(1.0, 1.0),
    "norm_l1": _scale(1.0, 2.0),
    "norm_huber": _scale(2.0, 2.0),
    "norm_pseudo_huber": _scale(1.0, 2.0),
    "length_sq": _scale(2.0, 2.0),
    "trace": _scale(1.0, 2.0),
    "determinant": _scale(3.0, 3.0),
    "inverse": _scale(1.0, 6.0),
    "sqrt": _scale(0.5),
    "cbrt": _scale(0.34),
    "log": lambda m: math.log2(max(2.0, m[0] + 1)) if m else 1.0,
    "log2": lambda m: math.log2(max(2.0, m[0] + 1)) if m else 1.0,
    "log10": lambda m: math.log2(max(2.0, m[0] + 1)) if m else 1.0,
    "exp": _exp,
    "sinh": _exp,
    "cosh": _exp,
    "pow": lambda m: m[0] * min(2.0 ** m[1], 8.0) if len(m) > 1 else _max()(m),
    "degrees": _scale(1.0, 6.0),
}


def _constant_bits(value: object) -> float:
    """log2 of a constant's magnitude (negative for fractions: ``x * 0.01`` is smaller than ``x``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value == 0:
        return 0.0
    return math.log2(abs(value))


def _integer(node: ast.AST) -> int | None:
    """The value of an integer literal, also when written ``wp.uint32(8)``."""
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
        node = node.args[0]
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    return None


def estimate(node: ast.AST, names: Mapping[str, float], calls: Mapping[str, Rule] | None = None) -> float:
    """``log2`` of an upper bound on the magnitude of expression ``node`` (names' bounds from ``names``; rules for
    calls to this kernel's helpers from ``calls``)."""
    calls = calls or {}
    if isinstance(node, ast.Constant):
        return _constant_bits(node.value)
    if isinstance(node, ast.Name):
        return names.get(node.id, UNKNOWN)
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id == "wp":
            return 2.0  # wp.pi and other constants
        return estimate(node.value, names, calls)  # a struct field: as large as the struct's values
    if isinstance(node, ast.UnaryOp):
        return 0.0 if isinstance(node.op, ast.Not) else estimate(node.operand, names, calls)
    if isinstance(node, (ast.Compare, ast.BoolOp)):
        return 0.0
    if isinstance(node, ast.IfExp):
        return max(estimate(node.body, names, calls), estimate(node.orelse, names, calls))
    if isinstance(node, ast.Subscript):
        return estimate(node.value, names, calls)
    if isinstance(node, (ast.Tuple, ast.List)):
        return max((estimate(e, names, calls) for e in node.elts), default=0.0)
    if isinstance(node, ast.BinOp):
        left, right = estimate(node.left, names, calls), estimate(node.right, names, calls)
        op = node.op
        if isinstance(op, (ast.Add, ast.Sub)):
            return max(left, right) + 1.0
        if isinstance(op, ast.Mult):
            return left + right
        if isinstance(op, ast.MatMult):
            return left + right + 2.0
        if isinstance(op, ast.Div):
            if isinstance(node.right, ast.Constant):
                return max(0.0, left - _constant_bits(node.right.value))
            return left  # the generator's divisions are guarded: 1 + |y|, a clamped length
        if isinstance(op, ast.FloorDiv):
            return left
        if isinstance(op, ast.Mod):
            return right
        shift = _integer(node.right)
        if isinstance(op, ast.LShift):
            return left + (shift if shift is not None else 31.0)
        if isinstance(op, ast.RShift):
            return max(0.0, left - shift) if shift is not None else left
        if isinstance(op, ast.BitAnd):
            masks = [math.log2(v + 1) for v in (_integer(node.left), shift) if v is not None and v >= 0]
            return min([left, right, *masks])
        if isinstance(op, ast.Pow):
            return 2.0 * left
        return max(left, right)  # other bit operations
    if isinstance(node, ast.Call):
        args = [estimate(a, names, calls) for a in node.args]
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        rule = calls.get(name) or _CALLS.get(name)
        if rule is not None:
            return rule(args) if args or name in _CALLS else 0.0
        return (max(args) if args else 0.0) + 1.0  # helpers and the rest: as large as their arguments, and then some
    return UNKNOWN


@lru_cache(maxsize=4096)
def _template(template: str, arity: int) -> ast.AST | None:
    text = template.replace("{k}", "0")
    for n in range(arity):
        text = text.replace(f"{{{n}}}", f"_op{n}")
    try:
        return ast.parse(text, mode="eval").body
    except SyntaxError:
        return None


def of_template(template: str, operands: list[float], calls: Mapping[str, Rule] | None = None) -> float:
    """The estimate of a production's template applied to operands of the given estimates."""
    node = _template(template, len(operands))
    if node is None:
        return max(operands, default=0.0) + 1.0
    return estimate(node, {f"_op{n}": m for n, m in enumerate(operands)}, calls)


def of_text(text: str, names: Mapping[str, float], calls: Mapping[str, Rule] | None = None) -> float:
    """The estimate of an expression written as text."""
    try:
        return estimate(ast.parse(text, mode="eval").body, names, calls)
    except SyntaxError:
        return UNKNOWN


def linear_rule(at_zero: float, at_four: float) -> Rule:
    """A call rule from a function's estimates with every argument at 0 and at 4 bits: bits grow linearly
    with the largest argument's (a polynomial of degree d adds d bits per argument bit)."""
    slope = max(0.0, (at_four - at_zero) / 4.0)
    return lambda m: at_zero + slope * (max(m) if m else 0.0)
