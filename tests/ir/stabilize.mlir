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
