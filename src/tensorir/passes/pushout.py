"""``tir-scan-pushout``: compute for all steps at once what a step computes
from its sequence slices alone.

Takes in and leaves: any IR. Works on every ``tir.scan`` (see
``dialects/control.py``). A value of a scan's body is *sequence-only* when
it is computed from the step's sequence slices ``x_t`` and the body's
constant arguments alone, not from the carries: ``x_t @ U + b`` in an RNN
step ``tanh(h @ W + x_t @ U + b)``. Its value at every step can then be
computed before the loop, from the whole sequences, in one batched op
(``xs @ U + b``, one large matrix product instead of ``n`` small ones),
and read by the loop one row per step, as a new sequence. Theano's scan
optimisations call this pushing out of the loop.

Which ops are batched (the step axis becomes a new leading axis):

* elementwise ops, when every sequence-only operand has the rank of the
  result (the constants broadcast against the stacked operand from the
  right, as in the step);
* ``tir.matmul`` with a sequence-only left operand (any rank) and a
  constant right one, or a sequence-only right operand of rank >= 2, or
  both sequence-only of rank >= 2 (matmul broadcasts over the new axis);
* reductions over ``axes`` of one sequence-only operand (the axes shift by
  one).

Operand-free constants (``tir.constant``) read by a batched op are cloned
before the scan with it. Only the sequence-only values that the rest of the
step (or the body's ``return``) reads become new sequences; the ops that
computed them in the body are erased, and ``tir-dce`` then drops the
sequences the body no longer reads. A body that another scan or op also
names, or that is public, is cloned before it is changed. The pass runs
after ``tir-autodiff``, so the backward loops it builds (which recompute a
step's forward values) are pushed out too.
"""

from __future__ import annotations

from typing import Any

from ..dialects import OPS, create, op_attrs
from ..dialects._bindings import ir, walk
from ..dialects.control import scan_body, scan_layout
from ..dialects.optable import MAX_ARITY
from .bodies import erase_dead, own_body, rebuild_scan, set_signature

__all__ = ["tir_scan_pushout"]


def tir_scan_pushout(module_op: ir.Operation) -> None:
    # one scan at a time, then a new walk (a rebuilt scan is a new op)
    while any(_pushout(op) for op in walk(module_op, ["tir.scan"])):
        pass


def _rank(v: ir.Value) -> int:
    t = v.type
    return t.rank if isinstance(t, ir.RankedTensorType) else -1


def _batchable(op: ir.Operation, seq: set, outside: set) -> bool:
    """Whether ``op`` (some operand sequence-only, the others available
    outside the loop) has a batched form."""
    name = op.name[4:]
    opdef = OPS.get(name)
    if opdef is None or len(op.results) != 1 or any(v not in seq and v not in outside for v in op.operands):
        return False
    if opdef.family == "elementwise":
        r = _rank(op.results[0])
        return all(_rank(v) == r for v in op.operands if v in seq)
    if name == "matmul":
        a, b = op.operands
        if a in seq and b in seq:
            return _rank(a) >= 2 and _rank(b) >= 2
        return a in seq or _rank(b) >= 2
    if opdef.family == "reduce" and "axes" in opdef.attrs:
        return len(op.operands) == 1
    return False


def _pushout(scan: ir.Operation) -> bool:
    layout = scan_layout(scan)
    body = scan_body(scan)
    block = body.regions[0].blocks[0]
    args = list(block.arguments)
    nc, nx = layout.num_carry, layout.num_xs
    if len(args) != nc + nx + layout.num_consts or nx == 0:
        return False
    seq: set = set(args[nc:nc + nx])
    outside: set = set(args[nc + nx:])
    ops = [view.operation for view in block.operations][:-1]
    batched: list[ir.Operation] = []
    for op in ops:
        if op.name == "tir.constant":
            outside.update(op.results)
        elif any(v in seq for v in op.operands) and _batchable(op, seq, outside):
            seq.update(op.results)
            batched.append(op)
    if not batched:
        return False
    # the sequence-only values the rest of the step reads
    inner = set(args[nc:nc + nx])
    done = {r for op in batched for r in op.results}
    frontier: list[ir.Value] = []
    for op in ops + [list(block.operations)[-1].operation]:
        if any(r in done for r in op.results):
            continue
        for v in op.operands:
            if v in done and v not in inner and v not in frontier:
                frontier.append(v)
    frontier = frontier[: max(0, MAX_ARITY - len(list(scan.operands)))]
    if not frontier:
        return False
    if own_body(scan, body):
        return True
    operands = list(scan.operands)
    mapping: dict[Any, ir.Value] = dict(zip(args[nc:], operands[layout.xs] + operands[layout.consts]))
    with ir.InsertionPoint(scan):
        stacked = [_stack(v, mapping) for v in frontier]
    new_args = set_signature(body, new_args=[v.type for v in frontier], at=nc + nx)
    for v, arg in zip(frontier, new_args):
        v.replace_all_uses_with(arg)
    erase_dead(frontier)
    new_operands = operands[: layout.xs.stop] + stacked + operands[layout.xs.stop:]
    rebuild_scan(scan, new_operands, range(len(list(scan.results))), num_xs=nx + len(stacked))
    return True


def _stack(v: ir.Value, mapping: dict[Any, ir.Value]) -> ir.Value:
    """The batched value of ``v`` (a row per step), built before the scan."""
    if v in mapping:
        return mapping[v]
    op = v.owner.operation
    operands = [_stack(u, mapping) for u in op.operands]
    with op.location:
        if op.name == "tir.constant":
            new = op.clone(ir.InsertionPoint.current)
        else:
            opdef = OPS[op.name[4:]]
            attrs = op_attrs(op, opdef)
            if opdef.family == "reduce":
                rank = _rank(op.operands[0])
                attrs["axes"] = tuple(a % rank + 1 for a in attrs["axes"]) if rank else ()
            new = create(opdef, operands, attrs)
    mapping[v] = new.results[0]
    return new.results[0]

