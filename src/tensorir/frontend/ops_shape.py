"""NumPy-named shape functions, constructors and basic indexing (``x[...]``).

Shapes given by the user may mix ints and free dims read from an array's
``.shape`` (each a :class:`Sym`); a free dim becomes an ``index`` operand
(``tir.dim`` of an array having it) plus a ``-1`` entry of the op's static
``shape`` attribute. Results keep free dims symbolic, so one compiled
function serves every size, and shape facts only a call can check (a
reshape's total size, an integer index on a free axis) are checked on every
call with a :class:`~tensorir.errors.ShapeError` naming the problem.

Free dims are never 1 at run time (a dim of size 1 is static), so
``squeeze`` only drops axes known to be 1 at trace time.
"""

from __future__ import annotations

import builtins
import math
import numbers
from typing import Any, Sequence

import numpy as np

from ..dialects.shape import DIM_SYMS
from ..dialects.types import Dim, Sym
from ..errors import ArgumentError, DTypeError, IndexOutOfBoundsError, ShapeError, UnsupportedError
from .core import as_variable, cast, constant, dim_variable, normalize_axes, promote_all
from .dtypes import canonical_dtype
from .graph import Variable, apply
from .ops_dynamic_slice import (
    Window,
    dynamic_slice,
    dynamic_update_slice,
    has_traced_bound,
    index_window,
    is_traced_integer,
    put,
    slice_window,
    take,
)

__all__ = [
    "reshape", "ravel", "transpose", "matrix_transpose", "permute_dims", "swapaxes", "moveaxis",
    "squeeze", "expand_dims", "concatenate", "stack", "hstack", "vstack", "broadcast_to", "flip",
    "zeros", "ones", "full", "zeros_like", "ones_like", "full_like", "arange", "getitem",
    "slice_update", "dynamic_slice", "dynamic_update_slice",
]

ShapeLike = Any  # an int, a free dim, or a sequence of them


# ---------------------------------------------------------------------------
# Shapes given by the user


def _as_shape(shape: ShapeLike, what: str) -> tuple[Any, ...]:
    if isinstance(shape, (numbers.Integral, Sym)):
        return (shape,)
    if isinstance(shape, Variable):
        raise ArgumentError(
            f"{what}: a shape must be ints or dims from .shape, found the array {shape!r}; "
            "shapes are fixed when tracing (use x.shape to reuse another array's dims)"
        )
    try:
        return tuple(shape)
    except TypeError:
        raise ArgumentError(f"{what}: expected an int or a sequence of ints, found {shape!r}") from None


def _dim_operand(d: Sym, like: Sequence[Variable], what: str) -> Variable | None:
    """An index Variable holding free dim ``d``, or None when none can be built.

    Looks for an axis of the arrays ``like`` whose dim is ``d`` first, then
    for the array that showed ``d`` through ``.shape``.
    """
    from .variable import dim_source

    for v in like:
        for axis, e in enumerate(v.type.shape):
            if e == d:
                return dim_variable(v, axis)
    try:
        return dim_source(d, what)
    except ShapeError:
        return None


def _shape_spec(
    shape: ShapeLike, what: str, like: Sequence[Variable] = (), allow_infer: bool = False
) -> tuple[list[int | None], list[Variable], list[Dim]]:
    """(static ``shape`` attribute, index operands, their Syms) of a user shape.

    With ``allow_infer`` (reshape), ``-1`` becomes ``None`` (inferred), and
    so does one free dim that no array can supply (``n * m``): the size
    check makes the inferred dim equal to it.
    """
    static: list[int | None] = []
    dims: list[Variable] = []
    syms: list[Dim] = []
    inferred = False
    unsourced: Sym | None = None
    for d in _as_shape(shape, what):
        if isinstance(d, Sym):
            src = _dim_operand(d, like, what)
            if src is not None:
                static.append(-1)
                dims.append(src)
                syms.append(d)
                continue
            if allow_infer and not inferred:
                static.append(None)
                inferred = True
                unsourced = d
                continue
            raise ShapeError(
                f"{what}: the free dimension {d!r} is an expression of other dims and cannot size "
                "a new array here; use -1 in reshape, or take the dims from an array of the wanted shape"
            )
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral):
            raise ArgumentError(f"{what}: dims must be ints or dims from .shape, found {d!r}")
        d = int(d)
        if allow_infer and d == -1:
            if inferred:
                raise ShapeError(
                    f"{what}: can only specify one unknown dimension (-1)"
                    + (f"; {unsourced!r} also had to be inferred" if unsourced is not None else "")
                )
            static.append(None)
            inferred = True
            continue
        if d < 0:
            raise ShapeError(f"{what}: negative dimensions are not allowed, found {d}")
        static.append(d)
    return static, dims, syms


def _spec_dims(spec: tuple) -> list[Dim | None]:
    """The dims a shape spec names (``None`` where reshape infers one)."""
    static, _, syms = spec
    it = iter(syms)
    return [next(it) if s == -1 else s for s in static]


def _apply_shaped(op: str, inputs: list[Variable], spec: tuple, attrs: dict[str, Any]) -> Variable:
    static, dims, syms = spec
    return apply(op, inputs + dims, {**attrs, "shape": tuple(static), DIM_SYMS: tuple(syms)})


# ---------------------------------------------------------------------------
# Reshaping and axis permutations


def reshape(x: Any, shape: ShapeLike) -> Variable:
    """``x`` with a new shape; one dim may be ``-1`` (inferred), free dims come from ``.shape``.

    A total size that only the call knows is checked on every call:

    >>> import numpy as np, tensorir as ti
    >>> @ti.jit
    ... def f(x):
    ...     return ti.reshape(x, (-1, 2))
    >>> f(np.arange(6.0)).shape
    (3, 2)
    """
    v = as_variable(x)
    spec = _shape_spec(shape, "reshape", like=[v], allow_infer=True)
    if _spec_dims(spec) == list(v.shape):
        return v
    return _apply_shaped("reshape", [v], spec, {})


def ravel(x: Any) -> Variable:
    """The elements of ``x`` as a 1-D array, in row-major order."""
    v = as_variable(x)
    return v if v.ndim == 1 else reshape(v, (-1,))


def _perm(axes: Any, rank: int, what: str) -> tuple[int, ...]:
    items = list(axes)
    if len(items) != rank:
        raise ShapeError(f"{what}: axes {tuple(items)} do not match an array of rank {rank}")
    out = []
    for a in items:
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, numbers.Integral):
            raise ArgumentError(f"{what}: axes must be ints, found {a!r}")
        if not -rank <= int(a) < rank:
            raise ShapeError(f"{what}: axis {a} is out of bounds for an array of rank {rank}")
        out.append(int(a) % rank)
    if sorted(out) != list(range(rank)):
        raise ShapeError(f"{what}: axes {tuple(items)} repeat an axis; expected a permutation of 0..{rank - 1}")
    return tuple(out)


def _transpose(v: Variable, perm: tuple[int, ...]) -> Variable:
    if perm == tuple(range(v.ndim)):
        return v
    return apply("transpose", [v], {"perm": perm})


def transpose(x: Any, axes: Sequence[int] | None = None) -> Variable:
    """Permute the axes (reverse them by default): ``out.shape[i] == x.shape[axes[i]]``."""
    v = as_variable(x)
    perm = tuple(reversed(range(v.ndim))) if axes is None else _perm(axes, v.ndim, "transpose")
    return _transpose(v, perm)


permute_dims = transpose


def matrix_transpose(x: Any) -> Variable:
    """Swap the last two axes (``x.mT``)."""
    v = as_variable(x)
    if v.ndim < 2:
        raise ShapeError(f"matrix_transpose needs an array of rank >= 2, found shape {_fmt(v.shape)}")
    return swapaxes(v, -2, -1)


def _axis(a: Any, rank: int, what: str) -> int:
    return normalize_axes(a, rank, what)[0]


def swapaxes(x: Any, axis1: int, axis2: int) -> Variable:
    v = as_variable(x)
    a, b = _axis(axis1, v.ndim, "swapaxes axis1"), _axis(axis2, v.ndim, "swapaxes axis2")
    perm = list(range(v.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return _transpose(v, tuple(perm))


def moveaxis(x: Any, source: Any, destination: Any) -> Variable:
    """Move axes ``source`` to positions ``destination`` (NumPy's moveaxis)."""
    v = as_variable(x)
    src = list(source) if isinstance(source, (tuple, list)) else [source]
    dst = list(destination) if isinstance(destination, (tuple, list)) else [destination]
    if len(src) != len(dst):
        raise ShapeError("moveaxis: `source` and `destination` must have the same number of elements")
    src = [_axis(a, v.ndim, "moveaxis source") for a in src]
    dst = [_axis(a, v.ndim, "moveaxis destination") for a in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ShapeError("moveaxis: repeated axis in `source` or `destination`")
    order = [a for a in range(v.ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return _transpose(v, tuple(order))


def squeeze(x: Any, axis: Any = None) -> Variable:
    """Drop axes of size 1 (all static-1 axes by default)."""
    v = as_variable(x)
    if axis is None:
        axes = tuple(i for i, d in enumerate(v.shape) if d == 1)
    else:
        axes = normalize_axes(axis, v.ndim, "squeeze axis")
    if not axes:
        return v
    return apply("squeeze", [v], {"axes": axes})


def expand_dims(x: Any, axis: Any) -> Variable:
    """Insert size-1 axes at positions ``axis`` of the result."""
    v = as_variable(x)
    n = len(axis) if isinstance(axis, (tuple, list)) else 1
    axes = normalize_axes(axis, v.ndim + n, "expand_dims axis")
    return apply("expand_dims", [v], {"axes": axes})


# ---------------------------------------------------------------------------
# Joining


def _sequence(arrays: Any, what: str) -> list[Any]:
    if isinstance(arrays, (Variable, np.ndarray)):
        raise ArgumentError(f"{what} takes a sequence of arrays (a list or tuple), found a single array")
    items = list(arrays)
    if not items:
        raise ShapeError(f"{what} needs at least one array")
    return items


def _unify_dims(vs: list[Variable], skip: int | None) -> list[Variable]:
    """Arrays whose dims (but axis ``skip``) are static wherever any of them is.

    Shapes must agree anyway; an array whose dim is free where another's is
    static (``?`` against ``1``) is broadcast to the static size, so the
    arrays share one MLIR type as the variadic operands of an op must.
    """
    rank = vs[0].ndim
    if any(v.ndim != rank for v in vs):
        return vs  # the op's type rule reports the rank mismatch
    target: list[int | None] = []
    for a in range(rank):
        statics = {v.shape[a] for v in vs if isinstance(v.shape[a], int)}
        target.append(statics.pop() if len(statics) == 1 and a != skip else None)
    out = []
    for v in vs:
        want = tuple(v.shape[a] if t is None else t for a, t in enumerate(target))
        out.append(v if want == v.shape else broadcast_to(v, want))
    return out


def concatenate(arrays: Sequence[Any], axis: int | None = 0) -> Variable:
    """Join arrays along an existing axis; dtypes promote as in NumPy.

    ``axis=None`` flattens every array first.
    """
    vs = promote_all(_sequence(arrays, "concatenate"), "concatenate operand")
    if axis is None:
        vs = [ravel(v) for v in vs]
        axis = 0
    if vs[0].ndim == 0:
        raise ShapeError("concatenate: zero-dimensional arrays cannot be concatenated")
    a = _axis(axis, vs[0].ndim, "concatenate axis")
    if len(vs) == 1:
        return vs[0]
    if builtins.any(v.ndim != vs[0].ndim for v in vs):
        return apply("concatenate", vs, {"axis": a})  # the type rule reports the mismatch
    vs = _unify_dims(vs, a)
    # runs of one type join in one op; a run of another type joins the result
    runs: list[list[Variable]] = []
    for v in vs:
        if runs and str(runs[-1][0].type) == str(v.type):
            runs[-1].append(v)
        else:
            runs.append([v])
    out = runs[0][0] if len(runs[0]) == 1 else apply("concatenate", runs[0], {"axis": a})
    for run in runs[1:]:
        out = apply("concatenate", [out, *run], {"axis": a})
    return out


def stack(arrays: Sequence[Any], axis: int = 0) -> Variable:
    """Join arrays of one shape along a new axis ``axis``."""
    vs = promote_all(_sequence(arrays, "stack"), "stack operand")
    a = _axis(axis, vs[0].ndim + 1, "stack axis")
    return apply("stack", _unify_dims(vs, None), {"axis": a})


def hstack(arrays: Sequence[Any]) -> Variable:
    """Concatenate along axis 1 (axis 0 for 1-D arrays), as ``np.hstack``."""
    vs = [_atleast(as_variable(a), 1) for a in _sequence(arrays, "hstack")]
    return concatenate(vs, axis=0 if vs[0].ndim == 1 else 1)


def vstack(arrays: Sequence[Any]) -> Variable:
    """Concatenate along axis 0 after making 1-D arrays rows, as ``np.vstack``."""
    vs = [_atleast(as_variable(a), 2) for a in _sequence(arrays, "vstack")]
    return concatenate(vs, axis=0)


def _atleast(v: Variable, rank: int) -> Variable:
    if v.ndim >= rank:
        return v
    return expand_dims(v, tuple(range(rank - v.ndim)))


# ---------------------------------------------------------------------------
# Broadcasting, flipping


def broadcast_to(x: Any, shape: ShapeLike) -> Variable:
    """``x`` repeated along its size-1 and missing leading axes up to ``shape``."""
    v = as_variable(x)
    spec = _shape_spec(shape, "broadcast_to", like=[v])
    if _spec_dims(spec) == list(v.shape):
        return v
    return _apply_shaped("broadcast_to", [v], spec, {})


def flip(x: Any, axis: Any = None) -> Variable:
    """Reverse the order of elements along ``axis`` (all axes by default)."""
    v = as_variable(x)
    axes = normalize_axes(axis, v.ndim, "flip axis")
    if not axes:
        return v
    return apply("flip", [v], {"axes": axes})


# ---------------------------------------------------------------------------
# Constructors


def _fill_dtype(fill_value: Any, dtype: Any) -> str:
    if dtype is not None:
        return canonical_dtype(dtype, "dtype")
    if isinstance(fill_value, Variable):
        return fill_value.type.dtype
    return canonical_dtype(np.asarray(fill_value).dtype, "fill_value")


def _full_spec(spec: tuple, fill_value: Any, dtype: str) -> Variable:
    if isinstance(fill_value, Variable) or np.ndim(fill_value) != 0:
        value = cast(as_variable(fill_value, "fill_value"), dtype)
        value.weak = False
        return _apply_shaped("broadcast_to", [value], spec, {})
    scalar = np.asarray(fill_value).astype(dtype).item()
    if isinstance(scalar, int) and not isinstance(scalar, bool) and float(scalar) != scalar:
        # not exact as a float attribute: broadcast a constant instead
        return _apply_shaped("broadcast_to", [constant(scalar, dtype)], spec, {})
    return _apply_shaped("full", [], spec, {"dtype": dtype, "value": float(scalar)})


def full(shape: ShapeLike, fill_value: Any, dtype: Any = None) -> Variable:
    """An array of ``shape`` filled with ``fill_value`` (a scalar or a broadcastable array).

    >>> import numpy as np, tensorir as ti
    >>> @ti.jit
    ... def f(x):
    ...     return ti.full(x.shape, 7, dtype=np.int32)
    >>> f(np.zeros(3))
    array([7, 7, 7], dtype=int32)
    """
    spec = _shape_spec(shape, "full")
    return _full_spec(spec, fill_value, _fill_dtype(fill_value, dtype))


def zeros(shape: ShapeLike, dtype: Any = "float64") -> Variable:
    return full(shape, 0, dtype if dtype is not None else "float64")


def ones(shape: ShapeLike, dtype: Any = "float64") -> Variable:
    return full(shape, 1, dtype if dtype is not None else "float64")


def full_like(x: Any, fill_value: Any, dtype: Any = None) -> Variable:
    """An array of ``x``'s shape (and dtype, unless given) filled with ``fill_value``."""
    v = as_variable(x)
    spec = _shape_spec(v.shape, "full_like", like=[v])
    return _full_spec(spec, fill_value, canonical_dtype(dtype, "dtype") if dtype is not None else v.type.dtype)


def zeros_like(x: Any, dtype: Any = None) -> Variable:
    return full_like(x, 0, dtype)


def ones_like(x: Any, dtype: Any = None) -> Variable:
    return full_like(x, 1, dtype)


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None) -> Variable:
    """Evenly spaced values in ``[start, stop)``, as ``np.arange``.

    Bounds are Python numbers; ``stop`` (or ``start`` alone) may be a free
    dim from ``.shape`` when the other bounds are ints.
    """
    if stop is None:
        start, stop = 0, start
    for name, b in (("start", start), ("stop", stop), ("step", step)):
        if isinstance(b, Variable):
            raise ArgumentError(
                f"arange {name}: expected a Python number or a dim from .shape, found the array {b!r}"
            )
        if isinstance(b, Sym) and name != "stop":
            raise UnsupportedError(f"arange: only stop may be a free dim, found {name} = {b!r}")
    if step == 0:
        raise ShapeError("arange: step must not be zero")
    ints = all(isinstance(b, (numbers.Integral, Sym)) for b in (start, stop, step))
    if dtype is None:
        dtype = "int64" if ints else "float64"
    dt = canonical_dtype(dtype, "dtype")
    if isinstance(stop, Sym):
        if not isinstance(start, numbers.Integral) or not isinstance(step, numbers.Integral):
            raise UnsupportedError("arange with a free stop needs integer start and step")
        spec = _shape_spec((stop,), "arange stop")
        if spec[0] != [-1]:
            raise ShapeError(f"arange: the free stop {stop!r} must be a dim read from an array's .shape")
        attrs = {"start": float(start), "step": float(step), "size": -1, "dtype": dt, DIM_SYMS: (stop,)}
        return apply("arange", spec[1], attrs)
    if ints:
        size = len(range(int(start), int(stop), int(step)))
    else:
        size = builtins.max(int(math.ceil((float(stop) - float(start)) / float(step))), 0)
    return apply("arange", [], {"start": float(start), "step": float(step), "size": size, "dtype": dt})


# ---------------------------------------------------------------------------
# Basic indexing


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


def _fmt(shape: Sequence[Any]) -> str:
    items = ["?" if isinstance(d, Sym) else str(d) for d in shape]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
