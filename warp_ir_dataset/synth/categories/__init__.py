"""Every module in this package defines and registers kernel categories; importing the package imports
them all (in sorted order), so a new category is a new module here and nothing else."""

import importlib
import pkgutil

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if not _module.startswith("_") and _module != "common":
        importlib.import_module(f"{__name__}.{_module}")
