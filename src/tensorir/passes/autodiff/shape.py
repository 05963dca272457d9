"""Gradient rules of the layout ops.

Every layout op is linear, so its tangent is the op applied to the tangent
(``linear_jvp``), and its cotangent is the adjoint layout change:

* reshape <-> reshape back; transpose <-> the inverse permutation;
  expand_dims <-> squeeze; flip <-> flip; broadcast_to <-> sum (done by the
  pass when it fits a cotangent to its operand's type);
* slice -> slice_update of zeros; slice_update -> (slice_update of g with
  zeros, slice of g);
* concatenate -> split into the pieces; split -> concatenate;
  stack -> one integer index per operand;
* dynamic_slice -> dynamic_update_slice of zeros at the same starts;
  dynamic_update_slice -> (dynamic_update_slice of g with zeros,
  dynamic_slice of g); the starts (integers) get none.

Cotangents may carry leading batch dims, so attributes naming axes are
shifted by their count and slices get full ranges on them.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .builder import E, Site, dim, dims, op, reshape

__all__ = ["VJP", "JVP", "linear_jvp"]


def _slice_attrs(s: Site) -> dict[str, tuple[Any, ...]]:
    """The op's slice attributes with full ranges prepended for the batch dims."""
    nb = s.nb
    return {
        "starts": (None,) * nb + tuple(s.attrs["starts"]),
        "stops": (None,) * nb + tuple(s.attrs["stops"]),
        "steps": (1,) * nb + tuple(s.attrs["steps"]),
    }


def _reshape_vjp(s: Site, g: E) -> list[E | None]:
    return [reshape(g, s.batch + dims(s.x))] + [None] * (len(s.inputs) - 1)


def _transpose_vjp(s: Site, g: E) -> list[E | None]:
    inverse = np.argsort(s.attrs["perm"])
    return [g.transpose(list(range(s.nb)) + [s.ax(int(p)) for p in inverse])]


def _expand_dims_vjp(s: Site, g: E) -> list[E | None]:
    return [g.squeeze([s.ax(a) for a in s.axes(rank=s.out.rank)])]


def _squeeze_vjp(s: Site, g: E) -> list[E | None]:
    return [g.expand_dims([s.ax(a) for a in s.axes()])]


def _broadcast_to_vjp(s: Site, g: E) -> list[E | None]:
    return [g] + [None] * (len(s.inputs) - 1)  # the pass sums g down to x's shape


def _flip_vjp(s: Site, g: E) -> list[E | None]:
    return [op("flip", g, axes=tuple(s.ax(a) for a in s.axes()))]


def _slice_vjp(s: Site, g: E) -> list[E | None]:
    return [op("slice_update", s.zeros_like(s.x), g, **_slice_attrs(s))]


def _slice_update_vjp(s: Site, g: E) -> list[E | None]:
    x, v = s.inputs
    attrs = _slice_attrs(s)
    return [
        op("slice_update", g, s.zeros_like(v), **attrs) if s.needs[0] else None,
        op("slice", g, **attrs) if s.needs[1] else None,
    ]


def _window_attrs(s: Site) -> dict[str, tuple[int, ...]]:
    """The op's window attributes with whole, unwrapped batch axes prepended."""
    return {"sizes": (-1,) * s.nb + tuple(s.attrs["sizes"]), "wrap": (0,) * s.nb + tuple(s.attrs["wrap"])}


def _dynamic_slice_vjp(s: Site, g: E) -> list[E | None]:
    starts = s.inputs[1:]
    return [op("dynamic_update_slice", s.zeros_like(s.x), g, *starts, **_window_attrs(s))] + [None] * len(starts)


def _dynamic_update_slice_vjp(s: Site, g: E) -> list[E | None]:
    x, v, *starts = s.inputs
    attrs = _window_attrs(s)
    return [
        op("dynamic_update_slice", g, s.zeros_like(v), *starts, **attrs) if s.needs[0] else None,
        op("dynamic_slice", g, *starts, **attrs) if s.needs[1] else None,
    ] + [None] * len(starts)


def _split(g: E, axis: int, head: E, head_axis: int) -> tuple[E, E]:
    """``g`` cut along ``axis`` after as many entries as ``head`` has on ``head_axis``."""
    n = head.shape[head_axis]
    if n is None:
        return tuple(op("split", g, dim(head, head_axis), axis=axis, size=-1))  # type: ignore[return-value]
    return tuple(op("split", g, axis=axis, size=n))  # type: ignore[return-value]


def _concatenate_vjp(s: Site, g: E) -> list[E | None]:
    axis = s.attrs["axis"] % s.x.rank
    pieces: list[E | None] = []
    rest = g
    for x in s.inputs[:-1]:
        head, rest = _split(rest, s.ax(axis), x, axis)
        pieces.append(head)
    pieces.append(rest)
    return pieces


def _stack_vjp(s: Site, g: E) -> list[E | None]:
    axis = s.ax(s.attrs["axis"] % s.out.rank)
    rank = g.rank
    out: list[E | None] = []
    for i in range(len(s.inputs)):
        starts = tuple(i if k == axis else None for k in range(rank))
        steps = tuple(0 if k == axis else 1 for k in range(rank))
        out.append(op("slice", g, starts=starts, stops=(None,) * rank, steps=steps))
    return out


def _split_vjp(s: Site, g: Sequence[E | None]) -> list[E | None]:
    head, tail = (gi if gi is not None else s.zeros_like(o) for gi, o in zip(g, s.outputs))
    return [op("concatenate", head, tail, axis=s.ax(s.attrs["axis"]))] + [None] * (len(s.inputs) - 1)


def linear_jvp(s: Site, t: Sequence[E | None]) -> Any:
    """The op itself applied to the tangents (zeros for float operands without one)."""
    if all(v is None for v in t):
        return None
    operands = [
        tv if tv is not None else (s.zeros_like(x, batched=False) if x.is_float else x)
        for tv, x in zip(t, s.inputs)
    ]
    return op(s.name, *operands, **s.attrs)


VJP = {
    "reshape": _reshape_vjp,
    "transpose": _transpose_vjp,
    "expand_dims": _expand_dims_vjp,
    "squeeze": _squeeze_vjp,
    "broadcast_to": _broadcast_to_vjp,
    "flip": _flip_vjp,
    "slice": _slice_vjp,
    "slice_update": _slice_update_vjp,
    "concatenate": _concatenate_vjp,
    "stack": _stack_vjp,
    "split": _split_vjp,
    "dynamic_slice": _dynamic_slice_vjp,
    "dynamic_update_slice": _dynamic_update_slice_vjp,
}

JVP = {name: linear_jvp for name in VJP}
