"""Spatial-algebra kernels: twists, wrenches and rigid-body dynamics in Warp's ``(angular, linear)`` form.

A kernel is a handful of rng-drawn *motifs* (velocity of a point on a body, changing the frame of a
twist or wrench directly or through the 6x6 adjoint, spatial inertia with momentum, kinetic energy and
bias forces, joint motion subspaces and velocity/acceleration propagation, forward kinematics along a
chain, wrenches of point forces and gravity, semi-implicit integration of a pose, splitting and
re-assembling spatial vectors), each with rng-chosen variants and operands, between typed random
statements over the category's productions.

Values stay in the domains the builtins expect: rotations are unit quaternions (poses read from arrays
are re-normalised), masses and principal inertias are positive, and 6x6 matrices and spatial vectors
are only written element by element when freshly created (Warp's adjoint does not support component
writes into values that depend on the inputs).
"""

from __future__ import annotations

from ..category import register_category
from ..expressions import Production
from ..types import FLOAT, INT, MAT33, QUAT, SPATIAL, TRANSFORM, VEC3, WarpType, float_literal
from ..writer import KernelWriter
from .common import reduced_depth, store

_G = "spatial"
#: 6x6 spatial matrices (adjoints, inertias). Not in ``types``: this module names them itself.
SMAT = WarpType("spatial_matrix", "wp.spatial_matrix", 36)
#: A transform read from an array, before its rotation is re-normalised: kept out of expressions.
_RAW_TRANSFORM = WarpType("transform_raw", "wp.transform", 7)
_AXES = ("wp.vec3(1.0, 0.0, 0.0)", "wp.vec3(0.0, 1.0, 0.0)", "wp.vec3(0.0, 0.0, 1.0)")


def _lit(w: KernelWriter, low: float, high: float) -> str:
    return float_literal(w.rng, low, high)


class _State:
    """What the motifs of one kernel know about its values."""

    def __init__(self, w: KernelWriter):
        self.w = w
        self.joint_arrays: list[str] = []
        self.loaded: set[str] = set()  # locals read straight from input arrays (floats in [-1, 1])
        self.smat_ready = False
        self.inertia_helper = False
        self._params: dict[str, str] = {}

    def param(self, name: str, t: WarpType, recipe: dict | None = None) -> str:
        if name not in self._params:
            self._params[name] = self.w.param(t, name, recipe)
        return self._params[name]

    def coef(self, name: str, low: float, high: float) -> str:
        if name in self._params or self.w.rng.random() < 0.4:
            return self.param(name, FLOAT, {"low": low, "high": high})
        return _lit(self.w, low, high)

    def pick(self, t: WarpType, depth: int = 1) -> str:
        """A local of type ``t`` (most often one read from the inputs, so magnitudes stay near 1), or an
        expression."""
        rng = self.w.rng
        names = self.w.locals_of(t)
        loaded = [n for n in names if n in self.loaded]
        if loaded and rng.random() < 0.6:
            return rng.choice(loaded)
        if names and rng.random() < 0.7:
            return rng.choice(names)
        return self.w.expr(t, depth)

    def small(self, t: WarpType) -> str:
        """A value of magnitude at most about 1: an input local, or a literal (offsets, rates, forces)."""
        rng = self.w.rng
        loaded = [n for n in self.w.locals_of(t) if n in self.loaded]
        if loaded and rng.random() < 0.8:
            return rng.choice(loaded)
        if t is VEC3:
            return f"wp.vec3({_lit(self.w, -0.5, 0.5)}, {_lit(self.w, -0.5, 0.5)}, {_lit(self.w, -0.5, 0.5)})"
        return _lit(self.w, -1.0, 1.0)

    def var(self, t: WarpType, depth: int = 1) -> str:
        value = self.pick(t, depth)
        return value if value.isidentifier() else self.w.assign_value(value, t)

    def axis(self) -> str:
        """A unit joint axis: a kernel parameter (``unit`` recipe) or a coordinate axis."""
        rng = self.w.rng
        if "axis" in self._params or rng.random() < 0.4:
            return self.param("axis", VEC3, {"kind": "unit"})
        return rng.choice(_AXES)

    def mass(self) -> str:
        """A positive mass: a parameter, or the magnitude of a loaded float plus a floor."""
        w, rng = self.w, self.w.rng
        floats = [n for n in w.locals_of(FLOAT) if n in self.loaded]
        if floats and rng.random() < 0.5:
            return w.assign_value(f"wp.abs({rng.choice(floats)}) + {_lit(w, 0.2, 1.0)}", FLOAT)
        return self.param("mass", FLOAT, {"low": 0.5, "high": 2.0})

    def smat(self, value: str) -> str:
        """Assign a 6x6 matrix local; the first one enables the productions that read 6x6 matrices."""
        w = self.w
        name = w.fresh(MAT33)  # m-prefixed, like the other matrices
        w.emit(f"{name} = {value}")
        w.define(name, SMAT)
        if not self.smat_ready:
            self.smat_ready = True
            for prod in (
                Production(SPATIAL, "({0} @ {1})", (SMAT, SPATIAL), _G, 1.5),
                Production(SPATIAL, "(wp.transpose({0}) @ {1})", (SMAT, SPATIAL), _G, 0.7),
                Production(SMAT, "({0} + {1})", (SMAT, SMAT), _G, 0.5),
                Production(SMAT, "({0} @ {1})", (SMAT, SMAT), _G, 0.5),
                Production(SMAT, "wp.transpose({0})", (SMAT,), _G, 0.5),
                Production(SMAT, "({0} * {1})", (SMAT, FLOAT), _G, 0.5),
                Production(SMAT, "wp.outer({0}, {1})", (SPATIAL, SPATIAL), _G, 0.5),
                Production(SMAT, "wp.spatial_adjoint({0}, {1})", (MAT33, MAT33), _G, 0.5),
            ):
                w.gen.add(prod)
        return name


def _productions(w: KernelWriter) -> list[Production]:
    rng = w.rng
    prods = [
        Production(SPATIAL, "wp.spatial_vector({0}, {1})", (VEC3, VEC3), _G, 1.5),
        Production(SPATIAL, "({0} + {1})", (SPATIAL, SPATIAL), _G, 1.5),
        Production(SPATIAL, "({0} - {1})", (SPATIAL, SPATIAL), _G),
        Production(SPATIAL, "({0} * {1})", (SPATIAL, FLOAT), _G),
        Production(SPATIAL, "({0} * {1})", (FLOAT, SPATIAL), _G, 0.5),
        Production(SPATIAL, "wp.spatial_cross({0}, {1})", (SPATIAL, SPATIAL), _G),
        Production(SPATIAL, "wp.spatial_cross_dual({0}, {1})", (SPATIAL, SPATIAL), _G),
        Production(SPATIAL, "wp.transform_twist({0}, {1})", (TRANSFORM, SPATIAL), _G),
        Production(SPATIAL, "wp.transform_wrench({0}, {1})", (TRANSFORM, SPATIAL), _G),
        Production(SPATIAL, "wp.cw_mul({0}, {1})", (SPATIAL, SPATIAL), _G, 0.3),
        Production(SPATIAL, "(-{0})", (SPATIAL,), _G, 0.3),
        Production(VEC3, "wp.spatial_top({0})", (SPATIAL,), _G, 1.5),
        Production(VEC3, "wp.spatial_bottom({0})", (SPATIAL,), _G, 1.5),
        Production(VEC3, "wp.velocity_at_point({0}, {1})", (SPATIAL, VEC3), _G),
        Production(VEC3, "wp.transform_point({0}, {1})", (TRANSFORM, VEC3), _G),
        Production(VEC3, "wp.transform_vector({0}, {1})", (TRANSFORM, VEC3), _G),
        Production(VEC3, "wp.transform_get_translation({0})", (TRANSFORM,), _G, 0.5),
        Production(FLOAT, "wp.spatial_dot({0}, {1})", (SPATIAL, SPATIAL), _G, 1.5),
        Production(FLOAT, f"{{0}}[{rng.randrange(6)}]", (SPATIAL,), _G),
        Production(FLOAT, "wp.length({0})", (SPATIAL,), _G, 0.3),
        Production(TRANSFORM, "wp.transform({0}, {1})", (VEC3, QUAT), _G),
        Production(TRANSFORM, "({0} * {1})", (TRANSFORM, TRANSFORM), _G, 0.7),
        Production(TRANSFORM, "wp.transform_inverse({0})", (TRANSFORM,), _G, 0.7),
        Production(QUAT, "wp.transform_get_rotation({0})", (TRANSFORM,), _G),
        Production(MAT33, "wp.quat_to_matrix(wp.transform_get_rotation({0}))", (TRANSFORM,), _G, 0.5),
    ]
    return [p for p in prods if rng.random() < 0.85]


# ------------------------------------------------------------------------------------------- motifs
def _point_velocity(w: KernelWriter, st: _State) -> None:
    """Linear velocity of a point on a moving body, and its kinetic energy."""
    rng = w.rng
    qd = st.var(SPATIAL)
    if w.locals_of(TRANSFORM) and rng.random() < 0.5:
        X = rng.choice(w.locals_of(TRANSFORM))
        r = w.assign_value(f"wp.transform_vector({X}, {st.small(VEC3)})", VEC3)
    else:
        r = st.small(VEC3)
    if rng.random() < 0.6:
        vp = w.assign_value(f"wp.velocity_at_point({qd}, {r})", VEC3)
    else:
        vp = w.assign_value(f"wp.spatial_bottom({qd}) + wp.cross(wp.spatial_top({qd}), {r})", VEC3)
    if rng.random() < 0.5:
        w.assign_value(f"0.5 * {st.mass()} * wp.dot({vp}, {vp})", FLOAT)


def _frame_change(w: KernelWriter, st: _State) -> None:
    """A twist or wrench expressed in another frame: directly, or through the 6x6 adjoint."""
    rng = w.rng
    X = st.var(TRANSFORM)
    qd = st.var(SPATIAL)
    if rng.random() < 0.5:
        tw = w.assign_value(f"wp.transform_twist({X}, {qd})", SPATIAL)
        f = st.pick(SPATIAL)
        w.assign_value(f"wp.transform_wrench({X}, {f})", SPATIAL)
        if rng.random() < 0.5:  # and back into the body frame
            w.assign_value(f"wp.transform_twist(wp.transform_inverse({X}), {tw})", SPATIAL)
        return
    if rng.random() < 0.5:
        R = w.assign_value(f"wp.quat_to_matrix(wp.transform_get_rotation({X}))", MAT33)
        p = w.assign_value(f"wp.transform_get_translation({X})", VEC3)
    else:
        R = w.assign_value(f"wp.quat_to_matrix({X}.q)", MAT33)
        p = w.assign_value(f"{X}.p", VEC3)
    Ad = st.smat(f"wp.spatial_adjoint({R}, wp.skew({p}) @ {R})")
    w.assign_value(f"{Ad} @ {qd}", SPATIAL)
    if rng.random() < 0.6:  # a wrench in the world frame, pulled back to the body frame
        w.assign_value(f"wp.transpose({Ad}) @ {st.pick(SPATIAL)}", SPATIAL)


def _inertia_helper(w: KernelWriter, st: _State) -> str:
    """The ``@wp.func`` assembling a spatial inertia (defined once per kernel); returns its name."""
    name = f"{w.name}_spatial_inertia"
    if not st.inertia_helper:
        st.inertia_helper = True
        w.helper_sources.append(
            "\n".join(
                (
                    "@wp.func",
                    f"def {name}(m: float, inertia: wp.mat33, com: wp.vec3) -> wp.spatial_matrix:",
                    "    c = wp.skew(com)",
                    "    top = inertia - m * (c @ c)",
                    "    result = wp.spatial_matrix()",
                    "    for r in range(3):",
                    "        for k in range(3):",
                    "            result[r, k] = top[r, k]",
                    "            result[r, k + 3] = m * c[r, k]",
                    "            result[r + 3, k] = -m * c[r, k]",
                    "        result[r + 3, r + 3] = m",
                    "    return result",
                )
            )
        )
    return name


def _inertia(w: KernelWriter, st: _State) -> None:
    """A body's spatial inertia: momentum, kinetic energy, Newton-Euler bias force."""
    rng = w.rng
    m = st.mass()
    if rng.random() < 0.5:
        principal = ", ".join(_lit(w, 0.1, 1.0) for _ in range(3))
        inertia = w.assign_value(f"wp.diag(wp.vec3({principal}))", MAT33)
    else:
        r = st.small(VEC3)
        inertia = w.assign_value(
            f"{m} * (wp.dot({r}, {r}) * wp.identity(n=3, dtype=float) - wp.outer({r}, {r}))"
            f" + wp.identity(n=3, dtype=float) * {_lit(w, 0.1, 0.5)}",
            MAT33,
        )
    com = st.small(VEC3)
    if w.can_nest and rng.random() < 0.4:  # assembled in place, block by block
        M = st.smat("wp.spatial_matrix()")
        c = w.assign_value(f"wp.skew({com})", MAT33)
        top = w.assign_value(f"{inertia} - {m} * ({c} @ {c})", MAT33)
        with w.block("for r in range(3)"):
            w.define("r", INT)
            with w.block("for k in range(3)"):
                w.define("k", INT)
                w.emit(f"{M}[r, k] = {top}[r, k]")
                w.emit(f"{M}[r, k + 3] = {m} * {c}[r, k]")
                w.emit(f"{M}[r + 3, k] = -{m} * {c}[r, k]")
            w.emit(f"{M}[r + 3, r + 3] = {m}")
    else:
        M = st.smat(f"{_inertia_helper(w, st)}({m}, {inertia}, {com})")
    qd = st.var(SPATIAL)
    h = w.assign_value(f"{M} @ {qd}", SPATIAL)
    for use in rng.sample(("energy", "bias", "gyro"), rng.randint(1, 2)):
        if use == "energy":
            w.assign_value(f"0.5 * wp.spatial_dot({qd}, {h})", FLOAT)
        elif use == "bias":
            a = st.pick(SPATIAL)
            w.assign_value(f"{M} @ {a} + wp.spatial_cross_dual({qd}, {h})", SPATIAL)
        else:
            w.assign_value(f"wp.spatial_cross({qd}, {h})", SPATIAL)


def _joint(w: KernelWriter, st: _State) -> None:
    """A joint's motion subspace, and velocity / acceleration propagation from parent to child."""
    rng = w.rng
    X = st.var(TRANSFORM)
    axis_w = w.assign_value(f"wp.transform_vector({X}, {st.axis()})", VEC3)
    if rng.random() < 0.7:  # revolute
        p = w.assign_value(rng.choice((f"wp.transform_get_translation({X})", f"{X}.p")), VEC3)
        S = w.assign_value(f"wp.spatial_vector({axis_w}, wp.cross({p}, {axis_w}))", SPATIAL)
    else:  # prismatic
        S = w.assign_value(f"wp.spatial_vector(wp.vec3(0.0), {axis_w})", SPATIAL)
    qd_j = st.small(FLOAT)
    v_parent = st.pick(SPATIAL)
    v = w.assign_value(f"{v_parent} + {S} * {qd_j}", SPATIAL)
    if rng.random() < 0.6:
        a_parent = st.pick(SPATIAL)
        qdd = st.small(FLOAT)
        w.assign_value(f"{a_parent} + {S} * {qdd} + wp.spatial_cross({v}, {S} * {qd_j})", SPATIAL)
    if rng.random() < 0.5:  # generalized force of the joint from the wrench it transmits
        w.assign_value(f"wp.spatial_dot({S}, {st.pick(SPATIAL)})", FLOAT)


def _chain(w: KernelWriter, st: _State) -> None:
    """Forward kinematics along a chain of revolute joints, accumulating the end twist."""
    rng = w.rng
    if not w.can_nest:
        return _joint(w, st)
    if not st.joint_arrays:
        st.joint_arrays.append(w.input_array(FLOAT, load=False))
    q_arr = rng.choice(st.joint_arrays)
    X = w.assign_value(rng.choice(("wp.transform_identity(dtype=float)", st.pick(TRANSFORM))), TRANSFORM)
    v = w.assign_value(rng.choice(("wp.spatial_vector()", "wp.spatial_vector(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)")), SPATIAL)
    axis = st.axis()
    offset = f"wp.vec3({_lit(w, -0.5, 0.5)}, {_lit(w, 0.2, 1.0)}, 0.0)"
    rate = st.small(FLOAT)
    n = rng.randint(2, 3 + w.level)
    with w.block(f"for j in range({n})"):
        w.define("j", INT)
        angle = w.assign_value(f"{q_arr}[{w.index_expr(q_arr, 'j')}]", FLOAT)
        w.emit(f"{X} = {X} * wp.transform({offset}, wp.quat_from_axis_angle({axis}, {angle}))")
        S = w.assign_value(f"wp.transform_twist({X}, wp.spatial_vector({axis}, wp.vec3(0.0)))", SPATIAL)
        w.emit(f"{v} = {v} + {S} * {rate}")
    w.assign_value(f"wp.velocity_at_point({v}, wp.transform_get_translation({X}))", VEC3)


def _wrench(w: KernelWriter, st: _State) -> None:
    """Wrenches of a point force and of gravity, summed, and the power they deliver."""
    rng = w.rng
    r = st.small(VEC3)
    F = st.small(VEC3)
    f = w.assign_value(f"wp.spatial_vector(wp.cross({r}, {F}), {F})", SPATIAL)
    if rng.random() < 0.6:
        # gravity in scaled units (a parameter or a literal): keeps forces near 1
        g = st.param("gravity", VEC3) if rng.random() < 0.5 else f"wp.vec3(0.0, {_lit(w, -2.0, -0.5)}, 0.0)"
        m = st.mass()
        com = st.small(VEC3)
        fg = w.assign_value(f"wp.spatial_vector(wp.cross({com}, {m} * {g}), {m} * {g})", SPATIAL)
        f = w.assign_value(f"{f} + {fg}", SPATIAL)
    w.assign_value(f"wp.spatial_dot({st.pick(SPATIAL)}, {f})", FLOAT)


def _integrate(w: KernelWriter, st: _State) -> None:
    """Semi-implicit Euler for a free body: twist update with damping, then the pose."""
    rng = w.rng
    qd = st.var(SPATIAL)
    a = st.pick(SPATIAL)
    dt = st.coef("dt", 0.001, 0.05)
    qd_new = w.assign_value(f"{qd} + {a} * {dt}", SPATIAL)
    if rng.random() < 0.5:
        w.emit(f"{qd_new} = {qd_new} * (1.0 - {st.coef('damping', 0.01, 0.5)} * {dt})")
    omega = w.assign_value(f"wp.spatial_top({qd_new})", VEC3)
    vel = w.assign_value(f"wp.spatial_bottom({qd_new})", VEC3)
    X = st.var(TRANSFORM)
    p = w.assign_value(f"wp.transform_get_translation({X}) + {vel} * {dt}", VEC3)
    q = w.assign_value(f"wp.transform_get_rotation({X})", QUAT)
    q_new = w.assign_value(f"wp.normalize({q} + wp.quat({omega}, 0.0) * {q} * (0.5 * {dt}))", QUAT)
    w.assign_value(f"wp.transform({p}, {q_new})", TRANSFORM)


def _components(w: KernelWriter, st: _State) -> None:
    """Splitting spatial vectors into parts and assembling new ones."""
    rng = w.rng
    s = st.var(SPATIAL)
    for use in rng.sample(("swap", "scalars", "fresh"), rng.randint(1, 2)):
        if use == "swap":  # (angular, linear) <-> (linear, angular)
            w.assign_value(f"wp.spatial_vector(wp.spatial_bottom({s}), wp.spatial_top({s}))", SPATIAL)
        elif use == "scalars":
            parts = ", ".join(f"{s}[{k}]" if rng.random() < 0.6 else w.expr(FLOAT, 1) for k in range(6))
            w.assign_value(f"wp.spatial_vector({parts})", SPATIAL)
        else:  # a fresh vector filled component by component
            fresh = w.assign_value("wp.spatial_vector()", SPATIAL)
            for k in sorted(rng.sample(range(6), rng.randint(1, 3))):
                w.emit(f"{fresh}[{k}] = {w.expr(FLOAT, 2, exclude=[fresh])}")


_MOTIFS = {
    "point_velocity": (_point_velocity, 1.5),
    "frame_change": (_frame_change, 2.0),
    "inertia": (_inertia, 2.0),
    "joint": (_joint, 2.0),
    "chain": (_chain, 1.0),
    "wrench": (_wrench, 1.5),
    "integrate": (_integrate, 1.5),
    "components": (_components, 1.0),
}


def _load_pose(w: KernelWriter, st: _State) -> None:
    """A body pose read from arrays: a transform (rotation re-normalised) or position + unit quaternion."""
    rng = w.rng
    if rng.random() < 0.6:
        arr = w.input_array(TRANSFORM, load=False)
        raw = w.assign_value(f"{arr}[i]", TRANSFORM)
        w.define(raw, _RAW_TRANSFORM)  # only its re-normalised copy is used
        if rng.random() < 0.5:
            w.assign_value(f"wp.transform({raw}.p, wp.normalize({raw}.q))", TRANSFORM)
        else:
            w.assign_value(
                f"wp.transform(wp.transform_get_translation({raw}), wp.normalize(wp.transform_get_rotation({raw})))",
                TRANSFORM,
            )
    else:
        pos = w.input_array(VEC3, load=False)
        rot = w.input_array(QUAT, load=False, recipe={"kind": "unit"})
        w.assign_value(f"wp.transform({pos}[i], {rot}[i])", TRANSFORM)


def _domain_helpers(w: KernelWriter) -> list[tuple[str, tuple[tuple[str, WarpType], ...], WarpType, str]]:
    """``@wp.func`` helpers an articulation module defines: (suffix, parameters, result, body)."""
    return [
        (
            "point_force_wrench",
            (("r", VEC3), ("f", VEC3)),
            SPATIAL,
            "    return wp.spatial_vector(wp.cross(r, f), f)",
        ),
        (
            "twist_to_world",
            (("x", TRANSFORM), ("v", SPATIAL)),
            SPATIAL,
            "    w = wp.quat_rotate(x.q, wp.spatial_top(v))\n"
            "    u = wp.quat_rotate(x.q, wp.spatial_bottom(v)) + wp.cross(x.p, w)\n"
            "    return wp.spatial_vector(w, u)",
        ),
        (
            "kinetic_energy",
            (("v", SPATIAL), ("m", FLOAT), ("inertia", MAT33)),
            FLOAT,
            "    w = wp.spatial_top(v)\n"
            "    u = wp.spatial_bottom(v)\n"
            "    return 0.5 * (m * wp.dot(u, u) + wp.dot(w, inertia @ w))",
        ),
        (
            "revolute_subspace",
            (("x", TRANSFORM), ("axis", VEC3)),
            SPATIAL,
            "    a = wp.transform_vector(x, axis)\n"
            "    return wp.spatial_vector(a, wp.cross(wp.transform_get_translation(x), a))",
        ),
        (
            "damped_twist",
            (("v", SPATIAL), ("c", FLOAT)),
            SPATIAL,
            "    k = 1.0 / (1.0 + wp.abs(c))\n"
            "    return wp.spatial_vector(wp.spatial_top(v) * k, wp.spatial_bottom(v) * k)",
        ),
        (
            "wrench_to_body",
            (("x", TRANSFORM), ("f", SPATIAL)),
            SPATIAL,
            "    q_inv = wp.quat_inverse(wp.transform_get_rotation(x))\n"
            "    p = wp.transform_get_translation(x)\n"
            "    force = wp.spatial_bottom(f)\n"
            "    torque = wp.spatial_top(f) - wp.cross(p, force)\n"
            "    return wp.spatial_vector(wp.quat_rotate(q_inv, torque), wp.quat_rotate(q_inv, force))",
        ),
        (
            "relative_twist",
            (("a", SPATIAL), ("b", SPATIAL), ("r", VEC3)),
            VEC3,
            "    return wp.velocity_at_point(a, r) - wp.velocity_at_point(b, r)",
        ),
        (
            "power",
            (("v", SPATIAL), ("f", SPATIAL)),
            FLOAT,
            "    return wp.dot(wp.spatial_top(v), wp.spatial_top(f))"
            " + wp.dot(wp.spatial_bottom(v), wp.spatial_bottom(f))",
        ),
    ]


def _add_helpers(w: KernelWriter) -> None:
    """This level's number of domain helpers, each called once and available to later expressions.

    (No random ``make_helper`` helpers here: products of spatial vectors are bilinear, and random helpers
    that feed on their own results grow past what float32 finite differences can check.)
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
        args = ", ".join(f"{{{k}}}" for k in range(len(params)))
        prod = Production(result, f"{name}({args})", tuple(t for _, t in params), "helper", 1.0)
        w.gen.add(prod)
        w.call_helper(prod)


@register_category("spatial", groups={"arith", "vector"})
def spatial(w: KernelWriter) -> None:
    """Spatial vectors and rigid-body dynamics: twists, wrenches, spatial cross products, adjoints, inertia."""
    rng = w.rng
    st = _State(w)
    before = set(w.scope)
    w.input_array(SPATIAL)
    _load_pose(w, st)
    for k in range(max(0, w.limits.inputs - 1)):
        # at most two poses (each up to two arrays): the writer has seven input names
        t = rng.choice((SPATIAL, SPATIAL, VEC3, FLOAT, FLOAT, TRANSFORM if k == 0 else SPATIAL))
        if t is TRANSFORM:
            _load_pose(w, st)
        else:
            w.input_array(t)
    st.loaded = set(w.scope) - before
    if rng.random() < 0.3:
        st.joint_arrays.append(w.input_array(FLOAT, load=False))
    for prod in _productions(w):
        w.gen.add(prod)
    _add_helpers(w)
    names = list(_MOTIFS)
    count = {1: 1, 2: 1, 3: 2, 4: 2, 5: 3}[w.level] + (1 < w.level < 5 and rng.random() < 0.3)
    for motif in rng.choices(names, [_MOTIFS[n][1] for n in names], k=count):
        _MOTIFS[motif][0](w, st)
        if rng.random() < 0.4:
            w.assign(rng.choice((SPATIAL, VEC3, FLOAT)), reduced_depth(w))
    for _ in range(rng.randint(0, max(1, w.limits.statements // 3))):
        w.assign(rng.choice((SPATIAL, SPATIAL, VEC3, FLOAT)), reduced_depth(w))
    store(w, SPATIAL, reduced_depth(w))
    extra = [t for t in (VEC3, FLOAT, TRANSFORM, SMAT) if w.locals_of(t) and rng.random() < 0.35]
    for t in extra[:2]:
        store(w, t, reduced_depth(w))
