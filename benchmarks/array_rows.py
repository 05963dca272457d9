"""The array rows of ``run.py``: one expression over float32 arrays, written
once per system and timed as ``y = f(*args)`` in a loop.

* ``fused``: ``exp(a + b) * b - tanh(a)`` over two vectors (memory-bound);
* ``softmax``: ``softmax`` and ``log_softmax`` over the rows of a square
  matrix, one function returning both (memory-bound);
* ``logsumexp``: over the rows of a square matrix (memory-bound);
* ``matmul``: a square matrix product (compute-bound);
* ``bmm``: a batch of small matrix products (``a @ b`` on 3-d arrays);
* ``jit`` and ``function``: ``x * 2 + 1`` on 16 elements, through
  ``@ti.jit`` and through ``ti.function`` (against ``pytensor.function``
  and NumPy only): what one call costs beyond its work, input checks
  included.

tensorir compiles with ``ti.jit``; NumPy runs the expression as written;
JAX gets ``jax.jit`` and arrays already on its device; PyTensor gets
``pytensor.function`` in its default mode; PyTorch runs ``torch.compile``
for the elementwise and softmax-family rows and eager mode for the matrix
products (which call its BLAS either way) and the overhead row. Every
result is checked against NumPy in float64 before timing.

Each system's kernel is built in that system's worker process
(``workers.py``) by :func:`kernel`, from the arrays :func:`prepare` made
once in the parent; tensorir and the optional libraries are imported only
where a kernel of theirs is built.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from harness import PYTENSOR_FUNCTIONS, Built, Goal, Kernel, Spec, Verify, check, optional

Math = Callable[..., Any]


def _ti() -> Any:
    """tensorir, imported only by the process that builds its kernels."""
    import tensorir

    return tensorir


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
            "tensorir": lambda: _softmax_pair(_ti().nn),
            "pytensor": lambda: _softmax_pair(optional("pytensor.tensor.special")),
            "jax": lambda: _softmax_pair(optional("jax").nn),
            "torch": lambda: (lambda x: (optional("torch").softmax(x, 1), optional("torch").log_softmax(x, 1))),
        }
    if kind == "logsumexp":
        return {
            "numpy": lambda: _np_logsumexp,
            "tensorir": lambda: (lambda x: _ti().logsumexp(x, axis=1)),
            "pytensor": lambda: (lambda x: optional("pytensor.tensor").logsumexp(x, axis=1)),
            "jax": lambda: (lambda x: optional("jax").nn.logsumexp(x, axis=1)),
            "torch": lambda: (lambda x: optional("torch").logsumexp(x, 1)),
        }
    make = {"fused": fused, "matmul": matmul, "affine": affine}[kind]
    return {
        "numpy": lambda: make(np),
        "tensorir": lambda: make(_ti()),
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
        return _ti().jit(fn), args
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


@dataclass(frozen=True)
class Case:
    """One row: its expression kind, the shapes of its float32 inputs (normal,
    from ``seed``) and how to judge and time it. ``systems``: those it
    applies to (``None``: all)."""

    key: str
    label: str
    kind: str
    shapes: tuple[tuple[int, ...], ...]
    goal: Goal
    rtol: float
    atol: float
    flops: float | None = None
    bytes: float | None = None
    torch_compile: bool = True
    unit: str = "ms"
    number: int = 1
    seed: int = 0
    systems: tuple[str, ...] | None = None


def cases(quick: bool) -> list[Case]:
    n_vec = 10_000 if quick else 10_000_000
    n_sm = 64 if quick else 4096
    n_mm = 64 if quick else 2048
    batch, n_b = (16, 16) if quick else (1024, 64)
    overhead = 200 if quick else 5000
    calls = 1 if quick else 3  # timed in a row: y = f(a, b) in a loop
    return [
        Case("fused", f"fused exp(a+b)*b-tanh(a) [{n_vec:.0e}]", "fused", ((n_vec,), (n_vec,)),
             Goal(seconds=5e-3), rtol=1e-5, atol=1e-7, bytes=12.0 * n_vec, seed=0, number=calls),
        Case("softmax", f"softmax+log_softmax rows [{n_sm}x{n_sm}]", "softmax", ((n_sm, n_sm),),
             Goal(seconds=12e-3), rtol=1e-4, atol=1e-6, bytes=12.0 * n_sm * n_sm, seed=1, number=calls),
        Case("logsumexp", f"logsumexp rows [{n_sm}x{n_sm}]", "logsumexp", ((n_sm, n_sm),),
             Goal(seconds=4e-3), rtol=1e-5, atol=1e-6, bytes=4.0 * n_sm * (n_sm + 1), seed=1, number=calls),
        Case("matmul", f"matmul [{n_mm}x{n_mm}]", "matmul", ((n_mm, n_mm), (n_mm, n_mm)),
             Goal(gflops=210), rtol=1e-4, atol=1e-5, flops=2.0 * n_mm**3, bytes=12.0 * n_mm**2,
             torch_compile=False, seed=2, number=calls),
        Case("bmm", f"batched matmul [{batch} x {n_b}x{n_b}]", "matmul", ((batch, n_b, n_b), (batch, n_b, n_b)),
             Goal(gflops=130), rtol=1e-4, atol=1e-5, flops=2.0 * batch * n_b**3, bytes=12.0 * batch * n_b**2,
             torch_compile=False, seed=3, number=calls),
        Case("jit", "call overhead x*2+1 [16], ti.jit", "affine", ((16,),), Goal(seconds=1.5e-6),
             rtol=1e-6, atol=0.0, torch_compile=False, unit="us", number=overhead, seed=4),
        # ti.function (symbolic input, Theano's style) against pytensor.function of the same graph
        Case("function", "call overhead x*2+1 [16], ti.function", "affine", ((16,),), Goal(seconds=1.5e-6),
             rtol=1e-6, atol=0.0, torch_compile=False, unit="us", number=overhead, seed=4,
             systems=("tensorir", "numpy", "pytensor")),
    ]


def _case(key: str, quick: bool) -> Case:
    return next(case for case in cases(quick) if case.key == key)


def specs(quick: bool, rounds: int) -> list[Spec]:
    """The array rows, for ``workers.Workers.rows``."""
    return [Spec("array_rows", c.key, quick, c.label, rounds, c.number, c.goal, c.unit, c.flops, c.bytes, c.systems)
            for c in cases(quick)]


def prepare(key: str, quick: bool) -> dict[str, np.ndarray]:
    """In the parent: row ``key``'s inputs ``arg0, arg1, ...`` (float32) and the
    float64 NumPy result ``want0, want1, ...`` (one per output)."""
    case = _case(key, quick)
    rng = np.random.default_rng(case.seed)
    args = [rng.standard_normal(shape).astype(np.float32) for shape in case.shapes]
    want = expressions(case.kind)["numpy"]()(*(a.astype(np.float64) for a in args))
    wants = want if isinstance(want, tuple) else (want,)
    return {**{f"arg{i}": a for i, a in enumerate(args)}, **{f"want{i}": w for i, w in enumerate(wants)}}


def _verifier(case: Case, wants: list[np.ndarray]) -> Verify:
    def verify(name: str, got: Any) -> None:
        if len(wants) > 1:
            for i, (g, w) in enumerate(zip(got, wants)):
                check(name, g, w, case.rtol, case.atol, f"{case.kind} output {i}")
        else:
            check(name, got, wants[0], case.rtol, case.atol, case.kind)

    return verify


def kernel(key: str, quick: bool, system: str, data: dict[str, np.ndarray]) -> Built:
    """In ``system``'s worker: its kernel of row ``key`` on the arrays of :func:`prepare`."""
    case = _case(key, quick)
    args = tuple(data[f"arg{i}"] for i in range(len(case.shapes)))
    wants = [data[f"want{i}"] for i in range(sum(name.startswith("want") for name in data))]
    if key == "function" and system == "tensorir":
        ti = _ti()
        v = ti.vector("x", "float32")
        fn: Kernel = (ti.function([v], v * 2 + 1), args)
    else:
        fn = compiled(system, expressions(case.kind)[system](), args, case.torch_compile)
    return fn[0], fn[1], _verifier(case, wants)
