"""``tir-scan-to-loop``: every ``tir.scan`` becomes an ``scf.for`` over tensors.

Takes in: tir with ``tir.scan`` ops and their body functions (see
``dialects/control.py``). Leaves: no ``tir.scan``; each is an ``scf.for``
whose loop-carried tensors are the carries and the stacked outputs, with a
copy of the body's tir ops inlined in the loop (``tir-to-linalg`` lowers
them next, like any other tir op), and the body functions no scan names
any more are erased::

    %ys0 = tensor.empty(%n, ...)                       // the stacked outputs
    %r:k = scf.for %i = %c0 to %n step %c1 iter_args(%c = %init, %ys = %ys0) {
      %t   = %i, or %n - 1 - %i with reverse
      %x_t = tensor.extract_slice %xs[%t, 0, ...] [1, ...]   (+ collapse_shape)
      %c', %y_t = <body ops>(%c, %x_t, %consts)
      %ys' = tensor.insert_slice %y_t into %ys[%t, 0, ...]   (after expand_shape)
      scf.yield %c', %ys'
    }

The stacked outputs are allocated before the loop, so their sizes must be
known there; the sizes of a step's outputs come from running the body, so
when a stacked output has a free dim besides the step axis, the first step
is peeled: it runs before the loop (in an ``scf.if`` that skips it for
``n = 0``, yielding empty stacks), its outputs size the stacks, and the loop
runs the other ``n - 1`` steps. Bufferization then updates the stacks in
place: each step writes its row of the preallocated result, and the carries
reuse their buffers from one step to the next where the body allows.

Scans are lowered outermost first; the copy of a body that itself holds a
scan brings that scan into the loop, and it is lowered in turn.
"""

from __future__ import annotations

from typing import Sequence

from ..dialects._bindings import ir, walk
from ..dialects.control import BODY, ScanLayout, is_private, scan_body, scan_layout, scan_result_types
from .common import index_const
from .shape import _cast, _collapse, _expand, _unit_groups

__all__ = ["tir_scan_to_loop", "LOWERS"]

# The tir ops this pass lowers (tir-to-linalg has no rule for them).
LOWERS = frozenset({"scan"})


def tir_scan_to_loop(module_op: ir.Operation) -> None:
    bodies: set[str] = set()
    while True:
        scans = walk(module_op, ["tir.scan"])
        bodies |= {_body_name(s) for s in scans}
        todo = [s for s in scans if _function_name(s) not in bodies]
        if not todo:
            break
        for op in todo:
            _lower(op)
    # every body is inlined now (the scans left are inside bodies themselves)
    for view in list(module_op.regions[0].blocks[0].operations):
        fn = view.operation
        if fn.name == "func.func" and _name(fn) in bodies and is_private(fn):
            fn.erase()


def _body_name(op: ir.Operation) -> str:
    return ir.FlatSymbolRefAttr(op.attributes[BODY]).value


def _name(fn: ir.Operation) -> str:
    return ir.StringAttr(fn.attributes["sym_name"]).value


def _function_name(op: ir.Operation) -> str:
    parent = op.parent
    while parent.operation.name != "func.func":
        parent = parent.operation.parent
    return _name(parent.operation)


def _lower(op: ir.Operation) -> None:
    from mlir.dialects import arith, scf

    scan_result_types(op)  # the body fits the scan (an IRError says how it does not)
    layout = scan_layout(op)
    block = scan_body(op).regions[0].blocks[0]
    operands = list(op.operands)
    carries = operands[layout.carry]
    xs = operands[layout.xs]
    consts = operands[layout.consts]
    results = list(op.results)
    ys_types = [r.type for r in results[layout.ys]]
    with ir.InsertionPoint(op), op.location:
        n = _steps(operands, xs, layout)
        one = index_const(1)
        # a stack whose row size is free is sized by the first step's output
        peel = any(t.is_dynamic_dim(i) for t in ys_types for i in range(1, t.rank))
        if peel:
            # the first step runs alone (when there is one) and its outputs
            # size the stacks, which are allocated out here, so that
            # bufferization can place them in the caller's result buffers
            nonempty = arith.cmpi(arith.CmpIPredicate.sgt, n, index_const(0))
            rows = [_row_type(t) for t in ys_types]
            first = scf.IfOp(nonempty, [c.type for c in carries] + rows, has_else=True)
            with ir.InsertionPoint(first.then_block):
                t0 = _step_index(index_const(0), n, layout)
                new, ys = _step(block, carries, xs, consts, t0, layout)
                scf.YieldOp(_cast_all(new, [c.type for c in carries]) + _cast_all(ys, rows))
            with ir.InsertionPoint(first.else_block):
                scf.YieldOp(list(carries) + [_zero_rows(t) for t in rows])
            ys0 = list(first.results)[layout.num_carry:]
            stacks = [_empty(t, n, y) for t, y in zip(ys_types, ys0)]
            filled = scf.IfOp(nonempty, ys_types, has_else=True)
            with ir.InsertionPoint(filled.then_block):
                t0 = _step_index(index_const(0), n, layout)
                scf.YieldOp([_insert(y, stack, t0) for y, stack in zip(ys0, stacks)])
            with ir.InsertionPoint(filled.else_block):
                scf.YieldOp(stacks)
            start = one
            inits = list(first.results)[: layout.num_carry] + list(filled.results)
        else:
            start = index_const(0)
            inits = list(carries) + [_empty(t, n, None) for t in ys_types]
        loop = scf.ForOp(start, n, one, inits)
        with ir.InsertionPoint(loop.body):
            state = list(loop.inner_iter_args)
            t = _step_index(loop.induction_variable, n, layout)
            new, ys = _step(block, state[: layout.num_carry], xs, consts, t, layout)
            stacks = [_insert(y, acc, t) for y, acc in zip(ys, state[layout.num_carry:])]
            scf.YieldOp(_cast_all(new, [c.type for c in carries]) + stacks)
    with ir.InsertionPoint(op), op.location:
        values = _cast_all(list(loop.results), [r.type for r in results])
    for old, value in zip(results, values):
        old.replace_all_uses_with(value)
    op.erase()


def _steps(operands: Sequence[ir.Value], xs: Sequence[ir.Value], layout: ScanLayout) -> ir.Value:
    from mlir.dialects import tensor

    if xs:
        t = xs[0].type
        return tensor.dim(xs[0], index_const(0)) if t.is_dynamic_dim(0) else index_const(int(t.shape[0]))
    if layout.has_n:
        return operands[0]
    return index_const(layout.length)


def _step_index(i: ir.Value, n: ir.Value, layout: ScanLayout) -> ir.Value:
    """The step ``t`` that iteration ``i`` runs: ``i``, or ``n - 1 - i`` in reverse."""
    from mlir.dialects import arith

    if not layout.reverse:
        return i
    return arith.subi(arith.subi(n, index_const(1)), i)


def _step(
    block: ir.Block,
    carries: Sequence[ir.Value],
    xs: Sequence[ir.Value],
    consts: Sequence[ir.Value],
    t: ir.Value,
    layout: ScanLayout,
) -> tuple[list[ir.Value], list[ir.Value]]:
    """A copy of the body at the insertion point, for step ``t``: (new carries, outputs)."""
    args = list(block.arguments)
    values = list(carries) + [_row(x, t) for x in xs] + list(consts)
    mapping: dict[ir.Value, ir.Value] = {}
    for arg, value in zip(args, values):
        mapping[arg] = _cast(value, arg.type)
    ops = [view.operation for view in block.operations]
    for old in ops[:-1]:
        new = old.clone(ir.InsertionPoint.current)
        for k, operand in enumerate(old.operands):
            if operand in mapping:
                new.operands[k] = mapping[operand]
        for a, b in zip(old.results, new.results):
            mapping[a] = b
    out = [mapping.get(v, v) for v in ops[-1].operands]
    return out[: layout.num_carry], out[layout.num_carry:]


def _row(x: ir.Value, t: ir.Value) -> ir.Value:
    """``x[t]``: a full-rank view of row ``t``, its unit axis then collapsed."""
    from mlir.dialects import tensor

    xt = x.type
    dyn = ir.ShapedType.get_dynamic_size()
    static = [1] + [dyn if xt.is_dynamic_dim(i) else int(xt.shape[i]) for i in range(1, xt.rank)]
    sizes = [tensor.dim(x, index_const(i)) for i in range(1, xt.rank) if xt.is_dynamic_dim(i)]
    view_t = ir.RankedTensorType.get(static, xt.element_type)
    view = tensor.extract_slice(view_t, x, [t], sizes, [], [dyn] + [0] * (xt.rank - 1), static, [1] * xt.rank)
    row_t = ir.RankedTensorType.get(static[1:], xt.element_type)
    return _collapse(view, row_t, _unit_groups(xt.rank, list(range(1, xt.rank))))


def _empty(t: ir.RankedTensorType, n: ir.Value, like: ir.Value | None) -> ir.Value:
    """``tensor.empty`` of stack type ``t`` with ``n`` rows, the other free dims
    those of ``like`` (a step's output), or 0 without one."""
    from mlir.dialects import tensor

    sizes: list[int | ir.Value] = [n if t.is_dynamic_dim(0) else int(t.shape[0])]
    for i in range(1, t.rank):
        if not t.is_dynamic_dim(i):
            sizes.append(int(t.shape[i]))
        elif like is not None:
            sizes.append(tensor.dim(like, index_const(i - 1)))
        else:
            sizes.append(index_const(0))
    return tensor.empty(sizes, t.element_type)


def _row_type(t: ir.RankedTensorType) -> ir.RankedTensorType:
    """The type of one row of stack type ``t``."""
    dyn = ir.ShapedType.get_dynamic_size()
    return ir.RankedTensorType.get(
        [dyn if t.is_dynamic_dim(i) else int(t.shape[i]) for i in range(1, t.rank)], t.element_type
    )


def _zero_rows(t: ir.RankedTensorType) -> ir.Value:
    """An empty tensor of row type ``t`` whose free dims are 0 (no step ran)."""
    from mlir.dialects import tensor

    sizes = [index_const(0) if t.is_dynamic_dim(i) else int(t.shape[i]) for i in range(t.rank)]
    return tensor.empty(sizes, t.element_type)


def _insert(y: ir.Value, stack: ir.Value, t: ir.Value) -> ir.Value:
    """``stack[t] = y``: ``y`` as a unit-leading view, inserted at row ``t``."""
    from mlir.dialects import tensor

    st = stack.type
    row_t = _row_type(st)
    y = _cast(y, row_t)
    dyn = ir.ShapedType.get_dynamic_size()
    row = [int(d) for d in row_t.shape]  # a free dim reads as ``dyn``
    dims = [tensor.dim(y, index_const(i)) if d == dyn else d for i, d in enumerate(row)]
    unit_t = ir.RankedTensorType.get([1] + row, st.element_type)
    unit = _expand(y, unit_t, _unit_groups(st.rank, list(range(1, st.rank))), [1] + dims)
    sizes = [d for d in dims if not isinstance(d, int)]
    return tensor.insert_slice(unit, stack, [t], sizes, [], [dyn] + [0] * len(row), [1] + row, [1] * st.rank)


def _cast_all(values: Sequence[ir.Value], types: Sequence[ir.Type]) -> list[ir.Value]:
    return [_cast(v, t) for v, t in zip(values, types)]
