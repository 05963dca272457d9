// The Python steps of the CPU pipeline in lowering/cpu.py.
// RUN: tensorir-opt %s --split-input-file --tir-to-linalg --tir-entry-abi | FileCheck %s --check-prefix=ABI
// RUN: tensorir-opt %s --split-input-file --tir-unshare-empty-tensors | FileCheck %s --check-prefix=UNSHARE

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
