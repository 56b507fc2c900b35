"""Every registered category: 50 of its kernels compile on the CPU, launch, and give finite outputs."""

from __future__ import annotations

import json

import pytest

from warp_ir_dataset import CATEGORIES, GenerationConfig
from warp_ir_dataset.compile import BatchCompiler
from warp_ir_dataset.pipeline import _check
from warp_ir_dataset.synth import synthesize_kernel

KERNELS_PER_CATEGORY = 50


@pytest.mark.parametrize("category", CATEGORIES.names())
def test_fifty_kernels_compile_and_launch(category):
    config = GenerationConfig(count=KERNELS_PER_CATEGORY, categories=[category])
    sources = [synthesize_kernel(123, i, 0, config.categories, config.complexity) for i in range(KERNELS_PER_CATEGORY)]
    assert {s.category for s in sources} == {category}
    assert {s.complexity for s in sources} == {1, 2, 3, 4, 5}
    compiler = BatchCompiler(compile_cpu=True)
    try:
        failures = {}
        for item in compiler.build(sources):
            launch, failure = _check(item, config)
            if failure:
                failures[item.source.kernel_name] = f"{failure}: {(item.detail or '')[:300]}"
            else:
                assert item.compiled and launch.launched and launch.outputs_finite
                json.loads(item.source.launch)
        assert not failures, failures
    finally:
        compiler.release()
