"""Graph printing, as in Theano: ``debugprint`` trees and Graphviz pictures.

:func:`debugprint` prints a graph as an indented tree, one line per value:
the tir op that computes it with its attributes (``sum{axes=(1,),
keepdims=False}``), an id (``[id A]``), its type (``float32[?, 784]``, ``?``
for a free dim) and its name if it has one. The operands of an op are
indented below it after ``|``. A value shared by two consumers is printed
in full once; later it appears as a reference line (its first line again,
same id, no operands). Graph inputs show their names; shared variables are
marked ``shared``.

>>> import numpy as np, tensorir as ti
>>> x = ti.tensor("x", "float32", shape=(None, 3))
>>> w = ti.shared(np.ones((3, 2), np.float32), name="w")
>>> h = ti.tanh(x @ w)
>>> _ = ti.debugprint(h.sum(axis=1) + h.max())
add [id A] float32[?]
 |sum{axes=(1,), keepdims=False} [id B] float32[?]
 | |tanh [id C] float32[?, ?]
 |   |matmul [id D] float32[?, ?]
 |     |x [id E] float32[?, 3]
 |     |w [id F] float32[?, ?] shared
 |max{axes=(0, 1), keepdims=False} [id G] float32[]
   |tanh [id C] float32[?, ?]

For a compiled :class:`tensorir.Function` it prints every output, then
every update as ``w <- ...``; ``optimized=True`` prints the graph the tir
passes leave (the ``"tir-opt"`` stage of ``f.lower()``) instead of the one
written:

>>> f = ti.function([x], h.sum(), updates=[(w, w * 0.5)])
>>> _ = ti.debugprint(f, print_type=False)
sum{axes=(0, 1), keepdims=False} [id A]
 |tanh [id B]
   |matmul [id C]
     |x [id D]
     |w [id E] shared
w <- mul [id F]
 |w [id E] shared
 |constant{0.5} [id G]

:func:`to_dot` gives the same graph as Graphviz DOT text and
:func:`graphviz` writes it and renders it with Graphviz's ``dot`` program.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Sequence, TextIO

import numpy as np

from .dialects import OPS, new_context, op_attrs
from .dialects._bindings import ir
from .dialects.optable import from_mlir_type
from .dialects.types import ShapeEnv, Sym, TensorType, shape_env, substitute
from .errors import ArgumentError, CompileError, UnsupportedError
from .frontend.emit import emit_function
from .frontend.graph import Node, Subgraph, Variable, toposort
from .frontend.symbolic import SharedVariable, declared_shape
from .function import Function

__all__ = ["debugprint", "to_dot", "graphviz"]

_ID_STYLES = ("id", "CHAR", "int", "")


@dataclass
class _Graph:
    """What a printer shows: the inputs (a function's, in order), output
    values, each with an optional ``name <-`` prefix (the shared variable it
    updates), and the sizes the inputs declared."""

    inputs: list[Variable]
    outputs: list[Variable]
    updates: list[str | None]
    sizes: dict[Sym, int]


# ---------------------------------------------------------------------------
# Gathering the graph of what the user passed


def _graph(obj: Any, optimized: bool, what: str) -> _Graph:
    if isinstance(obj, Function):
        traced = obj.traced
        inputs, outputs = list(traced.inputs), list(traced.outputs)
        updates = [_input_name(inputs[traced.updates[k]]) if k in traced.updates else None
                   for k in range(len(outputs))]
        pipeline = obj.mode.pipeline
        update_map = dict(traced.updates)
    else:
        outputs = _variables(obj, what)
        updates = [None] * len(outputs)
        inputs = _roots(outputs)
        pipeline = _default_pipeline()
        update_map = {}
    if optimized:
        new = _optimized(inputs, outputs, update_map, pipeline)
        for old, v in zip(outputs, new):
            if v.owner is not None and v.name is None:
                v.name = old.name  # a fresh Variable of the read-back graph
        outputs = new
    inputs += [v for v in _roots(outputs) if not any(v is u for u in inputs)]
    return _Graph(inputs, outputs, updates, _declared_sizes(inputs))


def _variables(obj: Any, what: str) -> list[Variable]:
    expected = "a Variable, a list of Variables or a tensorir.Function"
    if isinstance(obj, Variable):
        return [obj]
    if isinstance(obj, (list, tuple)):
        if not obj:
            raise ArgumentError(f"{what}: expected {expected}, found an empty {type(obj).__name__}")
        for k, v in enumerate(obj):
            if not isinstance(v, Variable):
                raise ArgumentError(
                    f"{what}: expected {expected}, found a {type(obj).__name__} whose item {k} "
                    f"is a {type(v).__name__}"
                )
        return list(obj)
    hint = ""
    if callable(obj):
        hint = " (compile it first: ti.function([...], outputs), or print the Variables it returns)"
    raise ArgumentError(f"{what}: expected {expected}, found {type(obj).__name__}{hint}")


def _roots(outputs: Sequence[Variable]) -> list[Variable]:
    """The graph's inputs (values no op computes), in order of first use."""
    roots: dict[int, Variable] = {}
    for v in outputs:
        if v.owner is None:
            roots.setdefault(v.id, v)
    for node in toposort(outputs):
        for v in node.inputs:
            if v.owner is None:
                roots.setdefault(v.id, v)
    return list(roots.values())


def _declared_sizes(roots: Sequence[Variable]) -> dict[Sym, int]:
    """Free dims whose size an input declared (``ti.tensor(shape=(None, 784))``)."""
    sizes: dict[Sym, int] = {}
    for v in roots:
        declared = declared_shape(v)
        if declared is None:
            continue
        for d, n in zip(v.shape, declared):
            if isinstance(d, Sym) and n is not None:
                sizes[d] = n
    return sizes


def _default_pipeline() -> str:
    from .modes import get_mode

    return get_mode(None).pipeline


# ---------------------------------------------------------------------------
# The graph after the tir passes, read back from the MLIR module


def _optimized(inputs: list[Variable], outputs: list[Variable], updates: dict[int, int], pipeline: str) -> list[Variable]:
    """``outputs`` recomputed from the tir module the passes of ``pipeline``
    leave: new ops over the same input Variables."""
    from .lowering import cpu
    from .passes import pipeline_steps

    name = "tir_debugprint"
    with new_context(), ir.Location.unknown():
        module = ir.Module.create()
        emit_function(module, name, inputs, outputs, updates)
        cpu.run_pipeline(module, pipeline_steps(pipeline), "the tir passes")
        for view in module.body.operations:
            op = view.operation
            if op.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == name:
                return _read_block(op.regions[0].blocks[0], inputs)
    raise CompileError(f"internal: the tir passes removed the function {name}")  # pragma: no cover


def _read_block(block: ir.Block, inputs: Sequence[Variable]) -> list[Variable]:
    values: dict[ir.Value, Variable] = dict(zip(block.arguments, inputs))
    for view in block.operations:
        op = view.operation
        if op.name == "func.return":
            return [values[v] for v in op.operands]
        operands = [values[v] for v in op.operands]
        short = op.name[4:] if op.name.startswith("tir.") else None
        if short in OPS:
            attrs = op_attrs(op, OPS[short])
            if short == "scan":
                attrs["body"] = _read_body(op, operands)
            node = Node(short, operands, attrs, None, [])
        else:  # an op of another dialect (a call of a body function)
            attrs = {a.name: str(a.attr) for a in op.attributes}
            node = Node(op.name, operands, attrs, None, [])
        types = _result_types(node, [r.type for r in op.results])
        node.outputs = [Variable(t, node, i) for i, t in enumerate(types)]
        for res, out in zip(op.results, node.outputs):
            values[res] = out
    raise CompileError("internal: the optimised function has no func.return")  # pragma: no cover


def _read_body(op: ir.Operation, operands: Sequence[Variable]) -> Subgraph:
    """The body function of a ``tir.scan`` read back as a :class:`Subgraph`: new
    parameters for the carries and per-step slices, the scan's operands
    themselves for its constants (as the frontend builds it)."""
    from .dialects.control import scan_body, scan_layout

    layout = scan_layout(op)
    fn = scan_body(op)
    block = fn.regions[0].blocks[0]
    carries = operands[layout.carry]
    xs = operands[layout.xs]
    params = [Variable(from_mlir_type(a.type), name=f"carry{k}[t-1]") for k, a in enumerate(list(block.arguments)[:len(carries)])]
    params += [Variable(from_mlir_type(a.type), name=f"xs{k}[t]")
               for k, a in enumerate(list(block.arguments)[len(carries):len(carries) + len(xs)])]
    params += list(operands[layout.consts])
    name = ir.StringAttr(fn.attributes["sym_name"]).value
    return Subgraph(params, _read_block(block, params), name)


def _result_types(node: Node, mlir_types: list[ir.Type]) -> list[TensorType]:
    """The op's types by its type rule, so free dims keep their meaning
    (``x.shape[1]``) as in the graph written; MLIR's types (``?``) where the
    rule does not apply."""
    from_ir = [from_mlir_type(t) for t in mlir_types]
    if node.op in OPS:
        try:
            with shape_env(ShapeEnv()):
                typed = OPS[node.op].result_types([v.type for v in node.inputs], node.attrs)
        except Exception:  # noqa: BLE001 - the rule may not hold mid-rewrite; fall back
            return from_ir
        if len(typed) == len(from_ir) and all(
            a.dtype == b.dtype and a.rank == b.rank for a, b in zip(typed, from_ir)
        ):
            return typed
    return from_ir


# ---------------------------------------------------------------------------
# Text of one value


def _input_name(v: Variable) -> str:
    return v.name or "<input>"


def _type_text(v: Variable, sizes: dict[Sym, int]) -> str:
    if v.type.dtype == "index":
        return "index"
    dims = []
    for d in v.shape:
        d = substitute(d, sizes) if isinstance(d, Sym) else d
        dims.append(str(d) if isinstance(d, int) else "?")
    return f"{v.type.dtype}[{', '.join(dims)}]"


def _value_text(value: Any) -> str:
    if isinstance(value, Subgraph):
        return value.name
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        if arr.ndim == 0:
            return str(arr[()])  # the shortest text that reads back as the same value: 0.1, 1.0
        text = np.array2string(arr, separator=", ", threshold=8, edgeitems=2, formatter={"float_kind": str})
        return " ".join(text.split())
    if isinstance(value, tuple):
        items = [_value_text(x) for x in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _op_text(node: Node) -> str:
    """``op{attr=value, ...}``; a constant shows its value: ``constant{0.5}``."""
    if node.op == "constant" and "value" in node.attrs:
        return f"constant{{{_value_text(np.asarray(node.attrs['value']))}}}"
    order = list(OPS[node.op].attrs) if node.op in OPS else []
    keys = [k for k in order if k in node.attrs] + [k for k in node.attrs if k not in order]
    if not keys:
        return node.op
    return f"{node.op}{{{', '.join(f'{k}={_value_text(node.attrs[k])}' for k in keys)}}}"


def _label(v: Variable) -> str:
    """An input's name, or the op computing the value (``split.1`` for the
    second result of a multi-result op)."""
    if v.owner is None:
        return _input_name(v)
    text = _op_text(v.owner)
    return f"{text}.{v.index}" if len(v.owner.outputs) > 1 else text


class _Ids:
    """Ids in order of first appearance: ``A``, ..., ``Z``, ``BA``, ... (Theano's
    letters), or ``0``, ``1``, ... (``"int"``), or none (``""``)."""

    def __init__(self, style: str):
        self.style = style
        self.ids: dict[int, str] = {}

    def __call__(self, v: Variable) -> str:
        key = v.owner.id if v.owner is not None else v.id  # one id per op, as in Theano
        if key not in self.ids:
            n = len(self.ids)
            self.ids[key] = str(n) if self.style == "int" else _letters(n)
        return self.ids[key]


def _letters(n: int) -> str:
    text = ""
    while True:
        text = chr(ord("A") + n % 26) + text
        n //= 26
        if n == 0:
            return text


# ---------------------------------------------------------------------------
# debugprint


def debugprint(
    obj: Any,
    file: "TextIO | str | None" = None,
    print_type: bool = True,
    ids: str = "id",
    depth: int = -1,
    optimized: bool = False,
) -> str:
    """Print the graph of ``obj`` as an indented tree and return the text.

    ``obj`` is a Variable, a list of Variables (one tree each, ids shared)
    or a compiled :class:`tensorir.Function` (its outputs, then its updates
    as ``w <- ...``). ``file``: a text stream (default ``sys.stdout``), or
    ``"str"`` to only return the text. ``print_type``: show each value's
    dtype and shape. ``ids``: ``"id"`` (or ``"CHAR"``) for letters,
    ``"int"`` for numbers, ``""`` for none. ``depth``: the number of levels
    to print (``-1``: all). ``optimized``: print the graph after the tir
    passes of the function's mode (of ``ti.config.mode`` for Variables).
    """
    if not isinstance(ids, str) or ids not in _ID_STYLES:
        raise ArgumentError(f"debugprint: ids must be one of {', '.join(map(repr, _ID_STYLES))}, found {ids!r}")
    if isinstance(depth, bool) or not isinstance(depth, int) or not (depth == -1 or depth >= 1):
        raise ArgumentError(f"debugprint: depth must be -1 (everything) or a positive int, found {depth!r}")
    if file is not None and file != "str" and not hasattr(file, "write"):
        raise ArgumentError(f"debugprint: file must be a text stream or 'str', found {type(file).__name__}")
    graph = _graph(obj, optimized, "debugprint")
    text = _tree_text(graph, print_type, _Ids(ids) if ids else None, depth)
    if file != "str":
        out = sys.stdout if file is None else file
        out.write(text)  # type: ignore[union-attr]
    return text


def _tree_text(graph: _Graph, print_type: bool, ids: _Ids | None, depth: int) -> str:
    """The trees of ``graph``'s outputs, then, under "Inner graphs:", the body
    of every scan met (nested scans after their enclosing one): the scan's op
    and id, then one tree per body output (the new carries, then the
    per-step outputs), each line marked ``>``. A body's constants are the
    enclosing graph's values themselves, so they keep their ids."""
    lines: list[str] = []
    expanded: set[int] = set()
    scans: list[Node] = []

    def header(v: Variable) -> str:
        parts = [_label(v)]
        if ids is not None:
            parts.append(f"[id {ids(v)}]")
        if print_type:
            parts.append(_type_text(v, graph.sizes))
        if v.owner is not None and v.name:
            parts.append(repr(v.name))
        if isinstance(v, SharedVariable):
            parts.append("shared")
        return " ".join(parts)

    def tree(v: Variable, prefix: str, child_prefix: str) -> None:
        # Depth-first with an explicit stack (graphs can be deeper than Python's
        # recursion limit): (value, its line's prefix, its operands' prefix, level).
        stack: list[tuple[Variable, str, str, int]] = [(v, prefix, child_prefix, 1)]
        while stack:
            var, prefix, child_prefix, level = stack.pop()
            lines.append(prefix + header(var))
            node = var.owner
            if node is None or not node.inputs or node.id in expanded:
                continue
            if depth != -1 and level >= depth:
                continue
            expanded.add(node.id)
            if isinstance(node.attrs.get("body"), Subgraph):
                scans.append(node)
            n = len(node.inputs)
            for k in reversed(range(n)):
                last = k == n - 1
                stack.append((node.inputs[k], child_prefix + " |", child_prefix + ("  " if last else " |"), level + 1))

    for v, update in zip(graph.outputs, graph.updates):
        tree(v, f"{update} <- " if update else "", "")
    if scans:
        lines += ["", "Inner graphs:"]
    k = 0
    while k < len(scans):  # grows while bodies are printed
        node = scans[k]
        k += 1
        lines += ["", " ".join([_op_text(node)] + ([f"[id {ids(node.outputs[0])}]"] if ids is not None else []))]
        for out in node.attrs["body"].outputs:
            tree(out, " >", " >")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Graphviz

_COLORS = {"input": "#b3e2cd", "shared": "#fff2ae", "constant": "#e6e6e6", "output": "#cbd5e8", "update": "#fdcdac"}


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(obj: Any, optimized: bool = False) -> str:
    """The graph of ``obj`` (as for :func:`debugprint`) as Graphviz DOT text.

    Ops are boxes labelled with the op and the type of what they compute;
    inputs are green ellipses with their names (shared variables yellow,
    marked ``shared``), constants grey; each output (blue) or update
    (orange, ``w <- ``) is an ellipse fed by the value it returns. Edges go
    from a value to the ops that read it, labelled with the operand's
    position when an op has several.

    >>> import tensorir as ti
    >>> x = ti.vector("x", "float64")
    >>> print(ti.to_dot(ti.exp(x)))
    digraph tensorir {
      node [fontname="Helvetica", fontsize=10];
      i0 [label="x\\nfloat64[?]", shape=ellipse, style=filled, fillcolor="#b3e2cd"];
      n1 [label="exp\\nfloat64[?]", shape=box];
      i0 -> n1;
      o0 [label="output 0\\nfloat64[?]", shape=ellipse, style=filled, fillcolor="#cbd5e8"];
      n1 -> o0;
    }
    """
    return _dot_text(_graph(obj, optimized, "to_dot"))


def _dot_text(graph: _Graph) -> str:
    lines = ["digraph tensorir {", '  node [fontname="Helvetica", fontsize=10];']
    names: dict[int, str] = {}  # node id (ops) or variable id (inputs) -> DOT name
    counter = iter(range(1 << 62))

    def fresh(kind: str) -> str:
        return f"{kind}{next(counter)}"

    def source(v: Variable) -> str:
        return names[v.owner.id if v.owner is not None else v.id]

    for v in graph.inputs:
        names[v.id] = fresh("i")
        shared = isinstance(v, SharedVariable)
        label = f"{_input_name(v)}\n{_type_text(v, graph.sizes)}" + ("\nshared" if shared else "")
        color = _COLORS["shared" if shared else "input"]
        lines.append(f"  {names[v.id]} [label={_dot_string(label)}, shape=ellipse, style=filled, fillcolor=\"{color}\"];")

    def ops(nodes: Sequence[Node], indent: str) -> None:
        for node in nodes:
            names[node.id] = fresh("n")
            types = ", ".join(_type_text(o, graph.sizes) for o in node.outputs)
            label = f"{_op_text(node)}\n{types}"
            if node.op == "constant":
                style = f'shape=ellipse, style=filled, fillcolor="{_COLORS["constant"]}"'
            else:
                style = "shape=box"
            lines.append(f"{indent}{names[node.id]} [label={_dot_string(label)}, {style}];")
            for k, v in enumerate(node.inputs):
                attrs = []
                if len(node.inputs) > 1:
                    attrs.append(f'label="{k}"')
                if v.owner is not None and len(v.owner.outputs) > 1:
                    attrs.append(f'taillabel="{v.index}"')
                lines.append(f"{indent}{source(v)} -> {names[node.id]}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
            body = node.attrs.get("body")
            if isinstance(body, Subgraph):
                cluster(node, body, indent)

    def cluster(node: Node, body: Subgraph, indent: str) -> None:
        """The body of scan ``node`` as a dashed cluster: its own parameters
        (carries, per-step slices) as white ellipses, its ops, and one
        ellipse per body output; a dotted edge ties the scan to it."""
        inner = indent + "  "
        lines.append(f"{indent}subgraph cluster_{names[node.id]} {{")
        lines.append(f"{inner}label={_dot_string(f'body {body.name} of {names[node.id]}')}; style=dashed;")
        first = None
        for v in body.inputs:
            if v.id in names or (v.owner is not None and v.owner.id in names):
                continue  # a constant: the enclosing graph's own value
            names[v.id] = fresh("p")
            first = first or names[v.id]
            label = f"{_input_name(v)}\n{_type_text(v, graph.sizes)}"
            lines.append(f"{inner}{names[v.id]} [label={_dot_string(label)}, shape=ellipse];")
        ops(body.nodes(), inner)
        num_carry = node.attrs["num_carry"]
        for k, v in enumerate(body.outputs):
            name = fresh("r")
            title = f"carry {k}" if k < num_carry else f"y {k - num_carry}"
            lines.append(f"{inner}{name} [label={_dot_string(f'{title}{chr(10)}{_type_text(v, graph.sizes)}')}, shape=ellipse];")
            lines.append(f"{inner}{source(v)} -> {name};")
            first = first or name
        lines.append(f"{indent}}}")
        lines.append(f"{indent}{names[node.id]} -> {first} [style=dotted, arrowhead=none, lhead=cluster_{names[node.id]}];")

    ops(toposort(graph.outputs), "  ")
    for k, (v, update) in enumerate(zip(graph.outputs, graph.updates)):
        title = f"{update} <- update" if update else (f"output {k}" + (f" '{v.name}'" if v.owner is not None and v.name else ""))
        color = _COLORS["update" if update else "output"]
        label = f"{title}\n{_type_text(v, graph.sizes)}"
        lines.append(f"  o{k} [label={_dot_string(label)}, shape=ellipse, style=filled, fillcolor=\"{color}\"];")
        lines.append(f"  {source(v)} -> o{k};")
    if any(line.lstrip().startswith("subgraph cluster_") for line in lines):
        lines.insert(1, "  compound=true;")
    lines.append("}")
    return "\n".join(lines) + "\n"


def graphviz(obj: Any, path: "str | os.PathLike[str]", format: str = "png", optimized: bool = False) -> str:
    """Write the DOT text of ``obj``'s graph next to ``path`` and render it
    there with Graphviz; returns the path of the picture.

    ``path`` names the picture (``"graph.png"``; without an extension,
    ``.{format}`` is added) and the DOT text goes to the same name ending
    in ``.dot``. ``format`` is any output format of ``dot -T`` (``png``,
    ``svg``, ``pdf``...); ``"dot"`` only writes the DOT text. Rendering
    needs Graphviz's ``dot`` program on ``PATH`` (``apt install graphviz``);
    without it the DOT text is still written and
    :class:`~tensorir.errors.UnsupportedError` says how to render it.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentError(f"graphviz: path must be a file name, found {type(path).__name__}")
    if not isinstance(format, str) or not re.fullmatch(r"[A-Za-z0-9_:]+", format):
        raise ArgumentError(f"graphviz: format must be a Graphviz output format such as 'png' or 'svg', found {format!r}")
    text = _dot_text(_graph(obj, optimized, "graphviz"))
    path = os.fspath(path)
    base, ext = os.path.splitext(path)
    dot_path = base + ".dot"
    with open(dot_path, "w", encoding="utf-8") as fh:
        fh.write(text)
    if format == "dot":
        return dot_path
    image = path if ext and ext != ".dot" else f"{base}.{format}"
    command = ["dot", f"-T{format}", dot_path, "-o", image]
    exe = shutil.which("dot")
    if exe is None:
        raise UnsupportedError(
            f"graphviz: Graphviz's `dot` program is not on PATH, so {image} was not drawn; the DOT "
            f"text was written to {dot_path}. Install Graphviz (apt install graphviz, brew install "
            f"graphviz) and call graphviz() again, or run `{' '.join(command)}`"
        )
    done = subprocess.run([exe, *command[1:]], capture_output=True, text=True)
    if done.returncode != 0:
        raise CompileError(
            f"graphviz: `dot` failed (exit status {done.returncode}) to render {dot_path}: "
            f"{done.stderr.strip()}\nreproduce with `{' '.join(command)}`"
        )
    return image
