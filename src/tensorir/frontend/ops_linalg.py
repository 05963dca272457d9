"""NumPy-named linear algebra: matmul, dot."""

from __future__ import annotations

__all__: list[str] = []
