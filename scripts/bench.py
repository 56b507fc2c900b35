"""Throughput benchmark (same as `warp-ir bench`): python scripts/bench.py [--count 64] [--num-workers 2] [--json F]"""

import sys

from warp_ir_dataset.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
