// RUN: tensorir-opt %s --tir-dce | FileCheck %s
// RUN: tensorir-opt %s --tir-dce | FileCheck %s --check-prefix=GONE

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

// Scans. A stacked output nobody reads leaves the scan and the
// body's results, and the ops computing it go with it; so do a constant the
// body does not read and a sequence it does not read (one sequence is kept
// to give the number of steps). The carries stay, read or not: they feed
// the recurrence.
// CHECK-LABEL: func.func private @trim_step
// CHECK-SAME: (%[[C:[a-z0-9]+]]: tensor<?xf32>, %[[D:[a-z0-9]+]]: tensor<?xf32>, %[[X2:[a-z0-9]+]]: tensor<?xf32>, %[[W:[a-z0-9]+]]: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>, tensor<?xf32>)
// CHECK-NOT: "tir.exp"
// CHECK: %[[A:[0-9]+]] = "tir.add"(%[[C]], %[[X2]])
// CHECK-NEXT: %[[M:[0-9]+]] = "tir.mul"(%[[A]], %[[W]])
// CHECK-NEXT: %[[N:[0-9]+]] = "tir.neg"(%[[D]])
// CHECK-NEXT: return %[[A]], %[[N]], %[[M]]
// CHECK-LABEL: func.func public @trim
// CHECK-NEXT: %[[R:[0-9]+]]:3 = "tir.scan"(%arg0, %arg0, %arg2, %arg3) {body = @trim_step, length = -1 : i64, num_carry = 2 : i64, num_xs = 1 : i64
// CHECK-SAME: (tensor<?xf32>, tensor<?xf32>, tensor<?x?xf32>, tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>, tensor<?x?xf32>)
// CHECK-NEXT: return %[[R]]#2
func.func private @trim_step(%c: tensor<?xf32>, %d: tensor<?xf32>, %x1: tensor<?xf32>, %x2: tensor<?xf32>, %w: tensor<?xf32>, %u: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) {
  %0 = "tir.add"(%c, %x2) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.mul"(%0, %w) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.exp"(%1) : (tensor<?xf32>) -> tensor<?xf32>
  %3 = "tir.neg"(%d) : (tensor<?xf32>) -> tensor<?xf32>
  return %0, %3, %1, %2 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
}
func.func public @trim(%c0: tensor<?xf32>, %xs1: tensor<?x?xf32>, %xs2: tensor<?x?xf32>, %w: tensor<?xf32>, %u: tensor<?xf32>) -> tensor<?x?xf32> {
  %0:4 = "tir.scan"(%c0, %c0, %xs1, %xs2, %w, %u) {body = @trim_step, length = -1 : i64, num_carry = 2 : i64, num_xs = 2 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>, tensor<?x?xf32>, tensor<?x?xf32>)
  return %0#2 : tensor<?x?xf32>
}

// A loop whose results nobody reads goes whole, and its body function, which
// nothing names any more, with it (also the inner loop's body it named).
// GONE-NOT: @dead_step
// GONE-NOT: @dead_inner
// CHECK-LABEL: func.func public @dead_loop
// CHECK-NEXT: return %arg0
func.func private @dead_inner(%c: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.exp"(%c) : (tensor<?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func private @dead_step(%c: tensor<?xf32>, %x: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %0 = "tir.scan"(%c) {body = @dead_inner, length = 2 : i64, num_carry = 1 : i64, num_xs = 0 : i64, operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.add"(%0, %x) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %1, %1 : tensor<?xf32>, tensor<?xf32>
}
func.func public @dead_loop(%c0: tensor<?xf32>, %xs: tensor<?x?xf32>) -> tensor<?xf32> {
  %0:2 = "tir.scan"(%c0, %xs) {body = @dead_step, length = -1 : i64, num_carry = 1 : i64, num_xs = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?x?xf32>) -> (tensor<?xf32>, tensor<?x?xf32>)
  return %c0 : tensor<?xf32>
}

// A body two scans name loses an output only when neither reads it: y1 is
// read by the first scan only and stays in both; y2 is read by neither.
// CHECK-LABEL: func.func private @shared_step
// CHECK-SAME: -> (tensor<?xf32>, tensor<?xf32>)
// CHECK-NOT: "tir.exp"
// CHECK: return
// CHECK-LABEL: func.func public @shared
// CHECK-NEXT: %[[A:[0-9]+]]:2 = "tir.scan"(%arg0, %arg1) {body = @shared_step
// CHECK-NEXT: %[[B:[0-9]+]]:2 = "tir.scan"(%arg0, %arg2) {body = @shared_step
// CHECK-NEXT: return %[[A]]#1, %[[B]]#0
func.func private @shared_step(%c: tensor<?xf32>, %x: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) {
  %0 = "tir.add"(%c, %x) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.neg"(%0) : (tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.exp"(%0) : (tensor<?xf32>) -> tensor<?xf32>
  return %0, %1, %2 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
}
func.func public @shared(%c0: tensor<?xf32>, %xs1: tensor<?x?xf32>, %xs2: tensor<?x?xf32>) -> (tensor<?x?xf32>, tensor<?xf32>) {
  %0:3 = "tir.scan"(%c0, %xs1) {body = @shared_step, length = -1 : i64, num_carry = 1 : i64, num_xs = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?x?xf32>) -> (tensor<?xf32>, tensor<?x?xf32>, tensor<?x?xf32>)
  %1:3 = "tir.scan"(%c0, %xs2) {body = @shared_step, length = -1 : i64, num_carry = 1 : i64, num_xs = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?x?xf32>) -> (tensor<?xf32>, tensor<?x?xf32>, tensor<?x?xf32>)
  return %0#1, %1#0 : tensor<?x?xf32>, tensor<?xf32>
}

// A body that is public, or that a func.call also names, keeps its
// signature: its unread output and constant stay.
// CHECK-LABEL: func.func public @public_step
// CHECK-SAME: (%{{[a-z0-9]+}}: tensor<?xf32>, %{{[a-z0-9]+}}: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>)
// CHECK-LABEL: func.func public @uses_public
// CHECK-NEXT: "tir.scan"(%arg0, %arg1) {body = @public_step
// CHECK-LABEL: func.func private @called_step
// CHECK-SAME: (%{{[a-z0-9]+}}: tensor<?xf32>, %{{[a-z0-9]+}}: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>)
// CHECK-LABEL: func.func public @calls_step
// CHECK-NEXT: "tir.scan"(%arg0, %arg1) {body = @called_step
func.func public @public_step(%c: tensor<?xf32>, %u: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %0 = "tir.exp"(%c) : (tensor<?xf32>) -> tensor<?xf32>
  return %0, %0 : tensor<?xf32>, tensor<?xf32>
}
func.func public @uses_public(%c0: tensor<?xf32>, %u: tensor<?xf32>) -> tensor<?xf32> {
  %0:2 = "tir.scan"(%c0, %u) {body = @public_step, length = 2 : i64, num_carry = 1 : i64, num_xs = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?xf32>) -> (tensor<?xf32>, tensor<?x?xf32>)
  return %0#0 : tensor<?xf32>
}
func.func private @called_step(%c: tensor<?xf32>, %u: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %0 = "tir.exp"(%c) : (tensor<?xf32>) -> tensor<?xf32>
  return %0, %0 : tensor<?xf32>, tensor<?xf32>
}
func.func public @calls_step(%c0: tensor<?xf32>, %u: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %0:2 = "tir.scan"(%c0, %u) {body = @called_step, length = 2 : i64, num_carry = 1 : i64, num_xs = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?xf32>) -> (tensor<?xf32>, tensor<?x?xf32>)
  %1:2 = func.call @called_step(%c0, %u) : (tensor<?xf32>, tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>)
  return %0#0, %1#0 : tensor<?xf32>, tensor<?xf32>
}
