"""The benchmark script runs end to end on tiny sizes and prints every row,
the autodiff rows (a small MLP, forward and value_and_grad) and the scan
rows (a small RNN) included."""

from __future__ import annotations

import os
import re
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
                "mlp value_and_grad 32-16-16-10, batch 8, f32",
                "mlp forward only 32-16-16-10, batch 8, f32",
                "scan rnn value_and_grad 10 steps 8-8 batch 4", "scan rnn forward only 10 steps 8-8 batch 4",
                "compile latency", "per-call overhead", "peak memory (MiB) chain", "ratio = NumPy time / time"):
        assert row in out, f"missing row {row!r} in:\n{out}"
    # each mlp and scan row has a NumPy time, a tensorir time and their ratio
    # (printed to two decimals: 0.00 when tensorir is over 200x slower)
    for line in out.splitlines():
        if line.startswith(("mlp ", "scan rnn ")) and not line.startswith("scan rnn,"):
            numbers = line.split("f32" if line.startswith("mlp ") else "batch 4")[1].split()
            assert len(numbers) >= 3 and all(float(v) > 0 for v in numbers[:2]) and float(numbers[2]) >= 0, line
    speedup = re.search(r"^scan rnn, other time / tensorir time: value_and_grad numpy ([0-9.]+)x.*; "
                        r"forward numpy ([0-9.]+)x", out, re.M)
    assert speedup is not None, f"missing the scan speed-up line in:\n{out}"
    assert float(speedup.group(1)) > 0 and float(speedup.group(2)) > 0  # three significant digits
    cost = re.search(r"^autodiff cost \(tensorir\): value_and_grad / forward = ([0-9.]+)x", out, re.M)
    assert cost is not None, f"missing the autodiff cost line in:\n{out}"
    assert float(cost.group(1)) > 0
