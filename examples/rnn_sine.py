"""A recurrent network learns to predict the next value of noisy sine waves,
its loop written with ``ti.scan`` and differentiated by ``ti.value_and_grad``.

The model, for a batch of sequences fed one time step at a time::

    h_t = tanh(h_{t-1} @ W + x_t @ U + b)      # hidden state, h_0 = 0
    y_t = h_t @ V + c                          # prediction of x_{t+1}
    loss = mean over steps and sequences of (y_t - x_{t+1})**2

``ti.scan`` runs the recurrence as one loop inside the compiled function
(no unrolling), and ``ti.value_and_grad`` differentiates through every step
of it (backpropagation through time). The optimiser, Adam, is a few lines
of NumPy over the parameter dictionary. The number of steps is a free dim:
the function compiled for the training sequences evaluates longer test
sequences without compiling again.

    python examples/rnn_sine.py [--epochs 80] [--hidden 32] [--plot rnn_sine.png]

Each sequence is a sine of random frequency, phase and amplitude, sampled
at unit steps with Gaussian noise added (a fixed seed: the same data on
every run). Prints the loss every few epochs, then the test loss next to
two references: predicting that the next value equals the last one, and the
noise's variance (what a perfect model of the clean wave would still
miss). Saves the training curve and a test prediction to a PNG.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import tensorir as ti

Params = dict[str, np.ndarray]


def sine_waves(rng: np.random.Generator, n: int, steps: int, noise: float) -> np.ndarray:
    """``n`` noisy sine waves of ``steps`` samples each, float32, time-major: ``(steps, n, 1)``.

    Frequencies are uniform in [0.1, 0.4] radians per step (periods of 16 to
    63 steps), phases uniform, amplitudes uniform in [0.5, 1]; the noise is
    normal with standard deviation ``noise``.
    """
    freq = rng.uniform(0.1, 0.4, size=n)
    phase = rng.uniform(0.0, 2 * np.pi, size=n)
    amp = rng.uniform(0.5, 1.0, size=n)
    t = np.arange(steps)[:, None]
    clean = amp * np.sin(freq * t + phase)
    return (clean + noise * rng.standard_normal(clean.shape)).astype(np.float32)[:, :, None]


def init_params(rng: np.random.Generator, hidden: int) -> Params:
    """Scaled normal weights (``W`` by 1/sqrt(hidden), so the recurrence starts stable), zero biases."""
    return {
        "W": (rng.standard_normal((hidden, hidden)) / np.sqrt(hidden)).astype(np.float32),
        "U": rng.standard_normal((1, hidden)).astype(np.float32),
        "b": np.zeros(hidden, np.float32),
        "V": (rng.standard_normal((hidden, 1)) / np.sqrt(hidden)).astype(np.float32),
        "c": np.zeros(1, np.float32),
    }


def predict(p: Any, xs: Any) -> Any:
    """The prediction of ``xs[t + 1]`` at every step ``t``: ``(steps, batch, 1)`` from ``xs`` of the same shape."""
    h0 = ti.zeros((xs.shape[1], p["W"].shape[0]), xs.dtype)
    step = lambda x_t, h: ti.tanh(h @ p["W"] + x_t @ p["U"] + p["b"])  # noqa: E731
    hs, _ = ti.scan(step, sequences=xs, outputs_info=h0)
    return hs @ p["V"] + p["c"]


def loss(p: Any, seqs: Any) -> Any:
    """Mean squared error of every next-value prediction over ``seqs`` ``(steps + 1, batch, 1)``."""
    return ti.mean((predict(p, seqs[:-1]) - seqs[1:]) ** 2)


class Adam:
    """Adam (Kingma and Ba, 2015) over a dictionary of NumPy arrays, updated in place."""

    def __init__(self, params: Params, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, params: Params, grads: Params) -> None:
        self.t += 1
        scale = self.lr * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        for k, g in grads.items():
            self.m[k] += (1 - self.beta1) * (g - self.m[k])
            self.v[k] += (1 - self.beta2) * (g * g - self.v[k])
            params[k] -= (scale * self.m[k] / (np.sqrt(self.v[k]) + self.eps)).astype(np.float32)


def save_figure(path: str, losses: list[float], baseline: float, floor: float,
                test: np.ndarray, prediction: np.ndarray) -> None:
    """The training loss per epoch beside one test wave and its one-step predictions, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    left.plot(np.arange(1, len(losses) + 1), losses, marker=".", label="training loss")
    left.axhline(baseline, color="tab:red", ls="--", label="last value (test)")
    left.axhline(floor, color="gray", ls=":", label="noise variance")
    left.set(xlabel="epoch", ylabel="mean squared error", yscale="log", title="loss")
    left.legend()
    right.plot(np.arange(len(test)), test, ".", color="gray", label="noisy wave")
    right.plot(np.arange(1, len(test)), prediction, color="tab:blue", label="RNN: next value")
    right.set(xlabel="step", title="a test sequence (longer than the training ones)")
    right.legend()
    fig.suptitle("RNN with ti.scan on noisy sine waves (tensorir)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=80)
    parser.add_argument("--hidden", type=int, default=32, help="size of the hidden state")
    parser.add_argument("--train", type=int, default=512, help="number of training sequences")
    parser.add_argument("--steps", type=int, default=50, help="length of a training sequence")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.01, help="Adam's step size")
    parser.add_argument("--noise", type=float, default=0.05, help="standard deviation of the noise")
    parser.add_argument("--every", type=int, default=10, help="print the loss every this many epochs")
    parser.add_argument("--seed", type=int, default=0, help="seeds the data, the initial weights and the batch order")
    parser.add_argument("--plot", default="rnn_sine.png", help="where to save the figure ('' for none)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    train = sine_waves(rng, args.train, args.steps + 1, args.noise)
    test = sine_waves(rng, 256, 2 * args.steps + 1, args.noise)  # twice as long: the same compiled code
    params = init_params(rng, args.hidden)
    n_weights = sum(v.size for v in params.values())
    print(f"RNN 1-{args.hidden}-1, {n_weights} weights; {args.train} training sequences of "
          f"{args.steps} steps, {test.shape[1]} test sequences of {test.shape[0] - 1} steps")

    loss_and_grad = ti.value_and_grad(loss)
    evaluate = ti.jit(loss)
    start = time.perf_counter()
    loss_and_grad(params, train[:, : args.batch_size])
    first = float(evaluate(params, test))
    compile_time = time.perf_counter() - start
    print(f"compile time (loss and gradient, loss; once): {compile_time:.2f} s")
    print(f"epoch   0: test loss {first:.5f}")

    adam = Adam(params, args.lr)
    losses: list[float] = []
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(args.train)
        total = 0.0
        for i in range(0, args.train, args.batch_size):
            batch = train[:, order[i : i + args.batch_size]]
            value, grads = loss_and_grad(params, batch)
            adam.step(params, grads)
            total += float(value) * batch.shape[1]
        losses.append(total / args.train)
        if epoch == 1 or epoch % args.every == 0 or epoch == args.epochs:
            print(f"epoch {epoch:3d}: loss {losses[-1]:.5f}")
    train_time = time.perf_counter() - start

    final = float(evaluate(params, test))
    baseline = float(np.mean((test[1:] - test[:-1]) ** 2))
    floor = args.noise**2
    print(f"test loss {final:.5f} (last value {baseline:.5f}, {baseline / final:.1f}x higher; "
          f"noise variance {floor:.5f})")
    compiles = loss_and_grad.compile_count + evaluate.compile_count
    print(f"trained {args.epochs} epochs in {train_time:.1f} s; {compiles} compiles (loss and gradient, "
          "loss) served every batch size and sequence length")
    if args.plot:
        one = test[:, :1]
        prediction = np.asarray(ti.jit(predict)(params, one[:-1]))[:, 0, 0]
        save_figure(args.plot, losses, baseline, floor, one[:, 0, 0], prediction)
        print(f"figure saved to {args.plot}")


if __name__ == "__main__":
    main()
