"""What to import: an importable module or package (every submodule), a ``.py`` file, or a folder.

Found on disk without importing anything, so no user code runs in the calling process.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError


@dataclass(frozen=True, order=True)
class ModuleJob:
    """One module to import in a worker: its dotted ``name``, found with ``path`` first on ``sys.path``
    (a file or folder target's location; ``None`` for an installed module)."""

    name: str
    path: str | None = None


def resolve_targets(targets: list[str] | tuple[str, ...]) -> list[ModuleJob]:
    """The modules of every target, sorted by name, each once.

    Raises:
        ConfigError: a target is neither a ``.py`` file, a folder, nor an importable module name.
    """
    if isinstance(targets, str):
        targets = [targets]
    jobs: set[ModuleJob] = set()
    for target in targets:
        path = Path(target)
        if target.endswith(".py") or path.is_file():
            if not path.is_file() or path.suffix != ".py":
                raise ConfigError(f"target {target!r} is not a .py file; give a module name, a .py file or a folder")
            jobs.add(ModuleJob(path.stem, str(path.resolve().parent)))
        elif path.is_dir():
            jobs.update(_folder(path.resolve()))
        else:
            jobs.update(_installed(target))
    return sorted(jobs)


def _folder(folder: Path) -> list[ModuleJob]:
    """A package folder (it has ``__init__.py``): the package and its submodules; any other folder: its
    ``.py`` files and the packages in it."""
    if (folder / "__init__.py").is_file():
        return [ModuleJob(name, str(folder.parent)) for name in _walk(folder, folder.name)]
    jobs = [ModuleJob(p.stem, str(folder)) for p in sorted(folder.glob("*.py"))]
    for package in sorted(p for p in folder.iterdir() if (p / "__init__.py").is_file()):
        jobs += [ModuleJob(name, str(folder)) for name in _walk(package, package.name)]
    return jobs


def _installed(name: str) -> list[ModuleJob]:
    top = name.split(".")[0]
    try:
        spec = importlib.util.find_spec(top)  # a top-level name: finds, imports nothing
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise ConfigError(f"target {name!r} is not an installed module, a .py file or a folder")
    locations = list(spec.submodule_search_locations or [])
    if not locations:  # a single-file top-level module
        if name != top:
            raise ConfigError(f"target {name!r}: {top!r} is a module, not a package")
        return [ModuleJob(name)]
    folder = Path(locations[0]).joinpath(*name.split(".")[1:])
    if folder.is_dir() and (folder / "__init__.py").is_file():
        return [ModuleJob(n) for n in _walk(folder, name)]
    if folder.with_suffix(".py").is_file():
        return [ModuleJob(name)]
    if folder.is_dir():  # a namespace package
        return [ModuleJob(n) for n in _walk(folder, name)]
    raise ConfigError(f"target {name!r} is not an installed module (looked in {folder})")


def _walk(folder: Path, name: str) -> list[str]:
    """``name`` and every module below the package folder ``folder`` (subfolders with ``__init__.py``)."""
    names = [name]
    for entry in sorted(folder.iterdir()):
        if entry.suffix == ".py" and entry.stem != "__init__" and entry.stem.isidentifier():
            names.append(f"{name}.{entry.stem}")
        elif entry.is_dir() and (entry / "__init__.py").is_file() and entry.name.isidentifier():
            names += _walk(entry, f"{name}.{entry.name}")
    return names
