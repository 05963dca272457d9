"""The tir dialect: its op table, IRDL definition, contexts and builders.

:data:`OPS` is the single source of truth about tir ops; the IRDL dialect
loaded into every context is generated from it. Other stages key their own
tables (lowering rules, gradient rules) by the same op names, and a test
checks that no op lacks one.
"""

from __future__ import annotations

from typing import Any

from . import autodiff, control, elementwise, linalg, nn, reduce, shape
from ._bindings import ir
from .optable import OpDef, create, from_mlir_type, load_into, op_attrs, to_mlir_type
from .types import DTYPES, Dim, Sym, TensorType

__all__ = [
    "OPS",
    "OpDef",
    "new_context",
    "create",
    "op_attrs",
    "opdef_of",
    "gather_rules",
    "to_mlir_type",
    "from_mlir_type",
    "TensorType",
    "Sym",
    "Dim",
    "DTYPES",
]


def _build_table(*families: list[OpDef]) -> dict[str, OpDef]:
    table: dict[str, OpDef] = {}
    for family in families:
        for op in family:
            if op.name in table:
                raise ValueError(f"tir op {op.name!r} is defined twice")
            table[op.name] = op
    return table


OPS: dict[str, OpDef] = _build_table(
    elementwise.OPS, reduce.OPS, linalg.OPS, nn.OPS, shape.OPS, autodiff.OPS, control.OPS
)


def gather_rules(kind: str, *tables: dict[str, Any]) -> dict[str, Any]:
    """One table of per-op rules (lowering, VJP, ...) from the per-family ones;
    an op with a rule in two families is an error."""
    out: dict[str, Any] = {}
    for table in tables:
        for name, rule in table.items():
            if name in out:
                raise ValueError(f"two {kind} rules for tir.{name}")
            out[name] = rule
    return out


def new_context() -> ir.Context:
    """A fresh MLIR context with the upstream dialects and tir loaded."""
    ctx = ir.Context()
    load_into(ctx, OPS)
    return ctx


def opdef_of(op: ir.Operation) -> OpDef:
    """The table row of a tir operation (``KeyError`` for other dialects)."""
    return OPS[op.name[4:]] if op.name.startswith("tir.") else OPS[op.name]
