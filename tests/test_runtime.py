"""The CPU runtime: results handed to NumPy without copies, no leaks."""

from __future__ import annotations

import gc
import os

import numpy as np
import pytest

import tensorir as ti


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_resident_memory_is_flat_over_100k_calls() -> None:
    @ti.jit
    def f(x, y):
        return ti.exp(x) * y + x.sum(), (x * y).max()

    x = np.linspace(0, 1, 64)
    y = np.linspace(1, 2, 64)
    for _ in range(5_000):  # warm up caches and allocator pools
        f(x, y)
    gc.collect()
    before = _rss_bytes()
    for _ in range(100_000):
        f(x, y)
    gc.collect()
    grown = _rss_bytes() - before
    assert grown < 4 * 2**20, f"resident memory grew by {grown / 2**20:.1f} MiB over 100k calls"


def test_results_own_their_buffers() -> None:
    f = ti.jit(lambda x: x + 1)
    out = f(np.zeros(5))
    assert out.flags.owndata and out.flags.writeable and out.flags.c_contiguous
    out2 = f(np.zeros(5))
    assert not np.shares_memory(out, out2)


def test_output_that_is_an_input_is_a_copy() -> None:
    f = ti.jit(lambda x: (x, x * 2))
    x = np.arange(4.0)
    same, double = f(x)
    np.testing.assert_array_equal(same, x)
    assert not np.shares_memory(same, x)
    np.testing.assert_array_equal(double, 2 * x)


def test_pytree_arguments_and_results() -> None:
    @ti.jit
    def f(params, x):
        return {"y": params["w"] * x + params["b"], "parts": [x, params["b"]]}

    out = f({"w": np.float32(2.0) * np.ones(3, np.float32), "b": np.ones(3, np.float32)}, np.arange(3, dtype=np.float32))
    np.testing.assert_array_equal(out["y"], [1, 3, 5])
    np.testing.assert_array_equal(out["parts"][1], [1, 1, 1])


def test_zero_size_inputs() -> None:
    f = ti.jit(lambda x, y: (x * y).sum(axis=0) + 1)
    out = f(np.ones((0, 3)), np.ones((0, 3)))
    np.testing.assert_array_equal(out, np.ones(3))
    out = f(np.ones((4, 0)), np.ones((4, 0)))
    assert out.shape == (0,)


def test_scalars_and_zero_d_arrays() -> None:
    f = ti.jit(lambda x, a: x * a)
    np.testing.assert_array_equal(f(np.ones(2, np.float32), 3.0), [3.0, 3.0])
    assert f(np.ones(2, np.float32), 3.0).dtype == np.float32  # a Python float is weak
    assert f(np.ones(2, np.float32), np.float64(3.0)).dtype == np.float64
    assert f(np.array(2.0), np.array(4.0)).shape == ()


def test_non_native_byte_order() -> None:
    f = ti.jit(lambda x: x + 1)
    x = np.arange(4, dtype=">f4")
    for _ in range(2):  # the second call takes the cached fast path
        np.testing.assert_array_equal(f(x), np.arange(4) + 1)
        assert f(x).dtype == np.float32


def test_containers_of_arrays_take_the_cached_path_correctly() -> None:
    f = ti.jit(lambda p, x: (x @ p["w"] + p["b"]).sum(axis=1))
    rng = np.random.default_rng(0)
    for n in (3, 5, 3):
        p = {"w": rng.standard_normal((4, 2)), "b": rng.standard_normal(2)}
        x = rng.standard_normal((n, 4))
        np.testing.assert_allclose(f(p, x), (x @ p["w"] + p["b"]).sum(axis=1), rtol=1e-13)
    assert f.compile_count == 1
    p32 = {"w": np.ones((4, 2), np.float32), "b": np.ones(2, np.float32)}
    assert f(p32, np.ones((3, 4), np.float32)).dtype == np.float32  # a new dtype: a new signature
    assert f.compile_count == 2
    q = {"w": np.ones((4, 2)), "b": np.ones(1)}  # b of size 1: broadcast, another signature
    np.testing.assert_array_equal(f(q, np.ones((3, 4))), np.full(3, 10.0))
    assert f.compile_count == 3
    with pytest.raises(KeyError):
        f({"w": np.ones((4, 2))}, np.ones((3, 4)))  # another structure: traced anew


def test_llvm_options_are_ours_only_while_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    """tensorir's LLVM options (no loop strength reduction, no epilogue
    vectorisation) hold while it generates code, and LLVM's defaults are
    back after, for other users of llvmlite in the process."""
    import llvmlite.binding as llvm

    from tensorir.runtime import cpu

    ours = ["-disable-lsr=true", "-enable-epilogue-vectorization=false"]
    defaults = ["-disable-lsr=false", "-enable-epilogue-vectorization=true"]
    calls: list[str] = []
    real = llvm.set_option
    monkeypatch.setattr(llvm, "set_option", lambda name, option: (calls.append(option), real(name, option)))
    monkeypatch.setattr(ti.config, "cache", False)
    x = ti.vector("x", "float32")
    f = ti.function([x], ti.exp(x) * 3.0)
    np.testing.assert_allclose(f(np.ones(20, np.float32)), np.exp(np.ones(20)) * 3, rtol=1e-6)
    assert calls == ours + defaults
    assert cpu._options_users == 0
    calls.clear()
    cpu.assembly("define i32 @g(i32 %a) {\n  %b = add i32 %a, 1\n  ret i32 %b\n}\n")
    assert calls == ["-disable-lsr=true", "-enable-epilogue-vectorization=false",
                     "-disable-lsr=false", "-enable-epilogue-vectorization=true"]


def test_first_compile_loads_the_light_dialect_modules() -> None:
    """Compiling a matmul in a fresh process never imports MLIR's Python
    modules for linalg and llvm (OpDSL's named ops: ~100 ms), only the
    generated linalg op classes."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, tensorir as ti\n"
        "f = ti.jit(lambda a, b: ti.exp(a @ b).sum(0))\n"
        "a = np.ones((3, 4), np.float32)\n"
        "f(a, a.T)\n"
        "print(sorted(m for m in ('mlir.dialects.linalg', 'mlir.dialects.llvm', 'mlir.dialects._linalg_ops_gen') "
        "if m in sys.modules))\n"
    )
    env = dict(os.environ, TENSORIR_FLAGS="cache=False")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[-2] == "['mlir.dialects._linalg_ops_gen']"
