"""Shape ops and value constructors: constant, dim, and the layout ops.

Free dimensions flow through IR as ``index`` values made by ``tir.dim``; an
op whose result has a free dim that no operand determines (``tir.full`` of
a shape taken from another tensor, ``tir.broadcast_to``, ``tir.reshape``)
takes those dims as trailing variadic ``index`` operands, one per ``-1``
entry of its static ``shape`` attribute, as ``tensor.empty`` does.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import DTypeError, ShapeError
from .optable import OpDef
from .types import Dim, Sym, TensorType

__all__ = ["OPS"]


def _constant_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    value = np.asarray(attrs["value"])
    return TensorType(value.dtype.name, tuple(value.shape))


def _dim_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    (t,) = types
    axis = attrs["axis"]
    if not 0 <= axis < t.rank:
        raise ShapeError(f"tir.dim axis {axis} is out of range for rank {t.rank}")
    return TensorType("index", ())


def _dim_ref(x: np.ndarray, axis: int) -> int:
    return int(x.shape[axis])


def shape_from_attr(shape: Sequence[int], dims: Sequence[TensorType], sym_dims: Sequence[Dim] | None = None) -> tuple[Dim, ...]:
    """The result shape of an op with a ``shape`` attribute and dim operands."""
    n_dyn = sum(1 for d in shape if d == -1)
    if n_dyn != len(dims):
        raise ShapeError(f"shape {tuple(shape)} has {n_dyn} free dims but {len(dims)} index operands were given")
    for t in dims:
        if t.dtype != "index":
            raise DTypeError(f"dim operands must be index values, found {t}")
    it = iter(sym_dims) if sym_dims is not None else None
    return tuple((next(it) if it is not None else Sym.fresh()) if d == -1 else d for d in shape)


def _full_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    return TensorType(attrs["dtype"], shape_from_attr(attrs["shape"], types))


def _full_ref(*dims: int, shape: Sequence[int], dtype: str, value: float) -> np.ndarray:
    it = iter(dims)
    concrete = tuple(next(it) if d == -1 else d for d in shape)
    return np.full(concrete, value, dtype=dtype)


OPS: list[OpDef] = [
    OpDef(
        "constant",
        (),
        {"value": "dense"},
        _constant_rule,
        lambda value: np.array(value),
        "shape",
        False,
        "a constant array",
    ),
    OpDef(
        "dim",
        ("x",),
        {"axis": "int"},
        _dim_rule,
        _dim_ref,
        "shape",
        False,
        "size of one axis, as an index value",
    ),
    OpDef(
        "full",
        ("*dims",),
        {"shape": "ints", "dtype": "dtype", "value": "float"},
        _full_rule,
        _full_ref,
        "shape",
        False,
        "an array of one value; -1 in shape takes the next dim operand",
    ),
]
