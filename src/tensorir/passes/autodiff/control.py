"""Gradient rules of ``tir.scan`` (see ``dialects/control.py``).

Step ``t`` of a scan with body ``f`` maps ``(c_t, x_t; k) -> (c_{t+1}, y_t)``
with ``c_0 = init``, ``x_t = xs[t]`` and the constants ``k``; the results
are ``c_n`` and ``ys[t] = y_t``. Only the *active* carries are
differentiated: a carry is active when its initial value is differentiated,
or when the body computes its new value from an active carry, a
differentiated sequence or a differentiated constant (a fixpoint over the
body). The other carries (counters, values that depend on nothing
differentiated) are constants of the derivative.

Reverse mode stores the carries and recomputes the step (JAX's scheme):

* the forward scan is rebuilt with a body that also returns its input
  carries, stacked as extra outputs: the residuals ``C[t] = c_t`` (an
  output that already is an input carry serves as its stack, so a second
  sweep through the same scan stores nothing more);
* a backward scan runs the steps in the other order (``reverse`` flipped)
  carrying ``c̄`` (the cotangent of the active carries, starting from that
  of the final carries, zeros where there is none) and one accumulator
  ``k̄`` per differentiated constant (zeros), over the sequences
  ``(C, xs, ȳs)``, with the constants ``k``. Its step is::

      (c̄_t, k̄_t, x̄_t) = ∂f(C[t], x_t; k)^T · (c̄_{t+1}, ȳ_t)
      (c̄_{t+1}, k̄; C[t], x_t, ȳ_t; k) -> (c̄_t, k̄ + k̄_t; x̄_t)

  Its body (a private function next to the forward one) is the forward
  step's ops, copied onto ``(C[t], x_t, k)``, followed by the reverse sweep
  over them; the scan's results are ``init̄ = c̄_0``, ``k̄ = Σ_t k̄_t`` and
  ``x̄s`` stacked. Only the ``ȳs`` a differentiated value reaches are read.

Cotangents with leading batch dims ``B`` (vjp of a batch, jacobian) carry
them through the loop: ``c̄`` and ``k̄`` are ``B + shape``; the stacked
``ȳs`` and ``x̄s``, ``B + (n, ...)`` outside, are ``(n,) + B + ...`` for the
scan (one transpose on the way in and one on the way out).

Forward mode is one scan carrying ``(c, ċ)`` over ``(xs, ẋs)`` with the
constants ``(k, k̇)``, whose step is the body's ops followed by their forward
sweep::

      (c_t, ċ_t; x_t, ẋ_t; k, k̇) -> (c_{t+1}, ∂f·(ċ_t, ẋ_t, k̇); y_t, ẏ_t)

It computes the primal values again (the original scan stays for its other
users). A scan inside a body is reached by the sweep over the copied step
and differentiated by these same rules.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ...dialects import OPS, create, from_mlir_type, op_attrs
from ...dialects._bindings import ir
from ...dialects.control import ScanLayout, scan_body, scan_layout
from ...errors import IRError
from .builder import E, Dims, Site, dims, fit, reshape, zeros

__all__ = ["VJP", "JVP"]


def _sweeps() -> Any:
    # the sweeps run every op's rule, these included (the package gathers them)
    from . import forward_sweep, on_path, reverse_sweep

    return forward_sweep, on_path, reverse_sweep


# ---------------------------------------------------------------------------
# Body functions


def _name(fn: ir.Operation) -> str:
    return ir.StringAttr(fn.attributes["sym_name"]).value


def _fresh_name(next_to: ir.Operation, stem: str) -> str:
    taken = {_name(v.operation) for v in next_to.block.operations if v.operation.name == "func.func"}
    name, k = stem, 1
    while name in taken:
        name, k = f"{stem}_{k}", k + 1
    return name


def _function(next_to: ir.Operation, stem: str, arg_types: Sequence[ir.Type]) -> tuple[ir.Operation, ir.Block]:
    """A new private ``func.func`` right before ``next_to``: (the function, its
    entry block); its results are set by :func:`_finish`."""
    from mlir.dialects import func

    name = _fresh_name(next_to, stem)
    with ir.InsertionPoint(next_to), next_to.location:
        fn = func.FuncOp(name, ir.FunctionType.get(list(arg_types), []))
        fn.attributes["sym_visibility"] = ir.StringAttr.get("private")
        block = fn.add_entry_block()
    return fn.operation, block


def _finish(fn: ir.Operation, block: ir.Block, returned: Sequence[ir.Value]) -> None:
    from mlir.dialects import func

    with ir.InsertionPoint(block), fn.location:
        func.ReturnOp(list(returned))
    fn.attributes["function_type"] = ir.TypeAttr.get(
        ir.FunctionType.get([a.type for a in block.arguments], [v.type for v in returned])
    )


def _step(body: ir.Operation) -> tuple[list[ir.Value], list[ir.Operation], list[ir.Value]]:
    """A body function's (arguments, ops, returned values)."""
    block = body.regions[0].blocks[0]
    ops = [v.operation for v in block.operations]
    if not ops or ops[-1].name != "func.return":
        raise IRError(f"the scan body @{_name(body)} does not end with func.return")
    return list(block.arguments), ops[:-1], list(ops[-1].operands)


def _clone_step(body: ir.Operation, args: Sequence[ir.Value]) -> tuple[list[ir.Operation], list[ir.Value]]:
    """The ops of ``body`` copied at the insertion point onto ``args`` (in
    place of its arguments): (the copies, the copies of what it returns)."""
    params, ops, returned = _step(body)
    mapping: dict[Any, ir.Value] = dict(zip(params, args))
    copies = []
    for o in ops:
        if len(o.regions):
            raise IRError(f"tir-autodiff cannot copy {o.name} (an op with regions) out of the scan body @{_name(body)}")
        c = o.clone()
        for i, v in enumerate(o.operands):
            c.operands[i] = mapping[v]
        mapping.update(zip(o.results, c.results))
        copies.append(c)
    return copies, [mapping[v] for v in returned]


def _active(
    body: ir.Operation, carry: Sequence[bool], xs: Sequence[bool], consts: Sequence[bool]
) -> tuple[list[bool], set]:
    """Which carries are active (see the module docstring), and the body's
    values that depend on an active carry or a differentiated operand."""
    _, on_path, _ = _sweeps()
    params, ops, returned = _step(body)
    active = list(carry)
    while True:
        sources = [p for p, flag in zip(params, active + list(xs) + list(consts)) if flag]
        _, tainted = on_path(ops, sources, [])
        grown = [a or (returned[i] in tainted and E(returned[i]).is_float) for i, a in enumerate(active)]
        if grown == active:
            return active, tainted
        active = grown


def _stacked(t: ir.Type, n: int | None) -> ir.Type:
    """``t`` with a leading axis of ``n`` steps (None: free)."""
    rt = ir.RankedTensorType(t)
    lead = ir.ShapedType.get_dynamic_size() if n is None else n
    return ir.RankedTensorType.get([lead] + list(rt.shape), rt.element_type)


def _steps(op: ir.Operation, layout: ScanLayout) -> int | None:
    """The number of steps when the types know it statically."""
    for v in list(op.operands)[layout.xs]:
        rt = ir.RankedTensorType(v.type)
        return None if rt.is_dynamic_dim(0) else int(rt.shape[0])
    return layout.length if layout.length >= 0 else None


def _as(v: E, like: ir.Value) -> E:
    """``v`` reshaped to exactly ``like``'s type (a loop-carried value keeps its type)."""
    return v if v.value.type == like.type else reshape(v, dims(E(like)))


def _scan(
    like: ir.Operation, layout: ScanLayout, operands: Sequence[E | ir.Value], body: ir.Operation,
    num_carry: int, num_xs: int, reverse: bool,
) -> list[E]:
    """A ``tir.scan`` of ``body`` at the insertion point (the count of steps
    and location those of ``like``); its results."""
    values = [o.value if isinstance(o, E) else o for o in operands]
    _, _, returned = _step(body)
    n = _steps(like, layout)
    params = body.regions[0].blocks[0].arguments
    types = [params[i].type for i in range(num_carry)] + [_stacked(v.type, n) for v in returned[num_carry:]]
    attrs = dict(op_attrs(like, OPS["scan"]), body=_name(body), num_carry=num_carry, num_xs=num_xs, reverse=reverse)
    with like.location:
        made = create(OPS["scan"], values, attrs, [from_mlir_type(t) for t in types])
    return [E(r) for r in made.results]


def _with_residuals(s: Site, layout: ScanLayout, body: ir.Operation) -> list[ir.Value]:
    """The stacks ``C[i]`` of each step's input carries. An output the body
    already returns as an input carry is that stack (a scan rebuilt by an
    earlier gradient, or a step returning its state); the others are added:
    the scan is rebuilt with a body that also returns them."""
    fwd = s.op
    assert fwd is not None
    C = layout.num_carry
    params, _, returned = _step(body)
    found: dict[int, int] = {}
    for j, v in enumerate(returned[C:]):
        for i in range(C):
            if v == params[i] and i not in found:
                found[i] = j
    missing = [i for i in range(C) if i not in found]
    results = list(fwd.results)
    if missing:
        name = _fresh_name(body, _name(body) + "_res")
        copy = body.clone(ip=ir.InsertionPoint(body))
        copy.attributes["sym_name"] = ir.StringAttr.get(name)
        copy.attributes["sym_visibility"] = ir.StringAttr.get("private")
        block = copy.regions[0].blocks[0]
        ret = [v.operation for v in block.operations][-1]
        extra = list(ret.operands) + [block.arguments[i] for i in missing]
        ret.erase()
        _finish(copy, block, extra)
        with ir.InsertionPoint(fwd):
            new = [e.value for e in _scan(fwd, layout, list(fwd.operands), copy, C, layout.num_xs, layout.reverse)]
        for r, v in zip(results, new):
            r.replace_all_uses_with(v)
        s.retire()
        for k, i in enumerate(missing):
            found[i] = len(returned) - C + k
        results = new
    return [results[C + found[i]] for i in range(C)]


def _cotangents(g: Any) -> list[E | None]:
    return list(g) if isinstance(g, (list, tuple)) else [g]


# ---------------------------------------------------------------------------
# Reverse mode


def _scan_vjp(s: Site, g: Any) -> list[E | None]:
    fwd = s.op
    assert fwd is not None
    layout, body = scan_layout(fwd), scan_body(fwd)
    gs = _cotangents(g)
    C, X, K = layout.num_carry, layout.num_xs, layout.num_consts
    off, nb = int(layout.has_n), s.nb
    needs = s.needs[off:]
    need_x, need_k = needs[C:C + X], needs[C + X:]
    active, tainted = _active(body, needs[:C], need_x, need_k)
    _, _, returned = _step(body)
    A = [i for i in range(C) if active[i]]
    XX = [j for j in range(X) if need_x[j]]
    KK = [j for j in range(K) if need_k[j]]
    YY = [j for j in range(layout.num_ys) if gs[C + j] is not None and returned[C + j] in tainted]
    if not YY and not any(gs[i] is not None for i in A):
        return [None] * len(s.inputs)  # no cotangent reaches a differentiated value
    inits, xs, consts = s.inputs[layout.carry], s.inputs[layout.xs], s.inputs[layout.consts]

    residuals = _with_residuals(s, layout, body)
    # the backward scan: carries (c̄ of A, k̄ of KK), xs (C, xs, ȳs of YY), consts
    carry0 = [gs[i] if gs[i] is not None else zeros(s.batch + dims(inits[i]), inits[i].dtype) for i in A]
    carry0 += [zeros(s.batch + dims(consts[j]), consts[j].dtype) for j in KK]
    ct_ys = [_steps_first(gs[C + j], nb) for j in YY]  # type: ignore[arg-type]
    seq = [E(r) for r in residuals] + xs + ct_ys
    params = body.regions[0].blocks[0].arguments
    arg_types = (
        [e.value.type for e in carry0]
        + [params[i].type for i in range(C)]
        + [params[C + j].type for j in range(X)]
        + [_stacked_slice(e) for e in ct_ys]
        + [params[C + X + j].type for j in range(K)]
    )
    back, block = _function(body, _name(body) + "_vjp", arg_types)
    groups = _split(list(block.arguments), [len(A), len(KK), C, X, len(YY), K])
    with ir.InsertionPoint(block), fwd.location:
        _backward_step(body, back, block, groups, A, XX, KK, YY, nb)
    out = _scan(fwd, layout, carry0 + seq + consts, back, len(A) + len(KK), len(seq), not layout.reverse)

    cts: list[E | None] = [None] * len(s.inputs)
    for k, i in enumerate(A):
        if needs[i]:
            cts[off + i] = out[k]
    for k, j in enumerate(KK):
        cts[off + C + X + j] = out[len(A) + k]
    for k, j in enumerate(XX):
        cts[off + C + j] = _steps_after_batch(out[len(A) + len(KK) + k], nb)
    return cts


def _steps_first(e: E, nb: int) -> E:
    """A stacked cotangent ``B + (n, ...)`` as ``(n,) + B + ...``, to scan over."""
    return e.transpose([nb] + list(range(nb)) + list(range(nb + 1, e.rank)))


def _steps_after_batch(e: E, nb: int) -> E:
    """A stacked cotangent ``(n,) + B + ...`` (a scan's output) as ``B + (n, ...)``."""
    return e.transpose(list(range(1, nb + 1)) + [0] + list(range(nb + 1, e.rank)))


def _stacked_slice(e: E) -> ir.Type:
    """The type of one step's slice of the stacked ``e``."""
    rt = ir.RankedTensorType(e.value.type)
    return ir.RankedTensorType.get(list(rt.shape)[1:], rt.element_type)


def _split(items: Sequence[Any], sizes: Sequence[int]) -> list[list[Any]]:
    out, k = [], 0
    for n in sizes:
        out.append(list(items[k:k + n]))
        k += n
    return out


def _backward_step(
    body: ir.Operation, back: ir.Operation, block: ir.Block, groups: list[list[ir.Value]],
    A: list[int], XX: list[int], KK: list[int], YY: list[int], nb: int,
) -> None:
    """The backward body: the step copied onto (C[t], x_t, k), then its
    reverse sweep from (c̄_{t+1}, ȳ_t); returns (c̄_t, k̄ + k̄_t, x̄_t)."""
    _, on_path, reverse_sweep = _sweeps()
    ct_c, acc, res, xa, cty, ka = groups
    C = len(res)
    copies, outs = _clone_step(body, res + xa + ka)
    batched = E((ct_c + cty)[0])
    batch: Dims = dims(batched, range(nb))
    seeds: dict[Any, list[E]] = {}
    for i, c in zip(A, ct_c):
        seeds.setdefault(outs[i], []).append(E(c))
    for j, c in zip(YY, cty):
        seeds.setdefault(outs[C + j], []).append(E(c))
    sources = [res[i] for i in A] + [xa[j] for j in XX] + [ka[j] for j in KK]
    path, tainted = on_path(copies, sources, list(seeds))
    total = reverse_sweep(path, seeds, batch, tainted)

    def cotangent(v: ir.Value) -> E:
        t, x = total(v), E(v)
        return zeros(batch + dims(x), x.dtype) if t is None else fit(t, x, batch)

    new_c = [_as(cotangent(res[i]), c) for i, c in zip(A, ct_c)]
    new_k = [_as(E(a) + cotangent(ka[j]), a) for j, a in zip(KK, acc)]
    new_x = [cotangent(xa[j]) for j in XX]
    _finish(back, block, [e.value for e in new_c + new_k + new_x])


# ---------------------------------------------------------------------------
# Forward mode


def _scan_jvp(s: Site, ts: Sequence[E | None]) -> list[E | None]:
    fwd = s.op
    assert fwd is not None
    forward_sweep, on_path, _ = _sweeps()
    layout, body = scan_layout(fwd), scan_body(fwd)
    C, X, K, Y = layout.num_carry, layout.num_xs, layout.num_consts, layout.num_ys
    tc, tx, tk = ts[layout.carry], ts[layout.xs], ts[layout.consts]
    active, tainted = _active(body, [t is not None for t in tc], [t is not None for t in tx], [t is not None for t in tk])
    params, _, returned = _step(body)
    A = [i for i in range(C) if active[i]]
    XX = [j for j in range(X) if tx[j] is not None]
    KK = [j for j in range(K) if tk[j] is not None]
    YY = [j for j in range(Y) if returned[C + j] in tainted and E(returned[C + j]).is_float]
    if not A and not YY:
        return [None] * len(s.outputs)
    inits, xs, consts = s.inputs[layout.carry], s.inputs[layout.xs], s.inputs[layout.consts]
    dc0 = [_as(tc[i] if tc[i] is not None else zeros(dims(inits[i]), inits[i].dtype), params[i]) for i in A]
    dxs = [tx[j] for j in XX]
    dks = [tk[j] for j in KK]
    arg_types = (
        [params[i].type for i in range(C)] + [params[i].type for i in A]
        + [params[C + j].type for j in range(X)] + [_stacked_slice(e) for e in dxs]  # type: ignore[arg-type]
        + [params[C + X + j].type for j in range(K)] + [e.value.type for e in dks]  # type: ignore[union-attr]
    )
    tan, block = _function(body, _name(body) + "_jvp", arg_types)
    c, dc, xa, dx, ka, dk = _split(list(block.arguments), [C, len(A), X, len(XX), K, len(KK)])
    with ir.InsertionPoint(block), fwd.location:
        copies, outs = _clone_step(body, c + xa + ka)
        tangents: dict[Any, E] = {}
        for args, idx, primal in ((dc, A, c), (dx, XX, xa), (dk, KK, ka)):
            for t, i in zip(args, idx):
                tangents[primal[i]] = E(t)
        path, _ = on_path(copies, list(tangents), outs)
        forward_sweep(path, tangents)

        def tangent(v: ir.Value) -> E:
            t = tangents.get(v)
            x = E(v)
            return zeros(dims(x), x.dtype) if t is None else t

        new_dc = [_as(tangent(outs[i]), d) for i, d in zip(A, dc)]
        dys = [tangent(outs[C + j]) for j in YY]
        _finish(tan, block, outs[:C] + [e.value for e in new_dc] + outs[C:] + [e.value for e in dys])
    n_op = [s.inputs[0]] if layout.has_n else []
    operands = n_op + inits + dc0 + xs + dxs + consts + dks
    out = _scan(fwd, layout, operands, tan, C + len(A), X + len(XX), layout.reverse)  # type: ignore[arg-type]
    tangents_out: list[E | None] = [None] * (C + Y)
    for k, i in enumerate(A):
        tangents_out[i] = out[C + k]
    for k, j in enumerate(YY):
        tangents_out[C + j] = out[C + len(A) + Y + k]
    return tangents_out


VJP: dict[str, Callable[..., Any]] = {"scan": _scan_vjp}
JVP: dict[str, Callable[..., Any]] = {"scan": _scan_jvp}
