"""A register-blocked gemm for results with few rows, in MLIR's vector ops.

The steps of a recurrent layer multiply a few rows (a batch of 32 states)
by a square weight: ``(32, 256) @ (256, 256)``. OpenBLAS packs both
operands into its own layout on every call, which for so few rows costs
about as much as the arithmetic: 44 us on one core here, 95 GFLOP/s, about
half the core's FMA peak. Reading the row-major operands as they are, with
the accumulators of a tile of ``C`` held in registers, the same product
took 24 us (a C version of this loop nest, 173 GFLOP/s)::

    for j in 0..N step 2L:            # L lanes of a vector register
      for i in 0..M step R:           # R rows: 2R accumulators
        acc[R][2] = 0
        for k in 0..K:
          b0, b1 = B[k, j:j+L], B[k, j+L:j+2L]
          for r in 0..R: acc[r][:] += broadcast(A[i+r, k]) * (b0, b1)
        C[i:i+R, j:j+2L] = acc

Each element of ``C`` is a sum over ``k`` in order, one fused multiply-add
per term, whatever the split of ``C``'s columns over threads.
``tir-linalg-to-blas`` uses it for untransposed float gemms without batch
axes whose ``C`` has fewer than ``FEW_ROWS`` rows, a multiple of ``R``, and
a multiple of ``2L`` columns (checked at run time); other gemms call
OpenBLAS. ``L`` is 512 bits of the element type where the host has AVX-512
(``R = 8``: 16 accumulators of the 32 registers), 256 bits otherwise
(``R = 4``: 8 of 16).
"""

from __future__ import annotations

from ..dialects._bindings import ir
from .common import index_const

__all__ = ["Tile", "tile_for"]


class Tile:
    """The register tile for one element type: ``rows`` x ``2 * lanes``."""

    def __init__(self, el: ir.Type, rows: int, lanes: int) -> None:
        self.el, self.rows, self.lanes = el, rows, lanes

    def fits(self, rows: ir.Value, cols: ir.Value, few_rows: int) -> ir.Value:
        """Whether a ``C`` of ``rows`` x ``cols`` is for this kernel (an ``i1``);
        its blocks of whole ``2L``-column tiles then are too."""
        from mlir.dialects import arith

        def multiple(v: ir.Value, of: int) -> ir.Value:
            rem = arith.remui(v, index_const(of))
            return arith.cmpi(arith.CmpIPredicate.eq, rem, index_const(0))

        few = arith.cmpi(arith.CmpIPredicate.ult, rows, index_const(few_rows))
        return arith.andi(few, arith.andi(multiple(rows, self.rows), multiple(cols, 2 * self.lanes)))

    def emit(self, a: ir.Value, b: ir.Value, c: ir.Value, rows: ir.Value, cols: ir.Value, k_size: ir.Value) -> None:
        """``C = A @ B`` on the row-major views ``a`` (rows x K), ``b`` (K x
        cols) and ``c`` (rows x cols), at the current insertion point."""
        from mlir.dialects import arith, memref, scf, vector

        vec = ir.VectorType.get([self.lanes], self.el)
        zero = arith.constant(vec, ir.DenseElementsAttr.get_splat(vec, ir.FloatAttr.get(self.el, 0.0)))
        step = index_const(2 * self.lanes)
        over_j = scf.ForOp(index_const(0), cols, step)
        with ir.InsertionPoint(over_j.body):
            j = over_j.induction_variable
            j2 = arith.addi(j, index_const(self.lanes))
            over_i = scf.ForOp(index_const(0), rows, index_const(self.rows))
            with ir.InsertionPoint(over_i.body):
                i = over_i.induction_variable
                at = [arith.addi(i, index_const(r)) if r else i for r in range(self.rows)]
                over_k = scf.ForOp(index_const(0), k_size, index_const(1), [zero] * (2 * self.rows))
                with ir.InsertionPoint(over_k.body):
                    k = over_k.induction_variable
                    acc = list(over_k.inner_iter_args)
                    b0 = vector.load(vec, b, [k, j])
                    b1 = vector.load(vec, b, [k, j2])
                    new = []
                    for r in range(self.rows):
                        x = vector.broadcast(vec, memref.load(a, [at[r], k]))
                        new += [vector.fma(x, b0, acc[2 * r]), vector.fma(x, b1, acc[2 * r + 1])]
                    scf.YieldOp(new)
                for r in range(self.rows):
                    vector.store(over_k.results[2 * r], c, [at[r], j])
                    vector.store(over_k.results[2 * r + 1], c, [at[r], j2])
                scf.YieldOp([])
            scf.YieldOp([])


def tile_for(el: ir.Type) -> Tile | None:
    """The tile for float element type ``el`` on the host CPU (None for other types)."""
    from ..runtime.cpu import host_features

    if not isinstance(el, ir.FloatType) or ir.FloatType(el).width not in (32, 64):
        return None
    wide = "+avx512f" in host_features().split(",")
    bits = 512 if wide else 256
    return Tile(el, 8 if wide else 4, bits // ir.FloatType(el).width)
