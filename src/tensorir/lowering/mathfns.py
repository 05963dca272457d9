"""Transcendental functions as scalar IR, one emitter per function.

Each takes a float scalar ``ir.Value`` (f32 or f64) and returns one built
from ``arith``/``math`` ops at the current insertion point.
"""

from __future__ import annotations

from ..dialects._bindings import ir
from .common import scalar_const

__all__ = ["exp", "log", "log1p", "expm1", "tanh", "sigmoid", "softplus", "erf", "pow"]


def _m():
    from mlir.dialects import math

    return math


def _a():
    from mlir.dialects import arith

    return arith


def exp(x: ir.Value) -> ir.Value:
    return _m().exp(x)


def log(x: ir.Value) -> ir.Value:
    return _m().log(x)


def log1p(x: ir.Value) -> ir.Value:
    return _m().log1p(x)


def expm1(x: ir.Value) -> ir.Value:
    return _m().expm1(x)


def tanh(x: ir.Value) -> ir.Value:
    return _m().tanh(x)


def erf(x: ir.Value) -> ir.Value:
    return _m().erf(x)


def pow(x: ir.Value, y: ir.Value) -> ir.Value:  # noqa: A001
    return _m().powf(x, y)


def sigmoid(x: ir.Value) -> ir.Value:
    """1 / (1 + exp(-x)) for x >= 0, exp(x) / (1 + exp(x)) below: no overflow."""
    arith = _a()
    one = scalar_const(x.type, 1.0)
    e = exp(arith.negf(_m().absf(x)))
    denom = arith.addf(one, e)
    pos = arith.divf(one, denom)
    neg = arith.divf(e, denom)
    nonneg = arith.cmpf(arith.CmpFPredicate.UGE, x, scalar_const(x.type, 0.0))
    return arith.select(nonneg, pos, neg)


def softplus(x: ir.Value) -> ir.Value:
    """max(x, 0) + log1p(exp(-|x|)): exact for large |x|, no overflow."""
    arith = _a()
    zero = scalar_const(x.type, 0.0)
    tail = log1p(exp(arith.negf(_m().absf(x))))
    return arith.addf(arith.maximumf(x, zero), tail)
