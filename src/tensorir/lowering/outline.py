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
from ..dialects.control import is_private
from .parallel import (
    CHUNK,
    _captures,
    _inside,
    _declare_dispatch,
    _is_constant,
    _storable,
    chunk_function,
    clone_rebound,
    contains,
    dispatch,
    pack_context,
)

__all__ = ["outline_loop", "outline_serial", "function_of", "fresh_name", "STRAIGHT"]


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
    body_ops = [v.operation for v in loop.regions[0].blocks[0].operations][:-1]  # without scf.yield
    iv = loop.regions[0].blocks[0].arguments[0]
    captured: list[ir.Value] = []
    consts: list[ir.Value] = []
    for op in body_ops:
        for v in _captures(op):
            if v == iv or _inside(v, loop):
                continue
            bucket = consts if _is_constant(v) else captured
            if not any(v == w for w in bucket):
                bucket.append(v)
    _declare_dispatch(module_op)
    ctx, _ = _move_to_chunk(body_ops, captured, consts, name, function_of(loop), loop, index=iv)
    with ir.InsertionPoint(loop), loop.location:
        dispatch(name, ctx, loop.operands[1])
    loop.erase()


def _move_to_chunk(
    ops: list[ir.Operation], captured: list[ir.Value], consts: list[ir.Value], name: str, after: ir.Operation,
    at: ir.Operation, index: ir.Value | None = None,
) -> tuple[ir.Value, ir.Operation]:
    """Before ``at``, a context struct holding ``captured``; after ``after``,
    the chunk function ``@name`` that unpacks them, clones the constants
    ``consts`` and then ``ops`` reading through both (and ``index``, when
    given, as its chunk number). Returns the context's address and the function."""
    from mlir.dialects import arith, func

    with ir.InsertionPoint(at), at.location:
        ctx, struct, slots = pack_context(captured)
    block, mapped, c_arg = chunk_function(name, ir.InsertionPoint.after(after), at.location, struct, slots, captured)
    with ir.InsertionPoint(block), at.location:
        remap = dict(zip(captured, mapped))
        remap.update((v, v.owner.operation.clone(ir.InsertionPoint(block)).results[0]) for v in consts)
        if index is not None:
            remap[index] = arith.index_cast(ir.IndexType.get(), c_arg)
        clone_rebound(ops, remap, ir.InsertionPoint(block))
        func.ReturnOp([])
    return ctx, block.owner


# What ``tir-outline-serial`` sets on a public function left without loops:
# LLVM then neither optimises it nor selects its instructions with the
# optimising selector (``optnone``), and does not inline into it.
STRAIGHT = ["optnone", "noinline"]

# Ops that are, or lower to, loops (and the linalg ops that are not).
_LOOPS = frozenset({"scf.for", "scf.while", "scf.parallel", "scf.forall", "affine.for", "affine.parallel"})
_NOT_LOOPS = ("linalg.yield", "linalg.index")


def _makes_loops(op: ir.Operation) -> bool:
    """Whether ``op`` or an op nested in it becomes a loop (a linalg op, an scf loop)."""
    if not len(op.regions):  # (linalg ops have a region too)
        return False
    return contains(op, lambda o: o.name in _LOOPS or (o.name.startswith("linalg.") and o.name not in _NOT_LOOPS))


def _frees_captured(op: ir.Operation) -> bool:
    """Whether ``op`` frees a buffer it did not allocate: a chunk function
    rebuilds a captured buffer's descriptor with the aligned pointer as the
    allocated one (it is never to free it), so such an op cannot move."""
    frees = ("memref.dealloc", "memref.realloc")
    return contains(op, lambda o: o.name in frees and not _inside(o.operands[0], op))


def outline_serial(module_op: ir.Operation) -> None:
    """``tir-outline-serial``: the loops left in a public function move to
    functions of their own, and the function, now straight-line code, is
    compiled without optimisation.

    Takes in: buffers, after ``tir-parallel-loops`` (whose chunks are
    functions already). Each op of a public function's body that is or
    holds a loop (a linalg op, an ``scf.for``, an ``scf.if`` with loops in
    it...), has no results (a scan's loop carries its state in results:
    it stays), frees no buffer allocated outside it and reads only values
    a context can hold, becomes a private chunk function (marked ``tir.chunk``, its captured
    values unpacked from a context struct as for a dispatch) called
    directly, once: ``call @f_chunkK(%ctx, 0)``. A public function left
    with no loop is marked ``passthrough = ["optnone", "noinline"]``.

    What it is for: a public function is run once per call, and what it
    does itself is bookkeeping: sizes, allocations, contexts and calls of
    the loops' functions. In an MLP training step that is ~2,500 LLVM
    instructions in a few basic blocks, for which LLVM's O3 pipeline and
    instruction selection took 140-240 ms of a cold compile of ~600 ms;
    unoptimised it takes ~45 ms and runs a few microseconds per call at
    most. The loops, in their functions, are optimised as before. A
    public function that keeps a loop (one that could not be moved) is
    optimised as before.
    """
    from mlir.dialects import arith, func

    body = module_op.regions[0].blocks[0]
    i64 = ir.IntegerType.get_signless(64)
    for fn in [v.operation for v in body.operations]:
        if fn.name != "func.func" or is_private(fn) or CHUNK in fn.attributes or not fn.regions[0].blocks:
            continue
        stem = ir.StringAttr(fn.attributes["sym_name"]).value
        last = fn  # the chunk functions follow it, in order
        straight = True
        for block in fn.regions[0].blocks:
            for op in [v.operation for v in block.operations]:
                if not _makes_loops(op):
                    continue
                if len(op.results) or _frees_captured(op):
                    straight = False
                    continue
                captures = _captures(op)
                captured = [v for v in captures if not _is_constant(v)]
                if not all(_storable(v.type) for v in captured):
                    straight = False
                    continue
                name = fresh_name(module_op, stem)
                consts = [v for v in captures if _is_constant(v)]
                ctx, last = _move_to_chunk([op], captured, consts, name, last, op)
                with ir.InsertionPoint(op), op.location:
                    zero = arith.constant(i64, 0)
                    func.CallOp([], ir.FlatSymbolRefAttr.get(name), [ctx, zero])
                op.erase()
        if straight:
            fn.attributes["passthrough"] = ir.ArrayAttr.get([ir.StringAttr.get(a) for a in STRAIGHT])
