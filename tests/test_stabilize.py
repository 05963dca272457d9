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
from tensorir.passes.stabilize import STABILIZE

W = np.array([1.0, 2.0, 3.0])  # weights that make a softmax's gradient nonzero


def _sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


@dataclass(frozen=True)
class Case:
    rule: str
    stable_op: str  # the op the rule introduces
    naive_op: str  # an op of the naive form that must be gone
    f: Callable  # what a user writes
    extreme: np.ndarray  # inputs where the naive form fails
    value: Callable  # stable NumPy reference of f
    grad: Callable  # stable NumPy reference of d sum(f) / dx
    moderate: tuple[float, float]  # range of random inputs


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
         np.log1p, lambda x: 1 / (1 + x), (-0.9, 5)),
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
         lambda x: -_softplus(-x), lambda x: _sigmoid(-x), (-5, 5)),
    Case("softmax", "softmax", "tir.exp", lambda x: ti.sum(ti.exp(x) / ti.sum(ti.exp(x), keepdims=True) * W),
         np.array([1000.0, 0.0, -1000.0]),
         lambda x: np.sum(_softmax(x) * W), lambda x: _softmax(x) * (W - np.sum(_softmax(x) * W)), (-5, 5)),
    Case("sqrt_square", "abs", "tir.sqrt", lambda x: ti.sqrt(x * x),
         np.array([1e200, -1e200, 1e-200]),
         np.abs, np.sign, (-5, 5)),
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
    assert steps[0] == "tir-stabilize" and steps[1] == "tir-autodiff"
    assert steps.index("tir-stabilize", 1) > steps.index("tir-simplify")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rule_fires_in_the_default_pipeline(case: Case) -> None:
    text = ti.jit(case.f).lower(case.extreme).as_text("tir-opt")
    assert f'"tir.{case.stable_op}"' in text, text
    assert case.naive_op not in text, text


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
    }


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_moderate_inputs_agree_with_the_naive_form(case: Case) -> None:
    lo, hi = case.moderate
    x = np.random.default_rng(0).uniform(lo, hi, size=3)
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
