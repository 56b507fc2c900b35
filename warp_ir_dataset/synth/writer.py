"""``KernelWriter``: writes one self-contained Warp kernel, statement by statement, knowing what is live.

Categories drive a writer through its public API: they declare arguments (``input_array``, ``param``,
``output_array``), bind locals (``let``, ``assign``), reassign them (``set``, ``update``), open blocks
(``block``), write outputs (``store``, ``atomic``, ``emit``) and add ``@wp.func`` helpers. The writer keeps
track (``statements.Flow``) of:

- what is in scope, so a variable is only read where Warp allows it;
- for every statement, the definitions it reads (reaching definitions over blocks and loops) and the
  kernel inputs it depends on (data, indices, and the conditions steering it);
- which values nothing has read yet (``pending``): expressions it writes consume them first, and
  ``result`` folds whatever is left into an output;
- a bound on the size of every value (``magnitude.py``), so that chained products stay finite.

When the kernel is rendered, statements whose values reach no output (a store into an array, an atomic,
a helper's return value) are dropped, then the parameters, helpers and structs nothing live reads. So every
statement, parameter and helper call in a rendered kernel contributes to an output.
"""

from __future__ import annotations

import ast
import math
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from ..dataflow import self_cancelling
from ..errors import SynthesisError
from . import magnitude
from .expressions import ExpressionGenerator, Production, weighted_choice
from .names import ARG_NAMES, HELPER_NAMES, LOCAL_NAMES, PARAM_NAMES
from .statements import BLOCKS, PYTHON_NAMES, Flow, Mark, Statement, data_names_in, names_in, parse_statement
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

__all__ = ["COMPLEXITY", "Arg", "Complexity", "FunctionWriter", "KernelWriter", "Statement", "SynthesisError"]


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
_INTEGER_TYPES = frozenset({"int", "int64", "uint32", "vec2i", "vec3i"})


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


class Choices:
    """Literals and random choices drawn from the writer's own random source."""

    rng: random.Random

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
            return weighted_choice(self.rng, list(options), lambda o: options[o])
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


class Names:
    """Identifiers and scopes of one function: every name is used once, and read only where it is visible."""

    function_name: str
    args: list[Arg]

    def __init__(self) -> None:
        self.local_names: dict[str, tuple[str, ...]] = dict(LOCAL_NAMES)
        self._scopes: list[dict[str, WarpType]] = [{}]
        self._taken: set[str] = set(PYTHON_NAMES)

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


class Statements(Names, Choices):
    """The statement half of a function body under construction: names, scopes, statements and their flow.

    :class:`Body` adds expressions; ``KernelWriter`` and ``FunctionWriter`` build on that.
    """

    def __init__(self, name: str, rng: random.Random, level: int, gen: ExpressionGenerator):
        Names.__init__(self)
        self.function_name = name
        self.rng = rng
        self.level = level
        self.limits = COMPLEXITY[level]
        self.gen = gen
        self.flow = Flow()
        self.args: list[Arg] = []
        self.magnitudes: dict[str, float] = {}  # name -> log2 of a bound on its values (see magnitude.py)
        self.dropped = 0  # statements removed at the end because their values reached no output
        self._protected: list[str] = []
        self._writers: dict[str, tuple[int, ...]] = {}  # helper name -> argument positions it writes
        self._finished = False

    # ---------------------------------------------------------------- dataflow
    def pending(self, t: WarpType | None = None) -> list[str]:
        """Readable parameters and locals holding a value that would be lost if nothing read it from here on
        (oldest first): it reaches no output yet, and no other variable in scope carries it forward."""
        scope = self.scope
        names = self.flow.pending(scope, self._protected)
        return names if t is None else [n for n in names if scope[n] == t]

    def deps(self, text: str) -> frozenset[str]:
        """Kernel inputs an expression over what is in scope depends on."""
        return self.flow.deps_of(data_names_in(ast.parse(text, mode="eval")))

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
    def _parse(self, text: str, kind: str) -> Statement:
        if self._finished:
            raise SynthesisError(f"{self.function_name}: statement written after the body was finished: {text!r}")
        arrays = frozenset(a.name for a in self.args if a.is_array)
        return parse_statement(text, kind, arrays, self._writers)

    def _record(self, stmt: Statement) -> None:
        for name in stmt.defs:
            self.magnitudes[name] = self._magnitude_of(stmt, name)

    def emit(self, text: str) -> Statement:
        """Write one statement (any Warp Python line) and record what it reads, defines and writes."""
        stmt = self.flow.add(self._parse(text, "simple"))
        self._record(stmt)
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

    def let(self, base: str | Sequence[str], value: str, t: WarpType) -> str:
        """``name = value`` for a new local named after ``base`` (a name or candidates); returns the name."""
        name = self.name(*([base] if isinstance(base, str) else base))
        self.emit(f"{name} = {value}")
        self.define(name, t)
        self._cap(name, t)
        return name

    def _cap(self, name: str, t: WarpType) -> None:
        """Integers wrap: their estimates stop at their width."""
        if t.name in _INTEGER_TYPES:
            self.magnitudes[name] = min(self.magnitudes.get(name, 0.0), 64.0 if "64" in t.name else 32.0)

    def set(self, name: str, value: str) -> None:
        """``name = value`` for an existing local."""
        self.emit(f"{name} = {value}")

    def unpack(self, call: str, bases: Sequence[str | Sequence[str]], types: Sequence[WarpType]) -> list[str]:
        """``a, b = call`` for a tuple-returning call; returns the new locals."""
        names = [self.name(*([b] if isinstance(b, str) else b)) for b in bases]
        self.emit(f"{', '.join(names)} = {call}")
        for name, t in zip(names, types, strict=True):
            self.define(name, t)
            self._cap(name, t)
        return names

    @property
    def can_nest(self) -> bool:
        return len(self.flow.open) < self.limits.nesting

    @property
    def depth(self) -> int:
        """How many blocks are open."""
        return len(self.flow.open)

    @contextmanager
    def block(self, header: str) -> Iterator[Statement]:
        """Open an indented block (``if ...``, ``elif ...``, ``else``, ``for ...``, ``while ...``).

        Locals defined inside stay inside. An ``elif``/``else`` must follow the ``if`` it continues.
        """
        kind = header.split(None, 1)[0]
        if kind not in BLOCKS:
            raise SynthesisError(f"{self.function_name}: not a block header: {header!r}")
        stmt = self._parse(header, kind)
        with self.flow.block(stmt):
            self._record(stmt)
            self._scopes.append({})
            try:
                yield stmt
            finally:
                self._scopes.pop()

    def mark(self) -> Mark:
        """The current position: ``accumulator(..., at=mark)`` declares a local there later."""
        return self.flow.mark(len(self._scopes) - 1)

    def accumulator(self, base: str | Sequence[str], t: WarpType, init: str, at: Mark | None = None) -> str:
        """A local initialised with the constant ``init`` (``float(0.0)``), declared here or at an earlier mark."""
        if at is None:
            return self.let(base, init, t)
        name = self.name(*([base] if isinstance(base, str) else base))
        stmt = parse_statement(f"{name} = {init}", "simple", frozenset(), {})
        self.flow.insert(at, stmt)
        self._scopes[at.scope][name] = t
        self.magnitudes[name] = self.magnitude(init)
        return name


class Body(Statements):
    """A function body under construction: statements (see :class:`Statements`) and the expressions that
    fill them, drawn live from the values in scope.

    ``KernelWriter`` (a kernel) and ``FunctionWriter`` (a generated ``@wp.func``) share it.
    """

    def _readable(self, exclude: Sequence[str] = ()) -> dict[str, WarpType]:
        hidden = set(exclude) | set(self._protected)
        return {n: vt for n, vt in self.scope.items() if n not in hidden}

    def _gen_expr(self, t: WarpType, depth: int, scope: Mapping[str, WarpType], leaf_bias: float, **options) -> str:
        self.gen.magnitudes = self.magnitudes
        return self.gen.expr(t, depth, scope, leaf_bias, **options)

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
        scope = self._readable(exclude)
        pending = [n for n in self.pending() if n in scope]
        wanted = list(consume) if consume is not None else pending
        depth = self.limits.depth if depth is None else depth
        prefer = dict.fromkeys(pending, 6.0)
        return self._gen_expr(t, depth, scope, leaf_bias, consume=wanted, prefer=prefer, operation=operation)

    def can_compute(self, t: WarpType, depth: int | None = None) -> bool:
        """Can an operation of type ``t`` over what is in scope be written (``assign`` would succeed)?"""
        return self.gen.can_operate(t, max(1, self.limits.depth if depth is None else depth), self._readable())

    def can_reach(self, name: str, t: WarpType, depth: int = 2) -> bool:
        """Can an expression of type ``t`` read local ``name`` within ``depth`` operations?"""
        return self.gen.can_route(t, self.scope[name], depth)

    def assign(self, t: WarpType, depth: int | None = None, names: Sequence[str] | None = None) -> str:
        """A new local of type ``t`` holding a random operation over what is in scope; returns its name."""
        if not self.can_compute(t, depth):
            raise SynthesisError(f"{self.function_name}: no operation of type {t.name} over {sorted(self.scope)}")
        value = self.expr(t, max(1, self.limits.depth if depth is None else depth), operation=True)
        bases = names or (*self.gen.last_names, *self.names_for(t))
        return self.let(tuple(bases), value, t)

    def update(self, name: str, depth: int | None = None) -> None:
        """Reassign an existing local from an expression that reads it."""
        depth = max(1, self.limits.depth if depth is None else depth)
        self.set(name, self.expr(self.scope[name], depth, consume=[name], operation=True))

    def result(self, t: WarpType, depth: int | None = None, base: str | None = None) -> str:
        """An expression of type ``t`` that reads every value nothing has read yet (those it can reach).

        ``base`` (an expression) is the starting point, else a random expression.
        """
        depth = self.limits.depth if depth is None else depth
        reachable = [n for n in self.pending() if self.can_reach(n, t, depth)]
        value = base if base is not None else self.expr(t, depth, consume=reachable)
        read = names_in(ast.parse(value, mode="eval"))
        for name in reachable:
            if name in read:
                continue
            for _ in range(4):  # (t + 1.3) - t: draw another term or operator
                try:
                    term = self._gen_expr(t, 2, {name: self.scope[name]}, 0.5, consume=[name])
                except ValueError:  # reachable by type, but no draw fitted (sizes, distinct operands)
                    break
                if name not in names_in(ast.parse(term, mode="eval")):
                    break  # too large to fold in anywhere: left for the end of the build to drop
                combined = _combine(self.rng, t, value, term)
                tree = ast.parse(combined, mode="eval")
                if not any(isinstance(n, ast.expr) and self_cancelling(n) for n in ast.walk(tree)):
                    value = combined
                    break
            read.add(name)
        return value

    # ---------------------------------------------------------------- finishing
    def _add_arg(self, arg: Arg, deps: frozenset[str], recipe: dict | None = None) -> None:
        self.magnitudes[arg.name] = _recipe_magnitude(arg.type, recipe or {})
        self.args.append(arg)
        self._taken.add(arg.name)
        self.flow.define_at_entry(arg.name, "arg", deps)

    def all_statements(self) -> Iterator[Statement]:
        return self.flow.all_statements()

    def finish(self) -> None:
        """Drop every statement whose value reaches no output, then the arguments nothing live reads."""
        if self._finished:
            return
        self._finished = True
        live, self.dropped = self.flow.prune()
        for arg in list(self.args):
            read = self.flow.arguments.get(arg.name) in live
            written = any(arg.name in s.sinks for s in live)
            if not (read or written):
                self.args.remove(arg)
                self._drop_arg(arg.name)

    def _drop_arg(self, name: str) -> None:
        """Hook for subclasses: forget what else belongs to argument ``name``."""

    def render_body(self, indent: int = 1) -> list[str]:
        return self.flow.render(indent)


def _recipe_magnitude(t: WarpType, recipe: dict) -> float:
    """The estimate for an argument validation fills from ``recipe`` (default: floats in [-1, 1], ints in [0, 16))."""
    if recipe.get("kind") in ("mesh", "bvh", "hash_grid"):
        return 0.0
    if recipe.get("kind") == "index":
        return math.log2(max(2, recipe.get("high", 64)))
    low, high = recipe.get("low"), recipe.get("high")
    if low is None and high is None:
        return 4.0 if t.name in _INTEGER_TYPES else 0.0
    return max(0.0, math.log2(max(abs(low or 0), abs(high or 0), 1e-9)))


def _combine(rng: random.Random, t: WarpType, value: str, term: str) -> str:
    """``value`` and ``term`` (both of type ``t``) in one expression of type ``t``."""
    if t is BOOL:
        return f"({value} {rng.choice(('and', 'or'))} {term})"
    if t is QUAT or t.name == "transform":  # rotations and poses compose
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


class ModuleDefinitions:
    """What a kernel's module holds besides the kernel: ``@wp.func`` helpers, ``@wp.struct``s, constants."""

    function_name: str
    rng: random.Random
    level: int
    limits: object
    gen: ExpressionGenerator
    helpers: list[_Helper]
    structs: list[tuple[str, str]]
    constants: list[tuple[str, str]]

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
        suffix = "_".join(n for n in fn.function_name[len(self.function_name) + 1 :].split("_") if n)
        operands = tuple(a.type for a in fn.args)
        prod = Production(
            fn.returns, f"{fn.function_name}({args})", operands, group, weight, (suffix,) if suffix else ()
        )
        self.helpers.append(_Helper(fn.function_name, source, prod))
        self.gen.calls[fn.function_name] = fn.magnitude_rule()
        self.gen.add(prod)
        return prod

    def make_helper(self, types: tuple[WarpType, ...]) -> Production:
        """Write one generated ``@wp.func`` over ``types`` and make it available to later expressions."""
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
        value = fn.expr(result, self.limits.depth, operation=True)  # never an identity helper (return x)
        fn.ret(fn.result(result, self.limits.depth, base=value), result)
        return self.add_function(fn)

    def add_helpers(self, types: tuple[WarpType, ...]) -> None:
        """Write this level's number of ``@wp.func`` helpers over ``types`` and call each once."""
        low, high = self.limits.helpers
        for _ in range(self.rng.randint(low, high)):
            self.call_helper(self.make_helper(types))

    def call_helper(self, prod: Production) -> str | None:
        """``name = helper(args)`` with arguments read from scope (at least one reads a variable, and no two
        are the same); returns the local, or None if no argument can read anything in scope."""
        scope = self._readable()
        readable = [k for k, t in enumerate(prod.operands) if self.gen.can_read(t, 1, scope)]
        if not readable:
            return None
        carrier = self.rng.choice(readable)
        pending = [n for n in self.pending() if n in scope]
        prefer = dict.fromkeys(pending, 6.0)
        operands: list[str] = [""] * len(prod.operands)
        for depth in (1, 2):  # the carrier reads a variable, or the call is not made
            operands[carrier] = self._gen_expr(
                prod.operands[carrier], depth, scope, 0.5, consume=pending, prefer=prefer
            )
            if names_in(ast.parse(operands[carrier], mode="eval")) & set(scope):
                break
        else:
            return None
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

    def _prune_definitions(self, text: str) -> None:
        """Keep the helpers, constants and structs that ``text`` (the live kernel) refers to, directly or not."""
        kept: list[_Helper] = []
        for helper in reversed(self.helpers):  # a helper may call the helpers defined before it
            if _mentions(text, helper.name):
                kept.append(helper)
                text += "\n" + helper.source
        self.helpers = list(reversed(kept))
        self.constants = [c for c in self.constants if _mentions(text, c[0])]
        self.structs = [s for s in self.structs if _mentions(text, s[0])]


class KernelWriter(ModuleDefinitions, Body):
    """Accumulates one kernel's arguments, helpers, structs and body.

    Args:
        name: the kernel's Python name (also the prefix of its helpers' names).
        rng: the kernel's own random source.
        level: complexity level, 1-5.
        groups: expression groups the category enables.
    """

    def __init__(self, name: str, rng: random.Random, level: int, groups: frozenset[str]):
        super().__init__(name, rng, level, ExpressionGenerator(rng, groups))
        self.helpers = []
        self.structs = []  # (name, source) of @wp.struct classes
        self.constants = []  # (name, source) of module-level wp.constant definitions
        self.launch_dim: tuple[int, ...] = (64,)
        self.tiled_block_dim: int | None = None
        self.recipes: dict[str, dict] = {}  # argument name -> how validation synthesizes its input
        self.tid_vars: tuple[str, ...] = ()
        self._coeffs: dict[str, str] = {}
        self._declare_tid(("i",))

    # ----------------------------------------------------------------- launch
    def _declare_tid(self, names: tuple[str, ...]) -> None:
        for name in self.tid_vars:
            self._scopes[0].pop(name, None)
            self._taken.discard(name)
            self.flow.reaching.pop(name, None)
        self.tid_vars = names
        for name in names:
            self.define(name, INT)
            self.flow.define_at_entry(name, "tid", frozenset())
            self.magnitudes[name] = 6.0

    def set_launch(self, dim: tuple[int, ...], tiled_block_dim: int | None = None) -> None:
        """Launch over ``dim`` (1-4 dimensions; ``wp.tid()`` unpacks one index per dimension).

        With ``tiled_block_dim`` the kernel is launched with ``wp.launch_tiled`` and that block size.
        Call before writing any statement.
        """
        if self.flow.statements:
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
        array = self._declare(Arg(self._arg_name(name, "inputs", t), t, True, ndim, "input"), recipe)
        if not load:
            return array
        bases = self.names_for(t) if load is True else ([load] if isinstance(load, str) else load)
        return self.let(tuple(bases), f"{array}[{', '.join(self.tid_vars[:ndim])}]", t)

    def output_array(
        self, t: WarpType, name: str | Sequence[str] | None = None, *, ndim: int = 1, recipe: dict | None = None
    ) -> str:
        return self._declare(Arg(self._arg_name(name, "outputs", t), t, True, ndim, "output"), recipe)

    def param(self, t: WarpType, name: str | Sequence[str] | None = None, recipe: dict | None = None) -> str:
        """Declare a by-value kernel parameter; it is readable everywhere."""
        param = self._declare(Arg(self._arg_name(name, "params", t), t, False, role="param"), recipe)
        self._scopes[0][param] = t
        return param

    def _declare(self, arg: Arg, recipe: dict | None) -> str:
        self._add_arg(arg, frozenset({arg.name}), recipe if arg.role != "output" else None)
        if recipe:
            self.recipes[arg.name] = recipe
        return arg.name

    def coeff(self, key: str, low: float, high: float, *, param_bias: float = 0.5, t: WarpType = FLOAT) -> str:
        """A named coefficient in [low, high]: a kernel parameter (the range is its recipe) or a literal.

        The same ``key`` gives the same parameter or literal for the whole kernel.
        """
        if key not in self._coeffs:
            if self.rng.random() < param_bias:
                self._coeffs[key] = self.param(t, key, recipe={"low": low, "high": high})
            else:
                self._coeffs[key] = float_literal(self.rng, low, high)
        return self._coeffs[key]

    def _arg_name(self, name: str | Sequence[str] | None, role: str, t: WarpType) -> str:
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

    def add_productions(self, *productions: Production) -> None:
        """Make these operations available to the expressions this kernel writes (a category's palette)."""
        for prod in productions:
            self.gen.add(prod)

    # ----------------------------------------------------------------- outputs
    def store(self, array: str, index: str, value: str, op: str = "=") -> None:
        """``array[index] = value`` (or ``+=``/``-=``). A value that depends on no kernel input gets one."""
        self.emit(f"{array}[{index}] {op} {self._depending(array, index, value)}")

    def atomic(self, func: str, array: str, index: str, value: str) -> None:
        """``wp.atomic_<op>(array, index, value)``; like ``store``, a value that depends on no input gets one."""
        self.emit(f"{func}({array}, {index}, {self._depending(array, index, value)})")

    def _depending(self, array: str, index: str, value: str) -> str:
        """``value``, or ``value`` combined with an input-dependent value in scope if neither it, ``index`` nor
        the conditions steering this point depend on a kernel input."""
        steering = self.flow.guards[-1] | (self.flow.open[-1].deps if self.flow.open else frozenset())
        if self.deps(value) | self.deps(index) | steering:
            return value
        t = self.arg(array).type
        scope = self.scope
        candidates = [n for n in scope if n not in self._protected and self.deps(n) and self.can_reach(n, t, 2)]
        if not candidates:
            return value
        pending = [n for n in candidates if n in self.pending()]
        term = self._gen_expr(t, 2, {n: scope[n] for n in candidates}, 0.5, consume=pending or candidates)
        return _combine(self.rng, t, value, term)

    def index_expr(self, array: str, offset_var: str | None = None) -> str:
        """A non-negative, in-bounds index into 1-D ``array`` built from ``i`` (and an optional loop variable)."""
        rng = self.rng
        terms = ["i" if rng.random() < 0.7 else f"i * {rng.randint(2, 7)}"]
        if offset_var is not None:
            terms.append(offset_var)
        terms.append(str(rng.randint(1, 9)))
        return f"({' + '.join(terms)}) % {array}.shape[0]"

    # ----------------------------------------------------------------- rendering
    def finish(self) -> None:
        if self._finished:
            return
        super().finish()
        text = "\n".join(s.text for s in self.all_statements()) + "\n" + " ".join(a.annotation for a in self.args)
        self._prune_definitions(text)

    def render(self) -> str:
        self.finish()
        signature = ", ".join(f"{a.name}: {a.annotation}" for a in self.args)
        used = [name for name in self.tid_vars if any(name in s.reads for s in self.all_statements())]
        lines = [f"    {', '.join(n if n in used else '_' for n in self.tid_vars)} = wp.tid()"] if used else []
        kernel = f"@wp.kernel\ndef {self.function_name}({signature}):\n" + "\n".join([*lines, *self.render_body()])
        blocks = [
            "import warp as wp",
            *(src for _, src in self.constants),
            *(src for _, src in self.structs),
            *(h.source for h in self.helpers),
            kernel,
        ]
        return "\n\n\n".join(blocks) + "\n"


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", text) is not None
