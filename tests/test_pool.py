"""The result pool: large results reuse the memory of dropped ones, and a
result, a view of it or a memoryview on it is never written by a later call."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
from typing import Iterator

import numpy as np
import pytest

import tensorir as ti
from tensorir.runtime.pool import POOL, ResultPool, size_class

N = 300_000  # float32 elements: 1.2 MB, above the pool's 1 MiB threshold


@pytest.fixture(autouse=True)
def quiet_pool() -> Iterator[None]:
    """Each test starts with no idle slab, the pool on and its usual limit."""
    limit, enabled = POOL.limit, ti.config.result_pool
    gc.collect()
    POOL.clear()
    ti.config.result_pool = True
    yield
    ti.config.result_pool = enabled
    POOL.limit = limit


def _inputs(n: int = N, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)


def _fused(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.exp(a + b) * b - np.tanh(a)


F = ti.jit(lambda a, b: ti.exp(a + b) * b - ti.tanh(a))


def test_dropped_result_memory_is_reused() -> None:
    a, b = _inputs()
    y = F(a, b)
    address = y.ctypes.data
    np.testing.assert_allclose(y, _fused(a, b), rtol=2e-5, atol=2e-6)
    del y
    y = F(b, a)
    assert y.ctypes.data == address
    np.testing.assert_allclose(y, _fused(b, a), rtol=2e-5, atol=2e-6)


def test_loop_alternates_between_two_slabs() -> None:
    a, b = _inputs()
    hits = POOL.stats()["hits"]
    addresses = set()
    y = F(a, b)
    for k in range(6):
        y = F(a + k, b)
        addresses.add(y.ctypes.data)
        np.testing.assert_allclose(y, _fused(a + k, b), rtol=2e-5, atol=2e-6)
    assert len(addresses) == 2
    assert POOL.stats()["hits"] - hits >= 5


def test_results_are_aligned_and_not_owners() -> None:
    y = F(*_inputs())
    assert y.ctypes.data % 64 == 0
    assert not y.flags.owndata and y.flags.writeable and y.flags.c_contiguous
    assert y.base is not None and y.base.dtype == np.uint8


def test_a_live_result_is_never_overwritten() -> None:
    a, b = _inputs()
    c, d = _inputs(seed=1)
    y1 = F(a, b)
    y2 = F(c, d)
    y3 = F(d, c)
    assert len({y1.ctypes.data, y2.ctypes.data, y3.ctypes.data}) == 3
    np.testing.assert_allclose(y1, _fused(a, b), rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(y2, _fused(c, d), rtol=2e-5, atol=2e-6)


def test_a_live_view_keeps_its_result_memory() -> None:
    a, b = _inputs()
    expected = _fused(a, b)
    view = F(a, b)[1000:1010]  # the result itself is dropped at once
    column = F(a, b).reshape(-1, 100).T[3]  # a strided view of a reshaped view
    for k in range(4):
        F(a + k + 1, b)
    np.testing.assert_allclose(view, expected[1000:1010], rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(column, expected.reshape(-1, 100)[:, 3], rtol=2e-5, atol=2e-6)


def test_memoryview_and_asarray_keep_the_memory() -> None:
    a, b = _inputs()
    expected = _fused(a, b)
    m = memoryview(F(a, b))
    same = np.asarray(F(a, b))
    for k in range(4):
        F(a - k - 1, b)
    np.testing.assert_allclose(np.frombuffer(m, np.float32), expected, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(same, expected, rtol=2e-5, atol=2e-6)


def test_a_result_fed_back_as_input() -> None:
    f = ti.jit(lambda y, b: y * 0.5 + b)
    a, b = _inputs()
    y, want = a, a.copy()
    for _ in range(5):
        y = f(y, b)
        want = want * np.float32(0.5) + b
        np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-6)


def test_pool_off_gives_fresh_arrays_and_drops_idle_slabs() -> None:
    a, b = _inputs()
    F(a, b)  # leaves an idle slab
    assert POOL.stats()["idle_bytes"] > 0
    ti.config.result_pool = False  # read at call time: no recompilation
    y1 = F(a, b)
    y2 = F(a, b)
    assert y1.flags.owndata and y2.flags.owndata and y1.base is None
    assert POOL.stats()["idle_bytes"] == 0
    np.testing.assert_allclose(y2, _fused(a, b), rtol=2e-5, atol=2e-6)
    assert F.compile_count == 1


def test_small_results_use_numpy() -> None:
    y = F(*_inputs(1000))
    assert y.flags.owndata


def test_several_outputs_and_free_dims() -> None:
    @ti.jit
    def g(x):
        return x + 1, (x * 2).sum(axis=1), x.T * 3

    seen: dict[int, set[int]] = {}
    for rows in (5000, 8000, 5000, 8000, 5000):
        x = np.random.default_rng(rows).standard_normal((rows, 64)).astype(np.float32)
        p, s, t = g(x)
        np.testing.assert_allclose(p, x + 1, rtol=1e-6)
        np.testing.assert_allclose(s, (x * 2).sum(axis=1), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(t, x.T * 3, rtol=1e-6)
        assert not p.flags.owndata and not t.flags.owndata and s.flags.owndata
        assert p.ctypes.data != t.ctypes.data
        seen.setdefault(rows, set()).update([p.ctypes.data, t.ctypes.data])
        del p, s, t
    assert g.compile_count == 1
    # each size reuses its own two slabs
    assert len(seen[5000]) == 2 and len(seen[8000]) == 2


def test_tree_outputs_are_freed_without_the_garbage_collector() -> None:
    f = ti.jit(lambda x: {"double": x * 2, "pair": (x + 1, x - 1)})
    x = _inputs()[0]

    def addresses(out: dict) -> set[int]:
        return {out["double"].ctypes.data, out["pair"][0].ctypes.data, out["pair"][1].ctypes.data}

    gc.disable()  # a reference cycle in the call path would keep the results busy
    try:
        out = f(x)
        first = addresses(out)
        del out
        again = f(x)
        assert addresses(again) == first and len(first) == 3
        np.testing.assert_allclose(again["pair"][1], x - 1, rtol=1e-6)
    finally:
        gc.enable()


def test_function_results_come_from_the_pool() -> None:
    x = ti.vector("x", "float32")
    h = ti.function([x], [x * 3, ti.exp(x)])
    a = _inputs()[0]
    y, e = h(a)
    addresses = {y.ctypes.data, e.ctypes.data}
    del y, e
    y, e = h(a + 1)
    assert {y.ctypes.data, e.ctypes.data} == addresses
    np.testing.assert_allclose(y, (a + 1) * 3, rtol=1e-6)
    np.testing.assert_allclose(e, np.exp(a + 1), rtol=2e-6)


def test_the_limit_bounds_what_the_pool_keeps() -> None:
    f = ti.jit(lambda x: x + 1)
    x = _inputs()[0]
    capacity = size_class(x.nbytes)
    kept_before = POOL.stats()["bytes"]
    POOL.limit = kept_before + 3 * capacity
    live = [f(x + k) for k in range(6)]  # six busy results, room for three slabs
    assert POOL.stats()["bytes"] <= POOL.limit
    for k, y in enumerate(live):
        np.testing.assert_allclose(y, x + k + 1, rtol=1e-6)
    del live, y
    stats = POOL.stats()
    assert stats["idle_bytes"] == 3 * capacity and stats["bytes"] <= POOL.limit
    POOL.limit = kept_before  # lowering the limit evicts idle slabs at once
    assert POOL.stats()["idle_bytes"] == 0
    np.testing.assert_allclose(f(x), x + 1, rtol=1e-6)


def test_threads_never_share_a_result() -> None:
    f = ti.jit(lambda a, b: a * b + 1)
    errors: list[str] = []

    def work(seed: int) -> None:
        a, b = _inputs(seed=seed)
        want = a * b + 1
        kept = []
        for k in range(30):
            y = f(a, b)
            kept.append(y)
            if len(kept) > 2:
                kept.pop(0)
            if not np.array_equal(kept[0], want):
                errors.append(f"thread {seed}, call {k}")

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_size_classes() -> None:
    assert size_class(1) == 1 << 20
    assert size_class((1 << 20) + 1) == (1 << 20) + (1 << 17)  # eight steps per octave
    assert size_class(40_000_000) == 40 << 20
    for n in (1 << 20, 3_000_000, 40_000_000, 123_456_789):
        assert n <= size_class(n) <= n * 1.125


def test_a_private_pool() -> None:
    pool = ResultPool(limit=8 << 20)
    y = pool.empty((512, 1024), np.dtype("float32"))
    assert y.shape == (512, 1024) and y.dtype == np.float32 and y.ctypes.data % (2 << 20) == 0
    address = y.ctypes.data
    y[:] = 1
    z = pool.empty((512, 1024), np.dtype("float32"))
    assert z.ctypes.data != address
    del y
    assert pool.empty((2 << 20,), np.dtype("uint8")).ctypes.data == address
    assert pool.stats()["hits"] == 1 and pool.stats()["misses"] == 2
    assert pool.empty((10,), np.dtype("float64")).flags.owndata
    with pytest.raises(ValueError, match="the pool's limit is a number of bytes >= 0, found -1"):
        pool.limit = -1


def _heap_tuned_in_child(env: dict[str, str]) -> str:
    code = "import tensorir.runtime.pool as p; print(p.HEAP_TUNED)"
    run = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True,
                         check=True)
    return run.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc thresholds")
def test_heap_thresholds_set_once_per_process() -> None:
    """On glibc the kernels' temporaries come from the heap (mmap threshold
    32 MiB, trim threshold 256 MiB); a user's own malloc tuning wins."""
    import ctypes.util

    if "libc.so" not in (ctypes.util.find_library("c") or ""):
        pytest.skip("not glibc")
    assert _heap_tuned_in_child({}) == "True"
    assert _heap_tuned_in_child({"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=65536"}) == "False"
    assert _heap_tuned_in_child({"MALLOC_TRIM_THRESHOLD_": "131072"}) == "False"
