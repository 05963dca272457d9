"""NumPy-named reductions: sum, mean, prod, max, min, argmax, argmin, any, all."""

from __future__ import annotations

from typing import Any

from .core import as_variable, cast, normalize_axes
from .dtypes import canonical_dtype, float_dtype_for
from .graph import Variable, apply

__all__ = ["sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "any", "all"]


def _reduce(op: str, x: Any, axis: Any, keepdims: bool, dtype: Any = None) -> Variable:
    v = as_variable(x)
    if dtype is not None:
        v = cast(v, canonical_dtype(dtype, "dtype"))
    axes = normalize_axes(axis, v.ndim)
    return apply(op, [v], {"axes": axes, "keepdims": bool(keepdims)})


def sum(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> Variable:  # noqa: A001
    """Sum over ``axis`` (all axes by default); bool and int32 sum as int64 as NumPy does."""
    v = as_variable(x)
    if dtype is None and v.type.dtype in ("bool", "int32"):
        dtype = "int64"
    return _reduce("sum", v, axis, keepdims, dtype)


def prod(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> Variable:
    v = as_variable(x)
    if dtype is None and v.type.dtype in ("bool", "int32"):
        dtype = "int64"
    return _reduce("prod", v, axis, keepdims, dtype)


def mean(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> Variable:
    """Arithmetic mean; integer inputs average in float64 (as NumPy)."""
    v = as_variable(x)
    if dtype is None:
        dtype = float_dtype_for(v.type.dtype)
    return _reduce("mean", v, axis, keepdims, dtype)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:  # noqa: A001
    return _reduce("max", x, axis, keepdims)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:  # noqa: A001
    return _reduce("min", x, axis, keepdims)


amax = max
amin = min


def argmax(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:
    """Index of the first maximum along ``axis`` (of the flattened array for None)."""
    return _reduce("argmax", x, axis, keepdims)


def argmin(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:
    return _reduce("argmin", x, axis, keepdims)


def any(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:  # noqa: A001
    return _reduce("max", cast(as_variable(x), "bool"), axis, keepdims)


def all(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:  # noqa: A001
    return _reduce("min", cast(as_variable(x), "bool"), axis, keepdims)
