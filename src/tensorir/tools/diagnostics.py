"""Errors of ``tensorir-opt``: one readable paragraph on stderr and an exit code.

Exit codes follow ``mlir-opt`` and the usual command-line conventions:
0 success, 1 the input or a pass failed, 2 the command line is wrong (an
unknown pass or option, a malformed pipeline, a stage that does not exist
yet). MLIR diagnostics keep their location, as ``file:line:col: error: ...``.
"""

from __future__ import annotations

import contextvars
from typing import Any

from ..dialects._bindings import file_location, ir

__all__ = ["OptError", "UsageError", "SOURCE_NAME", "format_location", "format_diagnostics"]

# How locations in the buffer "-" are shown: IR parsed from a string (stdin,
# a chunk of --split-input-file) has the file name "-".
SOURCE_NAME: contextvars.ContextVar[str] = contextvars.ContextVar("tensorir_opt_source", default="<stdin>")


class OptError(Exception):
    """A failure ``tensorir-opt`` reports as its message and exit status 1."""

    code = 1


class UsageError(OptError):
    """A wrong command line (exit status 2)."""

    code = 2


def format_location(loc: ir.Location | None) -> str | None:
    """``file:line:col`` of a file location (``-`` shown as :data:`SOURCE_NAME`), else None.

    Fused and call-site locations give their first file location.
    """
    found = file_location(loc)
    if found is None:
        return None
    name, line, col = found
    return f"{name if name != '-' else SOURCE_NAME.get()}:{line}:{col}"


def format_diagnostics(exc: Any) -> str:
    """The diagnostics of an ``MLIRError`` as ``loc: error: message`` lines,
    each followed by its notes; the error's own text when it carries none."""
    lines: list[str] = []
    for diag in getattr(exc, "error_diagnostics", None) or []:
        lines.extend(_diagnostic_lines(diag, "error"))
    if not lines:
        text = str(exc).strip()
        return text.replace('"-":', SOURCE_NAME.get() + ":")
    return "\n".join(lines)


def _diagnostic_lines(diag: Any, kind: str) -> list[str]:
    where = format_location(diag.location)
    head = f"{where}: {kind}: {diag.message}" if where else f"{kind}: {diag.message}"
    lines = [head]
    for note in getattr(diag, "notes", None) or []:
        lines.extend("  " + line for line in _diagnostic_lines(note, "note"))
    return lines
