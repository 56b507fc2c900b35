"""The loading script for datasets 3.x. CI runs this file again in a venv with datasets==3.6.0."""

from __future__ import annotations

import os

import datasets
import pytest

from .conftest import REPO_ROOT

DATASETS_MAJOR = int(datasets.__version__.split(".")[0])


@pytest.mark.skipif(DATASETS_MAJOR >= 4, reason="datasets>=4 removed loading scripts; CI runs this with 3.6")
def test_load_dataset_by_script_name_from_repo_root(hf_cache, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    ds = datasets.load_dataset("warp_ir_dataset", count=12, seed=1, cache_dir=hf_cache, trust_remote_code=True)
    records = [r for split in ds.values() for r in split]
    assert len(records) == 12
    assert all(r["cuda_forward"] and r["launched_cpu"] for r in records)


def test_loading_scripts_reexport_the_builder():
    from warp_ir_dataset.builder import WarpIRDataset

    for path in (REPO_ROOT / "warp_ir_dataset.py", REPO_ROOT / "warp_ir_dataset" / "warp_ir_dataset.py"):
        namespace: dict = {}
        exec(compile(path.read_text(), os.fspath(path), "exec"), namespace)
        assert namespace["WarpIRDataset"] is WarpIRDataset
