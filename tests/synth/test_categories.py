"""Every registered category: 50 of its kernels compile on the CPU, launch, and give finite outputs."""

from __future__ import annotations

import dataclasses
import json

import pytest

from warp_ir_dataset import CATEGORIES, GenerationConfig
from warp_ir_dataset.compile import BatchCompiler
from warp_ir_dataset.pipeline import check_kernel
from warp_ir_dataset.synth import synthesize_kernel

pytestmark = pytest.mark.slow  # compiles and launches 50 kernels per category

KERNELS_PER_CATEGORY = 50


@pytest.mark.parametrize("category", CATEGORIES.names())
def test_fifty_kernels_compile_and_launch(category):
    # compile + launch (3 input sets) + finite outputs; gradient checks are measured in tests/test_validate.py
    config = GenerationConfig(count=KERNELS_PER_CATEGORY, categories=[category], grad_check=False)
    synthesis = dataclasses.replace(config.synthesis, seed=123)
    sources = [synthesize_kernel(synthesis, i) for i in range(KERNELS_PER_CATEGORY)]
    assert {s.category for s in sources} == {category}
    assert {s.complexity for s in sources} == {1, 2, 3, 4, 5}
    compiler = BatchCompiler(config.build)
    try:
        failures = {}
        for item in compiler.build(sources):
            checks, failure = check_kernel(item, config)
            if failure:
                detail = item.detail or (checks.detail if checks else "") or ""
                failures[item.source.kernel_name] = f"{failure}: {detail[:300]}"
            else:
                assert item.compiled and checks.launched_cpu and checks.outputs_finite and checks.trials == 3
                json.loads(item.source.launch)
        assert not failures, failures
    finally:
        compiler.release()
