// RUN: tensorir-opt %s --split-input-file --tir-scan-pushout | FileCheck %s

// An RNN step tanh(h @ W + (x_t @ U + b)): x_t @ U + b is computed from the
// sequence slice and constants alone, so it is computed for every step at
// once before the loop (one batched matmul), and the loop reads it one row
// per step as a new sequence. The step keeps what reads the carry.
// CHECK-LABEL: func.func private @rnn_step
// CHECK-SAME: (%[[H:arg[0-9]+]]: tensor<?x?xf64>, %{{arg[0-9]+}}: tensor<?x?xf64>, %[[ROW:arg[0-9]+]]: tensor<?x?xf64>, %[[W:arg[0-9]+]]: tensor<?x?xf64>
// CHECK-NEXT: %[[HW:.*]] = "tir.matmul"(%[[H]], %[[W]])
// CHECK-NEXT: %[[S:.*]] = "tir.add"(%[[HW]], %[[ROW]])
// CHECK-NEXT: "tir.tanh"(%[[S]])
// CHECK-LABEL: func.func public @rnn
// CHECK: %[[XU:.*]] = "tir.matmul"(%arg0, %arg3) : (tensor<?x?x?xf64>, tensor<?x?xf64>) -> tensor<?x?x?xf64>
// CHECK: %[[XUB:.*]] = "tir.add"(%[[XU]], %arg4) : (tensor<?x?x?xf64>, tensor<?xf64>) -> tensor<?x?x?xf64>
// CHECK: "tir.scan"(%arg1, %arg0, %[[XUB]], %arg2, %arg3, %arg4) {{.*}}num_xs = 2
func.func private @rnn_step(%h: tensor<?x?xf64>, %x: tensor<?x?xf64>, %W: tensor<?x?xf64>, %U: tensor<?x?xf64>, %b: tensor<?xf64>) -> (tensor<?x?xf64>, tensor<?x?xf64>) {
  %0 = "tir.matmul"(%h, %W) : (tensor<?x?xf64>, tensor<?x?xf64>) -> tensor<?x?xf64>
  %1 = "tir.matmul"(%x, %U) : (tensor<?x?xf64>, tensor<?x?xf64>) -> tensor<?x?xf64>
  %2 = "tir.add"(%1, %b) : (tensor<?x?xf64>, tensor<?xf64>) -> tensor<?x?xf64>
  %3 = "tir.add"(%0, %2) : (tensor<?x?xf64>, tensor<?x?xf64>) -> tensor<?x?xf64>
  %4 = "tir.tanh"(%3) : (tensor<?x?xf64>) -> tensor<?x?xf64>
  return %4, %4 : tensor<?x?xf64>, tensor<?x?xf64>
}
func.func public @rnn(%xs: tensor<?x?x?xf64>, %h0: tensor<?x?xf64>, %W: tensor<?x?xf64>, %U: tensor<?x?xf64>, %b: tensor<?xf64>) -> tensor<?x?x?xf64> {
  %0:2 = "tir.scan"(%h0, %xs, %W, %U, %b) {body = @rnn_step, length = -1 : i64, num_carry = 1 : i64, num_xs = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?x?xf64>, tensor<?x?x?xf64>, tensor<?x?xf64>, tensor<?x?xf64>, tensor<?xf64>) -> (tensor<?x?xf64>, tensor<?x?x?xf64>)
  return %0#1 : tensor<?x?x?xf64>
}

// -----

// A reduction of the slice shifts its axes by one; an op that reads the
// carry, and everything after it, stays in the step.
// CHECK-LABEL: func.func private @rowsum_step
// CHECK-NOT: "tir.sum"
// CHECK: "tir.mul"
// CHECK-LABEL: func.func public @rowsum
// CHECK: %[[S:.*]] = "tir.sum"(%arg0) {axes = array<i64: 2>, keepdims = false} : (tensor<?x?x?xf32>) -> tensor<?x?xf32>
// CHECK: "tir.scan"(%arg1, %arg0, %[[S]])
func.func private @rowsum_step(%c: tensor<?xf32>, %x: tensor<?x?xf32>) -> (tensor<?xf32>) {
  %0 = "tir.sum"(%x) {axes = array<i64: 1>, keepdims = false} : (tensor<?x?xf32>) -> tensor<?xf32>
  %1 = "tir.mul"(%c, %0) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %1 : tensor<?xf32>
}
func.func public @rowsum(%xs: tensor<?x?x?xf32>, %c0: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.scan"(%c0, %xs) {body = @rowsum_step, length = -1 : i64, num_carry = 1 : i64, num_xs = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?x?x?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

// An accumulator: the weight gradient of a backward step, acc + h_t^T @ dz_t
// with h_t a sequence slice and dz_t computed by the step. The carry and the
// per-step product leave the loop: the step returns dz_t as a new per-step
// output, and after the loop one matmul over the stacked rows of h and dz
// (reshaped to (steps * batch, k)) is added to the initial value.
// CHECK-LABEL: func.func private @grad_step
// CHECK-SAME: (%[[G:arg[0-9]+]]: tensor<?x?xf64>, %[[HT:arg[0-9]+]]: tensor<?x?xf64>, %[[W2:arg[0-9]+]]: tensor<?x?xf64>) -> (tensor<?x?xf64>, tensor<?x?xf64>)
// CHECK-NEXT: %[[DZ:.*]] = "tir.tanh"(%[[G]])
// CHECK-NEXT: %[[DH:.*]] = "tir.matmul"(%[[DZ]], %[[W2]])
// CHECK-NEXT: return %[[DH]], %[[DZ]]
// CHECK-LABEL: func.func public @grad
// CHECK: %[[S:.*]]:2 = "tir.scan"(%arg1, %arg0, %arg3) {{.*}}num_carry = 1 : i64, num_xs = 1 : i64{{.*}}reverse = true
// CHECK: %[[HR:.*]] = "tir.reshape"(%arg0, %{{.*}}) {shape = array<i64: -9223372036854775808, -1>}
// CHECK: %[[HRT:.*]] = "tir.transpose"(%[[HR]]) {perm = array<i64: 1, 0>}
// CHECK: %[[DZR:.*]] = "tir.reshape"(%[[S]]#1, %{{.*}}) {shape = array<i64: -9223372036854775808, -1>}
// CHECK: %[[P:.*]] = "tir.matmul"(%[[HRT]], %[[DZR]])
// CHECK: %[[DW:.*]] = "tir.add"(%arg2, %[[P]])
// CHECK: return %[[S]]#0, %[[DW]]
func.func private @grad_step(%g: tensor<?x?xf64>, %acc: tensor<?x?xf64>, %h: tensor<?x?xf64>, %W: tensor<?x?xf64>) -> (tensor<?x?xf64>, tensor<?x?xf64>) {
  %dz = "tir.tanh"(%g) : (tensor<?x?xf64>) -> tensor<?x?xf64>
  %dh = "tir.matmul"(%dz, %W) : (tensor<?x?xf64>, tensor<?x?xf64>) -> tensor<?x?xf64>
  %ht = "tir.transpose"(%h) {perm = array<i64: 1, 0>} : (tensor<?x?xf64>) -> tensor<?x?xf64>
  %e = "tir.matmul"(%ht, %dz) : (tensor<?x?xf64>, tensor<?x?xf64>) -> tensor<?x?xf64>
  %next = "tir.add"(%acc, %e) : (tensor<?x?xf64>, tensor<?x?xf64>) -> tensor<?x?xf64>
  return %dh, %next : tensor<?x?xf64>, tensor<?x?xf64>
}
func.func public @grad(%hs: tensor<?x?x?xf64>, %g0: tensor<?x?xf64>, %acc0: tensor<?x?xf64>, %W: tensor<?x?xf64>) -> (tensor<?x?xf64>, tensor<?x?xf64>) {
  %0:2 = "tir.scan"(%g0, %acc0, %hs, %W) {body = @grad_step, length = -1 : i64, num_carry = 2 : i64, num_xs = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = true} : (tensor<?x?xf64>, tensor<?x?xf64>, tensor<?x?x?xf64>, tensor<?x?xf64>) -> (tensor<?x?xf64>, tensor<?x?xf64>)
  return %0#0, %0#1 : tensor<?x?xf64>, tensor<?x?xf64>
}
