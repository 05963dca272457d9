// RUN: tensorir-opt %s --tir-autodiff | FileCheck %s
// RUN: tensorir-opt %s --tir-autodiff | FileCheck %s --check-prefix=GONE
// RUN: tensorir-opt %s --tir-autodiff --tir-dce | FileCheck %s --check-prefix=DCE

// The derivative markers are replaced by the derivative computation built
// from the per-op rules (innermost first); none is left anywhere.
// GONE-NOT: tir.wrt
// GONE-NOT: tir.grad
// GONE-NOT: tir.vjp
// GONE-NOT: tir.jvp

// d/dx sum(exp x) = exp x: a ones cotangent broadcast to x's shape, times exp x.
// CHECK-LABEL: func.func public @grad_exp_sum
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<?xf32>) -> tensor<?xf32>
// CHECK: %[[E:[0-9]+]] = "tir.exp"(%[[X]])
// CHECK: "tir.constant"() {value = dense<1.000000e+00> : tensor<f32>}
// CHECK: %[[B:[0-9]+]] = "tir.broadcast_to"
// CHECK: %[[G:[0-9]+]] = "tir.mul_nonan"(%[[B]], %[[E]])
// CHECK: return %[[G]] : tensor<?xf32>
// The forward cost is dead once differentiated: tir-dce drops it and the unused dims.
// DCE-LABEL: func.func public @grad_exp_sum
// DCE-NOT: "tir.sum"
// DCE: "tir.dim"
// DCE-NOT: "tir.dim"
// DCE: return
func.func public @grad_exp_sum(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.wrt"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.exp"(%0) : (tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.sum"(%1) {axes = array<i64: 0>, keepdims = false} : (tensor<?xf32>) -> tensor<f32>
  %3 = "tir.grad"(%2, %0) : (tensor<f32>, tensor<?xf32>) -> tensor<?xf32>
  return %3 : tensor<?xf32>
}

// d/dw sum(tanh(x @ w)) = x^T @ (g * (1 - tanh^2)): one backward matmul, with x transposed.
// CHECK-LABEL: func.func public @grad_matmul
// CHECK-SAME: (%[[W:[a-z0-9]+]]: tensor<?x?xf32>, %[[X:[a-z0-9]+]]: tensor<?x?xf32>)
// CHECK: %[[Y:[0-9]+]] = "tir.matmul"(%[[X]], %[[W]])
// CHECK: %[[T:[0-9]+]] = "tir.tanh"(%[[Y]])
// CHECK: "tir.mul"(%[[T]], %[[T]])
// CHECK: %[[XT:[0-9]+]] = "tir.transpose"(%[[X]]) {perm = array<i64: 1, 0>}
// CHECK: %[[GW:[0-9]+]] = "tir.matmul"(%[[XT]], %{{[0-9]+}})
// CHECK-NOT: "tir.matmul"
// CHECK: return %[[GW]] : tensor<?x?xf32>
func.func public @grad_matmul(%arg0: tensor<?x?xf32>, %arg1: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %0 = "tir.wrt"(%arg0) : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %1 = "tir.matmul"(%arg1, %0) : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %2 = "tir.tanh"(%1) : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %3 = "tir.sum"(%2) {axes = array<i64: 0, 1>, keepdims = false} : (tensor<?x?xf32>) -> tensor<f32>
  %4 = "tir.grad"(%3, %0) : (tensor<f32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  return %4 : tensor<?x?xf32>
}

// Second derivative of sum(sin(y) * y): the inner grad is expanded first
// (innermost first), its result differentiated again: cos and sin both appear.
// CHECK-LABEL: func.func public @nested_grad
// CHECK-DAG: "tir.sin"
// CHECK-DAG: "tir.cos"
// CHECK-DAG: "tir.neg"
// CHECK: return
func.func public @nested_grad(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.wrt"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.wrt"(%0) : (tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.sin"(%1) : (tensor<?xf32>) -> tensor<?xf32>
  %3 = "tir.mul"(%2, %1) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %4 = "tir.sum"(%3) {axes = array<i64: 0>, keepdims = false} : (tensor<?xf32>) -> tensor<f32>
  %5 = "tir.grad"(%4, %1) : (tensor<f32>, tensor<?xf32>) -> tensor<?xf32>
  %6 = "tir.sum"(%5) {axes = array<i64: 0>, keepdims = false} : (tensor<?xf32>) -> tensor<f32>
  %7 = "tir.grad"(%6, %0) : (tensor<f32>, tensor<?xf32>) -> tensor<?xf32>
  return %7 : tensor<?xf32>
}

// Forward mode: d(exp(x) * x)[t] = exp(x) * t * x + exp(x) * t, from the tangent %arg1.
// CHECK-LABEL: func.func public @jvp_exp_times_x
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<?xf32>, %[[T:[a-z0-9]+]]: tensor<?xf32>)
// CHECK: %[[E:[0-9]+]] = "tir.exp"(%[[X]])
// CHECK: %[[P:[0-9]+]] = "tir.mul"(%[[E]], %[[X]])
// CHECK: "tir.mul{{(_nonan)?}}"(%[[T]], %[[E]])
// CHECK: %[[D:[0-9]+]] = "tir.add"
// CHECK: return %[[P]], %[[D]]
func.func public @jvp_exp_times_x(%arg0: tensor<?xf32>, %arg1: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %0 = "tir.wrt"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.exp"(%0) : (tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.mul"(%1, %0) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %3 = "tir.jvp"(%2, %0, %arg1) : (tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %2, %3 : tensor<?xf32>, tensor<?xf32>
}

// A vjp with a batched cotangent (the Jacobian of tanh: an identity matrix of
// cotangents, one row each): the rule applies along the leading batch axis.
// CHECK-LABEL: func.func public @jacobian_tanh
// CHECK: %[[T:[0-9]+]] = "tir.tanh"
// CHECK: %[[C:[0-9]+]] = "tir.cast"({{.*}}) {dtype = f32} : (tensor<?x?xi1>) -> tensor<?x?xf32>
// CHECK: "tir.mul"(%[[T]], %[[T]])
// CHECK: %[[J:[0-9]+]] = "tir.mul_nonan"(%[[C]], %{{[0-9]+}}) : (tensor<?x?xf32>, tensor<?xf32>) -> tensor<?x?xf32>
// CHECK: return %[[J]] : tensor<?x?xf32>
func.func public @jacobian_tanh(%arg0: tensor<?xf32>) -> tensor<?x?xf32> {
  %0 = "tir.wrt"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.tanh"(%0) : (tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.dim"(%1) {axis = 0 : i64} : (tensor<?xf32>) -> index
  %3 = "tir.arange"(%2) {dtype = i64, size = -1 : i64, start = 0.000000e+00 : f64, step = 1.000000e+00 : f64} : (index) -> tensor<?xi64>
  %4 = "tir.expand_dims"(%3) {axes = array<i64: 1>} : (tensor<?xi64>) -> tensor<?x1xi64>
  %5 = "tir.expand_dims"(%3) {axes = array<i64: 0>} : (tensor<?xi64>) -> tensor<1x?xi64>
  %6 = "tir.eq"(%4, %5) : (tensor<?x1xi64>, tensor<1x?xi64>) -> tensor<?x?xi1>
  %7 = "tir.cast"(%6) {dtype = f32} : (tensor<?x?xi1>) -> tensor<?x?xf32>
  %8 = "tir.vjp"(%1, %0, %7) : (tensor<?xf32>, tensor<?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  return %8 : tensor<?x?xf32>
}
