"""Structs: ``@wp.struct`` types as kernel parameters, as array elements, built in kernels and in helpers.

A kernel defines one or two structs from a *theme* (a particle, a rigid body, a sample; simulation
parameters, a material) with fields of several types, then reads them field by field (from a by-value
parameter, a local copy of an array element, or the array element itself), writes fields back, builds a
struct inside the kernel (``s = T()`` then field assignments) and passes structs to and from
``@wp.func`` helpers (helpers that measure a struct, build one, or return an updated copy).

Every field of a struct the kernel reads (a parameter, an input array's element) is read somewhere; a
struct the kernel writes (an output array, an element updated in place) may carry fields through unread.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ..category import register_category
from ..expressions import Production
from ..types import (
    BOOL,
    FLOAT,
    FLOAT64,
    INT,
    MAT33,
    QUAT,
    SPATIAL,
    TRANSFORM,
    VEC2,
    VEC3,
    VEC4,
    WarpType,
    literal,
)
from ..writer import Body, FunctionWriter, KernelWriter
from . import _callgraph as calls
from .common import Vocabulary, load_input, output

# operations on the field types the shared table lacks (transforms, spatial vectors, doubles)
_EXTRA = (
    Production(TRANSFORM, "wp.transform({0}, {1})", (VEC3, QUAT), "struct", 1.0, ("pose", "xform")),
    Production(TRANSFORM, "wp.transformation({0}, {1})", (VEC3, QUAT), "struct", 0.4, ("pose", "placement")),
    Production(TRANSFORM, "wp.transform_multiply({0}, {1})", (TRANSFORM, TRANSFORM), "struct", 0.7, ("world_pose",)),
    Production(TRANSFORM, "wp.transform_inverse({0})", (TRANSFORM,), "struct", 0.5, ("inv_pose", "local_frame")),
    Production(VEC3, "wp.transform_point({0}, {1})", (TRANSFORM, VEC3), "struct", 0.8, ("world_point", "moved")),
    Production(VEC3, "wp.transform_vector({0}, {1})", (TRANSFORM, VEC3), "struct", 0.6, ("world_dir", "turned")),
    Production(VEC3, "wp.transform_get_translation({0})", (TRANSFORM,), "struct", 0.5, ("origin", "translation")),
    Production(QUAT, "wp.transform_get_rotation({0})", (TRANSFORM,), "struct", 0.5, ("heading_rot", "attitude")),
    Production(VEC3, "wp.quat_rotate_inv({0}, {1})", (QUAT, VEC3), "struct", 0.6, ("local_dir", "body_dir")),
    Production(QUAT, "wp.quat_rpy({0}, {1}, {2})", (FLOAT, FLOAT, FLOAT), "struct", 0.4, ("attitude", "tilt")),
    Production(SPATIAL, "wp.spatial_vector({0}, {1})", (VEC3, VEC3), "struct", 1.0, ("twist", "wrench")),
    Production(SPATIAL, "({0} + {1})", (SPATIAL, SPATIAL), "struct", 0.5, ("net_twist", "total_wrench")),
    Production(SPATIAL, "({0} * {1})", (SPATIAL, FLOAT), "struct", 0.5, ("scaled_twist", "impulse")),
    Production(SPATIAL, "wp.spatial_cross({0}, {1})", (SPATIAL, SPATIAL), "struct", 0.4, ("coriolis", "bias")),
    Production(VEC3, "wp.spatial_top({0})", (SPATIAL,), "struct", 0.5, ("angular", "spin_part")),
    Production(VEC3, "wp.spatial_bottom({0})", (SPATIAL,), "struct", 0.5, ("linear", "drift")),
    Production(VEC3, "wp.velocity_at_point({0}, {1})", (SPATIAL, VEC3), "struct", 0.5, ("point_vel", "contact_vel")),
    Production(FLOAT, "wp.spatial_dot({0}, {1})", (SPATIAL, SPATIAL), "struct", 0.4, ("power", "work")),
    Production(FLOAT64, "wp.float64({0})", (FLOAT,), "struct", 1.0, ("precise", "wide")),
    Production(FLOAT64, "({0} + {1})", (FLOAT64, FLOAT64), "struct", 1.0, ("running", "sum64")),
    Production(FLOAT64, "({0} * wp.float64({1}))", (FLOAT64, FLOAT), "struct", 0.5, ("scaled64", "weighted64")),
    Production(FLOAT, "float({0})", (FLOAT64,), "struct", 0.5, ("narrowed", "approx")),
    Production(VEC3, "wp.get_diag({0})", (MAT33,), "struct", 0.4, ("principal", "diagonal")),
    Production(MAT33, "wp.matrix_from_cols({0}, {1}, {2})", (VEC3, VEC3, VEC3), "struct", 0.3, ("basis", "frame")),
    Production(MAT33, "wp.matrix_from_rows({0}, {1}, {2})", (VEC3, VEC3, VEC3), "struct", 0.3, ("rows", "frame")),
    Production(VEC3, "({0} / (1.0 + wp.length({1})))", (VEC3, VEC3), "struct", 0.4, ("damped", "softened")),
    Production(INT, "({0} | (1 << ({1} & 7)))", (INT, INT), "struct", 0.4, ("flags_set", "marked")),
    Production(FLOAT, "wp.length({0})", (VEC2,), "struct", 0.4, ("uv_len", "radius")),
    Production(FLOAT, "wp.dot({0}, {1})", (VEC4, VEC4), "struct", 0.3, ("tint_dot", "overlap")),
)

# (field name, type, always present?)
_ITEM_THEMES: dict[str, tuple[str, tuple[tuple[str, WarpType, bool], ...]]] = {
    "Particle": (
        "particles",
        (
            ("pos", VEC3, True),
            ("vel", VEC3, True),
            ("mass", FLOAT, True),
            ("radius", FLOAT, False),
            ("flags", INT, False),
            ("color", VEC4, False),
            ("age", FLOAT, False),
        ),
    ),
    "Body": (
        "bodies",
        (
            ("pos", VEC3, True),
            ("rot", QUAT, True),
            ("mass", FLOAT, True),
            ("omega", VEC3, False),
            ("inertia", MAT33, False),
            ("twist", SPATIAL, False),
            ("pose", TRANSFORM, False),
        ),
    ),
    "Sample": (
        "samples",
        (
            ("value", FLOAT, True),
            ("normal", VEC3, True),
            ("uv", VEC2, False),
            ("weight", FLOAT, False),
            ("bucket", INT, False),
            ("total", FLOAT64, False),
        ),
    ),
}
_PARAM_THEMES: dict[str, tuple[str, tuple[tuple[str, WarpType, bool], ...]]] = {
    "Params": (
        "params",
        (
            ("dt", FLOAT, True),
            ("gravity", VEC3, True),
            ("damping", FLOAT, False),
            ("steps", INT, False),
            ("frame", MAT33, False),
            ("offset", VEC2, False),
            ("time", FLOAT64, False),
        ),
    ),
    "Material": (
        "material",
        (
            ("stiffness", FLOAT, True),
            ("density", FLOAT, True),
            ("friction", FLOAT, False),
            ("stress", MAT33, False),
            ("tint", VEC4, False),
            ("layer", INT, False),
            ("orient", QUAT, False),
        ),
    ),
}
#: neutral values a freshly built struct's fields often start from
_IDENTITY = {
    "quat": "wp.quat_identity()",
    "transform": "wp.transform_identity()",
    "spatial_vector": "wp.spatial_vector()",
    "mat33": "wp.identity(n=3, dtype=float)",
    "vec3": "wp.vec3(0.0)",
    "float64": "wp.float64(0.0)",
}
#: the local an element is loaded into, a neighbour's, a new one's
_LOCAL_NAMES = {
    "Particle": (("p", "particle"), ("other", "neighbor"), ("spawned", "fresh")),
    "Body": (("body", "b"), ("other", "neighbor_body"), ("spawned", "fresh_body")),
    "Sample": (("smp", "sample"), ("other", "neighbor"), ("merged", "fresh")),
    "Params": (("cfg", "config"), ("cfg_other",), ("tuned", "derived")),
    "Material": (("mat", "material"), ("other_mat",), ("blended", "mixed")),
}

VOCABULARY = Vocabulary(
    inputs={
        "float": (("weights", "weight"), ("temperatures", "temp"), ("charges", "charge"), ("pressures", "pressure")),
        "vec3": (("forces", "force"), ("targets", "target"), ("winds", "wind")),
    },
    outputs={"float": ("energy", "scores", "out"), "vec3": ("out_vec", "displacements")},
    locals={
        "float": ("speed", "load", "heat", "drag", "score"),
        "vec3": ("accel", "push", "drift", "delta"),
        "quat": ("turn", "spin"),
        "int": ("code", "slot"),
    },
)


@dataclass
class _Struct:
    """One struct type of this kernel: its WarpType, fields and validation recipe."""

    theme: str
    type: WarpType
    fields: list[tuple[str, WarpType]]

    @classmethod
    def make(cls, w: KernelWriter, theme: str, spec: tuple[tuple[str, WarpType, bool], ...]) -> _Struct:
        optional = [(name, t) for name, t, required in spec if not required]
        extra = w.pick(optional, w.rng.randint(min(1, len(optional)), min(len(optional), 1 + w.level)))
        fields = [(name, t) for name, t, required in spec if required or (name, t) in extra]
        return cls(theme, w.add_struct(fields, suffix=theme), fields)

    @property
    def recipe(self) -> dict | None:
        recipe: dict[str, dict] = {}
        for name, t in self.fields:
            if t in (QUAT, TRANSFORM):
                recipe[name] = {"kind": "unit"}
            elif t is INT:
                recipe[name] = {"low": 0, "high": 8}
        return {"fields": recipe} if recipe else None

    def names(self, role: int) -> tuple[str, ...]:
        """Local names: 0 the element, 1 a neighbour, 2 a new one."""
        return _LOCAL_NAMES[self.theme][role]


def _expose(body: Body, value: str, s: _Struct) -> None:
    """Make ``value.field`` readable by later expressions."""
    for name, t in s.fields:
        body.define(f"{value}.{name}", t)


def _loads(tree: ast.AST) -> set[str]:
    """Attribute names ``tree`` reads: ``p.vel`` read, not ``p.vel = ...``."""
    return {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Load)}


class _StructHelpers:
    """Struct-valued expressions and the struct helpers, for :class:`_StructKernel` (which holds the state they use)."""

    # ------------------------------------------------------------------ expressions
    def value(
        self, body: Body, t: WarpType, prefixes: list[str], depth: int | None = None, operation: bool = False
    ) -> str:
        """An expression of ``t`` reading a field of one of ``prefixes`` where it can (fields nothing has read
        yet first), else what ``body.expr`` would read."""
        scope = body.scope
        depth = max(1, self.w.limits.depth - 1) if depth is None else depth
        read = self.reads()
        fields = [n for n in scope if "." in n and n.split(".")[0] in prefixes]
        fields.sort(key=lambda n: n.rsplit(".", 1)[1] in read)
        routable = [n for n in fields if body.can_reach(n, t, depth)]
        return body.expr(t, depth, consume=[*routable[:1], *body.pending()], operation=operation)

    def dependent(self, t: WarpType, depth: int | None = None) -> str:
        """An expression of ``t`` (an operation where one can be written) that depends on a kernel input."""
        w = self.w
        operation = w.can_compute(t, depth)
        value = w.expr(t, depth, operation=operation)
        if not w.deps(value):
            inputs = [n for n in w.scope if w.deps(n) and w.can_reach(n, t, depth or w.limits.depth)]
            value = w.expr(t, depth, consume=inputs, operation=operation)
        return value

    def reads(self) -> set[str]:
        """Fields read so far (kernel statements and helpers)."""
        out = set(self.helper_reads)
        for stmt in self.w.all_statements():
            if stmt.node is not None:
                out |= _loads(stmt.node)
        return out

    # ------------------------------------------------------------------ helpers
    def struct_params(self, fn: FunctionWriter, s: _Struct, with_cfg: bool) -> list[str]:
        names = [fn.param(s.type, s.names(0))]
        _expose(fn, names[0], s)
        if with_cfg and self.params and self.params is not s:
            names.append(fn.param(self.params.type, self.params.names(0)))
            _expose(fn, names[1], self.params)
        return names

    def finish_helper(self, fn: FunctionWriter) -> Production:
        prod = self.w.add_function(fn)
        source = next(h.source for h in self.w.helpers if h.name == fn.function_name)
        self.helper_reads |= _loads(ast.parse(source))
        return prod

    def helper_measure(self, s: _Struct) -> Production:
        """``@wp.func f(x: T[, cfg: P]) -> float`` reading the struct's fields."""
        w, rng = self.w, self.w.rng
        fn = w.function(("energy", "measure", "score", "weight_of"))
        prefixes = self.struct_params(fn, s, rng.random() < 0.5)
        for prefix in prefixes:  # every struct argument feeds the result
            fn.let(fn.names_for(FLOAT), self.value(fn, FLOAT, [prefix], operation=True), FLOAT)
        for _ in range(rng.randint(0, w.level // 2)):
            t = rng.choice((FLOAT, VEC3))
            fn.let(fn.names_for(t), self.value(fn, t, prefixes, operation=True), t)
        if rng.random() < 0.4 and fn.can_compute(BOOL, 2):
            with fn.block(f"if {fn.expr(BOOL, 2)}"):
                fn.emit(f"return {fn.expr(FLOAT, 2)}")
        fn.ret(calls.result(fn, FLOAT, operation=True), FLOAT)
        return self.finish_helper(fn)

    def helper_make(self, s: _Struct) -> Production:
        """``@wp.func make(a: float, d: wp.vec3) -> T`` building a struct field by field."""
        w, rng = self.w, self.w.rng
        fn = w.function((f"make_{s.theme.lower()}", f"new_{s.theme.lower()}"))
        for _ in range(rng.randint(1, 3)):
            fn.param(rng.choice((FLOAT, VEC3, FLOAT, INT)))
        made = fn.let(s.names(2), f"{s.type.annotation}()", s.type)
        self.fill(fn, made, s, identity_share=0.25, skip_share=0.15)
        fn.ret(made, s.type)
        return self.finish_helper(fn)

    def helper_update(self, s: _Struct) -> Production:
        """``@wp.func step(x: T[, cfg: P]) -> T``: an updated copy (a new struct, or the modified argument)."""
        w, rng = self.w, self.w.rng
        fn = w.function(("step", "advance", "update", "relax"))
        prefixes = self.struct_params(fn, s, rng.random() < 0.7)
        arg = prefixes[0]
        changed = w.pick(range(len(s.fields)), rng.randint(1, len(s.fields)))
        target = arg
        if rng.random() < 0.6:  # a new struct: changed fields computed, the others copied
            target = fn.let(s.names(2), f"{s.type.annotation}()", s.type)
        for index, (name, t) in enumerate(s.fields):
            if index in changed:  # an operation: never the field itself again
                fn.emit(f"{target}.{name} = {self.value(fn, t, prefixes, operation=fn.can_compute(t))}")
            elif target != arg:
                fn.emit(f"{target}.{name} = {arg}.{name}")
        fn.ret(target, s.type)
        return self.finish_helper(fn)

    def fill(self, body: Body, target: str, s: _Struct, identity_share: float, skip_share: float) -> None:
        """Field assignments of a new struct ``target``: computed from what is in scope, or a neutral value
        (some fields keep their zero default). At least one field depends on what is in scope; only those
        fields are readable afterwards (a constant is not a value to compute with)."""
        rng = body.rng
        depth = max(1, self.w.limits.depth - 1)
        computed = 0
        for index, (name, t) in enumerate(s.fields):
            roll = 1.0 if computed == 0 and index == len(s.fields) - 1 else rng.random()
            if t.name in _IDENTITY and roll < identity_share:
                body.emit(f"{target}.{name} = {_IDENTITY[t.name]}")
            elif roll >= identity_share + skip_share:
                # the struct itself is not passed to helpers half-built
                value = body.expr(t, depth, exclude=[target]) if body.can_compute(t) else literal(t, rng)
                body.emit(f"{target}.{name} = {value}")
                if body.deps(value):
                    computed += 1
                    body.define(f"{target}.{name}", t)


@dataclass
class _StructKernel(_StructHelpers):
    """The kernel's structs, the struct-valued locals it made, and what the helpers read."""

    w: KernelWriter
    item: _Struct | None = None
    params: _Struct | None = None
    items: str = ""  # the struct array
    cfg: str = ""  # the struct parameter
    helper_reads: set[str] = field(default_factory=set)  # fields helpers read
    written: set[str] = field(default_factory=set)  # struct themes the kernel writes (outputs)

    # ------------------------------------------------------------------ kernel
    def declare(self) -> None:
        w, rng = self.w, self.w.rng
        use_items = w.level >= 2 or rng.random() < 0.6
        if use_items:
            theme = w.choose(sorted(_ITEM_THEMES))
            items, spec = _ITEM_THEMES[theme]
            self.item = _Struct.make(w, theme, spec)
        if not use_items or rng.random() < 0.6:
            theme = w.choose(sorted(_PARAM_THEMES))
            cfg, spec = _PARAM_THEMES[theme]
            self.params = _Struct.make(w, theme, spec)
        for _ in range(rng.randint(0, 1 + w.level // 3)):
            load_input(w, VOCABULARY, w.choose((FLOAT, FLOAT, VEC3)))
        if self.item:
            self.items = w.input_array(self.item.type, items, recipe=self.item.recipe)
        if self.params:
            self.cfg = w.param(self.params.type, cfg, recipe=self.params.recipe)
            _expose(w, self.cfg, self.params)

    def call(self, prod: Production, element: str | None) -> str | None:
        """Call a struct helper: struct arguments are ``element`` (or the struct parameter), the others read
        what is in scope; returns the call, or None if it would depend on no input."""
        structs = {self.params.type.name: self.cfg} if self.params else {}
        if self.item and element:
            structs[self.item.type.name] = element
        plain = tuple(t for t in prod.operands if t.name not in structs)
        if any(t.name.startswith("struct:") for t in plain):
            return None
        values = calls.arguments(self.w, plain) if plain else []
        if values is None:
            return None
        args = iter(values)
        text = prod.template.format(*(structs.get(t.name) or next(args) for t in prod.operands))
        return text if self.w.deps(text) else None

    def write(self) -> None:
        w, rng = self.w, self.w.rng
        level = w.level
        VOCABULARY.apply(w)
        w.add_productions(*_EXTRA)
        self.declare()
        item, params = self.item, self.params
        subject = item or params
        assert subject is not None

        # helpers first, so that the body can call them
        kinds = w.pick(("measure", "update", "make"), {1: 0, 2: 1, 3: 1, 4: 2, 5: 3}[level])
        measure = self.helper_measure(subject) if "measure" in kinds else None
        update = self.helper_update(item) if "update" in kinds and item else None
        make = self.helper_make(subject) if "make" in kinds else None

        element, local, neighbor = self.thread_element()
        modified = self.motif(local)
        for _ in range(rng.randint(1, max(1, w.limits.statements // 2))):
            w.assign(w.choose((FLOAT, FLOAT, VEC3)), max(1, w.limits.depth - 1))

        if measure:
            for value in (element, neighbor):
                call = self.call(measure, value)
                if call and (value or not item):
                    w.let(("energy", "score", "weight_sum"), call, FLOAT)
        built = None
        if make:
            call = self.call(make, element)
            if call:
                built = w.let(subject.names(2), call, subject.type)
                _expose(w, built, subject)
        elif item and rng.random() < 0.6:
            built = self.construct(item)
        elif params and rng.random() < 0.5:
            built = self.construct(params)
        stepped = None
        if update and element:
            call = self.call(update, element)
            if call:
                stepped = w.let(("next_state", "updated"), call, update.result)
                _expose(w, stepped, item)

        if local:
            modified = self.update_fields(local, neighbor) or modified

        self.store(local if modified else None, built, stepped, neighbor)
        self.read_the_rest(element)
        for t in (VEC3, FLOAT):
            if t is FLOAT or (w.pending(t) and rng.random() < 0.4):
                w.store(output(w, VOCABULARY, t), "i", calls.result(w, t, operation=True))

    def thread_element(self) -> tuple[str | None, str | None, str | None]:
        """The thread's element (a local copy, or the array element's fields in place), the local copy if one
        was made, and a neighbouring element read at higher levels."""
        w, rng, item = self.w, self.w.rng, self.item
        element = local = neighbor = None
        if item:
            if rng.random() < 0.7:
                element = local = w.let(item.names(0), f"{self.items}[i]", item.type)
            else:
                element = f"{self.items}[i]"
            _expose(w, element, item)
            if w.level >= 3 and rng.random() < 0.4:
                other = f"{self.items}[(i + {rng.randint(1, 5)}) % {self.items}.shape[0]]"
                neighbor = w.let(item.names(1), other, item.type)
                _expose(w, neighbor, item)
        return element, local, neighbor

    def update_fields(self, local: str, neighbor: str | None) -> bool:
        """Field updates on the local copy, some conditional; whether any was written."""
        w, rng, level = self.w, self.w.rng, self.w.level
        fields = [f for f in self.item.fields if f[1] is not TRANSFORM]
        for name, t in w.pick(fields, rng.randint(1, min(len(fields), 1 + level // 2))):
            value = self.value(w, t, [x for x in (local, neighbor, self.cfg) if x], operation=True)
            if level >= 3 and rng.random() < 0.3 and w.can_compute(BOOL, 2):
                with w.block(f"if {w.expr(BOOL, 2)}"):
                    w.emit(f"{local}.{name} = {value}")
            else:
                w.emit(f"{local}.{name} = {value}")
        return True

    def motif(self, local: str | None) -> bool:
        """Domain updates of a local particle: explicit Euler under gravity, or a pressure from a material.
        Returns whether the local was modified."""
        w, item, params, cfg = self.w, self.item, self.params, self.cfg
        if not (local and item and params and item.theme == "Particle") or w.rng.random() < 0.4:
            return False
        fields = {name for name, _ in params.fields}
        if params.theme == "Params":
            accel = f"{cfg}.gravity"
            forces = [n for n in w.values_of(VEC3) if w.deps(n) and "." not in n and n != local]
            if forces:
                accel = f"({accel} + {w.choose(forces)})"
            value = f"{local}.vel + {accel} * {cfg}.dt"
            w.emit(f"{local}.vel = {f'({value}) * {cfg}.damping' if 'damping' in fields else value}")
            w.emit(f"{local}.pos = {local}.pos + {local}.vel * {cfg}.dt")
            return True
        w.let(("pressure", "stress"), f"{cfg}.stiffness * ({local}.mass * {cfg}.density - 1.0)", FLOAT)
        return False

    def construct(self, s: _Struct) -> str:
        """``x = T()`` then field assignments (some fields keep their zero default)."""
        w = self.w
        name = w.let(("state", "record", "snapshot"), f"{s.type.annotation}()", s.type)
        self.fill(w, name, s, identity_share=0.3, skip_share=0.2)
        return name

    def store(self, local: str | None, built: str | None, stepped: str | None, neighbor: str | None) -> None:
        """Write results back: whole structs into a struct array, or single fields in place."""
        w, rng, item = self.w, self.w.rng, self.item
        if not item:
            if built and self.params and w.scope.get(built) == self.params.type and w.deps(built):
                out = w.output_array(self.params.type, ("records", "configs"))
                w.emit(f"{out}[i] = {built}")
                self.written.add(self.params.theme)
            return
        values = [v for v in (stepped, local, built) if v and w.scope.get(v) == item.type and w.deps(v)]
        in_place = neighbor is None  # when other threads read our element, results go to another array
        for n, value in enumerate(values[:2]):
            if n == 0 and in_place and rng.random() < 0.5:
                w.emit(f"{self.items}[i] = {value}")
            else:
                out = w.output_array(item.type, (f"out_{self.items}", f"new_{self.items}", f"next_{self.items}"))
                w.emit(f"{out}[i] = {value}")
            self.written.add(item.theme)
        if in_place and rng.random() < 0.6:
            fields = [f for f in item.fields if f[1] is not TRANSFORM]
            for name, t in w.pick(fields, rng.randint(1, min(2, len(fields)))):
                increment = t in (FLOAT, VEC3) and rng.random() < 0.4
                value = self.dependent(t, 1 if increment else None)
                w.emit(f"{self.items}[i].{name} {'+=' if increment else '='} {value}")
            self.written.add(item.theme)

    def read_the_rest(self, element: str | None) -> None:
        """Read the fields of input structs nothing has read yet, and the struct locals nothing stored."""
        w = self.w
        wanted: list[str] = []
        read = self.reads()
        for s, prefix in ((self.item, element), (self.params, self.cfg)):
            if s and prefix and s.theme not in self.written:
                wanted += [f"{prefix}.{name}" for name, _ in s.fields if name not in read]
        for s in (self.item, self.params):
            for value in w.pending(s.type) if s else ():
                exposed = [f"{value}.{name}" for name, _ in s.fields if f"{value}.{name}" in w.scope]
                wanted += [w.choose(exposed)] if exposed else []
        for name in wanted:
            t = FLOAT if w.can_reach(name, FLOAT, 2) else VEC3
            if name.rsplit(".", 1)[1] in self.reads() and name.split(".")[0] not in w.pending():
                continue  # an earlier read here took it
            w.let(w.names_for(t), w.expr(t, 2, consume=[name], operation=True), t)


@register_category("struct", groups={"arith", "vector", "cond"})
def struct(w: KernelWriter) -> None:
    """Structs: by-value struct params and struct arrays, field reads/writes, in-kernel construction, struct helpers."""
    _StructKernel(w).write()
