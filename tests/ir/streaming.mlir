// RUN: tensorir-opt %s --tir-mark-streams --tir-stream-stores | FileCheck %s
// REQUIRES: x86_64

// An elementwise op writing a result (an out-param): at 4 MiB or more it is
// a vector loop with non-temporal, 64-byte aligned stores between a scalar
// head (up to the first line boundary of the row) and a scalar tail, then
// an sfence; below that, the op as it was.
// CHECK-LABEL: func.func public @result
// CHECK: %[[BYTES:.*]] = arith.muli %{{.*}}, %c4
// CHECK: %[[BIG:.*]] = arith.cmpi uge, %[[BYTES]], %c4194304
// CHECK: scf.if %[[BIG]] {
// CHECK: scf.for
// CHECK: memref.extract_strided_metadata %arg2
// CHECK: scf.for
// CHECK: memref.store
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c16{{.*}} {
// CHECK-DAG: %[[X:.*]] = vector.load %arg0[%{{.*}}, %{{.*}}] : memref<?x?xf32>, vector<16xf32>
// CHECK-DAG: %[[B:.*]] = vector.broadcast %{{.*}} : f32 to vector<16xf32>
// CHECK-DAG: %[[C:.*]] = arith.constant dense<1.000000e+00> : vector<16xf32>
// CHECK: %[[Y:.*]] = arith.mulf %[[X]], %[[B]] : vector<16xf32>
// CHECK: %[[Z:.*]] = arith.addf %[[Y]], %[[C]] : vector<16xf32>
// CHECK: vector.store %[[Z]], %arg2[%{{.*}}, %{{.*}}] {alignment = 64 : i64, nontemporal = true}
// CHECK: scf.for
// CHECK: memref.store
// CHECK: llvm.call_intrinsic "llvm.x86.sse.sfence"()
// CHECK: } else {
// CHECK-NEXT: linalg.generic
// CHECK-NOT: tir.stream
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>
func.func public @result(%arg0: memref<?x?xf32>, %arg1: memref<?x1xf32>, %arg2: memref<?x?xf32> {tir.out}) {
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%arg0, %arg1 : memref<?x?xf32>, memref<?x1xf32>) outs(%arg2 : memref<?x?xf32>) {
  ^bb0(%x: f32, %s: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %0 = arith.mulf %x, %s : f32
    %1 = arith.addf %0, %one : f32
    linalg.yield %1 : f32
  }
  return
}

// A temporary (not an out-param), a transposed read and a reduction keep
// their ordinary stores.
// CHECK-LABEL: func.func public @left_alone
// CHECK-NOT: scf.if
// CHECK-NOT: vector.store
// CHECK: return
#t = affine_map<(d0, d1) -> (d1, d0)>
#sum = affine_map<(d0, d1) -> (d0)>
func.func public @left_alone(%arg0: memref<?x?xf32>, %arg1: memref<?x?xf32> {tir.out}, %arg2: memref<?xf32> {tir.out}, %tmp: memref<?x?xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%arg0 : memref<?x?xf32>) outs(%tmp : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %0 = arith.addf %x, %x : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]} ins(%arg0 : memref<?x?xf32>) outs(%arg1 : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#id, #sum], iterator_types = ["parallel", "reduction"]} ins(%arg0 : memref<?x?xf32>) outs(%arg2 : memref<?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %0 = arith.addf %x, %o : f32
    linalg.yield %0 : f32
  }
  return
}
