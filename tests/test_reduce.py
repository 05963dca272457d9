"""Reductions against NumPy: every op, dtype, axis form, keepdims, size-0
and size-1 dims, NaN and ties.

Each property test compiles the reduction for a random shape (rank 0 to 3,
dims 0 to 3; 1 is a static, broadcastable dim, the others are free), a random
axis argument (None, an int, a negative int, a tuple in any order) and
keepdims, and checks the compiled result against NumPy and against the
reference interpreter of the traced tir (``assert_matches``).

Empty reductions: ``sum``/``prod``/``mean``/``any``/``all`` give NumPy's
identity (0, 1, NaN, False, True). ``max``/``min``/``argmax``/``argmin`` have
no identity: an axis that is empty when the function is called raises a
:class:`ShapeError` from the call (free dims are only known then), never a
made-up value.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tensorir as ti
from conftest import assert_matches
from tensorir.dialects import OPS
from tensorir.dialects.types import Sym, TensorType

ALL_DTYPES = ("bool", "int32", "int64", "float32", "float64")

# Values with many ties; floats also get NaN and infinities.
_FLOAT_VALUES = [-2.0, -1.0, -0.0, 0.0, 0.5, 1.0, 2.0, np.nan, np.inf, -np.inf]
_INT_VALUES = [-3, -1, 0, 1, 2, 3]


def _np_argreduce(fn: Callable[..., np.ndarray], x: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
    """NumPy's argmax/argmin generalised to several axes: the index into the
    reduced axes flattened in row-major order."""
    axes = _np_axes(axis, x.ndim)
    rest = [i for i in range(x.ndim) if i not in axes]
    moved = np.moveaxis(x, axes, list(range(len(rest), x.ndim)))
    flat = moved.reshape(moved.shape[: len(rest)] + (int(np.prod([x.shape[a] for a in axes])),))
    out = np.asarray(fn(flat, axis=-1), dtype=np.int64)
    if keepdims:
        out = out.reshape([1 if i in axes else x.shape[i] for i in range(x.ndim)])
    return out


def _np_axes(axis: Any, ndim: int) -> list[int]:
    if axis is None:
        return list(range(ndim))
    items = axis if isinstance(axis, tuple) else (axis,)
    return sorted(a % ndim for a in items)


# op name -> (frontend function, NumPy function, dtypes, needs a non-empty axis)
CASES: dict[str, tuple[Callable[..., Any], Callable[..., Any], tuple[str, ...], bool]] = {
    "sum": (ti.sum, np.sum, ALL_DTYPES, False),
    "prod": (ti.prod, np.prod, ALL_DTYPES, False),
    "mean": (ti.mean, np.mean, ALL_DTYPES, False),
    "max": (ti.max, np.max, ALL_DTYPES, True),
    "min": (ti.min, np.min, ALL_DTYPES, True),
    "argmax": (ti.argmax, lambda x, axis, keepdims: _np_argreduce(np.argmax, x, axis, keepdims), ALL_DTYPES, True),
    "argmin": (ti.argmin, lambda x, axis, keepdims: _np_argreduce(np.argmin, x, axis, keepdims), ALL_DTYPES, True),
    "any": (ti.any, np.any, ALL_DTYPES, False),
    "all": (ti.all, np.all, ALL_DTYPES, False),
}

# The tir ops each test covers (drives the op-list test below).
TIR_OPS_COVERED = {"sum", "prod", "mean", "max", "min", "argmax", "argmin"}


@st.composite
def arrays_and_axes(draw: st.DrawFn, dtypes: tuple[str, ...]) -> tuple[np.ndarray, Any, bool]:
    dtype = draw(st.sampled_from(dtypes))
    shape = tuple(draw(st.lists(st.integers(0, 3), min_size=0, max_size=3)))
    size = int(np.prod(shape))
    if dtype == "bool":
        values = draw(st.lists(st.booleans(), min_size=size, max_size=size))
    elif dtype.startswith("float"):
        values = draw(st.lists(st.sampled_from(_FLOAT_VALUES), min_size=size, max_size=size))
    else:
        values = draw(st.lists(st.sampled_from(_INT_VALUES), min_size=size, max_size=size))
    x = np.array(values, dtype=dtype).reshape(shape)
    rank = len(shape)
    kinds = ["none"] + (["int", "tuple"] if rank else ["tuple"])
    kind = draw(st.sampled_from(kinds))
    axis: Any
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-rank, rank - 1))
    else:
        chosen = draw(st.lists(st.integers(0, rank - 1), unique=True, max_size=rank)) if rank else []
        # any order, each axis written positive or negative
        axis = tuple(a - rank if draw(st.booleans()) else a for a in chosen)
    return x, axis, draw(st.booleans())


def _check(name: str, x: np.ndarray, axis: Any, keepdims: bool) -> None:
    fn, np_fn, _, nonempty = CASES[name]
    f = ti.jit(lambda v: fn(v, axis=axis, keepdims=keepdims))
    reduced = [x.shape[a] for a in _np_axes(axis, x.ndim)]
    if nonempty and 0 in reduced:
        with pytest.raises(ti.ShapeError, match="needs a non-empty axis"):
            f(x)
        return
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's "mean of empty slice"
        expected = np.asarray(np_fn(x, axis=axis, keepdims=keepdims))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the interpreter's NumPy mean of empty slices
        got = assert_matches(f, x, expected=expected)
    assert got.dtype == expected.dtype, (name, x.dtype, got.dtype, expected.dtype)


@pytest.mark.parametrize("name", sorted(CASES))
def test_reduction_matches_numpy(name: str) -> None:
    @given(arrays_and_axes(CASES[name][2]))
    def prop(case: tuple[np.ndarray, Any, bool]) -> None:
        _check(name, *case)

    prop()


# ---------------------------------------------------------------------------
# dtype rules (NumPy's)


@pytest.mark.parametrize(
    "fn, dtype, expected",
    [
        (ti.sum, "int32", "int64"),
        (ti.sum, "bool", "int64"),
        (ti.sum, "float32", "float32"),
        (ti.prod, "int32", "int64"),
        (ti.mean, "int32", "float64"),
        (ti.mean, "int64", "float64"),
        (ti.mean, "bool", "float64"),
        (ti.mean, "float32", "float32"),
        (ti.max, "int32", "int32"),
        (ti.argmax, "float32", "int64"),
        (ti.any, "float32", "bool"),
    ],
)
def test_result_dtype_follows_numpy(fn: Callable[..., Any], dtype: str, expected: str) -> None:
    out = ti.jit(lambda v: fn(v, axis=0))(np.ones((3, 2), dtype))
    assert out.dtype == np.dtype(expected)


# ---------------------------------------------------------------------------
# Empty reductions


def test_empty_reductions_give_the_identity() -> None:
    @ti.jit
    def f(x):
        return ti.sum(x, axis=0), ti.prod(x, axis=0), ti.any(x, axis=0), ti.all(x, axis=0), ti.mean(x, axis=0)

    s, p, a, al, m = f(np.zeros((0, 2)))
    np.testing.assert_array_equal(s, [0.0, 0.0])
    np.testing.assert_array_equal(p, [1.0, 1.0])
    np.testing.assert_array_equal(a, [False, False])
    np.testing.assert_array_equal(al, [True, True])
    assert np.isnan(m).all()


@pytest.mark.parametrize("fn", [ti.max, ti.min, ti.argmax, ti.argmin])
def test_max_of_an_axis_empty_at_call_time_is_a_clear_error(fn: Callable[..., Any]) -> None:
    f = ti.jit(lambda v: fn(v, axis=0))
    np.testing.assert_array_equal(f(np.zeros((3, 2))), np.zeros(2))
    with pytest.raises(ti.ShapeError, match=r"axis 0 needs a non-empty axis.*v\.shape\[0\], 1\) = 0") as info:
        f(np.zeros((0, 2)))
    assert "test_reduce.py" in str(info.value)
    # an empty free axis that is not reduced is fine
    assert f(np.zeros((3, 0))).shape == (0,)


@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin"])
def test_static_empty_axis_fails_when_typed(name: str) -> None:
    with pytest.raises(ti.ShapeError, match="empty axis 0"):
        OPS[name].infer([TensorType("float32", (0, Sym.fresh()))], {"axes": (0,), "keepdims": False})


# ---------------------------------------------------------------------------
# NaN and ties


def test_nan_propagates_through_max_and_min() -> None:
    x = np.array([[1.0, np.nan, 3.0], [-np.inf, 2.0, np.inf]], np.float32)
    f = ti.jit(lambda v: (ti.max(v, axis=1), ti.min(v, axis=1), ti.max(v), ti.min(v, axis=0)))
    assert_matches(f, x, expected=(np.max(x, 1), np.min(x, 1), np.max(x), np.min(x, 0)))
    assert np.isnan(f(x)[0][0]) and f(x)[0][1] == np.inf


def test_argmax_picks_the_first_nan_like_numpy() -> None:
    x = np.array([[1.0, np.nan, 5.0, np.nan], [np.nan, 1.0, 1.0, np.nan], [2.0, 7.0, 7.0, -1.0]])
    f = ti.jit(lambda v: (ti.argmax(v, axis=1), ti.argmin(v, axis=1), ti.argmax(v), ti.argmin(v, axis=0)))
    got = assert_matches(f, x)
    np.testing.assert_array_equal(got[0], np.argmax(x, 1))
    np.testing.assert_array_equal(got[1], np.argmin(x, 1))
    np.testing.assert_array_equal(got[0], [1, 0, 1])
    assert int(got[2]) == np.argmax(x) == 1
    np.testing.assert_array_equal(got[3], np.argmin(x, 0))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "bool"])
def test_argmax_ties_pick_the_first_on_long_rows(dtype: str, rng: np.random.Generator) -> None:
    # long rows with many equal maxima: loops that are vectorised or split
    # must still report the first occurrence
    x = rng.integers(0, 3, size=(5, 1031)).astype(dtype)
    f = ti.jit(lambda v: (ti.argmax(v, axis=1), ti.argmin(v, axis=1), ti.argmax(v), ti.argmin(v, axis=0)))
    got = f(x)
    np.testing.assert_array_equal(got[0], np.argmax(x, 1))
    np.testing.assert_array_equal(got[1], np.argmin(x, 1))
    assert int(got[2]) == np.argmax(x)
    np.testing.assert_array_equal(got[3], np.argmin(x, 0))


def test_argmax_over_several_axes_flattens_row_major() -> None:
    x = np.zeros((2, 3, 4))
    x[1, 0, 2] = 5.0  # row 0: the only maximum, at 1 * 4 + 2 over axes (0, 2)
    x[1, 2, 1] = 5.0  # row 2: a maximum at 1 * 4 + 1 = 5 ...
    x[0, 2, 3] = 5.0  # ... and an earlier one at 0 * 4 + 3 = 3
    f = ti.jit(lambda v: (ti.argmax(v, axis=(0, 2)), ti.argmax(v, axis=(2, 0), keepdims=True)))
    a, b = assert_matches(f, x)
    np.testing.assert_array_equal(a, [6, 0, 3])
    assert b.shape == (1, 3, 1)
    np.testing.assert_array_equal(b.reshape(-1), [6, 0, 3])


def test_any_all_of_values_and_bools() -> None:
    x = np.array([[0.0, 2.0], [0.0, 0.0], [np.nan, 1.0]])
    f = ti.jit(lambda v: (ti.any(v, axis=1), ti.all(v, axis=1), ti.any(v > 0), ti.all(v, axis=0, keepdims=True)))
    assert_matches(f, x, expected=(np.any(x, 1), np.all(x, 1), np.any(x > 0), np.all(x, 0, keepdims=True)))


def test_every_reduce_op_of_the_table_is_tested() -> None:
    family = {name for name, op in OPS.items() if op.family == "reduce"}
    missing = family - TIR_OPS_COVERED
    assert not missing, f"reduce ops without a property test here: {sorted(missing)}"
    assert TIR_OPS_COVERED <= set(CASES)


def test_regression_reduction_over_no_axes_fused_into_a_larger_consumer() -> None:
    # found by the random graphs of test_passes_merge_fold: a reduction over no
    # axes read its destination, and once fused into a consumer with more
    # iterations it accumulated across them ([0.25, 0.5, 0.75] for [0.25] * 3)
    for pipeline in ("none", "fast_run"):
        f = ti.jit(lambda x: ti.mean(ti.full((), 0.25), axis=()) * x, pipeline=pipeline)
        np.testing.assert_array_equal(f(np.ones(3)), [0.25, 0.25, 0.25])
        g = ti.jit(lambda x, y: ti.sum(x, axis=()) * y + ti.max(x, axis=(), keepdims=True) * y, pipeline=pipeline)
        np.testing.assert_array_equal(g(np.float64(3.0), np.ones(3)), [6.0, 6.0, 6.0])
