"""``tensorir.scan``: loops in the graph, with Theano's conventions.

``scan(fn, sequences, outputs_info, non_sequences, n_steps, go_backwards)``
calls ``fn`` once, on symbolic per-step values, and records one ``scan``
node whose body is the graph ``fn`` built (see ``dialects/control.py`` for
the op). Theano's conventions are rewritten into that op's plain form
here:

* a sequence with taps ``[-2, 0, 3]`` becomes one per-step slice per tap:
  step ``t`` reads ``seq[t + 2 + tap]``, so the first step sees the
  earliest row every tap can reach (row ``t + 2`` plays the part of
  "now"); the slice of tap ``k`` is ``seq[2 + k : len - 3 + k]`` and the
  scan runs ``len - 5`` steps, the length less the span of the taps
  (counting tap 0);
* an output fed back with taps ``[-k, ..., -1]`` (negative, in any order:
  the step receives them in the order given) becomes ``k`` carried
  values, the window ``y[t-k] ... y[t-1]``, shifted by one each step.
  For the default taps ``[-1]`` the initial value is ``y[-1]`` itself;
  otherwise its first ``k`` rows are ``y[-k] ... y[-1]`` (Theano's
  ``initial[:k]``);
* ``go_backwards`` runs the steps from the last to the first (the op's
  ``reverse``): each tap's slice is read backwards and the outputs come
  in the order the steps ran, as in Theano (``ys[0]`` is the first step
  run, on the last rows).

Values of the enclosing graph that ``fn`` reads (its ``non_sequences``,
and any other Variable it closes over) become the op's constant operands.
Every output is returned stacked over the steps, ``(n_steps, ...)``; the
number of steps may be a free dim, so one compiled function serves every
sequence length. Unlike Theano, which silently runs as many steps as the
shortest sequence allows, sequences of different lengths and an
``n_steps`` that differs from theirs are errors: at trace time where the
lengths are static, on the call where they are free.
"""

from __future__ import annotations

import numbers
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..dialects.types import Dim, ShapeEnv, Sym, TensorType, dim_min, require_equal, shape_env
from ..errors import ArgumentError, DTypeError, ShapeError, TensorIRError, UnsupportedError
from . import graph
from .core import as_variable, cast
from .graph import Node, SourceLoc, Subgraph, Variable, user_location, with_location

__all__ = ["scan", "map", "foldl", "foldr", "reduce", "scan_node", "check_state", "captured"]


@dataclass
class _Sequence:
    value: Variable
    taps: list[int]
    label: str

    @property
    def span(self) -> tuple[int, int]:
        """The lowest and highest row a step reads, relative to "now" (tap 0 always counts)."""
        return min(0, min(self.taps)), max(0, max(self.taps))


@dataclass
class _Output:
    initial: Variable | None  # None: not fed back
    taps: list[int]
    label: str

    @property
    def depth(self) -> int:
        """How many past values the step reads (the carried window's length)."""
        return -min(self.taps) if self.initial is not None else 0


def scan(
    fn: Callable[..., Any],
    sequences: Any = None,
    outputs_info: Any = None,
    non_sequences: Any = None,
    n_steps: Any = None,
    go_backwards: bool = False,
    name: str | None = None,
    return_list: bool = False,
    strict: bool = False,
) -> tuple[Any, "OrderedDict[Any, Any]"]:
    """Apply ``fn`` step by step along ``sequences``, carrying state (Theano's ``scan``).

    At step ``t`` the function receives, in this order: for each sequence
    the slices at its taps (``seq[t + tap]``, taps default to ``[0]``); for
    each output fed back the values at its taps (``y[t + tap]``, negative,
    default ``[-1]``); then the ``non_sequences``. It returns the step's
    outputs, one per entry of ``outputs_info``.

    ``sequences``: a Variable or array, or ``dict(input=x, taps=[...])``, or
    a list of these. ``outputs_info``: per output, ``None`` (not fed back),
    the initial value (taps ``[-1]``), or ``dict(initial=x0, taps=[-2, -1])``
    where the first ``k`` rows of ``x0`` are ``y[-k] ... y[-1]`` for the
    deepest tap ``-k``. ``n_steps``: an int or a dim from ``.shape``;
    required without sequences, else it must equal the number of steps the
    sequences give. ``go_backwards``: run from the last step to the first.
    ``strict=True`` makes reading a Variable of the enclosing graph that is
    not in ``non_sequences`` an error.

    Returns ``(outputs, updates)``: each output stacked over the steps
    (``(n_steps, ...)``; a single Variable for one output unless
    ``return_list``) and an empty updates dictionary, as in Theano.

    >>> import numpy as np, tensorir as ti
    >>> @ti.jit
    ... def cumsum(x):
    ...     out, _ = ti.scan(lambda x_t, acc: acc + x_t, sequences=x, outputs_info=ti.zeros_like(x[0]))
    ...     return out
    >>> cumsum(np.array([1.0, 2.0, 3.0]))
    array([1., 3., 6.])
    """
    outputs, _ = _scan(fn, sequences, outputs_info, non_sequences, n_steps, go_backwards, name, strict,
                       stacked=True, what="scan")
    updates: OrderedDict[Any, Any] = OrderedDict()
    if len(outputs) == 1 and not return_list:
        return outputs[0], updates
    return outputs, updates


def map(
    fn: Callable[..., Any],
    sequences: Any,
    non_sequences: Any = None,
    go_backwards: bool = False,
    name: str | None = None,
) -> tuple[Any, "OrderedDict[Any, Any]"]:
    """``fn`` applied to each step of ``sequences`` (a scan without state).

    >>> import numpy as np, tensorir as ti
    >>> @ti.jit
    ... def norms(x):
    ...     return ti.map(lambda row: (row * row).sum(), sequences=x)[0]
    >>> norms(np.array([[3.0, 4.0], [1.0, 0.0]]))
    array([25.,  1.])
    """
    return scan(fn, sequences=sequences, non_sequences=non_sequences, go_backwards=go_backwards, name=name)


def reduce(
    fn: Callable[..., Any],
    sequences: Any,
    outputs_info: Any,
    non_sequences: Any = None,
    go_backwards: bool = False,
    name: str | None = None,
) -> tuple[Any, "OrderedDict[Any, Any]"]:
    """The last state of a scan: ``fn(x_t, acc) -> acc`` folded over ``sequences``.

    Only the final state is kept (the per-step values are never stored).

    >>> import numpy as np, tensorir as ti
    >>> @ti.jit
    ... def total(x):
    ...     return ti.reduce(lambda x_t, acc: acc + x_t, sequences=x, outputs_info=0.0)[0]
    >>> float(total(np.array([1.0, 2.0, 3.0])))
    6.0
    """
    outputs, _ = _scan(fn, sequences, outputs_info, non_sequences, None, go_backwards, name, False,
                       stacked=False, what="reduce")
    updates: OrderedDict[Any, Any] = OrderedDict()
    return (outputs[0] if len(outputs) == 1 else outputs), updates


def foldl(fn: Callable[..., Any], sequences: Any, outputs_info: Any, non_sequences: Any = None,
          name: str | None = None) -> tuple[Any, "OrderedDict[Any, Any]"]:
    """:func:`reduce` from the first step to the last."""
    return reduce(fn, sequences, outputs_info, non_sequences, go_backwards=False, name=name)


def foldr(fn: Callable[..., Any], sequences: Any, outputs_info: Any, non_sequences: Any = None,
          name: str | None = None) -> tuple[Any, "OrderedDict[Any, Any]"]:
    """:func:`reduce` from the last step to the first."""
    return reduce(fn, sequences, outputs_info, non_sequences, go_backwards=True, name=name)


# ---------------------------------------------------------------------------


def _scan(
    fn: Callable[..., Any],
    sequences: Any,
    outputs_info: Any,
    non_sequences: Any,
    n_steps: Any,
    go_backwards: bool,
    name: str | None,
    strict: bool,
    stacked: bool,
    what: str,
) -> tuple[list[Variable], Node]:
    loc = user_location()
    if not callable(fn):
        raise ArgumentError(f"{what}(fn, ...): fn must be a function of the per-step values, found {type(fn).__name__}")
    try:
        seqs = _sequences(sequences, what)
        outs = _outputs_info(outputs_info, what)
        if not stacked and (not outs or any(o.initial is None for o in outs)):
            raise ArgumentError(f"{what}: every output needs an initial value in outputs_info (the accumulator)")
        consts = [as_variable(c, f"{what}: non_sequences[{k}]") for k, c in enumerate(_as_list(non_sequences))]
        env = ShapeEnv()
        with shape_env(env):
            xs, n = _slices(seqs, what)
            n = _steps(n, n_steps, what)
            windows = [_window(o, what) for o in outs]
        for _ in range(2):
            body, ys = _trace_body(fn, seqs, xs, outs, windows, consts, strict, stacked, what, name)
            recast = _recast(windows, ys)
            if recast is None:
                break
            windows = recast
        with shape_env(env):
            _check_states(outs, windows, ys, what)
        carries = [c for w in windows for c in w]
        n_operand = []
        if not xs and isinstance(n, Sym):
            from .variable import dim_source

            n_operand = [dim_source(n, f"{what}: n_steps")]
        inputs = n_operand + carries + xs + body.inputs[len(carries) + len(xs):]
        node = scan_node(body, inputs, len(carries), len(xs), n, len(ys) if stacked else 0, go_backwards,
                         loc, env.equalities)
    except TensorIRError as exc:
        raise with_location(exc, loc) from None
    if not stacked:
        return _finals(node, windows), node
    results = node.outputs[len(carries):]
    if go_backwards:  # in the order the steps ran
        from .ops_shape import flip

        results = [flip(y, 0) for y in results]
    return results, node


def scan_node(
    body: Subgraph,
    inputs: list[Variable],
    num_carry: int,
    num_xs: int,
    n: Dim,
    num_ys: int,
    reverse: bool,
    loc: SourceLoc | None,
    checks: list[tuple[Dim, Dim, str]],
) -> Node:
    """A ``scan`` node running ``body`` over ``inputs`` (``[n,] carries, xs,
    consts`` in the op's order, ``n`` an index operand when there are no
    ``xs`` and the step count ``n`` is free), typed from the body: the
    carries keep their initial values' types and each of the last
    ``num_ys`` body outputs is stacked along a new leading axis of ``n``."""
    from ..dialects.optable import MAX_ARITY

    num_results = num_carry + num_ys
    if len(inputs) > MAX_ARITY or num_results > MAX_ARITY:
        raise UnsupportedError(
            f"scan: this loop has {len(inputs)} operands (initial values, sequence slices, values the step "
            f"reads) and {num_results} results; a scan takes at most {MAX_ARITY} of each: stack related "
            "values into one array (ti.stack) and index it in the step"
        )
    attrs = {
        "body": body,
        "num_carry": num_carry,
        "num_xs": num_xs,
        "length": n if isinstance(n, int) else -1,
        "reverse": bool(reverse),
    }
    node = Node("scan", inputs, attrs, loc, checks)
    first = int(num_xs == 0 and not isinstance(n, int))
    types = [c.type for c in inputs[first:first + num_carry]]
    ys = body.outputs[len(body.outputs) - num_ys:] if num_ys else []
    types += [TensorType(y.type.dtype, (n,) + tuple(y.shape)) for y in ys]
    node.outputs = [Variable(t, node, i) for i, t in enumerate(types)]
    return node


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _taps(taps: Any, label: str, what: str) -> list[int]:
    items = _as_list(taps)
    if not items or not all(isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in items):
        raise ArgumentError(f"{what}: the taps of {label} must be a non-empty list of ints, found {taps!r}")
    out = [int(t) for t in items]
    if len(set(out)) != len(out):
        raise ArgumentError(f"{what}: the taps of {label} repeat a tap: {out}; give each tap once")
    return out


def _name(v: Variable, label: str) -> str:
    return v.name if v.owner is None and v.name else label


def _sequences(sequences: Any, what: str) -> list[_Sequence]:
    out = []
    for k, s in enumerate(_as_list(sequences)):
        label = f"sequences[{k}]"
        taps: Any = [0]
        if isinstance(s, dict):
            unknown = set(s) - {"input", "taps"}
            if "input" not in s or unknown:
                raise ArgumentError(
                    f"{what}: {label} must be an array or dict(input=x, taps=[...]), found a dict with keys {sorted(s)}"
                )
            s, taps = s["input"], s.get("taps", [0])
            if taps is None:
                taps = [0]
        v = as_variable(s, f"{what}: {label}")
        if v.ndim == 0:
            raise ShapeError(
                f"{what}: {label} is a scalar ({v.type.dtype}); a sequence needs a first axis to iterate "
                "over (pass a scalar through non_sequences, or wrap it: x[None])"
            )
        out.append(_Sequence(v, _taps(taps, label, what), label))
    return out


def _outputs_info(outputs_info: Any, what: str) -> list[_Output]:
    out = []
    for k, o in enumerate(_as_list(outputs_info)):
        label = f"outputs_info[{k}]"
        taps: Any = [-1]
        if isinstance(o, dict):
            unknown = set(o) - {"initial", "taps"}
            if unknown:
                raise ArgumentError(
                    f"{what}: {label} must be None, an initial value or dict(initial=x0, taps=[...]); "
                    f"found a dict with keys {sorted(o)}"
                )
            o, taps = o.get("initial"), o.get("taps", [-1])
            if o is None and taps is not None:
                raise ArgumentError(
                    f"{what}: {label} has taps {taps!r} but no initial value; an output read back at "
                    "earlier steps needs dict(initial=x0, taps=...) (use None for an output that is not fed back)"
                )
            if taps is None:
                taps = [-1]
        if o is None:
            out.append(_Output(None, [], label))
            continue
        taps = _taps(taps, label, what)
        if any(t >= 0 for t in taps):
            raise ArgumentError(
                f"{what}: the taps of {label} must be negative (-1 is the previous step's value), found {taps}; "
                "a step cannot read its own or later outputs"
            )
        out.append(_Output(as_variable(o, f"{what}: {label}"), taps, label))
    return out


def _slices(seqs: list[_Sequence], what: str) -> tuple[list[Variable], Dim | None]:
    """One Variable per (sequence, tap) whose row ``t`` is the tap's value at step ``t``,
    and the number of steps they give."""
    from .indexing import getitem

    xs: list[Variable] = []
    n: Dim | None = None
    first = ""
    for s in seqs:
        lo, hi = s.span
        span = hi - lo
        length = s.value.shape[0]
        if isinstance(length, int) and length < span:
            raise ShapeError(
                f"{what}: {s.label} has length {length}, shorter than the span of its taps {s.taps} "
                f"({span} rows besides the current one); pass at least {span} rows"
            )
        if span and not isinstance(length, int):
            require_equal(dim_min(length, span), span,
                          f"{what}: {s.label} must be at least {span} long for its taps {s.taps}")
        for tap in s.taps:
            start, stop = tap - lo, tap - hi
            xs.append(s.value if (start, stop) == (0, 0) else getitem(s.value, slice(start, stop if stop else None)))
        steps = length - span if isinstance(length, int) else xs[-1].shape[0]
        here = _length_text(s, length)
        if n is None:
            n, first = steps, here
        elif isinstance(n, int) and isinstance(steps, int):
            if n != steps:
                raise ShapeError(
                    f"{what}: the sequences give different numbers of steps: {here} but {first}; "
                    "every sequence must give the same number of steps (slice them to one length)"
                )
        else:
            n = require_equal(
                n, steps, f"{what}: {s.label} and {seqs[0].label} must give the same number of steps "
                "(their lengths less the span of their taps)"
            )
    return xs, n


def _length_text(s: _Sequence, length: Dim) -> str:
    lo, hi = s.span
    if hi == lo:
        return f"{s.label} has length {length}"
    return f"{s.label} has length {length} and taps {s.taps}, so {length - (hi - lo)} steps"


def _steps(n: Dim | None, n_steps: Any, what: str) -> Dim:
    if n_steps is None:
        if n is None:
            raise ArgumentError(f"{what}: without sequences, n_steps must say how many steps to run")
        return n
    if isinstance(n_steps, Variable):
        raise ArgumentError(
            f"{what}: n_steps must be an int or a dim read from an array's .shape (the outputs' length "
            f"must follow from the input shapes), found the traced value {n_steps!r}"
        )
    if isinstance(n_steps, numbers.Integral) and not isinstance(n_steps, bool):
        if n_steps < 0:
            raise ArgumentError(f"{what}: n_steps must be >= 0, found {n_steps} (use go_backwards to run backwards)")
        steps: Dim = int(n_steps)
    elif isinstance(n_steps, Sym):
        steps = n_steps
    else:
        raise ArgumentError(f"{what}: n_steps must be an int or a dim from .shape, found {type(n_steps).__name__}")
    if n is None:
        return steps
    if isinstance(n, int) and isinstance(steps, int):
        if n != steps:
            raise ShapeError(
                f"{what}: n_steps = {steps} but the sequences give {n} steps; leave n_steps out "
                "(the sequences set it) or slice the sequences to its length"
            )
        return n
    return require_equal(n, steps, f"{what}: n_steps must equal the number of steps the sequences give")


def _window(o: _Output, what: str) -> list[Variable]:
    """The carried values of output ``o``: ``y[-k] ... y[-1]``, the first ``k``
    rows of its initial value (the initial value itself for taps ``[-1]``)."""
    from .indexing import getitem

    if o.initial is None:
        return []
    k = o.depth
    if o.taps == [-1]:
        return [o.initial]
    if o.initial.ndim == 0:
        raise ShapeError(
            f"{what}: {o.label} has taps {o.taps}, so its initial value must hold y[-{k}] ... y[-1] "
            f"along its first axis ({k} rows); found a scalar"
        )
    length = o.initial.shape[0]
    if isinstance(length, int) and length < k:
        raise ShapeError(
            f"{what}: {o.label} has taps {o.taps}, so its initial value needs at least {k} rows "
            f"(y[-{k}] ... y[-1]); found {length}"
        )
    rows = [getitem(o.initial, j) for j in range(k)]
    if not isinstance(length, int):
        check = (dim_min(length, k), k, f"{what}: the initial value of {o.label} needs at least {k} rows "
                 f"(y[-{k}] ... y[-1]) for its taps {o.taps}")
        require_equal(*check)
        if rows[0].owner is not None:  # said before the reading of its rows fails its own bounds check
            rows[0].owner.checks.insert(0, check)
    return rows


def _trace_body(
    fn: Callable[..., Any],
    seqs: list[_Sequence],
    xs: list[Variable],
    outs: list[_Output],
    windows: list[list[Variable]],
    consts: list[Variable],
    strict: bool,
    stacked: bool,
    what: str,
    name: str | None,
) -> tuple[Subgraph, list[Variable]]:
    from .variable import _DIM_AXIS, _DIM_SOURCES

    start = next(graph._ids)
    x_vars = []
    args: list[Any] = []
    i = 0
    for s in seqs:
        base = _name(s.value, s.label)
        for tap in s.taps:
            x = xs[i]
            x_vars.append(Variable(TensorType(x.type.dtype, x.shape[1:]), name=f"{base}[t{tap:+d}]" if tap else f"{base}[t]"))
            args.append(x_vars[-1])
            i += 1
    carry_vars: list[list[Variable]] = []
    for o, w in zip(outs, windows):
        base = _name(o.initial, o.label) if o.initial is not None else o.label
        vs = [Variable(c.type, name=f"{base}[t{j - len(w):+d}]", weak=c.weak) for j, c in enumerate(w)]
        carry_vars.append(vs)
        args.extend(vs[len(vs) + tap] for tap in o.taps)
    args.extend(consts)
    sources = dict(_DIM_SOURCES.items())
    axes = dict(_DIM_AXIS)
    try:
        result = fn(*args)
    finally:  # dims the body read through .shape must not resolve to body values later
        for key in list(_DIM_SOURCES.keys()):
            if key in sources:
                _DIM_SOURCES[key] = sources[key]
                _DIM_AXIS[key] = axes[key]
            else:
                del _DIM_SOURCES[key]
    ys = _results(result, outs, what)
    flat_carries = [v for vs in carry_vars for v in vs]
    inside = {v.id for v in flat_carries + x_vars}
    found = captured(ys, inside, lambda node: node.id > start)
    unlisted = [v for v in found if not any(v is c for c in consts)]
    if strict and unlisted:
        raise ArgumentError(
            f"{what}(strict=True): the step function reads {', '.join(repr(v) for v in unlisted)}, "
            "which is not in non_sequences; pass it there"
        )
    ordered = [c for c in consts if any(c is v for v in found)] + unlisted
    new_carries = []
    for vs, y in zip(carry_vars, ys):
        if vs:
            new_carries += vs[1:] + [y]
    stack = list(ys) if stacked else []
    body = Subgraph(flat_carries + x_vars + ordered, new_carries + stack, name or "step")
    return body, ys


def _results(result: Any, outs: list[_Output], what: str) -> list[Variable]:
    if isinstance(result, dict) or (
        isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)
    ):
        updates = result if isinstance(result, dict) else result[1]
        if updates:
            names = ", ".join(repr(getattr(k, "name", None) or k) for k in updates)
            raise UnsupportedError(
                f"{what}: the step function returned updates (of {names}); updates of shared variables "
                "inside a scan are not supported: return the new value as an output of the step "
                "(fed back through outputs_info) and update the shared variable from the scan's result"
            )
        result = None if isinstance(result, dict) else result[0]
    items = list(result) if isinstance(result, (list, tuple)) else [] if result is None else [result]
    if not items:
        raise ArgumentError(f"{what}: the step function returned nothing; it must return the step's outputs")
    if outs and len(items) != len(outs):
        raise ArgumentError(
            f"{what}: the step function returned {len(items)} output(s) but outputs_info has {len(outs)} "
            "entries (one per output: None for an output that is not fed back)"
        )
    return [as_variable(y, f"{what}: output {k} of the step function") for k, y in enumerate(items)]


def captured(outputs: list[Variable], inside: set[int], is_inner: Callable[[Node], bool]) -> list[Variable]:
    """Values of the enclosing graph a body reads, in first-read order: the
    Variables reached from ``outputs`` that are neither the body's own
    parameters (ids in ``inside``) nor computed by a node of the body
    (``is_inner``)."""
    found: list[Variable] = []
    seen: set[int] = set()
    stack = list(reversed(outputs))
    visited: set[int] = set()
    while stack:
        v = stack.pop()
        if v.id in inside or v.id in seen:
            continue
        if v.owner is not None and is_inner(v.owner):
            if v.owner.id in visited:
                continue
            visited.add(v.owner.id)
            stack.extend(reversed(v.owner.inputs))
            continue
        seen.add(v.id)
        found.append(v)
    return found


def _fmt(t: TensorType) -> str:
    dims = ["?" if isinstance(d, Sym) else str(d) for d in t.shape]
    return f"{t.dtype} ({', '.join(dims)}{',' if len(dims) == 1 else ''})"


def _recast(windows: list[list[Variable]], ys: list[Variable]) -> list[list[Variable]] | None:
    """Windows cast to the dtype the step returns, where the initial value was
    a Python scalar (weak) and so takes the step's dtype; None if none changes."""
    changed = False
    out = []
    for w, y in zip(windows, ys):
        if w and all(c.weak for c in w) and y.type.dtype != w[0].type.dtype:
            w = [cast(c, y.type.dtype) for c in w]
            changed = True
        out.append(w)
    return out if changed else None


def check_state(new: TensorType, state: TensorType, what: str) -> None:
    """A carried value's new type ``new`` must be its state's type: same dtype and
    rank, equal dims (free dims: checked on every call); ``what`` names both."""
    hint = f"{what} is {_fmt(new)} but the state is {_fmt(state)}: a state must keep its dtype and shape from one step to the next"
    if new.dtype != state.dtype:
        raise DTypeError(hint + " (cast the initial value, or the step's result, to one dtype)")
    if new.rank != state.rank:
        raise ShapeError(hint)
    for a, b in zip(new.shape, state.shape):
        if (a == 1) != (b == 1) and (isinstance(a, int) or isinstance(b, int)):
            raise ShapeError(hint + " (a dim of size 1 broadcasts: give the initial value the full shape)")
        if isinstance(a, int) and isinstance(b, int) and a != b:
            raise ShapeError(hint)
        require_equal(a, b, hint)


def _check_states(outs: list[_Output], windows: list[list[Variable]], ys: list[Variable], what: str) -> None:
    for k, (o, w, y) in enumerate(zip(outs, windows, ys)):
        if w:
            check_state(y.type, w[0].type, f"{what}: output {k} of the step function (the new {o.label})")


def _finals(node: Node, windows: list[list[Variable]]) -> list[Variable]:
    """The value of each state after the last step (the newest of its window)."""
    out = []
    i = 0
    for w in windows:
        i += len(w)
        out.append(node.outputs[i - 1])
    return out
