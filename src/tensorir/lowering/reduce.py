"""Lowering of reductions to ``linalg.generic`` with reduction iterators.

The accumulator starts from the reduction's identity (0, 1, -inf, +inf, or
the integer limits) filled into the result; ``mean`` divides the sum by the
number of reduced elements afterwards. Float ``max``/``min`` use
``arith.maximumf``/``minimumf``, which propagate NaN as NumPy does.

``argmax``/``argmin`` carry two accumulators, the best value and its index
flattened row-major over the reduced axes (``linalg.index`` of each reduced
loop). Their combine step is a lexicographic comparison of (value, -index)
in which NaN ranks above every number and ties go to the smaller index, so
it is commutative and associative: the result does not depend on the order
the loops run in (vectorised or parallel loops give the same index).
"""

from __future__ import annotations

from typing import Callable, Sequence

from ..dialects._bindings import ir
from .common import dtype_of, empty, fill, generic, index_const, scalar_const, sizes_of

__all__ = ["RULES", "reduce_generic", "reduce_identity", "reduce_combine", "row_map"]


def _a():
    from mlir.dialects import arith

    return arith


def _is_float(dtype: str) -> bool:
    return dtype in ("float32", "float64")


def reduce_identity(kind: str, dtype: str, el: ir.Type) -> ir.Value:
    """The identity of reduction ``kind`` (sum/mean/prod/max/min) for ``dtype``."""
    if kind in ("sum", "mean"):
        return scalar_const(el, 0)
    if kind == "prod":
        return scalar_const(el, 1)
    if _is_float(dtype):
        return scalar_const(el, float("-inf") if kind == "max" else float("inf"))
    if dtype == "bool":
        return scalar_const(el, kind == "min")
    bits = 32 if dtype == "int32" else 64
    return scalar_const(el, -(2 ** (bits - 1)) if kind == "max" else 2 ** (bits - 1) - 1)


def reduce_combine(kind: str, dtype: str) -> Callable[[ir.Value, ir.Value], ir.Value]:
    """``combine(acc, x)`` of reduction ``kind``; float max/min propagate NaN."""
    arith = _a()
    is_float = _is_float(dtype)
    if kind in ("sum", "mean"):
        return _reassociable(arith.addf) if is_float else arith.addi
    if kind == "prod":
        return _reassociable(arith.mulf) if is_float else arith.muli
    if dtype == "bool":
        return arith.ori if kind == "max" else arith.andi
    if kind == "max":
        return arith.maximumf if is_float else arith.maxsi
    return arith.minimumf if is_float else arith.minsi


def _reassociable(op: Callable[..., ir.Value]) -> Callable[[ir.Value, ir.Value], ir.Value]:
    """A float sum/product LLVM may reorder (``fastmath<reassoc>``), so that it
    vectorises the accumulation as NumPy's pairwise summation does. The result
    differs from a sequential sum by rounding only; tests compare within
    tolerance, as against NumPy."""

    def combine(a: ir.Value, b: ir.Value) -> ir.Value:
        return op(a, b, fastmath=ir.Attribute.parse("#arith.fastmath<reassoc>"))

    return combine


def row_map(rank: int, axes: Sequence[int], keepdims: bool) -> ir.AffineMap:
    """Indexing map from a rank-``rank`` loop nest to a tensor reduced over ``axes``."""
    exprs = [
        ir.AffineConstantExpr.get(0) if i in axes else ir.AffineDimExpr.get(i)
        for i in range(rank)
        if keepdims or i not in axes
    ]
    return ir.AffineMap.get(rank, 0, exprs)


def _reduced_sizes(x: ir.Value, axes: Sequence[int], keepdims: bool) -> list[int | ir.Value]:
    sizes = sizes_of(x)
    if keepdims:
        return [1 if i in axes else s for i, s in enumerate(sizes)]
    return [s for i, s in enumerate(sizes) if i not in axes]


def reduce_generic(
    x: ir.Value,
    axes: tuple[int, ...],
    keepdims: bool,
    result_type: ir.RankedTensorType,
    init_value: ir.Value,
    combine: Callable[..., ir.Value],
    rows: Sequence[ir.Value] = (),
) -> ir.Value:
    """Reduce ``x`` over ``axes`` with ``combine``, starting from ``init_value``.

    ``rows`` are extra inputs already reduced over ``axes`` (shaped as the
    result, with or without kept dims as ``keepdims`` says); the body reads
    each at the current output position and calls
    ``combine(acc, x_element, *row_elements)``. This fuses, for example,
    ``sum(exp(x - max))`` into one pass over ``x``.
    """
    rank = x.type.rank
    init = fill(init_value, empty(_reduced_sizes(x, axes, keepdims), result_type.element_type))
    out_map = row_map(rank, axes, keepdims)
    maps = [ir.AffineMap.get_identity(rank)] + [out_map] * len(rows) + [out_map]
    iters = ["reduction" if i in axes else "parallel" for i in range(rank)]

    def body(a: ir.Value, *rest: ir.Value) -> list[ir.Value]:
        *row_vals, acc = rest
        if not axes:
            # nothing is reduced: each output element is combined once, with the
            # identity. Reading the accumulator instead would make the op read its
            # destination, and elementwise fusion into a consumer with more
            # iterations then accumulated across them (mean(x, axis=()) * y)
            acc = init_value
        return [combine(acc, a, *row_vals)]

    (res,) = generic([x, *rows], [init], maps, iters, body)
    return res


def _lower(kind: str):
    def rule(op: ir.Operation) -> list[ir.Value]:
        from ..dialects import op_attrs, opdef_of

        attrs = op_attrs(op, opdef_of(op))
        (x,) = op.operands
        rt = op.results[0].type
        dtype = dtype_of(x.type)
        axes = tuple(attrs["axes"])
        res = reduce_generic(
            x, axes, attrs["keepdims"], rt, reduce_identity(kind, dtype, rt.element_type), reduce_combine(kind, dtype)
        )
        if kind == "mean":
            res = _divide_by_count(res, x, axes, rt)
        return [res]

    return rule


def _divide_by_count(total: ir.Value, x: ir.Value, axes: tuple[int, ...], rt: ir.RankedTensorType) -> ir.Value:
    from .common import elementwise

    arith = _a()
    count: ir.Value | None = None
    for s in (sizes_of(x)[a] for a in axes):
        v = s if isinstance(s, ir.Value) else arith.constant(ir.IndexType.get(), s)
        count = v if count is None else arith.muli(count, v)
    if count is None:
        return total
    el = rt.element_type
    n = arith.uitofp(el, arith.index_cast(ir.IntegerType.get_signless(64), count))
    return elementwise([total], rt, lambda s: arith.divf(s, n))


# ---------------------------------------------------------------------------
# argmax / argmin


def _flat_index(axes: Sequence[int], sizes: Sequence[int | ir.Value]) -> ir.Value:
    """Row-major position over the reduced ``axes`` of the current iteration (index type)."""
    from ..dialects._upstream import linalg

    arith = _a()
    flat: ir.Value | None = None
    for a in axes:
        i = linalg.IndexOp(a).result
        if flat is None:
            flat = i
        else:
            s = sizes[a]
            size = s if isinstance(s, ir.Value) else index_const(s)
            flat = arith.addi(arith.muli(flat, size), i)
    return flat if flat is not None else index_const(0)


def _beats(kind: str, dtype: str, a: ir.Value, ia: ir.Value, b: ir.Value, ib: ir.Value) -> ir.Value:
    """Does candidate (a, ia) win over (b, ib)? A strict total order on pairs.

    argmax: a > b, or a == b with ia < ib; NaN is above every number (NumPy
    returns the first NaN). argmin: the same with a < b (NaN still wins).
    """
    arith = _a()
    earlier = arith.cmpi(arith.CmpIPredicate.slt, ia, ib)
    if _is_float(dtype):
        strictly = arith.cmpf(arith.CmpFPredicate.OGT if kind == "argmax" else arith.CmpFPredicate.OLT, a, b)
        equal = arith.cmpf(arith.CmpFPredicate.OEQ, a, b)
        a_nan = arith.cmpf(arith.CmpFPredicate.UNO, a, a)
        b_num = arith.cmpf(arith.CmpFPredicate.ORD, b, b)
        nan_wins = arith.andi(a_nan, arith.ori(b_num, earlier))
        return arith.ori(arith.ori(strictly, arith.andi(equal, earlier)), nan_wins)
    if dtype == "bool":
        pred = arith.CmpIPredicate.ugt if kind == "argmax" else arith.CmpIPredicate.ult
    else:
        pred = arith.CmpIPredicate.sgt if kind == "argmax" else arith.CmpIPredicate.slt
    strictly = arith.cmpi(pred, a, b)
    equal = arith.cmpi(arith.CmpIPredicate.eq, a, b)
    return arith.ori(strictly, arith.andi(equal, earlier))


def _lower_arg(kind: str):
    def rule(op: ir.Operation) -> list[ir.Value]:
        from ..dialects import op_attrs, opdef_of

        arith = _a()
        attrs = op_attrs(op, opdef_of(op))
        (x,) = op.operands
        rt = op.results[0].type
        dtype = dtype_of(x.type)
        el = x.type.element_type
        axes = tuple(attrs["axes"])
        keepdims = attrs["keepdims"]
        rank = x.type.rank
        sizes = sizes_of(x)
        out_sizes = _reduced_sizes(x, axes, keepdims)
        # The initial pair (worst value, largest index) loses to every element.
        worst = reduce_identity("max" if kind == "argmax" else "min", dtype, el)
        best0 = fill(worst, empty(out_sizes, el))
        idx0 = fill(scalar_const(rt.element_type, 2**63 - 1), empty(out_sizes, rt.element_type))
        out_map = row_map(rank, axes, keepdims)
        maps = [ir.AffineMap.get_identity(rank), out_map, out_map]
        iters = ["reduction" if i in axes else "parallel" for i in range(rank)]
        i64 = rt.element_type

        def body(a: ir.Value, best: ir.Value, ibest: ir.Value) -> list[ir.Value]:
            ia = arith.index_cast(i64, _flat_index(axes, sizes))
            win = _beats(kind, dtype, a, ia, best, ibest)
            return [arith.select(win, a, best), arith.select(win, ia, ibest)]

        _, index = generic([x], [best0, idx0], maps, iters, body)
        return [index]

    return rule


RULES: dict[str, Callable[[ir.Operation], list[ir.Value]]] = {
    **{kind: _lower(kind) for kind in ("sum", "prod", "mean", "max", "min")},
    "argmax": _lower_arg("argmax"),
    "argmin": _lower_arg("argmin"),
}
