"""``tensorir.nn``: activation functions and the softmax family."""

from __future__ import annotations

from typing import Any

from . import ops_elementwise as ew
from .core import as_variable
from .graph import Variable

__all__ = ["sigmoid", "softplus", "relu"]

sigmoid = ew.sigmoid
softplus = ew.softplus


def relu(x: Any) -> Variable:
    """``max(x, 0)``; its gradient at 0 is 0."""
    v = as_variable(x)
    return ew.maximum(v, 0)
