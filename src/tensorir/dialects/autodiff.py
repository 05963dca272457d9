"""Differentiation markers: ops that stand for a derivative not yet built.

The frontend's ``grad``, ``vjp``, ``jvp`` and ``jacobian`` emit these ops;
the ``tir-autodiff`` pass replaces every marker by the derivative
computation, built from the per-op rules in ``passes/autodiff``. Compiling
code that still holds a marker is an error, so no lowering exists for them.

* ``%p = tir.wrt(%x)`` is ``x`` itself, as a value of its own: the one a
  marker differentiates with respect to. Uses of ``x`` elsewhere are not on
  a path from ``%p``, so a gradient taken with respect to ``%p`` treats them
  as constants (nested gradients of closures cannot confuse their inputs).
* ``%g = tir.grad(%cost, %p)``: the gradient of the scalar float ``cost``
  with respect to ``p``; same type as ``p``.
* ``%g = tir.vjp(%y, %p, %ct)``: the vector-Jacobian product ``ct^T dy/dp``.
  ``ct`` has the shape of ``y``, optionally with leading batch dims (one
  product per batch entry: a Jacobian is the product with an identity);
  the result has those batch dims followed by the shape of ``p``.
* ``%t = tir.jvp(%y, %p, %tp)``: the Jacobian-vector product
  ``dy/dp . tp``, forward mode; ``tp`` has the type of ``p``, the result
  the type of ``y``.

Every marker's inputs and output are in one block, and the differentiated
computation is the ops on a path from ``p`` to ``y``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..errors import DTypeError, IRError, ShapeError
from .optable import OpDef
from .types import Dim, Sym, TensorType, require_equal

__all__ = ["OPS", "MARKERS"]

MARKERS = ("grad", "vjp", "jvp")


def _fmt(shape: Sequence[Dim]) -> str:
    dims = ["?" if isinstance(d, Sym) else str(d) for d in shape]
    return "(" + ", ".join(dims) + (",)" if len(dims) == 1 else ")")


def _float(t: TensorType, op: str, what: str) -> None:
    if not t.is_float:
        raise DTypeError(f"tir.{op}: {what} must be float32 or float64, found {t.dtype}")


def _wrt_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    return types[0]


def _grad_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    cost, wrt = types
    _float(cost, "grad", "the differentiated value")
    _float(wrt, "grad", "the value differentiated with respect to")
    if cost.rank != 0:
        raise ShapeError(f"tir.grad: the differentiated value must be a scalar, found shape {_fmt(cost.shape)}")
    return wrt


def _vjp_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    y, wrt, ct = types
    _float(y, "vjp", "the differentiated value")
    _float(wrt, "vjp", "the value differentiated with respect to")
    if ct.dtype != y.dtype:
        raise DTypeError(f"tir.vjp: the cotangent must have the dtype of the value ({y.dtype}), found {ct.dtype}")
    nb = ct.rank - y.rank
    if nb < 0:
        raise ShapeError(
            f"tir.vjp: the cotangent {_fmt(ct.shape)} must end with the shape of the value {_fmt(y.shape)}"
        )
    for a, b in zip(ct.shape[nb:], y.shape):
        require_equal(a, b, f"vjp: the cotangent must have the shape of the differentiated output {_fmt(y.shape)}")
    return TensorType(wrt.dtype, tuple(ct.shape[:nb]) + tuple(wrt.shape))


def _jvp_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> TensorType:
    y, wrt, tangent = types
    _float(y, "jvp", "the differentiated value")
    _float(wrt, "jvp", "the value differentiated with respect to")
    if tangent.dtype != wrt.dtype or tangent.rank != wrt.rank:
        raise ShapeError(
            f"tir.jvp: the tangent must have the type of the value it perturbs "
            f"({wrt.dtype}{_fmt(wrt.shape)}), found {tangent.dtype}{_fmt(tangent.shape)}"
        )
    for a, b in zip(tangent.shape, wrt.shape):
        require_equal(a, b, "tir.jvp: the tangent must have the shape of the value it perturbs")
    return y


def _unexpanded(name: str) -> Any:
    def reference(*args: Any, **attrs: Any) -> Any:
        raise IRError(f"tir.{name} is a differentiation marker: run the tir-autodiff pass before evaluating it")

    return reference


OPS: list[OpDef] = [
    OpDef("wrt", ("x",), {}, _wrt_rule, lambda x: x, "autodiff", True,
          "x itself, as the value a gradient is taken with respect to"),
    OpDef("grad", ("cost", "wrt"), {}, _grad_rule, _unexpanded("grad"), "autodiff", False,
          "gradient of the scalar cost with respect to wrt (expanded by tir-autodiff)"),
    OpDef("vjp", ("y", "wrt", "cotangent"), {}, _vjp_rule, _unexpanded("vjp"), "autodiff", False,
          "cotangent^T dy/dwrt, batched over the cotangent's leading dims (expanded by tir-autodiff)"),
    OpDef("jvp", ("y", "wrt", "tangent"), {}, _jvp_rule, _unexpanded("jvp"), "autodiff", False,
          "dy/dwrt . tangent, forward mode (expanded by tir-autodiff)"),
]
