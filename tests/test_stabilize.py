"""tir-stabilize: each rule fires on traced user code in the default pipeline,
fixes the naive form at extreme inputs (values and gradients), and agrees
with the naive form on moderate inputs.

The rule's IR before/after is tests/ir/stabilize.mlir.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import tensorir as ti
from tensorir.passes import PIPELINES
from tensorir.passes.rewrite import recording
from tensorir.passes.stabilize import STABILIZE

W = np.array([1.0, 2.0, 3.0])  # weights that make a softmax's gradient nonzero
Y = np.array([0.2, 0.3, 0.5])  # soft labels of a cross-entropy
BIG = 1e17  # spacing 16: x - logsumexp(x) rounds away every log-probability below ~1e-15
X2 = np.array([[BIG, BIG + 16, BIG - 16], [1000.0, -1000.0, 0.0]])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _softmax(x: np.ndarray) -> np.ndarray:
    """Over the last axis."""
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    """Over the last axis, exact where x - logsumexp(x) is not."""
    m = x.max(-1, keepdims=True)
    return (x - m) - np.log(np.exp(x - m).sum(-1, keepdims=True))


def _log1mexp(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):  # the branch not taken
        return np.where(x > -np.log(2), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def _log1mexp_grad(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return -1 / np.expm1(-x)


@dataclass(frozen=True)
class Case:
    rule: str
    stable_op: str  # the op the rule introduces
    naive_op: str  # an op of the naive form that must be gone
    f: Callable  # what a user writes
    extreme: np.ndarray  # inputs where the naive form fails
    value: Callable  # stable NumPy reference of f
    grad: Callable  # stable NumPy reference of d sum(f) / dx
    moderate: tuple[float, float]  # range of random inputs (of the extreme inputs' shape)
    fired: str = ""  # the rule in the rewrite trace, when it is not ``rule``

    @property
    def traced_rule(self) -> str:
        return self.fired or self.rule


CASES = [
    Case("log_softmax", "log_softmax", "tir.log\"", lambda x: ti.log(ti.nn.softmax(x)),
         np.array([1000.0, -1000.0, 0.0]),
         lambda x: x - np.logaddexp.reduce(x), lambda x: 1 - x.size * _softmax(x), (-5, 5)),
    Case("logsumexp", "logsumexp", "tir.exp", lambda x: ti.log(ti.sum(ti.exp(x))),
         np.array([1000.0, 1000.0, -1000.0]),
         lambda x: np.logaddexp.reduce(x), _softmax, (-5, 5)),
    Case("log1p", "log1p", "tir.log\"", lambda x: ti.log(1 + x),
         np.array([1e-30, -1e-30, 1e-20]),
         np.log1p, lambda x: 1 / (1 + x), (-0.9, 5)),
    Case("log1p_right", "log1p", "tir.log\"", lambda x: ti.log(x + 1.0),
         np.array([1e-30, -1e-30, 1e-20]),
         np.log1p, lambda x: 1 / (1 + x), (-0.9, 5), "log1p"),
    Case("expm1", "expm1", "tir.exp\"", lambda x: ti.exp(x) - 1,
         np.array([1e-30, -1e-30, 1e-20]),
         np.expm1, np.exp, (-5, 5)),
    Case("softplus", "softplus", "tir.exp", lambda x: ti.log(1 + ti.exp(x)),
         np.array([1000.0, -1000.0, 800.0]),
         _softplus, _sigmoid, (-5, 5)),
    Case("log_sigmoid", "softplus", "tir.sigmoid", lambda x: ti.log(ti.sigmoid(x)),
         np.array([-1000.0, 1000.0, -800.0]),
         lambda x: -_softplus(-x), lambda x: _sigmoid(-x), (-5, 5)),
    Case("log_one_minus_sigmoid", "softplus", "tir.sigmoid", lambda x: ti.log(1 - ti.sigmoid(x)),
         np.array([1000.0, -1000.0, 800.0]),
         lambda x: -_softplus(x), lambda x: -_sigmoid(x), (-5, 5)),
    Case("sigmoid", "sigmoid", "tir.exp", lambda x: 1 / (1 + ti.exp(-x)),
         np.array([-1000.0, 1000.0, -800.0]),
         _sigmoid, lambda x: _sigmoid(x) * _sigmoid(-x), (-5, 5)),
    # sigmoid's own form is accurate in floats (1 / inf is 0); its rule matters
    # because log(sigmoid(x)) then becomes -softplus(-x)
    Case("sigmoid_then_log_sigmoid", "softplus", "tir.exp", lambda x: ti.log(1 / (1 + ti.exp(-x))),
         np.array([-1000.0, 1000.0, -800.0]),
         lambda x: -_softplus(-x), lambda x: _sigmoid(-x), (-5, 5), "log_sigmoid"),
    Case("softmax", "softmax", "tir.exp", lambda x: ti.sum(ti.exp(x) / ti.sum(ti.exp(x), keepdims=True) * W),
         np.array([1000.0, 0.0, -1000.0]),
         lambda x: np.sum(_softmax(x) * W), lambda x: _softmax(x) * (W - np.sum(_softmax(x) * W)), (-5, 5)),
    Case("sqrt_square", "abs", "tir.sqrt", lambda x: ti.sqrt(x * x),
         np.array([1e200, -1e200, 1e-200]),
         np.abs, np.sign, (-5, 5)),
    # x - logsumexp(x) never overflows, but rounds log-probabilities to the
    # spacing of max(x): at 1e17 the largest is 0 instead of -1.1e-7
    Case("log_softmax_sub", "log_softmax", "tir.logsumexp",
         lambda x: x - ti.logsumexp(x, axis=1, keepdims=True), X2,
         _log_softmax, lambda x: 1 - x.shape[-1] * _softmax(x), (-5, 5)),
    Case("log_softmax_sub_index", "log_softmax", "tir.logsumexp",
         lambda x: x - ti.logsumexp(x, axis=1)[:, None], X2,
         _log_softmax, lambda x: 1 - x.shape[-1] * _softmax(x), (-5, 5), "log_softmax_sub"),
    Case("log_softmax_sub_reshape", "log_softmax", "tir.logsumexp",
         lambda x: x - ti.logsumexp(x, axis=1).reshape(-1, 1), X2,
         _log_softmax, lambda x: 1 - x.shape[-1] * _softmax(x), (-5, 5), "log_softmax_sub"),
    Case("log_softmax_sub_vector", "log_softmax", "tir.logsumexp",
         lambda x: x - ti.logsumexp(x), np.array([BIG, BIG + 16, BIG - 32]),
         _log_softmax, lambda x: 1 - x.size * _softmax(x), (-5, 5), "log_softmax_sub"),
    Case("sigmoid_exp", "sigmoid", "tir.exp", lambda x: ti.exp(x) / (1 + ti.exp(x)),
         np.array([1000.0, -1000.0, 800.0]),
         _sigmoid, lambda x: _sigmoid(x) * _sigmoid(-x), (-5, 5)),
    Case("sigmoid_exp_right", "sigmoid", "tir.exp", lambda x: ti.exp(x) / (ti.exp(x) + 1.0),
         np.array([1000.0, -1000.0, 800.0]),
         _sigmoid, lambda x: _sigmoid(x) * _sigmoid(-x), (-5, 5), "sigmoid_exp"),
    Case("logaddexp", "logaddexp", "tir.exp", lambda x: ti.log(ti.exp(x) + ti.exp(-x)),  # log(2 cosh x)
         np.array([1000.0, -1000.0, 400.0]),
         lambda x: np.logaddexp(x, -x), np.tanh, (-5, 5)),
    Case("log1mexp", "log1mexp", "tir.log\"", lambda x: ti.log(1 - ti.exp(x)),
         np.array([-1e-20, -40.0, -1e-30]),
         _log1mexp, _log1mexp_grad, (-5, -0.01)),
    Case("log1mexp_expm1", "log1mexp", "tir.expm1", lambda x: ti.log(-ti.expm1(x)),
         np.array([-1e-20, -40.0, -1000.0]),
         _log1mexp, _log1mexp_grad, (-5, -0.01), "log1mexp"),
    Case("log1p_neg_exp", "log1mexp", "tir.log1p", lambda x: ti.log1p(-ti.exp(x)),
         np.array([-1e-20, -1e-30, -0.01]),
         _log1mexp, _log1mexp_grad, (-5, -0.01)),
    # labels closed over: a constant of static shape, the logits' free dims must equal it
    Case("neg_softmax_cross_entropy", "softmax_cross_entropy", "tir.log\"",
         lambda x: -ti.sum(Y * ti.log(ti.nn.softmax(x))),
         np.array([1000.0, -1000.0, 0.0]),
         lambda x: -np.sum(Y * _log_softmax(x)), lambda x: _softmax(x) * Y.sum() - Y, (-5, 5)),
    Case("softmax_cross_entropy", "softmax_cross_entropy", "tir.log\"",
         lambda x: ti.sum(Y * -ti.log(ti.nn.softmax(x))),
         np.array([1000.0, -1000.0, 0.0]),
         lambda x: -np.sum(Y * _log_softmax(x)), lambda x: _softmax(x) * Y.sum() - Y, (-5, 5)),
    Case("softmax_expanded", "softmax", "tir.exp",
         lambda x: ti.sum(ti.exp(x) / ti.exp(x).sum(axis=1)[:, None] * W, axis=1),
         np.array([[1000.0, 0.0, -1000.0], [-800.0, 800.0, 0.0]]),
         lambda x: np.sum(_softmax(x) * W, axis=-1),
         lambda x: _softmax(x) * (W - np.sum(_softmax(x) * W, axis=-1, keepdims=True)), (-5, 5)),
    Case("softmax_expanded_reshape", "softmax", "tir.exp",
         lambda x: ti.sum(ti.exp(x) / ti.exp(x).sum(1).reshape(-1, 1) * W, axis=1),
         np.array([[1000.0, 0.0, -1000.0], [-800.0, 800.0, 0.0]]),
         lambda x: np.sum(_softmax(x) * W, axis=-1),
         lambda x: _softmax(x) * (W - np.sum(_softmax(x) * W, axis=-1, keepdims=True)), (-5, 5), "softmax_expanded"),
    Case("softmax_expanded_vector", "softmax", "tir.exp", lambda x: ti.sum(ti.exp(x) / ti.sum(ti.exp(x)) * W),
         np.array([1000.0, 0.0, -1000.0]),
         lambda x: np.sum(_softmax(x) * W), lambda x: _softmax(x) * (W - np.sum(_softmax(x) * W)), (-5, 5),
         "softmax_expanded"),
]
IDS = [c.rule for c in CASES]


def _cost(f: Callable) -> Callable:
    return lambda x: ti.sum(f(x))


def test_every_rule_has_a_case() -> None:
    rules = {r.name for r in STABILIZE}
    assert rules <= {c.rule for c in CASES}
    assert all(not r.exact for r in STABILIZE)


def test_fast_run_stabilizes_before_and_after_autodiff() -> None:
    steps = PIPELINES["fast_run"]
    assert steps[0] == "tir-stabilize" and "tir-stabilize" not in steps[1:steps.index("tir-autodiff")]
    assert steps.index("tir-stabilize", 1) > steps.index("tir-simplify")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rule_fires_in_the_default_pipeline(case: Case) -> None:
    text = ti.jit(case.f).lower(case.extreme).as_text("tir-opt")
    assert f'"tir.{case.stable_op}"' in text, text
    assert case.naive_op not in text, text


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rule_is_in_the_rewrite_trace(case: Case) -> None:
    with recording() as fired:
        ti.jit(case.f).lower(case.extreme).as_text("tir-opt")
    assert case.traced_rule in {f.rule for f in fired if f.rule_set == "stabilize"}, [str(f) for f in fired]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_extreme_inputs_value(case: Case) -> None:
    x = case.extreme
    stable = ti.jit(case.f, pipeline="fast_run")(x)
    np.testing.assert_allclose(stable, case.value(x), rtol=1e-14, atol=0)
    if case.rule == "sigmoid":
        return  # 1 / (1 + exp(1000)) is 1 / inf = 0, right: see sigmoid_then_log_sigmoid
    with np.errstate(all="ignore"):
        naive = ti.jit(case.f, pipeline="none")(x)
    assert not np.allclose(naive, case.value(x), rtol=1e-6, atol=0, equal_nan=False), naive


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_extreme_inputs_gradient(case: Case) -> None:
    x = case.extreme
    g = ti.jit(ti.grad(_cost(case.f)), pipeline="fast_run")(x)
    assert np.isfinite(g).all(), g
    np.testing.assert_allclose(g, case.grad(x), rtol=1e-14, atol=1e-300)


def test_naive_gradients_fail_where_the_stable_ones_do_not() -> None:
    """The gradient the naive forms give at the extreme inputs (no stabilize)."""
    bad = {}
    for case in CASES:
        with np.errstate(all="ignore"):
            g = ti.jit(ti.grad(_cost(case.f)), pipeline="none")(case.extreme)
        bad[case.rule] = not np.allclose(g, case.grad(case.extreme), rtol=1e-6, atol=1e-300)
    assert bad == {
        "log_softmax": True, "logsumexp": True, "log1p": False, "log1p_right": False, "expm1": False,
        "softplus": True, "log_sigmoid": True, "log_one_minus_sigmoid": True, "sigmoid": False,
        "sigmoid_then_log_sigmoid": True,
        "softmax": True, "sqrt_square": True,
        "log_softmax_sub": False, "log_softmax_sub_index": False, "log_softmax_sub_reshape": False,
        "log_softmax_sub_vector": False,  # logsumexp's own gradient is stable: x - lse(x) errs in value only
        "sigmoid_exp": True, "sigmoid_exp_right": True, "logaddexp": True,
        "log1mexp": True, "log1mexp_expm1": True, "log1p_neg_exp": True,
        "neg_softmax_cross_entropy": True, "softmax_cross_entropy": True,
        "softmax_expanded": True, "softmax_expanded_reshape": True, "softmax_expanded_vector": True,
    }


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_moderate_inputs_agree_with_the_naive_form(case: Case) -> None:
    lo, hi = case.moderate
    x = np.random.default_rng(0).uniform(lo, hi, size=case.extreme.shape)
    stable = ti.jit(case.f, pipeline="fast_run")(x)
    naive = ti.jit(case.f, pipeline="none")(x)
    np.testing.assert_allclose(stable, naive, rtol=1e-12, atol=1e-15)
    gs = ti.jit(ti.grad(_cost(case.f)), pipeline="fast_run")(x)
    gn = ti.jit(ti.grad(_cost(case.f)), pipeline="none")(x)
    np.testing.assert_allclose(gs, gn, rtol=1e-12, atol=1e-15)


def test_float32_constants_match_by_value() -> None:
    x = np.array([1e-30, -1e-30, 1e-20], np.float32)
    f = ti.jit(lambda x: ti.log(1 + x) + (ti.exp(x) - 1))
    text = f.lower(x).as_text("tir-opt")
    assert '"tir.log1p"' in text and '"tir.expm1"' in text, text
    np.testing.assert_allclose(f(x), 2 * x, rtol=1e-6)
    assert (ti.jit(f.fun, pipeline="none")(x) == 0).all()


def test_gradient_through_wrt_is_of_the_stable_form() -> None:
    """stabilize runs before tir-autodiff: the gradient IR is softplus's own (a sigmoid), no exp/log."""
    text = ti.jit(ti.grad(_cost(lambda x: ti.log(1 + ti.exp(x))))).lower(np.zeros(3)).as_text("tir-opt")
    assert '"tir.sigmoid"' in text and '"tir.exp"' not in text and '"tir.log"' not in text, text


F32_CASES = ["sigmoid_exp", "sigmoid_exp_right", "logaddexp", "log1mexp", "log1mexp_expm1", "log1p_neg_exp",
             "softmax_expanded", "softmax_expanded_reshape", "softmax_expanded_vector"]


@pytest.mark.parametrize("case", [c for c in CASES if c.rule in F32_CASES], ids=F32_CASES)
def test_extreme_float32_inputs(case: Case) -> None:
    """The new rules on float32, whose range ends far sooner (exp(89) overflows)."""
    x = case.extreme.astype(np.float32)
    f = ti.jit(case.f)
    assert case.traced_rule in _fired(f, x)
    np.testing.assert_allclose(f(x), case.value(x.astype(np.float64)), rtol=2e-6, atol=0)
    g = ti.jit(ti.grad(_cost(case.f)))(x)
    assert g.dtype == np.float32 and np.isfinite(g).all(), g
    np.testing.assert_allclose(g, case.grad(x.astype(np.float64)), rtol=2e-6, atol=1e-38)


def _fired(f: ti.JitFunction, *args: np.ndarray) -> set[str]:
    with recording() as fired:
        f.lower(*args).as_text("tir-opt")
    return {r.rule for r in fired if r.rule_set == "stabilize"}


# -- the cross-entropy of logits and labels that are both arguments -----------------

LOGITS = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
LABELS = np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])


def _mean_cross_entropy(x: ti.Variable, y: ti.Variable) -> ti.Variable:
    return ti.mean(-ti.sum(y * ti.log(ti.nn.softmax(x, axis=1)), axis=1))


def _via_logsumexp(x: ti.Variable, y: ti.Variable) -> ti.Variable:
    return ti.mean(-(y * (x - ti.logsumexp(x, axis=1, keepdims=True))).sum(axis=1))


@pytest.mark.parametrize("form", [_mean_cross_entropy, _via_logsumexp])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_of_two_arguments(form: Callable, dtype: str) -> None:
    """A classifier's loss at logits of +-1000: finite loss and gradients in both
    arguments, where the naive pipeline gives inf and NaN."""
    x, y = LOGITS.astype(dtype), LABELS.astype(dtype)
    f = ti.jit(form)
    assert "neg_softmax_cross_entropy" in _fired(f, x, y)
    assert '"tir.softmax_cross_entropy"' in f.lower(x, y).as_text("tir-opt")
    rtol = 1e-14 if dtype == "float64" else 2e-6
    n = x.shape[0]
    loss = f(x, y)
    assert loss.dtype == dtype
    np.testing.assert_allclose(loss, np.mean(-(LABELS * _log_softmax(LOGITS)).sum(-1)), rtol=rtol)
    gx, gy = ti.jit(ti.grad(form, argnums=(0, 1)))(x, y)
    np.testing.assert_allclose(gx, (_softmax(LOGITS) * LABELS.sum(-1, keepdims=True) - LABELS) / n,
                               rtol=rtol, atol=1e-300)
    np.testing.assert_allclose(gy, -_log_softmax(LOGITS) / n, rtol=rtol)
    if form is _mean_cross_entropy:  # x - logsumexp(x) is finite unstabilised, only less exact
        with np.errstate(all="ignore"):
            assert not np.isfinite(ti.jit(form, pipeline="none")(x, y))
            assert not np.isfinite(ti.jit(ti.grad(form), pipeline="none")(x, y)).all()


def test_cross_entropy_agrees_with_the_naive_form_on_moderate_inputs() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(4, 5)), rng.dirichlet(np.ones(5), size=4)
    f = _mean_cross_entropy
    np.testing.assert_allclose(ti.jit(f)(x, y), ti.jit(f, pipeline="none")(x, y), rtol=1e-12)
    g = ti.grad(f, argnums=(0, 1))
    for stable, naive in zip(ti.jit(g)(x, y), ti.jit(g, pipeline="none")(x, y)):
        np.testing.assert_allclose(stable, naive, rtol=1e-12, atol=1e-15)


def test_cross_entropy_ignores_masked_classes() -> None:
    """A class masked with a -inf logit and label 0 contributes 0 (0 log 0 = 0),
    where the naive form multiplies 0 by -inf."""
    x, y = np.array([[0.0, -np.inf, 1.0]]), np.array([[1.0, 0.0, 0.0]])
    f = ti.jit(lambda x, y: -ti.sum(y * ti.log(ti.nn.softmax(x, axis=1)), axis=1))
    np.testing.assert_allclose(f(x, y), [np.log1p(np.e)], rtol=1e-15)
    gx = ti.jit(ti.grad(lambda x, y: ti.sum(f.fun(x, y))))(x, y)
    p = np.exp(x - np.logaddexp.reduce(x, axis=1, keepdims=True))
    np.testing.assert_allclose(gx, p - y, rtol=1e-15)
    with np.errstate(all="ignore"):
        assert np.isnan(ti.jit(f.fun, pipeline="none")(x, y)).all()


def test_log_softmax_sub_needs_the_same_operand_and_axes() -> None:
    """x - logsumexp(z) and x - logsumexp(x) brought back on the wrong axis stay as written."""
    x = np.zeros((3, 3))
    other = ti.jit(lambda x, z: x - ti.logsumexp(z, axis=1, keepdims=True))
    transposed = ti.jit(lambda x: x - ti.logsumexp(x, axis=0)[:, None])  # lse_0[i], not lse_0[j]
    assert "log_softmax_sub" not in _fired(other, x, x) | _fired(transposed, x)
    assert '"tir.log_softmax"' not in transposed.lower(x).as_text("tir-opt")
    v = np.arange(9.0).reshape(3, 3)
    np.testing.assert_allclose(transposed(v), v - np.logaddexp.reduce(v, axis=0)[:, None], rtol=1e-15)
