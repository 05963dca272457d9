"""Timings of tensorir against NumPy, PyTensor, JAX and PyTorch, each row judged
against a goal and against the machine's own limits, measured in the same run.

Usage::

    python benchmarks/run.py            # full sizes (about 3 minutes)
    python benchmarks/run.py --quick    # tiny sizes: a smoke run, figures meaningless
                                        # (first call and peak memory: tensorir and NumPy only)

First the machine limits (``limits.py``): memory bandwidth by a STREAM-like
triad in C on every core, first-touch write bandwidth (4 KiB pages and huge
pages), the float32 FMA peak on every core, and OpenBLAS sgemm. Then the
rows, all float32, every result of every system checked against a float64
NumPy reference before timing:

* ``array_rows.py``: ``exp(a+b)*b - tanh(a)`` on 1e7 elements; softmax and
  log_softmax over the rows of 4096x4096; logsumexp over its rows; a
  2048x2048 matmul; 1024 64x64 matmuls; the call overhead of ``x*2+1`` on 16
  elements through ``@ti.jit`` and ``ti.function``;
* ``mlp_rows.py``: one SGD training step of a 784-512-512-10 ReLU MLP
  (batch 256), parameters held by each system (tensorir and PyTensor:
  shared variables and function updates; JAX: a jitted step with donated
  parameters; PyTorch: autograd; NumPy: backpropagation by hand);
* ``scan_rows.py``: a 100-step RNN (batch 32, input 128, hidden 256), its
  loss and the gradient of both weight matrices (``ti.scan``,
  ``jax.lax.scan``, ``pytensor.scan``, a PyTorch loop, NumPy BPTT);
* ``first_call.py``: the first call of that training step in a fresh
  process, with an empty compilation cache and again from the disk cache;
* ``memory.py``: the peak memory of one call, with and without buffer reuse.

Each system runs in a worker process of its own (``workers.py``), which
imports only that system's library, builds and checks the system's kernel
of each row and times the calls it is asked for; this process only hands
out the turns. Each time is the minimum over rounds of the mean of a few
calls in a row, after untimed calls for 30 ms (``harness.calls``); the systems of a row take turns within each round
(``harness.interleaved``), so load from elsewhere lands on all of them
alike, while the other systems' workers wait idle. The table gives, per
row: tensorir's goal and whether it is met, tensorir's time and rate
(GFLOP/s or GB/s), that rate as a share of the machine limit (``bw``:
bytes moved / time over the triad bandwidth; ``fma``: GFLOP/s over the FMA
peak), and each other system's time with ``its time / tensorir's`` (above 1:
tensorir is faster). A system that is not installed has no column (PyTorch
needs ``import torch`` to work); one that fails a row loses that cell and a
note below the table says why.

Uses only the public API of tensorir (``import tensorir as ti``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import array_rows
import harness
import limits
import mlp_rows
import scan_rows
from first_call import first_call_rows
from harness import OPTIONAL, UNITS, Row, installed
from memory import rows as memory_rows
from workers import Workers


def _number(v: float) -> str:
    """Four significant digits without an exponent for the ranges the table shows."""
    return f"{v:.4g}" if 1e-3 <= abs(v) < 1e5 else f"{v:.3g}"


def rate(row: Row) -> str:
    """tensorir's rate on the row: GFLOP/s when the row counts flops, else GB/s."""
    t = row.times.get("tensorir")
    if t is None:
        return "-"
    if row.flops:
        return f"{row.flops / t / 1e9:.1f} GFLOP/s"
    if row.bytes:
        return f"{row.bytes / t / 1e9:.1f} GB/s"
    return "-"


def table(rows: list[Row], lim: dict[str, float]) -> list[str]:
    """The rows as fixed-width lines, a header first."""
    others = ["numpy", *[k for k in OPTIONAL if any(k in r.times for r in rows)]]
    width = max(len(r.label) for r in rows)
    header = (f"{'benchmark':{width}s}  {'goal':>16s}  {'tensorir':>11s} {'met':>3s}  {'rate':>15s} {'limit':>7s}"
              + "".join(f"  {k + ' (x slower)':>20s}" for k in others))
    lines = [header, "-" * len(header)]
    for r in rows:
        scale = UNITS[r.unit]
        t = r.times.get("tensorir")
        met = "-" if r.goal is None or t is None else ("yes" if r.goal.met(t, r.flops) else "NO")
        goal = r.goal.text(r.unit) if r.goal else "-"
        mine = f"{_number(t * scale)} {r.unit}" if t is not None else "-"
        line = f"{r.label:{width}s}  {goal:>16s}  {mine:>11s} {met:>3s}  {rate(r):>15s} {r.limit_fraction(lim):>7s}"
        for k in others:
            v = r.times.get(k)
            cell = "-" if v is None else f"{_number(v * scale)} {r.unit}" + (f" {v / t:6.2f}x" if t else "")
            line += f"  {cell:>20s}"
        lines.append(line)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few rounds: a smoke run")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per row (the minimum is kept)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory lines (one process each)")
    opts = parser.parse_args(argv)
    rounds = opts.rounds or (2 if opts.quick else 7)
    load, cores = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0, os.cpu_count() or 1
    start = time.perf_counter()

    lim = limits.measure(opts.quick)
    harness.progress("machine limits")
    for line in limits.lines(lim):
        print(line, flush=True)
    print()

    rows: list[Row] = []
    with Workers() as pool:
        for module in (array_rows, mlp_rows, scan_rows):
            rows += pool.rows(module, opts.quick, rounds)
    first, notes = first_call_rows(opts.quick)
    rows += first
    harness.NOTES.extend(notes)
    for line in table(rows, limits.compute_limit(lim)):
        print(line)
    print("(x slower) = that system's time / tensorir's time: above 1, tensorir is faster; "
          "limit = tensorir's rate as a share of the triad bandwidth (bw) or the FMA peak (fma)")

    if sys.platform.startswith("linux") and not opts.no_memory:
        for line in memory_rows(opts.quick):
            print(line)
        harness.progress("peak memory")
    for note in harness.NOTES:
        print(note)
    note = harness.pytensor_note()
    if note:
        print(note)
    missing = [k for k in OPTIONAL if k not in installed()]
    if missing:
        print(f"(not installed, columns skipped: {', '.join(missing)})")
    if load > 0.5 * cores:
        # Multithreaded BLAS on oversubscribed cores waits for descheduled
        # threads: small gemms then take tens of milliseconds.
        print(f"(machine busy before the run: load average {load:.1f} on {cores} cores; "
              "timings are unreliable, BLAS-heavy rows the most)")
    print(f"(whole run: {time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
