"""``tir-dce``: drop tir ops whose results nobody reads.

Takes in and leaves: any IR. Only tir ops are removed (they have no side
effects); upstream ops are left to upstream passes. Runs to a fixed point,
so a whole dead chain goes at once.
"""

from __future__ import annotations

from ..dialects._bindings import ir, walk


def tir_dce(module_op: ir.Operation) -> None:
    changed = True
    while changed:
        changed = False
        for op in reversed(walk(module_op)):
            if op.name.startswith("tir.") and all(_unused(r) for r in op.results):
                op.erase()
                changed = True


def _unused(value: ir.Value) -> bool:
    for _ in value.uses:
        return False
    return True
