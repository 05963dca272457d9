// A full reduction: no parallel loop, so a GPU kernel of one thread (see gpu.mlir).
func.func public @total(%arg0: tensor<?xf32>) -> tensor<f32> {
  %0 = "tir.sum"(%arg0) {axes = array<i64: 0>, keepdims = false} : (tensor<?xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}
