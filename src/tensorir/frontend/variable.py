"""Python operators, NumPy-style methods and trace-time guards of Variable.

Kept apart from ``graph.py`` so the graph stays small: this module only wires
``x + y``, ``x.sum()``, ``x[1:]``... to the op functions.
"""

from __future__ import annotations

import weakref
from typing import Any

from ..dialects.types import Sym
from ..errors import ShapeError, TracerBoolConversionError, TracerError
from . import ops_elementwise as ew
from . import ops_reduce as red
from .graph import Variable

__all__ = ["dim_source"]

# Where each free dim seen through ``.shape`` can be read at run time.
_DIM_SOURCES: "weakref.WeakValueDictionary[Sym, Variable]" = weakref.WeakValueDictionary()
_DIM_AXIS: dict[Sym, int] = {}


def _shape(self: Variable) -> tuple:
    # the latest array showing a dim is its source: equal Syms recur in every
    # trace, and an array of an earlier trace is not part of the current graph
    for axis, d in enumerate(self.type.shape):
        if isinstance(d, Sym):
            _DIM_SOURCES[d] = self
            _DIM_AXIS[d] = axis
    return self.type.shape


def dim_source(d: Sym, what: str = "shape") -> Variable:
    """An index Variable holding free dim ``d`` (seen earlier through ``.shape``)."""
    from .core import dim_variable

    src = _DIM_SOURCES.get(d)
    if src is None:
        raise ShapeError(
            f"{what}: the free dimension {d!r} is an expression of other dims; "
            "only dims read directly from an array's .shape can size a new array "
            "(use -1 in reshape, or broadcast against an array of the wanted shape)"
        )
    return dim_variable(src, _DIM_AXIS[d])


def _bool(self: Variable) -> bool:
    raise TracerBoolConversionError(
        f"a traced value {self!r} was used as a Python bool (in `if`, `while`, `and`, `or` "
        "or `not`): its value is only known when the compiled code runs. Use "
        "tensorir.where(cond, a, b) to choose elementwise, tensorir.scan for loops, or "
        "pass the deciding value as a static (non-array) Python value."
    )


def _int(self: Variable) -> int:
    raise TracerError(
        f"a traced value {self!r} was converted to a Python number: its value is only "
        "known when the compiled code runs. Keep it as an array (use .astype(...) to "
        "change its dtype), or pass the number as a static Python value."
    )


def _iter(self: Variable) -> Any:
    if not self.shape:
        raise TracerError(f"iteration over a 0-d array {self!r}")
    n = self.shape[0]
    if not isinstance(n, int):
        raise TracerError(
            f"cannot iterate over {self!r}: its first dimension is free (known only at "
            "call time); use tensorir.scan or vectorised operations instead"
        )
    return (self[i] for i in range(n))


def _len(self: Variable) -> int:
    if not self.shape:
        raise TypeError("len() of a 0-d array")
    n = self.shape[0]
    if not isinstance(n, int):
        raise TracerError(
            f"len() of {self!r}: its first dimension is free; use x.shape[0] "
            "(a symbolic dim) or tensorir.scan"
        )
    return n


def _array(self: Variable, *a: Any, **k: Any) -> Any:
    raise TracerError(
        f"a traced value {self!r} was converted to a NumPy array: inside a traced "
        "function use tensorir functions (tensorir.exp, ...) instead of numpy ones"
    )


def _swap(fn):
    return lambda self, other: fn(other, self)


def _shape_op(name: str):
    def method(self: Variable, *args: Any, **kwargs: Any) -> Any:
        from . import ops_shape

        return getattr(ops_shape, name)(self, *args, **kwargs)

    method.__name__ = name
    return method


def _linalg_op(name: str, swap: bool = False):
    def method(self: Variable, other: Any) -> Any:
        from . import ops_linalg

        fn = getattr(ops_linalg, name)
        return fn(other, self) if swap else fn(self, other)

    method.__name__ = name
    return method


_METHODS: dict[str, Any] = {
    "shape": property(_shape),
    "size": property(lambda self: _size(self)),
    "__bool__": _bool,
    "__int__": _int,
    "__float__": _int,
    "__index__": _int,
    "__complex__": _int,
    "__iter__": _iter,
    "__len__": _len,
    "__array__": _array,
    "__add__": ew.add,
    "__radd__": _swap(ew.add),
    "__sub__": ew.subtract,
    "__rsub__": _swap(ew.subtract),
    "__mul__": ew.multiply,
    "__rmul__": _swap(ew.multiply),
    "__truediv__": ew.divide,
    "__rtruediv__": _swap(ew.divide),
    "__floordiv__": ew.floor_divide,
    "__rfloordiv__": _swap(ew.floor_divide),
    "__mod__": ew.mod,
    "__rmod__": _swap(ew.mod),
    "__pow__": ew.power,
    "__rpow__": _swap(ew.power),
    "__neg__": ew.negative,
    "__pos__": lambda self: self,
    "__abs__": ew.abs,
    "__invert__": lambda self: ew.logical_not(self) if self.type.dtype == "bool" else _no_bitwise(),
    "__and__": lambda self, o: ew.logical_and(self, o) if _boolish(self, o) else _no_bitwise(),
    "__rand__": lambda self, o: ew.logical_and(o, self) if _boolish(self, o) else _no_bitwise(),
    "__or__": lambda self, o: ew.logical_or(self, o) if _boolish(self, o) else _no_bitwise(),
    "__ror__": lambda self, o: ew.logical_or(o, self) if _boolish(self, o) else _no_bitwise(),
    "__xor__": lambda self, o: ew.logical_xor(self, o) if _boolish(self, o) else _no_bitwise(),
    "__rxor__": lambda self, o: ew.logical_xor(o, self) if _boolish(self, o) else _no_bitwise(),
    "__eq__": ew.equal,
    "__ne__": ew.not_equal,
    "__lt__": ew.less,
    "__le__": ew.less_equal,
    "__gt__": ew.greater,
    "__ge__": ew.greater_equal,
    "__matmul__": _linalg_op("matmul"),
    "__rmatmul__": _linalg_op("matmul", swap=True),
    "__getitem__": _shape_op("getitem"),
    "T": property(lambda self: _shape_op("transpose")(self)),
    "mT": property(lambda self: _shape_op("matrix_transpose")(self)),
    "reshape": lambda self, *shape, **kw: _shape_op("reshape")(
        self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape, **kw
    ),
    "transpose": lambda self, *axes: _shape_op("transpose")(
        self, (axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes) or None
    ),
    "flatten": _shape_op("ravel"),
    "ravel": _shape_op("ravel"),
    "squeeze": _shape_op("squeeze"),
    "swapaxes": _shape_op("swapaxes"),
    "dot": _linalg_op("dot"),
    "astype": ew.astype,
    "clip": ew.clip,
    "sum": red.sum,
    "mean": red.mean,
    "prod": red.prod,
    "max": red.max,
    "min": red.min,
    "argmax": red.argmax,
    "argmin": red.argmin,
    "any": red.any,
    "all": red.all,
}


def _size(self: Variable) -> Any:
    from ..dialects.types import prod

    return prod(self.shape)


def _boolish(a: Any, b: Any) -> bool:
    def is_bool(v: Any) -> bool:
        return isinstance(v, bool) or (isinstance(v, Variable) and v.type.dtype == "bool")

    return is_bool(a) and is_bool(b)


def _no_bitwise() -> Any:
    raise TracerError("bitwise operators (&, |, ^, ~) are supported on bool arrays only")


for _name, _fn in _METHODS.items():
    setattr(Variable, _name, _fn)
Variable.__hash__ = lambda self: self.id  # type: ignore[method-assign]  # __eq__ is elementwise
