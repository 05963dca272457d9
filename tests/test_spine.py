"""End-to-end: trace, lower, compile, call; one compile per signature."""

from __future__ import annotations

import numpy as np
import pytest

import tensorir as ti
from conftest import assert_matches


def test_fused_elementwise_matches_numpy(rng: np.random.Generator) -> None:
    @ti.jit
    def f(a, b):
        return ti.exp(a + b) * b - ti.tanh(a)

    a = rng.standard_normal(1000).astype(np.float32)
    b = rng.standard_normal(1000).astype(np.float32)
    assert_matches(f, a, b, expected=np.exp(a + b) * b - np.tanh(a))


def test_new_batch_size_does_not_recompile(rng: np.random.Generator) -> None:
    @ti.jit
    def f(x, w):
        return (x * w).sum(axis=1)

    for n in (3, 17, 1000, 0):
        x = rng.standard_normal((n, 8))
        w = rng.standard_normal(8)
        np.testing.assert_allclose(f(x, w), (x * w).sum(axis=1))
    assert f.compile_count == 1
    f(rng.standard_normal((4, 1)), rng.standard_normal(8))  # a dim of 1 is a new signature
    assert f.compile_count == 2


def test_stages_are_inspectable(rng: np.random.Generator) -> None:
    @ti.jit
    def f(x):
        return ti.exp(x) + 1.0

    x = rng.standard_normal(4).astype(np.float32)
    low = f.lower(x)
    assert '"tir.exp"' in low.as_text("tir")
    assert "linalg.generic" in low.as_text("linalg")
    assert "memref" in low.as_text("bufferized")
    assert "llvm.func" in low.as_text("llvm")
    assert "define void @tir_f" in low.as_text("llvm-ir")
    assert low.as_text("asm").strip()
    with pytest.raises(ValueError, match="unknown stage"):
        low.as_text("nope")


def test_weak_python_scalars_keep_float32() -> None:
    @ti.jit
    def f(x):
        return x * 2.0 + 1

    out = f(np.ones(3, np.float32))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.full(3, 3.0, np.float32))


def test_inputs_are_not_clobbered(rng: np.random.Generator) -> None:
    @ti.jit
    def f(x):
        return ti.exp(x) * 2

    x = rng.standard_normal(100)
    before = x.copy()
    f(x)
    np.testing.assert_array_equal(x, before)


def test_non_contiguous_inputs(rng: np.random.Generator) -> None:
    @ti.jit
    def f(x, y):
        return x * y + x

    x = rng.standard_normal((8, 6))[:, ::2]
    y = rng.standard_normal((3, 8)).T
    np.testing.assert_allclose(f(x, y), x * y + x)


def test_function_named_like_a_libm_symbol(rng: np.random.Generator) -> None:
    def erf(x):
        return ti.erf(x) + ti.sin(x)

    f = ti.jit(erf)
    x = rng.standard_normal(5)
    import math

    np.testing.assert_allclose(f(x), [math.erf(v) + math.sin(v) for v in x], rtol=1e-14)


def test_free_dims_take_part_in_arithmetic() -> None:
    f = ti.jit(lambda x: (x.sum(axis=0) / x.shape[0], x * (x.shape[1] + 1), 1.0 / x.size + x * 0))
    for n in (3, 5):
        x = np.arange(4.0 * n).reshape(n, 4)
        mean, scaled, inv = f(x)
        np.testing.assert_allclose(mean, x.mean(axis=0), rtol=1e-15)
        np.testing.assert_allclose(scaled, x * 5, rtol=1e-15)
        np.testing.assert_allclose(inv, np.full_like(x, 1.0 / x.size), rtol=1e-15)
    assert f.compile_count == 1
    x32 = np.ones((3, 2), np.float32)
    assert ti.jit(lambda x: x.sum() / x.shape[0])(x32).dtype == np.float32  # the dim is a weak int
    np.testing.assert_allclose(ti.grad(lambda x: (x ** 2).sum() / x.shape[0])(np.ones(4)), np.full(4, 0.5))
