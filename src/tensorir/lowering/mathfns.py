"""Transcendental functions as branch-free scalar IR, one emitter per function.

Each emitter takes a float scalar ``ir.Value`` (f32 or f64) and returns one
built from ``arith`` and ``math`` ops (``fma``, ``absf``, ``copysign``,
``roundeven``) at the current insertion point. No emitter calls libm (except
``erf`` on f64 and ``pow``, see below), and none branches: special inputs are
handled with ``arith.select``. Inside a ``linalg.generic`` body the result is
therefore a straight-line loop body that LLVM's loop vectoriser turns into
SIMD code, where a scalar ``expf`` call would keep the loop scalar.

Contracts (checked by ``tests/test_mathfns.py`` against float64 or exact
references over dense sweeps):

* accuracy: a few ulp on the whole finite domain (f32: relative error below
  4e-7; f64: below 1e-15), denormal inputs and outputs included;
* IEEE special values as NumPy gives them: NaN propagates, ``exp(+inf) = inf``,
  ``exp(-inf) = 0``, ``exp`` overflows to ``inf`` and underflows through the
  denormals to ``0``; ``log(0) = -inf``, ``log(x < 0) = NaN``;
  ``log1p(-1) = -inf``; ``expm1``, ``tanh``, ``log1p`` return tiny ``x``
  (and the sign of zero) unchanged; ``tanh``, ``sigmoid`` and ``erf``
  saturate exactly; ``sigmoid`` and ``softplus`` never overflow.

Algorithms:

* ``exp``/``expm1``: Cody-Waite reduction ``x = k ln2 + r``, ``|r| <= ln2/2``
  (``k ln2`` subtracted in two fma steps with ln2 split in a head and a tail),
  a Taylor polynomial for ``e**r`` (``e**r - 1`` without its constant term for
  expm1, so that small results keep their relative accuracy), and scaling by
  ``2**k`` built from its exponent bits; ``2**k`` is applied as two factors so
  that results in the denormal range and near the overflow threshold are
  rounded once.
* ``log``: denormals are scaled into the normal range, the exponent ``e`` and
  a mantissa ``m`` in ``[sqrt(1/2), sqrt(2))`` are split off the bits, and
  ``log(m) = 2 atanh(s)``, ``s = f / (2 + f)``, ``f = m - 1`` is evaluated as
  ``f - s (f - 2 T(s**2))`` with the series ``T`` of atanh; then
  ``log x = e ln2 + log m``.
* ``log1p(x) = log(u) * x / (u - 1)`` with ``u = 1 + x`` (the rounding error
  of ``u`` cancels to first order), ``x`` itself where ``u == 1``.
* ``tanh(x) = sign(x) t / (t + 2)`` with ``t = expm1(2|x|)``.
* ``sigmoid``: ``1 / (1 + e)`` or ``e / (1 + e)`` with ``e = exp(-|x|)``.
* ``softplus(x) = max(x, 0) + log1p(exp(-|x|))``.
* ``logaddexp(a, b) = max(a, b) + log1p(exp(-|a - b|))``, and ``a + ln2``
  where ``a == b`` (so two equal infinities give that infinity, not NaN).
* ``log1mexp(x) = log(1 - e**x)`` in Mächler's two forms: ``log(-expm1(x))``
  for ``x > -ln2`` (where ``1 - e**x`` is small and ``expm1`` keeps it
  exact), ``log1p(-exp(x))`` below (where ``e**x`` is small).
* ``erf`` (f32): ``x P(x**2)`` for ``|x| < 1``; above,
  ``1 - exp(-x**2) G(1/|x|)`` with the sign of ``x``, where ``G`` fits the
  scaled complement ``erfc(x) exp(x**2)``. Both polynomials are least-squares
  fits on Chebyshev nodes (float64 fit, coefficients rounded to f32). On f64,
  ``erf`` stays the ``math.erf`` (libm) call: a vectorisable f64 erf needs
  longer fits than are worth keeping here.
* ``pow`` is ``math.powf`` (libm ``pow``/``powf``): its special cases (negative
  bases with integral exponents, ``0 ** y``, ``inf ** y``...) are many, and
  libm gets them right.
"""

from __future__ import annotations

from fractions import Fraction
from math import factorial

import numpy as np

from ..dialects._bindings import ir

__all__ = ["exp", "exp_term", "log", "log1p", "expm1", "tanh", "sigmoid", "softplus", "logaddexp", "log1mexp", "erf", "pow"]


def _m():
    from mlir.dialects import math

    return math


def _a():
    from mlir.dialects import arith

    return arith


# ln 2 and log2 e to 60 digits: heads and tails of the Cody-Waite splits are
# derived from these in exact rational arithmetic.
_LN2 = Fraction("0.693147180559945309417232121458176568075500134360255254120680")
_LOG2E = Fraction("1.44269504088896340735992468100168975737198728665823536052838")


class _Format:
    """Facts of one IEEE binary format (f32 or f64) used by the emitters."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.np = np.float32 if width == 32 else np.float64
        self.itype_np = np.int32 if width == 32 else np.int64
        self.mant = 23 if width == 32 else 52
        self.bias = 127 if width == 32 else 1023
        info = np.finfo(self.np)
        self.min_normal = float(info.tiny)
        self.ln2_hi, self.ln2_lo = self.split(_LN2)
        self.log2e = float(self.np(float(_LOG2E)))
        # exp: beyond these, the result is inf or rounds to 0 (exp(lo) < smallest denormal / 2)
        self.exp_hi = 89.0 if width == 32 else 710.0
        self.exp_lo = -104.0 if width == 32 else -746.0
        # expm1: below this the result rounds to -1
        self.expm1_lo = -20.0 if width == 32 else -45.0
        # expm1(x) rounds to x below this magnitude (x**2 / 2 < ulp(x) / 2)
        self.tiny = 2.0 ** -(self.mant + 2)
        # tanh(x) rounds to +-1 above this magnitude
        self.tanh_sat = 10.0 if width == 32 else 20.0
        # denormal inputs of log are scaled by 2**log_scale into the normal range
        self.log_scale = self.mant + 2
        self.one_bits = int(np.array(1.0, self.np).view(self.itype_np))
        self.sqrth_bits = int(np.array(np.sqrt(0.5), self.np).view(self.itype_np))
        # Taylor degrees: truncation error below ulp/16 on |r| <= ln2/2
        n = 7 if width == 32 else 13
        self.exp_coeffs = [1.0 / factorial(i) for i in range(n + 1)]  # e**r
        self.expm1_coeffs = [1.0 / factorial(i) for i in range(2, n + 1)]  # (e**r - 1 - r) / r**2
        # atanh series: T(z) = z/3 + z**2/5 + ..., truncated below ulp/16 for z <= 0.0295
        terms = 4 if width == 32 else 10
        self.atanh_coeffs = [1.0 / (2 * i + 3) for i in range(terms)]

    def split(self, value: Fraction) -> tuple[float, float]:
        """``value = hi + lo`` with ``hi`` in this format and ``lo`` its rounded remainder."""
        hi = self.np(float(value))
        lo = self.np(float(value - Fraction(float(hi))))
        return float(hi), float(lo)


_F32 = _Format(32)
_F64 = _Format(64)

# erf(x) / x as a polynomial in x**2 on [0, 1] (f32; fit error 1.6e-9).
_ERF_SMALL_F32 = [
    1.12837923, -0.376126289, 0.112836257, -0.0268553998, 0.00519121857, -0.00080348464, 7.93349391e-05,
]
# erfc(x) * exp(x**2) as a polynomial in 1/x on [1, 4] (f32; fit error 2.1e-8).
_ERFC_SCALED_F32 = [
    0.000133511829, 0.561540961, 0.0223211348, -0.383800507, 0.252399117,
    0.198848665, -0.491022289, 0.404801995, -0.165862218, 0.0282232184,
]
# e**r on |r| <= ln2/2 (f32): a relative minimax fit of degree 6 (Lawson's
# iteration on Chebyshev nodes, float64, rounded to f32), relative error
# 7.1e-8 evaluated in f32 by Horner's rule with fma; one term fewer than the
# Taylor polynomial of the same accuracy.
_EXP_MINIMAX_F32 = [
    1.0, 1.0, 0.4999999403953552, 0.16666431725025177, 0.04166800156235695, 0.00837415549904108,
    0.0013843653723597527,
]
# erf(x) rounds to +-1 in f32 above this magnitude (erfc(4) = 1.5e-8 < 2**-25).
_ERF_SAT_F32 = 4.0


class _Builder:
    """Scalar ``arith``/``math`` builders for one float type, at the insertion point."""

    def __init__(self, x: ir.Value) -> None:
        ftype = x.type
        if not isinstance(ftype, (ir.F32Type, ir.F64Type)):
            raise TypeError(f"math function emitters take f32 or f64 scalars, found {ftype}")
        self.ftype = ftype
        self.fmt = _F32 if isinstance(ftype, ir.F32Type) else _F64
        self.itype = ir.IntegerType.get_signless(self.fmt.width)
        self.arith = _a()
        self.math = _m()

    # constants
    def c(self, value: float) -> ir.Value:
        return self.arith.constant(self.ftype, float(self.fmt.np(value)))

    def ci(self, value: int) -> ir.Value:
        return self.arith.constant(self.itype, ir.IntegerAttr.get(self.itype, int(value)))

    # float arithmetic
    def add(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.arith.addf(a, b)

    def sub(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.arith.subf(a, b)

    def mul(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.arith.mulf(a, b)

    def div(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.arith.divf(a, b)

    def neg(self, a: ir.Value) -> ir.Value:
        return self.arith.negf(a)

    def fma(self, a: ir.Value, b: ir.Value, c: ir.Value) -> ir.Value:
        """``a * b + c`` rounded once."""
        return self.math.fma(a, b, c)

    def abs(self, a: ir.Value) -> ir.Value:
        return self.math.absf(a)

    def copysign(self, a: ir.Value, sign: ir.Value) -> ir.Value:
        return self.math.copysign(a, sign)

    def horner(self, x: ir.Value, coeffs: list[float]) -> ir.Value:
        """``sum(coeffs[i] * x**i)`` by Horner's rule with fma."""
        p = self.c(coeffs[-1])
        for c in reversed(coeffs[:-1]):
            p = self.fma(p, x, self.c(c))
        return p

    # comparisons and selection
    def cmp(self, pred: str, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.arith.cmpf(getattr(self.arith.CmpFPredicate, pred), a, b)

    def select(self, cond: ir.Value, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.arith.select(cond, a, b)

    def clamp(self, x: ir.Value, lo: float, hi: float) -> ir.Value:
        """``x`` limited to ``[lo, hi]``; NaN becomes ``lo`` (callers restore NaN)."""
        x = self.select(self.cmp("OGT", x, self.c(lo)), x, self.c(lo))
        return self.select(self.cmp("OLT", x, self.c(hi)), x, self.c(hi))

    def is_nan(self, x: ir.Value) -> ir.Value:
        return self.cmp("UNO", x, x)

    # exponent manipulation
    def pow2(self, k: ir.Value) -> ir.Value:
        """``2.0**k`` for an integer ``k`` in the normal exponent range."""
        arith = self.arith
        biased = arith.addi(k, self.ci(self.fmt.bias))
        return arith.bitcast(self.ftype, arith.shli(biased, self.ci(self.fmt.mant)))

    def reduce_ln2(self, x: ir.Value) -> tuple[ir.Value, ir.Value]:
        """``(k, r)`` with ``x = k ln2 + r``, ``k`` an integer (as int), ``|r| <~ ln2/2``.

        ``x`` must be finite and within the clamped range of ``exp``; the head
        step ``x - k ln2_hi`` is exact in an fma, the tail step rounds once.
        """
        fmt = self.fmt
        kf = self.math.roundeven(self.mul(x, self.c(fmt.log2e)))
        minus_k = self.neg(kf)
        r = self.fma(minus_k, self.c(fmt.ln2_hi), x)
        r = self.fma(minus_k, self.c(fmt.ln2_lo), r)
        return self.arith.fptosi(self.itype, kf), r


def exp(x: ir.Value) -> ir.Value:
    """``e**x``: ``2**k * p(r)`` after Cody-Waite reduction."""
    b = _Builder(x)
    fmt = b.fmt
    xc = b.clamp(x, fmt.exp_lo, fmt.exp_hi)
    k, r = b.reduce_ln2(xc)
    p = b.horner(r, fmt.exp_coeffs)
    # 2**k as two normal factors: k spans [-1077, 1025] on f64 after the clamp
    k1 = b.arith.shrsi(k, b.ci(1))
    k2 = b.arith.subi(k, k1)
    y = b.mul(b.mul(p, b.pow2(k1)), b.pow2(k2))
    return b.select(b.is_nan(x), x, y)


def exp_term(x: ir.Value) -> ir.Value:
    """``e**x`` as a term of a sum whose largest term is at least 1 (the sum
    of a softmax or a logsumexp, ``x = a - max <= 0``).

    Accurate to the same few ulp as :func:`exp` where the result is at least
    the smallest normal number; below that (``x < -87.3`` in f32), where the
    term cannot change the sum, it returns that smallest normal number
    instead of a denormal or zero; above 0 it is not meant to be called.
    A NaN ``x`` gives a number, not NaN: callers see the NaN through the
    maximum. With one scaling by ``2**k`` and no special cases it costs about
    half of :func:`exp` per element.
    """
    b = _Builder(x)
    fmt = b.fmt
    # maxnum: a NaN becomes the bound, so k below is always an integer
    xc = b.arith.maxnumf(x, b.c(-(fmt.bias - 1) * float(_LN2)))
    k, r = b.reduce_ln2(xc)
    coeffs = _EXP_MINIMAX_F32 if fmt.width == 32 else fmt.exp_coeffs
    return b.mul(b.horner(r, coeffs), b.pow2(k))


def expm1(x: ir.Value) -> ir.Value:
    """``e**x - 1``: ``2**k q(r) + (2**k - 1)`` with ``q(r) = e**r - 1``."""
    b = _Builder(x)
    fmt = b.fmt
    xc = b.clamp(x, fmt.expm1_lo, fmt.exp_hi)
    k, r = b.reduce_ln2(xc)
    q = b.fma(b.mul(r, r), b.horner(r, fmt.expm1_coeffs), r)
    # k > cap only when 2**k - 1 == 2**k; the rest of 2**k is applied after
    cap = b.ci(fmt.bias // 2)
    ka = b.arith.minsi(k, cap)
    kb = b.arith.subi(k, ka)
    sa = b.pow2(ka)
    y = b.mul(b.fma(sa, q, b.sub(sa, b.c(1.0))), b.pow2(kb))
    # |x| < tiny (or NaN, or +-0): expm1(x) rounds to x
    keep = b.cmp("ULT", b.abs(x), b.c(fmt.tiny))
    return b.select(keep, x, y)


def _log1p_reduced(b: _Builder, f: ir.Value) -> ir.Value:
    """``log(1 + f)`` for ``1 + f`` in ``[sqrt(1/2), sqrt(2))``, ``f`` exact."""
    s = b.div(f, b.add(b.c(2.0), f))
    z = b.mul(s, s)
    t = b.mul(z, b.horner(z, b.fmt.atanh_coeffs))  # atanh(s) = s + s T(s**2)
    # log(1 + f) = 2 atanh(s) = f - s (f - 2 T), since f - 2 s = s f
    return b.sub(f, b.mul(s, b.fma(b.c(-2.0), t, f)))


def log(x: ir.Value) -> ir.Value:
    """Natural logarithm: ``e ln2 + log(m)`` with ``x = 2**e m``, ``m`` near 1."""
    b = _Builder(x)
    fmt = b.fmt
    arith = b.arith
    denormal = b.cmp("OLT", x, b.c(fmt.min_normal))  # also 0 and negatives, fixed below
    xs = b.select(denormal, b.mul(x, b.c(2.0**fmt.log_scale)), x)
    bits = arith.addi(arith.bitcast(b.itype, xs), b.ci(fmt.one_bits - fmt.sqrth_bits))
    e = arith.subi(arith.shrsi(bits, b.ci(fmt.mant)), b.ci(fmt.bias))
    mant_mask = (1 << fmt.mant) - 1
    m = arith.bitcast(b.ftype, arith.addi(arith.andi(bits, b.ci(mant_mask)), b.ci(fmt.sqrth_bits)))
    ef = b.sub(arith.sitofp(b.ftype, e), b.select(denormal, b.c(fmt.log_scale), b.c(0.0)))
    core = _log1p_reduced(b, b.sub(m, b.c(1.0)))
    y = b.fma(ef, b.c(fmt.ln2_hi), b.fma(ef, b.c(fmt.ln2_lo), core))
    inf = float("inf")
    y = b.select(b.cmp("OEQ", x, b.c(inf)), x, y)
    y = b.select(b.cmp("OEQ", x, b.c(0.0)), b.c(-inf), y)
    return b.select(b.cmp("ULT", x, b.c(0.0)), b.c(float("nan")), y)  # x < 0 or NaN


def log1p(x: ir.Value) -> ir.Value:
    """``log(1 + x)`` as ``log(u) * x / (u - 1)``, ``u = 1 + x`` (x where ``u == 1``)."""
    b = _Builder(x)
    one = b.c(1.0)
    u = b.add(one, x)
    um1 = b.sub(u, one)
    y = b.mul(log(u), b.div(x, um1))
    y = b.select(b.cmp("OEQ", u, one), x, y)
    return b.select(b.cmp("OEQ", x, b.c(float("inf"))), x, y)


def tanh(x: ir.Value) -> ir.Value:
    """``sign(x) t / (t + 2)`` with ``t = expm1(2 |x|)``; ``|x|`` capped where tanh rounds to 1."""
    b = _Builder(x)
    a = b.arith.minimumf(b.abs(x), b.c(b.fmt.tanh_sat))  # NaN propagates
    t = expm1(b.add(a, a))
    return b.copysign(b.div(t, b.add(t, b.c(2.0))), x)


def sigmoid(x: ir.Value) -> ir.Value:
    """``1 / (1 + e)`` for ``x >= 0``, ``e / (1 + e)`` below, ``e = exp(-|x|)``: no overflow."""
    b = _Builder(x)
    e = exp(b.neg(b.abs(x)))
    num = b.select(b.cmp("OGE", x, b.c(0.0)), b.c(1.0), e)
    return b.div(num, b.add(b.c(1.0), e))


def softplus(x: ir.Value) -> ir.Value:
    """``max(x, 0) + log1p(exp(-|x|))``: exact for large ``|x|``, no overflow."""
    b = _Builder(x)
    tail = log1p(exp(b.neg(b.abs(x))))
    return b.add(b.arith.maximumf(x, b.c(0.0)), tail)


def logaddexp(x: ir.Value, y: ir.Value) -> ir.Value:
    """``log(e**x + e**y)`` as ``max(x, y) + log1p(exp(-|x - y|))``; ``x + ln2`` where ``x == y``.

    No overflow for any finite input; ``+inf`` with anything but NaN is
    ``+inf``, ``-inf`` is the identity, NaN propagates (``maximumf`` and
    ``x - y`` both carry it).
    """
    b = _Builder(x)
    tail = log1p(exp(b.neg(b.abs(b.sub(x, y)))))
    out = b.add(b.arith.maximumf(x, y), tail)
    return b.select(b.cmp("OEQ", x, y), b.add(x, b.c(float(_LN2))), out)


def log1mexp(x: ir.Value) -> ir.Value:
    """``log(1 - e**x)``: ``log(-expm1(x))`` for ``x > -ln2``, else ``log1p(-exp(x))``.

    ``-inf`` at ``x = 0`` (either sign), NaN for ``x > 0`` and NaN, ``-0.0`` at ``-inf``.
    """
    b = _Builder(x)
    near_zero = log(b.neg(expm1(x)))
    far = log1p(b.neg(exp(x)))
    return b.select(b.cmp("OGT", x, b.c(-float(_LN2))), near_zero, far)


def erf(x: ir.Value) -> ir.Value:
    """Error function: two polynomial pieces on f32 (see the module docstring), libm on f64."""
    b = _Builder(x)
    if b.fmt is _F64:
        return b.math.erf(x)
    a = b.abs(x)
    small = b.mul(x, b.horner(b.mul(x, x), _ERF_SMALL_F32))
    ac = b.arith.minimumf(a, b.c(_ERF_SAT_F32))  # NaN propagates
    # exp(-ac**2) with ac**2 = hi + lo exactly: exp(-hi) (1 - lo)
    hi = b.mul(ac, ac)
    lo = b.fma(ac, ac, b.neg(hi))
    damp = b.mul(exp(b.neg(hi)), b.sub(b.c(1.0), lo))
    g = b.horner(b.div(b.c(1.0), ac), _ERFC_SCALED_F32)
    large = b.copysign(b.sub(b.c(1.0), b.mul(damp, g)), x)
    return b.select(b.cmp("OLT", a, b.c(1.0)), small, large)


def pow(x: ir.Value, y: ir.Value) -> ir.Value:  # noqa: A001
    """``x ** y`` by libm (``math.powf``), with all of its special cases."""
    return _m().powf(x, y)
