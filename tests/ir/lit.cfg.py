# lit configuration of the IR tests: `lit tests/ir` (or `pytest tests/test_opt.py`).
#
# Each .mlir file here runs `tensorir-opt` on itself and checks the output
# with FileCheck (the `filecheck` Python package). `tensorir-opt` is the
# Python running lit with `-m tensorir.tools.opt` and src/ on PYTHONPATH, so
# the tests need no installation and see the working tree's sources.
# ruff: noqa: F821  (`config` and `lit_config` are provided by lit)

import os
import platform
import shutil
import sys

import lit.formats

config.name = "tensorir-ir"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.excludes = ["lit.cfg.py", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
# Temporaries (%t) and lit's timing file go to Output/ (git-ignored).
config.test_exec_root = os.path.join(config.test_source_root, "Output")

_src = os.path.abspath(os.path.join(config.test_source_root, "..", "..", "src"))
config.environment["PYTHONPATH"] = os.pathsep.join([_src, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
for _var in ("HOME", "TMPDIR", "LD_LIBRARY_PATH", "OPENBLAS_NUM_THREADS"):
    if _var in os.environ:
        config.environment[_var] = os.environ[_var]


def _find_filecheck():
    here = os.path.dirname(sys.executable)  # the venv running lit has `filecheck`
    for name in ("FileCheck", "filecheck"):
        for candidate in (os.path.join(here, name), shutil.which(name)):
            if candidate and os.path.isfile(candidate):
                return candidate
    lit_config.fatal("neither FileCheck nor filecheck found; pip install filecheck")


config.substitutions.append((r"\btensorir-opt\b", f'"{sys.executable}" -m tensorir.tools.opt'))
config.substitutions.append((r"\bFileCheck\b", f'"{_find_filecheck()}"'))
# `REQUIRES: x86_64`: tests of rewrites only done for x86-64 hosts (streaming stores)
if platform.machine().lower() in ("x86_64", "amd64"):
    config.available_features.add("x86_64")
