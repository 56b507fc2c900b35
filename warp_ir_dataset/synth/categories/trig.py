from __future__ import annotations

from ..category import register_category
from ..types import FLOAT
from ..writer import KernelWriter
from .common import declare_inputs, store, straight_line


@register_category("trig", groups={"arith", "trig"})
def trig(w: KernelWriter) -> None:
    """Trigonometric and transcendental functions: sin/cos/tan, inverse, hyperbolic, exp/log/pow/sqrt."""
    declare_inputs(w, (FLOAT,))
    if w.rng.random() < 0.5:
        w.param(FLOAT)
    w.add_helpers((FLOAT,))
    straight_line(w, (FLOAT,))
    store(w, FLOAT)
