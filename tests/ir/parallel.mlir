// tir-parallel-loops (lowering/parallel.py): linalg ops on buffers split into
// chunks run by tensorir_parallel_for (two threads, no minimum size here).
// RUN: tensorir-opt %s --split-input-file --tir-parallel-loops | FileCheck %s
// RUN: tensorir-opt %s --split-input-file --tir-parallel-loops --emit=llvm | FileCheck %s --check-prefix=LLVM
// RUN: tensorir-opt %s --split-input-file --tir-parallel-loops --tir-merge-chunks | FileCheck %s --check-prefix=MERGE

// A row sum: chunks of rows, each summing whole rows in the same order, so
// the accumulation is never split. The chunk function reads the buffers,
// the row count and the chunk size from its context and views its rows.
// CHECK-LABEL: func.func @rowsum
// CHECK: %[[CTX:.*]] = llvm.alloca
// CHECK: %[[F:.*]] = constant @rowsum_chunk0
// CHECK: %[[FP:.*]] = builtin.unrealized_conversion_cast %[[F]] : (!llvm.ptr, i64) -> () to !llvm.ptr
// CHECK: call @tensorir_parallel_for(%[[FP]], %[[CTX]], %{{.*}})
// CHECK-NOT: linalg.generic
// CHECK: return
// CHECK-LABEL: func.func private @rowsum_chunk0(%arg0: !llvm.ptr, %arg1: i64)
// CHECK-SAME: llvm.linkage = #llvm.linkage<internal>
// CHECK: %[[X:.*]] = builtin.unrealized_conversion_cast %{{.*}} : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)> to memref<?x?xf32>
// CHECK: %[[LO:.*]] = arith.muli
// CHECK: %[[LEN:.*]] = arith.minui
// CHECK: memref.subview %[[X]][%[[LO]], 0] [%[[LEN]], %{{.*}}] [1, 1] : memref<?x?xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
// CHECK: memref.subview %{{.*}}[%[[LO]]] [%[[LEN]]] [1] : memref<?xf32> to memref<?xf32, strided<[1], offset: ?>>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// LLVM-LABEL: llvm.func @rowsum
// LLVM: llvm.mlir.addressof @rowsum_chunk0
// LLVM: llvm.call @tensorir_parallel_for
// LLVM-LABEL: llvm.func internal @rowsum_chunk0
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @rowsum(%x: memref<?x?xf32>, %r: memref<?xf32>) {
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x?xf32>) outs(%r : memref<?xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A column sum loops over rows outside: its columns are split, each chunk
// adding all rows into its columns. Chunks of the innermost dim are rounded
// up to 16 elements.
// CHECK-LABEL: func.func @colsum
// CHECK: arith.constant 16 : index
// CHECK: call @tensorir_parallel_for
// CHECK-LABEL: func.func private @colsum_chunk0
// CHECK: memref.subview %{{.*}}[0, %[[LO:.*]]] [%{{.*}}, %[[LEN:.*]]] [1, 1]
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @colsum(%x: memref<?x?xf32>, %r: memref<?xf32>) {
  linalg.generic {indexing_maps = [#id, #col], iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<?x?xf32>) outs(%r : memref<?xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// linalg.index of the split dim counts from the chunk's start; constants
// the body reads are copied into the chunk function.
// CHECK-LABEL: func.func private @iota_chunk0
// CHECK: %[[LO:.*]] = arith.muli
// CHECK: %[[C3:.*]] = arith.constant 3 : i64
// CHECK: linalg.generic
// CHECK: %[[I:.*]] = linalg.index 0 : index
// CHECK: %[[AT:.*]] = arith.addi %[[I]], %[[LO]] : index
// CHECK: arith.index_cast %[[AT]]
// CHECK: arith.muli %{{.*}}, %[[C3]] : i64
#id1 = affine_map<(d0) -> (d0)>
func.func @iota(%r: memref<?xi64>) {
  %c3 = arith.constant 3 : i64
  linalg.generic {indexing_maps = [#id1], iterator_types = ["parallel"]} outs(%r : memref<?xi64>) {
  ^bb0(%b: i64):
    %i = linalg.index 0 : index
    %v = arith.index_cast %i : index to i64
    %w = arith.muli %v, %c3 : i64
    linalg.yield %w : i64
  }
  return
}

// -----

// Left alone: a full reduction (no parallel dim), a BLAS call, a loop of a
// scan step (nested in scf.for), a single element (static size 1).
// CHECK-LABEL: func.func @serial
// CHECK-NOT: tensorir_parallel_for
// CHECK-NOT: _chunk
// CHECK: return
#id = affine_map<(d0, d1) -> (d0, d1)>
#all = affine_map<(d0, d1) -> ()>
#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
#id1 = affine_map<(d0) -> (d0)>
func.func @serial(%x: memref<?x?xf32>, %s: memref<f32>, %y: memref<?x?xf32>, %one: memref<1xf32>, %n: index) {
  linalg.generic {indexing_maps = [#id, #all], iterator_types = ["reduction", "reduction"]}
      ins(%x : memref<?x?xf32>) outs(%s : memref<f32>) {
  ^bb0(%a: f32, %b: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"], library_call = "scipy_cblas_sgemm"}
      ins(%x, %x : memref<?x?xf32>, memref<?x?xf32>) outs(%y : memref<?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %t = arith.addf %o, %m : f32
    linalg.yield %t : f32
  }
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%x : memref<?x?xf32>) outs(%y : memref<?x?xf32>) {
    ^bb0(%a: f32, %b: f32):
      %t = arith.addf %a, %b : f32
      linalg.yield %t : f32
    }
  }
  linalg.generic {indexing_maps = [#id1], iterator_types = ["parallel"]} outs(%one : memref<1xf32>) {
  ^bb0(%b: f32):
    %t = arith.addf %b, %b : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// tir-merge-chunks: the same op on two pairs of buffers gives two chunk
// functions that differ only by name; one is kept and both dispatches run it.
// MERGE-LABEL: func.func @twice
// MERGE: constant @twice_chunk0
// MERGE: call @tensorir_parallel_for
// MERGE: constant @twice_chunk0
// MERGE: call @tensorir_parallel_for
// MERGE: func.func private @twice_chunk0
// MERGE-NOT: @twice_chunk1
#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @twice(%x: memref<?x?xf32>, %y: memref<?x?xf32>, %u: memref<?x?xf32>, %v: memref<?x?xf32>) {
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<?x?xf32>) outs(%y : memref<?x?xf32>) {
  ^bb0(%a: f32, %b: f32):
    %t = math.exp %a : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%u : memref<?x?xf32>) outs(%v : memref<?x?xf32>) {
  ^bb0(%a: f32, %b: f32):
    %t = math.exp %a : f32
    linalg.yield %t : f32
  }
  return
}
