"""Building blocks of the tir -> linalg lowering rules.

Rules run with the insertion point and location of the tir op they replace.
They build destination-style linalg on tensors: ``tensor.empty`` of the
result shape (free dims read with ``tensor.dim``), then ``linalg.generic``
or a named op; bufferization later turns those into buffers.
"""

from __future__ import annotations

from typing import Callable, Sequence

from ..dialects._bindings import ir
from ..dialects.optable import element_dtype

__all__ = [
    "index_const",
    "sizes_of",
    "empty",
    "generic",
    "scalar_const",
    "element_type",
    "dtype_of",
    "broadcast_map",
    "result_sizes",
    "fill",
    "has_function",
    "defining_op",
    "generic_inputs",
]

PARALLEL = "#linalg.iterator_type<parallel>"
REDUCTION = "#linalg.iterator_type<reduction>"


def index_const(v: int) -> ir.Value:
    from mlir.dialects import arith

    return arith.constant(ir.IndexType.get(), v)


def dtype_of(t: ir.Type) -> str:
    return element_dtype(t.element_type if isinstance(t, ir.ShapedType) else t)


def element_type(t: ir.Type) -> ir.Type:
    return t.element_type if isinstance(t, ir.ShapedType) else t


def sizes_of(value: ir.Value) -> list[int | ir.Value]:
    """Mixed static/dynamic sizes of a ranked tensor value."""
    from mlir.dialects import tensor

    t = value.type
    return [
        tensor.dim(value, index_const(i)) if t.is_dynamic_dim(i) else int(t.shape[i])
        for i in range(t.rank)
    ]


def result_sizes(result_type: ir.RankedTensorType, operands: Sequence[ir.Value]) -> list[int | ir.Value]:
    """Sizes of a broadcast result: each free dim read from an operand having it."""
    from mlir.dialects import tensor

    rank = result_type.rank
    sizes: list[int | ir.Value] = []
    for axis in range(rank):
        if not result_type.is_dynamic_dim(axis):
            sizes.append(int(result_type.shape[axis]))
            continue
        for v in operands:
            t = v.type
            k = axis - (rank - t.rank)
            if k >= 0 and t.is_dynamic_dim(k):
                sizes.append(tensor.dim(v, index_const(k)))
                break
        else:
            raise ValueError(f"no operand provides free dim {axis} of {result_type}")
    return sizes


def empty(sizes: Sequence[int | ir.Value], el: ir.Type) -> ir.Value:
    from mlir.dialects import tensor

    return tensor.EmptyOp(list(sizes), el).result


def fill(value: ir.Value, init: ir.Value) -> ir.Value:
    """``linalg.fill`` of the tensor ``init`` with the scalar ``value``."""
    from ..dialects._upstream import linalg

    op = linalg.FillOp([init.type], [value], [init])
    block = op.regions[0].blocks.append(value.type, element_type(init.type))
    with ir.InsertionPoint(block):
        linalg.YieldOp([block.arguments[0]])
    return op.results[0]


def scalar_const(el: ir.Type, value: float | int | bool) -> ir.Value:
    from mlir.dialects import arith

    if isinstance(el, ir.FloatType):
        return arith.constant(el, float(value))
    if isinstance(el, ir.IntegerType) and el.width == 1:
        return arith.constant(el, ir.IntegerAttr.get(el, 1 if value else 0))
    return arith.constant(el, ir.IntegerAttr.get(el, int(value)))


def broadcast_map(operand_type: ir.Type, rank: int) -> ir.AffineMap:
    """Indexing map reading a NumPy-broadcast operand inside a rank-``rank`` loop nest."""
    if not isinstance(operand_type, ir.ShapedType):
        return ir.AffineMap.get(rank, 0, [])
    offset = rank - operand_type.rank
    exprs = []
    for k in range(operand_type.rank):
        if not operand_type.is_dynamic_dim(k) and operand_type.shape[k] == 1:
            exprs.append(ir.AffineConstantExpr.get(0))
        else:
            exprs.append(ir.AffineDimExpr.get(k + offset))
    return ir.AffineMap.get(rank, 0, exprs)


def generic(
    inputs: Sequence[ir.Value],
    inits: Sequence[ir.Value],
    maps: Sequence[ir.AffineMap],
    iterators: Sequence[str],
    body: Callable[..., Sequence[ir.Value]],
) -> list[ir.Value]:
    """A ``linalg.generic``; ``body(*scalars)`` yields the new outs. On
    tensors it returns the new tensors; on buffers, which it writes in
    place, nothing."""
    from ..dialects._upstream import linalg

    op = linalg.GenericOp(
        [v.type for v in inits if isinstance(v.type, ir.RankedTensorType)],
        list(inputs),
        list(inits),
        ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps]),
        ir.ArrayAttr.get([ir.Attribute.parse(PARALLEL if it == "parallel" else REDUCTION) for it in iterators]),
    )
    arg_types = [element_type(v.type) for v in list(inputs) + list(inits)]
    block = op.regions[0].blocks.append(*arg_types)
    with ir.InsertionPoint(block):
        outs = body(*block.arguments)
        linalg.YieldOp(list(outs))
    return list(op.results)


def elementwise(
    operands: Sequence[ir.Value],
    result_type: ir.RankedTensorType,
    body: Callable[..., ir.Value],
) -> ir.Value:
    """Map ``body`` over broadcast operands into a fresh tensor of ``result_type``."""
    rank = result_type.rank
    init = empty(result_sizes(result_type, operands), result_type.element_type)
    maps = [broadcast_map(v.type, rank) for v in operands] + [ir.AffineMap.get_identity(rank)]
    (res,) = generic(operands, [init], maps, ["parallel"] * rank, lambda *a: [body(*a[:-1])])
    return res


def defining_op(v: ir.Value) -> ir.Operation | None:
    """The operation producing ``v`` (None for a block argument)."""
    owner = v.owner
    if isinstance(owner, ir.Block):
        return None
    return owner.operation


def generic_inputs(op: ir.Operation) -> int:
    """How many of a ``linalg.generic``'s operands are inputs (the rest are its outs)."""
    return int(ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"])[0])


def unit_inner_stride(t: ir.Type) -> bool:
    """Whether a memref of type ``t`` lays its last axis out with stride 1
    (an identity layout, or strides ending in 1; its rows may have any stride)."""
    m = ir.MemRefType(t)
    if m.layout == ir.AffineMapAttr.get(ir.AffineMap.get_identity(m.rank)):
        return True
    try:
        strides, _ = m.get_strides_and_offset()
    except Exception:  # noqa: BLE001 - an affine-map layout has no strides
        return False
    return m.rank == 0 or strides[-1] == 1


def strided_metadata(buf: ir.Value) -> tuple[ir.Value, ir.Value, list[ir.Value]]:
    """``(aligned pointer as index, offset, strides)`` of a strided memref,
    the offset and strides in elements."""
    from mlir.dialects import memref

    t = ir.MemRefType(buf.type)
    idx = ir.IndexType.get()
    base_t = ir.MemRefType.get([], t.element_type, memory_space=t.memory_space)
    meta = ir.Operation.create(
        "memref.extract_strided_metadata", results=[base_t, idx] + [idx] * (2 * t.rank), operands=[buf]
    )
    results = list(meta.results)
    return memref.extract_aligned_pointer_as_index(results[0]), results[1], results[2 + t.rank:]


def indexing_maps(op: ir.Operation) -> list[ir.AffineMap]:
    """A ``linalg.generic``'s indexing maps, inputs first."""
    return [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]


def has_function(module_op: ir.Operation, name: str) -> bool:
    """Whether the module declares or defines a ``func.func`` named ``name``."""
    for view in module_op.regions[0].blocks[0].operations:
        op = view.operation
        if op.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == name:
            return True
    return False
