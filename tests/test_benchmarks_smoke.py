"""The benchmark script runs end to end on tiny sizes and prints every row."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_benchmark_quick_run_prints_every_row() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "run.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for row in ("fused exp(a+b)*b-tanh(a)", "row_sum sum(x, axis=1)", "matmul", "GFLOP/s",
                "compile latency", "per-call overhead", "ratio = NumPy time / time"):
        assert row in out, f"missing row {row!r} in:\n{out}"
