"""The GPU figures: tensorir with ``device="cuda"`` against its own CPU code
and the card's limits, in one run.

Usage::

    python benchmarks/gpu.py            # full sizes
    python benchmarks/gpu.py --quick    # small sizes: a smoke run

Rows, all float32, each result checked against float64 NumPy first:

* fused ``exp(a + b) * b - tanh(a)`` over 1e8 elements (1.2 GB moved): GB/s
  against the card's DRAM bandwidth (from its memory clock and bus width);
* a 4096x4096 matmul: TFLOP/s;
* one SGD step of the 784-512-512-10 ReLU MLP of ``mlp_rows.py`` (batch
  256, shared variables on the device), against the same step on the CPU.

GPU times are the minimum over rounds of the mean of a few calls whose
results stay on the device (``keep_on_device=True``), closed by
``ti.synchronize()``. Without a usable GPU the script says why and exits 0.
Uses only the public API of tensorir.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Callable

import numpy as np

import tensorir as ti


def best(fn: Callable[[], Any], rounds: int, number: int, sync: Callable[[], None]) -> float:
    """Seconds per call: the minimum over ``rounds`` of the mean of ``number`` calls, after one warm-up."""
    fn()
    sync()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        sync()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def fused_row(n: int, rounds: int, peak: float) -> str:
    rng = np.random.default_rng(0)
    a = rng.standard_normal(n).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    x, y = ti.vector("a", "float32"), ti.vector("b", "float32")
    f = ti.function([x, y], ti.exp(x + y) * y - ti.tanh(x), device="cuda", keep_on_device=True)
    da, db = ti.to_device(a), ti.to_device(b)
    got = np.asarray(f(da, db))
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    np.testing.assert_allclose(got, np.exp(a64 + b64) * b64 - np.tanh(a64), rtol=1e-5, atol=1e-5)
    t = best(lambda: f(da, db), rounds, 10, ti.synchronize)
    rate = 12 * n / t
    return f"fused exp(a+b)*b - tanh(a), {n:.0e} float32: {t * 1e3:.3f} ms, {rate / 1e9:.0f} GB/s " \
           f"({100 * rate / peak:.0f}% of {peak / 1e9:.0f} GB/s)"


def matmul_row(n: int, rounds: int) -> str:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    x, y = ti.matrix("a", "float32"), ti.matrix("b", "float32")
    f = ti.function([x, y], x @ y, device="cuda", keep_on_device=True)
    da, db = ti.to_device(a), ti.to_device(b)
    got = np.asarray(f(da, db))
    np.testing.assert_allclose(got, a.astype(np.float64) @ b.astype(np.float64), rtol=1e-3, atol=1e-3 * np.sqrt(n))
    t = best(lambda: f(da, db), rounds, 3, ti.synchronize)
    return f"matmul {n}x{n}: {t * 1e3:.3f} ms, {2 * n ** 3 / t / 1e12:.2f} TFLOP/s"


def mlp_row(sizes: tuple[int, ...], rounds: int) -> str:
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    import mlp_rows

    params, x, y = mlp_rows.mlp_data(sizes)
    times = {}
    for device in ("cpu", "cuda"):
        before = ti.config.device
        ti.config.device = device
        try:
            step, args, _ = mlp_rows.TRAINERS["tensorir"]({k: v.copy() for k, v in params.items()}, x, y)
        finally:
            ti.config.device = before
        loss = float(np.asarray(step(*args)))
        assert np.isfinite(loss)
        times[device] = best(lambda: step(*args), rounds, 10, ti.synchronize if device == "cuda" else (lambda: None))
    return f"MLP training step {'-'.join(map(str, sizes[1:]))}, batch {sizes[0]}: GPU {times['cuda'] * 1e3:.3f} ms, " \
           f"CPU {times['cpu'] * 1e3:.3f} ms ({times['cpu'] / times['cuda']:.1f}x)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, figures meaningless")
    args = parser.parse_args(argv)
    try:
        info = ti.gpu_info()
    except ti.GpuUnavailableError as err:
        print(f"no GPU benchmark: {err}")
        return 0
    print(f"{info['name']} ({info['chip']}, {info['total_memory'] / 2**30:.0f} GiB, "
          f"{info['peak_bandwidth'] / 1e9:.0f} GB/s)")
    rounds = 2 if args.quick else 5
    print(fused_row(10**5 if args.quick else 10**8, rounds, info["peak_bandwidth"]))
    print(matmul_row(256 if args.quick else 4096, rounds))
    print(mlp_row((16, 64, 32, 32, 10) if args.quick else (256, 784, 512, 512, 10), rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
