"""The ``random`` category: Warp's per-thread RNG, sampling routines and procedural noise.

A kernel seeds a stream with ``wp.rand_init`` from an ``int`` seed parameter, then strings together a few
rng-chosen *motifs* that are how Warp code really uses random numbers (Monte Carlo estimates, jittered
and stratified sampling, random walks, particle emission, rejection sampling, discrete sampling from a
CDF, random rotations, dropout masks, fBm / periodic / curl noise fields). Each motif leaves typed results
in scope; the kernel ends by storing them. Random draws are also added to the kernel's expression table
(after its ``@wp.func`` helpers are written, since they reference the state variable by name).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..category import register_category
from ..expressions import Production
from ..types import BOOL, FLOAT, INT, QUAT, UINT32, VEC2, VEC3, VEC4, WarpType, float_literal
from ..writer import KernelWriter

_BALL_SAMPLERS = ("sample_unit_sphere", "sample_unit_hemisphere", "sample_unit_cube")
_SURFACE_SAMPLERS = ("sample_unit_sphere_surface", "sample_unit_hemisphere_surface")
_PLANE_SAMPLERS = ("sample_unit_disk", "sample_unit_square", "sample_unit_ring")
_TWO_PI = "6.2831855"
_LOOP_VARS = ("s", "step", "o", "t", "r")


@dataclass
class _Ctx:
    """What a random kernel has set up so far."""

    w: KernelWriter
    seed: str
    state: str
    noise: str | None
    inputs: dict[str, list[str]]  # type name -> loaded input values
    results: list[tuple[str, WarpType]] = field(default_factory=list)
    loop_count: int = 0

    def value(self, t: WarpType, exclude: tuple[str, ...] = ()) -> str | None:
        """A loaded input of type ``t`` (least read first), else any local of that type, else ``None``."""
        skip = (self.state, self.noise, *exclude)
        names = self.inputs.get(t.name) or [n for n in self.w.locals_of(t) if n not in skip]
        if not names:
            return None
        uses = self.w.gen.uses
        least = min(uses.get(n, 0) for n in names)
        name = self.w.rng.choice([n for n in names if uses.get(n, 0) == least])
        uses[name] = uses.get(name, 0) + 1
        return name

    def loop_var(self) -> str:
        """A fresh loop variable name (loops never nest here, but distinct names read better)."""
        self.loop_count += 1
        return _LOOP_VARS[(self.loop_count - 1) % len(_LOOP_VARS)]

    @contextmanager
    def loop(self, trips: int) -> Iterator[str]:
        """``for <var> in range(trips):`` with the loop variable readable inside."""
        var = self.loop_var()
        with self.w.block(f"for {var} in range({trips})"):
            self.w.define(var, INT)
            yield var


def _lit(w: KernelWriter, low: float, high: float) -> str:
    return float_literal(w.rng, low, high)


def _coeff(w: KernelWriter, low: float, high: float) -> str:
    """A positive coefficient: a parameter where the kernel has one, else a literal in [low, high]."""
    params = [a.name for a in w.args if not a.is_array and a.type is FLOAT]
    if params and w.rng.random() < 0.4:
        return w.rng.choice(params)  # its recipe keeps it positive
    return _lit(w, low, high)


# ----------------------------------------------------------------------------- motifs


def _monte_carlo(c: _Ctx) -> None:
    """Average an integrand (or a hit test) over a few samples of a unit domain."""
    w, rng = c.w, c.w.rng
    samples = rng.choice((4, 8, 8, 16, 16, 32))
    acc = w.assign_value("float(0.0)", FLOAT)
    with c.loop(samples):
        if rng.random() < 0.5:
            sampler = rng.choice((*_PLANE_SAMPLERS, "sample_triangle"))
            p = w.assign_value(f"wp.{sampler}({c.state})", VEC2)
            forms = [
                f"wp.where(wp.length({p}) < {_lit(w, 0.3, 1.0)}, 1.0, 0.0)",
                f"wp.exp(-{_lit(w, 0.5, 4.0)} * wp.dot({p}, {p}))",
                f"wp.sin({p}[0] * {_lit(w, 1.0, 6.0)}) * wp.cos({p}[1] * {_lit(w, 1.0, 6.0)})",
                f"{p}[{rng.randrange(2)}] * {w.expr(FLOAT, 2, exclude=[acc])}",
            ]
            if c.inputs.get("vec2"):
                forms.append(f"wp.exp(-wp.length_sq({p} - {c.value(VEC2)}))")
        else:
            sampler = rng.choice((*_BALL_SAMPLERS, *_SURFACE_SAMPLERS))
            p = w.assign_value(f"wp.{sampler}({c.state})", VEC3)
            axis = c.value(VEC3, exclude=(p,)) or w.expr(VEC3, 1, exclude=[acc, p])
            forms = [
                f"wp.max(wp.dot({p}, wp.normalize({axis})), 0.0)",
                f"wp.where(wp.length_sq({p}) < {_lit(w, 0.1, 1.0)}, 1.0, 0.0)",
                f"wp.exp(-wp.length_sq({p} - {axis}))",
                f"{p}[{rng.randrange(3)}] * {w.expr(FLOAT, 2, exclude=[acc])}",
            ]
        integrand = rng.choice(forms)
        if rng.random() < 0.3 and w.can_nest:
            with w.block(f"if {rng.choice(('wp.length', 'wp.length_sq'))}({p}) > {_lit(w, 0.05, 0.3)}"):
                w.emit(f"{acc} += {integrand}")
        else:
            w.emit(f"{acc} += {integrand}")
    scale = rng.choice(("", f" * {_lit(w, 0.5, 4.0)}"))
    c.results.append((w.assign_value(f"{acc} / float({samples}){scale}", FLOAT), FLOAT))


def _jitter(c: _Ctx) -> None:
    """Perturb an input value: uniform or Gaussian jitter, ball jitter, stratified sub-pixel offsets."""
    w, rng = c.w, c.w.rng
    kind = rng.choice(("float", "float", "vec3", "vec2"))
    if kind == "float":
        base = c.value(FLOAT) or w.expr(FLOAT, 2)
        r = _coeff(w, 0.05, 0.5)
        value = rng.choice(
            (
                f"{base} + wp.randf({c.state}, -{r}, {r})",
                f"{base} + {r} * wp.randn({c.state})",
                f"{base} * (1.0 + {r} * (wp.randf({c.state}) - 0.5))",
            )
        )
        c.results.append((w.assign_value(value, FLOAT), FLOAT))
    elif kind == "vec3":
        base = c.value(VEC3) or w.expr(VEC3, 2)
        sampler = rng.choice((*_BALL_SAMPLERS, *_SURFACE_SAMPLERS))
        value = f"{base} + wp.{sampler}({c.state}) * {_coeff(w, 0.01, 0.3)}"
        if rng.random() < 0.3:
            value = (
                f"{base} + wp.vec3(wp.randn({c.state}), wp.randn({c.state}), wp.randn({c.state}))"
                f" * {_coeff(w, 0.01, 0.3)}"
            )
        c.results.append((w.assign_value(value, VEC3), VEC3))
    elif c.inputs.get("vec2") and rng.random() < 0.6:
        uv = c.value(VEC2)
        texel = _lit(w, 0.01, 0.1)
        sample = rng.choice((f"wp.sample_unit_square({c.state})", f"wp.sample_unit_disk({c.state}) * 0.5"))
        jittered = w.assign_value(f"{uv} + {sample} * {texel}", VEC2)
        c.inputs["vec2"].append(jittered)
        c.results.append((w.assign_value(f"wp.length({jittered})", FLOAT), FLOAT))
    else:
        res = rng.choice((4, 8, 16))
        cell = w.assign_value(f"wp.vec2(float(i % {res}), float(i // {res} % {res}))", VEC2)
        offset = rng.choice(
            (
                f"wp.vec2(wp.randf({c.state}), wp.randf({c.state}))",
                f"wp.sample_unit_square({c.state}) + wp.vec2(0.5, 0.5)",
            )
        )
        uv = w.assign_value(f"({cell} + {offset}) * {1.0 / res}", VEC2)
        c.inputs.setdefault("vec2", []).append(uv)
        c.results.append((w.assign_value(f"wp.length({uv} - wp.vec2(0.5, 0.5))", FLOAT), FLOAT))


def _random_walk(c: _Ctx) -> None:
    """A bounded random walk: on a sphere of steps, Gaussian steps, or +-1 coin flips."""
    w, rng = c.w, c.w.rng
    steps = rng.randint(4, 8 + 2 * w.level)
    kind = rng.choice(("vec3", "vec3", "float", "lattice"))
    if kind == "vec3":
        start = c.value(VEC3)
        pos = w.assign_value(f"wp.vec3({start})" if start else "wp.vec3(0.0, 0.0, 0.0)", VEC3)
        h = _coeff(w, 0.02, 0.2)
        with c.loop(steps):
            if rng.random() < 0.5:
                step = f"wp.{rng.choice(_SURFACE_SAMPLERS + _BALL_SAMPLERS)}({c.state}) * {h}"
            else:
                step = f"wp.vec3(wp.randn({c.state}), wp.randn({c.state}), wp.randn({c.state})) * {h}"
            if rng.random() < 0.4:
                drift = w.expr(VEC3, 1, exclude=[pos])
                step = f"{step} + wp.normalize({drift}) * {_lit(w, 0.01, 0.05)}"
            w.emit(f"{pos} = {pos} + {step}")
            if w.can_nest and rng.random() < 0.6:
                radius = _lit(w, 0.5, 2.0)
                with w.block(f"if wp.length({pos}) > {radius}"):
                    w.emit(f"{pos} = wp.normalize({pos}) * {radius}")
        c.results.append((pos, VEC3))
    elif kind == "float":
        start = c.value(FLOAT)
        x = w.assign_value(f"float({start})" if start else "float(0.0)", FLOAT)
        with c.loop(steps):
            if rng.random() < 0.5:
                w.emit(
                    f"{x} += wp.where(wp.randf({c.state}) < {_lit(w, 0.3, 0.7)}, -1.0, 1.0) * {_coeff(w, 0.05, 0.3)}"
                )
            else:
                w.emit(f"{x} = {x} * {_lit(w, 0.5, 0.95)} + {_coeff(w, 0.05, 0.3)} * wp.randn({c.state})")
            if w.can_nest and rng.random() < 0.4:
                w.emit(f"{x} = wp.clamp({x}, -2.0, 2.0)")
        c.results.append((x, FLOAT))
    else:
        cell = w.assign_value("int(0)", INT)
        with c.loop(steps):
            w.emit(f"{cell} += wp.randi({c.state}, -1, 2)")
            if w.can_nest and rng.random() < 0.5:
                bound = rng.randint(2, 6)
                with w.block(f"if wp.abs({cell}) > {bound}"):
                    w.emit(f"{cell} = {cell} - wp.sign({cell})")
        c.results.append((cell, INT))
        c.results.append((w.assign_value(f"float({cell}) / float({steps})", FLOAT), FLOAT))


def _emission(c: _Ctx) -> None:
    """Spawn particles: random direction, speed and lifetime, Poisson counts, a spawn probability."""
    w, rng = c.w, c.w.rng
    dirn = w.assign_value(f"wp.{rng.choice(_SURFACE_SAMPLERS)}({c.state})", VEC3)
    if rng.random() < 0.4:
        normal = c.value(VEC3) or w.expr(VEC3, 1)
        n = w.assign_value(f"wp.normalize({normal} + wp.vec3(0.0, 0.0, 1.0e-3))", VEC3)
        with w.block(f"if wp.dot({dirn}, {n}) < 0.0"):
            w.emit(f"{dirn} = -{dirn}")
    speed = w.assign_value(f"wp.randf({c.state}, {_lit(w, 0.1, 0.5)}, {_lit(w, 1.0, 3.0)})", FLOAT)
    vel = w.assign_value(f"{dirn} * {speed}", VEC3)
    c.results.append((vel, VEC3))
    if rng.random() < 0.5:
        rate = _coeff(w, 0.5, 6.0)
        count = w.assign_value(f"wp.poisson({c.state}, {rate})", UINT32)
        c.results.append((count, UINT32))
    if rng.random() < 0.5:
        life = w.assign_value(f"wp.randf({c.state}, {_lit(w, 0.2, 1.0)}, {_lit(w, 1.5, 4.0)})", FLOAT)
        c.results.append((life, FLOAT))
    if w.can_nest and rng.random() < 0.5:
        with w.block(f"if wp.randf({c.state}) < {_lit(w, 0.2, 0.9)}"):
            w.emit(f"{vel} = {vel} + {w.expr(VEC3, 2, exclude=[vel])} * {_lit(w, 0.05, 0.3)}")


def _noise_field(c: _Ctx) -> None:
    """Sample a Perlin noise field: fBm octaves, turbulence, periodic noise, curl-noise advection."""
    w, rng = c.w, c.w.rng
    ns = c.noise
    assert ns is not None
    kind = rng.choice(("fbm", "fbm", "periodic", "curl", "curl", "time"))
    src = c.value(VEC3)
    uv = c.value(VEC2) if src is None or rng.random() < 0.3 else None
    if uv is not None:
        src = f"wp.vec3({uv}[0], {uv}[1], {c.value(FLOAT) or _lit(w, 0.0, 1.0)})"
    elif src is None:
        a, b = c.value(FLOAT) or f"float(i % 8) * {_lit(w, 0.1, 0.5)}", f"float(i // 8) * {_lit(w, 0.1, 0.5)}"
        src = f"wp.vec3({a}, {b}, {_lit(w, 0.0, 1.0)})"
    p = w.assign_value(f"{src} * {_lit(w, 0.5, 4.0)}", VEC3)
    if kind == "fbm":
        octaves = rng.randint(2, 3 + w.level)
        total = w.assign_value("float(0.0)", FLOAT)
        amp = w.assign_value("float(0.5)", FLOAT)
        freq = w.assign_value("float(1.0)", FLOAT)
        gain, lac = _lit(w, 0.3, 0.7), _lit(w, 1.5, 2.5)
        sample = rng.choice(
            (
                f"wp.noise({ns}, {p} * {freq})",
                f"wp.abs(wp.noise({ns}, {p} * {freq}))",
                f"1.0 - wp.abs(wp.noise({ns}, {p} * {freq}))",
                f"wp.noise({ns}, wp.vec2({p}[0], {p}[1]) * {freq})",
            )
        )
        w.gen.uses[amp] = w.gen.uses[freq] = 1  # bookkeeping locals, not results
        with c.loop(octaves):
            w.emit(f"{total} += {amp} * {sample}")
            w.emit(f"{freq} *= {lac}")
            w.emit(f"{amp} *= {gain}")
        c.results.append((total, FLOAT))
    elif kind == "periodic":
        per = [rng.choice((2, 4, 8, 16)) for _ in range(3)]
        form = rng.randrange(3)
        if form == 0:
            value = f"wp.pnoise({ns}, wp.abs({p}[0]), {per[0]})"
        elif form == 1:
            value = f"wp.pnoise({ns}, wp.abs(wp.vec2({p}[0], {p}[1])), {per[0]}, {per[1]})"
        else:
            value = f"wp.pnoise({ns}, wp.abs({p}), {per[0]}, {per[1]}, {per[2]})"
        c.results.append((w.assign_value(f"{value} * {_lit(w, 0.5, 2.0)}", FLOAT), FLOAT))
    elif kind == "curl":
        octaves = rng.randint(1, 4)
        dt = _coeff(w, 0.01, 0.2)
        if rng.random() < 0.3:
            flow = w.assign_value(f"wp.curlnoise({ns}, wp.vec2({p}[0], {p}[1]))", VEC2)
            c.results.append((w.assign_value(f"wp.length({flow}) * {dt}", FLOAT), FLOAT))
        elif rng.random() < 0.5:
            vel = w.assign_value(
                f"wp.curlnoise({ns}, {p}, wp.uint32({octaves}), {_lit(w, 1.5, 2.5)}, {_lit(w, 0.3, 0.7)})", VEC3
            )
            c.results.append((w.assign_value(f"{p} + {vel} * {dt}", VEC3), VEC3))
        else:
            with c.loop(rng.randint(2, 4 + w.level)):
                w.emit(f"{p} = {p} + wp.curlnoise({ns}, {p}) * {dt}")
            c.results.append((p, VEC3))
    else:
        time = next((a.name for a in w.args if not a.is_array and a.type is FLOAT), None) or _lit(w, 0.0, 3.0)
        q = w.assign_value(f"wp.vec4({p}[0], {p}[1], {p}[2], {time})", VEC4)
        if rng.random() < 0.5:
            c.results.append((w.assign_value(f"wp.noise({ns}, {q})", FLOAT), FLOAT))
        elif rng.random() < 0.5:
            periods = ", ".join(str(rng.choice((2, 4, 8))) for _ in range(4))
            c.results.append((w.assign_value(f"wp.pnoise({ns}, wp.abs({q}), {periods})", FLOAT), FLOAT))
        else:
            c.results.append((w.assign_value(f"wp.curlnoise({ns}, {q}, wp.uint32(2))", VEC3), VEC3))


def _discrete(c: _Ctx) -> None:
    """Discrete choices: sample a CDF, pick a random element, draw bounded integers."""
    w, rng = c.w, c.w.rng
    kind = rng.choice(("cdf", "cdf", "gather", "uint"))
    if kind == "cdf":
        cdf = w.input_array(FLOAT, load=False, name="cdf", recipe={"kind": "cdf"})
        b = w.assign_value(f"wp.sample_cdf({c.state}, {cdf})", INT)
        if rng.random() < 0.6:
            pdf = w.assign_value(f"{cdf}[{b}] - wp.where({b} > 0, {cdf}[wp.max({b} - 1, 0)], 0.0)", FLOAT)
            c.results.append((pdf, FLOAT))
        if rng.random() < 0.5:
            hist = w.output_array(INT, name="hist")
            w.emit(f"wp.atomic_add({hist}, {b}, 1)")
        c.results.append((b, INT))
    elif kind == "gather":
        arrays = [a for a in w.args if a.is_array and a.ndim == 1 and a.type in (FLOAT, VEC3)]
        if not arrays:
            arrays = [w.arg(w.input_array(FLOAT, load=False))]
        src = rng.choice(arrays)
        idx = w.assign_value(f"wp.randi({c.state}, 0, {src.name}.shape[0])", INT)
        c.results.append((w.assign_value(f"{src.name}[{idx}]", src.type), src.type))
    else:
        bins = rng.choice((4, 8, 16, 64))
        if rng.random() < 0.5:
            u = w.assign_value(f"wp.randu({c.state}, wp.uint32(0), wp.uint32({bins}))", UINT32)
        else:
            u = w.assign_value(f"wp.randu({c.state}) % wp.uint32({bins})", UINT32)
        c.results.append((u, UINT32))
        c.results.append((w.assign_value(f"float({u}) / {float(bins)}", FLOAT), FLOAT))
        if rng.random() < 0.5:
            c.results.append((w.assign_value(f"wp.randi({c.state}) % {rng.randint(3, 17)}", INT), INT))


def _gaussian(c: _Ctx) -> None:
    """Normal variates: ``wp.randn`` scaled and shifted, or a hand-written Box-Muller transform."""
    w, rng = c.w, c.w.rng
    mu = c.value(FLOAT) or _lit(w, -1.0, 1.0)
    sigma = _coeff(w, 0.05, 1.0)
    if rng.random() < 0.5:
        z = w.assign_value(f"wp.randn({c.state})", FLOAT)
    else:
        u1 = w.assign_value(f"wp.randf({c.state}, 1.0e-6, 1.0)", FLOAT)
        u2 = w.assign_value(f"wp.randf({c.state})", FLOAT)
        r = w.assign_value(f"wp.sqrt(-2.0 * wp.log({u1}))", FLOAT)
        z = w.assign_value(f"{r} * wp.{rng.choice(('cos', 'sin'))}({_TWO_PI} * {u2})", FLOAT)
    c.results.append((w.assign_value(f"{mu} + {sigma} * {z}", FLOAT), FLOAT))


def _rotation(c: _Ctx) -> None:
    """Random rigid rotations: a random axis and angle, or random roll/pitch/yaw."""
    w, rng = c.w, c.w.rng
    if rng.random() < 0.5:
        axis = w.assign_value(f"wp.sample_unit_sphere_surface({c.state})", VEC3)
        angle = w.assign_value(f"wp.randf({c.state}, 0.0, {_TWO_PI})", FLOAT)
        q = f"wp.quat_from_axis_angle({axis}, {angle})"
    else:
        spread = _lit(w, 0.1, 3.1)
        q = ", ".join(f"wp.randf({c.state}, -{spread}, {spread})" for _ in range(3))
        q = f"wp.quat_rpy({q})"
    quat = w.assign_value(q, QUAT)
    v = c.value(VEC3) or w.expr(VEC3, 2)
    op = rng.choice(("wp.quat_rotate", "wp.quat_rotate", "wp.quat_rotate_inv"))
    c.results.append((w.assign_value(f"{op}({quat}, {v})", VEC3), VEC3))


def _dropout(c: _Ctx) -> None:
    """A random mask: keep a value with probability 1 - p and rescale it (inverted dropout)."""
    w, rng = c.w, c.w.rng
    p = _lit(w, 0.1, 0.6)
    base = c.value(FLOAT) or w.expr(FLOAT, 2)
    if rng.random() < 0.5:
        keep = w.assign_value(f"wp.randf({c.state}) >= {p}", BOOL)
        c.results.append((w.assign_value(f"wp.where({keep}, {base} / (1.0 - {p}), 0.0)", FLOAT), FLOAT))
    else:
        out = w.assign_value("float(0.0)", FLOAT)
        with w.block(f"if wp.randf({c.state}) >= {p}"):
            w.emit(f"{out} = {base} / (1.0 - {p})")
        if rng.random() < 0.5:
            with w.block("else"):
                w.emit(f"{out} = {w.expr(FLOAT, 1)} * {_lit(w, 0.01, 0.1)}")
        c.results.append((out, FLOAT))


def _rejection(c: _Ctx) -> None:
    """Rejection sampling with a bounded number of tries (``break`` on acceptance)."""
    w, rng = c.w, c.w.rng
    if rng.random() < 0.6:
        v = w.assign_value("wp.vec3(0.0, 0.0, 0.0)", VEC3)
        with c.loop(rng.randint(4, 12)):
            cand = w.assign_value(f"wp.sample_unit_cube({c.state}) * 2.0", VEC3)
            test = rng.choice(
                (
                    f"wp.length_sq({cand}) <= 1.0",
                    f"wp.length({cand}) <= {_lit(w, 0.5, 1.0)} and {cand}[2] >= 0.0",
                    f"wp.abs({cand}[0]) + wp.abs({cand}[1]) + wp.abs({cand}[2]) <= 1.0",
                )
            )
            with w.block(f"if {test}"):
                w.emit(f"{v} = {cand}")
                w.emit("break")
        c.results.append((v, VEC3))
    else:
        x = w.assign_value("float(0.0)", FLOAT)
        with c.loop(rng.randint(4, 12)):
            cand = w.assign_value(f"wp.randf({c.state}, -1.0, 1.0)", FLOAT)
            with w.block(f"if wp.randf({c.state}) < wp.exp(-{_lit(w, 1.0, 4.0)} * {cand} * {cand})"):
                w.emit(f"{x} = {cand}")
                w.emit("break")
        c.results.append((x, FLOAT))


def _triangle(c: _Ctx) -> None:
    """Uniform points on a triangle from barycentric samples; area weights."""
    w, rng = c.w, c.w.rng
    verts = [a.name for a in w.args if a.is_array and a.ndim == 1 and a.type is VEC3]
    if verts and rng.random() < 0.6:
        src = rng.choice(verts)
        a, b, v = (w.assign_value(f"{src}[(i * 3 + {n}) % {src}.shape[0]]", VEC3) for n in range(3))
    else:
        a, b, v = (w.param(VEC3, name=n) for n in ("va", "vb", "vc"))
    bary = w.assign_value(f"wp.sample_triangle({c.state})", VEC2)
    pt = w.assign_value(f"{bary}[0] * {a} + {bary}[1] * {b} + (1.0 - {bary}[0] - {bary}[1]) * {v}", VEC3)
    c.results.append((pt, VEC3))
    if rng.random() < 0.5:
        c.results.append((w.assign_value(f"0.5 * wp.length(wp.cross({b} - {a}, {v} - {a}))", FLOAT), FLOAT))


def _lens(c: _Ctx) -> None:
    """Disk and ring samples: thin-lens camera rays, orbit positions."""
    w, rng = c.w, c.w.rng
    if rng.random() < 0.5:
        d = w.assign_value(f"wp.sample_unit_disk({c.state}) * {_coeff(w, 0.01, 0.2)}", VEC2)
        origin = w.assign_value(f"wp.vec3({d}[0], {d}[1], 0.0)", VEC3)
        target = c.value(VEC3) or f"wp.vec3({w.expr(FLOAT, 1)}, {w.expr(FLOAT, 1)}, {_lit(w, 1.0, 3.0)})"
        c.results.append((w.assign_value(f"wp.normalize({target} - {origin})", VEC3), VEC3))
    else:
        ring = w.assign_value(f"wp.sample_unit_ring({c.state})", VEC2)
        radius = w.assign_value(f"wp.randf({c.state}, {_lit(w, 0.5, 1.0)}, {_lit(w, 1.2, 2.0)})", FLOAT)
        height = w.expr(FLOAT, 1)
        c.results.append((w.assign_value(f"wp.vec3({ring}[0], {ring}[1], {height}) * {radius}", VEC3), VEC3))


def _sampler_helper(c: _Ctx) -> None:
    """A ``@wp.func`` that opens its own stream from (seed, index) and returns a sample; call it in a loop."""
    w, rng = c.w, c.w.rng
    name = f"{w.name}_sample"
    if rng.random() < 0.5:
        sampler = rng.choice(_SURFACE_SAMPLERS)
        body = [
            "    state = wp.rand_init(seed, index)",
            f"    d = wp.{sampler}(state)",
            "    return d * (radius * wp.pow(wp.randf(state), 1.0 / 3.0))",
        ]
        result: WarpType = VEC3
    else:
        body = [
            "    state = wp.rand_init(seed, index)",
            "    u = wp.randf(state)",
            f"    return radius * wp.{rng.choice(('sqrt', 'sin', 'exp'))}(u) + wp.randn(state) * 0.1",
        ]
        result = FLOAT
    w.helper_sources.append("\n".join(["@wp.func", f"def {name}(seed: int, index: int, radius: float):", *body]))
    count = rng.choice((2, 4, 8))
    zero = "wp.vec3(0.0, 0.0, 0.0)" if result is VEC3 else "float(0.0)"
    acc = w.assign_value(zero, result)
    with c.loop(count) as var:
        w.emit(f"{acc} += {name}({c.seed}, i * {count} + {var}, {_coeff(w, 0.2, 1.5)})")
    c.results.append((w.assign_value(f"{acc} / {float(count)}", result), result))


_MOTIFS = (
    (_monte_carlo, 3.0, False),
    (_jitter, 2.0, False),
    (_random_walk, 2.0, False),
    (_emission, 1.5, False),
    (_noise_field, 3.0, True),
    (_discrete, 1.5, False),
    (_gaussian, 1.0, False),
    (_rotation, 1.0, False),
    (_dropout, 1.0, False),
    (_rejection, 1.0, False),
    (_triangle, 1.0, False),
    (_lens, 1.0, False),
    (_sampler_helper, 1.0, False),
)


def _add_random_productions(w: KernelWriter, state: str, noise: str | None) -> None:
    """Random draws and noise lookups as expression productions (they name this kernel's state variables)."""
    rng = w.rng
    r = _lit(w, 0.05, 0.5)
    prods = [
        Production(FLOAT, f"({{0}} * wp.randf({state}))", (FLOAT,), "random"),
        Production(FLOAT, f"({{0}} + {r} * wp.randn({state}))", (FLOAT,), "random"),
        Production(FLOAT, f"wp.randf({state}, -1.0, 1.0 + wp.abs({{0}}))", (FLOAT,), "random", 0.5),
        Production(VEC3, f"({{0}} + wp.{rng.choice(_BALL_SAMPLERS)}({state}) * {r})", (VEC3,), "random"),
        Production(VEC3, f"wp.cw_mul({{0}}, wp.sample_unit_cube({state}) + wp.vec3(0.5, 0.5, 0.5))", (VEC3,), "random"),
        Production(VEC3, f"(wp.{rng.choice(_SURFACE_SAMPLERS)}({state}) * {{0}})", (FLOAT,), "random", 0.5),
        Production(VEC2, f"({{0}} + wp.{rng.choice(_PLANE_SAMPLERS)}({state}) * {r})", (VEC2,), "random", 0.5),
        Production(BOOL, f"(wp.randf({state}) < {{0}})", (FLOAT,), "random", 0.7),
        Production(FLOAT, "{0}[{k}]", (VEC2,), "random", 0.5),
        Production(FLOAT, "wp.length({0})", (VEC2,), "random", 0.3),
    ]
    if noise is not None:
        period = rng.choice((2, 4, 8))
        prods += [
            Production(FLOAT, f"wp.noise({noise}, {{0}})", (FLOAT,), "random"),
            Production(FLOAT, f"wp.noise({noise}, {{0}})", (VEC3,), "random"),
            Production(FLOAT, f"wp.noise({noise}, {{0}})", (VEC2,), "random", 0.5),
            Production(FLOAT, f"wp.pnoise({noise}, wp.abs({{0}}), {period})", (FLOAT,), "random", 0.5),
            Production(VEC3, f"wp.curlnoise({noise}, {{0}})", (VEC3,), "random", 0.7),
        ]
    for prod in prods:
        w.gen.add(prod)


def _pick_motifs(w: KernelWriter, count: int) -> list:
    rng = w.rng
    pool = list(_MOTIFS)
    chosen = []
    for _ in range(count):
        total = sum(weight for _, weight, _ in pool)
        pick = rng.uniform(0.0, total)
        for entry in pool:
            pick -= entry[1]
            if pick <= 0.0:
                break
        chosen.append(entry)
        pool.remove(entry)
    return chosen


def _store(w: KernelWriter, c: _Ctx) -> None:
    """Write every motif result (grouped by type) plus locals nothing has read to output arrays."""
    rng = w.rng
    grouped: dict[str, tuple[WarpType, list[str]]] = {}
    for name, t in c.results:
        names = grouped.setdefault(t.name, (t, []))[1]
        if name not in names:
            names.append(name)
    if FLOAT.name not in grouped and rng.random() < 0.5:
        grouped[FLOAT.name] = (FLOAT, [])
    for t, names in grouped.values():
        skip = {c.state, c.noise, *names}
        unread = [n for n in w.locals_of(t) if w.gen.uses.get(n, 0) == 0 and n not in skip][-2:]
        terms = names + unread
        if t in (FLOAT, VEC3) and (not terms or rng.random() < 0.4):
            extra = w.expr(t, 2)
            terms.append(extra if not terms else f"{extra} * {_lit(w, 0.1, 1.0)}")
        for n in terms:
            w.gen.uses[n] = w.gen.uses.get(n, 0) + 1
        out = w.output_array(t)
        w.emit(f"{out}[i] = {' + '.join(terms)}")


@register_category("random", groups={"arith", "trig", "vector", "cond"})
def random_numbers(w: KernelWriter) -> None:
    """Random numbers: rand_init, randf/randi/randu/randn/poisson, sample_unit_*, sample_cdf, noise/pnoise/curlnoise."""
    rng = w.rng
    seed = w.param(INT, name=rng.choice(("seed", "seed", "rng_seed")))
    inputs: dict[str, list[str]] = {}
    for _ in range(rng.randint(1, w.limits.inputs)):
        t = rng.choice((FLOAT, FLOAT, VEC3, VEC3, VEC2))
        array = w.input_array(t, load=False)
        inputs.setdefault(t.name, []).append(w.assign_value(f"{array}[i]", t))
    if rng.random() < 0.5:
        w.param(FLOAT, name=rng.choice(("scale", "sigma", "radius", "strength")), recipe={"low": 0.1, "high": 1.0})
    w.add_helpers((FLOAT,))

    count = {1: 1, 2: rng.randint(1, 2), 3: 2, 4: rng.randint(2, 3), 5: 3}[w.level]
    motifs = _pick_motifs(w, count)

    state = rng.choice(("state", "state", "rng"))
    offset = rng.choice(
        (
            "i",
            "i",
            f"i + {rng.choice((64, 128, 1024))}",
            f"i * {rng.randint(2, 8)} + {rng.randint(0, 7)}",
        )
    )
    if rng.random() < 0.8:
        w.emit(f"{state} = wp.rand_init({seed}, {offset})")
    else:
        w.emit(f"{state} = wp.rand_init({seed} * {rng.choice((1000, 4096, 7919))} + i)")
    w.define(state, UINT32)
    noise = None
    if any(needs_noise for _, _, needs_noise in motifs) or rng.random() < 0.2:
        noise = rng.choice(("noise_state", "field"))
        w.emit(f"{noise} = wp.rand_init({seed}{rng.choice(('', '', ' + 1', ' * 17'))})")
        w.define(noise, UINT32)
    _add_random_productions(w, state, noise)

    c = _Ctx(w, seed, state, noise, inputs)
    for _ in range(rng.randint(0, w.limits.statements // 3)):
        value_t = rng.choice((FLOAT, FLOAT, VEC3))
        c.inputs.setdefault(value_t.name, []).append(w.assign(value_t))
    for motif, _, _ in motifs:
        motif(c)
    for _ in range(rng.randint(0, w.limits.statements // 3)):
        value_t = rng.choice((FLOAT, VEC3))
        c.results.append((w.assign(value_t), value_t))
    _store(w, c)
