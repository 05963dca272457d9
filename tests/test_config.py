"""ti.config and TENSORIR_FLAGS: the global optimizer setting."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import tensorir as ti
from tensorir.config import Config


def _tir_ops(text: str) -> int:
    return text.count('"tir.')


def test_optimizer_setting_chooses_the_default_pipeline() -> None:
    def f(x):  # noqa: ANN001
        return (x * 1.0 + x * 1.0).sum()

    x = np.ones(3)
    assert ti.config.optimizer == "fast_run"
    optimised = _tir_ops(ti.jit(f).lower(x).as_text("tir-opt"))
    try:
        ti.config.optimizer = "none"
        plain = ti.jit(f)
        assert plain.pipeline == "none"
        assert _tir_ops(plain.lower(x).as_text("tir-opt")) > optimised
        assert float(plain(x)) == 6.0
        assert ti.jit(f, pipeline="fast_run").pipeline == "fast_run"  # an explicit choice wins
    finally:
        ti.config.optimizer = "fast_run"


def test_bad_settings_are_clear_errors() -> None:
    with pytest.raises(ti.ArgumentError, match="optimizer must be one of fast_run, fast_compile, none, found 'fast'"):
        ti.config.optimizer = "fast"
    with pytest.raises(ti.ArgumentError, match="tensorir has no setting .optimiser.; settings: cache, compiledir, device, floatX, inplace, mode, optimizer"):
        ti.config.optimiser = "none"
    with pytest.raises(ti.ArgumentError, match=r"TENSORIR_FLAGS: expected name=value, found 'fast_run'"):
        Config("fast_run")
    with pytest.raises(ti.ArgumentError, match="jit: pipeline must be one of"):
        ti.jit(lambda x: x, pipeline="O3")
    assert Config("optimizer=fast_compile").optimizer == "fast_compile"


def test_flags_from_the_environment() -> None:
    env = {**os.environ, "TENSORIR_FLAGS": "optimizer=fast_compile", "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", "import tensorir as ti; print(ti.config.optimizer, ti.jit(lambda x: x).pipeline)"],
        env=env, capture_output=True, text=True, check=True,
    )
    assert out.stdout.split() == ["fast_compile", "fast_compile"]


def test_floatx_and_mode_from_the_environment() -> None:
    env = {**os.environ, "TENSORIR_FLAGS": "floatX=float32,mode=FAST_COMPILE,optimizer=fast_compile",
           "PYTHONPATH": os.pathsep.join(sys.path)}
    code = ("import numpy as np, tensorir as ti; x = ti.matrix('x'); f = ti.function([x], x * 2.0); "
            "print(x.type.dtype, ti.config.mode, f.mode.pipeline, f(np.ones((1, 1), np.float32)).dtype)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["float32", "FAST_COMPILE", "fast_compile", "float32"]


def test_count_settings_parse_and_reject() -> None:
    before = ti.config.threads, ti.config.parallel_minsize
    try:
        ti.config.threads = "2"
        ti.config.parallel_minsize = 0
        assert (ti.config.threads, ti.config.parallel_minsize) == (2, 0)
        for bad in ("0", "two", True, -1):
            with pytest.raises(ti.ArgumentError, match=r"threads must be an integer >= 1, found .* \(e.g. threads=2\)"):
                ti.config.threads = bad
        with pytest.raises(ti.ArgumentError, match="parallel_minsize must be an integer >= 0, found -5"):
            ti.config.parallel_minsize = -5
    finally:
        ti.config.threads, ti.config.parallel_minsize = before


def test_compiledir_is_made_absolute(tmp_path) -> None:
    before = ti.config.compiledir
    try:
        ti.config.compiledir = str(tmp_path / "x" / ".." / "cache")
        assert ti.config.compiledir == str(tmp_path / "cache")
    finally:
        ti.config.compiledir = before
