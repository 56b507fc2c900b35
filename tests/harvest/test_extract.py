"""Harvesting the fixture package: every case of issue 14, each checked, and the records are usable."""

from __future__ import annotations

import subprocess
import sys

import datasets
import pyarrow.parquet as pq
import pytest

from warp_ir_dataset.harvest import extract_records, write_harvest
from warp_ir_dataset.schema import FEATURES, IR_FIELDS

from ..conftest import ECHOED_STATEMENT, REPO_ROOT

pytestmark = pytest.mark.slow  # worker processes import, compile and launch

PACKAGE = str(REPO_ROOT / "tests" / "fixtures" / "wirfix")


@pytest.fixture(scope="module")
def harvest():
    return extract_records([PACKAGE], import_timeout=10, launch_timeout=3, num_workers=2, progress=False)


def test_modules_that_raise_exit_hang_or_crash_at_import_are_skipped_by_reason(harvest):
    _, report = harvest
    assert report.modules_skipped == {
        "wirfix.crashes": "import_crash",
        "wirfix.exits": "import_exit",
        "wirfix.loops": "import_timeout",
        "wirfix.raises": "import_error",
    }
    assert "a_package_that_is_not_installed" in report.skip_details["wirfix.raises"]
    assert report.modules_imported == ["wirfix", "wirfix.kernels", "wirfix.spins", "wirfix.tiles"]


def test_every_kind_of_kernel_is_found_and_built(harvest):
    records, report = harvest
    origins = sorted(r["origin"] for r in records)
    assert origins == [
        "wirfix.kernels:Solver.relax:35",  # defined in a class
        "wirfix.kernels:axpy:54",  # a generic kernel: one record per registered overload
        "wirfix.kernels:axpy:54",
        "wirfix.kernels:integrate:23",
        "wirfix.kernels:make_scale.<locals>.scale:42",  # a factory called twice: both kernels
        "wirfix.kernels:make_scale.<locals>.scale:42",
        "wirfix.kernels:out_of_bounds:70",
        "wirfix.kernels:rectify:76",  # wp.Kernel(func=rectify, key="relu_f32")
        "wirfix.spins:wait_for_release:6",
        "wirfix.tiles:tile_product:8",  # a tile built-in with a MathDx variant
    ]
    assert report.generic_without_overloads == 1  # never_overloaded has no concrete code
    assert report.kernels_found == 10 and report.built_share == 1.0 and report.duplicates_removed == 0
    assert len({r["id"] for r in records}) == 10 and [r["index"] for r in records] == list(range(10))
    for r in records:
        assert r["compiled"] is True and all(r[f] for f in IR_FIELDS)
        assert r["python_self_contained"] is True
        assert (r["source"], r["category"], r["package"]) == ("harvested", "harvested", None)


def test_a_launch_that_crashes_or_never_ends_is_recorded_and_nothing_else_is_lost(harvest):
    records, _ = harvest
    launched = {r["origin"].split(":")[1]: r["launched_cpu"] for r in records}
    assert launched["out_of_bounds"] is False and launched["wait_for_release"] is False  # crashed; never ended
    assert launched["integrate"] is True and launched["Solver.relax"] is True and launched["axpy"] is True
    assert all(r["launched_cpu"] in (True, False, None) for r in records)


def test_entry_points_and_echoed_statements_match_the_records_own_python(harvest):
    records, _ = harvest
    for r in records:
        lines = {line.strip() for line in r["python_source"].splitlines()}
        name = r["kernel_name"]
        assert (
            f"def {name}(" in r["python_source"]
            or f'{name} = wp.Kernel(func=rectify, key="{name}")' in r["python_source"]
        )
        assert f"{r['kernel_name']}_" in r["cuda_forward"].split("_cuda_kernel_forward")[0].split()[-1]
        for field in IR_FIELDS:
            echoed = ECHOED_STATEMENT.findall(r[field])
            assert echoed, (r["origin"], field)
            assert all(statement in lines for statement, _ in echoed), (r["origin"], field)
        assert "/tests/fixtures/" not in r["cpp_forward"] + r["cuda_backward"]  # no path of this machine


def test_the_written_folder_loads_and_a_fresh_process_writes_the_same_bytes(harvest, tmp_path, hf_cache):
    records, report = harvest
    out = tmp_path / "harvest"
    rows = write_harvest(records, report, str(out))
    loaded = datasets.load_dataset(str(out), cache_dir=hf_cache)
    assert {split: len(ds) for split, ds in loaded.items()} == rows and sum(rows.values()) == 10
    assert all(ds.features == FEATURES for ds in loaded.values())
    assert "wirfix" in (out / "README.md").read_text() and (out / "report.json").is_file()

    again = tmp_path / "again"
    command = [sys.executable, "-m", "warp_ir_dataset.cli", "extract", PACKAGE, "--out", str(again)]
    done = subprocess.run(
        [*command, "--import-timeout", "10", "--launch-timeout", "3"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "10 records in" in done.stdout
    for path in sorted((out / "data").glob("*.parquet")):
        assert (again / "data" / path.name).read_bytes() == path.read_bytes(), path.name
    assert pq.read_table(again / "data" / "train-00000-of-00001.parquet").num_rows == rows["train"]


def test_with_include_ptx_each_record_carries_its_kernels_ptx():
    records, report = extract_records(
        [PACKAGE + "/spins.py"], include_ptx=True, ptx_arch=75, launch=False, num_workers=1, progress=False
    )
    (record,) = records
    assert record["ptx_arch"] == "sm_75" and ".entry" in record["ptx"] and "wait_for_release" in record["ptx"]
    assert record["launched_cpu"] is None and report.launched == {"true": 0, "false": 0, "not tried": 1}
