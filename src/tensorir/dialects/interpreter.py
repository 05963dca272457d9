"""A NumPy reference interpreter of tir IR: the oracle for compiled results.

It evaluates a ``func.func`` of tir ops op by op with each op's reference
implementation from the op table, so it shares no code with the lowering.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import OPS, op_attrs
from ._bindings import ir
from .control import is_private, scan_body, scan_layout
from .optable import element_dtype

__all__ = ["interpret", "find_function", "run_scan"]


def find_function(module: ir.Module, name: str | None = None) -> ir.Operation:
    """The named ``func.func`` of ``module``, or its first public one (scan
    bodies are private functions placed before their users)."""
    for view in module.body.operations:
        op = view.operation
        if op.name != "func.func":
            continue
        sym = ir.StringAttr(op.attributes["sym_name"]).value
        if name is not None and sym == name:
            return op
        if name is None and not is_private(op):
            return op
    raise KeyError(f"no function {name!r} in the module" if name else "no public function in the module")


def _to_numpy(value: Any, t: ir.Type) -> Any:
    if isinstance(t, ir.IndexType):
        return int(value)
    dtype = element_dtype(t.element_type)
    return np.asarray(value).astype(dtype, copy=False)


def interpret(module: ir.Module, args: Sequence[Any], name: str | None = None) -> list[Any]:
    """Run function ``name`` of a tir module on NumPy arrays; returns its results."""
    fn = find_function(module, name)
    block = fn.regions[0].blocks[0]
    if len(block.arguments) != len(args):
        raise ValueError(f"the function takes {len(block.arguments)} arguments, {len(args)} given")
    env: dict[Any, Any] = {}
    for arg, value in zip(block.arguments, args):
        env[arg] = _to_numpy(value, arg.type)
    return _run_block(block, env, module)


def _run_block(block: ir.Block, env: dict[Any, Any], module: ir.Module) -> list[Any]:
    for view in block.operations:
        op = view.operation
        name = op.name
        if name == "func.return":
            return [env[v] for v in op.operands]
        if name == "func.call":
            callee = ir.FlatSymbolRefAttr(op.attributes["callee"]).value
            results = interpret(module, [env[v] for v in op.operands], callee)
        elif name == "tir.scan":
            results = run_scan(module, op, [env[v] for v in op.operands])
        elif name.startswith("tir."):
            opdef = OPS[name[4:]]
            operands = [env[v] for v in op.operands]
            out = opdef.reference(*operands, **op_attrs(op, opdef))
            results = list(out) if opdef.multi_result else [out]
        else:
            raise NotImplementedError(f"the reference interpreter does not run {name}")
        for res, value in zip(op.results, results):
            env[res] = _to_numpy(value, res.type)
    raise ValueError("function body has no func.return")


def run_scan(module: ir.Module, op: ir.Operation, operands: Sequence[Any]) -> list[Any]:
    """Evaluate ``tir.scan`` (see ``dialects/control.py``): its body, step by step."""
    layout = scan_layout(op)
    body = ir.StringAttr(scan_body(op).attributes["sym_name"]).value
    carry = list(operands[layout.carry])
    xs = [np.asarray(x) for x in operands[layout.xs]]
    consts = list(operands[layout.consts])
    if xs:
        n = xs[0].shape[0]
        for k, x in enumerate(xs):
            if x.shape[0] != n:
                raise ValueError(f"tir.scan: sequence {k} has length {x.shape[0]}, sequence 0 has {n}")
    else:
        n = int(operands[0]) if layout.has_n else layout.length
    ys_types = [r.type for r in list(op.results)[layout.ys]]
    steps: list[list[Any]] = [[] for _ in ys_types]
    order = range(n - 1, -1, -1) if layout.reverse else range(n)
    for t in order:
        out = interpret(module, carry + [x[t] for x in xs] + consts, body)
        carry = out[: layout.num_carry]
        for k, y in enumerate(out[layout.num_carry:]):
            steps[k].append(y)
    if layout.reverse:
        for s in steps:
            s.reverse()
    ys = []
    for k, t in enumerate(ys_types):
        dtype = element_dtype(t.element_type)
        if steps[k]:
            ys.append(np.stack([np.asarray(y, dtype=dtype) for y in steps[k]]))
        else:  # no step ran: an empty stack; the other dims are those the type knows
            shape = [0] + [0 if t.is_dynamic_dim(i) else int(t.shape[i]) for i in range(1, t.rank)]
            ys.append(np.zeros(shape, dtype=dtype))
    return carry + ys
