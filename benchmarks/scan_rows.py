"""The scan rows of ``run.py``: a recurrent layer run for 100 steps, forward
only and ``value_and_grad``, in tensorir (``ti.scan``), NumPy, JAX
(``jax.lax.scan``) and PyTensor (``pytensor.scan``).

The recurrence, in the row-vector convention of the other rows (a batch of
``B`` hidden states, one per row), over ``T`` steps of inputs ``xs[t]``::

    h_0 = 0;  h_t = tanh(h_{t-1} @ W + xs[t] @ U)     # W: (H, H), U: (D, H)
    loss = sum over t, batch and units of h_t

and its gradient with respect to ``W`` and ``U``. Every backend gets the
same float32 data: normal inputs, weights scaled by ``1 / sqrt(fan_in)``
(``W``) and ``0.5 / sqrt(D)`` (``U``) so the states stay off tanh's flat
ends. The NumPy baseline is a Python loop for the forward pass and a
hand-written backpropagation through time for the gradient (a loop back
over the steps for the state's cotangent, then one gemm each for ``dW``
and ``dU`` over all steps at once). Before any timing, every backend's loss
and gradient are checked against it.

Each backend is compiled on its first call (excluded from timing). JAX is
given its arrays already on its device.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

import tensorir as ti
from mlp_rows import PYTENSOR_FUNCTIONS

Fn = Callable[..., Any]
Grads = tuple[np.ndarray, np.ndarray]

FULL = (100, 32, 256, 256)  # steps, batch, input, hidden
QUICK = (10, 4, 8, 8)


def scan_data(sizes: tuple[int, int, int, int], seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(W, U, xs)`` in float32 for ``sizes = (steps, batch, input, hidden)``."""
    steps, batch, d, h = sizes
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((h, h)) / np.sqrt(h)).astype(np.float32)
    u = (0.5 * rng.standard_normal((d, h)) / np.sqrt(d)).astype(np.float32)
    xs = rng.standard_normal((steps, batch, d)).astype(np.float32)
    return w, u, xs


# ---------------------------------------------------------------------------
# NumPy: a loop forward, and backpropagation through time


def numpy_forward(w: np.ndarray, u: np.ndarray, xs: np.ndarray) -> np.float32:
    h = np.zeros((xs.shape[1], w.shape[0]), w.dtype)
    total = np.float32(0)
    for x_t in xs:
        h = np.tanh(h @ w + x_t @ u)
        total += h.sum()
    return total


def numpy_value_and_grad(w: np.ndarray, u: np.ndarray, xs: np.ndarray) -> tuple[np.float32, Grads]:
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
# The other backends: each returns (forward, value_and_grad, args) or None


def _tensorir_loss(w: Any, u: Any, xs: Any) -> Any:
    h0 = ti.zeros((xs.shape[1], w.shape[0]), xs.dtype)
    hs, _ = ti.scan(lambda x_t, h: ti.tanh(h @ w + x_t @ u), sequences=xs, outputs_info=h0)
    return hs.sum()


def tensorir_fns(w: np.ndarray, u: np.ndarray, xs: np.ndarray) -> tuple[Fn, Fn, tuple]:
    return ti.jit(_tensorir_loss), ti.value_and_grad(_tensorir_loss, argnums=(0, 1)), (w, u, xs)


def jax_fns(w: np.ndarray, u: np.ndarray, xs: np.ndarray) -> tuple[Fn, Fn, tuple] | None:
    try:
        import jax
        import jax.numpy as jnp
    except Exception:  # noqa: BLE001 - an optional column
        return None

    def loss(w: Any, u: Any, xs: Any) -> Any:
        def step(h: Any, x_t: Any) -> tuple[Any, Any]:
            h = jnp.tanh(h @ w + x_t @ u)
            return h, h

        _, hs = jax.lax.scan(step, jnp.zeros((xs.shape[1], w.shape[0]), xs.dtype), xs)
        return hs.sum()

    fwd, vg = jax.jit(loss), jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
    args = jax.device_put((w, u, xs))
    return (lambda *a: jax.block_until_ready(fwd(*a)),
            lambda *a: jax.block_until_ready(vg(*a)), args)


def pytensor_fns(w: np.ndarray, u: np.ndarray, xs: np.ndarray) -> tuple[Fn, Fn, tuple] | None:
    try:
        import pytensor
        import pytensor.tensor as pt
    except Exception:  # noqa: BLE001 - an optional column
        return None
    ws = pt.tensor("W", dtype="float32", shape=(None, None))
    us = pt.tensor("U", dtype="float32", shape=(None, None))
    xss = pt.tensor("xs", dtype="float32", shape=(None, None, None))
    h0 = pt.zeros((xss.shape[1], ws.shape[0]), dtype="float32")
    with warnings.catch_warnings():  # newer releases warn that scan will stop returning updates
        warnings.simplefilter("ignore", DeprecationWarning)
        hs, _ = pytensor.scan(lambda x_t, h, w_, u_: pt.tanh(h @ w_ + x_t @ u_),
                              sequences=xss, outputs_info=h0, non_sequences=[ws, us])
    cost = hs.sum()
    fwd = pytensor.function([ws, us, xss], cost)
    vg = pytensor.function([ws, us, xss], [cost, *pytensor.grad(cost, [ws, us])])
    PYTENSOR_FUNCTIONS.extend([fwd, vg])

    def value_and_grad(*args: np.ndarray) -> tuple[Any, Grads]:
        value, dw, du = vg(*args)
        return value, (dw, du)

    return fwd, value_and_grad, (w, u, xs)


# ---------------------------------------------------------------------------
# The rows


def check_against_numpy(name: str, value: Any, grads: Any, want: np.float32, want_grads: Grads) -> None:
    """Fail loudly when a backend's loss or gradient disagrees with BPTT in NumPy."""
    np.testing.assert_allclose(np.asarray(value), want, rtol=1e-3, atol=1e-3, err_msg=f"{name}: loss")
    for k, (got, g) in zip("WU", zip(grads, want_grads)):
        scale = float(np.abs(g).max())
        np.testing.assert_allclose(np.asarray(got), g, rtol=2e-3, atol=2e-4 * scale,
                                   err_msg=f"{name}: gradient of {k}")


def scan_rows(quick: bool, repeat: int, best_time: Callable[..., float]) -> list[dict[str, Any]]:
    """The ``scan rnn value_and_grad`` and ``scan rnn forward only`` rows."""
    sizes = QUICK if quick else FULL
    steps, batch, d, h = sizes
    w, u, xs = scan_data(sizes)
    want, want_grads = numpy_value_and_grad(w, u, xs)
    np.testing.assert_allclose(want, numpy_forward(w, u, xs), rtol=1e-4)

    backends: dict[str, tuple[Fn, Fn, tuple]] = {
        "numpy": (numpy_forward, numpy_value_and_grad, (w, u, xs)),
        "tensorir": tensorir_fns(w, u, xs),
    }
    for name, build in (("jax", jax_fns), ("pytensor", pytensor_fns)):
        fns = build(w, u, xs)
        if fns is not None:
            backends[name] = fns

    shape = f"{steps} steps {d}-{h} batch {batch}"  # float32
    vg_row: dict[str, Any] = {"label": f"scan rnn value_and_grad {shape}", "flops": None}
    fw_row: dict[str, Any] = {"label": f"scan rnn forward only {shape}", "flops": None}
    for name, (fwd, vg, args) in backends.items():
        value, grads = vg(*args)  # compiles
        check_against_numpy(name, value, grads, want, want_grads)
        np.testing.assert_allclose(np.asarray(fwd(*args)), want, rtol=1e-3, atol=1e-3,
                                   err_msg=f"{name}: forward loss")
        vg_row[name] = best_time(vg, args, repeat)
        fw_row[name] = best_time(fwd, args, repeat)
    return [vg_row, fw_row]


def speedup_line(rows: list[dict[str, Any]]) -> str:
    """``scan rnn, other time / tensorir time: value_and_grad numpy 1.2x jax 0.9x ...; forward ...``
    (> 1: tensorir is faster)."""
    parts = []
    for r, what in zip(rows, ("value_and_grad", "forward")):
        others = " ".join(f"{k} {r[k] / r['tensorir']:.3g}x" for k in ("numpy", "jax", "pytensor") if k in r)
        parts.append(f"{what} {others}")
    return "scan rnn, other time / tensorir time: " + "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    """``python benchmarks/scan_rows.py [--quick] [--repeat N]``: these rows alone."""
    import argparse

    from run import best_time

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few repeats: a smoke run")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per kernel (min is kept)")
    opts = parser.parse_args(argv)
    rows = scan_rows(opts.quick, opts.repeat or (2 if opts.quick else 7), best_time)
    others = [k for k in ("jax", "pytensor") if k in rows[0]]
    print(f"{'benchmark':52s} {'numpy ms':>10s} {'tensorir ms':>12s}" + "".join(f" {k + ' ms':>12s}" for k in others))
    for r in rows:
        print(f"{r['label']:52s} {r['numpy'] * 1e3:10.2f} {r['tensorir'] * 1e3:12.2f}"
              + "".join(f" {r[k] * 1e3:12.2f}" for k in others))
    print(speedup_line(rows))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
