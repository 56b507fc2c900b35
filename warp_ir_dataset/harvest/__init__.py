"""Real kernels: ``warp-ir extract`` and ``source="harvested"``.

``targets`` (modules to import, found on disk), ``worker`` (one fresh process per module), ``source`` (a
kernel's self-contained Python), ``extract`` (records, deduplication, splits, provenance), ``write`` (the
Hub layout of an extraction).
"""

from .extract import HARVEST_VERSION, WARP_PACKAGES, HarvestReport, extract_records
from .targets import ModuleJob, resolve_targets
from .write import write_harvest

__all__ = [
    "HARVEST_VERSION",
    "WARP_PACKAGES",
    "HarvestReport",
    "ModuleJob",
    "extract_records",
    "resolve_targets",
    "write_harvest",
]
