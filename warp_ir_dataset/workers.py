"""Parallel generation in worker processes.

Workers are fresh interpreters (``python -m warp_ir_dataset.workers``), not forks: they inherit none of
Warp's process-wide state (helper counters, loaded modules, a CUDA context), the user's ``__main__`` is
never re-imported (so scripts need no ``if __name__ == "__main__"`` guard), and each worker has its own
Warp kernel cache. A worker is replaced after ``recycle_after`` shards, because Warp keeps memory for
every module it has loaded, even after unloading it. A shard whose worker dies is given to a fresh worker
(``retries`` times, then the build stops with a :class:`WorkerError`); no other shard is redone.

Protocol, one JSON object per line: the parent writes ``{"config": {...}, "indices": [...]}`` to the
worker's stdin; the worker answers on its stdout with ``{"records": [...], "stats": {...},
"seconds": {...}, "peak_rss_kb": n}``. Results are yielded in shard order, so the output does not depend
on the number of workers.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any

from .config import GenerationConfig
from .errors import ConfigError, WarpIRError

#: Shards a worker builds before it is replaced by a fresh one (bounds Warp's per-module memory).
RECYCLE_AFTER = 16
#: Times a shard whose worker died is given to a fresh worker before the build stops. Bounded: a kernel that
#: kills the compiler every time must end in an error, not a loop.
SHARD_RETRIES = 1

logger = logging.getLogger(__name__)


class WorkerError(WarpIRError, RuntimeError):
    """A worker process died or answered nonsense; the message names the shard and shows its stderr."""


@dataclass
class ShardResult:
    records: list[dict[str, Any]]
    stats: Counter = field(default_factory=Counter)
    seconds: Counter = field(default_factory=Counter)
    peak_rss_kb: int = 0
    marker: dict[str, Any] | None = None  # a shard the worker wrote itself (see ``shards.ShardStore``)


class _Worker:
    def __init__(self) -> None:
        self.stderr = tempfile.TemporaryFile(mode="w+")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "warp_ir_dataset.workers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env=env,
        )
        self.shards_done = 0

    def run(self, config: GenerationConfig, indices: list[int], write: dict | None = None) -> ShardResult:
        task = {"config": config.generation_kwargs(), "indices": indices, "write": write}
        try:
            self.process.stdin.write(json.dumps(task) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            code = self.process.wait()
            raise WorkerError(
                f"a worker process died (exit code {code}) while generating samples {indices[0]}..{indices[-1]} "
                f"(seed {config.seed}); nothing from that shard was kept. Its last output:\n{self.stderr_tail()}\n"
                "Rerun to retry; if it fails again at the same samples, report the seed and indices."
            )
        self.shards_done += 1
        answer = json.loads(line)
        return ShardResult(
            answer["records"],
            Counter(answer["stats"]),
            Counter(answer["seconds"]),
            answer["peak_rss_kb"],
            answer.get("marker"),
        )

    def stderr_tail(self, chars: int = 3000) -> str:
        self.stderr.seek(0)
        return self.stderr.read()[-chars:]

    def stop(self) -> None:
        try:
            if self.process.stdin and not self.process.stdin.closed:
                self.process.stdin.close()
            self.process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        self.stderr.close()
        from . import warp_internals

        warp_internals.remove_scratch_of(self.process.pid)  # a killed worker cannot remove its own


class WorkerPool:
    """``num_workers`` worker processes, started lazily and recycled after ``recycle_after`` shards each.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, num_workers: int, recycle_after: int = RECYCLE_AFTER, retries: int = SHARD_RETRIES):
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
            raise ConfigError(f"num_workers must be a positive int, got {num_workers!r}")
        self.num_workers = num_workers
        self.recycle_after = recycle_after
        self.retries = retries
        self.redone: list[int] = []  # first sample index of each shard given to a fresh worker after a death
        self._closing = False
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(num_workers):
            self._idle.put(None)
        self._executor = ThreadPoolExecutor(max_workers=num_workers, thread_name_prefix="warp-ir-worker")
        self._live: set[_Worker] = set()  # every started worker not yet stopped, busy or idle
        self.peak_rss_kb: list[int] = []

    def _run_shard(self, config: GenerationConfig, indices: list[int], write: dict | None = None) -> ShardResult:
        """Build one shard; if its worker dies, give it to a fresh worker, up to ``retries`` times."""
        for attempt in range(self.retries + 1):
            try:
                return self._run_once(config, indices, write)
            except WorkerError as exc:
                if self._closing or attempt == self.retries:
                    if attempt:
                        raise WorkerError(
                            f"{exc}\nIt was the shard's try {attempt + 1}: its worker died each time."
                        ) from None
                    raise
                logger.warning("%s\nRetrying samples %d..%d in a fresh worker.", exc, indices[0], indices[-1])
                self.redone.append(indices[0])
        raise AssertionError("unreachable")

    def _run_once(self, config: GenerationConfig, indices: list[int], write: dict | None) -> ShardResult:
        worker = self._idle.get()
        try:
            if worker is None or worker.shards_done >= self.recycle_after:
                if worker is not None:
                    self._live.discard(worker)
                    worker.stop()
                worker = _Worker()
                self._live.add(worker)
            result = worker.run(config, indices, write)
        except BaseException:
            if worker is not None:
                self._live.discard(worker)
                worker.process.kill()
                worker.stop()
            worker = None
            raise
        finally:
            self._idle.put(worker)
        self.peak_rss_kb.append(result.peak_rss_kb)
        return result

    def map(
        self, config: GenerationConfig, shards: list[list[int]], writes: list[dict] | None = None
    ) -> Iterator[ShardResult]:
        """Build every shard; yield the results in shard order (at most ``2 * num_workers`` shards in flight).

        With ``writes`` (one ``{"out", "shard_size", "shard"}`` per shard), each worker writes its shard to the
        store itself (``shards.ShardStore``) and answers with the shard's completion marker, not its records.
        """
        tasks = iter(zip(shards, writes or [None] * len(shards), strict=True))
        pending: list[Future] = []
        for shard, write in tasks:
            pending.append(self._executor.submit(self._run_shard, config, shard, write))
            if len(pending) >= 2 * self.num_workers:
                break
        while pending:
            result = pending.pop(0).result()
            following = next(tasks, None)
            if following is not None:
                pending.append(self._executor.submit(self._run_shard, config, *following))
            yield result

    def close(self, kill: bool = False) -> None:
        """Stop the workers: let them finish their shards, or (``kill``) end them now, mid-shard."""
        self._closing = True
        if kill:  # Ctrl-C or an error: a worker mid-shard would otherwise run on until its shard is done
            for worker in list(self._live):
                worker.process.kill()
        self._executor.shutdown(wait=True, cancel_futures=True)
        while not self._idle.empty():
            worker = self._idle.get()
            if worker is not None:
                worker.stop()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(kill=exc_type is not None)


def _serve(requests: IO[str], answers: IO[str]) -> None:
    import resource

    from . import warp_internals
    from .shards import build_records

    warp_internals.init_warp()  # a private kernel cache for this worker
    for line in requests:
        task = json.loads(line)
        config = GenerationConfig(**task["config"])
        seconds: Counter = Counter()
        records, stats = build_records(config, task["indices"], seconds)
        marker = None
        if task.get("write"):  # write the shard here: its records never travel back
            marker = _write_shard(config, task["write"], records, stats)
            records = []
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        answer = {"records": records, "stats": stats, "seconds": seconds, "peak_rss_kb": peak, "marker": marker}
        answers.write(json.dumps(answer))
        answers.write("\n")
        answers.flush()


def _write_shard(config: GenerationConfig, write: dict, records: list[dict], stats: Counter) -> dict:
    from .shards import ShardPlan, ShardStore, drops_of

    store = ShardStore(write["out"], ShardPlan(config, write["shard_size"]))
    return store.write(write["shard"], records, drops_of(stats))


def main() -> None:
    # the protocol owns the real stdout; anything else printed (Warp, compilers) goes to stderr
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    _serve(sys.stdin, answers)


if __name__ == "__main__":
    main()
