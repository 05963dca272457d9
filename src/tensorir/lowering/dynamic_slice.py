"""Lowering of ``tir.dynamic_slice`` and ``tir.dynamic_update_slice``.

Takes in: those two ops. Leaves: ``tensor.extract`` of the 0-d starts,
``arith`` on ``index`` for the wrapped offsets and their bounds checks,
one index-check marker per sliced axis (``lowering/checks.py``), and
``tensor.extract_slice`` / ``tensor.insert_slice`` at the offsets.

Each start ``s`` of an axis of size ``n`` with window size ``k`` becomes
the offset ``o = s + n if wrap and s < 0 else s``, in bounds when
``0 <= o <= n - k``; the marker reports the start when it is not. Whatever
the outcome, memory is only accessed in bounds:

* ``dynamic_slice`` reads at ``o`` when every axis is in bounds, else at 0.
  When a sliced axis is free (``n`` may be smaller than ``k``), the source
  is ``scf.if ok { x } else { zeros of the window's size along the sliced
  axes }``, so offset 0 is in bounds as well; the view stays a view.
* ``dynamic_update_slice`` writes only under ``scf.if ok`` (else the
  result is ``x``); bufferization keeps both branches in ``x``'s buffer.
"""

from __future__ import annotations

from typing import Any, Callable

from ..dialects._bindings import ir
from .checks import emit_index_check
from .common import empty, fill, index_const, scalar_const, sizes_of
from .shape import IndexOps, _attrs, _mixed, _typed_sizes

__all__ = ["RULES"]


def _offsets(op: ir.Operation, x: ir.Value, starts: list[ir.Value]) -> tuple[list[Any], ir.Value | None]:
    """(wrapped offsets per axis, 0 where the whole axis is taken; ``ok``: every
    start in bounds, None when no axis is sliced), with one check per axis."""
    from mlir.dialects import arith, tensor

    attrs = _attrs(op)
    sizes, wrap = attrs["sizes"], attrs["wrap"]
    index = ir.IndexType.get()
    n_all = sizes_of(x)
    offsets: list[Any] = []
    ok: ir.Value | None = None
    it = iter(starts)
    for axis, (n, k, w) in enumerate(zip(n_all, sizes, wrap)):
        if k == -1:
            offsets.append(0)
            continue
        raw = tensor.extract(next(it), [])
        s = arith.index_cast(index, raw)
        nv = IndexOps._v(n)
        if w:
            s = arith.select(arith.cmpi(arith.CmpIPredicate.slt, s, index_const(0)), arith.addi(s, nv), s)
        last = n - k if isinstance(n, int) else arith.subi(nv, index_const(k))
        axis_ok = arith.andi(
            arith.cmpi(arith.CmpIPredicate.sge, s, index_const(0)),
            arith.cmpi(arith.CmpIPredicate.sle, s, IndexOps._v(last)),
        )
        fail = arith.xori(axis_ok, scalar_const(ir.IntegerType.get_signless(1), True))
        emit_index_check(fail, raw, nv, op=op.name[4:], axis=axis, size=k, wrap=bool(w))
        ok = axis_ok if ok is None else arith.andi(ok, axis_ok)
        offsets.append(s)
    return offsets, ok


def _dynamic_slice(op: ir.Operation) -> list[ir.Value]:
    from mlir.dialects import arith, scf, tensor

    x, *starts = op.operands
    rt = op.results[0].type
    sizes = _attrs(op)["sizes"]
    offsets, ok = _offsets(op, x, starts)
    if ok is None:
        return [x]
    src = x
    xt = x.type
    free = [a for a, k in enumerate(sizes) if k != -1 and xt.is_dynamic_dim(a)]
    if free:
        # an axis shorter than the window: read the window from zeros instead
        branch = scf.IfOp(ok, [xt], has_else=True)
        with ir.InsertionPoint(branch.then_block):
            scf.YieldOp([x])
        with ir.InsertionPoint(branch.else_block):
            room = [index_const(sizes[a]) if a in free else d for a, d in enumerate(sizes_of(x))]
            zeros = fill(scalar_const(rt.element_type, 0), empty(room, rt.element_type))
            scf.YieldOp([zeros])
        src = branch.results[0]
    clamped = [o if isinstance(o, int) else arith.select(ok, o, index_const(0)) for o in offsets]
    lengths = _typed_sizes(rt, [d if k == -1 else k for d, k in zip(sizes_of(x), sizes)])
    dyn_off, st_off = _mixed(clamped)
    dyn_size, st_size = _mixed(lengths)
    return [tensor.extract_slice(rt, src, dyn_off, dyn_size, [], st_off, st_size, [1] * rt.rank)]


def _dynamic_update_slice(op: ir.Operation) -> list[ir.Value]:
    from mlir.dialects import scf, tensor

    x, update, *starts = op.operands
    rt = op.results[0].type
    sizes = _attrs(op)["sizes"]
    offsets, ok = _offsets(op, x, starts)
    lengths = [d if k == -1 else k for d, k in zip(sizes_of(update), sizes)]
    dyn = ir.ShapedType.get_dynamic_size()
    window = ir.RankedTensorType.get([d if isinstance(d, int) else dyn for d in lengths], rt.element_type)
    if update.type != window:
        update = tensor.CastOp(window, update).result
    dyn_off, st_off = _mixed(offsets)
    dyn_size, st_size = _mixed(lengths)

    def insert() -> ir.Value:
        return tensor.insert_slice(update, x, dyn_off, dyn_size, [], st_off, st_size, [1] * rt.rank)

    if ok is None:
        return [insert()]
    branch = scf.IfOp(ok, [rt], has_else=True)
    with ir.InsertionPoint(branch.then_block):
        scf.YieldOp([insert()])
    with ir.InsertionPoint(branch.else_block):
        scf.YieldOp([x])
    return [branch.results[0]]


RULES: dict[str, Callable[[ir.Operation], list[ir.Value]]] = {
    "dynamic_slice": _dynamic_slice,
    "dynamic_update_slice": _dynamic_update_slice,
}
