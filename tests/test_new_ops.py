"""The ops gradient rules build: mul_nonan, split, slice_update and size.

Each is compared with NumPy and with the reference interpreter of the
traced tir, on hypothesis-drawn shapes with size-0 and size-1 dims, in both
float dtypes, with free dims that change between calls of one compiled
function. ``split`` and ``size`` have no frontend function: tests build them
with ``graph.apply`` inside a traced function, as gradient rules do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorir as ti
from conftest import assert_matches
from tensorir.dialects import OPS
from tensorir.dialects.shape import DIM_SYMS
from tensorir.errors import DTypeError, ShapeError, UnsupportedError
from tensorir.frontend.core import dim_variable
from tensorir.frontend.graph import apply

FLOATS = ("float32", "float64")
seeds = st.integers(0, 2**31 - 1)
free_sizes = st.sampled_from([0, 2, 3, 5])  # free dims are never 1


def data(shape: tuple[int, ...], seed: int = 0, dtype: str = "float64") -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype.startswith("int"):
        return rng.integers(-50, 50, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def same(got: Any, expected: Any) -> None:
    expected = np.asarray(expected)
    assert isinstance(got, np.ndarray)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    np.testing.assert_array_equal(got, expected)


@st.composite
def patterns(draw: st.DrawFn, min_rank: int = 0) -> tuple[tuple[bool, ...], list[tuple[int, ...]]]:
    """A pattern of unit dims (True) and two shapes of it whose free dims differ."""
    rank = draw(st.integers(min_rank, 3))
    ones = tuple(draw(st.booleans()) for _ in range(rank))
    shapes = [tuple(1 if o else draw(free_sizes) for o in ones) for _ in range(2)]
    return ones, shapes


def test_the_new_ops_are_in_the_table() -> None:
    rows = {name: OPS[name] for name in ("mul_nonan", "split", "slice_update", "size")}
    assert rows["mul_nonan"].operands == ("x", "y") and rows["mul_nonan"].family == "elementwise"
    assert rows["split"].operands == ("x", "*at") and dict(rows["split"].attrs) == {"axis": "int", "size": "int"}
    assert rows["split"].num_results == 2
    assert rows["slice_update"].operands == ("x", "v")
    assert dict(rows["slice_update"].attrs) == {"starts": "ints", "stops": "ints", "steps": "ints"}
    assert dict(rows["size"].attrs) == {"axes": "ints", "dtype": "dtype"}
    assert [r.differentiable for r in rows.values()] == [True, True, True, False]
    assert all(r.family == "shape" for n, r in rows.items() if n != "mul_nonan")


# ---------------------------------------------------------------------------
# mul_nonan


def nonan(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.where(x == 0, x.dtype.type(0), x * y)


_nonan = ti.jit(lambda x, y: ti.multiply_no_nan(x, y))


@pytest.mark.parametrize("dtype", FLOATS)
def test_mul_nonan_is_exactly_zero_where_x_is_zero(dtype: str) -> None:
    special = [0.0, -0.0, 1.0, -2.5, np.inf, -np.inf, np.nan, 1e30, -1e-30]
    x = np.repeat(np.array(special, dtype), len(special))
    y = np.tile(np.array(special, dtype), len(special))
    got = assert_matches(_nonan, x, y, expected=nonan(x, y))
    zero = x == 0
    assert (got[zero] == 0).all() and not np.signbit(got[zero]).any()  # +0, even for inf, NaN, -0.0
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(got[~zero], (x * y)[~zero])


@settings(max_examples=15)
@given(patterns(), st.data(), st.sampled_from(FLOATS), seeds)
def test_mul_nonan_broadcasts_and_reuses_one_compile(pattern: Any, draw: Any, dtype: str, seed: int) -> None:
    ones, shapes = pattern
    cut = draw.draw(st.integers(0, len(ones)), label="rank of y")
    f = _nonan_for(ones, cut, dtype)
    for i, shape in enumerate(shapes):
        x = data(shape, seed + i, dtype)
        x[x > 0.5] = 0  # zeros, where y gets infinities and NaNs
        y = data(shape[cut:], seed + 7, dtype)
        y.flat[::3] = np.inf
        y.flat[1::3] = np.nan
        assert_matches(f, x, y, expected=nonan(x, y))
    assert f.compile_count == 1


_nonan_cache: dict[Any, ti.JitFunction] = {}


def _nonan_for(*key: Any) -> ti.JitFunction:
    return _nonan_cache.setdefault(key, ti.jit(lambda x, y: ti.multiply_no_nan(x, y)))


def test_mul_nonan_promotes_as_multiply_and_rejects_non_floats() -> None:
    x32 = np.array([0.0, 2.0], np.float32)
    same(ti.jit(lambda x: ti.multiply_no_nan(x, 2.0))(x32), np.array([0.0, 4.0], np.float32))
    same(ti.jit(lambda x: ti.multiply_no_nan(x, np.inf))(x32), np.array([0.0, np.inf], np.float32))
    same(ti.jit(lambda x, y: ti.multiply_no_nan(x, y))(x32, np.array([1.5, 1.5])), np.array([0.0, 3.0]))
    same(ti.jit(lambda i: ti.multiply_no_nan(i, 0.5))(np.array([0, 3])), np.array([0.0, 1.5]))
    with pytest.raises(DTypeError, match="multiply_no_nan needs float operands; found int64 and int32, "
                       "which promote to int64"):
        ti.jit(lambda a, b: ti.multiply_no_nan(a, b))(np.arange(2), np.arange(2, dtype=np.int32))
    with pytest.raises(DTypeError, match="found bool and bool"):
        ti.jit(lambda a: ti.multiply_no_nan(a, a))(np.array([True]))
    with pytest.raises(DTypeError, match=r"tir.binary op needs operands of one dtype, found \['float32', 'float64'\]"):
        ti.jit(lambda a, b: apply("mul_nonan", [a, b]))(x32, np.zeros(2))
    with pytest.raises(DTypeError, match=r"dtype int64 are not supported here; expected one of \('float32', 'float64'\)"):
        ti.jit(lambda a: apply("mul_nonan", [a, a]))(np.arange(2))


def test_mul_nonan_lowers_to_a_select_that_fuses() -> None:
    f = ti.jit(lambda x, y: ti.multiply_no_nan(ti.exp(x), y) + 1.0)
    x = np.zeros(4)
    lowered = f.lower(x, x)
    assert "arith.cmpf oeq" in lowered.as_text("linalg") and "arith.select" in lowered.as_text("linalg")
    assert lowered.as_text("bufferized").count("linalg.generic") == 1


# ---------------------------------------------------------------------------
# split


def _split_static(axis: int, n: int) -> Any:
    return lambda x: tuple(apply("split", [x], {"axis": axis, "size": n}))


def _split_at_dim_of(axis: int) -> Any:
    """Split ``x`` along ``axis`` after ``len(y)`` entries: an index operand."""

    def fn(x: Any, y: Any) -> Any:
        return tuple(apply("split", [x, dim_variable(y, 0)], {"axis": axis, "size": -1, DIM_SYMS: (y.shape[0],)}))

    return fn


def expected_split(x: np.ndarray, axis: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.split(x, [n], axis=axis)  # type: ignore[return-value]


_split_cache: dict[Any, ti.JitFunction] = {}


@settings(max_examples=20)
@given(patterns(min_rank=1), st.data(), st.sampled_from(FLOATS), seeds)
def test_split_at_a_static_size(pattern: Any, draw: Any, dtype: str, seed: int) -> None:
    ones, shapes = pattern
    axis = draw.draw(st.integers(0, len(ones) - 1), label="axis")
    smallest = min(s[axis] for s in shapes)
    n = draw.draw(st.integers(0, smallest), label="n")
    f = _split_cache.setdefault(("static", ones, axis, n, dtype), ti.jit(_split_static(axis, n)))
    for i, shape in enumerate(shapes):
        x = data(shape, seed + i, dtype)
        assert_matches(f, x, expected=expected_split(x, axis, n))
    assert f.compile_count == 1


@settings(max_examples=20)
@given(patterns(min_rank=1), st.data(), st.sampled_from(FLOATS), seeds)
def test_split_at_an_index_operand(pattern: Any, draw: Any, dtype: str, seed: int) -> None:
    ones, shapes = pattern
    axis = draw.draw(st.integers(0, len(ones) - 1), label="axis")
    f = _split_cache.setdefault(("dynamic", ones, axis, dtype), ti.jit(_split_at_dim_of(axis)))
    for i, shape in enumerate(shapes):
        n = draw.draw(st.sampled_from([m for m in (0, 2, 3, 5) if m <= shape[axis]] or [0]), label="n")
        x, y = data(shape, seed + i, dtype), np.zeros(n)
        assert_matches(f, x, y, expected=expected_split(x, axis, n))
    assert f.compile_count == 1


def test_split_free_dims_vary_in_one_compile() -> None:
    f = ti.jit(_split_at_dim_of(1))
    for rows, cols, n in [(2, 5, 3), (3, 4, 0), (0, 3, 2), (4, 2, 2)]:
        x = data((rows, cols), rows + cols)
        head, tail = assert_matches(f, x, np.zeros(n), expected=expected_split(x, 1, n))
        assert head.shape == (rows, n) and tail.shape == (rows, cols - n)
    assert f.compile_count == 1


def test_split_errors_are_clear() -> None:
    with pytest.raises(ShapeError, match=r"cannot split an array of shape \(1, \?\) after 2 entries along axis 0: "
                       "the axis has only 1"):
        ti.jit(_split_static(0, 2))(np.zeros((1, 3)))
    f = ti.jit(_split_static(0, 3))
    same(f(np.arange(4.0))[1], np.array([3.0]))
    with pytest.raises(ShapeError, match="split along axis 0: the axis must have at least as many entries as the head"):
        f(np.arange(2.0))
    g = ti.jit(_split_at_dim_of(0))
    with pytest.raises(ShapeError, match="at least as many entries as the head"):
        g(np.arange(2.0), np.zeros(3))
    with pytest.raises(ShapeError, match="tir.split axis 2 is out of range for an array of rank 2"):
        ti.jit(_split_static(2, 0))(np.zeros((2, 2)))
    with pytest.raises(ShapeError, match="size -1 takes exactly one index operand"):
        ti.jit(lambda x: apply("split", [x], {"axis": 0, "size": -1}))(np.zeros(2))
    with pytest.raises(ShapeError, match="with size 1 takes no index operand; found 1"):
        ti.jit(lambda x: apply("split", [x, dim_variable(x, 0)], {"axis": 0, "size": 1}))(np.zeros(2))


def test_split_lowers_to_two_views() -> None:
    x = data((3, 4))
    text = ti.jit(_split_at_dim_of(1)).lower(x, np.zeros(2)).as_text("linalg")
    assert text.count("tensor.extract_slice") == 2
    assert "linalg.generic" not in text


# ---------------------------------------------------------------------------
# size


def _size(axes: tuple[int, ...], dtype: str) -> Any:
    return lambda x: apply("size", [x], {"axes": axes, "dtype": dtype})


_size_cache: dict[Any, ti.JitFunction] = {}


@settings(max_examples=20)
@given(patterns(), st.data(), st.sampled_from(FLOATS + ("int32", "int64")))
def test_size_is_the_product_of_the_axes(pattern: Any, draw: Any, dtype: str) -> None:
    ones, shapes = pattern
    axes = tuple(draw.draw(st.permutations(range(len(ones))), label="axes")[: draw.draw(st.integers(0, len(ones)))])
    f = _size_cache.setdefault((ones, axes, dtype), ti.jit(_size(axes, dtype)))
    for shape in shapes:
        x = np.zeros(shape, "float32")
        expected = np.asarray(np.prod([shape[a] for a in axes], dtype=np.int64), dtype=dtype)
        got = assert_matches(f, x, expected=expected)
        same(got, expected)
    assert f.compile_count == 1


def test_size_serves_a_mean() -> None:
    f = ti.jit(lambda x: ti.sum(x, axis=1) / apply("size", [x], {"axes": (1,), "dtype": "float32"}))
    for n in (2, 5):
        x = data((3, n), n, "float32")
        assert_matches(f, x, expected=x.mean(axis=1))
    assert f.compile_count == 1
    text = f.lower(data((3, 2), 0, "float32")).as_text("linalg")
    assert "tensor.from_elements" in text and "arith.sitofp" in text


def test_size_errors_are_clear() -> None:
    x = np.zeros((2, 3))
    with pytest.raises(DTypeError, match="tir.size gives a number; found dtype bool"):
        ti.jit(_size((0,), "bool"))(x)
    with pytest.raises(ShapeError, match=r"tir.size needs distinct axes in \[0, 2\); found \(1, 1\)"):
        ti.jit(_size((1, 1), "float64"))(x)
    with pytest.raises(ShapeError, match=r"found \(2,\)"):
        ti.jit(_size((2,), "float64"))(x)


# ---------------------------------------------------------------------------
# slice_update


def set_numpy(x: np.ndarray, key: Any, v: Any) -> np.ndarray:
    y = x.copy()
    y[key] = v
    return y


@st.composite
def slice_keys(draw: st.DrawFn) -> tuple[tuple[bool, ...], list[tuple[int, ...]], tuple]:
    """A unit-dim pattern, two shapes of it, and a basic index valid for both."""
    ones, shapes = draw(patterns(min_rank=1))
    key: list[Any] = []
    for axis, one in enumerate(ones):
        smallest = min(s[axis] for s in shapes)
        if smallest > 0 and draw(st.booleans()):
            key.append(draw(st.integers(-smallest, smallest - 1)))
            continue
        bound = st.none() | st.integers(-6, 6)
        key.append(slice(draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, 3, -1, -2]))))
    if draw(st.booleans()):
        key.insert(draw(st.integers(0, len(key))), None)
    return ones, shapes, tuple(key)


_update_cache: dict[Any, ti.JitFunction] = {}
_update_signatures: dict[int, set] = {}


@settings(max_examples=30)
@given(slice_keys(), st.sampled_from(FLOATS), st.sampled_from(["array", "scalar", "row"]), seeds)
def test_slice_update_matches_numpy(case: Any, dtype: str, kind: str, seed: int) -> None:
    ones, shapes, key = case
    f = _update_cache.setdefault(
        (ones, repr(key), dtype, kind), ti.jit(lambda x, v: ti.slice_update(x, key, v))
    )
    for i, shape in enumerate(shapes):
        x = data(shape, seed + i, dtype)
        target = x[key].shape
        if kind == "scalar":
            v: Any = np.asarray(2.5, dtype)
        elif kind == "row":
            v = data(target[-1:], seed + 5, dtype)  # broadcast along the leading axes
        else:
            v = data(target, seed + 9, dtype)
        before = x.copy()
        assert_matches(f, x, v, expected=set_numpy(x, key, v))
        same(x, before)  # the input is not written to
        _update_signatures.setdefault(id(f), set()).add(tuple(d == 1 for d in np.shape(v)))
    # one compile per pattern of unit dims of the update: free dims never recompile
    assert f.compile_count == len(_update_signatures[id(f)])


def test_slice_update_casts_the_value_as_numpy_assignment() -> None:
    xi = np.arange(6).reshape(2, 3)
    same(ti.jit(lambda x: ti.slice_update(x, np.s_[:, 1], 2.7))(xi), set_numpy(xi, np.s_[:, 1], 2.7))
    x32 = np.zeros((2, 3), np.float32)
    v64 = np.array([1.0, 2.0, 3.0])
    same(ti.jit(lambda x, v: ti.slice_update(x, 0, v))(x32, v64), set_numpy(x32, 0, v64))
    same(ti.jit(lambda x: ti.slice_update(x, (..., 2), 7))(x32), set_numpy(x32, (..., 2), 7))
    xb = np.zeros(4, bool)
    same(ti.jit(lambda x: ti.slice_update(x, np.s_[::2], 1.0))(xb), set_numpy(xb, np.s_[::2], 1.0))
    # NumPy drops leading unit dims of the value
    same(ti.jit(lambda x, v: ti.slice_update(x, np.s_[0, :2], v))(x32, np.ones((1, 2))),
         set_numpy(x32, np.s_[0, :2], np.ones((1, 2))))


def test_slice_update_of_every_axis_and_of_a_0d_array() -> None:
    x = data((1, 3, 1))
    for key in [(0, 1, 0), (0, slice(None), 0), (slice(None), -1), (Ellipsis, 0), ()]:
        v = np.full(x[key].shape, 9.0)
        assert_matches(ti.jit(lambda a, b, key=key: ti.slice_update(a, key, b)), x, v,
                       expected=set_numpy(x, key, v))
    s = np.array(1.5)
    same(ti.jit(lambda a: ti.slice_update(a, (), 4.0))(s), np.array(4.0))
    same(ti.jit(lambda a: ti.slice_update(a, ..., 4.0))(s), np.array(4.0))


def test_slice_update_with_a_free_value_shape_is_checked_per_call() -> None:
    f = ti.jit(lambda x, v: ti.slice_update(x, np.s_[1:], v))
    x = data((4, 2))
    same(f(x, np.ones((3, 2))), set_numpy(x, np.s_[1:], 1.0))
    with pytest.raises(ShapeError, match="incompatible shapes: slice_update: the update must have the shape of "
                       r"the slice, \(\?, \?\); found shape \(\?, \?\) \(axis 0\)"):
        f(x, np.ones((2, 2)))
    assert f.compile_count == 1
    g = ti.jit(lambda x: ti.slice_update(x, 3, 0.0))
    same(g(np.ones(5)), set_numpy(np.ones(5), 3, 0.0))
    with pytest.raises(ShapeError, match="index 3 is out of bounds for axis 0"):
        g(np.ones(3))


def test_slice_update_errors_are_clear() -> None:
    x = np.zeros((2, 3))
    with pytest.raises(UnsupportedError, match="slice_update index: indexing with an array"):
        ti.jit(lambda a, i: ti.slice_update(a, i, 0.0))(x, np.array([0]))
    with pytest.raises(UnsupportedError, match="slice_update index: indexing with an array"):
        ti.jit(lambda a: ti.slice_update(a, [0, 1], 0.0))(x)
    with pytest.raises(IndexError, match="slice_update index: too many indices"):
        ti.jit(lambda a: ti.slice_update(a, (0, 0, 0), 0.0))(x)
    with pytest.raises(ShapeError, match=r"slice_update: the update must have the shape of the slice, \(\?,\); "
                       r"found shape \(\?,\) \(axis 0\): a.shape\[1\] = 3 but v.shape\[0\] = 2"):
        ti.jit(lambda a, v: ti.slice_update(a, 0, v))(x, np.ones(2))
    with pytest.raises(ShapeError, match=r"the update must have the shape of the slice, \(1,\); found shape \(2,\)"):
        ti.jit(lambda a: ti.slice_update(a, np.s_[:, 0], np.ones(2)))(np.zeros((1, 3)))
    with pytest.raises(ShapeError, match=r"slice_update: could not broadcast the value of shape \(\?, \?\) into the slice of shape \(\?,\)"):
        ti.jit(lambda a, v: ti.slice_update(a, 0, v))(x, np.ones((2, 3)))
    # the op's own rule: dtype and static shape of the update
    with pytest.raises(DTypeError, match="slice_update: the update must have the array's dtype float64; "
                       "found float32"):
        ti.jit(lambda a, v: apply("slice_update", [a, v], _attrs(0)))(x, np.ones(3, np.float32))
    with pytest.raises(ShapeError, match=r"the update must have the shape of the slice, \(\?,\); found shape \(1, 1\)"):
        ti.jit(lambda a, v: apply("slice_update", [a, v], _attrs(0)))(x, np.ones((1, 1)))
    with pytest.raises(ShapeError, match=r"the slice, \(\?,\); found shape \(\?,\) \(axis 0\): "
                       r"max\(min\(1, a.shape\[0\]\), 0\) = 1 but v.shape\[0\] = 2"):
        ti.jit(lambda a, v: apply("slice_update", [a, v], _attrs(0, rows=(0, 1, 1))))(x[:, :1].copy(), np.ones(2))


def _attrs(index: int, rows: tuple = (None, None, 1)) -> dict[str, tuple]:
    """tir.slice attributes of ``x[rows, index]``."""
    return {"starts": (rows[0], index), "stops": (rows[1], None), "steps": (rows[2], 0)}


def test_slice_update_lowers_to_insert_slice() -> None:
    x = data((4, 6))
    text = ti.jit(lambda a, v: ti.slice_update(a, np.s_[1:, ::2], v)).lower(x, np.ones((3, 3))).as_text("linalg")
    assert "tensor.insert_slice" in text and "linalg.generic" not in text
    text = ti.jit(lambda a, v: ti.slice_update(a, np.s_[::-2, 1], v)).lower(x, np.ones(2)).as_text("linalg")
    assert "tensor.insert_slice" in text and "tensor.expand_shape" in text


def test_slice_update_integer_index_next_to_unit_dims_regression() -> None:
    # full-rank insert: a rank-reducing one is ambiguous beside other unit dims
    x = data((1, 3, 2, 1))
    for key in [np.s_[:, :, 1], np.s_[0, :, 0], np.s_[:, 2, :, 0]]:
        v = np.arange(np.prod(x[key].shape), dtype=np.float64).reshape(x[key].shape) + 10
        assert_matches(ti.jit(lambda a, b, key=key: ti.slice_update(a, key, b)), x, v,
                       expected=set_numpy(x, key, v))
