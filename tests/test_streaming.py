"""Streaming: disjoint and complete across DataLoader workers and ranks; endless streams are deterministic."""

from __future__ import annotations

from itertools import islice

import pytest
from datasets.distributed import split_dataset_by_node

import warp_ir_dataset as wid
from warp_ir_dataset import GenerationConfig
from warp_ir_dataset.pipeline import split_indices
from warp_ir_dataset.synth import sample_id

pytestmark = pytest.mark.slow  # streams compile and launch kernels

FAST = {"complexity": 1, "validate": False}  # IR only: these tests are about sharding, not compiling


def _expected_ids(count: int, split: str) -> set[str]:
    return {sample_id(5, i) for i in split_indices(GenerationConfig(count=count, seed=5))[split]}


def test_endless_stream_is_deterministic():
    def first(n):
        stream = wid.load_dataset(count=None, seed=5, streaming=True, split="train", **FAST)
        return [r["python_source"] for r in islice(stream, n)]

    assert first(6) == first(6)


def test_finite_stream_matches_the_built_split():
    stream = wid.load_dataset(count=30, seed=5, streaming=True, split="train", num_shards=4, **FAST)
    assert stream.num_shards == 4
    ids = [r["id"] for r in stream]
    assert len(ids) == len(set(ids)) and set(ids) == _expected_ids(30, "train")


def test_ranks_get_disjoint_complete_shares():
    stream = wid.load_dataset(count=30, seed=5, streaming=True, split="train", num_shards=4, **FAST)
    shares = [{r["id"] for r in split_dataset_by_node(stream, rank=rank, world_size=2)} for rank in range(2)]
    assert not shares[0] & shares[1]
    assert shares[0] | shares[1] == _expected_ids(30, "train")


def test_dataloader_workers_get_disjoint_complete_shares():
    torch = pytest.importorskip("torch")
    stream = wid.load_dataset(count=30, seed=5, streaming=True, split="train", num_shards=4, **FAST)
    loader = torch.utils.data.DataLoader(stream.select_columns(["id"]), batch_size=None, num_workers=2)
    ids = [row["id"] for row in loader]
    assert len(ids) == len(set(ids)) and set(ids) == _expected_ids(30, "train")


def test_streaming_with_a_task_format():
    stream = wid.load_dataset(count=8, seed=5, streaming=True, split="train", task="python_to_cuda", **FAST)
    row = next(iter(stream))
    assert set(row) == {"messages"}
    assert row["messages"][1]["content"].startswith("```cuda\n")


def test_streaming_rejects_what_it_cannot_do():
    with pytest.raises(wid.ConfigError, match="streaming=True"):
        wid.load_dataset(count=None)
    with pytest.raises(wid.ConfigError, match="remove_near_duplicates"):
        wid.load_dataset(count=5, streaming=True, remove_near_duplicates=True)


def test_training_example_runs(tmp_path):
    pytest.importorskip("torch")
    import subprocess
    import sys
    import time

    from .conftest import REPO_ROOT

    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "examples" / "train_loop.py"),
            "--steps",
            "3",
            "--batch-size",
            "4",
            "--seq-len",
            "256",
            "--complexity",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    elapsed = time.perf_counter() - start
    assert "step   3  loss" in done.stdout
    assert "records/s" in done.stdout and "tokens/s" in done.stdout
    assert elapsed < 60, f"the training example took {elapsed:.1f} s (target: under a minute in CI)"
