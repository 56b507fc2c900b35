"""``KernelWriter``: writes one self-contained Warp kernel, statement by statement, knowing what is live.

Categories drive a writer through its public API: they declare arguments (``input_array``, ``param``,
``output_array``), bind locals (``let``, ``assign``), reassign them (``set``, ``update``), open blocks
(``block``), write outputs (``store``, ``emit``) and add ``@wp.func`` helpers. The writer keeps track of:

- what is in scope, so a variable is only read where Warp allows it;
- for every statement, the definitions it reads (reaching definitions over blocks and loops) and the
  kernel inputs it depends on (data, indices, and the conditions steering it);
- which values nothing has read yet (``pending``): expressions it writes consume them first, and
  ``result`` folds whatever is left into an output.

When the kernel is rendered, statements whose values reach no output (a store into an array, an atomic,
a helper's return value) are dropped, then the parameters, helpers and structs nothing live reads. So every
statement, parameter and helper call in a rendered kernel contributes to an output.
"""

from __future__ import annotations

import ast
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from ..dataflow import BY_REFERENCE, WRITES_ARRAY
from . import magnitude
from .expressions import ExpressionGenerator, Production, weighted_choice
from .names import LOCAL_NAMES, PARAM_NAMES
from .types import (
    BOOL,
    FLOAT,
    INT,
    QUAT,
    WarpType,
    float_literal,
    has_literal,
    literal,
    unit_quat_literal,
    unit_vec_literal,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Complexity:
    """What a complexity level (1-5) allows."""

    depth: int  # maximum expression depth
    statements: int  # statements a category writes in its main section
    helpers: tuple[int, int]  # (min, max) number of @wp.func helpers
    inputs: int  # input arrays
    nesting: int  # maximum block nesting


COMPLEXITY: dict[int, Complexity] = {
    1: Complexity(depth=2, statements=2, helpers=(0, 0), inputs=1, nesting=1),
    2: Complexity(depth=2, statements=3, helpers=(0, 1), inputs=2, nesting=1),
    3: Complexity(depth=3, statements=4, helpers=(1, 1), inputs=2, nesting=2),
    4: Complexity(depth=3, statements=6, helpers=(1, 2), inputs=3, nesting=2),
    5: Complexity(depth=4, statements=8, helpers=(2, 3), inputs=3, nesting=3),
}

_TID_NAMES = ("i", "j", "k", "l")
_PYTHON_NAMES = frozenset({"wp", "float", "int", "bool", "range", "len", "True", "False", "None"})


class SynthesisError(RuntimeError):
    """A category asked the writer for something it cannot do (a bug in the category, not in user input)."""


@dataclass(frozen=True)
class Arg:
    name: str
    type: WarpType
    is_array: bool
    ndim: int = 1
    role: str = "input"  # "input" (array read), "output" (array written), "param" (by value)

    @property
    def annotation(self) -> str:
        if not self.is_array:
            return self.type.annotation
        ndim = f", ndim={self.ndim}" if self.ndim > 1 else ""
        return f"wp.array(dtype={self.type.annotation}{ndim})"


# ------------------------------------------------------------------------------------------ statements
@dataclass(eq=False)
class Statement:
    """One statement (or block header) of a body, with what it reads and defines."""

    text: str
    reads: frozenset[str] = frozenset()
    defs: tuple[str, ...] = ()
    sinks: tuple[str, ...] = ()  # arrays written; "return" for a function's result
    kind: str = "simple"  # simple | jump | if | elif | else | for | while | arg
    body: list[Statement] = field(default_factory=list)
    parent: Statement | None = None
    consumed: set[Statement] = field(default_factory=set)  # definitions whose values this statement reads
    readers: set[Statement] = field(default_factory=set)
    deps: frozenset[str] = frozenset()  # kernel inputs this statement depends on
    data_reads: frozenset[str] = frozenset()  # the reads that are values (not an array's .shape)
    node: ast.AST | None = None  # the parsed statement

    @property
    def is_header(self) -> bool:
        return self.kind in ("if", "elif", "else", "for", "while")

    def walk(self) -> Iterator[Statement]:
        for child in self.body:
            yield child
            yield from child.walk()


def parse_statement(text: str, kind: str, arrays: frozenset[str], writers: Mapping[str, tuple[int, ...]]) -> Statement:
    """What one line of Warp Python reads, defines and writes.

    ``arrays`` are the array arguments (a store into one is an output); ``writers`` maps helper names to the
    argument positions they write.
    """
    source = {"if": text + ": pass", "elif": "if" + text[4:] + ": pass", "else": "pass"}.get(kind, text)
    if kind in ("for", "while"):
        source = text + ": pass"
    try:
        node = ast.parse(source).body[0]
    except SyntaxError as exc:
        raise SynthesisError(f"the generator wrote invalid Python: {text!r} ({exc.msg})") from exc
    reads: set[str] = set()
    defs: list[str] = []
    sinks: list[str] = []

    def store(target: ast.AST) -> None:
        if isinstance(target, ast.Name):
            defs.append(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                store(element)
        elif isinstance(target, (ast.Subscript, ast.Attribute)):
            base = target
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                if isinstance(base, ast.Subscript):
                    reads.update(_names(base.slice))
                base = base.value
            if isinstance(base, ast.Name):
                if base.id in arrays:
                    sinks.append(base.id)
                else:  # a component or field of a local: read, then redefined
                    reads.add(base.id)
                    defs.append(base.id)

    if isinstance(node, ast.Assign):
        reads.update(_names(node.value))
        for target in node.targets:
            store(target)
    elif isinstance(node, ast.AugAssign):
        reads.update(_names(node.value))
        if isinstance(node.target, ast.Name):
            reads.add(node.target.id)
        store(node.target)
    elif isinstance(node, ast.For):
        reads.update(_names(node.iter))
        store(node.target)
    elif isinstance(node, (ast.If, ast.While)):
        reads.update(_names(node.test))
    elif isinstance(node, ast.Return):
        reads.update(_names(node.value) if node.value is not None else ())
        if node.value is not None:
            sinks.append("return")
    elif isinstance(node, ast.Expr):
        reads.update(_names(node.value))
    elif isinstance(node, (ast.Break, ast.Continue)):
        kind = "jump"
    if isinstance(node, ast.Return) and node.value is None:
        kind = "jump"
    # calls that write their arguments: atomics and tile stores (arrays), query iterators and out-parameters
    for call in ast.walk(node):
        if not isinstance(call, ast.Call):
            continue
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) and _is_wp(func) else None
        args = call.args
        if name and name.startswith(WRITES_ARRAY) and args and isinstance(args[0], ast.Name):
            if args[0].id in arrays:
                sinks.append(args[0].id)
                if _only_mention(node, args[0]):  # written, not read
                    reads.discard(args[0].id)
            else:
                defs.append(args[0].id)
        positions = BY_REFERENCE.get(name or "", ())
        if isinstance(func, ast.Name) and func.id in writers:
            positions = writers[func.id]
        for k in positions:
            if k < len(args) and isinstance(args[k], ast.Name):
                if args[k].id in arrays:
                    sinks.append(args[k].id)
                else:
                    defs.append(args[k].id)
    reads -= _PYTHON_NAMES
    stmt = Statement(text, frozenset(reads), tuple(dict.fromkeys(defs)), tuple(dict.fromkeys(sinks)), kind)
    stmt.data_reads = frozenset(reads & (_data_names(node) | set(defs)))
    stmt.node = node
    return stmt


def _is_wp(node: ast.Attribute) -> bool:
    return isinstance(node.value, ast.Name) and node.value.id == "wp"


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _data_names(node: ast.AST) -> set[str]:
    """Names whose values ``node`` reads (an array's ``.shape`` is its size, not its data)."""
    sizes = {id(n.value) for n in ast.walk(node) if isinstance(n, ast.Attribute) and n.attr == "shape"}
    return {
        n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and id(n) not in sizes
    }


def _only_mention(node: ast.AST, name_node: ast.Name) -> bool:
    """Is ``name_node`` the only occurrence of its name in ``node`` (an array written, not read)?"""
    return sum(1 for n in ast.walk(node) if isinstance(n, ast.Name) and n.id == name_node.id) == 1


# ------------------------------------------------------------------------------------------ bodies
@dataclass
class _Mark:
    """A position in a body where later code can declare a local (see ``KernelWriter.accumulator``)."""

    statements: list[Statement]
    index: int
    scope: int


class Body:
    """A function body under construction: statements, scopes, reaching definitions, names, expressions.

    ``KernelWriter`` (a kernel) and ``FunctionWriter`` (a generated ``@wp.func``) share it.
    """

    def __init__(self, name: str, rng: random.Random, level: int, gen: ExpressionGenerator):
        self.function_name = name
        self.rng = rng
        self.level = level
        self.limits = COMPLEXITY[level]
        self.gen = gen
        self.statements: list[Statement] = []
        self.args: list[Arg] = []
        self._arg_defs: dict[str, Statement] = {}
        self._open: list[Statement] = []  # headers of the blocks being written
        self._scopes: list[dict[str, WarpType]] = [{}]
        self._reaching: dict[str, set[Statement]] = {}
        self._guards: list[frozenset[str]] = [frozenset()]  # input deps of early exits, per open block
        self._chain: tuple[dict, list] | None = None  # (reaching before an if, exits of its branches)
        self._taken: set[str] = set(_PYTHON_NAMES)
        self._protected: list[str] = []
        self._writers: dict[str, tuple[int, ...]] = {}  # helper name -> argument positions it writes
        self.local_names: dict[str, tuple[str, ...]] = dict(LOCAL_NAMES)
        self._hoisted: dict[str, Statement] = {}  # accumulators declared at an earlier mark
        self.magnitudes: dict[str, float] = {}  # name -> log2 of a bound on its values (see magnitude.py)
        self.dropped = 0  # statements removed at the end because their values reached no output
        self._finished = False

    # ---------------------------------------------------------------- names
    def name(self, *bases: str) -> str:
        """A new identifier: the first unused of ``bases``, else the first with a number (``pos2``)."""
        for base in bases:
            if base not in self._taken:
                self._taken.add(base)
                return base
        n = 2
        while f"{bases[0]}{n}" in self._taken:
            n += 1
        self._taken.add(f"{bases[0]}{n}")
        return f"{bases[0]}{n}"

    def reserve(self, name: str) -> str:
        """Claim ``name`` exactly (a fixed name such as a loop variable); fails if it is taken."""
        if name in self._taken:
            raise SynthesisError(f"{self.function_name}: name {name!r} is already used")
        self._taken.add(name)
        return name

    def taken(self, name: str) -> bool:
        return name in self._taken

    def names_for(self, t: WarpType) -> tuple[str, ...]:
        return self.local_names.get(t.name, ("value",))

    # ---------------------------------------------------------------- scope
    @property
    def scope(self) -> dict[str, WarpType]:
        merged: dict[str, WarpType] = {}
        for level in self._scopes:
            merged.update(level)
        return merged

    def define(self, name: str, t: WarpType) -> None:
        """Make ``name`` (defined by a statement the writer has already seen) readable in the current block."""
        self._scopes[-1][name] = t
        self._taken.add(name)

    def values_of(self, t: WarpType) -> list[str]:
        """Readable names of type ``t`` (arguments and locals)."""
        return sorted(n for n, vt in self.scope.items() if vt == t)

    def locals_of(self, t: WarpType) -> list[str]:
        """Readable locals of type ``t`` (not arguments)."""
        args = {a.name for a in self.args}
        return [n for n in self.values_of(t) if n not in args]

    def pending(self, t: WarpType | None = None) -> list[str]:
        """Readable parameters and locals holding a value that would be lost if nothing read it from here on
        (oldest first): it reaches no output yet, and no other variable in scope carries it forward."""
        scope = self.scope
        live = self._live_now()
        current = {d for defs in self._reaching.values() for d in defs}
        out = []
        for name, defs in self._reaching.items():
            if name in scope and (t is None or scope[name] == t) and name not in self._protected:
                if any(d.kind != "tid" and _dangling(d, name, live, current, scope) for d in defs):
                    out.append(name)
        order = {n: k for k, n in enumerate(scope)}
        return sorted(out, key=lambda n: order.get(n, 0))

    def is_read(self, name: str) -> bool:
        """Does every value ``name`` may hold here already reach an output or another variable?"""
        live = self._live_now()
        current = {d for defs in self._reaching.values() for d in defs}
        return not any(_dangling(d, name, live, current, self.scope) for d in self._defs_of(name))

    def _live_now(self) -> set[Statement]:
        """Statements written so far whose values reach an output written so far."""
        return _live(self.all_statements(), self.statements)

    def deps(self, text: str) -> frozenset[str]:
        """Kernel inputs an expression over what is in scope depends on."""
        out: set[str] = set()
        for name in _data_names(ast.parse(text, mode="eval")):
            for d in self._defs_of(name):
                out |= d.deps
        return frozenset(out)

    def _defs_of(self, name: str) -> set[Statement]:
        defs = self._reaching.get(name)
        if defs:
            return defs
        return {self._hoisted[name]} if name in self._hoisted else set()

    @contextmanager
    def protect(self, *names: str) -> Iterator[None]:
        """Expressions written inside do not read ``names`` (accumulators updated in a loop)."""
        self._protected.extend(names)
        try:
            yield
        finally:
            for name in names:
                self._protected.remove(name)

    # ---------------------------------------------------------------- statements
    def emit(self, text: str, kind: str = "simple") -> Statement:
        """Write one statement (any Warp Python line) and record what it reads, defines and writes."""
        if self._finished:
            raise SynthesisError(f"{self.function_name}: statement written after the body was finished: {text!r}")
        arrays = frozenset(a.name for a in self.args if a.is_array)
        stmt = parse_statement(text, kind, arrays, self._writers)
        stmt.parent = self._open[-1] if self._open else None
        deps: set[str] = set(self._guards[-1])
        if stmt.parent is not None:
            deps |= stmt.parent.deps
        for name in sorted(stmt.reads):
            for d in self._defs_of(name):
                stmt.consumed.add(d)
                d.readers.add(stmt)
                if name in stmt.data_reads:
                    deps |= d.deps
        stmt.deps = frozenset(deps)
        for name in stmt.defs:
            self._reaching[name] = {stmt}
            self.magnitudes[name] = self._magnitude_of(stmt, name)
        (self._open[-1].body if self._open else self.statements).append(stmt)
        self._chain = None
        return stmt

    def _magnitude_of(self, stmt: Statement, name: str) -> float:
        node = stmt.node
        old = self.magnitudes.get(name, 0.0)
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            value = magnitude.estimate(node.value, self.magnitudes, self.gen.calls)
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            return value if any(isinstance(t, ast.Name) and t.id == name for t in targets) else max(old, value)
        if isinstance(node, ast.AugAssign):
            return max(old, magnitude.estimate(node.value, self.magnitudes, self.gen.calls)) + 1.0
        if isinstance(node, ast.For):
            args = node.iter.args if isinstance(node.iter, ast.Call) else []
            return max((magnitude.estimate(a, {}) for a in args), default=6.0)
        return max(old, magnitude.UNKNOWN)

    def magnitude(self, text: str) -> float:
        """``log2`` of an estimated bound on the values of expression ``text`` (see ``magnitude.py``)."""
        return magnitude.of_text(text, self.magnitudes, self.gen.calls)

    def _gen_expr(self, t: WarpType, depth: int, scope: Mapping[str, WarpType], leaf_bias: float, **options) -> str:
        self.gen.magnitudes = self.magnitudes
        return self.gen.expr(t, depth, scope, leaf_bias, **options)

    def let(self, base: str | Sequence[str], value: str, t: WarpType) -> str:
        """``name = value`` for a new local named after ``base`` (a name or candidates); returns the name."""
        name = self.name(*([base] if isinstance(base, str) else base))
        self.emit(f"{name} = {value}")
        self.define(name, t)
        return name

    def set(self, name: str, value: str) -> None:
        """``name = value`` for an existing local."""
        self.emit(f"{name} = {value}")

    def unpack(self, call: str, bases: Sequence[str | Sequence[str]], types: Sequence[WarpType]) -> list[str]:
        """``a, b = call`` for a tuple-returning call; returns the new locals."""
        names = [self.name(*([b] if isinstance(b, str) else b)) for b in bases]
        self.emit(f"{', '.join(names)} = {call}")
        for name, t in zip(names, types, strict=True):
            self.define(name, t)
        return names

    @property
    def can_nest(self) -> bool:
        return len(self._open) < self.limits.nesting

    @property
    def depth(self) -> int:
        """How many blocks are open."""
        return len(self._open)

    @contextmanager
    def block(self, header: str) -> Iterator[Statement]:
        """Open an indented block (``if ...``, ``elif ...``, ``else``, ``for ...``, ``while ...``).

        Locals defined inside stay inside. An ``elif``/``else`` must follow the ``if`` it continues.
        """
        kind = header.split(None, 1)[0]
        if kind not in ("if", "elif", "else", "for", "while"):
            raise SynthesisError(f"{self.function_name}: not a block header: {header!r}")
        if kind in ("elif", "else"):
            if self._chain is None:
                raise SynthesisError(f"{self.function_name}: {kind} without an if")
            entry, exits = self._chain
        else:
            entry, exits = _copy(self._reaching), []
        self._reaching = _copy(entry)
        stmt = self.emit(header, kind)
        self._open.append(stmt)
        self._scopes.append({})
        self._guards.append(self._guards[-1])
        self._chain = None
        try:
            yield stmt
        finally:
            inner_guard = self._guards.pop()
            self._scopes.pop()
            self._open.pop()
            if kind in ("for", "while"):
                _link_loop(stmt)
                self._reaching = _merge(entry, self._reaching)
                self._chain = None
            else:
                exits.append(self._reaching)
                self._reaching = _merge(*exits) if kind == "else" else _merge(entry, *exits)
                self._chain = None if kind == "else" else (entry, exits)
            if any(child.kind == "jump" for child in stmt.body):
                self._guards[-1] = self._guards[-1] | stmt.deps | inner_guard

    def mark(self) -> _Mark:
        """The current position: ``accumulator(..., at=mark)`` declares a local there later."""
        target = self._open[-1].body if self._open else self.statements
        return _Mark(target, len(target), len(self._scopes) - 1)

    def accumulator(self, base: str | Sequence[str], t: WarpType, init: str, at: _Mark | None = None) -> str:
        """A local initialised with the constant ``init`` (``float(0.0)``), declared here or at an earlier mark."""
        if at is None:
            return self.let(base, init, t)
        name = self.name(*([base] if isinstance(base, str) else base))
        stmt = parse_statement(f"{name} = {init}", "simple", frozenset(), {})
        stmt.parent = self._open[at.scope - 1] if at.scope else None
        at.statements.insert(at.index, stmt)
        at.index += 1
        self._scopes[at.scope][name] = t
        self._reaching[name] = {stmt}
        self._hoisted[name] = stmt
        return name

    # ---------------------------------------------------------------- expressions
    def expr(
        self,
        t: WarpType,
        depth: int | None = None,
        exclude: Sequence[str] = (),
        *,
        consume: Sequence[str] | None = None,
        leaf_bias: float = 0.3,
        operation: bool = False,
    ) -> str:
        """A random expression of type ``t`` over what is in scope (minus ``exclude``).

        It reads at least one variable and, where it can, a value nothing has read yet (or one of ``consume``).
        With ``operation`` it is an operation, never a bare variable.
        """
        hidden = set(exclude) | set(self._protected)
        scope = {n: vt for n, vt in self.scope.items() if n not in hidden}
        pending = [n for n in self.pending() if n in scope]
        wanted = list(consume) if consume is not None else pending
        prefer = {n: 6.0 for n in pending}
        depth = self.limits.depth if depth is None else depth
        return self._gen_expr(t, depth, scope, leaf_bias, consume=wanted, prefer=prefer, operation=operation)

    def can_compute(self, t: WarpType, depth: int | None = None) -> bool:
        """Can an operation of type ``t`` over what is in scope be written (``assign`` would succeed)?"""
        from .expressions import _Build

        scope = {n: vt for n, vt in self.scope.items() if n not in self._protected}
        depth = max(1, self.limits.depth if depth is None else depth)
        return bool(_Build(self.gen, scope, {}, 0.0)._productions(t, depth, None))

    def assign(self, t: WarpType, depth: int | None = None, names: Sequence[str] | None = None) -> str:
        """A new local of type ``t`` holding a random operation over what is in scope; returns its name."""
        if not self.can_compute(t, depth):
            raise SynthesisError(f"{self.function_name}: no operation of type {t.name} over {sorted(self.scope)}")
        value = self.expr(t, max(1, self.limits.depth if depth is None else depth), operation=True)
        bases = names or (*self.gen.last_names, *self.names_for(t))
        return self.let(tuple(bases), value, t)

    def update(self, name: str, depth: int | None = None) -> None:
        """Reassign an existing local from an expression that reads it."""
        t = self.scope[name]
        depth = max(1, self.limits.depth if depth is None else depth)
        self.set(name, self.expr(t, depth, consume=[name], operation=True))

    def result(self, t: WarpType, depth: int | None = None, base: str | None = None) -> str:
        """An expression of type ``t`` that reads every value nothing has read yet (those it can reach).

        ``base`` (an expression) is the starting point, else a random expression.
        """
        depth = self.limits.depth if depth is None else depth
        reachable = [n for n in self.pending() if self.can_reach(n, t, depth)]
        value = base if base is not None else self.expr(t, depth, consume=reachable)
        read = _names(ast.parse(value, mode="eval"))
        for name in reachable:
            if name in read:
                continue
            term = self._gen_expr(t, 2, {name: self.scope[name]}, 0.5, consume=[name])
            value = _combine(self.rng, t, value, term)
            read.add(name)
        return value

    def can_reach(self, name: str, t: WarpType, depth: int = 2) -> bool:
        """Can an expression of type ``t`` read local ``name`` within ``depth`` operations?"""
        from .expressions import _Build

        return _Build(self.gen, {name: self.scope[name]}, {}, 0.0).can_route(t, self.scope[name], depth)

    # ---------------------------------------------------------------- literals and choices
    def small(self, low: float = 0.1, high: float = 1.0) -> str:
        """A float literal in [low, high]."""
        return float_literal(self.rng, low, high)

    def vec(self, low: float = -1.0, high: float = 1.0) -> str:
        """A ``wp.vec3`` literal with components in [low, high]."""
        return f"wp.vec3({', '.join(float_literal(self.rng, low, high) for _ in range(3))})"

    def unit_vec(self, low: float = -1.0, high: float = 1.0) -> str:
        """A unit ``wp.vec3`` literal (written out, not ``wp.normalize`` of constants)."""
        return unit_vec_literal(self.rng, low, high)

    def unit_quat(self) -> str:
        """A unit quaternion literal."""
        return unit_quat_literal(self.rng)

    def choose(self, options: Mapping[T, float] | Sequence[T]) -> T:
        """One option: weighted by the mapping's values, or uniformly from a sequence."""
        if isinstance(options, Mapping):
            items = list(options)
            return weighted_choice(self.rng, items, lambda o: options[o])
        return self.rng.choice(list(options))

    def pick(self, options: Mapping[T, float] | Sequence[T], count: int) -> list[T]:
        """``count`` distinct options drawn without replacement (weighted by the mapping's values)."""
        weights = dict(options) if isinstance(options, Mapping) else dict.fromkeys(options, 1.0)
        chosen: list[T] = []
        while weights and len(chosen) < count:
            pick = weighted_choice(self.rng, list(weights), lambda o: weights[o])
            chosen.append(pick)
            del weights[pick]
        return chosen

    # ---------------------------------------------------------------- finishing
    def _add_arg(self, arg: Arg, deps: frozenset[str], recipe: dict | None = None) -> None:
        self.magnitudes[arg.name] = _recipe_magnitude(arg.type, recipe or {})
        self.args.append(arg)
        self._taken.add(arg.name)
        stmt = Statement(f"<arg {arg.name}>", defs=(arg.name,), kind="arg", deps=deps)
        self._arg_defs[arg.name] = stmt
        self._reaching[arg.name] = {stmt}

    def all_statements(self) -> Iterator[Statement]:
        for stmt in self.statements:
            yield stmt
            yield from stmt.walk()

    def finish(self) -> None:
        """Drop every statement whose value reaches no output, then the arguments nothing live reads."""
        if self._finished:
            return
        self._finished = True
        everything = list(self.all_statements())
        live = _live(iter(everything), self.statements)
        changed = True
        while changed:  # a jump is live when what it skips is: a live statement later in its loop or body
            changed = False
            for stmt in everything:
                if stmt.kind == "jump" and stmt not in live and _jump_matters(stmt, live, self.statements):
                    live |= _live(iter([stmt]), self.statements, sinks_only=False)
                    changed = True
        self.dropped = sum(1 for s in everything if s not in live and s.kind != "jump")
        self.statements = _keep(self.statements, live)
        for arg in list(self.args):
            read = arg.name in self._arg_defs and self._arg_defs[arg.name] in live
            written = any(arg.name in s.sinks for s in live)
            if not (read or written):
                self.args.remove(arg)
                self._drop_arg(arg.name)

    def _drop_arg(self, name: str) -> None:
        """Hook for subclasses: forget what else belongs to argument ``name``."""

    def render_body(self, indent: int = 1) -> list[str]:
        lines: list[str] = []

        def emit(stmts: list[Statement], level: int) -> None:
            for stmt in stmts:
                pad = "    " * level
                if stmt.is_header:
                    lines.append(f"{pad}{stmt.text}:")
                    emit(stmt.body, level + 1)
                    if not stmt.body:
                        lines.append(f"{pad}    pass")
                else:
                    lines.extend(pad + line for line in stmt.text.split("\n"))

        emit(self.statements, indent)
        return lines


def _dangling(
    definition: Statement, name: str, live: set[Statement], current: set[Statement], scope: Mapping[str, WarpType]
) -> bool:
    """Would ``definition`` of ``name`` be lost if nothing read ``name`` again? It reaches no output yet, and
    no statement that read it defines another readable variable still holding the result (``acc = acc + x``
    alone does not carry ``acc`` anywhere: the running value still has to reach an output)."""
    if definition in live:
        return False
    seen: set[Statement] = set()
    work = list(definition.readers)
    while work:  # follow the value through the statements that read it, to one still readable here
        r = work.pop()
        if r in seen:
            continue
        seen.add(r)
        if r in live or (r in current and any(d != name and d in scope for d in r.defs)):
            return False
        if any(d != name for d in r.defs):
            work.extend(r.readers)
    return True


def _live(statements: Iterator[Statement], top: list[Statement], sinks_only: bool = True) -> set[Statement]:
    """Statements whose values reach an output: the sinks (or, with ``sinks_only`` false, all ``statements``)
    and everything they read or are steered by."""
    live: set[Statement] = set()
    work = [s for s in statements if s.sinks or not sinks_only]
    while work:
        s = work.pop()
        if s in live:
            continue
        live.add(s)
        work.extend(s.consumed)
        if s.parent is not None:
            work.append(s.parent)
        work.extend(_chain_before(s, top))
    return live


def _recipe_magnitude(t: WarpType, recipe: dict) -> float:
    """The estimate for an argument validation fills from ``recipe`` (default: floats in [-1, 1], ints in [0, 16))."""
    if recipe.get("kind") in ("mesh", "bvh", "hash_grid"):
        return 0.0
    if recipe.get("kind") == "index":
        return math.log2(max(2, recipe.get("high", 64)))
    low, high = recipe.get("low"), recipe.get("high")
    if low is None and high is None:
        return 4.0 if t.name in ("int", "int64", "uint32", "vec2i", "vec3i") else 0.0
    return max(0.0, math.log2(max(abs(low or 0), abs(high or 0), 1e-9)))


def _copy(reaching: dict[str, set[Statement]]) -> dict[str, set[Statement]]:
    return {k: set(v) for k, v in reaching.items()}


def _merge(*envs: dict[str, set[Statement]]) -> dict[str, set[Statement]]:
    out: dict[str, set[Statement]] = {}
    for env in envs:
        for name, defs in env.items():
            out.setdefault(name, set()).update(defs)
    return out


def _link_loop(loop: Statement) -> None:
    """Loop-carried values: a definition in a loop body reaches reads of its name anywhere in that body."""
    inside = list(loop.walk())
    defined: dict[str, list[Statement]] = {}
    for stmt in inside:
        for name in stmt.defs:
            defined.setdefault(name, []).append(stmt)
    for stmt in [loop, *inside]:
        for name in stmt.reads & defined.keys():
            for d in defined[name]:
                if d is not stmt:
                    stmt.consumed.add(d)
                    d.readers.add(stmt)


def _chain_before(stmt: Statement, top: list[Statement]) -> list[Statement]:
    """The ``if``/``elif`` headers an ``elif``/``else`` continues (they must stay for it to stay)."""
    if stmt.kind not in ("elif", "else"):
        return []
    siblings = _siblings(stmt, top)
    index = siblings.index(stmt)
    out = []
    for prev in reversed(siblings[:index]):
        out.append(prev)
        if prev.kind == "if":
            break
    return out


def _siblings(stmt: Statement, top: list[Statement]) -> list[Statement]:
    return stmt.parent.body if stmt.parent is not None else top


def _jump_matters(jump: Statement, live: set[Statement], top: list[Statement]) -> bool:
    """Does a ``break``/``continue``/``return`` skip anything live?"""
    if jump.text.startswith("return"):
        region: list[Statement] = top
    else:
        loop = jump.parent
        while loop is not None and loop.kind not in ("for", "while"):
            loop = loop.parent
        region = loop.body if loop is not None else top
    everything = []
    for s in region:
        everything.append(s)
        everything.extend(s.walk())
    return any(s in live and s.kind != "jump" for s in everything)


def _keep(stmts: list[Statement], live: set[Statement]) -> list[Statement]:
    kept = []
    for stmt in stmts:
        if stmt in live:
            stmt.body = _keep(stmt.body, live)
            kept.append(stmt)
    return kept


def _combine(rng: random.Random, t: WarpType, value: str, term: str) -> str:
    """``value`` and ``term`` (both of type ``t``) in one expression of type ``t``."""
    if t is BOOL:
        return f"({value} {rng.choice(('and', 'or'))} {term})"
    if t is QUAT:
        return f"({value} * {term})"
    if t.name.startswith("struct:"):
        raise SynthesisError(f"cannot combine two values of struct type {t.annotation}")
    return f"({value} {rng.choice(('+', '+', '-'))} {term})"


# ------------------------------------------------------------------------------------------ functions
class FunctionWriter(Body):
    """A generated ``@wp.func``: parameters, a body, one ``return``; parameters nothing uses are dropped."""

    def __init__(self, name: str, rng: random.Random, level: int, gen: ExpressionGenerator):
        super().__init__(name, rng, level, gen)
        self.returns: WarpType | None = None

    def param(self, t: WarpType, names: Sequence[str] | None = None) -> str:
        name = self.name(*(names or PARAM_NAMES.get(t.name, ("value",))))
        self._add_arg(Arg(name, t, False, role="param"), frozenset({name}))
        self._scopes[0][name] = t
        return name

    def ret(self, value: str, t: WarpType) -> None:
        self.returns = t
        self.emit(f"return {value}")

    def magnitude_rule(self) -> magnitude.Rule:
        """How large this function's result is, given its arguments' estimates (see ``magnitude.linear_rule``)."""
        self.finish()
        return magnitude.linear_rule(self._replay(0.0), self._replay(4.0))

    def _replay(self, argument_bits: float) -> float:
        """The estimate of the returned value with every parameter at ``argument_bits``."""
        sizes = {a.name: argument_bits for a in self.args}
        result = 0.0
        for stmt in self.all_statements():
            node = stmt.node
            if isinstance(node, ast.Return) and node.value is not None:
                result = max(result, magnitude.estimate(node.value, sizes, self.gen.calls))
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                sizes[node.targets[0].id] = magnitude.estimate(node.value, sizes, self.gen.calls)
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                name = node.target.id
                sizes[name] = max(sizes.get(name, 0.0), magnitude.estimate(node.value, sizes, self.gen.calls)) + 1
        return result

    def source(self, decorator: str = "@wp.func") -> str:
        self.finish()
        signature = ", ".join(f"{a.name}: {a.annotation}" for a in self.args)
        return "\n".join([decorator, f"def {self.function_name}({signature}):", *self.render_body()])


# ------------------------------------------------------------------------------------------ kernels
@dataclass
class _Helper:
    name: str
    source: str
    production: Production | None = None


class KernelWriter(Body):
    """Accumulates one kernel's arguments, helpers, structs and body.

    Args:
        name: the kernel's Python name (also the prefix of its helpers' names).
        rng: the kernel's own random source.
        level: complexity level, 1-5.
        groups: expression groups the category enables.
    """

    def __init__(self, name: str, rng: random.Random, level: int, groups: frozenset[str]):
        super().__init__(name, rng, level, ExpressionGenerator(rng, groups))
        self.helpers: list[_Helper] = []
        self.structs: list[tuple[str, str]] = []  # (name, source) of @wp.struct classes
        self.constants: list[tuple[str, str]] = []  # (name, source) of module-level wp.constant definitions
        self.launch_dim: tuple[int, ...] = (64,)
        self.tiled_block_dim: int | None = None
        self.recipes: dict[str, dict] = {}  # argument name -> how validation synthesizes its input
        self.tid_vars: tuple[str, ...] = ()
        self._coeffs: dict[str, str] = {}
        self._tid: Statement | None = None
        self._declare_tid(("i",))

    # ----------------------------------------------------------------- launch
    def _declare_tid(self, names: tuple[str, ...]) -> None:
        for name in self.tid_vars:
            self._scopes[0].pop(name, None)
            self._taken.discard(name)
            self._reaching.pop(name, None)
        self.tid_vars = names
        self._tid = Statement("<tid>", defs=names, kind="tid")
        for name in names:
            self.define(name, INT)
            self._reaching[name] = {self._tid}
            self.magnitudes[name] = 6.0

    def set_launch(self, dim: tuple[int, ...], tiled_block_dim: int | None = None) -> None:
        """Launch over ``dim`` (1-4 dimensions; ``wp.tid()`` unpacks one index per dimension).

        With ``tiled_block_dim`` the kernel is launched with ``wp.launch_tiled`` and that block size.
        Call before writing any statement.
        """
        if self.statements:
            raise SynthesisError("set_launch must come before the kernel body")
        self.launch_dim = tuple(dim)
        self.tiled_block_dim = tiled_block_dim
        self._declare_tid(_TID_NAMES[: len(dim)])

    def launch_spec(self) -> dict:
        """How validation launches this kernel (stored as JSON with the record)."""
        self.finish()
        return {"dim": list(self.launch_dim), "tiled_block_dim": self.tiled_block_dim, "args": self.recipes}

    # ----------------------------------------------------------------- arguments
    def input_array(
        self,
        t: WarpType,
        name: str | Sequence[str] | None = None,
        *,
        ndim: int = 1,
        recipe: dict | None = None,
        load: str | Sequence[str] | bool = False,
    ) -> str:
        """Declare an input array of ``t``; returns its name, or with ``load`` the local holding element ``i``.

        ``load`` names that local (``True``: a name for the type). ``recipe`` tells validation how to fill
        the array (see ``validate.make_arguments``), e.g. ``{"kind": "index", "high": 64}``.
        """
        array = self._arg_name(name, "inputs", t)
        self._add_arg(Arg(array, t, True, ndim, "input"), frozenset({array}), recipe)
        if recipe:
            self.recipes[array] = recipe
        if not load:
            return array
        bases = self.names_for(t) if load is True else ([load] if isinstance(load, str) else load)
        return self.let(tuple(bases), f"{array}[{', '.join(self.tid_vars[:ndim])}]", t)

    def output_array(
        self, t: WarpType, name: str | Sequence[str] | None = None, *, ndim: int = 1, recipe: dict | None = None
    ) -> str:
        array = self._arg_name(name, "outputs", t)
        self._add_arg(Arg(array, t, True, ndim, "output"), frozenset({array}))
        if recipe:
            self.recipes[array] = recipe
        return array

    def param(self, t: WarpType, name: str | Sequence[str] | None = None, recipe: dict | None = None) -> str:
        """Declare a by-value kernel parameter; it is readable everywhere."""
        param = self._arg_name(name, "params", t)
        self._add_arg(Arg(param, t, False, role="param"), frozenset({param}), recipe)
        if recipe:
            self.recipes[param] = recipe
        self._scopes[0][param] = t
        return param

    def coeff(self, key: str, low: float, high: float, *, param_bias: float = 0.5, t: WarpType = FLOAT) -> str:
        """A named coefficient in [low, high]: a kernel parameter (the range is its recipe) or a literal.

        The same ``key`` gives the same parameter or literal for the whole kernel.
        """
        known = self._coeffs
        if key not in known:
            if self.rng.random() < param_bias:
                known[key] = self.param(t, key, recipe={"low": low, "high": high})
            else:
                known[key] = float_literal(self.rng, low, high)
        return known[key]

    def _arg_name(self, name: str | Sequence[str] | None, role: str, t: WarpType) -> str:
        from .names import ARG_NAMES

        if isinstance(name, str):  # a fixed name (``dt``, ``mesh``) is declared once
            if name in self._taken:
                raise SynthesisError(f"{self.function_name}: name {name!r} is already used")
            return self.name(name)
        return self.name(*(name or ARG_NAMES[role].get(t.name, ARG_NAMES[role]["*"])))

    def arg(self, name: str) -> Arg:
        return next(a for a in self.args if a.name == name)

    def has_arg(self, name: str) -> bool:
        return any(a.name == name for a in self.args)

    def _drop_arg(self, name: str) -> None:
        self.recipes.pop(name, None)

    # ----------------------------------------------------------------- outputs
    def store(self, array: str, index: str, value: str, op: str = "=") -> None:
        """``array[index] = value`` (or ``+=``/``-=``). A value that depends on no kernel input gets one."""
        t = self.arg(array).type
        if not (self.deps(value) | self.deps(index) | self._guards[-1] | self._block_deps()):
            value = self._with_input(value, t)
        self.emit(f"{array}[{index}] {op} {value}")

    def atomic(self, func: str, array: str, index: str, value: str) -> None:
        """``wp.atomic_<op>(array, index, value)``; like ``store``, a value that depends on no input gets one."""
        t = self.arg(array).type
        if not (self.deps(value) | self.deps(index) | self._guards[-1] | self._block_deps()):
            value = self._with_input(value, t)
        self.emit(f"{func}({array}, {index}, {value})")

    def _block_deps(self) -> frozenset[str]:
        return self._open[-1].deps if self._open else frozenset()

    def _with_input(self, value: str, t: WarpType) -> str:
        """``value`` combined with an input-dependent value in scope (none in scope: unchanged)."""
        scope = self.scope
        candidates = [n for n in scope if n not in self._protected and self.deps(n) and self.can_reach(n, t, 2)]
        if not candidates:
            return value
        pending = [n for n in candidates if n in self.pending()]
        term = self._gen_expr(t, 2, {n: scope[n] for n in candidates}, 0.5, consume=pending or candidates)
        return _combine(self.rng, t, value, term)

    def add_productions(self, *productions: Production) -> None:
        """Make these operations available to the expressions this kernel writes (a category's palette)."""
        for prod in productions:
            self.gen.add(prod)

    # ----------------------------------------------------------------- module-level definitions
    def add_struct(self, fields: list[tuple[str, WarpType]], suffix: str = "State") -> WarpType:
        """Define a ``@wp.struct`` (named after the kernel) with ``fields``; return its type."""
        name = "".join(part.capitalize() for part in self.function_name.split("_")) + suffix
        body = "\n".join(f"    {field_name}: {t.annotation}" for field_name, t in fields)
        self.structs.append((name, f"@wp.struct\nclass {name}:\n{body}"))
        return WarpType(f"struct:{name}", name)

    def add_constant(self, base: str, value: str) -> str:
        """A module-level ``NAME = wp.constant(value)``; returns its name."""
        name = self.name(base)
        self.constants.append((name, f"{name} = wp.constant({value})"))
        return name

    def helper(self, suffix: str, source: str, *, writes: tuple[int, ...] = ()) -> str:
        """Add a ``@wp.func`` (its name in ``source`` written as ``NAME``) once; returns its name.

        ``writes`` lists the argument positions (arrays) the helper writes.
        """
        name = f"{self.function_name}_{suffix}"
        if not any(h.name == name for h in self.helpers):
            self._taken.add(name)
            self.helpers.append(_Helper(name, source.replace("NAME", name)))
            if writes:
                self._writers[name] = writes
        return name

    def function(self, suffixes: Sequence[str]) -> FunctionWriter:
        """A writer for a new ``@wp.func`` named ``<kernel>_<suffix>``; add it with ``add_function``."""
        name = self.name(*(f"{self.function_name}_{s}" for s in suffixes))
        return FunctionWriter(name, self.rng, self.level, self.gen)

    def add_function(self, fn: FunctionWriter, group: str = "helper", weight: float = 2.0) -> Production:
        """Finish ``fn``, add its source, and make calls to it available to later expressions."""
        source = fn.source()
        if fn.returns is None:
            raise SynthesisError(f"{fn.function_name} has no return statement")
        args = ", ".join(f"{{{k}}}" for k in range(len(fn.args)))
        names = tuple(n for n in fn.function_name[len(self.function_name) + 1 :].split("_") if n)
        prod = Production(
            fn.returns,
            f"{fn.function_name}({args})",
            tuple(a.type for a in fn.args),
            group,
            weight,
            ("_".join(names),) if names else (),
        )
        self.helpers.append(_Helper(fn.function_name, source, prod))
        self.gen.calls[fn.function_name] = fn.magnitude_rule()
        self.gen.add(prod)
        return prod

    def make_helper(self, types: tuple[WarpType, ...]) -> Production:
        """Write one generated ``@wp.func`` over ``types`` and make it available to later expressions."""
        from .names import HELPER_NAMES

        rng = self.rng
        result = rng.choice(types)
        fn = self.function(HELPER_NAMES.get(result.name, HELPER_NAMES["*"]))
        readable = [t for t in types if self.values_of(t)] or list(types)  # a call can pass what is in scope
        for k in range(rng.randint(1, 3)):
            fn.param(rng.choice(readable if k == 0 else types))
        for _ in range(rng.randint(0, 1 + self.level // 2)):
            t = rng.choice(types)
            if fn.gen.can_build(t):
                fn.assign(t, max(1, self.limits.depth - 1))
        fn.ret(fn.result(result, self.limits.depth), result)
        return self.add_function(fn)

    def add_helpers(self, types: tuple[WarpType, ...]) -> None:
        """Write this level's number of ``@wp.func`` helpers over ``types`` and call each once."""
        low, high = self.limits.helpers
        for _ in range(self.rng.randint(low, high)):
            self.call_helper(self.make_helper(types))

    def call_helper(self, prod: Production) -> str | None:
        """``name = helper(args)`` with arguments read from scope (at least one reads a variable, and no two
        are the same); returns the local, or None if no argument can read anything in scope."""
        from .expressions import _Build

        scope = {n: t for n, t in self.scope.items() if n not in self._protected}
        build = _Build(self.gen, scope, {}, 0.5)
        readable = [k for k, t in enumerate(prod.operands) if build.can_var(t, 1)]
        if not readable:
            return None
        carrier = self.rng.choice(readable)
        pending = [n for n in self.pending() if n in scope]
        prefer = dict.fromkeys(pending, 6.0)
        operands: list[str] = [""] * len(prod.operands)
        operands[carrier] = self._gen_expr(prod.operands[carrier], 1, scope, 0.5, consume=pending, prefer=prefer)
        for k, t in enumerate(prod.operands):
            if k == carrier:
                continue
            want = [n for n in pending if n not in operands]
            for _ in range(4):  # distinct arguments: f(x, x) reads as a mistake
                text = self._gen_expr(t, 1, scope, 0.5, consume=want, prefer=prefer) if k in readable else ""
                if text and text not in operands:
                    break
            else:
                text = literal(t, self.rng) if has_literal(t) else text
            operands[k] = text
        value = prod.template.format(*operands)
        return self.let((*prod.names, *self.names_for(prod.result)), value, prod.result)

    # ----------------------------------------------------------------- output
    def index_expr(self, array: str, offset_var: str | None = None) -> str:
        """A non-negative, in-bounds index into 1-D ``array`` built from ``i`` (and an optional loop variable)."""
        rng = self.rng
        terms = ["i" if rng.random() < 0.7 else f"i * {rng.randint(2, 7)}"]
        if offset_var is not None:
            terms.append(offset_var)
        terms.append(str(rng.randint(1, 9)))
        return f"({' + '.join(terms)}) % {array}.shape[0]"

    def finish(self) -> None:
        if self._finished:
            return
        super().finish()
        # helpers, constants and structs that nothing live refers to (helpers may call helpers)
        text = "\n".join(s.text for s in self.all_statements()) + "\n" + " ".join(a.annotation for a in self.args)
        kept: list[_Helper] = []
        for helper in reversed(self.helpers):
            if _mentions(text, helper.name):
                kept.append(helper)
                text += "\n" + helper.source
        self.helpers = list(reversed(kept))
        self.constants = [c for c in self.constants if _mentions(text, c[0])]
        self.structs = [s for s in self.structs if _mentions(text, s[0])]

    def render(self) -> str:
        self.finish()
        signature = ", ".join(f"{a.name}: {a.annotation}" for a in self.args)
        body = self.render_body()
        used = [name for name in self.tid_vars if any(name in s.reads for s in self.all_statements())]
        lines = []
        if used:
            tid = [name if name in used else "_" for name in self.tid_vars]
            lines.append(f"    {', '.join(tid)} = wp.tid()")
        kernel = f"@wp.kernel\ndef {self.function_name}({signature}):\n" + "\n".join([*lines, *body])
        blocks = [
            "import warp as wp",
            *(src for _, src in self.constants),
            *(src for _, src in self.structs),
            *(h.source for h in self.helpers),
            kernel,
        ]
        return "\n\n\n".join(blocks) + "\n"


def _mentions(text: str, name: str) -> bool:
    import re

    return re.search(rf"\b{re.escape(name)}\b", text) is not None
