"""Derivatives of NumPy-style functions: grad, value_and_grad, vjp, jvp,
jacobian, hessian.

Each transformation traces the user's function and marks what to
differentiate with ``tir.wrt``/``tir.grad``/``tir.vjp``/``tir.jvp`` ops; the
``tir-autodiff`` pass builds the derivative when the graph is compiled. A
transformed function called on arrays is compiled (once per signature, as
``@jit`` does); called on traced values, inside ``@jit`` or another
transformation, it adds to the graph being traced, so transformations
compose: ``grad(grad(f))``, ``jit(grad(f))``, ``grad(jit(f))``,
``jacobian(grad(f))``.

Arguments and results may be pytrees (tuples, lists, dicts of arrays).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Sequence

from ..errors import ArgumentError, DTypeError, ShapeError
from .core import as_variable, cast
from .graph import Variable, apply
from .pytree import flatten, unflatten

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "jacobian", "hessian"]


# ---------------------------------------------------------------------------
# Plumbing shared by the transformations


def _tracing(*trees: Any) -> bool:
    return any(isinstance(leaf, Variable) for tree in trees for leaf in flatten(tree)[0])


def _name(fun: Callable[..., Any]) -> str:
    return getattr(fun, "__name__", type(fun).__name__)


def _arg_name(fun: Callable[..., Any], i: int) -> str:
    try:
        params = list(inspect.signature(fun).parameters)
    except (TypeError, ValueError):
        params = []
    return f"argument {i} ({params[i]!r})" if i < len(params) else f"argument {i}"


def _argnums(fun: Callable[..., Any], argnums: int | Sequence[int], nargs: int, api: str) -> tuple[int, ...]:
    items = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not items:
        raise ArgumentError(f"{api}: argnums is empty; name at least one argument to differentiate")
    out = []
    for a in items:
        if not isinstance(a, int) or isinstance(a, bool):
            raise ArgumentError(f"{api}: argnums must be ints, found {a!r}")
        if not -nargs <= a < nargs:
            raise ArgumentError(
                f"{api}(argnums={argnums!r}): argument {a} is out of range, "
                f"{_name(fun)} was called with {nargs} positional argument(s)"
            )
        out.append(a % nargs)
    if len(set(out)) != len(out):
        raise ArgumentError(f"{api}: argnums {argnums!r} names an argument twice")
    return tuple(out)


def _perturb(fun: Callable[..., Any], value: Any, i: int, api: str) -> tuple[Any, list[Variable]]:
    """``value`` (a pytree) with every leaf replaced by a fresh ``tir.wrt`` of it."""
    leaves, tree = flatten(value)
    marked = []
    for j, leaf in enumerate(leaves):
        where = _arg_name(fun, i) + (f" leaf {j}" if tree != ("leaf",) else "")
        v = as_variable(leaf, f"{api}: {where}")
        if not v.type.is_float:
            raise DTypeError(
                f"{api}({_name(fun)}): {where} has dtype {v.type.dtype}; only float32 and "
                "float64 inputs can be differentiated. Pass it as float (x.astype(np.float64)) "
                "or leave it out of argnums"
            )
        marked.append(apply("wrt", [v]))
    return unflatten(tree, marked), marked


def _perturb_args(fun: Callable[..., Any], args: Sequence[Any], nums: tuple[int, ...], api: str) -> tuple[list[Any], list[tuple[Any, list[Variable]]]]:
    args = list(args)
    marked = []
    for i in nums:
        args[i], leaves = _perturb(fun, args[i], i, api)
        marked.append((flatten(args[i])[1], leaves))
    return args, marked


def _split_aux(out: Any, has_aux: bool, fun: Callable[..., Any], api: str) -> tuple[Any, Any]:
    if not has_aux:
        return out, None
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise ArgumentError(
            f"{api}({_name(fun)}, has_aux=True): the function must return a pair (output, aux), "
            f"found {type(out).__name__}"
        )
    return out[0], out[1]


def _scalar_cost(out: Any, fun: Callable[..., Any], api: str) -> Variable:
    leaves, tree = flatten(out)
    if tree != ("leaf",):
        raise ShapeError(
            f"{api}({_name(fun)}) needs a function returning one scalar, found a {tree[0]} of "
            f"{len(leaves)} value(s); use ti.vjp or ti.jacobian for several outputs, or has_aux=True "
            "to return extra values"
        )
    cost = as_variable(out, f"{api}: the output of {_name(fun)}")
    if cost.ndim != 0:
        raise ShapeError(
            f"{api}({_name(fun)}) needs a scalar output, found shape {_fmt(cost.shape)}; "
            "reduce it (e.g. .sum() or .mean()), or use ti.jacobian / ti.vjp for non-scalar outputs"
        )
    if not cost.type.is_float:
        raise DTypeError(
            f"{api}({_name(fun)}) needs a float output, found {cost.type.dtype}; "
            "compute the output in float32 or float64"
        )
    return cost


def _fmt(shape: Sequence[Any]) -> str:
    dims = [str(d) if isinstance(d, int) else "?" for d in shape]
    return "(" + ", ".join(dims) + (",)" if len(dims) == 1 else ")")


def _one_or_tuple(argnums: int | Sequence[int], items: list[Any]) -> Any:
    return items[0] if isinstance(argnums, int) else tuple(items)


class Transformed:
    """A transformed function: traced into the caller's graph when called on
    traced values, compiled (once per signature) when called on arrays.

    ``lower(*args)`` shows the IR of every stage, the derivative markers in
    stage ``"tir"`` and their expansion in ``"tir-opt"``.
    """

    def __init__(self, fun: Callable[..., Any], build: Callable[..., Any], api: str):
        functools.update_wrapper(self, fun)
        self.__name__ = f"{api}_{_name(fun)}"
        self.__qualname__ = self.__name__
        self._build = build
        self._jit: Any = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            try:
                args = inspect.signature(self.__wrapped__).bind(*args, **kwargs).args  # type: ignore[attr-defined]
            except TypeError as exc:
                raise ArgumentError(f"{self.__name__}: {exc}") from None
        if _tracing(args):
            return self._build(*args)
        return self._compiled()(*args)

    def _compiled(self) -> Any:
        if self._jit is None:
            from ..jit import JitFunction

            def traced(*args: Any) -> Any:
                return self._build(*args)

            functools.update_wrapper(traced, self.__wrapped__)  # type: ignore[attr-defined]
            traced.__name__ = self.__name__
            self._jit = JitFunction(traced)
        return self._jit

    def lower(self, *args: Any) -> Any:
        return self._compiled().lower(*args)

    @property
    def compile_count(self) -> int:
        return self._jit.compile_count if self._jit is not None else 0


# ---------------------------------------------------------------------------
# Reverse mode


def _cost_and_gradients(
    fun: Callable[..., Any], args: Sequence[Any], argnums: int | Sequence[int], has_aux: bool, api: str
) -> tuple[Variable, Any, Any]:
    """Trace ``fun`` on ``args`` with ``argnums`` marked: (scalar cost, gradients, aux)."""
    nums = _argnums(fun, argnums, len(args), api)
    args2, marked = _perturb_args(fun, args, nums, api)
    value, aux = _split_aux(fun(*args2), has_aux, fun, api)
    cost = _scalar_cost(value, fun, api)
    grads = [unflatten(tree, [apply("grad", [cost, p]) for p in leaves]) for tree, leaves in marked]
    return cost, _one_or_tuple(argnums, grads), aux


def value_and_grad(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Transformed:
    """A function returning ``(fun(*args), gradient)``, or ``((value, aux), gradient)``
    with ``has_aux``; the gradient is that of :func:`grad`.

    >>> import numpy as np, tensorir as ti
    >>> ti.value_and_grad(lambda x: (x ** 2).sum())(np.array([1.0, 2.0]))
    (array(5.), array([2., 4.]))
    """

    def build(*args: Any) -> Any:
        cost, grads, aux = _cost_and_gradients(fun, args, argnums, has_aux, "value_and_grad")
        return ((cost, aux), grads) if has_aux else (cost, grads)

    return Transformed(fun, build, "value_and_grad")


def grad(fun: Any, argnums: Any = 0, has_aux: bool = False, *, disconnected_inputs: str = "raise") -> Any:
    """The gradient of a scalar-valued ``fun`` with respect to argument(s) ``argnums``.

    Called Theano's way, ``grad(cost, wrt)`` with a symbolic scalar ``cost``
    and a Variable or list of Variables ``wrt``, it returns the symbolic
    gradient(s) instead (see :func:`tensorir.frontend.symbolic.symbolic_grad`;
    ``disconnected_inputs="ignore"`` gives zeros where ``cost`` does not
    depend on a ``wrt``).

    The result has the structure of the differentiated argument (a tuple of
    them when ``argnums`` is a tuple); with ``has_aux`` ``fun`` returns
    ``(cost, aux)`` and the gradient function returns ``(gradient, aux)``.
    Only float arguments can be differentiated; an output that does not
    depend on an argument has a zero gradient.

    >>> import numpy as np, tensorir as ti
    >>> df = ti.grad(lambda x: ti.sin(x).sum())
    >>> df(np.array([0.0, np.pi]))
    array([ 1., -1.])
    >>> ti.grad(ti.grad(lambda x: ti.sin(x)))(np.float64(0.5))  # -sin(0.5)
    array(-0.47942554)
    """

    if isinstance(fun, Variable):
        from .symbolic import symbolic_grad

        return symbolic_grad(fun, argnums, disconnected_inputs)

    def build(*args: Any) -> Any:
        _, grads, aux = _cost_and_gradients(fun, args, argnums, has_aux, "grad")
        return (grads, aux) if has_aux else grads

    return Transformed(fun, build, "grad")


def vjp(fun: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """``(fun(*primals), vjp_fn)``: ``vjp_fn(cotangent)`` gives the cotangent of
    every primal (a tuple), for a cotangent with the structure of the output.
    With ``has_aux``, returns ``(output, vjp_fn, aux)``.

    >>> import numpy as np, tensorir as ti
    >>> y, back = ti.vjp(lambda x: x * 3.0, np.array([1.0, 2.0]))
    >>> back(np.array([1.0, 10.0]))
    (array([ 3., 30.]),)
    """
    if not _tracing(primals):
        return _concrete_vjp(fun, primals, has_aux)
    nums = tuple(range(len(primals)))
    if not nums:
        raise ArgumentError(f"vjp({_name(fun)}): give at least one primal to differentiate at")
    args2, marked = _perturb_args(fun, primals, nums, "vjp")
    out, aux = _split_aux(fun(*args2), has_aux, fun, "vjp")
    out_leaves, out_tree = flatten(out)
    ys = [as_variable(v, f"vjp: output {k} of {_name(fun)}") for k, v in enumerate(out_leaves)]

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        ct_leaves, ct_tree = flatten(cotangent)
        if ct_tree != out_tree:
            raise ArgumentError(
                f"vjp_fn of {_name(fun)}: the cotangent must have the structure of the output "
                f"({out_tree}), found {ct_tree}"
            )
        cts = []
        for k, (y, c) in enumerate(zip(ys, ct_leaves)):
            c = as_variable(c, f"vjp_fn: cotangent {k}")
            if c.shape != y.shape and (c.ndim != y.ndim or any(
                isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(c.shape, y.shape)
            )):
                raise ShapeError(
                    f"vjp_fn of {_name(fun)}: cotangent {k} must have the output's shape "
                    f"{_fmt(y.shape)}, found {_fmt(c.shape)}"
                )
            cts.append(cast(c, y.type.dtype) if c.weak else c)
        results = []
        for tree, leaves in marked:
            grads = []
            for p in leaves:
                terms = [
                    apply("vjp", [y, p, c]) for y, c in zip(ys, cts) if y.type.is_float
                ]
                grads.append(_sum(terms) if terms else _zeros_like(p))
            results.append(unflatten(tree, grads))
        return tuple(results)

    y_out = unflatten(out_tree, ys)
    return (y_out, vjp_fn, aux) if has_aux else (y_out, vjp_fn)


def _sum(terms: list[Variable]) -> Variable:
    out = terms[0]
    for t in terms[1:]:
        out = out + t
    return out


def _zeros_like(v: Variable) -> Variable:
    from .ops_shape import zeros_like

    return zeros_like(v)


def _concrete_vjp(fun: Callable[..., Any], primals: Sequence[Any], has_aux: bool) -> Any:
    from ..jit import JitFunction

    forward = JitFunction(fun)
    out = forward(*primals)
    value, aux = _split_aux(out, has_aux, fun, "vjp")

    def pullback(primals: Any, cotangent: Any) -> Any:
        res = vjp(fun, *primals, has_aux=has_aux)
        return res[1](cotangent)

    pullback.__name__ = f"vjp_{_name(fun)}"
    compiled = JitFunction(pullback)

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        return compiled(tuple(primals), cotangent)

    return (value, vjp_fn, aux) if has_aux else (value, vjp_fn)


# ---------------------------------------------------------------------------
# Forward mode


def jvp(fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """``(fun(*primals), J . tangents)``: the Jacobian-vector product, forward mode.

    ``primals`` and ``tangents`` are tuples (or lists) of the same structure.

    >>> import numpy as np, tensorir as ti
    >>> ti.jvp(ti.sin, (np.array([0.0, 1.0]),), (np.array([1.0, 1.0]),))[1]
    array([1.        , 0.54030231])
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise ArgumentError(
            f"jvp({_name(fun)}): primals and tangents must be tuples (or lists) of arguments, "
            f"found {type(primals).__name__} and {type(tangents).__name__}"
        )
    p_leaves, p_tree = flatten(tuple(primals))
    t_leaves, t_tree = flatten(tuple(tangents))
    if p_tree != t_tree:
        raise ArgumentError(
            f"jvp({_name(fun)}): tangents must have the structure of primals, found {t_tree} for {p_tree}"
        )
    if not _tracing(primals, tangents):
        from ..jit import JitFunction

        def forward(primals: Any, tangents: Any) -> Any:
            return jvp(fun, primals, tangents)

        forward.__name__ = f"jvp_{_name(fun)}"
        return JitFunction(forward)(tuple(primals), tuple(tangents))
    args2, marked = _perturb_args(fun, primals, tuple(range(len(primals))), "jvp")
    ps = [p for _, leaves in marked for p in leaves]
    ts = []
    for k, (p, t) in enumerate(zip(ps, t_leaves)):
        tv = as_variable(t, f"jvp: tangent {k}")
        tv = cast(tv, p.type.dtype) if tv.weak or tv.type.dtype != p.type.dtype and tv.type.is_float else tv
        if tv.type.dtype != p.type.dtype or tv.ndim != p.ndim:
            raise ShapeError(
                f"jvp({_name(fun)}): tangent {k} must have the primal's dtype and shape "
                f"{p.type.dtype}{_fmt(p.shape)}, found {tv.type.dtype}{_fmt(tv.shape)}"
            )
        ts.append(tv)
    out = fun(*args2)
    out_leaves, out_tree = flatten(out)
    ys = [as_variable(v, f"jvp: output {k} of {_name(fun)}") for k, v in enumerate(out_leaves)]
    tangents_out = []
    for y in ys:
        terms = [apply("jvp", [y, p, t]) for p, t in zip(ps, ts)] if y.type.is_float else []
        tangents_out.append(_sum(terms) if terms else _zeros_like(y))
    return unflatten(out_tree, ys), unflatten(out_tree, tangents_out)


# ---------------------------------------------------------------------------
# Jacobians


def _identity_seed(y: Variable) -> Variable:
    """The identity as a batch of cotangents for ``y``: shape ``(y.size, *y.shape)``."""
    from . import ops_shape as shp

    flat = shp.reshape(y, (-1,))
    n = flat.shape[0]
    idx = shp.arange(n)
    eye = (shp.expand_dims(idx, 1) == shp.expand_dims(idx, 0)).astype(y.type.dtype)
    return shp.reshape(eye, (n, *y.shape))


def _jacobian_block(y: Variable, p: Variable) -> Variable:
    from . import ops_shape as shp

    if not y.type.is_float:
        return shp.zeros((*y.shape, *p.shape), p.type.dtype)
    rows = apply("vjp", [y, p, _identity_seed(y)])
    return shp.reshape(rows, (*y.shape, *p.shape))


def jacobian(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Transformed:
    """The Jacobian of ``fun`` with respect to argument(s) ``argnums``, by reverse mode.

    For an output of shape ``S`` and an argument of shape ``T`` the block has
    shape ``S + T``. The structure is the output's, each leaf holding the
    argument's structure (a tuple of them for a tuple ``argnums``). All rows
    come from one batched backward pass.

    >>> import numpy as np, tensorir as ti
    >>> ti.jacobian(lambda x: x ** 2)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """

    def build(*args: Any) -> Any:
        nums = _argnums(fun, argnums, len(args), "jacobian")
        args2, marked = _perturb_args(fun, args, nums, "jacobian")
        out, aux = _split_aux(fun(*args2), has_aux, fun, "jacobian")
        out_leaves, out_tree = flatten(out)
        blocks = []
        for k, leaf in enumerate(out_leaves):
            y = as_variable(leaf, f"jacobian: output {k} of {_name(fun)}")
            per_arg = [unflatten(tree, [_jacobian_block(y, p) for p in leaves]) for tree, leaves in marked]
            blocks.append(_one_or_tuple(argnums, per_arg))
        jac = unflatten(out_tree, blocks)
        return (jac, aux) if has_aux else jac

    return Transformed(fun, build, "jacobian")


def hessian(fun: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Transformed:
    """The Hessian of a scalar-valued ``fun``: the Jacobian of its gradient.

    >>> import numpy as np, tensorir as ti
    >>> A = np.array([[1.0, 2.0], [0.0, 3.0]])
    >>> ti.hessian(lambda x: x @ A @ x)(np.ones(2))  # A + A.T
    array([[2., 2.],
           [2., 6.]])
    """
    return jacobian(grad(fun, argnums), argnums)
