"""NumPy-named shape functions and constructors."""

from __future__ import annotations

__all__: list[str] = []
