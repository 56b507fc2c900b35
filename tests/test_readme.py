"""The README documents every record field and config field, with the same text as the code."""

from __future__ import annotations

from dataclasses import fields

from warp_ir_dataset import GenerationConfig
from warp_ir_dataset.schema import FIELD_DOCS

from .conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def test_every_record_field_is_documented():
    for name, (value, doc) in FIELD_DOCS.items():
        assert f"| `{name}` | {value.dtype} | {doc} |" in README, name


def test_every_config_field_is_documented():
    for f in fields(GenerationConfig):
        assert f"| `{f.name}` |" in README and f.metadata["help"] in README, f.name


def test_readme_has_the_two_newcomer_commands():
    assert "pip install -e . && warp-ir generate --count 200 --out warp_ir_data" in README
    assert 'pip install -e ".[test]" && python -m pytest -q' in README
