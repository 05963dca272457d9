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
from ..errors import ArgumentError, ShapeError, UnsupportedError
from .core import as_variable, cast, constant, dim_variable, normalize_axes, promote_all
from .dtypes import canonical_dtype
from .graph import Variable, apply
from .ops_dynamic_slice import dynamic_slice, dynamic_update_slice

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


def _fmt(shape: Sequence[Any]) -> str:
    items = ["?" if isinstance(d, Sym) else str(d) for d in shape]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


# Indexing lives in frontend/indexing.py (imported last: it uses the functions above).
from .indexing import getitem, slice_update  # noqa: E402
