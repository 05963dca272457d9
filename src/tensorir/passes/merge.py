"""``tir-merge``: one op for each distinct computation (common subexpression
elimination, Theano's MergeOptimizer).

Takes in and leaves: any IR. Two tir ops of one block are the same
computation when they have the same name, the same operand values, the same
attributes and the same result types; the later one is replaced by the
earlier one. Ops are visited in block order and operands are looked up after
the merges before them, so equal constants (same dense value and type) merge
first and whole equal subgraphs then merge bottom-up in one sweep.

What is never merged:

* ``tir.wrt``: each one is a distinct differentiation variable (see
  ``dialects/autodiff.py``); two ``wrt`` of one value are two variables, and
  merging them would make one gradient see the other's uses. Of the other
  ``autodiff`` family ops only the markers (``grad``, ``vjp``, ``jvp``) merge:
  two markers of the same operands are the same derivative.
* upstream ops (``func``, ``arith``, ...): left to upstream ``cse``.
* ops of different blocks: every block has its own table, so no value is
  reused where it does not dominate (nested regions, which tir itself does
  not have, and isolated-from-above bodies are covered alike).

Scans (``tir.scan``) merge like any op: same operands, same attributes,
same result types. Their ``body`` attribute is compared by what the body
computes, not by name: two body functions are the same when their text
with the name left out is the same (same signature, same ops, operands,
attributes, in the same order), so two scans of the same step traced twice
(``@f_step`` and ``@f_step_1``) are one loop; the later scan's body is then
left unreferenced, for ``tir-dce`` to erase. Bodies that compute the same
thing written differently stay apart (no merge is missed that matters for
soundness: merging only ever needs equal computations). The body functions
themselves are blocks like any other, so equal ops inside one step merge.

tir ops are pure (they have no side effects and no non-deterministic op
exists in the table), which is what makes this sound.

The standard pipelines run it before ``tir-autodiff``, so a forward
computation written twice is differentiated once, and again after it, for
the duplicates the sweeps build themselves. Before autodiff it keeps the
markers' meaning:

* merged ops have equal operands, so they read exactly the same ``tir.wrt``
  values: a value on a path from a ``wrt`` stays on one, a value off every
  path stays off (an op between a ``wrt`` and its marker that does not read
  the ``wrt`` may merge with the same op outside: to the derivative both are
  constants). Every value computes the same function of the block arguments
  and the ``wrt`` values as before, and a marker's derivative depends on
  those functions alone; the uses of a merged value get their cotangents
  summed (reverse mode) or share its tangent (forward mode).
* a later op gives way to an earlier one of the same block, so what
  ``tir-autodiff`` relies on holds: every marker's operands are still
  defined before it, the inner marker of a nested derivative stays before
  the outer one that reads it, and the markers that share one sweep (same
  value and seed, or same ``wrt`` and tangent) can only become more.
"""

from __future__ import annotations

from typing import Hashable

from ..dialects import OPS
from ..dialects._bindings import ir, walk
from ..dialects.autodiff import MARKERS
from ..dialects.control import BODY
from .bodies import functions

__all__ = ["tir_merge", "mergeable"]


def mergeable(name: str) -> bool:
    """Whether two ``tir.<name>`` ops of equal operands and attributes are one."""
    opdef = OPS.get(name)
    if opdef is None:
        return False
    return opdef.family != "autodiff" or name in MARKERS


def tir_merge(module_op: ir.Operation) -> None:
    # blocks first: merging erases ops, which a walk list must not hold
    blocks = [block for op in walk(module_op) for region in op.regions for block in region.blocks]
    bodies = _Bodies(module_op)
    for block in blocks:
        _merge_block(block, bodies)


class _Bodies:
    """The text of each body function without its name, made on first request."""

    def __init__(self, module_op: ir.Operation):
        self.module_op = module_op
        self.texts: dict[str, str] = {}

    def text(self, name: str) -> str:
        if name not in self.texts:
            fn = functions(self.module_op).get(name)
            # an undefined body (the verifier's to report) only equals itself
            self.texts[name] = "@" + name if fn is None else str(fn).replace(f"@{name}(", "@(", 1)
        return self.texts[name]


def _merge_block(block: ir.Block, bodies: _Bodies) -> None:
    seen: dict[Hashable, ir.Operation] = {}
    for view in list(block.operations):
        op = view.operation
        if not op.name.startswith("tir.") or not mergeable(op.name[4:]) or len(op.regions):
            continue
        key = _key(op, bodies)
        first = seen.get(key)
        if first is None:
            seen[key] = op
            continue
        for mine, theirs in zip(op.results, first.results):
            mine.replace_all_uses_with(theirs)
        op.erase()


def _key(op: ir.Operation, bodies: _Bodies) -> Hashable:
    """Identity of the computation ``op`` performs. Attributes and types are
    uniqued by MLIR, so comparing them compares their values exactly
    (``-0.0`` and ``0.0`` differ, one NaN payload equals itself); a scan's
    body is compared by its text (see the module docstring)."""
    attrs = op.attributes
    named = tuple(sorted(
        (attrs[i].name, bodies.text(ir.FlatSymbolRefAttr(attrs[i].attr).value) if _is_body(op, attrs[i].name)
         else attrs[i].attr)
        for i in range(len(attrs))
    ))
    return (
        op.name,
        tuple(op.operands),
        named,
        tuple(r.type for r in op.results),
    )


def _is_body(op: ir.Operation, attribute: str) -> bool:
    return op.name == "tir.scan" and attribute == BODY
