"""``tir-parallel-loops``: big loop nests are split across threads.

Takes in: linalg on buffers, after bufferization and ``tir-linalg-to-blas``.
Leaves: each eligible ``linalg.generic`` of a function's entry block
replaced by a call that runs it in chunks along one of its parallel dims,
on several threads::

    %work  = d0 * d1 * ... [* trips of the loops in its body]   // elements
    %t     = %work >= minsize ? threads : 1
    %chunk = max(ceildiv(n, %t) [rounded up to 16 when n is the innermost dim], 1)
    <store the values the op reads, n and %chunk in a context struct %ctx>
    call @tensorir_parallel_for(@f_chunk0, %ctx, ceildiv(n, %chunk))

    func.func private @f_chunk0(%ctx: !llvm.ptr, %c: i64) attributes {tir.chunk} {
      <load the values back>; %lo = %c * %chunk ; %len = min(%chunk, n - %lo)
      linalg.generic (memref.subview [%lo, %lo + %len) along the split dim of each operand)
    }

``tensorir_parallel_for`` (``runtime/threads.py``) runs chunk 0 on the
calling thread and the others on the thread pool of MLIR's async runtime;
with one chunk (small work) it is a plain call.

The split dim is the outermost parallel dim not statically 1 (the columns
of a column sum, whose loop over rows is outside). A chunk runs the same
loops over the same iterations as the whole op, in the same order, with the
same inner loop, so each element's result, and the order in which a
reduction accumulates it, are the same with any number of threads: results
are bitwise identical to single-threaded code. A reduction's accumulation
is never split (an op with no parallel dim, a full sum, stays serial).

Left alone: ops nested in regions (the loops of a scan step, the branches
of a bounds check), ops calling a library (``library_call``: BLAS), ops
whose indexing maps use a dim in an expression (``d0 + d1``), and ops whose
iteration space has fewer than ``minsize`` elements when its size is
static. With free dims the test is made at run time.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

from ..dialects._bindings import ir, walk
from .common import has_function, index_const, indexing_maps

__all__ = [
    "tir_parallel_loops", "merge_chunks", "DISPATCH", "CHUNK", "ALIGN", "pack_context", "chunk_function", "dispatch",
    "clone_rebound", "contains",
]

# A chunk of the innermost dim is a multiple of this many elements (a 64-byte
# cache line of float32), so two threads never write the same line.
ALIGN = 16


def tir_parallel_loops(module_op: ir.Operation, threads: int = 2, minsize: int = 0) -> None:
    """Split the eligible linalg ops of every function over ``threads`` chunks
    when their iteration space has at least ``minsize`` elements.

    The defaults (two threads, no minimum) are ``tensorir-opt``'s; compiled
    functions use ``ti.config.threads`` and ``ti.config.parallel_minsize``.
    """
    if threads < 2:
        return
    body = module_op.regions[0].blocks[0]
    ops = [v.operation for v in body.operations]
    functions = [op for op in ops if op.name == "func.func"]
    taken = {ir.StringAttr(fn.attributes["sym_name"]).value for fn in functions}
    for fn in functions:
        if len(fn.regions[0].blocks) != 1:
            continue
        # chunk functions follow the function they come from
        after = ops.index(fn) + 1
        at = ir.InsertionPoint(ops[after]) if after < len(ops) else ir.InsertionPoint(body)
        fn_name = ir.StringAttr(fn.attributes["sym_name"]).value
        for op in [v.operation for v in fn.regions[0].blocks[0].operations]:
            plan = _plan(op, minsize)
            if plan is None:
                continue
            _declare_dispatch(module_op)
            name = next(f"{fn_name}_chunk{k}" for k in range(len(taken) + 1) if f"{fn_name}_chunk{k}" not in taken)
            taken.add(name)
            _split(op, plan, threads, minsize, name, at)


class _Plan:
    """How one op is split: the dim, the loop ranges, where each range is read."""

    def __init__(
        self, dim: int, ranges: list[tuple[int, int, int | None]], work: int | None, captures: list[ir.Value]
    ):
        self.dim = dim
        self.ranges = ranges  # per loop dim: (operand, axis, static size or None)
        self.work = work  # static iteration count, or None
        self.captures = captures  # what the op reads from outside (:func:`_captures`)


def _segments(op: ir.Operation) -> tuple[int, int]:
    sizes = ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"])
    return int(sizes[0]), int(sizes[1])


def _dim_of(expr: ir.AffineExpr) -> int | None:
    """The loop dim a map result is (``d3`` -> 3), else None."""
    return ir.AffineDimExpr(expr).position if isinstance(expr, ir.AffineDimExpr) else None


def _plan(op: ir.Operation, minsize: int) -> _Plan | None:
    """Whether and how to split ``op`` (None: leave it serial)."""
    if op.name != "linalg.generic" or "library_call" in op.attributes or _writes_elsewhere(op):
        return None
    operands = list(op.operands)
    if not all(isinstance(v.type, ir.MemRefType) and _strided(v.type) for v in operands):
        return None
    captures = _captures(op)
    if not all(_storable(v.type) for v in captures):
        return None
    n_in, n_out = _segments(op)
    maps = indexing_maps(op)
    iterators = ["parallel" in str(t) for t in ir.ArrayAttr(op.attributes["iterator_types"])]
    ranges: list[tuple[int, int, int | None] | None] = [None] * len(iterators)
    for k, (v, m) in enumerate(zip(operands, maps)):
        t = ir.MemRefType(v.type)
        for axis, expr in enumerate(m.results):
            d = _dim_of(expr)
            if d is None:
                continue
            static = None if t.is_dynamic_dim(axis) else int(t.shape[axis])
            if ranges[d] is None or (ranges[d][2] is None and static is not None):
                ranges[d] = (k, axis, static)
    if any(r is None for r in ranges):
        return None
    full = [r for r in ranges if r is not None]
    split = next((d for d, par in enumerate(iterators) if par and full[d][2] != 1), None)
    if split is None or (full[split][2] is not None and full[split][2] < 2):
        return None
    for k, m in enumerate(maps):
        dims = [_dim_of(e) for e in m.results]
        if any(d is None and not isinstance(e, ir.AffineConstantExpr) for d, e in zip(dims, m.results)):
            return None  # an expression of dims (a window): leave it
        if k >= n_in and split not in dims:
            return None  # two chunks would write the same output element
    statics = [r[2] for r in full]
    work = math.prod(statics) if all(s is not None for s in statics) else None  # type: ignore[arg-type]
    if work is not None and _has_loops(op):
        work = None  # the body's loops multiply it: estimated at run time
    if work is not None and work < max(minsize, 2):
        return None
    return _Plan(split, full, work, captures)


DISPATCH = "tensorir_parallel_for"  # void (ptr fn, ptr ctx, i64 count): runtime/threads.py
# Marks the chunk functions (kept on them down to the LLVM dialect): only the
# dispatcher reaches them, through their address, so code generation may
# compile them apart from the function that dispatches them.
CHUNK = "tir.chunk"


def _declare_dispatch(module_op: ir.Operation) -> None:
    """``func.func private @tensorir_parallel_for(!llvm.ptr, !llvm.ptr, i64)``, once."""
    from mlir.dialects import func

    if has_function(module_op, DISPATCH):
        return
    body = module_op.regions[0].blocks[0]
    ptr = ir.Type.parse("!llvm.ptr")
    with ir.InsertionPoint.at_block_begin(body), ir.Location.unknown():
        decl = func.FuncOp(DISPATCH, ([ptr, ptr, ir.IntegerType.get_signless(64)], []))
        decl.attributes["sym_visibility"] = ir.StringAttr.get("private")


def _strided(t: ir.Type) -> bool:
    """A memref in the default memory space whose layout is strides and an offset."""
    if ir.MemRefType(t).memory_space is not None:
        return False
    try:
        ir.MemRefType(t).get_strides_and_offset()
    except Exception:  # noqa: BLE001 - an affine-map layout has no strides
        return False
    return True


def _storable(t: ir.Type) -> bool:
    """Whether a value of type ``t`` can travel in a chunk's context (:func:`pack_context`)."""
    if isinstance(t, ir.MemRefType):
        return _strided(t)
    return isinstance(t, (ir.IndexType, ir.IntegerType, ir.FloatType))


def _captures(op: ir.Operation) -> list[ir.Value]:
    """Values ``op`` uses, in its operands or its body, that are defined
    outside it, in order of first use."""
    inside: set[ir.Value] = set()
    found: dict[ir.Value, None] = dict.fromkeys(op.operands)

    def visit(o: ir.Operation) -> ir.WalkResult:
        if o != op:
            for v in o.operands:
                if v not in inside:
                    found.setdefault(v)
            inside.update(o.results)
        for region in o.regions:
            for block in region.blocks:
                inside.update(block.arguments)
        return ir.WalkResult.ADVANCE

    # pre-order: a value's definition (an op, or the block argument of an
    # enclosing region) is visited before its uses
    op.walk(visit, ir.WalkOrder.PRE_ORDER)
    return list(found)


def _is_constant(v: ir.Value) -> bool:
    return isinstance(v, ir.OpResult) and v.owner.name == "arith.constant"


def _split(op: ir.Operation, plan: _Plan, threads: int, minsize: int, name: str, at: ir.InsertionPoint) -> None:
    from mlir.dialects import arith, func, memref

    operands = list(op.operands)
    index = ir.IndexType.get()
    with ir.InsertionPoint(op), op.location:

        def size(d: int) -> ir.Value:
            k, axis, static = plan.ranges[d]
            return index_const(static) if static is not None else memref.dim(operands[k], index_const(axis))

        n = size(plan.dim)
        t: ir.Value = index_const(threads)
        if plan.work is None and minsize > 1:
            work = size(0)
            for d in range(1, len(plan.ranges)):
                work = arith.muli(work, size(d))
            inner = _loop_trips(op, op)
            if inner is not None:
                work = arith.muli(work, inner)
            big = arith.cmpi(arith.CmpIPredicate.uge, work, index_const(minsize))
            t = arith.select(big, t, index_const(1))
        chunk = arith.ceildivui(n, t)
        if plan.dim == len(plan.ranges) - 1:
            chunk = arith.muli(arith.ceildivui(chunk, index_const(ALIGN)), index_const(ALIGN))
        chunk = arith.maxui(chunk, index_const(1))
        count = arith.ceildivui(n, chunk)

        # the context: every value the chunk function reads, then n and chunk
        captured = [v for v in plan.captures if not _is_constant(v)] + [n, chunk]
        ctx, struct, slots = pack_context(captured)

    # the chunk function: unpack the context, view the chunk, run the op on it
    block, mapped, c_arg = chunk_function(name, at, op.location, struct, slots, captured)
    with ir.InsertionPoint(block), op.location:
        n_in, chunk_in = mapped[-2], mapped[-1]
        lo = arith.muli(arith.index_cast(index, c_arg), chunk_in)
        length = arith.minui(chunk_in, arith.subi(n_in, lo))
        remap = dict(zip(captured[:-2], mapped[:-2]))
        for v in plan.captures:
            if _is_constant(v):
                remap[v] = v.owner.operation.clone(ir.InsertionPoint(block)).results[0]
        views = [_chunk_view(remap.get(v, v), m, plan.dim, lo, length) for v, m in zip(operands, indexing_maps(op))]
        body = op.clone(ir.InsertionPoint(block))
        for k, v in enumerate(views):
            body.operands[k] = v
        _rebind(body, remap)
        _shift_index(body, plan.dim, lo)
        func.ReturnOp([])

    with ir.InsertionPoint(op), op.location:
        dispatch(name, ctx, count)
    op.erase()


# How pack_context stored one value: its fields, (number in the struct, type).
Slot = list[tuple[int, ir.Type]]


def pack_context(values: Sequence[ir.Value]) -> tuple[ir.Value, ir.Type, list[Slot]]:
    """At the current insertion point: a stack struct holding ``values``;
    returns its address, its type and, per value, the fields holding it.

    A memref travels as the fields of its descriptor a chunk needs: the
    aligned pointer and the offset, sizes and strides its type leaves
    dynamic (:func:`chunk_function` rebuilds the descriptor with the static
    ones as constants). An index travels as an i64, any other scalar as
    itself.
    """
    i64 = ir.IntegerType.get_signless(64)
    fields: list[ir.Value] = []
    slots: list[Slot] = []
    for v in values:
        parts = _descriptor_fields(v) if isinstance(v.type, ir.MemRefType) else [_scalar_field(v)]
        slots.append([(len(fields) + k, f.type) for k, f in enumerate(parts)])
        fields += parts
    struct = ir.Type.parse("!llvm.struct<(" + ", ".join(str(f.type) for f in fields) + ")>")
    one = _llvm_op("llvm.mlir.constant", i64, [], value=ir.IntegerAttr.get(i64, 1))
    ctx = _llvm_op("llvm.alloca", ir.Type.parse("!llvm.ptr"), [one], elem_type=ir.TypeAttr.get(struct))
    for k, f in enumerate(fields):
        ir.Operation.create("llvm.store", operands=[f, _field(ctx, struct, k)])
    return ctx, struct, slots


def chunk_function(
    name: str, at: ir.InsertionPoint, location: ir.Location, struct: ir.Type, slots: Sequence[Slot],
    values: Sequence[ir.Value],
) -> tuple[ir.Block, list[ir.Value], ir.Value]:
    """A private ``func.func @name(%ctx: !llvm.ptr, %c: i64)`` at ``at``,
    marked :data:`CHUNK`, whose entry block unpacks the context of
    :func:`pack_context`; returns the block (to be finished with
    ``func.return``), the unpacked values and ``%c``."""
    from mlir.dialects import func

    ptr = ir.Type.parse("!llvm.ptr")
    with at, location:
        fn = func.FuncOp(name, ir.FunctionType.get([ptr, ir.IntegerType.get_signless(64)], []))
    fn.attributes["sym_visibility"] = ir.StringAttr.get("private")
    fn.attributes["llvm.linkage"] = ir.Attribute.parse("#llvm.linkage<internal>")
    fn.attributes[CHUNK] = ir.UnitAttr.get()
    block = fn.add_entry_block()
    with ir.InsertionPoint(block), location:
        ctx_arg, c_arg = block.arguments
        mapped = []
        for v, slot in zip(values, slots):
            loaded = [_llvm_op("llvm.load", t, [_field(ctx_arg, struct, k)]) for k, t in slot]
            mapped.append(_unpack(loaded, v.type))
    return block, mapped, c_arg


def _llvm_op(name: str, result: ir.Type, operands: list[ir.Value], **attributes: ir.Attribute) -> ir.Value:
    """The result of a new op of one result, built by name (importing
    ``mlir.dialects.llvm`` for a few ops costs ~15 ms per process)."""
    return ir.Operation.create(name, results=[result], operands=operands, attributes=attributes).result


def _descriptor_type(t: ir.MemRefType) -> ir.Type:
    arrays = f", array<{t.rank} x i64>, array<{t.rank} x i64>" if t.rank else ""
    return ir.Type.parse(f"!llvm.struct<(ptr, ptr, i64{arrays})>")


def _dynamic_fields(t: ir.MemRefType) -> list[list[int]]:
    """Positions in the descriptor of the fields ``t`` leaves dynamic:
    ``[2]`` the offset, ``[3, k]`` size ``k``, ``[4, k]`` stride ``k``."""
    strides, offset = t.get_strides_and_offset()
    dynamic = ir.ShapedType.get_dynamic_stride_or_offset()
    found = [[2]] if offset == dynamic else []
    found += [[3, k] for k in range(t.rank) if t.is_dynamic_dim(k)]
    return found + [[4, k] for k, s in enumerate(strides) if s == dynamic]


def _static_field(t: ir.MemRefType, position: list[int]) -> int:
    strides, offset = t.get_strides_and_offset()
    if position[0] == 2:
        return int(offset)
    return int(t.shape[position[1]]) if position[0] == 3 else int(strides[position[1]])


def _descriptor_fields(v: ir.Value) -> list[ir.Value]:
    """The aligned pointer of memref ``v``, then the fields its type leaves dynamic."""
    t = ir.MemRefType(v.type)
    desc = _llvm_op("builtin.unrealized_conversion_cast", _descriptor_type(t), [v])
    i64 = ir.IntegerType.get_signless(64)
    taken = [([1], ir.Type.parse("!llvm.ptr"))] + [(pos, i64) for pos in _dynamic_fields(t)]
    return [_llvm_op("llvm.extractvalue", ft, [desc], position=ir.DenseI64ArrayAttr.get(pos)) for pos, ft in taken]


def _scalar_field(v: ir.Value) -> ir.Value:
    from mlir.dialects import arith

    return arith.index_cast(ir.IntegerType.get_signless(64), v) if isinstance(v.type, ir.IndexType) else v


def _unpack(loaded: list[ir.Value], t: ir.Type) -> ir.Value:
    """The value of type ``t`` that :func:`pack_context` stored as the fields
    ``loaded``: a memref's descriptor gets the aligned pointer as its
    allocated one too (a chunk never frees)."""
    from mlir.dialects import arith

    if not isinstance(t, ir.MemRefType):
        return arith.index_cast(t, loaded[0]) if isinstance(t, ir.IndexType) else loaded[0]
    mt = ir.MemRefType(t)
    desc_t = _descriptor_type(mt)
    i64 = ir.IntegerType.get_signless(64)
    dynamic = _dynamic_fields(mt)
    fields: list[tuple[list[int], ir.Value]] = [([0], loaded[0]), ([1], loaded[0]), *zip(dynamic, loaded[1:])]
    for pos in [[2]] + [[3, k] for k in range(mt.rank)] + [[4, k] for k in range(mt.rank)]:
        if pos not in dynamic:
            value = ir.IntegerAttr.get(i64, _static_field(mt, pos))
            fields.append((pos, _llvm_op("llvm.mlir.constant", i64, [], value=value)))
    desc = _llvm_op("llvm.mlir.poison", desc_t, [])
    for pos, value in fields:
        desc = _llvm_op("llvm.insertvalue", desc_t, [desc, value], position=ir.DenseI64ArrayAttr.get(pos))
    return _llvm_op("builtin.unrealized_conversion_cast", t, [desc])


def dispatch(name: str, ctx: ir.Value, count: ir.Value) -> None:
    """``call @tensorir_parallel_for(@name, ctx, count)`` at the current insertion point."""
    from mlir.dialects import arith, func

    ptr = ir.Type.parse("!llvm.ptr")
    i64 = ir.IntegerType.get_signless(64)
    fn_value = func.ConstantOp(ir.FunctionType.get([ptr, i64], []), ir.FlatSymbolRefAttr.get(name)).result
    fn_ptr = ir.Operation.create("builtin.unrealized_conversion_cast", results=[ptr], operands=[fn_value]).result
    func.CallOp([], ir.FlatSymbolRefAttr.get(DISPATCH), [fn_ptr, ctx, arith.index_cast(i64, count)])


def _field(ctx: ir.Value, struct: ir.Type, k: int) -> ir.Value:
    """Address of field ``k`` of the context struct at ``ctx`` (an ``!llvm.ptr``)."""
    return ir.Operation.create(
        "llvm.getelementptr",
        results=[ctx.type],
        operands=[ctx],
        attributes={
            "elem_type": ir.TypeAttr.get(struct),
            "noWrapFlags": ir.IntegerAttr.get(ir.IntegerType.get_signless(32), 0),
            "rawConstantIndices": ir.DenseI32ArrayAttr.get([0, k]),
        },
    ).result


def _rebind(op: ir.Operation, remap: Mapping[ir.Value, ir.Value] | Sequence[tuple[ir.Value, ir.Value]]) -> None:
    """Inside ``op`` (a clone in the chunk function), uses of captured values
    read their unpacked copies instead (``remap``: old value -> new, or
    pairs, of which the first for a value counts)."""
    table: dict[ir.Value, ir.Value] = {}
    for old, new in remap.items() if isinstance(remap, Mapping) else remap:
        table.setdefault(old, new)

    def visit(o: ir.Operation) -> ir.WalkResult:
        if o != op:
            for k, v in enumerate(list(o.operands)):
                new = table.get(v)
                if new is not None:
                    o.operands[k] = new
        return ir.WalkResult.ADVANCE

    op.walk(visit, ir.WalkOrder.PRE_ORDER)


def clone_rebound(ops: Sequence[ir.Operation], remap: dict[ir.Value, ir.Value], at: ir.InsertionPoint) -> None:
    """Clone ``ops`` at ``at``, their operands and those of the ops nested in
    them read through ``remap`` (old value -> new), which gains each op's
    results -> its clone's, so later ops read earlier clones."""
    for op in ops:
        clone = op.clone(at)
        for k, v in enumerate(list(clone.operands)):
            new = remap.get(v)
            if new is not None:
                clone.operands[k] = new
        _rebind(clone, remap)
        remap.update(zip(op.results, clone.results))


def _chunk_view(value: ir.Value, m: ir.AffineMap, dim: int, lo: ir.Value, length: ir.Value) -> ir.Value:
    """``value`` restricted to ``[lo, lo + length)`` along each axis that ``m`` maps ``dim`` to."""
    from mlir.dialects import memref

    axes = [a for a, e in enumerate(m.results) if _dim_of(e) == dim]
    if not axes:
        return value
    t = ir.MemRefType(value.type)
    dynamic = ir.ShapedType.get_dynamic_size()
    strides, _ = t.get_strides_and_offset()
    shape = [dynamic if a in axes else int(t.shape[a]) for a in range(t.rank)]
    layout = ir.StridedLayoutAttr.get(ir.ShapedType.get_dynamic_stride_or_offset(), list(strides))
    result = ir.MemRefType.get(shape, t.element_type, layout, t.memory_space)
    offsets: list[int | ir.Value] = []
    sizes: list[int | ir.Value] = []
    for a in range(t.rank):
        if a in axes:
            offsets.append(lo)
            sizes.append(length)
        else:
            offsets.append(0)
            sizes.append(memref.dim(value, index_const(a)) if t.is_dynamic_dim(a) else int(t.shape[a]))
    return memref.subview(value, offsets, sizes, [1] * t.rank, result_type=result)


def _shift_index(op: ir.Operation, dim: int, lo: ir.Value) -> None:
    """In the chunk, ``linalg.index dim`` counts from the chunk's start: add ``lo``."""
    from mlir.dialects import arith

    found: list[ir.Operation] = []

    def visit(o: ir.Operation) -> ir.WalkResult:
        if o.name == "linalg.index" and ir.IntegerAttr(o.attributes["dim"]).value == dim:
            found.append(o)
        return ir.WalkResult.ADVANCE

    op.walk(visit, ir.WalkOrder.PRE_ORDER)
    for idx in found:
        after = _next_op(idx)
        with ir.InsertionPoint(after) if after is not None else ir.InsertionPoint(idx.block), idx.location:
            shifted = arith.addi(idx.results[0], lo)
        idx.results[0].replace_all_uses_except(shifted, shifted.owner.operation)


def _next_op(op: ir.Operation) -> ir.Operation | None:
    ops: Sequence[ir.OpView] = list(op.block.operations)
    for i, view in enumerate(ops):
        if view.operation == op:
            return ops[i + 1].operation if i + 1 < len(ops) else None
    return None


# Ops that, in a body, could write memory other than the op's own outputs:
# two chunks running them at once could race.
_SIDE_EFFECTS = frozenset({
    "memref.store", "memref.copy", "memref.atomic_rmw", "memref.generic_atomic_rmw",
    "func.call", "func.call_indirect", "memref.dealloc",
})


def contains(op: ir.Operation, test: Callable[[ir.Operation], bool]) -> bool:
    """Whether ``op`` or an op nested in it passes ``test`` (the walk stops at the first)."""
    found = []

    def visit(o: ir.Operation) -> ir.WalkResult:
        if test(o):
            found.append(o)
            return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE

    op.walk(visit, ir.WalkOrder.PRE_ORDER)
    return bool(found)


def _writes_elsewhere(op: ir.Operation) -> bool:
    return contains(op, lambda o: o.name in _SIDE_EFFECTS or o.name.startswith("llvm."))


def _has_loops(op: ir.Operation) -> bool:
    return contains(op, lambda o: o.name == "scf.for")


def _inside(value: ir.Value, op: ir.Operation) -> bool:
    """Whether ``value`` is defined in a region of ``op``."""
    owner = value.owner
    at = owner.owner if isinstance(owner, ir.Block) else owner
    at = at.operation if hasattr(at, "operation") else at
    while at is not None:
        if at == op:
            return True
        parent = at.parent
        at = parent.operation if parent is not None and hasattr(parent, "operation") else parent
    return False


def _loop_trips(region_op: ir.Operation, generic: ir.Operation) -> ir.Value | None:
    """Iterations of the ``scf.for`` loops in the body of ``generic`` per
    iteration of it (a row loop inside an op over rows): nested loops
    multiply, of sibling ones the longest counts; a loop whose bounds are
    computed inside the body counts once. Built before ``generic``."""
    from mlir.dialects import arith

    best: ir.Value | None = None
    for region in region_op.regions:
        for block in region.blocks:
            for view in block.operations:
                o = view.operation
                if not o.regions:
                    continue
                trips = _loop_trips(o, generic)
                if o.name == "scf.for" and not any(_inside(v, generic) for v in list(o.operands)[:3]):
                    lb, ub, step = list(o.operands)[:3]
                    n = arith.ceildivui(arith.subi(arith.maxui(ub, lb), lb), step)
                    trips = n if trips is None else arith.muli(n, trips)
                if trips is not None:
                    best = trips if best is None else arith.maxui(best, trips)
    return best


def merge_chunks(module_op: ir.Operation) -> None:
    """``tir-merge-chunks``: one chunk function for each set of identical ones.

    Ops with the same body, operand types and context layout (the bias
    additions of the layers of an MLP, the updates of its weights, the zero
    fills of its accumulators) become identical chunk functions; in a
    784-512-512-10 MLP training step, 41 chunk functions held 19 distinct
    bodies. Each function marked :data:`CHUNK` whose text, apart from its
    name, is that of an earlier one is erased and its dispatches call the
    earlier one: LLVM then optimises and generates each body once.
    """
    body = module_op.regions[0].blocks[0]
    functions = [v.operation for v in body.operations if v.operation.name == "func.func"]
    chunks = [fn for fn in functions if CHUNK in fn.attributes]
    # Two functions are compared by their text, and printing them all took
    # ~17 ms of an MLP step's compile: only functions whose blocks hold as
    # many ops as another's are printed.
    shapes: dict[tuple[int, ...], list[ir.Operation]] = {}
    for fn in chunks:
        shapes.setdefault(tuple(len(block.operations) for block in fn.regions[0].blocks), []).append(fn)
    same: dict[str, str] = {}  # erased chunk -> the one kept in its place
    for group in shapes.values():
        kept: dict[str, str] = {}
        for fn in group if len(group) > 1 else []:
            name = ir.StringAttr(fn.attributes["sym_name"]).value
            key = fn.get_asm(use_local_scope=True, assume_verified=True).replace(f"@{name}(", "@(", 1)
            first = kept.setdefault(key, name)
            if first != name:
                same[name] = first
                fn.erase()
    if not same:
        return
    # dispatches take their chunk as a func.constant; tir-outline-serial's
    # loops are called directly (one walk: MLIR's replace_all_symbol_uses
    # per erased chunk took 40 ms)
    for op in walk(module_op, ["func.constant", "func.call"]):
        attr = "value" if op.name == "func.constant" else "callee"
        callee = ir.FlatSymbolRefAttr(op.attributes[attr]).value
        if callee in same:
            op.attributes[attr] = ir.FlatSymbolRefAttr.get(same[callee])
