"""Emission of a frontend graph into a tir module (one public ``func.func``,
and a private one per ``scan`` body)."""

from __future__ import annotations

from typing import Mapping, Sequence

from ..dialects import OPS, create, to_mlir_type
from ..dialects._bindings import ir
from ..errors import ArgumentError
from .graph import Subgraph, Variable, toposort

__all__ = ["emit_function", "UPDATES"]

UPDATES = "tir.updates"  # function attribute: the input each result updates in place (-1: none)


def _location(node_loc: object) -> ir.Location:
    if node_loc is None:
        return ir.Location.unknown()
    filename, line = node_loc[0], node_loc[1]  # type: ignore[index]
    return ir.Location.file(filename, line, 0)


def emit_function(
    module: ir.Module,
    name: str,
    inputs: Sequence[Variable],
    outputs: Sequence[Variable],
    updates: Mapping[int, int] | None = None,
) -> ir.Operation:
    """Append ``func.func @name(inputs) -> outputs`` to ``module`` (in its context).

    ``updates`` maps output indices to input indices: those outputs are new
    values of those inputs (shared variables), recorded in the function's
    ``tir.updates`` attribute (one input index per result, -1 for a plain
    result) for ``tir-entry-abi`` to write them in place.
    """
    with ir.InsertionPoint(module.body):
        fn = _function(name, inputs, outputs, "public")
        if updates:
            fn.attributes[UPDATES] = ir.DenseI64ArrayAttr.get([updates.get(k, -1) for k in range(len(outputs))])
    _fill(fn, inputs, outputs, {})
    return fn.operation


def _function(name: str, inputs: Sequence[Variable], outputs: Sequence[Variable], visibility: str) -> ir.Operation:
    from mlir.dialects import func

    arg_types = [to_mlir_type(v.type) for v in inputs]
    res_types = [to_mlir_type(v.type) for v in outputs]
    fn = func.FuncOp(name, ir.FunctionType.get(arg_types, res_types))
    fn.attributes["sym_visibility"] = ir.StringAttr.get(visibility)
    fn.add_entry_block()
    return fn


def _fill(fn: ir.Operation, inputs: Sequence[Variable], outputs: Sequence[Variable], bodies: dict[int, str]) -> None:
    """Emit the graph from ``inputs`` to ``outputs`` into ``fn``'s entry block.

    The body of a ``scan`` node becomes a private function placed before
    ``fn`` (once per body: ``bodies`` maps emitted bodies to their names).
    """
    from mlir.dialects import func

    block = fn.regions[0].blocks[0]
    values: dict[int, ir.Value] = {}
    for v, arg in zip(inputs, block.arguments):
        values[v.id] = arg
    input_ids = {v.id for v in inputs}
    with ir.InsertionPoint(block):
        for node in toposort(outputs, input_ids):
            if node.outputs and all(o.id in input_ids for o in node.outputs):
                continue  # an input that happens to be an op result (givens)
            operands = []
            for v in node.inputs:
                if v.id not in values:
                    raise ArgumentError(
                        f"the graph reads {v!r}, which is neither an input of the function "
                        "nor computed from one; pass it as an input"
                    )
                operands.append(values[v.id])
            attrs = node.attrs
            if node.op == "scan":
                attrs = dict(attrs, body=_body(fn, attrs["body"], bodies))
            with _location(node.loc):
                op = create(OPS[node.op], operands, attrs, [o.type for o in node.outputs])
            for out, res in zip(node.outputs, op.results):
                values[out.id] = res
        for v in outputs:
            if v.id not in values:
                raise ArgumentError(f"the output {v!r} does not depend on the inputs given")
        func.ReturnOp([values[v.id] for v in outputs])


def _body(user: ir.Operation, body: Subgraph, bodies: dict[int, str]) -> str:
    """The symbol of ``body``'s function, emitted before ``user`` on first use."""
    if body.id in bodies:
        return bodies[body.id]
    taken = {ir.StringAttr(op.attributes["sym_name"]).value for op in _functions(user)}
    base = ir.StringAttr(user.attributes["sym_name"]).value + "_" + body.name
    name = base
    k = 1
    while name in taken:
        name = f"{base}_{k}"
        k += 1
    with ir.InsertionPoint(user), user.location:
        fn = _function(name, body.inputs, body.outputs, "private")
    bodies[body.id] = name
    _fill(fn, body.inputs, body.outputs, bodies)
    return name


def _functions(op: ir.Operation) -> list[ir.Operation]:
    block = op.operation.block
    return [view.operation for view in block.operations if view.operation.name == "func.func"]
