"""``tir-stabilize``: numerically unstable forms -> stable ops, one rule per row of :data:`STABILIZE`.

Takes in and leaves: any IR, markers included. ``fast_run`` runs it twice:
before ``tir-autodiff``, so user code is rewritten into the stable ops whose
own gradient rules are stable (``log_softmax``, ``logsumexp``, ``softplus``,
``log1p``, ``expm1``), and after ``tir-simplify``, so forms the backward
pass builds are rewritten too. Rules are rooted at ordinary tir ops and
match through :func:`~tensorir.passes.rewrite.producer`, which never sees
through a ``tir.wrt`` (its result is a ``tir.wrt``'s, not an ``exp``'s), so
no rule rewrites across a marker and no marker is touched; a rewrite between
a ``tir.wrt`` and its cost replaces the function being differentiated by an
equal, stable one.

Every rule is ``exact=False``: each replaces a computation by one that is
equal in exact arithmetic and more accurate in floats, never less (``log(1 +
x)`` loses ``x`` below 1e-16, ``log(sum(exp(x)))`` overflows at ``x =
1000``). A constant is matched by value: any 0-d or splat constant (float32
or float64) equal to 1.

The rules match both operand orders of ``+`` (this pass runs before
``tir-simplify`` moves constants to the right) and negation as ``tir.neg``,
the canonical form ``tir-simplify`` leaves (see ``passes/simplify``).
"""

from __future__ import annotations

from typing import Any

from ..dialects._bindings import ir
from .autodiff.builder import E
from .autodiff.builder import op as build
from .rewrite import Rule, RuleSet, apply_rules, attrs, is_float, producer, result_type, splat

__all__ = ["STABILIZE", "tir_stabilize"]


# ---------------------------------------------------------------------------
# Helpers


def _is_one(v: ir.Value) -> bool:
    return splat(v) == 1


def _one_plus(v: ir.Value) -> ir.Value | None:
    """``x`` when ``v`` is ``1 + x`` or ``x + 1`` with the type of ``x``."""
    add = producer(v, "add")
    if add is None:
        return None
    a, b = add.operands
    for c, x in ((a, b), (b, a)):
        if _is_one(c) and x.type == v.type and is_float(x):
            return x
    return None


def _operand_of(v: ir.Value, name: str) -> ir.Value | None:
    p = producer(v, name)
    return p.operands[0] if p is not None else None


def _unary(op: ir.Operation, name: str, x: ir.Value, **attributes: Any) -> Any:
    """``tir.name(x)`` when it has ``op``'s result type, else ``None``."""
    if result_type(name, [x], **attributes) != op.results[0].type:
        return None
    return build(name, E(x), **attributes)


# ---------------------------------------------------------------------------
# Rules


def log_one_plus(op: ir.Operation) -> Any:
    """log(1 + x) -> log1p(x); log(x + 1) -> log1p(x)"""
    x = _one_plus(op.operands[0])
    return _unary(op, "log1p", x) if x is not None else None


def exp_minus_one(op: ir.Operation) -> Any:
    """exp(x) - 1 -> expm1(x)"""
    e, c = op.operands
    x = _operand_of(e, "exp")
    if x is None or not _is_one(c) or e.type != op.results[0].type:
        return None
    return _unary(op, "expm1", x)


def log1p_exp(op: ir.Operation) -> Any:
    """log1p(exp(x)) -> softplus(x) (so log(1 + exp(x)) -> softplus(x))"""
    x = _operand_of(op.operands[0], "exp")
    return _unary(op, "softplus", x) if x is not None else None


def log_sigmoid(op: ir.Operation) -> Any:
    """log(sigmoid(x)) -> -softplus(-x)"""
    x = _operand_of(op.operands[0], "sigmoid")
    if x is None or x.type != op.results[0].type:
        return None
    return -build("softplus", -E(x))


def log_one_minus_sigmoid(op: ir.Operation) -> Any:
    """log(1 - sigmoid(x)) -> -softplus(x)"""
    sub = producer(op.operands[0], "sub")
    if sub is None or not _is_one(sub.operands[0]):
        return None
    x = _operand_of(sub.operands[1], "sigmoid")
    if x is None or x.type != op.results[0].type:
        return None
    return -build("softplus", E(x))


def one_over_one_plus_exp_neg(op: ir.Operation) -> Any:
    """1 / (1 + exp(-x)) -> sigmoid(x)"""
    c, d = op.operands
    if not _is_one(c):
        return None
    e = _one_plus(d)
    t = _operand_of(e, "exp") if e is not None else None
    x = _operand_of(t, "neg") if t is not None else None
    return _unary(op, "sigmoid", x) if x is not None else None


def log_sum_exp(op: ir.Operation) -> Any:
    """log(sum(exp(x), axes, keepdims)) -> logsumexp(x, axes, keepdims)"""
    s = producer(op.operands[0], "sum")
    if s is None:
        return None
    x = _operand_of(s.operands[0], "exp")
    if x is None:
        return None
    a = attrs(s)
    return _unary(op, "logsumexp", x, axes=list(a["axes"]), keepdims=bool(a["keepdims"]))


def log_of_softmax(op: ir.Operation) -> Any:
    """log(softmax(x, axes)) -> log_softmax(x, axes)"""
    s = producer(op.operands[0], "softmax")
    if s is None:
        return None
    return _unary(op, "log_softmax", s.operands[0], axes=list(attrs(s)["axes"]))


def exp_over_sum_exp(op: ir.Operation) -> Any:
    """exp(x) / sum(exp(x), axes, keepdims=True) -> softmax(x, axes)"""
    num, den = op.operands
    x = _operand_of(num, "exp")
    s = producer(den, "sum")
    if x is None or s is None or not attrs(s)["keepdims"]:
        return None
    if _operand_of(s.operands[0], "exp") != x:
        return None
    return _unary(op, "softmax", x, axes=list(attrs(s)["axes"]))


def sqrt_square(op: ir.Operation) -> Any:
    """sqrt(x * x) -> |x|"""
    m = producer(op.operands[0], "mul")
    if m is None or m.operands[0] != m.operands[1]:
        return None
    return _unary(op, "abs", m.operands[0])


STABILIZE = RuleSet("stabilize", (
    Rule("log_softmax", "tir.log", log_of_softmax, "log(softmax(x, axes)) -> log_softmax(x, axes)", exact=False),
    Rule("logsumexp", "tir.log", log_sum_exp,
         "log(sum(exp(x), axes, keepdims)) -> logsumexp(x, axes, keepdims)", exact=False),
    Rule("log1p", "tir.log", log_one_plus, "log(1 + x) -> log1p(x); log(x + 1) -> log1p(x)", exact=False),
    Rule("expm1", "tir.sub", exp_minus_one, "exp(x) - 1 -> expm1(x)", exact=False),
    Rule("softplus", "tir.log1p", log1p_exp, "log1p(exp(x)) -> softplus(x), so log(1 + exp(x)) -> softplus(x)",
         exact=False),
    Rule("log_sigmoid", "tir.log", log_sigmoid, "log(sigmoid(x)) -> -softplus(-x)", exact=False),
    Rule("log_one_minus_sigmoid", "tir.log", log_one_minus_sigmoid, "log(1 - sigmoid(x)) -> -softplus(x)",
         exact=False),
    Rule("sigmoid", "tir.div", one_over_one_plus_exp_neg, "1 / (1 + exp(-x)) -> sigmoid(x)", exact=False),
    Rule("softmax", "tir.div", exp_over_sum_exp, "exp(x) / sum(exp(x), axes, keepdims=True) -> softmax(x, axes)",
         exact=False),
    Rule("sqrt_square", "tir.sqrt", sqrt_square, "sqrt(x * x) -> |x|", exact=False),
))


def tir_stabilize(module_op: ir.Operation) -> None:
    apply_rules(module_op, STABILIZE)
