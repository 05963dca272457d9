"""``tensorir-opt``: run tir and upstream MLIR passes on IR, in the spirit of ``mlir-opt``.

    $ tensorir-opt in.mlir --tir-autodiff --tir-dce --print-ir-after-all
    $ tensorir-opt in.mlir --pass-pipeline='builtin.module(tir-dce,canonicalize)' --emit=llvm-ir
    $ tensorir-opt --import examples/quickstart.py:fused --args 'float32[?],float32[?]'
    $ tensorir-opt --list-passes

Input is a file, or ``-`` for stdin, parsed in a context with tir and the
upstream dialects (:func:`tensorir.dialects.new_context`); or the traced tir
of a Python function (``--import``). Passes given as flags run in
command-line order, in one ``PassManager`` with the MLIR verifier after
each, and tir ops are also checked against their type rules. ``--emit``
then lowers as far as the requested stage with the CPU pipeline; stages the
input is already past are skipped. Output goes to stdout (or ``-o FILE``),
IR dumps and timing to stderr. Exit status: 0 success, 1 bad input or a
failing pass, 2 a bad command line (see :mod:`.diagnostics`).

>>> main(["--list-passes"])  # doctest: +ELLIPSIS
tir passes:
...
0
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import Callable, NoReturn, Sequence

from ..dialects import new_context
from ..dialects._bindings import MLIRError, ir, take_pass_error, walk
from ..errors import IRError, TensorIRError
from . import catalog
from .check import check_tir_types
from .diagnostics import SOURCE_NAME, OptError, UsageError, format_diagnostics
from .importer import import_function
from ..passes.rewrite import recording
from .pipeline import PassFailure, Printing, Step, build, parse_pipeline, step_from_flag

__all__ = ["main", "EMIT_STAGES"]

PROG = "tensorir-opt"

# The stages --emit can stop at, in pipeline order (those of f.lower().as_text),
# then the GPU path's: gpu (host functions launching outlined kernels) and ptx.
EMIT_STAGES = ("tir", "linalg", "bufferized", "llvm", "llvm-ir", "asm", "gpu", "ptx")

# Separates the parts of an input processed alone with --split-input-file (as mlir-opt).
SPLIT_MARKER = "// -----"

# Options that take a value (the next argument unless written --opt=value).
_VALUE_OPTIONS = {"pass-pipeline", "print-ir-before", "print-ir-after", "emit", "import", "args"}
_FLAG_OPTIONS = {
    "help",
    "list-passes",
    "trace-rewrites",
    "print-ir-after-all",
    "print-ir-before-all",
    "mlir-timing",
    "mlir-print-op-generic",
    "mlir-print-debuginfo",
    "split-input-file",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _run(argv)
    except OptError as exc:
        _report(str(exc))
        return exc.code
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except BrokenPipeError:  # `tensorir-opt ... | head`
        return 0
    except Exception as exc:  # noqa: BLE001 - a bug of tensorir itself, still no traceback
        _report(
            f"internal error ({type(exc).__name__}: {exc}); please report it with the command line "
            "and the input that caused it"
        )
        return 1


def _report(message: str) -> None:
    sys.stdout.flush()
    sys.stderr.write(f"{PROG}: error: {message}\n")
    sys.stderr.flush()


# ---------------------------------------------------------------------------
# Command line


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {PROG} --help)")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        allow_abbrev=False,
        usage=f"{PROG} [FILE | -] [--PASS ...] [--pass-pipeline=PIPELINE] [--emit=STAGE] [options]",
        description="Run tir and upstream MLIR passes on MLIR IR and print the result.",
        epilog=(
            "Passes: --NAME runs the tir pass or upstream MLIR pass NAME (--tir-dce, --canonicalize, "
            "--convert-linalg-to-loops=OPTIONS), in command-line order; --tir-pipeline=NAME runs a named "
            "tir pipeline. See --list-passes."
        ),
    )
    p.add_argument("input", nargs="?", default=None, help="IR file to read; '-' or nothing for stdin")
    p.add_argument("-o", dest="output", default="-", metavar="FILE", help="write the output here (default stdout)")
    p.add_argument("--pass-pipeline", metavar="PIPELINE", help="'builtin.module(tir-dce,canonicalize,...)'")
    p.add_argument("--list-passes", action="store_true", help="list the tir passes, lowering steps and pipelines")
    p.add_argument("--emit", choices=EMIT_STAGES, default="tir", help="lower to this stage after the passes")
    p.add_argument("--print-ir-after-all", action="store_true", help="print the IR after every pass (stderr)")
    p.add_argument("--print-ir-before-all", action="store_true", help="print the IR before every pass (stderr)")
    p.add_argument("--print-ir-before", action="append", default=[], metavar="PASS", help="print the IR before PASS")
    p.add_argument("--print-ir-after", action="append", default=[], metavar="PASS", help="print the IR after PASS")
    p.add_argument(
        "--split-input-file", action="store_true", help=f"process each part between '{SPLIT_MARKER}' lines alone"
    )
    p.add_argument("--mlir-timing", action="store_true", help="time each pass (report on stderr)")
    p.add_argument(
        "--trace-rewrites", action="store_true", help="print which rewrite rule fired on which op (stderr)"
    )
    p.add_argument("--mlir-print-op-generic", action="store_true", help="print every op in generic form")
    p.add_argument("--mlir-print-debuginfo", action="store_true", help="print locations (loc(...))")
    p.add_argument("--import", dest="import_", metavar="MODULE:FUNCTION", help="trace this Python function")
    p.add_argument("--args", metavar="SPEC", help="argument types for --import: 'float32[?,784],int64[]'")
    return p


def split_argv(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(pass flags in order, the other arguments): ``--NAME`` not an option is a pass."""
    passes: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        name = arg[2:].partition("=")[0] if arg.startswith("--") else None
        if name is None or name in _FLAG_OPTIONS:
            rest.append(arg)
        elif name in _VALUE_OPTIONS:
            rest.append(arg)
            if "=" not in arg and i + 1 < len(argv):
                rest.append(argv[i + 1])
                i += 1
        else:
            passes.append(arg)
        i += 1
    return passes, rest


def _run(argv: list[str]) -> int:
    flags, rest = split_argv(argv)
    args = _parser().parse_args(rest)
    if args.list_passes:
        sys.stdout.write(list_passes())
        return 0
    if flags and args.pass_pipeline is not None:
        raise UsageError(f"give passes either as flags ({' '.join(flags)}) or as --pass-pipeline, not both")
    if args.args is not None and args.import_ is None:
        raise UsageError("--args gives the argument types of --import MODULE:FUNCTION; add --import")
    if args.import_ is not None and args.input is not None:
        raise UsageError(f"read IR from {args.input} or trace --import {args.import_}, not both")
    if args.import_ is not None and args.args is None:
        raise UsageError("--import needs --args with one type per argument, e.g. --args 'float32[?,784],int64[]'")

    def asm(op: ir.Operation) -> str:
        return op.get_asm(print_generic_op_form=args.mlir_print_op_generic, enable_debug_info=args.mlir_print_debuginfo)

    if args.pass_pipeline is not None:
        steps = parse_pipeline(args.pass_pipeline)
    else:
        steps = [s for flag in flags for s in step_from_flag(flag)]
    printing = Printing(
        before=set(args.print_ir_before),
        after=set(args.print_ir_after),
        before_all=args.print_ir_before_all,
        after_all=args.print_ir_after_all,
        asm=asm,
    )
    outputs: list[str] = []
    failed = False
    for source in sources(args):
        try:
            with recording() as fired:
                outputs.append(process(source, steps, printing, args.mlir_timing, args.emit))
        except UsageError:
            raise
        except OptError as exc:  # with --split-input-file, the other chunks still run
            _report(str(exc))
            failed = True
            continue
        if args.trace_rewrites:
            for entry in fired:
                sys.stderr.write(f"rewrite: {entry}\n")
            sys.stderr.write(f"rewrite: {len(fired)} rewrite(s) in {source.name}\n")
    _write(args.output, "// -----\n".join(outputs))
    return 1 if failed else 0


@dataclass(frozen=True)
class Source:
    """One input: a file (``path``), text (stdin, a chunk of ``--split-input-file``),
    or a Python function (``target`` and ``spec`` of ``--import``)."""

    name: str
    path: str | None = None
    text: str | None = None
    target: str | None = None
    spec: str | None = None


def sources(args: argparse.Namespace) -> list[Source]:
    """The inputs of the command line, in order."""
    if args.import_ is not None:
        return [Source(args.import_, target=args.import_, spec=args.args)]
    path = args.input or "-"
    name = "<stdin>" if path == "-" else path
    if path != "-" and not os.path.isfile(path):
        raise OptError(f"cannot read {path}: no such file")
    if path != "-" and not args.split_input_file:
        return [Source(name, path=path)]
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    except UnicodeDecodeError as exc:
        raise OptError(f"cannot read {name}: not UTF-8 text ({exc})") from None
    if not args.split_input_file:
        return [Source(name, text=text)]
    chunks: list[Source] = []
    lines = text.splitlines(keepends=True)
    first = 0
    for i, line in enumerate([*lines, SPLIT_MARKER]):
        if line.rstrip() == SPLIT_MARKER:
            # blank lines in front keep the line numbers of the whole file
            chunks.append(Source(name, text="\n" * first + "".join(lines[first:i])))
            first = i + 1
    return chunks


def process(source: Source, steps: list[Step], printing: Printing, timing: bool, stage: str) -> str:
    """Parse or trace one input, run the passes, lower to ``stage``; the output text."""
    token = SOURCE_NAME.set(source.name)
    ctx = new_context()
    try:
        with ctx, ir.Location.unknown():
            pm = build(steps, printing, timing=timing)
            module = load(source, ctx)
            try:
                check_tir_types(module.operation)
            except IRError as exc:
                raise OptError(f"invalid tir in {source.name}:\n{exc}") from None
            run_passes(pm, module, steps)
            del pm  # its timing report, if any, goes to stderr now
            return emit(module, stage, printing.asm)
    finally:
        SOURCE_NAME.reset(token)


def list_passes() -> str:
    """The text of ``--list-passes``."""
    width = 2 + max(len(a) for a in catalog.runnable()) + 2

    def rows(table: dict) -> list[str]:
        return [f"  --{a:<{width - 2}}{p.description}" for a, p in table.items()]

    tir = catalog.tir_passes()
    lowering = {a: p for a, p in catalog.LOWERING_STEPS.items() if a not in tir}
    lines = ["tir passes:", *rows(tir), "lowering steps (what --emit runs, one pass each):", *rows(lowering)]
    lines.append("pipelines (--tir-pipeline=NAME, or NAME in --pass-pipeline):")
    lines += [f"  {n:<{width}}{', '.join(steps) or '(no passes)'}" for n, steps in catalog.pipelines().items()]
    lines.append("upstream MLIR passes: by their MLIR name, e.g. --canonicalize, --cse, or 'func.func(cse)' in --pass-pipeline")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Stages


def load(source: Source, ctx: ir.Context) -> ir.Module:
    """The module of a source, parsed and verified (or traced)."""
    if source.target is not None:
        return import_function(source.target, source.spec or "", ctx)
    try:
        if source.text is not None:
            return ir.Module.parse(source.text)
        return ir.Module.parseFile(source.path)
    except MLIRError as exc:
        raise OptError(f"invalid input IR in {source.name}:\n{format_diagnostics(exc)}") from None


def run_passes(pm: object, module: ir.Module, steps: list[Step]) -> None:
    """Run the pass manager; a failure becomes an :class:`OptError` naming the pass."""
    if not steps:
        return
    try:
        sys.stdout.flush()
        pm.run(module.operation)  # type: ignore[attr-defined]
    except MLIRError as exc:
        cause = take_pass_error()
        if isinstance(cause, PassFailure):
            inner = cause.cause
            if isinstance(inner, IRError):
                raise OptError(f"pass {cause.argument} produced invalid tir:\n{inner}") from None
            what = str(inner) if isinstance(inner, TensorIRError) else f"{type(inner).__name__}: {inner}"
            raise OptError(f"pass {cause.argument} failed: {what}") from None
        raise OptError(f"the pass pipeline failed:\n{format_diagnostics(exc)}") from None


def emit(module: ir.Module, stage: str, asm: Callable[[ir.Operation], str]) -> str:
    """The output text at ``stage``, lowering with the CPU pipeline as needed."""
    from ..config import config
    from ..lowering import cpu
    from ..runtime.cpu import assembly

    order = EMIT_STAGES.index(stage)
    now = stage_of(module.operation)
    try:
        if stage in ("gpu", "ptx"):
            text = _gpu(module, now, stage, config.inplace)
            return text if stage == "ptx" else asm(module.operation) + "\n"
        if order >= EMIT_STAGES.index("linalg") and now in ("tir", "linalg"):
            cpu.lower_tir_to_linalg(module)
        if order >= EMIT_STAGES.index("bufferized") and now in ("tir", "linalg"):
            cpu.bufferize(module)
        if order >= EMIT_STAGES.index("llvm") and now != "llvm":
            # threads as @jit compiles them, so --emit shows the code a call runs
            cpu.lower_to_llvm_dialect(module, config.threads, config.parallel_minsize)
        if stage in ("llvm-ir", "asm"):
            text = cpu.to_llvm_ir(module)
            return text if stage == "llvm-ir" else assembly(text)
    except (TensorIRError, MLIRError, RuntimeError, ValueError) as exc:
        raise OptError(f"--emit={stage}: lowering failed: {exc}") from None
    return asm(module.operation) + "\n"


def _gpu(module: ir.Module, now: str, stage: str, reuse: bool) -> str:
    """The GPU recipe of ``lowering/gpu.py`` from tir or linalg IR, to host
    functions and outlined kernels (``gpu``: the module is left so) or to
    the kernels' PTX (``ptx``: returned)."""
    from ..lowering import cpu, gpu

    if now not in ("tir", "linalg"):
        raise OptError(f"--emit={stage} lowers tir or linalg-on-tensors IR, found IR at the {now} stage")
    if now == "tir":
        cpu.lower_tir_to_linalg(module)
    if stage == "gpu":
        gpu.to_gpu_kernels(module, reuse=reuse)
        return ""
    gpu.to_gpu_binaries(module, reuse=reuse)
    return gpu.ptx_of(module)


def stage_of(module_op: ir.Operation) -> str:
    """Which stage IR is at: ``tir`` (has tir ops), ``linalg`` (tensors),
    ``bufferized`` (no tensors, not all LLVM) or ``llvm``."""
    ops = walk(module_op)[1:]
    if any(o.name.startswith("tir.") for o in ops):
        return "tir"
    if any(_has_tensor(o) for o in ops):
        return "linalg"
    if any(not o.name.startswith("llvm.") for o in ops):
        return "bufferized"
    return "llvm"


def _has_tensor(op: ir.Operation) -> bool:
    values = [*op.operands, *op.results]
    for region in op.regions:
        for block in region.blocks:
            values.extend(block.arguments)
    return any(isinstance(v.type, (ir.RankedTensorType, ir.UnrankedTensorType)) for v in values)


def _write(path: str, text: str) -> None:
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError as exc:
        raise OptError(f"cannot write {path}: {exc.strerror}") from None


if __name__ == "__main__":
    sys.exit(main())
