"""The machine's limits, measured at the start of every benchmark run, that the
rows are judged against.

* memory bandwidth: a STREAM-like triad ``a = b + s * c`` in C on every core
  (``limits.c``, compiled at run time with ``cc -O3 -march=native -fopenmp``
  into a temporary directory and run as a program), counted as STREAM does;
* first-touch write bandwidth: writing memory just mapped, with 4 KiB pages
  and after ``madvise(MADV_HUGEPAGE)``, against writing it again once
  mapped (what a fresh result array costs over a reused one);
* float32 FMA peak on every core: independent vector FMA chains in C;
* OpenBLAS ``sgemm`` through NumPy's matmul, in GFLOP/s.

Without a C compiler (none of ``$CC``, ``cc``, ``gcc``, ``clang``) the
bandwidth figures are NumPy estimates on one thread and say so, and there
is no FMA peak: the compute-bound rows are then judged against sgemm.

    python benchmarks/limits.py [--quick]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FLAGS = ["-O3", "-march=native", "-ffp-contract=fast"]


def _compiler() -> str | None:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _build(cc: str, out: str) -> tuple[bool, str]:
    """Compile limits.c to ``out``: ``(True, "")`` with OpenMP, ``(False, why)`` without."""
    src = os.path.join(HERE, "limits.c")
    first = subprocess.run([cc, *FLAGS, "-fopenmp", src, "-o", out], capture_output=True, text=True)
    if first.returncode == 0:
        return True, ""
    second = subprocess.run([cc, *FLAGS, src, "-o", out], capture_output=True, text=True)
    if second.returncode != 0:
        raise RuntimeError(f"{cc} could not compile {src}:\n{second.stderr}")
    return False, first.stderr.strip().splitlines()[-1] if first.stderr.strip() else "no OpenMP"


def _numpy_estimates(n: int, touch_bytes: int) -> dict[str, float]:
    """Bandwidths NumPy can show on one thread: ``a = b + c`` (3 arrays moved)
    and filling fresh and reused memory."""
    b, c = np.ones(n, np.float32), np.ones(n, np.float32)
    a = np.empty_like(b)
    best = min(_seconds(lambda: np.add(b, c, out=a)) for _ in range(5))
    fresh = min(_seconds(lambda: np.ones(touch_bytes, np.uint8)) for _ in range(3))
    buf = np.empty(touch_bytes, np.uint8)
    buf.fill(0)
    again = min(_seconds(lambda: buf.fill(1)) for _ in range(3))
    return {"triad_GBs": 12.0 * n / best / 1e9, "touch_4k_GBs": touch_bytes / fresh / 1e9,
            "rewrite_GBs": touch_bytes / again / 1e9}


def _seconds(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def sgemm_gflops(n: int, repeat: int) -> float:
    """NumPy's (OpenBLAS) float32 ``n x n`` matmul, best of ``repeat``."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    a @ b
    return 2.0 * n**3 / min(_seconds(lambda: a @ b) for _ in range(repeat)) / 1e9


def measure(quick: bool) -> dict[str, Any]:
    """Every limit, with ``how`` saying how each was measured."""
    n = (1 << 22) if quick else (1 << 26)  # floats per triad array: 16 MiB / 256 MiB
    touch = (64 << 20) if quick else (512 << 20)
    iters = 1_000_000 if quick else 10_000_000
    out: dict[str, Any] = {"thp": _thp()}
    cc = _compiler()
    if cc is None:
        out.update(_numpy_estimates(n, touch))
        out["how"] = "no C compiler found: NumPy estimates on one thread (a = b + c; np.ones), no FMA peak"
    else:
        with tempfile.TemporaryDirectory(prefix="tensorir-limits-") as tmp:
            exe = os.path.join(tmp, "limits")
            openmp, why = _build(cc, exe)
            proc = subprocess.run([exe, str(n), str(touch), str(iters)], capture_output=True, text=True, timeout=120)
            if proc.returncode != 0:
                raise RuntimeError(f"{exe} failed:\n{proc.stderr}")
            out.update(json.loads(proc.stdout))
        threads = f"{out['threads']} threads (OpenMP)" if openmp else f"1 thread (no OpenMP: {why})"
        out["how"] = f"C ({os.path.basename(cc)} {' '.join(FLAGS)}), {threads}, {out['lanes']} float lanes"
    out["sgemm_GFLOPs"] = sgemm_gflops(256 if quick else 2048, 3 if quick else 5)
    out["sizes"] = f"triad 3 x {4 * n >> 20} MiB, first touch {touch >> 20} MiB"
    return out


def _thp() -> str:
    """The kernel's transparent huge page policy (``[madvise]`` is the one in force), or ``unknown``."""
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            return f.read().strip()
    except OSError:
        return "unknown"


def lines(lim: dict[str, Any]) -> list[str]:
    """The limits as printed above the table."""
    out = [f"machine limits ({lim['how']}; {lim['sizes']}):"]
    triad = "triad (STREAM-like, all cores)" if "fma_GFLOPs" in lim else "NumPy estimate, one thread, a = b + c"
    out.append(f"  memory bandwidth     {lim['triad_GBs']:8.1f} GB/s   {triad}")
    touch = f"  first-touch writes   {lim['touch_4k_GBs']:8.1f} GB/s   fresh mmap, 4 KiB pages"
    if "touch_huge_GBs" in lim:
        touch += f"; {lim['touch_huge_GBs']:.1f} GB/s with MADV_HUGEPAGE (THP: {lim['thp']})"
    out.append(touch + f"; {lim['rewrite_GBs']:.1f} GB/s writing it again")
    if "fma_GFLOPs" in lim:
        out.append(f"  float32 FMA peak     {lim['fma_GFLOPs']:8.1f} GFLOP/s independent FMA chains, all cores")
    else:
        out.append("  float32 FMA peak            - (no C compiler; compute rows judged against sgemm)")
    sgemm = f"  OpenBLAS sgemm       {lim['sgemm_GFLOPs']:8.1f} GFLOP/s NumPy float32 matmul"
    if "fma_GFLOPs" in lim:
        sgemm += f" ({100 * lim['sgemm_GFLOPs'] / lim['fma_GFLOPs']:.0f}% of the FMA peak)"
    out.append(sgemm)
    return out


def compute_limit(lim: dict[str, Any]) -> dict[str, float]:
    """The two figures rows are divided by: ``triad_GBs`` and ``fma_GFLOPs`` (sgemm when no peak)."""
    return {"triad_GBs": lim["triad_GBs"], "fma_GFLOPs": lim.get("fma_GFLOPs", lim["sgemm_GFLOPs"])}


if __name__ == "__main__":
    for line in lines(measure("--quick" in sys.argv[1:])):
        print(line)
