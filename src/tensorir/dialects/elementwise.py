"""Elementwise ops: arithmetic, math functions, comparisons, logic, select, cast.

Binary and ternary ops broadcast their operands as NumPy does (shapes aligned
on the right; a dim broadcasts only when it is statically 1). Operands of an
arithmetic op share one dtype: the frontend inserts ``tir.cast`` to apply
NumPy's promotion rules before building the op.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import DTypeError, ShapeError
from .optable import OpDef
from .types import FLOAT_DTYPES, INT_DTYPES, Dim, TensorType, require_equal

__all__ = ["OPS", "broadcast_shapes", "UNARY", "BINARY", "COMPARE", "LOGICAL"]


def broadcast_shapes(*shapes: Sequence[Dim], what: str = "operands") -> tuple[Dim, ...]:
    """NumPy broadcasting of shapes whose free dims are never 1 at run time."""
    rank = max((len(s) for s in shapes), default=0)
    out: list[Dim] = []
    for axis in range(rank):
        dim: Dim = 1
        for s in shapes:
            k = axis - (rank - len(s))
            if k < 0:
                continue
            d = s[k]
            if d == 1:
                continue
            if dim == 1:
                dim = d
            else:
                try:
                    dim = require_equal(
                        dim, d, f"{what} cannot be broadcast together on axis {axis - rank}"
                    )
                except ShapeError:
                    raise ShapeError(
                        f"{what} with shapes {_fmt(shapes)} cannot be broadcast together: "
                        f"axis {axis - rank} has sizes {dim} and {d}; sizes must be equal or 1"
                    ) from None
        out.append(dim)
    return tuple(out)


def _fmt(shapes: Sequence[Sequence[Dim]]) -> str:
    return ", ".join("(" + ", ".join(str(d) for d in s) + (",)" if len(s) == 1 else ")") for s in shapes)


def _same_dtype(types: Sequence[TensorType], op: str) -> str:
    dtypes = {t.dtype for t in types}
    if len(dtypes) != 1:
        raise DTypeError(f"tir.{op} needs operands of one dtype, found {sorted(dtypes)}")
    return dtypes.pop()


def _binary_rule(allowed: tuple[str, ...], result: str | None = None):
    def rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
        dtype = _same_dtype(types, "binary op")
        if dtype not in allowed:
            raise DTypeError(f"operands of dtype {dtype} are not supported here; expected one of {allowed}")
        shape = broadcast_shapes(*(t.shape for t in types))
        return TensorType(result or dtype, shape)

    return rule


def _unary_rule(allowed: tuple[str, ...], result: str | None = None):
    def rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
        (t,) = types
        if t.dtype not in allowed:
            raise DTypeError(f"operand of dtype {t.dtype} is not supported here; expected one of {allowed}")
        return TensorType(result or t.dtype, t.shape)

    return rule


def _select_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    cond, a, b = types
    if cond.dtype != "bool":
        raise DTypeError(f"tir.select needs a bool condition, found {cond.dtype}")
    dtype = _same_dtype([a, b], "select")
    return TensorType(dtype, broadcast_shapes(cond.shape, a.shape, b.shape))


def _cast_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    (t,) = types
    return TensorType(attrs["dtype"], t.shape)


NUMERIC = INT_DTYPES + FLOAT_DTYPES
ALL = ("bool",) + NUMERIC
FLOAT = FLOAT_DTYPES


def _errstate(fn):
    def wrapped(*args: Any, **kw: Any) -> Any:
        with np.errstate(all="ignore"):
            return fn(*args, **kw)

    wrapped.__name__ = getattr(fn, "__name__", "ref")
    return wrapped


def _same(ref):
    """Keep the operand dtype (NumPy may widen int results of some ufuncs)."""

    def wrapped(x: np.ndarray, *rest: np.ndarray, **kw: Any) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(ref(x, *rest)).astype(x.dtype, copy=False)

    return wrapped


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def _softplus(x: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.logaddexp(np.zeros((), x.dtype), x)


_erf_scalar = np.frompyfunc(math.erf, 1, 1)


def _log1mexp(x: np.ndarray) -> np.ndarray:
    """Mächler's form: ``log(-expm1(x))`` above ``-ln 2``, ``log1p(-exp(x))`` below."""
    with np.errstate(all="ignore"):
        near_zero = x > np.asarray(-math.log(2.0), x.dtype)
        return np.where(near_zero, np.log(-np.expm1(x)), np.log1p(-np.exp(x))).astype(x.dtype)


def _erf(x: np.ndarray) -> np.ndarray:
    return np.asarray(_erf_scalar(x.astype(np.float64)), dtype=np.float64).astype(x.dtype)


def _int_floordiv(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.floor_divide(a, np.where(b == 0, 1, b)) * (b != 0)


def _int_mod(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.mod(a, np.where(b == 0, 1, b)) * (b != 0)


def _floordiv(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _int_floordiv(a, b) if a.dtype.kind in "iu" else _errstate(np.floor_divide)(a, b)


def _mod(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _int_mod(a, b) if a.dtype.kind in "iu" else _errstate(np.mod)(a, b)


def _mul_nonan(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x * y`` with an exact 0 wherever ``x == 0``, whatever ``y`` is (inf, NaN)."""
    with np.errstate(all="ignore"):
        return np.where(x == 0, np.zeros((), x.dtype), x * y).astype(x.dtype, copy=False)


def _int_pow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind in "iu":
        # negative integer powers: 0 (as C does for |a| > 1), matching the lowering
        with np.errstate(all="ignore"):
            safe = np.power(a, np.maximum(b, 0))
            neg = np.where(a == 1, 1, np.where(a == -1, np.where(b % 2 == 0, 1, -1), 0))
            return np.where(b < 0, neg, safe).astype(a.dtype)
    return _errstate(np.power)(a, b)


# name -> (allowed dtypes, reference, differentiable, doc)
UNARY: dict[str, tuple[tuple[str, ...], Any, bool, str]] = {
    "neg": (NUMERIC, _same(np.negative), True, "-x"),
    "abs": (NUMERIC, _same(np.abs), True, "|x|; d/dx at 0 is 0"),
    "sign": (NUMERIC, _same(np.sign), False, "-1, 0 or 1 (NaN for NaN)"),
    "floor": (FLOAT, _errstate(np.floor), False, "largest integer <= x"),
    "ceil": (FLOAT, _errstate(np.ceil), False, "smallest integer >= x"),
    "round": (FLOAT, _errstate(np.rint), False, "nearest integer, ties to even"),
    "exp": (FLOAT, _errstate(np.exp), True, "e**x"),
    "log": (FLOAT, _errstate(np.log), True, "natural logarithm"),
    "log1p": (FLOAT, _errstate(np.log1p), True, "log(1 + x), accurate for small x"),
    "expm1": (FLOAT, _errstate(np.expm1), True, "exp(x) - 1, accurate for small x"),
    "sqrt": (FLOAT, _errstate(np.sqrt), True, "square root"),
    "rsqrt": (FLOAT, _errstate(lambda x: (1 / np.sqrt(x)).astype(x.dtype)), True, "1 / sqrt(x)"),
    "tanh": (FLOAT, _errstate(np.tanh), True, "hyperbolic tangent"),
    "sigmoid": (FLOAT, _sigmoid, True, "1 / (1 + exp(-x))"),
    "softplus": (FLOAT, _softplus, True, "log(1 + exp(x))"),
    "log1mexp": (FLOAT, _log1mexp, True,
                 "log(1 - exp(x)) for x <= 0, accurate over the whole range (-inf at 0, NaN above)"),
    "sin": (FLOAT, _errstate(np.sin), True, "sine"),
    "cos": (FLOAT, _errstate(np.cos), True, "cosine"),
    "erf": (FLOAT, _erf, True, "error function"),
    "not": (("bool",), np.logical_not, False, "logical not"),
}

BINARY: dict[str, tuple[tuple[str, ...], Any, bool, str]] = {
    "add": (NUMERIC, _errstate(np.add), True, "x + y"),
    "sub": (NUMERIC, _errstate(np.subtract), True, "x - y"),
    "mul": (NUMERIC, _errstate(np.multiply), True, "x * y"),
    "div": (FLOAT, _errstate(np.divide), True, "x / y (true division)"),
    "mul_nonan": (FLOAT, _mul_nonan, True,
                  "x * y, but 0 wherever x is 0 (even if y is inf or NaN): how gradient rules scale a "
                  "cotangent, so a branch not taken contributes an exact zero"),
    "floordiv": (NUMERIC, _floordiv, False, "floor(x / y); integer division by 0 gives 0"),
    "mod": (NUMERIC, _mod, False, "x - floor(x / y) * y; integer modulo by 0 gives 0"),
    "pow": (NUMERIC, _int_pow, True, "x ** y"),
    "maximum": (NUMERIC, _errstate(np.maximum), True, "larger of x and y (NaN propagates); ties split the gradient"),
    "minimum": (NUMERIC, _errstate(np.minimum), True, "smaller of x and y (NaN propagates); ties split the gradient"),
    "logaddexp": (FLOAT, _errstate(np.logaddexp), True,
                  "log(exp(x) + exp(y)) without overflow; x + log 2 where x == y (equal infinities included)"),
}

COMPARE: dict[str, Any] = {
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}

LOGICAL: dict[str, Any] = {
    "and": np.logical_and,
    "or": np.logical_or,
    "xor": np.logical_xor,
}


def _table() -> list[OpDef]:
    ops: list[OpDef] = []
    for name, (allowed, ref, diff, doc) in UNARY.items():
        ops.append(OpDef(name, ("x",), {}, _unary_rule(allowed), ref, "elementwise", diff, doc))
    for name, (allowed, ref, diff, doc) in BINARY.items():
        ops.append(OpDef(name, ("x", "y"), {}, _binary_rule(allowed), ref, "elementwise", diff, doc))
    for name, ref in COMPARE.items():
        ops.append(
            OpDef(name, ("x", "y"), {}, _binary_rule(ALL, "bool"), ref, "elementwise", False, f"x {name} y")
        )
    for name, ref in LOGICAL.items():
        ops.append(
            OpDef(name, ("x", "y"), {}, _binary_rule(("bool",)), ref, "elementwise", False, f"logical {name}")
        )
    ops.append(
        OpDef(
            "select",
            ("cond", "x", "y"),
            {},
            _select_rule,
            lambda c, a, b: np.where(c, a, b),
            "elementwise",
            True,
            "where(cond, x, y); the branch not taken gets a zero gradient",
        )
    )
    ops.append(
        OpDef(
            "cast",
            ("x",),
            {"dtype": "dtype"},
            _cast_rule,
            _cast_reference,
            "elementwise",
            True,
            "convert to dtype; float to int truncates toward zero (NaN or out of range: undefined)",
        )
    )
    return ops


def _cast_reference(x: np.ndarray, dtype: str) -> np.ndarray:
    # float -> int of NaN or of a value out of range is undefined, as in NumPy
    with np.errstate(all="ignore"):
        return x.astype(dtype)


OPS: list[OpDef] = _table()
