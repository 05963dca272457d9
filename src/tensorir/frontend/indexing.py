"""Indexing of Variables: ``x[key]`` and ``ti.slice_update(x, index, v)``.

Basic indexing (ints, slices with steps, None, ``...``) becomes ``tir.slice``
(plus ``tir.expand_dims`` for new axes); entries that are traced integers,
or slices with traced bounds of a constant size, become windows read with
``tir.dynamic_slice`` (see ``frontend/ops_dynamic_slice.py``).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..errors import ArgumentError, DTypeError, IndexOutOfBoundsError, ShapeError, UnsupportedError
from .core import as_variable, cast
from .graph import Variable, apply
from .ops_dynamic_slice import Window, has_traced_bound, index_window, is_traced_integer, put, slice_window, take
from .ops_shape import _fmt, broadcast_to, squeeze

__all__ = ["getitem", "slice_update"]


def _index_entry(k: Any) -> Any:
    """An entry of a basic index: None, ``...``, an int, a slice of ints, or a
    :class:`Window` for a traced integer or a slice with traced bounds."""
    if k is None or k is Ellipsis:
        return k
    if isinstance(k, slice):
        return slice_window(k) if has_traced_bound(k) else k
    if is_traced_integer(k):
        return index_window(k)
    if isinstance(k, (bool, np.bool_)):
        raise UnsupportedError(
            "indexing with a bool is not supported; use None (np.newaxis) to add an axis, "
            "or ti.where(mask, x, other) for masks"
        )
    if isinstance(k, numbers.Integral):
        return int(k)
    if isinstance(k, np.ndarray) and k.ndim == 0 and k.dtype.kind in "iu":
        return int(k)
    if isinstance(k, (Variable, np.ndarray, list)):
        raise UnsupportedError(
            "indexing with an array (integer or boolean) is not supported; use basic indexing "
            "(ints, slices, None, ...), or ti.where(mask, x, other) to select elementwise"
        )
    raise ArgumentError(f"invalid index {k!r}: only ints, slices, None and ... are valid indices")


def _slice_bound(b: Any, what: str) -> int | None:
    if b is None:
        return None
    if isinstance(b, numbers.Integral) and not isinstance(b, (bool, np.bool_)):
        return int(b)
    raise UnsupportedError(f"slice {what} must be a Python int or None, found {b!r}")


def _basic_index(v: Variable, key: Any) -> tuple[dict[str, tuple], list[int], dict[int, Window]]:
    """``tir.slice`` attributes of ``v[key]``, the positions of its new (``None``)
    axes, and the windows of its traced entries (axis -> :class:`Window`).

    The slice attributes apply to the windows when there are any: an axis
    with a window has the slice ``::step`` or the index 0 (of its size-1
    window) there.
    """
    items = [_index_entry(k) for k in (key if isinstance(key, tuple) else (key,))]
    if sum(1 for k in items if k is Ellipsis) > 1:
        raise IndexOutOfBoundsError("an index can only have a single ellipsis ('...')")
    used = sum(1 for k in items if k is not None and k is not Ellipsis)
    if used > v.ndim:
        raise IndexOutOfBoundsError(
            f"too many indices for array: array is {v.ndim}-dimensional, but {used} were indexed"
        )
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items[at: at + 1] = [slice(None)] * (v.ndim - used)
    else:
        items += [slice(None)] * (v.ndim - used)
    starts: list[int | None] = []
    stops: list[int | None] = []
    steps: list[int] = []
    new_axes: list[int] = []
    windows: dict[int, Window] = {}
    out_pos = 0
    axis = 0
    for k in items:
        if k is None:
            new_axes.append(out_pos)
            out_pos += 1
            continue
        if isinstance(k, Window):
            windows[axis] = k
            starts.append(0 if k.drop else None)
            stops.append(None)
            steps.append(0 if k.drop else k.step)
            out_pos += 0 if k.drop else 1
        elif isinstance(k, int):
            n = v.shape[axis]
            if isinstance(n, int) and not -n <= k < n:
                raise IndexOutOfBoundsError(f"index {k} is out of bounds for axis {axis} with size {n}")
            starts.append(k)
            stops.append(None)
            steps.append(0)
        else:
            step = _slice_bound(k.step, "step")
            if step == 0:
                raise ShapeError("slice step cannot be zero")
            starts.append(_slice_bound(k.start, "start"))
            stops.append(_slice_bound(k.stop, "stop"))
            steps.append(1 if step is None else step)
            out_pos += 1
        axis += 1
    return {"starts": tuple(starts), "stops": tuple(stops), "steps": tuple(steps)}, new_axes, windows


def _is_identity(attrs: dict[str, tuple]) -> bool:
    return all(
        s is None and e is None and st == 1 for s, e, st in zip(attrs["starts"], attrs["stops"], attrs["steps"])
    )


def getitem(x: Any, key: Any) -> Variable:
    """``x[key]`` for basic indexing: ints (negative too), slices with steps, None, ``...``.

    An int on a free axis is checked against the axis size on every call;
    on a static axis an out-of-range int raises :class:`IndexOutOfBoundsError`
    (an ``IndexError``) at once. Traced integers index too (``x[i]``,
    ``x[i * k:(i + 1) * k]``, see ``ops_dynamic_slice.py``): the window is
    read with ``tir.dynamic_slice`` and checked on every call.
    """
    v = as_variable(x)
    attrs, new_axes, windows = _basic_index(v, key)
    if windows:
        v = take(v, windows)
        dropped = tuple(a for a, w in sorted(windows.items()) if w.drop)
        if dropped:
            v = apply("squeeze", [v], {"axes": dropped})
            attrs = {name: tuple(e for a, e in enumerate(kept) if a not in dropped) for name, kept in attrs.items()}
    out = v if _is_identity(attrs) else apply("slice", [v], attrs)
    if new_axes:
        out = apply("expand_dims", [out], {"axes": tuple(new_axes)})
    return out


def slice_update(x: Any, index: Any, v: Any) -> Variable:
    """A copy of ``x`` with ``x[index]`` replaced by ``v``: JAX's ``x.at[index].set(v)``.

    ``index`` is a basic index as in ``x[index]`` (ints, slices with any
    steps, None, ``...``, and traced integers as in :func:`getitem`, whose
    window is then written back with ``tir.dynamic_update_slice``). ``v``
    broadcasts to the shape of ``x[index]`` and is cast to ``x``'s dtype,
    as NumPy's ``y = x.copy(); y[index] = v`` does.
    ``x`` itself is left unchanged.

    >>> import numpy as np, tensorir as ti
    >>> @ti.jit
    ... def f(x):
    ...     return ti.slice_update(x, np.s_[:, ::2], 0.0)
    >>> f(np.ones((2, 4)))
    array([[0., 1., 0., 1.],
           [0., 1., 0., 1.]])
    """
    xv = as_variable(x, "slice_update x")
    try:
        attrs, new_axes, windows = _basic_index(xv, index)
    except (UnsupportedError, ArgumentError, IndexOutOfBoundsError, ShapeError, DTypeError) as exc:
        raise type(exc)(f"slice_update index: {exc}") from None
    if windows:  # update the windows' contents, then write them back
        return put(xv, _slice_update(take(xv, windows), attrs, new_axes, v), windows)
    return _slice_update(xv, attrs, new_axes, v)


def _slice_update(xv: Variable, attrs: dict[str, tuple], new_axes: list[int], v: Any) -> Variable:
    target = xv if _is_identity(attrs) else apply("slice", [xv], attrs)  # supplies the slice's free dims
    value = cast(as_variable(v, "slice_update value"), xv.type.dtype)
    shape = list(target.shape)
    for a in new_axes:
        shape.insert(a, 1)
    extra = value.ndim - len(shape)
    if extra > 0 and all(d == 1 for d in value.shape[:extra]):
        value = squeeze(value, tuple(range(extra)))  # NumPy drops leading unit dims of the value
    if value.ndim > len(shape):
        raise ShapeError(
            f"slice_update: could not broadcast the value of shape {_fmt(value.shape)} "
            f"into the slice of shape {_fmt(shape)}"
        )
    # broadcast only the value's missing and unit axes; other sizes must equal the
    # slice's, which tir.slice_update checks (at call time for free dims)
    lead = len(shape) - value.ndim
    spread = [t if k < lead or value.shape[k - lead] == 1 else value.shape[k - lead] for k, t in enumerate(shape)]
    if spread != list(value.shape):
        value = broadcast_to(value, spread)  # free dims of the slice come from `target`
    if new_axes:
        value = squeeze(value, tuple(new_axes))
    return apply("slice_update", [xv, value], attrs)
