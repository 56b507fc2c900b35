"""Matrix kernels: continuum-mechanics and rigid-body linear algebra over ``mat22``/``mat33``/``mat44``.

A kernel is a handful of *motifs* drawn with the kernel's rng (deformation gradients and stress,
polar decomposition and plasticity through ``svd3``, symmetric eigen-analysis of covariance or
inertia with ``eig3``, ``qr3`` frames, guarded linear solves, inertia tensors, 2-D rotations and
``svd2``, homogeneous 4x4 transforms, component reads and writes), each with rng-chosen variants and
operands, interleaved with typed random statements over the category's productions.

Invertibility is by construction, never by luck: ``I + s*M`` with ``|M_ij| <= 1`` and ``s < 1/n``
(diagonally dominant), ``A + k*I`` with ``k > n``, Tikhonov ``A^T A + eps*I``, inertia tensors with a
positive principal part, rigid homogeneous matrices, or an explicit determinant test.

Decomposition factors (singular and eigen vectors) are only used through the products the motifs form
(``U V^T``, ``V S V^T``, ``Q D Q^T``), which are differentiable where a single factor is not (repeated
values), and principal axes only where the principal values are well apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..category import register_category
from ..expressions import Production
from ..types import FLOAT, INT, MAT22, MAT33, MAT44, QUAT, VEC2, VEC3, VEC4, WarpType
from ..writer import KernelWriter
from . import _linalg as la
from .common import Vocabulary, load_input

_G = "matrix"
#: Types under which decomposition factors (singular / eigen vectors) are kept: random expressions never see
#: them, since a single singular or eigen vector is not differentiable where values repeat.
_FACTOR33 = WarpType("mat33_factor", "wp.mat33", 9)
_FACTOR22 = WarpType("mat22_factor", "wp.mat22", 4)
#: A kernel parameter of positive per-component scales, only ever a divisor.
_SCALES = WarpType("mat33_scales", "wp.mat33", 9)
_MAT = {2: MAT22, 3: MAT33, 4: MAT44}
_VEC = {2: VEC2, 3: VEC3, 4: VEC4}

VOCABULARY = Vocabulary(
    inputs={
        "mat33": (
            ("displacement_grads", "grad_u"),
            ("velocity_grads", "grad_v"),
            ("strains", "strain"),
            ("stresses", "stress"),
            ("jacobians", "jac"),
        ),
        "vec3": (
            ("positions", "pos"),
            ("offsets", "offset"),
            ("directions", "dir"),
            ("forces", "force"),
            ("momenta", "ang_mom"),
        ),
        "float": (("angles", "angle"), ("weights", "weight"), ("pressures", "pressure"), ("temperatures", "temp")),
        "mat22": (("jacobians_2d", "jac_2d"), ("strains_2d", "strain_2d")),
        "mat44": (("model_mats", "model"), ("xforms", "xform_mat")),
    },
    outputs={
        "mat33": ("stress_out", "tensor_out", "F_out"),
        "vec3": ("forces_out", "axes_out", "vec_out"),
        "float": ("energy_out", "invariants", "scalar_out"),
        "mat22": ("planar_out", "out_2d"),
        "mat44": ("xforms_out", "homog_out"),
    },
    locals={
        "mat33": ("tensor", "basis", "mapped_tensor"),
        "vec3": ("traction", "mapped", "vec"),
        "float": ("invariant", "measure", "scalar"),
    },
)


@dataclass
class _Mats:
    """What the motifs of one kernel know about its matrices."""

    bounded: dict[str, WarpType] = field(default_factory=dict)  # loaded from inputs: entries in [-1, 1]
    rotations: list[str] = field(default_factory=list)  # mat33 locals that are proper rotations (det +1)
    generic: list[str] = field(default_factory=list)  # well-conditioned mat33 locals (see _generic33)
    sizes: set[int] = field(default_factory=lambda: {3})  # matrix sizes in play

    def of(self, t: WarpType) -> list[str]:
        return [n for n, vt in self.bounded.items() if vt == t]


def _generic33(w: KernelWriter, st: _Mats) -> str:
    """A well-conditioned 3x3 matrix (a deformation gradient I + s*M), sometimes a product of two.

    What svd3 / eig3 / qr3 and polar decompositions are given: their derivatives grow like the inverse of the
    smallest singular value (and of the gaps between them, for single factors).
    """
    rng = w.rng
    if not st.generic or rng.random() < 0.25:
        grad = w.choose(st.of(MAT33))
        st.generic.append(w.let(("F", "F_trial", "deform_grad"), f"{la.EYE3} + {w.small(0.1, 0.3)} * {grad}", MAT33))
        return st.generic[-1]
    a, b = w.choose(st.generic), w.choose(st.generic)
    if a != b and rng.random() < 0.2:
        return f"({a} @ {b})"
    return a


def _separated(w: KernelWriter, st: _Mats) -> str:
    """A symmetric 3x3 matrix with well-separated eigenvalues: a diagonal with gaps > 0.8, perturbed by the
    symmetric part of a bounded or near-identity matrix (eig3's derivatives grow like the inverse of the gaps,
    so a near-identity symmetric matrix alone, with three close eigenvalues, is never decomposed)."""
    rng = w.rng
    d = [round(rng.uniform(0.2, 0.6), 2), round(rng.uniform(1.4, 1.8), 2), round(rng.uniform(2.6, 3.2), 2)]
    rng.shuffle(d)
    D = f"wp.mat33({d[0]}, 0.0, 0.0, 0.0, {d[1]}, 0.0, 0.0, 0.0, {d[2]})"
    if rng.random() < 0.5:
        A = w.choose(st.of(MAT33))  # entries in [-1, 1]: the perturbation stays small
        return f"{D} + {w.small(0.05, 0.15)} * ({A} + wp.transpose({A}))"
    F = _generic33(w, st)
    return f"{D} + {w.small(0.05, 0.2)} * " + w.choose((f"(wp.transpose({F}) @ {F})", f"({F} @ wp.transpose({F}))"))


def _reference(w: KernelWriter, st: _Mats) -> str:
    """A fixed direction to orient eigenvectors against (never derived from them)."""
    vecs = st.of(VEC3)
    if vecs and w.rng.random() < 0.5:
        return w.choose(vecs)
    return f"wp.vec3({w.small(0.3, 1.0)}, {w.small(-1.0, 1.0)}, {w.small(0.3, 1.0)})"


def _rotation(w: KernelWriter, st: _Mats) -> str:
    """A local holding a proper rotation matrix."""
    rng = w.rng
    if st.rotations and rng.random() < 0.7:
        return w.choose(st.rotations)
    vecs = st.of(VEC3)
    if rng.random() < 0.5:
        # an input vector (entries in [-1, 1]) plus an offset is never near zero: a safe axis
        axis = f"wp.normalize({w.choose(vecs)} + wp.vec3(0.0, 0.0, 1.5))" if vecs else w.unit_vec()
        quat = f"wp.quat_from_axis_angle({axis}, {w.expr(FLOAT, 1)})"
    else:
        roll, pitch = w.expr(FLOAT, 1), w.expr(FLOAT, 1)
        quat = f"wp.quat_rpy({roll}, {w.small(-1.5, 1.5) if pitch == roll else pitch}, {w.small(-1.5, 1.5)})"
    st.rotations.append(w.let(("R", "rot", "R_body", "R_world"), f"wp.quat_to_matrix({quat})", MAT33))
    return st.rotations[-1]


def _palette(w: KernelWriter, sizes: set[int]) -> list[Production]:
    """This kernel's palette: the 3x3 productions, and 2x2 / 4x4 ones only where such values are in play."""
    rng = w.rng
    r, c = rng.randrange(3), rng.randrange(3)
    r2, r4 = rng.randrange(2), rng.randrange(4)
    pos = ", ".join(w.small(0.5, 2.0) for _ in range(3))
    prods = [
        Production(MAT33, "wp.matrix_from_cols({0}, {1}, {2})", (VEC3, VEC3, VEC3), _G, 0.6, ("frame", "cols")),
        Production(MAT33, "wp.matrix_from_rows({0}, {1}, {2})", (VEC3, VEC3, VEC3), _G, 0.6, ("frame", "rows")),
        Production(MAT33, "({0} - {1})", (MAT33, MAT33), _G, 1.0, ("tensor_diff", "residual")),
        Production(MAT33, "({0} * {1})", (FLOAT, MAT33), _G, 0.7, ("scaled_tensor", "weighted")),
        Production(MAT33, "wp.cw_mul({0}, {1})", (MAT33, MAT33), _G, 0.5, ("masked", "hadamard")),
        Production(MAT33, f"({{0}} * {la.EYE3})", (FLOAT,), _G, 0.5, ("isotropic", "pressure_tensor")),
        Production(MAT33, "wp.mul({0}, wp.transpose({1}))", (MAT33, MAT33), _G, 0.4, ("gram", "corr")),
        Production(VEC3, "wp.get_diag({0})", (MAT33,), _G, 0.7, ("diagonal", "principal")),
        Production(VEC3, "{0}[{k}]", (MAT33,), _G, 0.7, ("row", "row_vec")),
        Production(VEC3, f"{{0}}[:, {c}]", (MAT33,), _G, 0.4, ("column", "col_vec")),
        Production(VEC3, "({0} @ {1})", (VEC3, MAT33), _G, 0.5, ("pulled", "row_mapped")),
        Production(VEC3, "(wp.transpose({0}) @ {1})", (MAT33, VEC3), _G, 0.7, ("local_vec", "pulled_back")),
        Production(VEC3, f"wp.cw_div({{0}}, wp.vec3({pos}))", (VEC3,), _G, 0.5, ("rescaled", "normalized_vec")),
        Production(VEC3, "wp.smooth_normalize({0})", (VEC3,), _G, 0.3, ("direction", "unit_dir")),
        Production(FLOAT, f"{{0}}[{r}, {c}]", (MAT33,), _G, 1.0, ("entry", "component")),
        Production(FLOAT, f"{{0}}[{r}][{c}]", (MAT33,), _G, 0.4, ("entry", "element")),
        Production(FLOAT, "wp.length({0}[{k}])", (MAT33,), _G, 0.6, ("row_norm", "row_length")),
        Production(FLOAT, "wp.norm_l1({0})", (VEC3,), _G, 0.4, ("l1_norm", "taxicab")),
        Production(FLOAT, "wp.norm_l2({0})", (VEC3,), _G, 0.3, ("l2_norm", "magnitude")),
        Production(FLOAT, f"wp.norm_huber({{0}}, {w.small(0.2, 1.5)})", (VEC3,), _G, 0.4, ("huber", "robust_norm")),
        Production(FLOAT, f"wp.norm_pseudo_huber({{0}}, {w.small(0.2, 1.5)})", (VEC3,), _G, 0.4, ("pseudo_huber",)),
    ]
    p22 = [
        Production(FLOAT, "wp.trace({0})", (MAT22,), _G, 0.4, ("trace_2d", "divergence")),
        Production(FLOAT, "wp.ddot({0}, {1})", (MAT22, MAT22), _G, 0.3, ("contraction_2d",)),
        Production(FLOAT, f"{{0}}[{r2}, {1 - r2}]", (MAT22,), _G, 0.4, ("shear", "off_diag")),
        Production(MAT22, "({0} @ {1})", (MAT22, MAT22), _G, 0.7, ("composed_2d", "product_2d")),
        Production(MAT22, "({0} * {1})", (FLOAT, MAT22), _G, 0.5, ("scaled_2d",)),
        Production(MAT22, "({0} - {1})", (MAT22, MAT22), _G, 0.5, ("diff_2d",)),
        Production(MAT22, "wp.diag({0})", (VEC2,), _G, 0.4, ("stretch_2d", "diag_2d")),
        Production(MAT22, "wp.matrix_from_cols({0}, {1})", (VEC2, VEC2), _G, 0.4, ("frame_2d",)),
        Production(MAT22, "wp.cw_mul({0}, {1})", (MAT22, MAT22), _G, 0.3, ("masked_2d",)),
        Production(VEC2, "wp.get_diag({0})", (MAT22,), _G, 0.4, ("diag_uv", "stretches")),
        Production(VEC2, f"{{0}}[{r2}]", (MAT22,), _G, 0.4, ("row_2d",)),
        Production(VEC2, "({0} - {1})", (VEC2, VEC2), _G, 0.5, ("delta_uv",)),
        Production(VEC2, "wp.normalize({0})", (VEC2,), _G, 0.3, ("dir_2d",)),
    ]
    p44 = [
        Production(FLOAT, "wp.determinant({0})", (MAT44,), _G, 0.3, ("det_4x4",)),
        Production(FLOAT, "wp.trace({0})", (MAT44,), _G, 0.3, ("trace_4x4",)),
        Production(MAT44, "({0} @ {1})", (MAT44, MAT44), _G, 0.7, ("chained", "composed_xform")),
        Production(MAT44, "({0} + {1})", (MAT44, MAT44), _G, 0.5, ("blended_xform",)),
        Production(MAT44, "wp.transpose({0})", (MAT44,), _G, 0.5, ("transposed_xform",)),
        Production(MAT44, "({0} * {1})", (MAT44, FLOAT), _G, 0.5, ("scaled_xform",)),
        Production(MAT44, "wp.outer({0}, {1})", (VEC4, VEC4), _G, 0.3, ("outer_4d",)),
        Production(MAT44, "wp.diag({0})", (VEC4,), _G, 0.3, ("diag_4x4",)),
        Production(MAT44, f"({{0}} * {la.eye(4)})", (FLOAT,), _G, 0.3, ("uniform_scale",)),
        Production(VEC4, "({0} @ {1})", (MAT44, VEC4), _G, 0.7, ("hom_point", "clip")),
        Production(VEC4, "wp.get_diag({0})", (MAT44,), _G, 0.3, ("scales_4d",)),
        Production(VEC4, f"{{0}}[{r4}]", (MAT44,), _G, 0.4, ("row_4d",)),
        Production(VEC3, "wp.transform_point({0}, {1})", (MAT44, VEC3), _G, 0.4, ("p_world", "moved")),
        Production(VEC3, "wp.transform_vector({0}, {1})", (MAT44, VEC3), _G, 0.4, ("v_world", "turned")),
    ]
    prods += p22 if 2 in sizes else []
    prods += p44 if 4 in sizes else []
    # each kernel draws its own palette: most productions, never all of them
    return [p for p in prods if rng.random() < 0.8]


# ------------------------------------------------------------------------------------------- motifs
def _deformation(w: KernelWriter, st: _Mats) -> None:
    """A deformation gradient near identity and what continuum mechanics computes from it."""
    rng = w.rng
    s = w.small(0.05, 0.3)  # s < 1/3 keeps I + s*M diagonally dominant, so det(F) > 0
    mats, vecs = st.of(MAT33), st.of(VEC3)
    generic = bool(mats) and rng.random() < 0.7
    if generic:
        value = f"{la.EYE3} + {s} * {w.choose(mats)}"
    elif vecs and rng.random() < 0.6:
        a, b = w.choose(vecs), w.choose(vecs)
        value = w.choose((f"{la.EYE3} + {s} * wp.outer({a}, {b})", f"{la.EYE3} + {s} * wp.skew({a})"))
    else:
        value = f"{la.EYE3} + {s} * wp.skew(wp.normalize({w.expr(VEC3, 1)}))"
    F = w.let(("F", "F_def", "deform_grad", "F_next"), value, MAT33)
    if generic:  # rank-one and skew updates of I have repeated singular values
        st.generic.append(F)
    steps = w.pick(("strain", "neo", "energy", "iso", "small", "polar"), rng.randint(1, 2 + w.level // 2))
    J = logJ = C = None
    if any(step in ("neo", "energy", "iso") for step in steps) or rng.random() < 0.3:
        J = w.let(("J", "det_F", "vol_ratio"), f"wp.determinant({F})", FLOAT)
    mu, lam = w.coeff("mu", 0.1, 2.0), w.coeff("lam", 0.1, 2.0)
    for step in steps:
        if step in ("strain", "energy") and C is None:
            C = w.let(
                ("C", "C_right", "cauchy_green"),
                w.choose((f"wp.transpose({F}) @ {F}", f"wp.mul(wp.transpose({F}), {F})")),
                MAT33,
            )
        if step in ("neo", "energy") and logJ is None:
            logJ = w.let(("log_J", "logJ"), f"wp.log(wp.max({J}, 1.0e-4))", FLOAT)
        if step == "strain":
            E = w.let(("E", "green_strain", "E_green"), f"0.5 * ({C} - {la.EYE3})", MAT33)
            S = w.let(("S", "pk2", "S_stress"), f"{lam} * wp.trace({E}) * {la.EYE3} + {la.fold(2.0, mu)} * {E}", MAT33)
            w.let(("P", "pk1", "P_stress"), f"{F} @ {S}", MAT33)
        elif step == "neo":
            FinvT = w.let(("F_inv_T", "FinvT"), f"wp.transpose(wp.inverse({F}))", MAT33)
            w.let(("P_neo", "P", "pk1"), f"{mu} * ({F} - {FinvT}) + {lam} * {logJ} * {FinvT}", MAT33)
        elif step == "energy":
            w.let(
                ("psi", "energy_density", "strain_energy"),
                f"{la.fold(0.5, mu)} * (wp.trace({C}) - 3.0) - {mu} * {logJ} + {la.fold(0.5, lam)} * {logJ} * {logJ}",
                FLOAT,
            )
        elif step == "iso":
            w.let(("F_iso", "F_bar", "F_dev"), f"wp.pow(wp.max({J}, 1.0e-3), -0.3333) * {F}", MAT33)
        elif step == "small":
            eps = w.let(("eps", "strain_lin", "eps_small"), f"0.5 * ({F} + wp.transpose({F})) - {la.EYE3}", MAT33)
            dev = w.let(("eps_dev", "dev_strain"), f"{eps} - (wp.trace({eps}) / 3.0) * {la.EYE3}", MAT33)
            w.let(("eq_strain", "strain_norm"), f"wp.sqrt(wp.ddot({dev}, {dev}))", FLOAT)
        else:
            _polar(w, st, F if generic else None)


def _svd3(w: KernelWriter, A: str) -> list[str]:
    outputs = (
        (("U", "U_svd", "U_f"), _FACTOR33),
        (("sigma", "sv", "singular"), VEC3),
        (("V", "V_svd", "V_f"), _FACTOR33),
    )
    return la.decompose(w, "wp.svd3", A, outputs, w.rng.random() < 0.4)


def _polar(w: KernelWriter, st: _Mats, F: str | None = None) -> None:
    """Polar decomposition and singular-value clamping (plasticity) through ``svd3``."""
    rng = w.rng
    F = F or _generic33(w, st)
    U, sigma, V = _svd3(w, F)
    R = w.let(
        ("R", "R_polar", "rot", "R_p"), w.choose((f"{U} @ wp.transpose({V})", f"wp.mul({U}, wp.transpose({V}))")), MAT33
    )
    st.rotations.append(R)  # U and V are proper rotations, so U V^T is one too
    uses = w.pick(("stretch", "clamp", "quat", "corot"), rng.randint(1, 2))
    if "stretch" not in uses and "clamp" not in uses:
        uses.append(w.choose(("stretch", "clamp")))  # the singular values are read too
    for use in uses:
        if use == "stretch":
            w.let(("stretch", "right_stretch"), f"{V} @ wp.diag({sigma}) @ wp.transpose({V})", MAT33)
        elif use == "clamp":
            lo, hi = w.small(0.5, 0.95), w.small(1.05, 1.5)
            parts = ", ".join(f"wp.clamp({sigma}[{k}], {lo}, {hi})" for k in range(3))
            clamped = w.let(("sigma_clamped", "sv_clamped"), f"wp.vec3({parts})", VEC3)
            w.let(("F_elastic", "F_proj"), f"{U} @ wp.diag({clamped}) @ wp.transpose({V})", MAT33)
        elif use == "quat":
            q = w.let(("q_rot", "orientation"), f"wp.quat_from_matrix({R})", QUAT)
            w.let(("rotated", "turned"), f"wp.quat_rotate({q}, {w.expr(VEC3, 1, leaf_bias=0.7)})", VEC3)
        else:
            w.let(("P_corot", "corot_stress"), f"{la.fold(2.0, w.coeff('mu', 0.1, 2.0))} * ({F} - {R})", MAT33)


def _covariance(w: KernelWriter, st: _Mats) -> str:
    """The covariance of a few neighbours' offsets, some weighted by distance."""
    rng = w.rng
    pts = next((n for n in ("neighbors", "samples") if w.has_arg(n)), None) or w.input_array(
        VEC3, ("neighbors", "samples")
    )
    # offsets from this point (or an input position): a constant centre would make the covariance
    # nearly rank one, with two close principal values
    center = w.choose([f"{pts}[i]", *st.of(VEC3)])
    C = w.let(("cov", "covariance", "C_cov"), w.choose(("wp.mat33()", "wp.mat33(0.0)")), MAT33)
    n = rng.randint(3, 4 + w.level)
    j = w.name("j", "nb", "k_nb")
    with w.block(f"for {j} in range({n})"):
        w.define(j, INT)
        d = w.let(("d", "rel", "delta"), f"{pts}[{w.index_expr(pts, j)}] - {center}", VEC3)
        if rng.random() < 0.5:
            width = w.small(3.0, 6.0)  # a Gaussian weight of the neighbour's distance
            weight = w.let(("weight_j", "kernel_w", "falloff"), f"wp.exp(-wp.length_sq({d}) / {width})", FLOAT)
            w.emit(f"{C} += {weight} * wp.outer({d}, {d})")
        else:
            w.set(C, f"{C} + wp.outer({d}, {d})")
    w.set(C, f"{C} * {1.0 / n:.4f}")
    return C


def _eigen(w: KernelWriter, st: _Mats) -> None:
    """Eigen-analysis of a symmetric matrix: covariance of neighbours, or an anisotropic (stiffness) tensor."""
    rng = w.rng
    separated = False  # principal axes are only used where the principal values are well apart
    roll = rng.random()
    if w.can_nest and roll < 0.4:
        C = _covariance(w, st)
    else:  # a stiffness-like tensor: well-separated principal values, perturbed symmetrically
        C = w.let(("D_aniso", "tensor_aniso", "C_stiff"), _separated(w, st), MAT33)
        separated = True
    outputs = ((("Q", "eigvecs", "principal_axes"), _FACTOR33), (("evals", "eigvals", "principal"), VEC3))
    Q, evals = la.decompose(w, "wp.eig3", C, outputs, rng.random() < 0.4)
    uses = {"axis": 2.0, "range": 1.0, "project": 1.0, "aniso": 1.0} if separated else ["range", "project", "aniso"]
    chosen = w.pick(uses, rng.randint(1, 3))
    if chosen == ["axis"] or ("axis" not in chosen and "project" not in chosen):
        chosen.append("project")  # the eigenvectors and the eigenvalues are both read
    k = rng.randrange(3)
    for use in chosen:
        if use == "axis":
            axis = w.let(
                ("major_axis", "principal_dir", "axis_k"),
                w.choose(
                    (f"{Q}[:, {k}]", f"wp.transpose({Q})[{k}]", f"wp.vec3({Q}[0, {k}], {Q}[1, {k}], {Q}[2, {k}])")
                ),
                VEC3,
            )
            with w.block(f"if wp.dot({axis}, {_reference(w, st)}) < 0.0"):
                w.set(axis, f"-{axis}")
        elif use == "range":
            op = w.choose(("min", "max"))
            w.let((f"eig_{op}", f"{op}_eig"), f"wp.{op}(wp.{op}({evals}[0], {evals}[1]), {evals}[2])", FLOAT)
        elif use == "project":
            eps = w.small(0.01, 0.2)
            w.let(
                ("C_spd", "projected", "spd"),
                f"{Q} @ wp.diag(wp.max({evals}, wp.vec3({eps}))) @ wp.transpose({Q})",
                MAT33,
            )
        else:
            w.let(
                ("anisotropy", "aniso_ratio"),
                f"({evals}[0] - {evals}[2]) / (wp.abs({evals}[0]) + wp.abs({evals}[2]) + 1.0e-6)",
                FLOAT,
            )


def _qr(w: KernelWriter, st: _Mats) -> None:
    """QR factorisation: an orthonormal frame and the triangular factor."""
    rng = w.rng
    A = _generic33(w, st)
    Q, R = la.decompose(
        w, "wp.qr3", A, ((("Q", "Q_frame", "ortho"), MAT33), (("R_tri", "upper", "R_qr"), MAT33)), rng.random() < 0.4
    )
    uses = w.pick(("local", "diag", "volume", "solve"), rng.randint(1, 2))
    if "solve" not in uses and "local" not in uses:
        uses.append("local")  # both factors are read
    elif "solve" not in uses and "diag" not in uses and "volume" not in uses:
        uses.append(w.choose(("diag", "volume")))
    for use in uses:
        if use == "local":
            w.let(("v_local", "local_vec"), f"wp.transpose({Q}) @ {w.expr(VEC3, 1, leaf_bias=0.7)}", VEC3)
        elif use == "diag":
            w.let(("pivots", "r_diag"), f"wp.get_diag({R})", VEC3)
        elif use == "volume":
            w.let(("volume", "vol"), f"wp.abs({R}[0, 0] * {R}[1, 1] * {R}[2, 2])", FLOAT)
        else:  # back substitution R x = Q^T b with guarded pivots
            floor = w.choose(("0.1", "0.2"))
            y = w.let(("y", "rhs_local", "b_local"), f"wp.transpose({Q}) @ {w.expr(VEC3, 1, leaf_bias=0.7)}", VEC3)
            guarded = ", ".join(f"wp.copysign(wp.max(wp.abs({R}[{k}, {k}]), {floor}), {R}[{k}, {k}])" for k in range(3))
            piv = w.let(("piv", "safe_pivots"), f"wp.vec3({guarded})", VEC3)
            x_z = w.let(("x_z", "x_last"), f"{y}[2] / {piv}[2]", FLOAT)
            x_y = w.let(("x_y", "x_mid"), f"({y}[1] - {R}[1, 2] * {x_z}) / {piv}[1]", FLOAT)
            x_x = w.let(("x_x", "x_first"), f"({y}[0] - {R}[0, 1] * {x_y} - {R}[0, 2] * {x_z}) / {piv}[0]", FLOAT)
            w.let(("x", "solution", "x_sol"), f"wp.vec3({x_x}, {x_y}, {x_z})", VEC3)


def _inertia(w: KernelWriter, st: _Mats) -> None:
    """A rigid body's inertia tensor: parallel-axis shift, rotation to world, inverse, energy."""
    rng = w.rng
    m = la.body_mass(w)
    r = la.named(w, VEC3, ("r", "com_offset", "arm"))
    vecs = [v for v in st.of(VEC3) if v != r]
    I_c = w.let(("I_c", "I_body", "inertia_c"), la.principal_inertia(w, w.choose(vecs) if vecs else None), MAT33)
    inertia = w.let(("I_p", "inertia", "I_shifted"), la.parallel_axis(I_c, m, r), MAT33)
    if rng.random() < 0.7:
        R = _rotation(w, st)
        inertia = w.let(("I_world", "inertia_world"), f"{R} @ {inertia} @ wp.transpose({R})", MAT33)
    inv = w.choose(("wp.inverse", "wp.inverse", "wp.inverse_approx"))
    inertia_inv = w.let(("I_inv", "inertia_inv"), f"{inv}({inertia})", MAT33)
    omega = w.let(("omega", "ang_vel"), f"{inertia_inv} @ {w.expr(VEC3, 1, exclude=[r], leaf_bias=0.7)}", VEC3)
    if rng.random() < 0.6:
        w.let(("rot_energy", "kinetic"), f"0.5 * wp.dot({omega}, {inertia} @ {omega})", FLOAT)
    else:
        w.let(("gyro", "gyro_torque"), f"wp.cross({omega}, {inertia} @ {omega})", VEC3)


def _solve(w: KernelWriter, st: _Mats) -> None:
    """A small dense linear solve with an invertibility guarantee or an explicit guard."""
    rng = w.rng
    n = w.choose([3, 3, *sorted(k for k in st.sizes if st.of(_MAT[k]) or w.locals_of(_MAT[k]))])
    M, V = _MAT[n], _VEC[n]
    b = w.expr(V, 1, leaf_bias=0.7)
    bounded = st.of(M)
    kind = w.choose(("shift", "det", "tikhonov") if bounded else ("det", "tikhonov"))
    inv = "wp.inverse_approx" if rng.random() < 0.15 else "wp.inverse"
    if kind == "shift":
        k = w.small(n + 0.5, n + 3.0)
        A = w.let(("A", "A_shift", "system"), f"{w.choose(bounded)} + {la.scaled_eye(n, k)}", M)
        w.let(("x", "solution", "x_sol"), f"{inv}({A}) @ {b}", V)
    elif kind == "tikhonov":
        A = la.named(w, M, ("A", "jac_A", "system"), exclude=[b])
        N = w.let(
            ("N", "normal_mat", "AtA"), f"wp.transpose({A}) @ {A} + {la.scaled_eye(n, w.coeff('damping', 0.1, 1.0))}", M
        )
        w.let(("x", "x_ls", "solution"), f"{inv}({N}) @ (wp.transpose({A}) @ {b})", V)
    else:
        A = la.named(w, M, ("A", "system", "A_mat"), exclude=[b])
        det = w.let(("det_A", "det"), f"wp.determinant({A})", FLOAT)
        x = w.let(("x", "solution", "x_sol"), w.choose((f"{V.annotation}()", f"{V.annotation}(0.0)")), V)
        with w.block(f"if wp.abs({det}) > {w.choose(('0.1', '0.2', '0.25'))}"):
            w.set(x, f"wp.inverse({A}) @ {b}")


def _components(w: KernelWriter, st: _Mats) -> None:
    """Element, row and column access: writes into a fresh matrix, row norms, Gram-Schmidt."""
    rng = w.rng
    for use in w.pick(("write", "rows", "gram", "read"), rng.randint(1, 2)):
        if use == "write":  # fill a fresh matrix: each row written once, from other values
            M = w.let(("M", "assembled", "M_new"), w.choose(("wp.mat33()", "wp.mat33(0.0)", la.EYE3)), MAT33)
            for row in rng.sample(range(3), rng.randint(1, 3)):
                if rng.random() < 0.5:
                    w.emit(f"{M}[{row}, {rng.randrange(3)}] = {w.expr(FLOAT, 2, exclude=[M])}")
                else:
                    w.emit(f"{M}[{row}] = {w.expr(VEC3, 2, exclude=[M])}")
        elif use == "rows" and w.can_nest:
            M = la.named(w, MAT33, ("M", "tensor_m", "mat_m"))
            acc = w.let(("row_sum", "total_norm"), "float(0.0)", FLOAT)
            r = w.name("r", "row")
            with w.block(f"for {r} in range(3)"):
                w.define(r, INT)
                w.set(acc, f"{acc} + " + w.choose((f"wp.length({M}[{r}])", f"wp.abs({M}[{r}, {r}])")))
        elif use == "gram":  # re-orthonormalise a well-conditioned frame (rows far from parallel)
            M = _generic33(w, st)
            if not M.isidentifier():
                M = w.let(("M", "frame_raw"), M, MAT33)
            e0 = w.let(("tangent", "e_x"), f"wp.normalize({M}[0])", VEC3)
            e1 = w.let(("normal", "e_y"), f"wp.normalize({M}[1] - wp.dot({M}[1], {e0}) * {e0})", VEC3)
            e2 = w.let(("binormal", "e_z"), f"wp.cross({e0}, {e1})", VEC3)
            form = w.choose(("wp.matrix_from_rows", "wp.matrix_from_cols"))
            w.let(("frame", "ortho_frame"), f"{form}({e0}, {e1}, {e2})", MAT33)
        else:
            M = la.named(w, MAT33, ("M", "tensor_m", "mat_m"))
            w.let(("row", "row_vec"), f"{M}[{rng.randrange(3)}]", VEC3)
            w.let(("column", "col_vec"), f"{M}[:, {rng.randrange(3)}]", VEC3)


def _mat22(w: KernelWriter, st: _Mats) -> None:
    """Planar linear algebra: a planar deformation gradient, rotation by an angle, ``svd2``, shifted inverse."""
    rng = w.rng
    if not st.of(MAT22):  # read a planar matrix
        st.bounded[load_input(w, VOCABULARY, MAT22)] = MAT22
    A = w.choose(st.of(MAT22))
    # a planar deformation gradient I + s*A (s < 1/2: diagonally dominant, so invertible and away from the
    # origin of atan2)
    F2 = w.let(("F_2d", "F_planar"), f"{la.eye(2)} + {w.small(0.2, 0.4)} * {A}", MAT22)
    if rng.random() < 0.4:  # the direction of its first column, also reported in degrees
        theta = w.let(("theta", "angle_2d"), f"wp.atan2({F2}[1, 0], {F2}[0, 0])", FLOAT)
        if rng.random() < 0.5:
            w.let(("angle_deg", "theta_deg"), f"wp.degrees({theta})", FLOAT)
    else:
        theta = la.named(w, FLOAT, ("theta", "angle_2d"))
    cs = w.let(("c", "cos_t"), f"wp.cos({theta})", FLOAT)
    sn = w.let(("s", "sin_t"), f"wp.sin({theta})", FLOAT)
    rot = w.let(("rot_2d", "R_planar"), f"wp.mat22({cs}, -{sn}, {sn}, {cs})", MAT22)
    w.let(("uv_rot", "rotated_2d"), f"{rot} @ {w.expr(VEC2, 1, leaf_bias=0.7)}", VEC2)
    if rng.random() < 0.6:
        outputs = ((("U_2d", "U_planar"), _FACTOR22), (("sigma_2d", "sv_2d"), VEC2), (("V_2d", "V_planar"), _FACTOR22))
        U, s, V = la.decompose(w, "wp.svd2", F2, outputs, rng.random() < 0.4)
        w.let(("F_rot", "recon_2d"), f"{U} @ wp.diag({s}) @ wp.transpose({rot} @ {V})", MAT22)
    elif rng.random() < 0.5:
        w.let(("F_inv_2d", "inv_F2"), f"wp.inverse({F2})", MAT22)
    else:
        w.let(("J_2d", "area_ratio"), f"wp.determinant({F2})", FLOAT)
    if rng.random() < 0.6:
        inv = w.let(("A_inv", "inv_2d"), f"wp.inverse({A} + {la.scaled_eye(2, w.small(2.5, 4.0))})", MAT22)
        w.let(("det_inv", "inv_det"), f"wp.determinant({inv}) + wp.trace({rot})", FLOAT)


def _mat44(w: KernelWriter, st: _Mats) -> None:
    """Homogeneous 4x4 rigid transforms: assembly, point/vector transforms, inverse."""
    rng = w.rng
    R = _rotation(w, st)
    p = la.named(w, VEC3, ("p", "translation", "origin"))
    form = rng.randrange(3)
    if form == 0:
        rows = [f"{R}[{a}, 0], {R}[{a}, 1], {R}[{a}, 2], {p}[{a}]" for a in range(3)]
        H = w.let(("H", "xform_h", "homog"), f"wp.mat44({', '.join(rows)}, 0.0, 0.0, 0.0, 1.0)", MAT44)
    elif form == 1 or w.limits.nesting - w.depth < 2:
        cols = [f"wp.vec4({R}[0, {a}], {R}[1, {a}], {R}[2, {a}], 0.0)" for a in range(3)]
        value = f"wp.matrix_from_cols({', '.join(cols)}, wp.vec4({p}[0], {p}[1], {p}[2], 1.0))"
        H = w.let(("H", "xform_h", "homog"), value, MAT44)
    else:
        H = w.let(("H", "xform_h", "homog"), la.eye(4), MAT44)
        r, c = w.name("r", "row"), w.name("c", "col")
        with w.block(f"for {r} in range(3)"):
            w.define(r, INT)
            w.emit(f"{H}[{r}, 3] = {p}[{r}]")
            with w.block(f"for {c} in range(3)"):
                w.define(c, INT)
                w.emit(f"{H}[{r}, {c}] = {R}[{r}, {c}]")
    x = la.named(w, VEC3, ("x", "point", "p_local"), exclude=[p])
    for use in w.pick(("point", "vector", "inverse", "homog"), rng.randint(1, 3)):
        if use == "point":
            w.let(("p_world", "moved"), f"wp.transform_point({H}, {x})", VEC3)
        elif use == "vector":
            w.let(("v_world", "dir_world"), f"wp.transform_vector({H}, {w.expr(VEC3, 1, leaf_bias=0.7)})", VEC3)
        elif use == "inverse":  # rigid: det(H) = det(R) = 1
            H_inv = w.let(("H_inv", "inv_xform"), f"wp.inverse({H})", MAT44)
            w.let(("p_local", "back"), f"wp.transform_point({H_inv}, {x})", VEC3)
        else:
            h = w.let(("h", "hom", "x_h"), f"{H} @ wp.vec4({x}[0], {x}[1], {x}[2], 1.0)", VEC4)
            w.let(("p_h", "dehom"), f"wp.vec3({h}[0], {h}[1], {h}[2])", VEC3)


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


def _helpers(w: KernelWriter) -> list[la.DomainHelper]:
    """``@wp.func`` helpers a matrix-heavy module defines."""
    eps = w.choose(("0.1", "0.2"))
    A = (("a", MAT33),)
    return [
        la.DomainHelper("sym", A, MAT33, "    return 0.5 * (a + wp.transpose(a))", ("sym_part", "symmetric")),
        la.DomainHelper("dev", A, MAT33, f"    return a - (wp.trace(a) / 3.0) * {la.EYE3}", ("deviator", "dev_part")),
        la.DomainHelper("skew_part", A, MAT33, "    return 0.5 * (a - wp.transpose(a))", ("spin", "skew_part")),
        la.DomainHelper("frob", A, FLOAT, "    return wp.sqrt(wp.ddot(a, a))", ("frob_norm", "norm_f")),
        la.DomainHelper(
            "max_row",
            A,
            FLOAT,
            "    return wp.max(wp.max(wp.length(a[0]), wp.length(a[1])), wp.length(a[2]))",
            ("max_row_norm", "row_bound"),
        ),
        la.DomainHelper(
            "safe_inverse",
            A,
            MAT33,
            f"    d = wp.determinant(a)\n    if wp.abs(d) < {eps}:\n        return {la.EYE3}\n    return wp.inverse(a)",
            ("inv_safe", "inverse_m"),
        ),
        la.DomainHelper(
            "polar_rotation",
            A,
            MAT33,
            "    u = wp.mat33()\n    sigma = wp.vec3()\n    v = wp.mat33()\n    wp.svd3(a, u, sigma, v)\n"
            "    return u @ wp.transpose(v)",
            ("R_polar", "rot_polar"),
        ),
        la.DomainHelper(
            "project_spd",
            A,
            MAT33,
            "    q, d = wp.eig3(0.5 * (a + wp.transpose(a)))\n"
            f"    return q @ wp.diag(wp.max(d, wp.vec3({eps}))) @ wp.transpose(q)",
            ("C_spd", "spd"),
        ),
        la.DomainHelper(
            "rodrigues",
            (("axis", VEC3), ("angle", FLOAT)),
            MAT33,
            "    k = wp.skew(wp.normalize(axis))\n"
            f"    return {la.EYE3} + wp.sin(angle) * k + (1.0 - wp.cos(angle)) * (k @ k)",
            ("R_axis", "rot_axis"),
        ),
        la.DomainHelper(
            "quadratic_form", (("a", MAT33), ("x", VEC3)), FLOAT, "    return wp.dot(x, a @ x)", ("quad", "energy_q")
        ),
    ]


@register_category("matrix", groups={"arith", "vector"})
def matrix(w: KernelWriter) -> None:
    """Matrix algebra: inverse, determinant, svd3/svd2, eig3, qr3, deformation gradients, inertia tensors."""
    rng = w.rng
    VOCABULARY.apply(w)
    st = _Mats()
    motifs = la.draw_motifs(w, _MOTIFS)
    kinds = [MAT33] + [w.choose((MAT33, MAT33, VEC3, VEC3, FLOAT, MAT22, MAT44)) for _ in range(w.limits.inputs)]
    for t in kinds:
        st.bounded[load_input(w, VOCABULARY, t)] = t
    st.sizes = {3} | {2 for t in kinds if t is MAT22} | {4 for t in kinds if t is MAT44}
    st.sizes |= {2 for m in motifs if m == "mat22"} | {4 for m in motifs if m == "mat44"}
    w.add_productions(*_palette(w, st.sizes))
    # decompositions are only given well-conditioned matrices: those helpers are called directly
    direct = {"polar_rotation": lambda w: _generic33(w, st), "project_spd": lambda w: _separated(w, st)}
    la.add_domain_helpers(w, _helpers(w), direct=direct)
    if rng.random() < 0.3:  # per-component material scales in [0.5, 2]: safe to divide by
        w.param(_SCALES, ("material_scale", "scale_m"), {"low": 0.5, "high": 2.0})
        w.add_productions(Production(MAT33, "wp.cw_div({0}, {1})", (MAT33, _SCALES), _G, 0.7, ("rescaled_tensor",)))
    la.run_motifs(w, st, _MOTIFS, motifs, (MAT33, MAT33, VEC3, FLOAT))
    la.store_outputs(w, VOCABULARY, (MAT33, MAT33, VEC3), (FLOAT, VEC3, MAT22, MAT44))
