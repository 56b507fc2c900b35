"""Shards: fixed index ranges, atomic files with completion markers, manifests that refuse another build."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pyarrow.parquet as pq
import pytest

from warp_ir_dataset import GenerationConfig, generate_records
from warp_ir_dataset.cli import main
from warp_ir_dataset.shards import (
    MANIFEST,
    OutputError,
    ShardPlan,
    ShardStore,
    build_shard,
    finalize,
    generate_to,
    run_shards,
    run_shards_ray,
)

from .conftest import TINY

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
def test_worker_processes_write_the_same_shards_and_redo_only_a_killed_workers_shard(tmp_path, monkeypatch):
    from warp_ir_dataset.workers import _Worker

    plan = ShardPlan(CONFIG, shard_size=3)
    inline = ShardStore(str(tmp_path / "inline"), plan)
    inline.open()
    run_shards(inline, inline.pending(), num_workers=1)
    pooled = ShardStore(str(tmp_path / "pooled"), plan)
    pooled.open()
    real_run, runs = _Worker.run, []

    def run_killed_once(self, config, indices, write=None):
        runs.append(write["shard"])
        if write["shard"] == 1 and runs.count(1) == 1:
            threading.Timer(0.3, self.process.kill).start()  # mid-shard: a fresh worker is still importing
        return real_run(self, config, indices, write)

    monkeypatch.setattr(_Worker, "run", run_killed_once)
    seen = []
    run_shards(pooled, pooled.pending(), num_workers=2, on_done=seen.append)
    assert sorted(runs) == [0, 1, 1, 2]  # only the killed worker's shard was built twice
    assert sorted(m["shard"] for m in seen) == [0, 1, 2] and pooled.pending() == []
    for k in range(3):
        assert pooled.marker(k) == inline.marker(k)  # same files, byte for byte (checksums)
    assert len(list((tmp_path / "pooled" / "data").glob("*.parquet"))) == sum(len(m["files"]) for m in seen)


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


def _cli(*args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "warp_ir_dataset.cli", "generate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # even when pytest runs in the background
        **kwargs,
    )


def _records(out) -> list[dict]:
    rows = [r for f in sorted((out / "data").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    return sorted(rows, key=lambda r: r["index"])


def test_the_builder_and_generate_give_the_same_records_in_the_same_splits(tiny_dataset, tmp_path):
    out = tmp_path / "out"
    summary = generate_to(str(out), GenerationConfig(**TINY), shard_size=5, num_workers=1, progress=False)
    assert summary.finalized and summary.records == {split: len(rows) for split, rows in tiny_dataset.items()}
    for split, rows in tiny_dataset.items():
        written = [r for f in sorted((out / "data").glob(f"{split}-*.parquet")) for r in pq.read_table(f).to_pylist()]
        assert sorted(written, key=lambda r: r["index"]) == sorted(rows, key=lambda r: r["index"])


def test_generate_command_writes_resumable_shards_and_a_card(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["generate", "--count", "7", "--seed", "4", "--no-validate", "--shard-size", "3", "--num-workers", "1"]
    assert main([*args, "--out", str(out)]) == 0
    assert "7 records in" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} == {"README.md", "data", "plots", "stats.json", MANIFEST, ".shards"}
    assert _records(out) == list(generate_records(CONFIG, range(7)))
    times = {p: p.stat().st_mtime_ns for p in [*(out / "data").glob("*.parquet"), out / "README.md"]}
    assert main([*args, "--out", str(out)]) == 0  # a rerun of a finished build rewrites nothing, not even the card
    assert {p: p.stat().st_mtime_ns for p in times} == times
    assert main([*args[:-2], "--num-workers", "1", "--trials", "2", "--out", str(out)]) == 2
    assert "config.trials" in capsys.readouterr().err
    card = (out / "README.md").read_text()
    assert f'load_dataset("{out}")' in card and "warp-ir generate --count 7 --seed 4 --no-validate" in card
    assert main(["push", str(out), "--repo-id", "me/warp-ir", "--dry-run"]) == 0  # the card now names the repo
    assert 'ds = load_dataset("me/warp-ir")' in (out / "README.md").read_text()


def test_shard_ranges_then_finalize(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["generate", "--count", "7", "--seed", "4", "--no-validate", "--shard-size", "3", "--num-workers", "1"]
    assert main([*args, "--shards", "0-1", "--out", str(out)]) == 0
    assert "1 shards left" in capsys.readouterr().out and not (out / "README.md").exists()
    assert main(["finalize", str(out)]) == 2  # shard 2 is missing
    assert main([*args, "--shards", "2", "--out", str(out)]) == 0
    assert main(["finalize", str(out)]) == 0 and (out / "README.md").is_file()
    assert _records(out) == list(generate_records(CONFIG, range(7)))
    assert main([*args, "--shards", "3-4", "--out", str(out)]) == 2


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL])
def test_an_interrupted_build_resumes_to_the_records_of_an_uninterrupted_one(tmp_path, stop):
    out = tmp_path / "out"
    args = ["--count", "24", "--seed", "2", "--shard-size", "4", "--num-workers", "2", "--trials", "1"]
    first = _cli(*args, "--out", str(out), start_new_session=True)
    deadline = time.monotonic() + 300
    while not list((out / ".shards").glob("*.json")) if out.exists() else True:
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.05)
    os.killpg(first.pid, stop) if stop == signal.SIGKILL else first.send_signal(stop)
    stopped = time.monotonic()
    _, err = first.communicate(timeout=60)
    if stop == signal.SIGINT:
        assert first.returncode == 130 and time.monotonic() - stopped < 5
        assert "rerun the same command to resume" in err and "Traceback" not in err
    done = {p: p.stat().st_mtime_ns for p in (out / "data").glob("*.parquet")}
    second = _cli(*args, "--out", str(out))
    assert second.wait(timeout=600) == 0, second.stderr.read()
    assert all(p.stat().st_mtime_ns == t for p, t in done.items() if p.exists())  # done shards are kept
    reference, hf_home = tmp_path / "reference", tmp_path / "hf_home"
    assert _cli(*args, "--out", str(reference), env={"HF_HOME": str(hf_home)}).wait(timeout=600) == 0
    assert _records(out) == _records(reference)
    assert not [p for p in hf_home.rglob("*") if p.is_file()]  # no second copy in the datasets cache


def _ray_shard_killed_on_first_try(out, config, shard_size, k):
    """Runs in a Ray worker: on shard 1's first try, write the shard's files, then die before its marker."""
    from pathlib import Path

    from warp_ir_dataset import shards

    flag = Path(out).parent / "killed-once"
    if k == 1 and not flag.exists():
        flag.touch()
        store = shards.ShardStore(out, shards.ShardPlan(shards.GenerationConfig(**config), shard_size))
        records, drops = shards.build_shard(store.plan, k)
        store.write(k, records, drops)
        store.fs.rm(store.path(f"{shards.MARKERS}/{k:05d}.json"))  # as if killed between files and marker
        os.kill(os.getpid(), signal.SIGKILL)
    return shards._ray_shard(out, config, shard_size, k)


@pytest.mark.slow
def test_the_ray_engine_writes_the_local_engines_shards_and_retries_a_killed_task(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    from ray import cloudpickle

    from warp_ir_dataset import shards

    plan = ShardPlan(CONFIG, shard_size=3)
    local = ShardStore(str(tmp_path / "local"), plan)
    local.open()
    run_shards(local, local.pending(), num_workers=1)
    remote = ShardStore(str(tmp_path / "ray"), plan)
    remote.open()
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the test's task is not importable in workers
    monkeypatch.setattr(shards, "_ray_shard", _ray_shard_killed_on_first_try)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        markers = run_shards_ray(remote, remote.pending())
    finally:
        ray.shutdown()
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert (tmp_path / "killed-once").exists()  # shard 1's first try died after writing its files
    assert sorted(m["shard"] for m in markers) == [0, 1, 2] and remote.pending() == []
    assert [remote.marker(k) for k in range(3)] == [local.marker(k) for k in range(3)]
    names = sorted(p.name for p in (tmp_path / "ray" / "data").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "local" / "data").iterdir())  # no duplicates, no leftovers
