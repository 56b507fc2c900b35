"""Launch checks: deterministic random inputs from a kernel's signature, a CPU launch, finiteness.

Each check returns a :class:`LaunchResult`; a failure is a result with a ``reason``, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import warp as wp

from . import warp_internals as wi

#: Threads per launch, and the length of every array argument.
LAUNCH_DIM = 64


@dataclass(frozen=True)
class LaunchResult:
    launched: bool
    outputs_finite: bool | None
    reason: str | None = None  # "launch_error" or "non_finite_output" when something failed
    detail: str | None = None


def input_seed(record_id: str) -> int:
    return int(record_id[:16], 16)


def make_arguments(kernel: Any, seed: int, device: str = "cpu") -> list[Any]:
    """Arguments for one launch of ``kernel``, drawn deterministically from ``seed``.

    Arrays get ``LAUNCH_DIM`` elements per dimension's first axis; floats are uniform in [-1, 1], integers
    in [0, 16). By-value arguments get one such value.
    """
    rng = np.random.default_rng(seed)
    args: list[Any] = []
    for spec in wi.kernel_args(kernel):
        shape = (LAUNCH_DIM,) + (4,) * (spec.ndim - 1) if spec.is_array else ()
        component_shape = tuple(getattr(spec.dtype, "_shape_", ())) if spec.length > 1 else ()
        full = shape + component_shape
        if spec.is_int:
            values = rng.integers(0, 16, size=full).astype(np.int32)
        else:
            values = rng.uniform(-1.0, 1.0, size=full).astype(np.float32)
        if spec.is_array:
            args.append(wp.array(values, dtype=spec.dtype, device=device))
        elif spec.length > 1:
            args.append(spec.dtype(*values.reshape(-1).tolist()))
        else:
            args.append(int(values) if spec.is_int else float(values))
    return args


def launch_cpu(kernel: Any, seed: int) -> LaunchResult:
    """Launch ``kernel`` once on the CPU and check that every float array is finite afterwards."""
    try:
        args = make_arguments(kernel, seed, "cpu")
        wp.launch(kernel, dim=LAUNCH_DIM, inputs=args, device="cpu")
        wp.synchronize_device("cpu")
    except Exception as exc:  # noqa: BLE001 - a failed launch is a result
        return LaunchResult(False, None, "launch_error", f"{type(exc).__name__}: {exc}")
    finite = all(
        bool(np.isfinite(values).all())
        for values in (a.numpy() for a in args if isinstance(a, wp.array))
        if np.issubdtype(values.dtype, np.floating)
    )
    return LaunchResult(True, finite, None if finite else "non_finite_output")
