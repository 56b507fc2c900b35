from __future__ import annotations

from ..category import register_category
from ..types import FLOAT, INT
from ..writer import KernelWriter
from .common import Vocabulary, declare_inputs, param, store, straight_line

VOCABULARY = Vocabulary(
    inputs={
        "float": (
            ("values", "value"),
            ("prices", "price"),
            ("weights", "weight"),
            ("samples", "sample"),
            ("heights", "height"),
            ("scores", "score"),
        ),
        "int": (("counts", "count"), ("labels", "label"), ("offsets", "offset"), ("steps", "step")),
    },
    params={"float": ("scale", "bias", "threshold", "gain", "rate"), "int": ("stride", "shift", "period")},
    outputs={"float": ("result", "normalized", "adjusted"), "int": ("buckets", "out_counts")},
    locals={"float": ("total", "ratio", "adjusted"), "int": ("bucket", "rank")},
)


@register_category("arithmetic", groups={"arith"})
def arithmetic(w: KernelWriter) -> None:
    """Scalar float and integer arithmetic: + - * /, min/max/abs/clamp, rounding, conversions."""
    VOCABULARY.apply(w)
    declare_inputs(w, VOCABULARY, (FLOAT, FLOAT, INT))
    if w.rng.random() < 0.6:
        param(w, VOCABULARY, w.rng.choice((FLOAT, INT)))
    w.add_helpers((FLOAT, INT))
    straight_line(w, (FLOAT, FLOAT, INT))
    store(w, VOCABULARY, FLOAT)
    if w.rng.random() < 0.3:
        store(w, VOCABULARY, INT)
