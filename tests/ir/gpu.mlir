// --emit=ptx: the GPU recipe of lowering/gpu.py (parallel loops tiled by 256,
// mapped to blocks and threads, outlined, NVVM, PTX for sm_90 from the
// wheels' NVPTX target). tests/test_gpu_ptx.py also assembles it with ptxas.
// RUN: tensorir-opt %s --emit=ptx | FileCheck %s

// CHECK: .version 8.0
// CHECK: .target sm_90
// CHECK: .visible .entry tir_layer_kernel(
// CHECK: %ctaid.x
// CHECK: %tid.y
// the add and tanh fused into the kernel (tanh as the polynomial form of lowering/mathfns.py)
// CHECK: fma.rn.f32
// CHECK: ret;
func.func public @tir_layer(%x: tensor<?x?xf32>, %b: tensor<?xf32>) -> tensor<?x?xf32> {
  %0 = "tir.add"(%x, %b) : (tensor<?x?xf32>, tensor<?xf32>) -> tensor<?x?xf32>
  %1 = "tir.tanh"(%0) : (tensor<?x?xf32>) -> tensor<?x?xf32>
  return %1 : tensor<?x?xf32>
}
