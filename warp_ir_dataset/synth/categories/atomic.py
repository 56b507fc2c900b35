from __future__ import annotations

from ..category import register_category
from ..types import FLOAT, INT
from ..writer import KernelWriter
from .common import Vocabulary, declare_inputs, output, straight_line

VOCABULARY = Vocabulary(
    inputs={
        "float": (
            ("contributions", "contribution"),
            ("weights", "weight"),
            ("energies", "energy"),
            ("masses", "mass"),
            ("charges", "charge"),
        ),
        "int": (("cells", "cell"), ("labels", "label"), ("bins", "bin_id")),
    },
    outputs={"float": ("totals", "grid", "accum", "bin_sums"), "int": ("counts", "hits", "votes")},
    locals={"float": ("share", "deposit", "scaled"), "int": ("slot", "bucket")},
)
_FLOAT_ATOMICS = ("wp.atomic_add", "wp.atomic_add", "wp.atomic_sub", "wp.atomic_min", "wp.atomic_max")
_INT_ATOMICS = ("wp.atomic_add", "wp.atomic_min", "wp.atomic_max")


def _bin(w: KernelWriter, array: str) -> str:
    """An index several threads share (``i // k``), or one computed from the data, so the atomics collide."""
    ints = [n for n in w.values_of(INT) if n not in w.tid_vars and w.deps(n)]
    roll = w.rng.random()
    if ints and roll < 0.4:
        return f"wp.abs({w.choose(ints)}) % {array}.shape[0]"
    floats = [n for n in w.values_of(FLOAT) if w.deps(n)]
    if floats and roll < 0.6:
        return f"int(wp.abs({w.choose(floats)}) * {w.rng.randint(2, 16)}.0) % {array}.shape[0]"
    if roll < 0.85:
        return f"(i // {w.rng.randint(2, 8)}) % {array}.shape[0]"
    return w.index_expr(array)


@register_category("atomic", groups={"arith", "trig"})
def atomic(w: KernelWriter) -> None:
    """Atomics with index collisions: atomic add/sub/min/max on float and int arrays, ``+=`` scatter."""
    rng = w.rng
    VOCABULARY.apply(w)
    declare_inputs(w, VOCABULARY, (FLOAT, FLOAT, INT))
    w.add_helpers((FLOAT,))
    straight_line(w, (FLOAT, FLOAT, INT), max(1, w.limits.statements // 2))
    out = output(w, VOCABULARY, FLOAT)
    updates = rng.randint(1, 1 + w.level // 2)
    for n in range(updates):
        index = _bin(w, out)
        value = w.result(FLOAT) if n == updates - 1 else w.expr(FLOAT)
        if rng.random() < 0.25:
            w.store(out, index, value, op="+=")
        else:
            w.atomic(rng.choice(_FLOAT_ATOMICS), out, index, value)
    if rng.random() < 0.5:
        counts = output(w, VOCABULARY, INT)
        index = _bin(w, counts)
        value = "1" if w.deps(index) and rng.random() < 0.5 else w.expr(INT, 1)
        w.atomic(rng.choice(_INT_ATOMICS), counts, index, value)
