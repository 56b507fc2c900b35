"""The benchmark runs end to end and reports every run with its ratio against the baseline."""

from __future__ import annotations

import pytest

from warp_ir_dataset.bench import format_benchmark, run_benchmark

pytestmark = pytest.mark.slow  # compiles with Clang and NVRTC


def test_tiny_benchmark_reports_every_run():
    result = run_benchmark(count=2, seed=0, num_workers=2, batch_size=2)
    runs = result["runs"]
    assert list(runs) == [
        "a_baseline_one_module_per_kernel",
        "b_default_in_process",
        "c_ir_only",
        "d_default_2_workers",
        "e_default_with_ptx",
    ]
    assert runs["a_baseline_one_module_per_kernel"]["ratio_vs_baseline"] == 1.0
    assert all(run["samples_per_s"] > 0 for run in runs.values())
    assert "cpu_compile" in runs["b_default_in_process"]["stages"] and "ptx" in runs["e_default_with_ptx"]["stages"]
    assert "cpu_compile" not in runs["c_ir_only"]["stages"]
    assert len(runs["d_default_2_workers"]["peak_rss_mb_per_worker"]) >= 1
    text = format_benchmark(result)
    assert "samples/s" in text and "x  1.00" in text
