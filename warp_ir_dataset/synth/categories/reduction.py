"""Reductions: per-thread partial results over a window of elements, then atomics into a small output.

A kernel picks a *layout* (one element per thread, a contiguous window, a row of a 2-D array, a grid-stride
loop, a neighbour list, a CSR segment, or a 2-D launch) and one to three *reducers*. Each reducer is a
generator with three phases: what it writes before the element loop (accumulators, outputs), what it
writes for each element, and what it writes after the loop (the atomics that publish the partial result).
On a one-element-per-thread layout the per-thread phases collapse into direct atomics.

Gradient notes: an atomic's returned old value never feeds a float output (Warp's adjoint pass does not
replay atomics, so such a kernel would have a wrong gradient); histogram weights are only used where the
bin cannot move with a float input (else a tiny change moves a whole weight).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field

from ..category import register_category
from ..expressions import Production
from ..types import BOOL, FLOAT, FLOAT64, INT, UINT32, VEC2, VEC3, WarpType
from ..writer import KernelWriter
from .common import Vocabulary

# value-level productions that reductions like (norms, component extrema, masks)
_EXTRA = (
    Production(FLOAT, "wp.norm_l1({0})", (VEC3,), "reduction", 0.7, ("l1_norm", "manhattan")),
    Production(FLOAT, "wp.norm_l2({0})", (VEC3,), "reduction", 0.7, ("l2_norm", "magnitude")),
    Production(FLOAT, "wp.norm_huber({0}, 0.5)", (VEC3,), "reduction", 0.4, ("huber", "robust_norm")),
    Production(FLOAT, "wp.norm_pseudo_huber({0})", (VEC3,), "reduction", 0.4, ("pseudo_huber", "soft_norm")),
    Production(FLOAT, "wp.max({0})", (VEC3,), "reduction", 0.5, ("max_comp", "largest_axis")),
    Production(FLOAT, "wp.min({0})", (VEC3,), "reduction", 0.5, ("min_comp", "smallest_axis")),
    Production(FLOAT, "wp.step({0})", (FLOAT,), "reduction", 0.3, ("is_negative", "below_zero")),
    Production(FLOAT, "wp.nonzero({0})", (FLOAT,), "reduction", 0.3, ("is_nonzero", "present")),
    Production(FLOAT, "wp.copysign({0}, {1})", (FLOAT, FLOAT), "reduction", 0.4, ("signed", "oriented")),
    Production(VEC3, "wp.abs({0})", (VEC3,), "reduction", 0.4, ("abs_vec", "extent")),
)

VOCABULARY = Vocabulary(
    inputs={
        "float": (
            ("values", "value"),
            ("weights", "weight"),
            ("samples", "sample"),
            ("energies", "energy"),
            ("scores", "score"),
            ("errors", "err"),
        ),
        "vec3": (("positions", "pos"), ("velocities", "vel"), ("forces", "force"), ("normals", "normal")),
        "int": (("labels", "label"), ("ids", "item_id"), ("levels", "level_in")),
    },
    params={"float": ("scale", "threshold", "weight_scale", "offset")},
    locals={"float": ("contrib", "term", "partial"), "int": ("slot_id", "code")},
)
_QUANTITY = ("contrib", "term", "sample_val", "excess")
_REDUCER_COUNT = {1: (1, 1), 2: (1, 2), 3: (2, 2), 4: (2, 3), 5: (3, 3)}


@dataclass
class _Reduction:
    """The layout of one reduction kernel: how elements are visited, where partial results go."""

    w: KernelWriter
    looped: bool = False
    threads: int = 64
    sub: str = "i"  # subscript of the current element in the data arrays
    flat: str = "i"  # flat index of the current element
    data_ndim: int = 1
    data_recipe: dict = field(default_factory=dict)
    slots: list[tuple[int, str]] = field(default_factory=lambda: [(1, "0")])  # (output size, slot of this thread)
    items: list[str] = field(default_factory=list)  # locals holding the current element's values
    quantities: list[str] = field(default_factory=list)
    accs: list[str] = field(default_factory=list)  # per-thread accumulators (never read by generated terms)
    neighbor: str | None = None  # a neighbour list's entry for the current element (``neighbors[i, k]``)

    def output(self, t: WarpType, names: tuple[str, ...], size: int | None, recipe: dict | None = None) -> str:
        recipe = dict(recipe or {})
        if size is not None:
            recipe["shape"] = [size]
        return self.w.output_array(t, names, recipe=recipe or None)

    def acc(self, names: tuple[str, ...], t: WarpType, init: str) -> str:
        name = self.w.let(names, init, t)
        self.accs.append(name)
        return name

    def element_vars(self) -> list[str]:
        """The element's values, those nothing has read yet first (to be consumed by an expression)."""
        pending = [n for n in self.w.pending() if n in self.items]
        rest = [n for n in self.items if n not in pending]
        self.w.rng.shuffle(rest)
        return pending + rest

    def reads_item(self, t: WarpType, depth: int | None = None) -> str:
        """An operation that reads at least one of the current element's values."""
        return self.w.expr(t, depth, consume=self.element_vars(), leaf_bias=0.1, operation=True)

    def cond(self) -> str:
        return self.w.expr(BOOL, 2, consume=self.element_vars())

    def slot(self) -> tuple[int, str]:
        return self.w.choose(self.slots)

    def quantity(self, named: bool = False) -> str:
        """The value one element contributes: a quantity local, or a fresh expression (named: a local)."""
        w = self.w
        unread = [n for n in self.quantities if n in w.pending(FLOAT)]
        if unread or (self.quantities and w.rng.random() < 0.6):
            return w.choose(unread or self.quantities)
        value = self.reads_item(FLOAT, max(1, w.limits.depth - 1))
        return w.let(_QUANTITY, value, FLOAT) if named else value

    def of_type(self, t: WarpType) -> list[str]:
        scope = self.w.scope
        return [n for n in self.items if scope.get(n) == t]

    def shaped(self, kind: str) -> str:
        """A quantity shaped like a sum term of a dot product, a norm, a square, or a plain value."""
        w = self.w
        floats, vecs = self.of_type(FLOAT), self.of_type(VEC3)
        if kind == "dot" and len(floats) >= 2:
            a, b = w.pick(floats, 2)
            return f"{a} * {b}"
        if kind == "dot" and vecs:
            a = w.choose(vecs)
            others = [v for v in vecs if v != a]
            other = w.choose(others) if others and w.rng.random() < 0.6 else w.expr(VEC3, 1)
            return f"wp.dot({a}, {other})"
        if kind == "norm" and vecs:
            v = w.choose(vecs)
            return w.choose((f"wp.length_sq({v})", f"wp.norm_l1({v})", f"wp.norm_l2({v})", f"wp.norm_huber({v}, 1.0)"))
        if kind == "square":
            q = self.quantity(named=True)  # large values squared and summed lose float32 precision: |q| instead
            return f"{q} * {q}" if w.magnitude(q) <= 5.0 else f"wp.abs({q})"
        if kind == "abs":
            return f"wp.abs({self.quantity()})"
        return self.quantity()

    def can_shape(self, kind: str) -> bool:
        if kind == "dot":
            return len(self.of_type(FLOAT)) >= 2 or bool(self.of_type(VEC3))
        if kind == "norm":
            return bool(self.of_type(VEC3))
        return True

    def int_item(self) -> str:
        """An int derived from the current element: an int input, or a clamped conversion of a quantity."""
        ints = self.of_type(INT)
        if ints and self.w.rng.random() < 0.7:
            return self.w.choose(ints)
        value = f"int(wp.clamp(wp.abs({self.quantity()}) * 8.0, 0.0, 15.0))"
        return self.w.let(("code", "level", "quantized"), value, INT)


# --------------------------------------------------------------------------------------------- reducers
# Each reducer is a generator: code before the first ``yield`` runs before the element loop, code before
# the second for each element, the rest after the loop.
Reducer = Callable[[_Reduction], Iterator[None]]


def _publish_sum(k: _Reduction, out: str, slot: str, value: str, own: bool) -> None:
    w = k.w
    if own:  # each thread owns its slot: a plain store
        w.store(out, slot, value)
        return
    kind = w.choose({"add": 4, "aug": 1, "sub": 1})
    if kind == "aug":
        w.store(out, slot, value, op="+=")
    else:
        w.atomic(f"wp.atomic_{kind}", out, slot, value)


def _sum(k: _Reduction) -> Iterator[None]:
    """Sum of a quantity (plain value, square, |value|, dot-product term or norm) into a slot."""
    w = k.w
    kind = w.choose({"value": 3, "square": 1, "abs": 1, "dot": 2, "norm": 1})
    if kind in ("dot", "norm") and not k.can_shape(kind):
        kind = "square"
    size, slot = k.slot()
    own = slot == "i" and size == k.threads and k.looped and w.rng.random() < 0.5
    names = {
        "square": ("sum_sq", "energy"),
        "dot": ("dot", "inner"),
        "norm": ("norm_sq", "norms"),
        "abs": ("abs_sum", "l1_total"),
    }
    out = k.output(FLOAT, ("partial", "partials") if own else names.get(kind, ("total", "sums")), size)
    acc = k.acc(("acc", "running"), FLOAT, w.choose(("float(0.0)", "wp.float32(0.0)"))) if k.looped else None
    yield
    term = k.shaped(kind)
    guard = nullcontext()
    if w.rng.random() < 0.2:  # skip non-finite contributions, as robust reductions do
        term = w.let(("term", "contrib"), term, FLOAT)
        guard = w.block(f"if wp.isfinite({term})")
    with guard:
        if acc is None:
            _publish_sum(k, out, slot, term, False)
        elif w.rng.random() < 0.5:
            w.emit(f"{acc} += {term}")
        else:
            w.set(acc, f"{acc} + {term}")
    yield
    if acc is not None:
        _publish_sum(k, out, slot, acc, own)
        if own and w.rng.random() < 0.5:
            w.atomic("wp.atomic_add", k.output(FLOAT, ("total", "grand_total"), 1), "0", acc)


def _kahan(k: _Reduction) -> Iterator[None]:
    """Compensated (Kahan) summation in the loop, one atomic at the end."""
    if not k.looped:
        yield from _sum(k)
        return
    w = k.w
    size, slot = k.slot()
    out = k.output(FLOAT, ("total", "compensated_sum"), size)
    total = k.acc(("kahan_sum", "total_local"), FLOAT, "float(0.0)")
    comp = k.acc(("compensation", "carry"), FLOAT, "float(0.0)")
    yield
    y = w.let(("corrected", "adjusted"), f"{k.shaped('value')} - {comp}", FLOAT)
    t = w.let(("running", "new_sum"), f"{total} + {y}", FLOAT)
    w.set(comp, f"({t} - {total}) - {y}")
    w.set(total, t)
    yield
    w.atomic("wp.atomic_add", out, slot, total)


def _sum64(k: _Reduction) -> Iterator[None]:
    """Double-precision accumulation of a float quantity."""
    w = k.w
    size, slot = k.slot()
    out = k.output(FLOAT64, ("total64", "precise_sum"), size)
    acc = k.acc(("acc64", "wide_sum"), FLOAT64, "wp.float64(0.0)") if k.looped else None
    yield
    term = f"wp.float64({k.shaped(w.choose(('value', 'square', 'dot')))})"
    if acc is None:
        w.atomic("wp.atomic_add", out, slot, term)
    else:
        w.emit(f"{acc} += {term}")
    yield
    if acc is not None:
        w.atomic("wp.atomic_add", out, slot, acc)


def _extrema(k: _Reduction) -> Iterator[None]:
    """Running max and/or min, published with atomic_max / atomic_min."""
    w = k.w
    which = w.choose(("max", "min", "both"))
    size, slot = k.slot()
    if which == "both" and size == 1 and w.rng.random() < 0.5:
        out_hi = out_lo = k.output(FLOAT, ("extent", "range_out"), 2)
        slot_hi, slot_lo = "0", "1"
    else:
        out_hi = k.output(FLOAT, ("peak", "max_out"), size) if which != "min" else None
        out_lo = k.output(FLOAT, ("trough", "min_out"), size) if which != "max" else None
        slot_hi = slot_lo = slot
    hi = lo = None
    if k.looped:
        hi = k.acc(("hi", "local_max"), FLOAT, "float(-1.0e9)") if out_hi else None
        lo = k.acc(("lo", "local_min"), FLOAT, "float(1.0e9)") if out_lo else None
    yield
    q = k.shaped(w.choose(("value", "value", "abs")))
    if which == "both" and not q.isidentifier():
        q = w.let(_QUANTITY, q, FLOAT)
    if not k.looped:
        if out_hi:
            w.atomic("wp.atomic_max", out_hi, slot_hi, q)
        if out_lo:
            w.atomic("wp.atomic_min", out_lo, slot_lo, q)
    else:
        if hi:
            if w.rng.random() < 0.6:
                w.set(hi, f"wp.max({hi}, {q})")
            else:
                with w.block(f"if {q} > {hi}"):
                    w.set(hi, q)
        if lo:
            w.set(lo, f"wp.min({lo}, {q})")
    yield
    if hi:
        w.atomic("wp.atomic_max", out_hi, slot_hi, hi)
    if lo:
        w.atomic("wp.atomic_min", out_lo, slot_lo, lo)


def _argmax(k: _Reduction) -> Iterator[None]:
    """Arg-max / arg-min: the value quantized into the high bits of an int key, the index in the low bits.

    One atomic_max (atomic_min) on the key then picks value and index together, whatever the order of the
    threads (an atomic_max on the value followed by a write of the index would race).
    """
    w = k.w
    largest = w.rng.random() < 0.7
    keys = k.output(INT, ("best_key", "argmax_key") if largest else ("least_key", "argmin_key"), 1)
    best = idx = None
    if k.looped:
        best = k.acc(("best", "best_val"), FLOAT, "float(-1.0e9)" if largest else "float(1.0e9)")
        idx = k.acc(("best_idx", "best_at"), INT, "int(-1)")
    yield
    q = k.quantity(named=True)
    if k.looped:
        with w.block(f"if {q} {'>' if largest else '<'} {best}"):
            w.set(best, q)
            w.set(idx, k.flat)
    else:
        best, idx = q, k.flat
    yield
    scale, bound = w.choose(((256.0, 4.0), (1024.0, 1.0), (64.0, 16.0)))
    level = w.let(("level", "bucket"), f"int((wp.clamp({best}, -{bound}, {bound}) + {bound}) * {scale})", INT)
    if w.rng.random() < 0.6:
        key = w.let(("key", "packed"), f"({level} << 10) | ({idx} & 1023)", INT)
    else:
        key = w.let(("key", "packed"), f"{level} * 1024 + wp.clamp({idx}, 0, 1023)", INT)
    w.atomic(f"wp.{'atomic_max' if largest else 'atomic_min'}", keys, "0", key)


def _moments(k: _Reduction) -> Iterator[None]:
    """Mean and variance from two accumulators (sum and sum of squares), plus a count."""
    w = k.w
    packing = w.choose(("slots", "vec"))
    with_count = k.looped and w.rng.random() < 0.6
    if packing == "vec":
        out = k.output(VEC3 if with_count else VEC2, ("moments", "raw_moments"), 1)
    else:
        out = k.output(FLOAT, ("moments", "raw_moments"), 3 if with_count else 2)
    local_stats = k.looped and w.rng.random() < 0.5
    stats = k.output(w.choose((FLOAT, VEC2)), ("stats", "spread"), k.threads) if local_stats else None
    s = ss = n = None
    if k.looped:
        s = k.acc(("sum_x", "first_moment"), FLOAT, "float(0.0)")
        ss = k.acc(("sum_x2", "second_moment"), FLOAT, "float(0.0)")
        n = k.acc(("n_seen", "visited"), INT, "int(0)") if with_count or local_stats else None
    yield
    q = k.quantity(named=True)
    if not k.looped:
        if packing == "vec":
            w.atomic("wp.atomic_add", out, "0", f"wp.vec2({q}, {q} * {q})")
        else:
            w.atomic("wp.atomic_add", out, "0", q)
            w.atomic("wp.atomic_add", out, "1", f"{q} * {q}")
    else:
        w.emit(f"{s} += {q}")
        w.set(ss, f"{ss} + {q} * {q}")
        if n:
            w.emit(f"{n} += 1")
    yield
    if not k.looped:
        return
    if packing == "vec":
        parts = [s, ss] + ([f"float({n})"] if with_count else [])
        w.atomic("wp.atomic_add", out, "0", f"wp.vec{len(parts)}({', '.join(parts)})")
    else:
        w.atomic("wp.atomic_add", out, "0", s)
        w.atomic("wp.atomic_add", out, "1", ss)
        if with_count:
            w.emit(f"wp.atomic_add({out}, 2, float({n}))")  # the array's other slots depend on the data
    if stats:
        inv = w.let(("inv_n", "inv_count"), f"1.0 / wp.max(float({n}), 1.0)", FLOAT)
        mean = w.let(("mean", "avg"), f"{s} * {inv}", FLOAT)
        var = w.let(("var", "variance"), f"wp.max({ss} * {inv} - {mean} * {mean}, 0.0)", FLOAT)
        if w.arg(stats).type is VEC2:
            w.store(stats, "i", f"wp.vec2({mean}, wp.sqrt({var}))")
        else:
            w.store(stats, "i", f"wp.sqrt({var})")


def _count(k: _Reduction) -> Iterator[None]:
    """Count the elements meeting a condition, per thread, then one atomic_add."""
    w = k.w
    size, slot = k.slot()
    counts = k.output(INT, ("hits", "matches"), size)
    n = k.acc(("hit_count", "num_hits"), INT, "int(0)") if k.looped else None
    yield
    cond = k.cond()
    if n is None:
        with w.block(f"if {cond}"):
            w.atomic("wp.atomic_add", counts, slot, "1")
    elif w.rng.random() < 0.5:
        with w.block(f"if {cond}"):
            w.emit(f"{n} += 1")
    else:
        w.set(n, f"{n} + wp.where({cond}, 1, 0)")
    yield
    if n is not None:
        w.atomic("wp.atomic_add", counts, slot, n)


def _bounds(k: _Reduction) -> Iterator[None]:
    """Axis-aligned bounds (per-component atomic_min / atomic_max on vec3) and/or a centroid sum."""
    w = k.w
    what = w.choose(("box", "box", "centroid", "both"))
    box = k.output(VEC3, ("bounds", "aabb"), 2) if what != "centroid" else None
    centroid = k.output(VEC3, ("centroid", "center_sum"), 1) if what != "box" else None
    lo = hi = csum = None
    if k.looped:
        if box:
            lo = k.acc(("lower", "box_min"), VEC3, "wp.vec3(1.0e9)")
            hi = k.acc(("upper", "box_max"), VEC3, "wp.vec3(-1.0e9)")
        if centroid:
            csum = k.acc(("pos_sum", "centroid_acc"), VEC3, "wp.vec3(0.0)")
    yield
    vecs = k.of_type(VEC3)
    if vecs and w.rng.random() < 0.5:
        p = w.choose(vecs)
    else:
        p = w.let(("point", "corner"), k.reads_item(VEC3), VEC3)
    if not k.looped:
        if box:
            w.atomic("wp.atomic_min", box, "0", p)
            w.atomic("wp.atomic_max", box, "1", p)
        if centroid:
            w.atomic("wp.atomic_add", centroid, "0", p)
    else:
        if box:
            w.set(lo, f"wp.min({lo}, {p})")
            w.set(hi, f"wp.max({hi}, {p})")
        if centroid:
            w.emit(f"{csum} += {p}")
    yield
    if lo:
        w.atomic("wp.atomic_min", box, "0", lo)
        w.atomic("wp.atomic_max", box, "1", hi)
    if csum:
        w.atomic("wp.atomic_add", centroid, "0", csum)


def _bitset(k: _Reduction) -> Iterator[None]:
    """Set bits of a mask per element; publish with atomic_or / atomic_and / atomic_xor and a popcount."""
    w = k.w
    op = w.choose(("atomic_or", "atomic_or", "atomic_and", "atomic_xor"))
    mask = k.output(
        INT, {"atomic_or": ("seen", "seen_mask"), "atomic_and": ("common",), "atomic_xor": ("parity",)}[op], 1
    )
    popcount = k.output(INT, ("popcount", "bits_set"), 1) if k.looped and w.rng.random() < 0.5 else None
    bits = k.acc(("bits", "mask_local"), INT, "int(0)") if k.looped else None
    yield
    bit = f"(1 << ({k.int_item()} & 15))"
    if bits is None:
        w.atomic(f"wp.{op}", mask, "0", bit)
    elif w.rng.random() < 0.5:
        w.set(bits, f"{bits} | {bit}")
    else:
        with w.block(f"if {k.cond()}"):
            w.set(bits, f"{bits} ^ {bit}")
    yield
    if bits is not None:
        w.atomic(f"wp.{op}", mask, "0", bits)
        if popcount:
            w.atomic("wp.atomic_add", popcount, "0", f"wp.bit_count({bits})")


def _histogram(k: _Reduction) -> Iterator[None]:
    """Histogram: uniform bins, bins from sorted edges (lower_bound), radix digits, or a vector's dominant axis."""
    w = k.w
    ints, vecs = k.of_type(INT), k.of_type(VEC3)
    scheme = w.choose(
        ("uniform", "uniform", "edges", *(("radix", "radix") if ints else ()), *(("axis",) if vecs else ()))
    )
    bins = 3 if scheme == "axis" else w.choose((4, 8, 16))
    edges = None
    if scheme == "edges":
        edges = w.input_array(FLOAT, ("edges", "bin_edges"), recipe={"kind": "cdf", "shape": [bins]})
    # weights only where the bin cannot move with a float input (else a tiny change moves a whole weight)
    weighted = scheme in ("uniform", "radix") and w.rng.random() < 0.35
    hist = k.output(FLOAT if weighted else INT, ("hist", "histogram"), bins)
    yield
    if scheme == "radix" and w.rng.random() < 0.4:
        key = w.let(("radix_key", "ukey"), f"wp.uint32({w.choose(ints)})", UINT32)
        digit = f"({key} >> wp.uint32({w.rng.randint(0, 2)})) & wp.uint32({bins - 1})"
        b = w.let(("digit", "radix_digit"), f"int({digit})", INT)
    elif scheme == "radix":
        b = w.let(("digit", "radix_digit"), f"({w.choose(ints)} >> {w.rng.randint(0, 2)}) & {bins - 1}", INT)
    elif scheme == "axis":
        arg = w.choose(("argmax", "argmax", "argmin"))
        b = w.let(("axis", "major_axis"), f"int(wp.{arg}(wp.abs({w.choose(vecs)})))", INT)
    elif scheme == "edges":
        x = f"wp.clamp({k.quantity()}, 0.0, 1.0)"
        b = w.let(("bin", "bucket"), f"wp.min(wp.lower_bound({edges}, {x}), {edges}.shape[0] - 1)", INT)
    else:
        low = w.choose((-1.0, -2.0, 0.0))
        width = w.choose((0.25, 0.5, 1.0))
        shifted = f"({k.quantity()} + {-low})" if low else k.quantity()
        b = w.let(("bin", "bucket"), f"int(wp.clamp(wp.floor({shifted} / {width}), 0.0, {float(bins - 1)}))", INT)
    if weighted:
        w.atomic("wp.atomic_add", hist, b, k.shaped(w.choose(("value", "abs"))))
    elif w.rng.random() < 0.3:
        w.store(hist, b, "1", op="+=")
    else:
        w.atomic("wp.atomic_add", hist, b, "1")
    yield


def _segmented(k: _Reduction) -> Iterator[None]:
    """Segmented reduction: each element names its segment through an index array."""
    w = k.w
    segments = w.choose((2, 4, 8, 16))
    recipe = {"kind": "index", "high": segments, **k.data_recipe}
    seg_ids = w.input_array(INT, ("segment_ids", "segments"), ndim=k.data_ndim, recipe=recipe)
    op = w.choose(("atomic_add", "atomic_add", "atomic_max", "atomic_min"))
    names = {"atomic_add": ("seg_sum", "segment_sums"), "atomic_max": ("seg_max",), "atomic_min": ("seg_min",)}
    out = k.output(FLOAT, names[op], segments)
    counts = k.output(INT, ("seg_count", "segment_sizes"), segments) if w.rng.random() < 0.5 else None
    yield
    seg = w.let(("seg", "segment"), f"{seg_ids}[{k.sub}]", INT)
    w.atomic(f"wp.{op}", out, seg, k.shaped(w.choose(("value", "value", "square", "dot"))))
    if counts:
        w.atomic("wp.atomic_add", counts, seg, "1")
    yield


def _cas_loop(k: _Reduction) -> Iterator[None]:
    """A float atomic max/min or add written as a compare-and-swap retry loop (lock-free, as on a GPU)."""
    w = k.w
    kind = w.choose(("max", "min", "add"))
    size, slot = k.slot()
    out = k.output(FLOAT, {"max": ("cas_max",), "min": ("cas_min",), "add": ("cas_sum",)}[kind], size)
    yield
    q = k.quantity(named=True)
    cur = w.let(("cur", "current"), f"{out}[{slot}]", FLOAT)
    if kind == "add":
        if w.rng.random() < 0.5:
            q = w.let(("step", "clamped"), f"wp.clamp({q}, -1.0, 1.0)", FLOAT)
        seen = w.let(("seen", "observed"), f"wp.atomic_cas({out}, {slot}, {cur}, {cur} + {q})", FLOAT)
        with w.block(f"while {seen} != {cur}"):  # another thread got in first: retry on its value
            w.set(cur, seen)
            w.set(seen, f"wp.atomic_cas({out}, {slot}, {cur}, {cur} + {q})")
    else:
        better = ">" if kind == "max" else "<"
        with w.block(f"while {q} {better} {cur}"):  # stop once the stored value is at least as good
            seen = w.let(("seen", "observed"), f"wp.atomic_cas({out}, {slot}, {cur}, {q})", FLOAT)
            with w.block(f"if {seen} == {cur}"):
                w.emit("break")
            w.set(cur, seen)
    yield


def _claim(k: _Reduction) -> Iterator[None]:
    """Test-and-set per bucket (atomic_cas 0 -> 1, or atomic_exch with 1): count distinct buckets and collisions."""
    w = k.w
    buckets = w.choose((4, 8, 16))
    exch = w.rng.random() < 0.5
    clear = {"low": 0, "high": 1, "shape": [buckets]}  # every bucket starts unclaimed (0)
    flags = w.input_array(INT, ("visited", "claimed") if exch else ("claimed", "taken"), recipe=clear)
    distinct = k.output(INT, ("distinct", "unique_count"), 1)
    repeats = k.output(INT, ("collisions", "duplicates"), 1) if w.rng.random() < 0.5 else None
    yield
    b = w.let(("bucket", "slot_id"), f"{k.int_item()} % {buckets}", INT)
    call = f"wp.atomic_exch({flags}, {b}, 1)" if exch else f"wp.atomic_cas({flags}, {b}, 0, 1)"
    prev = w.let(("was_set", "previous"), call, INT)
    with w.block(f"if {prev} == 0"):
        w.atomic("wp.atomic_add", distinct, "0", "1")
    if repeats:
        with w.block("else"):
            w.atomic("wp.atomic_add", repeats, "0", "1")
    yield


_REDUCERS: dict[Reducer, float] = {
    _sum: 3.0,
    _kahan: 1.0,
    _sum64: 1.0,
    _extrema: 2.0,
    _argmax: 1.5,
    _moments: 1.5,
    _count: 1.0,
    _bounds: 1.0,
    _bitset: 1.0,
    _histogram: 2.0,
    _segmented: 2.0,
    _cas_loop: 1.0,
    _claim: 1.0,
}


# --------------------------------------------------------------------------------------------- layouts
def _data_types(k: _Reduction, reducers: list[Reducer]) -> list[WarpType]:
    w = k.w
    types = [w.choose((FLOAT, FLOAT, FLOAT, VEC3, INT)) for _ in range(max(1, w.limits.inputs))]
    if types.count(FLOAT) + types.count(VEC3) == 0:
        types[0] = FLOAT
    if _bounds in reducers and VEC3 not in types and w.rng.random() < 0.7:
        types[-1] = VEC3
    return types


def _declare(k: _Reduction, types: list[WarpType], ndim: int = 1) -> list[tuple[str, str, WarpType]]:
    """Data arrays named from the vocabulary: (array, element local base, type)."""
    w = k.w
    arrays = []
    for t in types:
        pairs = [(a, e) for a, e in VOCABULARY.inputs[t.name] if not w.taken(a) and not w.taken(e)]
        array, element = w.choose(pairs[:3]) if pairs else (None, w.names_for(t)[0])
        recipe = dict(k.data_recipe) or None
        arrays.append((w.input_array(t, array, ndim=ndim, recipe=recipe), element, t))
    return arrays


def _load(k: _Reduction, arrays: list[tuple[str, str, WarpType]]) -> None:
    for array, element, t in arrays:
        k.items.append(k.w.let((element, *k.w.names_for(t)), f"{array}[{k.sub}]", t))


def _gather(k: _Reduction, layout: str, types: list[WarpType], var: str) -> tuple[str, list]:
    """The indirect layouts: a fixed-width neighbour list, or CSR segments; (loop header, arrays to load)."""
    w = k.w
    if layout == "neighbors":
        count = w.choose((2, 4, 6, 8))
        arrays = _declare(k, types)
        recipe = {"kind": "index", "high": 64, "shape": [64, count]}
        nbr = w.input_array(INT, ("neighbors", "adjacency"), ndim=2, recipe=recipe)
        for array, element, t in arrays:  # the thread's own element, for pairwise terms
            if t is not INT and w.rng.random() < 0.5:
                k.items.append(w.let((f"own_{element}", element), f"{array}[i]", t))
        k.sub = k.flat = "nbr"
        header = f"for {var} in range({nbr}.shape[1])" if w.rng.random() < 0.5 else f"for {var} in range({count})"
        k.neighbor = f"{nbr}[i, {var}]"
        return header, arrays
    span = w.choose((2, 4, 8))  # csr
    arrays = _declare(k, types)
    starts = w.input_array(INT, ("seg_start", "row_start"), recipe={"kind": "index", "high": 64})
    lengths = w.input_array(INT, ("seg_len", "row_len"), recipe={"kind": "index", "high": span + 1})
    first = w.let(("first", "begin"), f"{starts}[i]", INT)
    last = w.let(("last", "end"), f"wp.min({first} + {lengths}[i], 64)", INT)
    k.sub = k.flat = var
    return f"for {var} in range({first}, {last})", arrays


def _begin(k: _Reduction, layout: str, types: list[WarpType]) -> tuple[str | None, list]:
    """Declare launch and data arrays; return the loop header (None: no loop) and the arrays to load per element."""
    w = k.w
    if layout == "element":
        _load(k, _declare(k, types))
        groups = w.choose((2, 4, 8))
        k.slots = [(1, "0"), (1, "0"), (groups, f"i % {groups}")]
        return None, []
    if layout == "grid2d":
        rows, cols = w.choose(((4, 8), (8, 8), (8, 4), (16, 4), (4, 16), (8, 16)))
        w.set_launch((rows, cols))
        k.threads, k.sub, k.flat, k.data_ndim = rows * cols, "i, j", f"i * {cols} + j", 2
        k.data_recipe = {"shape": [rows, cols]}
        _load(k, _declare(k, types, 2))
        k.slots = [(1, "0"), (rows, "i"), (cols, "j")]
        return None, []
    k.looped = True
    var = "k"
    if layout == "window":
        width = w.choose((2, 4, 8))
        k.threads = w.choose((8, 16, 32))
        w.set_launch((k.threads,))
        k.data_recipe = {"shape": [k.threads * width]}
        arrays = _declare(k, types)
        start = w.let(("start", "first"), f"i * {width}", INT)
        k.flat = k.sub = f"{start} + {var}"
        header = f"for {var} in range({width})"
    elif layout == "rows":
        cols = w.choose((4, 8, 16))
        k.threads = w.choose((8, 16, 32))
        w.set_launch((k.threads,))
        k.data_ndim, k.data_recipe = 2, {"shape": [k.threads, cols]}
        arrays = _declare(k, types, 2)
        k.sub, k.flat = f"i, {var}", f"i * {cols} + {var}"
        header = f"for {var} in range({cols})"
    elif layout == "stride":
        k.threads = w.choose((8, 16, 32))
        w.set_launch((k.threads,))
        elements = k.threads * w.choose((2, 4, 8))
        k.data_recipe = {"shape": [elements]}
        arrays = _declare(k, types)
        k.sub = k.flat = var
        header = f"for {var} in range(i, {elements}, {k.threads})"
    else:
        header, arrays = _gather(k, layout, types, var)
    k.slots = [(1, "0"), (1, "0"), (k.threads, "i"), (4, "i % 4"), (2, f"(i // {max(1, k.threads // 2)}) % 2")]
    return header, arrays


def _load_element(k: _Reduction, arrays: list) -> None:
    """Per element: the neighbour's index first (neighbour lists), then the element's values."""
    if k.neighbor:
        k.w.let("nbr", k.neighbor, INT)
    _load(k, arrays)


def _prepare(k: _Reduction) -> None:
    """What every element goes through before the reducers: helpers, derived values, named quantities."""
    w = k.w
    w.add_helpers((FLOAT,))
    for _ in range(w.rng.randint(w.level // 2, max(1, w.limits.statements // 2))):
        if w.can_compute(FLOAT):
            w.assign(FLOAT)
    for n in reversed(range(1 if w.level < 3 else w.rng.randint(1, 2))):
        value = k.reads_item(FLOAT) if n else w.result(FLOAT, max(1, w.limits.depth - 1))  # the last reads the rest
        k.quantities.append(value if value.isidentifier() else w.let(_QUANTITY, value, FLOAT))


@register_category("reduction", groups={"arith", "trig", "vector", "cond"})
def reduction(w: KernelWriter) -> None:
    """Reductions: windowed partials, atomic sum/dot/norm/min/max/argmax/CAS, histograms, segments, moments."""
    rng = w.rng
    VOCABULARY.apply(w)
    w.add_productions(*_EXTRA)
    k = _Reduction(w)
    options = {"element": 3, "window": 2, "rows": 1.5, "stride": 1.5, "grid2d": 1}
    if w.level >= 2:
        options |= {"neighbors": 1.5, "csr": 1}
    layout = w.choose(options)
    low, high = _REDUCER_COUNT[w.level]
    reducers = w.pick(_REDUCERS, rng.randint(low, high))
    header, arrays = _begin(k, layout, _data_types(k, reducers))
    if rng.random() < 0.4:
        w.param(FLOAT, [n for n in VOCABULARY.params["float"] if not w.taken(n)])
    phases = [r(k) for r in reducers]
    for phase in phases:  # before the loop: accumulators and outputs
        next(phase)
    if header is None:
        _prepare(k)
        if rng.random() < 0.2:
            with w.block(f"if {k.cond()}"):
                w.emit("return")
        for phase in phases:
            next(phase)
    else:
        with w.block(header), w.protect(*k.accs):
            w.define("k", INT)
            _load_element(k, arrays)
            _prepare(k)
            if rng.random() < 0.3:
                with w.block(f"if {k.cond()}"):
                    w.emit("continue")
            for phase in phases:
                next(phase)
    for phase in phases:  # after the loop: publish
        next(phase, None)
