"""The dataflow measure on hand-written kernels: each finding on a minimal example, and none on clean code."""

from __future__ import annotations

import textwrap

import pytest

from warp_ir_dataset.dataflow import analyze, flag_counts
from warp_ir_dataset.errors import NotAKernelError


def _source(body: str, signature: str, helpers: str) -> str:
    source = f"import warp as wp\n\n{textwrap.dedent(helpers)}\n\n@wp.kernel\ndef k({signature}):\n"
    return source + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n"


def _flow(body: str, signature: str = "x: wp.array(dtype=float), out: wp.array(dtype=float)", helpers: str = ""):
    return analyze(_source(body, signature, helpers))


def _lines(body: str, *statements: str, signature: str = "", helpers: str = "") -> tuple[int, ...]:
    """Line numbers (in the analysed source) of the lines of ``body`` that start with ``statements``."""
    lines = _source(body, signature, helpers).splitlines()
    return tuple(n for n, line in enumerate(lines, 1) if line.strip().startswith(statements))


def _kernel(flow):
    return next(f for f in flow.functions if f.kind == "kernel")


SPH_DENSITY = """
i = wp.tid()
p = x[i]
rho = float(0.0)
j = int(0)
query = wp.hash_grid_query(grid, p, h)
while wp.hash_grid_query_next(query, j):
    if j == i:
        continue
    r = wp.length(x[j] - p)
    if r < h:
        q = h * h - r * r
        rho += mass * q * q * q
density[i] = rho
"""
SPH_SIGNATURE = "grid: wp.uint64, x: wp.array(dtype=wp.vec3), h: float, mass: float, density: wp.array(dtype=float)"


def test_a_natural_kernel_has_no_findings():
    flow = _flow(SPH_DENSITY, SPH_SIGNATURE)
    assert flow.clean, flow.problems()
    assert flow.numbered_names == []
    assert set(_kernel(flow).names) >= {"grid", "x", "h", "mass", "density", "p", "rho", "j", "query", "r", "q"}


def test_a_parameter_that_reaches_no_output():
    flow = _flow(
        "i = wp.tid()\nscaled = x[i] * alpha\nout[i] = x[i]",
        "x: wp.array(dtype=float), alpha: float, out: wp.array(dtype=float)",
    )
    assert _kernel(flow).dead_params == ("alpha",) and flow.dead_input
    assert _kernel(flow).dead_locals == ("scaled",) and flow.dead_local and flow.dead_statement


def test_a_parameter_never_mentioned():
    flow = _flow("i = wp.tid()\nout[i] = x[i]", "x: wp.array(dtype=float), beta: int, out: wp.array(dtype=float)")
    assert _kernel(flow).unused_params == ("beta",) and flow.unused_param and flow.dead_input
    assert _kernel(flow).dead_params == ()


def test_an_output_that_depends_on_no_input():
    flow = _flow(
        "i = wp.tid()\nout[i] = float(i) * 2.0\nwp.atomic_add(counts, (i // 3) % counts.shape[0], 1)",
        "out: wp.array(dtype=float), counts: wp.array(dtype=int)",
    )
    assert _kernel(flow).constant_outputs == ("counts", "out") and flow.constant_output


def test_an_index_computed_from_input_data_is_a_dependency():
    flow = _flow(
        "i = wp.tid()\nbucket = int(wp.abs(x[i]) * 4.0) % counts.shape[0]\nwp.atomic_add(counts, bucket, 1)",
        "x: wp.array(dtype=float), counts: wp.array(dtype=int)",
    )
    assert flow.clean, flow.problems()


def test_a_value_steering_a_store_is_live():
    flow = _flow("i = wp.tid()\nv = x[i]\nif v > 0.5:\n    out[i] = 1.0")
    assert flow.clean, flow.problems()


def test_an_overwritten_value_is_a_dead_statement_not_a_dead_local():
    body = "i = wp.tid()\na = x[i]\na = x[i] * 2.0\nout[i] = a"
    flow = _flow(body)
    assert _kernel(flow).dead_statements == _lines(body, "a = x[i]")[:1]  # the first assignment
    assert _kernel(flow).dead_locals == ()


def test_an_early_return_guard_is_live():
    flow = _flow(
        "i = wp.tid()\nif flags[i] == 0:\n    return\nout[i] = 2.0",
        "flags: wp.array(dtype=int), out: wp.array(dtype=float)",
    )
    assert flow.clean, flow.problems()


def test_loop_carried_accumulators_are_live_and_a_dead_one_is_not():
    body = """
    i = wp.tid()
    total = float(0.0)
    unused = float(0.0)
    for k in range(4):
        total = total + x[(i + k) % x.shape[0]]
        unused = unused + 1.0
    out[i] = total
    """
    k = _kernel(_flow(body))
    assert k.dead_statements == _lines(body, "unused")  # its initialisation and its update
    assert k.dead_locals == ()  # it is read (by its own update), just never used


def test_by_reference_outputs_read_their_initial_value():
    body = """
    i = wp.tid()
    U = wp.mat33()
    sigma = wp.vec3()
    V = wp.mat33()
    wp.svd3(m[i], U, sigma, V)
    out[i] = U @ wp.diag(sigma) @ wp.transpose(V)
    """
    flow = _flow(body, "m: wp.array(dtype=wp.mat33), out: wp.array(dtype=wp.mat33)")
    assert flow.clean, flow.problems()


def test_helper_findings():
    helpers = """
    @wp.func
    def soften(v: float, unused: float):
        return v / (1.0 + wp.abs(v))


    @wp.func
    def never_called(v: float):
        return v * 2.0


    @wp.func
    def gather(values: wp.array(dtype=float), idx: int):
        return values[idx % values.shape[0]]
    """
    body = """
    i = wp.tid()
    soften(x[i], 1.0)
    kept = soften(x[i], 0.5)
    out[i] = gather(x, i) + kept
    """
    flow = _flow(body, helpers=helpers)
    soften = next(f for f in flow.functions if f.name == "soften")
    assert soften.unused_params == ("unused",) and soften.dead_params == ()
    assert _kernel(flow).dropped_calls == _lines(body, "soften(x[i], 1.0)", helpers=helpers)  # result thrown away
    assert flow.uncalled_helpers == ("never_called",) and flow.dropped_helper_result


def test_a_helper_writing_an_array_is_an_output():
    helpers = """
    @wp.func
    def deposit(grid: wp.array(dtype=float), cell: int, amount: float):
        wp.atomic_add(grid, cell, amount)
    """
    flow = _flow("i = wp.tid()\ndeposit(out, i % out.shape[0], x[i])", helpers=helpers)
    assert flow.clean, flow.problems()


@pytest.mark.parametrize(
    "expression",
    [
        "1.77 * 0.72",
        "wp.normalize(wp.vec3(0.77, 0.82, 0.76) + wp.vec3(0.0, 0.0, 1.5))",
        "wp.sin(0.5)",
        "(1.2 < 0.3)",
        "wp.vec3(1.0, 2.0, 3.0)[0]",
    ],
)
def test_operations_on_literals_only(expression):
    flow = _flow(f"i = wp.tid()\nout[i] = x[i] + float({expression})")
    assert flow.literal_operation, expression


@pytest.mark.parametrize(
    "constant",
    [
        "wp.vec3(0.0, 0.0, 1.0)",
        "-1.5",
        "wp.identity(n=3, dtype=float)",
        "float(0.0)",
        "wp.quat_identity()",
        "wp.transform(wp.vec3(0.0, 1.0, 0.0), wp.quat(0.0, 0.0, 0.0, 1.0))",
    ],
)
def test_constants_are_not_operations(constant):
    flow = _flow(
        f"i = wp.tid()\nc = {constant}\nout[i] = x[i] * float(wp.length(wp.vec3(1.0)) + 1.0)\nkeep[i] = c",
        "x: wp.array(dtype=float), out: wp.array(dtype=float), keep: wp.array(dtype=float)",
    )
    literal = [op for f in flow.functions for op in f.literal_operations]
    assert all(constant not in op for op in literal), literal


@pytest.mark.parametrize(
    "expression",
    [
        "p - p",
        "wp.min(p, p)",
        "wp.cross(v, v)[0]",
        "wp.where(p > 0.0, p, p)",
        "(p == p)",
        "p + (-p)",
        "(p + 0.5) - 0.5",
        "(p < 0.5) and (p > 0.5)",
        "(q * wp.quat_inverse(q))[3]",
    ],
)
def test_self_cancelling_operations(expression):
    flow = _flow(f"i = wp.tid()\np = x[i]\nv = wp.vec3(p)\nq = wp.quat(v, p)\nout[i] = float({expression}) + q[0]")
    assert flow.self_cancelling, expression


def test_squares_are_not_self_cancelling():
    flow = _flow("i = wp.tid()\np = x[i]\nv = wp.vec3(p)\nout[i] = p * p + wp.dot(v, v)")
    assert flow.clean, flow.problems()


def test_numbered_names_and_shares():
    flows = [
        _flow("i = wp.tid()\nt0 = x[i]\nout[i] = t0 * 2.0"),
        _flow("i = wp.tid()\nvalue = x[i]\nout[i] = value * 2.0"),
    ]
    assert flows[0].numbered_names == ["t0"] and flows[1].numbered_names == []
    shares = flag_counts(flows)
    assert shares["dead_input"] == 0.0 and 0 < shares["numbered_name_share"] < 0.5


def test_no_kernel_is_a_clear_error():
    with pytest.raises(NotAKernelError, match="no @wp.kernel"):
        analyze("import warp as wp\n\n@wp.func\ndef f(x: float):\n    return x\n")


def test_a_loop_exit_test_steers_the_whole_loop():
    body = """
    i = wp.tid()
    total = float(0.0)
    for k in range(8):
        total = total + x[(i + k) % x.shape[0]]
        if total > 2.0:
            break
    out[i] = total
    """
    assert _flow(body).clean, _flow(body).problems()


@pytest.mark.parametrize(
    "expression",
    [
        "(p - 0.5) + 0.5",
        "(p - v[0]) - p",
        "wp.quat_inverse(wp.quat_inverse(q))[0]",
        "(wp.normalize(q) * wp.quat_inverse(q))[0]",
    ],
)
def test_more_self_cancelling_operations(expression):
    flow = _flow(f"i = wp.tid()\np = x[i]\nv = wp.vec3(p)\nq = wp.quat(v, p)\nout[i] = float({expression}) + q[0]")
    assert flow.self_cancelling, expression
