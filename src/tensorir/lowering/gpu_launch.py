"""Building blocks of GPU kernels for ``tir-gpu-kernels`` (``lowering/gpu.py``):
new launches, host work moved into kernels of one thread, the scalar values
a kernel reads cloned into it (with a check that no launch between writes
what they load), and reduction accumulators kept in registers."""

from __future__ import annotations

from ..dialects._bindings import ir, walk
from .common import index_const

__all__ = ["BLOCK", "MEMORY", "host_indices", "new_launch", "global_thread", "launch_single", "sink", "scalar_kind",
           "inside", "defined_outside", "promote_accumulators"]

BLOCK = 256  # threads per block
# Ops that touch memory.
MEMORY = frozenset({"memref.load", "memref.store", "memref.atomic_rmw", "memref.copy", "vector.load", "vector.store"})


def host_indices(buffer: ir.Value) -> bool:
    """Whether ``buffer`` holds indices (the shape operand of ``memref.reshape``),
    a buffer of the host, not of the device."""
    return isinstance(buffer.type, ir.MemRefType) and isinstance(ir.MemRefType(buffer.type).element_type, ir.IndexType)




def new_launch(grid: ir.Value, threads: int) -> tuple[ir.Operation, ir.Block]:
    """A ``gpu.launch`` of ``grid`` one-dimensional blocks of ``threads``
    threads, with its body block (ended by ``gpu.terminator``)."""
    from mlir.dialects import gpu

    one = index_const(1)
    launch = gpu.LaunchOp((grid, one, one), (index_const(threads), one, one))
    body = launch.regions[0].blocks[0]  # made by the builder, with the 12 ids and sizes
    with ir.InsertionPoint(body):
        gpu.TerminatorOp()
    return launch.operation, body


def global_thread(body: ir.Block) -> ir.Value:
    """In the body of a launch by :func:`new_launch` of ``BLOCK``-thread
    blocks: the thread's rank in the grid, ``block_id * BLOCK + thread_id``."""
    from mlir.dialects import arith

    return arith.AddIOp(arith.MulIOp(body.arguments[0], index_const(BLOCK)).result, body.arguments[3]).result


def launch_single(op: ir.Operation) -> None:
    """``op`` (a loop, or touching device memory, outside any parallel loop)
    as a kernel of one thread. Values it yields are stored into 0-d buffers,
    which the code after it loads (:func:`sink` moves those loads into the
    kernels that use them, so the host reads them only to compute sizes)."""
    from mlir.dialects import memref

    with ir.InsertionPoint(op), op.location:
        buffers = [memref.AllocOp(ir.MemRefType.get([], r.type), [], []).result for r in op.results]
        launch, kbody = new_launch(index_const(1), 1)
    end = list(kbody.operations)[-1]
    op.move_before(end)
    if buffers:
        with ir.InsertionPoint(end), op.location:
            for r, buf in zip(op.results, buffers):
                memref.StoreOp(r, buf, [])
        with ir.InsertionPoint.after(launch), op.location:
            loaded = [memref.LoadOp(buf, []).result for buf in buffers]
        for r, value in zip(op.results, loaded):
            for use in list(r.uses):
                user = use.owner.operation if hasattr(use.owner, "operation") else use.owner
                if not inside(user, launch):
                    user.operands[use.operand_number] = value
    sink(launch)
    for loop in walk(launch, ["scf.for"]):
        promote_accumulators(loop)


# Host ops that writes to device memory may not be moved across.
_WRITES = frozenset({"gpu.launch", "memref.store", "memref.copy", "func.call"})


def sink(launch: ir.Operation) -> None:
    """Clone into ``launch`` the scalar computations of its block that it
    reads: ``arith``/``math`` ops, and ``memref.load`` where nothing between
    the load and the launch writes memory. The host then neither reads a
    value back from the device to pass it in nor computes on it."""
    order: list[ir.Operation] = []
    seen: set = set()

    def need(value: ir.Value) -> None:
        owner = value.owner
        if isinstance(owner, ir.Block):
            return
        owner = owner.operation
        if owner in seen or not owner.block == launch.block:
            return
        kind = scalar_kind(owner)
        if kind is None or (kind == "reads" and not _no_write_between(owner, launch)):
            return
        seen.add(owner)
        for inner in walk(owner):
            for v in inner.operands:
                need(v)
        order.append(owner)

    for op in walk(launch)[1:]:
        for v in op.operands:
            need(v)
    if not order:
        return
    body = launch.regions[0].blocks[0]
    anchor = body.operations[0]
    clones = []
    for owner in order:  # dependencies first
        with ir.InsertionPoint(anchor):
            clones.append(owner.clone())
    for owner, clone in zip(order, clones):
        for old, new in zip(owner.results, clone.results):
            for use in list(old.uses):
                user = use.owner.operation if hasattr(use.owner, "operation") else use.owner
                if inside(user, launch):
                    user.operands[use.operand_number] = new


def scalar_kind(op: ir.Operation) -> str | None:
    """``pure`` for cheap scalar arithmetic (``arith``, ``math``, and
    ``scf.if`` yielding values and holding only such ops), ``reads`` when it
    also loads from memory, None for anything else (loops, allocations,
    views, writes...)."""
    if op.regions and (not len(op.results) or op.name not in ("scf.if", "scf.execute_region")):
        return None
    kind = "pure"
    for o in walk(op):
        name = o.name
        if name == "memref.load":
            if host_indices(o.operands[0]):
                return None
            kind = "reads"
        elif not (name.startswith(("arith.", "math.")) or name in ("scf.yield", "scf.if", "scf.execute_region")):
            return None
    return kind


def _no_write_between(first: ir.Operation, launch: ir.Operation) -> bool:
    """Whether no op between ``first`` (which reads memory) and ``launch``
    may write what ``first`` reads: a launch or store touching a buffer
    with the same root (the allocation or argument under any views), or
    any op with regions of its own (host loops)."""
    read = {_root(o.operands[0]) for o in walk(first) if o.name == "memref.load"}
    started = False
    for view in launch.block.operations:
        op = view.operation
        if op == first:
            started = True
        elif op == launch:
            return started
        elif not started:
            continue
        elif op.name == "gpu.launch":
            if read & _roots_used(op):
                return False
        elif op.name in _WRITES:
            if read & {_root(v) for v in op.operands if isinstance(v.type, ir.MemRefType)}:
                return False
        elif op.regions:
            return False
    return False


_VIEWS = frozenset({"memref.subview", "memref.expand_shape", "memref.collapse_shape", "memref.cast",
                    "memref.reinterpret_cast", "memref.reshape"})


def _root(value: ir.Value) -> ir.Value:
    """The buffer under any views of ``value``."""
    while not isinstance(value.owner, ir.Block) and value.owner.operation.name in _VIEWS:
        value = value.owner.operation.operands[0]
    return value


def _roots_used(launch: ir.Operation) -> set:
    """The roots of the buffers a launch's body uses from outside it."""
    roots = set()
    for op in walk(launch)[1:]:
        for v in op.operands:
            if isinstance(v.type, ir.MemRefType):
                owner = v.owner
                within = not isinstance(owner, ir.Block) and inside(owner.operation, launch)
                if not within or owner.operation.name in _VIEWS:
                    roots.add(_root(v))
    return roots


def inside(op: ir.Operation, ancestor: ir.Operation) -> bool:
    """Whether ``op`` is ``ancestor`` or nested in it."""
    while op is not None:
        if op == ancestor:
            return True
        op = op.parent
        op = op.operation if op is not None else None
    return False


def promote_accumulators(loop: ir.Operation) -> None:
    """Keep in a register what ``loop`` loads and stores at one loop-invariant
    place: ``x = load m[i]; ...; store y, m[i]`` on every step, with no other
    access to ``m`` in the loop, becomes a load before the loop, an iter_arg,
    and a store after it (a reduction's accumulator; on the GPU each step
    would otherwise be a round trip to global memory)."""
    from mlir.dialects import memref, scf

    body = loop.regions[0].blocks[0]
    ops = [o.operation for o in body.operations]
    accesses: dict[ir.Value, list[ir.Operation]] = {}
    for o in walk(loop)[1:]:
        if o.name in ("memref.load", "memref.store"):
            m = o.operands[0] if o.name == "memref.load" else o.operands[1]
            accesses.setdefault(m, []).append(o)
    found = []
    for m, group in accesses.items():
        if len(group) != 2 or group[0].name != "memref.load" or group[1].name != "memref.store":
            continue
        load, store = group
        if load not in ops or store not in ops or ops.index(load) > ops.index(store):
            continue
        if list(load.operands[1:]) != list(store.operands[2:]):
            continue
        if not all(defined_outside(v, loop) for v in [m, *load.operands[1:]]):
            continue
        found.append((load, store))
    if not found:
        return
    # rebuild the loop with one iter_arg per promoted accumulator
    lb, ub, step, *inits = loop.operands
    with ir.InsertionPoint(loop), loop.location:
        starts = [memref.LoadOp(load.operands[0], list(load.operands[1:])).result for load, _ in found]
        new = scf.ForOp(lb, ub, step, list(inits) + starts)
    old_yield = ops[-1]
    with ir.InsertionPoint(new.body), loop.location:
        new_yield = scf.YieldOp(list(old_yield.operands) + [store.operands[0] for _, store in found])
    for old_arg, new_arg in zip(body.arguments, new.body.arguments):
        old_arg.replace_all_uses_with(new_arg)
    for i, (load, _) in enumerate(found):
        load.results[0].replace_all_uses_with(new.body.arguments[1 + len(inits) + i])
    for o in ops[:-1]:
        o.move_before(new_yield.operation)
    for res_old, res_new in zip(loop.results, new.results):
        res_old.replace_all_uses_with(res_new)
    for i, (load, store) in enumerate(found):
        load.erase()
        store.move_after(new.operation)
        store.operands[0] = new.results[len(inits) + i]
    loop.erase()


def defined_outside(value: ir.Value, loop: ir.Operation) -> bool:
    """Whether ``value`` is defined outside ``loop`` (not in its body)."""
    owner = value.owner
    op = owner.owner if isinstance(owner, ir.Block) else owner
    while op is not None:
        op = op.operation
        if op == loop:
            return False
        op = op.parent
    return True
