"""Selecting the GPU, and GPU functions against the CPU.

The first tests run everywhere: asking for a GPU where there is none is a
typed error and the process goes on; ``auto`` falls back to the CPU with a
warning. The tests marked ``gpu`` need an NVIDIA GPU and driver, and skip
cleanly without one: every program of test_gpu_lowering against the CPU,
the MLP training example on the device, shared variables staying on the
device (host copies counted), results kept on the device and passed back.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import tensorir as ti
from tensorir.runtime import gpu as runtime

REPO = Path(__file__).resolve().parents[1]
NO_GPU = runtime.probe()
needs_gpu = pytest.mark.skipif(NO_GPU is not None, reason=f"needs an NVIDIA GPU ({NO_GPU})")


@pytest.mark.skipif(NO_GPU is None, reason="this machine has a GPU")
def test_asking_for_a_missing_gpu_is_a_typed_error_and_the_cpu_keeps_working() -> None:
    x = ti.vector("x", "float32")
    with pytest.raises(ti.GpuUnavailableError) as err:
        ti.function([x], ti.exp(x), device="cuda")
    text = str(err.value)
    assert text.startswith(f"device='cuda' asks for a GPU, but {NO_GPU}")
    assert "use device='cpu' (or 'auto' to fall back to the CPU)" in text
    assert isinstance(err.value, RuntimeError) and isinstance(err.value, ti.TensorIRError)
    with pytest.raises(ti.GpuUnavailableError, match="device='cuda:1' asks for a GPU"):
        ti.jit(lambda a: a * 2, device="cuda:1")(np.ones(3, np.float32))
    with pytest.raises(ti.GpuUnavailableError):
        ti.to_device(np.ones(3, np.float32))
    with pytest.raises(ti.GpuUnavailableError):
        ti.gpu_info()
    ti.synchronize("cpu")  # nothing to wait for
    f = ti.function([x], ti.exp(x))  # the CPU path is untouched
    np.testing.assert_allclose(f(np.zeros(2, np.float32)), [1.0, 1.0])


@pytest.mark.skipif(NO_GPU is None, reason="this machine has a GPU")
def test_auto_falls_back_to_the_cpu_with_one_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    from tensorir import device

    monkeypatch.setattr(device, "_warned_auto", False)
    x = ti.vector("x", "float64")
    with pytest.warns(RuntimeWarning, match=r"device='auto': no usable GPU \(.+\); running on the CPU") as record:
        f = ti.function([x], x * 3, device="auto")
    assert record[0].filename == __file__  # points at the caller
    assert f.placement.kind == "cpu"
    np.testing.assert_allclose(f(np.arange(3.0)), [0.0, 3.0, 6.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ti.function([x], x + 1, device="auto")  # once per process


def test_device_names_are_checked() -> None:
    before = ti.config.device
    try:
        for name in ("cuda", "cuda:1", "auto", "CPU"):
            ti.config.device = name
            assert ti.config.device == name.lower()
        for bad in ("gpu", "cuda:x", "", 3):
            with pytest.raises(ti.ArgumentError, match="device must be 'cpu', 'cuda', 'cuda:N'"):
                ti.config.device = bad
        with pytest.raises(ti.ArgumentError, match="found 'tpu'"):
            x = ti.vector("x")
            ti.function([x], x * 2, device="tpu")
        with pytest.raises(ti.ArgumentError, match="found 'gpu'"):
            ti.jit(lambda a: a, device="gpu")
    finally:
        ti.config.device = before


@pytest.mark.skipif(NO_GPU is None, reason="this machine has a GPU")
def test_flags_select_the_gpu_and_the_error_comes_at_compile_time() -> None:
    code = (
        "import numpy as np, tensorir as ti\n"
        "assert ti.config.device == 'cuda'\n"
        "x = ti.vector('x', 'float32')\n"
        "try:\n"
        "    ti.function([x], x + 1)\n"
        "except ti.GpuUnavailableError as e:\n"
        "    print('error:', str(e).split(';')[0])\n"
        "print(ti.function([x], x + 1, device='cpu')(np.zeros(2, np.float32)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "TENSORIR_FLAGS": "device=cuda"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [f"error: device='cuda' asks for a GPU, but {NO_GPU}", "[1. 1.]"]


# --- with a GPU ----------------------------------------------------------------


@needs_gpu
@pytest.mark.gpu
@pytest.mark.parametrize("name", sorted(__import__("test_gpu_lowering").PROGRAMS))
def test_every_program_matches_the_cpu(name: str) -> None:
    from test_gpu_lowering import PROGRAMS

    fn, args = PROGRAMS[name]
    want = ti.jit(fn)(*args)
    got = ti.jit(fn, device="cuda")(*args)
    want = want if isinstance(want, (tuple, list)) else [want]
    got = got if isinstance(got, (tuple, list)) else [got]
    for g, w in zip(got, want):
        assert isinstance(g, np.ndarray) and g.dtype == np.asarray(w).dtype and g.shape == np.shape(w)
        tol = 1e-12 if np.asarray(w).dtype == np.float64 else 2e-5
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


@needs_gpu
@pytest.mark.gpu
def test_shared_variables_stay_on_the_device() -> None:
    rng = np.random.default_rng(0)
    x = ti.matrix("x", "float32")
    y = ti.matrix("y", "float32")
    w = ti.shared(rng.standard_normal((20, 5)).astype(np.float32) * 0.1, name="w")
    cost = ((x @ w - y) ** 2).mean()
    train = ti.function([x, y], cost, updates=[(w, w - 0.1 * ti.grad(cost, w))], device="cuda")
    step = ti.function([x, y], cost, updates=[(w, w - 0.1 * ti.grad(cost, w))], device="cpu")
    xs = rng.standard_normal((64, 20)).astype(np.float32)
    ys = rng.standard_normal((64, 5)).astype(np.float32)
    w0 = w.get_value()
    train(xs, ys)
    assert w.on_device
    runtime.TRANSFERS.reset()
    for _ in range(10):
        train(xs, ys)
    # per call: the two inputs in, the cost (and at most a few scalars) out; w never moves
    assert runtime.TRANSFERS.to_device == 20
    assert runtime.TRANSFERS.bytes_to_device == 10 * (xs.nbytes + ys.nbytes)
    assert 10 <= runtime.TRANSFERS.to_host and runtime.TRANSFERS.bytes_to_host < w0.nbytes
    on_gpu = w.get_value()
    w.set_value(w0)
    for _ in range(11):
        step(xs, ys)
    np.testing.assert_allclose(on_gpu, w.get_value(), rtol=1e-4, atol=1e-6)


@needs_gpu
@pytest.mark.gpu
def test_results_kept_on_the_device_are_taken_back_without_a_copy() -> None:
    x = ti.vector("x", "float32")
    f = ti.function([x], ti.exp(x) - 1, device="cuda", keep_on_device=True)
    a = ti.to_device(np.linspace(-1, 1, 1000, dtype=np.float32))
    runtime.TRANSFERS.reset()
    b = f(a)
    c = f(b)
    assert isinstance(c, ti.DeviceArray) and c.shape == (1000,)
    assert (runtime.TRANSFERS.to_device, runtime.TRANSFERS.to_host) == (0, 0)
    ref = np.expm1(np.expm1(np.linspace(-1, 1, 1000, dtype=np.float64)))
    np.testing.assert_allclose(np.asarray(c), ref, rtol=1e-5, atol=1e-6)


@needs_gpu
@pytest.mark.gpu
def test_the_mlp_example_trains_to_the_same_accuracy_on_the_gpu(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    accuracies = []
    for device in ("cpu", "cuda"):
        proc = subprocess.run([sys.executable, str(REPO / "examples" / "mlp.py"), "--epochs", "10", "--device",
                               device, "--plot", str(tmp_path / f"{device}.png")],
                              capture_output=True, text=True, env=env, timeout=600, cwd=REPO / "examples")
        assert proc.returncode == 0, proc.stderr
        line = [l for l in proc.stdout.splitlines() if l.startswith("test accuracy:")][-1]
        accuracies.append(float(line.split()[2]))
    assert accuracies[0] > 0.9 and abs(accuracies[0] - accuracies[1]) <= 0.01, accuracies


@needs_gpu
@pytest.mark.gpu
def test_out_of_device_memory_is_a_typed_error_and_the_process_goes_on() -> None:
    x = ti.vector("x", "float32")
    f = ti.function([x], x[:, None] * x[None, :], device="cuda")
    free, total = runtime.device(0).memory_info()
    n = int(np.sqrt(total / 4)) + 1024  # an n x n result larger than the device
    with pytest.raises(ti.GpuOutOfMemoryError, match="bytes"):
        f(np.ones(n, np.float32))
    np.testing.assert_allclose(f(np.full(3, 2, np.float32)), np.full((3, 3), 4.0))


@needs_gpu
@pytest.mark.gpu
def test_lower_shows_the_gpu_stages() -> None:
    x = ti.matrix("x", "float32")
    low = ti.function([x], ti.logsumexp(x, axis=1), device="cuda").lower()
    assert "gpu.all_reduce" in low.as_text("gpu")
    assert ".visible .entry" in low.as_text("ptx")
    assert low.as_text("host").startswith("def entry(")
    with pytest.raises(ValueError, match="unknown stage 'llvm-ir'; choose one of tir, tir-opt, linalg, gpu, ptx, host"):
        low.as_text("llvm-ir")


def test_the_gpu_benchmark_runs_or_says_why_not() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu.py"), "--quick"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    if NO_GPU is not None:
        assert proc.stdout.startswith(f"no GPU benchmark: device='cuda' asks for a GPU, but {NO_GPU}")
    else:
        lines = proc.stdout.splitlines()
        assert lines[1].startswith("fused exp(a+b)*b - tanh(a)") and "GB/s" in lines[1]
        assert lines[2].startswith("matmul 256x256") and "TFLOP/s" in lines[2]
        assert lines[3].startswith("MLP training step") and "GPU" in lines[3]
