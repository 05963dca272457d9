"""gemm reads strided views in place, and no copy calls ``memrefCopy``.

A slice of columns, a block of rows or a step of a stack has rows that are
not packed, but its last axis has stride 1: ``tir-linalg-to-blas`` passes it
to gemm with its offset and its row stride as the leading dimension. Copies
that remain between strided buffers are loops (``tir-strided-copies``), not
the runtime's element-at-a-time ``memrefCopy``. Results are checked against
NumPy in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import tensorir as ti

RNG = np.random.default_rng(7)


def _rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


CASES = {
    "column block @ w": (lambda x, w: x[:, 2:7] @ w[1:6], (9, 11), (8, 5)),
    "row block @ w": (lambda x, w: x[3:8] @ w[:11], (9, 11), (12, 4)),
    "one row": (lambda x, w: x[4:5] @ w[:11], (9, 11), (11, 3)),
    "x @ column block": (lambda x, w: x @ w[:, 1:4], (6, 11), (11, 7)),
    "transposed column block": (lambda x, w: x[:, 2:6].T @ w[:9], (9, 11), (9, 3)),
    "empty contraction": (lambda x, w: x[:, 3:3] @ w[0:0], (5, 4), (2, 6)),
    "batched column block": (lambda x, w: x[:, :, 1:5] @ w[2:6], (3, 4, 7), (6, 5)),
    "batched step slice": (lambda x, w: x[1:3] @ w, (4, 5, 6), (6, 2)),
    "block @ block.T": (lambda x, w: x[1:5, 2:9] @ x[3:8, 2:9].T, (9, 11), (1, 1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_of_views_matches_numpy(name: str, dtype: str) -> None:
    fn, xs, ws = CASES[name]
    x, w = _rand(*xs), _rand(*ws)
    got = ti.jit(fn)(x.astype(dtype), w.astype(dtype))
    want = fn(x, w)
    assert got.shape == want.shape
    tol = 2e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_column_block_is_not_copied() -> None:
    """The gemm of ``x[:, 2:7] @ w`` reads ``x`` in place: no buffer is
    allocated for the slice in the lowered function."""
    x, w = _rand(9, 11).astype(np.float32), _rand(5, 4).astype(np.float32)
    llvm = ti.jit(lambda x, w: x[:, 2:7] @ w).lower(x, w).as_text("llvm")
    assert "scipy_cblas_sgemm" in llvm
    assert "malloc" not in llvm and "memcpy" not in llvm


def _rnn_loss(w, u, xs):
    h0 = ti.zeros((xs.shape[1], w.shape[0]), xs.dtype)
    hs, _ = ti.scan(lambda x_t, h: ti.tanh(h @ w + x_t @ u), sequences=xs, outputs_info=h0)
    return hs.sum()


def test_rnn_gradient_has_no_element_copies() -> None:
    """The RNN gradient writes steps into stacks and reads them back as gemm
    operands; none of those copies goes through ``memrefCopy``, and its value
    and gradients match backpropagation through time in float64."""
    steps, batch, d, h = 7, 3, 4, 5
    w, u, xs = _rand(h, h) / np.sqrt(h), _rand(d, h) / np.sqrt(d), _rand(steps, batch, d)
    vg = ti.jit(ti.value_and_grad(_rnn_loss, argnums=(0, 1)))
    assert "memrefCopy" not in vg.lower(w, u, xs).as_text("llvm")
    value, (dw, du) = vg(w, u, xs)

    hs = np.zeros((steps + 1, batch, h))
    for t in range(steps):
        hs[t + 1] = np.tanh(hs[t] @ w + xs[t] @ u)
    da, carry = np.empty((steps, batch, h)), np.zeros((batch, h))
    for t in range(steps - 1, -1, -1):
        da[t] = (1 + carry) * (1 - hs[t + 1] ** 2)
        carry = da[t] @ w.T
    np.testing.assert_allclose(value, hs[1:].sum(), rtol=1e-12)
    np.testing.assert_allclose(dw, hs[:-1].reshape(-1, h).T @ da.reshape(-1, h), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(du, xs.reshape(-1, d).T @ da.reshape(-1, h), rtol=1e-10, atol=1e-12)


def test_strided_copy_of_transposed_stack_rows() -> None:
    """A copy whose source is transposed (inner stride not 1) is a loop nest
    with the right element order."""
    x = _rand(4, 6, 5)
    f = ti.jit(lambda x: ti.transpose(x, (0, 2, 1)) * 1.0 + 0.0)
    np.testing.assert_array_equal(f(x), np.transpose(x, (0, 2, 1)))
    assert "memrefCopy" not in f.lower(x).as_text("llvm")
