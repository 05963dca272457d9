"""ti.nnet: Theano's cross-entropies, correct and stable at extreme logits
through tir-stabilize (values and gradients)."""

from __future__ import annotations

import numpy as np
import pytest

import tensorir as ti
from tensorir.errors import DTypeError, ShapeError


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


@pytest.mark.parametrize("labels", ["int", "onehot"])
def test_categorical_crossentropy_of_softmax(labels: str) -> None:
    z = ti.matrix("z", "float64")
    zv = np.array([[1000.0, 0.0, -1000.0], [0.5, -0.25, 2.0], [-800.0, 800.0, 0.0]])
    yv = np.array([1, 2, 0])
    y = ti.vector("y", "int64") if labels == "int" else ti.matrix("y", "float64")
    yval = yv if labels == "int" else np.eye(3)[yv]
    cost = ti.nnet.categorical_crossentropy(ti.nnet.softmax(z), y).sum()
    f = ti.function([z, y], [cost, ti.grad(cost, z)])
    c, g = f(zv, yval)
    want = -_log_softmax(zv)[np.arange(3), yv].sum()
    assert np.isfinite(c) and abs(float(c) - want) <= 1e-12 * abs(want)
    np.testing.assert_allclose(g, _softmax(zv) - np.eye(3)[yv], atol=1e-15)
    # it is compiled as the fused stable op
    assert "softmax_cross_entropy" in f.lower().as_text("tir-opt")


def test_binary_crossentropy_of_sigmoid_at_extremes() -> None:
    z, t = ti.vector("z", "float32"), ti.vector("t", "float32")
    cost = ti.nnet.binary_crossentropy(ti.nnet.sigmoid(z), t).sum()
    f = ti.function([z, t], [cost, ti.grad(cost, z)])
    zv = np.array([100.0, -100.0, 0.0, 3.0], np.float32)
    tv = np.array([0.0, 1.0, 1.0, 0.25], np.float32)
    c, g = f(zv, tv)
    z64, t64 = zv.astype(np.float64), tv.astype(np.float64)
    want = (np.logaddexp(0, z64) - t64 * z64).sum()  # -(t log s + (1-t) log(1-s))
    assert abs(float(c) - want) <= 1e-5 * want
    np.testing.assert_allclose(g, 1 / (1 + np.exp(-z64)) - t64, atol=1e-6)


def test_errors() -> None:
    p = ti.matrix("p", "float64")
    with pytest.raises(ShapeError, match="true_dist must be a distribution of coding_dist's rank \\(2\\) or integer labels of rank 1"):
        ti.nnet.categorical_crossentropy(p, ti.tensor3("t", "float64"))
    with pytest.raises(DTypeError, match="coding_dist must be float, found int64"):
        ti.nnet.categorical_crossentropy(ti.matrix("q", "int64"), ti.vector("y", "int64"))
