"""KernelWriter bookkeeping: what it drops, what it consumes, what it refuses (no compiling)."""

from __future__ import annotations

import random

import pytest

from warp_ir_dataset.dataflow import analyze
from warp_ir_dataset.synth.types import FLOAT, INT, UINT64, VEC3
from warp_ir_dataset.synth.writer import KernelWriter, SynthesisError


def _writer(level: int = 3, seed: int = 0, groups=("arith", "vector")) -> KernelWriter:
    return KernelWriter("kern", random.Random(seed), level, frozenset(groups))


def test_code_that_reaches_no_output_is_dropped_with_the_arguments_only_it_read():
    w = _writer()
    x = w.input_array(FLOAT, "values", load="value")
    gain = w.param(FLOAT, "gain")
    w.let("unused", f"{gain} * 2.0", FLOAT)
    out = w.output_array(FLOAT, "out")
    w.store(out, "i", f"{x} * 3.0")
    source = w.render()
    assert "unused" not in source and "gain" not in source
    assert "values: wp.array(dtype=float)" in source and "out[i] = value * 3.0" in source
    assert w.dropped == 1
    assert analyze(source).clean


def test_overwritten_values_and_their_inputs_are_dropped():
    w = _writer()
    a = w.input_array(FLOAT, "a", load="va")
    b = w.input_array(FLOAT, "b", load="vb")
    w.let("y", f"{a} * 2.0", FLOAT)
    w.set("y", f"{b} + 1.0")
    w.store(w.output_array(FLOAT, "out"), "i", "y")
    source = w.render()
    assert "a: wp.array" not in source and "va" not in source
    assert analyze(source).clean


def test_expressions_consume_values_nothing_has_read_yet():
    w = _writer()
    first = w.input_array(FLOAT, "first", load="p")
    second = w.input_array(FLOAT, "second", load="q")
    assert w.pending() == [first, second]
    w.assign(FLOAT)
    w.assign(FLOAT)
    assert first not in w.pending() and second not in w.pending()


def test_result_folds_in_every_pending_value():
    w = _writer()
    names = [w.input_array(t, f"in_{n}", load=f"v{n}x") for n, t in enumerate((FLOAT, VEC3, FLOAT))]
    value = w.result(FLOAT)
    assert all(n in value for n in names)
    w.store(w.output_array(FLOAT, "out"), "i", value)
    assert analyze(w.render()).clean


def test_a_store_that_depends_on_no_input_gets_one():
    w = _writer()
    w.input_array(FLOAT, "values", load="value")
    out = w.output_array(FLOAT, "out")
    w.store(out, "i", "float(i) * 0.5")
    flow = analyze(w.render())
    assert not flow.constant_output and "value" in w.render()


def test_accumulators_declared_at_an_earlier_mark():
    w = _writer()
    grid = w.param(UINT64, "grid", recipe={"kind": "hash_grid"})
    points = w.input_array(VEC3, "points")
    p = w.let("p", f"{points}[i]", VEC3)
    mark = w.mark()
    j = w.let("j", "int(0)", INT)
    query = w.let("query", f"wp.hash_grid_query({grid}, {p}, 0.3)", UINT64)
    with w.block(f"while wp.hash_grid_query_next({query}, {j})"):
        dist = w.let("dist", f"wp.length({points}[{j}] - {p})", FLOAT)
        with w.block(f"if {dist} < 0.3"):
            density = w.accumulator("density", FLOAT, "float(0.0)", at=mark)
            w.emit(f"{density} += 0.3 - {dist}")
    assert w.pending() == [density]
    w.store(w.output_array(FLOAT, "rho"), "i", w.result(FLOAT))
    source = w.render()
    assert source.index("density = float(0.0)") < source.index("query = ")
    assert "density" in source.splitlines()[-1] and analyze(source).clean, source


def test_a_branch_whose_work_is_dead_disappears_but_its_chain_stays_valid():
    w = _writer()
    v = w.input_array(FLOAT, "values", load="value")
    target = w.let("level", f"{v} * 2.0", FLOAT)
    with w.block(f"if {v} > 0.0"):
        w.set(target, f"{target} + 1.0")
    with w.block("elif value < -0.5"):
        w.let("wasted", f"{v} * 3.0", FLOAT)
    with w.block("else"):
        w.set(target, f"{target} - 1.0")
    w.store(w.output_array(FLOAT, "out"), "i", target)
    source = w.render()
    assert "wasted" not in source
    assert analyze(source).clean, source
    compile(source, "<kernel>", "exec")


def test_generated_helpers_lose_parameters_nothing_reads():
    w = _writer(level=4)
    w.input_array(FLOAT, "values", load="value")
    fn = w.function(("blend",))
    x = fn.param(FLOAT, ("x",))
    fn.param(FLOAT, ("ignored",))
    fn.ret(f"{x} * 0.5", FLOAT)
    prod = w.add_function(fn)
    assert prod.operands == (FLOAT,)
    called = w.call_helper(prod)
    w.store(w.output_array(FLOAT, "out"), "i", called)
    source = w.render()
    assert "ignored" not in source and "def kern_blend(x: float):" in source
    assert analyze(source).clean


def test_bad_requests_raise_synthesis_errors():
    w = _writer()
    w.param(FLOAT, "dt")
    with pytest.raises(SynthesisError, match="'dt' is already used"):
        w.param(FLOAT, "dt")
    with pytest.raises(SynthesisError, match="not a block header"):
        with w.block("with something"):
            pass
    with pytest.raises(SynthesisError, match="else without an if"):
        with w.block("else"):
            pass
    with pytest.raises(SynthesisError, match="invalid Python"):
        w.emit("x = = 1")


def test_a_value_steering_a_block_is_not_pending_but_values_swapped_round_a_loop_are():
    w = _writer()
    n = w.input_array(INT, "counts", load="count")
    with w.block(f"if {n} < 1"):
        w.emit("return")
    assert n not in w.pending()
    a = w.let("a", f"{n} + 7", INT)
    b = w.let("b", f"{n} * 3 + 1", INT)
    with w.block("for step in range(4)"):
        w.define("step", INT)
        r = w.let("r", f"{a} % ({b} + 1)", INT)
        w.set(a, b)
        w.set(b, r)
    assert {a, b} & set(w.pending())  # nothing outside the loop reads them yet: the gcd must not be lost
