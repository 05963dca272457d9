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

After the loop, the pass also takes out what a step adds to an
*accumulator*: a carry ``c`` whose only use is ``c + e`` returned as its
next value (the gradient of a weight in a backward loop,
``dW += h_t.T @ dz_t``). Then ``c`` at the end is ``c_0`` plus the sum of
``e`` over the steps, and two forms of ``e`` are summed after the loop in
one op instead of one small op per step:

* ``e = transpose(p) @ q`` (2-d ``p``, ``q``): with the rows ``p_t``,
  ``q_t`` stacked over the steps (sequences already are; a value of the
  step becomes a new per-step output), ``sum_t p_t.T @ q_t`` is one matrix
  product over the steps and rows together,
  ``reshape(P, (-1, k)).T @ reshape(Q, (-1, n))``: a gemm whose inner
  dimension is ``steps * batch`` instead of ``steps`` gemms of inner
  dimension ``batch`` (Theano's scan optimisations do the same for a dot
  product summed over time). A constant ``p`` or ``q`` is factored out of
  the sum instead.
* ``e = sum(q, axes)``: ``sum(Q, (0,) + axes)`` over the stacked ``q``.

The accumulator's carry, the addition and the per-step product are gone
from the loop; reverse scans stack their outputs in step order, so the
rows of ``P`` and ``Q`` stay aligned.

Three smaller rewrites clean up what the others and ``tir-autodiff`` leave:
a per-step output that is a sequence slice is the sequence itself; a
sequence that is a broadcast along the step axis is read as one constant
row; and a batched op after the loop that recomputes, from the stacked
inputs, a value the loop already stacks as an output (a backward pass
recomputing ``tanh(H_prev @ W + XU)`` that the forward loop returned as its
states) reads that output instead.
"""

from __future__ import annotations

from typing import Any

from dataclasses import dataclass

from ..dialects import OPS, create, op_attrs
from ..dialects._bindings import ir, walk
from ..dialects.control import scan_body, scan_layout
from ..dialects.optable import MAX_ARITY, from_mlir_type
from ..dialects.types import Sym, TensorType
from .autodiff.builder import E, dim
from .autodiff.builder import op as build
from .bodies import erase_dead, own_body, rebuild_scan, set_signature

__all__ = ["tir_scan_pushout"]


def tir_scan_pushout(module_op: ir.Operation) -> None:
    # one scan at a time, then a new walk (a rebuilt scan is a new op)
    while any(
        _accumulate_after(scan)
        or _pushout(scan)
        or _outputs_from_sequences(scan)
        or _constant_rows(scan)
        or _reuse_stacked_outputs(scan)
        for scan in walk(module_op, ["tir.scan"])
    ):
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


def _open(scan: ir.Operation, min_xs: int = 0) -> tuple[Any, ir.Operation, ir.Block, list[ir.Value], int, int] | None:
    """(layout, body, its block, its arguments, number of carries, number of
    sequences) of ``scan``; None when the body's arguments do not match the
    scan's operand groups or it has fewer than ``min_xs`` sequences."""
    layout = scan_layout(scan)
    body = scan_body(scan)
    block = body.regions[0].blocks[0]
    args = list(block.arguments)
    nc, nx = layout.num_carry, layout.num_xs
    if len(args) != nc + nx + layout.num_consts or nx < min_xs:
        return None
    return layout, body, block, args, nc, nx


def _pushout(scan: ir.Operation) -> bool:
    opened = _open(scan, 1)
    if opened is None:
        return False
    layout, body, block, args, nc, nx = opened
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
        existing = _signatures_before(scan)
        stacked = [_stack(v, mapping, existing) for v in frontier]
    new_args = set_signature(body, new_args=[v.type for v in frontier], at=nc + nx)
    for v, arg in zip(frontier, new_args):
        v.replace_all_uses_with(arg)
    erase_dead(frontier)
    new_operands = operands[: layout.xs.stop] + stacked + operands[layout.xs.stop:]
    rebuild_scan(scan, new_operands, range(len(list(scan.results))), num_xs=nx + len(stacked))
    return True


def _stack(v: ir.Value, mapping: dict[Any, ir.Value], existing: dict[Any, ir.Value] | None = None) -> ir.Value:
    """The batched value of ``v`` (a row per step), built before the scan;
    an equal op already there (``existing``, by :func:`_signature`) is
    reused, so two loops over the same sequence (a forward loop and its
    backward loop) share one batched ``xs @ U``."""
    if v in mapping:
        return mapping[v]
    op = v.owner.operation
    operands = [_stack(u, mapping, existing) for u in op.operands]
    with op.location:
        if op.name == "tir.constant":
            new = op.clone(ir.InsertionPoint.current)
        else:
            opdef = OPS[op.name[4:]]
            attrs = _batched_attrs(op, opdef)
            key = (op.name, tuple(operands), repr(sorted(attrs.items())))
            if existing is not None and key in existing:
                mapping[v] = existing[key]
                return existing[key]
            new = create(opdef, operands, attrs)
            if existing is not None:
                existing[key] = new.results[0]
    mapping[v] = new.results[0]
    return new.results[0]


def _batched_attrs(op: ir.Operation, opdef: Any) -> dict[str, Any]:
    """The attributes of ``op``'s batched form: a reduction's axes shift by
    the new leading step axis."""
    attrs = op_attrs(op, opdef)
    if opdef.family == "reduce" and "axes" in attrs:
        rank = _rank(op.operands[0])
        attrs["axes"] = tuple(a % rank + 1 for a in attrs["axes"]) if rank else ()
    return attrs


def _signatures_before(scan: ir.Operation) -> dict[Any, ir.Value]:
    """The single-result tir ops before ``scan`` in its block, by signature."""
    found: dict[Any, ir.Value] = {}
    for view in scan.block.operations:
        o = view.operation
        if o == scan:
            break
        opdef = OPS.get(o.name[4:]) if o.name.startswith("tir.") else None
        if opdef is None or len(o.results) != 1 or o.name == "tir.constant":
            continue
        attrs = op_attrs(o, opdef)
        if "axes" in attrs:
            attrs["axes"] = tuple(attrs["axes"])
        found.setdefault((o.name, tuple(o.operands), repr(sorted(attrs.items()))), o.results[0])
    return found


# -- accumulators, summed after the loop ----------------------------------------


def _uses(v: ir.Value) -> list[tuple[ir.Operation, int]]:
    return [(u.owner.operation if hasattr(u.owner, "operation") else u.owner, u.operand_number) for u in v.uses]


def _owner_named(v: ir.Value, name: str) -> ir.Operation | None:
    if not isinstance(v, ir.OpResult):
        return None
    owner = v.owner.operation
    return owner if owner.name == name else None


@dataclass
class _Part:
    """One factor of a summed term: a sequence slice (``index`` into the
    scan's sequences), a constant (``index`` into its constants), or a value
    of the step to stack as a new output (``value``)."""

    kind: str  # "seq", "const" or "step"
    index: int = -1
    value: ir.Value | None = None
    row: bool = False  # the factor is expand_dims(v, 0) of a vector v: its stack is (steps, k) already


@dataclass
class _Accumulator:
    carry: int
    form: str  # "matmul" (transpose(p) @ q) or "sum" (sum(q, axes))
    parts: list[_Part]
    axes: tuple[int, ...] = ()


def _part(v: ir.Value, args: list[ir.Value], nc: int, nx: int) -> _Part:
    for k, a in enumerate(args):
        if v == a:
            if k < nc:
                return _Part("carry")
            return _Part("seq", k - nc) if k < nc + nx else _Part("const", k - nc - nx)
    return _Part("step", value=v)


def _factor(v: ir.Value, args: list[ir.Value], nc: int, nx: int) -> _Part:
    """A factor of a summed product; a row ``expand_dims(v, 0)`` of a vector
    (an outer product's factor) stands for ``v``, whose stack is already the
    ``(steps, k)`` matrix of the rows."""
    ed = _owner_named(v, "tir.expand_dims")
    if ed is not None and tuple(op_attrs(ed, OPS["expand_dims"])["axes"]) == (0,) and _rank(ed.operands[0]) == 1:
        inner = _part(ed.operands[0], args, nc, nx)
        if inner.kind in ("seq", "step"):
            inner.row = True
            return inner
    return _part(v, args, nc, nx)


def _accumulator(i: int, args: list[ir.Value], returned: list[ir.Value], nc: int, nx: int) -> _Accumulator | None:
    c, r = args[i], returned[i]
    uses = _uses(c)
    add = _owner_named(r, "tir.add")
    if add is None or len(uses) != 1 or uses[0][0] != add or sum(1 for v in returned if v == r) != 1:
        return None
    if len(_uses(r)) != 1:
        return None
    e = add.operands[1 - uses[0][1]]
    if not (c.type == e.type == r.type):
        return None
    mm = _owner_named(e, "tir.matmul")
    if mm is not None and len(_uses(e)) == 1:
        tp = _owner_named(mm.operands[0], "tir.transpose")
        p, q = (tp.operands[0] if tp is not None else None), mm.operands[1]
        if (
            tp is not None
            and tuple(op_attrs(tp, OPS["transpose"])["perm"]) == (1, 0)
            and ir.RankedTensorType(q.type).rank == 2
        ):
            parts = [_factor(p, args, nc, nx), _factor(q, args, nc, nx)]
            if all(pt.kind != "carry" for pt in parts) and not all(pt.kind == "const" for pt in parts):
                return _Accumulator(i, "matmul", parts)
    whole = _part(e, args, nc, nx)
    if whole.kind == "seq":  # a sequence-only term, already pushed out
        return _Accumulator(i, "sum", [whole], ())
    total = _owner_named(e, "tir.sum")
    if total is not None and len(_uses(e)) == 1:
        attrs = op_attrs(total, OPS["sum"])
        q = _part(total.operands[0], args, nc, nx)
        if not attrs["keepdims"] and q.kind in ("seq", "step"):
            return _Accumulator(i, "sum", [q], tuple(attrs["axes"]))
    return None


def _accumulate_after(scan: ir.Operation) -> bool:
    opened = _open(scan, 1)
    if opened is None:
        return False
    layout, body, block, args, nc, nx = opened
    ret = list(block.operations)[-1].operation
    returned = list(ret.operands)
    found = [a for a in (_accumulator(i, args, returned, nc, nx) for i in range(nc)) if a is not None]
    stacked: list[ir.Value] = []
    for acc in found:
        for part in acc.parts:
            if part.kind == "step" and part.value not in stacked:
                stacked.append(part.value)
    found = found if len(list(scan.results)) - len(found) + len(stacked) <= MAX_ARITY else []
    if not found:
        return False
    if own_body(scan, body):
        return True
    operands = list(scan.operands)
    # the body: the accumulators' carries and additions go, the stacked parts are returned
    gone = {acc.carry for acc in found}
    terms = [returned[acc.carry] for acc in found]
    kept_returned = [v for k, v in enumerate(returned) if k not in gone] + stacked
    set_signature(body, returned=kept_returned)
    erase_dead(terms)
    set_signature(body, drop_args=sorted(gone))
    old_results = list(scan.results)
    steps = from_mlir_type(operands[layout.xs][0].type).shape[0]
    new_types = [
        TensorType(t.dtype, (steps if isinstance(steps, int) else Sym.fresh(),) + tuple(t.shape))
        for t in (from_mlir_type(v.type) for v in stacked)
    ]
    inits = [operands[layout.carry][acc.carry] for acc in found]
    # the old finals' users read the initial values until the sums exist
    users = []
    for acc, init in zip(found, inits):
        users.append(_uses(old_results[acc.carry]))
        for owner, index in users[-1]:
            owner.operands[index] = init
    start = layout.carry.start
    new_operands = [v for k, v in enumerate(operands) if not (start <= k < layout.carry.stop and k - start in gone)]
    kept = [k for k in range(len(old_results)) if k not in gone]
    new = rebuild_scan(scan, new_operands, kept, new_types, num_carry=nc - len(gone))
    stacks = dict(zip(stacked, list(new.results)[len(kept):]))
    xs, consts = operands[layout.xs], operands[layout.consts]
    with ir.InsertionPoint.after(new), new.location:
        for acc, init, readers in zip(found, inits, users):
            full = [
                E(xs[p.index]) if p.kind == "seq" else E(consts[p.index]) if p.kind == "const" else E(stacks[p.value])
                for p in acc.parts
            ]
            if acc.form == "matmul":
                value = _summed_product(*full, acc.parts)
            else:
                value = build("sum", full[0], axes=(0,) + tuple(a + 1 for a in acc.axes), keepdims=False)
            result = (E(init) + value).value
            for owner, index in readers:
                owner.operands[index] = result
    return True


def _summed_product(p: E, q: E, parts: list[_Part]) -> E:
    """``sum_t transpose(p_t) @ q_t`` from the stacked (or constant) factors."""

    def rows(x: E, part: _Part) -> E:  # (steps, m, k) -> (steps * m, k)
        if part.row:
            return x
        k = dim(x, 2)
        return build("reshape", x, *([] if isinstance(k, int) else [k]), shape=(None, k if isinstance(k, int) else -1))

    def transpose(x: E) -> E:
        return build("transpose", x, perm=(1, 0))

    if parts[0].kind == "const":
        return build("matmul", transpose(p), build("sum", q, axes=(0,), keepdims=False))
    if parts[1].kind == "const":
        return build("matmul", transpose(build("sum", p, axes=(0,), keepdims=False)), q)
    return build("matmul", transpose(rows(p, parts[0])), rows(q, parts[1]))


def _outputs_from_sequences(scan: ir.Operation) -> bool:
    """A per-step output that is the step's slice of a sequence stacks that
    sequence again (reverse scans stack in step order): its result is the
    sequence itself, and the body stops returning it."""
    opened = _open(scan)
    if opened is None:
        return False
    layout, body, block, args, nc, nx = opened
    returned = list(list(block.operations)[-1].operation.operands)
    results = list(scan.results)
    copies = {}
    for k in range(nc, len(returned)):
        part = _part(returned[k], args, nc, nx)
        if part.kind == "seq" and results[k].type == list(scan.operands)[layout.xs][part.index].type:
            copies[k] = list(scan.operands)[layout.xs][part.index]
    if not copies:
        return False
    if own_body(scan, body):
        return True
    for k, seq in copies.items():
        results[k].replace_all_uses_with(seq)
    set_signature(body, returned=[v for k, v in enumerate(returned) if k not in copies])
    rebuild_scan(scan, list(scan.operands), [k for k in range(len(results)) if k not in copies])
    return True


def _constant_rows(scan: ir.Operation) -> bool:
    """A sequence that is a broadcast along the step axis (the cotangent
    ``ones`` of a summed loss, read by a backward loop) has the same row at
    every step: the body reads that row as a constant, built once before
    the loop, instead of a stacked copy of it. One sequence is always kept
    (it gives the number of steps)."""
    opened = _open(scan, 2)
    if opened is None:
        return False
    layout, body, block, args, nc, nx = opened
    operands = list(scan.operands)
    xs = operands[layout.xs]
    for j, seq in enumerate(xs):
        bc = _owner_named(seq, "tir.broadcast_to")
        if bc is None:
            continue
        v = bc.operands[0]
        vt, st = ir.RankedTensorType(v.type), ir.RankedTensorType(seq.type)
        if vt.rank == st.rank and (vt.is_dynamic_dim(0) or vt.shape[0] != 1):
            continue
        if len(operands) + 1 > MAX_ARITY:
            return False
        if own_body(scan, body):
            return True
        static = list(op_attrs(bc, OPS["broadcast_to"])["shape"])
        dyn = list(bc.operands[1:])
        if static[0] == -1:
            dyn = dyn[1:]
        with ir.InsertionPoint(scan), scan.location:
            row = E(v)
            if vt.rank == st.rank:
                row = build("squeeze", row, axes=(0,))
            row = build("broadcast_to", row, *dyn, shape=tuple(static[1:]))
        (new_arg,) = set_signature(body, new_args=[args[nc + j].type])
        args[nc + j].replace_all_uses_with(new_arg)
        set_signature(body, drop_args=[nc + j])
        start = layout.xs.start
        new_operands = operands[:start + j] + operands[start + j + 1:] + [row.value]
        rebuild_scan(scan, new_operands, range(len(list(scan.results))), num_xs=nx - 1)
        return True
    return False


def _reuse_stacked_outputs(scan: ir.Operation) -> bool:
    """Batched twins of the stacked outputs read the outputs instead.

    The twin of a body value is the op after the scan, in the same block,
    that computes it for all steps at once from the twins of its operands:
    a carry's twin is the scan's stacked copy of it (an output returning
    the carry unchanged), a sequence slice's the sequence, a constant the
    constant itself (as :func:`_stack` builds batched ops)."""
    opened = _open(scan)
    if opened is None:
        return False
    layout, body, block, args, nc, nx = opened
    operands = list(scan.operands)
    results = list(scan.results)
    returned = list(list(block.operations)[-1].operation.operands)
    twin: dict[Any, ir.Value] = {}
    batched: set = set()
    for k in range(nc, len(returned)):
        for i in range(nc):
            if returned[k] == args[i]:
                twin[args[i]] = results[k]
                batched.add(args[i])
    for j in range(nx):
        twin[args[nc + j]] = operands[layout.xs][j]
        batched.add(args[nc + j])
    for j in range(layout.num_consts):
        twin[args[nc + nx + j]] = operands[layout.consts][j]
    changed = False
    for view in list(block.operations)[:-1]:
        inner = view.operation
        if len(inner.results) != 1 or not all(v in twin for v in inner.operands):
            continue
        if not any(v in batched for v in inner.operands):
            continue
        found = _find_twin(inner, [twin[v] for v in inner.operands], scan)
        if found is None:
            continue
        twin[inner.results[0]] = found
        batched.add(inner.results[0])
        for k in range(nc, len(returned)):
            if returned[k] == inner.results[0] and found != results[k] and found.type == results[k].type:
                found.replace_all_uses_with(results[k])
                twin[inner.results[0]] = results[k]
                erase_dead([found])
                changed = True
                break
    return changed


def _find_twin(inner: ir.Operation, outer_operands: list[ir.Value], scan: ir.Operation) -> ir.Value | None:
    """The op after ``scan`` in its block computing ``inner`` batched from ``outer_operands``."""
    name = inner.name[4:]
    opdef = OPS.get(name)
    if opdef is None:
        return None
    want = _batched_attrs(inner, opdef)
    block = scan.block if hasattr(scan, "block") else None
    for use in outer_operands[0].uses:
        cand = use.owner.operation if hasattr(use.owner, "operation") else use.owner
        if cand.name != inner.name or len(cand.results) != 1 or list(cand.operands) != outer_operands:
            continue
        if block is not None and cand.block != block:
            continue
        got = op_attrs(cand, opdef)
        if opdef.family == "reduce" and "axes" in got:
            got = dict(got, axes=tuple(got["axes"]))
        if got == want:
            return cand.results[0]
    return None
