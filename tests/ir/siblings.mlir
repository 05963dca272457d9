// RUN: tensorir-opt %s --tir-fuse-siblings | FileCheck %s

// softmax(x) and log_softmax(x) from shared row statistics: two loop nests
// that both stream x become one that reads x once and writes both results.
// The dealloc of an input of the first between them stays after the join.
// CHECK-LABEL: func.func public @pair
// CHECK: linalg.generic {indexing_maps = [#[[ID:.*]], #[[ROW:.*]], #[[ROW]], #[[ROW]], #[[ID]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%arg0, %arg3, %arg4, %arg5 : {{.*}}) outs(%arg2, %arg1 : memref<?x?xf32>, memref<?x?xf32>)
// CHECK-NEXT: ^bb0(%[[X:.*]]: f32, %[[MAX:.*]]: f32, %[[LOGSUM:.*]]: f32, %[[SUM:.*]]: f32, %{{.*}}: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[D1:.*]] = arith.subf %[[X]], %[[MAX]] : f32
// CHECK-NEXT: %[[LOG:.*]] = arith.subf %[[D1]], %[[LOGSUM]] : f32
// CHECK-NEXT: %[[D2:.*]] = arith.subf %[[X]], %[[MAX]] : f32
// CHECK-NEXT: %[[E:.*]] = math.exp %[[D2]] : f32
// CHECK-NEXT: %[[SM:.*]] = arith.divf %[[E]], %[[SUM]] : f32
// CHECK-NEXT: linalg.yield %[[LOG]], %[[SM]] : f32, f32
// CHECK-NOT: linalg.generic
// CHECK: memref.dealloc %arg4
// CHECK-NEXT: return
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>
func.func public @pair(%arg0: memref<?x?xf32>, %arg1: memref<?x?xf32>, %arg2: memref<?x?xf32>, %arg3: memref<?x1xf32>, %arg4: memref<?x1xf32>, %arg5: memref<?x1xf32>) {
  linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%arg0, %arg3, %arg4 : memref<?x?xf32>, memref<?x1xf32>, memref<?x1xf32>) outs(%arg2 : memref<?x?xf32>) {
  ^bb0(%x: f32, %m: f32, %l: f32, %o: f32):
    %0 = arith.subf %x, %m : f32
    %1 = arith.subf %0, %l : f32
    linalg.yield %1 : f32
  }
  memref.dealloc %arg4 : memref<?x1xf32>
  linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%arg0, %arg3, %arg5 : memref<?x?xf32>, memref<?x1xf32>, memref<?x1xf32>) outs(%arg1 : memref<?x?xf32>) {
  ^bb0(%x: f32, %m: f32, %s: f32, %o: f32):
    %0 = arith.subf %x, %m : f32
    %1 = math.exp %0 : f32
    %2 = arith.divf %1, %s : f32
    linalg.yield %2 : f32
  }
  return
}

// Left apart: the second reads what the first writes (a producer and its
// consumer, not siblings).
// CHECK-LABEL: func.func public @chain
// CHECK-COUNT-2: linalg.generic
func.func public @chain(%arg0: memref<?x?xf32>, %arg1: memref<?x?xf32>, %arg2: memref<?x?xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%arg0 : memref<?x?xf32>) outs(%arg1 : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %0 = arith.addf %x, %x : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%arg0, %arg1 : memref<?x?xf32>, memref<?x?xf32>) outs(%arg2 : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %0 = arith.mulf %x, %y : f32
    linalg.yield %0 : f32
  }
  return
}

// Left apart: an op between them writes the second one's input.
// CHECK-LABEL: func.func public @written_between
// CHECK: linalg.generic
// CHECK: memref.copy
// CHECK: linalg.generic
func.func public @written_between(%arg0: memref<?x?xf32>, %arg1: memref<?x?xf32>, %arg2: memref<?x?xf32>, %arg3: memref<?x?xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%arg0 : memref<?x?xf32>) outs(%arg1 : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %0 = arith.addf %x, %x : f32
    linalg.yield %0 : f32
  }
  memref.copy %arg3, %arg0 : memref<?x?xf32> to memref<?x?xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%arg0 : memref<?x?xf32>) outs(%arg2 : memref<?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %0 = arith.mulf %x, %x : f32
    linalg.yield %0 : f32
  }
  return
}
