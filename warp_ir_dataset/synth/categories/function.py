"""Functions: ``@wp.func`` helpers as the subject of the kernel.

A kernel gets a layered call graph of helpers (each layer calls the one below it, one to four layers
deep), a family of overloads (one name, several argument types, resolved by Warp from the call's types),
helpers with guard clauses, several return statements and early returns out of loops, helpers that return
vectors or several values, a helper with a hand-written ``@wp.func_grad`` adjoint, helpers that take an
array (to gather from it or scatter into it), and optionally a module constant. The kernel loads its inputs
and combines the helpers.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..category import register_category
from ..expressions import Production
from ..types import BOOL, FLOAT, INT, MAT33, QUAT, VEC2, VEC3, VEC4, WarpType
from ..writer import Body, FunctionWriter, KernelWriter
from . import _callgraph as calls
from .common import Vocabulary, declare_inputs, output, param

_EXTRA = (
    Production(FLOAT, "wp.erfc({0})", (FLOAT,), "function", 0.4, ("tail", "complement")),
    Production(FLOAT, "wp.erfinv(wp.clamp({0}, -0.9, 0.9))", (FLOAT,), "function", 0.3, ("quantile",)),
    Production(FLOAT, "wp.erfcinv(wp.clamp({0}, 0.1, 1.9))", (FLOAT,), "function", 0.3, ("quantile", "inv_tail")),
    Production(FLOAT, "wp.rint({0})", (FLOAT,), "function", 0.3, ("nearest", "rounded")),
    Production(FLOAT, "wp.div_approx({0}, 1.0 + wp.abs({1}))", (FLOAT, FLOAT), "function", 0.4, ("ratio", "quotient")),
    Production(VEC3, "wp.smooth_normalize({0})", (VEC3,), "function", 0.4, ("direction", "unit")),
    Production(VEC3, "wp.cw_div({0}, wp.abs({1}) + wp.vec3(1.0))", (VEC3, VEC3), "function", 0.4, ("rescaled",)),
    Production(VEC3, "wp.quat_to_rpy(wp.normalize({0}))", (QUAT,), "function", 0.3, ("euler", "rpy")),
    Production(INT, "(~{0})", (INT,), "function", 0.3, ("inverted", "complement_bits")),
    Production(INT, "({0} >> 1)", (INT,), "function", 0.3, ("halved", "parent")),
    Production(INT, "wp.int32({0})", (FLOAT,), "function", 0.3, ("whole", "cell")),
    Production(FLOAT, "wp.float32({0})", (INT,), "function", 0.3, ("as_float", "count_f")),
    Production(FLOAT, "wp.length({0})", (VEC2,), "function", 0.3, ("radius", "planar_len")),
    Production(VEC2, "wp.vec2({0}[0], {0}[1])", (VEC3,), "function", 0.3, ("planar", "xy")),
)

VOCABULARY = Vocabulary(
    inputs={
        "float": (
            ("samples", "sample"),
            ("signal", "level"),
            ("weights", "weight"),
            ("heights", "height"),
            ("densities", "density"),
            ("temperatures", "temp"),
        ),
        "int": (("counts", "count"), ("labels", "label"), ("ids", "node"), ("steps", "step")),
        "vec3": (("positions", "pos"), ("normals", "normal"), ("velocities", "vel"), ("directions", "dir")),
    },
    params={"float": ("gain", "scale", "bias", "sharpness")},
    outputs={
        "float": ("result", "response", "shaded", "filtered"),
        "vec3": ("displaced", "out_dir", "steered"),
        "vec2": ("out_uv",),
        "vec4": ("colors_out",),
        "quat": ("out_rot",),
        "int": ("out_codes",),
    },
    locals={"float": ("response", "shaded", "blended"), "vec3": ("shifted", "dir_out")},
)

_VERBS = ("scale", "blend", "shade", "weigh", "warp", "fold", "mix", "soften", "measure", "clip", "transfer")
_OVERLOAD_VERBS = ("apply", "evaluate", "transfer", "reduce", "combine", "project")
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
#: neutral values: the fallback of a guard clause, and loop accumulators (Warp mutates a variable in a loop
#: only if it was declared dynamic: ``float(0.0)``, not ``0.0``)
_ZERO = {"float": "0.0", "vec3": "wp.vec3(0.0)", "vec2": "wp.vec2(0.0)", "vec4": "wp.vec4(0.0)", "int": "0"}
_INITIAL = {**_ZERO, "float": "float(0.0)", "int": "int(0)"}
#: a bounded operation on one value of each type a tuple helper returns
_OWN_SCALE = {"float": "wp.tanh({0})", "vec3": "wp.normalize({0})"}
_ACCUMULATORS = {"float": ("total", "acc"), "vec3": ("sum_vec", "acc"), "vec2": ("sum_uv", "acc"), "int": ("hits",)}


@dataclass(frozen=True)
class _Tuple:
    """A helper returning several values (called by unpacking)."""

    name: str
    operands: tuple[WarpType, ...]
    returns: tuple[WarpType, ...]
    names: tuple[str, ...]
    rule: Callable[[list[float]], float]  # estimate of the results (the expression generator does not know it)

    @property
    def call(self) -> str:
        return f"{self.name}({', '.join(f'{{{k}}}' for k in range(len(self.operands)))})"


class _Helpers:
    """Helper bodies and helper families, for :class:`_FunctionKernel` (which holds the state they use)."""

    # ----------------------------------------------------------------- helper bodies
    def body(self, fn: FunctionWriter, result: WarpType, callees: list, shape: str, max_locals: int = 2) -> str:
        """Write ``fn``'s body in one of the shapes; returns the final return value (not yet written)."""
        w, rng = self.w, self.w.rng
        floats = fn.values_of(FLOAT)
        if shape in ("guard", "branches") and not fn.can_compute(BOOL, 2):
            shape = "guard" if floats else "straight"
        if shape == "guard":  # guard clause first: bad input or a trivial case returns early
            if floats and (rng.random() < 0.4 or not fn.can_compute(BOOL, 2)):
                check = f"wp.isnan({floats[0]}) or wp.isinf({floats[0]})"
            else:
                check = fn.expr(BOOL, 2)
            with fn.block(f"if {check}"):
                fallback = _ZERO.get(result.name) if rng.random() < 0.5 else None
                fn.emit(f"return {fallback or fn.expr(result, 1)}")
        for callee in callees:
            _call(fn, callee)
        for _ in range(rng.randint(0, min(max_locals, 1 + w.level // 3))):
            t = rng.choice((FLOAT, FLOAT, VEC3)) if shape != "loop" else FLOAT
            if fn.can_compute(t, max(1, w.limits.depth - 1)):
                fn.assign(t, max(1, w.limits.depth - 1))
        returned: list[str] = []
        if shape == "branches":
            # distinct conditions: a repeated one is a branch that never runs
            conditions = dict.fromkeys(fn.expr(BOOL, 2) for _ in range(rng.randint(1, 2)))
            for k, condition in enumerate(conditions):
                with fn.block(f"{'elif' if k else 'if'} {condition}"):
                    returned.append(_returned(fn, result, returned))
                    fn.emit(f"return {returned[-1]}")
        elif shape == "loop" and result.name in _ACCUMULATORS:
            acc = fn.let(_ACCUMULATORS[result.name], _INITIAL[result.name], result)
            index = fn.name("k", "j", "step")
            with fn.block(f"for {index} in range({rng.randint(2, 4 + w.level)})"):
                fn.define(index, INT)
                # an early exit once the running value says so, compared with something else than a constant
                # (the first test sees the initial value): a break steers the update after it, a return is a result
                early = rng.random() < 0.6
                exit_test = _exit_test(fn, acc, result) if early and rng.random() < 0.4 else ""
                if exit_test:
                    with fn.block(f"if {exit_test}"):
                        fn.emit("break")
                    early = False
                with fn.protect(acc):  # the running value is not read: the sum stays bounded
                    fn.set(acc, f"{acc} + {calls.result(fn, result, max(1, w.limits.depth - 1))}")
                exit_test = _exit_test(fn, acc, result) if early else ""
                if exit_test:
                    with fn.block(f"if {exit_test}"):
                        fn.emit(f"return {acc}")
            return acc if result is INT or rng.random() < 0.6 else f"{acc} * 0.5"
        return _returned(fn, result, returned)

    def helper(
        self, verbs: tuple[str, ...], types: tuple[WarpType, ...], result: WarpType, **options
    ) -> FunctionWriter:
        fn = self.w.function(verbs)
        for t in types:
            fn.param(t)
        result = result if fn.can_compute(result) else FLOAT
        fn.ret(self.body(fn, result, **options), result)
        return fn

    # ----------------------------------------------------------------- helper families
    def layered(self) -> None:
        """Helpers in layers; each helper of a layer calls one of the layer below. The kernel calls the top."""
        w, rng = self.w, self.w.rng
        layers = {1: (1, 2), 2: (2, 2), 3: (2, 3), 4: (3, 3), 5: (3, 4)}[w.level]
        # integer parameters where the kernel has integers: float-to-int conversions are not differentiable
        kinds = (FLOAT, FLOAT, FLOAT, VEC3, INT) if self.integers() else (FLOAT, FLOAT, FLOAT, VEC3)
        below: list = []
        chosen: set = set()  # helpers some helper of the layer above calls
        leftover: list = []  # helpers of lower layers no helper calls: the kernel calls them
        for layer in range(rng.randint(*layers)):
            current: list = []
            for _ in range(1 if layer or w.level < 5 else 2):
                types = tuple(rng.choice(kinds) for _ in range(rng.randint(1, 3)))
                callees = [rng.choice(below)] if below else []
                chosen.update(callees)
                shape = rng.choice(("straight", "guard", "branches", "loop"))
                kind = rng.random()
                if kind < 0.15 and layer < 2:  # two results: called by unpacking
                    current.append(self.pair(types, callees))
                    continue
                result = rng.choice((VEC3, VEC3, VEC2, VEC4, QUAT)) if kind < 0.4 else FLOAT
                fn = self.helper(_VERBS, types, result, callees=callees, shape=shape)
                current.append(w.add_function(fn))
            leftover += [h for h in below if h not in chosen]
            below = current
        for h in [*leftover, *below]:
            (self.tuples if isinstance(h, _Tuple) else self.top).append(h)

    def integers(self) -> bool:
        """Does the kernel load integers (besides the thread index)?"""
        return any(n not in self.w.tid_vars for n in self.w.values_of(INT))

    def pair(self, types: tuple[WarpType, ...], callees: list) -> _Tuple:
        """A helper returning a float and a vector (or two floats): ``return a, b``."""
        w, rng = self.w, self.w.rng
        second = rng.choice((FLOAT, VEC3))
        fn = w.function(("split", "decompose", "measure_pair", "analyze"))
        for t in types:
            fn.param(t)
        for callee in callees:
            _call(fn, callee)
        if rng.random() < 0.5 and fn.can_compute(FLOAT, max(1, w.limits.depth - 1)):
            fn.assign(FLOAT, max(1, w.limits.depth - 1))
        first = calls.result(fn, FLOAT)
        fn.ret(f"{first}, {fn.expr(second, max(1, w.limits.depth - 1), operation=True)}", FLOAT)
        source = fn.source()
        w.helper(fn.function_name[len(w.function_name) + 1 :], source)
        names = ("magnitude", "spread") if second is FLOAT else ("magnitude", "axis")
        operands = tuple(a.type for a in fn.args)
        return _Tuple(fn.function_name, operands, (FLOAT, second), names, fn.magnitude_rule())

    def overload_family(self) -> None:
        """One name, two or three signatures; Warp picks the overload from the argument types."""
        w, rng = self.w, self.w.rng
        count = 3 if w.level >= 3 else 2
        same_result = rng.random() < 0.5  # all return float, or each returns its first argument's type
        name = ""
        sources: list[str] = []
        seen: set[tuple[str, ...]] = set()
        # signatures a call in the kernel can pass something of (the kernel calls every overload)
        callable_ = [s for s in _OVERLOAD_SIGNATURES if any(w.values_of(t) or w.can_compute(t, 2) for t in s)]
        callable_ = [s for s in callable_ if INT not in s or self.integers()]
        for types in rng.sample(callable_, min(count, len(callable_))):
            result = FLOAT if same_result or types[0] in (INT, MAT33, QUAT) else types[0]
            shape = rng.choice(("straight", "straight", "guard", "branches"))
            fn = self.helper(
                _OVERLOAD_VERBS if not name else (name[len(w.function_name) + 1 :],),
                types,
                result,
                callees=[],
                shape=shape,
                max_locals=1,
            )
            source = fn.source()  # parameters nothing reads are gone now: the signature is final
            signature = tuple(a.type.name for a in fn.args)
            if signature in seen:  # same argument types as an earlier overload: it would replace that one
                continue
            seen.add(signature)
            name = name or fn.function_name
            sources.append(source.replace(f"def {fn.function_name}(", f"def {name}("))
            args = ", ".join(f"{{{k}}}" for k in range(len(fn.args)))
            prod = Production(fn.returns, f"{name}({args})", tuple(a.type for a in fn.args), "helper", 1.0)
            self.overloads.append((prod, sources[-1], fn.magnitude_rule()))

    def call_overloads(self) -> None:
        """Call every overload once; the family keeps the overloads called. (Only these calls: an expression
        generator without their size estimates could nest them until they overflow.)"""
        w = self.w
        kept = [(prod, source) for prod, source, rule in self.overloads if _call(w, prod, rule)]
        if kept:
            name = kept[0][0].template.split("(")[0]
            w.helper(name[len(w.function_name) + 1 :], "\n\n\n".join(source for _, source in kept))

    def custom_gradient(self) -> None:
        """A float helper with a hand-written ``@wp.func_grad``: the exact adjoint, built from known derivatives."""
        w, rng = self.w, self.w.rng
        suffix = w.name(*(f"{w.function_name}_{s}" for s in ("smooth", "activation", "response", "profile")))
        suffix = suffix[len(w.function_name) + 1 :]
        two = rng.random() < 0.5
        x, y = "x", "y"
        fx, dfx = rng.choice(_DIFFERENTIABLE)
        if not two:
            forward, grads = fx.format(x=x), [(x, dfx.format(x=x))]
        else:
            gy, dgy = rng.choice(_DIFFERENTIABLE)
            if rng.random() < 0.5:  # product: d(f g) = f' g dx + f g' dy
                forward = f"{fx.format(x=x)} * {gy.format(x=y)}"
                grads = [(x, f"{dfx.format(x=x)} * {gy.format(x=y)}"), (y, f"{fx.format(x=x)} * {dgy.format(x=y)}")]
            else:
                c = rng.choice((0.5, 2.0, 1.5))
                forward = f"{fx.format(x=x)} + {c} * {gy.format(x=y)}"
                grads = [(x, dfx.format(x=x)), (y, f"{c} * {dgy.format(x=y)}")]
        signature = ", ".join(f"{n}: float" for n, _ in grads)
        source = "\n".join(
            [
                "@wp.func",
                f"def NAME({signature}):",
                f"    return {forward}",
                "",
                "",
                "@wp.func_grad(NAME)",
                f"def NAME_grad({signature}, adj_ret: float):",
                *(f"    wp.adjoint[{n}] += {g} * adj_ret" for n, g in grads),
            ]
        )
        name = w.helper(suffix, source)
        args = ", ".join(f"{{{k}}}" for k in range(len(grads)))
        self.top.append(Production(FLOAT, f"{name}({args})", (FLOAT,) * len(grads), "helper", 1.0, (suffix,)))


@dataclass
class _FunctionKernel(_Helpers):
    """What this kernel's helpers are: the ones the kernel itself must call (the rest are called by helpers)."""

    w: KernelWriter
    top: list[Production]
    tuples: list[_Tuple]
    overloads: list[tuple[Production, str, Callable]]  # (calls, source, estimate) of one overload family

    # ----------------------------------------------------------------- kernel
    def write(self) -> None:
        w, rng = self.w, self.w.rng
        VOCABULARY.apply(w)
        w.add_productions(*_EXTRA)
        if rng.random() < 0.3:
            const = w.add_constant(
                f"{w.function_name.upper()}_{w.choose(('SCALE', 'EPS', 'GAIN', 'RATE'))}",
                w.choose(("0.25", "0.5", "0.75", "1.5", "2.0")),
            )
            w.add_productions(Production(FLOAT, f"({{0}} * {const})", (FLOAT,), "function", 1.5, ("scaled", "tuned")))
        loaded = declare_inputs(w, VOCABULARY, (FLOAT, FLOAT, VEC3, INT), max(1, w.limits.inputs))
        if rng.random() < 0.4:
            param(w, VOCABULARY, FLOAT)
        self.layered()
        if w.level >= 2 or rng.random() < 0.5:
            self.overload_family()
        if rng.random() < 0.5 + 0.1 * w.level:
            self.custom_gradient()
        for h in [*self.top, *self.tuples]:
            _call(w, h)
        self.call_overloads()
        deposit = None
        if w.level >= 3:
            deposit = self.array_helpers(loaded)
        for _ in range(rng.randint(0, w.limits.statements // 2)):
            targets = w.locals_of(FLOAT)
            if targets and w.can_nest and rng.random() < 0.3:
                with w.block(f"if {w.expr(BOOL, 2)}"):
                    w.update(rng.choice(targets))
            else:
                w.assign(rng.choice((FLOAT, FLOAT, VEC3)))
        if deposit:
            accum = output(w, VOCABULARY, FLOAT)
            value = w.expr(FLOAT, 2)
            if not w.deps(value):  # the deposited amount comes from the inputs
                value = w.expr(FLOAT, 2, consume=[n for n in w.values_of(FLOAT) if w.deps(n)])
            w.emit(f"{deposit}({accum}, i, {value})")
        for t in (VEC3, VEC2, VEC4, QUAT, INT, FLOAT):
            if t is FLOAT or (w.pending(t) and rng.random() < 0.6):
                w.store(output(w, VOCABULARY, t), "i", calls.result(w, t, operation=True))

    def array_helpers(self, loaded: list[str]) -> str | None:
        """A gather helper (reads neighbours of an index) and/or a scatter helper (atomic add, no return)."""
        w, rng = self.w, self.w.rng
        if rng.random() < 0.6:
            t = rng.choice((FLOAT, VEC3))
            radius = rng.randint(1, 2)
            name = w.helper(
                "gather",
                "\n".join(
                    [
                        "@wp.func",
                        f"def NAME(values: wp.array(dtype={t.annotation}), idx: int):",
                        f"    total = {_INITIAL[t.name]}",
                        f"    for o in range(-{radius}, {radius + 1}):",
                        "        total += values[(idx + o + values.shape[0]) % values.shape[0]]",
                        f"    return total / {2 * radius + 1}.0",
                    ]
                ),
            )
            arrays = [a.name for a in w.args if a.is_array and a.role == "input" and a.type is t]
            source = arrays[0] if arrays else w.input_array(t, ("field", "neighbors", "grid_values"))
            w.let(("smoothed", "neighborhood", "local_mean"), f"{name}({source}, i)", t)
        if rng.random() < 0.5:
            stride = rng.choice((3, 5, 7))
            return w.helper(
                "deposit",
                "\n".join(
                    [
                        "@wp.func",
                        "def NAME(target: wp.array(dtype=float), idx: int, value: float):",
                        f"    slot = (idx * {stride} + {rng.randint(0, 9)}) % target.shape[0]",
                        "    wp.atomic_add(target, slot, value)",
                    ]
                ),
                writes=(0,),
            )
        return None


def _exit_test(fn: FunctionWriter, acc: str, t: WarpType) -> str:
    """A condition on the running value ``acc`` and something else (not only constants), or ""."""
    if not fn.can_compute(BOOL):
        return ""
    for _ in range(3):
        test = fn.expr(BOOL, 1 if t is FLOAT else 2, consume=[acc])
        names = {n.id for n in ast.walk(ast.parse(test, mode="eval")) if isinstance(n, ast.Name)} - {"wp", "float"}
        if acc in names and len(names) > 1:
            return test
    return ""


def _returned(fn: FunctionWriter, t: WarpType, avoid: list[str]) -> str:
    """A value to return: an operation (never a bare parameter) reading whatever nothing has read yet, and
    unlike the values earlier return statements give."""
    value = ""
    for _ in range(4):
        value = calls.result(fn, t, operation=True)
        if value not in avoid:
            break
    return value


def _call(fn: Body, callee: Production | _Tuple, rule: Callable | None = None) -> bool:
    """A statement of ``fn`` calling ``callee`` (a Production, or a tuple helper unpacked into locals); False
    if no argument could read an input. ``rule``: the callee's size estimate, where the generator lacks it."""
    args = calls.arguments(fn, callee.operands, callee.rule if isinstance(callee, _Tuple) else rule)
    if args is None:
        return False
    if isinstance(callee, _Tuple):
        names = fn.unpack(callee.call.format(*args), callee.names, callee.returns)
        # the writer tracks the unpacking as one statement: once one result is read the other counts as read
        # too, so each result gets a reader of its own here
        read = ""
        for name, t in zip(names, callee.returns, strict=True):
            mentions = re.compile(rf"\b{name}\b")
            if mentions.search(read):
                continue
            value = ""
            for _ in range(3):
                value = fn.expr(t, 2, consume=[name], operation=True)
                if mentions.search(value):
                    break
            else:
                value = _OWN_SCALE[t.name].format(name)
            fn.let(fn.names_for(t), value, t)
            read += value
    else:
        fn.let((*callee.names, *fn.names_for(callee.result)), callee.template.format(*args), callee.result)
    return True


@register_category("function", groups={"arith", "trig", "vector", "cond"})
def function(w: KernelWriter) -> None:
    """Functions: layered @wp.func call graphs, overloads, early returns, vector/tuple returns, array helpers."""
    _FunctionKernel(w, [], [], []).write()
