from __future__ import annotations

from ..category import register_category
from ..types import BOOL, FLOAT, INT
from ..writer import KernelWriter
from .common import Vocabulary, param, store

VOCABULARY = Vocabulary(
    inputs={"float": (("signal", ""), ("samples", ""), ("weights", ""), ("taps", ""), ("values", ""))},
    params={"float": ("decay", "gain", "threshold")},
    outputs={"float": ("filtered", "smoothed", "result")},
    locals={"float": ("sample", "neighbor", "tap", "contribution")},
)
_ACCUMULATORS = ("total", "energy", "running", "acc", "sum_sq")


def _loop(w: KernelWriter, arrays: list[str], accumulators: list[str], level: int) -> None:
    """One loop (``for`` over a range, or a counted ``while``) that reads neighbours and accumulates."""
    rng = w.rng
    kind = rng.choice(("range", "range", "range_from", "while"))
    trips = rng.randint(2, 6 + w.level)
    counter = None
    if kind == "while":
        counter = w.let(("step", "iteration", "n"), "int(0)", INT)
        header = f"while {counter} < {trips}"
    else:
        var = w.name("j", "k", "m", "p", "q", "r")
        start = f"{rng.randint(1, 2)}, " if kind == "range_from" else ""
        header = f"for {var} in range({start}{trips})"
    with w.block(header):
        loop_index = counter or var
        if counter is None:
            w.define(var, INT)
        source = rng.choice(arrays)
        w.let(w.names_for(FLOAT), f"{source}[{w.index_expr(source, loop_index)}]", FLOAT)
        if level == 0 and not w.helpers:  # helpers work on what the loop reads
            w.add_helpers((FLOAT,))
        if counter is None and rng.random() < 0.3:
            with w.block(f"if {w.expr(BOOL, 1)}"):
                w.emit(rng.choice(("continue", "break")))
        # increments never read the accumulators, so sums stay bounded whatever the trip count
        with w.protect(*accumulators):
            for acc in accumulators:
                w.set(acc, f"{acc} + {w.expr(FLOAT)}")
        if w.can_nest and level + 1 < 3 and rng.random() < 0.4:
            _loop(w, arrays, accumulators, level + 1)
        if counter is not None:
            w.set(counter, f"{counter} + 1")


@register_category("loop", groups={"arith", "trig"})
def loop(w: KernelWriter) -> None:
    """Loops: ``range`` with constant bounds, counted ``while``, nesting, ``break``/``continue``."""
    rng = w.rng
    VOCABULARY.apply(w)
    names = [a for a, _ in VOCABULARY.inputs["float"]]
    arrays = [w.input_array(FLOAT, name) for name in rng.sample(names, max(1, w.limits.inputs - 1))]
    if rng.random() < 0.5:
        param(w, VOCABULARY, FLOAT)
    accumulators = [w.let(_ACCUMULATORS, "float(0.0)", FLOAT) for _ in range(rng.randint(1, 2))]
    for _ in range(max(1, w.limits.statements // 3)):
        _loop(w, arrays, accumulators, 0)
    store(w, VOCABULARY, FLOAT)
