"""Stage timers: seconds per pipeline stage, accumulated in a Counter (summable across workers)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

#: Stages in pipeline order, as reported by the benchmark.
STAGES = ("synthesis", "load", "extraction", "cpu_compile", "ptx", "launch")


@contextmanager
def timed(seconds: Counter, stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds[stage] += time.perf_counter() - start
