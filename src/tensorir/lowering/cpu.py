"""The CPU pipeline: linalg on tensors -> buffers -> loops -> LLVM dialect -> LLVM IR.

Calling convention of a compiled entry function (see ``tir-entry-abi``):
results are written into caller-allocated buffers passed after the inputs
(destination-passing style), so the function allocates nothing the caller
must free, and the runtime can hand results to NumPy without a copy. A
function with run-time index checks takes one more buffer last, its
``status`` (``lowering/checks.py``).

Threads (``ti.config.threads``, ``ti.config.parallel_minsize``, passed in by
the compiler): with ``threads`` > 1, :func:`lower_to_llvm_dialect` runs
``tir-parallel-loops`` (``lowering/parallel.py``) after ``tir-linalg-to-blas``.
Each elementwise op and reduction of a function's entry block is split along
its outermost parallel dim into ``threads`` chunks, which
``tensorir_parallel_for`` (``runtime/threads.py``) runs on the calling thread
and the thread pool of MLIR's async runtime. A reduction's accumulation is
never split, so results are bitwise identical with any number of threads.
An op whose iteration space (times the trip counts of loops in its body) has
fewer than ``parallel_minsize`` elements runs as one chunk on the calling
thread: decided at compile time for static sizes, by a test of the sizes at
run time for free dims. The loops of scan steps and BLAS calls (OpenBLAS has
its own threads) are left as they are. The chunk functions also let code
generation use the threads: :func:`to_llvm_ir_parts` deals them out to LLVM
modules that ``runtime/cpu.py`` compiles at once.
"""

from __future__ import annotations

from ..dialects._bindings import (
    MLIRError,
    PassManager,
    add_python_pass,
    ir,
    take_pass_error,
    translate_to_llvm_ir,
    walk,
)
from ..dialects.control import is_private
from ..errors import CompileError
from .bool_storage import bool_storage
from .buffers import free_early, reuse_buffers
from .checks import drop_declaration, thread_status
from .common import generic_inputs
from .copies import strided_copies
from .fusion import keep_costly_producers
from .linalg import linalg_to_blas
from .outline import outline_serial
from .parallel import CHUNK, merge_chunks, tir_parallel_loops
from .streaming import mark_streams, stream_stores
from .scan import tir_scan_to_loop
from .siblings import fuse_siblings
from .to_linalg import tir_to_linalg

__all__ = [
    "entry_abi",
    "drop_update_results",
    "FUSE",
    "BUFFERIZE",
    "DEALLOCATE",
    "TO_LLVM",
    "lower_tir_to_linalg",
    "bufferize",
    "to_buffers_steps",
    "lower_to_llvm_dialect",
    "to_llvm_ir",
    "to_llvm_ir_parts",
    "run_pipeline",
]


def entry_abi(module_op: ir.Operation) -> None:
    """``tir-entry-abi``: public functions write their results into out-params.

    ``func @f(ins) -> (tensors)`` becomes ``func @f(ins, outs: memrefs)``: each
    returned tensor is materialised in a restrict, writable out buffer, which
    ``eliminate-empty-tensors`` then lets the producing op write in place.
    Inputs are marked not writable, so the caller's arrays are never clobbered;
    out-params are marked ``{tir.out}`` (:data:`OUT_PARAM`), which
    ``tir-reuse-buffers`` reads after bufferization has dropped its own marks.

    A result that the function's ``tir.updates`` attribute maps to input
    ``j`` (a shared variable's new value) gets no out-param: it is
    materialised into input ``j`` itself, which is marked writable, and stays
    a result until ``tir-drop-update-results`` removes it after
    bufferization. Bufferization writes it in place when no op reads the old
    value afterwards, and otherwise computes it aside and copies it in at the
    end, so every op reads the values from before the call.

    A function with run-time index checks (markers left by ``tir-to-linalg``
    for ``tir.dynamic_slice``...) gets a last parameter after the out-params,
    ``status: memref<3xi64> {tir.status}``, which the checks write; see
    ``lowering/checks.py``.
    """
    from mlir.dialects import bufferization, func, tensor

    for view in list(module_op.regions[0].blocks[0].operations):
        op = view.operation
        if op.name != "func.func" or is_private(op):
            continue
        ftype = ir.FunctionType(ir.TypeAttr(op.attributes["function_type"]).value)
        updates = _updates(op, len(ftype.results), len(ftype.inputs))
        if not ftype.results:
            thread_status(op)
            continue
        block = op.regions[0].blocks[0]
        plain = [k for k in range(len(ftype.results)) if updates[k] < 0]
        out_types = [ir.MemRefType.get(list(ftype.results[k].shape), ftype.results[k].element_type) for k in plain]
        outs = [block.add_argument(t, op.location) for t in out_types]
        ret = list(block.operations)[-1]
        values = list(ret.operands)
        kept = []
        with ir.InsertionPoint(ret), ret.location:
            for k, out in zip(plain, outs):
                bufferization.MaterializeInDestinationOp(None, values[k], out, restrict=True, writable=True)
            updated = [block.arguments[j] for j in updates if j >= 0]
            sources = {}
            for k, j in enumerate(updates):
                if j < 0:
                    continue
                dest = block.arguments[j]
                value = values[k]
                if value.type != dest.type:
                    value = tensor.CastOp(dest.type, value).result
                if _views_of(value, updated):
                    value = _copy(value)  # it would be overwritten by an update before being read
                sources[k] = value
            for k, j in enumerate(updates):
                if j >= 0:
                    dest = block.arguments[j]
                    kept.append(bufferization.MaterializeInDestinationOp(dest.type, sources[k], dest).result)
            func.ReturnOp(kept)
        ret.erase()
        new_type = ir.FunctionType.get(list(ftype.inputs) + out_types, [v.type for v in kept])
        op.attributes["function_type"] = ir.TypeAttr.get(new_type)
        writable = set(j for j in updates if j >= 0)
        arg_attrs = [
            ir.DictAttr.get({"bufferization.writable": ir.BoolAttr.get(i in writable)}) for i in range(len(ftype.inputs))
        ]
        out_param = ir.DictAttr.get({OUT_PARAM: ir.UnitAttr.get()})
        op.attributes["arg_attrs"] = ir.ArrayAttr.get(arg_attrs + [out_param] * len(out_types))
        thread_status(op)
    drop_declaration(module_op)


_TENSOR_VIEWS = ("tensor.cast", "tensor.collapse_shape", "tensor.expand_shape", "tensor.extract_slice", "tensor.reshape")


def _views_of(value: ir.Value, args: list[ir.Value]) -> bool:
    """Whether ``value`` is one of ``args`` or a view of one (shares its buffer)."""
    while True:
        if any(value == a for a in args):
            return True
        if not isinstance(value, ir.OpResult) or value.owner.name not in _TENSOR_VIEWS:
            return False
        value = value.owner.operands[0]


def _copy(value: ir.Value) -> ir.Value:
    """A fresh tensor holding ``value`` (``bufferization.alloc_tensor copy``,
    which canonicalization keeps, unlike a copy into an empty tensor)."""
    from mlir.dialects import bufferization

    return bufferization.AllocTensorOp(value.type, [], copy=value).result


def _updates(op: ir.Operation, n_results: int, n_inputs: int) -> list[int]:
    """The ``tir.updates`` attribute of a function (removed): per result, the input it updates or -1."""
    from ..frontend.emit import UPDATES

    if UPDATES not in op.attributes:
        return [-1] * n_results
    updates = [int(j) for j in ir.DenseI64ArrayAttr(op.attributes[UPDATES])]
    del op.attributes[UPDATES]
    if len(updates) != n_results or any(not -1 <= j < n_inputs for j in updates):
        raise CompileError(f"tir-entry-abi: {UPDATES} = {updates} does not fit {n_results} results and {n_inputs} inputs")
    if len({j for j in updates if j >= 0}) != sum(1 for j in updates if j >= 0):
        raise CompileError(f"tir-entry-abi: {UPDATES} = {updates} updates one input twice")
    return updates


def drop_update_results(module_op: ir.Operation) -> None:
    """``tir-drop-update-results``: after bufferization, remove the results of
    public functions that are their own arguments (updates written in place
    by ``tir-entry-abi``), so the entry function returns nothing."""
    from mlir.dialects import func

    for view in list(module_op.regions[0].blocks[0].operations):
        op = view.operation
        if op.name != "func.func" or is_private(op) or not op.regions[0].blocks:
            continue
        ftype = ir.FunctionType(ir.TypeAttr(op.attributes["function_type"]).value)
        if not ftype.results:
            continue
        block = op.regions[0].blocks[0]
        ret = list(block.operations)[-1]
        args = list(block.arguments)
        for value in ret.operands:
            if not any(value == a for a in args):
                raise CompileError(
                    f"tir-drop-update-results: @{ir.StringAttr(op.attributes['sym_name']).value} returns a "
                    "buffer that is not one of its arguments; an in-place update was not bufferized in place"
                )
        with ir.InsertionPoint(ret), ret.location:
            func.ReturnOp([])
        ret.erase()
        op.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(list(ftype.inputs), []))


# Marks the out-params (bufferization drops its own ``writable`` marks).
OUT_PARAM = "tir.out"


FUSE = [
    "func.func(canonicalize,cse,linalg-generalize-named-ops)",
    (keep_costly_producers, "tir-keep-costly-producers"),
    # twice: moving reshapes through elementwise ops leaves tensor.dim reads of
    # their results, and a producer with a second use is not fused until
    # canonicalize has folded those
    "func.func(linalg-fuse-elementwise-ops,canonicalize,cse,linalg-fuse-elementwise-ops,canonicalize,cse)",
]

BUFFERIZE = (
    "eliminate-empty-tensors,"
    "one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map "
    "allow-return-allocs-from-loops},"
    "func.func(canonicalize,cse)"
)
DEALLOCATE = "buffer-deallocation-pipeline"

# The conversions that run on one function at a time are nested in
# func.func, so MLIR runs them on several functions at once (its context's
# thread pool): for an MLP training step's 20-odd functions this took the
# conversions from about 55 to 43 ms on 2 cores.
TO_LLVM = (
    "func.func(convert-linalg-to-loops,convert-scf-to-cf,expand-strided-metadata,lower-affine),"
    "convert-vector-to-llvm,finalize-memref-to-llvm,"
    "convert-math-to-funcs,func.func(convert-math-to-llvm{approximate-log1p=false}),convert-math-to-libm,"
    "func.func(convert-arith-to-llvm),convert-cf-to-llvm,convert-func-to-llvm,convert-index-to-llvm,"
    "convert-ub-to-llvm,reconcile-unrealized-casts"
)


def run_pipeline(module: ir.Module, steps: list, what: str) -> None:
    """Run passes (textual pipelines or (callable, name) pairs) on ``module``.

    The IR is verified after each run of consecutive Python passes, so no
    upstream pass reads IR of ours that is not valid, and once at the end;
    not after each pass: verifying the whole module after every pass took
    a fifth of the lowering's time, and between two Python passes (nine in
    a row before the conversions to the LLVM dialect) about 25 ms of an
    MLP training step's compile. The pipelines of ``tensorir-opt`` verify
    after every pass, and name the pass that broke the IR.
    """
    runs: list[tuple[bool, list]] = []  # (Python passes?, steps), in order
    for step in steps:
        python = not isinstance(step, str)
        if runs and runs[-1][0] == python:
            runs[-1][1].append(step)
        else:
            runs.append((python, [step]))
    for k, (python, run) in enumerate(runs):
        _run_group(module, run, what, verify=python or k == len(runs) - 1)


def _run_group(module: ir.Module, steps: list, what: str, verify: bool) -> None:
    pm = PassManager()
    pm.enable_verifier(False)
    for step in steps:
        if isinstance(step, str):
            pm.add(step)
        else:
            fn, name = step
            add_python_pass(pm, fn, name=name, argument=name)
    try:
        pm.run(module.operation)
        if verify:
            module.operation.verify()
    except MLIRError as exc:
        cause = take_pass_error()
        if cause is not None:
            raise cause
        names = ", ".join(step if isinstance(step, str) else step[1] for step in steps)
        raise CompileError(
            f"{what} failed (in or after {names}):\n{exc}\nreproduce with `tensorir-opt FILE --emit=llvm` on "
            "the IR of the previous stage (f.lower(...).as_text(stage)), which verifies after every pass"
        ) from None


def lower_tir_to_linalg(module: ir.Module) -> None:
    run_pipeline(
        module,
        [(tir_scan_to_loop, "tir-scan-to-loop"), (tir_to_linalg, "tir-to-linalg"), (entry_abi, "tir-entry-abi")],
        "tir-to-linalg",
    )


def to_buffers_steps() -> list:
    """Fusion and one-shot bufferization, as the CPU and GPU pipelines share them."""
    return [
        *FUSE,
        (unshare_empty_tensors, "tir-unshare-empty-tensors"),
        BUFFERIZE,
        (drop_update_results, "tir-drop-update-results"),
    ]


def bufferize(module: ir.Module, reuse: bool = True) -> None:
    """Tensors -> buffers; ``reuse``: with ``tir-reuse-buffers`` and
    ``tir-free-early`` (see ``lowering/buffers.py``, ``ti.config.inplace``)."""
    steps = to_buffers_steps()
    steps += [(reuse_buffers, "tir-reuse-buffers")] if reuse else []
    steps += [DEALLOCATE]
    steps += [(free_early, "tir-free-early")] if reuse else []
    run_pipeline(module, steps + [(bool_storage, "tir-bool-storage")], "bufferization")


def unshare_empty_tensors(module_op: ir.Operation) -> None:
    """``tir-unshare-empty-tensors``: one destination per writer.

    CSE merges equal ``tensor.empty`` ops and equal fills of them, so one
    may end up as the destination of several writers (two gemms accumulating
    into one zero-filled tensor, a fill and a fusion barrier's
    ``materialize_in_destination``...). Only one of them can then write in
    place and bufferization fails with a read-after-write conflict. A copy
    of the (cheap) producer per use gives each writer its own buffer;
    ``eliminate-empty-tensors`` still reuses the ones it can. Fills (a
    ``linalg.fill`` or an input-less ``linalg.generic``) are unshared first,
    then the empties under them.
    """
    for op in walk(module_op, ["linalg.fill", "linalg.generic"]):
        if op.name == "linalg.generic" and generic_inputs(op):
            continue
        _one_per_use(op, inits_only=True)  # a fill only read as an input is not copied
    for op in walk(module_op, ["tensor.empty"]):
        _one_per_use(op, inits_only=False)


def _is_init(owner: ir.Operation, index: int) -> bool:
    """Whether operand ``index`` of ``owner`` is a destination it writes."""
    if owner.name == "linalg.generic":
        return index >= generic_inputs(owner)
    if owner.name == "linalg.fill":
        return index == len(owner.operands) - 1
    return owner.name == "bufferization.materialize_in_destination" and index == 1


def _one_per_use(op: ir.Operation, inits_only: bool) -> None:
    if len(op.results) != 1:
        return
    uses, inits = [], []
    for u in op.results[0].uses:
        owner = u.owner.operation if hasattr(u.owner, "operation") else u.owner
        uses.append((owner, u.operand_number))
        if _is_init(owner, u.operand_number):
            inits.append((owner, u.operand_number))
    if inits_only:
        # a fill only read (fused later) stays shared; a fill that some op
        # writes in place is copied for every other use too, or a use that
        # reads it after the write (a returned zeros) would see the writer's
        # result
        uses = inits + [u for u in uses if u not in inits] if inits else []
    for owner, index in uses[1:]:
        clone = op.clone(ir.InsertionPoint(owner))
        owner.operands[index] = clone.results[0]


def lower_to_llvm_dialect(
    module: ir.Module, threads: int = 1, parallel_minsize: int = 0, stream_minsize: int | None = None
) -> None:
    """Buffers -> LLVM dialect; with ``threads`` > 1 big loop nests are split
    over that many threads (``tir-parallel-loops``) when their iteration space
    has ``parallel_minsize`` elements or more (``ti.config.threads``,
    ``ti.config.parallel_minsize``); results of ``stream_minsize`` bytes or
    more are written with non-temporal stores (``tir-stream-stores``;
    ``ti.config.stream_minsize`` when None)."""
    if stream_minsize is None:
        from ..config import config

        stream_minsize = config.stream_minsize

    def parallel(module_op: ir.Operation) -> None:
        tir_parallel_loops(module_op, threads, parallel_minsize)

    def blas(module_op: ir.Operation) -> None:
        linalg_to_blas(module_op, threads)

    def stream(module_op: ir.Operation) -> None:
        stream_stores(module_op, minsize=stream_minsize)

    steps = [(blas, "tir-linalg-to-blas"), (strided_copies, "tir-strided-copies"),
             (fuse_siblings, "tir-fuse-siblings"), (mark_streams, "tir-mark-streams"),
             (parallel, "tir-parallel-loops"),
             (stream, "tir-stream-stores"), (outline_serial, "tir-outline-serial"),
             (merge_chunks, "tir-merge-chunks"), TO_LLVM]
    run_pipeline(module, steps, "lowering to the LLVM dialect")


def to_llvm_ir(module: ir.Module) -> str:
    return translate_to_llvm_ir(module)


# At most this many parts (one compiling thread each), and a part is made
# only for at least this many operations of chunk functions: each part costs
# a translation, a parse and a pass pipeline of its own, a few milliseconds.
MAX_PARTS = 4
MIN_PART_OPS = 400
# An operation of a chunk function (a loop nest, vectorised into several
# versions) took LLVM about this many times as long as one of the rest (the
# straight-line calling code) in an MLP training step: parts are balanced
# by operations weighted so.
CHUNK_COST = 2.5


def to_llvm_ir_parts(module: ir.Module, parts: int) -> list[str]:
    """The LLVM IR of ``module`` (in the LLVM dialect) as up to ``parts``
    modules that link together, to be compiled on as many threads.

    The chunk functions of ``tir-parallel-loops`` (marked ``tir.chunk``)
    are dealt out, largest first, to the part with the least work so far
    (operations, those of the rest over ``CHUNK_COST``); everything else is
    in the first part. A chunk is only reached through its address, which
    its dispatcher calls, or called from unoptimised straight-line code
    (``tir-outline-serial``), so no optimisation across it is lost: each
    function compiles to the same code either way.
    Chunks get external linkage, and the parts declare what they use of
    one another. The other parts copy the first's constant globals
    and its private helper functions (such as those of
    ``convert-math-to-funcs``, which a chunk may call), as internal ones.
    One part (:func:`to_llvm_ir`) when there is too little to deal out
    or the module has anything else at its top level (a mutable global).
    """
    top = [view.operation for view in module.body.operations]
    if parts < 2 or any(not _copyable(op) for op in top):
        return [to_llvm_ir(module)]
    functions = [op for op in top if op.name == "llvm.func"]
    sizes = {op: sum(len(block.operations) for block in op.regions[0].blocks) for op in functions}
    chunks = [op for op in functions if CHUNK in op.attributes and sizes[op]]
    parts = min(parts, MAX_PARTS, 1 + sum(sizes[op] for op in chunks) // MIN_PART_OPS)
    if parts < 2:
        return [to_llvm_ir(module)]
    rest = sum(sizes.values()) - sum(sizes[op] for op in chunks)
    loads = [rest / CHUNK_COST] + [0.0] * (parts - 1)
    home: dict[ir.Operation, int] = {}
    for op in sorted(chunks, key=lambda op: -sizes[op]):
        home[op] = loads.index(min(loads))
        loads[home[op]] += sizes[op]
    used = sorted(set(home.values()) | {0})
    return [translate_to_llvm_ir(_part(module, top, home, p)) for p in used]


def _copyable(op: ir.Operation) -> bool:
    """Whether a top-level op of an LLVM-dialect module can be in several parts."""
    return op.name == "llvm.func" or (op.name == "llvm.mlir.global" and "constant" in op.attributes)


def _part(module: ir.Module, top: list[ir.Operation], home: dict[ir.Operation, int], p: int) -> ir.Module:
    """Part ``p`` of ``module`` (see :func:`to_llvm_ir_parts`)."""
    part = ir.Module.create(module.operation.location)
    for attr in module.operation.attributes:
        part.operation.attributes[attr.name] = attr.attr
    external = ir.Attribute.parse("#llvm.linkage<external>")
    internal = ir.Attribute.parse("#llvm.linkage<internal>")
    at = ir.InsertionPoint(part.body)
    for op in top:
        if op in home:
            # external in its own part too: chunks of other parts may
            # dispatch it (a loop that tir-outline-serial moved out)
            if home[op] != p:
                _declare(op, at, external)
            else:
                op.clone(at).attributes["linkage"] = external
        elif p == 0 or op.name != "llvm.func" or not op.regions[0].blocks:
            op.clone(at)
        elif _is_public(op):
            _declare(op, at, external)
        else:
            op.clone(at).attributes["linkage"] = internal
    return part


def _is_public(op: ir.Operation) -> bool:
    linkage = str(op.attributes["linkage"]) if "linkage" in op.attributes else "#llvm.linkage<external>"
    return linkage == "#llvm.linkage<external>" and "sym_visibility" not in op.attributes


def _declare(op: ir.Operation, at: ir.InsertionPoint, linkage: ir.Attribute) -> None:
    """A declaration of the function ``op`` defines, at ``at``."""
    ir.Operation.create(
        "llvm.func",
        attributes={
            "sym_name": op.attributes["sym_name"],
            "function_type": op.attributes["function_type"],
            "linkage": linkage,
        },
        regions=1,
        loc=op.location,
        ip=at,
    )
