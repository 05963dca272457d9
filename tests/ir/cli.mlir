// The tensorir-opt command line itself: listing, pipelines, stages, dumps
// (errors: cli_errors.mlir; --import: cli_import.mlir).

// RUN: tensorir-opt --list-passes | FileCheck %s --check-prefix=LIST
// LIST: tir passes:
// LIST: --tir-autodiff {{ *}}replace tir.grad/vjp/jvp markers by the derivative computation
// LIST: --tir-dce {{ *}}remove tir ops whose results are unused
// LIST: lowering steps
// LIST: --tir-to-linalg {{ *}}lower every tir op to linalg
// LIST: --tir-linalg-to-blas
// LIST: pipelines
// LIST: fast_run {{ *}}tir-stabilize, tir-merge, tir-autodiff, {{.*}}tir-dce
// LIST: none {{ *}}tir-autodiff

// Passes as flags run in command-line order; upstream passes by their MLIR name.
// RUN: tensorir-opt %s --tir-dce --canonicalize | FileCheck %s --check-prefix=FLAGS
// FLAGS-LABEL: func.func public @tiny
// FLAGS-NOT: "tir.exp"
// FLAGS: %[[A:[0-9]+]] = "tir.mul"(%arg0, %arg1)
// FLAGS: %[[B:[0-9]+]] = "tir.mul"(%arg0, %arg1)
// FLAGS: "tir.add"(%[[A]], %[[B]])

// One pass manager mixes tir passes, upstream passes and nested groups: after
// tir-to-linalg, upstream cse merges the two equal multiplications.
// RUN: tensorir-opt %s --pass-pipeline='builtin.module(tir-dce,tir-to-linalg,func.func(cse,canonicalize))' | FileCheck %s --check-prefix=PIPE
// PIPE-NOT: "tir.
// PIPE: linalg.generic
// PIPE: arith.mulf
// PIPE-NOT: arith.mulf
// PIPE: ins(%[[M:[0-9]+]], %[[M]] :
// PIPE: arith.addf

// --emit lowers after the passes with the CPU pipeline: LLVM IR, host assembly.
// RUN: tensorir-opt %s --tir-dce --emit=llvm-ir | FileCheck %s --check-prefix=LLVMIR
// LLVMIR: define void @tiny(ptr
// LLVMIR: fmul float
// LLVMIR: fadd float
// LLVMIR-NOT: @expf
// RUN: tensorir-opt %s --emit=asm | FileCheck %s --check-prefix=ASM
// ASM: {{^}}tiny:

// IR dumps go to stderr, under mlir-opt's headers; timing too.
// RUN: tensorir-opt %s --tir-dce --cse --print-ir-after=tir-dce --print-ir-before=cse -o %t 2>&1 | FileCheck %s --check-prefix=DUMP
// DUMP: // -----// IR Dump After tir-dce (tir-dce) //----- //
// DUMP-NOT: "tir.exp"
// DUMP: // -----// IR Dump Before cse (cse) //----- //
// DUMP-NOT: IR Dump
// RUN: tensorir-opt %s --pass-pipeline='builtin.module(tir-dce,cse)' --print-ir-after-all --mlir-timing -o %t 2>&1 | FileCheck %s --check-prefix=ALL
// ALL: IR Dump After tir-dce (tir-dce)
// ALL: IR Dump After CSE (cse)
// ALL: Execution time report
// ALL: tir-dce
// ALL: CSE

func.func public @tiny(%arg0: tensor<?xf32>, %arg1: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.exp"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  %1 = "tir.mul"(%arg0, %arg1) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %2 = "tir.mul"(%arg0, %arg1) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %3 = "tir.add"(%1, %2) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %3 : tensor<?xf32>
}
