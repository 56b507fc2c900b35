"""A harvested kernel's python_source: the kernel and what it uses, checked for free names."""

from __future__ import annotations

import sys

import pytest

from warp_ir_dataset import warp_internals as wi
from warp_ir_dataset.harvest.source import assemble, free_names, normalized

from ..conftest import REPO_ROOT


@pytest.fixture(scope="module")
def fixture_kernels():
    sys.path.insert(0, str(REPO_ROOT / "tests" / "fixtures"))
    try:
        import wirfix.kernels as kernels
    finally:
        sys.path.pop(0)
    return kernels


def test_free_names_sees_locals_parameters_annotations_and_builtins():
    code = "import warp as wp\n\ndef f(a: Vec, b):\n    c = a + b\n    return abs(c) * SCALE\n"
    assert free_names(code) == {"Vec", "SCALE"}
    assert free_names("x = (") == {"<syntax error>"}


def test_a_kernel_comes_with_its_struct_function_and_constants(fixture_kernels):
    (found,) = wi.concrete_kernels(fixture_kernels.integrate)
    source = assemble(found)
    assert source.self_contained and not free_names(source.text)
    for expected in ("class Particle:", "def damped(", "def integrate(", "DAMPING = 0.98", "GRAVITY = -9.81"):
        assert expected in source.text
    assert "UP = wp.vec3f(0.0, 1.0, 0.0)" in source.text
    assert source.text.index("class Particle") < source.text.index("def damped") < source.text.index("def integrate")


def test_each_overload_of_a_generic_kernel_names_its_types(fixture_kernels):
    texts = [assemble(found).text for found in wi.concrete_kernels(fixture_kernels.axpy)]
    assert len(texts) == 2 and "from typing import Any" in texts[0]
    assert 'wp.overload(axpy, {"a": wp.float32, "x": wp.array(dtype=wp.float32)' in texts[0]
    assert '"a": wp.float64' in texts[1]
    assert wi.concrete_kernels(fixture_kernels.never_overloaded) == []


def test_factory_and_class_kernels_bind_what_their_definition_saw(fixture_kernels):
    (f64,) = wi.concrete_kernels(fixture_kernels.scale_f64)
    text = assemble(f64).text
    assert "dtype = wp.float64" in text and text.lstrip().startswith("import warp as wp")
    (relax,) = wi.concrete_kernels(fixture_kernels.Solver.relax)
    assert assemble(relax).text.count("def relax(") == 1 and "    def relax" not in assemble(relax).text


def test_normalized_source_ignores_comments_and_layout():
    assert normalized("x = 1  # one\n\n\ny = (x +\n 2)\n") == normalized("x = 1\ny = x + 2\n")


def test_a_tile_kernel_with_an_lto_built_in_generates_its_generic_code():
    sys.path.insert(0, str(REPO_ROOT / "tests" / "fixtures"))
    try:
        import wirfix.tiles as tiles
    finally:
        sys.path.pop(0)
    code = wi.kernel_code(tiles.tile_product)  # Warp's own builders set no output architecture here
    assert "tile_matmul" in code.cpp_forward and "tile_matmul" in code.cuda_forward
    source = assemble(wi.concrete_kernels(tiles.tile_product)[0])
    assert source.self_contained and "TILE = 8" in source.text


def test_a_kernel_belongs_to_the_target_that_holds_it_and_a_dependencys_kernels_to_none():
    from warp_ir_dataset.harvest.worker import owner

    targets = {"newton._src.geometry", "newton._src.geometry.kernels", "wirfix.kernels"}
    assert (
        owner("newton._src.geometry.kernels", "newton._src.geometry.kernels", targets) == "newton._src.geometry.kernels"
    )
    assert owner("unique_3f2a", "newton._src.geometry.kernels", targets) == "newton._src.geometry.kernels"
    assert owner("newton._src.geometry.inner", "x", targets) == "newton._src.geometry"  # the longest holding it
    assert owner("warp.sparse", "warp._src.sparse", targets) is None  # warp's, imported by a target
    assert owner("warp.fem.utils", "warp._src.fem.utils", {"warp.fem"}) == "warp.fem"
