// RUN: tensorir-opt %s --tir-strided-copies | FileCheck %s

// A copy into a row of a stack (a subview at a dynamic offset) would call
// the runtime's memrefCopy, one element at a time: it becomes a loop nest.
// CHECK-LABEL: func.func @into_row
// CHECK-NOT: memref.copy
// CHECK: linalg.generic {indexing_maps = [#[[ID:.*]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0 : memref<1x?x?xf32>) outs(%{{.*}} : memref<1x?x?xf32, strided<[?, ?, 1], offset: ?>>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: linalg.yield %[[IN]] : f32
func.func @into_row(%arg0: memref<1x?x?xf32>, %arg1: memref<?x?x?xf32>, %t: index) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %b = memref.dim %arg0, %c1 : memref<1x?x?xf32>
  %h = memref.dim %arg0, %c2 : memref<1x?x?xf32>
  %row = memref.subview %arg1[%t, 0, 0] [1, %b, %h] [1, 1, 1] : memref<?x?x?xf32> to memref<1x?x?xf32, strided<[?, ?, 1], offset: ?>>
  memref.copy %arg0, %row : memref<1x?x?xf32> to memref<1x?x?xf32, strided<[?, ?, 1], offset: ?>>
  return
}

// Copies between contiguous buffers (identity layouts, or a static shape in
// row-major order) stay: they lower to one memcpy.
// CHECK-LABEL: func.func @contiguous
// CHECK-NOT: linalg.generic
// CHECK: memref.copy %arg0, %arg1 : memref<?x?xf32> to memref<?x?xf32>
// CHECK: memref.copy %arg2, %arg3 : memref<2x3xf32, strided<[3, 1], offset: 6>> to memref<2x3xf32>
// CHECK: return
func.func @contiguous(%arg0: memref<?x?xf32>, %arg1: memref<?x?xf32>, %arg2: memref<2x3xf32, strided<[3, 1], offset: 6>>, %arg3: memref<2x3xf32>) {
  memref.copy %arg0, %arg1 : memref<?x?xf32> to memref<?x?xf32>
  memref.copy %arg2, %arg3 : memref<2x3xf32, strided<[3, 1], offset: 6>> to memref<2x3xf32>
  return
}

// A transposed view (strides known only at run time) is copied by loops too.
// CHECK-LABEL: func.func @transposed
// CHECK-NOT: memref.copy
// CHECK: linalg.generic {{.*}} ins(%arg0 : memref<?x?xf32, strided<[?, ?], offset: ?>>) outs(%arg1 : memref<?x?xf32>)
func.func @transposed(%arg0: memref<?x?xf32, strided<[?, ?], offset: ?>>, %arg1: memref<?x?xf32>) {
  memref.copy %arg0, %arg1 : memref<?x?xf32, strided<[?, ?], offset: ?>> to memref<?x?xf32>
  return
}
