"""Run-time index checks: how compiled code reports an index out of bounds.

A tir op whose offsets are known only at run time (``tir.dynamic_slice``,
``tir.dynamic_update_slice``) cannot be checked when tracing, and reading
at an offset out of bounds would return wrong data or crash. So its
lowering checks every offset, keeps the memory access in bounds whatever
the outcome, and reports a failed check through one channel:

1. ``tir-to-linalg``: the lowering rule computes ``fail`` (an ``i1``), and
   calls the marker :data:`CHECK_FN` with ``(fail, start, axis size)`` as
   ``i64``; the call carries what the message needs as its ``tir.check``
   attribute (op, axis, window size, wrap). :func:`emit_index_check`.
2. ``tir-entry-abi``: a public function that contains markers gets one more
   parameter, after its out-params: ``status``, a ``memref<3xi64>`` marked
   ``{tir.status}`` (:data:`STATUS`). Each marker becomes "if ``fail`` and
   no earlier check failed, store (check id, start, axis size) into
   ``status``"; check ids count from 1 in block order, so the first failed
   check of a call is the one reported. The function's ``tir.checks``
   attribute (:data:`CHECKS`) lists the checks by id, each with the
   source location of its op. :func:`thread_status`.
3. The Python runner (``compiler.py``) passes a zeroed ``status`` array,
   and after the call raises :class:`~tensorir.errors.IndexOutOfBoundsError`
   when ``status[0]`` is not 0, with the message of :func:`IndexCheck.message`
   and the user's source line. Shared variables that the call updated in
   place get their values from before the call back (the runner keeps a
   copy of them, for functions with checks only).

Functions without dynamic offsets keep their signature: no status, no cost.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..dialects._bindings import ir, walk
from ..dialects.dynamic_slice import window_error
from ..errors import CompileError
from .common import has_function

__all__ = [
    "CHECK_FN",
    "STATUS",
    "CHECKS",
    "STATUS_SIZE",
    "IndexCheck",
    "emit_index_check",
    "thread_status",
    "check_table",
]

CHECK_FN = "tir.index_check"  # the marker: func.call @tir.index_check(fail: i1, start: i64, size: i64)
STATUS = "tir.status"  # argument attribute of the status out-param
CHECKS = "tir.checks"  # function attribute: the checks by id (id k is entry k - 1)
STATUS_SIZE = 3  # status = [check id (0: ok), start as given, axis size]


@dataclass(frozen=True)
class IndexCheck:
    """One run-time bounds check of a window start, and where its op came from."""

    op: str
    axis: int
    size: int  # the window's size along the axis
    wrap: bool  # whether a negative start counts from the end
    filename: str | None = None
    line: int | None = None

    def message(self, start: int, n: int) -> str:
        """What went wrong, as NumPy says it (``index 12 is out of bounds for axis 0 with size 10``)."""
        return window_error(start, self.size, self.wrap, self.axis, n)


def _i64() -> ir.Type:
    return ir.IntegerType.get_signless(64)


def _module_of(block: ir.Block) -> ir.Operation:
    op = block.owner
    while op is not None and op.name != "builtin.module":
        op = op.parent
    if op is None:
        raise CompileError("an index check was lowered outside a module")
    return op


def _declare(module_op: ir.Operation) -> None:
    """``func.func private @tir.index_check(i1, i64, i64)`` at the top of the module, once."""
    from mlir.dialects import func

    if has_function(module_op, CHECK_FN):
        return
    body = module_op.regions[0].blocks[0]
    first = list(body.operations)[0] if len(body.operations) else None
    point = ir.InsertionPoint(first) if first is not None else ir.InsertionPoint(body)
    with point, ir.Location.unknown():
        i1 = ir.IntegerType.get_signless(1)
        func.FuncOp(CHECK_FN, ir.FunctionType.get([i1, _i64(), _i64()], []), visibility="private")


def emit_index_check(
    fail: ir.Value, start: ir.Value, n: ir.Value, *, op: str, axis: int, size: int, wrap: bool
) -> None:
    """Mark a bounds check at the current insertion point and location.

    ``fail``: ``i1``, true when the start is out of bounds; ``start``: the
    start as the program gave it, ``n``: the axis size (``index`` or ``i64``).
    """
    from mlir.dialects import arith, func

    block = ir.InsertionPoint.current.block
    _declare(_module_of(block))
    i64 = _i64()
    args = [fail] + [arith.index_cast(i64, v) if isinstance(v.type, ir.IndexType) else v for v in (start, n)]
    call = func.CallOp([], ir.FlatSymbolRefAttr.get(CHECK_FN), args)
    call.operation.attributes["tir.check"] = ir.DictAttr.get({
        "op": ir.StringAttr.get(op),
        "axis": ir.IntegerAttr.get(i64, axis),
        "size": ir.IntegerAttr.get(i64, size),
        "wrap": ir.BoolAttr.get(wrap),
    })


def _is_marker(op: ir.Operation) -> bool:
    return op.name == "func.call" and ir.FlatSymbolRefAttr(op.attributes["callee"]).value == CHECK_FN


def _file_line(loc: ir.Location) -> tuple[str | None, int | None]:
    """The first file:line inside a location (fused, named and call-site ones included)."""
    if loc.is_a_file():
        return loc.filename, int(loc.start_line)
    if loc.is_a_fused():
        for inner in loc.locations:
            found = _file_line(inner)
            if found[0] is not None:
                return found
    if loc.is_a_name():
        return _file_line(loc.child_loc)
    if loc.is_a_callsite():
        return _file_line(loc.callee)
    return None, None


def thread_status(fn: ir.Operation) -> bool:
    """Give public function ``fn`` its status out-param if it has index checks
    (see the module docstring); returns whether it has any. Run by
    ``tir-entry-abi`` after the out-params are added."""
    from mlir.dialects import arith, memref, scf

    markers = [o for o in walk(fn, ["func.call"]) if _is_marker(o)]
    if not markers:
        return False
    block = fn.regions[0].blocks[0]
    i64 = _i64()
    status_type = ir.MemRefType.get([STATUS_SIZE], i64)
    status = block.add_argument(status_type, fn.location)
    ftype = ir.FunctionType(ir.TypeAttr(fn.attributes["function_type"]).value)
    fn.attributes["function_type"] = ir.TypeAttr.get(
        ir.FunctionType.get(list(ftype.inputs) + [status_type], list(ftype.results))
    )
    old = list(ir.ArrayAttr(fn.attributes["arg_attrs"])) if "arg_attrs" in fn.attributes else []
    old += [ir.DictAttr.get({})] * (len(ftype.inputs) - len(old))
    fn.attributes["arg_attrs"] = ir.ArrayAttr.get(old + [ir.DictAttr.get({STATUS: ir.UnitAttr.get()})])
    table = []
    for k, call in enumerate(markers, 1):
        fail, start, n = call.operands
        info = ir.DictAttr(call.attributes["tir.check"])
        filename, line = _file_line(call.location)
        entry = {name: info[name] for name in ("op", "axis", "size", "wrap")}
        if filename is not None:
            entry["file"] = ir.StringAttr.get(filename)
            entry["line"] = ir.IntegerAttr.get(i64, line)
        table.append(ir.DictAttr.get(entry))
        with ir.InsertionPoint(call), call.location:
            index = [arith.constant(ir.IndexType.get(), i) for i in range(STATUS_SIZE)]
            first = arith.cmpi(arith.CmpIPredicate.eq, memref.load(status, [index[0]]), arith.constant(i64, 0))
            branch = scf.IfOp(arith.andi(fail, first))
            with ir.InsertionPoint(branch.then_block):
                for value, at in zip((arith.constant(i64, k), start, n), index):
                    memref.store(value, status, [at])
                scf.YieldOp([])
        call.erase()
    fn.attributes[CHECKS] = ir.ArrayAttr.get(table)
    return True


def drop_declaration(module_op: ir.Operation) -> None:
    """Erase the marker's declaration once every marker is threaded; a marker
    left (in a private function) is an error."""
    left = [o for o in walk(module_op, ["func.call"]) if _is_marker(o)]
    if left:
        raise CompileError(
            "tir-entry-abi: an index check of a dynamic slice is in a private function; run-time "
            "index checks are supported in public (entry) functions only"
        )
    for view in list(module_op.regions[0].blocks[0].operations):
        op = view.operation
        if op.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == CHECK_FN:
            op.erase()


def check_table(fn: ir.Operation) -> list[IndexCheck]:
    """The checks of a function after ``tir-entry-abi``, by id - 1 (empty when it has none)."""
    if CHECKS not in fn.attributes:
        return []
    out = []
    for attr in ir.ArrayAttr(fn.attributes[CHECKS]):
        d = ir.DictAttr(attr)
        has_file = "file" in d
        out.append(IndexCheck(
            op=ir.StringAttr(d["op"]).value,
            axis=int(ir.IntegerAttr(d["axis"]).value),
            size=int(ir.IntegerAttr(d["size"]).value),
            wrap=bool(ir.BoolAttr(d["wrap"]).value),
            filename=ir.StringAttr(d["file"]).value if has_file else None,
            line=int(ir.IntegerAttr(d["line"]).value) if has_file else None,
        ))
    return out
