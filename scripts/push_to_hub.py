"""Publish a dataset folder to the Hugging Face Hub (same as `warp-ir push`).

    python scripts/push_to_hub.py warp_ir_data --repo-id my-org/warp-ir [--private] [--revision R]
        [--create-pr] [--dry-run] [--commit-message M] [generation options if the folder does not exist yet]

The token comes from HF_TOKEN or the login cache (`hf auth login`) and is never printed.
"""

import sys

from warp_ir_dataset.cli import main

if __name__ == "__main__":
    sys.exit(main(["push", *sys.argv[1:]]))
