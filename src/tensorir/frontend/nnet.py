"""``tensorir.nnet``: Theano's ``tensor.nnet`` names over ``tensorir.nn``.

Written the way Theano code writes them, these become the stable fused forms
through ``tir-stabilize``: ``categorical_crossentropy(softmax(z), y)`` is
compiled as ``softmax_cross_entropy(z, y)`` (no ``log`` of a probability
that underflowed to 0), ``binary_crossentropy(sigmoid(z), t)`` as
``softplus`` terms.

>>> import numpy as np, tensorir as ti
>>> z = ti.matrix("z", "float64"); y = ti.vector("y", "int64")
>>> loss = ti.nnet.categorical_crossentropy(ti.nnet.softmax(z), y).mean()
>>> float(loss.eval({z: np.array([[1000.0, 0.0]]), y: np.array([1])}))
1000.0
"""

from __future__ import annotations

from typing import Any

from ..errors import DTypeError, ShapeError
from . import ops_elementwise as ew
from . import ops_shape as shp
from .core import as_variable, cast
from .graph import Variable
from .nn import log_softmax, relu, sigmoid, softplus
from .nn import softmax as _softmax

__all__ = ["softmax", "log_softmax", "sigmoid", "softplus", "relu", "categorical_crossentropy",
           "binary_crossentropy", "crossentropy_categorical_1hot"]


def softmax(x: Any, axis: int = -1) -> Variable:
    """Softmax over ``axis`` (the last by default, Theano's rows of a matrix)."""
    return _softmax(x, axis=axis)


def categorical_crossentropy(coding_dist: Any, true_dist: Any) -> Variable:
    """``-sum(true_dist * log(coding_dist), axis=-1)``, one value per row.

    ``true_dist`` is a distribution of ``coding_dist``'s shape (e.g. one-hot
    rows), or integer class labels with one dim less (Theano's
    ``crossentropy_categorical_1hot``): the label picks the entry.
    """
    p = as_variable(coding_dist, "categorical_crossentropy coding_dist")
    t = as_variable(true_dist, "categorical_crossentropy true_dist")
    if not p.type.is_float:
        raise DTypeError(f"categorical_crossentropy: coding_dist must be float, found {p.type.dtype}")
    if p.ndim == 0:
        raise ShapeError("categorical_crossentropy: coding_dist must have at least one axis (the classes)")
    if t.type.dtype in ("int32", "int64") and t.ndim == p.ndim - 1:
        classes = shp.arange(p.shape[-1], dtype=t.type.dtype)
        t = cast(ew.equal(shp.expand_dims(t, -1), classes), p.type.dtype)
    elif t.ndim != p.ndim:
        raise ShapeError(
            f"categorical_crossentropy: true_dist must be a distribution of coding_dist's rank ({p.ndim}) "
            f"or integer labels of rank {p.ndim - 1}, found rank {t.ndim} ({t.type.dtype})"
        )
    elif t.type.dtype != p.type.dtype:
        t = cast(t, p.type.dtype)
    return ew.negative((t * ew.log(p)).sum(axis=-1))


crossentropy_categorical_1hot = categorical_crossentropy


def binary_crossentropy(output: Any, target: Any) -> Variable:
    """``-(target * log(output) + (1 - target) * log(1 - output))``, elementwise."""
    o = as_variable(output, "binary_crossentropy output")
    t = as_variable(target, "binary_crossentropy target")
    if not o.type.is_float:
        raise DTypeError(f"binary_crossentropy: output must be float, found {o.type.dtype}")
    if t.type.dtype != o.type.dtype:
        t = cast(t, o.type.dtype)
    return ew.negative(t * ew.log(o) + (1.0 - t) * ew.log(1.0 - o))

