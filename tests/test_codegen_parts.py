"""Code generation in parts (lowering.cpu.to_llvm_ir_parts, runtime.cpu.emit_objects).

With ``threads`` > 1 the chunk functions of ``tir-parallel-loops`` are dealt
out to LLVM modules of their own, compiled at once on several threads and
linked into one engine. The parts must link (each declares what it uses of
the others), give bitwise the results of one module, and travel through the
disk cache as one blob of object files.
"""

from __future__ import annotations

import llvmlite.binding as llvm
import numpy as np
import pytest

import tensorir as ti
from conftest import threads
from tensorir.errors import CompileError
from tensorir.lowering import cpu
from tensorir.runtime.cpu import pack_objects, unpack_objects


def mlp_step(seed: int = 0) -> tuple[ti.Function, dict[str, ti.SharedVariable], tuple[np.ndarray, np.ndarray]]:
    """One SGD step of a small ReLU MLP: many elementwise ops and reductions."""
    rng = np.random.default_rng(seed)
    sizes = [(12, 16), (16, 16), (16, 5)]
    params = {}
    for k, (a, b) in enumerate(sizes):
        params[f"W{k}"] = ti.shared((rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32), name=f"W{k}")
        params[f"b{k}"] = ti.shared(np.zeros(b, np.float32), name=f"b{k}")
    x, y = ti.matrix("x", "float32"), ti.matrix("y", "float32")
    h = x
    for k in range(3):
        h = h @ params[f"W{k}"] + params[f"b{k}"]
        h = ti.nn.relu(h) if k < 2 else h
    cost = -(y * ti.nn.log_softmax(h, axis=-1)).sum(1).mean()
    shared = list(params.values())
    grads = ti.grad(cost, shared)
    step = ti.function([x, y], cost, updates=[(p, p - g * np.float32(0.1)) for p, g in zip(shared, grads)])
    data = rng.standard_normal((64, 12)).astype(np.float32), np.eye(5, dtype=np.float32)[rng.integers(0, 5, 64)]
    return step, params, data


def run(step: ti.Function, params: dict[str, ti.SharedVariable], data: tuple[np.ndarray, np.ndarray]) -> list[np.ndarray]:
    losses = [np.asarray(step(*data)) for _ in range(3)]
    return losses + [p.get_value() for p in params.values()]


def objects_of(step: ti.Function) -> list[bytes]:
    return unpack_objects(step._exe.kernel.object_code)


def test_chunks_compile_in_parts_with_the_results_of_one_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ti.config, "cache", False)  # each step compiles
    with threads(2):
        step, params, data = mlp_step()
        parted = run(step, params, data)
        assert len(objects_of(step)) == 2
        monkeypatch.setattr(cpu, "MAX_PARTS", 1)
        step, params, data = mlp_step()
        whole = run(step, params, data)
        assert len(objects_of(step)) == 1
    with threads(1):
        step, params, data = mlp_step()
        serial = run(step, params, data)
    for a, b, c in zip(parted, whole, serial):
        assert a.tobytes() == b.tobytes() == c.tobytes()
    assert np.isfinite(parted[0]) and parted[2] < parted[0]  # the steps learn


def test_parts_come_back_from_the_disk_cache() -> None:
    with threads(2):
        step, params, data = mlp_step()
        first = run(step, params, data)
        assert step._exe.cache == "miss" and len(objects_of(step)) == 2
        again, params, data = mlp_step()
        assert again._exe.cache == "hit" and len(objects_of(again)) == 2
        second = run(again, params, data)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(first, second))


def test_each_part_is_a_module_that_declares_the_others_chunks() -> None:
    with threads(2):
        step, _, _ = mlp_step()
        lowered = step.lower()
    whole = lowered.as_text("llvm-ir")
    chunks = {line.split("@")[1].split("(")[0] for line in whole.splitlines() if line.startswith("define internal")}
    assert len(chunks) > 10
    from tensorir.dialects import new_context
    from tensorir.dialects._bindings import ir

    with new_context():
        module = ir.Module.parse(lowered.as_text("llvm"))
        parts = cpu.to_llvm_ir_parts(module, 3)
    assert len(parts) == 3
    defined = []
    for text in parts:
        mod = llvm.parse_assembly(text)
        mod.verify()
        defined.append({f.name for f in mod.functions if not f.is_declaration})
    assert "tir_function" in defined[0] and all("tir_function" not in d for d in defined[1:])
    assert set().union(*defined) >= chunks and sum(len(d & chunks) for d in defined) == len(chunks)
    assert all(d & chunks for d in defined[1:])
    with new_context():
        module = ir.Module.parse(lowered.as_text("llvm"))
        assert len(cpu.to_llvm_ir_parts(module, 1)) == 1


def test_object_blobs() -> None:
    assert unpack_objects(pack_objects([b"\x7fELF one"])) == [b"\x7fELF one"]
    assert unpack_objects(pack_objects([b"one", b"", b"three"])) == [b"one", b"", b"three"]
    blob = pack_objects([b"one", b"two"])
    with pytest.raises(CompileError, match="damaged object code: 45 bytes where its header says 47"):
        unpack_objects(blob[:-2])
    with pytest.raises(CompileError, match="header is cut short"):
        unpack_objects(blob[:20])


MISSING_IR = """
declare void @tir_missing_chunk0(ptr, i64)
declare ptr @malloc(i64)

define ptr @tir_entry(ptr %ctx) {
  %p = call ptr @malloc(i64 16)
  call void @tir_missing_chunk0(ptr %p, i64 0)
  ret ptr %p
}
"""


def test_a_symbol_no_part_defines_is_an_error_not_a_crash() -> None:
    """The JIT would leave a call to an undefined symbol aimed at address 0;
    loading refuses such code, naming the symbol (malloc, from the process,
    is found)."""
    from tensorir.runtime.cpu import check_symbols, elf_symbols, emit_objects, host_target

    host_target()
    objects = emit_objects([MISSING_IR])
    defined, undefined = elf_symbols(objects[0])
    assert defined == {"tir_entry"} and undefined == {"tir_missing_chunk0", "malloc"}
    with pytest.raises(CompileError, match=r"calls tir_missing_chunk0, which no part of it defines"):
        check_symbols(objects)
    with pytest.raises(CompileError, match="tir_missing_chunk0"):
        from tensorir.runtime.cpu import CpuCompiler

        CpuCompiler().load(pack_objects(objects), "tir_entry", [], [])
    assert elf_symbols(b"not an object") == (set(), set())
