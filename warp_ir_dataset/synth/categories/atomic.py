from __future__ import annotations

from ..category import register_category
from ..types import FLOAT, INT
from ..writer import KernelWriter
from .common import declare_inputs, straight_line

_FLOAT_ATOMICS = ("wp.atomic_add", "wp.atomic_add", "wp.atomic_sub", "wp.atomic_min", "wp.atomic_max")
_INT_ATOMICS = ("wp.atomic_add", "wp.atomic_min", "wp.atomic_max")


def _bin(w: KernelWriter, array: str) -> str:
    """An index that several threads share (``i // k``), so the atomics really collide."""
    if w.rng.random() < 0.6:
        return f"(i // {w.rng.randint(2, 8)}) % {array}.shape[0]"
    return w.index_expr(array)


@register_category("atomic", groups={"arith", "trig"})
def atomic(w: KernelWriter) -> None:
    """Atomics with index collisions: atomic add/sub/min/max on float and int arrays, ``+=`` scatter."""
    rng = w.rng
    declare_inputs(w, (FLOAT, FLOAT, INT))
    w.add_helpers((FLOAT,))
    straight_line(w, (FLOAT, FLOAT, INT), max(1, w.limits.statements // 2))
    out = w.output_array(FLOAT)
    for _ in range(rng.randint(1, 1 + w.level // 2)):
        if rng.random() < 0.25:
            w.emit(f"{out}[{_bin(w, out)}] += {w.expr(FLOAT)}")
        else:
            w.emit(f"{rng.choice(_FLOAT_ATOMICS)}({out}, {_bin(w, out)}, {w.expr(FLOAT)})")
    if rng.random() < 0.5:
        counts = w.output_array(INT)
        value = "1" if rng.random() < 0.5 else w.expr(INT, 1)
        w.emit(f"{rng.choice(_INT_ATOMICS)}({counts}, {_bin(w, counts)}, {value})")
