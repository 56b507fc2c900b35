"""Task formats for supervised fine-tuning: the shapes TRL's ``SFTTrainer`` accepts.

Four tasks, each with a short fixed instruction that names the target and the kernel's signature:

- ``python_to_cuda``: Warp Python -> the CUDA C++ forward kernel Warp generates;
- ``python_to_cpp``: Warp Python -> the CPU C++ forward kernel;
- ``python_to_adjoint``: Warp Python -> CUDA forward and backward (adjoint) kernels;
- ``ir_to_python``: CUDA forward code -> the Warp Python it came from (decompilation).

Three styles: ``prompt_completion`` (columns ``prompt``, ``completion``), ``messages`` (column ``messages``:
a user turn and an assistant turn) and ``text`` (column ``text``: prompt and completion joined).
Each style produces exactly those columns (plus ``id`` with ``keep_id=True``).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from .errors import ConfigError, NotAKernelError

INSTRUCTIONS = {
    "python_to_cuda": "Write the CUDA C++ forward kernel that NVIDIA Warp generates for the Warp kernel `{signature}`.",
    "python_to_cpp": "Write the CPU C++ forward kernel that NVIDIA Warp generates for the Warp kernel `{signature}`.",
    "python_to_adjoint": (
        "Write the CUDA C++ forward and backward (adjoint) kernels that NVIDIA Warp generates for this Warp kernel "
        "`{signature}`."
    ),
    "ir_to_python": "Write the NVIDIA Warp Python kernel `{signature}` that Warp compiled into this CUDA C++ code.",
}
STYLES = ("prompt_completion", "messages", "text")
COLUMNS = {"prompt_completion": ("prompt", "completion"), "messages": ("messages",), "text": ("text",)}


def kernel_signature(python_source: str, kernel_name: str) -> str:
    """``def name(arg: type, ...)`` of the kernel in ``python_source``."""
    for node in ast.parse(python_source).body:
        if isinstance(node, ast.FunctionDef) and node.name == kernel_name:
            return f"def {node.name}({ast.unparse(node.args)})"
    raise NotAKernelError(f"no function {kernel_name!r} in the source")


def _fence(code: str, language: str) -> str:
    return f"```{language}\n{code.rstrip()}\n```"


def _pair(record: dict[str, Any], task: str) -> tuple[str, str]:
    signature = kernel_signature(record["python_source"], record["kernel_name"])
    instruction = INSTRUCTIONS[task].format(signature=signature)
    python = _fence(record["python_source"], "python")
    if task == "python_to_cuda":
        return f"{instruction}\n\n{python}", _fence(record["cuda_forward"], "cuda")
    if task == "python_to_cpp":
        return f"{instruction}\n\n{python}", _fence(record["cpp_forward"], "cpp")
    if task == "python_to_adjoint":
        return f"{instruction}\n\n{python}", _fence(record["cuda_forward"] + "\n" + record["cuda_backward"], "cuda")
    return f"{instruction}\n\n{_fence(record['cuda_forward'], 'cuda')}", python


def format_record(record: dict[str, Any], task: str, style: str) -> dict[str, Any]:
    """One record in ``task``/``style`` form (see the module docstring)."""
    prompt, completion = _pair(record, task)
    if style == "prompt_completion":
        return {"prompt": prompt, "completion": completion}
    if style == "messages":
        return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion}]}
    return {"text": f"{prompt}\n\n{completion}"}


def check_task(task: str, style: str) -> None:
    if task not in INSTRUCTIONS:
        raise ConfigError(f"Unknown task {task!r}. Available: {', '.join(sorted(INSTRUCTIONS))}")
    if style not in STYLES:
        raise ConfigError(f"Unknown format style {style!r}. Available: {', '.join(STYLES)}")


def to_task_format(dataset: Any, task: str, style: str = "messages", keep_id: bool = False) -> Any:
    """Apply a task format to a ``Dataset``, ``IterableDataset`` or a dict of them (lazily for streams)."""
    check_task(task, style)
    if isinstance(dataset, dict):  # DatasetDict / IterableDatasetDict
        return type(dataset)({name: to_task_format(ds, task, style, keep_id) for name, ds in dataset.items()})
    fn: Callable[[dict[str, Any]], dict[str, Any]] = lambda r: format_record(r, task, style)  # noqa: E731
    columns = dataset.column_names or list(dataset.features)
    remove = [c for c in columns if not (keep_id and c == "id")]
    return dataset.map(fn, remove_columns=remove)
