// RUN: tensorir-opt %s --tir-dce | FileCheck %s

// A dead chain goes at once (exp -> log -> neg feeds nothing), live ops stay.
// CHECK-LABEL: func.func @dead_chain
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<?xf32>)
// CHECK-NOT: "tir.exp"
// CHECK-NOT: "tir.log"
// CHECK-NOT: "tir.neg"
// CHECK: %[[T:[0-9]+]] = "tir.tanh"(%[[X]])
// CHECK-NEXT: return %[[T]]
func.func @dead_chain(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.exp"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.log"(%0) : (tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.neg"(%1) : (tensor<?xf32>) -> tensor<?xf32>
  %3 = "tir.tanh"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  return %3 : tensor<?xf32>
}

// An op used by a live op stays, even when another of its users is dead;
// unused dims (index results) go like any tir op.
// CHECK-LABEL: func.func @shared_operand
// CHECK: %[[E:[0-9]+]] = "tir.exp"
// CHECK-NOT: "tir.sum"
// CHECK-NOT: "tir.dim"
// CHECK: %[[M:[0-9]+]] = "tir.mul"(%[[E]], %[[E]])
// CHECK-NEXT: return %[[M]]
func.func @shared_operand(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.exp"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.sum"(%0) {axes = array<i64: 0>, keepdims = false} : (tensor<?xf32>) -> tensor<f32>
  %2 = "tir.dim"(%0) {axis = 0 : i64} : (tensor<?xf32>) -> index
  %3 = "tir.mul"(%0, %0) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %3 : tensor<?xf32>
}

// Only tir ops are removed: an unused upstream op is left to upstream passes.
// CHECK-LABEL: func.func @upstream_left
// CHECK-NOT: "tir.exp"
// CHECK: arith.constant 1.000000e+00 : f32
// CHECK-NEXT: return %arg0
func.func @upstream_left(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %c = arith.constant 1.0 : f32
  %0 = "tir.exp"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  return %arg0 : tensor<?xf32>
}

// A function with nothing dead is unchanged.
// CHECK-LABEL: func.func @all_live
// CHECK-NEXT: "tir.exp"
// CHECK-NEXT: "tir.sum"
// CHECK-NEXT: return
func.func @all_live(%arg0: tensor<?xf32>) -> tensor<f32> {
  %0 = "tir.exp"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.sum"(%0) {axes = array<i64: 0>, keepdims = false} : (tensor<?xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}
