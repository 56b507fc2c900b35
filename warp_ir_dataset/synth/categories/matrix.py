"""Matrix kernels: continuum-mechanics and rigid-body linear algebra over ``mat22``/``mat33``/``mat44``.

A kernel is a handful of *motifs* drawn with the kernel's rng (deformation gradients and stress,
polar decomposition and plasticity through ``svd3``, symmetric eigen-analysis of covariance or
inertia with ``eig3``, ``qr3`` frames, guarded linear solves, inertia tensors, 2-D rotations and
``svd2``, homogeneous 4x4 transforms, component reads and writes), each with rng-chosen variants and
operands, interleaved with typed random statements over the category's productions.

Invertibility is by construction, never by luck: ``I + s*M`` with ``|M_ij| <= 1`` and ``s < 1/n``
(diagonally dominant), ``A + k*I`` with ``k > n``, Tikhonov ``A^T A + eps*I``, inertia tensors with a
positive principal part, rigid homogeneous matrices, or an explicit determinant test.
"""

from __future__ import annotations

from ..category import register_category
from ..expressions import Production
from ..types import FLOAT, INT, MAT22, MAT33, MAT44, QUAT, VEC2, VEC3, VEC4, WarpType, float_literal
from ..writer import KernelWriter
from .common import reduced_depth, store

_G = "matrix"
#: Types under which decomposition factors (singular / eigen vectors) are kept once a motif has used
#: them: random expressions never see them, since a single singular or eigen vector is not differentiable
#: where values repeat, while the products the motifs form (U V^T, V S V^T, Q D Q^T) are.
_FACTOR = {
    "mat33": WarpType("mat33_factor", "wp.mat33", 9),
    "mat22": WarpType("mat22_factor", "wp.mat22", 4),
}
_MAT = {2: MAT22, 3: MAT33, 4: MAT44}
_VEC = {2: VEC2, 3: VEC3, 4: VEC4}


def _eye(n: int) -> str:
    return f"wp.identity(n={n}, dtype=float)"


def _lit(w: KernelWriter, low: float, high: float) -> str:
    return float_literal(w.rng, low, high)


class _State:
    """What the motifs of one kernel know about its locals."""

    def __init__(self, w: KernelWriter):
        self.w = w
        self.bounded: dict[str, WarpType] = {}  # locals loaded from inputs: entries in [-1, 1]
        self.rotations: list[str] = []  # mat33 locals that are proper rotations (det +1)
        self.generic: list[str] = []  # well-conditioned mat33 locals (see generic33)
        self.points: list[str] = []  # vec3 arrays read at neighbour indices
        self.sizes: set[int] = {3}  # matrix sizes in play (2x2 and 4x4 values are not always)
        self._params: dict[str, str] = {}

    def bounded_of(self, t: WarpType) -> list[str]:
        return [n for n, vt in self.bounded.items() if vt == t]

    def param(self, name: str, low: float, high: float, t: WarpType = FLOAT) -> str:
        if name not in self._params:
            self._params[name] = self.w.param(t, name, {"low": low, "high": high})
        return self._params[name]

    def coef(self, name: str, low: float, high: float) -> str:
        """A positive coefficient: a kernel parameter or a literal."""
        if name in self._params or self.w.rng.random() < 0.4:
            return self.param(name, low, high)
        return _lit(self.w, low, high)

    def pick(self, t: WarpType, depth: int = 1) -> str:
        """A local of type ``t`` or a short expression."""
        names = self.w.locals_of(t)
        if names and self.w.rng.random() < 0.75:
            return self.w.rng.choice(names)
        return self.w.expr(t, depth)

    def var(self, t: WarpType, depth: int = 1) -> str:
        """Like :meth:`pick`, but always a name (an expression is first assigned to a local)."""
        value = self.pick(t, depth)
        if value.isidentifier():
            return value
        return self.w.assign_value(value, t)

    def generic33(self) -> str:
        """A well-conditioned 3x3 matrix (a deformation gradient I + s*M), sometimes a product of two.

        What svd3 / eig3 / qr3 and polar decompositions are given: their derivatives grow like the inverse
        of the smallest singular value (and of the gaps between them, for single factors).
        """
        w, rng = self.w, self.w.rng
        if not self.generic or rng.random() < 0.25:
            M = rng.choice(self.bounded_of(MAT33))
            self.generic.append(w.assign_value(f"{_eye(3)} + {_lit(w, 0.1, 0.3)} * {M}", MAT33))
            return self.generic[-1]
        a, b = rng.choice(self.generic), rng.choice(self.generic)
        if a != b and rng.random() < 0.2:
            return f"({a} @ {b})"
        return a

    def reference(self) -> str:
        """A fixed direction to orient eigenvectors and axes against (never derived from them)."""
        vecs = self.bounded_of(VEC3)
        if vecs and self.w.rng.random() < 0.5:
            return self.w.rng.choice(vecs)
        return f"wp.vec3({_lit(self.w, 0.3, 1.0)}, {_lit(self.w, -1.0, 1.0)}, {_lit(self.w, 0.3, 1.0)})"

    def rotation(self) -> str:
        """A local holding a proper rotation matrix."""
        rng = self.w.rng
        if self.rotations and rng.random() < 0.7:
            return rng.choice(self.rotations)
        w = self.w
        if rng.random() < 0.5:
            # an input vector (entries in [-1, 1]) plus an offset is never near zero: a safe axis
            vecs = self.bounded_of(VEC3)
            axis = rng.choice(vecs) if vecs else self.reference()
            angle = w.expr(FLOAT, 1)
            quat = f"wp.quat_from_axis_angle(wp.normalize({axis} + wp.vec3(0.0, 0.0, 1.5)), {angle})"
        else:
            quat = f"wp.quat_rpy({w.expr(FLOAT, 1)}, {w.expr(FLOAT, 1)}, {_lit(w, -1.5, 1.5)})"
        name = w.assign_value(f"wp.quat_to_matrix({quat})", MAT33)
        self.rotations.append(name)
        return name

    def unpack(self, call: str, types: tuple[WarpType, ...]) -> list[str]:
        """``a, b, c = call`` (tuple-returning builtins); returns the new locals."""
        w = self.w
        names = [w.fresh(t) for t in types]
        w.emit(f"{', '.join(names)} = {call}")
        for name, t in zip(names, types, strict=True):
            w.define(name, t)
        return names

    def hide(self, *names: str) -> None:
        """Keep decomposition factors out of random expressions (see ``_FACTOR``)."""
        for name in names:
            t = self.w.scope[name]
            self.w.define(name, _FACTOR[t.name])

    def out_args(self, func: str, operand: str, types: tuple[WarpType, ...]) -> list[str]:
        """``a = T(); b = T(); func(operand, a, b)`` (the output-argument overloads)."""
        w = self.w
        names = [w.assign_value(f"{t.annotation}()", t) for t in types]
        w.emit(f"{func}({operand}, {', '.join(names)})")
        return names


def _productions(w: KernelWriter, st: _State, sizes: set[int]) -> list[Production]:
    """This kernel's palette: the 3x3 productions, and 2x2 / 4x4 ones only where such values are in play."""
    rng = w.rng
    r, c = rng.randrange(3), rng.randrange(3)
    r2, r4 = rng.randrange(2), rng.randrange(4)
    pos = ", ".join(_lit(w, 0.5, 2.0) for _ in range(3))
    prods = [
        # mat33
        Production(MAT33, "wp.matrix_from_cols({0}, {1}, {2})", (VEC3, VEC3, VEC3), _G, 0.6),
        Production(MAT33, "wp.matrix_from_rows({0}, {1}, {2})", (VEC3, VEC3, VEC3), _G, 0.6),
        Production(MAT33, "({0} - {1})", (MAT33, MAT33), _G),
        Production(MAT33, "({0} * {1})", (FLOAT, MAT33), _G, 0.7),
        Production(MAT33, "wp.cw_mul({0}, {1})", (MAT33, MAT33), _G, 0.5),
        Production(MAT33, f"({{0}} * {_eye(3)})", (FLOAT,), _G, 0.5),
        Production(MAT33, "wp.mul({0}, wp.transpose({1}))", (MAT33, MAT33), _G, 0.4),
        # vec3
        Production(VEC3, "wp.get_diag({0})", (MAT33,), _G, 0.7),
        Production(VEC3, "{0}[{k}]", (MAT33,), _G, 0.7),
        Production(VEC3, f"{{0}}[:, {c}]", (MAT33,), _G, 0.4),
        Production(VEC3, "({0} @ {1})", (VEC3, MAT33), _G, 0.5),
        Production(VEC3, "(wp.transpose({0}) @ {1})", (MAT33, VEC3), _G, 0.7),
        Production(VEC3, f"wp.cw_div({{0}}, wp.vec3({pos}))", (VEC3,), _G, 0.5),
        Production(VEC3, "wp.smooth_normalize({0})", (VEC3,), _G, 0.3),
        # float
        Production(FLOAT, f"{{0}}[{r}, {c}]", (MAT33,), _G),
        Production(FLOAT, f"{{0}}[{r}][{c}]", (MAT33,), _G, 0.4),
        Production(FLOAT, "wp.length({0}[{k}])", (MAT33,), _G, 0.6),
        Production(FLOAT, "wp.norm_l1({0})", (VEC3,), _G, 0.4),
        Production(FLOAT, "wp.norm_l2({0})", (VEC3,), _G, 0.3),
        Production(FLOAT, f"wp.norm_huber({{0}}, {_lit(w, 0.2, 1.5)})", (VEC3,), _G, 0.3),
        Production(FLOAT, f"wp.norm_pseudo_huber({{0}}, {_lit(w, 0.2, 1.5)})", (VEC3,), _G, 0.3),
    ]
    p22 = [
        Production(FLOAT, "wp.trace({0})", (MAT22,), _G, 0.4),
        Production(FLOAT, "wp.ddot({0}, {1})", (MAT22, MAT22), _G, 0.3),
        Production(FLOAT, f"{{0}}[{r2}, {1 - r2}]", (MAT22,), _G, 0.4),
        Production(MAT22, "({0} @ {1})", (MAT22, MAT22), _G, 0.7),
        Production(MAT22, "({0} * {1})", (FLOAT, MAT22), _G, 0.5),
        Production(MAT22, "({0} - {1})", (MAT22, MAT22), _G, 0.5),
        Production(MAT22, "wp.diag({0})", (VEC2,), _G, 0.4),
        Production(MAT22, "wp.matrix_from_cols({0}, {1})", (VEC2, VEC2), _G, 0.4),
        Production(MAT22, "wp.cw_mul({0}, {1})", (MAT22, MAT22), _G, 0.3),
        Production(VEC2, "wp.get_diag({0})", (MAT22,), _G, 0.4),
        Production(VEC2, f"{{0}}[{r2}]", (MAT22,), _G, 0.4),
        Production(VEC2, "({0} - {1})", (VEC2, VEC2), _G, 0.5),
        Production(VEC2, "wp.normalize({0})", (VEC2,), _G, 0.3),
    ]
    p44 = [
        Production(FLOAT, "wp.determinant({0})", (MAT44,), _G, 0.3),
        Production(FLOAT, "wp.trace({0})", (MAT44,), _G, 0.3),
        Production(MAT44, "({0} @ {1})", (MAT44, MAT44), _G, 0.7),
        Production(MAT44, "({0} + {1})", (MAT44, MAT44), _G, 0.5),
        Production(MAT44, "wp.transpose({0})", (MAT44,), _G, 0.5),
        Production(MAT44, "({0} * {1})", (MAT44, FLOAT), _G, 0.5),
        Production(MAT44, "wp.outer({0}, {1})", (VEC4, VEC4), _G, 0.3),
        Production(MAT44, "wp.diag({0})", (VEC4,), _G, 0.3),
        Production(MAT44, f"({{0}} * {_eye(4)})", (FLOAT,), _G, 0.3),
        Production(VEC4, "({0} @ {1})", (MAT44, VEC4), _G, 0.7),
        Production(VEC4, "wp.get_diag({0})", (MAT44,), _G, 0.3),
        Production(VEC4, f"{{0}}[{r4}]", (MAT44,), _G, 0.4),
        Production(VEC3, "wp.transform_point({0}, {1})", (MAT44, VEC3), _G, 0.4),
        Production(VEC3, "wp.transform_vector({0}, {1})", (MAT44, VEC3), _G, 0.4),
    ]
    prods += p22 if 2 in sizes else []
    prods += p44 if 4 in sizes else []
    # each kernel draws its own palette: most productions, never all of them
    return [p for p in prods if rng.random() < 0.8]


# ------------------------------------------------------------------------------------------- motifs
def _deformation(w: KernelWriter, st: _State) -> None:
    """A deformation gradient near identity and what continuum mechanics computes from it."""
    rng = w.rng
    s = _lit(w, 0.05, 0.3)  # s < 1/3 keeps I + s*M diagonally dominant, so det(F) > 0
    mats, vecs = st.bounded_of(MAT33), st.bounded_of(VEC3)
    generic = bool(mats) and rng.random() < 0.7
    if generic:
        value = f"{_eye(3)} + {s} * {rng.choice(mats)}"
    elif vecs and rng.random() < 0.6:
        a, b = rng.choice(vecs), rng.choice(vecs)
        value = rng.choice((f"{_eye(3)} + {s} * wp.outer({a}, {b})", f"{_eye(3)} + {s} * wp.skew({a})"))
    else:
        value = f"{_eye(3)} + {s} * wp.skew(wp.normalize({w.expr(VEC3, 1)}))"
    F = w.assign_value(value, MAT33)
    if generic:  # rank-one and skew updates of I have repeated singular values
        st.generic.append(F)
    J = w.assign_value(f"wp.determinant({F})", FLOAT)
    logJ = None
    steps = rng.sample(("strain", "neo", "energy", "iso", "small", "polar"), rng.randint(1, 2 + w.level // 2))
    C = None
    for step in steps:
        if step in ("strain", "energy") and C is None:
            C = w.assign_value(rng.choice((f"wp.transpose({F}) @ {F}", f"wp.mul(wp.transpose({F}), {F})")), MAT33)
        if step == "strain":
            E = w.assign_value(f"0.5 * ({C} - {_eye(3)})", MAT33)
            mu, lam = st.coef("mu", 0.1, 2.0), st.coef("lam", 0.1, 2.0)
            S = w.assign_value(f"{lam} * wp.trace({E}) * {_eye(3)} + 2.0 * {mu} * {E}", MAT33)
            w.assign_value(f"{F} @ {S}", MAT33)
        elif step == "neo":
            FinvT = w.assign_value(f"wp.transpose(wp.inverse({F}))", MAT33)
            mu, lam = st.coef("mu", 0.1, 2.0), st.coef("lam", 0.1, 2.0)
            logJ = logJ or w.assign_value(f"wp.log(wp.max({J}, 1.0e-4))", FLOAT)
            w.assign_value(f"{mu} * ({F} - {FinvT}) + {lam} * {logJ} * {FinvT}", MAT33)
        elif step == "energy":
            mu, lam = st.coef("mu", 0.1, 2.0), st.coef("lam", 0.1, 2.0)
            logJ = logJ or w.assign_value(f"wp.log(wp.max({J}, 1.0e-4))", FLOAT)
            w.assign_value(f"0.5 * {mu} * (wp.trace({C}) - 3.0) - {mu} * {logJ} + 0.5 * {lam} * {logJ} * {logJ}", FLOAT)
        elif step == "iso":
            w.assign_value(f"wp.pow(wp.max({J}, 1.0e-3), -1.0 / 3.0) * {F}", MAT33)
        elif step == "small":
            eps = w.assign_value(f"0.5 * ({F} + wp.transpose({F})) - {_eye(3)}", MAT33)
            dev = w.assign_value(f"{eps} - (wp.trace({eps}) / 3.0) * {_eye(3)}", MAT33)
            w.assign_value(f"wp.sqrt(wp.ddot({dev}, {dev}))", FLOAT)
        else:
            _polar(w, st, F if F in st.generic else None)


def _svd(w: KernelWriter, st: _State, A: str) -> list[str]:
    if w.rng.random() < 0.6:
        return st.unpack(f"wp.svd3({A})", (MAT33, VEC3, MAT33))
    return st.out_args("wp.svd3", A, (MAT33, VEC3, MAT33))


def _polar(w: KernelWriter, st: _State, F: str | None = None) -> None:
    """Polar decomposition and singular-value clamping (plasticity) through ``svd3``."""
    rng = w.rng
    F = F or st.generic33()
    U, sigma, V = _svd(w, st, F)
    R = w.assign_value(rng.choice((f"{U} @ wp.transpose({V})", f"wp.mul({U}, wp.transpose({V}))")), MAT33)
    st.rotations.append(R)  # U and V are proper rotations, so U V^T is one too
    uses = rng.sample(("stretch", "clamp", "quat", "corot"), rng.randint(1, 2))
    for use in uses:
        if use == "stretch":
            w.assign_value(f"{V} @ wp.diag({sigma}) @ wp.transpose({V})", MAT33)
        elif use == "clamp":
            lo, hi = _lit(w, 0.5, 0.95), _lit(w, 1.05, 1.5)
            parts = ", ".join(f"wp.clamp({sigma}[{k}], {lo}, {hi})" for k in range(3))
            sc = w.assign_value(f"wp.vec3({parts})", VEC3)
            w.assign_value(f"{U} @ wp.diag({sc}) @ wp.transpose({V})", MAT33)
        elif use == "quat":
            q = w.assign_value(f"wp.quat_from_matrix({R})", QUAT)
            w.assign_value(f"wp.quat_rotate({q}, {st.pick(VEC3)})", VEC3)
        else:
            mu = st.coef("mu", 0.1, 2.0)
            w.assign_value(f"2.0 * {mu} * ({F} - {R})", MAT33)
    st.hide(U, V)


def _eigen(w: KernelWriter, st: _State) -> None:
    """Eigen-analysis of a symmetric matrix: covariance of neighbours, symmetric part, or A^T A."""
    rng = w.rng
    separated = False  # principal axes are only used where the principal values are well apart
    if st.points and w.can_nest and rng.random() < 0.6:
        pts = rng.choice(st.points)
        # offsets from this point (or an input position): a constant centre would make the covariance
        # nearly rank one, with two close principal values
        center = rng.choice([f"{pts}[i]", *st.bounded_of(VEC3)])
        C = w.assign_value(rng.choice(("wp.mat33()", "wp.mat33(0.0)")), MAT33)
        n = rng.randint(3, 4 + w.level)
        with w.block(f"for j in range({n})"):
            w.define("j", INT)
            d = w.assign_value(f"{pts}[{w.index_expr(pts, 'j')}] - {center}", VEC3)
            if rng.random() < 0.5:
                weight = w.assign_value(f"wp.exp(-wp.length_sq({d}))", FLOAT)
                w.emit(f"{C} += {weight} * wp.outer({d}, {d})")
            else:
                w.emit(f"{C} = {C} + wp.outer({d}, {d})")
        w.emit(f"{C} = {C} * {1.0 / n:.4f}")
    elif rng.random() < 0.5:
        A = st.generic33()
        C = w.assign_value(
            rng.choice((f"0.5 * ({A} + wp.transpose({A}))", f"wp.transpose({A}) @ {A}", f"{A} @ wp.transpose({A})")),
            MAT33,
        )
    else:  # an anisotropic tensor: well-separated principal values, perturbed symmetrically
        A = rng.choice(st.bounded_of(MAT33))  # entries in [-1, 1]: the perturbation stays small
        d = [round(rng.uniform(0.2, 0.6), 2), round(rng.uniform(1.4, 1.8), 2), round(rng.uniform(2.6, 3.2), 2)]
        rng.shuffle(d)
        s = _lit(w, 0.05, 0.15)
        C = w.assign_value(f"wp.diag(wp.vec3({d[0]}, {d[1]}, {d[2]})) + {s} * ({A} + wp.transpose({A}))", MAT33)
        separated = True
    if rng.random() < 0.6:
        Q, lam = st.unpack(f"wp.eig3({C})", (MAT33, VEC3))
    else:
        Q, lam = st.out_args("wp.eig3", C, (MAT33, VEC3))
    k = rng.randrange(3)
    uses = ("axis", "axis", "range", "project", "aniso") if separated else ("range", "project", "aniso")
    for use in dict.fromkeys(rng.sample(uses, rng.randint(1, 3))):
        if use == "axis":
            axis = w.assign_value(
                rng.choice(
                    (f"{Q}[:, {k}]", f"wp.transpose({Q})[{k}]", f"wp.vec3({Q}[0, {k}], {Q}[1, {k}], {Q}[2, {k}])")
                ),
                VEC3,
            )
            ref = st.reference()
            with w.block(f"if wp.dot({axis}, {ref}) < 0.0"):
                w.emit(f"{axis} = -{axis}")
        elif use == "range":
            op = rng.choice(("min", "max"))
            w.assign_value(f"wp.{op}(wp.{op}({lam}[0], {lam}[1]), {lam}[2])", FLOAT)
        elif use == "project":
            eps = _lit(w, 0.01, 0.2)
            w.assign_value(f"{Q} @ wp.diag(wp.max({lam}, wp.vec3({eps}))) @ wp.transpose({Q})", MAT33)
        else:
            w.assign_value(f"({lam}[0] - {lam}[2]) / (wp.abs({lam}[0]) + wp.abs({lam}[2]) + 1.0e-6)", FLOAT)
    st.hide(Q)


def _qr(w: KernelWriter, st: _State) -> None:
    """QR factorisation: an orthonormal frame and the triangular factor."""
    rng = w.rng
    A = st.generic33()
    if rng.random() < 0.6:
        Q, R = st.unpack(f"wp.qr3({A})", (MAT33, MAT33))
    else:
        Q, R = st.out_args("wp.qr3", A, (MAT33, MAT33))
    for use in rng.sample(("local", "diag", "volume", "solve"), rng.randint(1, 2)):
        if use == "local":
            w.assign_value(f"wp.transpose({Q}) @ {st.pick(VEC3)}", VEC3)
        elif use == "diag":
            w.assign_value(f"wp.get_diag({R})", VEC3)
        elif use == "volume":
            w.assign_value(f"wp.abs({R}[0, 0] * {R}[1, 1] * {R}[2, 2])", FLOAT)
        else:  # back substitution R x = Q^T b with guarded pivots
            floor = rng.choice(("0.1", "0.2"))
            y = w.assign_value(f"wp.transpose({Q}) @ {st.pick(VEC3)}", VEC3)
            piv = w.assign_value(
                ", ".join(f"wp.copysign(wp.max(wp.abs({R}[{k}, {k}]), {floor}), {R}[{k}, {k}])" for k in range(3)).join(
                    ("wp.vec3(", ")")
                ),
                VEC3,
            )
            x2 = w.assign_value(f"{y}[2] / {piv}[2]", FLOAT)
            x1 = w.assign_value(f"({y}[1] - {R}[1, 2] * {x2}) / {piv}[1]", FLOAT)
            x0 = w.assign_value(f"({y}[0] - {R}[0, 1] * {x1} - {R}[0, 2] * {x2}) / {piv}[0]", FLOAT)
            w.assign_value(f"wp.vec3({x0}, {x1}, {x2})", VEC3)


def _inertia(w: KernelWriter, st: _State) -> None:
    """A rigid body's inertia tensor: parallel-axis shift, rotation to world, inverse, energy."""
    rng = w.rng
    floats = st.bounded_of(FLOAT)
    if floats and rng.random() < 0.6:
        m = w.assign_value(f"wp.abs({rng.choice(floats)}) + {_lit(w, 0.1, 1.0)}", FLOAT)
    else:
        m = st.param("mass", 0.5, 2.0)
    if rng.random() < 0.5:
        principal = f"wp.vec3({_lit(w, 0.1, 1.0)}, {_lit(w, 0.1, 1.0)}, {_lit(w, 0.1, 1.0)})"
    else:  # squared extents plus a floor: positive whatever the operand
        v = st.var(VEC3)
        principal = f"wp.cw_mul({v}, {v}) + wp.vec3({_lit(w, 0.1, 0.5)})"
    Ic = w.assign_value(f"wp.diag({principal})", MAT33)
    r = st.var(VEC3)
    inertia = w.assign_value(f"{Ic} + {m} * (wp.dot({r}, {r}) * {_eye(3)} - wp.outer({r}, {r}))", MAT33)
    if rng.random() < 0.7:
        R = st.rotation()
        inertia = w.assign_value(f"{R} @ {inertia} @ wp.transpose({R})", MAT33)
    inv = rng.choice(("wp.inverse", "wp.inverse", "wp.inverse_approx"))
    inertia_inv = w.assign_value(f"{inv}({inertia})", MAT33)
    omega = w.assign_value(f"{inertia_inv} @ {st.pick(VEC3)}", VEC3)
    if rng.random() < 0.6:
        w.assign_value(f"0.5 * wp.dot({omega}, {inertia} @ {omega})", FLOAT)
    else:
        w.assign_value(f"wp.cross({omega}, {inertia} @ {omega})", VEC3)


def _solve(w: KernelWriter, st: _State) -> None:
    """A small dense linear solve with an invertibility guarantee or an explicit guard."""
    rng = w.rng
    n = rng.choice([3, 3, *sorted(st.sizes)])
    M, V = _MAT[n], _VEC[n]
    b = st.pick(V)
    bounded = st.bounded_of(M)
    kind = rng.choice(("shift", "det", "tikhonov")) if bounded else rng.choice(("det", "tikhonov"))
    inv = "wp.inverse_approx" if rng.random() < 0.15 else "wp.inverse"
    if kind == "shift":
        k = _lit(w, n + 0.5, n + 3.0)
        A = w.assign_value(f"{rng.choice(bounded)} + {k} * {_eye(n)}", M)
        w.assign_value(f"{inv}({A}) @ {b}", V)
    elif kind == "tikhonov":
        A = st.var(M)
        reg = st.coef("damping", 0.1, 1.0)
        N = w.assign_value(f"wp.transpose({A}) @ {A} + {reg} * {_eye(n)}", M)
        w.assign_value(f"{inv}({N}) @ (wp.transpose({A}) @ {b})", V)
    else:
        A = st.var(M)
        det = w.assign_value(f"wp.determinant({A})", FLOAT)
        x = w.assign_value(rng.choice((f"{V.annotation}()", f"{V.annotation}(0.0)")), V)
        with w.block(f"if wp.abs({det}) > {rng.choice(('0.1', '0.2', '0.25'))}"):
            w.emit(f"{x} = wp.inverse({A}) @ {b}")


def _components(w: KernelWriter, st: _State) -> None:
    """Element, row and column access: writes into a fresh matrix, row norms, Gram-Schmidt."""
    rng = w.rng
    for use in rng.sample(("write", "rows", "gram", "read"), rng.randint(1, 2)):
        if use == "write":  # fill a fresh matrix: each row written once, from other values
            M = w.assign_value(rng.choice(("wp.mat33()", "wp.mat33(0.0)", _eye(3))), MAT33)
            for row in rng.sample(range(3), rng.randint(1, 3)):
                if rng.random() < 0.5:
                    w.emit(f"{M}[{row}, {rng.randrange(3)}] = {w.expr(FLOAT, 2, exclude=[M])}")
                else:
                    w.emit(f"{M}[{row}] = {w.expr(VEC3, 2, exclude=[M])}")
        elif use == "rows" and w.can_nest:
            M = st.pick(MAT33)
            acc = w.assign_value("float(0.0)", FLOAT)
            with w.block("for r in range(3)"):
                w.define("r", INT)
                w.emit(f"{acc} = {acc} + " + rng.choice((f"wp.length({M}[r])", f"wp.abs({M}[r, r])")))
        elif use == "gram":  # re-orthonormalise a well-conditioned frame (rows far from parallel)
            M = st.generic33()
            if not M.isidentifier():
                M = w.assign_value(M, MAT33)
            e0 = w.assign_value(f"wp.normalize({M}[0])", VEC3)
            e1 = w.assign_value(f"wp.normalize({M}[1] - wp.dot({M}[1], {e0}) * {e0})", VEC3)
            e2 = w.assign_value(f"wp.cross({e0}, {e1})", VEC3)
            form = rng.choice(("wp.matrix_from_rows", "wp.matrix_from_cols"))
            w.assign_value(f"{form}({e0}, {e1}, {e2})", MAT33)
        else:
            M = st.pick(MAT33)
            w.assign_value(f"{M}[{rng.randrange(3)}]", VEC3)
            w.assign_value(f"{M}[:, {rng.randrange(3)}]", VEC3)


def _mat22(w: KernelWriter, st: _State) -> None:
    """Planar linear algebra: rotation by an angle, ``svd2``, shifted inverse."""
    rng = w.rng
    theta = st.var(FLOAT)
    cs = w.assign_value(f"wp.cos({theta})", FLOAT)
    sn = w.assign_value(f"wp.sin({theta})", FLOAT)
    R2 = w.assign_value(f"wp.mat22({cs}, -{sn}, {sn}, {cs})", MAT22)
    w.assign_value(f"{R2} @ {st.pick(VEC2)}", VEC2)
    if not st.bounded_of(MAT22):  # svd2 wants a generic matrix: read one
        st.bounded[w.assign_value(f"{w.input_array(MAT22, load=False)}[i]", MAT22)] = MAT22
    bounded = st.bounded_of(MAT22)
    A = rng.choice(bounded)
    if rng.random() < 0.6:
        if rng.random() < 0.6:
            U, s, V = st.unpack(f"wp.svd2({A})", (MAT22, VEC2, MAT22))
        else:
            U, s, V = st.out_args("wp.svd2", A, (MAT22, VEC2, MAT22))
        w.assign_value(f"{U} @ wp.diag({s}) @ wp.transpose({R2} @ {V})", MAT22)
        st.hide(U, V)
    if rng.random() < 0.6:
        inv = w.assign_value(f"wp.inverse({A} + {_lit(w, 2.5, 4.0)} * {_eye(2)})", MAT22)
        w.assign_value(f"wp.determinant({inv}) + wp.trace({R2})", FLOAT)


def _mat44(w: KernelWriter, st: _State) -> None:
    """Homogeneous 4x4 rigid transforms: assembly, point/vector transforms, inverse."""
    rng = w.rng
    R = st.rotation()
    p = st.var(VEC3)
    form = rng.randrange(3)
    if form == 0:
        rows = [f"{R}[{a}, 0], {R}[{a}, 1], {R}[{a}, 2], {p}[{a}]" for a in range(3)]
        H = w.assign_value(f"wp.mat44({', '.join(rows)}, 0.0, 0.0, 0.0, 1.0)", MAT44)
    elif form == 1 or not w.can_nest:
        cols = [f"wp.vec4({R}[0, {a}], {R}[1, {a}], {R}[2, {a}], 0.0)" for a in range(3)]
        H = w.assign_value(
            f"wp.matrix_from_cols({', '.join(cols)}, wp.vec4({p}[0], {p}[1], {p}[2], 1.0))",
            MAT44,
        )
    else:
        H = w.assign_value(_eye(4), MAT44)
        with w.block("for r in range(3)"):
            w.define("r", INT)
            w.emit(f"{H}[r, 3] = {p}[r]")
            with w.block("for c in range(3)"):
                w.define("c", INT)
                w.emit(f"{H}[r, c] = {R}[r, c]")
    x = st.pick(VEC3)
    for use in rng.sample(("point", "vector", "inverse", "homog"), rng.randint(1, 3)):
        if use == "point":
            w.assign_value(f"wp.transform_point({H}, {x})", VEC3)
        elif use == "vector":
            w.assign_value(f"wp.transform_vector({H}, {st.pick(VEC3)})", VEC3)
        elif use == "inverse":  # rigid: det(H) = det(R) = 1
            Hinv = w.assign_value(f"wp.inverse({H})", MAT44)
            w.assign_value(f"wp.transform_point({Hinv}, {x})", VEC3)
        else:
            h = w.assign_value(f"{H} @ wp.vec4({x}[0], {x}[1], {x}[2], 1.0)", VEC4)
            w.assign_value(f"wp.vec3({h}[0], {h}[1], {h}[2])", VEC3)


_MOTIFS = {
    "deformation": (_deformation, 3.0),
    "polar": (_polar, 2.0),
    "eigen": (_eigen, 2.0),
    "qr": (_qr, 1.0),
    "inertia": (_inertia, 1.5),
    "solve": (_solve, 2.0),
    "components": (_components, 1.5),
    "mat22": (_mat22, 1.0),
    "mat44": (_mat44, 1.0),
}


def _domain_helpers(w: KernelWriter) -> list[tuple[str, tuple[tuple[str, WarpType], ...], WarpType, str]]:
    """``@wp.func`` helpers a matrix-heavy module defines: (suffix, parameters, result, body)."""
    eye = _eye(3)
    eps = w.rng.choice(("0.1", "0.2"))
    A = (("a", MAT33),)
    return [
        ("sym", A, MAT33, "    return 0.5 * (a + wp.transpose(a))"),
        ("dev", A, MAT33, f"    return a - (wp.trace(a) / 3.0) * {eye}"),
        ("skew_part", A, MAT33, "    return 0.5 * (a - wp.transpose(a))"),
        ("frob", A, FLOAT, "    return wp.sqrt(wp.ddot(a, a))"),
        ("max_row", A, FLOAT, "    return wp.max(wp.max(wp.length(a[0]), wp.length(a[1])), wp.length(a[2]))"),
        (
            "safe_inverse",
            A,
            MAT33,
            f"    d = wp.determinant(a)\n    if wp.abs(d) < {eps}:\n        return {eye}\n    return wp.inverse(a)",
        ),
        ("polar_rotation", A, MAT33, "    u, sigma, v = wp.svd3(a)\n    return u @ wp.transpose(v)"),
        (
            "project_spd",
            A,
            MAT33,
            "    q, d = wp.eig3(0.5 * (a + wp.transpose(a)))\n"
            f"    return q @ wp.diag(wp.max(d, wp.vec3({eps}))) @ wp.transpose(q)",
        ),
        (
            "rodrigues",
            (("axis", VEC3), ("angle", FLOAT)),
            MAT33,
            "    k = wp.skew(wp.normalize(axis))\n"
            f"    return {eye} + wp.sin(angle) * k + (1.0 - wp.cos(angle)) * (k @ k)",
        ),
        ("quadratic_form", (("a", MAT33), ("x", VEC3)), FLOAT, "    return wp.dot(x, a @ x)"),
    ]


#: helpers that decompose their argument: called on generic matrices only, never from random expressions
_DECOMPOSING = ("polar_rotation", "project_spd")


def _add_helpers(w: KernelWriter, st: _State) -> None:
    """This level's number of domain helpers, each called once; most also join the expression palette.

    (No random ``make_helper`` helpers: fed their own results, they grow past what float32 finite
    differences can check.)
    """
    rng = w.rng
    domain = _domain_helpers(w)
    rng.shuffle(domain)
    low, high = w.limits.helpers
    for _ in range(min(len(domain), rng.randint(low, high))):
        suffix, params, result, body = domain.pop()
        name = f"{w.name}_{suffix}"
        signature = ", ".join(f"{p}: {t.annotation}" for p, t in params)
        w.helper_sources.append(f"@wp.func\ndef {name}({signature}) -> {result.annotation}:\n{body}")
        if suffix in _DECOMPOSING:
            w.assign_value(f"{name}({st.generic33()})", result)
            continue
        args = ", ".join(f"{{{k}}}" for k in range(len(params)))
        prod = Production(result, f"{name}({args})", tuple(t for _, t in params), "helper", 1.0)
        w.gen.add(prod)
        w.call_helper(prod)


@register_category("matrix", groups={"arith", "vector"})
def matrix(w: KernelWriter) -> None:
    """Matrix algebra: inverse, determinant, svd3/svd2, eig3, qr3, deformation gradients, inertia tensors."""
    rng = w.rng
    st = _State(w)
    names = list(_MOTIFS)
    count = {1: 1, 2: 1, 3: 2, 4: 2, 5: 3}[w.level] + (1 < w.level < 5 and rng.random() < 0.3)
    motifs = rng.choices(names, [_MOTIFS[n][1] for n in names], k=count)
    kinds = [MAT33] + [rng.choice((MAT33, MAT33, VEC3, VEC3, FLOAT, MAT22, MAT44)) for _ in range(w.limits.inputs)]
    for t in kinds:
        array = w.input_array(t, load=False)
        st.bounded[w.assign_value(f"{array}[i]", t)] = t
    if rng.random() < 0.5:
        st.points.append(w.input_array(VEC3, load=False))
    if rng.random() < 0.3:
        st.param("scale_m", 0.5, 2.0, MAT33)
    st.sizes = {3} | {2 for t in kinds if t is MAT22} | {4 for t in kinds if t is MAT44}
    st.sizes |= {2 for m in motifs if m == "mat22"} | {4 for m in motifs if m == "mat44"}
    for prod in _productions(w, st, st.sizes):
        w.gen.add(prod)
    _add_helpers(w, st)
    if "scale_m" in st._params:  # added after the helpers: it names a kernel parameter
        w.gen.add(Production(MAT33, "wp.cw_div({0}, scale_m)", (MAT33,), _G, 0.7))
    for motif in motifs:
        _MOTIFS[motif][0](w, st)
        if rng.random() < 0.5:
            w.assign(rng.choice((MAT33, VEC3, FLOAT)), reduced_depth(w))
    for _ in range(rng.randint(0, max(1, w.limits.statements // 3))):
        w.assign(rng.choice((MAT33, MAT33, VEC3, FLOAT)), reduced_depth(w))
    primary = rng.choice((MAT33, MAT33, VEC3))
    store(w, primary, reduced_depth(w))
    extra = [t for t in (FLOAT, VEC3, MAT22, MAT44) if t is not primary and w.locals_of(t) and rng.random() < 0.4]
    for t in extra[:2]:
        store(w, t, reduced_depth(w))
