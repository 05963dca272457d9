"""The softmax family and the activations of ``tensorir.nn`` against a float64
NumPy reference, on ordinary and on extreme inputs (``x = +-1000``, ``-inf``
entries, slices that are all ``-inf``)."""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tensorir as ti
import test_stable_ops
from conftest import assert_matches
from tensorir.dialects import OPS


# -- float64 references, written independently of dialects/nn.py ---------------


def ref_logsumexp(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    x = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
        m = np.where(np.isfinite(m), m, 0.0)
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis) if axis is not None else out.reshape(())


def ref_softmax(x: np.ndarray, axis: Any = -1) -> np.ndarray:
    x = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
        m = np.where(m == -np.inf, 0.0, m)
        e = np.exp(x - m)
        return e / np.sum(e, axis=axis, keepdims=True)


def ref_log_softmax(x: np.ndarray, axis: Any = -1) -> np.ndarray:
    x = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
        m = np.where(m == -np.inf, 0.0, m)
        return (x - m) - np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


def _close(got: np.ndarray, expected: np.ndarray, dtype: Any) -> None:
    tol = {"rtol": 2e-5, "atol": 1e-6} if np.dtype(dtype) == np.float32 else {"rtol": 1e-12, "atol": 1e-12}
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, expected.astype(got.dtype), equal_nan=True, **tol)


# -- property tests --------------------------------------------------------------

_axis_cases = st.sampled_from([None, 0, -1, (0, 1), (1,), (-1, 0)])


@st.composite
def float_arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = draw(st.sampled_from(["float32", "float64"]))
    shape = draw(hnp.array_shapes(min_dims=2, max_dims=3, min_side=0, max_side=4))
    elements = st.one_of(
        st.floats(-50, 50, width=32),
        st.sampled_from([-1000.0, 1000.0, -np.inf]),
    )
    return draw(hnp.arrays(dtype, shape, elements=elements))


@given(float_arrays(), _axis_cases, st.booleans())
def test_logsumexp_matches_reference(x: np.ndarray, axis: Any, keepdims: bool) -> None:
    f = ti.jit(lambda v: ti.logsumexp(v, axis=axis, keepdims=keepdims))
    got = assert_matches(f, x, rtol=2e-5 if x.dtype == np.float32 else 1e-12, atol=1e-5)
    _close(got, ref_logsumexp(x, axis, keepdims), x.dtype)


@given(float_arrays(), st.sampled_from([-1, 0, (0, 1), None]))
def test_softmax_and_log_softmax_match_reference(x: np.ndarray, axis: Any) -> None:
    f = ti.jit(lambda v: (ti.nn.softmax(v, axis=axis), ti.nn.log_softmax(v, axis=axis)))
    sm, lsm = assert_matches(f, x, rtol=2e-5 if x.dtype == np.float32 else 1e-12, atol=1e-5)
    _close(sm, ref_softmax(x, axis), x.dtype)
    _close(lsm, ref_log_softmax(x, axis), x.dtype)
    # rows with a finite entry are distributions
    axes = tuple(range(x.ndim)) if axis is None else axis
    ok = np.any(np.isfinite(x), axis=axes, keepdims=True) & np.ones_like(sm, bool)
    sums = np.sum(np.where(ok, sm, 0.0), axis=axes, keepdims=True)
    has = np.any(ok, axis=axes, keepdims=True)
    np.testing.assert_allclose(sums[has], 1.0, rtol=1e-5 if x.dtype == np.float32 else 1e-12)


# -- extreme inputs --------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_extreme_inputs_give_finite_correct_results(dtype: str) -> None:
    x = np.array(
        [
            [1000.0, 1000.0, -1000.0],
            [-1000.0, -1000.0, -1000.0],
            [0.0, -np.inf, 1.0],
            [-np.inf, 5.0, -np.inf],
        ],
        dtype,
    )
    f = ti.jit(lambda v: (ti.nn.softmax(v), ti.nn.log_softmax(v), ti.logsumexp(v, axis=1)))
    sm, lsm, lse = assert_matches(f, x)
    assert np.isfinite(sm).all() and np.isfinite(lse).all()
    _close(sm[0], np.array([0.5, 0.5, 0.0]), dtype)
    _close(sm[1], np.full(3, 1 / 3), dtype)
    _close(sm[2], np.array([1 / (1 + math.e), 0.0, math.e / (1 + math.e)]), dtype)
    _close(sm[3], np.array([0.0, 1.0, 0.0]), dtype)
    _close(lse, np.array([1000 + math.log(2), -1000 + math.log(3), math.log(1 + math.e), 5.0]), dtype)
    _close(lsm[0, :2], np.full(2, -math.log(2)), dtype)
    assert lsm[0, 2] == pytest.approx(-2000 - math.log(2), rel=1e-6)
    assert lsm[2, 1] == -np.inf and lsm[3, 1] == 0.0
    np.testing.assert_allclose(sm.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_long_rows_against_float64(dtype: str) -> None:
    """Reductions over the last axis run row by row (one max loop and one sum
    loop per row, the sum with ``mathfns.exp_term``): long rows whose terms
    span the whole range, far below the f32 normal range included, agree
    with a float64 reference to a few ulp."""
    rng = np.random.default_rng(7)
    x = rng.uniform(-120.0, 0.0, (6, 4099)).astype(dtype)
    x[0] = rng.standard_normal(4099)  # many terms of similar size
    x[1, :4000] = -1e4  # a few terms carry the sum, the rest flush out
    x[2, 17] = 80.0  # one term dominates
    x[3, ::3] = -np.inf
    f = ti.jit(lambda v: (ti.logsumexp(v, axis=-1), ti.nn.softmax(v), ti.nn.log_softmax(v)))
    lse, sm, lsm = f(x)
    eps = float(np.finfo(dtype).eps)
    ref = ref_logsumexp(x, axis=-1)
    assert np.abs(lse - ref).max() <= 8 * eps * np.abs(ref).max()
    ref_sm = ref_softmax(x)
    assert np.abs(sm - ref_sm).max() <= 16 * eps * ref_sm.max()
    np.testing.assert_allclose(lsm, ref_log_softmax(x), rtol=16 * eps, atol=16 * eps * 120)


@pytest.mark.parametrize("shape, axis", [((5,), 0), ((3, 4, 5), (1, 2)), ((3, 4, 5), -1), ((2, 1, 7), 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_trailing_axes_of_any_rank(shape: tuple, axis: Any, keepdims: bool) -> None:
    x = np.random.default_rng(1).standard_normal(shape) * 30
    lse, sm = ti.jit(lambda v: (ti.logsumexp(v, axis=axis, keepdims=keepdims), ti.nn.softmax(v, axis=axis)))(x)
    _close(lse, ref_logsumexp(x, axis=axis, keepdims=keepdims), "float64")
    _close(sm, ref_softmax(x, axis=axis), "float64")


def test_last_axis_statistics_are_one_pass_per_row() -> None:
    """Over the last axis, the max and the sum of exponentials are two loops
    inside one generic over the rows (each row read from memory once); over
    a leading axis they stay two reductions over the whole array."""
    x = np.ones((4, 8), np.float32)
    rows = ti.jit(lambda v: ti.logsumexp(v, axis=1)).lower(x).as_text("linalg")
    cols = ti.jit(lambda v: ti.logsumexp(v, axis=0)).lower(x).as_text("linalg")
    assert rows.count("scf.for") == 3 and '"reduction"' not in rows  # max, then sum (fast or full exp)
    assert "scf.for" not in cols and cols.count('"reduction"') == 2


def test_all_minus_inf_slices() -> None:
    x = np.array([[-np.inf, -np.inf], [0.0, 1.0]])
    f = ti.jit(lambda v: (ti.logsumexp(v, axis=1), ti.nn.softmax(v), ti.nn.log_softmax(v)))
    lse, sm, lsm = assert_matches(f, x)
    assert lse[0] == -np.inf  # log(0), not NaN
    assert np.isnan(sm[0]).all() and np.isnan(lsm[0]).all()  # no distribution exists
    _close(sm[1], ref_softmax(x)[1], "float64")


def test_plus_inf_and_nan_conventions() -> None:
    x = np.array([[np.inf, 1.0, 2.0], [np.nan, 1.0, 2.0], [np.inf, -np.inf, 0.0]])
    f = ti.jit(lambda v: (ti.logsumexp(v, axis=1), ti.nn.softmax(v), ti.nn.log_softmax(v)))
    lse, sm, lsm = assert_matches(f, x)
    assert lse[0] == np.inf and np.isnan(lse[1]) and lse[2] == np.inf  # as scipy.special.logsumexp
    assert np.isnan(sm).all() and np.isnan(lsm).all()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        scipy_special = pytest.importorskip("scipy.special")
        np.testing.assert_array_equal(lse, scipy_special.logsumexp(x, axis=1))
        assert np.isnan(scipy_special.softmax(x, axis=1)).all()


def test_empty_logsumexp_is_minus_inf() -> None:
    got = ti.jit(lambda v: ti.logsumexp(v, axis=0))(np.zeros((0, 3)))
    np.testing.assert_array_equal(got, np.full(3, -np.inf))
    assert ti.jit(lambda v: ti.nn.softmax(v, axis=0))(np.zeros((0, 3))).shape == (0, 3)


def test_integer_inputs_compute_in_float64() -> None:
    x = np.array([[1, 2, 3]], np.int32)
    f = ti.jit(lambda v: (ti.nn.softmax(v), ti.nn.log_softmax(v), ti.logsumexp(v), ti.nn.gelu(v)))
    for out in f(x):
        assert out.dtype == np.float64
    _close(f(x)[0], ref_softmax(x), "float64")


def test_log_softmax_is_exact_near_the_maximum() -> None:
    # (x - max) - log(s): an entry 1e-10 below the max keeps its own digits
    x = np.array([1000.0, 1000.0 - 1e-10, -1e6])
    got = ti.jit(ti.nn.log_softmax)(x)
    np.testing.assert_allclose(got[:2], ref_log_softmax(x)[:2], rtol=1e-12)


def test_softmax_family_rejects_bad_axes() -> None:
    with pytest.raises(ti.ShapeError, match="axis 2 is out of bounds for an array of rank 2"):
        ti.jit(lambda v: ti.nn.softmax(v, axis=2))(np.ones((2, 2)))
    with pytest.raises(ti.DTypeError, match="tir.logsumexp needs a float operand"):
        from tensorir.dialects.types import TensorType

        OPS["logsumexp"].infer([TensorType("int64", (3,))], {"axes": (0,), "keepdims": False})


# -- activations -----------------------------------------------------------------

_erf = np.vectorize(math.erf)

ACTIVATIONS: dict[str, tuple[Callable[..., Any], Callable[[np.ndarray], np.ndarray]]] = {
    "relu": (ti.nn.relu, lambda x: np.maximum(x, 0)),
    "sigmoid": (ti.nn.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    "softplus": (ti.nn.softplus, lambda x: np.logaddexp(0, x)),
    "gelu": (ti.nn.gelu, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2)))),
    "elu": (ti.nn.elu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0)))),
    "leaky_relu": (ti.nn.leaky_relu, lambda x: np.where(x >= 0, x, 0.01 * x)),
    "silu": (ti.nn.silu, lambda x: x / (1 + np.exp(-x))),
    "swish": (ti.nn.swish, lambda x: x / (1 + np.exp(-x))),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_activation_matches_numpy(name: str, dtype: str) -> None:
    fn, ref = ACTIVATIONS[name]
    x = np.array([-1000.0, -30.0, -2.5, -1.0, -1e-3, 0.0, 1e-3, 0.7, 3.0, 30.0, 1000.0], dtype)
    with np.errstate(all="ignore"):
        expected = ref(x.astype(np.float64))
    got = ti.jit(fn)(x)
    assert got.dtype == np.dtype(dtype)
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == "float32" else {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(got, expected, **tol)


def test_activation_parameters() -> None:
    x = np.array([-2.0, 3.0])
    np.testing.assert_allclose(ti.jit(lambda v: ti.nn.elu(v, alpha=2.0))(x), [2 * math.expm1(-2.0), 3.0])
    np.testing.assert_allclose(ti.jit(lambda v: ti.nn.leaky_relu(v, 0.2))(x), [-0.4, 3.0])


def test_one_hot() -> None:
    y = np.array([[2, 0], [5, -1]], np.int32)
    got = ti.jit(lambda v: ti.nn.one_hot(v, 3))(y)
    expected = (y[..., None] == np.arange(3)).astype(np.float64)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.float64 and got.shape == (2, 2, 3)
    with pytest.raises(ti.DTypeError, match="labels must be int32 or int64, found float64"):
        ti.jit(lambda v: ti.nn.one_hot(v, 3))(np.ones(2))
    with pytest.raises(ti.ArgumentError, match="num_classes must be a non-negative Python int"):
        ti.jit(lambda v: ti.nn.one_hot(v, -1))(y)


# -- every op of the families is covered -----------------------------------------

COVERED = {
    "softmax": test_softmax_and_log_softmax_match_reference,
    "log_softmax": test_softmax_and_log_softmax_match_reference,
    "logsumexp": test_logsumexp_matches_reference,
    "softmax_cross_entropy": test_stable_ops.test_softmax_cross_entropy_values,
}


def test_every_nn_and_reduce_op_is_tested() -> None:
    from test_reduce import TIR_OPS_COVERED

    nn_ops = {name for name, op in OPS.items() if op.family == "nn"}
    assert nn_ops <= set(COVERED), f"nn ops without a test: {sorted(nn_ops - set(COVERED))}"
    reduce_ops = {name for name, op in OPS.items() if op.family == "reduce"}
    assert reduce_ops <= TIR_OPS_COVERED, f"reduce ops without a test: {sorted(reduce_ops - TIR_OPS_COVERED)}"
