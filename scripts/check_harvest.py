"""Check a folder written by ``warp-ir extract``: it loads with ``datasets.load_dataset``, and every record's
kernel entry point and echoed Python statements match its own ``python_source``.

    python scripts/check_harvest.py DIR

Warp echoes each Python statement it compiles as a comment (``// y = f(x)   <L 12>``); for a harvested record
every such statement of every IR field must be a line of ``python_source``, and the CUDA forward entry point
must be named after the kernel the source defines. Prints the counts and the first mismatches; exits 1 if any.
"""

from __future__ import annotations

import argparse
import re
import sys

ECHOED_STATEMENT = re.compile(r"^\s*// (?:adj: )?(.*?)\s+<L (\d+)>\s*$", re.M)
IR_FIELDS = ("cpp_forward", "cpp_backward", "cuda_forward", "cuda_backward")


def problems(record: dict) -> list[str]:
    found = []
    source = record["python_source"]
    lines = {line.strip() for line in source.splitlines()}
    name = record["kernel_name"]
    if f"def {name}(" not in source and f"{name} = wp.Kernel(" not in source:
        found.append(f"python_source defines no kernel {name!r}")
    entry = record["cuda_forward"].split("_cuda_kernel_forward")[0].split()[-1]
    if f"{record['kernel_name']}_" not in entry:
        found.append(f"entry point {entry!r} is not named after {record['kernel_name']!r}")
    for field in IR_FIELDS:
        missing = [s for s, _ in ECHOED_STATEMENT.findall(record[field]) if s not in lines]
        if missing:
            found.append(f"{field}: {len(missing)} echoed statements not in python_source, e.g. {missing[0]!r}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder")
    parser.add_argument("--show", type=int, default=5, help="mismatches to print (default: 5)")
    args = parser.parse_args()
    import tempfile

    import datasets

    with tempfile.TemporaryDirectory(prefix="check_harvest_") as cache:  # a fresh cache: never a stale copy
        loaded = datasets.load_dataset(args.folder, cache_dir=cache)
        records = [r for split in loaded.values() for r in split]
    bad = {r["origin"]: p for r in records if (p := problems(r))}
    echoed = sum(len(ECHOED_STATEMENT.findall(r[f])) for r in records for f in IR_FIELDS)
    print(f"{len(records)} records load ({', '.join(f'{s} {len(d)}' for s, d in loaded.items())})")
    print(
        f"{echoed} echoed statements checked; records whose entry point and statements match: "
        f"{len(records) - len(bad)} of {len(records)}"
    )
    print(f"self-contained python_source: {sum(bool(r['python_self_contained']) for r in records)}")
    for origin, found in list(bad.items())[: args.show]:
        print(f"  {origin}: {'; '.join(found)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
