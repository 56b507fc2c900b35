"""PNG plots for the dataset card: records per category, and Python / IR length histograms."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: File names under ``plots/`` in the Hub layout, and their captions in the card.
PLOTS = {
    "categories.png": "Records per category and complexity level",
    "lengths.png": "Python source and generated IR lengths (characters, log scale)",
}


def write_plots(rows: Sequence[dict[str, Any]], out_dir: Path) -> list[str]:
    """Write the card's plots for ``rows`` into ``out_dir``; return the file names written."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    metadata = {"Software": None}  # keep the PNG bytes independent of the matplotlib build

    counts = Counter((r["category"], r["complexity"]) for r in rows)
    categories = sorted({c for c, _ in counts})
    levels = sorted({lv for _, lv in counts})
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=100)
    bottom = [0] * len(categories)
    for level in levels:
        heights = [counts[(c, level)] for c in categories]
        ax.bar(categories, heights, bottom=bottom, label=f"complexity {level}")
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_ylabel("records")
    ax.set_title(PLOTS["categories.png"])
    ax.legend(fontsize=8)
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "categories.png", metadata=metadata)
    plt.close(fig)

    python_len = [len(r["python_source"]) for r in rows]
    ir_len = [sum(len(r[f]) for f in ("cpp_forward", "cpp_backward", "cuda_forward", "cuda_backward")) for r in rows]
    fig, ax = plt.subplots(figsize=(9, 4), dpi=100)
    low = max(1, min(python_len + ir_len, default=1))
    high = max(python_len + ir_len, default=10)
    bins = [low * (high / low) ** (k / 40) for k in range(41)]
    ax.hist(python_len, bins=bins, alpha=0.7, label="Python source")
    ax.hist(ir_len, bins=bins, alpha=0.7, label="IR (C++ and CUDA, forward and backward)")
    ax.set_xscale("log")
    ax.set_xlabel("characters")
    ax.set_ylabel("records")
    ax.set_title(PLOTS["lengths.png"])
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "lengths.png", metadata=metadata)
    plt.close(fig)
    return list(PLOTS)
