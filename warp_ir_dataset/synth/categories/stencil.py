"""The ``stencil`` category: 2-D and 3-D launches over grids, finite differences and neighbourhood filters.

A kernel is launched over a 2-D or 3-D grid (``i, j[, k] = wp.tid()``); its fields are arrays of that
shape (floats, and ``vec2``/``vec3`` velocity fields). It picks one way of reaching neighbours for the
whole kernel (indices clamped with ``wp.min``/``wp.max``/``wp.clamp``, periodic with ``%``, an interior
guard with an early ``return`` or an ``if``/``else``, or a ``@wp.func`` lookup that clamps or returns zero
outside the grid), then composes a few rng-chosen operators: Laplacian, gradient, divergence, curl,
diffusion / Jacobi / wave steps, upwind advection, box / Gaussian / min-max filters, Sobel, anisotropic
diffusion, heightfield normals, residual reductions with atomics. Pointwise terms come from typed
expression generation over what is in scope.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..category import register_category
from ..expressions import Production
from ..types import FLOAT, INT, VEC2, VEC3, WarpType, float_literal
from ..writer import KernelWriter

_AXES = ("i", "j", "k")
_SIZES = ("nx", "ny", "nz")
_LAUNCH_2D = ((16, 16), (16, 16), (32, 16), (16, 32), (24, 24), (8, 8), (32, 32))
_LAUNCH_3D = ((8, 8, 8), (8, 8, 8), (4, 8, 8), (8, 8, 4), (16, 8, 4), (6, 6, 6))
_MODES = ("clamp", "clamp", "periodic", "interior", "guard", "lookup")


@dataclass
class _Grid:
    """Neighbour access for one kernel: the launch rank, the grid sizes and the boundary mode."""

    w: KernelWriter
    nd: int
    mode: str
    sizes: list[str]
    margin: int = 1
    source: str = ""  # the array whose shape gives the grid size
    neighbours: dict[tuple[int, int], str] = field(default_factory=dict)  # (axis, +-1) -> index local
    lookups: dict[str, str] = field(default_factory=dict)  # field dtype name -> @wp.func name
    zero_outside: bool = False
    results: list[tuple[str, WarpType]] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)  # dtype name -> array names
    centres: dict[str, str] = field(default_factory=dict)  # array name -> local holding its centre value

    def size(self, axis: int) -> str:
        """The grid extent along ``axis``; a ``.shape`` local is written on first use (call at top level)."""
        name = self.sizes[axis]
        if name not in self.w.scope:
            self.w.emit(f"{name} = {self.source}.shape[{axis}]")
            self.w.define(name, INT)
        return name

    @property
    def vec(self) -> WarpType:
        return VEC2 if self.nd == 2 else VEC3

    def need(self, axes: tuple[int, ...] | None = None) -> None:
        """Emit the clamped / periodic +-1 neighbour indices of ``axes`` not written yet (top level only)."""
        if self.mode not in ("clamp", "periodic"):
            return
        w, rng = self.w, self.w.rng
        for axis in range(self.nd) if axes is None else axes:
            ax, n = _AXES[axis], self.size(axis)
            for step in (1, -1):
                if (axis, step) in self.neighbours:
                    continue
                name = f"{ax}{'p' if step > 0 else 'm'}"
                if self.mode == "periodic":
                    value = f"({ax} + 1) % {n}" if step > 0 else f"({ax} + {n} - 1) % {n}"
                elif rng.random() < 0.7:
                    value = f"wp.min({ax} + 1, {n} - 1)" if step > 0 else f"wp.max({ax} - 1, 0)"
                else:
                    value = f"wp.clamp({ax} {'+' if step > 0 else '-'} 1, 0, {n} - 1)"
                w.emit(f"{name} = {value}")
                w.define(name, INT)
                self.neighbours[(axis, step)] = name

    def index(self, axis: int, offset: int | str) -> str:
        ax, n = _AXES[axis], self.sizes[axis]
        if offset == 0:
            return ax
        if isinstance(offset, int) and abs(offset) == 1 and (axis, offset) in self.neighbours:
            return self.neighbours[(axis, offset)]
        shifted = f"{ax} + {offset}" if not (isinstance(offset, int) and offset < 0) else f"{ax} - {-offset}"
        if self.mode == "clamp":
            return f"wp.clamp({shifted}, 0, {n} - 1)"
        if self.mode == "periodic":
            return f"({shifted} + {n}) % {n}"
        return shifted

    def at(self, array: str, offsets: tuple[int | str, ...]) -> str:
        """The value of ``array`` at the thread's cell shifted by ``offsets`` (ints or loop variables)."""
        offsets = tuple(offsets) + (0,) * (self.nd - len(offsets))
        if all(o == 0 for o in offsets) and array in self.centres:
            return self.centres[array]
        if self.mode == "lookup":
            dtype = self.w.arg(array).type
            coords = ", ".join(
                _AXES[a]
                if o == 0
                else (f"{_AXES[a]} + {o}" if not isinstance(o, int) or o > 0 else f"{_AXES[a]} - {-o}")
                for a, o in enumerate(offsets)
            )
            return f"{self.lookup(dtype)}({array}, {coords})"
        return f"{array}[{', '.join(self.index(a, o) for a, o in enumerate(offsets))}]"

    def lookup(self, dtype: WarpType) -> str:
        """The ``@wp.func`` that reads a ``dtype`` field at any integer coordinate (written on first use)."""
        if dtype.name in self.lookups:
            return self.lookups[dtype.name]
        w = self.w
        name = f"{w.name}_{'sample' if self.zero_outside else 'lookup'}_{dtype.name}"
        coords = _AXES[: self.nd]
        params = ", ".join(f"{c}: int" for c in coords)
        ann = f"wp.array(dtype={dtype.annotation}, ndim={self.nd})"
        lines = ["@wp.func", f"def {name}(f: {ann}, {params}):"]
        if self.zero_outside:
            outside = " or ".join(f"{c} < 0 or {c} >= f.shape[{a}]" for a, c in enumerate(coords))
            zero = "0.0" if dtype is FLOAT else f"{dtype.annotation}()"
            lines += [f"    if {outside}:", f"        return {zero}", f"    return f[{', '.join(coords)}]"]
        else:
            for a, c in enumerate(coords):
                lines.append(f"    c{c} = wp.clamp({c}, 0, f.shape[{a}] - 1)")
            lines.append(f"    return f[{', '.join('c' + c for c in coords)}]")
        w.helper_sources.append("\n".join(lines))
        self.lookups[dtype.name] = name
        return name

    def unit(self, axis: int, step: int) -> tuple[int, ...]:
        offsets = [0] * self.nd
        offsets[axis] = step
        return tuple(offsets)

    def result(self, name: str, t: WarpType) -> str:
        self.results.append((name, t))
        return name


def _lit(w: KernelWriter, low: float, high: float) -> str:
    return float_literal(w.rng, low, high)


def _coeff(g: _Grid, low: float, high: float) -> str:
    params = [a.name for a in g.w.args if not a.is_array and a.type is FLOAT]
    if params and g.w.rng.random() < 0.6:
        return g.w.rng.choice(params)
    return _lit(g.w, low, high)


def _scalar(g: _Grid) -> str:
    return g.w.rng.choice(g.fields["float"])


# ----------------------------------------------------------------------------- operators


def _laplacian(g: _Grid) -> str:
    """Second differences: the 5-point (7-point in 3-D) Laplacian, optionally scaled by 1/h^2."""
    w = g.w
    g.need()
    f = _scalar(g)
    terms = " + ".join(g.at(f, g.unit(a, s)) for a in range(g.nd) for s in (1, -1))
    lap = w.assign_value(f"{terms} - {2.0 * g.nd} * {g.at(f, ())}", FLOAT)
    if w.rng.random() < 0.4:
        w.emit(f"{lap} = {lap} * {_coeff(g, 0.1, 1.0)}")
    return g.result(lap, FLOAT)


def _diffusion(g: _Grid) -> None:
    """An explicit heat-equation step ``f + dt * kappa * lap(f)`` (conductivity from a param or a 1-D array)."""
    w, rng = g.w, g.w.rng
    lap = _laplacian(g)
    f = _scalar(g)
    kappa = _coeff(g, 0.05, 0.24)
    if rng.random() < 0.3:
        coef = w.input_array(FLOAT, load=False, recipe={"low": 0.02, "high": 0.25})  # per-row conductivity
        kappa = f"{coef}[i]"
    value = f"{g.at(f, ())} + {kappa} * {lap}"
    if rng.random() < 0.4:
        value += f" + {_lit(w, 0.01, 0.1)} * {w.expr(FLOAT, 2)}"
    g.result(w.assign_value(value, FLOAT), FLOAT)


def _jacobi(g: _Grid) -> None:
    """One Jacobi iteration for a Poisson problem ``lap(p) = b``, with an optional residual reduction."""
    w, rng = g.w, g.w.rng
    g.need()
    p = _scalar(g)
    b = g.fields["float"][-1] if len(g.fields["float"]) > 1 else None
    if b is None or b == p:
        b = w.input_array(FLOAT, load=False, ndim=g.nd)
        g.fields["float"].append(b)
    total = " + ".join(g.at(p, g.unit(a, s)) for a in range(g.nd) for s in (1, -1))
    h2 = _lit(w, 0.01, 0.1)
    new = w.assign_value(f"({total} - {h2} * {g.at(b, ())}) / {2.0 * g.nd}", FLOAT)
    if rng.random() < 0.5:
        omega = _lit(w, 0.5, 0.95)
        new2 = w.assign_value(f"{g.at(p, ())} + {omega} * ({new} - {g.at(p, ())})", FLOAT)
        new = new2
    g.result(new, FLOAT)
    if rng.random() < 0.5:
        residual = w.output_array(FLOAT, name="residual", recipe={"shape": [1]})
        r = w.assign_value(f"{new} - {g.at(p, ())}", FLOAT)
        op = rng.choice(("atomic_add", "atomic_add", "atomic_max"))
        value = f"{r} * {r}" if op == "atomic_add" else f"wp.abs({r})"
        w.emit(f"wp.{op}({residual}, 0, {value})")


def _gradient(g: _Grid) -> None:
    """Central differences of a scalar field into a vector (one-sided at clamped edges), or its magnitude."""
    w, rng = g.w, g.w.rng
    g.need()
    f = _scalar(g)
    scale = rng.choice(("0.5", f"0.5 * {_coeff(g, 0.5, 2.0)}"))
    parts = []
    for a in range(g.nd):
        d = w.assign_value(f"({g.at(f, g.unit(a, 1))} - {g.at(f, g.unit(a, -1))}) * {scale}", FLOAT)
        if g.mode == "clamp" and w.can_nest and rng.random() < 0.5:
            ax, n = _AXES[a], g.sizes[a]
            with w.block(f"if {ax} == 0 or {ax} == {n} - 1"):
                w.emit(f"{d} = {d} * 2.0")
        parts.append(d)
    grad = w.assign_value(f"{g.vec.annotation}({', '.join(parts)})", g.vec)
    g.result(grad, g.vec)
    if rng.random() < 0.6:  # squared, or softened near zero: |grad| has no derivative where grad = 0
        mag = rng.choice((f"wp.length_sq({grad})", f"wp.sqrt(wp.length_sq({grad}) + 1.0e-2)"))
        g.result(w.assign_value(mag, FLOAT), FLOAT)


def _divergence(g: _Grid) -> None:
    """Divergence of a velocity field by central differences."""
    w = g.w
    g.need()
    u = w.rng.choice(g.fields[g.vec.name])
    terms = " + ".join(f"{g.at(u, g.unit(a, 1))}[{a}] - {g.at(u, g.unit(a, -1))}[{a}]" for a in range(g.nd))
    g.result(w.assign_value(f"({terms}) * 0.5", FLOAT), FLOAT)


def _curl(g: _Grid) -> None:
    """Vorticity of a velocity field: the scalar curl in 2-D, the curl vector in 3-D."""
    w = g.w
    g.need()
    u = w.rng.choice(g.fields[g.vec.name])

    def d(comp: int, axis: int) -> str:
        return f"({g.at(u, g.unit(axis, 1))}[{comp}] - {g.at(u, g.unit(axis, -1))}[{comp}])"

    if g.nd == 2:
        g.result(w.assign_value(f"0.5 * ({d(1, 0)} - {d(0, 1)})", FLOAT), FLOAT)
    else:
        value = f"wp.vec3({d(2, 1)} - {d(1, 2)}, {d(0, 2)} - {d(2, 0)}, {d(1, 0)} - {d(0, 1)}) * 0.5"
        curl = g.result(w.assign_value(value, VEC3), VEC3)
        if w.rng.random() < 0.5:
            g.result(w.assign_value(f"wp.length_sq({curl})", FLOAT), FLOAT)


def _vector_smooth(g: _Grid) -> None:
    """Laplacian smoothing / viscosity on a velocity field, with damping."""
    w, rng = g.w, g.w.rng
    g.need()
    u = rng.choice(g.fields[g.vec.name])
    terms = " + ".join(g.at(u, g.unit(a, s)) for a in range(g.nd) for s in (1, -1))
    avg = w.assign_value(f"({terms}) * {1.0 / (2 * g.nd)}", g.vec)
    nu = _coeff(g, 0.05, 0.5)
    new = w.assign_value(f"wp.lerp({g.at(u, ())}, {avg}, {nu})", g.vec)
    if rng.random() < 0.5:
        w.emit(f"{new} = {new} * {_lit(w, 0.9, 0.999)}")
    g.result(new, g.vec)


def _advect(g: _Grid) -> None:
    """First-order upwind advection of a scalar by a velocity field (or a constant velocity)."""
    w, rng = g.w, g.w.rng
    g.need()
    f = _scalar(g)
    vels = g.fields.get(g.vec.name)
    if vels and rng.random() < 0.7:
        vel = g.at(rng.choice(vels), ())
    else:
        vel = f"{g.vec.annotation}({', '.join(_lit(w, -1.0, 1.0) for _ in range(g.nd))})"
    v = w.assign_value(vel, g.vec)
    c = g.at(f, ())
    terms = []
    for a in range(g.nd):
        back, fwd = g.at(f, g.unit(a, -1)), g.at(f, g.unit(a, 1))
        if rng.random() < 0.6:
            d = w.assign_value(f"wp.where({v}[{a}] > 0.0, {c} - {back}, {fwd} - {c})", FLOAT)
        else:
            d = w.assign_value(f"{fwd} - {c}", FLOAT)
            with w.block(f"if {v}[{a}] > 0.0"):
                w.emit(f"{d} = {c} - {back}")
        terms.append(f"{v}[{a}] * {d}")
    dt = _coeff(g, 0.05, 0.3)
    g.result(w.assign_value(f"{c} - {dt} * ({' + '.join(terms)})", FLOAT), FLOAT)


def _filter(g: _Grid) -> None:
    """Box or Gaussian blur over a (2r+1)^d window, written as nested loops or one flattened loop."""
    w, rng = g.w, g.w.rng
    f = _scalar(g)
    r = rng.choice((1, 1, 2)) if g.mode in ("clamp", "periodic", "lookup") else g.margin
    span = 2 * r + 1
    dims = g.nd if g.nd == 2 else rng.choice((2, 3))  # 3-D grids may blur within k-slices
    if g.mode in ("clamp", "periodic"):
        for a in range(dims):
            g.size(a)
    gaussian = rng.random() < 0.5
    acc = w.assign_value("float(0.0)", FLOAT)
    wsum = w.assign_value("float(0.0)", FLOAT) if gaussian else None
    offs = ("di", "dj", "dk")[:dims]
    nested = w.limits.nesting >= dims and rng.random() < 0.6
    if nested:
        blocks = []
        for var in offs:
            blocks.append(w.block(f"for {var} in range({-r}, {r + 1})"))
            blocks[-1].__enter__()
            w.define(var, INT)
    else:
        blocks = [w.block(f"for n in range({span**dims})")]
        blocks[0].__enter__()
        w.define("n", INT)
        for a, var in enumerate(offs):
            stride = span**a
            value = (
                f"n % {span} - {r}"
                if a == 0
                else f"n // {stride} % {span} - {r}"
                if a < dims - 1
                else f"n // {stride} - {r}"
            )
            w.emit(f"{var} = {value}")
            w.define(var, INT)
    value = g.at(f, tuple(offs))
    if gaussian:
        sq = " + ".join(f"{o} * {o}" for o in offs)
        wt = w.assign_value(f"wp.exp(-float({sq}) * {_lit(w, 0.2, 1.0)})", FLOAT)
        w.emit(f"{acc} += {wt} * {value}")
        w.emit(f"{wsum} += {wt}")
    else:
        w.emit(f"{acc} += {value}")
    for block in reversed(blocks):
        block.__exit__(None, None, None)
    mean = f"{acc} / {wsum}" if gaussian else f"{acc} / {float(span**dims)}"
    blur = w.assign_value(mean, FLOAT)
    g.result(blur, FLOAT)
    if rng.random() < 0.4:  # unsharp mask
        g.result(w.assign_value(f"{g.at(f, ())} + {_lit(w, 0.2, 1.5)} * ({g.at(f, ())} - {blur})", FLOAT), FLOAT)


def _sobel(g: _Grid) -> None:
    """Sobel edge detection in the (i, j) plane: gradient magnitude and optionally orientation."""
    w, rng = g.w, g.w.rng
    g.need((0, 1))
    f = _scalar(g)

    def a(di: int, dj: int) -> str:
        return g.at(f, (di, dj))

    gx = w.assign_value(
        f"({a(1, -1)} + 2.0 * {a(1, 0)} + {a(1, 1)}) - ({a(-1, -1)} + 2.0 * {a(-1, 0)} + {a(-1, 1)})", FLOAT
    )
    gy = w.assign_value(
        f"({a(-1, 1)} + 2.0 * {a(0, 1)} + {a(1, 1)}) - ({a(-1, -1)} + 2.0 * {a(0, -1)} + {a(1, -1)})", FLOAT
    )
    mag = w.assign_value(f"wp.sqrt({gx} * {gx} + {gy} * {gy} + {rng.choice(('1.0e-2', '0.05', '0.1'))})", FLOAT)
    g.result(mag, FLOAT)
    if rng.random() < 0.4:  # a soft edge mask (a hard threshold would make the output discontinuous)
        lo = rng.uniform(0.2, 1.5)
        g.result(w.assign_value(f"wp.smoothstep({lo:.2f}, {lo + rng.uniform(0.5, 2.0):.2f}, {mag})", FLOAT), FLOAT)


def _morphology(g: _Grid) -> None:
    """Erosion / dilation: the min or max over the cell and its face neighbours."""
    w = g.w
    g.need()
    f = _scalar(g)
    op = w.rng.choice(("wp.min", "wp.max"))
    value = g.at(f, ())
    for a in range(g.nd):
        for s in (1, -1):
            value = f"{op}({value}, {g.at(f, g.unit(a, s))})"
    g.result(w.assign_value(value, FLOAT), FLOAT)


def _wave(g: _Grid) -> None:
    """A leapfrog step of the wave equation from the current and previous fields, with damping."""
    w = g.w
    g.need()
    cur = _scalar(g)
    prev = w.input_array(FLOAT, load=False, ndim=g.nd)
    terms = " + ".join(g.at(cur, g.unit(a, s)) for a in range(g.nd) for s in (1, -1))
    lap = w.assign_value(f"{terms} - {2.0 * g.nd} * {g.at(cur, ())}", FLOAT)
    c2 = _lit(w, 0.05, 0.2)
    damp = _lit(w, 0.95, 0.999)
    g.result(
        w.assign_value(f"(2.0 * {g.at(cur, ())} - {prev}[{', '.join(_AXES[: g.nd])}] + {c2} * {lap}) * {damp}", FLOAT),
        FLOAT,
    )


def _anisotropic(g: _Grid) -> None:
    """Perona-Malik diffusion: each face flux is weighted by an edge-stopping conductance."""
    w, rng = g.w, g.w.rng
    g.need()
    f = _scalar(g)
    c = g.at(f, ())
    k2 = _lit(w, 0.1, 1.0)
    flux = w.assign_value("float(0.0)", FLOAT)
    for a in range(g.nd):
        for s in (1, -1):
            d = w.assign_value(f"{g.at(f, g.unit(a, s))} - {c}", FLOAT)
            cond = rng.choice((f"wp.exp(-({d} * {d}) / {k2})", f"1.0 / (1.0 + {d} * {d} / {k2})"))
            w.emit(f"{flux} += {cond} * {d}")
    g.result(w.assign_value(f"{c} + {_lit(w, 0.05, 0.2)} * {flux}", FLOAT), FLOAT)


def _normals(g: _Grid) -> None:
    """Surface normals of a heightfield from central differences (2-D grids)."""
    w = g.w
    g.need((0, 1))
    h = _scalar(g)
    dx = f"{g.at(h, (1, 0))} - {g.at(h, (-1, 0))}"
    dy = f"{g.at(h, (0, 1))} - {g.at(h, (0, -1))}"
    scale = _lit(w, 0.5, 4.0)
    g.result(w.assign_value(f"wp.normalize(wp.vec3(-({dx}) * {scale}, -({dy}) * {scale}, 2.0))", VEC3), VEC3)


# name -> (function, weight, needs a velocity field, 2-D only, stencil radius)
_OPERATORS: dict[str, tuple[Callable[[_Grid], object], float, bool, bool]] = {
    "laplacian": (_laplacian, 1.5, False, False),
    "diffusion": (_diffusion, 2.0, False, False),
    "jacobi": (_jacobi, 1.5, False, False),
    "gradient": (_gradient, 2.0, False, False),
    "divergence": (_divergence, 1.5, True, False),
    "curl": (_curl, 1.0, True, False),
    "vector_smooth": (_vector_smooth, 1.0, True, False),
    "advect": (_advect, 1.5, False, False),
    "filter": (_filter, 2.0, False, False),
    "sobel": (_sobel, 1.5, False, False),
    "morphology": (_morphology, 1.0, False, False),
    "wave": (_wave, 1.0, False, False),
    "anisotropic": (_anisotropic, 1.0, False, False),
    "normals": (_normals, 1.0, False, True),
}


def _pick_operators(w: KernelWriter, nd: int, count: int) -> list[str]:
    rng = w.rng
    pool = [name for name, (_, _, _, only2d) in _OPERATORS.items() if nd == 2 or not only2d]
    chosen: list[str] = []
    for _ in range(count):
        total = sum(_OPERATORS[n][1] for n in pool)
        pick = rng.uniform(0.0, total)
        for name in pool:
            pick -= _OPERATORS[name][1]
            if pick <= 0.0:
                break
        chosen.append(name)
        pool.remove(name)
    return chosen


_SMOOTH = (  # transcendental functions that are smooth on their whole (guarded) domain
    ("wp.sin({0})", 2.0),
    ("wp.cos({0})", 2.0),
    ("wp.tanh({0})", 1.0),
    ("wp.atan({0})", 1.0),
    ("wp.exp(wp.clamp({0}, -4.0, 4.0))", 1.0),
    ("wp.log(1.0 + {0} * {0})", 0.7),
    ("wp.sqrt(1.0 + {0} * {0})", 0.7),
    ("wp.erf({0})", 0.5),
    ("wp.sinh(wp.clamp({0}, -3.0, 3.0))", 0.3),
    ("wp.cosh(wp.clamp({0}, -3.0, 3.0))", 0.3),
    ("wp.smoothstep(-1.0, 1.0, {0})", 0.5),
    ("wp.tan(wp.clamp({0}, -1.2, 1.2))", 0.3),
)


def _add_field_productions(w: KernelWriter, vec: WarpType) -> None:
    """Smooth transcendental functions, and vector operations for the grid's velocity type.

    Stencil kernels are usually differentiable and each input cell feeds several outputs, so the palette
    avoids functions whose derivative is singular (sqrt(|x|), acos near 1, ...) or whose value jumps.
    """
    for template, weight in _SMOOTH:
        w.gen.add(Production(FLOAT, template, (FLOAT,), "stencil", weight))
    for prod in (
        Production(vec, "({0} + {1})", (vec, vec), "stencil"),
        Production(vec, "({0} - {1})", (vec, vec), "stencil"),
        Production(vec, "({0} * {1})", (vec, FLOAT), "stencil", 1.5),
        Production(FLOAT, "wp.dot({0}, {1})", (vec, vec), "stencil", 0.5),
        Production(FLOAT, "{0}[{k}]", (vec,), "stencil", 0.7),
    ):
        w.gen.add(prod)


def _store(w: KernelWriter, g: _Grid) -> list[tuple[str, WarpType]]:
    """Write the operators' results (one output per type); return (output, type) pairs for boundary writes."""
    rng = w.rng
    idx = ", ".join(_AXES[: g.nd])
    grouped: dict[str, tuple[WarpType, list[str]]] = {}
    for name, t in g.results:
        names = grouped.setdefault(t.name, (t, []))[1]
        if name not in names:
            names.append(name)
    outputs = []
    for t, names in grouped.values():
        unread = [n for n in w.locals_of(t) if w.gen.uses.get(n, 0) == 0 and n not in names][-1:]
        terms = names[-3:] + unread
        for n in terms:
            w.gen.uses[n] = w.gen.uses.get(n, 0) + 1
        value = " + ".join(terms)
        if rng.random() < 0.4:
            value = f"{value} + {_lit(w, 0.05, 0.5)} * {w.expr(t, 2)}" if len(terms) < 3 else value
        if len(terms) > 1 and rng.random() < 0.5:
            value = f"({value}) * {1.0 / len(terms):.4g}"
        out = w.output_array(t, ndim=g.nd)
        w.emit(f"{out}[{idx}] = {value}")
        outputs.append((out, t))
    return outputs


@register_category("stencil", groups={"arith"})
def stencil(w: KernelWriter) -> None:
    """Grid stencils on 2-D/3-D launches: finite differences, Laplacian/diffusion/Jacobi steps, blur, Sobel."""
    rng = w.rng
    nd = 3 if rng.random() < 0.35 else 2
    dims = rng.choice(_LAUNCH_3D if nd == 3 else _LAUNCH_2D)
    w.set_launch(dims)
    count = {1: 1, 2: rng.randint(1, 2), 3: 2, 4: rng.randint(2, 3), 5: 3}[w.level]
    ops = _pick_operators(w, nd, count)
    mode = rng.choice(_MODES)
    needs_vec = any(_OPERATORS[o][2] for o in ops)

    # arguments: the scalar field(s), a velocity field where an operator wants one, coefficients
    g = _Grid(w, nd, mode, [])
    vec = g.vec
    g.fields["float"] = [w.input_array(FLOAT, load=False, ndim=nd)]
    if needs_vec or rng.random() < 0.2:
        g.fields[vec.name] = [w.input_array(vec, load=False, ndim=nd)]
    if w.limits.inputs > 2 and rng.random() < 0.4:
        g.fields["float"].append(w.input_array(FLOAT, load=False, ndim=nd))
    if rng.random() < 0.6:
        low, high = rng.choice(((0.05, 0.25), (0.1, 1.0), (0.5, 2.0)))
        w.param(FLOAT, name=rng.choice(("dt", "alpha", "kappa", "nu")), recipe={"low": low, "high": high})
    g.source = g.fields["float"][0]
    if mode == "lookup" or rng.random() < 0.7:
        g.sizes = list(_SIZES[:nd])  # written on first use
    else:  # grid sizes passed in, as many Warp examples do
        names = ("width", "height", "depth")[:nd]
        for a, name in enumerate(names):
            w.param(INT, name=name, recipe={"low": dims[a], "high": dims[a] + 1})
        g.sizes = list(names)
    if mode == "lookup":
        g.zero_outside = rng.random() < 0.5
    g.margin = 2 if "filter" in ops and mode in ("interior", "guard") and rng.random() < 0.4 else 1
    w.add_helpers((FLOAT,))
    _add_field_productions(w, vec)

    if mode in ("interior", "guard"):
        for a in range(nd):
            g.size(a)
    edge = " or ".join(f"{_AXES[a]} < {g.margin} or {_AXES[a]} >= {g.sizes[a]} - {g.margin}" for a in range(nd))
    if g.margin == 1:
        edge = " or ".join(f"{_AXES[a]} == 0 or {_AXES[a]} == {g.sizes[a]} - 1" for a in range(nd))
    interior = " and ".join(f"{_AXES[a]} >= {g.margin} and {_AXES[a]} < {g.sizes[a]} - {g.margin}" for a in range(nd))
    if mode == "interior":  # early exit on the boundary, as Warp's fluid example does
        with w.block(f"if {edge}"):
            w.emit("return")

    def body() -> list[tuple[str, WarpType]]:
        idx = ", ".join(_AXES[:nd])
        for name in [*g.fields["float"], *g.fields.get(vec.name, [])]:
            if rng.random() < 0.7:
                g.centres[name] = w.assign_value(f"{name}[{idx}]", w.arg(name).type)
        for op in ops:
            _OPERATORS[op][0](g)
            if rng.random() < 0.5:
                t = rng.choice((FLOAT, FLOAT, vec))
                g.result(w.assign(t), t)
        extra = rng.randint(0, max(0, w.limits.statements // 2 - len(ops)))
        for _ in range(extra):
            g.result(w.assign(FLOAT), FLOAT)
        target = next((n for n, t in reversed(g.results) if t is FLOAT), None)
        if target is not None and w.can_nest and rng.random() < 0.3:  # red-black ordering: update one colour
            parity = " + ".join(_AXES[:nd])
            with w.block(f"if ({parity}) % 2 == {rng.randint(0, 1)}"):
                w.emit(f"{target} = {w.expr(FLOAT, 2, exclude=[target])}")
        return _store(w, g)

    if mode == "guard":
        with w.block(f"if {interior}"):
            outputs = body()
        idx = ", ".join(_AXES[:nd])
        if rng.random() < 0.7:
            with w.block("else"):
                for out, t in outputs:
                    if t is FLOAT:
                        src = rng.choice(g.fields["float"])
                        value = rng.choice(("0.0", f"{src}[{idx}]"))
                    else:
                        value = f"{t.annotation}()"
                    w.emit(f"{out}[{idx}] = {value}")
    else:
        body()
