"""Shape ops and value constructors: constant, dim, full, arange and the layout ops.

The windows at run-time offsets (``dynamic_slice``, ``dynamic_update_slice``)
are defined in ``dynamic_slice.py`` and belong to this family's table.

Free dimensions flow through IR as ``index`` values made by ``tir.dim``; an
op whose result has a free dim that no operand determines (``tir.full`` of
a shape taken from another tensor, ``tir.broadcast_to``, ``tir.reshape``)
takes those dims as trailing variadic ``index`` operands, one per ``-1``
entry of its static ``shape`` attribute, as ``tensor.empty`` does.

While tracing, the frontend also passes the trace-time attribute
``dim_syms`` (see :data:`DIM_SYMS`): the :class:`Sym` each index operand
holds, so the type rule can name the result dims in terms of the inputs'
dims and record the equalities that only a call can check. It is not an
MLIR attribute; IR parsed from text gives each operand-sized dim a fresh
unknown instead.

Index arithmetic (slice bounds, inferred reshape dims, arange lengths) is
written once over the :class:`~.dim_ops.DimOps` algebra of ``dim_ops.py``,
run here on ``int | Sym`` dims and by the lowering on ``index`` values.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import DTypeError, IndexOutOfBoundsError, ShapeError
from . import dynamic_slice
from .dim_ops import SYM_OPS, DimOps, arange_length, index_axis, reshape_dims, slice_axis
from .optable import OpDef
from .types import DTYPES, Dim, Sym, TensorType, dim_min, prod, require_equal

__all__ = [
    "OPS",
    "DIM_SYMS",
    "DimOps",
    "SYM_OPS",
    "slice_axis",
    "index_axis",
    "reshape_dims",
    "arange_length",
    "shape_from_attr",
]

DIM_SYMS = "dim_syms"  # trace-time attribute: the Sym held by each index operand


# ---------------------------------------------------------------------------
# Helpers of the type rules


def _fmt(shape: Sequence[Any]) -> str:
    items = ["-1" if d is None else ("?" if isinstance(d, Sym) else str(d)) for d in shape]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _dim_syms(attrs: Mapping[str, Any], count: int) -> list[Dim] | None:
    syms = attrs.get(DIM_SYMS)
    if syms is None:
        return None
    if len(syms) != count:
        raise ShapeError(f"{DIM_SYMS} holds {len(syms)} dims for {count} index operands")
    return list(syms)


def shape_from_attr(
    shape: Sequence[int | None],
    dims: Sequence[TensorType],
    sym_dims: Sequence[Dim] | None = None,
) -> tuple[Dim | None, ...]:
    """The result shape of an op with a ``shape`` attribute and dim operands.

    ``-1`` takes the next index operand (its Sym from ``sym_dims`` when
    tracing, else a fresh unknown); ``None`` entries pass through.
    """
    n_dyn = sum(1 for d in shape if d == -1)
    if n_dyn != len(dims):
        raise ShapeError(f"shape {tuple(shape)} has {n_dyn} free dims but {len(dims)} index operands were given")
    for t in dims:
        if t.dtype != "index":
            raise DTypeError(f"dim operands must be index values, found {t}")
    for d in shape:
        if d is not None and d < -1:
            raise ShapeError(f"shape {tuple(shape)} has a negative dim {d}")
    it = iter(sym_dims) if sym_dims is not None else None
    return tuple((next(it) if it is not None else Sym.fresh()) if d == -1 else d for d in shape)


def _axes_ok(axes: Sequence[int], rank: int, op: str, what: str = "axes") -> None:
    if list(axes) != sorted(set(axes)) or any(not 0 <= a < rank for a in axes):
        raise ShapeError(
            f"tir.{op} needs sorted, distinct {what} in [0, {rank}); found {tuple(axes)}"
        )


def _concrete(shape: Sequence[int | None], dims: Sequence[int]) -> list[int | None]:
    it = iter(dims)
    return [int(next(it)) if d == -1 else d for d in shape]


# ---------------------------------------------------------------------------
# constant, dim, full, arange


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


def _full_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    shape = shape_from_attr(attrs["shape"], types, _dim_syms(attrs, len(types)))
    if any(d is None for d in shape):
        raise ShapeError(f"tir.full cannot infer a dim; found shape {tuple(attrs['shape'])}")
    return TensorType(attrs["dtype"], shape)  # type: ignore[arg-type]


def _full_ref(*dims: int, shape: Sequence[int], dtype: str, value: float) -> np.ndarray:
    return np.full(tuple(_concrete(shape, dims)), value, dtype=dtype)  # type: ignore[arg-type]


def _arange_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    start, step, size, dtype = attrs["start"], attrs["step"], attrs["size"], attrs["dtype"]
    if dtype not in DTYPES or dtype == "bool":
        raise DTypeError(f"tir.arange makes numbers; found dtype {dtype}")
    if step == 0:
        raise ShapeError("tir.arange needs a non-zero step")
    if not types:
        if size < 0:
            raise ShapeError(f"tir.arange needs a size >= 0 or a stop operand; found size {size}")
        return TensorType(dtype, (size,))
    if len(types) != 1 or types[0].dtype != "index":
        raise ShapeError(f"tir.arange takes at most one index operand (the stop); found {len(types)}")
    if size != -1 or start != int(start) or step != int(step):
        raise ShapeError("tir.arange with a stop operand needs size -1 and integral start and step")
    syms = _dim_syms(attrs, 1)
    stop: Dim = syms[0] if syms is not None else Sym.fresh()
    return TensorType(dtype, (arange_length(stop, int(start), int(step), SYM_OPS),))


def _arange_ref(*stop: int, start: float, step: float, size: int, dtype: str) -> np.ndarray:
    if stop:
        size = len(range(int(start), int(stop[0]), int(step)))
    if dtype in ("int32", "int64"):
        return (int(start) + np.arange(size, dtype=np.int64) * int(step)).astype(dtype)
    return (start + np.arange(size, dtype=np.float64) * step).astype(dtype)


# ---------------------------------------------------------------------------
# Layout ops


def _reshape_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    x, *dims = types
    spec = attrs["shape"]
    if sum(1 for d in spec if d is None) > 1:
        raise ShapeError(f"reshape can infer only one dim; found {sum(1 for d in spec if d is None)} in {spec}")
    given = shape_from_attr(spec, dims, _dim_syms(attrs, len(dims)))
    total = prod(x.shape)
    known = prod([d for d in given if d is not None])
    if None in given and known == 0:
        raise ShapeError(
            f"cannot reshape an array of shape {_fmt(x.shape)} into shape {_fmt(given)}: "
            "the dim to infer (-1) is ambiguous when another dim is 0"
        )
    out = reshape_dims(total, given, SYM_OPS)
    require_equal(
        total,
        prod(out),
        f"cannot reshape an array of shape {_fmt(x.shape)} into shape {_fmt(given)}: "
        "the number of elements differs",
    )
    return x.with_shape(out)


def _reshape_ref(x: np.ndarray, *dims: int, shape: Sequence[int | None]) -> np.ndarray:
    given = _concrete(shape, dims)
    return np.reshape(x, tuple(reshape_dims(x.size, given, SYM_OPS)))


def _transpose_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    (x,) = types
    perm = tuple(attrs["perm"])
    if sorted(perm) != list(range(x.rank)):
        raise ShapeError(f"tir.transpose needs a permutation of 0..{x.rank - 1}; found {perm}")
    return x.with_shape([x.shape[p] for p in perm])


def _expand_dims_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    (x,) = types
    axes = tuple(attrs["axes"])
    rank = x.rank + len(axes)
    _axes_ok(axes, rank, "expand_dims")
    it = iter(x.shape)
    return x.with_shape([1 if i in axes else next(it) for i in range(rank)])


def _squeeze_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    (x,) = types
    axes = tuple(attrs["axes"])
    _axes_ok(axes, x.rank, "squeeze")
    for a in axes:
        d = x.shape[a]
        if d != 1:
            found = "free (known only at call time)" if isinstance(d, Sym) else str(d)
            raise ShapeError(
                f"cannot squeeze axis {a} of an array of shape {_fmt(x.shape)}: only axes of size 1 "
                f"can be squeezed, and its size is {found}; index it (x[..., 0, ...]) or reshape instead"
            )
    return x.with_shape([d for i, d in enumerate(x.shape) if i not in axes])


def _same_dtype(types: Sequence[TensorType], op: str) -> str:
    dtypes = sorted({t.dtype for t in types})
    if len(dtypes) != 1:
        raise DTypeError(f"tir.{op} needs operands of one dtype, found {dtypes}")
    return dtypes[0]


def _concatenate_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    if not types:
        raise ShapeError("concatenate needs at least one array")
    dtype = _same_dtype(types, "concatenate")
    axis = attrs["axis"]
    first = types[0]
    if first.rank == 0:
        raise ShapeError("zero-dimensional arrays cannot be concatenated")
    if not 0 <= axis < first.rank:
        raise ShapeError(f"concatenate axis {axis} is out of range for arrays of rank {first.rank}")
    out = list(first.shape)
    for k, t in enumerate(types[1:], 1):
        if t.rank != first.rank:
            raise ShapeError(
                f"concatenate needs arrays of one rank: array 0 has shape {_fmt(first.shape)} "
                f"(rank {first.rank}) but array {k} has shape {_fmt(t.shape)} (rank {t.rank})"
            )
        for a in range(first.rank):
            if a == axis:
                out[a] = out[a] + t.shape[a]  # type: ignore[operator]
            else:
                out[a] = require_equal(
                    out[a],
                    t.shape[a],
                    f"concatenate along axis {axis}: array {k} has shape {_fmt(t.shape)} but array 0 "
                    f"has shape {_fmt(first.shape)}; sizes must agree on every other axis (axis {a})",
                )
    return TensorType(dtype, tuple(out))


def _stack_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    if not types:
        raise ShapeError("stack needs at least one array")
    dtype = _same_dtype(types, "stack")
    axis = attrs["axis"]
    first = types[0]
    if not 0 <= axis <= first.rank:
        raise ShapeError(f"stack axis {axis} is out of range for arrays of rank {first.rank}")
    shape = list(first.shape)
    for k, t in enumerate(types[1:], 1):
        if t.rank != first.rank:
            raise ShapeError(
                f"stack needs arrays of one shape: array 0 has shape {_fmt(first.shape)} "
                f"but array {k} has shape {_fmt(t.shape)}"
            )
        for a in range(first.rank):
            shape[a] = require_equal(
                shape[a],
                t.shape[a],
                f"stack: array {k} has shape {_fmt(t.shape)} but array 0 has shape "
                f"{_fmt(first.shape)}; all arrays must have one shape (axis {a})",
            )
    shape.insert(axis, len(types))
    return TensorType(dtype, tuple(shape))


def _slice_attrs(x: TensorType, attrs: Mapping[str, Any], op: str = "slice") -> tuple[tuple, tuple, tuple]:
    starts, stops, steps = (tuple(attrs[k]) for k in ("starts", "stops", "steps"))
    if not len(starts) == len(stops) == len(steps) == x.rank:
        raise ShapeError(
            f"tir.{op} needs one start, stop and step per axis of the rank-{x.rank} operand; "
            f"found {len(starts)}, {len(stops)}, {len(steps)}"
        )
    return starts, stops, steps


def _slice_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    (x,) = types
    return x.with_shape(_sliced_shape(x, attrs, "slice"))


def _sliced_shape(x: TensorType, attrs: Mapping[str, Any], op: str) -> list[Dim]:
    """Shape of ``x[starts:stops:steps]``; integer indices on free axes become call-time checks."""
    starts, stops, steps = _slice_attrs(x, attrs, op)
    out: list[Dim] = []
    for axis, (n, start, stop, step) in enumerate(zip(x.shape, starts, stops, steps)):
        if step is None:
            raise ShapeError(f"tir.{op} needs an explicit step on axis {axis}")
        if step != 0:
            out.append(slice_axis(n, start, stop, step, SYM_OPS)[1])
            continue
        # step 0: an integer index; the axis is dropped
        if start is None:
            raise ShapeError(f"tir.{op}: the integer index on axis {axis} is missing")
        if isinstance(n, int):
            if not -n <= start < n:
                raise IndexOutOfBoundsError(
                    f"index {start} is out of bounds for axis {axis} with size {n}"
                )
        else:
            need = start + 1 if start >= 0 else -start
            require_equal(
                dim_min(n, need),
                need,
                f"index {start} is out of bounds for axis {axis}: its size must be at least {need}",
            )
    return out


def _slice_key(starts: Sequence[int | None], stops: Sequence[int | None], steps: Sequence[int]) -> tuple:
    return tuple(
        start if step == 0 else slice(start, stop, step) for start, stop, step in zip(starts, stops, steps)
    )


def _slice_ref(
    x: np.ndarray, starts: Sequence[int | None], stops: Sequence[int | None], steps: Sequence[int]
) -> np.ndarray:
    return np.array(x[_slice_key(starts, stops, steps)])


def _slice_update_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    if len(types) != 2:
        raise ShapeError(f"tir.slice_update takes an array and an update; found {len(types)} operands")
    x, v = types
    want = _sliced_shape(x, attrs, "slice_update")
    if v.dtype != x.dtype:
        raise DTypeError(
            f"slice_update: the update must have the array's dtype {x.dtype}; found {v.dtype} "
            "(cast the update first)"
        )
    mismatch = (
        f"slice_update: the update must have the shape of the slice, {_fmt(want)}; "
        f"found shape {_fmt(v.shape)}"
    )
    if v.rank != len(want):
        raise ShapeError(mismatch)
    for axis, (w, d) in enumerate(zip(want, v.shape)):
        if isinstance(w, int) and isinstance(d, int) and w != d:
            raise ShapeError(f"{mismatch} (axis {axis})")
        require_equal(w, d, f"{mismatch} (axis {axis})")
    return x


def _slice_update_ref(
    x: np.ndarray, v: np.ndarray, starts: Sequence[int | None], stops: Sequence[int | None], steps: Sequence[int]
) -> np.ndarray:
    y = x.copy()
    y[_slice_key(starts, stops, steps)] = v
    return y


def _split_point(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> Dim:
    """``n`` of ``tir.split``: the ``size`` attribute, or the index operand when it is -1."""
    size, at = attrs["size"], types[1:]
    if size >= 0:
        if at:
            raise ShapeError(f"tir.split with size {size} takes no index operand; found {len(at)}")
        return size
    if size != -1:
        raise ShapeError(f"tir.split needs a size >= 0, or -1 with an index operand; found size {size}")
    if len(at) != 1 or at[0].dtype != "index":
        raise ShapeError(
            "tir.split with size -1 takes exactly one index operand (the split point); "
            f"found {[str(t) for t in at]}"
        )
    syms = _dim_syms(attrs, 1)
    return syms[0] if syms is not None else Sym.fresh()


def _split_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> list[TensorType]:
    if not types:
        raise ShapeError("tir.split needs an array to split")
    x, axis = types[0], attrs["axis"]
    if not 0 <= axis < x.rank:
        raise ShapeError(f"tir.split axis {axis} is out of range for an array of rank {x.rank}")
    n, d = _split_point(types, attrs), x.shape[axis]
    if isinstance(n, int) and isinstance(d, int):
        if n > d:
            raise ShapeError(
                f"cannot split an array of shape {_fmt(x.shape)} after {n} entries along axis {axis}: "
                f"the axis has only {d}"
            )
    elif n != 0:
        require_equal(
            dim_min(d, n), n, f"split along axis {axis}: the axis must have at least as many entries as the head"
        )
    head, tail = list(x.shape), list(x.shape)
    head[axis], tail[axis] = n, SYM_OPS.sub(d, n)
    return [x.with_shape(head), x.with_shape(tail)]


def _split_ref(x: np.ndarray, *at: int, axis: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    n = size if size >= 0 else int(at[0])
    lead = (slice(None),) * axis
    return np.array(x[lead + (slice(None, n),)]), np.array(x[lead + (slice(n, None),)])


def _size_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    (x,) = types
    axes, dtype = tuple(attrs["axes"]), attrs["dtype"]
    if dtype not in DTYPES or dtype == "bool":
        raise DTypeError(f"tir.size gives a number; found dtype {dtype}")
    if len(set(axes)) != len(axes) or any(not 0 <= a < x.rank for a in axes):
        raise ShapeError(f"tir.size needs distinct axes in [0, {x.rank}); found {axes}")
    return TensorType(dtype, ())


def _size_ref(x: np.ndarray, axes: Sequence[int], dtype: str) -> np.ndarray:
    return np.asarray(math.prod(x.shape[a] for a in axes), dtype=dtype)


def _broadcast_to_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    x, *dims = types
    target = shape_from_attr(attrs["shape"], dims, _dim_syms(attrs, len(dims)))
    if None in target:
        raise ShapeError(f"broadcast_to needs a complete shape; found {_fmt(attrs['shape'])}")
    if len(target) < x.rank:
        raise ShapeError(
            f"cannot broadcast an array of shape {_fmt(x.shape)} to the shape {_fmt(target)} "
            "of lower rank"
        )
    out = list(target)
    offset = len(target) - x.rank
    for k, d in enumerate(x.shape):
        if d == 1:
            continue
        out[k + offset] = require_equal(
            d,
            target[k + offset],
            f"cannot broadcast an array of shape {_fmt(x.shape)} to shape {_fmt(target)}: "
            f"axis {k + offset} must have size 1 or the target size",
        )
    return x.with_shape(out)


def _broadcast_to_ref(x: np.ndarray, *dims: int, shape: Sequence[int]) -> np.ndarray:
    return np.array(np.broadcast_to(x, tuple(_concrete(shape, dims))))  # type: ignore[arg-type]


def _flip_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    (x,) = types
    _axes_ok(attrs["axes"], x.rank, "flip")
    return x


OPS: list[OpDef] = [
    OpDef("constant", (), {"value": "dense"}, _constant_rule, lambda value: np.array(value),
          "shape", False, "a constant array"),
    OpDef("dim", ("x",), {"axis": "int"}, _dim_rule, _dim_ref,
          "shape", False, "size of one axis, as an index value"),
    OpDef("full", ("*dims",), {"shape": "ints", "dtype": "dtype", "value": "float"}, _full_rule, _full_ref,
          "shape", False, "an array of one value; -1 in shape takes the next dim operand"),
    OpDef("arange", ("*stop",), {"start": "float", "step": "float", "size": "int", "dtype": "dtype"},
          _arange_rule, _arange_ref, "shape", False,
          "start + i * step for i < size; size -1 takes len(range(start, stop, step)) from the stop operand"),
    # reshape: shape entries are static dims, -1 (the next dim operand) or None (inferred, at most one)
    OpDef("reshape", ("x", "*dims"), {"shape": "ints"}, _reshape_rule, _reshape_ref, "shape", True,
          "the same elements in row-major order under a new shape"),
    # transpose: out.shape[i] = x.shape[perm[i]]
    OpDef("transpose", ("x",), {"perm": "ints"}, _transpose_rule,
          lambda x, perm: np.transpose(x, perm).copy(), "shape", True, "permute the axes"),
    # expand_dims: axes are positions of new size-1 axes in the result
    OpDef("expand_dims", ("x",), {"axes": "ints"}, _expand_dims_rule,
          lambda x, axes: np.expand_dims(x, tuple(axes)).copy(), "shape", True, "insert size-1 axes"),
    # squeeze: axes must be statically 1
    OpDef("squeeze", ("x",), {"axes": "ints"}, _squeeze_rule,
          lambda x, axes: np.squeeze(x, axis=tuple(axes)).copy(), "shape", True, "drop size-1 axes"),
    # concatenate: the arrays after the first share one type (an IRDL variadic binds one type)
    OpDef("concatenate", ("x", "*xs"), {"axis": "int"}, _concatenate_rule,
          lambda *xs, axis: np.concatenate(xs, axis=axis), "shape", True, "join arrays along an existing axis"),
    # stack: all arrays share one type
    OpDef("stack", ("*xs",), {"axis": "int"}, _stack_rule,
          lambda *xs, axis: np.stack(xs, axis=axis), "shape", True, "join arrays along a new axis"),
    # slice: per axis start/stop (None allowed) and step; step 0 is an integer index (start) dropping the axis
    OpDef("slice", ("x",), {"starts": "ints", "stops": "ints", "steps": "ints"}, _slice_rule, _slice_ref,
          "shape", True, "basic indexing: Python slices per axis, or an integer index with step 0"),
    # slice_update: the attributes of slice; v has the slice's shape and x's dtype
    OpDef("slice_update", ("x", "v"), {"starts": "ints", "stops": "ints", "steps": "ints"},
          _slice_update_rule, _slice_update_ref, "shape", True,
          "a copy of x with the slice x[starts:stops:steps] replaced by v (x.at[idx].set(v))"),
    # split: n = size, or the index operand when size is -1; head has n entries along axis
    OpDef("split", ("x", "*at"), {"axis": "int", "size": "int"}, _split_rule, _split_ref, "shape", True,
          "(x[..., :n, ...], x[..., n:, ...]) along axis", num_results=2),
    OpDef("size", ("x",), {"axes": "ints", "dtype": "dtype"}, _size_rule, _size_ref, "shape", False,
          "the number of elements along axes (1 for none), as a 0-d array of dtype"),
    # broadcast_to: -1 in shape takes the next dim operand
    OpDef("broadcast_to", ("x", "*dims"), {"shape": "ints"}, _broadcast_to_rule, _broadcast_to_ref,
          "shape", True, "repeat size-1 and missing leading axes up to a shape"),
    OpDef("flip", ("x",), {"axes": "ints"}, _flip_rule, lambda x, axes: np.flip(x, tuple(axes)).copy(),
          "shape", True, "reverse the order of elements along axes"),
    # dynamic_slice, dynamic_update_slice: windows at run-time offsets (dynamic_slice.py)
    *dynamic_slice.OPS,
]
