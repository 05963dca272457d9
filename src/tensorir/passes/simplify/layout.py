"""Layout and reduction identities of ``tir-simplify``: one small function per identity.

Transposes, reshapes, ``expand_dims``/``squeeze`` and ``broadcast_to`` move
or repeat elements without computing, so chains of them collapse and a
broadcast commutes with elementwise ops. Free dims never broadcast (a ``?``
dim is never 1 at run time), so a ``broadcast_to`` whose result type is its
operand's, and an elementwise op whose result type does not change when a
broadcast operand is replaced by the unbroadcast value, are exact.
"""

from __future__ import annotations

from typing import Any, Sequence

from ...dialects import OPS
from ...dialects._bindings import ir
from ..autodiff.builder import E, broadcast_to, const
from ..autodiff.builder import op as build
from ..rewrite import attrs, dtype_of, is_float, producer, result_type

__all__ = ["ELEMENTWISE", "REDUCTIONS"]

ELEMENTWISE = tuple(sorted(o.full_name for o in OPS.values() if o.family == "elementwise"))
REDUCTIONS = ("tir.sum", "tir.prod", "tir.mean", "tir.max", "tir.min")

def _extents(op: ir.Operation) -> list[Any]:
    """Per axis of a reshape / broadcast_to: a static int, its index operand, or None (inferred)."""
    rest = iter(list(op.operands)[1:])
    return [next(rest) if d == -1 else d for d in attrs(op)["shape"]]


def _shape(t: ir.Type) -> list[int]:
    return list(ir.RankedTensorType(t).shape)


def _is_dim_of(e: Any, x: ir.Value, axis: int) -> bool:
    d = producer(e, "dim") if isinstance(e, ir.Value) else None
    return d is not None and d.operands[0] == x and attrs(d)["axis"] == axis


# ---------------------------------------------------------------------------
# Transpose


def transpose_transpose(op: ir.Operation) -> Any:
    """transpose(transpose(x, p), q) -> transpose(x, [p[i] for i in q]) (x when that is the identity)"""
    inner = producer(op.operands[0], "transpose")
    if inner is None:
        return None
    x = inner.operands[0]
    p, q = attrs(inner)["perm"], attrs(op)["perm"]
    perm = tuple(p[i] for i in q)
    if perm == tuple(range(len(perm))):
        return x
    return build("transpose", E(x), perm=perm)


def transpose_identity(op: ir.Operation) -> Any:
    """transpose(x, (0, 1, ..., n-1)) -> x"""
    perm = attrs(op)["perm"]
    return op.operands[0] if tuple(perm) == tuple(range(len(perm))) else None


# ---------------------------------------------------------------------------
# Reshape, expand_dims, squeeze (all keep the row-major order of elements)


def reshape_of_view(op: ir.Operation) -> Any:
    """reshape(reshape | expand_dims | squeeze(x)) -> reshape(x)"""
    inner = producer(op.operands[0])
    if inner is None or inner.name not in ("tir.reshape", "tir.expand_dims", "tir.squeeze"):
        return None
    x, extents = inner.operands[0], list(op.operands)[1:]
    spec = attrs(op)["shape"]
    if result_type("reshape", [x, *extents], shape=spec) != op.results[0].type:
        return None
    return build("reshape", E(x), *extents, shape=spec)


def reshape_noop(op: ir.Operation) -> Any:
    """reshape(x, shape of x) -> x (each dim static, or tir.dim(x, i), or the one inferred)"""
    x = op.operands[0]
    if x.type != op.results[0].type:
        return None
    ok = all(isinstance(e, int) or e is None or _is_dim_of(e, x, i) for i, e in enumerate(_extents(op)))
    return x if ok else None


def _undone(op: ir.Operation, inner_name: str) -> Any:
    """``x`` when ``op`` undoes the ``tir.<inner_name>`` producing its operand
    over the same axes (and gives back ``x``'s type), else ``None``."""
    inner = producer(op.operands[0], inner_name)
    if inner is None or sorted(attrs(inner)["axes"]) != sorted(attrs(op)["axes"]):
        return None
    x = inner.operands[0]
    return x if x.type == op.results[0].type else None


def squeeze_expand_dims(op: ir.Operation) -> Any:
    """squeeze(expand_dims(x, a), a) -> x"""
    return _undone(op, "expand_dims")


def expand_dims_squeeze(op: ir.Operation) -> Any:
    """expand_dims(squeeze(x, a), a) -> x"""
    return _undone(op, "squeeze")


def expand_dims_expand_dims(op: ir.Operation) -> Any:
    """expand_dims(expand_dims(x, a), b) -> expand_dims(x, b + a moved past b)"""
    inner = producer(op.operands[0], "expand_dims")
    if inner is None:
        return None
    a, b = attrs(inner)["axes"], set(attrs(op)["axes"])
    rank = ir.RankedTensorType(op.results[0].type).rank
    kept = [i for i in range(rank) if i not in b]  # final position of each axis of the inner result
    axes = tuple(sorted(b | {kept[i] for i in a}))
    return build("expand_dims", E(inner.operands[0]), axes=axes)


def squeeze_squeeze(op: ir.Operation) -> Any:
    """squeeze(squeeze(x, a), b) -> squeeze(x, a + b mapped back to x's axes)"""
    inner = producer(op.operands[0], "squeeze")
    if inner is None:
        return None
    a, b = set(attrs(inner)["axes"]), attrs(op)["axes"]
    x = inner.operands[0]
    kept = [i for i in range(ir.RankedTensorType(x.type).rank) if i not in a]  # x axis of each inner axis
    axes = tuple(sorted(a | {kept[i] for i in b}))
    return build("squeeze", E(x), axes=axes)


# ---------------------------------------------------------------------------
# broadcast_to


def broadcast_noop(op: ir.Operation) -> Any:
    """broadcast_to(x, shape of x) -> x (a free dim never broadcasts)"""
    x = op.operands[0]
    return x if x.type == op.results[0].type else None


def broadcast_broadcast(op: ir.Operation) -> Any:
    """broadcast_to(broadcast_to(x, s), t) -> broadcast_to(x, t)"""
    inner = producer(op.operands[0], "broadcast_to")
    if inner is None:
        return None
    x, extents, spec = inner.operands[0], list(op.operands)[1:], attrs(op)["shape"]
    if result_type("broadcast_to", [x, *extents], shape=spec) != op.results[0].type:
        return None
    return build("broadcast_to", E(x), *extents, shape=spec)


# NumPy computes x ** 0.5 as sqrt(x) for a 0-d exponent only ((-0.0) ** 0.5 is -0.0,
# (-0.0) ** [0.5] is +0.0): the shape of pow's exponent is part of its meaning
_SHAPE_SENSITIVE = {("tir.pow", 1)}


def elementwise_absorbs_broadcast(op: ir.Operation) -> Any:
    """f(.., broadcast_to(y), ..) -> f(.., y, ..) when f's result type stays (f elementwise)"""
    operands, a = list(op.operands), attrs(op)
    for i, v in enumerate(operands):
        b = producer(v, "broadcast_to")
        if b is None or (op.name, i) in _SHAPE_SENSITIVE:
            continue
        new = operands[:i] + [b.operands[0]] + operands[i + 1:]
        if result_type(op.name[4:], new, **a) == op.results[0].type:
            return build(op.name[4:], *(E(w) for w in new), **a)
    return None


def elementwise_hoists_broadcast(op: ir.Operation) -> Any:
    """f(broadcast_to(y), z) -> broadcast_to(f(y, z)) when z broadcasts to y's shape (f elementwise)"""
    operands, a = list(op.operands), attrs(op)
    for i, v in enumerate(operands):
        b = producer(v, "broadcast_to")
        if b is None or (op.name, i) in _SHAPE_SENSITIVE:
            continue
        y = b.operands[0]
        new = operands[:i] + [y] + operands[i + 1:]
        small = result_type(op.name[4:], new, **a)
        if small is None or _shape(small) != _shape(y.type):
            continue
        extents, spec = list(b.operands)[1:], attrs(b)["shape"]
        if result_type("broadcast_to", [small, *extents], shape=spec) != op.results[0].type:
            continue
        return build("broadcast_to", build(op.name[4:], *(E(w) for w in new), **a), *extents, shape=spec)
    return None


# ---------------------------------------------------------------------------
# Reductions


def reduce_over_unit_axes(op: ir.Operation) -> Any:
    """r(x, axes of size 1) -> squeeze(x, axes) for sum prod mean max min (float sum, mean: + 0.0)"""
    x, a = op.operands[0], attrs(op)
    axes, shape = a["axes"], _shape(op.operands[0].type)
    if any(shape[k] != 1 for k in axes):
        return None
    z = E(x) if a["keepdims"] else E(x).squeeze(axes)
    if op.name in ("tir.sum", "tir.mean") and is_float(x):
        z = z + 0.0  # a sum starts from +0.0: sum([-0.0]) is +0.0
    return z


def _count(b: ir.Operation, extents: Sequence[Any], axes: Sequence[int], dtype: str) -> tuple[int, list[E]]:
    """The number of elements of ``b``'s result along ``axes``: a static
    factor and 0-d ``tir.size`` values, each read off the tensor its dim
    operand measures (so ``b`` itself is not needed)."""
    static, parts = 1, []
    for k in axes:
        e = extents[k]
        if isinstance(e, int):
            static *= e
            continue
        d = producer(e, "dim")
        src, axis = (d.operands[0], attrs(d)["axis"]) if d is not None else (b.results[0], k)
        parts.append(build("size", E(src), axes=(axis,), dtype=dtype))
    return static, parts


def _broadcast_operand(op: ir.Operation) -> tuple[ir.Operation, ir.Value, list[Any], tuple[int, ...], bool] | None:
    """(broadcast op, x, its extents, axes, keepdims) when ``op`` reduces a
    broadcast of ``x`` only over axes along which ``x`` was repeated."""
    b = producer(op.operands[0], "broadcast_to")
    if b is None:
        return None
    x, a = b.operands[0], attrs(op)
    axes = tuple(a["axes"])
    extents = _extents(b)
    xs = _shape(x.type)
    offset = len(extents) - len(xs)
    repeated = {k for k in range(len(extents)) if k < offset or xs[k - offset] == 1}
    if not axes or not set(axes) <= repeated:
        return None
    return b, x, extents, axes, a["keepdims"]


def _rebroadcast(op: ir.Operation, z: E, extents: Sequence[Any], axes: Sequence[int], keepdims: bool) -> E:
    if z.value.type == op.results[0].type:
        return z
    target = [1 if k in axes else e for k, e in enumerate(extents)] if keepdims else [
        e for k, e in enumerate(extents) if k not in axes
    ]
    return broadcast_to(z, target)


def _unrepeated(x: ir.Value, axes: Sequence[int], rank: int, keepdims: bool) -> E:
    """``x`` without the size-1 axes of its own that are reduced (kept as 1 with keepdims)."""
    offset = rank - len(_shape(x.type))
    own = [k - offset for k in axes if k >= offset]
    return E(x) if keepdims or not own else E(x).squeeze(own)


def sum_of_broadcast(op: ir.Operation) -> Any:
    """sum(broadcast_to(x), axes x was repeated along) -> broadcast_to(n * x) (floats: n * x + 0.0)

    n is the number of elements summed; floats take mul_nonan(n, x), so n = 0 gives 0 even for inf,
    and + 0.0, as a sum starts from +0.0: sum([-0.0, -0.0]) is +0.0, 2 * -0.0 is -0.0.
    """
    found = _broadcast_operand(op)
    if found is None:
        return None
    b, x, extents, axes, keepdims = found
    dtype = dtype_of(x)
    z = _unrepeated(x, axes, len(extents), keepdims)
    static, parts = _count(b, extents, axes, dtype)
    if not parts and static == 1:
        pass
    elif not is_float(x):
        for p in parts:
            z = z * p
        z = z * static if static != 1 else z
    elif not parts and static > 0:
        z = z * float(static)
    else:
        n = parts[0] if parts else const(static, dtype)
        for p in parts[1:]:
            n = n * p
        n = n * float(static) if parts and static != 1 else n
        z = build("mul_nonan", n, z)
    if is_float(x):
        z = z + 0.0
    return _rebroadcast(op, z, extents, axes, keepdims)


def mean_of_broadcast(op: ir.Operation) -> Any:
    """mean(broadcast_to(x), axes x was repeated along) -> broadcast_to(x) (floats: x + 0.0)

    x * (n / n) where the count n may be 0: the mean of nothing is NaN. + 0.0 as for sums:
    the mean of copies of -0.0 is +0.0.
    """
    found = _broadcast_operand(op)
    if found is None:
        return None
    b, x, extents, axes, keepdims = found
    z = _unrepeated(x, axes, len(extents), keepdims)
    static, parts = _count(b, extents, axes, dtype_of(x))
    if parts or static == 0:
        n = parts[0] if parts else const(static, dtype_of(x))
        for p in parts[1:]:
            n = n * p
        z = z * (n / n)
    if is_float(x):
        z = z + 0.0
    return _rebroadcast(op, z, extents, axes, keepdims)


def extreme_of_broadcast(op: ir.Operation) -> Any:
    """max | min(broadcast_to(x), axes x was repeated along) -> broadcast_to(x)

    (the type rule requires the axes to be non-empty: max has no identity)
    """
    found = _broadcast_operand(op)
    if found is None:
        return None
    _, x, extents, axes, keepdims = found
    return _rebroadcast(op, _unrepeated(x, axes, len(extents), keepdims), extents, axes, keepdims)

