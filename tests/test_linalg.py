"""matmul (every NumPy form), dot, vdot, outer: numerics, shapes, errors, BLAS."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tensorir as ti
from conftest import assert_matches
from tensorir.dialects import new_context
from tensorir.dialects._bindings import ir
from tensorir.lowering import cpu
from tensorir.lowering.linalg import linalg_to_blas

DTYPES = ("float32", "float64", "int32", "int64")
TOL = {"float32": {"rtol": 2e-5, "atol": 1e-5}, "float64": {"rtol": 1e-12, "atol": 1e-12}}

mm = ti.jit(lambda a, b: a @ b)


def _array(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if dtype.startswith("int"):
        return rng.integers(-5, 6, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


@st.composite
def matmul_shapes(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Operand shapes of every matmul form, batch dims broadcasting, sizes 0..4."""
    size = st.integers(0, 4)
    m, n, k = draw(size), draw(size), draw(size)
    rank_a, rank_b = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch = [draw(st.integers(0, 3)) for _ in range(max(rank_a, rank_b) - 2)]
    ba = [d if draw(st.booleans()) else 1 for d in batch[len(batch) - max(rank_a - 2, 0):]]
    bb = [d if draw(st.booleans()) else 1 for d in batch[len(batch) - max(rank_b - 2, 0):]]
    a = (k,) if rank_a == 1 else (*ba, m, k)
    b = (k,) if rank_b == 1 else (*bb, k, n)
    return a, b


@given(shapes=matmul_shapes(), dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**16))
def test_matmul_matches_numpy(shapes: tuple, dtype: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = (_array(rng, s, dtype) for s in shapes)
    got = mm(a, b)
    want = np.matmul(a, b)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, **TOL.get(dtype, {"rtol": 0, "atol": 0}))


@pytest.mark.parametrize(
    "sa, sb",
    [((5,), (5,)), ((3, 5), (5,)), ((5,), (5, 4)), ((3, 5), (5, 4)), ((2, 3, 5), (5, 4)), ((5,), (2, 5, 4)),
     ((2, 1, 3, 5), (4, 5, 2)), ((1, 3, 5), (2, 5, 4))],
)
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_form_matches_the_reference_interpreter(sa: tuple, sb: tuple, dtype: str, rng: np.random.Generator) -> None:
    f = ti.jit(lambda a, b: ti.matmul(a, b))
    a, b = _array(rng, sa, dtype), _array(rng, sb, dtype)
    assert_matches(f, a, b, expected=np.matmul(a, b), **TOL.get(dtype, {}))


def test_one_compile_serves_every_batch_and_matrix_size(rng: np.random.Generator) -> None:
    f = ti.jit(lambda a, b: a @ b)
    for batch, m, k, n in [(2, 3, 4, 5), (7, 2, 9, 3), (0, 3, 4, 5), (3, 0, 4, 5), (3, 4, 0, 5), (3, 4, 5, 0)]:
        a, b = rng.standard_normal((batch, m, k)), rng.standard_normal((batch, k, n))
        np.testing.assert_allclose(f(a, b), a @ b, rtol=1e-12, atol=1e-12)
    assert f.compile_count == 1


@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_contraction_gives_zeros(dtype: str) -> None:
    a, b = np.ones((3, 0), dtype), np.ones((0, 4), dtype)
    out = mm(a, b)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, np.zeros((3, 4), dtype))
    np.testing.assert_array_equal(mm(np.ones(0, dtype), np.ones(0, dtype)), np.zeros((), dtype))


def test_result_buffer_is_fully_written_when_k_is_zero() -> None:
    """The zero fill is dropped before gemm (beta = 0); gemm must still zero C."""
    for _ in range(5):
        garbage = np.full((64, 64), np.nan)  # leave NaNs in freed memory
        del garbage
        out = mm(np.ones((64, 0)), np.ones((0, 64)))
        assert not np.isnan(out).any()
        np.testing.assert_array_equal(out, 0.0)


def test_static_inner_dim_mismatch_fails_while_tracing() -> None:
    f = ti.jit(lambda x: ti.matmul(np.ones((2, 3)), np.ones((4, 5))) + x)
    with pytest.raises(ti.ShapeError, match=r"matmul of shapes \(2, 3\) and \(4, 5\).*3 != 4") as info:
        f(np.ones(5))
    assert "test_linalg.py" in str(info.value)  # the user's line


def test_free_inner_dim_mismatch_fails_at_call_time_naming_both_arguments() -> None:
    def f(a, b):
        return a @ b

    g = ti.jit(f)
    g(np.ones((2, 3)), np.ones((3, 4)))
    with pytest.raises(ti.ShapeError) as info:
        g(np.ones((2, 3)), np.ones((4, 5)))
    text = str(info.value)
    assert "matmul of shapes (?, ?) and (?, ?)" in text
    assert "a.shape[1] = 3" in text and "b.shape[0] = 4" in text
    assert g.compile_count == 1


def test_matrix_vector_mismatch_message_names_the_vector_axis() -> None:
    with pytest.raises(ti.ShapeError, match="the only axis of the second") as info:
        mm(np.ones((2, 3)), np.ones(4))
    assert "b.shape[0] = 4" in str(info.value)


def test_batch_dims_that_do_not_broadcast_fail_at_call_time() -> None:
    with pytest.raises(ti.ShapeError, match="batch dims"):
        mm(np.ones((2, 3, 4)), np.ones((5, 4, 6)))


def test_scalar_and_bool_operands_are_refused() -> None:
    with pytest.raises(ti.ShapeError, match="rank >= 1.*multiply"):
        ti.jit(lambda a: a @ 2.0)(np.ones(3))
    with pytest.raises(ti.DTypeError, match="bool.*astype"):
        mm(np.ones((2, 2), bool), np.ones((2, 2), bool))


def test_int_times_float_promotes_as_numpy(rng: np.random.Generator) -> None:
    a = rng.integers(-3, 4, size=(3, 4)).astype(np.int32)
    b = rng.standard_normal((4, 2)).astype(np.float32)
    out = mm(a, b)
    assert out.dtype == np.matmul(a, b).dtype == np.float64
    np.testing.assert_allclose(out, np.matmul(a, b), rtol=1e-6)


def test_dot_follows_numpy_up_to_rank_two(rng: np.random.Generator) -> None:
    f = ti.jit(lambda a, b: ti.dot(a, b))
    for sa, sb in [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 2)), ((3, 4), (4, 2)), ((), (3, 2)), ((3,), ())]:
        a, b = rng.standard_normal(sa), rng.standard_normal(sb)
        np.testing.assert_allclose(f(a, b), np.dot(a, b), rtol=1e-12)
    m = ti.jit(lambda a, b: a.dot(b))
    np.testing.assert_allclose(m(np.ones((2, 3)), np.ones(3)), np.full(2, 3.0))
    with pytest.raises(ti.UnsupportedError, match="matmul"):
        f(np.ones((2, 3, 4)), np.ones((4, 2)))


def test_vdot_and_outer(rng: np.random.Generator) -> None:
    a, b = rng.standard_normal(5), rng.standard_normal(3)
    np.testing.assert_allclose(ti.jit(ti.vdot)(a, a), np.vdot(a, a), rtol=1e-12)
    f = ti.jit(lambda x, y: ti.outer(x, y))
    assert_matches(f, a, b, expected=np.outer(a, b))
    assert_matches(f, a.astype(np.int32), b.astype(np.int64), expected=np.outer(a.astype(np.int32), b.astype(np.int64)))
    with pytest.raises(ti.UnsupportedError, match="1-D"):
        f(np.ones((2, 2)), b)


@pytest.mark.parametrize(
    "dtype, sa, sb, callee",
    [
        ("float32", (8, 8), (8, 8), "scipy_cblas_sgemm("),
        ("float64", (8,), (8, 8), "scipy_cblas_dgemm("),
        ("float32", (3, 8, 8), (8, 8), "scipy_cblas_sgemm_batch_strided("),
        ("float64", (2, 3, 8, 8), (3, 8, 8), "scipy_cblas_dgemm_batch_strided("),
    ],
)
def test_float_matmul_calls_openblas(dtype: str, sa: tuple, sb: tuple, callee: str) -> None:
    llvm_ir = mm.lower(np.ones(sa, dtype), np.ones(sb, dtype)).as_text("llvm-ir")
    assert f"call void @{callee}" in llvm_ir


def test_int_matmul_is_a_loop_nest() -> None:
    assert "scipy_cblas" not in mm.lower(np.ones((4, 4), np.int64), np.ones((4, 4), np.int64)).as_text("llvm-ir")


def test_elementwise_producers_are_not_fused_into_the_contraction(rng: np.random.Generator) -> None:
    f = ti.jit(lambda a, b: ti.tanh(a * 2) @ ti.exp(b) + 1)
    for sa, sb in [((3, 4), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4, 5))]:
        a, b = rng.standard_normal(sa), rng.standard_normal(sb)
        low = f.lower(a, b)
        assert 'library_call = "scipy_cblas_dgemm"' in low.as_text("bufferized")
        assert "memref.copy" not in low.as_text("bufferized")
        assert "scipy_cblas_dgemm" in low.as_text("llvm-ir")
        np.testing.assert_allclose(f(a, b), np.tanh(a * 2) @ np.exp(b) + 1, rtol=1e-12)


def test_plain_matmul_writes_straight_into_the_output_buffer() -> None:
    text = mm.lower(np.ones((4, 4), np.float32), np.ones((4, 4), np.float32)).as_text("bufferized")
    assert "memref.alloc" not in text and "memref.copy" not in text


STRIDED = """
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
module {
  func.func @f(%a: memref<?x?xf32, strided<[?, ?], offset: ?>>, %b: memref<?x?xf32>, %c: memref<?x?xf32>) {
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"],
                    library_call = "scipy_cblas_sgemm"}
        ins(%a, %b : memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32>) outs(%c : memref<?x?xf32>) {
    ^bb0(%x: f32, %y: f32, %acc: f32):
      %p = arith.mulf %x, %y : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
    return
  }
}
"""


def test_strided_operand_is_copied_to_a_contiguous_buffer_before_gemm() -> None:
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(STRIDED)
        linalg_to_blas(module.operation)
        text = str(module)
        assert "memref.copy" in text and "memref.dealloc" in text
        assert "call @scipy_cblas_sgemm(" in text and "linalg.generic" not in text
        cpu.lower_to_llvm_dialect(module)
        assert "call void @scipy_cblas_sgemm(" in cpu.to_llvm_ir(module)


def test_reshaped_result_and_sliced_operands_still_call_blas(rng: np.random.Generator) -> None:
    f = ti.jit(lambda a, b: (a @ b).reshape((-1,)))
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    np.testing.assert_allclose(f(a, b), (a @ b).reshape(-1), rtol=1e-12)
    assert "scipy_cblas_dgemm" in f.lower(a, b).as_text("llvm-ir")
    g = ti.jit(lambda a, b: a[:, ::2] @ b.T)
    a, b = rng.standard_normal((3, 8)), rng.standard_normal((5, 4))
    np.testing.assert_allclose(g(a, b), a[:, ::2] @ b.T, rtol=1e-12)
    assert "scipy_cblas_dgemm" in g.lower(a, b).as_text("llvm-ir")


@pytest.mark.parametrize("form", ["row", "squeezed", "reshaped"])
def test_matmul_added_to_a_reshaped_value_keeps_its_blas_call(form: str, rng: np.random.Generator) -> None:
    """``h @ w + x[1]`` (a scan step reading a pushed-out sequence): reshape
    propagation through the add must not rebuild the gemm as a loop nest."""
    h = rng.standard_normal((5, 6)).astype(np.float32)
    w = rng.standard_normal((6, 7)).astype(np.float32)
    x = rng.standard_normal((3, 5, 7)).astype(np.float32)
    fn = {
        "row": lambda h, w, x: h @ w + x[1],
        "squeezed": lambda h, w, x: h @ w + ti.squeeze(x[1][None], 0),
        "reshaped": lambda h, w, x: h @ w + x[2].reshape(5, 7),
    }[form]
    ref = {"row": x[1], "squeezed": x[1], "reshaped": x[2]}[form]
    f = ti.jit(fn)
    np.testing.assert_allclose(f(h, w, x), h @ w + ref, rtol=1e-5, atol=1e-5)
    assert "call void @scipy_cblas_sgemm(" in f.lower(h, w, x).as_text("llvm-ir")
