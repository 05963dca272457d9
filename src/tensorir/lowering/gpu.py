"""The GPU pipeline, compile side: linalg on tensors -> buffers -> parallel
loops -> ``gpu`` kernels -> NVVM -> PTX for NVIDIA GPUs.

Every step but one is an upstream MLIR pass from the pinned wheels (their
LLVM has the NVPTX target and libdevice, so no CUDA toolkit is needed):

1. the CPU pipeline's fusion and bufferization (``FUSE``, one-shot
   bufferization, ``tir-drop-update-results``, and ``tir-reuse-buffers``
   under ``ti.config.inplace``); no deallocation: the host code's buffers
   are freed when the launcher lets go of them;
2. every ``memref.copy`` becomes a parallel loop nest
   (``tir-strided-copies``), every linalg op becomes ``scf.parallel`` over
   its parallel dims with ``scf.for`` over its reductions
   (``convert-linalg-to-parallel-loops``);
3. ``tir-gpu-kernels`` (:func:`gpu_kernels`): each top-level parallel loop
   nest becomes a ``gpu.launch`` of one-dimensional blocks of :data:`BLOCK`
   threads, thread ``k`` of the launch taking the ``k``-th point of the
   iteration space in row-major order, so consecutive threads touch
   consecutive elements of the contiguous dimension (coalesced accesses),
   and no grid dimension limits the sizes (only x is used). An accumulator
   that a reduction loop loads and stores at the same place on every step
   lives in a register for the loop (:func:`_promote_accumulators`). What
   touches memory outside any parallel loop (a full reduction's loop, the
   store of a 0-d result) runs as a kernel of one thread: all data stays on
   the device. Loops around parallel loops (a scan's steps) stay host code;
   ``memref.load`` in host code reads one element back from the device;
4. kernel outlining, after sinking index computations into the launches so
   constants and dims are not kernel parameters;
5. ``nvvm-attach-target`` (the device's chip, PTX ISA 8.0),
   ``convert-gpu-to-nvvm`` and ``gpu-module-to-binary{format=isa}``: each
   ``gpu.binary`` holds PTX, which the driver compiles for the GPU at hand.

The host function left (index arithmetic, allocations, views, loops and
``gpu.launch_func``) is turned into Python by ``lowering/gpu_host.py``.
"""

from __future__ import annotations

from ..dialects._bindings import ir, walk
from ..errors import CompileError
from .bool_storage import bool_storage
from .buffers import reuse_buffers
from .copies import copy_to_generic

__all__ = ["BLOCK", "CHIP", "gpu_kernels", "to_gpu_kernels", "to_gpu_binaries", "ptx_of", "kernels_of"]

BLOCK = 256  # threads per block
CHIP = "sm_90"  # the default target: NVIDIA H100

TO_LOOPS = "func.func(convert-linalg-to-parallel-loops,canonicalize,cse)"
OUTLINE = "gpu-launch-sink-index-computations,gpu-kernel-outlining,lower-affine,canonicalize,cse"


def device_steps(chip: str = CHIP) -> str:
    """The upstream pipeline from outlined kernels to PTX for ``chip``."""
    return (
        f"nvvm-attach-target{{chip={chip} features=+ptx80 O=3}},"
        "gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm,canonicalize,cse,reconcile-unrealized-casts),"
        "gpu-module-to-binary{format=isa}"
    )


def to_gpu_kernels(module: ir.Module, reuse: bool = True) -> None:
    """Lower a module at the linalg stage (after ``tir-entry-abi``) to host
    functions launching outlined ``gpu.func`` kernels."""
    from .cpu import run_pipeline, to_buffers_steps

    steps = to_buffers_steps()
    steps += [(reuse_buffers, "tir-reuse-buffers")] if reuse else []
    steps += [(bool_storage, "tir-bool-storage"), (_all_copies, "tir-gpu-copies"), TO_LOOPS,
              (gpu_kernels, "tir-gpu-kernels"), OUTLINE, (merge_kernel_modules, "tir-gpu-merge-modules")]
    run_pipeline(module, steps, "lowering to GPU kernels")


def to_gpu_binaries(module: ir.Module, chip: str = CHIP, reuse: bool = True) -> None:
    """:func:`to_gpu_kernels`, then each kernel module to a ``gpu.binary`` holding PTX for ``chip``."""
    from .cpu import run_pipeline

    to_gpu_kernels(module, reuse)
    run_pipeline(module, [device_steps(chip)], "compiling the GPU kernels to PTX")


def _all_copies(module_op: ir.Operation) -> None:
    """``tir-gpu-copies``: every ``memref.copy`` becomes a parallel loop nest
    (a kernel), as a device buffer cannot be copied by the host's ``memcpy``."""
    for op in walk(module_op, ["memref.copy"]):
        copy_to_generic(op)


# --- tir-gpu-kernels ---------------------------------------------------------

# Ops of host code that neither touch memory nor hold a loop: left to the host.
_MEMORY = frozenset({"memref.load", "memref.store", "memref.atomic_rmw", "memref.copy", "vector.load", "vector.store"})


def gpu_kernels(module_op: ir.Operation) -> None:
    """``tir-gpu-kernels``: parallel loops and memory accesses of public
    functions become ``gpu.launch`` ops (see the module docstring)."""
    for view in module_op.regions[0].blocks[0].operations:
        op = view.operation
        if op.name == "func.func" and op.regions[0].blocks:
            _host_region(op.regions[0])


def _host_region(region: ir.Region) -> None:
    for block in region.blocks:
        for op in list(block.operations):
            _host_op(op.operation)


def _host_op(op: ir.Operation) -> None:
    name = op.name
    if name == "scf.parallel":
        _launch_parallel(op)
    elif name in ("scf.for", "scf.if", "scf.while", "scf.execute_region"):
        if walk(op, ["scf.parallel"]):
            for region in op.regions:  # a loop around kernels: host control flow
                _host_region(region)
        elif op.name == "scf.for" and _split_reduction(op):
            pass  # a reduction over many elements: partial results in parallel, then their fold
        elif walk(op, ["scf.for", "scf.while"]) or (_scalar_kind(op) is None and any(o.name in _MEMORY for o in walk(op))):
            _launch_single(op)
        # else: cheap scalar work, cloned into the kernels that use it (_sink)
    elif name in ("memref.store", "memref.atomic_rmw", "vector.store"):
        if not _host_indices(op.operands[1]):  # a shape for memref.reshape stays on the host
            _launch_single(op)
    elif name.startswith("linalg."):
        raise CompileError(f"internal: {name} left after convert-linalg-to-parallel-loops")


def _host_indices(buffer: ir.Value) -> bool:
    """Whether ``buffer`` holds indices (the shape operand of ``memref.reshape``),
    a buffer of the host, not of the device."""
    return isinstance(buffer.type, ir.MemRefType) and isinstance(ir.MemRefType(buffer.type).element_type, ir.IndexType)


def _index(value: int) -> ir.Value:
    from mlir.dialects import arith

    return arith.ConstantOp(ir.IndexType.get(), value).result


def _new_launch(grid: ir.Value, threads: int) -> tuple[ir.Operation, ir.Block]:
    """A ``gpu.launch`` of ``grid`` one-dimensional blocks of ``threads``
    threads, with its body block (ended by ``gpu.terminator``)."""
    from mlir.dialects import gpu

    one = _index(1)
    launch = gpu.LaunchOp((grid, one, one), (_index(threads), one, one))
    body = launch.regions[0].blocks[0]  # made by the builder, with the 12 ids and sizes
    with ir.InsertionPoint(body):
        gpu.TerminatorOp()
    return launch.operation, body


def _launch_parallel(op: ir.Operation) -> None:
    """One top-level ``scf.parallel`` (no reductions of its own) -> a launch
    whose thread ``b * BLOCK + t`` runs the point of that row-major rank."""
    from mlir.dialects import arith, scf

    if len(op.results):
        raise CompileError("internal: a parallel loop with reductions reached tir-gpu-kernels")
    n = (len(op.operands)) // 3
    lbs, ubs, steps = op.operands[:n], op.operands[n:2 * n], op.operands[2 * n:3 * n]
    body = op.regions[0].blocks[0]
    with ir.InsertionPoint(op), op.location:
        counts = []
        for lb, ub, step in zip(lbs, ubs, steps):
            counts.append(arith.CeilDivSIOp(arith.SubIOp(ub, lb).result, step).result)
        total = counts[0]
        for c in counts[1:]:
            total = arith.MulIOp(total, c).result
        grid = arith.CeilDivSIOp(total, _index(BLOCK)).result
        launch, kbody = _new_launch(grid, BLOCK)
        with ir.InsertionPoint.at_block_begin(kbody):
            bid, tid = kbody.arguments[0], kbody.arguments[3]
            linear = arith.AddIOp(arith.MulIOp(bid, _index(BLOCK)).result, tid).result
            inside = arith.CmpIOp(arith.CmpIPredicate.slt, linear, total).result
            guard = scf.IfOp(inside)
            with ir.InsertionPoint(guard.then_block):
                ivs = [None] * n
                rest = linear
                for k in reversed(range(n)):
                    idx = rest if k == 0 else arith.RemSIOp(rest, counts[k]).result
                    if k:
                        rest = arith.DivSIOp(rest, counts[k]).result
                    ivs[k] = arith.AddIOp(lbs[k], arith.MulIOp(idx, steps[k]).result).result
                done = scf.YieldOp([])
        for iv, value in zip(body.arguments, ivs):
            iv.replace_all_uses_with(value)
        for inner in list(body.operations)[:-1]:  # all but scf.reduce
            inner.operation.move_before(done)
    op.erase()
    _sink(launch)
    for loop in walk(launch, ["scf.for"]):
        _promote_accumulators(loop)


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


def _split_reduction(loop: ir.Operation, blocks: int | None = None) -> bool:
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
        _promote_accumulators(inner)
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
        launch, kbody = _new_launch(_index(blocks), BLOCK)
        with ir.InsertionPoint.at_block_begin(kbody):
            t = arith.AddIOp(arith.MulIOp(kbody.arguments[0], _index(BLOCK)).result, kbody.arguments[3]).result
            start = arith.AddIOp(lb, arith.MulIOp(t, step).result).result
            stride = arith.MulIOp(step, _index(threads)).result
            identity = arith.ConstantOp(el, _identity(combine.name, el)).result
            share = scf.ForOp(start, ub, stride, [identity])
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
        fold = scf.ForOp(_index(0), _index(threads), _index(1), [init])
        with ir.InsertionPoint(fold.body):
            value = memref.LoadOp(partial, [fold.induction_variable]).result
            again = ir.Operation.create(combine.name, results=[el], operands=[fold.inner_iter_args[0], value],
                                        attributes=_attributes(combine))
            scf.YieldOp([again.results[0]])
        if store is not None:
            final = memref.StoreOp(fold.results[0], store.operands[1], list(store.operands[2:]))
    if store is None:
        loop.results[0].replace_all_uses_with(fold.results[0])
    loop.erase()
    _sink(launch)
    if blocks == 1 or not _split_reduction(fold.operation, 1):  # the partials in two steps
        _launch_single(fold.operation)
    if store is not None:
        _launch_single(final.operation)
    return True


def _attributes(op: ir.Operation) -> dict[str, ir.Attribute]:
    names = [a if isinstance(a, str) else a.name for a in op.attributes]
    return {n: op.attributes[n] for n in names}


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
    writes = [o for o in walk(loop)[1:] if o.name in _MEMORY and o.name not in ("memref.load", "vector.load")]
    if len(loop.results) == 1 and not writes:  # form A: the accumulator is an iter_arg
        acc = body.arguments[1]
        yielded = ops[-1].operands[0]
        combine = yielded.owner
        if isinstance(combine, ir.Block) or not _combines(combine.operation, acc):
            return None
        initial = loop.operands[3]
        return combine.operation, acc, (lambda: initial), None
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
        if not all(_defined_outside(v, loop) for v in [target, *indices]):
            return None
        acc = loads[0].results[0]
        if not _combines(combine, acc) or combine not in ops:
            return None

        def initial() -> ir.Value:
            return memref.LoadOp(target, indices).result

        return combine, acc, initial, store
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
    from mlir.dialects import arith

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
    _normalize_nested(inner)
    form = _reduction_form(inner)
    if form is None or form[3] is not None:
        return
    combine = form[0]
    el = combine.results[0].type
    with ir.InsertionPoint(inner), inner.location:
        identity = arith.ConstantOp(el, _identity(combine.name, el)).result
    inner.operands[3] = identity
    with ir.InsertionPoint(ops[-1]), loop.location:
        outer = ir.Operation.create(combine.name, results=[el], operands=[acc, inner.results[0]],
                                    attributes=_attributes(combine))
    ops[-1].operands[0] = outer.results[0]


def _normalize_stored(inner: ir.Operation, store: ir.Operation) -> None:
    """The form-B case of :func:`_normalize_nested`: ``x = load m[i];
    r = [for j (b = x): combine(b, v)]; store r, m[i]`` becomes ``r = [for j
    (b = identity): ...]; store combine(load m[i], r), m[i]``."""
    from mlir.dialects import arith

    if len(inner.results) != 1 or store.operands[0] != inner.results[0]:
        return
    init = list(inner.operands)[3]
    load = init.owner
    if isinstance(load, ir.Block) or load.operation.name != "memref.load" or len(list(init.uses)) != 1:
        return
    load = load.operation
    if load.operands[0] != store.operands[1] or list(load.operands[1:]) != list(store.operands[2:]):
        return
    _normalize_nested(inner)
    form = _reduction_form(inner)
    if form is None or form[3] is not None:
        return
    combine = form[0]
    el = combine.results[0].type
    with ir.InsertionPoint(inner), inner.location:
        identity = arith.ConstantOp(el, _identity(combine.name, el)).result
    inner.operands[3] = identity
    with ir.InsertionPoint(store), store.location:
        outer = ir.Operation.create(combine.name, results=[el], operands=[load.results[0], inner.results[0]],
                                    attributes=_attributes(combine))
    store.operands[0] = outer.results[0]


def _launch_single(op: ir.Operation) -> None:
    """``op`` (a loop, or touching device memory, outside any parallel loop)
    as a kernel of one thread. Values it yields are stored into 0-d buffers,
    which the code after it loads (``_sink`` moves those loads into the
    kernels that use them, so the host reads them only to compute sizes)."""
    from mlir.dialects import memref

    with ir.InsertionPoint(op), op.location:
        buffers = [memref.AllocOp(ir.MemRefType.get([], r.type), [], []).result for r in op.results]
        launch, kbody = _new_launch(_index(1), 1)
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
                if not _inside(user, launch):
                    user.operands[use.operand_number] = value
    _sink(launch)
    for loop in walk(launch, ["scf.for"]):
        _promote_accumulators(loop)


# Host ops that writes to device memory may not be moved across.
_WRITES = frozenset({"gpu.launch", "memref.store", "memref.copy", "func.call"})


def _sink(launch: ir.Operation) -> None:
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
        kind = _scalar_kind(owner)
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
                if _inside(user, launch):
                    user.operands[use.operand_number] = new


def _scalar_kind(op: ir.Operation) -> str | None:
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
            if _host_indices(o.operands[0]):
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
                inside = not isinstance(owner, ir.Block) and _inside(owner.operation, launch)
                if not inside or owner.operation.name in _VIEWS:
                    roots.add(_root(v))
    return roots


def _inside(op: ir.Operation, ancestor: ir.Operation) -> bool:
    while op is not None:
        if op == ancestor:
            return True
        op = op.parent
        op = op.operation if op is not None else None
    return False


def _promote_accumulators(loop: ir.Operation) -> None:
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
        if not all(_defined_outside(v, loop) for v in [m, *load.operands[1:]]):
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


def _defined_outside(value: ir.Value, loop: ir.Operation) -> bool:
    """Whether ``value`` is defined outside ``loop`` (not in its body)."""
    owner = value.owner
    op = owner.owner if isinstance(owner, ir.Block) else owner
    while op is not None:
        op = op.operation
        if op == loop:
            return False
        op = op.parent
    return True


def merge_kernel_modules(module_op: ir.Operation) -> None:
    """``tir-gpu-merge-modules``: the kernels of the module, one ``gpu.module``
    each after outlining, move into one ``gpu.module @kernels``, each named
    after the module it came from: one PTX module to assemble and load."""
    top = module_op.regions[0].blocks[0]
    modules = [v.operation for v in top.operations if v.operation.name == "gpu.module"]
    if len(modules) < 2:
        return
    merged = modules[0]
    merged_name = ir.StringAttr(merged.attributes["sym_name"]).value
    body = merged.regions[0].blocks[0]
    renamed: dict[str, str] = {}
    for m in modules:
        name = ir.StringAttr(m.attributes["sym_name"]).value
        for view in list(m.regions[0].blocks[0].operations):
            f = view.operation
            if f.name != "gpu.func":
                continue
            old = ir.StringAttr(f.attributes["sym_name"]).value
            renamed[f"@{name}::@{old}"] = name
            f.attributes["sym_name"] = ir.StringAttr.get(name)
            if m != merged:
                f.move_after(list(body.operations)[-1])  # a gpu.module has no terminator
    for m in modules[1:]:
        m.erase()
    for launch in walk(module_op, ["gpu.launch_func"]):
        new = renamed[str(launch.attributes["kernel"])]
        launch.attributes["kernel"] = ir.SymbolRefAttr.get([merged_name, new])


# --- PTX ---------------------------------------------------------------------

SEPARATOR = "// -----"


def kernels_of(module: ir.Module) -> dict[str, str]:
    """The PTX of each kernel module of ``module`` after :func:`to_gpu_binaries`, by module name."""
    from mlir.dialects import gpu

    found = {}
    for view in module.body.operations:
        op = view.operation
        if op.name != "gpu.binary":
            continue
        name = ir.StringAttr(op.attributes["sym_name"]).value
        for attr in ir.ArrayAttr(op.attributes["objects"]):
            obj = gpu.ObjectAttr(attr).object
            text = obj.decode() if isinstance(obj, bytes) else str(obj)
            found[name] = text.rstrip("\0").rstrip() + "\n"
    return found


def ptx_of(module: ir.Module) -> str:
    """The PTX of every kernel module of ``module`` after :func:`to_gpu_binaries`:
    one PTX module per outlined kernel, each headed by a ``// gpu.module @name``
    line and separated by :data:`SEPARATOR` lines (each part assembles alone)."""
    texts = [f"// gpu.module @{name}\n{text}" for name, text in kernels_of(module).items()]
    if not texts:
        raise CompileError("the module has no GPU kernel: it computes nothing on arrays")
    return f"{SEPARATOR}\n".join(texts)
