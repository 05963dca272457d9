"""Indexing with traced integers, and JAX's ``dynamic_slice``/``dynamic_update_slice``.

An index that is a traced integer (a 0-d int Variable: an input of
``ti.function``, a ``jit`` argument, a value computed from them, or a free
dim from ``.shape``) is known only when the function is called. Basic
indexing then reads a *window* of the axis with ``tir.dynamic_slice``:

* ``x[i]``: the window of size 1 at ``i`` (negative ``i`` counts from the
  end, as in NumPy), and the axis is dropped;
* ``x[a:b]`` (and ``x[a:b:step]``, ``step > 0``): the window of size
  ``b - a`` at ``a``, where ``b - a`` must be a Python int known when
  tracing: the bounds are read off the graph as linear forms of the traced
  integers (sums, differences and products with constants), so
  ``x[i:i + k]``, ``x[i * k:(i + 1) * k]`` and ``x[i * k:i * k + k]`` work,
  the idiom of Theano's minibatch loops.

A window never shrinks at the end of the axis: an index or slice out of
bounds raises :class:`~tensorir.errors.IndexOutOfBoundsError` when the
compiled function is called (a NumPy slice would silently return fewer
rows), and a slice may not start below 0 (NumPy's ``x[-2:0]`` is empty).

:func:`dynamic_slice` and :func:`dynamic_update_slice` take JAX's
arguments; unlike JAX, which clamps a start out of bounds, they raise.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..dialects.types import INT_DTYPES, Sym
from ..errors import ArgumentError, DTypeError, ShapeError, UnsupportedError
from .core import as_variable, cast, constant, dim_value
from .graph import Variable, apply

__all__ = ["dynamic_slice", "dynamic_update_slice"]


@dataclass(frozen=True)
class Window:
    """A traced entry of an index: the window ``[start, start + size)`` of one axis.

    ``drop``: an integer index (the axis is dropped); ``step``: a slice's
    step, taken inside the window.
    """

    start: Variable  # 0-d int64
    size: int
    wrap: bool
    drop: bool = False
    step: int = 1


def is_traced_integer(k: Any) -> bool:
    return isinstance(k, Sym) or (isinstance(k, Variable) and k.ndim == 0)


def _start(k: Any, what: str) -> Variable:
    """An int64 0-d Variable for a traced or Python integer ``k`` (``what``: "an index"...)."""
    if isinstance(k, Sym):
        return dim_value(k, what)
    if isinstance(k, Variable):
        if k.ndim != 0:
            raise ShapeError(f"{what} must be a scalar (0-d), found an array of shape {_fmt(k.shape)}")
        dtype = k.type.dtype
        if dtype == "bool":
            raise UnsupportedError(
                f"{what} is a traced bool: indexing with a bool is not supported (NumPy reads it as a mask); "
                "use ti.where(mask, x, other), or .astype('int64') to index with 0 or 1"
            )
        if dtype not in INT_DTYPES:
            raise DTypeError(
                f"{what} must be an integer (int32 or int64), found a {dtype} scalar; "
                "convert it with .astype('int64') (floor it first if it may hold fractions)"
            )
        return cast(k, "int64")
    if isinstance(k, (numbers.Integral, np.integer)) and not isinstance(k, (bool, np.bool_)):
        return constant(int(k), "int64")
    raise ArgumentError(f"{what} must be an int or a 0-d integer value, found {k!r}")


def index_window(k: Any) -> Window:
    """The window of ``x[k]`` for a traced integer ``k``."""
    return Window(_start(k, "an index"), 1, wrap=True, drop=True)


# ---------------------------------------------------------------------------
# Slices with traced bounds: the size is stop - start, read off the graph.

Linear = tuple[dict[Any, int], int]  # ({leaf: coefficient}, constant)


def _combine(a: Linear, b: Linear, sign: int) -> Linear:
    terms = dict(a[0])
    for key, c in b[0].items():
        terms[key] = terms.get(key, 0) + sign * c
    return {k: c for k, c in terms.items() if c}, a[1] + sign * b[1]


def _scale(a: Linear, c: int) -> Linear:
    return ({k: v * c for k, v in a[0].items() if v * c}, a[1] * c)


def _linear(b: Any) -> Linear:
    """``b`` as a linear form over the traced integers it is computed from
    (the leaves: inputs and values of other ops), for comparing two bounds."""
    if isinstance(b, (numbers.Integral, np.integer)) and not isinstance(b, (bool, np.bool_)):
        return {}, int(b)
    if isinstance(b, Sym):
        if b.op in ("add", "sub"):
            return _combine(_linear(b.args[0]), _linear(b.args[1]), 1 if b.op == "add" else -1)
        if b.op == "mul" and any(isinstance(a, int) for a in b.args):
            c, other = (b.args[0], b.args[1]) if isinstance(b.args[0], int) else (b.args[1], b.args[0])
            return _scale(_linear(other), c)
        return {("dim", b): 1}, 0
    v: Variable = b
    node = v.owner
    leaf: Linear = ({("value", v.id): 1}, 0)
    if node is None or v.ndim != 0 or v.type.dtype not in INT_DTYPES:
        return leaf
    if node.op == "constant":
        return {}, int(np.asarray(node.attrs["value"]))
    if node.op in ("add", "sub"):
        return _combine(_linear(node.inputs[0]), _linear(node.inputs[1]), 1 if node.op == "add" else -1)
    if node.op == "neg":
        return _scale(_linear(node.inputs[0]), -1)
    if node.op == "mul":
        a, c = _linear(node.inputs[0]), _linear(node.inputs[1])
        if not a[0]:
            return _scale(c, a[1])
        if not c[0]:
            return _scale(a, c[1])
        return leaf
    if node.op == "cast" and node.inputs[0].type.dtype in INT_DTYPES:
        return _linear(node.inputs[0])
    return leaf


def _bound_text(b: Any) -> str:
    if b is None:
        return ""
    if isinstance(b, Variable):
        return b.name or f"<traced {b.type.dtype}>"
    return repr(b)


def has_traced_bound(k: slice) -> bool:
    return any(isinstance(b, (Variable, Sym)) for b in (k.start, k.stop, k.step))


def slice_window(k: slice) -> Window:
    """The window of ``x[k]`` for a slice with a traced bound (see the module docstring)."""
    text = f"x[{_bound_text(k.start)}:{_bound_text(k.stop)}{':' + _bound_text(k.step) if k.step is not None else ''}]"
    how = (
        "use bounds whose difference is a Python int (x[i:i + k], x[i * k:(i + 1) * k]), or "
        "ti.dynamic_slice(x, starts, sizes) with Python int sizes"
    )
    positive = isinstance(k.step, numbers.Integral) and not isinstance(k.step, bool) and k.step > 0
    if k.step is not None and not positive:
        raise UnsupportedError(
            f"{text}: a slice with traced bounds needs a positive Python int step, found {_bound_text(k.step)}; "
            "take the window first, then step through it (x[i:i + k][::-1])"
        )
    if k.start is None or k.stop is None:
        raise UnsupportedError(
            f"{text}: a slice with a traced bound and an open end has a size known only at run time, "
            f"and array sizes are fixed when tracing; {how}"
        )
    for b in (k.start, k.stop):
        _start(b, "a slice bound")  # the dtype checks of an index
    start, stop = _linear(k.start), _linear(k.stop)
    terms, size = _combine(stop, start, -1)
    if terms:
        raise UnsupportedError(
            f"{text}: the size of a slice with traced bounds (stop - start) must be known when tracing, "
            f"and these bounds do not differ by a constant; {how}"
        )
    if size <= 0:
        raise UnsupportedError(
            f"{text}: the traced bounds differ by {size}; the slice is empty or wraps around the end "
            f"depending on the values, which tensorir does not trace; {how}"
        )
    return Window(_start(k.start, "a slice start"), size, wrap=False, step=int(k.step or 1))


# ---------------------------------------------------------------------------
# Building the ops


def _window_attrs(rank: int, windows: dict[int, Window]) -> dict[str, tuple[int, ...]]:
    return {
        "sizes": tuple(windows[a].size if a in windows else -1 for a in range(rank)),
        "wrap": tuple(int(windows[a].wrap) if a in windows else 0 for a in range(rank)),
    }


def take(x: Variable, windows: dict[int, Window]) -> Variable:
    """``tir.dynamic_slice`` of ``x`` at the windows (axis -> window); the axes stay."""
    starts = [windows[a].start for a in sorted(windows)]
    return apply("dynamic_slice", [x, *starts], _window_attrs(x.ndim, windows))


def put(x: Variable, update: Variable, windows: dict[int, Window]) -> Variable:
    """``tir.dynamic_update_slice``: ``x`` with the windows replaced by ``update``."""
    starts = [windows[a].start for a in sorted(windows)]
    return apply("dynamic_update_slice", [x, update, *starts], _window_attrs(x.ndim, windows))


def _per_axis(values: Any, rank: int, what: str) -> list[Any]:
    if isinstance(values, (Variable, np.ndarray)) and getattr(values, "ndim", 0) != 1:
        raise ArgumentError(f"{what} must be a sequence with one entry per axis, found {values!r}")
    try:
        items = list(values)
    except TypeError:
        raise ArgumentError(f"{what} must be a sequence with one entry per axis, found {values!r}") from None
    if len(items) != rank:
        raise ShapeError(f"{what} has {len(items)} entries but the operand has rank {rank}; give one per axis")
    return items


def _wraps(allow_negative_indices: Any, rank: int) -> list[bool]:
    if isinstance(allow_negative_indices, (bool, np.bool_)):
        return [bool(allow_negative_indices)] * rank
    return [bool(w) for w in _per_axis(allow_negative_indices, rank, "allow_negative_indices")]


def _windows(
    x: Variable, starts: Sequence[Any], sizes: Sequence[Any], wraps: Sequence[bool], what: str
) -> dict[int, Window]:
    windows: dict[int, Window] = {}
    for axis, (s, k, w) in enumerate(zip(starts, sizes, wraps)):
        if isinstance(k, Sym):
            if isinstance(s, (numbers.Integral, np.integer)) and int(s) == 0:
                continue  # the whole axis (the type rule makes the call check that the sizes agree)
            raise UnsupportedError(
                f"{what}: the size of axis {axis} is a free dim (known only at run time) and its start is "
                "traced; window sizes must be Python ints known when tracing, or the whole axis with start 0"
            )
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (numbers.Integral, np.integer)):
            raise ArgumentError(f"{what}: sizes must be Python ints, found {k!r} for axis {axis}")
        if int(k) < 0:
            raise ShapeError(f"{what}: sizes must be >= 0, found {int(k)} for axis {axis}")
        windows[axis] = Window(_start(s, f"{what}: the start of axis {axis}"), int(k), wrap=w)
    return windows


def dynamic_slice(operand: Any, start_indices: Sequence[Any], slice_sizes: Sequence[Any],
                  *, allow_negative_indices: Any = True) -> Variable:
    """The window of ``operand`` at run-time ``start_indices`` with static ``slice_sizes``.

    JAX's ``lax.dynamic_slice``: one start (a Python int or a 0-d integer
    value) and one size (a Python int) per axis; a negative start counts
    from the end of its axis unless ``allow_negative_indices`` is False (for
    all axes or per axis). A window out of bounds raises
    :class:`~tensorir.errors.IndexOutOfBoundsError` when the function is
    called (JAX clamps it instead).

    >>> import numpy as np, tensorir as ti
    >>> @ti.jit
    ... def rows(x, i):
    ...     return ti.dynamic_slice(x, (i, 0), (2, 3))
    >>> rows(np.arange(12.0).reshape(4, 3), 1)
    array([[3., 4., 5.],
           [6., 7., 8.]])
    """
    x = as_variable(operand, "dynamic_slice operand")
    starts = _per_axis(start_indices, x.ndim, "dynamic_slice start_indices")
    sizes = _per_axis(slice_sizes, x.ndim, "dynamic_slice slice_sizes")
    windows = _windows(x, starts, sizes, _wraps(allow_negative_indices, x.ndim), "dynamic_slice")
    return take(x, windows) if windows else x


def dynamic_update_slice(operand: Any, update: Any, start_indices: Sequence[Any],
                         *, allow_negative_indices: Any = True) -> Variable:
    """A copy of ``operand`` with the window at ``start_indices`` replaced by ``update``.

    JAX's ``lax.dynamic_update_slice``: ``update`` has the operand's rank and
    gives the window's sizes, and is cast to the operand's dtype. A size
    known only at run time (a free dim of ``update``) must be the whole axis,
    with start 0; the call checks that the sizes agree. Starts as
    in :func:`dynamic_slice`; a window out of bounds raises
    :class:`~tensorir.errors.IndexOutOfBoundsError` when called.

    >>> import numpy as np, tensorir as ti
    >>> @ti.jit
    ... def put_row(x, i):
    ...     return ti.dynamic_update_slice(x, np.full((1, 3), -1.0), (i, 0))
    >>> put_row(np.zeros((3, 3)), -1)
    array([[ 0.,  0.,  0.],
           [ 0.,  0.,  0.],
           [-1., -1., -1.]])
    """
    x = as_variable(operand, "dynamic_update_slice operand")
    u = cast(as_variable(update, "dynamic_update_slice update"), x.type.dtype)
    if u.ndim != x.ndim:
        raise ShapeError(
            f"dynamic_update_slice: the update must have the operand's rank {x.ndim}; found shape {_fmt(u.shape)} "
            "(expand it with ti.expand_dims or reshape it first)"
        )
    starts = _per_axis(start_indices, x.ndim, "dynamic_update_slice start_indices")
    windows = _windows(x, starts, list(u.shape), _wraps(allow_negative_indices, x.ndim), "dynamic_update_slice")
    return put(x, u, windows)


def _fmt(shape: Sequence[Any]) -> str:
    items = ["?" if isinstance(d, Sym) else str(d) for d in shape]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
