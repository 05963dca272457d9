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
    "CompileError",
    "IRError",
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


class CompileError(TensorIRError, RuntimeError):
    """The MLIR or LLVM toolchain failed; the message says how to reproduce."""


class IRError(TensorIRError, ValueError):
    """tir IR that does not parse or verify."""
