"""``tir-stabilize``: numerically unstable forms -> stable ops, one rule per row of :data:`STABILIZE`.

Takes in and leaves: any IR, markers included. ``fast_run`` runs it twice:
before ``tir-autodiff``, so user code is rewritten into the stable ops whose
own gradient rules are stable (``log_softmax``, ``logsumexp``, ``softplus``,
``log1p``, ``expm1``, ``sigmoid``, ``softmax``, ``logaddexp``, ``log1mexp``,
``softmax_cross_entropy``), and after ``tir-simplify``, so forms the
backward pass builds are rewritten too. Rules are rooted at ordinary tir ops and
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

The rules match both operand orders of ``+`` and ``*`` (this pass runs
before ``tir-simplify`` moves constants to the right) and negation as
``tir.neg``, the canonical form ``tir-simplify`` leaves (see
``passes/simplify``). A reduction with ``keepdims=False`` whose axes are
brought back (``lse[:, None]``, ``lse.reshape(-1, 1)``, ``broadcast_to``,
or NumPy's alignment on the right when the reduced axes lead) counts as
the ``keepdims=True`` one (see :func:`_kept_reduction`).
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


def _strip_neg(v: ir.Value) -> tuple[ir.Value, bool]:
    """``(x, True)`` when ``v`` is ``-x``, else ``(v, False)``."""
    x = _operand_of(v, "neg")
    return (x, True) if x is not None else (v, False)


def _same_shape(y: ir.Value, x: ir.Value) -> bool:
    """``y`` has ``x``'s dtype and, at run time, its shape: no axis where one
    is statically 1 and the other not (free dims are never 1, so the rest
    are equal wherever ``x * y`` is defined)."""
    tx, ty = ir.RankedTensorType(x.type), ir.RankedTensorType(y.type)
    if tx.element_type != ty.element_type or tx.rank != ty.rank:
        return False
    return all((a == 1) == (b == 1) for a, b in zip(_static_dims(x), _static_dims(y)))


def _users(v: ir.Value) -> list[str]:
    return [use.owner.name for use in v.uses]


def _static_dims(v: ir.Value) -> list[int | None]:
    t = ir.RankedTensorType(v.type)
    return [None if t.is_dynamic_dim(i) else int(t.shape[i]) for i in range(t.rank)]


def _is_dim_of(e: Any, x: ir.Value, axis: int) -> bool:
    d = producer(e, "dim") if isinstance(e, ir.Value) else None
    return d is not None and d.operands[0] == x and attrs(d)["axis"] == axis


def _reshape_inserted_axes(op: ir.Operation) -> list[int] | None:
    """The result axes a ``tir.reshape`` inserts when all it does is insert
    size-1 axes (an ``expand_dims``), else ``None``. A kept dim is a static
    equal one, ``tir.dim`` of the same axis of the operand, or the inferred
    one (which the element count then fixes)."""
    x = op.operands[0]
    src, out = _static_dims(x), _static_dims(op.results[0])
    rest = iter(list(op.operands)[1:])
    extents = [next(rest) if d == -1 else d for d in attrs(op)["shape"]]  # int, index value or None
    inserted, i = [], 0
    for j, e in enumerate(extents):
        if i < len(src) and (e is None or _is_dim_of(e, x, i) or (isinstance(e, int) and e == src[i])):
            i += 1
        elif out[j] == 1:
            inserted.append(j)
        else:
            return None
    return inserted if i == len(src) else None


def _kept_reduction(v: ir.Value, name: str, rank: int) -> ir.Operation | None:
    """The ``tir.<name>`` reduction whose result ``v`` is, once broadcast
    against its rank-``rank`` operand, with the reduced axes kept.

    ``v`` is the reduction itself with ``keepdims=True``, or one with
    ``keepdims=False`` whose axes come back through ``expand_dims``, a
    ``reshape`` that only inserts size-1 axes, ``broadcast_to``, or
    broadcasting on the right (when the reduced axes are the leading ones).
    Each dim of the reduction's result must land on the operand axis it was
    computed along; the caller checks the operand and the final type.
    """
    if ir.RankedTensorType(v.type).rank > rank:
        return None
    where = list(range(rank - ir.RankedTensorType(v.type).rank, rank))  # operand axis of each dim of v
    op = producer(v)
    while op is not None and op.name != "tir." + name:
        if op.name == "tir.broadcast_to":
            where = where[len(where) - ir.RankedTensorType(op.operands[0].type).rank:]
        else:
            if op.name == "tir.expand_dims":
                inserted: list[int] | None = list(attrs(op)["axes"])
            elif op.name == "tir.reshape":
                inserted = _reshape_inserted_axes(op)
            else:
                return None
            if inserted is None:
                return None
            where = [w for k, w in enumerate(where) if k not in inserted]
        op = producer(op.operands[0])
    if op is None or ir.RankedTensorType(op.operands[0].type).rank != rank:
        return None
    a = attrs(op)
    computed = range(rank) if a["keepdims"] else [k for k in range(rank) if k not in a["axes"]]
    dims = _static_dims(op.results[0])
    if any(d != 1 and w != c for d, w, c in zip(dims, where, computed)):
        return None
    return op


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


def x_minus_logsumexp(op: ir.Operation) -> Any:
    """x - logsumexp(x, axes, keepdims=True) -> log_softmax(x, axes) (keepdims=False brought back too)"""
    x, v = op.operands
    if not is_float(x):
        return None
    lse = _kept_reduction(v, "logsumexp", ir.RankedTensorType(x.type).rank)
    if lse is None or lse.operands[0] != x:
        return None
    return _unary(op, "log_softmax", x, axes=list(attrs(lse)["axes"]))


def exp_over_one_plus_exp(op: ir.Operation) -> Any:
    """exp(x) / (1 + exp(x)) -> sigmoid(x); exp(x) / (exp(x) + 1) -> sigmoid(x)"""
    num, den = op.operands
    x = _operand_of(num, "exp")
    e = _one_plus(den)
    if x is None or e is None or _operand_of(e, "exp") != x:
        return None
    return _unary(op, "sigmoid", x)


def log_exp_plus_exp(op: ir.Operation) -> Any:
    """log(exp(a) + exp(b)) -> logaddexp(a, b)"""
    add = producer(op.operands[0], "add")
    if add is None:
        return None
    a, b = (_operand_of(v, "exp") for v in add.operands)
    if a is None or b is None or result_type("logaddexp", [a, b]) != op.results[0].type:
        return None
    return build("logaddexp", E(a), E(b))


def log_one_minus_exp(op: ir.Operation) -> Any:
    """log(-expm1(x)) -> log1mexp(x); log(1 - exp(x)) -> log1mexp(x)"""
    v = op.operands[0]
    m = _operand_of(v, "neg")
    x = _operand_of(m, "expm1") if m is not None else None
    sub = producer(v, "sub")
    if x is None and sub is not None and _is_one(sub.operands[0]) and sub.operands[1].type == v.type:
        x = _operand_of(sub.operands[1], "exp")
    return _unary(op, "log1mexp", x) if x is not None else None


def log1p_neg_exp(op: ir.Operation) -> Any:
    """log1p(-exp(x)) -> log1mexp(x)"""
    e = _operand_of(op.operands[0], "neg")
    x = _operand_of(e, "exp") if e is not None else None
    return _unary(op, "log1mexp", x) if x is not None else None


def _cross_entropy_terms(s: ir.Operation) -> tuple[ir.Value, ir.Value, bool] | None:
    """``(x, y, negated)`` when the ``tir.sum`` ``s`` is ``sum(y * log_softmax(x, A), A)``
    with ``y`` of ``x``'s dtype and shape, any factor (or the product) negated;
    ``negated``: an odd number of negations, so ``s`` is
    ``softmax_cross_entropy(x, y, A)``."""
    v, negated = _strip_neg(s.operands[0])
    m = producer(v, "mul")
    if m is None:
        return None
    axes = list(attrs(s)["axes"])
    for p, q in (tuple(m.operands), tuple(m.operands)[::-1]):
        (p, neg_p), (y, neg_y) = _strip_neg(p), _strip_neg(q)
        ls = producer(p, "log_softmax")
        if ls is None or list(attrs(ls)["axes"]) != axes or not _same_shape(y, ls.operands[0]):
            continue
        return ls.operands[0], y, negated ^ neg_p ^ neg_y
    return None


def _cross_entropy(op: ir.Operation, x: ir.Value, y: ir.Value) -> E | None:
    """``softmax_cross_entropy(x, y)`` over the axes of the sum ``op`` (kept if it keeps them),
    when that has ``op``'s result type."""
    a = attrs(op)
    axes = list(a["axes"])
    t = result_type("softmax_cross_entropy", [x, y], axes=axes)
    if a["keepdims"] and t is not None:
        t = result_type("expand_dims", [t], axes=axes)
    if t != op.results[0].type:
        return None
    ce = build("softmax_cross_entropy", E(x), E(y), axes=axes)
    return ce.expand_dims(axes) if a["keepdims"] else ce


def sum_labels_log_softmax(op: ir.Operation) -> Any:
    """sum(-y * log_softmax(x, axes), axes) -> softmax_cross_entropy(x, y, axes);
    sum(y * log_softmax(x, axes), axes) -> -softmax_cross_entropy(x, y, axes)"""
    terms = _cross_entropy_terms(op)
    if terms is None:
        return None
    x, y, negated = terms
    if not negated and _users(op.results[0]) == ["tir.neg"]:
        return None  # neg_sum_labels_log_softmax takes the negation along
    ce = _cross_entropy(op, x, y)
    if ce is None:
        return None
    return ce if negated else -ce


def neg_sum_labels_log_softmax(op: ir.Operation) -> Any:
    """-sum(y * log_softmax(x, axes), axes) -> softmax_cross_entropy(x, y, axes)"""
    s = producer(op.operands[0], "sum")
    terms = _cross_entropy_terms(s) if s is not None else None
    if s is None or terms is None or terms[2]:
        return None
    return _cross_entropy(s, terms[0], terms[1])


def exp_over_expanded_sum_exp(op: ir.Operation) -> Any:
    """exp(x) / expand_dims(sum(exp(x), axes), axes) -> softmax(x, axes) (reshape, broadcast_to too)"""
    num, den = op.operands
    x = _operand_of(num, "exp")
    s = producer(den, "sum")
    if x is None or (s is not None and attrs(s)["keepdims"]):
        return None  # keepdims=True is rule softmax
    s = _kept_reduction(den, "sum", ir.RankedTensorType(x.type).rank)
    if s is None or _operand_of(s.operands[0], "exp") != x:
        return None
    return _unary(op, "softmax", x, axes=list(attrs(s)["axes"]))


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
    Rule("log_softmax_sub", "tir.sub", x_minus_logsumexp,
         "x - logsumexp(x, axes, keepdims=True) -> log_softmax(x, axes); also logsumexp(x, axes) brought back "
         "to x's rank by expand_dims, reshape, broadcast_to or broadcasting", exact=False),
    Rule("sigmoid_exp", "tir.div", exp_over_one_plus_exp,
         "exp(x) / (1 + exp(x)) -> sigmoid(x); exp(x) / (exp(x) + 1) -> sigmoid(x)", exact=False),
    Rule("logaddexp", "tir.log", log_exp_plus_exp, "log(exp(a) + exp(b)) -> logaddexp(a, b)", exact=False),
    Rule("log1mexp", "tir.log", log_one_minus_exp,
         "log(-expm1(x)) -> log1mexp(x); log(1 - exp(x)) -> log1mexp(x)", exact=False),
    Rule("log1p_neg_exp", "tir.log1p", log1p_neg_exp, "log1p(-exp(x)) -> log1mexp(x)", exact=False),
    Rule("softmax_cross_entropy", "tir.sum", sum_labels_log_softmax,
         "sum(-y * log_softmax(x, axes), axes) -> softmax_cross_entropy(x, y, axes); "
         "sum(y * log_softmax(x, axes), axes) -> -softmax_cross_entropy(x, y, axes) (y of x's dtype and shape)",
         exact=False),
    Rule("neg_softmax_cross_entropy", "tir.neg", neg_sum_labels_log_softmax,
         "-sum(y * log_softmax(x, axes), axes) -> softmax_cross_entropy(x, y, axes) (y of x's dtype and shape)",
         exact=False),
    Rule("softmax_expanded", "tir.div", exp_over_expanded_sum_exp,
         "exp(x) / expand_dims(sum(exp(x), axes), axes) -> softmax(x, axes); also reshape, broadcast_to or "
         "broadcasting bringing the sum back to x's rank", exact=False),
))


def tir_stabilize(module_op: ir.Operation) -> None:
    apply_rules(module_op, STABILIZE)
