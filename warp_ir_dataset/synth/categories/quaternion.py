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

Vector components are never written in place into values that depend on the inputs (Warp's adjoint does
not support it): a limited angle is a new vector, and frames are only edited field by field when fresh.
"""

from __future__ import annotations

import math

from ..category import register_category
from ..expressions import Production
from ..types import FLOAT, MAT33, MAT44, QUAT, TRANSFORM, VEC3
from ..writer import KernelWriter
from . import _linalg as la
from .common import Vocabulary, load_input

_G = "quat"
_TAIT_BRYAN = ((0, 1, 2), (2, 1, 0), (1, 2, 0), (0, 2, 1), (2, 0, 1), (1, 0, 2))
_PROPER = ((2, 0, 2), (0, 1, 0), (2, 1, 2))

VOCABULARY = Vocabulary(
    inputs={
        "quat": (("orientations", "rot"), ("target_rots", "target"), ("rest_rots", "rest"), ("spins", "spin_q")),
        "vec3": (
            ("angular_velocities", "omega"),
            ("velocities", "vel"),
            ("positions", "pos"),
            ("offsets", "offset"),
            ("directions", "dir"),
        ),
        "float": (("angles", "angle"), ("phases", "phase"), ("rates", "rate")),
        "transform": (("body_q", "body_pose"), ("poses", "pose_in"), ("targets_x", "target_pose")),
    },
    outputs={
        "quat": ("rot_out", "q_out", "orient_out"),
        "transform": ("body_q_out", "pose_out"),
        "vec3": ("torque_out", "points_out", "vec_out"),
        "float": ("angle_out", "error_out"),
        "mat44": ("xform_out",),
    },
    locals={
        "transform": ("pose", "X_wb", "frame", "X_body"),
        "quat": ("rotation", "q", "orientation"),
        "vec3": ("p_local", "direction", "point"),
        "float": ("angle_term", "measure"),
    },
)


def _axis(w: KernelWriter) -> str:
    """A unit axis: a joint axis (parameter or coordinate axis), or a normalised vector kept off zero."""
    if w.rng.random() < 0.7:
        return la.joint_axis(w)
    return f"wp.normalize({la.named(w, VEC3, ('dir_raw', 'axis_raw'))} + wp.vec3({w.small(1.5, 2.5)}, 0.0, 0.0))"


def _palette(w: KernelWriter) -> list[Production]:
    rng = w.rng
    seq = ", ".join(map(str, w.choose(_TAIT_BRYAN + _PROPER)))
    ax = w.choose(la.AXES)
    t = w.small(0.1, 0.9)
    scale = ", ".join(w.small(0.5, 2.0) for _ in range(3))
    prods = [
        # unit quaternions only
        Production(QUAT, f"wp.quat_from_axis_angle({ax}, {{0}})", (FLOAT,), _G, 1.0, ("q_axis", "spin")),
        Production(QUAT, "wp.quat_rpy({0}, {1}, {2})", (FLOAT, FLOAT, FLOAT), _G, 0.7, ("q_rpy", "attitude")),
        Production(QUAT, f"wp.quat_slerp({{0}}, {{1}}, {t})", (QUAT, QUAT), _G, 0.3, ("q_blend", "q_interp")),
        Production(QUAT, "wp.quat_slerp({0}, {1}, wp.clamp({2}, 0.0, 1.0))", (QUAT, QUAT, FLOAT), _G, 0.2, ("q_mix",)),
        Production(QUAT, f"wp.quat_twist({ax}, {{0}})", (QUAT,), _G, 0.5, ("q_twist", "twist")),
        Production(QUAT, f"wp.quat_from_euler({{0}}, {seq})", (VEC3,), _G, 0.5, ("q_euler", "from_euler")),
        Production(QUAT, "wp.transform_get_rotation({0})", (TRANSFORM,), _G, 1.0, ("rot", "q_pose")),
        Production(QUAT, "wp.normalize(wp.quaternion({0}, {1}))", (VEC3, FLOAT), _G, 0.3, ("q_built",)),
        Production(QUAT, "wp.mul({0}, {1})", (QUAT, QUAT), _G, 0.3, ("q_composed", "q_total")),
        # vectors
        Production(VEC3, "wp.quat_rotate_inv({0}, {1})", (QUAT, VEC3), _G, 1.0, ("v_body", "local_dir")),
        Production(VEC3, "wp.transform_point({0}, {1})", (TRANSFORM, VEC3), _G, 1.0, ("p_world", "moved")),
        Production(VEC3, "wp.transform_vector({0}, {1})", (TRANSFORM, VEC3), _G, 1.0, ("v_world", "dir_world")),
        Production(VEC3, "wp.transform_get_translation({0})", (TRANSFORM,), _G, 0.7, ("origin", "p_pose")),
        Production(VEC3, "wp.quat_to_rpy({0})", (QUAT,), _G, 0.4, ("rpy", "attitude_rpy")),
        Production(VEC3, f"wp.quat_to_euler({{0}}, {seq})", (QUAT,), _G, 0.4, ("euler", "euler_angles")),
        Production(VEC3, "(wp.quat_to_matrix({0}) @ {1})", (QUAT, VEC3), _G, 0.3, ("rotated", "v_rot")),
        Production(VEC3, "wp.transform_point({0}, {1})", (MAT44, VEC3), _G, 0.3, ("p_mapped",)),
        # scalars
        Production(FLOAT, f"wp.quat_twist_angle({ax}, {{0}})", (QUAT,), _G, 0.4, ("twist_angle",)),
        Production(FLOAT, f"wp.quat_twist_angle_signed({ax}, {{0}})", (QUAT,), _G, 0.4, ("signed_twist",)),
        Production(FLOAT, "{0}[{k}]", (QUAT,), _G, 0.7, ("q_component", "imag_part")),
        Production(FLOAT, "wp.dot({0}, {1})", (QUAT, QUAT), _G, 0.5, ("q_dot", "similarity")),
        Production(
            FLOAT,
            "(2.0 * wp.acos(wp.clamp(wp.abs(wp.dot({0}, {1})), 0.0, 1.0)))",
            (QUAT, QUAT),
            _G,
            0.2,
            ("rot_dist", "angle_between"),
        ),
        # transforms
        Production(TRANSFORM, "wp.transform_multiply({0}, {1})", (TRANSFORM, TRANSFORM), _G, 1.0, ("X_ab",)),
        Production(TRANSFORM, "({0} * {1})", (TRANSFORM, TRANSFORM), _G, 1.0, ("X_chain", "composed")),
        Production(TRANSFORM, "wp.transform_inverse({0})", (TRANSFORM,), _G, 1.0, ("X_inv", "inverse_pose")),
        Production(TRANSFORM, "wp.transformation({0}, {1}, dtype=float)", (VEC3, QUAT), _G, 0.3, ("X_built",)),
        # matrices
        Production(MAT44, "wp.transform_to_matrix({0})", (TRANSFORM,), _G, 1.0, ("M_pose", "xform_mat")),
        Production(MAT44, f"wp.transform_compose({{0}}, {{1}}, wp.vec3({scale}))", (VEC3, QUAT), _G, 0.5, ("M_trs",)),
        Production(MAT44, "({0} @ {1})", (MAT44, MAT44), _G, 0.5, ("M_chain",)),
    ]
    # each kernel draws its own palette; poses can always be built from a position and a rotation
    pose = Production(TRANSFORM, "wp.transform({0}, {1})", (VEC3, QUAT), _G, 1.5, ("pose", "X_new"))
    return [pose, *(p for p in prods if rng.random() < 0.8)]


# ------------------------------------------------------------------------------------------- motifs
def _integrate(w: KernelWriter, _st: None) -> None:
    """Semi-implicit orientation (and position) update from an angular velocity."""
    rng = w.rng
    q = la.named(w, QUAT, ("q", "rot", "orient", "q_cur", "attitude"))
    omega = la.named(w, VEC3, ("omega", "ang_vel", "spin_rate"))
    dt = w.coeff("dt", 0.01, 0.05)
    if rng.random() < 0.5:
        q_new = w.let(("q_new", "q_next"), la.integrate_rotation(q, omega, dt), QUAT)
    else:
        angle = w.let(("d_theta", "step_angle"), f"wp.length({omega}) * {dt}", FLOAT)
        dq = w.let(("dq", "delta_q"), f"wp.quat_from_axis_angle(wp.normalize({omega}), {angle})", QUAT)
        q_new = w.let(("q_new", "q_next"), w.choose((f"{dq} * {q}", f"wp.mul({dq}, {q})")), QUAT)
    if rng.random() < 0.6:
        p = la.named(w, VEC3, ("p", "pos", "x_body"), exclude=[omega])
        v = w.expr(VEC3, 1, exclude=[p], leaf_bias=0.7)
        p_new = w.let(("p_new", "x_next"), f"{p} + {v} * {dt}", VEC3)
        w.let(("pose_new", "X_next"), f"wp.transform({p_new}, {q_new})", TRANSFORM)


def _axis_angle_of(w: KernelWriter, q: str) -> tuple[str, str]:
    """``axis, angle`` of ``q``: the tuple-returning or the by-reference overload."""
    outputs = ((("rot_axis", "axis_q", "spin_axis"), VEC3), (("rot_angle", "angle_q", "spin_angle"), FLOAT))
    axis, angle = la.decompose(w, "wp.quat_to_axis_angle", q, outputs, w.rng.random() < 0.4)
    return axis, angle


def _axis_angle(w: KernelWriter, _st: None) -> None:
    """Axis-angle round trips: rotation vectors and fractional rotations."""
    q = la.named(w, QUAT, ("q", "rot", "orient", "q_cur", "attitude"))
    axis, angle = _axis_angle_of(w, q)
    for use in w.pick(("rotvec", "fraction", "rotate"), w.rng.randint(1, 2)):
        if use == "rotvec":
            w.let(("rot_vec", "rotvec"), f"{axis} * {angle}", VEC3)
        elif use == "fraction":
            s = w.coeff("blend", 0.1, 0.9)
            w.let(("q_partial", "q_frac"), f"wp.quat_from_axis_angle({axis}, {angle} * {s})", QUAT)
        else:
            v = w.expr(VEC3, 1, exclude=[axis], leaf_bias=0.7)
            w.let(("v_undone", "unrotated"), f"wp.quat_rotate(wp.quat_from_axis_angle({axis}, -{angle}), {v})", VEC3)


def _other_rotation(w: KernelWriter, q: str) -> str:
    """A rotation well apart from ``q``: one computed from other inputs, or ``q`` turned by 0.3 to 2.5 radians
    (an error rotation near identity has no axis, and slerp between equal rotations divides by zero)."""
    others = [n for n in w.values_of(QUAT) if n != q and not w.deps(n) & w.deps(q)]
    if others and w.rng.random() < 0.8:
        return w.choose(others)
    angle = w.rng.uniform(0.3, 2.5) * w.choose((-1.0, 1.0))
    axis = la.joint_axis(w)
    if axis.isidentifier():
        return f"{q} * wp.quat_from_axis_angle({axis}, {angle:.2f})"
    x, y, z = (float(c) for c in axis[len("wp.vec3(") : -1].split(","))
    sin, cos = math.sin(angle / 2), math.cos(angle / 2)
    return f"{q} * wp.quat({', '.join(la.number(c) for c in (x * sin, y * sin, z * sin, cos))})"


def _pd_control(w: KernelWriter, _st: None) -> None:
    """Attitude PD control: the error rotation in the short hemisphere, as a torque."""
    rng = w.rng
    q = la.named(w, QUAT, ("q", "rot", "orient", "q_cur", "attitude"))
    target = _other_rotation(w, q)
    if not target.isidentifier():
        target = w.let(("q_target", "target_q", "q_goal"), target, QUAT)
    err = w.let(
        ("q_err", "err", "q_error"),
        w.choose((f"{target} * wp.quat_inverse({q})", f"wp.mul({target}, wp.quat_inverse({q}))")),
        QUAT,
    )
    with w.block(f"if {err}[3] < 0.0"):
        w.set(err, f"-{err}")
    kp, kd = w.coeff("kp", 0.5, 5.0), w.coeff("kd", 0.05, 1.0)
    omega = w.expr(VEC3, 1, leaf_bias=0.7)
    if rng.random() < 0.5:
        axis, angle = _axis_angle_of(w, err)
        w.let(("torque", "tau", "control"), f"{kp} * {angle} * {axis} - {kd} * {omega}", VEC3)
    else:  # small-angle form: twice the vector part
        vector_part = f"wp.vec3({err}[0], {err}[1], {err}[2])"
        w.let(("torque", "tau", "control"), f"{la.fold(2.0, kp)} * {vector_part} - {kd} * {omega}", VEC3)


def _slerp(w: KernelWriter, _st: None) -> None:
    """Interpolation between two orientations, taking the shorter arc."""
    rng = w.rng
    q_from = la.named(w, QUAT, ("q_from", "q_start", "q_a"))
    q_to = w.let(("q_to", "q_end", "q_b"), _other_rotation(w, q_from), QUAT)
    with w.block(f"if wp.dot({q_from}, {q_to}) < 0.0"):
        w.set(q_to, f"-{q_to}")
    if rng.random() < 0.5:
        t = w.coeff("blend", 0.0, 1.0)
    else:
        t = w.let(("t", "alpha", "s_blend"), f"wp.clamp({w.expr(FLOAT, 1)} * 0.5 + 0.5, 0.0, 1.0)", FLOAT)
    q_mid = w.let(("q_interp", "q_mid", "q_slerp"), f"wp.quat_slerp({q_from}, {q_to}, {t})", QUAT)
    if rng.random() < 0.5:
        w.let(("v_interp", "rotated_mid"), f"wp.quat_rotate({q_mid}, {w.expr(VEC3, 1, leaf_bias=0.7)})", VEC3)


def _limit_component(w: KernelWriter, v: str, bases: tuple[str, ...]) -> str:
    """A copy of vec3 ``v`` with one component clamped (a new value: Warp's adjoint does not support
    in-place component writes into values that depend on the inputs)."""
    k = w.rng.randrange(3)
    lim = w.small(0.2, 1.2)
    parts = [f"wp.clamp({v}[{c}], -{lim}, {lim})" if c == k else f"{v}[{c}]" for c in range(3)]
    return w.let(bases, f"wp.vec3({', '.join(parts)})", VEC3)


def _euler(w: KernelWriter, _st: None) -> None:
    """Euler / roll-pitch-yaw conversions, with an angle limit applied in between."""
    rng = w.rng
    q = la.named(w, QUAT, ("q", "rot", "orient", "q_cur", "attitude"))
    if rng.random() < 0.4:
        rpy = w.let(("rpy", "roll_pitch_yaw"), f"wp.quat_to_rpy({q})", VEC3)
        rpy = _limit_component(w, rpy, ("rpy_limited", "rpy_clamped"))
        w.let(("q_limited", "q_clamped"), f"wp.quat_rpy({rpy}[0], {rpy}[1], {rpy}[2])", QUAT)
        return
    seq = ", ".join(map(str, w.choose(_TAIT_BRYAN)))
    euler = w.let(("euler", "euler_angles"), f"wp.quat_to_euler({q}, {seq})", VEC3)
    if rng.random() < 0.5:
        euler = _limit_component(w, euler, ("euler_limited", "euler_clamped"))
    else:
        euler = w.let(("euler_scaled", "euler_partial"), f"{euler} * {w.coeff('blend', 0.1, 0.9)}", VEC3)
    w.let(("q_rebuilt", "q_euler"), f"wp.quat_from_euler({euler}, {seq})", QUAT)


def _swing_twist(w: KernelWriter, _st: None) -> None:
    """Swing-twist decomposition about a joint axis and a twist limit."""
    rng = w.rng
    q = la.named(w, QUAT, ("q", "rot", "orient", "q_cur", "attitude"))
    axis = _axis(w)
    if not axis.isidentifier():
        axis = w.let(("twist_axis", "hinge_axis"), axis, VEC3)
    twist = w.let(("q_twist", "twist"), f"wp.quat_twist({axis}, {q})", QUAT)
    swing = w.let(("q_swing", "swing"), f"{q} * wp.quat_inverse({twist})", QUAT)
    fn = w.choose(("wp.quat_twist_angle_signed", "wp.quat_twist_angle"))
    angle = w.let(("twist_angle", "theta_twist"), f"{fn}({axis}, {q})", FLOAT)
    if rng.random() < 0.7:
        lo, hi = w.small(-1.5, -0.1), w.small(0.1, 1.5)
        limited = w.let(("twist_limited", "theta_limited"), f"wp.clamp({angle}, {lo}, {hi})", FLOAT)
        w.let(("q_joint", "q_limited"), f"{swing} * wp.quat_from_axis_angle({axis}, {limited})", QUAT)


def _frames(w: KernelWriter, _st: None) -> None:
    """Composing, inverting and applying rigid frames; reading and writing their parts."""
    rng = w.rng
    a = la.named(w, TRANSFORM, ("X_a", "pose_a", "parent"))
    b = la.named(w, TRANSFORM, ("X_b", "pose_b", "child"), exclude=[a])
    for use in w.pick(("compose", "relative", "apply", "edit", "parts"), rng.randint(2, 3)):
        if use == "compose":
            w.let(("X_ab", "composed"), w.choose((f"{a} * {b}", f"wp.transform_multiply({a}, {b})")), TRANSFORM)
        elif use == "relative":
            rel = w.let(("X_rel", "relative"), f"wp.transform_inverse({a}) * {b}", TRANSFORM)
            w.let(("p_rel", "rel_offset"), f"wp.transform_get_translation({rel})", VEC3)
        elif use == "apply":
            p = w.expr(VEC3, 1, leaf_bias=0.7)
            p_world = w.let(("p_world", "world_point"), f"wp.transform_point({a}, {p})", VEC3)
            if rng.random() < 0.5:  # the same point in the other frame
                w.let(("p_in_b", "p_other"), f"wp.transform_point(wp.transform_inverse({b}), {p_world})", VEC3)
            else:
                v = w.expr(VEC3, 1, exclude=[p_world], leaf_bias=0.7)
                w.let(("v_world", "dir_world"), f"wp.transform_vector({b}, {v})", VEC3)
        elif use == "edit":  # a fresh frame, filled field by field
            frame = w.let(("X_new", "frame_new"), "wp.transform_identity(dtype=float)", TRANSFORM)
            w.emit(f"{frame}.p = {w.expr(VEC3, 1, exclude=[frame], leaf_bias=0.7)}")
            if rng.random() < 0.5:
                w.emit(f"{frame}.q = {w.expr(QUAT, 1, exclude=[frame], leaf_bias=0.7)}")
        else:
            w.let(("p_a", "origin_a"), w.choose((f"{a}.p", f"wp.transform_get_translation({a})")), VEC3)
            w.let(("q_b", "rot_b"), w.choose((f"{b}.q", f"wp.transform_get_rotation({b})")), QUAT)


def _matrices(w: KernelWriter, _st: None) -> None:
    """Conversions between quaternions, rotation matrices and 4x4 transforms."""
    rng = w.rng
    for use in w.pick(("rot", "homog", "compose"), rng.randint(1, 2)):
        if use == "rot":
            q = la.named(w, QUAT, ("q", "rot", "orient", "q_cur", "attitude"))
            R = w.let(("R", "rot_m", "R_q"), f"wp.quat_to_matrix({q})", MAT33)
            if rng.random() < 0.5:  # a product of rotations is a rotation
                q_b = la.named(w, QUAT, ("q_b", "q_other"), exclude=[q])
                R_b = w.let(("R_b", "rot_m_b"), f"wp.quat_to_matrix({q_b})", MAT33)
                w.let(("q_combined", "q_product"), f"wp.quat_from_matrix({R} @ {R_b})", QUAT)
            else:
                w.let(("v_rot", "rotated"), f"{R} @ {w.expr(VEC3, 1, leaf_bias=0.7)}", VEC3)
                w.let(("v_back", "unrotated"), f"wp.transpose({R}) @ {w.expr(VEC3, 1, leaf_bias=0.7)}", VEC3)
        elif use == "homog":
            X = la.named(w, TRANSFORM, ("X_m", "pose_m", "X_src"))
            M = w.let(("M", "M_pose", "xform_m"), f"wp.transform_to_matrix({X})", MAT44)
            w.let(("p_mapped", "p_world"), f"wp.transform_point({M}, {w.expr(VEC3, 1, leaf_bias=0.7)})", VEC3)
            if rng.random() < 0.6:
                Y = la.named(w, TRANSFORM, ("Y", "pose_b", "X_other"), exclude=[X])
                M_c = w.let(("M_chain", "M_ab"), f"{M} @ wp.transform_to_matrix({Y})", MAT44)
                if rng.random() < 0.5:
                    w.let(("X_chain", "X_ab"), f"wp.transform_from_matrix({M_c})", TRANSFORM)
                else:
                    w.let(("q_chain", "q_ab"), f"wp.quat_from_matrix({M_c})", QUAT)
        else:  # a scaled child frame placed by a rigid parent keeps the translation-rotation-scale form
            scale = ", ".join(w.small(0.5, 2.0) for _ in range(3))
            p, q = la.named(w, VEC3, ("p_child", "offset_c")), w.expr(QUAT, 1, leaf_bias=0.7)
            M_local = w.let(("M_local", "M_trs"), f"wp.transform_compose({p}, {q}, wp.vec3({scale}))", MAT44)
            X = la.named(w, TRANSFORM, ("X_parent", "parent_pose", "X_p"))
            M_world = w.let(("M_world", "M_placed"), f"wp.transform_to_matrix({X}) @ {M_local}", MAT44)
            outputs = ((("p_w", "p_placed"), VEC3), (("q_w", "q_placed"), QUAT), (("s_w", "s_placed"), VEC3))
            p_w, q_w, s_w = la.decompose(w, "wp.transform_decompose", M_world, outputs, False)
            w.let(("X_w", "X_placed"), f"wp.transform({p_w}, {q_w})", TRANSFORM)
            w.let(("v_scaled", "stretched"), f"wp.cw_mul({s_w}, {w.expr(VEC3, 1, leaf_bias=0.7)})", VEC3)


def _chain(w: KernelWriter, _st: None) -> None:
    """Forward kinematics: compose joint frames along a chain of revolute joints."""
    rng = w.rng
    joints = la.joint_array(w)
    roll = rng.random()
    if roll < 0.4:
        start = "wp.transform_identity(dtype=float)"
    elif roll < 0.7:
        start = f"wp.transform({w.expr(VEC3, 1, leaf_bias=0.7)}, wp.quat_identity(dtype=float))"
    else:
        start = w.expr(TRANSFORM, 1, leaf_bias=0.7)
    X = la.kinematic_chain(w, joints, start, _axis(w))
    w.let(("p_tip", "end_effector"), f"wp.transform_point({X}, {w.expr(VEC3, 1, exclude=[X], leaf_bias=0.7)})", VEC3)


def _align(w: KernelWriter, _st: None) -> None:
    """Shortest-arc rotation taking one direction onto another, applied to a third vector."""
    rng = w.rng
    # two different directions (parallel ones leave the rotation axis undefined)
    vecs = w.values_of(VEC3)
    first = w.choose(vecs) if vecs else la.named(w, VEC3, ("v_from", "dir_from"))
    others = [v for v in vecs if v != first]
    a = w.let(("from_dir", "a_dir"), f"wp.normalize({first})", VEC3)
    if others and rng.random() < 0.7:
        b = w.let(("to_dir", "b_dir"), f"wp.normalize({w.choose(others)})", VEC3)
    else:
        b = w.choose(la.AXES)  # already a unit vector
    c = w.let(("half_axis", "axis_c"), f"wp.cross({a}, {b})", VEC3)
    if rng.random() < 0.5:
        q = w.let(("q_align", "align"), f"wp.normalize(wp.quat({c}[0], {c}[1], {c}[2], 1.0 + wp.dot({a}, {b})))", QUAT)
    else:
        q = w.let(("q_align", "align"), f"wp.normalize(wp.quaternion({c}, 1.0 + wp.dot({a}, {b})))", QUAT)
    v = w.expr(VEC3, 1, exclude=[a, c], leaf_bias=0.7)
    w.let(("aligned", "v_aligned"), f"wp.quat_rotate({q}, {v})", VEC3)


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

_HELPERS = (
    la.DomainHelper(
        "rotation_distance",
        (("a", QUAT), ("b", QUAT)),
        FLOAT,
        "    d = wp.dot(a, b)\n    return 1.0 - d * d",
        ("rot_dist", "misalignment"),
    ),
    la.DomainHelper(
        "lerp_pose",
        (("a", TRANSFORM), ("b", TRANSFORM), ("t", FLOAT)),
        TRANSFORM,
        "    s = wp.clamp(t, 0.0, 1.0)\n"
        "    p = wp.lerp(wp.transform_get_translation(a), wp.transform_get_translation(b), s)\n"
        "    q = wp.quat_slerp(wp.transform_get_rotation(a), wp.transform_get_rotation(b), s)\n"
        "    return wp.transform(p, q)",
        ("X_blend", "pose_mix"),
    ),
    la.DomainHelper(
        "world_to_local",
        (("x", TRANSFORM), ("p", VEC3)),
        VEC3,
        "    return wp.quat_rotate_inv(wp.transform_get_rotation(x), p - wp.transform_get_translation(x))",
        ("p_body", "local_point"),
    ),
    la.DomainHelper(
        "yaw",
        (("q", QUAT),),
        FLOAT,
        "    return wp.atan2(2.0 * (q[3] * q[2] + q[0] * q[1]), 1.0 - 2.0 * (q[1] * q[1] + q[2] * q[2]))",
        ("yaw", "heading_angle"),
    ),
    la.DomainHelper(
        "pitch",
        (("q", QUAT),),
        FLOAT,
        "    s = 2.0 * (q[3] * q[1] - q[2] * q[0])\n    return wp.asin(wp.clamp(s, -1.0, 1.0))",
        ("pitch", "elevation"),
    ),
    la.DomainHelper(
        "heading",
        (("q", QUAT),),
        QUAT,
        "    e = wp.quat_to_rpy(q)\n    return wp.quat_rpy(0.0, 0.0, e[2])",
        ("q_heading", "q_yaw"),
    ),
    la.DomainHelper(
        "exp_map",
        (("v", VEC3),),
        QUAT,
        "    theta = wp.length(v)\n"
        "    q = wp.quat_identity(dtype=float)\n"
        "    if theta > 1.0e-6:\n"
        "        q = wp.quat_from_axis_angle(v / theta, theta)\n"
        "    return q",
        ("q_exp", "q_from_rotvec"),
    ),
    la.DomainHelper(
        "log_map",
        (("q", QUAT),),
        VEC3,
        "    axis, angle = wp.quat_to_axis_angle(q)\n    return axis * angle",
        ("rot_vec", "log_q"),
    ),
    la.DomainHelper(
        "half_angle",
        (("axis", VEC3), ("angle", FLOAT)),
        QUAT,
        "    half = 0.5 * angle\n    return wp.quat(wp.normalize(axis) * wp.sin(half), wp.cos(half))",
        ("q_half", "q_axis_angle"),
    ),
)


@register_category("quaternion", groups={"arith", "vector"})
def quaternion(w: KernelWriter) -> None:
    """Quaternions and rigid transforms: axis-angle, slerp, Euler/RPY, swing-twist, frame composition."""
    rng = w.rng
    VOCABULARY.apply(w)
    la.load_pose(w, VOCABULARY, combine=0.6)
    for _ in range(max(0, w.limits.inputs - 1)):
        t = w.choose((QUAT, VEC3, VEC3, FLOAT, TRANSFORM))
        if t is TRANSFORM:
            la.load_pose(w, VOCABULARY, combine=0.6)
        else:
            load_input(w, VOCABULARY, t, recipe={"kind": "unit"} if t is QUAT else None)
    poses = w.locals_of(TRANSFORM)
    if poses and not w.locals_of(QUAT):  # unpack a pose, as rigid-body code usually does
        pose = w.choose(poses)
        w.let(("rot", "q_body"), w.choose((f"{pose}.q", f"wp.transform_get_rotation({pose})")), QUAT)
        if rng.random() < 0.5:
            w.let(("pos", "p_body"), w.choose((f"{pose}.p", f"wp.transform_get_translation({pose})")), VEC3)
    w.add_productions(*_palette(w))
    la.add_domain_helpers(w, _HELPERS)
    la.run_motifs(w, None, _MOTIFS, la.draw_motifs(w, _MOTIFS), (QUAT, VEC3, VEC3, TRANSFORM, FLOAT))
    # poses are stored once their values are folded in elsewhere: two poses would be combined by a sum
    la.store_outputs(w, VOCABULARY, (QUAT, VEC3), (TRANSFORM, QUAT, VEC3, FLOAT))
