"""Gradient rules of softmax, log_softmax, logsumexp and softmax_cross_entropy.

With ``y`` the result and sums over the op's axes (kept):

* softmax:      ``dx = y * (g - sum(g * y))``
* log_softmax:  ``dx = g - exp(y) * sum(g)``
* logsumexp:    ``dx = g * softmax(x)``
* softmax_cross_entropy of logits ``x`` and labels ``l``:
  ``dx = g * (softmax(x) * sum(l) - l)``, ``dl = -g * log_softmax(x)``
  (``mul_nonan``: a zero cotangent gives 0 at a masked ``-inf`` logit)

Each is written from the stable result or the stable ops, so no overflow
appears in the backward pass where the forward one had none.
"""

from __future__ import annotations

from typing import Sequence

from .builder import E, Site, broadcast_to, dims, op

__all__ = ["VJP", "JVP"]


def _softmax_vjp(s: Site, g: E) -> list[E | None]:
    y = s.out
    gy = g * y
    return [gy - y * gy.sum([s.ax(a) for a in s.axes()], keepdims=True)]


def _softmax_jvp(s: Site, t: Sequence[E | None]) -> E | None:
    if t[0] is None:
        return None
    y = s.out
    ty = t[0] * y
    return ty - y * ty.sum(s.axes(), keepdims=True)


def _log_softmax_vjp(s: Site, g: E) -> list[E | None]:
    return [g - op("exp", s.out) * g.sum([s.ax(a) for a in s.axes()], keepdims=True)]


def _log_softmax_jvp(s: Site, t: Sequence[E | None]) -> E | None:
    if t[0] is None:
        return None
    return t[0] - (op("exp", s.out) * t[0]).sum(s.axes(), keepdims=True)


def _weights(s: Site) -> E:
    return op("softmax", s.x, axes=tuple(s.axes()))


def _logsumexp_vjp(s: Site, g: E) -> list[E | None]:
    if not s.attrs["keepdims"]:
        g = g.expand_dims([s.ax(a) for a in s.axes()])
    return [broadcast_to(g, s.batch + dims(s.x)) * _weights(s)]


def _logsumexp_jvp(s: Site, t: Sequence[E | None]) -> E | None:
    if t[0] is None:
        return None
    return (t[0] * _weights(s)).sum(s.axes(), keepdims=s.attrs["keepdims"])


def _cross_entropy_vjp(s: Site, g: E) -> list[E | None]:
    (x, labels), axes = s.inputs, s.axes()
    g = broadcast_to(g.expand_dims([s.ax(a) for a in axes]), s.batch + dims(x))
    dx = dl = None
    if s.needs[0]:
        dx = g * (op("softmax", x, axes=tuple(axes)) * labels.sum(axes, keepdims=True) - labels)
    if s.needs[1]:
        dl = op("mul_nonan", g, -op("log_softmax", x, axes=tuple(axes)))
    return [dx, dl]


def _cross_entropy_jvp(s: Site, t: Sequence[E | None]) -> E | None:
    (x, labels), axes = s.inputs, s.axes()
    tx, tl = t
    parts = []
    if tx is not None:
        parts.append((tx * (op("softmax", x, axes=tuple(axes)) * labels.sum(axes, keepdims=True) - labels)).sum(axes))
    if tl is not None:
        parts.append(-op("mul_nonan", tl, op("log_softmax", x, axes=tuple(axes))).sum(axes))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else parts[0] + parts[1]


VJP = {
    "softmax": _softmax_vjp,
    "log_softmax": _log_softmax_vjp,
    "logsumexp": _logsumexp_vjp,
    "softmax_cross_entropy": _cross_entropy_vjp,
}
JVP = {
    "softmax": _softmax_jvp,
    "log_softmax": _log_softmax_jvp,
    "logsumexp": _logsumexp_jvp,
    "softmax_cross_entropy": _cross_entropy_jvp,
}
