"""``tir-bool-storage``: bool buffers hold one byte per element (``i8``).

Takes in: bufferized IR (memrefs, ``linalg.generic`` on buffers). Leaves: the
same IR in which no memref has ``i1`` elements. LLVM cannot load or store a
memref of ``i1`` (the memref-to-LLVM conversion asserts on sub-byte element
types), and NumPy stores ``bool`` as one byte, so every ``memref<...xi1>``
becomes ``memref<...xi8>`` holding 0 or 1; values stay ``i1`` in registers:

    linalg.generic block argument read from a bool buffer:  i8 -> (!= 0)  -> i1
    linalg.yield into a bool buffer:                        i1 -> extui  -> i8
    memref.load from a bool buffer:                         i8 -> (!= 0)  -> i1
    memref.store into a bool buffer:                        i1 -> extui  -> i8
    memref.global of bools:                                 dense<i1> -> dense<i8>

Function signatures change with their arguments, so a compiled function takes
NumPy bool arrays as they are.
"""

from __future__ import annotations

import numpy as np

from ..dialects._bindings import ir, walk

__all__ = ["bool_storage"]


def _is_bool_memref(t: ir.Type) -> bool:
    return isinstance(t, ir.MemRefType) and _is_i1(t.element_type)


def _is_i1(t: ir.Type) -> bool:
    return isinstance(t, ir.IntegerType) and t.width == 1


def _byte_memref(t: ir.MemRefType) -> ir.MemRefType:
    return ir.MemRefType.get(list(t.shape), ir.IntegerType.get_signless(8), t.layout, t.memory_space)


def _convert_type(t: ir.Type) -> ir.Type:
    if _is_bool_memref(t):
        return _byte_memref(ir.MemRefType(t))
    if isinstance(t, ir.FunctionType):
        return ir.FunctionType.get([_convert_type(a) for a in t.inputs], [_convert_type(r) for r in t.results])
    return t


def _retype(value: ir.Value) -> bool:
    if _is_bool_memref(value.type):
        value.set_type(_byte_memref(ir.MemRefType(value.type)))
        return True
    return False


def _widen(value: ir.Value, ip: ir.InsertionPoint) -> ir.Value:
    from mlir.dialects import arith

    with ip:
        return arith.extui(ir.IntegerType.get_signless(8), value)


def _narrow_uses(value: ir.Value, after: ir.InsertionPoint) -> None:
    """Make ``value`` an i8 and give its former users ``value != 0`` (an i1)."""
    from mlir.dialects import arith

    i8 = ir.IntegerType.get_signless(8)
    value.set_type(i8)
    with after:
        # any non-zero byte is true, as NumPy reads bool memory
        narrow = arith.cmpi(arith.CmpIPredicate.ne, value, arith.constant(i8, 0))
    value.replace_all_uses_except(narrow, narrow.owner.operation)


def _fix_global(op: ir.Operation) -> None:
    t = ir.TypeAttr(op.attributes["type"]).value
    if not _is_bool_memref(t):
        return
    new_t = _byte_memref(ir.MemRefType(t))
    op.attributes["type"] = ir.TypeAttr.get(new_t)
    if "initial_value" in op.attributes:
        init = op.attributes["initial_value"]
        if isinstance(init, ir.DenseElementsAttr):
            from ..dialects.optable import dense_to_numpy

            values = dense_to_numpy(init).astype(np.int8)
            tensor_t = ir.RankedTensorType.get(list(new_t.shape), new_t.element_type)
            op.attributes["initial_value"] = ir.DenseElementsAttr.get(np.ascontiguousarray(values), type=tensor_t)


def _fix_generic(op: ir.Operation) -> None:
    block = op.regions[0].blocks[0]
    operands = list(op.operands)
    yield_op = list(block.operations)[-1]
    # the outs are the trailing operands, one per yielded value
    n_in = len(operands) - len(yield_op.operands)
    for k, (operand, arg) in enumerate(zip(operands, block.arguments)):
        elem = operand.type.element_type if isinstance(operand.type, ir.ShapedType) else operand.type
        if not (_is_i1(arg.type) and isinstance(elem, ir.IntegerType) and elem.width == 8):
            continue
        _narrow_uses(arg, ir.InsertionPoint.at_block_begin(block))
        if k >= n_in:
            j = k - n_in
            yield_op.operands[j] = _widen(yield_op.operands[j], ir.InsertionPoint(yield_op))


def bool_storage(module_op: ir.Operation) -> None:
    """Rewrite every ``i1`` memref under ``module_op`` into an ``i8`` one."""
    ops = walk(module_op)
    for op in ops:
        for region in op.regions:
            for block in region.blocks:
                for arg in block.arguments:
                    _retype(arg)
        for res in op.results:
            _retype(res)
        if op.name == "func.func":
            ft = ir.TypeAttr(op.attributes["function_type"]).value
            op.attributes["function_type"] = ir.TypeAttr.get(_convert_type(ft))
        elif op.name == "memref.global":
            _fix_global(op)
    for op in ops:
        if op.name == "linalg.generic":
            _fix_generic(op)
        elif op.name == "memref.load" and _is_i1(op.results[0].type) and not _is_bool_memref(op.operands[0].type):
            _narrow_uses(op.results[0], ir.InsertionPoint.after(op))
        elif op.name == "memref.store" and _is_i1(op.operands[0].type) and not _is_bool_memref(op.operands[1].type):
            op.operands[0] = _widen(op.operands[0], ir.InsertionPoint(op))

