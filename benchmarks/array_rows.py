"""The array rows of ``run.py``: one expression over float32 arrays, written
once per system and timed as ``y = f(*args)`` in a loop.

* ``fused``: ``exp(a + b) * b - tanh(a)`` over two vectors (memory-bound);
* ``softmax``: ``softmax`` and ``log_softmax`` over the rows of a square
  matrix, one function returning both (memory-bound);
* ``logsumexp``: over the rows of a square matrix (memory-bound);
* ``matmul``: a square matrix product (compute-bound);
* ``bmm``: a batch of small matrix products (``a @ b`` on 3-d arrays);
* ``overhead``: ``x * 2 + 1`` on 16 elements, through ``@ti.jit`` and
  through ``ti.function``: what one call costs beyond its work, input
  checks included.

tensorir compiles with ``ti.jit``; NumPy runs the expression as written;
JAX gets ``jax.jit`` and arrays already on its device; PyTensor gets
``pytensor.function`` in its default mode; PyTorch runs ``torch.compile``
for the elementwise and softmax-family rows and eager mode for the matrix
products (which call its BLAS either way) and the overhead row. Every
result is checked against NumPy in float64 before timing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

import tensorir as ti
from harness import (PYTENSOR_FUNCTIONS, Goal, Kernel, Row, build_checked, check, installed, interleaved, optional,
                     progress)

Math = Callable[..., Any]


# ---------------------------------------------------------------------------
# The expressions, per system ("np" is also the float64 reference)


def _np_softmax_pair(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    shifted = x - x.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    return e / s, shifted - np.log(s)


def _np_logsumexp(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=1)
    return m + np.log(np.exp(x - m[:, None]).sum(axis=1))


def _softmax_pair(special: Any) -> Math:
    return lambda x: (special.softmax(x, axis=1), special.log_softmax(x, axis=1))


def fused(m: Any) -> Math:
    return lambda a, b: m.exp(a + b) * b - m.tanh(a)


def affine(m: Any) -> Math:
    return lambda x: x * 2 + 1


def matmul(m: Any) -> Math:
    return lambda a, b: m.matmul(a, b)


def expressions(kind: str) -> dict[str, Callable[[], Math]]:
    """``kind``'s expression for each system, built lazily (optional modules import on use)."""
    jnp = lambda: optional("jax").numpy  # noqa: E731
    if kind == "softmax":
        return {
            "numpy": lambda: _np_softmax_pair,
            "tensorir": lambda: _softmax_pair(ti.nn),
            "pytensor": lambda: _softmax_pair(optional("pytensor.tensor.special")),
            "jax": lambda: _softmax_pair(optional("jax").nn),
            "torch": lambda: (lambda x: (optional("torch").softmax(x, 1), optional("torch").log_softmax(x, 1))),
        }
    if kind == "logsumexp":
        return {
            "numpy": lambda: _np_logsumexp,
            "tensorir": lambda: (lambda x: ti.logsumexp(x, axis=1)),
            "pytensor": lambda: (lambda x: optional("pytensor.tensor").logsumexp(x, axis=1)),
            "jax": lambda: (lambda x: optional("jax").nn.logsumexp(x, axis=1)),
            "torch": lambda: (lambda x: optional("torch").logsumexp(x, 1)),
        }
    make = {"fused": fused, "matmul": matmul, "affine": affine}[kind]
    return {
        "numpy": lambda: make(np),
        "tensorir": lambda: make(ti),
        "pytensor": lambda: make(optional("pytensor.tensor")),
        "jax": lambda: make(jnp()),
        "torch": lambda: make(optional("torch")),
    }


# ---------------------------------------------------------------------------
# Compiling an expression on each system


def compiled(system: str, fn: Math, args: tuple[np.ndarray, ...], torch_compile: bool) -> Kernel:
    """``fn`` made into ``system``'s fastest callable form, with the arguments it should get."""
    if system == "numpy":
        return fn, args
    if system == "tensorir":
        return ti.jit(fn), args
    if system == "jax":
        jax = optional("jax")
        f = jax.jit(fn)
        return (lambda *a: jax.block_until_ready(f(*a))), tuple(jax.device_put(a) for a in args)
    if system == "pytensor":
        pytensor, pt = optional("pytensor"), optional("pytensor.tensor")
        inputs = [pt.tensor(dtype=a.dtype.name, shape=(None,) * a.ndim) for a in args]
        out = fn(*inputs)
        f = pytensor.function(inputs, list(out) if isinstance(out, tuple) else out)
        PYTENSOR_FUNCTIONS.append(f)
        return f, args
    if system == "torch":
        torch = optional("torch")
        torch.set_num_threads(os.cpu_count() or 1)
        f = torch.compile(fn) if torch_compile else fn

        def call(*a: Any) -> Any:
            with torch.no_grad():
                return f(*a)

        return call, tuple(torch.from_numpy(a.copy()) for a in args)
    raise ValueError(f"unknown system {system!r}")


# ---------------------------------------------------------------------------
# The rows


@dataclass
class Case:
    """One row: its expression kind, float32 inputs and how to judge and time it."""

    label: str
    kind: str
    args: tuple[np.ndarray, ...]
    goal: Goal
    rtol: float
    atol: float
    flops: float | None = None
    bytes: float | None = None
    torch_compile: bool = True
    unit: str = "ms"
    number: int = 1


def cases(quick: bool) -> list[Case]:
    rng = np.random.default_rng(0)
    n_vec = 10_000 if quick else 10_000_000
    n_sm = 64 if quick else 4096
    n_mm = 64 if quick else 2048
    batch, n_b = (16, 16) if quick else (1024, 64)
    f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    x_sm = f32(n_sm, n_sm)
    return [
        Case(f"fused exp(a+b)*b-tanh(a) [{n_vec:.0e}]", "fused", (f32(n_vec), f32(n_vec)),
             Goal(seconds=5e-3), rtol=1e-5, atol=1e-7, bytes=12.0 * n_vec),
        Case(f"softmax+log_softmax rows [{n_sm}x{n_sm}]", "softmax", (x_sm,),
             Goal(seconds=12e-3), rtol=1e-4, atol=1e-6, bytes=12.0 * n_sm * n_sm),
        Case(f"logsumexp rows [{n_sm}x{n_sm}]", "logsumexp", (x_sm,),
             Goal(seconds=4e-3), rtol=1e-5, atol=1e-6, bytes=4.0 * n_sm * (n_sm + 1)),
        Case(f"matmul [{n_mm}x{n_mm}]", "matmul", (f32(n_mm, n_mm), f32(n_mm, n_mm)),
             Goal(gflops=210), rtol=1e-4, atol=1e-5, flops=2.0 * n_mm**3, bytes=12.0 * n_mm**2,
             torch_compile=False),
        Case(f"batched matmul [{batch} x {n_b}x{n_b}]", "matmul", (f32(batch, n_b, n_b), f32(batch, n_b, n_b)),
             Goal(gflops=130), rtol=1e-4, atol=1e-5, flops=2.0 * batch * n_b**3, bytes=12.0 * batch * n_b**2,
             torch_compile=False),
        Case("call overhead x*2+1 [16], ti.jit", "affine", (f32(16),), Goal(seconds=1.5e-6),
             rtol=1e-6, atol=0.0, torch_compile=False, unit="us", number=200 if quick else 5000),
    ]


def _verifier(case: Case, want: Any) -> Callable[[str, Any], None]:
    def verify(name: str, got: Any) -> None:
        if isinstance(want, tuple):
            for i, (g, w) in enumerate(zip(got, want)):
                check(name, g, w, case.rtol, case.atol, f"{case.kind} output {i}")
        else:
            check(name, got, want, case.rtol, case.atol, case.kind)

    return verify


def run_case(case: Case, rounds: int) -> Row:
    """Build, check and time ``case`` on every installed system."""
    exprs = expressions(case.kind)
    want = exprs["numpy"]()(*(a.astype(np.float64) for a in case.args))
    builders = {name: (lambda name=name: compiled(name, exprs[name](), case.args, case.torch_compile))
                for name in ("tensorir", "numpy", *installed())}
    kernels = build_checked(case.label, builders, _verifier(case, want))
    times = interleaved(kernels, rounds, case.number)
    progress(case.label)
    return Row(case.label, times, case.goal, case.unit, case.flops, case.bytes)


def function_overhead(quick: bool, rounds: int) -> Row:
    """``x * 2 + 1`` on 16 elements through ``ti.function`` (symbolic input, Theano's
    style) against ``pytensor.function`` of the same graph and NumPy."""
    x = np.random.default_rng(1).standard_normal(16).astype(np.float32)
    v = ti.vector("x", "float32")
    builders: dict[str, Callable[[], Kernel]] = {
        "tensorir": lambda: (ti.function([v], v * 2 + 1), (x,)),
        "numpy": lambda: (affine(np), (x,)),
    }
    if "pytensor" in installed():
        builders["pytensor"] = lambda: compiled("pytensor", affine(None), (x,), False)
    want = x.astype(np.float64) * 2 + 1
    kernels = build_checked("call overhead, ti.function", builders,
                            lambda name, got: check(name, got, want, 1e-6, 0.0, "x*2+1"))
    times = interleaved(kernels, rounds, 200 if quick else 5000)
    progress("call overhead, ti.function")
    return Row("call overhead x*2+1 [16], ti.function", times, Goal(seconds=1.5e-6), "us")


def array_rows(quick: bool, rounds: int) -> list[Row]:
    rows = [run_case(case, rounds) for case in cases(quick)]
    rows.append(function_overhead(quick, rounds))
    return rows
