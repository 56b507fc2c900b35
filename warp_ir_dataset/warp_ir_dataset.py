"""Loading script for ``datasets`` 3.x, found by ``datasets.load_dataset("warp_ir_dataset", ...)`` run from the
repository root (``datasets`` looks for ``<folder>/<folder>.py``). Same content as the top-level
``warp_ir_dataset.py``: a re-export of the package's builder.
"""

from warp_ir_dataset.builder import WarpIRConfig, WarpIRDataset  # noqa: F401
