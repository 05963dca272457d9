"""What every benchmark row shares: the optional systems, interleaved timing,
checking against a float64 reference, and the row record ``run.py`` prints.

Systems are the columns of the table: ``tensorir`` and ``numpy`` always,
``pytensor``, ``jax`` and ``torch`` when ``import`` succeeds. Each system
runs in a worker process of its own (``workers.py``), which imports only
that system's library, builds the system's kernel of each row, checks one
call against the float64 reference and then runs the timed calls it is
asked for. An optional system that fails to build or gives a wrong answer
loses its cell (with a note saying why) instead of stopping the run, while
a failure of tensorir or NumPy stops it.

A row module (``array_rows.py``, ``mlp_rows.py``, ``scan_rows.py``) gives
the parent and the workers three functions: ``specs(quick, rounds)``, its
rows as picklable :class:`Spec` records; ``prepare(key, quick)``, run once
in the parent, the row's float32 inputs and float64 reference as a flat
dict of arrays (every system gets these same arrays); and ``kernel(key,
quick, system, data)``, run in the system's worker, the system's ``(fn,
args, verify)``.
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
Verify = Callable[[str, Any], None]  # verify(system, result) raises AssertionError on a wrong result
Built = tuple[Callable[..., Any], tuple, Verify]  # what a row module's kernel() returns

# In a worker: every pytensor.function compiled by the rows, until the worker
# reports how PyTensor ran them (pytensor_facts).
PYTENSOR_FUNCTIONS: list[Any] = []
# In the parent: what the PyTensor worker reported, for the closing note.
PYTENSOR_FACTS: dict[str, Any] = {}
# Lines printed under the table: skipped cells and why.
NOTES: list[str] = []

_MODULES: dict[str, Any] = {}
# The optional systems the worker processes could import (set by workers.Workers).
_INSTALLED: list[str] | None = None


def optional(name: str) -> Any | None:
    """The module ``name`` (``jax``, ``pytensor``, ``torch``), or ``None`` when it does not import."""
    if name not in _MODULES:
        try:
            _MODULES[name] = importlib.import_module(name)
        except Exception:  # noqa: BLE001 - an optional column; ImportError or a broken install
            _MODULES[name] = None
    return _MODULES[name]


def installed() -> list[str]:
    """The optional systems that import, in column order: those whose worker
    process could import them once ``workers.Workers`` has started, else
    those that import here."""
    if _INSTALLED is not None:
        return list(_INSTALLED)
    return [name for name in OPTIONAL if optional(name) is not None]


def to_numpy(value: Any) -> np.ndarray:
    """A NumPy copy of a result of any system (a torch tensor with a grad included)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


# ---------------------------------------------------------------------------
# Timing


SETTLE = 0.15
"""Seconds of idling before each system's turn. Each system has its own
process, but the processes share the cores: the worker threads a library
leaves behind keep spinning for a while after its call (OpenBLAS waits
about 2**28 cycles, 0.1 s here, before they sleep), and without a pause
they would take a core from whichever system's process runs next."""

Turn = Callable[[int], float]  # turn(number): seconds taken by number calls in a row


def interleaved(turns: dict[str, Turn], rounds: int, number: int, budget: float = 1.5) -> dict[str, float]:
    """Seconds per call of each system: the minimum over ``rounds`` of the mean
    of ``number`` calls in a row, ``turns[name](number)`` timing those calls
    (in the system's worker process; its warm-up call is part of building).

    Each round runs every system in turn (the order rotates from round to
    round), so a burst of load from elsewhere on the machine lands on all
    systems alike instead of on whichever ran during it; each turn starts
    after :data:`SETTLE` seconds of idling. A system that has spent
    ``budget`` seconds in its rounds stops after its third one, so a system
    50x slower than the rest does not set the length of the run.
    """
    names = list(turns)
    best = dict.fromkeys(names, math.inf)
    spent = dict.fromkeys(names, 0.0)
    for r in range(rounds if names else 0):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            if r >= 3 and spent[name] > budget:
                continue
            if len(names) > 1:
                time.sleep(SETTLE)
            took = turns[name](number)
            spent[name] += took
            best[name] = min(best[name], took / number)
    return best


WARM = 0.03
"""Seconds of untimed calls that open each turn (at least one call)."""


def calls(fn: Callable[..., Any], args: tuple) -> Turn:
    """The turn of a kernel in this process: untimed calls for :data:`WARM`
    seconds, then ``number`` calls of ``fn(*args)``, timed. The untimed calls
    make the figure that of calls in a loop rather than of the first calls
    after the pause: on the 2-core virtual machine, after 0.15 s of idling a
    two-threaded logsumexp over 4096x4096 took 5.8, 5.7, 5.2, 4.7, 4.4 and
    4.0 ms in its first six calls and 3.4 ms in a loop (one thread: 10.8 ms
    against 9.8 ms), the idle core being slow to come back."""

    def turn(number: int) -> float:
        start = time.perf_counter()
        fn(*args)
        while time.perf_counter() - start < WARM:
            fn(*args)
        start = time.perf_counter()
        for _ in range(number):
            fn(*args)
        return time.perf_counter() - start

    return turn


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


def left_out(system: str, row: str, why: str) -> None:
    """Note that an optional ``system`` has no cell in ``row``, and ``why`` (one line)."""
    NOTES.append(f"{system}: {row}: left out ({why[:200]})")


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


@dataclass(frozen=True)
class Spec:
    """One timed row as picklable data: what a worker needs to rebuild its
    system's kernel (``module``, ``key``, ``quick``: ``module.kernel(key,
    quick, system, data)``) and how the parent times and labels it.

    ``systems``: the systems the row applies to (``None``: all installed).
    ``rounds`` and ``number``: see :func:`interleaved`.
    """

    module: str
    key: str
    quick: bool
    label: str
    rounds: int
    number: int = 1
    goal: Goal | None = None
    unit: str = "ms"
    flops: float | None = None
    bytes: float | None = None
    systems: tuple[str, ...] | None = None


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
    pids: dict[str, int] = field(default_factory=dict)  # the process that timed each system

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


def pytensor_facts() -> dict[str, Any] | None:
    """In a worker: how PyTensor ran the functions compiled since the last
    report (mode, linker, VMs, and which ops ran in Python rather than as
    compiled C), as picklable data; ``None`` when it compiled nothing. The
    functions are then let go."""
    if not PYTENSOR_FUNCTIONS:
        return None
    pytensor = importlib.import_module("pytensor")
    python, vms = set(), set()
    for f in PYTENSOR_FUNCTIONS:
        vms.add(type(f.vm).__name__)
        nodes = f.maker.fgraph.toposort()
        python |= {str(n.op) for n, t in zip(nodes, f.vm.thunks) if not hasattr(t, "cthunk")}
    PYTENSOR_FUNCTIONS.clear()
    cfg = pytensor.config
    return {"version": pytensor.__version__, "mode": cfg.mode, "linker": cfg.linker, "cxx": cfg.cxx,
            "blas": bool(cfg.blas__ldflags), "vms": vms, "python": python}


def add_pytensor_facts(facts: dict[str, Any]) -> None:
    """In the parent: merge one report of :func:`pytensor_facts` into ``PYTENSOR_FACTS``."""
    for key in ("vms", "python"):
        PYTENSOR_FACTS[key] = PYTENSOR_FACTS.get(key, set()) | facts[key]
    PYTENSOR_FACTS.update({k: v for k, v in facts.items() if k not in ("vms", "python")})


def pytensor_note() -> str | None:
    """Which mode and linker PyTensor ran with, and which ops of the functions
    it compiled ran in Python rather than as compiled C (as its worker
    reported); ``None`` when PyTensor compiled nothing (not installed)."""
    f = PYTENSOR_FACTS
    if not f:
        return None
    note = (f"pytensor {f['version']}: its default mode ({f['mode']!r}, linker {f['linker']!r} -> "
            f"{'/'.join(sorted(f['vms']))}), C compiler {f['cxx'] or 'none: Python only'}")
    if f["python"]:
        blas = "" if f["blas"] else " (no BLAS library linked: these call NumPy)"
        note += f"; ops in Python: {', '.join(sorted(f['python']))}{blas}"
    return note
