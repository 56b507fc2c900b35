from __future__ import annotations

from ..category import register_category
from ..types import BOOL, FLOAT, INT
from ..writer import KernelWriter
from .common import store

_LOOP_VARS = ("j", "k", "l")


def _loop(w: KernelWriter, arrays: list[str], accumulators: list[str], level: int) -> None:
    """One loop (``for`` over a range, or a counted ``while``) that reads neighbours and accumulates."""
    rng = w.rng
    kind = rng.choice(("range", "range", "range_from", "while"))
    trips = rng.randint(2, 6 + w.level)
    counter = None
    if kind == "while":
        counter = w.assign_value("int(0)", INT)
        header = f"while {counter} < {trips}"
    elif kind == "range_from":
        header = f"for {_LOOP_VARS[level]} in range({rng.randint(1, 2)}, {trips})"
    else:
        header = f"for {_LOOP_VARS[level]} in range({trips})"
    with w.block(header):
        loop_index = counter or _LOOP_VARS[level]
        w.define(loop_index, INT)
        source = rng.choice(arrays)
        w.assign_value(f"{source}[{w.index_expr(source, loop_index)}]", w.arg(source).type)
        if counter is None and rng.random() < 0.3:
            with w.block(f"if {w.expr(BOOL, 1)}"):
                w.emit(rng.choice(("continue", "break")))
        # increments never read the accumulators, so sums stay bounded whatever the trip count
        for acc in accumulators:
            w.emit(f"{acc} = {acc} + {w.expr(FLOAT, exclude=accumulators)}")
        if w.can_nest and level + 1 < len(_LOOP_VARS) and rng.random() < 0.4:
            _loop(w, arrays, accumulators, level + 1)
        if counter is not None:
            w.emit(f"{counter} = {counter} + 1")


@register_category("loop", groups={"arith", "trig"})
def loop(w: KernelWriter) -> None:
    """Loops: ``range`` with constant bounds, counted ``while``, nesting, ``break``/``continue``."""
    rng = w.rng
    arrays = [w.input_array(FLOAT, load=False) for _ in range(max(1, w.limits.inputs - 1))]
    if rng.random() < 0.5:
        w.param(FLOAT)
    w.add_helpers((FLOAT,))
    accumulators = [w.assign_value("float(0.0)", FLOAT) for _ in range(rng.randint(1, 2))]
    for _ in range(max(1, w.limits.statements // 3)):
        _loop(w, arrays, accumulators, 0)
    store(w, FLOAT)
