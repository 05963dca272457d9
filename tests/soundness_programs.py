"""Random tir programs for the soundness tests (``test_soundness.py``).

A :class:`Program` is a tuple of nodes over fixed inputs with free dims
and size-1 dims; node operands are indices into inputs + earlier nodes.
:func:`make_program` draws one through a :class:`Picker` (hypothesis, or a
seeded generator for deterministic runs); :class:`Builder` turns the nodes
into traced values while tracing, adapting each node to its operands' types
and run-time shapes (it knows the size of every free dim), so every program
traces and runs. Nodes cover the elementwise ops of the op table,
comparisons and ``where``, reductions with axes and keepdims, layout ops,
``matmul``, softmax and its kin, casts and constants (splats of 0, 1, -1,
0.5, 2, -0.0, +-inf and NaN, as ``tir.constant`` or ``tir.full``, and random
arrays), and :data:`PATTERNS`, the forms the simplify and stabilize rules
target. ``repr(program)`` reproduces it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from hypothesis import strategies as st

import tensorir as ti
from tensorir.dialects import OPS
from tensorir.errors import TensorIRError

R, C = 3, 4  # run-time sizes of the free dims

# name, shape, kind ("float": the program's float dtype; "int": int32)
INPUTS = (("x", (R, C), "float"), ("y", (R, C), "float"), ("c", (R, 1), "float"), ("r", (C,), "float"),
          ("s", (), "float"), ("w", (C, C), "float"), ("k", (R, C), "int"))

# The frontend function of each elementwise op of the op table, where the names differ;
# select and cast have nodes of their own (where, cast).
FRONTEND = {"neg": "negative", "not": "logical_not", "sub": "subtract", "mul": "multiply", "div": "divide",
            "mul_nonan": "multiply_no_nan", "floordiv": "floor_divide", "pow": "power", "eq": "equal",
            "ne": "not_equal", "lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal",
            "and": "logical_and", "or": "logical_or", "xor": "logical_xor"}
OWN_NODES = {"select": "where", "cast": "cast"}


def _elementwise(arity: int) -> dict[str, Callable[..., Any] | None]:
    """Every elementwise op of the op table taking ``arity`` operands: its frontend function
    (None when there is none: test_programs_cover_the_op_table fails then)."""
    return {name: getattr(ti, FRONTEND.get(name, name), None) for name, op in sorted(OPS.items())
            if op.family == "elementwise" and len(op.operands) == arity and name not in OWN_NODES}


UNARY = _elementwise(1)
BINARY = _elementwise(2)
INT_UNARY = {"neg", "abs", "sign", "not"}  # the others take floats
INT_BINARY = {"add", "sub", "mul", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge", "and", "or", "xor"}

REDUCE: dict[str, Callable[..., Any]] = {
    "sum": ti.sum, "mean": ti.mean, "max": ti.max, "min": ti.min, "prod": ti.prod, "logsumexp": ti.logsumexp,
    "argmax": ti.argmax, "argmin": ti.argmin,
}
# float -> float ops (and patterns) that are not continuous
DISCONTINUOUS = {"floor", "ceil", "round", "sign", "floordiv", "mod", "c<x", "c>=x", "where(!c,x,u)",
                 "f(i32(bool))", "f(f(bool))"}
NN = ("softmax", "log_softmax", "softmax_cross_entropy")  # ti.nn functions of one or two operands

SPLATS = (0.0, 1.0, -1.0, 0.5, 2.0, -0.0, np.inf, -np.inf, np.nan)
CONST_SHAPES = ((), (C,), (1, C), (R, 1), (R, C))

LAYOUT = ("transpose", "transpose2", "flatten", "reshape_back", "reshape_rows", "expand", "expand_squeeze",
          "squeeze", "squeeze_expand", "broadcast", "broadcast2", "slice", "slice_step", "flip", "concat", "stack",
          "arange", "slice_update", "per_row")

CASTS = ("float32", "float64", "bool", "int32", "roundtrip")

ONE = lambda b, v: np.asarray(1.0, b.dtype_of(v))  # noqa: E731
ZERO = lambda b, v: np.asarray(0.0, b.dtype_of(v))  # noqa: E731
MZERO = lambda b, v: np.asarray(-0.0, b.dtype_of(v))  # noqa: E731

# The patterns the rules target: (builder, v, u) -> value, v and u floats of broadcastable shapes.
PATTERNS: dict[str, Callable[[Any, Any, Any], Any]] = {
    # simplify: units and zeros
    "x*1": lambda b, v, u: v * 1,
    "1*x": lambda b, v, u: ti.multiply(ONE(b, v), v),
    "x*ones": lambda b, v, u: v * np.ones(b.rshape(v)[-1:], b.dtype_of(v)),
    "x/1": lambda b, v, u: v / 1.0,
    "x+0": lambda b, v, u: v + 0.0,
    "x+(-0)": lambda b, v, u: v + MZERO(b, v),
    "0+x": lambda b, v, u: ti.add(ZERO(b, v), v),
    "x-0": lambda b, v, u: v - ZERO(b, v),
    "x-(-0)": lambda b, v, u: v - MZERO(b, v),
    "x*0": lambda b, v, u: v * ZERO(b, v),
    "x-x": lambda b, v, u: v - v,
    "k*0": lambda b, v, u: b.int(v) * 0,
    "0*k": lambda b, v, u: ti.multiply(np.int32(0), b.int(v)),
    "k-k": lambda b, v, u: b.int(v) - b.int(v),
    "k+0": lambda b, v, u: b.int(v) + np.int32(0),
    "k-0": lambda b, v, u: b.int(v) - 0,
    "0-k": lambda b, v, u: ti.subtract(np.int32(0), b.int(v)),
    "k*-1": lambda b, v, u: b.int(v) * -1,
    "k**1": lambda b, v, u: b.int(v) ** 1,
    "k**2": lambda b, v, u: b.int(v) ** 2,
    "x/2": lambda b, v, u: v / 2.0,
    "x/0.25": lambda b, v, u: v / np.asarray(0.25, b.dtype_of(v)),
    "x/3": lambda b, v, u: v / 3.0,
    "nonan(2,x)": lambda b, v, u: ti.multiply_no_nan(np.asarray(2.0, b.dtype_of(v)), v),
    "nonan(x,1)": lambda b, v, u: ti.multiply_no_nan(v, ONE(b, v)),
    "nonan(0,x)": lambda b, v, u: ti.multiply_no_nan(ZERO(b, v), v),
    # negation
    "--x": lambda b, v, u: -(-v),
    "x*-1": lambda b, v, u: v * -1.0,
    "-0-x": lambda b, v, u: ti.subtract(MZERO(b, v), v),
    "0-x": lambda b, v, u: ti.subtract(ZERO(b, v), v),
    "x-(-u)": lambda b, v, u: v - (-u),
    "x+(-u)": lambda b, v, u: v + (-u),
    "(-x)+u": lambda b, v, u: (-v) + u,
    "(-x)+(-u)": lambda b, v, u: (-v) + (-u),
    "(-x)*(-u)": lambda b, v, u: (-v) * (-u),
    "(-x)/(-u)": lambda b, v, u: (-v) / (-u),
    "||x||": lambda b, v, u: ti.abs(ti.abs(v)),
    "|-x|": lambda b, v, u: ti.abs(-v),
    # constants to the right
    "2*x": lambda b, v, u: ti.multiply(np.asarray(2.0, b.dtype_of(v)), v),
    "c<x": lambda b, v, u: ti.where(ti.less(ZERO(b, v), v), v, u),
    "c>=x": lambda b, v, u: ti.where(ti.greater_equal(ONE(b, v), v), u, v),
    "max(0,x)": lambda b, v, u: ti.maximum(ZERO(b, v), v),
    "min(x,-0)": lambda b, v, u: ti.minimum(v, MZERO(b, v)),
    # powers
    "x**0": lambda b, v, u: v ** 0.0,
    "x**1": lambda b, v, u: v ** 1.0,
    "x**2": lambda b, v, u: v ** 2.0,
    "x**-1": lambda b, v, u: v ** -1.0,
    "x**0.5": lambda b, v, u: v ** 0.5,
    "x**[0.5]": lambda b, v, u: v ** np.full(b.rshape(v)[-1:], 0.5, b.dtype_of(v)),
    "x**broadcast(0.5)": lambda b, v, u: v ** ti.broadcast_to(np.asarray(0.5, b.dtype_of(v)), v.shape),
    "x**3": lambda b, v, u: v ** 3.0,
    # logarithms, selects, casts
    "log(exp x)": lambda b, v, u: ti.log(ti.exp(v)),
    "exp(log x)": lambda b, v, u: ti.exp(ti.log(v)),
    "where(c,x,x)": lambda b, v, u: ti.where(v > u, v, v),
    "where(!c,x,u)": lambda b, v, u: ti.where(ti.logical_not(v > u), v, u),
    "where(T,x,u)": lambda b, v, u: ti.where(np.asarray(True), v, u),
    "where(F,x,u)": lambda b, v, u: ti.where(np.full(b.rshape(v)[-1:], False), v, u),
    "f64(f32 x)": lambda b, v, u: ti.astype(ti.astype(v, "float32"), "float64"),
    "f32(f64(f32 x))": lambda b, v, u: ti.astype(ti.astype(ti.astype(v, "float32"), "float64"), "float32"),
    "f(i32(bool))": lambda b, v, u: ti.astype(ti.astype(v > u, "int32"), b.dtype_of(v)),
    "f(f(bool))": lambda b, v, u: ti.astype(ti.astype(v > u, "float32"), "float64"),
    # layout
    "T(T x)": lambda b, v, u: ti.transpose(ti.transpose(b.matrix(v))),
    "T(T x, p)": lambda b, v, u: ti.transpose(ti.transpose(ti.expand_dims(b.matrix(v), 0), (2, 0, 1)), (1, 0, 2)),
    "T(x, id)": lambda b, v, u: ti.transpose(b.matrix(v), (0, 1)),
    "reshape(reshape)": lambda b, v, u: ti.reshape(ti.reshape(v, (-1,)), v.shape),
    "reshape(expand)": lambda b, v, u: ti.reshape(ti.expand_dims(v, 0), v.shape),
    "reshape(x, shape)": lambda b, v, u: ti.reshape(v, v.shape),
    "squeeze(expand)": lambda b, v, u: ti.squeeze(ti.expand_dims(v, 0), 0),
    "expand(squeeze)": lambda b, v, u: ti.expand_dims(ti.squeeze(ti.expand_dims(v, -1), -1), -1),
    "expand(expand)": lambda b, v, u: ti.expand_dims(ti.expand_dims(v, 0), 0),
    "squeeze(squeeze)": lambda b, v, u: ti.squeeze(ti.squeeze(ti.expand_dims(v, (0, 1)), 0), 0),
    "broadcast(x, shape x)": lambda b, v, u: ti.broadcast_to(v, v.shape),
    "broadcast(broadcast)": lambda b, v, u: ti.broadcast_to(ti.broadcast_to(v, (1, *v.shape)), (2, *v.shape)),
    "broadcast + u": lambda b, v, u: b.broadcast_like(v, u) + u,
    "exp(broadcast)": lambda b, v, u: ti.exp(b.broadcast_big(v)),
    "sum unit axes": lambda b, v, u: ti.sum(ti.expand_dims(v, -1), axis=-1),
    "max unit axes": lambda b, v, u: ti.max(ti.expand_dims(v, 0), axis=0, keepdims=True),
    "sum(broadcast)": lambda b, v, u: ti.sum(b.broadcast_big(v), axis=0),
    "sum(broadcast), keepdims": lambda b, v, u: ti.sum(b.broadcast_big(v), axis=0, keepdims=True),
    "mean(broadcast)": lambda b, v, u: ti.mean(b.broadcast_big(v), axis=0),
    "max(broadcast)": lambda b, v, u: ti.max(b.broadcast_big(v), axis=0),
    "min(broadcast)": lambda b, v, u: ti.min(b.broadcast_big(v), axis=(0, 1)),
    # stabilize
    "log(softmax)": lambda b, v, u: ti.log(ti.nn.softmax(v, axis=-1)),
    "log(sum(exp))": lambda b, v, u: ti.log(ti.sum(ti.exp(v), axis=-1)),
    "log(sum(exp)), keepdims": lambda b, v, u: ti.log(ti.sum(ti.exp(v), axis=0, keepdims=True)),
    "log(1+x)": lambda b, v, u: ti.log(1.0 + v),
    "log(x+1)": lambda b, v, u: ti.log(v + 1.0),
    "exp(x)-1": lambda b, v, u: ti.exp(v) - 1.0,
    "log(1+exp x)": lambda b, v, u: ti.log(1.0 + ti.exp(v)),
    "log(sigmoid)": lambda b, v, u: ti.log(ti.sigmoid(v)),
    "log(1-sigmoid)": lambda b, v, u: ti.log(1.0 - ti.sigmoid(v)),
    "1/(1+exp(-x))": lambda b, v, u: 1.0 / (1.0 + ti.exp(-v)),
    "exp/sum(exp)": lambda b, v, u: ti.exp(v) / ti.sum(ti.exp(v), axis=-1, keepdims=True),
    "sqrt(x*x)": lambda b, v, u: ti.sqrt(v * v),
    "sqrt(x**2)": lambda b, v, u: ti.sqrt(v ** 2),
    "x-logsumexp(x)": lambda b, v, u: v - ti.logsumexp(v, axis=-1, keepdims=True),
    "x-expand(logsumexp(x))": lambda b, v, u: v - ti.expand_dims(ti.logsumexp(v, axis=0), 0),
    "x-log(sum(exp x))": lambda b, v, u: v - ti.log(ti.sum(ti.exp(v), axis=-1, keepdims=True)),
    "exp/(1+exp)": lambda b, v, u: ti.exp(v) / (1.0 + ti.exp(v)),
    "exp/(exp+1)": lambda b, v, u: ti.exp(v) / (ti.exp(v) + 1.0),
    "log(exp a+exp b)": lambda b, v, u: ti.log(ti.exp(v) + ti.exp(u)),
    "log(1-exp x)": lambda b, v, u: ti.log(1.0 - ti.exp(v)),
    "log(-expm1 x)": lambda b, v, u: ti.log(-ti.expm1(v)),
    "log1p(-exp x)": lambda b, v, u: ti.log1p(-ti.exp(v)),
    "sum(-y*log_softmax)": lambda b, v, u: ti.sum(-b.labels(v, u) * ti.nn.log_softmax(v, axis=-1), axis=-1),
    "sum(y*log_softmax)": lambda b, v, u: ti.sum(b.labels(v, u) * ti.nn.log_softmax(v, axis=-1), axis=-1),
    "-sum(y*log_softmax)": lambda b, v, u: -ti.sum(b.labels(v, u) * ti.nn.log_softmax(v, axis=-1), axis=-1),
    "-sum(y*log(softmax))": lambda b, v, u: -ti.sum(b.labels(v, u) * ti.log(ti.nn.softmax(v, axis=0)), axis=0),
    "exp/expand(sum(exp))": lambda b, v, u: ti.exp(v) / ti.expand_dims(ti.sum(ti.exp(v), axis=-1), -1),
    "exp/sum(exp) broadcast": lambda b, v, u: ti.exp(v) / ti.sum(ti.exp(v), axis=0),
}

KINDS = ("unary", "binary", "where", "const", "reduce", "nn", "matmul", "layout", "cast", "repeat",
         "pattern", "pattern", "pattern", "pattern")


@dataclass(frozen=True)
class Program:
    dtype: str
    nodes: tuple[tuple, ...]

    def __repr__(self) -> str:  # a reproducer: Program(dtype, nodes)
        return f"Program({self.dtype!r}, {self.nodes!r})"


class Picker:
    """Random choices for :func:`make_program`: from hypothesis or a seeded generator."""

    def __init__(self, draw: Callable[[st.SearchStrategy], Any] | None = None, seed: int = 0):
        self._draw = draw
        self._rng = random.Random(seed)

    def int(self, lo: int, hi: int) -> int:
        return self._draw(st.integers(lo, hi)) if self._draw else self._rng.randint(lo, hi)

    def choice(self, options: Sequence[Any]) -> Any:
        return self._draw(st.sampled_from(options)) if self._draw else self._rng.choice(options)


def make_program(pick: Picker, dtypes: Sequence[str] = ("float64", "float64", "float64", "float32")) -> Program:
    dtype = pick.choice(dtypes)
    nodes: list[tuple] = []
    for _ in range(pick.int(2, 12)):
        n = len(INPUTS) + len(nodes)

        def operand() -> int:  # recent values more often: deeper graphs
            return pick.int(max(0, n - 3), n - 1) if pick.int(0, 1) else pick.int(0, n - 1)

        kind = pick.choice(KINDS)
        if kind == "unary":
            node: tuple = (kind, pick.choice(sorted(k for k, f in UNARY.items() if f)), operand())
        elif kind == "binary":
            node = (kind, pick.choice(sorted(k for k, f in BINARY.items() if f)), operand(), operand())
        elif kind == "where":
            node = (kind, operand(), operand(), operand())
        elif kind == "const":
            node = (kind, pick.int(0, len(SPLATS) + 3), pick.int(0, len(CONST_SHAPES) - 1), pick.int(0, 1))
        elif kind == "reduce":
            node = (kind, pick.choice(sorted(REDUCE)), operand(), pick.int(0, 4), pick.int(0, 1))
        elif kind == "nn":
            node = (kind, pick.choice(NN), operand(), operand(), pick.int(0, 3))
        elif kind == "matmul":
            node = (kind, operand(), operand(), pick.int(0, 2))
        elif kind == "layout":
            node = (kind, pick.choice(LAYOUT), operand(), pick.int(0, 2))
        elif kind == "cast":
            node = (kind, pick.choice(CASTS), operand())
        elif kind == "repeat" and nodes:
            node = nodes[pick.int(0, len(nodes) - 1)]
        else:
            node = ("pattern", pick.choice(sorted(PATTERNS)), operand(), operand())
        nodes.append(node)
    return Program(dtype, tuple(nodes))


@st.composite
def programs(draw: Any, dtypes: Sequence[str] = ("float64", "float64", "float64", "float32")) -> Program:
    return make_program(Picker(draw), dtypes)


class Builder:
    """Turns nodes into traced values; ``shapes`` are the inputs' run-time shapes, so
    the size of every free dim is known (``rshape``)."""

    def __init__(self, program: Program, inputs: Sequence[Any], shapes: Sequence[tuple[int, ...]]):
        self.dtype = program.dtype
        self.inputs = list(inputs)
        self.shapes = list(shapes)
        self.vals: list[Any] = list(inputs)
        self.used: set[int] = set()
        self.operands: list[int] = []  # those of the node being built
        self.cut = False  # the node being built compares a float operand
        self.rejected: list[tuple] = []  # nodes the frontend rejected
        # per value: it depends on a discontinuous function of a computed float
        self.discontinuous = [False] * len(self.vals)

    # -- types and shapes --------------------------------------------------
    def rshape(self, v: Any) -> tuple[int, ...]:
        return tuple(d if isinstance(d, int) else d.evaluate(self._dim) for d in v.type.shape)

    def _dim(self, sym: Any) -> int:
        _, i, k = sym.args
        return self.shapes[i][k]

    @staticmethod
    def dtype_of(v: Any) -> str:
        return str(v.type.dtype)

    def is_float(self, v: Any) -> bool:
        return self.dtype_of(v) in ("float32", "float64")

    def float(self, v: Any) -> Any:
        return v if self.is_float(v) else ti.astype(v, self.dtype)

    def int(self, v: Any) -> Any:
        """v as int32 (NaN as 0, floats clipped to +-1e6: a float with no int value is undefined)"""
        if self.is_float(v):
            v = ti.where(v == v, ti.clip(v, -1e6, 1e6), 0.0)
        return v if self.dtype_of(v) in ("int32", "int64") else ti.astype(v, "int32")

    def get(self, i: int) -> Any:
        self.used.add(i)
        self.operands.append(i)
        return self.vals[i]

    def fits(self, a: Any, b: Any) -> bool:
        """a and b broadcast together: equal sizes, or a static 1 (a free dim never broadcasts,
        even where it is 1 at run time)"""
        pairs = zip(a.type.shape[::-1], b.type.shape[::-1], self.rshape(a)[::-1], self.rshape(b)[::-1])
        return all(p == q or 1 in (da, db) for da, db, p, q in pairs)

    def fit(self, a: Any, b: Any) -> Any:
        """b, or its sum when it does not broadcast with a"""
        return b if self.fits(a, b) else ti.sum(b)

    def matrix(self, v: Any) -> Any:
        """v as a 2-d value"""
        while v.ndim < 2:
            v = ti.expand_dims(v, 0)
        while v.ndim > 2:
            v = ti.sum(v, axis=0)
        return v

    def like(self, v: Any, u: Any) -> Any:
        """u broadcast to v's type where it fits, else v / 2"""
        if self.fits(v, u) and u.ndim <= v.ndim and all(
                q == 1 or p == q for p, q in zip(self.rshape(v)[::-1], self.rshape(u)[::-1])):
            return ti.broadcast_to(u, v.shape)
        return v * 0.5

    def labels(self, v: Any, u: Any) -> Any:
        """distributions along v's last axis, of v's type"""
        return ti.nn.softmax(self.like(v, u), axis=-1)

    def broadcast_big(self, v: Any) -> Any:
        """v broadcast to (2, *shape of v) when it has a size-1 axis or is small, else to (2, R, C)"""
        x = self.inputs[0]
        if v.ndim <= 2 and self.fits(x, v):
            return ti.broadcast_to(v, (2, *x.shape))
        return ti.broadcast_to(v, (2, *v.shape))

    def broadcast_like(self, v: Any, u: Any) -> Any:
        """v broadcast to the shape of v + u (or to its own shape)"""
        if not self.fits(v, u):
            return ti.broadcast_to(v, v.shape)
        shape = np.broadcast_shapes(self.rshape(v), self.rshape(u))
        target = u if self.rshape(u) == shape else self.inputs[0]
        if self.fits(target, v) and len(self.rshape(target)) >= v.ndim:
            return ti.broadcast_to(v, target.shape)
        return ti.broadcast_to(v, v.shape)

    # -- nodes -------------------------------------------------------------
    def add(self, node: tuple) -> Any:
        self.operands, self.cut = [], False
        try:
            v = getattr(self, "_" + node[0])(*node[1:])
        except TensorIRError:  # an op the frontend rejects for these operands: a plain sum instead
            self.rejected.append(node)
            v = ti.sum(self.float(self.get(len(self.vals) - 1)))
        computed = [i for i in self.operands if i >= len(self.inputs) and self.is_float(self.vals[i])]
        cut = bool(computed) and (self.cut or not self.is_float(v) or node[1] in DISCONTINUOUS)
        self.discontinuous.append(cut or any(self.discontinuous[i] for i in self.operands))
        self.vals.append(v)
        return v

    def _unary(self, name: str, i: int) -> Any:
        v = self.get(i)
        if name not in INT_UNARY:
            v = self.float(v)
        return UNARY[name](v)

    def _binary(self, name: str, i: int, j: int) -> Any:
        a, b = self.get(i), self.get(j)
        if name not in INT_BINARY:  # integer division by zero and negative powers: not here
            a, b = self.float(a), self.float(b)
        return BINARY[name](a, self.fit(a, b))

    def _where(self, c: int, i: int, j: int) -> Any:
        cond, a, b = self.get(c), self.get(i), self.get(j)
        if self.dtype_of(cond) != "bool":
            self.cut = self.is_float(cond)
            cond = cond > 0
        b = self.fit(a, b)
        cond = self.fit(ti.add(a, b) if self.is_float(a) or self.is_float(b) else a, cond)
        return ti.where(cond, a, b)

    def _const(self, k: int, shape_k: int, use_full: int) -> Any:
        shape = CONST_SHAPES[shape_k]
        if k < len(SPLATS):
            if use_full:
                return ti.full(shape, SPLATS[k], self.dtype)
            return constant(np.full(shape, SPLATS[k], self.dtype))
        k -= len(SPLATS)
        if k == 0:
            return constant(np.full(shape, bool(shape_k % 2)))
        if k == 1:
            return constant(np.full(shape, shape_k - 2, np.int32))
        return constant(np.random.default_rng(k).uniform(-1.5, 1.5, shape).astype(self.dtype))

    def _reduce(self, name: str, i: int, axis_k: int, keepdims: int) -> Any:
        v = self.get(i)
        if name == "logsumexp":
            v = self.float(v)
        d = v.ndim
        options: list[Any] = [None, *range(d)]
        if name not in ("argmax", "argmin"):
            options += [(), tuple(range(d))]
        return REDUCE[name](v, axis=options[axis_k % len(options)], keepdims=bool(keepdims))

    def _nn(self, name: str, i: int, j: int, axis_k: int) -> Any:
        v = self.float(self.get(i))
        options = [None, *range(v.ndim), tuple(range(v.ndim))]
        axis = options[axis_k % len(options)]
        if name != "softmax_cross_entropy":
            return getattr(ti.nn, name)(v, axis=axis)
        labels = ti.nn.softmax(self.like(v, self.float(self.get(j))), axis=axis)  # distributions along axis
        return ti.nn.softmax_cross_entropy(v, labels, axis=axis)

    def _matmul(self, i: int, j: int, mode: int) -> Any:
        a, b = self.float(self.get(i)), self.float(self.get(j))
        if a.ndim == 0:
            a = ti.broadcast_to(a, self.inputs[0].shape)
        if a.ndim > 2:
            a = self.matrix(a)
        k = self.rshape(a)[-1]
        if b.ndim in (1, 2) and self.rshape(b)[0] == k:
            return ti.matmul(a, b)
        if mode == 0 and k == C:
            return ti.matmul(a, self.inputs[5])
        if mode == 2:
            return ti.outer(ti.reshape(a, (-1,)), ti.reshape(b, (-1,)))
        if a.ndim == 1:
            return ti.matmul(a, a)
        return ti.matmul(a, ti.transpose(a)) if mode == 1 else ti.matmul(ti.transpose(a), a)

    def _layout(self, name: str, i: int, p: int) -> Any:
        v = self.get(i)
        d, shape = v.ndim, self.rshape(v)
        if name == "transpose":
            return ti.transpose(v)
        if name == "transpose2":
            return ti.transpose(ti.transpose(v, tuple(reversed(range(d)))))
        if name == "flatten":
            return ti.reshape(v, (-1,))
        if name == "reshape_back":
            return ti.reshape(ti.reshape(v, (-1,)), v.shape)
        if name == "reshape_rows":
            return ti.reshape(v, (v.shape[0], -1)) if d >= 1 else ti.reshape(v, (1, 1))
        if name == "expand":
            return ti.expand_dims(v, p % (d + 1))
        if name == "expand_squeeze":
            return ti.squeeze(ti.expand_dims(v, p % (d + 1)), p % (d + 1))
        units = [a for a in range(d) if v.type.shape[a] == 1]
        if name == "squeeze":
            return ti.squeeze(v, tuple(units)) if units else ti.squeeze(ti.expand_dims(v, 0), 0)
        if name == "squeeze_expand":
            return ti.expand_dims(ti.squeeze(v, units[0]), units[0]) if units else ti.expand_dims(v, 0)
        if name == "broadcast":
            return self.broadcast_big(v) if p else self.broadcast_like(v, self.inputs[0])
        if name == "broadcast2":
            return ti.broadcast_to(ti.broadcast_to(v, (1, *v.shape)), (3, *v.shape))
        if name == "per_row":  # a free dim as a value: tir.size
            return v / v.shape[0] if d else v / 2
        if d == 0:
            return ti.reshape(v, (1,))
        axis = p % d
        if name == "arange":  # a constructor of a free size: tir.arange with a tir.dim operand
            return v + ti.astype(ti.arange(v.shape[-1]), self.dtype)
        if name == "slice_update":
            index: list[Any] = [slice(None)] * d
            index[axis] = slice(0, 1)
            return ti.slice_update(v, tuple(index), v[tuple(index)] * 2)
        index = [slice(None)] * d
        if name == "slice":
            index[axis] = slice(1, None) if shape[axis] > 1 else slice(0, 1)
            return v[tuple(index)]
        if name == "slice_step":
            index[axis] = slice(None, None, -2 if p == 2 else 2)
            return v[tuple(index)]
        if name == "flip":
            return ti.flip(v, axis)
        if name == "concat":
            return ti.concatenate([v, -v], axis=axis)
        return ti.stack([v, v * 0.5], axis=axis)

    def _cast(self, target: str, i: int) -> Any:
        v = self.get(i)
        if target == "roundtrip":
            return ti.astype(ti.astype(self.float(v), "float64"), self.dtype)
        return self.int(v) if target == "int32" else ti.astype(v, target)

    def _pattern(self, name: str, i: int, j: int) -> Any:
        v, u = self.get(i), self.get(j)
        if not name.startswith("k"):  # k: an int pattern
            v, u = self.float(v), self.float(u)
        return PATTERNS[name](self, v, self.fit(v, u))

    def sinks(self) -> list[int]:
        """The values no later node reads (at most 6, the last ones), and the last value."""
        n_in = len(self.inputs)
        sinks = [i for i in range(n_in, len(self.vals)) if i not in self.used]
        if len(self.vals) - 1 not in sinks:
            sinks.append(len(self.vals) - 1)
        return sinks[-6:]


class Built:
    """A program as a function of its inputs, for tracing (``ti.jit`` takes it).

    Returns the program's sinks, or with ``grad`` the value and gradient (with
    respect to every float input) of a scalar cost of them: the sum of the float
    sinks, plus ``0.5 * s``, so the gradient of the 0-d input ``s`` is never a
    constant zero, which compiled code gets wrong next to a 0-d sum
    (test_regression_zero_scalar_output_beside_a_sum). After a trace,
    ``discontinuous[k]`` tells whether output ``k`` depends on a discontinuous
    function (comparison, rounding, cast to int or bool, argmax, ...) of a
    computed float, which a rounding difference upstream may flip.
    """

    __name__ = "program"

    def __init__(self, program: Program, shapes: Sequence[tuple[int, ...]], grad: bool = False):
        self.program, self.shapes, self.grad = program, list(shapes), grad
        self.discontinuous: list[bool] = []

    def _sinks(self, inputs: Sequence[Any]) -> tuple[list[Any], list[bool]]:
        b = Builder(self.program, inputs, self.shapes)
        for node in self.program.nodes:
            b.add(node)
        sinks = b.sinks()
        return [b.vals[i] for i in sinks], [b.discontinuous[i] for i in sinks]

    def __call__(self, *inputs: Any) -> Any:
        if not self.grad:
            outs, self.discontinuous = self._sinks(inputs)
            return outs
        flags: list[bool] = []

        def cost(*inputs: Any) -> Any:
            outs, discontinuous = self._sinks(inputs)
            floats = [k for k, v in enumerate(outs) if str(v.type.dtype).startswith("float")]
            flags.append(any(discontinuous[k] for k in floats))
            return sum((ti.sum(ti.astype(outs[k], "float64")) for k in floats), inputs[SCALAR] * 0.5)

        out = ti.value_and_grad(cost, argnums=FLOAT_INPUTS)(*inputs)
        self.discontinuous = flags * (1 + len(FLOAT_INPUTS))
        return out


def constant(a: np.ndarray) -> Any:
    """a as a traced constant (``tir.constant``)"""
    return ti.astype(a, a.dtype)


FLOAT_INPUTS = tuple(i for i, (_, _, kind) in enumerate(INPUTS) if kind == "float")
SCALAR = [name for name, _, _ in INPUTS].index("s")


def build(program: Program, shapes: Sequence[tuple[int, ...]]) -> Built:
    return Built(program, shapes)


def gradient_of(program: Program, shapes: Sequence[tuple[int, ...]]) -> Built:
    return Built(program, shapes, grad=True)


# ---------------------------------------------------------------------------
# Inputs


# Extreme input values (exp(800) overflows)
EDGES = (0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300, 800.0, -800.0, 1.0, -1.0)


def make_inputs(dtype: str, seed: int, edges: bool = False) -> list[np.ndarray]:
    """Inputs of :data:`INPUTS`: floats uniform in [-2, 2] (with ``edges``, half of
    each array's elements drawn from :data:`EDGES`), ints in [-3, 3]."""
    rng = np.random.default_rng(seed)
    out = []
    for _, shape, kind in INPUTS:
        if kind == "int":
            out.append(rng.integers(-3, 4, shape).astype(np.int32))
            continue
        a = rng.uniform(-2.0, 2.0, shape).reshape(-1)
        if edges:
            at = rng.choice(a.size, size=max(1, a.size // 2), replace=False)
            a[at] = rng.choice(np.array(EDGES), size=at.size)
        out.append(a.reshape(shape).astype(dtype))
    return out
