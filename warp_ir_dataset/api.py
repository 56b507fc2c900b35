"""The two entry points most users need: :func:`load_dataset` and :func:`extract_ir`."""

from __future__ import annotations

from typing import Any

import datasets

from . import warp_internals as wi
from .errors import ConfigError, KernelBuildError


def load_dataset(
    count: int | None = 100,
    seed: int = 0,
    *,
    split: str | None = None,
    num_workers: int | None = None,
    num_proc: int | None = None,
    cache_dir: str | None = None,
    download_mode: str | None = None,
    streaming: bool = False,
    num_shards: int | None = None,
    task: str | None = None,
    style: str = "messages",
    **config: Any,
) -> Any:
    """Generate (or reuse from the cache) ``count`` records and return them.

    Args:
        count: records in total, over all splits. With ``streaming=True``, ``None`` gives an endless stream.
        seed: dataset seed; the same seed and config give byte-identical records.
        split: ``"train"``, ``"validation"`` or ``"test"`` for one split; all three by default.
        num_workers: worker processes that build shards in parallel (default: every core; 1 builds in this
            process). Workers are fresh interpreters with their own Warp kernel caches.
        num_proc: the same, under the name ``datasets.load_dataset`` uses.
        cache_dir: where ``datasets`` caches the prepared data.
        download_mode: ``"force_redownload"`` rebuilds even if a cached copy exists.
        streaming: return ``IterableDataset``s that build records on the fly (nothing is cached).
        num_shards: stripes of a stream (default 16), what DataLoader workers and ranks split between them.
        task: a task format applied to every record (``python_to_cuda``, ``python_to_cpp``,
            ``python_to_adjoint``, ``ir_to_python``; see :mod:`warp_ir_dataset.formats`).
        style: the task format's shape: ``messages`` (default), ``prompt_completion`` or ``text``.
        **config: any other :class:`~warp_ir_dataset.GenerationConfig` field (``categories``,
            ``complexity``, ``include_ptx``, ``validate``, ...). ``source="harvested"`` takes the kernels of
            installed Warp code (``packages``, default Warp's own) instead of synthesizing; ``count=None`` then
            takes all of them.

    Raises:
        ConfigError: a config value is invalid (raised before any compile work).
    """
    from .builder import WarpIRDataset
    from .config import SPLITS, GenerationConfig
    from .formats import check_task, to_task_format

    if task is not None:
        check_task(task, style)
    if num_proc is not None and num_workers is not None and num_proc != num_workers:
        raise ConfigError(f"num_proc={num_proc!r} and num_workers={num_workers!r} name the same thing; give one")
    num_workers = num_workers if num_workers is not None else num_proc
    harvested = config.get("source") == "harvested"
    if harvested and streaming:
        raise ConfigError("source='harvested' builds from a harvest of real code and cannot stream; drop streaming")
    if count is None and not streaming and not harvested:
        raise ConfigError("count=None (an endless stream) needs streaming=True; give a count to build a dataset")
    if split is not None and split not in SPLITS:
        raise ConfigError(f"split must be one of {list(SPLITS)} or None, got {split!r}")
    # validate and normalise here, so the API and the CLI share cache entries for the same config
    generation = GenerationConfig(count=1 if count is None and not harvested else count, seed=seed, **config)
    if streaming:
        result = _streams(generation, count, split, num_shards)
    else:
        builder = WarpIRDataset(cache_dir=cache_dir, num_workers=num_workers, **generation.generation_kwargs())
        builder.download_and_prepare(download_mode=download_mode)
        result = builder.as_dataset(split=split)
    return to_task_format(result, task, style) if task is not None else result


def _streams(config: Any, count: int | None, split: str | None, num_shards: int | None) -> Any:
    """``IterableDataset``s of the config's records, one per split (or the one asked for)."""
    from .config import SPLITS
    from .streaming import DEFAULT_NUM_SHARDS, stream_split

    if config.remove_near_duplicates:
        raise ConfigError("remove_near_duplicates needs the whole dataset; it cannot be used with streaming=True")
    streams = {
        s: stream_split(config, s, count, num_shards or DEFAULT_NUM_SHARDS) for s in ([split] if split else SPLITS)
    }
    return streams[split] if split else datasets.IterableDatasetDict(streams)


def extract_ir(kernel: Any) -> dict[str, str]:
    """The generated code of one concrete ``@wp.kernel``: that kernel's functions and the helpers it calls.

    Returns:
        ``kernel_name``, ``symbol`` (native name prefix), ``python_source``, ``cpp_forward``, ``cpp_backward``,
        ``cuda_forward``, ``cuda_backward`` and ``warp_version``. Nothing is compiled.

    Raises:
        NotAKernelError: ``kernel`` is not a Warp kernel, or is generic with no single overload.
        KernelBuildError: Warp's code generator rejected the kernel (reason ``codegen_error``).
    """
    concrete = wi.concrete_kernel(kernel)
    try:
        code = wi.kernel_code(concrete)
    except Exception as exc:
        raise KernelBuildError("codegen_error", f"Warp could not generate code for {concrete.key!r}: {exc}") from exc
    return {
        "kernel_name": wi.kernel_name(concrete),
        "symbol": code.symbol,
        "python_source": wi.kernel_python_source(concrete),
        "cpp_forward": code.cpp_forward,
        "cpp_backward": code.cpp_backward,
        "cuda_forward": code.cuda_forward,
        "cuda_backward": code.cuda_backward,
        "warp_version": wi.warp_version(),
    }
