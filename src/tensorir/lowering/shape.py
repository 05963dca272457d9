"""Lowering of shape ops and value constructors to tensor/arith/linalg."""

from __future__ import annotations

from typing import Callable

from ..dialects._bindings import ir
from .common import empty, fill, index_const, scalar_const

__all__ = ["RULES"]


def _attrs(op: ir.Operation) -> dict:
    from ..dialects import op_attrs, opdef_of

    return op_attrs(op, opdef_of(op))


def _constant(op: ir.Operation) -> list[ir.Value]:
    from mlir.dialects import arith

    return [arith.ConstantOp(op.results[0].type, op.attributes["value"]).result]


def _dim(op: ir.Operation) -> list[ir.Value]:
    from mlir.dialects import tensor

    return [tensor.dim(op.operands[0], index_const(_attrs(op)["axis"]))]


def _full(op: ir.Operation) -> list[ir.Value]:
    attrs = _attrs(op)
    rt = op.results[0].type
    dims = iter(op.operands)
    sizes = [next(dims) if d == -1 else d for d in attrs["shape"]]
    return [fill(scalar_const(rt.element_type, attrs["value"]), empty(sizes, rt.element_type))]


RULES: dict[str, Callable[[ir.Operation], list[ir.Value]]] = {
    "constant": _constant,
    "dim": _dim,
    "full": _full,
}
