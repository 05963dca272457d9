"""Global settings, in Theano's style: ``ti.config.optimizer = "fast_compile"``
or ``TENSORIR_FLAGS="floatX=float32,optimizer=fast_compile"`` in the environment.

* ``floatX``: the dtype of symbolic variables built without one
  (``ti.matrix("x")``): ``float64`` (the default) or ``float32``.
* ``device``: where compiled code runs: ``cpu`` (the default), ``cuda``
  (``cuda:N`` for GPU N; compiling raises GpuUnavailableError where no
  GPU is usable) or ``auto`` (the GPU if there is one, else the CPU with a
  warning). Read at compile time; see ``tensorir.device``.
* ``mode``: the default ``mode=`` of ``ti.function`` (see ``tensorir.modes``):
  ``FAST_RUN``, ``FAST_COMPILE``, ``DebugMode`` or ``NanGuardMode``.
* ``profile``: the default ``profile=`` of ``ti.function``: ``False``; when
  ``True`` every function records its compile and call times (``f.profile``).

* ``optimizer``: the tir pipeline a ``jit`` without an explicit ``pipeline=``
  uses (``fast_run``: every optimisation; ``fast_compile``: merge and dce;
  ``none``: only what lowering needs). Read when a function is compiled, so
  changing it affects later compilations, not compiled code.
* ``inplace``: after bufferization, elementwise ops overwrite inputs they read
  for the last time, new buffers reuse dead ones and each buffer is freed after
  its last use (``tir-reuse-buffers``, ``tir-free-early``). ``True`` by
  default; ``inplace=False`` (Theano's ``optimizer_excluding=inplace``) gives
  every intermediate its own buffer, for comparison or debugging. Also read
  at compile time.
* ``threads``: how many threads compiled loops may use (parallel loops over
  the outer dims of elementwise ops and reductions); the number of CPUs by
  default, ``1`` for single-threaded code. Read at compile time.
* ``parallel_minsize``: loops over fewer elements than this stay on one
  thread, where starting a second would cost more than it saves (Theano's
  ``openmp_elemwise_minsize``). Read at compile time.
* ``stream_minsize``: results of at least this many bytes (per thread's
  share) are written with non-temporal stores, which skip reading each cache
  line before overwriting it (``tir-stream-stores``); smaller ones keep
  ordinary stores, as the caller may read them while they are still cached.
  4 MiB by default; ``0`` streams every result it can. Read at compile time.
* ``cache``: keep compiled machine code on disk, under ``compiledir``, so a
  new process calling the same function with the same signature loads it
  instead of compiling it. ``True`` by default.
* ``compiledir``: the directory of that cache: ``$XDG_CACHE_HOME/tensorir``
  (``~/.cache/tensorir``) by default.
* ``result_pool``: large result arrays come from a pool that takes back the
  memory of results the program has dropped, so that a call in a loop writes
  into memory already mapped instead of paying for fresh pages. ``True`` by
  default; read at call time, so switching it needs no recompile.

>>> import tensorir as ti
>>> ti.config.optimizer
'fast_run'
"""

from __future__ import annotations

import os
from typing import Any

from .errors import ArgumentError

__all__ = ["Config", "config"]


class Config:
    """The settings; assigning an unknown name or value raises ArgumentError."""

    _DEFAULTS: dict[str, Any] = {
        "floatX": "float64",
        "device": "cpu",
        "mode": "FAST_RUN",
        "optimizer": "fast_run",
        "inplace": True,
        "profile": False,
        "threads": os.cpu_count() or 1,
        "parallel_minsize": 100_000,
        "stream_minsize": 4 << 20,
        "cache": True,
        "compiledir": os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "tensorir"
        ),
        "result_pool": True,
    }

    def __init__(self, flags: str = "") -> None:
        for name, value in self._DEFAULTS.items():
            object.__setattr__(self, name, value)
        for item in filter(None, (part.strip() for part in flags.split(","))):
            name, sep, value = item.partition("=")
            if not sep:
                raise ArgumentError(f"TENSORIR_FLAGS: expected name=value, found {item!r} (e.g. optimizer=fast_compile)")
            setattr(self, name.strip(), value.strip())

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._DEFAULTS:
            raise ArgumentError(f"tensorir has no setting {name!r}; settings: {', '.join(sorted(self._DEFAULTS))}")
        if name == "optimizer":
            from .passes import PIPELINES

            if value not in PIPELINES:
                raise ArgumentError(f"optimizer must be one of {', '.join(PIPELINES)}, found {value!r}")
        if name == "floatX" and value not in ("float32", "float64"):
            raise ArgumentError(f"floatX must be float32 or float64, found {value!r}")
        if name == "device":
            from .device import check_name

            value = check_name(value)
        if name == "mode":
            from .modes import MODES

            if value not in MODES:
                raise ArgumentError(f"mode must be one of {', '.join(MODES)}, found {value!r}")
        if isinstance(self._DEFAULTS[name], bool):
            value = _boolean(name, value)
        elif isinstance(self._DEFAULTS[name], int):
            value = _count(name, value, minimum=1 if name == "threads" else 0)
        elif name == "compiledir":
            value = os.path.abspath(os.path.expanduser(str(value)))
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return "Config(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in self._DEFAULTS) + ")"


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ArgumentError(f"{name} must be True or False, found {value!r} (in TENSORIR_FLAGS: {name}=False)")


def _count(name: str, value: Any, minimum: int) -> int:
    try:
        number = int(str(value).strip()) if not isinstance(value, int) or isinstance(value, bool) else value
    except ValueError:
        number = None
    if isinstance(value, bool) or number is None or number < minimum:
        raise ArgumentError(f"{name} must be an integer >= {minimum}, found {value!r} (e.g. {name}=2)")
    return number


config = Config(os.environ.get("TENSORIR_FLAGS", ""))
