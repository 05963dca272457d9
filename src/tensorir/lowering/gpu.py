"""The GPU pipeline, compile side: linalg on tensors -> buffers -> parallel
loops -> ``gpu`` kernels -> NVVM -> PTX for NVIDIA GPUs.

Every step but one is an upstream MLIR pass from the pinned wheels (their
LLVM has the NVPTX target and libdevice, so no CUDA toolkit is needed):

1. the CPU pipeline's fusion and bufferization (``FUSE``, one-shot
   bufferization, ``tir-drop-update-results``, and ``tir-reuse-buffers``
   under ``ti.config.inplace``); no deallocation: the host code's buffers
   are freed when the launcher lets go of them;
2. every ``memref.copy`` becomes a parallel loop nest
   (``tir-strided-copies``), every linalg op becomes ``scf.parallel`` over
   its parallel dims with ``scf.for`` over its reductions
   (``convert-linalg-to-parallel-loops``);
3. ``tir-gpu-kernels`` (:func:`gpu_kernels`): each top-level parallel loop
   nest becomes a ``gpu.launch`` of one-dimensional blocks of ``BLOCK``
   (256) threads, thread ``k`` of the launch taking the ``k``-th point of
   the iteration space in row-major order, so consecutive threads touch
   consecutive elements of the contiguous dimension (coalesced accesses),
   and no grid dimension limits the sizes (only x is used). A
   one-dimensional loop reducing along its rows takes a block per row
   (``gpu_reduce.launch_rows``); a reduction outside any parallel loop is
   split over many threads (``gpu_reduce.split_reduction``); anything else
   touching memory outside a parallel loop (the store of a 0-d result)
   runs as a kernel of one thread: all data stays on the device. Scalar
   work is cloned into the kernels that read it, and an accumulator that a
   loop loads and stores at one place lives in a register
   (``lowering/gpu_launch.py``). Loops around parallel loops (a scan's
   steps) stay host code; ``memref.load`` in host code reads one element
   back from the device;
4. kernel outlining, after sinking index computations into the launches so
   constants and dims are not kernel parameters; the kernels then move into
   one ``gpu.module`` (``tir-gpu-merge-modules``);
5. ``nvvm-attach-target`` (the device's chip, PTX ISA 8.0),
   ``convert-gpu-to-nvvm`` and ``gpu-module-to-binary{format=isa}``: each
   ``gpu.binary`` holds PTX, which the driver compiles for the GPU at hand.

The host function left (index arithmetic, allocations, views, loops and
``gpu.launch_func``) is turned into Python by ``lowering/gpu_host.py``.
"""

from __future__ import annotations

from ..dialects._bindings import ir, walk
from ..errors import CompileError
from .bool_storage import bool_storage
from .buffers import reuse_buffers
from .common import index_const
from .copies import copy_to_generic
from .gpu_launch import (BLOCK, MEMORY, global_thread, host_indices, launch_single, new_launch, promote_accumulators,
                         scalar_kind, sink)
from .gpu_reduce import launch_rows, split_reduction

__all__ = ["BLOCK", "CHIP", "gpu_kernels", "to_gpu_kernels", "to_gpu_binaries", "ptx_of", "kernels_of"]

CHIP = "sm_90"  # the default target: NVIDIA H100

TO_LOOPS = "func.func(convert-linalg-to-parallel-loops,canonicalize,cse)"
OUTLINE = "gpu-launch-sink-index-computations,gpu-kernel-outlining,lower-affine,canonicalize,cse"


def device_steps(chip: str = CHIP) -> str:
    """The upstream pipeline from outlined kernels to PTX for ``chip``."""
    return (
        f"nvvm-attach-target{{chip={chip} features=+ptx80 O=3}},"
        "gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm,canonicalize,cse,reconcile-unrealized-casts),"
        "gpu-module-to-binary{format=isa}"
    )


def to_gpu_kernels(module: ir.Module, reuse: bool = True) -> None:
    """Lower a module at the linalg stage (after ``tir-entry-abi``) to host
    functions launching outlined ``gpu.func`` kernels."""
    from .cpu import run_pipeline, to_buffers_steps

    steps = to_buffers_steps()
    steps += [(reuse_buffers, "tir-reuse-buffers")] if reuse else []
    steps += [(bool_storage, "tir-bool-storage"), (_all_copies, "tir-gpu-copies"), TO_LOOPS,
              (gpu_kernels, "tir-gpu-kernels"), OUTLINE, (merge_kernel_modules, "tir-gpu-merge-modules")]
    run_pipeline(module, steps, "lowering to GPU kernels")


def to_gpu_binaries(module: ir.Module, chip: str = CHIP, reuse: bool = True) -> None:
    """:func:`to_gpu_kernels`, then each kernel module to a ``gpu.binary`` holding PTX for ``chip``."""
    from .cpu import run_pipeline

    to_gpu_kernels(module, reuse)
    run_pipeline(module, [device_steps(chip)], "compiling the GPU kernels to PTX")


def _all_copies(module_op: ir.Operation) -> None:
    """``tir-gpu-copies``: every ``memref.copy`` becomes a parallel loop nest
    (a kernel), as a device buffer cannot be copied by the host's ``memcpy``."""
    for op in walk(module_op, ["memref.copy"]):
        copy_to_generic(op)


# --- tir-gpu-kernels ---------------------------------------------------------



def gpu_kernels(module_op: ir.Operation) -> None:
    """``tir-gpu-kernels``: parallel loops and memory accesses of public
    functions become ``gpu.launch`` ops (see the module docstring)."""
    for view in module_op.regions[0].blocks[0].operations:
        op = view.operation
        if op.name == "func.func" and op.regions[0].blocks:
            _host_region(op.regions[0])


def _host_region(region: ir.Region) -> None:
    for block in region.blocks:
        for op in list(block.operations):
            _host_op(op.operation)


def _host_op(op: ir.Operation) -> None:
    name = op.name
    if name == "scf.parallel":
        _launch_parallel(op)
    elif name in ("scf.for", "scf.if", "scf.while", "scf.execute_region"):
        if walk(op, ["scf.parallel"]):
            for region in op.regions:  # a loop around kernels: host control flow
                _host_region(region)
        elif op.name == "scf.for" and split_reduction(op):
            pass  # a reduction over many elements: partial results in parallel, then their fold
        elif walk(op, ["scf.for", "scf.while"]) or (scalar_kind(op) is None and any(o.name in MEMORY for o in walk(op))):
            launch_single(op)
        # else: cheap scalar work, cloned into the kernels that use it (sink)
    elif name in ("memref.store", "memref.atomic_rmw", "vector.store"):
        if not host_indices(op.operands[1]):  # a shape for memref.reshape stays on the host
            launch_single(op)
    elif name.startswith("linalg."):
        raise CompileError(f"internal: {name} left after convert-linalg-to-parallel-loops")


def _launch_parallel(op: ir.Operation) -> None:
    """One top-level ``scf.parallel`` (no reductions of its own) -> a launch
    whose thread ``b * BLOCK + t`` runs the point of that row-major rank."""
    from mlir.dialects import arith, scf

    if len(op.results):
        raise CompileError("internal: a parallel loop with reductions reached tir-gpu-kernels")
    n = (len(op.operands)) // 3
    if n == 1 and launch_rows(op):
        return
    lbs, ubs, steps = op.operands[:n], op.operands[n:2 * n], op.operands[2 * n:3 * n]
    body = op.regions[0].blocks[0]
    with ir.InsertionPoint(op), op.location:
        counts = []
        for lb, ub, step in zip(lbs, ubs, steps):
            counts.append(arith.CeilDivSIOp(arith.SubIOp(ub, lb).result, step).result)
        total = counts[0]
        for c in counts[1:]:
            total = arith.MulIOp(total, c).result
        grid = arith.CeilDivSIOp(total, index_const(BLOCK)).result
        launch, kbody = new_launch(grid, BLOCK)
        with ir.InsertionPoint.at_block_begin(kbody):
            linear = global_thread(kbody)
            inside = arith.CmpIOp(arith.CmpIPredicate.slt, linear, total).result
            guard = scf.IfOp(inside)
            with ir.InsertionPoint(guard.then_block):
                ivs = [None] * n
                rest = linear
                for k in reversed(range(n)):
                    idx = rest if k == 0 else arith.RemSIOp(rest, counts[k]).result
                    if k:
                        rest = arith.DivSIOp(rest, counts[k]).result
                    ivs[k] = arith.AddIOp(lbs[k], arith.MulIOp(idx, steps[k]).result).result
                done = scf.YieldOp([])
        for iv, value in zip(body.arguments, ivs):
            iv.replace_all_uses_with(value)
        for inner in list(body.operations)[:-1]:  # all but scf.reduce
            inner.operation.move_before(done)
    op.erase()
    sink(launch)
    for loop in walk(launch, ["scf.for"]):
        promote_accumulators(loop)


def merge_kernel_modules(module_op: ir.Operation) -> None:
    """``tir-gpu-merge-modules``: the kernels of the module, one ``gpu.module``
    each after outlining, move into one ``gpu.module @kernels``, each named
    after the module it came from: one PTX module to assemble and load."""
    top = module_op.regions[0].blocks[0]
    modules = [v.operation for v in top.operations if v.operation.name == "gpu.module"]
    if len(modules) < 2:
        return
    merged = modules[0]
    merged_name = ir.StringAttr(merged.attributes["sym_name"]).value
    body = merged.regions[0].blocks[0]
    renamed: dict[str, str] = {}
    for m in modules:
        name = ir.StringAttr(m.attributes["sym_name"]).value
        for view in list(m.regions[0].blocks[0].operations):
            f = view.operation
            if f.name != "gpu.func":
                continue
            old = ir.StringAttr(f.attributes["sym_name"]).value
            renamed[f"@{name}::@{old}"] = name
            f.attributes["sym_name"] = ir.StringAttr.get(name)
            if m != merged:
                f.move_after(list(body.operations)[-1])  # a gpu.module has no terminator
    for m in modules[1:]:
        m.erase()
    for launch in walk(module_op, ["gpu.launch_func"]):
        new = renamed[str(launch.attributes["kernel"])]
        launch.attributes["kernel"] = ir.SymbolRefAttr.get([merged_name, new])


# --- PTX ---------------------------------------------------------------------

SEPARATOR = "// -----"


def kernels_of(module: ir.Module) -> dict[str, str]:
    """The PTX of each kernel module of ``module`` after :func:`to_gpu_binaries`, by module name."""
    from mlir.dialects import gpu

    found = {}
    for view in module.body.operations:
        op = view.operation
        if op.name != "gpu.binary":
            continue
        name = ir.StringAttr(op.attributes["sym_name"]).value
        for attr in ir.ArrayAttr(op.attributes["objects"]):
            obj = gpu.ObjectAttr(attr).object
            text = obj.decode() if isinstance(obj, bytes) else str(obj)
            found[name] = text.rstrip("\0").rstrip() + "\n"
    return found


def ptx_of(module: ir.Module) -> str:
    """The PTX of every kernel module of ``module`` after :func:`to_gpu_binaries`:
    one PTX module per outlined kernel, each headed by a ``// gpu.module @name``
    line and separated by :data:`SEPARATOR` lines (each part assembles alone)."""
    texts = [f"// gpu.module @{name}\n{text}" for name, text in kernels_of(module).items()]
    if not texts:
        raise CompileError("the module has no GPU kernel: it computes nothing on arrays")
    return f"{SEPARATOR}\n".join(texts)
