"""Result buffers that outlive a call but not the program's interest in them.

A compiled function returns new arrays. Writing a large new array costs
more than computing it when its memory is freshly mapped: the first touch
of each 4 KiB page is a page fault (2-4 GB/s on a VM, against ~30 GB/s of
memory bandwidth). So ``y = f(a, b)`` in a loop over 40 MB arrays spends most
of its time in the kernel zeroing pages for ``np.empty``. The pool keeps the
memory of results the program has dropped and hands it out again.

Policy:

* Results under :attr:`ResultPool.threshold` bytes (1 MiB) keep ``np.empty``:
  the C library's allocator already reuses its heap for them, and the
  pool's bookkeeping (~1.5 us) would cost more than it saves.
* Larger results are views of a *slab*: a 1-D ``uint8`` array over an
  anonymous private mapping, asked for transparent huge pages
  (``madvise(MADV_HUGEPAGE)``) and aligned to 2 MiB (so to 64 bytes).
  Slabs come in size classes, eight to an octave (at most 12.5% unused).
* A slab is busy while any object other than the pool refers to it. Every
  NumPy view of a result (``y[0]``, ``y.T``, ``np.asarray(y)``, a view of a
  view) names the slab as its ``base``, and a ``memoryview`` or ctypes buffer
  keeps its array alive, so ``sys.getrefcount(slab)`` counts them all; the
  pool reuses a slab only when that count is the pool's own. (Raw pointers
  taken with ``y.ctypes.data`` are not references, as with any array.)
* ``y = f(a, b)`` keeps the old ``y`` alive during the call, so a loop uses
  two slabs per result and then alternates between them.
* The pool never refers to more than :attr:`ResultPool.limit` bytes of slabs,
  busy or idle (default: an eighth of physical memory, at most 1 GiB), so
  the memory it holds idle is bounded at every moment, also right after the
  program drops every result. A new slab that would pass the limit first
  evicts idle slabs, least recently used first; if busy ones alone fill the
  limit, the new slab is not kept (the result still gets a huge-page
  mapping, freed with its last view). :meth:`ResultPool.clear` drops every
  idle slab; :meth:`ResultPool.fresh` (the allocation when the pool is
  switched off) does too.
* Allocation takes a lock, so threads may call compiled functions at once;
  a child process made by ``fork`` starts with an empty pool.

>>> import numpy as np
>>> pool = ResultPool()
>>> y = pool.empty((1024, 1024), np.dtype("float32"))
>>> address = y.ctypes.data
>>> del y
>>> pool.empty((1024, 1024), np.dtype("float32")).ctypes.data == address
True
"""

from __future__ import annotations

import math
import mmap
import os
import sys
import threading
import weakref
from typing import Sequence

import numpy as np

__all__ = ["ResultPool", "POOL", "size_class"]

_HUGE_PAGE = 2 << 20
_MIB = 1 << 20


def size_class(nbytes: int) -> int:
    """The capacity of a slab serving ``nbytes``: at least 1 MiB, rounded up
    to one of eight steps per octave (1 MiB, 1.125 MiB, ... 2 MiB, 2.25 MiB,
    ...), so at most 12.5% of a slab goes unused."""
    if nbytes <= _MIB:
        return _MIB
    step = 1 << ((nbytes - 1).bit_length() - 4)
    return -(-nbytes // step) * step


def _default_limit() -> int:
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        physical = 8 << 30
    return min(1 << 30, physical // 8)


def _map(capacity: int) -> np.ndarray:
    """A ``uint8`` array of ``capacity`` bytes over a new private anonymous
    mapping, huge pages asked for, starting on a 2 MiB boundary."""
    pad = _HUGE_PAGE if capacity >= _HUGE_PAGE else 0
    # MAP_PRIVATE: Python's default for anonymous maps is MAP_SHARED, which a
    # forked child would share with its parent and which THP does not serve.
    mm = mmap.mmap(-1, capacity + pad, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if pad and hasattr(mmap, "MADV_HUGEPAGE"):
        try:
            mm.madvise(mmap.MADV_HUGEPAGE)
        except OSError:
            pass  # THP disabled in this kernel: 4 KiB pages
    whole = np.frombuffer(mm, np.uint8)
    skip = -whole.ctypes.data % _HUGE_PAGE if pad else 0
    # The slab's base is the mapping; a view of the slab has the slab as base.
    return np.frombuffer(mm, np.uint8, capacity, skip)


class _Slab:
    __slots__ = ("array", "capacity", "last_use")

    def __init__(self, array: np.ndarray, capacity: int):
        self.array = array
        self.capacity = capacity
        self.last_use = 0


def _idle(slab: _Slab) -> bool:
    return sys.getrefcount(slab.array) == _IDLE_REFS


def _idle_refs() -> int:
    slab = _Slab(np.empty(1, np.uint8), 1)
    return sys.getrefcount(slab.array)


# References to an idle slab's array as _idle() counts them: the slab's own
# attribute and getrefcount's argument (measured, not assumed).
_IDLE_REFS = _idle_refs()


class ResultPool:
    """Slabs of memory for large results, reused once the program drops them.

    ``threshold``: results of fewer bytes get ``np.empty`` (read when glue is
    generated, i.e. at compile time). ``limit``: the most bytes of slabs the
    pool refers to; lowering it evicts idle slabs at once.
    """

    def __init__(self, limit: int | None = None, threshold: int = _MIB):
        self.threshold = threshold
        self._lock = threading.Lock()
        self._classes: dict[int, list[_Slab]] = {}
        self._bytes = 0
        self._clock = 0
        self.hits = 0
        self.misses = 0
        self._limit = _default_limit() if limit is None else int(limit)
        if hasattr(os, "register_at_fork"):
            this = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: (pool := this()) is not None and pool._forget())

    # -- settings ---------------------------------------------------------------
    @property
    def limit(self) -> int:
        return self._limit

    @limit.setter
    def limit(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"the pool's limit is a number of bytes >= 0, found {value!r}")
        with self._lock:
            self._limit = value
            self._evict(0)

    # -- allocation -------------------------------------------------------------
    def empty(self, shape: Sequence[int], dtype: np.dtype) -> np.ndarray:
        """An uninitialised C-contiguous array, from an idle slab when one of
        its size class is idle, else from a new slab."""
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes < self.threshold:
            return np.empty(shape, dtype)
        capacity = size_class(nbytes)
        with self._lock:
            self._clock += 1
            slabs = self._classes.get(capacity)
            if slabs:
                for slab in slabs:
                    if _idle(slab):
                        self.hits += 1
                        slab.last_use = self._clock
                        # the view refers to the slab before the lock is let go
                        return slab.array[:nbytes].view(dtype).reshape(shape)
            self.misses += 1
            array = _map(capacity)
            if self._evict(capacity):
                slab = _Slab(array, capacity)
                slab.last_use = self._clock
                self._classes.setdefault(capacity, []).append(slab)
                self._bytes += capacity
            return array[:nbytes].view(dtype).reshape(shape)

    def fresh(self, shape: Sequence[int], dtype: np.dtype) -> np.ndarray:
        """``np.empty``, after dropping the idle slabs (the pool switched off)."""
        if self._bytes:
            self.clear()
        return np.empty(shape, dtype)

    def _evict(self, room: int) -> bool:
        """Drop idle slabs, least recently used first, until ``room`` more
        bytes fit under the limit; whether they fit. Holds the lock."""
        if self._bytes + room <= self._limit:
            return True
        idle = sorted(
            (s for slabs in self._classes.values() for s in slabs if _idle(s)), key=lambda s: s.last_use
        )
        for slab in idle:
            if self._bytes + room <= self._limit:
                break
            self._drop(slab)
        return self._bytes + room <= self._limit

    def _drop(self, slab: _Slab) -> None:
        slabs = self._classes[slab.capacity]
        slabs.remove(slab)
        if not slabs:
            del self._classes[slab.capacity]
        self._bytes -= slab.capacity

    # -- inspection -------------------------------------------------------------
    def clear(self) -> int:
        """Drop every idle slab (busy ones stay with their arrays); the bytes freed."""
        with self._lock:
            before = self._bytes
            for slab in [s for slabs in self._classes.values() for s in slabs if _idle(s)]:
                self._drop(slab)
            return before - self._bytes

    def stats(self) -> dict[str, int]:
        """``slabs``, ``busy``, ``bytes`` (all slabs), ``idle_bytes``, ``limit``,
        ``hits`` and ``misses`` (pooled allocations served by an idle slab or not)."""
        with self._lock:
            slabs = [s for group in self._classes.values() for s in group]
            idle = [s for s in slabs if _idle(s)]
            return {
                "slabs": len(slabs),
                "busy": len(slabs) - len(idle),
                "bytes": self._bytes,
                "idle_bytes": sum(s.capacity for s in idle),
                "limit": self._limit,
                "hits": self.hits,
                "misses": self.misses,
            }

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._classes = {}
        self._bytes = 0


POOL = ResultPool()
"""The pool compiled functions draw their results from (``ti.config.result_pool``)."""


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_HEAP_BLOCKS = 32 << 20  # glibc's largest mmap threshold on 64-bit hosts
_HEAP_KEPT = 256 << 20


def keep_freed_heap() -> bool:
    """Let the C library's heap serve and keep the temporaries of kernels.

    Inside a kernel every intermediate buffer is a ``malloc`` and a ``free``.
    By default glibc maps blocks of 128 KiB and more (a threshold that grows
    up to 32 MiB as such blocks are freed) with ``mmap`` and returns them with
    ``munmap``, and it gives free memory at the top of its heap back to the
    system beyond 128 KiB: each call of an RNN's gradient then faults in its
    3 MB stacks again, page by page (a fifth of its time). This sets the
    mmap threshold to 32 MiB and the trim threshold to 256 MiB once per
    process, so such buffers come from memory the heap already has. Blocks
    of 32 MiB and more are still mapped and unmapped (results of that size
    come from :data:`POOL`).

    Nothing is changed when the host's C library is not glibc or when the
    environment already tunes malloc (``GLIBC_TUNABLES`` naming
    ``glibc.malloc``, ``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``):
    the user's settings win. Returns whether the settings were applied.
    """
    if "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", "") or any(
        k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
    ):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None)  # the process's own symbols: the C library's malloc is among them
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 - glibc only
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _HEAP_BLOCKS)) and bool(mallopt(_M_TRIM_THRESHOLD, _HEAP_KEPT))


HEAP_TUNED = keep_freed_heap()
"""Whether :func:`keep_freed_heap` changed malloc's thresholds in this process."""
