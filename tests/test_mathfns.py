"""Accuracy and special values of the vectorisable math functions.

Each function is compiled for f32 and f64 and compared, over dense sweeps of
its whole interesting range plus random inputs, with a reference computed in
x87 extended precision (64-bit mantissa; ``math.erf`` for erf). Errors are
measured in ulp of the correctly rounded result (the ulp of the smallest
denormal for results in the denormal range), and as relative errors for
normal results; the bounds below are the contract of ``lowering/mathfns.py``.
A table pins the special values: signed zeros, infinities, NaN, denormals and
the overflow and underflow thresholds.
"""

from __future__ import annotations

import math
import re
from functools import cache
from typing import Callable

import numpy as np
import pytest

import tensorir as ti
from tensorir.runtime.cpu import optimize

LD = np.longdouble
pytestmark = pytest.mark.skipif(
    np.finfo(LD).nmant < 63, reason="the references need x87 extended precision (np.longdouble)"
)

FUNCTIONS = ("exp", "log", "log1p", "expm1", "tanh", "sigmoid", "softplus", "log1mexp", "erf")
DTYPES = (np.float32, np.float64)

# Contract: max ulp error on the sweep, max relative error on normal results.
MAX_ULP = {np.float32: 3.0, np.float64: 3.0}
MAX_REL = {np.float32: 4e-7, np.float64: 1e-15}


def _erf_ref(x: np.ndarray) -> np.ndarray:
    return np.array([math.erf(float(v)) for v in x.ravel()], dtype=LD).reshape(x.shape)


def _sigmoid_ref(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _softplus_ref(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x + np.log1p(np.exp(-np.abs(x))), np.log1p(np.exp(-np.abs(x))))


def _log1mexp_ref(x: np.ndarray) -> np.ndarray:
    return np.where(x > -np.log(LD(2)), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


REFERENCE: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "exp": np.exp,
    "log": np.log,
    "log1p": np.log1p,
    "expm1": np.expm1,
    "tanh": np.tanh,
    "sigmoid": _sigmoid_ref,
    "softplus": _softplus_ref,
    "log1mexp": _log1mexp_ref,
    "erf": _erf_ref,
}


@cache
def compiled(name: str) -> ti.JitFunction:
    """One jitted ``x -> ti.<name>(x)`` per function (compiled once per dtype)."""
    fn = getattr(ti, name)

    def apply_fn(x):  # a name no libm symbol has
        return fn(x)

    return ti.jit(apply_fn)


def _tiny_magnitudes(dtype: type, n: int) -> np.ndarray:
    info = np.finfo(dtype)
    lo = np.log(float(info.smallest_subnormal))
    return np.exp(np.linspace(lo, 0.0, n)).astype(dtype)


def sweep(name: str, dtype: type, rng: np.random.Generator) -> np.ndarray:
    """Dense inputs over the range where ``name`` is neither exact nor saturated."""
    info = np.finfo(dtype)
    f32 = dtype == np.float32
    big = float(info.max)
    tiny = _tiny_magnitudes(dtype, 20_000)
    near_one = np.linspace(0.5, 2.0, 40_000)
    if name == "exp":
        parts = [np.linspace(-104, 89, 100_000) if f32 else np.linspace(-746, 710, 100_000), tiny, -tiny]
    elif name == "log":
        logs = np.linspace(np.log(float(info.smallest_subnormal)), np.log(big), 100_000)
        parts = [np.exp(logs), near_one]
    elif name == "log1p":
        mags = np.exp(np.linspace(np.log(float(info.smallest_subnormal)), np.log(big), 60_000))
        to_minus_one = -1 + np.exp(np.linspace(np.log(float(info.eps)), 0, 20_000))
        parts = [mags, -mags[mags < 1], to_minus_one, near_one - 1]
    elif name == "expm1":
        parts = [np.linspace(-25 if f32 else -45, 89 if f32 else 710, 100_000), tiny, -tiny]
    elif name == "tanh":
        parts = [np.linspace(-12, 12, 100_000) if f32 else np.linspace(-21, 21, 100_000), tiny, -tiny]
    elif name in ("sigmoid", "softplus"):
        r = 120 if f32 else 760
        parts = [np.linspace(-r, r, 100_000), tiny, -tiny]
    elif name == "erf":
        parts = [np.linspace(-6, 6, 100_000), tiny, -tiny]
    elif name == "log1mexp":  # x <= 0; the two forms meet at -ln 2
        parts = [np.linspace(-104 if f32 else -746, 0, 100_000), -tiny, -np.log(2) + np.linspace(-0.01, 0.01, 20_000)]
    else:
        raise AssertionError(f"no sweep for {name}")
    rand = rng.standard_normal(20_000) * 3
    if name in ("log", "log1p"):
        rand = np.abs(rand) - (1 if name == "log1p" else 0)  # inside the domain
    if name == "log1mexp":
        rand = -np.abs(rand)
    return np.concatenate([np.asarray(p, np.float64) for p in parts] + [rand]).astype(dtype)


def _next_after_max(dtype: type) -> np.longdouble:
    """The first value past the largest finite one: where results round to inf."""
    info = np.finfo(dtype)
    return LD(2.0) ** (info.maxexp)


def ulp_errors(got: np.ndarray, ref: np.ndarray, dtype: type) -> np.ndarray:
    """|got - ref| in ulp of ``ref`` rounded to ``dtype``; inf counts as max + 1 ulp."""
    info = np.finfo(dtype)
    past = _next_after_max(dtype)
    g = got.astype(LD)
    g = np.where(np.isinf(g), np.sign(g) * past, g)
    r = np.clip(ref, -past, past)
    with np.errstate(over="ignore"):
        rounded = np.abs(ref.astype(dtype))
    rounded = np.where(np.isinf(rounded), info.max, rounded)
    with np.errstate(over="ignore"):
        ulp = np.spacing(rounded.astype(dtype)).astype(LD)  # spacing(max) overflows
    ulp = np.where(np.isinf(ulp), LD(2.0) ** (info.maxexp - 1 - info.nmant), ulp)
    ulp = np.maximum(ulp, LD(info.smallest_subnormal))
    return np.abs(g - r) / ulp


def _measure(name: str, dtype: type, x: np.ndarray) -> tuple[float, float, float, float]:
    got = compiled(name)(x)
    assert got.dtype == dtype and got.shape == x.shape
    with np.errstate(all="ignore"):
        ref = REFERENCE[name](x.astype(LD))
    assert not np.isnan(ref).any()
    nan = np.isnan(got)
    assert not nan.any(), f"{name} gave NaN at {x[nan][:5]}"
    ulps = ulp_errors(got, ref, dtype)
    worst = int(np.argmax(ulps))
    normal = (np.abs(ref) >= np.finfo(dtype).tiny) & (np.abs(ref) <= np.finfo(dtype).max)
    rel = np.abs(got[normal].astype(LD) / ref[normal] - 1)
    return float(ulps.max()), float(x[worst]), float(rel.max()) if rel.size else 0.0, float(ulps.mean())


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_accuracy_over_the_whole_range(name: str, dtype: type, rng: np.random.Generator) -> None:
    x = sweep(name, dtype, rng)
    max_ulp, at, max_rel, mean_ulp = _measure(name, dtype, x)
    assert max_ulp <= MAX_ULP[dtype], f"{name}[{np.dtype(dtype).name}]: {max_ulp:.2f} ulp at x={at!r}"
    assert max_rel <= MAX_REL[dtype], f"{name}[{np.dtype(dtype).name}]: relative error {max_rel:.3g}"
    # the typical error is well below the bound: most results are correctly rounded
    assert mean_ulp < 0.5, f"{name}[{np.dtype(dtype).name}]: mean error {mean_ulp:.2f} ulp"


INF, NAN = float("inf"), float("nan")
F32_DENORMAL = float(np.finfo(np.float32).smallest_subnormal)
F64_DENORMAL = float(np.finfo(np.float64).smallest_subnormal)

# (function, dtype or None for both, x, expected); expected None means "the
# reference, within the ulp bound" (for inexact values worth pinning).
SPECIAL: list[tuple[str, type | None, float, float | None]] = [
    ("exp", None, 0.0, 1.0),
    ("exp", None, -0.0, 1.0),
    ("exp", None, INF, INF),
    ("exp", None, -INF, 0.0),
    ("exp", None, NAN, NAN),
    ("exp", None, 1000.0, INF),
    ("exp", None, -1000.0, 0.0),
    ("exp", np.float32, 89.0, INF),  # e**89 > FLT_MAX
    ("exp", np.float32, 88.72, None),  # just below overflow
    ("exp", np.float32, -104.0, 0.0),  # below half the smallest denormal
    ("exp", np.float32, -100.0, None),  # a denormal result
    ("exp", np.float32, -87.5, None),  # just below the smallest normal
    ("exp", np.float64, 710.0, INF),
    ("exp", np.float64, 709.78, None),
    ("exp", np.float64, -746.0, 0.0),
    ("exp", np.float64, -740.0, None),
    ("log", None, 0.0, -INF),
    ("log", None, -0.0, -INF),
    ("log", None, 1.0, 0.0),
    ("log", None, INF, INF),
    ("log", None, -INF, NAN),
    ("log", None, -1.0, NAN),
    ("log", None, -1e-30, NAN),
    ("log", None, NAN, NAN),
    ("log", np.float32, F32_DENORMAL, None),
    ("log", np.float32, 1e-40, None),
    ("log", np.float64, F64_DENORMAL, None),
    ("log", np.float64, 1e-310, None),
    ("log1p", None, -1.0, -INF),
    ("log1p", None, 0.0, 0.0),
    ("log1p", None, -0.0, -0.0),
    ("log1p", None, 1e-30, 1e-30),
    ("log1p", None, -1e-30, -1e-30),
    ("log1p", None, INF, INF),
    ("log1p", None, -2.0, NAN),
    ("log1p", None, -INF, NAN),
    ("log1p", None, NAN, NAN),
    ("log1p", np.float32, F32_DENORMAL, F32_DENORMAL),
    ("log1p", np.float64, F64_DENORMAL, F64_DENORMAL),
    ("log1p", np.float32, 3e38, None),
    ("expm1", None, 0.0, 0.0),
    ("expm1", None, -0.0, -0.0),
    ("expm1", None, 1e-30, 1e-30),
    ("expm1", None, -1e-30, -1e-30),
    ("expm1", None, INF, INF),
    ("expm1", None, -INF, -1.0),
    ("expm1", None, NAN, NAN),
    ("expm1", None, 1000.0, INF),
    ("expm1", None, -1000.0, -1.0),
    ("expm1", np.float32, 89.0, INF),
    ("expm1", np.float32, 88.72, None),
    ("expm1", np.float32, F32_DENORMAL, F32_DENORMAL),
    ("expm1", np.float64, F64_DENORMAL, F64_DENORMAL),
    ("tanh", None, 0.0, 0.0),
    ("tanh", None, -0.0, -0.0),
    ("tanh", None, 1e-30, 1e-30),
    ("tanh", None, -1e-30, -1e-30),
    ("tanh", None, INF, 1.0),
    ("tanh", None, -INF, -1.0),
    ("tanh", None, 25.0, 1.0),
    ("tanh", None, -1000.0, -1.0),
    ("tanh", None, NAN, NAN),
    ("tanh", np.float32, F32_DENORMAL, F32_DENORMAL),
    ("tanh", np.float64, -F64_DENORMAL, -F64_DENORMAL),
    ("sigmoid", None, 0.0, 0.5),
    ("sigmoid", None, -0.0, 0.5),
    ("sigmoid", None, INF, 1.0),
    ("sigmoid", None, -INF, 0.0),
    ("sigmoid", None, 1000.0, 1.0),
    ("sigmoid", None, -1000.0, 0.0),
    ("sigmoid", None, NAN, NAN),
    ("sigmoid", np.float32, -100.0, None),  # a denormal result
    ("softplus", None, INF, INF),
    ("softplus", None, -INF, 0.0),
    ("softplus", None, 1000.0, 1000.0),
    ("softplus", None, -1000.0, 0.0),
    ("softplus", None, 0.0, None),
    ("softplus", None, NAN, NAN),
    ("softplus", np.float32, -100.0, None),
    ("log1mexp", None, 0.0, -INF),
    ("log1mexp", None, -0.0, -INF),
    ("log1mexp", None, -INF, -0.0),
    ("log1mexp", None, INF, NAN),
    ("log1mexp", None, 1e-30, NAN),
    ("log1mexp", None, NAN, NAN),
    ("log1mexp", None, -1000.0, -0.0),
    ("log1mexp", None, -1e-30, None),
    ("log1mexp", None, -0.6931471805599453, None),  # where the two forms meet
    ("log1mexp", np.float32, -F32_DENORMAL, None),
    ("log1mexp", np.float64, -F64_DENORMAL, None),
    ("log1mexp", np.float32, -95.0, None),  # a denormal result
    ("erf", None, 0.0, 0.0),
    ("erf", None, -0.0, -0.0),
    ("erf", None, INF, 1.0),
    ("erf", None, -INF, -1.0),
    ("erf", None, 10.0, 1.0),
    ("erf", None, -10.0, -1.0),
    ("erf", None, NAN, NAN),
    ("erf", None, 1e-30, None),
    ("erf", np.float32, F32_DENORMAL, None),
]


def _special_cases() -> list:
    cases = []
    for name, dtype, x, expected in SPECIAL:
        for dt in DTYPES if dtype is None else (dtype,):
            cases.append(pytest.param(name, dt, x, expected, id=f"{name}-{np.dtype(dt).name}-{x!r}"))
    return cases


@pytest.mark.parametrize("name, dtype, x, expected", _special_cases())
def test_special_values(name: str, dtype: type, x: float, expected: float | None) -> None:
    xs = np.array([x, 0.5], dtype=dtype)  # two lanes: the value is not a loop of one
    got = compiled(name)(xs)[0]
    if expected is None:
        with np.errstate(all="ignore"):
            ref = REFERENCE[name](xs.astype(LD))[:1]
        err = float(ulp_errors(np.array([got]), ref, dtype)[0])
        assert err <= MAX_ULP[dtype], f"{name}({x!r}) = {got!r}, expected {ref[0]!r} ({err:.2f} ulp)"
        return
    exp_arr = np.array(expected, dtype=dtype)
    if np.isnan(exp_arr):
        assert np.isnan(got), f"{name}({x!r}) = {got!r}, expected NaN"
    else:
        assert got == exp_arr and np.signbit(got) == np.signbit(exp_arr), (
            f"{name}({x!r}) = {got!r}, expected {exp_arr!r}"
        )


def test_every_math_function_is_covered() -> None:
    from tensorir.lowering import mathfns

    # logaddexp is binary: its sweep is in tests/test_stable_ops.py; exp_term
    # is only called by the softmax family's sums (tests/test_nn.py)
    assert set(FUNCTIONS) == set(mathfns.__all__) - {"pow", "logaddexp", "exp_term"}
    assert set(FUNCTIONS) == set(REFERENCE)
    assert {name for name, *_ in SPECIAL} == set(FUNCTIONS)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_fused_loop_vectorises_without_libm_calls(dtype: type) -> None:
    """The math in a fused loop is inline arithmetic, so LLVM vectorises it."""

    @ti.jit
    def f(a, b):
        return ti.exp(a + b) * b - ti.tanh(a) + ti.log1p(ti.sigmoid(a)) + ti.softplus(b) - ti.expm1(a)

    a = np.linspace(-3, 3, 64).astype(dtype)
    optimized = str(optimize(f.lower(a, a).as_text("llvm-ir")))
    el = "float" if dtype == np.float32 else "double"
    calls = set(re.findall(r"call [^@]*@([A-Za-z_.0-9]+)", optimized))
    libm = {c for c in calls if re.fullmatch(r"(exp|log|tanh|expm1|log1p)f?", c)}
    assert not libm, f"scalar libm calls left in the loop: {libm}"
    assert re.search(rf"<\d+ x {el}>", optimized), "the fused loop was not vectorised"


def test_erf_f32_vectorises() -> None:
    @ti.jit
    def f(a):
        return ti.erf(a)

    a = np.linspace(-3, 3, 64).astype(np.float32)
    optimized = str(optimize(f.lower(a).as_text("llvm-ir")))
    assert "@erff" not in optimized
    assert re.search(r"<\d+ x float>", optimized)
