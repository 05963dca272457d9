// tensorir-opt on bad input: one paragraph naming the problem, a non-zero
// exit (`not`), never a Python traceback. Exit codes: tests/test_opt.py.

// RUN: not tensorir-opt %s --tir-bogus 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// UNKNOWN: tensorir-opt: error: {{.*}}'tir-bogus' does not refer to a registered pass or pass pipeline
// UNKNOWN-NOT: Traceback

// RUN: not tensorir-opt %s --pass-pipeline='builtin.module(tir-dce,func.func(cse)' 2>&1 | FileCheck %s --check-prefix=MALFORMED
// MALFORMED: tensorir-opt: error: malformed pass pipeline: missing ')' at column 38

// RUN: not tensorir-opt %S/Inputs/invalid_return.mlir 2>&1 | FileCheck %s --check-prefix=INVALID
// INVALID: tensorir-opt: error: invalid input IR in {{.*}}invalid_return.mlir:
// INVALID-NEXT: {{.*}}invalid_return.mlir:4:3: error: type of return operand 0 ('tensor<?xf32>') doesn't match function result type ('tensor<f32>') in function @f

// Ops that MLIR verifies but whose types disagree with the tir type rule.
// RUN: not tensorir-opt %S/Inputs/invalid_tir.mlir 2>&1 | FileCheck %s --check-prefix=TYPERULE
// TYPERULE: tensorir-opt: error: invalid tir in {{.*}}invalid_tir.mlir:
// TYPERULE-NEXT: {{.*}}invalid_tir.mlir:3:8: error: 'tir.sum' result 0 has type tensor<?xf32>, but its type rule gives tensor<f32> for operand types (tensor<?xf32>)

// RUN: not tensorir-opt %S/Inputs/no_kernel.mlir --emit=ptx 2>&1 | FileCheck %s --check-prefix=PTX
// PTX: tensorir-opt: error: --emit=ptx: lowering failed: the module has no GPU kernel: it computes nothing on arrays

func.func public @tiny(%arg0: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "tir.exp"(%arg0) : (tensor<?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
