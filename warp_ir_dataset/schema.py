"""The record schema, declared once: ``FEATURES`` is what the builder's ``_info()`` returns and what the
Parquet files hold. ``FIELD_DOCS`` documents each field (the README's table is generated from it)."""

from __future__ import annotations

from typing import Any

import datasets

FIELD_DOCS: dict[str, tuple[datasets.Value, str]] = {
    "id": (datasets.Value("string"), "stable record id: hash of (generator version, seed, index)"),
    "seed": (datasets.Value("int64"), "dataset seed the record was generated with"),
    "index": (datasets.Value("int64"), "sample index in the dataset (0-based); the split is a hash of the id"),
    "attempt": (datasets.Value("int32"), "which try produced this kernel (earlier tries failed to build)"),
    "failed_attempts": (
        datasets.Sequence(datasets.Value("string")),
        "why each earlier attempt at this sample was replaced (e.g. cpu_compile_error); empty if none",
    ),
    "category": (datasets.Value("string"), "kernel category (registered name, see `warp-ir categories`)"),
    "complexity": (datasets.Value("int32"), "complexity level 1-5 (expression depth, statements, helpers, nesting)"),
    "kernel_name": (datasets.Value("string"), "name of the @wp.kernel function in python_source"),
    "python_source": (datasets.Value("string"), "self-contained Python: import warp, @wp.func helpers, one @wp.kernel"),
    "launch": (
        datasets.Value("string"),
        "JSON: launch dimensions, tiled block size and input recipes used to validate the kernel",
    ),
    "cpp_forward": (
        datasets.Value("string"),
        "CPU C++: structs, helpers' forward functions, args struct, forward kernel",
    ),
    "cpp_backward": (datasets.Value("string"), "CPU C++: helpers' adjoint functions and the backward (adjoint) kernel"),
    "cuda_forward": (
        datasets.Value("string"),
        "CUDA C++: structs, helpers' forward functions, forward __global__ kernel",
    ),
    "cuda_backward": (
        datasets.Value("string"),
        "CUDA C++: helpers' adjoint functions and the backward __global__ kernel",
    ),
    "ptx": (datasets.Value("string"), "PTX of the forward and backward entries (include_ptx=True), else null"),
    "ptx_arch": (datasets.Value("string"), "PTX target, e.g. sm_90 (null without PTX)"),
    "compiled": (datasets.Value("bool"), "the CPU build (Clang) succeeded; null when validate=False"),
    "launched_cpu": (datasets.Value("bool"), "the kernel ran on the CPU on random inputs; null when validate=False"),
    "outputs_finite": (datasets.Value("bool"), "every float array was finite after the CPU launch; null if not run"),
    "validation_trials": (datasets.Value("int32"), "input sets the kernel was launched with (0 if not validated)"),
    "launched_cuda": (datasets.Value("bool"), "the kernel ran on a CUDA device; null without a GPU"),
    "cpu_cuda_agree": (
        datasets.Value("bool"),
        "CUDA outputs equal the CPU's (floats within tolerance, looser for atomics); null without a GPU",
    ),
    "cpu_cuda_max_abs_diff": (datasets.Value("float64"), "largest |CPU - CUDA| output difference; null without a GPU"),
    "differentiable": (
        datasets.Value("bool"),
        "float inputs reach float outputs through differentiable code only (no in-place updates, rounding, "
        "discrete queries or sampling); null if not validated",
    ),
    "grad_check": (
        datasets.Value("bool"),
        "the backward (adjoint) launch matches central finite differences; null if not differentiable",
    ),
    "grad_max_rel_err": (datasets.Value("float64"), "largest relative error of the gradient check; null if none"),
    "warp_version": (datasets.Value("string"), "warp-lang version that generated the IR"),
    "generator_version": (
        datasets.Value("string"),
        "version of this package's kernel generator (harvested records: of the harvester's layout)",
    ),
    "source": (datasets.Value("string"), "synthetic (generated from a seed) or harvested (found in real code)"),
    "origin": (
        datasets.Value("string"),
        "harvested: module:qualname:line of the kernel's Python function; null when synthetic",
    ),
    "package": (datasets.Value("string"), "harvested: the installed distribution the kernel comes from, if any"),
    "package_version": (datasets.Value("string"), "harvested: that distribution's version"),
    "license": (datasets.Value("string"), "harvested: that distribution's license, from its metadata"),
    "python_self_contained": (
        datasets.Value("bool"),
        "python_source defines or imports (warp, numpy, math, typing only) every name it uses",
    ),
}
#: Where a record comes from; synthetic records hold ``source="synthetic"`` and nulls in the others.
PROVENANCE_FIELDS = ("source", "origin", "package", "package_version", "license", "python_self_contained")


def type_name(feature: Any) -> str:
    """A feature's type as documentation shows it: ``string``, ``int64``, ``list<string>``."""
    if isinstance(feature, datasets.Value):
        return feature.dtype
    inner = getattr(feature, "feature", None)
    return f"list<{type_name(inner)}>" if inner is not None else type(feature).__name__


FEATURES = datasets.Features({name: value for name, (value, _) in FIELD_DOCS.items()})
COLUMNS = tuple(FIELD_DOCS)
IR_FIELDS = ("cpp_forward", "cpp_backward", "cuda_forward", "cuda_backward")
