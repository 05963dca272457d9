"""Peak memory of one call: what buffer reuse (``ti.config.inplace``) saves.

Usage::

    python benchmarks/memory.py            # full sizes
    python benchmarks/memory.py --quick    # small sizes

Each measurement runs in a fresh Python process: it builds the inputs,
compiles and calls the function once (warm-up), resets the process's peak
resident size (``/proc/self/clear_refs``), calls it again and reports the
peak minus the resident size before the call: the memory one call needs on
top of its inputs, its output included. The processes run with
``MALLOC_MMAP_THRESHOLD_=65536`` so every large buffer is mapped when
allocated and unmapped when freed, and the resident size follows what is
live. Linux only. JAX (XLA) keeps the memory of its first call in its own
pool, so its figure is what a repeated call adds to that pool, not what the
call needs.

Workloads (float32):

* ``chain``: ``h = tanh(h @ w)`` four times, square matrices;
* ``mlp training step``: one SGD step of the MLP of ``mlp_rows.py``
  (784-512-512-10, ReLU, softmax cross-entropy, parameters updated in place
  where the system allows), batch 256.

``--quick`` measures small sizes on tensorir (with and without reuse) and
NumPy only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MIB = 1024 * 1024

_CHILD = r"""
import json, sys
import numpy as np

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(key)

workload, backend, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(0)

if workload == "chain":
    args = [rng.standard_normal((n, n), dtype=np.float32), (rng.standard_normal((n, n)) / n ** 0.5).astype(np.float32)]

    def body(np_, x, w):
        h = x
        for _ in range(4):
            h = np_.tanh(h @ w)
        return h
else:
    sys.path.insert(0, sys.argv[4])
    import mlp_rows
    params, x, y = mlp_rows.mlp_data((n, 784, 512, 512, 10))

if backend.startswith("tensorir"):
    import tensorir as ti
    ti.config.inplace = backend == "tensorir"
if workload != "chain":
    fn, args, _ = mlp_rows.TRAINERS[backend.split("-")[0]](params, x, y)
elif backend.startswith("tensorir"):
    fn = ti.jit(lambda x, w: body(ti, x, w))
elif backend == "numpy":
    fn = lambda x, w: body(np, x, w)
elif backend == "jax":
    import jax, jax.numpy as jnp
    jitted = jax.jit(lambda x, w: body(jnp, x, w))
    fn = lambda x, w: jax.block_until_ready(jitted(x, w))
    args = jax.device_put(args)

def call():
    return fn(*args)

out = call()
del out
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = status("VmRSS")
out = call()
peak = status("VmHWM")
print(json.dumps({"peak": peak - before}))
"""


def peak_bytes(workload: str, backend: str, n: int) -> int:
    """Bytes one call of ``workload`` on ``backend`` needs beyond its inputs."""
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, workload, backend, str(n), HERE],
        capture_output=True, text=True, env=env, timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{workload} on {backend} failed:\n{proc.stderr}")
    return int(json.loads(proc.stdout.strip().splitlines()[-1])["peak"])


def _backends(quick: bool) -> list[str]:
    found = ["tensorir", "tensorir-no-inplace", "numpy"]
    if quick:
        return found
    try:
        import jax  # noqa: F401
    except ImportError:
        return found
    return found + ["jax"]


def rows(quick: bool) -> list[str]:
    sizes = {"chain": 256 if quick else 2048, "mlp training step": 64 if quick else 256}
    lines = []
    for workload, n in sizes.items():
        label = f"chain 4 x tanh(h @ w), {n}x{n}" if workload == "chain" else f"mlp training step, batch {n}"
        cells = []
        for backend in _backends(quick):
            mib = peak_bytes("chain" if workload == "chain" else "mlp", backend, n) / MIB
            cells.append(f"{backend} {mib:.1f}")
        lines.append(f"peak memory (MiB) {label}: " + ", ".join(cells))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    for line in rows(parser.parse_args().quick):
        print(line)


if __name__ == "__main__":
    main()
