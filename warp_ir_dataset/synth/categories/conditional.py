from __future__ import annotations

from ..category import register_category
from ..types import BOOL, FLOAT, INT
from ..writer import KernelWriter
from .common import Vocabulary, declare_inputs, param, store

VOCABULARY = Vocabulary(
    inputs={
        "float": (
            ("temperatures", "temp"),
            ("pressures", "pressure"),
            ("levels", "level"),
            ("values", "value"),
            ("distances", "dist"),
            ("signals", "signal"),
        ),
        "int": (("states", "state"), ("modes", "mode"), ("flags", "flag")),
    },
    params={"float": ("threshold", "cutoff", "limit", "hysteresis"), "int": ("mode_count", "max_state")},
    outputs={"float": ("response", "classified", "result")},
    locals={"float": ("response", "excess", "penalty", "margin"), "int": ("category", "state_code")},
)


def _branch(w: KernelWriter, targets: list[str]) -> None:
    """A branch body: update a target (reading what the branch computes), maybe under a nested condition."""
    rng = w.rng
    if rng.random() < 0.3 and w.can_compute(FLOAT, 2):
        w.assign(FLOAT, 2)
    w.update(rng.choice(targets))
    if w.can_nest and rng.random() < 0.4:
        with w.block(f"if {w.expr(BOOL, 2)}"):
            w.update(rng.choice(targets))


@register_category("conditional", groups={"arith", "cond", "trig"})
def conditional(w: KernelWriter) -> None:
    """Branching: if/elif/else chains, nested ifs, ``wp.where`` and conditional expressions."""
    rng = w.rng
    VOCABULARY.apply(w)
    declare_inputs(w, VOCABULARY, (FLOAT, FLOAT, INT))
    if rng.random() < 0.5:
        param(w, VOCABULARY, FLOAT)
    w.add_helpers((FLOAT, INT))
    targets = [w.assign(FLOAT) for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.4 and w.can_compute(INT):
        targets.append(w.assign(INT))
    for _ in range(max(1, w.limits.statements // 2)):
        conditions = [w.expr(BOOL, 2)]
        with w.block(f"if {conditions[0]}"):
            _branch(w, targets)
        for _ in range(rng.randint(0, 2)):
            condition = w.expr(BOOL, 2)
            if condition in conditions:  # a repeated condition is a branch that never runs
                continue
            conditions.append(condition)
            with w.block(f"elif {condition}"):
                _branch(w, targets)
        if rng.random() < 0.6:
            with w.block("else"):
                _branch(w, targets)
    store(w, VOCABULARY, FLOAT)
