"""``tir-outline-serial`` (lowering/outline.py): the loops of a compiled
function's entry move to functions of their own, called directly, and the
entry, left as straight-line code, is compiled without optimisation.

The loops must still be optimised (vectorised: test_threads.py) and compute
what they did, with one thread and with two, and a loop moved out of the
entry that dispatches chunks of its own must link when code generation
deals the chunks out to several LLVM modules.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import tensorir as ti
from conftest import threads
from tensorir.lowering import cpu


def fused(a, b):  # noqa: ANN001, ANN201
    return ti.exp(a + b) * b - ti.tanh(a)


def _entry(text: str, name: str) -> str:
    """The LLVM-dialect function ``name`` of ``text``, header and body."""
    start = text.index(f"llvm.func @{name}(")
    return text[start : text.index("\n  }\n", start)]


@pytest.mark.parametrize("n", [1, 2])
def test_the_entry_calls_its_loops_and_is_not_optimised(n: int) -> None:
    a = np.linspace(-2, 2, 3000, dtype=np.float32).reshape(30, 100)
    with threads(n):
        f = ti.jit(fused)
        got = f(a, a)
        text = f.lower(a, a).as_text("llvm")
    np.testing.assert_allclose(got, np.exp(a + a) * a - np.tanh(a), rtol=2e-6, atol=1e-6)
    entry = _entry(text, "tir_fused")
    assert 'passthrough = ["optnone", "noinline"]' in entry.splitlines()[0]
    assert "llvm.cond_br" not in entry, "a loop was left in the entry"
    if n == 1:
        assert re.search(r"llvm.call @tir_fused_chunk\d+\(", entry)
    else:
        assert "llvm.call @tensorir_parallel_for(" in entry


def test_a_scan_loop_carrying_its_state_stays_and_is_optimised() -> None:
    """The loop over a scan's steps carries the state in results: it stays
    in the entry, which is then optimised as before; right with one thread
    and with two."""
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((16, 16)) / 4).astype(np.float64)
    xs = rng.standard_normal((7, 5, 16))

    def rnn(w, xs):  # noqa: ANN001, ANN202
        hs, _ = ti.scan(lambda x, h: ti.tanh(x + h @ w), sequences=xs, outputs_info=ti.zeros((5, 16), "float64"))
        return hs.sum()

    h, want = np.zeros((5, 16)), 0.0
    for x in xs:
        h = np.tanh(x + h @ w)
        want += h.sum()
    results = []
    for n in (1, 2):
        with threads(n):
            f = ti.jit(rnn)
            results.append(float(f(w, xs)))
            entry = _entry(f.lower(w, xs).as_text("llvm"), "tir_rnn")
        assert "optnone" not in entry.splitlines()[0] and "llvm.cond_br" in entry
    assert results[0] == results[1]
    assert results[0] == pytest.approx(want, rel=1e-12)


def test_a_moved_loop_dispatching_chunks_links_across_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batched gemm's loop over the batch, moved out of the entry, dispatches
    gemm chunks; with code generation in several parts the chunk it
    dispatches may live in another part than the loop (it used to be
    internal there, dropped as unused, and the loop called address 0)."""
    monkeypatch.setattr(ti.config, "cache", False)
    monkeypatch.setattr(cpu, "MIN_PART_OPS", 1)
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 2))]
    outs = []
    for n in (1, 2):
        with threads(n):
            jac = ti.jacobian(ti.matmul, argnums=(0, 1))
            outs.append([np.asarray(j) for j in jac(*xs)])
    ja, jb = outs[1]
    assert ja.shape == (2, 3, 2, 2, 3, 4) and jb.shape == (2, 3, 2, 4, 2)
    for one, two in zip(*outs):
        assert one.tobytes() == two.tobytes()
    # d(a @ b)[i, j, k] / d a[i, j, l] = b[l, k]
    np.testing.assert_array_equal(ja[1, 2, :, 1, 2, :], xs[1].T)
    np.testing.assert_array_equal(ja[0, 1, :, 1, 2, :], 0.0)
