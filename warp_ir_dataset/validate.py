"""Launch checks: deterministic random inputs from a kernel's signature, a CPU launch, finiteness.

Inputs follow the kernel's *launch spec* (written by the generator, stored with each record as JSON):
the launch dimensions, an optional tiled block size, and per-argument *recipes* that say how to fill an
argument when random values would not do (indices that must stay in range, meshes and other geometry).
Each check returns a :class:`LaunchResult`; a failure is a result with a ``reason``, never an exception.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class LaunchResult:
    launched: bool
    outputs_finite: bool | None
    reason: str | None = None  # "launch_error" or "non_finite_output" when something failed
    detail: str | None = None


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
    for a in args:
        if isinstance(a, wp.array):
            values = a.numpy()
            if values.dtype.names:  # struct arrays: check each float field
                if not all(
                    np.isfinite(values[f]).all()
                    for f in values.dtype.names
                    if np.issubdtype(values[f].dtype, np.floating)
                ):
                    return False
            elif np.issubdtype(values.dtype, np.floating) and not np.isfinite(values).all():
                return False
    return True


def launch_cpu(kernel: Any, seed: int, launch_spec: dict | None = None) -> LaunchResult:
    """Launch ``kernel`` once on the CPU and check that every float array is finite afterwards."""
    try:
        args, _keep_alive = make_arguments(kernel, seed, launch_spec, "cpu")
        launch(kernel, args, launch_spec, "cpu")
    except Exception as exc:  # noqa: BLE001 - a failed launch is a result
        return LaunchResult(False, None, "launch_error", f"{type(exc).__name__}: {exc}")
    finite = _all_finite(args)
    return LaunchResult(True, finite, None if finite else "non_finite_output")
