"""A harvested kernel's ``python_source``: the kernel with the ``@wp.func``s, ``@wp.struct``s, constants and
imports it uses, as one module a reader (or a model) can take in whole.

Self-contained means that the text defines or imports every name it uses (checked on its syntax tree), with
imports only of ``warp``, ``numpy``, ``math`` and ``typing``; the record's ``python_self_contained`` says so.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import sys
import textwrap
import types
from dataclasses import dataclass
from typing import Any

from .. import warp_internals as wi

#: Modules a self-contained source may import.
STANDARD_IMPORTS = ("warp", "numpy", "math", "typing")


@dataclass(frozen=True)
class AssembledSource:
    text: str
    self_contained: bool


def source_of(obj: Any) -> str | None:
    """The dedented source of a function or class, or ``None`` if Python cannot find it."""
    try:
        return textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError):
        return None


def assemble(found: wi.FoundKernel) -> AssembledSource:
    """The kernel of ``found`` and everything it uses, as one Python module."""
    functions, structs = wi.kernel_dependencies(found.kernel)
    kernel_text = source_of(found.func)
    if kernel_text is None:
        return AssembledSource("", False)
    contained = True
    bodies: list[str] = []
    for obj in [*structs, *functions]:
        text = source_of(obj)
        if text is None:
            contained = False
        elif text not in bodies:
            bodies.append(text)
    overload = _overload_line(found)
    if found.overload is not None and overload is None:
        contained = False
    construction = _construction(kernel_text, found)
    code = [*bodies, kernel_text, *([construction] if construction else []), *([overload] if overload else [])]
    namespaces = [_names_seen_by(obj) for obj in [found.func, *functions, *structs]]
    namespaces.append(_annotation_names(kernel_text, found))  # last: only names nothing else defines
    preamble, resolved = _preamble("\n\n".join(code), namespaces)
    text = "\n\n".join([preamble, *(part.strip("\n") + "\n" for part in code)]).strip("\n") + "\n"
    return AssembledSource(text, contained and resolved and not free_names(text))


def kernel_variable(found: wi.FoundKernel) -> str:
    """The name ``python_source`` gives the kernel: its function's, unless it was made with
    ``wp.Kernel(func=f, key=...)`` under another key (its entry points are named after the key)."""
    key = (found.generic or found.kernel).key
    name = found.func.__name__
    if key == name or key.endswith("__" + name) or not key.isidentifier():
        return name
    return key


def _construction(kernel_text: str, found: wi.FoundKernel) -> str | None:
    """``key = wp.Kernel(func=f, key="key")`` for a kernel made that way (its function is not decorated)."""
    variable = kernel_variable(found)
    if variable == found.func.__name__:
        return None
    return f'{variable} = wp.Kernel(func={found.func.__name__}, key="{variable}")\n'


def _overload_line(found: wi.FoundKernel) -> str | None:
    if found.overload is None:
        return None
    spelled = {name: wi.type_expression(t) for name, t in found.overload}
    if any(v is None for v in spelled.values()):
        return None
    arguments = ", ".join(f'"{name}": {expression}' for name, expression in spelled.items())
    return f"wp.overload({kernel_variable(found)}, {{{arguments}}})\n"


def _annotation_names(kernel_text: str, found: wi.FoundKernel) -> dict[str, Any]:
    """Names in the kernel's argument annotations, bound to the types Warp resolved for them: a factory's
    ``values: wp.array(dtype=dtype)`` gives ``dtype``, which no closure keeps (annotations are evaluated
    where the function is defined)."""
    try:
        definition = next(n for n in ast.parse(kernel_text).body if isinstance(n, ast.FunctionDef))
    except (SyntaxError, StopIteration):
        return {}
    types_by_arg = {arg.label: arg.type for arg in found.kernel.adj.args}
    bound: dict[str, Any] = {}
    for arg in definition.args.args:
        t, annotation = types_by_arg.get(arg.arg), arg.annotation
        if t is None or annotation is None:
            continue
        if isinstance(annotation, ast.Name):
            bound[annotation.id] = t
        elif isinstance(annotation, ast.Call):
            for keyword in annotation.keywords:
                if keyword.arg == "dtype" and isinstance(keyword.value, ast.Name) and hasattr(t, "dtype"):
                    bound[keyword.value.id] = t.dtype
    return bound


def _names_seen_by(obj: Any) -> dict[str, Any]:
    """The names a function (closure variables and globals) or a class (its module's globals) can read."""
    if isinstance(obj, type):
        module = sys.modules.get(obj.__module__)
        return dict(vars(module)) if module else {}
    try:
        closure = inspect.getclosurevars(obj)
    except (TypeError, ValueError):
        return dict(getattr(obj, "__globals__", {}))
    return {**getattr(obj, "__globals__", {}), **closure.nonlocals}


def _preamble(code: str, namespaces: list[dict[str, Any]]) -> tuple[str, bool]:
    """Imports and constants for the names ``code`` uses but does not define; and whether each one was
    resolved to something a self-contained source may hold."""
    imports = {"import warp as wp"}
    lines: list[str] = []
    resolved = True
    for name in sorted(free_names(code) - {"wp"}):
        value = next((ns[name] for ns in namespaces if name in ns), _MISSING)
        line = _definition(name, value)
        if line is None:
            resolved = False
        elif line.startswith(("import ", "from ")):
            imports.add(line)
            resolved &= line.split()[1].split(".")[0] in STANDARD_IMPORTS
        else:
            lines.append(line)
    return "\n".join(sorted(imports)) + ("\n\n" + "\n".join(lines) if lines else "") + "\n", resolved


_MISSING = object()


def _definition(name: str, value: Any) -> str | None:
    """A line that defines ``name`` as ``value``: an import, a constant or a Warp type; else ``None``."""
    if value is _MISSING:
        return None
    if isinstance(value, types.ModuleType):
        return f"import {value.__name__}" if value.__name__ == name else f"import {value.__name__} as {name}"
    if value is Any:
        return "from typing import Any"
    expression = wi.constant_expression(value)
    if expression is None and not isinstance(value, bool | int | float):
        expression = wi.type_expression(value)
    if expression is None and _is_attribute_of_warp(name, value):  # a Warp built-in read by a bare name
        expression = f"wp.{name}"
    return None if expression is None else f"{name} = {expression}"


def _is_attribute_of_warp(name: str, value: Any) -> bool:
    import warp

    try:
        return getattr(warp, name, _MISSING) is value
    except Exception:  # noqa: BLE001 - a lazy attribute that fails to load
        return False


def free_names(code: str) -> set[str]:
    """Names the module ``code`` reads but neither defines nor gets from Python's builtins."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return {"<syntax error>"}
    module_level = _defined_at_module_level(tree)
    free: set[str] = set()
    _Reads(module_level, free).visit(tree)
    return free - set(dir(builtins))


def _defined_at_module_level(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        else:
            names.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return names


class _Reads(ast.NodeVisitor):
    """Collects names read in a scope where nothing defines them (functions see their own locals)."""

    def __init__(self, defined: set[str], free: set[str]):
        self.defined = defined
        self.free = free

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load) and node.id not in self.defined:
            self.free.add(node.id)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        arguments = node.args
        for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
            if arg.annotation is not None:
                self.visit(arg.annotation)
        for default in [*arguments.defaults, *arguments.kw_defaults]:
            if default is not None:
                self.visit(default)
        if node.returns is not None:
            self.visit(node.returns)
        local = {arg.arg for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
        local |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
        for statement in node.body:
            local |= {n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            local |= {n.name for n in ast.walk(statement) if isinstance(n, ast.FunctionDef | ast.ClassDef)}
        inner = _Reads(self.defined | local, self.free)
        for statement in node.body:
            inner.visit(statement)

    visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for item in [*node.decorator_list, *node.bases]:
            self.visit(item)
        local = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        inner = _Reads(self.defined | local, self.free)
        for statement in node.body:
            inner.visit(statement)


def normalized(source: str) -> str:
    """The source without comments or formatting (``ast.unparse``): what exact deduplication compares."""
    try:
        return ast.unparse(ast.parse(source))
    except SyntaxError:
        return source
