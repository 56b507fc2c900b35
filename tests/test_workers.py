"""Worker processes: same records as in-process; a killed worker's shard is redone once, then a clear error."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import pytest

from warp_ir_dataset import GenerationConfig, generate_records
from warp_ir_dataset.workers import WorkerError, WorkerPool, _Worker

pytestmark = pytest.mark.slow  # worker processes compile kernels


def test_pool_matches_in_process_generation():
    config = GenerationConfig(count=6, seed=8, complexity=(1, 2), validate=False)
    shards = [[0, 1], [2, 3], [4, 5]]
    with WorkerPool(2, recycle_after=1) as pool:  # recycle after every shard: fresh workers still agree
        results = list(pool.map(config, shards))
    assert [r["index"] for res in results for r in res.records] == list(range(6))
    assert [r for res in results for r in res.records] == list(generate_records(config, range(6)))
    assert all(res.stats["generated"] == 2 for res in results)
    assert all(rss > 0 for rss in pool.peak_rss_kb)


def test_killed_worker_is_a_clear_error():
    worker = _Worker()
    worker.process.kill()
    worker.process.wait()
    with pytest.raises(WorkerError, match=r"worker process died \(exit code -9\) while generating samples 3\.\.4"):
        worker.run(GenerationConfig(count=5), [3, 4])
    worker.stop()


def test_a_shard_whose_worker_is_killed_is_redone_in_a_fresh_worker_and_no_other(monkeypatch):
    real_run = _Worker.run
    runs = []

    def run_killed_once(self, config, indices, write=None):
        runs.append(indices[0])
        if indices[0] == 2 and runs.count(2) == 1:
            threading.Timer(0.3, self.process.kill).start()  # mid-shard: a fresh worker is still importing
        return real_run(self, config, indices, write)

    monkeypatch.setattr(_Worker, "run", run_killed_once)
    config = GenerationConfig(count=6, seed=8, complexity=(1, 1), validate=False)
    with WorkerPool(2, recycle_after=1) as pool:
        results = list(pool.map(config, [[0, 1], [2, 3], [4, 5]]))
    assert sorted(runs) == [0, 2, 2, 4] and pool.redone == [2]
    assert [r for res in results for r in res.records] == list(generate_records(config, range(6)))


def test_pool_reports_a_worker_killed_on_every_try(monkeypatch):
    real_run = _Worker.run

    killed = []

    def run_then_die(self, config, indices, write=None):
        if 4 in indices:
            killed.append(self.process.pid)
            self.process.kill()
        return real_run(self, config, indices, write)

    monkeypatch.setattr(_Worker, "run", run_then_die)
    config = GenerationConfig(count=6, seed=8, complexity=(1, 1), validate=False)
    with (
        WorkerPool(2) as pool,
        pytest.raises(WorkerError, match=r"samples 4\.\.5(.|\n)*try 2: its worker died each time"),
    ):
        list(pool.map(config, [[0, 1], [2, 3], [4, 5]]))
    assert len(killed) == 2  # one retry, bounded
    # the killed workers had made their scratch folders (kernel caches); the pool removed them
    assert not [p for pid in killed for p in Path(tempfile.gettempdir()).glob(f"warp_ir_{pid}_*")]
