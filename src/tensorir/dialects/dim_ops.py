"""Index arithmetic shared by the type rules and the lowering of shape ops.

Slice bounds, integer indices, inferred reshape dims and arange lengths are
written once over a :class:`DimOps` algebra: the type rules run it on
``int | Sym`` dims (:data:`SYM_OPS`), the lowering on ``index`` SSA values
(``lowering.shape.IndexOps``), so the result shape a rule promises is the
one the lowered code computes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Generic, Sequence, TypeVar

from ..errors import ShapeError
from .types import Dim, Sym, ceildiv, dim_max, dim_min

__all__ = ["DimOps", "SYM_OPS", "slice_axis", "index_axis", "reshape_dims", "arange_length"]

D = TypeVar("D")


# ---------------------------------------------------------------------------
# Index arithmetic shared by type rules and lowering


class DimOps(ABC, Generic[D]):
    """Integer operations over dims of kind ``D``; ints are always accepted.

    Subclasses implement them for ``int | Sym`` (type rules) and for
    ``index`` SSA values (lowering). Every operation folds when both
    arguments are Python ints.
    """

    @abstractmethod
    def add(self, a: "D | int", b: "D | int") -> "D | int": ...

    @abstractmethod
    def sub(self, a: "D | int", b: "D | int") -> "D | int": ...

    @abstractmethod
    def mul(self, a: "D | int", b: "D | int") -> "D | int": ...

    @abstractmethod
    def floordiv(self, a: "D | int", b: "D | int") -> "D | int": ...

    @abstractmethod
    def ceildiv(self, a: "D | int", b: "D | int") -> "D | int": ...

    @abstractmethod
    def min(self, a: "D | int", b: "D | int") -> "D | int": ...

    @abstractmethod
    def max(self, a: "D | int", b: "D | int") -> "D | int": ...


class _SymOps(DimOps[Sym]):
    """:class:`DimOps` on ``int | Sym`` (folds through Sym's own simplifications)."""

    def add(self, a: Dim, b: Dim) -> Dim:
        return a + b  # type: ignore[operator,return-value]

    def sub(self, a: Dim, b: Dim) -> Dim:
        return a - b  # type: ignore[operator,return-value]

    def mul(self, a: Dim, b: Dim) -> Dim:
        return a * b  # type: ignore[operator,return-value]

    def floordiv(self, a: Dim, b: Dim) -> Dim:
        return a // b  # type: ignore[operator,return-value]

    def ceildiv(self, a: Dim, b: Dim) -> Dim:
        return ceildiv(a, b)

    def min(self, a: Dim, b: Dim) -> Dim:
        return dim_min(a, b)

    def max(self, a: Dim, b: Dim) -> Dim:
        return dim_max(a, b)


SYM_OPS: DimOps[Any] = _SymOps()


def _clamp_index(i: int, n: Any, lower: int, upper: Any, ops: DimOps[Any]) -> Any:
    """Python's normalisation of a slice bound ``i`` on an axis of size ``n``.

    A negative bound counts from the end (``n + i``) and is clamped below at
    ``lower``; a non-negative one is clamped above at ``upper``.
    """
    if i < 0:
        return ops.max(ops.add(n, i), lower)
    if i == 0 and lower == 0:
        return 0
    return ops.min(i, upper)


def slice_axis(n: Any, start: int | None, stop: int | None, step: int, ops: DimOps[Any]) -> tuple[Any, Any]:
    """(first index, length) of ``range(n)[start:stop:step]``, as ``slice.indices``.

    ``step`` is a non-zero int; ``n`` and the results are dims of ``ops``.
    Element ``k`` of the slice is element ``first + k * step`` of the axis.
    """
    if step == 0:
        raise ShapeError("slice step cannot be zero")
    if step > 0:
        lo = 0 if start is None else _clamp_index(start, n, 0, n, ops)
        hi = n if stop is None else _clamp_index(stop, n, 0, n, ops)
        size = ops.ceildiv(ops.sub(hi, lo), step)
        # 0 <= lo <= hi = n, or lo = 0 <= hi: the length cannot be negative
        if not (start is None or stop is None):
            size = ops.max(size, 0)
        return lo, size
    last = ops.sub(n, 1)
    lo = last if start is None else _clamp_index(start, n, -1, last, ops)
    hi = -1 if stop is None else _clamp_index(stop, n, -1, last, ops)
    size = ops.ceildiv(ops.sub(lo, hi), -step)
    if not (start is None or stop is None):
        size = ops.max(size, 0)
    return lo, size


def index_axis(n: Any, i: int, ops: DimOps[Any]) -> Any:
    """Position of integer index ``i`` (negative counts from the end) on an axis of size ``n``."""
    return i if i >= 0 else ops.add(n, i)


def reshape_dims(
    total: Any, shape: Sequence[Any | None], ops: DimOps[Any]
) -> list[Any]:
    """``shape`` with its ``None`` entry (NumPy's ``-1``) replaced by the inferred dim.

    The inferred dim is ``total // prod(known dims)``; a zero product infers
    0 instead of dividing by zero (the size check then decides).
    """
    known: Any = 1
    for d in shape:
        if d is not None:
            known = ops.mul(known, d)
    out: list[Any] = []
    for d in shape:
        out.append(ops.floordiv(total, ops.max(known, 1)) if d is None else d)
    return out


def arange_length(stop: Any, start: int, step: int, ops: DimOps[Any]) -> Any:
    """``len(range(start, stop, step))`` for a non-negative ``stop`` dim."""
    if step > 0:
        size = ops.ceildiv(ops.sub(stop, start), step)
        return size if start <= 0 else ops.max(size, 0)
    return ops.max(ops.ceildiv(ops.sub(start, stop), -step), 0)
