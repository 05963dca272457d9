"""Slices at offsets known only at run time: ``dynamic_slice`` and ``dynamic_update_slice``.

``tir.dynamic_slice(x, *starts) {sizes, wrap}`` reads the window of ``x``
that starts at ``starts`` and has the static ``sizes``; it is how indexing
with traced integers (``data[i]``, ``data[i * k:(i + 1) * k]``) is written.
``tir.dynamic_update_slice(x, update, *starts) {sizes, wrap}`` is a copy of
``x`` with that window replaced by ``update`` (the slice's adjoint, and
JAX's ``lax.dynamic_update_slice``).

Attributes, one entry per axis of ``x``:

* ``sizes``: the window's size along the axis, ``>= 0``; ``-1`` takes the
  whole axis and that axis has no start operand;
* ``wrap``: 1 when a negative start counts from the end of the axis (as a
  NumPy integer index does: ``x[-1]``), 0 when a negative start is out of
  bounds (the bounds of a traced slice ``x[i:i + k]``).

``starts`` are 0-d ``int64`` tensors (an IRDL variadic binds one type), one
per axis whose size is not ``-1``, in axis order. A start ``s`` on an axis
of size ``n`` is first wrapped (``s + n`` when ``s < 0`` and the axis wraps)
and must then lie in ``[0, n - size]``: the window never shrinks at the end
of the axis, so a start out of that range is an error, never a shorter or
shifted window. The references raise :class:`IndexOutOfBoundsError`; the
compiled code reports it through the status out-param of the entry function
(``lowering/checks.py``). Static axes shorter than the window fail when
typing.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import DTypeError, IndexOutOfBoundsError, ShapeError
from .optable import OpDef
from .types import Sym, TensorType, require_equal

__all__ = ["OPS", "window_error", "window_bounds"]

START = TensorType("int64", ())


def _fmt(shape: Sequence[Any]) -> str:
    items = ["?" if isinstance(d, Sym) else str(d) for d in shape]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def window_error(start: int, size: int, wrap: bool, axis: int, n: int) -> str:
    """The message of a window start out of bounds (shared by the references and the
    compiled code's checks, so both say the same)."""
    if wrap and size == 1:
        return f"index {start} is out of bounds for axis {axis} with size {n}"
    if wrap:
        return (
            f"dynamic_slice start {start} with size {size} is out of bounds for axis {axis} with size {n}: "
            f"the window must lie inside the axis (start in [{-n}, {n - size}])"
        )
    return (
        f"slice {start}:{start + size} is out of bounds for axis {axis} with size {n}: a slice with "
        f"traced bounds keeps its size ({size}), so it must lie inside the axis"
    )


def _attrs_ok(x: TensorType, attrs: Mapping[str, Any], starts: Sequence[TensorType], op: str) -> tuple[tuple, tuple]:
    sizes, wrap = tuple(attrs["sizes"]), tuple(attrs["wrap"])
    if len(sizes) != x.rank or len(wrap) != x.rank:
        raise ShapeError(
            f"tir.{op} needs one size and one wrap flag per axis of the rank-{x.rank} operand; "
            f"found {len(sizes)} and {len(wrap)}"
        )
    for axis, k in enumerate(sizes):
        if k is None or k < -1:
            raise ShapeError(f"tir.{op}: the size of axis {axis} must be >= 0, or -1 for the whole axis; found {k}")
    sliced = sum(1 for k in sizes if k != -1)
    if len(starts) != sliced:
        raise ShapeError(f"tir.{op} takes one start per axis whose size is not -1 ({sliced}); found {len(starts)}")
    for t in starts:
        if t != START:
            raise DTypeError(f"tir.{op}: starts must be 0-d int64 values; found {t}")
    for axis, (n, k) in enumerate(zip(x.shape, sizes)):
        if k != -1 and isinstance(n, int) and k > n:
            raise IndexOutOfBoundsError(
                f"{op}: a window of size {k} does not fit in axis {axis} of size {n} (array of shape {_fmt(x.shape)})"
            )
    return sizes, wrap


def _dynamic_slice_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    if not types:
        raise ShapeError("tir.dynamic_slice needs an array to slice")
    x, *starts = types
    sizes, _ = _attrs_ok(x, attrs, starts, "dynamic_slice")
    return x.with_shape([n if k == -1 else k for n, k in zip(x.shape, sizes)])


def _dynamic_update_slice_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    if len(types) < 2:
        raise ShapeError("tir.dynamic_update_slice takes an array, an update and the starts")
    x, v, *starts = types
    sizes, _ = _attrs_ok(x, attrs, starts, "dynamic_update_slice")
    if v.dtype != x.dtype:
        raise DTypeError(
            f"dynamic_update_slice: the update must have the array's dtype {x.dtype}; found {v.dtype} "
            "(cast the update first)"
        )
    want = [n if k == -1 else k for n, k in zip(x.shape, sizes)]
    mismatch = (
        f"dynamic_update_slice: the update must have the shape of the window, {_fmt(want)}; "
        f"found shape {_fmt(v.shape)}"
    )
    if v.rank != x.rank:
        raise ShapeError(mismatch)
    for axis, (w, d) in enumerate(zip(want, v.shape)):
        require_equal(w, d, f"{mismatch} (axis {axis})")
    return x


def window_bounds(
    shape: Sequence[int], starts: Sequence[Any], sizes: Sequence[int], wrap: Sequence[int]
) -> list[slice]:
    """The NumPy slices of a window (raises IndexOutOfBoundsError when it is out of bounds)."""
    it = iter(starts)
    out = []
    for axis, (n, k, w) in enumerate(zip(shape, sizes, wrap)):
        if k == -1:
            out.append(slice(None))
            continue
        start = int(np.asarray(next(it)))
        first = start + n if (w and start < 0) else start
        if not 0 <= first <= n - k:
            raise IndexOutOfBoundsError(window_error(start, k, bool(w), axis, n))
        out.append(slice(first, first + k))
    return out


def _dynamic_slice_ref(x: np.ndarray, *starts: np.ndarray, sizes: Sequence[int], wrap: Sequence[int]) -> np.ndarray:
    return np.array(x[tuple(window_bounds(x.shape, starts, sizes, wrap))])


def _dynamic_update_slice_ref(
    x: np.ndarray, v: np.ndarray, *starts: np.ndarray, sizes: Sequence[int], wrap: Sequence[int]
) -> np.ndarray:
    y = x.copy()
    y[tuple(window_bounds(x.shape, starts, sizes, wrap))] = v
    return y


OPS: list[OpDef] = [
    # dynamic_slice: sizes/wrap per axis of x; one int64 start per axis whose size is not -1
    OpDef("dynamic_slice", ("x", "*starts"), {"sizes": "ints", "wrap": "ints"},
          _dynamic_slice_rule, _dynamic_slice_ref, "shape", True,
          "the window of static sizes at run-time starts (data[i], data[i * k:(i + 1) * k])"),
    # dynamic_update_slice: the attributes of dynamic_slice; update has the window's shape
    OpDef("dynamic_update_slice", ("x", "update", "*starts"), {"sizes": "ints", "wrap": "ints"},
          _dynamic_update_slice_rule, _dynamic_update_slice_ref, "shape", True,
          "a copy of x with the window at run-time starts replaced by update"),
]
