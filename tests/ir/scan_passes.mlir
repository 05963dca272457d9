// tir.scan and its body functions through tensorir-opt: IR with scans
// parses, prints and reads back; every tir pass runs on it by name; the
// rewrites of tir-simplify, tir-stabilize, tir-fold and tir-merge reach the
// ops inside a step (a body is a function like any other) and treat the
// scan op itself as the loop it is. tir-hoist and the scan cases of tir-dce
// are in hoist.mlir and dce.mlir.

// Printing and reading back: the same module, in custom and generic form.
// RUN: tensorir-opt %s | tensorir-opt | FileCheck %s --check-prefix=ROUND
// RUN: tensorir-opt %s --mlir-print-op-generic | tensorir-opt | FileCheck %s --check-prefix=ROUND
// ROUND-LABEL: func.func private @rnn_step
// ROUND-SAME: (%arg0: tensor<?x?xf32>, %arg1: tensor<?x?xf32>, %arg2: tensor<?x?xf32>) -> (tensor<?x?xf32>, tensor<?x?xf32>)
// ROUND-LABEL: func.func public @rnn
// ROUND: "tir.scan"(%arg1, %arg0, %arg2) {body = @rnn_step, length = -1 : i64, num_carry = 1 : i64, num_xs = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 0,
// ROUND-SAME: resultSegmentSizes = array<i32: 1, 1, 0,
// ROUND-SAME: reverse = false} : (tensor<?x?xf32>, tensor<?x?x?xf32>, tensor<?x?xf32>) -> (tensor<?x?xf32>, tensor<?x?x?xf32>)

// Every tir pass by name, one after the other; the loop is still there.
// RUN: tensorir-opt %s --tir-autodiff --tir-stabilize --tir-merge --tir-fold --tir-simplify --tir-hoist --tir-dce | FileCheck %s --check-prefix=ALL
// ALL-LABEL: func.func public @rnn
// ALL: "tir.transpose"
// ALL-NEXT: "tir.scan"

// The fast_run pipeline: the step's x * 1 goes, log(1 + x) becomes log1p,
// W.T is computed once before the loop and W no longer enters it, and
// log1p of the slice, which reads the sequence alone, is computed for all
// steps before the loop (tir-scan-pushout), replacing the sequence.
// RUN: tensorir-opt %s --tir-pipeline=fast_run | FileCheck %s --check-prefix=FAST
// FAST-LABEL: func.func private @rnn_step
// FAST-SAME: (%[[H:[a-z0-9]+]]: tensor<?x?xf32>, %[[L:[a-z0-9]+]]: tensor<?x?xf32>, %[[WT:[a-z0-9]+]]: tensor<?x?xf32>)
// FAST-NEXT: %[[M:[0-9]+]] = "tir.matmul"(%[[H]], %[[WT]])
// FAST-NEXT: %[[A:[0-9]+]] = "tir.add"(%[[M]], %[[L]])
// FAST-NEXT: %[[T:[0-9]+]] = "tir.tanh"(%[[A]])
// FAST-NEXT: return %[[T]], %[[T]]
// FAST-LABEL: func.func public @rnn
// FAST-NEXT: %[[TR:[0-9]+]] = "tir.transpose"(%arg2)
// FAST-NEXT: %[[LS:[0-9]+]] = "tir.log1p"(%arg0)
// FAST-NEXT: "tir.scan"(%arg1, %[[LS]], %[[TR]]) {body = @rnn_step
func.func private @rnn_step(%h: tensor<?x?xf32>, %x: tensor<?x?xf32>, %w: tensor<?x?xf32>) -> (tensor<?x?xf32>, tensor<?x?xf32>) {
  %one = "tir.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.transpose"(%w) {perm = array<i64: 1, 0>} : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %1 = "tir.matmul"(%h, %0) : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %2 = "tir.mul"(%1, %one) : (tensor<?x?xf32>, tensor<f32>) -> tensor<?x?xf32>
  %3 = "tir.add"(%one, %x) : (tensor<f32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %4 = "tir.log"(%3) : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %5 = "tir.add"(%2, %4) : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %6 = "tir.tanh"(%5) : (tensor<?x?xf32>) -> tensor<?x?xf32>
  return %6, %6 : tensor<?x?xf32>, tensor<?x?xf32>
}
func.func public @rnn(%xs: tensor<?x?x?xf32>, %h0: tensor<?x?xf32>, %w: tensor<?x?xf32>) -> tensor<?x?x?xf32> {
  %0:2 = "tir.scan"(%h0, %xs, %w) {body = @rnn_step, length = -1 : i64, num_carry = 1 : i64, num_xs = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?x?xf32>, tensor<?x?x?xf32>, tensor<?x?xf32>) -> (tensor<?x?xf32>, tensor<?x?x?xf32>)
  return %0#1 : tensor<?x?x?xf32>
}

// tir-simplify and tir-stabilize inside a step.
// RUN: tensorir-opt %s --tir-simplify | FileCheck %s --check-prefix=SIMPLIFY
// SIMPLIFY-LABEL: func.func private @rnn_step
// SIMPLIFY-NOT: "tir.mul"
// SIMPLIFY: return
// RUN: tensorir-opt %s --tir-stabilize | FileCheck %s --check-prefix=STABILIZE
// STABILIZE-LABEL: func.func private @rnn_step
// STABILIZE-NOT: "tir.log"(
// STABILIZE: "tir.log1p"(%arg1)
// STABILIZE-NOT: "tir.log"(
// STABILIZE: return

// tir-fold: the constant ops inside a step fold; a scan whose operands are
// all constants stays a loop (only running its body gives its value).
// RUN: tensorir-opt %s --tir-fold --tir-dce | FileCheck %s --check-prefix=FOLD
// FOLD-LABEL: func.func private @const_step
// FOLD-NEXT: %[[C:[0-9]+]] = "tir.constant"() {value = dense<6.000000e+00> : tensor<f32>}
// FOLD-NEXT: %[[R:[0-9]+]] = "tir.mul"(%arg0, %[[C]])
// FOLD-NEXT: return %[[R]]
// FOLD-LABEL: func.func public @const_loop
// FOLD-NEXT: %[[I:[0-9]+]] = "tir.constant"() {value = dense<1.000000e+00> : tensor<3xf32>}
// FOLD-NEXT: %[[S:[0-9]+]] = "tir.scan"(%[[I]]) {body = @const_step
// FOLD-NEXT: return %[[S]]
func.func private @const_step(%c: tensor<3xf32>) -> tensor<3xf32> {
  %a = "tir.constant"() {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  %b = "tir.constant"() {value = dense<3.0> : tensor<f32>} : () -> tensor<f32>
  %ab = "tir.mul"(%a, %b) : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %r = "tir.mul"(%c, %ab) : (tensor<3xf32>, tensor<f32>) -> tensor<3xf32>
  return %r : tensor<3xf32>
}
func.func public @const_loop() -> tensor<3xf32> {
  %init = "tir.constant"() {value = dense<1.0> : tensor<3xf32>} : () -> tensor<3xf32>
  %0 = "tir.scan"(%init) {body = @const_step, length = 4 : i64, num_carry = 1 : i64, num_xs = 0 : i64, operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// tir-merge: two scans are one when their operands and attributes are
// equal and their bodies compute the same (same text but for the name):
// %1 (same body) and %2 (an equal body under another name) merge into %0;
// %3 reads other sequences and %4 has another body: they stay. Equal ops
// inside one step merge too. tir-dce then erases the body nothing names.
// RUN: tensorir-opt %s --tir-merge | FileCheck %s --check-prefix=MERGE
// RUN: tensorir-opt %s --tir-merge --tir-dce | FileCheck %s --check-prefix=MERGEDCE
// MERGE-LABEL: func.func private @twice_step
// MERGE-NEXT: %[[E:[0-9]+]] = "tir.exp"(%arg1)
// MERGE-NEXT: %[[A:[0-9]+]] = "tir.add"(%[[E]], %[[E]])
// MERGE-LABEL: func.func public @loops
// MERGE-NEXT: %[[S0:[0-9]+]]:2 = "tir.scan"(%arg0, %arg1) {body = @add_step,
// MERGE-NEXT: %[[S3:[0-9]+]]:2 = "tir.scan"(%arg0, %arg2) {body = @add_step,
// MERGE-NEXT: %[[S4:[0-9]+]]:2 = "tir.scan"(%arg0, %arg1) {body = @sub_step,
// MERGE-NEXT: %[[S5:[0-9]+]]:2 = "tir.scan"(%arg0, %arg1) {body = @add_step, length = -1 : i64, num_carry = 1 : i64, num_xs = 1 : i64, {{.*}} reverse = true}
// MERGE-NEXT: %[[S6:[0-9]+]]:2 = "tir.scan"(%arg0, %arg1) {body = @twice_step,
// MERGE-NEXT: return %[[S0]]#1, %[[S0]]#1, %[[S0]]#1, %[[S3]]#1, %[[S4]]#1, %[[S5]]#1, %[[S6]]#1
// MERGEDCE-NOT: @add_step_again
func.func private @add_step(%c: tensor<?xf32>, %x: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %0 = "tir.add"(%c, %x) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %0, %0 : tensor<?xf32>, tensor<?xf32>
}
func.func private @add_step_again(%c: tensor<?xf32>, %x: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %0 = "tir.add"(%c, %x) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %0, %0 : tensor<?xf32>, tensor<?xf32>
}
func.func private @sub_step(%c: tensor<?xf32>, %x: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %0 = "tir.sub"(%c, %x) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %0, %0 : tensor<?xf32>, tensor<?xf32>
}
func.func private @twice_step(%c: tensor<?xf32>, %x: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %0 = "tir.exp"(%x) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.exp"(%x) : (tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.add"(%0, %1) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %2, %2 : tensor<?xf32>, tensor<?xf32>
}
func.func public @loops(%c0: tensor<?xf32>, %xs: tensor<?x?xf32>, %ys: tensor<?x?xf32>) -> (tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>) {
  %0:2 = "tir.scan"(%c0, %xs) {body = @add_step, length = -1 : i64, num_carry = 1 : i64, num_xs = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?x?xf32>) -> (tensor<?xf32>, tensor<?x?xf32>)
  %1:2 = "tir.scan"(%c0, %xs) {body = @add_step, length = -1 : i64, num_carry = 1 : i64, num_xs = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?x?xf32>) -> (tensor<?xf32>, tensor<?x?xf32>)
  %2:2 = "tir.scan"(%c0, %xs) {body = @add_step_again, length = -1 : i64, num_carry = 1 : i64, num_xs = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?x?xf32>) -> (tensor<?xf32>, tensor<?x?xf32>)
  %3:2 = "tir.scan"(%c0, %ys) {body = @add_step, length = -1 : i64, num_carry = 1 : i64, num_xs = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?x?xf32>) -> (tensor<?xf32>, tensor<?x?xf32>)
  %4:2 = "tir.scan"(%c0, %xs) {body = @sub_step, length = -1 : i64, num_carry = 1 : i64, num_xs = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?x?xf32>) -> (tensor<?xf32>, tensor<?x?xf32>)
  %5:2 = "tir.scan"(%c0, %xs) {body = @add_step, length = -1 : i64, num_carry = 1 : i64, num_xs = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = true} : (tensor<?xf32>, tensor<?x?xf32>) -> (tensor<?xf32>, tensor<?x?xf32>)
  %6:2 = "tir.scan"(%c0, %xs) {body = @twice_step, length = -1 : i64, num_carry = 1 : i64, num_xs = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?x?xf32>) -> (tensor<?xf32>, tensor<?x?xf32>)
  return %0#1, %1#1, %2#1, %3#1, %4#1, %5#1, %6#1 : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>
}

// A scan that does not fit its body is rejected, the body named.
// RUN: not tensorir-opt %S/Inputs/invalid_scan.mlir 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: tensorir-opt: error: invalid tir in {{.*}}invalid_scan.mlir:
// BAD-NEXT: {{.*}}invalid_scan.mlir:8:10: error: 'tir.scan' rejects its operands (tensor<?xf32>, tensor<?x?xf32>, tensor<?x?xf32>): tir.scan: its body @step takes 2 values, but the scan passes 1 carries, 1 sequences and 1 constants
