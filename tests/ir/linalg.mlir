// RUN: tensorir-opt %s --tir-linalg-to-blas | FileCheck %s

// A float contraction marked for OpenBLAS becomes one sgemm call on the raw
// pointers (row major, no transposes, alpha 1); the zero fill of C
// goes, gemm overwrites it.
// CHECK: func.func private @scipy_cblas_sgemm(i32, i32, i32, i32, i32, i32, f32, !llvm.ptr, i32, !llvm.ptr, i32, f32, !llvm.ptr, i32)
// CHECK-LABEL: func.func public @mm
// CHECK-NOT: linalg.generic
// CHECK-DAG: %[[ROW_MAJOR:.*]] = arith.constant 101 : i32
// CHECK-DAG: %[[NO_TRANS:.*]] = arith.constant 111 : i32
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: call @scipy_cblas_sgemm(%[[ROW_MAJOR]], %[[NO_TRANS]], %{{[^,]+}}, %{{[^,]+}}, %{{[^,]+}}, %{{[^,]+}}, %[[ONE]], %{{[^,]+}}, %{{[^,]+}}, %{{[^,]+}}, %{{[^,]+}},
// CHECK-NOT: linalg.generic
// CHECK: return
#fill = affine_map<(d0, d1) -> (d0, d1)>
#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func public @mm(%arg0: memref<?x?xf32>, %arg1: memref<?x?xf32>, %arg2: memref<?x?xf32>) {
  %cst = arith.constant 0.000000e+00 : f32
  linalg.generic {indexing_maps = [#fill], iterator_types = ["parallel", "parallel"]} outs(%arg2 : memref<?x?xf32>) {
  ^bb0(%out: f32):
    linalg.yield %cst : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"], library_call = "scipy_cblas_sgemm"} ins(%arg0, %arg1 : memref<?x?xf32>, memref<?x?xf32>) outs(%arg2 : memref<?x?xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  }
  return
}

// An operand whose rows are strided but whose last axis has stride 1 (a
// block of columns, a step of a stack) is passed in place: its offset moves
// the pointer and its row stride is the leading dimension. No copy.
// CHECK-LABEL: func.func public @mm_view
// CHECK-NOT: memref.copy
// CHECK-NOT: memref.alloc
// CHECK: %{{[a-z_0-9]+}}, %[[OFF:[a-z_0-9]+]], %{{[a-z_0-9]+}}:2, %[[STRIDES:[a-z_0-9]+]]:2 = memref.extract_strided_metadata %arg0
// CHECK: %[[LDA:.*]] = arith.maxui %[[STRIDES]]#0
// CHECK: %[[LDA32:.*]] = arith.index_cast %[[LDA]] : index to i32
// CHECK: arith.muli %[[OFF]]
// CHECK: call @scipy_cblas_sgemm(%{{[^,]+}}, %{{[^,]+}}, %{{[^,]+}}, %{{[^,]+}}, %{{[^,]+}}, %{{[^,]+}}, %{{[^,]+}}, %{{[^,]+}}, %[[LDA32]],
func.func public @mm_view(%arg0: memref<?x?xf32, strided<[?, 1], offset: ?>>, %arg1: memref<?x?xf32>, %arg2: memref<?x?xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"], library_call = "scipy_cblas_sgemm"} ins(%arg0, %arg1 : memref<?x?xf32, strided<[?, 1], offset: ?>>, memref<?x?xf32>) outs(%arg2 : memref<?x?xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  }
  return
}

// A transposed view (inner stride not 1) is still copied first.
// CHECK-LABEL: func.func public @mm_transposed_view
// CHECK: memref.alloc
// CHECK: memref.copy %arg0
// CHECK: call @scipy_cblas_sgemm
func.func public @mm_transposed_view(%arg0: memref<?x?xf32, strided<[1, ?], offset: ?>>, %arg1: memref<?x?xf32>, %arg2: memref<?x?xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"], library_call = "scipy_cblas_sgemm"} ins(%arg0, %arg1 : memref<?x?xf32, strided<[1, ?], offset: ?>>, memref<?x?xf32>) outs(%arg2 : memref<?x?xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  }
  return
}
