// RUN: not tensorir-opt %s --split-input-file --tir-to-linalg 2>%t.err | FileCheck %s
// RUN: FileCheck %s --check-prefix=ERR --input-file=%t.err
// RUN: not tensorir-opt %s --split-input-file --tir-to-linalg 2>/dev/null | FileCheck %s --check-prefix=GONE

// Every tir op becomes destination-style linalg on tensors; none is left.
// GONE-NOT: "tir.

// Broadcasting reads the unit dim through a constant-0 index map.
// CHECK-DAG: #[[ID:map[0-9]*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:map[0-9]*]] = affine_map<(d0, d1) -> (0, d1)>
// CHECK-LABEL: func.func @add_bcast
// CHECK: %[[E:[0-9]+]] = tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x?xf32>
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%arg0, %arg1 : tensor<?x?xf32>, tensor<1x?xf32>) outs(%[[E]] : tensor<?x?xf32>)
// CHECK: arith.addf
func.func @add_bcast(%arg0: tensor<?x?xf32>, %arg1: tensor<1x?xf32>) -> tensor<?x?xf32> {
  %0 = "tir.add"(%arg0, %arg1) : (tensor<?x?xf32>, tensor<1x?xf32>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// A reduction: a zero fill, then a generic with a reduction iterator
// (reassociable, so the row sum vectorises).
// CHECK-LABEL: func.func @sum_rows
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[F:[0-9]+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{[0-9]+}} : tensor<?xf32>)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]{{.*}} outs(%[[F]] : tensor<?xf32>)
// CHECK: arith.addf %out, %in fastmath<reassoc> : f32
func.func @sum_rows(%arg0: tensor<?x?xf32>) -> tensor<?xf32> {
  %0 = "tir.sum"(%arg0) {axes = array<i64: 1>, keepdims = false} : (tensor<?x?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// A float matmul is a contraction marked for OpenBLAS (tir-linalg-to-blas
// turns it into a gemm call after bufferization).
// CHECK-LABEL: func.func @matmul
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"], library_call = "scipy_cblas_sgemm"}
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @matmul(%arg0: tensor<?x?xf32>, %arg1: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %0 = "tir.matmul"(%arg0, %arg1) : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// A constant becomes arith.constant.
// CHECK-LABEL: func.func @constant
// CHECK: %[[C:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-NEXT: return %[[C]]
func.func @constant() -> tensor<2xf32> {
  %0 = "tir.constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// Derivative markers have no lowering: the pass fails and says which pass to run first.
// ERR: tensorir-opt: error: pass tir-to-linalg failed: tir.grad is a differentiation marker and has no lowering: run the tir-autodiff pass before tir-to-linalg
// CHECK-NOT: @grad_exp_sum
func.func @grad_exp_sum(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.exp"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.sum"(%0) {axes = array<i64: 0>, keepdims = false} : (tensor<?xf32>) -> tensor<f32>
  %2 = "tir.grad"(%1, %arg0) : (tensor<f32>, tensor<?xf32>) -> tensor<?xf32>
  return %2 : tensor<?xf32>
}
