"""The GPU back end, compile side, on every machine (no GPU needed).

For programs covering every family of ops (elementwise and fused chains,
reductions, matmuls, shape ops, the softmax family, scan, dynamic slices,
an MLP's gradients), ``device.lower_gpu`` must give:

* PTX that CUDA's assembler accepts for sm_90, kernel by kernel;
* a launcher whose argument slots for each launch are exactly the kernel's
  ``.param`` list in the PTX (count and widths: the ABI of GPU-NOTES);
* a launcher that runs: executed on real shapes against recording
  kernels, every launch gets a grid covering its iteration space and
  buffers of the right sizes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import tensorir as ti
from tensorir.device import lower_gpu
from tensorir.frontend.trace import trace
from tensorir.lowering.gpu_host import HELPERS, bind

f32 = np.float32


def _traced(fn: Callable[..., Any], *args: Any) -> Any:
    jf = ti.jit(fn)
    dynamic, static = jf._split(args, {})
    _, _, specs, in_tree = jf._specs(dynamic, static)
    return trace(jf.fun, jf.__name__, in_tree, specs, static)


def _rng(*shape: int, dtype: Any = f32) -> np.ndarray:
    return np.random.default_rng(0).standard_normal(shape).astype(dtype)


def _mlp_grads(w1, b1, w2, x, y):
    def loss(w1, b1, w2):
        h = ti.nn.relu(x @ w1 + b1)
        return ti.nnet.categorical_crossentropy(ti.nnet.softmax(h @ w2), y).mean()

    return ti.grad(loss, argnums=(0, 1, 2))(w1, b1, w2)


def _rnn(w, u, xs, h0):
    def step(x_t, h):
        return ti.tanh(h @ w + x_t @ u)

    hs, _ = ti.scan(step, sequences=xs, outputs_info=h0)
    return hs[-1].sum()


PROGRAMS: dict[str, tuple[Callable[..., Any], tuple]] = {
    "fused": (lambda a, b: ti.exp(a + b) * b - ti.tanh(a), (_rng(33, 70), _rng(33, 70))),
    "broadcast": (lambda a, b: ti.sigmoid(a * b) + ti.log1p(ti.abs(b)), (_rng(5, 1, 7), _rng(4, 7))),
    "math": (lambda a: ti.erf(a) + ti.expm1(a) + ti.softplus(a) + ti.sqrt(ti.abs(a)) + ti.sin(a), (_rng(100),)),
    "compare": (lambda a, b: ti.where(a > b, a, b * 2), (_rng(9, 9), _rng(9, 9))),
    "ints": (lambda i, j: (i * 3 + j) // 2 - i % 5, (np.arange(12, dtype=np.int64), np.arange(12, dtype=np.int64))),
    "cast": (lambda a: (a > 0).astype("float32") + a.astype("int32").astype("float32"), (_rng(17),)),
    "row_sum": (lambda a: a.sum(axis=1), (_rng(40, 30),)),
    "col_max": (lambda a: a.max(axis=0, keepdims=True), (_rng(40, 30),)),
    "full_sum": (lambda a: ti.sum(a * a), (_rng(1000),)),
    "mean_std": (lambda a: (a.mean(), ti.sqrt(((a - a.mean(axis=0)) ** 2).mean(axis=0))), (_rng(20, 6),)),
    "argmax": (lambda a: ti.argmax(a, axis=1), (_rng(8, 5),)),
    "matmul": (lambda a, b: a @ b, (_rng(31, 17), _rng(17, 9))),
    "matvec": (lambda a, v: a @ v, (_rng(31, 17), _rng(17))),
    "batched": (lambda a, b: ti.matmul(a, b), (_rng(4, 8, 8), _rng(4, 8, 8))),
    "float64": (lambda a, b: ti.log(ti.exp(a) + b * b) @ b.T, (_rng(6, 6, dtype=np.float64), _rng(6, 6, dtype=np.float64))),
    "transpose": (lambda a: a.T * 2 + 1, (_rng(7, 9),)),
    "reshape": (lambda a: ti.reshape(a, (a.shape[0] * a.shape[1],)) + 1, (_rng(6, 4),)),
    "concatenate": (lambda a, b: ti.concatenate([a, b * 2], axis=0), (_rng(3, 5), _rng(4, 5))),
    "slice": (lambda a: a[1:-1, ::2] * 3, (_rng(9, 8),)),
    "softmax": (lambda a: (ti.nnet.softmax(a), ti.nnet.log_softmax(a)), (_rng(16, 10),)),
    "logsumexp": (lambda a: ti.logsumexp(a, axis=1), (_rng(16, 10),)),
    "dynamic_slice": (lambda a, i: a[i] * 2, (_rng(6, 4), np.int64(2))),
    "mlp_grads": (_mlp_grads, (_rng(20, 16), _rng(16), _rng(16, 10), _rng(8, 20),
                               np.eye(10, dtype=f32)[np.arange(8) % 10])),
    "rnn": (_rnn, (_rng(12, 12) * 0.1, _rng(6, 12) * 0.1, _rng(5, 3, 6), np.zeros((3, 12), f32))),
}


@pytest.fixture(scope="module", params=sorted(PROGRAMS))
def lowered(request: pytest.FixtureRequest) -> tuple[str, Any, tuple]:
    fn, args = PROGRAMS[request.param]
    traced = _traced(fn, *args)
    return request.param, lower_gpu(traced), args


_PARAMS = re.compile(r"\.visible \.entry (\w+)\((.*?)\)", re.S)
_WIDTH = {"ptr": "b64", "i64": "b64", "f64": "b64", "i32": "b32", "f32": "b32", "i8": "b8"}


def _ptx_params(ptx: str) -> dict[str, list[str]]:
    """The ``.param`` types of each ``.entry`` of a PTX module, by entry name."""
    found = {m.group(1): re.findall(r"\.param \.(\w+)", m.group(2)) for m in _PARAMS.finditer(ptx)}
    assert found, ptx[:400]
    return found


def test_launch_slots_are_the_kernel_params(lowered: tuple[str, Any, tuple]) -> None:
    name, low, _ = lowered
    program = low.program
    assert program.kernels, name
    assert len(low.ptx) == 1  # all kernels in one module
    entries = _ptx_params(next(iter(low.ptx.values())))
    assert sorted(entries) == sorted(function for _, function in program.kernels)
    for k, types in enumerate(program.slots):
        # slot lists are per launch; find the launch's kernel in the source
        line = next(l for l in program.source.splitlines() if f"T{k}," in l)
        kernel = int(re.search(r"K(\d+)\.launch", line).group(1))
        params = entries[program.kernels[kernel][1]]
        assert len(params) == len(types), (name, k, params, types)
        for kind, slot in zip(params, types):
            width = {"u64": "b64", "s64": "b64", "f64": "b64", "u32": "b32", "s32": "b32", "f32": "b32",
                     "b64": "b64", "b32": "b32", "u8": "b8", "s8": "b8", "b8": "b8"}[kind]
            assert width == _WIDTH[slot], (name, k, params, types)


@pytest.mark.skipif(shutil.which("ptxas") is None, reason="needs CUDA's ptxas on PATH")
def test_every_kernel_assembles_for_sm_90(lowered: tuple[str, Any, tuple], tmp_path: Path) -> None:
    name, low, _ = lowered
    for module, text in low.ptx.items():
        assert ".target sm_90" in text
        src = tmp_path / f"{module}.ptx"
        src.write_text(text)
        done = subprocess.run(["ptxas", "-arch=sm_90", "-o", str(tmp_path / f"{module}.cubin"), str(src)],
                              capture_output=True, text=True)
        assert done.returncode == 0, f"{name}: kernel {module}: {done.stderr}"


class _Recorder:
    """Kernels and buffers that record what the launcher asks of them."""

    def __init__(self) -> None:
        self.launches: list[tuple[str, tuple, tuple, list]] = []
        self.buffers: list[int] = []
        self.next_ptr = 1 << 20

    def kernel(self, name: str) -> Any:
        rec = self

        class K:
            def launch(self, grid: tuple, block: tuple, slots: list) -> None:
                rec.launches.append((name, grid, block, slots))

        return K()

    def alloc(self, nbytes: int) -> Any:
        rec = self

        class B:
            ptr = rec.next_ptr

        self.buffers.append(nbytes)
        self.next_ptr += (nbytes + 255) // 256 * 256 + 256
        return B()


class _FakeArray:
    def __init__(self, shape: tuple, ptr: int):
        self.shape = tuple(shape)
        self.ptr = ptr


def _dry_run(low: Any, traced_shapes: list[tuple]) -> _Recorder:
    """Run the launcher (bound as the GPU runtime binds it) against recording kernels and buffers."""
    rec = _Recorder()
    entry = bind(low.program, lambda module, function: rec.kernel(module), rec.alloc,
                 lambda value: _FakeArray(value.shape, 1 << 40), lambda ptr, dtype: 0)
    entry(*[_FakeArray(s, (1 << 32) + (i << 24)) for i, s in enumerate(traced_shapes)])
    return rec


def test_launcher_runs_and_covers_each_iteration_space(lowered: tuple[str, Any, tuple]) -> None:
    name, low, args = lowered
    fn, _ = PROGRAMS[name]
    outs = fn(*args) if name not in ("mlp_grads", "rnn") else None
    # the shapes of the entry's arguments: inputs, then out-params (from a CPU run)
    cpu = ti.jit(fn)(*args)
    results = [np.asarray(o) for o in (cpu if isinstance(cpu, (tuple, list)) else [cpu])]
    shapes = [np.shape(a) for a in args] + [r.shape for r in results]
    if low.checks:
        shapes.append((3,))
    rec = _dry_run(low, shapes)
    assert rec.launches, name
    for module, grid, block, slots in rec.launches:
        assert all(isinstance(g, int) and g >= 1 for g in grid + block), (module, grid, block)
        assert block[0] * block[1] * block[2] <= 1024
        assert all(isinstance(v, (int, float)) for _, v in slots), (module, slots)
    del outs


def test_slot_types_cover_the_abi() -> None:
    from tensorir.dialects import new_context
    from tensorir.dialects._bindings import ir
    from tensorir.lowering.gpu_host import slot_types

    with new_context(), ir.Location.unknown():
        assert slot_types(ir.MemRefType.get([-(2**63), 4], ir.F32Type.get())) == ("ptr", "ptr", "i64", "i64", "i64", "i64", "i64")
        assert slot_types(ir.MemRefType.get([], ir.F64Type.get())) == ("ptr", "ptr", "i64")
        assert slot_types(ir.IndexType.get()) == ("i64",)
        assert slot_types(ir.F32Type.get()) == ("f32",)
        with pytest.raises(ti.CompileError, match="cannot pass a bf16 to a kernel"):
            slot_types(ir.BF16Type.get())


def test_launcher_helpers_follow_memref_semantics() -> None:
    subview, expand, collapse = HELPERS["subview"], HELPERS["expand"], HELPERS["collapse"]
    base = ("buf", 4096, 0, (5, 6, 7), (42, 7, 1))
    # row t of a scan's stack: subview [t, 0, 0][1, 6, 7][1, 1, 1], rank-reduced
    assert subview(base, (3, 0, 0), (1, 6, 7), (1, 1, 1), (0,)) == ("buf", 4096, 126, (6, 7), (7, 1))
    assert subview(base, (1, 2, 0), (2, 2, 7), (1, 2, 1), ()) == ("buf", 4096, 56, (2, 2, 7), (42, 14, 1))
    assert expand(("b", 0, 3, (6, 7), (7, 1)), [[0, 1], [2]], (2, 3, 7)) == ("b", 0, 3, (2, 3, 7), (21, 7, 1))
    assert collapse(base, [[0, 1], [2]]) == ("buf", 4096, 0, (30, 7), (7, 1))
    divs, rems, ceildivs = HELPERS["divs"], HELPERS["rems"], HELPERS["ceildivs"]
    assert (divs(-7, 2), rems(-7, 2), ceildivs(7, 2), ceildivs(-7, 2), ceildivs(0, 256)) == (-3, -1, 4, -3, 0)


def _table_programs() -> list[tuple[Any, list[np.ndarray]]]:
    """The deterministic programs of test_soundness (one per variant of every
    node kind, each ending in that node; a third of them differentiated),
    which together use every op of the op table but scan and the dynamic
    slices (in PROGRAMS above): (traceable function, arguments)."""
    from soundness_programs import build, gradient_of
    from test_soundness import forced_nodes, forced_program, inputs_for

    found = []
    for k, (kind, name) in enumerate(forced_nodes()):
        program = forced_program(k, kind, name)
        args, shapes = inputs_for(program, False)
        found.append((build(program, shapes), args))
        if k % 3 == 0 and program.dtype == "float64":
            found.append((gradient_of(program, shapes), args))
    return found


PARTS = 4


@pytest.mark.skipif(shutil.which("ptxas") is None, reason="needs CUDA's ptxas on PATH")
@pytest.mark.parametrize("part", range(PARTS))
def test_every_op_of_the_table_lowers_to_ptx(part: int, tmp_path: Path) -> None:
    """Each program of :func:`_table_programs` lowers for the GPU and its
    kernels (one PTX module) assemble with ptxas."""
    programs = _table_programs()[part::PARTS]
    for k, (fun, args) in enumerate(programs):
        low = lower_gpu(_traced(fun, *args))
        (text,) = low.ptx.values()
        (tmp_path / f"k{k}.ptx").write_text(text)
    ptx = sorted(tmp_path.glob("*.ptx"))
    procs = [subprocess.Popen(["ptxas", "-arch=sm_90", "-o", str(p.with_suffix(".cubin")), str(p)],
                              stderr=subprocess.PIPE, text=True) for p in ptx]
    for p, proc in zip(ptx, procs):
        _, err = proc.communicate()
        assert proc.returncode == 0, f"{p.name}: {err}"
    assert len(ptx) == len(programs) > 30


def test_the_table_programs_use_every_op() -> None:
    from test_soundness import NOT_GENERATED

    from tensorir.compiler import _emit, _print
    from tensorir.dialects import OPS

    ops: set[str] = set()
    for fun, args in _table_programs():
        ctx, module = _emit(_traced(fun, *args), {})
        with ctx:
            ops |= set(re.findall(r'"tir\.(\w+)"', _print(module)))
    assert sorted(set(OPS) - ops - NOT_GENERATED) == []
    assert {"scan", "dynamic_slice"} <= NOT_GENERATED  # in PROGRAMS instead


@pytest.mark.parametrize("fn, shape", [
    (lambda a: ti.sum(a * a), (1000,)),
    (lambda a: ti.max(ti.exp(a)), (300, 40)),  # over two dims: split along the outer one
    (lambda a: ti.logsumexp(a), (50, 60)),
])
def test_full_reductions_are_split_over_many_threads(fn: Callable[..., Any], shape: tuple) -> None:
    low = lower_gpu(_traced(fn, _rng(*shape)), keep=True)
    launches = re.findall(r"gpu.launch_func\s+@\w+::@(\w+) blocks in \((%\w+), %\w+, %\w+\) threads in \((%\w+),",
                          low.texts["gpu"])
    constants = dict(re.findall(r"(%c\w*) = arith.constant (\d+) : index", low.texts["gpu"]))
    grids = [(constants.get(g, g), constants.get(t, t)) for _, g, t in launches]
    assert ("128", "256") in grids and ("1", "256") in grids, grids  # partials, then their fold
    assert not re.search(r"scf.for .* to %dim", low.texts["gpu"].split("gpu.module")[0])  # no host loop


@pytest.mark.parametrize("fn, reductions", [
    (lambda a: ti.logsumexp(a, axis=1), ["maximumf", "add"]),
    (lambda a: ti.nnet.softmax(a), ["maximumf", "add"]),
    (lambda a: a.sum(axis=1) * 2, ["add"]),
])
def test_row_reductions_take_a_block_per_row(fn: Callable[..., Any], reductions: list[str]) -> None:
    """Each row's reductions are folded by the 256 threads of one block, at
    consecutive elements, and combined with gpu.all_reduce."""
    low = lower_gpu(_traced(fn, _rng(300, 40)), keep=True)
    text = low.texts["gpu"]
    assert re.search(r"gpu.launch_func\s+\S+ blocks in \(%dim\w*, %c1, %c1\) threads in \(%c256, %c1, %c1\)", text)
    kernels = text.split("gpu.module")[1]
    assert re.search(r"scf.for %\w+ = %thread_id_x to %\w+ step %c256", kernels)
    found = re.findall(r"gpu.all_reduce\s+(\w+)", kernels)
    assert all(r in found for r in reductions), found


def test_column_reductions_keep_a_thread_per_column() -> None:
    low = lower_gpu(_traced(lambda a: a.sum(axis=0), _rng(300, 40)), keep=True)
    assert "gpu.all_reduce" not in low.texts["gpu"]
