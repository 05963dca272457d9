"""Turning user values into Variables, and the helpers every op function uses."""

from __future__ import annotations

import numbers
from typing import Any, Sequence

import numpy as np

from ..dialects.types import ARITH_HOOK, Dim, Sym, TensorType
from ..errors import ArgumentError, ShapeError
from .dtypes import canonical_dtype, promote
from .graph import Variable, apply

__all__ = ["as_variable", "constant", "cast", "promote_all", "normalize_axes", "is_variable"]


def is_variable(x: Any) -> bool:
    return isinstance(x, Variable)


def constant(value: Any, dtype: str | None = None, weak: bool = False) -> Variable:
    arr = np.asarray(value)
    name = canonical_dtype(dtype if dtype is not None else arr.dtype, "constant")
    arr = arr.astype(name, copy=False)
    v = apply("constant", [], {"value": arr})
    v.weak = weak
    return v


def as_variable(x: Any, what: str = "operand") -> Variable:
    """A Variable for ``x``: Variables pass through; scalars become weak constants."""
    if isinstance(x, Variable):
        return x
    if isinstance(x, (bool, np.bool_)):
        return constant(bool(x), "bool", weak=isinstance(x, bool))
    if isinstance(x, numbers.Integral):
        if not -(2**63) <= int(x) < 2**63:
            raise ArgumentError(f"{what}: the integer {x} does not fit in int64")
        if isinstance(x, np.integer):
            return constant(x, canonical_dtype(x.dtype, what))
        return constant(int(x), "int64", weak=True)
    if isinstance(x, numbers.Real):
        if isinstance(x, np.floating):
            return constant(x, canonical_dtype(x.dtype, what))
        return constant(float(x), "float64", weak=True)
    if isinstance(x, np.ndarray):
        return constant(x, canonical_dtype(x.dtype, what))
    if isinstance(x, Sym):
        return dim_value(x, what)
    if isinstance(x, (list, tuple)):
        raise ArgumentError(
            f"{what}: expected an array or a scalar, found a Python {type(x).__name__}; "
            f"wrap it with np.asarray(...) to use it as a constant array"
        )
    raise ArgumentError(
        f"{what}: expected an array, a Variable or a Python scalar, found {type(x).__name__}"
    )


def dim_value(d: Sym, what: str = "operand") -> Variable:
    """A weak int64 scalar holding the free dim ``d`` (from ``.shape``) at run time,
    so ``x.sum() / x.shape[0]`` works as in NumPy."""
    from . import ops_elementwise as ew
    from .variable import dim_source

    if d.op == "var":
        src = dim_source(d, what)  # the index value; its array is what tir.size reads
        array, axis = src.owner.inputs[0], src.owner.attrs["axis"]
        v = apply("size", [array], {"axes": (axis,), "dtype": "int64"})
    else:
        args = [dim_value(a, what) if isinstance(a, Sym) else constant(a, "int64") for a in d.args]
        if d.op == "ceildiv":
            v = ew.negative(ew.floor_divide(ew.negative(args[0]), args[1]))
        else:
            fn = {"add": ew.add, "sub": ew.subtract, "mul": ew.multiply, "floordiv": ew.floor_divide,
                  "max": ew.maximum, "min": ew.minimum}[d.op]
            v = fn(args[0], args[1])
    v.weak = True
    return v


def cast(x: Variable, dtype: str) -> Variable:
    if x.type.dtype == dtype:
        return x
    if x.owner is not None and x.owner.op == "constant":
        return constant(np.asarray(x.owner.attrs["value"]).astype(dtype), dtype, weak=x.weak)
    return apply("cast", [x], {"dtype": dtype})


def promote_all(values: Sequence[Any], what: str = "operands") -> list[Variable]:
    """Variables of one common dtype (NumPy promotion, weak scalars)."""
    vs = [as_variable(v, what) for v in values]
    dtype = promote([(v.type.dtype, v.weak) for v in vs])
    out = [cast(v, dtype) for v in vs]
    if all(v.weak for v in vs):
        for v in out:
            v.weak = True
    return out


def normalize_axes(axis: Any, rank: int, what: str = "axis") -> tuple[int, ...]:
    """Sorted non-negative axes for ``axis`` (None, int, or a sequence)."""
    if axis is None:
        return tuple(range(rank))
    items = list(axis) if isinstance(axis, (tuple, list)) else [axis]
    out = []
    for a in items:
        if isinstance(a, Variable) or not isinstance(a, (int, np.integer)):
            raise ArgumentError(f"{what} must be an int or a tuple of ints, found {a!r}")
        a = int(a)
        if not -rank <= a < rank:
            raise ShapeError(f"{what} {a} is out of bounds for an array of rank {rank}")
        out.append(a % rank)
    if len(set(out)) != len(out):
        raise ShapeError(f"{what} {tuple(items)} repeats an axis")
    return tuple(sorted(out))


def dim_variable(x: Variable, axis: int) -> Variable:
    """An ``index`` Variable holding ``x.shape[axis]`` at run time."""
    return apply("dim", [x], {"axis": axis})


def shape_operands(shape: Sequence[Any], what: str = "shape") -> tuple[list[int], list[Variable], list[Dim]]:
    """Split a user shape into a static ``shape`` attribute and dim operands.

    Entries may be ints or free dims taken from another Variable's ``.shape``
    (each a :class:`Sym`); the latter become ``-1`` plus an index operand.
    """
    from .variable import dim_source  # late: variable imports this module

    static: list[int] = []
    dims: list[Variable] = []
    syms: list[Dim] = []
    for d in shape:
        if isinstance(d, Sym):
            static.append(-1)
            dims.append(dim_source(d, what))
            syms.append(d)
        elif isinstance(d, (int, np.integer)) and int(d) >= 0:
            static.append(int(d))
            syms.append(int(d))
        else:
            raise ShapeError(f"{what}: expected non-negative ints or dims from .shape, found {d!r}")
    return static, dims, syms


def with_type(v: Variable, t: TensorType) -> Variable:
    """Give ``v`` a better-known type (free dims resolved by the frontend)."""
    v.type = t
    return v


def _dim_arith(op: str, a: Any, b: Any) -> Variable:
    """A free dim combined with a float or an array: computed at run time."""
    from . import ops_elementwise as ew

    fn = {"add": ew.add, "sub": ew.subtract, "mul": ew.multiply, "floordiv": ew.floor_divide,
          "truediv": ew.divide, "max": ew.maximum, "min": ew.minimum}[op]
    return fn(a, b)


ARITH_HOOK.append(_dim_arith)
