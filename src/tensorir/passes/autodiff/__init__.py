"""``tir-autodiff``: replace every differentiation marker by its derivative.

Takes in: tir with markers (``tir.grad``, ``tir.vjp``, ``tir.jvp``) and the
``tir.wrt`` values they differentiate with respect to (see
``dialects/autodiff.py``). Leaves: tir without them.

Markers are expanded in block order, so the innermost one of a nested
derivative (which the outer one's computation reads) is expanded first and
the outer one differentiates plain tir ops, its own inner expansion
included. The body functions of scans are expanded before the functions
whose scans name them, so a gradient through a scan differentiates a body
that holds no markers. Markers that share their differentiated value and
seed form one group and share one sweep:

* reverse mode (grad, vjp): :func:`reverse_sweep` over the ops on a path
  from any of the group's ``wrt`` values to ``y``, visited last to first;
  each op's rule maps the cotangents of its results to contributions for
  its operands, which are summed per value and fitted to the operand's type
  (summed over broadcast axes). Cotangents carry the seed's leading batch
  dims, if any.
* forward mode (jvp): :func:`forward_sweep` over the same ops first to
  last; each rule maps the tangents of the operands to the tangent of the
  result.

The sweeps are also what the rules of ``tir.scan`` (``control.py``) run on
a step's ops inside the body functions they build. The new ops go right
before the group's first marker and carry the location of the op they
differentiate. A ``wrt`` value that does not reach ``y`` gets zeros, not an
error. Afterwards each ``tir.wrt`` is replaced by its operand.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from ...dialects import OPS, gather_rules, op_attrs
from ...dialects._bindings import ir, walk
from ...dialects.control import BODY
from ...errors import IRError
from . import control, elementwise, linalg, nn, reduce, shape
from .builder import Dims, E, Site, add_all, const, dims, fit, zeros

__all__ = ["tir_autodiff", "VJP", "JVP", "reverse_sweep", "forward_sweep", "on_path"]

Rule = Callable[..., Any]


VJP: dict[str, Rule] = gather_rules(
    "VJP", elementwise.VJP, reduce.VJP, linalg.VJP, nn.VJP, shape.VJP, control.VJP
)
JVP: dict[str, Rule] = gather_rules(
    "JVP", elementwise.JVP, reduce.JVP, linalg.JVP, nn.JVP, shape.JVP, control.JVP
)

REVERSE = ("tir.grad", "tir.vjp")
FORWARD = ("tir.jvp",)


def tir_autodiff(module_op: ir.Operation) -> None:
    fns = walk(module_op, ["func.func"])
    by_name = {_symbol(fn): fn for fn in fns}
    bodies = _referenced(module_op)
    done: set[str] = set()

    def expand(fn: ir.Operation) -> None:
        name = _symbol(fn)
        if name in done:
            return
        done.add(name)
        for scan in walk(fn, ["tir.scan"]):  # the bodies first: a sweep clones them
            body = by_name.get(ir.FlatSymbolRefAttr(scan.attributes[BODY]).value)
            if body is not None:
                expand(body)
        for region in fn.regions:
            for block in region.blocks:
                _expand_block(block)

    for fn in fns:
        expand(fn)
    made = {_symbol(fn) for fn in walk(module_op, ["func.func"])} - set(by_name)
    _erase_unused_bodies(module_op, bodies | made)


def _symbol(fn: ir.Operation) -> str:
    return ir.StringAttr(fn.attributes["sym_name"]).value


def _referenced(module_op: ir.Operation) -> set[str]:
    """The symbols some op names in an attribute (scan bodies, callees)."""
    names = set()
    for o in walk(module_op):
        attrs = o.attributes
        for i in range(len(attrs)):
            attr = attrs[i].attr
            if isinstance(attr, ir.FlatSymbolRefAttr):
                names.add(attr.value)
    return names


def _erase_unused_bodies(module_op: ir.Operation, candidates: set[str]) -> None:
    """Erase the private functions among ``candidates`` that nothing names
    any more: the bodies of the scans a gradient rebuilt with residuals
    (and the bodies only those named)."""
    while True:
        used = _referenced(module_op)
        dead = [
            fn for fn in walk(module_op, ["func.func"])
            if _symbol(fn) in candidates and _symbol(fn) not in used
            and "sym_visibility" in fn.attributes
            and ir.StringAttr(fn.attributes["sym_visibility"]).value == "private"
        ]
        if not dead:
            return
        for fn in dead:
            fn.erase()


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


def on_path(ops: Sequence[ir.Operation], sources: Sequence[ir.Value], sinks: Sequence[ir.Value]) -> tuple[list[ir.Operation], set]:
    """The ops on a path from ``sources`` to ``sinks`` (block order), and the
    values that depend on a source (the sources included)."""
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


def _site(o: ir.Operation, batch: Dims, on_path: set | None, retired: list[ir.Operation]) -> Site:
    name = o.name[4:]
    inputs = [E(v) for v in o.operands]
    needs = None if on_path is None else [x.is_float and v in on_path for v, x in zip(o.operands, inputs)]
    return Site(name, inputs, [E(r) for r in o.results], op_attrs(o, OPS[name]), batch, needs, o, retired)


def _differentiable(o: ir.Operation) -> bool:
    if not o.name.startswith("tir."):
        raise IRError(f"tir-autodiff cannot differentiate through {o.name} (only tir ops)")
    return OPS[o.name[4:]].differentiable


def _rule(table: dict[str, Rule], o: ir.Operation, mode: str) -> Rule:
    rule = table.get(o.name[4:])
    if rule is None:
        raise IRError(f"{o.name} is marked differentiable but has no {mode} rule")
    return rule


def reverse_sweep(
    path: Sequence[ir.Operation],
    seeds: Mapping[ir.Value, Sequence[E]],
    batch: Dims,
    tainted: set,
) -> Callable[[ir.Value], E | None]:
    """Run the VJP rules of ``path`` last to first, the cotangents starting
    from ``seeds`` (contributions per value, summed); returns the lookup of
    a value's total cotangent (None where nothing reached it).

    New ops go at the current insertion point. ``tainted`` holds the values
    that depend on what is differentiated: only float operands among them
    get cotangents. Every cotangent carries the leading ``batch`` dims. Ops
    that a rule replaced (a scan rebuilt with residual outputs) are erased
    once the sweep is done.
    """
    adjoints: dict[Any, list[E]] = {v: list(cts) for v, cts in seeds.items()}
    totals: dict[Any, E] = {}
    retired: list[ir.Operation] = []

    def total(v: ir.Value) -> E | None:
        if v not in totals and v in adjoints:
            totals[v] = add_all(adjoints[v])
        return totals.get(v)

    for o in reversed(path):
        gs = [total(r) for r in o.results]
        if all(g is None for g in gs) or not _differentiable(o):
            continue
        rule = _rule(VJP, o, "gradient (VJP)")
        site = _site(o, batch, tainted, retired)
        operands = list(o.operands)
        with o.location:
            cts = rule(site, gs[0] if len(gs) == 1 else gs)
            for v, need, x, ct in zip(operands, site.needs, site.inputs, cts):
                if ct is not None and need:
                    adjoints.setdefault(v, []).append(fit(ct, x, batch))
    for o in retired:
        o.erase()
    return total


def forward_sweep(path: Sequence[ir.Operation], tangents: dict[Any, E]) -> dict[Any, E]:
    """Run the JVP rules of ``path`` first to last from ``tangents`` (value ->
    tangent, extended in place with the tangent of every float result
    reached); new ops go at the current insertion point."""
    for o in path:
        ts = [tangents.get(v) for v in o.operands]
        if all(tv is None for tv in ts) or not _differentiable(o):
            continue
        rule = _rule(JVP, o, "forward (JVP)")
        site = _site(o, [], None, [])
        with o.location:
            out = rule(site, ts)
            outs = out if isinstance(out, (list, tuple)) else [out]
            for r, res, tv in zip(o.results, site.outputs, outs):
                if tv is not None and res.is_float:
                    tangents[r] = fit(tv, res)
    return tangents


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
    path, tainted = on_path(ops, wrts, [y])
    with ir.InsertionPoint(first), first.location:
        ye = E(y)
        if seed is None:
            batch: Dims = []
            start = const(1.0, ye.dtype)
        else:
            start = E(seed)
            batch = dims(start, range(start.rank - ye.rank))
        total = reverse_sweep(path, {y: [start]}, batch, tainted)
        results = [total(w) for w in wrts]
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
    path, _ = on_path(ops, [p], [o.operands[0] for o in group])
    with ir.InsertionPoint(first):
        tangents = forward_sweep(path, {p: E(t)})
    for o in group:
        value = tangents.get(o.operands[0])
        if value is None:
            with ir.InsertionPoint(o), o.location:
                y = E(o.operands[0])
                value = zeros(dims(y), y.dtype)
        _replace(o, value)
