"""The disk cache of compiled code: machine code kept between processes.

A new process that compiles a function it compiled before (same graph,
same signature, same settings, same toolchain, same CPU) loads the object
code from ``ti.config.compiledir`` instead of running the tir passes, the
MLIR lowering and LLVM again (``ti.config.cache = False`` turns it off).

* **Key**: :func:`key` hashes what the caller (``compiler.py``) says the
  code depends on (the emitted tir IR before any pass, the pipeline and
  its passes, every setting that can change the code) together with
  :func:`environment`: this file format, the tensorir version and a
  fingerprint of its source files (so a changed compiler never loads code
  its old version built), the versions of the MLIR bindings, llvmlite and
  its LLVM, and the host's target triple, CPU name and CPU features (code
  is compiled for the host CPU). Passes or rewrite rules replaced at run
  time (monkeypatching) are not seen: turn the cache off for that.
* **Entry**: one file ``<key>.tirc`` per key: a header (magic,
  :data:`FORMAT`, lengths and a SHA-256 of the key and the payload), the
  caller's metadata as JSON (entry symbol, ranks, the libraries the code
  calls, the index-check table) and the relocatable object code, which
  ``CpuCompiler.load`` links into the process.
* **Writers** write a temporary file in the same directory and
  ``os.replace`` it over the entry, so concurrent writers of one key leave
  one complete entry, and a reader sees either no entry or a whole one.
* **Damage**: an entry that is truncated, garbled, of another format or
  whose code fails to load is deleted and the function compiled again
  (:meth:`DiskCache.load` returns ``None``; the caller calls
  :meth:`DiskCache.discard` when loading fails). A directory that cannot
  be written gives one warning and the code is used uncached.

Nothing here knows about tir: keys are opaque strings, metadata plain JSON.

>>> import tempfile
>>> disk = DiskCache(tempfile.mkdtemp())
>>> k = key("some code", "pipeline=none")
>>> disk.save(k, b"object", {"entry": "f"})
>>> disk.load(k).meta
{'entry': 'f'}
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import sys
import tempfile
import threading
import warnings
from dataclasses import dataclass
from typing import Any

import llvmlite
import llvmlite.binding as llvm

__all__ = ["FORMAT", "SUFFIX", "CachedCode", "DiskCache", "environment", "key"]

FORMAT = 1  # bump when the layout of an entry or the meaning of its metadata changes
SUFFIX = ".tirc"
_MAGIC = b"TIRCACHE"
_HEADER = struct.Struct("<8sIIQ32s")  # magic, format, metadata bytes, code bytes, sha256
_MLIR_DISTRIBUTION = "xtc-mlir-python-bindings"

_lock = threading.Lock()
_environment: dict[str, str] | None = None
_warned: set[str] = set()


@dataclass(frozen=True)
class CachedCode:
    """What an entry holds: object code and the caller's metadata."""

    code: bytes
    meta: dict[str, Any]


def environment() -> dict[str, str]:
    """What every key includes besides the caller's parts (computed once per process)."""
    global _environment
    with _lock:
        if _environment is None:
            import tensorir

            _environment = {
                "format": str(FORMAT),
                "tensorir": tensorir.__version__,
                "tensorir-source": _source_fingerprint(os.path.dirname(os.path.abspath(tensorir.__file__))),
                "mlir": _mlir_version(),
                "llvmlite": llvmlite.__version__,
                "llvm": ".".join(map(str, llvm.llvm_version_info)),
                "triple": llvm.get_process_triple(),
                "cpu": llvm.get_host_cpu_name(),
                "features": llvm.get_host_cpu_features().flatten(),
                # the trampoline reads NumPy arrays at offsets of this interpreter's ABI
                "python": f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}"
                f"{getattr(sys, 'abiflags', '')}",
            }
        return dict(_environment)


def key(*parts: str) -> str:
    """The hex SHA-256 of ``parts`` and :func:`environment`: an entry's name."""
    h = hashlib.sha256()
    for name, value in sorted(environment().items()):
        _feed(h, f"{name}={value}")
    for part in parts:
        _feed(h, part)
    return h.hexdigest()


def _feed(h: Any, text: str) -> None:
    data = text.encode()
    h.update(struct.pack("<Q", len(data)))  # length-prefixed: ("ab", "c") differs from ("a", "bc")
    h.update(data)


def _source_fingerprint(root: str) -> str:
    """Names, sizes and modification times of the package's source files:
    cheap (no file is read), and it changes whenever the compiler does."""
    h = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                _feed(h, f"{os.path.relpath(path, root)}:{st.st_size}:{st.st_mtime_ns}")
    return h.hexdigest()[:16]


def _mlir_version() -> str:
    """The version of the MLIR bindings' distribution, read from its
    ``.dist-info`` folder next to the ``mlir`` package (importing
    ``importlib.metadata`` costs more than a compile-cache hit should)."""
    import mlir

    prefix = _MLIR_DISTRIBUTION.replace("-", "_") + "-"
    for folder in list(mlir.__path__):
        site = os.path.dirname(folder)
        try:
            names = os.listdir(site)
        except OSError:
            continue
        for name in names:
            if name.startswith(prefix) and name.endswith(".dist-info"):
                return name[len(prefix):-len(".dist-info")]
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version(_MLIR_DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown:" + ",".join(list(mlir.__path__))


class DiskCache:
    """Entries under ``directory`` (created when first written)."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def path(self, key: str) -> str:
        return os.path.join(self.directory, key + SUFFIX)

    def load(self, key: str) -> CachedCode | None:
        """The entry of ``key``, or ``None`` when there is none or it is damaged
        (then it is deleted)."""
        path = self.path(key)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return None
        entry = _decode(key, data)
        if entry is None:
            self.discard(key)
        return entry

    def save(self, key: str, code: bytes, meta: dict[str, Any]) -> None:
        """Write the entry of ``key`` atomically; a failure to write warns once."""
        blob = _encode(key, code, meta)
        tmp = None
        try:
            os.makedirs(self.directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=self.directory)
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            os.replace(tmp, self.path(key))
            tmp = None
        except OSError as exc:
            _warn_once(
                self.directory,
                f"tensorir cannot write its compile cache in {self.directory!r} ({exc}); compiled code "
                "is not kept for the next process. Point ti.config.compiledir (TENSORIR_FLAGS="
                "compiledir=...) at a writable directory, or set ti.config.cache = False",
            )
        finally:
            if tmp is not None:
                try:
                    os.remove(tmp)
                except OSError:
                    pass

    def discard(self, key: str) -> None:
        """Delete the entry of ``key`` (a damaged one), if it is there."""
        try:
            os.remove(self.path(key))
        except OSError:
            pass


def _encode(key: str, code: bytes, meta: dict[str, Any]) -> bytes:
    text = json.dumps(meta, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(key.encode() + text + code).digest()
    return _HEADER.pack(_MAGIC, FORMAT, len(text), len(code), digest) + text + code


def _decode(key: str, data: bytes) -> CachedCode | None:
    if len(data) < _HEADER.size:
        return None
    magic, fmt, n_meta, n_code, digest = _HEADER.unpack_from(data)
    if magic != _MAGIC or fmt != FORMAT or len(data) != _HEADER.size + n_meta + n_code:
        return None
    text = data[_HEADER.size:_HEADER.size + n_meta]
    code = data[_HEADER.size + n_meta:]
    if hashlib.sha256(key.encode() + text + code).digest() != digest:
        return None
    try:
        meta = json.loads(text)
    except ValueError:
        return None
    return CachedCode(code, meta) if isinstance(meta, dict) else None


def _warn_once(where: str, message: str) -> None:
    with _lock:
        if where in _warned:
            return
        _warned.add(where)
    warnings.warn(message, RuntimeWarning, stacklevel=4)
