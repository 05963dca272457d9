"""Theano-style symbolic variables: typed graph inputs, shared variables,
graph rewriting by substitution, and gradients of symbolic expressions.

A symbolic variable is a graph input :class:`Variable` built by hand rather
than by tracing: ``ti.matrix("x")`` has dtype ``ti.config.floatX`` and two
free dims; ``ti.tensor("x", "float32", shape=(None, 784))`` declares a free
batch dim and a dim that must be 784 (checked when a compiled function is
called). A dim declared ``1`` is broadcastable, as in Theano. Free dims are
``Sym.var("sym", id, name, axis)``, so a function compiled from these
variables serves every size, and messages read ``x.shape[0]``.

Expressions over them use the same operators and functions as ``@jit``
code; :func:`tensorir.function` compiles them.

>>> import numpy as np, tensorir as ti
>>> x = ti.vector("x", dtype="float64")
>>> y = (x ** 2).sum()
>>> float(y.eval({x: np.array([1.0, 2.0])}))
5.0
>>> g = ti.grad(y, x)
>>> g.eval({x: np.array([1.0, 2.0])})
array([2., 4.])
"""

from __future__ import annotations

import itertools
import weakref
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..dialects.types import Dim, ShapeEnv, Sym, TensorType, require_equal, shape_env, substitute
from ..errors import ArgumentError, DTypeError, ShapeError
from .core import as_variable
from .dtypes import canonical_dtype
from .graph import Node, Subgraph, Variable, all_nodes, apply, toposort
from .graph import _ids as graph_ids

__all__ = [
    "tensor",
    "scalar",
    "vector",
    "matrix",
    "tensor3",
    "tensor4",
    "shared",
    "SharedVariable",
    "InputVariable",
    "clone_replace",
    "symbolic_grad",
    "is_symbolic_input",
    "declared_shape",
]

_ids = itertools.count()


class InputVariable(Variable):
    """A symbolic input built by hand (``ti.matrix("x")``, ``ti.shared(...)``),
    with the sizes it declared (``None`` where free) for call-time checks."""

    __slots__ = ("declared",)

    def __repr__(self) -> str:
        dims = ", ".join("?" if d is None else str(d) for d in self.declared)
        label = f" {self.name!r}" if self.name else ""
        return f"<Variable{label} {self.type.dtype}[{dims}]>"


def _dtype(dtype: Any, what: str) -> str:
    if dtype is None:
        from ..config import config

        dtype = config.floatX
    return canonical_dtype(dtype, what)


def _input(name: str | None, dtype: str, shape: Sequence[int | None], what: str) -> Variable:
    if name is not None and not isinstance(name, str):
        raise ArgumentError(f"{what}: name must be a string, found {type(name).__name__}")
    uid = next(_ids)
    label = name or f"input{uid}"
    dims: list[Dim] = []
    for k, d in enumerate(shape):
        if d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d != 1 and d >= 0):
            dims.append(Sym.var("sym", uid, label, k))
        elif d == 1 and not isinstance(d, bool):
            dims.append(1)
        else:
            raise ShapeError(f"{what}: dims must be None (free) or non-negative ints, found {d!r} at axis {k}")
    v = InputVariable(TensorType(dtype, tuple(dims)), name=name)
    v.declared = tuple(None if d is None else int(d) for d in shape)
    return v


def tensor(name: str | None = None, dtype: Any = None, shape: Sequence[int | None] | None = None,
           broadcastable: Sequence[bool] | None = None) -> Variable:
    """A symbolic input of ``dtype`` (default ``ti.config.floatX``).

    Give its rank by ``shape`` (``None`` for a free dim, an int for a size
    checked at call time, 1 for a broadcastable dim) or by Theano's
    ``broadcastable`` pattern (True where the dim is 1).

    >>> import tensorir as ti
    >>> ti.tensor("x", "float32", shape=(None, 784))
    <Variable 'x' float32[?, 784]>
    """
    if (shape is None) == (broadcastable is None):
        raise ArgumentError("tensor(): give exactly one of shape=(None, 784, ...) or broadcastable=(False, ...)")
    if broadcastable is not None:
        shape = [1 if b else None for b in broadcastable]
    return _input(name, _dtype(dtype, "tensor()"), list(shape), "tensor()")  # type: ignore[arg-type]


def scalar(name: str | None = None, dtype: Any = None) -> Variable:
    """A 0-d symbolic input (``ti.config.floatX`` unless ``dtype`` is given)."""
    return _input(name, _dtype(dtype, "scalar()"), (), "scalar()")


def vector(name: str | None = None, dtype: Any = None) -> Variable:
    """A 1-d symbolic input of free length."""
    return _input(name, _dtype(dtype, "vector()"), (None,), "vector()")


def matrix(name: str | None = None, dtype: Any = None) -> Variable:
    """A 2-d symbolic input with free dims."""
    return _input(name, _dtype(dtype, "matrix()"), (None, None), "matrix()")


def tensor3(name: str | None = None, dtype: Any = None) -> Variable:
    """A 3-d symbolic input with free dims."""
    return _input(name, _dtype(dtype, "tensor3()"), (None,) * 3, "tensor3()")


def tensor4(name: str | None = None, dtype: Any = None) -> Variable:
    """A 4-d symbolic input with free dims."""
    return _input(name, _dtype(dtype, "tensor4()"), (None,) * 4, "tensor4()")


def declared_shape(v: Variable) -> tuple[int | None, ...] | None:
    """The sizes ``v`` was declared with (``None`` where free), if it is a symbolic input."""
    return v.declared if isinstance(v, InputVariable) else None


def is_symbolic_input(v: Any) -> bool:
    return isinstance(v, InputVariable)


# ---------------------------------------------------------------------------
# Shared variables


class SharedVariable(InputVariable):
    """A symbolic input bound to a value that persists across calls.

    Compiled functions read it without it being passed, and
    ``updates=[(w, expr)]`` overwrite its buffer in place after the call
    has read every old value. ``get_value()``/``set_value()`` copy unless
    ``borrow=True``; with ``borrow=True`` the array is shared and updates
    write into it.

    A GPU function (``device="cuda"``) moves the value into device memory
    at its first call and updates it there; ``get_value()`` then copies it
    back (``borrow`` cannot share device memory), ``set_value()`` stores a
    host array that the next GPU call moves again, and a CPU function
    reading the variable moves it back to the host.
    """

    __slots__ = ("_value",)

    def get_value(self, borrow: bool = False) -> np.ndarray:
        """The current value (a copy unless ``borrow``, which returns the buffer itself)."""
        if not isinstance(self._value, np.ndarray):
            return self._value.numpy()  # on a device
        return self._value if borrow else self._value.copy()

    def _host(self) -> np.ndarray:
        """The value as a host array, moved back from the device if it is there."""
        if not isinstance(self._value, np.ndarray):
            self._value = self._value.numpy()
        return self._value

    @property
    def on_device(self) -> bool:
        """Whether the value lives in GPU memory (a GPU function has used it)."""
        return not isinstance(self._value, np.ndarray)

    def set_value(self, value: Any, borrow: bool = False) -> None:
        """Replace the value; its dtype and rank must match, free dims may change size."""
        self._value = _storage(value, self, borrow)

    @property
    def value(self) -> np.ndarray:
        return self.get_value()

    def __repr__(self) -> str:
        return f"<SharedVariable {self.name!r} {self.type.dtype}{list(self._value.shape)}>"


def _storage(value: Any, var: SharedVariable, borrow: bool) -> np.ndarray:
    what = f"shared variable {var.name!r}"
    arr = np.asarray(value)
    if arr.dtype.name != var.type.dtype:
        if isinstance(value, np.ndarray) or not np.can_cast(arr.dtype, var.type.dtype, "same_kind"):
            raise DTypeError(
                f"{what} holds {var.type.dtype}, found a {arr.dtype.name} value; "
                f"convert it first (value.astype(np.{var.type.dtype}))"
            )
        arr = arr.astype(var.type.dtype)
    if arr.ndim != var.ndim:
        raise ShapeError(f"{what} has rank {var.ndim}, found a value of shape {arr.shape}")
    for k, d in enumerate(var.shape):
        if d == 1 and arr.shape[k] != 1:
            raise ShapeError(
                f"{what} is broadcastable along axis {k} (size 1), found a value of shape {arr.shape}"
            )
    ok = arr.flags.c_contiguous and arr.flags.writeable and arr.dtype.isnative and arr.flags.aligned
    if borrow and ok:
        return arr
    return np.array(arr, dtype=var.type.dtype, order="C", copy=True)


def shared(value: Any, name: str | None = None, borrow: bool = False,
           broadcastable: Sequence[bool] | None = None) -> SharedVariable:
    """A shared variable holding (a copy of, unless ``borrow``) ``value``.

    Its dtype is the value's (Python floats give float64; use an array of
    the dtype you want); its dims are free, so ``set_value`` may change
    their sizes, except where ``broadcastable`` is True (size 1).

    >>> import numpy as np, tensorir as ti
    >>> w = ti.shared(np.zeros(3, np.float32), name="w")
    >>> w.get_value()
    array([0., 0., 0.], dtype=float32)
    """
    arr = np.asarray(value)
    dtype = canonical_dtype(arr.dtype, f"shared({name!r})")
    if broadcastable is None:
        broadcastable = (False,) * arr.ndim
    if len(broadcastable) != arr.ndim:
        raise ShapeError(f"shared({name!r}): broadcastable has {len(broadcastable)} entries for a value of rank {arr.ndim}")
    uid = next(_ids)
    label = name or f"shared{uid}"
    dims = tuple(1 if b else Sym.var("sym", uid, label, k) for k, b in enumerate(broadcastable))
    v = SharedVariable(TensorType(dtype, dims), name=name)
    v.declared = tuple(1 if b else None for b in broadcastable)
    v._value = _storage(arr.astype(dtype, copy=False), v, borrow)
    return v


# ---------------------------------------------------------------------------
# Graph substitution


def _pairs(replace: Any, what: str) -> list[tuple[Variable, Variable]]:
    items = replace.items() if isinstance(replace, Mapping) else list(replace or ())
    out = []
    for item in items:
        try:
            old, new = item
        except (TypeError, ValueError):
            raise ArgumentError(f"{what}: expected (variable, replacement) pairs, found {item!r}") from None
        if not isinstance(old, Variable):
            raise ArgumentError(f"{what}: a key must be a Variable, found {type(old).__name__}")
        new_v = as_variable(new, f"{what}: the replacement of {_label(old)}")
        if new_v.weak or (not isinstance(new, Variable) and new_v.type.dtype != old.type.dtype):
            from .core import cast

            new_v = cast(new_v, old.type.dtype)
        _check_same_type(old, new_v, what)
        out.append((old, new_v))
    return out


def _label(v: Variable) -> str:
    return repr(v.name) if v.name else repr(v)


def _fmt(t: TensorType) -> str:
    return f"{t.dtype}[{', '.join(str(d) if isinstance(d, int) else '?' for d in t.shape)}]"


def _check_same_type(old: Variable, new: Variable, what: str) -> None:
    bad = old.type.dtype != new.type.dtype or old.ndim != new.ndim
    if not bad:
        for a, b in zip(old.shape, new.shape):
            if isinstance(a, int) and isinstance(b, int) and a != b:
                bad = True
            elif a == 1 and not b == 1:
                bad = True  # a broadcastable dim replaced by a free one
    if bad:
        raise DTypeError(
            f"{what}: {_label(old)} is {_fmt(old.type)} but its replacement is {_fmt(new.type)}; "
            "the replacement must have the same dtype and rank (cast it with .astype(...), "
            "reshape or broadcast it first)"
        )


def clone_replace(outputs: Any, replace: Any = None) -> Any:
    """The graph of ``outputs`` rebuilt with the variables of ``replace`` substituted.

    ``replace`` maps variables (inputs or intermediate results) to
    expressions of the same dtype and rank. ``outputs`` is a Variable or a
    list/tuple of them; the result has the same structure. Ops that do not
    depend on a replaced variable are shared with the original graph.

    >>> import numpy as np, tensorir as ti
    >>> x = ti.vector("x", "float64")
    >>> y = ti.clone_replace(x * 3.0, {x: 2.0 * x})
    >>> y.eval({x: np.array([1.0])})
    array([6.])
    """
    single = isinstance(outputs, Variable)
    outs = [outputs] if single else list(outputs)
    for k, o in enumerate(outs):
        if not isinstance(o, Variable):
            raise ArgumentError(f"clone_replace: output {k} is a {type(o).__name__}, not a Variable")
    new = _clone(outs, _pairs(replace, "clone_replace"))
    return new[0] if single else type(outputs)(new) if isinstance(outputs, tuple) else new


def _clone(
    outputs: list[Variable], pairs: list[tuple[Variable, Variable]], stop: set[int] | None = None
) -> list[Variable]:
    """``outputs`` rebuilt with each ``old`` of ``pairs`` replaced by its ``new``.

    Nodes are re-applied (and so retyped) where an input changed; free dims
    of a replaced input become those of its replacement in the attributes
    (a ``full``'s shape). A ``scan`` is rebuilt with its body cloned (see
    :func:`_clone_scan`). ``stop``: ids of Variables whose producers are not
    visited (a body's parameters).
    """
    mapping: dict[int, Variable] = {old.id: new for old, new in pairs}
    syms: dict[Sym, Dim] = {}
    for old, new in pairs:
        for a, b in zip(old.shape, new.shape):
            if isinstance(a, Sym) and a.op == "var" and a != b:
                syms[a] = b
    if not mapping:
        return list(outputs)
    for node in toposort(outputs, stop):
        if any(o.id in mapping for o in node.outputs):
            continue  # replaced as a whole
        inputs = [mapping.get(v.id, v) for v in node.inputs]
        if node.op == "scan":
            if all(a is b for a, b in zip(inputs, node.inputs)) and not _mentions(node.attrs["body"], mapping):
                continue
            results = _clone_scan(node, inputs, pairs, syms)
        else:
            if all(a is b for a, b in zip(inputs, node.inputs)):
                continue
            attrs = {k: _subst_attr(v, syms) for k, v in node.attrs.items()}
            result = apply(node.op, inputs, attrs)
            results = result if isinstance(result, list) else [result]
            results[0].owner.loc = node.loc
        for old, new in zip(node.outputs, results):
            new.weak = old.weak
            mapping[old.id] = new
    return [mapping.get(o.id, o) for o in outputs]


def _mentions(body: Subgraph, mapping: Mapping[int, Variable]) -> bool:
    """Whether a value computed inside ``body`` (or a nested body) is replaced."""
    params = {v.id for v in body.inputs}
    return any(o.id in mapping for node in all_nodes(body.outputs, params) for o in node.outputs)


def _clone_scan(
    node: Node, inputs: list[Variable], pairs: list[tuple[Variable, Variable]], syms: Mapping[Sym, Dim]
) -> list[Variable]:
    """Scan ``node`` applied to new ``inputs``: its body cloned with new
    parameters typed from them (carries: the new initial values' types;
    per-step slices: the new sequences' rows; constants: the new constant
    operands themselves), the replacements of ``pairs`` applied inside, and
    its results retyped from the new body. A replacement that brings in a
    value of the enclosing graph the body did not read makes it a further
    constant operand."""
    from .scan import captured, check_state, scan_node

    body: Subgraph = node.attrs["body"]
    num_carry, num_xs = node.attrs["num_carry"], node.attrs["num_xs"]
    has_n = num_xs == 0 and node.attrs["length"] < 0
    first = int(has_n)
    carries = inputs[first:first + num_carry]
    xs = inputs[first + num_carry:first + num_carry + num_xs]
    consts = inputs[first + num_carry + num_xs:]
    params: list[Variable] = []
    for old, init in zip(body.inputs[:num_carry], carries):
        params.append(Variable(init.type, name=old.name, weak=old.weak))
    for old, x in zip(body.inputs[num_carry:num_carry + num_xs], xs):
        params.append(Variable(TensorType(x.type.dtype, x.shape[1:]), name=old.name))
    params += consts
    start = next(graph_ids)
    old_nodes = {n.id for n in body.nodes()}
    outputs = _clone(body.outputs, list(zip(body.inputs, params)) + list(pairs), {v.id for v in body.inputs})
    param_ids = {v.id for v in params}
    extra = [v for v in captured(outputs, param_ids, lambda n: n.id > start or n.id in old_nodes)]
    new_body = Subgraph(params + extra, outputs, body.name)
    env = ShapeEnv()
    with shape_env(env):
        for k, (y, init) in enumerate(zip(outputs, carries)):
            check_state(y.type, init.type, f"scan: the new value of carried state {k}")
        ys = node.outputs[num_carry:]
        if xs:
            n: Dim = xs[0].shape[0]
            for k, x in enumerate(xs[1:], 1):
                n = require_equal(n, x.shape[0], f"scan: the sequences' slices 0 and {k} must have one length")
        elif node.attrs["length"] >= 0:
            n = node.attrs["length"]
        else:
            n = substitute(ys[0].shape[0], syms) if ys else Sym.fresh()
    checks = [(substitute(a, syms), substitute(b, syms), why) for a, b, why in node.checks] + env.equalities
    new = scan_node(new_body, list(inputs) + extra, num_carry, num_xs, n, len(ys), node.attrs["reverse"],
                    node.loc, checks)
    return new.outputs


def _subst_attr(value: Any, syms: Mapping[Sym, Dim]) -> Any:
    if isinstance(value, Sym):
        return substitute(value, syms)
    if isinstance(value, (list, tuple)) and any(isinstance(v, Sym) for v in value):
        return type(value)(substitute(v, syms) for v in value)
    return value


def depends_on(outputs: Iterable[Variable], v: Variable) -> bool:
    """Whether any of ``outputs`` is computed from ``v``."""
    outs = list(outputs)
    if any(o is v for o in outs):
        return True
    return any(i is v for node in toposort(outs) for i in node.inputs)


# ---------------------------------------------------------------------------
# Symbolic gradients


def symbolic_grad(cost: Variable, wrt: Any, disconnected_inputs: str = "raise") -> Any:
    """``d cost / d wrt`` as symbolic expressions (``ti.grad(cost, wrt)``).

    ``wrt`` is a Variable or a list/tuple of them (the result has the same
    structure). The derivative is built by the ``tir-autodiff`` pass when
    the expression is compiled; it composes into further expressions and
    into ``updates``. A ``wrt`` that ``cost`` does not depend on is an
    error unless ``disconnected_inputs="ignore"`` (its gradient is then zero).
    """
    if disconnected_inputs not in ("raise", "ignore"):
        raise ArgumentError(f"grad: disconnected_inputs must be 'raise' or 'ignore', found {disconnected_inputs!r}")
    single = isinstance(wrt, Variable)
    params = [wrt] if single else list(wrt) if isinstance(wrt, (list, tuple)) else None
    if params is None:
        raise ArgumentError(f"grad(cost, wrt): wrt must be a Variable or a list of them, found {type(wrt).__name__}")
    if cost.ndim != 0:
        raise ShapeError(
            f"grad(cost, wrt): the cost must be a scalar, found shape {_fmt(cost.type)}; "
            "reduce it first (.sum() or .mean())"
        )
    if not cost.type.is_float:
        raise DTypeError(f"grad(cost, wrt): the cost must be float32 or float64, found {cost.type.dtype}")
    for k, p in enumerate(params):
        if not isinstance(p, Variable):
            raise ArgumentError(f"grad(cost, wrt): wrt[{k}] is a {type(p).__name__}, not a Variable")
        if not p.type.is_float:
            raise DTypeError(f"grad(cost, wrt): {_label(p)} has dtype {p.type.dtype}; only float variables can be differentiated")
    connected = [depends_on([cost], p) for p in params]
    if disconnected_inputs == "raise":
        for p, c in zip(params, connected):
            if not c:
                raise ArgumentError(
                    f"grad(cost, wrt): the cost does not depend on {_label(p)}; "
                    "pass disconnected_inputs='ignore' to get a zero gradient for it"
                )
    marked = {p.id: apply("wrt", [p]) for p, c in zip(params, connected) if c}
    cost2 = _clone([cost], [(p, marked[p.id]) for p in params if p.id in marked])[0]
    grads = []
    for p in params:
        if p.id in marked:
            grads.append(apply("grad", [cost2, marked[p.id]]))
        else:
            from .ops_shape import zeros_like

            grads.append(zeros_like(p))
    return grads[0] if single else type(wrt)(grads)


# ---------------------------------------------------------------------------
# Variable.eval


_EVAL_CACHE: dict[int, dict[tuple[int, ...], Any]] = {}


def _eval(self: Variable, inputs_to_values: Mapping[Variable, Any] | None = None) -> Any:
    """The value of this expression for ``{input: value}`` (compiled once per set of inputs).

    >>> import numpy as np, tensorir as ti
    >>> x = ti.scalar("x", "float64")
    >>> float((x * 2.0).eval({x: 3.0}))
    6.0
    """
    from ..function import function

    given = dict(inputs_to_values or {})
    keys = list(given)
    for k in keys:
        if not isinstance(k, Variable):
            raise ArgumentError(f"eval: the keys must be the symbolic inputs, found {type(k).__name__}")
    cache = _EVAL_CACHE.get(self.id)
    if cache is None:
        cache = _EVAL_CACHE[self.id] = {}
        weakref.finalize(self, _EVAL_CACHE.pop, self.id, None)
    ids = tuple(k.id for k in keys)
    fn = cache.get(ids)
    if fn is None:
        fn = cache[ids] = function(keys, self, on_unused_input="ignore", name="eval")
    return fn(*[given[k] for k in keys])


Variable.eval = _eval  # type: ignore[attr-defined]
