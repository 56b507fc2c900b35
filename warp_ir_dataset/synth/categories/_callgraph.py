"""Calls between generated code, shared by the ``function`` and ``struct`` categories: call arguments that
depend on an input, and results that read every pending value without cancelling themselves."""

from __future__ import annotations

import ast
from collections.abc import Callable

from ...dataflow import self_cancelling
from ..types import WarpType, literal
from ..writer import Body


def arguments(
    body: Body, operands: tuple[WarpType, ...], rule: Callable[[list[float]], float] | None = None, limit: float = 8.0
) -> list[str] | None:
    """Call arguments reading what is in scope where they can, no two the same (``f(x, x)`` reads as a mistake);
    None if none of them would depend on an input (a call on constants: an operation on literals).

    ``rule`` estimates the callee's result (``log2`` of a bound, from the arguments' estimates) where the
    expression generator does not know the callee: a few draws, the first within ``limit`` bits (else the
    smallest), so that results passed on do not grow past what the generator believes.
    """
    best: tuple[float, list[str]] | None = None
    for _ in range(4 if rule else 1):
        args: list[str] = []
        for t in operands:
            text = ""
            for depth in (1, 1, 2, 3):
                text = body.expr(t, depth)
                if text not in args and body.deps(text):
                    break
            args.append(text if text not in args else literal(t, body.rng))
        if not any(body.deps(a) for a in args):
            continue
        size = rule([body.magnitude(a) for a in args]) if rule else 0.0
        if best is None or size < best[0]:
            best = (size, args)
        if size <= limit:
            break
    return best[1] if best else None


def result(body: Body, t: WarpType, depth: int | None = None, operation: bool = False) -> str:
    """``body.result``: an expression reading every value nothing has read yet (with ``operation``, never a bare
    variable), without a self-cancelling combination such as ``(t + 1.5) - t`` (``Body.result`` can join a
    term that cancels part of its base)."""
    value = ""
    for _ in range(4):
        base = body.expr(t, depth, operation=True) if operation and body.can_compute(t, depth) else None
        value = body.result(t, depth, base=base)
        tree = ast.parse(value, mode="eval")
        if not any(self_cancelling(node) for node in ast.walk(tree) if isinstance(node, ast.expr)):
            break
    return value
