"""What the digits training examples share: the data split, the minibatch
training loop with its per-epoch report, and the training-curve plot.

Used by ``logistic_regression.py`` and ``mlp.py`` (run from this folder, or
as ``python examples/NAME.py``: Python puts the script's folder on the path).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

N_CLASSES = 10


def load_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pixels scaled to [0, 1] as float32, labels as int64: x_train, x_test, y_train, y_test
    (the same stratified split on every run)."""
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)


def train_epochs(
    train: Callable[[np.ndarray, np.ndarray], Any],
    predict: Callable[[np.ndarray], np.ndarray],
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    epochs: int,
    batch_size: int,
    rng: np.random.Generator,
) -> tuple[list[float], list[float], list[float]]:
    """Minibatch training in a fresh random order each epoch; prints the mean
    training loss, the test accuracy and the time of every epoch. Returns the
    losses, accuracies and epoch times (seconds)."""
    x_train, x_test, y_train, y_test = data
    n = len(x_train)
    losses: list[float] = []
    accuracies: list[float] = []
    epoch_times: list[float] = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(n)
        total = 0.0
        for i in range(0, n, batch_size):
            batch = order[i : i + batch_size]
            total += float(train(x_train[batch], y_train[batch])) * len(batch)
        epoch_times.append(time.perf_counter() - start)
        losses.append(total / n)
        accuracies.append(float(np.mean(predict(x_test) == y_test)))
        print(f"epoch {epoch:3d}: loss {losses[-1]:.4f}, test accuracy {accuracies[-1]:.4f}, "
              f"{epoch_times[-1] * 1e3:.1f} ms")
    return losses, accuracies, epoch_times


def save_curves(path: str, losses: list[float], accuracies: list[float], title: str) -> None:
    """Training loss and test accuracy per epoch, side by side, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(losses) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.plot(epochs, losses, marker=".")
    left.set(xlabel="epoch", ylabel="mean training loss", yscale="log", title="loss")
    right.plot(epochs, accuracies, marker=".", color="tab:green")
    right.set(xlabel="epoch", ylabel="test accuracy", title="test accuracy")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
