"""Buffer reuse (lowering/buffers.py, ``ti.config.inplace``): fewer
allocations, a lower peak, and the same results bit for bit.

The IR-level cases are in tests/ir/buffers.mlir; here: allocation counts of
traced programs with and without reuse, random programs whose values are
reused at different points (hypothesis) against NumPy and against the
program compiled without reuse, and the peak memory of a call measured by
benchmarks/memory.py in a fresh process.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorir as ti
from tensorir.config import Config
from tensorir.errors import ArgumentError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import memory  # noqa: E402  (benchmarks/memory.py)


def bufferized(f: Any, *args: Any, inplace: bool = True) -> str:
    old = ti.config.inplace
    ti.config.inplace = inplace
    try:
        return str(ti.jit(f).lower(*args).as_text("bufferized"))
    finally:
        ti.config.inplace = old


def early_frees(text: str) -> int:
    """How many ``memref.dealloc`` lines are followed by something other than
    another dealloc or the return (a buffer freed before the end)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return sum(
        1 for a, b in zip(lines, lines[1:])
        if a.startswith("memref.dealloc") and not b.startswith(("memref.dealloc", "return"))
    )


def run(f: Any, args: list, inplace: bool) -> Any:
    old = ti.config.inplace
    ti.config.inplace = inplace
    try:
        return ti.jit(f)(*args)
    finally:
        ti.config.inplace = old


def mlp(x: Any, w1: Any, b1: Any, w2: Any, b2: Any) -> Any:
    h = ti.tanh(x @ w1 + b1)
    return ti.exp(h @ w2 + b2) * 2.0


def mlp_args(n: int = 16) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    shapes = [(n, 12), (12, 8), (8,), (8, 5), (5,)]
    return [(rng.standard_normal(s) * 0.3).astype(np.float32) for s in shapes]


def test_two_layer_forward_allocates_one_buffer_instead_of_three() -> None:
    args = mlp_args()
    assert bufferized(mlp, *args, inplace=False).count("memref.alloc(") == 3
    text = bufferized(mlp, *args)
    assert text.count("memref.alloc(") == 1
    # the second gemm writes straight into the caller's result array
    assert 'library_call = "scipy_cblas_sgemm"} ins(%alloc, %arg3' in text
    assert text.count("outs(%arg5") >= 2


def test_mlp_gradient_allocates_fewer_buffers_and_frees_them_early() -> None:
    def loss(w1: Any, w2: Any, x: Any, y: Any) -> Any:
        h = ti.tanh(x @ w1)
        return -(y * ti.nn.log_softmax(h @ w2, axis=-1)).sum() / x.shape[0]

    rng = np.random.default_rng(1)
    args = [rng.standard_normal(s).astype(np.float32) for s in [(12, 8), (8, 5), (16, 12)]]
    args.append(np.eye(5, dtype=np.float32)[rng.integers(0, 5, 16)])
    vg = ti.value_and_grad(loss, argnums=(0, 1))
    old = ti.config.inplace
    try:
        ti.config.inplace = False
        plain = vg.lower(*args).as_text("bufferized")
        want = ti.value_and_grad(loss, argnums=(0, 1))(*args)
        ti.config.inplace = True
        reused = vg.lower(*args).as_text("bufferized")
        got = ti.value_and_grad(loss, argnums=(0, 1))(*args)
    finally:
        ti.config.inplace = old
    assert reused.count("memref.alloc(") < plain.count("memref.alloc(")
    # without reuse every buffer is freed at the end; with it, after its last use
    assert early_frees(plain) == 0
    assert early_frees(reused) >= 2
    np.testing.assert_array_equal(got[0], want[0])
    for g, w in zip(got[1], want[1]):
        np.testing.assert_array_equal(g, w)


def test_a_returned_intermediate_that_is_read_later_keeps_its_value() -> None:
    def f(x: Any, w: Any) -> Any:
        a = ti.exp(x @ w)
        b = ti.tanh(a) + a  # reads a after it was returned
        return a, b * 2.0

    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((6, 4)), rng.standard_normal((4, 4))
    a, b = ti.jit(f)(x, w)
    want_a = np.exp(x @ w)
    np.testing.assert_allclose(a, want_a, rtol=1e-12)
    np.testing.assert_allclose(b, (np.tanh(want_a) + want_a) * 2.0, rtol=1e-12)


def test_a_broadcast_or_transposed_read_is_not_overwritten() -> None:
    def f(x: Any, w: Any) -> Any:
        p = x @ w  # square
        q = p + p.T  # reads p through two maps: no in-place write into p
        r = q * p.sum(axis=0, keepdims=True)
        return r - p

    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((5, 5)), rng.standard_normal((5, 5))
    p = x @ w
    want = (p + p.T) * p.sum(axis=0, keepdims=True) - p
    for inplace in (True, False):
        np.testing.assert_allclose(run(f, [x, w], inplace), want, rtol=1e-12)


# Random programs over square matrices: each node applies one op to earlier
# nodes, chosen so that values are reused at random distances (a buffer dies
# at its last reader), through transposes and row broadcasts.

UNARY = {"exp": (ti.exp, np.exp), "tanh": (ti.tanh, np.tanh), "neg": (lambda a: -a, lambda a: -a),
         "T": (lambda a: a.T, lambda a: a.T), "colsum": (lambda a: a - a.sum(axis=0, keepdims=True) * 0.1,
                                                    lambda a: a - a.sum(axis=0, keepdims=True) * 0.1)}
BINARY = {"add": (lambda a, b: a + b, np.add), "mul": (lambda a, b: a * b * 0.5, lambda a, b: a * b * 0.5),
          "matmul": (lambda a, b: ti.tanh(a @ b), lambda a, b: np.tanh(a @ b))}


@st.composite
def programs(draw: Any) -> tuple[list[tuple], list[int]]:
    nodes: list[tuple] = []
    for i in range(draw(st.integers(2, 9))):
        avail = i + 2  # two inputs, then nodes
        if draw(st.booleans()):
            nodes.append((draw(st.sampled_from(sorted(UNARY))), draw(st.integers(0, avail - 1))))
        else:
            nodes.append((draw(st.sampled_from(sorted(BINARY))), draw(st.integers(0, avail - 1)),
                          draw(st.integers(0, avail - 1))))
    total = len(nodes) + 2
    outs = draw(st.lists(st.integers(2, total - 1), min_size=1, max_size=3))
    return nodes, outs


def evaluate(nodes: list[tuple], outs: list[int], x: Any, w: Any, numpy: bool) -> tuple:
    values = [x, w]
    k = 1 if numpy else 0
    for name, *ops in nodes:
        fn = (UNARY.get(name) or BINARY[name])[k]
        values.append(fn(*[values[o] for o in ops]))
    return tuple(values[o] for o in outs)


@settings(max_examples=60, deadline=None)
@given(programs(), st.integers(1, 6))
def test_random_programs_agree_with_numpy_and_without_reuse(program: tuple, n: int) -> None:
    nodes, outs = program
    rng = np.random.default_rng(n)
    x, w = rng.standard_normal((n, n)) * 0.5, rng.standard_normal((n, n)) * 0.5

    def f(x: Any, w: Any) -> Any:
        return evaluate(nodes, outs, x, w, numpy=False)

    want = evaluate(nodes, outs, x, w, numpy=True)
    got = run(f, [x, w], inplace=True)
    plain = run(f, [x, w], inplace=False)
    for g, p, e in zip(got, plain, want):
        np.testing.assert_array_equal(g, p)
        np.testing.assert_allclose(g, np.broadcast_to(e, g.shape), rtol=1e-9, atol=1e-12)


def test_peak_memory_of_a_call_drops_with_reuse() -> None:
    """benchmarks/memory.py: 4 x tanh(h @ w) over 512x512 float32 (1 MiB a matrix).

    Without reuse, 7 intermediates (4 gemm outputs, 3 tanh outputs) stay
    allocated until the end: about 8 MiB with the result. With it, the tanhs
    run in place, the third gemm takes the first one's dead buffer and the
    last gemm writes into the result: the result and one buffer, 2 MiB."""
    if not os.path.exists("/proc/self/clear_refs"):
        pytest.skip("needs Linux's /proc/self/clear_refs")
    mib = 1024 * 1024
    with_reuse = memory.peak_bytes("chain", "tensorir", 512) / mib
    without = memory.peak_bytes("chain", "tensorir-no-inplace", 512) / mib
    assert without >= 6.5, without
    assert with_reuse <= 3.0, with_reuse


def test_inplace_setting() -> None:
    old = ti.config.inplace
    try:
        ti.config.inplace = "false"
        assert ti.config.inplace is False
        ti.config.inplace = 1 == 1
        assert ti.config.inplace is True
        with pytest.raises(ArgumentError, match=r"inplace must be True or False, found 'maybe'"):
            ti.config.inplace = "maybe"
    finally:
        ti.config.inplace = old
    assert Config("inplace=False").inplace is False
    assert Config("").inplace is True
