"""Large gemms run on tensorir's threads; OpenBLAS itself on one.

``tir-linalg-to-blas`` with ``threads`` > 1 splits a gemm of at least
``GEMM_MINSIZE`` multiply-adds into chunks of rows of ``C`` (of the innermost
batch axis when batched; of its columns when it has fewer than ``FEW_ROWS``
rows, from ``GEMM_MINSIZE / COLUMN_SPLIT_GAIN``, or more columns than rows), each one single-threaded
OpenBLAS call, run by the parallel dispatcher. Results must match NumPy in float64 and the
single-threaded build, for row counts that are not multiples of the chunk's
16-row blocks, transposed and strided operands, broadcast batches, and empty
contractions.
"""

from __future__ import annotations

import ctypes
from typing import Any, Callable

import numpy as np
import pytest

import tensorir as ti
from conftest import threads as _threads
from tensorir.dialects import new_context
from tensorir.dialects._bindings import ir, walk
from tensorir.lowering.linalg import GEMM_MINSIZE, linalg_to_blas
from tensorir.runtime import blas

RNG = np.random.default_rng(11)


def threads(n: int):  # noqa: ANN201
    """``ti.config.threads = n`` inside; ``parallel_minsize`` as configured."""
    return _threads(n, None)


def _both(fn: Callable[..., Any], *args: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    outs, text = [], ""
    for n in (1, 2):
        with threads(n):
            f = ti.jit(fn)
            outs.append(f(*args))
            if n == 2:
                text = f.lower(*args).as_text("llvm")
    return outs[0], outs[1], text


CASES = {
    # name: (fn, shapes); every case but the small one does >= GEMM_MINSIZE multiply-adds
    "rows not a multiple of 16": (lambda a, b: a @ b, [(301, 160), (160, 200)]),
    "A transposed": (lambda a, b: a.T @ b, [(160, 301), (160, 200)]),
    "B transposed": (lambda a, b: a @ b.T, [(301, 160), (200, 160)]),
    "column block of A": (lambda a, b: a[:, 7:167] @ b, [(301, 180), (160, 200)]),
    "batched": (lambda a, b: a @ b, [(37, 64, 48), (37, 48, 64)]),
    "batched, broadcast B": (lambda a, b: a @ b, [(37, 64, 48), (48, 64)]),
    "two batch axes": (lambda a, b: a @ b, [(3, 13, 64, 48), (3, 13, 48, 64)]),
    "fewer rows than threads": (lambda a, b: a @ b, [(1, 3000), (3000, 1500)]),
    # fewer than FEW_ROWS rows: split into blocks of columns, from minsize / COLUMN_SPLIT_GAIN
    "few rows, columns split": (lambda a, b: a @ b, [(32, 256), (256, 257)]),
    "few rows, B transposed": (lambda a, b: a @ b.T, [(17, 300), (1001, 300)]),
    "few rows, column block of B": (lambda a, b: a @ b[:, 3:260], [(32, 256), (256, 270)]),
    # more columns than rows: split into blocks of columns
    "wide": (lambda a, b: a @ b, [(100, 300), (300, 701)]),
    "wide, B transposed": (lambda a, b: a @ b.T, [(100, 300), (701, 300)]),
    "wide, A transposed": (lambda a, b: a.T @ b, [(300, 100), (300, 701)]),
    "matrix-vector": (lambda a, b: a @ b, [(3001, 1500), (1500,)]),
    "small (one chunk)": (lambda a, b: a @ b, [(8, 9), (9, 10)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_threaded_gemm_matches(name: str, dtype: str) -> None:
    fn, shapes = CASES[name]
    args = [RNG.standard_normal(s) for s in shapes]
    one, two, text = _both(fn, *[a.astype(dtype) for a in args])
    want = fn(*args)
    tol = 3e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(two, want, rtol=tol, atol=tol * np.sqrt(shapes[0][-1]))
    np.testing.assert_allclose(one, two, rtol=tol, atol=tol)
    # the size test is made at run time (dims are free), so only a
    # matrix-vector product, which has no rows of C to split, has no dispatch
    assert ("tensorir_parallel_for" in text) == (name != "matrix-vector")


def test_empty_contraction_writes_zeros() -> None:
    a, b = np.ones((3000, 0), np.float32), np.ones((0, 2000), np.float32)
    with threads(2):
        got = ti.jit(lambda a, b: a @ b)(a, b)
    assert got.shape == (3000, 2000) and not got.any()


def test_openblas_runs_on_one_thread() -> None:
    with threads(2):
        ti.jit(lambda a, b: a @ b)(np.ones((4, 4), np.float32), np.ones((4, 4), np.float32))
    lib = ctypes.CDLL(blas.ensure_loaded())
    lib.scipy_openblas_get_num_threads.restype = ctypes.c_int
    assert lib.scipy_openblas_get_num_threads() == 1


GEMM_IR = """
#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func public @mm(%arg0: memref<?x?xf32>, %arg1: memref<?x?xf32>, %arg2: memref<?x?xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"], library_call = "scipy_cblas_sgemm"} ins(%arg0, %arg1 : memref<?x?xf32>, memref<?x?xf32>) outs(%arg2 : memref<?x?xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  }
  return
}
"""


def test_split_is_a_dispatch_of_a_chunk_function() -> None:
    """With two threads: the work (M*N*K) is compared with the minimum at run
    time, and the gemm call lives in a private chunk function the dispatcher
    runs; with one thread the call stays inline."""
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(GEMM_IR)
        linalg_to_blas(module.operation, threads=2)
        text = str(module)
        funcs = {ir.StringAttr(op.attributes["sym_name"]).value: op for op in walk(module.operation, ["func.func"])}
        assert set(funcs) == {"mm", "mm_chunk0", "scipy_cblas_sgemm", "tensorir_parallel_for"}
        assert f"arith.constant {GEMM_MINSIZE} : index" in text
        calls = [ir.FlatSymbolRefAttr(op.attributes["callee"]).value for op in walk(module.operation, ["func.call"])]
        assert sorted(calls) == ["scipy_cblas_sgemm", "tensorir_parallel_for"]
        chunk_calls = [op for op in walk(funcs["mm_chunk0"], ["func.call"])]
        assert len(chunk_calls) == 1
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(GEMM_IR)
        linalg_to_blas(module.operation, threads=1)
        assert "tensorir_parallel_for" not in str(module)


# Two gemms, and what may come between them, for the pairing tests: %x and
# %y are inputs, %o1 and %o2 result buffers (tir.out).
PAIR_IR = """
#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func public @two(%x: memref<?x?xf32>, %y: memref<?x?xf32>, %o1: memref<?x?xf32> {{tir.out}}, %o2: memref<?x?xf32> {{tir.out}}) {{
  %cst = arith.constant 0.000000e+00 : f32
  linalg.generic {{indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"], library_call = "scipy_cblas_sgemm"}} ins(%x, %y : memref<?x?xf32>, memref<?x?xf32>) outs(%o1 : memref<?x?xf32>) {{
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  }}
  {between}
  linalg.generic {{indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"], library_call = "scipy_cblas_sgemm"}} ins({a2}, %y : memref<?x?xf32>, memref<?x?xf32>) outs({c2} : memref<?x?xf32>) {{
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  }}
  {after}
  return
}}
"""

def doubled_in_place(buf: str) -> str:
    """IR doubling the 2-D f32 buffer ``buf`` in place (``#id``: the identity map)."""
    return (
        f"linalg.generic {{indexing_maps = [#id, #id], iterator_types = [\"parallel\", \"parallel\"]}} "
        f"ins({buf} : memref<?x?xf32>) outs({buf} : memref<?x?xf32>) {{\n"
        "  ^bb0(%in: f32, %acc: f32):\n    %0 = arith.addf %in, %in : f32\n    linalg.yield %0 : f32\n  }"
    )


_SCALE_X = doubled_in_place("%x")
_FRESH_C = """%c0 = arith.constant 0 : index
  %d0 = memref.dim %x, %c0 : memref<?x?xf32>
  %c1 = arith.constant 1 : index
  %d1 = memref.dim %y, %c1 : memref<?x?xf32>
  %fresh = memref.alloc(%d0, %d1) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]} outs(%fresh : memref<?x?xf32>) {
  ^bb0(%out: f32):
    linalg.yield %cst : f32
  }"""
_COPY_OUT = "memref.copy %fresh, %o2 : memref<?x?xf32> to memref<?x?xf32>"

PAIR_CASES = {
    # name: (between, second's A, second's C, after, paired?)
    "independent": ("", "%x", "%o2", "", True),
    "fresh result made in between": (_FRESH_C, "%x", "%fresh", _COPY_OUT, True),
    "reads the first's result": ("", "%o1", "%o2", "", False),
    "writes the first's result": ("", "%x", "%o1", "", False),
    "an input is written in between": (_SCALE_X, "%x", "%o2", "", False),
}


def _pairs_in(name: str) -> tuple[int, str]:
    from tensorir.lowering.gemm_pairs import find_pairs
    from tensorir.lowering.linalg import _gemm_layout

    between, a2, c2, after, _ = PAIR_CASES[name]
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(PAIR_IR.format(between=between, a2=a2, c2=c2, after=after))
        gemms = [op for op in walk(module.operation, ["linalg.generic"]) if "library_call" in op.attributes]
        pairs = find_pairs(gemms, _gemm_layout)
        module.operation.verify()
        return len(pairs), str(module)


@pytest.mark.parametrize("name", sorted(PAIR_CASES))
def test_independent_gemms_are_paired(name: str) -> None:
    """Two gemms are paired when neither touches what the other writes and
    nothing in between writes what the second uses; what the second needs
    (its result's allocation and sizes) moves up with it, and its zero fill
    goes (gemm overwrites it)."""
    count, text = _pairs_in(name)
    assert count == int(PAIR_CASES[name][4]), text
    if name == "fresh result made in between":
        body = text[text.index("@two"):]
        assert body.index("memref.alloc") < body.index("library_call")
        assert body.count("linalg.yield %cst") == 0  # the dead fill


def test_pair_runs_side_by_side_in_one_dispatch() -> None:
    """With two threads, a pair becomes a run-time choice: one dispatch of two
    chunks (one whole gemm each) when both are big enough and balanced, else
    each gemm on its own as before."""
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(PAIR_IR.format(between="", a2="%x", c2="%o2", after=""))
        linalg_to_blas(module.operation, threads=2)
        module.operation.verify()
        funcs = {ir.StringAttr(op.attributes["sym_name"]).value: op for op in walk(module.operation, ["func.func"])}
        side_by_side = [f for f in funcs.values() if len(walk(f, ["func.call"])) == 2]
        assert len(side_by_side) == 1  # the pair's chunk function: a gemm in each branch
        assert walk(side_by_side[0], ["scf.if"])
        from tensorir.lowering.linalg import PAIR_MINSIZE

        assert f"arith.constant {PAIR_MINSIZE} : index" in str(module)


PAIR_PROGRAMS = {
    # the two products of a gradient through x @ W: g @ W.T and x.T @ g
    "gradient products": (lambda g, w, x: (g @ w.T, x.T @ g), [(256, 300), (200, 300), (256, 200)]),
    # balanced but small: below the split size, still side by side
    "small pair": (lambda g, w, x: (g @ w.T, x.T @ g), [(64, 96), (90, 96), (64, 90)]),
    # unbalanced: one after the other, the large one split
    "unbalanced": (lambda a, b, c: (a @ b, c @ b), [(600, 300), (300, 200), (40, 300)]),
}


@pytest.mark.parametrize("name", sorted(PAIR_PROGRAMS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_paired_gemms_match(name: str, dtype: str) -> None:
    """Paired gemms give NumPy's float64 products, and with two threads
    exactly what one thread gives."""
    fn, shapes = PAIR_PROGRAMS[name]
    args = [RNG.standard_normal(s) for s in shapes]
    one, two, text = _both(fn, *[a.astype(dtype) for a in args])
    want = fn(*args)
    tol = 3e-5 if dtype == "float32" else 1e-12
    for got1, got2, w in zip(one, two, want):
        np.testing.assert_allclose(got2, w, rtol=tol, atol=tol * 20)
        np.testing.assert_array_equal(got1, got2)
    assert "tensorir_parallel_for" in text


KERNEL_SHAPES = [
    # (M, K, N): C with fewer than 64 rows, a multiple of 8, and a multiple
    # of 32 columns takes the register-blocked kernel (gemm_kernel.py); the
    # others call OpenBLAS
    (32, 256, 256), (8, 1, 32), (16, 0, 64), (56, 33, 96), (8, 300, 512),
    (12, 64, 64), (32, 64, 48), (64, 64, 64),
]


@pytest.mark.parametrize("shape", KERNEL_SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_few_row_kernel_matches_numpy_and_thread_counts(shape: tuple[int, int, int], dtype: str) -> None:
    """Few-row products, through the kernel or OpenBLAS: NumPy's float64
    product, and the same bits with one thread and two."""
    m, k, n = shape
    a, b = RNG.standard_normal((m, k)), RNG.standard_normal((k, n))
    one, two, text = _both(lambda a, b: a @ b, a.astype(dtype), b.astype(dtype))
    tol = 3e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(two, a @ b, rtol=tol, atol=tol * np.sqrt(max(k, 1)))
    np.testing.assert_array_equal(one, two)


def test_few_row_kernel_is_vector_fmas_chosen_at_run_time() -> None:
    """An untransposed float gemm gets the kernel's vector FMAs beside the
    OpenBLAS call (chosen by the sizes at run time); a transposed one only
    calls OpenBLAS."""
    a = np.ones((32, 64), np.float32)
    plain = ti.jit(lambda a, b: a @ b).lower(a, a.T.copy()).as_text("llvm")
    transposed = ti.jit(lambda a, b: a @ b.T).lower(a, a).as_text("llvm")
    assert "llvm.intr.fmuladd" in plain and "scipy_cblas_sgemm" in plain
    assert "llvm.intr.fmuladd" not in transposed and "scipy_cblas_sgemm" in transposed


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_few_row_kernel_for_256_bit_vectors(monkeypatch: pytest.MonkeyPatch, dtype: str) -> None:
    """Without AVX-512 the kernel's tile is 4 rows of 256-bit vectors; its
    code (made here by hiding AVX-512 from the kernel's choice) is right too."""
    from tensorir.lowering.gemm_kernel import tile_for
    from tensorir.runtime import cpu

    features = ",".join(f for f in cpu.host_features().split(",") if "avx512" not in f)
    monkeypatch.setattr(cpu, "host_features", lambda: features)
    monkeypatch.setattr(ti.config, "cache", False)
    with new_context():
        tile = tile_for(ir.F32Type.get() if dtype == "float32" else ir.F64Type.get())
        assert (tile.rows, tile.lanes) == ((4, 8) if dtype == "float32" else (4, 4))
    a, b = RNG.standard_normal((12, 70)), RNG.standard_normal((70, 48))
    f = ti.jit(lambda a, b: a @ b)
    assert "llvm.intr.fmuladd" in f.lower(a.astype(dtype), b.astype(dtype)).as_text("llvm")
    tol = 3e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(f(a.astype(dtype), b.astype(dtype)), a @ b, rtol=tol, atol=tol * 10)
