"""``tir-strided-copies``: strided ``memref.copy`` ops become loops.

``finalize-memref-to-llvm`` lowers a ``memref.copy`` between two contiguous
buffers (identity layouts, or static shapes in row-major order) to one
``memcpy``. Any other copy, such as a scan's step result written into a row
of its stack (a subview with a dynamic offset) or a view whose strides are
only known at run time, becomes a call of the runtime's ``memrefCopy``. That
function copies one element at a time, each with its own ``memcpy`` call:
copying a 32x256 float32 row into a stack made 8192 calls and cost about
30 us.

This pass, run on buffers before the loops are lowered, replaces each such
copy with an all-parallel ``linalg.generic`` that reads the source and
writes the target through identity maps. It is then lowered with the other
loop nests: LLVM vectorises its inner loop and ``tir-parallel-loops`` splits
a large one over the threads. Copies the intrinsic already serves are left
alone.
"""

from __future__ import annotations

from ..dialects._bindings import ir
from .common import generic

__all__ = ["strided_copies", "copy_to_generic"]


def strided_copies(module_op: ir.Operation) -> None:
    """Rewrite every ``memref.copy`` that would call ``memrefCopy``."""
    found: list[ir.Operation] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name == "memref.copy" and not all(_contiguous(v.type) for v in op.operands):
            found.append(op)
        return ir.WalkResult.ADVANCE

    module_op.walk(visit)
    for op in found:
        copy_to_generic(op)


def _contiguous(t: ir.Type) -> bool:
    """Whether ``finalize-memref-to-llvm`` copies a buffer of type ``t`` with
    one ``memcpy``: an identity layout, or a static shape laid out row-major."""
    if not isinstance(t, ir.MemRefType):
        return True  # unranked: not ours to rewrite
    m = ir.MemRefType(t)
    if m.layout == ir.AffineMapAttr.get(ir.AffineMap.get_identity(m.rank)):
        return True
    if not m.has_static_shape:
        return False
    try:
        strides, offset = m.get_strides_and_offset()
    except Exception:  # noqa: BLE001 - an affine-map layout has no strides
        return False
    want = 1
    for size, stride in zip(reversed(m.shape), reversed(strides)):
        if size != 1 and stride != want:
            return False
        want *= size
    return True


def copy_to_generic(op: ir.Operation) -> None:
    """Replace the ``memref.copy`` ``op`` with an all-parallel ``linalg.generic``."""
    source, target = op.operands
    rank = ir.MemRefType(source.type).rank
    with ir.InsertionPoint(op), op.location:
        identity = ir.AffineMap.get_identity(rank)
        generic([source], [target], [identity, identity], ["parallel"] * rank, lambda x, _: [x])
    op.erase()
