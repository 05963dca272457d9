"""NumPy-named reductions: sum, mean, prod, max, min, argmax, argmin, any, all,
and ``logsumexp`` (SciPy's name).

``max``/``min``/``argmax``/``argmin`` of an empty axis have no identity: a
static empty axis fails when traced and a free one when the compiled function
is called, both with :class:`~tensorir.ShapeError`. ``any``/``all`` of an
empty axis are False/True, as in NumPy.
"""

from __future__ import annotations

import builtins
from typing import Any

from .core import as_variable, cast, normalize_axes
from . import ops_elementwise as ew
from .dtypes import canonical_dtype, float_dtype_for
from .graph import Variable, apply

__all__ = ["sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "any", "all", "logsumexp"]


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


def _count_true(x: Variable, axis: Any, keepdims: bool) -> Variable:
    return _reduce("sum", cast(x, "int64"), axis, keepdims)


def _surely_nonempty(x: Variable, axis: Any) -> bool:
    """Every axis reduced over is statically non-empty (so max/min need no identity)."""
    axes = normalize_axes(axis, x.ndim)
    return builtins.all(isinstance(x.shape[a], int) and x.shape[a] > 0 for a in axes)


def any(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:  # noqa: A001
    """Is any element true along ``axis``? False over an empty axis, as NumPy.

    >>> import numpy as np, tensorir as ti
    >>> ti.jit(lambda x: ti.any(x > 0, axis=0))(np.zeros((0, 2)))
    array([False, False])
    """
    v = cast(as_variable(x), "bool")
    if _surely_nonempty(v, axis):
        return _reduce("max", v, axis, keepdims)
    return ew.not_equal(_count_true(v, axis, keepdims), 0)


def all(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:  # noqa: A001
    """Is every element true along ``axis``? True over an empty axis, as NumPy."""
    v = cast(as_variable(x), "bool")
    if _surely_nonempty(v, axis):
        return _reduce("min", v, axis, keepdims)
    return ew.equal(_count_true(ew.logical_not(v), axis, keepdims), 0)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:
    """``log(sum(exp(x)))`` over ``axis``, computed with the max shift (never overflows).

    Integers are computed in float64. A slice that is all ``-inf`` (or empty)
    gives ``-inf``; one holding ``+inf`` gives ``+inf`` (as ``scipy.special``).

    >>> import numpy as np, tensorir as ti
    >>> float(ti.jit(ti.logsumexp)(np.array([1000.0, 1000.0])))  # 1000 + log(2)
    1000.6931471805599
    """
    v = as_variable(x)
    v = cast(v, float_dtype_for(v.type.dtype))
    axes = normalize_axes(axis, v.ndim)
    return apply("logsumexp", [v], {"axes": axes, "keepdims": bool(keepdims)})
