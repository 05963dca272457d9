// RUN: tensorir-opt %s --tir-stabilize | FileCheck %s

// One function per rule of tir-stabilize (passes/stabilize.py), named after
// it. Constants are matched by value, as 0-d float32 or float64 splats.

// CHECK-LABEL: func.func @log_softmax
// CHECK-NOT: "tir.log"(
// CHECK: "tir.log_softmax"(%arg0) {axes = array<i64: 1>}
func.func @log_softmax(%arg0: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %0 = "tir.softmax"(%arg0) {axes = array<i64: 1>} : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %1 = "tir.log"(%0) : (tensor<?x?xf32>) -> tensor<?x?xf32>
  return %1 : tensor<?x?xf32>
}

// CHECK-LABEL: func.func @logsumexp
// CHECK-NOT: "tir.exp"
// CHECK: "tir.logsumexp"(%arg0) {axes = array<i64: 0>, keepdims = true}
func.func @logsumexp(%arg0: tensor<?x3xf64>) -> tensor<1x3xf64> {
  %0 = "tir.exp"(%arg0) : (tensor<?x3xf64>) -> tensor<?x3xf64>
  %1 = "tir.sum"(%0) {axes = array<i64: 0>, keepdims = true} : (tensor<?x3xf64>) -> tensor<1x3xf64>
  %2 = "tir.log"(%1) : (tensor<1x3xf64>) -> tensor<1x3xf64>
  return %2 : tensor<1x3xf64>
}

// both operand orders
// CHECK-LABEL: func.func @log1p
// CHECK-NOT: "tir.add"
// CHECK: %[[A:[0-9]+]] = "tir.log1p"(%arg0)
// CHECK: %[[B:[0-9]+]] = "tir.log1p"(%arg0)
// CHECK: return %[[A]], %[[B]]
func.func @log1p(%arg0: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %c = "tir.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.add"(%c, %arg0) : (tensor<f32>, tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.log"(%0) : (tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.add"(%arg0, %c) : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
  %3 = "tir.log"(%2) : (tensor<?xf32>) -> tensor<?xf32>
  return %1, %3 : tensor<?xf32>, tensor<?xf32>
}

// log(2 + x) is not log1p
// CHECK-LABEL: func.func @log_two_plus
// CHECK: "tir.log"(
// CHECK-NOT: "tir.log1p"
func.func @log_two_plus(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %c = "tir.constant"() {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.add"(%c, %arg0) : (tensor<f32>, tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.log"(%0) : (tensor<?xf32>) -> tensor<?xf32>
  return %1 : tensor<?xf32>
}

// CHECK-LABEL: func.func @expm1
// CHECK-NOT: "tir.sub"
// CHECK: %[[A:[0-9]+]] = "tir.expm1"(%arg0)
// CHECK: return %[[A]]
func.func @expm1(%arg0: tensor<?xf64>) -> tensor<?xf64> {
  %c = "tir.constant"() {value = dense<1.0> : tensor<f64>} : () -> tensor<f64>
  %0 = "tir.exp"(%arg0) : (tensor<?xf64>) -> tensor<?xf64>
  %1 = "tir.sub"(%0, %c) : (tensor<?xf64>, tensor<f64>) -> tensor<?xf64>
  return %1 : tensor<?xf64>
}

// CHECK-LABEL: func.func @softplus
// CHECK-NOT: "tir.exp"
// CHECK: %[[A:[0-9]+]] = "tir.softplus"(%arg0)
// CHECK: return %[[A]]
func.func @softplus(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %c = "tir.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.exp"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.add"(%c, %0) : (tensor<f32>, tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.log"(%1) : (tensor<?xf32>) -> tensor<?xf32>
  return %2 : tensor<?xf32>
}

// CHECK-LABEL: func.func @log_sigmoid
// CHECK-NOT: "tir.sigmoid"
// CHECK: %[[N:[0-9]+]] = "tir.neg"(%arg0)
// CHECK: %[[S:[0-9]+]] = "tir.softplus"(%[[N]])
// CHECK: %[[R:[0-9]+]] = "tir.neg"(%[[S]])
// CHECK: return %[[R]]
func.func @log_sigmoid(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.sigmoid"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.log"(%0) : (tensor<?xf32>) -> tensor<?xf32>
  return %1 : tensor<?xf32>
}

// CHECK-LABEL: func.func @log_one_minus_sigmoid
// CHECK-NOT: "tir.sigmoid"
// CHECK: %[[S:[0-9]+]] = "tir.softplus"(%arg0)
// CHECK: %[[R:[0-9]+]] = "tir.neg"(%[[S]])
// CHECK: return %[[R]]
func.func @log_one_minus_sigmoid(%arg0: tensor<?xf64>) -> tensor<?xf64> {
  %c = "tir.constant"() {value = dense<1.0> : tensor<f64>} : () -> tensor<f64>
  %0 = "tir.sigmoid"(%arg0) : (tensor<?xf64>) -> tensor<?xf64>
  %1 = "tir.sub"(%c, %0) : (tensor<f64>, tensor<?xf64>) -> tensor<?xf64>
  %2 = "tir.log"(%1) : (tensor<?xf64>) -> tensor<?xf64>
  return %2 : tensor<?xf64>
}

// CHECK-LABEL: func.func @sigmoid
// CHECK-NOT: "tir.exp"
// CHECK: %[[S:[0-9]+]] = "tir.sigmoid"(%arg0)
// CHECK: return %[[S]]
func.func @sigmoid(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %c = "tir.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.neg"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.exp"(%0) : (tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.add"(%1, %c) : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
  %3 = "tir.div"(%c, %2) : (tensor<f32>, tensor<?xf32>) -> tensor<?xf32>
  return %3 : tensor<?xf32>
}

// CHECK-LABEL: func.func @softmax
// CHECK-NOT: "tir.sum"
// CHECK: %[[S:[0-9]+]] = "tir.softmax"(%arg0) {axes = array<i64: 1>}
// CHECK: return %[[S]]
func.func @softmax(%arg0: tensor<?x?xf64>) -> tensor<?x?xf64> {
  %0 = "tir.exp"(%arg0) : (tensor<?x?xf64>) -> tensor<?x?xf64>
  %1 = "tir.sum"(%0) {axes = array<i64: 1>, keepdims = true} : (tensor<?x?xf64>) -> tensor<?x1xf64>
  %2 = "tir.div"(%0, %1) : (tensor<?x?xf64>, tensor<?x1xf64>) -> tensor<?x?xf64>
  return %2 : tensor<?x?xf64>
}

// CHECK-LABEL: func.func @sqrt_square
// CHECK-NOT: "tir.sqrt"
// CHECK: %[[A:[0-9]+]] = "tir.abs"(%arg0)
// CHECK: return %[[A]]
func.func @sqrt_square(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.mul"(%arg0, %arg0) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.sqrt"(%0) : (tensor<?xf32>) -> tensor<?xf32>
  return %1 : tensor<?xf32>
}

// keepdims=True, and keepdims=False brought back by expand_dims, by a
// reshape that inserts the axis, by broadcast_to, or by broadcasting on the
// right when the reduced axis leads
// CHECK-LABEL: func.func @log_softmax_sub
// CHECK-NOT: "tir.sub"
// CHECK: %[[A:[0-9]+]] = "tir.log_softmax"(%arg0) {axes = array<i64: 1>}
// CHECK: %[[B:[0-9]+]] = "tir.log_softmax"(%arg0) {axes = array<i64: 1>}
// CHECK: %[[C:[0-9]+]] = "tir.log_softmax"(%arg0) {axes = array<i64: 1>}
// CHECK: %[[D:[0-9]+]] = "tir.log_softmax"(%arg0) {axes = array<i64: 1>}
// CHECK: %[[E:[0-9]+]] = "tir.log_softmax"(%arg0) {axes = array<i64: 0>}
// CHECK: return %[[A]], %[[B]], %[[C]], %[[D]], %[[E]]
func.func @log_softmax_sub(%arg0: tensor<?x?xf32>) -> (tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>) {
  %0 = "tir.logsumexp"(%arg0) {axes = array<i64: 1>, keepdims = true} : (tensor<?x?xf32>) -> tensor<?x1xf32>
  %1 = "tir.sub"(%arg0, %0) : (tensor<?x?xf32>, tensor<?x1xf32>) -> tensor<?x?xf32>
  %2 = "tir.logsumexp"(%arg0) {axes = array<i64: 1>, keepdims = false} : (tensor<?x?xf32>) -> tensor<?xf32>
  %3 = "tir.expand_dims"(%2) {axes = array<i64: 1>} : (tensor<?xf32>) -> tensor<?x1xf32>
  %4 = "tir.sub"(%arg0, %3) : (tensor<?x?xf32>, tensor<?x1xf32>) -> tensor<?x?xf32>
  %5 = "tir.reshape"(%2) {shape = array<i64: -9223372036854775808, 1>} : (tensor<?xf32>) -> tensor<?x1xf32>
  %6 = "tir.sub"(%arg0, %5) : (tensor<?x?xf32>, tensor<?x1xf32>) -> tensor<?x?xf32>
  %d0 = "tir.dim"(%arg0) {axis = 0 : i64} : (tensor<?x?xf32>) -> index
  %d1 = "tir.dim"(%arg0) {axis = 1 : i64} : (tensor<?x?xf32>) -> index
  %7 = "tir.broadcast_to"(%3, %d0, %d1) {shape = array<i64: -1, -1>} : (tensor<?x1xf32>, index, index) -> tensor<?x?xf32>
  %8 = "tir.sub"(%arg0, %7) : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %9 = "tir.logsumexp"(%arg0) {axes = array<i64: 0>, keepdims = false} : (tensor<?x?xf32>) -> tensor<?xf32>
  %10 = "tir.sub"(%arg0, %9) : (tensor<?x?xf32>, tensor<?xf32>) -> tensor<?x?xf32>
  return %1, %4, %6, %8, %10 : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>
}

// not a log_softmax: the reduced dims land on the wrong axis (x[i, j] - lse_1[j],
// x[i, j] - lse_0[i]), or the logsumexp is of another value
// CHECK-LABEL: func.func @log_softmax_sub_mismatch
// CHECK-NOT: "tir.log_softmax"
// CHECK: return
func.func @log_softmax_sub_mismatch(%arg0: tensor<?x?xf64>, %arg1: tensor<?x?xf64>) -> (tensor<?x?xf64>, tensor<?x?xf64>, tensor<?x?xf64>) {
  %0 = "tir.logsumexp"(%arg0) {axes = array<i64: 1>, keepdims = false} : (tensor<?x?xf64>) -> tensor<?xf64>
  %1 = "tir.sub"(%arg0, %0) : (tensor<?x?xf64>, tensor<?xf64>) -> tensor<?x?xf64>
  %2 = "tir.logsumexp"(%arg0) {axes = array<i64: 0>, keepdims = false} : (tensor<?x?xf64>) -> tensor<?xf64>
  %3 = "tir.reshape"(%2) {shape = array<i64: -9223372036854775808, 1>} : (tensor<?xf64>) -> tensor<?x1xf64>
  %4 = "tir.sub"(%arg0, %3) : (tensor<?x?xf64>, tensor<?x1xf64>) -> tensor<?x?xf64>
  %5 = "tir.logsumexp"(%arg1) {axes = array<i64: 1>, keepdims = true} : (tensor<?x?xf64>) -> tensor<?x1xf64>
  %6 = "tir.sub"(%arg0, %5) : (tensor<?x?xf64>, tensor<?x1xf64>) -> tensor<?x?xf64>
  return %1, %4, %6 : tensor<?x?xf64>, tensor<?x?xf64>, tensor<?x?xf64>
}

// both operand orders of the add; the two exps need not be one op
// CHECK-LABEL: func.func @sigmoid_exp
// CHECK-NOT: "tir.div"
// CHECK: %[[A:[0-9]+]] = "tir.sigmoid"(%arg0)
// CHECK: %[[B:[0-9]+]] = "tir.sigmoid"(%arg0)
// CHECK: return %[[A]], %[[B]]
func.func @sigmoid_exp(%arg0: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %c = "tir.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.exp"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.exp"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.add"(%c, %1) : (tensor<f32>, tensor<?xf32>) -> tensor<?xf32>
  %3 = "tir.div"(%0, %2) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %4 = "tir.add"(%0, %c) : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
  %5 = "tir.div"(%0, %4) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %3, %5 : tensor<?xf32>, tensor<?xf32>
}

// exp(x) / (1 + exp(y)) is not a sigmoid
// CHECK-LABEL: func.func @sigmoid_exp_other
// CHECK-NOT: "tir.sigmoid"
// CHECK: "tir.div"
func.func @sigmoid_exp_other(%arg0: tensor<?xf32>, %arg1: tensor<?xf32>) -> tensor<?xf32> {
  %c = "tir.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.exp"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.exp"(%arg1) : (tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.add"(%c, %1) : (tensor<f32>, tensor<?xf32>) -> tensor<?xf32>
  %3 = "tir.div"(%0, %2) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %3 : tensor<?xf32>
}

// broadcasting operands
// CHECK-LABEL: func.func @logaddexp
// CHECK-NOT: "tir.exp"
// CHECK: %[[A:[0-9]+]] = "tir.logaddexp"(%arg0, %arg1) : (tensor<?x?xf64>, tensor<?xf64>) -> tensor<?x?xf64>
// CHECK: return %[[A]]
func.func @logaddexp(%arg0: tensor<?x?xf64>, %arg1: tensor<?xf64>) -> tensor<?x?xf64> {
  %0 = "tir.exp"(%arg0) : (tensor<?x?xf64>) -> tensor<?x?xf64>
  %1 = "tir.exp"(%arg1) : (tensor<?xf64>) -> tensor<?xf64>
  %2 = "tir.add"(%0, %1) : (tensor<?x?xf64>, tensor<?xf64>) -> tensor<?x?xf64>
  %3 = "tir.log"(%2) : (tensor<?x?xf64>) -> tensor<?x?xf64>
  return %3 : tensor<?x?xf64>
}

// log(-expm1(x)) and log(1 - exp(x))
// CHECK-LABEL: func.func @log1mexp
// CHECK-NOT: "tir.log"(
// CHECK: %[[A:[0-9]+]] = "tir.log1mexp"(%arg0)
// CHECK: %[[B:[0-9]+]] = "tir.log1mexp"(%arg0)
// CHECK: return %[[A]], %[[B]]
func.func @log1mexp(%arg0: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %c = "tir.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.expm1"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.neg"(%0) : (tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.log"(%1) : (tensor<?xf32>) -> tensor<?xf32>
  %3 = "tir.exp"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %4 = "tir.sub"(%c, %3) : (tensor<f32>, tensor<?xf32>) -> tensor<?xf32>
  %5 = "tir.log"(%4) : (tensor<?xf32>) -> tensor<?xf32>
  return %2, %5 : tensor<?xf32>, tensor<?xf32>
}

// log(2 - exp(x)) is not log1mexp
// CHECK-LABEL: func.func @log_two_minus_exp
// CHECK-NOT: "tir.log1mexp"
// CHECK: "tir.log"(
func.func @log_two_minus_exp(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %c = "tir.constant"() {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.exp"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.sub"(%c, %0) : (tensor<f32>, tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.log"(%1) : (tensor<?xf32>) -> tensor<?xf32>
  return %2 : tensor<?xf32>
}

// CHECK-LABEL: func.func @log1p_neg_exp
// CHECK-NOT: "tir.log1p"
// CHECK: %[[A:[0-9]+]] = "tir.log1mexp"(%arg0)
// CHECK: return %[[A]]
func.func @log1p_neg_exp(%arg0: tensor<?xf64>) -> tensor<?xf64> {
  %0 = "tir.exp"(%arg0) : (tensor<?xf64>) -> tensor<?xf64>
  %1 = "tir.neg"(%0) : (tensor<?xf64>) -> tensor<?xf64>
  %2 = "tir.log1p"(%1) : (tensor<?xf64>) -> tensor<?xf64>
  return %2 : tensor<?xf64>
}

// the label negated (either factor order), or the product negated: the sum is
// the cross-entropy; an un-negated sum is its negation
// CHECK-LABEL: func.func @softmax_cross_entropy
// CHECK-NOT: "tir.sum"
// CHECK: %[[A:[0-9]+]] = "tir.softmax_cross_entropy"(%arg0, %arg1) {axes = array<i64: 1>}
// CHECK: %[[B:[0-9]+]] = "tir.softmax_cross_entropy"(%arg0, %arg1) {axes = array<i64: 1>}
// CHECK: %[[C:[0-9]+]] = "tir.softmax_cross_entropy"(%arg0, %arg1) {axes = array<i64: 1>}
// CHECK: %[[D:[0-9]+]] = "tir.neg"(%[[C]])
// CHECK: return %[[A]], %[[B]], %[[D]]
func.func @softmax_cross_entropy(%arg0: tensor<?x?xf32>, %arg1: tensor<?x?xf32>) -> (tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) {
  %0 = "tir.log_softmax"(%arg0) {axes = array<i64: 1>} : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %1 = "tir.neg"(%arg1) : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %2 = "tir.mul"(%0, %1) : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %3 = "tir.sum"(%2) {axes = array<i64: 1>, keepdims = false} : (tensor<?x?xf32>) -> tensor<?xf32>
  %4 = "tir.mul"(%arg1, %0) : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %5 = "tir.neg"(%4) : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %6 = "tir.sum"(%5) {axes = array<i64: 1>, keepdims = false} : (tensor<?x?xf32>) -> tensor<?xf32>
  %7 = "tir.sum"(%4) {axes = array<i64: 1>, keepdims = false} : (tensor<?x?xf32>) -> tensor<?xf32>
  return %3, %6, %7 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
}

// -sum(y * log(softmax(x))): log_softmax first, then the negation is taken along
// CHECK-LABEL: func.func @neg_softmax_cross_entropy
// CHECK-NOT: "tir.neg"
// CHECK: %[[A:[0-9]+]] = "tir.softmax_cross_entropy"(%arg0, %arg1) {axes = array<i64: 0>}
// CHECK: return %[[A]]
func.func @neg_softmax_cross_entropy(%arg0: tensor<?xf64>, %arg1: tensor<?xf64>) -> tensor<f64> {
  %0 = "tir.softmax"(%arg0) {axes = array<i64: 0>} : (tensor<?xf64>) -> tensor<?xf64>
  %1 = "tir.log"(%0) : (tensor<?xf64>) -> tensor<?xf64>
  %2 = "tir.mul"(%arg1, %1) : (tensor<?xf64>, tensor<?xf64>) -> tensor<?xf64>
  %3 = "tir.sum"(%2) {axes = array<i64: 0>, keepdims = false} : (tensor<?xf64>) -> tensor<f64>
  %4 = "tir.neg"(%3) : (tensor<f64>) -> tensor<f64>
  return %4 : tensor<f64>
}

// not a cross-entropy: summed over other axes than the softmax's, or labels that
// broadcast (of another rank, or statically 1 along the classes)
// CHECK-LABEL: func.func @softmax_cross_entropy_mismatch
// CHECK-NOT: "tir.softmax_cross_entropy"
// CHECK: return
func.func @softmax_cross_entropy_mismatch(%arg0: tensor<?x?xf32>, %arg1: tensor<?x?xf32>, %arg2: tensor<?xf32>, %arg3: tensor<?x1xf32>) -> (tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) {
  %0 = "tir.log_softmax"(%arg0) {axes = array<i64: 1>} : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %1 = "tir.mul"(%arg1, %0) : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %2 = "tir.sum"(%1) {axes = array<i64: 0>, keepdims = false} : (tensor<?x?xf32>) -> tensor<?xf32>
  %3 = "tir.neg"(%2) : (tensor<?xf32>) -> tensor<?xf32>
  %4 = "tir.mul"(%arg2, %0) : (tensor<?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %5 = "tir.sum"(%4) {axes = array<i64: 1>, keepdims = false} : (tensor<?x?xf32>) -> tensor<?xf32>
  %6 = "tir.neg"(%5) : (tensor<?xf32>) -> tensor<?xf32>
  %7 = "tir.mul"(%arg3, %0) : (tensor<?x1xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %8 = "tir.sum"(%7) {axes = array<i64: 1>, keepdims = false} : (tensor<?x?xf32>) -> tensor<?xf32>
  %9 = "tir.neg"(%8) : (tensor<?xf32>) -> tensor<?xf32>
  return %3, %6, %9 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
}

// constant labels: a static shape the logits' free dims must equal
// CHECK-LABEL: func.func @softmax_cross_entropy_constant_labels
// CHECK: %[[Y:[0-9]+]] = "tir.constant"
// CHECK: %[[A:[0-9]+]] = "tir.softmax_cross_entropy"(%arg0, %[[Y]]) {axes = array<i64: 1>} : (tensor<?x?xf64>, tensor<2x3xf64>) -> tensor<2xf64>
// CHECK: return %[[A]]
func.func @softmax_cross_entropy_constant_labels(%arg0: tensor<?x?xf64>) -> tensor<2xf64> {
  %y = "tir.constant"() {value = dense<[[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]]> : tensor<2x3xf64>} : () -> tensor<2x3xf64>
  %0 = "tir.log_softmax"(%arg0) {axes = array<i64: 1>} : (tensor<?x?xf64>) -> tensor<?x?xf64>
  %1 = "tir.mul"(%y, %0) : (tensor<2x3xf64>, tensor<?x?xf64>) -> tensor<2x3xf64>
  %2 = "tir.sum"(%1) {axes = array<i64: 1>, keepdims = false} : (tensor<2x3xf64>) -> tensor<2xf64>
  %3 = "tir.neg"(%2) : (tensor<2xf64>) -> tensor<2xf64>
  return %3 : tensor<2xf64>
}

// the sum brought back by expand_dims, by a reshape inserting the axis (its
// free dim from tir.dim), or by broadcasting on the right (leading axis)
// CHECK-LABEL: func.func @softmax_expanded
// CHECK-NOT: "tir.div"
// CHECK: %[[A:[0-9]+]] = "tir.softmax"(%arg0) {axes = array<i64: 1>}
// CHECK: %[[B:[0-9]+]] = "tir.softmax"(%arg0) {axes = array<i64: 1>}
// CHECK: %[[C:[0-9]+]] = "tir.softmax"(%arg0) {axes = array<i64: 0>}
// CHECK: return %[[A]], %[[B]], %[[C]]
func.func @softmax_expanded(%arg0: tensor<?x?xf64>) -> (tensor<?x?xf64>, tensor<?x?xf64>, tensor<?x?xf64>) {
  %0 = "tir.exp"(%arg0) : (tensor<?x?xf64>) -> tensor<?x?xf64>
  %1 = "tir.sum"(%0) {axes = array<i64: 1>, keepdims = false} : (tensor<?x?xf64>) -> tensor<?xf64>
  %2 = "tir.expand_dims"(%1) {axes = array<i64: 1>} : (tensor<?xf64>) -> tensor<?x1xf64>
  %3 = "tir.div"(%0, %2) : (tensor<?x?xf64>, tensor<?x1xf64>) -> tensor<?x?xf64>
  %d = "tir.dim"(%1) {axis = 0 : i64} : (tensor<?xf64>) -> index
  %4 = "tir.reshape"(%1, %d) {shape = array<i64: -1, 1>} : (tensor<?xf64>, index) -> tensor<?x1xf64>
  %5 = "tir.div"(%0, %4) : (tensor<?x?xf64>, tensor<?x1xf64>) -> tensor<?x?xf64>
  %6 = "tir.sum"(%0) {axes = array<i64: 0>, keepdims = false} : (tensor<?x?xf64>) -> tensor<?xf64>
  %7 = "tir.div"(%0, %6) : (tensor<?x?xf64>, tensor<?xf64>) -> tensor<?x?xf64>
  return %3, %5, %7 : tensor<?x?xf64>, tensor<?x?xf64>, tensor<?x?xf64>
}

// a reshape that moves dims is no expand_dims: (n, m) -> (m, 1, n)
// CHECK-LABEL: func.func @softmax_reshape_not_expand
// CHECK-NOT: "tir.softmax"
// CHECK: "tir.div"
func.func @softmax_reshape_not_expand(%arg0: tensor<?x?x?xf64>, %arg1: tensor<?x?xf64>) -> tensor<?x?x?xf64> {
  %0 = "tir.exp"(%arg0) : (tensor<?x?x?xf64>) -> tensor<?x?x?xf64>
  %1 = "tir.sum"(%0) {axes = array<i64: 1>, keepdims = false} : (tensor<?x?x?xf64>) -> tensor<?x?xf64>
  %m = "tir.dim"(%1) {axis = 1 : i64} : (tensor<?x?xf64>) -> index
  %n = "tir.dim"(%1) {axis = 0 : i64} : (tensor<?x?xf64>) -> index
  %2 = "tir.reshape"(%1, %m, %n) {shape = array<i64: -1, 1, -1>} : (tensor<?x?xf64>, index, index) -> tensor<?x1x?xf64>
  %3 = "tir.div"(%0, %2) : (tensor<?x?x?xf64>, tensor<?x1x?xf64>) -> tensor<?x?x?xf64>
  return %3 : tensor<?x?x?xf64>
}

// markers are never crossed: log(1 + wrt(x)) is log1p(wrt(x)), the marker stays
// CHECK-LABEL: func.func @markers
// CHECK: %[[W:[0-9]+]] = "tir.wrt"(%arg0)
// CHECK: %[[L:[0-9]+]] = "tir.log1p"(%[[W]])
// CHECK: "tir.grad"(%{{[0-9]+}}, %[[W]])
func.func @markers(%arg0: tensor<?xf64>) -> tensor<?xf64> {
  %c = "tir.constant"() {value = dense<1.0> : tensor<f64>} : () -> tensor<f64>
  %w = "tir.wrt"(%arg0) : (tensor<?xf64>) -> tensor<?xf64>
  %0 = "tir.add"(%c, %w) : (tensor<f64>, tensor<?xf64>) -> tensor<?xf64>
  %1 = "tir.log"(%0) : (tensor<?xf64>) -> tensor<?xf64>
  %2 = "tir.sum"(%1) {axes = array<i64: 0>, keepdims = false} : (tensor<?xf64>) -> tensor<f64>
  %3 = "tir.grad"(%2, %w) : (tensor<f64>, tensor<?xf64>) -> tensor<?xf64>
  return %3 : tensor<?xf64>
}
