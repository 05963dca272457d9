"""Graph printing: debugprint trees (pinned text), reference lines for
shared values, functions with updates, the optimised graph, DOT output
checked structurally, Graphviz rendering, and the errors for bad input."""

from __future__ import annotations

import io
import os
import re
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

import tensorir as ti
from tensorir.errors import ArgumentError, CompileError, UnsupportedError
from tensorir.frontend.graph import apply


def _mlp() -> tuple[ti.Function, ti.Variable]:
    x = ti.tensor("x", "float32", shape=(None, 4))
    y = ti.matrix("y", "float32")
    w1 = ti.shared(np.zeros((4, 3), np.float32), name="w1")
    w2 = ti.shared(np.zeros((3, 2), np.float32), name="w2")
    h = ti.tanh(x @ w1)
    cost = -(y * ti.nn.log_softmax(h @ w2)).sum(axis=1).mean()
    cost.name = "cost"
    g1, g2 = ti.grad(cost, [w1, w2])
    f = ti.function([x, y], cost, updates=[(w1, w1 - 0.1 * g1), (w2, w2 - 0.1 * g2)])
    return f, cost


# ---------------------------------------------------------------------------
# debugprint


def test_debugprint_pins_the_tree_of_a_small_graph() -> None:
    x = ti.tensor("x", "float32", shape=(None, 784))
    w = ti.shared(np.zeros((784, 10), np.float32), name="w")
    b = ti.shared(np.zeros(10, np.float32), name="b")
    out = ti.nn.softmax(x @ w + b).sum(axis=1)
    out.name = "p"
    text = ti.debugprint(out, file="str")
    assert text == (
        "sum{axes=(1,), keepdims=False} [id A] float32[?] 'p'\n"
        " |softmax{axes=(1,)} [id B] float32[?, ?]\n"
        "   |add [id C] float32[?, ?]\n"
        "     |matmul [id D] float32[?, ?]\n"
        "     | |x [id E] float32[?, 784]\n"
        "     | |w [id F] float32[?, ?] shared\n"
        "     |b [id G] float32[?] shared\n"
    )


def test_declared_sizes_flow_into_the_types_of_results() -> None:
    x = ti.tensor("x", "float64", shape=(None, 5))
    text = ti.debugprint(x.T, file="str")
    assert text.splitlines()[0] == "transpose{perm=(1, 0)} [id A] float64[5, ?]"


def test_a_shared_subexpression_is_printed_once_then_referenced() -> None:
    x = ti.vector("x", "float64")
    h = ti.exp(x) * 2.0
    text = ti.debugprint(h + ti.log(h), file="str")
    assert text == (
        "add [id A] float64[?]\n"
        " |mul [id B] float64[?]\n"
        " | |exp [id C] float64[?]\n"
        " | | |x [id D] float64[?]\n"
        " | |constant{2.0} [id E] float64[]\n"
        " |log [id F] float64[?]\n"
        "   |mul [id B] float64[?]\n"
    )
    # the reference line has no operands below it
    lines = text.splitlines()
    assert lines[-1].endswith("mul [id B] float64[?]") and len(lines) == 7


def test_a_list_of_outputs_shares_its_ids() -> None:
    x = ti.vector("x", "float64")
    h = ti.exp(x)
    text = ti.debugprint([h.sum(), h.max()], file="str", print_type=False)
    assert text == (
        "sum{axes=(0,), keepdims=False} [id A]\n"
        " |exp [id B]\n"
        "   |x [id C]\n"
        "max{axes=(0,), keepdims=False} [id D]\n"
        " |exp [id B]\n"
    )


def test_debugprint_of_a_function_marks_its_updates() -> None:
    x = ti.vector("x", "float64")
    acc = ti.shared(np.zeros(1), name="acc")
    f = ti.function([x], x.sum(), updates=[(acc, acc + x.sum())])
    text = ti.debugprint(f, file="str")
    assert text == (
        "sum{axes=(0,), keepdims=False} [id A] float64[]\n"
        " |x [id B] float64[?]\n"
        "acc <- add [id C] float64[?]\n"
        " |acc [id D] float64[?] shared\n"
        " |sum{axes=(0,), keepdims=False} [id E] float64[]\n"
        "   |x [id B] float64[?]\n"
    )
    # after merge the sum is computed once and the update refers to it
    opt = ti.debugprint(f, file="str", optimized=True)
    assert opt == (
        "sum{axes=(0,), keepdims=False} [id A] float64[]\n"
        " |x [id B] float64[?]\n"
        "acc <- add [id C] float64[?]\n"
        " |acc [id D] float64[?] shared\n"
        " |sum{axes=(0,), keepdims=False} [id A] float64[]\n"
    )


def _op_ids(text: str) -> set[str]:
    """Ids of the op lines (not inputs) of a debugprint."""
    return {m.group(2) for m in re.finditer(r"^[ |]*(?:\w+ <- )?([a-z_]+)\S* \[id (\w+)\]", text, re.M)
            if m.group(1) not in ("x", "w")}


def test_optimized_shows_the_graph_after_the_tir_passes() -> None:
    x = ti.vector("x", "float64")
    y = x * 1.0 + ti.exp(x) + ti.exp(x)  # x*1 is x; exp(x) written twice is one op after merge
    before = ti.debugprint(y, file="str", print_type=False)
    after = ti.debugprint(y, file="str", print_type=False, optimized=True)
    assert before.count("exp [id") == 2 and len(set(re.findall(r"exp \[id (\w+)\]", before))) == 2
    assert "mul" in before and "constant{1.0}" in before
    assert "mul" not in after and "constant" not in after
    assert len(set(re.findall(r"exp \[id (\w+)\]", after))) == 1
    assert len(_op_ids(before)) == 6 and len(_op_ids(after)) == 3
    assert after.splitlines()[-1] == " |exp [id D]"  # the second use is a reference line


def test_optimized_function_has_exactly_the_ops_of_the_tir_opt_stage() -> None:
    f, _ = _mlp()
    text = ti.debugprint(f, file="str", optimized=True)
    tree_ops = {m for m in re.findall(r"^[ |]*(?:\w+ <- )?([a-z_]+)(?:\{[^}]*\})? \[id", text, re.M)} - {"x", "y", "w1", "w2"}
    ir_ops = set(re.findall(r'"tir\.(\w+)"', f.lower().as_text("tir-opt")))
    assert tree_ops == ir_ops
    assert "grad" not in tree_ops and "wrt" not in tree_ops
    assert "w1 <- sub" in text and "w2 <- sub" in text
    assert text.splitlines()[0] == "neg [id A] float32[] 'cost'"
    assert ti.debugprint(f, file="str").count("grad [id") == 2  # the markers, before tir-autodiff


def test_multi_result_ops_show_the_result_index_and_one_id() -> None:
    x = ti.vector("x", "float64")
    head, tail = apply("split", [x], {"axis": 0, "size": 2})
    text = ti.debugprint([head, tail], file="str")
    assert text == (
        "split{axis=0, size=2}.0 [id A] float64[2]\n"
        " |x [id B] float64[?]\n"
        "split{axis=0, size=2}.1 [id A] float64[?]\n"
    )


def test_options_ids_depth_type_and_file(capsys: pytest.CaptureFixture[str]) -> None:
    x = ti.vector("x", "float64")
    y = ti.tanh(ti.exp(x))
    assert ti.debugprint(y, file="str", ids="int", print_type=False) == "tanh [id 0]\n |exp [id 1]\n   |x [id 2]\n"
    assert ti.debugprint(y, file="str", ids="") == "tanh float64[?]\n |exp float64[?]\n   |x float64[?]\n"
    assert ti.debugprint(y, file="str", depth=2, print_type=False) == "tanh [id A]\n |exp [id B]\n"
    assert ti.debugprint(y, file="str", ids="CHAR") == ti.debugprint(y, file="str")
    stream = io.StringIO()
    text = ti.debugprint(y, file=stream)
    assert stream.getvalue() == text and capsys.readouterr().out == ""
    ti.debugprint(y)
    assert capsys.readouterr().out == text


def test_ids_after_z_continue_as_theano_does() -> None:
    x = ti.vector("x", "float64")
    y = x
    for _ in range(27):
        y = ti.exp(y)
    lines = ti.debugprint(y, file="str", print_type=False).splitlines()
    assert [ln.strip(" |") for ln in lines[25:]] == ["exp [id Z]", "exp [id BA]", "x [id BB]"]


def test_a_graph_deeper_than_the_recursion_limit_prints() -> None:
    x = ti.scalar("x", "float64")
    y = x
    n = sys.getrecursionlimit() + 100
    for _ in range(n):
        y = ti.tanh(y)
    lines = ti.debugprint(y, file="str", print_type=False, ids="").splitlines()
    assert len(lines) == n + 1 and lines[-1].endswith("|x")


def test_unnamed_inputs_and_named_results() -> None:
    x = ti.vector(dtype="float64")
    h = ti.exp(x)
    h.name = "h"
    assert ti.debugprint(h, file="str") == "exp [id A] float64[?] 'h'\n |<input> [id B] float64[?]\n"


def test_debugprint_rejects_what_is_not_a_graph() -> None:
    x = ti.vector("x", "float64")
    with pytest.raises(ArgumentError, match=r"^debugprint: expected a Variable, a list of Variables or a "
                       r"tensorir.Function, found int$"):
        ti.debugprint(3)
    with pytest.raises(ArgumentError, match=r"found a list whose item 1 is a ndarray$"):
        ti.debugprint([x, np.zeros(2)])
    with pytest.raises(ArgumentError, match=r"found an empty list"):
        ti.debugprint([])
    with pytest.raises(ArgumentError, match=r"found function \(compile it first"):
        ti.debugprint(lambda v: v)
    with pytest.raises(ArgumentError, match=r"^debugprint: ids must be one of 'id', 'CHAR', 'int', '', found 'abc'$"):
        ti.debugprint(x, ids="abc")
    with pytest.raises(ArgumentError, match=r"^debugprint: depth must be -1 \(everything\) or a positive int, found 0$"):
        ti.debugprint(x, depth=0)
    with pytest.raises(ArgumentError, match=r"file must be a text stream or 'str', found int"):
        ti.debugprint(x, file=1)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# DOT


_NODE = re.compile(r'^  (\w+) \[label="((?:[^"\\]|\\.)*)", (.*)\];$')
_EDGE = re.compile(r'^  (\w+) -> (\w+)(?: \[(.*)\])?;$')


def _parse_dot(text: str) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, str]]]:
    """(nodes: name -> (label, attributes), edges) of our DOT text; every line must be one of them."""
    lines = text.splitlines()
    assert lines[0] == "digraph tensorir {" and lines[-1] == "}" and text.endswith("}\n")
    assert lines[1] == '  node [fontname="Helvetica", fontsize=10];'
    nodes: dict[str, tuple[str, str]] = {}
    edges: list[tuple[str, str, str]] = []
    for line in lines[2:-1]:
        if m := _NODE.match(line):
            assert m.group(1) not in nodes, f"node {m.group(1)} declared twice"
            nodes[m.group(1)] = (m.group(2), m.group(3))
        elif m := _EDGE.match(line):
            assert m.group(1) in nodes and m.group(2) in nodes, f"edge before its nodes: {line}"
            edges.append((m.group(1), m.group(2), m.group(3) or ""))
        else:
            raise AssertionError(f"not a node or an edge: {line!r}")
    return nodes, edges


def test_to_dot_of_a_function_is_well_formed_dot() -> None:
    f, _ = _mlp()
    nodes, edges = _parse_dot(ti.to_dot(f))
    inputs = {n: label for n, (label, _) in nodes.items() if n.startswith("i")}
    assert sorted(label.split("\\n")[0] for label in inputs.values()) == ["w1", "w2", "x", "y"]
    assert nodes["i0"][0] == "x\\nfloat32[?, 4]"
    shared = [n for n, (label, attrs) in nodes.items() if label.endswith("\\nshared")]
    assert len(shared) == 2 and all('fillcolor="#fff2ae"' in nodes[n][1] for n in shared)
    outputs = {n: label for n, (label, _) in nodes.items() if n.startswith("o")}
    assert outputs == {"o0": "output 0 'cost'\\nfloat32[]", "o1": "w1 <- update\\nfloat32[?, ?]",
                       "o2": "w2 <- update\\nfloat32[?, ?]"}
    ops = [n for n in nodes if n.startswith("n")]
    n_nodes = len(f.traced.nodes)
    assert len(ops) == n_nodes
    # every op has one edge per operand, labelled by position when it has several
    operands = sum(len(node.inputs) for node in f.traced.nodes)
    assert len(edges) == operands + 3
    into = {n: [e for e in edges if e[1] == n] for n in ops}
    for node in ops:
        labels = [e[2] for e in into[node]]
        if len(labels) > 1:
            assert labels == [f'label="{k}"' for k in range(len(labels))]
    # every output is fed by exactly one value, every input feeds something
    assert all(sum(e[1] == o for e in edges) == 1 for o in outputs)
    assert all(any(e[0] == i for e in edges) for i in inputs)


def test_to_dot_optimized_has_the_ops_of_the_optimised_tree() -> None:
    f, _ = _mlp()
    nodes, _ = _parse_dot(ti.to_dot(f, optimized=True))
    ops = {label.split("\\n")[0].split("{")[0] for n, (label, _) in nodes.items() if n.startswith("n")}
    assert ops == set(re.findall(r'"tir\.(\w+)"', f.lower().as_text("tir-opt")))


def test_to_dot_escapes_quotes_and_backslashes_in_names() -> None:
    x = ti.vector('a"b\\c', "float32")
    text = ti.to_dot(ti.exp(x))
    nodes, edges = _parse_dot(text)
    assert nodes["i0"][0] == 'a\\"b\\\\c\\nfloat32[?]'
    assert edges == [("i0", "n1", ""), ("n1", "o0", "")]


def test_to_dot_rejects_what_is_not_a_graph() -> None:
    with pytest.raises(ArgumentError, match=r"^to_dot: expected a Variable, a list of Variables or a tensorir.Function, found str$"):
        ti.to_dot("x")


# ---------------------------------------------------------------------------
# Graphviz rendering


def _fake_dot(folder: Path, body: str) -> None:
    folder.mkdir()
    exe = folder / "dot"
    exe.write_text("#!/bin/sh\n" + body)
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)


def test_graphviz_without_dot_writes_the_text_and_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    x = ti.vector("x", "float64")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    target = tmp_path / "g.png"
    with pytest.raises(UnsupportedError) as info:
        ti.graphviz(ti.exp(x), target)
    dot_path = tmp_path / "g.dot"
    assert str(info.value) == (
        f"graphviz: Graphviz's `dot` program is not on PATH, so {target} was not drawn; the DOT text was "
        f"written to {dot_path}. Install Graphviz (apt install graphviz, brew install graphviz) and call "
        f"graphviz() again, or run `dot -Tpng {dot_path} -o {target}`"
    )
    assert dot_path.read_text() == ti.to_dot(ti.exp(x)) and not target.exists()


def test_graphviz_renders_with_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a stand-in `dot` that records its arguments and writes the picture
    _fake_dot(tmp_path / "bin", 'echo "$@" > "$(dirname "$0")/args"\nprintf picture > "$4"\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    x = ti.vector("x", "float64")
    out = ti.graphviz(ti.exp(x), tmp_path / "graph", format="svg")
    assert out == str(tmp_path / "graph.svg")
    assert (tmp_path / "graph.svg").read_text() == "picture"
    assert (tmp_path / "bin" / "args").read_text().split() == ["-Tsvg", str(tmp_path / "graph.dot"), "-o", out]
    assert (tmp_path / "graph.dot").read_text() == ti.to_dot(ti.exp(x))


def test_graphviz_reports_a_failing_dot_with_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dot(tmp_path / "bin", 'echo "Format: \\"xyz\\" not recognized" >&2\nexit 1\n')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    x = ti.vector("x", "float64")
    with pytest.raises(CompileError) as info:
        ti.graphviz(x * 2.0, tmp_path / "g.xyz", format="xyz")
    dot_path = tmp_path / "g.dot"
    assert str(info.value) == (
        f'graphviz: `dot` failed (exit status 1) to render {dot_path}: Format: "xyz" not recognized\n'
        f"reproduce with `dot -Txyz {dot_path} -o {tmp_path / 'g.xyz'}`"
    )


def test_graphviz_dot_format_only_writes_the_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    x = ti.vector("x", "float64")
    assert ti.graphviz(x + 1.0, tmp_path / "g", format="dot") == str(tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text().startswith("digraph tensorir {")


def test_graphviz_rejects_bad_arguments(tmp_path: Path) -> None:
    x = ti.vector("x", "float64")
    with pytest.raises(ArgumentError, match=r"format must be a Graphviz output format such as 'png' or 'svg', found '-o x'"):
        ti.graphviz(x, tmp_path / "g.png", format="-o x")
    with pytest.raises(ArgumentError, match=r"^graphviz: path must be a file name, found int$"):
        ti.graphviz(x, 3)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"^graphviz: expected a Variable, a list of Variables or a tensorir.Function, found NoneType$"):
        ti.graphviz(None, tmp_path / "g.png")
