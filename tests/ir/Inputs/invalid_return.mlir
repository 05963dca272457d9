// Input of cli.mlir: the function returns a tensor of the wrong type.
func.func @f(%arg0: tensor<?xf32>) -> tensor<f32> {
  %0 = "tir.exp"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
