"""The tir op table: one row per op, from which the IRDL dialect is generated.

An :class:`OpDef` row holds what every stage needs to know about an op: its
operands and attributes (names and kinds), its result-type rule, its NumPy
reference implementation and whether it is differentiable. Rows are defined
in the family modules (``elementwise``, ``reduce``, ``linalg``, ``shape``,
``nn``) and gathered in ``dialects/__init__.py`` into :data:`OPS`; the IRDL
text loaded into every context is generated from that table alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ._bindings import ir, load_irdl
from ..errors import IRError
from .types import ELEMENT_DTYPE, MLIR_ELEMENT, Dim, Sym, TensorType

__all__ = ["OpDef", "encode_attr", "decode_attr", "to_mlir_type", "from_mlir_type"]

# Attribute kinds and how they are spelled in MLIR.
ATTR_KINDS = ("int", "ints", "bool", "float", "dtype", "str", "dense", "symbol")

TypeRule = Callable[[Sequence[TensorType], Mapping[str, Any]], "TensorType | list[TensorType]"]


@dataclass(frozen=True)
class OpDef:
    """One tir op.

    ``operands`` are names; a name starting with ``*`` is variadic (at most
    one per op). ``attrs`` maps attribute names to kinds (see ATTR_KINDS).
    ``infer(types, attrs)`` gives the result type(s) and raises ShapeError /
    DTypeError on bad operands. ``reference(*arrays, **attrs)`` is the NumPy
    oracle used by the interpreter.
    """

    name: str
    operands: tuple[str, ...]
    attrs: Mapping[str, str]
    infer: TypeRule
    reference: Callable[..., Any]
    family: str
    differentiable: bool = True
    doc: str = ""
    num_results: int = 1  # -1: variadic (any number of results of any types, e.g. tir.scan's)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def multi_result(self) -> bool:
        """Whether the reference returns a sequence of results (not one array)."""
        return self.num_results != 1

    @property
    def full_name(self) -> str:
        return "tir." + self.name

    def result_types(self, types: Sequence[TensorType], attrs: Mapping[str, Any]) -> list[TensorType]:
        out = self.infer(types, attrs)
        return list(out) if isinstance(out, (list, tuple)) else [out]

    def irdl(self) -> str:
        lines = [f"  irdl.operation @{self.name} {{"]
        n = 0
        operands = []
        if self.num_results < 0:
            # IRDL binds every value of a variadic group to one type; values of
            # different types need groups of their own: MAX_ARITY optional ones
            # (sized by operandSegmentSizes/resultSegmentSizes, see create())
            names = [f"in{k}: optional" for k in range(MAX_ARITY)]
        else:
            names = [f"{name[1:]}: variadic" if name.startswith("*") else name + ":" for name in self.operands]
        for name in names:
            lines.append(f"    %v{n} = irdl.any")
            operands.append(f"{name} %v{n}")
            n += 1
        if operands:
            lines.append(f"    irdl.operands({', '.join(operands)})")
        attrs = []
        for name in self.attrs:
            lines.append(f"    %v{n} = irdl.any")
            attrs.append(f'"{name}" = %v{n}')
            n += 1
        if attrs:
            lines.append(f"    irdl.attributes {{{', '.join(attrs)}}}")
        if self.num_results < 0:
            results = [f"out{k}: optional" for k in range(MAX_ARITY)]
        else:
            results = [f"out{k if self.num_results > 1 else ''}:" for k in range(self.num_results)]
        for k, name in enumerate(results):
            lines.append(f"    %v{n} = irdl.any")
            results[k] = f"{name} %v{n}"
            n += 1
        lines.append(f"    irdl.results({', '.join(results)})")
        lines.append("  }")
        return "\n".join(lines)


# Most operands (and results) of an op whose values all have types of their own.
MAX_ARITY = 64
OPERAND_SEGMENTS = "operandSegmentSizes"
RESULT_SEGMENTS = "resultSegmentSizes"


def irdl_text(ops: Mapping[str, OpDef]) -> str:
    body = "\n".join(op.irdl() for op in ops.values())
    return f"irdl.dialect @tir {{\n{body}\n}}\n"


# ---------------------------------------------------------------------------
# Types


def to_mlir_type(t: TensorType) -> ir.Type:
    if t.dtype == "index":
        return ir.IndexType.get()
    el = ir.Type.parse(MLIR_ELEMENT[t.dtype])
    dyn = ir.ShapedType.get_dynamic_size()
    return ir.RankedTensorType.get([d if isinstance(d, int) else dyn for d in t.shape], el)


def element_dtype(t: ir.Type) -> str:
    if isinstance(t, ir.IndexType):
        return "index"
    key = str(t)
    if key not in ELEMENT_DTYPE:
        raise TypeError(f"tir has no dtype for MLIR element type {key}")
    return ELEMENT_DTYPE[key]


def from_mlir_type(t: ir.Type) -> TensorType:
    """tir type of an MLIR type; every ``?`` becomes a fresh unknown dim."""
    if isinstance(t, ir.IndexType):
        return TensorType("index", ())
    if not isinstance(t, ir.RankedTensorType):
        raise TypeError(f"tir values are ranked tensors or index, not {t}")
    shape: list[Dim] = [
        Sym.fresh() if t.is_dynamic_dim(i) else int(t.shape[i]) for i in range(t.rank)
    ]
    return TensorType(element_dtype(t.element_type), tuple(shape))


# ---------------------------------------------------------------------------
# Attributes

INT_NONE = -(2**63)  # encodes ``None`` inside an "ints" attribute (slices)


def encode_attr(kind: str, value: Any) -> ir.Attribute:
    if kind == "int":
        return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), int(value))
    if kind == "ints":
        return ir.DenseI64ArrayAttr.get([INT_NONE if v is None else int(v) for v in value])
    if kind == "bool":
        return ir.BoolAttr.get(bool(value))
    if kind == "float":
        return ir.FloatAttr.get_f64(float(value))
    if kind == "dtype":
        return ir.TypeAttr.get(ir.Type.parse(MLIR_ELEMENT[str(value)]))
    if kind == "str":
        return ir.StringAttr.get(str(value))
    if kind == "symbol":
        return ir.FlatSymbolRefAttr.get(str(value))
    if kind == "dense":
        arr = np.asarray(value)
        t = to_mlir_type(TensorType(arr.dtype.name, arr.shape))
        if arr.dtype == np.bool_:
            return ir.DenseElementsAttr.get(np.packbits(arr.reshape(-1), bitorder="little"), type=t)
        return ir.DenseElementsAttr.get(np.ascontiguousarray(arr), type=t)
    raise ValueError(f"unknown attribute kind {kind!r}")


def decode_attr(kind: str, attr: ir.Attribute) -> Any:
    if kind == "int":
        return int(ir.IntegerAttr(attr).value)
    if kind == "ints":
        return tuple(None if v == INT_NONE else int(v) for v in ir.DenseI64ArrayAttr(attr))
    if kind == "bool":
        return bool(ir.BoolAttr(attr).value)
    if kind == "float":
        return float(ir.FloatAttr(attr).value)
    if kind == "dtype":
        return element_dtype(ir.TypeAttr(attr).value)
    if kind == "str":
        return ir.StringAttr(attr).value
    if kind == "symbol":
        return ir.FlatSymbolRefAttr(attr).value
    if kind == "dense":
        return dense_to_numpy(attr)
    raise ValueError(f"unknown attribute kind {kind!r}")


def dense_to_numpy(attr: ir.Attribute) -> np.ndarray:
    t = attr.type
    dtype = element_dtype(t.element_type)
    shape = tuple(t.shape)
    if isinstance(attr, ir.DenseIntElementsAttr) or isinstance(attr, ir.DenseFPElementsAttr):
        if attr.is_splat:
            return np.full(shape, attr.get_splat_value().value, dtype=dtype)
        if dtype == "bool":
            return np.array([bool(attr[i]) for i in range(len(attr))], dtype=bool).reshape(shape)
        return np.array(attr, copy=True).astype(dtype, copy=False).reshape(shape)
    raise TypeError(f"expected a dense elements attribute, found {attr}")


# ---------------------------------------------------------------------------
# Loading and building


_IRDL_CACHE: dict[int, str] = {}


def load_into(ctx: ir.Context, ops: Mapping[str, OpDef]) -> None:
    key = id(ops)
    if key not in _IRDL_CACHE:
        _IRDL_CACHE[key] = irdl_text(ops)
    with ctx, ir.Location.unknown():
        load_irdl(_IRDL_CACHE[key])


def op_attrs(op: ir.Operation, opdef: OpDef) -> dict[str, Any]:
    """The attributes of a tir operation, decoded to Python values."""
    attrs = op.attributes
    return {name: decode_attr(kind, attrs[name]) for name, kind in opdef.attrs.items()}


def create(
    opdef: OpDef,
    operands: Sequence[ir.Value],
    attrs: Mapping[str, Any],
    result_types: Sequence[TensorType] | None = None,
) -> ir.Operation:
    """Build a tir op at the current insertion point and location."""
    if result_types is None:
        result_types = opdef.result_types([from_mlir_type(v.type) for v in operands], attrs)
    missing = set(opdef.attrs) - set(attrs)
    if missing:
        raise ValueError(f"tir.{opdef.name} needs attributes {sorted(missing)}")
    encoded = {k: encode_attr(opdef.attrs[k], attrs[k]) for k in opdef.attrs}
    if opdef.num_results < 0:
        for key, n, what in ((OPERAND_SEGMENTS, len(operands), "operands"), (RESULT_SEGMENTS, len(result_types), "results")):
            if n > MAX_ARITY:
                raise IRError(f"tir.{opdef.name} takes at most {MAX_ARITY} {what}, found {n}")
            encoded[key] = ir.DenseI32ArrayAttr.get([1] * n + [0] * (MAX_ARITY - n))
    return ir.Operation.create(
        opdef.full_name,
        results=[to_mlir_type(t) for t in result_types],
        operands=list(operands),
        attributes=encoded,
    )
