"""Config validation: bad values raise ConfigError naming the field and value, before any compile work."""

from __future__ import annotations

import pytest

import warp_ir_dataset as wid
from warp_ir_dataset import ConfigError, GenerationConfig, UnknownCategoryError, WarpIRConfig


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"count": 0}, "count"),
        ({"count": -5}, "count"),
        ({"count": "10"}, "'10'"),
        ({"count": 2.5}, "2.5"),
        ({"count": True}, "count"),
        ({"seed": "abc"}, "seed"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.0}, "seed"),
        ({"split_ratios": (0.8, 0.1, 0.05)}, "sum to 1"),
        ({"split_ratios": (0.5, 0.5)}, "three"),
        ({"complexity": 0}, "complexity"),
        ({"complexity": (4, 2)}, "complexity"),
        ({"complexity": "1-9"}, "complexity"),
        ({"categories": []}, "categories"),
        ({"batch_size": 0}, "batch_size"),
        ({"ptx_arch": 7}, "ptx_arch"),
        ({"validate": "yes"}, "validate"),
    ],
)
def test_bad_values_name_field_and_value(kwargs, fragment):
    with pytest.raises(ConfigError) as info:
        GenerationConfig(**kwargs)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_unknown_category_is_a_config_error_listing_available():
    with pytest.raises(UnknownCategoryError, match=r"Unknown category 'matrices'\. Available: arithmetic, atomic"):
        GenerationConfig(categories=["arithmetic", "matrices"])


def test_values_are_normalised():
    config = GenerationConfig(categories="trig, loop", complexity="2-4", split_ratios="0.8,0.1,0.1")
    assert config.categories == ("loop", "trig")
    assert config.complexity == (2, 4)
    assert config.split_ratios == (0.8, 0.1, 0.1)
    assert GenerationConfig(complexity=3).complexity == (3, 3)


def test_category_weights():
    config = GenerationConfig(categories="vector:3,loop:1")
    assert config.categories == ("loop", "vector") and config.category_weights == (1.0, 3.0)
    config = GenerationConfig(categories={"trig": 2, "atomic": 0.5})
    assert config.categories == ("atomic", "trig") and config.category_weights == (0.5, 2.0)
    assert GenerationConfig(categories=["loop", "trig"], category_weights="1,2").category_weights == (1.0, 2.0)
    with pytest.raises(ConfigError, match="category_weights"):
        GenerationConfig(categories=["loop", "trig"], category_weights=[1.0])
    with pytest.raises(ConfigError, match="category_weights"):
        GenerationConfig(categories=["loop"], category_weights=[-1.0])
    with pytest.raises(ConfigError, match="category_weights needs categories"):
        GenerationConfig(category_weights=[1.0])
    with pytest.raises(UnknownCategoryError):
        GenerationConfig(categories={"nope": 1})


def test_builder_config_validates_too():
    with pytest.raises(ConfigError):
        WarpIRConfig(name="default", count=-1)


def test_load_dataset_rejects_bad_config_before_building(tmp_path):
    with pytest.raises(ConfigError, match="count"):
        wid.load_dataset(count=0, cache_dir=str(tmp_path))
    with pytest.raises(UnknownCategoryError):
        wid.load_dataset(count=5, categories=["bogus"], cache_dir=str(tmp_path))
    assert not any(tmp_path.iterdir())  # nothing was prepared
