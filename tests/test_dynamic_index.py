"""Indexing with traced integers (``data[i]``, ``data[i * k:(i + 1) * k]``),
``ti.dynamic_slice``/``ti.dynamic_update_slice``, and the run-time index
checks of the compiled code.

Values are compared with NumPy and with the reference interpreter of the
traced tir; an index out of bounds must raise, never read wrong data.
"""

from __future__ import annotations

import doctest
import re

import numpy as np
import pytest

import tensorir as ti
from conftest import assert_matches, reference
from tensorir.errors import DTypeError, IndexOutOfBoundsError, ShapeError, UnsupportedError
from tensorir.frontend import ops_dynamic_slice

DATA = np.arange(30.0).reshape(10, 3)


def here(pattern: str) -> str:
    """A regex of ``pattern`` followed by the user's source line (in this file), as errors show it."""
    return pattern + r"\n  File \".*test_dynamic_index\.py\", line \d+, in .*\n    .*"


# ---------------------------------------------------------------------------
# Values


def test_index_with_a_traced_integer_matches_numpy() -> None:
    f = ti.jit(lambda d, i: d[i])
    for i in range(-10, 10):
        np.testing.assert_array_equal(f(DATA, i), DATA[i])
    assert f.compile_count == 1  # one compile serves every index
    assert '"tir.dynamic_slice"' in f.lower(DATA, 3).as_text("tir")
    assert_matches(f, DATA, 4)
    assert_matches(f, DATA, -1)
    np.testing.assert_array_equal(f(DATA, np.int32(7)), DATA[7])  # int32 indices too


def test_minibatch_slices_match_numpy() -> None:
    forms = {
        "i*k:(i+1)*k": lambda d, i: d[i * 3:(i + 1) * 3],
        "i*k:i*k+k": lambda d, i: d[i * 3:i * 3 + 3],
        "i:i+k": lambda d, i: d[i:i + 4],
        "i:i+k:2": lambda d, i: d[i:i + 5:2],
        "k-i shifted": lambda d, i: d[2 * i - 1:2 * (i + 1)],
    }
    expected = {
        "i*k:(i+1)*k": lambda i: DATA[i * 3:(i + 1) * 3],
        "i*k:i*k+k": lambda i: DATA[i * 3:i * 3 + 3],
        "i:i+k": lambda i: DATA[i:i + 4],
        "i:i+k:2": lambda i: DATA[i:i + 5:2],
        "k-i shifted": lambda i: DATA[2 * i - 1:2 * (i + 1)],
    }
    for name, fn in forms.items():
        f = ti.jit(fn)
        for i in (1, 2):
            got = f(DATA, i)
            np.testing.assert_array_equal(got, expected[name](i), err_msg=name)
        assert_matches(f, DATA, 1)


def test_traced_indices_mix_with_basic_indexing() -> None:
    f = ti.jit(lambda d, i, j: (d[i, j], d[i, 1:], d[1:, j], d[..., j], d[None, i], d[i:i + 2, j], d[-i]))
    want = (DATA[4, -1], DATA[4, 1:], DATA[1:, -1], DATA[..., -1], DATA[None, 4], DATA[4:6, -1], DATA[-4])
    for k, (g, w) in enumerate(zip(f(DATA, 4, -1), want)):
        assert g.shape == w.shape, k
        np.testing.assert_array_equal(g, w, err_msg=str(k))
    assert_matches(f, DATA, 8, 2)


def test_a_free_dim_indexes_at_run_time() -> None:
    f = ti.jit(lambda d: (d[d.shape[0] - 1], d[d.shape[0] - 3:d.shape[0] - 1]))
    last, tail = f(DATA)
    np.testing.assert_array_equal(last, DATA[-1])
    np.testing.assert_array_equal(tail, DATA[-3:-1])
    np.testing.assert_array_equal(f(DATA[:4])[0], DATA[3])  # same code, another size


def test_dynamic_slice_and_update_slice_take_jax_arguments() -> None:
    x = np.arange(24.0).reshape(4, 6)
    f = ti.jit(lambda a, i, j: ti.dynamic_slice(a, (i, j), (2, 3)))
    np.testing.assert_array_equal(f(x, 1, 2), x[1:3, 2:5])
    np.testing.assert_array_equal(f(x, -2, -3), x[2:4, 3:6])  # negative starts count from the end
    assert_matches(f, x, 2, 3)
    g = ti.jit(lambda a, v, i: ti.dynamic_update_slice(a, v, (i, 0)))
    v = -np.ones((1, 6))
    want = x.copy()
    want[2] = -1.0
    np.testing.assert_array_equal(g(x, v, 2), want)
    assert_matches(g, x, v, 3)
    np.testing.assert_array_equal(x, np.arange(24.0).reshape(4, 6))  # the operand is unchanged
    h = ti.jit(lambda a, i: ti.dynamic_slice(a, (i, 0), (1, 6), allow_negative_indices=False))
    with pytest.raises(IndexOutOfBoundsError, match=here(
        r"slice -1:0 is out of bounds for axis 0 with size 4: a slice with traced bounds keeps its size \(1\), "
        r"so it must lie inside the axis"
    )):
        h(x, -1)
    with pytest.raises(IndexOutOfBoundsError, match=here(
        r"dynamic_slice start 3 with size 2 is out of bounds for axis 0 with size 4: the window must lie inside "
        r"the axis \(start in \[-4, 2\]\)"
    )):
        f(x, 3, 0)


def test_slice_update_with_a_traced_index() -> None:
    f = ti.jit(lambda a, i, v: ti.slice_update(a, (i, slice(0, 3, 2)), v))
    want = DATA.copy()
    want[6, 0:3:2] = 7.0
    np.testing.assert_array_equal(f(DATA, 6, 7.0), want)
    assert '"tir.dynamic_update_slice"' in f.lower(DATA, 6, 7.0).as_text("tir")
    assert_matches(f, DATA, -2, 5.0)


# ---------------------------------------------------------------------------
# Theano's minibatch loop: ti.function, givens, a shared data set


def test_minibatch_sgd_with_givens_over_a_shared_data_set() -> None:
    rng = np.random.default_rng(0)
    n, d, bs = 60, 4, 10
    xs = rng.standard_normal((n, d))
    ys = xs @ np.array([1.0, -2.0, 0.5, 3.0])
    train_x = ti.shared(xs, name="train_x")
    train_y = ti.shared(ys, name="train_y")
    w = ti.shared(np.zeros(d), name="w")
    i = ti.scalar("i", "int64")
    x, y = ti.matrix("x", "float64"), ti.vector("y", "float64")
    cost = ((x @ w - y) ** 2).mean()
    train = ti.function(
        [i], cost, updates=[(w, w - 0.1 * ti.grad(cost, w))],
        givens={x: train_x[i * bs:(i + 1) * bs], y: train_y[i * bs:(i + 1) * bs]},
    )
    # the same steps in NumPy
    w_np = np.zeros(d)
    losses = []
    for epoch in range(4):
        for b in range(n // bs):
            xb, yb = xs[b * bs:(b + 1) * bs], ys[b * bs:(b + 1) * bs]
            r = xb @ w_np - yb
            np.testing.assert_allclose(float(train(b)), np.mean(r**2), rtol=1e-12)
            w_np = w_np - 0.1 * (2 * xb.T @ r / bs)
            losses.append(float(np.mean(r**2)))
        np.testing.assert_allclose(w.get_value(), w_np, rtol=1e-10)
    assert losses[-1] < 1e-2 * losses[0]
    buffer = w.get_value(borrow=True)
    before = w.get_value()
    with pytest.raises(IndexOutOfBoundsError, match=r"slice 60:70 is out of bounds for axis 0 with size 60"):
        train(n // bs)
    np.testing.assert_array_equal(w.get_value(), before)  # a failed call updates nothing
    assert w.get_value(borrow=True) is buffer


def test_an_embedding_row_update_of_a_shared_variable() -> None:
    table = ti.shared(np.zeros((5, 2)), name="table")
    i = ti.scalar("i", "int64")
    v = ti.vector("v", "float64")
    bump = ti.function([i, v], table[i].sum(), updates=[(table, ti.slice_update(table, i, table[i] + v))])
    bump(1, np.array([1.0, 2.0]))
    bump(-1, np.array([3.0, 4.0]))
    assert float(bump(1, np.array([0.5, 0.5]))) == 3.0
    want = np.zeros((5, 2))
    want[1] = [1.5, 2.5]
    want[4] = [3.0, 4.0]
    np.testing.assert_array_equal(table.get_value(), want)
    with pytest.raises(IndexOutOfBoundsError, match=r"index 5 is out of bounds for axis 0 with size 5"):
        bump(5, np.array([1.0, 1.0]))
    np.testing.assert_array_equal(table.get_value(), want)


# ---------------------------------------------------------------------------
# Gradients


def test_gradients_of_traced_slices_match_finite_differences() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 3))
    u = rng.standard_normal((2, 3))

    def loss(a, i):
        return (ti.tanh(a[i * 2:(i + 1) * 2]) * u).sum() + a[i - 4, 1] ** 2

    g = ti.jit(ti.grad(loss))(x, 1)
    want = np.zeros_like(x)
    want[2:4] = (1 - np.tanh(x[2:4]) ** 2) * u
    want[1 - 4, 1] += 2 * x[1 - 4, 1]
    np.testing.assert_allclose(g, want, rtol=1e-12)
    f = ti.jit(loss)
    v = rng.standard_normal(x.shape)
    eps = 1e-6
    fd = (float(f(x + eps * v, 1)) - float(f(x - eps * v, 1))) / (2 * eps)
    assert abs(float(np.sum(g * v)) - fd) < 1e-7


def test_gradient_of_a_row_of_a_shared_variable() -> None:
    emb = ti.shared(np.arange(8.0).reshape(4, 2), name="emb")
    i = ti.scalar("i", "int64")
    cost = (emb[i] ** 2).sum()
    grad = ti.function([i], ti.grad(cost, emb))
    want = np.zeros((4, 2))
    want[2] = 2 * np.array([4.0, 5.0])
    np.testing.assert_array_equal(grad(2), want)
    with pytest.raises(IndexOutOfBoundsError, match=r"index -5 is out of bounds for axis 0 with size 4"):
        grad(-5)


# ---------------------------------------------------------------------------
# Out of bounds: an error at the user's line, never wrong data


def test_index_out_of_bounds_raises_at_the_users_line() -> None:
    f = ti.jit(lambda data, i: data[i])
    message = here(r"^index 12 is out of bounds for axis 0 with size 10")
    with pytest.raises(IndexOutOfBoundsError, match=message) as info:
        f(DATA, 12)
    assert isinstance(info.value, IndexError)
    assert "data[i]" in str(info.value)
    with pytest.raises(IndexError, match=r"^index -11 is out of bounds for axis 0 with size 10\n"):
        f(DATA, -11)
    g = ti.jit(lambda data, i: data[i * 4:(i + 1) * 4])
    with pytest.raises(IndexOutOfBoundsError, match=here(
        r"^slice 8:12 is out of bounds for axis 0 with size 10: a slice with traced bounds keeps its size \(4\), "
        r"so it must lie inside the axis"
    )):
        g(DATA, 2)
    with pytest.raises(IndexOutOfBoundsError, match=r"^slice -4:0 is out of bounds for axis 0 with size 10"):
        g(DATA, -1)  # NumPy's data[-4:0] is empty: an error, not a silent empty batch
    with pytest.raises(IndexOutOfBoundsError, match=r"^slice 0:4 is out of bounds for axis 0 with size 3"):
        g(DATA[:3], 0)  # a data set shorter than the window


def test_the_kernels_own_check_reports_starts_it_computes() -> None:
    # a start computed from data is not checked before the call: the compiled
    # code's check reports it, and the updated shared variable is restored
    count = ti.shared(np.zeros(3), name="count")
    idx = ti.vector("idx", "int64")
    step = ti.function([idx], count[idx.max()], updates=[(count, count + 1.0)])
    assert float(step(np.array([0, 2, 1]))) == 0.0
    np.testing.assert_array_equal(count.get_value(), [1.0, 1.0, 1.0])
    with pytest.raises(IndexOutOfBoundsError, match=here(r"^index 7 is out of bounds for axis 0 with size 3")):
        step(np.array([7, 1]))
    np.testing.assert_array_equal(count.get_value(), [1.0, 1.0, 1.0])
    # the first failed check of a call is the one reported
    f = ti.jit(lambda d, v: d[v.max()] + d[v.min()])
    with pytest.raises(IndexOutOfBoundsError, match=r"^index 11 is out of bounds"):
        f(DATA, np.array([11, -20]))
    with pytest.raises(IndexOutOfBoundsError, match=r"^index -20 is out of bounds"):
        f(DATA, np.array([3, -20]))


def test_the_compiled_function_takes_a_status_out_param_only_with_checks() -> None:
    f = ti.jit(lambda d, i: d[i] * 2.0)
    text = f.lower(DATA, 1).as_text("linalg")
    assert re.search(r"memref<3xi64> \{tir\.status\}\) attributes \{tir\.checks = \[\{axis = 0 : i64", text)
    assert "tir.status" not in ti.jit(lambda d: d[1] * 2.0).lower(DATA).as_text("linalg")


def test_the_reference_interpreter_and_folding_agree() -> None:
    f = ti.jit(lambda d, i: d[i])
    with pytest.raises(IndexOutOfBoundsError, match="^index 12 is out of bounds for axis 0 with size 10$"):
        reference(f, DATA, 12)
    i, x = ti.scalar("i", "int64"), ti.vector("x", "float64")
    checked = ti.function([i, x], x[i] * 2.0, mode=ti.DebugMode())
    assert float(checked(-1, np.arange(4.0))) == 6.0
    # a constant start out of bounds is not folded away: the call raises
    g = ti.jit(lambda: ti.dynamic_slice(np.arange(5.0), (7,), (1,)))
    with pytest.raises(IndexOutOfBoundsError, match="^index 7 is out of bounds for axis 0 with size 5"):
        g()


# ---------------------------------------------------------------------------
# What cannot be traced: clear errors


HOW = (
    r"; use bounds whose difference is a Python int \(x\[i:i \+ k\], x\[i \* k:\(i \+ 1\) \* k\]\), or "
    r"ti\.dynamic_slice\(x, starts, sizes\) with Python int sizes"
)


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda d, i, j: d[i:j], r"x\[i:j\]: the size of a slice with traced bounds \(stop - start\) must be known "
         r"when tracing, and these bounds do not differ by a constant" + HOW),
        (lambda d, i, j: d[i:2 * i], r"x\[i:<traced int64>\]: the size .* do not differ by a constant" + HOW),
        (lambda d, i, j: d[i:], r"x\[i:\]: a slice with a traced bound and an open end has a size known only at "
         r"run time, and array sizes are fixed when tracing" + HOW),
        (lambda d, i, j: d[:i], r"x\[:i\]: a slice with a traced bound and an open end .*" + HOW),
        (lambda d, i, j: d[i:i - 1], r"x\[i:<traced int64>\]: the traced bounds differ by -1; the slice is empty "
         r"or wraps around the end depending on the values, which tensorir does not trace" + HOW),
        (lambda d, i, j: d[i:i + 2:-1], r"x\[i:<traced int64>:-1\]: a slice with traced bounds needs a positive "
         r"Python int step, found -1; take the window first, then step through it \(x\[i:i \+ k\]\[::-1\]\)"),
    ],
)
def test_unsupported_slice_bounds_are_clear_errors(fn, message) -> None:
    with pytest.raises(UnsupportedError, match="^" + message):
        ti.jit(fn)(DATA, 1, 2)


def test_bool_and_float_indices_are_clear_errors() -> None:
    with pytest.raises(UnsupportedError, match=r"an index is a traced bool: indexing with a bool is not supported"):
        ti.jit(lambda d, b: d[b])(DATA, np.bool_(True))
    with pytest.raises(DTypeError, match=r"an index must be an integer \(int32 or int64\), found a float64 scalar; "
                       r"convert it with \.astype\('int64'\)"):
        ti.jit(lambda d, i: d[i])(DATA, 1.0)
    with pytest.raises(DTypeError, match=r"a slice bound must be an integer"):
        ti.jit(lambda d, i: d[i:i + 1.0])(DATA, 1)
    with pytest.raises(UnsupportedError, match="indexing with an array"):
        ti.jit(lambda d, i: d[i])(DATA, np.array([1, 2]))
    with pytest.raises(DTypeError, match=r"slice_update index: an index must be an integer"):
        ti.jit(lambda d, i: ti.slice_update(d, i, 0.0))(DATA, 1.5)


def test_dynamic_slice_argument_errors() -> None:
    with pytest.raises(ShapeError, match=r"dynamic_slice start_indices has 1 entries but the operand has rank 2"):
        ti.jit(lambda d: ti.dynamic_slice(d, (0,), (1, 1)))(DATA)
    with pytest.raises(IndexOutOfBoundsError, match=r"dynamic_slice: a window of size 4 does not fit in axis 1 "
                       r"of size 3"):
        ti.jit(lambda d: ti.dynamic_slice(ti.reshape(d, (10, 3)), (0, 0), (1, 4)))(DATA)
    with pytest.raises(UnsupportedError, match=r"dynamic_update_slice: the size of axis 0 is a free dim "
                       r"\(known only at run time\) and its start is traced; window sizes must be Python ints"):
        ti.jit(lambda d, v, i: ti.dynamic_update_slice(d, v, (i, 0)))(DATA, np.ones((2, 3)), 1)
    with pytest.raises(ShapeError, match=r"dynamic_update_slice: the update must have the shape of the window"):
        ti.jit(lambda d, v, i: ti.dynamic_update_slice(d, v, (i, 0)))(DATA, np.ones((1, 2)), 1)


def test_docstring_examples() -> None:
    result = doctest.testmod(ops_dynamic_slice)
    assert result.attempted >= 2 and result.failed == 0
