"""extract_ir on hand-written kernels: exactly that kernel's code, clear errors for non-kernels."""

from __future__ import annotations

from typing import Any

import pytest
import warp as wp

import warp_ir_dataset as wid
from warp_ir_dataset import KernelBuildError, NotAKernelError

from .conftest import ECHOED_STATEMENT


@wp.func
def squared_distance(a: wp.vec3, b: wp.vec3):
    d = a - b
    return wp.dot(d, d)


@wp.kernel
def nearest_origin_distance(points: wp.array(dtype=wp.vec3), out: wp.array(dtype=float), scale: float):
    i = wp.tid()
    out[i] = wp.sqrt(squared_distance(points[i], wp.vec3(0.0, 0.0, 0.0))) * scale


@wp.kernel
def unrelated_neighbour(values: wp.array(dtype=float)):
    i = wp.tid()
    values[i] = values[i] * 2.0


@wp.kernel
def generic_scale(values: wp.array(dtype=Any), factor: Any):
    i = wp.tid()
    values[i] = values[i] * factor


@wp.kernel
def type_error_kernel(values: wp.array(dtype=float)):
    i = wp.tid()
    values[i] = wp.vec3(1.0, 2.0, 3.0)


def test_extracts_forward_and_backward_for_cpu_and_cuda():
    ir = wid.extract_ir(nearest_origin_distance)
    assert ir["kernel_name"] == "nearest_origin_distance"
    symbol = ir["symbol"]
    assert symbol.startswith("nearest_origin_distance_")
    assert f"{symbol}_cpu_kernel_forward" in ir["cpp_forward"]
    assert f"{symbol}_cpu_kernel_backward" in ir["cpp_backward"]
    assert f'extern "C" __global__ void {symbol}_cuda_kernel_forward' in ir["cuda_forward"]
    assert f'extern "C" __global__ void {symbol}_cuda_kernel_backward' in ir["cuda_backward"]
    # the helper it calls: forward in *_forward, adjoint in *_backward
    assert "squared_distance_0(" in ir["cuda_forward"] and "adj_squared_distance_0(" in ir["cuda_backward"]
    assert "_backward" not in ir["cuda_forward"] and "adj_squared_distance" not in ir["cpp_forward"]
    assert ir["warp_version"] == wp.config.version
    assert "def nearest_origin_distance(" in ir["python_source"]


def test_never_includes_another_kernel_of_the_same_module():
    ir = wid.extract_ir(nearest_origin_distance)
    for field in ("cpp_forward", "cpp_backward", "cuda_forward", "cuda_backward"):
        assert "unrelated_neighbour" not in ir[field]
        assert "generic_scale" not in ir[field]


def test_echoed_statements_are_the_kernels_lines():
    ir = wid.extract_ir(nearest_origin_distance)
    echoed = ECHOED_STATEMENT.findall(ir["cuda_forward"])
    assert any(stmt.startswith("out[i] = wp.sqrt(") for stmt, _ in echoed)


def test_extraction_is_repeatable():
    assert wid.extract_ir(nearest_origin_distance) == wid.extract_ir(nearest_origin_distance)


@pytest.mark.parametrize("not_a_kernel", [squared_distance, print, None, "nearest_origin_distance", 3])
def test_non_kernels_are_rejected(not_a_kernel):
    with pytest.raises(NotAKernelError, match="expected a Warp kernel"):
        wid.extract_ir(not_a_kernel)


def test_generic_kernel_needs_an_overload():
    with pytest.raises(NotAKernelError, match="generic with 0 overloads"):
        wid.extract_ir(generic_scale)
    overload = wp.overload(generic_scale, {"values": wp.array(dtype=wp.float32), "factor": wp.float32})
    ir = wid.extract_ir(overload)
    assert "generic_scale" in ir["cuda_forward"]


def test_codegen_failure_is_a_kernel_build_error():
    with pytest.raises(KernelBuildError) as info:
        wid.extract_ir(type_error_kernel)
    assert info.value.reason == "codegen_error"
    assert "type_error_kernel" in str(info.value)


@wp.kernel
def euler_angles(q: wp.array(dtype=wp.quat), out: wp.array(dtype=wp.vec3)):
    i = wp.tid()
    out[i] = wp.quat_to_euler(q[i], 0, 1, 2)


def test_library_helpers_carry_no_machine_specific_paths():
    import os

    ir = wid.extract_ir(euler_angles)
    install_dir = os.path.dirname(os.path.abspath(wp.__file__))
    for field in ("cpp_forward", "cpp_backward", "cuda_forward", "cuda_backward"):
        assert install_dir not in ir[field]
        assert "// warp/_src/" in ir[field]  # Warp's own @wp.func quat_to_euler, echoed portably
