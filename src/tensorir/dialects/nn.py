"""Composite ops that stability rewrites target: softmax, log_softmax, logsumexp."""

from __future__ import annotations

from .optable import OpDef

__all__ = ["OPS"]

OPS: list[OpDef] = []
