"""Reductions on the GPU, for ``tir-gpu-kernels`` (``lowering/gpu.py``):
rows reduced by a block of threads each (``gpu.all_reduce``), and
reductions outside any parallel loop split over many threads."""

from __future__ import annotations

from ..dialects._bindings import ir, walk
from .common import index_const
from .gpu_launch import BLOCK, MEMORY, defined_outside, global_thread, launch_single, new_launch, promote_accumulators, sink

__all__ = ["SPLIT_BLOCKS", "launch_rows", "split_reduction"]


# The gpu.all_reduce operation of each combining op (see _IDENTITY).
_ALL_REDUCE = {
    "arith.addf": "add", "arith.addi": "add", "arith.mulf": "mul", "arith.muli": "mul",
    "arith.maxnumf": "maxnumf", "arith.minnumf": "minnumf", "arith.maximumf": "maximumf",
    "arith.minimumf": "minimumf", "arith.maxsi": "maxsi", "arith.minsi": "minsi", "arith.maxui": "maxui",
    "arith.minui": "minui", "arith.andi": "and", "arith.ori": "or", "arith.xori": "xor",
}


def launch_rows(op: ir.Operation) -> bool:
    """A one-dimensional parallel loop whose body reduces along inner loops
    (the rows of a row sum, a logsumexp, softmax's max and sum) as a launch
    of one block of BLOCK threads per row: thread ``t`` folds the
    iterations ``t, t + BLOCK, ...`` of each inner loop (consecutive threads
    at consecutive elements of the row), ``gpu.all_reduce`` combines the
    block's partial results, every thread goes on with the row's value, and
    thread 0 stores the row's results. False (nothing changed but the
    accumulators, kept in registers) when an inner loop is not a fold of
    associative combining ops, writes memory, or walks a dim other than the
    contiguous one (a column sum: a thread per column reads consecutive
    elements across threads already)."""
    from mlir.dialects import arith, scf

    body = op.regions[0].blocks[0]
    for loop in reversed(walk(op, ["scf.for"])):  # innermost first
        promote_accumulators(loop)
    loops = [o for o in walk(op, ["scf.for"]) if not _in_loop(o, op)]
    if not loops or walk(op, ["scf.while", "scf.parallel"])[1:]:
        return False
    for loop in loops:
        if walk(loop, ["scf.for"])[1:] or not len(loop.results):
            return False
        if any(o.name in MEMORY and o.name not in ("memref.load", "vector.load") for o in walk(loop)):
            return False
        lbody = loop.regions[0].blocks[0]
        iv = lbody.arguments[0]
        for load in walk(loop, ["memref.load"]):  # along rows: the loop walks the contiguous dim
            indices = list(load.operands)[1:]
            if any(v == iv for v in indices[:-1]) or (indices and indices[-1] != iv and _uses(indices[-1], iv)):
                return False
        yielded = list(lbody.operations)[-1].operation.operands
        for k, value in enumerate(yielded):
            owner = value.owner
            if isinstance(owner, ir.Block) or owner.operation.name not in _ALL_REDUCE:
                return False
            if not _combines(owner.operation, lbody.arguments[1 + k]):
                return False
    lb, ub, step = op.operands[0], op.operands[1], op.operands[2]
    with ir.InsertionPoint(op), op.location:
        rows = arith.CeilDivSIOp(arith.SubIOp(ub, lb).result, step).result
        launch, kbody = new_launch(rows, BLOCK)
        with ir.InsertionPoint.at_block_begin(kbody):
            bid, tid = kbody.arguments[0], kbody.arguments[3]
            row = arith.AddIOp(lb, arith.MulIOp(bid, step).result).result
            first = arith.CmpIOp(arith.CmpIPredicate.eq, tid, index_const(0)).result
    end = list(kbody.operations)[-1]
    body.arguments[0].replace_all_uses_with(row)
    for inner in list(body.operations)[:-1]:  # all but scf.reduce
        inner.operation.move_before(end)
    op.erase()
    for loop in loops:
        lbody = loop.regions[0].blocks[0]
        combines = [v.owner.operation for v in list(lbody.operations)[-1].operation.operands]
        with ir.InsertionPoint(loop), loop.location:
            start = arith.AddIOp(loop.operands[0], arith.MulIOp(tid, loop.operands[2]).result).result
            stride = arith.MulIOp(loop.operands[2], index_const(BLOCK)).result
            inits = list(loop.operands)[3:]
            for k, c in enumerate(combines):
                loop.operands[3 + k] = _identity_of(c)
        loop.operands[0] = start
        loop.operands[2] = stride
        with ir.InsertionPoint.after(loop), loop.location:
            finals = []
            for k, c in enumerate(combines):
                el = c.results[0].type
                red = ir.Operation.create(
                    "gpu.all_reduce", results=[el], operands=[loop.results[k]], regions=1,
                    attributes={"op": ir.Attribute.parse(f"#gpu<all_reduce_op {_ALL_REDUCE[c.name]}>"),
                                "uniform": ir.UnitAttr.get()})
                finals.append((loop.results[k], red, _again(c, inits[k], red.results[0])))
        for result, red, final in finals:
            for use in list(result.uses):
                user = use.owner.operation if hasattr(use.owner, "operation") else use.owner
                if user != red:
                    user.operands[use.operand_number] = final
    for store in walk(launch, ["memref.store"]):  # the row's results: written once
        with ir.InsertionPoint(store), store.location:
            guard = scf.IfOp(first)
            with ir.InsertionPoint(guard.then_block):
                done = scf.YieldOp([])
        store.move_before(done)
    sink(launch)
    return True


def _uses(value: ir.Value, iv: ir.Value) -> bool:
    """Whether ``value`` is computed from ``iv``."""
    if value == iv:
        return True
    owner = value.owner
    if isinstance(owner, ir.Block):
        return False
    return any(_uses(v, iv) for v in owner.operation.operands)


def _in_loop(op: ir.Operation, outer: ir.Operation) -> bool:
    """Whether ``op`` is nested in an ``scf.for`` inside ``outer``."""
    parent = op.parent
    while parent is not None:
        parent = parent.operation
        if parent == outer:
            return False
        if parent.name == "scf.for":
            return True
        parent = parent.parent
    return False


# Threads computing the partial results of a split reduction: SPLIT_BLOCKS
# blocks of BLOCK, each folding every SPLIT_BLOCKS * BLOCK-th element, read
# by consecutive threads at consecutive addresses; one block of BLOCK
# threads folds those partials into BLOCK, and one thread folds these.
SPLIT_BLOCKS = 128
# Associative combining ops, with their identity (as the text of an attribute
# of the element type ``{t}``); the float sum's is -0.0 so a sum of -0.0s keeps its sign.
_IDENTITY = {
    "arith.addf": "-0.0 : {t}", "arith.mulf": "1.0 : {t}",
    "arith.maximumf": "0xFF800000 : {t}", "arith.maxnumf": "0xFF800000 : {t}",
    "arith.minimumf": "0x7F800000 : {t}", "arith.minnumf": "0x7F800000 : {t}",
    "arith.addi": "0 : {t}", "arith.ori": "0 : {t}", "arith.xori": "0 : {t}", "arith.muli": "1 : {t}",
    "arith.andi": "-1 : {t}", "arith.maxui": "0 : {t}", "arith.minui": "-1 : {t}",
    "arith.maxsi": "{min} : {t}", "arith.minsi": "{max} : {t}",
}


def split_reduction(loop: ir.Operation, blocks: int | None = None) -> bool:
    """A host-level reduction loop ``for i: acc = combine(acc, v(i))`` (its
    accumulator an iter_arg, or loaded and stored at one place) as kernels:
    ``blocks * BLOCK`` threads (``SPLIT_BLOCKS`` blocks unless given) each
    fold a strided share of the iterations into a partial result, and the
    partials are folded in turn (by one block, then by one thread) into the
    accumulator. Only for associative combining ops, and
    for float sums and products only where the loop allows reassociation
    (``fastmath<reassoc>``, which tir-to-linalg sets on reductions). A loop
    whose accumulator passes through an inner loop (a reduction over
    several dims) is split along its outer loop. False when ``loop`` is not
    of this form (it is left as it was)."""
    from mlir.dialects import arith, memref, scf

    for inner in reversed(walk(loop, ["scf.for"])[1:]):  # innermost first
        promote_accumulators(inner)
    form = _reduction_form(loop)
    if form is None:
        return False
    combine, acc, init_of, store = form
    body = loop.regions[0].blocks[0]
    lb, ub, step = list(loop.operands)[:3]
    el = combine.results[0].type
    blocks = SPLIT_BLOCKS if blocks is None else blocks
    threads = blocks * BLOCK
    with ir.InsertionPoint(loop), loop.location:
        partial = memref.AllocOp(ir.MemRefType.get([threads], el), [], []).result
        launch, kbody = new_launch(index_const(blocks), BLOCK)
        with ir.InsertionPoint.at_block_begin(kbody):
            t = global_thread(kbody)
            start = arith.AddIOp(lb, arith.MulIOp(t, step).result).result
            stride = arith.MulIOp(step, index_const(threads)).result
            share = scf.ForOp(start, ub, stride, [_identity_of(combine)])
            with ir.InsertionPoint(share.body):
                folded = scf.YieldOp([combine.results[0]])
            memref.StoreOp(share.results[0], partial, [t])
    body.arguments[0].replace_all_uses_with(share.induction_variable)
    acc.replace_all_uses_with(share.inner_iter_args[0])
    for op in [o.operation for o in body.operations]:
        if op.name == "scf.yield" or (store is not None and (op == store or op == acc.owner.operation)):
            continue
        op.move_before(folded.operation)
    with ir.InsertionPoint(loop), loop.location:
        init = init_of()
        fold = scf.ForOp(index_const(0), index_const(threads), index_const(1), [init])
        with ir.InsertionPoint(fold.body):
            value = memref.LoadOp(partial, [fold.induction_variable]).result
            scf.YieldOp([_again(combine, fold.inner_iter_args[0], value)])
        if store is not None:
            final = memref.StoreOp(fold.results[0], store.operands[1], list(store.operands[2:]))
    if store is None:
        loop.results[0].replace_all_uses_with(fold.results[0])
    loop.erase()
    sink(launch)
    if blocks == 1 or not split_reduction(fold.operation, 1):  # the partials in two steps
        launch_single(fold.operation)
    if store is not None:
        launch_single(final.operation)
    return True


def _again(combine: ir.Operation, a: ir.Value, b: ir.Value) -> ir.Value:
    """``combine`` applied to ``a`` and ``b`` (same op, same attributes: fastmath flags)."""
    names = [x if isinstance(x, str) else x.name for x in combine.attributes]
    op = ir.Operation.create(combine.name, results=[combine.results[0].type], operands=[a, b],
                             attributes={n: combine.attributes[n] for n in names})
    return op.results[0]


def _identity_of(combine: ir.Operation) -> ir.Value:
    """A constant: the identity of ``combine``."""
    from mlir.dialects import arith

    el = combine.results[0].type
    return arith.ConstantOp(el, _identity(combine.name, el)).result


def _identity(name: str, t: ir.Type) -> ir.Attribute:
    text = _IDENTITY[name]
    width = t.width if isinstance(t, ir.IntegerType) else 64
    if isinstance(t, ir.F64Type):
        text = text.replace("0xFF800000", "0xFFF0000000000000").replace("0x7F800000", "0x7FF0000000000000")
    return ir.Attribute.parse(text.format(t=t, min=-(2 ** (width - 1)), max=2 ** (width - 1) - 1))


def _reduction_form(loop: ir.Operation) -> tuple | None:
    """(combine op, the accumulator value it reads, a builder of the initial
    accumulator, the store of form B or None) of a splittable reduction loop."""
    from mlir.dialects import memref

    body = loop.regions[0].blocks[0]
    ops = [o.operation for o in body.operations]
    if walk(loop, ["scf.parallel", "scf.while"]) or len(list(loop.operands)) - 3 != len(loop.results):
        return None
    _normalize_nested(loop)
    ops = [o.operation for o in body.operations]
    writes = [o for o in walk(loop)[1:] if o.name in MEMORY and o.name not in ("memref.load", "vector.load")]
    if len(loop.results) == 1 and not writes:  # form A: the accumulator is an iter_arg
        acc = body.arguments[1]
        yielded = ops[-1].operands[0]
        combine = yielded.owner
        if isinstance(combine, ir.Block) or not _combines(combine.operation, acc):
            return None
        start = loop.operands[3]
        return combine.operation, acc, (lambda: start), None
    if len(loop.results) == 0 and len(writes) == 1 and writes[0].name == "memref.store" and writes[0] in ops:
        store = writes[0]  # form B: loaded and stored at one loop-invariant place
        combine = store.operands[0].owner
        if isinstance(combine, ir.Block):
            return None
        combine = combine.operation
        target, indices = store.operands[1], list(store.operands[2:])
        loads = [o for o in ops if o.name == "memref.load" and o.operands[0] == target]
        if len(loads) != 1 or list(loads[0].operands[1:]) != indices:
            return None
        if not all(defined_outside(v, loop) for v in [target, *indices]):
            return None
        acc = loads[0].results[0]
        if not _combines(combine, acc) or combine not in ops:
            return None

        def load_accumulator() -> ir.Value:
            return memref.LoadOp(target, indices).result

        return combine, acc, load_accumulator, store
    return None


def _combines(op: ir.Operation, acc: ir.Value) -> bool:
    """Whether ``op`` is ``combine(acc, v)`` (either order), ``acc``'s only use,
    of an associative op (float sums and products: with reassoc)."""
    if op.name not in _IDENTITY or len(op.operands) != 2 or acc not in list(op.operands):
        return False
    if len(list(acc.uses)) != 1 or op.operands[0] == op.operands[1]:
        return False
    if op.name in ("arith.addf", "arith.mulf"):
        return "fastmath" in op.attributes and "reassoc" in str(op.attributes["fastmath"])
    return True


def _normalize_nested(loop: ir.Operation) -> None:
    """``for i (a): a' = [for j (b = a): combine(b, v)]; yield a'`` becomes
    ``for i (a): r = [for j (b = identity): combine(b, v)]; yield combine(a, r)``,
    so the outer loop is a reduction of its own (reassociating the fold)."""
    body = loop.regions[0].blocks[0]
    ops = [o.operation for o in body.operations]
    if len(loop.results) == 0 and len(ops) >= 4 and ops[-2].name == "memref.store" and ops[-3].name == "scf.for":
        _normalize_stored(ops[-3], ops[-2])
        return
    if len(loop.results) != 1 or len(ops) < 2:
        return
    inner = ops[-2]
    acc = body.arguments[1]
    if inner.name != "scf.for" or len(inner.results) != 1 or ops[-1].operands[0] != inner.results[0]:
        return
    if list(inner.operands)[3] != acc or len(list(acc.uses)) != 1:
        return
    _fold_outside(inner, acc, ops[-1], 0)


def _normalize_stored(inner: ir.Operation, store: ir.Operation) -> None:
    """The form-B case of :func:`_normalize_nested`: ``x = load m[i];
    r = [for j (b = x): combine(b, v)]; store r, m[i]`` becomes ``r = [for j
    (b = identity): ...]; store combine(load m[i], r), m[i]``."""
    if len(inner.results) != 1 or store.operands[0] != inner.results[0]:
        return
    init = list(inner.operands)[3]
    load = init.owner
    if isinstance(load, ir.Block) or load.operation.name != "memref.load" or len(list(init.uses)) != 1:
        return
    load = load.operation
    if load.operands[0] != store.operands[1] or list(load.operands[1:]) != list(store.operands[2:]):
        return
    _fold_outside(inner, load.results[0], store, 0)


def _fold_outside(inner: ir.Operation, acc: ir.Value, user: ir.Operation, operand: int) -> None:
    """Where the reduction loop ``inner`` starts from ``acc``: start it from
    the identity instead, and make operand ``operand`` of ``user`` (which
    reads ``inner``'s result) ``combine(acc, result)``."""
    _normalize_nested(inner)
    form = _reduction_form(inner)
    if form is None or form[3] is not None:
        return
    combine = form[0]
    with ir.InsertionPoint(inner), inner.location:
        inner.operands[3] = _identity_of(combine)
    with ir.InsertionPoint(user), user.location:
        user.operands[operand] = _again(combine, acc, inner.results[0])
