"""Geometry kernels: mesh / BVH / hash-grid queries and the point, segment, triangle and box math around them.

A kernel is a per-point query program. Its arguments are drawn from the structures it queries (a
``wp.Mesh``, a ``wp.Bvh`` with per-item data, a ``wp.HashGrid`` with the points it was built over); its
body is a sequence of *motifs* (closest-point / signed-distance queries, ray casts, box and sphere
overlap loops, neighbour loops, analytic SDFs and sphere tracing, segment and triangle tests) chosen by
the kernel's rng, glued together with typed random expressions over what the motifs computed. What a
motif gathers goes into accumulators declared where the motif begins, and every accumulator ends up in
an output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..category import register_category
from ..expressions import Production
from ..types import FLOAT, INT, QUAT, TRANSFORM, UINT32, UINT64, VEC3, WarpType
from ..writer import KernelWriter
from ._spatial_queries import ITEMS, MESH_DATA, QUERY, contact_force, mul, neighbor_loop, sub
from .common import Vocabulary

VOCABULARY = Vocabulary(
    locals={
        "float": ("falloff", "shade", "weight", "gap"),
        "vec3": ("offset_dir", "probe_dir", "shift"),
    },
)

_POINT_QUERIES = (
    "mesh_query_point",
    "mesh_query_point",
    "mesh_query_point_no_sign",
    "mesh_query_point_sign_normal",
    "mesh_query_point_sign_winding_number",
    "mesh_query_point_sign_parity",
)
_SIGNED_QUERIES = (
    "mesh_query_point",
    "mesh_query_point_sign_normal",
    "mesh_query_point_sign_winding_number",
    "mesh_query_point_sign_parity",
)


def _productions(has_transform: bool) -> list[Production]:
    """Geometric building blocks the expression generator may use in this kernel."""
    prods = [
        # one operation per template: the generator checks each operation it writes for self-cancelling
        # operands (``(a + b) - b``), not operations nested inside one template
        Production(FLOAT, "wp.dot({0}, wp.normalize({1}))", (VEC3, VEC3), "geometry", 1.5, ("height", "along")),
        Production(FLOAT, "wp.copysign({0}, {1})", (FLOAT, FLOAT), "geometry", 0.3, ("signed",)),
        Production(FLOAT, "wp.step({0})", (FLOAT,), "geometry", 0.2, ("below_zero", "mask")),
        Production(VEC3, "wp.abs({0})", (VEC3,), "geometry", 0.5, ("folded", "mirrored")),
        Production(VEC3, "wp.cw_div({0}, wp.abs({1}) + wp.vec3(1.0))", (VEC3, VEC3), "geometry", 0.4, ("squashed",)),
        Production(VEC3, "wp.max({0}, wp.vec3(0.0))", (VEC3,), "geometry", 0.4, ("outside", "positive_part")),
        Production(VEC3, "wp.quat_rotate_inv({0}, {1})", (QUAT, VEC3), "geometry", 1.0, ("local_dir", "unrotated")),
    ]
    if has_transform:
        prods += [
            Production(VEC3, "wp.transform_point({0}, {1})", (TRANSFORM, VEC3), "geometry", 1.0, ("moved", "placed")),
            Production(VEC3, "wp.transform_vector({0}, {1})", (TRANSFORM, VEC3), "geometry", 1.0, ("turned",)),
        ]
    return prods


@dataclass
class _Scene:
    """Per-kernel domain state: the structures queried, the query point, and what motifs accumulate."""

    mesh: str | None = None
    bvh: str | None = None
    items: str | None = None  # per-BVH-item centres (64 entries)
    weights: str | None = None  # per-BVH-item weights
    grid: str | None = None
    points: str | None = None  # the hash grid's points (64 entries)
    velocities: str | None = None
    segment: tuple[str, str] | None = None
    point: str = "p"
    self_id: str | None = None  # the thread's point id in the hash grid, when it has one
    scene: str | None = None  # the analytic SDF helper
    rand_state: str | None = None
    accumulators: list[str] = field(default_factory=list)
    counters: list[str] = field(default_factory=list)
    signed: list[str] = field(default_factory=list)  # signed distances (written to their own output)
    results: list[str] = field(default_factory=list)  # what motifs found (nearest distance, depth, density)
    held: list[str] = field(default_factory=list)  # loop-carried locals expressions must not read
    mark: object = None  # where the current motif began: its accumulators are declared there
    # a dynamic loop (while / break) has been written: the kernel is outside gradient checks, so builtins whose
    # adjoints are unreliable (barycentric u/v of point queries, furthest point, tri-tri) may appear
    dynamic: bool = False


def _expr(w: KernelWriter, g: _Scene, t: WarpType, depth: int | None = None) -> str:
    """An expression that never reads a loop-carried local (nor the thread index)."""
    return w.expr(t, depth, exclude=[*g.held, *w.tid_vars])


def _max_dist(w: KernelWriter) -> str:
    return w.coeff("max_dist", 0.5, 4.0)


def _radius(w: KernelWriter) -> str:
    return w.coeff("radius", 0.1, 0.5, param_bias=0.3 + 0.1 * w.level)


def _fold(w: KernelWriter, target: str, value: str) -> None:
    """Fold ``value`` into an accumulator with a rng-chosen combinator."""
    roll = w.rng.random()
    if roll < 0.75 or value.startswith("-"):
        w.emit(f"{target} += {value}")
    elif roll < 0.9:
        w.emit(f"{target} -= {value}")
    elif value.isidentifier():
        w.set(target, f"{target} + {w.small(0.1, 1.0)} * {value}")
    else:
        w.emit(f"{target} += {value}")


def _acc(w: KernelWriter, g: _Scene, t: WarpType, bases: tuple[str, ...], init: str) -> str:
    """An accumulator of type ``t``: an existing one, or a new one declared where the motif began."""
    existing = [a for a in g.accumulators if w.scope.get(a) == t]
    if existing and w.rng.random() < 0.6:
        return w.choose(existing)
    name = w.accumulator(bases, t, init, at=g.mark)
    g.accumulators.append(name)
    g.held.append(name)
    return name


def _float_acc(w: KernelWriter, g: _Scene) -> str:
    return _acc(w, g, FLOAT, ("acc", "total", "score"), "float(0.0)")


def _vec_acc(w: KernelWriter, g: _Scene) -> str:
    return _acc(w, g, VEC3, ("accum", "offset", "push"), "wp.vec3(0.0)")


def _held(w: KernelWriter, g: _Scene, bases: tuple[str, ...], init: str, t: WarpType) -> str:
    """A loop-carried local declared here (a counter, a running minimum, a query index)."""
    name = w.let(bases, init, t)
    g.held.append(name)
    return name


def _counter(w: KernelWriter, g: _Scene, bases: tuple[str, ...]) -> str:
    name = _held(w, g, bases, "int(0)", INT)
    g.counters.append(name)
    return name


def _rng_state(w: KernelWriter, g: _Scene) -> str:
    if g.rand_state is None:
        g.rand_state = w.let(("state", "rng"), f"wp.rand_init({w.rng.randint(1, 9999)}, i)", UINT32)
    return g.rand_state


def _direction(w: KernelWriter, g: _Scene, origin: str) -> str:
    """A ray direction: towards the origin, sampled, generated or an axis."""
    kind = w.choose({"inward": 2, "sampled": 1, "generated": 1, "axis": 1})
    if kind == "inward":
        return w.let(("ray_dir", "view_dir", "cast_dir"), f"wp.normalize(-{origin} + {w.vec(-0.2, 0.2)})", VEC3)
    if kind == "sampled":
        fn = w.choose(("sample_unit_sphere_surface", "sample_unit_hemisphere_surface", "sample_unit_sphere"))
        return w.let(("ray_dir", "view_dir", "cast_dir"), f"wp.normalize(wp.{fn}({_rng_state(w, g)}))", VEC3)
    if kind == "generated":
        return w.let(
            ("ray_dir", "view_dir", "cast_dir"), f"wp.normalize({_expr(w, g, VEC3, 2)} + {w.vec(0.1, 0.3)})", VEC3
        )
    return w.choose(("wp.vec3(0.0, 0.0, 1.0)", "wp.vec3(0.0, -1.0, 0.0)", "wp.vec3(1.0, 0.0, 0.0)"))


def _query_point(w: KernelWriter, g: _Scene) -> str:
    """The point a query is made at: the thread's point, or a generated one near it."""
    if w.rng.random() < 0.7:
        return g.point
    return w.let(("probe", "sample_pos"), f"{g.point} + {_expr(w, g, VEC3, 1)} * {w.small(0.05, 0.3)}", VEC3)


# ------------------------------------------------------------------ helpers (@wp.func)
_SD_SPHERE = """@wp.func
def NAME(p: wp.vec3, center: wp.vec3, r: float):
    return wp.length(p - center) - r"""

_SD_BOX = """@wp.func
def NAME(p: wp.vec3, half: wp.vec3):
    q = wp.abs(p) - half
    outside = wp.length(wp.max(q, wp.vec3(0.0)))
    inside = wp.min(wp.max(q[0], wp.max(q[1], q[2])), 0.0)
    return outside + inside"""

_SD_CAPSULE = """@wp.func
def NAME(p: wp.vec3, a: wp.vec3, b: wp.vec3, r: float):
    pa = p - a
    ba = b - a
    h = wp.clamp(wp.dot(pa, ba) / wp.max(wp.dot(ba, ba), 1.0e-6), 0.0, 1.0)
    return wp.length(pa - ba * h) - r"""

_SD_TORUS = """@wp.func
def NAME(p: wp.vec3, major: float, minor: float):
    ring = wp.length(wp.vec2(p[0], p[2])) - major
    return wp.length(wp.vec2(ring, p[1])) - minor"""

_SMIN = """@wp.func
def NAME(a: float, b: float, k: float):
    h = wp.clamp(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return wp.lerp(b, a, h) - k * h * (1.0 - h)"""

_RAY_BOX = """@wp.func
def NAME(origin: wp.vec3, direction: wp.vec3, lower: wp.vec3, upper: wp.vec3):
    safe = wp.vec3(
        wp.copysign(wp.max(wp.abs(direction[0]), 1.0e-6), direction[0]),
        wp.copysign(wp.max(wp.abs(direction[1]), 1.0e-6), direction[1]),
        wp.copysign(wp.max(wp.abs(direction[2]), 1.0e-6), direction[2]),
    )
    t_lower = wp.cw_div(lower - origin, safe)
    t_upper = wp.cw_div(upper - origin, safe)
    near = wp.min(t_lower, t_upper)
    far = wp.max(t_lower, t_upper)
    t_enter = wp.max(near[0], wp.max(near[1], near[2]))
    t_exit = wp.min(far[0], wp.min(far[1], far[2]))
    if t_enter <= t_exit and t_exit >= 0.0:
        return wp.max(t_enter, 0.0)
    return -1.0"""

_RAY_SPHERE = """@wp.func
def NAME(origin: wp.vec3, direction: wp.vec3, center: wp.vec3, r: float):
    oc = origin - center
    b = wp.dot(oc, direction)
    disc = b * b - (wp.dot(oc, oc) - r * r)
    if disc < 0.0:
        return -1.0
    return -b - wp.sqrt(disc)"""

_BARYCENTRIC = """@wp.func
def NAME(p: wp.vec3, a: wp.vec3, b: wp.vec3, c: wp.vec3):
    ab = b - a
    ac = c - a
    ap = p - a
    dot_bb = wp.dot(ab, ab)
    dot_bc = wp.dot(ab, ac)
    dot_cc = wp.dot(ac, ac)
    dot_pb = wp.dot(ap, ab)
    dot_pc = wp.dot(ap, ac)
    inv = 1.0 / wp.max(dot_bb * dot_cc - dot_bc * dot_bc, 1.0e-6)
    v = (dot_cc * dot_pb - dot_bc * dot_pc) * inv
    w = (dot_bb * dot_pc - dot_bc * dot_pb) * inv
    return wp.vec3(1.0 - v - w, v, w)"""


def _scene(w: KernelWriter, g: _Scene) -> str:
    """A @wp.func SDF of 1-3 analytic primitives combined by union / intersection / smooth union / cut."""
    if g.scene is not None:
        return g.scene
    rng = w.rng
    lines = ["@wp.func", "def NAME(p: wp.vec3):"]
    dists: list[str] = []
    for _ in range(rng.randint(1, 2 + w.level // 3)):
        center = w.vec(-0.6, 0.6)
        kind = w.choose(("sphere", "box", "capsule", "torus", "plane"))
        local = f"p - {center}"
        if kind in ("box", "torus") and rng.random() < 0.5:
            local = f"wp.quat_rotate_inv({w.unit_quat()}, {local})"
        if kind == "sphere":
            value = f"{w.helper('sd_sphere', _SD_SPHERE)}(p, {center}, {w.small(0.2, 0.8)})"
        elif kind == "box":
            value = f"{w.helper('sd_box', _SD_BOX)}({local}, {w.vec(0.1, 0.6)})"
        elif kind == "capsule":
            end = w.vec(-0.8, 0.8)
            value = f"{w.helper('sd_capsule', _SD_CAPSULE)}(p, {center}, {end}, {w.small(0.05, 0.3)})"
        elif kind == "torus":
            value = f"{w.helper('sd_torus', _SD_TORUS)}({local}, {w.small(0.3, 0.7)}, {w.small(0.05, 0.2)})"
        else:
            offset = w.small(-0.5, 0.5)
            value = f"wp.dot(p, {w.unit_vec()}) " + (f"+ {offset[1:]}" if offset.startswith("-") else f"- {offset}")
        name = f"{kind}_d"
        suffix = 2
        while name in dists:
            name = f"{kind}_d{suffix}"
            suffix += 1
        lines.append(f"    {name} = {value}")
        dists.append(name)
    result = dists[0]
    for other in dists[1:]:
        op = w.choose({"union": 2, "smooth": 1, "intersect": 1, "cut": 1})
        if op == "union":
            result = f"wp.min({result}, {other})"
        elif op == "smooth":
            result = f"{w.helper('smin', _SMIN)}({result}, {other}, {w.small(0.05, 0.3)})"
        elif op == "intersect":
            result = f"wp.max({result}, {other})"
        else:
            result = f"wp.max({result}, -{other})"
    lines.append(f"    return {result}")
    g.scene = w.helper("scene", "\n".join(lines))
    return g.scene


# ------------------------------------------------------------------ motifs
def _mesh_closest(w: KernelWriter, g: _Scene) -> None:
    """Closest point / signed distance to the mesh, with what is evaluated at the closest point."""
    rng = w.rng
    fn = w.choose(_POINT_QUERIES)
    if g.dynamic and rng.random() < 0.2:
        fn = "mesh_query_furthest_point_no_sign"
    extra = ""
    if fn == "mesh_query_point_sign_normal" and rng.random() < 0.5:
        extra = f", {w.choose(('1.0e-3', '1.0e-4', '0.01'))}"
    elif fn == "mesh_query_point_sign_winding_number" and rng.random() < 0.5:
        extra = f", {w.choose(('2.0', '1.5', '3.0'))}, {w.choose(('0.5', '0.4', '0.6'))}"
    elif fn == "mesh_query_point_sign_parity" and rng.random() < 0.5:
        extra = f", {rng.randint(1, 5)}"
    p = _query_point(w, g)
    bound = "0.0" if fn == "mesh_query_furthest_point_no_sign" else _max_dist(w)
    sdf = None
    if fn in _SIGNED_QUERIES and rng.random() < 0.7:
        sdf = w.let(("sdf", "signed_dist"), f"float({bound})", FLOAT)
        g.signed.append(sdf)
    query = w.let(("query", "closest_query"), f"wp.{fn}({g.mesh}, {p}, {bound}{extra})", QUERY)
    with w.block(f"if {query}.result"):
        closest = w.let("closest", f"wp.mesh_eval_position({g.mesh}, {query}.face, {query}.u, {query}.v)", VEC3)
        delta = w.let(("to_surface", "delta"), f"{p} - {closest}", VEC3)
        dist = w.let(("dist", "surface_dist"), f"wp.length({delta})", FLOAT)
        if sdf is not None:
            w.set(sdf, f"{dist} * {query}.sign")
        # the closest face is ambiguous on edges and vertices: its normal and (u, v) jump there, so they are
        # only used where no gradient check applies
        options = ["velocity", "gradient", "push", "expr"] + (["normal", "bary"] if g.dynamic else [])
        for pick in w.pick(options, rng.randint(1, 2 + w.level // 2)):
            if pick == "normal":
                n = w.let(("face_n", "normal"), f"wp.mesh_eval_face_normal({g.mesh}, {query}.face)", VEC3)
                _fold(w, _vec_acc(w, g), f"{n} * {_expr(w, g, FLOAT, 1)}")
            elif pick == "velocity":
                vel = w.let("surface_vel", f"wp.mesh_eval_velocity({g.mesh}, {query}.face, {query}.u, {query}.v)", VEC3)
                _fold(w, _vec_acc(w, g), f"{vel} * {w.small(0.1, 1.0)}")
            elif pick == "gradient":
                sign = f" * {query}.sign" if fn in _SIGNED_QUERIES else ""
                grad = w.let(("grad", "sdf_grad"), f"wp.normalize({delta}){sign}", VEC3)
                _fold(w, _vec_acc(w, g), grad)
            elif pick == "bary":
                bary = w.let("bary_w", f"1.0 - {query}.u - {query}.v", FLOAT)
                _fold(w, _float_acc(w, g), f"{bary} * {dist}")
            elif pick == "push":
                thickness = w.small(0.02, 0.2)
                cond = f"{sdf} < {thickness}" if sdf is not None else f"{dist} < {thickness}"
                if w.can_nest:
                    with w.block(f"if {cond}"):
                        _fold(w, _vec_acc(w, g), f"wp.normalize({delta}) * ({thickness} - {dist})")
                else:
                    _fold(w, _vec_acc(w, g), f"wp.where({cond}, {delta}, wp.vec3(0.0))")
            else:
                _fold(w, _float_acc(w, g), _expr(w, g, FLOAT))
    if sdf is None and rng.random() < 0.5:
        with w.block("else"):
            _fold(w, _float_acc(w, g), w.small(0.5, 2.0))


def _mesh_ray(w: KernelWriter, g: _Scene) -> None:
    """Cast a ray against the mesh; shade, reflect, test shadows or count crossings."""
    rng = w.rng
    origin = g.point
    if rng.random() < 0.5:
        origin = w.let(("origin", "ray_start"), f"{g.point} * {w.small(1.5, 3.0)}", VEC3)
    direction = _direction(w, g, origin)
    max_t = w.choose(("1.0e6", "10.0", "100.0", "max_dist"))
    max_t = _max_dist(w) if max_t == "max_dist" else max_t
    if rng.random() < 0.25:
        crossings = w.let("crossings", f"wp.mesh_query_ray_count_intersections({g.mesh}, {origin}, {direction})", INT)
        odd = w.choose((f"{crossings} % 2 == 1", f"({crossings} & 1) == 1"))
        _fold(w, _float_acc(w, g), f"wp.where({odd}, -1.0, 1.0)")
        if rng.random() < 0.5:
            return
    hit = w.let(("hit", "ray_hit"), f"wp.mesh_query_ray({g.mesh}, {origin}, {direction}, {max_t})", QUERY)
    depth = None
    if rng.random() < 0.6:
        depth = w.let(("depth", "hit_t"), f"float({w.choose(('-1.0', '0.0', '10.0'))})", FLOAT)
        g.results.append(depth)
    with w.block(f"if {hit}.result"):
        if depth is not None:
            w.set(depth, f"{hit}.t")
        pos = w.let("hit_pos", f"{origin} + {direction} * {hit}.t", VEC3)
        options = ("shade", "reflect", "shadow", "front", "velocity", "bary", "incidence")
        picks = w.pick(options, rng.randint(1, 1 + w.level // 2))
        for pick in picks:
            if pick == "shade":
                _fold(w, _float_acc(w, g), f"wp.max(wp.dot({hit}.normal, {w.unit_vec()}), 0.0)")
            elif pick == "reflect":
                refl = w.let(
                    ("reflected", "bounce"),
                    f"{direction} - {hit}.normal * (2.0 * wp.dot({direction}, {hit}.normal))",
                    VEC3,
                )
                _fold(w, _vec_acc(w, g), f"{refl} * {w.small(0.1, 1.0)}")
            elif pick == "shadow":
                start = f"{pos} + {hit}.normal * 1.0e-3"
                light = w.unit_vec()
                with w.block(f"if wp.mesh_query_ray_anyhit({g.mesh}, {start}, {light}, {w.small(1.0, 5.0)})"):
                    _fold(w, _float_acc(w, g), w.small(-1.0, -0.1))
            elif pick == "incidence":  # the angle between the ray and the surface normal
                cos_in = f"wp.clamp(-wp.dot({hit}.normal, {direction}), -1.0, 1.0)"
                angle = w.let(("incidence", "hit_angle"), f"wp.acos({cos_in})", FLOAT)
                _fold(w, _float_acc(w, g), f"{angle} * {w.small(0.1, 1.0)}")
            elif pick == "front":
                _fold(w, _float_acc(w, g), f"wp.where({hit}.sign > 0.0, {_expr(w, g, FLOAT, 1)}, {w.small()})")
            elif pick == "velocity":
                _fold(w, _vec_acc(w, g), f"wp.mesh_eval_velocity({g.mesh}, {hit}.face, {hit}.u, {hit}.v)")
            else:
                face_term = f" + float({hit}.face) * {w.small(0.01, 0.1)}" if g.dynamic else ""  # piecewise constant
                _fold(w, _float_acc(w, g), f"{hit}.u * {hit}.v{face_term}")
        _fold(w, _vec_acc(w, g), f"{pos} * {w.small(0.1, 0.5)}")


def _triangle(w: KernelWriter, g: _Scene, face: str) -> tuple[str, str, str]:
    """The three vertices of ``face``: through the face-vertex getters or the mesh struct."""
    slots = [f"{face} * 3" + (f" + {o}" if o else "") for o in range(3)]
    if w.rng.random() < 0.6:
        a, b, c = (
            w.let(f"tri_{k}", f"wp.mesh_get_point({g.mesh}, {slot})", VEC3)
            for k, slot in zip("abc", slots, strict=True)
        )
        return a, b, c
    data = w.let("mesh_data", f"wp.mesh_get({g.mesh})", MESH_DATA)
    ids = [w.let(f"vi_{k}", f"wp.mesh_get_index({g.mesh}, {slot})", INT) for k, slot in zip("abc", slots, strict=True)]
    a, b, c = (w.let(f"tri_{k}", f"{data}.points[{ix}]", VEC3) for k, ix in zip("abc", ids, strict=True))
    return a, b, c


def _triangle_math(w: KernelWriter, g: _Scene, a: str, b: str, c: str, p: str, face: str | None) -> None:
    """Per-triangle work: area, normal, plane distance, barycentrics, tri-tri and edge-edge tests."""
    rng = w.rng
    options = ["area", "plane", "bary", "edge"] + (["normal", "vel"] if face is not None else [])
    options += ["tritri"] if g.dynamic else []
    for pick in w.pick(options, rng.randint(1, 2 + w.level // 3)):
        if pick == "area":
            area = w.let(("area", "tri_area"), f"0.5 * wp.length(wp.cross({b} - {a}, {c} - {a}))", FLOAT)
            _fold(w, _float_acc(w, g), area)
        elif pick == "plane":
            n = w.let(("tri_n", "face_n"), f"wp.normalize(wp.cross({b} - {a}, {c} - {a}))", VEC3)
            _fold(w, _float_acc(w, g), f"wp.abs(wp.dot({p} - {a}, {n}))")
        elif pick == "bary":
            bc = w.let(("bc", "bary"), f"{w.helper('barycentric', _BARYCENTRIC)}({p}, {a}, {b}, {c})", VEC3)
            inside = f"wp.min({bc}[0], wp.min({bc}[1], {bc}[2])) >= 0.0"
            _fold(w, _float_acc(w, g), f"wp.where({inside}, 1.0, 0.0)")
        elif pick == "tritri":
            other = (p, f"{p} + {w.vec(-0.5, 0.5)}", f"{p} + {w.vec(-0.5, 0.5)}")
            overlap = w.let(("overlap", "tri_overlap"), f"wp.intersect_tri_tri({a}, {b}, {c}, {', '.join(other)})", INT)
            if g.counters and rng.random() < 0.5:
                w.emit(f"{g.counters[-1]} += {overlap}")
            else:
                w.emit(f"{_float_acc(w, g)} += float({overlap})")
        elif pick == "edge":
            st = w.let(("st", "edge_st"), f"wp.closest_point_edge_edge({a}, {b}, {p}, {p} + {w.vec()}, 1.0e-6)", VEC3)
            if rng.random() < 0.5:
                near = w.let(("near", "on_edge"), f"{a} + ({b} - {a}) * {st}[0]", VEC3)
                _fold(w, _vec_acc(w, g), f"({near} - {p}) * {w.small(0.1, 0.5)}")
            _fold(w, _float_acc(w, g), f"{st}[2]")
        elif pick == "normal":
            _fold(w, _vec_acc(w, g), f"wp.mesh_eval_face_normal({g.mesh}, {face})")
        else:
            _fold(w, _vec_acc(w, g), f"wp.mesh_get_velocity({g.mesh}, {face} * 3 + {rng.randint(0, 2)}) * {w.small()}")


def _mesh_overlap(w: KernelWriter, g: _Scene) -> None:
    """Loop over the faces whose bounds overlap a box or sphere around the point."""
    rng = w.rng
    p = _query_point(w, g)
    if rng.random() < 0.7:
        half = _radius(w)
        if rng.random() < 0.5:
            lo = w.let("lower", f"{p} - wp.vec3({half})", VEC3)
            hi = w.let("upper", f"{p} + wp.vec3({half})", VEC3)
        else:
            other = w.let("far_end", f"{p} + {w.vec(-0.5, 0.5)}", VEC3)
            lo = w.let("lower", f"wp.min({p}, {other})", VEC3)
            hi = w.let("upper", f"wp.max({p}, {other})", VEC3)
        query = w.let(("faces", "face_query"), f"wp.mesh_query_aabb({g.mesh}, {lo}, {hi})", QUERY)
        step = "mesh_query_aabb_next" if rng.random() < 0.7 else "mesh_query_next"
    else:
        query = w.let(("faces", "face_query"), f"wp.mesh_query_sphere({g.mesh}, {p}, {_radius(w)})", QUERY)
        step = "mesh_query_next"
    count = _counter(w, g, ("count", "num_faces"))
    face = _held(w, g, ("face", "face_id"), "int(0)", INT)
    g.dynamic = True
    with w.block(f"while wp.{step}({query}, {face})"):
        w.emit(f"{count} += 1")
        if rng.random() < 0.6:
            a, b, c = _triangle(w, g, face)
            _triangle_math(w, g, a, b, c, p, face)
        else:
            centre = w.let(
                ("centroid", "face_center"), f"wp.mesh_eval_position({g.mesh}, {face}, 0.3333, 0.3333)", VEC3
            )
            _fold(w, _float_acc(w, g), f"wp.length({centre} - {p})")
            if rng.random() < 0.5:
                _fold(w, _vec_acc(w, g), f"wp.mesh_eval_face_normal({g.mesh}, {face})")


def _mesh_face(w: KernelWriter, g: _Scene) -> None:
    """Each thread takes one face of the mesh (through ``wp.mesh_get``) and measures it against its point."""
    rng = w.rng
    data = w.let("mesh_data", f"wp.mesh_get({g.mesh})", MESH_DATA)
    num_tris = w.let("num_tris", f"{data}.indices.shape[0] // 3", INT)
    face = w.let(("tri", "face"), f"i % {num_tris}", INT)
    if rng.random() < 0.5:
        verts = [
            w.let(f"corner_{k}", f"{data}.points[{data}.indices[{face} * 3 + {o}]]", VEC3) for o, k in enumerate("abc")
        ]
    else:
        verts = [
            w.let(f"corner_{k}", f"wp.mesh_get_point({g.mesh}, {face} * 3 + {o})", VEC3) for o, k in enumerate("abc")
        ]
    if rng.random() < 0.4:
        centroid = w.let("centroid", f"({verts[0]} + {verts[1]} + {verts[2]}) / 3.0", VEC3)
        _fold(w, _vec_acc(w, g), f"{centroid} - {g.point}")
    if rng.random() < 0.3:
        vel = w.let("corner_vel", f"wp.mesh_get_velocity({g.mesh}, {face} * 3)", VEC3)
        _fold(w, _vec_acc(w, g), f"{vel} * {w.small(0.01, 0.1)}")
    _triangle_math(w, g, *verts, g.point, face)


def _bvh_loop(w: KernelWriter, g: _Scene) -> None:
    """Traverse the BVH (box, ray, sphere or capsule query); count, find the nearest item, gather data."""
    rng = w.rng
    p = _query_point(w, g)
    target = g.bvh
    items_are_faces = False
    if g.mesh is not None and (g.bvh is None or rng.random() < 0.3):
        target = w.let("face_bvh", f"wp.mesh_get_bvh({g.mesh})", UINT64)
        items_are_faces = True
    kind = w.choose({"aabb": 2, "ray": 1, "sphere": 1, "capsule": 1})
    if kind == "aabb":
        half = _radius(w)
        shape = f"{p} - wp.vec3({half}), {p} + wp.vec3({half})"
    elif kind == "sphere":
        shape = f"{p}, {_radius(w)}"
    else:  # a ray, or a capsule swept along one
        shape = f"{p}, {_direction(w, g, p)}" + (f", {w.small(0.05, 0.3)}" if kind == "capsule" else "")
    max_dist = f", {w.choose(('1.0', '2.0', '0.5'))}" if kind == "ray" and rng.random() < 0.5 else ""
    query = w.let(("query", "bvh_query"), f"wp.bvh_query_{kind}({target}, {shape})", QUERY)
    count = _counter(w, g, ("count", "num_hits"))
    best = best_id = None
    if rng.random() < 0.5:
        best = _held(w, g, ("best", "nearest"), "float(1.0e6)", FLOAT)
        if not items_are_faces and w.can_nest and rng.random() < 0.6:  # the nearest item's data is used
            best_id = _held(w, g, ("best_id", "nearest_id"), "int(-1)", INT)
    item = _held(w, g, ("item", "item_id"), "int(0)", INT)
    g.dynamic = True
    with w.block(f"while wp.bvh_query_next({query}, {item}{max_dist})"):
        w.emit(f"{count} += 1")
        if items_are_faces:
            centre = w.let(
                ("centroid", "face_center"), f"wp.mesh_eval_position({g.mesh}, {item}, 0.3333, 0.3333)", VEC3
            )
        else:
            centre = w.let(("center", "item_center"), f"{g.items}[{item}]", VEC3)
        d = w.let(("d", "item_dist"), f"wp.length({centre} - {p})", FLOAT)
        if best is not None:
            with w.block(f"if {d} < {best}"):
                w.set(best, d)
                if best_id is not None:
                    w.set(best_id, item)
        if g.weights is not None and not items_are_faces and rng.random() < 0.7:
            _fold(w, _float_acc(w, g), f"{g.weights}[{item}] * {_expr(w, g, FLOAT, 1)}")
        elif rng.random() < 0.5:
            _fold(w, _vec_acc(w, g), f"({centre} - {p}) / (1.0 + {d})")
        else:
            _fold(w, _float_acc(w, g), _expr(w, g, FLOAT))
    if best_id is not None:
        with w.block(f"if {best_id} >= 0"):
            _fold(w, _vec_acc(w, g), f"{g.items}[{best_id}] - {p}")
    if best is not None:
        g.held.remove(best)  # the nearest distance is a result
        g.results.append(best)


def _grid_accumulators(w: KernelWriter, g: _Scene, picks: list[str], radius: str) -> dict[str, str]:
    """One accumulator per neighbour-loop motif (an average also counts its neighbours)."""
    accs: dict[str, str] = {}
    for pick in picks:
        if pick == "density":
            accs[pick] = _held(w, g, ("density", "rho"), "float(0.0)", FLOAT)
        elif pick in ("force", "contact"):
            accs[pick] = _held(
                w, g, ("force", "repulsion") if pick == "force" else ("contact_f",), "wp.vec3(0.0)", VEC3
            )
        elif pick == "count":
            accs[pick] = _counter(w, g, ("neighbors", "num_neighbors"))
        elif pick == "average":
            bases = ("avg_vel", "mean_vel") if g.velocities else ("centroid_sum", "mean_pos")
            accs[pick] = _held(w, g, bases, "wp.vec3(0.0)", VEC3)
            accs["count"] = accs.get("count") or _counter(w, g, ("neighbors", "num_neighbors"))
        elif pick == "nearest":
            accs[pick] = _held(w, g, ("nearest", "closest_dist"), f"float({radius})", FLOAT)
        else:
            accs[pick] = _float_acc(w, g)
    return accs


def _grid_loop(w: KernelWriter, g: _Scene) -> None:
    """Neighbour search in the hash grid: density, repulsion, contacts, averaging over neighbours in a radius."""
    rng = w.rng
    radius = _radius(w)
    p = g.point
    options = ["density", "force", "count", "average", "nearest", "expr"]
    if g.velocities is not None and g.self_id is not None:
        options.append("contact")
    picks = w.pick(options, rng.randint(1, 2 + w.level // 3))
    self_vel = None
    if "contact" in picks:
        self_vel = w.let(("vel", "self_vel"), f"{g.velocities}[{g.self_id}]", VEC3)
    accs = _grid_accumulators(w, g, picks, radius)
    skip = g.self_id if g.self_id is not None and rng.random() < 0.7 else None
    g.dynamic = True
    with neighbor_loop(w, p, radius, g.points, grid=g.grid, skip=skip) as (j, delta, dist):
        with w.block(f"if {dist} < {radius}"):
            for pick, acc in accs.items():
                if pick == "density":  # a smoothing kernel: poly6, quadratic falloff or a gaussian
                    shape = w.choose({"poly6": 2, "quadratic": 2, "gaussian": 1})
                    if shape == "poly6":
                        support = w.let(("support", "h_sq"), f"{mul(radius, radius)} - {dist} * {dist}", FLOAT)
                        w.emit(f"{acc} += {support} * {support} * {support}")
                    elif shape == "quadratic":
                        q = w.let(("falloff", "q"), f"1.0 - {dist} / {radius}", FLOAT)
                        w.emit(f"{acc} += {q} * {q}")
                    else:
                        w.emit(f"{acc} += wp.exp(-{w.small(4.0, 20.0)} * {dist} * {dist})")
                elif pick == "force":
                    w.emit(f"{acc} += {delta} * (({sub(radius, dist)}) / ({dist} + 1.0e-4))")
                elif pick == "contact":
                    overlap = w.let(("overlap", "penetration"), sub(radius, dist), FLOAT)
                    rel_vel = w.let(("vrel", "rel_vel"), f"{self_vel} - {g.velocities}[{j}]", VEC3)
                    ke, kd = w.coeff("ke", 1.0, 10.0), w.coeff("kd", 0.0, 1.0)
                    contact_force(w, acc, delta, dist, overlap, rel_vel, ke, kd)
                elif pick == "count":
                    w.emit(f"{acc} += 1")
                elif pick == "average":
                    source = f"{g.velocities}[{j}]" if g.velocities else f"{g.points}[{j}]"
                    w.emit(f"{acc} += {source}")
                elif pick == "nearest":
                    w.set(acc, f"wp.min({acc}, {dist})")
                else:
                    _fold(w, acc, _expr(w, g, FLOAT))
    if "average" in accs and w.can_nest:
        with w.block(f"if {accs['count']} > 0"):
            w.set(accs["average"], f"{accs['average']} / float({accs['count']})")
    for pick, acc in accs.items():  # results from here on
        if pick in ("density", "force", "contact", "average", "nearest"):
            g.held.remove(acc)
            g.results.append(acc)


def _sdf_eval(w: KernelWriter, g: _Scene) -> None:
    """Evaluate an analytic SDF scene: distance, finite-difference normal, maybe a sphere-traced ray."""
    rng = w.rng
    scene = _scene(w, g)
    p = _query_point(w, g)
    d = w.let(("scene_d", "scene_dist"), f"{scene}({p})", FLOAT)
    if rng.random() < 0.6:
        # a step well above float32 noise: the normal stays smooth enough to differentiate
        eps = w.choose(("2.0e-2", "3.0e-2", "5.0e-2"))
        comps = ", ".join(
            f"{scene}({p} + wp.vec3({', '.join(eps if k == a else '0.0' for k in range(3))})) - {d}" for a in range(3)
        )
        n = w.let(("scene_n", "scene_normal"), f"wp.normalize(wp.vec3({comps}))", VEC3)
        if rng.random() < 0.5:
            _fold(w, _vec_acc(w, g), f"{n} * wp.max(-{d}, 0.0)")
        else:
            _fold(w, _vec_acc(w, g), n)
    if w.level >= 3 and rng.random() < 0.5:
        origin = w.let(("ray_o", "eye"), f"{p} * {w.small(1.5, 2.5)}", VEC3)
        direction = _direction(w, g, origin)
        t = _held(w, g, ("march_t", "travel"), "float(0.0)", FLOAT)
        early_exit = rng.random() < 0.5
        steps = rng.randint(4, 12) if early_exit else rng.randint(3, 6)
        with w.block(f"for march in range({steps})"):
            w.define("march", INT)
            h = w.let(("h", "step_d"), f"{scene}({origin} + {direction} * {t})", FLOAT)
            if early_exit:
                g.dynamic = True
                with w.block(f"if {h} < {w.choose(('1.0e-3', '1.0e-4', '0.01'))}"):
                    w.emit("break")
            w.emit(f"{t} += wp.clamp({h}, 0.0, {w.small(0.5, 2.0)})")
        g.held.remove(t)
        g.results.append(t)
    _fold(w, _float_acc(w, g), d)


def _ray_shapes(w: KernelWriter, g: _Scene) -> None:
    """Ray tests against analytic shapes: slab test against a box, ray-sphere intersection."""
    rng = w.rng
    origin = w.let(("origin", "ray_start"), f"{g.point} * {w.small(1.5, 3.0)}", VEC3)
    direction = _direction(w, g, origin)
    if rng.random() < 0.5:
        box = w.helper("ray_box", _RAY_BOX)
        t = w.let(("t_box", "t_hit"), f"{box}({origin}, {direction}, {w.vec(-0.8, -0.1)}, {w.vec(0.1, 0.8)})", FLOAT)
    else:
        sphere = w.helper("ray_sphere", _RAY_SPHERE)
        center = w.vec(-0.3, 0.3)
        t = w.let(("t_sphere", "t_hit"), f"{sphere}({origin}, {direction}, {center}, {w.small(0.3, 0.9)})", FLOAT)
    with w.block(f"if {t} >= 0.0"):
        _fold(w, _vec_acc(w, g), f"{origin} + {direction} * {t}")
        if rng.random() < 0.5:
            _fold(w, _float_acc(w, g), f"{t} * {_expr(w, g, FLOAT, 1)}")


def _segments(w: KernelWriter, g: _Scene) -> None:
    """Closest points between segments, triangle overlap and barycentric tests on input geometry."""
    rng = w.rng
    if g.segment is None:
        return _ray_shapes(w, g)
    a, b = g.segment
    p = g.point
    if rng.random() < 0.6:
        q = w.let(("probe_end", "sweep_end"), f"{p} + {_expr(w, g, VEC3, 1)} * {w.small(0.1, 0.5)}", VEC3)
        st = w.let(("st", "edge_st"), f"wp.closest_point_edge_edge({p}, {q}, {a}, {b}, 1.0e-6)", VEC3)
        c1 = w.let("on_first", f"{p} + ({q} - {p}) * {st}[0]", VEC3)
        c2 = w.let("on_second", f"{a} + ({b} - {a}) * {st}[1]", VEC3)
        if rng.random() < 0.5 and w.can_nest:
            with w.block(f"if {st}[2] < {w.small(0.05, 0.5)}"):
                _fold(w, _vec_acc(w, g), f"({c2} - {c1}) * 0.5")
        else:
            _fold(w, _vec_acc(w, g), f"{c2} - {c1}")
        _fold(w, _float_acc(w, g), f"{st}[2]")
    else:
        c = w.let("apex", f"({a} + {b}) * 0.5 + {w.vec(-0.5, 0.5)}", VEC3)
        _triangle_math(w, g, a, b, c, p, None)


# ------------------------------------------------------------------ category
_MOTIFS: dict[str, tuple[Callable[[KernelWriter, _Scene], None], float, str | None]] = {
    # name: (motif, weight, structure it queries)
    "mesh_closest": (_mesh_closest, 3.0, "mesh"),
    "mesh_ray": (_mesh_ray, 3.0, "mesh"),
    "mesh_overlap": (_mesh_overlap, 2.0, "mesh"),
    "mesh_face": (_mesh_face, 1.0, "mesh"),
    "bvh": (_bvh_loop, 3.0, "bvh"),
    "grid": (_grid_loop, 3.0, "grid"),
    "sdf": (_sdf_eval, 1.5, None),
    "segments": (_segments, 1.5, None),
    "ray_shapes": (_ray_shapes, 0.7, None),
}


def _declare(w: KernelWriter, g: _Scene, motifs: list[str]) -> None:
    """Arguments: the queried structures and their data, query points, optional pose; the thread's point."""
    rng = w.rng
    needs = {_MOTIFS[m][2] for m in motifs}
    if "grid" in needs:
        g.grid = w.param(UINT64, "grid", recipe={"kind": "hash_grid"})
        g.points = w.input_array(VEC3, "points", recipe={"shape": [ITEMS]})
        if rng.random() < 0.4:
            g.velocities = w.input_array(VEC3, "velocities", recipe={"shape": [ITEMS]})
    if "mesh" in needs:
        g.mesh = w.param(UINT64, "mesh", recipe={"kind": "mesh"})
    if "bvh" in needs:
        g.bvh = w.param(UINT64, "bvh", recipe={"kind": "bvh"})
        g.items = w.input_array(VEC3, "item_centers", recipe={"shape": [ITEMS]})
        if rng.random() < 0.5:
            g.weights = w.input_array(FLOAT, "item_weights", recipe={"shape": [ITEMS]})
    queries = None
    if g.grid is None or rng.random() < 0.5:
        queries = w.input_array(VEC3, ("x", "query_points") if g.grid is None else ("queries", "targets"))
    segment = None
    if "segments" in motifs:
        segment = (w.input_array(VEC3, "seg_a"), w.input_array(VEC3, "seg_b"))
    pose = w.choose({"none": 2, "transform": 1, "rotation": 1})
    if pose == "transform":
        xform = w.param(TRANSFORM, ("xform", "pose"))
    elif pose == "rotation":
        rot = w.param(QUAT, ("rot", "orientation"), recipe={"kind": "unit"})
        pivot = w.param(VEC3, ("pivot", "center"))
    w.add_productions(*_productions(pose == "transform"))

    # --- body preamble: the thread's point (and grid id)
    if g.grid is not None and (queries is None or rng.random() < 0.5):
        g.self_id = w.let(("pid", "point_id"), f"wp.hash_grid_point_id({g.grid}, i)", INT)
        g.point = w.let("p", f"{g.points}[{g.self_id}]", VEC3)
    elif queries is not None:
        g.point = w.let("p", f"{queries}[i]", VEC3)
    else:
        g.self_id = "i"
        g.point = w.let("p", f"{g.points}[i]", VEC3)
    if queries is not None and g.self_id is not None and rng.random() < 0.5:
        w.let(("target", "goal"), f"{queries}[i]", VEC3)
    if segment is not None:
        g.segment = (w.let("seg_start", f"{segment[0]}[i]", VEC3), w.let("seg_end", f"{segment[1]}[i]", VEC3))
    if pose == "transform":
        inverse = w.let("to_local", f"wp.transform_inverse({xform})", TRANSFORM)
        g.point = w.let("p_local", f"wp.transform_point({inverse}, {g.point})", VEC3)
    elif pose == "rotation":
        g.point = w.let("p_local", f"wp.quat_rotate_inv({rot}, {g.point} - {pivot})", VEC3)
    if rng.random() < 0.3:
        g.point = w.let("p_scaled", f"{g.point} * {w.small(1.2, 2.5)}", VEC3)


def _store(w: KernelWriter, g: _Scene) -> None:
    """Write results: every accumulator ends up in an output (a float field, a vector, counts)."""
    rng = w.rng
    index = g.self_id if g.self_id not in (None, "i") and rng.random() < 0.7 else "i"
    signed = list(g.signed)
    if signed and rng.random() < 0.6:
        w.store(w.output_array(FLOAT, "sdf_out"), index, signed.pop(0))
    found = g.accumulators + g.results
    floats = [a for a in found if w.scope.get(a) == FLOAT] + signed
    vecs = [a for a in found if w.scope.get(a) == VEC3]
    write_counts = bool(g.counters) and rng.random() < 0.6
    if write_counts:
        w.store(w.output_array(INT, "counts"), index, " + ".join(g.counters))
    terms = floats + ([] if write_counts else [f"float({c}) * {w.small(0.01, 0.2)}" for c in g.counters])
    write_vec = bool(vecs) or rng.random() < 0.3
    out = w.output_array(FLOAT, ("out", "result", "field"))
    with w.protect(*(vecs if write_vec else ())):  # vector results go to the vector output
        w.store(out, index, w.result(FLOAT, base=" + ".join(terms) or None))
    if write_vec:
        out = w.output_array(VEC3, ("out_vec", "normals", "displacement"))
        w.store(out, index, w.result(VEC3, base=" + ".join(vecs) or None))


@register_category("geometry", groups={"arith", "vector", "cond"})
def geometry(w: KernelWriter) -> None:
    """Geometry queries: mesh closest-point/ray/overlap queries, BVH and hash-grid traversal, SDFs, tri/edge tests."""
    rng = w.rng
    VOCABULARY.apply(w)
    count = {1: 1, 2: rng.randint(1, 2), 3: 2, 4: rng.randint(2, 3), 5: 3}[w.level]
    weights = {name: spec[1] for name, spec in _MOTIFS.items()}
    motifs: list[str] = []
    while len(motifs) < count:
        pick = w.choose(weights)
        if pick not in motifs or rng.random() < 0.2:
            motifs.append(pick)
    g = _Scene()
    _declare(w, g, motifs)
    if rng.random() < 0.35:
        w.add_helpers((FLOAT, VEC3))
    budget = 14 + 7 * w.level  # body statements: keeps level 5 under ~50
    for n, motif in enumerate(motifs):
        if n and sum(1 for _ in w.all_statements()) > budget - 12:
            break
        g.mark = w.mark()
        _MOTIFS[motif][0](w, g)
        if rng.random() < 0.4:
            with w.protect(*g.held):
                w.assign(w.choose((FLOAT, VEC3)), 2)
    _store(w, g)
