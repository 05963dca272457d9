// --emit=ptx: the GPU recipe of lowering/gpu.py (each parallel loop nest a
// launch of blocks of 256 threads, one thread per point in row-major order,
// outlined, NVVM, PTX for sm_90 from the wheels' NVPTX target).
// tests/test_gpu_ptx.py also assembles it with ptxas.
// RUN: tensorir-opt %s --emit=ptx | FileCheck %s

// CHECK: .version 8.0
// CHECK: .target sm_90
// CHECK: .visible .entry tir_layer_kernel(
// CHECK: %ctaid.x
// CHECK: %tid.x
// the add and tanh fused into the kernel (tanh as the polynomial form of lowering/mathfns.py)
// CHECK: fma.rn.f32
// CHECK: ret;
func.func public @tir_layer(%x: tensor<?x?xf32>, %b: tensor<?xf32>) -> tensor<?x?xf32> {
  %0 = "tir.add"(%x, %b) : (tensor<?x?xf32>, tensor<?xf32>) -> tensor<?x?xf32>
  %1 = "tir.tanh"(%0) : (tensor<?x?xf32>) -> tensor<?x?xf32>
  return %1 : tensor<?x?xf32>
}

// --emit=gpu on a full reduction: no parallel loop, so the loop runs as a
// kernel of one thread (the data stays on the device), its accumulator in a
// register (iter_args) rather than loaded and stored on every step. The
// kernels of a function share one gpu.module (one PTX module to load).
// RUN: tensorir-opt %S/Inputs/full_sum.mlir --emit=gpu | FileCheck %s --check-prefix=SUM
// SUM: func.func public @total(%[[X:.*]]: memref<?xf32>, %[[OUT:.*]]: memref<f32> {tir.out})
// SUM: gpu.launch_func @total_kernel::@total_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%[[OUT]] : memref<f32>)
// SUM: gpu.launch_func @total_kernel::@total_kernel_0 blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%[[X]] : memref<?xf32>, %[[OUT]] : memref<f32>)
// SUM: gpu.module @total_kernel
// SUM: gpu.func @total_kernel_0(%{{.*}}: memref<?xf32>, %[[ACC:.*]]: memref<f32>) kernel
// SUM: %[[INIT:.*]] = memref.load %[[ACC]][]
// SUM: %[[SUM:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %[[INIT]]) -> (f32)
// SUM-NOT: memref.store
// SUM: scf.yield
// SUM: memref.store %[[SUM]], %[[ACC]][]
