"""A pass pipeline from the command line, built into one ``PassManager``.

A pipeline is a list of top-level steps, from pass flags (``--tir-dce
--canonicalize``) or from ``--pass-pipeline='builtin.module(tir-dce,
canonicalize,func.func(cse))'``. A step naming a tir pass or lowering step
(:mod:`.catalog`) becomes that Python pass; the name of a tir pipeline
(``fast_run``) becomes its passes; anything else is upstream pipeline text
given to ``PassManager.add`` as it is (a nested ``func.func(...)`` group
included), so MLIR parses and checks it. Python passes run on the module,
so they cannot appear inside a nested group.

Every tir step is wrapped: it can print the IR before/after itself, and its
output's tir ops are checked against their type rules (:mod:`.check`) on top
of the MLIR verifier the pass manager runs after every pass.
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass, field
from typing import Callable

from ..dialects._bindings import PassManager, add_python_pass, ir
from ..passes import Pass
from . import catalog
from .check import check_tir_types
from .diagnostics import UsageError

__all__ = ["Step", "PassFailure", "split_pipeline", "parse_pipeline", "step_from_flag", "Printing", "build"]


@dataclass(frozen=True)
class Step:
    """One top-level pipeline element: ``text`` as written, ``tir`` its Python pass."""

    text: str
    tir: Pass | None = None

    @property
    def name(self) -> str:
        """The pass name, without options or a nested group: ``canonicalize{..}`` -> ``canonicalize``."""
        cut = [i for i in (self.text.find("{"), self.text.find("(")) if i >= 0]
        return self.text[: min(cut)].strip() if cut else self.text.strip()


class PassFailure(Exception):
    """A tir step raised: ``argument`` names it, ``cause`` is what it raised."""

    def __init__(self, argument: str, cause: BaseException):
        super().__init__(f"{argument}: {cause}")
        self.argument = argument
        self.cause = cause


# ---------------------------------------------------------------------------
# Parsing


def split_pipeline(text: str) -> list[str]:
    """Top-level elements of a pipeline, ``builtin.module(...)`` unwrapped.

    ``builtin.module(a,b{x=1},func.func(c,d))`` -> ``["a", "b{x=1}",
    "func.func(c,d)"]``; a bare list ``a,b`` is accepted too.
    """
    text = text.strip()
    elements = _split_commas(text)
    if len(elements) == 1 and elements[0].endswith(")"):
        head = elements[0][: elements[0].index("(")].strip()
        if head == "builtin.module":
            inner = elements[0][elements[0].index("(") + 1 : -1]
            return _split_commas(inner.strip()) if inner.strip() else []
    return elements


def _split_commas(text: str) -> list[str]:
    parts: list[str] = []
    stack: list[str] = []
    start = 0
    closing = {"(": ")", "{": "}"}
    for i, c in enumerate(text):
        if c in closing:
            stack.append(closing[c])
        elif c in ")}":
            if not stack or stack.pop() != c:
                raise UsageError(_pipeline_error(text, i, f"unbalanced '{c}'"))
        elif c == "," and not stack:
            parts.append(text[start:i].strip())
            start = i + 1
    if stack:
        raise UsageError(_pipeline_error(text, len(text), f"missing '{stack[-1]}'"))
    parts.append(text[start:].strip())
    if any(not p for p in parts) and text:
        raise UsageError(_pipeline_error(text, text.find(",,") if ",," in text else 0, "empty pipeline element"))
    return [p for p in parts if p]


def _pipeline_error(text: str, col: int, what: str) -> str:
    return f"malformed pass pipeline: {what} at column {col + 1}\n  {text}\n  {' ' * col}^"


def parse_pipeline(text: str) -> list[Step]:
    """The steps of ``--pass-pipeline`` text (tir names resolved, pipelines expanded)."""
    steps: list[Step] = []
    for element in split_pipeline(text):
        steps.extend(_resolve(element, element))
    return steps


def step_from_flag(flag: str) -> list[Step]:
    """The steps of a pass flag: ``--tir-dce``; ``--canonicalize=max-iterations=3``
    (upstream options, as ``mlir-opt``); ``--tir-pipeline=fast_run``."""
    body = flag[2:] if flag.startswith("--") else flag[1:]
    name, eq, options = body.partition("=")
    if name == "tir-pipeline":
        return _resolve(options, flag)
    return _resolve(f"{name}{{{options}}}" if eq else name, flag)


def _resolve(element: str, written: str) -> list[Step]:
    step = Step(element)
    runnable = catalog.runnable()
    named = catalog.pipelines()
    if step.name in runnable:
        if step.text != step.name:
            raise UsageError(f"{written}: tir pass {step.name} takes no options")
        return [Step(step.name, runnable[step.name])]
    if step.name in named:
        if step.text != step.name:
            raise UsageError(f"{written}: pipeline {step.name} takes no options")
        return [Step(a, runnable[a]) for a in named[step.name]]
    if written.startswith("--tir-pipeline"):
        raise UsageError(f"{written}: no pipeline named {element!r}; choose one of {', '.join(sorted(named))}")
    return [step]


# ---------------------------------------------------------------------------
# Building the pass manager


@dataclass
class Printing:
    """Which IR dumps to make, and how to print a module for them."""

    before: set[str] = field(default_factory=set)
    after: set[str] = field(default_factory=set)
    before_all: bool = False
    after_all: bool = False
    asm: Callable[[ir.Operation], str] = lambda op: str(op)


def build(steps: list[Step], printing: Printing, timing: bool = False) -> PassManager:
    """A pass manager running ``steps`` in order (MLIR verifier after each).

    Raises :class:`UsageError` for upstream text MLIR cannot parse and for
    ``--print-ir-before/after`` naming no top-level step.
    """
    names = {s.name for s in steps}
    for flag, wanted in (("--print-ir-before", printing.before), ("--print-ir-after", printing.after)):
        for name in sorted(wanted - names):
            listed = ", ".join(s.name for s in steps) or "none"
            raise UsageError(
                f"{flag}={name}: the pipeline has no top-level step {name} (its steps: {listed}); "
                "to see passes nested in func.func(...), use --print-ir-after-all"
            )
    pm = PassManager("builtin.module")
    for step in steps:
        if step.tir is not None:
            add_python_pass(
                pm,
                _wrapped(step.tir, step.name in printing.before, step.name in printing.after, printing.asm),
                name=step.name,
                argument=step.name,
                description=step.tir.description,
            )
            continue
        if step.name in printing.before:
            _add_printer(pm, "Before", step.name, printing.asm)
        try:
            pm.add(step.text)
        except ValueError as exc:
            raise UsageError(_upstream_error(step, exc)) from None
        if step.name in printing.after:
            _add_printer(pm, "After", step.name, printing.asm)
    if printing.before_all or printing.after_all:
        pm.enable_ir_printing(print_before_all=printing.before_all, print_after_all=printing.after_all)
    if timing:
        pm.enable_timing()
    return pm


def _wrapped(p: Pass, before: bool, after: bool, asm: Callable[[ir.Operation], str]) -> Callable[[ir.Operation], None]:
    def run(op: ir.Operation) -> None:
        if before:
            dump(op, "Before", p.argument, asm)
        try:
            p.run(op)
            check_tir_types(op)
        except Exception as exc:  # noqa: BLE001 - reported with the pass's name
            raise PassFailure(p.argument, exc) from exc
        if after:
            dump(op, "After", p.argument, asm)

    return run


def _add_printer(pm: PassManager, when: str, name: str, asm: Callable[[ir.Operation], str]) -> None:
    add_python_pass(pm, lambda op: dump(op, when, name, asm), name=f"print-ir-{when.lower()}-{name}", argument="")


def dump(op: ir.Operation, when: str, name: str, asm: Callable[[ir.Operation], str]) -> None:
    """Print the IR to stderr under ``mlir-opt``'s dump header."""
    sys.stdout.flush()
    sys.stderr.write(f"// -----// IR Dump {when} {name} ({name}) //----- //\n{asm(op)}\n\n")
    sys.stderr.flush()


def _upstream_error(step: Step, exc: ValueError) -> str:
    message = str(exc).strip()
    runnable = catalog.runnable()
    nested = [n for n in runnable if re.search(rf"[(,]\s*{re.escape(n)}\s*[,){{]", step.text)]
    if nested:
        return (
            f"{message}\n{nested[0]} is a tir pass: tir passes run on the whole module, "
            f"so name it at the top level of builtin.module(...), not inside {step.name}(...)"
        )
    close = difflib.get_close_matches(step.name, [*runnable, *catalog.pipelines()], n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"{message}\n{hint}(tir passes and pipelines: tensorir-opt --list-passes)"
