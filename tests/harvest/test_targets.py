"""Targets are found on disk, nothing imported: packages with every submodule, files, folders."""

from __future__ import annotations

import sys

import pytest

from warp_ir_dataset.errors import ConfigError
from warp_ir_dataset.harvest import ModuleJob, resolve_targets

from ..conftest import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures"


def test_a_package_folder_gives_the_package_and_every_submodule_without_importing_them():
    jobs = resolve_targets([str(FIXTURES / "wirfix")])
    assert [job.name for job in jobs] == [
        "wirfix",
        "wirfix.crashes",
        "wirfix.exits",
        "wirfix.kernels",
        "wirfix.loops",
        "wirfix.raises",
        "wirfix.spins",
        "wirfix.tiles",
    ]
    assert {job.path for job in jobs} == {str(FIXTURES)}
    assert "wirfix.loops" not in sys.modules  # found on disk: the module that loops at import was not run


def test_an_installed_package_a_file_and_overlapping_targets():
    jobs = resolve_targets(["warp.optim", "warp.optim.linear", str(FIXTURES / "wirfix" / "kernels.py")])
    assert jobs == [
        ModuleJob("kernels", str(FIXTURES / "wirfix")),
        ModuleJob("warp.optim"),
        ModuleJob("warp.optim.linear"),
    ]


@pytest.mark.parametrize("target", ["no_such_module_xyz", "warp.no_such_submodule", "missing.py", "shutil.sub"])
def test_a_target_that_is_nothing_is_a_config_error_naming_it(target):
    with pytest.raises(ConfigError, match=target.replace(".", r"\.")):
        resolve_targets([target])
