"""Kernel synthesis (no compiling): determinism, structure, registry."""

from __future__ import annotations

import ast

import pytest

from warp_ir_dataset import CATEGORIES, UnknownCategoryError
from warp_ir_dataset.synth import COMPLEXITY, SynthesisConfig, synthesize_kernel


def test_same_seed_and_index_give_identical_source():
    for index in range(30):
        assert (
            synthesize_kernel(SynthesisConfig(seed=7), index).source
            == synthesize_kernel(SynthesisConfig(seed=7), index).source
        )


def test_seed_index_and_attempt_each_change_the_kernel():
    base = synthesize_kernel(SynthesisConfig(seed=0), 4)
    assert synthesize_kernel(SynthesisConfig(seed=1), 4).source != base.source
    assert synthesize_kernel(SynthesisConfig(seed=0), 4, attempt=1).source != base.source
    assert synthesize_kernel(SynthesisConfig(seed=0), 10).source != base.source
    assert synthesize_kernel(SynthesisConfig(seed=0), 4, attempt=1).id == base.id  # a replacement keeps the sample's id


def test_every_category_writes_one_kernel_with_prefixed_helpers():
    for name in CATEGORIES.names():
        for index in range(8):
            k = synthesize_kernel(SynthesisConfig(seed=11, categories=(name,)), index)
            tree = ast.parse(k.source)
            assert k.category == name
            funcs = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
            kernels = [f for f in funcs if any(ast.unparse(d) == "wp.kernel" for d in f.decorator_list)]
            helpers = [
                f
                for f in funcs
                if any(
                    ast.unparse(d) == "wp.func" or ast.unparse(d).startswith("wp.func_grad(") for d in f.decorator_list
                )
            ]
            assert [f.name for f in kernels] == [k.kernel_name]
            assert len(funcs) == len(kernels) + len(helpers)
            # helper names are unique per kernel, so many kernels can share one Warp module
            assert all(h.name.startswith(k.kernel_name + "_") for h in helpers)
            assert k.source.startswith("import warp as wp\n")


def test_categories_round_robin_and_complexity_range():
    kernels = [synthesize_kernel(SynthesisConfig(complexity=(2, 3)), i) for i in range(60)]
    names = CATEGORIES.names()
    assert [k.category for k in kernels[: len(names)]] == names
    assert {k.complexity for k in kernels} == {2, 3}


def test_category_weights_shape_the_mix():
    from collections import Counter

    counts = Counter(
        synthesize_kernel(SynthesisConfig(categories=("loop", "trig"), category_weights=(1.0, 3.0)), i).category
        for i in range(400)
    )
    assert 0.65 < counts["trig"] / 400 < 0.85
    zero = {
        synthesize_kernel(SynthesisConfig(categories=("loop", "trig"), category_weights=(0.0, 1.0)), i).category
        for i in range(50)
    }
    assert zero == {"trig"}


def test_higher_complexity_writes_more_code():
    def mean_lines(level: int) -> float:
        ks = [synthesize_kernel(SynthesisConfig(complexity=(level, level)), i) for i in range(60)]
        return sum(k.source.count("\n") for k in ks) / len(ks)

    assert mean_lines(1) < mean_lines(3) < mean_lines(5)
    assert set(COMPLEXITY) == {1, 2, 3, 4, 5}


def test_unknown_category_lists_the_available_ones():
    with pytest.raises(UnknownCategoryError) as info:
        synthesize_kernel(SynthesisConfig(categories=("nope",)), 0)
    message = str(info.value)
    assert "'nope'" in message and all(name in message for name in CATEGORIES.names())


def test_kernels_call_only_what_their_own_source_defines():
    # reachability tables are shared between kernels in a process; the helpers they list must never be
    import ast as _ast

    defined_elsewhere = {"float", "int", "bool", "range"}
    for index in range(60):
        k = synthesize_kernel(SynthesisConfig(seed=4, complexity=(3, 5)), index)
        tree = _ast.parse(k.source)
        defined = {n.name for n in tree.body if isinstance(n, (_ast.FunctionDef, _ast.ClassDef))}
        defined |= {
            t.id for n in tree.body if isinstance(n, _ast.Assign) for t in n.targets if isinstance(t, _ast.Name)
        }
        called = {n.func.id for n in _ast.walk(tree) if isinstance(n, _ast.Call) and isinstance(n.func, _ast.Name)}
        assert called <= defined | defined_elsewhere, (k.kernel_name, called - defined - defined_elsewhere)
