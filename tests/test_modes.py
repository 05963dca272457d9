"""Modes of ti.function: DebugMode against the reference interpreter (a
deliberately wrong rewrite rule and a wrong lowering are caught and the op
named), NanGuardMode naming the op that makes a NaN or infinity, updates
undone when a check raises, and profiling."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import numpy as np
import pytest

import tensorir as ti
from tensorir.errors import ArgumentError, DebugModeError, NanGuardError, NonFiniteError
from tensorir.modes import MODES, DebugMode, NanGuardMode, _mismatch, get_mode
from tensorir.passes.autodiff.builder import E
from tensorir.passes.rewrite import Rule, RuleSet, splat

HERE = __file__


def line() -> int:
    """The caller's line number."""
    return inspect.currentframe().f_back.f_lineno  # type: ignore[union-attr]


# ---------------------------------------------------------------------------
# names


def test_modes_by_name_and_as_objects() -> None:
    assert list(MODES) == ["FAST_RUN", "FAST_COMPILE", "DebugMode", "NanGuardMode"]
    assert get_mode("DebugMode") == DebugMode() and get_mode("NanGuardMode") == NanGuardMode()
    assert NanGuardMode(big_is_error=True).name == "NanGuardMode"
    assert DebugMode().tolerance(np.dtype("float64")) == (1e-7, 1e-12)
    assert DebugMode().tolerance(np.dtype("float32")) == (1e-4, 1e-6)
    assert DebugMode(rtol=1e-3).tolerance(np.dtype("float64")) == (1e-3, 1e-12)
    assert DebugMode().tolerance(np.dtype("int64")) == (0.0, 0.0)
    with pytest.raises(ArgumentError, match="mode must be one of FAST_RUN, FAST_COMPILE, DebugMode, NanGuardMode"):
        get_mode("DEBUG_MODE")
    old = ti.config.mode
    try:
        ti.config.mode = "NanGuardMode"
        x = ti.vector("x", "float64")
        assert ti.function([x], x * 2.0).mode == NanGuardMode()
    finally:
        ti.config.mode = old


def test_agreement_rules() -> None:
    nan, inf = np.nan, np.inf
    assert _mismatch(np.array([1.0, nan, inf]), np.array([1.0 + 1e-9, nan, inf]), 1e-7, 1e-12) is None
    assert _mismatch(np.array([2.0]), np.array([inf]), 1e-7, 1e-12) is None  # an overflow removed
    assert "1 of 1 element differs" in _mismatch(np.array([-inf]), np.array([inf]), 1e-7, 1e-12)  # type: ignore[operator]
    assert "compiled nan, reference 1.0" in _mismatch(np.array([nan]), np.array([1.0]), 1e-7, 1e-12)  # type: ignore[operator]
    assert "shape" in _mismatch(np.zeros(2), np.zeros(3), 1e-7, 1e-12)  # type: ignore[operator]
    assert _mismatch(np.array([1, 2]), np.array([1, 3]), 0, 0) == (
        "1 of 2 elements differs; max abs error 1, max rel error 0.333 (at index (1,): compiled 2, reference 3)"
    )


# ---------------------------------------------------------------------------
# DebugMode


def test_debugmode_agrees_on_a_training_step() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 5)).astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 8)]
    results = {}
    for mode in ("FAST_RUN", "DebugMode", DebugMode(rtol=1e-5)):
        x, y = ti.matrix("x", "float32"), ti.matrix("y", "float32")
        W = ti.shared(np.zeros((5, 3), np.float32), name="W")
        b = ti.shared(np.zeros(3, np.float32), name="b")
        cost = -(y * ti.nn.log_softmax(x @ W + b, axis=-1)).sum(axis=1).mean()
        gW, gb = ti.grad(cost, [W, b])
        train = ti.function([x, y], cost, updates=[(W, W - 0.5 * gW), (b, b - 0.5 * gb)], mode=mode)
        costs = [float(train(X, Y)) for _ in range(3)]
        results[str(mode)] = (costs, W.get_value(), b.get_value())
    (c0, w0, b0), *others = results.values()
    assert c0[0] == pytest.approx(np.log(3.0), rel=1e-6)
    assert c0[2] < c0[1] < c0[0]
    for c, w, bb in others:
        np.testing.assert_allclose(c, c0, rtol=1e-6)
        np.testing.assert_allclose(w, w0, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(bb, b0, rtol=1e-5, atol=1e-7)


def test_debugmode_reference_reads_the_values_from_before_the_call() -> None:
    w = ti.shared(np.array([1.0, 2.0]), name="w")
    f = ti.function([], w.sum(), updates=[(w, w * 3.0)], mode="DebugMode")
    assert float(f()) == 3.0 and float(f()) == 9.0
    np.testing.assert_array_equal(w.get_value(), [9.0, 18.0])


def test_debugmode_accepts_an_overflow_removed_by_stabilize() -> None:
    x = ti.vector("x", "float64")
    f = ti.function([x], ti.log(1.0 + ti.exp(x)), mode="DebugMode")
    np.testing.assert_allclose(f(np.array([0.0, 1000.0])), [np.log(2.0), 1000.0])


def _wrong_mul_one(op: Any) -> Any:
    """x * 1 -> x + 1: a deliberately wrong identity."""
    x, c = op.operands
    if splat(c) != 1 or x.type != op.results[0].type:
        return None
    return (E(x) + E(c)).value


@pytest.fixture
def wrong_rewrite(monkeypatch: pytest.MonkeyPatch) -> None:
    simplify = importlib.import_module("tensorir.passes.simplify")
    rules = simplify.SIMPLIFY
    assert rules["mul_one"].root == "tir.mul"
    bad = tuple(Rule("mul_one", "tir.mul", _wrong_mul_one, "x * 1 -> x + 1") if r.name == "mul_one" else r for r in rules)
    monkeypatch.setattr(simplify, "SIMPLIFY", RuleSet("simplify", bad))


def test_debugmode_names_the_op_a_wrong_rewrite_changed(wrong_rewrite: None) -> None:
    x = ti.vector("x", "float64")
    w = ti.shared(np.zeros(3), name="w")
    y = ti.sqrt(x)
    z = y * 1.0; at = line()  # noqa: E702
    step = ti.function([x], z.sum(), updates=[(w, w + z)], mode="DebugMode", name="step")
    with pytest.raises(DebugModeError) as info:
        step(np.array([1.0, 4.0, 9.0]))
    e = info.value
    assert (e.output, e.op, e.location) == ("output 0 of step", "tir.mul", (HERE, at))
    assert (e.max_abs_error, e.max_rel_error) == (3.0, 0.5)
    assert str(e).splitlines() == [
        "DebugMode: output 0 of step differs from the reference interpreter of the unoptimised graph:",
        "  1 of 1 element differs beyond rtol=1e-07, atol=1e-12; max abs error 3, max rel error 0.5 "
        "(at index (): compiled 9.0, reference 6.0)",
        "first op whose value differs: tir.mul, changed by the fast_run tir passes (rewrites that fired on it: "
        "simplify.mul_one):",
        "  3 of 3 elements differ beyond rtol=1e-07, atol=1e-12; max abs error 1, max rel error 1 "
        "(at index (0,): compiled 2.0, reference 1.0)",
        f'  File "{HERE}", line {at}',
        "    z = y * 1.0; at = line()  # noqa: E702",
        "the shared variables keep their values from before the call",
    ]
    np.testing.assert_array_equal(w.get_value(), np.zeros(3))  # the update was undone
    assert step.lower().as_text("tir-opt").count("tir.mul") == 0  # the rule did fire in the real function


def test_debugmode_checks_updates_too(wrong_rewrite: None) -> None:
    w = ti.shared(np.array([1.0, 2.0]), name="w")
    f = ti.function([], [], updates=[(w, ti.sqrt(w) * 1.0)], mode="DebugMode")
    with pytest.raises(DebugModeError, match="the update of shared variable 'w' differs") as info:
        f()
    assert (info.value.op, info.value.max_abs_error) == ("tir.mul", 1.0)
    assert "(at index (0,): compiled 2.0, reference 1.0)" in str(info.value)
    np.testing.assert_array_equal(w.get_value(), [1.0, 2.0])
    ti.function([], [], updates=[(w, ti.sqrt(w) * 1.0)])()  # FAST_RUN computes the wrong value silently
    np.testing.assert_allclose(w.get_value(), [2.0, np.sqrt(2.0) + 1.0])


def test_debugmode_names_the_op_a_wrong_lowering_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    from tensorir.lowering import to_linalg

    monkeypatch.setitem(to_linalg.RULES, "sub", to_linalg.RULES["add"])
    x, y = ti.vector("x", "float64"), ti.vector("y", "float64")
    a = ti.exp(x)
    b = a - y; at = line()  # noqa: E702
    f = ti.function([x, y], (b * 2.0).sum(), mode="DebugMode")
    with pytest.raises(DebugModeError) as info:
        f(np.array([0.0, 1.0]), np.array([0.5, 0.25]))
    e = info.value
    assert (e.op, e.location, e.max_abs_error) == ("tir.sub", (HERE, at), pytest.approx(3.0))
    assert "first op whose value differs: tir.sub, changed by the lowering to machine code:" in str(e)
    assert "the shared variables" not in str(e)


def test_debugmode_catches_a_write_into_an_input(monkeypatch: pytest.MonkeyPatch) -> None:
    x = ti.vector("x", "float64")
    f = ti.function([x], x * 2.0, mode="DebugMode")
    run = f._exe.run

    def clobbering(arrays: list[np.ndarray]) -> list[np.ndarray]:
        outs = run(arrays)
        arrays[0][0] = 99.0
        return outs

    monkeypatch.setattr(f._exe, "run", clobbering)
    data = np.array([1.0, 2.0])
    with pytest.raises(DebugModeError, match="the compiled code wrote into input 'x', which the call only reads"):
        f(data)
    np.testing.assert_array_equal(data, [1.0, 2.0])


# ---------------------------------------------------------------------------
# NanGuardMode


def _guard(fn: Any, *args: Any) -> NanGuardError:
    with pytest.raises(NanGuardError) as info:
        fn(*args)
    assert isinstance(info.value, NonFiniteError) and isinstance(info.value, FloatingPointError)
    return info.value


def test_nanguard_names_log_of_a_negative_number() -> None:
    x = ti.vector("x", "float64")
    y = ti.exp(x) - 2.0
    z = ti.log(y); at = line()  # noqa: E702
    f = ti.function([x], [y, z * 3.0], mode="NanGuardMode", name="f")
    out = f(np.array([1.0, 2.0]))
    np.testing.assert_allclose(out[1], 3 * np.log(np.exp([1.0, 2.0]) - 2))
    e = _guard(f, np.array([1.0, 0.0, -1.0]))
    assert (e.output, e.kind, e.op, e.location) == ("output 1 of f", "NaN", "tir.log", (HERE, at))
    assert str(e).splitlines() == [
        "NanGuardMode: output 1 of f holds 2 NaNs (of 3 elements, first at index (1,)); "
        "tir.log makes it from operands without one",
        f'  File "{HERE}", line {at}',
        "    z = ti.log(y); at = line()  # noqa: E702",
    ]


def test_nanguard_names_zero_over_zero_and_inf_minus_inf() -> None:
    x, y = ti.vector("x", "float64"), ti.vector("y", "float64")
    q = x / y; at_div = line()  # noqa: E702
    f = ti.function([x, y], q + 1.0, mode="NanGuardMode")
    np.testing.assert_array_equal(f(np.array([1.0]), np.array([2.0])), [1.5])
    e = _guard(f, np.array([1.0, 0.0]), np.array([1.0, 0.0]))
    assert (e.kind, e.op, e.location) == ("NaN", "tir.div", (HERE, at_div))
    d = ti.exp(x) - ti.exp(y); at_sub = line()  # noqa: E702
    g = ti.function([x, y], d, mode="NanGuardMode")
    e = _guard(g, np.array([1000.0]), np.array([1000.0]))
    assert (e.kind, e.op, e.location) == ("NaN", "tir.sub", (HERE, at_sub))


def test_nanguard_infinity_and_big_values() -> None:
    x = ti.vector("x", "float64")
    y = x * 1e6; at = line()  # noqa: E702
    r = 1.0 / (y - y)
    f = ti.function([x], [y, r], mode="NanGuardMode")
    e = _guard(f, np.array([1.0]))
    assert (e.output, e.kind, e.op) == ("output 1 of function", "infinity", "tir.div")
    assert "holds 1 infinite value (of 1 element" in str(e)
    lenient = ti.function([x], [y, r], mode=NanGuardMode(inf_is_error=False))
    assert lenient(np.array([1.0]))[1][0] == np.inf
    f = ti.function([x], y, mode="NanGuardMode")
    np.testing.assert_array_equal(f(np.array([1e6])), [1e12])  # big_is_error is off by default
    big = ti.function([x], y, mode=NanGuardMode(big_is_error=True))
    e = _guard(big, np.array([1.0, 1e6]))
    assert (e.kind, e.op, e.location) == ("big", "tir.mul", (HERE, at))
    assert "holds 1 value above 1e+10 in magnitude" in str(e)


def test_nanguard_names_an_input_that_holds_nan() -> None:
    x = ti.vector("x", "float64")
    f = ti.function([x], ti.exp(x), mode="NanGuardMode")
    e = _guard(f, np.array([np.nan]))
    assert e.op is None
    assert "it comes from input 'x', which already holds one" in str(e)


def test_nanguard_leaves_shared_variables_unchanged() -> None:
    w = ti.shared(np.array([4.0, 3.0]), name="w")
    count = ti.shared(np.float64(0.0), name="count")
    f = ti.function([], w.sum(), updates=[(count, count + 1.0), (w, ti.log(w - 2.0))], mode="NanGuardMode")
    assert float(f()) == 7.0
    np.testing.assert_allclose(w.get_value(), [np.log(2.0), 0.0])
    e = _guard(f)
    assert (e.output, e.op) == ("the update of shared variable 'w'", "tir.log")
    assert str(e).endswith("the shared variables keep their values from before the call")
    np.testing.assert_allclose(w.get_value(), [np.log(2.0), 0.0])
    assert float(count.get_value()) == 1.0


# ---------------------------------------------------------------------------
# profiling


def test_profile_counts_calls_and_times_stages() -> None:
    x = ti.vector("x", "float64")
    f = ti.function([x], ti.tanh(x).sum(), profile=True, name="f")
    assert f.profile.calls == 0 and "0 calls" in f.profile.summary()
    for n in (3, 30, 300):
        f(np.ones(n))
    p = f.profile
    assert p.calls == 3
    assert 0 < p.min_call_seconds <= p.mean_call_seconds <= p.max_call_seconds <= p.call_seconds < 10
    assert p.mean_call_seconds == pytest.approx(p.call_seconds / 3)
    stages = ["graph", "emit", "tir-opt", "linalg", "bufferized", "llvm", "llvm-ir", "llvm-jit"]
    assert all(p.compile_timings[s] > 0 for s in stages)
    assert p.compile_timings["total"] >= sum(p.compile_timings[s] for s in stages[1:]) * 0.99
    text = p.summary()
    assert text.splitlines()[0] == "Function profile: f (mode FAST_RUN, pipeline fast_run)"
    assert [line.split()[0] for line in text.splitlines()[2:10]] == stages
    assert "3 calls: total" in text and "mean" in text and "min" in text
    assert repr(p).startswith("<ProfileStats f: 3 call(s), ")


def test_profile_follows_the_config() -> None:
    x = ti.vector("x", "float64")
    assert ti.config.profile is False and ti.function([x], x + 1.0).profile is None
    try:
        ti.config.profile = True
        f = ti.function([x], x + 1.0, mode="NanGuardMode")
        f(np.zeros(2))
        assert f.profile.calls == 1 and "(mode NanGuardMode" in f.profile.summary()
        assert ti.function([x], x + 1.0, profile=False).profile is None
    finally:
        ti.config.profile = False
