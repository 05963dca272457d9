"""Gradients through ``tir.scan`` (``passes/autodiff/control.py``).

Every case is checked in float64 against central differences of a NumPy
loop that computes the same thing: first on the reference interpreter after
``tir-autodiff`` alone (the derivative as the pass builds it), then compiled
with ``@ti.jit`` (and ``ti.function`` for the Theano-style API), which must
agree with the interpreter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pytest

import tensorir as ti
from tensorir.dialects import new_context
from tensorir.dialects._bindings import ir, walk
from tensorir.dialects.interpreter import interpret
from tensorir.errors import CompileError
from tensorir.frontend.emit import emit_function
from tensorir.frontend.trace import ArgSpec, trace
from tensorir.lowering.cpu import run_pipeline
from tensorir.passes.autodiff import tir_autodiff

FD_TOL = 1e-6  # finite differences in float64 agree to ~1e-9 relative; this leaves room


# ---------------------------------------------------------------------------
# Helpers


def _tir(fun: Callable[..., Any], *args: np.ndarray) -> str:
    """The traced tir of ``fun`` (markers not expanded) as text."""
    specs = [ArgSpec(f"a{i}", a.dtype.name, tuple(d == 1 for d in a.shape)) for i, a in enumerate(args)]
    traced = trace(fun, "main", ("tuple", tuple(("leaf",) for _ in args)), specs)
    with new_context(), ir.Location.unknown():
        module = ir.Module.create()
        emit_function(module, "main", traced.inputs, traced.outputs, traced.updates)
        return str(module)


def _expanded(fun: Callable[..., Any], *args: np.ndarray) -> tuple[list[np.ndarray], str]:
    """(outputs of the reference interpreter after tir-autodiff, the expanded IR)."""
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(_tir(fun, *args))
        run_pipeline(module, [(tir_autodiff, "tir-autodiff")], "tir-autodiff")
        assert module.operation.verify()
        assert not [o for o in walk(module.operation) if o.name in ("tir.grad", "tir.vjp", "tir.jvp", "tir.wrt")]
        return [np.asarray(v) for v in interpret(module, list(args), "main")], str(module)


def _numeric_grad(f: Callable[..., float], args: Sequence[np.ndarray], k: int, eps: float = 1e-6) -> np.ndarray:
    out = np.zeros_like(args[k])
    for idx in np.ndindex(args[k].shape):
        plus = [a.copy() for a in args]
        minus = [a.copy() for a in args]
        plus[k][idx] += eps
        minus[k][idx] -= eps
        out[idx] = (f(*plus) - f(*minus)) / (2 * eps)
    return out


def _rel_err(got: np.ndarray, want: np.ndarray) -> float:
    assert got.shape == want.shape, (got.shape, want.shape)
    return float(np.max(np.abs(got - want), initial=0.0) / max(np.max(np.abs(want), initial=0.0), 1e-3))


def _rnn_np(W: np.ndarray, U: np.ndarray, b: np.ndarray, h0: np.ndarray, xs: np.ndarray) -> np.ndarray:
    h, hs = h0, []
    for x in xs:
        h = np.tanh(W @ h + U @ x + b)
        hs.append(h)
    return np.array(hs)


def _rnn(W: Any, U: Any, b: Any, h0: Any, xs: Any) -> Any:
    hs, _ = ti.scan(lambda x_t, h: ti.tanh(W @ h + U @ x_t + b), sequences=xs, outputs_info=h0)
    return hs


# ---------------------------------------------------------------------------
# Cases: a scalar loss through a scan, the same in NumPy, its inputs


@dataclass(frozen=True)
class Case:
    id: str
    loss: Callable[..., Any]
    numpy: Callable[..., float]
    shapes: Sequence[tuple[int, ...]]
    argnums: tuple[int, ...]
    low: float = -1.0
    high: float = 1.0

    def inputs(self) -> list[np.ndarray]:
        rng = np.random.default_rng(sum(map(ord, self.id)))
        return [rng.uniform(self.low, self.high, size=s) for s in self.shapes]


RNN_SHAPES = [(4, 4), (4, 3), (4,), (4,), (6, 3)]


def _cumprod(x: Any) -> Any:
    out, _ = ti.scan(lambda x_t, acc: acc * x_t, sequences=x, outputs_info=ti.ones_like(x[0]))
    return (out * np.arange(1.0, 6.0)[:, None]).sum()


def _two_tap(y0: Any, a: Any, b: Any, xs: Any) -> Any:
    out, _ = ti.scan(lambda x_t, y2, y1, a, b: a * y2 + b * y1 + x_t, sequences=xs,
                     outputs_info=dict(initial=y0, taps=[-2, -1]), non_sequences=[a, b])
    return (out ** 2).sum()


def _two_tap_np(y0: np.ndarray, a: np.ndarray, b: np.ndarray, xs: np.ndarray) -> float:
    y2, y1, out = y0[0], y0[1], []
    for x in xs:
        y = a * y2 + b * y1 + x
        out.append(y)
        y2, y1 = y1, y
    return float((np.array(out) ** 2).sum())


def _backwards(W: Any, xs: Any, h0: Any) -> Any:
    hs, _ = ti.scan(lambda x_t, h: ti.tanh(W @ h + x_t), sequences=xs, outputs_info=h0, go_backwards=True)
    return (hs * np.arange(1.0, 6.0)[:, None]).sum()


def _backwards_np(W: np.ndarray, xs: np.ndarray, h0: np.ndarray) -> float:
    h, hs = h0, []
    for x in xs[::-1]:
        h = np.tanh(W @ h + x)
        hs.append(h)
    return float((np.array(hs) * np.arange(1.0, 6.0)[:, None]).sum())


def _non_fed(W: Any, xs: Any, h0: Any, s: Any) -> Any:
    # an output not fed back (the energy), an int counter, and `s` read as a closure
    def step(x_t: Any, h: Any, k: Any) -> Any:
        h = ti.tanh(W @ h + x_t * s)
        return h, (h * k.astype("float64")).sum(), k + 1

    (hs, energy, _), _ = ti.scan(step, sequences=xs, outputs_info=[h0, None, np.int64(0)])
    return energy.sum() + hs[-1].sum()


def _non_fed_np(W: np.ndarray, xs: np.ndarray, h0: np.ndarray, s: np.ndarray) -> float:
    h, total = h0, 0.0
    for k, x in enumerate(xs):
        h = np.tanh(W @ h + x * s)
        total += (h * k).sum()
    return float(total + h.sum())


def _nested(W: Any, xs: Any) -> Any:
    def row(x_r: Any, acc: Any) -> Any:
        inner, _ = ti.scan(lambda v, h: ti.tanh(W @ h + v), sequences=x_r, outputs_info=acc)
        return inner[-1]

    out, _ = ti.scan(row, sequences=xs, outputs_info=ti.zeros_like(xs[0, 0]))
    return (out ** 2).sum()


def _nested_np(W: np.ndarray, xs: np.ndarray) -> float:
    acc, outs = np.zeros(xs.shape[2]), []
    for row in xs:
        for v in row:
            acc = np.tanh(W @ acc + v)
        outs.append(acc)
    return float((np.array(outs) ** 2).sum())


def _power(W: Any, h0: Any, z: Any) -> Any:
    # no sequences: the number of steps is a free dim read from z's shape
    hs, _ = ti.scan(lambda h: ti.tanh(W @ h), outputs_info=h0, n_steps=z.shape[0])
    return (hs ** 2).sum()


def _power_np(W: np.ndarray, h0: np.ndarray, z: np.ndarray) -> float:
    h, total = h0, 0.0
    for _ in range(z.shape[0]):
        h = np.tanh(W @ h)
        total += (h ** 2).sum()
    return float(total)


def _meta(w0: Any, lr: Any, xs: Any) -> Any:
    # a step that takes a gradient itself: unrolled gradient descent, then its meta-gradient
    def step(x_t: Any, w: Any) -> Any:
        return w - lr * ti.grad(lambda w: ((w * x_t).sum() - 1.0) ** 2)(w)

    ws, _ = ti.scan(step, sequences=xs, outputs_info=w0)
    return (ws[-1] ** 2).sum()


def _meta_np(w0: np.ndarray, lr: np.ndarray, xs: np.ndarray) -> float:
    w = w0
    for x in xs:
        w = w - lr * 2 * ((w * x).sum() - 1.0) * x
    return float((w ** 2).sum())


def _foldl(xs: Any, c: Any) -> Any:
    total, _ = ti.foldl(lambda x_t, acc, c: acc * c + ti.sin(x_t), sequences=xs, outputs_info=ti.zeros_like(xs[0]),
                        non_sequences=c)
    return (total ** 2).sum()


def _foldl_np(xs: np.ndarray, c: np.ndarray) -> float:
    acc = np.zeros_like(xs[0])
    for x in xs:
        acc = acc * c + np.sin(x)
    return float((acc ** 2).sum())


def _map(xs: Any, w: Any) -> Any:
    ys, _ = ti.map(lambda x_t, w: ti.exp(x_t * w).sum(), sequences=xs, non_sequences=w)
    return (ys * ys).sum()


CASES = [
    Case("rnn-last", lambda W, U, b, h0, xs: (_rnn(W, U, b, h0, xs)[-1] ** 2).sum(),
         lambda *a: float((_rnn_np(*a)[-1] ** 2).sum()), RNN_SHAPES, (0, 1, 2, 3, 4)),
    Case("rnn-mean", lambda W, U, b, h0, xs: _rnn(W, U, b, h0, xs).mean(),
         lambda *a: float(_rnn_np(*a).mean()), RNN_SHAPES, (0, 1, 2, 3, 4)),
    Case("cumprod", _cumprod, lambda x: float((np.cumprod(x, 0) * np.arange(1.0, 6.0)[:, None]).sum()),
         [(5, 2)], (0,), 0.5, 1.5),
    Case("two-tap", _two_tap, _two_tap_np, [(2, 3), (), (), (6, 3)], (0, 1, 2, 3)),
    Case("go-backwards", _backwards, _backwards_np, [(3, 3), (5, 3), (3,)], (0, 1, 2)),
    Case("non-fed-closure", _non_fed, _non_fed_np, [(3, 3), (4, 3), (3,), ()], (0, 1, 2, 3)),
    Case("nested", _nested, _nested_np, [(3, 3), (2, 4, 3)], (0, 1)),
    Case("n-steps", _power, _power_np, [(3, 3), (3,), (5,)], (0, 1)),
    Case("grad-in-step", _meta, _meta_np, [(3,), (), (4, 3)], (0, 1, 2)),
    Case("foldl", _foldl, _foldl_np, [(5, 3), ()], (0, 1)),
    Case("map", _map, lambda xs, w: float((np.exp(xs * w).sum(1) ** 2).sum()), [(4, 3), (3,)], (0, 1)),
]
PARAMS = [pytest.param(c, id=c.id) for c in CASES]


@pytest.mark.parametrize("case", PARAMS)
def test_gradients_match_finite_differences(case: Case) -> None:
    args = case.inputs()
    grads, _ = _expanded(ti.grad(case.loss, argnums=case.argnums), *args)
    assert len(grads) == len(case.argnums)
    for k, g in zip(case.argnums, grads):
        assert _rel_err(g, _numeric_grad(case.numpy, args, k)) < FD_TOL, f"argument {k}"


@pytest.mark.parametrize("case", PARAMS)
def test_compiled_gradients_match_the_interpreter(case: Case) -> None:
    args = case.inputs()
    f = ti.grad(case.loss, argnums=case.argnums)
    want, _ = _expanded(f, *args)
    got = ti.jit(f)(*args)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def test_the_backward_scan_runs_the_other_way_over_stored_carries() -> None:
    args = CASES[0].inputs()
    _, text = _expanded(ti.grad(CASES[0].loss, argnums=(0, 4)), *args)
    scans = re.findall(r'"tir.scan".*\{body = @(\w+),.*num_carry = (\d+).*num_xs = (\d+).*reverse = (\w+)\}', text)
    # forward: 1 carry (h), 1 sequence, the body also stacking h_t; backward:
    # carries (h̄, W̄), sequences (the stored h_t, xs, h̄s), reversed
    assert [(b.endswith("_res"), c, x, r) for b, c, x, r in scans] == [(True, "1", "1", "false"), (False, "2", "3", "true")]
    assert scans[1][0].endswith("_vjp")
    # the step is computed once per step forward and once in the backward body
    assert text.count('"tir.tanh"') == 2


def test_inactive_carries_get_no_cotangent() -> None:
    """The int counter and a float carry that depends on nothing differentiated
    are constants of the derivative: the backward scan carries only h̄."""

    def loss(W: Any, xs: Any, h0: Any) -> Any:
        def step(x_t: Any, h: Any, k: Any, m: Any) -> Any:
            return ti.tanh(W @ h + x_t * m), k + 1, m * 0.5

        (hs, _, _), _ = ti.scan(step, sequences=xs, outputs_info=[h0, np.int64(0), np.float64(1.0)])
        return hs.sum()

    rng = np.random.default_rng(3)
    args = [rng.normal(size=(3, 3)), rng.normal(size=(4, 3)), rng.normal(size=3)]
    (gh0,), text = _expanded(ti.grad(loss, argnums=2), *args)
    backward = [line for line in text.splitlines() if '"tir.scan"' in line and "reverse = true" in line]
    assert len(backward) == 1 and "num_carry = 1 " in backward[0]

    def loss_np(W: np.ndarray, xs: np.ndarray, h0: np.ndarray) -> float:
        h, m, total = h0, 1.0, 0.0
        for x in xs:
            h = np.tanh(W @ h + x * m)
            m *= 0.5
            total += h.sum()
        return float(total)

    assert _rel_err(gh0, _numeric_grad(loss_np, args, 2)) < FD_TOL


def test_a_value_the_scan_does_not_reach_gets_zeros() -> None:
    def loss(W: Any, xs: Any, h0: Any) -> Any:
        (hs, k), _ = ti.scan(lambda x_t, h, k: (ti.tanh(h + x_t), k + 1.0), sequences=xs,
                             outputs_info=[h0, np.float64(0.0)], non_sequences=None)
        return k[-1] + (W * 0.0).sum() * 0.0 + hs.sum() * 0.0 + k.sum()

    rng = np.random.default_rng(4)
    args = [rng.normal(size=(2, 2)), rng.normal(size=(3, 2)), rng.normal(size=2)]
    grads, _ = _expanded(ti.grad(loss, argnums=(1, 2)), *args)
    for g, a in zip(grads, args[1:]):
        np.testing.assert_array_equal(g, np.zeros_like(a))


def test_jvp_matches_finite_differences() -> None:
    rng = np.random.default_rng(5)
    args = [rng.uniform(-1, 1, size=s) for s in RNN_SHAPES]
    tangents = [rng.normal(size=s) for s in RNN_SHAPES]

    def f(*a: Any) -> Any:
        return ti.jvp(_rnn, a[:5], a[5:])

    (hs, dhs), _ = _expanded(f, *args, *tangents)
    eps = 1e-6
    plus = _rnn_np(*[a + eps * t for a, t in zip(args, tangents)])
    minus = _rnn_np(*[a - eps * t for a, t in zip(args, tangents)])
    np.testing.assert_allclose(hs, _rnn_np(*args), rtol=1e-13)
    assert _rel_err(dhs, (plus - minus) / (2 * eps)) < FD_TOL
    got = ti.jit(f)(*args, *tangents)
    np.testing.assert_allclose(got[1], dhs, rtol=1e-10, atol=1e-12)


def test_jvp_of_a_nested_scan() -> None:
    rng = np.random.default_rng(6)
    W, xs = rng.uniform(-1, 1, size=(3, 3)), rng.uniform(-1, 1, size=(2, 4, 3))
    dW = rng.normal(size=(3, 3))
    (_, d), _ = _expanded(lambda W, xs, dW: ti.jvp(lambda W: _nested(W, xs), (W,), (dW,)), W, xs, dW)
    eps = 1e-6
    want = (_nested_np(W + eps * dW, xs) - _nested_np(W - eps * dW, xs)) / (2 * eps)
    assert abs(float(d) - want) / max(abs(want), 1e-3) < FD_TOL


def test_jacobian_carries_its_batch_through_the_loop() -> None:
    """vjp with a batch of cotangents (the rows of a Jacobian): the stacked
    cotangents are transposed to scan over the steps and back."""
    rng = np.random.default_rng(7)
    args = [rng.uniform(-1, 1, size=s) for s in RNN_SHAPES]
    jac, _ = _expanded(ti.jacobian(_rnn, argnums=(0, 2, 3, 4)), *args)
    n, h = 6, 4
    for k, J in zip((0, 2, 3, 4), jac):
        assert J.shape == (n, h) + args[k].shape
        want = np.zeros_like(J)
        for idx in np.ndindex(args[k].shape):
            plus = [a.copy() for a in args]
            minus = [a.copy() for a in args]
            plus[k][idx] += 1e-6
            minus[k][idx] -= 1e-6
            want[(slice(None), slice(None)) + idx] = (_rnn_np(*plus) - _rnn_np(*minus)) / 2e-6
        assert _rel_err(J, want) < FD_TOL, f"argument {k}"
    got = ti.jit(ti.jacobian(_rnn, argnums=(0, 2, 3, 4)))(*args)
    for g, w in zip(got, jac):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def _loss_sum_sq(W: Any, xs: Any, h0: Any) -> Any:
    hs, _ = ti.scan(lambda x_t, h: ti.tanh(W @ h + x_t), sequences=xs, outputs_info=h0)
    return (hs ** 2).sum()


def _loss_sum_sq_np(W: np.ndarray, xs: np.ndarray, h0: np.ndarray) -> float:
    h, total = h0, 0.0
    for x in xs:
        h = np.tanh(W @ h + x)
        total += (h ** 2).sum()
    return float(total)


def _hvp_inputs() -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(8)
    W, xs, h0 = rng.uniform(-0.6, 0.6, size=(3, 3)), rng.uniform(-1, 1, size=(4, 3)), rng.uniform(-1, 1, size=3)
    return W, xs, h0, rng.normal(size=(3, 3))


def _gv(W: Any, xs: Any, h0: Any, V: Any) -> Any:
    """The gradient's product with V: its gradient is a Hessian-vector product."""
    return (ti.grad(_loss_sum_sq)(W, xs, h0) * V).sum()


def test_hessian_vector_product_by_grad_of_grad() -> None:
    """The outer gradient differentiates the inner one's scans, the
    reversed backward scan included."""
    W, xs, h0, V = _hvp_inputs()

    (hv,), _ = _expanded(ti.grad(_gv), W, xs, h0, V)
    eps = 1e-4
    grad_np = lambda W: _numeric_grad(_loss_sum_sq_np, [W, xs, h0], 0, 1e-5)  # noqa: E731
    want = (grad_np(W + eps * V) - grad_np(W - eps * V)) / (2 * eps)
    assert _rel_err(hv, want) < 1e-5  # nested differences: ~1e-8 of noise


def test_jvp_of_grad_is_the_same_hessian_vector_product() -> None:
    rng = np.random.default_rng(9)
    W, xs, h0 = rng.uniform(-0.6, 0.6, size=(3, 3)), rng.uniform(-1, 1, size=(4, 3)), rng.uniform(-1, 1, size=3)
    V = rng.normal(size=(3, 3))

    def by_jvp(W: Any, xs: Any, h0: Any, V: Any) -> Any:
        return ti.jvp(lambda W: ti.grad(_loss_sum_sq)(W, xs, h0), (W,), (V,))[1]

    def by_grad(W: Any, xs: Any, h0: Any, V: Any) -> Any:
        return ti.grad(lambda W: (ti.grad(_loss_sum_sq)(W, xs, h0) * V).sum())(W)

    (a,), _ = _expanded(by_jvp, W, xs, h0, V)
    (b,), _ = _expanded(by_grad, W, xs, h0, V)
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_grad_in_a_compiled_symbolic_function() -> None:
    """Theano style: shared weights, ti.grad(cost, wrt), ti.function."""
    rng = np.random.default_rng(10)
    W0, U0, b0 = rng.uniform(-0.5, 0.5, size=(4, 4)), rng.uniform(-0.5, 0.5, size=(4, 3)), rng.uniform(-0.5, 0.5, size=4)
    W, U, b = ti.shared(W0, "W"), ti.shared(U0, "U"), ti.shared(b0, "b")
    xs, h0 = ti.matrix("xs", "float64"), ti.vector("h0", "float64")
    hs, _ = ti.scan(lambda x_t, h: ti.tanh(W @ h + U @ x_t + b), sequences=xs, outputs_info=h0)
    cost = (hs[-1] ** 2).sum()
    f = ti.function([xs, h0], [cost] + ti.grad(cost, [W, U, b, h0, xs]))
    X, H = rng.uniform(-1, 1, size=(6, 3)), rng.uniform(-1, 1, size=4)
    out = f(X, H)
    args = [W0, U0, b0, H, X]
    loss_np = lambda *a: float((_rnn_np(*a)[-1] ** 2).sum())  # noqa: E731
    assert abs(float(out[0]) - loss_np(*args)) < 1e-12
    for k, g in enumerate(out[1:]):
        assert _rel_err(np.asarray(g), _numeric_grad(loss_np, args, k)) < FD_TOL, f"input {k}"
    # one compile serves another sequence length
    X2 = rng.uniform(-1, 1, size=(9, 3))
    out2 = f(X2, H)
    assert _rel_err(np.asarray(out2[5]), _numeric_grad(loss_np, [W0, U0, b0, H, X2], 4)) < FD_TOL


def test_float32_gradient_agrees_with_float64() -> None:
    args = CASES[0].inputs()
    f = ti.jit(ti.grad(CASES[0].loss, argnums=(0, 1, 2, 3, 4)))
    g64 = f(*args)
    g32 = f(*[a.astype(np.float32) for a in args])
    for a, b in zip(g32, g64):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_two_sweeps_through_one_scan_store_its_carries_once() -> None:
    """Two pullbacks of one scan: the second sweep finds the stored carries
    among the outputs of the scan the first one rebuilt."""
    rng = np.random.default_rng(11)
    W, xs, h0 = rng.uniform(-1, 1, size=(3, 3)), rng.uniform(-1, 1, size=(5, 3)), rng.uniform(-1, 1, size=3)
    u1, u2 = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))

    def two(W: Any, xs: Any, h0: Any, u1: Any, u2: Any) -> Any:
        _, back = ti.vjp(lambda W: _rnn(W, np.zeros((3, 3)), np.zeros(3), h0, xs), W)
        return back(u1)[0], back(u2)[0]

    (g1, g2), text = _expanded(two, W, xs, h0, u1, u2)
    assert len(re.findall(r"func.func private @\w+_res\(", text)) == 1
    assert text.count('"tir.scan"') == 3  # the forward scan and one backward scan per pullback
    for u, g in ((u1, g1), (u2, g2)):
        f = lambda W: float((_rnn_np(W, np.zeros((3, 3)), np.zeros(3), h0, xs) * u).sum())  # noqa: E731
        assert _rel_err(g, _numeric_grad(f, [W], 0)) < FD_TOL


def test_a_step_returning_its_state_needs_no_rebuilt_scan() -> None:
    def loss(W: Any, xs: Any, h0: Any) -> Any:
        (hs, prev), _ = ti.scan(lambda x_t, h: (ti.tanh(W @ h + x_t), h), sequences=xs, outputs_info=[h0, None])
        return (hs * prev).sum()

    rng = np.random.default_rng(12)
    args = [rng.uniform(-1, 1, size=(3, 3)), rng.uniform(-1, 1, size=(4, 3)), rng.uniform(-1, 1, size=3)]
    grads, text = _expanded(ti.grad(loss, argnums=(0, 1, 2)), *args)
    assert "_res(" not in text

    def loss_np(W: np.ndarray, xs: np.ndarray, h0: np.ndarray) -> float:
        h, total = h0, 0.0
        for x in xs:
            h, prev = np.tanh(W @ h + x), h
            total += (h * prev).sum()
        return float(total)

    for k, g in enumerate(grads):
        assert _rel_err(g, _numeric_grad(loss_np, args, k)) < FD_TOL


@pytest.mark.xfail(raises=CompileError, strict=True,
                   reason="the lowered second-order scans fail one-shot bufferization (tensor.collapse_shape RaW conflict)")
def test_compiled_hessian_vector_product() -> None:
    W, xs, h0, V = _hvp_inputs()

    (want,), _ = _expanded(ti.grad(_gv), W, xs, h0, V)
    np.testing.assert_allclose(ti.jit(ti.grad(_gv))(W, xs, h0, V), want, rtol=1e-10, atol=1e-12)
