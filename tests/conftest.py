"""Shared test helpers: compile with @jit, and compare against the reference
interpreter of the traced tir and against NumPy.

The disk cache of compiled code (``ti.config.cache``) never touches the
user's ``~/.cache/tensorir`` here: the session's cache lives in a temporary
directory, named by the environment variable ``TENSORIR_TEST_COMPILEDIR``
(made here unless already set, removed at exit by the process that made
it; pytest-xdist workers inherit it). Subprocesses of tests get it as
``compiledir=`` in ``TENSORIR_FLAGS``, and as ``XDG_CACHE_HOME`` (whose
``tensorir`` folder is the default compiledir) for those that set
``TENSORIR_FLAGS`` themselves. Each test compiles into its own
subdirectory, so it meets only the entries it wrote itself.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
from collections import Counter
from typing import Any, Callable, Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import tensorir as ti
from tensorir.dialects import new_context
from tensorir.dialects._bindings import ir, walk
from tensorir.dialects.interpreter import interpret
from tensorir.lowering.cpu import run_pipeline
from tensorir.passes import PASSES
from tensorir.passes.autodiff import tir_autodiff

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("ci")

COMPILEDIR_VARIABLE = "TENSORIR_TEST_COMPILEDIR"
if not os.environ.get(COMPILEDIR_VARIABLE):
    os.environ[COMPILEDIR_VARIABLE] = tempfile.mkdtemp(prefix="tensorir-test-cache-")
    atexit.register(shutil.rmtree, os.environ[COMPILEDIR_VARIABLE], True)
SESSION_COMPILEDIR = os.environ[COMPILEDIR_VARIABLE]
os.environ["XDG_CACHE_HOME"] = SESSION_COMPILEDIR
os.environ["TENSORIR_FLAGS"] = ",".join(
    filter(None, [os.environ.get("TENSORIR_FLAGS", ""), f"compiledir={SESSION_COMPILEDIR}"])
)
ti.config.compiledir = SESSION_COMPILEDIR


@pytest.fixture(autouse=True)
def _own_compiledir() -> Iterator[None]:
    """Each test's compiled code goes to its own folder of the session's cache."""
    before = ti.config.compiledir
    ti.config.compiledir = tempfile.mkdtemp(dir=SESSION_COMPILEDIR)
    try:
        yield
    finally:
        ti.config.compiledir = before


@contextlib.contextmanager
def threads(n: int, minsize: int | None = 0) -> Iterator[None]:
    """``ti.config.threads = n`` inside, and ``parallel_minsize = minsize``
    unless it is None (0: every loop nest is split, however small)."""
    before = ti.config.threads, ti.config.parallel_minsize
    ti.config.threads = n
    if minsize is not None:
        ti.config.parallel_minsize = minsize
    try:
        yield
    finally:
        ti.config.threads, ti.config.parallel_minsize = before


def tolerance(dtype: np.dtype) -> dict[str, float]:
    if np.dtype(dtype) == np.float32:
        return {"rtol": 2e-5, "atol": 2e-6}
    if np.dtype(dtype) == np.float64:
        return {"rtol": 1e-12, "atol": 1e-13}
    return {"rtol": 0, "atol": 0}


def reference(f: Any, *args: Any) -> list[np.ndarray]:
    """Outputs of the reference interpreter on the traced (unoptimised) tir,
    its derivative markers expanded by tir-autodiff (they have no reference)."""
    text = f.lower(*args).as_text("tir")
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        run_pipeline(module, [(tir_autodiff, "tir-autodiff")], "tir-autodiff")
        flat = [np.asarray(a) for a in args]
        return interpret(module, flat)


def run_passes(text: str, *names: str) -> tuple[str, Counter]:
    """Run the named tir passes on IR text; (printed result, count of each tir op)."""
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        run_pipeline(module, [(PASSES[n].run, n) for n in names], "test")
        assert module.operation.verify()
        return str(module), op_counts(module)


def op_counts(module: ir.Module) -> Counter:
    """How many of each tir op (by full name, ``tir.add``) the module holds."""
    return Counter(op.name for op in walk(module.operation) if op.name.startswith("tir."))


def interpret_after(text: str, names: tuple[str, ...], args: list[np.ndarray]) -> list[Any]:
    """The reference interpreter's outputs after running the named tir passes."""
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        run_pipeline(module, [(PASSES[n].run, n) for n in names], "test")
        return interpret(module, args)


def assert_matches(f: ti.JitFunction, *args: Any, expected: Any = None, rtol: float | None = None, atol: float | None = None) -> Any:
    """f(*args) equals the interpreter's result (and ``expected`` if given)."""
    got = f(*args)
    got_list = list(got) if isinstance(got, (tuple, list)) else [got]
    ref = reference(f, *args)
    assert len(got_list) == len(ref)
    for g, r in zip(got_list, ref):
        assert isinstance(g, np.ndarray)
        assert g.dtype == r.dtype, (g.dtype, r.dtype)
        assert g.shape == r.shape, (g.shape, r.shape)
        tol = tolerance(g.dtype)
        if rtol is not None:
            tol = {"rtol": rtol, "atol": atol if atol is not None else tol["atol"]}
        np.testing.assert_allclose(g, r, equal_nan=True, **tol)
    if expected is not None:
        exp_list = list(expected) if isinstance(expected, (tuple, list)) else [expected]
        for g, e in zip(got_list, exp_list):
            e = np.asarray(e)
            assert g.shape == e.shape, (g.shape, e.shape)
            tol = tolerance(g.dtype)
            if rtol is not None:
                tol = {"rtol": rtol, "atol": atol if atol is not None else tol["atol"]}
            np.testing.assert_allclose(g, e, equal_nan=True, **tol)
    return got


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
