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

from ..errors import ArgumentError, DTypeError
from . import ops_elementwise as ew
from . import ops_shape as shp
from .core import as_variable, cast, normalize_axes
from .dtypes import canonical_dtype, float_dtype_for
from .graph import Variable, apply
from .ops_reduce import logsumexp

__all__ = [
    "softmax",
    "log_softmax",
    "logsumexp",
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
