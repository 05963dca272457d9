"""Tracing a NumPy-style Python function into a frontend graph.

Each array argument becomes an input :class:`Variable` whose dims are static
when they are 1 (they broadcast) and free otherwise, named by position:
dim ``k`` of flat argument ``i`` is ``Sym.var("arg", i, k)``. One trace thus
serves every size of the free dims.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..dialects.types import Dim, Sym, TensorType
from ..errors import ArgumentError
from . import variable as _variable  # noqa: F401  (attaches operators to Variable)
from .core import as_variable
from .graph import Node, Variable, all_nodes
from .pytree import TreeDef, flatten, unflatten

__all__ = ["ArgSpec", "Traced", "trace", "input_variable"]


@dataclass(frozen=True)
class ArgSpec:
    """What a compiled function knows of one flat argument."""

    name: str
    dtype: str
    broadcastable: tuple[bool, ...]  # True where the dim is statically 1
    weak: bool = False  # a Python scalar

    @property
    def rank(self) -> int:
        return len(self.broadcastable)


@dataclass
class Traced:
    name: str
    inputs: list[Variable]
    outputs: list[Variable]
    specs: list[ArgSpec]
    out_tree: TreeDef
    nodes: list[Node] = field(default_factory=list)
    # output index -> input index: that output is written into that input's
    # buffer (a shared variable's update), not returned
    updates: dict[int, int] = field(default_factory=dict)
    # further runtime equalities (a, b, message, location)
    extra_checks: list[tuple[Dim, Dim, str, Any]] = field(default_factory=list)

    def checks(self) -> list[tuple[Dim, Dim, str, Any]]:
        """Every runtime shape equality of the graph, with the node's location."""
        return [(a, b, why, n.loc) for n in self.nodes for (a, b, why) in n.checks] + self.extra_checks


def input_variable(spec: ArgSpec, position: int) -> Variable:
    shape = tuple(1 if b else Sym.var("arg", position, k) for k, b in enumerate(spec.broadcastable))
    return Variable(TensorType(spec.dtype, shape), name=spec.name, weak=spec.weak)


def trace(
    fun: Callable[..., Any],
    name: str,
    in_tree: TreeDef,
    specs: Sequence[ArgSpec],
    static: dict[int, Any] | None = None,
) -> Traced:
    """Call ``fun`` on input Variables built from ``specs`` and record the graph."""
    inputs = [input_variable(s, i) for i, s in enumerate(specs)]
    args = unflatten(in_tree, list(inputs))
    if static:
        args = list(args)
        for pos, value in sorted(static.items()):
            args.insert(pos, value)
    result = fun(*args)
    leaves, out_tree = flatten(result)
    outputs = []
    for i, leaf in enumerate(leaves):
        try:
            outputs.append(as_variable(leaf, f"output {i} of {name}"))
        except ArgumentError as exc:
            raise ArgumentError(f"{exc} (a traced function must return arrays or containers of arrays)") from None
    return Traced(name, inputs, outputs, list(specs), out_tree, all_nodes(outputs))
