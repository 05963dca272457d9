"""Streaming stores and sibling loop nests (lowering/streaming.py, siblings.py).

Results written with non-temporal stores (``ti.config.stream_minsize``) must
be bitwise identical to ordinary ones: the vector loop computes every lane
with the scalar body's operations, and the scalar head and tail take the
elements before the first 64-byte boundary of a row and after the last.
``stream_minsize = 0`` streams every result it can, so small arrays with odd
row lengths exercise heads and tails; a huge value turns streaming off.
"""

from __future__ import annotations

import contextlib
import platform
from typing import Any, Callable, Iterator

import numpy as np
import pytest

import tensorir as ti

OFF = 1 << 62
X86 = platform.machine().lower() in ("x86_64", "amd64")


@contextlib.contextmanager
def settings(stream_minsize: int, threads: int) -> Iterator[None]:
    before = ti.config.stream_minsize, ti.config.threads, ti.config.parallel_minsize
    ti.config.stream_minsize, ti.config.threads, ti.config.parallel_minsize = stream_minsize, threads, 0
    try:
        yield
    finally:
        ti.config.stream_minsize, ti.config.threads, ti.config.parallel_minsize = before


def streamed_and_plain(fn: Callable[..., Any], *args: np.ndarray, threads: int = 1) -> tuple[Any, Any, str]:
    """``fn``'s results compiled with streaming on everything and off, and the
    streamed version's LLVM IR."""
    outs = []
    for minsize in (0, OFF):
        with settings(minsize, threads):
            f = ti.jit(fn)
            outs.append(f(*args))
            if minsize == 0:
                text = f.lower(*args).as_text("llvm")
    return outs[0], outs[1], text


def identical(a: Any, b: Any) -> None:
    for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape
        assert np.array_equal(x, y, equal_nan=True), f"{np.count_nonzero(x != y)} elements differ"


def fused(a, b):  # noqa: ANN001, ANN201
    return ti.exp(a + b) * b - ti.tanh(a)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", [(100_003,), (301, 257), (3, 5, 1031), (7, 1), (0, 5), (33,)])
def test_streamed_elementwise_is_bitwise_identical(shape: tuple[int, ...], threads: int) -> None:
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(shape, np.float32), rng.random(shape, np.float32)
    a.flat[:3] = [np.inf, -np.inf, np.nan][: a.size] if a.size >= 3 else a.flat[:3]
    got, plain, llvm = streamed_and_plain(fused, a, b, threads=threads)
    identical(got, plain)
    with np.errstate(invalid="ignore", over="ignore"):
        want = np.exp(a + b, dtype=np.float64) * b - np.tanh(a, dtype=np.float64)
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6)
    assert ("nontemporal" in llvm) == X86


def test_broadcast_operands_and_float64() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((37, 1029))
    row, col = rng.standard_normal(1029), rng.standard_normal((37, 1))
    got, plain, llvm = streamed_and_plain(lambda x, r, c: x * r + c - 2.0, x, row, col)
    identical(got, plain)
    np.testing.assert_allclose(got, x * row + col - 2.0, rtol=1e-15)
    assert ("nontemporal" in llvm) == X86


def test_integer_results() -> None:
    x = np.arange(-5000, 5003, dtype=np.int32).reshape(-1, 7)
    got, plain, _ = streamed_and_plain(lambda x: x * 3 + 1, x)
    identical(got, plain)
    np.testing.assert_array_equal(got, x * 3 + 1)


@pytest.mark.parametrize("threads", [1, 2])
def test_softmax_pair_reads_once_and_matches(threads: int) -> None:
    """softmax and log_softmax of one x: joined into one loop nest writing
    both (tir-fuse-siblings), streamed, equal to the unstreamed results and
    to float64 NumPy."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((67, 1001)) * 5).astype(np.float32)

    def pair(x):  # noqa: ANN001, ANN202
        return ti.nn.softmax(x, axis=1), ti.nn.log_softmax(x, axis=1)

    (sm, lsm), plain, _ = streamed_and_plain(pair, x, threads=threads)
    identical((sm, lsm), tuple(plain))
    x64 = x.astype(np.float64)
    shifted = x64 - x64.max(axis=1, keepdims=True)
    want_lsm = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(lsm, want_lsm, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(sm, np.exp(want_lsm), rtol=1e-5, atol=1e-7)


def test_siblings_share_one_loop_nest() -> None:
    """The two outputs of the softmax pair are written by one loop nest."""
    from tensorir.dialects import new_context
    from tensorir.dialects._bindings import ir, walk
    from tensorir.lowering.siblings import fuse_siblings

    x = np.ones((8, 16), np.float32)
    f = ti.jit(lambda x: (ti.nn.softmax(x, axis=1), ti.nn.log_softmax(x, axis=1)))
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(f.lower(x).as_text("bufferized"))

        def result_writers() -> list[int]:
            """For each loop nest writing results, how many it writes."""
            counts = []
            for op in walk(module.operation, ["linalg.generic"]):
                n_in = int(ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"])[0])
                written = sum(isinstance(v.owner, ir.Block) for v in list(op.operands)[n_in:])
                if written:
                    counts.append(written)
            return counts

        assert result_writers() == [1, 1]
        fuse_siblings(module.operation)
        assert result_writers() == [2]


def test_stream_minsize_setting_is_checked() -> None:
    with pytest.raises(ti.errors.ArgumentError, match="stream_minsize must be an integer >= 0, found -1"):
        ti.config.stream_minsize = -1
    assert ti.config.stream_minsize == 4 << 20
