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

// --emit=gpu on a full reduction: no parallel loop, so the reduction is
// split: 128 blocks of 256 threads each sum a strided share (consecutive
// threads at consecutive elements) into 32768 partials, one block folds
// those into 256, and one thread adds these to the zero-filled result. Every
// step runs on the device; the kernels of a function share one gpu.module.
// RUN: tensorir-opt %S/Inputs/full_sum.mlir --emit=gpu | FileCheck %s --check-prefix=SUM
// SUM: func.func public @total(%[[X:.*]]: memref<?xf32>, %[[OUT:.*]]: memref<f32> {tir.out})
// SUM: gpu.launch_func @total_kernel::@total_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%[[OUT]] : memref<f32>)
// SUM: %[[P1:.*]] = memref.alloc() : memref<32768xf32>
// SUM: gpu.launch_func @total_kernel::@total_kernel_0 blocks in (%c128, %c1, %c1) threads in (%c256, %c1, %c1) args(%[[X]] : memref<?xf32>, %[[P1]] : memref<32768xf32>)
// SUM: %[[P2:.*]] = memref.alloc() : memref<256xf32>
// SUM: gpu.launch_func @total_kernel::@total_kernel_1 blocks in (%c1, %c1, %c1) threads in (%c256, %c1, %c1) args(%[[P1]] : memref<32768xf32>, %[[P2]] : memref<256xf32>)
// SUM: gpu.launch_func @total_kernel::@total_kernel_2 blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%[[OUT]] : memref<f32>, %[[P2]] : memref<256xf32>
// SUM: gpu.module @total_kernel
// SUM: gpu.func @total_kernel_0(%[[IN:.*]]: memref<?xf32>, %[[PART:.*]]: memref<32768xf32>) kernel
// SUM-DAG: %[[STRIDE:.*]] = arith.constant 32768 : index
// SUM-DAG: %[[ZERO:.*]] = arith.constant -0.000000e+00 : f32
// SUM: %[[T:.*]] = arith.addi
// SUM: %[[S:.*]] = scf.for %[[I:.*]] = %[[T]] to %{{.*}} step %[[STRIDE]] iter_args(%[[A:.*]] = %[[ZERO]]) -> (f32)
// SUM: memref.load %[[IN]][%[[I]]]
// SUM: arith.addf %[[A]], %{{.*}} fastmath<reassoc>
// SUM: memref.store %[[S]], %[[PART]][%[[T]]]
