"""Gradient rules of matmul and outer.

For ``z = a @ b`` with both operands of rank >= 2: ``da = g @ b^T`` and
``db = a^T @ g``, summed over the batch dims an operand was broadcast along.
A 1-D operand takes part as a one-row (``a``) or one-column (``b``) matrix:
the rule puts the dropped unit axis back into the cotangent, applies the
matrix formulas and drops it again, so every form of matmul shares them.
Cotangents may carry leading batch dims (a Jacobian); ``matmul``'s own
batch broadcasting handles them.
"""

from __future__ import annotations

from typing import Sequence

from .builder import E, Site, op

__all__ = ["VJP", "JVP"]


def _matmul_vjp(s: Site, g: E) -> list[E | None]:
    a, b = s.inputs
    a2 = a if a.rank >= 2 else a.expand_dims([0])
    b2 = b if b.rank >= 2 else b.expand_dims([1])
    if b.rank == 1:
        g = g.expand_dims([g.rank])
    if a.rank == 1:
        g = g.expand_dims([g.rank - 1])
    da = db = None
    if s.needs[0]:
        da = g @ b2.swap_last()
        if a.rank == 1:
            da = da.squeeze([da.rank - 2])
    if s.needs[1]:
        db = a2.swap_last() @ g
        if b.rank == 1:
            db = db.squeeze([db.rank - 1])
    return [da, db]


def _outer_vjp(s: Site, g: E) -> list[E | None]:
    a, b = s.inputs
    return [g @ b if s.needs[0] else None, a @ g if s.needs[1] else None]


def _bilinear_jvp(s: Site, t: Sequence[E | None]) -> E | None:
    a, b = s.inputs
    parts = []
    if t[0] is not None:
        parts.append(op(s.name, t[0], b))
    if t[1] is not None:
        parts.append(op(s.name, a, t[1]))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else parts[0] + parts[1]


VJP = {"matmul": _matmul_vjp, "outer": _outer_vjp}
JVP = {"matmul": _bilinear_jvp, "outer": _bilinear_jvp}
