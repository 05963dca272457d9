"""Shape ops, constructors and basic indexing against NumPy.

Every example compares the compiled result with NumPy (and, where marked,
with the reference interpreter of the traced tir). Shapes are drawn with
size-0 and size-1 dims; free dims vary between calls of one compiled
function.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tensorir as ti
from conftest import assert_matches
from tensorir.dialects import OPS
from tensorir.errors import IndexOutOfBoundsError, ShapeError, UnsupportedError
from tensorir.frontend.graph import apply

dims = st.integers(0, 4)
shapes = st.lists(dims, min_size=1, max_size=3).map(tuple)
seeds = st.integers(0, 2**31 - 1)


def data(shape: tuple[int, ...], seed: int = 0, dtype: str = "float64") -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.startswith("int"):
        return rng.integers(-50, 50, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def same(got: np.ndarray, expected: Any) -> None:
    expected = np.asarray(expected)
    assert isinstance(got, np.ndarray)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    np.testing.assert_array_equal(got, expected)


class JitCache:
    """One jit function per static configuration, so examples sharing it share compiles."""

    def __init__(self, make: Callable[..., Callable[..., Any]]):
        self.make = make
        self.cache: dict[str, ti.JitFunction] = {}

    def __call__(self, *config: Any) -> ti.JitFunction:
        key = repr(config)
        if key not in self.cache:
            self.cache[key] = ti.jit(self.make(*config))
        return self.cache[key]


# ---------------------------------------------------------------------------
# reshape, ravel


_ravel = ti.jit(lambda x: x.ravel())
_keep_first = ti.jit(lambda x: x.reshape(x.shape[0], -1))
_keep_last = ti.jit(lambda x: ti.reshape(x, (-1, x.shape[-1])))
_to_shape_of = ti.jit(lambda x, y: x.reshape(y.shape))
_two_rows = ti.jit(lambda x: x.reshape(2, -1))


@given(shapes, seeds)
def test_reshape_matches_numpy(shape: tuple[int, ...], seed: int) -> None:
    x = data(shape, seed)
    same(_ravel(x), x.ravel())
    if x.shape[0] != 0:
        same(_keep_first(x), x.reshape(x.shape[0], -1))
    if x.shape[-1] != 0:
        same(_keep_last(x), x.reshape(-1, x.shape[-1]))
    if x.size % 2 == 0 and x.size:
        same(_two_rows(x), x.reshape(2, -1))


@given(st.lists(st.integers(2, 4), min_size=2, max_size=3).map(tuple), seeds)
def test_reshape_to_several_free_dims(shape: tuple[int, ...], seed: int) -> None:
    x = data(shape, seed)
    flat = x.ravel()
    same(_to_shape_of(flat, x), x)
    same(_to_shape_of(x, np.zeros(shape[::-1])), x.reshape(shape[::-1]))
    assert _to_shape_of.compile_count <= 4  # (1 -> k and k -> k) for k in 2, 3


def test_reshape_one_compile_for_every_size() -> None:
    f = ti.jit(lambda x: x.reshape(-1, 2) * 2)
    for n in (2, 3, 7, 0):
        x = data((n, 2, 2))
        same(f(x), x.reshape(-1, 2) * 2)
    assert f.compile_count == 1


def test_reshape_of_incompatible_size_fails_at_call_time() -> None:
    f = ti.jit(lambda x, y: x.reshape(y.shape[0], -1))
    same(f(np.arange(6.0), np.zeros(3)), np.arange(6.0).reshape(3, 2))
    with pytest.raises(ShapeError, match=r"cannot reshape an array of shape \(\?,\) into shape \(\?, -1\)"):
        f(np.arange(7.0), np.zeros(3))
    g = ti.jit(lambda x, y: x.reshape(y.shape))
    with pytest.raises(ShapeError, match="the number of elements differs") as info:
        g(np.arange(6.0), np.zeros((4, 2)))
    assert "x.shape[0] = 6" in str(info.value) or "= 6" in str(info.value)


def test_reshape_static_errors() -> None:
    x = ti.jit(lambda a: a.reshape(-1, -1))
    with pytest.raises(ShapeError, match="only specify one unknown dimension"):
        x(np.zeros(4))
    y = ti.jit(lambda a: a.reshape(3))
    with pytest.raises(ShapeError, match=r"cannot reshape an array of shape \(1, 1\) into shape \(3,\)"):
        y(np.zeros((1, 1)))


def test_reshape_scalar_and_size_one() -> None:
    f = ti.jit(lambda a: a.reshape(()))
    same(f(np.array([[2.5]])), np.array(2.5))
    g = ti.jit(lambda a: a.reshape(1, 1, 1))
    same(g(np.array(3.0)), np.full((1, 1, 1), 3.0))


def test_reshape_by_a_product_of_free_dims() -> None:
    f = ti.jit(lambda x: x.reshape(x.shape[0] * x.shape[1], x.shape[2]))
    x = data((2, 3, 4))
    same(f(x), x.reshape(6, 4))


# ---------------------------------------------------------------------------
# transpose and friends


perms = shapes.flatmap(lambda s: st.tuples(st.just(s), st.permutations(range(len(s))).map(tuple)))
_transpose = JitCache(lambda perm: lambda x: ti.transpose(x, perm))


@given(perms, seeds)
def test_transpose_matches_numpy(shape_perm: tuple, seed: int) -> None:
    shape, perm = shape_perm
    x = data(shape, seed, "int32")
    same(_transpose(perm)(x), np.transpose(x, perm))


def test_axis_permutation_helpers(rng: np.random.Generator) -> None:
    x = rng.standard_normal((2, 3, 4))
    same(ti.jit(lambda a: a.T)(x), x.T)
    same(ti.jit(lambda a: a.mT)(x), np.swapaxes(x, -1, -2))
    same(ti.jit(lambda a: ti.swapaxes(a, 0, 2))(x), np.swapaxes(x, 0, 2))
    same(ti.jit(lambda a: ti.moveaxis(a, 0, -1))(x), np.moveaxis(x, 0, -1))
    same(ti.jit(lambda a: ti.moveaxis(a, (0, 1), (2, 0)))(x), np.moveaxis(x, (0, 1), (2, 0)))
    same(ti.jit(lambda a: a.transpose(1, 0, 2))(x), x.transpose(1, 0, 2))
    with pytest.raises(ShapeError, match="repeat an axis"):
        ti.jit(lambda a: ti.transpose(a, (0, 0, 1)))(x)
    with pytest.raises(ShapeError, match="rank >= 2"):
        ti.jit(lambda a: ti.matrix_transpose(a))(x[0, 0])


# ---------------------------------------------------------------------------
# expand_dims, squeeze


_expand = JitCache(lambda axes: lambda x: ti.expand_dims(x, axes))
_squeeze_all = ti.jit(lambda x: ti.squeeze(x))


@given(shapes, st.lists(st.integers(-4, 3), min_size=1, max_size=2, unique=True), seeds)
def test_expand_dims_and_squeeze(shape: tuple[int, ...], axes: list[int], seed: int) -> None:
    x = data(shape, seed)
    rank = len(shape) + len(axes)
    if len({a % rank for a in axes if -rank <= a < rank}) != len(axes) or any(
        not -rank <= a < rank for a in axes
    ):
        return
    expected = np.expand_dims(x, tuple(axes))
    out = _expand(tuple(axes))(x)
    same(out, expected)
    same(_squeeze_all(expected), np.squeeze(expected))


def test_squeeze_named_axes_and_scalar(rng: np.random.Generator) -> None:
    x = rng.standard_normal((1, 3, 1))
    assert_matches(ti.jit(lambda a: ti.squeeze(a, axis=-1)), x, expected=np.squeeze(x, -1))
    assert_matches(ti.jit(lambda a: a.squeeze((0, 2))), x, expected=np.squeeze(x, (0, 2)))
    one = np.ones((1, 1))
    same(ti.jit(lambda a: a.squeeze())(one), np.array(1.0))


def test_squeeze_of_a_dim_that_is_not_one_is_an_error() -> None:
    f = ti.jit(lambda a: ti.squeeze(a, axis=1))
    with pytest.raises(ShapeError, match=r"cannot squeeze axis 1 .* size is free"):
        f(np.zeros((1, 3)))
    with pytest.raises(ShapeError, match="out of bounds"):
        ti.jit(lambda a: ti.squeeze(a, axis=2))(np.zeros((1, 3)))


# ---------------------------------------------------------------------------
# concatenate, stack


dtypes = st.sampled_from(["bool", "int32", "int64", "float32", "float64"])
_concat = JitCache(lambda axis, n: lambda *xs: ti.concatenate(xs, axis=axis))
_stack = JitCache(lambda axis, n: lambda *xs: ti.stack(xs, axis=axis))


@given(shapes, st.lists(dims, min_size=2, max_size=3), st.data(), st.lists(dtypes, min_size=3, max_size=3), seeds)
def test_concatenate_matches_numpy(shape: tuple, sizes: list[int], draw: Any, kinds: list[str], seed: int) -> None:
    axis = draw.draw(st.integers(-len(shape), len(shape) - 1))
    a = axis % len(shape)
    arrays = [data(shape[:a] + (n,) + shape[a + 1:], seed + i, kinds[i]) for i, n in enumerate(sizes)]
    same(_concat(axis, len(arrays))(*arrays), np.concatenate(arrays, axis=axis))


@given(shapes, st.integers(1, 3), st.data(), st.lists(dtypes, min_size=3, max_size=3), seeds)
def test_stack_matches_numpy(shape: tuple, count: int, draw: Any, kinds: list[str], seed: int) -> None:
    axis = draw.draw(st.integers(-len(shape) - 1, len(shape)))
    arrays = [data(shape, seed + i, kinds[i]) for i in range(count)]
    same(_stack(axis, count)(*arrays), np.stack(arrays, axis=axis))


def test_concatenate_of_mismatched_shapes_names_the_axis() -> None:
    f = ti.jit(lambda a, b: ti.concatenate([a, b], axis=0))
    same(f(np.zeros((2, 3)), np.ones((4, 3))), np.concatenate([np.zeros((2, 3)), np.ones((4, 3))]))
    with pytest.raises(ShapeError, match=r"concatenate along axis 0: array 1 .* every other axis \(axis 1\)"):
        f(np.zeros((2, 3)), np.ones((2, 4)))
    with pytest.raises(ShapeError, match="one rank"):
        f(np.zeros((2, 3)), np.ones(3))
    with pytest.raises(ShapeError, match="at least one array"):
        ti.jit(lambda a: ti.concatenate([], axis=0))(np.zeros(2))
    g = ti.jit(lambda a, b: ti.stack([a, b]))
    with pytest.raises(ShapeError, match="all arrays must have one shape"):
        g(np.zeros(2), np.zeros(3))


def test_concatenate_of_static_and_free_dims() -> None:
    # a row of ones under a matrix: (?, ?) and (1, ?) along axis 0
    f = ti.jit(lambda x: ti.concatenate([x, ti.ones((1, x.shape[1])), x * 2, x], axis=0))
    for n in (2, 4):
        x = data((n, 3))
        same(f(x), np.concatenate([x, np.ones((1, 3)), x * 2, x], axis=0))
    assert f.compile_count == 1
    # a free non-axis dim meets a static 1: checked at call time
    g = ti.jit(lambda a, b: ti.concatenate([a, b], axis=1))
    same(g(np.ones((1, 2)), np.zeros((1, 2))), np.concatenate([np.ones((1, 2)), np.zeros((1, 2))], axis=1))
    with pytest.raises(ShapeError, match="cannot broadcast"):
        g(np.ones((1, 2)), np.zeros((3, 2)))
    h = ti.jit(lambda a, b: ti.stack([a, b]))
    same(h(np.ones(1), np.zeros(1)), np.stack([np.ones(1), np.zeros(1)]))


def test_concatenate_axis_none_and_hstack_vstack(rng: np.random.Generator) -> None:
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(4)
    same(ti.jit(lambda x, y: ti.concatenate([x, y], axis=None))(a, b), np.concatenate([a, b], axis=None))
    c, d = rng.standard_normal(3), rng.standard_normal(3)
    same(ti.jit(lambda x, y: ti.hstack([x, y]))(c, d), np.hstack([c, d]))
    same(ti.jit(lambda x, y: ti.vstack([x, y]))(c, d), np.vstack([c, d]))
    same(ti.jit(lambda x, y: ti.hstack([x, y]))(a, a), np.hstack([a, a]))


# ---------------------------------------------------------------------------
# basic indexing


def _index_entries(shape: tuple[int, ...]) -> st.SearchStrategy:
    bound = st.one_of(st.none(), st.integers(-6, 6))
    step = st.one_of(st.none(), st.integers(-3, 3).filter(lambda s: s != 0))
    slices = st.builds(slice, bound, bound, step)
    return st.lists(st.one_of(slices, slices, st.just(None)), min_size=0, max_size=len(shape) + 1)


@st.composite
def index_keys(draw: Any) -> tuple[tuple[int, ...], tuple]:
    shape = draw(shapes)
    entries = [e for e in draw(_index_entries(shape))]
    # integer indices, always in range for this shape (a free dim is checked at call time)
    n_used = sum(1 for e in entries if e is not None)
    entries = entries[: len(shape) + entries.count(None)] if n_used > len(shape) else entries
    used = 0
    key = []
    for e in entries:
        if e is not None and used >= len(shape):
            continue
        if isinstance(e, slice) and shape[used] > 0 and draw(st.booleans()):
            n = shape[used]
            e = draw(st.integers(-n, n - 1))
        key.append(e)
        used += e is not None
    if draw(st.booleans()):
        # after the last int, so every int still indexes the axis it was drawn for
        ints = [i for i, e in enumerate(key) if isinstance(e, int)]
        key.insert(draw(st.integers(ints[-1] + 1 if ints else 0, len(key))), Ellipsis)
    return shape, tuple(key)


_getitem = JitCache(lambda key: lambda x: x[key])


@given(index_keys(), seeds)
def test_getitem_matches_numpy(shape_key: tuple, seed: int) -> None:
    shape, key = shape_key
    x = data(shape, seed)
    same(_getitem(key)(x), np.asarray(x[key]))


def test_getitem_one_compile_for_every_size() -> None:
    f = ti.jit(lambda x: x[1:, ::-2, -1][None, ..., 0:2])
    for shape in [(2, 3, 4), (5, 2, 2), (3, 6, 5), (2, 0, 3)]:
        x = data(shape, 3)
        same(f(x), x[1:, ::-2, -1][None, ..., 0:2])
    assert f.compile_count == 1


def test_getitem_checks_against_the_reference_interpreter(rng: np.random.Generator) -> None:
    x = rng.standard_normal((5, 4, 3))
    for key in [(slice(None, None, -1),), (Ellipsis, -1), (1, slice(3, 0, -2), None), (slice(-2, None), 0)]:
        assert_matches(ti.jit(lambda a, key=key: a[key]), x, expected=x[key])


def test_integer_index_on_a_free_dim_is_checked_at_call_time() -> None:
    f = ti.jit(lambda x: x[3])
    same(f(np.arange(5.0)), np.array(3.0))
    with pytest.raises(ShapeError, match="index 3 is out of bounds for axis 0"):
        f(np.arange(3.0))
    g = ti.jit(lambda x: x[:, -3])
    same(g(np.ones((2, 3))), np.ones(2))
    with pytest.raises(ShapeError, match="index -3 is out of bounds for axis 1"):
        g(np.ones((2, 2)))


def test_bad_indices_are_clear_errors() -> None:
    one = np.zeros((1, 3))
    with pytest.raises(IndexError, match="index 1 is out of bounds for axis 0 with size 1"):
        ti.jit(lambda x: x[1])(one)
    with pytest.raises(IndexOutOfBoundsError, match="too many indices"):
        ti.jit(lambda x: x[0, 0, 0])(one)
    with pytest.raises(IndexOutOfBoundsError, match="single ellipsis"):
        ti.jit(lambda x: x[..., ...])(one)
    with pytest.raises(UnsupportedError, match="indexing with an array"):
        ti.jit(lambda x, i: x[i])(one, np.array([0]))
    with pytest.raises(UnsupportedError, match="indexing with a bool"):
        ti.jit(lambda x: x[True])(one)
    with pytest.raises(ShapeError, match="slice step cannot be zero"):
        ti.jit(lambda x: x[::0])(one)


def test_slices_of_size_zero_and_returned_views() -> None:
    f = ti.jit(lambda x: (x[5:], x[:, ::2], x[-100:100:3]))
    for shape in [(4, 5), (0, 3), (2, 0)]:
        x = data(shape)
        got = f(x)
        for g, e in zip(got, (x[5:], x[:, ::2], x[-100:100:3])):
            same(g, e)


# ---------------------------------------------------------------------------
# broadcast_to, flip


_bcast = JitCache(lambda lead, n: lambda x: ti.broadcast_to(x, lead + x.shape[:-1] + (n,)))


@given(shapes, st.lists(st.integers(1, 3), max_size=2).map(tuple), st.integers(0, 3), seeds)
def test_broadcast_to_matches_numpy(shape: tuple, lead: tuple, n: int, seed: int) -> None:
    shape = shape[:-1] + (1,)
    x = data(shape, seed, "int64")
    same(_bcast(lead, n)(x), np.broadcast_to(x, lead + shape[:-1] + (n,)))


def test_broadcast_to_free_dims_of_another_array() -> None:
    f = ti.jit(lambda x, y: ti.broadcast_to(x, y.shape) + y)
    for n in (2, 5):
        x, y = data((1, 3)), data((n, 3), 1)
        same(f(x, y), np.broadcast_to(x, y.shape) + y)
    assert f.compile_count == 1
    with pytest.raises(ShapeError, match="cannot broadcast an array of shape"):
        f(data((1, 3)), data((2, 4)))
    with pytest.raises(ShapeError, match="of lower rank"):
        ti.jit(lambda x: ti.broadcast_to(x, (3,)))(data((2, 3)))


_flip = JitCache(lambda axis: lambda x: ti.flip(x, axis))


@given(shapes, st.data(), seeds)
def test_flip_matches_numpy(shape: tuple, draw: Any, seed: int) -> None:
    axis = draw.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    x = data(shape, seed, "float32")
    same(_flip(axis)(x), np.flip(x, axis))


# ---------------------------------------------------------------------------
# constructors


def test_constructors_match_numpy() -> None:
    x = data((3, 2))
    cases = {
        "zeros": (lambda a: ti.zeros((2, a.shape[0])), np.zeros((2, 3))),
        "ones": (lambda a: ti.ones(a.shape[1], dtype=np.int32), np.ones(2, np.int32)),
        "full": (lambda a: ti.full(a.shape, 7), np.full((3, 2), 7)),
        "full bool": (lambda a: ti.full((2,), True), np.full(2, True)),
        "full big int": (lambda a: ti.full((2,), 2**62 + 1), np.full(2, 2**62 + 1)),
        "full array": (lambda a: ti.full((2, a.shape[0]), a[:, 0]), np.full((2, 3), x[:, 0])),
        "zeros_like": (lambda a: ti.zeros_like(a[1:]), np.zeros_like(x[1:])),
        "ones_like": (lambda a: ti.ones_like(a, dtype=np.float32), np.ones_like(x, dtype=np.float32)),
        "full_like": (lambda a: ti.full_like(a.T, np.nan), np.full_like(x.T, np.nan)),
    }
    for name, (fn, expected) in cases.items():
        got = ti.jit(fn)(x)
        assert got.dtype == expected.dtype, name
        np.testing.assert_array_equal(got, expected, err_msg=name)


@given(st.integers(-5, 5), st.integers(-5, 8), st.integers(-3, 3).filter(lambda s: s != 0))
def test_arange_static_matches_numpy(start: int, stop: int, step: int) -> None:
    same(ti.jit(lambda: ti.arange(start, stop, step))(), np.arange(start, stop, step))


def test_arange_float_and_free_stop() -> None:
    got = ti.jit(lambda: ti.arange(0.5, 3.0, 0.5, dtype=np.float32))()
    np.testing.assert_allclose(got, np.arange(0.5, 3.0, 0.5, dtype=np.float32))
    assert got.dtype == np.float32
    f = ti.jit(lambda x: ti.arange(x.shape[0]) + x)
    g = ti.jit(lambda x: ti.arange(2, x.shape[0], 2))
    h = ti.jit(lambda x: ti.arange(5, x.shape[0], -2, dtype=np.int32))
    for n in (0, 2, 3, 7):
        x = np.ones(n, np.int64) if n != 1 else np.ones(2, np.int64)
        same(f(x), np.arange(len(x)) + x)
        same(g(x), np.arange(2, len(x), 2))
        same(h(x), np.arange(5, len(x), -2, dtype=np.int32))
    assert f.compile_count == g.compile_count == h.compile_count == 1


# ---------------------------------------------------------------------------
# every shape op of the table


EXERCISED: dict[str, tuple[Callable[..., Any], tuple[np.ndarray, ...], Callable[..., Any]]] = {
    "constant": (lambda x: x + np.arange(3.0), (data((2, 3)),), lambda x: x + np.arange(3.0)),
    "dim": (lambda x: ti.zeros(x.shape), (data((2, 3)),), np.zeros_like),
    "full": (lambda x: ti.full(x.shape, 2.5), (data((2, 3)),), lambda x: np.full(x.shape, 2.5)),
    "arange": (lambda x: ti.arange(x.shape[0]), (data((4,)),), lambda x: np.arange(len(x))),
    "reshape": (lambda x: x.reshape(-1, 2), (data((3, 4)),), lambda x: x.reshape(-1, 2)),
    "transpose": (lambda x: x.T, (data((3, 4)),), lambda x: x.T),
    "expand_dims": (lambda x: x[:, None], (data((3, 4)),), lambda x: x[:, None]),
    "squeeze": (lambda x: x.squeeze(), (data((3, 1)),), lambda x: x.squeeze()),
    "concatenate": (lambda x, y: ti.concatenate([x, y], 1), (data((3, 4)), data((3, 2), 1)),
                    lambda x, y: np.concatenate([x, y], 1)),
    "stack": (lambda x, y: ti.stack([x, y], -1), (data((3, 4)), data((3, 4), 1)), lambda x, y: np.stack([x, y], -1)),
    "slice": (lambda x: x[::-1, 1], (data((3, 4)),), lambda x: x[::-1, 1]),
    "slice_update": (lambda x: ti.slice_update(x, np.s_[::-2, 1], 5.0), (data((3, 4)),),
                     lambda x: _set(x, np.s_[::-2, 1], 5.0)),
    "split": (lambda x: tuple(apply("split", [x], {"axis": 1, "size": 3})), (data((3, 4)),),
              lambda x: (x[:, :3], x[:, 3:])),
    "size": (lambda x: apply("size", [x], {"axes": (0, 1), "dtype": "float64"}), (data((3, 4)),),
             lambda x: np.float64(x.size)),
    "broadcast_to": (lambda x: ti.broadcast_to(x, (2, 3, 4)), (data((3, 1)),), lambda x: np.broadcast_to(x, (2, 3, 4))),
    "flip": (lambda x: ti.flip(x), (data((3, 4)),), np.flip),
    # traced indices (tests/test_dynamic_index.py has the rest): x.shape[0] - 1 is known at run time only
    "dynamic_slice": (lambda x: x[x.shape[0] - 1, 1:], (data((3, 4)),), lambda x: x[-1, 1:]),
    "dynamic_update_slice": (lambda x: ti.slice_update(x, x.shape[0] - 2, 0.5), (data((3, 4)),),
                             lambda x: _set(x, 1, 0.5)),
}


def _set(x: np.ndarray, key: Any, v: Any) -> np.ndarray:
    y = x.copy()
    y[key] = v
    return y


def test_every_shape_op_is_exercised() -> None:
    shape_ops = {name for name, op in OPS.items() if op.family == "shape"}
    assert shape_ops == set(EXERCISED)


@pytest.mark.parametrize("name", sorted(EXERCISED))
def test_shape_op_against_interpreter_and_numpy(name: str) -> None:
    fn, args, expected = EXERCISED[name]
    f = ti.jit(fn)
    assert f'"tir.{name}"' in f.lower(*args).as_text("tir")
    assert_matches(f, *args, expected=expected(*args))


def test_views_lower_to_tensor_slices_and_reshapes() -> None:
    x = data((4, 6))
    linalg = ti.jit(lambda a: (a[1:, ::2] * 2, a.reshape(-1, 2) + 1, a[None] + 1)).lower(x).as_text("linalg")
    assert "tensor.extract_slice" in linalg
    assert "tensor.collapse_shape" in linalg and "tensor.expand_shape" in linalg
    reversed_read = ti.jit(lambda a: a[::-1] * 2).lower(x).as_text("linalg")
    assert "tensor.extract " in reversed_read and "linalg.index" in reversed_read


def test_empty_slice_of_a_static_dim() -> None:
    # regression: a static empty slice starting at the end failed verification
    x = np.ones((1, 1))
    same(ti.jit(lambda a: a[1:, 2:])(x), x[1:, 2:])
    same(ti.jit(lambda a: a[:-5:-1, 1:])(x), x[:-5:-1, 1:])


def test_stack_after_a_leading_unit_dim_regression() -> None:
    # a rank-reducing insert_slice dropped the wrong unit dim (shape (1, ?, ?), axis 2)
    for dtype in ("float32", "bool"):
        x = (np.arange(6).reshape(1, 3, 2) % 2).astype(dtype)
        np.testing.assert_array_equal(ti.jit(lambda a: ti.stack([a, a], axis=2))(x), np.stack([x, x], axis=2))


def test_integer_index_next_to_other_unit_dims() -> None:
    # regression: a rank-reducing extract_slice of (?, 1, 1) dropping axis 1
    # was bufferized as dropping axis 2, which aborted in memref.subview folding
    key = (slice(None, None, 3), -1, slice(None, None, 3))
    x = np.arange(4.0).reshape(4, 1, 1)
    same(ti.jit(lambda x: x[key] * 2.0)(x), x[key] * 2.0)
    v = np.full(x[key].shape, 9.0)
    expected = x.copy()
    expected[key] = v
    same(ti.jit(lambda x, v: ti.slice_update(x, key, v))(x, v), expected)
    g = ti.grad(lambda x: (x[key] ** 2).sum())(x)
    same(g, np.where(np.arange(4) % 3 == 0, 2 * x.ravel(), 0.0).reshape(4, 1, 1))


def test_reshape_keeping_trailing_dims_is_one_collapse() -> None:
    """``(steps, batch, k) -> (-1, k)`` with ``k`` read from the input is one
    ``tensor.collapse_shape`` of the leading axes (a view fusion understands),
    not a collapse to 1-d and an expansion; a gemm reading such a collapse of
    free dims (an outer product summed over steps and batch) compiles and is
    right, with the collapsed operand materialised before it."""
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    f = ti.jit(lambda v: ti.reshape(v, (-1, v.shape[2])))
    text = f.lower(x).as_text("linalg")
    assert text.count("tensor.collapse_shape") == 1 and "tensor.expand_shape" not in text
    assert "[[0, 1], [2]]" in text
    for shape in [(2, 3, 4), (5, 1, 2), (0, 3, 4)]:
        v = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        np.testing.assert_array_equal(f(v), v.reshape(-1, shape[2]))

    def summed_outer(a, b):  # sum over steps and batch of a_t^T @ b_t
        return ti.reshape(a, (-1, a.shape[2])).T @ ti.reshape(b, (-1, b.shape[2]))

    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((5, 3, 1)), rng.standard_normal((5, 3, 4))
    g = ti.jit(lambda a, b: summed_outer(a, b) * 2.0)
    np.testing.assert_allclose(g(a, b), 2 * np.einsum("tbi,tbj->ij", a, b), rtol=1e-12)
