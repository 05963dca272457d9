"""Buffer reuse after bufferization: fewer allocations, lower peak memory.

One-shot bufferization gives every op that is not fused with its consumer a
fresh ``memref.alloc`` (a gemm's output, the elementwise op reading it, the
next gemm's output...), and the ownership-based deallocation frees them all
at the end of the function. Theano reuses such buffers in place ("inplace"
elementwise ops, the destroy handler) and frees intermediates as soon as they
are dead; these two passes do the same on the buffers of the entry block of
each function, after ``one-shot-bufferize``:

* ``tir-reuse-buffers`` (before ``buffer-deallocation-pipeline``):

  1. *in place*: an all-parallel ``linalg.generic`` that reads a buffer ``B``
     for the last time, through the same indexing map it writes its output
     with, writes its output into ``B`` instead of a fresh buffer (each
     element of ``B`` is read in the iteration that overwrites it). When the
     output is a function out-param that nothing used before, ``B`` is
     replaced by the out-param instead, so the producer of ``B`` (a gemm)
     writes straight into the caller's array and nothing is allocated.
  2. *reuse*: an allocation of the type and dynamic sizes of a buffer that is
     dead before the new one is first used takes that buffer instead.

* ``tir-free-early`` (after it): each ``memref.dealloc`` of an allocation of
  the entry block moves to just after the buffer's last use, so the peak is
  the largest set of buffers live at one time, not their sum.

Only buffers whose every use is understood are touched: linalg ops, memref
loads, stores, copies and dims, and the views of ``_VIEWS`` (whose results
alias the buffer and extend its live range). A buffer used by anything else
(returned, passed to a call, yielded from a loop) is left alone. Uses inside
nested regions count at the op of the entry block that holds them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..dialects._bindings import ir
from .common import indexing_maps

__all__ = ["reuse_buffers", "free_early", "root"]

_VIEWS = frozenset({
    "memref.subview", "memref.expand_shape", "memref.collapse_shape", "memref.cast",
    "memref.reinterpret_cast", "memref.transpose", "memref.view",
})
_ACCESSES = frozenset({"memref.copy", "memref.dim", "memref.load", "memref.store", "memref.dealloc"})


def root(v: ir.Value) -> ir.Value:
    """The buffer ``v`` is a view of, through the views of ``_VIEWS`` (``v`` itself if it is not a view)."""
    while not isinstance(v.owner, ir.Block) and v.owner.operation.name in _VIEWS:
        v = v.owner.operation.operands[0]
    return v


@dataclass
class _Buffer:
    """An allocation of the entry block and what is known of its uses."""

    alloc: ir.Operation
    first: int = -1  # position of the first top-level op using it (views and dims excluded)
    last: int = -1  # position of the last top-level op using it or a view of it (a dealloc is no use)
    earliest: int = -1  # position of the first top-level op using it in any way
    viewed: bool = False
    escapes: bool = False

    @property
    def value(self) -> ir.Value:
        return self.alloc.results[0]


def _funcs(module_op: ir.Operation) -> list[ir.Block]:
    blocks = []
    for view in module_op.regions[0].blocks[0].operations:
        op = view.operation
        if op.name == "func.func" and len(op.regions[0].blocks) == 1:
            blocks.append(op.regions[0].blocks[0])
    return blocks


def _owner(use: ir.OpOperand) -> ir.Operation:
    owner = use.owner
    return owner.operation if hasattr(owner, "operation") else owner


def _top_level(op: ir.Operation, block: ir.Block) -> ir.Operation | None:
    """The ancestor of ``op`` (or ``op``) that is an op of ``block``."""
    while op is not None:
        parent = op.parent
        if parent is None:
            return None
        if op.block == block:
            return op
        op = parent.operation if hasattr(parent, "operation") else parent
    return None


class _Block:
    """Positions of the ops of a block and the buffers allocated in it."""

    def __init__(self, block: ir.Block) -> None:
        self.block = block
        self.ops = [view.operation for view in block.operations]
        self.pos = {op: i for i, op in enumerate(self.ops)}  # ops hash by identity
        self.buffers = [self._analyse(op) for op in self.ops if op.name == "memref.alloc"]

    def _analyse(self, alloc: ir.Operation) -> _Buffer:
        buf = _Buffer(alloc)
        work = [alloc.results[0]]
        while work:
            value = work.pop()
            for use in value.uses:
                user = _owner(use)
                top = _top_level(user, self.block)
                if top is None or (user.name not in _VIEWS and user.name not in _ACCESSES
                                   and not user.name.startswith("linalg.")):
                    buf.escapes = True
                    continue
                p = self.pos[top]
                if user.name != "memref.dealloc":  # freeing is not a use
                    buf.last = max(buf.last, p)
                buf.earliest = p if buf.earliest < 0 else min(buf.earliest, p)
                if user.name in _VIEWS:
                    buf.viewed = True
                    work.extend(user.results)
                elif user.name not in ("memref.dim", "memref.dealloc"):
                    buf.first = p if buf.first < 0 else min(buf.first, p)
        return buf


# ---------------------------------------------------------------------------
# tir-reuse-buffers


def reuse_buffers(module_op: ir.Operation) -> None:
    """``tir-reuse-buffers``: elementwise ops write in place into dead inputs,
    and new allocations take dead buffers of their type and sizes."""
    for block in _funcs(module_op):
        while _in_place_once(block):
            pass
        _reuse_dead(block)


def _parallel(op: ir.Operation) -> bool:
    return all("parallel" in str(t) for t in ir.ArrayAttr(op.attributes["iterator_types"]))


def _segments(op: ir.Operation) -> tuple[int, int]:
    sizes = ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"])
    return int(sizes[0]), int(sizes[1])


def _in_place_once(block: ir.Block) -> bool:
    """Make one elementwise op write into a dead input; whether one changed."""
    info = _Block(block)
    by_value = {b.value: b for b in info.buffers}
    writable = _writable_args(block)
    for g in info.ops:
        if g.name != "linalg.generic" or not _parallel(g):
            continue
        n_in, n_out = _segments(g)
        if n_out != 1:
            continue
        maps = indexing_maps(g)
        out = g.operands[n_in]
        out_map = maps[n_in]
        if not out_map.is_permutation:
            continue
        ins = list(g.operands)[:n_in]
        here = info.pos[g]
        target = _fresh_destination(out, g, here, by_value, writable, info)
        if target is None:
            continue
        for i, value in enumerate(ins):
            buf = by_value.get(value)
            if (buf is None or buf.escapes or buf.viewed or buf.last != here or maps[i] != out_map
                    or value.type != out.type or sum(1 for v in ins if v == value) != 1 or value == out):
                continue
            if isinstance(target, _Buffer):
                if target.earliest < info.pos[buf.alloc]:
                    continue  # (a dim of the output before the input exists)
                # the output's fresh buffer is not needed: write into the input's
                out.replace_all_uses_with(value)
                target.alloc.erase()
            else:
                # the out-param is first written here: the input's producer writes it directly
                value.replace_all_uses_with(out)
                buf.alloc.erase()
            return True
    return False


def _writable_args(block: ir.Block) -> set:
    """The entry block's out-params (marked by ``tir-entry-abi``)."""
    from .cpu import OUT_PARAM

    func = block.owner.operation if hasattr(block.owner, "operation") else block.owner
    if "arg_attrs" not in func.attributes:
        return set()
    return {arg for arg, attrs in zip(block.arguments, ir.ArrayAttr(func.attributes["arg_attrs"]))
            if OUT_PARAM in ir.DictAttr(attrs)}


def _fresh_destination(out: ir.Value, g: ir.Operation, here: int, by_value: dict, writable: set,
                       info: _Block) -> "_Buffer | ir.Value | None":
    """``out``'s buffer when ``g`` is the first op to use it (its old contents are
    not read), an allocation (a :class:`_Buffer`) or a writable out-param."""
    buf = by_value.get(out)
    if buf is not None:
        return buf if not buf.escapes and not buf.viewed and buf.first == here else None
    if out not in writable:
        return None
    for use in out.uses:
        top = _top_level(_owner(use), info.block)
        if top is None or info.pos[top] < here or (info.pos[top] == here and _owner(use) != g):
            return None
    # g must not read its output's old contents (the payload's last block argument)
    body = g.regions[0].blocks[0]
    init = body.arguments[len(body.arguments) - 1]
    return None if any(True for _ in init.uses) else out


def _reuse_dead(block: ir.Block) -> None:
    info = _Block(block)
    live = sorted((b for b in info.buffers if not b.escapes and b.first >= 0), key=lambda b: b.first)
    taken: list[_Buffer] = []
    for buf in live:
        reused = None
        for old in taken:
            if (old.last < buf.first and old.value.type == buf.value.type
                    and list(old.alloc.operands) == list(buf.alloc.operands)
                    and _attributes(old.alloc) == _attributes(buf.alloc)
                    and info.pos[old.alloc] < buf.earliest):
                reused = old
                break
        if reused is None:
            taken.append(buf)
            continue
        # ``reused`` now also holds ``buf``'s values: its life extends to buf's end
        buf.value.replace_all_uses_with(reused.value)
        buf.alloc.erase()
        reused.last = max(reused.last, buf.last)


def _attributes(op: ir.Operation) -> dict[str, str]:
    named = (op.attributes[i] for i in range(len(op.attributes)))
    return {a.name: str(a.attr) for a in named}


# ---------------------------------------------------------------------------
# tir-free-early


def free_early(module_op: ir.Operation) -> None:
    """``tir-free-early``: free each buffer of the entry block right after its last use."""
    for block in _funcs(module_op):
        info = _Block(block)
        for buf in info.buffers:
            if buf.escapes or buf.last < 0:
                continue
            deallocs = [_owner(u) for u in buf.value.uses if _owner(u).name == "memref.dealloc"]
            if len(deallocs) != 1 or deallocs[0].block != block:
                continue
            dealloc, last = deallocs[0], buf.last
            if last + 1 >= len(info.ops) or info.ops[last + 1] == dealloc:
                continue
            dealloc.move_after(info.ops[last])
