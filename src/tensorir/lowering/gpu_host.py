"""The host side of a GPU function, as Python: ``tir-gpu-host``.

After ``lowering/gpu.py`` a public function holds only host code: index
arithmetic, allocations, views, the loops of scan steps, scalar reads and
``gpu.launch_func``. :func:`host_program` translates it, op by op, into the
source of a Python function (a lean launcher, like the CPU glue of
``compiler.py``: no interpretation at call time) over these names, which
the runtime binds:

* ``alloc(nbytes)``: a device buffer (an object with ``ptr``) kept alive by
  the views that use it;
* ``K0``, ``K1``...: the kernels, objects with ``launch(grid, block, slots)``
  (``runtime/gpu.py``), one per ``gpu.launch_func`` target (the order of
  :attr:`HostProgram.kernels`);
* ``read(ptr, dtype)``: one element read back from the device;
* ``G0``, ``G1``...: the views of the module's constant globals, uploaded
  once (:attr:`HostProgram.globals`, NumPy arrays);
* ``view(a)``: the view of a device array argument.

A memref is a view, a tuple ``(owner, ptr, offset, sizes, strides)``, with
offset, sizes and strides in elements, so a kernel argument is exactly the
descriptor of GPU-NOTES' ABI: ``ptr, ptr, offset, sizes..., strides...``
(``T0``... are the slot types of each launch). Index values are Python ints.
A launch whose grid is empty (an empty array) is skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..dialects._bindings import ir
from ..errors import CompileError

__all__ = ["HostProgram", "host_program", "bind", "HELPERS", "slot_types"]

DYNAMIC = -(2**63)  # ShapedType's marker of a dynamic static_* entry


@dataclass
class HostProgram:
    """The launcher of one public function: ``source`` defines ``entry``;
    ``kernels`` lists (kernel module, function) per ``K{i}``; ``globals``
    the values of ``G{i}``; ``slots`` the slot types ``T{i}``."""

    name: str
    source: str
    kernels: list[tuple[str, str]] = field(default_factory=list)
    globals: list[np.ndarray] = field(default_factory=list)
    slots: list[tuple[str, ...]] = field(default_factory=list)


def slot_types(t: ir.Type) -> tuple[str, ...]:
    """The kernel parameter slots of one ``gpu.launch_func`` operand of type ``t``."""
    if isinstance(t, ir.MemRefType):
        return ("ptr", "ptr", "i64") + ("i64",) * (2 * t.rank)
    if isinstance(t, ir.IndexType):
        return ("i64",)
    if isinstance(t, ir.IntegerType):
        return {64: ("i64",), 32: ("i32",), 8: ("i8",), 1: ("i8",)}.get(t.width) or _unsupported(t)
    if isinstance(t, ir.F32Type):
        return ("f32",)
    if isinstance(t, ir.F64Type):
        return ("f64",)
    return _unsupported(t)


def _unsupported(t: Any) -> tuple[str, ...]:
    raise CompileError(f"the GPU back end cannot pass a {t} to a kernel")


def _dtype(t: ir.Type) -> np.dtype:
    if isinstance(t, ir.IntegerType):  # bools are stored as i8 (tir-bool-storage)
        return np.dtype({1: "bool", 8: "int8", 32: "int32", 64: "int64"}[t.width])
    if isinstance(t, ir.IndexType):
        return np.dtype("int64")
    return np.dtype({"f32": "float32", "f64": "float64"}[str(t)])


class _Writer:
    def __init__(self, module: ir.Module):
        self.names: dict[ir.Value, str] = {}
        self.lines: list[str] = []
        self.program = HostProgram("", "")
        self.kernel_index: dict[tuple[str, str], int] = {}
        self.globals = {
            ir.StringAttr(op.attributes["sym_name"]).value: op
            for op in (v.operation for v in module.body.operations) if op.name == "memref.global"
        }
        self.global_index: dict[str, int] = {}
        self.yields: list[list[str]] = []  # per open scf region, the names its yield assigns

    def fresh(self, value: ir.Value) -> str:
        name = f"v{len(self.names)}"
        self.names[value] = name
        return name

    def of(self, value: ir.Value) -> str:
        try:
            return self.names[value]
        except KeyError:
            raise CompileError(f"internal: tir-gpu-host reads a value it has not defined: {value}") from None

    def emit(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    def block(self, block: ir.Block, indent: int) -> None:
        for view in block.operations:
            self.op(view.operation, indent)

    def op(self, op: ir.Operation, indent: int) -> None:
        name = op.name
        handler = _HANDLERS.get(name)
        if handler is not None:
            handler(self, op, indent)
            return
        if name in _BINARY:
            a, b = (self.of(v) for v in op.operands)
            self.emit(indent, f"{self.fresh(op.results[0])} = {_BINARY[name].format(a=a, b=b)}")
            return
        if name in _SAME:
            self.emit(indent, f"{self.fresh(op.results[0])} = {self.of(op.operands[0])}")
            return
        raise CompileError(
            f"the GPU back end has no host translation of {name} (in {op.location}); "
            "compile this function for device='cpu'"
        )


_BINARY = {
    "arith.addi": "{a} + {b}", "arith.subi": "{a} - {b}", "arith.muli": "{a} * {b}",
    "arith.divui": "{a} // {b}", "arith.remui": "{a} % {b}", "arith.floordivsi": "{a} // {b}",
    "arith.divsi": "divs({a}, {b})", "arith.remsi": "rems({a}, {b})", "arith.ceildivsi": "ceildivs({a}, {b})",
    "arith.ceildivui": "-(-{a} // {b})",
    "arith.minsi": "min({a}, {b})", "arith.maxsi": "max({a}, {b})",
    "arith.minui": "min({a}, {b})", "arith.maxui": "max({a}, {b})",
    "arith.andi": "{a} & {b}", "arith.ori": "{a} | {b}", "arith.xori": "{a} ^ {b}",
    "arith.addf": "{a} + {b}", "arith.subf": "{a} - {b}", "arith.mulf": "{a} * {b}", "arith.divf": "{a} / {b}",
}
# Conversions that do not change a Python int's value (host index code is in range).
_SAME = {"arith.index_cast", "arith.index_castui", "arith.extsi", "arith.extui", "arith.trunci", "memref.cast",
         "arith.sitofp", "arith.uitofp"}
_CMPI = ["==", "!=", "<", "<=", ">", ">=", "<", "<=", ">", ">="]


def _constant(w: _Writer, op: ir.Operation, indent: int) -> None:
    attr = op.attributes["value"]
    if isinstance(attr, ir.BoolAttr):
        text = repr(bool(attr.value))
    elif isinstance(attr, ir.IntegerAttr):
        t = attr.type
        value = bool(attr.value) if isinstance(t, ir.IntegerType) and t.width == 1 else int(attr.value)
        text = repr(value)
    elif isinstance(attr, ir.FloatAttr):
        text = f"float({str(attr.value)!r})"
    else:
        raise CompileError(f"the GPU back end cannot use the host constant {attr}")
    w.emit(indent, f"{w.fresh(op.results[0])} = {text}")


def _cmpi(w: _Writer, op: ir.Operation, indent: int) -> None:
    pred = ir.IntegerAttr(op.attributes["predicate"]).value
    a, b = (w.of(v) for v in op.operands)
    w.emit(indent, f"{w.fresh(op.results[0])} = {a} {_CMPI[pred]} {b}")


def _select(w: _Writer, op: ir.Operation, indent: int) -> None:
    c, a, b = (w.of(v) for v in op.operands)
    w.emit(indent, f"{w.fresh(op.results[0])} = {a} if {c} else {b}")


def _mixed(static: ir.Attribute, dynamic: list[ir.Value], w: _Writer) -> list[str]:
    """The entries of a static_* attribute, with the dynamic ones from ``dynamic``."""
    values = iter(dynamic)
    return [w.of(next(values)) if s == DYNAMIC else str(s) for s in ir.DenseI64ArrayAttr(static)]


def _dim(w: _Writer, op: ir.Operation, indent: int) -> None:
    source, index = op.operands
    w.emit(indent, f"{w.fresh(op.results[0])} = {w.of(source)}[3][{w.of(index)}]")


def _alloc(w: _Writer, op: ir.Operation, indent: int) -> None:
    t = ir.MemRefType(op.results[0].type)
    if isinstance(t.element_type, ir.IndexType):  # a shape, kept on the host as a list
        if t.rank != 1 or not t.has_static_shape:
            raise CompileError(f"the GPU back end keeps only static 1-d index buffers on the host, found {t}")
        w.emit(indent, f"{w.fresh(op.results[0])} = [0] * {t.shape[0]}")
        return
    dynamic = iter(op.operands)
    sizes = [w.of(next(dynamic)) if d == DYNAMIC else str(d) for d in t.shape]
    w.emit(indent, f"{w.fresh(op.results[0])} = new(({''.join(s + ', ' for s in sizes)}), {_dtype(t.element_type).itemsize})")


def _subview(w: _Writer, op: ir.Operation, indent: int) -> None:
    view = op.opview
    offsets = _mixed(op.attributes["static_offsets"], list(view.offsets), w)
    sizes = _mixed(op.attributes["static_sizes"], list(view.sizes), w)
    strides = _mixed(op.attributes["static_strides"], list(view.strides), w)
    source_rank = len(sizes)
    rank = ir.MemRefType(op.results[0].type).rank
    unit = [k for k, s in enumerate(ir.DenseI64ArrayAttr(op.attributes["static_sizes"])) if s == 1]
    dropped = unit[: source_rank - rank]
    if len(dropped) != source_rank - rank:
        raise CompileError(f"the GPU back end cannot follow the rank-reducing {op}")
    w.emit(indent, f"{w.fresh(op.results[0])} = subview({w.of(view.source)}, ({', '.join(offsets)},), "
                   f"({', '.join(sizes)},), ({', '.join(strides)},), {tuple(dropped)!r})")


def _reassociation(op: ir.Operation) -> list[list[int]]:
    return [[int(ir.IntegerAttr(i).value) for i in ir.ArrayAttr(group)] for group in ir.ArrayAttr(op.attributes["reassociation"])]


def _expand(w: _Writer, op: ir.Operation, indent: int) -> None:
    view = op.opview
    sizes = _mixed(op.attributes["static_output_shape"], list(view.output_shape), w)
    w.emit(indent, f"{w.fresh(op.results[0])} = expand({w.of(view.src)}, {_reassociation(op)!r}, ({', '.join(sizes)},))")


def _collapse(w: _Writer, op: ir.Operation, indent: int) -> None:
    w.emit(indent, f"{w.fresh(op.results[0])} = collapse({w.of(op.operands[0])}, {_reassociation(op)!r})")


def _reinterpret(w: _Writer, op: ir.Operation, indent: int) -> None:
    view = op.opview
    offset = _mixed(op.attributes["static_offsets"], list(view.offsets), w)[0]
    sizes = _mixed(op.attributes["static_sizes"], list(view.sizes), w)
    strides = _mixed(op.attributes["static_strides"], list(view.strides), w)
    src = w.of(view.source)
    w.emit(indent, f"{w.fresh(op.results[0])} = ({src}[0], {src}[1], {offset}, ({''.join(s + ', ' for s in sizes)}), "
                   f"({''.join(s + ', ' for s in strides)}))")


def _store(w: _Writer, op: ir.Operation, indent: int) -> None:
    value, target, *indices = op.operands
    if not isinstance(ir.MemRefType(target.type).element_type, ir.IndexType) or len(indices) != 1:
        raise CompileError(f"internal: a store to device memory left in host code: {op}")
    w.emit(indent, f"{w.of(target)}[{w.of(indices[0])}] = {w.of(value)}")


def _reshape(w: _Writer, op: ir.Operation, indent: int) -> None:
    source, shape = op.operands
    w.emit(indent, f"{w.fresh(op.results[0])} = reshape({w.of(source)}, {w.of(shape)})")


def _load(w: _Writer, op: ir.Operation, indent: int) -> None:
    source, *indices = op.operands
    if isinstance(ir.MemRefType(source.type).element_type, ir.IndexType):
        w.emit(indent, f"{w.fresh(op.results[0])} = {w.of(source)}[{w.of(indices[0])}]")
        return
    dt = _dtype(ir.MemRefType(source.type).element_type)
    s = w.of(source)
    where = " + ".join([f"{s}[2]"] + [f"{w.of(i)} * {s}[4][{k}]" for k, i in enumerate(indices)])
    cast = "bool" if dt.kind == "b" else "int" if dt.kind in "iu" else "float"
    w.emit(indent, f"{w.fresh(op.results[0])} = {cast}(read({s}[1] + ({where}) * {dt.itemsize}, {dt.str!r}))")


def _get_global(w: _Writer, op: ir.Operation, indent: int) -> None:
    name = ir.FlatSymbolRefAttr(op.attributes["name"]).value
    if name not in w.global_index:
        glob = w.globals.get(name)
        if glob is None or "initial_value" not in glob.attributes:
            raise CompileError(f"the GPU back end cannot read the global @{name}")
        t = ir.MemRefType(ir.TypeAttr(glob.attributes["type"]).value)
        init = ir.DenseElementsAttr(glob.attributes["initial_value"])
        dt = _dtype(t.element_type)
        values = np.array(init, copy=True) if not init.is_splat else np.full(t.shape, np.array(init.get_splat_value().value, dtype=dt))
        w.global_index[name] = len(w.program.globals)
        w.program.globals.append(np.ascontiguousarray(values.reshape(t.shape).astype(dt, copy=False)))
    w.emit(indent, f"{w.fresh(op.results[0])} = G{w.global_index[name]}")


def _launch(w: _Writer, op: ir.Operation, indent: int) -> None:
    view = op.opview
    if list(view.asyncDependencies) or view.dynamicSharedMemorySize is not None or view.clusterSizeX is not None:
        raise CompileError(f"the GPU back end launches no async, clustered or shared-memory kernel: {op}")
    symbol = str(op.attributes["kernel"])  # @module::@function
    module, function = (part.lstrip("@") for part in symbol.split("::"))
    key = (module, function)
    if key not in w.kernel_index:
        w.kernel_index[key] = len(w.program.kernels)
        w.program.kernels.append(key)
    k = w.kernel_index[key]
    grid = [w.of(v) for v in (view.gridSizeX, view.gridSizeY, view.gridSizeZ)]
    block = [w.of(v) for v in (view.blockSizeX, view.blockSizeY, view.blockSizeZ)]
    types: list[str] = []
    values: list[str] = []
    for v in view.kernelOperands:
        types += slot_types(v.type)
        name = w.of(v)
        if isinstance(v.type, ir.MemRefType):
            values += [f"{name}[1]", f"{name}[1]", f"{name}[2]", f"*{name}[3]", f"*{name}[4]"]
        else:
            values.append(name)
    t = len(w.program.slots)
    w.program.slots.append(tuple(types))
    w.emit(indent, f"if {' and '.join(grid)}:")
    w.emit(indent + 1, f"K{k}.launch(({', '.join(grid)}), ({', '.join(block)}), "
                       f"list(zip(T{t}, ({''.join(x + ', ' for x in values)}))))")


def _for(w: _Writer, op: ir.Operation, indent: int) -> None:
    lb, ub, step, *inits = (w.of(v) for v in op.operands)
    body = op.regions[0].blocks[0]
    carried = [w.fresh(r) for r in op.results]
    for c, init in zip(carried, inits):
        w.emit(indent, f"{c} = {init}")
    iv = w.fresh(body.arguments[0])
    w.emit(indent, f"for {iv} in range({lb}, {ub}, {step}):")
    for arg, c in zip(list(body.arguments)[1:], carried):
        w.emit(indent + 1, f"{w.fresh(arg)} = {c}")
    w.yields.append(carried)
    w.emit(indent + 1, "pass")
    w.block(body, indent + 1)
    w.yields.pop()


def _if(w: _Writer, op: ir.Operation, indent: int) -> None:
    cond = w.of(op.operands[0])
    results = [w.fresh(r) for r in op.results]
    w.yields.append(results)
    w.emit(indent, f"if {cond}:")
    w.emit(indent + 1, "pass")
    w.block(op.regions[0].blocks[0], indent + 1)
    if len(op.regions) > 1 and op.regions[1].blocks:
        w.emit(indent, "else:")
        w.emit(indent + 1, "pass")
        w.block(op.regions[1].blocks[0], indent + 1)
    w.yields.pop()


def _yield(w: _Writer, op: ir.Operation, indent: int) -> None:
    targets = w.yields[-1]
    if targets:
        w.emit(indent, f"{', '.join(targets)}, = {''.join(w.of(v) + ', ' for v in op.operands)}")


def _return(w: _Writer, op: ir.Operation, indent: int) -> None:
    if len(op.operands):
        raise CompileError("internal: a GPU entry function returns values; results are out-params")
    w.emit(indent, "return")


_HANDLERS = {
    "arith.constant": _constant,
    "arith.cmpi": _cmpi,
    "arith.select": _select,
    "memref.dim": _dim,
    "memref.alloc": _alloc,
    "memref.alloca": _alloc,
    "memref.subview": _subview,
    "memref.expand_shape": _expand,
    "memref.collapse_shape": _collapse,
    "memref.reinterpret_cast": _reinterpret,
    "memref.load": _load,
    "memref.store": _store,
    "memref.reshape": _reshape,
    "memref.get_global": _get_global,
    "gpu.launch_func": _launch,
    "scf.for": _for,
    "scf.if": _if,
    "scf.yield": _yield,
    "func.return": _return,
}


def host_program(module: ir.Module, entry: str) -> HostProgram:
    """The launcher of the public function ``entry`` of ``module`` (lowered
    by ``lowering/gpu.py``): ``def entry(a0, a1, ...)`` over its arguments
    (device arrays: inputs, out-params, then the status buffer if any)."""
    func = None
    for view in module.body.operations:
        op = view.operation
        if op.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == entry:
            func = op
    if func is None or not func.regions[0].blocks:
        raise CompileError(f"internal: the GPU module has no function @{entry}")
    w = _Writer(module)
    w.program.name = entry
    block = func.regions[0].blocks[0]
    params = [f"a{i}" for i in range(len(block.arguments))]
    w.lines.append(f"def entry({', '.join(params)}):")
    for arg, p in zip(block.arguments, params):
        w.emit(1, f"{w.fresh(arg)} = view({p})")
    w.block(block, 1)
    w.program.source = "\n".join(w.lines) + "\n"
    return w.program


def bind(
    program: HostProgram, kernel: Callable[[str, str], Any], alloc: Callable[[int], Any],
    upload: Callable[[np.ndarray], Any], read: Callable[[int, str], Any],
) -> Callable[..., None]:
    """``program``'s ``entry`` as a Python function over the runtime's pieces:
    ``kernel(module, function)`` gives each ``K{i}``; ``alloc(nbytes)`` a
    buffer (with ``ptr``); ``upload(array)`` puts each global on the device
    once (an array with ``ptr`` and ``shape``); ``read(ptr, dtype)`` reads an
    element back. The entry's arguments are arrays with ``ptr`` and ``shape``."""
    scope: dict[str, Any] = dict(HELPERS)
    for k, (module, function) in enumerate(program.kernels):
        scope[f"K{k}"] = kernel(module, function)
    for k, types in enumerate(program.slots):
        scope[f"T{k}"] = types

    def view(a: Any) -> tuple:
        shape = tuple(a.shape)
        return a, a.ptr, 0, shape, _strides(shape)

    def new(sizes: tuple, itemsize: int) -> tuple:
        buf = alloc(math.prod(sizes) * itemsize)
        return buf, buf.ptr, 0, sizes, _strides(sizes)

    for k, value in enumerate(program.globals):
        scope[f"G{k}"] = view(upload(value))
    scope.update(view=view, new=new, read=read)
    exec(program.source, scope)  # noqa: S102 - generated from our own IR
    return scope["entry"]


# --- the helpers the launcher calls ---------------------------------------------


def _divs(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _rems(a: int, b: int) -> int:
    return a - b * _divs(a, b)


def _ceildivs(a: int, b: int) -> int:
    q = _divs(a, b)
    return q + 1 if q * b != a and (a < 0) == (b < 0) else q


def _strides(sizes: tuple) -> tuple:
    out, step = [], 1
    for n in reversed(sizes):
        out.append(step)
        step *= n
    return tuple(reversed(out))


def _subview(src: tuple, offsets: tuple, sizes: tuple, steps: tuple, dropped: tuple) -> tuple:
    owner, ptr, offset, _, strides = src
    offset += sum(o * s for o, s in zip(offsets, strides))
    new_strides = tuple(s * k for s, k in zip(strides, steps))
    keep = [k for k in range(len(sizes)) if k not in dropped]
    return owner, ptr, offset, tuple(sizes[k] for k in keep), tuple(new_strides[k] for k in keep)


def _expand(src: tuple, groups: list, sizes: tuple) -> tuple:
    owner, ptr, offset, _, strides = src
    new = [0] * len(sizes)
    for group, stride in zip(groups, strides):
        step = stride
        for k in reversed(group):
            new[k] = step
            step *= sizes[k]
    return owner, ptr, offset, tuple(sizes), tuple(new)


def _collapse(src: tuple, groups: list) -> tuple:
    owner, ptr, offset, sizes, strides = src
    new_sizes, new_strides = [], []
    for group in groups:
        n = 1
        for k in group:
            n *= sizes[k]
        new_sizes.append(n)
        new_strides.append(strides[group[-1]] if group else 1)
    return owner, ptr, offset, tuple(new_sizes), tuple(new_strides)


def _reshape_view(src: tuple, shape: list) -> tuple:
    owner, ptr, offset, _, _ = src
    return owner, ptr, offset, tuple(shape), _strides(tuple(shape))


HELPERS: dict[str, Any] = {
    "reshape": _reshape_view,
    "divs": _divs,
    "rems": _rems,
    "ceildivs": _ceildivs,
    "subview": _subview,
    "expand": _expand,
    "collapse": _collapse,
}
