"""Tile kernels: block-cooperative ``wp.tile_*`` programs launched with ``wp.launch_tiled``.

Each block (``i = wp.tid()`` is the block index) loads tiles from its slice of the input arrays, combines
them with typed random *tile expressions* (element-wise arithmetic, ``tile_map`` with builtins and
``@wp.func`` helpers, transposes, broadcasts, axis reductions), reduces some of them to scalars, and
stores or atomically accumulates the results. Tile shapes are fixed per kernel and every array is given
an explicit shape that matches them.

On the CPU, gradients are checked against finite differences; Warp 1.19's CPU adjoints of some tile
builtins are wrong (scans, ``tile_max``/``tile_min``/``tile_reduce``, ``tile_diag_add``, ``tile_full``
with a computed value), so those only appear in kernels that are outside gradient checks for another,
natural reason (a sort, an argmax, a quantization, an in-place update). ``tile_matmul``, ``tile_fft`` and
the Cholesky / triangular solvers do not get through code generation without a target architecture and
are not used.
"""

from __future__ import annotations

from ..category import register_category
from ..expressions import ExpressionGenerator, Production
from ..types import FLOAT, INT, UINT64, VEC3, WarpType, float_literal
from ..writer import KernelWriter
from .common import result_expr

_BVH_ITEMS = 64  # items in the validator's BVHs (validate.LAUNCH_DIM)
_SAFE_UNARY = ("sin", "cos", "tanh", "abs", "atan")
_ROUNDING_UNARY = ("floor", "round", "trunc", "ceil")
_SAFE_BINARY = ("add", "sub", "mul", "min", "max")
_SCANS = ("tile_scan_inclusive", "tile_scan_exclusive", "tile_scan_max_inclusive", "tile_scan_min_inclusive")
_NAMES = ("a", "b", "c", "d", "e", "g", "h", "r", "v")
#: argument names this category may declare later in a kernel (locals must not take them)
_RESERVED = frozenset(
    {"x", "y", "z", "u", "m", "mt", "pts", "rows", "table", "alpha", "total", "hist", "bins", "block_stats"}
    | {"ranks", "best_index", "codes_out", "out", "out1", "out2", "out3", "out4", "centers", "bvh", "mesh"}
    | {"item_pos", "hit_counts"}
)


def _tile_type(dtype: str, shape: tuple[int, ...]) -> WarpType:
    dims = ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "")
    return WarpType(f"tile:{dtype}:{'x'.join(str(n) for n in shape)}", f"wp.tile(dtype={dtype}, shape=({dims}))")


def _p(result: WarpType, template: str, operands: tuple[WarpType, ...], weight: float = 1.0) -> Production:
    return Production(result, template, operands, "tile", weight)


class _Tiles:
    """Per-kernel state: tile shapes and types, which types have variables, pending productions."""

    def __init__(self, w: KernelWriter):
        self.w = w
        rng = self.rng = w.rng
        self.used: dict[str, int] = {}
        self.blocks = rng.choice((1, 2, 2, 4, 4, 8))
        self.block_dim = rng.choice((32, 64, 64, 128))
        self.length = rng.choice((8, 16, 16, 32)) if rng.random() < 0.5 else rng.choice((8, 8, 16))
        self.rows = rng.choice((4, 8))
        self.two_d = rng.random() < 0.55
        if self.two_d:
            self.length = min(self.length, 16)
        self.vec = rng.random() < 0.25
        # kernels outside gradient checks (by a sort, argmax, quantization or in-place update) may use the
        # builtins whose CPU adjoints are unreliable
        self.blocker = rng.choice(("sort", "argmax", "quantize", "in_place")) if rng.random() < 0.45 else None
        self.unsafe = self.blocker is not None
        self.t1 = _tile_type("float", (self.length,))
        self.t2 = _tile_type("float", (self.rows, self.length))
        self.t2t = _tile_type("float", (self.length, self.rows))
        self.t1m = _tile_type("float", (self.rows,))
        self.tv = _tile_type("wp.vec3", (self.length,))
        self.shapes: dict[str, tuple[int, ...]] = {
            self.t1.name: (self.length,),
            self.t2.name: (self.rows, self.length),
            self.t2t.name: (self.length, self.rows),
            self.t1m.name: (self.rows,),
            self.tv.name: (self.length,),
        }
        self.available: set[str] = set()
        self.pending: list[Production] = self._productions()
        self.scalars: list[str] = []
        self.inputs: list[str] = []
        self.read: set[str] = set()  # tiles read by statements written outside the expression generator

    # -------------------------------------------------------------- types and productions
    def float_types(self) -> list[WarpType]:
        types = [self.t1]
        if self.two_d:
            types.append(self.t2)
            if self.rows != self.length:
                types += [self.t2t, self.t1m]
        return types

    def _productions(self) -> list[Production]:
        prods: list[Production] = []
        for t in self.float_types():
            prods += [
                _p(t, "({0} + {1})", (t, t), 2.0),
                _p(t, "({0} - {1})", (t, t), 1.5),
                _p(t, "({0} * {1})", (t, t), 0.6),
                _p(t, "({0} * {1})", (t, FLOAT), 1.0),
                _p(t, "({1} * {0})", (t, FLOAT), 0.4),
                _p(t, "(-{0})", (t,), 0.2),
            ]
            prods += [_p(t, f"wp.tile_map(wp.{u}, {{0}})", (t,), 0.35) for u in _SAFE_UNARY]
            if self.unsafe:
                prods += [_p(t, f"wp.tile_map(wp.{u}, {{0}})", (t,), 0.08) for u in _ROUNDING_UNARY]
            prods += [_p(t, f"wp.tile_map(wp.{b}, {{0}}, {{1}})", (t, t), 0.2) for b in _SAFE_BINARY]
            if self.unsafe and len(self.shapes[t.name]) == 1:
                prods += [_p(t, f"wp.{scan}({{0}})", (t,), 0.12) for scan in _SCANS]
        if self.two_d:
            m, n = self.rows, self.length
            prods += [
                _p(self.t2, f"wp.tile_broadcast({{0}}, shape=({m}, {n}))", (self.t1,), 0.8),
                _p(self.t1, "wp.tile_sum({0}, axis=0)", (self.t2,), 0.6),
            ]
            if m != n:
                prods += [
                    _p(self.t1m, "wp.tile_sum({0}, axis=1)", (self.t2,), 0.6),
                    _p(self.t2, "wp.tile_transpose({0})", (self.t2t,), 0.8),
                    _p(self.t2t, "wp.tile_transpose({0})", (self.t2,), 0.8),
                    _p(
                        self.t2,
                        f"wp.tile_broadcast(wp.tile_reshape({{0}}, shape=({m}, 1)), shape=({m}, {n}))",
                        (self.t1m,),
                        0.5,
                    ),
                ]
            else:
                prods += [
                    _p(self.t2, "wp.tile_transpose({0})", (self.t2,), 0.6),
                    _p(self.t1, "wp.tile_sum({0}, axis=1)", (self.t2,), 0.4),
                ]
                if self.unsafe:
                    prods.append(_p(self.t2, "wp.tile_diag_add({0}, {1})", (self.t2, self.t1), 0.4))
            if self.unsafe:
                op = self.rng.choice(("wp.max", "wp.min", "wp.add"))
                prods.append(_p(self.t1, f"wp.tile_reduce({op}, {{0}}, axis=0)", (self.t2,), 0.3))
        if self.vec:
            tv, t1 = self.tv, self.t1
            prods += [
                _p(tv, "({0} + {1})", (tv, tv), 1.5),
                _p(tv, "({0} - {1})", (tv, tv), 1.0),
                _p(tv, "({0} * {1})", (tv, FLOAT), 1.0),
                _p(tv, "wp.tile_map(wp.normalize, {0})", (tv,), 0.6),
                _p(tv, "wp.tile_map(wp.cross, {0}, {1})", (tv, tv), 0.6),
                _p(t1, "wp.tile_map(wp.length, {0})", (tv,), 0.6),
                _p(t1, "wp.tile_map(wp.dot, {0}, {1})", (tv, tv), 0.6),
            ]
        return prods

    def _release(self) -> None:
        """Hand the generator every pending production whose operand types now all have variables."""
        ready = [
            p
            for p in self.pending
            if all(not o.name.startswith("tile:") or o.name in self.available for o in p.operands)
        ]
        for prod in ready:
            self.pending.remove(prod)
            self.w.gen.add(prod)

    def add_production(self, prod: Production) -> None:
        self.pending.append(prod)
        self._release()

    # -------------------------------------------------------------- locals
    def name(self, base: str | None = None) -> str:
        taken = {a.name for a in self.w.args} | set(self.w.scope) | _RESERVED
        for candidate in [base] if base else _NAMES:
            n = self.used.get(candidate, 0)
            name = candidate if n == 0 else f"{candidate}{n}"
            if name not in taken:
                self.used[candidate] = n + 1
                return name
        base = base or "tile"
        while True:
            n = self.used.get(base, 0)
            self.used[base] = n + 1
            if f"{base}{n}" not in taken:
                return f"{base}{n}"

    def let_tile(self, value: str, t: WarpType, base: str | None = None) -> str:
        name = self.name(base)
        self.w.emit(f"{name} = {value}")
        self.w.define(name, t)
        if t.name not in self.available:
            self.available.add(t.name)
            self._release()
        return name

    def let_scalar(self, value: str, base: str) -> str:
        name = self.name(base)
        self.w.emit(f"{name} = {value}")
        self.w.define(name, FLOAT)
        self.scalars.append(name)
        return name

    def tiles_of(self, t: WarpType) -> list[str]:
        return [n for n, vt in self.w.scope.items() if vt == t]

    def pick_type(self) -> WarpType:
        types = [t for t in (*self.float_types(), self.tv) if t.name in self.available]
        weights = [3.0 if t == self.t1 else 2.0 if t == self.t2 else 1.0 for t in types]
        return self.rng.choices(types, weights)[0]

    def small(self, low: float = 0.1, high: float = 1.0) -> str:
        return float_literal(self.rng, low, high)

    def expr(self, t: WarpType, depth: int | None = None, exclude: str | None = None) -> str:
        """A tile expression (never just an existing tile: no aliasing copies); 2 deep, 3 at level 5."""
        scope = {n: vt for n, vt in self.w.scope.items() if n != exclude}
        cap = 3 if self.w.level >= 5 else 2
        return self.w.gen.expr(t, min(cap, depth or self.w.limits.depth), scope, leaf_bias=0.0)

    def offset(self, t: WarpType) -> str:
        shape = self.shapes[t.name]
        if len(shape) == 1:
            return f"i * {shape[0]}"
        return f"(i * {shape[0]}, 0)"

    def array_shape(self, t: WarpType) -> list[int]:
        shape = self.shapes[t.name]
        return [self.blocks * shape[0], *shape[1:]]

    def shape_arg(self, t: WarpType) -> str:
        shape = self.shapes[t.name]
        return str(shape[0]) if len(shape) == 1 else f"({', '.join(str(n) for n in shape)})"


# ------------------------------------------------------------------ loading
def _load(s: _Tiles, t: WarpType, name: str) -> str:
    """An input array shaped for ``t`` per block, loaded as this block's tile."""
    w, rng = s.w, s.rng
    dtype = VEC3 if t == s.tv else FLOAT
    ndim = len(s.shapes[t.name])
    w.input_array(dtype, load=False, name=name, ndim=ndim, recipe={"shape": s.array_shape(t)})
    s.inputs.append(name)
    storage = ', storage="shared"' if rng.random() < 0.25 else ""
    return s.let_tile(f"wp.tile_load({name}, shape={s.shape_arg(t)}, offset={s.offset(t)}{storage})", t)


def _load_chunks(s: _Tiles, t: WarpType, name: str) -> str:
    """Accumulate K chunks along the columns of a wider array (a blocked reduction / K-loop)."""
    w, rng = s.w, s.rng
    k = rng.randint(2, 4)
    shape = s.shapes[t.name]
    if len(shape) == 1:
        w.input_array(FLOAT, load=False, name=name, ndim=2, recipe={"shape": [s.blocks, k * shape[0]]})
        load = f"wp.tile_load({name}[i], shape={shape[0]}, offset=chunk * {shape[0]})"
    else:
        w.input_array(FLOAT, load=False, name=name, ndim=2, recipe={"shape": [s.blocks * shape[0], k * shape[1]]})
        load = f"wp.tile_load({name}, shape={s.shape_arg(t)}, offset=(i * {shape[0]}, chunk * {shape[1]}))"
    s.inputs.append(name)
    acc = s.let_tile(f"wp.tile_zeros(shape={s.shape_arg(t)}, dtype=float)", t, "acc")
    with w.block(f"for chunk in range({k})"):
        part = s.name("part")
        w.emit(f"{part} = {load}")
        w.define(part, t)
        combine = rng.choice(("plain", "map", "scaled", "expr"))
        if combine == "plain":
            value = part
        elif combine == "map":
            value = f"wp.tile_map(wp.{rng.choice(_SAFE_UNARY)}, {part})"
        elif combine == "scaled":
            value = f"{part} * {s.small(0.1, 1.0)}"
        else:  # never reads the accumulator: an in-place update of a tile it reads has a wrong CPU adjoint
            value = s.expr(t, 2, exclude=acc)
        if rng.random() < 0.6:
            w.emit(f"{acc} += {value}")
        else:
            w.emit(f"{acc} = {acc} + {value}")
    return acc


def _gather(s: _Tiles) -> str:
    """Gather rows of a table through a tile of row indices (``tile_load_indexed``)."""
    w = s.w
    table_rows = s.rng.choice((8, 16, 32))
    idx = w.input_array(
        INT, load=False, name="rows", recipe={"kind": "index", "high": table_rows, "shape": [s.blocks * s.rows]}
    )
    w.input_array(FLOAT, load=False, name="table", ndim=2, recipe={"shape": [table_rows, s.length]})
    s.inputs.append("table")
    ids = s.name("row_ids")
    w.emit(f"{ids} = wp.tile_load({idx}, shape={s.rows}, offset=i * {s.rows})")
    return s.let_tile(f"wp.tile_load_indexed(table, indices={ids}, shape=({s.rows}, {s.length}), axis=0)", s.t2)


def _constructor(s: _Tiles) -> None:
    """A tile built in registers: zeros/ones/full/arange (with a computed fill value where allowed)."""
    rng = s.rng
    t = rng.choice(s.float_types())
    shape = s.shape_arg(t)
    kind = rng.choice(("ones", "full", "arange") if len(s.shapes[t.name]) == 1 else ("ones", "full"))
    if kind == "ones":
        s.let_tile(f"wp.tile_ones(shape={shape}, dtype=float)", t, "ones")
    elif kind == "full":
        value = s.small(-1.0, 1.0)
        if s.unsafe and s.scalars and rng.random() < 0.6:
            value = rng.choice(s.scalars)
        elif "alpha" in s.w.scope and rng.random() < 0.5:
            value = "alpha"
        s.let_tile(f"wp.tile_full(shape={shape}, value={value}, dtype=float)", t, "fill")
    else:
        n = s.shapes[t.name][0]
        if rng.random() < 0.5:
            s.let_tile(f"wp.tile_arange({n}, dtype=float) * {s.small(0.01, 0.2)}", t, "ramp")
        else:
            step = rng.choice((1, 2))
            s.let_tile(f"wp.tile_arange(0, {n * step}, {step}, dtype=float) * {s.small(0.01, 0.1)}", t, "ramp")


# ------------------------------------------------------------------ helpers
_SQUASH = ("wp.tanh({0})", "wp.sin({0})", "{0} / (1.0 + wp.abs({0}))", "wp.clamp({0}, -1.0, 1.0)")


def _map_helpers(s: _Tiles) -> None:
    """Scalar ``@wp.func`` element functions for ``wp.tile_map``: an expression of 1-3 floats, squashed into
    [-1, 1] the way an activation is, so that maps of maps stay bounded."""
    w, rng = s.w, s.rng
    low, high = w.limits.helpers
    gen = ExpressionGenerator(rng, frozenset({"arith", "trig"}))
    for _ in range(rng.randint(max(1, low), max(1, high))):
        name = f"{w.name}_fn{len(w.helpers)}"
        arity = rng.randint(1, 3)
        scope = {f"a{k}": FLOAT for k in range(arity)}
        lines = ["@wp.func", f"def {name}({', '.join(f'{p}: float' for p in scope)}):"]
        for k in range(rng.randint(0, 1 + w.level // 3)):
            lines.append(f"    h{k} = {gen.expr(FLOAT, 2, scope, leaf_bias=0.1)}")
            scope[f"h{k}"] = FLOAT
        inner = gen.expr(FLOAT, max(1, w.limits.depth - 1), scope, leaf_bias=0.1)
        squash = rng.choice(_SQUASH)
        if squash.startswith("{0} /"):  # soft clamp: name the value instead of writing it twice
            lines.append(f"    y = {inner}")
            inner = "y"
        lines.append(f"    return {squash.format(inner)}")
        w.helper_sources.append("\n".join(lines))
        prod = _p(FLOAT, f"{name}({', '.join(f'{{{k}}}' for k in range(arity))})", (FLOAT,) * arity, 0.5)
        w.helpers.append(prod)
        args = ", ".join(f"{{{k}}}" for k in range(arity))
        for t in s.float_types():
            s.add_production(_p(t, f"wp.tile_map({name}, {args})", (t,) * arity, 1.2))


def _tile_helper(s: _Tiles) -> None:
    """A ``@wp.func`` taking and returning tiles, its body a tile expression over its parameters."""
    w, rng = s.w, s.rng
    t = rng.choice(s.float_types())
    gen = ExpressionGenerator(rng, frozenset({"arith"}))
    for prod in s._productions():
        if prod.result == t and all(o == t or o == FLOAT for o in prod.operands):
            gen.add(prod)
    arity = rng.randint(1, 2)
    scope = {f"x{k}": t for k in range(arity)}
    name = f"{w.name}_tile_fn{len(w.helpers)}"
    params = ", ".join(f"{p}: {t.annotation}" for p in scope)
    body = gen.expr(t, max(2, w.limits.depth - 1), scope, leaf_bias=0.0)
    w.helper_sources.append(f"@wp.func\ndef {name}({params}):\n    return {body}")
    prod = _p(t, f"{name}({', '.join(f'{{{k}}}' for k in range(arity))})", (t,) * arity, 1.5)
    w.helpers.append(prod)
    s.add_production(prod)


def _reduce_helper(s: _Tiles) -> str:
    name = f"{s.w.name}_combine"
    if name not in {p.template.split("(")[0] for p in s.w.helpers} and not any(name in h for h in s.w.helper_sources):
        body = s.rng.choice(("wp.max(a, b)", "wp.min(a, b)", "wp.max(wp.abs(a), wp.abs(b))", "a + b"))
        s.w.helper_sources.append(f"@wp.func\ndef {name}(a: float, b: float):\n    return {body}")
    return name


# ------------------------------------------------------------------ body statements
def _reduction(s: _Tiles) -> None:
    """Reduce a tile to a scalar the rest of the kernel can use."""
    rng = s.rng
    t = rng.choice([t for t in s.float_types() if t.name in s.available])
    src = rng.choice(s.tiles_of(t))
    s.read.add(src)
    size = 1
    for n in s.shapes[t.name]:
        size *= n
    kinds = ["mean", "mean", "sum", "extract", "dot"]
    if s.unsafe:
        kinds += ["max", "min", "reduce"]
    kind = rng.choice(kinds)
    if kind == "mean":
        s.let_scalar(f"wp.tile_sum({src})[0] * {1.0 / size!r}", "mean")
    elif kind == "sum":
        total = s.name("total")
        s.w.emit(f"{total} = wp.tile_sum({src})")
        s.let_scalar(f"{total}[0] * {s.small(0.05, 0.5)}", "sum_scaled")
    elif kind == "extract":
        shape = s.shapes[t.name]
        idx = [str(rng.randrange(n)) for n in shape]
        value = f"wp.tile_extract({src}, {', '.join(idx)})" if rng.random() < 0.5 else f"{src}[{', '.join(idx)}]"
        s.let_scalar(value, "elem")
    elif kind == "dot":
        other = rng.choice(s.tiles_of(t))
        s.read.add(other)
        s.let_scalar(f"wp.tile_dot({src}, {other})[0] * {1.0 / size!r}", "corr")
    elif kind in ("max", "min"):
        s.let_scalar(f"wp.tile_{kind}({src})[0]", f"peak_{kind}")
    else:
        op = rng.choice(("wp.max", "wp.min", _reduce_helper(s)))
        s.let_scalar(f"wp.tile_reduce({op}, {src})[0]", "folded")


def _view_sum(s: _Tiles) -> None:
    """Sum a band of rows of a 2-D tile through a view or a slice."""
    rng = s.rng
    src = rng.choice(s.tiles_of(s.t2))
    s.read.add(src)
    h = rng.randint(1, s.rows - 1)
    r = rng.randint(0, s.rows - h)
    roll = rng.random()
    if roll < 0.2:  # a single row
        s.let_tile(f"wp.tile_squeeze({src}[{r}:{r + 1}, :])", s.t1, "row")
        return
    if roll < 0.6:
        band = f"wp.tile_view({src}, offset=({r}, 0), shape=({h}, {s.length}))"
    else:
        band = f"{src}[{r}:{r + h}, :]"
    s.let_tile(f"wp.tile_sum({band}, axis=0)", s.t1, "band")


def _thread_values(s: _Tiles) -> None:
    """Per-thread scalars promoted to a tile, mapped, and brought back with ``untile``."""
    w, rng = s.w, s.rng
    value = s.let_scalar(w.expr(FLOAT, 2), "val")
    tile = s.name("lanes")
    w.emit(f"{tile} = wp.tile({value})")
    op = rng.choice(_SAFE_UNARY)
    s.let_scalar(f"wp.untile(wp.tile_map(wp.{op}, {tile}))", "lane_val")


def _tile_query(s: _Tiles) -> None:
    """A block-cooperative BVH or mesh box query: each step hands every thread one candidate (or -1); per-thread
    counts and sums are combined with ``wp.tile`` + ``tile_sum`` afterwards."""
    w, rng = s.w, s.rng
    centers = w.input_array(VEC3, load=False, name="centers", recipe={"shape": [s.blocks]})
    half = s.small(0.1, 0.5)
    c = s.name("center")
    w.emit(f"{c} = {centers}[i]")
    w.define(c, VEC3)
    if rng.random() < 0.5:
        w.param(UINT64, name="bvh", recipe={"kind": "bvh"})
        start, step, source = "tile_bvh_query_aabb", "tile_bvh_query_next", "bvh"
        if rng.random() < 0.3:
            start = "tile_bvh_query_ray"
        data = w.input_array(VEC3, load=False, name="item_pos", recipe={"shape": [_BVH_ITEMS]})
        value = f"wp.length({data}[{{item}}] - {c})"
    else:
        w.param(UINT64, name="mesh", recipe={"kind": "mesh"})
        start, step, source = "tile_mesh_query_aabb", "tile_mesh_query_aabb_next", "mesh"
        value = f"wp.length(wp.mesh_eval_position(mesh, {{item}}, 0.3333, 0.3333) - {c})"
    query = s.name("query")
    if start == "tile_bvh_query_ray":
        w.emit(f"{query} = wp.{start}({source}, {c}, wp.normalize({c} + wp.vec3(0.0, 0.0, 0.5)))")
    else:
        w.emit(f"{query} = wp.{start}({source}, {c} - wp.vec3({half}), {c} + wp.vec3({half}))")
    hits = s.name("hits")
    w.emit(f"{hits} = int(0)")
    dist = s.name("dist_sum")
    w.emit(f"{dist} = float(0.0)")
    with w.block(f"while wp.tile_query_valid({query})"):
        found = s.name("found")
        w.emit(f"{found} = wp.{step}({query})")
        item = s.name("item")
        w.emit(f"{item} = wp.untile({found})")
        with w.block(f"if {item} >= 0"):
            w.emit(f"{hits} += 1")
            w.emit(f"{dist} += {value.format(item=item)}")
    total = s.name("block_hits")
    w.emit(f"{total} = wp.tile_sum(wp.tile({hits}))")
    counts = w.output_array(INT, name="hit_counts", recipe={"shape": [s.blocks]})
    w.emit(f"{counts}[i] = {total}[0]")
    s.let_scalar(f"wp.tile_sum(wp.tile({dist}))[0]", "near_sum")


def _update_target(s: _Tiles, t: WarpType) -> str | None:
    """A tile of type ``t`` to update in place. Warp's CPU adjoint of an in-place tile update is only right
    when nothing read the tile before, so gradient-checked kernels only update tiles no one has read."""
    tiles = s.tiles_of(t)
    if len(tiles) < 2:
        return None
    if not s.unsafe:
        tiles = [n for n in tiles if s.w.gen.uses.get(n, 0) == 0 and n not in s.read]
    return s.rng.choice(tiles) if tiles else None


def _statement(s: _Tiles) -> None:
    w, rng = s.w, s.rng
    roll = rng.random()
    t = s.pick_type()
    target = _update_target(s, t) if roll >= 0.5 and roll < 0.85 else None
    if roll < 0.5 or (roll < 0.62 and target is None):
        s.let_tile(s.expr(t), t)
    elif roll < 0.62:
        value = s.expr(t, max(1, w.limits.depth - 1), exclude=target)
        w.emit(f"{target} {rng.choice(('+=', '-='))} {value}")
    elif roll < 0.77 or (roll < 0.85 and (target is None or t == s.tv)):
        _reduction(s)
    elif roll < 0.85:
        src = s.expr(t, 1, exclude=target)
        alpha = rng.choice([*s.scalars, s.small(0.1, 1.0)]) if s.scalars else s.small(0.1, 1.0)
        w.emit(f"wp.tile_axpy({alpha}, {src}, {target})")
    elif s.two_d and s.t2.name in s.available and s.rows > 1:
        _view_sum(s)
    else:
        _reduction(s)


def _blocker(s: _Tiles) -> None:
    """The construct that puts this kernel outside gradient checks (the in-place update comes at the end)."""
    w, rng = s.w, s.rng
    src = rng.choice(s.tiles_of(s.t1))
    s.read.add(src)
    if s.blocker == "sort":
        keys = s.let_tile(f"wp.tile_map(wp.{rng.choice(('abs', 'sin', 'tanh'))}, {src})", s.t1, "keys")
        order = s.name("order")
        w.emit(f"{order} = wp.tile_arange({s.length}, dtype=int)")
        w.emit(f"wp.tile_sort({keys}, {order})")
        ranks = w.output_array(INT, name="ranks", recipe={"shape": [s.blocks * s.length]})
        w.emit(f"wp.tile_store({ranks}, {order}, offset=i * {s.length})")
    elif s.blocker == "argmax":
        fn = rng.choice(("tile_argmax", "tile_argmin"))
        best = s.name("best")
        w.emit(f"{best} = wp.{fn}({src})")
        where = w.output_array(INT, name="best_index", recipe={"shape": [s.blocks]})
        w.emit(f"{where}[i] = {best}[0]")
    elif s.blocker == "quantize":
        levels = rng.choice((4.0, 8.0, 16.0))
        quantize = f"{w.name}_quantize"
        op = rng.choice(_ROUNDING_UNARY)
        w.helper_sources.append(f"@wp.func\ndef {quantize}(v: float):\n    return wp.{op}(v * {levels}) / {levels}")
        s.let_tile(f"wp.tile_map({quantize}, {src})", s.t1, "quant")
        if rng.random() < 0.5:
            codes = s.name("codes")
            w.emit(f"{codes} = wp.tile_astype({src} * {levels}, dtype=int)")
            out = w.output_array(INT, name="codes_out", recipe={"shape": [s.blocks * s.length]})
            w.emit(f"wp.tile_store({out}, {codes}, offset=i * {s.length})")


# ------------------------------------------------------------------ outputs
def _fold(s: _Tiles, t: WarpType) -> str:
    """A tile expression of type ``t`` that folds in every tile of that type nothing has read yet."""
    unread = [n for n in s.w.locals_of(t) if s.w.gen.uses.get(n, 0) == 0][-4:]
    for name in unread:
        s.w.gen.uses[name] = 1
    return " + ".join([*unread, s.expr(t)])


def _store(s: _Tiles) -> None:
    """Store the result tiles (every tile type with unread tiles, and maybe more), accumulate, write scalars."""
    w, rng = s.w, s.rng
    types = [t for t in (*s.float_types(), s.tv) if t.name in s.available]
    unread = [t for t in types if any(w.gen.uses.get(n, 0) == 0 for n in w.locals_of(t))]
    extra = [t for t in types if t not in unread and rng.random() < 0.3]
    stored = unread + extra or [s.t1]
    if s.blocker == "in_place":
        w.emit(f"wp.tile_store(x, {_fold(s, s.t1)}, offset={s.offset(s.t1)})")
        stored = [t for t in stored if t != s.t1]
    for n, t in enumerate(stored):
        dtype = VEC3 if t == s.tv else FLOAT
        ndim = len(s.shapes[t.name])
        out = w.output_array(dtype, name=f"out{n if n else ''}", ndim=ndim, recipe={"shape": s.array_shape(t)})
        w.emit(f"wp.tile_store({out}, {_fold(s, t)}, offset={s.offset(t)})")
    if rng.random() < 0.35:
        t = rng.choice([t for t in (s.t1, s.t2) if t.name in s.available])
        shape = list(s.shapes[t.name])
        acc = w.output_array(FLOAT, name="total", ndim=len(shape), recipe={"shape": shape})
        w.emit(f"wp.tile_atomic_add({acc}, {s.expr(t, 2)})")
    if rng.random() < 0.2:
        bins = rng.choice((8, 16))
        idx = w.input_array(
            INT, load=False, name="bins", recipe={"kind": "index", "high": bins, "shape": [s.blocks * s.length]}
        )
        ids = s.name("bin_ids")
        w.emit(f"{ids} = wp.tile_load({idx}, shape={s.length}, offset=i * {s.length})")
        hist = w.output_array(FLOAT, name="hist", recipe={"shape": [bins]})
        w.emit(f"wp.tile_atomic_add_indexed({hist}, {ids}, {s.expr(s.t1, 2)})")
    if s.scalars:
        out_s = w.output_array(FLOAT, name="block_stats", recipe={"shape": [s.blocks]})
        w.emit(f"{out_s}[i] = {result_expr(w, FLOAT)}")


@register_category("tile", groups={"arith"})
def tile(w: KernelWriter) -> None:
    """Tile programming: tile_load/store, tile_map, reductions, transpose/broadcast/views, tile atomics."""
    s = _Tiles(w)
    rng = s.rng
    w.set_launch((s.blocks,), tiled_block_dim=s.block_dim)
    if rng.random() < 0.4:
        w.param(FLOAT, name="alpha", recipe={"low": -1.0, "high": 1.0})
    # --- loads: at least one 1-D tile, and 2-D / vector tiles when the kernel has them
    s.inputs = []
    if s.blocker == "in_place" or rng.random() < 0.7:
        _load(s, s.t1, "x")
    else:
        _load_chunks(s, s.t1, "x")
    names = iter(("y", "z", "u"))
    for _ in range(max(0, w.limits.inputs - 1 - int(s.two_d) - int(s.vec))):
        _load(s, s.t1, next(names))
    if s.two_d:
        roll = rng.random()
        if roll < 0.6:
            _load(s, s.t2, "m")
        elif roll < 0.8 and w.level >= 2:
            _load_chunks(s, s.t2, "m")
        else:
            _gather(s)
        if s.rows != s.length and rng.random() < 0.3:
            _load(s, s.t2t, "mt")
    if s.vec:
        _load(s, s.tv, "pts")
    if rng.random() < 0.5:
        _constructor(s)
    if w.level >= 2:
        _map_helpers(s)
    if w.level >= 3 and rng.random() < 0.4:
        _tile_helper(s)
    if s.blocker and s.blocker != "in_place":
        _blocker(s)
    if rng.random() < 0.15:
        _thread_values(s)
    if rng.random() < 0.12:
        _tile_query(s)
    for _ in range(w.limits.statements):
        _statement(s)
        if rng.random() < 0.15:
            _constructor(s)
    _store(s)
