"""The disk cache of compiled code (``runtime/cache.py``, ``ti.config.cache``).

A function compiled once is loaded, not compiled, by the next process
(and by a new function of the same graph in this one); anything in the key
changing is a miss; a damaged entry is deleted and rewritten; concurrent
writers leave one valid entry; ``cache=False`` neither reads nor writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tensorir as ti
from conftest import SESSION_COMPILEDIR
from tensorir.errors import IndexOutOfBoundsError
from tensorir.runtime import cache

ROOT = Path(__file__).resolve().parent.parent

# A training step of a small MLP (matmuls through OpenBLAS, ReLU, softmax
# cross-entropy, SGD updates of shared variables): printed as JSON with
# whether its code came from the cache. With "forbid", compiling anything
# (a tir pass, the lowering, LLVM) fails, so only a cache hit can succeed.
# With "wait-until T" the process starts compiling at time T (concurrent writers).
CHILD = r"""
import json, sys, time
import numpy as np
import tensorir as ti
from tensorir import compiler
from tensorir.lowering import cpu as lowering

if "forbid" in sys.argv:
    def forbidden(*args, **kwargs):
        raise AssertionError("compiled on a cache hit")
    lowering.run_pipeline = forbidden
    compiler._compiler.compile = forbidden
if "wait-until" in sys.argv:
    time.sleep(max(0.0, float(sys.argv[sys.argv.index("wait-until") + 1]) - time.time()))
rng = np.random.default_rng(0)
sizes = [6, 5, 3]
params = []
for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
    params.append(ti.shared(rng.standard_normal((a, b)), name=f"W{k}"))
    params.append(ti.shared(np.zeros(b), name=f"b{k}"))
x = ti.matrix("x"); y = ti.vector("y", "int64")
h = ti.nn.relu(x @ params[0] + params[1])
cost = ti.nnet.categorical_crossentropy(ti.nnet.softmax(h @ params[2] + params[3]), y).mean()
grads = ti.grad(cost, params)
step = ti.function([x, y], cost, updates=[(p, p - 0.1 * g) for p, g in zip(params, grads)])
costs = [float(step(rng.standard_normal((4, 6)), np.array([0, 1, 2, 1]))) for _ in range(3)]
print(json.dumps({"cache": step._exe.cache, "costs": costs, "W0": params[0].get_value().tolist(),
                  "timings": sorted(step._exe.timings), "libraries": list(step._exe.kernel.libraries)}))
"""


def run_child(tmp_path: Path, *argv: str) -> subprocess.Popen:
    script = tmp_path / "child.py"
    if not script.exists():
        script.write_text(CHILD)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env["TENSORIR_FLAGS"] = env.get("TENSORIR_FLAGS", "") + f",compiledir={tmp_path / 'cache'}"
    return subprocess.Popen([sys.executable, str(script), *argv], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def child_result(proc: subprocess.Popen) -> dict[str, Any]:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def entries(directory: str | Path) -> list[str]:
    return sorted(os.listdir(directory)) if os.path.isdir(directory) else []


@pytest.fixture
def compiledir(tmp_path: Path) -> Path:
    ti.config.compiledir = str(tmp_path / "cache")  # conftest restores it
    return tmp_path / "cache"


def make_step(mode: str | None = None) -> tuple[ti.Function, ti.SharedVariable]:
    """A new function (its own in-memory state) of the same graph every call."""
    w = ti.shared(np.array([1.0, 2.0, 3.0]), name="w")
    x = ti.vector("x", "float64")
    return ti.function([x], (ti.exp(x) * w).sum(), updates=[(w, w * 0.5 + x)], mode=mode), w


def run_step(mode: str | None = None) -> tuple[str, float, list[float], dict[str, float]]:
    f, w = make_step(mode)
    out = float(f(np.array([0.0, 1.0, 2.0])))
    return f._exe.cache, out, w.get_value().tolist(), f._exe.timings


STEP_OUT = 1.0 + 2.0 * np.e + 3.0 * np.e**2
STEP_W = [0.5, 2.0, 3.5]


# ---------------------------------------------------------------------------
# Hits and misses


def test_a_new_process_loads_the_code_and_compiles_nothing(tmp_path: Path) -> None:
    first = child_result(run_child(tmp_path))
    assert first["cache"] == "miss"
    assert {"tir-opt", "llvm-jit", "cache"} <= set(first["timings"])
    assert "libscipy_openblas.so" in first["libraries"]
    assert len(entries(tmp_path / "cache")) == 1
    second = child_result(run_child(tmp_path, "forbid"))
    assert second["cache"] == "hit"
    assert second["timings"] == ["cache", "emit", "total"]  # no pass, no lowering, no LLVM
    assert second["libraries"] == first["libraries"]  # loaded from the recorded list
    assert second["costs"] == first["costs"] and second["W0"] == first["W0"]
    assert np.isfinite(first["costs"]).all() and first["costs"][2] != first["costs"][0]
    assert len(entries(tmp_path / "cache")) == 1


def test_a_miss_stores_one_entry_that_a_new_function_hits(compiledir: Path) -> None:
    how, out, w, timings = run_step()
    assert (how, out, w) == ("miss", pytest.approx(STEP_OUT), STEP_W)
    assert "llvm-jit" in timings and timings["cache"] > 0
    [name] = entries(compiledir)
    assert name.endswith(cache.SUFFIX) and len(name) == 64 + len(cache.SUFFIX)
    how, out, w, timings = run_step()
    assert (how, out, w) == ("hit", pytest.approx(STEP_OUT), STEP_W)
    assert sorted(timings) == ["cache", "emit", "total"]
    assert entries(compiledir) == [name]


def test_jit_functions_use_the_cache_too(compiledir: Path) -> None:
    def f(a, b):
        return ti.tanh(a @ b).sum(axis=0)

    a, b = np.ones((3, 4), np.float32), np.full((4, 2), 0.25, np.float32)
    first, second = ti.jit(f), ti.jit(f)
    np.testing.assert_allclose(first(a, b), [3 * np.tanh(1.0)] * 2, rtol=1e-6)
    np.testing.assert_array_equal(second(a, b), first(a, b))
    assert [e.cache for e in first._cache.values()] == ["miss"]
    assert [e.cache for e in second._cache.values()] == ["hit"]
    second(np.ones((3, 4)), np.ones((4, 2)))  # float64: another signature, another entry
    assert [e.cache for e in second._cache.values()] == ["hit", "miss"]
    assert len(entries(compiledir)) == 2


def test_source_lines_are_not_in_the_key(compiledir: Path) -> None:
    f = ti.jit(lambda x: ti.exp(x) + 1.0)
    g = ti.jit(
        lambda x: ti.exp(x) + 1.0
    )
    x = np.arange(3.0)
    np.testing.assert_array_equal(f(x), g(x))
    assert [e.cache for e in g._cache.values()] == ["hit"]


def test_every_element_of_a_large_constant_is_in_the_key(compiledir: Path) -> None:
    table = np.arange(5000.0)
    other = table.copy()
    other[4321] = -1.0  # printed IR elides no constant, so this is another key
    f, g = ti.jit(lambda x: x + table), ti.jit(lambda x: x + other)
    x = np.zeros(5000)
    np.testing.assert_array_equal(f(x), table)
    np.testing.assert_array_equal(g(x), other)
    assert [e.cache for f_ in (f, g) for e in f_._cache.values()] == ["miss", "miss"]


def _half_index() -> ti.JitFunction:
    return ti.jit(lambda d, i: d[i // 2])  # checked by the kernel (no precheck of i // 2 in Python)


def test_index_checks_come_back_from_the_cache_with_their_own_lines(compiledir: Path) -> None:
    """The index-check table is stored with the code; as it names source
    lines, a graph with checks keys on its lines (the same graph written on
    another line is a miss)."""
    data = np.arange(10.0)
    first, second = _half_index(), _half_index()
    third = ti.jit(lambda d, i: d[i // 2])
    for f in (first, second, third):
        assert float(f(data, 7)) == 3.0
        with pytest.raises(IndexOutOfBoundsError, match=r"^index 10 is out of bounds for axis 0 with size 10\n") as info:
            f(data, 21)
        assert f'test_cache.py", line {f.fun.__code__.co_firstlineno}, in <lambda>\n' in str(info.value)
    assert [[e.cache for e in f._cache.values()] for f in (first, second, third)] == [["miss"], ["hit"], ["miss"]]


# ---------------------------------------------------------------------------
# What the key holds


def test_a_changed_setting_or_pipeline_is_a_miss(compiledir: Path) -> None:
    assert run_step()[0] == "miss"
    ti.config.inplace = False
    try:
        assert run_step()[:3] == ("miss", pytest.approx(STEP_OUT), STEP_W)
        assert run_step()[0] == "hit"
    finally:
        ti.config.inplace = True
    assert run_step()[0] == "hit"
    assert run_step("FAST_COMPILE")[:3] == ("miss", pytest.approx(STEP_OUT), STEP_W)
    assert run_step("FAST_COMPILE")[0] == "hit"
    assert len(entries(compiledir)) == 3


@pytest.mark.parametrize("part", ["tensorir", "tensorir-source", "mlir", "llvmlite", "llvm", "cpu", "features", "format"])
def test_a_changed_version_or_cpu_is_a_miss(compiledir: Path, monkeypatch: pytest.MonkeyPatch, part: str) -> None:
    assert run_step()[0] == "miss"
    assert run_step()[0] == "hit"
    env = cache.environment()
    assert env[part]  # every part is known
    monkeypatch.setattr(cache, "_environment", {**env, part: env[part] + "-other"})
    assert run_step()[:3] == ("miss", pytest.approx(STEP_OUT), STEP_W)
    assert run_step()[0] == "hit"
    assert len(entries(compiledir)) == 2


def test_the_environment_names_the_toolchain_and_the_host() -> None:
    import llvmlite
    import llvmlite.binding as llvm

    env = cache.environment()
    assert env["tensorir"] == ti.__version__
    assert env["mlir"] == "22.1.8.4"  # the xtc-mlir-python-bindings wheel DESIGN.md pins
    assert (env["llvmlite"], env["llvm"]) == (llvmlite.__version__, ".".join(map(str, llvm.llvm_version_info)))
    assert (env["cpu"], env["features"]) == (llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten())
    assert len(env["tensorir-source"]) == 16


# ---------------------------------------------------------------------------
# Damaged entries


def _truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _flip_code_byte(data: bytes) -> bytes:
    return data[:-100] + bytes([data[-100] ^ 0xFF]) + data[-99:]


def _bad_magic(data: bytes) -> bytes:
    return b"NOTCACHE" + data[8:]


def _old_format(data: bytes) -> bytes:
    return data[:8] + (cache.FORMAT + 1).to_bytes(4, "little") + data[12:]


def _garbage(data: bytes) -> bytes:
    return bytes(range(256)) * 3


@pytest.mark.parametrize("damage", [_truncate, _flip_code_byte, _bad_magic, _old_format, _garbage, lambda d: b"",
                                    lambda d: d + b"tail"],
                         ids=["truncated", "garbled", "bad-magic", "other-format", "garbage", "empty", "trailing-bytes"])
def test_a_damaged_entry_is_recompiled_and_rewritten(compiledir: Path, damage: Any) -> None:
    assert run_step()[0] == "miss"
    [name] = entries(compiledir)
    path = compiledir / name
    good = path.read_bytes()
    path.write_bytes(damage(good))
    assert run_step()[:3] == ("miss", pytest.approx(STEP_OUT), STEP_W)
    assert entries(compiledir) == [name]
    assert path.read_bytes() == good  # rewritten whole (code generation is deterministic)
    assert run_step()[0] == "hit"


def test_an_entry_whose_code_cannot_load_is_recompiled(compiledir: Path) -> None:
    assert run_step()[0] == "miss"
    [name] = entries(compiledir)
    key = name[: -len(cache.SUFFIX)]
    disk = cache.DiskCache(str(compiledir))
    good = disk.load(key)
    assert good is not None and set(good.meta) == {"entry", "ranks", "libraries", "checks"}
    for meta in ({**good.meta, "libraries": ["libnot_there.so"]}, {**good.meta, "entry": "tir_other"},
                 {**good.meta, "checks": "?"}, {"entry": good.meta["entry"]}):
        disk.save(key, good.code, meta)  # a valid entry (checksum and all) that does not load
        assert run_step()[:3] == ("miss", pytest.approx(STEP_OUT), STEP_W)
        assert disk.load(key) == good


def test_concurrent_writers_leave_one_valid_entry(tmp_path: Path) -> None:
    start = str(time.time() + 3.0)  # after every process has imported tensorir
    procs = [run_child(tmp_path, "wait-until", start) for _ in range(4)]
    results = [child_result(p) for p in procs]
    assert all(r["costs"] == results[0]["costs"] and r["W0"] == results[0]["W0"] for r in results)
    assert "miss" in {r["cache"] for r in results}
    names = entries(tmp_path / "cache")
    assert len(names) == 1 and names[0].endswith(cache.SUFFIX)  # no temporary file is left
    late = child_result(run_child(tmp_path, "forbid"))
    assert late["cache"] == "hit" and late["costs"] == results[0]["costs"]


# ---------------------------------------------------------------------------
# Turning it off, and where it lives


def test_cache_false_neither_writes_nor_reads(compiledir: Path) -> None:
    ti.config.cache = False
    try:
        how, out, w, timings = run_step()
        assert (how, out, w) == ("off", pytest.approx(STEP_OUT), STEP_W)
        assert "cache" not in timings and not compiledir.exists()
        ti.config.cache = True
        assert run_step()[0] == "miss"
        ti.config.cache = False
        how, _, _, timings = run_step()  # an entry is there, and is not read
        assert how == "off" and "llvm-jit" in timings
        assert len(entries(compiledir)) == 1
    finally:
        ti.config.cache = True


def test_an_unwritable_compiledir_warns_once_and_still_runs(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    ti.config.compiledir = str(blocker / "cache")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert run_step()[:3] == ("miss", pytest.approx(STEP_OUT), STEP_W)
        assert run_step()[0] == "miss"
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1
    assert messages[0].startswith(f"tensorir cannot write its compile cache in {str(blocker / 'cache')!r}")
    assert "set ti.config.cache = False" in messages[0]


def test_tests_never_use_the_users_cache() -> None:
    assert ti.config.compiledir.startswith(SESSION_COMPILEDIR + os.sep)
    assert f"compiledir={SESSION_COMPILEDIR}" in os.environ["TENSORIR_FLAGS"]  # for subprocesses
    assert os.environ["XDG_CACHE_HOME"] == SESSION_COMPILEDIR  # even those that set TENSORIR_FLAGS
    home = os.path.join(os.path.expanduser("~"), ".cache", "tensorir")
    assert not SESSION_COMPILEDIR.startswith(home)
