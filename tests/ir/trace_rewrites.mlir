// --trace-rewrites: which rewrite rule fired on which op, with its location.

// RUN: tensorir-opt %s --tir-simplify --trace-rewrites -o /dev/null 2>&1 | FileCheck %s
// CHECK: rewrite: loc("model.py":7:0): simplify.neg_neg on tir.neg
// CHECK: rewrite: 1 rewrite(s) in
func.func @neg_neg(%arg0: tensor<?xi32>) -> tensor<?xi32> {
  %0 = "tir.neg"(%arg0) : (tensor<?xi32>) -> tensor<?xi32> loc("model.py":6:0)
  %1 = "tir.neg"(%0) : (tensor<?xi32>) -> tensor<?xi32> loc("model.py":7:0)
  return %1 : tensor<?xi32>
}

// RUN: tensorir-opt %s --tir-dce --trace-rewrites -o /dev/null 2>&1 | FileCheck %s --check-prefix=NONE
// NONE: rewrite: 0 rewrite(s) in
