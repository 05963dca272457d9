"""``tir-simplify``: algebraic identities, one rule per row of :data:`SIMPLIFY`.

Takes in and leaves: any IR. Only tir ops are rewritten; ops of other
dialects are left alone. Rules apply to every op of every function until none
applies (see ``passes/rewrite.py``); ops a rewrite leaves without users are
erased, ops that were dead before are left to ``tir-dce``. Constant folding
is ``tir-fold``'s, numerically unstable forms are ``tir-stabilize``'s.

Policy: every rule is exact
---------------------------
A rule replaces a computation by one that gives the same bits on *every*
input, as the reference interpreter computes them: NaN, +-inf, -0.0 and +0.0
included (signed zeros count as different; any NaN equals any NaN).
Integers wrap around, so integer rules hold modulo 2**bits. Consequences:

* ``x * 0 -> 0`` and ``x - x -> 0`` are rules for integers only: for floats
  they are wrong at inf and NaN. There is no "assume finite" mode.
* ``x + 0 -> x`` holds for floats only with ``-0.0`` (``-0.0 + +0.0`` is
  ``+0.0``), ``x - 0 -> x`` only with ``+0.0``; integers take either.
* ``x / x`` and ``exp(log x)`` have no rule: ``0/0``, ``inf/inf`` are NaN,
  not 1, and ``exp(log(-1))`` is NaN, not -1. ``sqrt(x*x)`` is stabilize's.
* ``mul_nonan(g, 1)`` is ``g + 0.0``, not ``g``: the mask turns -0.0 into +0.0.
* ``x ** 0.5 -> sqrt(x)`` only for a 0-d exponent, where NumPy (and so the
  reference interpreter) itself computes ``sqrt``: ``(-0.0) ** 0.5`` is
  -0.0 and ``(-inf) ** 0.5`` is NaN there, as for sqrt (C's ``pow`` gives
  +0.0 and +inf).
* max/min stay where they are: ``np.maximum(0.0, -0.0)`` is 0.0 but
  ``np.maximum(-0.0, 0.0)`` is -0.0, so they do not commute bit for bit.

Rules marked ``exact=False`` are the documented exceptions; each is *more*
accurate than what it replaces, never less: ``log(exp x) -> x`` (exp rounds
and overflows), and float sums and means of broadcasts (``sum`` of n copies
of x rounds n-1 times, ``n * x`` rounds once; both rules add ``+ 0.0`` so
that, as in the sum, -0.0 becomes +0.0).

Canonical forms the rules leave (and ``tir-stabilize`` can rely on):
negation is ``tir.neg`` (never ``x * -1`` or ``-0.0 - x``), moved out of
products and quotients and into sums as ``sub``; a constant operand of a
commutative op or comparison is on the right (``x * 2``, ``x > 0``); a
``broadcast_to`` is as late as possible (elementwise ops run on the
unbroadcast values).
"""

from __future__ import annotations

from ...dialects._bindings import ir
from ..rewrite import Rule, RuleSet, apply_rules
from . import arith as A
from . import layout as L

__all__ = ["SIMPLIFY", "tir_simplify"]

SIMPLIFY = RuleSet("simplify", (
    # units and zeros
    Rule("mul_one", "tir.mul", A.x_mul_one, "x * 1 -> x"),
    Rule("div_one", "tir.div", A.x_div_one, "x / 1 -> x"),
    Rule("add_zero", "tir.add", A.x_add_zero, "x + 0 -> x (ints); x + (-0.0) -> x (floats)"),
    Rule("sub_zero", "tir.sub", A.x_sub_zero, "x - 0 -> x (ints); x - (+0.0) -> x (floats)"),
    Rule("mul_zero", "tir.mul", A.x_mul_zero, "x * 0 -> 0 (ints only)"),
    Rule("sub_self", "tir.sub", A.x_sub_x, "x - x -> 0 (ints only)"),
    Rule("div_power_of_two", "tir.div", A.x_div_power_of_two, "x / 2**k -> x * 2**-k"),
    Rule("mul_nonan_nonzero", "tir.mul_nonan", A.mul_nonan_nonzero_mask, "mul_nonan(c, y) -> c * y (splat c != 0)"),
    Rule("mul_nonan_one", "tir.mul_nonan", A.mul_nonan_by_one, "mul_nonan(g, 1) -> g + 0.0"),
    # negation
    Rule("neg_neg", "tir.neg", A.neg_neg, "-(-x) -> x"),
    Rule("mul_minus_one", "tir.mul", A.x_mul_minus_one, "x * -1 -> -x"),
    Rule("zero_sub", "tir.sub", A.minus_zero_sub_x, "(-0.0) - x -> -x (floats); 0 - x -> -x (ints)"),
    Rule("sub_neg", "tir.sub", A.x_sub_neg_y, "x - (-y) -> x + y"),
    Rule("add_neg", "tir.add", A.x_add_neg_y, "x + (-y) -> x - y"),
    Rule("neg_add", "tir.add", A.neg_x_add_y, "(-x) + y -> y - x"),
    Rule("neg_mul_neg", "tir.mul", A.neg_x_mul_neg_y, "(-x) * (-y) -> x * y"),
    Rule("neg_div_neg", "tir.div", A.neg_x_div_neg_y, "(-x) / (-y) -> x / y"),
    Rule("abs_abs", "tir.abs", A.abs_abs, "|(|x|)| -> |x|"),
    Rule("abs_neg", "tir.abs", A.abs_neg, "|-x| -> |x|"),
    # constants to the right
    Rule("constant_right", A.COMMUTING, A.constant_to_right, "c + x -> x + c, c * x -> x * c, c < x -> x > c, ..."),
    # powers
    Rule("pow_zero", "tir.pow", A.pow_zero, "x ** 0 -> 1"),
    Rule("pow_one", "tir.pow", A.pow_one, "x ** 1 -> x"),
    Rule("pow_two", "tir.pow", A.pow_two, "x ** 2 -> x * x"),
    Rule("pow_minus_one", "tir.pow", A.pow_minus_one, "x ** -1 -> 1 / x (floats)"),
    Rule("pow_half", "tir.pow", A.pow_half, "x ** 0.5 -> sqrt(x) (0-d exponent)"),
    # logarithms, selects, casts
    Rule("log_exp", "tir.log", A.log_exp, "log(exp(x)) -> x (more accurate)", exact=False),
    Rule("select_same", "tir.select", A.select_same, "select(c, x, x) -> x"),
    Rule("select_not", "tir.select", A.select_not, "select(not c, a, b) -> select(c, b, a)"),
    Rule("select_constant", "tir.select", A.select_constant, "select(True, a, b) -> a; select(False, a, b) -> b"),
    Rule("cast_same", "tir.cast", A.cast_same, "cast(x, dtype of x) -> x"),
    Rule("cast_lossless_cast", "tir.cast", A.cast_lossless_cast,
         "cast(cast(x, T1), T2) -> cast(x, T2) when x -> T1 is lossless"),
    # layout
    Rule("transpose_transpose", "tir.transpose", L.transpose_transpose,
         "transpose(transpose(x, p), q) -> transpose(x, p[q])"),
    Rule("transpose_identity", "tir.transpose", L.transpose_identity, "transpose(x, identity) -> x"),
    Rule("reshape_of_view", "tir.reshape", L.reshape_of_view,
         "reshape(reshape | expand_dims | squeeze(x)) -> reshape(x)"),
    Rule("reshape_noop", "tir.reshape", L.reshape_noop, "reshape(x, shape of x) -> x"),
    Rule("squeeze_expand_dims", "tir.squeeze", L.squeeze_expand_dims, "squeeze(expand_dims(x, a), a) -> x"),
    Rule("expand_dims_squeeze", "tir.expand_dims", L.expand_dims_squeeze, "expand_dims(squeeze(x, a), a) -> x"),
    Rule("expand_dims_expand_dims", "tir.expand_dims", L.expand_dims_expand_dims,
         "expand_dims(expand_dims(x)) -> expand_dims(x)"),
    Rule("squeeze_squeeze", "tir.squeeze", L.squeeze_squeeze, "squeeze(squeeze(x)) -> squeeze(x)"),
    Rule("broadcast_noop", "tir.broadcast_to", L.broadcast_noop, "broadcast_to(x, shape of x) -> x"),
    Rule("broadcast_broadcast", "tir.broadcast_to", L.broadcast_broadcast,
         "broadcast_to(broadcast_to(x, s), t) -> broadcast_to(x, t)"),
    Rule("elementwise_absorbs_broadcast", L.ELEMENTWISE, L.elementwise_absorbs_broadcast,
         "f(.., broadcast_to(y), ..) -> f(.., y, ..) when the result type stays"),
    Rule("elementwise_hoists_broadcast", L.ELEMENTWISE, L.elementwise_hoists_broadcast,
         "f(broadcast_to(y), z) -> broadcast_to(f(y, z)) when z broadcasts to y"),
    # reductions
    Rule("reduce_unit_axes", L.REDUCTIONS, L.reduce_over_unit_axes,
         "r(x, axes of size 1) -> squeeze(x, axes) (+ 0.0 for float sum, mean)"),
    Rule("sum_of_broadcast", "tir.sum", L.sum_of_broadcast,
         "sum(broadcast_to(x), repeated axes) -> n * x (+ 0.0 for floats; exact for ints)", exact=False),
    Rule("mean_of_broadcast", "tir.mean", L.mean_of_broadcast,
         "mean(broadcast_to(x), repeated axes) -> x (+ 0.0 for floats)", exact=False),
    Rule("extreme_of_broadcast", ("tir.max", "tir.min"), L.extreme_of_broadcast,
         "max | min(broadcast_to(x), repeated axes) -> x"),
))


def tir_simplify(module_op: ir.Operation) -> None:
    apply_rules(module_op, SIMPLIFY)
