"""Every elementwise op of the op table against NumPy and the reference interpreter.

The op list is read from ``tensorir.dialects.OPS`` (family ``elementwise``):
an op added to the table without an entry in ``FRONTEND`` and ``NUMPY`` here
fails ``test_every_elementwise_op_is_tested``. For each op:

* every dtype it allows, on curated values (signed zeros, infinities, NaN,
  extremes), in one compiled function per dtype (``test_every_dtype``);
* hypothesis-drawn shapes with size-0 and size-1 dims, broadcasting between
  operands of different ranks, and values (``test_op_properties``).

Then NumPy's dtype promotion (weak Python scalars included) and the Python
operators on traced values. Inputs whose behaviour is undefined are avoided:
float -> int casts of NaN or out-of-range values, and integer overflow.

Compiling costs ~0.1 s per signature, so jitted functions are cached per op
(``ti.jit`` caches per signature) and example counts are modest.
"""

from __future__ import annotations

import math
import warnings
from functools import cache
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tensorir as ti
from conftest import assert_matches
from tensorir.dialects import OPS
from tensorir.dialects import elementwise as ew_table

DTYPES = ("bool", "int32", "int64", "float32", "float64")

FRONTEND: dict[str, Callable[..., Any]] = {
    "neg": ti.negative,
    "abs": ti.abs,
    "sign": ti.sign,
    "floor": ti.floor,
    "ceil": ti.ceil,
    "round": ti.rint,
    "exp": ti.exp,
    "log": ti.log,
    "log1p": ti.log1p,
    "expm1": ti.expm1,
    "sqrt": ti.sqrt,
    "rsqrt": ti.rsqrt,
    "tanh": ti.tanh,
    "sigmoid": ti.sigmoid,
    "softplus": ti.softplus,
    "log1mexp": ti.log1mexp,
    "sin": ti.sin,
    "cos": ti.cos,
    "erf": ti.erf,
    "not": ti.logical_not,
    "add": ti.add,
    "sub": ti.subtract,
    "mul": ti.multiply,
    "mul_nonan": ti.multiply_no_nan,
    "div": ti.divide,
    "floordiv": ti.floor_divide,
    "mod": ti.mod,
    "pow": ti.power,
    "maximum": ti.maximum,
    "minimum": ti.minimum,
    "logaddexp": ti.logaddexp,
    "eq": ti.equal,
    "ne": ti.not_equal,
    "lt": ti.less,
    "le": ti.less_equal,
    "gt": ti.greater,
    "ge": ti.greater_equal,
    "and": ti.logical_and,
    "or": ti.logical_or,
    "xor": ti.logical_xor,
    "select": ti.where,
    "cast": ti.astype,
}


def _in_float64(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: fn(x.astype(np.float64)).astype(x.dtype)


_erf64 = np.vectorize(math.erf, otypes=[np.float64])

# NumPy's own functions (not the op table's references), in the operand dtype.
NUMPY: dict[str, Callable[..., np.ndarray]] = {
    "neg": np.negative,
    "abs": np.abs,
    "sign": np.sign,
    "floor": np.floor,
    "ceil": np.ceil,
    "round": np.rint,
    "exp": np.exp,
    "log": np.log,
    "log1p": np.log1p,
    "expm1": np.expm1,
    "sqrt": np.sqrt,
    "rsqrt": lambda x: 1 / np.sqrt(x),
    "tanh": np.tanh,
    "sigmoid": _in_float64(lambda x: 1 / (1 + np.exp(-x))),
    "softplus": lambda x: np.logaddexp(x.dtype.type(0), x),
    "log1mexp": _in_float64(lambda x: np.where(x > -np.log(2), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))),
    "sin": np.sin,
    "cos": np.cos,
    "erf": _in_float64(_erf64),
    "not": np.logical_not,
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "mul_nonan": lambda x, y: np.where(x == 0, x.dtype.type(0), x * y),
    "div": np.divide,
    "floordiv": np.floor_divide,
    "mod": np.mod,
    "pow": np.power,
    "maximum": np.maximum,
    "minimum": np.minimum,
    "logaddexp": lambda x, y: np.logaddexp(x.astype(np.float64), y.astype(np.float64)).astype(x.dtype),
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
    "and": np.logical_and,
    "or": np.logical_or,
    "xor": np.logical_xor,
    "select": np.where,
    "cast": lambda x, dtype: x.astype(dtype),
}


def elementwise_ops() -> set[str]:
    return {name for name, op in OPS.items() if op.family == "elementwise"}


def allowed_dtypes(name: str) -> tuple[str, ...]:
    """dtypes of the operands an op accepts, read from the op table."""
    if name in ew_table.UNARY:
        return ew_table.UNARY[name][0]
    if name in ew_table.BINARY:
        return ew_table.BINARY[name][0]
    if name in ew_table.LOGICAL:
        return ("bool",)
    return DTYPES  # compare, select (branches), cast (source)


def arity(name: str) -> int:
    return 3 if name == "select" else 1 if name in ew_table.UNARY or name == "cast" else 2


def numpy_result(name: str, *args: Any) -> np.ndarray:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return np.asarray(NUMPY[name](*args))


def test_every_elementwise_op_is_tested() -> None:
    ops = elementwise_ops()
    assert set(FRONTEND) == ops, f"untested: {ops - set(FRONTEND)}; unknown: {set(FRONTEND) - ops}"
    assert set(NUMPY) == ops
    table = set(ew_table.UNARY) | set(ew_table.BINARY) | set(ew_table.COMPARE) | set(ew_table.LOGICAL)
    assert table | {"select", "cast"} == ops


# -- values -------------------------------------------------------------------

FLOAT_SPECIALS = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-30, -1e-30, 1e30, -1e30, np.inf, -np.inf, np.nan]


def _int_bound(name: str, dtype: str) -> int:
    """Largest magnitude for which ``name`` cannot overflow ``dtype``."""
    bits = 32 if dtype == "int32" else 64
    if name in ("add", "sub"):
        return 2 ** (bits - 2)
    if name == "mul":
        return 2 ** (bits // 2 - 1)
    if name == "pow":
        return 6
    return 2 ** (bits - 1) - 1  # never the minimum: -min overflows


def elements(name: str, dtype: str, position: int = 0) -> st.SearchStrategy:
    """Values of operand ``position`` of ``name`` where its behaviour is defined."""
    if dtype == "bool":
        return st.booleans()
    if dtype.startswith("int"):
        if name == "pow" and position == 1:
            return st.integers(0, 8)  # NumPy rejects negative integer powers
        bound = _int_bound(name, dtype)
        return st.integers(-bound, bound) | st.sampled_from([0, 1, -1])
    width = 32 if dtype == "float32" else 64
    if name == "cast":
        return st.floats(-1e6, 1e6, width=width)  # float -> int of NaN or out of range is undefined
    return st.floats(width=width) | st.sampled_from(FLOAT_SPECIALS)


def curated(name: str, dtype: str, position: int, n: int) -> np.ndarray:
    """Deterministic values of one operand: specials first, then a spread."""
    if dtype == "bool":
        base = [False, True, True, False, True, False, False, True]
    elif dtype.startswith("int"):
        bound = min(_int_bound(name, dtype), 10**6)
        if name == "pow" and position == 1:
            base = [0, 1, 2, 3, 5, 8, 0, 1]
        else:
            base = [0, 1, -1, 2, -7, bound, -bound, 13, 3, -3]
    elif name == "cast":
        base = [0.0, -0.0, 1.5, -1.5, 2.5, 1e6, -1e6, 0.49, 7.0]
    else:
        base = FLOAT_SPECIALS
    reps = -(-n // len(base))
    values = np.array(base * reps, dtype=dtype)[:n]
    # operands are misaligned so that binary ops meet every pair of values
    return np.roll(values, position * 3)


# -- every op on every dtype it allows -------------------------------------------


def _ops_for(dtype: str) -> list[str]:
    return sorted(name for name in elementwise_ops() if dtype in allowed_dtypes(name) and name != "cast")


def _operands(name: str, dtype: str, x: Any, y: Any, z: Any, c: Any, e: Any) -> tuple:
    """The operands ``name`` gets in ``test_every_dtype``: integer powers take ``e >= 0``."""
    if name == "select":
        return (c, y, z)
    if name == "pow" and dtype.startswith("int"):
        return (x, e)
    return (x,) if arity(name) == 1 else (x, y)


@cache
def _all_ops_function(dtype: str) -> ti.JitFunction:
    names = _ops_for(dtype)

    def every_op(x, y, z, c, e):
        return tuple(FRONTEND[name](*_operands(name, dtype, x, y, z, c, e)) for name in names)

    return ti.jit(every_op)


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype(dtype: str) -> None:
    """Every op on every dtype it accepts, on curated values, in one compile per dtype."""
    k = 14
    kind = "pow" if dtype.startswith("int") else "*"  # ints small enough for add, mul and pow alike
    x = np.tile(curated(kind, dtype, 0, k), k)
    y = np.repeat(curated(kind, dtype, 0, k), k)  # (x, y) meets every pair of k values
    z = curated(kind, dtype, 2, k * k)
    c = curated(kind, "bool", 1, k * k)
    e = curated("pow", dtype, 1, k * k) if dtype.startswith("int") else x
    names = _ops_for(dtype)
    f = _all_ops_function(dtype)
    got = f(x, y, z, c, e)
    for name, g in zip(names, got):
        args = _operands(name, dtype, x, y, z, c, e)
        expected = numpy_result(name, *args)
        assert g.dtype == expected.dtype, (name, dtype, g.dtype, expected.dtype)
        _assert_close(name, g, expected, args)
    assert_matches(f, x, y, z, c, e)
    _assert_traced(f, (x, y, z, c, e), names)


def _assert_close(name: str, got: np.ndarray, expected: np.ndarray, args: tuple) -> None:
    if got.dtype.kind == "f":
        rtol, atol = (2e-6, 1e-37) if got.dtype == np.float32 else (1e-14, 1e-300)
        if name in ("sin", "cos"):  # huge arguments: only NaN and |.| <= 1 are defined to agree
            ok = np.abs(args[0]) < 1e6
            got, expected = got[ok], expected[ok]
        if name == "logaddexp":  # a result near 0 cancels operands near -ln 2: error relative to them
            scale = np.maximum(np.abs(args[0]), np.abs(args[1])).astype(np.float64)
            atol = np.where(np.isfinite(scale), rtol * scale, 0.0) + atol
        bad = ~(np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True))
    else:
        bad = got != expected
    assert not bad.any(), (
        f"{name}: {[a[bad][:5] if np.ndim(a) else a for a in args]} -> got {got[bad][:5]}, "
        f"NumPy {expected[bad][:5]}"
    )


@pytest.mark.parametrize("src", DTYPES)
def test_cast_every_pair(src: str) -> None:
    targets = [d for d in DTYPES if d != src]

    @ti.jit
    def casts(x):
        return tuple(ti.astype(x, d) for d in targets)

    x = curated("cast", src, 0, 30)
    if src.startswith("int"):
        x = np.concatenate([x, np.array([2**31 - 1, -(2**31), 2**40 if src == "int64" else 5], src)])
    for d, g in zip(targets, casts(x)):
        expected = numpy_result("cast", x, d)
        assert g.dtype == np.dtype(d)
        _assert_close(f"cast {src}->{d}", g, expected, (x,))
    assert_matches(casts, x)
    _assert_traced(casts, (x,), ["cast"])


# -- hypothesis: shapes, broadcasting, values ------------------------------------

SIZES = st.sampled_from([2, 3, 0, 4])


@st.composite
def broadcast_shapes(draw: st.DrawFn, count: int) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    """Two instantiations of ``count`` broadcast-compatible operand shapes.

    Each operand keeps a suffix of the result's axes (ranks differ) and some
    of its dims are 1 (broadcast); the others are free, sized per result axis
    (possibly 0). Both instantiations share the pattern of 1s, hence the
    compiled signature, and differ only in the sizes of the free dims.
    """
    rank = draw(st.integers(0, 3))
    patterns = []
    for _ in range(count):
        r = draw(st.integers(0, rank))
        patterns.append([draw(st.booleans()) for _ in range(r)])  # True: a dim of 1
    instances = []
    for _ in range(2):
        sizes = [draw(SIZES) for _ in range(rank)]
        instances.append(
            [tuple(1 if one else sizes[rank - len(p) + k] for k, one in enumerate(p)) for p in patterns]
        )
    return instances[0], instances[1]


@cache
def _op_function(name: str, cast_to: str = "") -> ti.JitFunction:
    fn = FRONTEND[name]
    if name == "cast":
        return ti.jit(lambda x: fn(x, cast_to))
    return ti.jit(lambda *xs: fn(*xs))


def _assert_traced(f: ti.JitFunction, args: tuple, names: list[str]) -> None:
    """The frontend functions really built the ops under test."""
    text = f.lower(*args).as_text("tir")
    missing = [name for name in names if f'"tir.{name}"' not in text]
    assert not missing, f"{[FRONTEND[n].__name__ for n in missing]} did not build {missing}"


def _operand_dtypes(name: str, dtype: str) -> list[str]:
    if name == "select":
        return ["bool", dtype, dtype]
    return [dtype] * arity(name)


@pytest.mark.parametrize("name", sorted(elementwise_ops()))
@settings(max_examples=5)
@given(data=st.data())
def test_op_properties(name: str, data: st.DataObject) -> None:
    dtype = data.draw(st.sampled_from(allowed_dtypes(name)), label="dtype")
    cast_to = data.draw(st.sampled_from([d for d in DTYPES if d != dtype]), label="to") if name == "cast" else ""
    shapes_a, shapes_b = data.draw(broadcast_shapes(arity(name)), label="shapes")
    f = _op_function(name, cast_to)
    for first, shapes in ((True, shapes_a), (False, shapes_b)):
        dts = _operand_dtypes(name, dtype)
        args = [
            data.draw(hnp.arrays(np.dtype(dt), s, elements=elements(name, dt, i)), label=f"x{i}")
            for i, (dt, s) in enumerate(zip(dts, shapes))
        ]
        expected = numpy_result(name, *args, *([cast_to] if cast_to else []))
        # the reference interpreter once per example; the second shapes reuse the compile
        got = assert_matches(f, *args) if first else f(*args)
        assert got.shape == expected.shape
        assert got.dtype == expected.dtype, (name, got.dtype, expected.dtype)
        _assert_close(name, got, expected, tuple(args))


# -- NumPy's dtype promotion, weak Python scalars ------------------------------


def _array(dtype: str, n: int = 6) -> np.ndarray:
    values = {"bool": [True, False, True, True, False, True], "int32": [3, -2, 7, 1, 5, -4]}
    values["int64"] = values["int32"]
    values["float32"] = [1.5, -2.25, 3.0, 0.5, 7.75, -1.0]
    values["float64"] = values["float32"]
    return np.array(values[dtype][:n], dtype=dtype)


# (description, function of the arrays x and y, dtype of x, dtype of y)
PROMOTION: list[tuple[str, Callable[[Any, Any], Any], str, str]] = [
    ("f32 * 2.0 stays f32", lambda x, y: x * 2.0, "float32", "float32"),
    ("f32 + 1 stays f32", lambda x, y: x + 1, "float32", "float32"),
    ("1.0 - f32 stays f32", lambda x, y: 1.0 - x, "float32", "float32"),
    ("f32 / 2 stays f32", lambda x, y: x / 2, "float32", "float32"),
    ("f32 ** 2 stays f32", lambda x, y: x**2, "float32", "float32"),
    ("i32 + 1 stays i32", lambda x, y: x + 1, "int32", "int32"),
    ("2 * i32 stays i32", lambda x, y: 2 * x, "int32", "int32"),
    ("i32 * 0.5 is f64", lambda x, y: x * 0.5, "int32", "int32"),
    ("i32 / 2 is f64", lambda x, y: x / 2, "int32", "int32"),
    ("i64 / i64 is f64", lambda x, y: x / y, "int64", "int64"),
    ("i32 // 2.0 is f64", lambda x, y: x // 2.0, "int32", "int32"),
    ("i64 % 3 stays i64", lambda x, y: x % 3, "int64", "int64"),
    ("2 ** i32 stays i32", lambda x, y: 2 ** _mod_of(x).abs(x), "int32", "int32"),
    ("i32 + i64 is i64", lambda x, y: x + y, "int32", "int64"),
    ("f32 + i32 is f64", lambda x, y: x + y, "float32", "int32"),
    ("f32 + i64 is f64", lambda x, y: x + y, "float32", "int64"),
    ("f32 + f64 is f64", lambda x, y: x + y, "float32", "float64"),
    ("bool + bool stays bool", lambda x, y: x + y, "bool", "bool"),
    ("bool * bool stays bool", lambda x, y: x * y, "bool", "bool"),
    ("bool * i32 is i32", lambda x, y: x * y, "bool", "int32"),
    ("True + i32 stays i32", lambda x, y: True + y, "bool", "int32"),
    ("bool + 1.5 is f64", lambda x, y: x + 1.5, "bool", "bool"),
    ("bool - f32 is f32", lambda x, y: x - y, "bool", "float32"),
    ("3 > f32 is bool", lambda x, y: 3 > x, "float32", "float32"),
    ("f32 == 1 is bool", lambda x, y: x == 1, "float32", "float32"),
    ("i32 < i64 is bool", lambda x, y: x < y, "int32", "int64"),
    ("maximum(i32, 2.5) is f64", lambda x, y: _mod_of(x).maximum(x, 2.5), "int32", "int32"),
    ("where(c, f32, 0.0) stays f32", lambda x, y: _mod_of(x).where(x > 0, x, 0.0), "float32", "float32"),
    ("where(c, i32, 1.5) is f64", lambda x, y: _mod_of(x).where(x > 0, x, 1.5), "int32", "int32"),
    ("exp(i32) is f64", lambda x, y: _mod_of(x).exp(x), "int32", "int32"),
    ("sqrt(f32) stays f32", lambda x, y: _mod_of(x).sqrt(x), "float32", "float32"),
    ("abs(i64) stays i64", lambda x, y: abs(x), "int64", "int64"),
]


def _mod_of(x: Any) -> Any:
    """``ti`` for traced values, ``np`` for arrays: one expression serves both."""
    return ti if isinstance(x, ti.Variable) else np


@pytest.mark.parametrize("what, fn, dx, dy", PROMOTION, ids=[p[0] for p in PROMOTION])
def test_promotion_follows_numpy(what: str, fn: Callable[[Any, Any], Any], dx: str, dy: str) -> None:
    x, y = _array(dx), _array(dy)[::-1].copy()
    with np.errstate(all="ignore"):
        expected = np.asarray(fn(x, y))
    got = assert_matches(ti.jit(fn), x, y, expected=expected)
    assert got.dtype == expected.dtype, f"{what}: got {got.dtype}, NumPy gives {expected.dtype}"


@settings(max_examples=10)
@given(
    dx=st.sampled_from(DTYPES),
    other=st.sampled_from(DTYPES + ("py-bool", "py-int", "py-float")),
    op=st.sampled_from(["+", "-", "*", "<", "=="]),
    reflected=st.booleans(),
)
def test_random_promotions_follow_numpy(dx: str, other: str, op: str, reflected: bool) -> None:
    binop = {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "<": lambda a, b: a < b,
        "==": lambda a, b: a == b,
    }[op]
    scalar = {"py-bool": True, "py-int": 3, "py-float": 2.5}.get(other)
    x = _array(dx)
    if scalar is None:
        fn: Callable[..., Any] = (lambda a, b: binop(b, a)) if reflected else binop
        args: tuple = (x, _array(other)[::-1].copy())
    else:
        fn = (lambda a: binop(scalar, a)) if reflected else (lambda a: binop(a, scalar))
        args = (x,)
    with np.errstate(all="ignore"):
        try:
            expected = np.asarray(fn(*args))
        except TypeError:
            expected = None  # NumPy rejects it (boolean subtract): so must we
    if expected is None:
        with pytest.raises((TypeError, ti.TensorIRError)):
            ti.jit(fn)(*args)
        return
    got = assert_matches(ti.jit(fn), *args, expected=expected)
    assert got.dtype == expected.dtype, (dx, other, op, reflected, got.dtype, expected.dtype)


# -- Python operators on traced values ---------------------------------------------


def test_python_arithmetic_operators() -> None:
    def ops(x, y):
        return (
            x + y, x - y, x * y, x / y, x // y, x % y, x ** 2, -x, +x, abs(x),
            2 + x, 2 - x, 2 * x, 2 / y, 7 // y, 7 % y, 2.0 ** x,
            x < y, x <= y, x > y, x >= y, x == y, x != y, 0 < x,
        )  # fmt: skip

    f = ti.jit(ops)
    for dtype in ("float32", "int64"):
        x = _array(dtype)
        y = np.array([2, -3, 1, 4, -5, 2], dtype)
        with np.errstate(all="ignore"):
            expected = ops(x, y)
        got = assert_matches(f, x, y, expected=expected)
        for g, e in zip(got, expected):
            assert g.dtype == np.asarray(e).dtype, (dtype, g.dtype, np.asarray(e).dtype)


def test_python_bool_operators() -> None:
    def ops(a, b):
        return a & b, a | b, a ^ b, ~a, a & True, False | b, True ^ a, a == b, a != b

    a = np.array([True, False, True, False])
    b = np.array([True, True, False, False])
    got = assert_matches(ti.jit(ops), a, b, expected=ops(a, b))
    assert all(g.dtype == np.bool_ for g in got)


def test_boolean_subtract_is_rejected_as_in_numpy() -> None:
    a = np.array([True, False])
    with pytest.raises(TypeError):
        np.subtract(a, a)
    with pytest.raises(ti.DTypeError, match="bool"):
        ti.jit(lambda x, y: x - y)(a, a)


def test_bitwise_operators_on_numbers_are_rejected() -> None:
    with pytest.raises(ti.TracerError, match="bool arrays only"):
        ti.jit(lambda x: x & x)(np.arange(3))
    with pytest.raises(ti.TracerError, match="bool arrays only"):
        ti.jit(lambda x: ~x)(np.arange(3.0))


# -- named regressions ------------------------------------------------------------


def test_float_floor_divide_follows_numpy_not_floor_of_quotient() -> None:
    """``1.0 // 0.1`` is 9 in NumPy (and Python), ``floor(1.0 / 0.1)`` is 10."""
    f = ti.jit(lambda a, b: (a // b, a % b))
    a = np.array([1.0, np.inf, -4.0, 5.0, -0.0, 1.0])
    b = np.array([0.1, 2.0, 2.0, -0.0, 3.0, -np.inf])
    with np.errstate(all="ignore"):
        q, m = np.floor_divide(a, b), np.mod(a, b)
    got_q, got_m = assert_matches(f, a, b, expected=(q, m))
    for g, e in ((got_q, q), (got_m, m)):
        same = ((g == e) & (np.signbit(g) == np.signbit(e))) | (np.isnan(g) & np.isnan(e))
        assert same.all(), (g, e)


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_integer_division_of_the_minimum_by_minus_one_does_not_trap(dtype: str) -> None:
    # regression: floordivsi/remsi of INT_MIN by -1 raised SIGFPE and killed the process
    lo = np.iinfo(dtype).min
    a = np.array([lo, lo, 7, -7, 5], dtype)
    b = np.array([-1, 1, -1, -1, 0], dtype)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(ti.jit(ti.floor_divide)(a, b), np.floor_divide(a, b))
        np.testing.assert_array_equal(ti.jit(ti.remainder)(a, b), np.remainder(a, b))
