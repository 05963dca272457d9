"""The RNN row of ``run.py``: a recurrent layer run for 100 steps, its loss and
the gradient with respect to both weight matrices, in tensorir (``ti.scan``),
NumPy, JAX (``jax.lax.scan``), PyTensor (``pytensor.scan``) and PyTorch.

The recurrence, in the row-vector convention of the other rows (a batch of
``B`` hidden states, one per row), over ``T`` steps of inputs ``xs[t]``::

    h_0 = 0;  h_t = tanh(h_{t-1} @ W + xs[t] @ U)     # W: (H, H), U: (D, H)
    loss = sum over t, batch and units of h_t

and its gradient with respect to ``W`` and ``U``. Every system gets the
same float32 data: normal inputs, weights scaled by ``1 / sqrt(fan_in)``
(``W``) and ``0.5 / sqrt(D)`` (``U``) so the states stay off tanh's flat
ends. The NumPy baseline is a Python loop for the forward pass and a
hand-written backpropagation through time for the gradient (a loop back
over the steps for the state's cotangent, then one gemm each for ``dW``
and ``dU`` over all steps at once); run in float64, it is the reference
every system's loss and gradient are checked against before any timing.
PyTorch runs eagerly: a Python loop over the steps and
``torch.autograd.grad``. JAX is given its arrays already on its device.
The data and the reference are made once in the parent (:func:`prepare`);
each system's function is built in its own worker process (:func:`kernel`).
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Callable

import numpy as np

from harness import PYTENSOR_FUNCTIONS, Built, Goal, Kernel, Spec, check, optional

Grads = tuple[np.ndarray, np.ndarray]

FULL = (100, 32, 128, 256)  # steps, batch, input, hidden
QUICK = (10, 4, 8, 8)


def scan_data(sizes: tuple[int, int, int, int], seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(W, U, xs)`` in float32 for ``sizes = (steps, batch, input, hidden)``."""
    steps, batch, d, h = sizes
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((h, h)) / np.sqrt(h)).astype(np.float32)
    u = (0.5 * rng.standard_normal((d, h)) / np.sqrt(d)).astype(np.float32)
    xs = rng.standard_normal((steps, batch, d)).astype(np.float32)
    return w, u, xs


def rnn_flops(sizes: tuple[int, int, int, int]) -> float:
    """Multiply-adds x 2 of the loss and gradient: per step the forward products
    ``h @ W`` and ``x_t @ U``, their two weight gradients and ``da @ W.T``."""
    steps, batch, d, h = sizes
    return 2.0 * steps * batch * (2 * (h * h + d * h) + h * h)


# ---------------------------------------------------------------------------
# NumPy: a loop forward, and backpropagation through time


def numpy_value_and_grad(w: np.ndarray, u: np.ndarray, xs: np.ndarray) -> tuple[Any, Grads]:
    """Loss and ``(dW, dU)`` by backpropagation through time.

    With ``a_t = h_{t-1} @ W + x_t @ U`` and ``h_t = tanh(a_t)``, the
    cotangent of ``h_t`` is ``1`` (its own term of the sum) plus what flows
    back from step ``t + 1``: ``g_t = 1 + da_{t+1} @ W.T``, ``da_t = g_t *
    (1 - h_t**2)``. Then ``dW = sum_t h_{t-1}.T @ da_t`` and ``dU = sum_t
    x_t.T @ da_t``, each one gemm over the stacked steps.
    """
    steps, batch, d = xs.shape
    hidden = w.shape[0]
    hs = np.zeros((steps + 1, batch, hidden), w.dtype)  # hs[0] = h_0 = 0
    for t in range(steps):
        hs[t + 1] = np.tanh(hs[t] @ w + xs[t] @ u)
    da = np.empty((steps, batch, hidden), w.dtype)
    carry = np.zeros((batch, hidden), w.dtype)  # da_{t+1} @ W.T
    for t in range(steps - 1, -1, -1):
        h = hs[t + 1]
        da[t] = (1 + carry) * (1 - h * h)
        carry = da[t] @ w.T
    da2 = da.reshape(-1, hidden)
    dw = hs[:-1].reshape(-1, hidden).T @ da2
    du = xs.reshape(-1, d).T @ da2
    return hs[1:].sum(), (dw, du)


# ---------------------------------------------------------------------------
# The other systems: each returns its value_and_grad and the arguments it takes


def _tensorir_loss(w: Any, u: Any, xs: Any) -> Any:
    import tensorir as ti

    h0 = ti.zeros((xs.shape[1], w.shape[0]), xs.dtype)
    hs, _ = ti.scan(lambda x_t, h: ti.tanh(h @ w + x_t @ u), sequences=xs, outputs_info=h0)
    return hs.sum()


def tensorir_fn(w: np.ndarray, u: np.ndarray, xs: np.ndarray) -> Kernel:
    import tensorir as ti

    return ti.value_and_grad(_tensorir_loss, argnums=(0, 1)), (w, u, xs)


def jax_fn(w: np.ndarray, u: np.ndarray, xs: np.ndarray) -> Kernel:
    jax = optional("jax")
    jnp = jax.numpy

    def loss(w: Any, u: Any, xs: Any) -> Any:
        def step(h: Any, x_t: Any) -> tuple[Any, Any]:
            h = jnp.tanh(h @ w + x_t @ u)
            return h, h

        _, hs = jax.lax.scan(step, jnp.zeros((xs.shape[1], w.shape[0]), xs.dtype), xs)
        return hs.sum()

    vg = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
    return (lambda *a: jax.block_until_ready(vg(*a))), tuple(jax.device_put((w, u, xs)))


def pytensor_fn(w: np.ndarray, u: np.ndarray, xs: np.ndarray) -> Kernel:
    pytensor, pt = optional("pytensor"), optional("pytensor.tensor")
    ws = pt.tensor("W", dtype="float32", shape=(None, None))
    us = pt.tensor("U", dtype="float32", shape=(None, None))
    xss = pt.tensor("xs", dtype="float32", shape=(None, None, None))
    h0 = pt.zeros((xss.shape[1], ws.shape[0]), dtype="float32")
    with warnings.catch_warnings():  # newer releases warn that scan will stop returning updates
        warnings.simplefilter("ignore", DeprecationWarning)
        hs, _ = pytensor.scan(lambda x_t, h, w_, u_: pt.tanh(h @ w_ + x_t @ u_),
                              sequences=xss, outputs_info=h0, non_sequences=[ws, us])
    cost = hs.sum()
    vg = pytensor.function([ws, us, xss], [cost, *pytensor.grad(cost, [ws, us])])
    PYTENSOR_FUNCTIONS.append(vg)

    def value_and_grad(*args: np.ndarray) -> tuple[Any, Grads]:
        value, dw, du = vg(*args)
        return value, (dw, du)

    return value_and_grad, (w, u, xs)


def torch_fn(w: np.ndarray, u: np.ndarray, xs: np.ndarray) -> Kernel:
    torch = optional("torch")
    torch.set_num_threads(os.cpu_count() or 1)

    def value_and_grad(wt: Any, ut: Any, xst: Any) -> tuple[Any, Any]:
        h = torch.zeros((xst.shape[1], wt.shape[0]), dtype=xst.dtype)
        total = 0
        for x_t in xst:
            h = torch.tanh(h @ wt + x_t @ ut)
            total = total + h.sum()
        return total.detach(), torch.autograd.grad(total, (wt, ut))

    args = (torch.from_numpy(w.copy()).requires_grad_(), torch.from_numpy(u.copy()).requires_grad_(),
            torch.from_numpy(xs.copy()))
    return value_and_grad, args


BUILDERS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], Kernel]] = {
    "tensorir": tensorir_fn, "numpy": lambda w, u, xs: (numpy_value_and_grad, (w, u, xs)),
    "jax": jax_fn, "pytensor": pytensor_fn, "torch": torch_fn,
}


# ---------------------------------------------------------------------------
# The row


def _sizes(quick: bool) -> tuple[int, int, int, int]:
    return QUICK if quick else FULL


def specs(quick: bool, rounds: int) -> list[Spec]:
    """The ``rnn value_and_grad`` row, for ``workers.Workers.rows``."""
    sizes = _sizes(quick)
    steps, batch, d, h = sizes
    return [Spec("scan_rows", "rnn", quick, f"rnn {steps} steps value_and_grad W,U [B={batch} D={d} H={h}]",
                 rounds, 1 if quick else 3, Goal(seconds=14e-3), "ms", flops=rnn_flops(sizes))]


def prepare(key: str, quick: bool) -> dict[str, np.ndarray]:
    """In the parent: ``W``, ``U``, ``xs`` (float32) and the float64 loss
    ``want_loss`` and gradients ``want_W``, ``want_U`` by backpropagation through time."""
    w, u, xs = scan_data(_sizes(quick))
    want, (dw, du) = numpy_value_and_grad(w.astype(np.float64), u.astype(np.float64), xs.astype(np.float64))
    return {"W": w, "U": u, "xs": xs, "want_loss": np.asarray(want), "want_W": dw, "want_U": du}


def kernel(key: str, quick: bool, system: str, data: dict[str, np.ndarray]) -> Built:
    """In ``system``'s worker: its value_and_grad on the data of :func:`prepare`,
    and a check of the loss and both gradients."""
    fn, args = BUILDERS[system](data["W"], data["U"], data["xs"])

    def verify(name: str, result: Any) -> None:
        value, grads = result
        check(name, value, data["want_loss"], 1e-4, 0.0, "loss")
        for k, got in zip("WU", grads):
            check(name, got, data[f"want_{k}"], 2e-3, 2e-4, f"gradient of {k}")

    return fn, args, verify


def main(argv: list[str] | None = None) -> int:
    """``python benchmarks/scan_rows.py [--quick] [--rounds N]``: this row alone."""
    from workers import row_main

    return row_main("scan_rows", argv)


if __name__ == "__main__":
    import sys

    sys.exit(main())
