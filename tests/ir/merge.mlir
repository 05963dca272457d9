// RUN: tensorir-opt %s --tir-merge | FileCheck %s
// RUN: tensorir-opt %s --tir-merge --tir-dce | FileCheck %s --check-prefix=DCE
// RUN: tensorir-opt %s --tir-merge --tir-autodiff --tir-merge --tir-dce | FileCheck %s --check-prefix=AD

// Equal ops of equal operands are one; the later one's uses take the earlier.
// CHECK-LABEL: func.func @repeated_op
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<?xf32>, %[[Y:[a-z0-9]+]]: tensor<?xf32>)
// CHECK: %[[M:[0-9]+]] = "tir.mul"(%[[X]], %[[Y]])
// CHECK-NOT: "tir.mul"
// CHECK: %[[S:[0-9]+]] = "tir.add"(%[[M]], %[[M]])
// CHECK-NEXT: return %[[S]]
func.func @repeated_op(%arg0: tensor<?xf32>, %arg1: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.mul"(%arg0, %arg1) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.mul"(%arg0, %arg1) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.add"(%0, %1) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %2 : tensor<?xf32>
}

// Operand order matters: x*y and y*x are different ops (no commutativity here).
// CHECK-LABEL: func.func @operand_order
// CHECK: "tir.mul"(%arg0, %arg1)
// CHECK: "tir.mul"(%arg1, %arg0)
func.func @operand_order(%arg0: tensor<?xf32>, %arg1: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.mul"(%arg0, %arg1) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.mul"(%arg1, %arg0) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.add"(%0, %1) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %2 : tensor<?xf32>
}

// Equal constants (same value and type) merge, then the whole equal subgraph
// exp(x - c) * y above them merges bottom-up in the same sweep; a constant of
// another type, or -0.0 next to 0.0, stays apart.
// CHECK-LABEL: func.func @equal_subgraphs
// CHECK: %[[C:[0-9]+]] = "tir.constant"() {value = dense<1.500000e+00> : tensor<f32>}
// CHECK-NEXT: %[[D:[0-9]+]] = "tir.sub"(%arg0, %[[C]])
// CHECK-NEXT: %[[E:[0-9]+]] = "tir.exp"(%[[D]])
// CHECK-NEXT: %[[M:[0-9]+]] = "tir.mul"(%[[E]], %arg1)
// CHECK-NEXT: %[[P:[0-9]+]] = "tir.mul"(%[[M]], %[[M]])
// CHECK-NEXT: "tir.constant"() {value = dense<1.500000e+00> : tensor<f64>}
// CHECK-NEXT: "tir.constant"() {value = dense<0.000000e+00> : tensor<f32>}
// CHECK-NEXT: "tir.constant"() {value = dense<-0.000000e+00> : tensor<f32>}
// CHECK-NEXT: return %[[P]]
func.func @equal_subgraphs(%arg0: tensor<?xf32>, %arg1: tensor<?xf32>) -> tensor<?xf32> {
  %c0 = "tir.constant"() {value = dense<1.5> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.sub"(%arg0, %c0) : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
  %1 = "tir.exp"(%0) : (tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.mul"(%1, %arg1) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %c1 = "tir.constant"() {value = dense<1.5> : tensor<f32>} : () -> tensor<f32>
  %3 = "tir.sub"(%arg0, %c1) : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
  %4 = "tir.exp"(%3) : (tensor<?xf32>) -> tensor<?xf32>
  %5 = "tir.mul"(%4, %arg1) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %6 = "tir.mul"(%2, %5) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %c2 = "tir.constant"() {value = dense<1.5> : tensor<f64>} : () -> tensor<f64>
  %c3 = "tir.constant"() {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>
  %c4 = "tir.constant"() {value = dense<-0.0> : tensor<f32>} : () -> tensor<f32>
  %c5 = "tir.constant"() {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>
  return %6 : tensor<?xf32>
}

// Ops that differ in an attribute or a result type stay apart.
// CHECK-LABEL: func.func @attributes_and_types
// CHECK: "tir.sum"(%arg0) {axes = array<i64: 0>, keepdims = false}
// CHECK-NEXT: "tir.sum"(%arg0) {axes = array<i64: 1>, keepdims = false}
// CHECK-NEXT: "tir.sum"(%arg0) {axes = array<i64: 1>, keepdims = true}
// CHECK-NEXT: "tir.cast"(%arg0) {dtype = f64}
// CHECK-NEXT: "tir.cast"(%arg0) {dtype = i32}
// CHECK-NEXT: return %0, %1, %2, %1, %3, %4, %3 :
func.func @attributes_and_types(%arg0: tensor<3x4xf32>) -> (tensor<4xf32>, tensor<3xf32>, tensor<3x1xf32>, tensor<3xf32>, tensor<3x4xf64>, tensor<3x4xi32>, tensor<3x4xf64>) {
  %0 = "tir.sum"(%arg0) {axes = array<i64: 0>, keepdims = false} : (tensor<3x4xf32>) -> tensor<4xf32>
  %1 = "tir.sum"(%arg0) {axes = array<i64: 1>, keepdims = false} : (tensor<3x4xf32>) -> tensor<3xf32>
  %2 = "tir.sum"(%arg0) {axes = array<i64: 1>, keepdims = true} : (tensor<3x4xf32>) -> tensor<3x1xf32>
  %3 = "tir.sum"(%arg0) {axes = array<i64: 1>, keepdims = false} : (tensor<3x4xf32>) -> tensor<3xf32>
  %4 = "tir.cast"(%arg0) {dtype = f64} : (tensor<3x4xf32>) -> tensor<3x4xf64>
  %5 = "tir.cast"(%arg0) {dtype = i32} : (tensor<3x4xf32>) -> tensor<3x4xi32>
  %6 = "tir.cast"(%arg0) {dtype = f64} : (tensor<3x4xf32>) -> tensor<3x4xf64>
  return %0, %1, %2, %3, %4, %5, %6 : tensor<4xf32>, tensor<3xf32>, tensor<3x1xf32>, tensor<3xf32>, tensor<3x4xf64>, tensor<3x4xi32>, tensor<3x4xf64>
}

// Two tir.wrt of one value are two differentiation variables: never merged.
// Gradient markers of equal operands are the same derivative: merged.
// CHECK-LABEL: func.func @wrt_and_markers
// CHECK: %[[P:[0-9]+]] = "tir.wrt"(%arg0)
// CHECK-NEXT: %[[Q:[0-9]+]] = "tir.wrt"(%arg0)
// CHECK-NEXT: %[[M:[0-9]+]] = "tir.mul"(%[[P]], %[[Q]])
// CHECK-NEXT: %[[S:[0-9]+]] = "tir.sum"(%[[M]])
// CHECK-NEXT: %[[G:[0-9]+]] = "tir.grad"(%[[S]], %[[P]])
// CHECK-NEXT: %[[H:[0-9]+]] = "tir.grad"(%[[S]], %[[Q]])
// CHECK-NEXT: return %[[G]], %[[G]], %[[H]]
func.func @wrt_and_markers(%arg0: tensor<3xf64>) -> (tensor<3xf64>, tensor<3xf64>, tensor<3xf64>) {
  %p = "tir.wrt"(%arg0) : (tensor<3xf64>) -> tensor<3xf64>
  %q = "tir.wrt"(%arg0) : (tensor<3xf64>) -> tensor<3xf64>
  %m = "tir.mul"(%p, %q) : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
  %s = "tir.sum"(%m) {axes = array<i64: 0>, keepdims = false} : (tensor<3xf64>) -> tensor<f64>
  %g1 = "tir.grad"(%s, %p) : (tensor<f64>, tensor<3xf64>) -> tensor<3xf64>
  %g2 = "tir.grad"(%s, %p) : (tensor<f64>, tensor<3xf64>) -> tensor<3xf64>
  %g3 = "tir.grad"(%s, %q) : (tensor<f64>, tensor<3xf64>) -> tensor<3xf64>
  return %g1, %g2, %g3 : tensor<3xf64>, tensor<3xf64>, tensor<3xf64>
}

// Before tir-autodiff (fast_run and fast_compile merge first): inside the
// wrt..grad region sin(p) written twice is one op, so a * b is a * a; exp(w)
// does not depend on p and merges with the same op after the marker; sin(x)
// is not sin(p) and stays apart.
// CHECK-LABEL: func.func @forward_twice_in_grad
// CHECK: %[[P:[0-9]+]] = "tir.wrt"(%arg0)
// CHECK-NEXT: %[[E:[0-9]+]] = "tir.exp"(%arg1)
// CHECK-NEXT: %[[S:[0-9]+]] = "tir.sin"(%[[P]])
// CHECK-NEXT: %[[A:[0-9]+]] = "tir.mul"(%[[S]], %[[E]])
// CHECK-NEXT: %[[M:[0-9]+]] = "tir.mul"(%[[A]], %[[A]])
// CHECK-NEXT: %[[L:[0-9]+]] = "tir.sum"(%[[M]])
// CHECK-NEXT: %[[G:[0-9]+]] = "tir.grad"(%[[L]], %[[P]])
// CHECK-NEXT: %[[SX:[0-9]+]] = "tir.sin"(%arg0)
// CHECK-NEXT: %[[Q:[0-9]+]] = "tir.mul"(%[[SX]], %[[E]])
// CHECK-NEXT: return %[[G]], %[[Q]]
// The gradient 2 sin(x) e^2 cos(x) is then built once: the two cotangent
// terms of a * a are summed at a, and one chain goes back through exp(w) and
// one cos; the merge after autodiff joins sin(x) with the forward's sin(p).
// AD-LABEL: func.func @forward_twice_in_grad
// AD-SAME: (%[[X:[a-z0-9]+]]: tensor<?xf64>, %[[W:[a-z0-9]+]]: tensor<?xf64>)
// AD: %[[E:[0-9]+]] = "tir.exp"(%[[W]])
// AD-NEXT: %[[S:[0-9]+]] = "tir.sin"(%[[X]])
// AD-NEXT: %[[A:[0-9]+]] = "tir.mul"(%[[S]], %[[E]])
// AD-NEXT: "tir.mul"(%[[A]], %[[A]])
// AD: %[[CA:[0-9]+]] = "tir.mul_nonan"(%{{[0-9]+}}, %[[A]])
// AD-NEXT: %[[CT:[0-9]+]] = "tir.add"(%[[CA]], %[[CA]])
// AD-NEXT: %[[CS:[0-9]+]] = "tir.mul_nonan"(%[[CT]], %[[E]])
// AD-NEXT: %[[C:[0-9]+]] = "tir.cos"(%[[X]])
// AD-NEXT: %[[GX:[0-9]+]] = "tir.mul_nonan"(%[[CS]], %[[C]])
// AD-NEXT: return %[[GX]], %[[A]]
func.func @forward_twice_in_grad(%arg0: tensor<?xf64>, %arg1: tensor<?xf64>) -> (tensor<?xf64>, tensor<?xf64>) {
  %p = "tir.wrt"(%arg0) : (tensor<?xf64>) -> tensor<?xf64>
  %e1 = "tir.exp"(%arg1) : (tensor<?xf64>) -> tensor<?xf64>
  %s1 = "tir.sin"(%p) : (tensor<?xf64>) -> tensor<?xf64>
  %a = "tir.mul"(%s1, %e1) : (tensor<?xf64>, tensor<?xf64>) -> tensor<?xf64>
  %s2 = "tir.sin"(%p) : (tensor<?xf64>) -> tensor<?xf64>
  %b = "tir.mul"(%s2, %e1) : (tensor<?xf64>, tensor<?xf64>) -> tensor<?xf64>
  %m = "tir.mul"(%a, %b) : (tensor<?xf64>, tensor<?xf64>) -> tensor<?xf64>
  %l = "tir.sum"(%m) {axes = array<i64: 0>, keepdims = false} : (tensor<?xf64>) -> tensor<f64>
  %g = "tir.grad"(%l, %p) : (tensor<f64>, tensor<?xf64>) -> tensor<?xf64>
  %e2 = "tir.exp"(%arg1) : (tensor<?xf64>) -> tensor<?xf64>
  %s3 = "tir.sin"(%arg0) : (tensor<?xf64>) -> tensor<?xf64>
  %q = "tir.mul"(%s3, %e2) : (tensor<?xf64>, tensor<?xf64>) -> tensor<?xf64>
  return %g, %q : tensor<?xf64>, tensor<?xf64>
}

// Both results of a multi-result op are taken over; upstream ops are left
// alone (upstream cse merges them after lowering).
// CHECK-LABEL: func.func @split_and_upstream
// CHECK: %[[H:[0-9]+]]:2 = "tir.split"(%arg0)
// CHECK-NOT: "tir.split"
// CHECK: arith.constant 1.000000e+00 : f32
// CHECK-NEXT: arith.constant 1.000000e+00 : f32
// CHECK: "tir.add"(%[[H]]#0, %[[H]]#0)
// CHECK-NEXT: "tir.add"(%[[H]]#1, %[[H]]#1)
func.func @split_and_upstream(%arg0: tensor<6xf32>) -> (tensor<2xf32>, tensor<4xf32>) {
  %0:2 = "tir.split"(%arg0) {axis = 0 : i64, size = 2 : i64} : (tensor<6xf32>) -> (tensor<2xf32>, tensor<4xf32>)
  %1:2 = "tir.split"(%arg0) {axis = 0 : i64, size = 2 : i64} : (tensor<6xf32>) -> (tensor<2xf32>, tensor<4xf32>)
  %a = arith.constant 1.0 : f32
  %b = arith.constant 1.0 : f32
  %2 = "tir.add"(%0#0, %1#0) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %3 = "tir.add"(%0#1, %1#1) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %2, %3 : tensor<2xf32>, tensor<4xf32>
}

// Every function is merged on its own: nothing crosses a function boundary.
// CHECK-LABEL: func.func @second_function
// CHECK: "tir.constant"() {value = dense<1.500000e+00> : tensor<f32>}
// CHECK: "tir.exp"
// CHECK-NOT: "tir.exp"
// CHECK: return
func.func @second_function(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %c = "tir.constant"() {value = dense<1.5> : tensor<f32>} : () -> tensor<f32>
  %0 = "tir.exp"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.exp"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.mul"(%0, %c) : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
  %3 = "tir.mul"(%1, %2) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %3 : tensor<?xf32>
}

// The unused constants the merge leaves behind go with tir-dce.
// DCE-LABEL: func.func @equal_subgraphs
// DCE: "tir.constant"() {value = dense<1.500000e+00> : tensor<f32>}
// DCE-NOT: "tir.constant"
// DCE: return
