"""Machinery the geometry and particles categories share: neighbour loops over a hash grid (or over every
point), penalty contact forces between neighbours, and arithmetic on coefficients that may be literals.

Not a category (the package skips modules whose names start with ``_``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager

from ..types import FLOAT, INT, VEC3, WarpType
from ..writer import KernelWriter

#: Points of the hash grids and items of the BVHs validation builds (``validate.LAUNCH_DIM``).
ITEMS = 64
#: Opaque values (query objects, the mesh struct): no production reads or builds them, so expressions never do.
QUERY = WarpType("query", "query")
MESH_DATA = WarpType("mesh_data", "wp.Mesh")


# ------------------------------------------------------------------ coefficients that may be literals
def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _format(value: float) -> str:
    text = f"{value:.4g}"
    return text if any(c in text for c in ".e") else text + ".0"


def _operand(text: str) -> str:
    """``text`` parenthesised where a product would otherwise bind into it (a sum or difference)."""
    node = ast.parse(text, mode="eval").body
    return f"({text})" if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)) else text


def mul(a: str, b: str) -> str:
    """``a * b``, evaluated here when both are number literals (a coefficient drawn as a literal)."""
    x, y = _number(a), _number(b)
    if x is not None and y is not None:
        return _format(x * y)
    return f"{_operand(a)} * {_operand(b)}"


def add(a: str, b: str) -> str:
    """``a + b``, evaluated here when both are number literals."""
    x, y = _number(a), _number(b)
    return _format(x + y) if x is not None and y is not None else f"{a} + {b}"


def sub(a: str, b: str) -> str:
    """``a - b``, evaluated here when both are number literals."""
    x, y = _number(a), _number(b)
    return _format(x - y) if x is not None and y is not None else f"{a} - {_operand(b)}"


# ------------------------------------------------------------------ neighbour loops
@contextmanager
def neighbor_loop(
    w: KernelWriter, center: str, radius: str, points: str, *, grid: str | None = None, skip: str | None = None
) -> Iterator[tuple[str, str, str]]:
    """Loop over the neighbours of ``center``: a hash-grid query of ``radius`` when ``grid`` is given, else every
    entry of ``points`` (brute force). Skips neighbour ``skip`` (the thread's own point) when given.

    Yields ``(j, delta, dist)``: the neighbour's index, ``center - points[j]`` and its length. The index is
    protected inside the loop (expressions do not compute on it).
    """
    if grid is not None:
        query = w.let(("query", "nbr_query"), f"wp.hash_grid_query({grid}, {center}, {radius})", QUERY)
        j = w.let(("j", "nbr", "neighbor"), "int(0)", INT)
        header = f"while wp.hash_grid_query_next({query}, {j})"
    else:
        j = w.name("j", "nbr", "neighbor")
        header = f"for {j} in range({points}.shape[0])"
    with w.block(header), w.protect(j):
        if grid is None:
            w.define(j, INT)
        if skip is not None:
            with w.block(f"if {j} == {skip}"):
                w.emit("continue")
        delta = w.let(("delta", "rel_pos", "sep"), f"{center} - {points}[{j}]", VEC3)
        dist = w.let(("dist", "sep_len", "pair_dist"), f"wp.length({delta})", FLOAT)
        yield j, delta, dist


def contact_force(
    w: KernelWriter,
    force: str,
    delta: str,
    dist: str,
    overlap: str,
    rel_vel: str,
    ke: str,
    kd: str,
    mu: str | None = None,
) -> None:
    """Add a penalty contact force to ``force``: a spring ``ke`` on the ``overlap`` along the contact normal,
    damping ``kd`` of the approaching normal speed and, with ``mu``, Coulomb-limited friction."""
    n = w.let(("n", "normal", "contact_n"), f"{delta} / wp.max({dist}, 1.0e-6)", VEC3)
    vn = w.let(("vn", "normal_speed", "approach"), f"wp.dot({rel_vel}, {n})", FLOAT)
    fn = w.let(("fn", "normal_force", "push"), f"{mul(ke, overlap)} - {kd} * wp.min({vn}, 0.0)", FLOAT)
    w.set(force, f"{force} + {n} * {fn}")
    if mu is not None:
        vt = w.let(("vt", "slip", "tangent_vel"), f"{rel_vel} - {n} * {vn}", VEC3)
        w.set(force, f"{force} - wp.normalize({vt}) * wp.min({mul(mu, fn)}, wp.length({vt}) * {kd})")
