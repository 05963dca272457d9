"""A multi-layer perceptron on scikit-learn's digits, Theano-style: shared weights,
symbolic gradients, and one compiled SGD-with-momentum step.

The network (64-128-64-10 by default, ReLU, softmax output) is written once
with symbolic variables. Its weights and their momentum buffers are
``ti.shared`` variables; ``ti.grad`` differentiates the cost with respect to
all weights at once, and ``ti.function(..., updates=...)`` compiles one
training step that computes the cost and writes every new weight and
velocity in place. Compiling happens once; every epoch then runs compiled
code only.

    python examples/mlp.py [--epochs 30] [--hidden 128 64] [--plot mlp.png] [--device cuda]

Prints the compile time, then the mean training loss, the test accuracy and
the time of every epoch, and saves the training curve to a PNG. The 1797
8x8 images ship with scikit-learn (no download); a fixed, stratified split
keeps 25% of them for testing.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import tensorir as ti
from digits_training import N_CLASSES, load_data, save_curves, train_epochs
ACTIVATIONS = {"relu": ti.nn.relu, "tanh": ti.tanh}


def glorot(rng: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
    """Glorot/Xavier uniform initialisation: U(-a, a) with a = sqrt(6 / (n_in + n_out))."""
    a = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-a, a, size=(n_in, n_out)).astype(np.float32)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--hidden", type=int, nargs="+", default=[128, 64], help="sizes of the hidden layers")
    parser.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu")
    parser.add_argument("--lr", type=float, default=0.02, help="SGD learning rate")
    parser.add_argument("--momentum", type=float, default=0.9, help="0 gives plain SGD")
    parser.add_argument("--seed", type=int, default=0, help="seeds the initial weights and the order of the minibatches")
    parser.add_argument("--plot", default="mlp.png", help="where to save the training curve")
    parser.add_argument("--device", default="cpu", help="cpu, cuda (cuda:N) or auto: where the step runs")
    args = parser.parse_args(argv)

    ti.config.floatX = "float32"
    ti.config.device = args.device  # on a GPU the weights and velocities live in device memory
    x_train, x_test, y_train, y_test = load_data()
    rng = np.random.default_rng(args.seed)
    sizes = [x_train.shape[1], *args.hidden, N_CLASSES]

    # Weights and biases, layer by layer: W0, b0, W1, b1, ...
    params: list[ti.SharedVariable] = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        params.append(ti.shared(glorot(rng, n_in, n_out), name=f"W{k}"))
        params.append(ti.shared(np.zeros(n_out, np.float32), name=f"b{k}"))

    # The model: hidden layers act(h @ W + b), then p(y | x) = softmax(h @ W + b).
    x = ti.matrix("x")            # a minibatch of images, one per row (float32: floatX)
    y = ti.vector("y", "int64")   # their labels
    act = ACTIVATIONS[args.activation]
    h = x
    for k in range(0, len(params) - 2, 2):
        h = act(h @ params[k] + params[k + 1])
    p = ti.nnet.softmax(h @ params[-2] + params[-1])
    # Mean negative log-likelihood of the labels, as Theano writes it; tir-stabilize
    # compiles log(softmax(...)) as one stable op, so no log of a probability
    # that underflowed to 0.
    cost = ti.nnet.categorical_crossentropy(p, y).mean()
    grads = ti.grad(cost, params)

    # SGD with momentum: v <- mu v - lr g; w <- w + v. Every update reads the
    # values from before the step, so w's update uses the new v as an expression.
    updates = []
    for w, g in zip(params, grads):
        v = ti.shared(np.zeros_like(w.get_value()), name=f"v_{w.name}")
        v_new = args.momentum * v - args.lr * g
        updates += [(v, v_new), (w, w + v_new)]

    start = time.perf_counter()
    train = ti.function([x, y], cost, updates=updates)
    predict = ti.function([x], ti.argmax(p, axis=1))
    compile_time = time.perf_counter() - start
    print(f"network {'-'.join(map(str, sizes))} ({args.activation}), "
          f"{sum(w.get_value().size for w in params)} weights")
    print(f"compile time (train and predict, once): {compile_time:.2f} s")

    n = len(x_train)
    losses, accuracies, epoch_times = train_epochs(
        train, predict, (x_train, x_test, y_train, y_test), args.epochs, args.batch_size, rng)

    print(f"test accuracy: {accuracies[-1]:.4f} on {len(x_test)} digits "
          f"(train {n}, {args.epochs} epochs, median {np.median(epoch_times) * 1e3:.1f} ms per epoch, "
          f"compile {compile_time:.2f} s)")
    save_curves(args.plot, losses, accuracies, f"MLP {'-'.join(map(str, sizes))} on digits (tensorir)")
    print(f"training curve saved to {args.plot}")


if __name__ == "__main__":
    main()
