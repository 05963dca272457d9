"""Where compiled code runs: the CPU, or an NVIDIA GPU through cuda-python.

``ti.config.device`` (or ``TENSORIR_FLAGS=device=cuda``, or a function's
own ``device=``) is one of:

* ``"cpu"`` (the default);
* ``"cuda"`` or ``"cuda:N"``: GPU ``N`` (0 by default). Where no usable GPU
  is, compiling raises :class:`GpuUnavailableError` saying why;
* ``"auto"``: the GPU when one is usable, else the CPU, with a warning
  (given once per process).

A GPU function (:func:`compile_gpu`) runs the GPU pipeline of
``lowering/gpu.py``: its kernels are PTX for the device's compute
capability, loaded once, and its host code a Python launcher
(``lowering/gpu_host.py``). Arguments may be NumPy arrays (copied to the
device for the call) or :class:`DeviceArray` values (used in place);
results come back as NumPy arrays, or stay on the device as DeviceArrays
with ``keep_on_device``. Shared variables that a GPU function reads live
on the device from its first call on, and its updates are written there
in place: a training loop copies nothing but its inputs and results.
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .errors import ArgumentError, CompileError, GpuUnavailableError

__all__ = ["Placement", "resolve", "is_device_array", "to_device", "gpu_info", "synchronize", "GPU_STAGES", "lower_for", "check_name", "GpuLowered", "lower_gpu", "compile_gpu", "GpuExecutable"]

_warned_auto = False


def is_device_array(value: Any) -> bool:
    """Whether ``value`` is a :class:`DeviceArray` (without importing the GPU
    runtime: there is none before the runtime has been imported)."""
    runtime = sys.modules.get("tensorir.runtime.gpu")
    return runtime is not None and isinstance(value, runtime.DeviceArray)


def _user_level() -> int:
    """The ``stacklevel`` of a warning given here that points at the user's code."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("tensorir"):
        frame, level = frame.f_back, level + 1
    return level


@dataclass(frozen=True)
class Placement:
    """A resolved device: ``kind`` ``"cpu"`` or ``"cuda"``, and the GPU's ordinal."""

    kind: str
    ordinal: int = 0

    def __str__(self) -> str:
        return "cpu" if self.kind == "cpu" else f"cuda:{self.ordinal}"


def check_name(value: Any, what: str = "device") -> str:
    """``value`` if it names a device (cpu, cuda, cuda:N, auto), else ArgumentError."""
    text = str(value).strip().lower() if isinstance(value, str) else None
    if text in ("cpu", "cuda", "auto") or (text and text.startswith("cuda:") and text[5:].isdigit()):
        return text
    raise ArgumentError(
        f"{what} must be 'cpu', 'cuda', 'cuda:N' (a GPU's number) or 'auto', found {value!r} "
        "(e.g. TENSORIR_FLAGS=device=cuda)"
    )


def resolve(device: str | None = None) -> Placement:
    """The placement ``device`` (``ti.config.device`` when None) asks for;
    raises GpuUnavailableError for a GPU that cannot be used, except under
    ``"auto"``, which falls back to the CPU with a warning."""
    global _warned_auto
    if device is None:
        from .config import config

        device = config.device
    name = check_name(device)
    if name == "cpu":
        return Placement("cpu")
    from .runtime import gpu

    ordinal = int(name[5:]) if name.startswith("cuda:") else 0
    reason = gpu.probe(ordinal)
    if reason is None:
        return Placement("cuda", ordinal)
    if name == "auto":
        if not _warned_auto:
            warnings.warn(f"device='auto': no usable GPU ({reason}); running on the CPU", RuntimeWarning,
                          stacklevel=_user_level())
            _warned_auto = True
        return Placement("cpu")
    raise GpuUnavailableError(
        f"device={name!r} asks for a GPU, but {reason}; run on a machine with an NVIDIA GPU and driver, "
        "or use device='cpu' (or 'auto' to fall back to the CPU)"
    )


def to_device(value: Any, device: str = "cuda") -> Any:
    """``value`` (an array or anything ``np.asarray`` takes) copied into the
    memory of GPU ``device`` (``"cuda"``, ``"cuda:N"``), as a DeviceArray that
    GPU functions take without a copy. ``np.asarray(d)`` or ``d.numpy()``
    copies it back."""
    placement = resolve(device)
    if placement.kind != "cuda":
        raise ArgumentError(f"to_device() copies to a GPU; device={device!r} is the CPU, where arrays stay NumPy arrays")
    from .runtime import gpu

    return gpu.to_device(np.asarray(value), gpu.device(placement.ordinal))


def gpu_info(device: str = "cuda") -> dict[str, Any]:
    """What GPU ``device`` is: ``name``, ``compute_capability``, ``chip`` (the
    PTX target), ``total_memory`` (bytes) and ``peak_bandwidth`` (bytes/s);
    GpuUnavailableError where there is none."""
    placement = resolve(device)
    if placement.kind != "cuda":
        raise ArgumentError(f"gpu_info() describes a GPU; device={device!r} is the CPU")
    from .runtime import gpu

    dev = gpu.device(placement.ordinal)
    return {"name": dev.name, "compute_capability": dev.compute_capability, "chip": dev.chip,
            "total_memory": dev.total_memory, "peak_bandwidth": dev.peak_bandwidth}


def synchronize(device: str = "cuda") -> None:
    """Wait until the work queued on GPU ``device`` has finished (calls of
    functions with ``keep_on_device=True`` return before their kernels end);
    a kernel that failed meanwhile raises KernelLaunchError."""
    placement = resolve(device)
    if placement.kind == "cuda":
        from .runtime import gpu

        gpu.device(placement.ordinal).synchronize()


@dataclass
class GpuLowered:
    """The GPU compilation of one traced signature, before any device is touched:
    the launcher, the PTX of each kernel module, the run-time index checks."""

    program: Any  # lowering.gpu_host.HostProgram
    ptx: dict[str, str]
    checks: list
    chip: str
    timings: dict[str, float]
    texts: dict[str, str]


def lower_gpu(traced: Any, pipeline: str = "fast_run", chip: str = "sm_90", keep: bool = False) -> GpuLowered:
    """Emit ``traced``, run the tir passes and the GPU pipeline for ``chip``:
    no GPU needed (PTX comes from the wheels' NVPTX target). ``keep`` keeps
    the IR of each stage in ``texts``."""
    from .compiler import _emit, _entry_name, _find_entry, _print
    from .config import config
    from .dialects._bindings import ir
    from .lowering import cpu, gpu
    from .lowering.checks import check_table
    from .lowering.gpu_host import host_program
    from .passes import pipeline_steps

    timings: dict[str, float] = {}
    texts: dict[str, str] = {}
    entry = _entry_name(traced.name)
    ctx, module = _emit(traced, timings)
    with ctx, ir.Location.unknown():
        def stage(name: str, fn: Callable[[Any], None]) -> None:
            t0 = time.perf_counter()
            fn(module)
            timings[name] = time.perf_counter() - t0
            if keep:
                texts[name] = _print(module)

        if keep:
            texts["tir"] = _print(module)
        stage("tir-opt", lambda m: cpu.run_pipeline(m, pipeline_steps(pipeline), "the tir passes"))
        stage("linalg", cpu.lower_tir_to_linalg)
        checks = check_table(_find_entry(module, entry))
        stage("gpu", lambda m: gpu.to_gpu_kernels(m, reuse=config.inplace))
        stage("ptx", lambda m: cpu.run_pipeline(m, [gpu.device_steps(chip)], "compiling the GPU kernels to PTX"))
        t0 = time.perf_counter()
        program = host_program(module, entry)
        ptx = gpu.kernels_of(module)
        timings["host"] = time.perf_counter() - t0
        if keep:
            texts["host"] = program.source
            texts["ptx"] = gpu.ptx_of(module) if ptx else ""
    return GpuLowered(program, ptx, checks, chip, timings, texts)


GPU_STAGES = ("tir", "tir-opt", "linalg", "gpu", "ptx", "host")
"""The stages of a GPU function's ``lower().as_text(stage)``: the traced and
optimised tir, linalg, the host functions with their kernels, the kernels'
PTX, and the Python source of the launcher."""


def lower_for(traced: Any, pipeline: str, device: str | None) -> Any:
    """``f.lower()``: the IR of every stage as ``device`` (``ti.config.device``
    when None) compiles ``traced``: ``compiler.lower`` on the CPU, the GPU
    stages (:data:`GPU_STAGES`) for the device's chip on a GPU."""
    from .compiler import Lowered, lower

    placement = resolve(device)
    if placement.kind == "cpu":
        return lower(traced, pipeline)
    from .runtime import gpu

    low = lower_gpu(traced, pipeline, gpu.device(placement.ordinal).chip, keep=True)
    return Lowered({k: low.texts[k] for k in GPU_STAGES}, low.timings)


class GpuExecutable:
    """A GPU function for one signature: the interface of ``compiler.Executable``.

    ``run(arrays)`` takes NumPy arrays or DeviceArrays (inputs, then shared
    values), copies the NumPy ones to the device, runs the launcher and
    returns the outputs as NumPy arrays, or as DeviceArrays when
    ``keep_on_device``. Updated arguments must be DeviceArrays (the
    function's shared values are), written in place.
    """

    def __init__(self, traced: Any, lowered: GpuLowered, placement: Placement, keep_on_device: bool):
        from .compiler import _make_runner, _no_fast_entry
        from .lowering.gpu_host import bind
        from .runtime import gpu

        t0 = time.perf_counter()
        dev = gpu.device(placement.ordinal)
        self.device = dev
        self.placement = placement
        self.lowered = lowered
        self.keep_on_device = keep_on_device
        self.out_tree = traced.out_tree
        self.arg_names = [s.name for s in traced.specs]
        self.checks = list(lowered.checks)
        modules = {name: dev.load_module(text, name) for name, text in lowered.ptx.items()}
        launcher = bind(lowered.program, lambda module, function: modules[module].function(function),
                        dev.alloc, lambda value: gpu.to_device(value, dev),
                        lambda ptr, dtype: gpu.read_scalar(ptr, np.dtype(dtype), dev))
        if self.checks:  # the glue's status array (NumPy) goes to the device and back

            def kernel(*arrays: Any) -> None:
                *arrays, status = arrays
                on_device = gpu.to_device(status, dev)
                launcher(*arrays, on_device)
                status[...] = on_device.numpy()
        else:
            kernel = launcher

        def device_empty(shape: tuple, dtype: Any) -> Any:
            return gpu.empty(tuple(shape), np.dtype(dtype), dev)

        allocate = {"empty": device_empty, "pooled": device_empty, "fresh": device_empty}
        self.run_device, self.entry, self.returned = _make_runner(traced, kernel, False, self.checks, allocate)
        self.call = _no_fast_entry  # jit calls take JitFunction's general path, which converts arguments
        self.updated = sorted(set(traced.updates.values()))
        self.timings = dict(lowered.timings)
        self.timings["load"] = time.perf_counter() - t0
        self.cache = "off"
        self._gpu = gpu

    def to_device_args(self, arrays: Sequence[Any]) -> list[Any]:
        """``arrays`` as DeviceArrays (NumPy ones copied; updated ones must already be on the device)."""
        gpu = self._gpu
        out = []
        for i, a in enumerate(arrays):
            if isinstance(a, gpu.DeviceArray):
                out.append(a)
            elif i in self.updated:
                raise CompileError(f"internal: the updated argument {self.arg_names[i]!r} is not on the device")
            else:
                out.append(gpu.to_device(np.asarray(a), self.device))
        return out

    def run(self, arrays: Sequence[Any]) -> list[Any]:
        outs = self.run_device(self.to_device_args(arrays))
        if self.keep_on_device:
            return outs
        return [o.numpy() for o in outs]


def compile_gpu(
    traced: Any, placement: Placement, pipeline: str = "fast_run", check_finite: bool = False,
    keep_on_device: bool = False,
) -> GpuExecutable:
    """A GPU function for ``traced`` on ``placement`` (a resolved ``cuda`` placement)."""
    from .runtime import gpu

    if check_finite:
        raise ArgumentError("check_finite=True is not supported on the GPU yet; use device='cpu' to check inputs")
    dev = gpu.device(placement.ordinal)
    t0 = time.perf_counter()
    lowered = lower_gpu(traced, pipeline, dev.chip)
    exe = GpuExecutable(traced, lowered, placement, keep_on_device)
    exe.timings["total"] = time.perf_counter() - t0
    return exe
