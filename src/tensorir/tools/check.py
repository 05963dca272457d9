"""tir ops against their type rules: the part of verification IRDL cannot do.

The IRDL definition of tir (generated from the op table) checks operand and
attribute names only; the result type of a tir op is given by the op's type
rule (``OpDef.infer``). :func:`check_tir_types` recomputes every tir op's
result types from its operand types and attributes and rejects an op whose
declared result disagrees in dtype, rank or a static dim. A free dim (``?``)
agrees with anything, as in the traced IR a free dim may be one the type
rule knows statically and the other way round.

A ``tir.scan`` has no type rule of its own (its per-step outputs are typed
by its body); it is checked against the function it names: the body takes
(carries, one slice of each sequence, constants) and returns (carries,
per-step outputs), the scan's results are the carries and the outputs
stacked along a new leading axis, and the number of steps, when given as
an operand, is an ``index``.
"""

from __future__ import annotations

from typing import NoReturn

from ..dialects import OPS, from_mlir_type, op_attrs, to_mlir_type
from ..dialects._bindings import ir, walk
from ..dialects.control import scan_result_types, types_agree
from ..dialects.types import TensorType
from ..errors import IRError, TensorIRError
from .diagnostics import format_location

__all__ = ["check_tir_types"]


def check_tir_types(module_op: ir.Operation) -> None:
    """Raise :class:`IRError` at the first tir op whose result types its type
    rule does not give (message: ``file:line:col: error: ...``)."""
    for op in walk(module_op):
        if op.name.startswith("tir."):
            _check(op)


def _check(op: ir.Operation) -> None:
    opdef = OPS.get(op.name[4:])
    if opdef is None:  # IRDL rejects unknown tir ops already at parse time
        _fail(op, f"'{op.name}' is not a tir op")
    missing = [name for name in opdef.attrs if name not in op.attributes]
    if missing:
        _fail(op, f"'{op.name}' needs attribute(s) {', '.join(missing)}")
    try:
        if op.name == "tir.scan":  # typed by its body function
            expected = scan_result_types(op)
        else:
            attrs = op_attrs(op, opdef)
            operand_types = [from_mlir_type(v.type) for v in op.operands]
            expected = opdef.result_types(operand_types, attrs)
    except (TensorIRError, TypeError, ValueError) as exc:
        _fail(op, f"'{op.name}' rejects its operands ({_types(op.operands)}): {exc}")
    if len(expected) != len(op.results):
        _fail(op, f"'{op.name}' has {len(op.results)} result(s), its type rule gives {len(expected)}")
    for i, (result, want) in enumerate(zip(op.results, expected)):
        if not _agrees(result.type, want):
            _fail(
                op,
                f"'{op.name}' result {i} has type {result.type}, but its type rule gives "
                f"{to_mlir_type(want)} for operand types ({_types(op.operands)})",
            )


def _agrees(declared: ir.Type, want: TensorType) -> bool:
    try:
        have = from_mlir_type(declared)
    except TypeError:
        return False
    return types_agree(have, want)


def _types(values: object) -> str:
    return ", ".join(str(v.type) for v in values)  # type: ignore[attr-defined]


def _fail(op: ir.Operation, message: str) -> NoReturn:
    where = format_location(op.location)
    raise IRError(f"{where}: error: {message}" if where else f"error: {message}")
