"""Linear algebra ops: matmul (matrix-matrix, matrix-vector, batched).

``tir.matmul(a, b)`` has NumPy's ``matmul`` semantics:

* ``(K,) @ (K,) -> ()``: the dot product;
* ``(M, K) @ (K,) -> (M,)`` and ``(K,) @ (K, N) -> (N,)``;
* ``(..., M, K) @ (..., K, N) -> (..., M, N)``, the batch dims (all but the
  last two) broadcast as elementwise ops do; a 1-D operand takes part as a
  matrix of one row (first operand) or one column (second operand) whose unit
  axis is dropped from the result.

Both operands share one dtype (the frontend promotes); scalars are refused
(NumPy refuses them too: use ``multiply``).

``tir.outer(a, b)`` of two 1-D operands is ``a[:, None] * b[None, :]``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import DTypeError, ShapeError
from .elementwise import broadcast_shapes
from .optable import OpDef
from .types import FLOAT_DTYPES, INT_DTYPES, Dim, Sym, TensorType, require_equal

__all__ = ["OPS", "MATMUL_DTYPES", "matmul_shape"]

MATMUL_DTYPES = INT_DTYPES + FLOAT_DTYPES


def _fmt(shape: Sequence[Dim]) -> str:
    """A shape as the user reads it, ``?`` for dims known only at call time."""
    dims = ["?" if isinstance(d, Sym) else str(d) for d in shape]
    return "(" + ", ".join(dims) + (",)" if len(dims) == 1 else ")")


def matmul_shape(a: Sequence[Dim], b: Sequence[Dim]) -> tuple[Dim, ...]:
    """Result shape of ``a @ b`` (NumPy rules); records call-time checks.

    Raises ShapeError for scalar operands, for contracted dims that differ
    (at once when both are static, at call time otherwise) and for batch
    dims that do not broadcast.
    """
    if len(a) == 0 or len(b) == 0:
        raise ShapeError(
            f"matmul needs operands of rank >= 1, found shapes {_fmt(a)} and {_fmt(b)}; "
            "use multiply (*) to scale by a scalar"
        )
    ka = a[-1]
    kb = b[-2] if len(b) >= 2 else b[0]
    b_axis = "second-to-last" if len(b) >= 2 else "only"
    why = (
        f"matmul of shapes {_fmt(a)} and {_fmt(b)}: the last axis of the first operand "
        f"must have the size of the {b_axis} axis of the second"
    )
    require_equal(ka, kb, why)
    batch = broadcast_shapes(a[:-2], b[:-2], what=f"the batch dims of matmul operands {_fmt(a)} and {_fmt(b)}")
    rows = (a[-2],) if len(a) >= 2 else ()
    cols = (b[-1],) if len(b) >= 2 else ()
    return tuple(batch) + rows + cols


def _matmul_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    a, b = types
    if a.dtype != b.dtype:
        raise DTypeError(f"tir.matmul needs operands of one dtype, found {a.dtype} and {b.dtype}")
    if a.dtype not in MATMUL_DTYPES:
        raise DTypeError(
            f"matmul of dtype {a.dtype} is not supported; expected one of {', '.join(MATMUL_DTYPES)} "
            "(cast bool operands with .astype(np.int64))"
        )
    return TensorType(a.dtype, matmul_shape(a.shape, b.shape))


def _outer_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    a, b = types
    if a.dtype != b.dtype:
        raise DTypeError(f"tir.outer needs operands of one dtype, found {a.dtype} and {b.dtype}")
    if a.dtype not in MATMUL_DTYPES:
        raise DTypeError(f"outer of dtype {a.dtype} is not supported; expected one of {', '.join(MATMUL_DTYPES)}")
    if a.rank != 1 or b.rank != 1:
        raise ShapeError(f"tir.outer needs two 1-D operands, found shapes {_fmt(a.shape)} and {_fmt(b.shape)}")
    return TensorType(a.dtype, (a.shape[0], b.shape[0]))


def _matmul_reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(np.matmul(a, b)).astype(a.dtype, copy=False)


OPS: list[OpDef] = [
    # matmul(a, b) = np.matmul(a, b)
    OpDef(
        "matmul",
        ("a", "b"),
        {},
        _matmul_rule,
        _matmul_reference,
        "linalg",
        True,
        "NumPy matmul: dot, matrix-vector, matrix-matrix, batched with broadcast batch dims",
    ),
    # outer(a, b)[i, j] = a[i] * b[j]
    OpDef(
        "outer",
        ("a", "b"),
        {},
        _outer_rule,
        lambda a, b: np.outer(a, b).astype(a.dtype, copy=False),
        "linalg",
        True,
        "outer product of two vectors",
    ),
]
