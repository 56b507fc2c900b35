"""The statements of a body being written, and what the writer knows about their data flow.

``parse_statement`` reads one line of Warp Python: the names it reads, the locals it (re)defines, the arrays
it writes (an output: a store, an atomic, a tile store, a helper that writes its argument), whether it is a
jump. ``Flow`` keeps the statements of one body as a tree (block headers own their bodies) and, as they are
added, links every read to the definitions that may reach it (over ``if``/``elif``/``else`` chains and loop
back edges), records which kernel inputs each statement depends on (data and the conditions steering it),
and at the end keeps only the statements whose values reach an output.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..dataflow import BY_REFERENCE, WRITES_ARRAY
from ..errors import SynthesisError

PYTHON_NAMES = frozenset({"wp", "float", "int", "bool", "range", "len", "True", "False", "None"})
BLOCKS = ("if", "elif", "else", "for", "while")


@dataclass(eq=False)
class Statement:
    """One statement (or block header) of a body, with what it reads and defines."""

    text: str
    reads: frozenset[str] = frozenset()
    defs: tuple[str, ...] = ()
    sinks: tuple[str, ...] = ()  # arrays written; "return" for a function's result
    kind: str = "simple"  # simple | jump | if | elif | else | for | while | arg | tid
    body: list[Statement] = field(default_factory=list)
    parent: Statement | None = None
    consumed: set[Statement] = field(default_factory=set)  # definitions whose values this statement reads
    readers: set[Statement] = field(default_factory=set)
    deps: frozenset[str] = frozenset()  # kernel inputs this statement depends on
    data_reads: frozenset[str] = frozenset()  # the reads that are values (not an array's .shape)
    node: ast.AST | None = None  # the parsed statement

    @property
    def is_header(self) -> bool:
        return self.kind in BLOCKS

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
    loads, sizes, calls = _scan(node)
    written: set[int] = set()  # ids of names of arrays written, not read
    defs, sinks, extra_reads = _targets(node, arrays, written)
    if isinstance(node, (ast.Break, ast.Continue)) or (isinstance(node, ast.Return) and node.value is None):
        kind = "jump"
    for call in calls:  # calls that write their arguments: atomics, tile stores, query iterators, out-parameters
        _writing_call(call, arrays, writers, loads, defs, sinks, written)
    reads = ({n.id for n in loads if id(n) not in written} | set(extra_reads)) - PYTHON_NAMES
    data = ({n.id for n in loads if id(n) not in written and id(n) not in sizes} | set(extra_reads)) - PYTHON_NAMES
    stmt = Statement(text, frozenset(reads), tuple(dict.fromkeys(defs)), tuple(dict.fromkeys(sinks)), kind)
    stmt.data_reads = frozenset(data)
    stmt.node = node
    return stmt


def _scan(node: ast.AST) -> tuple[list[ast.Name], set[int], list[ast.Call]]:
    """The names a statement loads, the ids of those read only for their ``.shape``, and its calls."""
    loads: list[ast.Name] = []
    sizes: set[int] = set()
    calls: list[ast.Call] = []
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            if isinstance(n.ctx, ast.Load):
                loads.append(n)
        elif isinstance(n, ast.Attribute):
            if n.attr == "shape":
                sizes.add(id(n.value))
        elif isinstance(n, ast.Call):
            calls.append(n)
    return loads, sizes, calls


def _targets(node: ast.AST, arrays: frozenset[str], written: set[int]) -> tuple[list[str], list[str], list[str]]:
    """(locals defined, arrays written, extra reads) of an assignment, loop target or return."""
    defs: list[str] = []
    sinks: list[str] = []
    extra_reads: list[str] = []

    def store(target: ast.AST) -> None:
        if isinstance(target, ast.Name):
            defs.append(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                store(element)
        elif isinstance(target, (ast.Subscript, ast.Attribute)):
            base = target
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if isinstance(base, ast.Name):
                if base.id in arrays:
                    sinks.append(base.id)
                    written.add(id(base))
                else:  # a component or field of a local: read, then redefined
                    defs.append(base.id)

    if isinstance(node, ast.Assign):
        for target in node.targets:
            store(target)
    elif isinstance(node, ast.AugAssign):
        if isinstance(node.target, ast.Name):
            extra_reads.append(node.target.id)
        store(node.target)
    elif isinstance(node, ast.For):
        store(node.target)
    elif isinstance(node, ast.Return) and node.value is not None:
        sinks.append("return")
    return defs, sinks, extra_reads


def _writing_call(
    call: ast.Call,
    arrays: frozenset[str],
    writers: Mapping[str, tuple[int, ...]],
    loads: list[ast.Name],
    defs: list[str],
    sinks: list[str],
    written: set[int],
) -> None:
    func = call.func
    wp_name = func.attr if isinstance(func, ast.Attribute) and _is_wp(func) else None
    args = call.args
    if wp_name and wp_name.startswith(WRITES_ARRAY) and args and isinstance(args[0], ast.Name):
        if args[0].id in arrays:
            sinks.append(args[0].id)
            if sum(1 for n in loads if n.id == args[0].id) == 1:  # written, not read
                written.add(id(args[0]))
        else:
            defs.append(args[0].id)
    positions = BY_REFERENCE.get(wp_name or "", ())
    if isinstance(func, ast.Name) and func.id in writers:
        positions = writers[func.id]
    for k in positions:
        if k < len(args) and isinstance(args[k], ast.Name):
            (sinks if args[k].id in arrays else defs).append(args[k].id)


def _is_wp(node: ast.Attribute) -> bool:
    return isinstance(node.value, ast.Name) and node.value.id == "wp"


def names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def data_names_in(node: ast.AST) -> set[str]:
    """Names whose values ``node`` reads (an array's ``.shape`` is its size, not its data)."""
    loads, sizes, _ = _scan(node)
    return {n.id for n in loads if id(n) not in sizes}


# ------------------------------------------------------------------------------------------ the flow of a body
@dataclass
class Mark:
    """A position in a body where later code can declare a local (see ``Body.accumulator``)."""

    statements: list[Statement]
    index: int
    scope: int


class Flow:
    """The statement tree of one body and its reaching definitions, dependencies and liveness."""

    def __init__(self) -> None:
        self.statements: list[Statement] = []
        self.open: list[Statement] = []  # headers of the blocks being written
        self.reaching: dict[str, set[Statement]] = {}
        self.guards: list[frozenset[str]] = [frozenset()]  # input deps of early exits, per open block
        self.chain: tuple[dict, list] | None = None  # (reaching before an if, exits of its branches)
        self.hoisted: dict[str, Statement] = {}  # locals declared at an earlier mark
        self.arguments: dict[str, Statement] = {}  # argument name -> its definition at entry

    def define_at_entry(self, name: str, kind: str, deps: frozenset[str]) -> Statement:
        """An argument (``kind`` "arg") or the thread index ("tid"), defined before the first statement."""
        stmt = Statement(f"<{kind} {name}>", defs=(name,), kind=kind, deps=deps)
        self.reaching[name] = {stmt}
        if kind == "arg":
            self.arguments[name] = stmt
        return stmt

    def defs_of(self, name: str) -> set[Statement]:
        defs = self.reaching.get(name)
        if defs:
            return defs
        return {self.hoisted[name]} if name in self.hoisted else set()

    def deps_of(self, names: set[str]) -> frozenset[str]:
        return frozenset(dep for name in names for d in self.defs_of(name) for dep in d.deps)

    def add(self, stmt: Statement) -> Statement:
        """Append ``stmt`` to the open block, linking its reads to the definitions that may reach them."""
        stmt.parent = self.open[-1] if self.open else None
        deps: set[str] = set(self.guards[-1])
        if stmt.parent is not None:
            deps |= stmt.parent.deps
        for name in sorted(stmt.reads):
            for d in self.defs_of(name):
                stmt.consumed.add(d)
                d.readers.add(stmt)
                if name in stmt.data_reads:
                    deps |= d.deps
        stmt.deps = frozenset(deps)
        for name in stmt.defs:
            self.reaching[name] = {stmt}
        (self.open[-1].body if self.open else self.statements).append(stmt)
        self.chain = None
        return stmt

    @contextmanager
    def block(self, header: Statement) -> Iterator[Statement]:
        """Add block ``header`` and make what follows, until the context ends, its body."""
        kind = header.kind
        if kind in ("elif", "else"):
            if self.chain is None:
                raise SynthesisError(f"{kind} without an if")
            entry, exits = self.chain
        else:
            entry, exits = _copy(self.reaching), []
        self.reaching = _copy(entry)
        self.add(header)
        self.open.append(header)
        self.guards.append(self.guards[-1])
        try:
            yield header
        finally:
            inner_guard = self.guards.pop()
            self.open.pop()
            if kind in ("for", "while"):
                _link_loop(header)
                self.reaching = _merge(entry, self.reaching)
                self.chain = None
            else:
                exits.append(self.reaching)
                self.reaching = _merge(*exits) if kind == "else" else _merge(entry, *exits)
                self.chain = None if kind == "else" else (entry, exits)
            if any(child.kind == "jump" for child in header.body):
                self.guards[-1] = self.guards[-1] | header.deps | inner_guard

    def mark(self, scope: int) -> Mark:
        target = self.open[-1].body if self.open else self.statements
        return Mark(target, len(target), scope)

    def insert(self, at: Mark, stmt: Statement) -> None:
        """Insert ``stmt`` (a definition from constants) at an earlier mark; its definitions reach on from here."""
        stmt.parent = self.open[at.scope - 1] if at.scope else None
        at.statements.insert(at.index, stmt)
        at.index += 1
        for name in stmt.defs:
            self.reaching[name] = {stmt}
            self.hoisted[name] = stmt

    def all_statements(self) -> Iterator[Statement]:
        for stmt in self.statements:
            yield stmt
            yield from stmt.walk()

    def pending(self, scope: Mapping[str, object], protected: list[str]) -> list[str]:
        """Readable names holding a value that would be lost if nothing read it from here on (oldest first)."""
        live = live_statements(self.all_statements(), self.statements)
        current = {d for defs in self.reaching.values() for d in defs}
        out = []
        for name, defs in self.reaching.items():
            if name in scope and name not in protected:
                if any(d.kind != "tid" and _dangling(d, name, live, current, scope) for d in defs):
                    out.append(name)
        order = {n: k for k, n in enumerate(scope)}
        return sorted(out, key=lambda n: order.get(n, 0))

    def prune(self) -> tuple[set[Statement], int]:
        """Keep only the statements whose values reach an output; returns (the live statements, how many went)."""
        everything = list(self.all_statements())
        live = live_statements(iter(everything), self.statements)
        changed = True
        while changed:  # a jump is live when what it skips is: a live statement later in its loop or body
            changed = False
            for stmt in everything:
                if stmt.kind == "jump" and stmt not in live and _jump_matters(stmt, live, self.statements):
                    live |= live_statements(iter([stmt]), self.statements, sinks_only=False)
                    changed = True
        dropped = sum(1 for s in everything if s not in live and s.kind != "jump")
        self.statements = _keep(self.statements, live)
        return live, dropped

    def render(self, indent: int = 1) -> list[str]:
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
    definition: Statement, name: str, live: set[Statement], current: set[Statement], scope: Mapping[str, object]
) -> bool:
    """Would ``definition`` of ``name`` be lost if nothing read ``name`` again?

    Not if it reaches an output already, steers a block that holds code, or flows into another readable
    variable that still holds the result, unless that variable only flows back into this one (values
    swapped round a loop, ``a = b; b = r``). ``acc = acc + x`` alone does not carry ``acc`` anywhere.
    """
    carriers = _carriers(definition, name, live, current, scope)
    if carriers is None:
        return False
    return all(
        definition in (_carriers(c, n, live, current, scope) or ()) for c in carriers for n in c.defs if n != name
    )


def _carriers(
    definition: Statement, name: str, live: set[Statement], current: set[Statement], scope: Mapping[str, object]
) -> set[Statement] | None:
    """The current definitions of other readable names that ``definition``'s value flows into (None: it is
    safe already, reaching an output or steering a block with code)."""
    if definition in live:
        return None
    carriers: set[Statement] = set()
    seen: set[Statement] = set()
    # follow the value through the statements that read it (by name: ``a, b = f()`` then reading ``a`` is
    # no read of ``b``)
    work = [r for r in definition.readers if name in r.reads]
    while work:
        r = work.pop()
        if r in seen:
            continue
        seen.add(r)
        if r in live or (r.is_header and r.body):
            return None
        if r in current and any(d != name and d in scope for d in r.defs):
            carriers.add(r)
        work.extend(rr for d in r.defs if d != name for rr in r.readers if d in rr.reads)
    return carriers


def live_statements(statements: Iterator[Statement], top: list[Statement], sinks_only: bool = True) -> set[Statement]:
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
    for stmt in [loop, *inside]:  # the header too: wp.hash_grid_query_next(query, j) advances query and j
        for name in stmt.defs:
            defined.setdefault(name, []).append(stmt)
    for stmt in [loop, *inside]:
        for name in stmt.reads & defined.keys():
            for d in defined[name]:
                if d is not stmt or stmt is loop:  # the header reads what it set on the previous iteration
                    stmt.consumed.add(d)
                    d.readers.add(stmt)


def _chain_before(stmt: Statement, top: list[Statement]) -> list[Statement]:
    """The ``if``/``elif`` headers an ``elif``/``else`` continues (they must stay for it to stay)."""
    if stmt.kind not in ("elif", "else"):
        return []
    siblings = stmt.parent.body if stmt.parent is not None else top
    index = siblings.index(stmt)
    out = []
    for prev in reversed(siblings[:index]):
        out.append(prev)
        if prev.kind == "if":
            break
    return out


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
