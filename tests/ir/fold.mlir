// RUN: tensorir-opt %s --tir-fold | FileCheck %s
// RUN: tensorir-opt %s --tir-fold --tir-dce | FileCheck %s --check-prefix=DCE

// A chain of constant ops folds in one sweep, each value computed by the op's
// NumPy reference: s = sum(-(a @ a), axis=0) = [-22, -32], then exp(0.01 * s).
// CHECK-LABEL: func.func @chain
// CHECK-NOT: "tir.matmul"
// CHECK-NOT: "tir.neg"
// CHECK-NOT: "tir.sum"
// CHECK-NOT: "tir.exp"
// CHECK: %[[C:[0-9]+]] = "tir.constant"() {value = dense<[0.802518{{[0-9]*}}, 0.726149{{[0-9]*}}]> : tensor<2xf64>}
// CHECK-NEXT: %[[R:[0-9]+]] = "tir.add"(%arg0, %[[C]])
// CHECK-NEXT: return %[[R]]
// The constant operands are left for tir-dce.
// DCE-LABEL: func.func @chain
// DCE-NEXT: "tir.constant"() {value = dense<[0.802518
// DCE-NEXT: "tir.add"
// DCE-NEXT: return
func.func @chain(%arg0: tensor<?x2xf64>) -> tensor<?x2xf64> {
  %a = "tir.constant"() {value = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf64>} : () -> tensor<2x2xf64>
  %0 = "tir.matmul"(%a, %a) : (tensor<2x2xf64>, tensor<2x2xf64>) -> tensor<2x2xf64>
  %1 = "tir.neg"(%0) : (tensor<2x2xf64>) -> tensor<2x2xf64>
  %2 = "tir.sum"(%1) {axes = array<i64: 0>, keepdims = false} : (tensor<2x2xf64>) -> tensor<2xf64>
  %c = "tir.constant"() {value = dense<0.01> : tensor<f64>} : () -> tensor<f64>
  %3 = "tir.mul"(%2, %c) : (tensor<2xf64>, tensor<f64>) -> tensor<2xf64>
  %4 = "tir.exp"(%3) : (tensor<2xf64>) -> tensor<2xf64>
  %5 = "tir.add"(%arg0, %4) : (tensor<?x2xf64>, tensor<2xf64>) -> tensor<?x2xf64>
  return %5 : tensor<?x2xf64>
}

// The folded constant has exactly the op's result type: int32 comparisons
// give i1, casts their dtype; equal elements make a splat.
// CHECK-LABEL: func.func @result_types
// CHECK: "tir.constant"() {value = dense<[false, true, true]> : tensor<3xi1>}
// CHECK: "tir.constant"() {value = dense<[1.000000e+00, 4.000000e+00, 7.000000e+00]> : tensor<3xf32>}
// CHECK: "tir.constant"() {value = dense<2.500000e-01> : tensor<2x3xf32>}
// CHECK-NOT: "tir.gt"
// CHECK-NOT: "tir.cast"
// CHECK-NOT: "tir.broadcast_to"
// CHECK: return
func.func @result_types() -> (tensor<3xi1>, tensor<3xf32>, tensor<2x3xf32>) {
  %a = "tir.constant"() {value = dense<[1, 4, 7]> : tensor<3xi32>} : () -> tensor<3xi32>
  %t = "tir.constant"() {value = dense<3> : tensor<i32>} : () -> tensor<i32>
  %0 = "tir.gt"(%a, %t) : (tensor<3xi32>, tensor<i32>) -> tensor<3xi1>
  %1 = "tir.cast"(%a) {dtype = f32} : (tensor<3xi32>) -> tensor<3xf32>
  %q = "tir.constant"() {value = dense<0.25> : tensor<f32>} : () -> tensor<f32>
  %2 = "tir.broadcast_to"(%q) {shape = array<i64: 2, 3>} : (tensor<f32>) -> tensor<2x3xf32>
  return %0, %1, %2 : tensor<3xi1>, tensor<3xf32>, tensor<2x3xf32>
}

// Folding gives the reference's answers where the arithmetic is exceptional:
// integer division and remainder by zero are 0, INT_MIN // -1 wraps, float
// overflow is inf, 0/0 is NaN.
// CHECK-LABEL: func.func @exceptional
// CHECK: "tir.constant"() {value = dense<[0, 0, -3, -2147483648]> : tensor<4xi32>}
// CHECK: "tir.constant"() {value = dense<[0, 0, -1, 0]> : tensor<4xi32>}
// CHECK: "tir.constant"() {value = dense<[0x7F800000, 0xFF800000]> : tensor<2xf32>}
// CHECK: "tir.constant"() {value = dense<0x{{7|F}}FC00000> : tensor<f32>}
// CHECK-NOT: "tir.floordiv"
// CHECK-NOT: "tir.mod"
// CHECK-NOT: "tir.mul"
// CHECK-NOT: "tir.div"
// CHECK: return
func.func @exceptional() -> (tensor<4xi32>, tensor<4xi32>, tensor<2xf32>, tensor<f32>) {
  %a = "tir.constant"() {value = dense<[7, -7, 5, -2147483648]> : tensor<4xi32>} : () -> tensor<4xi32>
  %b = "tir.constant"() {value = dense<[0, 0, -2, -1]> : tensor<4xi32>} : () -> tensor<4xi32>
  %0 = "tir.floordiv"(%a, %b) : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  %1 = "tir.mod"(%a, %b) : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  %big = "tir.constant"() {value = dense<[1.0e30, -1.0e30]> : tensor<2xf32>} : () -> tensor<2xf32>
  %pos = "tir.constant"() {value = dense<1.0e30> : tensor<f32>} : () -> tensor<f32>
  %2 = "tir.mul"(%big, %pos) : (tensor<2xf32>, tensor<f32>) -> tensor<2xf32>
  %z = "tir.constant"() {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>
  %3 = "tir.div"(%z, %z) : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %0, %1, %2, %3 : tensor<4xi32>, tensor<4xi32>, tensor<2xf32>, tensor<f32>
}

// Operand-free constructors of static shape feed folding but stay themselves.
// CHECK-LABEL: func.func @constructors
// CHECK: "tir.full"
// CHECK: "tir.arange"
// CHECK: "tir.constant"() {value = dense<[2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<3xf64>}
// CHECK-NOT: "tir.add"
// CHECK: return
func.func @constructors() -> tensor<3xf64> {
  %0 = "tir.full"() {shape = array<i64: 3>, dtype = f64, value = 2.0 : f64} : () -> tensor<3xf64>
  %1 = "tir.arange"() {start = 0.0 : f64, step = 1.0 : f64, size = 3 : i64, dtype = f64} : () -> tensor<3xf64>
  %2 = "tir.add"(%0, %1) : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
  return %2 : tensor<3xf64>
}

// Left alone: an operand that is not constant, a free (?) result dim, an
// index operand (tir.dim), tir.wrt (a differentiation variable, not the
// identity), and results of more than 2**16 elements.
// CHECK-LABEL: func.func @not_folded
// CHECK: "tir.add"(%arg0
// CHECK: "tir.dim"
// CHECK: "tir.broadcast_to"
// CHECK: "tir.wrt"
// CHECK: "tir.exp"
// CHECK: "tir.broadcast_to"
// CHECK: return
func.func @not_folded(%arg0: tensor<?xf64>) -> (tensor<?xf64>, tensor<?xf64>, tensor<3xf64>, tensor<65537xf64>) {
  %c = "tir.constant"() {value = dense<1.0> : tensor<f64>} : () -> tensor<f64>
  %0 = "tir.add"(%arg0, %c) : (tensor<?xf64>, tensor<f64>) -> tensor<?xf64>
  %n = "tir.dim"(%arg0) {axis = 0 : i64} : (tensor<?xf64>) -> index
  %1 = "tir.broadcast_to"(%c, %n) {shape = array<i64: -1>} : (tensor<f64>, index) -> tensor<?xf64>
  %v = "tir.constant"() {value = dense<[1.0, 2.0, 3.0]> : tensor<3xf64>} : () -> tensor<3xf64>
  %p = "tir.wrt"(%v) : (tensor<3xf64>) -> tensor<3xf64>
  %2 = "tir.exp"(%p) : (tensor<3xf64>) -> tensor<3xf64>
  %3 = "tir.broadcast_to"(%c) {shape = array<i64: 65537>} : (tensor<f64>) -> tensor<65537xf64>
  return %0, %1, %2, %3 : tensor<?xf64>, tensor<?xf64>, tensor<3xf64>, tensor<65537xf64>
}
