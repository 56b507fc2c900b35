"""What the linear-algebra categories (``matrix``, ``quaternion``, ``spatial``) share.

- ``DomainHelper`` and ``add_domain_helpers``: hand-written ``@wp.func`` helpers a module of that domain would
  define; this level's number of them, each called once, most also joining the expression palette;
- the kernel skeleton: ``draw_motifs`` / ``run_motifs`` (a level-dependent number of rng-drawn motifs with
  random statements over the category's palette between them) and ``store_outputs`` (outputs that fold in
  every value nothing has read yet);
- the by-reference forms of the decompositions (``decompose``: ``U = wp.mat33()`` ... ``wp.svd3(A, U, s, V)``);
- rigid-body values: joint axes, poses read from arrays (their rotation re-normalised), positive masses,
  inertia tensors (a positive principal part plus a parallel-axis shift), the semi-implicit orientation
  update and forward-kinematics chains;
- ``fold`` and ``scaled_eye``: products with literal coefficients written as one literal, so that no
  operation has only literal operands whether a coefficient became a parameter or a literal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..expressions import Production
from ..types import ARRAY_TYPES, FLOAT, INT, QUAT, TRANSFORM, VEC3, WarpType
from ..writer import KernelWriter
from .common import Vocabulary, load_input, output, reduced_depth, store

AXES = ("wp.vec3(1.0, 0.0, 0.0)", "wp.vec3(0.0, 1.0, 0.0)", "wp.vec3(0.0, 0.0, 1.0)")
#: A transform read from an array, before its rotation is re-normalised: kept out of expressions.
RAW_TRANSFORM = WarpType("transform_raw", "wp.transform", 7)


def eye(n: int) -> str:
    return f"wp.identity(n={n}, dtype=float)"


EYE3 = eye(3)
_ARRAY_TYPE_NAMES = frozenset(t.name for t in ARRAY_TYPES)
#: Size estimate (bits) above which a value is stored as it is rather than folded into an output expression.
_FOLD_LIMIT = 20.0


# ------------------------------------------------------------------------------------------ literals
def _is_literal(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def number(value: float) -> str:
    """A float literal with at most 4 decimals (never ``-0.0``, always with a decimal point)."""
    text = f"{round(value, 4) + 0.0:.5g}"
    return text if any(c in text for c in ".e") else text + ".0"


def fold(*factors: float | str) -> str:
    """The product of ``factors`` (numbers, literals or names) with the literal ones multiplied out:
    ``fold(0.5, "dt")`` is ``0.5 * dt``, ``fold(0.5, "0.02")`` is ``0.01``."""
    product = 1.0
    names = []
    for factor in factors:
        if isinstance(factor, (int, float)) or _is_literal(factor):
            product *= float(factor)
        else:
            names.append(factor)
    if not names:
        return number(product)
    return " * ".join(([] if product == 1.0 else [number(product)]) + names)


def scaled_eye(n: int, k: str) -> str:
    """``k`` times the n x n identity: written out as a constant matrix when ``k`` is a literal."""
    if not _is_literal(k):
        return f"{k} * {eye(n)}"
    return f"wp.mat{n}{n}({', '.join(k if r == c else '0.0' for r in range(n) for c in range(n))})"


def named(w: KernelWriter, t: WarpType, bases: Sequence[str], exclude: Sequence[str] = ()) -> str:
    """A variable of type ``t`` for a formula that reads it more than once: one in scope (a value nothing has
    read yet first), or a new local holding a short expression."""
    value = w.expr(t, 1, exclude, leaf_bias=0.8)
    return value if value.isidentifier() else w.let(tuple(bases), value, t)


# ------------------------------------------------------------------------------------------ helpers
@dataclass(frozen=True)
class DomainHelper:
    """A hand-written ``@wp.func``: ``<kernel>_<suffix>(params) -> result`` with ``body`` (indented)."""

    suffix: str
    params: tuple[tuple[str, WarpType], ...]
    result: WarpType
    body: str
    names: tuple[str, ...] = ()  # what a local holding its result is called

    def source(self) -> str:
        signature = ", ".join(f"{p}: {t.annotation}" for p, t in self.params)
        return f"@wp.func\ndef NAME({signature}) -> {self.result.annotation}:\n{self.body}"


def add_domain_helpers(
    w: KernelWriter,
    helpers: Sequence[DomainHelper],
    *,
    direct: Mapping[str, Callable[[KernelWriter], str]] | None = None,
) -> None:
    """This level's number of ``helpers``, each called once; they join the expression palette, except those
    named in ``direct``: called on the argument its function writes (say, a well-conditioned matrix for a
    decomposition), and only there.

    (No random ``make_helper`` helpers: fed their own results, they grow past what float32 finite differences
    can check, and over rotations they reduce to identities.)
    """
    rng = w.rng
    pool = list(helpers)
    rng.shuffle(pool)
    low, high = w.limits.helpers
    for _ in range(min(len(pool), rng.randint(low, high))):
        helper = pool.pop()
        name = w.helper(helper.suffix, helper.source())
        names = (*helper.names, *w.names_for(helper.result))
        if direct and helper.suffix in direct:
            w.let(names, f"{name}({direct[helper.suffix](w)})", helper.result)
            continue
        args = ", ".join(f"{{{k}}}" for k in range(len(helper.params)))
        operands = tuple(t for _, t in helper.params)
        prod = Production(helper.result, f"{name}({args})", operands, "helper", 1.0, helper.names)
        w.add_productions(prod)
        w.call_helper(prod)


# ------------------------------------------------------------------------------------------ skeleton
Motif = Callable[[KernelWriter, Any], None]


def draw_motifs(w: KernelWriter, motifs: Mapping[str, tuple[Motif, float]]) -> list[str]:
    """The level's number of motifs (1 to 3, repeats allowed), drawn by weight."""
    count = {1: 1, 2: 1, 3: 2, 4: 2, 5: 3}[w.level] + (1 < w.level < 5 and w.rng.random() < 0.3)
    return [w.choose({name: weight for name, (_, weight) in motifs.items()}) for _ in range(count)]


def random_statement(w: KernelWriter, types: Sequence[WarpType]) -> None:
    """A new local from a random operation over the palette, of one of ``types``."""
    depth = reduced_depth(w)
    possible = [t for t in types if w.can_compute(t, depth)]
    if possible:
        w.assign(w.choose(possible), depth)


def run_motifs(
    w: KernelWriter,
    state: Any,
    motifs: Mapping[str, tuple[Motif, float]],
    chosen: Sequence[str],
    filler: Sequence[WarpType],
    between: float = 0.4,
) -> None:
    """Write the ``chosen`` motifs, sometimes a random statement after one, then a few more random statements."""
    rng = w.rng
    for name in chosen:
        motifs[name][0](w, state)
        if rng.random() < between:
            random_statement(w, filler)
    for _ in range(rng.randint(0, max(1, w.limits.statements // 3))):
        random_statement(w, filler)


def store_outputs(
    w: KernelWriter, vocab: Vocabulary, primary: Sequence[WarpType], extras: Sequence[WarpType], most: int = 2
) -> None:
    """Store an output of one of the ``primary`` types (one an operation over the kernel's values can make)
    folding in every value nothing has read yet, then outputs for the values it could not reach, then
    (sometimes) outputs of ``extras`` types; at most ``most`` besides the primary.

    Values whose size estimate is too large for further operations (the generator refuses operations whose
    estimate passes ``magnitude.LIMIT``; products of decomposition factors and inverses are estimated far
    above their actual size) are stored as they are first, summed (composed) by type.
    """
    depth = reduced_depth(w)
    large: dict[WarpType, list[str]] = {}
    for name in w.pending():
        t = w.scope[name]
        if t.name in _ARRAY_TYPE_NAMES and w.magnitude(name) > _FOLD_LIMIT:
            large.setdefault(t, []).append(name)
    for t, names in large.items():
        w.store(output(w, vocab, t), "i", (" * " if t in (QUAT, TRANSFORM) else " + ").join(names))
    main = w.choose([t for t in primary if w.can_compute(t, depth)] or list(primary))
    store(w, vocab, main, depth)
    stored = 0
    left = list(dict.fromkeys(w.scope[n] for n in w.pending()))
    for t in left:
        if stored < most and t.name in _ARRAY_TYPE_NAMES and w.pending(t):
            store(w, vocab, t, depth)
            stored += 1
    for t in extras:
        if stored < most and t is not main and w.values_of(t) and w.rng.random() < 0.35:
            store(w, vocab, t, depth)
            stored += 1


# ------------------------------------------------------------------------------------------ decompositions
def decompose(
    w: KernelWriter, func: str, operand: str, outputs: Sequence[tuple[Sequence[str], WarpType]], by_reference: bool
) -> list[str]:
    """``a, b = func(operand)``, or its by-reference form: ``a = T()`` ... then ``func(operand, a, b)`` (the call
    reads and redefines the locals it is given). ``outputs`` are (name candidates, type) pairs."""
    if not by_reference:
        return w.unpack(f"{func}({operand})", [tuple(b) for b, _ in outputs], [t for _, t in outputs])
    names = []
    for bases, t in outputs:
        init = "float(0.0)" if t.annotation == "float" else w.choose((f"{t.annotation}()", f"{t.annotation}(0.0)"))
        names.append(w.let(tuple(bases), init, t))
    w.emit(f"{func}({operand}, {', '.join(names)})")
    return names


# ------------------------------------------------------------------------------------------ rigid bodies
def joint_axis(w: KernelWriter) -> str:
    """A unit joint axis: the kernel's ``axis`` parameter (``unit`` recipe) or a coordinate axis."""
    if w.has_arg("axis"):
        return "axis"
    if not w.taken("axis") and w.rng.random() < 0.35:
        return w.param(VEC3, "axis", {"kind": "unit"})
    return w.choose(AXES)


def load_pose(w: KernelWriter, vocab: Vocabulary, combine: float = 1.0) -> str | None:
    """A rigid pose read from arrays: a transform whose rotation is re-normalised, or a position and a unit
    quaternion (joined into a transform with probability ``combine``). Returns the transform, if any."""
    rng = w.rng
    form = rng.randrange(3)
    if form == 2:
        pos = load_input(w, vocab, VEC3)
        rot = load_input(w, vocab, QUAT, recipe={"kind": "unit"})
        if rng.random() >= combine:
            return None
        return w.let(w.names_for(TRANSFORM), f"wp.transform({pos}, {rot})", TRANSFORM)
    raw = load_input(w, vocab, TRANSFORM)
    w.define(raw, RAW_TRANSFORM)  # only its re-normalised copy is used
    if form == 0:
        value = f"wp.transform({raw}.p, wp.normalize({raw}.q))"
    else:
        value = f"wp.transform(wp.transform_get_translation({raw}), wp.normalize(wp.transform_get_rotation({raw})))"
    return w.let(w.names_for(TRANSFORM), value, TRANSFORM)


def body_mass(w: KernelWriter) -> str:
    """A positive mass: the one this kernel already has, else one read from an array or a parameter."""
    for name in ("mass", "body_mass"):
        if w.scope.get(name) == FLOAT:
            return name
    recipe = {"low": 0.5, "high": 2.0}
    if w.rng.random() < 0.5 and not w.taken("masses"):
        return w.input_array(FLOAT, ("masses", "body_masses"), recipe=recipe, load=("mass", "body_mass"))
    return w.param(FLOAT, ("mass", "body_mass"), recipe)


def principal_inertia(w: KernelWriter, extent: str | None = None) -> str:
    """A diagonal inertia with a positive diagonal: a parameter, constants, or squared extents plus a floor."""
    roll = w.rng.random()
    if extent is not None and roll < 0.4:
        return f"wp.diag(wp.cw_mul({extent}, {extent}) + wp.vec3({w.small(0.1, 0.5)}))"
    if w.has_arg("inertia_diag") or (roll < 0.7 and not w.taken("inertia_diag")):
        diag = "inertia_diag" if w.has_arg("inertia_diag") else w.param(VEC3, "inertia_diag", {"low": 0.1, "high": 1.0})
        return f"wp.diag({diag})"
    d = [w.small(0.1, 1.0) for _ in range(3)]
    return f"wp.mat33({d[0]}, 0.0, 0.0, 0.0, {d[1]}, 0.0, 0.0, 0.0, {d[2]})"


def parallel_axis(inertia: str, mass: str, r: str) -> str:
    """The inertia about a point offset by ``r`` from the centre of mass."""
    return f"{inertia} + {mass} * (wp.dot({r}, {r}) * {EYE3} - wp.outer({r}, {r}))"


def integrate_rotation(q: str, omega: str, dt: str) -> str:
    """One semi-implicit step of dq/dt = 0.5 * (omega, 0) * q, re-normalised."""
    return f"wp.normalize({q} + wp.quat({omega}, 0.0) * {q} * {fold(0.5, dt)})"


def kinematic_chain(
    w: KernelWriter, joints: str, start: str, axis: str, link: Callable[[str], None] | None = None
) -> str:
    """Forward kinematics along revolute joints whose angles ``joints`` holds: ``X = X * joint frame`` in a loop
    (``link(X)`` writes more of the loop body); returns the local holding the end frame."""
    X = w.let(("X", "X_chain", "chain_pose", "X_link"), start, TRANSFORM)
    offset = f"wp.vec3({w.small(-0.5, 0.5)}, {w.small(0.2, 1.0)}, 0.0)"
    j = w.name("j", "joint", "link_idx")
    with w.block(f"for {j} in range({w.rng.randint(2, 3 + w.level)})"):
        w.define(j, INT)
        angle = w.let(("q_joint", "joint_angle", "theta"), f"{joints}[{w.index_expr(joints, j)}]", FLOAT)
        w.set(X, f"{X} * wp.transform({offset}, wp.quat_from_axis_angle({axis}, {angle}))")
        if link is not None:
            link(X)
    return X


def joint_array(w: KernelWriter) -> str:
    """The array of joint angles chains read (declared once)."""
    for name in ("joint_q", "joint_angles"):
        if w.has_arg(name):
            return name
    return w.input_array(FLOAT, ("joint_q", "joint_angles"))
