"""``@tensorir.jit``: trace once per signature, compile, call.

A signature is what the compiled code depends on: the argument structure,
and for every array its dtype, rank and which dims are 1. Every other dim is
free, so a new batch size reuses the compiled code.
"""

from __future__ import annotations

import functools
import inspect
import numbers
from typing import Any, Callable, Sequence

import numpy as np

from .compiler import MISS, Executable, Lowered, _no_fast_entry, compile_traced
from .device import GpuExecutable, check_name, compile_gpu, is_device_array, lower_for, resolve
from .errors import ArgumentError, DTypeError
from .frontend.dtypes import canonical_dtype
from .frontend.graph import Variable
from .frontend.pytree import flatten, unflatten
from .frontend.trace import ArgSpec, trace

__all__ = ["jit", "JitFunction"]


class JitFunction:
    """A traced-and-compiled version of a NumPy-style function.

    >>> import numpy as np, tensorir as ti
    >>> @ti.jit
    ... def f(x, y):
    ...     return ti.exp(x) * y + 1
    >>> f(np.zeros(3, np.float32), np.ones(3, np.float32))
    array([2., 2., 2.], dtype=float32)
    """

    def __init__(
        self,
        fun: Callable[..., Any],
        *,
        static_argnums: Sequence[int] = (),
        check_finite: bool = False,
        pipeline: str | None = None,
        device: str | None = None,
        keep_on_device: bool = False,
    ):
        functools.update_wrapper(self, fun)
        if device is not None:
            check_name(device)
        self.device = device
        self.keep_on_device = keep_on_device
        self.fun = fun
        self.static_argnums = tuple(sorted(static_argnums))
        self.check_finite = check_finite
        if pipeline is not None:
            _check_pipeline(pipeline)
        self._pipeline = pipeline
        self._cache: dict[Any, Executable] = {}
        # Plain calls with only NumPy arrays: (type, dtype, dims that are 1) per argument.
        self._fast: dict[Any, Executable] = {}
        self._fast_tree: dict[Any, Executable] = {}
        self._call: Callable[[tuple], Any] = _no_fast_entry  # the last signature's Executable.call
        self.compile_count = 0
        try:
            self._params = list(inspect.signature(fun).parameters)
        except (TypeError, ValueError):
            self._params = []

    # -- signatures ----------------------------------------------------------
    def _arg_name(self, position: int) -> str:
        if position < len(self._params):
            return self._params[position]
        return f"arg{position}"

    def _split(self, args: tuple, kwargs: dict) -> tuple[list[Any], dict[int, Any]]:
        if kwargs:
            try:
                bound = inspect.signature(self.fun).bind(*args, **kwargs)
            except TypeError as exc:
                raise ArgumentError(f"{self.__name__}: {exc}") from None
            args = bound.args
        dynamic, static = [], {}
        for i, a in enumerate(args):
            if i in self.static_argnums:
                try:
                    hash(a)
                except TypeError:
                    raise ArgumentError(
                        f"static argument {self._arg_name(i)!r} must be hashable, found {type(a).__name__}"
                    ) from None
                static[i] = a
            else:
                dynamic.append(a)
        return dynamic, static

    def _specs(self, dynamic: list[Any], static: dict[int, Any]) -> tuple[Any, list[np.ndarray], list[ArgSpec], Any]:
        positions = [i for i in range(len(dynamic) + len(static)) if i not in static]
        arrays: list[np.ndarray] = []
        specs: list[ArgSpec] = []
        treedefs = []
        for pos, arg in zip(positions, dynamic):
            name = self._arg_name(pos)
            leaves, tree = flatten(arg)
            if tree[0] in ("list", "tuple") and leaves and all(
                isinstance(v, (int, float, bool)) for v in leaves
            ):
                raise ArgumentError(
                    f"argument {name!r}: expected an array, found a Python {type(arg).__name__} "
                    "of numbers; pass np.asarray(...) (with the dtype you want) instead"
                )
            treedefs.append(tree)
            for j, leaf in enumerate(leaves):
                leaf_name = name if tree == ("leaf",) else f"{name}[{j}]"
                arr, weak = _as_array(leaf, leaf_name)
                arrays.append(arr)
                specs.append(ArgSpec(leaf_name, arr.dtype.name, tuple(d == 1 for d in arr.shape), weak))
        in_tree = ("tuple", tuple(treedefs))
        key = (in_tree, tuple(specs), tuple(sorted(static.items())))
        return key, arrays, specs, in_tree

    # -- compile and call ----------------------------------------------------
    def _executable(self, key: Any, specs: list[ArgSpec], in_tree: Any, static: dict[int, Any]) -> Executable:
        exe = self._cache.get(key)
        if exe is None:
            self._check_arity(len(in_tree[1]) + len(static))
            placement = resolve(self.device)  # at each compile, as ti.config.device may change
            traced = trace(self.fun, self.__name__, in_tree, specs, static)
            if placement.kind == "cuda":
                exe = compile_gpu(traced, placement, self.pipeline, self.check_finite, self.keep_on_device)
            else:
                exe = compile_traced(traced, self.pipeline, self.check_finite)
            self._cache[key] = exe
            self.compile_count += 1
        return exe

    def _check_arity(self, n: int) -> None:
        try:
            inspect.signature(self.fun).bind(*range(n))
        except TypeError as exc:
            raise ArgumentError(f"{self.__name__}() called with {n} argument(s): {exc}") from None
        except ValueError:
            pass  # no signature to check (a builtin)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # The signature of the last call, checked by the generated glue itself
        # (type, dtype, contiguity, rank and dims of 1 of every argument).
        if not kwargs:
            out = self._call(args)
            if out is not MISS:
                return out
        return self._dispatch(args, kwargs)

    def _dispatch(self, args: tuple, kwargs: dict) -> Any:
        fast_key = tree_key = None
        if kwargs:
            traced = _traced(args, kwargs)
        else:
            try:
                fast_key = tuple([(type(a), a.dtype, tuple([d == 1 for d in a.shape])) for a in args])
            except AttributeError:
                fast_key = None
            exe = self._fast.get(fast_key) if fast_key is not None else None
            if exe is not None:
                if all(a.flags.c_contiguous for a in args) and not self.static_argnums:
                    self._call = exe.call  # the signature of the next call, most likely
                outs = exe.run(_prepare(exe, args))
                return outs[0] if exe.out_tree == _LEAF else unflatten(exe.out_tree, outs)
            # containers of arrays (a dict of parameters): keyed by structure and leaves
            leaves, tree = flatten(args)
            tree_key = _tree_key(tree, leaves)
            exe = self._fast_tree.get(tree_key) if tree_key is not None else None
            if exe is not None:
                outs = exe.run(_prepare(exe, leaves))
                return unflatten(exe.out_tree, outs)
            traced = any(isinstance(leaf, Variable) for leaf in leaves)
        if traced:
            return self.fun(*args, **kwargs)  # inside another trace: inline
        dynamic, static = self._split(args, kwargs)
        key, arrays, specs, in_tree = self._specs(dynamic, static)
        exe = self._executable(key, specs, in_tree, static)
        if not kwargs and not self.static_argnums and all(t == _LEAF for t in in_tree[1]):
            self._call = exe.call
        if not kwargs and not static:
            if fast_key is not None and all(type(a) is np.ndarray and a.dtype.isnative for a in args):
                self._fast[fast_key] = exe
            elif tree_key is not None and all(a.dtype.isnative for a in leaves):
                self._fast_tree[tree_key] = exe
        outs = exe.run(_prepare(exe, arrays))
        return unflatten(exe.out_tree, outs)

    def lower(self, *args: Any, **kwargs: Any) -> Lowered:
        """The IR of every stage for these arguments: ``f.lower(x).as_text("linalg")``
        (for ``device="cuda"``: the GPU stages, ``device.GPU_STAGES``)."""
        dynamic, static = self._split(args, kwargs)
        _, _, specs, in_tree = self._specs(dynamic, static)
        return lower_for(trace(self.fun, self.__name__, in_tree, specs, static), self.pipeline, self.device)

    @property
    def pipeline(self) -> str:
        """The tir pipeline: the ``pipeline=`` given to jit, else ``ti.config.optimizer``."""
        from .config import config

        return self._pipeline if self._pipeline is not None else config.optimizer

    def clear_cache(self) -> None:
        self._cache.clear()
        self._fast.clear()
        self._fast_tree.clear()
        self._call = _no_fast_entry


_LEAF = ("leaf",)


def _check_pipeline(name: str) -> None:
    from .passes import PIPELINES

    if name not in PIPELINES:
        raise ArgumentError(f"jit: pipeline must be one of {', '.join(PIPELINES)}, found {name!r}")


def _tree_key(tree: Any, leaves: list[Any]) -> Any:
    """Cache key of a call whose leaves are all NumPy arrays, else None."""
    if not leaves or not all(type(a) is np.ndarray for a in leaves):
        return None
    return (tree, tuple([(a.dtype, tuple([d == 1 for d in a.shape])) for a in leaves]))


def _traced(args: tuple, kwargs: dict) -> bool:
    leaves = flatten((args, kwargs))[0]
    return any(isinstance(leaf, Variable) for leaf in leaves)


def _prepare(exe: Any, arrays: Sequence[Any]) -> list[Any]:
    """The arguments as ``exe.run`` takes them: device arrays stay for a GPU
    function; a CPU function gets C-contiguous NumPy arrays (a device array
    copied back)."""
    if isinstance(exe, GpuExecutable):
        return list(arrays)
    out = []
    for a in arrays:
        if not isinstance(a, np.ndarray):
            a = a.numpy()
        out.append(a if a.flags.c_contiguous else np.ascontiguousarray(a))
    return out


def _as_array(x: Any, name: str) -> tuple[Any, bool]:
    if is_device_array(x):
        return x, False  # dtype and shape as an array's; copied back only for a CPU function
    if isinstance(x, np.ndarray):
        if x.dtype.name not in ("bool", "int32", "int64", "float32", "float64"):
            canonical_dtype(x.dtype, f"argument {name!r}")
        if not x.dtype.isnative:
            x = x.astype(x.dtype.newbyteorder("="))  # compiled code reads native byte order
        return x, False
    if isinstance(x, (bool, np.bool_)):
        return np.asarray(x, dtype=bool), isinstance(x, bool)
    if isinstance(x, numbers.Integral):
        if isinstance(x, np.integer):
            return np.asarray(x, dtype=canonical_dtype(x.dtype, f"argument {name!r}")), False
        return np.asarray(x, dtype=np.int64), True
    if isinstance(x, numbers.Real):
        if isinstance(x, np.floating):
            return np.asarray(x, dtype=canonical_dtype(x.dtype, f"argument {name!r}")), False
        return np.asarray(x, dtype=np.float64), True
    if isinstance(x, (list, tuple)):
        raise ArgumentError(
            f"argument {name!r}: expected an array, found a Python {type(x).__name__} "
            "nested where an array was expected; pass np.asarray(...) instead"
        )
    if hasattr(x, "__array__"):
        arr = np.asarray(x)
        canonical_dtype(arr.dtype, f"argument {name!r}")
        return arr, False
    raise ArgumentError(
        f"argument {name!r}: expected a NumPy array or a Python scalar, found {type(x).__name__}"
    )


def jit(
    fun: Callable[..., Any] | None = None,
    *,
    static_argnums: int | Sequence[int] = (),
    check_finite: bool = False,
    pipeline: str | None = None,
    device: str | None = None,
    keep_on_device: bool = False,
) -> Any:
    """Compile ``fun``, tracing once per argument signature.

    ``static_argnums`` names arguments passed as Python values to the trace
    (they must be hashable; each new value compiles anew). ``check_finite``
    makes every call reject NaN/inf inputs with :class:`NonFiniteError`.
    ``pipeline`` names the tir optimisation pipeline (``fast_run``,
    ``fast_compile``, ``none``); by default ``ti.config.optimizer``.
    The number of compilations so far is ``f.compile_count``.
    ``device``: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``, read at
    each compilation (default ``ti.config.device``; see
    :mod:`tensorir.device`); on a GPU, arguments may be DeviceArrays and
    ``keep_on_device`` returns DeviceArrays instead of NumPy arrays.
    """
    if isinstance(static_argnums, int):
        static_argnums = (static_argnums,)

    def wrap(f: Callable[..., Any]) -> JitFunction:
        return JitFunction(f, static_argnums=static_argnums, check_finite=check_finite, pipeline=pipeline,
                           device=device, keep_on_device=keep_on_device)

    return wrap(fun) if fun is not None else wrap


_ = DTypeError  # re-exported through errors
