"""``KernelWriter``: builds the source of one self-contained Warp kernel, statement by statement.

Categories drive a writer: they declare arguments, open blocks and assign typed expressions; the writer
keeps track of what is in scope (so a variable is only read where Warp allows it), indents, names
locals, and renders ``import warp as wp`` + ``@wp.func`` helpers + one ``@wp.kernel``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .expressions import ExpressionGenerator, Production
from .types import INT, WarpType


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

_LOCAL_PREFIX = {
    "float": "t",
    "int": "n",
    "bool": "c",
    "vec2": "v",
    "vec3": "v",
    "vec4": "v",
    "mat22": "m",
    "mat33": "m",
    "quat": "q",
    "mat44": "m",
    "transform": "tf",
    "spatial_vector": "sv",
    "float64": "d",
    "int64": "ll",
    "uint32": "ui",
    "vec2i": "vi",
    "vec3i": "vi",
    "uint64": "id",
}
_TID_NAMES = ("i", "j", "k", "l")
_INPUT_NAMES = ("x", "y", "z", "u", "w", "p", "s")
_OUTPUT_NAMES = ("out", "out_b", "out_c", "out_d")
_PARAM_NAMES = ("alpha", "beta", "gamma", "scale")


@dataclass(frozen=True)
class Arg:
    name: str
    type: WarpType
    is_array: bool
    ndim: int = 1

    @property
    def annotation(self) -> str:
        if not self.is_array:
            return self.type.annotation
        ndim = f", ndim={self.ndim}" if self.ndim > 1 else ""
        return f"wp.array(dtype={self.type.annotation}{ndim})"


class KernelWriter:
    """Accumulates one kernel's arguments, helpers and body.

    Args:
        name: the kernel's Python name (also the prefix of its helpers' names).
        rng: the kernel's own random source.
        level: complexity level, 1-5.
        groups: expression groups the category enables.
    """

    def __init__(self, name: str, rng: random.Random, level: int, groups: frozenset[str]):
        self.name = name
        self.rng = rng
        self.level = level
        self.limits = COMPLEXITY[level]
        self.gen = ExpressionGenerator(rng, groups)
        self.args: list[Arg] = []
        self.helper_sources: list[str] = []
        self.helpers: list[Production] = []
        self._lines: list[str] = []
        self._indent = 1
        self._scopes: list[dict[str, WarpType]] = [{}]
        self._counters: dict[str, int] = {}
        self._depth_of_nesting = 0
        self.module_sources: list[str] = []  # @wp.struct classes and other module-level definitions
        self.launch_dim: tuple[int, ...] = (64,)
        self.tiled_block_dim: int | None = None
        self.recipes: dict[str, dict] = {}  # argument name -> how validation synthesizes its input
        self.tid_vars: tuple[str, ...] = ("i",)
        self.define("i", INT)

    # ----------------------------------------------------------------- launch
    def set_launch(self, dim: tuple[int, ...], tiled_block_dim: int | None = None) -> None:
        """Launch over ``dim`` (1-4 dimensions; ``wp.tid()`` unpacks one index per dimension).

        With ``tiled_block_dim`` the kernel is launched with ``wp.launch_tiled`` and that block size.
        Call before writing any statement.
        """
        if self._lines:
            raise RuntimeError("set_launch must come before the kernel body")
        for name in self.tid_vars:
            del self._scopes[0][name]
        self.launch_dim = tuple(dim)
        self.tiled_block_dim = tiled_block_dim
        self.tid_vars = _TID_NAMES[: len(dim)]
        for name in self.tid_vars:
            self.define(name, INT)

    def launch_spec(self) -> dict:
        """How validation launches this kernel (stored as JSON with the record)."""
        return {"dim": list(self.launch_dim), "tiled_block_dim": self.tiled_block_dim, "args": self.recipes}

    # ----------------------------------------------------------------- arguments
    def input_array(
        self, t: WarpType, load: bool = True, name: str | None = None, ndim: int = 1, recipe: dict | None = None
    ) -> str:
        """Declare an input array of ``t``; with ``load`` (1-D launches), read element ``i`` into a local.

        ``recipe`` tells validation how to fill it (see ``validate.make_arguments``), e.g.
        ``{"kind": "index", "high": 64}`` for an array of valid indices.
        """
        name = name or _INPUT_NAMES[sum(1 for a in self.args if a.is_array and a.name in _INPUT_NAMES)]
        self.args.append(Arg(name, t, True, ndim))
        if recipe:
            self.recipes[name] = recipe
        if load:
            self.assign_value(f"{name}[{', '.join(self.tid_vars[:ndim])}]", t)
        return name

    def output_array(self, t: WarpType, name: str | None = None, ndim: int = 1, recipe: dict | None = None) -> str:
        name = name or _OUTPUT_NAMES[sum(1 for a in self.args if a.name in _OUTPUT_NAMES)]
        self.args.append(Arg(name, t, True, ndim))
        if recipe:
            self.recipes[name] = recipe
        return name

    def param(self, t: WarpType, name: str | None = None, recipe: dict | None = None) -> str:
        """Declare a by-value kernel parameter; it is readable everywhere."""
        name = name or _PARAM_NAMES[sum(1 for a in self.args if a.name in _PARAM_NAMES)]
        self.args.append(Arg(name, t, False))
        if recipe:
            self.recipes[name] = recipe
        self._scopes[0][name] = t
        return name

    def add_struct(self, fields: list[tuple[str, WarpType]], suffix: str = "State") -> WarpType:
        """Define a ``@wp.struct`` (named after the kernel) with ``fields``; return its type."""
        name = "".join(part.capitalize() for part in self.name.split("_")) + suffix
        body = "\n".join(f"    {field}: {t.annotation}" for field, t in fields)
        self.module_sources.append(f"@wp.struct\nclass {name}:\n{body}")
        return WarpType(f"struct:{name}", name)

    def arg(self, name: str) -> Arg:
        return next(a for a in self.args if a.name == name)

    # ----------------------------------------------------------------- scope and statements
    @property
    def scope(self) -> dict[str, WarpType]:
        merged: dict[str, WarpType] = {}
        for level in self._scopes:
            merged.update(level)
        return merged

    def define(self, name: str, t: WarpType) -> None:
        self._scopes[-1][name] = t

    def fresh(self, t: WarpType) -> str:
        prefix = _LOCAL_PREFIX.get(t.name, "s")  # struct values: s0, s1, ...
        n = self._counters.get(prefix, 0)
        self._counters[prefix] = n + 1
        return f"{prefix}{n}"

    def emit(self, line: str) -> None:
        self._lines.append("    " * self._indent + line)

    def expr(self, t: WarpType, depth: int | None = None, exclude: list[str] | tuple[str, ...] = ()) -> str:
        """A random expression of type ``t`` over the variables in scope (minus ``exclude``)."""
        scope = {n: vt for n, vt in self.scope.items() if n not in exclude}
        return self.gen.expr(t, self.limits.depth if depth is None else depth, scope)

    def assign(self, t: WarpType, depth: int | None = None) -> str:
        """Assign a new local of type ``t`` from a random expression; return its name."""
        return self.assign_value(self.expr(t, depth), t)

    def assign_value(self, value: str, t: WarpType) -> str:
        name = self.fresh(t)
        self.emit(f"{name} = {value}")
        self.define(name, t)
        return name

    def update(self, name: str, depth: int | None = None) -> None:
        """Reassign an existing local from an expression of its own type."""
        t = self.scope[name]
        self.emit(f"{name} = {self.expr(t, depth)}")

    def locals_of(self, t: WarpType) -> list[str]:
        """Assignable locals of type ``t`` (not arguments, not the thread index)."""
        arg_names = {a.name for a in self.args} | set(self.tid_vars)
        return sorted(n for n, vt in self.scope.items() if vt == t and n not in arg_names)

    @property
    def can_nest(self) -> bool:
        return self._depth_of_nesting < self.limits.nesting

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        """Open an indented block (``if ...``, ``for ...``); locals defined inside stay inside."""
        self.emit(header + ":")
        self._indent += 1
        self._depth_of_nesting += 1
        self._scopes.append({})
        start = len(self._lines)
        try:
            yield
        finally:
            if len(self._lines) == start:
                self.emit("pass")
            self._scopes.pop()
            self._depth_of_nesting -= 1
            self._indent -= 1

    def index_expr(self, array: str, offset_var: str | None = None) -> str:
        """A non-negative, in-bounds index into 1-D ``array`` built from ``i`` (and an optional loop variable)."""
        rng = self.rng
        terms = ["i" if rng.random() < 0.7 else f"i * {rng.randint(2, 7)}"]
        if offset_var is not None:
            terms.append(offset_var)
        terms.append(str(rng.randint(1, 9)))
        return f"({' + '.join(terms)}) % {array}.shape[0]"

    # ----------------------------------------------------------------- helpers
    def add_helpers(self, types: tuple[WarpType, ...]) -> None:
        """Write this level's number of ``@wp.func`` helpers over ``types`` and call each once."""
        low, high = self.limits.helpers
        for _ in range(self.rng.randint(low, high)):
            self.call_helper(self.make_helper(types))

    def make_helper(self, types: tuple[WarpType, ...]) -> Production:
        """Write one ``@wp.func`` helper and make it available to later expressions."""
        rng = self.rng
        index = len(self.helpers)
        name = f"{self.name}_fn{index}"
        params = tuple(rng.choice(types) for _ in range(rng.randint(1, 3)))
        result = rng.choice(types)
        scope: dict[str, WarpType] = {f"a{k}": t for k, t in enumerate(params)}
        lines = ["@wp.func", f"def {name}({', '.join(f'{p}: {t.annotation}' for p, t in scope.items())}):"]
        counter = 0
        for _ in range(rng.randint(1, 2 + self.level // 2)):
            t = rng.choice(types)
            if not self.gen.can_build(t):
                continue
            local = f"h{counter}"
            counter += 1
            lines.append(f"    {local} = {self.gen.expr(t, max(1, self.limits.depth - 1), scope)}")
            scope[local] = t
        lines.append(f"    return {self.gen.expr(result, self.limits.depth, scope, leaf_bias=0.1)}")
        self.helper_sources.append("\n".join(lines))
        args = ", ".join(f"{{{k}}}" for k in range(len(params)))
        prod = Production(result, f"{name}({args})", params, "helper", weight=2.0)
        self.helpers.append(prod)
        self.gen.add(prod)
        return prod

    def call_helper(self, prod: Production) -> str:
        call = prod.template.format(*(self.expr(t, 1) for t in prod.operands))
        return self.assign_value(call, prod.result)

    # ----------------------------------------------------------------- output
    def render(self) -> str:
        signature = ", ".join(f"{a.name}: {a.annotation}" for a in self.args)
        tid = f"    {', '.join(self.tid_vars)} = wp.tid()"
        kernel = f"@wp.kernel\ndef {self.name}({signature}):\n" + "\n".join([tid, *self._lines])
        blocks = ["import warp as wp", *self.module_sources, *self.helper_sources, kernel]
        return "\n\n\n".join(blocks) + "\n"
