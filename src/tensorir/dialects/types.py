"""Tensor types of the tir dialect, and the symbolic dimensions they carry.

A tir value is a builtin ``tensor<...>`` whose dimensions are either static
(known at trace time; always the case for size 1, as Theano's broadcastable
dims) or free (``?``, known only when the compiled function is called).

On the Python side a free dimension is a :class:`Sym`: a small integer
expression over the dimensions of the inputs (``n``, ``n * m``,
``ceildiv(n - 1, 2)``...). Type rules compute with ``int | Sym`` alike, so the
same rule types IR parsed from text (every ``?`` a fresh unknown) and a traced
program (every ``?`` a known function of the inputs' shapes, from which a
compiled function computes its output shapes and checks that the shapes of
its arguments agree).
"""

from __future__ import annotations

import contextvars
import itertools
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Union

import numpy as np

from ..errors import ShapeError

__all__ = [
    "Sym",
    "Dim",
    "TensorType",
    "DTYPES",
    "FLOAT_DTYPES",
    "INT_DTYPES",
    "require_equal",
    "shape_env",
    "ShapeEnv",
    "is_static",
    "static_value",
    "ceildiv",
    "dim_max",
    "dim_min",
    "prod",
]

DTYPES = ("bool", "int32", "int64", "float32", "float64")
FLOAT_DTYPES = ("float32", "float64")
INT_DTYPES = ("int32", "int64")

_anon = itertools.count()


class Sym:
    """A non-negative integer known at call time: an expression over input dims.

    Leaves are ``("arg", i, axis)`` (dimension ``axis`` of argument ``i``),
    ``("sym", id, name, axis)`` (of the symbolic variable ``name``, see
    ``frontend/symbolic.py``) or anonymous unknowns (from ``?`` in parsed IR). Expressions compare and hash
    by structure.
    """

    __slots__ = ("op", "args", "_hash")

    def __init__(self, op: str, args: tuple):
        self.op = op
        self.args = args
        self._hash = hash((op, args))

    # -- constructors --------------------------------------------------
    @staticmethod
    def var(*key: object) -> "Sym":
        return Sym("var", tuple(key))

    @staticmethod
    def fresh() -> "Sym":
        return Sym("var", ("anon", next(_anon)))

    # -- structure -----------------------------------------------------
    def __eq__(self, other: object) -> bool:  # structural
        return isinstance(other, Sym) and self._hash == other._hash and (
            self.op == other.op and self.args == other.args
        )

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        if self.op == "var":
            if self.args[0] == "arg":
                return f"{self.args[1]}.shape[{self.args[2]}]"
            if self.args[0] == "sym":  # ("sym", id, name, axis): a symbolic variable's dim
                return f"{self.args[2]}.shape[{self.args[3]}]"
            return f"?{self.args[1]}"
        if self.op in ("max", "min", "ceildiv"):
            return f"{self.op}({', '.join(map(repr, self.args))})"
        sym = {"add": "+", "sub": "-", "mul": "*", "floordiv": "//"}[self.op]
        return f"({self.args[0]!r} {sym} {self.args[1]!r})"

    def leaves(self) -> Iterator["Sym"]:
        if self.op == "var":
            yield self
        else:
            for a in self.args:
                if isinstance(a, Sym):
                    yield from a.leaves()

    # -- arithmetic (folds when both sides are ints) -------------------
    def __add__(self, o: "Dim") -> "Dim":
        return _binop("add", self, o)

    def __radd__(self, o: "Dim") -> "Dim":
        return _binop("add", o, self)

    def __sub__(self, o: "Dim") -> "Dim":
        return _binop("sub", self, o)

    def __rsub__(self, o: "Dim") -> "Dim":
        return _binop("sub", o, self)

    def __mul__(self, o: "Dim") -> "Dim":
        return _binop("mul", self, o)

    def __rmul__(self, o: "Dim") -> "Dim":
        return _binop("mul", o, self)

    def __truediv__(self, o: Any) -> Any:
        return ARITH_HOOK[0]("truediv", self, o) if ARITH_HOOK else NotImplemented

    def __rtruediv__(self, o: Any) -> Any:
        return ARITH_HOOK[0]("truediv", o, self) if ARITH_HOOK else NotImplemented

    def __floordiv__(self, o: "Dim") -> "Dim":
        return _binop("floordiv", self, o)

    def __rfloordiv__(self, o: "Dim") -> "Dim":
        return _binop("floordiv", o, self)

    def __bool__(self) -> bool:
        raise TypeError(
            f"the dimension {self!r} is only known when the function is called; "
            "it cannot steer Python control flow while tracing"
        )

    # -- evaluation ------------------------------------------------------
    def evaluate(self, env: Callable[["Sym"], int]) -> int:
        if self.op == "var":
            return env(self)
        vals = [a.evaluate(env) if isinstance(a, Sym) else a for a in self.args]
        return _EVAL[self.op](*vals)

    def python(self, leaf: Callable[["Sym"], str]) -> str:
        """A Python expression computing this dim; ``leaf`` names the leaves."""
        if self.op == "var":
            return leaf(self)
        a = [x.python(leaf) if isinstance(x, Sym) else repr(x) for x in self.args]
        if self.op == "ceildiv":
            return f"(-(-{a[0]} // {a[1]}))"
        if self.op in ("max", "min"):
            return f"{self.op}({', '.join(a)})"
        sym = {"add": "+", "sub": "-", "mul": "*", "floordiv": "//"}[self.op]
        return f"({a[0]} {sym} {a[1]})"


Dim = Union[int, Sym]

_EVAL: dict[str, Callable[..., int]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "floordiv": lambda a, b: a // b,
    "ceildiv": lambda a, b: -(-a // b),
    "max": max,
    "min": min,
}


# Set by the frontend: (op, a, b) -> array value, for a dim combined with a
# float or an array (``x.sum() / x.shape[0]``); empty when only dims are known.
ARITH_HOOK: list[Callable[[str, Any, Any], Any]] = []


def _binop(op: str, a: Dim, b: Dim) -> Dim:
    if not (isinstance(a, (int, Sym)) and isinstance(b, (int, Sym))) or isinstance(a, bool) or isinstance(b, bool):
        # a float or an array: the frontend turns the dim into a run-time value
        return ARITH_HOOK[0](op, a, b) if ARITH_HOOK else NotImplemented
    if isinstance(a, int) and isinstance(b, int):
        return _EVAL[op](a, b)
    if op == "add" and (a == 0 or b == 0):
        return b if a == 0 else a
    if op == "sub" and b == 0:
        return a
    if op == "mul" and (a == 1 or b == 1):
        return b if a == 1 else a
    if op == "mul" and (a == 0 or b == 0):
        return 0
    if op == "floordiv" and b == 1:
        return a
    return Sym(op, (a, b))


def substitute(d: Any, mapping: Mapping[Sym, Dim]) -> Any:
    """``d`` with the leaves of ``mapping`` replaced (folding where they become ints);
    anything that is not a :class:`Sym` passes through."""
    if not isinstance(d, Sym) or not mapping:
        return d
    if d.op == "var":
        return mapping.get(d, d)
    args = [substitute(a, mapping) for a in d.args]
    if all(isinstance(a, int) for a in args):
        return _EVAL[d.op](*args)
    if d.op in ("add", "sub", "mul", "floordiv"):
        return _binop(d.op, args[0], args[1])
    return Sym(d.op, tuple(args))


def ceildiv(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) and isinstance(b, int):
        return -(-a // b)
    if b == 1:
        return a
    return Sym("ceildiv", (a, b))


def dim_max(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) and isinstance(b, int):
        return max(a, b)
    if a == b:
        return a
    return Sym("max", (a, b))


def dim_min(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) and isinstance(b, int):
        return min(a, b)
    if a == b:
        return a
    return Sym("min", (a, b))


def prod(dims: "tuple[Dim, ...] | list[Dim]") -> Dim:
    out: Dim = 1
    for d in dims:
        out = out * d  # type: ignore[operator]
    return out


def is_static(d: Dim) -> bool:
    return isinstance(d, int)


def static_value(d: Dim) -> int | None:
    return d if isinstance(d, int) else None


# ---------------------------------------------------------------------------
# Runtime shape constraints collected while typing a traced program.


class ShapeEnv:
    """Equalities between free dims that only the call can check.

    While a program is traced, a type rule that needs two dims to be equal
    (broadcasting, matmul's inner dims, concatenation's other axes) calls
    :func:`require_equal`; static mismatches fail at once, symbolic ones are
    recorded here and checked on every call against the actual shapes.
    """

    def __init__(self) -> None:
        self.equalities: list[tuple[Dim, Dim, str]] = []
        self.nonneg: list[tuple[Dim, str]] = []

    def require(self, a: Dim, b: Dim, why: str) -> None:
        if a != b:
            self.equalities.append((a, b, why))


_current_env: contextvars.ContextVar[ShapeEnv | None] = contextvars.ContextVar(
    "tensorir_shape_env", default=None
)


class shape_env:
    """Context manager making ``env`` the collector of runtime shape checks."""

    def __init__(self, env: ShapeEnv):
        self.env = env
        self._token: contextvars.Token | None = None

    def __enter__(self) -> ShapeEnv:
        self._token = _current_env.set(self.env)
        return self.env

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        _current_env.reset(self._token)


def require_equal(a: Dim, b: Dim, why: str) -> Dim:
    """Dims ``a`` and ``b`` must be equal; return the better-known of the two.

    ``why`` completes the sentence "shapes disagree: ..." in the error raised
    at trace time (both static) or at call time (either free).
    """
    if isinstance(a, int) and isinstance(b, int):
        if a != b:
            raise ShapeError(f"{why}: {a} != {b}")
        return a
    if a == b:
        return a
    env = _current_env.get()
    if env is not None:
        env.require(a, b, why)
    if isinstance(a, int):
        return a
    if isinstance(b, int):
        return b
    # prefer a plain input dimension over a derived expression
    return a if a.op == "var" or b.op != "var" else b


# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TensorType:
    """dtype name (``float32``...) and shape; ``index`` dtype for dim values."""

    dtype: str
    shape: tuple[Dim, ...]

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_float(self) -> bool:
        return self.dtype in FLOAT_DTYPES

    @property
    def is_int(self) -> bool:
        return self.dtype in INT_DTYPES

    def with_dtype(self, dtype: str) -> "TensorType":
        return TensorType(dtype, self.shape)

    def with_shape(self, shape: "tuple[Dim, ...] | list[Dim]") -> "TensorType":
        return TensorType(self.dtype, tuple(shape))

    def __str__(self) -> str:
        if self.dtype == "index":
            return "index"
        dims = "x".join("?" if isinstance(d, Sym) else str(d) for d in self.shape)
        el = MLIR_ELEMENT[self.dtype]
        return f"tensor<{dims}x{el}>" if self.shape else f"tensor<{el}>"

    def concrete(self, env: Mapping[Sym, int] | Callable[[Sym], int]) -> tuple[int, ...]:
        look = env if callable(env) else env.__getitem__
        return tuple(d if isinstance(d, int) else d.evaluate(look) for d in self.shape)


INDEX = TensorType("index", ())

MLIR_ELEMENT = {
    "bool": "i1",
    "int32": "i32",
    "int64": "i64",
    "float32": "f32",
    "float64": "f64",
}
ELEMENT_DTYPE = {v: k for k, v in MLIR_ELEMENT.items()}


def numpy_dtype(dtype: str) -> np.dtype:
    return np.dtype(dtype)
