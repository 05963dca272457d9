"""The symbolic API: typed variables, shared variables, ti.function with
updates and givens, symbolic gradients, eval and clone_replace, with
Theano's semantics, and the errors for bad use."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorir as ti
from tensorir.errors import ArgumentError, DTypeError, ShapeError


# ---------------------------------------------------------------------------
# Variables


def test_constructors_have_rank_dtype_and_free_dims() -> None:
    assert ti.scalar("a", "float32").shape == ()
    v, m = ti.vector("v", "int64"), ti.matrix("m", "float32")
    assert (v.ndim, v.type.dtype, m.ndim) == (1, "int64", 2)
    assert ti.tensor3("t").ndim == 3 and ti.tensor4("t").ndim == 4
    x = ti.tensor("x", "float32", shape=(None, 784))
    assert repr(x) == "<Variable 'x' float32[?, 784]>"
    b = ti.tensor("b", "float64", broadcastable=(True, False))
    assert b.shape[0] == 1
    with pytest.raises(ArgumentError, match="exactly one of shape"):
        ti.tensor("x", "float32")


def test_floatx_is_the_default_dtype() -> None:
    old = ti.config.floatX
    try:
        ti.config.floatX = "float32"
        assert ti.matrix("x").type.dtype == "float32"
        ti.config.floatX = "float64"
        assert ti.vector("x").type.dtype == "float64"
        with pytest.raises(ArgumentError, match="floatX must be float32 or float64, found 'float16'"):
            ti.config.floatX = "float16"
    finally:
        ti.config.floatX = old


def test_declared_sizes_are_checked_at_call_time() -> None:
    x = ti.tensor("x", "float64", shape=(None, 3))
    f = ti.function([x], x.sum(axis=1))
    np.testing.assert_array_equal(f(np.ones((2, 3))), [3.0, 3.0])
    with pytest.raises(ShapeError, match=r"input 'x' was declared with shape \(None, 3\), so axis 1 must be 3, "
                                         r"found an array of shape \(2, 4\)"):
        f(np.ones((2, 4)))


# ---------------------------------------------------------------------------
# Shared variables


def test_shared_get_set_copy_and_borrow() -> None:
    value = np.arange(3.0)
    w = ti.shared(value, name="w")
    value[0] = 100.0  # copied: the shared value does not change
    assert w.get_value()[0] == 0.0
    got = w.get_value()
    got[1] = 50.0
    assert w.get_value()[1] == 1.0
    own = np.zeros(3)
    w.set_value(own, borrow=True)
    assert w.get_value(borrow=True) is own
    w.set_value(np.ones(5))  # a free dim may change size
    assert w.get_value().shape == (5,)
    with pytest.raises(DTypeError, match="shared variable 'w' holds float64, found a float32 value"):
        w.set_value(np.ones(3, np.float32))
    with pytest.raises(ShapeError, match=r"shared variable 'w' has rank 1, found a value of shape \(2, 2\)"):
        w.set_value(np.ones((2, 2)))


def test_updates_are_in_place_and_persist() -> None:
    w = ti.shared(np.zeros((3, 2), np.float32), name="w")
    x = ti.matrix("x", "float32")
    step = ti.function([x], updates=[(w, w + x)])
    buf = w.get_value(borrow=True)
    for _ in range(3):
        assert step(np.ones((3, 2), np.float32)) == []
    assert w.get_value(borrow=True) is buf  # the same buffer before and after
    np.testing.assert_array_equal(buf, np.full((3, 2), 3.0, np.float32))


def test_updates_are_simultaneous() -> None:
    a = ti.shared(np.array([1.0]), name="a")
    b = ti.shared(np.array([2.0]), name="b")
    swap = ti.function([], [a, b], updates=[(a, b), (b, a)])
    out = swap()
    np.testing.assert_array_equal(out[0], [1.0])  # outputs are the values before the updates
    np.testing.assert_array_equal(out[1], [2.0])
    assert (a.get_value()[0], b.get_value()[0]) == (2.0, 1.0)
    # an update reading a variable that another update overwrites reads the old value
    c = ti.shared(np.array([1.0, 2.0]), name="c")
    d = ti.shared(np.array([10.0, 20.0]), name="d")
    f = ti.function([], (c * d).sum(), updates={c: c * 2.0, d: d + c})
    assert float(f()) == 50.0
    np.testing.assert_array_equal(c.get_value(), [2.0, 4.0])
    np.testing.assert_array_equal(d.get_value(), [11.0, 22.0])


def test_update_read_after_in_the_same_call_keeps_the_old_value() -> None:
    # the update of w is computed before the output that still reads w
    w = ti.shared(np.arange(4.0), name="w")
    f = ti.function([], [w.sum(), (w * w).sum()], updates=[(w, -w)])
    s, q = f()
    assert (float(s), float(q)) == (6.0, 14.0)
    np.testing.assert_array_equal(w.get_value(), [-0.0, -1.0, -2.0, -3.0])


def test_update_that_changes_the_shape_is_a_clear_error() -> None:
    w = ti.shared(np.zeros(3), name="w")
    v = ti.vector("v", "float64")
    f = ti.function([v], updates=[(w, v * 2.0)])
    f(np.ones(3))
    with pytest.raises(ShapeError, match="the update of shared variable 'w' changes its shape along axis 0"):
        f(np.ones(4))
    np.testing.assert_array_equal(w.get_value(), [2.0, 2.0, 2.0])


# ---------------------------------------------------------------------------
# function


def test_one_output_a_list_or_none() -> None:
    x = ti.vector("x", "float64")
    assert isinstance(ti.function([x], x * 2.0)(np.ones(2)), np.ndarray)
    outs = ti.function([x], [x * 2.0, x + 1.0])(np.ones(2))
    assert isinstance(outs, list) and len(outs) == 2
    np.testing.assert_array_equal(outs[1], [2.0, 2.0])


def test_only_what_the_outputs_need_is_computed() -> None:
    x = ti.matrix("x", "float64")
    w = ti.shared(np.ones((3, 3)), name="w")
    expensive = ti.exp(x @ w @ w)
    cheap = x.sum()
    _ = expensive  # built, but not asked for
    f = ti.function([x], cheap)
    text = f.lower().as_text("tir")
    assert "matmul" not in text and "exp" not in text
    assert f.shared == []  # w is not an input of f
    assert float(f(np.ones((2, 3)))) == 6.0


def test_givens_replace_an_input_and_a_shared_variable() -> None:
    x, y = ti.vector("x", "float64"), ti.vector("y", "float64")
    w = ti.shared(np.array([1.0, 2.0]), name="w")
    out = (x * w).sum()
    f = ti.function([y], out, givens={x: y * 10.0})
    assert float(f(np.array([1.0, 1.0]))) == 30.0
    data = ti.shared(np.array([[1.0, 1.0], [2.0, 2.0]]), name="data")
    g = ti.function([], out, givens=[(x, data[1])])  # a row of a shared data set
    assert float(g()) == 6.0
    h = ti.function([x], out, givens={w: ti.ones_like(x)})
    assert float(h(np.array([3.0, 4.0]))) == 7.0


def test_kwargs_and_python_values() -> None:
    x, lr = ti.vector("x", "float32"), ti.scalar("lr", "float32")
    f = ti.function([x, lr], x * lr)
    np.testing.assert_array_equal(f(lr=0.5, x=[2, 4]), np.array([1.0, 2.0], np.float32))
    assert f(np.ones(2, np.float32), 2.0).dtype == np.float32


def test_symbolic_gradient_matches_finite_differences() -> None:
    x = ti.matrix("x", "float64")
    w = ti.shared(np.random.default_rng(0).standard_normal((3, 2)), name="w")
    b = ti.vector("b", "float64")
    cost = (ti.tanh(x @ w + b) ** 2).sum() + (w * w).mean()
    gw, gb = ti.grad(cost, [w, b])
    f = ti.function([x, b], [cost, gw, gb])
    rng = np.random.default_rng(1)
    xv, bv = rng.standard_normal((4, 3)), rng.standard_normal(2)
    c, dw, db = f(xv, bv)
    w0 = w.get_value()

    def numeric(wv: np.ndarray, bb: np.ndarray) -> float:
        return float((np.tanh(xv @ wv + bb) ** 2).sum() + (wv * wv).mean())

    assert abs(float(c) - numeric(w0, bv)) < 1e-12
    eps = 1e-6
    for idx in np.ndindex(w0.shape):
        e = np.zeros_like(w0)
        e[idx] = eps
        fd = (numeric(w0 + e, bv) - numeric(w0 - e, bv)) / (2 * eps)
        assert abs(dw[idx] - fd) < 1e-7
    for k in range(2):
        e = np.zeros(2)
        e[k] = eps
        assert abs(db[k] - (numeric(w0, bv + e) - numeric(w0, bv - e)) / (2 * eps)) < 1e-7


def test_gradients_compose_into_expressions_and_second_order() -> None:
    x = ti.vector("x", "float64")
    y = (ti.sin(x) * x).sum()
    g = ti.grad(y, x)
    h_diag = ti.grad(g.sum(), x)  # d/dx of sum_j d y/d x_j
    xv = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(g.eval({x: xv}), np.cos(xv) * xv + np.sin(xv), rtol=1e-13)
    np.testing.assert_allclose(h_diag.eval({x: xv}), 2 * np.cos(xv) - xv * np.sin(xv), rtol=1e-13)


def test_disconnected_gradient() -> None:
    x, z = ti.vector("x", "float64"), ti.vector("z", "float64")
    with pytest.raises(ArgumentError, match="the cost does not depend on 'z'; pass disconnected_inputs='ignore'"):
        ti.grad(x.sum(), z)
    g = ti.grad(x.sum(), [x, z], disconnected_inputs="ignore")
    np.testing.assert_array_equal(g[1].eval({z: np.ones(2)}), [0.0, 0.0])


def test_sgd_on_a_least_squares_problem_converges() -> None:
    rng = np.random.default_rng(0)
    true_w = rng.standard_normal(5)
    data = rng.standard_normal((200, 5))
    target = data @ true_w
    x, y = ti.matrix("x", "float64"), ti.vector("y", "float64")
    w = ti.shared(np.zeros(5), name="w")
    cost = ((x @ w - y) ** 2).mean()
    train = ti.function([x, y], cost, updates=[(w, w - 0.1 * ti.grad(cost, w))])
    for _ in range(300):
        train(data, target)
    np.testing.assert_allclose(w.get_value(), true_w, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=1, max_size=6), st.floats(0.01, 1.0))
def test_update_rule_against_numpy(values: list[float], lr: float) -> None:
    v = np.array(values)
    w = ti.shared(v.copy(), name="w")
    x = ti.vector("x", "float64")
    cost = (ti.exp(w) * x).sum()
    f = ti.function([x], cost, updates=[(w, w - lr * ti.grad(cost, w))])
    xv = np.linspace(-1, 1, len(values))
    c = f(xv)
    assert abs(float(c) - float((np.exp(v) * xv).sum())) <= 1e-12 * max(1.0, abs(float(c)))
    np.testing.assert_allclose(w.get_value(), v - lr * np.exp(v) * xv, rtol=1e-13, atol=1e-15)


def test_eval_and_clone_replace() -> None:
    x, y = ti.vector("x", "float64"), ti.vector("y", "float64")
    e = ti.exp(x) + y
    assert np.allclose(e.eval({x: np.zeros(2), y: np.ones(2)}), [2.0, 2.0])
    e2 = ti.clone_replace(e, {y: x * 2.0})
    np.testing.assert_allclose(e2.eval({x: np.ones(2)}), np.exp(1.0) + 2.0)
    a, b = ti.clone_replace([e, y * 3.0], replace=[(y, ti.zeros_like(y))])
    np.testing.assert_array_equal(b.eval({y: np.ones(2)}), [0.0, 0.0])
    with pytest.raises(DTypeError, match="'y' is float64\\[\\?\\] but its replacement is float32\\[\\?\\]"):
        ti.clone_replace(e, {y: ti.vector("z", "float32")})
    # an intermediate result can be replaced too
    mid = x * 2.0
    out = mid + 1.0
    np.testing.assert_array_equal(ti.clone_replace(out, {mid: y}).eval({y: np.ones(2)}), [2.0, 2.0])


def test_free_dims_serve_every_size_with_one_compile() -> None:
    x = ti.matrix("x", "float32")
    f = ti.function([x], (x * x).sum(axis=0))
    for n in (1, 3, 17):
        np.testing.assert_array_equal(f(np.ones((n, 2), np.float32)), [n, n])


# ---------------------------------------------------------------------------
# Bad input


def test_build_time_errors_name_the_culprit() -> None:
    x, y = ti.vector("x", "float64"), ti.vector("y", "float64")
    w = ti.shared(np.zeros(2), name="w")
    with pytest.raises(ArgumentError, match=r"updates\[0\] updates <Variable 'x' float64\[\?\]>, which is not a shared variable"):
        ti.function([x], x, updates=[(x, x + 1.0)])
    with pytest.raises(DTypeError, match=r"the update of shared variable 'w' \(float64\[\?\]\) has type float32\[\?\]"):
        ti.function([x], x, updates=[(w, ti.vector("f", "float32"))], on_unused_input="ignore")
    with pytest.raises(DTypeError, match=r"the update of shared variable 'w' \(float64\[\?\]\) has type float64\[\?, \?\]"):
        ti.function([], updates=[(w, ti.matrix("m", "float64"))])
    with pytest.raises(ArgumentError, match=r"the outputs need 'y' \(float64\[\?\]\), a symbolic variable that is not among the inputs"):
        ti.function([x], x + y)
    with pytest.raises(ArgumentError, match=r"the input 'x' is given twice \(positions 0 and 1\)"):
        ti.function([x, x], x)
    with pytest.raises(ArgumentError, match="the shared variable 'w' is updated twice"):
        ti.function([], updates=[(w, w + 1.0), (w, w * 2.0)])
    with pytest.raises(DTypeError, match=r"givens: 'x' is float64\[\?\] but its replacement is float64\[\?, \?\]"):
        ti.function([y], x + y, givens={x: ti.matrix("m", "float64")})
    with pytest.raises(ArgumentError, match="'x' is replaced by givens and is also an input"):
        ti.function([x], x, givens={x: y})
    with pytest.raises(ArgumentError, match=r"input\(s\) 'y' are not used .* on_unused_input='ignore'"):
        ti.function([x, y], x * 2.0)
    with pytest.raises(ArgumentError, match="input 1 must be a symbolic variable .* found computed by tir.mul"):
        ti.function([x, x * 2.0], x)
    with pytest.raises(ArgumentError, match="input 0 \\('w'\\) is a shared variable; shared variables are implicit"):
        ti.function([w], w * 2.0)
    with pytest.raises(ArgumentError, match="wrap a single input in a list"):
        ti.function(x, x)  # type: ignore[arg-type]


def test_call_time_errors_name_the_culprit() -> None:
    x, n = ti.matrix("x", "float32"), ti.scalar("n", "int64")
    f = ti.function([x, n], x * n)
    with pytest.raises(ArgumentError, match=r"takes 2 input\(s\) \(x, n\), found 1 argument\(s\)"):
        f(np.ones((2, 2), np.float32))
    with pytest.raises(DTypeError, match=r"input 'x' is float32, found a float64 array; pass value.astype\(np.float32\) "
                                         "or build the function with allow_input_downcast=True"):
        f(np.ones((2, 2)), 1)
    with pytest.raises(ShapeError, match=r"input 'x' is a matrix \(2-d\), found an array of shape \(3,\)"):
        f(np.ones(3, np.float32), 1)
    with pytest.raises(DTypeError, match="input 'n' is int64, found 1.5"):
        f(np.ones((2, 2), np.float32), 1.5)
    with pytest.raises(ArgumentError, match="has no input named 'z'"):
        f(np.ones((2, 2), np.float32), z=1)
    with pytest.raises(ArgumentError, match="missing input"):
        f(x=np.ones((2, 2), np.float32))
    lr = ti.scalar("lr", "float32")
    g = ti.function([x, lr], x * lr, allow_input_downcast=True)
    assert g(np.ones((1, 1)), np.float64(2.0)).dtype == np.float32


def test_errors_of_grad_and_shared() -> None:
    x = ti.vector("x", "float64")
    with pytest.raises(ShapeError, match=r"the cost must be a scalar, found shape float64\[\?\]"):
        ti.grad(x * 2.0, x)
    with pytest.raises(DTypeError, match="'i' has dtype int64; only float variables"):
        ti.grad(x.sum(), ti.vector("i", "int64"))
    with pytest.raises(ArgumentError, match="device must be 'cpu', 'cuda', 'cuda:N' \\(a GPU's number\\) or 'auto', found 'tpu'"):
        ti.config.device = "tpu"
    with pytest.raises(ArgumentError, match="mode must be one of FAST_RUN, FAST_COMPILE"):
        ti.function([x], x, mode="FASTEST")


def _unused(*_: Any) -> None:
    pass
