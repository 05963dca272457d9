"""``tir-hoist``: compute once, before a loop, what does not change across its steps.

Takes in and leaves: any IR. Works on every ``tir.scan`` (see
``dialects/control.py``). A value of a scan's body is *invariant* when it
depends only on the body's constant arguments (the scan's ``consts``) and
on ops without operands (``tir.constant``, a ``tir.full`` or ``tir.arange``
of static shape): every step computes it again from the same inputs. The
pass clones the ops computing it in front of the scan, in the caller, on
the scan's constant operands, passes the result to the loop as a new
constant operand and lets the body read that argument instead; the body's
copies, now unused, are erased. The typical win is ``W.T`` (a transposed
weight matrix, materialized every step) in the body of an RNN's backward
loop.

Which invariant values cross into the loop (*the frontier*): those that a
non-invariant op of the body, or the body's ``return``, reads, except
values that are cheap to make and no cheaper to pass:

* a ``tir.broadcast_to`` of an invariant value: hoisted, it would make a
  value as big as the broadcast live for the whole loop, where inside the
  step it fuses into its consumer; it stays in the body, and its operand
  crosses instead (when that is not a body argument already);
* constructors, ``tir.constant``/``tir.full``/``tir.arange`` (with or
  without dims): cheaper to fill inside a step than to keep alive, and the
  lowering folds a constant into the ops reading it;
* ``tir.dim`` and any other value that is not a tensor: never passed as an
  operand; the dim reads a constant argument the body has anyway.

Everything an invariant value on the frontier depends on is cloned before
the scan with it (constants included), so the body keeps its own copies of
cheap ops only where a step still reads them.

Never hoisted, even when invariant: ``tir.dynamic_slice`` and
``tir.dynamic_update_slice``, which check their indices at run time, so
that a loop of zero steps does not report an index its body never used.
Everything else in tir is pure and total, so computing it once before the
loop, even for ``n = 0``, changes no result.

Scans nest: a scan inside a body hoists into that body first, and the pass
runs to a fixed point, so what is also invariant in the outer body moves
out again, one loop level at a time (an inner scan that is itself invariant
moves out whole). A body that another scan or op also names, or that is
public, is cloned (``bodies.clone_function``) before it is changed, so the
others keep their body. A scan that already has the most operands a
``tir.scan`` can take (``MAX_ARITY``) hoists only as many values as fit.
"""

from __future__ import annotations

from ..dialects._bindings import ir, walk
from ..dialects.control import scan_body, scan_layout
from ..dialects.optable import MAX_ARITY
from .bodies import erase_dead, own_body, rebuild_scan, set_signature

__all__ = ["tir_hoist", "NEVER_HOISTED", "KEPT_IN_BODY"]

# Invariant but never computed outside the loop (they can fail at run time).
NEVER_HOISTED = frozenset({"tir.dynamic_slice", "tir.dynamic_update_slice"})

# Invariant values made by these stay in the body where a step reads them
# (their invariant operands cross instead).
KEPT_IN_BODY = frozenset({"tir.broadcast_to", "tir.constant", "tir.full", "tir.arange", "tir.dim"})


def tir_hoist(module_op: ir.Operation) -> None:
    # One scan at a time, then a new walk: hoisting rebuilds the scan and may
    # erase or clone others (an invariant inner scan), which a walk list
    # must not hold.
    while any(_hoist(op) for op in walk(module_op, ["tir.scan"])):
        pass


def _hoist(scan: ir.Operation) -> bool:
    """Hoist the frontier of ``scan``'s body; whether anything moved."""
    layout = scan_layout(scan)
    body = scan_body(scan)
    block = body.regions[0].blocks[0]
    args = list(block.arguments)
    first_const = layout.num_carry + layout.num_xs
    if len(args) != first_const + layout.num_consts:
        return False  # a scan that does not fit its body: the verifier's to report
    crossing = _frontier(block, set(args[first_const:]))
    crossing = crossing[: max(0, MAX_ARITY - len(list(scan.operands)))]
    if not crossing:
        return False
    if own_body(scan, body):
        return True  # the clone is hoisted from on the next sweep
    # the ops computing the crossing values, cloned before the scan
    consts = list(scan.operands)[layout.consts]
    mapping: dict[ir.Value, ir.Value] = dict(zip(args[first_const:], consts))
    with ir.InsertionPoint(scan):
        outside = [_clone(v, mapping) for v in crossing]
    new_args = set_signature(body, new_args=[v.type for v in crossing])
    for v, arg in zip(crossing, new_args):
        v.replace_all_uses_with(arg)
    erase_dead(crossing)
    rebuild_scan(scan, list(scan.operands) + outside, range(len(list(scan.results))))
    return True


def _frontier(block: ir.Block, const_args: set[ir.Value]) -> list[ir.Value]:
    """The invariant values of ``block`` that should cross into the loop, in block order."""
    invariant: set[ir.Value] = set(const_args)
    ops = [view.operation for view in block.operations]
    for op in ops[:-1]:
        if op.name.startswith("tir.") and op.name not in NEVER_HOISTED and all(v in invariant for v in op.operands):
            invariant.update(op.results)
    crossing: list[ir.Value] = []
    seen: set[ir.Value] = set()

    def demand(v: ir.Value) -> None:
        if v in seen or v not in invariant or v in const_args:
            return
        seen.add(v)
        producer = v.owner.operation
        if producer.name in KEPT_IN_BODY or not isinstance(v.type, ir.RankedTensorType):
            for w in producer.operands:
                demand(w)
        else:
            crossing.append(v)

    for op in ops:
        if not all(r in invariant for r in op.results) or not op.results:
            for v in op.operands:
                demand(v)
    order = {op: k for k, op in enumerate(ops)}
    return sorted(crossing, key=lambda v: (order[v.owner.operation], _result_number(v)))


def _result_number(v: ir.Value) -> int:
    return int(ir.OpResult(v).result_number)


def _clone(v: ir.Value, mapping: dict[ir.Value, ir.Value]) -> ir.Value:
    """``v``'s value outside the loop: its producer cloned at the current
    insertion point on the cloned operands (memoized in ``mapping``)."""
    if v in mapping:
        return mapping[v]
    op = v.owner.operation
    operands = [_clone(w, mapping) for w in op.operands]
    copy = op.clone()
    for i, w in enumerate(operands):
        copy.operands[i] = w
    for mine, theirs in zip(op.results, copy.results):
        mapping[mine] = theirs
    return mapping[v]
