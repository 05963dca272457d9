"""NumPy-named elementwise functions over Variables (and arrays, scalars)."""

from __future__ import annotations

from typing import Any

from .core import as_variable, cast, promote_all
from ..errors import DTypeError
from .dtypes import canonical_dtype, float_dtype_for
from .graph import Variable, apply

__all__ = [
    "add", "subtract", "multiply", "multiply_no_nan", "divide", "true_divide", "floor_divide",
    "mod", "remainder", "power", "maximum", "minimum", "negative", "abs", "absolute", "sign",
    "floor", "ceil", "round", "rint", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "tanh",
    "sin", "cos", "erf", "sigmoid", "softplus", "logaddexp", "log1mexp", "square", "reciprocal", "equal",
    "not_equal",
    "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or",
    "logical_xor", "logical_not", "where", "clip", "astype",
]


def _binary(op: str, x: Any, y: Any) -> Variable:
    a, b = promote_all([x, y])
    out = apply(op, [a, b])
    out.weak = a.weak and b.weak
    return out


def _bool_binary(op: str, x: Any, y: Any) -> Variable:
    a, b = (cast(v, "bool") for v in promote_all([x, y]))
    return apply(op, [a, b])


def _compare(op: str, x: Any, y: Any) -> Variable:
    a, b = promote_all([x, y])
    return apply(op, [a, b])


def _float_unary(op: str, x: Any) -> Variable:
    v = as_variable(x)
    return apply(op, [cast(v, float_dtype_for(v.type.dtype))])


def _numeric_unary(op: str, x: Any) -> Variable:
    v = as_variable(x)
    if v.type.dtype == "bool":
        if op == "abs":
            return v
        if op == "neg":
            raise DTypeError("negation of a bool array is not supported (as in NumPy); use ti.logical_not(x)")
        v = cast(v, "int64")
    out = apply(op, [v])
    out.weak = v.weak
    return out


def add(x: Any, y: Any) -> Variable:
    """``x + y``, broadcasting as NumPy does."""
    if _is_bool(x) and _is_bool(y):
        return logical_or(x, y)
    return _binary("add", x, y)


def subtract(x: Any, y: Any) -> Variable:
    return _binary("sub", x, y)


def multiply(x: Any, y: Any) -> Variable:
    if _is_bool(x) and _is_bool(y):
        return logical_and(x, y)
    return _binary("mul", x, y)


def multiply_no_nan(x: Any, y: Any) -> Variable:
    """``x * y``, but exactly 0 wherever ``x`` is 0, even where ``y`` is inf or NaN.

    Operands promote as in :func:`multiply`; the result must be a float
    (integer and bool products have no NaN to mask: use ``multiply``).

    >>> import numpy as np, tensorir as ti
    >>> @ti.jit
    ... def f(x, y):
    ...     return ti.multiply_no_nan(x, y)
    >>> f(np.array([0.0, 2.0, 0.0]), np.array([np.inf, 3.0, np.nan]))
    array([0., 6., 0.])
    """
    vx, vy = as_variable(x), as_variable(y)
    a, b = promote_all([vx, vy])
    if a.type.dtype not in ("float32", "float64"):
        raise DTypeError(
            f"multiply_no_nan needs float operands; found {vx.type.dtype} and {vy.type.dtype}, "
            f"which promote to {a.type.dtype}; cast them with astype(np.float64), or use multiply"
        )
    out = apply("mul_nonan", [a, b])
    out.weak = a.weak and b.weak
    return out


def divide(x: Any, y: Any) -> Variable:
    """True division; integer operands give float64 (as NumPy)."""
    a, b = promote_all([x, y])
    dtype = float_dtype_for(a.type.dtype)
    out = apply("div", [cast(a, dtype), cast(b, dtype)])
    out.weak = a.weak and b.weak
    return out


true_divide = divide


def floor_divide(x: Any, y: Any) -> Variable:
    return _binary("floordiv", x, y)


def mod(x: Any, y: Any) -> Variable:
    """Remainder with the sign of the divisor (Python's ``%``)."""
    return _binary("mod", x, y)


remainder = mod


def power(x: Any, y: Any) -> Variable:
    return _binary("pow", x, y)


def maximum(x: Any, y: Any) -> Variable:
    return _binary("maximum", x, y)


def minimum(x: Any, y: Any) -> Variable:
    return _binary("minimum", x, y)


def negative(x: Any) -> Variable:
    return _numeric_unary("neg", x)


def abs(x: Any) -> Variable:  # noqa: A001 - NumPy's name
    return _numeric_unary("abs", x)


absolute = abs


def sign(x: Any) -> Variable:
    return _numeric_unary("sign", x)


def _rounding(op: str, x: Any) -> Variable:
    v = as_variable(x)
    if v.type.dtype in ("int32", "int64", "bool"):
        return v  # already integral
    return apply(op, [v])


def floor(x: Any) -> Variable:
    return _rounding("floor", x)


def ceil(x: Any) -> Variable:
    return _rounding("ceil", x)


def rint(x: Any) -> Variable:
    """Round to the nearest integer, ties to even (NumPy's ``rint``/``round``)."""
    return _rounding("round", x)


def round(x: Any, decimals: int = 0) -> Variable:  # noqa: A001
    if decimals == 0:
        return rint(x)
    scale = 10.0**decimals
    return divide(rint(multiply(x, scale)), scale)


def exp(x: Any) -> Variable:
    return _float_unary("exp", x)


def log(x: Any) -> Variable:
    return _float_unary("log", x)


def log1p(x: Any) -> Variable:
    return _float_unary("log1p", x)


def expm1(x: Any) -> Variable:
    return _float_unary("expm1", x)


def sqrt(x: Any) -> Variable:
    return _float_unary("sqrt", x)


def rsqrt(x: Any) -> Variable:
    """``1 / sqrt(x)``."""
    return _float_unary("rsqrt", x)


def tanh(x: Any) -> Variable:
    return _float_unary("tanh", x)


def sin(x: Any) -> Variable:
    return _float_unary("sin", x)


def cos(x: Any) -> Variable:
    return _float_unary("cos", x)


def erf(x: Any) -> Variable:
    return _float_unary("erf", x)


def sigmoid(x: Any) -> Variable:
    """``1 / (1 + exp(-x))``, computed without overflow."""
    return _float_unary("sigmoid", x)


def softplus(x: Any) -> Variable:
    """``log(1 + exp(x))``, computed without overflow."""
    return _float_unary("softplus", x)


def logaddexp(x: Any, y: Any) -> Variable:
    """``log(exp(x) + exp(y))`` without overflow, broadcasting and promoting as NumPy's ``logaddexp``.

    Computed as ``max(x, y) + log1p(exp(-|x - y|))``; ``x + log(2)`` where
    ``x == y``, so equal infinities give that infinity. Integer operands give
    float64. Its gradient, ``sigmoid(x - y)``, is stable too.

    >>> import numpy as np, tensorir as ti
    >>> ti.jit(ti.logaddexp)(np.array([1000.0, -np.inf, 0.0]), np.array([1000.0, 2.0, -1000.0]))
    array([1000.69314718,    2.        ,    0.        ])
    """
    a, b = promote_all([x, y])
    dtype = float_dtype_for(a.type.dtype)
    out = apply("logaddexp", [cast(a, dtype), cast(b, dtype)])
    out.weak = a.weak and b.weak
    return out


def log1mexp(x: Any) -> Variable:
    """``log(1 - exp(x))`` for ``x <= 0``, accurate over the whole range.

    ``log(-expm1(x))`` for ``x > -log(2)`` and ``log1p(-exp(x))`` below
    (Mächler, 2012): ``-inf`` at 0, NaN above 0; the naive form loses all
    digits near 0 (``x = -1e-20``) and far below it (``x = -40``).

    >>> import numpy as np, tensorir as ti
    >>> ti.jit(ti.log1mexp)(np.array([-1e-20, -40.0, 0.0]))
    array([-4.60517019e+01, -4.24835426e-18,            -inf])
    """
    return _float_unary("log1mexp", x)


def square(x: Any) -> Variable:
    v = as_variable(x)
    return multiply(v, v)


def reciprocal(x: Any) -> Variable:
    v = as_variable(x)
    return divide(1.0, v) if v.type.dtype.startswith("float") else divide(1, v)


def equal(x: Any, y: Any) -> Variable:
    return _compare("eq", x, y)


def not_equal(x: Any, y: Any) -> Variable:
    return _compare("ne", x, y)


def less(x: Any, y: Any) -> Variable:
    return _compare("lt", x, y)


def less_equal(x: Any, y: Any) -> Variable:
    return _compare("le", x, y)


def greater(x: Any, y: Any) -> Variable:
    return _compare("gt", x, y)


def greater_equal(x: Any, y: Any) -> Variable:
    return _compare("ge", x, y)


def logical_and(x: Any, y: Any) -> Variable:
    return _bool_binary("and", x, y)


def logical_or(x: Any, y: Any) -> Variable:
    return _bool_binary("or", x, y)


def logical_xor(x: Any, y: Any) -> Variable:
    return _bool_binary("xor", x, y)


def logical_not(x: Any) -> Variable:
    return apply("not", [cast(as_variable(x), "bool")])


def where(cond: Any, x: Any, y: Any) -> Variable:
    """Elementwise ``x if cond else y``; gradients of the branch not taken are 0."""
    c = cast(as_variable(cond, "condition"), "bool")
    a, b = promote_all([x, y])
    out = apply("select", [c, a, b])
    out.weak = a.weak and b.weak
    return out


def clip(x: Any, a_min: Any = None, a_max: Any = None) -> Variable:
    """Limit values to ``[a_min, a_max]``; ``None`` leaves that side open."""
    out = as_variable(x)
    if a_min is not None:
        out = maximum(out, a_min)
    if a_max is not None:
        out = minimum(out, a_max)
    return out


def astype(x: Any, dtype: Any) -> Variable:
    return cast(as_variable(x), canonical_dtype(dtype, "astype"))


def _is_bool(x: Any) -> bool:
    return isinstance(x, Variable) and x.type.dtype == "bool" or isinstance(x, bool)
