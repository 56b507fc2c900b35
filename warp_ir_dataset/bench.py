"""Throughput benchmark: the project's pipeline against one-kernel-per-module, on the same kernels, in one run.

Measured, in this order, each with a fresh Warp kernel cache:

(a) baseline: each kernel alone in its own Warp module at Warp's default CPU optimization level, built,
    extracted and launched one after the other in this (warmed-up) process: what the predecessor did;
(b) the default pipeline in this process (batched modules, CPU compile at -O0, launch validation,
    CUDA source, forward and backward);
(c) IR only (``validate=False``): code generation without compiling;
(d) the default pipeline with ``num_workers`` worker processes;
(e) the default pipeline with ``include_ptx=True`` (NVRTC), in this process;
plus the time to write the records as Parquet. Every figure is samples per second and a ratio against (a).
Clang's precompiled headers are built first, in a private shared folder: a one-time cost per machine,
not part of any run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import resource
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from . import warp_internals as wi
from .compile import BatchCompiler
from .config import BuildSettings, GenerationConfig
from .errors import WarpIRError
from .pipeline import check_kernel, generate_records, shards
from .synth import SynthesisConfig, synthesize_kernel
from .timing import STAGES, timed
from .workers import WorkerPool


def _fresh_cache() -> None:
    wi.init_warp(wi.scratch_dir("bench_cache_"))


def _baseline(config: GenerationConfig, indices: list[int], seconds: Counter) -> float:
    """One module per kernel, Warp's default optimization level, sequential. Returns elapsed seconds."""
    sources = [synthesize_kernel(config.synthesis, i) for i in indices]
    settings = dataclasses.replace(config.build, cpu_optimization_level=None)
    start = time.perf_counter()
    for source in sources:
        compiler = BatchCompiler(settings, seconds)
        (built,) = compiler.build([source])
        with timed(seconds, "launch"):
            check_kernel(built, config)
        compiler.release()
    return time.perf_counter() - start


def _in_process(config: GenerationConfig, indices: list[int], seconds: Counter) -> tuple[float, list[dict]]:
    start = time.perf_counter()
    records = list(generate_records(config, indices, seconds=seconds))
    return time.perf_counter() - start, records


def _warm_up_headers(seed: int, levels: tuple[int | None, ...] = (None, 0)) -> None:
    """Build Clang's precompiled headers (for each optimization level) before anything is timed.

    They are a one-time cost per machine (shared between processes through ``WARP_IR_PCH_CACHE``), so
    every run, the worker processes' included, is measured with them in place.
    """
    for level in levels:
        warmup = BatchCompiler(BuildSettings(cpu_optimization_level=level))
        warmup.build([synthesize_kernel(SynthesisConfig(seed=seed + 1), 0)])
        warmup.release()


@contextlib.contextmanager
def _private_header_folder() -> Iterator[None]:
    """A fresh shared-header folder for the benchmark, so figures do not depend on earlier runs."""
    saved = os.environ.get(wi.PCH_CACHE_ENV)
    with tempfile.TemporaryDirectory(prefix="warp_ir_bench_pch_") as folder:
        os.environ[wi.PCH_CACHE_ENV] = folder
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop(wi.PCH_CACHE_ENV, None)
            else:
                os.environ[wi.PCH_CACHE_ENV] = saved


def _parquet_seconds(records: list[dict]) -> float:
    import datasets

    from .schema import FEATURES

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        datasets.Dataset.from_list(records, features=FEATURES).to_parquet(os.path.join(tmp, "bench.parquet"))
        return time.perf_counter() - start


def run_sweep(count: int, seed: int, batch_sizes: tuple[int, ...], levels: tuple[int, ...]) -> dict[str, Any]:
    """The in-process pipeline at each batch size (level 0) and each CPU optimization level (largest batch)."""
    indices = list(range(count))
    results: dict[str, Any] = {}
    settings = [(b, 0) for b in batch_sizes] + [(max(batch_sizes), lv) for lv in levels if lv != 0]
    with _private_header_folder():
        _fresh_cache()
        _warm_up_headers(seed, tuple({level for _, level in settings}))
        for batch_size, level in settings:
            _fresh_cache()
            config = GenerationConfig(count=count, seed=seed, batch_size=batch_size, cpu_optimization_level=level)
            elapsed, _ = _in_process(config, indices, Counter())
            results[f"batch {batch_size}, -O{level}"] = round(count / elapsed, 3)
    return results


def run_benchmark(count: int = 64, seed: int = 0, num_workers: int = 2, batch_size: int = 32) -> dict[str, Any]:
    """Run (a)-(e) on samples ``0..count-1`` of ``seed``; return every figure."""
    with _private_header_folder():
        runs = _Runs(count)
        _run_all(runs, GenerationConfig(count=count, seed=seed, batch_size=batch_size), num_workers)
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
        },
        "warp_version": wi.warp_version(),
        "count": count,
        "seed": seed,
        "batch_size": batch_size,
        "num_workers": num_workers,
        "peak_rss_mb_main": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "runs": runs.with_ratios("a_baseline_one_module_per_kernel"),
    }


class _Runs(dict):
    """Figures per run: seconds, samples/s, seconds per stage, and extras."""

    def __init__(self, count: int):
        super().__init__()
        self.count = count

    def add(self, name: str, elapsed: float, seconds: Counter, **extra: Any) -> None:
        self[name] = {
            "seconds": elapsed,
            "samples_per_s": self.count / elapsed,
            "stages": {k: round(seconds.get(k, 0.0), 3) for k in STAGES if seconds.get(k)},
            **extra,
        }

    def with_ratios(self, baseline: str) -> dict[str, dict[str, Any]]:
        base = self[baseline]["samples_per_s"]
        return {name: {**run, "ratio_vs_baseline": run["samples_per_s"] / base} for name, run in self.items()}


def _run_all(runs: _Runs, default: GenerationConfig, num_workers: int) -> None:
    indices = list(range(default.count))
    _fresh_cache()
    _warm_up_headers(default.seed)
    seconds: Counter = Counter()
    runs.add("a_baseline_one_module_per_kernel", _baseline(default, indices, seconds), seconds)

    _fresh_cache()
    seconds = Counter()
    elapsed, records = _in_process(default, indices, seconds)
    runs.add("b_default_in_process", elapsed, seconds, parquet_seconds=round(_parquet_seconds(records), 3))

    _fresh_cache()
    seconds = Counter()
    elapsed, _ = _in_process(dataclasses.replace(default, validate=False), indices, seconds)
    runs.add("c_ir_only", elapsed, seconds)

    seconds = Counter()
    start = time.perf_counter()
    parallel_records = []
    with WorkerPool(num_workers) as pool:
        for result in pool.map(default, shards(indices, default.batch_size)):
            parallel_records.extend(result.records)
            seconds.update(result.seconds)  # summed over workers: CPU seconds, not wall time
    elapsed = time.perf_counter() - start
    if parallel_records != records:
        raise WarpIRError("worker processes produced different records from the in-process run: report this")
    peak = [round(kb / 1024, 1) for kb in pool.peak_rss_kb]
    runs.add(f"d_default_{num_workers}_workers", elapsed, seconds, peak_rss_mb_per_worker=peak)

    _fresh_cache()
    seconds = Counter()
    elapsed, _ = _in_process(dataclasses.replace(default, include_ptx=True), indices, seconds)
    runs.add("e_default_with_ptx", elapsed, seconds)


def format_benchmark(result: dict[str, Any]) -> str:
    lines = [
        f"warp-ir bench: {result['count']} kernels (seed {result['seed']}), batch {result['batch_size']}, "
        f"warp {result['warp_version']}, {result['machine']['cpus']} CPUs"
    ]
    for name, run in result["runs"].items():
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in run["stages"].items())
        lines.append(f"{name:36s} {run['samples_per_s']:8.2f} samples/s  x{run['ratio_vs_baseline']:6.2f}  [{stages}]")
        for key in ("parquet_seconds", "peak_rss_mb_per_worker"):
            if key in run:
                lines.append(f"{'':36s} {key}: {run[key]}")
    lines.append(f"peak RSS of the main process: {result['peak_rss_mb_main']} MB")
    return "\n".join(lines)


def dumps(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2, sort_keys=True)
