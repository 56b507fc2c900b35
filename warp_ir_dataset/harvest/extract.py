"""Harvesting: every kernel of some Warp code, as records of the dataset's schema, with provenance.

Each module is imported in a fresh worker process (``harvest.worker``), several at a time. A module that
raises, exits, hangs past ``import_timeout`` or crashes at import is skipped and counted by reason; nothing
it does reaches this process. Records are deduplicated exactly (on the source without comments and
formatting), sorted by origin and assigned to splits by a hash of their origin; near-duplicates take the
split of the first of their group, so no split holds a near-copy of another's kernel.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ..config import SPLITS
from ..errors import BuildInterrupted, FailureReason
from .source import normalized
from .targets import ModuleJob, resolve_targets

#: What ``source="harvested"`` takes by default: Warp's own modules (Apache-2.0).
WARP_PACKAGES = ("warp.examples", "warp.tests", "warp.fem", "warp.sparse", "warp.optim")
#: ``generator_version`` of harvested records: the version of this harvester's record layout.
HARVEST_VERSION = "harvest-1"
#: Seconds a module may take to import, and to be harvested in all (compiles and launches included).
IMPORT_TIMEOUT = 60.0
MODULE_TIMEOUT = 1800.0
#: Seconds one CPU launch on synthesized inputs may take before its worker is stopped (a kernel waiting on a
#: lock that the made-up inputs never release would run forever).
LAUNCH_TIMEOUT = 10.0
#: Worker processes running now (killed on Ctrl-C).
_LIVE: set[subprocess.Popen] = set()


@dataclass
class ModuleResult:
    job: ModuleJob
    skipped: str | None = None
    detail: str | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)
    failure_details: list[tuple[str, str, str]] = field(default_factory=list)  # (origin, reason, detail)
    generic_without_overloads: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class HarvestReport:
    """What a harvest found: modules imported and skipped (with reasons), kernels found (overloads counted
    one by one), kernels that did not become records (by reason), records, duplicates removed, and the
    shares of records with self-contained Python and with a CPU launch."""

    targets: list[str]
    modules_imported: list[str] = field(default_factory=list)
    modules_skipped: dict[str, str] = field(default_factory=dict)
    skip_details: dict[str, str] = field(default_factory=dict)
    kernels_found: int = 0
    generic_without_overloads: int = 0
    kernels_failed: dict[str, int] = field(default_factory=dict)
    failure_details: dict[str, str] = field(default_factory=dict)  # origin -> "reason: message"
    records_before_deduplication: int = 0
    duplicates_removed: int = 0
    records: int = 0
    records_per_split: dict[str, int] = field(default_factory=dict)
    self_contained: int = 0
    compiled: int = 0
    all_ir_fields: int = 0
    launched: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def built_share(self) -> float:
        """Share of the kernels found that have all four IR fields and compiled for the CPU (before
        deduplication, which removes copies, not failures)."""
        return self.records_before_deduplication / self.kernels_found if self.kernels_found else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "built_share": self.built_share}

    def describe(self) -> str:
        skipped = Counter(self.modules_skipped.values())
        lines = [
            f"modules: {len(self.modules_imported)} imported, {len(self.modules_skipped)} skipped"
            + (f" ({', '.join(f'{r} {n}' for r, n in sorted(skipped.items()))})" if skipped else ""),
            f"kernels found (each overload of a generic kernel counted): {self.kernels_found}; with all four IR "
            f"fields and a CPU compile: {self.records_before_deduplication} ({self.built_share:.1%})",
            f"generic kernels with no overload registered (no concrete code, not counted above): "
            f"{self.generic_without_overloads}",
            "kernels left out by reason: "
            + (", ".join(f"{r} {n}" for r, n in sorted(self.kernels_failed.items())) or "none"),
            f"records: {self.records} after removing {self.duplicates_removed} exact duplicates; self-contained "
            f"python_source: {self.self_contained} ({self.self_contained / max(self.records, 1):.1%})",
            "CPU launch on synthesized inputs: " + ", ".join(f"{k} {v}" for k, v in sorted(self.launched.items())),
            f"{self.seconds:.1f} s",
        ]
        return "\n".join(lines)


def extract_records(
    targets: str | Sequence[str],
    *,
    count: int | None = None,
    include_ptx: bool = False,
    ptx_arch: int = 90,
    launch: bool = True,
    cpu_optimization_level: int = 0,
    split_ratios: tuple[float, float, float] = (0.9, 0.05, 0.05),
    num_workers: int | None = None,
    import_timeout: float = IMPORT_TIMEOUT,
    module_timeout: float = MODULE_TIMEOUT,
    launch_timeout: float = LAUNCH_TIMEOUT,
    progress: bool = True,
    out_check: str | None = None,
) -> tuple[list[dict[str, Any]], HarvestReport]:
    """Every kernel in ``targets`` (module or package names, ``.py`` files, folders) as a record.

    Returns the records (sorted by origin, at most ``count``) and a :class:`HarvestReport`.

    ``out_check``: an output location to check (new or empty) before any work.

    Raises:
        ConfigError: a target that is neither an installed module, a ``.py`` file nor a folder.
    """
    from tqdm.auto import tqdm

    start = time.perf_counter()
    targets = [targets] if isinstance(targets, str) else list(targets)
    jobs = resolve_targets(targets)
    if out_check is not None:  # refuse a bad output before any import
        from .write import check_output

        check_output(out_check)
    names = [job.name for job in jobs]
    task = {
        "targets": names,
        "include_ptx": include_ptx,
        "ptx_arch": ptx_arch,
        "launch": launch,
        "cpu_optimization_level": cpu_optimization_level,
    }
    workers = num_workers or os.cpu_count() or 1
    results: list[ModuleResult] = []
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        with tqdm(total=len(jobs), unit="module", desc="extract", disable=not progress) as bar:
            futures = [
                pool.submit(_run_module, job, task, import_timeout, module_timeout, launch_timeout) for job in jobs
            ]
            for future in as_completed(futures):  # the order does not matter: _collect sorts
                results.append(future.result())
                bar.update(1)
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        for process in list(_LIVE):  # workers run in their own sessions: Ctrl-C does not reach them
            _kill(process)
        raise BuildInterrupted(
            f"interrupted: {len(results)} of {len(jobs)} modules harvested, nothing written; rerun to start over"
        ) from None
    pool.shutdown()
    records, report = _collect(targets, results, split_ratios, count)
    report.seconds = time.perf_counter() - start
    return records, report


def harvest_config(
    config: Any, num_workers: int | None = None, progress: bool = True
) -> tuple[list[dict], HarvestReport]:
    """:func:`extract_records` for a ``GenerationConfig`` with ``source="harvested"`` (the builder and
    ``warp-ir generate`` both call this)."""
    return extract_records(
        list(config.packages or WARP_PACKAGES),
        count=config.count,
        include_ptx=config.include_ptx,
        ptx_arch=config.ptx_arch,
        launch=config.validate,
        cpu_optimization_level=config.cpu_optimization_level,
        split_ratios=config.split_ratios,
        num_workers=num_workers,
        progress=progress,
    )


def _run_module(
    job: ModuleJob, common: dict[str, Any], import_timeout: float, module_timeout: float, launch_timeout: float
) -> ModuleResult:
    """Harvest one module in a fresh worker process; whatever happens there, return a result."""
    from .. import warp_internals as wi

    result = ModuleResult(job)
    start = time.monotonic()
    with tempfile.TemporaryFile(mode="w+") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "warp_ir_dataset.harvest.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,  # its own process group: a timeout ends whatever the module started
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        _LIVE.add(process)
        lines: queue.Queue[str | None] = queue.Queue()
        reader = threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True)
        reader.start()
        process.stdin.write(json.dumps({**common, "module": job.name, "path": job.path}) + "\n")
        process.stdin.close()
        imported, done, launching = False, False, None
        by_number: dict[int, dict[str, Any]] = {}
        launch_started = 0.0
        while True:
            deadline = start + (module_timeout if imported else import_timeout)
            if launching is not None:
                deadline = min(deadline, launch_started + launch_timeout)
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                _kill(process)
                if launching is not None and launching in by_number:  # a launch that never ends (a spin lock)
                    by_number[launching]["launched_cpu"] = False
                    done = True  # the records are in; the launches after this one are not tried
                    break
                if not imported:
                    result.skipped, result.detail = FailureReason.IMPORT_TIMEOUT, f"no import after {import_timeout} s"
                else:
                    result.skipped, result.detail = FailureReason.WORKER_CRASH, f"not done after {module_timeout} s"
                break
            if line is None:  # the process ended
                break
            message = json.loads(line)
            if "imported" in message:
                imported = True
            elif "skipped" in message:
                result.skipped, result.detail = message["skipped"], message.get("detail")
            elif "generic_without_overloads" in message:
                result.generic_without_overloads.append(message["generic_without_overloads"])
                result.failures[FailureReason.GENERIC_WITHOUT_OVERLOADS] += 1
            elif "failed" in message:
                result.failures[message["failed"]] += 1
                result.failure_details.append((message["origin"], message["failed"], message.get("detail") or ""))
            elif "record" in message:
                by_number[message["n"]] = message["record"]
                result.records.append(message["record"])
            elif "launching" in message:
                launching, launch_started = message["launching"], time.monotonic()
            elif "launched" in message:
                record = by_number.get(message["launched"])
                if record is not None:
                    record["launched_cpu"] = message.get("ok")
                    if message.get("ok"):
                        record["outputs_finite"] = message.get("finite")
                        record["validation_trials"] = 1
                launching = None
            elif "done" in message:
                done = True
        process.wait()
        if not done and result.skipped is None:
            stderr.seek(0)
            tail = stderr.read()[-1500:]
            if not imported:
                result.skipped = FailureReason.IMPORT_CRASH
                result.detail = f"exit code {process.returncode}: {tail}"
            elif launching is not None and launching in by_number:
                by_number[launching]["launched_cpu"] = False  # its launch killed the process; the rest untried
            else:
                result.skipped = FailureReason.WORKER_CRASH
                result.detail = f"exit code {process.returncode}: {tail}"
                result.records.clear()
        if result.skipped == FailureReason.WORKER_CRASH:
            result.records.clear()
    _LIVE.discard(process)
    wi.remove_scratch_of(process.pid)
    result.seconds = time.monotonic() - start
    return result


def _read_lines(stream: Any, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def _collect(
    targets: list[str], results: list[ModuleResult], split_ratios: tuple[float, float, float], count: int | None
) -> tuple[list[dict[str, Any]], HarvestReport]:
    report = HarvestReport(targets)
    failed: Counter = Counter()
    raw: list[dict[str, Any]] = []
    for result in sorted(results, key=lambda r: r.job.name):
        if result.skipped and not result.records:
            report.modules_skipped[result.job.name] = str(result.skipped)
            report.skip_details[result.job.name] = (result.detail or "")[:500]
            continue
        report.modules_imported.append(result.job.name)
        failed.update(result.failures)
        for origin, reason, detail in result.failure_details:
            report.failure_details.setdefault(origin, f"{reason}: {detail[:400]}")
        raw += result.records
    report.generic_without_overloads = failed.pop(FailureReason.GENERIC_WITHOUT_OVERLOADS, 0)
    report.kernels_found = len(raw) + sum(failed.values())
    report.kernels_failed = {str(k): v for k, v in sorted(failed.items())}
    report.records_before_deduplication = len(raw)
    raw.sort(key=lambda r: (r["origin"], r["python_source"]))
    seen: set[str] = set()
    unique = []
    for record in raw:
        # the overload's types too: a generic kernel's overloads are different kernels, even when their types
        # have no plain spelling for a wp.overload line in the source
        key = normalized(record["python_source"]) + ("\0" + record["symbol"] if record.get("overload") else "")
        if key not in seen:
            seen.add(key)
            unique.append(record)
    report.duplicates_removed = len(raw) - len(unique)
    if count is not None:
        unique = unique[:count]
    records = [_final_record(r, index) for index, r in enumerate(unique)]
    _assign_splits(records, split_ratios)
    report.records = len(records)
    report.records_per_split = {s: n for s in SPLITS if (n := sum(r["split"] == s for r in records))}
    report.self_contained = sum(r["python_self_contained"] for r in records)
    report.compiled = sum(bool(r["compiled"]) for r in records)
    report.all_ir_fields = sum(
        all(r[f] for f in ("cpp_forward", "cpp_backward", "cuda_forward", "cuda_backward")) for r in records
    )
    launched = Counter({True: 0, False: 0, None: 0})
    launched.update(r["launched_cpu"] for r in records)
    report.launched = {{True: "true", False: "false", None: "not tried"}[k]: v for k, v in launched.items()}
    return records, report


def _final_record(raw: dict[str, Any], index: int) -> dict[str, Any]:
    """A worker's record in the dataset's schema (``FEATURES``), with provenance."""
    from ..schema import COLUMNS

    package, version, license_ = distribution_of(raw["func_module"], raw["module"])
    digest = hashlib.blake2b(f"harvested|{raw['origin']}|{normalized(raw['python_source'])}".encode(), digest_size=8)
    record = {name: None for name in COLUMNS}
    record.update(
        {k: v for k, v in raw.items() if k in record},
        id=digest.hexdigest(),
        index=index,
        attempt=0,
        failed_attempts=[],
        category="harvested",
        generator_version=HARVEST_VERSION,
        source="harvested",
        package=package,
        package_version=version,
        license=license_,
    )
    return record


def _assign_splits(records: list[dict[str, Any]], ratios: tuple[float, float, float]) -> None:
    """``record["split"]``: a hash of its origin, or of its near-duplicate group's first origin."""
    from ..pipeline import split_of_key
    from ..stats import near_duplicate_groups

    first = near_duplicate_groups(records)
    origin = {r["id"]: r["origin"] for r in records}
    for record in records:
        record["split"] = split_of_key(origin[first.get(record["id"], record["id"])], ratios)


@cache
def _distributions() -> dict[str, list[str]]:
    from importlib.metadata import packages_distributions

    return packages_distributions()


def distribution_of(func_module: str, module: str) -> tuple[str | None, str | None, str | None]:
    """The installed distribution a module comes from: its name, version and license (``None`` for code that
    is not installed, such as a folder or file target)."""
    from importlib import metadata

    for name in (module, func_module):
        top = name.split(".")[0]
        for dist_name in _distributions().get(top, []):
            try:
                dist = metadata.distribution(dist_name)
            except metadata.PackageNotFoundError:
                continue
            return dist.metadata["Name"], dist.version, _license(dist.metadata)
    return None, None, None


def _license(meta: Any) -> str | None:
    expression = meta.get("License-Expression")
    if expression:
        return expression
    classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    text = meta.get("License")
    if classifiers:
        return classifiers[0]
    return text.splitlines()[0][:100] if text else None
