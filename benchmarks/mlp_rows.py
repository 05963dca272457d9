"""The MLP training-step row of ``run.py``: one step of SGD on a ReLU MLP's
softmax cross-entropy, parameters kept by each system between calls.

The model, for sizes ``D-H1-H2-C`` and a batch of ``B`` examples::

    h1 = relu(x @ W1 + b1); h2 = relu(h1 @ W2 + b2); z = h2 @ W3 + b3
    loss = mean over the batch of -sum(y * log_softmax(z))     # y one-hot
    every parameter p <- p - lr * dloss/dp

How each system holds its parameters and runs the step:

* tensorir: ``ti.shared`` variables and one ``ti.function([x, y], loss,
  updates=...)`` built from ``ti.grad`` (Theano's style: the update is
  written in place);
* PyTensor: the same with ``pytensor.shared`` and ``pytensor.function``
  updates;
* JAX: a ``jax.jit`` step taking the parameters and returning new ones,
  with the parameters donated (``donate_argnums``) so XLA may update them
  in place;
* PyTorch: eager autograd (``torch.autograd.grad``) and an in-place
  ``sub_`` under ``no_grad``;
* NumPy: forward and backpropagation written by hand, ``p -= lr * g``.

Every system starts from the same float32 data (normal inputs, weights
scaled by ``1 / sqrt(fan_in)``, zero biases, random one-hot labels); before
any timing, one step of each is checked against the same step in float64
NumPy (the loss, and each parameter's change against ``lr * gradient``).
The data and that reference are made once in the parent (:func:`prepare`);
each system's step is built in its own worker process (:func:`kernel`).
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Callable

import numpy as np

from harness import PYTENSOR_FUNCTIONS, Built, Goal, Spec, check, optional

# JAX warns when a platform cannot reuse donated buffers.
warnings.filterwarnings("ignore", message="Some donated buffers were not usable")

Params = dict[str, np.ndarray]
Trainer = tuple[Callable[..., Any], tuple, Callable[[], Params]]  # step(x, y) -> loss, (x, y), parameters

FULL = (256, 784, 512, 512, 10)  # batch, input, hidden 1, hidden 2, classes
QUICK = (8, 32, 16, 16, 10)
LR = np.float32(0.01)
NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")


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


def step_flops(sizes: tuple[int, int, int, int, int]) -> float:
    """Multiply-adds x 2 of one step: the forward products, one product per weight
    gradient, and the products carrying the gradient back into ``h2`` and ``h1``."""
    batch, d, h1, h2, c = sizes
    forward = d * h1 + h1 * h2 + h2 * c
    return 2.0 * batch * (2 * forward + h1 * h2 + h2 * c)


def make_loss(relu: Callable[[Any], Any], log_softmax: Callable[[Any], Any]) -> Callable[..., Any]:
    """The loss written once for every system's arrays or symbolic variables."""

    def loss(p: Any, x: Any, y: Any) -> Any:
        h = relu(x @ p["W1"] + p["b1"])
        h = relu(h @ p["W2"] + p["b2"])
        z = h @ p["W3"] + p["b3"]
        return -(y * log_softmax(z)).sum(1).mean()

    return loss


# ---------------------------------------------------------------------------
# NumPy: forward and hand-written backpropagation (also the float64 reference)


def numpy_loss_and_grads(p: Params, x: np.ndarray, y: np.ndarray) -> tuple[Any, Params]:
    """Loss and gradient by backpropagation, in the dtype of the arguments.

    With ``L = -(1/n) sum_i sum_c y_ic logp_ic``: ``dL/dz = (softmax(z) * rowsum(y) - y) / n``;
    through ``z = h @ W + b``: ``dW = h.T @ dz``, ``db = colsum(dz)``, ``dh = dz @ W.T``;
    through ``h = relu(a)``: ``da = dh * (h > 0)``.
    """
    h1 = np.maximum(x @ p["W1"] + p["b1"], 0)
    h2 = np.maximum(h1 @ p["W2"] + p["b2"], 0)
    z = h2 @ p["W3"] + p["b3"]
    shifted = z - z.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -(y * logp).sum(axis=1).mean()
    dz3 = (np.exp(logp) * y.sum(axis=1, keepdims=True) - y) / x.dtype.type(x.shape[0])
    dz2 = (dz3 @ p["W3"].T) * (h2 > 0)
    dz1 = (dz2 @ p["W2"].T) * (h1 > 0)
    grads = {
        "W3": h2.T @ dz3, "b3": dz3.sum(axis=0),
        "W2": h1.T @ dz2, "b2": dz2.sum(axis=0),
        "W1": x.T @ dz1, "b1": dz1.sum(axis=0),
    }
    return loss, grads


def numpy_trainer(params: Params, x: np.ndarray, y: np.ndarray) -> Trainer:
    p = {k: v.copy() for k, v in params.items()}

    def step(xv: np.ndarray, yv: np.ndarray) -> Any:
        loss, grads = numpy_loss_and_grads(p, xv, yv)
        for k, g in grads.items():
            g *= LR
            p[k] -= g
        return loss

    return step, (x, y), lambda: {k: v.copy() for k, v in p.items()}


# ---------------------------------------------------------------------------
# The other systems


def tensorir_trainer(params: Params, x: np.ndarray, y: np.ndarray) -> Trainer:
    import tensorir as ti

    shared = {k: ti.shared(params[k].copy(), name=k) for k in NAMES}
    xs, ys = ti.matrix("x", "float32"), ti.matrix("y", "float32")
    cost = make_loss(ti.nn.relu, lambda z: ti.nn.log_softmax(z, axis=-1))(shared, xs, ys)
    grads = ti.grad(cost, [shared[k] for k in NAMES])
    step = ti.function([xs, ys], cost, updates=[(shared[k], shared[k] - g * LR) for k, g in zip(NAMES, grads)])
    return step, (x, y), lambda: {k: shared[k].get_value() for k in NAMES}


def pytensor_trainer(params: Params, x: np.ndarray, y: np.ndarray) -> Trainer:
    pytensor, pt = optional("pytensor"), optional("pytensor.tensor")
    special = optional("pytensor.tensor.special")
    shared = {k: pytensor.shared(params[k].copy(), name=k) for k in NAMES}
    xs, ys = pt.matrix("x", dtype="float32"), pt.matrix("y", dtype="float32")
    cost = make_loss(lambda a: pt.maximum(a, 0), lambda z: special.log_softmax(z, axis=-1))(shared, xs, ys)
    grads = pytensor.grad(cost, [shared[k] for k in NAMES])
    step = pytensor.function([xs, ys], cost, updates=[(shared[k], shared[k] - g * LR) for k, g in zip(NAMES, grads)])
    PYTENSOR_FUNCTIONS.append(step)
    return step, (x, y), lambda: {k: shared[k].get_value() for k in NAMES}


def jax_trainer(params: Params, x: np.ndarray, y: np.ndarray) -> Trainer:
    jax = optional("jax")
    loss = make_loss(jax.nn.relu, lambda z: jax.nn.log_softmax(z, axis=-1))

    def update(p: Any, xv: Any, yv: Any) -> tuple[Any, Any]:
        value, grads = jax.value_and_grad(loss)(p, xv, yv)
        return jax.tree_util.tree_map(lambda w, g: w - g * LR, p, grads), value

    jitted = jax.jit(update, donate_argnums=0)
    state = {"p": jax.device_put({k: params[k].copy() for k in NAMES})}

    def step(xv: Any, yv: Any) -> Any:
        state["p"], value = jitted(state["p"], xv, yv)
        return jax.block_until_ready((state["p"], value))[1]

    return step, tuple(jax.device_put((x, y))), lambda: {k: np.array(v) for k, v in state["p"].items()}


def torch_trainer(params: Params, x: np.ndarray, y: np.ndarray) -> Trainer:
    torch = optional("torch")
    torch.set_num_threads(os.cpu_count() or 1)
    p = {k: torch.from_numpy(params[k].copy()).requires_grad_() for k in NAMES}
    loss = make_loss(torch.relu, lambda z: torch.log_softmax(z, -1))
    leaves = [p[k] for k in NAMES]

    def step(xv: Any, yv: Any) -> Any:
        cost = loss(p, xv, yv)
        grads = torch.autograd.grad(cost, leaves)
        with torch.no_grad():
            for w, g in zip(leaves, grads):
                w.sub_(g, alpha=float(LR))
        return cost.detach()

    return (step, (torch.from_numpy(x.copy()), torch.from_numpy(y.copy())),
            lambda: {k: v.detach().numpy().copy() for k, v in p.items()})


TRAINERS: dict[str, Callable[[Params, np.ndarray, np.ndarray], Trainer]] = {
    "tensorir": tensorir_trainer, "numpy": numpy_trainer, "pytensor": pytensor_trainer,
    "jax": jax_trainer, "torch": torch_trainer,
}


# ---------------------------------------------------------------------------
# The row


def _sizes(quick: bool) -> tuple[int, int, int, int, int]:
    return QUICK if quick else FULL


def specs(quick: bool, rounds: int) -> list[Spec]:
    """The ``mlp training step`` row, for ``workers.Workers.rows``."""
    sizes = _sizes(quick)
    batch, d, h1, h2, c = sizes
    return [Spec("mlp_rows", "step", quick, f"mlp training step {d}-{h1}-{h2}-{c} relu [batch {batch}]",
                 rounds if quick else 3 * rounds, 1 if quick else 5, Goal(seconds=4e-3), "ms",
                 flops=step_flops(sizes))]


def prepare(key: str, quick: bool) -> dict[str, np.ndarray]:
    """In the parent: the parameters, ``x`` and ``y`` (float32), and the float64
    loss ``want_loss`` and gradients ``want_W1, ...`` of one step from them."""
    params, x, y = mlp_data(_sizes(quick))
    p64 = {k: v.astype(np.float64) for k, v in params.items()}
    want, want_grads = numpy_loss_and_grads(p64, x.astype(np.float64), y.astype(np.float64))
    return {**params, "x": x, "y": y, "want_loss": np.asarray(want),
            **{f"want_{k}": g for k, g in want_grads.items()}}


def kernel(key: str, quick: bool, system: str, data: dict[str, np.ndarray]) -> Built:
    """In ``system``'s worker: its training step on the data of :func:`prepare`,
    and a check of one step: the loss, and each parameter's change against
    ``lr * gradient``."""
    params = {k: data[k] for k in NAMES}
    step, args, get = TRAINERS[system](params, data["x"], data["y"])

    def verify(name: str, loss: Any) -> None:
        check(name, loss, data["want_loss"], 1e-4, 0.0, "loss")
        now = get()
        for k in NAMES:
            check(name, params[k] - now[k], float(LR) * data[f"want_{k}"], 2e-3, 2e-3, f"the change of {k}")

    return step, args, verify


def main(argv: list[str] | None = None) -> int:
    """``python benchmarks/mlp_rows.py [--quick] [--rounds N]``: this row alone."""
    from workers import row_main

    return row_main("mlp_rows", argv)


if __name__ == "__main__":
    import sys

    sys.exit(main())
