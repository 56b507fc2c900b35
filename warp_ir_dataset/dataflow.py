"""Dataflow figures of a Warp kernel's Python, computed from the AST of its source alone.

This is the project's measure of whether generated code *computes something*: it does not trust the
generator's bookkeeping, so it catches generator bugs. For the kernel and every ``@wp.func`` helper it
finds, over structured control flow (``if``/``for``/``while``, ``break``/``continue``/``return``):

- reaching definitions, so every read knows which assignments it may see (loops to a fixed point);
- which inputs each value depends on (through data, array indices and the conditions that steer it);
- which statements reach an output (a store to an array, an atomic, a helper's return value), directly,
  through other statements, or through the control flow they steer.

From that, per function: parameters that reach no output, parameters never mentioned, outputs that
depend on no input, locals assigned and never read, statements whose value reaches no output, helper
calls made for nothing, operations whose operands are all literals, self-cancelling operations
(``p - p``), and how many defined names are a single letter plus digits (``t0``, ``a1``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .errors import NotAKernelError

#: Builtins that write the array passed as their first argument.
WRITES_ARRAY = ("atomic_", "tile_store", "tile_atomic_add", "tile_scatter")
#: Builtins that update locals passed by reference: {name: positions}. The variable must exist before the
#: call (``U = wp.mat33()`` then ``wp.svd3(A, U, sigma, V)``), so the call reads and redefines it.
BY_REFERENCE = {
    "hash_grid_query_next": (0, 1),
    "bvh_query_next": (0, 1),
    "mesh_query_aabb_next": (0, 1),
    "tile_axpy": (2,),
    "tile_sort": (0, 1),
    "svd3": (1, 2, 3),
    "svd2": (1, 2, 3),
    "qr3": (1, 2),
    "eig3": (1, 2),
    "quat_to_axis_angle": (1, 2),
    "transform_set_translation": (0,),
    "transform_set_rotation": (0,),
}
#: Builtins that build a value from constants; with constant operands they are a constant, not an operation.
_CONSTRUCTORS = frozenset(
    """
    vec2 vec3 vec4 vec2i vec3i vec4i vec2f vec3f vec4f vec2d vec3d vec4d vec2h vec3h vec4h vector
    mat22 mat33 mat44 mat22f mat33f mat44f mat22d mat33d mat44d matrix identity
    quat quatf quatd quaternion quat_identity transform transformf transformd transformation transform_identity
    spatial_vector spatial_vectorf spatial_matrix
    float16 float32 float64 int8 int16 int32 int64 uint8 uint16 uint32 uint64 bool constant
    tile_zeros tile_ones tile_full tile_arange rand_init
    """.split()
)
_PYTHON_CASTS = frozenset({"float", "int", "bool", "range"})
#: Constants Warp exposes as ``wp.<name>``.
_WARP_CONSTANTS = frozenset({"pi", "tau", "e", "inf", "nan", "half_pi", "ln2", "ln10", "log2e", "log10e", "phi"})
#: Keyword arguments that name types or shapes, not operands.
_TYPE_KEYWORDS = frozenset({"dtype", "shape", "n", "m", "storage", "length", "ndim"})
#: Binary operators whose result is trivial when both operands are the same expression.
_SELF_CANCELLING_OPS = (ast.Sub, ast.Div, ast.FloorDiv, ast.Mod, ast.BitXor, ast.BitAnd, ast.BitOr)
_SELF_CANCELLING_CALLS = frozenset({"min", "max", "cross", "sub", "div", "atan2", "cw_div", "bit_xor"})
#: Calls that invert their argument: ``x`` combined with one of them cancels out.
_INVERSES = frozenset({"quat_inverse", "inverse", "transform_inverse"})
_NUMBERED = re.compile(r"^[A-Za-z]\d+$")

_DefId = tuple  # ("param", name) or (statement index, name)


def _is_wp(node: ast.AST, names: Iterable[str] | None = None) -> str | None:
    """``wp.<name>`` → name (if in ``names``), else None."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "wp":
        if names is None or node.attr in names:
            return node.attr
    return None


def _decorators(node: ast.FunctionDef) -> set[str]:
    out = set()
    for d in node.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        name = _is_wp(target)
        if name:
            out.add(name)
    return out


def _is_array_annotation(annotation: ast.AST | None) -> bool:
    if annotation is None:
        return False
    target = annotation.func if isinstance(annotation, ast.Call) else annotation
    name = _is_wp(target) or (target.id if isinstance(target, ast.Name) else "")
    return name.startswith(("array", "indexedarray", "fabricarray"))


# ------------------------------------------------------------------------------------------ reports
@dataclass(frozen=True)
class FunctionFlow:
    """Dataflow findings in one function (the kernel or a ``@wp.func`` helper).

    Line numbers are those of the source. For a helper, "an output" is its return value or an array it
    writes, and "an input" is any parameter.
    """

    name: str
    kind: str  # "kernel" or "func"
    dead_params: tuple[str, ...] = ()
    unused_params: tuple[str, ...] = ()
    constant_outputs: tuple[str, ...] = ()
    dead_locals: tuple[str, ...] = ()
    dead_statements: tuple[int, ...] = ()
    dropped_calls: tuple[int, ...] = ()
    literal_operations: tuple[str, ...] = ()
    self_cancelling: tuple[str, ...] = ()
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class KernelFlow:
    """Dataflow findings for one kernel source: the kernel, its helpers, and helpers nobody calls."""

    functions: tuple[FunctionFlow, ...]
    uncalled_helpers: tuple[str, ...] = ()

    def _any(self, attribute: str) -> bool:
        return any(getattr(f, attribute) for f in self.functions)

    @property
    def dead_input(self) -> bool:
        """A parameter (of the kernel or a helper) reaches no output."""
        return self._any("dead_params") or self._any("unused_params")

    @property
    def unused_param(self) -> bool:
        return self._any("unused_params")

    @property
    def constant_output(self) -> bool:
        """An output of the kernel depends on no input."""
        return any(f.constant_outputs for f in self.functions if f.kind == "kernel")

    @property
    def dead_local(self) -> bool:
        return self._any("dead_locals")

    @property
    def dead_statement(self) -> bool:
        return self._any("dead_statements")

    @property
    def dropped_helper_result(self) -> bool:
        return self._any("dropped_calls") or bool(self.uncalled_helpers)

    @property
    def literal_operation(self) -> bool:
        return self._any("literal_operations")

    @property
    def self_cancelling(self) -> bool:
        return self._any("self_cancelling")

    @property
    def names(self) -> list[str]:
        return [n for f in self.functions for n in f.names]

    @property
    def numbered_names(self) -> list[str]:
        """Defined names that are one letter and digits (``t0``, ``a1``)."""
        return [n for n in self.names if _NUMBERED.match(n)]

    @property
    def clean(self) -> bool:
        return not (
            self.dead_input
            or self.constant_output
            or self.dead_local
            or self.dead_statement
            or self.dropped_helper_result
            or self.literal_operation
            or self.self_cancelling
        )

    def problems(self) -> list[str]:
        """Every finding, one line each (for messages and debugging)."""
        lines = [f"uncalled helper {n}" for n in self.uncalled_helpers]
        for f in self.functions:
            for label, values in (
                ("parameter reaching no output", f.dead_params),
                ("unused parameter", f.unused_params),
                ("output depending on no input", f.constant_outputs),
                ("local never read", f.dead_locals),
                ("statement reaching no output at line", f.dead_statements),
                ("helper call for nothing at line", f.dropped_calls),
                ("operation on literals only", f.literal_operations),
                ("self-cancelling operation", f.self_cancelling),
            ):
                lines += [f"{f.name}: {label} {v}" for v in values]
        return lines


#: The per-kernel flags the dataset reports, in order: (key, description, KernelFlow property).
FLAGS: tuple[tuple[str, str, str], ...] = (
    ("dead_input", "a parameter that reaches no output", "dead_input"),
    ("constant_output", "an output independent of every input", "constant_output"),
    ("dead_local", "a local assigned and never read", "dead_local"),
    ("dead_statement", "a statement whose value reaches no output", "dead_statement"),
    ("unused_param", "a parameter never used", "unused_param"),
    ("dropped_helper_result", "a helper called for nothing", "dropped_helper_result"),
    ("literal_operation", "an operation on literals only", "literal_operation"),
    ("self_cancelling", "a self-cancelling operation (p - p)", "self_cancelling"),
)


# ------------------------------------------------------------------------------------------ helper summaries
@dataclass
class _Summary:
    """What a call to a helper does with its arguments."""

    params: tuple[str, ...]
    returns_value: bool = False
    to_return: set[int] = field(default_factory=set)  # argument positions that reach the return value
    writes: dict[int, set[int]] = field(default_factory=dict)  # array position -> positions reaching the write

    def merge(self, other: _Summary) -> None:  # overloads: any of them may run
        self.returns_value |= other.returns_value
        self.to_return |= other.to_return
        for k, v in other.writes.items():
            self.writes.setdefault(k, set()).update(v)


# ------------------------------------------------------------------------------------------ one function
@dataclass
class _Stmt:
    node: ast.AST
    kind: str  # "def", "sink", "header", "jump", "return", "other"
    line: int
    reads: set = field(default_factory=set)  # def ids whose value flows into this statement
    defs: dict = field(default_factory=dict)  # name -> def id
    sinks: set = field(default_factory=set)  # arrays written ("return" for a helper's return value)
    ctrl: tuple = ()  # indices of the headers that steer this statement
    calls: list = field(default_factory=list)  # helper names called here
    index: int = 0


class _Walker:
    """Walks one function body once (loop bodies to a fixed point) and records, for every statement, the
    definitions it may read (reaching definitions), what it defines, the outputs it writes, the conditions
    and loops that steer it, and the helpers it calls."""

    def __init__(self, node: ast.FunctionDef, helpers: dict[str, _Summary]):
        self.node = node
        self.helpers = helpers
        self.params = [a.arg for a in node.args.args]
        self.arrays = {a.arg for a in node.args.args if _is_array_annotation(a.annotation)}
        self.stmts: list[_Stmt] = []
        self.mentions: dict[str, int] = {}  # name -> syntactic reads (not as a store target)
        self.data_reads: set[str] = set()  # array params read for their data (not .shape, not as written)
        self.assigned: dict[str, int] = {}  # local name -> first line assigned
        self.loop_targets: set[str] = set()
        self._loops: list[dict] = []
        self._index: dict[int, int] = {}  # id(ast node) -> statement index, so loop passes reuse statements
        env = {name: frozenset({("param", name)}) for name in self.params}
        self.walk(node.body, env, ())

    def _mention(self, name: str) -> None:
        self.mentions[name] = self.mentions.get(name, 0) + 1

    # ---------------------------------------------------------------- expressions
    def _reads(self, node: ast.AST | None, env: dict, stmt: _Stmt) -> set:
        """Def ids whose values flow into expression ``node``; records mentions, calls and writes on the way."""
        if node is None or isinstance(node, (ast.Lambda, ast.Constant)):
            return set()
        if isinstance(node, ast.Name):
            self._mention(node.id)
            if node.id in self.arrays:
                self.data_reads.add(node.id)
            return set(env.get(node.id, ()))
        if isinstance(node, ast.Attribute):
            if node.attr == "shape" and isinstance(node.value, ast.Name):
                self._mention(node.value.id)
                return set()  # an array's size is not its data
            if isinstance(node.value, ast.Name) and node.value.id == "wp":
                return set()
            return self._reads(node.value, env, stmt)
        if isinstance(node, ast.Call):
            return self._call(node, env, stmt)
        out: set = set()
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.expr_context):
                out |= self._reads(child, env, stmt)
        return out

    def _all_reads(self, nodes: list[ast.AST], env: dict, stmt: _Stmt) -> set:
        return set().union(set(), *(self._reads(n, env, stmt) for n in nodes))

    def _call(self, node: ast.Call, env: dict, stmt: _Stmt) -> set:
        func = node.func
        builtin = _is_wp(func)
        args = list(node.args)
        keywords = [k.value for k in node.keywords if k.arg not in _TYPE_KEYWORDS]
        if isinstance(func, ast.Name) and func.id in self.helpers:
            return self._helper_call(func.id, args, keywords, env, stmt)
        if builtin and builtin.startswith(WRITES_ARRAY) and args and isinstance(args[0], ast.Name):
            self._mention(args[0].id)
            reads = self._all_reads([*args[1:], *keywords], env, stmt)
            self._write(args[0].id, reads, stmt, env)
            return reads
        if builtin in BY_REFERENCE:
            reads = self._all_reads([*args, *keywords], env, stmt)
            stmt.reads |= reads  # the call reads the referenced locals as well as redefining them
            for k in BY_REFERENCE[builtin]:
                if k < len(args) and isinstance(args[k], ast.Name):
                    stmt.defs[args[k].id] = (stmt.index, args[k].id)
                    if args[k].id not in self.params:
                        self.assigned.setdefault(args[k].id, stmt.line)
            return reads
        if builtin in ("tile_map", "tile_reduce") and args and isinstance(args[0], ast.Name):
            if args[0].id in self.helpers:  # a helper passed by name: called on every element
                stmt.calls.append(args[0].id)
                self._mention(args[0].id)
                args = args[1:]
        return self._all_reads([*args, *keywords], env, stmt)

    def _helper_call(self, name: str, args: list, keywords: list, env: dict, stmt: _Stmt) -> set:
        """A call to a ``@wp.func`` of this module: only the arguments its summary says flow, flow."""
        summary = self.helpers[name]
        stmt.calls.append(name)
        self._mention(name)
        sources = set().union(set(), *summary.writes.values()) | summary.to_return
        arg_reads = []
        for k, a in enumerate(args):
            if k in summary.writes and k not in sources and isinstance(a, ast.Name):
                self._mention(a.id)  # an output argument: written, not read
                arg_reads.append(set())
            else:
                arg_reads.append(self._reads(a, env, stmt))
        out = set().union(set(), *(reads for k, reads in enumerate(arg_reads) if k in summary.to_return))
        for k, flowing in summary.writes.items():
            if k < len(args) and isinstance(args[k], ast.Name):
                written = set().union(set(), *(arg_reads[m] for m in flowing if m < len(arg_reads)))
                self._write(args[k].id, written, stmt, env)
        return out | self._all_reads(keywords, env, stmt)

    def _write(self, target: str, reads: set, stmt: _Stmt, env: dict) -> None:
        """A store into ``target``: an output if it is an array parameter, else a new definition of a local."""
        self._mention(target)
        if target in self.arrays:
            stmt.sinks.add(target)
            stmt.reads |= reads
        else:  # a component or field of a local: reads and redefines it
            stmt.reads |= reads | set(env.get(target, ()))
            stmt.defs[target] = (stmt.index, target)

    # ---------------------------------------------------------------- statements
    def _new(self, node: ast.AST, kind: str, ctrl: tuple) -> _Stmt:
        index = self._index.get(id(node))
        if index is not None:  # a later pass over a loop body: the same statement, more reaching definitions
            stmt = self.stmts[index]
            stmt.ctrl = tuple(sorted(set(stmt.ctrl) | set(ctrl)))
            return stmt
        stmt = _Stmt(node, kind, getattr(node, "lineno", 0), ctrl=ctrl, index=len(self.stmts))
        self._index[id(node)] = len(self.stmts)
        self.stmts.append(stmt)
        return stmt

    def _store_targets(self, target: ast.AST, value_reads: set, stmt: _Stmt, env: dict) -> None:
        if isinstance(target, ast.Name):
            stmt.defs[target.id] = (stmt.index, target.id)
            stmt.reads |= value_reads
            if target.id not in self.params:
                self.assigned.setdefault(target.id, stmt.line)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._store_targets(element, value_reads, stmt, env)
        elif isinstance(target, (ast.Subscript, ast.Attribute)):
            base, index_reads = target, set()
            while isinstance(base, (ast.Subscript, ast.Attribute)):  # states[i].x = v, m[0][1] = v
                if isinstance(base, ast.Subscript):
                    index_reads |= self._reads(base.slice, env, stmt)
                base = base.value
            if isinstance(base, ast.Name):
                self._write(base.id, value_reads | index_reads, stmt, env)

    def walk(self, body: list[ast.stmt], env: dict, ctrl: tuple) -> dict | None:
        """Process ``body`` from reaching definitions ``env``; return the env at its end (None: no fall-through)."""
        for node in body:
            if env is None:
                return None
            env = self._statement(node, env, ctrl)
            if isinstance(node, ast.If) and any(
                isinstance(c, (ast.Return, ast.Break, ast.Continue)) for c in ast.walk(node)
            ):
                ctrl = (*ctrl, self._index[id(node)])  # what follows runs only when the guard let it through
        return env

    def _statement(self, node: ast.stmt, env: dict, ctrl: tuple) -> dict | None:
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            stmt = self._new(node, "def", ctrl)
            value_reads = self._reads(node.value, env, stmt)
            if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                self._mention(node.target.id)
                value_reads |= set(env.get(node.target.id, ()))
            if node.value is None:
                return env
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                self._store_targets(target, value_reads, stmt, env)
            return self._apply(env, stmt)
        if isinstance(node, ast.Expr):
            stmt = self._new(node, "other", ctrl)
            stmt.reads |= self._reads(node.value, env, stmt)
            return self._apply(env, stmt)
        if isinstance(node, ast.Return):
            stmt = self._new(node, "return" if node.value is not None else "jump", ctrl)
            stmt.reads |= self._reads(node.value, env, stmt)
            if node.value is not None:
                stmt.sinks.add("return")
            return None
        if isinstance(node, (ast.Break, ast.Continue)):
            self._new(node, "jump", ctrl)
            if self._loops:
                self._loops[-1]["breaks" if isinstance(node, ast.Break) else "continues"].append(dict(env))
            return None
        if isinstance(node, ast.Pass):
            return env
        if isinstance(node, ast.If):
            stmt = self._new(node, "header", ctrl)
            stmt.reads |= self._reads(node.test, env, stmt)
            inner = (*ctrl, stmt.index)
            then_env = self.walk(node.body, dict(env), inner)
            else_env = self.walk(node.orelse, dict(env), inner) if node.orelse else dict(env)
            return _merge(then_env, else_env)
        if isinstance(node, (ast.For, ast.While)):
            return self._loop(node, env, ctrl)
        stmt = self._new(node, "other", ctrl)  # anything else (with, nested defs): reads what it reads
        stmt.reads |= self._reads(node, env, stmt)
        return env

    def _loop(self, node: ast.For | ast.While, env: dict, ctrl: tuple) -> dict | None:
        stmt = self._new(node, "header", ctrl)
        inner = (*ctrl, stmt.index)
        head = dict(env)
        exits: list[dict | None] = []
        for _ in range(8):  # reaching definitions grow monotonically: a few passes reach the fixed point
            self._loops.append({"breaks": [], "continues": []})
            body_env = dict(head)
            if isinstance(node, ast.For):
                stmt.reads |= self._reads(node.iter, head, stmt)
                self._store_targets(node.target, stmt.reads, stmt, body_env)
                self.loop_targets.update(_target_names(node.target))
            else:
                stmt.reads |= self._reads(node.test, head, stmt)
            for name, def_id in stmt.defs.items():  # loop variables, by-reference outputs of the test (query_next)
                body_env[name] = frozenset({def_id})
            end = self.walk(node.body, body_env, inner)
            loop = self._loops.pop()
            new_head = _merge(head, end, *loop["continues"])
            exits = [body_env if isinstance(node, ast.While) else head, *loop["breaks"]]
            if new_head == head:
                break
            head = new_head
        # an exit test steers every iteration after it: the whole body depends on it
        guards = [self._index[id(g)] for g in _loop_exits(node.body) if id(g) in self._index]
        for body_stmt in self.stmts[stmt.index + 1 :]:
            body_stmt.ctrl = tuple(sorted(set(body_stmt.ctrl) | set(guards)))
        after = _merge(head, *exits)
        return self.walk(node.orelse, after, ctrl) if node.orelse else after

    def _apply(self, env: dict, stmt: _Stmt) -> dict:
        if stmt.sinks and stmt.kind == "def":
            stmt.kind = "sink"
        env = dict(env)
        for name, def_id in stmt.defs.items():
            env[name] = frozenset({def_id})
        return env


def _dependencies(walker: _Walker) -> list[frozenset[str]]:
    """Inputs (parameter names) each statement depends on, through data and control, to a fixed point."""
    def_deps: dict = {("param", p): frozenset({p}) for p in walker.params}
    stmt_deps: list[frozenset[str]] = [frozenset()] * len(walker.stmts)
    changed = True
    while changed:
        changed = False
        for k, stmt in enumerate(walker.stmts):
            deps = set()
            for d in stmt.reads:
                deps |= def_deps.get(d, frozenset())
            for h in stmt.ctrl:
                deps |= stmt_deps[h]
            deps = frozenset(deps)
            if deps != stmt_deps[k]:
                stmt_deps[k] = deps
                changed = True
            for def_id in stmt.defs.values():
                if def_deps.get(def_id) != deps:
                    def_deps[def_id] = deps
                    changed = True
    return stmt_deps


def _liveness(walker: _Walker) -> set[int]:
    """Statements whose effect reaches an output: the writes, and what they read or are steered by."""
    live: set[int] = set()
    work = [k for k, s in enumerate(walker.stmts) if s.sinks]
    while work:
        k = work.pop()
        if k in live:
            continue
        live.add(k)
        stmt = walker.stmts[k]
        work.extend(h for h in stmt.ctrl if h not in live)  # the conditions and loops that steer it
        work.extend(d[0] for d in stmt.reads if isinstance(d[0], int) and d[0] not in live)  # what it reads
    return live


def _function_flow(walker: _Walker, kind: str, constants: set[str]) -> tuple[FunctionFlow, _Summary]:
    """The findings in one function, and the summary its callers use."""
    stmt_deps = _dependencies(walker)
    live = _liveness(walker)
    reached: set[str] = set()
    outputs: dict[str, set[str]] = {}
    for k, stmt in enumerate(walker.stmts):
        for sink in stmt.sinks:
            outputs.setdefault(sink, set()).update(stmt_deps[k])
            reached |= stmt_deps[k]
    written = {s for s in outputs if s != "return"}
    pure_outputs = {p for p in written if p in walker.arrays and p not in walker.data_reads}
    if kind == "kernel":
        constant = [a for a, d in sorted(outputs.items()) if a != "return" and not d]
    else:
        constant = ["return"] if "return" in outputs and not outputs["return"] else []
    unused = [p for p in walker.params if not walker.mentions.get(p)]
    dead_params = [p for p in walker.params if p not in pure_outputs and p not in reached and p not in unused]
    locals_ = set(walker.assigned) - walker.loop_targets - set(walker.params)
    dead_locals = sorted(n for n in locals_ if not walker.mentions.get(n))
    dead_statements = sorted(
        {s.line for k, s in enumerate(walker.stmts) if s.kind in ("def", "other") and k not in live}
    )
    dropped = sorted(
        {
            s.line
            for k, s in enumerate(walker.stmts)
            for name in s.calls
            if k not in live and (walker.helpers[name].returns_value or not s.sinks)
        }
    )
    literal, cancelling = _expression_findings(walker.node, constants)
    flow = FunctionFlow(
        name=walker.node.name,
        kind=kind,
        dead_params=tuple(dead_params),
        unused_params=tuple(unused),
        constant_outputs=tuple(constant),
        dead_locals=tuple(dead_locals),
        dead_statements=tuple(dead_statements),
        dropped_calls=tuple(dropped),
        literal_operations=tuple(literal),
        self_cancelling=tuple(cancelling),
        names=tuple([*walker.params, *walker.assigned, *(walker.loop_targets - set(walker.assigned))]),
    )
    position = {p: k for k, p in enumerate(walker.params)}
    summary = _Summary(tuple(walker.params))
    for k, stmt in enumerate(walker.stmts):
        inputs = {position[p] for p in stmt_deps[k] if p in position}
        for sink in stmt.sinks:
            if sink == "return":
                summary.returns_value = True
                summary.to_return |= inputs
            elif sink in position:
                summary.writes.setdefault(position[sink], set()).update(inputs)
    return flow, summary


def _loop_exits(body: list[ast.stmt]) -> list[ast.If]:
    """The ``if`` statements of a loop body that ``break`` or ``continue`` this loop (not an inner one)."""
    found: list[ast.If] = []

    def jumps(nodes: list[ast.stmt]) -> bool:
        for n in nodes:
            if isinstance(n, (ast.Break, ast.Continue)):
                return True
            if isinstance(n, ast.If) and (jumps(n.body) or jumps(n.orelse)):
                return True
        return False

    def visit(nodes: list[ast.stmt]) -> None:
        for n in nodes:
            if isinstance(n, ast.If):
                if jumps(n.body) or jumps(n.orelse):
                    found.append(n)
                visit(n.body)
                visit(n.orelse)

    visit(body)
    return found


def _merge(*envs: dict | None) -> dict | None:
    present = [e for e in envs if e is not None]
    if not present:
        return None
    out: dict = {}
    for env in present:
        for name, defs in env.items():
            out[name] = out.get(name, frozenset()) | defs
    return out


def _target_names(target: ast.AST) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for e in target.elts for n in _target_names(e)]
    return []


# ------------------------------------------------------------------------------------------ expression checks
def _is_constant(node: ast.AST, constants: set[str]) -> bool:
    """A literal, a negated literal, a Warp constant, a module constant, or a constructor of constants."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return isinstance(node.operand, ast.Constant)
    if isinstance(node, ast.Name):
        return node.id in constants
    if _is_wp(node, _WARP_CONSTANTS):
        return True
    if isinstance(node, ast.Call):
        name = _is_wp(node.func, _CONSTRUCTORS) or (
            node.func.id if isinstance(node.func, ast.Name) and node.func.id in _PYTHON_CASTS else None
        )
        return name is not None and all(_is_constant(a, constants) for a in operands(node))
    return False


def operands(node: ast.AST, *, index: bool = True) -> list[ast.AST]:
    """The operands of an expression node: a call's arguments (type keywords aside), an operator's operands,
    a subscript's value and (with ``index``) its index; nothing for a leaf."""
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.BoolOp):
        return list(node.values)
    if isinstance(node, ast.Compare):
        return [node.left, *node.comparators]
    if isinstance(node, ast.IfExp):
        return [node.test, node.body, node.orelse]
    if isinstance(node, ast.Subscript):
        return [node.value, node.slice] if index else [node.value]
    if isinstance(node, ast.Call):
        return [*node.args, *(k.value for k in node.keywords if k.arg not in _TYPE_KEYWORDS)]
    return []


def _expression_findings(func: ast.FunctionDef, constants: set[str]) -> tuple[list[str], list[str]]:
    """(operations whose operands are all constants, self-cancelling operations) in ``func``."""
    literal: list[str] = []
    cancelling: list[str] = []
    skip = {id(n) for a in func.args.args if a.annotation for n in ast.walk(a.annotation)}
    for node in ast.walk(func):
        if id(node) in skip or not isinstance(node, ast.expr):
            continue
        if _literal_operation(node, constants):
            literal.append(ast.unparse(node))
        if self_cancelling(node):
            cancelling.append(ast.unparse(node))
    return literal, cancelling


def _literal_operation(node: ast.expr, constants: set[str]) -> bool:
    if not isinstance(node, (ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Subscript, ast.Call)):
        return False
    if isinstance(node, ast.Call) and _is_wp(node.func) == "tid":
        return False
    parts = operands(node)
    return bool(parts) and not _is_constant(node, constants) and all(_is_constant(o, constants) for o in parts)


def _same(a: ast.AST, b: ast.AST) -> bool:
    return ast.dump(a) == ast.dump(b)


def _inverse_of(node: ast.AST, other: ast.AST) -> bool:
    """Is ``node`` the inverse of ``other`` under the operation joining them (``-x``, ``wp.quat_inverse(x)``)?"""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _same(node.operand, other)
    if isinstance(node, ast.Call) and _is_wp(node.func) in _INVERSES and len(node.args) == 1:
        return _same(_unit(node.args[0]), _unit(other))
    return False


def _unit(node: ast.AST) -> ast.AST:
    """``x`` for ``wp.normalize(x)``: a rotation and its normalised self cancel as well."""
    if isinstance(node, ast.Call) and _is_wp(node.func) == "normalize" and len(node.args) == 1:
        return node.args[0]
    return node


def self_cancelling(node: ast.expr) -> bool:
    """``p - p``, ``wp.min(a, a)``, ``a + (-a)``, ``(a + b) - b``, ``(a - b) + b``, ``q * wp.quat_inverse(q)``,
    ``wp.quat_inverse(wp.quat_inverse(q))``, ``a < a``,
    ``(a < b) and (a > b)``: operations whose result does not depend on their operands as written."""
    if isinstance(node, ast.BinOp):
        left, right = node.left, node.right
        if isinstance(node.op, _SELF_CANCELLING_OPS) and _same(left, right):
            return True
        if isinstance(node.op, (ast.Add, ast.Mult, ast.MatMult)) and (
            _inverse_of(left, right) or _inverse_of(right, left)
        ):
            return True
        if isinstance(left, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            if isinstance(node.op, ast.Sub) and isinstance(left.op, ast.Add):  # (a + b) - b
                return _same(left.left, right) or _same(left.right, right)
            if isinstance(node.op, ast.Add) and isinstance(left.op, ast.Sub):  # (a - b) + b
                return _same(left.right, right)
            if isinstance(node.op, ast.Sub) and isinstance(left.op, ast.Sub):  # (a - b) - a
                return _same(left.left, right)
        return False
    if isinstance(node, ast.Compare) and len(node.comparators) == 1:
        return _same(node.left, node.comparators[0])
    if isinstance(node, ast.BoolOp):
        if len({ast.dump(v) for v in node.values}) < len(node.values):
            return True
        pairs = [
            frozenset((ast.dump(v.left), ast.dump(v.comparators[0])))
            for v in node.values
            if isinstance(v, ast.Compare) and len(v.comparators) == 1
        ]
        return len(pairs) == len(node.values) and len(set(pairs)) == 1  # (a < b) and (a > b)
    if isinstance(node, ast.IfExp):
        return _same(node.body, node.orelse)
    if isinstance(node, ast.Call):
        name = _is_wp(node.func)
        args = node.args
        if name in _SELF_CANCELLING_CALLS and len(args) == 2:
            return _same(args[0], args[1])
        if name in ("where", "select", "lerp") and len(args) == 3:
            return _same(*((args[1], args[2]) if name == "where" else (args[0], args[1])))
        if name in ("mul", "add") and len(args) == 2:
            return _inverse_of(args[0], args[1]) or _inverse_of(args[1], args[0])
        if name in _INVERSES and len(args) == 1 and isinstance(args[0], ast.Call):  # inverse(inverse(x))
            return _is_wp(args[0].func) == name
    return False


# ------------------------------------------------------------------------------------------ module
def analyze(source: str, kernel_name: str | None = None) -> KernelFlow:
    """Dataflow findings for the ``@wp.kernel`` in ``source`` (the one named ``kernel_name``, or the last)."""
    tree = ast.parse(source)
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    kernels = [f for f in functions if "kernel" in _decorators(f)]
    if not kernels:  # a kernel made by hand: name = wp.Kernel(func=f, key=...)
        made = {
            keyword.value.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr == "Kernel"
            for keyword in node.value.keywords
            if keyword.arg == "func" and isinstance(keyword.value, ast.Name)
        }
        kernels = [f for f in functions if f.name in made]
    elif kernel_name is not None:
        kernels = [k for k in kernels if k.name == kernel_name]
    if not kernels:
        raise NotAKernelError(f"no @wp.kernel {kernel_name or ''} in the source".replace("  ", " "))
    kernel = kernels[-1]
    helpers = [f for f in functions if "func" in _decorators(f)]
    constants = {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)} | {
        n.name for n in tree.body if isinstance(n, ast.ClassDef)
    }

    summaries: dict[str, _Summary] = {}
    reports: list[FunctionFlow] = []
    for helper in _call_order(helpers):
        report, summary = _function_flow(_Walker(helper, summaries), "func", constants)
        reports.append(report)
        if helper.name in summaries:
            summaries[helper.name].merge(summary)
        else:
            summaries[helper.name] = summary
    kernel_report, _ = _function_flow(_Walker(kernel, summaries), "kernel", constants)
    reports.append(kernel_report)
    called = _reachable(kernel, helpers)
    uncalled = sorted({h.name for h in helpers} - called)
    return KernelFlow(tuple(reports), tuple(uncalled))


def _called_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _call_order(helpers: list[ast.FunctionDef]) -> list[ast.FunctionDef]:
    """Helpers ordered so that each comes after the helpers it calls (Warp allows no recursion)."""
    names = {h.name for h in helpers}
    done: set[str] = set()
    order: list[ast.FunctionDef] = []
    pending = list(helpers)
    while pending:
        progressed = False
        for h in list(pending):
            needs = (_called_names(h) & names) - {h.name}
            if needs <= done:
                order.append(h)
                pending.remove(h)
                progressed = True
        done |= {h.name for h in order}
        if not progressed:  # a cycle (not valid Warp): keep source order
            order += pending
            break
    return order


def _reachable(kernel: ast.FunctionDef, helpers: list[ast.FunctionDef]) -> set[str]:
    by_name: dict[str, list[ast.FunctionDef]] = {}
    for h in helpers:
        by_name.setdefault(h.name, []).append(h)
    seen: set[str] = set()
    work = [kernel]
    while work:
        node = work.pop()
        for name in _called_names(node) & set(by_name) - seen:
            seen.add(name)
            work.extend(by_name[name])
    return seen


def flag_counts(flows: Iterable[KernelFlow]) -> dict[str, float]:
    """Share of kernels with each finding, and the share of numbered names, over ``flows``."""
    counts = dict.fromkeys((key for key, _, _ in FLAGS), 0)
    kernels = names = numbered = 0
    for flow in flows:
        kernels += 1
        for key, _, prop in FLAGS:
            counts[key] += bool(getattr(flow, prop))
        names += len(flow.names)
        numbered += len(flow.numbered_names)
    shares = {key: count / kernels if kernels else 0.0 for key, count in counts.items()}
    shares["numbered_name_share"] = numbered / names if names else 0.0
    return shares


def iter_flows(sources: Iterable[str]) -> Iterator[KernelFlow]:
    for source in sources:
        yield analyze(source)
