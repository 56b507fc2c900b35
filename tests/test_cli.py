"""`warp-ir generate` writes a Hub-layout folder that `datasets.load_dataset(DIR)` loads unchanged."""

from __future__ import annotations

import argparse
from dataclasses import fields

import datasets
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warp_ir_dataset import FEATURES
from warp_ir_dataset.cli import build_parser, config_arguments, main
from warp_ir_dataset.config import GenerationConfig


@pytest.mark.slow
def test_generate_writes_a_loadable_hub_layout(dataset40, hf_cache, tmp_path, capsys):
    out = tmp_path / "warp_ir_data"
    assert main(["generate", "--count", "30", "--seed", "4", "--out", str(out)]) == 0
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == [
        ".shards/00000.json",
        "README.md",
        "data/test-00000-of-00001.parquet",
        "data/train-00000-of-00001.parquet",
        "data/validation-00000-of-00001.parquet",
        "manifest.json",
        "plots/categories.png",
        "plots/lengths.png",
        "stats.json",
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
    assert "30 records in" in capsys.readouterr().out

    # another build is never written into it
    assert main(["generate", "--count", "31", "--seed", "4", "--out", str(out)]) == 2
    assert "count: the folder has 30, this run asks for 31" in capsys.readouterr().err


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


#: Command-line values each option must refuse (the config's fields, spelled as on a command line).
INVALID_CLI = {
    "count": ["0", "-3", "many", "1.5", "all"],  # all: only with --source harvested
    "seed": ["-1", "x"],
    "trials": ["0", "three"],
    "batch-size": ["0", "-64"],
    "max-attempts": ["0"],
    "ptx-arch": ["20", "200", "sm_90"],
    "cpu-optimization-level": ["4", "-1", "fast"],
    "complexity": ["0", "6", "3-1", "a", "1-2-9"],
    "split-ratios": ["0.5,0.5", "a,b,c", "0.9,0.9,0.1", "1,nan,0"],
    "categories": ["nope", "vector:x", "vector:-1", ",", "vector,vector"],
    "category-weights": ["1,2"],  # without categories
    "devices": ["tpu", "cuda", "cpu,gpu"],
    "source": ["x", "synth", "Harvested"],
    "packages": ["warp.sparse"],  # without --source harvested
}


def test_every_valued_option_has_invalid_values_under_test():
    options = {f.name.replace("_", "-") for f in fields(GenerationConfig) if not isinstance(f.default, bool)}
    assert set(INVALID_CLI) == options


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), option=st.sampled_from(sorted(INVALID_CLI)))
def test_any_invalid_option_value_is_a_clean_error_naming_the_option(data, option, capsys, tmp_path):
    value = data.draw(st.sampled_from(INVALID_CLI[option]), label=option)
    try:
        code = main(["generate", f"--{option}={value}", "--out", str(tmp_path / "never")])
    except SystemExit as exc:  # argparse's own type errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert option in err or option.replace("-", "_") in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "never").exists()


def _options(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.Action]]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [(name, a) for name, command in sub.choices.items() for a in command._actions if a.option_strings]


def test_every_option_states_exactly_one_default():
    for command, action in _options(build_parser()):
        if action.dest != "help":
            assert action.help.count("(default:") + action.help.count("(required)") == 1, (command, action.help)
    assert not [a.help for _, a in _options(build_parser()) if "{" in a.help]  # no dict a command line cannot take


@settings(max_examples=150, deadline=None)
@given(
    count=st.integers(1, 10**6),
    seed=st.integers(0, 2**63),
    complexity=st.tuples(st.integers(1, 5), st.integers(1, 5)).map(sorted),
    categories=st.none()
    | st.lists(st.sampled_from(["vector", "loop", "trig", "atomic"]), min_size=1, max_size=3, unique=True),
    weights=st.lists(st.integers(1, 9), min_size=3, max_size=3) | st.none(),
    flags=st.fixed_dictionaries(
        {f.name: st.booleans() for f in fields(GenerationConfig) if isinstance(f.default, bool)}
    ),
    ratios=st.tuples(st.integers(1, 10), st.integers(0, 10), st.integers(0, 10)),
    numbers=st.fixed_dictionaries(
        {"trials": st.integers(1, 9), "batch_size": st.integers(1, 128), "cpu_optimization_level": st.integers(0, 3)}
    ),
    devices=st.sampled_from([None, ("cpu",)]),
)
def test_the_cards_regenerate_command_rebuilds_the_same_config(
    count, seed, complexity, categories, weights, flags, ratios, numbers, devices
):
    if categories and weights:
        categories = dict(zip(categories, [w / 3 for w in weights], strict=False))
    split_ratios = tuple(r / sum(ratios) for r in ratios)
    config = GenerationConfig(
        count=count,
        seed=seed,
        complexity=tuple(complexity),
        categories=categories,
        split_ratios=split_ratios,
        devices=devices,
        **flags,
        **numbers,
    )
    args = build_parser().parse_args(["generate", *config_arguments(config)])
    assert GenerationConfig(**{f.name: getattr(args, f.name) for f in fields(GenerationConfig)}) == config
    assert config_arguments(GenerationConfig(count=5)) == ["--count", "5", "--seed", "0"]  # defaults are left out
