"""Publish a folder written by ``warp-ir generate`` to the Hugging Face Hub, in one commit.

The folder is checked first (a dataset card whose YAML lists the splits, Parquet shards for exactly
those splits, unique ids). Then the dataset repo is created if needed and the whole folder is uploaded
in one commit that also deletes stale shards under ``data/``: a failed upload commits nothing, and a
rerun completes it. The token comes from ``HF_TOKEN`` or the login cache and is never printed or logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from huggingface_hub import DatasetCard

from .errors import WarpIRError
from .hub import STATS_FILE
from .shards import MANIFEST, MARKERS

logger = logging.getLogger(__name__)


class PushError(WarpIRError, RuntimeError):
    """The folder cannot be published as it is, or the Hub refused or failed the upload."""


@dataclass(frozen=True)
class PushPlan:
    repo_id: str
    folder: Path
    files: list[tuple[str, int]]  # (path in repo, bytes)
    commit_message: str
    private: bool
    revision: str | None
    create_pr: bool

    def describe(self) -> str:
        total = sum(size for _, size in self.files)
        lines = [
            f"push {self.folder} -> https://huggingface.co/datasets/{self.repo_id}"
            + (f" (revision {self.revision})" if self.revision else "")
            + (" as a pull request" if self.create_pr else ""),
            f"repo: dataset, {'private' if self.private else 'public'} if created; commit: {self.commit_message!r}",
            f"files ({len(self.files)}, {_size(total)}); stale files under data/ are deleted in the same commit:",
        ]
        lines += [f"  {path}  {_size(size)}" for path, size in self.files]
        return "\n".join(lines)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def validate_repo_id(repo_id: str) -> str:
    from huggingface_hub.utils import HFValidationError
    from huggingface_hub.utils import validate_repo_id as hub_validate

    if not isinstance(repo_id, str) or repo_id.count("/") != 1:
        raise PushError(f"repo id must look like 'namespace/name' (e.g. 'my-org/warp-ir'), got {repo_id!r}")
    try:
        hub_validate(repo_id)
    except HFValidationError as exc:
        raise PushError(f"invalid repo id {repo_id!r}: {exc}") from None
    return repo_id


def check_folder(folder: str | Path) -> list[tuple[str, int]]:
    """Check that ``folder`` is a complete dataset folder; return its files (path, bytes) to upload."""
    root = Path(folder)
    if not root.is_dir():
        raise PushError(f"{str(root)!r} is not a folder; write one with `warp-ir generate --out {root}`")
    card_path = root / "README.md"
    if not card_path.is_file():
        raise PushError(f"{str(root)!r} has no README.md dataset card: is it a folder written by `warp-ir generate`?")
    card = DatasetCard.load(card_path)
    configs = card.data.to_dict().get("configs") or []
    if not configs or "dataset_info" not in card.data.to_dict():
        raise PushError(f"{card_path} lacks the `configs`/`dataset_info` metadata that `warp-ir generate` writes")
    splits = [entry["split"] for entry in configs[0]["data_files"]]
    shards = sorted(p for p in (root / "data").glob("*.parquet")) if (root / "data").is_dir() else []
    if not shards:
        raise PushError(f"{str(root)!r} has no data/*.parquet shards")
    found = sorted({p.name.split("-")[0] for p in shards})
    if sorted(splits) != found:
        raise PushError(f"the card lists splits {sorted(splits)} but data/ holds shards for {found}")
    ids: set[str] = set()
    rows = 0
    for shard in shards:
        shard_ids = pq.read_table(shard, columns=["id"]).column("id").to_pylist()
        rows += len(shard_ids)
        ids.update(shard_ids)
    if len(ids) != rows:
        raise PushError(f"{str(root)!r} holds {rows} rows but only {len(ids)} distinct ids; regenerate the folder")
    allowed = {"README.md", STATS_FILE, MANIFEST}
    files = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(f"{MARKERS}/"):  # a build's completion markers stay local
            continue
        if not (rel in allowed or rel.startswith("data/") or rel.startswith("plots/")):
            raise PushError(
                f"unexpected file {rel!r} in {str(root)!r}: only README.md, {STATS_FILE}, data/ and plots/ are pushed"
            )
        files.append((rel, path.stat().st_size))
    return files


def plan_push(
    folder: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    create_pr: bool = False,
    commit_message: str | None = None,
) -> PushPlan:
    validate_repo_id(repo_id)
    files = check_folder(folder)
    rows = sum(pq.ParquetFile(Path(folder) / p).metadata.num_rows for p, _ in files if p.endswith(".parquet"))
    message = commit_message or f"Upload warp_ir_dataset ({rows} records)"
    return PushPlan(repo_id, Path(folder), files, message, private, revision, create_pr)


def push(plan: PushPlan, api: Any = None, token: str | None = None) -> str:
    """Create the repo if needed and upload the folder in one commit; return the commit URL.

    Args:
        plan: from :func:`plan_push`.
        api: an ``huggingface_hub.HfApi``-compatible object (tests inject a recorder); default ``HfApi()``.
        token: a token; default ``HF_TOKEN`` or the login cache.
    """
    from huggingface_hub import HfApi, get_token

    token = token or get_token()
    if not token:
        raise PushError("no Hugging Face token: set HF_TOKEN or run `hf auth login` (nothing was uploaded)")
    api = api or HfApi()
    try:
        api.create_repo(plan.repo_id, token=token, private=plan.private, repo_type="dataset", exist_ok=True)
        if plan.revision and not plan.create_pr:
            api.create_branch(plan.repo_id, branch=plan.revision, token=token, repo_type="dataset", exist_ok=True)
        info = api.upload_folder(
            repo_id=plan.repo_id,
            folder_path=str(plan.folder),
            repo_type="dataset",
            token=token,
            revision=plan.revision,
            create_pr=plan.create_pr,
            commit_message=plan.commit_message,
            allow_patterns=["README.md", STATS_FILE, MANIFEST, "data/*", "plots/*"],
            delete_patterns=["data/*", "plots/*"],
        )
    except Exception as exc:  # noqa: BLE001 - network and Hub errors become one clear error
        message = str(exc).replace(token, "***") if token else str(exc)
        raise PushError(
            f"upload to {plan.repo_id} failed: {type(exc).__name__}: {message}. The upload is a single commit, so "
            "nothing partial was published; rerun the same command to retry"
        ) from None
    url = getattr(info, "commit_url", None) or str(info)
    logger.info("pushed %d files to %s: %s", len(plan.files), plan.repo_id, url)
    return url
