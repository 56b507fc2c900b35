from __future__ import annotations

from ..category import register_category
from ..types import FLOAT
from ..writer import KernelWriter
from .common import Vocabulary, declare_inputs, param, store, straight_line

VOCABULARY = Vocabulary(
    inputs={
        "float": (
            ("angles", "angle"),
            ("phases", "phase"),
            ("times", "t"),
            ("signal", "sample"),
            ("radii", "radius"),
            ("frequencies", "freq"),
        ),
    },
    params={"float": ("amplitude", "frequency", "phase_shift", "damping", "time")},
    outputs={"float": ("waveform", "response", "out")},
)


@register_category("trig", groups={"arith", "trig"})
def trig(w: KernelWriter) -> None:
    """Trigonometric and transcendental functions: sin/cos/tan, inverse, hyperbolic, exp/log/pow/sqrt."""
    VOCABULARY.apply(w)
    declare_inputs(w, VOCABULARY, (FLOAT,))
    if w.rng.random() < 0.5:
        param(w, VOCABULARY, FLOAT)
    w.add_helpers((FLOAT,))
    straight_line(w, (FLOAT,))
    store(w, VOCABULARY, FLOAT)
