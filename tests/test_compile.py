"""Batched building: one module per batch, failures isolated to the kernel at fault, PTX per kernel."""

from __future__ import annotations

import dataclasses

import pytest

from warp_ir_dataset.compile import BatchCompiler
from warp_ir_dataset.config import BuildSettings
from warp_ir_dataset.errors import FailureReason
from warp_ir_dataset.synth import KernelSource, SynthesisConfig, synthesize_kernel

pytestmark = pytest.mark.slow

PTX_ONLY = BuildSettings(compile_cpu=False, include_ptx=True)

BROKEN_NATIVE = '''import warp as wp


@wp.func_native("""this is not C++ at all;""")
def {name}_fn0(x: float) -> float:
    ...


@wp.kernel
def {name}(x: wp.array(dtype=float)):
    i = wp.tid()
    x[i] = {name}_fn0(x[i])
'''

BROKEN_TYPES = """import warp as wp


@wp.kernel
def {name}(x: wp.array(dtype=float)):
    i = wp.tid()
    x[i] = wp.vec3(1.0, 2.0, 3.0)
"""


def _broken(template: str, index: int) -> KernelSource:
    base = synthesize_kernel(SynthesisConfig(seed=99), index)
    return dataclasses.replace(base, source=template.format(name=base.kernel_name))


def test_bad_kernels_fail_alone_and_batch_mates_compile():
    good = [synthesize_kernel(SynthesisConfig(seed=99), i) for i in range(4)]
    bad_compile = _broken(BROKEN_NATIVE, 10)
    bad_codegen = _broken(BROKEN_TYPES, 11)
    batch = [good[0], bad_compile, good[1], bad_codegen, good[2], good[3]]
    compiler = BatchCompiler(BuildSettings())
    try:
        built = compiler.build(batch)
        assert [b.source.id for b in built] == [s.id for s in batch]
        by_id = {b.source.id: b for b in built}
        for source in good:
            item = by_id[source.id]
            assert item.ok and item.compiled is True and item.kernel is not None
            assert item.code.symbol.startswith(source.kernel_name + "_")
        assert by_id[bad_compile.id].failure is FailureReason.CPU_COMPILE_ERROR
        assert by_id[bad_compile.id].compiled is False
        detail = by_id[bad_compile.id].detail
        # Clang's own diagnostic, quoting the offending native line (not just the exception's type name)
        assert "error: invalid use of 'this'" in detail and "this is not C++ at all" in detail
        assert by_id[bad_codegen.id].failure is FailureReason.CODEGEN_ERROR
        assert by_id[bad_codegen.id].code is None
    finally:
        compiler.release()


def test_ir_only_build_compiles_nothing():
    compiler = BatchCompiler(BuildSettings(compile_cpu=False))
    built = compiler.build([synthesize_kernel(SynthesisConfig(seed=5), i) for i in range(3)])
    assert all(b.ok and b.compiled is None and b.kernel is None and b.code.cuda_forward for b in built)
    compiler.release()


def test_ptx_is_per_kernel_and_independent_of_batch_mates():
    target = synthesize_kernel(SynthesisConfig(seed=21), 0)
    first = BatchCompiler(PTX_ONLY).build([target, synthesize_kernel(SynthesisConfig(seed=21), 1)])
    second = BatchCompiler(PTX_ONLY).build([synthesize_kernel(SynthesisConfig(seed=21), 2), target])
    ptx_a, ptx_b = first[0].ptx, second[1].ptx
    symbol = first[0].code.symbol
    assert ptx_a and ptx_a == ptx_b
    assert ".target sm_90" in ptx_a
    assert f".visible .entry {symbol}_cuda_kernel_forward(" in ptx_a
    assert f".visible .entry {symbol}_cuda_kernel_backward(" in ptx_a
    assert first[1].code.symbol not in ptx_a  # never another kernel's code
