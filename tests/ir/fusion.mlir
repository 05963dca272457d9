// tir-keep-costly-producers (lowering/fusion.py), then upstream fusion.
// RUN: tensorir-opt %s --split-input-file --tir-keep-costly-producers | FileCheck %s
// RUN: tensorir-opt %s --split-input-file --pass-pipeline='builtin.module(tir-keep-costly-producers,func.func(linalg-fuse-elementwise-ops))' | FileCheck %s --check-prefix=FUSED

// A costly per-row value (an exp) read by every element of its row is
// materialised once per row: the fusion leaves two generics, and the exp
// stays in the one over the rows.
// CHECK-LABEL: func.func @costly_row
// CHECK: %[[ROW:[0-9]+]] = linalg.generic
// CHECK: %[[KEPT:[0-9]+]] = bufferization.materialize_in_destination %[[ROW]] in %{{[0-9]+}}
// CHECK: linalg.generic {{.*}} ins(%arg0, %[[KEPT]] :
// FUSED-LABEL: func.func @costly_row
// FUSED: linalg.generic {{.*}} ins(%arg1 : tensor<?xf32>)
// FUSED: math.exp
// FUSED: bufferization.materialize_in_destination
// FUSED: linalg.generic
// FUSED-NOT: math.exp
// FUSED: return
#id1 = affine_map<(d0) -> (d0)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @costly_row(%x: tensor<?x?xf32>, %r: tensor<?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = tensor.dim %x, %c0 : tensor<?x?xf32>
  %m = tensor.dim %x, %c1 : tensor<?x?xf32>
  %e0 = tensor.empty(%n) : tensor<?xf32>
  %e = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]} ins(%r : tensor<?xf32>) outs(%e0 : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t0 = math.exp %a : f32
    linalg.yield %t0 : f32
  } -> tensor<?xf32>
  %y0 = tensor.empty(%n, %m) : tensor<?x?xf32>
  %y = linalg.generic {indexing_maps = [#id2, #row, #id2], iterator_types = ["parallel", "parallel"]} ins(%x, %e : tensor<?x?xf32>, tensor<?xf32>) outs(%y0 : tensor<?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

// -----

// A cheap one (a scaled bias: one multiplication per element) is left to
// fusion: one generic remains.
// CHECK-LABEL: func.func @cheap_row
// CHECK-NOT: materialize_in_destination
// FUSED-LABEL: func.func @cheap_row
// FUSED-COUNT-1: linalg.generic
// FUSED-NOT: linalg.generic
#id1b = affine_map<(d0) -> (d0)>
#id2b = affine_map<(d0, d1) -> (d0, d1)>
#rowb = affine_map<(d0, d1) -> (d1)>
func.func @cheap_row(%x: tensor<?x?xf32>, %r: tensor<?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %two = arith.constant 2.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x?xf32>
  %m = tensor.dim %x, %c1 : tensor<?x?xf32>
  %e0 = tensor.empty(%m) : tensor<?xf32>
  %e = linalg.generic {indexing_maps = [#id1b, #id1b], iterator_types = ["parallel"]} ins(%r : tensor<?xf32>) outs(%e0 : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = arith.mulf %a, %two : f32
    linalg.yield %t : f32
  } -> tensor<?xf32>
  %y0 = tensor.empty(%n, %m) : tensor<?x?xf32>
  %y = linalg.generic {indexing_maps = [#id2b, #rowb, #id2b], iterator_types = ["parallel", "parallel"]} ins(%x, %e : tensor<?x?xf32>, tensor<?xf32>) outs(%y0 : tensor<?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}
