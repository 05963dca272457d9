"""Lowering of the softmax family."""

from __future__ import annotations

from typing import Callable

from ..dialects._bindings import ir

__all__ = ["RULES"]

RULES: dict[str, Callable[[ir.Operation], list[ir.Value]]] = {}
