"""Softmax regression on scikit-learn's handwritten digits, trained with ti.grad.

The loss is written with NumPy-style functions; ``ti.value_and_grad`` traces
it once, the ``tir-autodiff`` pass builds the gradient, and every step runs
the compiled code. Run: ``python examples/digits_softmax.py``.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

import tensorir as ti


def loss(params, x, y):  # noqa: ANN001, ANN201
    logits = x @ params["w"] + params["b"]
    return -(ti.nn.log_softmax(logits) * y).sum(axis=1).mean()


def main() -> None:
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[digits.target]
    split = 1500
    params = {"w": np.zeros((64, 10), np.float32), "b": np.zeros(10, np.float32)}
    step = ti.value_and_grad(loss)
    for epoch in range(200):
        value, grads = step(params, x[:split], y[:split])
        params = {k: params[k] - 0.5 * grads[k] for k in params}
        if epoch % 50 == 0:
            print(f"epoch {epoch:3d}: loss {float(value):.4f}")
    predict = ti.jit(lambda p, x: ti.argmax(x @ p["w"] + p["b"], axis=1))
    accuracy = float((predict(params, x[split:]) == digits.target[split:]).mean())
    print(f"held-out accuracy on {len(x) - split} digits: {accuracy:.3f} ({step.compile_count} compile)")


if __name__ == "__main__":
    main()
