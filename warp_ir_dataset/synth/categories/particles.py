"""Particle kernels: the per-particle, per-spring and per-constraint passes of a particle simulator.

A kernel is one pass of a particle solver, picked by the kernel's rng: force assembly and semi-implicit
Euler integration with damping and collisions (ground plane, sphere, box), spring forces scattered with
atomics, position-based distance-constraint projection, applying accumulated corrections, or pairwise
contacts. Within a pass the force terms, the integrator's details, the colliders, the coefficients
(literals or parameters with safe ranges) and the array naming vary, and typed random expressions add
extra force terms and coefficients.
"""

from __future__ import annotations

from ..category import register_category
from ..expressions import ExpressionGenerator
from ..types import FLOAT, INT, TRANSFORM, UINT32, UINT64, VEC3, WarpType, float_literal
from ..writer import KernelWriter
from .common import result_expr

_PARTICLES = 64  # the default launch and array length (validate.LAUNCH_DIM)

#: array naming schemes: positions, velocities, forces, masses, inverse masses
_SCHEMES = (
    {"x": "x", "v": "v", "f": "f", "mass": "mass", "inv_mass": "inv_mass"},
    {"x": "positions", "v": "velocities", "f": "forces", "mass": "masses", "inv_mass": "inv_masses"},
    {
        "x": "particle_q",
        "v": "particle_qd",
        "f": "particle_f",
        "mass": "particle_mass",
        "inv_mass": "particle_inv_mass",
    },
)

#: parameter ranges (validation draws by-value floats from these)
_RANGES = {
    "dt": (0.001, 0.02),
    "ke": (1.0, 10.0),
    "kd": (0.0, 1.0),
    "damping": (0.0, 2.0),
    "drag": (0.0, 0.5),
    "restitution": (0.0, 1.0),
    "friction": (0.0, 1.0),
    "radius": (0.01, 0.1),
    "compliance": (0.0, 0.01),
    "relaxation": (0.5, 1.5),
    "stiffness": (0.1, 1.0),
    "max_speed": (1.0, 10.0),
    "ground": (-1.0, -0.5),
}


class _Sim:
    """Per-kernel state: array and parameter names, descriptive locals."""

    def __init__(self, w: KernelWriter):
        self.w = w
        self.rng = w.rng
        self.names = dict(self.rng.choice(_SCHEMES))
        self.used: dict[str, int] = {}
        self.params: dict[str, str] = {}
        self.arrays: set[str] = set()
        self.protected: list[str] = []
        self.rand_state: str | None = None
        # the kernel is outside gradient checks (in-place update, random sampling, atomic min/max): float32
        # reductions into one scalar (whose rounding swamps a finite difference) are fine there
        self.nondiff = False

    def name(self, base: str) -> str:
        taken = {a.name for a in self.w.args} | set(self.w.scope)
        while True:
            n = self.used.get(base, 0)
            self.used[base] = n + 1
            name = base if n == 0 else f"{base}{n}"
            if name not in taken:
                return name

    def let(self, base: str, value: str, t: WarpType) -> str:
        name = self.name(base)
        self.w.emit(f"{name} = {value}")
        self.w.define(name, t)
        return name

    def set(self, name: str, value: str) -> None:
        self.w.emit(f"{name} = {value}")

    def coeff(self, key: str, param_bias: float = 0.5) -> str:
        """A coefficient: a kernel parameter (with its safe range as recipe) or a literal in the same range."""
        if key in self.params:
            return self.params[key]
        low, high = _RANGES[key]
        if key == "dt" or self.rng.random() < param_bias:
            self.params[key] = self.w.param(FLOAT, name=key, recipe={"low": low, "high": high})
            return self.params[key]
        return float_literal(self.rng, low, high) if low != high else f"{low}"

    def array(self, key: str, t: WarpType, recipe: dict | None = None, output: bool = False) -> str:
        name = self.names.get(key, key)
        if name not in self.arrays:
            self.arrays.add(name)
            if output:
                self.w.output_array(t, name=name, recipe=recipe)
            else:
                self.w.input_array(t, load=False, name=name, recipe=recipe)
        return name

    def expr(self, t: WarpType, depth: int | None = None) -> str:
        return self.w.expr(t, depth, exclude=self.protected)

    def small(self, low: float = 0.1, high: float = 1.0) -> str:
        return float_literal(self.rng, low, high)

    def vec(self, low: float = -1.0, high: float = 1.0) -> str:
        return f"wp.vec3({', '.join(float_literal(self.rng, low, high) for _ in range(3))})"

    def state(self) -> str:
        self.nondiff = True
        if self.rand_state is None:
            self.rand_state = self.let("rng", f"wp.rand_init({self.rng.randint(1, 99999)}, i)", UINT32)
        return self.rand_state


# ------------------------------------------------------------------ per-particle building blocks
def _inverse_mass(s: _Sim, index: str = "i") -> str:
    if s.rng.random() < 0.5:
        masses = s.array("mass", FLOAT, recipe={"low": 0.5, "high": 2.0})
        form = s.rng.choice(("div", "where"))
        if form == "div":
            return s.let("inv_m", f"1.0 / {masses}[{index}]", FLOAT)
        return s.let("inv_m", f"wp.where({masses}[{index}] > 0.0, 1.0 / {masses}[{index}], 0.0)", FLOAT)
    inv = s.array("inv_mass", FLOAT, recipe={"low": 0.5, "high": 2.0})
    return s.let("inv_m", f"{inv}[{index}]", FLOAT)


def _gravity(s: _Sim) -> str:
    if "gravity" in s.params:
        return s.params["gravity"]
    if s.rng.random() < 0.3:
        s.params["gravity"] = s.w.param(VEC3, name="gravity")
        return s.params["gravity"]
    return s.rng.choice(("wp.vec3(0.0, -9.81, 0.0)", "wp.vec3(0.0, -9.8, 0.0)", "wp.vec3(0.0, 0.0, -9.81)"))


def _force_terms(s: _Sim, pos: str, vel: str, f: str, inv_m: str) -> None:
    """Add 1-4 force terms to ``f``: drag, wind, anchor spring, noise, neighbour springs, generated."""
    w, rng = s.w, s.rng
    options = ["drag", "quadratic_drag", "aniso_drag", "wind", "vortex", "turbulence", "anchor", "noise"]
    options += ["neighbors", "generated"]
    for term in rng.sample(options, rng.randint(max(1, w.level // 2), 1 + (w.level + 1) // 2)):
        if term == "drag":
            s.set(f, f"{f} - {vel} * {s.coeff('drag')}")
        elif term == "quadratic_drag":
            s.set(f, f"{f} - {vel} * (wp.length({vel}) * {s.coeff('drag')})")
        elif term == "wind":
            wind = s.vec(-1.0, 1.0) if rng.random() < 0.5 else w.param(VEC3, name=s.name("wind"))
            gust = f"wp.sin({s.small(1.0, 6.0)} * {pos}[{rng.randint(0, 2)}])" if rng.random() < 0.5 else "1.0"
            s.set(f, f"{f} + {wind} * {gust}")
        elif term == "aniso_drag":
            s.set(f, f"{f} - wp.cw_mul({vel}, {s.vec(0.0, 0.5)})")
        elif term == "vortex":
            axis = f"wp.normalize({s.vec(-0.3, 0.3)} + wp.vec3(0.0, 1.0, 0.0))"
            s.set(f, f"{f} + wp.cross({axis}, {pos}) * {s.small(0.5, 3.0)}")
        elif term == "turbulence":
            s.nondiff = True
            field = s.let("field", f"wp.rand_init({rng.randint(1, 9999)})", UINT32)
            if rng.random() < 0.6:
                s.set(f, f"{f} + wp.curlnoise({field}, {pos} * {s.small(1.0, 4.0)}) * {s.small(0.1, 2.0)}")
            else:
                gust = f"wp.noise({field}, {pos} * {s.small(1.0, 4.0)})"
                s.set(f, f"{f} + {s.vec(-1.0, 1.0)} * {gust}")
        elif term == "anchor":
            rest = s.array("rest_pos", VEC3)
            s.set(f, f"{f} + ({rest}[i] - {pos}) * {s.coeff('ke')}")
        elif term == "noise":
            st = s.state()
            sigma = s.small(0.01, 0.5)
            if rng.random() < 0.5:
                s.set(f, f"{f} + wp.vec3(wp.randn({st}), wp.randn({st}), wp.randn({st})) * {sigma}")
            else:
                s.set(f, f"{f} + wp.sample_unit_sphere({st}) * {sigma}")
        elif term == "neighbors":
            _neighbor_springs(s, pos, vel, f)
        else:
            s.set(f, f"{f} + {s.expr(VEC3)} * {s.small(0.05, 0.5)}")


def _field_helper(s: _Sim) -> str:
    """A ``@wp.func`` force field of position and velocity, saturated to unit magnitude (``e / (1 + |e|)``)."""
    w, rng = s.w, s.rng
    name = f"{w.name}_field"
    gen = ExpressionGenerator(rng, frozenset({"arith", "vector"}))
    scope = {"p": VEC3, "v": VEC3}
    lines = ["@wp.func", f"def {name}(p: wp.vec3, v: wp.vec3):"]
    for k in range(rng.randint(0, 1 + w.level // 3)):
        t = rng.choice((FLOAT, VEC3))
        lines.append(f"    h{k} = {gen.expr(t, 2, scope, leaf_bias=0.2)}")
        scope[f"h{k}"] = t
    lines.append(f"    e = {gen.expr(VEC3, max(2, w.limits.depth - 1), scope, leaf_bias=0.1)}")
    lines.append("    return e / (1.0 + wp.length(e))")
    w.helper_sources.append("\n".join(lines))
    return name


def _neighbor_springs(s: _Sim, pos: str, vel: str, f: str) -> None:
    """Springs to a fixed number of neighbours listed per particle in an index array."""
    w, rng = s.w, s.rng
    k = rng.randint(2, 4)
    x = s.array("x", VEC3)
    nbrs = s.array("neighbors", INT, recipe={"kind": "index", "high": _PARTICLES, "shape": [_PARTICLES * k]})
    rest = s.small(0.05, 0.5)
    ke = s.coeff("ke")
    loop = s.name("k")
    with w.block(f"for {loop} in range({k})"):
        j = s.let("nbr", f"{nbrs}[i * {k} + {loop}]", INT)
        d = s.let("d", f"{x}[{j}] - {pos}", VEC3)
        length = s.let("dist", f"wp.length({d})", FLOAT)
        if rng.random() < 0.5:
            with w.block(f"if {j} == i"):
                w.emit("continue")
        s.set(f, f"{f} + {d} * ({ke} * ({length} - {rest}) / wp.max({length}, 1.0e-6))")
        if rng.random() < 0.4 and s.names["v"] in s.arrays:
            v = s.array("v", VEC3)
            s.set(f, f"{f} + ({v}[{j}] - {vel}) * {s.coeff('kd')}")


def _integrate(s: _Sim, pos: str, vel: str, f: str, inv_m: str) -> None:
    """Semi-implicit Euler with a damping variant and an optional speed limit."""
    w, rng = s.w, s.rng
    dt = s.coeff("dt")
    gravity = _gravity(s) if rng.random() < 0.8 else None
    accel = f"{f} * {inv_m}" + (f" + {gravity}" if gravity else "")
    s.set(vel, f"{vel} + ({accel}) * {dt}")
    damping = rng.choice(("none", "linear", "exp", "clamp"))
    if damping == "linear":
        s.set(vel, f"{vel} * wp.max(1.0 - {s.coeff('damping')} * {dt}, 0.0)")
    elif damping == "exp":
        s.set(vel, f"{vel} * wp.exp(-{s.coeff('damping')} * {dt})")
    elif damping == "clamp":
        s.set(vel, f"{vel} * {s.small(0.9, 0.999)}")
    if rng.random() < 0.3 + 0.1 * w.level:
        speed = s.let("speed", f"wp.length({vel})", FLOAT)
        limit = s.coeff("max_speed")
        with w.block(f"if {speed} > {limit}"):
            s.set(vel, f"{vel} * ({limit} / {speed})")
    s.set(pos, f"{pos} + {vel} * {dt}")


def _collide(s: _Sim, pos: str, vel: str) -> None:
    """1-3 colliders: ground plane, tilted plane, sphere, box clamp."""
    w, rng = s.w, s.rng
    kinds = rng.sample(("ground", "plane", "sphere", "box"), rng.randint(max(1, w.level // 3), 1 + w.level // 2))
    for kind in kinds:
        e = s.coeff("restitution")
        mu = s.coeff("friction")
        if kind == "ground":
            h = s.coeff("ground", 0.3)
            axis = rng.choice((1, 1, 2))
            with w.block(f"if {pos}[{axis}] < {h}"):
                comps = [f"{pos}[{k}]" if k != axis else h for k in range(3)]
                s.set(pos, f"wp.vec3({', '.join(comps)})")
                vcomps = [f"{vel}[{k}] * (1.0 - {mu})" if k != axis else f"-{vel}[{k}] * {e}" for k in range(3)]
                s.set(vel, f"wp.vec3({', '.join(vcomps)})")
        elif kind == "plane":
            n = s.let("plane_n", f"wp.normalize({s.vec(-0.3, 0.3)} + wp.vec3(0.0, 1.0, 0.0))", VEC3)
            depth = s.let("penetration", f"wp.dot({pos}, {n}) + {s.small(0.3, 1.0)}", FLOAT)
            with w.block(f"if {depth} < 0.0"):
                s.set(pos, f"{pos} - {n} * {depth}")
                vn = s.let("vn", f"wp.dot({vel}, {n})", FLOAT)
                vt = s.let("vt", f"{vel} - {n} * {vn}", VEC3)
                s.set(vel, f"{vt} * (1.0 - {mu}) - {n} * ({vn} * {e})")
        elif kind == "sphere":
            roll = rng.random()
            if roll < 0.5:
                center = s.vec(-0.3, 0.3)
            elif roll < 0.75:
                center = w.param(VEC3, name=s.name("sphere_center"))
            else:
                body = w.param(TRANSFORM, name=s.name("body"))
                center = s.let("body_pos", f"wp.transform_get_translation({body})", VEC3)
            r = s.small(0.2, 0.6)
            d = s.let("to_center", f"{pos} - {center}", VEC3)
            dist = s.let("center_dist", f"wp.length({d})", FLOAT)
            with w.block(f"if {dist} < {r}"):
                n = s.let("n", f"{d} / wp.max({dist}, 1.0e-6)", VEC3)
                s.set(pos, f"{center} + {n} * {r}")
                vn = s.let("vn", f"wp.dot({vel}, {n})", FLOAT)
                with w.block(f"if {vn} < 0.0"):
                    s.set(vel, f"{vel} - {n} * ((1.0 + {e}) * {vn})")
        else:
            lo = s.vec(-1.5, -0.8)
            hi = s.vec(0.8, 1.5)
            clamped = s.let("clamped", f"wp.min(wp.max({pos}, {lo}), {hi})", VEC3)
            with w.block(f"if wp.length_sq({clamped} - {pos}) > 0.0"):
                s.set(vel, f"{vel} * (-{e})")
                s.set(pos, clamped)


def _stats(s: _Sim, vel: str, pos: str) -> None:
    """Block-wide diagnostics with atomic min/max: peak speed, lowest height."""
    s.nondiff = True
    stats = s.array("stats", FLOAT, recipe={"shape": [2]}, output=True)
    s.w.emit(f"wp.atomic_max({stats}, 0, wp.length({vel}))")
    if s.rng.random() < 0.5:
        s.w.emit(f"wp.atomic_min({stats}, 1, {pos}[1])")


def _energy(s: _Sim, value: str) -> None:
    """Kinetic / elastic energy: summed into one scalar, or per element while gradients are checked."""
    if not s.nondiff:
        energy = s.w.output_array(FLOAT, name=s.name("energy"))
        s.w.emit(f"{energy}[i] = {value}")
        return
    energy = s.array("energy", FLOAT, recipe={"shape": [1]}, output=True)
    if s.rng.random() < 0.5:
        s.w.emit(f"wp.atomic_add({energy}, 0, {value})")
    else:
        s.w.emit(f"{energy}[0] += {value}")


# ------------------------------------------------------------------ passes
def _pass_integrate(s: _Sim) -> None:
    """Per particle: gather forces, integrate, collide, write back."""
    w, rng = s.w, s.rng
    x = s.array("x", VEC3)
    v = s.array("v", VEC3)
    in_place = rng.random() < 0.5
    s.nondiff |= in_place
    if rng.random() < 0.3:
        flags = s.array("flags", INT, recipe={"low": 0, "high": 3})
        with w.block(f"if {flags}[i] == 0"):
            w.emit("return")
    pos = s.let("pos", f"{x}[i]", VEC3)
    vel = s.let("vel", f"{v}[i]", VEC3)
    inv_m = _inverse_mass(s)
    if rng.random() < 0.5:
        forces = s.array("f", VEC3)
        f = s.let("force", f"{forces}[i]", VEC3)
    else:
        f = s.let("force", "wp.vec3(0.0)", VEC3)
    s.protected.append(f)
    if w.level >= 3 and rng.random() < 0.5:
        field = _field_helper(s)
        s.set(f, f"{f} + {field}({pos}, {vel}) * {s.small(0.1, 2.0)}")
    _force_terms(s, pos, vel, f, inv_m)
    s.protected.remove(f)
    _integrate(s, pos, vel, f, inv_m)
    if rng.random() < 0.85:
        _collide(s, pos, vel)
    if rng.random() < 0.3:
        _energy(s, f"0.5 * wp.dot({vel}, {vel}) / {inv_m}")
    if rng.random() < 0.2:
        _stats(s, vel, pos)
    _write_back(s, x, v, pos, vel, in_place)


def _write_back(s: _Sim, x: str, v: str, pos: str, vel: str, in_place: bool) -> None:
    w, rng = s.w, s.rng
    if in_place:
        w.emit(f"{x}[i] = {pos}")
        w.emit(f"{v}[i] = {vel}")
    else:
        x_out = w.output_array(VEC3, name=rng.choice(("x_new", "x_out", "q_out")))
        v_out = w.output_array(VEC3, name=rng.choice(("v_new", "v_out", "qd_out")))
        w.emit(f"{x_out}[i] = {pos}")
        w.emit(f"{v_out}[i] = {vel}")
    if rng.random() < 0.3:
        extra = w.output_array(FLOAT, name="speed_out")
        w.emit(f"{extra}[i] = wp.length({vel}) + {result_expr(w, FLOAT)} * {s.small(0.01, 0.1)}")


def _endpoints(s: _Sim) -> tuple[str, str]:
    """Spring / constraint endpoints: one flat index array or two index arrays."""
    w, rng = s.w, s.rng
    if rng.random() < 0.5:
        idx = s.array("springs", INT, recipe={"kind": "index", "high": _PARTICLES, "shape": [2 * _PARTICLES]})
        a = s.let("a", f"{idx}[i * 2]", INT)
        b = s.let("b", f"{idx}[i * 2 + 1]", INT)
    else:
        ia = s.array("spring_a", INT, recipe={"kind": "index", "high": _PARTICLES})
        ib = s.array("spring_b", INT, recipe={"kind": "index", "high": _PARTICLES})
        a = s.let("a", f"{ia}[i]", INT)
        b = s.let("b", f"{ib}[i]", INT)
    if rng.random() < 0.4:
        with w.block(f"if {a} == {b}"):
            w.emit("return")
    return a, b


def _rest_length(s: _Sim) -> str:
    roll = s.rng.random()
    if roll < 0.5:
        rest = s.array("rest_lengths", FLOAT, recipe={"low": 0.05, "high": 0.5})
        return s.let("rest", f"{rest}[i]", FLOAT)
    if roll < 0.8:
        return s.small(0.05, 0.5)
    return s.w.param(FLOAT, name="rest_length", recipe={"low": 0.05, "high": 0.5})


def _scatter(s: _Sim, array: str, a: str, b: str, value: str) -> None:
    """Add ``value`` at ``a`` and subtract it at ``b`` with atomics (several equivalent spellings)."""
    form = s.rng.choice(("add_sub", "add_neg", "augmented"))
    if form == "add_sub":
        s.w.emit(f"wp.atomic_add({array}, {a}, {value})")
        s.w.emit(f"wp.atomic_sub({array}, {b}, {value})")
    elif form == "add_neg":
        s.w.emit(f"wp.atomic_add({array}, {a}, {value})")
        s.w.emit(f"wp.atomic_add({array}, {b}, -{value})")
    else:
        s.w.emit(f"{array}[{a}] += {value}")
        s.w.emit(f"{array}[{b}] -= {value}")


def _pass_springs(s: _Sim) -> None:
    """Per spring: Hookean force with damping along the spring, scattered to both endpoints."""
    w, rng = s.w, s.rng
    x = s.array("x", VEC3)
    a, b = _endpoints(s)
    d = s.let("d", f"{x}[{b}] - {x}[{a}]", VEC3)
    length = s.let("length", f"wp.length({d})", FLOAT)
    if rng.random() < 0.5:
        n = s.let("dir", f"{d} / wp.max({length}, 1.0e-6)", VEC3)
    else:
        n = s.let("dir", f"wp.normalize({d})", VEC3)
    rest = _rest_length(s)
    stretch = s.let("stretch", f"{length} - {rest}", FLOAT)
    variant = rng.choice(("linear", "linear", "tension", "strain_limited", "log"))
    if variant == "tension":
        s.set(stretch, f"wp.max({stretch}, 0.0)")
    elif variant == "strain_limited":
        limit = s.small(0.05, 0.3)
        s.set(stretch, f"wp.clamp({stretch}, -{limit}, {limit})")
    elif variant == "log":
        s.set(stretch, f"wp.log(wp.max({length}, 1.0e-3) / wp.max({rest}, 1.0e-3))")
    ke = s.coeff("ke")
    magnitude = f"{ke} * {stretch}"
    if rng.random() < 0.6:
        v = s.array("v", VEC3)
        vrel = s.let("vrel", f"{v}[{b}] - {v}[{a}]", VEC3)
        rate = s.let("rate", f"wp.dot({vrel}, {n})", FLOAT)
        magnitude += f" + {s.coeff('kd')} * {rate}"
    if w.level >= 3 and rng.random() < 0.4:
        magnitude += f" + {s.expr(FLOAT, 2)} * {s.small(0.01, 0.1)}"
    fs = s.let("fs", f"{n} * ({magnitude})", VEC3)
    forces = s.array("f", VEC3, output=True)
    _scatter(s, forces, a, b, fs)
    if rng.random() < 0.3 + 0.05 * w.level:
        _energy(s, f"0.5 * {ke} * {stretch} * {stretch}")
    if rng.random() < 0.3:
        tension = w.output_array(FLOAT, name="tension")
        w.emit(f"{tension}[i] = {result_expr(w, FLOAT)}")


def _pass_constraints(s: _Sim) -> None:
    """Per distance constraint: (X)PBD projection, corrections accumulated with atomics."""
    w, rng = s.w, s.rng
    x = s.array("x", VEC3)
    a, b = _endpoints(s)
    inv = s.array("inv_mass", FLOAT, recipe={"low": 0.5, "high": 2.0})
    wa = s.let("wa", f"{inv}[{a}]", FLOAT)
    wb = s.let("wb", f"{inv}[{b}]", FLOAT)
    wsum = s.let("w_sum", f"{wa} + {wb}", FLOAT)
    with w.block(f"if {wsum} <= 0.0"):
        w.emit("return")
    d = s.let("d", f"{x}[{a}] - {x}[{b}]", VEC3)
    length = s.let("length", f"wp.length({d})", FLOAT)
    n = s.let("n", f"{d} / wp.max({length}, 1.0e-6)", VEC3)
    rest = _rest_length(s)
    c = s.let("C", f"{length} - {rest}", FLOAT)
    if rng.random() < 0.5:
        dt = s.coeff("dt")
        alpha = s.let("alpha", f"{s.coeff('compliance', 0.7)} / ({dt} * {dt})", FLOAT)
        lam = s.let("dlambda", f"-{c} / ({wsum} + {alpha})", FLOAT)
    else:
        lam = s.let("dlambda", f"-{c} / {wsum} * {s.coeff('stiffness')}", FLOAT)
    corr = s.let("corr", f"{n} * {lam}", VEC3)
    if w.level >= 3 and rng.random() < 0.5:
        max_corr = s.small(0.01, 0.2)
        s.set(corr, f"{corr} * wp.min(1.0, {max_corr} / (wp.length({corr}) + 1.0e-6))")
    delta = s.array("delta", VEC3, output=True)
    if rng.random() < 0.5:
        w.emit(f"wp.atomic_add({delta}, {a}, {corr} * {wa})")
        w.emit(f"wp.atomic_sub({delta}, {b}, {corr} * {wb})")
    elif rng.random() < 0.5:
        w.emit(f"{delta}[{a}] += {corr} * {wa}")
        w.emit(f"{delta}[{b}] -= {corr} * {wb}")
    else:
        _scatter(s, delta, a, b, corr)
    if rng.random() < 0.6:
        counts = s.array("counts", INT, output=True)
        w.emit(f"wp.atomic_add({counts}, {a}, 1)")
        w.emit(f"wp.atomic_add({counts}, {b}, 1)")
    if rng.random() < 0.4:
        lambdas = w.output_array(FLOAT, name="lambdas")
        w.emit(f"{lambdas}[i] = {lam}")


def _pass_apply(s: _Sim) -> None:
    """Per particle: apply averaged corrections, derive velocities from positions, damp, collide."""
    w, rng = s.w, s.rng
    x = s.array("x", VEC3)
    delta = s.array("delta", VEC3)
    prev = s.array("x_prev", VEC3)
    pos = s.let("pos", f"{x}[i]", VEC3)
    if rng.random() < 0.6:
        counts = s.array("counts", INT, recipe={"low": 0, "high": 6})
        cnt = s.let("cnt", f"{counts}[i]", INT)
        with w.block(f"if {cnt} > 0"):
            s.set(pos, f"{pos} + {delta}[i] * ({s.coeff('relaxation')} / float({cnt}))")
    else:
        s.set(pos, f"{pos} + {delta}[i] * {s.coeff('relaxation')}")
    dt = s.coeff("dt")
    vel = s.let("vel", f"({pos} - {prev}[i]) / {dt}", VEC3)
    if rng.random() < 0.6:
        s.set(vel, f"{vel} * wp.max(1.0 - {s.coeff('damping')} * {dt}, 0.0)")
    if rng.random() < 0.7:
        _collide(s, pos, vel)
    if rng.random() < 0.3:
        _stats(s, vel, pos)
    v = s.array("v", VEC3, output=True)
    w.emit(f"{x}[i] = {pos}")
    w.emit(f"{v}[i] = {vel}")


def _pass_contacts(s: _Sim) -> None:
    """Per particle: penalty contacts with every other particle (brute force or a hash grid)."""
    w, rng = s.w, s.rng
    x = s.array("x", VEC3)
    v = s.array("v", VEC3)
    pos = s.let("pos", f"{x}[i]", VEC3)
    vel = s.let("vel", f"{v}[i]", VEC3)
    r = s.coeff("radius")
    f = s.let("force", "wp.vec3(0.0)", VEC3)
    s.protected.append(f)
    ke = s.coeff("ke")
    kd = s.coeff("kd")
    mu = s.coeff("friction") if rng.random() < 0.5 else None
    if rng.random() < 0.5:
        grid = w.param(UINT64, name="grid", recipe={"kind": "hash_grid"})
        j = s.let("j", "int(0)", INT)
        query = s.name("query")
        w.emit(f"{query} = wp.hash_grid_query({grid}, {pos}, {r} * 2.0)")
        header = f"while wp.hash_grid_query_next({query}, {j})"
    else:
        j = s.name("j")
        header = f"for {j} in range({x}.shape[0])"
    with w.block(header):
        w.define(j, INT)
        with w.block(f"if {j} == i"):
            w.emit("continue")
        d = s.let("d", f"{pos} - {x}[{j}]", VEC3)
        dist = s.let("dist", f"wp.length({d})", FLOAT)
        overlap = s.let("overlap", f"2.0 * {r} - {dist}", FLOAT)
        with w.block(f"if {overlap} > 0.0"):
            n = s.let("n", f"{d} / wp.max({dist}, 1.0e-6)", VEC3)
            vrel = s.let("vrel", f"{vel} - {v}[{j}]", VEC3)
            vn = s.let("vn", f"wp.dot({vrel}, {n})", FLOAT)
            fn = s.let("fn", f"{ke} * {overlap} - {kd} * wp.min({vn}, 0.0)", FLOAT)
            s.set(f, f"{f} + {n} * {fn}")
            if mu is not None:
                vt = s.let("vt", f"{vrel} - {n} * {vn}", VEC3)
                s.set(f, f"{f} - wp.normalize({vt}) * wp.min({mu} * {fn}, wp.length({vt}) * {kd})")
    s.protected.remove(f)
    if w.level >= 4 and rng.random() < 0.5:  # fused: integrate with the contact forces right away
        inv_m = _inverse_mass(s)
        _integrate(s, pos, vel, f, inv_m)
        if rng.random() < 0.6:
            _collide(s, pos, vel)
        x_out = w.output_array(VEC3, name="x_new")
        v_out = w.output_array(VEC3, name="v_new")
        w.emit(f"{x_out}[i] = {pos}")
        w.emit(f"{v_out}[i] = {vel}")
        return
    forces = s.array("f", VEC3, output=True)
    if rng.random() < 0.5:
        w.emit(f"wp.atomic_add({forces}, i, {f})")
    else:
        w.emit(f"{forces}[i] = {f} + {s.expr(VEC3, 1)} * {s.small(0.01, 0.1)}")


_PASSES = {
    "integrate": (_pass_integrate, 4),
    "springs": (_pass_springs, 3),
    "constraints": (_pass_constraints, 2),
    "apply": (_pass_apply, 2),
    "contacts": (_pass_contacts, 2),
}


@register_category("particles", groups={"arith", "vector", "cond"})
def particles(w: KernelWriter) -> None:
    """Particle simulation passes: forces, semi-implicit Euler, springs with atomics, PBD constraints, contacts."""
    s = _Sim(w)
    names = list(_PASSES)
    kind = w.rng.choices(names, [_PASSES[n][1] for n in names])[0]
    _PASSES[kind][0](s)
