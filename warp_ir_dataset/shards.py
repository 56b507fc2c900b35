"""Shards owned by the package: fixed index ranges, written atomically, resumable, on any fsspec path.

Shard ``k`` of a build holds sample indices ``[k*S, (k+1)*S)``. Its records are written, one Parquet file
per split, under a temporary name, flushed and renamed to the Hub layout name
``data/{split}-{k:05d}-of-{K:05d}.parquet``; then a completion marker ``.shards/{k:05d}.json`` records its
rows, its drops by reason and the files' checksums. A shard without a marker is built again; stray
temporary files are ignored. ``manifest.json`` is written first: a run into a folder whose manifest
differs is refused, naming the field; the same manifest resumes.

Every engine (the builder, the local pool, Ray tasks, a ``--shards A-B`` run) builds records with
:func:`build_records`, so the same seed, count and config give the same records everywhere.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from ._version import __version__
from .config import SPLITS, GenerationConfig, default_shard_size
from .errors import BuildInterrupted, WarpIRError
from .synth import GENERATOR_VERSION

MANIFEST = "manifest.json"
CARD = "README.md"
MARKERS = ".shards"
#: Rows per Parquet row group: small enough for the Hub's dataset viewer and for streaming.
ROW_GROUP_ROWS = 100


class OutputError(WarpIRError, ValueError):
    """The output location cannot take this build (a different manifest, a file, not writable)."""


@dataclass(frozen=True)
class ShardPlan:
    """A build cut into shards of ``shard_size`` sample indices."""

    config: GenerationConfig
    shard_size: int

    def __post_init__(self) -> None:
        if isinstance(self.shard_size, bool) or not isinstance(self.shard_size, int) or self.shard_size < 1:
            raise OutputError(f"shard_size must be a positive int, got {self.shard_size!r}")

    @property
    def num_shards(self) -> int:
        return -(-self.config.count // self.shard_size)

    def indices(self, k: int) -> range:
        if not 0 <= k < self.num_shards:
            raise OutputError(f"shard {k} does not exist: this build has shards 0-{self.num_shards - 1}")
        return range(k * self.shard_size, min((k + 1) * self.shard_size, self.config.count))

    def file_name(self, split: str, k: int) -> str:
        return f"data/{split}-{k:05d}-of-{self.num_shards:05d}.parquet"

    def manifest(self) -> dict[str, Any]:
        from .warp_internals import warp_version

        return {
            "seed": self.config.seed,
            "count": self.config.count,
            "shard_size": self.shard_size,
            "config": json.loads(json.dumps(self.config.generation_kwargs())),
            "package_version": __version__,
            "generator_version": GENERATOR_VERSION,
            "warp_version": warp_version(),
        }


def manifest_difference(found: dict[str, Any], wanted: dict[str, Any]) -> str | None:
    """The first field (``config.trials`` for a config field) where two manifests differ, with both values."""
    for key in sorted(set(found) | set(wanted)):
        if key == "config":
            inner = manifest_difference(found.get(key) or {}, wanted.get(key) or {})
            if inner:
                return f"config.{inner}"
        elif found.get(key) != wanted.get(key):
            return f"{key}: the folder has {found.get(key)!r}, this run asks for {wanted.get(key)!r}"
    return None


class ShardStore:
    """A build's output location (a local path or an fsspec URL): manifest, shard files and markers."""

    def __init__(self, out: str, plan: ShardPlan):
        self.plan = plan
        self.fs, self.root = fsspec.core.url_to_fs(str(out))
        self.url = str(out)

    def path(self, relative: str) -> str:
        return f"{self.root.rstrip('/')}/{relative}"

    def open(self) -> None:
        """Check the location and write the manifest, or check the one there; before any compile work."""
        if self.fs.exists(self.root) and not self.fs.isdir(self.root):
            raise OutputError(f"--out {self.url!r} is a file; give a folder (new, or a build to resume)")
        wanted = self.plan.manifest()
        manifest = self.path(MANIFEST)
        if self.fs.exists(manifest):
            found = json.loads(self.fs.cat_file(manifest))
            difference = manifest_difference(found, wanted)
            if difference:
                raise OutputError(
                    f"--out {self.url!r} holds another build ({difference}); rerun with the same options to "
                    "resume it, or choose another folder"
                )
            return
        if self.fs.exists(self.root) and self.fs.ls(self.root):
            raise OutputError(f"--out {self.url!r} is a folder with other files and no {MANIFEST}; choose another")
        try:
            self.fs.makedirs(self.path("data"), exist_ok=True)
            self.fs.makedirs(self.path(MARKERS), exist_ok=True)
            self._write_atomically(MANIFEST, (json.dumps(wanted, indent=2, sort_keys=True) + "\n").encode())
        except OSError as exc:
            raise OutputError(f"--out {self.url!r} is not writable: {exc}") from exc

    def marker(self, k: int) -> dict[str, Any] | None:
        path = self.path(f"{MARKERS}/{k:05d}.json")
        return json.loads(self.fs.cat_file(path)) if self.fs.exists(path) else None

    def pending(self, shards: range | list[int] | None = None) -> list[int]:
        """The shards (of ``shards``, default all) that have no completion marker."""
        wanted = range(self.plan.num_shards) if shards is None else shards
        return [k for k in wanted if self.marker(k) is None]

    def write(self, k: int, records: list[dict[str, Any]], drops: Counter) -> dict[str, Any]:
        """Write shard ``k``'s files, then its marker; return the marker."""
        from . import pipeline

        by_split: dict[str, list[dict[str, Any]]] = {split: [] for split in SPLITS}
        for record in records:
            by_split[pipeline.split_of(record["seed"], record["index"], self.plan.config.split_ratios)].append(record)
        files = {}
        for split, rows in by_split.items():
            if rows:
                name = self.plan.file_name(split, k)
                files[name] = {"rows": len(rows), "sha256": self._write_atomically(name, _parquet(rows))}
        marker = {"shard": k, "rows": len(records), "drops": dict(sorted(drops.items())), "files": files}
        self._write_atomically(f"{MARKERS}/{k:05d}.json", json.dumps(marker, sort_keys=True).encode())
        return marker

    def _write_atomically(self, relative: str, data: bytes) -> str:
        """Write under a temporary name, flush it to disk, rename; return the data's sha256."""
        final = self.path(relative)
        folder, name = final.rsplit("/", 1)
        partial = f"{folder}/.{name}.{os.getpid()}.partial"
        with self.fs.open(partial, "wb") as handle:
            handle.write(data)
            handle.flush()
            if hasattr(handle, "fileno"):
                try:
                    os.fsync(handle.fileno())
                except (OSError, io.UnsupportedOperation):
                    pass
        self.fs.mv(partial, final)
        return hashlib.sha256(data).hexdigest()


def _parquet(rows: list[dict[str, Any]]) -> bytes:
    from .schema import FEATURES  # imports datasets: only where a shard is written

    table = pa.Table.from_pylist(rows, schema=FEATURES.arrow_schema)
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=ROW_GROUP_ROWS)
    return sink.getvalue()


def build_records(
    config: GenerationConfig, indices: Sequence[int], seconds: Counter | None = None
) -> tuple[list[dict[str, Any]], Counter]:
    """The records of ``indices`` (one per index, in order) and the pipeline's counts (``generated``,
    ``dropped_<reason>``): the one function the builder, worker processes and Ray tasks all run."""
    stats: Counter = Counter()
    from .pipeline import generate_records  # imports Warp: only where records are built

    records = list(generate_records(config, indices, stats, seconds))
    return records, stats


def build_shard(plan: ShardPlan, k: int) -> tuple[list[dict[str, Any]], Counter]:
    """Shard ``k``'s records and its drops by reason."""
    records, stats = build_records(plan.config, plan.indices(k))
    return records, drops_of(stats)


def drops_of(stats: Counter) -> Counter:
    """Drops by reason from the pipeline's ``dropped_<reason>`` counts."""
    return Counter({key.removeprefix("dropped_"): n for key, n in stats.items() if key.startswith("dropped_")})


def run_shards(store: ShardStore, shards: list[int], num_workers: int, on_done: Any = None) -> list[dict[str, Any]]:
    """Build and write ``shards`` of ``store``'s plan: in this process with one worker, else in a pool of
    fresh worker processes that write their shards themselves. ``on_done(marker)`` is called per shard."""
    plan = store.plan
    markers = []
    if num_workers <= 1:
        for k in shards:
            markers.append(store.write(k, *build_shard(plan, k)))
            if on_done:
                on_done(markers[-1])
        return markers
    from .workers import WorkerPool

    writes = [{"out": store.url, "shard_size": plan.shard_size, "shard": k} for k in shards]
    with WorkerPool(num_workers) as pool:
        for result in pool.map(plan.config, [list(plan.indices(k)) for k in shards], writes):
            markers.append(result.marker)
            if on_done:
                on_done(result.marker)
    return markers


def read_split_tables(store: ShardStore) -> dict[str, pa.Table]:
    """Every completed shard's rows per split, in shard order (only splits with rows)."""
    files: dict[str, list[str]] = {split: [] for split in SPLITS}
    for k in range(store.plan.num_shards):
        marker = store.marker(k)
        if marker is None:
            raise OutputError(f"shard {k} of {store.url!r} is not done; run the build again to finish it")
        for name in marker["files"]:
            files[name.split("/")[-1].split("-")[0]].append(name)
    tables = {}
    for split, names in files.items():
        if names:
            tables[split] = pa.concat_tables(pq.read_table(io.BytesIO(store.fs.cat_file(store.path(n)))) for n in names)
    return tables


def finalize(store: ShardStore, repo_id: str | None = None) -> None:
    """Write the card, its plots and ``stats.json`` from all shards (held in memory, not in any cache).
    The card's Load line names ``repo_id`` if given (``warp-ir push`` gives it), else this folder."""
    import tempfile
    from pathlib import Path

    import datasets

    from .hub import write_card_files

    dataset = datasets.DatasetDict(
        {split: datasets.Dataset(datasets.table.InMemoryTable(t)) for split, t in read_split_tables(store).items()}
    )
    with tempfile.TemporaryDirectory(prefix="warp_ir_card_") as tmp:
        write_card_files(dataset, Path(tmp), store.plan.config, repo_id, location=store.url)
        # the card last: a folder with a README.md is a finished build (see ``generate_to``)
        for path in sorted(Path(tmp).rglob("*"), key=lambda p: (p.name == CARD, str(p))):
            if path.is_file():
                relative = path.relative_to(tmp).as_posix()
                if "/" in relative:
                    store.fs.makedirs(store.path(relative.rsplit("/", 1)[0]), exist_ok=True)
                store._write_atomically(relative, path.read_bytes())


@dataclass
class BuildSummary:
    """What a run did: shards done (of all), records per split and drops by reason (over every done shard)."""

    out: str
    shards_done: int
    num_shards: int
    records: dict[str, int]
    drops: dict[str, int]
    seconds: float
    finalized: bool

    def describe(self) -> str:
        total = sum(self.records.values())
        lines = [
            f"{total} records in {self.out} ({', '.join(f'{s} {n}' for s, n in self.records.items() if n)}), "
            f"{self.shards_done} of {self.num_shards} shards, {self.seconds:.1f} s",
            "replaced kernels by reason: "
            + (", ".join(f"{k} {v}" for k, v in self.drops.items()) if self.drops else "none"),
        ]
        if self.finalized:
            lines.append(f"dataset card: {self.out.rstrip('/')}/README.md")
        elif self.shards_done < self.num_shards:
            lines.append(f"{self.num_shards - self.shards_done} shards left: rerun the same command to finish")
        return "\n".join(lines)


def generate_to(
    out: str,
    config: GenerationConfig,
    *,
    shard_size: int | None = None,
    shards: range | None = None,
    num_workers: int = 1,
    repo_id: str | None = None,
    progress: bool = True,
    engine: str = "local",
    ray_options: dict[str, Any] | None = None,
) -> BuildSummary:
    """Build the shards of ``config`` that ``out`` lacks (all, or those in ``shards``) and, once every shard
    is done, write the card. A rerun resumes; a folder holding another build is refused before any work."""
    import time

    from tqdm.auto import tqdm

    start = time.perf_counter()
    if config.source == "harvested":
        return harvest_to(out, config, num_workers=num_workers, progress=progress)
    plan = ShardPlan(config, default_shard_size(config.count) if shard_size is None else shard_size)
    store = ShardStore(out, plan)
    if shards is not None and (shards.start < 0 or shards.stop > plan.num_shards or not len(shards)):
        raise OutputError(f"--shards must lie within 0-{plan.num_shards - 1}, got {shards.start}-{shards.stop - 1}")
    store.open()
    pending = store.pending(shards)
    total = sum(len(plan.indices(k)) for k in pending)
    try:
        with tqdm(total=total, unit="record", desc="generate", disable=not progress or not total) as bar:
            on_done = lambda marker: bar.update(marker["rows"])  # noqa: E731
            try:
                if engine == "ray":
                    run_shards_ray(store, pending, **(ray_options or {}), on_done=on_done)
                else:
                    run_shards(store, pending, num_workers, on_done=on_done)
            except KeyboardInterrupt:
                bar.leave = False  # the one line that follows is all Ctrl-C prints
                raise
    except KeyboardInterrupt:
        done = plan.num_shards - len(store.pending())
        raise BuildInterrupted(
            f"interrupted: {done} of {plan.num_shards} shards done; rerun the same command to resume"
        ) from None
    markers = [m for m in (store.marker(k) for k in range(plan.num_shards)) if m is not None]
    finalized = len(markers) == plan.num_shards and shards is None
    card_written = not pending and repo_id is None and store.fs.exists(store.path(CARD))
    if finalized and not card_written:  # a rerun of a finished build writes nothing
        finalize(store, repo_id)
    records = Counter()
    drops: Counter = Counter()
    for marker in markers:
        drops.update(marker["drops"])
        for name, info in marker["files"].items():
            records[name.split("/")[-1].split("-")[0]] += info["rows"]
    return BuildSummary(
        out,
        len(markers),
        plan.num_shards,
        {s: records[s] for s in SPLITS},
        dict(sorted(drops.items())),
        time.perf_counter() - start,
        finalized,
    )


def harvest_to(out: str, config: GenerationConfig, *, num_workers: int = 1, progress: bool = True) -> BuildSummary:
    """``source="harvested"``: harvest ``config.packages`` and write the records, ``report.json``, a card and
    ``manifest.json`` (last). A harvest is one pass: a folder with the same manifest is complete; any other
    non-empty folder is refused before any import."""
    import time

    from .harvest import write_harvest
    from .harvest.extract import harvest_config
    from .harvest.write import check_output

    start = time.perf_counter()
    fs, root = fsspec.core.url_to_fs(str(out))
    manifest = {
        "config": json.loads(json.dumps(config.generation_kwargs())),
        "package_version": __version__,
        "warp_version": _warp_version(),
    }
    path = f"{root.rstrip('/')}/{MANIFEST}"
    if fs.exists(path):
        difference = manifest_difference(json.loads(fs.cat_file(path)), manifest)
        if difference:
            raise OutputError(f"--out {out!r} holds another build ({difference}); choose another folder")
        report = json.loads(fs.cat_file(f"{root.rstrip('/')}/report.json"))
        return BuildSummary(out, 1, 1, report.get("records_per_split", {}), report["kernels_failed"], 0.0, True)
    check_output(out)
    records, report = harvest_config(config, num_workers, progress)
    rows = write_harvest(records, report, out)
    with fs.open(path, "wb") as handle:
        handle.write((json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    if progress:
        print(report.describe())
    drops = dict(report.kernels_failed)
    if report.generic_without_overloads:
        drops["generic_without_overloads"] = report.generic_without_overloads
    return BuildSummary(out, 1, 1, {s: rows.get(s, 0) for s in SPLITS}, drops, time.perf_counter() - start, True)


def _warp_version() -> str:
    from .warp_internals import warp_version

    return warp_version()


def open_existing(out: str) -> ShardStore:
    """The store of a build already started in ``out`` (its manifest gives the plan)."""
    fs, root = fsspec.core.url_to_fs(str(out))
    path = f"{root.rstrip('/')}/{MANIFEST}"
    if not fs.exists(path):
        raise OutputError(f"{out!r} has no {MANIFEST}: it is not a folder written by `warp-ir generate`")
    manifest = json.loads(fs.cat_file(path))
    config = GenerationConfig(**manifest["config"])
    return ShardStore(str(out), ShardPlan(config, manifest["shard_size"]))


#: Retries of a Ray task whose worker died or that raised: bounded, because a kernel that kills the
#: compiler would otherwise be retried forever (Ray's default for map tasks).
RAY_MAX_RETRIES = 2


def _ray_shard(out: str, config: dict[str, Any], shard_size: int, k: int) -> dict[str, Any]:
    """One Ray task: build shard ``k`` and write it, or return its marker if a previous try finished it."""
    store = ShardStore(out, ShardPlan(GenerationConfig(**config), shard_size))
    marker = store.marker(k)
    if marker is None:
        marker = store.write(k, *build_shard(store.plan, k))
    return marker


def run_shards_ray(
    store: ShardStore,
    shards: list[int],
    *,
    address: str | None = None,
    num_gpus: float = 0,
    on_done: Any = None,
) -> list[dict[str, Any]]:
    """Build and write ``shards`` as Ray Core tasks (``num_cpus=1`` each), on the cluster at ``address`` (or
    ``$RAY_ADDRESS``), else on a local Ray instance started here. Files are written by the tasks under the
    shard's fixed names, so a retried task can never leave a duplicate."""
    try:
        import ray
    except ImportError:
        raise OutputError('--engine ray needs Ray: pip install "warp_ir_dataset[ray]"') from None
    started = not ray.is_initialized()
    if started:
        ray.init(address=address or os.environ.get("RAY_ADDRESS"), include_dashboard=False, log_to_driver=False)
    # max_calls: fresh worker processes now and then, since Warp keeps memory for every module it loaded
    task = ray.remote(num_cpus=1, num_gpus=num_gpus, max_retries=RAY_MAX_RETRIES, retry_exceptions=True, max_calls=16)(
        _ray_shard
    )
    config = json.loads(json.dumps(store.plan.config.generation_kwargs()))
    markers = []
    try:
        pending = [task.remote(store.url, config, store.plan.shard_size, k) for k in shards]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            try:
                markers.append(ray.get(done[0]))
            except ray.exceptions.RayError as exc:
                raise WarpIRError(
                    f"a Ray task failed after {RAY_MAX_RETRIES} retries; finished shards are kept, rerun to resume:"
                    f" {exc}"
                ) from None
            if on_done:
                on_done(markers[-1])
    finally:
        if started:
            ray.shutdown()
    return markers
