"""Time to the first streamed record, in fresh processes (target: under 5 s on a 2-core machine).

    python scripts/measure_streaming.py [--seed 0] [--repeats 5]

Each repeat runs a new interpreter that imports warp_ir_dataset, opens an endless stream (default
configuration: validation included) and takes one record. Two times per repeat: from before the import
(everything: importing datasets, Warp and, when it is installed, torch, which datasets imports for its
IterableDataset) and from the ``load_dataset`` call. For scale, it also times the floor: a trivial
``datasets`` stream of one constant record in a fresh interpreter. The runs share a fresh, empty folder
for Clang's precompiled Warp header (``WARP_IR_PCH_CACHE``): the first run is what a machine's first
stream costs (it builds the header), the others what every later one costs. The target applies to the
later runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = """
import time
start = time.perf_counter()
import warp_ir_dataset as wid
opened = time.perf_counter()
stream = wid.load_dataset(count=None, seed={seed}, split="train", streaming=True)
record = next(iter(stream))
end = time.perf_counter()
print(end - start, end - opened)
"""
#: The floor: any datasets stream, one trivial record, in a fresh interpreter (imports included).
FLOOR = """
import time
start = time.perf_counter()
import datasets
stream = datasets.IterableDataset.from_generator(lambda: iter([{"x": 1}]))
record = next(iter(stream))
print(time.perf_counter() - start)
"""
TARGET_S = 5.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5, help="runs in all; the first one builds the header")
    args = parser.parse_args()
    if args.repeats < 2:
        parser.error("--repeats must be at least 2 (one run that builds the header, one that reuses it)")
    totals, from_call = [], []
    with tempfile.TemporaryDirectory(prefix="warp_ir_pch_") as pch:
        env = {**os.environ, "WARP_IR_PCH_CACHE": pch}
        for repeat in range(args.repeats):
            out = subprocess.run(
                [sys.executable, "-c", CHILD.format(seed=args.seed + repeat)],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            ).stdout
            total, stream = (float(x) for x in out.strip().splitlines()[-1].split())
            totals.append(total)
            from_call.append(stream)
        floors = [
            float(subprocess.run([sys.executable, "-c", FLOOR], capture_output=True, text=True, check=True).stdout)
            for _ in range(args.repeats - 1)
        ]
    later, later_call = totals[1:], from_call[1:]
    median = statistics.median(later)
    print(
        f"first run (builds the precompiled header): {totals[0]:.2f} s from import, "
        f"{from_call[0]:.2f} s from load_dataset"
    )
    print(
        f"later runs: {', '.join(f'{t:.2f}' for t in later)} s from import (median {median:.2f} s); "
        f"{', '.join(f'{t:.2f}' for t in later_call)} s from load_dataset "
        f"(median {statistics.median(later_call):.2f} s)"
    )
    print(
        f"floor, a trivial datasets stream from import: {', '.join(f'{t:.2f}' for t in floors)} s "
        f"(median {statistics.median(floors):.2f} s; datasets imports torch when it is installed)"
    )
    print(
        f"target: first streamed record < {TARGET_S:.0f} s from import (later runs, median): "
        f"{'met' if median < TARGET_S else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
