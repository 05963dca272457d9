"""Gradient rules of the elementwise ops: local derivatives, one line each.

Reverse and forward mode share the tables: a unary op's row gives
``d out / d x`` from ``x`` and ``out``; a binary op's row the two partials.
A cotangent (or tangent) is scaled with ``mul_nonan``, so where it is 0 the
product is 0 even if the local derivative is inf or NaN: the branch a
``where`` did not take contributes nothing, and ``where(x > 0, sqrt(x), 0)``
has gradient 0 at ``x = -1``.

Conventions at kinks and ties: ``abs'(0) = 0``; ``maximum``/``minimum``
split the gradient evenly between equal operands, and so does ``logaddexp``
between equal infinities; ``d/dy x**y`` is 0 at
``x = 0``; ``d/dx x**0`` is 0. Ops whose derivative is 0 almost everywhere
(floor, sign, comparisons) are not differentiable and contribute nothing.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

from .builder import E, Site, const, op

__all__ = ["VJP", "JVP", "UNARY", "BINARY"]

ONE, MINUS_ONE = 1, -1  # partials that are the identity / its negation (no product)


def _where(c: E, a: Any, b: Any) -> E:
    dtype = a.dtype if isinstance(a, E) else b.dtype
    return op("select", c, *(v if isinstance(v, E) else const(v, dtype) for v in (a, b)))


def _tie_share(x: E, y: E) -> E:
    """1 where x wins, 1/2 where x ties y, else 0 (the ``maximum`` partial)."""
    one, half, zero = (const(v, x.dtype) for v in (1.0, 0.5, 0.0))
    return _where(x.gt(y), one, _where(x.eq(y), half, zero))


def _logaddexp_share(x: E, y: E) -> E:
    """``d logaddexp(x, y) / dx = e**x / (e**x + e**y) = sigmoid(x - y)``: no overflow;
    1/2 where ``x == y`` (equal infinities, where ``x - y`` is NaN)."""
    return _where(x.eq(y), const(0.5, x.dtype), op("sigmoid", x - y))


def _log1mexp_dx(x: E) -> E:
    """``d log(1 - e**x) / dx = -1 / expm1(-x)``; ``-inf`` at ``x = 0`` of either sign
    (``expm1(-(+0.0))`` is ``-0.0``, which would give ``+inf``)."""
    return _where(x.eq(0), const(-math.inf, x.dtype), -1 / op("expm1", -x))


def _pow_dx(x: E, y: E, z: E) -> E:
    return _where(y.eq(0), const(0.0, x.dtype), y * op("pow", x, y - 1))


def _pow_dy(x: E, y: E, z: E) -> E:
    return z * op("log", _where(x.eq(0), const(1.0, x.dtype), x))


# d out / d x, from x and out
UNARY: dict[str, Callable[[E, E], Any]] = {
    "wrt": lambda x, y: ONE,  # the identity
    "neg": lambda x, y: MINUS_ONE,
    "abs": lambda x, y: op("sign", x),  # 0 at 0
    "exp": lambda x, y: y,
    "log": lambda x, y: 1 / x,
    "log1p": lambda x, y: 1 / (x + 1),
    "expm1": lambda x, y: y + 1,
    "sqrt": lambda x, y: 0.5 / y,
    "rsqrt": lambda x, y: -0.5 * (y * y * y),
    "tanh": lambda x, y: 1 - y * y,
    "sigmoid": lambda x, y: y * (1 - y),
    "softplus": lambda x, y: op("sigmoid", x),
    "log1mexp": lambda x, y: _log1mexp_dx(x),
    "sin": lambda x, y: op("cos", x),
    "cos": lambda x, y: -op("sin", x),
    "erf": lambda x, y: (2 / math.sqrt(math.pi)) * op("exp", -(x * x)),
}

# (d out / d x, d out / d y), from x, y and out
BINARY: dict[str, tuple[Callable[[E, E, E], Any], Callable[[E, E, E], Any]]] = {
    "add": (lambda x, y, z: ONE, lambda x, y, z: ONE),
    "sub": (lambda x, y, z: ONE, lambda x, y, z: MINUS_ONE),
    "mul": (lambda x, y, z: y, lambda x, y, z: x),
    "mul_nonan": (lambda x, y, z: y, lambda x, y, z: x),
    "div": (lambda x, y, z: 1 / y, lambda x, y, z: -(z / y)),
    "pow": (_pow_dx, _pow_dy),
    "logaddexp": (lambda x, y, z: _logaddexp_share(x, y), lambda x, y, z: _logaddexp_share(y, x)),
    "maximum": (lambda x, y, z: _tie_share(x, y), lambda x, y, z: _tie_share(y, x)),
    "minimum": (lambda x, y, z: _tie_share(y, x), lambda x, y, z: _tie_share(x, y)),
}


def scale(g: E, d: Any) -> E:
    """``g * d`` that is 0 wherever ``g`` is 0 (see the module docstring)."""
    if d is ONE:
        return g
    if d is MINUS_ONE:
        return -g
    return op("mul_nonan", g, d)


def _unary_vjp(s: Site, g: E) -> list[E | None]:
    return [scale(g, UNARY[s.name](s.x, s.out))]


def _unary_jvp(s: Site, t: Sequence[E | None]) -> E | None:
    return scale(t[0], UNARY[s.name](s.x, s.out)) if t[0] is not None else None


def _binary_vjp(s: Site, g: E) -> list[E | None]:
    x, y = s.inputs
    dx, dy = BINARY[s.name]
    return [scale(g, dx(x, y, s.out)) if s.needs[0] else None, scale(g, dy(x, y, s.out)) if s.needs[1] else None]


def _binary_jvp(s: Site, t: Sequence[E | None]) -> E | None:
    x, y = s.inputs
    parts = [scale(tv, d(x, y, s.out)) for tv, d in zip(t, BINARY[s.name]) if tv is not None]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else parts[0] + parts[1]


def _select_vjp(s: Site, g: E) -> list[E | None]:
    c = s.inputs[0]
    zero = const(0.0, g.dtype)
    return [None, _where(c, g, zero) if s.needs[1] else None, _where(c, zero, g) if s.needs[2] else None]


def _select_jvp(s: Site, t: Sequence[E | None]) -> E | None:
    _, tx, ty = t
    if tx is None and ty is None:
        return None
    zero = const(0.0, s.out.dtype)
    return op("select", s.inputs[0], tx if tx is not None else zero, ty if ty is not None else zero)


def _cast_vjp(s: Site, g: E) -> list[E | None]:
    return [g.astype(s.x.dtype) if s.x.is_float else None]


def _cast_jvp(s: Site, t: Sequence[E | None]) -> E | None:
    return t[0].astype(s.out.dtype) if t[0] is not None and s.out.is_float else None


VJP = {
    **{name: _unary_vjp for name in UNARY},
    **{name: _binary_vjp for name in BINARY},
    "select": _select_vjp,
    "cast": _cast_vjp,
}

JVP = {
    **{name: _unary_jvp for name in UNARY},
    **{name: _binary_jvp for name in BINARY},
    "select": _select_jvp,
    "cast": _cast_jvp,
}
