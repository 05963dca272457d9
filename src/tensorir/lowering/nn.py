"""Lowering of the softmax family: max shift, then one fused exp-sum pass.

For ``x`` reduced over ``axes``:

    m     = max(x)                          reduction  (-inf, maximumf)
    shift = m == -inf ? 0 : m               (logsumexp: m finite ? m : 0)
    s     = sum(exp(x - shift))             one reduction reading x and shift
    softmax     = exp(x - shift) / s        elementwise
    log_softmax = (x - shift) - log(s)      elementwise; log(s) once per slice
    logsumexp   = log(s) + shift            on the reduced tensor

``softmax_cross_entropy`` of logits ``x`` and labels ``y`` needs no
per-element output: one more pass accumulates three sums per slice,

    s = sum(exp(x - shift)),  a = sum(y * (shift - x)),  b = sum(y)
    out = a + log(s) * b                    on the reduced tensor

(``-sum(y * ((x - shift) - log(s)))`` regrouped), where a product with a
label of 0 is 0 even for an infinite factor (a masked ``-inf`` logit).

Intermediates keep the reduced axes as size 1 (``keepdims``) so the final
elementwise step reads them with a constant-0 index; ``logsumexp`` without
``keepdims`` reduces straight into its result shape. ``exp``/``log`` come from
``mathfns``. The NaN/inf conventions are those of ``dialects/nn.py``.
"""

from __future__ import annotations

from typing import Callable

from ..dialects._bindings import ir
from . import mathfns
from .common import dtype_of, elementwise, empty, fill, generic, scalar_const, sizes_of
from .elementwise import SCALAR
from .reduce import reduce_combine, reduce_generic, row_map

__all__ = ["RULES"]


def _a():
    from mlir.dialects import arith

    return arith


def _attrs(op: ir.Operation) -> dict:
    from ..dialects import op_attrs, opdef_of

    return op_attrs(op, opdef_of(op))


def _reduced_type(x: ir.Value, axes: tuple[int, ...], keepdims: bool) -> ir.RankedTensorType:
    t = x.type
    dyn = ir.ShapedType.get_dynamic_size()
    shape = [
        1 if i in axes else (dyn if t.is_dynamic_dim(i) else int(t.shape[i]))
        for i in range(t.rank)
        if keepdims or i not in axes
    ]
    return ir.RankedTensorType.get(shape, t.element_type)


def _safe_shift(m: ir.Value, finite_only: bool) -> ir.Value:
    """Scalar shift: ``m``, or 0 where ``m`` is -inf (any non-finite with ``finite_only``)."""
    arith = _a()
    zero = scalar_const(m.type, 0.0)
    inf = scalar_const(m.type, float("inf"))
    if finite_only:
        from mlir.dialects import math

        # |m| < inf is false for +-inf and NaN
        ok = arith.cmpf(arith.CmpFPredicate.OLT, math.absf(m), inf)
    else:
        ok = arith.cmpf(arith.CmpFPredicate.UNE, m, arith.negf(inf))
    return arith.select(ok, m, zero)


def _trailing(x: ir.Value, axes: tuple[int, ...]) -> bool:
    """Whether ``axes`` are the last axes of ``x`` (rows of contiguous memory)."""
    rank = x.type.rank
    return bool(axes) and sorted(axes) == list(range(rank - len(axes), rank))


def _shift_and_sum(
    x: ir.Value, axes: tuple[int, ...], keepdims: bool, finite_only: bool
) -> tuple[ir.Value, ir.Value]:
    """(shift, sum(exp(x - shift))) over ``axes``, both of the reduced type."""
    if _trailing(x, axes):
        return _row_stats(x, axes, keepdims, finite_only)
    arith = _a()
    rt = _reduced_type(x, axes, keepdims)
    el = rt.element_type
    add = reduce_combine("sum", dtype_of(el))
    m = reduce_generic(x, axes, keepdims, rt, scalar_const(el, float("-inf")), arith.maximumf)
    shift = elementwise([m], rt, lambda v: _safe_shift(v, finite_only))
    s = reduce_generic(
        x,
        axes,
        keepdims,
        rt,
        scalar_const(el, 0.0),
        lambda acc, a, sh: add(acc, mathfns.exp(arith.subf(a, sh))),
        rows=[shift],
    )
    return shift, s


def _row_stats(
    x: ir.Value, axes: tuple[int, ...], keepdims: bool, finite_only: bool
) -> tuple[ir.Value, ir.Value]:
    """(shift, sum(exp(x - shift))) over trailing ``axes``, one row at a time.

    One ``linalg.generic`` over the kept dims whose body loops over its row
    twice (the max, then the sum of exponentials), reading ``x`` with
    ``tensor.extract``: the row is read from memory once and from cache the
    second time, where two reductions over the whole of ``x`` read it from
    memory twice. The loops over a row are innermost and contiguous, so LLVM
    vectorises both (the sum reassociates, as every float sum here does).
    """
    from mlir.dialects import math, scf, tensor

    from ..dialects._upstream import linalg

    arith = _a()
    rt = _reduced_type(x, axes, keepdims)
    el = rt.element_type
    add = reduce_combine("sum", dtype_of(el))
    rank = x.type.rank
    sizes = sizes_of(x)
    kept = [i for i in range(rank) if i not in axes]
    out_sizes = [1 if i in axes else sizes[i] for i in range(rank)] if keepdims else [sizes[i] for i in kept]
    inits = [empty(out_sizes, el), empty(out_sizes, el)]
    ident = ir.AffineMap.get_identity(rt.rank)
    index = ir.IndexType.get()

    def as_index(v: int | ir.Value) -> ir.Value:
        return v if isinstance(v, ir.Value) else arith.constant(index, v)

    bounds = [as_index(sizes[a]) for a in sorted(axes)]

    def loop(outer: list[ir.Value], init: ir.Value, step: Callable[[ir.Value, ir.Value], ir.Value]) -> ir.Value:
        """``init`` combined by ``step(acc, x[row, j...])`` over the row, nested loops over ``axes``."""

        def nest(depth: int, inner: list[ir.Value], acc: ir.Value) -> ir.Value:
            for_op = scf.ForOp(as_index(0), bounds[depth], as_index(1), [acc])
            with ir.InsertionPoint(for_op.body):
                ivs = inner + [for_op.induction_variable]
                carried = for_op.inner_iter_args[0]
                if depth + 1 < len(bounds):
                    new = nest(depth + 1, ivs, carried)
                else:
                    indices = list(outer)
                    for k, a in enumerate(sorted(axes)):
                        indices.insert(a, ivs[k])
                    new = step(carried, tensor.extract(x, indices))
                scf.YieldOp([new])
            return for_op.results[0]

        return nest(0, [], init)

    def body(*_: ir.Value) -> list[ir.Value]:
        outer_dims = [i for i in range(rank) if i not in axes] if keepdims else list(range(len(kept)))
        outer = [linalg.IndexOp(d).result for d in outer_dims]
        m = loop(outer, scalar_const(el, float("-inf")), arith.maximumf)
        shift = _safe_shift(m, finite_only)
        # exp_term assumes x - shift <= 0 and a largest term of 1: true when
        # the max is finite; rows with an infinite max take the full exp
        finite = arith.cmpf(arith.CmpFPredicate.OLT, math.absf(m), scalar_const(el, float("inf")))
        branch = scf.IfOp(finite, [el], has_else=True)
        for block, term in ((branch.then_block, mathfns.exp_term), (branch.else_block, mathfns.exp)):
            with ir.InsertionPoint(block):
                total = loop(outer, scalar_const(el, 0.0), lambda acc, a: add(acc, term(arith.subf(a, shift))))
                scf.YieldOp([total])
        return [shift, branch.results[0]]

    shift, total = generic([], inits, [ident, ident], ["parallel"] * rt.rank, body)
    return shift, total


def _per_element(
    x: ir.Value, axes: tuple[int, ...], rows: list[ir.Value], body: Callable[..., ir.Value]
) -> ir.Value:
    """Map ``body(x_elem, *row_elems)`` over ``x``, reading ``rows`` (kept-dims reduced) per slice."""
    t = x.type
    rank = t.rank
    rmap = row_map(rank, axes, True)
    ident = ir.AffineMap.get_identity(rank)
    init = empty(sizes_of(x), t.element_type)
    (res,) = generic(
        [x, *rows],
        [init],
        [ident] + [rmap] * len(rows) + [ident],
        ["parallel"] * rank,
        lambda a, *rest: [body(a, *rest[:-1])],
    )
    return res


def _softmax(op: ir.Operation) -> list[ir.Value]:
    arith = _a()
    (x,) = op.operands
    axes = tuple(_attrs(op)["axes"])
    shift, s = _shift_and_sum(x, axes, True, False)
    return [_per_element(x, axes, [shift, s], lambda a, sh, tot: arith.divf(mathfns.exp(arith.subf(a, sh)), tot))]


def _log_softmax(op: ir.Operation) -> list[ir.Value]:
    arith = _a()
    (x,) = op.operands
    axes = tuple(_attrs(op)["axes"])
    shift, s = _shift_and_sum(x, axes, True, False)
    log_s = elementwise([s], s.type, mathfns.log)
    # (x - shift) - log(s), not x - (shift + log(s)): exact when x is near the max
    return [_per_element(x, axes, [shift, log_s], lambda a, sh, ls: arith.subf(arith.subf(a, sh), ls))]


def _logsumexp(op: ir.Operation) -> list[ir.Value]:
    arith = _a()
    (x,) = op.operands
    attrs = _attrs(op)
    axes = tuple(attrs["axes"])
    shift, s = _shift_and_sum(x, axes, attrs["keepdims"], True)
    return [elementwise([s, shift], op.results[0].type, lambda tot, sh: arith.addf(mathfns.log(tot), sh))]


def _softmax_cross_entropy(op: ir.Operation) -> list[ir.Value]:
    arith = _a()
    x, y = op.operands
    axes = tuple(_attrs(op)["axes"])
    rt = op.results[0].type
    el = rt.element_type
    rank = x.type.rank
    dtype = dtype_of(el)
    add = reduce_combine("sum", dtype)
    mul_nonan = SCALAR["mul_nonan"]
    m = reduce_generic(x, axes, False, rt, scalar_const(el, float("-inf")), arith.maximumf)
    shift = elementwise([m], rt, lambda v: _safe_shift(v, False))
    zeros = [fill(scalar_const(el, 0.0), empty(sizes_of(shift), el)) for _ in range(3)]
    ident = ir.AffineMap.get_identity(rank)
    rmap = row_map(rank, axes, False)

    def body(a: ir.Value, lab: ir.Value, sh: ir.Value, s: ir.Value, t: ir.Value, n: ir.Value) -> list[ir.Value]:
        return [
            add(s, mathfns.exp(arith.subf(a, sh))),
            add(t, mul_nonan(dtype, lab, arith.subf(sh, a))),
            add(n, lab),
        ]

    s, t, n = generic(
        [x, y, shift],
        zeros,
        [ident, ident] + [rmap] * 4,
        ["reduction" if i in axes else "parallel" for i in range(rank)],
        body,
    )
    return [elementwise([s, t, n], rt, lambda tot, lin, cnt: arith.addf(lin, mul_nonan(dtype, cnt, mathfns.log(tot))))]


RULES: dict[str, Callable[[ir.Operation], list[ir.Value]]] = {
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    "logsumexp": _logsumexp,
    "softmax_cross_entropy": _softmax_cross_entropy,
}
