"""The ops tir-stabilize rewrites into: logaddexp, log1mexp, softmax_cross_entropy.

Each against NumPy / SciPy and against the reference interpreter of the
traced tir, in float32 and float64, on the extremes the naive forms fail on
(+-1000, +-inf, NaN, 0, -1e-30), with their gradients there; logaddexp's
accuracy over a sweep against an extended-precision reference (log1mexp's
is in tests/test_mathfns.py); the frontend's broadcasting, promotion and
errors.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special

import tensorir as ti
from conftest import assert_matches
from tensorir.errors import DTypeError, ShapeError

FLOATS = ("float32", "float64")
INF, NAN = np.inf, np.nan
LD = np.longdouble


def _tol(dtype: str) -> dict[str, float]:
    return {"rtol": 4e-7, "atol": 0} if dtype == "float32" else {"rtol": 1e-15, "atol": 0}


def _same(got: np.ndarray, expected: np.ndarray, dtype: str) -> None:
    """Equal within a few ulp; infinities, NaN and the sign of zero exactly."""
    assert got.dtype == np.dtype(dtype) and got.shape == np.shape(expected)
    expected = np.asarray(expected, dtype=np.float64)
    exact = ~np.isfinite(expected) | (expected == 0)
    np.testing.assert_array_equal(got[exact], expected[exact].astype(dtype))
    signed = exact & ~np.isnan(expected)  # a NaN's sign bit means nothing
    np.testing.assert_array_equal(np.signbit(got[signed]), np.signbit(expected[signed]))
    np.testing.assert_allclose(got[~exact], expected[~exact], **_tol(dtype))


# -- logaddexp -----------------------------------------------------------------------

# (a, b, logaddexp(a, b)): ties give a + log 2, equal infinities that infinity
LOGADDEXP = [
    (1000.0, 1000.0, 1000.0 + np.log(2)),
    (-1000.0, -1000.0, -1000.0 + np.log(2)),
    (1000.0, -1000.0, 1000.0),
    (-1000.0, 0.0, 0.0),
    (0.0, 0.0, np.log(2)),
    (-1e-30, 1e-30, np.log(2)),
    (INF, INF, INF),
    (-INF, -INF, -INF),
    (INF, -INF, INF),
    (-INF, 2.0, 2.0),
    (INF, 5.0, INF),
    (NAN, 1.0, NAN),
    (1.0, NAN, NAN),
    (NAN, INF, NAN),
    (-INF, NAN, NAN),
    (3.0, 1.0, 3.0 + np.log1p(np.exp(-2.0))),
]


@pytest.mark.parametrize("dtype", FLOATS)
def test_logaddexp_values(dtype: str) -> None:
    a, b, expected = (np.array(c, dtype=dtype) for c in zip(*LOGADDEXP))
    f = ti.jit(ti.logaddexp)
    with np.errstate(invalid="ignore"):
        numpy = np.logaddexp(a, b)
    got = assert_matches(f, a, b, expected=numpy)
    _same(got, expected, dtype)
    _same(f(b, a), expected, dtype)  # symmetric


@pytest.mark.parametrize("dtype", FLOATS)
def test_logaddexp_gradient_is_a_sigmoid(dtype: str) -> None:
    """d/da = sigmoid(a - b), exact at +-1000; 1/2 each at ties, equal infinities included."""
    a = np.array([1000.0, -1000.0, 0.0, 1000.0, INF, -INF, INF, 3.0], dtype=dtype)
    b = np.array([-1000.0, 1000.0, 0.0, 1000.0, INF, -INF, 1.0, 1.0], dtype=dtype)
    ga, gb = ti.grad(lambda a, b: ti.sum(ti.logaddexp(a, b)), argnums=(0, 1))(a, b)
    expected = np.array([1.0, 0.0, 0.5, 0.5, 0.5, 0.5, 1.0, scipy.special.expit(2.0)])
    _same(ga, expected, dtype)
    _same(gb, np.array([0.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.0, scipy.special.expit(-2.0)]), dtype)
    # forward mode agrees
    _, t = ti.jvp(ti.logaddexp, (a, b), (np.ones_like(a), np.zeros_like(b)))
    _same(t, expected, dtype)


def test_logaddexp_broadcasts_and_promotes_as_numpy() -> None:
    f = ti.jit(ti.logaddexp)
    a, b = np.array([[0.0], [1000.0]], np.float32), np.array([0.0, -1000.0, 3.0])
    got = f(a, b)
    assert got.dtype == np.float64 and got.shape == (2, 3)
    np.testing.assert_allclose(got, np.logaddexp(a, b), rtol=1e-15)
    ints = f(np.array([1, 2]), np.array([3, 4], np.int32))
    assert ints.dtype == np.float64
    np.testing.assert_allclose(ints, np.logaddexp([1, 2], [3, 4]), rtol=1e-15)
    weak = ti.jit(lambda x: ti.logaddexp(x, 0.0))(np.array([-1000.0, 1000.0], np.float32))
    assert weak.dtype == np.float32  # a Python float is weak
    np.testing.assert_array_equal(weak, np.array([0.0, 1000.0], np.float32))


def _logaddexp_ld(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.astype(LD), b.astype(LD)
    m = np.maximum(a, b)
    return m + np.log1p(np.exp(-np.abs(a - b)))


@pytest.mark.skipif(np.finfo(LD).nmant < 63, reason="the reference needs x87 extended precision")
@pytest.mark.parametrize("dtype", FLOATS)
def test_logaddexp_accuracy_over_a_sweep(dtype: str) -> None:
    """Within 4 ulp of max(|a|, |b|, |result|) (a result near 0 cancels operands near
    -ln 2: its error is relative to them), as NumPy's within 3; measured 2.8 / 2.0."""
    rng = np.random.default_rng(5)
    n = 40_000
    lim = 88.0 if dtype == "float32" else 700.0
    a = rng.uniform(-lim, lim, n)
    b = a + rng.standard_normal(n) * np.exp(rng.uniform(-25, 5, n))  # every gap |a - b|
    a = np.concatenate([a, rng.uniform(-3, 3, n)]).astype(dtype)
    b = np.concatenate([b, rng.uniform(-3, 3, n)]).astype(dtype)
    ref = _logaddexp_ld(a, b)
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)).astype(LD), np.abs(ref)).astype(dtype)
    ulp = np.spacing(scale).astype(LD)

    def max_ulp(got: np.ndarray) -> float:
        return float(np.max(np.abs(got.astype(LD) - ref) / ulp))

    ours, numpy = max_ulp(ti.jit(ti.logaddexp)(a, b)), max_ulp(np.logaddexp(a, b))
    assert ours <= 4.0, (ours, numpy)
    assert numpy <= 3.0


# -- log1mexp ------------------------------------------------------------------------

# (x, log(1 - exp(x))): -inf at 0, NaN above
LOG1MEXP = [
    (0.0, -INF),
    (-0.0, -INF),
    (-1e-30, np.log(1e-30)),
    (-1e-20, np.log(1e-20) - 5e-21),
    (-np.log(2), -np.log(2)),
    (-1.0, np.log(-np.expm1(-1.0))),
    (-40.0, -np.exp(-40.0)),
    (-1000.0, -0.0),
    (-INF, -0.0),
    (1e-30, NAN),
    (1000.0, NAN),
    (INF, NAN),
    (NAN, NAN),
]


@pytest.mark.parametrize("dtype", FLOATS)
def test_log1mexp_values(dtype: str) -> None:
    x, expected = (np.array(c, dtype=np.float64) for c in zip(*LOG1MEXP))
    x = x.astype(dtype)
    if dtype == "float32":  # exp(-40) is far below float32's ulp of 1: the reference is the float32 value
        expected = np.where(x == np.float32(-40.0), -np.exp(np.float64(np.float32(-40.0))), expected)
    got = assert_matches(ti.jit(ti.log1mexp), x)
    _same(got, expected, dtype)
    with np.errstate(all="ignore"):
        naive = np.log(1 - np.exp(x))
    assert not np.allclose(naive, expected, rtol=1e-3, equal_nan=True)  # what the op is for


@pytest.mark.parametrize("dtype", FLOATS)
def test_log1mexp_gradient(dtype: str) -> None:
    """d/dx = -1 / expm1(-x): -inf at 0 (either sign), -1/|x| near it, -exp(x) far below."""
    x = np.array([0.0, -0.0, -1e-30, -1.0, -40.0, -1000.0], dtype=dtype)
    g = ti.grad(lambda x: ti.sum(ti.log1mexp(x)))(x)
    with np.errstate(over="ignore"):
        expected = -1 / np.expm1(-x.astype(np.float64)[2:])
    _same(g, np.concatenate([[-INF, -INF], expected]), dtype)
    _, t = ti.jvp(ti.log1mexp, (x,), (np.ones_like(x),))
    _same(t, np.concatenate([[-INF, -INF], expected]), dtype)


def test_log1mexp_of_integers_is_float64() -> None:
    got = ti.jit(ti.log1mexp)(np.array([0, -1, -50]))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, [-INF, np.log(-np.expm1(-1.0)), np.log1p(-np.exp(-50.0))], rtol=1e-15)


# -- softmax_cross_entropy -------------------------------------------------------------


def _cross_entropy(x: np.ndarray, y: np.ndarray, axis: int | None = -1) -> np.ndarray:
    """-sum(y * log_softmax(x)) in float64 by SciPy, with 0 * -inf = 0."""
    with np.errstate(all="ignore"):
        ls = scipy.special.log_softmax(x.astype(np.float64), axis=axis)
        return -np.sum(np.where(y == 0, 0.0, y * ls), axis=axis)


LOGITS = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0], [0.0, 0.0, 0.0], [-1e-30, 0.0, 1e-30]])
LABELS = np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5], [0.0, 0.0, 1.0]])


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_cross_entropy_values(dtype: str) -> None:
    x, y = LOGITS.astype(dtype), LABELS.astype(dtype)
    f = ti.jit(ti.nn.softmax_cross_entropy)
    got = assert_matches(f, x, y, expected=_cross_entropy(LOGITS, LABELS), rtol=_tol(dtype)["rtol"] * 4)
    assert got.dtype == dtype
    by_columns = ti.jit(lambda x, y: ti.nn.softmax_cross_entropy(x, y, axis=0))(x, y)
    np.testing.assert_allclose(by_columns, _cross_entropy(LOGITS, LABELS, axis=0), rtol=_tol(dtype)["rtol"] * 4)
    total = ti.jit(lambda x, y: ti.nn.softmax_cross_entropy(x, y, axis=None))(x, y)
    np.testing.assert_allclose(total, _cross_entropy(LOGITS, LABELS, axis=None), rtol=_tol(dtype)["rtol"] * 4)


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_cross_entropy_special_rows(dtype: str) -> None:
    """-inf logits with label 0 are masked classes (contribute 0); a row with +inf or
    NaN, or all -inf with some label, has no distribution (NaN); no labels give 0."""
    x = np.array([
        [-INF, 0.0, 1.0],      # masked class
        [INF, 0.0, 1.0],       # +inf logit
        [NAN, 0.0, 1.0],       # NaN logit
        [-INF, -INF, -INF],    # no distribution, a label
        [-INF, -INF, -INF],    # no distribution, no label
        [1.0, 2.0, 3.0],       # a NaN label
    ], dtype=dtype)
    y = np.array([[0, 1, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0], [0, 0, 0], [NAN, 1, 0]], dtype=dtype)
    got = assert_matches(ti.jit(ti.nn.softmax_cross_entropy), x, y)
    expected = [np.log1p(np.e), NAN, NAN, NAN, 0.0, NAN]
    np.testing.assert_allclose(got, expected, rtol=_tol(dtype)["rtol"] * 4)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_cross_entropy_gradients_at_extremes(dtype: str) -> None:
    """d/dlogits = softmax * sum(labels) - labels, d/dlabels = -log_softmax: exact at +-1000."""
    x, y = LOGITS.astype(dtype), LABELS.astype(dtype)
    u = np.array([1.0, -2.0, 0.5, 3.0], dtype)

    def cost(x: ti.Variable, y: ti.Variable) -> ti.Variable:
        return ti.sum(ti.nn.softmax_cross_entropy(x, y) * u)

    gx, gy = ti.grad(cost, argnums=(0, 1))(x, y)
    p = scipy.special.softmax(LOGITS, axis=-1)
    ex = (p * LABELS.sum(-1, keepdims=True) - LABELS) * u[:, None]
    ey = -scipy.special.log_softmax(LOGITS, axis=-1) * u[:, None]
    assert gx.dtype == dtype and gy.dtype == dtype
    np.testing.assert_allclose(gx, ex, rtol=_tol(dtype)["rtol"] * 4, atol=1e-30)
    np.testing.assert_allclose(gy, ey, rtol=_tol(dtype)["rtol"] * 4)
    # forward mode: <J v, u> for a tangent of each argument
    vx, vy = np.ones_like(x), np.full_like(y, 0.5)
    _, t = ti.jvp(ti.nn.softmax_cross_entropy, (x, y), (vx, vy))
    np.testing.assert_allclose(
        t, ((p * LABELS.sum(-1, keepdims=True) - LABELS) * vx).sum(-1) + (ey / u[:, None] * vy).sum(-1),
        rtol=_tol(dtype)["rtol"] * 4, atol=1e-12,
    )


def test_softmax_cross_entropy_broadcasts_and_promotes_labels() -> None:
    f = ti.jit(ti.nn.softmax_cross_entropy)
    x = LOGITS.astype(np.float32)
    shared = np.array([[0.0, 1.0, 0.0]], np.float32)  # one label row for every example
    got = f(x, shared)
    assert got.dtype == np.float32 and got.shape == (4,)
    np.testing.assert_allclose(got, _cross_entropy(LOGITS, np.broadcast_to(shared, LOGITS.shape)), rtol=2e-6)
    one_hot = ti.jit(lambda x, k: ti.nn.softmax_cross_entropy(x, ti.nn.one_hot(k, 3)))
    got = one_hot(LOGITS, np.array([1, 2, 0, 2]))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, _cross_entropy(LOGITS, np.eye(3)[[1, 2, 0, 2]]), rtol=1e-15)
    ints = f(LOGITS, np.eye(3, dtype=np.int64)[[1, 2, 0, 2]])  # NumPy promotion: float64
    assert ints.dtype == np.float64


def test_softmax_cross_entropy_errors() -> None:
    f = ti.jit(ti.nn.softmax_cross_entropy)
    with pytest.raises(ShapeError, match=r"labels must be distributions of the logits' shape \(\?, \?\); "
                                         r"found int64 labels of shape \(\?,\)\. For integer class indices, "
                                         r"pass ti.nn.one_hot\(labels, num_classes\)"):
        f(LOGITS, np.array([0, 1, 2, 0]))
    with pytest.raises(ShapeError, match="logits and labels differ on axis 1"):
        f(LOGITS, np.ones((4, 5)))
    with pytest.raises(ShapeError, match="axis 2 is out of bounds"):
        ti.jit(lambda x, y: ti.nn.softmax_cross_entropy(x, y, axis=2))(LOGITS, LABELS)


def test_the_op_rejects_labels_of_another_dtype_or_rank() -> None:
    from tensorir.dialects import OPS
    from tensorir.dialects.types import TensorType

    rule = OPS["softmax_cross_entropy"]
    x = TensorType("float32", (2, 3))
    assert rule.result_types([x, x], {"axes": (1,)}) == [TensorType("float32", (2,))]
    with pytest.raises(DTypeError, match="labels of the logits' dtype float32, found float64"):
        rule.result_types([x, TensorType("float64", (2, 3))], {"axes": (1,)})
    with pytest.raises(ShapeError, match="logits of rank 2 and labels of rank 1"):
        rule.result_types([x, TensorType("float32", (3,))], {"axes": (1,)})


# -- code generation -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
def test_the_ops_vectorise_without_libm_calls(dtype: str) -> None:
    import re

    from tensorir.runtime.cpu import optimize

    el = "float" if dtype == "float32" else "double"
    a = np.linspace(-3, 3, 64).astype(dtype)
    x = np.zeros((4, 64), dtype)
    for f, args in ((ti.jit(lambda a, b: ti.logaddexp(a, b) + ti.log1mexp(-ti.abs(a))), (a, a)),
                    (ti.jit(ti.nn.softmax_cross_entropy), (x, x))):
        llvm = str(optimize(f.lower(*args).as_text("llvm-ir")))
        calls = set(re.findall(r"call [^@]*@([A-Za-z_.0-9]+)", llvm))
        assert not {c for c in calls if re.fullmatch(r"(exp|log|expm1|log1p)f?", c)}, calls
        assert re.search(rf"<\d+ x {el}>", llvm), "not vectorised"
