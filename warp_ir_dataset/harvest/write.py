"""Writing harvested records: the Hub layout (``data/{split}-00000-of-00001.parquet``), ``report.json`` and a
card, each file written under a temporary name and renamed, so a folder is never half written."""

from __future__ import annotations

import io
import json
from collections import Counter
from typing import Any

import fsspec

from ..config import SPLITS
from ..errors import WarpIRError
from .extract import HarvestReport

REPORT = "report.json"


def write_harvest(records: list[dict[str, Any]], report: HarvestReport, out: str) -> dict[str, int]:
    """Write ``records`` (each with its ``split``) to the folder or fsspec URL ``out``; return rows per split.

    Raises:
        WarpIRError: ``out`` is a file or a folder that is not empty.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..schema import COLUMNS, FEATURES

    fs, root = check_output(out)
    fs.makedirs(f"{root}/data", exist_ok=True)
    rows = Counter(r["split"] for r in records)
    for split in SPLITS:
        chosen = [{k: r[k] for k in COLUMNS} for r in records if r["split"] == split]
        if chosen:
            sink = io.BytesIO()
            pq.write_table(pa.Table.from_pylist(chosen, schema=FEATURES.arrow_schema), sink, row_group_size=100)
            _write(fs, f"{root}/data/{split}-00000-of-00001.parquet", sink.getvalue())
    _write(fs, f"{root}/{REPORT}", (json.dumps(report.to_dict(), indent=2, sort_keys=True) + "\n").encode())
    _write(fs, f"{root}/README.md", _card(records, report, str(out)).encode())
    return {split: rows[split] for split in SPLITS if rows[split]}


def check_output(out: str) -> tuple[Any, str]:
    """The filesystem and path of ``out``, if it is new or an empty folder.

    Raises:
        WarpIRError: ``out`` is a file or a folder that is not empty.
    """
    fs, root = fsspec.core.url_to_fs(str(out))
    if fs.exists(root) and (not fs.isdir(root) or fs.ls(root)):
        raise WarpIRError(f"--out {out!r} exists and is not an empty folder; choose a new one")
    return fs, root


def _write(fs: Any, path: str, data: bytes) -> None:
    partial = path + ".partial"
    with fs.open(partial, "wb") as handle:
        handle.write(data)
    fs.mv(partial, path)


def _card(records: list[dict[str, Any]], report: HarvestReport, out: str) -> str:
    from huggingface_hub import DatasetCard, DatasetCardData

    splits = [s for s in SPLITS if any(r["split"] == s for r in records)]
    licenses = sorted({r["license"] for r in records if r["license"]})
    data = DatasetCardData(
        license="other" if len(licenses) != 1 else licenses[0].lower(),
        task_categories=["text-generation"],
        tags=["code", "gpu", "cuda", "warp", "compilers"],
        pretty_name="Warp kernels and their generated IR",
        configs=[{"config_name": "default", "data_files": [{"split": s, "path": f"data/{s}-*"} for s in splits]}],
    )
    packages = Counter(f"{r['package']} {r['package_version']}" if r["package"] else "(not installed)" for r in records)
    text = f"""# Warp kernels harvested from {", ".join(report.targets)}

Every `@wp.kernel` found by importing the code above (each overload of a generic kernel on its own), paired
with the code Warp {records[0]["warp_version"] if records else ""} generates for it: C++ (CPU) and CUDA C++,
forward and adjoint. Made by `warp-ir extract` (package `warp_ir_dataset`).

```
{report.describe()}
```

| package | records |
|---|---:|
{chr(10).join(f"| {name} | {n} |" for name, n in sorted(packages.items()))}

Licenses, from each package's metadata: {", ".join(licenses) or "unknown"}. `origin` names each kernel's
module, qualified name and line; `python_self_contained` says whether `python_source` defines or imports every
name it uses. Splits come from a hash of the origin; near-duplicate kernels share a split. `report.json` holds
the modules skipped and why.

## Load

```python
from datasets import load_dataset

ds = load_dataset("{out}")
```
"""
    return str(DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{text}"))
