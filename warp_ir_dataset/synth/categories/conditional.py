from __future__ import annotations

from ..category import register_category
from ..types import BOOL, FLOAT, INT, VEC3
from ..writer import KernelWriter
from .common import declare_inputs, store


def _branch_body(w: KernelWriter, targets: list[str]) -> None:
    w.update(w.rng.choice(targets))
    if w.can_nest and w.rng.random() < 0.4:
        with w.block(f"if {w.expr(BOOL, 2)}"):
            w.update(w.rng.choice(targets))
    elif w.rng.random() < 0.3:
        w.assign(FLOAT)


@register_category("conditional", groups={"arith", "cond", "trig"})
def conditional(w: KernelWriter) -> None:
    """Branching: if/elif/else chains, nested ifs, ``wp.where`` and conditional expressions."""
    rng = w.rng
    declare_inputs(w, (FLOAT, FLOAT, INT, VEC3))
    if rng.random() < 0.5:
        w.param(FLOAT)
    w.add_helpers((FLOAT, INT))
    targets = [w.assign(FLOAT) for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.4:
        targets.append(w.assign(INT))
    for _ in range(max(1, w.limits.statements // 2)):
        with w.block(f"if {w.expr(BOOL, 2)}"):
            _branch_body(w, targets)
        for _ in range(rng.randint(0, 2)):
            with w.block(f"elif {w.expr(BOOL, 2)}"):
                _branch_body(w, targets)
        if rng.random() < 0.6:
            with w.block("else"):
                _branch_body(w, targets)
    store(w, FLOAT)
