// The Python steps of the CPU pipeline in lowering/cpu.py.
// RUN: tensorir-opt %s --split-input-file --tir-to-linalg --tir-entry-abi | FileCheck %s --check-prefix=ABI
// RUN: tensorir-opt %s --split-input-file --tir-unshare-empty-tensors | FileCheck %s --check-prefix=UNSHARE
// RUN: tensorir-opt %s --split-input-file --emit=bufferized | FileCheck %s --check-prefix=BUF
// RUN: tensorir-opt %s --split-input-file --pass-pipeline='builtin.module(tir-to-linalg,tir-entry-abi,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},tir-drop-update-results)' | FileCheck %s --check-prefix=DROP

// tir-entry-abi: a public function writes its results into out-params
// (destination-passing style), marked {tir.out}; its inputs are marked not writable. A private
// function keeps its signature.
// ABI-LABEL: func.func public @twice
// ABI-SAME: (%arg0: tensor<?xf32> {bufferization.writable = false}, %[[OUT:[a-z0-9]+]]: memref<?xf32> {tir.out}) {
// ABI: %[[R:[0-9]+]] = linalg.generic
// ABI: bufferization.materialize_in_destination %[[R]] in restrict writable %[[OUT]] : (tensor<?xf32>, memref<?xf32>) -> ()
// ABI-NEXT: return{{$}}
// ABI-LABEL: func.func private @helper(%arg0: tensor<?xf32>) -> tensor<?xf32>
// UNSHARE-LABEL: func.func public @twice
func.func public @twice(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.add"(%arg0, %arg0) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func private @helper(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  return %arg0 : tensor<?xf32>
}

// -----

// tir-unshare-empty-tensors: one tensor.empty per use, so each writer can
// bufferize in place.
// UNSHARE-LABEL: func.func @two_fills
// UNSHARE: %[[A:[0-9]+]] = tensor.empty(%arg0) : tensor<?xf32>
// UNSHARE: %[[B:[0-9]+]] = tensor.empty(%arg0) : tensor<?xf32>
// UNSHARE-DAG: linalg.fill ins(%{{.*}} : f32) outs(%[[A]] : tensor<?xf32>)
// UNSHARE-DAG: linalg.fill ins(%{{.*}} : f32) outs(%[[B]] : tensor<?xf32>)
// ABI-LABEL: func.func @two_fills
// ABI-COUNT-1: tensor.empty
func.func @two_fills(%arg0: index) -> (tensor<?xf32>, tensor<?xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %0 = tensor.empty(%arg0) : tensor<?xf32>
  %1 = linalg.fill ins(%zero : f32) outs(%0 : tensor<?xf32>) -> tensor<?xf32>
  %2 = linalg.fill ins(%one : f32) outs(%0 : tensor<?xf32>) -> tensor<?xf32>
  return %1, %2 : tensor<?xf32>, tensor<?xf32>
}

// -----

// tir-entry-abi with updates (tir.updates: the input each result updates, or
// -1): the plain result gets an out-param; the new values of inputs 0 and 1
// (shared variables swapped by the function) are materialised into those
// inputs, now writable, reading copies so that neither reads the other after
// it was overwritten. Bufferized (--emit=bufferized), the results that are the
// function's own arguments are dropped (tir-drop-update-results).
// ABI-LABEL: func.func public @swap
// ABI-SAME: (%arg0: tensor<?xf64> {bufferization.writable = true}, %arg1: tensor<?xf64> {bufferization.writable = true}, %[[OUT:arg2]]: memref<f64> {tir.out}) -> (tensor<?xf64>, tensor<?xf64>)
// ABI-NOT: tir.updates
// ABI: bufferization.materialize_in_destination %{{.*}} in restrict writable %[[OUT]]
// ABI: %[[B:.*]] = bufferization.alloc_tensor() copy(%arg1)
// ABI: %[[A:.*]] = bufferization.alloc_tensor() copy(%arg0)
// ABI: %[[U0:.*]] = bufferization.materialize_in_destination %[[B]] in %arg0
// ABI: %[[U1:.*]] = bufferization.materialize_in_destination %[[A]] in %arg1
// ABI: return %[[U0]], %[[U1]]
// DROP-LABEL: func.func public @swap
// DROP-SAME: %arg2: memref<f64> {tir.out}) {
// DROP: return{{$}}
// BUF-LABEL: func.func public @swap
// BUF-SAME: (%arg0: memref<?xf64>, %arg1: memref<?xf64>, %arg2: memref<f64> {tir.out}) {
// BUF: memref.copy %arg1, %[[T:.*]] :
// BUF: memref.copy %arg0, %[[S:.*]] :
// BUF: memref.copy %[[T]], %arg0
// BUF: memref.copy %[[S]], %arg1
// BUF: return{{$}}
func.func public @swap(%a: tensor<?xf64>, %b: tensor<?xf64>) -> (tensor<f64>, tensor<?xf64>, tensor<?xf64>) attributes {tir.updates = array<i64: -1, 0, 1>} {
  %0 = "tir.sum"(%a) {axes = array<i64: 0>, keepdims = false} : (tensor<?xf64>) -> tensor<f64>
  return %0, %b, %a : tensor<f64>, tensor<?xf64>, tensor<?xf64>
}

// -----

// tir-unshare-empty-tensors: a fill that one op writes in place (the sum's
// zero init) and another use reads (returned zeros) gets a copy per use, so
// the returned zeros do not see the sum.
// UNSHARE-LABEL: func.func @zeros_beside_a_sum
// UNSHARE: %[[F1:[0-9]+]] = linalg.fill
// UNSHARE: %[[S:[0-9]+]] = linalg.generic {{.*}} outs(%[[F1]] : tensor<f64>)
// UNSHARE: %[[F2:[0-9]+]] = linalg.fill
// UNSHARE: return %[[S]], %[[F2]]
func.func @zeros_beside_a_sum(%x: tensor<?xf64>) -> (tensor<f64>, tensor<f64>) {
  %zero = arith.constant 0.0 : f64
  %0 = tensor.empty() : tensor<f64>
  %1 = linalg.fill ins(%zero : f64) outs(%0 : tensor<f64>) -> tensor<f64>
  %2 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>], iterator_types = ["reduction"]} ins(%x : tensor<?xf64>) outs(%1 : tensor<f64>) {
  ^bb0(%in: f64, %out: f64):
    %s = arith.addf %out, %in : f64
    linalg.yield %s : f64
  } -> tensor<f64>
  return %2, %1 : tensor<f64>, tensor<f64>
}

// -----

// tir-entry-abi with a run-time index check (the marker tir-to-linalg leaves
// for tir.dynamic_slice): the function takes a status out-param last, after
// its out-params, marked {tir.status}; the check stores (check id 1, start,
// axis size) into it when it fails and no earlier check did; tir.checks lists
// the checks by id with their op's source line; the marker is gone. The
// update in place of input 0 reads the row first (bufferized: the row is
// copied out before the add overwrites the input).
// ABI-LABEL: func.func public @row
// ABI-SAME: (%arg0: tensor<?x?xf32> {bufferization.writable = true}, %arg1: tensor<i64> {bufferization.writable = false}, %arg2: memref<?xf32> {tir.out}, %[[ST:arg3]]: memref<3xi64> {tir.status}) -> tensor<?x?xf32>
// ABI-SAME: attributes {tir.checks = [{axis = 0 : i64, file = "{{.*}}", line = {{[0-9]+}} : i64, op = "dynamic_slice", size = 1 : i64, wrap = true}]}
// ABI-NOT: call @tir.index_check
// ABI: %[[S:.*]] = tensor.extract %arg1[] : tensor<i64>
// ABI: %[[FAIL:.*]] = arith.xori
// ABI: %[[N:.*]] = arith.index_cast %dim : index to i64
// ABI: %[[OLD:.*]] = memref.load %[[ST]][%[[C0:.*]]] : memref<3xi64>
// ABI: %[[FIRST:.*]] = arith.cmpi eq, %[[OLD]], %c0_i64 : i64
// ABI: %[[STORE:.*]] = arith.andi %[[FAIL]], %[[FIRST]] : i1
// ABI: scf.if %[[STORE]] {
// ABI-NEXT: %[[ID:.*]] = arith.constant 1 : i64
// ABI-NEXT: memref.store %[[ID]], %[[ST]][%[[C0]]] : memref<3xi64>
// ABI-NEXT: memref.store %[[S]], %[[ST]][%{{.*}}] : memref<3xi64>
// ABI-NEXT: memref.store %[[N]], %[[ST]][%{{.*}}] : memref<3xi64>
// ABI-NOT: func.func private @tir.index_check
// BUF-LABEL: func.func public @row
// BUF-SAME: (%arg0: memref<?x?xf32>, %arg1: memref<i64>, %arg2: memref<?xf32> {tir.out}, %arg3: memref<3xi64> {tir.status})
// BUF: %[[VIEW:.*]] = memref.subview
// BUF: memref.copy %[[VIEW]], %[[ROW:.*]] :
// BUF: linalg.generic {{.*}} ins(%arg0 : memref<?x?xf32>) outs(%arg0 : memref<?x?xf32>)
// BUF: memref.copy %{{.*}}, %arg2
func.func public @row(%x: tensor<?x?xf32>, %i: tensor<i64>) -> (tensor<?xf32>, tensor<?x?xf32>) attributes {tir.updates = array<i64: -1, 0>} {
  %0 = "tir.dynamic_slice"(%x, %i) {sizes = array<i64: 1, -1>, wrap = array<i64: 1, 0>} : (tensor<?x?xf32>, tensor<i64>) -> tensor<1x?xf32>
  %1 = "tir.squeeze"(%0) {axes = array<i64: 0>} : (tensor<1x?xf32>) -> tensor<?xf32>
  %2 = "tir.add"(%x, %x) : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  return %1, %2 : tensor<?xf32>, tensor<?x?xf32>
}
