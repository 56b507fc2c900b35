"""Config validation: bad values raise ConfigError naming the field and value, before any compile work."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import warp_ir_dataset as wid
from warp_ir_dataset import CATEGORIES, ConfigError, GenerationConfig, UnknownCategoryError, WarpIRConfig


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


# ---------------------------------------------------------------------------------------------- properties
_NOT_INT = st.one_of(st.booleans(), st.floats(allow_nan=True), st.text(max_size=3), st.none())
_NOT_BOOL = st.one_of(st.integers(), st.text(max_size=3), st.none())
_FRACTION = st.floats(0.0, 1.0)

#: Values each field must refuse (strategies), for the API.
INVALID = {
    "count": st.one_of(st.integers(max_value=0), _NOT_INT),
    "seed": st.one_of(st.integers(max_value=-1), _NOT_INT),
    "trials": st.one_of(st.integers(max_value=0), _NOT_INT),
    "batch_size": st.one_of(st.integers(max_value=0), _NOT_INT),
    "max_attempts": st.one_of(st.integers(max_value=0), _NOT_INT),
    "ptx_arch": st.one_of(st.integers(max_value=49), st.integers(min_value=131), _NOT_INT),
    "cpu_optimization_level": st.one_of(st.integers(max_value=-1), st.integers(min_value=4), st.booleans(), st.none()),
    "complexity": st.one_of(
        st.integers(max_value=0),
        st.integers(min_value=6),
        st.tuples(st.integers(3, 5), st.integers(1, 2)),
        st.text(alphabet="ab-x", min_size=1, max_size=4),
    ),
    "split_ratios": st.one_of(
        st.tuples(_FRACTION, _FRACTION, _FRACTION).filter(lambda t: abs(sum(t) - 1.0) > 1e-3),
        st.tuples(_FRACTION, _FRACTION),
        st.text(alphabet="abc,", min_size=1, max_size=5),
    ),
    "devices": st.one_of(st.just(["cuda"]), st.just([]), st.text(alphabet="xyz", min_size=1, max_size=4)),
    "categories": st.one_of(
        st.just([]), st.text(alphabet="qxz", min_size=1, max_size=5).map(lambda name: [name]), st.integers()
    ),
    "category_weights": st.lists(st.floats(0.1, 5.0), min_size=1, max_size=3),  # weights without categories
    "source": st.one_of(st.text(alphabet="xyz", min_size=1, max_size=5), st.none(), st.integers()),
    "packages": st.one_of(st.just(["warp.sparse"]), st.text(min_size=1, max_size=5)),  # without source=harvested
    **{name: _NOT_BOOL for name in ("validate", "grad_check", "include_ptx", "keep_failed", "remove_near_duplicates")},
}


def test_every_config_field_has_invalid_values_under_test():
    assert set(INVALID) == {f.name for f in dataclasses.fields(GenerationConfig)}


@settings(max_examples=300, deadline=None)
@given(data=st.data(), field=st.sampled_from(sorted(INVALID)))
def test_any_invalid_value_is_a_config_error_naming_the_field(data, field):
    value = data.draw(INVALID[field], label=field)
    with pytest.raises(ConfigError) as info:
        GenerationConfig(**{field: value})
    assert field in str(info.value)


@settings(max_examples=200, deadline=None)
@given(
    count=st.integers(1, 10**6),
    seed=st.integers(0, 2**63),
    complexity=st.tuples(st.integers(1, 5), st.integers(1, 5)).map(sorted),
    categories=st.none() | st.sets(st.sampled_from(CATEGORIES.names()), min_size=1, max_size=4),
    ratios=st.tuples(st.integers(0, 10), st.integers(0, 10), st.integers(0, 10)).filter(lambda t: sum(t) > 0),
)
def test_any_valid_config_is_accepted_and_normalised(count, seed, complexity, categories, ratios):
    split_ratios = tuple(r / sum(ratios) for r in ratios)
    config = GenerationConfig(
        count=count, seed=seed, complexity=tuple(complexity), categories=categories, split_ratios=split_ratios
    )
    assert config.categories == (tuple(sorted(categories)) if categories else None)
    assert config.synthesis.complexity == tuple(complexity) and config.build.compile_cpu is True
    assert GenerationConfig(**config.generation_kwargs()) == config  # normalising is idempotent


@pytest.mark.slow
@settings(max_examples=4, deadline=None, derandomize=True)
@given(
    count=st.integers(1, 3),
    seed=st.integers(0, 2**32),
    categories=st.sets(st.sampled_from(CATEGORIES.names()), min_size=1, max_size=3),
    level=st.integers(1, 5),
    validate=st.booleans(),
)
def test_any_valid_small_config_builds(count, seed, categories, level, validate):
    config = GenerationConfig(
        count=count, seed=seed, categories=categories, complexity=level, validate=validate, trials=1, batch_size=2
    )
    records = list(wid.generate_records(config, range(count)))
    assert [r["index"] for r in records] == list(range(count))
    assert all(r["category"] in categories and r["complexity"] == level and r["cuda_forward"] for r in records)
    assert all(r["launched_cpu"] is (True if validate else None) for r in records)
