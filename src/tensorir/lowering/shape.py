"""Lowering of shape ops and value constructors to tensor/arith/linalg.

Takes in: ``tir.constant``, ``dim``, ``full``, ``arange``, ``reshape``,
``transpose``, ``expand_dims``, ``squeeze``, ``concatenate``, ``stack``,
``slice``, ``slice_update``, ``split``, ``size``, ``broadcast_to``,
``flip``, and (in ``dynamic_slice.py``) ``dynamic_slice`` and
``dynamic_update_slice``. Leaves: ``tensor`` reshapes and slices (``collapse_shape``/
``expand_shape``, ``extract_slice``/``insert_slice``), ``linalg.generic``
for data movement that is not a view (transpose, broadcast, reversed reads,
arange), ``tensor.from_elements`` for sizes as arrays, and ``arith`` on
``index`` for sizes and offsets of free dims.

Sizes are computed with the same index arithmetic the type rules use
(:class:`tensorir.dialects.dim_ops.DimOps`), here over ``index`` values; a
dim the result type knows statically is taken from the type.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ..dialects._bindings import ir
from ..dialects.dim_ops import DimOps, arange_length, index_axis, reshape_dims, slice_axis
from .common import broadcast_map, dtype_of, empty, fill, generic, index_const, scalar_const, sizes_of

__all__ = ["RULES", "IndexOps"]


def _attrs(op: ir.Operation) -> dict:
    from ..dialects import op_attrs, opdef_of

    return op_attrs(op, opdef_of(op))


class IndexOps(DimOps[ir.Value]):
    """:class:`DimOps` emitting ``arith`` ops on ``index`` values (ints fold)."""

    @staticmethod
    def _v(a: Any) -> ir.Value:
        return index_const(a) if isinstance(a, int) else a

    def _bin(self, name: str, fold: Callable[[int, int], int], a: Any, b: Any) -> Any:
        from mlir.dialects import arith

        if isinstance(a, int) and isinstance(b, int):
            return fold(a, b)
        return getattr(arith, name)(self._v(a), self._v(b))

    def add(self, a: Any, b: Any) -> Any:
        if isinstance(b, int) and b == 0:
            return a
        return self._bin("addi", lambda x, y: x + y, a, b)

    def sub(self, a: Any, b: Any) -> Any:
        if isinstance(b, int) and b == 0:
            return a
        return self._bin("subi", lambda x, y: x - y, a, b)

    def mul(self, a: Any, b: Any) -> Any:
        if isinstance(b, int) and b == 1:
            return a
        if isinstance(a, int) and a == 1:
            return b
        return self._bin("muli", lambda x, y: x * y, a, b)

    def floordiv(self, a: Any, b: Any) -> Any:
        if isinstance(b, int) and b == 1:
            return a
        return self._bin("floordivsi", lambda x, y: x // y, a, b)

    def ceildiv(self, a: Any, b: Any) -> Any:
        if isinstance(b, int) and b == 1:
            return a
        return self._bin("ceildivsi", lambda x, y: -(-x // y), a, b)

    def min(self, a: Any, b: Any) -> Any:
        return self._bin("minsi", min, a, b)

    def max(self, a: Any, b: Any) -> Any:
        return self._bin("maxsi", max, a, b)


_OPS = IndexOps()


def _mixed(values: Sequence[Any]) -> tuple[list[ir.Value], list[int]]:
    """Split mixed static/dynamic sizes into (dynamic values, static array)."""
    dyn = ir.ShapedType.get_dynamic_size()
    static = [v if isinstance(v, int) else dyn for v in values]
    return [v for v in values if not isinstance(v, int)], static


def _typed_sizes(t: ir.RankedTensorType, sizes: Sequence[Any]) -> list[Any]:
    """``sizes`` with every dim the type knows statically taken from the type."""
    return [s if t.is_dynamic_dim(i) else int(t.shape[i]) for i, s in enumerate(sizes)]


def _reassociation(groups: Sequence[Sequence[int]]) -> ir.ArrayAttr:
    i64 = ir.IntegerType.get_signless(64)
    return ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, k) for k in g]) for g in groups])


def _cast(value: ir.Value, t: ir.Type) -> ir.Value:
    from mlir.dialects import tensor

    return value if value.type == t else tensor.CastOp(t, value).result


def _expand(value: ir.Value, result: ir.RankedTensorType, groups: Sequence[Sequence[int]], sizes: Sequence[Any]) -> ir.Value:
    from mlir.dialects import tensor

    dyn, static = _mixed(_typed_sizes(result, sizes))
    return tensor.expand_shape(result, value, _reassociation(groups), dyn, static)


def _collapse(value: ir.Value, result: ir.RankedTensorType, groups: Sequence[Sequence[int]]) -> ir.Value:
    from mlir.dialects import tensor

    return tensor.collapse_shape(result, value, _reassociation(groups))


def _unit_groups(rank: int, kept: Sequence[int]) -> list[list[int]]:
    """Reassociation of a rank-``rank`` shape onto its ``kept`` axes.

    Every other axis (of size 1) joins the group of the next kept axis, or
    of the last one when it trails them.
    """
    groups: list[list[int]] = []
    pending: list[int] = []
    for i in range(rank):
        pending.append(i)
        if i in kept:
            groups.append(pending)
            pending = []
    if pending and groups:
        groups[-1].extend(pending)
    return groups


def _index_gather(
    x: ir.Value,
    result: ir.RankedTensorType,
    sizes: Sequence[Any],
    index_of: Callable[[list[ir.Value]], list[ir.Value]],
) -> ir.Value:
    """``out[i] = x[index_of(i)]``: a generic reading ``x`` with ``tensor.extract``."""
    from mlir.dialects import tensor

    from ..dialects._upstream import linalg

    rank = result.rank
    init = empty(_typed_sizes(result, sizes), result.element_type)

    def body(_out: ir.Value) -> list[ir.Value]:
        loop = [linalg.IndexOp(ir.IntegerAttr.get(ir.IntegerType.get_signless(64), d)).result for d in range(rank)]
        return [tensor.extract(x, [IndexOps._v(i) for i in index_of(loop)])]

    (res,) = generic([], [init], [ir.AffineMap.get_identity(rank)], ["parallel"] * rank, body)
    return res


# ---------------------------------------------------------------------------
# Rules


def _constant(op: ir.Operation) -> list[ir.Value]:
    from mlir.dialects import arith

    return [arith.ConstantOp(op.results[0].type, op.attributes["value"]).result]


def _dim(op: ir.Operation) -> list[ir.Value]:
    from mlir.dialects import tensor

    return [tensor.dim(op.operands[0], index_const(_attrs(op)["axis"]))]


def _full(op: ir.Operation) -> list[ir.Value]:
    attrs = _attrs(op)
    rt = op.results[0].type
    dims = iter(op.operands)
    sizes = [next(dims) if d == -1 else d for d in attrs["shape"]]
    return [fill(scalar_const(rt.element_type, attrs["value"]), empty(_typed_sizes(rt, sizes), rt.element_type))]


def _arange(op: ir.Operation) -> list[ir.Value]:
    """``out[i] = start + i * step``, in int64 for ints and float64 for floats."""
    from mlir.dialects import arith

    from ..dialects._upstream import linalg

    attrs = _attrs(op)
    rt = op.results[0].type
    start, step = attrs["start"], attrs["step"]
    if op.operands:
        size: Any = arange_length(op.operands[0], int(start), int(step), _OPS)
    else:
        size = attrs["size"]
    init = empty(_typed_sizes(rt, [size]), rt.element_type)
    el = rt.element_type
    i64, f64 = ir.IntegerType.get_signless(64), ir.F64Type.get()

    def body(_out: ir.Value) -> list[ir.Value]:
        i = arith.index_cast(i64, linalg.IndexOp(ir.IntegerAttr.get(i64, 0)).result)
        if dtype_of(el) in ("int32", "int64"):
            v = arith.addi(arith.muli(i, scalar_const(i64, int(step))), scalar_const(i64, int(start)))
            return [v if el == i64 else arith.trunci(el, v)]
        v = arith.addf(arith.mulf(arith.sitofp(f64, i), scalar_const(f64, step)), scalar_const(f64, start))
        return [v if el == f64 else arith.truncf(el, v)]

    (res,) = generic([], [init], [ir.AffineMap.get_identity(1)], ["parallel"], body)
    return [res]


def _reshape(op: ir.Operation) -> list[ir.Value]:
    """Collapse to 1-D, then expand to the new shape (both are views)."""
    from mlir.dialects import tensor

    x, *dim_ops = op.operands
    rt = op.results[0].type
    src = x.type
    dims = iter(dim_ops)
    given = [next(dims) if d == -1 else d for d in _attrs(op)["shape"]]
    total: Any = 1
    for s in sizes_of(x):
        total = _OPS.mul(total, s)
    sizes = _typed_sizes(rt, reshape_dims(total, given, _OPS))
    el = rt.element_type
    if src.rank == 0 or rt.rank == 0:
        # one element: read it, and fill a fresh tensor of the new shape
        scalar = tensor.extract(x, [index_const(0)] * src.rank)
        if rt.rank == 0:
            return [tensor.from_elements(rt, [scalar])]
        return [fill(scalar, empty(sizes, el))]
    groups = _leading_collapse(x, rt, given)
    if groups is not None:
        return [_cast(_collapse(x, _collapsed_type(src, groups, el), groups), rt)]
    n_dynamic = sum(1 for i in range(rt.rank) if rt.is_dynamic_dim(i))
    if n_dynamic > 1:
        # expand_shape allows one dynamic dim per group: reshape by a shape tensor
        index = ir.IndexType.get()
        shape = tensor.from_elements(
            ir.RankedTensorType.get([rt.rank], index), [IndexOps._v(s) for s in sizes]
        )
        return [tensor.reshape(rt, x, shape)]
    flat_static = n_dynamic == 0
    dyn = ir.ShapedType.get_dynamic_size()
    flat_type = ir.RankedTensorType.get([_static_total(rt) if flat_static else dyn], el)
    if src.rank == 1:
        flat = x
    else:
        whole = [list(range(src.rank))]
        flat = _collapse(x, _collapsed_type(src, whole, el), whole)
    flat = _cast(flat, flat_type)
    if rt.rank == 1:
        return [_cast(flat, rt)]
    return [_expand(flat, rt, [list(range(rt.rank))], sizes)]


def _same_dim(x: ir.Value, axis: int, d: Any) -> bool:
    """Whether the given size ``d`` is provably ``x``'s size on ``axis``:
    the same static size, or a ``tensor.dim`` of ``x`` on that axis."""
    t = x.type
    if isinstance(d, int):
        return not t.is_dynamic_dim(axis) and int(t.shape[axis]) == d
    if not isinstance(d, ir.Value) or not isinstance(d.owner, ir.OpView) or d.owner.operation.name != "tensor.dim":
        return False
    dim_op = d.owner.operation
    if dim_op.operands[0] != x:
        return False
    index = dim_op.operands[1].owner
    if not isinstance(index, ir.OpView) or index.operation.name != "arith.constant":
        return False
    return ir.IntegerAttr(index.operation.attributes["value"]).value == axis


def _leading_collapse(x: ir.Value, rt: ir.RankedTensorType, given: Sequence[Any]) -> list[list[int]] | None:
    """Groups collapsing ``x``'s leading axes into the result's first one when
    every later result dim is provably the matching trailing dim of ``x``
    (``(steps, batch, k) -> (-1, k)``). One collapse is a view that fusion
    can propagate; collapsing to 1-d and expanding again (or a
    ``tensor.reshape`` when two result dims are free) cannot, and expansions
    with two free sizes in one group are not lowered."""
    src = x.type
    r, n = rt.rank, src.rank
    if not 1 <= r < n:
        return None
    lead = n - r  # source axes 0..lead join result axis 0
    for j in range(1, r):
        if not _same_dim(x, lead + j, given[j]):
            return None
    return [list(range(lead + 1))] + [[lead + j] for j in range(1, r)]


def _collapsed_type(src: ir.RankedTensorType, groups: Sequence[Sequence[int]], el: ir.Type) -> ir.RankedTensorType:
    dyn = ir.ShapedType.get_dynamic_size()
    shape = []
    for g in groups:
        if any(src.is_dynamic_dim(i) for i in g):
            shape.append(dyn)
        else:
            n = 1
            for i in g:
                n *= int(src.shape[i])
            shape.append(n)
    return ir.RankedTensorType.get(shape, el)


def _static_total(t: ir.RankedTensorType) -> int:
    n = 1
    for i in range(t.rank):
        n *= int(t.shape[i])
    return n


def _transpose(op: ir.Operation) -> list[ir.Value]:
    (x,) = op.operands
    rt = op.results[0].type
    perm = list(_attrs(op)["perm"])
    rank = rt.rank
    src_sizes = sizes_of(x)
    init = empty(_typed_sizes(rt, [src_sizes[p] for p in perm]), rt.element_type)
    inverse = [perm.index(a) for a in range(rank)]
    # out[i_0, ..., i_{r-1}] = x[j] with j[perm[k]] = i_k
    read = ir.AffineMap.get(rank, 0, [ir.AffineDimExpr.get(inverse[a]) for a in range(rank)])
    (res,) = generic([x], [init], [read, ir.AffineMap.get_identity(rank)], ["parallel"] * rank, lambda a, _o: [a])
    return [res]


def _expand_dims(op: ir.Operation) -> list[ir.Value]:
    from mlir.dialects import tensor

    (x,) = op.operands
    rt = op.results[0].type
    axes = set(_attrs(op)["axes"])
    if x.type.rank == 0:
        scalar = tensor.extract(x, [])
        return [tensor.from_elements(rt, [scalar])]
    src_sizes = iter(sizes_of(x))
    sizes = [1 if i in axes else next(src_sizes) for i in range(rt.rank)]
    kept = [i for i in range(rt.rank) if i not in axes]
    return [_expand(x, rt, _unit_groups(rt.rank, kept), sizes)]


def _squeeze(op: ir.Operation) -> list[ir.Value]:
    (x,) = op.operands
    rt = op.results[0].type
    axes = set(_attrs(op)["axes"])
    if not axes:
        return [x]
    kept = [i for i in range(x.type.rank) if i not in axes]
    return [_collapse(x, rt, _unit_groups(x.type.rank, kept))]


def _insert(src: ir.Value, dest: ir.Value, offsets: Sequence[Any], sizes: Sequence[Any]) -> ir.Value:
    from mlir.dialects import tensor

    dyn_off, st_off = _mixed(offsets)
    dyn_size, st_size = _mixed(sizes)
    return tensor.insert_slice(src, dest, dyn_off, dyn_size, [], st_off, st_size, [1] * len(sizes))


def _concatenate(op: ir.Operation) -> list[ir.Value]:
    """Insert each operand at its running offset along ``axis``."""
    xs = list(op.operands)
    rt = op.results[0].type
    axis = _attrs(op)["axis"]
    all_sizes = [sizes_of(x) for x in xs]
    sizes = list(all_sizes[0])
    for s in all_sizes[1:]:
        sizes[axis] = _OPS.add(sizes[axis], s[axis])
    dest = empty(_typed_sizes(rt, sizes), rt.element_type)
    offset: Any = 0
    for x, s in zip(xs, all_sizes):
        offsets = [offset if a == axis else 0 for a in range(rt.rank)]
        dest = _insert(x, dest, offsets, s)
        offset = _OPS.add(offset, s[axis])
    return [dest]


def _stack(op: ir.Operation) -> list[ir.Value]:
    """Insert operand ``k`` as the rank-reduced slice ``k`` of the new axis."""
    xs = list(op.operands)
    rt = op.results[0].type
    axis = _attrs(op)["axis"]
    sizes = list(sizes_of(xs[0]))
    sizes.insert(axis, len(xs))
    dest = empty(_typed_sizes(rt, sizes), rt.element_type)
    for k, x in enumerate(xs):
        s = list(sizes_of(x))
        s.insert(axis, 1)
        # Insert a full-rank slice of x with its unit axis made explicit: a
        # rank-reducing insert is ambiguous when x has other static-1 dims, and
        # expand-strided-metadata then drops the wrong one (x: 1x?x?, axis 2).
        unit_type = ir.RankedTensorType.get(
            [1 if a == axis else rt.shape[a] for a in range(rt.rank)], rt.element_type
        )
        kept = [a for a in range(rt.rank) if a != axis]
        expanded = _expand(x, unit_type, _unit_groups(rt.rank, kept), s) if x.type.rank else _scalar_as(x, unit_type)
        offsets = [k if a == axis else 0 for a in range(rt.rank)]
        dest = _insert(expanded, dest, offsets, s)
    return [dest]


def _scalar_as(x: ir.Value, t: ir.RankedTensorType) -> ir.Value:
    from mlir.dialects import tensor

    return tensor.from_elements(t, [tensor.extract(x, [])])


def _slice_bounds(x: ir.Value, attrs: dict) -> tuple[list[Any], list[Any]]:
    """(first index, length) per axis of ``x[starts:stops:steps]``; length 1 at integer indices."""
    firsts: list[Any] = []
    lengths: list[Any] = []
    for n, start, stop, step in zip(sizes_of(x), attrs["starts"], attrs["stops"], attrs["steps"]):
        if step == 0:
            firsts.append(index_axis(n, start, _OPS))
            lengths.append(1)
        else:
            first, length = slice_axis(n, start, stop, step, _OPS)
            firsts.append(first)
            lengths.append(length)
    return firsts, lengths


def _slice(op: ir.Operation) -> list[ir.Value]:
    """A view (``extract_slice``) for non-negative steps, a reversed read otherwise."""
    from mlir.dialects import tensor

    (x,) = op.operands
    rt = op.results[0].type
    attrs = _attrs(op)
    firsts, lengths = _slice_bounds(x, attrs)
    kept = [a for a, step in enumerate(attrs["steps"]) if step != 0]
    out_sizes = _typed_sizes(rt, [lengths[a] for a in kept])
    for k, a in enumerate(kept):
        lengths[a] = out_sizes[k]
        if isinstance(lengths[a], int) and lengths[a] == 0:
            firsts[a] = 0  # an empty slice may start at the end; the verifier wants offsets < size
    steps = list(attrs["steps"])
    if all(s >= 0 for s in steps):
        dyn_off, st_off = _mixed(firsts)
        dyn_size, st_size = _mixed(lengths)
        strides = [max(s, 1) for s in steps]
        if len(kept) == x.type.rank:
            return [tensor.extract_slice(rt, x, dyn_off, dyn_size, [], st_off, st_size, strides)]
        # integer indices: a full-rank view, then its unit axes collapsed (a
        # rank-reducing extract_slice is ambiguous next to other unit dims)
        dyn = ir.ShapedType.get_dynamic_size()
        full_t = ir.RankedTensorType.get([d if isinstance(d, int) else dyn for d in lengths], rt.element_type)
        view = tensor.extract_slice(full_t, x, dyn_off, dyn_size, [], st_off, st_size, strides)
        return [_collapse(view, rt, _unit_groups(x.type.rank, kept))]

    def index_of(loop: list[ir.Value]) -> list[ir.Value]:
        it = iter(loop)
        out = []
        for a, step in enumerate(steps):
            if step == 0:
                out.append(firsts[a])
            else:
                out.append(_OPS.add(firsts[a], _OPS.mul(next(it), step)))
        return out

    return [_index_gather(x, rt, out_sizes, index_of)]


def _slice_update(op: ir.Operation) -> list[ir.Value]:
    """``insert_slice`` of the update into ``x``, with positive strides and full rank.

    A negative step writes the same positions as the positive step ``-step``
    from the last one, in reverse order: the update is flipped first. An
    integer index gives the update a unit axis there (a full-rank insert;
    a rank-reducing one is ambiguous next to other unit dims).
    """
    from mlir.dialects import tensor

    x, v = op.operands
    rt = op.results[0].type
    if rt.rank == 0:
        return [v]
    attrs = _attrs(op)
    steps = list(attrs["steps"])
    firsts, lengths = _slice_bounds(x, attrs)
    kept = [a for a, step in enumerate(steps) if step != 0]
    v_sizes = sizes_of(v)
    for k, a in enumerate(kept):
        if not isinstance(lengths[a], int):
            lengths[a] = v_sizes[k]  # static where the update's type knows it
    offsets: list[Any] = []
    for a, step in enumerate(steps):
        if isinstance(lengths[a], int) and lengths[a] == 0:
            offsets.append(0)  # the verifier wants static offsets < size
        elif step < 0:
            offsets.append(_OPS.add(firsts[a], _OPS.mul(_OPS.sub(lengths[a], 1), step)))  # the last position
        else:
            offsets.append(firsts[a])
    el = rt.element_type
    dyn = ir.ShapedType.get_dynamic_size()
    kept_sizes = [lengths[a] for a in kept]
    update_type = ir.RankedTensorType.get([s if isinstance(s, int) else dyn for s in kept_sizes], el)
    update = _cast(v, update_type)
    reversed_axes = {k for k, a in enumerate(kept) if steps[a] < 0}
    if reversed_axes:
        update = _index_gather(
            update,
            update_type,
            kept_sizes,
            lambda loop: [
                _OPS.sub(_OPS.sub(kept_sizes[k], 1), i) if k in reversed_axes else i for k, i in enumerate(loop)
            ],
        )
    if len(kept) < rt.rank:
        full_type = ir.RankedTensorType.get(
            [1 if steps[a] == 0 else update_type.shape[kept.index(a)] for a in range(rt.rank)], el
        )
        if kept:
            update = _expand(update, full_type, _unit_groups(rt.rank, kept), lengths)
        else:
            update = _scalar_as(update, full_type)
    dyn_off, st_off = _mixed(offsets)
    dyn_size, st_size = _mixed(lengths)
    strides = [abs(s) if s else 1 for s in steps]
    return [tensor.insert_slice(update, x, dyn_off, dyn_size, [], st_off, st_size, strides)]


def _split(op: ir.Operation) -> list[ir.Value]:
    """Two views (``extract_slice``): entries ``[0, n)`` and ``[n, dim)`` along ``axis``."""
    from mlir.dialects import tensor

    x, *at = op.operands
    attrs = _attrs(op)
    axis, size = attrs["axis"], attrs["size"]
    n: Any = size if size >= 0 else at[0]
    sizes = sizes_of(x)
    out = []
    for rt, first, length in (
        (op.results[0].type, 0, n),
        (op.results[1].type, n, _OPS.sub(sizes[axis], n)),
    ):
        lengths = _typed_sizes(rt, [length if a == axis else s for a, s in enumerate(sizes)])
        offsets = [0] * rt.rank
        if not (isinstance(lengths[axis], int) and lengths[axis] == 0):
            offsets[axis] = first  # an empty piece starts at 0: the verifier wants offsets < size
        dyn_off, st_off = _mixed(offsets)
        dyn_size, st_size = _mixed(lengths)
        out.append(tensor.extract_slice(rt, x, dyn_off, dyn_size, [], st_off, st_size, [1] * rt.rank))
    return out


def _size(op: ir.Operation) -> list[ir.Value]:
    """The product of ``tensor.dim`` over ``axes`` on ``index``, converted to the result dtype."""
    from mlir.dialects import arith, tensor

    (x,) = op.operands
    rt = op.results[0].type
    el = rt.element_type
    xt = x.type
    total: Any = 1
    for a in _attrs(op)["axes"]:
        total = _OPS.mul(total, tensor.dim(x, index_const(a)) if xt.is_dynamic_dim(a) else int(xt.shape[a]))
    if isinstance(total, int):
        scalar = scalar_const(el, total)
    else:
        i64 = ir.IntegerType.get_signless(64)
        scalar = arith.index_cast(i64, total)
        if isinstance(el, ir.FloatType):
            scalar = arith.sitofp(el, scalar)
        elif el != i64:
            scalar = arith.trunci(el, scalar)
    return [tensor.from_elements(rt, [scalar])]


def _broadcast_to(op: ir.Operation) -> list[ir.Value]:
    x, *dim_ops = op.operands
    rt = op.results[0].type
    dims = iter(dim_ops)
    sizes = [next(dims) if d == -1 else d for d in _attrs(op)["shape"]]
    rank = rt.rank
    init = empty(_typed_sizes(rt, sizes), rt.element_type)
    maps = [broadcast_map(x.type, rank), ir.AffineMap.get_identity(rank)]
    (res,) = generic([x], [init], maps, ["parallel"] * rank, lambda a, _o: [a])
    return [res]


def _flip(op: ir.Operation) -> list[ir.Value]:
    (x,) = op.operands
    rt = op.results[0].type
    axes = set(_attrs(op)["axes"])
    if not axes:
        return [x]
    sizes = sizes_of(x)

    def index_of(loop: list[ir.Value]) -> list[ir.Value]:
        # reversed axis a reads n_a - 1 - i_a
        return [_OPS.sub(_OPS.sub(sizes[a], 1), i) if a in axes else i for a, i in enumerate(loop)]

    return [_index_gather(x, rt, sizes, index_of)]


RULES: dict[str, Callable[[ir.Operation], list[ir.Value]]] = {
    "constant": _constant,
    "dim": _dim,
    "full": _full,
    "arange": _arange,
    "reshape": _reshape,
    "transpose": _transpose,
    "expand_dims": _expand_dims,
    "squeeze": _squeeze,
    "concatenate": _concatenate,
    "stack": _stack,
    "slice": _slice,
    "slice_update": _slice_update,
    "split": _split,
    "size": _size,
    "broadcast_to": _broadcast_to,
    "flip": _flip,
}


# The windows at run-time offsets, in their own module (it builds on the helpers above).
from . import dynamic_slice as _dynamic_slice  # noqa: E402

RULES.update(_dynamic_slice.RULES)
