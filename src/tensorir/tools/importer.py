"""``--import module:function --args SPEC``: the traced tir of a Python function.

The function is traced exactly as ``@tensorir.jit`` traces it (stage
``"tir"`` of ``f.lower(...)``), on arrays built from SPEC, and emitted into
the caller's MLIR context, so the rest of the command line (passes,
``--emit``) applies to it as to IR read from a file. Only tracing and
emission run: a function whose later stages fail can still be inspected.

SPEC is a comma-separated list of ``dtype[dims]``, one per argument:
``float32[?,784],float32[?,10],int64[]``. A dim is ``?`` (free) or an int.
As with ``@jit``, only a dim of 1 is static (it broadcasts); every other
size is traced as a free dim, so ``float32[3]`` and ``float32[?]`` give the
same IR.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
import traceback
from typing import Any

import numpy as np

from ..compiler import _entry_name
from ..dialects._bindings import ir
from ..dialects.types import DTYPES
from ..frontend.autodiff import Transformed
from ..frontend.emit import emit_function
from ..frontend.trace import trace
from ..jit import JitFunction, jit
from .diagnostics import OptError, UsageError

__all__ = ["parse_args_spec", "load_function", "import_function"]

_FREE_SIZE = 2  # any size but 1 traces a dim as free

_ITEM = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[\s*([^\]]*)\])?\s*$")


def parse_args_spec(spec: str) -> list[np.ndarray]:
    """Arrays (zeros) of the dtypes and shapes of ``spec``; ``?`` becomes 2."""
    arrays = []
    for k, item in enumerate(_split_items(spec)):
        m = _ITEM.match(item)
        if m is None:
            raise UsageError(f"--args: argument {k} {item!r} is not dtype[dims], e.g. float32[?,784] or int64[]")
        dtype, dims = m.group(1), (m.group(2) or "").strip()
        if dtype not in DTYPES:
            raise UsageError(f"--args: argument {k} has dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
        shape = []
        for d in (x.strip() for x in dims.split(",")) if dims else ():
            if d == "?":
                shape.append(_FREE_SIZE)
            elif d.isdigit():
                shape.append(int(d))
            else:
                raise UsageError(f"--args: argument {k} {item!r} has dim {d!r}; a dim is '?' or a size such as 784")
        arrays.append(np.zeros(shape, dtype=dtype))
    return arrays


def _split_items(spec: str) -> list[str]:
    items, depth, start = [], 0, 0
    for i, c in enumerate(spec):
        depth += {"[": 1, "]": -1}.get(c, 0)
        if c == "," and depth == 0:
            items.append(spec[start:i].strip())
            start = i + 1
    items.append(spec[start:].strip())
    return [] if items == [""] else items


def load_function(target: str) -> Any:
    """The object named by ``module:attr.path`` (``module`` may be a ``.py`` file)."""
    module_name, colon, attr_path = target.rpartition(":")
    if not colon or not module_name or not attr_path:
        raise UsageError(f"--import {target!r}: expected module:function, e.g. mypackage.model:loss or model.py:loss")
    try:
        if module_name.endswith(".py"):
            module = _load_file(module_name)
        else:
            if "" not in sys.path and os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())  # as `python -m` does
            module = importlib.import_module(module_name)
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise UsageError(f"--import {target!r}: cannot find module {module_name!r} ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - the user's module failed to import
        raise OptError(f"--import {target!r}: importing {module_name} raised {_describe(exc)}") from None
    obj: Any = module
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"--import {target!r}: {module_name} has no attribute {attr_path!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise UsageError(f"--import {target!r}: {attr_path} is not a function (found {type(obj).__name__})")
    return obj


def _load_file(path: str) -> Any:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no file {path}")
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.pop(0)
    return module


def as_jit(fun: Any) -> JitFunction:
    """``fun`` as a JitFunction: itself, the compiled form of ``ti.grad(f)``
    and other transformed functions, or ``jit(fun)`` for a plain function."""
    if isinstance(fun, JitFunction):
        return fun
    if isinstance(fun, Transformed):
        return fun._compiled()
    return jit(fun)


def import_function(target: str, spec: str, context: ir.Context) -> ir.Module:
    """Trace ``target`` on arrays of ``spec`` and emit its tir into a new module."""
    fun = as_jit(load_function(target))
    arrays = parse_args_spec(spec)
    try:
        # What JitFunction.lower does, stopping after emission of the tir.
        dynamic, static = fun._split(tuple(arrays), {})
        _, _, specs, in_tree = fun._specs(dynamic, static)
        traced = trace(fun.fun, fun.__name__, in_tree, specs, static)
        with context, ir.Location.unknown():
            module = ir.Module.create()
            emit_function(module, _entry_name(traced.name), traced.inputs, traced.outputs)
    except Exception as exc:  # noqa: BLE001 - a tracing error of the user's function
        raise OptError(f"--import {target}: tracing {fun.__name__} on --args {spec!r} raised {_describe(exc)}") from None
    return module


def _describe(exc: BaseException) -> str:
    """``TypeName: message (at file:line)``, the line the innermost user frame."""
    frames = traceback.extract_tb(exc.__traceback__)
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    user = [f for f in frames if not os.path.abspath(f.filename).startswith(package)]
    where = f" (at {user[-1].filename}:{user[-1].lineno})" if user and user[-1].filename not in str(exc) else ""
    return f"{type(exc).__name__}: {exc}{where}"
