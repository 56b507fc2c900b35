"""The ``stencil`` category: 2-D and 3-D launches over grids, finite differences and neighbourhood filters.

A kernel is launched over a 2-D or 3-D grid (``i, j[, k] = wp.tid()``); its fields are arrays of that shape
(scalars, and ``vec2``/``vec3`` velocity fields). It picks one way of reaching neighbours for the whole kernel
(indices clamped with ``wp.min``/``wp.max``/``wp.clamp``, periodic with ``%``, an interior guard with an early
``return`` or an ``if``/``else``, or a ``@wp.func`` lookup that clamps or returns zero outside the grid), then
composes a few operators: Laplacian, gradient, divergence, curl, diffusion / Jacobi / wave steps, upwind
advection, box / Gaussian / min-max filters, Sobel, anisotropic diffusion, heightfield normals, residual
reductions with atomics. Pointwise terms come from typed expression generation over what is in scope.

Every neighbour index stays inside the grid: clamped and periodic indices by construction, interior modes by a
margin as wide as the widest stencil.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..category import register_category
from ..expressions import Production
from ..types import FLOAT, INT, VEC2, VEC3, WarpType
from ..writer import KernelWriter
from .common import Vocabulary, output

_SIZES = ("nx", "ny", "nz")
_SIZE_PARAMS = ("width", "height", "depth")
_LAUNCH_2D = ((16, 16), (16, 16), (32, 16), (16, 32), (24, 24), (8, 8), (32, 32))
_LAUNCH_3D = ((8, 8, 8), (8, 8, 8), (4, 8, 8), (8, 8, 4), (16, 8, 4), (6, 6, 6))
_MODES = ("clamp", "clamp", "periodic", "interior", "guard", "lookup")

#: Fields (array, local holding the cell's value) by type, and names of results.
VOCABULARY = Vocabulary(
    inputs={
        "float": (
            ("temperature", "temp"),
            ("pressure", "p"),
            ("elevation", "h"),
            ("density", "rho"),
            ("concentration", "conc"),
            ("image", "pixel"),
            ("phi", "phi_c"),
        ),
        "vec2": (("velocity", "vel"), ("flow", "flow_vel"), ("wind", "wind_vel")),
        "vec3": (("velocity", "vel"), ("flow", "flow_vel"), ("wind", "wind_vel")),
    },
    outputs={
        "float": ("field_out", "updated", "result"),
        "vec2": ("vel_out", "velocity_out"),
        "vec3": ("vel_out", "velocity_out"),
    },
    locals={"float": ("value", "term", "response"), "vec2": ("flux", "drift"), "vec3": ("flux", "drift")},
)


@dataclass
class _Grid:
    """Neighbour access for one kernel: the launch rank, the grid sizes and the boundary mode."""

    w: KernelWriter
    nd: int
    mode: str
    dims: tuple[int, ...]
    size_params: bool = False  # grid sizes passed in (as many Warp examples do) or read from .shape
    margin: int = 1
    source: str = ""  # the array whose shape gives the grid size
    sizes: dict[int, str] = field(default_factory=dict)  # axis -> the name holding its extent
    neighbours: dict[tuple[int, int], str] = field(default_factory=dict)  # (axis, +-1) -> index local
    zero_outside: bool = False
    fields: dict[str, list[str]] = field(default_factory=dict)  # dtype name -> array names
    centre_names: dict[str, str] = field(default_factory=dict)  # array -> name for its centre value
    centres: dict[str, str] = field(default_factory=dict)  # array -> local holding its centre value
    touched: set[str] = field(default_factory=set)  # arrays an operator has read

    @property
    def axes(self) -> tuple[str, ...]:
        return self.w.tid_vars[: self.nd]

    @property
    def idx(self) -> str:
        return ", ".join(self.axes)

    @property
    def vec(self) -> WarpType:
        return VEC2 if self.nd == 2 else VEC3

    def size(self, axis: int) -> str:
        """The grid extent along ``axis`` (a parameter, or a ``.shape`` local written on first use: call at
        the top level of the body)."""
        if axis not in self.sizes:
            w = self.w
            if self.size_params:
                high = self.dims[axis] + 1
                name = w.param(INT, _SIZE_PARAMS[axis], recipe={"low": self.dims[axis], "high": high})
            else:
                name = w.let(_SIZES[axis], f"{self.source}.shape[{axis}]", INT)
            self.sizes[axis] = name
        return self.sizes[axis]

    def need(self, axes: tuple[int, ...] | None = None) -> None:
        """Write the clamped / periodic +-1 neighbour indices of ``axes`` not written yet (top level only)."""
        if self.mode not in ("clamp", "periodic"):
            return
        w, rng = self.w, self.w.rng
        for axis in range(self.nd) if axes is None else axes:
            ax, n = self.axes[axis], self.size(axis)
            for step in (1, -1):
                if (axis, step) in self.neighbours:
                    continue
                if self.mode == "periodic":
                    value = f"({ax} + 1) % {n}" if step > 0 else f"({ax} + {n} - 1) % {n}"
                elif rng.random() < 0.7:
                    value = f"wp.min({ax} + 1, {n} - 1)" if step > 0 else f"wp.max({ax} - 1, 0)"
                else:
                    value = f"wp.clamp({ax} {'+' if step > 0 else '-'} 1, 0, {n} - 1)"
                self.neighbours[(axis, step)] = w.let(f"{ax}{'p' if step > 0 else 'm'}", value, INT)

    def index(self, axis: int, offset: int | str) -> str:
        ax = self.axes[axis]
        if offset == 0:
            return ax
        if isinstance(offset, int) and abs(offset) == 1 and (axis, offset) in self.neighbours:
            return self.neighbours[(axis, offset)]
        shifted = _shift(ax, offset)
        if self.mode == "clamp":
            return f"wp.clamp({shifted}, 0, {self.size(axis)} - 1)"
        if self.mode == "periodic":
            n = self.size(axis)
            return f"({shifted} + {n}) % {n}"
        return shifted

    def at(self, array: str, offsets: tuple[int | str, ...]) -> str:
        """The value of ``array`` at the thread's cell shifted by ``offsets`` (ints or loop variables)."""
        offsets = tuple(offsets) + (0,) * (self.nd - len(offsets))
        self.touched.add(array)
        if all(o == 0 for o in offsets) and array in self.centres:
            return self.centres[array]
        if self.mode == "lookup":
            coords = ", ".join(_shift(self.axes[a], o) for a, o in enumerate(offsets))
            return f"{self.lookup(self.w.arg(array).type)}({array}, {coords})"
        return f"{array}[{', '.join(self.index(a, o) for a, o in enumerate(offsets))}]"

    def centre(self, array: str) -> str:
        return self.at(array, ())

    def lookup(self, dtype: WarpType) -> str:
        """The ``@wp.func`` reading a ``dtype`` field at any integer coordinate (added on first use)."""
        coords = ("x", "y", "z")[: self.nd]
        params = ", ".join(f"{c}: int" for c in coords)
        ann = f"wp.array(dtype={dtype.annotation}, ndim={self.nd})"
        lines = ["@wp.func", f"def NAME(f: {ann}, {params}):"]
        if self.zero_outside:
            outside = " or ".join(f"{c} < 0 or {c} >= f.shape[{a}]" for a, c in enumerate(coords))
            zero = "0.0" if dtype is FLOAT else f"{dtype.annotation}()"
            lines += [f"    if {outside}:", f"        return {zero}", f"    return f[{', '.join(coords)}]"]
        else:
            for a, c in enumerate(coords):
                lines.append(f"    c{c} = wp.clamp({c}, 0, f.shape[{a}] - 1)")
            lines.append(f"    return f[{', '.join('c' + c for c in coords)}]")
        kind = "sample" if self.zero_outside else "lookup"
        return self.w.helper(f"{kind}_{dtype.name}", "\n".join(lines))

    def unit(self, axis: int, step: int) -> tuple[int, ...]:
        offsets = [0] * self.nd
        offsets[axis] = step
        return tuple(offsets)

    def face_sum(self, array: str) -> str:
        """The sum of ``array`` over the 2 * nd face neighbours."""
        return " + ".join(self.at(array, self.unit(a, s)) for a in range(self.nd) for s in (1, -1))

    def scalar(self) -> str:
        return self.w.choose(self.fields["float"])

    def field(self, t: WarpType) -> str:
        """A new input field of type ``t`` named from the vocabulary."""
        w = self.w
        pairs = [(a, c) for a, c in VOCABULARY.inputs[t.name] if not w.taken(a) and not w.taken(c)]
        if not pairs:
            array = w.input_array(t, ndim=self.nd)
            self.centre_names[array] = f"{array}_c"
        else:
            array, centre = pairs[0] if len(pairs) == 1 else w.rng.choice(pairs[:4])
            w.input_array(t, array, ndim=self.nd)
            self.centre_names[array] = centre
        self.fields.setdefault(t.name, []).append(array)
        return array


def _shift(axis: str, offset: int | str) -> str:
    if offset == 0:
        return axis
    if isinstance(offset, int) and offset < 0:
        return f"{axis} - {-offset}"
    return f"{axis} + {offset}"


# ----------------------------------------------------------------------------- operators


def _laplacian(g: _Grid) -> str:
    """Second differences: the 5-point (7-point in 3-D) Laplacian, optionally scaled by 1/h^2."""
    w = g.w
    g.need()
    f = g.scalar()
    value = f"{g.face_sum(f)} - {2.0 * g.nd} * {g.centre(f)}"
    if w.rng.random() < 0.4:
        value = f"({value}) * {w.coeff('inv_h2', 0.1, 1.0)}"
    return w.let(("lap", "laplacian"), value, FLOAT)


def _diffusion(g: _Grid) -> None:
    """An explicit heat-equation step ``f + kappa * lap(f)`` (conductivity from a param or a 1-D array)."""
    w, rng = g.w, g.w.rng
    lap = _laplacian(g)
    f = g.scalar()
    if rng.random() < 0.3:  # per-row conductivity
        rows = w.input_array(FLOAT, ("conductivity", "kappa_rows"), recipe={"low": 0.02, "high": 0.25})
        kappa = f"{rows}[{g.axes[0]}]"
    else:
        kappa = w.coeff("kappa", 0.05, 0.24)
    value = f"{g.centre(f)} + {kappa} * {lap}"
    if rng.random() < 0.4:
        value += f" + {w.small(0.01, 0.1)} * {w.expr(FLOAT, 2, exclude=(lap,))}"
    w.let(("diffused", "heated", "f_new"), value, FLOAT)


def _jacobi(g: _Grid) -> None:
    """One Jacobi iteration for a Poisson problem ``lap(p) = b``, with an optional residual reduction."""
    w, rng = g.w, g.w.rng
    g.need()
    p = g.scalar()
    others = [b for b in g.fields["float"] if b != p]
    b = others[-1] if others else g.field(FLOAT)
    value = f"({g.face_sum(p)} - {w.small(0.01, 0.1)} * {g.centre(b)}) / {2.0 * g.nd}"
    new = w.let(("relaxed", "p_new", "jacobi"), value, FLOAT)
    if rng.random() < 0.5:
        omega = w.coeff("omega", 0.5, 0.95, param_bias=0.3)
        new = w.let(("over_relaxed", "sor"), f"{g.centre(p)} + {omega} * ({new} - {g.centre(p)})", FLOAT)
    if rng.random() < 0.5:
        # one residual per row (a float32 sum over the whole grid is too coarse for finite differences), or
        # the largest change over the grid
        per_row = rng.random() < 0.7
        recipe = None if per_row else {"shape": [1]}
        residual = w.output_array(FLOAT, ("row_residual",) if per_row else ("max_change",), recipe=recipe)
        r = w.let(("change", "update"), f"{new} - {g.centre(p)}", FLOAT)
        if per_row:
            w.atomic("wp.atomic_add", residual, g.axes[0], f"{r} * {r}")
        else:
            w.atomic("wp.atomic_max", residual, "0", f"wp.abs({r})")


def _gradient(g: _Grid) -> None:
    """Central differences of a scalar field into a vector (doubled one-sided at clamped edges), or its magnitude."""
    w, rng = g.w, g.w.rng
    g.need()
    f = g.scalar()
    scale = "0.5" if rng.random() < 0.5 else f"0.5 * {w.coeff('inv_dx', 0.5, 2.0, param_bias=1.0)}"
    parts = []
    for a in range(g.nd):
        diff = f"({g.at(f, g.unit(a, 1))} - {g.at(f, g.unit(a, -1))}) * {scale}"
        d = w.let((f"d{'xyz'[a]}", f"grad_{'xyz'[a]}"), diff, FLOAT)
        if g.mode == "clamp" and w.can_nest and rng.random() < 0.5:
            ax = g.axes[a]
            with w.block(f"if {ax} == 0 or {ax} == {g.size(a)} - 1"):
                w.set(d, f"{d} * 2.0")
        parts.append(d)
    grad = w.let(("grad", "gradient"), f"{g.vec.annotation}({', '.join(parts)})", g.vec)
    if rng.random() < 0.6:  # squared, or softened near zero: |grad| has no derivative where grad = 0
        kind = rng.choice(("sq", "sq", "soft", "length"))
        if kind == "sq":
            w.let(("grad_sq", "slope_sq"), f"wp.length_sq({grad})", FLOAT)
        elif kind == "soft":
            w.let(("grad_mag", "slope"), f"wp.sqrt(wp.length_sq({grad}) + 1.0e-2)", FLOAT)
        else:  # |grad| is not differentiable at zero: random fields are almost never flat
            w.let(("grad_mag", "slope"), f"wp.length({grad})", FLOAT)


def _divergence(g: _Grid) -> None:
    """Divergence of a velocity field by central differences."""
    w = g.w
    g.need()
    u = w.choose(g.fields[g.vec.name])
    terms = " + ".join(f"{g.at(u, g.unit(a, 1))}[{a}] - {g.at(u, g.unit(a, -1))}[{a}]" for a in range(g.nd))
    w.let(("div", "divergence"), f"({terms}) * 0.5", FLOAT)


def _curl(g: _Grid) -> None:
    """Vorticity of a velocity field: the scalar curl in 2-D, the curl vector in 3-D."""
    w = g.w
    g.need()
    u = w.choose(g.fields[g.vec.name])

    def d(comp: int, axis: int) -> str:
        return f"({g.at(u, g.unit(axis, 1))}[{comp}] - {g.at(u, g.unit(axis, -1))}[{comp}])"

    if g.nd == 2:
        w.let(("vorticity", "curl"), f"0.5 * ({d(1, 0)} - {d(0, 1)})", FLOAT)
    else:
        value = f"wp.vec3({d(2, 1)} - {d(1, 2)}, {d(0, 2)} - {d(2, 0)}, {d(1, 0)} - {d(0, 1)}) * 0.5"
        curl = w.let(("vorticity", "curl"), value, VEC3)
        if w.rng.random() < 0.5:
            w.let(("enstrophy", "vorticity_sq"), f"wp.length_sq({curl})", FLOAT)


def _vector_smooth(g: _Grid) -> None:
    """Laplacian smoothing / viscosity on a velocity field, with damping."""
    w, rng = g.w, g.w.rng
    g.need()
    u = rng.choice(g.fields[g.vec.name])
    avg = w.let(("neighbour_avg", "avg_vel"), f"({g.face_sum(u)}) * {1.0 / (2 * g.nd):.4g}", g.vec)
    nu = w.coeff("nu", 0.05, 0.5)
    value = f"wp.lerp({g.centre(u)}, {avg}, {nu})"
    if rng.random() < 0.5:
        value = f"{value} * {w.small(0.9, 0.999)}"
    w.let(("smoothed_vel", "viscous_vel"), value, g.vec)


def _advect(g: _Grid) -> None:
    """First-order upwind advection of a scalar by a velocity field (or a constant velocity)."""
    w, rng = g.w, g.w.rng
    g.need()
    f = g.scalar()
    vels = g.fields.get(g.vec.name)
    if vels and rng.random() < 0.7:
        vel = g.centre(rng.choice(vels))
    else:
        vel = f"{g.vec.annotation}({', '.join(w.small(-1.0, 1.0) for _ in range(g.nd))})"
    v = vel if vel.isidentifier() else w.let(("wind_dir", "drift_vel", "u_adv"), vel, g.vec)
    c = g.centre(f)
    terms = []
    for a in range(g.nd):
        back, fwd = g.at(f, g.unit(a, -1)), g.at(f, g.unit(a, 1))
        names = (f"d{'xyz'[a]}_up", f"upwind_{'xyz'[a]}")
        if rng.random() < 0.6 or not w.can_nest:
            d = w.let(names, f"wp.where({v}[{a}] > 0.0, {c} - {back}, {fwd} - {c})", FLOAT)
        else:
            d = w.let(names, f"{fwd} - {c}", FLOAT)
            with w.block(f"if {v}[{a}] > 0.0"):
                w.set(d, f"{c} - {back}")
        terms.append(f"{v}[{a}] * {d}")
    dt = w.coeff("dt", 0.05, 0.3)
    w.let(("advected", "transported"), f"{c} - {dt} * ({' + '.join(terms)})", FLOAT)


def _filter(g: _Grid) -> None:
    """Box or Gaussian blur over a (2r+1)^d window, written as nested loops or one flattened loop."""
    w, rng = g.w, g.w.rng
    f = g.scalar()
    r = rng.choice((1, 1, 2)) if g.mode in ("clamp", "periodic", "lookup") else g.margin
    span = 2 * r + 1
    dims = g.nd if g.nd == 2 else rng.choice((2, 3))  # 3-D grids may blur within k-slices
    if g.mode in ("clamp", "periodic"):
        for a in range(dims):
            g.size(a)
    gaussian = rng.random() < 0.5
    acc = w.let(("acc", "window_sum", "total"), "float(0.0)", FLOAT)
    wsum = w.let(("weight_sum", "wsum", "norm"), "float(0.0)", FLOAT) if gaussian else None
    offs = [w.name(f"d{'ijk'[a]}", f"o{'ijk'[a]}") for a in range(dims)]
    nested = w.limits.nesting >= dims and rng.random() < 0.6
    headers = [f"for {var} in range({-r}, {r + 1})" for var in offs] if nested else []
    flat = None
    if not nested:
        flat = w.name("n", "tap", "cell")
        headers = [f"for {flat} in range({span**dims})"]
    _nest(g, headers, lambda: _window(g, f, offs, flat, span, r, acc, wsum))
    mean = f"{acc} / {wsum}" if wsum else f"{acc} / {float(span**dims)}"
    blur = w.let(("blurred", "smoothed", "box_mean"), mean, FLOAT)
    if rng.random() < 0.4:  # unsharp mask
        amount = w.coeff("sharpen", 0.2, 1.5)
        w.let(("sharpened", "unsharp"), f"{g.centre(f)} + {amount} * ({g.centre(f)} - {blur})", FLOAT)


def _nest(g: _Grid, headers: list[str], body: Callable[[], None]) -> None:
    """Open the loops of ``headers`` one inside the other (each defines its variable) and write ``body``."""
    if not headers:
        body()
        return
    with g.w.block(headers[0]):
        g.w.define(headers[0].split()[1], INT)
        _nest(g, headers[1:], body)


def _window(g: _Grid, f: str, offs: list[str], flat: str | None, span: int, r: int, acc: str, wsum: str | None) -> None:
    """The body of a blur loop: the window offsets (from the flat index), the tap's weight and sums."""
    w = g.w
    dims = len(offs)
    if flat is not None:
        for a, var in enumerate(offs):
            if a == 0:
                value = f"{flat} % {span} - {r}"
            elif a < dims - 1:
                value = f"{flat} // {span**a} % {span} - {r}"
            else:
                value = f"{flat} // {span**a} - {r}"
            w.emit(f"{var} = {value}")
            w.define(var, INT)
    value = g.at(f, tuple(offs))
    if wsum is not None:
        sq = " + ".join(f"{o} * {o}" for o in offs)
        wt = w.let(("tap_weight", "kernel_w"), f"wp.exp(-float({sq}) * {w.small(0.2, 1.0)})", FLOAT)
        w.emit(f"{acc} += {wt} * {value}")
        w.emit(f"{wsum} += {wt}")
    else:
        w.emit(f"{acc} += {value}")


def _sobel(g: _Grid) -> None:
    """Sobel edge detection in the (i, j) plane: gradient magnitude and optionally a soft edge mask."""
    w, rng = g.w, g.w.rng
    g.need((0, 1))
    f = g.scalar()

    def a(di: int, dj: int) -> str:
        return g.at(f, (di, dj))

    gx = f"({a(1, -1)} + 2.0 * {a(1, 0)} + {a(1, 1)}) - ({a(-1, -1)} + 2.0 * {a(-1, 0)} + {a(-1, 1)})"
    gy = f"({a(-1, 1)} + 2.0 * {a(0, 1)} + {a(1, 1)}) - ({a(-1, -1)} + 2.0 * {a(0, -1)} + {a(1, -1)})"
    gx, gy = w.let(("gx", "sobel_x"), gx, FLOAT), w.let(("gy", "sobel_y"), gy, FLOAT)
    soft = rng.choice(("1.0e-2", "0.05", "0.1"))
    mag = w.let(("edge", "edge_strength"), f"wp.sqrt({gx} * {gx} + {gy} * {gy} + {soft})", FLOAT)
    extra = rng.random()
    if extra < 0.4:  # a soft edge mask (a hard threshold would make the output discontinuous)
        lo = rng.uniform(0.2, 1.5)
        w.let(("edge_mask", "is_edge"), f"wp.smoothstep({lo:.2f}, {lo + rng.uniform(0.5, 2.0):.2f}, {mag})", FLOAT)
    elif extra < 0.6:  # edge orientation, as a doubled angle (an edge and its reverse are the same edge)
        theta = w.let(("orientation", "edge_angle"), f"wp.atan2({gy}, {gx})", FLOAT)
        w.let(("coherence", "aligned"), f"{mag} * wp.cos(2.0 * {theta})", FLOAT)


def _morphology(g: _Grid) -> None:
    """Erosion / dilation: the min or max over the cell and its face neighbours."""
    w = g.w
    g.need()
    f = g.scalar()
    op = w.choose(("wp.min", "wp.max"))
    value = g.centre(f)
    for a in range(g.nd):
        for s in (1, -1):
            value = f"{op}({value}, {g.at(f, g.unit(a, s))})"
    w.let(("eroded", "local_min") if op == "wp.min" else ("dilated", "local_max"), value, FLOAT)


def _wave(g: _Grid) -> None:
    """A leapfrog step of the wave equation from the current and previous fields, with damping."""
    w = g.w
    g.need()
    cur = g.scalar()
    prev = w.input_array(FLOAT, ("prev", "previous", "h_prev"), ndim=g.nd)
    lap = w.let(("lap", "laplacian"), f"{g.face_sum(cur)} - {2.0 * g.nd} * {g.centre(cur)}", FLOAT)
    courant = w.coeff("courant", 0.05, 0.2)  # (c dt / h)^2
    value = f"(2.0 * {g.centre(cur)} - {prev}[{g.idx}] + {courant} * {lap}) * {w.small(0.95, 0.999)}"
    w.let(("next_value", "wave_next", "h_next"), value, FLOAT)


def _anisotropic(g: _Grid) -> None:
    """Perona-Malik diffusion: each face flux is weighted by an edge-stopping conductance."""
    w, rng = g.w, g.w.rng
    g.need()
    f = g.scalar()
    c = g.centre(f)
    k2 = w.small(0.1, 1.0)
    terms = []
    for a in range(g.nd):
        for s in (1, -1):
            d = w.let((f"d{'xyz'[a]}{'pm'[s < 0]}", "face_diff"), f"{g.at(f, g.unit(a, s))} - {c}", FLOAT)
            cond = rng.choice((f"wp.exp(-({d} * {d}) / {k2})", f"1.0 / (1.0 + {d} * {d} / {k2})"))
            terms.append(f"{cond} * {d}")
    flux = w.let(("flux", "edge_flux"), " + ".join(terms), FLOAT)
    w.let(("diffused", "filtered"), f"{c} + {w.coeff('rate', 0.05, 0.2)} * {flux}", FLOAT)


def _normals(g: _Grid) -> None:
    """Surface normals of a heightfield from central differences (2-D grids)."""
    w = g.w
    g.need((0, 1))
    h = g.scalar()
    dx = w.let(("dhdx", "slope_x"), f"{g.at(h, (1, 0))} - {g.at(h, (-1, 0))}", FLOAT)
    dy = w.let(("dhdy", "slope_y"), f"{g.at(h, (0, 1))} - {g.at(h, (0, -1))}", FLOAT)
    scale = w.coeff("height_scale", 0.5, 4.0)
    w.let(("normal", "surface_normal"), f"wp.normalize(wp.vec3(-{dx} * {scale}, -{dy} * {scale}, 2.0))", VEC3)


# name -> (operator, weight, needs a velocity field, 2-D only)
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

_SMOOTH = (  # transcendental functions that are smooth on their whole (guarded) domain
    ("wp.sin({0})", 2.0, ("wave", "oscillation")),
    ("wp.cos({0})", 2.0, ("cosine", "ripple")),
    ("wp.tanh({0})", 1.0, ("saturated", "squashed")),
    ("wp.atan({0})", 1.0, ("angle", "bounded")),
    ("wp.exp(wp.clamp({0}, -4.0, 4.0))", 1.0, ("growth", "decay")),
    ("wp.log(1.0 + {0} * {0})", 0.7, ("log_energy", "log_mag")),
    ("wp.sqrt(1.0 + {0} * {0})", 0.7, ("soft_abs", "hypot")),
    ("wp.erf({0})", 0.5, ("error_term", "cdf")),
    ("wp.sinh(wp.clamp({0}, -3.0, 3.0))", 0.3, ("hyper_sine", "growth")),
    ("wp.cosh(wp.clamp({0}, -3.0, 3.0))", 0.3, ("catenary", "hyper_cosine")),
    ("wp.smoothstep(-1.0, 1.0, {0})", 0.5, ("ramp", "fade")),
    ("wp.tan(wp.clamp({0}, -1.2, 1.2))", 0.3, ("slope", "tangent")),
)


def _add_field_productions(w: KernelWriter, vec: WarpType) -> None:
    """Smooth transcendental functions, and vector operations for the grid's velocity type.

    Stencil kernels are usually differentiable and each input cell feeds several outputs, so the palette
    avoids functions whose derivative is singular (sqrt(|x|), acos near 1, ...) or whose value jumps.
    """
    w.add_productions(*(Production(FLOAT, tpl, (FLOAT,), "stencil", wt, names) for tpl, wt, names in _SMOOTH))
    w.add_productions(
        Production(vec, "({0} + {1})", (vec, vec), "stencil", 1.0, ("combined_vel", "summed")),
        Production(vec, "({0} - {1})", (vec, vec), "stencil", 1.0, ("relative_vel", "vel_diff")),
        Production(vec, "({0} * {1})", (vec, FLOAT), "stencil", 1.5, ("scaled_vel", "momentum")),
        Production(FLOAT, "wp.dot({0}, {1})", (vec, vec), "stencil", 0.5, ("alignment", "kinetic"), True),
        Production(FLOAT, "{0}[{k}]", (vec,), "stencil", 0.7, ("component", "vel_axis")),
    )


def _store(g: _Grid) -> list[tuple[str, WarpType]]:
    """Write what the operators left unread, one output field per type (a sum, sometimes averaged); return
    the (output, type) pairs for boundary writes."""
    w, rng = g.w, g.w.rng
    outputs = []
    while True:
        groups = [t for t in (FLOAT, g.vec, VEC3) if w.pending(t)]
        if not groups and (outputs or not w.pending()):
            return outputs
        t = (groups or [FLOAT])[0]
        terms = w.pending(t)
        value = " + ".join(terms) if terms else None
        if value and len(terms) > 1 and rng.random() < 0.5:
            value = f"({value}) * {1.0 / len(terms):.4g}"
        if len(groups) <= 1:
            value = w.result(t, 2, base=value)
        if t is VEC3 and g.nd == 2:  # heightfield normals
            out = w.output_array(t, ("normals", "normal_map"), ndim=g.nd)
        else:
            out = output(w, VOCABULARY, t, ndim=g.nd)
        w.store(out, g.idx, value)
        outputs.append((out, t))


def _load_centre(g: _Grid, array: str) -> None:
    name = (g.centre_names[array], f"{array}_c")
    g.centres[array] = g.w.let(name, f"{array}[{g.idx}]", g.w.arg(array).type)


def _body(g: _Grid, ops: list[str]) -> list[tuple[str, WarpType]]:
    """Centre values, the operators (each maybe followed by a pointwise term), a red-black update, the stores."""
    w, rng = g.w, g.w.rng
    fields = [*g.fields["float"], *g.fields.get(g.vec.name, [])]
    for name in fields:
        if rng.random() < 0.7:
            _load_centre(g, name)
    for n, op in enumerate(ops):
        _OPERATORS[op][0](g)
        if n == 0:  # helpers work on what the first operator computed
            w.add_helpers((FLOAT,))
        t = rng.choice((FLOAT, FLOAT, g.vec))
        if rng.random() < 0.5 and w.can_compute(t, 2):
            w.assign(t, 2)
    for name in fields:  # a field no operator read (its shape gave the grid size): its cell's value
        if name not in g.touched and name not in g.centres:
            _load_centre(g, name)
    for _ in range(rng.randint(0, max(0, w.limits.statements // 2 - len(ops)))):
        if w.can_compute(FLOAT):
            w.assign(FLOAT)
    targets = [n for n in w.pending(FLOAT) if not w.has_arg(n)]
    if targets and w.can_nest and rng.random() < 0.3:  # red-black ordering: update one colour
        parity = " + ".join(g.axes)
        colour = rng.randint(0, 1)
        test = f"({parity}) % 2 == {colour}" if rng.random() < 0.5 else f"(({parity}) & 1) == {colour}"
        with w.block(f"if {test}"):
            w.set(targets[-1], w.expr(FLOAT, 2, exclude=(targets[-1],)))
    return _store(g)


@register_category("stencil", groups={"arith"})
def stencil(w: KernelWriter) -> None:
    """Grid stencils on 2-D/3-D launches: finite differences, Laplacian/diffusion/Jacobi steps, blur, Sobel."""
    rng = w.rng
    VOCABULARY.apply(w)
    nd = 3 if rng.random() < 0.35 else 2
    dims = rng.choice(_LAUNCH_3D if nd == 3 else _LAUNCH_2D)
    w.set_launch(dims)
    count = {1: 1, 2: rng.randint(1, 2), 3: 2, 4: rng.randint(2, 3), 5: 3}[w.level]
    pool = {name: weight for name, (_, weight, _, only2d) in _OPERATORS.items() if nd == 2 or not only2d}
    ops = w.pick(pool, count)
    mode = w.choose(_MODES)

    g = _Grid(w, nd, mode, dims)
    g.source = g.field(FLOAT)
    if any(_OPERATORS[o][2] for o in ops) or (w.level >= 3 and rng.random() < 0.2):
        g.field(g.vec)
    if w.limits.inputs > 2 and rng.random() < 0.4:
        g.field(FLOAT)
    g.size_params = mode != "lookup" and rng.random() < 0.3
    g.zero_outside = mode == "lookup" and rng.random() < 0.5
    g.margin = 2 if "filter" in ops and mode in ("interior", "guard") and rng.random() < 0.4 else 1
    _add_field_productions(w, g.vec)

    if mode != "lookup":  # the sizes first; expressions do not read them (float(nx) is no physics)
        for a in range(nd):
            g.size(a)
    with w.protect(*g.sizes.values()):
        _boundaries(g, ops)


def _boundaries(g: _Grid, ops: list[str]) -> None:
    """The body, under the mode's boundary handling: an early return, an interior guard with an ``else``
    writing the boundary cells, or none (clamped, periodic or looked-up neighbours)."""
    w, rng, mode, m = g.w, g.w.rng, g.mode, g.margin
    if mode == "interior":  # early exit on the boundary, as Warp's fluid examples do
        if m == 1:
            edge = " or ".join(f"{ax} == 0 or {ax} == {g.size(a)} - 1" for a, ax in enumerate(g.axes))
        else:
            edge = " or ".join(f"{ax} < {m} or {ax} >= {g.size(a)} - {m}" for a, ax in enumerate(g.axes))
        with w.block(f"if {edge}"):
            w.emit("return")
    if mode != "guard":
        _body(g, ops)
        return
    interior = " and ".join(f"{ax} >= {m} and {ax} < {g.size(a)} - {m}" for a, ax in enumerate(g.axes))
    with w.block(f"if {interior}"):
        outputs = _body(g, ops)
    if rng.random() < 0.7:  # boundary cells: zero, or a copy of the input
        with w.block("else"):
            for out, t in outputs:
                value = w.choose(("0.0", f"{g.source}[{g.idx}]")) if t is FLOAT else f"{t.annotation}()"
                w.emit(f"{out}[{g.idx}] = {value}")
