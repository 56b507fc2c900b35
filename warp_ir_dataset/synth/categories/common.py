"""Building blocks shared by several categories."""

from __future__ import annotations

from ..types import WarpType
from ..writer import KernelWriter


def declare_inputs(w: KernelWriter, choices: tuple[WarpType, ...], count: int | None = None) -> list[str]:
    """Declare ``count`` input arrays (default: the level's number) of types drawn from ``choices``."""
    n = w.limits.inputs if count is None else count
    return [w.input_array(w.rng.choice(choices)) for _ in range(n)]


def straight_line(w: KernelWriter, choices: tuple[WarpType, ...], statements: int | None = None) -> None:
    """Assign ``statements`` new locals of types drawn from ``choices``."""
    for _ in range(w.limits.statements if statements is None else statements):
        w.assign(w.rng.choice(choices))


def store(w: KernelWriter, t: WarpType, depth: int | None = None) -> str:
    """Declare an output array of ``t`` and write element ``i`` from an expression over what is in scope."""
    out = w.output_array(t)
    w.emit(f"{out}[i] = {result_expr(w, t, depth)}")
    return out


def result_expr(w: KernelWriter, t: WarpType, depth: int | None = None) -> str:
    """An expression of type ``t`` (at most ``depth`` deep) that folds in the locals of type ``t`` nothing has
    read yet."""
    unread = [n for n in w.locals_of(t) if w.gen.uses.get(n, 0) == 0][-2:]
    for name in unread:
        w.gen.uses[name] = 1
    return " + ".join([*unread, w.expr(t, depth)]) if t.name != "bool" else w.expr(t, depth)


def reduced_depth(w: KernelWriter) -> int:
    """One less than the level's expression depth, so that products of products stay within what float32
    finite differences can check."""
    return max(1, w.limits.depth - 1)
