"""``tir-fuse-siblings``: loop nests over the same input share one pass over it.

Elementwise fusion (``linalg-fuse-elementwise-ops``) joins a producer with
its consumer. Two ops that only read the same data, such as ``softmax(x)``
and ``log_softmax(x)`` returned together, stay two loop nests, and each
streams ``x`` from memory. This pass, on buffers, joins such siblings into
one ``linalg.generic`` with the outputs of both: ``x`` is read once and both
results are written in the same iteration.

Two all-parallel ``linalg.generic`` ops ``A`` and a later ``B`` of the same
block are joined, at ``A``'s place, when:

* they read one buffer through the same identity map (so their loops have
  the same bounds), and both write through identity maps;
* ``B``'s operands are all defined before ``A`` and the ops between them
  neither read nor write buffers (sizes, allocations and deallocations, index
  arithmetic), so moving ``B`` up past them changes nothing it sees;
* neither reads or writes a buffer (or a view of one) that the other writes.

The joined body computes ``A``'s results, then ``B``'s, from block
arguments shared where both read the same buffer through the same map.
"""

from __future__ import annotations

from ..dialects._bindings import ir
from .buffers import root
from .common import PARALLEL, generic_inputs, indexing_maps
from .parallel import clone_rebound

__all__ = ["fuse_siblings"]

def fuse_siblings(module_op: ir.Operation) -> None:
    """Join sibling loop nests in the entry block of every function."""
    for view in module_op.regions[0].blocks[0].operations:
        fn = view.operation
        if fn.name != "func.func" or len(fn.regions) == 0 or len(fn.regions[0].blocks) != 1:
            continue
        block = fn.regions[0].blocks[0]
        while _fuse_one(block):
            pass


def _candidate(op: ir.Operation) -> bool:
    if op.name != "linalg.generic" or "library_call" in op.attributes or len(op.results):
        return False
    iterators = ir.ArrayAttr(op.attributes["iterator_types"])
    if len(iterators) == 0 or any(str(it) != PARALLEL for it in iterators):
        return False
    identity = ir.AffineMap.get_identity(len(iterators))
    return all(m == identity for m in indexing_maps(op)[generic_inputs(op):]) and all(
        isinstance(v.type, ir.MemRefType) for v in op.operands
    )


def _shared_identity_input(a: ir.Operation, b: ir.Operation) -> bool:
    identity = ir.AffineMap.get_identity(len(ir.ArrayAttr(a.attributes["iterator_types"])))
    if len(ir.ArrayAttr(b.attributes["iterator_types"])) != identity.n_dims:
        return False
    a_in = [v for v, m in zip(list(a.operands)[:generic_inputs(a)], indexing_maps(a)) if m == identity]
    b_in = [v for v, m in zip(list(b.operands)[:generic_inputs(b)], indexing_maps(b)) if m == identity]
    return any(x == y for x in a_in for y in b_in)


def _uses(op: ir.Operation) -> list[ir.Value]:
    """Every value ``op`` or an op nested in it reads."""
    found: list[ir.Value] = []

    def visit(o: ir.Operation) -> ir.WalkResult:
        found.extend(o.operands)
        return ir.WalkResult.ADVANCE

    op.walk(visit)
    return found


def _touches(values: list[ir.Value], roots: list[ir.Value]) -> bool:
    return any(root(v) == r for v in values for r in roots)


def _fuse_one(block: ir.Block) -> bool:
    ops = [v.operation for v in block.operations]
    for i, a in enumerate(ops):
        if not _candidate(a):
            continue
        a_out_roots = [root(v) for v in list(a.operands)[generic_inputs(a):]]
        for j in range(i + 1, len(ops)):
            b = ops[j]
            if _candidate(b) and _shared_identity_input(a, b) and _movable(b, ops[i + 1:j], i, ops):
                b_out_roots = [root(v) for v in list(b.operands)[generic_inputs(b):]]
                if not _touches(list(b.operands), a_out_roots) and not _touches(list(a.operands), b_out_roots):
                    _join(a, b)
                    return True
            if _touches(_uses(b), a_out_roots) or not _inert(b):
                break  # reads A's results, or writes memory: nothing later joins A
    return False


def _inert(op: ir.Operation) -> bool:
    """Ops that neither read nor write buffer contents: ``memref.dim``,
    allocation and deallocation, and ops with no buffer operand at all."""
    if op.name in ("memref.dim", "memref.dealloc", "memref.alloc", "memref.alloca"):
        return True
    return not any(isinstance(v.type, ir.MemRefType) for v in _uses(op))


def _movable(b: ir.Operation, between: list[ir.Operation], a_index: int, ops: list[ir.Operation]) -> bool:
    """Whether ``b`` can move up to just before the op at ``a_index``: its
    operands exist there and the ops in between neither read nor write
    memory (other than freeing it or reading sizes)."""
    before = ops[:a_index]
    for v in b.operands:
        owner = v.owner
        if isinstance(owner, ir.Block):
            continue  # a function argument
        if not any(owner.operation == o for o in before):
            return False
    return all(_inert(op) for op in between)


def _join(a: ir.Operation, b: ir.Operation) -> None:
    """One generic at ``a``'s place computing both; ``a`` and ``b`` erased."""
    from ..dialects._upstream import linalg

    na, nb = generic_inputs(a), generic_inputs(b)
    a_ops, b_ops = list(a.operands), list(b.operands)
    a_maps, b_maps = indexing_maps(a), indexing_maps(b)
    inputs: list[ir.Value] = []
    in_maps: list[ir.AffineMap] = []

    def input_slot(v: ir.Value, m: ir.AffineMap) -> int:
        for k, (w, wm) in enumerate(zip(inputs, in_maps)):
            if w == v and wm == m:
                return k
        inputs.append(v)
        in_maps.append(m)
        return len(inputs) - 1

    a_slots = [input_slot(v, m) for v, m in zip(a_ops[:na], a_maps[:na])]
    b_slots = [input_slot(v, m) for v, m in zip(b_ops[:nb], b_maps[:nb])]
    outs = a_ops[na:] + b_ops[nb:]
    maps = in_maps + a_maps[na:] + b_maps[nb:]
    with ir.InsertionPoint(a), a.location:
        joined = linalg.GenericOp(
            [], inputs, outs, ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps]),
            a.attributes["iterator_types"],
        )
        types = [ir.MemRefType(v.type).element_type for v in inputs + outs]
        body = joined.regions[0].blocks.append(*types)
    args = list(body.arguments)
    n_in = len(inputs)
    a_args = [args[k] for k in a_slots] + args[n_in:n_in + len(a_ops) - na]
    b_args = [args[k] for k in b_slots] + args[n_in + len(a_ops) - na:]
    yielded: list[ir.Value] = []
    with ir.InsertionPoint(body), a.location:
        for op, op_args in ((a, a_args), (b, b_args)):
            yielded += _inline(op.regions[0].blocks[0], op_args, body)
        linalg.YieldOp(yielded)
    a.erase()
    b.erase()


def _inline(block: ir.Block, args: list[ir.Value], into: ir.Block) -> list[ir.Value]:
    """Clone ``block``'s ops at the end of ``into`` with its arguments bound
    to ``args``; returns the values it yields."""
    remap = dict(zip(block.arguments, args))
    ops = [view.operation for view in block.operations]
    clone_rebound(ops[:-1], remap, ir.InsertionPoint(into))
    return [remap.get(v, v) for v in ops[-1].operands]  # the linalg.yield
