"""Calls of ``ti.function`` with plain arrays go straight to the compiled
glue (``Function.fast_path``): the same results, updates and errors as the
general path, which converts arguments and runs the mode."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tensorir as ti
from tensorir.errors import ArgumentError, DTypeError, ShapeError


def _no_slow_path(monkeypatch: pytest.MonkeyPatch, f: Any) -> None:
    """Make the general path of ``f`` (conversion, then the mode) fail loudly."""

    def slow(args: tuple, kwargs: dict) -> Any:
        raise AssertionError("the general path was taken")

    monkeypatch.setattr(f, "_call", slow)


def _message(f: Any, *args: Any, **kwargs: Any) -> tuple[type, str]:
    with pytest.raises(Exception) as info:
        f(*args, **kwargs)
    return type(info.value), str(info.value)


def test_plain_arrays_skip_conversion_and_the_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    x = ti.vector("x", "float32")
    f = ti.function([x], x * 2 + 1)
    assert f.fast_path
    a = np.arange(16, dtype=np.float32)
    _no_slow_path(monkeypatch, f)
    monkeypatch.setattr(f._exe, "run", None)  # nor the Executable's run
    out = f(a)
    assert out.dtype == np.float32 and out.shape == (16,)
    np.testing.assert_array_equal(out, a * 2 + 1)
    # a size of 1 is a free dim like any other (not a jit signature's broadcast dim)
    np.testing.assert_array_equal(f(np.array([3.0], np.float32)), [7.0])
    np.testing.assert_array_equal(f(np.zeros(0, np.float32)), np.zeros(0, np.float32))


def test_checking_modes_keep_their_run() -> None:
    x = ti.vector("x", "float64")
    for mode in ("DebugMode", "NanGuardMode"):
        assert not ti.function([x], x * 2.0, mode=mode).fast_path
    assert ti.function([x], x * 2.0, mode="FAST_COMPILE").fast_path


def test_results_equal_the_general_path() -> None:
    x, n = ti.matrix("x", "float64"), ti.scalar("n", "int64")
    f = ti.function([x, n], [ti.exp(x).sum(axis=1) * n, x.T - 1.0])
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 3))
    fast = f(a, np.array(3))
    slow = f(x=a, n=3)  # by name: the general path
    assert isinstance(fast, list) and len(fast) == 2
    for got, want in zip(fast, slow):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(fast[0], np.exp(a).sum(axis=1) * 3, rtol=1e-12)
    np.testing.assert_array_equal(fast[1], a.T - 1.0)


def test_bad_input_after_a_good_call_gives_the_same_errors() -> None:
    x, n = ti.tensor("x", "float32", shape=(None, 3)), ti.scalar("n", "int64")
    f = ti.function([x, n], x * n)
    good = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(f(good, np.array(2)), np.full((2, 3), 2.0, np.float32))
    cases = [
        ((np.ones((2, 3)), np.array(2)), DTypeError,
         "function: input 'x' is float32, found a float64 array; pass value.astype(np.float32) "
         "or build the function with allow_input_downcast=True"),
        ((np.ones(3, np.float32), np.array(2)), ShapeError,
         "function: input 'x' is a matrix (2-d), found an array of shape (3,)"),
        ((np.ones((2, 4), np.float32), np.array(2)), ShapeError,
         "function: input 'x' was declared with shape (None, 3), so axis 1 must be 3, found an array of shape (2, 4)"),
        ((good, np.array([2])), ShapeError, "function: input 'n' is a scalar (0-d), found an array of shape (1,)"),
        ((good, 1.5), DTypeError, "function: input 'n' is int64, found 1.5"),
        ((good,), ArgumentError, "function takes 2 input(s) (x, n), found 1 argument(s)"),
        ((good, "2"), ArgumentError, "function: input 'n' expects an array, found str"),
    ]
    for args, kind, text in cases:
        assert _message(f, *args) == (kind, text)
        f(good, np.array(2))  # the last good signature again in between
    # the general path (by name) says the same
    assert _message(f, x=np.ones((2, 4), np.float32), n=np.array(2)) == (ShapeError, cases[2][2])


def test_inputs_that_need_conversion_are_converted() -> None:
    x, n = ti.matrix("x", "float64"), ti.scalar("n", "int64")
    f = ti.function([x, n], x * n)
    base = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(f(base, np.array(2)), base * 2)
    view = base.T  # not C-contiguous: copied
    assert not view.flags.c_contiguous
    np.testing.assert_array_equal(f(view, np.array(2)), view * 2)
    swapped = base.astype(">f8")  # byte-swapped float64
    np.testing.assert_array_equal(f(swapped, np.array(2)), base * 2)
    np.testing.assert_array_equal(f(base.astype(np.float32), 3), base * 3)  # safe cast, Python int
    np.testing.assert_array_equal(f([[1.0, 2.0]], np.int64(4)), [[4.0, 8.0]])


def test_incompatible_shapes_raise_the_glue_error_on_both_paths() -> None:
    x, y = ti.vector("x", "float64"), ti.vector("y", "float64")
    f = ti.function([x, y], x + y)
    np.testing.assert_array_equal(f(np.ones(3), np.ones(3)), [2.0, 2.0, 2.0])
    fast = _message(f, np.ones(3), np.ones(4))
    assert fast[0] is ShapeError and "have incompatible shapes" in fast[1] and "= 3 but" in fast[1]
    assert _message(f, x=np.ones(3), y=np.ones(4)) == fast


def test_shared_updates_after_fast_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    x = ti.vector("x", "float32")
    w = ti.shared(np.zeros(4, np.float32), name="w")
    total = ti.shared(np.float32(0.0), name="total")
    f = ti.function([x], (x * w).sum(), updates=[(w, w + x), (total, total + x.sum())])
    assert f.fast_path
    buffer = w.get_value(borrow=True)
    _no_slow_path(monkeypatch, f)
    a = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    outs = [float(f(a)) for _ in range(3)]
    assert outs == [0.0, 30.0, 60.0]  # each call reads w from before its update
    assert w.get_value(borrow=True) is buffer  # written in place
    np.testing.assert_array_equal(buffer, a * 3)
    assert float(total.get_value()) == 30.0


def test_set_value_between_calls_is_used() -> None:
    x = ti.vector("x", "float64")
    w = ti.shared(np.zeros(3), name="w")
    f = ti.function([x], w * x, updates=[(w, w + 1.0)])
    np.testing.assert_array_equal(f(np.ones(3)), [0.0, 0.0, 0.0])
    new = np.array([10.0, 20.0, 30.0])
    w.set_value(new, borrow=True)  # a new buffer, borrowed
    np.testing.assert_array_equal(f(np.ones(3)), [10.0, 20.0, 30.0])
    np.testing.assert_array_equal(new, [11.0, 21.0, 31.0])  # updated in the new buffer
    w.set_value(np.array([5.0, 6.0]))  # a new size
    np.testing.assert_array_equal(f(np.array([2.0, 2.0])), [10.0, 12.0])
    np.testing.assert_array_equal(w.get_value(), [6.0, 7.0])
    with pytest.raises(ShapeError, match="incompatible shapes"):
        f(np.ones(3))
    np.testing.assert_array_equal(w.get_value(), [6.0, 7.0])


def test_only_updates_and_no_inputs() -> None:
    count = ti.shared(np.int64(0), name="count")
    step = ti.function([], None, updates=[(count, count + 1)])
    assert step.fast_path
    assert [step() for _ in range(4)] == [[], [], [], []]
    assert int(count.get_value()) == 4


def test_profile_counts_fast_and_general_calls() -> None:
    x = ti.vector("x", "float32")
    f = ti.function([x], x + 1, profile=True)
    assert f.fast_path
    a = np.ones(8, np.float32)
    for _ in range(5):
        f(a)
    f(x=a)  # general path
    with pytest.raises(DTypeError):
        f(np.ones(8))  # float64: the general path, which raises
    stats = f.profile
    assert stats is not None and stats.calls == 7
    assert 0.0 < stats.min_call_seconds <= stats.max_call_seconds
