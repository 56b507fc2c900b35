"""Time to the first streamed record, in a fresh process (target: under 5 s on a 2-core machine).

    python scripts/measure_streaming.py [--seed 0] [--repeats 3]

Each repeat runs a new interpreter that imports warp_ir_dataset, opens an endless stream
(default configuration: validation included) and takes one record; the time counts from before the
import to the first record.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

CHILD = """
import time
start = time.perf_counter()
import warp_ir_dataset as wid
stream = wid.load_dataset(count=None, seed={seed}, split="train", streaming=True)
record = next(iter(stream))
print(time.perf_counter() - start)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    times = []
    for repeat in range(args.repeats):
        out = subprocess.run(
            [sys.executable, "-c", CHILD.format(seed=args.seed + repeat)], capture_output=True, text=True, check=True
        ).stdout
        times.append(float(out.strip().splitlines()[-1]))
    median = statistics.median(times)
    print(
        f"first streamed record after {', '.join(f'{t:.2f}' for t in times)} s (median {median:.2f} s; "
        f"target < 5 s: {'met' if median < 5 else 'MISSED'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
