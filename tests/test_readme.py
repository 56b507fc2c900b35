"""The README's tables are generated from the code and up to date; the newcomer commands are there."""

from __future__ import annotations

import importlib.util

from .conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def _sync_module():
    spec = importlib.util.spec_from_file_location("sync_readme", REPO_ROOT / "scripts" / "sync_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_tables_are_current():
    assert _sync_module().synced(README) == README, "run: python scripts/sync_readme.py"


def test_every_record_field_is_documented():
    from warp_ir_dataset import FEATURES

    for name in FEATURES:
        assert f"| `{name}` |" in README, name


def test_readme_has_the_two_newcomer_commands():
    assert "pip install -e . && warp-ir generate --count 200 --out warp_ir_data" in README
    assert 'pip install -e ".[test]" && python -m pytest -q' in README
