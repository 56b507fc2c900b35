"""Functions: ``@wp.func`` helpers as the subject of the kernel.

A kernel gets a layered call graph of helpers (each layer calls the one below it, two to four layers
deep), a family of overloads (one name, several argument types, resolved by Warp from the call's types),
helpers with guard clauses, several return statements and early returns out of loops, helpers that return
vectors or several values, helpers that take an array (to gather from it or scatter into it), and
optionally a module constant. The kernel loads its inputs and combines the helpers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..category import register_category
from ..expressions import Production
from ..types import BOOL, FLOAT, INT, MAT33, QUAT, VEC2, VEC3, VEC4, WarpType
from ..writer import KernelWriter

#: ``@wp.func_grad`` custom gradients. Off: tests/synth/test_synthesize.py counts every top-level function
#: that is not ``@wp.kernel`` / ``@wp.func`` as an error, and a gradient function is ``@wp.func_grad(f)``.
CUSTOM_GRADIENTS = True

_EXTRA = (
    Production(FLOAT, "wp.erfc({0})", (FLOAT,), "function", 0.4),
    Production(FLOAT, "wp.erfinv(wp.clamp({0}, -0.9, 0.9))", (FLOAT,), "function", 0.3),
    Production(FLOAT, "wp.erfcinv(wp.clamp({0}, 0.1, 1.9))", (FLOAT,), "function", 0.3),
    Production(FLOAT, "wp.rint({0})", (FLOAT,), "function", 0.3),
    Production(FLOAT, "wp.div_approx({0}, 1.0 + wp.abs({1}))", (FLOAT, FLOAT), "function", 0.4),
    Production(VEC3, "wp.smooth_normalize({0})", (VEC3,), "function", 0.4),
    Production(VEC3, "wp.cw_div({0}, wp.abs({1}) + wp.vec3(1.0))", (VEC3, VEC3), "function", 0.4),
    Production(VEC3, "wp.quat_to_rpy(wp.normalize({0}))", (QUAT,), "function", 0.3),
    Production(INT, "(~{0})", (INT,), "function", 0.3),
    Production(INT, "({0} >> 1)", (INT,), "function", 0.3),
    Production(INT, "wp.int32({0})", (FLOAT,), "function", 0.3),
    Production(FLOAT, "wp.float32({0})", (INT,), "function", 0.3),
    Production(FLOAT, "wp.length({0})", (VEC2,), "function", 0.3),
    Production(VEC2, "wp.vec2({0}[0], {0}[1])", (VEC3,), "function", 0.3),
    Production(FLOAT, "wp.length({0})", (VEC4,), "function", 0.2),
)

_PARAM_NAMES: dict[str, tuple[str, ...]] = {
    "float": ("x", "y", "s", "t", "h"),
    "int": ("n", "m", "idx"),
    "vec3": ("v", "u", "d", "p"),
    "vec2": ("uv", "st"),
    "vec4": ("c", "w4"),
    "quat": ("q", "r"),
    "mat33": ("A", "M"),
}
_VERBS = ("scale", "blend", "shade", "weigh", "warp", "fold", "mix", "soften", "measure", "clip", "transfer")
_OVERLOAD_SIGNATURES: tuple[tuple[WarpType, ...], ...] = (
    (FLOAT,),
    (VEC3,),
    (INT,),
    (FLOAT, FLOAT),
    (VEC3, FLOAT),
    (VEC3, VEC3),
    (MAT33, VEC3),
    (QUAT, VEC3),
    (VEC2,),
)
#: (f, f') pairs over ``{x}`` for custom gradients: smooth everywhere, so the adjoint is exact
_DIFFERENTIABLE = (
    ("wp.sin({x})", "wp.cos({x})"),
    ("wp.cos({x})", "(-wp.sin({x}))"),
    ("wp.tanh({x})", "(1.0 - wp.tanh({x}) * wp.tanh({x}))"),
    ("wp.atan({x})", "(1.0 / (1.0 + {x} * {x}))"),
    ("wp.sqrt({x} * {x} + 0.01)", "({x} / wp.sqrt({x} * {x} + 0.01))"),
    ("wp.log(1.0 + {x} * {x})", "(2.0 * {x} / (1.0 + {x} * {x}))"),
    ("({x} / wp.sqrt(1.0 + {x} * {x}))", "(1.0 / ((1.0 + {x} * {x}) * wp.sqrt(1.0 + {x} * {x})))"),
    ("wp.erf({x})", "(1.1283792 * wp.exp(-{x} * {x}))"),
    ("({x} * {x})", "(2.0 * {x})"),
)
#: roughly the most statements (helpers and kernel together) a level-5 kernel gets
_BUDGET = 46
_ZERO = {"float": "float(0.0)", "vec3": "wp.vec3(0.0)", "vec2": "wp.vec2(0.0)", "int": "int(0)"}


@dataclass
class _Helper:
    name: str
    params: tuple[tuple[str, WarpType], ...]
    returns: tuple[WarpType, ...]  # () for helpers that only write to an array


class _FunctionKernel:
    def __init__(self, w: KernelWriter):
        self.w = w
        self.rng = w.rng
        self.helpers: list[_Helper] = []
        self.multi: list[_Helper] = []  # helpers returning several values (called by unpacking)
        self.overloaded: list[_Helper] = []
        self._names: set[str] = set()

    def unique(self, base: str) -> str:
        name, n = base, 1
        while name in self._names:
            n += 1
            name = f"{base}_{n}"
        self._names.add(name)
        return name

    def expr(self, t: WarpType, scope: dict[str, WarpType], depth: int | None = None, leaf: float = 0.2) -> str:
        depth = max(1, self.w.limits.depth - 1) if depth is None else depth
        return self.w.gen.expr(t, depth, scope, leaf)

    def reading(self, t: WarpType, scope: dict[str, WarpType], names: list[str], depth: int | None = None) -> str:
        """An expression that reads one of ``names`` (a few tries), so parameters do not go unused."""
        value = self.expr(t, scope, depth)
        for _ in range(4):
            if not names or any(_mentions(value, n) for n in names):
                break
            value = self.expr(t, scope, depth)
        return value

    def params(self, types: tuple[WarpType, ...]) -> tuple[tuple[str, WarpType], ...]:
        used: set[str] = set()
        out = []
        for t in types:
            pool = [n for n in _PARAM_NAMES.get(t.name, ("a",)) if n not in used]
            name = pool[0] if pool else f"a{len(out)}"
            used.add(name)
            out.append((name, t))
        return tuple(out)

    def register(self, h: _Helper) -> None:
        """Make a single-value helper callable from later expressions (helpers below, then the kernel)."""
        if len(h.returns) == 1:
            args = ", ".join(f"{{{k}}}" for k in range(len(h.params)))
            self.w.gen.add(Production(h.returns[0], f"{h.name}({args})", tuple(t for _, t in h.params), "helper", 1.5))
        elif len(h.returns) > 1:
            self.multi.append(h)
        self.helpers.append(h)

    # ----------------------------------------------------------------- helper bodies
    def call_lines(
        self, callee: _Helper, scope: dict[str, WarpType], lines: list[str], indent: str, live: list[str]
    ) -> None:
        """A statement calling ``callee`` (unpacking several results); its results join ``scope`` and ``live``."""
        args = ", ".join(self.reading(t, scope, live, 1) for _, t in callee.params)
        names = [f"r{k}" if len(callee.returns) > 1 else "r" for k in range(len(callee.returns))]
        names = [n if n not in scope else f"{n}_{len(scope)}" for n in names]
        lines.append(f"{indent}{', '.join(names)} = {callee.name}({args})")
        scope.update(zip(names, callee.returns, strict=True))
        live.extend(names)

    def body(
        self,
        params: tuple[tuple[str, WarpType], ...],
        returns: tuple[WarpType, ...],
        callees: list[_Helper],
        shape: str,
        max_locals: int = 2,
    ) -> list[str]:
        w, rng = self.w, self.rng
        scope: dict[str, WarpType] = dict(params)
        names = [n for n, _ in params]  # parameters, and locals computed from them
        lines: list[str] = []

        def result() -> str:
            parts = [self.reading(t, scope, names, w.limits.depth) for t in returns]
            return ", ".join(parts)

        floats = [n for n, t in params if t is FLOAT]
        if shape == "guard":  # guard clause first: bad input or a trivial case returns early
            check = f"wp.isnan({floats[0]}) or wp.isinf({floats[0]})" if floats and rng.random() < 0.4 else None
            lines.append(f"    if {check or self.expr(BOOL, scope, 1)}:")
            lines.append(f"        return {', '.join(self.expr(t, scope, 1) for t in returns)}")
        for callee in callees:
            self.call_lines(callee, scope, lines, "    ", names)
        for n in range(rng.randint(0, min(max_locals, 1 + w.level // 3))):
            t = rng.choice((FLOAT, FLOAT, VEC3)) if shape != "loop" else FLOAT
            name = f"h{n}"
            value = self.reading(t, scope, names)
            lines.append(f"    {name} = {value}")
            scope[name] = t
            if any(_mentions(value, x) for x in names):
                names.append(name)
        if shape == "branches":
            lines.append(f"    if {self.expr(BOOL, scope, 2)}:")
            lines.append(f"        return {result()}")
            for _ in range(rng.randint(0, 1)):
                lines.append(f"    elif {self.expr(BOOL, scope, 2)}:")
                lines.append(f"        return {result()}")
        elif shape == "loop" and len(returns) == 1 and returns[0].name in _ZERO:
            t = returns[0]
            lines.append(f"    acc = {_ZERO[t.name]}")
            trips = rng.randint(2, 4 + w.level)
            lines.append(f"    for k in range({trips}):")
            inner = dict(scope, k=INT)  # the accumulator is not read: the sum stays bounded
            lines.append(f"        acc = acc + {self.expr(t, inner)}")
            if rng.random() < 0.6:
                scope_acc = dict(inner, acc=t)
                lines.append(f"        if {self.expr(BOOL, scope_acc, 2)}:")
                lines.append("            return acc" if rng.random() < 0.5 else "            break")
            lines.append("    return acc" if t is INT or rng.random() < 0.6 else "    return acc * 0.5")
            return lines
        lines.append(f"    return {result()}")
        return lines

    def define(
        self, name: str, params: tuple[tuple[str, WarpType], ...], returns: tuple[WarpType, ...], lines: list[str]
    ) -> None:
        rng = self.rng
        signature = ", ".join(f"{n}: {t.annotation}" for n, t in params)
        ret = ""
        if len(returns) == 1 and rng.random() < 0.5:
            ret = f" -> {returns[0].annotation}"
        self.w.helper_sources.append("\n".join(["@wp.func", f"def {name}({signature}){ret}:", *lines]))

    # ----------------------------------------------------------------- helper families
    def layered(self) -> None:
        """Helpers in layers; each helper of layer n calls one of layer n - 1."""
        w, rng = self.w, self.rng
        layers = {1: (1, 2), 2: (2, 2), 3: (2, 3), 4: (3, 3), 5: (3, 4)}[w.level]
        below: list[_Helper] = []
        for layer in range(rng.randint(*layers)):
            current = []
            for width in range(1 if layer or w.level < 5 else 2):
                if width and self.used() > _BUDGET // 3:
                    break
                types = tuple(rng.choice((FLOAT, FLOAT, FLOAT, VEC3, INT)) for _ in range(rng.randint(1, 3)))
                params = self.params(types)
                kind = rng.random()
                if kind < 0.15 and layer < 2:
                    returns: tuple[WarpType, ...] = (FLOAT, rng.choice((FLOAT, VEC3)))
                elif kind < 0.4:
                    returns = (rng.choice((VEC3, VEC3, VEC2, VEC4, QUAT)),)
                else:
                    returns = (FLOAT,)
                shape = rng.choice(("straight", "guard", "branches", "loop"))
                callees = [rng.choice(below)] if below else []
                name = self.unique(f"{w.name}_{rng.choice(_VERBS)}")
                self.define(name, params, returns, self.body(params, returns, callees, shape))
                helper = _Helper(name, params, returns)
                self.register(helper)
                current.append(helper)
            below = current
        if CUSTOM_GRADIENTS:
            self.custom_gradient()

    def overloads(self) -> None:
        """One name, two or three signatures; Warp picks the overload from the argument types."""
        w, rng = self.w, self.rng
        name = self.unique(f"{w.name}_{rng.choice(_VERBS)}")
        signatures = rng.sample(_OVERLOAD_SIGNATURES, 3 if w.level >= 3 and self.used() < _BUDGET - 20 else 2)
        same_result = rng.random() < 0.5  # all return float, or each returns its first argument's type
        for types in signatures:
            params = self.params(types)
            result = FLOAT if same_result or types[0] in (INT, MAT33, QUAT) else types[0]
            shape = rng.choice(("straight", "straight", "guard", "branches"))
            self.define(name, params, (result,), self.body(params, (result,), [], shape, max_locals=1))
            helper = _Helper(name, params, (result,))
            self.register(helper)
            self.overloaded.append(helper)

    def array_helpers(self) -> list[_Helper]:
        """A gather helper (reads neighbours of an index) and/or a scatter helper (atomic add, no return)."""
        w, rng = self.w, self.rng
        made = []
        if rng.random() < 0.6 and self.used() < _BUDGET - 10:
            name = self.unique(f"{w.name}_gather")
            t = rng.choice((FLOAT, VEC3))
            radius = rng.randint(1, 2)
            lines = [f"    total = {_ZERO[t.name]}"]
            lines.append(f"    for o in range(-{radius}, {radius + 1}):")
            lines.append("        total += values[(idx + o + values.shape[0]) % values.shape[0]]")
            lines.append(f"    return total / {2 * radius + 1}.0")
            params = (("values", _ArrayType(t)), ("idx", INT))
            self.define(name, params, (t,), lines)
            made.append(_Helper(name, params, (t,)))
        if rng.random() < 0.5 and self.used() < _BUDGET - 6:
            name = self.unique(f"{w.name}_deposit")
            scope = {"value": FLOAT, "idx": INT}
            lines = [
                f"    slot = (idx * {rng.choice((3, 5, 7))} + {rng.randint(0, 9)}) % target.shape[0]",
                f"    wp.atomic_add(target, slot, {self.reading(FLOAT, scope, ['value'], 2)})",
            ]
            params = (("target", _ArrayType(FLOAT)), ("idx", INT), ("value", FLOAT))
            self.define(name, params, (), lines)
            made.append(_Helper(name, params, ()))
        return made

    def custom_gradient(self) -> None:
        """A float helper with a hand-written ``@wp.func_grad``: the exact adjoint, built from known derivatives."""
        w, rng = self.w, self.rng
        name = self.unique(f"{w.name}_{rng.choice(('smooth', 'activation', 'response', 'profile'))}")
        params = self.params((FLOAT,) * rng.randint(1, 2))
        (x, _), *rest = params
        fx, dfx = rng.choice(_DIFFERENTIABLE)
        if not rest:
            forward, grads = fx.format(x=x), [(x, dfx.format(x=x))]
        else:
            y = rest[0][0]
            gy, dgy = rng.choice(_DIFFERENTIABLE)
            if rng.random() < 0.5:  # product: d(f g) = f' g dx + f g' dy
                forward = f"{fx.format(x=x)} * {gy.format(x=y)}"
                grads = [(x, f"{dfx.format(x=x)} * {gy.format(x=y)}"), (y, f"{fx.format(x=x)} * {dgy.format(x=y)}")]
            else:
                c = rng.choice((0.5, 2.0, 1.5))
                forward = f"{fx.format(x=x)} + {c} * {gy.format(x=y)}"
                grads = [(x, dfx.format(x=x)), (y, f"{c} * {dgy.format(x=y)}")]
        self.define(name, params, (FLOAT,), [f"    return {forward}"])
        signature = ", ".join(f"{n}: float" for n, _ in params)
        lines = [f"@wp.func_grad({name})", f"def {name}_grad({signature}, adj_ret: float):"]
        lines += [f"    wp.adjoint[{n}] += {g} * adj_ret" for n, g in grads]
        w.helper_sources.append("\n".join(lines))
        self.register(_Helper(name, params, (FLOAT,)))

    # ----------------------------------------------------------------- kernel
    def write(self) -> None:
        w, rng = self.w, self.rng
        for prod in _EXTRA:
            w.gen.add(prod)
        if rng.random() < 0.3:
            const = f"{w.name.upper()}_{rng.choice(('SCALE', 'EPS', 'GAIN', 'RATE'))}"
            w.module_sources.append(f"{const} = wp.constant({rng.choice((0.25, 0.5, 0.75, 1.5, 2.0))})")
            w.gen.add(Production(FLOAT, f"({{0}} * {const})", (FLOAT,), "function", 1.0))
        arrays = [w.input_array(t, load=False) for t in _input_types(w)]
        for name in arrays:
            w.assign_value(f"{name}[i]", w.arg(name).type)
        if rng.random() < 0.4:
            w.param(FLOAT)
        self.layered()
        if w.level >= 2 or rng.random() < 0.5:
            self.overloads()
        gathers = self.array_helpers() if w.level >= 3 else []

        # unpack the several-valued helpers nothing called yet, then call every helper nothing reached
        for h in self.multi:
            if not self.referenced(h.name):
                names = [w.fresh(t) for t in h.returns]
                w.emit(f"{', '.join(names)} = {h.name}({self.args(h)})")
                for n, t in zip(names, h.returns, strict=True):
                    w.define(n, t)
        for h in self.helpers:
            if len(h.returns) == 1 and h not in self.overloaded and not self.referenced(h.name):
                w.assign_value(f"{h.name}({self.args(h)})", h.returns[0])
        for h in self.overloaded:  # every overload once, whatever expressions already called
            w.assign_value(f"{h.name}({self.args(h)})", h.returns[0])
        for h in gathers:
            if h.returns:
                dtype = h.params[0][1].dtype
                source = next((a for a in arrays if w.arg(a).type == dtype), None)
                source = source or w.input_array(dtype, load=False, name="field")
                w.assign_value(f"{h.name}({source}, i)", h.returns[0])
        for _ in range(rng.randint(0, w.limits.statements // 2)):
            if self.used() > _BUDGET - 4:
                break
            targets = w.locals_of(FLOAT)
            if targets and w.can_nest and rng.random() < 0.3:
                with w.block(f"if {w.expr(BOOL, 2)}"):
                    w.update(rng.choice(targets))
            else:
                w.assign(rng.choice((FLOAT, FLOAT, VEC3)))
        out = w.output_array(FLOAT)
        floats = [n for n in w.locals_of(FLOAT) if w.gen.uses.get(n, 0) == 0][-3:]
        vecs = [n for n in w.locals_of(VEC3) if w.gen.uses.get(n, 0) == 0][-2:]
        w.emit(f"{out}[i] = {' + '.join([*floats, w.expr(FLOAT)])}")
        if vecs and rng.random() < 0.6:
            w.emit(f"{w.output_array(VEC3)}[i] = {' + '.join([*vecs, w.expr(VEC3, 2)])}")
        for h in gathers:
            if not h.returns:
                w.emit(f"{h.name}({w.output_array(FLOAT, name='accum')}, i, {w.expr(FLOAT, 2)})")

    def used(self) -> int:
        """Statements written so far (helpers and kernel), to keep the largest kernels within budget."""
        return sum(1 for line in self.w.render().splitlines() if line.startswith("    ") and line.strip())

    def args(self, h: _Helper) -> str:
        """Call arguments built from the kernel's loaded values and earlier results where types allow."""
        w = self.w
        live = [n for n in w.scope if n not in w.tid_vars]
        return ", ".join(self.reading(t, w.scope, live, 1) for _, t in h.params)

    def referenced(self, name: str) -> bool:
        """Whether something (a helper or the kernel body so far) already calls ``name``."""
        source = self.w.render()
        return source.count(f"{name}(") > source.count(f"def {name}(")


@dataclass(frozen=True)
class _ArrayType:
    """An array parameter of a helper (``wp.array(dtype=...)``)."""

    dtype: WarpType

    @property
    def annotation(self) -> str:
        return f"wp.array(dtype={self.dtype.annotation})"


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}\b", text) is not None


def _input_types(w: KernelWriter) -> list[WarpType]:
    return [w.rng.choice((FLOAT, FLOAT, VEC3, INT)) for _ in range(max(1, w.limits.inputs))]


@register_category("function", groups={"arith", "trig", "vector", "cond"})
def function(w: KernelWriter) -> None:
    """Functions: layered @wp.func call graphs, overloads, early returns, vector/tuple returns, array helpers."""
    _FunctionKernel(w).write()
