"""The ``random`` category: Warp's per-thread RNG, sampling routines and procedural noise.

A kernel seeds a stream with ``wp.rand_init`` from an ``int`` seed parameter, then strings together a few
rng-chosen *motifs* that are how Warp code really uses random numbers (Monte Carlo estimates, jittered
and stratified sampling, random walks, particle emission, rejection sampling, discrete sampling from a
CDF, random rotations, dropout masks, fBm / periodic / curl noise fields). Each motif leaves typed results
in scope; the kernel ends by storing them. Random draws are also productions of the kernel's expression
table: their operand is the stream (a type of its own, so only the state variable fills it), so generated
expressions draw from the stream too. Kernels that sample are not gradient-checked (validation skips
``rand_init``), so loops with ``break`` and discrete draws are fine here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..category import register_category
from ..expressions import Production
from ..types import BOOL, FLOAT, INT, QUAT, UINT32, VEC2, VEC3, VEC4, WarpType
from ..writer import KernelWriter
from .common import Vocabulary, load_input, output

#: A ``wp.rand_init`` stream and a noise seed: ``uint32`` in Warp, types of their own here so that only the
#: state variables fill the operands of draws and noise lookups.
RNG = WarpType("rng_state", "wp.uint32")
NOISE = WarpType("noise_seed", "wp.uint32")

_BALL_SAMPLERS = ("sample_unit_sphere", "sample_unit_hemisphere", "sample_unit_cube")
_SURFACE_SAMPLERS = ("sample_unit_sphere_surface", "sample_unit_hemisphere_surface")
_PLANE_SAMPLERS = ("sample_unit_disk", "sample_unit_square", "sample_unit_ring")
_TWO_PI = "6.2831855"

VOCABULARY = Vocabulary(
    inputs={
        "float": (
            ("heights", "height"),
            ("temperatures", "temp"),
            ("densities", "density"),
            ("intensities", "intensity"),
            ("values", "value"),
        ),
        "vec3": (
            ("positions", "pos"),
            ("velocities", "vel"),
            ("normals", "normal"),
            ("directions", "heading"),
            ("targets", "target"),
        ),
        "vec2": (("uvs", "uv"), ("coords", "coord"), ("pixels", "pixel")),
    },
    outputs={
        "float": ("estimate", "noise_out", "samples_out", "result"),
        "vec3": ("out_pos", "sampled", "out_dir"),
        "int": ("out_cells", "picked"),
        "uint32": ("out_counts", "out_codes"),
        "vec2": ("out_uv",),
    },
    locals={"float": ("sample", "draw", "jitter"), "vec3": ("offset", "point"), "vec2": ("uv_sample",)},
)


@dataclass
class _Ctx:
    """What a random kernel has set up so far (its stream, noise seed, loaded inputs and motif results)."""

    w: KernelWriter
    seed: str
    state: str
    noise: str | None
    inputs: dict[str, list[str]]  # type name -> loaded input values
    results: list[tuple[str, WarpType]] = field(default_factory=list)

    def value(self, t: WarpType) -> str | None:
        """A loaded input of type ``t`` (one nothing has read yet first), else ``None``."""
        names = self.inputs.get(t.name, [])
        if not names:
            return None
        pending = [n for n in names if n in self.w.pending(t)]
        return self.w.choose(pending or names)

    def vector(self, t: WarpType, depth: int = 2) -> str:
        """A loaded input of type ``t``, else an expression of that type over what is in scope."""
        return self.value(t) or self.w.expr(t, depth)

    def result(self, base: str | tuple[str, ...], value: str, t: WarpType) -> str:
        name = self.w.let(base, value, t)
        self.results.append((name, t))
        return name

    @contextmanager
    def loop(self, trips: int, bases: tuple[str, ...] = ("s", "n", "step")) -> Iterator[str]:
        """``for <var> in range(trips):`` with the loop variable readable inside."""
        var = self.w.name(*bases)
        with self.w.block(f"for {var} in range({trips})"):
            self.w.define(var, INT)
            yield var


# ----------------------------------------------------------------------------- motifs
def _monte_carlo(c: _Ctx) -> None:
    """Average an integrand (or a hit test) over a few samples of a unit domain."""
    w, rng = c.w, c.w.rng
    samples = rng.choice((4, 8, 8, 16, 16, 32))
    acc = w.let(("estimate_sum", "hits", "integral"), "float(0.0)", FLOAT)
    with c.loop(samples, ("s", "sample_idx")), w.protect(acc):
        if rng.random() < 0.5:
            p = w.let(("p", "sample_2d"), f"wp.{w.choose((*_PLANE_SAMPLERS, 'sample_triangle'))}({c.state})", VEC2)
            forms = [
                f"wp.where(wp.length({p}) < {w.small(0.3, 1.0)}, 1.0, 0.0)",
                f"wp.exp(-{w.small(0.5, 4.0)} * wp.dot({p}, {p}))",
                f"wp.sin({p}[0] * {w.small(1.0, 6.0)}) * wp.cos({p}[1] * {w.small(1.0, 6.0)})",
                f"{p}[{rng.randrange(2)}] * {w.expr(FLOAT, 2, exclude=[p])}",
            ]
            if c.inputs.get("vec2"):
                forms.append(f"wp.exp(-wp.length_sq({p} - {c.value(VEC2)}))")
        else:
            sampler = w.choose((*_BALL_SAMPLERS, *_SURFACE_SAMPLERS))
            p = w.let(("p", "dir_sample"), f"wp.{sampler}({c.state})", VEC3)
            axis = c.value(VEC3)
            forms = [f"{p}[{rng.randrange(3)}] * {w.expr(FLOAT, 2, exclude=[p])}"]
            if sampler in _BALL_SAMPLERS:  # a hit test inside the unit domain (surface samples all have length 1)
                forms.append(f"wp.where(wp.length_sq({p}) < {w.small(0.1, 1.0)}, 1.0, 0.0)")
            if axis:
                forms += [f"wp.max(wp.dot({p}, wp.normalize({axis})), 0.0)", f"wp.exp(-wp.length_sq({p} - {axis}))"]
        integrand = w.choose(forms)
        if w.can_nest and rng.random() < 0.3:
            with w.block(f"if {w.choose(('wp.length', 'wp.length_sq'))}({p}) > {w.small(0.05, 0.3)}"):
                w.emit(f"{acc} += {integrand}")
        else:
            w.emit(f"{acc} += {integrand}")
    scale = 1.0 / samples * rng.choice((1.0, 1.0, round(rng.uniform(0.5, 4.0), 2)))
    c.result(("estimate", "mean_value", "coverage"), f"{acc} * {round(scale, 6)!r}", FLOAT)


def _jitter(c: _Ctx) -> None:
    """Perturb an input value: uniform or Gaussian jitter, ball jitter, stratified sub-pixel offsets."""
    w, rng = c.w, c.w.rng
    kind = w.choose(("float", "float", "vec3", "vec2"))
    if kind == "float":
        base = c.vector(FLOAT)
        r = w.coeff("jitter_amp", 0.05, 0.5, param_bias=0.4)
        value = w.choose(
            (
                f"{base} + wp.randf({c.state}, -{r}, {r})",
                f"{base} + {r} * wp.randn({c.state})",
                f"{base} * (1.0 + {r} * (wp.randf({c.state}) - 0.5))",
            )
        )
        c.result(("jittered", "perturbed"), value, FLOAT)
    elif kind == "vec3":
        base = c.vector(VEC3)
        amp = w.coeff("jitter_radius", 0.01, 0.3, param_bias=0.4)
        if rng.random() < 0.3:
            gauss = ", ".join([f"wp.randn({c.state})"] * 3)
            value = f"{base} + wp.vec3({gauss}) * {amp}"
        else:
            value = f"{base} + wp.{w.choose((*_BALL_SAMPLERS, *_SURFACE_SAMPLERS))}({c.state}) * {amp}"
        c.result(("jittered_pos", "perturbed_pos"), value, VEC3)
    elif c.inputs.get("vec2") and rng.random() < 0.6:
        uv = c.value(VEC2)
        sampler, half = w.choose((("sample_unit_square", 1.0), ("sample_unit_disk", 0.5)))
        texel = round(w.rng.uniform(0.01, 0.1) * half, 3)
        jittered = w.let(("jittered_uv", "sub_pixel"), f"{uv} + wp.{sampler}({c.state}) * {texel}", VEC2)
        c.inputs["vec2"].append(jittered)
        c.result(("uv_radius", "uv_dist"), f"wp.length({jittered})", FLOAT)
    else:
        res = w.choose((4, 8, 16))
        cell = w.let(("cell", "pixel_cell"), f"wp.vec2(float(i % {res}), float(i // {res} % {res}))", VEC2)
        offset = w.choose(
            (
                f"wp.vec2(wp.randf({c.state}), wp.randf({c.state}))",
                f"wp.sample_unit_square({c.state}) + wp.vec2(0.5, 0.5)",
            )
        )
        uv = w.let(("stratified_uv", "uv_stratified"), f"({cell} + {offset}) * {1.0 / res}", VEC2)
        c.inputs.setdefault("vec2", []).append(uv)
        c.result(("dist_to_center", "radial"), f"wp.length({uv} - wp.vec2(0.5, 0.5))", FLOAT)


def _random_walk(c: _Ctx) -> None:
    """A bounded random walk: on a sphere of steps, Gaussian steps, or +-1 coin flips on a lattice."""
    w, rng = c.w, c.w.rng
    steps = rng.randint(4, 8 + 2 * w.level)
    kind = w.choose(("vec3", "vec3", "float", "lattice"))
    if kind == "vec3":
        pos = w.let(("walker", "walk_pos"), c.vector(VEC3, 1), VEC3)
        h = w.coeff("step_size", 0.02, 0.2)
        with c.loop(steps), w.protect(pos):
            if rng.random() < 0.5:
                step = f"wp.{w.choose(_SURFACE_SAMPLERS + _BALL_SAMPLERS)}({c.state}) * {h}"
            else:
                step = f"wp.vec3({', '.join([f'wp.randn({c.state})'] * 3)}) * {h}"
            if rng.random() < 0.4 and w.can_compute(VEC3, 1):
                step = f"{step} + wp.normalize({w.expr(VEC3, 1)}) * {w.small(0.01, 0.05)}"
            w.emit(f"{pos} = {pos} + {step}")
            if w.can_nest and rng.random() < 0.6:
                radius = w.small(0.5, 2.0)
                with w.block(f"if wp.length({pos}) > {radius}"):
                    w.emit(f"{pos} = wp.normalize({pos}) * {radius}")
        c.results.append((pos, VEC3))
    elif kind == "float":
        x = w.let(("walk", "level_walk"), c.vector(FLOAT, 1), FLOAT)
        with c.loop(steps), w.protect(x):
            if rng.random() < 0.5:
                flip = f"wp.where(wp.randf({c.state}) < {w.small(0.3, 0.7)}, -1.0, 1.0)"
                w.emit(f"{x} += {flip} * {w.coeff('step_size', 0.05, 0.3)}")
            else:
                noise = f"{w.coeff('volatility', 0.05, 0.3)} * wp.randn({c.state})"
                w.emit(f"{x} = {x} * {w.small(0.5, 0.95)} + {noise}")
            if w.can_nest and rng.random() < 0.4:
                w.emit(f"{x} = wp.clamp({x}, -2.0, 2.0)")
        c.results.append((x, FLOAT))
    else:
        cell = w.let(("cell", "site"), f"int({c.vector(FLOAT, 1)} * 4.0)", INT)
        with c.loop(steps):
            w.emit(f"{cell} += wp.randi({c.state}, -1, 2)")
            if w.can_nest and rng.random() < 0.5:
                with w.block(f"if wp.abs({cell}) > {rng.randint(2, 6)}"):
                    w.emit(f"{cell} = {cell} - wp.sign({cell})")
        c.results.append((cell, INT))
        c.result(("drift", "displacement"), f"float({cell}) / {float(steps)}", FLOAT)


def _emission(c: _Ctx) -> None:
    """Spawn particles: random direction, speed and lifetime, Poisson counts, a spawn probability."""
    w, rng = c.w, c.w.rng
    dirn = w.let(("emit_dir", "spawn_dir"), f"wp.{w.choose(_SURFACE_SAMPLERS)}({c.state})", VEC3)
    normal = c.value(VEC3)
    if normal and rng.random() < 0.5:
        with w.block(f"if wp.dot({dirn}, {normal}) < 0.0"):
            w.emit(f"{dirn} = -{dirn}")
    speed = w.let(("speed", "launch_speed"), f"wp.randf({c.state}, {w.small(0.1, 0.5)}, {w.small(1.0, 3.0)})", FLOAT)
    vel = c.result(("spawn_vel", "emit_vel"), f"{dirn} * {speed}", VEC3)
    if rng.random() < 0.5:
        rate = w.coeff("emit_rate", 0.5, 6.0)
        c.result(("spawn_count", "births"), f"wp.poisson({c.state}, {rate})", UINT32)
    if rng.random() < 0.5:
        c.result(("lifetime", "life"), f"wp.randf({c.state}, {w.small(0.2, 1.0)}, {w.small(1.5, 4.0)})", FLOAT)
    if w.can_nest and rng.random() < 0.5 and w.can_compute(VEC3, 2):
        with w.block(f"if wp.randf({c.state}) < {w.small(0.2, 0.9)}"):
            w.emit(f"{vel} = {vel} + {w.expr(VEC3, 2, exclude=[vel])} * {w.small(0.05, 0.3)}")


def _noise_source(c: _Ctx) -> str:
    """A ``vec3`` point to sample a noise field at, from an input position, a uv, or the thread's grid cell."""
    w = c.w
    src = c.value(VEC3)
    uv = c.value(VEC2) if src is None or w.rng.random() < 0.3 else None
    if uv is not None:
        src = f"wp.vec3({uv}[0], {uv}[1], {c.value(FLOAT) or w.small(0.0, 1.0)})"
    elif src is None:
        first = c.value(FLOAT) or f"float(i % 8) * {w.small(0.1, 0.5)}"
        src = f"wp.vec3({first}, float(i // 8) * {w.small(0.1, 0.5)}, {w.small(0.0, 1.0)})"
    return w.let(("p", "sample_pos", "domain_pos"), f"{src} * {w.small(0.5, 4.0)}", VEC3)


def _fbm(c: _Ctx, ns: str, p: str) -> None:
    """Fractal Brownian motion: octaves of noise at rising frequency and falling amplitude."""
    w = c.w
    octaves = w.rng.randint(2, 3 + w.level)
    total = w.let(("fbm", "turbulence"), "float(0.0)", FLOAT)
    amp = w.let(("amplitude", "amp"), "float(0.5)", FLOAT)
    freq = w.let(("frequency", "freq"), "float(1.0)", FLOAT)
    sample = w.choose(
        (
            f"wp.noise({ns}, {p} * {freq})",
            f"wp.abs(wp.noise({ns}, {p} * {freq}))",
            f"(1.0 - wp.abs(wp.noise({ns}, {p} * {freq})))",
            f"wp.noise({ns}, wp.vec2({p}[0], {p}[1]) * {freq})",
        )
    )
    with c.loop(octaves, ("octave", "o")):
        w.emit(f"{total} += {amp} * {sample}")
        w.emit(f"{freq} *= {w.small(1.5, 2.5)}")
        w.emit(f"{amp} *= {w.small(0.3, 0.7)}")
    c.results.append((total, FLOAT))


def _noise_field(c: _Ctx) -> None:
    """Sample a Perlin noise field: fBm octaves, turbulence, periodic noise, curl-noise advection."""
    w, rng = c.w, c.w.rng
    ns = c.noise
    assert ns is not None
    kind = w.choose(("fbm", "fbm", "periodic", "curl", "curl", "time"))
    p = _noise_source(c)
    if kind == "fbm":
        _fbm(c, ns, p)
    elif kind == "periodic":
        per = [w.choose((2, 4, 8, 16)) for _ in range(3)]
        value = w.choose(
            (
                f"wp.pnoise({ns}, wp.abs({p}[0]), {per[0]})",
                f"wp.pnoise({ns}, wp.abs(wp.vec2({p}[0], {p}[1])), {per[0]}, {per[1]})",
                f"wp.pnoise({ns}, wp.abs({p}), {per[0]}, {per[1]}, {per[2]})",
            )
        )
        c.result(("tiled_noise", "periodic"), f"{value} * {w.small(0.5, 2.0)}", FLOAT)
    elif kind == "curl":
        dt = w.coeff("dt", 0.01, 0.2)
        roll = rng.random()
        if roll < 0.3:
            flow = w.let(("flow", "curl_2d"), f"wp.curlnoise({ns}, wp.vec2({p}[0], {p}[1]))", VEC2)
            c.result(("flow_speed", "swirl"), f"wp.length({flow}) * {dt}", FLOAT)
        elif roll < 0.65:
            octaves = rng.randint(1, 4)
            curl = f"wp.curlnoise({ns}, {p}, wp.uint32({octaves}), {w.small(1.5, 2.5)}, {w.small(0.3, 0.7)})"
            vel = w.let(("flow_vel", "curl_vel"), curl, VEC3)
            c.result(("advected", "moved"), f"{p} + {vel} * {dt}", VEC3)
        else:
            with c.loop(rng.randint(2, 4 + w.level)):
                w.emit(f"{p} = {p} + wp.curlnoise({ns}, {p}) * {dt}")
            c.results.append((p, VEC3))
    else:
        time = w.coeff("time", 0.0, 3.0, param_bias=0.7)
        q = w.let(("space_time", "pos_time"), f"wp.vec4({p}[0], {p}[1], {p}[2], {time})", VEC4)
        roll = rng.random()
        if roll < 0.5:
            c.result(("animated", "noise_t"), f"wp.noise({ns}, {q})", FLOAT)
        elif roll < 0.75:
            periods = ", ".join(str(w.choose((2, 4, 8))) for _ in range(4))
            c.result(("looping", "periodic_t"), f"wp.pnoise({ns}, wp.abs({q}), {periods})", FLOAT)
        else:
            c.result(("flow_t", "curl_t"), f"wp.curlnoise({ns}, {q}, wp.uint32(2))", VEC3)


def _discrete(c: _Ctx) -> None:
    """Discrete choices: sample a CDF, pick a random element, draw bounded integers."""
    w, rng = c.w, c.w.rng
    kind = w.choose(("cdf", "cdf", "gather", "uint"))
    if kind == "cdf" and not w.taken("cdf"):
        cdf = w.input_array(FLOAT, "cdf", recipe={"kind": "cdf"})
        b = c.result(("bin", "choice"), f"wp.sample_cdf({c.state}, {cdf})", INT)
        if rng.random() < 0.6:
            c.result(("pdf", "bin_prob"), f"{cdf}[{b}] - wp.where({b} > 0, {cdf}[wp.max({b} - 1, 0)], 0.0)", FLOAT)
        if rng.random() < 0.5 and not w.taken("hist"):
            w.atomic("wp.atomic_add", w.output_array(INT, "hist"), b, "1")
    elif kind in ("cdf", "gather"):
        arrays = [
            a.name for a in w.args if a.is_array and a.ndim == 1 and a.type in (FLOAT, VEC3) and a.role == "input"
        ]
        src = w.choose(arrays) if arrays else w.input_array(FLOAT, ("table", "lookup"))
        t = w.arg(src).type
        idx = w.let(("pick", "random_index"), f"wp.randi({c.state}, 0, {src}.shape[0])", INT)
        c.result(("picked_value", "neighbor_value") if t is FLOAT else ("picked_pos", "other_pos"), f"{src}[{idx}]", t)
    else:
        bins = w.choose((4, 8, 16, 64))
        draw = w.choose(
            (
                f"wp.randu({c.state}, wp.uint32(0), wp.uint32({bins}))",
                f"wp.randu({c.state}) % wp.uint32({bins})",
                f"wp.randu({c.state}) & wp.uint32({bins - 1})",
            )
        )
        u = c.result(("code", "bucket"), draw, UINT32)
        c.result(("bucket_frac", "code_frac"), f"float({u}) / {float(bins)}", FLOAT)
        if rng.random() < 0.5:
            c.result(("die", "roll"), f"wp.randi({c.state}) % {rng.randint(3, 17)}", INT)
        elif rng.random() < 0.6:  # a sort key: the value's bucket in the high bits, a random tie-break below
            level = f"int(wp.clamp({c.vector(FLOAT, 1)}, -1.0, 1.0) * 64.0 + 64.0)"
            c.result(("sort_key", "tie_key"), f"({level} << 8) | wp.randi({c.state}, 0, 256)", INT)


def _gaussian(c: _Ctx) -> None:
    """Normal variates: ``wp.randn`` scaled and shifted, or a hand-written Box-Muller transform."""
    w, rng = c.w, c.w.rng
    mu = c.vector(FLOAT, 1)
    sigma = w.coeff("sigma", 0.05, 1.0)
    if rng.random() < 0.5:
        z = w.let(("z", "normal_draw"), f"wp.randn({c.state})", FLOAT)
    else:
        u1 = w.let(("u_radial", "uniform_a"), f"wp.randf({c.state}, 1.0e-6, 1.0)", FLOAT)
        u2 = w.let(("u_angle", "uniform_b"), f"wp.randf({c.state})", FLOAT)
        r = w.let(("box_radius", "rho"), f"wp.sqrt(-2.0 * wp.log({u1}))", FLOAT)
        z = w.let(("z", "normal_draw"), f"{r} * wp.{w.choose(('cos', 'sin'))}({_TWO_PI} * {u2})", FLOAT)
    c.result(("gaussian", "noisy"), f"{mu} + {sigma} * {z}", FLOAT)


def _rotation(c: _Ctx) -> None:
    """Random rigid rotations: a random axis and angle, or random roll/pitch/yaw."""
    w, rng = c.w, c.w.rng
    if rng.random() < 0.5:
        axis = w.let(("axis", "spin_axis"), f"wp.sample_unit_sphere_surface({c.state})", VEC3)
        angle = w.let(("angle", "spin_angle"), f"wp.randf({c.state}, 0.0, {_TWO_PI})", FLOAT)
        q = f"wp.quat_from_axis_angle({axis}, {angle})"
    else:
        spread = w.small(0.1, 3.1)
        q = f"wp.quat_rpy({', '.join([f'wp.randf({c.state}, -{spread}, {spread})'] * 3)})"
    quat = w.let(("random_rot", "orientation"), q, QUAT)
    op = w.choose(("wp.quat_rotate", "wp.quat_rotate", "wp.quat_rotate_inv"))
    c.result(("rotated", "tumbled"), f"{op}({quat}, {c.vector(VEC3)})", VEC3)


def _dropout(c: _Ctx) -> None:
    """A random mask: keep a value with probability 1 - p and rescale it (inverted dropout)."""
    w, rng = c.w, c.w.rng
    p = round(rng.uniform(0.1, 0.6), 2)
    keep_scale = repr(round(1.0 / (1.0 - p), 4))
    base = c.vector(FLOAT)
    if rng.random() < 0.5:
        keep = w.let(("keep", "is_kept"), f"wp.randf({c.state}) >= {p}", BOOL)
        c.result(("dropped", "masked"), f"wp.where({keep}, {base} * {keep_scale}, 0.0)", FLOAT)
        return
    out = w.let(("dropped", "masked"), "float(0.0)", FLOAT)
    with w.block(f"if wp.randf({c.state}) >= {p}"):
        w.set(out, f"{base} * {keep_scale}")
    if rng.random() < 0.5 and w.can_compute(FLOAT, 1):
        with w.block("else"):
            w.set(out, f"{w.expr(FLOAT, 1, exclude=[out])} * {w.small(0.01, 0.1)}")
    c.results.append((out, FLOAT))


def _rejection(c: _Ctx) -> None:
    """Rejection sampling with a bounded number of tries (``break`` on acceptance)."""
    w, rng = c.w, c.w.rng
    if rng.random() < 0.6:
        v = w.let(("accepted", "inside_pt"), c.vector(VEC3, 1), VEC3)
        with c.loop(rng.randint(4, 12), ("attempt", "tries")):
            cand = w.let(("candidate", "trial"), f"wp.sample_unit_cube({c.state}) * 2.0", VEC3)
            test = w.choose(
                (
                    f"wp.length_sq({cand}) <= 1.0",
                    f"wp.length({cand}) <= {w.small(0.5, 1.0)} and {cand}[2] >= 0.0",
                    f"wp.abs({cand}[0]) + wp.abs({cand}[1]) + wp.abs({cand}[2]) <= 1.0",
                )
            )
            with w.block(f"if {test}"):
                w.set(v, cand)
                w.emit("break")
        c.results.append((v, VEC3))
    else:
        x = w.let(("accepted", "kept_sample"), c.vector(FLOAT, 1), FLOAT)
        with c.loop(rng.randint(4, 12), ("attempt", "tries")):
            cand = w.let(("candidate", "trial"), f"wp.randf({c.state}, -1.0, 1.0)", FLOAT)
            with w.block(f"if wp.randf({c.state}) < wp.exp(-{w.small(1.0, 4.0)} * {cand} * {cand})"):
                w.set(x, cand)
                w.emit("break")
        c.results.append((x, FLOAT))


def _triangle(c: _Ctx) -> None:
    """Uniform points on a triangle from barycentric samples; area weights."""
    w, rng = c.w, c.w.rng
    verts = [a.name for a in w.args if a.is_array and a.ndim == 1 and a.type is VEC3 and a.role == "input"]
    if verts and rng.random() < 0.6:
        src = w.choose(verts)
        a, b, v = (
            w.let((f"vert_{tag}", "corner"), f"{src}[(i * 3 + {n}) % {src}.shape[0]]", VEC3)
            for n, tag in enumerate("abc")
        )
    else:
        a, b, v = (w.param(VEC3, name) for name in ("va", "vb", "vc"))
    bary = w.let(("bary", "barycentric"), f"wp.sample_triangle({c.state})", VEC2)
    pt = f"{bary}[0] * {a} + {bary}[1] * {b} + (1.0 - {bary}[0] - {bary}[1]) * {v}"
    c.result(("surface_pt", "tri_point"), pt, VEC3)
    if rng.random() < 0.5:
        c.result(("tri_area", "area"), f"0.5 * wp.length(wp.cross({b} - {a}, {v} - {a}))", FLOAT)


def _lens(c: _Ctx) -> None:
    """Disk and ring samples: thin-lens camera rays, orbit positions."""
    w, rng = c.w, c.w.rng
    if rng.random() < 0.5:
        d = w.let(("lens_uv", "aperture"), f"wp.sample_unit_disk({c.state}) * {w.coeff('aperture', 0.01, 0.2)}", VEC2)
        origin = w.let(("ray_origin", "lens_pt"), f"wp.vec3({d}[0], {d}[1], 0.0)", VEC3)
        target = c.value(VEC3) or f"wp.vec3({w.expr(FLOAT, 1)}, {w.expr(FLOAT, 1)}, {w.small(1.0, 3.0)})"
        c.result(("ray_dir", "view_dir"), f"wp.normalize({target} - {origin})", VEC3)
    else:
        ring = w.let(("ring", "orbit_uv"), f"wp.sample_unit_ring({c.state})", VEC2)
        radius = w.let(
            ("orbit_r", "ring_radius"), f"wp.randf({c.state}, {w.small(0.5, 1.0)}, {w.small(1.2, 2.0)})", FLOAT
        )
        c.result(("orbit_pos", "satellite"), f"wp.vec3({ring}[0], {ring}[1], {c.vector(FLOAT, 1)}) * {radius}", VEC3)


_SAMPLE_SHELL = """@wp.func
def NAME(seed: int, index: int, radius: float):
    state = wp.rand_init(seed, index)
    d = wp.{sampler}(state)
    return d * (radius * wp.pow(wp.randf(state), 0.3333))"""
_SAMPLE_SCALAR = """@wp.func
def NAME(seed: int, index: int, radius: float):
    state = wp.rand_init(seed, index)
    u = wp.randf(state)
    return radius * wp.{shape}(u) + wp.randn(state) * 0.1"""


def _sampler_helper(c: _Ctx) -> None:
    """A ``@wp.func`` that opens its own stream from (seed, index) and returns a sample; call it in a loop."""
    w, rng = c.w, c.w.rng
    if rng.random() < 0.5:
        fn = w.helper("sample_ball", _SAMPLE_SHELL.replace("{sampler}", w.choose(_SURFACE_SAMPLERS)))
        result, zero = VEC3, "wp.vec3(0.0, 0.0, 0.0)"
    else:
        fn = w.helper("sample_radius", _SAMPLE_SCALAR.replace("{shape}", w.choose(("sqrt", "sin", "exp"))))
        result, zero = FLOAT, "float(0.0)"
    count = w.choose((2, 4, 8))
    acc = w.let(("sample_sum", "draws"), zero, result)
    radius = w.coeff("radius", 0.2, 1.5)
    with c.loop(count, ("k", "draw_idx")) as var:
        w.emit(f"{acc} += {fn}({c.seed}, i * {count} + {var}, {radius})")
    c.result(("mean_sample", "avg_sample"), f"{acc} * {1.0 / count}", result)


_MOTIFS = {
    _monte_carlo: 3.0,
    _jitter: 2.0,
    _random_walk: 2.0,
    _emission: 1.5,
    _noise_field: 3.0,
    _discrete: 1.5,
    _gaussian: 1.0,
    _rotation: 1.0,
    _dropout: 1.0,
    _rejection: 1.0,
    _triangle: 1.0,
    _lens: 1.0,
    _sampler_helper: 1.0,
}


def _random_productions(w: KernelWriter, noise: bool) -> None:
    """Random draws and noise lookups as expression productions (operand 0 is the stream or the noise seed)."""
    r = w.small(0.05, 0.5)
    w.add_productions(
        Production(FLOAT, "({1} * wp.randf({0}))", (RNG, FLOAT), "random", 1.0, ("scaled_draw", "random_share")),
        Production(FLOAT, f"({{1}} + {r} * wp.randn({{0}}))", (RNG, FLOAT), "random", 1.0, ("noisy", "perturbed")),
        Production(FLOAT, "wp.randf({0}, -1.0, 1.0 + wp.abs({1}))", (RNG, FLOAT), "random", 0.5, ("draw",)),
        Production(VEC3, f"({{1}} + wp.{w.choose(_BALL_SAMPLERS)}({{0}}) * {r})", (RNG, VEC3), "random", 1.0),
        Production(VEC3, "wp.cw_mul({1}, wp.sample_unit_cube({0}) + wp.vec3(0.5, 0.5, 0.5))", (RNG, VEC3), "random"),
        Production(VEC3, f"(wp.{w.choose(_SURFACE_SAMPLERS)}({{0}}) * {{1}})", (RNG, FLOAT), "random", 0.5),
        Production(VEC2, f"({{1}} + wp.{w.choose(_PLANE_SAMPLERS)}({{0}}) * {r})", (RNG, VEC2), "random", 0.5),
        Production(BOOL, "(wp.randf({0}) < {1})", (RNG, FLOAT), "random", 0.7, ("accept", "coin")),
        Production(FLOAT, "{0}[{k}]", (VEC2,), "random", 0.5, ("u", "component")),
        Production(FLOAT, "wp.length({0})", (VEC2,), "random", 0.3, ("uv_len", "uv_dist")),
    )
    if noise:
        w.add_productions(
            Production(FLOAT, "wp.noise({0}, {1})", (NOISE, FLOAT), "random", 1.0, ("noise_1d", "wobble")),
            Production(FLOAT, "wp.noise({0}, {1})", (NOISE, VEC3), "random", 1.0, ("density", "noise_val")),
            Production(FLOAT, "wp.noise({0}, {1})", (NOISE, VEC2), "random", 0.5, ("noise_2d", "grain")),
            Production(FLOAT, f"wp.pnoise({{0}}, wp.abs({{1}}), {w.choose((2, 4, 8))})", (NOISE, FLOAT), "random", 0.5),
            Production(VEC3, "wp.curlnoise({0}, {1})", (NOISE, VEC3), "random", 0.7, ("curl", "flow")),
        )


def _store(w: KernelWriter, c: _Ctx) -> None:
    """Write every motif result (grouped by type, with whatever nothing has read yet) to output arrays."""
    grouped: dict[str, tuple[WarpType, list[str]]] = {}
    for name, t in c.results:
        names = grouped.setdefault(t.name, (t, []))[1]
        if name not in names:
            names.append(name)
    for t, names in sorted(grouped.values(), key=lambda g: g[0] is not FLOAT):  # floats last: they fold the rest
        out = output(w, VOCABULARY, t)
        w.store(out, "i", w.result(t, 2, base=" + ".join(names)) if t is FLOAT else " + ".join(names))
    if FLOAT.name not in grouped and w.pending():
        w.store(output(w, VOCABULARY, FLOAT), "i", w.result(FLOAT, 2))


@register_category("random", groups={"arith", "trig", "vector", "cond"})
def random_numbers(w: KernelWriter) -> None:
    """Random numbers: rand_init, randf/randi/randu/randn/poisson, sample_unit_*, sample_cdf, noise/pnoise/curlnoise."""
    rng = w.rng
    VOCABULARY.apply(w)
    seed = w.param(INT, ("seed", "rng_seed"))
    inputs: dict[str, list[str]] = {}
    for _ in range(rng.randint(1, w.limits.inputs)):
        t = w.choose((FLOAT, FLOAT, VEC3, VEC3, VEC2))
        inputs.setdefault(t.name, []).append(load_input(w, VOCABULARY, t))
    count = {1: 1, 2: rng.randint(1, 2), 3: 2, 4: rng.randint(2, 3), 5: 3}[w.level]
    motifs = w.pick(_MOTIFS, count)
    offset = w.choose(("i", "i", f"i + {w.choose((64, 128, 1024))}", f"i * {rng.randint(2, 8)} + {rng.randint(1, 7)}"))
    if rng.random() < 0.8:
        state = w.let(("state", "rng"), f"wp.rand_init({seed}, {offset})", RNG)
    else:
        mixed = w.choose((f"{seed} * {w.choose((1000, 4096, 7919))} + i", f"{seed} ^ (i * {w.choose((7919, 65537))})"))
        state = w.let(("state", "rng"), f"wp.rand_init({mixed})", RNG)
    noise = None
    if _noise_field in motifs or rng.random() < 0.2:
        noise = w.let(("noise_seed", "field_seed"), f"wp.rand_init({seed}{w.choose(('', '', ' + 1', ' * 17'))})", NOISE)
    _random_productions(w, noise is not None)
    w.add_helpers((FLOAT,))

    c = _Ctx(w, seed, state, noise, inputs)
    for _ in range(rng.randint(0, w.limits.statements // 3)):
        t = w.choose((FLOAT, FLOAT, VEC3))
        if w.can_compute(t):
            c.inputs.setdefault(t.name, []).append(w.assign(t))
    for motif in motifs:
        motif(c)
    for _ in range(rng.randint(0, w.limits.statements // 3)):
        t = w.choose((FLOAT, VEC3))
        if w.can_compute(t):
            c.results.append((w.assign(t), t))
    _store(w, c)
