"""Shards: fixed index ranges, atomic files with completion markers, manifests that refuse another build."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from warp_ir_dataset import GenerationConfig, generate_records
from warp_ir_dataset.shards import MANIFEST, OutputError, ShardPlan, ShardStore, build_shard, finalize, run_shards

CONFIG = GenerationConfig(count=7, seed=4, validate=False)


def _build(out, plan: ShardPlan) -> ShardStore:
    store = ShardStore(str(out), plan)
    store.open()
    for k in store.pending():
        store.write(k, *build_shard(plan, k))
    return store


def test_shards_hold_fixed_index_ranges_and_together_the_records_of_one_run(tmp_path):
    plan = ShardPlan(CONFIG, shard_size=3)
    assert plan.num_shards == 3 and list(plan.indices(2)) == [6]
    store = _build(tmp_path / "out", plan)
    assert store.pending() == []
    rows = [r for f in sorted((tmp_path / "out" / "data").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    expected = list(generate_records(CONFIG, range(CONFIG.count)))
    assert sorted(rows, key=lambda r: r["index"]) == expected
    marker = store.marker(0)
    assert marker["rows"] == 3 and sum(f["rows"] for f in marker["files"].values()) == 3
    assert all(name.endswith("-of-00003.parquet") for name in marker["files"])


def test_a_rerun_rewrites_nothing_and_a_stray_temporary_file_is_ignored(tmp_path):
    plan = ShardPlan(CONFIG, shard_size=4)
    out = tmp_path / "out"
    _build(out, plan)
    (out / "data" / ".train-00001-of-00002.parquet.123.partial").write_bytes(b"half written")
    times = {p: p.stat().st_mtime_ns for p in (out / "data").glob("*.parquet")}
    store = _build(out, plan)
    assert store.pending() == []
    assert {p: p.stat().st_mtime_ns for p in (out / "data").glob("*.parquet")} == times


def test_a_shard_without_its_marker_is_pending(tmp_path):
    plan = ShardPlan(CONFIG, shard_size=4)
    out = tmp_path / "out"
    _build(out, plan)
    (out / ".shards" / "00001.json").unlink()
    assert ShardStore(str(out), plan).pending() == [1]


def test_another_build_in_the_folder_is_refused_naming_the_field(tmp_path):
    out = tmp_path / "out"
    ShardStore(str(out), ShardPlan(CONFIG, shard_size=4)).open()
    other = ShardPlan(GenerationConfig(count=7, seed=4, validate=False, trials=2), shard_size=4)
    with pytest.raises(OutputError, match=r"config\.trials: the folder has 3, this run asks for 2"):
        ShardStore(str(out), other).open()
    with pytest.raises(OutputError, match="shard_size"):
        ShardStore(str(out), ShardPlan(CONFIG, shard_size=5)).open()
    assert json.loads((out / MANIFEST).read_text())["shard_size"] == 4


def test_bad_outputs_are_refused_before_any_work(tmp_path):
    file = tmp_path / "file.txt"
    file.write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        ShardStore(str(file), ShardPlan(CONFIG, shard_size=4)).open()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.md").write_text("x")
    with pytest.raises(OutputError, match="other files"):
        ShardStore(str(tmp_path / "busy"), ShardPlan(CONFIG, shard_size=4)).open()
    with pytest.raises(OutputError, match="shard_size"):
        ShardPlan(CONFIG, shard_size=0)


@pytest.mark.slow
def test_worker_processes_write_the_same_shards(tmp_path):
    plan = ShardPlan(CONFIG, shard_size=3)
    inline = ShardStore(str(tmp_path / "inline"), plan)
    inline.open()
    run_shards(inline, inline.pending(), num_workers=1)
    pooled = ShardStore(str(tmp_path / "pooled"), plan)
    pooled.open()
    seen = []
    run_shards(pooled, pooled.pending(), num_workers=2, on_done=seen.append)
    assert sorted(m["shard"] for m in seen) == [0, 1, 2] and pooled.pending() == []
    for k in range(3):
        assert pooled.marker(k) == inline.marker(k)  # same files, byte for byte (checksums)


def test_finalize_writes_a_card_that_loads_like_the_builder(tmp_path, hf_cache):
    import datasets

    plan = ShardPlan(CONFIG, shard_size=3)
    store = _build(tmp_path / "out", plan)
    finalize(store, repo_id="me/warp")
    loaded = datasets.load_dataset(str(tmp_path / "out"), cache_dir=hf_cache)
    rows = sorted((r for split in loaded.values() for r in split), key=lambda r: r["index"])
    assert rows == list(generate_records(CONFIG, range(CONFIG.count)))
    assert (tmp_path / "out" / "stats.json").is_file() and (tmp_path / "out" / "plots" / "lengths.png").is_file()
    assert "me/warp" in (tmp_path / "out" / "README.md").read_text()
