"""dtypes the frontend accepts and NumPy's promotion rules over them.

Supported: bool, int32, int64, float32, float64. Promotion is NumPy 2's
(NEP 50): arrays promote by ``np.result_type``; a Python scalar is "weak"
and takes the dtype of the array it meets when its kind allows
(``float32 array * 2.0 -> float32``, ``int32 array + 1 -> int32``,
``int32 array * 0.5 -> float64``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..dialects.types import DTYPES
from ..errors import DTypeError

__all__ = ["canonical_dtype", "promote", "float_dtype_for", "bool_", "int32", "int64", "float32", "float64"]

bool_ = np.dtype("bool")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
float32 = np.dtype("float32")
float64 = np.dtype("float64")

_WEAK_EXAMPLE = {"b": False, "i": 0, "u": 0, "f": 0.0}


def canonical_dtype(dtype: Any, what: str = "dtype") -> str:
    """The tir dtype name for anything ``np.dtype`` accepts, or a clear error."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"{what}: {dtype!r} is not a dtype; use one of {', '.join(DTYPES)}") from None
    if dt.name not in DTYPES:
        hint = ""
        if dt.kind == "f":
            hint = " (cast float16 inputs with .astype(np.float32))"
        elif dt.kind in "iu":
            hint = " (cast with .astype(np.int32) or .astype(np.int64))"
        raise DTypeError(f"{what}: dtype {dt.name} is not supported; use one of {', '.join(DTYPES)}{hint}")
    return dt.name


def promote(dtypes: list[tuple[str, bool]]) -> str:
    """Result dtype of values given as (dtype, weak) pairs, NumPy style."""
    strong = [np.dtype(d) for d, weak in dtypes if not weak]
    weak = [_WEAK_EXAMPLE[np.dtype(d).kind] for d, w in dtypes if w]
    if not strong:
        # only Python scalars: the widest kind, at NumPy's default precision
        kinds = {np.dtype(d).kind for d, _ in dtypes}
        for kind, name in (("f", "float64"), ("i", "int64"), ("b", "bool")):
            if kind in kinds:
                return name
    out = np.result_type(*strong, *weak)
    return canonical_dtype(out)


def float_dtype_for(dtype: str) -> str:
    """dtype of a float-valued function of ``dtype`` (NumPy: int -> float64)."""
    return dtype if dtype in ("float32", "float64") else "float64"
