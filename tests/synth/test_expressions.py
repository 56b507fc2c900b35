"""Property tests of the expression generator: whatever the scope, its expressions compute something."""

from __future__ import annotations

import ast
import random

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from warp_ir_dataset.dataflow import analyze
from warp_ir_dataset.synth import magnitude
from warp_ir_dataset.synth.expressions import PRODUCTIONS, ExpressionGenerator
from warp_ir_dataset.synth.types import BOOL, FLOAT, INT, MAT22, MAT33, QUAT, VEC2, VEC3, VEC4

TYPES = [FLOAT, INT, VEC2, VEC3, VEC4, MAT22, MAT33, QUAT]
GROUPS = sorted({p.group for p in PRODUCTIONS})
FLOATING = {"float", "vec2", "vec3", "vec4", "mat22", "mat33", "quat"}


def _kernel(scope: dict, expression: str) -> str:
    params = ", ".join(f"{name}: {t.annotation}" for name, t in scope.items())
    header = f"import warp as wp\n\n\n@wp.kernel\ndef k({params}, out: wp.array(dtype=float)):\n"
    return header + f"    value = {expression}\n"


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    types=st.lists(st.sampled_from(TYPES), min_size=1, max_size=4),
    target=st.sampled_from([*TYPES, BOOL]),
    depth=st.integers(1, 4),
    groups=st.sets(st.sampled_from(GROUPS), min_size=1),
    operation=st.booleans(),
)
def test_expressions_read_a_variable_and_never_compute_on_literals_alone(seed, types, target, depth, groups, operation):
    scope = {f"var_{n}": t for n, t in enumerate(types)}
    gen = ExpressionGenerator(random.Random(seed), frozenset(groups))
    try:
        text = gen.expr(target, depth, scope, 0.3, operation=operation)
    except ValueError:
        assume(False)  # nothing in this scope can make that type: a clear refusal, not bad code
        return
    node = ast.parse(text, mode="eval")
    read = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    assume(read & set(scope))  # a literal fallback is only taken when no variable can be read
    flow = analyze(_kernel(scope, text))
    assert not flow.literal_operation, (text, flow.problems())
    assert not flow.self_cancelling, (text, flow.problems())
    if operation:
        assert not isinstance(node.body, ast.Name), text
    if target.name in FLOATING:
        assert magnitude.of_text(text, dict.fromkeys(scope, 0.0)) <= magnitude.LIMIT, text


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), source=st.sampled_from(TYPES), target=st.sampled_from([FLOAT, VEC3, INT]))
def test_consume_reads_the_requested_variable_when_its_type_can_reach_the_target(seed, source, target):
    scope = {"wanted": source, "other": FLOAT}
    gen = ExpressionGenerator(random.Random(seed), frozenset(GROUPS))
    text = gen.expr(target, 3, scope, 0.3, consume=["wanted"])
    names = {n.id for n in ast.walk(ast.parse(text, mode="eval")) if isinstance(n, ast.Name)}
    assert "wanted" in names, text


def test_same_seed_same_expression():
    scope = {"pos": VEC3, "mass": FLOAT}
    first = ExpressionGenerator(random.Random(5), frozenset(GROUPS)).expr(FLOAT, 3, scope)
    second = ExpressionGenerator(random.Random(5), frozenset(GROUPS)).expr(FLOAT, 3, scope)
    assert first == second
