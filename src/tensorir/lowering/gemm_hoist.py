"""Transposed weights of gemms in loops, transposed once before the loop.

A reverse-mode scan step computes ``da @ W.T`` with the same ``W`` at every
step. gemm reads a transposed operand in place (``CblasTrans``), but
OpenBLAS then packs it from columns, slower than from rows: a 32x256 by
256x256 product took 64 us that way on one core here, and 44 us with
``W.T`` stored row by row. :func:`hoist_transposes` gives such a gemm a
row-major copy of its operand, made once before the outermost loop in which
the operand does not change, and freed after it.

An operand qualifies when it is a plain (unbatched) gemm's ``B`` read as
``B[n, k]`` (or ``A`` read as ``A[k, m]``), it is defined outside the loop,
and nothing in the loop may write its buffer (by root, as ``gemm_pairs``
compares them).
"""

from __future__ import annotations

from ..dialects._bindings import ir
from .common import generic, index_const
from .gemm_pairs import _argument_roots, _effects, _plain, _root
from .parallel import _inside

__all__ = ["hoist_transposes"]

_LOOPS = frozenset({"scf.for", "scf.while", "scf.parallel"})


def hoist_transposes(gemms: list[ir.Operation]) -> None:
    """Rewrite each qualifying gemm of ``gemms`` to read a row-major copy
    (see the module docstring); the gemms stay marked for BLAS."""
    for op in gemms:
        if not _plain(op):
            continue
        maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
        for index, (stored, wanted) in enumerate((((2, 0), (0, 2)), ((1, 2), (2, 1)))):
            if _dims(maps[index]) != stored:
                continue
            operand = op.operands[index]
            loop = _outermost_invariant_loop(op, operand)
            if loop is None:
                continue
            copy = _transposed_copy(operand, loop)
            op.operands[index] = copy
            maps[index] = ir.AffineMap.get(3, 0, [ir.AffineDimExpr.get(d) for d in wanted])
            op.attributes["indexing_maps"] = ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps])


def _dims(amap: ir.AffineMap) -> tuple[int, ...] | None:
    exprs = list(amap.results)
    if not all(isinstance(e, ir.AffineDimExpr) for e in exprs):
        return None
    return tuple(ir.AffineDimExpr(e).position for e in exprs)


def _outermost_invariant_loop(op: ir.Operation, value: ir.Value) -> ir.Operation | None:
    """The outermost loop around ``op`` that ``value`` is defined outside of
    and whose body writes no buffer of ``value``'s root; None if none."""
    args = _argument_roots(op)
    root = _root(value, args)
    found = None
    parent = op.parent
    while parent is not None and parent.name != "func.func":
        parent = parent.operation if hasattr(parent, "operation") else parent
        if parent.name in _LOOPS:
            if _inside(value, parent) or root in _effects(parent, args)[1]:
                break
            found = parent
        parent = parent.parent
    return found


def _transposed_copy(value: ir.Value, loop: ir.Operation) -> ir.Value:
    """``value`` (a matrix) transposed into a fresh row-major buffer before
    ``loop``, freed after it."""
    from mlir.dialects import memref

    t = ir.MemRefType(value.type)
    dyn = ir.ShapedType.get_dynamic_size()
    with ir.InsertionPoint(loop), loop.location:
        shape = [dyn if t.is_dynamic_dim(a) else int(t.shape[a]) for a in (1, 0)]
        sizes = [memref.dim(value, index_const(a)) for a in (1, 0) if t.is_dynamic_dim(a)]
        copy = memref.alloc(ir.MemRefType.get(shape, t.element_type), sizes, [])
        swap = ir.AffineMap.get(2, 0, [ir.AffineDimExpr.get(1), ir.AffineDimExpr.get(0)])
        generic([value], [copy], [swap, ir.AffineMap.get_identity(2)], ["parallel", "parallel"], lambda x, _: [x])
    with ir.InsertionPoint.after(loop), loop.location:
        memref.dealloc(copy)
    return copy
