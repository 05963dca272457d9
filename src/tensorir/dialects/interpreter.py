"""A NumPy reference interpreter of tir IR: the oracle for compiled results.

It evaluates a ``func.func`` of tir ops op by op with each op's reference
implementation from the op table, so it shares no code with the lowering.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import OPS, op_attrs
from ._bindings import ir
from .optable import element_dtype

__all__ = ["interpret", "find_function"]


def find_function(module: ir.Module, name: str | None = None) -> ir.Operation:
    """The named (or first public) ``func.func`` of ``module``."""
    for view in module.body.operations:
        op = view.operation
        if op.name != "func.func":
            continue
        sym = ir.StringAttr(op.attributes["sym_name"]).value
        if name is None or sym == name:
            return op
    raise KeyError(f"no function {name!r} in the module")


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
        elif name.startswith("tir."):
            opdef = OPS[name[4:]]
            operands = [env[v] for v in op.operands]
            out = opdef.reference(*operands, **op_attrs(op, opdef))
            results = list(out) if opdef.num_results > 1 else [out]
        else:
            raise NotImplementedError(f"the reference interpreter does not run {name}")
        for res, value in zip(op.results, results):
            env[res] = _to_numpy(value, res.type)
    raise ValueError("function body has no func.return")
