"""The process that imports one module and turns its kernels into records (``python -m
warp_ir_dataset.harvest.worker``, one fresh interpreter per module).

A fresh interpreter per module keeps user code away from the caller (an import that raises, exits, hangs
or crashes costs that module only) and makes the IR independent of what else was imported: Warp names
helper functions from a process-wide counter, which here only this module's own imports advance.

Protocol: the task, one JSON object, on stdin; answers, one JSON object per line, on the original stdout
(anything the module prints goes to stderr): ``{"imported": true}`` or ``{"skipped": reason, "detail": ...}``;
``{"generic_without_overloads": origin}``; ``{"failed": reason, "origin": ..., "detail": ...}`` per kernel
that cannot be built; ``{"record": {...}}`` per kernel; ``{"launching": i}`` then ``{"launched": i, ...}``
per launch tried; ``{"done": true}``.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import sys
from typing import IO, Any

from ..errors import FailureReason, KernelBuildError


class _Answers:
    def __init__(self, stream: IO[str]):
        self.stream = stream

    def send(self, **message: Any) -> None:
        self.stream.write(json.dumps(message) + "\n")
        self.stream.flush()


def owner(module_name: str, func_module: str, targets: set[str]) -> str | None:
    """Which target module a kernel belongs to, so that each kernel is harvested by one worker only: its Warp
    module, else its function's module (``warp._src.x`` counts as ``warp.x``), else the longest target that
    contains it; ``None`` for a kernel of code outside the targets (a dependency the module imported)."""
    public = func_module.replace("._src", "")
    for candidate in (module_name, func_module, public):
        if candidate in targets:
            return candidate
    containing = [t for t in targets if module_name.startswith(t + ".") or public.startswith(t + ".")]
    return max(containing, key=len) if containing else None


def _import(task: dict[str, Any]) -> Any:
    name, path = task["module"], task.get("path")
    if path:
        sys.path.insert(0, path)
    return importlib.import_module(name)


def harvest(task: dict[str, Any], answers: _Answers) -> None:
    from .. import warp_internals as wi

    wi.init_warp()
    before = set(wi.registered_kernels())
    try:
        module = _import(task)
    except SystemExit as exc:
        answers.send(skipped=FailureReason.IMPORT_EXIT, detail=f"sys.exit({exc.code!r})")
        return
    except BaseException as exc:  # noqa: BLE001 - any failure to import is a skipped module
        answers.send(skipped=FailureReason.IMPORT_ERROR, detail=f"{type(exc).__name__}: {exc}"[:2000])
        return
    answers.send(imported=True)
    targets = set(task["targets"])
    found: list[wi.FoundKernel] = []
    for kernel in _new_kernels(module, before):
        if owner(kernel.module.name, kernel.func.__module__, targets) != task["module"]:
            continue
        concrete = wi.concrete_kernels(kernel)
        if not concrete:
            answers.send(generic_without_overloads=wi.FoundKernel(kernel).origin)
        found += concrete
    built = [_record(item, task, answers) for item in found]
    items = [(item, record) for item, record in zip(found, built, strict=True) if record is not None]
    units = _compile_units(items)
    for unit in units:
        _compile(unit, task, answers)
    for i, (_, record) in enumerate(items):
        if record["compiled"] is not False:
            answers.send(record=record, n=i)
    if not task.get("launch", True):
        return
    numbers = {id(record): i for i, (_, record) in enumerate(items)}
    for unit in units:
        compiled = [(item, record) for item, record in unit if record["compiled"]]
        if not compiled or not _install(compiled, task):
            continue
        for item, record in compiled:
            answers.send(launching=numbers[id(record)])
            answers.send(launched=numbers[id(record)], **_launch(item, record))


def _new_kernels(module: Any, before: set) -> list[Any]:
    """Kernels the import made: new in Warp's registry, plus kernels bound to names in the module or its
    classes (a factory called twice makes two kernels with one key; the registry keeps only the last)."""
    from .. import warp_internals as wi

    kernels = [k for key, k in sorted(wi.registered_kernels().items()) if key not in before]
    seen = {id(k) for k in kernels}
    namespaces = [vars(module)] + [vars(v) for v in vars(module).values() if isinstance(v, type)]
    for namespace in namespaces:
        for name in sorted(namespace):
            value = namespace[name]
            if wi.is_kernel(value) and id(value) not in seen and value.func.__module__ == module.__name__:
                seen.add(id(value))
                kernels.append(value)
    return kernels


def _compile_units(items: list[tuple[Any, dict[str, Any]]]) -> list[list[tuple[Any, dict[str, Any]]]]:
    """The kernels grouped so that each group fits in its Warp module at once: one module per group, no two
    kernels (or generic kernels) sharing a key."""
    units: list[dict[tuple[str, str], list[tuple[Any, dict[str, Any]]]]] = []
    for item, record in items:
        owner_kernel = item.generic or item.kernel
        key = (item.kernel.module.name, _key_of(item))
        for unit in units:
            members = unit.get(key)
            if members is None or (members[0][0].generic or members[0][0].kernel) is owner_kernel:
                unit.setdefault(key, []).append((item, record))
                break
        else:
            units.append({key: [(item, record)]})
    return [[member for members in unit.values() for member in members] for unit in units]


def _install(unit: list[tuple[Any, dict[str, Any]]], task: dict[str, Any]) -> bool:
    """Make each module of ``unit`` hold exactly the unit's kernels and load it (from the kernel cache: the
    unit was compiled before); False if that fails."""
    from .. import warp_internals as wi

    modules: dict[str, Any] = {}
    for item, _ in unit:
        module = item.kernel.module
        if module.name not in modules:
            modules[module.name] = module
            module.kernels.clear()
        module.kernels[_key_of(item)] = item.generic or item.kernel
    try:
        for module in modules.values():
            module.mark_modified()
            wi.compile_cpu(module, task.get("cpu_optimization_level", 0))
    except Exception:  # noqa: BLE001
        return False
    return True


def portable(code: str) -> str:
    """IR with the import roots of this machine (``sys.path`` folders) cut from the file paths Warp echoes
    for helper functions: ``/venv/.../site-packages/newton/x.py:12`` becomes ``newton/x.py:12``."""
    roots = sorted({os.path.abspath(p) for p in sys.path if len(p) > 1 and os.path.isdir(p)}, key=len, reverse=True)
    for root in roots:
        code = code.replace(root.rstrip(os.sep) + os.sep, "")
    return code


def _key_of(item: Any) -> str:
    """The key of the kernel (or generic kernel) in its Warp module."""
    return (item.generic or item.kernel).key


def _record(item: Any, task: dict[str, Any], answers: _Answers) -> dict[str, Any] | None:
    from .. import warp_internals as wi
    from .source import assemble, kernel_variable

    try:
        code = wi.kernel_code(item.kernel)
    except Exception as exc:  # noqa: BLE001 - a kernel Warp cannot generate code for is counted, not fatal
        answers.send(failed=FailureReason.CODEGEN_ERROR, origin=item.origin, detail=f"{type(exc).__name__}: {exc}")
        return None
    try:
        source = assemble(item)
    except Exception as exc:  # noqa: BLE001
        answers.send(failed=FailureReason.LOAD_ERROR, origin=item.origin, detail=f"{type(exc).__name__}: {exc}")
        return None
    return {
        "origin": item.origin,
        "overload": item.overload is not None,
        "module": item.module_name,
        "func_module": item.func.__module__,
        "kernel_name": kernel_variable(item),
        "python_source": source.text,
        "python_self_contained": source.self_contained,
        "cpp_forward": portable(code.cpp_forward),
        "cpp_backward": portable(code.cpp_backward),
        "cuda_forward": portable(code.cuda_forward),
        "cuda_backward": portable(code.cuda_backward),
        "symbol": code.symbol,
        "ptx": None,
        "ptx_arch": None,
        "compiled": None,
        "launched_cpu": None,
        "outputs_finite": None,
        "validation_trials": 0,
        "warp_version": wi.warp_version(),
    }


def _compile(items: list[tuple[Any, dict[str, Any]]], task: dict[str, Any], answers: _Answers) -> None:
    """Compile each Warp module holding these kernels once for the CPU (kernels that fail are found and
    dropped) and, with ``include_ptx``, to PTX."""
    from .. import warp_internals as wi
    from ..ptx import kernel_ptx

    modules: dict[str, Any] = {}
    for item, _ in items:  # each module holds exactly this unit's kernels
        module = item.kernel.module
        if module.name not in modules:
            modules[module.name] = module
            module.kernels.clear()
        module.kernels[_key_of(item)] = item.generic or item.kernel
    failures: dict[tuple[str, str], KernelBuildError] = {}
    module_ptx: dict[str, str | None] = {}
    for name, module in sorted(modules.items()):
        try:
            for key, exc in wi.compile_kernels(module, task.get("cpu_optimization_level", 0)).items():
                failures[(name, key)] = exc
        except Exception as exc:  # noqa: BLE001 - the module's kernels all count as failed
            error = (
                exc
                if isinstance(exc, KernelBuildError)
                else KernelBuildError(FailureReason.CPU_COMPILE_ERROR, str(exc))
            )
            failures.update({(name, key): error for key in module.kernels})
        if task.get("include_ptx"):
            out = wi.scratch_dir("harvest_ptx_")
            try:
                module_ptx[name] = wi.compile_ptx(module, task.get("ptx_arch", 90), out)
            except KernelBuildError:
                module_ptx[name] = None
            finally:
                shutil.rmtree(out, ignore_errors=True)
    for item, record in items:
        failure = failures.get((item.kernel.module.name, _key_of(item)))
        record["compiled"] = failure is None
        if failure is not None:
            answers.send(failed=failure.reason, origin=record["origin"], detail=str(failure)[:2000])
        elif task.get("include_ptx"):
            ptx = module_ptx.get(item.kernel.module.name)
            record["ptx"] = kernel_ptx(ptx, record["symbol"]) if ptx else None
            record["ptx_arch"] = f"sm_{task.get('ptx_arch', 90)}"


def _launch(item: Any, record: dict[str, Any]) -> dict[str, Any]:
    """Try one CPU launch on synthesized inputs; ``ok`` is ``None`` when no inputs can be made (object ids,
    arrays of unusual kinds), so nothing was tried."""
    from .. import validate
    from .. import warp_internals as wi

    try:
        specs = wi.kernel_args(item.kernel)
    except Exception:  # noqa: BLE001 - an argument type validation cannot build
        return {"ok": None}
    if any(not s.is_array and not s.layout.is_struct and s.layout.is_unsigned for s in specs):
        return {"ok": None}  # a wp.uint64 argument is an object id (mesh, BVH, volume): random ids would crash
    seed = int(hashlib.blake2b(record["origin"].encode(), digest_size=8).hexdigest(), 16)
    try:
        args, keep_alive = validate.make_arguments(specs, seed)
        validate.launch(item.kernel, args, None, "cpu")
        return {"ok": True, "finite": validate.all_finite(args)}
    except Exception as exc:  # noqa: BLE001 - a kernel that rejects made-up inputs
        return {"ok": False, "detail": f"{type(exc).__name__}: {exc}"[:500]}


def main() -> None:
    answers = _Answers(os.fdopen(os.dup(sys.stdout.fileno()), "w"))
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # the module's prints go to stderr
    task = json.loads(sys.stdin.readline())
    harvest(task, answers)
    answers.send(done=True)
    sys.stdout.flush()
    os._exit(0)  # skip the module's exit handlers and threads: its records are sent


if __name__ == "__main__":
    main()
