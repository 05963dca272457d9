"""Gradient rules of the reductions.

A reduction's cotangent goes back by broadcasting over the reduced axes:
``sum`` as is, ``mean`` divided by the number of elements reduced. ``max``
and ``min`` share it evenly among the elements equal to the result (ties
split, as for ``maximum``). ``prod`` uses the product of the other
elements, so zeros in the input give exact gradients (no division by 0).
"""

from __future__ import annotations

from typing import Sequence

from .builder import E, Site, broadcast_to, const, dims, op
from .elementwise import scale

__all__ = ["VJP", "JVP"]


def _back(s: Site, g: E) -> E:
    """``g`` broadcast over the reduced axes to the input's shape (batched)."""
    axes = s.axes()
    if not s.attrs["keepdims"]:
        g = g.expand_dims([s.ax(a) for a in axes])
    return broadcast_to(g, s.batch + dims(s.x))


def _kept(s: Site, y: E) -> E:
    """The result with its reduced axes kept (unbatched), to broadcast against x."""
    return y if s.attrs["keepdims"] else y.expand_dims(s.axes())


def _count(s: Site) -> E:
    return op("size", s.x, axes=tuple(s.axes()), dtype=s.x.dtype)


def _prod_partial(s: Site) -> E:
    """d prod / d x_i = the product of the other elements, zeros included."""
    x, axes = s.x, s.axes()
    zero, one = const(0.0, x.dtype), const(1.0, x.dtype)
    is_zero = x.eq(zero)
    n_zero = op("select", is_zero, one, zero).sum(axes, keepdims=True)
    others = op("prod", op("select", is_zero, one, x), axes=tuple(axes), keepdims=True)
    only_zero = op("and", is_zero, n_zero.eq(one))
    return op("select", n_zero.eq(zero), others / x, op("select", only_zero, others, zero))


def _extremum_partial(s: Site) -> E:
    """1/k on each of the k elements equal to the max (min), else 0."""
    x = s.x
    hit = op("select", x.eq(_kept(s, s.out)), const(1.0, x.dtype), const(0.0, x.dtype))
    return hit / hit.sum(s.axes(), keepdims=True)


def _sum_vjp(s: Site, g: E) -> list[E | None]:
    return [_back(s, g)]


def _mean_vjp(s: Site, g: E) -> list[E | None]:
    return [_back(s, g) / _count(s)]


def _prod_vjp(s: Site, g: E) -> list[E | None]:
    return [scale(_back(s, g), _prod_partial(s))]


def _extremum_vjp(s: Site, g: E) -> list[E | None]:
    return [scale(_back(s, g), _extremum_partial(s))]


def _linear_jvp(s: Site, t: Sequence[E | None]) -> E | None:
    if t[0] is None:
        return None
    return op(s.name, t[0], axes=tuple(s.axes()), keepdims=s.attrs["keepdims"])


def _weighted_jvp(partial):  # type: ignore[no-untyped-def]
    def jvp(s: Site, t: Sequence[E | None]) -> E | None:
        if t[0] is None:
            return None
        return scale(t[0], partial(s)).sum(s.axes(), keepdims=s.attrs["keepdims"])

    return jvp


VJP = {
    "sum": _sum_vjp,
    "mean": _mean_vjp,
    "prod": _prod_vjp,
    "max": _extremum_vjp,
    "min": _extremum_vjp,
}

JVP = {
    "sum": _linear_jvp,
    "mean": _linear_jvp,
    "prod": _weighted_jvp(_prod_partial),
    "max": _weighted_jvp(_extremum_partial),
    "min": _weighted_jvp(_extremum_partial),
}
