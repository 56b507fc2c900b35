"""Validation: deterministic inputs, CPU (and CUDA) launches over several trials, gradient checks.

Inputs follow the kernel's *launch spec* (written by the generator, stored with each record as JSON):
the launch dimensions, an optional tiled block size, and per-argument *recipes* that say how to fill an
argument when random values would not do (indices that must stay in range, meshes and other geometry).
``validate_kernel`` returns a :class:`ValidationResult`; a failed check is a result with a ``reason``,
never an exception.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import warp as wp

from . import warp_internals as wi
from .warp_internals import ValueLayout

#: Threads of a default (1-D) launch, and the length of its arrays.
LAUNCH_DIM = 64
DEFAULT_LAUNCH = {"dim": [LAUNCH_DIM], "tiled_block_dim": None, "args": {}}


def input_seed(record_id: str) -> int:
    return int(record_id[:16], 16)


def _numbers(layout: ValueLayout, shape: tuple[int, ...], recipe: dict, rng: np.random.Generator) -> np.ndarray:
    full = shape + layout.shape
    kind = recipe.get("kind", "uniform")
    if kind == "index":
        return rng.integers(0, int(recipe["high"]), size=full).astype(np.int64)
    if layout.is_int:
        low, high = recipe.get("low", 0), recipe.get("high", 16)
        return rng.integers(low, high, size=full).astype(np.int64)
    if kind == "cdf":  # non-decreasing values in (0, 1], ending at 1
        steps = rng.uniform(0.1, 1.0, size=full)
        cdf = np.cumsum(steps, axis=-1)
        return cdf / cdf[..., -1:]
    low, high = recipe.get("low", -1.0), recipe.get("high", 1.0)
    values = rng.uniform(low, high, size=full)
    if kind == "unit" and layout.shape:  # unit vectors / quaternions along the component axis
        values /= np.linalg.norm(values, axis=-1, keepdims=True)
    return values


def _value(layout: ValueLayout, recipe: dict, rng: np.random.Generator) -> Any:
    """One by-value argument (scalar, vector, matrix or struct)."""
    if layout.is_struct:
        instance = layout.dtype()
        for name, field in layout.fields:
            setattr(instance, name, _value(field, recipe.get("fields", {}).get(name, {}), rng))
        return instance
    numbers = _numbers(layout, (), recipe, rng)
    if layout.shape:
        return layout.dtype(*numbers.reshape(-1).tolist())
    return int(numbers) if layout.is_int else float(numbers)


def _array(spec: wi.ArgSpec, dims: list[int], recipe: dict, rng: np.random.Generator, device: str) -> Any:
    shape = tuple(recipe.get("shape") or (dims if spec.ndim == len(dims) else [dims[0]] + [4] * (spec.ndim - 1)))
    layout = spec.layout
    if layout.is_struct:
        count = math.prod(shape)
        items = [_value(layout, recipe, rng) for _ in range(count)]
        return wp.array(items, dtype=layout.dtype, device=device).reshape(shape)
    numbers = _numbers(layout, shape, recipe, rng)
    return wp.array(numbers, dtype=layout.dtype, device=device)


def _geometry(kind: str, rng: np.random.Generator, device: str) -> Any:
    """A small mesh, BVH or hash grid for geometry kernels; the caller keeps it alive during the launch."""
    if kind == "mesh":  # a jittered octahedron: closed, so inside/outside queries are meaningful
        points = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=np.float64)
        points += rng.uniform(-0.1, 0.1, size=points.shape)
        faces = [[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]]
        return wp.Mesh(
            points=wp.array(points, dtype=wp.vec3, device=device),
            indices=wp.array(np.array(faces, dtype=np.int32).reshape(-1), dtype=wp.int32, device=device),
            velocities=wp.array(rng.uniform(-1, 1, size=points.shape), dtype=wp.vec3, device=device),
        )
    if kind == "bvh":
        centers = rng.uniform(-1.0, 1.0, size=(LAUNCH_DIM, 3))
        half = rng.uniform(0.05, 0.3, size=(LAUNCH_DIM, 3))
        return wp.Bvh(
            wp.array(centers - half, dtype=wp.vec3, device=device),
            wp.array(centers + half, dtype=wp.vec3, device=device),
        )
    if kind == "hash_grid":
        grid = wp.HashGrid(8, 8, 8, device=device)
        points = wp.array(rng.uniform(-1.0, 1.0, size=(LAUNCH_DIM, 3)), dtype=wp.vec3, device=device)
        grid.build(points, 0.25)
        return grid
    raise ValueError(f"unknown geometry recipe {kind!r}; expected mesh, bvh or hash_grid")


def make_arguments(kernel: Any, seed: int, launch: dict | None = None, device: str = "cpu") -> tuple[list, list]:
    """Arguments for one launch of ``kernel`` drawn deterministically from ``seed``, plus objects to keep alive.

    Defaults: arrays get the launch's shape (a 1-D launch of ``LAUNCH_DIM``), floats are uniform in
    [-1, 1], integers in [0, 16). Recipes (``launch["args"][name]``) override: ``{"kind": "index", "high": n}``,
    ``{"low": a, "high": b}``, ``{"kind": "unit"}``, ``{"kind": "cdf"}``, ``{"shape": [...]}``, and
    ``{"kind": "mesh" | "bvh" | "hash_grid"}`` for ``wp.uint64`` ids of geometry built here.
    """
    launch = launch or DEFAULT_LAUNCH
    rng = np.random.default_rng(seed)
    dims = list(launch["dim"])
    recipes = launch.get("args", {})
    args: list[Any] = []
    keep_alive: list[Any] = []
    for spec in wi.kernel_args(kernel):
        recipe = recipes.get(spec.name, {})
        if recipe.get("kind") in ("mesh", "bvh", "hash_grid"):
            obj = _geometry(recipe["kind"], rng, device)
            keep_alive.append(obj)
            args.append(obj.id)
        elif spec.is_array:
            args.append(_array(spec, dims, recipe, rng, device))
        else:
            args.append(_value(spec.layout, recipe, rng))
    return args, keep_alive


def launch(kernel: Any, args: list[Any], launch_spec: dict | None, device: str) -> None:
    spec = launch_spec or DEFAULT_LAUNCH
    dim = tuple(spec["dim"])
    if spec.get("tiled_block_dim"):
        wp.launch_tiled(kernel, dim=dim, inputs=args, block_dim=spec["tiled_block_dim"], device=device)
    else:
        wp.launch(kernel, dim=dim, inputs=args, device=device)
    wp.synchronize_device(device)


def _all_finite(args: list[Any]) -> bool:
    return all(_finite(a.numpy()) for a in args if isinstance(a, wp.array))


def _finite(values: np.ndarray) -> bool:
    if values.dtype.names:  # struct arrays: each float field
        return all(_finite(values[name]) for name in values.dtype.names)
    return not np.issubdtype(values.dtype, np.floating) or bool(np.isfinite(values).all())


# ---------------------------------------------------------------------------------------------- results
@dataclass
class ValidationResult:
    """What was checked for one kernel; ``reason`` names the first failed check (``None``: all passed)."""

    trials: int = 0
    launched_cpu: bool | None = None
    outputs_finite: bool | None = None
    launched_cuda: bool | None = None
    cpu_cuda_agree: bool | None = None
    cpu_cuda_max_abs_diff: float | None = None
    differentiable: bool | None = None
    grad_check: bool | None = None
    grad_max_rel_err: float | None = None
    reason: str | None = None
    detail: str | None = None

    def fail(self, reason: str, detail: str | None = None) -> ValidationResult:
        if self.reason is None:
            self.reason, self.detail = reason, detail
        return self


# ---------------------------------------------------------------------------------------------- array roles
# Discrete, piecewise-constant or rounding operations; and (last two lines) CPU adjoints that disagree
# with finite differences in Warp 1.19, measured while writing the categories.
_NON_DIFFERENTIABLE = frozenset(
    """
    int cast int8 int16 int32 int64 uint8 uint16 uint32 uint64 float16
    floor ceil round rint trunc frac sign step mod floordiv
    bit_and bit_or bit_xor lshift rshift invert
    atomic_min atomic_max atomic_cas atomic_exch atomic_and atomic_or atomic_xor
    sample_cdf hash_grid_query hash_grid_query_next mesh_query_aabb bvh_query_aabb bvh_query_ray
    tile_sort tile_argmax tile_argmin
    tile_scan_inclusive tile_scan_exclusive tile_scan_max_inclusive tile_scan_min_inclusive
    tile_max tile_min tile_reduce tile_diag_add mesh_query_furthest_point_no_sign intersect_tri_tri
    """.split()
)


_WRITING_BUILTINS = ("atomic_", "tile_store", "tile_atomic", "tile_scatter")


@dataclass(frozen=True)
class ArrayRoles:
    """Which array arguments a kernel reads and writes (from its Python), and what blocks a gradient check."""

    read: frozenset[str]
    written: frozenset[str]
    not_differentiable: str | None  # why no gradient check applies, or None


def _unrolled(loop: ast.For) -> bool:
    """Warp unrolls ``for`` loops over a constant ``range`` of at most ``max_unroll`` (16) iterations."""
    call = loop.iter
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "range"):
        return False
    if not all(isinstance(a, ast.Constant) and isinstance(a.value, int) for a in call.args):
        return False
    bounds = [a.value for a in call.args]
    start, stop, step = (0, bounds[0], 1) if len(bounds) == 1 else (*bounds[:2], bounds[2] if len(bounds) > 2 else 1)
    return step != 0 and len(range(start, stop, step)) <= 16


def array_roles(source: str, kernel_name: str, array_names: list[str]) -> ArrayRoles:
    tree = ast.parse(source)
    kernel = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == kernel_name)
    arrays = set(array_names)
    read: set[str] = set()
    written: set[str] = set()
    opaque = False
    used_builtins = set()
    field_stores: set[int] = set()  # arr[i] in arr[i].field = v: a write of arr, though its subscript loads
    for node in ast.walk(kernel):
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if not isinstance(target, ast.Attribute):
                    continue
                while isinstance(target, ast.Attribute):
                    target = target.value
                if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                    if target.value.id in arrays:
                        written.add(target.value.id)
                        field_stores.add(id(target))
                        if isinstance(node, ast.AugAssign):
                            read.add(target.value.id)  # arr[i].field += v reads it too
    for node in ast.walk(kernel):
        if id(node) in field_stores:
            continue
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in arrays:
            (written if isinstance(node.ctx, ast.Store) else read).add(node.value.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript):
            target = node.target.value
            if isinstance(target, ast.Name) and target.id in arrays:
                written.add(target.id)
        elif isinstance(node, ast.Call):
            func = node.func
            is_wp = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "wp"
            name = func.attr if is_wp else None
            for position, arg in enumerate(node.args):
                if isinstance(arg, ast.Name) and arg.id in arrays:
                    if not is_wp:
                        opaque = True  # an array handed to a @wp.func: roles unknown
                    elif position == 0 and name and name.startswith(_WRITING_BUILTINS):
                        written.add(arg.id)
                    else:
                        read.add(arg.id)
    # an atomic whose returned (old) value is used: Warp's backward pass does not replay atomics
    statements = {id(node.value) for node in ast.walk(kernel) if isinstance(node, ast.Expr)}
    atomic_result_used = any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr.startswith("atomic_")
        and id(node) not in statements
        for node in ast.walk(kernel)
    )
    # helpers count too: they run inside this kernel's forward and adjoint
    dynamic_loops = False
    for node in ast.walk(tree):
        # wp.<name> called or passed by reference (wp.tile_map(wp.floor, t))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "wp":
            used_builtins.add(node.attr)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "int":
            used_builtins.add("int")
        elif isinstance(node, (ast.While, ast.Break, ast.Continue)):
            dynamic_loops = True
        elif isinstance(node, ast.For) and not _unrolled(node):
            dynamic_loops = True
    reason = None
    blocking = sorted(used_builtins & _NON_DIFFERENTIABLE)
    if opaque:
        reason = "arrays passed to helper functions"
    elif written & read:
        reason = f"updates arrays in place ({', '.join(sorted(written & read))})"
    elif blocking:
        reason = f"uses piecewise-constant or discrete operations ({', '.join(blocking)})"
    elif atomic_result_used:
        reason = "uses the value an atomic returns (the backward pass does not replay atomics)"
    elif dynamic_loops:
        reason = "dynamic loops (while/break/continue): Warp does not differentiate their mutated variables"
    elif "rand_init" in used_builtins:
        reason = "random sampling"
    return ArrayRoles(frozenset(read), frozenset(written), reason)


# ---------------------------------------------------------------------------------------------- checks
#: Gradient check: central differences on this many input elements, step, and pass threshold.
GRAD_SAMPLES = 8
GRAD_EPS = 1e-3
GRAD_TOLERANCE = 5e-2


def _outputs(args: list[Any]) -> list[np.ndarray]:
    return [a.numpy().copy() for a in args if isinstance(a, wp.array)]


def compare_outputs(cpu: list[np.ndarray], other: list[np.ndarray], loose: bool) -> tuple[bool, float]:
    """Do two devices' outputs agree? (agree, max abs diff). Floats: |a-b| <= atol + rtol*|a|; ints exactly.

    ``loose`` widens the float tolerance for kernels whose results depend on the order of atomic updates.
    """
    rtol, atol = (1e-3, 1e-3) if loose else (1e-4, 1e-5)
    agree = True
    worst = 0.0
    for a, b in zip(cpu, other, strict=True):
        if a.dtype.names:
            fields = [(a[n], b[n]) for n in a.dtype.names]
        else:
            fields = [(a, b)]
        for x, y in fields:
            if np.issubdtype(x.dtype, np.floating):
                diff = np.abs(x.astype(np.float64) - y.astype(np.float64))
                worst = max(worst, float(diff.max(initial=0.0)))
                agree &= bool((diff <= atol + rtol * np.abs(x)).all())
            else:
                mismatch = x != y
                if mismatch.any():
                    agree = False
                    worst = max(worst, float(np.abs(x.astype(np.float64) - y.astype(np.float64)).max()))
    return agree, worst


def _loss(args: list[Any], outputs: list[int], weights: list[np.ndarray]) -> float:
    return float(sum((args[k].numpy().astype(np.float64) * w).sum() for k, w in zip(outputs, weights, strict=True)))


def gradient_check(
    kernel: Any, seed: int, launch_spec: dict | None, roles: ArrayRoles
) -> tuple[bool | None, float | None]:
    """The adjoint launch against central differences, on the CPU: (passed, max relative error).

    Each sampled input element is differenced with two step sizes; where they disagree the loss is not
    smooth there (a branch or kink within a step) and the element is skipped. (None, None) if every sampled
    element was skipped.
    """
    specs = wi.kernel_args(kernel)
    rng = np.random.default_rng(seed ^ 0x5EED)
    inputs = [
        k
        for k, s in enumerate(specs)
        if s.is_array and s.name in roles.read - roles.written and not s.layout.is_int and not s.layout.is_struct
    ]
    outputs = [
        k
        for k, s in enumerate(specs)
        if s.is_array and s.name in roles.written and not s.layout.is_int and not s.layout.is_struct
    ]

    def fresh(requires_grad: bool) -> list[Any]:
        args, keep = make_arguments(kernel, seed, launch_spec, "cpu")
        fresh.keep = keep  # geometry must outlive the launch
        for k in inputs + outputs:
            args[k].requires_grad = requires_grad
        return args

    args = fresh(True)
    weights = [rng.uniform(-1.0, 1.0, size=args[k].numpy().shape) for k in outputs]
    tape = wp.Tape()
    with tape:
        launch(kernel, args, launch_spec, "cpu")
    tape.backward(
        grads={args[k]: wp.array(w, dtype=args[k].dtype, device="cpu") for k, w in zip(outputs, weights, strict=True)}
    )
    analytic = {k: args[k].grad.numpy().copy() for k in inputs}
    tape.zero()

    def central_difference(k: int, flat_index: int, eps: float) -> float:
        values = []
        for sign in (1.0, -1.0):
            perturbed = fresh(False)
            data = perturbed[k].numpy()
            data.reshape(-1)[flat_index] += sign * eps
            perturbed[k] = wp.array(data, dtype=perturbed[k].dtype, device="cpu")
            launch(kernel, perturbed, launch_spec, "cpu")
            values.append(_loss(perturbed, outputs, weights))
        return (values[0] - values[1]) / (2 * eps)

    worst = 0.0
    checked = 0
    for _ in range(3 * GRAD_SAMPLES):  # an element where the loss is not smooth is skipped, not judged
        if checked == GRAD_SAMPLES:
            break
        k = inputs[int(rng.integers(len(inputs)))]
        flat_index = int(rng.integers(analytic[k].size))
        coarse = central_difference(k, flat_index, GRAD_EPS)
        fine = central_difference(k, flat_index, GRAD_EPS / 2)
        if abs(coarse - fine) > 0.1 * max(abs(coarse), abs(fine), 1e-1):
            continue  # a branch, kink or rounding step within eps: finite differences say nothing here
        checked += 1
        exact = float(analytic[k].reshape(-1)[flat_index])
        worst = max(worst, abs(exact - fine) / max(abs(exact), abs(fine), 1e-1))
    if checked == 0:
        return None, None  # inconclusive: not smooth at any sampled element
    return worst <= GRAD_TOLERANCE, worst


def validate_kernel(
    kernel: Any,
    source: str,
    kernel_name: str,
    seed: int,
    launch_spec: dict | None,
    *,
    trials: int = 3,
    devices: tuple[str, ...] = ("cpu",),
    grad_check: bool = True,
) -> ValidationResult:
    """Every check for one compiled kernel: ``trials`` input sets on the CPU (and on CUDA, compared with the
    CPU, when ``"cuda"`` is in ``devices``), then a gradient check if the kernel is differentiable."""
    result = ValidationResult(trials=trials)
    cpu_outputs: list[list[np.ndarray]] = []
    try:
        for trial in range(trials):
            args, _keep = make_arguments(kernel, seed + trial, launch_spec, "cpu")
            launch(kernel, args, launch_spec, "cpu")
            cpu_outputs.append(_outputs(args))
    except Exception as exc:  # noqa: BLE001 - a failed launch is a result
        result.launched_cpu = False
        return result.fail("launch_error", f"{type(exc).__name__}: {exc}")
    result.launched_cpu = True
    result.outputs_finite = all(_finite(values) for outputs in cpu_outputs for values in outputs)
    if not result.outputs_finite:
        return result.fail("non_finite_output")

    if "cuda" in devices:
        loose = "atomic" in source or "+=" in source or "tile_" in source
        try:
            worst = 0.0
            agree = True
            for trial in range(trials):
                args, _keep = make_arguments(kernel, seed + trial, launch_spec, "cuda")
                launch(kernel, args, launch_spec, "cuda")
                ok, diff = compare_outputs(cpu_outputs[trial], _outputs(args), loose)
                agree &= ok
                worst = max(worst, diff)
            result.launched_cuda, result.cpu_cuda_agree, result.cpu_cuda_max_abs_diff = True, agree, worst
        except Exception as exc:  # noqa: BLE001
            result.launched_cuda = False
            return result.fail("cuda_launch_error", f"{type(exc).__name__}: {exc}")
        if not result.cpu_cuda_agree:
            result.fail("cpu_cuda_mismatch", f"max abs diff {worst:g}")

    if grad_check:
        specs = wi.kernel_args(kernel)
        roles = array_roles(source, kernel_name, [s.name for s in specs if s.is_array])
        has_float = {
            role: any(s.is_array and s.name in names and not s.layout.is_int and not s.layout.is_struct for s in specs)
            for role, names in (("in", roles.read - roles.written), ("out", roles.written))
        }
        result.differentiable = roles.not_differentiable is None and has_float["in"] and has_float["out"]
        if result.differentiable:
            try:
                result.grad_check, result.grad_max_rel_err = gradient_check(kernel, seed, launch_spec, roles)
            except Exception as exc:  # noqa: BLE001
                result.grad_check = False
                return result.fail("grad_error", f"{type(exc).__name__}: {exc}")
            if result.grad_check is False:
                result.fail("grad_mismatch", f"max relative error {result.grad_max_rel_err:.3g}")
    return result
