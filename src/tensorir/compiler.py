"""From a traced graph to a callable: the stages, top to bottom.

    traced graph --emit--> tir --tir passes--> tir (optimised)
      --tir-to-linalg, tir-entry-abi--> linalg on tensors
      --bufferize--> linalg on buffers --lower--> LLVM dialect
      --translate--> LLVM IR --llvmlite O3 + MCJIT--> machine code

:func:`lower` keeps the text of every stage for inspection;
:func:`compile_traced` runs the same stages and wraps the machine code in an
:class:`Executable` that checks argument shapes, allocates the results and
calls the kernel.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .dialects import new_context
from .dialects._bindings import ir
from .dialects.types import Sym
from .errors import CompileError, NonFiniteError, ShapeError
from .frontend.emit import emit_function
from .frontend.trace import Traced
from .lowering import cpu
from .config import config
from .passes import pipeline_steps
from .runtime.cpu import CompiledKernel, CpuCompiler, assembly

__all__ = ["STAGES", "Lowered", "Executable", "lower", "compile_traced"]

STAGES = ("tir", "tir-opt", "linalg", "bufferized", "llvm", "llvm-ir", "asm")

_compiler = CpuCompiler()


@dataclass
class Lowered:
    """The text of each compilation stage of one traced signature."""

    texts: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)

    def as_text(self, stage: str = "tir", debug_info: bool = False) -> str:
        """IR at ``stage``: one of ``STAGES``. ``debug_info`` adds the user's
        source locations to the traced tir (``loc("file.py":12:0)``)."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")
        if debug_info and stage == "tir":
            return self.texts["tir+loc"]
        return self.texts[stage]


def _entry_name(name: str) -> str:
    """Symbol of the compiled function: prefixed, so a user function called
    ``erf`` or ``sin`` cannot clash with the C library functions it calls."""
    safe = "".join(c if c.isalnum() or c == "_" else "_" for c in name) or "main"
    return "tir_" + safe


def _run_stages(traced: Traced, pipeline: str, keep: bool) -> tuple[str, str, dict[str, str], dict[str, float]]:
    """Emit and lower to LLVM IR; returns (llvm ir, entry name, texts, timings)."""
    texts: dict[str, str] = {}
    timings: dict[str, float] = {}
    entry = _entry_name(traced.name)
    ctx = new_context()
    with ctx, ir.Location.unknown():
        t = time.perf_counter()
        module = ir.Module.create()
        emit_function(module, entry, traced.inputs, traced.outputs, traced.updates)
        if keep:
            texts["tir"] = _print(module)
            texts["tir+loc"] = module.operation.get_asm(enable_debug_info=True)
        timings["emit"] = time.perf_counter() - t

        def stage(name: str, fn: Callable[[ir.Module], None]) -> None:
            t0 = time.perf_counter()
            fn(module)
            timings[name] = time.perf_counter() - t0
            if keep:
                texts[name] = _print(module) if name != "llvm-ir" else texts[name]

        stage("tir-opt", lambda m: cpu.run_pipeline(m, pipeline_steps(pipeline), "the tir passes"))
        stage("linalg", cpu.lower_tir_to_linalg)
        stage("bufferized", lambda m: cpu.bufferize(m, reuse=config.inplace))
        stage("llvm", cpu.lower_to_llvm_dialect)
        t0 = time.perf_counter()
        llvm_ir = cpu.to_llvm_ir(module)
        timings["llvm-ir"] = time.perf_counter() - t0
        texts["llvm-ir"] = llvm_ir
    return llvm_ir, entry, texts, timings


def _print(module: ir.Module) -> str:
    return module.operation.get_asm(enable_debug_info=False)


def lower(traced: Traced, pipeline: str = "fast_run") -> Lowered:
    llvm_ir, _, texts, timings = _run_stages(traced, pipeline, keep=True)
    texts["asm"] = assembly(llvm_ir)
    return Lowered(texts, timings)


class Executable:
    """Machine code for one signature, plus the Python glue of a call.

    ``run(arrays)`` is generated Python: it checks the shape equalities the
    trace recorded, allocates the outputs with NumPy (their shapes computed
    from the inputs' shapes) and calls the kernel, which fills them in place.
    Arrays must be C-contiguous and of the traced dtypes and ranks.
    """

    def __init__(self, traced: Traced, kernel: CompiledKernel, timings: dict[str, float], check_finite: bool):
        self.kernel = kernel
        self.timings = timings
        self.out_tree = traced.out_tree
        self.arg_names = [s.name for s in traced.specs]
        self.check_finite = check_finite
        self.run = _make_runner(traced, kernel.call, check_finite)


def compile_traced(traced: Traced, pipeline: str = "fast_run", check_finite: bool = False) -> Executable:
    t = time.perf_counter()
    llvm_ir, entry, _, timings = _run_stages(traced, pipeline, keep=False)
    returned = [v for k, v in enumerate(traced.outputs) if k not in traced.updates]
    kernel = _compiler.compile(llvm_ir, entry, [v.type.rank for v in traced.inputs + returned])
    timings["llvm-jit"] = kernel.compile_seconds
    timings["total"] = time.perf_counter() - t
    return Executable(traced, kernel, timings, check_finite)


def _check_finite(arrays: Sequence[np.ndarray], names: Sequence[str]) -> None:
    for a, name in zip(arrays, names):
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
            raise NonFiniteError(
                f"argument {name!r} holds {bad} NaN or infinite value(s) and this function was "
                "compiled with check_finite=True; clean the input (np.nan_to_num) or drop the check"
            )


def _make_runner(traced: Traced, kernel: Callable[..., None], check_finite: bool) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    """Generate the per-call glue: shape checks, output allocation, the call."""
    names = [s.name for s in traced.specs]

    where: dict[Sym, str] = {}
    for i, v in enumerate(traced.inputs):
        for k, d in enumerate(v.type.shape):
            if isinstance(d, Sym) and d.op == "var":
                where.setdefault(d, f"s{i}[{k}]")

    def leaf(sym: Sym) -> str:
        if sym not in where:
            raise CompileError(f"internal: the traced graph has a dim {sym!r} that no input has")
        return where[sym]

    def describe(d: Any) -> str:
        if isinstance(d, int):
            return str(d)
        text = repr(d)
        for i, n in enumerate(names):
            text = text.replace(f"{i}.shape[", f"{n}.shape[")
        return text

    n_in = len(traced.inputs)
    lines = ["def run(args):"]
    if n_in:
        lines.append(f"    {''.join(f'a{i}, ' for i in range(n_in))}= args")
    for i, v in enumerate(traced.inputs):
        if v.type.rank:
            lines.append(f"    s{i} = a{i}.shape")
    messages: list[tuple[str, Any]] = []
    for k, (a, b, why, loc) in enumerate(traced.checks()):
        pa = a.python(leaf) if isinstance(a, Sym) else repr(a)
        pb = b.python(leaf) if isinstance(b, Sym) else repr(b)
        lines.append(f"    if {pa} != {pb}: fail({k}, {pa}, {pb})")
        messages.append((f"{why}: {describe(a)} = {{}} but {describe(b)} = {{}}", loc))
    if check_finite:
        lines.append("    check_finite(args)")
    outs = []
    for j, v in enumerate(traced.outputs):
        if j in traced.updates:
            continue
        dims = [d.python(leaf) if isinstance(d, Sym) else repr(d) for d in v.type.shape]
        lines.append(f"    o{j} = empty(({''.join(d + ', ' for d in dims)}), dt{j})")
        outs.append(f"o{j}")
    lines.append(f"    kernel({''.join(f'a{i}, ' for i in range(n_in))}{''.join(o + ', ' for o in outs)})")
    lines.append(f"    return [{', '.join(outs)}]")

    def fail(k: int, va: int, vb: int) -> None:
        msg, loc = messages[k]
        text = f"the arguments of {traced.name} have incompatible shapes: " + msg.format(va, vb)
        if loc is not None:
            text += f"\n{loc}"
        raise ShapeError(text)

    namespace: dict[str, Any] = {
        "fail": fail,
        "empty": np.empty,
        "kernel": kernel,
        "check_finite": lambda arrays: _check_finite(arrays, names),
        **{f"dt{j}": np.dtype(v.type.dtype) for j, v in enumerate(traced.outputs) if j not in traced.updates},
    }
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from our own Sym trees
    return namespace["run"]
