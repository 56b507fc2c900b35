"""``source="harvested"``: the builder and ``warp-ir generate`` take real kernels instead of synthesizing."""

from __future__ import annotations

import datasets
import pytest

import warp_ir_dataset as wid
from warp_ir_dataset.cli import main

from ..conftest import REPO_ROOT

pytestmark = pytest.mark.slow

KERNELS = str(REPO_ROOT / "tests" / "fixtures" / "wirfix" / "kernels.py")


def test_load_dataset_harvests_the_packages_asked_for(hf_cache):
    everything = wid.load_dataset(source="harvested", packages=[KERNELS], count=None, cache_dir=hf_cache)
    rows = sorted((r for split in everything.values() for r in split), key=lambda r: r["index"])
    assert len(rows) == 8 and all(r["source"] == "harvested" and r["origin"].startswith("kernels:") for r in rows)
    first = wid.load_dataset(source="harvested", packages=[KERNELS], count=3, cache_dir=hf_cache)
    assert sorted(r["id"] for split in first.values() for r in split) == sorted(r["id"] for r in rows[:3])
    with pytest.raises(wid.ConfigError, match="stream"):
        wid.load_dataset(source="harvested", packages=[KERNELS], streaming=True)


def test_generate_writes_a_harvest_and_a_rerun_finds_it_complete(tmp_path, hf_cache, capsys):
    out = tmp_path / "harvest"
    args = ["generate", "--source", "harvested", "--packages", KERNELS, "--count", "all", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "8 records in" in printed and "generic_without_overloads 1" in printed
    assert main(args) == 0 and "8 records in" in capsys.readouterr().out  # nothing redone
    loaded = datasets.load_dataset(str(out), cache_dir=hf_cache)
    assert sum(len(split) for split in loaded.values()) == 8
    assert main(["stats", str(out)]) == 0 and "per category: harvested 8" in capsys.readouterr().out
    assert main([*args[:-1], str(tmp_path / "other"), "--no-validate"]) == 0
    assert main(["generate", "--source", "harvested", "--count", "all", "--out", str(out)]) == 2  # other packages
    assert "config.packages" in capsys.readouterr().err
