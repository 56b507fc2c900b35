"""Reductions: per-thread partial results over a window of elements, then atomics into a small output.

A kernel picks a *layout* (one element per thread, a contiguous window, a row of a 2-D array, a grid-stride
loop, a neighbour list, a CSR segment, or a 2-D launch) and one to three *reducers*. Each reducer is a
generator with three phases: what it writes before the element loop (accumulators, outputs), what it
writes for each element, and what it writes after the loop (the atomics that publish the partial result).
On a one-element-per-thread layout the per-thread phases collapse into direct atomics.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import nullcontext

from ..category import register_category
from ..expressions import Production
from ..types import BOOL, FLOAT, FLOAT64, INT, UINT32, VEC2, VEC3, WarpType
from ..writer import KernelWriter

# value-level productions that reductions like (norms, component extrema, masks)
_EXTRA = (
    Production(FLOAT, "wp.norm_l1({0})", (VEC3,), "reduction", 0.7),
    Production(FLOAT, "wp.norm_l2({0})", (VEC3,), "reduction", 0.7),
    Production(FLOAT, "wp.norm_huber({0}, 0.5)", (VEC3,), "reduction", 0.4),
    Production(FLOAT, "wp.norm_pseudo_huber({0})", (VEC3,), "reduction", 0.4),
    Production(FLOAT, "wp.max({0})", (VEC3,), "reduction", 0.5),
    Production(FLOAT, "wp.min({0})", (VEC3,), "reduction", 0.5),
    Production(FLOAT, "wp.step({0})", (FLOAT,), "reduction", 0.3),
    Production(FLOAT, "wp.nonzero({0})", (FLOAT,), "reduction", 0.3),
    Production(FLOAT, "wp.copysign({0}, {1})", (FLOAT, FLOAT), "reduction", 0.4),
    Production(VEC3, "wp.abs({0})", (VEC3,), "reduction", 0.4),
)

_REDUCER_COUNT = {1: (1, 1), 2: (1, 2), 3: (2, 2), 4: (2, 3), 5: (3, 3)}


class _Reduction:
    """State of one reduction kernel while it is written."""

    def __init__(self, w: KernelWriter):
        self.w = w
        self.rng = w.rng
        self.looped = False
        self.threads = 64
        self.elements = 64
        self.sub = "i"  # subscript of the current element in the data arrays
        self.flat = "i"  # flat index of the current element
        self.data_ndim = 1
        self.data_recipe: dict = {}
        self.slots: list[tuple[int, str]] = [(1, "0")]  # (output size, per-thread slot expression)
        self.items: list[str] = []  # locals holding the current element's values
        self.quantities: list[str] = []
        self.accs: list[str] = []
        self._names: set[str] = set()

    # ----------------------------------------------------------------- small utilities
    def name(self, base: str) -> str:
        name, n = base, 1
        while name in self._names:
            n += 1
            name = f"{base}{n}"
        self._names.add(name)
        return name

    def output(self, t: WarpType, base: str, size: int | None, recipe: dict | None = None) -> str:
        recipe = dict(recipe or {})
        if size is not None:
            recipe["shape"] = [size]
        return self.w.output_array(t, name=self.name(base), recipe=recipe or None)

    def acc(self, base: str, t: WarpType, value: str) -> str:
        name = self.name(base)
        self.w.emit(f"{name} = {value}")
        self.w.define(name, t)
        self.accs.append(name)
        return name

    def local(self, base: str, t: WarpType, value: str) -> str:
        name = self.name(base)
        self.w.emit(f"{name} = {value}")
        self.w.define(name, t)
        return name

    def expr(self, t: WarpType, depth: int | None = None, leaf_bias: float = 0.3) -> str:
        scope = {n: vt for n, vt in self.w.scope.items() if n not in self.accs}
        depth = self.w.limits.depth if depth is None else depth
        return self.w.gen.expr(t, depth, scope, leaf_bias)

    def reads_item(self, t: WarpType, depth: int | None = None) -> str:
        """An expression that reads at least one of the current element's values (a few tries)."""
        value = self.expr(t, depth, leaf_bias=0.1)
        for _ in range(3):
            if not self.items or any(re.search(rf"\b{n}\b", value) for n in self.items):
                break
            value = self.expr(t, depth, leaf_bias=0.1)
        return value

    def cond(self) -> str:
        return self.w.expr(BOOL, 2, exclude=self.accs)

    def slot(self) -> tuple[int, str]:
        return self.rng.choice(self.slots)

    def quantity(self, named: bool = False) -> str:
        """The value one element contributes: a quantity local, or a fresh expression (named: a local)."""
        rng = self.rng
        if self.quantities and rng.random() < 0.6:
            return rng.choice(self.quantities)
        value = self.reads_item(FLOAT, max(1, self.w.limits.depth - 1))
        if not named:
            return value
        return self.w.assign_value(value, FLOAT)

    def shaped(self, kind: str) -> str:
        """A quantity shaped like a sum term of a dot product, a norm, or a plain value."""
        rng, w = self.rng, self.w
        floats = [n for n in self.items if w.scope.get(n) is FLOAT]
        vecs = [n for n in self.items if w.scope.get(n) is VEC3]
        if kind == "dot" and len(floats) >= 2:
            a, b = rng.sample(floats, 2)
            return f"{a} * {b}"
        if kind == "dot" and vecs:
            other = rng.choice(vecs) if len(vecs) > 1 and rng.random() < 0.6 else self.expr(VEC3, 1)
            return f"wp.dot({rng.choice(vecs)}, {other})"
        if kind == "norm" and vecs:
            v = rng.choice(vecs)
            return rng.choice(
                (f"wp.length_sq({v})", f"wp.norm_l1({v})", f"wp.norm_l2({v})", f"wp.norm_huber({v}, 1.0)")
            )
        if kind == "square":
            q = self.quantity(named=True)
            return f"{q} * {q}"
        if kind == "abs":
            return f"wp.abs({self.quantity()})"
        return self.quantity()

    def can_shape(self, kind: str) -> bool:
        types = [self.w.scope.get(n) for n in self.items]
        if kind == "dot":
            return types.count(FLOAT) >= 2 or VEC3 in types
        if kind == "norm":
            return VEC3 in types
        return True

    def int_item(self) -> str:
        """An int derived from the current element: an int input, or a clamped conversion of a quantity."""
        ints = [n for n in self.items if self.w.scope.get(n) is INT]
        if ints and self.rng.random() < 0.7:
            return self.rng.choice(ints)
        return self.w.assign_value(f"int(wp.clamp(wp.abs({self.quantity()}) * 8.0, 0.0, 15.0))", INT)


# --------------------------------------------------------------------------------------------- reducers
# Each reducer is a generator: code before the first ``yield`` runs before the element loop, code before
# the second for each element, the rest after the loop.
Reducer = Callable[[_Reduction], Iterator[None]]


def _publish_sum(k: _Reduction, out: str, slot: str, value: str, own: bool) -> None:
    rng, w = k.rng, k.w
    if own:  # each thread owns its slot: a plain store
        w.emit(f"{out}[{slot}] = {value}")
        return
    # (an atomic's returned old value never feeds a float output: Warp's adjoint pass does not replay
    # atomics, so such a kernel would have a wrong gradient)
    kind = rng.choices(("add", "aug", "sub"), (4, 1, 1))[0]
    if kind == "aug":
        w.emit(f"{out}[{slot}] += {value}")
    elif kind == "sub":
        w.emit(f"wp.atomic_sub({out}, {slot}, {value})")
    else:
        w.emit(f"wp.atomic_add({out}, {slot}, {value})")


def _sum(k: _Reduction) -> Iterator[None]:
    """Sum of a quantity (plain value, square, |value|, dot-product term or norm) into a slot."""
    rng, w = k.rng, k.w
    kind = rng.choices(("value", "square", "abs", "dot", "norm"), (3, 1, 1, 2, 1))[0]
    if kind in ("dot", "norm") and not k.can_shape(kind):
        kind = "square"
    size, slot = k.slot()
    own = slot == "i" and size == k.threads and k.looped and rng.random() < 0.5
    base = {"square": "sum_sq", "dot": "dot", "norm": "norm_sq", "abs": "l1"}.get(kind, "total")
    out = k.output(FLOAT, base if not own else "partial", size)
    acc = k.acc("acc", FLOAT, rng.choice(("float(0.0)", "wp.float32(0.0)"))) if k.looped else None
    yield
    term = k.shaped(kind)
    guard = nullcontext()
    if rng.random() < 0.2:  # skip non-finite contributions, as robust reductions do
        term = w.assign_value(term, FLOAT)
        guard = w.block(f"if wp.isfinite({term})")
    with guard:
        if acc is None:
            _publish_sum(k, out, slot, term, False)
        elif rng.random() < 0.5:
            w.emit(f"{acc} += {term}")
        else:
            w.emit(f"{acc} = {acc} + {term}")
    yield
    if acc is not None:
        _publish_sum(k, out, slot, acc, own)
        if own and rng.random() < 0.5:
            w.emit(f"wp.atomic_add({k.output(FLOAT, 'total', 1)}, 0, {acc})")


def _kahan(k: _Reduction) -> Iterator[None]:
    """Compensated (Kahan) summation in the loop, one atomic at the end."""
    if not k.looped:
        yield from _sum(k)
        return
    w = k.w
    size, slot = k.slot()
    out = k.output(FLOAT, "total", size)
    s = k.acc("s", FLOAT, "float(0.0)")
    c = k.acc("comp", FLOAT, "float(0.0)")
    yield
    y = w.assign_value(f"{k.shaped('value')} - {c}", FLOAT)
    t = w.assign_value(f"{s} + {y}", FLOAT)
    w.emit(f"{c} = ({t} - {s}) - {y}")
    w.emit(f"{s} = {t}")
    yield
    w.emit(f"wp.atomic_add({out}, {slot}, {s})")


def _sum64(k: _Reduction) -> Iterator[None]:
    """Double-precision accumulation of a float quantity."""
    rng, w = k.rng, k.w
    size, slot = k.slot()
    out = k.output(FLOAT64, "total64", size)
    acc = k.acc("acc64", FLOAT64, "wp.float64(0.0)") if k.looped else None
    yield
    term = f"wp.float64({k.shaped(rng.choice(('value', 'square', 'dot')))})"
    if acc is None:
        w.emit(f"wp.atomic_add({out}, {slot}, {term})")
    else:
        w.emit(f"{acc} += {term}")
    yield
    if acc is not None:
        w.emit(f"wp.atomic_add({out}, {slot}, {acc})")


def _extrema(k: _Reduction) -> Iterator[None]:
    """Running max and/or min, published with atomic_max / atomic_min."""
    rng, w = k.rng, k.w
    which = rng.choice(("max", "min", "both"))
    size, slot = k.slot()
    if which == "both" and size == 1 and rng.random() < 0.5:
        out_hi = out_lo = k.output(FLOAT, "extent", 2)
        slot_hi, slot_lo = "0", "1"
    else:
        out_hi = k.output(FLOAT, "peak", size) if which != "min" else None
        out_lo = k.output(FLOAT, "floor_val", size) if which != "max" else None
        slot_hi = slot_lo = slot
    hi = lo = None
    if k.looped:
        hi = k.acc("hi", FLOAT, "float(-1.0e9)") if out_hi else None
        lo = k.acc("lo", FLOAT, "float(1.0e9)") if out_lo else None
    yield
    q = k.shaped(rng.choice(("value", "value", "abs")))
    if which == "both" and (hi or not k.looped):
        q = q if q.isidentifier() else k.w.assign_value(q, FLOAT)
    if not k.looped:
        if out_hi:
            w.emit(f"wp.atomic_max({out_hi}, {slot_hi}, {q})")
        if out_lo:
            w.emit(f"wp.atomic_min({out_lo}, {slot_lo}, {q})")
    else:
        if hi:
            if rng.random() < 0.6:
                w.emit(f"{hi} = wp.max({hi}, {q})")
            else:
                with w.block(f"if {q} > {hi}"):
                    w.emit(f"{hi} = {q}")
        if lo:
            w.emit(f"{lo} = wp.min({lo}, {q})")
    yield
    if hi:
        w.emit(f"wp.atomic_max({out_hi}, {slot_hi}, {hi})")
    if lo:
        w.emit(f"wp.atomic_min({out_lo}, {slot_lo}, {lo})")


def _argmax(k: _Reduction) -> Iterator[None]:
    """Arg-max / arg-min: the value quantized into the high bits of an int key, the index in the low bits.

    One atomic_max (atomic_min) on the key then picks value and index together, whatever the order of the
    threads (an atomic_max on the value followed by a write of the index would race).
    """
    rng, w = k.rng, k.w
    flat = k.flat
    largest = rng.random() < 0.7
    keys = k.output(INT, "best_key" if largest else "least_key", 1)
    best = idx = None
    if k.looped:
        best = k.acc("best", FLOAT, "float(-1.0e9)" if largest else "float(1.0e9)")
        idx = k.acc("best_idx", INT, "int(-1)")
    yield
    q = k.quantity(named=True)
    if k.looped:
        with w.block(f"if {q} {'>' if largest else '<'} {best}"):
            w.emit(f"{best} = {q}")
            w.emit(f"{idx} = {flat}")
    else:
        best, idx = q, flat
    yield
    scale, bound = rng.choice(((256.0, 4.0), (1024.0, 1.0), (64.0, 16.0)))
    level = k.local("level", INT, f"int((wp.clamp({best}, -{bound}, {bound}) + {bound}) * {scale})")
    if rng.random() < 0.6:
        key = k.local("key", INT, f"({level} << 10) | ({idx} & 1023)")
    else:
        key = k.local("key", INT, f"{level} * 1024 + wp.clamp({idx}, 0, 1023)")
    w.emit(f"wp.{'atomic_max' if largest else 'atomic_min'}({keys}, 0, {key})")


def _moments(k: _Reduction) -> Iterator[None]:
    """Mean and variance from two accumulators (sum and sum of squares), plus a count."""
    rng, w = k.rng, k.w
    packing = rng.choice(("slots", "vec"))
    with_count = k.looped and rng.random() < 0.6
    if packing == "vec":
        vt = VEC3 if with_count else VEC2
        out = k.output(vt, "moments", 1)
    else:
        out = k.output(FLOAT, "moments", 3 if with_count else 2)
    local_stats = k.looped and rng.random() < 0.5
    stats = k.output(rng.choice((FLOAT, VEC2)), "stats", k.threads) if local_stats else None
    s = ss = n = None
    if k.looped:
        s = k.acc("s1", FLOAT, "float(0.0)")
        ss = k.acc("s2", FLOAT, "float(0.0)")
        n = k.acc("count", INT, "int(0)") if with_count or local_stats else None
    yield
    q = k.quantity(named=True)
    if not k.looped:
        if packing == "vec":
            w.emit(f"wp.atomic_add({out}, 0, wp.vec2({q}, {q} * {q}))")
        else:
            w.emit(f"wp.atomic_add({out}, 0, {q})")
            w.emit(f"wp.atomic_add({out}, 1, {q} * {q})")
    else:
        w.emit(f"{s} += {q}")
        w.emit(f"{ss} = {ss} + {q} * {q}")
        if n:
            w.emit(f"{n} += 1")
    yield
    if not k.looped:
        return
    if packing == "vec":
        parts = [s, ss] + ([f"float({n})"] if with_count else [])
        w.emit(f"wp.atomic_add({out}, 0, wp.vec{len(parts)}({', '.join(parts)}))")
    else:
        w.emit(f"wp.atomic_add({out}, 0, {s})")
        w.emit(f"wp.atomic_add({out}, 1, {ss})")
        if with_count:
            w.emit(f"wp.atomic_add({out}, 2, float({n}))")
    if stats:
        inv = k.local("inv_n", FLOAT, f"1.0 / wp.max(float({n}), 1.0)")
        mean = k.local("mean", FLOAT, f"{s} * {inv}")
        var = k.local("var", FLOAT, f"wp.max({ss} * {inv} - {mean} * {mean}, 0.0)")
        if k.w.arg(stats).type is VEC2:
            w.emit(f"{stats}[i] = wp.vec2({mean}, wp.sqrt({var}))")
        else:
            w.emit(f"{stats}[i] = wp.sqrt({var})")


def _count(k: _Reduction) -> Iterator[None]:
    """Count the elements meeting a condition, per thread, then one atomic_add."""
    rng, w = k.rng, k.w
    size, slot = k.slot()
    counts = k.output(INT, "hits", size)
    n = k.acc("hits_local", INT, "int(0)") if k.looped else None
    yield
    cond = k.cond()
    if n is None:
        with w.block(f"if {cond}"):
            w.emit(f"wp.atomic_add({counts}, {slot}, 1)")
    elif rng.random() < 0.5:
        with w.block(f"if {cond}"):
            w.emit(f"{n} += 1")
    else:
        w.emit(f"{n} = {n} + wp.where({cond}, 1, 0)")
    yield
    if n is not None:
        w.emit(f"wp.atomic_add({counts}, {slot}, {n})")


def _bounds(k: _Reduction) -> Iterator[None]:
    """Axis-aligned bounds (per-component atomic_min / atomic_max on vec3) and/or a centroid sum."""
    rng, w = k.rng, k.w
    what = rng.choice(("box", "box", "centroid", "both"))
    box = k.output(VEC3, "bounds", 2) if what != "centroid" else None
    centroid = k.output(VEC3, "centroid", 1) if what != "box" else None
    lo = hi = csum = None
    if k.looped:
        if box:
            lo = k.acc("lower", VEC3, "wp.vec3(1.0e9)")
            hi = k.acc("upper", VEC3, "wp.vec3(-1.0e9)")
        if centroid:
            csum = k.acc("csum", VEC3, "wp.vec3(0.0)")
    yield
    vecs = [n for n in k.items if w.scope.get(n) is VEC3]
    p = w.assign_value(k.expr(VEC3) if not vecs or rng.random() < 0.5 else rng.choice(vecs), VEC3)
    if not k.looped:
        if box:
            w.emit(f"wp.atomic_min({box}, 0, {p})")
            w.emit(f"wp.atomic_max({box}, 1, {p})")
        if centroid:
            w.emit(f"wp.atomic_add({centroid}, 0, {p})")
    else:
        if box:
            w.emit(f"{lo} = wp.min({lo}, {p})")
            w.emit(f"{hi} = wp.max({hi}, {p})")
        if centroid:
            w.emit(f"{csum} += {p}")
    yield
    if lo:
        w.emit(f"wp.atomic_min({box}, 0, {lo})")
        w.emit(f"wp.atomic_max({box}, 1, {hi})")
    if csum:
        w.emit(f"wp.atomic_add({centroid}, 0, {csum})")


def _bitset(k: _Reduction) -> Iterator[None]:
    """Set bits of a mask per element; publish with atomic_or / atomic_and / atomic_xor and a popcount."""
    rng, w = k.rng, k.w
    op = rng.choice(("atomic_or", "atomic_or", "atomic_and", "atomic_xor"))
    mask = k.output(INT, {"atomic_or": "seen", "atomic_and": "common", "atomic_xor": "parity"}[op], 1)
    popcount = k.output(INT, "popcount", 1) if k.looped and rng.random() < 0.5 else None
    bits = k.acc("bits", INT, "int(0)") if k.looped else None
    yield
    b = k.int_item()
    bit = f"(1 << ({b} & 15))"
    if bits is None:
        w.emit(f"wp.{op}({mask}, 0, {bit})")
    elif rng.random() < 0.5:
        w.emit(f"{bits} = {bits} | {bit}")
    else:
        with w.block(f"if {k.cond()}"):
            w.emit(f"{bits} = {bits} ^ {bit}")
    yield
    if bits is not None:
        w.emit(f"wp.{op}({mask}, 0, {bits})")
        if popcount:
            w.emit(f"wp.atomic_add({popcount}, 0, wp.bit_count({bits}))")


def _histogram(k: _Reduction) -> Iterator[None]:
    """Histogram: uniform bins, bins from sorted edges (lower_bound), radix digits, or a vector's dominant axis."""
    rng, w = k.rng, k.w
    ints = [n for n in k.items if w.scope.get(n) is INT]
    vecs = [n for n in k.items if w.scope.get(n) is VEC3]
    schemes = ("uniform", "uniform", "edges") + (("radix", "radix") if ints else ()) + (("axis",) if vecs else ())
    scheme = rng.choice(schemes)
    bins = 3 if scheme == "axis" else rng.choice((4, 8, 16))
    edges = None
    if scheme == "edges":
        edges = w.input_array(FLOAT, load=False, name=k.name("edges"), recipe={"kind": "cdf", "shape": [bins]})
    # weights only where the bin cannot move with a float input (else a tiny change moves a whole weight)
    weighted = scheme in ("uniform", "radix") and rng.random() < 0.35
    hist = k.output(FLOAT if weighted else INT, "hist", bins)
    yield
    if scheme == "radix" and rng.random() < 0.4:
        key = k.local("key", UINT32, f"wp.uint32({rng.choice(ints)})")
        digit = f"({key} >> wp.uint32({rng.randint(0, 2)})) & wp.uint32({bins - 1})"
        b = k.local("digit", INT, f"int({digit})")
    elif scheme == "radix":
        b = k.local("digit", INT, f"({rng.choice(ints)} >> {rng.randint(0, 2)}) & {bins - 1}")
    elif scheme == "axis":
        arg = rng.choice(("argmax", "argmax", "argmin"))
        b = k.local("axis", INT, f"int(wp.{arg}(wp.abs({rng.choice(vecs)})))")
    elif scheme == "edges":
        q = k.quantity()
        b = k.local("bin", INT, f"wp.min(wp.lower_bound({edges}, wp.clamp({q}, 0.0, 1.0)), {edges}.shape[0] - 1)")
    else:
        low = rng.choice((-1.0, -2.0, 0.0))
        width = rng.choice((0.25, 0.5, 1.0))
        q = k.quantity()
        b = k.local("bin", INT, f"int(wp.clamp(wp.floor(({q} - ({low})) / {width}), 0.0, {float(bins - 1)}))")
    if weighted:
        w.emit(f"wp.atomic_add({hist}, {b}, {k.shaped(rng.choice(('value', 'abs')))})")
    elif rng.random() < 0.3:
        w.emit(f"{hist}[{b}] += 1")
    else:
        w.emit(f"wp.atomic_add({hist}, {b}, 1)")
    yield


def _segmented(k: _Reduction) -> Iterator[None]:
    """Segmented reduction: each element names its segment through an index array."""
    rng, w = k.rng, k.w
    segments = rng.choice((2, 4, 8, 16))
    recipe = {"kind": "index", "high": segments, **k.data_recipe}
    seg_ids = w.input_array(INT, load=False, name=k.name("segment"), ndim=k.data_ndim, recipe=recipe)
    op = rng.choice(("atomic_add", "atomic_add", "atomic_max", "atomic_min"))
    out = k.output(FLOAT, {"atomic_add": "seg_sum", "atomic_max": "seg_max", "atomic_min": "seg_min"}[op], segments)
    counts = k.output(INT, "seg_count", segments) if rng.random() < 0.5 else None
    yield
    seg = k.local("seg", INT, f"{seg_ids}[{k.sub}]")
    w.emit(f"wp.{op}({out}, {seg}, {k.shaped(rng.choice(('value', 'value', 'square', 'dot')))})")
    if counts:
        w.emit(f"wp.atomic_add({counts}, {seg}, 1)")
    yield


def _cas_loop(k: _Reduction) -> Iterator[None]:
    """A float atomic max/min or add written as a compare-and-swap retry loop (lock-free, as on a GPU)."""
    rng, w = k.rng, k.w
    kind = rng.choice(("max", "min", "add"))
    size, slot = k.slot()
    out = k.output(FLOAT, {"max": "cas_max", "min": "cas_min", "add": "cas_sum"}[kind], size)
    yield
    q = k.quantity(named=True)
    cur = k.local("cur", FLOAT, f"{out}[{slot}]")
    if kind == "add":
        if rng.random() < 0.5:
            q = w.assign_value(f"wp.clamp({q}, -1.0, 1.0)", FLOAT)
        seen = k.local("seen", FLOAT, f"wp.atomic_cas({out}, {slot}, {cur}, {cur} + {q})")
        with w.block(f"while {seen} != {cur}"):  # another thread got in first: retry on its value
            w.emit(f"{cur} = {seen}")
            w.emit(f"{seen} = wp.atomic_cas({out}, {slot}, {cur}, {cur} + {q})")
    else:
        better = ">" if kind == "max" else "<"
        with w.block(f"while {q} {better} {cur}"):  # stop once the stored value is at least as good
            seen = k.local("seen", FLOAT, f"wp.atomic_cas({out}, {slot}, {cur}, {q})")
            with w.block(f"if {seen} == {cur}"):
                w.emit("break")
            w.emit(f"{cur} = {seen}")
    yield


def _claim(k: _Reduction) -> Iterator[None]:
    """Test-and-set per bucket (atomic_cas 0 -> 1, or atomic_exch with 1): count distinct buckets and collisions."""
    rng, w = k.rng, k.w
    buckets = rng.choice((4, 8, 16))
    exch = rng.random() < 0.5
    clear = {"low": 0, "high": 1, "shape": [buckets]}  # every bucket starts unclaimed (0)
    flags = w.input_array(INT, load=False, name=k.name("visited" if exch else "claimed"), recipe=clear)
    distinct = k.output(INT, "distinct", 1)
    repeats = k.output(INT, "collisions", 1) if rng.random() < 0.5 else None
    yield
    b = k.local("bucket", INT, f"{k.int_item()} % {buckets}")
    call = f"wp.atomic_exch({flags}, {b}, 1)" if exch else f"wp.atomic_cas({flags}, {b}, 0, 1)"
    prev = k.local("was_set", INT, call)
    with w.block(f"if {prev} == 0"):
        w.emit(f"wp.atomic_add({distinct}, 0, 1)")
    if repeats:
        with w.block("else"):
            w.emit(f"wp.atomic_add({repeats}, 0, 1)")
    yield


_REDUCERS: tuple[tuple[Reducer, float], ...] = (
    (_sum, 3.0),
    (_kahan, 1.0),
    (_sum64, 1.0),
    (_extrema, 2.0),
    (_argmax, 1.5),
    (_moments, 1.5),
    (_count, 1.0),
    (_bounds, 1.0),
    (_bitset, 1.0),
    (_histogram, 2.0),
    (_segmented, 2.0),
    (_cas_loop, 1.0),
    (_claim, 1.0),
)
_NEED_VEC = {_bounds}


def _pick_reducers(k: _Reduction) -> list[Reducer]:
    rng = k.rng
    low, high = _REDUCER_COUNT[k.w.level]
    pool = list(_REDUCERS)
    chosen: list[Reducer] = []
    for _ in range(rng.randint(low, high)):
        total = sum(wt for _, wt in pool)
        pick = rng.uniform(0.0, total)
        for index, (r, wt) in enumerate(pool):
            pick -= wt
            if pick <= 0.0 or index == len(pool) - 1:
                chosen.append(r)
                pool.pop(index)
                break
    return chosen


# --------------------------------------------------------------------------------------------- layouts
def _data_types(k: _Reduction, reducers: list[Reducer]) -> list[WarpType]:
    rng = k.rng
    count = max(1, k.w.limits.inputs)
    types = [rng.choice((FLOAT, FLOAT, FLOAT, VEC3, INT)) for _ in range(count)]
    if types.count(FLOAT) + types.count(VEC3) == 0:
        types[0] = FLOAT
    if any(r in _NEED_VEC for r in reducers) and VEC3 not in types and rng.random() < 0.7:
        types[-1] = VEC3
    return types


def _layout(k: _Reduction) -> str:
    rng, level = k.rng, k.w.level
    options = {"element": 3, "window": 2, "rows": 1.5, "stride": 1.5, "grid2d": 1}
    if level >= 2:
        options |= {"neighbors": 1.5, "csr": 1}
    names = sorted(options)
    return rng.choices(names, [options[n] for n in names])[0]


def _begin(k: _Reduction, layout: str, types: list[WarpType]) -> tuple[str | None, list[tuple[str, WarpType]]]:
    """Declare launch and data arrays; return the loop header (None: no loop) and the arrays to load per element."""
    rng, w = k.rng, k.w
    arrays: list[tuple[str, WarpType]] = []
    if layout == "element":
        for t in types:
            k.items.append(w.assign_value(f"{w.input_array(t, load=False)}[i]", t))
        groups = rng.choice((2, 4, 8))
        k.slots = [(1, "0"), (1, "0"), (groups, f"i % {groups}")]
        return None, arrays
    if layout == "grid2d":
        rows, cols = rng.choice(((4, 8), (8, 8), (8, 4), (16, 4), (4, 16), (8, 16)))
        w.set_launch((rows, cols))
        k.threads, k.elements, k.sub, k.flat, k.data_ndim = rows * cols, rows * cols, "i, j", f"i * {cols} + j", 2
        k.data_recipe = {"shape": [rows, cols]}
        for t in types:
            name = w.input_array(t, load=False, ndim=2, recipe=dict(k.data_recipe))
            k.items.append(w.assign_value(f"{name}[i, j]", t))
        k.slots = [(1, "0"), (rows, "i"), (cols, "j")]
        return None, arrays
    k.looped = True
    if layout == "window":
        width = rng.choice((2, 4, 8))
        k.threads = rng.choice((8, 16, 32))
        k.elements = k.threads * width
        w.set_launch((k.threads,))
        k.data_recipe = {"shape": [k.elements]}
        names = [w.input_array(t, load=False, recipe=dict(k.data_recipe)) for t in types]
        start = k.local("start", INT, f"i * {width}")
        k.flat, k.sub = f"{start} + k", f"{start} + k"
        header = f"for k in range({width})"
    elif layout == "rows":
        cols = rng.choice((4, 8, 16))
        k.threads = rng.choice((8, 16, 32))
        k.elements = k.threads * cols
        w.set_launch((k.threads,))
        k.data_ndim, k.data_recipe = 2, {"shape": [k.threads, cols]}
        names = [w.input_array(t, load=False, ndim=2, recipe=dict(k.data_recipe)) for t in types]
        k.sub, k.flat = "i, k", f"i * {cols} + k"
        header = f"for k in range({names[0]}.shape[1])" if rng.random() < 0.5 else f"for k in range({cols})"
    elif layout == "stride":
        k.threads = rng.choice((8, 16, 32))
        k.elements = k.threads * rng.choice((2, 4, 8))
        w.set_launch((k.threads,))
        k.data_recipe = {"shape": [k.elements]}
        names = [w.input_array(t, load=False, recipe=dict(k.data_recipe)) for t in types]
        k.sub = k.flat = "k"
        header = f"for k in range(i, {names[0]}.shape[0], {k.threads})"
    elif layout == "neighbors":
        count = rng.choice((2, 4, 6, 8))
        names = [w.input_array(t, load=False) for t in types]
        nbr = w.input_array(
            INT, load=False, name="neighbors", ndim=2, recipe={"kind": "index", "high": 64, "shape": [64, count]}
        )
        for name, t in zip(names, types, strict=True):  # the thread's own element, for pairwise terms
            if t is not INT and rng.random() < 0.5:
                k.items.append(w.assign_value(f"{name}[i]", t))
        k.sub = k.flat = "n"
        header = f"for k in range({nbr}.shape[1])" if rng.random() < 0.5 else f"for k in range({count})"
        arrays.append((f"{nbr}[i, k]", INT))  # first per-element statement: n = neighbors[i, k]
    else:  # csr
        span = rng.choice((2, 4, 8))
        names = [w.input_array(t, load=False) for t in types]
        starts = w.input_array(INT, load=False, name="seg_start", recipe={"kind": "index", "high": 64})
        lengths = w.input_array(INT, load=False, name="seg_len", recipe={"kind": "index", "high": span + 1})
        first = k.local("first", INT, f"{starts}[i]")
        last = k.local("last", INT, f"wp.min({first} + {lengths}[i], {names[0]}.shape[0])")
        k.sub = k.flat = "k"
        header = f"for k in range({first}, {last})"
    k.slots = [(1, "0"), (1, "0"), (k.threads, "i"), (4, "i % 4"), (2, f"(i // {max(1, k.threads // 2)}) % 2")]
    arrays.extend(zip(names, types, strict=True))
    return header, arrays


def _load(k: _Reduction, arrays: list[tuple[str, WarpType]]) -> None:
    w = k.w
    for source, t in arrays:
        if source.startswith("neighbors["):
            w.emit(f"n = {source}")
            w.define("n", INT)
            continue
        k.items.append(w.assign_value(f"{source}[{k.sub}]", t))


def _quantities(k: _Reduction) -> None:
    w = k.w
    for _ in range(1 if w.level < 3 else k.rng.randint(1, 2)):
        k.quantities.append(w.assign_value(k.reads_item(FLOAT), FLOAT))


@register_category("reduction", groups={"arith", "trig", "vector", "cond"})
def reduction(w: KernelWriter) -> None:
    """Reductions: windowed partials, atomic sum/dot/norm/min/max/argmax/CAS, histograms, segments, moments."""
    rng = w.rng
    for prod in _EXTRA:
        w.gen.add(prod)
    k = _Reduction(w)
    layout = _layout(k)
    reducers = _pick_reducers(k)
    header, arrays = _begin(k, layout, _data_types(k, reducers))
    if rng.random() < 0.4:
        w.param(FLOAT)
    w.add_helpers((FLOAT,))
    for _ in range(rng.randint(0, max(0, w.limits.statements // 3))):
        w.assign(FLOAT)
    phases = [r(k) for r in reducers]
    for phase in phases:  # before the loop: accumulators and outputs
        next(phase)
    if header is None:
        _quantities(k)
        if rng.random() < 0.2:
            with w.block(f"if {k.cond()}"):
                w.emit("return")
        for phase in phases:
            next(phase)
    else:
        with w.block(header):
            w.define("k", INT)
            _load(k, arrays)
            _quantities(k)
            if rng.random() < 0.3:
                with w.block(f"if {k.cond()}"):
                    w.emit("continue")
            for phase in phases:
                next(phase)
    for phase in phases:  # after the loop: publish
        next(phase, None)
