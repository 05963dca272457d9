"""Large results are written with non-temporal (streaming) stores.

An ordinary store to a line that is not in the cache first reads the line
from memory (read for ownership), so writing a 40 MB result moves 80 MB. A
non-temporal store (``vmovntps``) writes whole lines straight to memory:
``exp(a + b) * b - tanh(a)`` over 1e7 float32 moves 120 MB instead of 160.
A result that large has left the caches by the time the caller reads it, so
nothing is lost by not caching it. Two passes, around ``tir-parallel-loops``:

* ``tir-mark-streams`` (before the split): marks each all-parallel
  ``linalg.generic`` of a public function's entry block that writes one
  out-param (a result of the call) and that it can vectorise: every operand
  either reads the innermost loop dim along its last axis (stride 1) or not
  at all, and a body of scalar arith ops and the math ops that lower to one
  LLVM intrinsic (``_VECTOR_MATH``).
* ``tir-stream-stores`` (after it, so also in each chunk function): on x86
  hosts, replaces each marked op with::

      scf.if (bytes written >= minsize) {   // ti.config.stream_minsize
        for each row (the loops over the outer dims):
          scalar loop up to the first 64-byte boundary of the output row
          vector loop, 64 bytes a step: vector.load (or a broadcast scalar),
            the body on vectors, vector.store {nontemporal, alignment = 64}
          scalar loop over the rest
        sfence
      } else { the op as it was }

  Elsewhere it only drops the marks.

Each element is computed by the same scalar operations as before (the body
is cloned on vectors lane by lane), so results are bitwise identical. The
``sfence`` orders the streaming stores before anything the thread does next
(joining the other threads, returning the result).
"""

from __future__ import annotations

import platform

from ..dialects._bindings import ir
from ..dialects.control import is_private
from .common import PARALLEL, generic_inputs, index_const, indexing_maps, strided_metadata, unit_inner_stride

__all__ = ["mark_streams", "stream_stores", "STREAM_MIN_BYTES"]

MARK = "tir.stream"
LINE = 64  # bytes per vector step and the alignment of every streaming store
STREAM_MIN_BYTES = 4 << 20
"""The default of ``ti.config.stream_minsize``: ops (or chunks of ops) writing
less than this keep ordinary stores, as their result may still be in the
caches when it is read."""


def mark_streams(module_op: ir.Operation) -> None:
    """``tir-mark-streams``: mark the ops :func:`stream_stores` may rewrite."""
    from .buffers import _writable_args

    for view in module_op.regions[0].blocks[0].operations:
        fn = view.operation
        if fn.name != "func.func" or is_private(fn) or len(fn.regions[0].blocks) != 1:
            continue
        block = fn.regions[0].blocks[0]
        outs = _writable_args(block)
        for inner in block.operations:
            op = inner.operation
            if op.name == "linalg.generic" and _eligible(op) and all(
                any(v == o for o in outs) for v in list(op.operands)[generic_inputs(op):]
            ):
                op.attributes[MARK] = ir.UnitAttr.get()


def stream_stores(module_op: ir.Operation, minsize: int = STREAM_MIN_BYTES, enabled: bool | None = None) -> None:
    """``tir-stream-stores``: rewrite the marked ops to stream when they write
    ``minsize`` bytes or more (``ti.config.stream_minsize``); ``enabled``: by
    default on x86-64 hosts, whose ``vmovntps``/``sfence`` the rewrite uses."""
    if enabled is None:
        enabled = platform.machine().lower() in ("x86_64", "amd64")
    found: list[ir.Operation] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name == "linalg.generic" and MARK in op.attributes:
            found.append(op)
        return ir.WalkResult.ADVANCE

    module_op.walk(visit)
    for op in found:
        del op.attributes[MARK]
        if enabled and _eligible(op):  # a chunk's views may have lost the unit stride
            _rewrite(op, minsize)


# ---------------------------------------------------------------------------
# Which ops


def _scalar(t: ir.Type) -> bool:
    return isinstance(t, (ir.FloatType, ir.IntegerType))


# math ops that lower to one LLVM intrinsic on vectors as on scalars (others,
# such as math.ipowi, become calls of scalar functions)
_VECTOR_MATH = frozenset({
    "math.absf", "math.absi", "math.copysign", "math.fma", "math.roundeven", "math.round", "math.floor",
    "math.ceil", "math.trunc", "math.sqrt", "math.isnan", "math.isinf", "math.isfinite", "math.ctpop",
    "math.ctlz", "math.cttz",
})


def _eligible(op: ir.Operation) -> bool:
    n_in = generic_inputs(op)
    if "library_call" in op.attributes or len(op.operands) == n_in:
        return False
    iterators = ir.ArrayAttr(op.attributes["iterator_types"])
    if len(iterators) == 0 or any(str(it) != PARALLEL for it in iterators):
        return False
    n = len(iterators)
    inner = n - 1
    maps = indexing_maps(op)
    if any(m != ir.AffineMap.get_identity(n) for m in maps[n_in:]):
        return False
    for v, m in zip(op.operands, maps):
        if not isinstance(v.type, ir.MemRefType) or not _scalar(ir.MemRefType(v.type).element_type):
            return False
        for k, e in enumerate(m.results):
            if isinstance(e, ir.AffineDimExpr):
                if e.position == inner and (k != len(m.results) - 1 or not unit_inner_stride(v.type)):
                    return False
            elif not (isinstance(e, ir.AffineConstantExpr) and e.value == 0):
                return False
    widths = {ir.MemRefType(v.type).element_type.width for v in op.operands[n_in:]}
    if len(widths) != 1 or widths.pop() not in (8, 16, 32, 64):
        return False
    for inner_op in op.regions[0].blocks[0].operations:
        o = inner_op.operation
        if o.name == "linalg.yield":
            continue
        if not (o.name.startswith("arith.") or o.name in _VECTOR_MATH) or len(o.regions):
            return False
        if not all(_scalar(r.type) for r in o.results):
            return False
    return True


# ---------------------------------------------------------------------------
# The rewrite


def _rewrite(op: ir.Operation, minsize: int) -> None:
    from mlir.dialects import arith, memref, scf

    operands = list(op.operands)
    out = operands[-1]
    out_t = ir.MemRefType(out.type)
    n = out_t.rank
    elsize = out_t.element_type.width // 8
    n_out = len(operands) - generic_inputs(op)
    with ir.InsertionPoint(op), op.location:
        dims = [index_const(out_t.shape[i]) if not out_t.is_dynamic_dim(i) else memref.dim(out, index_const(i))
                for i in range(n)]
        count = dims[0]
        for d in dims[1:]:
            count = arith.muli(count, d)
        big = arith.cmpi(arith.CmpIPredicate.uge, arith.muli(count, index_const(elsize * n_out)),
                         index_const(minsize))
        branch = scf.IfOp(big, [], has_else=True)
    with ir.InsertionPoint(branch.else_block), op.location:
        scf.YieldOp([])
    op.move_before(list(branch.else_block.operations)[-1])
    with ir.InsertionPoint(branch.then_block), op.location:
        _stream_nest(op, operands, dims, elsize)
        ir.Operation.create("llvm.call_intrinsic", attributes={
            "intrin": ir.StringAttr.get("llvm.x86.sse.sfence"),
            "op_bundle_sizes": ir.DenseI32ArrayAttr.get([]),
            "operandSegmentSizes": ir.DenseI32ArrayAttr.get([0, 0]),
        })
        scf.YieldOp([])


def _skew(buf: ir.Value, ivs: list[ir.Value], elsize: int) -> ir.Value:
    """Bytes past the last 64-byte boundary of the row of ``buf`` at ``ivs``."""
    from mlir.dialects import arith

    pointer, start, strides = strided_metadata(buf)
    for iv, stride in zip(ivs, strides):
        start = arith.addi(start, arith.muli(iv, stride))
    address = arith.addi(pointer, arith.muli(start, index_const(elsize)))
    return arith.remui(address, index_const(LINE))


def _stream_nest(op: ir.Operation, operands: list[ir.Value], dims: list[ir.Value], elsize: int) -> None:
    """The loops over the outer dims, and in each row the three inner loops.
    With several outputs whose rows start at different offsets from a 64-byte
    boundary, such a row is one ordinary loop instead."""
    from mlir.dialects import arith, memref, scf, vector

    n = len(dims)
    lanes = LINE // elsize
    maps = indexing_maps(op)
    n_in = generic_inputs(op)
    outs = operands[n_in:]
    block = op.regions[0].blocks[0]
    reads_out = [len(list(a.uses)) > 0 for a in list(block.arguments)[n_in:]]
    inner = n - 1
    varying = [any(isinstance(e, ir.AffineDimExpr) and e.position == inner for e in maps[k].results)
               for k in range(n_in)]

    def row(ivs: list[ir.Value]) -> None:
        def at(k: int, j: ir.Value) -> list[ir.Value]:
            where = ivs + [j]
            return [where[e.position] if isinstance(e, ir.AffineDimExpr) else index_const(0)
                    for e in maps[k].results]

        zero = index_const(0)
        fixed = {k: memref.load(operands[k], at(k, zero)) for k in range(n_in) if not varying[k]}

        def scalar_loop(lo: ir.Value, hi: ir.Value) -> None:
            loop = scf.ForOp(lo, hi, index_const(1))
            with ir.InsertionPoint(loop.body):
                j = loop.induction_variable
                args = [fixed[k] if k in fixed else memref.load(operands[k], at(k, j)) for k in range(n_in)]
                args += [memref.load(o, at(n_in + i, j)) if reads_out[i] else None for i, o in enumerate(outs)]
                for i, value in enumerate(_clone_body(block, args, None)):
                    memref.store(value, outs[i], at(n_in + i, j))
                scf.YieldOp([])

        def streamed(skew: ir.Value) -> None:
            # elements before the first 64-byte boundary, then whole lines
            head = arith.divui(arith.remui(arith.subi(index_const(LINE), skew), index_const(LINE)),
                               index_const(elsize))
            head = arith.minui(head, dims[inner])
            body_end = arith.addi(head, arith.muli(
                arith.divui(arith.subi(dims[inner], head), index_const(lanes)), index_const(lanes)))
            scalar_loop(zero, head)
            loop = scf.ForOp(head, body_end, index_const(lanes))
            with ir.InsertionPoint(loop.body):
                j = loop.induction_variable
                args = []
                for k, v in enumerate(operands):
                    if k >= n_in and not reads_out[k - n_in]:
                        args.append(None)
                        continue
                    vt = ir.VectorType.get([lanes], ir.MemRefType(v.type).element_type)
                    args.append(vector.broadcast(vt, fixed[k]) if k in fixed else vector.load(vt, v, at(k, j)))
                for i, value in enumerate(_clone_body(block, args, lanes)):
                    store = vector.StoreOp(value, outs[i], at(n_in + i, j))
                    store.attributes["nontemporal"] = ir.BoolAttr.get(True)
                    store.attributes["alignment"] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), LINE)
                scf.YieldOp([])
            scalar_loop(body_end, dims[inner])

        skews = [_skew(o, ivs, elsize) for o in outs]
        if len(outs) == 1:
            streamed(skews[0])
            return
        same = arith.cmpi(arith.CmpIPredicate.eq, skews[0], skews[1])
        for other in skews[2:]:
            same = arith.andi(same, arith.cmpi(arith.CmpIPredicate.eq, skews[0], other))
        branch = scf.IfOp(same, [], has_else=True)
        with ir.InsertionPoint(branch.then_block):
            streamed(skews[0])
            scf.YieldOp([])
        with ir.InsertionPoint(branch.else_block):
            scalar_loop(zero, dims[inner])
            scf.YieldOp([])

    def nest(level: int, ivs: list[ir.Value]) -> None:
        if level == n - 1:
            row(ivs)
            return
        loop = scf.ForOp(index_const(0), dims[level], index_const(1))
        with ir.InsertionPoint(loop.body):
            nest(level + 1, ivs + [loop.induction_variable])
            scf.YieldOp([])

    nest(0, [])


def _clone_body(block: ir.Block, args: list[ir.Value | None], lanes: int | None) -> list[ir.Value]:
    """The body's ops on ``args`` (one per block argument), on scalars or, with
    ``lanes``, on vectors of that many lanes; returns the yielded values.
    Values from outside the body are broadcast; constants become splats."""
    from mlir.dialects import arith, vector

    mapped: dict = {}
    for arg, v in zip(block.arguments, args):
        if v is not None:
            mapped[arg] = v

    def widen(t: ir.Type) -> ir.Type:
        return ir.VectorType.get([lanes], t) if lanes else t

    def value(v: ir.Value) -> ir.Value:
        if v in mapped:
            return mapped[v]
        if lanes:  # defined outside the body: the same scalar in every lane
            mapped[v] = vector.broadcast(widen(v.type), v)
            return mapped[v]
        return v

    for inner in block.operations:
        o = inner.operation
        if o.name == "linalg.yield":
            return [value(v) for v in o.operands]
        if o.name == "arith.constant" and lanes:
            t = widen(o.results[0].type)
            new = arith.ConstantOp(t, ir.DenseElementsAttr.get_splat(t, o.attributes["value"])).operation
        else:
            new = ir.Operation.create(
                o.name,
                results=[widen(r.type) for r in o.results],
                operands=[value(v) for v in o.operands],
                attributes={name: o.attributes[name] for name in o.attributes},
            )
        for old, fresh in zip(o.results, new.results):
            mapped[old] = fresh
    raise AssertionError("a linalg.generic body ends with linalg.yield")
