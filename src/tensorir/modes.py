"""Compilation modes of :func:`tensorir.function`, by name as in Theano.

A mode chooses the tir pipeline a function is compiled with and what each
call does besides running the compiled code:

* ``FAST_RUN`` (the default, ``ti.config.mode``): the ``ti.config.optimizer``
  pipeline (``fast_run`` unless changed);
* ``FAST_COMPILE``: the ``fast_compile`` pipeline (merge and dce only);
* ``DebugMode`` (:class:`DebugMode`): every call also runs the reference
  interpreter on the unoptimised graph (the ``"tir"`` stage, derivative
  markers expanded) with the values from before the call, and compares every
  output and update with it; on a mismatch it raises
  :class:`~tensorir.errors.DebugModeError` naming the output and the first
  op whose value the compiler changed, with the user's line;
* ``NanGuardMode`` (:class:`NanGuardMode`): after every call, outputs and
  updates are checked for NaN and infinity (and, if asked, huge values); one
  raises :class:`~tensorir.errors.NanGuardError` naming the output and the
  first op of the unoptimised graph to produce it, with the user's line.

In both checking modes a call that raises leaves the shared variables with
their values from before the call (the updates are undone). ``mode=`` takes
a name or a :class:`Mode`; ``DebugMode(rtol=..., atol=...)`` and
``NanGuardMode(big_is_error=True)`` take options.

>>> import numpy as np, tensorir as ti
>>> x = ti.vector("x", "float64")
>>> f = ti.function([x], ti.log(x), mode="NanGuardMode")
>>> f(np.array([1.0]))
array([0.])
>>> f(np.array([-1.0]))
Traceback (most recent call last):
    ...
tensorir.errors.NanGuardError: NanGuardMode: output 0 of function holds 1 NaN (of 1 element, first at index (0,)); tir.log makes it from operands without one
  File "<doctest tensorir.modes[2]>", line 1
    f = ti.function([x], ti.log(x), mode="NanGuardMode")
>>> g = ti.function([x], (x * 2.0).sum(), mode="DebugMode")
>>> float(g(np.array([1.0, 2.0])))
6.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .errors import ArgumentError, DebugModeError, NanGuardError

if TYPE_CHECKING:
    from .function import Function
    from .reference import Step

__all__ = ["Mode", "DebugMode", "NanGuardMode", "MODES", "get_mode"]


@dataclass(frozen=True)
class Mode:
    """``optimizer``: a pipeline name, or ``None`` for ``ti.config.optimizer``."""

    name: str
    optimizer: str | None = None

    @property
    def pipeline(self) -> str:
        from .config import config

        return self.optimizer if self.optimizer is not None else config.optimizer

    def run(self, fn: "Function", arrays: list[np.ndarray]) -> list[np.ndarray]:
        """One call of ``fn`` on converted ``arrays`` (inputs, then shared
        values): its returned outputs; updates are written into the arrays."""
        return fn._exe.run(arrays)


# Default tolerances of DebugMode, per dtype: the passes may reassociate
# float arithmetic, and the compiled exp/log/tanh are polynomial expansions.
TOLERANCES = {"float64": (1e-7, 1e-12), "float32": (1e-4, 1e-6)}


@dataclass(frozen=True)
class DebugMode(Mode):
    """Check every call against the reference interpreter of the unoptimised graph.

    Values agree when ``|compiled - reference| <= atol + rtol * |reference|``
    elementwise (default ``rtol``/``atol`` per dtype: float64 1e-7/1e-12,
    float32 1e-4/1e-6; integers and bools exactly), NaN equals NaN, and an
    infinity only itself. Where the reference is NaN or infinite and the
    compiled value finite, the values agree: a stability rewrite
    (``log(1 + exp(x)) -> softplus(x)`` at ``x = 1000``) removed an overflow,
    as Theano's DebugMode allows for its stabilized values. Inputs the call
    does not update must keep their bits. A call costs the compiled call,
    the interpretation and a copy of every argument; a mismatch also
    recompiles the graph to find the op.
    """

    name: str = "DebugMode"
    optimizer: str | None = None
    rtol: float | None = None
    atol: float | None = None

    def tolerance(self, dtype: np.dtype) -> tuple[float, float]:
        """(rtol, atol) for values of ``dtype``."""
        if np.dtype(dtype).kind != "f":
            return 0.0, 0.0
        rtol, atol = TOLERANCES.get(np.dtype(dtype).name, TOLERANCES["float32"])
        return (rtol if self.rtol is None else self.rtol), (atol if self.atol is None else self.atol)

    def agree(self, got: np.ndarray, expected: np.ndarray) -> bool:
        return _mismatch(got, expected, *self.tolerance(np.asarray(expected).dtype)) is None

    def run(self, fn: "Function", arrays: list[np.ndarray]) -> list[np.ndarray]:
        # compiled first (its shape checks give the better message), the
        # reference then reads the copies of the values from before the call
        before = [a.copy() for a in arrays]
        outs = fn._exe.run(arrays)
        expected, steps = fn._reference_graph().evaluate(before)
        traced = fn.traced
        updated = set(traced.updates.values())
        got = _results(traced.updates, outs, arrays)
        for k, (g, e) in enumerate(zip(got, expected)):
            found = _mismatch(g, e, *self.tolerance(e.dtype))
            if found is None:
                continue
            g = g.copy()  # an update's value is in the shared buffer, restored next
            _restore(arrays, before, updated)
            raise self._error(fn, before, k, g, e, found, expected, steps)
        for j, (a, b) in enumerate(zip(arrays, before)):
            if j not in updated and a.tobytes() != b.tobytes():
                _restore(arrays, before, updated | {j})
                name = _argument_label(fn, j)
                err = DebugModeError(
                    f"DebugMode: the compiled code wrote into {name}, which the call only reads "
                    "(a buffer reused in place that is not the function's to write); "
                    "compile with ti.config.inplace = False to check"
                )
                err.output = name
                raise err
        return outs

    def _error(
        self,
        fn: "Function",
        arrays: list[np.ndarray],
        k: int,
        got: np.ndarray,
        expected: np.ndarray,
        found: str,
        outputs: list[Any],
        steps: list["Step"],
    ) -> DebugModeError:
        """The error for result ``k`` (``got`` instead of ``expected``);
        ``arrays``: the arguments from before the call, ``outputs`` and
        ``steps``: the reference evaluation on them."""
        from .reference import source_line, where

        label = _output_label(fn, k)
        lines = [f"DebugMode: {label} differs from the reference interpreter of the unoptimised graph:", f"  {found}"]
        div = fn._reference_graph().divergence(self.pipeline, arrays, outputs, steps, self.agree, _inplace())
        op = location = None
        if div is None:
            lines.append(
                "no single op of the graph differs when every intermediate value is kept (a rewrite "
                "that fires only on values with one use, or nondeterministic code); compare "
                "f.lower().as_text('tir') with as_text('tir-opt')"
            )
        else:
            step = div.step
            op, location = step.name, source_line(step.op.location)
            by = {"tir passes": f"the {self.pipeline} tir passes", "lowering": "the lowering to machine code"}[div.stage]
            head = f"first op whose value differs: {step.name}"
            if len(step.op.results) > 1:
                head += f" (result {div.result})"
            head += f", changed by {by}"
            if div.rewrites:
                head += f" (rewrites that fired on it: {', '.join(div.rewrites)})"
            ref = step.results[div.result]
            detail = _mismatch(div.got, ref, *self.tolerance(np.asarray(ref).dtype))
            lines += [f"{head}:", f"  {detail}", where(step.op.location)]
        if fn.traced.updates:
            lines.append("the shared variables keep their values from before the call")
        err = DebugModeError("\n".join(lines))
        err.output, err.op, err.location = label, op, location
        err.max_abs_error, err.max_rel_error = _errors(got, expected)
        return err


# NanGuardMode's threshold for big_is_error, Theano's.
BIG = 1e10


@dataclass(frozen=True)
class NanGuardMode(Mode):
    """Check outputs and updates after every call for NaN (``nan_is_error``),
    infinities (``inf_is_error``) and finite values above 1e10 in magnitude
    (``big_is_error``; off by default, unlike Theano, since float64 code
    meets such values honestly).

    The check is after the whole call, not after each op as in Theano; the
    op to blame is found by evaluating the unoptimised graph with the
    reference interpreter: the first op, in graph order, whose result holds
    the bad value while its operands do not. Updates are undone when the
    guard raises. A clean call costs the check and a copy of every updated
    shared variable.
    """

    name: str = "NanGuardMode"
    optimizer: str | None = None
    nan_is_error: bool = True
    inf_is_error: bool = True
    big_is_error: bool = False

    def run(self, fn: "Function", arrays: list[np.ndarray]) -> list[np.ndarray]:
        traced = fn.traced
        updated = set(traced.updates.values())
        before = [a.copy() if j in updated else a for j, a in enumerate(arrays)]
        outs = fn._exe.run(arrays)
        for k, value in enumerate(_results(traced.updates, outs, arrays)):
            kind = self._bad(value)
            if kind is None:
                continue
            value = value.copy()  # an update's value is in the shared buffer, restored next
            _restore(arrays, before, updated)
            raise self._error(fn, arrays, k, value, kind)
        return outs

    def _bad(self, value: np.ndarray) -> str | None:
        if value.dtype.kind != "f" or not value.size:
            return None
        for kind, on in (("NaN", self.nan_is_error), ("infinity", self.inf_is_error), ("big", self.big_is_error)):
            if on and _has(value, kind):
                return kind
        return None

    def _error(self, fn: "Function", arrays: list[np.ndarray], k: int, value: np.ndarray, kind: str) -> NanGuardError:
        from .reference import source_line, where

        label = _output_label(fn, k)
        count = int(np.count_nonzero(_mask(value, kind)))
        first = tuple(int(i) for i in np.argwhere(_mask(value, kind))[0])
        what = {"NaN": "NaN", "infinity": "infinite value", "big": f"value above {BIG:g} in magnitude"}[kind]
        head = (f"NanGuardMode: {label} holds {count} {what}{'s' if count > 1 else ''} "
                f"(of {value.size} element{'s' if value.size > 1 else ''}, first at index {first})")
        op = location = None
        graph = fn._reference_graph()
        _, steps = graph.evaluate(arrays)
        live = graph.ancestors([k])
        step = _first_producer([steps[i] for i in sorted(live)], kind)
        lines = [head]
        if step is not None:
            op, location = step.name, source_line(step.op.location)
            lines[0] += f"; {step.name} makes it from operands without one"
            lines.append(where(step.op.location))
        else:
            source = next((j for j in _argument_sources(graph, live, k) if _has(np.asarray(arrays[j]), kind)), None)
            if source is not None:
                lines[0] += f"; it comes from {_argument_label(fn, source)}, which already holds one"
            else:
                lines.append(
                    f"the reference interpreter of the unoptimised graph computes no {what} here: the compiled "
                    "code brought it in (a rewrite or the lowering); run with mode='DebugMode' to find the op"
                )
        if fn.traced.updates:
            lines.append("the shared variables keep their values from before the call")
        err = NanGuardError("\n".join(lines))
        err.output, err.kind, err.op, err.location = label, kind, op, location
        return err


MODES: dict[str, Mode] = {
    "FAST_RUN": Mode("FAST_RUN"),
    "FAST_COMPILE": Mode("FAST_COMPILE", "fast_compile"),
    "DebugMode": DebugMode(),
    "NanGuardMode": NanGuardMode(),
}


def get_mode(mode: "str | Mode | None") -> Mode:
    """The :class:`Mode` of a ``mode=`` argument (``None``: ``ti.config.mode``)."""
    if isinstance(mode, Mode):
        return mode
    if mode is None:
        from .config import config

        mode = config.mode
    if not isinstance(mode, str) or mode not in MODES:
        raise ArgumentError(f"mode must be one of {', '.join(MODES)} or a tensorir.Mode, found {mode!r}")
    return MODES[mode]


# ---------------------------------------------------------------------------
# helpers


def _inplace() -> bool:
    from .config import config

    return bool(config.inplace)


def _results(updates: dict[int, int], outs: Sequence[np.ndarray], arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The values of every result of the traced graph after a call: returned
    outputs in order, updates read from the shared buffers they were written to."""
    returned = iter(outs)
    n = len(outs) + len(updates)
    return [arrays[updates[k]] if k in updates else next(returned) for k in range(n)]


def _restore(arrays: list[np.ndarray], before: list[np.ndarray], which: set[int]) -> None:
    for j in which:
        np.copyto(arrays[j], before[j])


def _output_label(fn: "Function", k: int) -> str:
    n = len(fn.outputs)
    if k < n:
        name = fn.outputs[k].name
        return f"output {k}{f' ({name!r})' if name else ''} of {fn.name}"
    j = fn.traced.updates[k]
    name = fn.traced.inputs[j].name
    return f"the update of shared variable {name!r}" if name else f"the update of shared variable {j - len(fn.inputs)}"


def _argument_label(fn: "Function", j: int) -> str:
    var = fn.traced.inputs[j]
    kind = "input" if j < len(fn.inputs) else "shared variable"
    return f"{kind} {var.name!r}" if var.name else f"{kind} {j}"


def _mask(value: np.ndarray, kind: str) -> np.ndarray:
    if kind == "NaN":
        return np.isnan(value)
    if kind == "infinity":
        return np.isinf(value)
    with np.errstate(invalid="ignore"):
        return np.isfinite(value) & (np.abs(value) > BIG)


def _has(value: Any, kind: str) -> bool:
    value = np.asarray(value)
    return value.dtype.kind == "f" and value.size > 0 and bool(_mask(value, kind).any())


def _first_producer(steps: Sequence["Step"], kind: str) -> "Step | None":
    """The first step whose results hold ``kind`` while its operands do not."""
    for step in steps:
        if any(_has(r, kind) for r in step.results) and not any(_has(o, kind) for o in step.operands):
            return step
    return None


def _argument_sources(graph: Any, live: set[int], k: int) -> list[int]:
    """Arguments that result ``k`` reads (directly or through the ``live`` ops)."""
    with graph.context:
        values = [graph.ret.operands[k]] + [v for i in sorted(live) for v in graph.ops[i].operands]
        found = {graph.argument_index(v) for v in values}
    return sorted(i for i in found if i is not None)


def _mismatch(got: Any, expected: Any, rtol: float, atol: float) -> str | None:
    """Why ``got`` does not agree with ``expected`` (see :class:`DebugMode`), or None."""
    got, expected = np.asarray(got), np.asarray(expected)
    if got.shape != expected.shape:
        return f"compiled shape {got.shape}, reference shape {expected.shape}"
    if got.dtype != expected.dtype:
        return f"compiled dtype {got.dtype}, reference dtype {expected.dtype}"
    bad = _bad_elements(got, expected, rtol, atol)
    if not bad.any():
        return None
    n = int(np.count_nonzero(bad))
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    abs_err, rel_err = _errors(got, expected)
    tol = f" beyond rtol={rtol:g}, atol={atol:g}" if got.dtype.kind == "f" else ""
    return (f"{n} of {got.size} element{'s' if got.size > 1 else ''} differ{'s' if n == 1 else ''}{tol}; "
            f"max abs error {abs_err:.3g}, max rel error {rel_err:.3g} "
            f"(at index {index}: compiled {got[index].item()!r}, reference {expected[index].item()!r})")


def _bad_elements(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    if got.dtype.kind != "f":
        return got != expected
    with np.errstate(all="ignore"):
        close = np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    return ~(close | (~np.isfinite(expected) & np.isfinite(got)))


def _errors(got: np.ndarray, expected: np.ndarray) -> tuple[float, float]:
    """(max abs error, max rel error) over all elements: infinite where one
    side is NaN or infinite and the other is not, except where only the
    reference is (an overflow the compiled code removed, which agrees)."""
    got, expected = np.asarray(got), np.asarray(expected)
    if got.shape != expected.shape or got.dtype != expected.dtype:
        return float("inf"), float("inf")
    if not got.size:
        return 0.0, 0.0
    with np.errstate(all="ignore"):
        g, e = got.astype(np.float64), expected.astype(np.float64)
        err = np.abs(g - e)
        same = (g == e) | (np.isnan(g) & np.isnan(e)) | (~np.isfinite(e) & np.isfinite(g))
        err = np.where(same, 0.0, np.where(np.isnan(err), np.inf, err))
        rel = np.where(err == 0, 0.0, err / np.abs(e))
        rel = np.where(np.isnan(rel), np.inf, rel)
    return float(err.max()), float(rel.max())
