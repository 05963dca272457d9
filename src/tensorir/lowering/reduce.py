"""Lowering of reductions to ``linalg.generic`` with reduction iterators.

The accumulator starts from the reduction's identity (0, 1, -inf, +inf, or
the integer limits) filled into the result; ``mean`` divides the sum by the
number of reduced elements afterwards.
"""

from __future__ import annotations

from typing import Callable

from ..dialects._bindings import ir
from .common import dtype_of, empty, fill, generic, scalar_const, sizes_of

__all__ = ["RULES", "reduce_generic"]


def _a():
    from mlir.dialects import arith

    return arith


def _identity(kind: str, dtype: str, el: ir.Type) -> ir.Value:
    if kind in ("sum", "mean"):
        return scalar_const(el, 0)
    if kind == "prod":
        return scalar_const(el, 1)
    if dtype in ("float32", "float64"):
        return scalar_const(el, float("-inf") if kind == "max" else float("inf"))
    if dtype == "bool":
        return scalar_const(el, kind == "min")
    bits = 32 if dtype == "int32" else 64
    return scalar_const(el, -(2 ** (bits - 1)) if kind == "max" else 2 ** (bits - 1) - 1)


def _combine(kind: str, dtype: str) -> Callable[[ir.Value, ir.Value], ir.Value]:
    arith = _a()
    is_float = dtype in ("float32", "float64")
    if kind in ("sum", "mean"):
        return arith.addf if is_float else arith.addi
    if kind == "prod":
        return arith.mulf if is_float else arith.muli
    if dtype == "bool":
        return arith.ori if kind == "max" else arith.andi
    if kind == "max":
        return arith.maximumf if is_float else arith.maxsi
    return arith.minimumf if is_float else arith.minsi


def reduce_generic(
    x: ir.Value,
    axes: tuple[int, ...],
    keepdims: bool,
    result_type: ir.RankedTensorType,
    init_value: ir.Value,
    combine: Callable[[ir.Value, ir.Value], ir.Value],
) -> ir.Value:
    """Reduce ``x`` over ``axes`` with ``combine``, starting from ``init_value``."""
    t = x.type
    rank = t.rank
    sizes = sizes_of(x)
    out_sizes = [1 if i in axes else s for i, s in enumerate(sizes)] if keepdims else [
        s for i, s in enumerate(sizes) if i not in axes
    ]
    init = fill(init_value, empty(out_sizes, result_type.element_type))
    out_exprs = [
        ir.AffineConstantExpr.get(0) if i in axes else ir.AffineDimExpr.get(i)
        for i in range(rank)
        if keepdims or i not in axes
    ]
    maps = [ir.AffineMap.get_identity(rank), ir.AffineMap.get(rank, 0, out_exprs)]
    iters = ["reduction" if i in axes else "parallel" for i in range(rank)]
    (res,) = generic([x], [init], maps, iters, lambda a, acc: [combine(acc, a)])
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
            x, axes, attrs["keepdims"], rt, _identity(kind, dtype, rt.element_type), _combine(kind, dtype)
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


RULES: dict[str, Callable[[ir.Operation], list[ir.Value]]] = {
    kind: _lower(kind) for kind in ("sum", "prod", "mean", "max", "min")
}
