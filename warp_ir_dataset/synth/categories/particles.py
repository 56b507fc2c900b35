"""Particle kernels: the per-particle, per-spring and per-constraint passes of a particle simulator.

A kernel is one pass of a particle solver, picked by the kernel's rng: force assembly and semi-implicit
Euler integration with damping and collisions (ground plane, sphere, box), spring forces scattered with
atomics, position-based distance-constraint projection, applying accumulated corrections, or pairwise
contacts. Within a pass the force terms, the integrator's details, the colliders, the coefficients
(literals or parameters with safe ranges) and the array naming vary, and typed random expressions add
extra force terms and coefficients.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..category import register_category
from ..types import FLOAT, INT, TRANSFORM, UINT32, UINT64, VEC3, WarpType
from ..writer import KernelWriter
from ._spatial_queries import ITEMS, add, contact_force, mul, neighbor_loop, sub
from .common import Vocabulary

VOCABULARY = Vocabulary(
    locals={
        "float": ("coeff", "scale", "weight"),
        "vec3": ("accel", "impulse", "drift"),
    },
)

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

#: coefficient ranges (validation draws by-value floats from these)
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


@dataclass
class _Sim:
    """Per-kernel domain state: the array naming scheme, declared arrays, what rules out gradient checks."""

    names: dict[str, str]
    arrays: dict[str, str] = field(default_factory=dict)
    rand_state: str | None = None
    # the kernel is outside gradient checks (in-place update, random sampling, atomic min/max): float32
    # reductions into one scalar (whose rounding swamps a finite difference) are fine there
    nondiff: bool = False


def _coeff(w: KernelWriter, key: str, param_bias: float = 0.5) -> str:
    """A coefficient in its safe range; the time step is always a parameter."""
    low, high = _RANGES[key]
    return w.coeff(key, low, high, param_bias=1.0 if key == "dt" else param_bias)


def _array(w: KernelWriter, s: _Sim, key: str, t: WarpType, recipe: dict | None = None, output: bool = False) -> str:
    """The array for ``key`` in this kernel's naming scheme, declared on first use."""
    if key not in s.arrays:
        name = s.names.get(key, key)
        declare = w.output_array if output else w.input_array
        s.arrays[key] = declare(t, name, recipe=recipe)
    return s.arrays[key]


def _state(w: KernelWriter, s: _Sim) -> str:
    s.nondiff = True
    if s.rand_state is None:
        s.rand_state = w.let(("rng", "state"), f"wp.rand_init({w.rng.randint(1, 99999)}, i)", UINT32)
    return s.rand_state


# ------------------------------------------------------------------ per-particle building blocks
def _inverse_mass(w: KernelWriter, s: _Sim, index: str = "i") -> str:
    if w.rng.random() < 0.5:
        masses = _array(w, s, "mass", FLOAT, recipe={"low": 0.5, "high": 2.0})
        if w.rng.random() < 0.5:
            return w.let(("inv_m", "inv_mass_i"), f"1.0 / {masses}[{index}]", FLOAT)
        value = f"wp.where({masses}[{index}] > 0.0, 1.0 / {masses}[{index}], 0.0)"
        return w.let(("inv_m", "inv_mass_i"), value, FLOAT)
    inv = _array(w, s, "inv_mass", FLOAT, recipe={"low": 0.5, "high": 2.0})
    return w.let(("inv_m", "inv_mass_i"), f"{inv}[{index}]", FLOAT)


def _gravity(w: KernelWriter) -> str:
    if w.has_arg("gravity"):
        return "gravity"
    if w.rng.random() < 0.3:
        return w.param(VEC3, "gravity")
    return w.choose(("wp.vec3(0.0, -9.81, 0.0)", "wp.vec3(0.0, -9.8, 0.0)", "wp.vec3(0.0, 0.0, -9.81)"))


def _force_terms(w: KernelWriter, s: _Sim, pos: str, vel: str, f: str) -> None:
    """Add 1-4 force terms to ``f``: drag, wind, anchor spring, noise, neighbour springs, generated."""
    rng = w.rng
    options = ("drag", "quadratic_drag", "aniso_drag", "wind", "vortex", "turbulence", "anchor", "noise")
    options += ("neighbors", "generated")
    for term in w.pick(options, rng.randint(max(1, w.level // 2), 1 + (w.level + 1) // 2)):
        if term == "drag":
            w.set(f, f"{f} - {vel} * {_coeff(w, 'drag')}")
        elif term == "quadratic_drag":
            w.set(f, f"{f} - {vel} * (wp.length({vel}) * {_coeff(w, 'drag')})")
        elif term == "wind":
            wind = w.vec(-1.0, 1.0) if rng.random() < 0.5 else w.param(VEC3, ("wind", "wind_vel"))
            if rng.random() < 0.5:
                gust = f"wp.{w.choose(('sin', 'cos'))}({w.small(1.0, 6.0)} * {pos}[{rng.randint(0, 2)}])"
                w.set(f, f"{f} + {wind} * {gust}")
            else:
                w.set(f, f"{f} + {wind}")
        elif term == "aniso_drag":
            w.set(f, f"{f} - wp.cw_mul({vel}, {w.vec(0.0, 0.5)})")
        elif term == "vortex":
            axis = w.unit_vec(-0.3, 0.3) if rng.random() < 0.3 else w.choose(("wp.vec3(0.0, 1.0, 0.0)", w.unit_vec()))
            w.set(f, f"{f} + wp.cross({axis}, {pos}) * {w.small(0.5, 3.0)}")
        elif term == "turbulence":
            s.nondiff = True
            noise_field = w.let(("field", "noise_seed"), f"wp.rand_init({rng.randint(1, 9999)})", UINT32)
            if rng.random() < 0.6:
                curl = f"wp.curlnoise({noise_field}, {pos} * {w.small(1.0, 4.0)})"
                w.set(f, f"{f} + {curl} * {w.small(0.1, 2.0)}")
            else:
                gust = f"wp.noise({noise_field}, {pos} * {w.small(1.0, 4.0)})"
                w.set(f, f"{f} + {w.vec(-1.0, 1.0)} * {gust}")
        elif term == "anchor":
            rest = _array(w, s, "rest_pos", VEC3)
            w.set(f, f"{f} + ({rest}[i] - {pos}) * {_coeff(w, 'ke')}")
        elif term == "noise":
            state = _state(w, s)
            sigma = w.small(0.01, 0.5)
            form = w.choose(("randn", "sphere", "shell"))
            if form == "randn":
                w.set(f, f"{f} + wp.vec3(wp.randn({state}), wp.randn({state}), wp.randn({state})) * {sigma}")
            elif form == "sphere":
                w.set(f, f"{f} + wp.sample_unit_sphere({state}) * {sigma}")
            else:  # a random direction with a random strength
                kick = f"wp.sample_unit_sphere_surface({state}) * wp.randf({state}, 0.0, {sigma})"
                w.set(f, f"{f} + {kick}")
        elif term == "neighbors":
            _neighbor_springs(w, s, pos, vel, f)
        else:
            w.set(f, f"{f} + {w.expr(VEC3, exclude=[f])} * {w.small(0.05, 0.5)}")


def _field_helper(w: KernelWriter, pos: str, vel: str) -> str:
    """A call to a generated ``@wp.func`` force field of position and velocity, saturated to unit magnitude
    (``e / (1 + |e|)``)."""
    fn = w.function(("field", "force_field", "wind_field"))
    fn.param(VEC3, ("p",))
    fn.param(VEC3, ("v",))
    for _ in range(w.rng.randint(0, 1 + w.level // 3)):
        fn.assign(w.choose((FLOAT, VEC3)), 2)
    e = fn.let(("e", "raw"), fn.result(VEC3, max(2, w.limits.depth - 1)), VEC3)
    fn.ret(f"{e} / (1.0 + wp.length({e}))", VEC3)
    # called once, here: a plain helper, not an operation other expressions may call with arbitrary arguments
    source = fn.source().replace(fn.function_name, "NAME")
    name = w.helper(fn.function_name.removeprefix(f"{w.function_name}_"), source)
    by_param = {"p": pos, "v": vel}
    return f"{name}({', '.join(by_param[a.name] for a in fn.args)})"


def _neighbor_springs(w: KernelWriter, s: _Sim, pos: str, vel: str, f: str) -> None:
    """Springs to a fixed number of neighbours listed per particle in an index array."""
    rng = w.rng
    k = rng.randint(2, 4)
    x = _array(w, s, "x", VEC3)
    nbrs = _array(w, s, "neighbors", INT, recipe={"kind": "index", "high": ITEMS, "shape": [ITEMS * k]})
    rest = w.small(0.05, 0.5)
    ke = _coeff(w, "ke")
    slot = w.name("slot", "k")
    with w.block(f"for {slot} in range({k})"):
        w.define(slot, INT)
        j = w.let(("nbr", "j"), f"{nbrs}[i * {k} + {slot}]", INT)
        d = w.let(("delta", "d"), f"{x}[{j}] - {pos}", VEC3)
        length = w.let(("dist", "length"), f"wp.length({d})", FLOAT)
        if rng.random() < 0.5:
            with w.block(f"if {j} == i"):
                w.emit("continue")
        w.set(f, f"{f} + {d} * ({ke} * ({length} - {rest}) / wp.max({length}, 1.0e-6))")
        if rng.random() < 0.4 and "v" in s.arrays:
            w.set(f, f"{f} + ({s.arrays['v']}[{j}] - {vel}) * {_coeff(w, 'kd')}")


def _integrate(w: KernelWriter, pos: str, vel: str, f: str, inv_m: str) -> None:
    """Semi-implicit Euler with a damping variant and an optional speed limit."""
    rng = w.rng
    dt = _coeff(w, "dt")
    gravity = _gravity(w) if rng.random() < 0.8 else None
    accel = f"{f} * {inv_m}" + (f" + {gravity}" if gravity else "")
    w.set(vel, f"{vel} + ({accel}) * {dt}")
    damping = w.choose(("none", "linear", "exp", "clamp"))
    if damping == "linear":
        w.set(vel, f"{vel} * wp.max(1.0 - {_coeff(w, 'damping')} * {dt}, 0.0)")
    elif damping == "exp":
        w.set(vel, f"{vel} * wp.exp(-{_coeff(w, 'damping')} * {dt})")
    elif damping == "clamp":
        w.set(vel, f"{vel} * {w.small(0.9, 0.999)}")
    if rng.random() < 0.3 + 0.1 * w.level:
        speed = w.let(("speed", "vel_len"), f"wp.length({vel})", FLOAT)
        limit = _coeff(w, "max_speed")
        with w.block(f"if {speed} > {limit}"):
            w.set(vel, f"{vel} * ({limit} / {speed})")
    w.set(pos, f"{pos} + {vel} * {dt}")


def _sphere_center(w: KernelWriter) -> str:
    """A spherical obstacle's centre: a constant, a parameter, or a rigid body's (possibly offset) position."""
    rng = w.rng
    roll = rng.random()
    if roll < 0.5:
        return w.vec(-0.3, 0.3)
    if roll < 0.75:
        return w.param(VEC3, ("sphere_center", "obstacle"))
    body = w.param(TRANSFORM, ("body", "body_q"))
    if rng.random() < 0.5:
        return w.let(("body_pos", "obstacle_pos"), f"wp.transform_get_translation({body})", VEC3)
    # a sphere attached to the body off its origin
    return w.let(("body_pos", "obstacle_pos"), f"wp.transform_point({body}, {w.vec(-0.2, 0.2)})", VEC3)


def _collide(w: KernelWriter, pos: str, vel: str) -> None:
    """1-3 colliders: ground plane, tilted plane, sphere, box clamp."""
    rng = w.rng
    kinds = w.pick(("ground", "plane", "sphere", "box"), rng.randint(max(1, w.level // 3), 1 + w.level // 2))
    for kind in kinds:
        e = _coeff(w, "restitution")
        if kind in ("ground", "plane"):
            keep = sub("1.0", _coeff(w, "friction"))  # tangential speed kept after friction
        if kind == "ground":
            h = _coeff(w, "ground", 0.3)
            axis = w.choose((1, 1, 2))
            with w.block(f"if {pos}[{axis}] < {h}"):
                comps = [f"{pos}[{k}]" if k != axis else h for k in range(3)]
                w.set(pos, f"wp.vec3({', '.join(comps)})")
                vcomps = [mul(f"{vel}[{k}]", keep) if k != axis else f"-{vel}[{k}] * {e}" for k in range(3)]
                w.set(vel, f"wp.vec3({', '.join(vcomps)})")
        elif kind == "plane":
            n = w.let(("plane_n", "plane_normal"), w.unit_vec(-0.3, 0.3) if rng.random() < 0.5 else w.unit_vec(), VEC3)
            depth = w.let(("penetration", "plane_depth"), f"wp.dot({pos}, {n}) + {w.small(0.3, 1.0)}", FLOAT)
            with w.block(f"if {depth} < 0.0"):
                w.set(pos, f"{pos} - {n} * {depth}")
                vn = w.let(("vn", "normal_speed"), f"wp.dot({vel}, {n})", FLOAT)
                vt = w.let(("vt", "tangent_vel"), f"{vel} - {n} * {vn}", VEC3)
                w.set(vel, f"{mul(vt, keep)} - {n} * ({vn} * {e})")
        elif kind == "sphere":
            center = _sphere_center(w)
            r = w.small(0.2, 0.6)
            d = w.let(("to_center", "from_center"), f"{pos} - {center}", VEC3)
            dist = w.let(("center_dist", "dist"), f"wp.length({d})", FLOAT)
            with w.block(f"if {dist} < {r}"):
                n = w.let(("n", "normal", "contact_n"), f"{d} / wp.max({dist}, 1.0e-6)", VEC3)
                w.set(pos, f"{center} + {n} * {r}")
                vn = w.let(("vn", "normal_speed"), f"wp.dot({vel}, {n})", FLOAT)
                with w.block(f"if {vn} < 0.0"):
                    w.set(vel, f"{vel} - {n} * ({mul(add('1.0', e), vn)})")
        elif rng.random() < 0.5:
            lo = w.vec(-1.5, -0.8)
            hi = w.vec(0.8, 1.5)
            clamped = w.let(("clamped", "inside_box"), f"wp.min(wp.max({pos}, {lo}), {hi})", VEC3)
            with w.block(f"if wp.length_sq({clamped} - {pos}) > 0.0"):
                w.set(vel, f"{vel} * (-{e})")
                w.set(pos, clamped)
        else:  # a posed box container: clamp in its frame
            pose = w.param(TRANSFORM, ("box_pose", "container"))
            to_box = w.let(("to_box", "box_inv"), f"wp.transform_inverse({pose})", TRANSFORM)
            local = w.let(("local", "box_local"), f"wp.transform_point({to_box}, {pos})", VEC3)
            clamped = w.let(
                ("clamped", "inside_box"), f"wp.min(wp.max({local}, {w.vec(-1.5, -0.8)}), {w.vec(0.8, 1.5)})", VEC3
            )
            with w.block(f"if wp.length_sq({clamped} - {local}) > 0.0"):
                local_vel = w.let(("local_vel", "box_vel"), f"wp.transform_vector({to_box}, {vel})", VEC3)
                w.set(vel, f"wp.transform_vector({pose}, {local_vel} * (-{e}))")
                w.set(pos, f"wp.transform_point({pose}, {clamped})")


def _stats(w: KernelWriter, s: _Sim, vel: str, pos: str) -> None:
    """Block-wide diagnostics with atomic min/max: peak speed, lowest height."""
    s.nondiff = True
    stats = _array(w, s, "stats", FLOAT, recipe={"shape": [2]}, output=True)
    w.atomic("wp.atomic_max", stats, "0", f"wp.length({vel})")
    if w.rng.random() < 0.5:
        w.atomic("wp.atomic_min", stats, "1", f"{pos}[1]")


def _energy(w: KernelWriter, s: _Sim, value: str) -> None:
    """Kinetic / elastic energy: summed into one scalar, or per element while gradients are checked."""
    if not s.nondiff:
        w.store(w.output_array(FLOAT, ("energy", "energies")), "i", value)
        return
    energy = _array(w, s, "energy", FLOAT, recipe={"shape": [1]}, output=True)
    if w.rng.random() < 0.5:
        w.atomic("wp.atomic_add", energy, "0", value)
    else:
        w.store(energy, "0", value, op="+=")


# ------------------------------------------------------------------ passes
def _pass_integrate(w: KernelWriter, s: _Sim) -> None:
    """Per particle: gather forces, integrate, collide, write back."""
    rng = w.rng
    x = _array(w, s, "x", VEC3)
    v = _array(w, s, "v", VEC3)
    in_place = rng.random() < 0.5
    s.nondiff |= in_place
    if rng.random() < 0.3:
        flags = _array(w, s, "flags", INT, recipe={"low": 0, "high": 3})
        with w.block(f"if {flags}[i] == 0"):
            w.emit("return")
    pos = w.let(("pos", "p"), f"{x}[i]", VEC3)
    vel = w.let(("vel", "u"), f"{v}[i]", VEC3)
    inv_m = _inverse_mass(w, s)
    if rng.random() < 0.5:
        f = w.let(("force", "f_total"), f"{_array(w, s, 'f', VEC3)}[i]", VEC3)
    else:
        f = w.let(("force", "f_total"), "wp.vec3(0.0)", VEC3)
    if w.level >= 3 and rng.random() < 0.5:
        w.set(f, f"{f} + {_field_helper(w, pos, vel)} * {w.small(0.1, 2.0)}")
    _force_terms(w, s, pos, vel, f)
    _integrate(w, pos, vel, f, inv_m)
    if rng.random() < 0.85:
        _collide(w, pos, vel)
    if rng.random() < 0.3:
        _energy(w, s, f"0.5 * wp.dot({vel}, {vel}) / {inv_m}")
    if rng.random() < 0.2:
        _stats(w, s, vel, pos)
    if in_place:
        w.store(x, "i", pos)
        w.store(v, "i", vel)
    else:
        w.store(w.output_array(VEC3, ("x_new", "x_out", "q_out")), "i", pos)
        w.store(w.output_array(VEC3, ("v_new", "v_out", "qd_out")), "i", vel)
    if rng.random() < 0.3:
        extra = f"wp.length({vel}) + {w.result(FLOAT, 1)} * {w.small(0.01, 0.1)}"
        w.store(w.output_array(FLOAT, ("speed_out", "speeds")), "i", extra)


def _endpoints(w: KernelWriter, s: _Sim) -> tuple[str, str]:
    """Spring / constraint endpoints: one flat index array or two index arrays."""
    if w.rng.random() < 0.5:
        idx = _array(w, s, "springs", INT, recipe={"kind": "index", "high": ITEMS, "shape": [2 * ITEMS]})
        a = w.let("a", f"{idx}[i * 2]", INT)
        b = w.let("b", f"{idx}[i * 2 + 1]", INT)
    else:
        ia = _array(w, s, "spring_a", INT, recipe={"kind": "index", "high": ITEMS})
        ib = _array(w, s, "spring_b", INT, recipe={"kind": "index", "high": ITEMS})
        a = w.let("a", f"{ia}[i]", INT)
        b = w.let("b", f"{ib}[i]", INT)
    if w.rng.random() < 0.4:
        with w.block(f"if {a} == {b}"):
            w.emit("return")
    return a, b


def _rest_length(w: KernelWriter, s: _Sim) -> str:
    roll = w.rng.random()
    if roll < 0.5:
        rest = _array(w, s, "rest_lengths", FLOAT, recipe={"low": 0.05, "high": 0.5})
        return w.let(("rest", "rest_len"), f"{rest}[i]", FLOAT)
    if roll < 0.8:
        return w.small(0.05, 0.5)
    return w.param(FLOAT, ("rest_length", "rest_len"), recipe={"low": 0.05, "high": 0.5})


def _scatter(w: KernelWriter, array: str, a: str, b: str, value: str) -> None:
    """Add ``value`` at ``a`` and subtract it at ``b`` (several equivalent spellings)."""
    form = w.choose(("add_sub", "add_neg", "augmented"))
    if form == "add_sub":
        w.atomic("wp.atomic_add", array, a, value)
        w.atomic("wp.atomic_sub", array, b, value)
    elif form == "add_neg":
        w.atomic("wp.atomic_add", array, a, value)
        w.atomic("wp.atomic_add", array, b, f"-{value}")
    else:
        w.store(array, a, value, op="+=")
        w.store(array, b, value, op="-=")


def _pass_springs(w: KernelWriter, s: _Sim) -> None:
    """Per spring: Hookean force with damping along the spring, scattered to both endpoints."""
    rng = w.rng
    x = _array(w, s, "x", VEC3)
    a, b = _endpoints(w, s)
    d = w.let(("d", "delta"), f"{x}[{b}] - {x}[{a}]", VEC3)
    length = w.let(("length", "dist"), f"wp.length({d})", FLOAT)
    if rng.random() < 0.5:
        n = w.let(("dir", "axis"), f"{d} / wp.max({length}, 1.0e-6)", VEC3)
    else:
        n = w.let(("dir", "axis"), f"wp.normalize({d})", VEC3)
    rest = _rest_length(w, s)
    variant = w.choose({"linear": 2, "tension": 1, "strain_limited": 1, "log": 1})
    if variant == "log":
        floor = rest if rest[0].isdigit() else f"wp.max({rest}, 1.0e-3)"  # literal rest lengths are >= 0.05
        stretch = w.let(("stretch", "strain"), f"wp.log(wp.max({length}, 1.0e-3) / {floor})", FLOAT)
    else:
        stretch = w.let(("stretch", "strain"), f"{length} - {rest}", FLOAT)
    if variant == "tension":
        w.set(stretch, f"wp.max({stretch}, 0.0)")
    elif variant == "strain_limited":
        limit = w.small(0.05, 0.3)
        w.set(stretch, f"wp.clamp({stretch}, -{limit}, {limit})")
    ke = _coeff(w, "ke")
    magnitude = f"{ke} * {stretch}"
    if rng.random() < 0.6:
        v = _array(w, s, "v", VEC3)
        vrel = w.let(("vrel", "rel_vel"), f"{v}[{b}] - {v}[{a}]", VEC3)
        rate = w.let(("rate", "stretch_rate"), f"wp.dot({vrel}, {n})", FLOAT)
        magnitude += f" + {_coeff(w, 'kd')} * {rate}"
    if w.level >= 3 and rng.random() < 0.4:
        magnitude += f" + {w.expr(FLOAT, 2)} * {w.small(0.01, 0.1)}"
    fs = w.let(("fs", "spring_f"), f"{n} * ({magnitude})", VEC3)
    forces = _array(w, s, "f", VEC3, output=True)
    _scatter(w, forces, a, b, fs)
    if rng.random() < 0.3 + 0.05 * w.level:
        _energy(w, s, f"{mul('0.5', ke)} * {stretch} * {stretch}")
    if rng.random() < 0.3:
        w.store(w.output_array(FLOAT, ("tension", "spring_tension")), "i", w.result(FLOAT))


def _pass_constraints(w: KernelWriter, s: _Sim) -> None:
    """Per distance constraint: (X)PBD projection, corrections accumulated with atomics."""
    rng = w.rng
    x = _array(w, s, "x", VEC3)
    a, b = _endpoints(w, s)
    inv = _array(w, s, "inv_mass", FLOAT, recipe={"low": 0.5, "high": 2.0})
    wa = w.let(("wa", "w_a"), f"{inv}[{a}]", FLOAT)
    wb = w.let(("wb", "w_b"), f"{inv}[{b}]", FLOAT)
    wsum = w.let(("w_sum", "w_total"), f"{wa} + {wb}", FLOAT)
    with w.block(f"if {wsum} <= 0.0"):
        w.emit("return")
    d = w.let(("d", "delta"), f"{x}[{a}] - {x}[{b}]", VEC3)
    length = w.let(("length", "dist"), f"wp.length({d})", FLOAT)
    n = w.let(("n", "dir"), f"{d} / wp.max({length}, 1.0e-6)", VEC3)
    rest = _rest_length(w, s)
    c = w.let(("C", "violation"), f"{length} - {rest}", FLOAT)
    if rng.random() < 0.5:
        dt = _coeff(w, "dt")
        alpha = w.let(("alpha", "alpha_tilde"), f"{_coeff(w, 'compliance', 0.7)} / ({dt} * {dt})", FLOAT)
        lam = w.let(("dlambda", "delta_lambda"), f"-{c} / ({wsum} + {alpha})", FLOAT)
    else:
        lam = w.let(("dlambda", "delta_lambda"), f"-{c} / {wsum} * {_coeff(w, 'stiffness')}", FLOAT)
    corr = w.let(("corr", "correction"), f"{n} * {lam}", VEC3)
    if w.level >= 3 and rng.random() < 0.5:
        max_corr = w.small(0.01, 0.2)
        w.set(corr, f"{corr} * wp.min(1.0, {max_corr} / (wp.length({corr}) + 1.0e-6))")
    delta = _array(w, s, "delta", VEC3, output=True)
    roll = rng.random()
    if roll < 0.5:
        w.atomic("wp.atomic_add", delta, a, f"{corr} * {wa}")
        w.atomic("wp.atomic_sub", delta, b, f"{corr} * {wb}")
    elif roll < 0.75:
        w.store(delta, a, f"{corr} * {wa}", op="+=")
        w.store(delta, b, f"{corr} * {wb}", op="-=")
    else:
        _scatter(w, delta, a, b, corr)
    if rng.random() < 0.6:
        counts = _array(w, s, "counts", INT, output=True)
        w.atomic("wp.atomic_add", counts, a, "1")
        w.atomic("wp.atomic_add", counts, b, "1")
    if rng.random() < 0.4:
        w.store(w.output_array(FLOAT, ("lambdas", "multipliers")), "i", lam)


def _pass_apply(w: KernelWriter, s: _Sim) -> None:
    """Per particle: apply averaged corrections, derive velocities from positions, damp, collide."""
    rng = w.rng
    x = _array(w, s, "x", VEC3)
    delta = _array(w, s, "delta", VEC3)
    prev = _array(w, s, "x_prev", VEC3)
    s.nondiff = True  # positions are updated in place
    pos = w.let(("pos", "p"), f"{x}[i]", VEC3)
    if rng.random() < 0.6:
        counts = _array(w, s, "counts", INT, recipe={"low": 0, "high": 6})
        cnt = w.let(("cnt", "num_corrections"), f"{counts}[i]", INT)
        with w.block(f"if {cnt} > 0"):
            w.set(pos, f"{pos} + {delta}[i] * ({_coeff(w, 'relaxation')} / float({cnt}))")
    else:
        w.set(pos, f"{pos} + {delta}[i] * {_coeff(w, 'relaxation')}")
    dt = _coeff(w, "dt")
    vel = w.let(("vel", "u"), f"({pos} - {prev}[i]) / {dt}", VEC3)
    if rng.random() < 0.6:
        w.set(vel, f"{vel} * wp.max(1.0 - {_coeff(w, 'damping')} * {dt}, 0.0)")
    if rng.random() < 0.7:
        _collide(w, pos, vel)
    if rng.random() < 0.3:
        _stats(w, s, vel, pos)
    v = _array(w, s, "v", VEC3, output=True)
    w.store(x, "i", pos)
    w.store(v, "i", vel)


def _pass_contacts(w: KernelWriter, s: _Sim) -> None:
    """Per particle: penalty contacts with every other particle (brute force or a hash grid)."""
    rng = w.rng
    x = _array(w, s, "x", VEC3)
    v = _array(w, s, "v", VEC3)
    pos = w.let(("pos", "p"), f"{x}[i]", VEC3)
    vel = w.let(("vel", "u"), f"{v}[i]", VEC3)
    r = _coeff(w, "radius")
    contact_dist = mul(r, "2.0")
    f = w.let(("force", "f_contact"), "wp.vec3(0.0)", VEC3)
    ke = _coeff(w, "ke")
    kd = _coeff(w, "kd")
    mu = _coeff(w, "friction") if rng.random() < 0.5 else None
    grid = w.param(UINT64, "grid", recipe={"kind": "hash_grid"}) if rng.random() < 0.5 else None
    with w.protect(f), neighbor_loop(w, pos, contact_dist, x, grid=grid, skip="i") as (j, d, dist):
        overlap = w.let(("overlap", "penetration"), f"{contact_dist} - {dist}", FLOAT)
        with w.block(f"if {overlap} > 0.0"):
            vrel = w.let(("vrel", "rel_vel"), f"{vel} - {v}[{j}]", VEC3)
            contact_force(w, f, d, dist, overlap, vrel, ke, kd, mu)
    if w.level >= 4 and rng.random() < 0.5:  # fused: integrate with the contact forces right away
        inv_m = _inverse_mass(w, s)
        _integrate(w, pos, vel, f, inv_m)
        if rng.random() < 0.6:
            _collide(w, pos, vel)
        w.store(w.output_array(VEC3, ("x_new", "x_out")), "i", pos)
        w.store(w.output_array(VEC3, ("v_new", "v_out")), "i", vel)
        return
    forces = _array(w, s, "f", VEC3, output=True)
    if rng.random() < 0.5:
        w.atomic("wp.atomic_add", forces, "i", f)
    else:
        w.store(forces, "i", f"{f} + {w.expr(VEC3, 1, exclude=[f])} * {w.small(0.01, 0.1)}")


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
    VOCABULARY.apply(w)
    s = _Sim(names=dict(w.choose(_SCHEMES)))
    kind = w.choose({name: spec[1] for name, spec in _PASSES.items()})
    _PASSES[kind][0](w, s)
