"""The benchmark script runs end to end on tiny sizes and prints the machine
limits and every row with its goal, tensorir's time and NumPy's time (no
timing is asserted: the figures of a smoke run mean nothing); each system
is timed in a worker process of its own that imports no other system; the
pieces that turn times into verdicts compute what they say."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")

ROWS = (
    "fused exp(a+b)*b-tanh(a) [1e+04]",
    "softmax+log_softmax rows [64x64]",
    "logsumexp rows [64x64]",
    "matmul [64x64]",
    "batched matmul [16 x 16x16]",
    "call overhead x*2+1 [16], ti.jit",
    "call overhead x*2+1 [16], ti.function",
    "mlp training step 32-16-16-10 relu [batch 8]",
    "rnn 10 steps value_and_grad W,U [B=4 D=8 H=8]",
    "mlp step first call, cold (empty cache)",
    "mlp step first call, warm (disk cache)",
)
TIME = r"([0-9.]+(?:e[-+][0-9]+)?) (ms|us|s)"


@pytest.fixture(scope="module")
def quick_run() -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, os.path.join(BENCH, "run.py"), "--quick"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_quick_run_prints_the_machine_limits(quick_run: str) -> None:
    for name, unit in (("memory bandwidth", "GB/s"), ("first-touch writes", "GB/s"),
                       ("float32 FMA peak", "GFLOP/s"), ("OpenBLAS sgemm", "GFLOP/s")):
        m = re.search(rf"^  {name} +([0-9.]+|-) ", quick_run, re.M)
        assert m is not None, f"missing limit {name!r} in:\n{quick_run}"
        assert m.group(1) == "-" or float(m.group(1)) > 0, m.group(0)
        assert m.group(1) == "-" or unit in quick_run.splitlines()[quick_run[:m.start()].count("\n")]


def test_quick_run_prints_every_row_with_goal_verdict_and_times(quick_run: str) -> None:
    lines = {line.split("  ")[0].strip(): line for line in quick_run.splitlines()}
    for label in ROWS:
        assert label in lines, f"missing row {label!r} in:\n{quick_run}"
        rest = lines[label][len(label):]
        m = re.match(rf"\s+(<=|>=) [0-9.]+ (ms|us|s|GFLOP/s)\s+{TIME}\s+(yes|NO)\s", rest)
        assert m is not None, f"row without goal, tensorir time and verdict: {lines[label]!r}"
        assert float(m.group(3)) > 0
        # tensorir's rate and share of the limit (or -), then NumPy's cell: its time and
        # its time over tensorir's
        numpy = re.match(rf"\s+(?:[0-9.]+ (?:GB|GFLOP)/s|-)\s+(?:\d+% (?:bw|fma)|-)\s+{TIME}\s+([0-9.]+)x",
                         rest[m.end() - 1:])
        assert numpy is not None, f"row without a NumPy cell: {lines[label]!r}"
        assert float(numpy.group(1)) > 0 and float(numpy.group(3)) >= 0
    assert "(x slower) = that system's time / tensorir's time" in quick_run
    assert re.search(r"^peak memory \(MiB\) chain 4 x tanh\(h @ w\), 256x256: tensorir [0-9.]+", quick_run, re.M)
    assert re.search(r"^peak memory \(MiB\) mlp training step, batch 64: tensorir [0-9.]+", quick_run, re.M)


def _bench_modules(*names: str) -> list:
    sys.path.insert(0, BENCH)
    try:
        return [__import__(name) for name in names]
    finally:
        sys.path.remove(BENCH)


def test_goal_verdicts_and_limit_fractions() -> None:
    (harness,) = _bench_modules("harness")
    Goal, Row = harness.Goal, harness.Row
    assert Goal(seconds=5e-3).text("ms") == "<= 5 ms" and Goal(gflops=210).text("ms") == ">= 210 GFLOP/s"
    assert Goal(seconds=5e-3).met(4.9e-3, None) and not Goal(seconds=5e-3).met(5.1e-3, None)
    # 2 GFLOP in 10 ms is 200 GFLOP/s: short of 210
    assert not Goal(gflops=210).met(1e-2, 2e9) and Goal(gflops=190).met(1e-2, 2e9)
    lim = {"triad_GBs": 20.0, "fma_GFLOPs": 400.0}
    # 120 MB in 10 ms = 12 GB/s = 60% of 20 GB/s
    assert Row("r", {"tensorir": 1e-2}, bytes=120e6).limit_fraction(lim) == "60% bw"
    # both counted: the nearer limit wins (200 GFLOP/s = 50% fma, 1.2 GB/s = 6% bw)
    assert Row("r", {"tensorir": 1e-2}, flops=2e9, bytes=12e6).limit_fraction(lim) == "50% fma"
    assert Row("r", {"numpy": 1e-2}, flops=2e9).limit_fraction(lim) == "-"


def test_interleaved_rotates_the_turns_and_keeps_the_best_round(monkeypatch: pytest.MonkeyPatch) -> None:
    (harness,) = _bench_modules("harness")
    monkeypatch.setattr(harness, "SETTLE", 0.0)
    calls: list[str] = []
    # a's rounds take 4, 2, 3 s for two calls; b's always 10 s
    took = {"a": iter([4.0, 2.0, 3.0]), "b": iter([10.0, 10.0, 10.0])}

    def turn(name: str):
        return lambda number: calls.append(name * number) or next(took[name])

    times = harness.interleaved({"a": turn("a"), "b": turn("b")}, rounds=3, number=2, budget=100.0)
    # rounds a,b / b,a / a,b of two calls each
    assert "".join(calls) == "aabb" + "bbaa" + "aabb"
    assert times == {"a": 1.0, "b": 5.0}
    # over budget after three rounds: the fourth and fifth skip b
    calls.clear()
    took = {"a": iter([1.0] * 5), "b": iter([10.0] * 3)}
    harness.interleaved({"a": turn("a"), "b": turn("b")}, rounds=5, number=1, budget=20.0)
    assert "".join(calls) == "ab" + "ba" + "ab" + "a" + "a"


def test_each_system_is_timed_in_a_worker_process_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    array_rows, harness, workers = _bench_modules("array_rows", "harness", "workers")
    monkeypatch.setattr(harness, "_INSTALLED", None)  # what Workers finds, for this test only
    spec = next(s for s in array_rows.specs(True, 2) if s.key == "softmax")
    with workers.Workers(("tensorir", "numpy")) as pool:
        row = pool.measure(spec, array_rows.prepare(spec.key, True))
        libraries = {name: w.libraries for name, w in pool.workers.items()}
        alive = [w.proc for w in pool.workers.values()]
    assert row.label == "softmax+log_softmax rows [64x64]"
    assert set(row.times) == {"tensorir", "numpy"} and all(0 < t < 1 for t in row.times.values())
    # each time came from a process of its own, neither this one nor the other system's
    assert set(row.pids) == {"tensorir", "numpy"}
    assert os.getpid() not in row.pids.values() and row.pids["tensorir"] != row.pids["numpy"]
    assert sorted(row.pids.values()) == sorted(p.pid for p in alive)
    # the NumPy worker imported no other system; tensorir's only tensorir
    assert libraries == {"numpy": (), "tensorir": ("tensorir",)}
    assert all(p.returncode == 0 for p in alive)


def test_a_failing_optional_system_is_left_out_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    array_rows, harness, workers = _bench_modules("array_rows", "harness", "workers")
    spec = next(s for s in array_rows.specs(True, 1) if s.key == "fused")
    data = array_rows.prepare(spec.key, True)
    data["want0"] = data["want0"] + 1.0  # a reference no system can match
    monkeypatch.setattr(harness, "NOTES", [])
    monkeypatch.setattr(harness, "_INSTALLED", None)
    monkeypatch.setattr(workers, "OPTIONAL", ("numpy",))  # numpy stands in for an optional system
    with workers.Workers(("numpy",)) as pool:
        row = pool.measure(spec, data)
    assert row.times == {} and len(harness.NOTES) == 1
    assert harness.NOTES[0].startswith("numpy: fused exp(a+b)*b-tanh(a) [1e+04]: left out (AssertionError: ")
