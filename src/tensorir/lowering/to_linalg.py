"""The ``tir-to-linalg`` pass: every tir op becomes linalg/tensor/arith/math.

Takes in: any tir op of the op table. Leaves: no tir op; destination-style
linalg on tensors, ``tensor.empty`` for fresh results, ``arith.constant``
for constants. Lowering rules are keyed by op name in per-family modules
and gathered here explicitly.
"""

from __future__ import annotations

from typing import Callable

from ..dialects import OPS, gather_rules
from ..dialects._bindings import ir, walk
from ..errors import CompileError
from . import elementwise, linalg, nn, reduce, shape

__all__ = ["RULES", "tir_to_linalg"]

Rule = Callable[[ir.Operation], list[ir.Value]]


RULES: dict[str, Rule] = gather_rules(
    "lowering", elementwise.RULES, reduce.RULES, linalg.RULES, nn.RULES, shape.RULES
)


def tir_to_linalg(module_op: ir.Operation) -> None:
    """Replace every tir op under ``module_op`` by its lowering."""
    for op in walk(module_op):
        if not op.name.startswith("tir."):
            continue
        name = op.name[4:]
        rule = RULES.get(name)
        if rule is None:
            if OPS.get(name) is not None and OPS[name].family == "autodiff":
                raise CompileError(
                    f"tir.{name} is a differentiation marker and has no lowering: "
                    "run the tir-autodiff pass before tir-to-linalg"
                )
            if name == "scan":
                raise CompileError("tir.scan is lowered to a loop by tir-scan-to-loop, which must run before tir-to-linalg")
            raise CompileError(f"tir.{name} has no lowering to linalg")
        with ir.InsertionPoint(op), op.location:
            new = rule(op)
        for old, value in zip(op.results, new):
            old.replace_all_uses_with(value)
        op.erase()
