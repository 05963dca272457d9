"""Reductions over a set of axes: sum, mean, prod, max, min, argmax, argmin.

``axes`` is a sorted tuple of distinct non-negative axes (the frontend
normalises ``None`` and negative axes); ``keepdims`` keeps reduced axes as
size 1. ``argmax``/``argmin`` over several axes give the index into those
axes flattened in row-major order (one axis: NumPy's result); ties pick the
first occurrence and NaN counts as the maximum (minimum), as in NumPy.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import DTypeError, ShapeError
from .optable import OpDef
from .types import FLOAT_DTYPES, INT_DTYPES, TensorType, dim_min, require_equal

__all__ = ["OPS", "REDUCTIONS", "reduced_shape"]


def reduced_shape(shape: Sequence[Any], axes: Sequence[int], keepdims: bool) -> tuple:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _check_axes(t: TensorType, axes: Sequence[int], op: str) -> None:
    if list(axes) != sorted(set(axes)) or any(not 0 <= a < t.rank for a in axes):
        raise ShapeError(
            f"tir.{op} needs sorted, distinct axes in [0, {t.rank}) for an operand of rank {t.rank}; "
            f"found {tuple(axes)}"
        )


def _rule(allowed: tuple[str, ...], result: str | None = None, nonempty: bool = False):
    def rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
        (t,) = types
        if t.dtype not in allowed:
            raise DTypeError(f"reduction of dtype {t.dtype} is not supported; expected one of {allowed}")
        _check_axes(t, attrs["axes"], "reduce")
        if nonempty:
            for a in attrs["axes"]:
                if t.shape[a] == 0:
                    raise ShapeError(
                        f"cannot take the maximum, minimum or arg of an empty axis {a} "
                        f"(shape {t.shape}): the reduction has no identity"
                    )
                # a free dim is checked when the function is called: min(n, 1) == 1 iff n > 0
                require_equal(
                    dim_min(t.shape[a], 1),
                    1,
                    f"the maximum, minimum or arg over axis {a} needs a non-empty axis "
                    "(the reduction has no identity)",
                )
        return TensorType(result or t.dtype, reduced_shape(t.shape, attrs["axes"], attrs["keepdims"]))

    return rule


def _ref(fn):
    def ref(x: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(fn(x, axis=tuple(axes), keepdims=keepdims)).astype(x.dtype, copy=False)

    return ref


def _arg_ref(fn):
    def ref(x: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
        rest = [i for i in range(x.ndim) if i not in axes]
        moved = np.transpose(x, rest + list(axes))
        kept = moved.shape[: len(rest)]
        flat = moved.reshape(kept + (int(np.prod([x.shape[a] for a in axes])),))  # -1 fails on size 0
        out = fn(flat, axis=-1).astype(np.int64)
        if keepdims:
            out = out.reshape(tuple(1 if i in axes else x.shape[i] for i in range(x.ndim)))
        return out

    return ref


NUMERIC = ("bool",) + INT_DTYPES + FLOAT_DTYPES

# name -> (allowed dtypes, result dtype, reference, differentiable, needs non-empty, doc)
REDUCTIONS: dict[str, tuple[tuple[str, ...], str | None, Any, bool, bool, str]] = {
    "sum": (INT_DTYPES + FLOAT_DTYPES, None, _ref(np.sum), True, False, "sum over axes"),
    "prod": (INT_DTYPES + FLOAT_DTYPES, None, _ref(np.prod), True, False, "product over axes"),
    "mean": (FLOAT_DTYPES, None, _ref(np.mean), True, False, "arithmetic mean over axes (NaN if empty)"),
    "max": (NUMERIC, None, _ref(np.max), True, True, "maximum over axes; ties share the gradient"),
    "min": (NUMERIC, None, _ref(np.min), True, True, "minimum over axes; ties share the gradient"),
    "argmax": (NUMERIC, "int64", _arg_ref(np.argmax), False, True, "index of the first maximum"),
    "argmin": (NUMERIC, "int64", _arg_ref(np.argmin), False, True, "index of the first minimum"),
}

OPS: list[OpDef] = [
    OpDef(
        name,
        ("x",),
        {"axes": "ints", "keepdims": "bool"},
        _rule(allowed, result, nonempty),
        ref,
        "reduce",
        diff,
        doc,
    )
    for name, (allowed, result, ref, diff, nonempty, doc) in REDUCTIONS.items()
]
