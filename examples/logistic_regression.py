"""Softmax (multinomial logistic) regression on scikit-learn's digits, Theano-style.

The model is written once with symbolic variables: the weights are
``ti.shared`` variables that keep their values between calls, ``ti.grad``
builds the gradient symbolically, and ``ti.function(..., updates=...)``
compiles one step of minibatch SGD that writes the new weights in place.

    python examples/logistic_regression.py [--epochs 30] [--plot logistic_regression.png]

Prints the mean training loss, the test accuracy and the time of every
epoch, and saves the training curve (loss and test accuracy per epoch) to a
PNG. The 1797 8x8 images ship with scikit-learn (no download); a fixed,
stratified split keeps 25% of them for testing.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import tensorir as ti

N_CLASSES = 10


def load_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pixels scaled to [0, 1] as float32, labels as int64: x_train, x_test, y_train, y_test
    (the same stratified split on every run)."""
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.5, help="SGD learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seeds the order of the minibatches")
    parser.add_argument("--plot", default="logistic_regression.png", help="where to save the training curve")
    args = parser.parse_args(argv)

    ti.config.floatX = "float32"
    x_train, x_test, y_train, y_test = load_data()
    n_features = x_train.shape[1]

    # The model: p(y | x) = softmax(x @ W + b).
    x = ti.matrix("x")            # a minibatch of images, one per row (float32: floatX)
    y = ti.vector("y", "int64")   # their labels
    W = ti.shared(np.zeros((n_features, N_CLASSES), np.float32), name="W")
    b = ti.shared(np.zeros(N_CLASSES, np.float32), name="b")
    p = ti.nnet.softmax(x @ W + b)
    # Mean negative log-likelihood of the labels, as Theano writes it; tir-stabilize
    # compiles log(softmax(...)) as one stable op, so no log of a probability
    # that underflowed to 0.
    cost = ti.nnet.categorical_crossentropy(p, y).mean()
    gW, gb = ti.grad(cost, [W, b])

    start = time.perf_counter()
    lr = args.lr
    train = ti.function([x, y], cost, updates=[(W, W - lr * gW), (b, b - lr * gb)])
    predict = ti.function([x], ti.argmax(p, axis=1))
    print(f"compiled train and predict in {time.perf_counter() - start:.2f} s")

    rng = np.random.default_rng(args.seed)
    n = len(x_train)
    losses: list[float] = []
    accuracies: list[float] = []
    epoch_times: list[float] = []
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(n)
        total = 0.0
        for i in range(0, n, args.batch_size):
            batch = order[i : i + args.batch_size]
            total += float(train(x_train[batch], y_train[batch])) * len(batch)
        epoch_times.append(time.perf_counter() - start)
        losses.append(total / n)
        accuracies.append(float(np.mean(predict(x_test) == y_test)))
        print(f"epoch {epoch:3d}: loss {losses[-1]:.4f}, test accuracy {accuracies[-1]:.4f}, "
              f"{epoch_times[-1] * 1e3:.1f} ms")

    print(f"test accuracy: {accuracies[-1]:.4f} on {len(x_test)} digits "
          f"(train {n}, {args.epochs} epochs, median {np.median(epoch_times) * 1e3:.1f} ms per epoch)")
    save_curves(args.plot, losses, accuracies, "softmax regression on digits (tensorir)")
    print(f"training curve saved to {args.plot}")


if __name__ == "__main__":
    main()
