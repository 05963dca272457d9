"""NVIDIA GPUs through the CUDA driver API (cuda-python): devices, memory, PTX, launches.

The runtime knows nothing about tir: it loads PTX text, launches kernels by
name with parameter *slots* (``("ptr", address)``, ``("i64", n)``, ...), and
copies C-contiguous arrays between NumPy and device memory.

* :func:`probe` says, never raising, why GPU ``ordinal`` cannot be used;
  :func:`device` gives the process's :class:`Device` (primary context, made
  current on each thread that uses it, and one stream) or raises
  GpuUnavailableError.
* All of a device's work is ordered on its stream: stream-ordered allocation
  and free (where the device has memory pools), copies, launches. A copy to
  the host synchronizes first, so a kernel that failed asynchronously raises
  KernelLaunchError naming the kernels launched since the last synchronize;
  a copy from the host synchronizes after, so the NumPy array may change as
  soon as it returns. :data:`TRANSFERS` counts the copies.
* Every driver status goes through :func:`check`: GpuOutOfMemoryError,
  KernelLaunchError or GpuError, with the driver's error name and text and
  what was being done.
* Kernel ABI (GPU-NOTES.md): a memref argument is :func:`memref_slots`, an
  ``index`` an ``"i64"``; :func:`pack_arguments` builds ``kernelParams``.

>>> if probe() is None:                                    # doctest: +SKIP
...     print(to_device(np.arange(3, dtype="float32"), device()))
DeviceArray([0., 1., 2.], dtype=float32, device='cuda:0')
"""

from __future__ import annotations

import collections
import ctypes
import functools
import math
import numbers
import operator
import re
import struct
import threading
from typing import Any, Sequence

import numpy as np

from ..errors import (ArgumentError, DTypeError, GpuError, GpuOutOfMemoryError, GpuUnavailableError,
                      KernelLaunchError, ShapeError)

try:  # imports without a GPU or driver; cuInit is what needs libcuda
    from cuda.bindings import driver
except ImportError:  # pragma: no cover - cuda-python is a dependency
    driver = None

__all__ = ["probe", "device", "Device", "DeviceBuffer", "DeviceArray", "Module", "Kernel", "Packed",
           "empty", "to_device", "read_scalar", "write_scalar", "pack_arguments", "memref_slots",
           "check", "driver_error", "check_launch", "TRANSFERS", "Transfers"]

_FIX = "run on a machine with an NVIDIA GPU and driver, or use device='cpu' (or 'auto' to fall back)"
# A failed kernel leaves these in the context: every later call returns them.
_STICKY = {"CUDA_ERROR_LAUNCH_FAILED", "CUDA_ERROR_ILLEGAL_ADDRESS", "CUDA_ERROR_ILLEGAL_INSTRUCTION",
           "CUDA_ERROR_MISALIGNED_ADDRESS", "CUDA_ERROR_INVALID_ADDRESS_SPACE", "CUDA_ERROR_INVALID_PC",
           "CUDA_ERROR_HARDWARE_STACK_ERROR", "CUDA_ERROR_ASSERT", "CUDA_ERROR_LAUNCH_TIMEOUT"}
_LAUNCH = _STICKY | {"CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "CUDA_ERROR_LAUNCH_INCOMPATIBLE_TEXTURING",
                     "CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE"}
_LAUNCH_HINTS = {"CUDA_ERROR_INVALID_VALUE": "check the kernel's parameters (number, types) and that the block "
                                             "is its .maxntid"}
_HINTS = {"CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES": "too many registers or too much shared memory: use smaller blocks",
          "CUDA_ERROR_UNSUPPORTED_PTX_VERSION": "the NVIDIA driver is older than the PTX: update the driver",
          "CUDA_ERROR_INVALID_PTX": "check the PTX offline with `ptxas -arch=<chip> module.ptx`"}
_lock = threading.RLock()
_PROBES: dict[int, str | None] = {}
_DEVICES: dict[int, "Device"] = {}
_current = threading.local()  # .context: the context this thread made current


def _nbytes(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20)):
        if n >= size:
            return f"{n / size:.2f} {unit} ({n} bytes)"
    return f"{n} bytes"


def _code_name(code: Any) -> str:
    return getattr(code, "name", None) or str(code)


def _describe(code: Any) -> tuple[str, str]:
    """The driver's name and text of an error code; the enum's when the driver cannot say."""
    name, text = _code_name(code), ""
    try:
        err, raw = driver.cuGetErrorName(code)
        if _code_name(err) == "CUDA_SUCCESS" and raw:
            name = raw.decode(errors="replace")
        err, raw = driver.cuGetErrorString(code)
        if _code_name(err) == "CUDA_SUCCESS" and raw:
            text = raw.decode(errors="replace")
    except Exception:  # no libcuda: cuGetErrorName itself needs the driver
        pass
    if not text:  # the enum's documentation, first sentence
        text = " ".join((getattr(code, "__doc__", None) or "").split()).split(". ")[0].rstrip(".")
    return name, text


def driver_error(code: Any, doing: str, *, kernel: str | None = None, hint: str = "",
                 detail: str = "") -> GpuError:
    """The typed exception for a non-success ``CUresult``: GpuOutOfMemoryError
    for CUDA_ERROR_OUT_OF_MEMORY; KernelLaunchError (``.kernel`` set) for a
    launch or kernel failure, or for any error while ``kernel`` is named (a
    launch refused with CUDA_ERROR_INVALID_VALUE); GpuError otherwise. The
    message is ``<doing>: <NAME>: <driver's text> (<hint>)``, then ``detail``
    on lines of its own."""
    name, text = _describe(code)
    key = _code_name(code)
    message = f"{doing}: {name}" + (f": {text}" if text else "")
    hint = hint or _HINTS.get(key) or (_LAUNCH_HINTS.get(key, "") if kernel is not None else "")
    if key in _STICKY:
        hint = (hint + "; " if hint else "") + "the CUDA context is unusable after this error: restart the process"
    if hint:
        message += f" ({hint})"
    if detail:
        message += "\n" + detail
    if key == "CUDA_ERROR_OUT_OF_MEMORY":
        return GpuOutOfMemoryError(message)
    if key in _LAUNCH or kernel is not None:
        exc = KernelLaunchError(message)
        exc.kernel = kernel
        return exc
    return GpuError(message)


def check(result: Any, doing: str, *, kernel: str | None = None, hint: str = "") -> Any:
    """The values of a cuda-python call's result ``(CUresult, *values)``: None,
    the one value, or a tuple; raises :func:`driver_error` unless CUDA_SUCCESS."""
    code = result[0] if isinstance(result, tuple) else result
    if _code_name(code) != "CUDA_SUCCESS":
        raise driver_error(code, doing, kernel=kernel, hint=hint)
    values = result[1:] if isinstance(result, tuple) else ()
    return None if not values else values[0] if len(values) == 1 else values


# --------------------------------------------------------------------------- devices

def probe(ordinal: int = 0) -> str | None:
    """None when GPU ``ordinal`` can be used (the driver loads, cuInit succeeds,
    the device exists), else a one-line reason. Never raises; cached per ordinal."""
    if not isinstance(ordinal, int) or isinstance(ordinal, bool) or ordinal < 0:
        return f"the device ordinal must be an int >= 0, found {ordinal!r}"
    with _lock:
        if ordinal not in _PROBES:
            try:
                _PROBES[ordinal] = _probe(ordinal)
            except Exception as exc:  # never let a probe fail
                _PROBES[ordinal] = f"the CUDA driver could not be queried: {type(exc).__name__}: {exc}"
        return _PROBES[ordinal]


def _probe(ordinal: int) -> str | None:
    if driver is None:
        return "cuda-python is not installed (pip install cuda-python)"
    try:
        result = driver.cuInit(0)
    except RuntimeError as exc:
        if "NotFound" in type(exc).__name__:  # cuda.pathfinder's DynamicLibNotFoundError
            return "no NVIDIA driver library (libcuda.so.1) on this machine"
        return f"the CUDA driver could not be loaded: {exc}"
    if _code_name(result[0]) == "CUDA_ERROR_NO_DEVICE":
        return "the driver reports 0 devices"
    if _code_name(result[0]) != "CUDA_SUCCESS":
        return str(driver_error(result[0], "cuInit failed"))
    version = check(driver.cuDriverGetVersion(), "asking the driver's version")
    if version < 12000:
        return (f"the NVIDIA driver supports CUDA {version // 1000}.{version % 1000 // 10}; the PTX tensorir "
                "makes (ISA 8.0) needs CUDA 12.0 or newer: update the driver")
    count = check(driver.cuDeviceGetCount(), "counting devices")
    if count == 0:
        return "the driver reports 0 devices"
    if ordinal >= count:
        return f"device {ordinal} asked for, the machine has {count} (0..{count - 1})"
    return None


def device(ordinal: int = 0) -> "Device":
    """The process's :class:`Device` for ``ordinal``, created on first use;
    GpuUnavailableError (with :func:`probe`'s reason) where there is none."""
    found = _DEVICES.get(ordinal)
    if found is not None:
        return found
    with _lock:
        if ordinal not in _DEVICES:
            reason = probe(ordinal)
            if reason is not None:
                raise GpuUnavailableError(f"no usable GPU for device='cuda:{ordinal}': {reason}; {_FIX}")
            try:
                _DEVICES[ordinal] = Device(ordinal)
            except GpuError as exc:
                raise GpuUnavailableError(f"GPU cuda:{ordinal} cannot be used: {exc}; {_FIX}") from None
        return _DEVICES[ordinal]


class Device:
    """One GPU: its primary context, one stream, and what ran on it lately.

    Made by :func:`device` (once per ordinal). ``name``, ``compute_capability``
    (``(9, 0)``), ``chip`` (``"sm_90"``, the PTX target), ``total_memory``
    (bytes), ``peak_bandwidth`` (bytes/s of device memory, from its clock and
    bus width) and ``stream`` (the ``CUstream`` all work is ordered on).
    """

    def __init__(self, ordinal: int):
        self.ordinal = ordinal
        where = f"cuda:{ordinal}"
        handle = self._handle = check(driver.cuDeviceGet(ordinal), f"getting {where}")

        def attribute(name: str) -> int:
            key = getattr(driver.CUdevice_attribute, f"CU_DEVICE_ATTRIBUTE_{name}")
            return int(check(driver.cuDeviceGetAttribute(key, handle), f"querying {where}"))

        raw = check(driver.cuDeviceGetName(256, handle), f"naming {where}")
        self.name = bytes(raw).split(b"\0", 1)[0].decode(errors="replace")
        self.compute_capability = (attribute("COMPUTE_CAPABILITY_MAJOR"), attribute("COMPUTE_CAPABILITY_MINOR"))
        self.chip = "sm_%d%d" % self.compute_capability
        self.total_memory = int(check(driver.cuDeviceTotalMem(handle), f"querying {where}"))
        # DRAM bandwidth by the data sheet: two transfers per memory clock (kHz) over the bus (bits)
        self.peak_bandwidth = 2 * attribute("MEMORY_CLOCK_RATE") * 1000 * attribute("GLOBAL_MEMORY_BUS_WIDTH") // 8
        self._context = check(driver.cuDevicePrimaryCtxRetain(handle), f"opening {where}")
        self._activate()
        self.stream = check(driver.cuStreamCreate(0), f"creating a stream on {where}")
        self._launched: collections.deque[str] = collections.deque(maxlen=8)
        self._pool = None
        if attribute("MEMORY_POOLS_SUPPORTED"):  # keep freed memory for reuse, not handed back at each sync
            self._pool = check(driver.cuDeviceGetDefaultMemPool(handle), f"querying {where}")
            threshold = driver.CUmemPool_attribute.CU_MEMPOOL_ATTR_RELEASE_THRESHOLD
            check(driver.cuMemPoolSetAttribute(self._pool, threshold, driver.cuuint64_t(2**64 - 1)),
                  f"configuring {where}'s memory pool")

    def __repr__(self) -> str:
        return f"<Device cuda:{self.ordinal} {self.name!r} {self.chip} {_nbytes(self.total_memory)}>"

    def _activate(self) -> None:
        """Make the context current on the calling thread (the driver's state is per thread)."""
        if getattr(_current, "context", None) is not self._context:
            check(driver.cuCtxSetCurrent(self._context), f"making cuda:{self.ordinal} current")
            _current.context = self._context

    def memory_info(self) -> tuple[int, int]:
        """(free, total) bytes of device memory."""
        self._activate()
        free, total = check(driver.cuMemGetInfo(), f"querying cuda:{self.ordinal}'s memory")
        return int(free), int(total)

    def alloc(self, nbytes: int) -> "DeviceBuffer":
        """``nbytes`` of device memory, stream-ordered where the device has memory
        pools; GpuOutOfMemoryError (bytes asked, free/total) when they are not there."""
        nbytes = operator.index(nbytes)
        if nbytes < 0:
            raise ValueError(f"cannot allocate a negative number of bytes ({nbytes})")
        if nbytes == 0:
            return DeviceBuffer(self, 0, 0)
        self._activate()
        alloc = (lambda: driver.cuMemAllocAsync(nbytes, self.stream)) if self._pool is not None \
            else (lambda: driver.cuMemAlloc(nbytes))
        result = alloc()
        if _code_name(result[0]) == "CUDA_ERROR_OUT_OF_MEMORY" and self._pool is not None:
            self.synchronize()  # hand the pool's idle memory back and try once more
            check(driver.cuMemPoolTrimTo(self._pool, 0), f"trimming cuda:{self.ordinal}'s memory pool")
            result = alloc()
        if _code_name(result[0]) == "CUDA_ERROR_OUT_OF_MEMORY":
            try:
                free, total = self.memory_info()
                state = f"the device has {_nbytes(free)} free of {_nbytes(total)}"
            except GpuError:
                state = f"the device has {_nbytes(self.total_memory)} in all"
            raise driver_error(result[0], f"allocating {_nbytes(nbytes)} on cuda:{self.ordinal}: {state}",
                               hint="use smaller batches, or drop device arrays no longer needed")
        ptr = check(result, f"allocating {_nbytes(nbytes)} on cuda:{self.ordinal}")
        return DeviceBuffer(self, int(ptr), nbytes, self._pool is not None)

    def load_module(self, ptx: str, name: str) -> "Module":
        """Load PTX text (JIT-compiled by the driver for this GPU). A failure is a
        GpuError naming the module, with the JIT's error log."""
        self._activate()
        log = bytearray(16384)
        options = [driver.CUjit_option.CU_JIT_ERROR_LOG_BUFFER, driver.CUjit_option.CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES]
        result = driver.cuModuleLoadDataEx(ptx.encode() + b"\0", len(options), options, [log, len(log)])
        if _code_name(result[0]) != "CUDA_SUCCESS":
            text = bytes(log).split(b"\0", 1)[0].decode(errors="replace").strip()
            raise driver_error(result[0], f"loading PTX module {name!r} on cuda:{self.ordinal} ({self.chip})",
                               detail=f"JIT log:\n{text}" if text else "")
        return Module(self, name, result[1], re.findall(r"\.entry\s+([\w$.]+)", ptx))

    def synchronize(self) -> None:
        """Wait for the stream. A kernel that failed since the last synchronize
        raises KernelLaunchError naming the kernels launched meanwhile (the last 8)."""
        self._activate()
        result = driver.cuStreamSynchronize(self.stream)
        names = list(self._launched)
        self._launched.clear()
        doing = "running kernel(s) " + ", ".join(map(repr, names)) if names else "synchronizing"
        check(result, f"{doing} on cuda:{self.ordinal}", kernel=", ".join(names) or None)


class DeviceBuffer:
    """``nbytes`` of device memory at ``ptr`` (0 for zero bytes) on ``device``,
    freed when dropped (in stream order when allocated so). Never raises from
    ``__del__``, at interpreter exit included."""

    __slots__ = ("ptr", "nbytes", "device", "_ordered")

    def __init__(self, device: Device, ptr: int, nbytes: int, ordered: bool = False):
        self.ptr, self.nbytes, self.device, self._ordered = ptr, nbytes, device, ordered

    def __del__(self) -> None:
        ptr, self.ptr = self.ptr, 0
        if not ptr:
            return
        try:
            self.device._activate()
            if self._ordered:
                driver.cuMemFreeAsync(ptr, self.device.stream)
            else:
                driver.cuMemFree(ptr)
        except Exception:  # interpreter exit, or a context already broken: nothing to do
            pass


# --------------------------------------------------------------------------- arrays and copies

class Transfers:
    """Counts of copies between host and device and of their bytes (a copy of
    an empty array counts too), for tests that prove data stays on the device."""

    _FIELDS = ("to_device", "to_host", "bytes_to_device", "bytes_to_host")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.to_device = self.to_host = self.bytes_to_device = self.bytes_to_host = 0

    def _count(self, to_host: bool, nbytes: int) -> None:
        with self._lock:
            way = "to_host" if to_host else "to_device"
            setattr(self, way, getattr(self, way) + 1)
            setattr(self, "bytes_" + way, getattr(self, "bytes_" + way) + nbytes)

    def __repr__(self) -> str:
        return "Transfers(" + ", ".join(f"{f}={getattr(self, f)}" for f in self._FIELDS) + ")"


TRANSFERS = Transfers()


def _host_to_device(ptr: int, host: np.ndarray, device: Device) -> None:
    """Copy a C-contiguous host array to ``ptr``, after the stream's earlier work;
    returns once the copy has read the host memory."""
    if host.nbytes:
        device._activate()
        check(driver.cuMemcpyHtoDAsync(ptr, host.ctypes.data, host.nbytes, device.stream),
              f"copying {_nbytes(host.nbytes)} to cuda:{device.ordinal}")
        device.synchronize()
    TRANSFERS._count(False, host.nbytes)


def _device_to_host(host: np.ndarray, ptr: int, device: Device) -> None:
    """Fill a C-contiguous host array from ``ptr``, after the stream's earlier work."""
    device.synchronize()  # a failed kernel is reported with its name here
    if host.nbytes:
        check(driver.cuMemcpyDtoHAsync(host.ctypes.data, ptr, host.nbytes, device.stream),
              f"copying {_nbytes(host.nbytes)} from cuda:{device.ordinal}")
        device.synchronize()
    TRANSFERS._count(True, host.nbytes)


def _shape(shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(operator.index(d) for d in shape)
    if any(d < 0 for d in shape):
        raise ShapeError(f"a DeviceArray's dimensions must be >= 0, found shape {shape}")
    return shape


def _plain_dtype(dtype: Any) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype.kind not in "biufc":
        raise DTypeError(f"device arrays hold booleans and numbers, found dtype {dtype}")
    return dtype


class DeviceArray:
    """A C-contiguous array in device memory: ``shape`` and ``dtype`` at byte
    ``offset`` of ``buffer``. Copy it out with :meth:`numpy` or ``np.asarray``;
    it has no arithmetic (compiled functions take and return it)."""

    __slots__ = ("buffer", "shape", "dtype", "offset")

    def __init__(self, buffer: DeviceBuffer, shape: tuple, dtype: Any, offset: int = 0):
        self.buffer = buffer
        self.shape, self.dtype, self.offset = _shape(shape), _plain_dtype(dtype), operator.index(offset)
        if self.offset < 0 or self.offset + self.nbytes > buffer.nbytes:
            raise ShapeError(f"a DeviceArray of shape {self.shape} and dtype {self.dtype} ({self.nbytes} bytes) "
                             f"at byte offset {self.offset} does not fit in a buffer of {buffer.nbytes} bytes")

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: math.prod(self.shape))
    nbytes = property(lambda self: self.size * self.dtype.itemsize)
    ptr = property(lambda self: self.buffer.ptr + self.offset, doc="device address of the first element")
    device = property(lambda self: self.buffer.device)

    def numpy(self) -> np.ndarray:
        """A new host array with the values (synchronizes the stream first)."""
        out = np.empty(self.shape, self.dtype)
        _device_to_host(out, self.ptr, self.device)
        return out

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if copy is False:
            raise ValueError("a DeviceArray cannot become a NumPy array without a copy (copy=False)")
        out = self.numpy()
        return out if dtype is None else out.astype(dtype, copy=False)

    def copy_from(self, host: np.ndarray) -> None:
        """Overwrite the values with a host array of the same shape and dtype."""
        host = np.asarray(host)
        if host.shape != self.shape:
            raise ShapeError(f"copy_from: expected an array of shape {self.shape}, found shape {host.shape}")
        if host.dtype != self.dtype:
            raise DTypeError(f"copy_from: expected dtype {self.dtype}, found {host.dtype}; "
                             f"convert it with .astype('{self.dtype}')")
        _host_to_device(self.ptr, np.asarray(host, order="C"), self.device)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d DeviceArray")
        return self.shape[0]

    def __repr__(self) -> str:
        where = f"device='cuda:{self.device.ordinal}'"
        if self.size <= 20:
            try:
                values = np.array2string(self.numpy(), separator=", ")
                return f"DeviceArray({values}, dtype={self.dtype}, {where})"
            except GpuError:
                pass
        return f"DeviceArray(shape={self.shape}, dtype={self.dtype}, {where})"


def empty(shape: Sequence[int], dtype: Any, device: Device) -> DeviceArray:
    """An uninitialised C-contiguous device array."""
    shape, dtype = _shape(shape), _plain_dtype(dtype)
    return DeviceArray(device.alloc(math.prod(shape) * dtype.itemsize), shape, dtype)


def to_device(array: np.ndarray, device: Device) -> DeviceArray:
    """A device copy of a host array (made C-contiguous first)."""
    host = np.asarray(array, order="C")
    out = empty(host.shape, host.dtype, device)
    _host_to_device(out.ptr, host, device)
    return out


def read_scalar(ptr: int, dtype: Any, device: Device) -> np.generic:
    """The one element of ``dtype`` at device address ``ptr`` (a counted copy)."""
    out = np.empty((), _plain_dtype(dtype))
    _device_to_host(out, ptr, device)
    return out[()]


def write_scalar(ptr: int, value: Any, dtype: Any, device: Device) -> None:
    """Store ``value`` as one element of ``dtype`` at ``ptr`` (a counted copy)."""
    _host_to_device(ptr, np.array(value, _plain_dtype(dtype)), device)


# --------------------------------------------------------------------------- kernels

class Module:
    """Loaded PTX: ``name`` and its ``entries`` (the ``.entry`` names in the text)."""

    def __init__(self, device: Device, name: str, handle: Any, entries: Sequence[str] = ()):
        self.device, self.name, self._handle, self.entries = device, name, handle, list(entries)

    def function(self, name: str) -> "Kernel":
        """The kernel ``name``; GpuError naming it (and the module's kernels) if absent."""
        self.device._activate()
        result = driver.cuModuleGetFunction(self._handle, name.encode())
        if _code_name(result[0]) == "CUDA_ERROR_NOT_FOUND":
            raise GpuError(f"PTX module {self.name!r} has no kernel named {name!r}; "
                           f"its kernels: {', '.join(self.entries) or '(none found)'}")
        return Kernel(self, name, check(result, f"looking up kernel {name!r} in module {self.name!r}"))

    def __del__(self) -> None:
        try:
            self.device._activate()
            driver.cuStreamSynchronize(self.device.stream)  # no queued launch may outlive its code
            driver.cuModuleUnload(self._handle)
        except Exception:
            pass


def check_launch(kernel: str, grid: Sequence[int], block: Sequence[int], shared_bytes: int = 0) -> tuple[tuple, tuple]:
    """``(grid, block)`` as int triples after checking them: each dimension >= 1,
    grid x <= 2**31-1, grid y and z <= 65535, at most 1024 threads a block;
    KernelLaunchError saying which dimension is wrong (before any driver call)."""
    def problem() -> str | None:
        dims = {}
        for what, value in (("grid", grid), ("block", block)):
            if not (isinstance(value, (tuple, list)) and len(value) == 3
                    and all(isinstance(d, numbers.Integral) for d in value)):
                return f"{what} must be 3 ints (x, y, z), found {value!r}"
            dims[what] = tuple(int(d) for d in value)
            for axis, d in zip("xyz", dims[what]):
                if d < 1:
                    return f"{what} dimension {axis} is {d}; each grid and block dimension must be >= 1"
        for axis, d, top in zip("xyz", dims["grid"], (2**31 - 1, 65535, 65535)):
            if d > top:
                return f"grid dimension {axis} is {d}, more than the {top} allowed"
        if math.prod(dims["block"]) > 1024:
            return f"block {dims['block']} has {math.prod(dims['block'])} threads, more than the 1024 allowed"
        return None if shared_bytes >= 0 else f"shared_bytes must be >= 0, found {shared_bytes}"

    message = problem()
    if message is not None:
        exc = KernelLaunchError(f"cannot launch kernel {kernel!r}: {message}")
        exc.kernel = kernel
        raise exc
    return tuple(map(int, grid)), tuple(map(int, block))


class Kernel:
    """A kernel of a loaded :class:`Module`, launched on its device's stream."""

    def __init__(self, module: Module, name: str, handle: Any):
        self.module, self.name, self._handle = module, name, handle

    def launch(self, grid: Sequence[int], block: Sequence[int],
               slots: "Sequence[tuple[str, int | float]] | Packed", shared_bytes: int = 0) -> None:
        """Enqueue one launch with the parameters ``slots`` (see :func:`pack_arguments`,
        or an already :class:`Packed` one). Asynchronous: a failure while running
        surfaces at the next :meth:`Device.synchronize` or copy to the host."""
        grid, block = check_launch(self.name, grid, block, shared_bytes)
        packed = slots if isinstance(slots, Packed) else pack_arguments(slots)
        dev = self.module.device
        dev._activate()
        dev._launched.append(self.name)
        check(driver.cuLaunchKernel(self._handle, *grid, *block, shared_bytes, dev.stream, packed.address, 0),
              f"launching kernel {self.name!r} (grid {grid}, block {block}, {len(packed.pointers)} parameters)",
              kernel=self.name)


# Slot type -> (struct code, low, high); ranges of the C type.
_SLOTS: dict[str, tuple[str, Any, Any]] = {
    "ptr": ("Q", 0, 2**64 - 1), "i64": ("q", -2**63, 2**63 - 1), "i32": ("i", -2**31, 2**31 - 1),
    "i8": ("b", -128, 127), "f64": ("d", None, None), "f32": ("f", None, None),
}
_F32_MAX = float(np.finfo(np.float32).max)


@functools.lru_cache(maxsize=256)
def _layout(types: tuple[str, ...]) -> tuple[str, tuple[int, ...], int]:
    """(struct format, offset of each field, size) of a C struct of these fields
    (``@``: native sizes and alignment, as C lays them out)."""
    fmt = "@" + "".join(_SLOTS[t][0] for t in types)
    ends = [struct.calcsize(fmt[:k + 2]) for k in range(len(types))]
    return fmt, tuple(e - struct.calcsize(fmt[k + 1]) for k, e in enumerate(ends)), struct.calcsize(fmt)


class Packed:
    """Kernel parameters: ``pointers`` (a ctypes ``void*`` array, one address per
    parameter, in order) and ``address`` (that array's address: cuLaunchKernel's
    ``kernelParams``). The storage is one 8-byte-aligned block laid out as a C
    struct of the fields; it lives as long as this object."""

    __slots__ = ("_storage", "_size", "pointers", "address")

    def __init__(self, storage: ctypes.Array, size: int, offsets: Sequence[int]):
        base = ctypes.addressof(storage)
        self._storage, self._size = storage, size
        self.pointers = (ctypes.c_void_p * len(offsets))(*(base + o for o in offsets))
        self.address = ctypes.addressof(self.pointers)

    def as_bytes(self) -> bytes:
        """The parameters' bytes as a C struct of them lays them out (no trailing padding)."""
        return ctypes.string_at(ctypes.addressof(self._storage), self._size)


def pack_arguments(slots: Sequence[tuple[str, int | float]]) -> Packed:
    """Lay out kernel parameters: each slot is ``(type, value)``, type one of
    ptr, i64, i32, i8 (Python ints in the type's range), f64, f32 (IEEE double
    and single). ArgumentError for an unknown type or a value of the wrong kind,
    ValueError for one out of range."""
    types, values = [], []
    for k, slot in enumerate(slots):
        try:
            kind, value = slot
        except (TypeError, ValueError):
            raise ArgumentError(f"kernel parameter {k}: expected a (type, value) pair, found {slot!r}") from None
        if not isinstance(kind, str) or kind not in _SLOTS:
            raise ArgumentError(f"kernel parameter {k}: unknown type {kind!r}; expected one of {', '.join(_SLOTS)}")
        _, low, high = _SLOTS[kind]
        if not isinstance(value, numbers.Integral if low is not None else numbers.Real):
            wanted = "an integer" if low is not None else "a number"
            found = f"{type(value).__name__} {value!r}"
            raise ArgumentError(f"kernel parameter {k} ({kind}) needs {wanted}, found {found}")
        value = int(value) if low is not None else float(value)
        if low is not None and not low <= value <= high:
            raise ValueError(f"kernel parameter {k}: {kind} value {value} is out of range [{low}, {high}]"
                             + ("; device addresses are unsigned" if kind == "ptr" else ""))
        if kind == "f32" and math.isfinite(value) and abs(value) > _F32_MAX:
            raise ValueError(f"kernel parameter {k}: f32 value {value!r} is out of float32's range")
        types.append(kind)
        values.append(value)
    fmt, offsets, size = _layout(tuple(types))
    storage = (ctypes.c_uint64 * max(-(-size // 8), 1))()
    struct.pack_into(fmt, storage, 0, *values)
    return Packed(storage, size, offsets)


def memref_slots(allocated: int, aligned: int, offset: int, sizes: Sequence[int],
                 strides: Sequence[int]) -> list[tuple[str, int]]:
    """The slots of one memref argument: allocated and aligned pointers, then
    offset, sizes and strides as i64 (in elements): 3 + 2 * rank slots."""
    if len(sizes) != len(strides):
        raise ShapeError(f"a memref has one stride per dimension: found {len(sizes)} sizes, {len(strides)} strides")
    return ([("ptr", allocated), ("ptr", aligned), ("i64", offset)]
            + [("i64", s) for s in sizes] + [("i64", s) for s in strides])
