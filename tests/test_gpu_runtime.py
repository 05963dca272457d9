"""runtime/gpu.py, the CUDA driver layer: parameter packing, error translation
and launch checks (no GPU needed), the device logic against a fake driver that
keeps "device" memory on the host, and round trips, launches and failures on a
real GPU (marked ``gpu``, skipped where there is none)."""

from __future__ import annotations

import ctypes
import gc
import shutil
import struct
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from cuda.bindings import driver

from tensorir.errors import (ArgumentError, DTypeError, GpuError, GpuOutOfMemoryError, GpuUnavailableError,
                             KernelLaunchError, ShapeError, TensorIRError)
from tensorir.runtime import gpu
from tensorir.runtime.gpu import (TRANSFERS, Kernel, check, check_launch, memref_slots, pack_arguments, probe,
                                  read_scalar, to_device, write_scalar)

REPO = Path(__file__).resolve().parents[1]
R = driver.CUresult
NO_GPU = probe() is not None

# Hand-written PTX: add_one(float *x, i64 n) adds 1 to x[:n]; read_bad(float *out) loads from address 0x10.
PTX = textwrap.dedent("""\
    .version 8.0
    .target sm_90
    .address_size 64

    .visible .entry add_one(.param .u64 add_one_x, .param .u64 add_one_n)
    {
        .reg .pred %p<2>;
        .reg .b32 %r<4>;
        .reg .f32 %f<3>;
        .reg .b64 %rd<7>;
        ld.param.u64 %rd1, [add_one_x];
        ld.param.u64 %rd2, [add_one_n];
        mov.u32 %r1, %ctaid.x;
        mov.u32 %r2, %ntid.x;
        mov.u32 %r3, %tid.x;
        mul.wide.u32 %rd3, %r1, %r2;
        cvt.u64.u32 %rd4, %r3;
        add.s64 %rd3, %rd3, %rd4;
        setp.ge.s64 %p1, %rd3, %rd2;
        @%p1 bra DONE;
        cvta.to.global.u64 %rd5, %rd1;
        shl.b64 %rd6, %rd3, 2;
        add.s64 %rd5, %rd5, %rd6;
        ld.global.f32 %f1, [%rd5];
        add.f32 %f2, %f1, 0f3F800000;
        st.global.f32 [%rd5], %f2;
    DONE:
        ret;
    }

    .visible .entry read_bad(.param .u64 read_bad_out)
    {
        .reg .f32 %f<2>;
        .reg .b64 %rd<4>;
        mov.u64 %rd1, 16;
        ld.global.f32 %f1, [%rd1];
        ld.param.u64 %rd2, [read_bad_out];
        cvta.to.global.u64 %rd3, %rd2;
        st.global.f32 [%rd3], %f1;
        ret;
    }
    """)


# --------------------------------------------------------------------------- parameters

def test_pack_arguments_lays_out_a_c_struct() -> None:
    """A rank-2 memref, an index, f32, f64, i32, i8: each field naturally aligned, as C does."""
    slots = memref_slots(0x7F00_0000_1000, 0x7F00_0000_1040, 3, (4, 5), (5, 1))
    slots += [("i64", -7), ("f32", 1.5), ("f64", -2.25), ("i32", -3), ("i8", -5)]
    packed = pack_arguments(slots)
    expected = struct.pack("@QQqqqqqqfdib", 0x7F00_0000_1000, 0x7F00_0000_1040, 3, 4, 5, 5, 1, -7, 1.5, -2.25, -3, -5)
    assert packed.as_bytes() == expected and len(expected) == 85  # f64 after the f32 starts at 72, not 68
    assert len(packed.pointers) == len(slots) == 12
    assert packed.address == ctypes.addressof(packed.pointers)
    codes = {"ptr": "Q", "i64": "q", "i32": "i", "i8": "b", "f64": "d", "f32": "f"}
    base = packed.pointers[0]
    offsets = []
    for k, (kind, value) in enumerate(slots):
        address = packed.pointers[k]
        assert ctypes.c_void_p.from_address(packed.address + 8 * k).value == address  # kernelParams[k]
        size = struct.calcsize(codes[kind])
        assert address % size == 0, (kind, hex(address))
        assert ctypes.string_at(address, size) == struct.pack("@" + codes[kind], value)
        offsets.append(address - base)
    assert offsets == [0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 84]
    assert ctypes.c_float.from_address(packed.pointers[8]).value == 1.5
    assert ctypes.c_int8.from_address(packed.pointers[11]).value == -5
    assert pack_arguments([]).as_bytes() == b"" and len(pack_arguments([]).pointers) == 0


def test_pack_arguments_takes_numpy_scalars_and_bools() -> None:
    packed = pack_arguments([("i64", np.int64(9)), ("f32", np.float32(0.5)), ("i8", True), ("f64", 3)])
    assert packed.as_bytes() == struct.pack("@qfbd", 9, 0.5, 1, 3.0)


@pytest.mark.parametrize("rank", [0, 1, 2, 3])
def test_memref_slots_order(rank: int) -> None:
    sizes, strides = tuple(range(10, 10 + rank)), tuple(range(20, 20 + rank))
    slots = memref_slots(100, 164, 2, sizes, strides)
    assert len(slots) == 3 + 2 * rank
    assert slots == [("ptr", 100), ("ptr", 164), ("i64", 2)] + [("i64", s) for s in sizes + strides]


def test_pack_arguments_errors() -> None:
    with pytest.raises(ArgumentError, match=r"kernel parameter 1: unknown type 'f16'; "
                                            r"expected one of ptr, i64, i32, i8, f64, f32"):
        pack_arguments([("i64", 1), ("f16", 1.0)])
    with pytest.raises(ValueError, match=r"kernel parameter 0: i32 value 1099511627776 is out of range "
                                         r"\[-2147483648, 2147483647\]"):
        pack_arguments([("i32", 2**40)])
    with pytest.raises(ValueError, match=r"ptr value -1 is out of range .*; device addresses are unsigned"):
        pack_arguments([("ptr", -1)])
    with pytest.raises(ValueError, match=r"i8 value 128 is out of range \[-128, 127\]"):
        pack_arguments([("i8", 128)])
    with pytest.raises(ArgumentError, match=r"kernel parameter 0 \(i64\) needs an integer, found float 1.5"):
        pack_arguments([("i64", 1.5)])
    with pytest.raises(ArgumentError, match=r"kernel parameter 0 \(f64\) needs a number, found str '2'"):
        pack_arguments([("f64", "2")])
    with pytest.raises(ValueError, match=r"f32 value 1e\+39 is out of float32's range"):
        pack_arguments([("f32", 1e39)])
    with pytest.raises(ArgumentError, match=r"expected a \(type, value\) pair, found 'ptr'"):
        pack_arguments(["ptr"])  # type: ignore[list-item]
    with pytest.raises(ShapeError, match="found 2 sizes, 1 strides"):
        memref_slots(0, 0, 0, (2, 3), (1,))
    inf = pack_arguments([("f32", float("inf"))]).as_bytes()
    assert inf == struct.pack("@f", float("inf"))


# --------------------------------------------------------------------------- errors and launch checks

def test_check_returns_the_values_after_success() -> None:
    assert check((R.CUDA_SUCCESS,), "x") is None
    assert check((R.CUDA_SUCCESS, 5), "x") == 5
    assert check((R.CUDA_SUCCESS, 1, 2), "x") == (1, 2)


def test_check_translates_driver_errors() -> None:
    with pytest.raises(GpuOutOfMemoryError, match=r"^allocating 5 bytes: CUDA_ERROR_OUT_OF_MEMORY: ") as oom:
        check((R.CUDA_ERROR_OUT_OF_MEMORY, None), "allocating 5 bytes")
    assert isinstance(oom.value, MemoryError) and isinstance(oom.value, GpuError)
    with pytest.raises(KernelLaunchError, match=r"running kernel\(s\) 'k': CUDA_ERROR_LAUNCH_FAILED: .*"
                                                r"restart the process") as failed:
        check((R.CUDA_ERROR_LAUNCH_FAILED,), "running kernel(s) 'k'", kernel="k")
    assert failed.value.kernel == "k"
    with pytest.raises(KernelLaunchError, match="CUDA_ERROR_ILLEGAL_ADDRESS") as illegal:
        check((R.CUDA_ERROR_ILLEGAL_ADDRESS,), "synchronizing")  # a kernel failure, whoever reports it
    assert illegal.value.kernel is None
    with pytest.raises(KernelLaunchError, match=r"launching kernel 'k': CUDA_ERROR_INVALID_VALUE: .*\.maxntid") as bad:
        check((R.CUDA_ERROR_INVALID_VALUE,), "launching kernel 'k'", kernel="k")
    assert bad.value.kernel == "k"
    with pytest.raises(KernelLaunchError, match="CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES: .*use smaller blocks"):
        check((R.CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES,), "launching kernel 'k'", kernel="k")
    with pytest.raises(GpuError, match=r"^copying: CUDA_ERROR_INVALID_VALUE: [^(]*$") as plain:
        check((R.CUDA_ERROR_INVALID_VALUE,), "copying")
    assert type(plain.value) is GpuError
    with pytest.raises(GpuError, match=r"loading PTX module 'm': CUDA_ERROR_INVALID_PTX: .*ptxas -arch") as ptx:
        check((R.CUDA_ERROR_INVALID_PTX, None), "loading PTX module 'm'")
    assert type(ptx.value) is GpuError


def test_error_names_without_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    """cuGetErrorName needs libcuda: without it the enum's name and documentation stand in."""
    def no_driver(code):  # what cuda-python does where libcuda.so.1 is missing
        raise RuntimeError('"cuda" is an NVIDIA driver library and can only be found via system search')

    monkeypatch.setattr(gpu, "driver", SimpleNamespace(cuGetErrorName=no_driver, cuGetErrorString=no_driver))
    with pytest.raises(GpuOutOfMemoryError) as oom:
        check((R.CUDA_ERROR_OUT_OF_MEMORY,), "allocating 5 bytes")
    assert str(oom.value) == ("allocating 5 bytes: CUDA_ERROR_OUT_OF_MEMORY: The API call failed because it was "
                              "unable to allocate enough memory or other resources to perform the requested operation")


@pytest.mark.parametrize("grid, block, message", [
    ((0, 1, 1), (256, 1, 1), "grid dimension x is 0; each grid and block dimension must be >= 1"),
    ((1, 1, 1), (256, 0, 1), "block dimension y is 0; each grid and block dimension must be >= 1"),
    ((1, 1, 1), (32, 32, 2), r"block \(32, 32, 2\) has 2048 threads, more than the 1024 allowed"),
    ((1, 70000, 1), (1, 1, 1), "grid dimension y is 70000, more than the 65535 allowed"),
    ((1, 1, 65536), (1, 1, 1), "grid dimension z is 65536, more than the 65535 allowed"),
    ((2**31, 1, 1), (1, 1, 1), "grid dimension x is 2147483648, more than the 2147483647 allowed"),
    ((4, 1), (1, 1, 1), r"grid must be 3 ints \(x, y, z\), found \(4, 1\)"),
    ((4, 1, 1), (1.5, 1, 1), r"block must be 3 ints \(x, y, z\), found \(1.5, 1, 1\)"),
])
def test_launch_dimensions_are_checked_before_the_driver(grid, block, message) -> None:
    kernel = Kernel(None, "fused_add_3", None)  # type: ignore[arg-type]  # never reaches a device
    with pytest.raises(KernelLaunchError, match="cannot launch kernel 'fused_add_3': " + message) as info:
        kernel.launch(grid, block, [("i64", 1)])
    assert info.value.kernel == "fused_add_3"


def test_check_launch_accepts_the_limits() -> None:
    assert check_launch("k", (2**31 - 1, 65535, 65535), (1024, 1, 1)) == ((2**31 - 1, 65535, 65535), (1024, 1, 1))
    assert check_launch("k", [np.int64(3), 1, 1], (16, 16, 4)) == ((3, 1, 1), (16, 16, 4))
    with pytest.raises(KernelLaunchError, match="shared_bytes must be >= 0, found -1"):
        check_launch("k", (1, 1, 1), (1, 1, 1), -1)


# --------------------------------------------------------------------------- no GPU

@pytest.mark.skipif(not NO_GPU, reason="a GPU is present")
def test_probe_and_device_without_a_gpu() -> None:
    reason = probe()
    assert reason == "no NVIDIA driver library (libcuda.so.1) on this machine"
    assert probe(0) is reason  # cached
    with pytest.raises(GpuUnavailableError) as info:
        gpu.device()
    assert isinstance(info.value, TensorIRError) and isinstance(info.value, RuntimeError)
    assert str(info.value) == ("no usable GPU for device='cuda:0': no NVIDIA driver library (libcuda.so.1) on this "
                               "machine; run on a machine with an NVIDIA GPU and driver, or use device='cpu' "
                               "(or 'auto' to fall back)")
    assert np.add(np.arange(3), 1).tolist() == [1, 2, 3]  # the process goes on


def test_probe_rejects_bad_ordinals() -> None:
    assert probe(-1) == "the device ordinal must be an int >= 0, found -1"
    assert probe("0") == "the device ordinal must be an int >= 0, found '0'"  # type: ignore[arg-type]
    with pytest.raises(GpuUnavailableError, match=r"device='cuda:-1': the device ordinal must be an int >= 0"):
        gpu.device(-1)


def test_import_twice_and_fail_in_a_fresh_process() -> None:
    script = textwrap.dedent("""
        import importlib, numpy as np
        import tensorir.runtime.gpu as g
        g = importlib.reload(g)
        import tensorir.runtime.gpu
        reason = g.probe()
        if reason is not None:
            try:
                g.device()
            except g.GpuUnavailableError as e:
                assert "device='cpu'" in str(e) and reason in str(e)
        print("ok", float(np.sum(np.ones(4))))
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    assert run.stdout == "ok 4.0\n"


# --------------------------------------------------------------------------- the device logic, on a fake driver

class FakeDriver:
    """The parts of ``cuda.bindings.driver`` that runtime/gpu.py calls, with
    "device memory" on the host (a device pointer is a host address), kernels
    as Python functions reading cuLaunchKernel's ``kernelParams``, handles of
    the binding's own types, and cuGetErrorName failing as it does without
    libcuda."""

    CUresult, CUjit_option, CUdevice_attribute = R, driver.CUjit_option, driver.CUdevice_attribute
    CUmemPool_attribute, cuuint64_t = driver.CUmemPool_attribute, driver.cuuint64_t
    OK = (R.CUDA_SUCCESS,)

    def __init__(self, count: int = 1, total: int = 1 << 20, pools: bool = True):
        self.count, self.total, self.pools, self.version = count, total, pools, 13000
        self.memory: dict[int, ctypes.Array] = {}
        self.sticky: R | None = None
        self.launches: list[tuple] = []
        self.current_set_by: list[int] = []
        self.handles: list = []  # a module's or function's handle is its index here + 1
        self.kernels = {"add_one": self._add_one, "read_bad": self._read_bad}

    def _add_one(self, params: int) -> None:
        ptr = ctypes.c_uint64.from_address(ctypes.c_void_p.from_address(params).value).value
        n = ctypes.c_int64.from_address(ctypes.c_void_p.from_address(params + 8).value).value
        x = (ctypes.c_float * n).from_address(ptr)
        for i in range(n):
            x[i] += 1

    def _read_bad(self, params: int) -> None:
        self.sticky = R.CUDA_ERROR_ILLEGAL_ADDRESS

    def cuGetErrorName(self, code):
        raise RuntimeError("no libcuda")

    cuGetErrorString = cuGetErrorName
    cuInit = lambda self, flags: self.OK  # noqa: E731
    cuDriverGetVersion = lambda self: (R.CUDA_SUCCESS, self.version)  # noqa: E731
    cuDeviceGetCount = lambda self: (R.CUDA_SUCCESS, self.count)  # noqa: E731
    cuDeviceGet = lambda self, ordinal: (R.CUDA_SUCCESS, driver.CUdevice(ordinal))  # noqa: E731
    cuDeviceGetName = lambda self, n, dev: (R.CUDA_SUCCESS, b"Fake GPU\0\0\0")  # noqa: E731
    cuDeviceTotalMem = lambda self, dev: (R.CUDA_SUCCESS, self.total)  # noqa: E731
    cuDevicePrimaryCtxRetain = lambda self, dev: (R.CUDA_SUCCESS, driver.CUcontext(0x1000))  # noqa: E731

    def cuCtxSetCurrent(self, ctx):
        self.current_set_by.append(threading.get_ident())
        return self.OK

    cuStreamCreate = lambda self, flags: (R.CUDA_SUCCESS, driver.CUstream(0x2000))  # noqa: E731
    cuDeviceGetDefaultMemPool = lambda self, dev: (R.CUDA_SUCCESS, driver.CUmemoryPool(0x3000))  # noqa: E731
    cuMemPoolSetAttribute = lambda self, pool, attr, value: self.OK  # noqa: E731
    cuMemPoolTrimTo = lambda self, pool, keep: self.OK  # noqa: E731
    cuModuleUnload = lambda self, module: self.OK  # noqa: E731

    def cuDeviceGetAttribute(self, attr, dev):
        a = driver.CUdevice_attribute
        return R.CUDA_SUCCESS, {a.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: 9,
                                a.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: 0,
                                a.CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE: 2_619_000,  # kHz, an H100 SXM's HBM3
                                a.CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH: 5120,
                                a.CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED: int(self.pools)}[attr]

    def used(self) -> int:
        return sum(ctypes.sizeof(b) for b in self.memory.values())

    def cuMemGetInfo(self):
        return R.CUDA_SUCCESS, self.total - self.used(), self.total

    def cuMemAllocAsync(self, nbytes, stream):
        assert int(stream) == 0x2000 and nbytes > 0
        if self.used() + nbytes > self.total:
            return R.CUDA_ERROR_OUT_OF_MEMORY, None
        buf = (ctypes.c_char * nbytes)()
        self.memory[ctypes.addressof(buf)] = buf
        return R.CUDA_SUCCESS, driver.CUdeviceptr(ctypes.addressof(buf))

    def cuMemAlloc(self, nbytes):
        return self.cuMemAllocAsync(nbytes, driver.CUstream(0x2000))

    def cuMemFreeAsync(self, ptr, stream=None):
        del self.memory[ptr]
        return self.OK

    cuMemFree = cuMemFreeAsync

    def _in_memory(self, ptr: int, nbytes: int) -> bool:
        return any(a <= ptr and ptr + nbytes <= a + ctypes.sizeof(b) for a, b in self.memory.items())

    def cuMemcpyHtoDAsync(self, dst, src, nbytes, stream):
        assert self._in_memory(dst, nbytes) and int(stream) == 0x2000
        ctypes.memmove(dst, src, nbytes)
        return self.OK

    def cuMemcpyDtoHAsync(self, dst, src, nbytes, stream):
        assert self._in_memory(src, nbytes) and int(stream) == 0x2000
        ctypes.memmove(dst, src, nbytes)
        return self.OK

    def cuStreamSynchronize(self, stream):
        return (self.sticky,) if self.sticky else self.OK

    def cuModuleLoadDataEx(self, image, count, options, values):
        assert image.endswith(b"\0") and count == len(options) == len(values) == 2
        assert options[0] == driver.CUjit_option.CU_JIT_ERROR_LOG_BUFFER and values[1] == len(values[0])
        if b"bogus" in image:
            values[0][:40] = b"ptxas application ptx input, line 2; e\0"
            return R.CUDA_ERROR_INVALID_PTX, None
        self.handles.append(image)
        return R.CUDA_SUCCESS, driver.CUmodule(len(self.handles))

    def cuModuleGetFunction(self, module, name):
        if b".entry " + name not in self.handles[int(module) - 1]:
            return R.CUDA_ERROR_NOT_FOUND, None
        self.handles.append(name.decode())
        return R.CUDA_SUCCESS, driver.CUfunction(len(self.handles))

    def cuLaunchKernel(self, f, gx, gy, gz, bx, by, bz, shared, stream, params, extra):
        assert isinstance(params, int) and extra == 0 and int(stream) == 0x2000
        name = self.handles[int(f) - 1]
        self.launches.append((name, (gx, gy, gz), (bx, by, bz), shared))
        result = (self.sticky,) if self.sticky else self.OK
        self.kernels[name](params)  # a failure shows at later calls, as the launch is asynchronous
        return result


class CheckedByTheBinding:
    """A FakeDriver whose every call is first made to the real binding, which
    must accept the arguments and fail only for want of libcuda."""

    def __init__(self, fake: FakeDriver):
        self._fake = fake
        self.called: set[str] = set()

    def __getattr__(self, name: str):
        value = getattr(self._fake, name)
        if not name.startswith("cu") or isinstance(value, type) or name.startswith("cuGetError"):
            return value

        def call(*args):
            with pytest.raises(RuntimeError, match="NVIDIA driver library"):  # not a TypeError
                getattr(driver, name)(*args)
            self.called.add(name)
            return value(*args)
        return call


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):
    """runtime/gpu.py on a FakeDriver, with its caches of probes and devices emptied."""
    fake = FakeDriver()
    monkeypatch.setattr(gpu, "driver", fake)
    monkeypatch.setattr(gpu, "_PROBES", {})
    monkeypatch.setattr(gpu, "_DEVICES", {})
    monkeypatch.setattr(gpu, "_current", threading.local())
    TRANSFERS.reset()
    yield fake
    gc.collect()  # free the fake's buffers while it is still the driver
    TRANSFERS.reset()


def test_fake_device(fake: FakeDriver) -> None:
    assert probe() is None
    dev = gpu.device()
    assert gpu.device(0) is dev
    assert (dev.name, dev.compute_capability, dev.chip, dev.total_memory) == ("Fake GPU", (9, 0), "sm_90", 1 << 20)
    assert dev.peak_bandwidth == 2 * 2_619_000_000 * 5120 // 8  # 3.35 TB/s, the H100 SXM's data-sheet figure
    assert dev.memory_info() == (1 << 20, 1 << 20)
    assert repr(dev) == "<Device cuda:0 'Fake GPU' sm_90 1.00 MiB (1048576 bytes)>"
    assert probe(1) == "device 1 asked for, the machine has 1 (0..0)"
    with pytest.raises(GpuUnavailableError, match=r"^no usable GPU for device='cuda:1': device 1 asked for, the "
                                                  r"machine has 1 \(0\.\.0\); run on a machine with an NVIDIA GPU"):
        gpu.device(1)


def test_fake_no_devices(fake: FakeDriver) -> None:
    fake.count = 0
    assert probe() == "the driver reports 0 devices"


def test_fake_old_driver(fake: FakeDriver) -> None:
    fake.version = 11080
    assert probe() == ("the NVIDIA driver supports CUDA 11.8; the PTX tensorir makes (ISA 8.0) needs CUDA 12.0 or "
                       "newer: update the driver")


@pytest.mark.parametrize("pools", [True, False])
def test_fake_round_trips_and_transfer_counts(fake: FakeDriver, pools: bool) -> None:
    fake.pools = pools
    dev = gpu.device()
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3), np.linspace(0, 1, 7), np.arange(-3, 3, dtype=np.int64),
              np.array(2.5, dtype=np.float64), np.zeros((0, 4), np.float32), np.arange(12.0)[::2]]
    for a in arrays:
        d = to_device(a, dev)
        assert (d.shape, d.dtype, d.ndim, d.size, d.nbytes) == (a.shape, a.dtype, a.ndim, a.size, a.nbytes)
        back = d.numpy()
        assert back.dtype == a.dtype and back.shape == a.shape and np.array_equal(back, a)
        assert np.array_equal(np.asarray(d), a) and np.asarray(d, dtype=np.float64).dtype == np.float64
    nbytes = sum(a.nbytes for a in arrays)
    assert (TRANSFERS.to_device, TRANSFERS.to_host, TRANSFERS.bytes_to_device, TRANSFERS.bytes_to_host) == \
        (6, 18, nbytes, 3 * nbytes)
    assert repr(TRANSFERS) == f"Transfers(to_device=6, to_host=18, bytes_to_device={nbytes}, " \
                              f"bytes_to_host={3 * nbytes})"
    TRANSFERS.reset()
    assert (TRANSFERS.to_device, TRANSFERS.to_host, TRANSFERS.bytes_to_device, TRANSFERS.bytes_to_host) == (0, 0, 0, 0)
    empty = gpu.empty((0, 4), "float32", dev)
    assert empty.ptr == 0 and empty.buffer.nbytes == 0 and len(empty) == 0
    del d, empty
    gc.collect()
    assert fake.memory == {}  # every buffer freed when dropped


def test_fake_device_array_api(fake: FakeDriver) -> None:
    dev = gpu.device()
    small = to_device(np.array([1.0, 2.0, 3.0], np.float32), dev)
    assert repr(small) == "DeviceArray([1., 2., 3.], dtype=float32, device='cuda:0')"
    big = gpu.empty((3, 7), np.int32, dev)
    assert repr(big) == "DeviceArray(shape=(3, 7), dtype=int32, device='cuda:0')"
    assert len(big) == 3 and big.device is dev and big.ptr == big.buffer.ptr
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d DeviceArray"):
        len(gpu.empty((), np.float64, dev))
    big.copy_from(np.arange(21, dtype=np.int32).reshape(3, 7).T.copy().T)  # F-ordered host data
    assert big.numpy().tolist() == np.arange(21).reshape(3, 7).tolist()
    with pytest.raises(ShapeError, match=r"copy_from: expected an array of shape \(3, 7\), found shape \(7, 3\)"):
        big.copy_from(np.zeros((7, 3), np.int32))
    with pytest.raises(DTypeError, match=r"copy_from: expected dtype int32, found int64; convert it with "
                                         r"\.astype\('int32'\)"):
        big.copy_from(np.zeros((3, 7), np.int64))
    with pytest.raises(ValueError, match="without a copy"):
        np.asarray(small, copy=False)
    view = gpu.DeviceArray(big.buffer, (2,), np.int32, offset=8)  # elements 2 and 3
    assert view.ptr == big.ptr + 8 and view.numpy().tolist() == [2, 3]
    with pytest.raises(ShapeError, match=r"^a DeviceArray of shape \(21,\) and dtype int32 \(84 bytes\) at "
                                         r"byte offset 4 does not fit in a buffer of 84 bytes$"):
        gpu.DeviceArray(big.buffer, (21,), np.int32, offset=4)
    with pytest.raises(DTypeError, match="device arrays hold booleans and numbers, found dtype object"):
        to_device(np.array([None]), dev)
    write_scalar(view.ptr, 40, np.int32, dev)
    assert read_scalar(view.ptr, np.int32, dev) == 40 and type(read_scalar(big.ptr, "int32", dev)) is np.int32


def test_fake_context_is_made_current_on_each_thread(fake: FakeDriver) -> None:
    dev = gpu.device()
    x = to_device(np.arange(3.0), dev)
    assert fake.current_set_by == [threading.get_ident()]  # once per thread, not per call
    got = []
    worker = threading.Thread(target=lambda: got.append((threading.get_ident(), x.numpy().tolist())))
    worker.start()
    worker.join()
    assert got == [(fake.current_set_by[-1], [0.0, 1.0, 2.0])] and len(fake.current_set_by) == 2


def test_fake_out_of_memory(fake: FakeDriver) -> None:
    dev = gpu.device()
    held = dev.alloc(1 << 19)
    with pytest.raises(GpuOutOfMemoryError) as info:
        dev.alloc(3 << 18)
    assert str(info.value).startswith(
        "allocating 786432 bytes on cuda:0: the device has 524288 bytes free of 1.00 MiB (1048576 bytes): "
        "CUDA_ERROR_OUT_OF_MEMORY: The API call failed because it was unable to allocate enough memory")
    assert str(info.value).endswith("(use smaller batches, or drop device arrays no longer needed)")
    assert dev.alloc(1 << 18).nbytes == 1 << 18  # a later allocation works
    del held


def test_fake_modules_and_launches(fake: FakeDriver) -> None:
    dev = gpu.device()
    module = dev.load_module(PTX, "elementwise")
    assert module.entries == ["add_one", "read_bad"]
    x = to_device(np.arange(5, dtype=np.float32), dev)
    module.function("add_one").launch((1, 1, 1), (256, 1, 1), [("ptr", x.ptr), ("i64", 5)])
    assert fake.launches == [("add_one", (1, 1, 1), (256, 1, 1), 0)]
    assert x.numpy().tolist() == [1, 2, 3, 4, 5]
    with pytest.raises(GpuError, match=r"PTX module 'elementwise' has no kernel named 'add_two'; its kernels: "
                                       r"add_one, read_bad"):
        module.function("add_two")
    with pytest.raises(GpuError, match=r"loading PTX module 'broken' on cuda:0 \(sm_90\): CUDA_ERROR_INVALID_PTX"
                                       r"[^\n]*\nJIT log:\nptxas application ptx input, line 2; e$"):
        dev.load_module(".version 8.0\nbogus", "broken")
    module.function("add_one").launch((1, 1, 1), (8, 1, 1), pack_arguments([("ptr", x.ptr), ("i64", 0)]))
    module.function("read_bad").launch((1, 1, 1), (1, 1, 1), [("ptr", x.ptr)])  # fails "asynchronously"
    with pytest.raises(KernelLaunchError, match=r"^running kernel\(s\) 'add_one', 'read_bad' on cuda:0: "
                                                r"CUDA_ERROR_ILLEGAL_ADDRESS: .* restart the process\)$") as info:
        x.numpy()
    assert info.value.kernel == "add_one, read_bad"
    with pytest.raises(KernelLaunchError, match=r"^synchronizing on cuda:0: CUDA_ERROR_ILLEGAL_ADDRESS") as again:
        dev.synchronize()  # the error stays; the names were reported once
    assert again.value.kernel is None


@pytest.mark.skipif(not NO_GPU, reason="the binding would run the calls on the GPU")
def test_the_binding_accepts_every_call(fake: FakeDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    checked = CheckedByTheBinding(fake)
    monkeypatch.setattr(gpu, "driver", checked)
    dev = gpu.device()
    x = to_device(np.arange(4, dtype=np.float32), dev)
    dev.load_module(PTX, "m").function("add_one").launch((1, 1, 1), (4, 1, 1), [("ptr", x.ptr), ("i64", 4)])
    assert x.numpy().tolist() == [1, 2, 3, 4] and dev.memory_info()[1] == 1 << 20
    with pytest.raises(GpuError, match="JIT log"):
        dev.load_module("bogus", "broken")
    with pytest.raises(GpuOutOfMemoryError):
        dev.alloc(2 << 20)
    fake.pools = False
    monkeypatch.setattr(gpu, "_DEVICES", {})
    y = to_device(np.ones(3), gpu.device())
    del x, y
    gc.collect()
    assert fake.memory == {}
    wrapped = {n for n in dir(FakeDriver) if n.startswith("cu") and not n.startswith("cuGetError")} - {"cuuint64_t"}
    assert checked.called == wrapped


# --------------------------------------------------------------------------- a real GPU

def test_hand_written_ptx_assembles(tmp_path: Path) -> None:
    if shutil.which("ptxas") is None:
        pytest.skip("needs CUDA's ptxas on PATH")
    (tmp_path / "k.ptx").write_text(PTX)
    run = subprocess.run(["ptxas", "-arch=sm_90", "-o", str(tmp_path / "k.cubin"), str(tmp_path / "k.ptx")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "k.cubin").stat().st_size > 0


@pytest.mark.gpu
@pytest.mark.skipif(NO_GPU, reason=f"needs an NVIDIA GPU: {probe()}")
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize("shape", [(), (0,), (3, 0), (7,), (33, 65)])
def test_gpu_round_trip(dtype: str, shape: tuple) -> None:
    host = (np.arange(int(np.prod(shape))) * 3 - 5).astype(dtype).reshape(shape)
    TRANSFERS.reset()
    d = to_device(host, gpu.device())
    back = d.numpy()
    assert back.dtype == host.dtype and back.shape == host.shape and np.array_equal(back, host)
    assert (TRANSFERS.to_device, TRANSFERS.to_host) == (1, 1)
    assert TRANSFERS.bytes_to_device == TRANSFERS.bytes_to_host == host.nbytes


@pytest.mark.gpu
@pytest.mark.skipif(NO_GPU, reason=f"needs an NVIDIA GPU: {probe()}")
def test_gpu_out_of_memory_then_alloc() -> None:
    dev = gpu.device()
    with pytest.raises(GpuOutOfMemoryError, match=r"allocating .* on cuda:0: the device has .* free of .*"
                                                  r"CUDA_ERROR_OUT_OF_MEMORY.*smaller batches"):
        dev.alloc(2 * dev.total_memory)
    buf = dev.alloc(1 << 20)
    assert buf.ptr != 0 and buf.nbytes == 1 << 20
    free, total = dev.memory_info()
    assert 0 < free <= total == dev.total_memory


@pytest.mark.gpu
@pytest.mark.skipif(NO_GPU, reason=f"needs an NVIDIA GPU: {probe()}")
def test_gpu_launch_hand_written_kernel() -> None:
    dev = gpu.device()
    if dev.compute_capability < (9, 0):
        pytest.skip(f"the PTX targets sm_90, the GPU is {dev.chip}")
    module = dev.load_module(PTX, "hand_written")
    n = 1000
    x = to_device(np.arange(n, dtype=np.float32), dev)
    module.function("add_one").launch((-(-n // 256), 1, 1), (256, 1, 1), [("ptr", x.ptr), ("i64", n)])
    module.function("add_one").launch((-(-n // 256), 1, 1), (256, 1, 1), [("ptr", x.ptr), ("i64", 10)])
    expected = np.arange(n, dtype=np.float32) + 1
    expected[:10] += 1
    assert np.array_equal(x.numpy(), expected)
    with pytest.raises(GpuError, match="no kernel named 'add_two'"):
        module.function("add_two")


@pytest.mark.gpu
@pytest.mark.skipif(NO_GPU, reason=f"needs an NVIDIA GPU: {probe()}")
def test_gpu_invalid_ptx_names_the_module() -> None:
    with pytest.raises(GpuError, match=r"loading PTX module 'broken_module'.*CUDA_ERROR_INVALID_PTX") as info:
        gpu.device().load_module(PTX.replace("add.f32", "add.f99"), "broken_module")
    assert "JIT log" in str(info.value)


@pytest.mark.gpu
@pytest.mark.skipif(NO_GPU, reason=f"needs an NVIDIA GPU: {probe()}")
def test_gpu_illegal_address_is_reported_at_synchronize() -> None:
    """In a process of its own: an illegal address leaves the CUDA context unusable."""
    script = textwrap.dedent(f"""
        import numpy as np
        from tensorir.runtime import gpu
        from tensorir.errors import KernelLaunchError
        dev = gpu.device()
        out = gpu.to_device(np.zeros(1, np.float32), dev)
        dev.load_module({PTX!r}, "bad").function("read_bad").launch((1, 1, 1), (1, 1, 1), [("ptr", out.ptr)])
        try:
            dev.synchronize()
        except KernelLaunchError as e:
            print("raised", e.kernel, "|", e)
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("raised read_bad | running kernel(s) 'read_bad' on cuda:0: "), run.stdout
    assert "CUDA_ERROR_ILLEGAL_ADDRESS" in run.stdout or "CUDA_ERROR_LAUNCH_FAILED" in run.stdout
