// Buffer reuse after bufferization (lowering/buffers.py).
// RUN: tensorir-opt %s --split-input-file --tir-reuse-buffers | FileCheck %s --check-prefix=REUSE
// RUN: tensorir-opt %s --split-input-file --tir-free-early | FileCheck %s --check-prefix=EARLY
// RUN: tensorir-opt %S/Inputs/mlp_forward.mlir --emit=bufferized | FileCheck %s --check-prefix=MLP

// The whole CPU pipeline on a two-layer perceptron: one-shot bufferization
// alone allocates three buffers (each gemm's output and the tanh's) and frees
// them at the end; after tir-reuse-buffers the tanh overwrites the first
// gemm's output, the second gemm writes into the out-param and the bias, exp
// and scaling run in place there, so one buffer remains, freed as soon as
// the second gemm has read it.
// MLP-LABEL: func.func public @tir_mlp
// MLP-SAME: %[[OUT:arg5]]: memref<?x?xf32> {tir.out}
// MLP: %[[H:.*]] = memref.alloc
// MLP-NOT: memref.alloc
// MLP: library_call = "scipy_cblas_sgemm"} ins(%arg0, %arg1 : {{.*}}) outs(%[[H]] :
// MLP: ins(%[[H]], %arg2 : {{.*}}) outs(%[[H]] :
// MLP: outs(%[[OUT]] :
// MLP: library_call = "scipy_cblas_sgemm"} ins(%[[H]], %arg3 : {{.*}}) outs(%[[OUT]] :
// MLP-NEXT: ^bb0
// MLP: memref.dealloc %[[H]]
// MLP-NEXT: linalg.generic {{.*}} ins(%[[OUT]], %arg4 : {{.*}}) outs(%[[OUT]] :
// MLP-NOT: memref.alloc

#id = affine_map<(d0, d1) -> (d0, d1)>
#tr = affine_map<(d0, d1) -> (d1, d0)>

// In place: each elementwise op reads its input for the last time, so it
// writes into that input's buffer; the last one writes the out-param, which
// nothing used before, so the chain runs in the caller's array and the three
// allocations are gone.
// REUSE-LABEL: func.func @chain
// REUSE-SAME: (%arg0: memref<?x?xf32>, %[[OUT:.*]]: memref<?x?xf32> {tir.out})
// REUSE-NOT: memref.alloc
// REUSE: ins(%arg0 : memref<?x?xf32>) outs(%[[OUT]] : memref<?x?xf32>)
// REUSE: ins(%[[OUT]] : memref<?x?xf32>) outs(%[[OUT]] : memref<?x?xf32>)
// REUSE: ins(%[[OUT]] : memref<?x?xf32>) outs(%[[OUT]] : memref<?x?xf32>)
// REUSE: ins(%[[OUT]] : memref<?x?xf32>) outs(%[[OUT]] : memref<?x?xf32>)
// REUSE-NEXT: ^bb0
// REUSE-NOT: memref.alloc
func.func @chain(%x: memref<?x?xf32>, %out: memref<?x?xf32> {tir.out}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %d0 = memref.dim %x, %c0 : memref<?x?xf32>
  %d1 = memref.dim %x, %c1 : memref<?x?xf32>
  %a = memref.alloc(%d0, %d1) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<?x?xf32>) outs(%a : memref<?x?xf32>) {
  ^bb0(%in: f32, %o: f32):
    %e = math.exp %in : f32
    linalg.yield %e : f32
  }
  %b = memref.alloc(%d0, %d1) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<?x?xf32>) outs(%b : memref<?x?xf32>) {
  ^bb0(%in: f32, %o: f32):
    %e = arith.negf %in : f32
    linalg.yield %e : f32
  }
  %c = memref.alloc(%d0, %d1) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%b : memref<?x?xf32>) outs(%c : memref<?x?xf32>) {
  ^bb0(%in: f32, %o: f32):
    %e = math.tanh %in : f32
    linalg.yield %e : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<?x?xf32>) outs(%out : memref<?x?xf32>) {
  ^bb0(%in: f32, %o: f32):
    %e = arith.addf %in, %in : f32
    linalg.yield %e : f32
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#tr = affine_map<(d0, d1) -> (d1, d0)>

// Not in place while the input is read again later (the second op), or when
// it is read through another indexing map (the transpose would read elements
// it has already written); the third op is the input's last reader, so it
// writes in place.
// REUSE-LABEL: func.func @kept
// REUSE: %[[A:.*]] = memref.alloc
// REUSE: ins(%arg0 : memref<?x?xf32>) outs(%[[A]] : memref<?x?xf32>)
// REUSE: %[[B:.*]] = memref.alloc
// REUSE: ins(%[[A]] : memref<?x?xf32>) outs(%[[B]] : memref<?x?xf32>)
// REUSE-NOT: memref.alloc
// REUSE: ins(%[[A]] : memref<?x?xf32>) outs(%[[A]] : memref<?x?xf32>)
// REUSE: %[[D:.*]] = memref.alloc
// REUSE: ins(%[[A]] : memref<?x?xf32>) outs(%[[D]] : memref<?x?xf32>)
func.func @kept(%x: memref<?x?xf32>, %out: memref<?x?xf32> {tir.out}, %out2: memref<?x?xf32> {tir.out}) {
  %c0 = arith.constant 0 : index
  %d0 = memref.dim %x, %c0 : memref<?x?xf32>
  %a = memref.alloc(%d0, %d0) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<?x?xf32>) outs(%a : memref<?x?xf32>) {
  ^bb0(%in: f32, %o: f32):
    %e = math.exp %in : f32
    linalg.yield %e : f32
  }
  %b = memref.alloc(%d0, %d0) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<?x?xf32>) outs(%b : memref<?x?xf32>) {
  ^bb0(%in: f32, %o: f32):
    %e = arith.negf %in : f32
    linalg.yield %e : f32
  }
  %c = memref.alloc(%d0, %d0) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<?x?xf32>) outs(%c : memref<?x?xf32>) {
  ^bb0(%in: f32, %o: f32):
    %e = math.tanh %in : f32
    linalg.yield %e : f32
  }
  %d = memref.alloc(%d0, %d0) : memref<?x?xf32>
  linalg.generic {indexing_maps = [#tr, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<?x?xf32>) outs(%d : memref<?x?xf32>) {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  memref.copy %d, %out : memref<?x?xf32> to memref<?x?xf32>
  memref.copy %b, %out2 : memref<?x?xf32> to memref<?x?xf32>
  return
}

// -----

// Reuse: the third product's buffer takes the first one's, dead by then
// (same type, same sizes); the second, still live, is not taken.
// REUSE-LABEL: func.func @products
// REUSE: %[[A:.*]] = memref.alloc
// REUSE: linalg.matmul ins(%arg0, %arg1 : memref<64x64xf32>, memref<64x64xf32>) outs(%[[A]] : memref<64x64xf32>)
// REUSE: %[[B:.*]] = memref.alloc
// REUSE: linalg.matmul ins(%[[A]], %arg1 : memref<64x64xf32>, memref<64x64xf32>) outs(%[[B]] : memref<64x64xf32>)
// REUSE-NOT: memref.alloc
// REUSE: linalg.matmul ins(%[[B]], %arg1 : memref<64x64xf32>, memref<64x64xf32>) outs(%[[A]] : memref<64x64xf32>)
// REUSE: memref.copy %[[A]], %arg2
func.func @products(%x: memref<64x64xf32>, %w: memref<64x64xf32>, %out: memref<64x64xf32> {tir.out}) {
  %a = memref.alloc() : memref<64x64xf32>
  linalg.matmul ins(%x, %w : memref<64x64xf32>, memref<64x64xf32>) outs(%a : memref<64x64xf32>)
  %b = memref.alloc() : memref<64x64xf32>
  linalg.matmul ins(%a, %w : memref<64x64xf32>, memref<64x64xf32>) outs(%b : memref<64x64xf32>)
  %c = memref.alloc() : memref<64x64xf32>
  linalg.matmul ins(%b, %w : memref<64x64xf32>, memref<64x64xf32>) outs(%c : memref<64x64xf32>)
  memref.copy %c, %out : memref<64x64xf32> to memref<64x64xf32>
  return
}

// -----

// A buffer passed to a call may be kept by the callee: never reused.
// REUSE-LABEL: func.func @escapes
// REUSE-COUNT-2: memref.alloc
func.func private @keep(memref<8xf32>)
func.func @escapes(%x: memref<8xf32>, %out: memref<8xf32> {tir.out}) {
  %a = memref.alloc() : memref<8xf32>
  memref.copy %x, %a : memref<8xf32> to memref<8xf32>
  func.call @keep(%a) : (memref<8xf32>) -> ()
  %b = memref.alloc() : memref<8xf32>
  memref.copy %x, %b : memref<8xf32> to memref<8xf32>
  memref.copy %b, %out : memref<8xf32> to memref<8xf32>
  return
}

// -----

// tir-free-early: deallocations move from the end of the function to just
// after each buffer's last use (through views), so at most two of the three
// buffers are live at once.
// EARLY-LABEL: func.func @early
// EARLY: %[[A:.*]] = memref.alloc
// EARLY: %[[B:.*]] = memref.alloc
// EARLY: %[[V:.*]] = memref.collapse_shape %[[A]]
// EARLY: linalg.matmul ins(%[[A]], %arg1 {{.*}} outs(%[[B]]
// EARLY-NEXT: memref.copy %[[V]]
// EARLY-NEXT: memref.dealloc %[[A]]
// EARLY-NEXT: %[[C:.*]] = memref.alloc
// EARLY-NEXT: linalg.matmul ins(%[[B]], %arg1 {{.*}} outs(%[[C]]
// EARLY-NEXT: memref.dealloc %[[B]]
// EARLY-NEXT: memref.copy %[[C]], %arg2
// EARLY-NEXT: memref.dealloc %[[C]]
// EARLY-NEXT: return
func.func @early(%x: memref<64x64xf32>, %w: memref<64x64xf32>, %out: memref<64x64xf32> {tir.out},
                 %flat: memref<4096xf32>) {
  %a = memref.alloc() : memref<64x64xf32>
  linalg.matmul ins(%x, %w : memref<64x64xf32>, memref<64x64xf32>) outs(%a : memref<64x64xf32>)
  %b = memref.alloc() : memref<64x64xf32>
  %v = memref.collapse_shape %a [[0, 1]] : memref<64x64xf32> into memref<4096xf32>
  linalg.matmul ins(%a, %w : memref<64x64xf32>, memref<64x64xf32>) outs(%b : memref<64x64xf32>)
  memref.copy %v, %flat : memref<4096xf32> to memref<4096xf32>
  %c = memref.alloc() : memref<64x64xf32>
  linalg.matmul ins(%b, %w : memref<64x64xf32>, memref<64x64xf32>) outs(%c : memref<64x64xf32>)
  memref.copy %c, %out : memref<64x64xf32> to memref<64x64xf32>
  memref.dealloc %a : memref<64x64xf32>
  memref.dealloc %b : memref<64x64xf32>
  memref.dealloc %c : memref<64x64xf32>
  return
}
