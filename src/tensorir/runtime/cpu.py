"""LLVM IR -> native code for the host CPU with llvmlite, and calling it.

The runtime knows nothing about tir: it receives LLVM IR text, an entry
symbol and the ranks of the memref arguments, and returns a callable that
takes NumPy arrays (inputs, then preallocated outputs).

Calling convention (MLIR's expanded memref ABI, no C wrapper): each memref
argument of rank r is passed as ``allocated_ptr, aligned_ptr, offset,
sizes[r], strides[r]`` (pointers, then i64s, strides in elements).
"""

from __future__ import annotations

import ctypes
import threading
import time
from dataclasses import dataclass
from typing import Sequence

import llvmlite.binding as llvm
import numpy as np

from ..errors import CompileError

__all__ = ["CpuCompiler", "CompiledKernel", "host_target", "assembly"]

_lock = threading.Lock()
_target_machine: llvm.TargetMachine | None = None
_triple = ""
_data_layout = ""


def _new_target_machine() -> llvm.TargetMachine:
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(
        cpu=llvm.get_host_cpu_name(),
        features=llvm.get_host_cpu_features().flatten(),
        opt=3,
        codemodel="jitdefault",
    )


def host_target() -> llvm.TargetMachine:
    """The target machine of the host CPU at O3 used for optimisation (created once).

    An MCJIT engine takes ownership of the target machine it is given, so
    each engine gets its own (see :meth:`CpuCompiler.compile`).
    """
    global _target_machine, _triple, _data_layout
    with _lock:
        if _target_machine is None:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            llvm.initialize_native_asmparser()
            _target_machine = _new_target_machine()
            _triple = llvm.get_process_triple()
            _data_layout = str(_target_machine.target_data)
        return _target_machine


def optimize(text: str) -> llvm.ModuleRef:
    """Parse LLVM IR text and run the O3 pipeline for the host CPU on it."""
    tm = host_target()
    try:
        mod = llvm.parse_assembly(text)
        mod.verify()
    except RuntimeError as exc:
        raise CompileError(f"LLVM rejected the generated IR: {exc}") from None
    mod.triple = _triple
    mod.data_layout = _data_layout
    pto = llvm.create_pipeline_tuning_options(speed_level=3)
    pto.loop_vectorization = True
    pto.slp_vectorization = True
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)
    return mod


def assembly(text: str) -> str:
    """Host assembly of LLVM IR text, after the same optimisation as the JIT."""
    return host_target().emit_assembly(optimize(text))


@dataclass
class CompiledKernel:
    """A compiled entry point taking memref arguments of the given ranks."""

    engine: llvm.ExecutionEngine
    address: int
    ranks: tuple[int, ...]
    compile_seconds: float
    optimized_ir: str

    def __post_init__(self) -> None:
        nargs = sum(3 + 2 * r for r in self.ranks)
        self._fn = ctypes.CFUNCTYPE(None, *([ctypes.c_int64] * nargs))(self.address)

    def __call__(self, arrays: Sequence[np.ndarray]) -> None:
        """Run on C-contiguous arrays (inputs then outputs) matching ``ranks``."""
        args: list[int] = []
        for a in arrays:
            ptr = a.ctypes.data
            itemsize = a.itemsize
            args += (ptr, ptr, 0)
            args += a.shape
            args += [s // itemsize for s in a.strides] if a.size else [1] * a.ndim
        self._fn(*args)


class CpuCompiler:
    """Compiles LLVM IR modules into callable kernels (one MCJIT engine each)."""

    def compile(self, text: str, entry: str, ranks: Sequence[int]) -> CompiledKernel:
        start = time.perf_counter()
        mod = optimize(text)
        engine = llvm.create_mcjit_compiler(mod, _new_target_machine())
        engine.finalize_object()
        address = engine.get_function_address(entry)
        if not address:
            raise CompileError(f"the compiled module has no function {entry!r}")
        return CompiledKernel(engine, address, tuple(ranks), time.perf_counter() - start, str(mod))
