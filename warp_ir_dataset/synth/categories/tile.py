"""Tile kernels: block-cooperative ``wp.tile_*`` programs launched with ``wp.launch_tiled``.

Each block (``i = wp.tid()`` is the block index) loads tiles from its slice of the input arrays, combines
them with typed random *tile expressions* (element-wise arithmetic, ``tile_map`` with builtins and
``@wp.func`` helpers, transposes, broadcasts, axis reductions), reduces some of them to scalars, and
stores or atomically accumulates the results. Tile shapes are fixed per kernel and every array is given
an explicit shape that matches them. Tiles are typed per shape (``tile:float:8x16``, a type of its own),
so the expression generator only combines tiles of matching shapes.

On the CPU, gradients are checked against finite differences; Warp 1.19's CPU adjoints of some tile
builtins are wrong (scans, ``tile_max``/``tile_min``/``tile_reduce``, ``tile_diag_add``, ``tile_full``
with a computed value, ``wp.tile``/``wp.untile`` of per-thread values, ``tile_transpose``: wrong for
non-square tiles and for a loaded tile read elsewhere), so those only appear in kernels
that are outside gradient checks for another, natural reason (a sort, an argmax, a quantization, an
in-place update). Warp's CPU adjoint of an in-place tile update (``+=``, ``tile_axpy``) is only right when
nothing read the tile before and the operation that made the tile does not need its own result in its
adjoint (``tile_map(wp.max, ...)`` does), so gradient-checked kernels only update loaded tiles nothing has
read. ``tile_matmul``, ``tile_fft`` and the Cholesky / triangular solvers do not get through code
generation without a target architecture (the per-kernel options the build uses) and are not used; a
``@wp.func`` over tiles uses element-wise operations only (``tile_broadcast`` or an axis reduction of a
tile parameter does not compile in the function's adjoint).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..category import register_category
from ..expressions import Production
from ..types import FLOAT, INT, UINT64, VEC3, WarpType
from ..writer import KernelWriter

_BVH_ITEMS = 64  # items in the validator's BVHs (validate.LAUNCH_DIM)
_SAFE_UNARY = ("sin", "cos", "tanh", "abs", "atan")
_ROUNDING_UNARY = ("floor", "round", "trunc", "ceil")
_SAFE_BINARY = ("add", "sub", "mul", "min", "max")
_SCANS = ("tile_scan_inclusive", "tile_scan_exclusive", "tile_scan_max_inclusive", "tile_scan_min_inclusive")
_SQUASH = ("wp.tanh({0})", "wp.sin({0})", "wp.clamp({0}, -1.0, 1.0)", "{0} / (1.0 + wp.abs({0}))")
#: (array, tile) names of 1-D inputs
_INPUTS_1D = (("x", "x_tile"), ("y", "y_tile"), ("z", "z_tile"), ("bias", "bias_tile"), ("weights", "w_tile"))
#: tile locals by role (the expression table names most of them after the operation)
_TILE_NAMES = ("block_vals", "tile_vals", "lane_vals")
_QUERY = WarpType("tile_query", "wp.tile_query")
_INT_TILE = WarpType("tile:int", "wp.tile(dtype=int)")


def _tile_type(dtype: str, shape: tuple[int, ...]) -> WarpType:
    dims = ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "")
    return WarpType(f"tile:{dtype}:{'x'.join(str(n) for n in shape)}", f"wp.tile(dtype={dtype}, shape=({dims}))")


def _p(result: WarpType, template: str, operands: tuple[WarpType, ...], weight: float, names: tuple[str, ...]):
    return Production(result, template, operands, "tile", weight, names)


@dataclass
class _Tiles:
    """One tile kernel's shapes and types, the block count, and the construct that puts it outside
    gradient checks (if any)."""

    w: KernelWriter
    blocks: int
    block_dim: int
    length: int
    rows: int
    two_d: bool
    vec: bool
    blocker: str | None  # "sort", "argmax", "quantize", "in_place" or None
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    first_input: str = ""  # the 1-D input array loaded first (an in-place kernel stores back into it)
    constants: list[str] = field(default_factory=list)  # constructor tiles, read once where they are made
    reduced: list[str] = field(default_factory=list)  # tiles already reduced to a scalar
    built: list[str] = field(default_factory=list)  # kinds of constructor tiles written (one of each)
    loaded: list[str] = field(default_factory=list)  # tiles loaded from the inputs

    def __post_init__(self) -> None:
        m, n = self.rows, self.length
        self.t1 = _tile_type("float", (n,))
        self.t2 = _tile_type("float", (m, n))
        self.t2t = _tile_type("float", (n, m))
        self.t1m = _tile_type("float", (m,))
        self.tv = _tile_type("wp.vec3", (n,))
        self.shapes = {self.t1.name: (n,), self.t2.name: (m, n), self.t2t.name: (n, m), self.t1m.name: (m,)}
        self.shapes[self.tv.name] = (n,)

    @property
    def unsafe(self) -> bool:
        """May this kernel use the builtins whose CPU adjoints are unreliable?"""
        return self.blocker is not None

    def float_types(self) -> list[WarpType]:
        types = [self.t1]
        if self.two_d:
            types.append(self.t2)
            if self.rows != self.length:  # transposed tiles only where transposes are (see the module's notes)
                types += [self.t2t, self.t1m] if self.unsafe else [self.t1m]
        return types

    def types(self) -> list[WarpType]:
        return [*self.float_types(), *((self.tv,) if self.vec else ())]

    def tiles_of(self, t: WarpType) -> list[str]:
        return self.w.values_of(t)

    def available(self) -> list[WarpType]:
        return [t for t in self.types() if self.tiles_of(t)]

    def size(self, t: WarpType) -> int:
        total = 1
        for n in self.shapes[t.name]:
            total *= n
        return total

    def offset(self, t: WarpType) -> str:
        shape = self.shapes[t.name]
        return f"i * {shape[0]}" if len(shape) == 1 else f"(i * {shape[0]}, 0)"

    def array_shape(self, t: WarpType) -> list[int]:
        shape = self.shapes[t.name]
        return [self.blocks * shape[0], *shape[1:]]

    def shape_arg(self, t: WarpType) -> str:
        shape = self.shapes[t.name]
        return str(shape[0]) if len(shape) == 1 else f"({', '.join(str(n) for n in shape)})"

    def expr(self, t: WarpType, depth: int | None = None, exclude: tuple[str, ...] = ()) -> str:
        """A tile operation (never just an existing tile: no aliasing copies); 2 deep, 3 at level 5."""
        cap = 3 if self.w.level >= 5 else 2
        return self.w.expr(t, min(cap, depth or self.w.limits.depth), exclude, leaf_bias=0.0, operation=True)

    def source_tile(self, t: WarpType, skip: list[str] | None = None) -> str:
        """A tile of type ``t`` to reduce or transform: one that depends on the inputs (not a constructor),
        one nothing has read yet first."""
        w = self.w
        candidates = [n for n in self.tiles_of(t) if n not in (skip or ())]
        tiles = [n for n in candidates if w.deps(n)] or candidates
        pending = [n for n in tiles if n in w.pending(t)]
        return w.choose(pending or tiles)


# ------------------------------------------------------------------ productions
def _productions(s: _Tiles) -> list[Production]:
    prods: list[Production] = []
    for t in s.float_types():
        prods += [
            _p(t, "({0} + {1})", (t, t), 2.0, ("summed", "combined")),
            _p(t, "({0} - {1})", (t, t), 1.5, ("residual", "diff")),
            _p(t, "({0} * {1})", (t, t), 0.6, ("product", "gated")),
            _p(t, "({0} * {1})", (t, FLOAT), 1.0, ("scaled", "weighted")),
            _p(t, "({1} * {0})", (t, FLOAT), 0.4, ("scaled", "weighted")),
            _p(t, "(-{0})", (t,), 0.2, ("negated",)),
        ]
        prods += [_p(t, f"wp.tile_map(wp.{u}, {{0}})", (t,), 0.35, ("activated", "mapped")) for u in _SAFE_UNARY]
        if s.unsafe:
            prods += [_p(t, f"wp.tile_map(wp.{u}, {{0}})", (t,), 0.08, ("snapped", "rounded")) for u in _ROUNDING_UNARY]
        prods += [_p(t, f"wp.tile_map(wp.{b}, {{0}}, {{1}})", (t, t), 0.2, ("merged", "paired")) for b in _SAFE_BINARY]
        if s.unsafe and len(s.shapes[t.name]) == 1:
            prods += [_p(t, f"wp.{scan}({{0}})", (t,), 0.12, ("prefix", "scanned")) for scan in _SCANS]
    if s.two_d:
        m, n = s.rows, s.length
        prods += [
            _p(s.t2, f"wp.tile_broadcast({{0}}, shape=({m}, {n}))", (s.t1,), 0.8, ("broadcast", "expanded")),
            _p(s.t1, "wp.tile_sum({0}, axis=0)", (s.t2,), 0.6, ("col_sums", "column_total")),
        ]
        if m != n:
            reshape = f"wp.tile_broadcast(wp.tile_reshape({{0}}, shape=({m}, 1)), shape=({m}, {n}))"
            prods += [
                _p(s.t1m, "wp.tile_sum({0}, axis=1)", (s.t2,), 0.6, ("row_sums", "row_total")),
                _p(s.t2, reshape, (s.t1m,), 0.5, ("row_broadcast", "per_row")),
            ]
            if s.unsafe:
                prods += [
                    _p(s.t2, "wp.tile_transpose({0})", (s.t2t,), 0.8, ("transposed", "flipped")),
                    _p(s.t2t, "wp.tile_transpose({0})", (s.t2,), 0.8, ("transposed", "flipped")),
                ]
        else:
            prods.append(_p(s.t1, "wp.tile_sum({0}, axis=1)", (s.t2,), 0.4, ("row_sums", "row_total")))
            if s.unsafe:
                prods.append(_p(s.t2, "wp.tile_transpose({0})", (s.t2,), 0.6, ("transposed", "flipped")))
                prods.append(_p(s.t2, "wp.tile_diag_add({0}, {1})", (s.t2, s.t1), 0.4, ("shifted", "regularized")))
        if s.unsafe:
            op = s.w.choose(("wp.max", "wp.min", "wp.add"))
            prods.append(_p(s.t1, f"wp.tile_reduce({op}, {{0}}, axis=0)", (s.t2,), 0.3, ("folded_cols", "col_fold")))
    if s.vec:
        tv, t1 = s.tv, s.t1
        prods += [
            _p(tv, "({0} + {1})", (tv, tv), 1.5, ("moved", "summed_pts")),
            _p(tv, "({0} - {1})", (tv, tv), 1.0, ("offsets", "deltas")),
            _p(tv, "({0} * {1})", (tv, FLOAT), 1.0, ("scaled_pts", "stretched")),
            _p(tv, "wp.tile_map(wp.normalize, {0})", (tv,), 0.6, ("dirs", "unit_dirs")),
            _p(tv, "wp.tile_map(wp.cross, {0}, {1})", (tv, tv), 0.6, ("normals", "torques")),
            _p(t1, "wp.tile_map(wp.length, {0})", (tv,), 0.6, ("lengths", "dists")),
            _p(t1, "wp.tile_map(wp.dot, {0}, {1})", (tv, tv), 0.6, ("alignments", "dots")),
        ]
    return prods


# ------------------------------------------------------------------ loading
def _input_names(s: _Tiles, t: WarpType) -> tuple[str, str]:
    w = s.w
    if t == s.tv:
        options = [("points", "pts_tile"), ("positions", "pos_tile")]
    elif t == s.t2:
        options = [("m", "m_tile"), ("grid", "grid_tile")]
    elif t == s.t2t:
        options = [("mt", "mt_tile"), ("grid_t", "grid_t_tile")]
    else:
        options = list(_INPUTS_1D)
    free = [(a, e) for a, e in options if not w.taken(a) and not w.taken(e)]
    return free[0] if free else (w.name("data"), w.name("data_tile"))


def _load(s: _Tiles, t: WarpType) -> str:
    """An input array shaped for ``t`` per block, loaded as this block's tile."""
    w = s.w
    array, tile = _input_names(s, t)
    dtype = VEC3 if t == s.tv else FLOAT
    ndim = len(s.shapes[t.name])
    w.input_array(dtype, array, ndim=ndim, recipe={"shape": s.array_shape(t)})
    s.first_input = s.first_input or (array if t == s.t1 else "")
    storage = ', storage="shared"' if w.rng.random() < 0.25 else ""
    loaded = w.let(tile, f"wp.tile_load({array}, shape={s.shape_arg(t)}, offset={s.offset(t)}{storage})", t)
    s.loaded.append(loaded)
    return loaded


def _load_chunks(s: _Tiles, t: WarpType) -> str:
    """Accumulate K chunks along the columns of a wider array (a blocked reduction / K-loop)."""
    w = s.w
    k = w.rng.randint(2, 4)
    shape = s.shapes[t.name]
    array, _ = _input_names(s, t)
    if len(shape) == 1:
        w.input_array(FLOAT, array, ndim=2, recipe={"shape": [s.blocks, k * shape[0]]})
        load = f"wp.tile_load({array}[i], shape={shape[0]}, offset=chunk * {shape[0]})"
    else:
        w.input_array(FLOAT, array, ndim=2, recipe={"shape": [s.blocks * shape[0], k * shape[1]]})
        load = f"wp.tile_load({array}, shape={s.shape_arg(t)}, offset=(i * {shape[0]}, chunk * {shape[1]}))"
    acc = w.let((f"{array}_sum", "acc"), f"wp.tile_zeros(shape={s.shape_arg(t)}, dtype=float)", t)
    with w.block(f"for chunk in range({k})"), w.protect(acc):
        # the update never reads the accumulator: an in-place update of a tile it reads has a wrong CPU adjoint
        w.define("chunk", INT)
        part = w.let(("part", "chunk_tile"), load, t)
        combine = w.choose(("plain", "map", "scaled", "expr"))
        if combine == "plain":
            value = part
        elif combine == "map":
            value = f"wp.tile_map(wp.{w.choose(_SAFE_UNARY)}, {part})"
        elif combine == "scaled":
            value = f"{part} * {w.small(0.1, 1.0)}"
        else:
            value = s.expr(t, 2)
        if w.rng.random() < 0.6:
            w.emit(f"{acc} += {value}")
        else:
            w.set(acc, f"{acc} + {value}")
    return acc


def _gather(s: _Tiles) -> str:
    """Gather rows of a table through a tile of row indices (``tile_load_indexed``)."""
    w = s.w
    table_rows = w.choose((8, 16, 32))
    recipe = {"kind": "index", "high": table_rows, "shape": [s.blocks * s.rows]}
    idx = w.input_array(INT, ("rows", "row_ids_in"), recipe=recipe)
    table = w.input_array(FLOAT, ("table", "lookup"), ndim=2, recipe={"shape": [table_rows, s.length]})
    ids = w.let(("row_ids", "picked_rows"), f"wp.tile_load({idx}, shape={s.rows}, offset=i * {s.rows})", _INT_TILE)
    load = f"wp.tile_load_indexed({table}, indices={ids}, shape=({s.rows}, {s.length}), axis=0)"
    gathered = w.let(("gathered", "table_rows"), load, s.t2)
    s.loaded.append(gathered)
    return gathered


def _constructor(s: _Tiles) -> None:
    """A tile built in registers (ones/full/arange, with a computed fill value where allowed), applied at once
    to a tile of the data: a soft sign, a floor or cap, a position ramp. Afterwards expressions do not read
    it (``s.constants``): an operation on constant tiles only would compute a constant."""
    w = s.w
    types = [t for t in s.float_types() if any(w.deps(n) for n in s.tiles_of(t))]
    if not types:
        return
    t = w.choose(types)
    src = s.source_tile(t)
    shape = s.shape_arg(t)
    kinds = [k for k in ("ones", "full", "arange")[: 3 if len(s.shapes[t.name]) == 1 else 2] if k not in s.built]
    if not kinds:
        return
    kind = w.choose(kinds)
    s.built.append(kind)
    scalars = [n for n in w.locals_of(FLOAT) if w.deps(n)]
    if kind == "ones":
        ones = constant = w.let(("ones", "unit_tile"), f"wp.tile_ones(shape={shape}, dtype=float)", t)
        value, names = f"wp.tile_map(wp.div, {src}, {ones} + wp.tile_map(wp.abs, {src}))", ("softsign", "soft")
    elif kind == "full":
        level = w.small(-1.0, 1.0)
        if s.unsafe and scalars and w.rng.random() < 0.6:
            level = w.choose(scalars)
        elif w.has_arg("alpha") and w.rng.random() < 0.5:
            level = "alpha"
        fill = constant = w.let(("fill", "floor_tile"), f"wp.tile_full(shape={shape}, value={level}, dtype=float)", t)
        op = w.choose(("max", "min"))
        value, names = f"wp.tile_map(wp.{op}, {src}, {fill})", ("floored", "relu") if op == "max" else ("capped",)
    else:
        n = s.shapes[t.name][0]
        step = w.choose((1, 2))
        ramp = f"wp.tile_arange({n}, dtype=float)"
        if step > 1:
            ramp = f"wp.tile_arange(0, {n * step}, {step}, dtype=float)"
        ramp = constant = w.let(("ramp", "index_ramp"), ramp, t)
        value, names = f"({src} * {ramp}) * {w.small(0.02, 0.2)}", ("ramped", "position_weighted")
    w.let(names, value, t)
    if not w.deps(constant):
        s.constants.append(constant)


# ------------------------------------------------------------------ helpers
def _map_helpers(s: _Tiles) -> None:
    """Scalar ``@wp.func`` element functions for ``wp.tile_map``: an expression of 1-3 floats, squashed into
    [-1, 1] the way an activation is, so that maps of maps stay bounded."""
    w = s.w
    low, high = w.limits.helpers
    for _ in range(w.rng.randint(max(1, low), max(1, high))):
        fn = w.function(("activation", "squash", "response", "gate"))
        for _ in range(w.rng.randint(1, 3)):
            fn.param(FLOAT, ("x", "y", "z", "t"))
        for _ in range(w.rng.randint(w.level // 3, 1 + w.level // 2)):
            t = INT if w.level >= 3 and w.rng.random() < 0.25 else FLOAT  # a quantized level, a bit mask
            if fn.can_compute(t, 2):
                fn.assign(t, 2)
        inner = fn.result(FLOAT, max(1, w.limits.depth - 1))
        squash = w.choose(_SQUASH)
        if squash.startswith("{0} /"):  # soft clamp: name the value instead of writing it twice
            inner = fn.let(("raw", "pre"), inner, FLOAT)
        fn.ret(squash.format(inner), FLOAT)
        prod = w.add_function(fn, weight=0.5)
        args = ", ".join(f"{{{k}}}" for k in range(len(prod.operands)))
        for t in s.float_types():
            template = f"wp.tile_map({fn.function_name}, {args})"
            w.add_productions(_p(t, template, (t,) * len(prod.operands), 1.2, ("mapped", "activated")))


def _tile_helper(s: _Tiles) -> None:
    """A ``@wp.func`` taking and returning tiles, its body element-wise tile operations on its parameters
    (``tile_broadcast`` or an axis reduction of a tile parameter does not compile in a function's adjoint)."""
    w = s.w
    t = w.choose(s.float_types())
    fn = w.function(("tile_fn", "block_op", "combine_tiles"))
    a = fn.param(t, ("a",))

    def unary(x: str) -> str:
        return w.choose((f"wp.tile_map(wp.{w.choose(_SAFE_UNARY)}, {x})", f"({x} * {w.small(0.1, 1.0)})", f"(-{x})"))

    if w.rng.random() < 0.5:
        b = fn.param(t, ("b",))
        pair = w.choose((f"({{0}} + {b})", f"({{0}} - {b})", f"({{0}} * {b})", f"wp.tile_map(wp.{{1}}, {{0}}, {b})"))
        inner = unary(a) if w.rng.random() < 0.6 else a
        body = pair.format(inner, w.choose(_SAFE_BINARY))
        if w.rng.random() < 0.4:
            body = unary(body)
    else:
        body = f"({a} * wp.tile_map(wp.{w.choose(('tanh', 'sin', 'atan'))}, {a}))"  # a gated tile
    fn.ret(body, t)
    w.add_function(fn, group="tile", weight=1.5)


_COMBINE = """@wp.func
def NAME(a: float, b: float):
    return {body}"""


# ------------------------------------------------------------------ body statements
def _reduction(s: _Tiles) -> None:
    """Reduce a tile to a scalar the rest of the kernel can use (a tile not reduced before)."""
    w = s.w
    types = [t for t in s.float_types() if any(n not in s.reduced for n in s.tiles_of(t))]
    if not types:
        return
    t = w.choose(types)
    src = s.source_tile(t, skip=s.reduced)
    s.reduced.append(src)
    size = s.size(t)
    kinds = ["mean", "mean", "sum", "extract", "dot"]
    if s.unsafe:
        kinds += ["max", "min", "reduce"]
    kind = w.choose(kinds)
    if kind == "mean":
        w.let(("mean", "block_mean"), f"wp.tile_sum({src})[0] * {1.0 / size!r}", FLOAT)
    elif kind == "sum":
        total = w.let(("total", "block_sum"), f"wp.tile_sum({src})", _tile_type("float", (1,)))
        w.let(("sum_scaled", "energy"), f"{total}[0] * {w.small(0.05, 0.5)}", FLOAT)
    elif kind == "extract":
        idx = ", ".join(str(w.rng.randrange(n)) for n in s.shapes[t.name])
        value = f"wp.tile_extract({src}, {idx})" if w.rng.random() < 0.5 else f"{src}[{idx}]"
        w.let(("elem", "probe"), value, FLOAT)
    elif kind == "dot":
        others = [n for n in s.tiles_of(t) if n != src]
        other = w.choose(others) if others else src
        w.let(("corr", "similarity"), f"wp.tile_dot({src}, {other})[0] * {1.0 / size!r}", FLOAT)
    elif kind in ("max", "min"):
        w.let((f"peak_{kind}", f"block_{kind}"), f"wp.tile_{kind}({src})[0]", FLOAT)
    else:
        body = w.choose(("wp.max(a, b)", "wp.min(a, b)", "wp.max(wp.abs(a), wp.abs(b))", "a + b"))
        op = w.choose(("wp.max", "wp.min", w.helper("combine", _COMBINE.replace("{body}", body))))
        w.let(("folded", "reduced"), f"wp.tile_reduce({op}, {src})[0]", FLOAT)


def _view_sum(s: _Tiles) -> None:
    """Sum a band of rows of a 2-D tile through a view or a slice."""
    w = s.w
    src = s.source_tile(s.t2)
    h = w.rng.randint(1, s.rows - 1)
    r = w.rng.randint(0, s.rows - h)
    roll = w.rng.random()
    if roll < 0.2:  # a single row
        w.let(("row", "first_row"), f"wp.tile_squeeze({src}[{r}:{r + 1}, :])", s.t1)
        return
    if roll < 0.6:
        band = f"wp.tile_view({src}, offset=({r}, 0), shape=({h}, {s.length}))"
    else:
        band = f"{src}[{r}:{r + h}, :]"
    w.let(("band", "band_sum"), f"wp.tile_sum({band}, axis=0)", s.t1)


def _thread_values(s: _Tiles) -> None:
    """Per-thread scalars promoted to a tile, mapped, and brought back with ``untile``."""
    w = s.w
    dependent = [n for n in w.values_of(FLOAT) if w.deps(n)]
    value = w.let(("lane_in", "per_thread"), w.expr(FLOAT, 2, consume=dependent), FLOAT)
    lanes = w.let(("lanes", "lane_tile"), f"wp.tile({value})", _tile_type("float", (s.block_dim,)))
    w.let(("lane_val", "lane_out"), f"wp.untile(wp.tile_map(wp.{w.choose(_SAFE_UNARY)}, {lanes}))", FLOAT)


def _tile_query(s: _Tiles) -> None:
    """A block-cooperative BVH or mesh box query: each step hands every thread one candidate (or -1); per-thread
    counts and sums are combined with ``wp.tile`` + ``tile_sum`` afterwards."""
    w = s.w
    centers = w.input_array(VEC3, ("centers", "probe_points"), recipe={"shape": [s.blocks]})
    half = w.small(0.1, 0.5)
    c = w.let(("center", "probe"), f"{centers}[i]", VEC3)
    if w.rng.random() < 0.5:
        source = w.param(UINT64, "bvh", recipe={"kind": "bvh"})
        start = w.choose(("tile_bvh_query_aabb", "tile_bvh_query_aabb", "tile_bvh_query_ray"))
        step = "tile_bvh_query_next"
        data = w.input_array(VEC3, ("item_pos", "item_centers"), recipe={"shape": [_BVH_ITEMS]})
        value = f"wp.length({data}[{{item}}] - {c})"
    else:
        source = w.param(UINT64, "mesh", recipe={"kind": "mesh"})
        start, step = "tile_mesh_query_aabb", "tile_mesh_query_aabb_next"
        value = f"wp.length(wp.mesh_eval_position({source}, {{item}}, 0.3333, 0.3333) - {c})"
    if start == "tile_bvh_query_ray":
        call = f"wp.{start}({source}, {c}, wp.normalize({c} + wp.vec3(0.0, 0.0, 0.5)))"
    else:
        call = f"wp.{start}({source}, {c} - wp.vec3({half}), {c} + wp.vec3({half}))"
    query = w.let(("query", "box_query"), call, _QUERY)
    hits = w.let(("hits", "hit_count"), "int(0)", INT)
    dist = w.let(("dist_sum", "total_dist"), "float(0.0)", FLOAT)
    with w.block(f"while wp.tile_query_valid({query})"):
        found = w.let(("found", "candidates"), f"wp.{step}({query})", _INT_TILE)
        item = w.let(("item", "candidate"), f"wp.untile({found})", INT)
        with w.block(f"if {item} >= 0"):
            w.emit(f"{hits} += 1")
            w.emit(f"{dist} += {value.format(item=item)}")
    total = w.let(("block_hits", "hits_total"), f"wp.tile_sum(wp.tile({hits}))", _INT_TILE)
    counts = w.output_array(INT, ("hit_counts", "block_counts"), recipe={"shape": [s.blocks]})
    w.store(counts, "i", f"{total}[0]")
    w.let(("near_sum", "dist_total"), f"wp.tile_sum(wp.tile({dist}))[0]", FLOAT)


def _update_target(s: _Tiles, t: WarpType) -> str | None:
    """A tile of type ``t`` to update in place. Warp's CPU adjoint of an in-place tile update is only right
    when nothing read the tile before and the operation that made it does not need its own result for its
    adjoint (``tile_map(wp.max, ...)`` does), so gradient-checked kernels only update loaded tiles no one has
    read."""
    tiles = s.tiles_of(t)
    if len(tiles) < 2:
        return None
    tiles = [n for n in tiles if n not in s.constants]
    if not s.unsafe:
        tiles = [n for n in tiles if n in s.loaded and n in s.w.pending(t)]
    return s.w.choose(tiles) if tiles else None


def _statement(s: _Tiles) -> None:
    w = s.w
    roll = w.rng.random()
    types = s.available()
    t = w.choose({t: 3.0 if t == s.t1 else 2.0 if t == s.t2 else 1.0 for t in types})
    target = _update_target(s, t) if 0.5 <= roll < 0.85 else None
    if roll < 0.5 or (roll < 0.62 and target is None):
        depth = min(3 if w.level >= 5 else 2, w.limits.depth)
        if w.can_compute(t, depth):
            w.assign(t, depth)
        else:
            _reduction(s)
    elif roll < 0.62:
        value = s.expr(t, max(1, w.limits.depth - 1), exclude=(target,))
        w.emit(f"{target} {w.choose(('+=', '-='))} {value}")
    elif roll < 0.77 or (roll < 0.85 and (target is None or t == s.tv)):
        _reduction(s)
    elif roll < 0.85:
        src = w.expr(t, 1, exclude=(target,))
        scalars = w.locals_of(FLOAT)
        alpha = w.choose(scalars) if scalars and w.rng.random() < 0.6 else w.small(0.1, 1.0)
        w.emit(f"wp.tile_axpy({alpha}, {src}, {target})")
    elif s.two_d and s.tiles_of(s.t2) and s.rows > 1:
        _view_sum(s)
    else:
        _reduction(s)


def _blocker(s: _Tiles) -> None:
    """The construct that puts this kernel outside gradient checks (the in-place update comes at the end)."""
    w = s.w
    src = s.source_tile(s.t1)
    if s.blocker == "sort":
        keys = w.let(("keys", "sort_keys"), f"wp.tile_map(wp.{w.choose(('abs', 'sin', 'tanh'))}, {src})", s.t1)
        order = w.let(("order", "perm"), f"wp.tile_arange({s.length}, dtype=int)", _INT_TILE)
        w.emit(f"wp.tile_sort({keys}, {order})")
        ranks = w.output_array(INT, ("ranks", "sorted_idx"), recipe={"shape": [s.blocks * s.length]})
        w.emit(f"wp.tile_store({ranks}, {order}, offset=i * {s.length})")
    elif s.blocker == "argmax":
        fn = w.choose(("tile_argmax", "tile_argmin"))
        best = w.let(("best", "winner"), f"wp.{fn}({src})", _INT_TILE)
        where = w.output_array(INT, ("best_index", "winner_idx"), recipe={"shape": [s.blocks]})
        w.store(where, "i", f"{best}[0]")
    elif s.blocker == "quantize":
        levels = w.choose((4.0, 8.0, 16.0))
        source = f"@wp.func\ndef NAME(v: float):\n    return wp.{w.choose(_ROUNDING_UNARY)}(v * {levels}) / {levels}"
        quantize = w.helper("quantize", source)
        w.let(("quant", "quantized"), f"wp.tile_map({quantize}, {src})", s.t1)
        if w.rng.random() < 0.5:
            codes = w.let(("codes", "levels"), f"wp.tile_astype({src} * {levels}, dtype=int)", _INT_TILE)
            out = w.output_array(INT, ("codes_out", "level_codes"), recipe={"shape": [s.blocks * s.length]})
            w.emit(f"wp.tile_store({out}, {codes}, offset=i * {s.length})")


# ------------------------------------------------------------------ outputs
def _with_input(s: _Tiles, t: WarpType, value: str) -> str:
    """``value``, plus an input-dependent tile where it depends on no kernel input (a constructor only)."""
    w = s.w
    if w.deps(value):
        return value
    carriers = [n for n, vt in w.scope.items() if vt.name.startswith("tile:") and w.deps(n) and w.can_reach(n, t, 2)]
    return f"({value} + {w.expr(t, 2, consume=carriers)})" if carriers else value


def _store_tile(s: _Tiles, out: str, t: WarpType) -> None:
    base = s.expr(t)
    try:
        value = s.w.result(t, min(2, s.w.limits.depth), base=base)
    except ValueError:  # the generator can give up routing a pending tile to ``t`` (three tries): store the rest
        value = base
    s.w.emit(f"wp.tile_store({out}, {_with_input(s, t, value)}, offset={s.offset(t)})")


def _store(s: _Tiles) -> None:
    """Store the result tiles (every tile type with unread tiles, and maybe more), accumulate, write scalars."""
    w = s.w
    if s.blocker == "in_place":  # the result goes back into the first input array
        _store_tile(s, s.first_input, s.t1)
    names = iter(("out", "result", "out_block", "out_extra", "out_more"))
    stored = 0
    for t in s.available():
        if stored and not w.pending(t) and w.rng.random() >= 0.3:
            continue
        dtype = VEC3 if t == s.tv else FLOAT
        recipe = {"shape": s.array_shape(t)}
        _store_tile(s, w.output_array(dtype, next(names), ndim=len(s.shapes[t.name]), recipe=recipe), t)
        stored += 1
    if w.rng.random() < 0.35:
        t = w.choose([t for t in (s.t1, s.t2) if s.tiles_of(t)])
        shape = list(s.shapes[t.name])
        acc = w.output_array(FLOAT, ("total", "accum"), ndim=len(shape), recipe={"shape": shape})
        w.emit(f"wp.tile_atomic_add({acc}, {_with_input(s, t, s.expr(t, 2))})")
    if w.rng.random() < 0.2:
        bins = w.choose((8, 16))
        recipe = {"kind": "index", "high": bins, "shape": [s.blocks * s.length]}
        idx = w.input_array(INT, ("bins", "bin_ids_in"), recipe=recipe)
        ids = w.let(("bin_ids", "bin_tile"), f"wp.tile_load({idx}, shape={s.length}, offset=i * {s.length})", _INT_TILE)
        hist = w.output_array(FLOAT, ("hist", "bin_totals"), recipe={"shape": [bins]})
        w.emit(f"wp.tile_atomic_add_indexed({hist}, {ids}, {_with_input(s, s.t1, s.expr(s.t1, 2))})")
    if w.pending(FLOAT):
        stats = w.output_array(FLOAT, ("block_stats", "stats"), recipe={"shape": [s.blocks]})
        w.store(stats, "i", w.result(FLOAT))


def _loads(s: _Tiles) -> None:
    """At least one 1-D tile, and 2-D / vector tiles when the kernel has them."""
    w, rng = s.w, s.w.rng
    if s.blocker == "in_place" or rng.random() < 0.7:
        _load(s, s.t1)
    else:
        _load_chunks(s, s.t1)
    for _ in range(max(0, w.limits.inputs - 1 - int(s.two_d) - int(s.vec))):
        _load(s, s.t1)
    if s.two_d:
        roll = rng.random()
        if roll < 0.6:
            _load(s, s.t2)
        elif roll < 0.8 and w.level >= 2:
            _load_chunks(s, s.t2)
        else:
            _gather(s)
        if s.unsafe and s.rows != s.length and rng.random() < 0.3:
            _load(s, s.t2t)
    if s.vec:
        _load(s, s.tv)


@register_category("tile", groups={"arith", "trig"})
def tile(w: KernelWriter) -> None:
    """Tile programming: tile_load/store, tile_map, reductions, transpose/broadcast/views, tile atomics."""
    rng = w.rng
    two_d = rng.random() < 0.55
    length = w.choose((8, 16, 16, 32)) if rng.random() < 0.5 else w.choose((8, 8, 16))
    s = _Tiles(
        w,
        blocks=w.choose((1, 2, 2, 4, 4, 8)),
        block_dim=w.choose((32, 64, 64, 128)),
        length=min(length, 16) if two_d else length,
        rows=w.choose((4, 8)),
        two_d=two_d,
        vec=rng.random() < 0.25,
        # kernels outside gradient checks (by a sort, argmax, quantization or in-place update) may use the
        # builtins whose CPU adjoints are unreliable
        blocker=w.choose(("sort", "argmax", "quantize", "in_place")) if rng.random() < 0.45 else None,
    )
    w.set_launch((s.blocks,), tiled_block_dim=s.block_dim)
    for t in s.types():
        w.local_names[t.name] = _TILE_NAMES
    w.add_productions(*_productions(s))
    if rng.random() < 0.4:
        w.param(FLOAT, "alpha", recipe={"low": -1.0, "high": 1.0})
    _loads(s)
    if rng.random() < 0.5:
        _constructor(s)
    if w.level >= 2:
        _map_helpers(s)
    if w.level >= 3 and rng.random() < 0.4:
        _tile_helper(s)
    if s.blocker and s.blocker != "in_place":
        _blocker(s)
    if rng.random() < 0.12:
        _tile_query(s)
    for _ in range(w.limits.statements + w.level - 1):
        with w.protect(*s.constants):
            _statement(s)
        if rng.random() < 0.15:
            _constructor(s)
    if s.unsafe and rng.random() < 0.3 and any(w.deps(n) for n in w.values_of(FLOAT)):
        _thread_values(s)  # the CPU adjoint of wp.tile / wp.untile of per-thread values is wrong too
    with w.protect(*s.constants):
        _store(s)
