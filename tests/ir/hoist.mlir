// RUN: tensorir-opt %s --split-input-file --tir-hoist | FileCheck %s
// RUN: tensorir-opt %s --split-input-file --tir-hoist --tir-dce | FileCheck %s --check-prefix=DCE

// What every step of a scan computes again from its constants alone moves
// in front of the loop and enters it as a new constant operand: W.T of an
// RNN step is transposed once, not once per step. The body reads the new
// argument and loses the transpose; tir-dce then drops W, which the body
// no longer reads.
// CHECK-LABEL: func.func private @rnn_step
// CHECK-SAME: (%[[H:[a-z0-9]+]]: tensor<?x?xf32>, %[[X:[a-z0-9]+]]: tensor<?x?xf32>, %{{[a-z0-9]+}}: tensor<?x?xf32>, %[[WT:[a-z0-9]+]]: tensor<?x?xf32>)
// CHECK-NOT: "tir.transpose"
// CHECK: %[[M:[0-9]+]] = "tir.matmul"(%[[H]], %[[WT]])
// CHECK-NEXT: %[[A:[0-9]+]] = "tir.add"(%[[M]], %[[X]])
// CHECK-NEXT: %[[T:[0-9]+]] = "tir.tanh"(%[[A]])
// CHECK-NEXT: return %[[T]], %[[T]]
// CHECK-LABEL: func.func public @rnn
// CHECK-NEXT: %[[TR:[0-9]+]] = "tir.transpose"(%arg2) {perm = array<i64: 1, 0>}
// CHECK-NEXT: "tir.scan"(%arg1, %arg0, %arg2, %[[TR]]) {body = @rnn_step, length = -1 : i64, num_carry = 1 : i64, num_xs = 1 : i64,
// CHECK-SAME: (tensor<?x?xf32>, tensor<?x?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>) -> (tensor<?x?xf32>, tensor<?x?x?xf32>)
// DCE-LABEL: func.func private @rnn_step
// DCE-SAME: (%{{[a-z0-9]+}}: tensor<?x?xf32>, %{{[a-z0-9]+}}: tensor<?x?xf32>, %{{[a-z0-9]+}}: tensor<?x?xf32>) -> (tensor<?x?xf32>, tensor<?x?xf32>)
// DCE-LABEL: func.func public @rnn
// DCE: "tir.scan"(%arg1, %arg0, %{{[0-9]+}}) {body = @rnn_step
func.func private @rnn_step(%h: tensor<?x?xf32>, %x: tensor<?x?xf32>, %w: tensor<?x?xf32>) -> (tensor<?x?xf32>, tensor<?x?xf32>) {
  %0 = "tir.transpose"(%w) {perm = array<i64: 1, 0>} : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %1 = "tir.matmul"(%h, %0) : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %2 = "tir.add"(%1, %x) : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %3 = "tir.tanh"(%2) : (tensor<?x?xf32>) -> tensor<?x?xf32>
  return %3, %3 : tensor<?x?xf32>, tensor<?x?xf32>
}
func.func public @rnn(%xs: tensor<?x?x?xf32>, %h0: tensor<?x?xf32>, %w: tensor<?x?xf32>) -> tensor<?x?x?xf32> {
  %0:2 = "tir.scan"(%h0, %xs, %w) {body = @rnn_step, length = -1 : i64, num_carry = 1 : i64, num_xs = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?x?xf32>, tensor<?x?x?xf32>, tensor<?x?xf32>) -> (tensor<?x?xf32>, tensor<?x?x?xf32>)
  return %0#1 : tensor<?x?x?xf32>
}

// -----

// What crosses into the loop, and what stays:
// * exp(v) crosses, but the broadcast_to of it stays in the step: hoisted,
//   it would keep a value as big as the broadcast alive across the loop;
//   its dims (tir.dim of a constant argument) stay too;
// * b * 2.0 crosses, its constant cloned in front of the loop with it;
// * the constant stays in the step, where h * 2.0 still reads it.
// CHECK-LABEL: func.func private @mixed_step
// CHECK-SAME: (%[[H:[a-z0-9]+]]: tensor<?xf32>, %[[B:[a-z0-9]+]]: tensor<?xf32>, %{{[a-z0-9]+}}: tensor<f32>, %[[E:[a-z0-9]+]]: tensor<f32>, %[[W:[a-z0-9]+]]: tensor<?xf32>)
// CHECK-NEXT: %[[C:[0-9]+]] = "tir.constant"() {value = dense<2.000000e+00> : tensor<f32>}
// CHECK-NEXT: %[[D:[0-9]+]] = "tir.dim"(%[[B]])
// CHECK-NEXT: %[[BB:[0-9]+]] = "tir.broadcast_to"(%[[E]], %[[D]])
// CHECK-NEXT: %[[H1:[0-9]+]] = "tir.mul"(%[[H]], %[[C]])
// CHECK-NEXT: %[[H2:[0-9]+]] = "tir.add"(%[[H1]], %[[BB]])
// CHECK-NEXT: %[[H3:[0-9]+]] = "tir.add"(%[[H2]], %[[W]])
// CHECK-NEXT: return %[[H3]], %[[H3]]
// CHECK-LABEL: func.func public @mixed
// CHECK-NEXT: %[[EO:[0-9]+]] = "tir.exp"(%arg2)
// CHECK-NEXT: %[[CO:[0-9]+]] = "tir.constant"() {value = dense<2.000000e+00> : tensor<f32>}
// CHECK-NEXT: %[[WO:[0-9]+]] = "tir.mul"(%arg1, %[[CO]])
// CHECK-NEXT: "tir.scan"(%arg0, %arg1, %arg2, %[[EO]], %[[WO]]) {body = @mixed_step, length = 3 : i64, num_carry = 1 : i64, num_xs = 0 : i64
// DCE-LABEL: func.func private @mixed_step
// DCE-SAME: (%{{[a-z0-9]+}}: tensor<?xf32>, %{{[a-z0-9]+}}: tensor<?xf32>, %{{[a-z0-9]+}}: tensor<f32>, %{{[a-z0-9]+}}: tensor<?xf32>)
// DCE-LABEL: func.func public @mixed
// DCE: "tir.scan"(%arg0, %arg1, %{{[0-9]+}}, %{{[0-9]+}})
func.func private @mixed_step(%h: tensor<?xf32>, %b: tensor<?xf32>, %v: tensor<f32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %c = "tir.constant"() {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  %e = "tir.exp"(%v) : (tensor<f32>) -> tensor<f32>
  %d = "tir.dim"(%b) {axis = 0 : i64} : (tensor<?xf32>) -> index
  %bb = "tir.broadcast_to"(%e, %d) {shape = array<i64: -1>} : (tensor<f32>, index) -> tensor<?xf32>
  %w = "tir.mul"(%b, %c) : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
  %h1 = "tir.mul"(%h, %c) : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
  %h2 = "tir.add"(%h1, %bb) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %h3 = "tir.add"(%h2, %w) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %h3, %h3 : tensor<?xf32>, tensor<?xf32>
}
func.func public @mixed(%h0: tensor<?xf32>, %b: tensor<?xf32>, %v: tensor<f32>) -> tensor<?x?xf32> {
  %0:2 = "tir.scan"(%h0, %b, %v) {body = @mixed_step, length = 3 : i64, num_carry = 1 : i64, num_xs = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?xf32>, tensor<f32>) -> (tensor<?xf32>, tensor<?x?xf32>)
  return %0#1 : tensor<?x?xf32>
}

// -----

// Nested loops: the transpose moves out of the inner step into the outer
// step, where it is invariant too, and from there out of the outer loop.
// CHECK-LABEL: func.func private @inner_step
// CHECK-SAME: (%[[H:[a-z0-9]+]]: tensor<?xf32>, %{{[a-z0-9]+}}: tensor<?x?xf32>, %[[T:[a-z0-9]+]]: tensor<?x?xf32>)
// CHECK-NEXT: "tir.matmul"(%[[H]], %[[T]])
// CHECK-LABEL: func.func private @outer_step
// CHECK-SAME: (%[[C:[a-z0-9]+]]: tensor<?xf32>, %[[W:[a-z0-9]+]]: tensor<?x?xf32>, %[[T2:[a-z0-9]+]]: tensor<?x?xf32>)
// CHECK-NOT: "tir.transpose"
// CHECK: "tir.scan"(%[[C]], %[[W]], %[[T2]]) {body = @inner_step
// CHECK-LABEL: func.func public @nested
// CHECK-NEXT: %[[TO:[0-9]+]] = "tir.transpose"(%arg1)
// CHECK-NEXT: "tir.scan"(%arg0, %arg1, %[[TO]]) {body = @outer_step
// DCE-LABEL: func.func private @inner_step
// DCE-SAME: (%{{[a-z0-9]+}}: tensor<?xf32>, %{{[a-z0-9]+}}: tensor<?x?xf32>) -> tensor<?xf32>
// DCE-LABEL: func.func private @outer_step
// DCE-SAME: (%[[C:[a-z0-9]+]]: tensor<?xf32>, %[[T:[a-z0-9]+]]: tensor<?x?xf32>) -> tensor<?xf32>
// DCE: "tir.scan"(%[[C]], %[[T]]) {body = @inner_step
func.func private @inner_step(%h: tensor<?xf32>, %w: tensor<?x?xf32>) -> tensor<?xf32> {
  %t = "tir.transpose"(%w) {perm = array<i64: 1, 0>} : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %m = "tir.matmul"(%h, %t) : (tensor<?xf32>, tensor<?x?xf32>) -> tensor<?xf32>
  return %m : tensor<?xf32>
}
func.func private @outer_step(%c: tensor<?xf32>, %w: tensor<?x?xf32>) -> tensor<?xf32> {
  %0 = "tir.scan"(%c, %w) {body = @inner_step, length = 2 : i64, num_carry = 1 : i64, num_xs = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?x?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func public @nested(%c0: tensor<?xf32>, %w: tensor<?x?xf32>) -> tensor<?xf32> {
  %0 = "tir.scan"(%c0, %w) {body = @outer_step, length = 3 : i64, num_carry = 1 : i64, num_xs = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?x?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

// An inner loop whose operands are all constants of the outer step runs
// once, in front of the outer loop.
// CHECK-LABEL: func.func private @outer_of_invariant
// CHECK-SAME: (%[[C:[a-z0-9]+]]: tensor<?xf32>, %{{[a-z0-9]+}}: tensor<?xf32>, %[[S:[a-z0-9]+]]: tensor<?xf32>)
// CHECK-NEXT: %[[R:[0-9]+]] = "tir.add"(%[[C]], %[[S]])
// CHECK-NEXT: return %[[R]]
// CHECK-LABEL: func.func public @invariant_loop
// CHECK-NEXT: %[[I:[0-9]+]] = "tir.scan"(%arg1) {body = @exp_step, length = 4 : i64
// CHECK-NEXT: "tir.scan"(%arg0, %arg1, %[[I]]) {body = @outer_of_invariant
func.func private @exp_step(%x: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.exp"(%x) : (tensor<?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func private @outer_of_invariant(%c: tensor<?xf32>, %a: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.scan"(%a) {body = @exp_step, length = 4 : i64, num_carry = 1 : i64, num_xs = 0 : i64, operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.add"(%c, %0) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %1 : tensor<?xf32>
}
func.func public @invariant_loop(%c0: tensor<?xf32>, %a: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.scan"(%c0, %a) {body = @outer_of_invariant, length = 3 : i64, num_carry = 1 : i64, num_xs = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

// A body two scans name is cloned before it changes for one of them; each
// loop then gets its own hoisted transpose (of its own weights).
// CHECK-LABEL: func.func private @shared_step(
// CHECK-SAME: tensor<?xf32>, %{{[a-z0-9]+}}: tensor<?x?xf32>, %{{[a-z0-9]+}}: tensor<?x?xf32>)
// CHECK-NOT: "tir.transpose"
// CHECK-LABEL: func.func private @shared_step_1(
// CHECK-SAME: tensor<?xf32>, %{{[a-z0-9]+}}: tensor<?x?xf32>, %{{[a-z0-9]+}}: tensor<?x?xf32>)
// CHECK-NOT: "tir.transpose"
// CHECK-LABEL: func.func public @two_loops
// CHECK-NEXT: %[[T1:[0-9]+]] = "tir.transpose"(%arg1)
// CHECK-NEXT: "tir.scan"(%arg0, %arg1, %[[T1]]) {body = @shared_step_1
// CHECK-NEXT: %[[T2:[0-9]+]] = "tir.transpose"(%arg2)
// CHECK-NEXT: "tir.scan"(%arg0, %arg2, %[[T2]]) {body = @shared_step,
func.func private @shared_step(%h: tensor<?xf32>, %w: tensor<?x?xf32>) -> tensor<?xf32> {
  %t = "tir.transpose"(%w) {perm = array<i64: 1, 0>} : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %m = "tir.matmul"(%h, %t) : (tensor<?xf32>, tensor<?x?xf32>) -> tensor<?xf32>
  return %m : tensor<?xf32>
}
func.func public @two_loops(%c0: tensor<?xf32>, %w1: tensor<?x?xf32>, %w2: tensor<?x?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %0 = "tir.scan"(%c0, %w1) {body = @shared_step, length = 3 : i64, num_carry = 1 : i64, num_xs = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?x?xf32>) -> tensor<?xf32>
  %1 = "tir.scan"(%c0, %w2) {body = @shared_step, length = 3 : i64, num_carry = 1 : i64, num_xs = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?x?xf32>) -> tensor<?xf32>
  return %0, %1 : tensor<?xf32>, tensor<?xf32>
}

// -----

// Left in the loop: a window at run-time offsets (it checks its start when
// it runs, which a loop of no steps never does), a step where nothing is
// invariant, and a body a public function shares is cloned, not changed.
// CHECK-LABEL: func.func private @window_step
// CHECK: "tir.dynamic_slice"
// CHECK-LABEL: func.func public @window
// CHECK-NEXT: "tir.scan"(%arg0, %arg1, %arg2) {body = @window_step
// CHECK-NEXT: return
func.func private @window_step(%h: tensor<?xf32>, %w: tensor<?xf32>, %k: tensor<i64>) -> tensor<?xf32> {
  %s = "tir.dynamic_slice"(%w, %k) {sizes = array<i64: 1>, wrap = array<i64: 1>} : (tensor<?xf32>, tensor<i64>) -> tensor<1xf32>
  %r = "tir.add"(%h, %s) : (tensor<?xf32>, tensor<1xf32>) -> tensor<?xf32>
  return %r : tensor<?xf32>
}
func.func public @window(%c0: tensor<?xf32>, %w: tensor<?xf32>, %k: tensor<i64>) -> tensor<?xf32> {
  %0 = "tir.scan"(%c0, %w, %k) {body = @window_step, length = 3 : i64, num_carry = 1 : i64, num_xs = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?xf32>, tensor<i64>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// CHECK-LABEL: func.func public @public_step(
// CHECK-NEXT: "tir.transpose"
// CHECK-LABEL: func.func private @public_step_1(
// CHECK-NOT: "tir.transpose"
// CHECK-LABEL: func.func public @uses_public
// CHECK-NEXT: "tir.transpose"(%arg1)
// CHECK-NEXT: "tir.scan"(%arg0, %arg1, %{{[0-9]+}}) {body = @public_step_1
func.func public @public_step(%h: tensor<?xf32>, %w: tensor<?x?xf32>) -> tensor<?xf32> {
  %t = "tir.transpose"(%w) {perm = array<i64: 1, 0>} : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %m = "tir.matmul"(%h, %t) : (tensor<?xf32>, tensor<?x?xf32>) -> tensor<?xf32>
  return %m : tensor<?xf32>
}
func.func public @uses_public(%c0: tensor<?xf32>, %w: tensor<?x?xf32>) -> tensor<?xf32> {
  %0 = "tir.scan"(%c0, %w) {body = @public_step, length = 3 : i64, num_carry = 1 : i64, num_xs = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?x?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// CHECK-LABEL: func.func private @nothing_step
// CHECK-NEXT: "tir.mul"(%arg0, %arg1)
// CHECK-LABEL: func.func public @nothing
// CHECK-NEXT: "tir.scan"(%arg0, %arg1) {body = @nothing_step
func.func private @nothing_step(%h: tensor<?xf32>, %x: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.mul"(%h, %x) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func public @nothing(%c0: tensor<?xf32>, %xs: tensor<?x?xf32>) -> tensor<?xf32> {
  %0 = "tir.scan"(%c0, %xs) {body = @nothing_step, length = -1 : i64, num_carry = 1 : i64, num_xs = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, reverse = false} : (tensor<?xf32>, tensor<?x?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
