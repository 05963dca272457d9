"""Building tir IR inside the autodiff pass, in NumPy notation.

:class:`E` wraps one SSA value; its operators and the functions below emit
tir ops at the current insertion point and location, so a gradient rule
reads as the maths it implements (``g * (1 - y * y)``). Python numbers
become 0-d constants of the other operand's dtype.

Shapes are known only partly while the pass runs: a dim is an ``int`` when
the IR type has it static, else ``None``; :func:`dims` gives a value's dims
as ints or ``index`` values (``tir.dim``), which is what the ops that make a
shape (``full``, ``reshape``, ``broadcast_to``) take.
"""

from __future__ import annotations

from typing import Any, Sequence, Union

import numpy as np

from ...dialects import OPS, create
from ...dialects._bindings import ir
from ...dialects.optable import element_dtype
from ...dialects.types import TensorType

__all__ = ["E", "Dims", "const", "op", "dims", "full", "zeros", "fit", "unbroadcast", "add_all", "broadcast_to", "reshape", "dim"]

# A dim while building: a static int or an ``index`` SSA value.
DimValue = Union[int, ir.Value]
Dims = list[DimValue]


class E:
    """A tir value being built on, with NumPy-style operators."""

    __slots__ = ("value", "dtype", "shape")

    def __init__(self, value: ir.Value):
        self.value = value
        t = value.type
        if isinstance(t, ir.IndexType):
            self.dtype, self.shape = "index", ()
        else:
            rt = ir.RankedTensorType(t)
            self.dtype = element_dtype(rt.element_type)
            self.shape: tuple[int | None, ...] = tuple(
                None if rt.is_dynamic_dim(i) else int(rt.shape[i]) for i in range(rt.rank)
            )

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_float(self) -> bool:
        return self.dtype in ("float32", "float64")

    def __repr__(self) -> str:
        return f"E({self.value.type})"

    # -- arithmetic ------------------------------------------------------------
    def _other(self, other: Any) -> "E":
        return other if isinstance(other, E) else const(other, self.dtype)

    def __add__(self, other: Any) -> "E":
        return op("add", self, self._other(other))

    def __radd__(self, other: Any) -> "E":
        return op("add", self._other(other), self)

    def __sub__(self, other: Any) -> "E":
        return op("sub", self, self._other(other))

    def __rsub__(self, other: Any) -> "E":
        return op("sub", self._other(other), self)

    def __mul__(self, other: Any) -> "E":
        return op("mul", self, self._other(other))

    def __rmul__(self, other: Any) -> "E":
        return op("mul", self._other(other), self)

    def __truediv__(self, other: Any) -> "E":
        return op("div", self, self._other(other))

    def __rtruediv__(self, other: Any) -> "E":
        return op("div", self._other(other), self)

    def __neg__(self) -> "E":
        return op("neg", self)

    def __matmul__(self, other: "E") -> "E":
        return op("matmul", self, other)

    # -- comparisons (named, so E stays hashable by identity) ------------------
    def eq(self, other: Any) -> "E":
        return op("eq", self, self._other(other))

    def gt(self, other: Any) -> "E":
        return op("gt", self, self._other(other))

    def lt(self, other: Any) -> "E":
        return op("lt", self, self._other(other))

    # -- layout ------------------------------------------------------------------
    def astype(self, dtype: str) -> "E":
        return self if dtype == self.dtype else op("cast", self, dtype=dtype)

    def sum(self, axes: Sequence[int], keepdims: bool = False) -> "E":
        if not axes:
            return self
        return op("sum", self, axes=tuple(sorted(axes)), keepdims=keepdims)

    def expand_dims(self, axes: Sequence[int]) -> "E":
        return op("expand_dims", self, axes=tuple(sorted(axes))) if axes else self

    def squeeze(self, axes: Sequence[int]) -> "E":
        return op("squeeze", self, axes=tuple(sorted(axes))) if axes else self

    def transpose(self, perm: Sequence[int]) -> "E":
        if list(perm) == list(range(len(perm))):
            return self
        return op("transpose", self, perm=tuple(perm))

    def swap_last(self) -> "E":
        """The last two axes exchanged (a batch of matrices transposed)."""
        perm = list(range(self.rank))
        perm[-1], perm[-2] = perm[-2], perm[-1]
        return self.transpose(perm)


def const(value: Any, dtype: str) -> E:
    """A 0-d constant."""
    return E(create(OPS["constant"], [], {"value": np.asarray(value, dtype=dtype)}).result)


def op(name: str, *operands: Any, types: Sequence[TensorType] | None = None, **attrs: Any) -> Any:
    """Emit ``tir.name``; operands are :class:`E` or ``index`` values.

    Returns an :class:`E`, or a list of them for an op with several results.
    """
    values = [o.value if isinstance(o, E) else o for o in operands]
    created = create(OPS[name], values, attrs, types)
    results = [E(r) for r in created.results]
    return results[0] if len(results) == 1 else results


def dim(x: E, axis: int) -> DimValue:
    """Size of ``axis`` of ``x``: an int when static, else a ``tir.dim`` value."""
    d = x.shape[axis]
    if d is not None:
        return d
    return create(OPS["dim"], [x.value], {"axis": axis}).result


def dims(x: E, axes: Sequence[int] | None = None) -> Dims:
    return [dim(x, a) for a in (range(x.rank) if axes is None else axes)]


def _shape_attr(shape: Sequence[DimValue]) -> tuple[list[int], list[ir.Value]]:
    static = [d if isinstance(d, int) else -1 for d in shape]
    return static, [d for d in shape if not isinstance(d, int)]


def full(shape: Sequence[DimValue], dtype: str, value: float) -> E:
    static, dyn = _shape_attr(shape)
    return op("full", *dyn, shape=tuple(static), dtype=dtype, value=float(value))


def zeros(shape: Sequence[DimValue], dtype: str) -> E:
    return full(shape, dtype, 0.0)


def broadcast_to(x: E, shape: Sequence[DimValue]) -> E:
    static, dyn = _shape_attr(shape)
    if tuple(x.shape) == tuple(static) and not dyn:
        return x
    return op("broadcast_to", x, *dyn, shape=tuple(static))


def reshape(x: E, shape: Sequence[DimValue]) -> E:
    static, dyn = _shape_attr(shape)
    return op("reshape", x, *dyn, shape=tuple(static))


def add_all(terms: Sequence[E]) -> E:
    """The sum of the contributions (pairwise, so the chain stays shallow)."""
    terms = list(terms)
    while len(terms) > 1:
        terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i] for i in range(0, len(terms), 2)]
    return terms[0]


def unbroadcast(v: E, target: E, nb: int) -> E:
    """``v`` summed down to ``nb`` batch dims followed by ``target``'s shape.

    ``v`` has ``nb`` batch dims followed by a shape that ``target``'s shape
    broadcasts to (free dims never broadcast, so which axes to sum is known
    from the types alone).
    """
    extra = v.rank - nb - target.rank
    if extra < 0:
        raise ValueError(f"cannot unbroadcast {v} to {target} with {nb} batch dims")
    v = v.sum(list(range(nb, nb + extra)))
    keep = [nb + k for k, (a, b) in enumerate(zip(v.shape[nb:], target.shape)) if b == 1 and a != 1]
    return v.sum(keep, keepdims=True)


def fit(v: E, target: E, batch: Sequence[DimValue] = ()) -> E:
    """``v`` with exactly the type ``batch`` + ``target``'s shape, ``target``'s dtype.

    ``v`` is summed over the axes ``target`` was broadcast along, broadcast
    where it is smaller (a tangent of ``x + y`` that only ``x`` carries), and
    reshaped where the types differ only in which dims are static.
    """
    nb = len(batch)
    v = v.astype(target.dtype)
    body = v.shape[nb:]
    if len(body) > target.rank or any(
        b == 1 and a != 1 for a, b in zip(body[len(body) - target.rank:], target.shape[target.rank - len(body):])
    ):
        v = unbroadcast(v, target, nb)
        body = v.shape[nb:]
    static = tuple(d if isinstance(d, int) else None for d in batch) + tuple(target.shape)
    if len(body) < target.rank or any(
        a == 1 and b != 1 for a, b in zip(body, target.shape[target.rank - len(body):])
    ):
        v = broadcast_to(v, list(batch) + dims(target))
    if v.shape != static:
        v = reshape(v, list(batch) + dims(target))
    return v


class Site:
    """One forward op being differentiated, as its gradient rules see it.

    ``batch`` holds the leading batch dims of every cotangent in reverse mode
    (empty for a plain gradient and in forward mode): primal axis ``a`` is
    axis ``ax(a)`` of a cotangent. ``op`` is the operation itself, for rules
    that read more than its operands and attributes (a scan's body); a rule
    that replaces it (uses moved to a new op) calls :meth:`retire`, and the
    sweep erases it when done.
    """

    __slots__ = ("name", "inputs", "outputs", "attrs", "batch", "needs", "op", "_retired")

    def __init__(
        self,
        name: str,
        inputs: list[E],
        outputs: list[E],
        attrs: dict[str, Any],
        batch: Dims,
        needs: Sequence[bool] | None = None,
        op: ir.Operation | None = None,
        retired: list[ir.Operation] | None = None,
    ):
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.attrs = attrs
        self.batch = batch
        # which operands want a cotangent (float and on a differentiated path)
        self.needs = list(needs) if needs is not None else [x.is_float for x in inputs]
        self.op = op
        self._retired = retired

    def retire(self) -> None:
        """The op's results now come from a replacement: erase it after the sweep."""
        if self._retired is None or self.op is None:
            raise ValueError(f"tir.{self.name}: this sweep cannot replace the op it differentiates")
        self._retired.append(self.op)

    @property
    def nb(self) -> int:
        return len(self.batch)

    @property
    def x(self) -> E:
        return self.inputs[0]

    @property
    def out(self) -> E:
        return self.outputs[0]

    def ax(self, axis: int) -> int:
        return axis + len(self.batch)

    def axes(self, name: str = "axes", rank: int | None = None) -> list[int]:
        """The op's axes attribute, normalised against ``rank`` (the input's)."""
        r = self.x.rank if rank is None else rank
        return sorted(a % r for a in self.attrs[name]) if r else []

    def zeros_like(self, v: E, batched: bool = True) -> E:
        return zeros((self.batch if batched else []) + dims(v), v.dtype)
