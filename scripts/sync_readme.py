"""Rewrite the README's generated tables (record fields, config fields) from the code.

Usage: python scripts/sync_readme.py   (tests/test_readme.py fails when the README is out of date)
"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from warp_ir_dataset import GenerationConfig
from warp_ir_dataset.schema import FIELD_DOCS, type_name

README = Path(__file__).resolve().parent.parent / "README.md"


def field_table() -> str:
    rows = [f"| `{name}` | {type_name(value)} | {doc} |" for name, (value, doc) in FIELD_DOCS.items()]
    return "\n".join(["| field | type | meaning |", "|---|---|---|", *rows])


def config_table() -> str:
    rows = []
    for f in fields(GenerationConfig):
        default = f.default
        if f.name == "complexity":
            default = f"{default[0]}-{default[1]}"
        elif isinstance(default, tuple):
            default = ", ".join(map(str, default))
        shown = f.metadata.get("default_text", "none") if default is None else f"`{default}`"
        rows.append(f"| `{f.name}` | {shown} | {f.metadata['help']} |")
    return "\n".join(["| field | default | meaning |", "|---|---|---|", *rows])


def category_table() -> str:
    from warp_ir_dataset import CATEGORIES

    def cell(text: str) -> str:
        return text.replace("|", "\\|")  # a bare | would end the table cell

    rows = [f"| `{name}` | {cell(CATEGORIES.get(name).description)} |" for name in CATEGORIES.names()]
    return "\n".join(["| category | what its kernels exercise |", "|---|---|", *rows])


def synced(text: str) -> str:
    tables = (("fields", field_table()), ("config", config_table()), ("categories", category_table()))
    for marker, table in tables:
        pattern = re.compile(rf"(<!-- {marker}:start -->\n).*?(\n<!-- {marker}:end -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"README.md lacks the <!-- {marker}:start --> / <!-- {marker}:end --> markers")
        text = pattern.sub(lambda m, t=table: m.group(1) + t + m.group(2), text)
    return text


if __name__ == "__main__":
    README.write_text(synced(README.read_text()))
    print(f"updated {README}")
