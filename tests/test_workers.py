"""Worker processes: same records as in-process, a killed worker is a clear error, never a hang."""

from __future__ import annotations

import tempfile
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


def test_pool_reports_a_worker_killed_mid_build(monkeypatch):
    real_run = _Worker.run

    killed = []

    def run_then_die(self, config, indices, write=None):
        if 4 in indices:
            killed.append(self.process.pid)
            self.process.kill()
        return real_run(self, config, indices, write)

    monkeypatch.setattr(_Worker, "run", run_then_die)
    config = GenerationConfig(count=6, seed=8, complexity=(1, 1), validate=False)
    with WorkerPool(2) as pool, pytest.raises(WorkerError, match="samples 4..5"):
        list(pool.map(config, [[0, 1], [2, 3], [4, 5]]))
    # the killed worker had made its scratch folder (kernel cache); the pool removed it
    assert not list(Path(tempfile.gettempdir()).glob(f"warp_ir_{killed[0]}_*"))
