"""The GPU pipeline, compile side: linalg on tensors -> buffers -> parallel
loops -> ``gpu`` kernels -> NVVM -> PTX for NVIDIA GPUs.

Every step is an upstream MLIR pass from the pinned wheels (their LLVM has
the NVPTX target and libdevice, so no CUDA toolkit is needed to make PTX):

1. the CPU pipeline's fusion and bufferization (``FUSE``, one-shot
   bufferization, ``tir-drop-update-results``); no buffer reuse or
   deallocation, which concern the host side;
2. per function, ``convert-linalg-to-parallel-loops``, then each parallel
   loop tiled by :data:`BLOCK` and mapped to blocks and threads
   (``gpu-map-parallel-loops``, ``convert-parallel-loops-to-gpu``);
3. kernel outlining (after sinking index computations into the launches, so
   constants and dims are not kernel parameters);
4. ``nvvm-attach-target`` (``sm_90``, PTX ISA 8.0), ``convert-gpu-to-nvvm``
   and ``gpu-module-to-binary{format=isa}``: each ``gpu.binary`` holds PTX.

What is not a parallel loop (a full reduction, the sequential part of a
contraction) stays in the host function and is not in the PTX. Launching the
kernels (cuda-python) is not part of this module.
"""

from __future__ import annotations

from ..dialects._bindings import ir
from ..errors import CompileError

__all__ = ["BLOCK", "CHIP", "to_gpu_binaries", "ptx_of"]

BLOCK = 256  # threads per block along the innermost parallel loop
CHIP = "sm_90"

MAP = (
    "func.func(convert-linalg-to-parallel-loops,"
    f"scf-parallel-loop-tiling{{parallel-loop-tile-sizes={BLOCK} no-min-max-bounds=true}},"
    "gpu-map-parallel-loops{mapping-policy=innermost-first},convert-parallel-loops-to-gpu,canonicalize,cse)"
)
OUTLINE = "gpu-launch-sink-index-computations,gpu-kernel-outlining,canonicalize,cse"
DEVICE = (
    f"nvvm-attach-target{{chip={CHIP} features=+ptx80 O=3}},lower-affine,convert-scf-to-cf,"
    "gpu.module(convert-gpu-to-nvvm,canonicalize,cse,reconcile-unrealized-casts),"
    "gpu-module-to-binary{format=isa}"
)


def to_gpu_binaries(module: ir.Module) -> None:
    """Lower a module at the linalg stage (after ``tir-entry-abi``) until its
    kernels are ``gpu.binary`` ops holding PTX."""
    from .cpu import run_pipeline, to_buffers_steps

    run_pipeline(module, to_buffers_steps(), "bufferization")
    run_pipeline(module, [MAP, OUTLINE, DEVICE], "lowering to GPU kernels")


SEPARATOR = "// -----"


def ptx_of(module: ir.Module) -> str:
    """The PTX of every kernel module of ``module`` after :func:`to_gpu_binaries`:
    one PTX module per outlined kernel, each headed by a ``// gpu.module @name``
    line and separated by :data:`SEPARATOR` lines (each part assembles alone)."""
    from mlir.dialects import gpu

    texts = []
    for view in module.body.operations:
        op = view.operation
        if op.name != "gpu.binary":
            continue
        name = ir.StringAttr(op.attributes["sym_name"]).value
        for attr in ir.ArrayAttr(op.attributes["objects"]):
            obj = gpu.ObjectAttr(attr).object
            text = obj.decode() if isinstance(obj, bytes) else str(obj)
            texts.append(f"// gpu.module @{name}\n" + text.rstrip("\0").rstrip() + "\n")
    if not texts:
        raise CompileError(
            "the module has no GPU kernel: none of its loops is parallel (a full reduction or "
            "scalar code runs on the host side)"
        )
    return f"{SEPARATOR}\n".join(texts)
