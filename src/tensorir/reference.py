"""The reference semantics of a function's graph, for ``DebugMode`` and ``NanGuardMode``.

:class:`ReferenceGraph` keeps the unoptimised tir of a traced graph (the
``"tir"`` stage of :func:`tensorir.compiler.lower`) with its derivative
markers expanded by ``tir-autodiff``, the one pass it runs (``tir.grad``,
``tir.vjp`` and ``tir.jvp`` have no reference semantics), in an MLIR context
of its own. :meth:`~ReferenceGraph.evaluate` runs it op by op with each op's
NumPy reference implementation from the op table, as
``dialects/interpreter.py`` does, keeping every intermediate value: a
:class:`Step` per op, in graph order.

:meth:`~ReferenceGraph.divergence` names the first op whose value the
compiler changes. It makes every live intermediate value of the graph an
extra result of the function (so each one is computed, whatever the passes
do to the others), runs the pipeline's tir passes and interprets the result,
then, when no value differs there, compiles it as a call is compiled and
runs it. The k-th extra result is the k-th live value, so the two graphs'
values are matched by position, not by a heuristic. Rewrites that need their
root to have one use cannot fire on the instrumented graph; a divergence they
cause is then not found, and the caller says so.
"""

from __future__ import annotations

import linecache
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .dialects import OPS, new_context, op_attrs
from .dialects._bindings import file_location, ir
from .dialects.interpreter import find_function, interpret, run_scan
from .dialects.optable import element_dtype
from .errors import CompileError, UnsupportedError
from .frontend.emit import UPDATES, emit_function
from .frontend.trace import Traced

__all__ = ["Step", "Divergence", "ReferenceGraph", "source_line", "where"]

# (compiled value, reference value) -> whether they agree
Agree = Callable[[np.ndarray, np.ndarray], bool]


@dataclass
class Step:
    """One op of the entry function, evaluated: its place in graph order,
    the op (of the reference module), and its operand and result values."""

    index: int
    op: ir.Operation
    operands: list[Any]
    results: list[Any]

    @property
    def name(self) -> str:
        return self.op.name


@dataclass
class Divergence:
    """The first op whose compiled value differs from its reference value.

    ``stage``: ``"tir passes"`` when the tir pipeline already changes it,
    ``"lowering"`` when only the compiled code does; ``rewrites``: the rules
    that fired on an op of that name and location (``simplify.mul_one``).
    """

    step: Step
    result: int
    stage: str
    got: np.ndarray
    rewrites: list[str] = field(default_factory=list)


def _to_numpy(value: Any, t: ir.Type) -> Any:
    if isinstance(t, ir.IndexType):
        return int(value)
    return np.asarray(value).astype(element_dtype(ir.ShapedType(t).element_type), copy=False)


def source_line(loc: ir.Location) -> tuple[str, int] | None:
    """(file, line) of a file location (the first one of a fused location)."""
    found = file_location(loc)
    return found[:2] if found is not None else None


def where(loc: ir.Location) -> str:
    """The user's line, as a traceback shows it, or a note that there is none."""
    found = source_line(loc)
    if found is None:
        return "  (no source location)"
    filename, line = found
    text = f'  File "{filename}", line {line}'
    code = linecache.getline(filename, line).strip()
    return text + (f"\n    {code}" if code else "")


def _is_tensor(value: ir.Value) -> bool:
    return isinstance(value.type, ir.RankedTensorType)


class ReferenceGraph:
    """The unoptimised tir of ``traced`` (markers expanded), ready to evaluate."""

    def __init__(self, traced: Traced, entry: str):
        from .lowering.cpu import run_pipeline
        from .passes.autodiff import tir_autodiff

        self.entry = entry
        self.context = new_context()
        with self.context, ir.Location.unknown():
            self.module = ir.Module.create()
            emit_function(self.module, entry, traced.inputs, traced.outputs, traced.updates)
            run_pipeline(self.module, [(tir_autodiff, "tir-autodiff")], "tir-autodiff")
            self.text = self.module.operation.get_asm(enable_debug_info=True)
            block = find_function(self.module, entry).regions[0].blocks[0]
            self.arguments = list(block.arguments)
            ops = [view.operation for view in block.operations]
            self.ret = ops[-1]
            self.ops = ops[:-1]
            self.program = [self._prepare(op) for op in self.ops]

    @staticmethod
    def _prepare(op: ir.Operation) -> tuple[ir.Operation, Any, dict[str, Any]]:
        if op.name == "func.call":
            return op, ir.FlatSymbolRefAttr(op.attributes["callee"]).value, {}
        if op.name == "tir.scan":
            return op, run_scan, {}
        if not op.name.startswith("tir."):
            raise UnsupportedError(f"the reference interpreter does not run {op.name}")
        opdef = OPS[op.name[4:]]
        return op, opdef, op_attrs(op, opdef)

    def evaluate(self, args: Sequence[np.ndarray]) -> tuple[list[Any], list[Step]]:
        """The function's results on ``args`` and every op's :class:`Step`.

        NumPy's floating-point warnings are silenced: a NaN here is a value to
        compare, not a warning for the user.
        """
        with self.context, ir.Location.unknown(), np.errstate(all="ignore"):
            env: dict[ir.Value, Any] = {a: _to_numpy(v, a.type) for a, v in zip(self.arguments, args)}
            steps: list[Step] = []
            for op, what, attrs in self.program:
                operands = [env[v] for v in op.operands]
                if isinstance(what, str):
                    out = interpret(self.module, operands, what)
                elif what is run_scan:
                    out = run_scan(self.module, op, operands)
                else:
                    out = what.reference(*operands, **attrs)
                    out = list(out) if what.multi_result else [out]
                results = [_to_numpy(value, r.type) for r, value in zip(op.results, out)]
                for r, value in zip(op.results, results):
                    env[r] = value
                steps.append(Step(len(steps), op, operands, results))
            return [env[v] for v in self.ret.operands], steps

    def ancestors(self, outputs: Sequence[int] | None = None) -> set[int]:
        """Graph positions of the ops that results ``outputs`` (default: all) depend on."""
        with self.context:
            rets = list(self.ret.operands)
            needed = {rets[k] for k in (range(len(rets)) if outputs is None else outputs)}
            live: set[int] = set()
            for k in range(len(self.ops) - 1, -1, -1):
                op = self.ops[k]
                if any(r in needed for r in op.results):
                    live.add(k)
                    needed.update(op.operands)
            return live

    def argument_index(self, value: ir.Value) -> int | None:
        with self.context:
            for i, a in enumerate(self.arguments):
                if a == value:
                    return i
        return None

    def divergence(
        self,
        pipeline: str,
        args: Sequence[np.ndarray],
        outputs: Sequence[Any],
        steps: Sequence[Step],
        agree: Agree,
        inplace: bool,
    ) -> Divergence | None:
        """The first live op whose value the compiler changes on ``args``
        (``outputs``, ``steps``: :meth:`evaluate` on them), or ``None``."""
        from mlir.dialects import func

        from .lowering import cpu
        from .passes import pipeline_steps
        from .passes.rewrite import recording
        from .runtime.cpu import CpuCompiler

        live = self.ancestors()
        with new_context(), ir.Location.unknown():
            module = ir.Module.parse(self.text)
            fn = find_function(module, self.entry)
            block = fn.regions[0].blocks[0]
            ops = [view.operation for view in block.operations]
            ret = ops[-1]
            n_out = len(ret.operands)
            kept = [(k, r) for k in sorted(live) for r, v in enumerate(ops[k].results) if _is_tensor(v)]
            values = list(ret.operands) + [ops[k].results[r] for k, r in kept]
            ranks = [np.ndim(a) for a in args] + [ir.ShapedType(v.type).rank for v in values]
            with ir.InsertionPoint(ret), ret.location:
                func.ReturnOp(values)
            ret.erase()
            ftype = ir.FunctionType(ir.TypeAttr(fn.attributes["function_type"]).value)
            new_type = ir.FunctionType.get(list(ftype.inputs), [v.type for v in values])
            fn.attributes["function_type"] = ir.TypeAttr.get(new_type)
            if UPDATES in fn.attributes:
                del fn.attributes[UPDATES]  # updates become plain results: nothing is written in place
            with recording() as fired:
                cpu.run_pipeline(module, pipeline_steps(pipeline), "the tir passes")
            with np.errstate(all="ignore"):
                after = interpret(module, list(args))[n_out:]
            for (k, r), got in zip(kept, after):
                if not agree(np.asarray(got), steps[k].results[r]):
                    return self._divergence(steps[k], r, "tir passes", np.asarray(got), fired)
            try:
                cpu.lower_tir_to_linalg(module)
                cpu.bufferize(module, reuse=inplace)
                cpu.lower_to_llvm_dialect(module)
                llvm_ir = cpu.to_llvm_ir(module)
            except CompileError:
                return None
        refs = [steps[k].results[r] for k, r in kept]
        kernel = CpuCompiler().compile(llvm_ir, self.entry, ranks)
        outs = [np.empty(np.shape(v), np.asarray(v).dtype) for v in list(outputs) + refs]
        kernel.call(*args, *outs)
        for (k, r), got in zip(kept, outs[n_out:]):
            if not agree(got, steps[k].results[r]):
                return self._divergence(steps[k], r, "lowering", got, [])
        return None

    def _divergence(self, step: Step, result: int, stage: str, got: np.ndarray, fired: list) -> Divergence:
        with self.context:
            loc = str(step.op.location)
        rules = sorted({f"{f.rule_set}.{f.rule}" for f in fired if f.op == step.name and f.location == loc})
        return Divergence(step, result, stage, got, rules)
