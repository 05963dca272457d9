"""``tir-keep-costly-producers``: no recomputation of costly values by fusion.

``linalg-fuse-elementwise-ops`` merges an elementwise producer into each
consumer it has alone, computing the producer's body inside the consumer's
loop. When the consumer reads the producer through a broadcasting map (a
per-row value read by every element of the row), the producer's body then
runs once per element of the consumer instead of once per element of its own
result: ``log_softmax = (x - shift) - log(s)`` computed ``log(s)`` for every
element of ``x`` instead of once per row, 4096 times too often on a
4096x4096 input.

This pass runs after ``linalg-generalize-named-ops`` and before the fusion.
For every elementwise ``linalg.generic`` whose result a ``linalg.generic``
reads through a map that is not a permutation of its loops, it estimates the
cost of one element: the ops of its body, plus the cost of the producers
that fusion would merge into it first (elementwise generics with a single
use, read through a permutation). Above :data:`COSTLY` ops, the result gets
a fusion barrier (``bufferization.materialize_in_destination``), so it is
computed once into a buffer of its own size and read from there. Cheap
producers (a max shift's ``select``, a bias scaled by a constant) are still
fused: recomputing a few ops per element is cheaper than a separate loop
writing a buffer.

Takes and leaves linalg on tensors.
"""

from __future__ import annotations

from ..dialects._bindings import ir, walk
from .common import defining_op, empty, generic_inputs, indexing_maps, sizes_of

__all__ = ["COSTLY", "keep_costly_producers", "element_cost"]

# cost per element above which a producer is not recomputed per broadcast
# element: a transcendental function (inline polynomial or libm call) costs
# 10 or more, a division 4, other ops 1
COSTLY = 8


def _elementwise(op: ir.Operation) -> bool:
    iters = ir.ArrayAttr(op.attributes["iterator_types"])
    return all("parallel" in str(it) for it in iters)


# per-element cost of ops that are not one instruction: a division, and the
# math functions that upstream lowering turns into calls or long sequences
_DIVISION = 4
_CHEAP_MATH = ("math.fma", "math.absf", "math.copysign", "math.roundeven", "math.floor", "math.ceil",
               "math.trunc", "math.round")
_CALL = 10


def _op_cost(name: str) -> int:
    if name in ("arith.divf", "arith.remf", "arith.divsi", "arith.divui", "arith.remsi", "arith.remui"):
        return _DIVISION
    if name.startswith("math.") and name not in _CHEAP_MATH:
        return _CALL
    return 1


def _body_ops(op: ir.Operation) -> int:
    """Cost of one run of the body (nested loops counted once per op)."""
    body = op.regions[0].blocks[0]
    return sum(_op_cost(o.name) for inner in body.operations for o in walk(inner.operation)
               if o.name != "linalg.yield")


def element_cost(op: ir.Operation, depth: int = 0) -> int:
    """Ops per element of the generic ``op`` once fusion has merged its
    single-use elementwise producers (read through permutations) into it."""
    cost = _body_ops(op)
    if depth > 16:
        return cost
    maps = indexing_maps(op)
    for i in range(generic_inputs(op)):
        producer = defining_op(op.operands[i])
        if (
            producer is not None
            and producer.name == "linalg.generic"
            and _elementwise(producer)
            and len(producer.results) == 1
            and sum(1 for _ in producer.results[0].uses) == 1
            and maps[i].is_permutation
        ):
            cost += element_cost(producer, depth + 1)
    return cost


def _broadcast_read(value: ir.Value) -> bool:
    """Whether some generic reads ``value`` through a non-permutation map."""
    for use in value.uses:
        owner = use.owner.operation if hasattr(use.owner, "operation") else use.owner
        if owner.name != "linalg.generic" or use.operand_number >= generic_inputs(owner):
            continue
        if not indexing_maps(owner)[use.operand_number].is_permutation:
            return True
    return False


def _barrier(v: ir.Value, producer: ir.Operation) -> None:
    """Route every generic reading ``v`` through a materialised copy of it,
    built right after ``producer``."""
    from mlir.dialects import bufferization

    with ir.InsertionPoint.after(producer), producer.location:
        kept = bufferization.MaterializeInDestinationOp(v.type, v, empty(sizes_of(v), v.type.element_type))
    for use in list(v.uses):
        owner = use.owner.operation if hasattr(use.owner, "operation") else use.owner
        if owner.name == "linalg.generic" and use.operand_number < generic_inputs(owner):
            owner.operands[use.operand_number] = kept.result


def keep_costly_producers(module_op: ir.Operation) -> None:
    """The pass: a fusion barrier after each costly, broadcast-read producer."""
    for op in walk(module_op, ["linalg.generic"]):
        if len(op.results) != 1 or not _elementwise(op) or not _broadcast_read(op.results[0]):
            continue
        if element_cost(op) > COSTLY:
            _barrier(op.results[0], op)
