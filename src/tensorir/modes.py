"""Compilation modes of :func:`tensorir.function`, by name as in Theano.

A mode chooses the tir pipeline a function is compiled with and what each
call does besides running the compiled code:

* ``FAST_RUN`` (the default, ``ti.config.mode``): the ``ti.config.optimizer``
  pipeline (``fast_run`` unless changed);
* ``FAST_COMPILE``: the ``fast_compile`` pipeline (merge and dce only).

``mode=`` takes a name or a :class:`Mode`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ArgumentError

__all__ = ["Mode", "MODES", "get_mode"]


@dataclass(frozen=True)
class Mode:
    """``optimizer``: a pipeline name, or ``None`` for ``ti.config.optimizer``."""

    name: str
    optimizer: str | None = None

    @property
    def pipeline(self) -> str:
        from .config import config

        return self.optimizer if self.optimizer is not None else config.optimizer


MODES: dict[str, Mode] = {
    "FAST_RUN": Mode("FAST_RUN"),
    "FAST_COMPILE": Mode("FAST_COMPILE", "fast_compile"),
}


def get_mode(mode: "str | Mode | None") -> Mode:
    """The :class:`Mode` of a ``mode=`` argument (``None``: ``ti.config.mode``)."""
    if isinstance(mode, Mode):
        return mode
    if mode is None:
        from .config import config

        mode = config.mode
    if not isinstance(mode, str) or mode not in MODES:
        raise ArgumentError(f"mode must be one of {', '.join(MODES)} or a tensorir.Mode, found {mode!r}")
    return MODES[mode]
