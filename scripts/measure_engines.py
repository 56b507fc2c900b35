"""Sharded generation (issue 13): Ray against the local pool, Ctrl-C exit time, and the rerun of a finished build.

    python scripts/measure_engines.py [--count 1000] [--seed 0] [--shard-size S] [--repeats 1]
    python scripts/measure_engines.py --only interrupt --interrupt-repeats 5
    python scripts/measure_engines.py --only engines,rerun --keep runs/ --json engines.json

Every figure comes from ``warp-ir generate`` run as a subprocess of this script (``python -m
warp_ir_dataset.cli``), so all runs share one process tree and the ratios are fair on a noisy machine.
The environment is inherited, without ``RAY_ADDRESS``: the Ray runs start a local Ray instance themselves.

1. engines: the same build (``--count``, ``--seed``, ``--shard-size``) with ``--engine local``
   (``--num-workers`` processes) and ``--engine ray`` (one task per core), each into a fresh folder.
   Records/s = records written (the ``rows`` of the completion markers in ``.shards/``, summed) / wall
   time of the subprocess (interpreter and, for Ray, its start-up included). With ``--repeats R`` the
   runs alternate (local, ray, ray, local, ...) and the medians are compared. The records of every Ray
   folder are compared with those of the first local one: all ``data/*.parquet`` rows, sorted by ``id``.
   Target: ray/local >= 0.90, records identical.
2. interrupt: ``generate`` (local engine) in a new session; once the first shard's marker appears, SIGINT
   goes to that process alone, not to its group (its workers are its own to end), and the seconds until
   it exits are timed. Targets: exit code 130, about 1 s, stderr one line (besides the
   progress bar) and no traceback, no process of its group left behind.
3. rerun: the local command of (1) again on its finished folder, timed whole (interpreter start
   included); no shard may be rebuilt. Target: under 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

SECTIONS = ("engines", "interrupt", "rerun")
CLI = [sys.executable, "-m", "warp_ir_dataset.cli", "generate"]
RATIO_TARGET = 0.90
INTERRUPT_TARGET_S = 1.0
RERUN_TARGET_S = 5.0
RESUME_HINT = "rerun the same command to resume"
#: A line tqdm writes for the ``generate`` progress bar (its last carriage-return segment).
PROGRESS_LINE = re.compile(r"^generate:\s+\d+%\|")

Target = tuple[str, str, str, bool]


def environment() -> dict[str, str]:
    """This process's environment without ``RAY_ADDRESS``, so that ``--engine ray`` starts a local Ray."""
    return {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}


def generate_command(
    out: Path, count: int, seed: int, shard_size: int | None, num_workers: int, engine: str = "local"
) -> list[str]:
    """``warp-ir generate`` with these options (``shard_size`` ``None``: the command's default)."""
    command = CLI + ["--count", str(count), "--seed", str(seed), "--out", str(out)]
    command += ["--shard-size", str(shard_size)] if shard_size is not None else []
    return command + ["--num-workers", str(num_workers), "--engine", engine]


def run_timed(command: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    """Run ``command`` to its end; its wall time in seconds and its result. A failure stops the script."""
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=environment())
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"command failed (exit {result.returncode}): {' '.join(command)}\n{result.stderr[-4000:]}")
    return seconds, result


def markers(folder: Path) -> list[Path]:
    """The completion markers of a build folder (not their temporary ``.NNNNN.json.PID.partial`` files)."""
    return sorted((folder / ".shards").glob("[0-9]*.json"))


def rows_written(folder: Path) -> int:
    return sum(json.loads(path.read_text())["rows"] for path in markers(folder))


def records(folder: Path) -> pa.Table:
    """Every row of ``folder/data/*.parquet``, sorted by ``id``."""
    tables = [pq.read_table(path) for path in sorted((folder / "data").glob("*.parquet"))]
    return pa.concat_tables(tables).sort_by("id")


def differing_columns(a: pa.Table, b: pa.Table) -> list[str]:
    """The columns in which two tables differ (all of them when the row counts or column names differ)."""
    if a.num_rows != b.num_rows or a.column_names != b.column_names:
        return sorted(set(a.column_names) | set(b.column_names))
    return [name for name in a.column_names if not same_column(a[name], b[name])]


def same_column(a: pa.ChunkedArray, b: pa.ChunkedArray) -> bool:
    """Equal values, a NaN equal to a NaN (Arrow's ``equals`` holds NaN unequal to itself)."""
    if a.equals(b):
        return True
    if not pa.types.is_floating(a.type):
        return False
    return all(x == y or (x != x and y != y) for x, y in zip(a.to_pylist(), b.to_pylist(), strict=True))


def _seconds(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values) + f" s (median {statistics.median(values):.2f} s)"


def engines_section(args: argparse.Namespace, root: Path, report: dict) -> list[Target]:
    """Records/s of the local pool and of Ray on the same build; the same records in both."""
    print(
        f"== engines: {args.count} records, seed {args.seed}, shard size {args.shard_size}, "
        f"local with {args.num_workers} workers, ray with one task per core; {args.repeats} repeat(s)",
        flush=True,
    )
    rates: dict[str, list[float]] = {"local": [], "ray": []}
    folders: dict[str, list[Path]] = {"local": [], "ray": []}
    for repeat in range(args.repeats):
        order = ("local", "ray") if repeat % 2 == 0 else ("ray", "local")
        for engine in order:
            out = root / f"{engine}-{repeat}"
            command = generate_command(out, args.count, args.seed, args.shard_size, args.num_workers, engine)
            seconds, _ = run_timed(command)
            rows = rows_written(out)
            rates[engine].append(rows / seconds)
            folders[engine].append(out)
            print(f"{engine:5s} run {repeat + 1}: {rows} records in {seconds:.2f} s = {rows / seconds:.2f} records/s")
    local, ray = statistics.median(rates["local"]), statistics.median(rates["ray"])
    ratio = ray / local
    reference = records(folders["local"][0])
    different = {str(out): differing_columns(reference, records(out)) for out in folders["ray"]}
    identical = not any(different.values())
    print(f"local: {local:.2f} records/s (median), ray: {ray:.2f} records/s (median)")
    print(f"ray/local: {ratio:.3f} (target >= {RATIO_TARGET:.2f}): {'met' if ratio >= RATIO_TARGET else 'MISSED'}")
    print(f"records identical: {'yes' if identical else 'no'} ({reference.num_rows} rows, sorted by id)")
    for out, columns in different.items():
        if columns:
            print(f"  {out} differs from {folders['local'][0]} in: {', '.join(columns)}")
    per_core = local / args.num_workers
    print(capacity_table(per_core, args.num_workers))
    report["engines"] = {
        "count": args.count,
        "seed": args.seed,
        "shard_size": args.shard_size,
        "num_workers_local": args.num_workers,
        "records_per_s": rates,
        "median_records_per_s": {"local": local, "ray": ray},
        "ray_over_local": ratio,
        "records_identical": identical,
        "differing_columns": different,
    }
    return [
        ("ray/local records/s", f"{ratio:.3f}", f">= {RATIO_TARGET:.2f}", ratio >= RATIO_TARGET),
        ("records identical (local, ray)", "yes" if identical else "no", "yes", identical),
    ]


def capacity_table(per_core: float, cores: int) -> str:
    """Hours to 1M records on N nodes of C cores, from the local engine's records/s per core, assuming
    throughput grows linearly with cores (shards are independent; nothing is shared but the output)."""
    nodes, core_counts = (1, 4, 16, 64), (16, 32, 64)
    lines = [
        f"capacity: {per_core:.2f} records/s per core (local engine, {cores} workers on {cores} cores), so "
        f"1M records = {1e6 / per_core / 3600:.0f} core-hours; hours to 1M records:",
        "| nodes \\ cores per node | " + " | ".join(map(str, core_counts)) + " |",
        "|---|" + "---:|" * len(core_counts),
    ]
    for n in nodes:
        hours = [1e6 / (per_core * n * c) / 3600 for c in core_counts]
        lines.append(f"| {n} | " + " | ".join(f"{h:.2f}" for h in hours) + " |")
    return "\n".join(lines)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def answer_ctrl_c() -> None:
    """In the child: Ctrl-C's default handling, which a shell's background job (``cmd &``) would ignore."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for_marker(process: subprocess.Popen, folder: Path, timeout: float) -> bool:
    """Wait until ``folder`` holds a completion marker; False if the process ended or time ran out first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (folder / ".shards").is_dir() and markers(folder):
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.01)
    return False


def interrupt_once(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """One interrupted build: exit code, seconds from SIGINT to exit, its stderr and any process left behind."""
    command = generate_command(out, args.interrupt_count, args.seed, args.interrupt_shard_size, args.num_workers)
    with tempfile.TemporaryFile(mode="w+", newline="") as stderr:  # keep tqdm's carriage returns
        process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=environment(),
            start_new_session=True,
            preexec_fn=answer_ctrl_c,
        )
        try:
            if not wait_for_marker(process, out, args.marker_timeout):
                process.kill()
                process.wait()
                stderr.seek(0)
                sys.exit(f"no shard finished before the build ended or {args.marker_timeout} s:\n{stderr.read()}")
            process.send_signal(signal.SIGINT)
            start = time.perf_counter()
            try:
                code: int | None = process.wait(timeout=args.exit_timeout)
            except subprocess.TimeoutExpired:
                code = None
            seconds = time.perf_counter() - start
            left_at_exit = group_alive(process.pid)
            deadline = time.monotonic() + args.grace
            while group_alive(process.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            left_after_grace = group_alive(process.pid)
        finally:
            if group_alive(process.pid):
                os.killpg(process.pid, signal.SIGKILL)  # the group of the session this script started
            process.wait()
        stderr.seek(0)
        text = stderr.read()
    # split on newlines only: tqdm redraws its bar in place with carriage returns
    lines = [line.split("\r")[-1] for line in text.split("\n") if line.strip()]
    messages = [line for line in lines if line.strip() and not PROGRESS_LINE.match(line)]
    return {
        "exit_code": code,
        "seconds": seconds,
        "shards_done": len(markers(out)),
        "stderr_lines": len(lines),
        "stderr_lines_besides_progress": len(messages),
        "stderr_messages": messages,
        "stderr": lines,
        "traceback": "Traceback" in text,
        "resume_hint": any(RESUME_HINT in line for line in messages),
        "processes_left_at_exit": left_at_exit,
        "processes_left_after_grace": left_after_grace,
    }


def interrupt_section(args: argparse.Namespace, root: Path, report: dict) -> list[Target]:
    """Ctrl-C during a local build, ``interrupt_repeats`` times."""
    print(
        f"== interrupt: {args.interrupt_count} records, shard size {args.interrupt_shard_size}, local engine "
        f"with {args.num_workers} workers; SIGINT once the first shard is done",
        flush=True,
    )
    runs = []
    for repeat in range(args.interrupt_repeats):
        run = interrupt_once(args, root / f"interrupt-{repeat}")
        runs.append(run)
        shown = "none (killed)" if run["exit_code"] is None else run["exit_code"]
        print(
            f"run {repeat + 1}: exit code {shown} after {run['seconds']:.2f} s ({run['shards_done']} shards done); "
            f"stderr {run['stderr_lines']} non-empty lines, {run['stderr_lines_besides_progress']} besides the "
            f"progress bar, traceback: {'yes' if run['traceback'] else 'no'}; processes of its group left: "
            f"{'yes' if run['processes_left_at_exit'] else 'no'} at exit, "
            f"{'yes' if run['processes_left_after_grace'] else 'no'} {args.grace:.0f} s later"
        )
        for line in run["stderr_messages"]:
            print(f"  stderr: {line}")
    seconds = [run["seconds"] for run in runs]
    median = statistics.median(seconds)
    codes_ok = all(run["exit_code"] == 130 for run in runs)
    one_line = all(run["stderr_lines_besides_progress"] == 1 and run["resume_hint"] for run in runs)
    literal_one_line = all(run["stderr_lines"] == 1 for run in runs)
    no_traceback = not any(run["traceback"] for run in runs)
    clean = not any(run["processes_left_after_grace"] for run in runs)
    print(f"seconds from SIGINT to exit: {_seconds(seconds)}")
    print(
        f"target: exit code 130: {'met' if codes_ok else 'MISSED'}; exit within about {INTERRUPT_TARGET_S:.0f} s "
        f"(target ≈ {INTERRUPT_TARGET_S:.0f} s, median): {'met' if median <= INTERRUPT_TARGET_S else 'MISSED'}; "
        f"stderr one line naming '{RESUME_HINT}', no traceback: {'met' if one_line and no_traceback else 'MISSED'}"
        f" (one line with the progress bar counted too: {'yes' if literal_one_line else 'no'})"
    )
    report["interrupt"] = {
        "count": args.interrupt_count,
        "shard_size": args.interrupt_shard_size,
        "num_workers": args.num_workers,
        "runs": runs,
        "median_seconds": median,
    }
    codes = ",".join(str(run["exit_code"]) for run in runs)
    return [
        ("interrupt exit code", codes, "130", codes_ok),
        (
            "interrupt exit time, median",
            f"{median:.2f} s",
            f"≈ {INTERRUPT_TARGET_S:.0f} s",
            median <= INTERRUPT_TARGET_S,
        ),
        ("interrupt stderr one line", "yes" if one_line else "no", "yes (besides progress bar)", one_line),
        ("interrupt no traceback", "yes" if no_traceback else "no", "yes", no_traceback),
        ("interrupt no process left", "yes" if clean else "no", "yes", clean),
    ]


def completed_folder(args: argparse.Namespace, root: Path) -> Path:
    """The finished local build of the engines section (``local-0``), or one built now (untimed) when it did not run."""
    out = root / "local-0"
    if (out / "README.md").is_file():
        return out
    print(f"building {out} first (not timed)", flush=True)
    run_timed(generate_command(out, args.count, args.seed, args.shard_size, args.num_workers))
    return out


def rerun_section(args: argparse.Namespace, root: Path, report: dict) -> list[Target]:
    """The same local command again on its finished folder, ``rerun_repeats`` times."""
    out = completed_folder(args, root)
    print(f"== rerun: the local command again on the finished {out}", flush=True)
    command = generate_command(out, args.count, args.seed, args.shard_size, args.num_workers)
    before = {path.name: path.stat().st_mtime_ns for path in markers(out)}
    seconds = []
    for repeat in range(args.rerun_repeats):
        elapsed, result = run_timed(command)
        seconds.append(elapsed)
        summary = result.stdout.strip().splitlines()[0] if result.stdout.strip() else ""
        print(f"run {repeat + 1}: {elapsed:.2f} s ({summary})")
    after = {path.name: path.stat().st_mtime_ns for path in markers(out)}
    rebuilt = sorted(name for name in after if before.get(name) != after[name])
    median = statistics.median(seconds)
    print(f"rerun of a finished build: {_seconds(seconds)}; shards rebuilt: {len(rebuilt)}")
    print(f"target: rerun < {RERUN_TARGET_S:.0f} s (median): {'met' if median < RERUN_TARGET_S else 'MISSED'}")
    report["rerun"] = {"folder": str(out), "seconds": seconds, "median_seconds": median, "shards_rebuilt": rebuilt}
    return [
        ("rerun of a finished build, median", f"{median:.2f} s", f"< {RERUN_TARGET_S:.0f} s", median < RERUN_TARGET_S),
        ("rerun: shards rebuilt", str(len(rebuilt)), "0", not rebuilt),
    ]


def print_summary(targets: list[Target]) -> None:
    width = max(len(name) for name, *_ in targets)
    measured_width = max(8, *(len(value) for _, value, _, _ in targets))
    target_width = max(6, *(len(target) for _, _, target, _ in targets))
    print("== summary")
    print(f"{'figure':{width}s}  {'measured':>{measured_width}s}  {'target':{target_width}s}  met")
    for name, value, target, met in targets:
        print(f"{name:{width}s}  {value:>{measured_width}s}  {target:{target_width}s}  {'met' if met else 'MISSED'}")


def parse_sections(values: list[str] | None, parser: argparse.ArgumentParser) -> list[str]:
    if not values:
        return list(SECTIONS)
    wanted = {name.strip() for value in values for name in value.split(",") if name.strip()}
    unknown = wanted - set(SECTIONS)
    if unknown:
        parser.error(f"--only takes {', '.join(SECTIONS)}; got {', '.join(sorted(unknown))}")
    return [name for name in SECTIONS if name in wanted]


def output_root(keep: str | None, sections: list[str], args: argparse.Namespace) -> Path:
    """``--keep``'s folder after checking that none of this run's folders are there (they would resume)."""
    root = Path(keep)
    names = (
        [f"{engine}-{r}" for r in range(args.repeats) for engine in ("local", "ray")] if "engines" in sections else []
    )
    names += [f"interrupt-{r}" for r in range(args.interrupt_repeats)] if "interrupt" in sections else []
    names += ["local-0"] if "rerun" in sections else []
    taken = [name for name in names if (root / name).exists()]
    if taken:
        sys.exit(f"--keep {keep}: {', '.join(taken)} already exist there; a run into them would resume, not build")
    root.mkdir(parents=True, exist_ok=True)
    return root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000, help="records of the engines and rerun builds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--shard-size", type=int, default=None, help="shard size of the engines and rerun builds (default: generate's)"
    )
    parser.add_argument("--num-workers", type=int, default=2, help="worker processes of the local engine")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each engine (medians compared)")
    parser.add_argument("--interrupt-count", type=int, default=200)
    parser.add_argument("--interrupt-shard-size", type=int, default=10)
    parser.add_argument("--interrupt-repeats", type=int, default=3)
    parser.add_argument("--rerun-repeats", type=int, default=3)
    parser.add_argument("--marker-timeout", type=float, default=300, help="seconds to wait for the first shard")
    parser.add_argument("--exit-timeout", type=float, default=60, help="seconds after SIGINT before a kill")
    parser.add_argument("--grace", type=float, default=2, help="seconds after exit for its workers to end")
    parser.add_argument(
        "--only", action="append", metavar="SECTION", help=f"{','.join(SECTIONS)} (repeatable or a comma list)"
    )
    parser.add_argument("--keep", default=None, metavar="DIR", help="build into DIR and keep it (default: a temp dir)")
    parser.add_argument("--json", default=None, metavar="PATH", help="also write every figure to this JSON file")
    args = parser.parse_args()
    if min(args.repeats, args.interrupt_repeats, args.rerun_repeats) < 1:
        parser.error("repeats must be at least 1")
    sections = parse_sections(args.only, parser)
    report: dict = {"sections": sections}
    targets: list[Target] = []
    runners = {"engines": engines_section, "interrupt": interrupt_section, "rerun": rerun_section}
    with tempfile.TemporaryDirectory(prefix="measure_engines_") as tmp:
        root = output_root(args.keep, sections, args) if args.keep else Path(tmp)
        for name in sections:
            targets += runners[name](args, root, report)
    print_summary(targets)
    report["targets"] = [{"figure": n, "measured": v, "target": t, "met": m} for n, v, t, m in targets]
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
