"""What every benchmark row shares: the optional systems, interleaved timing,
checking against a float64 reference, and the row record ``run.py`` prints.

Systems are the columns of the table: ``tensorir`` and ``numpy`` always,
``pytensor``, ``jax`` and ``torch`` when ``import`` succeeds. A row builds
one kernel per system; an optional system that fails to build or gives a
wrong answer loses its cell (with a note saying why) instead of stopping the
run, while a failure of tensorir or NumPy stops it.
"""

from __future__ import annotations

import importlib
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

# Without a system BLAS, PyTensor warns once and runs Dot22 through NumPy;
# pytensor_note() reports that instead.
warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")

OPTIONAL = ("pytensor", "jax", "torch")
SYSTEMS = ("tensorir", "numpy", *OPTIONAL)

Kernel = tuple[Callable[..., Any], tuple]  # a function and the arguments one call gets

# Every pytensor.function compiled by the rows, for the closing note on how
# PyTensor ran them (C or Python per op).
PYTENSOR_FUNCTIONS: list[Any] = []
# Lines printed under the table: skipped cells and why.
NOTES: list[str] = []

_MODULES: dict[str, Any] = {}


def optional(name: str) -> Any | None:
    """The module ``name`` (``jax``, ``pytensor``, ``torch``), or ``None`` when it does not import."""
    if name not in _MODULES:
        try:
            _MODULES[name] = importlib.import_module(name)
        except Exception:  # noqa: BLE001 - an optional column; ImportError or a broken install
            _MODULES[name] = None
    return _MODULES[name]


def installed() -> list[str]:
    """The optional systems that import here, in column order."""
    return [name for name in OPTIONAL if optional(name) is not None]


def to_numpy(value: Any) -> np.ndarray:
    """A NumPy copy of a result of any system (a torch tensor with a grad included)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


# ---------------------------------------------------------------------------
# Timing


SETTLE = 0.15
"""Seconds of idling before each system's turn. The systems share one
process, and the worker threads a library leaves behind keep spinning for a
while after its call (OpenBLAS waits about 2**28 cycles, 0.1 s here, before
they sleep): without a pause they would take a core from whichever system
runs next, as they would not if each system had its own process."""


def interleaved(kernels: dict[str, Kernel], rounds: int, number: int, budget: float = 1.5) -> dict[str, float]:
    """Seconds per call of each kernel: the minimum over ``rounds`` of the mean of
    ``number`` calls in a row, after one warm-up call each.

    Each round runs every system in turn (the order rotates from round to
    round), so a burst of load from elsewhere on the machine lands on all
    systems alike instead of on whichever ran during it; each turn starts
    after :data:`SETTLE` seconds of idling. A system that has spent
    ``budget`` seconds in its rounds stops after its third one, so a system
    50x slower than the rest does not set the length of the run.
    """
    for fn, args in kernels.values():
        fn(*args)
    names = list(kernels)
    best = dict.fromkeys(names, math.inf)
    spent = dict.fromkeys(names, 0.0)
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            if r >= 3 and spent[name] > budget:
                continue
            fn, args = kernels[name]
            if len(names) > 1:
                time.sleep(SETTLE)
            start = time.perf_counter()
            for _ in range(number):
                fn(*args)
            took = time.perf_counter() - start
            spent[name] += took
            best[name] = min(best[name], took / number)
    return best


_START = time.perf_counter()


def progress(what: str) -> None:
    """``[  12 s] what`` on stderr: where a long run has got to."""
    print(f"[{time.perf_counter() - _START:5.0f} s] {what}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Checking


def check(name: str, got: Any, want: np.ndarray, rtol: float, atol: float = 0.0, what: str = "") -> None:
    """Raise AssertionError unless ``got`` matches the float64 reference ``want``:
    ``|got - want| <= atol * max|want| + rtol * |want|`` elementwise."""
    scale = float(np.max(np.abs(want))) if np.size(want) else 1.0
    np.testing.assert_allclose(to_numpy(got).astype(np.float64), want, rtol=rtol, atol=atol * scale,
                               err_msg=f"{name}: {what or 'result'} differs from the float64 reference")


def build_checked(row: str, builders: dict[str, Callable[[], Kernel]],
                  verify: Callable[[str, Any], None]) -> dict[str, Kernel]:
    """Build one kernel per system and check one call of each with ``verify(name, result)``.

    ``builders`` maps a system to a function returning its ``(fn, args)``.
    tensorir and NumPy must build and pass; an optional system that raises
    (or fails the check) is left out with a line in ``NOTES``.
    """
    kernels = {}
    for name, build in builders.items():
        try:
            fn, args = build()
            verify(name, fn(*args))
        except Exception as err:  # noqa: BLE001 - optional systems may lack an op or disagree
            if name not in OPTIONAL:
                raise
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            NOTES.append(f"{name}: {row}: left out ({type(err).__name__}: {first[:160]})")
            continue
        kernels[name] = (fn, args)
    return kernels


# ---------------------------------------------------------------------------
# Rows


@dataclass
class Goal:
    """A target for tensorir's figure: at most ``seconds`` per call, or at least ``gflops``."""

    seconds: float | None = None
    gflops: float | None = None

    def text(self, unit: str) -> str:
        if self.gflops is not None:
            return f">= {self.gflops:g} GFLOP/s"
        assert self.seconds is not None
        return f"<= {self.seconds * UNITS[unit]:g} {unit}"

    def met(self, seconds: float, flops: float | None) -> bool:
        if self.gflops is not None:
            return flops is not None and flops / seconds / 1e9 >= self.gflops
        assert self.seconds is not None
        return seconds <= self.seconds


UNITS = {"s": 1.0, "ms": 1e3, "us": 1e6}


@dataclass
class Row:
    """One line of the table.

    ``times``: seconds per call per system (tensorir's is the one the goal
    and the limit fraction are about). ``flops``: floating-point operations
    of one call, for GFLOP/s and the fraction of the FMA peak; ``bytes``: the
    least memory traffic of one call (every input read once, every output
    written once), for the fraction of the triad bandwidth. A row with both
    is judged by whichever limit is nearer.
    """

    label: str
    times: dict[str, float]
    goal: Goal | None = None
    unit: str = "ms"
    flops: float | None = None
    bytes: float | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def limit_fraction(self, limits: dict[str, float]) -> str:
        """``"63% bw"`` or ``"41% fma"``: tensorir's share of the machine limit of this row."""
        t = self.times.get("tensorir")
        if t is None:
            return "-"
        parts = []
        if self.bytes and limits.get("triad_GBs"):
            parts.append((self.bytes / t / 1e9 / limits["triad_GBs"], "bw"))
        if self.flops and limits.get("fma_GFLOPs"):
            parts.append((self.flops / t / 1e9 / limits["fma_GFLOPs"], "fma"))
        if not parts:
            return "-"
        share, which = max(parts)
        return f"{100 * share:.0f}% {which}"


def pytensor_note() -> str | None:
    """Which mode and linker PyTensor ran with, and which ops of the functions
    it compiled here ran in Python rather than as compiled C; ``None`` when
    PyTensor compiled nothing (not installed)."""
    if not PYTENSOR_FUNCTIONS:
        return None
    pytensor = importlib.import_module("pytensor")
    python, vms = set(), set()
    for f in PYTENSOR_FUNCTIONS:
        vms.add(type(f.vm).__name__)
        nodes = f.maker.fgraph.toposort()
        python |= {str(n.op) for n, t in zip(nodes, f.vm.thunks) if not hasattr(t, "cthunk")}
    cfg = pytensor.config
    note = (f"pytensor {pytensor.__version__}: its default mode ({cfg.mode!r}, linker {cfg.linker!r} -> "
            f"{'/'.join(sorted(vms))}), C compiler {cfg.cxx or 'none: Python only'}")
    if python:
        blas = "" if cfg.blas__ldflags else " (no BLAS library linked: these call NumPy)"
        note += f"; ops in Python: {', '.join(sorted(python))}{blas}"
    return note
