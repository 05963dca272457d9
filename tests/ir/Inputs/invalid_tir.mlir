// Input of cli.mlir: MLIR verifies it, but tir.sum's type rule gives tensor<f32>.
func.func @f(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.sum"(%arg0) {axes = array<i64: 0>, keepdims = false} : (tensor<?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
