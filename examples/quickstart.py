"""A first tensorir program: a jitted NumPy-style function, run and inspected.

Run: python examples/quickstart.py
"""

import time

import numpy as np

import tensorir as ti


@ti.jit
def fused(a, b):
    return ti.exp(a + b) * b - ti.tanh(a)


def main() -> None:
    rng = np.random.default_rng(0)
    for n in (1_000, 100_000, 1_000_000):  # one compile serves every size
        a = rng.standard_normal(n).astype(np.float32)
        b = rng.standard_normal(n).astype(np.float32)
        start = time.perf_counter()
        out = fused(a, b)
        elapsed = time.perf_counter() - start
        expected = np.exp(a.astype(np.float64) + b) * b - np.tanh(a.astype(np.float64))
        err = np.max(np.abs(out - expected) / (1 + np.abs(expected)))
        print(f"n={n:>9,}: {elapsed * 1e3:8.3f} ms, max relative error {err:.2e}")
    print(f"compiled {fused.compile_count} time(s)")
    print("\nThe fused loop, after bufferization:")
    print(fused.lower(a, b).as_text("bufferized"))


if __name__ == "__main__":
    main()
