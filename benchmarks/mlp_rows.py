"""The autodiff rows of ``run.py``: a tanh MLP's softmax cross-entropy,
forward only and ``value_and_grad``, in tensorir, NumPy, JAX and PyTensor.

The model, for sizes ``D-H1-H2-C`` and a batch of ``B`` examples::

    h1 = tanh(x @ W1 + b1); h2 = tanh(h1 @ W2 + b2); z = h2 @ W3 + b3
    loss = mean over the batch of -sum(y * log_softmax(z))     # y one-hot

Every backend gets the same float32 data: random normal inputs, weights
scaled by ``1 / sqrt(fan_in)``, zero biases, random one-hot labels. The NumPy
baseline is a hand-written forward pass and backpropagation; before any
timing, every backend's loss and gradient are checked against it.

Each backend is compiled on its first call (excluded from timing). JAX is
given its arrays already on its device (``jax.device_put``), as a training
loop would hold them.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

import tensorir as ti

Params = dict[str, np.ndarray]
Fn = Callable[..., Any]

# Every pytensor.function compiled by the benchmarks, for run.py's note on
# how PyTensor ran them (C or Python per op).
PYTENSOR_FUNCTIONS: list[Any] = []

FULL = (256, 784, 512, 512, 10)  # batch, input, hidden 1, hidden 2, classes
QUICK = (8, 32, 16, 16, 10)


def mlp_data(sizes: tuple[int, int, int, int, int], seed: int = 0) -> tuple[Params, np.ndarray, np.ndarray]:
    """``(params, x, y)`` in float32: scaled normal weights, zero biases, one-hot ``y``."""
    batch, d, h1, h2, c = sizes
    rng = np.random.default_rng(seed)

    def weight(fan_in: int, fan_out: int) -> np.ndarray:
        return (rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(np.float32)

    params = {
        "W1": weight(d, h1), "b1": np.zeros(h1, np.float32),
        "W2": weight(h1, h2), "b2": np.zeros(h2, np.float32),
        "W3": weight(h2, c), "b3": np.zeros(c, np.float32),
    }
    x = rng.standard_normal((batch, d)).astype(np.float32)
    y = np.eye(c, dtype=np.float32)[rng.integers(0, c, batch)]
    return params, x, y


def make_loss(m: Any, log_softmax: Callable[[Any], Any]) -> Fn:
    """The loss written once against a NumPy-like module ``m`` (tensorir, jax.numpy, pytensor.tensor)."""

    def loss(p: Any, x: Any, y: Any) -> Any:
        h = m.tanh(x @ p["W1"] + p["b1"])
        h = m.tanh(h @ p["W2"] + p["b2"])
        z = h @ p["W3"] + p["b3"]
        return -(y * log_softmax(z)).sum(axis=1).mean()

    return loss


# ---------------------------------------------------------------------------
# NumPy: forward and hand-written backpropagation


def _np_forward(p: Params, x: np.ndarray, y: np.ndarray) -> tuple[np.float32, tuple[np.ndarray, ...]]:
    h1 = np.tanh(x @ p["W1"] + p["b1"])
    h2 = np.tanh(h1 @ p["W2"] + p["b2"])
    z = h2 @ p["W3"] + p["b3"]
    shifted = z - z.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -(y * logp).sum(axis=1).mean(), (h1, h2, logp)


def numpy_forward(p: Params, x: np.ndarray, y: np.ndarray) -> np.float32:
    return _np_forward(p, x, y)[0]


def numpy_value_and_grad(p: Params, x: np.ndarray, y: np.ndarray) -> tuple[np.float32, Params]:
    """Loss and its gradient by backpropagation.

    With ``L = -(1/n) sum_i sum_c y_ic logp_ic``: ``dL/dz = (softmax(z) * rowsum(y) - y) / n``;
    through ``z = h @ W + b``: ``dW = h.T @ dz``, ``db = colsum(dz)``, ``dh = dz @ W.T``;
    through ``h = tanh(a)``: ``da = dh * (1 - h**2)``.
    """
    loss, (h1, h2, logp) = _np_forward(p, x, y)
    dz3 = (np.exp(logp) * y.sum(axis=1, keepdims=True) - y) / np.float32(x.shape[0])
    dz2 = (dz3 @ p["W3"].T) * (1 - h2 * h2)
    dz1 = (dz2 @ p["W2"].T) * (1 - h1 * h1)
    grads = {
        "W3": h2.T @ dz3, "b3": dz3.sum(axis=0),
        "W2": h1.T @ dz2, "b2": dz2.sum(axis=0),
        "W1": x.T @ dz1, "b1": dz1.sum(axis=0),
    }
    return loss, grads


# ---------------------------------------------------------------------------
# The other backends: each returns (forward, value_and_grad, args) or None


def tensorir_fns(params: Params, x: np.ndarray, y: np.ndarray) -> tuple[Fn, Fn, tuple]:
    loss = make_loss(ti, lambda z: ti.nn.log_softmax(z, axis=-1))
    return ti.jit(loss), ti.value_and_grad(loss), (params, x, y)


def jax_fns(params: Params, x: np.ndarray, y: np.ndarray) -> tuple[Fn, Fn, tuple] | None:
    try:
        import jax
        import jax.numpy as jnp
    except Exception:  # noqa: BLE001 - an optional column
        return None
    loss = make_loss(jnp, lambda z: jax.nn.log_softmax(z, axis=-1))
    fwd, vg = jax.jit(loss), jax.jit(jax.value_and_grad(loss))
    args = jax.device_put((params, x, y))
    return (lambda *a: jax.block_until_ready(fwd(*a)),
            lambda *a: jax.block_until_ready(vg(*a)), args)


def pytensor_fns(params: Params, x: np.ndarray, y: np.ndarray) -> tuple[Fn, Fn, tuple] | None:
    try:
        import pytensor
        import pytensor.tensor as pt
        from pytensor.tensor.special import log_softmax
    except Exception:  # noqa: BLE001 - an optional column
        return None
    names = sorted(params)
    sym = {k: pt.tensor(k, dtype="float32", shape=(None,) * params[k].ndim) for k in names}
    xs = pt.tensor("x", dtype="float32", shape=(None, None))
    ys = pt.tensor("y", dtype="float32", shape=(None, None))
    cost = make_loss(pt, lambda z: log_softmax(z, axis=-1))(sym, xs, ys)
    inputs = [sym[k] for k in names] + [xs, ys]
    fwd = pytensor.function(inputs, cost)
    vg = pytensor.function(inputs, [cost, *pytensor.grad(cost, [sym[k] for k in names])])
    PYTENSOR_FUNCTIONS.extend([fwd, vg])

    def value_and_grad(p: Params, xv: np.ndarray, yv: np.ndarray) -> tuple[Any, Params]:
        value, *grads = vg(*(p[k] for k in names), xv, yv)
        return value, dict(zip(names, grads))

    return (lambda p, xv, yv: fwd(*(p[k] for k in names), xv, yv)), value_and_grad, (params, x, y)


# ---------------------------------------------------------------------------
# The rows


def check_against_numpy(name: str, value: Any, grads: Any, want: np.float32, want_grads: Params) -> None:
    """Fail loudly when a backend's loss or gradient disagrees with backpropagation in NumPy."""
    np.testing.assert_allclose(np.asarray(value), want, rtol=1e-4, err_msg=f"{name}: loss")
    for k, g in want_grads.items():
        scale = float(np.abs(g).max())
        np.testing.assert_allclose(np.asarray(grads[k]), g, rtol=1e-3, atol=1e-4 * scale,
                                   err_msg=f"{name}: gradient of {k}")


def mlp_rows(quick: bool, repeat: int, best_time: Callable[..., float]) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """The ``mlp value_and_grad`` and ``mlp forward only`` rows, and per backend
    the ratio ``value_and_grad time / forward time``."""
    sizes = QUICK if quick else FULL
    batch, d, h1, h2, c = sizes
    params, x, y = mlp_data(sizes)
    want, want_grads = numpy_value_and_grad(params, x, y)
    np.testing.assert_allclose(want, numpy_forward(params, x, y), rtol=1e-6)
    runs = repeat if quick else 5 * repeat  # milliseconds each: more runs, a steadier minimum

    backends: dict[str, tuple[Fn, Fn, tuple]] = {
        "numpy": (numpy_forward, numpy_value_and_grad, (params, x, y)),
        "tensorir": tensorir_fns(params, x, y),
    }
    for name, build in (("jax", jax_fns), ("pytensor", pytensor_fns)):
        fns = build(params, x, y)
        if fns is not None:
            backends[name] = fns

    shape = f"{d}-{h1}-{h2}-{c}, batch {batch}, f32"
    vg_row: dict[str, Any] = {"label": f"mlp value_and_grad {shape}", "flops": None}
    fw_row: dict[str, Any] = {"label": f"mlp forward only {shape}", "flops": None}
    for name, (fwd, vg, args) in backends.items():
        value, grads = vg(*args)  # compiles
        check_against_numpy(name, value, grads, want, want_grads)
        np.testing.assert_allclose(np.asarray(fwd(*args)), want, rtol=1e-4, err_msg=f"{name}: forward loss")
        vg_row[name] = best_time(vg, args, runs)
        fw_row[name] = best_time(fwd, args, runs)
    cost = {name: vg_row[name] / fw_row[name] for name in backends}
    return [vg_row, fw_row], cost


def autodiff_cost_line(cost: dict[str, float]) -> str:
    """``autodiff cost (tensorir): value_and_grad / forward = 2.7x (jax 2.9x, numpy 2.5x)``."""
    others = ", ".join(f"{k} {cost[k]:.1f}x" for k in ("jax", "pytensor", "numpy") if k in cost)
    return f"autodiff cost (tensorir): value_and_grad / forward = {cost['tensorir']:.1f}x ({others})"
