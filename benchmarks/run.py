"""Side-by-side timings of tensorir against NumPy (and PyTensor, JAX when installed).

Usage::

    python benchmarks/run.py            # full sizes
    python benchmarks/run.py --quick    # tiny sizes: a smoke run

Every kernel is run once to warm up (compile), then timed ``--repeat`` times;
the minimum is kept. A ratio is ``NumPy time / other time``: above 1 means
faster than NumPy. Rows:

* ``fused``: ``exp(a + b) * b - tanh(a)`` over float32 vectors;
* ``row_sum``: ``x.sum(axis=1)`` over a float32 square matrix;
* ``matmul``: float32 square matrix product (also GFLOP/s);
* ``mlp value_and_grad`` / ``mlp forward only``: a tanh MLP's softmax
  cross-entropy (784-512-512-10, batch 256) and its gradient by
  ``ti.value_and_grad``, against backpropagation written in NumPy
  (``mlp_rows.py``); then the autodiff cost, ``value_and_grad / forward``,
  per backend (reverse mode should cost about 3x the forward pass);
* ``scan rnn value_and_grad`` / ``scan rnn forward only``: 100 steps of
  ``h = tanh(h @ W + x_t @ U)`` (hidden 256, input 256, batch 32), the sum
  of every state and its gradient with respect to ``W`` and ``U``, by
  ``ti.scan``, ``jax.lax.scan`` and ``pytensor.scan`` against a NumPy loop
  and backpropagation through time written in NumPy (``scan_rows.py``);
  then each backend's time over tensorir's (``> 1``: tensorir is faster);
* ``compile``: seconds from the first call of a fresh ``jit`` to its result;
* ``overhead``: microseconds per call on a 16-element input;
* ``peak memory``: MiB one call needs beyond its inputs, with and without
  buffer reuse (``memory.py``; Linux).

The PyTensor and JAX columns appear when those are installed
(``pip install -e ".[bench]"``). JAX is given arrays already on its device;
PyTensor runs in its default mode, and a closing line says which linker it
used and which nodes, if any, ran in Python rather than compiled C.

Uses only the public API (``import tensorir as ti``) and NumPy.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import warnings
from typing import Any, Callable

import numpy as np

import tensorir as ti
from memory import rows as memory_rows
from mlp_rows import PYTENSOR_FUNCTIONS, autodiff_cost_line, mlp_rows
from scan_rows import scan_rows, speedup_line

# Without a system BLAS, PyTensor warns once and runs Dot22 through NumPy;
# pytensor_note() reports that instead.
warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")

Kernel = Callable[..., Any]
W = 52  # width of the benchmark column


def best_time(fn: Kernel, args: tuple, repeat: int, number: int = 1) -> float:
    """Minimum over ``repeat`` runs of the mean time of ``number`` calls (after one warm-up)."""
    fn(*args)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn(*args)
        best = min(best, (time.perf_counter() - start) / number)
    return best


def fused(m: Any) -> Kernel:
    return lambda a, b: m.exp(a + b) * b - m.tanh(a)


def row_sum(m: Any) -> Kernel:
    return lambda x: m.sum(x, axis=1)


def matmul(m: Any) -> Kernel:
    return lambda a, b: m.matmul(a, b)


def _jax_backend() -> Callable[[Callable[[Any], Kernel], tuple], tuple[Kernel, tuple]] | None:
    try:
        jax = importlib.import_module("jax")
        jnp = importlib.import_module("jax.numpy")
    except Exception:  # noqa: BLE001 - an optional column
        return None

    def build(make: Callable[[Any], Kernel], args: tuple) -> tuple[Kernel, tuple]:
        f = jax.jit(make(jnp))
        return (lambda *a: f(*a).block_until_ready()), tuple(jax.device_put(a) for a in args)

    return build


def _pytensor_backend() -> Callable[[Callable[[Any], Kernel], tuple], tuple[Kernel, tuple]] | None:
    try:
        pytensor = importlib.import_module("pytensor")
        pt = importlib.import_module("pytensor.tensor")
    except Exception:  # noqa: BLE001 - an optional column
        return None

    def build(make: Callable[[Any], Kernel], args: tuple) -> tuple[Kernel, tuple]:
        inputs = [pt.tensor(dtype=a.dtype.name, shape=(None,) * a.ndim) for a in args]
        f = pytensor.function(inputs, make(pt)(*inputs))
        PYTENSOR_FUNCTIONS.append(f)
        return f, args

    return build


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


def throughput_rows(quick: bool, repeat: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    n_vec = 10_000 if quick else 10_000_000
    n_mat = 64 if quick else 4096
    n_mm = 32 if quick else 1024
    a = rng.standard_normal(n_vec).astype(np.float32)
    b = rng.standard_normal(n_vec).astype(np.float32)
    x = rng.standard_normal((n_mat, n_mat)).astype(np.float32)
    p = rng.standard_normal((n_mm, n_mm)).astype(np.float32)
    q = rng.standard_normal((n_mm, n_mm)).astype(np.float32)
    cases = [
        (f"fused exp(a+b)*b-tanh(a) [{n_vec:.0e} f32]", fused, (a, b), None),
        (f"row_sum sum(x, axis=1) [{n_mat}x{n_mat} f32]", row_sum, (x,), None),
        (f"matmul [{n_mm}x{n_mm} f32]", matmul, (p, q), 2.0 * n_mm**3),
    ]
    others = {"jax": _jax_backend(), "pytensor": _pytensor_backend()}
    rows = []
    for label, make, args, flops in cases:
        t_np = best_time(make(np), args, repeat)
        tir = ti.jit(make(ti))
        expected = make(np)(*args)
        got = tir(*args)
        np.testing.assert_allclose(got, expected, rtol=2e-3, atol=2e-3 * max(1.0, float(np.abs(expected).max())))
        t_ti = best_time(tir, args, repeat)
        row: dict[str, Any] = {"label": label, "numpy": t_np, "tensorir": t_ti, "flops": flops}
        for name, build in others.items():
            if build is not None:
                kernel, own_args = build(make, args)
                np.testing.assert_allclose(np.asarray(kernel(*own_args)), expected, rtol=2e-3,
                                           atol=2e-3 * max(1.0, float(np.abs(expected).max())),
                                           err_msg=name)
                row[name] = best_time(kernel, own_args, repeat)
        rows.append(row)
    return rows


def compile_latency() -> float:
    """Seconds from the first call of a fresh jit of a small function to its result."""
    f = ti.jit(lambda x, y: ti.tanh(x * y + 1.0).sum())
    x = np.ones(8, np.float32)
    start = time.perf_counter()
    f(x, x)
    return time.perf_counter() - start


def call_overhead(repeat: int, number: int) -> float:
    """Microseconds per call of a compiled function on a 16-element input."""
    f = ti.jit(lambda x: x + 1.0)
    x = np.ones(16, np.float32)
    return best_time(f, (x,), repeat, number) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few repeats: a smoke run")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per kernel (min is kept)")
    opts = parser.parse_args(argv)
    repeat = opts.repeat or (2 if opts.quick else 7)
    load, cores = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0, os.cpu_count() or 1

    rows = throughput_rows(opts.quick, repeat)
    autodiff, cost = mlp_rows(opts.quick, repeat, best_time)
    rows += autodiff
    scan = scan_rows(opts.quick, repeat, best_time)
    rows += scan
    others = [k for k in ("pytensor", "jax") if any(k in r for r in rows)]
    missing = [k for k in ("pytensor", "jax") if k not in others]
    header = f"{'benchmark':{W}s} {'numpy ms':>10s} {'tensorir ms':>12s} {'ratio':>7s}"
    header += "".join(f" {k + ' ratio':>15s}" for k in others)
    print(header)
    print("-" * len(header))
    for r in rows:
        line = f"{r['label']:{W}s} {r['numpy'] * 1e3:10.3f} {r['tensorir'] * 1e3:12.3f} {r['numpy'] / r['tensorir']:7.2f}"
        line += "".join(f" {r['numpy'] / r[k]:15.2f}" if k in r else f" {'-':>15s}" for k in others)
        if r["flops"]:
            line += f"   ({r['flops'] / r['tensorir'] / 1e9:.1f} GFLOP/s tensorir, {r['flops'] / r['numpy'] / 1e9:.1f} numpy)"
        print(line)
    print(f"{'compile latency (first call of a fresh jit)':{W}s} {compile_latency():10.3f} s")
    n_calls = 200 if opts.quick else 20_000
    print(f"{'per-call overhead (16 elements)':{W}s} {call_overhead(repeat, n_calls):10.2f} us")
    print(autodiff_cost_line(cost))
    print(speedup_line(scan))
    if sys.platform.startswith("linux"):
        for line in memory_rows(opts.quick):
            print(line)
    note = pytensor_note()
    if note:
        print(note)
    if missing:
        print(f"(not installed, columns skipped: {', '.join(missing)})")
    if load > 0.5 * cores:
        # Multithreaded BLAS on oversubscribed cores waits for descheduled
        # threads: small gemms then take tens of milliseconds.
        print(f"(machine busy before the run: load average {load:.1f} on {cores} cores; "
              "timings are unreliable, BLAS-heavy rows the most)")
    print("ratio = NumPy time / time; > 1 is faster than NumPy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
