"""Shared fixtures. Builds are small and shared: the 40-record dataset is generated once per session."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import warp_ir_dataset as wid
from warp_ir_dataset import warp_internals

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Warp echoes each Python statement as a comment: "// y = f(x)   <L 12>" (and "// adj: ..." in adjoints).
ECHOED_STATEMENT = re.compile(r"^\s*// (?:adj: )?(.*?)\s+<L (\d+)>\s*$", re.M)


_ORIGIN = re.compile(r"^// (.+):(\d+)$")
_KERNEL_FUNCTION = re.compile(r"_(?:cpu|cuda)_kernel_(?:forward|backward)\(")


def own_echoed_statements(code: str, filename: str) -> list[tuple[str, str]]:
    """Echoed (statement, line) pairs of the kernel and of helpers defined in ``filename``.

    Helpers from Warp's own library (``quat_to_euler``, ``norm_l1``, ...) echo lines of Warp's files; they
    are checked to come from ``warp/`` (a machine-independent path) and otherwise skipped.
    """
    own: list[tuple[str, str]] = []
    origin = None
    for line in code.splitlines():
        if match := _ORIGIN.match(line):
            origin = match.group(1)
            assert origin == filename or origin.startswith("warp/"), origin
        elif _KERNEL_FUNCTION.search(line):
            origin = filename
        elif (match := ECHOED_STATEMENT.match(line)) and origin == filename:
            own.append((match.group(1), match.group(2)))
    return own


@pytest.fixture(scope="session", autouse=True)
def isolated_warp_cache(tmp_path_factory):
    """Warp's kernel cache and the shared precompiled header live in temporary folders for the session
    (never in ~/.cache); worker processes and fresh interpreters inherit the header folder."""
    os.environ[warp_internals.PCH_CACHE_ENV] = str(tmp_path_factory.mktemp("warp_pch"))
    warp_internals.init_warp(tmp_path_factory.mktemp("warp_kernel_cache"))


@pytest.fixture(scope="session")
def hf_cache(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("hf_datasets_cache"))


@pytest.fixture(scope="session")
def dataset40(hf_cache):
    """The foundation issue's acceptance build: 40 records, default config.

    Seed 4, whose ids spread over all three splits."""
    return wid.load_dataset(count=40, seed=4, cache_dir=hf_cache)


#: The fast tier's dataset: IR only (Warp's code generator runs, no compiler does), seed 4.
TINY = {"count": 12, "seed": 4, "validate": False}


@pytest.fixture(scope="session")
def tiny_dataset(hf_cache):
    """12 IR-only records built in this process: the Hub layout, formats and push tests of the fast tier."""
    return wid.load_dataset(**TINY, num_workers=1, cache_dir=hf_cache)


@pytest.fixture(scope="session")
def tiny_records(tiny_dataset) -> list[dict]:
    return sorted((r for split in tiny_dataset.values() for r in split), key=lambda r: r["index"])


@pytest.fixture(scope="session")
def records40(dataset40) -> list[dict]:
    return sorted((r for split in dataset40.values() for r in split), key=lambda r: r["index"])
