"""Linear algebra ops: matmul (matrix-matrix, matrix-vector, batched)."""

from __future__ import annotations

from .optable import OpDef

__all__ = ["OPS"]

OPS: list[OpDef] = []
