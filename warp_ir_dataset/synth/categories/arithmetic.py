from __future__ import annotations

from ..category import register_category
from ..types import FLOAT, INT
from ..writer import KernelWriter
from .common import declare_inputs, store, straight_line


@register_category("arithmetic", groups={"arith"})
def arithmetic(w: KernelWriter) -> None:
    """Scalar float and integer arithmetic: + - * /, min/max/abs/clamp, rounding, conversions."""
    declare_inputs(w, (FLOAT, FLOAT, INT))
    if w.rng.random() < 0.6:
        w.param(w.rng.choice((FLOAT, INT)))
    w.add_helpers((FLOAT, INT))
    straight_line(w, (FLOAT, FLOAT, INT))
    store(w, FLOAT)
    if w.rng.random() < 0.3:
        store(w, INT)
