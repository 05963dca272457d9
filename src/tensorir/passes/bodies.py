"""Scan bodies for the tir passes: finding them, and changing a scan together with its body.

A ``tir.scan`` names its body, a ``func.func`` of the module, by symbol (see
``dialects/control.py``). A pass that changes a body's signature (dropping
an argument or a result, adding a constant argument) must change every scan
that names it the same way, and must not touch a function anything else
reads. :func:`owned_by_scans` says when a body is the scans' alone: it is
private and every reference to its symbol, anywhere in the module, is the
``body`` attribute of one of those scans. A body that is not (a public
function, one that a ``func.call`` also names) is cloned first
(:func:`clone_function`) when a pass wants to change it for one scan.

:func:`rebuild_scan` builds the new scan with ``dialects.create`` (which
sizes the ``operandSegmentSizes``/``resultSegmentSizes`` attributes of the
op's optional groups), moves the uses of the kept results to it and erases
the old op; :func:`set_signature` gives a body new arguments or results.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Mapping, Sequence

from ..dialects import OPS, create, from_mlir_type, op_attrs
from ..dialects._bindings import ir, walk
from ..dialects.control import BODY, is_private

__all__ = [
    "functions",
    "symbol_uses",
    "is_private",
    "body_name",
    "scans_by_body",
    "owned_by_scans",
    "clone_function",
    "own_body",
    "rebuild_scan",
    "set_signature",
    "erase_dead",
]


def functions(module_op: ir.Operation) -> dict[str, ir.Operation]:
    """The module's top-level ``func.func`` ops by symbol name."""
    found = {}
    for view in module_op.regions[0].blocks[0].operations:
        op = view.operation
        if op.name == "func.func":
            found[ir.StringAttr(op.attributes["sym_name"]).value] = op
    return found


def symbol_uses(module_op: ir.Operation) -> Counter[str]:
    """How often each symbol is referenced, in any attribute of any op
    (arrays and dictionaries of attributes included; nested references
    count their root symbol)."""
    uses: Counter[str] = Counter()
    for op in walk(module_op):
        attrs = op.attributes
        for i in range(len(attrs)):
            _references(attrs[i].attr, uses)
    return uses


def _references(attr: ir.Attribute, uses: Counter[str]) -> None:
    if isinstance(attr, ir.FlatSymbolRefAttr):
        uses[attr.value] += 1
    elif isinstance(attr, ir.SymbolRefAttr):
        uses[str(attr)[1:].split("::")[0].strip('"')] += 1
    elif isinstance(attr, ir.ArrayAttr):
        for element in attr:
            _references(element, uses)
    elif isinstance(attr, ir.DictAttr):
        for i in range(len(attr)):
            _references(attr[i].attr, uses)


def body_name(scan: ir.Operation) -> str:
    return str(ir.FlatSymbolRefAttr(scan.attributes[BODY]).value)


def scans_by_body(module_op: ir.Operation) -> dict[str, list[ir.Operation]]:
    """Every ``tir.scan`` of the module, grouped by the body it names (walk order)."""
    groups: dict[str, list[ir.Operation]] = {}
    for op in walk(module_op, ["tir.scan"]):
        groups.setdefault(body_name(op), []).append(op)
    return groups


def owned_by_scans(fn: ir.Operation, scans: Sequence[ir.Operation], uses: Mapping[str, int]) -> bool:
    """Whether ``fn`` is private and referenced only as the body of ``scans``."""
    name = ir.StringAttr(fn.attributes["sym_name"]).value
    return is_private(fn) and uses.get(name, 0) == len(scans)


def clone_function(fn: ir.Operation, stem: str | None = None) -> str:
    """A private copy of ``fn`` placed right after it, under a new unused
    name (``<stem>_<k>``, the stem ``fn``'s name by default); returns the name."""
    module_op = fn.parent.operation
    taken = set(functions(module_op))
    base = stem or ir.StringAttr(fn.attributes["sym_name"]).value
    k = 1
    while f"{base}_{k}" in taken:
        k += 1
    name = f"{base}_{k}"
    copy = fn.clone(ip=ir.InsertionPoint.after(fn))
    copy.attributes["sym_name"] = ir.StringAttr.get(name)
    copy.attributes["sym_visibility"] = ir.StringAttr.get("private")
    return name


def own_body(scan: ir.Operation, body: ir.Operation) -> bool:
    """Make ``scan`` the only user of its ``body`` before a pass changes it:
    when the body is public or something else names it too, ``scan`` is
    rebuilt on a private clone. Returns whether it was (the caller then
    walks the module again: ``scan`` is a new op)."""
    if owned_by_scans(body, [scan], symbol_uses(body.parent.operation)):
        return False
    name = clone_function(body, body_name(scan))
    rebuild_scan(scan, list(scan.operands), range(len(list(scan.results))), body=name)
    return True


def rebuild_scan(
    scan: ir.Operation,
    operands: Sequence[ir.Value],
    kept_results: Sequence[int],
    extra_types: Sequence[Any] = (),
    **changes: Any,
) -> ir.Operation:
    """Replace ``scan`` by a ``tir.scan`` of ``operands`` whose results are
    the old results ``kept_results`` (in that order, their uses moved over)
    followed by new results of ``extra_types``, its attributes those of
    ``scan`` updated by ``changes`` (``body``, ``num_xs``, ...). The dropped
    results must be unused. Returns the new op."""
    attrs = dict(op_attrs(scan, OPS["scan"]), **changes)
    old = list(scan.results)
    types = [from_mlir_type(old[i].type) for i in kept_results] + list(extra_types)
    with ir.InsertionPoint(scan), scan.location:
        new = create(OPS["scan"], list(operands), attrs, types)
    for k, i in enumerate(kept_results):
        old[i].replace_all_uses_with(new.results[k])
    scan.erase()
    return new


def set_signature(
    fn: ir.Operation,
    drop_args: Sequence[int] = (),
    new_args: Sequence[ir.Type] = (),
    returned: Sequence[ir.Value] | None = None,
    at: int | None = None,
) -> list[ir.Value]:
    """Change a function's signature: erase the (unused) arguments
    ``drop_args``, add arguments of ``new_args`` types (appended, or placed
    at position ``at``), and return ``returned`` (default: what it returns
    now). Updates ``function_type``; returns the new block arguments."""
    from mlir.dialects import func

    block = fn.regions[0].blocks[0]
    for i in sorted(set(drop_args), reverse=True):
        block.erase_argument(i)
    added = [block.add_argument(t, fn.location) for t in new_args]
    if at is not None:  # blocks only append: the arguments from ``at`` on move behind the new ones
        old = list(block.arguments)[: len(list(block.arguments)) - len(added)]
        for arg in old[at:]:
            arg.replace_all_uses_with(block.add_argument(arg.type, fn.location))
        for i in range(len(old) - 1, at - 1, -1):
            block.erase_argument(i)
    ret = list(block.operations)[-1].operation
    if returned is not None:
        with ir.InsertionPoint(ret), ret.location:
            func.ReturnOp(list(returned))
        ret.erase()
        ret = list(block.operations)[-1].operation
    fn.attributes["function_type"] = ir.TypeAttr.get(
        ir.FunctionType.get([a.type for a in block.arguments], [v.type for v in ret.operands])
    )
    return added


def erase_dead(values: Sequence[ir.Value]) -> None:
    """Erase the tir ops defining ``values`` once they have no users, transitively."""
    work = list(values)
    while work:
        value = work.pop()
        if not isinstance(value, ir.OpResult):
            continue
        op = value.owner.operation
        if not op.name.startswith("tir.") or any(_used(r) for r in op.results):
            continue
        results = list(op.results)
        work = [v for v in work if not any(v == r for r in results)]
        work.extend(op.operands)
        op.erase()


def _used(value: ir.Value) -> bool:
    for _ in value.uses:
        return True
    return False
