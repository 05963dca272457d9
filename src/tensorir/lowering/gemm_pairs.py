"""Which gemms may run at the same time, one on each thread.

A reverse-mode gradient of ``h = x @ W`` needs ``g @ W^T`` and ``x^T @ g``:
two products of the same size that read the same ``g`` and nothing the other
writes. Split one after the other over two threads, each half packs the
whole of the shared operand and the threads meet twice; run side by side,
one whole gemm per thread, each packs once and they meet once. On the
784-512-512-10 MLP step the pair ``h1^T @ d2``, ``d2 @ W2^T`` took 1.36 ms
this way against 1.60 ms split (minimum of 30 interleaved rounds).

:func:`find_pairs` looks at consecutive gemms of a block, on buffers, before
``tir-linalg-to-blas`` replaces them by calls. The second one of a pair can
join the first when

* what it needs that is made in between (the allocation of its result and
  its sizes, views, index arithmetic) can be made before the first one, and
  the zero fill of its result is dead (gemm writes every element);
* the ops in between neither write a buffer it reads or writes nor read the
  buffer it writes;
* neither gemm writes a buffer the other reads or writes.

Buffers are compared by root (the allocation or argument under views).
Function arguments other than result buffers (``tir.out``) count as one
buffer, since the caller may pass one array twice and updates write inputs
in place. :func:`find_pairs` moves what the second gemm needs, and the gemm,
up to just after the first; ``tir-linalg-to-blas`` then decides at run time
whether to run the two side by side (:func:`tensorir.lowering.linalg._emit_pair`).
"""

from __future__ import annotations

from typing import Callable

from ..dialects._bindings import ir
from .buffers import _VIEWS, root
from .common import generic_inputs
from .outline import function_of

__all__ = ["find_pairs"]

# ops that may move up with the second gemm: they make values, not memory effects
_MAKERS = frozenset({"memref.alloc", "memref.dim", "arith.constant"}) | _VIEWS
_READS_ONLY = frozenset({"memref.load"})


def find_pairs(gemms: list[ir.Operation], layout: Callable[[ir.Operation], object]) -> list[tuple[ir.Operation, ir.Operation]]:
    """Pairs ``(first, second)`` of consecutive plain gemms (no batch axis) of
    one block that may run side by side; each second one and what it needs
    are moved up to just after its first one. ``layout`` tells a gemm the
    BLAS pass knows (not None)."""
    pairs: list[tuple[ir.Operation, ir.Operation]] = []
    taken: set = set()
    for first, second in zip(gemms, gemms[1:]):
        if first in taken or not _plain(first) or not _plain(second) or first.parent != second.parent:
            continue
        if layout(first) is None or layout(second) is None:
            continue
        if _join(first, second):
            pairs.append((first, second))
            taken.add(second)
    return pairs


def _plain(op: ir.Operation) -> bool:
    return len(ir.ArrayAttr(op.attributes["iterator_types"])) == 3


def _join(first: ir.Operation, second: ir.Operation) -> bool:
    block_ops = [v.operation for v in first.block.operations]
    i, j = block_ops.index(first), block_ops.index(second)
    if j < i:
        return False
    between = block_ops[i + 1:j]
    needed = _needed(second, between)
    if needed is None:
        return False
    c2 = second.operands[2]
    fill = _dead_fill(c2, between, needed)
    rest = [op for op in between if op not in needed and (fill is None or op != fill)]
    args = _argument_roots(first)
    r1, w1 = _effects(first, args)
    r2, w2 = _effects(second, args)
    if w1 & (r2 | w2) or w2 & r1:
        return False
    for op in rest:
        reads, writes = _effects(op, args)
        if writes & (r2 | w2) or reads & w2:
            return False
    if fill is not None:
        fill.erase()
    for op in needed:
        op.move_before(first)
    second.move_after(first)
    return True


def _needed(second: ir.Operation, between: list[ir.Operation]) -> list[ir.Operation] | None:
    """The ops of ``between`` that ``second`` depends on through values, in
    block order; None when one of them cannot move (it has memory effects)."""
    inside = set(between)
    found: set = set()
    work = list(second.operands)
    while work:
        v = work.pop()
        owner = v.owner
        if isinstance(owner, ir.Block):
            continue
        op = owner.operation
        if op not in inside or op in found:
            continue
        if (op.name not in _MAKERS and not op.name.startswith("arith.")) or op.regions:
            return None
        found.add(op)
        work.extend(op.operands)
    return [op for op in between if op in found]


def _dead_fill(c: ir.Value, between: list[ir.Operation], needed: list[ir.Operation]) -> ir.Operation | None:
    """The zero fill of ``c`` in ``between``, which the gemm overwrites; None if there is none."""
    from .linalg import _is_zero_fill_of

    for op in between:
        if op not in needed and _is_zero_fill_of(op, c):
            return op
    return None


def _argument_roots(op: ir.Operation) -> dict:
    """Each argument of the function holding ``op`` -> its root: result
    buffers (``tir.out``) are their own, all others share one."""
    fn = function_of(op)
    args = list(fn.regions[0].blocks[0].arguments)
    attrs = list(ir.ArrayAttr(fn.attributes["arg_attrs"])) if "arg_attrs" in fn.attributes else [None] * len(args)
    shared = "inputs"
    roots = {}
    for arg, attr in zip(args, attrs):
        is_out = attr is not None and "tir.out" in ir.DictAttr(attr)
        roots[arg] = arg if is_out else shared
    return roots


def _root(v: ir.Value, args: dict) -> object:
    """The buffer under ``v``'s views, arguments named by :func:`_argument_roots`."""
    r = root(v)
    return args.get(r, r)


def _effects(op: ir.Operation, args: dict) -> tuple[set, set]:
    """The roots ``op`` (with what is nested in it) may read and may write."""
    reads: set = set()
    writes: set = set()

    def visit(o: ir.Operation) -> ir.WalkResult:
        buffers = [v for v in o.operands if isinstance(v.type, ir.MemRefType)]
        if not buffers or o.name in _VIEWS or o.name == "memref.dim":
            return ir.WalkResult.ADVANCE
        if o.name in _READS_ONLY:
            reads.update(_root(v, args) for v in buffers)
        elif o.name == "linalg.generic":
            n_in = generic_inputs(o)
            reads.update(_root(v, args) for v in o.operands)
            writes.update(_root(v, args) for v in list(o.operands)[n_in:])
        elif o.name == "memref.copy":
            reads.add(_root(o.operands[0], args))
            writes.add(_root(o.operands[1], args))
        else:  # stores, fills, frees, calls, anything else: may read and write each buffer
            roots = {_root(v, args) for v in buffers}
            reads.update(roots)
            writes.update(roots)
        return ir.WalkResult.ADVANCE

    op.walk(visit, ir.WalkOrder.PRE_ORDER)
    return reads, writes
