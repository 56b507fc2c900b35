"""Dataset statistics: what a dataset covers and how diverse it is.

Works on records (dicts with the schema's fields), generator in, numbers out. Measures: records per
category and complexity, distinct Warp builtins used (in the Python, and as resolved in the IR),
exact-unique and structural-unique rates (identifiers renamed by order of appearance, numeric literals
masked), near-duplicate rate (MinHash over token 5-gram shingles, Jaccard >= 0.8, ``datasketch``),
Python and IR sizes, the IR/Python expansion ratio, replaced kernels by reason, and what the Python computes
(the share of kernels with each dataflow finding of ``warp_ir_dataset.dataflow``: dead inputs, constant outputs,
dead locals and statements, helpers called for nothing, operations on literals only, numbered names).
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import re
import statistics
import tokenize
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from . import dataflow
from . import warp_internals as wi

NEAR_DUPLICATE_THRESHOLD = 0.8
SHINGLE_SIZE = 5
NUM_PERM = 128

_OPERATOR_BUILTINS = {
    ast.Add: "add",
    ast.Sub: "sub",
    ast.Mult: "mul",
    ast.MatMult: "mul",
    ast.Div: "div",
    ast.FloorDiv: "floordiv",
    ast.Mod: "mod",
    ast.Pow: "pow",
    ast.LShift: "lshift",
    ast.RShift: "rshift",
    ast.BitAnd: "bit_and",
    ast.BitOr: "bit_or",
    ast.BitXor: "bit_xor",
    ast.USub: "neg",
    ast.Invert: "invert",
    ast.Not: "unot",
}
_IR_CALL = re.compile(r"\bwp::(?:adj_)?(\w+)\(")


def python_builtins(source: str, names: frozenset[str] | None = None) -> set[str]:
    """Warp builtins a kernel's Python uses: ``wp.<builtin>(...)`` calls and operators that map to builtins."""
    names = names if names is not None else wi.builtin_names()
    tree = ast.parse(source)
    # signatures (wp.array(dtype=...) annotations) are types, not uses of builtins
    in_annotations = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.arg) and node.annotation
        for sub in ast.walk(node.annotation)
    }
    used = set()
    for node in ast.walk(tree):
        if id(node) in in_annotations:
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if isinstance(node.func.value, ast.Name) and node.func.value.id == "wp" and node.func.attr in names:
                used.add(node.func.attr)
        elif isinstance(node, (ast.BinOp, ast.UnaryOp, ast.AugAssign)):
            op = _OPERATOR_BUILTINS.get(type(node.op))
            if op in names:
                used.add(op)
    return used


def ir_builtins(code: str, names: frozenset[str] | None = None) -> set[str]:
    """Warp builtins called in generated C++/CUDA (``wp::name(`` / ``wp::adj_name(``)."""
    names = names if names is not None else wi.builtin_names()
    return {name for name in _IR_CALL.findall(code) if name in names}


class _Normalizer(ast.NodeTransformer):
    """Renames identifiers by order of first appearance and masks numeric literals."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {"wp": "wp"}

    def _rename(self, name: str) -> str:
        return self.names.setdefault(name, f"n{len(self.names)}")

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self._rename(node.id)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.name = self._rename(node.name)
        self.generic_visit(node)
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        node.name = self._rename(node.name)
        self.generic_visit(node)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self._rename(node.arg)
        self.generic_visit(node)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if not (isinstance(node.value, ast.Name) and node.value.id == "wp"):
            node.attr = self._rename(node.attr)  # struct fields; wp.<builtin> stays
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return ast.copy_location(ast.Constant(value=0), node)
        return node


def structural_form(source: str) -> str:
    """``source`` with identifiers renamed by order of appearance and numeric literals masked."""
    return ast.unparse(_Normalizer().visit(ast.parse(source)))


def name_normalized_tokens(source: str) -> list[str]:
    """Tokens of ``source`` with identifiers renamed by order of appearance (literals kept)."""
    names: dict[str, str] = {}
    tokens = []
    keywords = {
        "def",
        "return",
        "if",
        "elif",
        "else",
        "for",
        "in",
        "while",
        "and",
        "or",
        "not",
        "break",
        "continue",
        "import",
        "as",
        "class",
        "pass",
        "range",
        "True",
        "False",
        "None",
    }
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and tok.string not in keywords and tok.string != "wp":
            tokens.append(names.setdefault(tok.string, f"n{len(names)}"))
        elif tok.type in (tokenize.NAME, tokenize.OP, tokenize.NUMBER, tokenize.STRING):
            tokens.append(tok.string)
    return tokens


def _minhash(source: str) -> Any:
    from datasketch import MinHash

    tokens = name_normalized_tokens(source)
    shingles = {" ".join(tokens[k : k + SHINGLE_SIZE]) for k in range(max(1, len(tokens) - SHINGLE_SIZE + 1))}
    minhash = MinHash(num_perm=NUM_PERM, seed=1)
    for shingle in sorted(shingles):
        minhash.update(shingle.encode())
    return minhash


def near_duplicate_groups(
    records: Sequence[dict[str, Any]], threshold: float = NEAR_DUPLICATE_THRESHOLD
) -> dict[str, str]:
    """For each record whose Python is a near-duplicate of an earlier record's, the id of that earlier record
    (the first of its group).

    Near-duplicate: estimated Jaccard similarity >= ``threshold`` of the sets of token 5-grams, with
    identifiers renamed by order of appearance.
    """
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    kept: dict[str, Any] = {}
    first: dict[str, str] = {}
    for record in records:
        minhash = _minhash(record["python_source"])
        match = next((key for key in sorted(lsh.query(minhash)) if minhash.jaccard(kept[key]) >= threshold), None)
        if match is not None:
            first[record["id"]] = match
        else:
            lsh.insert(record["id"], minhash)
            kept[record["id"]] = minhash
    return first


def near_duplicate_ids(records: Sequence[dict[str, Any]], threshold: float = NEAR_DUPLICATE_THRESHOLD) -> set[str]:
    """Ids of records whose Python is a near-duplicate of an earlier record's (the earliest of each group is
    kept); see :func:`near_duplicate_groups`."""
    return set(near_duplicate_groups(records, threshold))


def _flow(source: str) -> Any:
    """The dataflow findings of a record's kernel; ``None`` for real code the analysis cannot read."""
    try:
        return dataflow.analyze(source)
    except Exception:  # noqa: BLE001 - harvested code may hold forms synthesis never writes
        return None


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def drops_by_reason(records: Iterable[dict[str, Any]]) -> dict[str, int]:
    """How many generated kernels were replaced before these records, by reason (``FailureReason``).

    Every record lists the reasons of the attempts before it in ``failed_attempts``, so the counts travel
    with the data: from a built dataset, a Hub folder, or the records a stream has yielded so far.
    """
    return dict(sorted(Counter(reason for r in records for reason in (r.get("failed_attempts") or [])).items()))


def compute_stats(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """All statistics of a set of records, as a JSON-serialisable dict."""
    rows = list(records)
    names = wi.builtin_names()
    by_category = Counter(r["category"] for r in rows)
    by_complexity = Counter(str(r["complexity"]) for r in rows)
    by_both = Counter(f"{r['category']}/{r['complexity']}" for r in rows)
    py_builtins: Counter = Counter()
    ir_used: set[str] = set()
    for r in rows:
        py_builtins.update(python_builtins(r["python_source"], names))
        ir_used |= ir_builtins(r["cpp_forward"] + r["cpp_backward"], names)
    n = len(rows)
    exact = len({hashlib.sha256(r["python_source"].encode()).hexdigest() for r in rows})
    structural = len({hashlib.sha256(structural_form(r["python_source"]).encode()).hexdigest() for r in rows})
    near = near_duplicate_ids(rows) if rows else set()
    py_size = [len(r["python_source"]) for r in rows]
    ir_size = [sum(len(r[f]) for f in ("cpp_forward", "cpp_backward", "cuda_forward", "cuda_backward")) for r in rows]
    validation = {
        field: {str(v).lower(): c for v, c in Counter(r[field] for r in rows).items()}
        for field in ("compiled", "launched_cpu", "outputs_finite")
    }
    flows = dataflow.flag_counts(flow for r in rows if (flow := _flow(r["python_source"])) is not None)
    return {
        "records": n,
        "records_per_category": dict(sorted(by_category.items())),
        "records_per_complexity": dict(sorted(by_complexity.items())),
        "records_per_category_and_complexity": dict(sorted(by_both.items())),
        "distinct_builtins_python": len(py_builtins),
        "distinct_builtins_ir": len(ir_used),
        "builtins_available": len(names),
        "builtin_use_counts": dict(sorted(py_builtins.items())),
        "exact_unique_rate": exact / n if n else 0.0,
        "structural_unique_rate": structural / n if n else 0.0,
        "near_duplicate_rate": len(near) / n if n else 0.0,
        "near_duplicate_threshold": NEAR_DUPLICATE_THRESHOLD,
        "python_chars_median": _median(py_size),
        "ir_chars_median": _median(ir_size),
        "expansion_ratio_median": _median([i / p for p, i in zip(py_size, ir_size, strict=True)]),
        "validation": validation,
        "replaced_by_reason": drops_by_reason(rows),
        "dataflow": flows,
    }


def format_stats(stats: dict[str, Any]) -> str:
    """A short human-readable report (the full numbers are in ``json.dumps(stats)``)."""
    lines = [
        f"records: {stats['records']}",
        "per category: " + ", ".join(f"{k} {v}" for k, v in stats["records_per_category"].items()),
        "per complexity: " + ", ".join(f"{k}: {v}" for k, v in stats["records_per_complexity"].items()),
        f"distinct Warp builtins: {stats['distinct_builtins_python']} in Python, {stats['distinct_builtins_ir']} "
        f"in the IR (of {stats['builtins_available']})",
        f"exact-unique rate: {stats['exact_unique_rate']:.4f}",
        f"structural-unique rate: {stats['structural_unique_rate']:.4f}",
        f"near-duplicate rate (Jaccard >= {stats['near_duplicate_threshold']}): {stats['near_duplicate_rate']:.4f}",
        f"median sizes: Python {stats['python_chars_median']:.0f} chars, IR {stats['ir_chars_median']:.0f} chars, "
        f"expansion {stats['expansion_ratio_median']:.1f}x",
        "validation: " + json.dumps(stats["validation"], sort_keys=True),
        "kernels with a dataflow finding: "
        + ", ".join(f"{label} {stats['dataflow'][key]:.2%}" for key, label, _ in dataflow.FLAGS)
        + f"; numbered names (t0, a1) {stats['dataflow']['numbered_name_share']:.2%} of defined names",
        "replaced kernels by reason: "
        + (json.dumps(stats["replaced_by_reason"]) if stats["replaced_by_reason"] else "none"),
    ]
    return "\n".join(lines)
