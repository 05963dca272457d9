// RUN: tensorir-opt %s --tir-bool-storage | FileCheck %s

// Bool buffers hold one byte per element: memref<..xi1> becomes memref<..xi8>,
// values stay i1 in registers (read: != 0, written: extui).
// CHECK-NOT: xi1>

// CHECK-LABEL: func.func public @gt
// CHECK-SAME: %arg2: memref<?xi8>
// CHECK: outs(%arg2 : memref<?xi8>)
// CHECK: %[[B:[0-9]+]] = arith.cmpf ogt, %in, %in_0 : f32
// CHECK: %[[W:[0-9]+]] = arith.extui %[[B]] : i1 to i8
// CHECK: linalg.yield %[[W]] : i8
#map = affine_map<(d0) -> (d0)>
func.func public @gt(%arg0: memref<?xf32>, %arg1: memref<?xf32>, %arg2: memref<?xi1>) {
  linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel"]} ins(%arg0, %arg1 : memref<?xf32>, memref<?xf32>) outs(%arg2 : memref<?xi1>) {
  ^bb0(%in: f32, %in_0: f32, %out: i1):
    %0 = arith.cmpf ogt, %in, %in_0 : f32
    linalg.yield %0 : i1
  }
  return
}

// CHECK-LABEL: func.func public @logical_not
// CHECK-SAME: (%arg0: memref<?xi8>, %arg1: memref<?xi8>)
// CHECK: ^bb0(%in: i8, %out: i8):
// CHECK: %[[R:[0-9]+]] = arith.cmpi ne, %in, %{{.*}} : i8
// CHECK: arith.xori %[[R]], %true : i1
func.func public @logical_not(%arg0: memref<?xi1>, %arg1: memref<?xi1>) {
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%arg0 : memref<?xi1>) outs(%arg1 : memref<?xi1>) {
  ^bb0(%in: i1, %out: i1):
    %true = arith.constant true
    %0 = arith.xori %in, %true : i1
    linalg.yield %0 : i1
  }
  return
}

// CHECK-LABEL: func.func @load_store
// CHECK-SAME: (%arg0: memref<4xi8>, %arg1: index) -> i1
// CHECK: %[[L:[0-9]+]] = memref.load %arg0[%arg1] : memref<4xi8>
// CHECK: %[[V:[0-9]+]] = arith.cmpi ne, %[[L]], %{{.*}} : i8
// CHECK: %[[S:[0-9]+]] = arith.extui %[[V]] : i1 to i8
// CHECK: memref.store %[[S]], %arg0[%arg1] : memref<4xi8>
// CHECK: return %[[V]] : i1
func.func @load_store(%arg0: memref<4xi1>, %arg1: index) -> i1 {
  %0 = memref.load %arg0[%arg1] : memref<4xi1>
  memref.store %0, %arg0[%arg1] : memref<4xi1>
  return %0 : i1
}
