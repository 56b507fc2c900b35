"""Publishing: folder checks, the dry-run plan, one-commit upload through an injected HfApi, no token leaks."""

from __future__ import annotations

import json
import logging
import os
import shutil

import datasets
import pytest
from huggingface_hub import DatasetCard

import warp_ir_dataset as wid
from tests.conftest import TINY
from warp_ir_dataset import FEATURES, GenerationConfig, write_hub_dataset
from warp_ir_dataset.cli import main
from warp_ir_dataset.push import PushError, check_folder, plan_push, push

TOKEN = "hf_testtoken_do_not_print_0123456789"


class RecordingApi:
    """An HfApi stand-in that records calls; ``fail_upload`` simulates a network failure mid-upload."""

    def __init__(self, fail_upload: bool = False):
        self.calls: list[tuple[str, dict]] = []
        self.fail_upload = fail_upload

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))

    def create_branch(self, repo_id, **kwargs):
        self.calls.append(("create_branch", {"repo_id": repo_id, **kwargs}))

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))
        if self.fail_upload:
            raise ConnectionError(f"connection reset while sending data (Authorization: Bearer {TOKEN})")

        class Info:
            commit_url = f"https://huggingface.co/datasets/{kwargs['repo_id']}/commit/abc123"

        return Info()


@pytest.fixture(scope="module")
def folder(tiny_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("push") / "warp_ir_data"
    write_hub_dataset(tiny_dataset, out, GenerationConfig(**TINY), repo_id="my-org/warp-ir")
    return out


def test_folder_loads_like_the_builder_and_the_card_is_valid(folder, tiny_dataset, hf_cache):
    assert datasets.get_dataset_config_names(str(folder)) == ["default"]
    loaded = datasets.load_dataset(str(folder), cache_dir=hf_cache)
    assert {s: ds.to_list() for s, ds in loaded.items()} == {s: ds.to_list() for s, ds in tiny_dataset.items()}
    card = DatasetCard.load(folder / "README.md")
    meta = card.data.to_dict()
    for key in ("license", "task_categories", "language", "tags", "size_categories", "pretty_name", "configs"):
        assert meta.get(key), key
    infos = datasets.info.DatasetInfosDict.from_dataset_card_data(card.data)
    assert infos["default"].features == FEATURES
    sizes = {s: infos["default"].splits[s].num_examples for s in tiny_dataset}
    assert sizes == {s: len(d) for s, d in tiny_dataset.items()}
    assert "![Records per category" in card.text and (folder / "plots" / "categories.png").is_file()
    assert "my-org/warp-ir" in card.text
    numbers = json.loads((folder / "stats.json").read_text())  # drops by reason are kept beside the data
    assert numbers["records"] == sum(len(d) for d in tiny_dataset.values())
    assert numbers["replaced_by_reason"] == wid.drops_by_reason(r for d in tiny_dataset.values() for r in d)


def test_dry_run_prints_the_plan_and_uploads_nothing(folder, capsys, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert main(["push", str(folder), "--repo-id", "my-org/warp-ir", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "data/train-00000-of-00001.parquet" in out and "README.md" in out and "plots/lengths.png" in out
    assert "Upload warp_ir_dataset (12 records)" in out and "dry run: nothing was uploaded" in out
    assert TOKEN not in out


def test_push_is_one_commit_with_stale_shards_deleted(folder, caplog):
    api = RecordingApi()
    plan = plan_push(folder, "my-org/warp-ir", private=True, revision="v1", commit_message="first")
    with caplog.at_level(logging.DEBUG):
        url = push(plan, api=api, token=TOKEN)
    assert url.endswith("/commit/abc123")
    names = [name for name, _ in api.calls]
    assert names == ["create_repo", "create_branch", "upload_folder"]
    create = api.calls[0][1]
    assert (create["repo_id"], create["repo_type"], create["private"], create["exist_ok"]) == (
        "my-org/warp-ir",
        "dataset",
        True,
        True,
    )
    upload = api.calls[2][1]
    assert upload["repo_type"] == "dataset" and upload["revision"] == "v1" and upload["commit_message"] == "first"
    assert upload["folder_path"] == str(folder)
    assert "data/*" in upload["delete_patterns"]
    assert TOKEN not in caplog.text


def test_failed_upload_is_a_clear_error_without_the_token(folder, caplog):
    plan = plan_push(folder, "my-org/warp-ir")
    with caplog.at_level(logging.DEBUG), pytest.raises(PushError) as info:
        push(plan, api=RecordingApi(fail_upload=True), token=TOKEN)
    message = str(info.value)
    assert "upload to my-org/warp-ir failed" in message and "rerun" in message and "nothing partial" in message
    assert TOKEN not in message and TOKEN not in caplog.text


def test_missing_token_fails_before_any_call(folder, monkeypatch, tmp_path):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # no login cache either
    api = RecordingApi()
    with pytest.raises(PushError, match="no Hugging Face token"):
        push(plan_push(folder, "my-org/warp-ir"), api=api)
    assert api.calls == []


@pytest.mark.parametrize("repo_id", ["warp-ir", "a/b/c", "my org/x", "", "org/-bad-"])
def test_bad_repo_ids(folder, repo_id):
    with pytest.raises(PushError, match="repo id"):
        plan_push(folder, repo_id)


def test_bad_folders(folder, tmp_path):
    with pytest.raises(PushError, match="is not a folder"):
        check_folder(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PushError, match="no README.md"):
        check_folder(empty)
    foreign = tmp_path / "foreign"
    shutil.copytree(folder, foreign)
    (foreign / "notes.txt").write_text("hello")
    with pytest.raises(PushError, match="unexpected file 'notes.txt'"):
        check_folder(foreign)
    no_data = tmp_path / "no_data"
    shutil.copytree(folder, no_data)
    shutil.rmtree(no_data / "data")
    with pytest.raises(PushError, match="no data"):
        check_folder(no_data)


@pytest.mark.skipif(
    not (os.environ.get("HF_TOKEN") and os.environ.get("WARP_IR_TEST_REPO")),
    reason="opt-in: set HF_TOKEN and WARP_IR_TEST_REPO (a private scratch dataset repo id) to push for real",
)
def test_real_push_round_trip(folder, tiny_dataset, hf_cache):  # pragma: no cover - needs the network
    from huggingface_hub import HfApi

    repo_id = os.environ["WARP_IR_TEST_REPO"]
    api = HfApi()
    try:
        push(plan_push(folder, repo_id, private=True), api=api)
        loaded = datasets.load_dataset(repo_id, cache_dir=hf_cache, download_mode="force_redownload")
        assert {s: ds.to_list() for s, ds in loaded.items()} == {s: ds.to_list() for s, ds in tiny_dataset.items()}
    finally:
        api.delete_repo(repo_id, repo_type="dataset", missing_ok=True)
