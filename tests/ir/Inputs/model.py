"""Input of cli.mlir: functions for ``tensorir-opt --import``."""

import tensorir as ti


def predict(w, x):
    return ti.tanh(x @ w)


def loss(w, x, y):
    return ti.mean((predict(w, x) - y) ** 2)


grad_loss = ti.grad(loss)


def broken(x):
    return x.nonexistent()
