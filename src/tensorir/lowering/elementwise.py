"""Lowering of elementwise tir ops: one scalar emitter per op, mapped by
``linalg.generic`` over the broadcast operands. Chains of such generics are
fused later by ``linalg-fuse-elementwise-ops``.

Scalar emitters take ``(dtype, *scalars)`` and return one scalar built from
``arith``/``math`` ops; transcendental functions come from ``mathfns`` so a
vectorisable polynomial form can replace the scalar libm call.
"""

from __future__ import annotations

from typing import Callable

from ..dialects._bindings import ir
from . import mathfns
from .common import dtype_of, elementwise, scalar_const

__all__ = ["RULES", "SCALAR"]

Scalar = Callable[..., ir.Value]


def _arith():
    from mlir.dialects import arith

    return arith


def _is_float(dtype: str) -> bool:
    return dtype in ("float32", "float64")


def _by_kind(float_op: str, int_op: str) -> Scalar:
    def emit(dtype: str, *xs: ir.Value) -> ir.Value:
        arith = _arith()
        return getattr(arith, float_op if _is_float(dtype) else int_op)(*xs)

    return emit


def _neg(dtype: str, x: ir.Value) -> ir.Value:
    arith = _arith()
    if _is_float(dtype):
        return arith.negf(x)
    return arith.subi(scalar_const(x.type, 0), x)


def _abs(dtype: str, x: ir.Value) -> ir.Value:
    from mlir.dialects import math

    return math.absf(x) if _is_float(dtype) else math.absi(x)


def _sign(dtype: str, x: ir.Value) -> ir.Value:
    arith = _arith()
    zero, one, minus = (scalar_const(x.type, v) for v in (0, 1, -1))
    if _is_float(dtype):
        gt = arith.cmpf(arith.CmpFPredicate.OGT, x, zero)
        lt = arith.cmpf(arith.CmpFPredicate.OLT, x, zero)
        # 0, -0 and NaN map to themselves
        return arith.select(gt, one, arith.select(lt, minus, x))
    gt = arith.cmpi(arith.CmpIPredicate.sgt, x, zero)
    lt = arith.cmpi(arith.CmpIPredicate.slt, x, zero)
    return arith.select(gt, one, arith.select(lt, minus, zero))


def _math(name: str) -> Scalar:
    def emit(dtype: str, *xs: ir.Value) -> ir.Value:
        from mlir.dialects import math

        return getattr(math, name)(*xs)

    return emit


def _float_divmod(a: ir.Value, b: ir.Value) -> tuple[ir.Value, ir.Value]:
    """NumPy's float ``divmod``: ``(floor_divide(a, b), remainder(a, b))``.

    The quotient is ``(a - fmod(a, b)) / b`` adjusted to the sign convention of
    the remainder and snapped to the nearest integer, not ``floor(a / b)``
    (``1.0 // 0.1`` is 9, as ``1.0 == 9 * 0.1 + 0.09999...``); a zero result
    takes its sign from ``a / b`` (quotient) or ``b`` (remainder); ``b == 0``
    gives ``a / b`` and ``fmod(a, 0) = NaN``.
    """
    arith = _arith()
    from mlir.dialects import math

    zero, one, half = (scalar_const(a.type, v) for v in (0.0, 1.0, 0.5))

    def cmp(pred: str, x: ir.Value, y: ir.Value) -> ir.Value:
        return arith.cmpf(getattr(arith.CmpFPredicate, pred), x, y)

    quotient = arith.divf(a, b)
    mod = arith.remf(a, b)
    div = arith.divf(arith.subf(a, mod), b)
    # a nonzero (or NaN) remainder whose sign differs from b's moves one step down
    fix = arith.andi(cmp("UNE", mod, zero), arith.xori(cmp("OLT", b, zero), cmp("OLT", mod, zero)))
    mod_fixed = arith.select(fix, arith.addf(mod, b), mod)
    mod_fixed = arith.select(cmp("OEQ", mod, zero), math.copysign(zero, b), mod_fixed)
    div = arith.select(fix, arith.subf(div, one), div)
    low = math.floor(div)
    snapped = arith.select(cmp("OGT", arith.subf(div, low), half), arith.addf(low, one), low)
    floordiv = arith.select(cmp("OEQ", div, zero), math.copysign(zero, quotient), snapped)
    b_zero = cmp("OEQ", b, zero)
    return arith.select(b_zero, quotient, floordiv), arith.select(b_zero, mod, mod_fixed)


def _floordiv(dtype: str, a: ir.Value, b: ir.Value) -> ir.Value:
    """NumPy's ``floor_divide``; integer division by 0 gives 0."""
    arith = _arith()
    if _is_float(dtype):
        return _float_divmod(a, b)[0]
    zero, one = scalar_const(a.type, 0), scalar_const(a.type, 1)
    bz = arith.cmpi(arith.CmpIPredicate.eq, b, zero)
    # a // -1 is -a (wrapping for the minimum, as NumPy): the hardware divide traps on it
    bm1 = arith.cmpi(arith.CmpIPredicate.eq, b, scalar_const(a.type, -1))
    q = arith.floordivsi(a, arith.select(arith.ori(bz, bm1), one, b))
    return arith.select(bz, zero, arith.select(bm1, arith.subi(zero, a), q))


def _mod(dtype: str, a: ir.Value, b: ir.Value) -> ir.Value:
    """Remainder with the sign of the divisor, as Python's ``%``."""
    arith = _arith()
    if _is_float(dtype):
        return _float_divmod(a, b)[1]
    zero = scalar_const(a.type, 0)
    one = scalar_const(a.type, 1)
    bz = arith.cmpi(arith.CmpIPredicate.eq, b, zero)
    # x % -1 is 0; dividing by 1 instead avoids the trap of INT_MIN % -1
    bm1 = arith.cmpi(arith.CmpIPredicate.eq, b, scalar_const(a.type, -1))
    bs = arith.select(arith.ori(bz, bm1), one, b)
    r = arith.remsi(a, bs)
    nonzero = arith.cmpi(arith.CmpIPredicate.ne, r, zero)
    signs_differ = arith.xori(
        arith.cmpi(arith.CmpIPredicate.slt, r, zero), arith.cmpi(arith.CmpIPredicate.slt, bs, zero)
    )
    fixed = arith.select(arith.andi(nonzero, signs_differ), arith.addi(r, bs), r)
    return arith.select(bz, zero, fixed)


def _pow(dtype: str, a: ir.Value, b: ir.Value) -> ir.Value:
    from mlir.dialects import math

    return mathfns.pow(a, b) if _is_float(dtype) else math.ipowi(a, b)


def _mul_nonan(dtype: str, x: ir.Value, y: ir.Value) -> ir.Value:
    """``x == 0 ? 0 : x * y``: an exact zero even where ``y`` is inf or NaN."""
    arith = _arith()
    zero = scalar_const(x.type, 0.0)
    return arith.select(arith.cmpf(arith.CmpFPredicate.OEQ, x, zero), zero, arith.mulf(x, y))


def _maximum(dtype: str, a: ir.Value, b: ir.Value) -> ir.Value:
    arith = _arith()
    return arith.maximumf(a, b) if _is_float(dtype) else arith.maxsi(a, b)


def _minimum(dtype: str, a: ir.Value, b: ir.Value) -> ir.Value:
    arith = _arith()
    return arith.minimumf(a, b) if _is_float(dtype) else arith.minsi(a, b)


def _not(dtype: str, x: ir.Value) -> ir.Value:
    return _arith().xori(x, scalar_const(x.type, True))


_FCMP = {"eq": "OEQ", "ne": "UNE", "lt": "OLT", "le": "OLE", "gt": "OGT", "ge": "OGE"}
_ICMP = {"eq": "eq", "ne": "ne", "lt": "slt", "le": "sle", "gt": "sgt", "ge": "sge"}
_BCMP = {"eq": "eq", "ne": "ne", "lt": "ult", "le": "ule", "gt": "ugt", "ge": "uge"}


def _compare(pred: str) -> Scalar:
    def emit(dtype: str, a: ir.Value, b: ir.Value) -> ir.Value:
        arith = _arith()
        if _is_float(dtype):
            return arith.cmpf(getattr(arith.CmpFPredicate, _FCMP[pred]), a, b)
        table = _BCMP if dtype == "bool" else _ICMP
        return arith.cmpi(getattr(arith.CmpIPredicate, table[pred]), a, b)

    return emit


def cast_scalar(x: ir.Value, src: str, dst: str, dst_type: ir.Type) -> ir.Value:
    arith = _arith()
    if src == dst:
        return x
    if dst == "bool":
        zero = scalar_const(x.type, 0)
        if _is_float(src):
            return arith.cmpf(arith.CmpFPredicate.UNE, x, zero)
        return arith.cmpi(arith.CmpIPredicate.ne, x, zero)
    if src == "bool":
        return arith.uitofp(dst_type, x) if _is_float(dst) else arith.extui(dst_type, x)
    if _is_float(src) and _is_float(dst):
        return arith.extf(dst_type, x) if dst == "float64" else arith.truncf(dst_type, x)
    if _is_float(src):
        return arith.fptosi(dst_type, x)
    if _is_float(dst):
        return arith.sitofp(dst_type, x)
    return arith.extsi(dst_type, x) if dst == "int64" else arith.trunci(dst_type, x)


# Scalar emitters keyed by tir op name: (dtype of the operands, *scalars) -> scalar.
SCALAR: dict[str, Scalar] = {
    "add": _by_kind("addf", "addi"),
    "sub": _by_kind("subf", "subi"),
    "mul": _by_kind("mulf", "muli"),
    "div": lambda dt, a, b: _arith().divf(a, b),
    "mul_nonan": _mul_nonan,
    "floordiv": _floordiv,
    "mod": _mod,
    "pow": _pow,
    "maximum": _maximum,
    "minimum": _minimum,
    "neg": _neg,
    "abs": _abs,
    "sign": _sign,
    "floor": _math("floor"),
    "ceil": _math("ceil"),
    "round": _math("roundeven"),
    "exp": lambda dt, x: mathfns.exp(x),
    "log": lambda dt, x: mathfns.log(x),
    "log1p": lambda dt, x: mathfns.log1p(x),
    "expm1": lambda dt, x: mathfns.expm1(x),
    "sqrt": _math("sqrt"),
    "rsqrt": lambda dt, x: _arith().divf(scalar_const(x.type, 1.0), _math("sqrt")(dt, x)),
    "tanh": lambda dt, x: mathfns.tanh(x),
    "sigmoid": lambda dt, x: mathfns.sigmoid(x),
    "softplus": lambda dt, x: mathfns.softplus(x),
    "log1mexp": lambda dt, x: mathfns.log1mexp(x),
    "logaddexp": lambda dt, a, b: mathfns.logaddexp(a, b),
    "sin": _math("sin"),
    "cos": _math("cos"),
    "erf": lambda dt, x: mathfns.erf(x),
    "not": _not,
    "and": lambda dt, a, b: _arith().andi(a, b),
    "or": lambda dt, a, b: _arith().ori(a, b),
    "xor": lambda dt, a, b: _arith().xori(a, b),
    "select": lambda dt, c, a, b: _arith().select(c, a, b),
    **{name: _compare(name) for name in _FCMP},
}


def _lower_elementwise(name: str):
    emit = SCALAR[name]

    def rule(op: ir.Operation) -> list[ir.Value]:
        operands = list(op.operands)
        result_type = op.results[0].type
        dtype = dtype_of(operands[-1].type)  # select: the dtype of its branches
        return [elementwise(operands, result_type, lambda *xs: emit(dtype, *xs))]

    return rule


def _lower_cast(op: ir.Operation) -> list[ir.Value]:
    (x,) = op.operands
    result_type = op.results[0].type
    src, dst = dtype_of(x.type), dtype_of(result_type)
    el = result_type.element_type
    return [elementwise([x], result_type, lambda s: cast_scalar(s, src, dst, el))]


RULES: dict[str, Callable[[ir.Operation], list[ir.Value]]] = {
    **{name: _lower_elementwise(name) for name in SCALAR},
    "cast": _lower_cast,
}
