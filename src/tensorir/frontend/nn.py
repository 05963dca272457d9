"""``tensorir.nn``: activation functions and the softmax family.

Float inputs keep their dtype; integer and bool inputs are computed in
float64, as NumPy and SciPy do.

>>> import numpy as np, tensorir as ti
>>> ti.jit(ti.nn.softmax)(np.array([1000.0, 1000.0]))
array([0.5, 0.5])
"""

from __future__ import annotations

import math
from typing import Any

from ..dialects.elementwise import broadcast_shapes
from ..errors import ArgumentError, DTypeError, ShapeError
from . import ops_elementwise as ew
from . import ops_shape as shp
from .core import as_variable, cast, normalize_axes, promote_all
from .dtypes import canonical_dtype, float_dtype_for
from .graph import Variable, apply
from .ops_reduce import logsumexp

__all__ = [
    "softmax",
    "log_softmax",
    "logsumexp",
    "softmax_cross_entropy",
    "sigmoid",
    "softplus",
    "relu",
    "gelu",
    "elu",
    "leaky_relu",
    "silu",
    "swish",
    "one_hot",
]

sigmoid = ew.sigmoid
softplus = ew.softplus


def _float(x: Any) -> Variable:
    v = as_variable(x)
    return cast(v, float_dtype_for(v.type.dtype))


def softmax(x: Any, axis: Any = -1) -> Variable:
    """``exp(x) / sum(exp(x))`` over ``axis`` (an int, a tuple, or None for all axes).

    Computed with the max shift, so ``x = 1000`` is exact. ``-inf`` entries get
    probability 0; a slice that is all ``-inf`` or holds ``+inf``/NaN gives NaN.

    >>> import numpy as np, tensorir as ti
    >>> ti.jit(ti.nn.softmax)(np.array([[0.0, -np.inf]]))
    array([[1., 0.]])
    """
    v = _float(x)
    return apply("softmax", [v], {"axes": normalize_axes(axis, v.ndim)})


def log_softmax(x: Any, axis: Any = -1) -> Variable:
    """``x - logsumexp(x)`` over ``axis``, computed as ``(x - max) - log(sum(exp(x - max)))``.

    Finite for finite inputs of any size; NaN where :func:`softmax` is NaN.

    >>> import numpy as np, tensorir as ti
    >>> ti.jit(ti.nn.log_softmax)(np.array([0.0, 1000.0]))
    array([-1000.,     0.])
    """
    v = _float(x)
    return apply("log_softmax", [v], {"axes": normalize_axes(axis, v.ndim)})


def softmax_cross_entropy(logits: Any, labels: Any, axis: Any = -1) -> Variable:
    """``-sum(labels * log_softmax(logits, axis), axis)``: the cross-entropy of
    ``softmax(logits)`` against the distributions ``labels``, over ``axis``
    (an int, a tuple, or None for all axes), which is reduced away.

    ``labels`` are probabilities (one-hot rows, or soft labels) broadcast
    to the logits' shape; the two promote as NumPy does (integers give
    float64). Computed as ``sum(labels * (max - logits)) +
    log(sum(exp(logits - max))) * sum(labels)``, so logits of any size are
    exact, and the gradient ``softmax(logits) * sum(labels) - labels`` is
    too. A label of 0 contributes 0, even where its logit is ``-inf`` (a
    masked class). For integer class indices, build the labels with
    :func:`one_hot`.

    >>> import numpy as np, tensorir as ti
    >>> ti.jit(ti.nn.softmax_cross_entropy)(np.array([[1000.0, 0.0], [0.0, 0.0]]), np.eye(2))
    array([0.        , 0.69314718])
    """
    x, y = as_variable(logits, "logits"), as_variable(labels, "labels")
    if y.type.dtype not in ("float32", "float64") and y.ndim != x.ndim:
        raise ShapeError(
            f"softmax_cross_entropy: labels must be distributions of the logits' shape {_shape(x)}; found "
            f"{y.type.dtype} labels of shape {_shape(y)}. For integer class indices, pass "
            f"ti.nn.one_hot(labels, num_classes)"
        )
    x, y = promote_all([x, y])
    dtype = float_dtype_for(x.type.dtype)
    x, y = cast(x, dtype), cast(y, dtype)
    # read both shapes, so each free dim has an array to take it from
    shape = broadcast_shapes(x.shape, y.shape, what="softmax_cross_entropy: logits and labels")
    x, y = (_broadcast(v, shape) for v in (x, y))
    return apply("softmax_cross_entropy", [x, y], {"axes": normalize_axes(axis, x.ndim)})


def _broadcast(v: Variable, shape: tuple) -> Variable:
    """``v`` broadcast to ``shape`` where it has fewer axes or a size-1 axis
    that ``shape`` has not; equal free dims are left to the op's shape check."""
    offset = len(shape) - v.ndim
    if offset == 0 and all(d != 1 or e == 1 for d, e in zip(v.shape, shape)):
        return v
    return shp.broadcast_to(v, shape)


def _shape(v: Variable) -> str:
    dims = ", ".join("?" if not isinstance(d, int) else str(d) for d in v.shape)
    return f"({dims}{',' if v.ndim == 1 else ''})"


def relu(x: Any) -> Variable:
    """``max(x, 0)``; its gradient at 0 is 0 (NaN stays NaN).

    >>> import numpy as np, tensorir as ti
    >>> ti.jit(ti.nn.relu)(np.array([-1.0, 2.0]))
    array([0., 2.])
    >>> ti.grad(lambda x: ti.nn.relu(x).sum())(np.array([-1.0, 0.0, 2.0]))
    array([0., 0., 1.])
    """
    v = as_variable(x)
    return ew.where(ew.less_equal(v, 0), 0, v)


def gelu(x: Any) -> Variable:
    """Gaussian error linear unit, exact form: ``x * (1 + erf(x / sqrt(2))) / 2``.

    >>> import numpy as np, tensorir as ti
    >>> ti.jit(ti.nn.gelu)(np.array([0.0, 1.0])).round(6)
    array([0.      , 0.841345])
    """
    v = _float(x)
    return ew.multiply(ew.multiply(v, 0.5), ew.add(ew.erf(ew.multiply(v, 1 / math.sqrt(2.0))), 1.0))


def elu(x: Any, alpha: float = 1.0) -> Variable:
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``.

    ``expm1`` is taken of ``min(x, 0)``, so large positive ``x`` never
    overflows the branch not taken (nor its gradient).

    >>> import numpy as np, tensorir as ti
    >>> ti.jit(ti.nn.elu)(np.array([-1000.0, 2.0]))
    array([-1.,  2.])
    """
    v = _float(x)
    negative = ew.multiply(ew.expm1(ew.minimum(v, 0.0)), float(alpha))
    return ew.where(ew.greater(v, 0.0), v, negative)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Variable:
    """``x`` for ``x >= 0``, else ``negative_slope * x``.

    >>> import numpy as np, tensorir as ti
    >>> ti.jit(ti.nn.leaky_relu)(np.array([-2.0, 3.0]))
    array([-0.02,  3.  ])
    """
    v = _float(x)
    return ew.where(ew.greater_equal(v, 0.0), v, ew.multiply(v, float(negative_slope)))


def silu(x: Any) -> Variable:
    """Sigmoid-weighted linear unit ``x * sigmoid(x)`` (also called swish).

    >>> import numpy as np, tensorir as ti
    >>> ti.jit(ti.nn.silu)(np.array([0.0, 1000.0]))
    array([   0., 1000.])
    """
    v = _float(x)
    return ew.multiply(v, ew.sigmoid(v))


swish = silu


def one_hot(labels: Any, num_classes: int, dtype: Any = "float64") -> Variable:
    """``out[..., k] = (labels[...] == k)`` for ``k`` in ``range(num_classes)``.

    ``labels`` are integers; a label outside ``[0, num_classes)`` gives a row
    of zeros. ``num_classes`` is a Python int (it fixes the result's last dim).

    >>> import numpy as np, tensorir as ti
    >>> ti.jit(lambda y: ti.nn.one_hot(y, 3))(np.array([2, 0]))
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    v = as_variable(labels, "labels")
    if v.type.dtype not in ("int32", "int64"):
        raise DTypeError(f"one_hot: labels must be int32 or int64, found {v.type.dtype}; cast with .astype(np.int64)")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
        raise ArgumentError(f"one_hot: num_classes must be a non-negative Python int, found {num_classes!r}")
    classes = shp.arange(num_classes, dtype=v.type.dtype)
    return cast(ew.equal(shp.expand_dims(v, -1), classes), canonical_dtype(dtype, "dtype"))
