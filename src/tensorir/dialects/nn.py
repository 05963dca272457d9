"""Composite ops that stability rewrites target: softmax, log_softmax,
logsumexp and softmax_cross_entropy.

Each normalises over ``axes`` (a sorted tuple of distinct non-negative axes,
as for reductions); ``logsumexp`` also has ``keepdims``. Operands are float
(the frontend casts integers to float64, as SciPy does).

All three are computed with the max shift ``m = max(x)`` over ``axes``, so
they are exact for large inputs (``x = 1000``). Where no finite shift exists:

* ``logsumexp`` replaces a non-finite ``m`` by 0 (as ``scipy.special`` does):
  a slice that is all ``-inf`` (or empty) gives ``-inf``; one holding
  ``+inf`` gives ``+inf``; one holding NaN gives NaN.
* ``softmax``/``log_softmax`` replace only ``m = -inf`` by 0. ``-inf``
  entries among finite ones get probability 0 (log-probability ``-inf``);
  a slice that is all ``-inf`` has no distribution and gives NaN (0/0); a
  slice holding ``+inf`` or NaN gives NaN throughout, as in PyTorch, JAX and
  ``scipy.special.softmax``. So ``log(softmax(x))`` and ``log_softmax(x)``
  agree on every input.
* ``softmax_cross_entropy(x, y)`` is ``-sum(y * log_softmax(x))`` over
  ``axes`` (reduced, not kept), for labels ``y`` of the logits' dtype and
  shape, with ``0 * log_softmax = 0``: a label of exactly 0 contributes
  nothing even where its logit is ``-inf`` (a masked class), as ``0 log 0
  = 0`` in entropy. Elsewhere NaN where ``log_softmax`` is NaN.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import DTypeError, ShapeError
from .optable import OpDef
from .types import FLOAT_DTYPES, TensorType, require_equal

__all__ = ["OPS", "stable_shift"]


def _float_operand(types: Sequence[TensorType], attrs: Mapping[str, Any], op: str) -> TensorType:
    (t,) = types
    if t.dtype not in FLOAT_DTYPES:
        raise DTypeError(
            f"tir.{op} needs a float operand ({' or '.join(FLOAT_DTYPES)}), found {t.dtype}; "
            "cast integers to float first"
        )
    axes = tuple(attrs["axes"])
    if list(axes) != sorted(set(axes)) or any(not 0 <= a < t.rank for a in axes):
        raise ShapeError(
            f"tir.{op} needs sorted, distinct axes in [0, {t.rank}) for an operand of rank {t.rank}; "
            f"found {axes}"
        )
    return t


def _softmax_rule(op: str):
    def rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
        return _float_operand(types, attrs, op)

    return rule


def _logsumexp_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    t = _float_operand(types, attrs, "logsumexp")
    axes, keepdims = attrs["axes"], attrs["keepdims"]
    if keepdims:
        shape = tuple(1 if i in axes else d for i, d in enumerate(t.shape))
    else:
        shape = tuple(d for i, d in enumerate(t.shape) if i not in axes)
    return TensorType(t.dtype, shape)


def _cross_entropy_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    logits, labels = types
    _float_operand([logits], attrs, "softmax_cross_entropy")
    if labels.dtype != logits.dtype:
        raise DTypeError(
            f"tir.softmax_cross_entropy needs labels of the logits' dtype {logits.dtype}, found {labels.dtype}"
        )
    if labels.rank != logits.rank:
        raise ShapeError(
            f"tir.softmax_cross_entropy needs labels of the logits' shape; found logits of rank "
            f"{logits.rank} and labels of rank {labels.rank}"
        )
    shape = [
        require_equal(a, b, f"tir.softmax_cross_entropy: logits and labels differ on axis {i}")
        for i, (a, b) in enumerate(zip(logits.shape, labels.shape))
    ]
    axes = attrs["axes"]
    return TensorType(logits.dtype, tuple(d for i, d in enumerate(shape) if i not in axes))


# ---------------------------------------------------------------------------
# NumPy references (exact in the operand's dtype, stable for any input)


def stable_shift(x: np.ndarray, axes: tuple[int, ...], finite_only: bool) -> np.ndarray:
    """max(x) over ``axes`` (kept as size 1) with ``-inf`` (an all ``-inf`` or
    empty slice) replaced by 0; with ``finite_only`` also ``+inf`` and NaN."""
    m = np.max(x, axis=axes, keepdims=True, initial=-np.inf)
    bad = ~np.isfinite(m) if finite_only else m == -np.inf
    return np.where(bad, 0, m).astype(x.dtype)


def _shifted_sum(x: np.ndarray, axes: tuple[int, ...], finite_only: bool) -> tuple[np.ndarray, np.ndarray]:
    m = stable_shift(x, axes, finite_only)
    return m, np.sum(np.exp(x - m), axis=axes, keepdims=True)


def _softmax_ref(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    with np.errstate(all="ignore"):
        m, s = _shifted_sum(x, tuple(axes), False)
        return (np.exp(x - m) / s).astype(x.dtype)


def _log_softmax_ref(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    with np.errstate(all="ignore"):
        m, s = _shifted_sum(x, tuple(axes), False)
        return ((x - m) - np.log(s)).astype(x.dtype)


def _logsumexp_ref(x: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    with np.errstate(all="ignore"):
        m, s = _shifted_sum(x, tuple(axes), True)
        out = np.log(s) + m
        if not keepdims:
            out = out.reshape(tuple(d for i, d in enumerate(out.shape) if i not in axes))
        return out.astype(x.dtype)


def _softmax_cross_entropy_ref(x: np.ndarray, y: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    with np.errstate(all="ignore"):
        terms = np.where(y == 0, np.zeros((), x.dtype), y * _log_softmax_ref(x, axes))
        return (-np.sum(terms, axis=tuple(axes))).astype(x.dtype)


OPS: list[OpDef] = [
    OpDef(
        "softmax",
        ("x",),
        {"axes": "ints"},
        _softmax_rule("softmax"),
        _softmax_ref,
        "nn",
        True,
        "exp(x - max) / sum(exp(x - max)) over axes",
    ),
    OpDef(
        "log_softmax",
        ("x",),
        {"axes": "ints"},
        _softmax_rule("log_softmax"),
        _log_softmax_ref,
        "nn",
        True,
        "(x - max) - log(sum(exp(x - max))) over axes",
    ),
    OpDef(
        "logsumexp",
        ("x",),
        {"axes": "ints", "keepdims": "bool"},
        _logsumexp_rule,
        _logsumexp_ref,
        "nn",
        True,
        "log(sum(exp(x - max))) + max over axes",
    ),
    OpDef(
        "softmax_cross_entropy",
        ("logits", "labels"),
        {"axes": "ints"},
        _cross_entropy_rule,
        _softmax_cross_entropy_ref,
        "nn",
        True,
        "-sum(labels * log_softmax(logits)) over axes, as sum(labels * (max - logits)) + "
        "log(sum(exp(logits - max))) * sum(labels)",
    ),
]
