"""``tensorir.function``: compile symbolic expressions, with shared-variable updates.

>>> import numpy as np, tensorir as ti
>>> x = ti.vector("x", "float64")
>>> total = ti.shared(np.float64(0.0), name="total")
>>> acc = ti.function([x], x.sum(), updates=[(total, total + x.sum())])
>>> float(acc(np.array([1.0, 2.0]))), float(acc(np.array([3.0])))
(3.0, 3.0)
>>> float(total.get_value())
6.0

Theano's semantics: the function computes only what its outputs and
updates need; every update reads the values from before the call and is
written after, into the shared variable's own buffer (no new allocation:
``w.get_value(borrow=True)`` is the same array before and after);
``givens`` replaces variables of the graph by other expressions before
compiling. One compilation serves every size of the free dims. A call
with one C-contiguous NumPy array per input, of its dtype, runs the
compiled glue directly (``f.fast_path``, in the modes that only run the
compiled code); any other call converts its arguments first, or raises.
"""

from __future__ import annotations

import numbers
import time
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from .compiler import MISS, Lowered, _entry_name, _no_fast_entry, compile_traced
from .device import compile_gpu, is_device_array, lower_for, resolve
from .errors import ArgumentError, DTypeError, ShapeError
from .frontend.core import as_variable, cast
from .frontend.graph import Variable, all_nodes, toposort
from .frontend.symbolic import InputVariable, SharedVariable, _check_same_type, _clone, _label, _pairs
from .frontend.trace import ArgSpec, Traced
from .modes import Mode, get_mode

__all__ = ["function", "Function", "ProfileStats"]

_RANK_NAMES = {0: "scalar", 1: "vector", 2: "matrix", 3: "tensor3", 4: "tensor4"}


def _type_text(v: Variable) -> str:
    dims = ", ".join(str(d) if isinstance(d, int) else "?" for d in v.shape)
    return f"{v.type.dtype}[{dims}]"


class Function:
    """A compiled symbolic function; call it with one array per input.

    ``f.inputs``, ``f.outputs``, ``f.updates`` and ``f.shared`` describe it;
    ``f.lower().as_text(stage)`` shows its IR at each stage.
    """

    def __init__(
        self,
        inputs: Sequence[Variable],
        outputs: Any = None,
        updates: Any = None,
        givens: Any = None,
        mode: "str | Mode | None" = None,
        name: str | None = None,
        on_unused_input: str = "raise",
        allow_input_downcast: bool = False,
        profile: bool | None = None,
        device: str | None = None,
        keep_on_device: bool = False,
    ):
        started = time.perf_counter()
        self.name = name or "function"
        self.mode = get_mode(mode)
        self.allow_input_downcast = allow_input_downcast
        self.inputs = self._check_inputs(inputs)
        self._single = isinstance(outputs, Variable)
        outs = [] if outputs is None else [outputs] if self._single else list(outputs) if isinstance(outputs, (list, tuple)) else None
        if outs is None:
            raise ArgumentError(
                f"function(): outputs must be a Variable, a list of Variables or None, found {type(outputs).__name__}"
            )
        for k, o in enumerate(outs):
            if not isinstance(o, Variable):
                raise ArgumentError(f"function(): output {k} is a {type(o).__name__}, not a Variable")
        self.outputs = outs
        self.updates = self._check_updates(updates)
        givens_pairs = _pairs(givens, "function(): givens")
        for old, _ in givens_pairs:
            if any(old is v for v in self.inputs):
                raise ArgumentError(
                    f"function(): {_label(old)} is replaced by givens and is also an input; drop it from one of the two"
                )
        targets = self.outputs + [value for _, value in self.updates]
        targets = _clone(targets, givens_pairs)
        graph_outputs, update_values = targets[: len(self.outputs)], targets[len(self.outputs):]
        self.shared = self._roots(graph_outputs + update_values, on_unused_input)
        for var, _ in self.updates:
            if not any(var is s for s in self.shared):
                self.shared.append(var)
        self._traced = self._trace(graph_outputs, update_values)
        t = time.perf_counter()
        graph_seconds = t - started
        self.placement = resolve(device)
        if self.placement.kind == "cuda":
            if type(self.mode).run is not Mode.run:
                raise ArgumentError(
                    f"function(): mode {self.mode.name} checks calls on the CPU; use it with device='cpu'"
                )
            self._exe = compile_gpu(self._traced, self.placement, self.mode.pipeline, keep_on_device=keep_on_device)
            self._fast: Callable[[tuple], Any] = _no_fast_entry
        else:
            self._exe = compile_traced(self._traced, self.mode.pipeline)
            # calls of plain arrays in a mode that only runs the compiled code
            self._fast = self._fast_entry() if type(self.mode).run is Mode.run else _no_fast_entry
        self.compile_seconds = time.perf_counter() - t
        self._reference: Any = None
        from .config import config

        on = config.profile if profile is None else profile
        self.profile: ProfileStats | None = (
            ProfileStats(self.name, self.mode.name, self.mode.pipeline, {"graph": graph_seconds, **self._exe.timings})
            if on else None
        )

    # -- building ------------------------------------------------------------
    def _check_inputs(self, inputs: Any) -> list[Variable]:
        if isinstance(inputs, Variable) or not isinstance(inputs, (list, tuple)):
            raise ArgumentError(
                f"function(): inputs must be a list of symbolic variables, found {type(inputs).__name__}"
                + (" (wrap a single input in a list: [x])" if isinstance(inputs, Variable) else "")
            )
        seen: list[Variable] = []
        for k, v in enumerate(inputs):
            if isinstance(v, SharedVariable):
                raise ArgumentError(
                    f"function(): input {k} ({_label(v)}) is a shared variable; shared variables are "
                    "implicit inputs, leave it out of the list"
                )
            if not isinstance(v, Variable) or v.owner is not None:
                what = type(v).__name__ if not isinstance(v, Variable) else f"computed by tir.{v.owner.op}"  # type: ignore[union-attr]
                raise ArgumentError(
                    f"function(): input {k} must be a symbolic variable (ti.matrix('x'), ti.vector(...)), "
                    f"found {what}; to feed an intermediate value, use givens={{var: expression}}"
                )
            if any(v is s for s in seen):
                raise ArgumentError(f"function(): the input {_label(v)} is given twice (positions {seen.index(v)} and {k})")
            seen.append(v)
        return seen

    def _check_updates(self, updates: Any) -> list[tuple[SharedVariable, Variable]]:
        if updates is None:
            return []
        items = list(updates.items()) if isinstance(updates, dict) else list(updates)
        out: list[tuple[SharedVariable, Variable]] = []
        for k, item in enumerate(items):
            try:
                var, value = item
            except (TypeError, ValueError):
                raise ArgumentError(f"function(): updates[{k}] must be a (shared variable, expression) pair, found {item!r}") from None
            if not isinstance(var, SharedVariable):
                raise ArgumentError(
                    f"function(): updates[{k}] updates {var!r}, which is not a shared variable; only "
                    "ti.shared(...) variables keep a value between calls"
                )
            if any(var is v for v, _ in out):
                raise ArgumentError(f"function(): the shared variable {_label(var)} is updated twice")
            expr = as_variable(value, f"function(): the update of {_label(var)}")
            if expr.weak:
                expr = cast(expr, var.type.dtype)
            if expr.type.dtype != var.type.dtype or expr.ndim != var.ndim:
                raise DTypeError(
                    f"function(): the update of shared variable {_label(var)} ({_type_text(var)}) has type "
                    f"{_type_text(expr)}; an update must keep the variable's dtype and rank "
                    f"(cast with .astype('{var.type.dtype}'))"
                )
            _check_same_type(var, expr, f"function(): the update of shared variable {_label(var)}")
            out.append((var, expr))
        return out

    def _roots(self, targets: list[Variable], on_unused_input: str) -> list[SharedVariable]:
        if on_unused_input not in ("raise", "warn", "ignore"):
            raise ArgumentError(f"function(): on_unused_input must be 'raise', 'warn' or 'ignore', found {on_unused_input!r}")
        roots: list[Variable] = []
        seen: set[int] = set()
        for v in targets:
            if v.owner is None and v.id not in seen:
                seen.add(v.id)
                roots.append(v)
        for node in toposort(targets):
            for v in node.inputs:
                if v.owner is None and v.id not in seen:
                    seen.add(v.id)
                    roots.append(v)
        shared: list[SharedVariable] = []
        input_ids = {v.id for v in self.inputs}
        for v in roots:
            if v.id in input_ids:
                continue
            if isinstance(v, SharedVariable):
                shared.append(v)
                continue
            kind = "a symbolic variable" if isinstance(v, InputVariable) else "a value of another graph (a traced argument)"
            raise ArgumentError(
                f"function(): the outputs need {_label(v)} ({_type_text(v)}), {kind} that is not among "
                f"the inputs; add it to the inputs or give it a value with givens={{{v.name or 'var'}: ...}}"
            )
        unused = [v for v in self.inputs if v.id not in seen]
        if unused and on_unused_input != "ignore":
            names = ", ".join(_label(v) for v in unused)
            msg = (f"function(): the input(s) {names} are not used to compute the outputs or updates; "
                   "remove them or pass on_unused_input='ignore'")
            if on_unused_input == "raise":
                raise ArgumentError(msg)
            warnings.warn(msg, stacklevel=3)
        return shared

    def _trace(self, outputs: list[Variable], update_values: list[Variable]) -> Traced:
        inputs = self.inputs + list(self.shared)
        position = {v.id: i for i, v in enumerate(inputs)}
        all_outputs = list(outputs)
        updates: dict[int, int] = {}
        checks = []
        for (var, _), value in zip(self.updates, update_values):
            if value is var:
                continue  # w := w
            updates[len(all_outputs)] = position[var.id]
            all_outputs.append(value)
            for axis, (a, b) in enumerate(zip(value.shape, var.shape)):
                if a != b:
                    checks.append((a, b, f"the update of shared variable {_label(var)} changes its shape along axis {axis}", None))
        specs = [ArgSpec(v.name or f"input{i}", v.type.dtype, tuple(d == 1 for d in v.shape)) for i, v in enumerate(inputs)]
        return Traced(self.name, inputs, all_outputs, specs, ("leaf",), all_nodes(all_outputs), updates, checks)

    def _fast_entry(self) -> Callable[[tuple], Any]:
        """The Executable's glue behind checks that the positional arguments
        need no conversion: one ``ndarray`` per input, of its dtype (the
        dtype object itself), C-contiguous, of its rank and its declared
        sizes; the shared variables' values are read at each call. Any other
        call returns ``MISS`` and takes :meth:`_call`, which converts or
        raises the precise error."""
        n = len(self.inputs)
        head = [f"    if len(args) != {n}: return MISS"]
        if n:
            head.append(f"    {''.join(f'a{i}, ' for i in range(n))}= args")
        names: dict[str, Any] = {"ndarray": np.ndarray}
        for i, v in enumerate(self.inputs):
            names[f"D{i}"] = np.dtype(v.type.dtype)
            head.append(
                f"    if type(a{i}) is not ndarray or a{i}.dtype is not D{i} or not a{i}.flags.c_contiguous: return MISS"
            )
            if not v.ndim:
                head.append(f"    if a{i}.ndim: return MISS")
                continue
            declared = getattr(v, "declared", None) or (None,) * v.ndim
            sizes = [(k, d if d is not None else v.shape[k]) for k, d in enumerate(declared)]
            dims = "".join(f" or s{i}[{k}] != {d}" for k, d in sizes if isinstance(d, int))
            head.append(f"    s{i} = a{i}.shape")
            head.append(f"    if len(s{i}) != {v.ndim}{dims}: return MISS")
        for j, var in enumerate(self.shared):
            i = n + j
            names[f"V{j}"] = var
            head.append(f"    a{i} = V{j}._value")
            head.append(f"    if type(a{i}) is not ndarray: a{i} = V{j}._host()")
            if var.ndim:
                head.append(f"    s{i} = a{i}.shape")
        returned = self._exe.returned
        returns = returned[0] if self._single else f"[{''.join(o + ', ' for o in returned)}]"
        return self._exe.entry(head, returns, names)

    # -- calling -------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.profile is None:
            if not kwargs:
                out = self._fast(args)
                if out is not MISS:
                    return out
            return self._call(args, kwargs)
        t = time.perf_counter()
        try:
            if not kwargs:
                out = self._fast(args)
                if out is not MISS:
                    return out
            return self._call(args, kwargs)
        finally:
            self.profile.record(time.perf_counter() - t)

    @property
    def fast_path(self) -> bool:
        """Whether calls with plain NumPy arrays of the inputs' dtypes, ranks
        and declared sizes skip argument conversion and the mode (only
        modes that run nothing but the compiled code allow it)."""
        return self._fast is not _no_fast_entry

    def _call(self, args: tuple, kwargs: dict) -> Any:
        if kwargs:
            args = self._bind(args, kwargs)
        if len(args) != len(self.inputs):
            names = ", ".join(v.name or f"input{i}" for i, v in enumerate(self.inputs))
            raise ArgumentError(
                f"{self.name} takes {len(self.inputs)} input(s) ({names}), found {len(args)} argument(s)"
            )
        arrays = [self._convert(a, v, i) for i, (a, v) in enumerate(zip(args, self.inputs))]
        if self.placement.kind == "cuda":
            arrays += [self._on_device(s) for s in self.shared]
        else:
            arrays += [s._host() for s in self.shared]
        outs = self.mode.run(self, arrays)
        if self._single:
            return outs[0]
        return list(outs)

    def _on_device(self, var: SharedVariable) -> Any:
        """The value of ``var`` in this GPU function's device memory, moved there once."""
        from .runtime import gpu

        value = var._value
        if isinstance(value, gpu.DeviceArray) and value.device is self._exe.device:
            return value
        var._value = gpu.to_device(var._host(), self._exe.device)
        return var._value

    def _bind(self, args: tuple, kwargs: dict) -> tuple:
        values: list[Any] = list(args) + [_MISSING] * (len(self.inputs) - len(args))
        names = {v.name: i for i, v in enumerate(self.inputs) if v.name}
        for key, value in kwargs.items():
            if key not in names:
                raise ArgumentError(f"{self.name} has no input named {key!r}; its inputs are {sorted(names)}")
            i = names[key]
            if i < len(values) and values[i] is not _MISSING:
                raise ArgumentError(f"{self.name}: input {key!r} is given twice (by position and by name)")
            values[i] = value
        missing = [self.inputs[i].name or f"input{i}" for i, v in enumerate(values) if v is _MISSING]
        if missing:
            raise ArgumentError(f"{self.name}: missing input(s) {', '.join(missing)}")
        return tuple(values)

    def _convert(self, value: Any, var: Variable, i: int) -> Any:
        name = repr(var.name) if var.name else f"{i}"
        want = var.type.dtype
        if is_device_array(value):
            value = self._device_array(value, var, name)
            if not isinstance(value, np.ndarray):
                return value
        if isinstance(value, np.ndarray):
            arr = value
            if arr.dtype.name != want:
                if np.can_cast(arr.dtype, want, "safe") or self.allow_input_downcast:
                    arr = arr.astype(want)
                else:
                    raise DTypeError(
                        f"{self.name}: input {name} is {want}, found a {arr.dtype.name} array; pass "
                        f"value.astype(np.{want}) or build the function with allow_input_downcast=True"
                    )
        elif isinstance(value, (numbers.Number, np.generic, list, tuple)):
            arr = np.asarray(value)
            kind_ok = arr.dtype.kind in "biuf" and (np.dtype(want).kind == "f" or arr.dtype.kind in "biu") \
                and not (np.dtype(want).kind == "b" and arr.dtype.kind != "b")
            if not kind_ok and not self.allow_input_downcast:
                raise DTypeError(f"{self.name}: input {name} is {want}, found {value!r}")
            arr = arr.astype(want)
        else:
            raise ArgumentError(f"{self.name}: input {name} expects an array, found {type(value).__name__}")
        if arr.ndim != var.ndim:
            raise ShapeError(
                f"{self.name}: input {name} is a {_RANK_NAMES.get(var.ndim, f'{var.ndim}-d tensor')} "
                f"({var.ndim}-d), found an array of shape {arr.shape}"
            )
        declared = getattr(var, "declared", None)
        if declared is not None:
            for axis, (d, n) in enumerate(zip(declared, arr.shape)):
                if d is not None and d != n:
                    raise ShapeError(
                        f"{self.name}: input {name} was declared with shape "
                        f"({', '.join('None' if x is None else str(x) for x in declared)}), so axis {axis} "
                        f"must be {d}, found an array of shape {arr.shape}"
                    )
        if not arr.flags.c_contiguous or not arr.dtype.isnative:
            arr = np.ascontiguousarray(arr, dtype=np.dtype(want))
        return arr

    def _device_array(self, value: Any, var: Variable, name: str) -> Any:
        """A DeviceArray argument: used in place by a GPU function of its
        dtype and rank, copied to the host for a CPU function."""
        if self.placement.kind != "cuda":
            return value.numpy()
        if value.dtype.name != var.type.dtype:
            raise DTypeError(
                f"{self.name}: input {name} is {var.type.dtype}, found a {value.dtype.name} DeviceArray; "
                "device arrays are not converted: make one of the right dtype"
            )
        if value.ndim != var.ndim:
            raise ShapeError(f"{self.name}: input {name} is {var.ndim}-d, found a DeviceArray of shape {value.shape}")
        if value.device is not self._exe.device:
            raise ArgumentError(
                f"{self.name}: input {name} is on {value.device.name} (GPU {value.device.ordinal}), "
                f"this function runs on GPU {self._exe.device.ordinal}; copy it with ti.to_device"
            )
        return value

    # -- inspection -----------------------------------------------------------
    def lower(self) -> Lowered:
        """The IR of every stage: ``f.lower().as_text("tir")``, ``"tir-opt"``, ``"llvm-ir"``...
        (on a GPU: ``"gpu"``, ``"ptx"``, ``"host"``; see ``device.GPU_STAGES``)."""
        return lower_for(self._traced, self.mode.pipeline, str(self.placement))

    def _reference_graph(self) -> Any:
        """The unoptimised graph for the reference interpreter (built on first use)."""
        if self._reference is None:
            from .reference import ReferenceGraph

            self._reference = ReferenceGraph(self._traced, _entry_name(self._traced.name))
        return self._reference

    @property
    def traced(self) -> Traced:
        """The graph that was compiled: inputs (explicit, then shared) and outputs (then updates)."""
        return self._traced

    def __repr__(self) -> str:
        ins = ", ".join(v.name or "?" for v in self.inputs)
        return f"<tensorir.Function {self.name}({ins}) -> {len(self.outputs)} output(s), {len(self.updates)} update(s)>"


_MISSING = object()


class ProfileStats:
    """Where a profiled function's time went (``ti.function(..., profile=True)``
    or ``ti.config.profile = True``): ``f.profile``.

    ``compile_timings``: seconds per compilation stage (``graph``: building
    the graph, ``emit``, ``tir-opt``, ``linalg``, ``bufferized``, ``llvm``,
    ``llvm-ir``, ``llvm-jit``; ``total``: emit to machine code). ``calls``,
    ``call_seconds`` (total), ``min_call_seconds``, ``max_call_seconds``: the
    wall time of every call, argument checks and the mode's own work
    included. ``summary()`` is the table.
    """

    def __init__(self, name: str, mode: str, pipeline: str, compile_timings: dict[str, float]):
        self.name, self.mode, self.pipeline = name, mode, pipeline
        self.compile_timings = dict(compile_timings)
        self.calls = 0
        self.call_seconds = 0.0
        self.min_call_seconds = float("inf")
        self.max_call_seconds = 0.0

    def record(self, seconds: float) -> None:
        self.calls += 1
        self.call_seconds += seconds
        self.min_call_seconds = min(self.min_call_seconds, seconds)
        self.max_call_seconds = max(self.max_call_seconds, seconds)

    @property
    def mean_call_seconds(self) -> float:
        return self.call_seconds / self.calls if self.calls else 0.0

    def summary(self) -> str:
        """A table: compile time per stage, then the calls."""
        t = self.compile_timings
        total = t.get("graph", 0.0) + t.get("total", 0.0)
        lines = [f"Function profile: {self.name} (mode {self.mode}, pipeline {self.pipeline})",
                 f"  compile {_seconds(total)}"]
        for stage, seconds in t.items():
            if stage != "total":
                share = f"{100 * seconds / total:5.1f}%" if total else ""
                lines.append(f"    {stage:<12}{_seconds(seconds):>12}  {share}")
        if self.calls:
            lines.append(
                f"  {self.calls} call{'s' if self.calls > 1 else ''}: total {_seconds(self.call_seconds)}, "
                f"mean {_seconds(self.mean_call_seconds)}, min {_seconds(self.min_call_seconds)}, "
                f"max {_seconds(self.max_call_seconds)}"
            )
        else:
            lines.append("  0 calls")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<ProfileStats {self.name}: {self.calls} call(s), {_seconds(self.call_seconds)}>"


def _seconds(s: float) -> str:
    if s >= 1:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3f} ms"
    return f"{s * 1e6:.1f} us"


def function(
    inputs: Sequence[Variable],
    outputs: Any = None,
    updates: Any = None,
    givens: Any = None,
    mode: "str | Mode | None" = None,
    name: str | None = None,
    on_unused_input: str = "raise",
    allow_input_downcast: bool = False,
    profile: bool | None = None,
    device: str | None = None,
    keep_on_device: bool = False,
) -> Function:
    """Compile ``outputs`` (a Variable, a list of them, or None) of symbolic ``inputs``.

    ``updates``: ``[(shared, expression), ...]`` (or a dict): after each call
    every shared variable takes its expression's value, all computed from
    the values before the call, written in place. ``givens``:
    ``{variable: expression}`` substituted in the graph before compiling.
    ``mode``: ``"FAST_RUN"`` (default ``ti.config.mode``), ``"FAST_COMPILE"``,
    ``"DebugMode"``, ``"NanGuardMode"`` or a :class:`tensorir.Mode` (see
    :mod:`tensorir.modes`). ``profile=True`` (default ``ti.config.profile``)
    times compilation and calls: ``f.profile.summary()``. An input the outputs do not use is an error
    unless ``on_unused_input`` is ``"warn"`` or ``"ignore"``. NumPy inputs
    must have the input's dtype or cast to it safely
    (``allow_input_downcast=True`` allows any cast).

    ``device``: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (default
    ``ti.config.device``; see :mod:`tensorir.device`). On a GPU, inputs may
    also be :class:`tensorir.DeviceArray` values, shared variables live in
    device memory, and results are NumPy arrays unless ``keep_on_device``
    (then DeviceArrays, which later calls take without a copy).
    """
    return Function(inputs, outputs, updates, givens, mode, name, on_unused_input, allow_input_downcast, profile,
                    device, keep_on_device)
