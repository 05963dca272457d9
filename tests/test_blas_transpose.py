"""matmul of a swapped-axes operand calls gemm with CblasTrans, without a copy.

``a.T @ b``, ``a @ b.T`` and ``swapaxes(a, -1, -2) @ b`` read the untransposed
buffer: no transposing ``linalg.generic`` is left after bufferization and
the gemm call carries ``CblasTrans`` (112) for that operand.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import tensorir as ti
from tensorir.dialects import new_context
from tensorir.dialects._bindings import ir, walk
from tensorir.lowering.linalg import linalg_to_blas
from test_blas_threads import doubled_in_place

TOL = {"float32": {"rtol": 2e-5, "atol": 2e-5}, "float64": {"rtol": 1e-12, "atol": 1e-12}}
NO_TRANS, TRANS = 111, 112


def _copies(bufferized: str) -> list[str]:
    """The ``linalg.generic`` ops of ``bufferized`` IR that copy a permuted input."""
    found = []
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(bufferized)
        for op in walk(module.operation, ["linalg.generic"]):
            if len(op.operands) != 2:
                continue
            block = op.regions[0].blocks[0]
            body = list(block.operations)
            if len(body) != 1 or body[0].operands[0] != block.arguments[0]:
                continue
            read = ir.AffineMapAttr(ir.ArrayAttr(op.attributes["indexing_maps"])[0]).value
            if read.is_permutation and read != ir.AffineMap.get_identity(read.n_dims):
                found.append(str(op))
    return found


def _gemm_flags(llvm_ir: str) -> list[tuple[int, int]]:
    """``(TransA, TransB)`` of every gemm call (plain or batch-strided)."""
    calls = re.findall(r"call void @scipy_cblas_[sd]gemm\w*\(i32 101, i32 (\d+), i32 (\d+),", llvm_ir)
    return [(int(a), int(b)) for a, b in calls]


# name -> (function, NumPy reference, stored operand shapes with free dims of
# any size but 1 (one compile serves them), stored shapes with unit dims (a
# size-1 dim is static, as broadcastable dims are: each pattern compiles once))
FORMS = {
    "a.T @ b": (
        lambda a, b: a.T @ b,
        lambda a, b: a.T @ b,
        [((4, 3), (4, 5)), ((7, 2), (7, 3)), ((0, 3), (0, 5)), ((5, 0), (5, 2)), ((3, 4), (3, 0))],
        [((1, 1), (1, 6)), ((7, 2), (7, 1)), ((1, 3), (1, 5)), ((4, 1), (4, 3))],
    ),
    "a @ b.T": (
        lambda a, b: a @ b.T,
        lambda a, b: a @ b.T,
        [((3, 4), (5, 4)), ((2, 7), (3, 7)), ((3, 0), (5, 0)), ((0, 5), (2, 5)), ((4, 3), (0, 3))],
        [((1, 1), (6, 1)), ((2, 7), (1, 7)), ((3, 1), (5, 1)), ((1, 4), (3, 4))],
    ),
    "a.T @ b.T": (
        lambda a, b: a.T @ b.T,
        lambda a, b: a.T @ b.T,
        [((4, 3), (5, 4)), ((7, 2), (3, 7)), ((0, 3), (5, 0)), ((2, 0), (0, 2))],
        [((1, 1), (6, 1)), ((5, 1), (1, 5)), ((1, 3), (2, 1))],
    ),
    "swapaxes(a) @ b": (
        lambda a, b: ti.swapaxes(a, -1, -2) @ b,
        lambda a, b: np.swapaxes(a, -1, -2) @ b,
        [((2, 4, 3), (2, 4, 5)), ((3, 7, 2), (3, 7, 4)), ((2, 0, 3), (2, 0, 5)), ((0, 4, 3), (0, 4, 5))],
        [((1, 1, 1), (1, 1, 6)), ((1, 4, 3), (2, 4, 5)), ((3, 7, 2), (3, 7, 1))],
    ),
    "a @ swapaxes(b)": (
        lambda a, b: a @ ti.swapaxes(b, -1, -2),
        lambda a, b: a @ np.swapaxes(b, -1, -2),
        [((2, 3, 4), (2, 5, 4)), ((3, 2, 7), (3, 4, 7)), ((2, 3, 0), (2, 5, 0))],
        [((1, 1, 1), (1, 6, 1)), ((2, 3, 4), (1, 5, 4)), ((3, 2, 7), (3, 1, 7))],
    ),
    "4-D swapaxes both": (
        lambda a, b: ti.swapaxes(a, -1, -2) @ ti.swapaxes(b, -1, -2),
        lambda a, b: np.swapaxes(a, -1, -2) @ np.swapaxes(b, -1, -2),
        [((2, 3, 4, 3), (2, 3, 5, 4)), ((3, 2, 0, 2), (3, 2, 3, 0))],
        [((2, 1, 4, 1), (2, 1, 1, 4)), ((1, 3, 4, 2), (2, 1, 5, 4))],
    ),
}
EXPECTED_FLAGS = {
    "a.T @ b": (TRANS, NO_TRANS),
    "a @ b.T": (NO_TRANS, TRANS),
    "a.T @ b.T": (TRANS, TRANS),
    "swapaxes(a) @ b": (TRANS, NO_TRANS),
    "a @ swapaxes(b)": (NO_TRANS, TRANS),
    "4-D swapaxes both": (TRANS, TRANS),
}


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_compile_serves_every_size_and_matches_numpy(form: str, dtype: str, rng: np.random.Generator) -> None:
    fn, ref, shapes, _ = FORMS[form]
    f = ti.jit(fn)
    for sa, sb in shapes:
        a, b = (rng.standard_normal(s).astype(dtype) for s in (sa, sb))
        got, want = f(a, b), ref(a, b)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, **TOL[dtype])
    assert f.compile_count == 1


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unit_dims_match_numpy_without_a_copy(form: str, dtype: str, rng: np.random.Generator) -> None:
    fn, ref, _, unit_shapes = FORMS[form]
    f = ti.jit(fn)
    for sa, sb in unit_shapes:
        a, b = (rng.standard_normal(s).astype(dtype) for s in (sa, sb))
        got, want = f(a, b), ref(a, b)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, **TOL[dtype])
        assert _copies(f.lower(a, b).as_text("bufferized")) == []


@pytest.mark.parametrize("form", sorted(FORMS))
def test_no_transpose_copy_and_gemm_gets_the_trans_flag(form: str) -> None:
    fn, _, shapes, _ = FORMS[form]
    a, b = (np.ones(s, np.float32) for s in shapes[0])
    low = ti.jit(fn).lower(a, b)
    assert _copies(low.as_text("bufferized")) == []
    assert _gemm_flags(low.as_text("llvm-ir")) == [EXPECTED_FLAGS[form]]


def test_leading_dimensions_are_the_stored_last_axes() -> None:
    """Transposed A stored (K, M): lda = M; transposed B stored (N, K): ldb = K.

    M, K and N all differ, so a leading dimension taken from the wrong axis
    reads the wrong elements (or past the buffer).
    """
    rng = np.random.default_rng(0)
    f = ti.jit(lambda a, b: a.T @ b.T)
    for m, k, n in [(3, 5, 7), (9, 2, 4), (2, 11, 3)]:
        a, b = rng.standard_normal((k, m)), rng.standard_normal((n, k))
        np.testing.assert_allclose(f(a, b), a.T @ b.T, rtol=1e-12, atol=1e-12)
    assert f.compile_count == 1
    call = re.search(r"call void @scipy_cblas_dgemm\((.*)\)", f.lower(a, b).as_text("llvm-ir")).group(1)
    args = [x.strip() for x in call.split(",")]
    assert args[:3] == ["i32 101", "i32 112", "i32 112"] and len(args) == 14


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_static_unit_dims_and_broadcast_batch(dtype: str, rng: np.random.Generator) -> None:
    """Constants have static shapes: unit matrix axes and a broadcast unit batch axis."""
    c = rng.standard_normal((1, 4, 3)).astype(dtype)  # static batch 1 broadcasts against b
    row = rng.standard_normal((1, 3)).astype(dtype)  # static K = 1 once transposed
    f = ti.jit(lambda b: ti.swapaxes(c, -1, -2) @ b)
    g = ti.jit(lambda b: row.T @ b)
    for n in (5, 3, 0):
        b = rng.standard_normal((2, 4, n)).astype(dtype)
        np.testing.assert_allclose(f(b), np.swapaxes(c, -1, -2) @ b, **TOL[dtype])
        b1 = rng.standard_normal((1, n)).astype(dtype)
        np.testing.assert_allclose(g(b1), row.T @ b1, **TOL[dtype])
    assert f.compile_count == 1 and g.compile_count == 1
    # fast_run folds the transpose of the constant at compile time; without
    # folding (fast_compile) gemm reads the untransposed constant
    b = np.ones((2, 4, 5), dtype)
    assert _gemm_flags(f.lower(b).as_text("llvm-ir")) == [(NO_TRANS, NO_TRANS)]
    unfolded = ti.jit(lambda b: ti.swapaxes(c, -1, -2) @ b, pipeline="fast_compile")
    assert _gemm_flags(unfolded.lower(b).as_text("llvm-ir")) == [(TRANS, NO_TRANS)]


def test_matrix_vector_forms_use_the_flag(rng: np.random.Generator) -> None:
    w, v, u = rng.standard_normal((4, 3)), rng.standard_normal(4), rng.standard_normal(3)
    f, g = ti.jit(lambda w, v: w.T @ v), ti.jit(lambda v, w: v @ w.T)
    np.testing.assert_allclose(f(w, v), w.T @ v, rtol=1e-12)
    np.testing.assert_allclose(g(u, w), u @ w.T, rtol=1e-12)
    assert _gemm_flags(f.lower(w, v).as_text("llvm-ir")) == [(TRANS, NO_TRANS)]
    assert _gemm_flags(g.lower(u, w).as_text("llvm-ir")) == [(NO_TRANS, TRANS)]
    assert _copies(f.lower(w, v).as_text("bufferized")) == []


def test_transpose_with_another_user_keeps_its_copy_for_that_user(rng: np.random.Generator) -> None:
    f = ti.jit(lambda a, b: (a.T @ b, a.T * 2))
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 5))
    got_mm, got_t = f(a, b)
    np.testing.assert_allclose(got_mm, a.T @ b, rtol=1e-12)
    np.testing.assert_array_equal(got_t, a.T * 2)
    assert _gemm_flags(f.lower(a, b).as_text("llvm-ir")) == [(TRANS, NO_TRANS)]


def test_elementwise_source_is_not_fused_into_the_contraction(rng: np.random.Generator) -> None:
    f = ti.jit(lambda a, b: ti.tanh(a * 2).T @ ti.exp(b).T)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((5, 4))
    np.testing.assert_allclose(f(a, b), np.tanh(a * 2).T @ np.exp(b).T, rtol=1e-12)
    low = f.lower(a, b)
    text = low.as_text("bufferized")
    assert "memref.copy" not in text and 'library_call = "scipy_cblas_dgemm"' in text
    assert _gemm_flags(low.as_text("llvm-ir")) == [(TRANS, TRANS)]


def test_strided_source_is_copied_contiguous_then_transposed_by_blas(rng: np.random.Generator) -> None:
    f = ti.jit(lambda a, b: a[:, ::2].T @ b)
    a, b = rng.standard_normal((5, 8)), rng.standard_normal((5, 3))
    np.testing.assert_allclose(f(a, b), a[:, ::2].T @ b, rtol=1e-12)
    assert _gemm_flags(f.lower(a, b).as_text("llvm-ir")) == [(TRANS, NO_TRANS)]


@pytest.mark.parametrize(
    "fn, ref, sa, sb",
    [
        (lambda a, b: ti.transpose(a, (1, 0, 2)) @ b, lambda a, b: np.transpose(a, (1, 0, 2)) @ b, (3, 2, 4), (2, 4, 5)),
        (lambda a, b: a.T @ b, lambda a, b: a.T @ b, (4, 3, 2), (2, 4, 5)),  # full reversal of a 3-D array
    ],
)
def test_other_permutations_keep_the_copy(fn, ref, sa: tuple, sb: tuple, rng: np.random.Generator) -> None:
    f = ti.jit(fn)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    np.testing.assert_allclose(f(a, b), ref(a, b), rtol=1e-12)
    low = f.lower(a, b)
    assert len(_copies(low.as_text("bufferized"))) == 1
    assert _gemm_flags(low.as_text("llvm-ir")) == [(NO_TRANS, NO_TRANS)]


def test_integer_matmul_of_a_transpose_stays_a_loop_nest(rng: np.random.Generator) -> None:
    f = ti.jit(lambda a, b: a.T @ b)
    a, b = rng.integers(-5, 6, (4, 3)), rng.integers(-5, 6, (4, 5))
    np.testing.assert_array_equal(f(a, b), a.T @ b)
    assert "scipy_cblas" not in f.lower(a, b).as_text("llvm-ir")


def test_gradients_read_through_the_transposes(rng: np.random.Generator) -> None:
    """d/dw sum((x w)^2) = 2 x^T (x w) and d/dx = 2 (x w) w^T, both without copies."""
    g = ti.grad(lambda w, x: ((x @ w) ** 2).sum(), argnums=(0, 1))
    for dtype in ("float32", "float64"):
        for n in (6, 1, 0):
            w = rng.standard_normal((5, 3)).astype(dtype)
            x = rng.standard_normal((n, 5)).astype(dtype)
            gw, gx = g(w, x)
            np.testing.assert_allclose(gw, 2 * x.T @ (x @ w), **TOL[dtype])
            np.testing.assert_allclose(gx, 2 * (x @ w) @ w.T, **TOL[dtype])
    low = g.lower(w, x)
    assert _copies(low.as_text("bufferized")) == []
    assert sorted(_gemm_flags(low.as_text("llvm-ir"))) == [(NO_TRANS, NO_TRANS), (NO_TRANS, TRANS), (TRANS, NO_TRANS)]


UNKNOWN_MAPS = """
#a = affine_map<(m, n, k) -> (m, n)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
module {
  func.func @f(%a: memref<?x?xf32>, %b: memref<?x?xf32>, %c: memref<?x?xf32>) {
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"],
                    library_call = "scipy_cblas_sgemm"}
        ins(%a, %b : memref<?x?xf32>, memref<?x?xf32>) outs(%c : memref<?x?xf32>) {
    ^bb0(%x: f32, %y: f32, %acc: f32):
      %p = arith.mulf %x, %y : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
    return
  }
}
"""


def test_marked_contraction_with_unknown_maps_is_left_as_a_loop_nest() -> None:
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(UNKNOWN_MAPS)
        linalg_to_blas(module.operation)
        text = str(module)
        assert "linalg.generic" in text and "call @scipy_cblas" not in text


# A gemm in a loop reading B transposed; {write} may write B inside the loop.
LOOP_IR = """
#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#bt = affine_map<(d0, d1, d2) -> (d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func public @steps(%h: memref<?x?xf32>, %w: memref<?x?xf32>, %out: memref<?x?xf32> {{tir.out}}, %n: index) {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {{
    {write}
    linalg.generic {{indexing_maps = [#a, #bt, #c], iterator_types = ["parallel", "parallel", "reduction"], library_call = "scipy_cblas_sgemm"}} ins(%h, %w : memref<?x?xf32>, memref<?x?xf32>) outs(%out : memref<?x?xf32>) {{
    ^bb0(%in: f32, %in_0: f32, %o: f32):
      %0 = arith.mulf %in, %in_0 : f32
      %1 = arith.addf %o, %0 : f32
      linalg.yield %1 : f32
    }}
  }}
  return
}}
"""

_DOUBLE_W = doubled_in_place("%w")


@pytest.mark.parametrize("written", [False, True])
def test_loop_invariant_transposed_operand_is_copied_once_before_the_loop(written: bool) -> None:
    """``h @ W.T`` at every step of a loop that leaves ``W`` alone: ``W.T`` is
    made row-major once before the loop (freed after it), and gemm reads it
    untransposed; when the loop writes ``W``, gemm keeps reading it in place."""
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(LOOP_IR.format(write=_DOUBLE_W if written else ""))
        linalg_to_blas(module.operation, threads=1)
        module.operation.verify()
        fn = [op for op in walk(module.operation, ["func.func"]) if "steps" in str(op.attributes["sym_name"])][0]
        top = [v.operation.name for v in fn.regions[0].blocks[0].operations]
        loop = top.index("scf.for")
        text = str(module)
        if written:
            assert "memref.alloc" not in text and f"arith.constant {TRANS} : i32" in text
        else:
            assert top[loop - 1] == "linalg.generic" and "memref.alloc" in top[:loop]
            assert top[loop + 1] == "memref.dealloc"
            assert f"arith.constant {TRANS} : i32" not in text


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_scan_reading_a_transposed_weight_matches_numpy(dtype: str, rng: np.random.Generator) -> None:
    """A recurrence through ``W.T`` and its gradient, against NumPy."""
    w = rng.standard_normal((24, 24)).astype(dtype) / 5
    xs = rng.standard_normal((7, 3, 24)).astype(dtype)

    def loss(w, xs):
        hs, _ = ti.scan(lambda x_t, h: ti.tanh(h @ w.T + x_t), sequences=xs, outputs_info=ti.zeros((3, 24), xs.dtype))
        return hs.sum()

    value, dw = ti.jit(ti.value_and_grad(loss))(w, xs)
    h, want, hs = np.zeros((3, 24)), 0.0, []
    for x_t in xs.astype(np.float64):
        h = np.tanh(h @ w.T.astype(np.float64) + x_t)
        hs.append(h)
        want += h.sum()
    np.testing.assert_allclose(value, want, rtol=1e-5 if dtype == "float32" else 1e-12)
    # the gradient, through backpropagation in float64
    g, dw_want = np.zeros((3, 24)), np.zeros((24, 24))
    w64 = w.astype(np.float64)
    for t in range(len(xs) - 1, -1, -1):
        da = (1 + g) * (1 - hs[t] ** 2)
        prev = hs[t - 1] if t else np.zeros((3, 24))
        dw_want += da.T @ prev
        g = da @ w64
    np.testing.assert_allclose(dw, dw_want, rtol=1e-4 if dtype == "float32" else 1e-10, atol=1e-5)
