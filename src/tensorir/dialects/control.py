"""Control flow: ``tir.scan``, a loop over steps that carries state.

One op, in the form every later stage works with (the frontend's Theano
conventions, taps and ``go_backwards``, are rewritten into it when the
graph is built)::

    %outs = "tir.scan"([%n,] %init..., %xs..., %consts...)
              {body = @step, num_carry = C, num_xs = X, length = L, reverse = R}

* ``body`` names a private ``func.func`` (IRDL ops cannot end a block, so
  the body is a function of its own, see DESIGN §3) of type
  ``(carry..., x_t..., const...) -> (carry'..., y_t...)``;
* the op's results are the carries after the last step (``C`` of them, the
  types of ``init``) followed by the per-step outputs stacked along a new
  leading axis of length ``n``: ``ys[t] = y_t``;
* ``xs`` are read one slice per step, ``x_t = xs[t]``; every ``xs`` has
  length ``n`` along axis 0;
* ``n`` is ``xs[0].shape[0]`` when there are ``xs``; without them it is the
  static ``length`` (``>= 0``), or, when ``length`` is ``-1``, the ``index``
  operand that comes first;
* with ``reverse`` the steps visit ``t = n-1, ..., 0``: ``x_t`` is still
  ``xs[t]`` and ``y_t`` goes to ``ys[t]`` (so the reverse-mode derivative of
  a scan is a scan with ``reverse`` flipped).

Steps are strictly sequential; ``n = 0`` returns the initial carries and
empty stacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..errors import IRError
from ._bindings import ir
from .optable import OpDef
from .types import TensorType

__all__ = ["OPS", "ScanLayout", "scan_layout", "scan_body", "scan_result_types", "types_agree", "is_private", "BODY"]

BODY = "body"


def _scan_rule(types: Sequence[TensorType], attrs: Mapping[str, Any]) -> list[TensorType]:
    raise IRError(
        "tir.scan takes the types of its per-step outputs from its body function; "
        "build it with explicit result types"
    )


def _scan_reference(*args: Any, **attrs: Any) -> Any:
    raise IRError("tir.scan runs its body function: evaluate it with dialects.interpreter.run_scan")


OPS: list[OpDef] = [
    OpDef("scan", ("*args",), {"body": "symbol", "num_carry": "int", "num_xs": "int", "length": "int",
                               "reverse": "bool"},
          _scan_rule, _scan_reference, "control", True,
          "a loop of n steps: (carry, x_t, const) -> (carry', y_t) by the body function; "
          "results: the last carries and the stacked y_t", num_results=-1),
]


@dataclass(frozen=True)
class ScanLayout:
    """Where each group of a ``tir.scan``'s operands and results lies."""

    has_n: bool
    num_carry: int
    num_xs: int
    num_consts: int
    num_ys: int
    length: int
    reverse: bool

    @property
    def carry(self) -> slice:
        s = int(self.has_n)
        return slice(s, s + self.num_carry)

    @property
    def xs(self) -> slice:
        s = int(self.has_n) + self.num_carry
        return slice(s, s + self.num_xs)

    @property
    def consts(self) -> slice:
        s = int(self.has_n) + self.num_carry + self.num_xs
        return slice(s, s + self.num_consts)

    @property
    def final(self) -> slice:
        """The results holding the last carries."""
        return slice(0, self.num_carry)

    @property
    def ys(self) -> slice:
        """The results holding the stacked per-step outputs."""
        return slice(self.num_carry, self.num_carry + self.num_ys)


def scan_layout(op: ir.Operation) -> ScanLayout:
    """The operand and result groups of a ``tir.scan`` op, checked against its counts."""
    attrs = op.attributes
    num_carry = int(ir.IntegerAttr(attrs["num_carry"]).value)
    num_xs = int(ir.IntegerAttr(attrs["num_xs"]).value)
    length = int(ir.IntegerAttr(attrs["length"]).value)
    reverse = bool(ir.BoolAttr(attrs["reverse"]).value)
    has_n = num_xs == 0 and length < 0
    num_consts = len(op.operands) - int(has_n) - num_carry - num_xs
    num_ys = len(op.results) - num_carry
    if min(num_carry, num_xs, num_consts, num_ys) < 0:
        raise IRError(
            f"tir.scan at {op.location}: {len(op.operands)} operands and {len(op.results)} results do not "
            f"fit num_carry = {num_carry}, num_xs = {num_xs}"
            + (" and the length operand" if has_n else "")
        )
    return ScanLayout(has_n, num_carry, num_xs, num_consts, num_ys, length, reverse)


def is_private(fn: ir.Operation) -> bool:
    """Whether a ``func.func`` is private (a scan body; not an entry point)."""
    return "sym_visibility" in fn.attributes and ir.StringAttr(fn.attributes["sym_visibility"]).value == "private"


def scan_body(op: ir.Operation) -> ir.Operation:
    """The ``func.func`` a ``tir.scan`` names as its body (in the enclosing module)."""
    name = ir.FlatSymbolRefAttr(op.attributes[BODY]).value
    parent = op.parent
    while parent is not None and parent.operation.name != "builtin.module":
        parent = parent.operation.parent
    if parent is None:
        raise IRError(f"tir.scan at {op.location} is not inside a module")
    for view in parent.operation.regions[0].blocks[0].operations:
        fn = view.operation
        if fn.name == "func.func" and ir.StringAttr(fn.attributes["sym_name"]).value == name:
            return fn
    raise IRError(f"tir.scan at {op.location} names the body @{name}, which the module does not define")


def scan_result_types(op: ir.Operation) -> list[TensorType]:
    """The result types a ``tir.scan`` must have, from its operands and its body.

    Raises :class:`IRError` when the body does not fit the operands: its
    parameters must be (carry..., x_t..., const...) of the operands' types
    (``x_t`` without the step axis), and it must return the carries' types
    followed by the per-step outputs. Free dims (``?``) agree with anything.
    """
    from .optable import from_mlir_type

    layout = scan_layout(op)
    body = scan_body(op)
    name = ir.FlatSymbolRefAttr(op.attributes[BODY]).value
    ftype = ir.FunctionType(ir.TypeAttr(body.attributes["function_type"]).value)
    operands = [from_mlir_type(v.type) for v in op.operands]
    if layout.has_n and operands[0].dtype != "index":
        raise IRError(f"tir.scan: without sequences and a static length, operand 0 must be the index step count, found {operands[0]}")
    carries, xs, consts = operands[layout.carry], operands[layout.xs], operands[layout.consts]
    steps: Any = layout.length if not xs else xs[0].shape[0] if xs[0].rank else None
    for k, x in enumerate(xs):
        if x.rank == 0:
            raise IRError(f"tir.scan: sequence {k} is a scalar; sequences are read one row per step")
    want_args = carries + [TensorType(x.dtype, x.shape[1:]) for x in xs] + consts
    args = [from_mlir_type(t) for t in ftype.inputs]
    if len(args) != len(want_args):
        raise IRError(
            f"tir.scan: its body @{name} takes {len(args)} values, but the scan passes {len(carries)} carries, "
            f"{len(xs)} sequences and {len(consts)} constants"
        )
    for k, (have, want) in enumerate(zip(args, want_args)):
        if not types_agree(have, want):
            raise IRError(f"tir.scan: parameter {k} of its body @{name} has type {have}, the scan passes {want}")
    results = [from_mlir_type(t) for t in ftype.results]
    if len(results) < len(carries):
        raise IRError(f"tir.scan: its body @{name} returns {len(results)} values, fewer than its {len(carries)} carries")
    for k, (have, want) in enumerate(zip(results, carries)):
        if not types_agree(have, want):
            raise IRError(f"tir.scan: its body @{name} returns carry {k} as {have}, but the carry is {want}")
    ys = results[len(carries):]
    from .types import Sym

    n = steps if isinstance(steps, int) and steps >= 0 else Sym.fresh()
    return carries + [TensorType(y.dtype, (n,) + tuple(y.shape)) for y in ys]


def types_agree(a: TensorType, b: TensorType) -> bool:
    """Same dtype and rank, and equal dims where both are static (a free dim
    agrees with anything)."""
    if a.dtype != b.dtype or a.rank != b.rank:
        return False
    return all(not (isinstance(x, int) and isinstance(y, int)) or x == y for x, y in zip(a.shape, b.shape))
