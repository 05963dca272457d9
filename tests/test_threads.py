"""Parallel loops (lowering/parallel.py, runtime/threads.py): ti.config.threads
and ti.config.parallel_minsize.

Results must be bitwise identical with one and two threads (a chunk runs the
same loops as the whole op; no reduction is split), small work must stay on
the calling thread, and a forked child must not wait for threads it lacks.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from typing import Any, Callable

import llvmlite.binding as llvm
import numpy as np
import pytest

import tensorir as ti
from conftest import threads
from tensorir.dialects import new_context
from tensorir.dialects._bindings import ir
from tensorir.lowering import cpu
from tensorir.runtime.cpu import libraries_for

DISPATCH = "@tensorir_parallel_for"


def run_both(fn: Callable[..., Any], *args: np.ndarray, minsize: int = 0) -> tuple[Any, Any]:
    """``fn`` compiled with one thread and with two, called on ``args``."""
    outs = []
    for n in (1, 2):
        with threads(n, minsize):
            outs.append(ti.jit(fn)(*args))
    return outs[0], outs[1]


def assert_identical(one: Any, two: Any) -> None:
    one, two = np.asarray(one), np.asarray(two)
    assert one.dtype == two.dtype and one.shape == two.shape
    assert np.array_equal(one, two, equal_nan=True), f"{np.count_nonzero(one != two)} elements differ"


def fused(a, b):  # noqa: ANN001, ANN201
    return ti.exp(a + b) * b - ti.tanh(a)


@pytest.mark.parametrize("shape", [(100_003,), (301, 257), (3, 5, 1031)])
def test_elementwise_is_bitwise_identical(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(shape, np.float32), rng.random(shape, np.float32)
    one, two = run_both(fused, a, b)
    assert_identical(one, two)
    want = np.exp(a + b, dtype=np.float64) * b - np.tanh(a, dtype=np.float64)
    np.testing.assert_allclose(two, want, rtol=2e-6, atol=2e-6)


REDUCTIONS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "row sum": (lambda x: x.sum(axis=1), lambda x: x.sum(axis=1)),
    "column sum": (lambda x: x.sum(axis=0), lambda x: x.sum(axis=0)),
    "row max": (lambda x: x.max(axis=1), lambda x: x.max(axis=1)),
    "column mean": (lambda x: x.mean(axis=0), lambda x: x.mean(axis=0)),
    "row argmax": (lambda x: ti.argmax(x, axis=1), lambda x: np.argmax(x, axis=1)),
    "column argmin": (lambda x: ti.argmin(x, axis=0), lambda x: np.argmin(x, axis=0)),
    "logsumexp": (
        lambda x: ti.logsumexp(x, axis=1),
        lambda x: np.log(np.exp(x - x.max(axis=1, keepdims=True)).sum(axis=1)) + x.max(axis=1),
    ),
    "softmax": (
        lambda x: ti.nn.softmax(x, axis=-1),
        lambda x: np.exp(x - x.max(axis=1, keepdims=True)) / np.exp(x - x.max(axis=1, keepdims=True)).sum(1, keepdims=True),
    ),
    "total": (lambda x: (x * x).sum(), lambda x: (x * x).sum()),
}


@pytest.mark.parametrize("name", list(REDUCTIONS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_reductions_are_bitwise_identical(name: str, dtype: str) -> None:
    fn, ref = REDUCTIONS[name]
    x = np.random.default_rng(1).standard_normal((517, 389)).astype(dtype)
    one, two = run_both(fn, x)
    assert_identical(one, two)
    rtol = 1e-4 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(two, ref(x.astype(np.float64)), rtol=rtol, atol=rtol)


def test_matmul_with_epilogue_is_bitwise_identical() -> None:
    # OpenBLAS's threads and the async runtime's in one function
    rng = np.random.default_rng(2)
    x, w, b = (rng.standard_normal(s, np.float32) for s in [(640, 96), (96, 300), (300,)])

    def layer(x, w, b):  # noqa: ANN001, ANN202
        h = ti.tanh(x @ w + b)
        return ti.nn.softmax(h @ w.T, axis=-1), h.sum(axis=0)

    (p1, s1), (p2, s2) = run_both(layer, x, w, b)
    assert_identical(p1, p2)
    assert_identical(s1, s2)
    h = np.tanh(x.astype(np.float64) @ w + b)
    z = h @ w.T
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(p2, e / e.sum(axis=1, keepdims=True), rtol=2e-3, atol=1e-6)
    np.testing.assert_allclose(s2, h.sum(axis=0), rtol=1e-3, atol=1e-3)


def test_sizes_around_the_minimum_with_free_dims() -> None:
    # one compile per thread count serves every size; each size must agree
    # whether its loops run on one thread or two, and with NumPy
    minsize = 4096

    def f(x, y):  # noqa: ANN001, ANN202
        return ti.exp(x) * 2.0 - y, ti.logsumexp(x, axis=1)

    compiled = []
    for n in (1, 2):
        with threads(n, minsize):
            compiled.append(ti.jit(f))
    rng = np.random.default_rng(3)
    for rows in (0, 1, 2, 63, 64, 65, 700):
        x = rng.standard_normal((rows, 64), np.float32)
        y = rng.standard_normal((rows, 64), np.float32)
        with threads(1, minsize):
            e1, l1 = compiled[0](x, y)
        with threads(2, minsize):
            e2, l2 = compiled[1](x, y)
        assert_identical(e1, e2)
        assert_identical(l1, l2)
        np.testing.assert_allclose(e2, np.exp(x.astype(np.float64)) * 2 - y, rtol=1e-5, atol=1e-5)
        if rows:
            np.testing.assert_allclose(l2, np.log(np.exp(x.astype(np.float64)).sum(axis=1)), rtol=1e-5)


@pytest.mark.parametrize("length", [0, 1, 15, 16, 17, 4095, 4096, 4097, 100_001])
def test_one_dim_chunks_cover_every_element(length: int) -> None:
    # chunks of the innermost dim are multiples of 16 elements; the last is short
    a = np.arange(length, dtype=np.float32)
    one, two = run_both(lambda v: v * 3.0 + 1.0, a)
    assert_identical(one, two)
    assert np.array_equal(two, a * np.float32(3) + np.float32(1))


def _llvm(fn: Callable[..., Any], *args: np.ndarray, n: int, minsize: int = 0) -> str:
    with threads(n, minsize):
        return ti.jit(fn).lower(*args).as_text("llvm")


def test_the_lowered_ir_has_parallel_loops_with_two_threads_only() -> None:
    x = np.ones((8, 8), np.float32)
    two = _llvm(fused, x, x, n=2)
    assert two.count(f"llvm.call {DISPATCH}(") == 1
    assert re.search(r"llvm.func internal @tir_fused_chunk0\(%arg0: !llvm.ptr, %arg1: i64\)", two)
    one = _llvm(fused, x, x, n=1)
    # one thread: the loop is called directly (tir-outline-serial), never dispatched
    assert DISPATCH not in one and "llvm.call @tir_fused_chunk0(" in one
    # a full reduction is never split
    assert DISPATCH not in _llvm(lambda v: v.sum(), x, n=2)
    # softmax: the max and sum of exponentials of each row, then the quotients
    assert _llvm(lambda v: ti.nn.softmax(v, axis=-1), x, n=2).count(f"llvm.call {DISPATCH}(") == 2


def test_the_runtime_library_is_named_for_loading_and_caching() -> None:
    x = np.ones((8, 8), np.float32)
    with threads(2):
        two = ti.jit(fused).lower(x, x).as_text("llvm-ir")
    with threads(1):
        one = ti.jit(fused).lower(x, x).as_text("llvm-ir")
    assert libraries_for(two) == ["libmlir_async_runtime.so"]
    assert libraries_for(one) == []


STATIC = """
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @f(%x: memref<64x64xf32>, %y: memref<64x64xf32>, %r: memref<64xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<64x64xf32>) outs(%y : memref<64x64xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %a : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<64x64xf32>) outs(%r : memref<64xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  return
}
"""


def _lowered_static(n: int, minsize: int) -> str:
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(STATIC)
        cpu.lower_to_llvm_dialect(module, threads=n, parallel_minsize=minsize)
        return str(module)


def test_static_work_below_the_minimum_stays_serial_at_compile_time() -> None:
    # 64 x 64 = 4096 elements per op: parallel from a minimum of 4096 down
    assert DISPATCH not in _lowered_static(2, 4097)
    assert _lowered_static(2, 4096).count(f"llvm.call {DISPATCH}(") == 2
    assert DISPATCH not in _lowered_static(1, 0)


def test_loops_inside_a_scan_stay_serial() -> None:
    def run(xs, h0):  # noqa: ANN001, ANN202
        hs, _ = ti.scan(lambda x_t, h: ti.tanh(h * 0.5 + x_t), sequences=xs, outputs_info=h0)
        return hs

    xs = np.random.default_rng(4).standard_normal((5, 4000), np.float32)
    h0 = np.zeros(4000, np.float32)
    assert DISPATCH not in _llvm(run, xs, h0, n=2)
    one, two = run_both(run, xs, h0)
    assert_identical(one, two)


def _has_avx2() -> bool:
    return bool(llvm.get_host_cpu_features().get("avx2"))


@pytest.mark.skipif(not _has_avx2(), reason="the host has no 256-bit vector unit")
@pytest.mark.parametrize("n", [1, 2])
def test_the_parallel_kernel_is_still_vectorised(n: int) -> None:
    """With two threads the chunk a dispatch runs, with one the loop that
    tir-outline-serial moved out of the (unoptimised) entry."""
    x = np.ones(100, np.float32)
    with threads(n):
        asm = ti.jit(fused).lower(x, x).as_text("asm")
    body = asm.split("tir_fused_chunk0:", 1)[1]
    body = re.split(r"\n[A-Za-z_][\w.]*:\n", body, maxsplit=1)[0]
    assert re.search(r"vfmadd\w*\s+%[yz]mm", body), "no vector FMA in the loop's function"


FORKED = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    import tensorir as ti
    ti.config.threads, ti.config.parallel_minsize = 2, 0
    f = ti.jit(lambda a: ti.exp(a) * 2.0)
    a = np.linspace(-1, 1, 1_000_000, dtype=np.float32)
    want = f(a)
    pid = os.fork()
    if pid == 0:
        os._exit(0 if np.array_equal(f(a), want) else 3)
    _, status = os.waitpid(pid, 0)
    print("child", os.waitstatus_to_exitcode(status))
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_runs_parallel_loops_on_its_own_thread() -> None:
    # the child inherits the runtime's pool without its threads: it must not wait for them
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", FORKED], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["child", "0"]


THREAD_COUNT = textwrap.dedent(
    """
    import os
    import numpy as np
    import tensorir as ti
    ti.config.threads, ti.config.parallel_minsize = 2, 50_000
    f = ti.jit(lambda a: ti.exp(a) * 2.0)
    tasks = lambda: len(os.listdir("/proc/self/task"))
    small, big = np.ones(49_999, np.float32), np.ones(50_000, np.float32)
    f(small)
    before = tasks()
    f(small)
    after_small = tasks()
    f(big)
    print(before, after_small, tasks())
    """
)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux's /proc")
def test_only_calls_over_the_minimum_start_threads() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", THREAD_COUNT], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    before, after_small, after_big = (int(v) for v in out.stdout.split())
    assert after_small == before
    assert after_big > before


@pytest.mark.parametrize("triple", ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "riscv64-unknown-linux-gnu"])
def test_dispatcher_spins_with_the_target_hint_then_blocks(triple: str) -> None:
    """The dispatcher polls each task's finished flag at most SPINS times,
    with the target's spin-wait hint (none where unknown), before blocking on
    the task's token; its IR is valid for each target."""
    from tensorir.runtime import threads

    text = threads.dispatch_ir(triple)
    assert "SPIN" not in text.replace("spin", "")
    assert f"icmp uge i64 %n, {threads.SPINS}" in text
    hint = {"x86_64": "pause", "aarch64": "yield"}.get(triple.split("-")[0], "")
    assert f'asm sideeffect "{hint}"' in text
    # the flag is set before the token is emplaced, and the wait blocks on the token after spinning
    task = text[text.index("define void @tensorir_task"):text.index("define void @tensorir_parallel_for")]
    assert task.index("store atomic i64 1") < task.index("EmplaceToken")
    wait = text[text.index("spin:"):]
    assert wait.index("load atomic i64") < wait.index("AwaitToken")
    llvm.parse_assembly(text).verify()


def test_chunks_finishing_late_are_waited_for() -> None:
    """A chunk on the pool that outlasts the spinning (a big matmul half) is
    still waited for: results are complete, run after run."""
    a = np.random.default_rng(5).standard_normal((1500, 1200)).astype(np.float32)
    f = ti.jit(lambda a, b: a @ b)
    want = a.astype(np.float64) @ a.T.astype(np.float64)
    for _ in range(3):
        np.testing.assert_allclose(f(a, a.T), want, rtol=2e-4, atol=2e-3)


MERGE_IR = """
func.func private @f_chunk0(%ctx: !llvm.ptr, %c: i64) attributes {tir.chunk} {
  %0 = llvm.load %ctx : !llvm.ptr -> f32
  llvm.store %0, %ctx : f32, !llvm.ptr
  return
}
func.func private @f_chunk1(%ctx: !llvm.ptr, %c: i64) attributes {tir.chunk} {
  %0 = llvm.load %ctx : !llvm.ptr -> f32
  llvm.store %0, %ctx : f32, !llvm.ptr
  return
}
func.func private @f_chunk2(%ctx: !llvm.ptr, %c: i64) attributes {tir.chunk} {
  %0 = llvm.load %ctx : !llvm.ptr -> f64
  llvm.store %0, %ctx : f64, !llvm.ptr
  return
}
func.func private @tensorir_parallel_for(!llvm.ptr, !llvm.ptr, i64)
func.func public @f(%ctx: !llvm.ptr, %n: i64) {
  %0 = func.constant @f_chunk0 : (!llvm.ptr, i64) -> ()
  %1 = func.constant @f_chunk1 : (!llvm.ptr, i64) -> ()
  %2 = func.constant @f_chunk2 : (!llvm.ptr, i64) -> ()
  %p0 = builtin.unrealized_conversion_cast %0 : (!llvm.ptr, i64) -> () to !llvm.ptr
  %p1 = builtin.unrealized_conversion_cast %1 : (!llvm.ptr, i64) -> () to !llvm.ptr
  %p2 = builtin.unrealized_conversion_cast %2 : (!llvm.ptr, i64) -> () to !llvm.ptr
  call @tensorir_parallel_for(%p0, %ctx, %n) : (!llvm.ptr, !llvm.ptr, i64) -> ()
  call @tensorir_parallel_for(%p1, %ctx, %n) : (!llvm.ptr, !llvm.ptr, i64) -> ()
  call @tensorir_parallel_for(%p2, %ctx, %n) : (!llvm.ptr, !llvm.ptr, i64) -> ()
  return
}
"""


def test_identical_chunk_functions_are_merged() -> None:
    """``tir-merge-chunks`` keeps one of two chunk functions that differ only
    by name, and points the other's dispatch at it; a chunk with another
    body (f64) stays."""
    from tensorir.dialects._bindings import walk
    from tensorir.lowering.parallel import merge_chunks

    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(MERGE_IR)
        merge_chunks(module.operation)
        module.operation.verify()
        names = [ir.StringAttr(op.attributes["sym_name"]).value for op in walk(module.operation, ["func.func"])]
        assert [n for n in names if "chunk" in n] == ["f_chunk0", "f_chunk2"]
        refs = [ir.FlatSymbolRefAttr(op.attributes["value"]).value for op in walk(module.operation, ["func.constant"])]
        assert refs == ["f_chunk0", "f_chunk0", "f_chunk2"]


def test_identical_ops_share_one_chunk_function_and_stay_right() -> None:
    """Two ops with one body on different arrays compile to one chunk
    function, which computes each of them on its own data."""
    a = np.random.default_rng(3).standard_normal((400, 300)).astype(np.float32)
    b = np.random.default_rng(4).standard_normal((400, 300)).astype(np.float32)
    with threads(2):
        f = ti.jit(lambda a, b: (ti.exp(a) * 2.0, ti.exp(b) * 2.0))
        x, y = f(a, b)
        text = f.lower(a, b).as_text("llvm")
    np.testing.assert_allclose(x, np.exp(a) * 2, rtol=1e-6)
    np.testing.assert_allclose(y, np.exp(b) * 2, rtol=1e-6)
    assert len(re.findall(r"llvm\.func (?:\w+ )?@\w+_chunk\d+\(", text)) == 1
