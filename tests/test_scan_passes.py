"""The tir passes on ``tir.scan`` and its body functions: tir-hoist (loop-invariant
values computed once before the loop), tir-dce on scans (unread stacked
outputs, unread constants and sequences, unreferenced bodies), tir-fold
leaving scans alone, tir-merge joining equal scans only, and tir-simplify /
tir-stabilize rewriting inside a step.

Every case checks op counts after the pass and that the reference
interpreter gives the same results before and after it on random inputs.
The IR-level before/after is in tests/ir/hoist.mlir, dce.mlir and
scan_passes.mlir.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Callable, Sequence

import numpy as np
import pytest
from conftest import op_counts

import tensorir as ti
from tensorir.compiler import _entry_name
from tensorir.dialects import new_context
from tensorir.dialects._bindings import ir, walk
from tensorir.dialects.interpreter import interpret
from tensorir.dialects.optable import MAX_ARITY
from tensorir.frontend.emit import emit_function
from tensorir.frontend.trace import trace
from tensorir.lowering.cpu import run_pipeline
from tensorir.passes import PASSES, PIPELINES
from tensorir.tools.check import check_tir_types

# ---------------------------------------------------------------------------
# helpers


def traced(f: Callable[..., Any], *args: np.ndarray) -> str:
    """The tir of ``f`` as traced by @jit (every scan body a private function), unoptimised."""
    fun = ti.jit(f)
    dynamic, static = fun._split(tuple(args), {})
    _, _, specs, in_tree = fun._specs(dynamic, static)
    tr = trace(fun.fun, fun.__name__, in_tree, specs, static)
    with new_context(), ir.Location.unknown():
        module = ir.Module.create()
        emit_function(module, _entry_name(tr.name), tr.inputs, tr.outputs)
        return str(module)


def _entry(module: ir.Module) -> str:
    for view in module.body.operations:
        op = view.operation
        if op.name == "func.func" and ir.StringAttr(op.attributes["sym_visibility"]).value == "public":
            return str(ir.StringAttr(op.attributes["sym_name"]).value)
    raise AssertionError("no public function")


class Result:
    """A module after some passes: its text, op counts (all, and per function) and outputs."""

    def __init__(self, text: str, passes: Sequence[str], args: Sequence[np.ndarray]):
        with new_context(), ir.Location.unknown():
            module = ir.Module.parse(text)
            if passes:
                run_pipeline(module, [(PASSES[n].run, n) for n in passes], "test")
            assert module.operation.verify()
            check_tir_types(module.operation)
            self.text = str(module)
            self.counts = op_counts(module)
            self.per_function: dict[str, Counter] = {}
            self.arity: dict[str, tuple[int, int]] = {}
            for view in module.body.operations:
                fn = view.operation
                name = str(ir.StringAttr(fn.attributes["sym_name"]).value)
                self.per_function[name] = Counter(o.name for o in walk(fn) if o.name.startswith("tir."))
                fn_type = ir.FunctionType(ir.TypeAttr(fn.attributes["function_type"]).value)
                self.arity[name] = (len(fn_type.inputs), len(fn_type.results))
            self.outputs = interpret(module, [np.asarray(a) for a in args], _entry(module))

    def scans(self) -> list[str]:
        return [line for line in self.text.splitlines() if '"tir.scan"' in line]


def same_outputs(a: Result, b: Result, rtol: float = 0.0, atol: float = 0.0) -> None:
    assert len(a.outputs) == len(b.outputs)
    for x, y in zip(a.outputs, b.outputs):
        x, y = np.asarray(x), np.asarray(y)
        assert x.shape == y.shape and x.dtype == y.dtype
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)


def check(text: str, passes: Sequence[str], args: Sequence[np.ndarray], **tol: float) -> tuple[Result, Result]:
    """(before, after) of ``passes``; asserts equal outputs."""
    before = Result(text, (), args)
    after = Result(text, passes, args)
    same_outputs(before, after, **tol)
    return before, after


def segments(n: int) -> str:
    return "array<i32: " + ", ".join(["1"] * n + ["0"] * (MAX_ARITY - n)) + ">"


def scan_text(text: str) -> str:
    """Hand-written IR: ``SEG(o, r)`` becomes the segment attributes of o operands and r results."""
    return re.sub(
        r"SEG\((\d+), (\d+)\)",
        lambda m: f"operandSegmentSizes = {segments(int(m.group(1)))}, "
        f"resultSegmentSizes = {segments(int(m.group(2)))}",
        text,
    )


FAST_RUN = tuple(PIPELINES["fast_run"])


def rnn(x, h0, W, U, b):  # noqa: ANN001, N803
    """h_t = tanh(h_{t-1} W^T + x_t U + 2 b): W.T and 2 b are the same every step."""

    def step(x_t, h):  # noqa: ANN001
        return ti.tanh(ti.dot(h, W.T) + ti.dot(x_t, U) + b * 2.0)

    hs, _ = ti.scan(step, sequences=x, outputs_info=h0)
    return hs


def rnn_args(rng: np.random.Generator, steps: int = 5) -> list[np.ndarray]:
    shapes = [(steps, 2, 3), (2, 4), (4, 4), (3, 4), (4,)]
    return [rng.standard_normal(s) for s in shapes]


# ---------------------------------------------------------------------------
# tir-hoist


def test_hoist_moves_the_transposed_weights_out_of_an_rnn_step(rng: np.random.Generator) -> None:
    args = rnn_args(rng)
    text = traced(rnn, *args)
    before, after = check(text, ["tir-hoist"], args)
    body, entry = "tir_rnn_step", "tir_rnn"
    assert before.per_function[body]["tir.transpose"] == 1 and before.per_function[entry]["tir.transpose"] == 0
    assert after.per_function[body]["tir.transpose"] == 0 and after.per_function[entry]["tir.transpose"] == 1
    # 2 * b (a mul of a constant argument and a constant) moves out too, with its constant
    assert (before.per_function[body]["tir.mul"], after.per_function[body]["tir.mul"]) == (1, 0)
    assert after.per_function[entry]["tir.mul"] == 1 and after.per_function[entry]["tir.constant"] == 1
    # the two hoisted values are new constants of the body (h, x_t, W, U, b); dce then drops W and b
    assert before.arity[body] == (5, 2) and after.arity[body] == (7, 2)
    _, done = check(text, ["tir-hoist", "tir-dce"], args)
    assert done.arity[body] == (5, 2)
    # the loop's own work is left: two matmuls, two adds and a tanh per step
    assert done.per_function[body] == Counter({"tir.matmul": 2, "tir.add": 2, "tir.tanh": 1})


def test_fast_run_hoists_and_keeps_the_numbers(rng: np.random.Generator) -> None:
    args = rnn_args(rng, steps=7)
    text = traced(rnn, *args)
    assert FAST_RUN.index("tir-hoist") > FAST_RUN.index("tir-autodiff")
    assert FAST_RUN.index("tir-hoist") > FAST_RUN.index("tir-simplify")
    assert FAST_RUN[-2:] == ("tir-merge", "tir-dce")
    _, after = check(text, FAST_RUN, args)
    assert after.per_function["tir_rnn_step"]["tir.transpose"] == 0
    assert after.counts["tir.transpose"] == 1 and after.counts["tir.scan"] == 1


@pytest.mark.parametrize("steps", [0, 1, 6])
def test_hoisting_keeps_the_result_for_any_number_of_steps(rng: np.random.Generator, steps: int) -> None:
    """Hoisted values are computed even when the loop runs no step; results are unchanged."""
    args = rnn_args(rng, steps=steps)
    before, after = check(traced(rnn, *args), ["tir-hoist", "tir-dce"], args)
    assert after.outputs[0].shape[0] == steps


def test_reverse_scan_with_two_sequences_and_closure(rng: np.random.Generator) -> None:
    def f(x, y, W, c):  # noqa: ANN001, N803
        def step(x_t, y_t, acc):  # noqa: ANN001
            scale = ti.exp(c) / ti.sum(ti.exp(c))  # invariant: exp, sum, div
            return acc * scale + ti.dot(x_t, W.T) * y_t

        out, _ = ti.scan(step, sequences=[x, y], outputs_info=ti.zeros_like(y[0]), go_backwards=True)
        return out

    args = [rng.standard_normal(s) for s in [(6, 3), (6, 4), (4, 3), (4,)]]
    before, after = check(traced(f, *args), ["tir-hoist", "tir-dce"], args, rtol=1e-12)
    body = [n for n in after.per_function if n.endswith("_step")][0]
    for name in ("tir.exp", "tir.sum", "tir.div", "tir.transpose"):
        assert before.per_function[body][name] >= 1 and after.per_function[body][name] == 0, name


def test_nested_scans_hoist_one_level_at_a_time(rng: np.random.Generator) -> None:
    def f(x, W):  # noqa: ANN001, N803
        def outer(row, h):  # noqa: ANN001
            inner, _ = ti.scan(lambda x_t, g: ti.tanh(ti.dot(g, W.T) + x_t), sequences=row, outputs_info=h)
            return inner[-1]

        hs, _ = ti.scan(outer, sequences=x, outputs_info=ti.zeros_like(x[0, 0]))
        return hs

    args = [rng.standard_normal((3, 4, 5)), rng.standard_normal((5, 5))]
    text = traced(f, *args)
    before, after = check(text, ["tir-hoist", "tir-dce"], args)
    assert before.counts["tir.scan"] == 2 and after.counts["tir.scan"] == 2
    entry = [n for n in after.per_function if n == "tir_f"][0]
    assert before.counts["tir.transpose"] == 1 and before.per_function[entry]["tir.transpose"] == 0
    assert after.counts["tir.transpose"] == 1 and after.per_function[entry]["tir.transpose"] == 1


NESTED_INVARIANT = """
func.func private @exp_step(%x: tensor<?xf64>) -> tensor<?xf64> {
  %0 = "tir.exp"(%x) : (tensor<?xf64>) -> tensor<?xf64>
  return %0 : tensor<?xf64>
}
func.func private @outer_step(%c: tensor<?xf64>, %a: tensor<?xf64>) -> (tensor<?xf64>, tensor<?xf64>) {
  %0 = "tir.scan"(%a) {body = @exp_step, length = 2 : i64, num_carry = 1 : i64, num_xs = 0 : i64, SEG(1, 1), reverse = false} : (tensor<?xf64>) -> tensor<?xf64>
  %1 = "tir.add"(%c, %0) : (tensor<?xf64>, tensor<?xf64>) -> tensor<?xf64>
  return %1, %1 : tensor<?xf64>, tensor<?xf64>
}
func.func public @main(%c0: tensor<?xf64>, %a: tensor<?xf64>) -> tensor<?x?xf64> {
  %0:2 = "tir.scan"(%c0, %a) {body = @outer_step, length = 4 : i64, num_carry = 1 : i64, num_xs = 0 : i64, SEG(2, 2), reverse = false} : (tensor<?xf64>, tensor<?xf64>) -> (tensor<?xf64>, tensor<?x?xf64>)
  return %0#1 : tensor<?x?xf64>
}
"""


def test_an_invariant_inner_loop_runs_once_before_the_outer_loop(rng: np.random.Generator) -> None:
    args = [rng.standard_normal(3), rng.standard_normal(3)]
    before, after = check(scan_text(NESTED_INVARIANT), ["tir-hoist", "tir-dce"], args)
    assert before.per_function["outer_step"]["tir.scan"] == 1 and before.per_function["main"]["tir.scan"] == 1
    assert after.per_function["outer_step"] == Counter({"tir.add": 1})
    assert after.per_function["main"]["tir.scan"] == 2
    np.testing.assert_allclose(after.outputs[0][-1], args[0] + 4 * np.exp(np.exp(args[1])))


SHARED = """
func.func private @step(%h: tensor<?xf64>, %w: tensor<?x?xf64>) -> (tensor<?xf64>, tensor<?xf64>) {
  %t = "tir.transpose"(%w) {perm = array<i64: 1, 0>} : (tensor<?x?xf64>) -> tensor<?x?xf64>
  %m = "tir.matmul"(%h, %t) : (tensor<?xf64>, tensor<?x?xf64>) -> tensor<?xf64>
  %r = "tir.tanh"(%m) : (tensor<?xf64>) -> tensor<?xf64>
  return %r, %r : tensor<?xf64>, tensor<?xf64>
}
func.func public @main(%c0: tensor<?xf64>, %w1: tensor<?x?xf64>, %w2: tensor<?x?xf64>) -> (tensor<?x?xf64>, tensor<?x?xf64>) {
  %0:2 = "tir.scan"(%c0, %w1) {body = @step, length = 3 : i64, num_carry = 1 : i64, num_xs = 0 : i64, SEG(2, 2), reverse = false} : (tensor<?xf64>, tensor<?x?xf64>) -> (tensor<?xf64>, tensor<?x?xf64>)
  %1:2 = "tir.scan"(%c0, %w2) {body = @step, length = 3 : i64, num_carry = 1 : i64, num_xs = 0 : i64, SEG(2, 2), reverse = false} : (tensor<?xf64>, tensor<?x?xf64>) -> (tensor<?xf64>, tensor<?x?xf64>)
  return %0#1, %1#1 : tensor<?x?xf64>, tensor<?x?xf64>
}
"""


def test_a_body_two_scans_name_is_cloned_before_it_changes(rng: np.random.Generator) -> None:
    args = [rng.standard_normal(4), rng.standard_normal((4, 4)), rng.standard_normal((4, 4))]
    before, after = check(scan_text(SHARED), ["tir-hoist"], args)
    assert set(after.per_function) == {"step", "step_1", "main"}
    assert after.per_function["step"]["tir.transpose"] == after.per_function["step_1"]["tir.transpose"] == 0
    assert after.per_function["main"]["tir.transpose"] == 2
    assert not np.allclose(after.outputs[0], after.outputs[1])  # each loop kept its own weights


def test_only_what_fits_in_a_scan_is_hoisted(rng: np.random.Generator) -> None:
    """A scan takes at most MAX_ARITY operands: with room for one more, one value moves."""
    consts = MAX_ARITY - 2  # carry + consts = MAX_ARITY - 1
    args_decl = ", ".join(f"%w{k}: tensor<?xf64>" for k in range(consts))
    ops = "\n".join(
        f'  %e{k} = "tir.exp"(%w{k}) : (tensor<?xf64>) -> tensor<?xf64>\n'
        f'  %s{k} = "tir.add"(%s{k - 1}, %e{k}) : (tensor<?xf64>, tensor<?xf64>) -> tensor<?xf64>'
        for k in range(consts)
    )
    ops = ops.replace("%s-1", "%h")
    types = ", ".join(["tensor<?xf64>"] * (consts + 1))
    text = scan_text(f"""
func.func private @many(%h: tensor<?xf64>, {args_decl}) -> tensor<?xf64> {{
{ops}
  return %s{consts - 1} : tensor<?xf64>
}}
func.func public @main(%h0: tensor<?xf64>, {args_decl}) -> tensor<?xf64> {{
  %0 = "tir.scan"(%h0, {", ".join(f"%w{k}" for k in range(consts))}) {{body = @many, length = 2 : i64, num_carry = 1 : i64, num_xs = 0 : i64, SEG({consts + 1}, 1), reverse = false}} : ({types}) -> tensor<?xf64>
  return %0 : tensor<?xf64>
}}
""")
    args = [rng.standard_normal(2) for _ in range(consts + 1)]
    before, after = check(text, ["tir-hoist"], args)
    assert before.per_function["many"]["tir.exp"] == consts
    assert after.per_function["many"]["tir.exp"] == consts - 1 and after.per_function["main"]["tir.exp"] == 1
    # dce drops the constant the hoisted exp read, which frees a slot for the next one
    _, twice = check(text, ["tir-hoist", "tir-dce", "tir-hoist"], args)
    assert twice.per_function["many"]["tir.exp"] == consts - 2 and twice.per_function["main"]["tir.exp"] == 2


# ---------------------------------------------------------------------------
# tir-dce on scans


TRIM = """
func.func private @step(%c: tensor<?xf64>, %x1: tensor<?xf64>, %x2: tensor<?xf64>, %w: tensor<?xf64>, %u: tensor<?xf64>) -> (tensor<?xf64>, tensor<?xf64>, tensor<?xf64>) {
  %0 = "tir.add"(%c, %x2) : (tensor<?xf64>, tensor<?xf64>) -> tensor<?xf64>
  %1 = "tir.mul"(%0, %w) : (tensor<?xf64>, tensor<?xf64>) -> tensor<?xf64>
  %2 = "tir.exp"(%1) : (tensor<?xf64>) -> tensor<?xf64>
  return %1, %0, %2 : tensor<?xf64>, tensor<?xf64>, tensor<?xf64>
}
func.func public @main(%c0: tensor<?xf64>, %xs1: tensor<?x?xf64>, %xs2: tensor<?x?xf64>, %w: tensor<?xf64>, %u: tensor<?xf64>) -> (tensor<?xf64>, tensor<?x?xf64>) {
  %0:3 = "tir.scan"(%c0, %xs1, %xs2, %w, %u) {body = @step, length = -1 : i64, num_carry = 1 : i64, num_xs = 2 : i64, SEG(5, 3), reverse = true} : (tensor<?xf64>, tensor<?x?xf64>, tensor<?x?xf64>, tensor<?xf64>, tensor<?xf64>) -> (tensor<?xf64>, tensor<?x?xf64>, tensor<?x?xf64>)
  return %0#0, %0#1 : tensor<?xf64>, tensor<?x?xf64>
}
"""


def test_dce_drops_an_unread_stack_constant_and_sequence(rng: np.random.Generator) -> None:
    args = [rng.standard_normal(3), rng.standard_normal((5, 3)), rng.standard_normal((5, 3)),
            rng.standard_normal(3), rng.standard_normal(3)]
    before, after = check(scan_text(TRIM), ["tir-dce"], args)
    # (c, x1, x2, w, u) -> (c', y0, y1) becomes (c, x2, w) -> (c', y0): x1, u and exp's stack go
    assert before.arity["step"] == (5, 3) and after.arity["step"] == (3, 2)
    assert after.per_function["step"] == Counter({"tir.add": 1, "tir.mul": 1})
    assert "num_xs = 1 : i64" in after.scans()[0] and "reverse = true" in after.scans()[0]


def test_dce_drops_an_unread_output_and_keeps_the_carries(rng: np.random.Generator) -> None:
    def f(x):  # noqa: ANN001
        def step(x_t, s, p):  # noqa: ANN001
            return s + x_t, p * x_t, ti.exp(x_t)

        (sums, prods, exps), _ = ti.scan(step, sequences=x, outputs_info=[x[0] * 0.0, x[0] * 0.0 + 1.0, None])
        return sums

    args = [rng.standard_normal((4, 3))]
    before, after = check(traced(f, *args), ["tir-dce"], args)
    body = [n for n in after.per_function if n.endswith("_step")][0]
    # the product is a carry: it stays, its stack goes; exp's stack goes with the exp
    assert before.per_function[body]["tir.exp"] == 1 and after.per_function[body]["tir.exp"] == 0
    assert after.per_function[body]["tir.mul"] == 1
    assert before.arity[body] == (3, 5) and after.arity[body] == (3, 3)  # two carries + one stack
    np.testing.assert_allclose(after.outputs[0], np.cumsum(args[0], axis=0))


DEAD_LOOP = """
func.func private @inner(%c: tensor<?xf64>) -> tensor<?xf64> {
  %0 = "tir.exp"(%c) : (tensor<?xf64>) -> tensor<?xf64>
  return %0 : tensor<?xf64>
}
func.func private @step(%c: tensor<?xf64>, %x: tensor<?xf64>) -> (tensor<?xf64>, tensor<?xf64>) {
  %0 = "tir.scan"(%c) {body = @inner, length = 2 : i64, num_carry = 1 : i64, num_xs = 0 : i64, SEG(1, 1), reverse = false} : (tensor<?xf64>) -> tensor<?xf64>
  %1 = "tir.add"(%0, %x) : (tensor<?xf64>, tensor<?xf64>) -> tensor<?xf64>
  return %1, %1 : tensor<?xf64>, tensor<?xf64>
}
func.func public @main(%c0: tensor<?xf64>, %xs: tensor<?x?xf64>) -> tensor<?xf64> {
  %0:2 = "tir.scan"(%c0, %xs) {body = @step, length = -1 : i64, num_carry = 1 : i64, num_xs = 1 : i64, SEG(2, 2), reverse = false} : (tensor<?xf64>, tensor<?x?xf64>) -> (tensor<?xf64>, tensor<?x?xf64>)
  %1 = "tir.neg"(%c0) : (tensor<?xf64>) -> tensor<?xf64>
  return %1 : tensor<?xf64>
}
"""


def test_dce_erases_a_dead_loop_and_the_bodies_only_it_named(rng: np.random.Generator) -> None:
    args = [rng.standard_normal(3), rng.standard_normal((4, 3))]
    before, after = check(scan_text(DEAD_LOOP), ["tir-dce"], args)
    assert before.counts["tir.scan"] == 2 and after.counts["tir.scan"] == 0
    assert list(after.per_function) == ["main"] and after.counts == Counter({"tir.neg": 1})


COUNTED = """
func.func private @step(%c: tensor<?xf64>, %w: tensor<?x?xf64>, %u: tensor<?xf64>) -> (tensor<?xf64>, tensor<?xf64>) {
  %t = "tir.transpose"(%w) {perm = array<i64: 1, 0>} : (tensor<?x?xf64>) -> tensor<?x?xf64>
  %m = "tir.matmul"(%c, %t) : (tensor<?xf64>, tensor<?x?xf64>) -> tensor<?xf64>
  %r = "tir.sin"(%m) : (tensor<?xf64>) -> tensor<?xf64>
  return %r, %r : tensor<?xf64>, tensor<?xf64>
}
func.func public @main(%c0: tensor<?xf64>, %w: tensor<?x?xf64>, %u: tensor<?xf64>) -> tensor<?xf64> {
  %n = "tir.dim"(%w) {axis = 0 : i64} : (tensor<?x?xf64>) -> index
  %0:2 = "tir.scan"(%n, %c0, %w, %u) {body = @step, length = -1 : i64, num_carry = 1 : i64, num_xs = 0 : i64, SEG(4, 2), reverse = false} : (index, tensor<?xf64>, tensor<?x?xf64>, tensor<?xf64>) -> (tensor<?xf64>, tensor<?x?xf64>)
  return %0#0 : tensor<?xf64>
}
"""


def test_a_scan_counting_its_steps_hoists_and_trims_after_its_step_count(rng: np.random.Generator) -> None:
    """The step count is operand 0 (an index): the constants come after it, and it stays."""
    args = [rng.standard_normal(3), rng.standard_normal((3, 3)), rng.standard_normal(3)]
    before, after = check(scan_text(COUNTED), ["tir-hoist", "tir-dce"], args)
    assert before.per_function["step"]["tir.transpose"] == 1 and after.per_function["step"]["tir.transpose"] == 0
    # (c, w, u) -> (c', y) becomes (c, w.T) -> c': u, w and the unread stack go
    assert after.arity["step"] == (2, 1)
    assert '"tir.scan"(%0, %arg0, %1)' in after.scans()[0]
    h = args[0]
    for _ in range(3):
        h = np.sin(h @ args[1].T)
    np.testing.assert_allclose(after.outputs[0], h, rtol=1e-13)


# ---------------------------------------------------------------------------
# tir-fold, tir-merge, tir-simplify, tir-stabilize


CONSTANT_LOOP = """
func.func private @step(%c: tensor<3xf64>) -> (tensor<3xf64>, tensor<3xf64>) {
  %a = "tir.constant"() {value = dense<2.0> : tensor<f64>} : () -> tensor<f64>
  %b = "tir.constant"() {value = dense<1.5> : tensor<f64>} : () -> tensor<f64>
  %ab = "tir.mul"(%a, %b) : (tensor<f64>, tensor<f64>) -> tensor<f64>
  %r = "tir.mul"(%c, %ab) : (tensor<3xf64>, tensor<f64>) -> tensor<3xf64>
  return %r, %r : tensor<3xf64>, tensor<3xf64>
}
func.func public @main() -> (tensor<3xf64>, tensor<4x3xf64>) {
  %init = "tir.constant"() {value = dense<[1.0, 2.0, 3.0]> : tensor<3xf64>} : () -> tensor<3xf64>
  %0:2 = "tir.scan"(%init) {body = @step, length = 4 : i64, num_carry = 1 : i64, num_xs = 0 : i64, SEG(1, 2), reverse = false} : (tensor<3xf64>) -> (tensor<3xf64>, tensor<4x3xf64>)
  return %0#0, %0#1 : tensor<3xf64>, tensor<4x3xf64>
}
"""


def test_fold_leaves_a_scan_of_constants_and_folds_inside_its_step() -> None:
    before, after = check(scan_text(CONSTANT_LOOP), ["tir-fold", "tir-dce"], [])
    assert after.counts["tir.scan"] == 1
    assert (before.per_function["step"]["tir.mul"], after.per_function["step"]["tir.mul"]) == (2, 1)
    assert after.per_function["step"]["tir.constant"] == 1
    np.testing.assert_allclose(after.outputs[0], np.array([1.0, 2.0, 3.0]) * 3.0**4)


def test_merge_joins_the_same_loop_traced_twice_and_nothing_else(rng: np.random.Generator) -> None:
    def f(x, y):  # noqa: ANN001
        def cumsum(v):  # noqa: ANN001
            return ti.scan(lambda v_t, s: s + v_t, sequences=v, outputs_info=ti.zeros_like(v[0]))[0]

        def cumprod(v):  # noqa: ANN001
            return ti.scan(lambda v_t, s: s * v_t, sequences=v, outputs_info=ti.ones_like(v[0]))[0]

        return cumsum(x) + cumsum(x), cumsum(y), cumprod(x)

    args = [rng.standard_normal((5, 3)), rng.standard_normal((5, 3))]
    text = traced(f, *args)
    before, after = check(text, ["tir-merge", "tir-dce"], args)
    assert before.counts["tir.scan"] == 4 and len(before.per_function) == 5
    # cumsum(x) twice is one loop; cumsum(y) reads other operands and cumprod has another body
    assert after.counts["tir.scan"] == 3 and len(after.per_function) == 4
    np.testing.assert_allclose(after.outputs[0], 2 * np.cumsum(args[0], axis=0))
    np.testing.assert_allclose(after.outputs[2], np.cumprod(args[0], axis=0))


def test_simplify_and_stabilize_rewrite_inside_a_step(rng: np.random.Generator) -> None:
    def f(x):  # noqa: ANN001
        def step(x_t, s):  # noqa: ANN001
            return s * 1.0 + ti.log(1.0 + x_t)

        return ti.scan(step, sequences=x, outputs_info=ti.zeros_like(x[0]))[0]

    x = rng.uniform(0.0, 1.0, (6, 3))
    x[0, 0] = 1e-12  # log(1 + x) rounds this away, log1p keeps it
    text = traced(f, x)
    before, simplified = check(text, ["tir-simplify"], [x])
    body = [n for n in before.per_function if n.endswith("_step")][0]
    assert before.per_function[body]["tir.mul"] == 1 and simplified.per_function[body]["tir.mul"] == 0
    stable = Result(text, ["tir-stabilize"], [x])
    assert before.per_function[body]["tir.log"] == 1
    assert stable.per_function[body]["tir.log"] == 0 and stable.per_function[body]["tir.log1p"] == 1
    # log(1 + 1e-12) is off by 9e-5 relative (1 + 1e-12 rounds); log1p is exact
    assert abs(before.outputs[0][0, 0] / np.log1p(1e-12) - 1) > 8e-5
    assert stable.outputs[0][0, 0] == np.log1p(1e-12)
    np.testing.assert_allclose(stable.outputs[0][1:], before.outputs[0][1:], rtol=1e-14)
    np.testing.assert_allclose(stable.outputs[0], np.cumsum(np.log1p(x), axis=0), rtol=1e-14)


@pytest.mark.parametrize("name", sorted(PASSES))
def test_every_pass_runs_on_a_traced_scan(rng: np.random.Generator, name: str) -> None:
    args = rnn_args(rng)
    _, after = check(traced(rnn, *args), [name], args)
    assert after.counts["tir.scan"] == 1


# ---------------------------------------------------------------------------
# compiled


def _np_rnn_loss(x, h0, W, U, b):  # noqa: ANN001, N803
    h, total = h0, 0.0
    for t in range(x.shape[0]):
        h = np.tanh(h @ W.T + x[t] @ U + 2.0 * b)
        total += (h**2).sum()
    return total


def test_a_hoisted_rnn_compiles_and_its_gradient_matches_finite_differences(rng: np.random.Generator) -> None:
    def loss(x, h0, W, U, b):  # noqa: ANN001, N803
        return ti.sum(rnn(x, h0, W, U, b) ** 2)

    grad = ti.jit(ti.grad(loss, argnums=(1, 2, 3, 4)), pipeline="fast_run")
    for steps in (1, 6):  # one compile serves both lengths
        args = rnn_args(rng, steps=steps)
        assert ti.jit(loss, pipeline="fast_run")(*args) == pytest.approx(_np_rnn_loss(*args), rel=1e-12)
        for k, g in zip((1, 2, 3, 4), grad(*args)):
            eps, num = 1e-6, np.zeros_like(args[k])
            for i in np.ndindex(args[k].shape):
                plus = [a.copy() for a in args]
                minus = [a.copy() for a in args]
                plus[k][i] += eps
                minus[k][i] -= eps
                num[i] = (_np_rnn_loss(*plus) - _np_rnn_loss(*minus)) / (2 * eps)
            np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-7)
    # the optimised tir: W.T is transposed once, before the loops, and nothing is left to hoist
    text = grad.lower(*rnn_args(rng)).as_text("tir-opt")
    again = Result(text, ["tir-hoist"], rnn_args(rng))
    assert again.text == Result(text, (), rnn_args(rng)).text
    entry = [line for line in text.split("func.func public")[1].splitlines() if '"tir.transpose"(%arg2)' in line]
    assert len(entry) == 1
