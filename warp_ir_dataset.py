"""Loading script for ``datasets`` 3.x (loading scripts were removed in ``datasets`` 4.0).

From the repository root, with this package installed::

    datasets.load_dataset("warp_ir_dataset", count=200, trust_remote_code=True)

It only re-exports the package's builder; on any ``datasets`` version use
``warp_ir_dataset.load_dataset(...)`` or the ``WarpIRDataset`` builder class directly.
"""

from warp_ir_dataset.builder import WarpIRConfig, WarpIRDataset  # noqa: F401
