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

// A window at a run-time offset (x[i]): the 0-d start is read, wrapped when
// negative, and checked against the axis; the marker call reports a failed
// check (tir-entry-abi turns it into a store into the status out-param). The
// read stays in bounds: at offset 0 when the check fails, from zeros of the
// window's size when the axis is free (it may be shorter than the window).
// CHECK-LABEL: func.func @dynamic_index
// CHECK: %[[S:.*]] = tensor.extract %arg1[] : tensor<i64>
// CHECK: %[[I:.*]] = arith.index_cast %[[S]] : i64 to index
// CHECK: %[[NEG:.*]] = arith.cmpi slt, %[[I]], %{{.*}} : index
// CHECK: %[[W:.*]] = arith.select %[[NEG]], %{{.*}}, %[[I]] : index
// CHECK: %[[OK:.*]] = arith.andi
// CHECK: %[[FAIL:.*]] = arith.xori %[[OK]], %true : i1
// CHECK: call @tir.index_check(%[[FAIL]], %[[S]], %{{.*}}) {tir.check = {axis = 0 : i64, op = "dynamic_slice", size = 1 : i64, wrap = true}} : (i1, i64, i64) -> ()
// CHECK: %[[SRC:.*]] = scf.if %[[OK]] -> (tensor<?x?xf32>) {
// CHECK-NEXT: scf.yield %arg0 : tensor<?x?xf32>
// CHECK: linalg.fill
// CHECK: %[[OFF:.*]] = arith.select %[[OK]], %[[W]], %{{.*}} : index
// CHECK: tensor.extract_slice %[[SRC]][%[[OFF]], 0] [1, %{{.*}}] [1, 1] : tensor<?x?xf32> to tensor<1x?xf32>
func.func @dynamic_index(%arg0: tensor<?x?xf32>, %arg1: tensor<i64>) -> tensor<1x?xf32> {
  %0 = "tir.dynamic_slice"(%arg0, %arg1) {sizes = array<i64: 1, -1>, wrap = array<i64: 1, 0>} : (tensor<?x?xf32>, tensor<i64>) -> tensor<1x?xf32>
  return %0 : tensor<1x?xf32>
}

// Writing a window (x[i:i + 2] = v) on a static axis: start in [0, 8 - 2],
// no wrap; the insert happens only when the check passes.
// CHECK-LABEL: func.func @dynamic_update
// CHECK: %[[S:.*]] = tensor.extract %arg2[] : tensor<i64>
// CHECK: %[[I:.*]] = arith.index_cast %[[S]] : i64 to index
// CHECK: arith.cmpi sle, %[[I]], %c6 : index
// CHECK: call @tir.index_check({{.*}}) {tir.check = {axis = 0 : i64, op = "dynamic_update_slice", size = 2 : i64, wrap = false}}
// CHECK: scf.if %{{.*}} -> (tensor<8xf32>) {
// CHECK-NEXT: %[[NEW:.*]] = tensor.insert_slice %arg1 into %arg0[%[[I]]] [2] [1] : tensor<2xf32> into tensor<8xf32>
// CHECK-NEXT: scf.yield %[[NEW]]
// CHECK-NEXT: } else {
// CHECK-NEXT: scf.yield %arg0
func.func @dynamic_update(%arg0: tensor<8xf32>, %arg1: tensor<2xf32>, %arg2: tensor<i64>) -> tensor<8xf32> {
  %0 = "tir.dynamic_update_slice"(%arg0, %arg1, %arg2) {sizes = array<i64: 2>, wrap = array<i64: 0>} : (tensor<8xf32>, tensor<2xf32>, tensor<i64>) -> tensor<8xf32>
  return %0 : tensor<8xf32>
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
