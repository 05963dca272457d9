"""Finite-difference checks of every differentiable op, driven by the op table.

For each op, :data:`CASES` holds functions that exercise it. Each case is
checked in float64 along random directions, three ways: the gradient of
``sum(f(x) * u)`` (reverse mode), ``jvp`` (forward mode) and ``jacobian``
(reverse mode with a batch of cotangents), each against central
differences of the compiled forward function. A float32 run must agree with
the float64 gradient. An op marked differentiable without a case here
fails :func:`test_every_differentiable_op_has_a_case`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pytest

import tensorir as ti
from tensorir.dialects import OPS
from tensorir.frontend.core import dim_variable
from tensorir.frontend.graph import apply


@dataclass(frozen=True)
class Case:
    fn: Callable[..., Any]
    shapes: Sequence[tuple[int, ...]]
    low: float = -2.0  # inputs drawn uniformly from [low, high]
    high: float = 2.0
    id: str = ""
    eps: float = 1e-6  # finite-difference step
    tol: float = 1e-6  # allowed error, relative to max(1, |directional derivative|)


def _split(x: Any) -> Any:
    head, tail = apply("split", [x, dim_variable(x, 0)], {"axis": 1, "size": -1, "dim_syms": (x.shape[0],)})
    return ti.concatenate([head * 2.0, tail], axis=1)


def _split_static(x: Any) -> Any:
    head, tail = apply("split", [x], {"axis": 0, "size": 1})
    return tail * head


def _wrt(x: Any) -> Any:
    return apply("wrt", [x]) * 3.0


S = (3, 4)
CASES: dict[str, list[Case]] = {
    "neg": [Case(lambda x: -x, [S])],
    "abs": [Case(ti.abs, [S], 0.2, 2.0), Case(ti.abs, [S], -2.0, -0.2, "negative")],
    "exp": [Case(ti.exp, [S])],
    "log": [Case(ti.log, [S], 0.2, 3.0)],
    "log1p": [Case(ti.log1p, [S], -0.5, 3.0)],
    "expm1": [Case(ti.expm1, [S])],
    "sqrt": [Case(ti.sqrt, [S], 0.2, 3.0)],
    "rsqrt": [Case(ti.rsqrt, [S], 0.2, 3.0)],
    "tanh": [Case(ti.tanh, [S])],
    "sigmoid": [Case(ti.sigmoid, [S], -5.0, 5.0)],
    "softplus": [Case(ti.softplus, [S], -5.0, 5.0)],
    "log1mexp": [Case(ti.log1mexp, [S], -3.0, -0.05)],  # both of its forms (the switch is at -ln 2)
    "sin": [Case(ti.sin, [S], -4.0, 4.0)],
    "cos": [Case(ti.cos, [S], -4.0, 4.0)],
    "erf": [Case(ti.erf, [S])],
    "add": [Case(ti.add, [S, S]), Case(ti.add, [S, (4,)], id="broadcast"), Case(ti.add, [(3, 1), (1, 4)], id="outer")],
    "sub": [Case(ti.subtract, [S, S]), Case(ti.subtract, [(1, 4), S], id="broadcast")],
    "mul": [Case(ti.multiply, [S, S]), Case(ti.multiply, [(), S], id="scalar")],
    "mul_nonan": [Case(ti.multiply_no_nan, [S, S], 0.2, 2.0)],
    "div": [Case(ti.divide, [S, S], 0.5, 2.0), Case(ti.divide, [S, (3, 1)], 0.5, 2.0, "broadcast")],
    "pow": [Case(ti.power, [S, S], 0.5, 2.0), Case(lambda x: x ** 3.0, [S], id="cube")],
    "logaddexp": [Case(ti.logaddexp, [S, S], -5.0, 5.0), Case(ti.logaddexp, [S, (4,)], id="broadcast")],
    "maximum": [Case(ti.maximum, [S, S]), Case(ti.maximum, [S, (4,)], id="broadcast")],
    "minimum": [Case(ti.minimum, [S, S])],
    "select": [Case(lambda c, x, y: ti.where(c > 0, x, y), [S, S, S]), Case(lambda x, y: ti.where(x > 0, x, y), [S, (4,)], id="broadcast")],
    "cast": [Case(lambda x: ti.astype(x, ti.float32) * 2.0, [S], id="f32", eps=1e-2, tol=1e-3), Case(lambda x: x.astype(ti.int64) * x, [S], 1.1, 1.9, "int")],
    "sum": [Case(lambda x: x.sum(axis=1), [S]), Case(lambda x: ti.sum(x, axis=(0, 2), keepdims=True), [(2, 3, 4)], id="axes")],
    "prod": [Case(lambda x: x.prod(axis=0), [S], 0.5, 2.0), Case(lambda x: ti.prod(x), [(2, 3)], -2.0, 2.0, "all")],
    "mean": [Case(lambda x: x.mean(axis=(0, 1)), [(2, 3, 4)]), Case(lambda x: ti.mean(x, axis=-1, keepdims=True), [S], id="keepdims")],
    "max": [Case(lambda x: x.max(axis=1), [S]), Case(lambda x: ti.max(x), [S], id="all")],
    "min": [Case(lambda x: x.min(axis=0, keepdims=True), [S])],
    "matmul": [
        Case(ti.matmul, [(3, 4), (4, 2)]),
        Case(ti.matmul, [(4,), (4, 2)], id="vec-mat"),
        Case(ti.matmul, [(3, 4), (4,)], id="mat-vec"),
        Case(ti.matmul, [(4,), (4,)], id="dot"),
        Case(ti.matmul, [(2, 3, 4), (4, 2)], id="batched"),
        Case(ti.matmul, [(2, 1, 3, 4), (5, 4, 2)], id="batch-broadcast"),
        Case(ti.matmul, [(4,), (2, 4, 3)], id="vec-batch"),
    ],
    "outer": [Case(ti.outer, [(3,), (4,)])],
    "softmax": [Case(ti.nn.softmax, [S]), Case(lambda x: ti.nn.softmax(x, axis=0), [S], id="axis0")],
    "log_softmax": [Case(ti.nn.log_softmax, [S])],
    "softmax_cross_entropy": [
        Case(ti.nn.softmax_cross_entropy, [S, S], 0.0, 3.0),
        Case(lambda x, y: ti.nn.softmax_cross_entropy(x, y, axis=0), [S, S], id="axis0"),
        Case(lambda x, y: ti.nn.softmax_cross_entropy(x, y, axis=None), [(2, 3, 2), (2, 3, 2)], id="all"),
    ],
    "logsumexp": [Case(lambda x: ti.logsumexp(x, axis=1), [S]), Case(lambda x: ti.logsumexp(x, axis=(0, 1), keepdims=True), [S], id="all")],
    "reshape": [Case(lambda x: ti.reshape(x, (2, 6)) * ti.arange(6.0), [S]), Case(lambda x: ti.reshape(x, (-1,)), [S], id="flat")],
    "transpose": [Case(lambda x: ti.transpose(x, (2, 0, 1)) * ti.arange(4.0), [(2, 4, 3)])],
    "expand_dims": [Case(lambda x: ti.expand_dims(x, (0, 2)) * ti.arange(4.0), [S])],
    "squeeze": [Case(lambda x: ti.squeeze(x, 1), [(3, 1, 4)])],
    "concatenate": [Case(lambda x, y: ti.concatenate([x, y, x], axis=1), [S, (3, 2)]), Case(lambda x, y: ti.concatenate([x, y]), [(1, 4), S], id="static")],
    "stack": [Case(lambda x, y: ti.stack([x, y], axis=1), [S, S])],
    "slice": [Case(lambda x: x[1:, ::2], [(4, 5)]), Case(lambda x: x[::-1, 2], [(4, 5)], id="index"), Case(lambda x: x[-2:], [(4, 5)], id="tail")],
    "slice_update": [Case(lambda x, v: ti.slice_update(x, (slice(1, 3), 0), v), [(4, 5), (2,)])],
    "split": [Case(_split, [(3, 5)]), Case(_split_static, [(4, 2)], id="static")],
    "broadcast_to": [Case(lambda x: ti.broadcast_to(x, (3, 4)) * ti.arange(4.0), [(1, 4)])],
    "flip": [Case(lambda x: ti.flip(x, 1) * ti.arange(4.0), [S])],
    "dynamic_slice": [
        Case(lambda x: ti.dynamic_slice(x, (1, 2), (2, 3)), [(4, 5)]),
        Case(lambda x: x[x.shape[0] - 2] * x[1 - x.shape[0]], [(4, 5)], id="traced-index"),
        Case(lambda x: x[x.shape[0] - 3:x.shape[0] - 1, 1:], [(4, 5)], id="traced-slice"),
    ],
    "dynamic_update_slice": [
        Case(lambda x, v: ti.dynamic_update_slice(x, ti.reshape(v, (2, 5)), (1, 0)), [(4, 5), (2, 5)]),
        Case(lambda x, v: ti.slice_update(x, (x.shape[0] - 1, slice(1, 3)), v), [(4, 5), (2,)], id="traced-index"),
    ],
    "wrt": [Case(_wrt, [S])],
}

PARAMS = [pytest.param(name, case, id=f"{name}-{case.id or i}") for name, cases in CASES.items() for i, case in enumerate(cases)]


def test_every_differentiable_op_has_a_case() -> None:
    # tir.scan's gradients need a step function: tests/test_scan_grad.py checks them
    differentiable = {name for name, op in OPS.items() if op.differentiable and op.family != "control"}
    missing = differentiable - set(CASES)
    assert not missing, f"differentiable ops without a gradient check: {sorted(missing)}"
    assert set(CASES) <= differentiable, f"cases for ops not differentiable: {sorted(set(CASES) - differentiable)}"


def _inputs(case: Case, rng: np.random.Generator, dtype: str = "float64") -> list[np.ndarray]:
    return [rng.uniform(case.low, case.high, s).astype(dtype) for s in case.shapes]


def _pairing(out: np.ndarray, u: np.ndarray) -> float:
    return float(np.sum(out * u))


@pytest.mark.parametrize("name, case", PARAMS)
def test_gradients_match_finite_differences(name: str, case: Case) -> None:
    rng = np.random.default_rng(zlib.crc32(f"{name}/{case.id}".encode()))
    xs = _inputs(case, rng)
    forward = ti.jit(case.fn)
    assert f'"tir.{name}"' in forward.lower(*xs).as_text("tir"), f"the case does not use tir.{name}"
    y = np.asarray(forward(*xs))
    u = rng.standard_normal(y.shape)
    vs = [rng.standard_normal(x.shape) for x in xs]
    eps = case.eps

    def f(*args: np.ndarray) -> float:
        return _pairing(np.asarray(forward(*args)), u)

    fd = (f(*[x + eps * v for x, v in zip(xs, vs)]) - f(*[x - eps * v for x, v in zip(xs, vs)])) / (2 * eps)
    scale = max(1.0, abs(fd))
    argnums = tuple(range(len(xs)))

    # reverse mode: the gradient of <f(x), u>
    grads = ti.grad(lambda *a: (case.fn(*a) * u).sum(), argnums=argnums)(*xs)
    for g, x in zip(grads, xs):
        assert g.shape == x.shape and g.dtype == x.dtype
    reverse = sum(float(np.sum(g * v)) for g, v in zip(grads, vs))
    assert abs(reverse - fd) <= case.tol * scale, ("reverse mode", reverse, fd)

    # forward mode: <J v, u>
    out, tangent = ti.jvp(case.fn, tuple(xs), tuple(vs))
    np.testing.assert_allclose(out, y, rtol=1e-12, atol=1e-12)
    assert abs(_pairing(np.asarray(tangent), u) - fd) <= case.tol * scale, ("forward mode", fd)

    # batched reverse mode: the full Jacobian, contracted with u and v
    jac = ti.jacobian(case.fn, argnums=argnums)(*xs)
    for j, x in zip(jac, xs):
        assert j.shape == y.shape + x.shape
    batched = sum(float(np.tensordot(u, np.tensordot(j, v, axes=v.ndim), axes=u.ndim)) for j, v in zip(jac, vs))
    assert abs(batched - fd) <= case.tol * scale, ("jacobian", batched, fd)


@pytest.mark.parametrize("name, case", PARAMS[::3])
def test_float32_gradients_agree_with_float64(name: str, case: Case) -> None:
    rng = np.random.default_rng(7)
    xs = _inputs(case, rng)
    u = rng.standard_normal(np.shape(ti.jit(case.fn)(*xs)))
    argnums = tuple(range(len(xs)))
    g64 = ti.grad(lambda *a: (case.fn(*a) * u).sum(), argnums=argnums)(*xs)
    u32 = u.astype(np.float32)
    g32 = ti.grad(lambda *a: (case.fn(*a) * u32).sum(), argnums=argnums)(*[x.astype(np.float32) for x in xs])
    for a, b in zip(g32, g64):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-4 * max(1.0, float(np.abs(b).max(initial=0))))
