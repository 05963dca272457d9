// tir-outline-serial (lowering/outline.py): the loops left in a public
// function move to chunk functions called once, and the function, now
// straight-line code, is marked for LLVM to compile without optimisation.
// RUN: tensorir-opt %s --split-input-file --tir-outline-serial | FileCheck %s
// RUN: tensorir-opt %s --split-input-file --tir-outline-serial --emit=llvm | FileCheck %s --check-prefix=LLVM
// RUN: tensorir-opt %s --split-input-file --tir-outline-serial --tir-merge-chunks | FileCheck %s --check-prefix=MERGE

// An elementwise op and a row sum: each becomes a chunk function reading
// its buffers from a context, called directly with chunk number 0; the
// constant the body reads is cloned into the chunk, not passed.
// CHECK-LABEL: func.func @two
// CHECK-SAME: passthrough = ["optnone", "noinline"]
// CHECK: %[[CTX:.*]] = llvm.alloca
// CHECK: %[[Z:.*]] = arith.constant 0 : i64
// CHECK: call @two_chunk0(%[[CTX]], %[[Z]]) : (!llvm.ptr, i64) -> ()
// CHECK: llvm.alloca
// CHECK: call @two_chunk1
// CHECK-NOT: linalg.generic
// CHECK: return
// CHECK: func.func private @two_chunk0(%arg0: !llvm.ptr, %arg1: i64)
// CHECK-SAME: tir.chunk
// CHECK: arith.constant 2.000000e+00 : f32
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// CHECK: func.func private @two_chunk1(%arg0: !llvm.ptr, %arg1: i64)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// LLVM-LABEL: llvm.func @two
// LLVM-SAME: passthrough = ["optnone", "noinline"]
// LLVM: llvm.call @two_chunk0
// LLVM: llvm.call @two_chunk1
// LLVM-NOT: llvm.br
// LLVM: llvm.return
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @two(%x: memref<?x?xf32>, %y: memref<?x?xf32>, %r: memref<?xf32>) {
  %two = arith.constant 2.0 : f32
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<?x?xf32>) outs(%y : memref<?x?xf32>) {
  ^bb0(%a: f32, %b: f32):
    %t = arith.mulf %a, %two : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%y : memref<?x?xf32>) outs(%r : memref<?xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A loop with a value it carries (a result) cannot move: the function
// keeps its loop and is optimised as usual. Private functions (scan bodies)
// are left alone.
// CHECK-LABEL: func.func @carried
// CHECK-NOT: passthrough
// CHECK: scf.for
// CHECK-NOT: call @carried_chunk
// CHECK-LABEL: func.func @frees
// CHECK-NOT: passthrough
// CHECK: scf.if
// CHECK: linalg.fill
// CHECK: memref.dealloc
// CHECK-LABEL: func.func private @helper
// CHECK-NOT: passthrough
// CHECK: linalg.fill
func.func @carried(%n: index, %x: memref<?xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %s = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %zero) -> (f32) {
    %v = memref.load %x[%i] : memref<?xf32>
    %t = arith.addf %acc, %v : f32
    scf.yield %t : f32
  }
  return %s : f32
}
// An op freeing a buffer allocated outside it stays too: a chunk function
// does not know the pointer that was allocated, only the aligned one.
func.func @frees(%c: i1, %n: index) {
  %zero = arith.constant 0.0 : f32
  %x = memref.alloc(%n) {alignment = 64 : i64} : memref<?xf32>
  scf.if %c {
    linalg.fill ins(%zero : f32) outs(%x : memref<?xf32>)
    memref.dealloc %x : memref<?xf32>
  }
  return
}
func.func private @helper(%x: memref<?xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%x : memref<?xf32>)
  return
}

// -----

// A function with no loop is marked too; the same loop nest on two pairs
// of buffers is compiled once (tir-merge-chunks follows direct calls).
// CHECK-LABEL: func.func @none
// CHECK-SAME: passthrough = ["optnone", "noinline"]
// MERGE-LABEL: func.func @twice
// MERGE: call @twice_chunk0
// MERGE: call @twice_chunk0
// MERGE: func.func private @twice_chunk0
// MERGE-NOT: @twice_chunk1
func.func @none(%x: memref<4xf32>, %y: memref<4xf32>) {
  memref.copy %x, %y : memref<4xf32> to memref<4xf32>
  return
}
#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @twice(%x: memref<?x?xf32>, %y: memref<?x?xf32>, %u: memref<?x?xf32>, %v: memref<?x?xf32>) {
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<?x?xf32>) outs(%y : memref<?x?xf32>) {
  ^bb0(%a: f32, %b: f32):
    %t = math.exp %a : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%u : memref<?x?xf32>) outs(%v : memref<?x?xf32>) {
  ^bb0(%a: f32, %b: f32):
    %t = math.exp %a : f32
    linalg.yield %t : f32
  }
  return
}
