// exp(tanh(x @ w1 + b1) @ w2 + b2) * 2, as traced from Python (see buffers.mlir).
func.func public @tir_mlp(%arg0: tensor<?x?xf32>, %arg1: tensor<?x?xf32>, %arg2: tensor<?xf32>, %arg3: tensor<?x?xf32>, %arg4: tensor<?xf32>) -> tensor<?x?xf32> {
  %0 = "tir.matmul"(%arg0, %arg1) : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %1 = "tir.add"(%0, %arg2) : (tensor<?x?xf32>, tensor<?xf32>) -> tensor<?x?xf32>
  %2 = "tir.tanh"(%1) : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %3 = "tir.matmul"(%2, %arg3) : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %4 = "tir.add"(%3, %arg4) : (tensor<?x?xf32>, tensor<?xf32>) -> tensor<?x?xf32>
  %5 = "tir.exp"(%4) : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %6 = "tir.constant"() {value = dense<2.000000e+00> : tensor<f32>} : () -> tensor<f32>
  %7 = "tir.mul"(%5, %6) : (tensor<?x?xf32>, tensor<f32>) -> tensor<?x?xf32>
  return %7 : tensor<?x?xf32>
}
