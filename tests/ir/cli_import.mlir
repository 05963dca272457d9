// --import traces a Python function as @jit does (its "tir" stage of
// f.lower(...)); the passes and --emit then apply as to IR read from a file.

// RUN: tensorir-opt --import %S/Inputs/model.py:grad_loss --args 'float32[?,?],float32[?,?],float32[?,?]' | FileCheck %s
// CHECK-LABEL: func.func public @tir_grad_loss(%arg0: tensor<?x?xf32>, %arg1: tensor<?x?xf32>, %arg2: tensor<?x?xf32>) -> tensor<?x?xf32>
// CHECK: %[[W:[0-9]+]] = "tir.wrt"(%arg0)
// CHECK: "tir.matmul"(%arg1, %[[W]])
// CHECK: "tir.tanh"
// CHECK: "tir.grad"({{.*}}, %[[W]])

// RUN: tensorir-opt --import %S/Inputs/model.py:grad_loss --args 'float32[?,?],float32[?,?],float32[?,?]' --tir-pipeline=fast_run | FileCheck %s --check-prefix=OPT
// OPT-NOT: "tir.grad"
// OPT: "tir.transpose"(%arg1)
