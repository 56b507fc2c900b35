"""Geometry kernels: mesh / BVH / hash-grid queries and the point, segment, triangle and box math around them.

A kernel is a per-point query program. Its arguments are drawn from the structures it queries (a
``wp.Mesh``, a ``wp.Bvh`` with per-item data, a ``wp.HashGrid`` with the points it was built over); its
body is a sequence of *motifs* (closest-point / signed-distance queries, ray casts, box and sphere
overlap loops, neighbour loops, analytic SDFs and sphere tracing, segment and triangle tests) chosen by
the kernel's rng, glued together with typed random expressions over what the motifs computed.
"""

from __future__ import annotations

from collections.abc import Callable

from ..category import register_category
from ..expressions import Production
from ..types import FLOAT, INT, QUAT, TRANSFORM, UINT32, UINT64, VEC3, WarpType, float_literal
from ..writer import KernelWriter
from .common import result_expr

#: number of points / BVH items the validator builds its hash grids and BVHs over (``validate.LAUNCH_DIM``)
_ITEMS = 64

_POINT_QUERIES = (
    "mesh_query_point",
    "mesh_query_point",
    "mesh_query_point_no_sign",
    "mesh_query_point_sign_normal",
    "mesh_query_point_sign_winding_number",
    "mesh_query_point_sign_parity",
)

_SIGNED_QUERIES = frozenset(
    {
        "mesh_query_point",
        "mesh_query_point_sign_normal",
        "mesh_query_point_sign_winding_number",
        "mesh_query_point_sign_parity",
    }
)


def _productions(has_transform: bool, has_quat: bool) -> list[Production]:
    """Geometric building blocks the expression generator may use in this kernel."""
    prods = [
        Production(FLOAT, "wp.length({0} - {1})", (VEC3, VEC3), "geometry", 2.0),
        Production(FLOAT, "wp.dot({0} - {1}, wp.normalize({2}))", (VEC3, VEC3, VEC3), "geometry"),
        Production(FLOAT, "wp.length_sq({0} - {1})", (VEC3, VEC3), "geometry", 0.5),
        Production(FLOAT, "wp.copysign({0}, {1})", (FLOAT, FLOAT), "geometry", 0.3),
        Production(FLOAT, "wp.step({0})", (FLOAT,), "geometry", 0.2),
        Production(VEC3, "wp.abs({0})", (VEC3,), "geometry", 0.5),
        Production(VEC3, "wp.cw_div({0}, wp.abs({1}) + wp.vec3(1.0))", (VEC3, VEC3), "geometry", 0.4),
        Production(VEC3, "wp.max({0}, wp.vec3(0.0))", (VEC3,), "geometry", 0.4),
    ]
    if has_transform:
        prods += [
            Production(VEC3, "wp.transform_point({0}, {1})", (TRANSFORM, VEC3), "geometry"),
            Production(VEC3, "wp.transform_vector({0}, {1})", (TRANSFORM, VEC3), "geometry"),
        ]
    if has_quat:
        prods.append(Production(VEC3, "wp.quat_rotate_inv({0}, {1})", (QUAT, VEC3), "geometry"))
    return prods


class _Geo:
    """Per-kernel state: which structures exist, descriptive local names, accumulators."""

    def __init__(self, w: KernelWriter):
        self.w = w
        self.rng = w.rng
        self.used: dict[str, int] = {}
        self.mesh: str | None = None
        self.bvh: str | None = None
        self.items: str | None = None  # per-BVH-item vec3 data (64 entries)
        self.weights: str | None = None  # per-BVH-item float data
        self.grid: str | None = None
        self.points: str | None = None  # the hash grid's points (64 entries)
        self.velocities: str | None = None
        self.max_dist: str = "1.0e6"
        self.radius: str | None = None
        self.point: str = "p"
        self.accumulators: list[str] = []  # locals that loops add to (never read inside loops)
        self.counters: list[str] = []
        self.helpers: set[str] = set()
        self.rand_state: str | None = None
        self.self_id: str | None = None  # the thread's point id in the hash grid, when it has one
        self.segment: tuple[str, str] | None = None
        self.protected: list[str] = []  # loop-carried locals no expression may read inside a loop
        self.mark = 0  # where the current motif began in the writer's lines
        # a dynamic loop (while / break / continue) has been written: the kernel is outside gradient checks, so
        # builtins whose adjoints are unreliable (barycentric u/v of point queries, furthest point, tri-tri) may
        # appear
        self.dynamic = False

    # -------------------------------------------------------------- naming
    def name(self, base: str) -> str:
        taken = {a.name for a in self.w.args} | set(self.w.scope)
        while True:
            n = self.used.get(base, 0)
            self.used[base] = n + 1
            name = base if n == 0 else f"{base}{n}"
            if name not in taken:
                return name

    def let(self, base: str, value: str, t: WarpType | None) -> str:
        name = self.name(base)
        self.w.emit(f"{name} = {value}")
        if t is not None:
            self.w.define(name, t)
        return name

    def accumulator(self, base: str, t: WarpType, init: str) -> str:
        name = self.let(base, init, t)
        self.accumulators.append(name)
        self.protected.append(name)
        return name

    def counter(self, base: str) -> str:
        name = self.let(base, "int(0)", INT)
        self.counters.append(name)
        self.protected.append(name)
        return name

    def expr(self, t: WarpType, depth: int | None = None) -> str:
        """An expression that never reads an accumulator (safe inside loops)."""
        return self.w.expr(t, depth, exclude=self.protected)

    def begin_motif(self) -> None:
        """Mark where a motif starts (at the top level): accumulators it needs are declared there."""
        self.mark = len(self.w._lines)

    def small(self, low: float = 0.1, high: float = 1.0) -> str:
        return float_literal(self.rng, low, high)

    def vec(self, low: float = -1.0, high: float = 1.0) -> str:
        return f"wp.vec3({', '.join(float_literal(self.rng, low, high) for _ in range(3))})"

    def unit_vec(self) -> str:
        return f"wp.normalize({self.vec(0.1, 1.0)})"

    def rng_state(self) -> str:
        if self.rand_state is None:
            seed = self.rng.randint(1, 9999)
            self.rand_state = self.let("state", f"wp.rand_init({seed}, i)", UINT32)
        return self.rand_state

    def direction(self, origin: str) -> str:
        """A ray direction: towards the origin, sampled, generated or an axis."""
        kind = self.rng.choice(("inward", "inward", "sampled", "generated", "axis"))
        if kind == "inward":
            return self.let("ray_dir", f"wp.normalize(-{origin} + {self.vec(-0.2, 0.2)})", VEC3)
        if kind == "sampled":
            fn = self.rng.choice(("sample_unit_sphere_surface", "sample_unit_hemisphere_surface", "sample_unit_sphere"))
            return self.let("ray_dir", f"wp.normalize(wp.{fn}({self.rng_state()}))", VEC3)
        if kind == "generated":
            return self.let("ray_dir", f"wp.normalize({self.w.expr(VEC3, 2)} + {self.vec(0.1, 0.3)})", VEC3)
        axis = self.rng.choice(("wp.vec3(0.0, 0.0, 1.0)", "wp.vec3(0.0, -1.0, 0.0)", "wp.vec3(1.0, 0.0, 0.0)"))
        return self.let("ray_dir", axis, VEC3)

    def fold(self, target: str, value: str) -> None:
        """Fold ``value`` into an accumulator with a rng-chosen combinator."""
        roll = self.rng.random()
        if roll < 0.75:
            self.w.emit(f"{target} += {value}")
        elif roll < 0.9:
            self.w.emit(f"{target} -= {value}")
        else:
            self.w.emit(f"{target} = {target} + {self.small(0.1, 1.0)} * {value}")

    def _acc(self, t: WarpType, bases: tuple[str, ...], init: str) -> str:
        """An accumulator of type ``t``: an existing one, or a new one declared where the motif began."""
        accs = [a for a in self.accumulators if self.w.scope.get(a) is t]
        if accs and self.rng.random() < 0.6:
            return self.rng.choice(accs)
        name = self.name(self.rng.choice(bases))
        self.w._lines.insert(self.mark, f"    {name} = {init}")  # top-level indent
        self.mark += 1
        self.w._scopes[0][name] = t
        self.accumulators.append(name)
        self.protected.append(name)
        return name

    def float_acc(self) -> str:
        return self._acc(FLOAT, ("acc", "total", "score"), "float(0.0)")

    def vec_acc(self) -> str:
        return self._acc(VEC3, ("accum", "offset", "push"), "wp.vec3(0.0)")

    def query_point(self) -> str:
        """The point a query is made at: the thread's point, or a generated one near it."""
        if self.rng.random() < 0.7:
            return self.point
        return self.let("probe", f"{self.point} + {self.expr(VEC3, 1)} * {self.small(0.05, 0.3)}", VEC3)


# ------------------------------------------------------------------ helpers (@wp.func)
def _helper(g: _Geo, suffix: str, source: str) -> str:
    name = f"{g.w.name}_{suffix}"
    if name not in g.helpers:
        g.helpers.add(name)
        g.w.helper_sources.append(source.replace("NAME", name))
    return name


def _sd_sphere(g: _Geo) -> str:
    return _helper(
        g,
        "sd_sphere",
        "@wp.func\ndef NAME(p: wp.vec3, center: wp.vec3, r: float):\n    return wp.length(p - center) - r",
    )


def _sd_box(g: _Geo) -> str:
    body = [
        "@wp.func",
        "def NAME(p: wp.vec3, half: wp.vec3):",
        "    q = wp.abs(p) - half",
        "    outside = wp.length(wp.max(q, wp.vec3(0.0)))",
        "    inside = wp.min(wp.max(q[0], wp.max(q[1], q[2])), 0.0)",
        "    return outside + inside",
    ]
    return _helper(g, "sd_box", "\n".join(body))


def _sd_capsule(g: _Geo) -> str:
    body = [
        "@wp.func",
        "def NAME(p: wp.vec3, a: wp.vec3, b: wp.vec3, r: float):",
        "    pa = p - a",
        "    ba = b - a",
        "    h = wp.clamp(wp.dot(pa, ba) / wp.max(wp.dot(ba, ba), 1.0e-6), 0.0, 1.0)",
        "    return wp.length(pa - ba * h) - r",
    ]
    return _helper(g, "sd_capsule", "\n".join(body))


def _sd_torus(g: _Geo) -> str:
    body = [
        "@wp.func",
        "def NAME(p: wp.vec3, major: float, minor: float):",
        "    ring = wp.length(wp.vec2(p[0], p[2])) - major",
        "    return wp.length(wp.vec2(ring, p[1])) - minor",
    ]
    return _helper(g, "sd_torus", "\n".join(body))


def _smin(g: _Geo) -> str:
    body = [
        "@wp.func",
        "def NAME(a: float, b: float, k: float):",
        "    h = wp.clamp(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)",
        "    return wp.lerp(b, a, h) - k * h * (1.0 - h)",
    ]
    return _helper(g, "smin", "\n".join(body))


def _ray_box(g: _Geo) -> str:
    body = [
        "@wp.func",
        "def NAME(origin: wp.vec3, direction: wp.vec3, lower: wp.vec3, upper: wp.vec3):",
        "    safe = wp.vec3(",
        "        wp.copysign(wp.max(wp.abs(direction[0]), 1.0e-6), direction[0]),",
        "        wp.copysign(wp.max(wp.abs(direction[1]), 1.0e-6), direction[1]),",
        "        wp.copysign(wp.max(wp.abs(direction[2]), 1.0e-6), direction[2]),",
        "    )",
        "    t0 = wp.cw_div(lower - origin, safe)",
        "    t1 = wp.cw_div(upper - origin, safe)",
        "    near = wp.min(t0, t1)",
        "    far = wp.max(t0, t1)",
        "    t_enter = wp.max(near[0], wp.max(near[1], near[2]))",
        "    t_exit = wp.min(far[0], wp.min(far[1], far[2]))",
        "    if t_enter <= t_exit and t_exit >= 0.0:",
        "        return wp.max(t_enter, 0.0)",
        "    return -1.0",
    ]
    return _helper(g, "ray_box", "\n".join(body))


def _ray_sphere(g: _Geo) -> str:
    body = [
        "@wp.func",
        "def NAME(origin: wp.vec3, direction: wp.vec3, center: wp.vec3, r: float):",
        "    oc = origin - center",
        "    b = wp.dot(oc, direction)",
        "    disc = b * b - (wp.dot(oc, oc) - r * r)",
        "    if disc < 0.0:",
        "        return -1.0",
        "    return -b - wp.sqrt(disc)",
    ]
    return _helper(g, "ray_sphere", "\n".join(body))


def _barycentric(g: _Geo) -> str:
    body = [
        "@wp.func",
        "def NAME(p: wp.vec3, a: wp.vec3, b: wp.vec3, c: wp.vec3):",
        "    e0 = b - a",
        "    e1 = c - a",
        "    e2 = p - a",
        "    d00 = wp.dot(e0, e0)",
        "    d01 = wp.dot(e0, e1)",
        "    d11 = wp.dot(e1, e1)",
        "    d20 = wp.dot(e2, e0)",
        "    d21 = wp.dot(e2, e1)",
        "    inv = 1.0 / wp.max(d00 * d11 - d01 * d01, 1.0e-6)",
        "    v = (d11 * d20 - d01 * d21) * inv",
        "    w = (d00 * d21 - d01 * d20) * inv",
        "    return wp.vec3(1.0 - v - w, v, w)",
    ]
    return _helper(g, "barycentric", "\n".join(body))


def _scene(g: _Geo) -> str:
    """A @wp.func SDF of 1-3 analytic primitives combined by union / intersection / smooth union / cut."""
    rng = g.rng
    if f"{g.w.name}_scene" in g.helpers:
        return f"{g.w.name}_scene"
    lines = ["@wp.func", "def NAME(p: wp.vec3):"]
    dists = []
    for k in range(rng.randint(1, 2 + g.w.level // 3)):
        center = g.vec(-0.6, 0.6)
        kind = rng.choice(("sphere", "box", "capsule", "torus", "plane"))
        local = f"p - {center}"
        if kind in ("box", "torus") and rng.random() < 0.5:
            local = f"wp.quat_rotate_inv(wp.quat_from_axis_angle({g.unit_vec()}, {g.small(-3.0, 3.0)}), {local})"
        if kind == "sphere":
            value = f"{_sd_sphere(g)}(p, {center}, {g.small(0.2, 0.8)})"
        elif kind == "box":
            value = f"{_sd_box(g)}({local}, {g.vec(0.1, 0.6)})"
        elif kind == "capsule":
            value = f"{_sd_capsule(g)}(p, {center}, {g.vec(-0.8, 0.8)}, {g.small(0.05, 0.3)})"
        elif kind == "torus":
            value = f"{_sd_torus(g)}({local}, {g.small(0.3, 0.7)}, {g.small(0.05, 0.2)})"
        else:
            value = f"wp.dot(p, {g.unit_vec()}) - {g.small(-0.5, 0.5)}"
        lines.append(f"    d{k} = {value}")
        dists.append(f"d{k}")
    result = dists[0]
    for other in dists[1:]:
        op = rng.choice(("union", "union", "smooth", "intersect", "cut"))
        if op == "union":
            result = f"wp.min({result}, {other})"
        elif op == "smooth":
            result = f"{_smin(g)}({result}, {other}, {g.small(0.05, 0.3)})"
        elif op == "intersect":
            result = f"wp.max({result}, {other})"
        else:
            result = f"wp.max({result}, -{other})"
    lines.append(f"    return {result}")
    return _helper(g, "scene", "\n".join(lines))


# ------------------------------------------------------------------ motifs
def _mesh_closest(g: _Geo) -> None:
    """Closest point / signed distance to the mesh, with what is evaluated at the closest point."""
    w, rng = g.w, g.rng
    fn = rng.choice(_POINT_QUERIES)
    if g.dynamic and rng.random() < 0.2:
        fn = "mesh_query_furthest_point_no_sign"
    extra = ""
    if fn == "mesh_query_point_sign_normal" and rng.random() < 0.5:
        extra = f", {rng.choice(('1.0e-3', '1.0e-4', '0.01'))}"
    elif fn == "mesh_query_point_sign_winding_number" and rng.random() < 0.5:
        extra = f", {rng.choice(('2.0', '1.5', '3.0'))}, {rng.choice(('0.5', '0.4', '0.6'))}"
    elif fn == "mesh_query_point_sign_parity" and rng.random() < 0.5:
        extra = f", {rng.randint(1, 5)}"
    p = g.query_point()
    bound = "0.0" if fn == "mesh_query_furthest_point_no_sign" else g.max_dist
    sdf = None
    if fn in _SIGNED_QUERIES and rng.random() < 0.7:
        sdf = g.accumulator(rng.choice(("sdf", "signed_dist")), FLOAT, f"float({g.max_dist})")
    query = g.let("query", f"wp.{fn}({g.mesh}, {p}, {bound}{extra})", None)
    with w.block(f"if {query}.result"):
        closest = g.let("closest", f"wp.mesh_eval_position({g.mesh}, {query}.face, {query}.u, {query}.v)", VEC3)
        delta = g.let("delta", f"{p} - {closest}", VEC3)
        dist = g.let("dist", f"wp.length({delta})", FLOAT)
        if sdf is not None:
            w.emit(f"{sdf} = {dist} * {query}.sign")
        # the closest face is ambiguous on edges and vertices: its normal and (u, v) jump there, so they are
        # only used where no gradient check applies
        options = ("velocity", "gradient", "push", "expr")
        if g.dynamic:
            options += ("normal", "bary")
        picks = rng.sample(options, rng.randint(1, 2 + w.level // 2))
        for pick in picks:
            if pick == "normal":
                n = g.let("normal", f"wp.mesh_eval_face_normal({g.mesh}, {query}.face)", VEC3)
                g.fold(g.vec_acc(), f"{n} * {g.expr(FLOAT, 1)}")
            elif pick == "velocity":
                vel = g.let("surface_vel", f"wp.mesh_eval_velocity({g.mesh}, {query}.face, {query}.u, {query}.v)", VEC3)
                g.fold(g.vec_acc(), f"{vel} * {g.small(0.1, 1.0)}")
            elif pick == "gradient":
                sign = f" * {query}.sign" if fn in _SIGNED_QUERIES else ""
                grad = g.let("grad", f"wp.normalize({delta}){sign}", VEC3)
                g.fold(g.vec_acc(), grad)
            elif pick == "bary":
                b = g.let("bary_w", f"1.0 - {query}.u - {query}.v", FLOAT)
                g.fold(g.float_acc(), f"{b} * {dist}")
            elif pick == "push":
                thickness = g.small(0.02, 0.2)
                cond = f"{sdf} < {thickness}" if sdf is not None else f"{dist} < {thickness}"
                if w.can_nest:
                    with w.block(f"if {cond}"):
                        g.fold(g.vec_acc(), f"wp.normalize({delta}) * ({thickness} - {dist})")
                else:
                    g.fold(g.vec_acc(), f"wp.where({cond}, {delta}, wp.vec3(0.0))")
            else:
                g.fold(g.float_acc(), g.expr(FLOAT))
    if sdf is None and rng.random() < 0.5:
        with w.block("else"):
            g.fold(g.float_acc(), g.small(0.5, 2.0))


def _mesh_ray(g: _Geo) -> None:
    """Cast a ray against the mesh; shade, reflect, test shadows or count crossings."""
    w, rng = g.w, g.rng
    origin = g.point
    if rng.random() < 0.5:
        origin = g.let("origin", f"{g.point} * {g.small(1.5, 3.0)}", VEC3)
    direction = g.direction(origin)
    max_t = rng.choice(("1.0e6", "10.0", "100.0", g.max_dist))
    if rng.random() < 0.25:
        crossings = g.let("crossings", f"wp.mesh_query_ray_count_intersections({g.mesh}, {origin}, {direction})", INT)
        g.fold(g.float_acc(), f"wp.where({crossings} % 2 == 1, -1.0, 1.0)")
        if rng.random() < 0.5:
            return
    hit = g.let("hit", f"wp.mesh_query_ray({g.mesh}, {origin}, {direction}, {max_t})", None)
    depth = None
    if rng.random() < 0.6:
        depth = g.accumulator("depth", FLOAT, f"float({rng.choice(('-1.0', '0.0', '10.0'))})")
    with w.block(f"if {hit}.result"):
        if depth is not None:
            w.emit(f"{depth} = {hit}.t")
        pos = g.let("hit_pos", f"{origin} + {direction} * {hit}.t", VEC3)
        picks = rng.sample(
            ("shade", "reflect", "shadow", "front", "velocity", "bary"), rng.randint(1, 1 + w.level // 2)
        )
        for pick in picks:
            if pick == "shade":
                light = g.unit_vec()
                g.fold(g.float_acc(), f"wp.max(wp.dot({hit}.normal, {light}), 0.0)")
            elif pick == "reflect":
                refl = g.let(
                    "reflected", f"{direction} - {hit}.normal * (2.0 * wp.dot({direction}, {hit}.normal))", VEC3
                )
                g.fold(g.vec_acc(), f"{refl} * {g.small(0.1, 1.0)}")
            elif pick == "shadow":
                light = g.unit_vec()
                start = f"{pos} + {hit}.normal * 1.0e-3"
                with w.block(f"if wp.mesh_query_ray_anyhit({g.mesh}, {start}, {light}, {g.small(1.0, 5.0)})"):
                    g.fold(g.float_acc(), g.small(-1.0, -0.1))
            elif pick == "front":
                g.fold(g.float_acc(), f"wp.where({hit}.sign > 0.0, {g.expr(FLOAT, 1)}, {g.small()})")
            elif pick == "velocity":
                g.fold(g.vec_acc(), f"wp.mesh_eval_velocity({g.mesh}, {hit}.face, {hit}.u, {hit}.v)")
            else:
                face_term = f" + float({hit}.face) * {g.small(0.01, 0.1)}" if g.dynamic else ""  # piecewise constant
                g.fold(g.float_acc(), f"{hit}.u * {hit}.v{face_term}")
        g.fold(g.vec_acc(), f"{pos} * {g.small(0.1, 0.5)}")


def _triangle(g: _Geo, face: str) -> tuple[str, str, str]:
    """The three vertices of ``face``: through the face-vertex getters or the mesh struct."""
    slots = [f"{face} * 3" + (f" + {o}" if o else "") for o in range(3)]
    if g.rng.random() < 0.6:
        a, b, c = (
            g.let(f"tri_{k}", f"wp.mesh_get_point({g.mesh}, {slot})", VEC3)
            for k, slot in zip("abc", slots, strict=True)
        )
        return a, b, c
    m = g.let("mesh_data", f"wp.mesh_get({g.mesh})", None)
    idx = [g.let(f"vi_{k}", f"wp.mesh_get_index({g.mesh}, {slot})", INT) for k, slot in zip("abc", slots, strict=True)]
    a, b, c = (g.let(f"tri_{k}", f"{m}.points[{ix}]", VEC3) for k, ix in zip("abc", idx, strict=True))
    return a, b, c


def _triangle_math(g: _Geo, a: str, b: str, c: str, p: str, face: str | None) -> None:
    """Per-triangle work: area, normal, plane distance, barycentrics, tri-tri and edge-edge tests."""
    rng = g.rng
    options = ["area", "plane", "bary", "edge", "normal", "vel"] + (["tritri"] if g.dynamic else [])
    picks = rng.sample(options, rng.randint(1, 2 + g.w.level // 3))
    for pick in picks:
        if pick == "area":
            area = g.let("area", f"0.5 * wp.length(wp.cross({b} - {a}, {c} - {a}))", FLOAT)
            g.fold(g.float_acc(), area)
        elif pick == "plane":
            n = g.let("tri_n", f"wp.normalize(wp.cross({b} - {a}, {c} - {a}))", VEC3)
            g.fold(g.float_acc(), f"wp.abs(wp.dot({p} - {a}, {n}))")
        elif pick == "bary":
            bc = g.let("bc", f"{_barycentric(g)}({p}, {a}, {b}, {c})", VEC3)
            inside = f"wp.min({bc}[0], wp.min({bc}[1], {bc}[2])) >= 0.0"
            g.fold(g.float_acc(), f"wp.where({inside}, 1.0, 0.0)")
        elif pick == "tritri":
            s = g.small(0.1, 0.5)
            tri = (f"{p}", f"{p} + {g.vec(-1.0, 1.0)} * {s}", f"{p} + {g.vec(-1.0, 1.0)} * {s}")
            overlap = g.let("overlap", f"wp.intersect_tri_tri({a}, {b}, {c}, {', '.join(tri)})", INT)
            target = g.counters[-1] if g.counters and rng.random() < 0.5 else g.float_acc()
            g.w.emit(f"{target} += {overlap if target in g.counters else f'float({overlap})'}")
        elif pick == "edge":
            seg = g.let("st", f"wp.closest_point_edge_edge({a}, {b}, {p}, {p} + {g.vec()}, 1.0e-6)", VEC3)
            if rng.random() < 0.5:
                near = g.let("near", f"{a} + ({b} - {a}) * {seg}[0]", VEC3)
                g.fold(g.vec_acc(), f"({near} - {p}) * {g.small(0.1, 0.5)}")
            g.fold(g.float_acc(), f"{seg}[2]")
        elif pick == "normal" and face is not None:
            g.fold(g.vec_acc(), f"wp.mesh_eval_face_normal({g.mesh}, {face})")
        elif pick == "vel" and face is not None:
            g.fold(g.vec_acc(), f"wp.mesh_get_velocity({g.mesh}, {face} * 3 + {rng.randint(0, 2)}) * {g.small()}")
        else:
            g.fold(g.float_acc(), g.expr(FLOAT, 2))


def _mesh_overlap(g: _Geo) -> None:
    """Loop over the faces whose bounds overlap a box or sphere around the point."""
    w, rng = g.w, g.rng
    p = g.query_point()
    count = g.counter(rng.choice(("count", "num_faces")))
    g.float_acc()
    face = g.let("face", "int(0)", INT)
    if rng.random() < 0.7:
        half = g.radius or g.small(0.1, 0.6)
        if rng.random() < 0.5:
            lo = g.let("lower", f"{p} - wp.vec3({half})", VEC3)
            hi = g.let("upper", f"{p} + wp.vec3({half})", VEC3)
        else:
            other = g.let("far_end", f"{p} + {g.vec(-0.5, 0.5)}", VEC3)
            lo = g.let("lower", f"wp.min({p}, {other})", VEC3)
            hi = g.let("upper", f"wp.max({p}, {other})", VEC3)
        query = g.let("faces", f"wp.mesh_query_aabb({g.mesh}, {lo}, {hi})", None)
        step = "mesh_query_aabb_next" if rng.random() < 0.7 else "mesh_query_next"
    else:
        query = g.let("faces", f"wp.mesh_query_sphere({g.mesh}, {p}, {g.radius or g.small(0.1, 0.6)})", None)
        step = "mesh_query_next"
    g.dynamic = True
    with w.block(f"while wp.{step}({query}, {face})"):
        w.emit(f"{count} += 1")
        if rng.random() < 0.6:
            a, b, c = _triangle(g, face)
            _triangle_math(g, a, b, c, p, face)
        else:
            centre = g.let("centroid", f"wp.mesh_eval_position({g.mesh}, {face}, 0.3333, 0.3333)", VEC3)
            g.fold(g.float_acc(), f"wp.length({centre} - {p})")
            if rng.random() < 0.5:
                g.fold(g.vec_acc(), f"wp.mesh_eval_face_normal({g.mesh}, {face})")


def _mesh_face(g: _Geo) -> None:
    """Each thread takes one face of the mesh (through ``wp.mesh_get``) and measures it against its point."""
    rng = g.rng
    m = g.let("mesh_data", f"wp.mesh_get({g.mesh})", None)
    nf = g.let("num_tris", f"{m}.indices.shape[0] // 3", INT)
    face = g.let("tri", f"i % {nf}", INT)
    if rng.random() < 0.5:
        verts = tuple(
            g.let(f"corner_{k}", f"{m}.points[{m}.indices[{face} * 3 + {o}]]", VEC3) for o, k in enumerate("abc")
        )
    else:
        verts = tuple(
            g.let(f"corner_{k}", f"wp.mesh_get_point({g.mesh}, {face} * 3 + {o})", VEC3) for o, k in enumerate("abc")
        )
    if rng.random() < 0.4:
        centroid = g.let("centroid", f"({verts[0]} + {verts[1]} + {verts[2]}) / 3.0", VEC3)
        g.fold(g.vec_acc(), f"{centroid} - {g.point}")
    if rng.random() < 0.3:
        vel = g.let("corner_vel", f"wp.mesh_get_velocity({g.mesh}, {face} * 3)", VEC3)
        g.fold(g.vec_acc(), f"{vel} * {g.small(0.01, 0.1)}")
    _triangle_math(g, *verts, g.point, face)


def _bvh_loop(g: _Geo) -> None:
    """Traverse the BVH (box, ray, sphere or capsule query); count, find the nearest item, gather data."""
    w, rng = g.w, g.rng
    p = g.query_point()
    target = g.bvh
    items_are_faces = False
    if g.mesh is not None and (g.bvh is None or rng.random() < 0.3):
        target = g.let("face_bvh", f"wp.mesh_get_bvh({g.mesh})", UINT64)
        items_are_faces = True
    kind = rng.choice(("aabb", "aabb", "ray", "sphere", "capsule"))
    item = g.let("item", "int(0)", INT)
    count = g.counter(rng.choice(("count", "num_hits")))
    best = best_id = None
    if rng.random() < 0.5:
        best = g.accumulator("best", FLOAT, "float(1.0e6)")
        best_id = g.let("best_id", "int(-1)", INT)
        g.protected.append(best_id)
    max_dist = ""
    if kind == "aabb":
        half = g.radius or g.small(0.1, 0.5)
        query = g.let("query", f"wp.bvh_query_aabb({target}, {p} - wp.vec3({half}), {p} + wp.vec3({half}))", None)
    elif kind == "ray":
        direction = g.direction(p)
        query = g.let("query", f"wp.bvh_query_ray({target}, {p}, {direction})", None)
        if rng.random() < 0.5:
            max_dist = f", {rng.choice(('1.0', '2.0', '0.5'))}"
    elif kind == "sphere":
        query = g.let("query", f"wp.bvh_query_sphere({target}, {p}, {g.radius or g.small(0.1, 0.5)})", None)
    else:
        direction = g.direction(p)
        query = g.let("query", f"wp.bvh_query_capsule({target}, {p}, {direction}, {g.small(0.05, 0.3)})", None)
    g.dynamic = True
    with w.block(f"while wp.bvh_query_next({query}, {item}{max_dist})"):
        w.emit(f"{count} += 1")
        if items_are_faces:
            centre = g.let("centroid", f"wp.mesh_eval_position({g.mesh}, {item}, 0.3333, 0.3333)", VEC3)
        else:
            centre = g.let("center", f"{g.items}[{item}]", VEC3)
        d = g.let("d", f"wp.length({centre} - {p})", FLOAT)
        if best is not None:
            with w.block(f"if {d} < {best}"):
                w.emit(f"{best} = {d}")
                w.emit(f"{best_id} = {item}")
        if g.weights is not None and not items_are_faces and rng.random() < 0.7:
            g.fold(g.float_acc(), f"{g.weights}[{item}] * {g.expr(FLOAT, 1)}")
        elif rng.random() < 0.5:
            g.fold(g.vec_acc(), f"({centre} - {p}) / (1.0 + {d})")
        else:
            g.fold(g.float_acc(), g.expr(FLOAT))
    if best is not None and not items_are_faces and w.can_nest and rng.random() < 0.6:
        with w.block(f"if {best_id} >= 0"):
            g.fold(g.vec_acc(), f"{g.items}[{best_id}] - {p}")


def _grid_loop(g: _Geo) -> None:
    """Neighbour search in the hash grid: density, repulsion, averaging over neighbours within a radius."""
    w, rng = g.w, g.rng
    radius = g.radius or rng.choice(("0.25", "0.2", "0.3", "0.5"))
    p = g.point
    neighbor = g.let("j", "int(0)", INT) if "j" not in w.scope else g.let("nbr", "int(0)", INT)
    picks = rng.sample(("density", "force", "count", "average", "nearest", "expr"), rng.randint(1, 2 + w.level // 3))
    accs = {}
    for pick in picks:
        if pick == "density":
            accs[pick] = g.accumulator("density", FLOAT, "float(0.0)")
        elif pick == "force":
            accs[pick] = g.accumulator("force", VEC3, "wp.vec3(0.0)")
        elif pick == "count":
            accs[pick] = g.counter("neighbors")
        elif pick == "average":
            accs[pick] = g.accumulator("avg_vel" if g.velocities else "centroid_sum", VEC3, "wp.vec3(0.0)")
            accs["count"] = accs.get("count") or g.counter("neighbors")
        elif pick == "nearest":
            accs[pick] = g.accumulator("nearest", FLOAT, f"float({radius})")
        else:
            accs[pick] = g.float_acc()
    query = g.let("query", f"wp.hash_grid_query({g.grid}, {p}, {radius})", None)
    g.dynamic = True
    with w.block(f"while wp.hash_grid_query_next({query}, {neighbor})"):
        if g.self_id is not None and rng.random() < 0.7:
            with w.block(f"if {neighbor} == {g.self_id}"):
                w.emit("continue")
        r = g.let("r", f"{g.points}[{neighbor}] - {p}", VEC3)
        d = g.let("dist", f"wp.length({r})", FLOAT)
        with w.block(f"if {d} < {radius}"):
            for pick, acc in accs.items():
                if pick == "density":
                    if rng.random() < 0.5:
                        h2 = g.let("h2", f"{radius} * {radius} - {d} * {d}", FLOAT)
                        w.emit(f"{acc} += {h2} * {h2} * {h2}")
                    else:
                        q = g.let("falloff", f"1.0 - {d} / {radius}", FLOAT)
                        w.emit(f"{acc} += {q} * {q}")
                elif pick == "force":
                    w.emit(f"{acc} -= {r} * (({radius} - {d}) / ({d} + 1.0e-4))")
                elif pick == "count":
                    w.emit(f"{acc} += 1")
                elif pick == "average":
                    source = f"{g.velocities}[{neighbor}]" if g.velocities else f"{g.points}[{neighbor}]"
                    w.emit(f"{acc} += {source}")
                elif pick == "nearest":
                    w.emit(f"{acc} = wp.min({acc}, {d})")
                else:
                    g.fold(acc, g.expr(FLOAT))
    if "average" in accs and w.can_nest:
        with w.block(f"if {accs['count']} > 0"):
            w.emit(f"{accs['average']} = {accs['average']} / float({accs['count']})")


def _sdf_eval(g: _Geo) -> None:
    """Evaluate an analytic SDF scene: distance, finite-difference normal, maybe a sphere-traced ray."""
    w, rng = g.w, g.rng
    scene = _scene(g)
    p = g.query_point()
    d = g.let("scene_d", f"{scene}({p})", FLOAT)
    if rng.random() < 0.6:
        # a step well above float32 noise: the normal stays smooth enough to differentiate
        eps = rng.choice(("2.0e-2", "3.0e-2", "5.0e-2"))
        comps = ", ".join(
            f"{scene}({p} + wp.vec3({', '.join(eps if k == a else '0.0' for k in range(3))})) - {d}" for a in range(3)
        )
        n = g.let("scene_n", f"wp.normalize(wp.vec3({comps}))", VEC3)
        if rng.random() < 0.5:
            g.fold(g.vec_acc(), f"{n} * wp.max(-{d}, 0.0)")
        else:
            g.fold(g.vec_acc(), n)
    if w.level >= 3 and rng.random() < 0.5:
        origin = g.let("ray_o", f"{p} * {g.small(1.5, 2.5)}", VEC3)
        direction = g.direction(origin)
        t = g.accumulator("march_t", FLOAT, "float(0.0)")
        early_exit = rng.random() < 0.5
        with w.block(f"for march in range({rng.randint(4, 12) if early_exit else rng.randint(3, 6)})"):
            h = g.let("h", f"{scene}({origin} + {direction} * {t})", FLOAT)
            if early_exit:
                g.dynamic = True
                with w.block(f"if {h} < {rng.choice(('1.0e-3', '1.0e-4', '0.01'))}"):
                    w.emit("break")
            w.emit(f"{t} += wp.clamp({h}, 0.0, {g.small(0.5, 2.0)})")
    g.fold(g.float_acc(), d)


def _ray_shapes(g: _Geo) -> None:
    """Ray tests against analytic shapes: slab test against a box, ray-sphere intersection."""
    w, rng = g.w, g.rng
    origin = g.let("origin", f"{g.point} * {g.small(1.5, 3.0)}", VEC3)
    direction = g.direction(origin)
    if rng.random() < 0.5:
        lo = g.vec(-0.8, -0.1)
        hi = g.vec(0.1, 0.8)
        t = g.let("t_box", f"{_ray_box(g)}({origin}, {direction}, {lo}, {hi})", FLOAT)
    else:
        t = g.let(
            "t_sphere", f"{_ray_sphere(g)}({origin}, {direction}, {g.vec(-0.3, 0.3)}, {g.small(0.3, 0.9)})", FLOAT
        )
    with w.block(f"if {t} >= 0.0"):
        g.fold(g.vec_acc(), f"{origin} + {direction} * {t}")
        if rng.random() < 0.5:
            g.fold(g.float_acc(), f"{t} * {g.expr(FLOAT, 1)}")


def _segments(g: _Geo) -> None:
    """Closest points between segments, triangle overlap and barycentric tests on input geometry."""
    w, rng = g.w, g.rng
    if g.segment is None:
        return _ray_shapes(g)
    a, b = g.segment
    p = g.point
    if rng.random() < 0.6:
        q = g.let("probe_end", f"{p} + {g.expr(VEC3, 1)} * {g.small(0.1, 0.5)}", VEC3)
        st = g.let("st", f"wp.closest_point_edge_edge({p}, {q}, {a}, {b}, 1.0e-6)", VEC3)
        c1 = g.let("on_first", f"{p} + ({q} - {p}) * {st}[0]", VEC3)
        c2 = g.let("on_second", f"{a} + ({b} - {a}) * {st}[1]", VEC3)
        if rng.random() < 0.5 and w.can_nest:
            with w.block(f"if {st}[2] < {g.small(0.05, 0.5)}"):
                g.fold(g.vec_acc(), f"({c2} - {c1}) * 0.5")
        else:
            g.fold(g.vec_acc(), f"{c2} - {c1}")
        g.fold(g.float_acc(), f"{st}[2]")
    else:
        c = g.let("apex", f"({a} + {b}) * 0.5 + {g.vec(-0.5, 0.5)}", VEC3)
        _triangle_math(g, a, b, c, p, None)


# ------------------------------------------------------------------ category
_MOTIFS: dict[str, Callable[[_Geo], None]] = {
    "mesh_closest": _mesh_closest,
    "mesh_ray": _mesh_ray,
    "mesh_overlap": _mesh_overlap,
    "mesh_face": _mesh_face,
    "bvh": _bvh_loop,
    "grid": _grid_loop,
    "sdf": _sdf_eval,
    "segments": _segments,
    "ray_shapes": _ray_shapes,
}

_NEEDS = {
    "mesh_closest": "mesh",
    "mesh_ray": "mesh",
    "mesh_overlap": "mesh",
    "mesh_face": "mesh",
    "bvh": "bvh",
    "grid": "grid",
}


def _declare(g: _Geo, motifs: list[str]) -> None:
    """Arguments: the queried structures and their data, query points, optional pose and radius."""
    w, rng = g.w, g.rng
    needs = {_NEEDS[m] for m in motifs if m in _NEEDS}
    if "grid" in needs:
        g.grid = "grid"
        w.param(UINT64, name="grid", recipe={"kind": "hash_grid"})
        g.points = w.input_array(VEC3, load=False, name="points", recipe={"shape": [_ITEMS]})
        if rng.random() < 0.4:
            g.velocities = w.input_array(VEC3, load=False, name="velocities", recipe={"shape": [_ITEMS]})
    if "mesh" in needs:
        g.mesh = "mesh"
        w.param(UINT64, name="mesh", recipe={"kind": "mesh"})
    if "bvh" in needs:
        g.bvh = "bvh"
        w.param(UINT64, name="bvh", recipe={"kind": "bvh"})
        g.items = w.input_array(VEC3, load=False, name="item_centers", recipe={"shape": [_ITEMS]})
        if rng.random() < 0.5:
            g.weights = w.input_array(FLOAT, load=False, name="item_weights", recipe={"shape": [_ITEMS]})
    if g.grid is None or rng.random() < 0.5:
        query = w.input_array(VEC3, load=False, name="x" if g.grid is None else "queries")
    else:
        query = None
    g.segment = None
    if "segments" in motifs:
        w.input_array(VEC3, load=False, name="seg_a")
        w.input_array(VEC3, load=False, name="seg_b")
        g.segment = ("seg_a[i]", "seg_b[i]")
    if g.mesh is not None and rng.random() < 0.5:
        g.max_dist = w.param(FLOAT, name="max_dist", recipe={"low": 0.5, "high": 4.0})
    if rng.random() < 0.3 + 0.1 * w.level:
        g.radius = w.param(FLOAT, name="radius", recipe={"low": 0.1, "high": 0.5})
    pose = rng.choice(("none", "none", "transform", "rotation"))
    if pose == "transform":
        w.param(TRANSFORM, name="xform")
    elif pose == "rotation":
        w.param(QUAT, name="rot", recipe={"kind": "unit"})
        w.param(VEC3, name="center")
    for prod in _productions(pose == "transform", True):
        w.gen.add(prod)

    # --- body preamble: the thread's point (and grid id)
    g.self_id = None
    if g.grid is not None and (query is None or rng.random() < 0.5):
        g.self_id = g.let("pid", f"wp.hash_grid_point_id({g.grid}, i)", INT)
        g.point = g.let("p", f"{g.points}[{g.self_id}]", VEC3)
    elif query is not None:
        g.point = g.let("p", f"{query}[i]", VEC3)
    else:
        g.self_id = "i"
        g.point = g.let("p", f"{g.points}[i]", VEC3)
    if query is not None and g.self_id is not None and rng.random() < 0.5:
        g.let("target", f"{query}[i]", VEC3)
    if g.segment is not None:
        g.segment = (g.let("seg_start", g.segment[0], VEC3), g.let("seg_end", g.segment[1], VEC3))
    if pose == "transform":
        inverse = g.let("to_local", "wp.transform_inverse(xform)", TRANSFORM)
        g.point = g.let("p_local", f"wp.transform_point({inverse}, {g.point})", VEC3)
    elif pose == "rotation":
        g.point = g.let("p_local", f"wp.quat_rotate_inv(rot, {g.point} - center)", VEC3)
    if rng.random() < 0.3:
        g.point = g.let("p_scaled", f"{g.point} * {g.small(1.2, 2.5)}", VEC3)


@register_category("geometry", groups={"arith", "vector", "cond"})
def geometry(w: KernelWriter) -> None:
    """Geometry queries: mesh closest-point/ray/overlap queries, BVH and hash-grid traversal, SDFs, tri/edge tests."""
    rng = w.rng
    count = {1: 1, 2: rng.randint(1, 2), 3: 2, 4: rng.randint(2, 3), 5: 3}[w.level]
    pool = list(_MOTIFS)
    weights = [3, 3, 2, 1, 3, 3, 1.5, 1.5, 0.7]
    motifs: list[str] = []
    while len(motifs) < count:
        pick = rng.choices(pool, weights)[0]
        if pick not in motifs or rng.random() < 0.2:
            motifs.append(pick)
    g = _Geo(w)
    _declare(g, motifs)
    if rng.random() < 0.35:
        w.add_helpers((FLOAT, VEC3))
    budget = 14 + 7 * w.level  # body lines: keeps level 5 under ~50 statements
    for n, motif in enumerate(motifs):
        if n and len(w._lines) > budget - 12:
            break
        g.begin_motif()
        _MOTIFS[motif](g)
        if rng.random() < 0.4:
            w.assign(rng.choice((FLOAT, VEC3)), 2)
    _store(g)


def _store(g: _Geo) -> None:
    """Write results: every accumulator ends up in an output (a float field, a vector, counts)."""
    w, rng = g.w, g.rng
    index = g.self_id if g.self_id not in (None, "i") and rng.random() < 0.7 else "i"
    floats = [a for a in g.accumulators if w.scope.get(a) is FLOAT]
    vecs = [a for a in g.accumulators if w.scope.get(a) is VEC3]
    counters = [c for c in g.counters if w.scope.get(c) is INT]
    for name in floats + vecs:
        w.gen.uses[name] = w.gen.uses.get(name, 0) + 1  # result_expr folds them in explicitly below
    signed = [a for a in floats if a.startswith(("sdf", "signed_dist"))]
    if signed and rng.random() < 0.6:
        sdf_out = w.output_array(FLOAT, name="sdf_out")
        w.emit(f"{sdf_out}[{index}] = {signed[0]}")
        floats.remove(signed[0])
    write_counts = bool(counters) and rng.random() < 0.6
    terms = floats + ([] if write_counts else [f"float({c}) * {g.small(0.01, 0.2)}" for c in counters])
    out = w.output_array(FLOAT, name=rng.choice(("out", "result", "field")))
    w.emit(f"{out}[{index}] = {' + '.join([*terms, result_expr(w, FLOAT)])}")
    if vecs or rng.random() < 0.3:
        vec_out = w.output_array(VEC3, name=rng.choice(("out_vec", "normals", "displacement")))
        w.emit(f"{vec_out}[{index}] = {' + '.join([*vecs, result_expr(w, VEC3)])}")
    if write_counts:
        count_out = w.output_array(INT, name="counts")
        w.emit(f"{count_out}[{index}] = {' + '.join(counters)}")
