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
from .config import ValidationSettings
from .errors import FailureReason, SynthesisError
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


#: Recipes that build geometry (the argument is the object's ``wp.uint64`` id).
GEOMETRY = ("mesh", "bvh", "hash_grid")


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
    raise SynthesisError(f"unknown geometry recipe {kind!r}; expected one of {', '.join(GEOMETRY)}")


def make_arguments(
    specs: tuple[wi.ArgSpec, ...], seed: int, launch: dict | None = None, device: str = "cpu"
) -> tuple[list, list]:
    """Arguments for one launch of a kernel with arguments ``specs`` (``warp_internals.kernel_args``), drawn
    deterministically from ``seed``, plus objects to keep alive during the launch.

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
    for spec in specs:
        recipe = recipes.get(spec.name, {})
        if recipe.get("kind") in GEOMETRY:
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


def all_finite(args: list[Any]) -> bool:
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
    reason: FailureReason | None = None
    detail: str | None = None

    def fail(self, reason: FailureReason, detail: str | None = None) -> ValidationResult:
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
    """What a kernel does with its array arguments (from its Python), and what blocks a gradient check.

    Attributes:
        read, written: the array arguments it reads and writes.
        not_differentiable: why no gradient check applies, or None.
        order_dependent: results depend on the order of updates (atomics, tiles, in-place sums), so other
            devices are compared with a looser tolerance.
    """

    read: frozenset[str]
    written: frozenset[str]
    not_differentiable: str | None
    order_dependent: bool = False


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


def _wp_name(func: ast.expr) -> str | None:
    """``name`` for a ``wp.name`` expression."""
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "wp":
        return func.attr
    return None


def _field_writes(kernel: ast.FunctionDef, arrays: set[str], read: set[str], written: set[str]) -> set[int]:
    """Record ``arr[i].field = v`` as a write of ``arr`` (and ``+=`` as a read too); return the ids of those
    ``arr[i]`` subscripts, which load in the syntax tree but are not reads."""
    field_stores: set[int] = set()
    for node in ast.walk(kernel):
        if not isinstance(node, (ast.Assign, ast.AugAssign)):
            continue
        for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
            if not isinstance(target, ast.Attribute):
                continue
            while isinstance(target, ast.Attribute):
                target = target.value
            if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id in arrays:
                written.add(target.value.id)
                field_stores.add(id(target))
                if isinstance(node, ast.AugAssign):
                    read.add(target.value.id)
    return field_stores


def _array_accesses(kernel: ast.FunctionDef, arrays: set[str]) -> tuple[set[str], set[str], bool]:
    """(arrays read, arrays written, whether an array is handed to a ``@wp.func``)."""
    read: set[str] = set()
    written: set[str] = set()
    opaque = False
    field_stores = _field_writes(kernel, arrays, read, written)
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
            name = _wp_name(node.func)
            for position, arg in enumerate(node.args):
                if isinstance(arg, ast.Name) and arg.id in arrays:
                    if name is None:
                        opaque = True  # an array handed to a @wp.func: roles unknown
                    elif position == 0 and name.startswith(_WRITING_BUILTINS):
                        written.add(arg.id)
                    else:
                        read.add(arg.id)
    return read, written, opaque


def _module_features(tree: ast.Module) -> tuple[set[str], bool, bool]:
    """Over the whole source (helpers run inside the kernel's forward and adjoint): the ``wp.<name>``s
    used or passed by reference, whether a loop is dynamic, and whether results depend on update order."""
    used: set[str] = set()
    dynamic_loops = order_dependent = False
    for node in ast.walk(tree):
        if name := _wp_name(node):
            used.add(name)
            order_dependent |= name.startswith(("atomic_", "tile_"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "int":
            used.add("int")
        elif isinstance(node, (ast.While, ast.Break, ast.Continue)) or (
            isinstance(node, ast.For) and not _unrolled(node)
        ):
            dynamic_loops = True
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
            order_dependent = True
    return used, dynamic_loops, order_dependent


def array_roles(source: str, kernel_name: str, array_names: list[str]) -> ArrayRoles:
    """What the kernel ``kernel_name`` in ``source`` does with its arrays ``array_names``."""
    tree = ast.parse(source)
    kernel = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == kernel_name)
    read, written, opaque = _array_accesses(kernel, set(array_names))
    # an atomic whose returned (old) value is used: Warp's backward pass does not replay atomics
    statements = {id(node.value) for node in ast.walk(kernel) if isinstance(node, ast.Expr)}
    atomic_result_used = any(
        isinstance(node, ast.Call) and (_wp_name(node.func) or "").startswith("atomic_") and id(node) not in statements
        for node in ast.walk(kernel)
    )
    used, dynamic_loops, order_dependent = _module_features(tree)
    blocking = sorted(used & _NON_DIFFERENTIABLE)
    reason = None
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
    elif "rand_init" in used:
        reason = "random sampling"
    return ArrayRoles(frozenset(read), frozenset(written), reason, order_dependent)


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
        fields = [(a[n], b[n]) for n in a.dtype.names] if a.dtype.names else [(a, b)]
        for x, y in fields:
            diff = np.abs(x.astype(np.float64) - y.astype(np.float64))
            worst = max(worst, float(diff.max(initial=0.0)))
            if np.issubdtype(x.dtype, np.floating):
                agree &= bool((diff <= atol + rtol * np.abs(x)).all())
            else:
                agree &= not (x != y).any()
    return agree, worst


@dataclass(frozen=True)
class KernelUnderTest:
    """A compiled kernel with what every check needs, derived once: its argument specs and array roles."""

    kernel: Any
    specs: tuple[wi.ArgSpec, ...]
    roles: ArrayRoles
    seed: int
    launch_spec: dict | None

    @classmethod
    def of(cls, kernel: Any, source: str, kernel_name: str, seed: int, launch_spec: dict | None) -> KernelUnderTest:
        specs = wi.kernel_args(kernel)
        roles = array_roles(source, kernel_name, [s.name for s in specs if s.is_array])
        return cls(kernel, specs, roles, seed, launch_spec)

    def arguments(self, seed: int, device: str) -> tuple[list, list]:
        return make_arguments(self.specs, seed, self.launch_spec, device)

    def launch(self, args: list[Any], device: str) -> None:
        launch(self.kernel, args, self.launch_spec, device)

    def float_arrays(self, names: frozenset[str]) -> list[int]:
        """Positions of the floating-point array arguments among ``names``."""
        return [k for k, s in enumerate(self.specs) if s.is_array and s.name in names and s.layout.is_float]

    @property
    def differentiable(self) -> bool:
        roles = self.roles
        inputs, outputs = self.float_arrays(roles.read - roles.written), self.float_arrays(roles.written)
        return roles.not_differentiable is None and bool(inputs) and bool(outputs)


def _loss(args: list[Any], outputs: list[int], weights: list[np.ndarray]) -> float:
    return float(sum((args[k].numpy().astype(np.float64) * w).sum() for k, w in zip(outputs, weights, strict=True)))


class _GradientCheck:
    """The adjoint of one kernel against central differences of a random weighted sum of its outputs."""

    def __init__(self, under_test: KernelUnderTest):
        self.k = under_test
        self.rng = np.random.default_rng(under_test.seed ^ 0x5EED)
        self.inputs = under_test.float_arrays(under_test.roles.read - under_test.roles.written)
        self.outputs = under_test.float_arrays(under_test.roles.written)
        self.keep_alive: list[Any] = []  # geometry must outlive the launches
        self.weights: list[np.ndarray] = []

    def fresh(self, requires_grad: bool) -> list[Any]:
        args, self.keep_alive = self.k.arguments(self.k.seed, "cpu")
        for k in self.inputs + self.outputs:
            args[k].requires_grad = requires_grad
        return args

    def analytic(self) -> dict[int, np.ndarray]:
        """The adjoint launch's gradient of the loss for every input array."""
        args = self.fresh(True)
        self.weights = [self.rng.uniform(-1.0, 1.0, size=args[k].numpy().shape) for k in self.outputs]
        tape = wp.Tape()
        with tape:
            self.k.launch(args, "cpu")
        pairs = zip(self.outputs, self.weights, strict=True)
        tape.backward(grads={args[k]: wp.array(w, dtype=args[k].dtype, device="cpu") for k, w in pairs})
        analytic = {k: args[k].grad.numpy().copy() for k in self.inputs}
        tape.zero()
        return analytic

    def central_difference(self, k: int, flat_index: int, eps: float) -> float:
        values = []
        for sign in (1.0, -1.0):
            perturbed = self.fresh(False)
            data = perturbed[k].numpy()
            data.reshape(-1)[flat_index] += sign * eps
            perturbed[k] = wp.array(data, dtype=perturbed[k].dtype, device="cpu")
            self.k.launch(perturbed, "cpu")
            values.append(_loss(perturbed, self.outputs, self.weights))
        return (values[0] - values[1]) / (2 * eps)

    def run(self) -> tuple[bool | None, float | None]:
        analytic = self.analytic()
        worst, checked = 0.0, 0
        for _ in range(3 * GRAD_SAMPLES):  # an element where the loss is not smooth is skipped, not judged
            if checked == GRAD_SAMPLES:
                break
            k = self.inputs[int(self.rng.integers(len(self.inputs)))]
            flat_index = int(self.rng.integers(analytic[k].size))
            coarse = self.central_difference(k, flat_index, GRAD_EPS)
            fine = self.central_difference(k, flat_index, GRAD_EPS / 2)
            if abs(coarse - fine) > 0.1 * max(abs(coarse), abs(fine), 1e-1):
                continue  # a branch, kink or rounding step within eps: finite differences say nothing here
            checked += 1
            exact = float(analytic[k].reshape(-1)[flat_index])
            worst = max(worst, abs(exact - fine) / max(abs(exact), abs(fine), 1e-1))
        if checked == 0:
            return None, None  # inconclusive: not smooth at any sampled element
        return worst <= GRAD_TOLERANCE, worst


def gradient_check(under_test: KernelUnderTest) -> tuple[bool | None, float | None]:
    """The adjoint launch against central differences, on the CPU: (passed, max relative error).

    Each sampled input element is differenced with two step sizes; where they disagree the loss is not
    smooth there (a branch or kink within a step) and the element is skipped. (None, None) if every sampled
    element was skipped.
    """
    return _GradientCheck(under_test).run()


def _cpu_trials(k: KernelUnderTest, result: ValidationResult) -> list[list[np.ndarray]] | None:
    """Launch every trial on the CPU; the outputs per trial, or None (and ``result`` failed)."""
    outputs = []
    try:
        for trial in range(result.trials):
            args, _keep = k.arguments(k.seed + trial, "cpu")
            k.launch(args, "cpu")
            outputs.append(_outputs(args))
    except Exception as exc:  # noqa: BLE001 - a failed launch is a result
        result.launched_cpu = False
        result.fail(FailureReason.LAUNCH_ERROR, f"{type(exc).__name__}: {exc}")
        return None
    result.launched_cpu = True
    result.outputs_finite = all(_finite(values) for trial in outputs for values in trial)
    if not result.outputs_finite:
        result.fail(FailureReason.NON_FINITE_OUTPUT)
        return None
    return outputs


def _cuda_trials(k: KernelUnderTest, cpu_outputs: list[list[np.ndarray]], result: ValidationResult) -> bool:
    """Launch every trial on CUDA and compare with the CPU; False if the launch failed."""
    worst, agree = 0.0, True
    try:
        for trial, expected in enumerate(cpu_outputs):
            args, _keep = k.arguments(k.seed + trial, "cuda")
            k.launch(args, "cuda")
            ok, diff = compare_outputs(expected, _outputs(args), k.roles.order_dependent)
            agree &= ok
            worst = max(worst, diff)
    except Exception as exc:  # noqa: BLE001
        result.launched_cuda = False
        result.fail(FailureReason.CUDA_LAUNCH_ERROR, f"{type(exc).__name__}: {exc}")
        return False
    result.launched_cuda, result.cpu_cuda_agree, result.cpu_cuda_max_abs_diff = True, agree, worst
    if not agree:
        result.fail(FailureReason.CPU_CUDA_MISMATCH, f"max abs diff {worst:g}")
    return True


def _gradient(k: KernelUnderTest, result: ValidationResult) -> None:
    result.differentiable = k.differentiable
    if not result.differentiable:
        return
    try:
        result.grad_check, result.grad_max_rel_err = gradient_check(k)
    except Exception as exc:  # noqa: BLE001
        result.grad_check = False
        result.fail(FailureReason.GRAD_ERROR, f"{type(exc).__name__}: {exc}")
        return
    if result.grad_check is False:
        result.fail(FailureReason.GRAD_MISMATCH, f"max relative error {result.grad_max_rel_err:.3g}")


def validate_kernel(
    kernel: Any,
    source: str,
    kernel_name: str,
    seed: int,
    launch_spec: dict | None,
    settings: ValidationSettings = ValidationSettings(),  # noqa: B008 - frozen
) -> ValidationResult:
    """Every check for one compiled kernel: ``settings.trials`` input sets on the CPU (and on CUDA, compared
    with the CPU, when ``"cuda"`` is in ``settings.devices``), then a gradient check if the kernel is
    differentiable and ``settings.grad_check`` asks for one. A failed check is a result with a reason."""
    result = ValidationResult(trials=settings.trials)
    k = KernelUnderTest.of(kernel, source, kernel_name, seed, launch_spec)
    cpu_outputs = _cpu_trials(k, result)
    if cpu_outputs is None:
        return result
    if "cuda" in settings.devices and not _cuda_trials(k, cpu_outputs, result):
        return result
    if settings.grad_check:
        _gradient(k, result)
    return result
