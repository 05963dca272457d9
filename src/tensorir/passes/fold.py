"""``tir-fold``: evaluate at compile time what depends on constants only.

Takes in and leaves: any IR. A tir op whose operands are all constant is
replaced by a ``tir.constant`` holding its value, computed by the op's NumPy
reference implementation from the op table, the oracle the interpreter and
the tests use, so a folded op means exactly what the compiled op means
(integer division by zero gives the reference's 0, float overflow its inf;
the references ignore NumPy's warnings). Ops are visited in block order, so
a chain of constant ops folds in one sweep. The operands that become unused
are left to ``tir-dce``.

An operand is constant when ``tir.constant`` makes it, or a ``tir.full`` or
``tir.arange`` of static shape (no operands) of at most :data:`MAX_ELEMENTS`
elements; those two are not folded themselves (a constructor is already as
small as a constant, often smaller).

Left alone:

* ops with no operands, and ops with an ``index`` operand (a ``tir.dim``):
  such values are known only at run time;
* ops whose result type has a free (``?``) dim, or an ``index`` result
  (``tir.dim``: tir has no index constant);
* results of more than :data:`MAX_ELEMENTS` elements: folding must not bloat
  the IR;
* the ``autodiff`` family (``tir.wrt`` is a differentiation variable, not
  the identity it evaluates to; markers have no reference);
* the ``control`` family (``tir.scan``): its value comes from running its
  body function, which the op table's reference cannot do; a scan of
  constant operands stays a loop (the ops inside its body fold on their
  own where their operands are constants of the body);
* ops whose reference raises on the constant operands: the compiled op then
  runs as it would without folding.

Each folded value is built as ``tir.constant`` with a dense attribute (a
splat when all elements are equal) of exactly the op's result type, at the
op's position and location.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..dialects import OPS, create, op_attrs
from ..dialects._bindings import ir, walk
from ..dialects.optable import element_dtype

__all__ = ["tir_fold", "MAX_ELEMENTS"]

MAX_ELEMENTS = 2**16

# Operand-free value constructors whose value feeds folding (they are not
# folded themselves).
_CONSTRUCTORS = ("tir.full", "tir.arange")

# Op families left alone (see the module docstring).
_NOT_FOLDED = ("autodiff", "control")


def tir_fold(module_op: ir.Operation) -> None:
    for op in walk(module_op):
        if op.name.startswith("tir.") and op.name != "tir.constant":
            _fold(op)


def _fold(op: ir.Operation) -> None:
    opdef = OPS.get(op.name[4:])
    if opdef is None or opdef.family in _NOT_FOLDED or len(op.operands) == 0:
        return
    types = [_static(r.type) for r in op.results]
    if any(t is None for t in types):
        return
    arrays = []
    for v in op.operands:
        value = _constant_value(v)
        if value is None:
            return
        arrays.append(value)
    try:
        out = opdef.reference(*arrays, **op_attrs(op, opdef))
    except Exception:  # the reference rejects these values: leave the op to run
        return
    outs = list(out) if opdef.multi_result else [out]
    folded = []
    for value, (dtype, shape) in zip(outs, types):  # type: ignore[misc]
        arr = np.asarray(value)
        if arr.shape != shape:
            return  # reference and type rule disagree: not ours to settle here
        folded.append(arr.astype(dtype, copy=False))
    with ir.InsertionPoint(op), op.location:
        constants = [create(OPS["constant"], [], {"value": arr}) for arr in folded]
    for result, const in zip(op.results, constants):
        result.replace_all_uses_with(const.result)
    op.erase()


def _static(t: ir.Type) -> tuple[str, tuple[int, ...]] | None:
    """(dtype, shape) of a static tensor type of at most MAX_ELEMENTS elements."""
    if not isinstance(t, ir.RankedTensorType) or not t.has_static_shape:
        return None
    shape = tuple(int(d) for d in t.shape)
    if int(np.prod(shape, dtype=np.int64)) > MAX_ELEMENTS:
        return None
    return element_dtype(t.element_type), shape


def _constant_value(v: ir.Value) -> Any:
    """The value of ``v`` as a NumPy array when it is a compile-time
    constant, else None."""
    owner = v.owner
    if not isinstance(owner, ir.Operation):
        owner = getattr(owner, "operation", owner)
    if not isinstance(owner, ir.Operation):
        return None  # a block argument
    if owner.name == "tir.constant":
        return op_attrs(owner, OPS["constant"])["value"]
    if owner.name in _CONSTRUCTORS and len(owner.operands) == 0:
        t = _static(v.type)
        if t is None:
            return None
        opdef = OPS[owner.name[4:]]
        return np.asarray(opdef.reference(**op_attrs(owner, opdef))).astype(t[0], copy=False)
    return None
