// RUN: tensorir-opt %s --split-input-file --tir-scan-to-loop | FileCheck %s
// RUN: tensorir-opt %s --split-input-file --tir-scan-to-loop | FileCheck %s --check-prefix=GONE

// Every tir.scan becomes an scf.for over tensors with its body inlined; the
// body functions no scan names any more are erased.
// GONE-NOT: tir.scan
// GONE-NOT: _step(
// GONE-NOT: @inner(

// A cumulative sum: the sequence is read one row per step, the stack of
// outputs is preallocated with a row per step (its rows are static, so no
// step is peeled), and the carry and the stack are the loop's iter_args.
// CHECK-LABEL: func.func public @cumsum
// CHECK: %[[N:.*]] = tensor.dim %arg0, %{{.*}} : tensor<?x4xf64>
// CHECK: %[[STACK:.*]] = tensor.empty(%[[N]]) : tensor<?x4xf64>
// CHECK: %[[R:.*]]:2 = scf.for %[[I:.*]] = %{{.*}} to %[[N]] step %{{.*}} iter_args(%[[C:.*]] = %arg1, %[[S:.*]] = %[[STACK]])
// CHECK: %[[ROW:.*]] = tensor.extract_slice %arg0[%[[I]], 0] [1, 4] [1, 1]
// CHECK: %[[X:.*]] = tensor.collapse_shape %[[ROW]] {{\[\[}}0, 1]] : tensor<1x4xf64> into tensor<4xf64>
// CHECK: %[[NEW:.*]] = "tir.add"(%[[C]], %[[X]])
// CHECK: %[[UNIT:.*]] = tensor.expand_shape %[[NEW]]
// CHECK: %[[INS:.*]] = tensor.insert_slice %[[UNIT]] into %[[S]][%[[I]], 0] [1, 4] [1, 1]
// CHECK: scf.yield %[[NEW]], %[[INS]]
// CHECK: return %[[R]]#1
func.func private @cumsum_step(%c: tensor<4xf64>, %x: tensor<4xf64>) -> (tensor<4xf64>, tensor<4xf64>) {
  %0 = "tir.add"(%c, %x) : (tensor<4xf64>, tensor<4xf64>) -> tensor<4xf64>
  return %0, %0 : tensor<4xf64>, tensor<4xf64>
}
func.func public @cumsum(%xs: tensor<?x4xf64>, %c0: tensor<4xf64>) -> tensor<?x4xf64> {
  %0:2 = "tir.scan"(%c0, %xs) {body = @cumsum_step, length = -1 : i64, num_carry = 1 : i64, num_xs = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<4xf64>, tensor<?x4xf64>) -> (tensor<4xf64>, tensor<?x4xf64>)
  return %0#1 : tensor<?x4xf64>
}

// -----

// Reverse steps read and write row n - 1 - i. The stacked output has a free
// row size, known only from a step's output: the first step is peeled into
// an scf.if (skipped when there are no steps), whose output sizes the stack,
// allocated outside it; the loop runs the other steps.
// CHECK-LABEL: func.func public @backwards
// CHECK: %[[N:.*]] = tensor.dim %arg0
// CHECK: %[[ANY:.*]] = arith.cmpi sgt, %[[N]]
// CHECK: %[[FIRST:.*]]:2 = scf.if %[[ANY]]
// CHECK: "tir.mul"
// CHECK: } else {
// CHECK: %[[ROW:.*]] = tensor.dim %[[FIRST]]#1
// CHECK: %[[STACK:.*]] = tensor.empty(%[[N]], %[[ROW]]) : tensor<?x?xf32>
// CHECK: %[[FILLED:.*]] = scf.if %[[ANY]]
// CHECK: tensor.insert_slice %{{.*}} into %[[STACK]]
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %[[N]] step %{{.*}} iter_args(%{{.*}} = %[[FIRST]]#0, %{{.*}} = %[[FILLED]])
// CHECK: %[[LAST:.*]] = arith.subi %[[N]], %{{.*}}
// CHECK: %[[T:.*]] = arith.subi %[[LAST]], %[[I]]
// CHECK: tensor.extract_slice %arg0[%[[T]], 0]
// CHECK: tensor.insert_slice {{.*}}[%[[T]], 0]
func.func private @backwards_step(%c: tensor<?xf32>, %x: tensor<?xf32>, %w: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %0 = "tir.mul"(%c, %x) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.add"(%0, %w) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %1, %0 : tensor<?xf32>, tensor<?xf32>
}
func.func public @backwards(%xs: tensor<?x?xf32>, %c0: tensor<?xf32>, %w: tensor<?xf32>) -> tensor<?x?xf32> {
  %0:2 = "tir.scan"(%c0, %xs, %w) {body = @backwards_step, length = -1 : i64, num_carry = 1 : i64, num_xs = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = true} : (tensor<?xf32>, tensor<?x?xf32>, tensor<?xf32>) -> (tensor<?xf32>, tensor<?x?xf32>)
  return %0#1 : tensor<?x?xf32>
}

// -----

// Without sequences the step count is the static length (or a leading index
// operand); a scan inside a body is lowered through the copy of that body.
// CHECK-LABEL: func.func public @nested
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step
// CHECK: scf.for %{{.*}} = %{{.*}} to %arg1 step
// CHECK: "tir.mul"
func.func private @inner(%c: tensor<2xf64>, %k: tensor<2xf64>) -> (tensor<2xf64>) {
  %0 = "tir.mul"(%c, %k) : (tensor<2xf64>, tensor<2xf64>) -> tensor<2xf64>
  return %0 : tensor<2xf64>
}
func.func private @outer(%c: tensor<2xf64>, %n: index) -> (tensor<2xf64>) {
  %0 = "tir.scan"(%n, %c, %c) {body = @inner, length = -1 : i64, num_carry = 1 : i64, num_xs = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (index, tensor<2xf64>, tensor<2xf64>) -> tensor<2xf64>
  return %0 : tensor<2xf64>
}
func.func public @nested(%c0: tensor<2xf64>, %n: index) -> tensor<2xf64> {
  %0 = "tir.scan"(%c0, %n) {body = @outer, length = 3 : i64, num_carry = 1 : i64, num_xs = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<2xf64>, index) -> tensor<2xf64>
  return %0 : tensor<2xf64>
}
