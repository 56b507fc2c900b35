"""Task formats: documented columns and nothing else, the right code on each side."""

from __future__ import annotations

import pytest

import warp_ir_dataset as wid
from tests.conftest import TINY
from warp_ir_dataset.formats import COLUMNS, INSTRUCTIONS, STYLES, format_record, kernel_signature


@pytest.mark.parametrize("task", sorted(INSTRUCTIONS))
@pytest.mark.parametrize("style", STYLES)
def test_each_format_has_exactly_its_columns(tiny_dataset, task, style):
    formatted = wid.to_task_format(tiny_dataset["train"], task, style)
    assert tuple(formatted.column_names) == COLUMNS[style]
    assert len(formatted) == len(tiny_dataset["train"])
    with_id = wid.to_task_format(tiny_dataset["train"], task, style, keep_id=True)
    assert set(with_id.column_names) == {"id", *COLUMNS[style]}


def test_contents_pair_the_right_sides(tiny_records):
    record = tiny_records[0]
    signature = kernel_signature(record["python_source"], record["kernel_name"])
    assert signature.startswith(f"def {record['kernel_name']}(") and "wp.array" in signature

    cuda = format_record(record, "python_to_cuda", "prompt_completion")
    assert signature in cuda["prompt"] and record["python_source"].strip() in cuda["prompt"]
    assert cuda["completion"] == f"```cuda\n{record['cuda_forward'].rstrip()}\n```"

    cpp = format_record(record, "python_to_cpp", "prompt_completion")
    assert record["cpp_forward"].rstrip() in cpp["completion"] and "CPU C++" in cpp["prompt"]

    adjoint = format_record(record, "python_to_adjoint", "prompt_completion")
    assert record["cuda_backward"].rstrip() in adjoint["completion"] and "backward" in adjoint["prompt"]

    decompile = format_record(record, "ir_to_python", "messages")["messages"]
    assert [m["role"] for m in decompile] == ["user", "assistant"]
    assert record["cuda_forward"].rstrip() in decompile[0]["content"]
    assert decompile[1]["content"] == f"```python\n{record['python_source'].rstrip()}\n```"

    text = format_record(record, "python_to_cuda", "text")["text"]
    assert text == f"{cuda['prompt']}\n\n{cuda['completion']}"


def test_load_dataset_applies_a_format(tiny_dataset, hf_cache):
    ds = wid.load_dataset(**TINY, num_workers=1, cache_dir=hf_cache, task="ir_to_python", style="text")
    assert {name: d.column_names for name, d in ds.items()} == {name: ["text"] for name in tiny_dataset}


def test_unknown_task_or_style():
    with pytest.raises(wid.ConfigError, match="Unknown task 'translate'. Available: ir_to_python"):
        wid.load_dataset(count=5, task="translate")
    with pytest.raises(wid.ConfigError, match="Unknown format style 'chatml'"):
        wid.load_dataset(count=5, task="python_to_cuda", style="chatml")
