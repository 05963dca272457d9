"""``tir-dce``: drop tir ops whose results nobody reads, and the parts of scans nobody needs.

Takes in and leaves: any IR. Only tir ops are removed (they have no side
effects); upstream ops are left to upstream passes. Runs to a fixed point,
so a whole dead chain goes at once, inside scan bodies as well.

Scans (``tir.scan``, see ``dialects/control.py``) lose what does not reach
a live value:

* a stacked output (``ys``) that no scan naming the body reads: the scan is
  rebuilt without it and the body returns one value fewer, so the ops that
  computed it go too;
* a constant operand whose body argument nothing in the body reads;
* a sequence (``xs``) the body does not read, as long as another sequence
  is left to give the number of steps;
* a private function that no longer has any reference, when it holds
  nothing but tir ops (a scan body whose scans were all removed, or a body
  clone left behind by ``tir-hoist``). A public function stays, and so does
  every function any op still names.

The carries stay even when their final value is unread: they feed the
recurrence from one step to the next. A body is only re-signed when it is
private and every reference to it is the ``body`` of a scan (see
``bodies.owned_by_scans``); then all its scans change alike, and an output
goes only when none of them reads it.
"""

from __future__ import annotations

from ..dialects._bindings import ir, walk
from ..dialects.control import scan_layout
from .bodies import functions, is_private, owned_by_scans, rebuild_scan, scans_by_body, set_signature, symbol_uses

__all__ = ["tir_dce"]


def tir_dce(module_op: ir.Operation) -> None:
    changed = True
    while changed:
        changed = _erase_dead_ops(module_op)
        changed |= _trim_scans(module_op)
        changed |= _erase_dead_functions(module_op)


def _erase_dead_ops(module_op: ir.Operation) -> bool:
    erased = False
    changed = True
    while changed:
        changed = False
        for op in reversed(walk(module_op)):
            if op.name.startswith("tir.") and all(_unused(r) for r in op.results):
                op.erase()
                changed = erased = True
    return erased


def _unused(value: ir.Value) -> bool:
    for _ in value.uses:
        return False
    return True


def _trim_scans(module_op: ir.Operation) -> bool:
    """Drop the unused outputs, constants and sequences of every scan of a
    body the scans own; whether anything changed."""
    uses = symbol_uses(module_op)
    fns = functions(module_op)
    changed = False
    for name, scans in scans_by_body(module_op).items():
        fn = fns.get(name)
        if fn is None or not owned_by_scans(fn, scans, uses):
            continue
        changed |= _trim(fn, scans)
    return changed


def _trim(fn: ir.Operation, scans: list[ir.Operation]) -> bool:
    block = fn.regions[0].blocks[0]
    args = list(block.arguments)
    ret = list(block.operations)[-1].operation
    returned = list(ret.operands)
    layouts = [scan_layout(s) for s in scans]
    if any(len(args) != lay.num_carry + lay.num_xs + lay.num_consts or len(returned) != len(list(s.results))
           for s, lay in zip(scans, layouts)):
        return False  # a scan that does not fit its body: the verifier's to report
    # body argument i: a constant for every scan, or a sequence with another one left
    drop_args = [i for i, a in enumerate(args) if _unused(a) and all(i >= lay.num_carry + lay.num_xs for lay in layouts)]
    unread_xs = [i for i, a in enumerate(args) if _unused(a) and all(
        lay.num_carry <= i < lay.num_carry + lay.num_xs for lay in layouts)]
    fewest_xs = min(lay.num_xs for lay in layouts)
    drop_args += unread_xs[: max(0, min(len(unread_xs), fewest_xs - 1))]
    # body result j: a stacked output that no scan reads
    drop_results = [
        j for j in range(len(returned))
        if all(j >= lay.num_carry for lay in layouts) and all(_unused(s.results[j]) for s in scans)
    ]
    if not drop_args and not drop_results:
        return False
    for scan, lay in zip(scans, layouts):
        operands = list(scan.operands)
        kept = [v for i, v in enumerate(operands) if i - lay.has_n not in drop_args]
        dropped_xs = sum(1 for i in drop_args if lay.num_carry <= i < lay.num_carry + lay.num_xs)
        rebuild_scan(scan, kept, [j for j in range(len(returned)) if j not in drop_results],
                     num_xs=lay.num_xs - dropped_xs)
    set_signature(fn, drop_args, returned=[v for j, v in enumerate(returned) if j not in drop_results])
    return True


def _erase_dead_functions(module_op: ir.Operation) -> bool:
    uses = symbol_uses(module_op)
    erased = False
    for name, fn in functions(module_op).items():
        if is_private(fn) and uses.get(name, 0) == 0 and _only_tir(fn):
            fn.erase()
            erased = True
    return erased


def _only_tir(fn: ir.Operation) -> bool:
    ops = walk(fn)[1:]
    return bool(fn.regions[0].blocks) and all(o.name.startswith("tir.") or o.name == "func.return" for o in ops)
