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
writes into values that depend on the inputs). Offsets, rates and forces are input values or small
literals, so that the bilinear products (cross products, spatial cross products) stay near 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..category import register_category
from ..expressions import Production
from ..types import FLOAT, INT, MAT33, QUAT, SPATIAL, TRANSFORM, VEC3, WarpType
from ..writer import KernelWriter
from . import _linalg as la
from .common import Vocabulary, load_input

_G = "spatial"
#: 6x6 spatial matrices (adjoints, inertias). Not in ``types``: this module names them itself.
SMAT = WarpType("spatial_matrix", "wp.spatial_matrix", 36)

VOCABULARY = Vocabulary(
    inputs={
        "spatial_vector": (
            ("body_qd", "qd"),
            ("twists", "twist"),
            ("body_f", "f_ext"),
            ("accelerations", "qdd"),
            ("wrenches", "wrench"),
        ),
        "transform": (("body_q", "body_pose"), ("poses", "pose_in"), ("joint_X", "X_joint_in")),
        "vec3": (("positions", "pos"), ("com_offsets", "r_com"), ("forces", "force"), ("points", "point")),
        "float": (("joint_qd", "qd_joint"), ("rates", "rate"), ("joint_act", "act")),
        "quat": (("orientations", "rot"),),
    },
    outputs={
        "spatial_vector": ("body_qd_out", "wrench_out", "twist_out"),
        "vec3": ("vel_out", "points_out"),
        "float": ("power_out", "energy_out"),
        "transform": ("body_q_out", "pose_out"),
    },
    locals={
        "transform": ("pose", "X", "X_wb", "X_body"),
        "spatial_vector": ("twist", "wrench", "motion", "force_6d"),
        "vec3": ("lin", "ang", "r_arm"),
        "float": ("power", "measure"),
    },
)


@dataclass
class _Body:
    """What the motifs of one kernel know about its values."""

    loaded: list[str] = field(default_factory=list)  # locals read straight from input arrays
    smat_ready: bool = False

    def small(self, w: KernelWriter, t: WarpType, exclude: tuple[str, ...] = ()) -> str:
        """A value of magnitude at most about 1: an input local, or a literal (offsets, rates, forces)."""
        loaded = [n for n in self.loaded if w.scope.get(n) == t and n not in exclude]
        if loaded and w.rng.random() < 0.8:
            return w.choose(loaded)
        return w.vec(-0.5, 0.5) if t is VEC3 else w.small(-1.0, 1.0)

    def small_var(self, w: KernelWriter, bases: tuple[str, ...]) -> str:
        """Like ``small`` for a vec3 a formula reads through operations of its own: a literal becomes a local."""
        value = self.small(w, VEC3)
        return value if value.isidentifier() else w.let(bases, value, VEC3)


def _smat(w: KernelWriter, st: _Body, bases: tuple[str, ...], value: str) -> str:
    """A 6x6 matrix local; the first one enables the productions that read 6x6 matrices."""
    name = w.let(bases, value, SMAT)
    if not st.smat_ready:
        st.smat_ready = True
        w.add_productions(
            Production(SPATIAL, "({0} @ {1})", (SMAT, SPATIAL), _G, 1.5, ("mapped_twist", "momentum")),
            Production(SPATIAL, "(wp.transpose({0}) @ {1})", (SMAT, SPATIAL), _G, 0.7, ("pulled_wrench",)),
            Production(SMAT, "({0} + {1})", (SMAT, SMAT), _G, 0.5, ("M_sum",)),
            Production(SMAT, "({0} @ {1})", (SMAT, SMAT), _G, 0.5, ("M_chain",)),
            Production(SMAT, "wp.transpose({0})", (SMAT,), _G, 0.5, ("M_t",)),
            Production(SMAT, "({0} * {1})", (SMAT, FLOAT), _G, 0.5, ("M_scaled",)),
            Production(SMAT, "wp.outer({0}, {1})", (SPATIAL, SPATIAL), _G, 0.5, ("M_outer",)),
            Production(SMAT, "wp.spatial_adjoint({0}, {1})", (MAT33, MAT33), _G, 0.5, ("Ad", "adjoint")),
        )
    return name


def _palette(w: KernelWriter) -> list[Production]:
    rng = w.rng
    prods = [
        Production(SPATIAL, "wp.spatial_vector({0}, {1})", (VEC3, VEC3), _G, 1.5, ("twist", "wrench")),
        Production(SPATIAL, "({0} + {1})", (SPATIAL, SPATIAL), _G, 1.5, ("combined", "net")),
        Production(SPATIAL, "({0} - {1})", (SPATIAL, SPATIAL), _G, 1.0, ("rel_twist", "diff")),
        Production(SPATIAL, "({0} * {1})", (SPATIAL, FLOAT), _G, 1.0, ("scaled", "weighted")),
        Production(SPATIAL, "({0} * {1})", (FLOAT, SPATIAL), _G, 0.5, ("scaled", "weighted")),
        Production(SPATIAL, "wp.spatial_cross({0}, {1})", (SPATIAL, SPATIAL), _G, 1.0, ("bias_acc", "v_cross")),
        Production(SPATIAL, "wp.spatial_cross_dual({0}, {1})", (SPATIAL, SPATIAL), _G, 1.0, ("bias_force",)),
        Production(SPATIAL, "wp.transform_twist({0}, {1})", (TRANSFORM, SPATIAL), _G, 1.0, ("twist_w", "v_world")),
        Production(SPATIAL, "wp.transform_wrench({0}, {1})", (TRANSFORM, SPATIAL), _G, 1.0, ("wrench_w", "f_world")),
        Production(SPATIAL, "wp.cw_mul({0}, {1})", (SPATIAL, SPATIAL), _G, 0.3, ("masked",)),
        Production(SPATIAL, "(-{0})", (SPATIAL,), _G, 0.3, ("reaction", "opposed")),
        Production(VEC3, "wp.spatial_top({0})", (SPATIAL,), _G, 1.5, ("ang", "w_part")),
        Production(VEC3, "wp.spatial_bottom({0})", (SPATIAL,), _G, 1.5, ("lin", "v_part")),
        Production(VEC3, "wp.velocity_at_point({0}, {1})", (SPATIAL, VEC3), _G, 1.0, ("v_point", "point_vel")),
        Production(VEC3, "wp.transform_point({0}, {1})", (TRANSFORM, VEC3), _G, 1.0, ("p_world", "moved")),
        Production(VEC3, "wp.transform_vector({0}, {1})", (TRANSFORM, VEC3), _G, 1.0, ("dir_world",)),
        Production(VEC3, "wp.transform_get_translation({0})", (TRANSFORM,), _G, 0.5, ("origin", "p_body")),
        Production(FLOAT, "wp.spatial_dot({0}, {1})", (SPATIAL, SPATIAL), _G, 1.5, ("power", "work_rate")),
        Production(FLOAT, f"{{0}}[{rng.randrange(6)}]", (SPATIAL,), _G, 1.0, ("component", "coord")),
        Production(FLOAT, "wp.length({0})", (SPATIAL,), _G, 0.3, ("magnitude", "norm6")),
        Production(TRANSFORM, "({0} * {1})", (TRANSFORM, TRANSFORM), _G, 0.7, ("X_ab", "composed")),
        Production(TRANSFORM, "wp.transform_inverse({0})", (TRANSFORM,), _G, 0.7, ("X_inv", "inverse_pose")),
        Production(QUAT, "wp.transform_get_rotation({0})", (TRANSFORM,), _G, 1.0, ("rot", "q_body")),
        Production(MAT33, "wp.quat_to_matrix(wp.transform_get_rotation({0}))", (TRANSFORM,), _G, 0.5, ("R", "R_body")),
    ]
    # each kernel draws its own palette; poses can always be built from a position and a rotation
    pose = Production(TRANSFORM, "wp.transform({0}, {1})", (VEC3, QUAT), _G, 1.0, ("pose", "X_new"))
    return [pose, *(p for p in prods if rng.random() < 0.85)]


# ------------------------------------------------------------------------------------------- motifs
def _point_velocity(w: KernelWriter, st: _Body) -> None:
    """Linear velocity of a point on a moving body, and its kinetic energy."""
    rng = w.rng
    qd = la.named(w, SPATIAL, ("qd", "twist", "v_body", "qd_body", "v_b"))
    poses = w.values_of(TRANSFORM)
    if poses and rng.random() < 0.5:
        r = w.let(("r", "r_world", "arm"), f"wp.transform_vector({w.choose(poses)}, {st.small(w, VEC3)})", VEC3)
    else:
        r = st.small(w, VEC3)
    if rng.random() < 0.6:
        vp = w.let(("v_point", "point_vel"), f"wp.velocity_at_point({qd}, {r})", VEC3)
    else:
        vp = w.let(("v_point", "point_vel"), f"wp.spatial_bottom({qd}) + wp.cross(wp.spatial_top({qd}), {r})", VEC3)
    if rng.random() < 0.5:
        w.let(("kinetic", "ke_point"), f"0.5 * {la.body_mass(w)} * wp.dot({vp}, {vp})", FLOAT)


def _frame_change(w: KernelWriter, st: _Body) -> None:
    """A twist or wrench expressed in another frame: directly, or through the 6x6 adjoint."""
    rng = w.rng
    X = la.named(w, TRANSFORM, ("X", "X_wb", "pose", "X_body", "X_b"))
    qd = la.named(w, SPATIAL, ("qd", "twist", "v_body", "qd_body", "v_b"))
    if rng.random() < 0.5:
        twist = w.let(("twist_w", "v_world"), f"wp.transform_twist({X}, {qd})", SPATIAL)
        f = w.expr(SPATIAL, 1, exclude=[qd, twist], leaf_bias=0.7)
        w.let(("wrench_w", "f_world"), f"wp.transform_wrench({X}, {f})", SPATIAL)
        if rng.random() < 0.5:  # and back into the body frame
            w.let(("twist_b", "v_back"), f"wp.transform_twist(wp.transform_inverse({X}), {twist})", SPATIAL)
        return
    if rng.random() < 0.5:
        R = w.let(("R", "R_wb", "rot_m"), f"wp.quat_to_matrix(wp.transform_get_rotation({X}))", MAT33)
        p = w.let(("p", "p_wb", "origin"), f"wp.transform_get_translation({X})", VEC3)
    else:
        R = w.let(("R", "R_wb", "rot_m"), f"wp.quat_to_matrix({X}.q)", MAT33)
        p = w.let(("p", "p_wb", "origin"), f"{X}.p", VEC3)
    Ad = _smat(w, st, ("Ad", "Ad_X", "adjoint"), f"wp.spatial_adjoint({R}, wp.skew({p}) @ {R})")
    w.let(("twist_w", "v_world"), f"{Ad} @ {qd}", SPATIAL)
    if rng.random() < 0.6:  # a wrench in the world frame, pulled back to the body frame
        f = w.expr(SPATIAL, 1, exclude=[qd], leaf_bias=0.7)
        w.let(("wrench_b", "f_body"), f"wp.transpose({Ad}) @ {f}", SPATIAL)


def _inertia(w: KernelWriter, st: _Body) -> None:
    """A body's spatial inertia: momentum, kinetic energy, Newton-Euler bias force."""
    rng = w.rng
    m = la.body_mass(w)
    if rng.random() < 0.5:
        inertia = w.let(("I_c", "inertia", "I_body"), la.principal_inertia(w), MAT33)
    else:  # a point mass at an offset, around a small isotropic core
        r = st.small_var(w, ("r_com", "com_offset", "r_point"))
        core = la.scaled_eye(3, w.small(0.1, 0.5))
        inertia = w.let(("I_c", "inertia", "I_body"), la.parallel_axis(core, m, r), MAT33)
    com = st.small_var(w, ("com", "r_com", "com_body"))
    if w.limits.nesting - w.depth >= 2 and rng.random() < 0.4:  # assembled in place, block by block
        M = _smat(w, st, ("M_body", "I_spatial", "M"), "wp.spatial_matrix()")
        c = w.let(("c", "com_skew", "c_x"), f"wp.skew({com})", MAT33)
        top = w.let(("top", "I_top", "I_o"), f"{inertia} - {m} * ({c} @ {c})", MAT33)
        r, k = w.name("r", "row"), w.name("k", "col")
        with w.block(f"for {r} in range(3)"):
            w.define(r, INT)
            with w.block(f"for {k} in range(3)"):
                w.define(k, INT)
                w.emit(f"{M}[{r}, {k}] = {top}[{r}, {k}]")
                w.emit(f"{M}[{r}, {k} + 3] = {m} * {c}[{r}, {k}]")
                w.emit(f"{M}[{r} + 3, {k}] = -{m} * {c}[{r}, {k}]")
            w.emit(f"{M}[{r} + 3, {r} + 3] = {m}")
    else:
        helper = w.helper("spatial_inertia", _SPATIAL_INERTIA)
        M = _smat(w, st, ("M_body", "I_spatial", "M"), f"{helper}({m}, {inertia}, {com})")
    qd = la.named(w, SPATIAL, ("qd", "twist", "v_body", "qd_body", "v_b"))
    h = w.let(("h", "momentum", "h_body"), f"{M} @ {qd}", SPATIAL)
    for use in w.pick(("energy", "bias", "gyro"), rng.randint(1, 2)):
        if use == "energy":
            w.let(("kinetic", "ke"), f"0.5 * wp.spatial_dot({qd}, {h})", FLOAT)
        elif use == "bias":
            a = w.expr(SPATIAL, 1, exclude=[qd, h], leaf_bias=0.7)
            w.let(("f_bias", "f_net", "tau_body"), f"{M} @ {a} + wp.spatial_cross_dual({qd}, {h})", SPATIAL)
        else:
            w.let(("gyro", "h_dot"), f"wp.spatial_cross({qd}, {h})", SPATIAL)


_SPATIAL_INERTIA = "\n".join(
    (
        "@wp.func",
        "def NAME(m: float, inertia: wp.mat33, com: wp.vec3) -> wp.spatial_matrix:",
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


def _joint(w: KernelWriter, st: _Body) -> None:
    """A joint's motion subspace, and velocity / acceleration propagation from parent to child."""
    rng = w.rng
    X = la.named(w, TRANSFORM, ("X_j", "X_joint", "X"))
    axis_w = w.let(("axis_w", "axis_world"), f"wp.transform_vector({X}, {la.joint_axis(w)})", VEC3)
    if rng.random() < 0.7:  # revolute
        p = w.let(("p_j", "joint_origin"), w.choose((f"wp.transform_get_translation({X})", f"{X}.p")), VEC3)
        S = w.let(("S", "S_joint", "motion_sub"), f"wp.spatial_vector({axis_w}, wp.cross({p}, {axis_w}))", SPATIAL)
    else:  # prismatic
        S = w.let(("S", "S_joint", "motion_sub"), f"wp.spatial_vector(wp.vec3(0.0), {axis_w})", SPATIAL)
    qd_j = st.small(w, FLOAT)
    v_parent = w.expr(SPATIAL, 1, exclude=[S], leaf_bias=0.7)
    v = w.let(("v_child", "v_j"), f"{v_parent} + {S} * {qd_j}", SPATIAL)
    if rng.random() < 0.6:
        a_parent = w.expr(SPATIAL, 1, exclude=[S, v], leaf_bias=0.7)
        qdd = st.small(w, FLOAT, exclude=(qd_j,))
        w.let(("a_child", "a_j"), f"{a_parent} + {S} * {qdd} + wp.spatial_cross({v}, {S} * {qd_j})", SPATIAL)
    if rng.random() < 0.5:  # generalized force of the joint from the wrench it transmits
        f = w.expr(SPATIAL, 1, exclude=[S], leaf_bias=0.7)
        w.let(("tau_j", "joint_force"), f"wp.spatial_dot({S}, {f})", FLOAT)


def _chain(w: KernelWriter, st: _Body) -> None:
    """Forward kinematics along a chain of revolute joints, accumulating the end twist."""
    joints = la.joint_array(w)
    start = w.choose(("wp.transform_identity(dtype=float)", la.named(w, TRANSFORM, ("X_base", "base_pose"))))
    v = w.let(
        ("v_tip", "v_chain"),
        w.choose(("wp.spatial_vector()", "wp.spatial_vector(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)")),
        SPATIAL,
    )
    axis = la.joint_axis(w)
    rate = st.small(w, FLOAT)

    def link(X: str) -> None:
        S = w.let(
            ("S", "S_link", "motion"), f"wp.transform_twist({X}, wp.spatial_vector({axis}, wp.vec3(0.0)))", SPATIAL
        )
        w.set(v, f"{v} + {S} * {rate}")

    X = la.kinematic_chain(w, joints, start, axis, link)
    w.let(("v_end", "tip_vel"), f"wp.velocity_at_point({v}, wp.transform_get_translation({X}))", VEC3)


def _wrench(w: KernelWriter, st: _Body) -> None:
    """Wrenches of a point force and of gravity, summed, and the power they deliver."""
    rng = w.rng
    r = st.small(w, VEC3)
    F = st.small(w, VEC3, exclude=(r,))
    if not (r.isidentifier() or F.isidentifier()):
        F = la.named(w, VEC3, ("F", "force_pt", "f_point"))
    f = w.let(("f_point", "wrench", "f_ext_w"), f"wp.spatial_vector(wp.cross({r}, {F}), {F})", SPATIAL)
    if rng.random() < 0.6:
        # gravity in scaled units (a parameter or a literal): keeps forces near 1
        if w.has_arg("gravity") or (not w.taken("gravity") and rng.random() < 0.5):
            g = "gravity" if w.has_arg("gravity") else w.param(VEC3, "gravity")
        else:
            g = f"wp.vec3(0.0, {w.small(-2.0, -0.5)}, 0.0)"
        m = la.body_mass(w)
        com = st.small(w, VEC3)
        f_grav = w.let(
            ("f_grav", "gravity_wrench"), f"wp.spatial_vector(wp.cross({com}, {m} * {g}), {m} * {g})", SPATIAL
        )
        f = w.let(("f_total", "f_net"), f"{f} + {f_grav}", SPATIAL)
    qd = w.expr(SPATIAL, 1, exclude=[f], leaf_bias=0.7)
    w.let(("power", "p_in"), f"wp.spatial_dot({qd}, {f})", FLOAT)


def _integrate(w: KernelWriter, st: _Body) -> None:
    """Semi-implicit Euler for a free body: twist update with damping, then the pose."""
    rng = w.rng
    qd = la.named(w, SPATIAL, ("qd", "twist", "v_body", "qd_body", "v_b"))
    a = w.expr(SPATIAL, 1, exclude=[qd], leaf_bias=0.7)
    dt = w.coeff("dt", 0.01, 0.05)
    qd_new = w.let(("qd_new", "qd_next"), f"{qd} + {a} * {dt}", SPATIAL)
    if rng.random() < 0.5:
        damping = w.coeff("damping", 0.01, 0.5, param_bias=1.0)
        w.set(qd_new, f"{qd_new} * (1.0 - {la.fold(damping, dt)})")
    omega = w.let(("omega", "w_body"), f"wp.spatial_top({qd_new})", VEC3)
    vel = w.let(("vel", "v_lin"), f"wp.spatial_bottom({qd_new})", VEC3)
    X = la.named(w, TRANSFORM, ("X", "X_wb", "pose", "X_body", "X_b"))
    p = w.let(("p_new", "x_next"), f"wp.transform_get_translation({X}) + {vel} * {dt}", VEC3)
    q = w.let(("q", "rot", "q_body"), f"wp.transform_get_rotation({X})", QUAT)
    q_new = w.let(("q_new", "q_next"), la.integrate_rotation(q, omega, dt), QUAT)
    w.let(("X_new", "X_next"), f"wp.transform({p}, {q_new})", TRANSFORM)


def _components(w: KernelWriter, st: _Body) -> None:
    """Splitting spatial vectors into parts and assembling new ones."""
    rng = w.rng
    s = la.named(w, SPATIAL, ("qd", "twist", "v_body", "qd_body", "v_b"))
    for use in w.pick(("swap", "scalars", "fresh"), rng.randint(1, 2)):
        if use == "swap":  # (angular, linear) <-> (linear, angular)
            w.let(("swapped", "plucker"), f"wp.spatial_vector(wp.spatial_bottom({s}), wp.spatial_top({s}))", SPATIAL)
        elif use == "scalars":
            parts = ", ".join(f"{s}[{k}]" if rng.random() < 0.6 else w.expr(FLOAT, 1) for k in range(6))
            w.let(("rebuilt", "sv_edit"), f"wp.spatial_vector({parts})", SPATIAL)
        else:  # a fresh vector filled component by component
            fresh = w.let(("sv_new", "assembled"), "wp.spatial_vector()", SPATIAL)
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

_HELPERS = (
    la.DomainHelper(
        "point_force_wrench",
        (("r", VEC3), ("f", VEC3)),
        SPATIAL,
        "    return wp.spatial_vector(wp.cross(r, f), f)",
        ("f_wrench", "wrench_pt"),
    ),
    la.DomainHelper(
        "twist_to_world",
        (("x", TRANSFORM), ("v", SPATIAL)),
        SPATIAL,
        "    w = wp.quat_rotate(x.q, wp.spatial_top(v))\n"
        "    u = wp.quat_rotate(x.q, wp.spatial_bottom(v)) + wp.cross(x.p, w)\n"
        "    return wp.spatial_vector(w, u)",
        ("twist_world", "v_w"),
    ),
    la.DomainHelper(
        "kinetic_energy",
        (("v", SPATIAL), ("m", FLOAT), ("inertia", MAT33)),
        FLOAT,
        "    w = wp.spatial_top(v)\n"
        "    u = wp.spatial_bottom(v)\n"
        "    return 0.5 * (m * wp.dot(u, u) + wp.dot(w, inertia @ w))",
        ("ke_body", "kinetic"),
    ),
    la.DomainHelper(
        "revolute_subspace",
        (("x", TRANSFORM), ("axis", VEC3)),
        SPATIAL,
        "    a = wp.transform_vector(x, axis)\n"
        "    return wp.spatial_vector(a, wp.cross(wp.transform_get_translation(x), a))",
        ("S_rev", "subspace"),
    ),
    la.DomainHelper(
        "damped_twist",
        (("v", SPATIAL), ("c", FLOAT)),
        SPATIAL,
        "    k = 1.0 / (1.0 + wp.abs(c))\n"
        "    return wp.spatial_vector(wp.spatial_top(v) * k, wp.spatial_bottom(v) * k)",
        ("v_damped", "twist_damped"),
    ),
    la.DomainHelper(
        "wrench_to_body",
        (("x", TRANSFORM), ("f", SPATIAL)),
        SPATIAL,
        "    q_inv = wp.quat_inverse(wp.transform_get_rotation(x))\n"
        "    p = wp.transform_get_translation(x)\n"
        "    force = wp.spatial_bottom(f)\n"
        "    torque = wp.spatial_top(f) - wp.cross(p, force)\n"
        "    return wp.spatial_vector(wp.quat_rotate(q_inv, torque), wp.quat_rotate(q_inv, force))",
        ("f_body", "wrench_b"),
    ),
    la.DomainHelper(
        "relative_twist",
        (("a", SPATIAL), ("b", SPATIAL), ("r", VEC3)),
        VEC3,
        "    return wp.velocity_at_point(a, r) - wp.velocity_at_point(b, r)",
        ("v_rel", "slip"),
    ),
    la.DomainHelper(
        "power",
        (("v", SPATIAL), ("f", SPATIAL)),
        FLOAT,
        "    return wp.dot(wp.spatial_top(v), wp.spatial_top(f)) + wp.dot(wp.spatial_bottom(v), wp.spatial_bottom(f))",
        ("power_in", "work_rate"),
    ),
)


@register_category("spatial", groups={"arith", "vector"})
def spatial(w: KernelWriter) -> None:
    """Spatial vectors and rigid-body dynamics: twists, wrenches, spatial cross products, adjoints, inertia."""
    VOCABULARY.apply(w)
    st = _Body()
    before = set(w.scope)
    load_input(w, VOCABULARY, SPATIAL)
    la.load_pose(w, VOCABULARY)
    for k in range(max(0, w.limits.inputs - 1)):
        # at most two poses (each up to two arrays)
        t = w.choose((SPATIAL, SPATIAL, VEC3, FLOAT, FLOAT, TRANSFORM if k == 0 else SPATIAL))
        if t is TRANSFORM:
            la.load_pose(w, VOCABULARY)
        else:
            load_input(w, VOCABULARY, t)
    st.loaded = [n for n in w.scope if n not in before]
    w.add_productions(*_palette(w))
    la.add_domain_helpers(w, _HELPERS)
    la.run_motifs(w, st, _MOTIFS, la.draw_motifs(w, _MOTIFS), (SPATIAL, SPATIAL, VEC3, FLOAT))
    la.store_outputs(w, VOCABULARY, (SPATIAL,), (VEC3, FLOAT, TRANSFORM))
