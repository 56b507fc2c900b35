"""Statistics: builtin counting, structural normalisation, near-duplicates, the stats command."""

from __future__ import annotations

import json

import pytest

from warp_ir_dataset.cli import main
from warp_ir_dataset.dataflow import FLAGS
from warp_ir_dataset.stats import compute_stats, format_stats, near_duplicate_ids, python_builtins, structural_form

KERNEL = """import warp as wp


@wp.kernel
def scale_add(x: wp.array(dtype=float), out: wp.array(dtype=float), alpha: float):
    i = wp.tid()
    t0 = wp.sin(x[i]) * alpha + 1.5
    out[i] = -wp.max(t0, 0.25) % 2.0
"""


def test_python_builtins_counts_calls_and_operators_not_annotations():
    assert python_builtins(KERNEL) == {"tid", "sin", "max", "mul", "add", "neg", "mod"}


def test_structural_form_ignores_names_and_literals():
    renamed = KERNEL.replace("scale_add", "other_kernel").replace("t0", "value").replace("alpha", "beta")
    relit = KERNEL.replace("1.5", "7.25").replace("0.25", "3.0")
    assert structural_form(renamed) == structural_form(KERNEL) == structural_form(relit)
    assert structural_form(KERNEL.replace("wp.sin", "wp.cos")) != structural_form(KERNEL)


def test_near_duplicates_keep_the_first_of_each_group():
    records = [
        {"id": "a", "python_source": KERNEL},
        {"id": "b", "python_source": KERNEL.replace("scale_add", "renamed").replace("t0", "tmp")},
        {"id": "c", "python_source": KERNEL.replace("wp.sin(x[i]) * alpha + 1.5", "wp.cos(x[i] - alpha) / 3.0")},
    ]
    assert near_duplicate_ids(records) == {"b"}


@pytest.mark.slow
def test_stats_of_the_acceptance_build(records40):
    numbers = compute_stats(records40)
    assert numbers["records"] == 40
    assert sum(numbers["records_per_category"].values()) == 40
    assert numbers["exact_unique_rate"] == 1.0
    assert 0.9 <= numbers["structural_unique_rate"] <= 1.0
    assert numbers["distinct_builtins_python"] >= 30
    assert numbers["distinct_builtins_ir"] >= numbers["distinct_builtins_python"] // 2
    assert numbers["expansion_ratio_median"] > 5
    assert numbers["validation"]["launched_cpu"] == {"true": 40}
    assert set(numbers["dataflow"]) == {key for key, _, _ in FLAGS} | {"numbered_name_share"}
    assert all(0.0 <= share <= 0.05 for share in numbers["dataflow"].values()), numbers["dataflow"]
    assert "kernels with a dataflow finding: a parameter that reaches no output" in format_stats(numbers)
    json.dumps(numbers)


@pytest.mark.slow
def test_stats_command_reads_a_generated_folder(dataset40, hf_cache, tmp_path, capsys):
    out = tmp_path / "data40"
    assert main(["generate", "--count", "40", "--seed", "4", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["stats", str(out), "--json", "--cache-dir", hf_cache]) == 0
    numbers = json.loads(capsys.readouterr().out)
    assert numbers["records"] == 40
    assert main(["stats", str(tmp_path)]) == 2
    assert "is not a dataset folder" in capsys.readouterr().err
