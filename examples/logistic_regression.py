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
import tensorir as ti
from digits_training import N_CLASSES, load_data, save_curves, train_epochs


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
    losses, accuracies, epoch_times = train_epochs(
        train, predict, (x_train, x_test, y_train, y_test), args.epochs, args.batch_size, rng)

    print(f"test accuracy: {accuracies[-1]:.4f} on {len(x_test)} digits "
          f"(train {n}, {args.epochs} epochs, median {np.median(epoch_times) * 1e3:.1f} ms per epoch)")
    save_curves(args.plot, losses, accuracies, "softmax regression on digits (tensorir)")
    print(f"training curve saved to {args.plot}")


if __name__ == "__main__":
    main()
