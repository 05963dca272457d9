"""ti.scan and its views (map, reduce, foldl, foldr) in @jit functions:
compiled results against NumPy and against the reference interpreter of the
traced tir (``assert_matches``), Theano's semantics of taps and
``go_backwards``, one compile for every sequence length, nested scans.
Bad input: test_scan_errors.py."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tensorir as ti
from conftest import tolerance
from tensorir.dialects import new_context
from tensorir.dialects._bindings import ir
from tensorir.dialects.interpreter import interpret
from tensorir.frontend.emit import emit_function
from tensorir.frontend.trace import trace

def interpreted(f: ti.JitFunction, *args: Any) -> list[np.ndarray]:
    """The reference interpreter's outputs on the traced, unoptimised tir of
    ``f`` (no tir pass, no lowering: a check of the tir the frontend emits)."""
    dynamic, static = f._split(args, {})
    _, arrays, specs, in_tree = f._specs(dynamic, static)
    traced = trace(f.fun, f.__name__, in_tree, specs, static)
    with new_context(), ir.Location.unknown():
        module = ir.Module.create()
        emit_function(module, "main", traced.inputs, traced.outputs, traced.updates)
        assert module.operation.verify()
        return interpret(module, arrays, "main")


def assert_matches(f: ti.JitFunction, *args: Any, expected: Any = None, rtol: float | None = None,
                   atol: float | None = None) -> Any:
    """``f(*args)`` compiled equals the interpreter's result, and ``expected`` if given."""
    got = f(*args)
    got_list = list(got) if isinstance(got, (tuple, list)) else [got]
    ref = interpreted(f, *args)
    exp = None if expected is None else list(expected) if isinstance(expected, tuple) else [expected]
    assert len(got_list) == len(ref)
    for k, (g, r) in enumerate(zip(got_list, ref)):
        tol = tolerance(g.dtype) if rtol is None else {"rtol": rtol, "atol": atol or 0.0}
        assert isinstance(g, np.ndarray) and g.dtype == r.dtype, (g, r)
        if r.size or g.size:  # the interpreter sizes an empty stack's free dims 0: it runs no body to learn them
            assert g.shape == r.shape, (g.shape, r.shape)
            np.testing.assert_allclose(g, r, **tol)
        if exp is not None:
            e = np.asarray(exp[k])
            assert g.shape == e.shape, (g.shape, e.shape)
            np.testing.assert_allclose(g, e, **tol)
    return got


FLOATS = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False, width=64)


def matrices(rows: st.SearchStrategy[int] = st.integers(2, 7), cols: st.SearchStrategy[int] = st.integers(2, 4)):
    return st.tuples(rows, cols).flatmap(lambda s: hnp.arrays(np.float64, s, elements=FLOATS))


# ---------------------------------------------------------------------------
# Cumulative sums and products, running maximum


@ti.jit
def cumsum(x):
    out, _ = ti.scan(lambda x_t, acc: acc + x_t, sequences=x, outputs_info=ti.zeros(x.shape[1:]))
    return out


@ti.jit
def cumprod(x):
    out, _ = ti.scan(lambda x_t, acc: acc * x_t, sequences=x, outputs_info=ti.ones_like(x[0]))
    return out


@ti.jit
def running_max(x):
    out, _ = ti.scan(lambda x_t, m: ti.maximum(m, x_t), sequences=x, outputs_info=x[0])
    return out


@given(matrices())
def test_cumulative_sum_and_product_match_numpy(x: np.ndarray) -> None:
    assert_matches(cumsum, x, expected=np.cumsum(x, axis=0))
    assert_matches(cumprod, x, expected=np.cumprod(x, axis=0))


@given(matrices())
def test_running_maximum_matches_numpy(x: np.ndarray) -> None:
    assert_matches(running_max, x, expected=np.maximum.accumulate(x, axis=0))


def test_zero_steps_give_an_empty_stack() -> None:
    out = cumsum(np.zeros((0, 3)))
    assert out.shape == (0, 3) and out.dtype == np.float64


def test_a_python_float_initial_value_takes_the_steps_dtype() -> None:
    @ti.jit
    def total(x):
        return ti.scan(lambda x_t, acc: acc + x_t, sequences=x, outputs_info=0.0)[0]

    x = np.array([1.5, 2.0, -1.0], np.float32)
    out = assert_matches(total, x, expected=np.cumsum(x))
    assert out.dtype == np.float32


# ---------------------------------------------------------------------------
# Polynomial evaluation (Theano's tutorial)


@ti.jit
def polynomial(coefficients, x):
    components, _ = ti.scan(
        lambda coefficient, power, free_variable: coefficient * free_variable ** power,
        sequences=[coefficients, ti.arange(coefficients.shape[0])],
        non_sequences=x,
    )
    return components.sum()


@given(hnp.arrays(np.float64, st.integers(2, 8), elements=FLOATS), FLOATS)
def test_polynomial_evaluation_matches_numpy(coefficients: np.ndarray, x: float) -> None:
    expected = np.polynomial.polynomial.polyval(x, coefficients)
    assert_matches(polynomial, coefficients, np.float64(x), expected=expected, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------
# Outputs read back at several taps


@ti.jit(static_argnums=(1,))
def fibonacci(x0, n):
    out, _ = ti.scan(lambda a, b: a + b, outputs_info=dict(initial=x0, taps=[-2, -1]), n_steps=n)
    return out


def test_fibonacci_two_tap_recurrence_on_integers() -> None:
    out = fibonacci(np.array([0, 1]), 10)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [1, 2, 3, 5, 8, 13, 21, 34, 55, 89])


@ti.jit
def linear_recurrence(x, y0, a, b):
    """y[t] = a y[t-1] + b y[t-2] + x[t]"""
    out, _ = ti.scan(
        lambda x_t, y2, y1, a, b: a * y1 + b * y2 + x_t,
        sequences=x,
        outputs_info=dict(initial=y0, taps=[-2, -1]),
        non_sequences=[a, b],
    )
    return out


@given(matrices(), FLOATS, FLOATS)
def test_two_tap_recurrence_matches_a_numpy_loop(x: np.ndarray, a: float, b: float) -> None:
    y0 = np.stack([x[0] * 0.5, x[0] - 1.0, x[0] + 7.0])  # rows beyond the first two are not read
    y = [y0[0], y0[1]]
    for t in range(len(x)):
        y.append(a * y[-1] + b * y[-2] + x[t])
    assert_matches(linear_recurrence, x, y0, np.float64(a), np.float64(b), expected=np.array(y[2:]),
                   rtol=1e-10, atol=1e-10)


def test_output_taps_reach_the_step_in_the_order_given() -> None:
    @ti.jit
    def f(y0):
        return ti.scan(lambda y1, y2: y1 + 10.0 * y2, outputs_info=dict(initial=y0, taps=[-1, -2]), n_steps=3)[0]

    # y[-2] = 1, y[-1] = 2 (the first two rows); the step gets y[t-1] then y[t-2]
    y = [1.0, 2.0]
    for _ in range(3):
        y.append(y[-1] + 10 * y[-2])
    assert_matches(f, np.array([1.0, 2.0, 99.0]), expected=y[2:])


def test_a_deep_tap_alone_carries_every_value_between() -> None:
    @ti.jit
    def f(y0):
        return ti.scan(lambda y3: 2.0 * y3, outputs_info=dict(initial=y0, taps=[-3]), n_steps=6)[0]

    assert_matches(f, np.array([1.0, 2.0, 3.0]), expected=[2.0, 4.0, 6.0, 4.0, 8.0, 12.0])


# ---------------------------------------------------------------------------
# Sequence taps and go_backwards, against Theano's semantics


def theano_scan(x: np.ndarray, taps: list[int], go_backwards: bool, weights: list[float]) -> np.ndarray:
    """Theano: the slice of tap k is x[k - lo : len - hi + k] (lo, hi: the lowest
    and highest tap, counting 0), reversed for go_backwards; step t sums
    weights[i] * slice_i[t]."""
    lo, hi = min(0, min(taps)), max(0, max(taps))
    n = len(x) - (hi - lo)
    slices = [x[k - lo:len(x) - hi + k] for k in taps]
    if go_backwards:
        slices = [s[::-1] for s in slices]
    return np.array([sum(w * s[t] for w, s in zip(weights, slices)) for t in range(n)])


@pytest.mark.parametrize("taps", [[-1, 0], [0, 1], [-2, 0, 3], [-3, -1], [2]])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_sequence_taps_follow_theano(taps: list[int], go_backwards: bool) -> None:
    weights = [1.0, 10.0, 100.0][:len(taps)]

    @ti.jit
    def f(x):
        out, _ = ti.scan(lambda *xs: sum(w * v for w, v in zip(weights, xs)),
                         sequences=dict(input=x, taps=taps), go_backwards=go_backwards)
        return out

    x = np.arange(10.0) ** 2
    assert_matches(f, x, expected=theano_scan(x, taps, go_backwards, weights))


def test_go_backwards_runs_from_the_last_row_and_returns_in_step_order() -> None:
    @ti.jit
    def f(x):
        return ti.scan(lambda x_t, acc: acc + x_t, sequences=x, outputs_info=ti.zeros_like(x[0]), go_backwards=True)[0]

    x = np.arange(12.0).reshape(4, 3)
    assert_matches(f, x, expected=np.cumsum(x[::-1], axis=0))


def test_taps_on_several_sequences_and_outputs_together() -> None:
    @ti.jit
    def f(x, u, y0):
        out, _ = ti.scan(lambda x_prev, x_t, u_t, y2, y1: x_t - x_prev + u_t * y1 + y2,
                         sequences=[dict(input=x, taps=[-1, 0]), u], outputs_info=dict(initial=y0, taps=[-2, -1]))
        return out

    rng = np.random.default_rng(0)
    x, u, y0 = rng.normal(size=6), rng.normal(size=5), rng.normal(size=2)
    y = list(y0)
    for t in range(5):
        y.append(x[t + 1] - x[t] + u[t] * y[-1] + y[-2])
    assert_matches(f, x, u, y0, expected=y[2:], rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------
# Outputs that are not fed back, n_steps, views


def test_outputs_not_fed_back_mixed_with_states() -> None:
    @ti.jit
    def f(x):
        doubled, total, squares = ti.scan(lambda x_t, acc: (2.0 * x_t, acc + x_t, x_t * x_t), sequences=x,
                                          outputs_info=[None, ti.zeros_like(x[0]), None])[0]
        return doubled, total, squares

    x = np.arange(6.0).reshape(3, 2)
    assert_matches(f, x, expected=(2 * x, np.cumsum(x, axis=0), x * x))


def test_a_single_output_as_a_list_with_return_list() -> None:
    @ti.jit
    def f(x):
        outs, updates = ti.scan(lambda x_t: x_t + 1.0, sequences=x, return_list=True)
        assert isinstance(outs, list) and len(outs) == 1 and not updates
        return outs[0]

    assert_matches(f, np.arange(3.0), expected=np.arange(3.0) + 1)


@ti.jit
def powers(a, like):
    out, _ = ti.scan(lambda p: p * a, outputs_info=ti.ones_like(a), n_steps=like.shape[0])
    return out


def test_n_steps_without_sequences_from_a_dim_compiles_once() -> None:
    a = np.array([2.0, 3.0, -0.5])
    powers.clear_cache()
    for n in (4, 0, 7, 2):
        out = assert_matches(powers, a, np.zeros(n), expected=np.array([a ** k for k in range(1, n + 1)]).reshape(n, 3))
        assert out.shape == (n, 3)
    assert powers.compile_count == 1


def test_n_steps_as_an_int_without_sequences() -> None:
    @ti.jit
    def f(a):
        return ti.scan(lambda p: p * a, outputs_info=a, n_steps=3)[0]

    out = assert_matches(f, np.array([2.0, 3.0]), expected=[[4.0, 9.0], [8.0, 27.0], [16.0, 81.0]])
    assert out.shape == (3, 2)


def test_n_steps_equal_to_the_sequences_is_accepted() -> None:
    @ti.jit
    def f(x):
        return ti.scan(lambda x_t: 3.0 * x_t, sequences=x, n_steps=x.shape[0])[0]

    assert_matches(f, np.arange(4.0), expected=3 * np.arange(4.0))


def test_map_reduce_foldl_foldr() -> None:
    @ti.jit
    def f(x, digits):
        norms, _ = ti.map(lambda row: (row * row).sum(), sequences=x)
        total, _ = ti.reduce(lambda row, acc: acc + row, sequences=x, outputs_info=ti.zeros_like(x[0]))
        left, _ = ti.foldl(lambda d, acc: 10.0 * acc + d, sequences=digits, outputs_info=0.0)
        right, _ = ti.foldr(lambda d, acc: 10.0 * acc + d, sequences=digits, outputs_info=0.0)
        return norms, total, left, right

    x = np.arange(6.0).reshape(3, 2)
    assert_matches(f, x, np.array([1.0, 2.0, 3.0]), expected=((x * x).sum(axis=1), x.sum(axis=0), 123.0, 321.0))


def test_reduce_keeps_several_states() -> None:
    @ti.jit
    def f(x):
        (lo, hi), _ = ti.reduce(lambda x_t, lo, hi: (ti.minimum(lo, x_t), ti.maximum(hi, x_t)), sequences=x,
                                outputs_info=[x[0], x[0]])
        return lo, hi

    x = np.array([[3.0, -1.0], [0.5, 4.0], [-2.0, 1.0]])
    assert_matches(f, x, expected=(x.min(axis=0), x.max(axis=0)))


# ---------------------------------------------------------------------------
# Closures, non_sequences, nesting


def test_closures_and_explicit_non_sequences_agree() -> None:
    @ti.jit
    def closure(x, w, b):
        return ti.scan(lambda x_t, h: ti.tanh(h * w + x_t + b), sequences=x, outputs_info=ti.zeros_like(x[0]))[0]

    @ti.jit
    def explicit(x, w, b):
        return ti.scan(lambda x_t, h, w, b: ti.tanh(h * w + x_t + b), sequences=x, outputs_info=ti.zeros_like(x[0]),
                       non_sequences=[w, b], strict=True)[0]

    rng = np.random.default_rng(1)
    x, w, b = rng.normal(size=(5, 3)), rng.normal(size=3), rng.normal(size=3)
    h, expected = np.zeros(3), []
    for t in range(5):
        h = np.tanh(h * w + x[t] + b)
        expected.append(h)
    a = assert_matches(closure, x, w, b, expected=expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(assert_matches(explicit, x, w, b), a)


def test_a_numpy_array_the_step_closes_over_is_a_constant() -> None:
    table = np.array([1.0, -2.0, 0.5])

    @ti.jit
    def f(x):
        return ti.scan(lambda x_t, acc: acc * table + x_t, sequences=x, outputs_info=ti.zeros(3))[0]

    x = np.ones((3, 3))
    expected, acc = [], np.zeros(3)
    for t in range(3):
        acc = acc * table + x[t]
        expected.append(acc)
    assert_matches(f, x, expected=expected)


def test_scan_inside_scan() -> None:
    @ti.jit
    def f(x, scale):
        def row(x_t, acc):
            # the inner step reads the outer step's carry and the function's argument
            inner, _ = ti.scan(lambda v, a: a + v * acc.sum() * scale, sequences=x_t, outputs_info=ti.zeros_like(x_t[0]))
            return acc + inner

        return ti.scan(row, sequences=x, outputs_info=ti.ones_like(x[0]))[0]

    rng = np.random.default_rng(2)
    x, scale = rng.normal(size=(4, 3)), np.float64(0.5)
    acc, expected = np.ones(3), []
    for t in range(4):
        acc = acc + np.cumsum(x[t] * acc.sum() * scale)
        expected.append(acc)
    assert_matches(f, x, scale, expected=expected, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------
# An RNN forward pass; every sequence length with one compile


@ti.jit
def rnn(xs, h0, W, U, b):
    hs, _ = ti.scan(lambda x_t, h: ti.tanh(h @ W + x_t @ U + b), sequences=xs, outputs_info=h0)
    return hs


def rnn_numpy(xs, h0, W, U, b):
    h, out = h0, []
    for x_t in xs:
        h = np.tanh(h @ W + x_t @ U + b)
        out.append(h)
    return np.array(out).reshape((len(xs),) + h0.shape)


def test_rnn_forward_matches_a_numpy_loop_for_every_length_with_one_compile() -> None:
    rng = np.random.default_rng(3)
    batch, n_in, hidden = 4, 3, 5
    W = rng.normal(size=(hidden, hidden)) * 0.5
    U, b = rng.normal(size=(n_in, hidden)), rng.normal(size=hidden)
    rnn.clear_cache()
    for T in (6, 2, 0, 11):
        xs, h0 = rng.normal(size=(T, batch, n_in)), rng.normal(size=(batch, hidden))
        out = assert_matches(rnn, xs, h0, W, U, b, expected=rnn_numpy(xs, h0, W, U, b), rtol=1e-9, atol=1e-12)
        assert out.shape == (T, batch, hidden)
    assert rnn.compile_count == 1


def test_the_docstring_examples_run() -> None:
    import doctest

    import tensorir.frontend.scan as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0 and result.attempted >= 9
