"""NumPy-named linear algebra: matmul, dot, vdot, outer.

All of them promote their operands to one dtype as NumPy does (an int array
times a float array computes in float) and build ``tir.matmul`` (plus
``tir.outer``). Float contractions run in OpenBLAS.

>>> import numpy as np, tensorir as ti
>>> @ti.jit
... def f(a, b):
...     return a @ b
>>> f(np.ones((2, 3)), np.ones(3))
array([3., 3.])
"""

from __future__ import annotations

from typing import Any

from ..errors import DTypeError, UnsupportedError
from .core import as_variable, promote_all
from .graph import Variable, apply

__all__ = ["matmul", "dot", "vdot", "outer"]


def _operands(a: Any, b: Any, what: str) -> tuple[Variable, Variable]:
    x, y = promote_all([a, b], f"operands of {what}")
    if x.type.dtype == "bool":  # NumPy: bool @ bool is logical; tir computes in int64
        raise DTypeError(
            f"{what} of bool arrays is not supported; cast them with .astype(np.int64) first"
        )
    return x, y


def matmul(a: Any, b: Any) -> Variable:
    """``a @ b`` with NumPy's ``matmul`` rules.

    1-D @ 1-D is the dot product (a 0-d result); a 1-D operand acts as a row
    (first) or column (second) vector whose axis is dropped from the result;
    operands of rank > 2 are stacks of matrices whose batch dims broadcast.
    The contracted sizes must agree: checked while tracing when both are
    known, on every call otherwise (ShapeError naming both arguments).

    >>> import numpy as np, tensorir as ti
    >>> ti.jit(lambda a, b: ti.matmul(a, b))(np.ones((4, 2, 3)), np.ones((3, 5))).shape
    (4, 2, 5)
    """
    x, y = _operands(a, b, "matmul")
    return apply("matmul", [x, y])


def dot(a: Any, b: Any) -> Variable:
    """NumPy's ``dot`` for operands of rank <= 2 (scalars multiply).

    For N-D operands NumPy's ``dot`` contracts the last axis of ``a`` with the
    second-to-last of ``b`` over all pairs of stacks, which is rarely meant;
    tensorir refuses it: use ``matmul`` (stacks broadcast) instead.

    >>> import numpy as np, tensorir as ti
    >>> float(ti.jit(ti.dot)(np.arange(3.0), np.arange(3.0)))
    5.0
    """
    x, y = _operands(a, b, "dot")
    if x.ndim == 0 or y.ndim == 0:
        return x * y
    if x.ndim > 2 or y.ndim > 2:
        raise UnsupportedError(
            f"dot of operands of rank {x.ndim} and {y.ndim} is not supported (rank <= 2 only); "
            "use matmul (a @ b) for stacks of matrices"
        )
    return apply("matmul", [x, y])


def vdot(a: Any, b: Any) -> Variable:
    """Dot product of the flattened operands (real dtypes: no conjugation).

    Both operands must be 1-D (flatten them first); sizes must agree.
    """
    x, y = _operands(a, b, "vdot")
    if x.ndim != 1 or y.ndim != 1:
        raise UnsupportedError(
            f"vdot of operands of rank {x.ndim} and {y.ndim} is not supported; "
            "pass 1-D arrays (use .ravel() first)"
        )
    return apply("matmul", [x, y])


def outer(a: Any, b: Any) -> Variable:
    """Outer product of two 1-D arrays: ``out[i, j] = a[i] * b[j]`` (NumPy ``outer``)."""
    x, y = (as_variable(v, "operands of outer") for v in (a, b))
    if x.ndim != 1 or y.ndim != 1:
        raise UnsupportedError(
            f"outer of operands of rank {x.ndim} and {y.ndim} is not supported; "
            "pass 1-D arrays (use .ravel() first)"
        )
    x, y = _operands(x, y, "outer")
    return apply("outer", [x, y])
