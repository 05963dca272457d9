"""``tir-autodiff``: replace every differentiation marker by its derivative.

Takes in: tir with markers (``tir.grad``, ``tir.vjp``, ``tir.jvp``) and the
``tir.wrt`` values they differentiate with respect to (see
``dialects/autodiff.py``). Leaves: tir without them.

Markers are expanded in block order, so the innermost one of a nested
derivative (which the outer one's computation reads) is expanded first and
the outer one differentiates plain tir ops, its own inner expansion
included. Markers that share their differentiated value and seed form one
group and share one sweep:

* reverse mode (grad, vjp): the ops on a path from any of the group's
  ``wrt`` values to ``y``, visited last to first; each op's rule maps the
  cotangents of its results to contributions for its operands, which are
  summed per value and fitted to the operand's type (summed over broadcast
  axes). Cotangents carry the seed's leading batch dims, if any.
* forward mode (jvp): the same ops first to last; each rule maps the
  tangents of the operands to the tangent of the result.

The new ops go right before the group's first marker and carry the
location of the op they differentiate. A ``wrt`` value that does not reach
``y`` gets zeros, not an error. Afterwards each ``tir.wrt`` is replaced by
its operand.
"""

from __future__ import annotations

from typing import Any, Callable

from ...dialects import OPS, gather_rules, op_attrs
from ...dialects._bindings import ir, walk
from ...errors import IRError
from . import elementwise, linalg, nn, reduce, shape
from .builder import E, Site, add_all, const, dims, fit, zeros

__all__ = ["tir_autodiff", "VJP", "JVP"]

Rule = Callable[..., Any]


VJP: dict[str, Rule] = gather_rules("VJP", elementwise.VJP, reduce.VJP, linalg.VJP, nn.VJP, shape.VJP)
JVP: dict[str, Rule] = gather_rules("JVP", elementwise.JVP, reduce.JVP, linalg.JVP, nn.JVP, shape.JVP)

REVERSE = ("tir.grad", "tir.vjp")
FORWARD = ("tir.jvp",)


def tir_autodiff(module_op: ir.Operation) -> None:
    for fn in walk(module_op, ["func.func"]):
        for region in fn.regions:
            for block in region.blocks:
                _expand_block(block)


def _ops(block: ir.Block) -> list[ir.Operation]:
    return [view.operation for view in block.operations]


def _expand_block(block: ir.Block) -> None:
    while True:
        marker = next((o for o in _ops(block) if o.name in REVERSE + FORWARD), None)
        if marker is None:
            break
        if marker.name in FORWARD:
            _forward(block, marker)
        else:
            _reverse(block, marker)
    for o in _ops(block):
        if o.name == "tir.wrt":
            o.results[0].replace_all_uses_with(o.operands[0])
            o.erase()


def _on_path(ops: list[ir.Operation], sources: list[ir.Value], sinks: list[ir.Value]) -> tuple[list[ir.Operation], set]:
    """The ops on a path from ``sources`` to ``sinks`` (block order), and the
    values that depend on a source."""
    tainted: set = set(sources)
    forward: list[ir.Operation] = []
    for o in ops:
        if any(v in tainted for v in o.operands):
            forward.append(o)
            tainted.update(o.results)
    needed: set = set(sinks)
    path: list[ir.Operation] = []
    for o in reversed(forward):
        if any(r in needed for r in o.results):
            path.append(o)
            needed.update(o.operands)
    path.reverse()
    return path, tainted


def _site(o: ir.Operation, batch: list[Any], on_path: set | None = None) -> Site:
    name = o.name[4:]
    inputs = [E(v) for v in o.operands]
    needs = None if on_path is None else [x.is_float and v in on_path for v, x in zip(o.operands, inputs)]
    return Site(name, inputs, [E(r) for r in o.results], op_attrs(o, OPS[name]), batch, needs)


def _differentiable(o: ir.Operation) -> bool:
    if not o.name.startswith("tir."):
        raise IRError(f"tir-autodiff cannot differentiate through {o.name} (only tir ops)")
    return OPS[o.name[4:]].differentiable


def _rule(table: dict[str, Rule], o: ir.Operation, mode: str) -> Rule:
    rule = table.get(o.name[4:])
    if rule is None:
        raise IRError(f"{o.name} is marked differentiable but has no {mode} rule")
    return rule


def _replace(marker: ir.Operation, value: E) -> None:
    marker.results[0].replace_all_uses_with(value.value)
    marker.erase()


def _reverse(block: ir.Block, first: ir.Operation) -> None:
    ops = _ops(block)
    y = first.operands[0]
    seed = first.operands[2] if first.name == "tir.vjp" else None
    group = [
        o for o in ops
        if o.name == first.name and o.operands[0] == y and (seed is None or o.operands[2] == seed)
    ]
    wrts = [o.operands[1] for o in group]
    path, tainted = _on_path(ops, wrts, [y])
    adjoints: dict[Any, list[E]] = {}
    totals: dict[Any, E] = {}

    def total(v: ir.Value) -> E | None:
        if v not in totals and v in adjoints:
            totals[v] = add_all(adjoints[v])
        return totals.get(v)

    with ir.InsertionPoint(first), first.location:
        ye = E(y)
        if seed is None:
            batch: list[Any] = []
            adjoints[y] = [const(1.0, ye.dtype)]
        else:
            s = E(seed)
            batch = dims(s, range(s.rank - ye.rank))
            adjoints[y] = [s]
        for o in reversed(path):
            gs = [total(r) for r in o.results]
            if all(g is None for g in gs) or not _differentiable(o):
                continue
            rule = _rule(VJP, o, "gradient (VJP)")
            site = _site(o, batch, tainted)
            with o.location:
                cts = rule(site, gs[0] if len(gs) == 1 else gs)
                for v, need, x, ct in zip(o.operands, site.needs, site.inputs, cts):
                    if ct is not None and need:
                        adjoints.setdefault(v, []).append(fit(ct, x, batch))
        results = [total(o.operands[1]) for o in group]
    for o, value in zip(group, results):
        if value is None:  # p does not reach y: zeros, made where p is sure to be defined
            with ir.InsertionPoint(o), o.location:
                p = E(o.operands[1])
                value = zeros(batch + dims(p), p.dtype)
        _replace(o, value)


def _forward(block: ir.Block, first: ir.Operation) -> None:
    ops = _ops(block)
    p, t = first.operands[1], first.operands[2]
    # markers of the same (p, t) whose y is computed before the first one: the
    # sweep, inserted at the first, can reach all of their ys
    early = set()
    for o in ops:
        if o == first:
            break
        early.update(o.results)
    group = [
        o for o in ops
        if o.name == "tir.jvp" and o.operands[1] == p and o.operands[2] == t
        and (o.operands[0] in early or isinstance(o.operands[0].owner, ir.Block))
    ]
    path, _ = _on_path(ops, [p], [o.operands[0] for o in group])
    tangents: dict[Any, E] = {p: E(t)}
    with ir.InsertionPoint(first):
        for o in path:
            ts = [tangents.get(v) for v in o.operands]
            if all(tv is None for tv in ts) or not _differentiable(o):
                continue
            rule = _rule(JVP, o, "forward (JVP)")
            site = _site(o, [])
            with o.location:
                out = rule(site, ts)
                outs = out if isinstance(out, (list, tuple)) else [out]
                for r, res, tv in zip(o.results, site.outputs, outs):
                    if tv is not None and res.is_float:
                        tangents[r] = fit(tv, res)
    for o in group:
        value = tangents.get(o.operands[0])
        if value is None:
            with ir.InsertionPoint(o), o.location:
                y = E(o.operands[0])
                value = zeros(dims(y), y.dtype)
        _replace(o, value)
