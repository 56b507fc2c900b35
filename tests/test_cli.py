"""`warp-ir generate` writes a Hub-layout folder that `datasets.load_dataset(DIR)` loads unchanged."""

from __future__ import annotations

import datasets
import pytest
import yaml

from warp_ir_dataset import FEATURES
from warp_ir_dataset.cli import build_parser, main
from warp_ir_dataset.config import GenerationConfig


def test_generate_writes_a_loadable_hub_layout(dataset40, hf_cache, tmp_path, capsys):
    out = tmp_path / "warp_ir_data"
    assert main(["generate", "--count", "30", "--seed", "4", "--out", str(out), "--cache-dir", hf_cache]) == 0
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == [
        "README.md",
        "data/test-00000-of-00001.parquet",
        "data/train-00000-of-00001.parquet",
        "data/validation-00000-of-00001.parquet",
        "plots/categories.png",
        "plots/lengths.png",
    ]
    loaded = datasets.load_dataset(str(out), cache_dir=hf_cache)
    assert set(loaded) == set(dataset40)
    assert sum(len(split) for split in loaded.values()) == 30
    for split in dataset40:
        assert loaded[split].features == FEATURES
        # the first 30 samples of the 40-record build, unchanged: a record does not depend on count
        assert loaded[split].to_list() == [r for r in dataset40[split] if r["index"] < 30]

    card = (out / "README.md").read_text()
    meta = yaml.safe_load(card.split("---")[1])
    assert meta["configs"][0]["data_files"][0] == {"split": "train", "path": "data/train-*"}
    assert {s["name"]: s["num_examples"] for s in meta["dataset_info"]["splits"]} == {
        split: len(ds) for split, ds in loaded.items()
    }
    assert "warp-ir generate --count 30 --seed 4" in card
    assert '"records"' in capsys.readouterr().out

    # an existing folder is never silently replaced
    assert main(["generate", "--count", "30", "--seed", "4", "--out", str(out), "--cache-dir", hf_cache]) == 2
    assert "already exists" in capsys.readouterr().err


def test_cli_options_mirror_the_config():
    parser = build_parser()
    args = parser.parse_args(
        [
            "generate",
            "--count",
            "7",
            "--categories",
            "trig,loop",
            "--complexity",
            "2-3",
            "--no-validate",
            "--include-ptx",
        ]
    )
    config = GenerationConfig(**{k: getattr(args, k) for k in GenerationConfig.__dataclass_fields__})
    assert (config.count, config.categories, config.complexity) == (7, ("loop", "trig"), (2, 3))
    assert config.validate is False and config.include_ptx is True


def test_bad_cli_value_is_a_clean_error(capsys):
    assert main(["generate", "--count", "5", "--categories", "nope", "--out", "unused"]) == 2
    err = capsys.readouterr().err
    assert "Unknown category 'nope'. Available:" in err

    with pytest.raises(SystemExit):
        main(["generate", "--count", "many"])
