"""Validation: input synthesis, trials, gradient checks on the CPU, the CPU/CUDA comparison, devices."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import warp as wp

from warp_ir_dataset import ConfigError, GenerationConfig, warp_internals
from warp_ir_dataset.config import ValidationSettings
from warp_ir_dataset.pipeline import resolve_devices
from warp_ir_dataset.validate import array_roles, compare_outputs, make_arguments, validate_kernel


@wp.kernel
def smooth_energy(x: wp.array(dtype=float), v: wp.array(dtype=wp.vec3), out: wp.array(dtype=float)):
    i = wp.tid()
    a = wp.sin(x[i]) * wp.exp(wp.clamp(x[(i + 1) % x.shape[0]], -2.0, 2.0))
    out[i] = a + wp.dot(v[i], v[i]) * 0.5


@wp.func
def wrong_square(x: float):
    return x * x


@wp.func_grad(wrong_square)
def adj_wrong_square(x: float, adj_ret: float):
    wp.adjoint[x] += 3.0 * x * adj_ret  # the true derivative is 2x


@wp.kernel
def uses_wrong_gradient(x: wp.array(dtype=float), out: wp.array(dtype=float)):
    i = wp.tid()
    out[i] = wrong_square(x[i])


@wp.kernel
def quantize(x: wp.array(dtype=float), out: wp.array(dtype=float)):
    i = wp.tid()
    out[i] = wp.floor(x[i] * 4.0)


@wp.kernel
def scale_in_place(x: wp.array(dtype=float)):
    i = wp.tid()
    x[i] = x[i] * 2.0


def _validate(kernel, **kwargs):
    warp_internals.init_warp()
    source = inspect.getsource(kernel.func)
    return validate_kernel(kernel, source, kernel.func.__name__, 1234, None, ValidationSettings(**kwargs))


@pytest.mark.slow
def test_differentiable_kernel_passes_three_trials_and_the_gradient_check():
    result = _validate(smooth_energy)
    assert result.reason is None
    assert (result.trials, result.launched_cpu, result.outputs_finite) == (3, True, True)
    assert result.differentiable is True and result.grad_check is True
    assert result.grad_max_rel_err < 1e-2
    assert result.launched_cuda is None and result.cpu_cuda_agree is None  # CPU only


@pytest.mark.slow
def test_a_wrong_adjoint_is_caught():
    result = _validate(uses_wrong_gradient)
    assert result.differentiable is True and result.grad_check is False
    assert result.reason == "grad_mismatch" and result.grad_max_rel_err > 0.2


@pytest.mark.slow
def test_non_differentiable_kernels_are_marked_not_failed():
    floor = _validate(quantize)
    assert floor.reason is None and floor.differentiable is False and floor.grad_check is None
    in_place = _validate(scale_in_place)
    assert in_place.reason is None and in_place.differentiable is False


def test_array_roles():
    roles = array_roles(inspect.getsource(smooth_energy.func), "smooth_energy", ["x", "v", "out"])
    assert roles.read == {"x", "v"} and roles.written == {"out"} and roles.not_differentiable is None
    roles = array_roles(inspect.getsource(scale_in_place.func), "scale_in_place", ["x"])
    assert "in place" in roles.not_differentiable
    by_reference = (
        "import warp as wp\n\n@wp.kernel\ndef k(x: wp.array(dtype=float)):\n    t = wp.tile_map(wp.floor, x)\n"
    )
    assert "floor" in array_roles(by_reference, "k", ["x"]).not_differentiable
    loop = "import warp as wp\n\n@wp.kernel\ndef k(x: wp.array(dtype=float)):\n    i = wp.tid()\n    j = float(0.0)\n"
    loop += "    while j < 3.0:\n        j = j + 1.0\n"
    assert "dynamic loops" in array_roles(loop, "k", ["x"]).not_differentiable


def test_trials_use_different_deterministic_inputs():
    warp_internals.init_warp()
    specs = warp_internals.kernel_args(smooth_energy)
    first, _ = make_arguments(specs, 7)
    again, _ = make_arguments(specs, 7)
    other, _ = make_arguments(specs, 8)
    assert np.array_equal(first[0].numpy(), again[0].numpy())
    assert not np.array_equal(first[0].numpy(), other[0].numpy())
    assert first[0].shape == (64,) and first[1].dtype == wp.vec3
    assert np.abs(first[0].numpy()).max() <= 1.0


def test_cpu_cuda_comparison_tolerances():
    a = [np.linspace(-1, 1, 64, dtype=np.float32), np.arange(8, dtype=np.int32)]
    assert compare_outputs(a, [x.copy() for x in a], loose=False) == (True, 0.0)
    nudged = [a[0] + np.float32(2e-4), a[1].copy()]
    assert compare_outputs(a, nudged, loose=False)[0] is False  # beyond strict float tolerance
    ok, diff = compare_outputs(a, nudged, loose=True)  # atomics: summation order may differ
    assert ok is True and diff == pytest.approx(2e-4, rel=1e-2)
    ints = [a[0].copy(), a[1] + 1]
    assert compare_outputs(a, ints, loose=True) == (False, 1.0)


def test_devices_are_detected_and_checked():
    if warp_internals.cuda_available():
        assert resolve_devices(GenerationConfig()) == ("cpu", "cuda")
    else:
        assert resolve_devices(GenerationConfig()) == ("cpu",)
        with pytest.raises(ConfigError, match="no CUDA device is available"):
            resolve_devices(GenerationConfig(devices="cpu,cuda"))
    with pytest.raises(ConfigError, match="devices must include 'cpu'"):
        GenerationConfig(devices=["cuda"])
    with pytest.raises(ConfigError, match="devices"):
        GenerationConfig(devices="tpu")


@pytest.mark.gpu
@pytest.mark.skipif(not warp_internals.cuda_available(), reason="needs a CUDA device")
def test_cuda_validation_agrees_with_cpu():  # pragma: no cover - runs on GPU machines
    result = _validate(smooth_energy, devices=("cpu", "cuda"))
    assert result.launched_cuda is True and result.cpu_cuda_agree is True
    assert result.cpu_cuda_max_abs_diff < 1e-4
