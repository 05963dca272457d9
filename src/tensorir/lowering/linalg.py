"""Lowering of matmul: one ``linalg.generic`` contraction for every form.

``tir.matmul(a, b)`` becomes, on tensors,

* ``tensor.expand_shape`` of a 1-D ``a`` to ``(1, K)`` and of a 1-D ``b`` to
  ``(K, 1)``, so both operands are matrices (or stacks of them);
* ``C = fill(0)`` of the result shape, then ``linalg.generic`` over the loops
  ``(batch..., m, n, k)`` with ``C[batch, m, n] += A[batch', m, k] * B[batch'', k, n]``,
  where a batch axis an operand lacks or has statically of size 1 is not
  indexed (NumPy broadcasting), and ``C``'s map leaves out the unit loop
  ``m`` (``n``) of a 1-D ``a`` (``b``): the result has NumPy's shape without
  a reshape, so the result buffer can be the caller's output buffer.

Float contractions carry ``library_call = "scipy_cblas_sgemm"`` (``dgemm``
for float64): after bufferization ``tir-linalg-to-blas``
(:func:`linalg_to_blas`) replaces them by calls to OpenBLAS. A float operand
that is a swap of the last two axes of a source ``s`` (``tir.transpose``
with perm ``(0, ..., r-1, r-2)``, as reverse-mode gradients ``g @ b^T`` and
``a^T @ g`` make) is not copied: the contraction reads ``s`` through a map
with its two matrix loops exchanged (``A[batch', k, m]``, ``B[batch'', n,
k]``), and gemm gets ``CblasTrans`` for it; the transpose's copy then has no
user left and canonicalization drops it. Fusion
barriers (:func:`_fusion_barrier`) keep elementwise fusion from merging a
producer into the contraction. Integer contractions stay a loop nest (BLAS
has no integer gemm).
"""

from __future__ import annotations

from typing import Callable

from ..dialects._bindings import ir, walk
from .buffers import _top_level
from .common import (defining_op, dtype_of, empty, fill, generic, index_const, scalar_const, strided_metadata,
                     unit_inner_stride)
from .outline import fresh_name, function_of, outline_loop

__all__ = ["RULES", "BLAS_GEMM", "linalg_to_blas", "matmul_generic"]

# dtype -> the OpenBLAS function computing its contraction
BLAS_GEMM: dict[str, str] = {"float32": "scipy_cblas_sgemm", "float64": "scipy_cblas_dgemm"}
BLAS_GEMM_BATCH: dict[str, str] = {
    "float32": "scipy_cblas_sgemm_batch_strided",
    "float64": "scipy_cblas_dgemm_batch_strided",
}
CBLAS_ROW_MAJOR = 101
CBLAS_NO_TRANS = 111
CBLAS_TRANS = 112


def _expand_to_matrix(x: ir.Value, as_row: bool) -> ir.Value:
    """A 1-D tensor ``(K,)`` as ``(1, K)`` (``as_row``) or ``(K, 1)``."""
    from mlir.dialects import tensor

    t = x.type
    dyn = ir.ShapedType.get_dynamic_size()
    k = dyn if t.is_dynamic_dim(0) else int(t.shape[0])
    shape = [1, k] if as_row else [k, 1]
    out_t = ir.RankedTensorType.get(shape, t.element_type)
    sizes = [1, _size(x, 0)] if as_row else [_size(x, 0), 1]
    dynamic = [s for s in sizes if not isinstance(s, int)]
    return tensor.expand_shape(out_t, x, [[0, 1]], dynamic, _static_or_dyn(sizes))


def _static_or_dyn(sizes: list[int | ir.Value]) -> list[int]:
    """``static_output_shape`` of ``expand_shape``; dynamic sizes go as operands."""
    dyn = ir.ShapedType.get_dynamic_size()
    return [s if isinstance(s, int) else dyn for s in sizes]


def _size(x: ir.Value, axis: int) -> int | ir.Value:
    from mlir.dialects import tensor

    t = x.type
    return tensor.dim(x, index_const(axis)) if t.is_dynamic_dim(axis) else int(t.shape[axis])


def _operand_map(t: ir.RankedTensorType, nb: int, inner: tuple[int, int]) -> ir.AffineMap:
    """Map from loops ``(batch[nb], m, n, k)`` to an operand of type ``t``.

    The operand's batch axes align on the right with the loop batch axes; a
    static unit batch axis reads index 0; ``inner`` are the loop positions of
    its two matrix axes.
    """
    rank = t.rank
    offset = nb - (rank - 2)
    exprs = []
    for j in range(rank - 2):
        if not t.is_dynamic_dim(j) and t.shape[j] == 1:
            exprs.append(ir.AffineConstantExpr.get(0))
        else:
            exprs.append(ir.AffineDimExpr.get(j + offset))
    exprs += [ir.AffineDimExpr.get(inner[0]), ir.AffineDimExpr.get(inner[1])]
    return ir.AffineMap.get(nb + 3, 0, exprs)


def matmul_generic(
    a: ir.Value,
    b: ir.Value,
    out_el: ir.Type,
    library_call: str | None,
    drop_m: bool = False,
    drop_n: bool = False,
    trans_a: bool = False,
    trans_b: bool = False,
) -> ir.Value:
    """``a @ b`` for operands of rank >= 2, as a zero-filled contraction.

    ``drop_m`` (``drop_n``) leaves the unit row (column) axis out of the
    result, as NumPy does for a 1-D first (second) operand. ``trans_a``
    (``trans_b``) means the operand is stored with its two matrix axes
    swapped: ``a`` is ``(..., K, M)``, ``b`` is ``(..., N, K)``, and the
    product is ``swapaxes(a) @ b`` (``a @ swapaxes(b)``).
    """
    from mlir.dialects import arith

    ta, tb = a.type, b.type
    nb = max(ta.rank, tb.rank) - 2
    sizes: list[int | ir.Value] = []
    for axis in range(nb):
        size: int | ir.Value = 1
        for v in (a, b):
            j = axis - (nb - (v.type.rank - 2))
            if j < 0:
                continue
            s = _size(v, j)
            if s != 1:
                size = s
                if not isinstance(s, int):
                    break
        sizes.append(size)
    m, n, k = nb, nb + 1, nb + 2
    out_loops = list(range(nb))
    if not drop_m:
        sizes.append(_size(a, ta.rank - (1 if trans_a else 2)))
        out_loops.append(m)
    if not drop_n:
        sizes.append(_size(b, tb.rank - (2 if trans_b else 1)))
        out_loops.append(n)
    init = fill(scalar_const(out_el, 0), empty(sizes, out_el))
    maps = [
        _operand_map(ta, nb, (k, m) if trans_a else (m, k)),
        _operand_map(tb, nb, (n, k) if trans_b else (k, n)),
        ir.AffineMap.get(nb + 3, 0, [ir.AffineDimExpr.get(i) for i in out_loops]),
    ]
    iters = ["parallel"] * (nb + 2) + ["reduction"]
    is_float = isinstance(out_el, ir.FloatType)

    def body(x: ir.Value, y: ir.Value, acc: ir.Value) -> list[ir.Value]:
        if is_float:
            return [arith.addf(acc, arith.mulf(x, y))]
        return [arith.addi(acc, arith.muli(x, y))]

    (res,) = generic([a, b], [init], maps, iters, body)
    if library_call is not None:
        defining_op(res).attributes["library_call"] = ir.StringAttr.get(library_call)
    return res


def _fusion_barrier(v: ir.Value) -> ir.Value:
    """``v`` materialised in a fresh tensor: elementwise fusion and reshape
    propagation stop here, so they neither merge a producer into a BLAS
    contraction (recomputing it K times) nor rebuild the contraction without
    its marker. ``eliminate-empty-tensors`` then makes the producer write
    into the destination directly, so no copy remains after bufferization.
    """
    from mlir.dialects import bufferization

    dest = empty([_size(v, i) for i in range(v.type.rank)], v.type.element_type)
    return bufferization.MaterializeInDestinationOp(v.type, v, dest).result


def _fusable_producer(v: ir.Value) -> bool:
    """Whether elementwise fusion could merge the producer of ``v`` into a consumer."""
    op = defining_op(v)
    if op is None:
        return False
    if op.name in ("tensor.expand_shape", "tensor.collapse_shape"):
        return _fusable_producer(op.operands[0])
    return op.name.startswith("linalg.")


def _merges_free_dims(v: ir.Value) -> bool:
    """Whether ``v`` is a collapse merging two or more free dims into one
    (``(steps, batch, k) -> (steps * batch, k)``). Elementwise fusion would
    push such a collapse through the contraction, splitting its ``k`` loop
    in two and expanding the other operand back with two free sizes in one
    group, which neither gemm nor the memref lowering takes: the operand is
    materialised instead (one copy, before one large gemm)."""
    op = defining_op(v)
    if op is None or op.name != "tensor.collapse_shape":
        return False
    src = op.operands[0].type
    for group in ir.ArrayAttr(op.attributes["reassociation"]):
        axes = [ir.IntegerAttr(a).value for a in ir.ArrayAttr(group)]
        if sum(1 for a in axes if src.is_dynamic_dim(a)) > 1:
            return True
    return False


# tir op families whose lowering never reshapes a contraction's result (so
# never rebuilds the contraction without its marker)
_SAFE_CONSUMER_FAMILIES = ("elementwise", "reduce", "linalg")


_RESHAPES = ("tensor.collapse_shape", "tensor.expand_shape")


def _needs_result_barrier(op: ir.Operation) -> bool:
    """Whether the contraction's result must be materialised before its users:
    when a user may reshape it, or reads another operand that is a reshape
    (a row of a stack, ``x[t]``), which reshape propagation would push
    through the user into the contraction."""
    from ..dialects import OPS, opdef_of

    for use in op.results[0].uses:
        user = use.owner.operation
        if user.name == "func.return":
            continue
        opdef = OPS.get(user.name[4:]) if user.name.startswith("tir.") else None
        if opdef is None or opdef.family not in _SAFE_CONSUMER_FAMILIES:
            return True
        for v in user.operands:
            src = defining_op(v)
            if src is not None and (src.name in _RESHAPES or (src.name.startswith("tir.") and opdef_of(src).family == "shape")):
                return True
    return False


def _swapped_source(v: ir.Value) -> ir.Value | None:
    """``s`` when ``v`` is ``s`` with its last two axes swapped, else None.

    ``tir-to-linalg`` lowers ops in program order, so a ``tir.transpose``
    with perm ``(0, ..., r-3, r-1, r-2)`` feeding the matmul is already the
    copying ``linalg.generic`` ``out[..., i, j] = s[..., j, i]``: that generic
    is what is recognised. Other permutations (batch axes moved) are not a
    gemm transpose flag.
    """
    rank = v.type.rank
    op = defining_op(v)
    if op is None or rank < 2:
        return None
    swap = list(range(rank - 2)) + [rank - 1, rank - 2]
    if op.name != "linalg.generic" or len(op.operands) != 2 or len(op.results) != 1:
        return None
    maps = [ir.AffineMapAttr(m).value for m in ir.ArrayAttr(op.attributes["indexing_maps"])]
    read = ir.AffineMap.get(rank, 0, [ir.AffineDimExpr.get(d) for d in swap])
    if maps != [read, ir.AffineMap.get_identity(rank)]:
        return None
    if any(str(it) != "#linalg.iterator_type<parallel>" for it in ir.ArrayAttr(op.attributes["iterator_types"])):
        return None
    body = op.regions[0].blocks[0]
    ops = list(body.operations)
    if len(ops) != 1 or ops[0].name != "linalg.yield" or ops[0].operands[0] != body.arguments[0]:
        return None
    return op.operands[0]


def _matmul(op: ir.Operation) -> list[ir.Value]:
    """Float operands that swap the last two axes of a source are read from
    that source with a transposed map (see :func:`_swapped_source`); float
    operands made by linalg ops pass a fusion barrier first (and the result
    too when a consumer may reshape it): see :func:`_fusion_barrier`."""
    a, b = op.operands
    rt = op.results[0].type
    blas = BLAS_GEMM.get(dtype_of(rt))
    trans = [False, False]
    if blas is not None:
        operands = [a, b]
        for i, v in enumerate(operands):
            src = _swapped_source(v)
            if src is not None:
                operands[i], trans[i] = src, True
        a, b = (_fusion_barrier(v) if _fusable_producer(v) or _merges_free_dims(v) else v for v in operands)
    a_vec, b_vec = a.type.rank == 1, b.type.rank == 1
    if a_vec:
        a = _expand_to_matrix(a, as_row=True)
    if b_vec:
        b = _expand_to_matrix(b, as_row=False)
    res = matmul_generic(a, b, rt.element_type, blas, drop_m=a_vec, drop_n=b_vec, trans_a=trans[0], trans_b=trans[1])
    if blas is not None and _needs_result_barrier(op):
        res = _fusion_barrier(res)
    return [res]


def _outer(op: ir.Operation) -> list[ir.Value]:
    """``out[i, j] = a[i] * b[j]``: a parallel generic (fuses with its neighbours)."""
    from mlir.dialects import arith

    a, b = op.operands
    el = op.results[0].type.element_type
    init = empty([_size(a, 0), _size(b, 0)], el)
    maps = [ir.AffineMap.get(2, 0, [ir.AffineDimExpr.get(d)]) for d in (0, 1)]
    maps.append(ir.AffineMap.get_identity(2))
    mul = arith.mulf if isinstance(el, ir.FloatType) else arith.muli
    (res,) = generic([a, b], [init], maps, ["parallel", "parallel"], lambda x, y, _: [mul(x, y)])
    return [res]


RULES: dict[str, Callable[[ir.Operation], list[ir.Value]]] = {
    "matmul": _matmul,
    "outer": _outer,
}


# ---------------------------------------------------------------------------
# tir-linalg-to-blas: marked float contractions on buffers -> OpenBLAS calls


GEMM_MINSIZE = 1 << 22
"""Gemms with fewer multiply-adds (``M * N * K``, times the batch) run on the
calling thread: below this, waking a second thread for half of ``C``'s rows
costs more than it saves."""
FEW_ROWS = 64
COLUMN_SPLIT_GAIN = 2
"""A gemm whose ``C`` has fewer than ``FEW_ROWS`` rows is split into blocks
of its columns instead, from ``GEMM_MINSIZE / COLUMN_SPLIT_GAIN``
multiply-adds: with the 32x256x256 gemms of an RNN's steps (2**21, about 40
us on one core) split in two blocks of columns, 100 steps of value_and_grad
took 14.0 ms instead of 18.2 (split by rows, in 16-row halves, they gained
nothing). A ``C`` with more columns than rows is split by columns too (from
``GEMM_MINSIZE``): each thread's call packs all of ``A`` and its share of
``B``, less than its share of ``A`` and all of ``B`` then; the 784-512-512-10
MLP step took 3.57-3.61 ms instead of 3.69-3.81 (minimum of 40 interleaved
rounds, twice)."""
PAIR_MINSIZE = 1 << 19
PAIR_BALANCE = (3, 4)
"""Two independent gemms (``gemm_pairs.py``) run side by side, one per
thread, when each has at least ``PAIR_MINSIZE`` multiply-adds (about 5 us on
one core, a few times the cost of handing work to the other thread) and the
smaller has at least 3/4 of the larger's work: a gemm split in two runs at
about 85% of two single-threaded ones here, so side by side wins while the
threads' shares differ by less than that."""


def linalg_to_blas(module_op: ir.Operation, threads: int = 1, minsize: int = GEMM_MINSIZE) -> None:
    """``tir-linalg-to-blas``: replace marked contractions on memrefs by gemm calls.

    Takes in: bufferized IR where a ``linalg.generic`` whose ``library_call``
    is a key of ``BLAS_GEMM``'s values computes ``C[b, m, n] = sum_k A[b', m, k]
    * B[b'', k, n]`` into a buffer (as built by :func:`matmul_generic`); ``A``
    may be read as ``A[b', k, m]`` and ``B`` as ``B[b'', n, k]`` (``CblasTrans``).
    A marked contraction with other maps is left as it is (a loop nest).
    Leaves: for each, the zero fill of ``C`` removed (gemm writes ``C`` with
    ``beta = 0``, also when ``K = 0``), and ``func.call`` of
    ``scipy_cblas_?gemm`` (no batch axis) or ``scipy_cblas_?gemm_batch_strided``
    over the innermost batch axis inside ``scf.for`` loops over the outer ones
    (a broadcast operand gets stride 0), on the raw aligned pointers, offsets and
    strides of the buffers. A strided operand whose last axis has stride 1 is
    passed in place (its row stride as the leading dimension); any other is
    first copied to a contiguous buffer.
    BLAS takes 32-bit sizes: each of M, N, K and each matrix must hold fewer
    than 2**31 elements.

    OpenBLAS itself runs on one thread (``runtime/blas.py``): its own threads
    spin while they wait, and a busy machine then stretches a 3 ms batched
    matmul to seconds. With ``threads`` > 1, a call doing at least ``minsize``
    multiply-adds (known at run time) is split instead into ``threads``
    chunks of rows of ``C`` (of the innermost batch axis for a batched gemm;
    of its columns when it has fewer than ``FEW_ROWS`` rows, from
    ``minsize / COLUMN_SPLIT_GAIN``, or more columns than rows), each one
    gemm call, run through the parallel dispatcher (``lowering/outline.py``),
    whose threads block rather than spin. Two
    independent gemms of a block (``gemm_pairs.py``) may instead run side by
    side, one whole gemm per thread (:func:`_emit_pair`). A transposed
    operand that a loop reads unchanged at every iteration is first copied
    row-major before the loop (``gemm_hoist.py``).
    """
    from .gemm_hoist import hoist_transposes
    from .gemm_pairs import find_pairs

    wanted = set(BLAS_GEMM.values())
    declared: set[str] = set()
    gemms = [op for op in walk(module_op, ["linalg.generic"]) if _marked(op, wanted)]
    hoist_transposes(gemms)
    pairs = find_pairs(gemms, _gemm_layout) if threads >= 2 else []
    partner = {gemms.index(a): b for a, b in pairs}
    seconds = {gemms.index(b) for _, b in pairs}
    for i, op in enumerate(gemms):
        if i in seconds:
            continue  # (erased with its first)
        layout = _gemm_layout(op)
        if layout is None:
            continue
        group = [op, partner[i]] if i in partner else [op]
        with ir.InsertionPoint(op), op.location:
            if len(group) == 2:
                callees, chunk_loops = _emit_pair(op, partner[i], threads, minsize)
            else:
                callee, chunk_loops = _emit_gemm(op, *layout, threads=threads, minsize=minsize)
                callees = [callee]
        for loop in chunk_loops:
            fn = ir.StringAttr(function_of(loop).attributes["sym_name"]).value
            outline_loop(loop, module_op, fresh_name(module_op, fn))
        for callee in callees:
            if callee not in declared:
                _declare(module_op, callee, op.operands[2].type.element_type)
                declared.add(callee)
        for g in group:
            g.erase()


def _marked(op: ir.Operation, wanted: set[str]) -> bool:
    """A contraction marked for BLAS, on buffers."""
    if "library_call" not in op.attributes or ir.StringAttr(op.attributes["library_call"]).value not in wanted:
        return False
    return all(isinstance(v.type, ir.MemRefType) for v in op.operands)


def _buffer_dim(v: ir.Value, axis: int) -> ir.Value:
    """Size ``axis`` of the buffer ``v`` as an index (a constant when static)."""
    from mlir.dialects import memref

    t = ir.MemRefType(v.type)
    return memref.dim(v, index_const(axis)) if t.is_dynamic_dim(axis) else index_const(int(t.shape[axis]))


def _work(op: ir.Operation, trans_a: bool, trans_b: bool) -> ir.Value:
    """``M * N * K`` of a plain (unbatched) marked contraction, at run time."""
    from mlir.dialects import arith

    a, b = op.operands[0], op.operands[1]
    m, k = (_buffer_dim(a, 1), _buffer_dim(a, 0)) if trans_a else (_buffer_dim(a, 0), _buffer_dim(a, 1))
    n = _buffer_dim(b, 0) if trans_b else _buffer_dim(b, 1)
    return arith.muli(arith.muli(m, n), k)


def _emit_pair(first: ir.Operation, second: ir.Operation, threads: int,
               minsize: int) -> tuple[list[str], list[ir.Operation]]:
    """Two independent gemms (``gemm_pairs.find_pairs``): run side by side,
    one whole gemm per thread, when both have at least ``PAIR_MINSIZE``
    multiply-adds and the smaller has at least ``PAIR_BALANCE`` of the
    larger's (or neither would be split); else one after the other, each as
    :func:`_emit_gemm` would. Returns the callees and the loops to outline."""
    from mlir.dialects import arith, scf

    layouts = [_gemm_layout(first), _gemm_layout(second)]
    w1, w2 = _work(first, *layouts[0]), _work(second, *layouts[1])
    lo, hi = arith.minui(w1, w2), arith.maxui(w1, w2)
    num, den = PAIR_BALANCE
    enough = arith.cmpi(arith.CmpIPredicate.uge, lo, index_const(PAIR_MINSIZE))
    balanced = arith.cmpi(arith.CmpIPredicate.uge, arith.muli(lo, index_const(den)), arith.muli(hi, index_const(num)))
    unsplit = arith.cmpi(arith.CmpIPredicate.ult, hi, index_const(max(1, minsize // COLUMN_SPLIT_GAIN)))
    side_by_side = arith.andi(enough, arith.ori(balanced, unsplit))
    branch = scf.IfOp(side_by_side, [], has_else=True)
    callees: list[str] = []
    with ir.InsertionPoint(branch.then_block):
        loop = scf.ForOp(index_const(0), index_const(2), index_const(1))
        with ir.InsertionPoint(loop.body):
            is_first = arith.cmpi(arith.CmpIPredicate.eq, loop.induction_variable, index_const(0))
            which = scf.IfOp(is_first, [], has_else=True)
            for block, op, layout in ((which.then_block, first, layouts[0]), (which.else_block, second, layouts[1])):
                with ir.InsertionPoint(block):
                    callees.append(_emit_gemm(op, *layout)[0])
                    scf.YieldOp([])
            scf.YieldOp([])
        scf.YieldOp([])
    chunk_loops = [loop.operation]
    with ir.InsertionPoint(branch.else_block):
        for op, layout in ((first, layouts[0]), (second, layouts[1])):
            callee, loops = _emit_gemm(op, *layout, threads=threads, minsize=minsize)
            callees.append(callee)
            chunk_loops += loops
        scf.YieldOp([])
    return callees, chunk_loops


def _declare(module_op: ir.Operation, name: str, el: ir.Type) -> None:
    """``func.func private @name(...)`` with the CBLAS gemm(-batch-strided) signature."""
    from mlir.dialects import func

    body = module_op.regions[0].blocks[0]
    for view in body.operations:
        if view.operation.name == "func.func" and ir.StringAttr(view.operation.attributes["sym_name"]).value == name:
            return
    i32 = ir.IntegerType.get_signless(32)
    ptr = ir.Type.parse("!llvm.ptr")
    if name.endswith("_batch_strided"):
        args = [i32] * 6 + [el, ptr, i32, i32, ptr, i32, i32, el, ptr, i32, i32, i32]
    else:
        args = [i32] * 6 + [el, ptr, i32, ptr, i32, el, ptr, i32]
    with ir.InsertionPoint.at_block_begin(body), ir.Location.unknown():
        fn = func.FuncOp(name, ir.FunctionType.get(args, []))
        fn.attributes["sym_visibility"] = ir.StringAttr.get("private")


def _contiguous(buf: ir.Value) -> tuple[ir.Value, bool]:
    """``buf`` itself if BLAS can read it in place (its last axis has stride 1:
    an identity layout, a row or column block of a matrix, a step of a stack),
    else a row-major copy."""
    from mlir.dialects import memref

    if unit_inner_stride(buf.type):
        return buf, False
    t = ir.MemRefType(buf.type)
    dyn = [
        memref.dim(buf, index_const(i)) for i in range(t.rank) if t.is_dynamic_dim(i)
    ]
    copy_t = ir.MemRefType.get(list(t.shape), t.element_type)
    copy = memref.alloc(copy_t, dyn, [])
    memref.copy(buf, copy)
    return copy, True


def _gemm_layout(op: ir.Operation) -> tuple[bool, bool] | None:
    """``(trans_a, trans_b)`` of a marked contraction over loops ``(batch[nb], m, n, k)``.

    ``A``'s matrix axes are ``(m, k)`` or, transposed, ``(k, m)``; ``B``'s
    are ``(k, n)`` or ``(n, k)``. None when the maps are neither (or the op
    has not three operands): such an op is not a gemm this pass knows.
    """
    if len(op.operands) != 3:
        return None
    nb = len(ir.ArrayAttr(op.attributes["iterator_types"])) - 3
    m, n, k = nb, nb + 1, nb + 2
    maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]

    def inner(amap: ir.AffineMap) -> tuple[int, ...] | None:
        exprs = list(amap.results)[-2:]
        if len(exprs) != 2 or not all(isinstance(e, ir.AffineDimExpr) for e in exprs):
            return None
        return tuple(ir.AffineDimExpr(e).position for e in exprs)

    a_inner, b_inner = inner(maps[0]), inner(maps[1])
    if a_inner not in ((m, k), (k, m)) or b_inner not in ((k, n), (n, k)):
        return None
    return a_inner == (k, m), b_inner == (n, k)


def _emit_gemm(op: ir.Operation, trans_a: bool, trans_b: bool, threads: int = 1,
               minsize: int = GEMM_MINSIZE) -> tuple[str, list[ir.Operation]]:
    """Emit the BLAS calls for one marked contraction; returns the callee's
    name and the chunk loops to run on threads (none when ``threads`` is 1).

    ``trans_a`` (``trans_b``): ``A`` is stored ``(..., K, M)`` (``B`` is
    ``(..., N, K)``), see :func:`_gemm_layout`. Row-major leading dimensions
    are the stored last axes: ``lda`` is ``M`` for a transposed ``A``, ``ldb``
    is ``K`` for a transposed ``B``.
    """
    from mlir.dialects import arith, func, memref, scf

    a_raw, b_raw, c = op.operands
    _erase_zero_fill_of(c, op)
    a, a_copied = _contiguous(a_raw)
    b, b_copied = _contiguous(b_raw)
    tc = ir.MemRefType(c.type)
    el = tc.element_type
    dtype = dtype_of(tc)
    nb = len(ir.ArrayAttr(op.attributes["iterator_types"])) - 3
    i32 = ir.IntegerType.get_signless(32)

    dim = _buffer_dim
    metadata = {id(v): strided_metadata(v) for v in (a, b, c)}

    def batch_strides(v: ir.Value, matrix_rank: int) -> list[ir.Value | None]:
        """Per loop batch axis, the element stride of ``v`` (None: broadcast).

        ``v``'s leading axes are its batch axes, right-aligned with the loops;
        its last ``matrix_rank`` axes are rows/columns (C may lack one).
        """
        t = ir.MemRefType(v.type)
        st = metadata[id(v)][2]
        n_batch = t.rank - matrix_rank
        offset = nb - n_batch
        out: list[ir.Value | None] = [None] * nb
        for j in range(n_batch):
            if t.is_dynamic_dim(j) or t.shape[j] != 1 or v == c:
                out[j + offset] = st[j]
        return out

    def as_i32(v: ir.Value) -> ir.Value:
        return arith.index_cast(i32, v)

    def at_least_one(v: ir.Value) -> ir.Value:
        return arith.maxui(v, index_const(1))

    ra, rb = ir.MemRefType(a.type).rank, ir.MemRefType(b.type).rank
    M, K = (dim(a, ra - 1), dim(a, ra - 2)) if trans_a else (dim(a, ra - 2), dim(a, ra - 1))
    N = dim(b, rb - 2) if trans_b else dim(b, rb - 1)
    strides = [batch_strides(a, 2), batch_strides(b, 2), batch_strides(c, tc.rank - nb)]
    bases = [metadata[id(v)][0] for v in (a, b, c)]
    elsize = index_const(ir.FloatType(el).width // 8)
    ptr_t = ir.Type.parse("!llvm.ptr")
    i64 = ir.IntegerType.get_signless(64)

    def pointer(base: ir.Value, offset: ir.Value) -> ir.Value:
        # built by name: importing mlir.dialects.llvm for this one op costs ~15 ms per process
        addr = arith.addi(base, arith.muli(offset, elsize))
        return ir.Operation.create("llvm.inttoptr", results=[ptr_t], operands=[arith.index_cast(i64, addr)]).result

    ints = [
        arith.constant(i32, CBLAS_ROW_MAJOR),
        arith.constant(i32, CBLAS_TRANS if trans_a else CBLAS_NO_TRANS),
        arith.constant(i32, CBLAS_TRANS if trans_b else CBLAS_NO_TRANS),
    ]
    sizes = [as_i32(M), as_i32(N), as_i32(K)]
    def leading(v: ir.Value, cols: ir.Value, matrix_rank: int) -> ir.Value:
        """The stride of ``v``'s rows; with one row any value of at least its
        width does (BLAS wants ``ld >= max(1, cols)`` even if never used)."""
        rank = ir.MemRefType(v.type).rank
        if matrix_rank < 2:
            return as_i32(at_least_one(cols))
        return as_i32(arith.maxui(metadata[id(v)][2][rank - 2], at_least_one(cols)))

    lds = [leading(a, dim(a, ra - 1), 2), leading(b, dim(b, rb - 1), 2), leading(c, N, tc.rank - nb)]
    lds_index = [arith.index_cast(ir.IndexType.get(), ld) for ld in lds]
    # element strides of a row of A and of C, for splitting C's rows
    strides_2d = [metadata[id(a)][2][ra - 2], None, metadata[id(c)][2][tc.rank - 2] if tc.rank - nb >= 2 else None]
    one, zero = scalar_const(el, 1), scalar_const(el, 0)
    zero_i = index_const(0)

    chunk_loops: list[ir.Operation] = []

    # few-row gemms: a register-blocked loop nest instead of OpenBLAS (gemm_kernel.py)
    kernel = None
    if nb == 0 and not trans_a and not trans_b and tc.rank == 2:
        from .gemm_kernel import tile_for

        kernel = tile_for(el)
    # decided on the whole of C, so every split of it takes the same path
    use_kernel = kernel.fits(M, N, FEW_ROWS) if kernel is not None else None

    def view(v: ir.Value, offset: ir.Value, rows: ir.Value, cols: ir.Value) -> ir.Value:
        """A row-major ``rows`` x ``cols`` view of ``v`` from element ``offset``."""
        dyn = ir.ShapedType.get_dynamic_size()
        t = ir.MemRefType.get([dyn, dyn], el, ir.Attribute.parse("strided<[?, 1], offset: ?>"))
        row_stride = metadata[id(v)][2][ir.MemRefType(v.type).rank - 2]
        return memref.reinterpret_cast(t, v, [offset], [rows, cols], [row_stride], [dyn], [dyn, dyn], [dyn, 1])

    def call(offsets: list[ir.Value], rows: ir.Value, group: ir.Value | None, cols: ir.Value | None = None) -> str:
        if group is None and kernel is not None:
            width = N if cols is None else cols
            branch = scf.IfOp(use_kernel, [], has_else=True)
            with ir.InsertionPoint(branch.then_block):
                views = [view(a, offsets[0], rows, K), view(b, offsets[1], K, width), view(c, offsets[2], rows, width)]
                kernel.emit(*views, rows, width, K)
                scf.YieldOp([])
            with ir.InsertionPoint(branch.else_block):
                name = blas_call(offsets, rows, group, cols)
                scf.YieldOp([])
            return name
        return blas_call(offsets, rows, group, cols)

    def blas_call(offsets: list[ir.Value], rows: ir.Value, group: ir.Value | None, cols: ir.Value | None = None) -> str:
        pa, pb, pc = (pointer(base, off) for base, off in zip(bases, offsets))
        m_size = [as_i32(rows), sizes[1] if cols is None else as_i32(cols), sizes[2]]
        if group is None:
            name = BLAS_GEMM[dtype]
            func.call([], name, ints + m_size + [one, pa, lds[0], pb, lds[1], zero, pc, lds[2]])
            return name
        name = BLAS_GEMM_BATCH[dtype]
        inner = [s[nb - 1] for s in strides]
        st = [as_i32(s) if s is not None else arith.constant(i32, 0) for s in inner]
        func.call(
            [],
            name,
            ints + m_size + [one, pa, lds[0], st[0], pb, lds[1], st[1], zero, pc, lds[2], st[2], as_i32(group)],
        )
        return name

    def emit_call(offsets: list[ir.Value]) -> str:
        group = dim(c, nb - 1) if nb else None
        if threads < 2 or (group is None and strides_2d[2] is None):
            return call(offsets, M, group)  # (a matrix-vector product: C has no rows to split)
        # chunks of C's rows (of the innermost batch axis when batched); of
        # its columns when it has few rows (a step of a scan: 32 x 256)
        work = arith.muli(arith.muli(M, N), K)
        if group is not None:
            work = arith.muli(work, group)
        columns = group is None  # (C has rows: a matrix-vector product returned above)
        if columns:
            few = arith.cmpi(arith.CmpIPredicate.ult, M, index_const(FEW_ROWS))
            threshold = arith.select(few, index_const(max(1, minsize // COLUMN_SPLIT_GAIN)), index_const(minsize))
            # by columns also when C is wider than high: each thread then packs
            # its share of B and all of A, instead of all of B and its share of A
            split_columns = arith.ori(few, arith.cmpi(arith.CmpIPredicate.ugt, N, M))
            total = arith.select(split_columns, N, M)
        else:
            total = group if group is not None else M
            threshold = index_const(minsize)
        big = arith.cmpi(arith.CmpIPredicate.uge, work, threshold)
        parts = arith.select(big, index_const(threads), index_const(1))
        chunk = arith.ceildivui(total, parts)
        if group is None:  # whole 16-row (or column) blocks: OpenBLAS's sgemm kernel works on 16 rows;
            # the few-row kernel's column tiles (gemm_kernel.py) are up to 32 wide
            block = index_const(16)
            if columns and kernel is not None:
                block = arith.select(use_kernel, index_const(32), block)
            chunk = arith.muli(arith.ceildivui(chunk, block), block)
        chunk = arith.maxui(chunk, index_const(1))
        loop = scf.ForOp(zero_i, arith.ceildivui(total, chunk), index_const(1))
        with ir.InsertionPoint(loop.body):
            lo = arith.muli(loop.induction_variable, chunk)
            length = arith.minui(chunk, arith.subi(total, lo))
            if group is None:
                # rows of A: row lo of a row-major A, column lo of a transposed one
                steps = [index_const(1) if trans_a else strides_2d[0], None, strides_2d[2]]
            else:
                steps = [s[nb - 1] for s in strides]
            moved = [off if step is None else arith.addi(off, arith.muli(lo, step))
                     for off, step in zip(offsets, steps)]
            if columns:
                # column lo of B (row lo of a transposed B) and of C
                b_step = lds_index[1] if trans_b else index_const(1)
                by_columns = [offsets[0], arith.addi(offsets[1], arith.muli(lo, b_step)), arith.addi(offsets[2], lo)]
                moved = [arith.select(split_columns, x, y) for x, y in zip(by_columns, moved)]
                name = call(moved, arith.select(split_columns, M, length), None,
                            arith.select(split_columns, length, N))
            else:
                name = call(moved, M if group is not None else length, length if group is not None else None)
            scf.YieldOp([])
        chunk_loops.append(loop.operation)
        return name

    def loops(axis: int, offsets: list[ir.Value]) -> str:
        if axis >= nb - 1:
            return emit_call(offsets)
        loop = scf.ForOp(zero_i, dim(c, axis), index_const(1))
        with ir.InsertionPoint(loop.body):
            i = loop.induction_variable
            new = [
                off if s[axis] is None else arith.addi(off, arith.muli(i, s[axis]))
                for off, s in zip(offsets, strides)
            ]
            name = loops(axis + 1, new)
            scf.YieldOp([])
        return name

    callee = loops(0, [metadata[id(v)][1] for v in (a, b, c)])
    for buf, copied in ((a, a_copied), (b, b_copied)):
        if copied:
            memref.dealloc(buf)
    return callee, chunk_loops


def _erase_zero_fill_of(c: ir.Value, op: ir.Operation) -> None:
    """Drop the zero fill of ``c`` that is the last write before ``op``.

    gemm with ``beta = 0`` overwrites every element of ``C`` (also for
    ``K = 0``), so the fill is dead. Only ``memref.dim`` may read ``c`` in
    between; any other use (or an op holding one in its regions) keeps the
    fill. Found through the uses of ``c``, not by scanning the block: a
    training step's block holds thousands of ops and a dozen gemms.
    """
    block = op.block
    last = None
    for use in c.uses:
        user = use.owner.operation if hasattr(use.owner, "operation") else use.owner
        at = _top_level(user, block)
        if at is None or at == op or at.name == "memref.dim" or not at.is_before_in_block(op):
            continue
        if last is None or last.is_before_in_block(at):
            last = at
    if last is not None and _is_zero_fill_of(last, c):
        last.erase()


def _is_zero_fill_of(op: ir.Operation, c: ir.Value) -> bool:
    """``op`` is ``linalg.fill(0)`` of ``c``, or its generic form (no inputs, yields 0)."""
    if op.name == "linalg.fill":
        return op.operands[-1] == c and _is_zero(op.operands[0])
    if op.name != "linalg.generic" or len(op.operands) != 1 or op.operands[0] != c:
        return False
    body = list(op.regions[0].blocks[0].operations)
    return len(body) == 1 and body[0].name == "linalg.yield" and _is_zero(body[0].operands[0])


def _is_zero(v: ir.Value) -> bool:
    owner = defining_op(v)
    if owner is None or owner.name != "arith.constant":
        return False
    attr = owner.attributes["value"]
    return isinstance(attr, ir.FloatAttr) and ir.FloatAttr(attr).value == 0.0
