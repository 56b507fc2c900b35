"""Sharing Clang's precompiled Warp header between processes (warp_internals)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from warp_ir_dataset import warp_internals

COMPILE_ONE = """
import json, numpy as np, warp as wp
from warp_ir_dataset import warp_internals as wi
SOURCE = '''
import warp as wp

@wp.kernel
def triple(a: wp.array(dtype=float)):
    i = wp.tid()
    a[i] = a[i] * 3.0 + float(i)
'''
kernel = wi.load_kernel_source(SOURCE, "triple", "pch_test", "<pch_test>")
wi.compile_cpu(kernel.module)
values = wp.array(np.ones(4, dtype=np.float32), device="cpu")
wp.launch(kernel, dim=4, inputs=[values], device="cpu")
print(json.dumps({"values": values.numpy().tolist(), "shared": str(wi.shared_pch_dir())}))
"""


def _compile_in_fresh_process(shared_root) -> dict:
    env = {**os.environ, warp_internals.PCH_CACHE_ENV: str(shared_root)}
    out = subprocess.run([sys.executable, "-c", COMPILE_ONE], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _headers(folder) -> list:
    return sorted(p for p in folder.iterdir() if warp_internals.is_clang_pch(p.name)) if folder.is_dir() else []


@pytest.mark.slow
def test_a_process_shares_its_header_and_a_corrupt_shared_header_only_costs_time(tmp_path):
    first = _compile_in_fresh_process(tmp_path)
    assert first["values"] == [3.0, 4.0, 5.0, 6.0]
    shared = tmp_path / os.path.basename(first["shared"])
    (header,) = _headers(shared)
    assert header.stat().st_size > 100_000
    header.write_bytes(b"not a precompiled header")  # e.g. left by another Clang
    second = _compile_in_fresh_process(tmp_path)
    assert second["values"] == first["values"]  # the build did not fail
    assert all(h.read_bytes() != b"not a precompiled header" for h in _headers(shared))  # and it was dropped


def test_headers_are_copied_in_before_a_compile_and_new_ones_shared_after(tmp_path):
    local, shared = tmp_path / "thread", tmp_path / "shared"
    local.mkdir()
    shared.mkdir()
    (shared / "builtin_bd1_o0_aaaa.pch").write_bytes(b"header A")
    (shared / ".builtin_bd1_o0_bbbb.pch.1.2.partial").write_bytes(b"half written")
    warp_internals.exchange_precompiled_headers(local, shared, after_compile=False)
    assert [p.name for p in local.iterdir()] == ["builtin_bd1_o0_aaaa.pch"]
    assert (local / "builtin_bd1_o0_aaaa.pch").read_bytes() == b"header A"

    (local / "builtin_bd1_o2_cccc.pch").write_bytes(b"header C")  # the compile built another one
    warp_internals.exchange_precompiled_headers(local, shared, after_compile=True)
    assert (shared / "builtin_bd1_o2_cccc.pch").read_bytes() == b"header C"
    assert not list(shared.glob(".*.partial.*"))


def test_a_header_warp_discarded_is_removed_from_the_shared_folder_and_not_copied_again(tmp_path):
    local, shared = tmp_path / "thread", tmp_path / "shared"
    local.mkdir()
    shared.mkdir()
    (shared / "builtin_bd1_o0_dddd.pch").write_bytes(b"unusable")
    warp_internals.exchange_precompiled_headers(local, shared, after_compile=False)
    (local / "builtin_bd1_o0_dddd.pch").unlink()  # what Warp does with a header Clang rejects
    warp_internals.exchange_precompiled_headers(local, shared, after_compile=True)
    assert not (shared / "builtin_bd1_o0_dddd.pch").exists()
    (shared / "builtin_bd1_o0_dddd.pch").write_bytes(b"unusable")  # another process shares it again
    warp_internals.exchange_precompiled_headers(local, shared, after_compile=False)
    assert not (local / "builtin_bd1_o0_dddd.pch").exists()


def test_sharing_is_off_when_the_variable_is_empty_and_keyed_by_warp_version(monkeypatch, tmp_path):
    monkeypatch.setenv(warp_internals.PCH_CACHE_ENV, "")
    assert warp_internals.shared_pch_dir() is None
    monkeypatch.setenv(warp_internals.PCH_CACHE_ENV, str(tmp_path))
    folder = warp_internals.shared_pch_dir()
    assert folder.parent == tmp_path and folder.name.startswith(f"warp-{warp_internals.warp_version()}-")


FORK_DURING_WARM_UP = """
import os, sys
from warp_ir_dataset import warp_internals as wi
wi.warm_up_cpu_compiler()  # an empty header folder: this takes seconds
pid = os.fork()
if pid == 0:  # a DataLoader worker, say: it must not inherit a half-done compile or a held lock
    kernel = wi.load_kernel_source(SOURCE, "triple", "fork_test", "<fork_test>")
    wi.compile_cpu(kernel.module)
    sys.exit(0)  # through the exit handlers: the child removes its scratch folder
print("warm-up running at fork:", wi.warming_up())
_, status = os.waitpid(pid, 0)
print("child exit:", os.waitstatus_to_exitcode(status))
"""


@pytest.mark.slow
def test_forking_waits_for_the_warm_up_and_the_child_compiles(tmp_path):
    source = COMPILE_ONE.split("SOURCE = ")[1].split("\nkernel =")[0]
    env = {**os.environ, warp_internals.PCH_CACHE_ENV: str(tmp_path)}
    script = f"SOURCE = {source}\n{FORK_DURING_WARM_UP}"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "warm-up running at fork: False" in out.stdout
    assert "child exit: 0" in out.stdout


LEAVES_NOTHING_BEHIND = """
import json, multiprocessing, os, warp as wp
from warp_ir_dataset import GenerationConfig, generate_records
from warp_ir_dataset import warp_internals as wi

def child(queue):  # a forked DataLoader worker, say: it leaves through os._exit
    records = list(generate_records(GenerationConfig(count=8, seed=1, batch_size=2), [4, 5]))
    queue.put({"cache": wp.config.kernel_cache_dir, "pch": wi.pch_dirs(),
               "records": len(records)})

records = list(generate_records(GenerationConfig(count=8, seed=1, batch_size=2, include_ptx=True), [0, 1, 2, 3]))
cache = wp.config.kernel_cache_dir
left = sorted(os.listdir(cache))
queue = multiprocessing.get_context("fork").Queue()
process = multiprocessing.get_context("fork").Process(target=child, args=(queue,))
process.start()
from_child = queue.get(timeout=300)
process.join()
print(json.dumps({"records": len(records), "cache": cache, "left": left, "scratch": str(wi.process_scratch_dir()),
                  "child": from_child, "child_exit": process.exitcode, "cache_after_child": os.path.isdir(cache)}))
"""


@pytest.mark.slow
def test_a_process_and_its_forked_children_leave_no_files_behind(tmp_path):
    """Compiled batches are deleted once released; scratch folders (kernel cache, PTX) at exit, also in a
    forked multiprocessing child, which gets a kernel cache of its own and leaves through os._exit."""
    env = {**os.environ, warp_internals.PCH_CACHE_ENV: str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", LEAVES_NOTHING_BEHIND], capture_output=True, text=True, env=env, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["records"] == 4 and report["child"]["records"] == 2 and report["child_exit"] == 0
    assert report["left"] == []  # every batch module's build folder was removed on release
    assert report["cache"].startswith(report["scratch"])
    assert report["child"]["cache"] != report["cache"] and report["cache_after_child"]
    assert not os.path.exists(report["scratch"])
    assert not os.path.exists(report["child"]["cache"])
    assert report["child"]["pch"] and not any(os.path.exists(p) for p in report["child"]["pch"])
