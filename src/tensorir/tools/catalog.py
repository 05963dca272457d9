"""What ``tensorir-opt`` can run by name: the tir passes and the lowering steps.

The tir passes and named pipelines are read from :mod:`tensorir.passes`
(``PASSES``, ``PIPELINES``) each time, so a pass added to that registry is a
flag of the command line with nothing to change here. The lowering steps
are the Python passes the CPU pipeline (:mod:`tensorir.lowering.cpu`) runs
between upstream passes; exposing them under their pass argument lets a
user run one stage of the lowering alone and inspect its output.
"""

from __future__ import annotations

from .. import passes as _passes
from ..lowering.bool_storage import bool_storage
from ..lowering.buffers import free_early, reuse_buffers
from ..lowering.copies import strided_copies
from ..lowering.cpu import drop_update_results, entry_abi, unshare_empty_tensors
from ..lowering.fusion import keep_costly_producers
from ..lowering.linalg import linalg_to_blas
from ..lowering.outline import outline_serial
from ..lowering.parallel import merge_chunks, tir_parallel_loops
from ..lowering.scan import tir_scan_to_loop
from ..lowering.siblings import fuse_siblings
from ..lowering.streaming import mark_streams, stream_stores
from ..lowering.to_linalg import tir_to_linalg
from ..passes import Pass

__all__ = ["LOWERING_STEPS", "tir_passes", "runnable", "pipelines", "lit_test_name"]

# In the order the CPU pipeline runs them (upstream passes in between).
LOWERING_STEPS: dict[str, Pass] = {
    p.argument: p
    for p in [
        Pass("tir-scan-to-loop", tir_scan_to_loop, "turn every tir.scan into an scf.for over tensors with its body inlined"),
        Pass("tir-to-linalg", tir_to_linalg, "lower every tir op to linalg, tensor, arith and math ops on tensors"),
        Pass("tir-entry-abi", entry_abi, "public functions write their results into caller-allocated out-params"),
        Pass(
            "tir-keep-costly-producers",
            keep_costly_producers,
            "materialise costly elementwise results read by broadcast, so fusion does not recompute them per element",
        ),
        Pass(
            "tir-unshare-empty-tensors",
            unshare_empty_tensors,
            "give every use of a tensor.empty its own copy (before bufferization)",
        ),
        Pass(
            "tir-drop-update-results",
            drop_update_results,
            "after bufferization: drop results that are the function's own (updated in place) arguments",
        ),
        Pass(
            "tir-reuse-buffers",
            reuse_buffers,
            "elementwise ops write into dead inputs; new buffers take dead ones of their size (after bufferization)",
        ),
        Pass("tir-free-early", free_early, "free each buffer right after its last use (after deallocation)"),
        Pass("tir-bool-storage", bool_storage, "store bool buffers as i8, one byte per element as NumPy does"),
        Pass("tir-linalg-to-blas", linalg_to_blas, "replace marked float contractions on buffers by OpenBLAS gemm calls"),
        Pass(
            "tir-strided-copies",
            strided_copies,
            "turn memref.copy ops that would call memrefCopy (one element per call) into loops",
        ),
        Pass(
            "tir-fuse-siblings",
            fuse_siblings,
            "join elementwise loop nests that read one buffer (softmax and log_softmax of x) into one pass over it",
        ),
        Pass(
            "tir-mark-streams",
            mark_streams,
            "mark the elementwise ops writing results that tir-stream-stores may rewrite",
        ),
        Pass(
            "tir-parallel-loops",
            tir_parallel_loops,
            "split elementwise ops and reductions on buffers into chunks run on threads (two here; "
            "compiled functions use ti.config.threads and parallel_minsize)",
        ),
        Pass(
            "tir-stream-stores",
            stream_stores,
            "write marked results of 4 MiB or more with vectorised non-temporal stores (x86-64; compiled "
            "functions use ti.config.stream_minsize)",
        ),
        Pass(
            "tir-outline-serial",
            outline_serial,
            "move the loops left in public functions into functions called once, and compile the "
            "straight-line rest without optimisation (after tir-parallel-loops)",
        ),
        Pass(
            "tir-merge-chunks",
            merge_chunks,
            "one chunk function for each set of identical ones (after tir-parallel-loops)",
        ),
    ]
}


def tir_passes() -> dict[str, Pass]:
    """The registered tir passes (``tensorir.passes.PASSES``), read now."""
    return dict(_passes.PASSES)


def runnable() -> dict[str, Pass]:
    """Every Python pass the command line runs by argument: the tir passes,
    then the lowering steps (a registered pass of the same name wins)."""
    table = tir_passes()
    for argument, p in LOWERING_STEPS.items():
        table.setdefault(argument, p)
    return table


def pipelines() -> dict[str, list[str]]:
    """The named tir pipelines (``tensorir.passes.PIPELINES``), read now."""
    return {name: list(steps) for name, steps in _passes.PIPELINES.items()}


def lit_test_name(p: Pass) -> str:
    """File name of the lit test of a pass: the module defining it, under
    ``tests/ir/`` (``passes/dce.py`` -> ``dce.mlir``, ``passes/autodiff/``
    -> ``autodiff.mlir``, ``lowering/to_linalg.py`` -> ``to_linalg.mlir``)."""
    parts = p.run.__module__.split(".")
    for stage in ("passes", "lowering"):
        if stage in parts and parts.index(stage) + 1 < len(parts):
            return parts[parts.index(stage) + 1] + ".mlir"
    return parts[-1] + ".mlir"
