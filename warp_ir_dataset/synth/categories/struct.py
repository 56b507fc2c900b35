"""Structs: ``@wp.struct`` types as kernel parameters, as array elements, built in kernels and in helpers.

A kernel defines one or two structs from a *theme* (a particle, a rigid body, a sample; simulation
parameters, a material) with fields of several types, then reads them field by field (from a by-value
parameter, a local copy of an array element, or the array element itself), writes fields back, builds a
struct inside the kernel (``s = T()`` then field assignments) and passes structs to and from
``@wp.func`` helpers (helpers that measure a struct, build one, or return an updated copy).
"""

from __future__ import annotations

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
)
from ..writer import KernelWriter

# ------------------------------------------------------------------------------------------ productions
# operations on the field types the shared table lacks (transforms, spatial vectors, doubles)
_EXTRA = (
    Production(TRANSFORM, "wp.transform({0}, {1})", (VEC3, QUAT), "struct", 1.0),
    Production(TRANSFORM, "wp.transformation({0}, {1})", (VEC3, QUAT), "struct", 0.4),
    Production(TRANSFORM, "wp.transform_multiply({0}, {1})", (TRANSFORM, TRANSFORM), "struct", 0.7),
    Production(TRANSFORM, "wp.transform_inverse({0})", (TRANSFORM,), "struct", 0.5),
    Production(VEC3, "wp.transform_point({0}, {1})", (TRANSFORM, VEC3), "struct", 0.8),
    Production(VEC3, "wp.transform_vector({0}, {1})", (TRANSFORM, VEC3), "struct", 0.6),
    Production(VEC3, "wp.transform_get_translation({0})", (TRANSFORM,), "struct", 0.5),
    Production(QUAT, "wp.transform_get_rotation({0})", (TRANSFORM,), "struct", 0.5),
    Production(VEC3, "wp.quat_rotate_inv({0}, {1})", (QUAT, VEC3), "struct", 0.6),
    Production(QUAT, "wp.quat_rpy({0}, {1}, {2})", (FLOAT, FLOAT, FLOAT), "struct", 0.4),
    Production(SPATIAL, "wp.spatial_vector({0}, {1})", (VEC3, VEC3), "struct", 1.0),
    Production(SPATIAL, "({0} + {1})", (SPATIAL, SPATIAL), "struct", 0.5),
    Production(SPATIAL, "({0} * {1})", (SPATIAL, FLOAT), "struct", 0.5),
    Production(SPATIAL, "wp.spatial_cross({0}, {1})", (SPATIAL, SPATIAL), "struct", 0.4),
    Production(VEC3, "wp.spatial_top({0})", (SPATIAL,), "struct", 0.5),
    Production(VEC3, "wp.spatial_bottom({0})", (SPATIAL,), "struct", 0.5),
    Production(VEC3, "wp.velocity_at_point({0}, {1})", (SPATIAL, VEC3), "struct", 0.5),
    Production(FLOAT, "wp.spatial_dot({0}, {1})", (SPATIAL, SPATIAL), "struct", 0.4),
    Production(FLOAT64, "wp.float64({0})", (FLOAT,), "struct", 1.0),
    Production(FLOAT64, "({0} + {1})", (FLOAT64, FLOAT64), "struct", 1.0),
    Production(FLOAT64, "({0} * wp.float64({1}))", (FLOAT64, FLOAT), "struct", 0.5),
    Production(FLOAT, "float({0})", (FLOAT64,), "struct", 0.5),
    Production(VEC3, "wp.get_diag({0})", (MAT33,), "struct", 0.4),
    Production(MAT33, "wp.matrix_from_cols({0}, {1}, {2})", (VEC3, VEC3, VEC3), "struct", 0.3),
    Production(MAT33, "wp.matrix_from_rows({0}, {1}, {2})", (VEC3, VEC3, VEC3), "struct", 0.3),
    Production(VEC3, "({0} / (1.0 + wp.length({1})))", (VEC3, VEC3), "struct", 0.4),
    Production(INT, "({0} | (1 << ({1} & 7)))", (INT, INT), "struct", 0.4),
    Production(FLOAT, "wp.length({0})", (VEC2,), "struct", 0.4),
    Production(FLOAT, "wp.dot({0}, {1})", (VEC4, VEC4), "struct", 0.3),
)

# ------------------------------------------------------------------------------------------ themes
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
_LOCAL_NAMES = {"Particle": "p", "Body": "body", "Sample": "smp"}


class _Struct:
    """One struct type of this kernel: its WarpType, fields and validation recipe."""

    def __init__(self, w: KernelWriter, theme: str, spec: tuple[tuple[str, WarpType, bool], ...]):
        rng = w.rng
        optional = [f for f in spec if not f[2]]
        extra = rng.sample(optional, rng.randint(min(1, len(optional)), min(len(optional), 1 + w.level)))
        chosen = set(extra)
        self.fields = [(name, t) for name, t, required in spec if required or (name, t, required) in chosen]
        self.theme = theme
        self.type = w.add_struct(self.fields, suffix=theme)
        self.fields_recipe: dict[str, dict] = {}
        for name, t in self.fields:
            if t in (QUAT, TRANSFORM):
                self.fields_recipe[name] = {"kind": "unit"}
            elif t is INT:
                self.fields_recipe[name] = {"low": 0, "high": 8}

    @property
    def recipe(self) -> dict | None:
        return {"fields": self.fields_recipe} if self.fields_recipe else None

    def typed(self, prefix: str) -> dict[str, WarpType]:
        """Field accesses on ``prefix`` as expression variables."""
        return {f"{prefix}.{name}": t for name, t in self.fields}


class _StructKernel:
    def __init__(self, w: KernelWriter):
        self.w = w
        self.rng = w.rng
        self.item: _Struct | None = None
        self.params: _Struct | None = None
        self.items_name = ""
        self.params_name = ""
        self._taken: set[str] = set()

    def unique(self, base: str) -> str:
        name, n = base, 1
        while name in self._taken:
            n += 1
            name = f"{base}{n}"
        self._taken.add(name)
        return name

    def local(self, base: str, t: WarpType, value: str) -> str:
        name = self.unique(base)
        self.w.emit(f"{name} = {value}")
        self.w.define(name, t)
        return name

    def expose(self, prefix: str, s: _Struct) -> None:
        """Make ``prefix.field`` readable by later expressions."""
        for name, t in s.typed(prefix).items():
            self.w.define(name, t)

    def value(self, t: WarpType, scope: dict[str, WarpType], depth: int | None = None, reads: str = "") -> str:
        """An expression of ``t`` over ``scope``; with ``reads``, one that mentions it (a few tries)."""
        depth = max(1, self.w.limits.depth - 1) if depth is None else depth
        value = self.w.gen.expr(t, depth, scope, leaf_bias=0.15)
        for _ in range(4):
            if not reads or reads in value:
                break
            value = self.w.gen.expr(t, depth, scope, leaf_bias=0.15)
        return value

    def struct_params(self, s: _Struct, with_cfg: bool) -> tuple[list[tuple[str, _Struct]], dict[str, WarpType]]:
        params = [(s.theme[0].lower(), s)]
        if with_cfg and self.params and self.params is not s:
            params.append(("cfg", self.params))
        scope: dict[str, WarpType] = {}
        for pname, ps in params:
            scope.update(ps.typed(pname))
        return params, scope

    # ------------------------------------------------------------------ helpers
    def helper_measure(self, s: _Struct) -> tuple[str, bool]:
        """``@wp.func f(x: T[, cfg: P]) -> float`` reading the struct's fields; returns (name, takes cfg)."""
        w, rng = self.w, self.rng
        name = self.unique(f"{w.name}_{rng.choice(('energy', 'measure', 'score', 'weight_of'))}")
        params, scope = self.struct_params(s, rng.random() < 0.5)
        signature = ", ".join(f"{p}: {ps.type.annotation}" for p, ps in params)
        lines = ["@wp.func", f"def {name}({signature}) -> float:"]
        for n in range(rng.randint(0, 1 + w.level // 2)):
            t = rng.choice((FLOAT, FLOAT, VEC3))
            lines.append(f"    h{n} = {self.value(t, scope)}")
            scope[f"h{n}"] = t
        if rng.random() < 0.4:
            lines.append(f"    if {self.value(BOOL, scope, 1)}:")
            lines.append(f"        return {self.value(FLOAT, scope, 1)}")
        reads = "cfg." if len(params) > 1 else ""
        lines.append(f"    return {self.value(FLOAT, scope, w.limits.depth, reads=reads)}")
        w.helper_sources.append("\n".join(lines))
        return name, len(params) > 1

    def helper_make(self, s: _Struct) -> tuple[str, tuple[WarpType, ...]]:
        """``@wp.func make(a0: float, a1: wp.vec3) -> T`` building a struct field by field."""
        w, rng = self.w, self.rng
        name = self.unique(f"{w.name}_make_{s.theme.lower()}")
        arg_types = tuple(rng.choice((FLOAT, VEC3, FLOAT, INT)) for _ in range(rng.randint(1, 3)))
        scope = {f"a{n}": t for n, t in enumerate(arg_types)}
        signature = ", ".join(f"{a}: {t.annotation}" for a, t in scope.items())
        ret = f" -> {s.type.annotation}" if rng.random() < 0.6 else ""
        lines = ["@wp.func", f"def {name}({signature}){ret}:", f"    r = {s.type.annotation}()"]
        unread = list(scope)  # each argument feeds at least one field where possible
        for field, t in s.fields:
            if t.name in _IDENTITY and rng.random() < 0.25:
                lines.append(f"    r.{field} = {_IDENTITY[t.name]}")
            elif rng.random() < 0.85:
                value = self.value(t, scope, reads=unread[0] if unread else "")
                unread = [a for a in unread if a not in value]
                lines.append(f"    r.{field} = {value}")
                scope[f"r.{field}"] = t
        lines.append("    return r")
        w.helper_sources.append("\n".join(lines))
        return name, arg_types

    def helper_update(self, s: _Struct) -> tuple[str, bool]:
        """``@wp.func step(x: T[, cfg: P]) -> T``: an updated copy (a new struct, or the modified argument)."""
        w, rng = self.w, self.rng
        name = self.unique(f"{w.name}_{rng.choice(('step', 'advance', 'update', 'relax'))}")
        params, scope = self.struct_params(s, rng.random() < 0.7)
        arg = params[0][0]
        signature = ", ".join(f"{p}: {ps.type.annotation}" for p, ps in params)
        lines = ["@wp.func", f"def {name}({signature}) -> {s.type.annotation}:"]
        fresh = rng.random() < 0.6
        target = "r" if fresh else arg
        if fresh:
            lines.append(f"    r = {s.type.annotation}()")
        changed = set(rng.sample(range(len(s.fields)), rng.randint(1, len(s.fields))))
        for index, (field, t) in enumerate(s.fields):
            if index in changed:
                lines.append(f"    {target}.{field} = {self.value(t, scope)}")
            elif fresh:
                lines.append(f"    r.{field} = {arg}.{field}")
        lines.append(f"    return {target}")
        w.helper_sources.append("\n".join(lines))
        return name, len(params) > 1

    # ------------------------------------------------------------------ kernel body
    def declare(self) -> None:
        w, rng = self.w, self.rng
        use_items = w.level >= 2 or rng.random() < 0.6
        if use_items:
            theme = rng.choice(sorted(_ITEM_THEMES))
            self.items_name, spec = _ITEM_THEMES[theme]
            self.item = _Struct(w, theme, spec)
        if not use_items or rng.random() < 0.6:
            theme = rng.choice(sorted(_PARAM_THEMES))
            self.params_name, spec = _PARAM_THEMES[theme]
            self.params = _Struct(w, theme, spec)
        for _ in range(rng.randint(0, 1 + w.level // 3)):
            w.input_array(rng.choice((FLOAT, FLOAT, VEC3)))
        if self.item:
            w.input_array(self.item.type, load=False, name=self.items_name, recipe=self.item.recipe)
        if self.params:
            w.param(self.params.type, name=self.params_name, recipe=self.params.recipe)
            self.expose(self.params_name, self.params)

    def write(self) -> None:
        w, rng = self.w, self.rng
        level = w.level
        for prod in _EXTRA:
            w.gen.add(prod)
        self.declare()
        item, params = self.item, self.params

        # helpers first, so that the body can call them
        kinds = rng.sample(("measure", "update", "make"), {1: 0, 2: 1, 3: 1, 4: 2, 5: 3}[level])
        measure = update = make = None
        subject = item or params
        if "measure" in kinds:
            measure = self.helper_measure(subject)
        if "update" in kinds and item:
            update = self.helper_update(item)
        if "make" in kinds:
            make = self.helper_make(subject)

        # the thread's element: a local copy, or the array element's fields in place
        element = local = neighbor = None
        if item:
            if rng.random() < 0.7:
                element = local = self.local(_LOCAL_NAMES[item.theme], item.type, f"{self.items_name}[i]")
            else:
                element = f"{self.items_name}[i]"
            self.expose(element, item)
            if level >= 3 and rng.random() < 0.4:
                other = f"{self.items_name}[(i + {rng.randint(1, 5)}) % {self.items_name}.shape[0]]"
                neighbor = self.local("other", item.type, other)
                self.expose(neighbor, item)
        subject_value = element if item else self.params_name

        for _ in range(rng.randint(1, max(1, w.limits.statements // 2))):
            w.assign(rng.choice((FLOAT, FLOAT, VEC3)))

        results: list[str] = []
        if measure:
            fn, takes_cfg = measure
            cfg = f", {self.params_name}" if takes_cfg else ""
            results.append(w.assign_value(f"{fn}({subject_value}{cfg})", FLOAT))
            if neighbor:
                results.append(w.assign_value(f"{fn}({neighbor}{cfg})", FLOAT))

        built = None
        if make:
            fn, arg_types = make
            built = self.local("made", subject.type, f"{fn}({', '.join(w.expr(t, 1) for t in arg_types)})")
            self.expose(built, subject)
        elif item and rng.random() < 0.6:
            built = self.construct(item)
        elif params and rng.random() < 0.5:
            built = self.construct(params)

        stepped = None
        if update:
            fn, takes_cfg = update
            cfg = f", {self.params_name}" if takes_cfg else ""
            stepped = self.local("next_state", item.type, f"{fn}({element}{cfg})")
            self.expose(stepped, item)

        if local:  # field updates on the local copy, some conditional
            fields = [f for f in item.fields if f[1] is not TRANSFORM]
            for field, t in rng.sample(fields, rng.randint(1, min(len(fields), 1 + level // 2))):
                if level >= 3 and rng.random() < 0.3:
                    with w.block(f"if {w.expr(BOOL, 2)}"):
                        w.emit(f"{local}.{field} = {w.expr(t)}")
                else:
                    w.emit(f"{local}.{field} = {w.expr(t)}")

        self.store(local, built, stepped, neighbor)
        out = w.output_array(FLOAT)
        prefix = f"{built}." if built and rng.random() < 0.5 else f"{element or self.params_name}."
        final = self.value(FLOAT, w.scope, w.limits.depth, reads=prefix)
        w.emit(f"{out}[i] = {' + '.join([*results, final])}")

    def construct(self, s: _Struct) -> str:
        """``x = T()`` then field assignments (some fields keep their zero default)."""
        w, rng = self.w, self.rng
        name = self.local(rng.choice(("acc", "rec", "state", "tmp")), s.type, f"{s.type.annotation}()")
        for field, t in s.fields:
            if t.name in _IDENTITY and rng.random() < 0.3:
                w.emit(f"{name}.{field} = {_IDENTITY[t.name]}")
                w.define(f"{name}.{field}", t)
            elif rng.random() < 0.8:
                w.emit(f"{name}.{field} = {w.expr(t)}")
                w.define(f"{name}.{field}", t)
        return name

    def store(self, local: str | None, built: str | None, stepped: str | None, neighbor: str | None) -> None:
        """Write results back: whole structs into a struct array, or single fields in place."""
        w, rng, item = self.w, self.rng, self.item
        if not item:
            if built and w.scope.get(built) == self.params.type:
                out = w.output_array(self.params.type, name="records")
                w.emit(f"{out}[i] = {built}")
            return
        values = [v for v in (stepped, local, built) if v and w.scope.get(v) == item.type]
        in_place = neighbor is None  # when other threads read our element, results go to another array
        for n, value in enumerate(values[:2]):
            if n == 0 and in_place and rng.random() < 0.5:
                w.emit(f"{self.items_name}[i] = {value}")
            else:
                out = w.output_array(item.type, name=self.unique(f"out_{self.items_name}"))
                w.emit(f"{out}[i] = {value}")
        if in_place and rng.random() < 0.6:
            fields = [f for f in item.fields if f[1] is not TRANSFORM]
            for field, t in rng.sample(fields, rng.randint(1, min(2, len(fields)))):
                if t in (FLOAT, VEC3) and rng.random() < 0.4:
                    w.emit(f"{self.items_name}[i].{field} += {w.expr(t, 1)}")
                else:
                    w.emit(f"{self.items_name}[i].{field} = {w.expr(t)}")


@register_category("struct", groups={"arith", "vector", "cond"})
def struct(w: KernelWriter) -> None:
    """Structs: by-value struct params and struct arrays, field reads/writes, in-kernel construction, struct helpers."""
    _StructKernel(w).write()
