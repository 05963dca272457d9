"""The Python-side graph: symbolic :class:`Variable` values and the ops that
produce them.

Both ways of writing a program build this graph: ``@jit`` tracing calls the
user's function on Variables, and the symbolic API builds Variables by hand.
Each :class:`Node` is one application of a tir op, typed by the op table's
result-type rule when it is built, and remembers the user's source line and
the shape equalities that only a call can check. ``frontend/emit.py`` turns
a graph into a tir module.
"""

from __future__ import annotations

import itertools
import os
import sys
from typing import Any, Iterable, Sequence

from ..dialects import OPS
from ..dialects.types import Dim, ShapeEnv, Sym, TensorType, shape_env
from ..errors import TensorIRError

__all__ = ["Variable", "Node", "Subgraph", "apply", "SourceLoc", "user_location", "toposort", "all_nodes"]

_PKG_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_ids = itertools.count()


class SourceLoc(tuple):
    """(filename, line, function name, source text) of the user's code."""

    @property
    def filename(self) -> str:
        return self[0]

    @property
    def line(self) -> int:
        return self[1]

    def __str__(self) -> str:
        text = f"  File \"{self[0]}\", line {self[1]}, in {self[2]}"
        if self[3]:
            text += f"\n    {self[3]}"
        return text


def user_location() -> SourceLoc | None:
    """The innermost stack frame outside the tensorir package."""
    frame = sys._getframe(1)
    while frame is not None:
        fn = frame.f_code.co_filename
        if not os.path.abspath(fn).startswith(_PKG_ROOT):
            import linecache

            text = linecache.getline(fn, frame.f_lineno).strip()
            return SourceLoc((fn, frame.f_lineno, frame.f_code.co_name, text))
        frame = frame.f_back  # type: ignore[assignment]
    return None


class Node:
    """One application of a tir op."""

    __slots__ = ("op", "inputs", "attrs", "outputs", "loc", "checks", "id")

    def __init__(
        self,
        op: str,
        inputs: Sequence["Variable"],
        attrs: dict[str, Any],
        loc: SourceLoc | None,
        checks: list[tuple[Dim, Dim, str]],
    ):
        self.op = op
        self.inputs = tuple(inputs)
        self.attrs = attrs
        self.outputs: list[Variable] = []
        self.loc = loc
        self.checks = checks
        self.id = next(_ids)

    def __repr__(self) -> str:
        return f"Node(tir.{self.op}, {len(self.inputs)} inputs)"


class Variable:
    """A symbolic array: a graph input, a constant, or the result of an op.

    Carries its :class:`TensorType` (dtype and shape, where free dims are
    :class:`Sym`). ``weak`` marks a value that came from a Python scalar and
    takes the dtype of what it meets, as in NumPy (``x_f32 * 2.0`` stays
    float32).
    """

    __slots__ = ("type", "owner", "index", "name", "weak", "id", "__weakref__")
    __array_priority__ = 1000  # NumPy defers ``ndarray + Variable`` to us

    def __init__(
        self,
        type: TensorType,
        owner: Node | None = None,
        index: int = 0,
        name: str | None = None,
        weak: bool = False,
    ):
        self.type = type
        self.owner = owner
        self.index = index
        self.name = name
        self.weak = weak
        self.id = next(_ids)

    # -- basic properties --------------------------------------------------
    @property
    def dtype(self) -> Any:
        import numpy as np

        return np.dtype(self.type.dtype)

    @property
    def shape(self) -> tuple[Dim, ...]:
        return self.type.shape

    @property
    def ndim(self) -> int:
        return self.type.rank

    def __repr__(self) -> str:
        dims = ", ".join(str(d) if isinstance(d, int) else "?" for d in self.shape)
        label = f" {self.name!r}" if self.name else ""
        return f"<Variable{label} {self.type.dtype}[{dims}]>"

    def __hash__(self) -> int:
        return self.id

    # operators, methods and trace-time guards are attached in frontend/variable.py


def apply(op: str, inputs: Sequence[Variable], attrs: dict[str, Any] | None = None) -> Any:
    """Build a node of tir op ``op``; returns its result Variable(s).

    The op's type rule runs here, so bad shapes and dtypes fail at the user's
    line with the user's line in the message.
    """
    opdef = OPS[op]
    attrs = dict(attrs or {})
    loc = user_location()
    env = ShapeEnv()
    try:
        with shape_env(env):
            types = opdef.result_types([v.type for v in inputs], attrs)
    except TensorIRError as exc:
        raise with_location(exc, loc) from None
    node = Node(op, inputs, attrs, loc, env.equalities)
    node.outputs = [Variable(t, node, i) for i, t in enumerate(types)]
    return node.outputs[0] if len(node.outputs) == 1 else node.outputs


def with_location(exc: TensorIRError, loc: SourceLoc | None) -> TensorIRError:
    """The same error with the user's source line appended to its message."""
    if loc is None or getattr(exc, "_located", False):
        return exc
    new = type(exc)(f"{exc}\n{loc}")
    new._located = True  # type: ignore[attr-defined]
    return new


def toposort(outputs: Iterable[Variable], stop: set[int] | None = None) -> list[Node]:
    """Nodes needed by ``outputs``, each after the nodes it reads.

    ``stop``: ids of Variables taken as given (a subgraph's inputs), whose
    producers are not visited.
    """
    order: list[Node] = []
    seen: set[int] = set()
    stop = stop or set()
    stack: list[tuple[Node, bool]] = []
    for v in outputs:
        if v.owner is not None and v.id not in stop:
            stack.append((v.owner, False))
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node.id in seen:
            continue
        seen.add(node.id)
        stack.append((node, True))
        for inp in reversed(node.inputs):
            if inp.owner is not None and inp.owner.id not in seen and inp.id not in stop:
                stack.append((inp.owner, False))
    return order


class Subgraph:
    """A function inside the graph: the body of a ``scan`` node.

    ``inputs`` are the body's parameters in the op's order (carries, per-step
    slices, constants); a constant may be a Variable of the enclosing graph
    itself (a closure), which the body reads as its parameter. ``outputs``
    are the new carries followed by the per-step outputs.
    """

    __slots__ = ("inputs", "outputs", "name", "id")

    def __init__(self, inputs: Sequence[Variable], outputs: Sequence[Variable], name: str = "step"):
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.name = name
        self.id = next(_ids)

    def nodes(self) -> list[Node]:
        return toposort(self.outputs, {v.id for v in self.inputs})


def all_nodes(outputs: Iterable[Variable], stop: set[int] | None = None) -> list[Node]:
    """:func:`toposort`, with the nodes of every body (recursively) before the
    node that runs it: every node whose shape checks a call must make."""
    out: list[Node] = []
    for node in toposort(outputs, stop):
        for value in node.attrs.values():
            if isinstance(value, Subgraph):
                out.extend(all_nodes(value.outputs, {v.id for v in value.inputs}))
        out.append(node)
    return out


def free_dims(shape: Sequence[Dim]) -> list[Sym]:
    return [d for d in shape if isinstance(d, Sym)]
