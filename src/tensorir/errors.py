"""Typed exceptions raised by tensorir.

Every error a user can cause derives from :class:`TensorIRError` and from
the built-in exception a Python programmer would expect (``TypeError`` for
a wrong dtype, ``ValueError`` for a wrong shape), so ``except ValueError``
keeps working. Messages say what was expected, what was found, which
argument, and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "TensorIRError",
    "ShapeError",
    "IndexOutOfBoundsError",
    "DTypeError",
    "ArgumentError",
    "TracerError",
    "TracerBoolConversionError",
    "UnsupportedError",
    "NonFiniteError",
    "NanGuardError",
    "DebugModeError",
    "CompileError",
    "IRError",
    "GpuError",
    "GpuUnavailableError",
    "GpuOutOfMemoryError",
    "KernelLaunchError",
]


class TensorIRError(Exception):
    """Base class of every error raised by tensorir."""


class ShapeError(TensorIRError, ValueError):
    """Shapes or ranks that do not agree."""


class IndexOutOfBoundsError(ShapeError, IndexError):
    """An integer index outside the axis it indexes (``except IndexError`` catches it)."""


class DTypeError(TensorIRError, TypeError):
    """A dtype that is not supported or not the one expected."""


class ArgumentError(TensorIRError, TypeError):
    """An argument of the wrong kind (a list where an array is expected...)."""


class TracerError(TensorIRError, TypeError):
    """Something a traced value cannot do (become a Python bool, an int...)."""


class TracerBoolConversionError(TracerError):
    """Python ``if``/``while``/``and``/``or`` on a traced value."""


class UnsupportedError(TensorIRError, NotImplementedError):
    """An operation or Python construct tensorir does not support."""


class NonFiniteError(TensorIRError, FloatingPointError):
    """A NaN or infinity where the caller asked for finite values only."""


class NanGuardError(NonFiniteError):
    """``NanGuardMode``: a call produced a NaN, an infinity or (``big_is_error``)
    a huge value. ``output`` names the output or updated shared variable,
    ``kind`` is ``"NaN"``, ``"infinity"`` or ``"big"``, ``op`` the first tir op
    of the unoptimised graph to produce it (``None`` when it came from an input
    or the reference computes none) and ``location`` that op's (file, line)."""

    output: str | None = None
    kind: str | None = None
    op: str | None = None
    location: tuple[str, int] | None = None


class DebugModeError(TensorIRError, RuntimeError):
    """``DebugMode``: the compiled code's result differs from the reference
    interpreter's, a bug of tensorir. ``output`` names the output or update,
    ``max_abs_error``/``max_rel_error`` measure the difference, ``op`` is the
    first tir op whose value differs (``None`` when none was found) and
    ``location`` its (file, line)."""

    output: str | None = None
    op: str | None = None
    location: tuple[str, int] | None = None
    max_abs_error: float | None = None
    max_rel_error: float | None = None


class CompileError(TensorIRError, RuntimeError):
    """The MLIR or LLVM toolchain failed; the message says how to reproduce."""


class IRError(TensorIRError, ValueError):
    """tir IR that does not parse or verify."""


class GpuError(TensorIRError, RuntimeError):
    """The GPU path failed: the driver's error name and text, and what was being done."""


class GpuUnavailableError(GpuError):
    """``device="cuda"`` was asked for where no usable NVIDIA GPU is: no driver
    library, no device, or a driver too old for the PTX. The CPU path keeps
    working (``device="cpu"``, or ``"auto"`` to fall back with a warning)."""


class GpuOutOfMemoryError(GpuError, MemoryError):
    """A device allocation failed: the bytes asked for and the device's free memory."""


class KernelLaunchError(GpuError):
    """A kernel failed to launch or to run; ``kernel`` names it."""

    kernel: str | None = None
