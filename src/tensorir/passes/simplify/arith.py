"""Arithmetic identities of ``tir-simplify``: one small function per identity.

Each function takes the matched op and returns its replacement (built at the
op, see ``passes/rewrite.py``) or ``None``; its name and docstring say the
identity. The table that names them, and the exactness policy they follow,
are in ``simplify/__init__.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...dialects._bindings import ir
from ..autodiff.builder import E, const, dims, full
from ..autodiff.builder import op as build
from ..rewrite import attrs, dtype_of, is_float, producer, result_type, splat

__all__ = ["fit", "filled_like", "is_constant"]


# ---------------------------------------------------------------------------
# Helpers


def fit(op: ir.Operation, x: ir.Value, shaped_by: ir.Value | None = None) -> Any:
    """``x`` as the value of ``op``'s result: ``x`` itself when the types
    agree, else ``x`` broadcast as ``shaped_by`` (a ``broadcast_to`` of the
    result's type) is; ``None`` when neither works."""
    t = op.results[0].type
    if x.type == t:
        return x
    b = producer(shaped_by, "broadcast_to") if shaped_by is not None else None
    if b is None or shaped_by.type != t:  # type: ignore[union-attr]
        return None
    spec = attrs(b)["shape"]
    extents = list(b.operands)[1:]
    if result_type("broadcast_to", [x, *extents], shape=spec) != t:
        return None
    return build("broadcast_to", E(x), *extents, shape=spec)


def filled_like(op: ir.Operation, value: float, *candidates: ir.Value) -> Any:
    """An array of ``op``'s result type filled with ``value``: a candidate of
    that type if it is such a splat, else ``full`` with the dims of a
    candidate of the result's shape; ``None`` if no candidate has it."""
    t = ir.RankedTensorType(op.results[0].type)
    for c in candidates:
        if c.type == t and splat(c) == value and _same_sign(splat(c), value):
            return c
    dtype = dtype_of(op.results[0])
    if t.has_static_shape:
        return full(list(t.shape), dtype, value)
    for c in candidates:
        ct = c.type
        if isinstance(ct, ir.RankedTensorType) and list(ct.shape) == list(t.shape):
            return full(dims(E(c)), dtype, value)
    return None


def _same_sign(a: Any, b: Any) -> bool:
    return math.copysign(1.0, float(a)) == math.copysign(1.0, float(b))


def is_constant(value: ir.Value) -> bool:
    """A compile-time constant: ``tir.constant`` or ``tir.full``, seen through layout ops."""
    op = producer(value)
    while op is not None and op.name in ("tir.broadcast_to", "tir.expand_dims", "tir.squeeze",
                                         "tir.reshape", "tir.transpose"):
        op = producer(op.operands[0])
    return op is not None and op.name in ("tir.constant", "tir.full")


def _is_minus_zero(v: Any) -> bool:
    return isinstance(v, float) and v == 0.0 and math.copysign(1.0, v) < 0


def _is_plus_zero(v: Any) -> bool:
    return isinstance(v, float) and v == 0.0 and math.copysign(1.0, v) > 0


def _neg_operand(v: ir.Value) -> ir.Value | None:
    n = producer(v, "neg")
    return n.operands[0] if n is not None else None


def _same(op: ir.Operation, name: str, *operands: ir.Value) -> Any:
    """``tir.name(operands)`` when it has ``op``'s result type, else ``None``."""
    if result_type(name, list(operands)) != op.results[0].type:
        return None
    return build(name, *(E(v) for v in operands))


# ---------------------------------------------------------------------------
# Units and zeros


def x_mul_one(op: ir.Operation) -> Any:
    """x * 1 -> x"""
    x, c = op.operands
    return fit(op, x, c) if splat(c) == 1 else None


def x_div_one(op: ir.Operation) -> Any:
    """x / 1 -> x"""
    x, c = op.operands
    return fit(op, x, c) if splat(c) == 1 else None


def x_add_zero(op: ir.Operation) -> Any:
    """x + 0 -> x (ints); x + (-0.0) -> x (floats: -0.0 + +0.0 is +0.0)"""
    x, c = op.operands
    v = splat(c)
    ok = _is_minus_zero(v) if is_float(x) else v == 0
    return fit(op, x, c) if ok else None


def x_sub_zero(op: ir.Operation) -> Any:
    """x - 0 -> x (ints); x - (+0.0) -> x (floats)"""
    x, c = op.operands
    v = splat(c)
    ok = _is_plus_zero(v) if is_float(x) else v == 0
    return fit(op, x, c) if ok else None


def x_mul_zero(op: ir.Operation) -> Any:
    """x * 0 -> 0 (ints only: inf * 0 and NaN * 0 are NaN)"""
    x, c = op.operands
    if is_float(x) or splat(c) != 0:
        return None
    return filled_like(op, 0, c, x)


def x_sub_x(op: ir.Operation) -> Any:
    """x - x -> 0 (ints only: inf - inf and NaN - NaN are NaN)"""
    x, y = op.operands
    if x != y or is_float(x):
        return None
    return filled_like(op, 0, x)


def x_div_power_of_two(op: ir.Operation) -> Any:
    """x / 2**k -> x * 2**-k (both are x * 2**-k rounded once; 2**k and 2**-k normal)"""
    x, c = op.operands
    v = splat(c)
    if not isinstance(v, float) or not math.isfinite(v) or v == 0 or math.frexp(abs(v))[0] != 0.5:
        return None
    info = np.finfo(dtype_of(x))
    inv = 1.0 / v
    if not (info.tiny <= abs(v) <= info.max and info.tiny <= abs(inv) <= info.max):
        return None
    if ir.RankedTensorType(c.type).rank != 0:
        return None
    return _same(op, "mul", x, const(inv, dtype_of(x)).value)


def mul_nonan_nonzero_mask(op: ir.Operation) -> Any:
    """mul_nonan(c, y) -> c * y when the splat c is not 0 (nothing is masked)"""
    c, y = op.operands
    v = splat(c)
    if v is None or v == 0:
        return None
    return _same(op, "mul", c, y)


def mul_nonan_by_one(op: ir.Operation) -> Any:
    """mul_nonan(g, 1) -> g + 0.0 (the mask turns -0.0 into +0.0; g + 0.0 does the same)"""
    g, c = op.operands
    if splat(c) != 1 or g.type != op.results[0].type:
        return None
    return E(g) + 0.0


# ---------------------------------------------------------------------------
# Negation: tir.neg is the one negation; it moves out of products and into
# additions (x + -y is x - y)


def neg_neg(op: ir.Operation) -> Any:
    """-(-x) -> x"""
    return _neg_operand(op.operands[0])


def x_mul_minus_one(op: ir.Operation) -> Any:
    """x * -1 -> -x"""
    x, c = op.operands
    if splat(c) != -1 or x.type != op.results[0].type:
        return None
    return -E(x)


def minus_zero_sub_x(op: ir.Operation) -> Any:
    """(-0.0) - x -> -x (floats: +0.0 - x is +0.0 for x = +0.0); 0 - x -> -x (ints)"""
    c, x = op.operands
    v = splat(c)
    ok = _is_minus_zero(v) if is_float(x) else v == 0
    if not ok or x.type != op.results[0].type:
        return None
    return -E(x)


def x_sub_neg_y(op: ir.Operation) -> Any:
    """x - (-y) -> x + y"""
    x, n = op.operands
    y = _neg_operand(n)
    return _same(op, "add", x, y) if y is not None else None


def x_add_neg_y(op: ir.Operation) -> Any:
    """x + (-y) -> x - y"""
    x, n = op.operands
    y = _neg_operand(n)
    return _same(op, "sub", x, y) if y is not None else None


def neg_x_add_y(op: ir.Operation) -> Any:
    """(-x) + y -> y - x"""
    n, y = op.operands
    x = _neg_operand(n)
    if x is None or _neg_operand(y) is not None:  # (-x) + (-y): x_add_neg_y first
        return None
    return _same(op, "sub", y, x)


def neg_x_mul_neg_y(op: ir.Operation) -> Any:
    """(-x) * (-y) -> x * y"""
    x, y = (_neg_operand(v) for v in op.operands)
    return _same(op, "mul", x, y) if x is not None and y is not None else None


def neg_x_div_neg_y(op: ir.Operation) -> Any:
    """(-x) / (-y) -> x / y"""
    x, y = (_neg_operand(v) for v in op.operands)
    return _same(op, "div", x, y) if x is not None and y is not None else None


def abs_abs(op: ir.Operation) -> Any:
    """|(|x|)| -> |x|"""
    inner = producer(op.operands[0], "abs")
    return inner.results[0] if inner is not None else None


def abs_neg(op: ir.Operation) -> Any:
    """|-x| -> |x|"""
    x = _neg_operand(op.operands[0])
    return _same(op, "abs", x) if x is not None else None


# ---------------------------------------------------------------------------
# Constants to the right: c (op) x -> x (op') c for commutative ops and flipped comparisons

FLIPPED = {"add": "add", "mul": "mul", "eq": "eq", "ne": "ne", "and": "and", "or": "or", "xor": "xor",
           "maximum": None, "minimum": None,  # np.maximum(0.0, -0.0) is 0.0 but np.maximum(-0.0, 0.0) is -0.0
           "lt": "gt", "gt": "lt", "le": "ge", "ge": "le"}
COMMUTING = tuple("tir." + k for k, v in FLIPPED.items() if v is not None)


def constant_to_right(op: ir.Operation) -> Any:
    """c + x -> x + c, c * x -> x * c, c < x -> x > c, ... (c a constant, x not)"""
    a, b = op.operands
    if not is_constant(a) or is_constant(b):
        return None
    return _same(op, FLIPPED[op.name[4:]], b, a)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Powers with a constant exponent


def pow_zero(op: ir.Operation) -> Any:
    """x ** 0 -> 1 (also for x = 0, inf and NaN)"""
    x, e = op.operands
    return filled_like(op, 1, x, e) if splat(e) == 0 else None


def pow_one(op: ir.Operation) -> Any:
    """x ** 1 -> x"""
    x, e = op.operands
    return fit(op, x, e) if splat(e) == 1 else None


def pow_two(op: ir.Operation) -> Any:
    """x ** 2 -> x * x (pow is correctly rounded here, as the product is)"""
    x, e = op.operands
    if splat(e) != 2 or x.type != op.results[0].type:
        return None
    return E(x) * E(x)


def pow_minus_one(op: ir.Operation) -> Any:
    """x ** -1 -> 1 / x (floats; integer x ** -1 is 0 for |x| > 1)"""
    x, e = op.operands
    if not is_float(x) or splat(e) != -1 or x.type != op.results[0].type:
        return None
    return 1.0 / E(x)


def pow_half(op: ir.Operation) -> Any:
    """x ** 0.5 -> sqrt(x) (a 0-d exponent, where NumPy itself computes sqrt: -0.0 -> -0.0, -inf -> NaN)"""
    x, e = op.operands
    if not is_float(x) or ir.RankedTensorType(e.type).rank != 0 or splat(e) != 0.5:
        return None
    return _same(op, "sqrt", x)


# ---------------------------------------------------------------------------
# Logarithms, selects, casts


def log_exp(op: ir.Operation) -> Any:
    """log(exp(x)) -> x (more accurate: exp(x) rounds, overflows for x > ~88 (f32) / ~709 (f64))"""
    inner = producer(op.operands[0], "exp")
    return inner.operands[0] if inner is not None else None


def select_same(op: ir.Operation) -> Any:
    """select(c, x, x) -> x"""
    _, a, b = op.operands
    return a if a == b and a.type == op.results[0].type else None


def select_not(op: ir.Operation) -> Any:
    """select(not c, a, b) -> select(c, b, a)"""
    n, a, b = op.operands
    inner = producer(n, "not")
    if inner is None:
        return None
    return _same(op, "select", inner.operands[0], b, a)


def select_constant(op: ir.Operation) -> Any:
    """select(True, a, b) -> a; select(False, a, b) -> b"""
    c, a, b = op.operands
    v = splat(c)
    if v is None:
        return None
    taken = a if v else b
    return taken if taken.type == op.results[0].type else None


def cast_same(op: ir.Operation) -> Any:
    """cast(x, dtype of x) -> x"""
    x = op.operands[0]
    return x if x.type == op.results[0].type else None


# (from, to): every value of `from` is exactly a value of `to`
LOSSLESS = {("bool", t) for t in ("int32", "int64", "float32", "float64")} | {
    ("int32", "int64"), ("int32", "float64"), ("float32", "float64"),
}


def cast_lossless_cast(op: ir.Operation) -> Any:
    """cast(cast(x, T1), T2) -> cast(x, T2) when T1 holds every value of x's dtype exactly (x when T2 is x's)"""
    inner = producer(op.operands[0], "cast")
    if inner is None:
        return None
    x = inner.operands[0]
    if (dtype_of(x), dtype_of(inner.results[0])) not in LOSSLESS:
        return None
    if x.type == op.results[0].type:
        return x
    return build("cast", E(x), dtype=dtype_of(op.results[0]))
