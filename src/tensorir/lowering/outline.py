"""Run the iterations of a loop on threads, through the parallel dispatcher.

``tir-parallel-loops`` splits ``linalg.generic`` ops; other lowerings (the
BLAS calls of ``tir-linalg-to-blas``) build their chunks as a plain loop and
hand it here::

    scf.for %c = %c0 to %count step %c1 { <chunk %c> }

becomes a context struct holding every value the body reads, a private
``func.func @name(%ctx: !llvm.ptr, %c: i64)`` that unpacks them and runs the
body, and ``call @tensorir_parallel_for(@name, %ctx, %count)``: chunk 0 on
the calling thread, the others on the async runtime's threads
(``runtime/threads.py``). The iterations must be independent.
"""

from __future__ import annotations

from ..dialects._bindings import ir
from .parallel import _captures, _declare_dispatch, _is_constant, chunk_function, clone_rebound, dispatch, pack_context

__all__ = ["outline_loop", "function_of", "fresh_name"]


def function_of(op: ir.Operation) -> ir.Operation:
    """The ``func.func`` holding ``op``."""
    parent = op.parent
    while parent is not None and parent.name != "func.func":
        parent = parent.parent
    if parent is None:
        raise ValueError(f"{op.name} is not inside a func.func")
    return parent


def fresh_name(module_op: ir.Operation, stem: str) -> str:
    """``stem_chunkK`` for the first K no symbol of the module uses."""
    taken = set()
    for view in module_op.regions[0].blocks[0].operations:
        if "sym_name" in view.operation.attributes:
            taken.add(ir.StringAttr(view.operation.attributes["sym_name"]).value)
    k = 0
    while f"{stem}_chunk{k}" in taken:
        k += 1
    return f"{stem}_chunk{k}"


def outline_loop(loop: ir.Operation, module_op: ir.Operation, name: str) -> None:
    """Replace ``loop`` (an ``scf.for`` from 0 by 1 with no results) by a
    dispatch of its iterations; the chunk function follows the function
    holding the loop."""
    from mlir.dialects import arith, func

    body_ops = [v.operation for v in loop.regions[0].blocks[0].operations][:-1]  # without scf.yield
    iv = loop.regions[0].blocks[0].arguments[0]
    captured: list[ir.Value] = []
    consts: list[ir.Value] = []
    for op in body_ops:
        for v in _captures(op):
            if v == iv or _inside_loop(v, loop):
                continue
            bucket = consts if _is_constant(v) else captured
            if not any(v == w for w in bucket):
                bucket.append(v)
    _declare_dispatch(module_op)
    with ir.InsertionPoint(loop), loop.location:
        ctx, struct, slots = pack_context(captured)
    block, mapped, c_arg = chunk_function(
        name, ir.InsertionPoint.after(function_of(loop)), loop.location, struct, slots, captured
    )
    with ir.InsertionPoint(block), loop.location:
        remap = dict(zip(captured, mapped))
        remap.update((v, v.owner.operation.clone(ir.InsertionPoint(block)).results[0]) for v in consts)
        remap[iv] = arith.index_cast(ir.IndexType.get(), c_arg)
        clone_rebound(body_ops, remap, ir.InsertionPoint(block))
        func.ReturnOp([])
    with ir.InsertionPoint(loop), loop.location:
        dispatch(name, ctx, loop.operands[1])
    loop.erase()


def _inside_loop(v: ir.Value, loop: ir.Operation) -> bool:
    """Whether ``v`` is defined by an op inside ``loop`` (or is one of its block arguments)."""
    owner = v.owner
    op = owner.owner if isinstance(owner, ir.Block) else owner
    while op is not None:
        op = op.operation if hasattr(op, "operation") else op
        if op == loop:
            return True
        op = op.parent
    return False
