"""Quaternion and rigid-transform kernels: rigid-body poses, frame composition, joint rotations.

A kernel is a handful of rng-drawn *motifs* (orientation integration, axis-angle round trips, PD
attitude control, hemisphere-corrected slerp, Euler/RPY conversions with limits, swing-twist joint
limits, frame composition and inversion, matrix conversions, forward-kinematics chains, shortest-arc
alignment), each with rng-chosen variants and operands, between typed random statements over the
category's productions.

Every quaternion value is a unit quaternion: inputs use the ``unit`` recipe, transforms read from
arrays get their rotation re-normalised, and every production that returns a ``quat`` preserves unit
length (products, inverses, axis-angle with a normalised axis, slerp, twist, Euler angles). So the
conversions that divide by the norm (``quat_to_euler``) or need a rotation (``quat_from_matrix``)
stay in their domain.
"""

from __future__ import annotations

from ..category import register_category
from ..expressions import Production
from ..types import FLOAT, INT, MAT33, MAT44, QUAT, TRANSFORM, VEC3, WarpType, float_literal
from ..writer import KernelWriter
from .common import reduced_depth, store

_G = "quat"
_AXES = ("wp.vec3(1.0, 0.0, 0.0)", "wp.vec3(0.0, 1.0, 0.0)", "wp.vec3(0.0, 0.0, 1.0)")
#: A transform read from an array, before its rotation is re-normalised: kept out of expressions.
_RAW_TRANSFORM = WarpType("transform_raw", "wp.transform", 7)
_TAIT_BRYAN = ((0, 1, 2), (2, 1, 0), (1, 2, 0), (0, 2, 1), (2, 0, 1), (1, 0, 2))
_PROPER = ((2, 0, 2), (0, 1, 0), (2, 1, 2))


def _lit(w: KernelWriter, low: float, high: float) -> str:
    return float_literal(w.rng, low, high)


class _State:
    """What the motifs of one kernel know about its values."""

    def __init__(self, w: KernelWriter):
        self.w = w
        self.joint_arrays: list[str] = []  # float arrays read along a chain
        self._params: dict[str, str] = {}

    def param(self, name: str, t: WarpType, recipe: dict) -> str:
        if name not in self._params:
            self._params[name] = self.w.param(t, name, recipe)
        return self._params[name]

    def coef(self, name: str, low: float, high: float) -> str:
        if name in self._params or self.w.rng.random() < 0.4:
            return self.param(name, FLOAT, {"low": low, "high": high})
        return _lit(self.w, low, high)

    def axis(self) -> str:
        """A unit axis: a kernel parameter (``unit`` recipe), a coordinate axis, or a normalised vector."""
        rng = self.w.rng
        roll = rng.random()
        if "axis" in self._params or roll < 0.3:
            return self.param("axis", VEC3, {"kind": "unit"})
        if roll < 0.7:
            return rng.choice(_AXES)
        return f"wp.normalize({self.var(VEC3)} + wp.vec3({_lit(self.w, 0.5, 1.5)}, 0.0, 0.0))"

    def pick(self, t: WarpType, depth: int = 1) -> str:
        names = self.w.locals_of(t)
        if names and self.w.rng.random() < 0.75:
            return self.w.rng.choice(names)
        return self.w.expr(t, depth)

    def var(self, t: WarpType, depth: int = 1) -> str:
        value = self.pick(t, depth)
        return value if value.isidentifier() else self.w.assign_value(value, t)

    def unpack(self, call: str, types: tuple[WarpType, ...]) -> list[str]:
        w = self.w
        names = [w.fresh(t) for t in types]
        w.emit(f"{', '.join(names)} = {call}")
        for name, t in zip(names, types, strict=True):
            w.define(name, t)
        return names

    def axis_angle(self, q: str) -> tuple[str, str]:
        """``axis, angle`` of ``q``: the tuple-returning or the output-argument overload."""
        w = self.w
        if w.rng.random() < 0.6:
            axis, angle = self.unpack(f"wp.quat_to_axis_angle({q})", (VEC3, FLOAT))
        else:
            axis = w.assign_value(w.rng.choice(("wp.vec3()", "wp.vec3(0.0)")), VEC3)
            angle = w.assign_value("float(0.0)", FLOAT)
            w.emit(f"wp.quat_to_axis_angle({q}, {axis}, {angle})")
        return axis, angle


def _productions(w: KernelWriter) -> list[Production]:
    rng = w.rng
    seq = rng.choice(_TAIT_BRYAN + _PROPER)
    seq_text = ", ".join(map(str, seq))
    ax = rng.choice(_AXES)
    t = _lit(w, 0.1, 0.9)
    scale = ", ".join(_lit(w, 0.5, 2.0) for _ in range(3))
    prods = [
        # unit quaternions only
        Production(QUAT, f"wp.quat_from_axis_angle({ax}, {{0}})", (FLOAT,), _G),
        Production(QUAT, "wp.quat_rpy({0}, {1}, {2})", (FLOAT, FLOAT, FLOAT), _G, 0.7),
        Production(QUAT, f"wp.quat_slerp({{0}}, {{1}}, {t})", (QUAT, QUAT), _G, 0.3),
        Production(QUAT, "wp.quat_slerp({0}, {1}, wp.clamp({2}, 0.0, 1.0))", (QUAT, QUAT, FLOAT), _G, 0.2),
        Production(QUAT, f"wp.quat_twist({ax}, {{0}})", (QUAT,), _G, 0.5),
        Production(QUAT, f"wp.quat_from_euler({{0}}, {seq_text})", (VEC3,), _G, 0.5),
        Production(QUAT, "wp.transform_get_rotation({0})", (TRANSFORM,), _G),
        Production(QUAT, "wp.normalize(wp.quaternion({0}, {1}))", (VEC3, FLOAT), _G, 0.3),
        Production(QUAT, "wp.mul({0}, {1})", (QUAT, QUAT), _G, 0.3),
        # vectors
        Production(VEC3, "wp.quat_rotate_inv({0}, {1})", (QUAT, VEC3), _G),
        Production(VEC3, "wp.transform_point({0}, {1})", (TRANSFORM, VEC3), _G),
        Production(VEC3, "wp.transform_vector({0}, {1})", (TRANSFORM, VEC3), _G),
        Production(VEC3, "wp.transform_get_translation({0})", (TRANSFORM,), _G, 0.7),
        Production(VEC3, "wp.quat_to_rpy({0})", (QUAT,), _G, 0.4),
        Production(VEC3, f"wp.quat_to_euler({{0}}, {seq_text})", (QUAT,), _G, 0.4),
        Production(VEC3, "(wp.quat_to_matrix({0}) @ {1})", (QUAT, VEC3), _G, 0.3),
        Production(VEC3, "wp.transform_point({0}, {1})", (MAT44, VEC3), _G, 0.3),
        # scalars
        Production(FLOAT, f"wp.quat_twist_angle({ax}, {{0}})", (QUAT,), _G, 0.4),
        Production(FLOAT, f"wp.quat_twist_angle_signed({ax}, {{0}})", (QUAT,), _G, 0.4),
        Production(FLOAT, "{0}[{k}]", (QUAT,), _G, 0.7),
        Production(FLOAT, "wp.dot({0}, {1})", (QUAT, QUAT), _G, 0.5),
        Production(FLOAT, "(2.0 * wp.acos(wp.clamp(wp.abs(wp.dot({0}, {1})), 0.0, 1.0)))", (QUAT, QUAT), _G, 0.2),
        # transforms
        Production(TRANSFORM, "wp.transform({0}, {1})", (VEC3, QUAT), _G, 1.5),
        Production(TRANSFORM, "wp.transform_multiply({0}, {1})", (TRANSFORM, TRANSFORM), _G),
        Production(TRANSFORM, "({0} * {1})", (TRANSFORM, TRANSFORM), _G),
        Production(TRANSFORM, "wp.transform_inverse({0})", (TRANSFORM,), _G),
        Production(TRANSFORM, "wp.transformation({0}, {1}, dtype=float)", (VEC3, QUAT), _G, 0.3),
        # matrices
        Production(MAT44, "wp.transform_to_matrix({0})", (TRANSFORM,), _G),
        Production(MAT44, f"wp.transform_compose({{0}}, {{1}}, wp.vec3({scale}))", (VEC3, QUAT), _G, 0.5),
        Production(MAT44, "({0} @ {1})", (MAT44, MAT44), _G, 0.5),
    ]
    return [p for p in prods if rng.random() < 0.8]


# ------------------------------------------------------------------------------------------- motifs
def _integrate(w: KernelWriter, st: _State) -> None:
    """Semi-implicit orientation (and position) update from an angular velocity."""
    rng = w.rng
    q = st.var(QUAT)
    omega = st.var(VEC3)
    dt = st.coef("dt", 0.001, 0.05)
    if rng.random() < 0.5:
        q_new = w.assign_value(f"wp.normalize({q} + wp.quat({omega}, 0.0) * {q} * (0.5 * {dt}))", QUAT)
    else:
        angle = w.assign_value(f"wp.length({omega}) * {dt}", FLOAT)
        dq = w.assign_value(f"wp.quat_from_axis_angle(wp.normalize({omega}), {angle})", QUAT)
        q_new = w.assign_value(rng.choice((f"{dq} * {q}", f"wp.mul({dq}, {q})")), QUAT)
    if rng.random() < 0.6:
        p = st.var(VEC3)
        v = st.pick(VEC3)
        p_new = w.assign_value(f"{p} + {v} * {dt}", VEC3)
        w.assign_value(f"wp.transform({p_new}, {q_new})", TRANSFORM)


def _axis_angle(w: KernelWriter, st: _State) -> None:
    """Axis-angle round trips: rotation vectors and fractional rotations."""
    rng = w.rng
    q = st.var(QUAT)
    axis, angle = st.axis_angle(q)
    for use in rng.sample(("rotvec", "fraction", "rotate"), rng.randint(1, 2)):
        if use == "rotvec":
            w.assign_value(f"{axis} * {angle}", VEC3)
        elif use == "fraction":
            s = st.coef("blend", 0.1, 0.9)
            w.assign_value(f"wp.quat_from_axis_angle({axis}, {angle} * {s})", QUAT)
        else:
            w.assign_value(f"wp.quat_rotate(wp.quat_from_axis_angle({axis}, -{angle}), {st.pick(VEC3)})", VEC3)


def _pd_control(w: KernelWriter, st: _State) -> None:
    """Attitude PD control: the error rotation in the short hemisphere, as a torque."""
    rng = w.rng
    q = st.var(QUAT)
    target = st.var(QUAT)
    err = w.assign_value(
        rng.choice((f"{target} * wp.quat_inverse({q})", f"wp.mul({target}, wp.quat_inverse({q}))")), QUAT
    )
    with w.block(f"if {err}[3] < 0.0"):
        w.emit(f"{err} = -{err}")
    kp, kd = st.coef("kp", 0.5, 5.0), st.coef("kd", 0.05, 1.0)
    omega = st.pick(VEC3)
    if rng.random() < 0.5:
        axis, angle = st.axis_angle(err)
        w.assign_value(f"{kp} * {angle} * {axis} - {kd} * {omega}", VEC3)
    else:  # small-angle form: twice the vector part
        w.assign_value(f"{kp} * 2.0 * wp.vec3({err}[0], {err}[1], {err}[2]) - {kd} * {omega}", VEC3)


def _slerp(w: KernelWriter, st: _State) -> None:
    """Interpolation between two orientations, taking the shorter arc."""
    rng = w.rng
    q0 = st.var(QUAT)
    others = [q for q in w.locals_of(QUAT) if q != q0]
    if others and rng.random() < 0.8:
        q1 = w.assign_value(rng.choice(others), QUAT)
    else:
        q1 = w.assign_value(f"{q0} * wp.quat_from_axis_angle({st.axis()}, {_lit(w, 0.3, 2.5)})", QUAT)
    with w.block(f"if wp.dot({q0}, {q1}) < 0.0"):
        w.emit(f"{q1} = -{q1}")
    if rng.random() < 0.5:
        t = st.coef("blend", 0.0, 1.0)
    else:
        t = w.assign_value(f"wp.clamp({st.pick(FLOAT)} * 0.5 + 0.5, 0.0, 1.0)", FLOAT)
    qs = w.assign_value(f"wp.quat_slerp({q0}, {q1}, {t})", QUAT)
    if rng.random() < 0.5:
        w.assign_value(f"wp.quat_rotate({qs}, {st.pick(VEC3)})", VEC3)


def _limit_component(w: KernelWriter, v: str) -> str:
    """A copy of vec3 ``v`` with one component clamped (a new value: Warp's adjoint does not support
    in-place component writes into values that depend on the inputs)."""
    k = w.rng.randrange(3)
    lim = _lit(w, 0.2, 1.2)
    parts = [f"wp.clamp({v}[{c}], -{lim}, {lim})" if c == k else f"{v}[{c}]" for c in range(3)]
    return w.assign_value(f"wp.vec3({', '.join(parts)})", VEC3)


def _euler(w: KernelWriter, st: _State) -> None:
    """Euler / roll-pitch-yaw conversions, with an angle limit applied in between."""
    rng = w.rng
    q = st.var(QUAT)
    if rng.random() < 0.4:
        rpy = _limit_component(w, w.assign_value(f"wp.quat_to_rpy({q})", VEC3))
        w.assign_value(f"wp.quat_rpy({rpy}[0], {rpy}[1], {rpy}[2])", QUAT)
        return
    seq = ", ".join(map(str, rng.choice(_TAIT_BRYAN)))
    e = w.assign_value(f"wp.quat_to_euler({q}, {seq})", VEC3)
    if rng.random() < 0.5:
        e = _limit_component(w, e)
    else:
        e = w.assign_value(f"{e} * {st.coef('blend', 0.1, 0.9)}", VEC3)
    w.assign_value(f"wp.quat_from_euler({e}, {seq})", QUAT)


def _swing_twist(w: KernelWriter, st: _State) -> None:
    """Swing-twist decomposition about a joint axis and a twist limit."""
    rng = w.rng
    q = st.var(QUAT)
    axis = st.axis()
    if not axis.isidentifier():
        axis = w.assign_value(axis, VEC3)
    twist = w.assign_value(f"wp.quat_twist({axis}, {q})", QUAT)
    swing = w.assign_value(f"{q} * wp.quat_inverse({twist})", QUAT)
    fn = rng.choice(("wp.quat_twist_angle_signed", "wp.quat_twist_angle"))
    angle = w.assign_value(f"{fn}({axis}, {q})", FLOAT)
    if rng.random() < 0.7:
        lo, hi = _lit(w, -1.5, -0.1), _lit(w, 0.1, 1.5)
        limited = w.assign_value(f"wp.clamp({angle}, {lo}, {hi})", FLOAT)
        w.assign_value(f"{swing} * wp.quat_from_axis_angle({axis}, {limited})", QUAT)


def _frames(w: KernelWriter, st: _State) -> None:
    """Composing, inverting and applying rigid frames; reading and writing their parts."""
    rng = w.rng
    a = st.var(TRANSFORM)
    b = st.var(TRANSFORM)
    for use in rng.sample(("compose", "relative", "apply", "edit", "parts"), rng.randint(2, 3)):
        if use == "compose":
            w.assign_value(rng.choice((f"{a} * {b}", f"wp.transform_multiply({a}, {b})")), TRANSFORM)
        elif use == "relative":
            rel = w.assign_value(f"wp.transform_inverse({a}) * {b}", TRANSFORM)
            w.assign_value(f"wp.transform_get_translation({rel})", VEC3)
        elif use == "apply":
            p = st.pick(VEC3)
            pw = w.assign_value(f"wp.transform_point({a}, {p})", VEC3)
            if rng.random() < 0.5:
                w.assign_value(f"wp.transform_point(wp.transform_inverse({a}), {pw})", VEC3)
            else:
                w.assign_value(f"wp.transform_vector({b}, {st.pick(VEC3)})", VEC3)
        elif use == "edit":  # fill a fresh frame field by field (each field written once)
            c = w.assign_value("wp.transform_identity(dtype=float)", TRANSFORM)
            p, q = st.pick(VEC3), st.pick(QUAT)
            if rng.random() < 0.5:
                w.emit(f"{c}.p = {p}")
                w.emit(f"{c}.q = {q}")
            else:
                w.emit(f"wp.transform_set_translation({c}, {p})")
                w.emit(f"wp.transform_set_rotation({c}, {q})")
        else:
            w.assign_value(rng.choice((f"{a}.p", f"wp.transform_get_translation({a})")), VEC3)
            w.assign_value(rng.choice((f"{b}.q", f"wp.transform_get_rotation({b})")), QUAT)


def _matrices(w: KernelWriter, st: _State) -> None:
    """Conversions between quaternions, rotation matrices and 4x4 transforms."""
    rng = w.rng
    uses = rng.sample(("rot", "homog", "compose"), rng.randint(1, 2))
    for use in uses:
        if use == "rot":
            R = w.assign_value(f"wp.quat_to_matrix({st.pick(QUAT)})", MAT33)
            if rng.random() < 0.5:  # a product of rotations is a rotation
                R2 = w.assign_value(f"wp.quat_to_matrix({st.pick(QUAT)})", MAT33)
                w.assign_value(f"wp.quat_from_matrix({R} @ {R2})", QUAT)
            else:
                w.assign_value(f"wp.quat_from_matrix({R})", QUAT)
                w.assign_value(f"{R} @ {st.pick(VEC3)}", VEC3)
        elif use == "homog":
            M = w.assign_value(f"wp.transform_to_matrix({st.pick(TRANSFORM)})", MAT44)
            if rng.random() < 0.5:
                w.assign_value(f"wp.transform_from_matrix({M})", TRANSFORM)
            else:
                w.assign_value(f"wp.quat_from_matrix({M})", QUAT)
            w.assign_value(f"wp.transform_point({M}, {st.pick(VEC3)})", VEC3)
        else:
            scale = ", ".join(_lit(w, 0.5, 2.0) for _ in range(3))
            M = w.assign_value(f"wp.transform_compose({st.pick(VEC3)}, {st.pick(QUAT)}, wp.vec3({scale}))", MAT44)
            p, q, s = st.unpack(f"wp.transform_decompose({M})", (VEC3, QUAT, VEC3))
            w.assign_value(f"wp.transform({p}, {q})", TRANSFORM)
            w.assign_value(f"wp.cw_mul({s}, {st.pick(VEC3)})", VEC3)


def _chain(w: KernelWriter, st: _State) -> None:
    """Forward kinematics: compose joint frames along a chain of revolute joints."""
    rng = w.rng
    if not w.can_nest:
        return _frames(w, st)
    if not st.joint_arrays:
        st.joint_arrays.append(w.input_array(FLOAT, load=False))
    q_arr = rng.choice(st.joint_arrays)
    X = w.assign_value(
        rng.choice(
            (
                "wp.transform_identity(dtype=float)",
                f"wp.transform({st.pick(VEC3)}, wp.quat_identity(dtype=float))",
                st.pick(TRANSFORM),
            )
        ),
        TRANSFORM,
    )
    axis = st.axis()
    offset = f"wp.vec3({_lit(w, -0.5, 0.5)}, {_lit(w, 0.2, 1.0)}, 0.0)"
    n = rng.randint(2, 3 + w.level)
    with w.block(f"for j in range({n})"):
        w.define("j", INT)
        angle = w.assign_value(f"{q_arr}[{w.index_expr(q_arr, 'j')}]", FLOAT)
        joint = f"wp.quat_from_axis_angle({axis}, {angle})"
        w.emit(f"{X} = {X} * wp.transform({offset}, {joint})")
    w.assign_value(f"wp.transform_point({X}, {st.pick(VEC3)})", VEC3)


def _align(w: KernelWriter, st: _State) -> None:
    """Shortest-arc rotation taking one direction onto another."""
    rng = w.rng
    # two different directions (parallel ones leave the rotation axis undefined)
    vecs = w.locals_of(VEC3)
    first = rng.choice(vecs) if vecs else w.expr(VEC3, 1)
    others = [v for v in vecs if v != first]
    second = rng.choice(others) if others and rng.random() < 0.7 else rng.choice(_AXES)
    a = w.assign_value(f"wp.normalize({first})", VEC3)
    b = w.assign_value(f"wp.normalize({second})", VEC3)
    c = w.assign_value(f"wp.cross({a}, {b})", VEC3)
    if rng.random() < 0.5:
        q = w.assign_value(f"wp.normalize(wp.quat({c}[0], {c}[1], {c}[2], 1.0 + wp.dot({a}, {b})))", QUAT)
    else:
        q = w.assign_value(f"wp.normalize(wp.quaternion({c}, 1.0 + wp.dot({a}, {b})))", QUAT)
    w.assign_value(f"wp.quat_rotate({q}, {a}) - {b}", VEC3)


_MOTIFS = {
    "integrate": (_integrate, 2.0),
    "axis_angle": (_axis_angle, 1.5),
    "pd": (_pd_control, 1.5),
    "slerp": (_slerp, 1.5),
    "euler": (_euler, 1.5),
    "swing_twist": (_swing_twist, 1.5),
    "frames": (_frames, 2.5),
    "matrices": (_matrices, 1.5),
    "chain": (_chain, 1.5),
    "align": (_align, 1.0),
}


def _load_pose(w: KernelWriter, st: _State) -> None:
    """A rigid pose read from arrays: a transform (its rotation re-normalised) or position + unit quaternion."""
    rng = w.rng
    form = rng.randrange(3)
    if form == 0:
        arr = w.input_array(TRANSFORM, load=False)
        raw = w.assign_value(f"{arr}[i]", TRANSFORM)
        w.define(raw, _RAW_TRANSFORM)  # only its re-normalised copy is used
        w.assign_value(f"wp.transform({raw}.p, wp.normalize({raw}.q))", TRANSFORM)
    elif form == 1:
        arr = w.input_array(TRANSFORM, load=False)
        w.assign_value(
            f"wp.transform(wp.transform_get_translation({arr}[i]), wp.normalize(wp.transform_get_rotation({arr}[i])))",
            TRANSFORM,
        )
    else:
        pos = w.input_array(VEC3, load=False)
        rot = w.input_array(QUAT, load=False, recipe={"kind": "unit"})
        p = w.assign_value(f"{pos}[i]", VEC3)
        q = w.assign_value(f"{rot}[i]", QUAT)
        if rng.random() < 0.6:
            w.assign_value(f"wp.transform({p}, {q})", TRANSFORM)


def _domain_helpers(w: KernelWriter) -> list[tuple[str, tuple[tuple[str, WarpType], ...], WarpType, str]]:
    """``@wp.func`` helpers a rigid-body module defines: (suffix, parameters, result, body)."""
    return [
        (
            "rotation_distance",
            (("a", QUAT), ("b", QUAT)),
            FLOAT,
            "    d = wp.dot(a, b)\n    return 1.0 - d * d",
        ),
        (
            "lerp_pose",
            (("a", TRANSFORM), ("b", TRANSFORM), ("t", FLOAT)),
            TRANSFORM,
            "    s = wp.clamp(t, 0.0, 1.0)\n"
            "    p = wp.lerp(wp.transform_get_translation(a), wp.transform_get_translation(b), s)\n"
            "    q = wp.quat_slerp(wp.transform_get_rotation(a), wp.transform_get_rotation(b), s)\n"
            "    return wp.transform(p, q)",
        ),
        (
            "world_to_local",
            (("x", TRANSFORM), ("p", VEC3)),
            VEC3,
            "    return wp.quat_rotate_inv(wp.transform_get_rotation(x), p - wp.transform_get_translation(x))",
        ),
        (
            "yaw",
            (("q", QUAT),),
            FLOAT,
            "    return wp.atan2(2.0 * (q[3] * q[2] + q[0] * q[1]), 1.0 - 2.0 * (q[1] * q[1] + q[2] * q[2]))",
        ),
        (
            "heading",
            (("q", QUAT),),
            QUAT,
            "    e = wp.quat_to_rpy(q)\n    return wp.quat_rpy(0.0, 0.0, e[2])",
        ),
        (
            "exp_map",
            (("v", VEC3),),
            QUAT,
            "    theta = wp.length(v)\n"
            "    q = wp.quat_identity(dtype=float)\n"
            "    if theta > 1.0e-6:\n"
            "        q = wp.quat_from_axis_angle(v / theta, theta)\n"
            "    return q",
        ),
        (
            "log_map",
            (("q", QUAT),),
            VEC3,
            "    axis, angle = wp.quat_to_axis_angle(q)\n    return axis * angle",
        ),
    ]


def _add_helpers(w: KernelWriter) -> None:
    """This level's number of helpers, each called once: mostly domain helpers, sometimes a random helper
    over quaternions only (unit quaternions in, unit quaternions out, so it cannot blow up)."""
    rng = w.rng
    domain = _domain_helpers(w)
    rng.shuffle(domain)
    low, high = w.limits.helpers
    for _ in range(rng.randint(low, high)):
        if domain and rng.random() < 0.85:
            suffix, params, result, body = domain.pop()
            name = f"{w.name}_{suffix}"
            signature = ", ".join(f"{p}: {t.annotation}" for p, t in params)
            w.helper_sources.append(f"@wp.func\ndef {name}({signature}) -> {result.annotation}:\n{body}")
            args = ", ".join(f"{{{k}}}" for k in range(len(params)))
            prod = Production(result, f"{name}({args})", tuple(t for _, t in params), "helper", 1.0)
            w.gen.add(prod)
        else:
            prod = w.make_helper((QUAT,))
        w.call_helper(prod)


@register_category("quaternion", groups={"arith", "vector"})
def quaternion(w: KernelWriter) -> None:
    """Quaternions and rigid transforms: axis-angle, slerp, Euler/RPY, swing-twist, frame composition."""
    rng = w.rng
    st = _State(w)
    _load_pose(w, st)
    for _ in range(max(0, w.limits.inputs - 1)):
        t = rng.choice((QUAT, VEC3, VEC3, FLOAT, TRANSFORM))
        if t is QUAT:
            w.input_array(QUAT, recipe={"kind": "unit"})
        elif t is TRANSFORM:
            _load_pose(w, st)
        else:
            w.input_array(t)
    if rng.random() < 0.3:
        st.joint_arrays.append(w.input_array(FLOAT, load=False))
    poses = w.locals_of(TRANSFORM)
    if poses and not w.locals_of(QUAT):  # unpack a pose, as rigid-body code usually does
        pose = rng.choice(poses)
        w.assign_value(rng.choice((f"{pose}.q", f"wp.transform_get_rotation({pose})")), QUAT)
        if rng.random() < 0.5:
            w.assign_value(rng.choice((f"{pose}.p", f"wp.transform_get_translation({pose})")), VEC3)
    for prod in _productions(w):
        w.gen.add(prod)
    _add_helpers(w)
    names = list(_MOTIFS)
    count = {1: 1, 2: 1, 3: 2, 4: 2, 5: 3}[w.level] + (1 < w.level < 5 and rng.random() < 0.3)
    for motif in rng.choices(names, [_MOTIFS[n][1] for n in names], k=count):
        _MOTIFS[motif][0](w, st)
        if rng.random() < 0.4:
            w.assign(rng.choice((QUAT, VEC3, TRANSFORM, FLOAT)), reduced_depth(w))
    for _ in range(rng.randint(0, max(1, w.limits.statements // 3))):
        w.assign(rng.choice((QUAT, VEC3, VEC3, TRANSFORM, FLOAT)), reduced_depth(w))
    primary = rng.choice((QUAT, TRANSFORM, VEC3))
    store(w, primary, reduced_depth(w))
    for t in (QUAT, TRANSFORM, VEC3, FLOAT):
        if t is not primary and w.locals_of(t) and rng.random() < 0.35:
            store(w, t, reduced_depth(w))
