"""OpenBLAS for JIT-compiled code: finding and loading ``scipy_openblas32``.

Compiled modules call ``scipy_cblas_sgemm`` and friends by name; MCJIT
resolves such external symbols in the process, so the library must be
loaded (with global visibility) before a module that uses it is finalised.
:func:`ensure_loaded_for` does that once, when the LLVM IR mentions a
``scipy_cblas_`` symbol.

The library is the LP64 build of OpenBLAS that SciPy ships (``blasint`` is
a 32-bit int), independent of the copy bundled inside NumPy.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import threading

import llvmlite.binding as llvm

from ..errors import CompileError

__all__ = ["SYMBOL_PREFIX", "library_path", "ensure_loaded", "ensure_loaded_for"]

SYMBOL_PREFIX = "scipy_cblas_"
_LIBRARY = "libscipy_openblas.so"

_lock = threading.Lock()
_loaded: str | None = None


def library_path() -> str:
    """Path of OpenBLAS from the ``scipy-openblas32`` wheel (CompileError if absent).

    The package is found, not imported: its ``__init__`` reads its version
    through ``importlib.metadata``, which costs more than loading cached
    code should (``runtime/cache.py``); its ``get_lib_dir()`` is ``lib/``.
    """
    spec = importlib.util.find_spec("scipy_openblas32")
    if spec is None or not spec.submodule_search_locations:
        raise CompileError(
            "matmul of float arrays calls OpenBLAS from the package scipy-openblas32, which is "
            "not installed; install it with `pip install scipy-openblas32`"
        )
    path = os.path.join(list(spec.submodule_search_locations)[0], "lib", _LIBRARY)
    if not os.path.exists(path):
        raise CompileError(f"scipy-openblas32 is installed but {path} does not exist; reinstall the package")
    return path


def ensure_loaded() -> str:
    """Load OpenBLAS into the process for the JIT (idempotent); returns its path.

    OpenBLAS is set to one thread: compiled code splits large gemms over its
    own threads (``tir-linalg-to-blas``). OpenBLAS's threads wait for work by
    spinning, so with another busy process on the machine a batched matmul
    that takes 3 ms alone took 2-4 s, and a 256x784x512 gemm 40 ms instead of
    0.8. This copy of OpenBLAS is tensorir's own (NumPy bundles another), so
    nothing else in the process is affected.
    """
    global _loaded
    with _lock:
        if _loaded is None:
            path = library_path()
            llvm.load_library_permanently(path)
            _one_thread(path)
            _loaded = path
        return _loaded


def _one_thread(path: str) -> None:
    lib = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    setter = getattr(lib, "scipy_openblas_set_num_threads", None)
    if setter is None:
        raise CompileError(f"{path} has no scipy_openblas_set_num_threads; reinstall scipy-openblas32")
    setter.argtypes = (ctypes.c_int,)
    setter.restype = None
    setter(1)


def ensure_loaded_for(llvm_ir: str) -> None:
    """Load OpenBLAS if the module ``llvm_ir`` calls one of its functions."""
    if SYMBOL_PREFIX in llvm_ir:
        ensure_loaded()
