// RUN: tensorir-opt %s --tir-simplify | FileCheck %s

// One function per rule of tir-simplify (passes/simplify/__init__.py), named
// after it, and the policy's refusals: a rule that would change a result bit
// on inf, NaN or -0.0 does not fire.

// CHECK-LABEL: func.func @mul_one
// CHECK-NOT: "tir.
// CHECK: return %arg0
func.func @mul_one(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %c = "tir.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.mul"(%arg0, %c) : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// CHECK-LABEL: func.func @div_one
// CHECK-NOT: "tir.
// CHECK: return %arg0
func.func @div_one(%arg0: tensor<?xf64>) -> tensor<?xf64> {
  %c = "tir.constant"() {value = dense<1.0> : tensor<f64>} : () -> tensor<f64>
  %0 = "tir.div"(%arg0, %c) : (tensor<?xf64>, tensor<f64>) -> tensor<?xf64>
  return %0 : tensor<?xf64>
}

// x + (-0.0) is x; x + (+0.0) is not (-0.0 + 0.0 is +0.0)
// CHECK-LABEL: func.func @add_zero
// CHECK: %[[A:[0-9]+]] = "tir.add"(%arg0, %{{[0-9]+}})
// CHECK-NEXT: return %arg0, %[[A]]
func.func @add_zero(%arg0: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %m = "tir.constant"() {value = dense<-0.0> : tensor<f32>} : () -> tensor<f32>
  %p = "tir.constant"() {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.add"(%arg0, %m) : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
  %1 = "tir.add"(%arg0, %p) : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
  return %0, %1 : tensor<?xf32>, tensor<?xf32>
}

// CHECK-LABEL: func.func @sub_zero
// CHECK-NOT: "tir.sub"
// CHECK: return %arg0
func.func @sub_zero(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %p = "tir.constant"() {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.sub"(%arg0, %p) : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// integers only: inf * 0 is NaN
// CHECK-LABEL: func.func @mul_zero
// CHECK: "tir.full"({{.*}}dtype = i32
// CHECK: "tir.mul"(%arg1, %{{[0-9]+}}) : (tensor<?xf32>, tensor<f32>)
func.func @mul_zero(%arg0: tensor<?xi32>, %arg1: tensor<?xf32>) -> (tensor<?xi32>, tensor<?xf32>) {
  %z = "tir.constant"() {value = dense<0> : tensor<i32>} : () -> tensor<i32>
  %f = "tir.constant"() {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.mul"(%arg0, %z) : (tensor<?xi32>, tensor<i32>) -> tensor<?xi32>
  %1 = "tir.mul"(%arg1, %f) : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
  return %0, %1 : tensor<?xi32>, tensor<?xf32>
}

// integers only: inf - inf is NaN
// CHECK-LABEL: func.func @sub_self
// CHECK: "tir.full"({{.*}}dtype = i64
// CHECK: "tir.sub"(%arg1, %arg1)
func.func @sub_self(%arg0: tensor<?xi64>, %arg1: tensor<?xf64>) -> (tensor<?xi64>, tensor<?xf64>) {
  %0 = "tir.sub"(%arg0, %arg0) : (tensor<?xi64>, tensor<?xi64>) -> tensor<?xi64>
  %1 = "tir.sub"(%arg1, %arg1) : (tensor<?xf64>, tensor<?xf64>) -> tensor<?xf64>
  return %0, %1 : tensor<?xi64>, tensor<?xf64>
}

// CHECK-LABEL: func.func @div_power_of_two
// CHECK: "tir.constant"() {{.*}}dense<2.500000e-01>
// CHECK-NEXT: "tir.mul"(%arg0,
// CHECK-NOT: "tir.div"
func.func @div_power_of_two(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %c = "tir.constant"() {value = dense<4.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.div"(%arg0, %c) : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// CHECK-LABEL: func.func @mul_nonan_nonzero
// CHECK-NOT: "tir.mul_nonan"
// CHECK: "tir.mul"(%arg0, %{{[0-9]+}})
func.func @mul_nonan_nonzero(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %c = "tir.constant"() {value = dense<3.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.mul_nonan"(%c, %arg0) : (tensor<f32>, tensor<?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// the mask makes -0.0 a +0.0, as adding +0.0 does
// CHECK-LABEL: func.func @mul_nonan_one
// CHECK-NOT: "tir.mul_nonan"
// CHECK: "tir.add"(%arg0, %{{[0-9]+}})
func.func @mul_nonan_one(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %c = "tir.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.mul_nonan"(%arg0, %c) : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// CHECK-LABEL: func.func @neg_neg
// CHECK-NOT: "tir.neg"
// CHECK: return %arg0
func.func @neg_neg(%arg0: tensor<?xi32>) -> tensor<?xi32> {
  %0 = "tir.neg"(%arg0) : (tensor<?xi32>) -> tensor<?xi32>
  %1 = "tir.neg"(%0) : (tensor<?xi32>) -> tensor<?xi32>
  return %1 : tensor<?xi32>
}

// CHECK-LABEL: func.func @mul_minus_one
// CHECK-NOT: "tir.mul"
// CHECK: %[[N:[0-9]+]] = "tir.neg"(%arg0)
// CHECK-NEXT: return %[[N]]
func.func @mul_minus_one(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %c = "tir.constant"() {value = dense<-1.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.mul"(%arg0, %c) : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// (-0.0) - x is -x; (+0.0) - x is not (+0.0 - +0.0 is +0.0)
// CHECK-LABEL: func.func @zero_sub
// CHECK: %[[N:[0-9]+]] = "tir.neg"(%arg0)
// CHECK: %[[S:[0-9]+]] = "tir.sub"(%{{[0-9]+}}, %arg0)
// CHECK-NEXT: return %[[N]], %[[S]]
func.func @zero_sub(%arg0: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %m = "tir.constant"() {value = dense<-0.0> : tensor<f32>} : () -> tensor<f32>
  %p = "tir.constant"() {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.sub"(%m, %arg0) : (tensor<f32>, tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.sub"(%p, %arg0) : (tensor<f32>, tensor<?xf32>) -> tensor<?xf32>
  return %0, %1 : tensor<?xf32>, tensor<?xf32>
}

// CHECK-LABEL: func.func @sub_neg
// CHECK-NEXT: %[[A:[0-9]+]] = "tir.add"(%arg0, %arg1)
// CHECK-NEXT: return %[[A]]
func.func @sub_neg(%arg0: tensor<?xf32>, %arg1: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.neg"(%arg1) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.sub"(%arg0, %0) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %1 : tensor<?xf32>
}

// CHECK-LABEL: func.func @add_neg
// CHECK-NEXT: %[[S:[0-9]+]] = "tir.sub"(%arg0, %arg1)
// CHECK-NEXT: return %[[S]]
func.func @add_neg(%arg0: tensor<?xf32>, %arg1: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.neg"(%arg1) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.add"(%arg0, %0) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %1 : tensor<?xf32>
}

// CHECK-LABEL: func.func @neg_add
// CHECK-NEXT: %[[S:[0-9]+]] = "tir.sub"(%arg1, %arg0)
// CHECK-NEXT: return %[[S]]
func.func @neg_add(%arg0: tensor<?xf32>, %arg1: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.neg"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.add"(%0, %arg1) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %1 : tensor<?xf32>
}

// CHECK-LABEL: func.func @neg_mul_neg
// CHECK-NEXT: %[[M:[0-9]+]] = "tir.mul"(%arg0, %arg1)
// CHECK-NEXT: return %[[M]]
func.func @neg_mul_neg(%arg0: tensor<?xf32>, %arg1: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.neg"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.neg"(%arg1) : (tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.mul"(%0, %1) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %2 : tensor<?xf32>
}

// CHECK-LABEL: func.func @neg_div_neg
// CHECK-NEXT: %[[D:[0-9]+]] = "tir.div"(%arg0, %arg1)
// CHECK-NEXT: return %[[D]]
func.func @neg_div_neg(%arg0: tensor<?xf64>, %arg1: tensor<?xf64>) -> tensor<?xf64> {
  %0 = "tir.neg"(%arg0) : (tensor<?xf64>) -> tensor<?xf64>
  %1 = "tir.neg"(%arg1) : (tensor<?xf64>) -> tensor<?xf64>
  %2 = "tir.div"(%0, %1) : (tensor<?xf64>, tensor<?xf64>) -> tensor<?xf64>
  return %2 : tensor<?xf64>
}

// CHECK-LABEL: func.func @abs_abs
// CHECK-NEXT: %[[A:[0-9]+]] = "tir.abs"(%arg0)
// CHECK-NEXT: return %[[A]]
func.func @abs_abs(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.abs"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.abs"(%0) : (tensor<?xf32>) -> tensor<?xf32>
  return %1 : tensor<?xf32>
}

// CHECK-LABEL: func.func @abs_neg
// CHECK-NEXT: %[[A:[0-9]+]] = "tir.abs"(%arg0)
// CHECK-NEXT: return %[[A]]
func.func @abs_neg(%arg0: tensor<?xi64>) -> tensor<?xi64> {
  %0 = "tir.neg"(%arg0) : (tensor<?xi64>) -> tensor<?xi64>
  %1 = "tir.abs"(%0) : (tensor<?xi64>) -> tensor<?xi64>
  return %1 : tensor<?xi64>
}

// maximum does not commute bit for bit (np.maximum(-0.0, 0.0) is -0.0): it stays
// CHECK-LABEL: func.func @constant_right
// CHECK: "tir.mul"(%arg0, %[[C:[0-9]+]])
// CHECK: "tir.gt"(%arg0, %[[C]])
// CHECK: "tir.maximum"(%[[C]], %arg0)
func.func @constant_right(%arg0: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xi1>, tensor<?xf32>) {
  %c = "tir.constant"() {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.mul"(%c, %arg0) : (tensor<f32>, tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.lt"(%c, %arg0) : (tensor<f32>, tensor<?xf32>) -> tensor<?xi1>
  %2 = "tir.maximum"(%c, %arg0) : (tensor<f32>, tensor<?xf32>) -> tensor<?xf32>
  return %0, %1, %2 : tensor<?xf32>, tensor<?xi1>, tensor<?xf32>
}

// NaN ** 0 is 1 too
// CHECK-LABEL: func.func @pow_zero
// CHECK-NOT: "tir.pow"
// CHECK: "tir.full"(%{{[0-9]+}}) {dtype = f32, shape = array<i64: -1>, value = 1.000000e+00 : f64}
func.func @pow_zero(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %c = "tir.constant"() {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.pow"(%arg0, %c) : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// CHECK-LABEL: func.func @pow_one
// CHECK-NOT: "tir.
// CHECK: return %arg0
func.func @pow_one(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %c = "tir.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.pow"(%arg0, %c) : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// CHECK-LABEL: func.func @pow_two
// CHECK-NEXT: %[[M:[0-9]+]] = "tir.mul"(%arg0, %arg0)
// CHECK-NEXT: return %[[M]]
func.func @pow_two(%arg0: tensor<?xi32>) -> tensor<?xi32> {
  %c = "tir.constant"() {value = dense<2> : tensor<i32>} : () -> tensor<i32>
  %0 = "tir.pow"(%arg0, %c) : (tensor<?xi32>, tensor<i32>) -> tensor<?xi32>
  return %0 : tensor<?xi32>
}

// CHECK-LABEL: func.func @pow_minus_one
// CHECK: %[[D:[0-9]+]] = "tir.div"(%{{[0-9]+}}, %arg0)
// CHECK-NEXT: return %[[D]]
func.func @pow_minus_one(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %c = "tir.constant"() {value = dense<-1.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.pow"(%arg0, %c) : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// a 0-d exponent only: NumPy takes sqrt for x ** 0.5 but C's pow for x ** [[0.5]]
// CHECK-LABEL: func.func @pow_half
// CHECK: %[[S:[0-9]+]] = "tir.sqrt"(%arg0)
// CHECK: %[[P:[0-9]+]] = "tir.pow"(%arg0, %{{[0-9]+}}) : (tensor<?x?xf32>, tensor<1x1xf32>)
// CHECK-NEXT: return %[[S]], %[[P]]
func.func @pow_half(%arg0: tensor<?x?xf32>) -> (tensor<?x?xf32>, tensor<?x?xf32>) {
  %c = "tir.constant"() {value = dense<0.5> : tensor<f32>} : () -> tensor<f32>
  %k = "tir.constant"() {value = dense<0.5> : tensor<1x1xf32>} : () -> tensor<1x1xf32>
  %0 = "tir.pow"(%arg0, %c) : (tensor<?x?xf32>, tensor<f32>) -> tensor<?x?xf32>
  %1 = "tir.pow"(%arg0, %k) : (tensor<?x?xf32>, tensor<1x1xf32>) -> tensor<?x?xf32>
  return %0, %1 : tensor<?x?xf32>, tensor<?x?xf32>
}

// log(exp(x)) -> x is more accurate (exp(100.0) is inf); exp(log(x)) stays (exp(log(-1)) is NaN)
// CHECK-LABEL: func.func @log_exp
// CHECK-NEXT: %[[L:[0-9]+]] = "tir.log"(%arg0)
// CHECK-NEXT: %[[E:[0-9]+]] = "tir.exp"(%[[L]])
// CHECK-NEXT: return %arg0, %[[E]]
func.func @log_exp(%arg0: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %0 = "tir.exp"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.log"(%0) : (tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.log"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %3 = "tir.exp"(%2) : (tensor<?xf32>) -> tensor<?xf32>
  return %1, %3 : tensor<?xf32>, tensor<?xf32>
}

// CHECK-LABEL: func.func @select_same
// CHECK-NOT: "tir.select"
// CHECK: return %arg1
func.func @select_same(%arg0: tensor<?xi1>, %arg1: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.select"(%arg0, %arg1, %arg1) : (tensor<?xi1>, tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// CHECK-LABEL: func.func @select_not
// CHECK-NEXT: %[[S:[0-9]+]] = "tir.select"(%arg0, %arg2, %arg1)
// CHECK-NEXT: return %[[S]]
func.func @select_not(%arg0: tensor<?xi1>, %arg1: tensor<?xf32>, %arg2: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.not"(%arg0) : (tensor<?xi1>) -> tensor<?xi1>
  %1 = "tir.select"(%0, %arg1, %arg2) : (tensor<?xi1>, tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %1 : tensor<?xf32>
}

// CHECK-LABEL: func.func @select_constant
// CHECK-NOT: "tir.
// CHECK: return %arg1, %arg0
func.func @select_constant(%arg0: tensor<?xf32>, %arg1: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %f = "tir.constant"() {value = dense<false> : tensor<i1>} : () -> tensor<i1>
  %t = "tir.constant"() {value = dense<true> : tensor<i1>} : () -> tensor<i1>
  %0 = "tir.select"(%f, %arg0, %arg1) : (tensor<i1>, tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.select"(%t, %arg0, %arg1) : (tensor<i1>, tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %0, %1 : tensor<?xf32>, tensor<?xf32>
}

// CHECK-LABEL: func.func @cast_same
// CHECK-NOT: "tir.cast"
// CHECK: return %arg0
func.func @cast_same(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.cast"(%arg0) {dtype = f32} : (tensor<?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// f32 -> f64 -> f32 is the identity; f64 -> f32 -> f64 rounds and stays
// CHECK-LABEL: func.func @cast_lossless_cast
// CHECK-NEXT: %[[A:[0-9]+]] = "tir.cast"(%arg1) {dtype = f32}
// CHECK-NEXT: %[[B:[0-9]+]] = "tir.cast"(%[[A]]) {dtype = f64}
// CHECK-NEXT: return %arg0, %[[B]]
func.func @cast_lossless_cast(%arg0: tensor<?xf32>, %arg1: tensor<?xf64>) -> (tensor<?xf32>, tensor<?xf64>) {
  %0 = "tir.cast"(%arg0) {dtype = f64} : (tensor<?xf32>) -> tensor<?xf64>
  %1 = "tir.cast"(%0) {dtype = f32} : (tensor<?xf64>) -> tensor<?xf32>
  %2 = "tir.cast"(%arg1) {dtype = f32} : (tensor<?xf64>) -> tensor<?xf32>
  %3 = "tir.cast"(%2) {dtype = f64} : (tensor<?xf32>) -> tensor<?xf64>
  return %1, %3 : tensor<?xf32>, tensor<?xf64>
}

// CHECK-LABEL: func.func @transpose_transpose
// CHECK-NEXT: %[[T:[0-9]+]] = "tir.transpose"(%arg0) {perm = array<i64: 1, 2, 0>}
// CHECK-NEXT: return %arg0, %[[T]]
func.func @transpose_transpose(%arg0: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<3x4x2xf32>) {
  %0 = "tir.transpose"(%arg0) {perm = array<i64: 1, 2, 0>} : (tensor<2x3x4xf32>) -> tensor<3x4x2xf32>
  %1 = "tir.transpose"(%0) {perm = array<i64: 2, 0, 1>} : (tensor<3x4x2xf32>) -> tensor<2x3x4xf32>
  %2 = "tir.transpose"(%arg0) {perm = array<i64: 1, 0, 2>} : (tensor<2x3x4xf32>) -> tensor<3x2x4xf32>
  %3 = "tir.transpose"(%2) {perm = array<i64: 0, 2, 1>} : (tensor<3x2x4xf32>) -> tensor<3x4x2xf32>
  return %1, %3 : tensor<2x3x4xf32>, tensor<3x4x2xf32>
}

// CHECK-LABEL: func.func @transpose_identity
// CHECK-NOT: "tir.transpose"
// CHECK: return %arg0
func.func @transpose_identity(%arg0: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %0 = "tir.transpose"(%arg0) {perm = array<i64: 0, 1>} : (tensor<?x?xf32>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// CHECK-LABEL: func.func @reshape_of_view
// CHECK-NEXT: %[[R:[0-9]+]] = "tir.reshape"(%arg0) {shape = array<i64: 2, 3>}
// CHECK-NEXT: return %[[R]]
func.func @reshape_of_view(%arg0: tensor<3x2xf32>) -> tensor<2x3xf32> {
  %0 = "tir.expand_dims"(%arg0) {axes = array<i64: 0>} : (tensor<3x2xf32>) -> tensor<1x3x2xf32>
  %1 = "tir.reshape"(%0) {shape = array<i64: 6>} : (tensor<1x3x2xf32>) -> tensor<6xf32>
  %2 = "tir.reshape"(%1) {shape = array<i64: 2, 3>} : (tensor<6xf32>) -> tensor<2x3xf32>
  return %2 : tensor<2x3xf32>
}

// each dim kept: a static one, the tensor's own dim, or the one inferred
// CHECK-LABEL: func.func @reshape_noop
// CHECK-NOT: "tir.
// CHECK: return %arg0
func.func @reshape_noop(%arg0: tensor<?x?x4xf32>) -> tensor<?x?x4xf32> {
  %d = "tir.dim"(%arg0) {axis = 0 : i64} : (tensor<?x?x4xf32>) -> index
  %0 = "tir.reshape"(%arg0, %d) {shape = array<i64: -1, -9223372036854775808, 4>} : (tensor<?x?x4xf32>, index) -> tensor<?x?x4xf32>
  return %0 : tensor<?x?x4xf32>
}

// CHECK-LABEL: func.func @squeeze_expand_dims
// CHECK-NOT: "tir.
// CHECK: return %arg0
func.func @squeeze_expand_dims(%arg0: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %0 = "tir.expand_dims"(%arg0) {axes = array<i64: 1>} : (tensor<?x?xf32>) -> tensor<?x1x?xf32>
  %1 = "tir.squeeze"(%0) {axes = array<i64: 1>} : (tensor<?x1x?xf32>) -> tensor<?x?xf32>
  return %1 : tensor<?x?xf32>
}

// CHECK-LABEL: func.func @expand_dims_squeeze
// CHECK-NOT: "tir.
// CHECK: return %arg0
func.func @expand_dims_squeeze(%arg0: tensor<?x1xf32>) -> tensor<?x1xf32> {
  %0 = "tir.squeeze"(%arg0) {axes = array<i64: 1>} : (tensor<?x1xf32>) -> tensor<?xf32>
  %1 = "tir.expand_dims"(%0) {axes = array<i64: 1>} : (tensor<?xf32>) -> tensor<?x1xf32>
  return %1 : tensor<?x1xf32>
}

// CHECK-LABEL: func.func @expand_dims_expand_dims
// CHECK-NEXT: %[[E:[0-9]+]] = "tir.expand_dims"(%arg0) {axes = array<i64: 0, 2>}
// CHECK-NEXT: return %[[E]]
func.func @expand_dims_expand_dims(%arg0: tensor<?x?xf32>) -> tensor<1x?x1x?xf32> {
  %0 = "tir.expand_dims"(%arg0) {axes = array<i64: 0>} : (tensor<?x?xf32>) -> tensor<1x?x?xf32>
  %1 = "tir.expand_dims"(%0) {axes = array<i64: 2>} : (tensor<1x?x?xf32>) -> tensor<1x?x1x?xf32>
  return %1 : tensor<1x?x1x?xf32>
}

// CHECK-LABEL: func.func @squeeze_squeeze
// CHECK-NEXT: %[[S:[0-9]+]] = "tir.squeeze"(%arg0) {axes = array<i64: 0, 2>}
// CHECK-NEXT: return %[[S]]
func.func @squeeze_squeeze(%arg0: tensor<1x?x1xf32>) -> tensor<?xf32> {
  %0 = "tir.squeeze"(%arg0) {axes = array<i64: 0>} : (tensor<1x?x1xf32>) -> tensor<?x1xf32>
  %1 = "tir.squeeze"(%0) {axes = array<i64: 1>} : (tensor<?x1xf32>) -> tensor<?xf32>
  return %1 : tensor<?xf32>
}

// a free dim never broadcasts, so this broadcast copies
// CHECK-LABEL: func.func @broadcast_noop
// CHECK-NOT: "tir.
// CHECK: return %arg0
func.func @broadcast_noop(%arg0: tensor<?xf32>, %arg1: tensor<?xf32>) -> tensor<?xf32> {
  %d = "tir.dim"(%arg1) {axis = 0 : i64} : (tensor<?xf32>) -> index
  %0 = "tir.broadcast_to"(%arg0, %d) {shape = array<i64: -1>} : (tensor<?xf32>, index) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// CHECK-LABEL: func.func @broadcast_broadcast
// CHECK-NEXT: %[[B:[0-9]+]] = "tir.broadcast_to"(%arg0) {shape = array<i64: 4, 2, 3>}
// CHECK-NEXT: return %[[B]]
func.func @broadcast_broadcast(%arg0: tensor<3xf32>) -> tensor<4x2x3xf32> {
  %0 = "tir.broadcast_to"(%arg0) {shape = array<i64: 2, 3>} : (tensor<3xf32>) -> tensor<2x3xf32>
  %1 = "tir.broadcast_to"(%0) {shape = array<i64: 4, 2, 3>} : (tensor<2x3xf32>) -> tensor<4x2x3xf32>
  return %1 : tensor<4x2x3xf32>
}

// CHECK-LABEL: func.func @elementwise_absorbs_broadcast
// CHECK-NEXT: %[[M:[0-9]+]] = "tir.mul"(%arg0, %arg1) : (tensor<?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
// CHECK-NEXT: return %[[M]]
func.func @elementwise_absorbs_broadcast(%arg0: tensor<?xf32>, %arg1: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %d0 = "tir.dim"(%arg1) {axis = 0 : i64} : (tensor<?x?xf32>) -> index
  %d1 = "tir.dim"(%arg1) {axis = 1 : i64} : (tensor<?x?xf32>) -> index
  %0 = "tir.broadcast_to"(%arg0, %d0, %d1) {shape = array<i64: -1, -1>} : (tensor<?xf32>, index, index) -> tensor<?x?xf32>
  %1 = "tir.mul"(%0, %arg1) : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  return %1 : tensor<?x?xf32>
}

// exp runs on the 3 elements, then they are repeated
// CHECK-LABEL: func.func @elementwise_hoists_broadcast
// CHECK-NEXT: %[[E:[0-9]+]] = "tir.exp"(%arg0) : (tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT: %[[B:[0-9]+]] = "tir.broadcast_to"(%[[E]]) {shape = array<i64: 4, 3>}
// CHECK-NEXT: return %[[B]]
func.func @elementwise_hoists_broadcast(%arg0: tensor<3xf32>) -> tensor<4x3xf32> {
  %0 = "tir.broadcast_to"(%arg0) {shape = array<i64: 4, 3>} : (tensor<3xf32>) -> tensor<4x3xf32>
  %1 = "tir.exp"(%0) : (tensor<4x3xf32>) -> tensor<4x3xf32>
  return %1 : tensor<4x3xf32>
}

// a float sum starts from +0.0 (sum([-0.0]) is +0.0), max does not
// CHECK-LABEL: func.func @reduce_unit_axes
// CHECK-NEXT: %[[Q:[0-9]+]] = "tir.squeeze"(%arg0) {axes = array<i64: 1>}
// CHECK-NEXT: %[[Z:[0-9]+]] = "tir.constant"() {value = dense<0.000000e+00> : tensor<f32>}
// CHECK-NEXT: %[[S:[0-9]+]] = "tir.add"(%[[Q]], %[[Z]])
// CHECK-NEXT: return %[[S]], %arg0
func.func @reduce_unit_axes(%arg0: tensor<?x1xf32>) -> (tensor<?xf32>, tensor<?x1xf32>) {
  %0 = "tir.sum"(%arg0) {axes = array<i64: 1>, keepdims = false} : (tensor<?x1xf32>) -> tensor<?xf32>
  %1 = "tir.max"(%arg0) {axes = array<i64: 1>, keepdims = true} : (tensor<?x1xf32>) -> tensor<?x1xf32>
  return %0, %1 : tensor<?xf32>, tensor<?x1xf32>
}

// the count comes from the tensor the dim was read off, not from the broadcast;
// mul_nonan: an empty sum is 0 even for x = inf; + 0.0: a sum of -0.0 is +0.0
// CHECK-LABEL: func.func @sum_of_broadcast
// CHECK-NOT: "tir.broadcast_to"
// CHECK: %[[N:[0-9]+]] = "tir.size"(%arg1) {axes = array<i64: 0>, dtype = f32}
// CHECK-NEXT: %[[S:[0-9]+]] = "tir.mul_nonan"(%[[N]], %arg0)
// CHECK-NEXT: %[[Z:[0-9]+]] = "tir.constant"() {value = dense<0.000000e+00> : tensor<f32>}
// CHECK-NEXT: %[[A:[0-9]+]] = "tir.add"(%[[S]], %[[Z]])
// CHECK-NEXT: return %[[A]]
func.func @sum_of_broadcast(%arg0: tensor<?xf32>, %arg1: tensor<?x?xf32>) -> tensor<?xf32> {
  %d0 = "tir.dim"(%arg1) {axis = 0 : i64} : (tensor<?x?xf32>) -> index
  %d1 = "tir.dim"(%arg1) {axis = 1 : i64} : (tensor<?x?xf32>) -> index
  %0 = "tir.broadcast_to"(%arg0, %d0, %d1) {shape = array<i64: -1, -1>} : (tensor<?xf32>, index, index) -> tensor<?x?xf32>
  %1 = "tir.sum"(%0) {axes = array<i64: 0>, keepdims = false} : (tensor<?x?xf32>) -> tensor<?xf32>
  return %1 : tensor<?xf32>
}

// a static, non-empty count: the mean of copies of x is x + 0.0 (-0.0 becomes +0.0)
// CHECK-LABEL: func.func @mean_of_broadcast
// CHECK-NEXT: %[[Z:[0-9]+]] = "tir.constant"() {value = dense<0.000000e+00> : tensor<f32>}
// CHECK-NEXT: %[[A:[0-9]+]] = "tir.add"(%arg0, %[[Z]])
// CHECK-NEXT: return %[[A]]
func.func @mean_of_broadcast(%arg0: tensor<3xf32>) -> tensor<3xf32> {
  %0 = "tir.broadcast_to"(%arg0) {shape = array<i64: 4, 3>} : (tensor<3xf32>) -> tensor<4x3xf32>
  %1 = "tir.mean"(%0) {axes = array<i64: 0>, keepdims = false} : (tensor<4x3xf32>) -> tensor<3xf32>
  return %1 : tensor<3xf32>
}

// CHECK-LABEL: func.func @extreme_of_broadcast
// CHECK-NEXT: %[[Q:[0-9]+]] = "tir.squeeze"(%arg0) {axes = array<i64: 1>}
// CHECK-NEXT: return %[[Q]]
func.func @extreme_of_broadcast(%arg0: tensor<?x1xf32>, %arg1: tensor<?x?xf32>) -> tensor<?xf32> {
  %d0 = "tir.dim"(%arg1) {axis = 0 : i64} : (tensor<?x?xf32>) -> index
  %d1 = "tir.dim"(%arg1) {axis = 1 : i64} : (tensor<?x?xf32>) -> index
  %0 = "tir.broadcast_to"(%arg0, %d0, %d1) {shape = array<i64: -1, -1>} : (tensor<?x1xf32>, index, index) -> tensor<?x?xf32>
  %1 = "tir.min"(%0) {axes = array<i64: 1>, keepdims = false} : (tensor<?x?xf32>) -> tensor<?xf32>
  return %1 : tensor<?xf32>
}
