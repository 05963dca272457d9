"""tir-simplify: every rule of the table gets an IR before/after test and a
numeric test (the reference interpreter before and after the pass on
hypothesis inputs with inf, -inf, NaN, -0.0 and +0.0: the same bits unless
the rule is documented as inexact); the rewrite driver's trace and errors."""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest
from conftest import reference, tolerance
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tensorir as ti
from tensorir.dialects import new_context
from tensorir.dialects._bindings import ir, walk
from tensorir.dialects.interpreter import interpret
from tensorir.errors import IRError
from tensorir.lowering.cpu import run_pipeline
from tensorir.passes import PASSES, PIPELINES
from tensorir.passes.autodiff.builder import E
from tensorir.passes.dce import tir_dce
from tensorir.passes.rewrite import Fired, Rule, RuleSet, apply_rules, recording
from tensorir.passes.simplify import SIMPLIFY, tir_simplify

# ---------------------------------------------------------------------------
# Comparing results


def assert_same_bits(before: np.ndarray, after: np.ndarray) -> None:
    """Equal bit for bit, signed zeros included; any NaN equals any NaN."""
    assert before.dtype == after.dtype and before.shape == after.shape, (before, after)
    if before.dtype.kind != "f":
        np.testing.assert_array_equal(before, after)
        return
    np.testing.assert_array_equal(np.isnan(before), np.isnan(after))
    keep = ~np.isnan(before)
    bits = np.uint32 if before.dtype == np.float32 else np.uint64
    np.testing.assert_array_equal(before[keep].view(bits), after[keep].view(bits), err_msg=f"{before} vs {after}")


def close(rtol: float) -> Callable[[np.ndarray, np.ndarray, list[np.ndarray]], None]:
    """Inexact rules (sums and means of broadcasts): close, same NaNs and infs; -0.0 may become +0.0."""

    def check(before: np.ndarray, after: np.ndarray, args: list[np.ndarray]) -> None:
        assert before.dtype == after.dtype and before.shape == after.shape
        np.testing.assert_allclose(after, before, rtol=rtol, atol=0, equal_nan=True)

    return check


def log_exp_check(before: np.ndarray, after: np.ndarray, args: list[np.ndarray]) -> None:
    """log(exp x) -> x: the result is x exactly, and close to the original where exp(x) is normal."""
    (x,) = args
    assert_same_bits(x, after)
    info = np.finfo(x.dtype)
    normal = (x > np.log(info.tiny)) & (x < np.log(info.max))
    eps = float(info.eps)
    np.testing.assert_allclose(before[normal], after[normal], rtol=2 * eps, atol=2 * eps)


# ---------------------------------------------------------------------------
# The cases: per rule, a traced function (or tir text) and the op counts after


@dataclass
class Case:
    rule: str
    fn: Callable[..., Any] | str  # traced with ti.jit, or tir IR text
    args: tuple[tuple[tuple[int, ...], str], ...]  # example (shape, dtype) per argument
    after: dict[str, int]  # tir op counts after the pass (short names)
    fires: bool = True
    text: str | None = None  # a piece of the simplified IR
    check: Callable[[np.ndarray, np.ndarray, list[np.ndarray]], None] | None = None  # inexact rules
    moderate: bool = False  # finite inputs within +-2**100 (plus inf, NaN) for inexact rules
    id: str = field(default="")


F = ((3, 2), "float32")
D = ((3, 2), "float64")
I = ((3, 2), "int32")
L = ((3, 2), "int64")
B = ((3, 2), "bool")
V = ((3,), "float32")
COL = ((3, 1), "float32")
W = ((2, 3), "float32")  # V broadcasts to it


def _ir(body: str, arg: str = "tensor<?x?xf32>", result: str = "tensor<?x?xf32>") -> str:
    return f"""module {{
  func.func @f(%x: {arg}) -> {result} {{
{body}
  }}
}}"""


CASES: list[Case] = [
    # units and zeros
    Case("mul_one", lambda x: x * 1.0, (F,), {"mul": 0, "constant": 0}),
    Case("mul_one", lambda x: x * 1, (I,), {"mul": 0}),
    Case("mul_one", lambda x, y: x * ti.broadcast_to(1.0, y.shape), (V, W), {"mul": 0, "broadcast_to": 1}),
    Case("div_one", lambda x: x / 1.0, (D,), {"div": 0}),
    Case("add_zero", lambda x: x + 0, (L,), {"add": 0}),
    Case("add_zero", lambda x: x + (-0.0), (F,), {"add": 0}),
    Case("add_zero", lambda x: x + 0.0, (F,), {"add": 1}, fires=False),
    Case("sub_zero", lambda x: x - 0.0, (F,), {"sub": 0}),
    Case("sub_zero", lambda x: x - 0, (I,), {"sub": 0}),
    Case("sub_zero", lambda x: x - (-0.0), (F,), {"sub": 1}, fires=False),
    Case("mul_zero", lambda x: x * 0, (I,), {"mul": 0, "full": 1, "constant": 0}),
    Case("mul_zero", lambda x: x * 0.0, (F,), {"mul": 1}, fires=False),
    Case("sub_self", lambda x: x - x, (L,), {"sub": 0, "full": 1}),
    Case("sub_self", lambda x: x - x, (D,), {"sub": 1}, fires=False),
    Case("div_power_of_two", lambda x: x / 4.0, (F,), {"div": 0, "mul": 1}),
    Case("div_power_of_two", lambda x: x / -0.125, (D,), {"div": 0, "mul": 1}),
    Case("div_power_of_two", lambda x: x / 3.0, (F,), {"div": 1}, fires=False),
    Case("mul_nonan_nonzero", lambda x: ti.multiply_no_nan(3.0, x), (F,), {"mul_nonan": 0, "mul": 1}),
    Case("mul_nonan_nonzero", lambda x: ti.multiply_no_nan(0.0, x), (F,), {"mul_nonan": 1}, fires=False),
    Case("mul_nonan_one", lambda x: ti.multiply_no_nan(x, 1.0), (F,), {"mul_nonan": 0, "add": 1}),
    # negation
    Case("neg_neg", lambda x: -(-x), (F,), {"neg": 0}),
    Case("neg_neg", lambda x: -(-x), (I,), {"neg": 0}),
    Case("mul_minus_one", lambda x: x * -1.0, (F,), {"mul": 0, "neg": 1}),
    Case("mul_minus_one", lambda x: -1 * x, (I,), {"mul": 0, "neg": 1}),
    Case("zero_sub", lambda x: -0.0 - x, (F,), {"sub": 0, "neg": 1}),
    Case("zero_sub", lambda x: 0 - x, (L,), {"sub": 0, "neg": 1}),
    Case("zero_sub", lambda x: 0.0 - x, (F,), {"sub": 1, "neg": 0}, fires=False),
    Case("sub_neg", lambda x, y: x - (-y), (F, F), {"sub": 0, "neg": 0, "add": 1}),
    Case("add_neg", lambda x, y: x + (-y), (F, F), {"add": 0, "neg": 0, "sub": 1}, text='"tir.sub"(%arg0, %arg1)'),
    Case("neg_add", lambda x, y: (-x) + y, (F, F), {"add": 0, "neg": 0, "sub": 1}, text='"tir.sub"(%arg1, %arg0)'),
    Case("neg_mul_neg", lambda x, y: (-x) * (-y), (F, F), {"neg": 0, "mul": 1}),
    Case("neg_div_neg", lambda x, y: (-x) / (-y), (D, D), {"neg": 0, "div": 1}),
    Case("abs_abs", lambda x: ti.abs(ti.abs(x)), (F,), {"abs": 1}),
    Case("abs_neg", lambda x: ti.abs(-x), (I,), {"abs": 1, "neg": 0}),
    # constants to the right
    Case("constant_right", lambda x: 2.0 * x, (F,), {"mul": 1}, text='"tir.mul"(%arg0, %'),
    Case("constant_right", lambda x: ti.less(1.0, x), (F,), {"lt": 0, "gt": 1}, text='"tir.gt"(%arg0, %'),
    Case("constant_right", lambda x: ti.maximum(0.0, x), (F,), {"maximum": 1}, fires=False,
         text='"tir.maximum"(%0, %arg0)'),
    # powers
    Case("pow_zero", lambda x: x ** 0.0, (F,), {"pow": 0, "full": 1}),
    Case("pow_zero", lambda x: x ** 0, (I,), {"pow": 0, "full": 1}),
    Case("pow_one", lambda x: x ** 1.0, (F,), {"pow": 0}),
    Case("pow_two", lambda x: x ** 2.0, (F,), {"pow": 0, "mul": 1}, text='"tir.mul"(%arg0, %arg0)'),
    Case("pow_two", lambda x: x ** 2, (L,), {"pow": 0, "mul": 1}),
    Case("pow_minus_one", lambda x: x ** -1.0, (D,), {"pow": 0, "div": 1}),
    Case("pow_minus_one", lambda x: x ** -1, (I,), {"pow": 1}, fires=False),
    Case("pow_half", lambda x: x ** 0.5, (F,), {"pow": 0, "sqrt": 1}),
    # NumPy takes sqrt for a scalar exponent only: (-0.0) ** [[0.5]] is +0.0
    Case("pow_half", lambda x: x ** ti.broadcast_to(ti.astype(0.5, "float32"), (1, 1)), (F,), {"pow": 1},
         fires=False),
    # logarithms, selects, casts
    Case("log_exp", lambda x: ti.log(ti.exp(x)), (F,), {"log": 0, "exp": 0}, check=log_exp_check),
    Case("select_same", lambda c, x: ti.where(c, x, x), (B, F), {"select": 0}),
    Case("select_not", lambda c, x, y: ti.where(ti.logical_not(c), x, y), (B, F, F), {"not": 0, "select": 1},
         text='"tir.select"(%arg0, %arg2, %arg1)'),
    Case("select_constant", lambda x, y: ti.where(True, x, y), (F, F), {"select": 0}),
    Case("select_constant", lambda x, y: ti.where(False, x, y), (I, I), {"select": 0}),
    Case("cast_same", _ir('    %0 = "tir.cast"(%x) {dtype = f32} : (tensor<?x?xf32>) -> tensor<?x?xf32>\n'
                          "    return %0 : tensor<?x?xf32>"), (F,), {"cast": 0}),
    Case("cast_lossless_cast", lambda x: ti.astype(ti.astype(x, "float64"), "float32"), (F,), {"cast": 0}),
    Case("cast_lossless_cast", lambda x: ti.astype(ti.astype(x, "int64"), "float32"), (I,), {"cast": 1}),
    Case("cast_lossless_cast", lambda x: ti.astype(ti.astype(x, "float32"), "float64"), (D,), {"cast": 2},
         fires=False),
    # layout
    Case("transpose_transpose", lambda x: ti.transpose(ti.transpose(x, (1, 2, 0)), (2, 0, 1)),
         (((2, 3, 4), "float32"),), {"transpose": 0}),
    Case("transpose_transpose", lambda x: ti.transpose(ti.transpose(x, (1, 0, 2)), (0, 2, 1)),
         (((2, 3, 4), "float32"),), {"transpose": 1}, text="perm = array<i64: 1, 2, 0>"),
    Case("transpose_identity", _ir('    %0 = "tir.transpose"(%x) {perm = array<i64: 0, 1>} : '
                                   "(tensor<?x?xf32>) -> tensor<?x?xf32>\n    return %0 : tensor<?x?xf32>"),
         (F,), {"transpose": 0}),
    Case("reshape_of_view", lambda x: ti.reshape(ti.reshape(x, (6,)), (2, 3)), (F,), {"reshape": 1}),
    Case("reshape_of_view", lambda x: ti.reshape(ti.expand_dims(x, 0), (-1,)), (F,),
         {"reshape": 1, "expand_dims": 0}),
    Case("reshape_noop", _ir('    %d0 = "tir.dim"(%x) {axis = 0 : i64} : (tensor<?x?xf32>) -> index\n'
                             '    %0 = "tir.reshape"(%x, %d0) {shape = array<i64: -1, -9223372036854775808>} : '
                             "(tensor<?x?xf32>, index) -> tensor<?x?xf32>\n    return %0 : tensor<?x?xf32>"),
         (F,), {"reshape": 0, "dim": 0}),
    Case("reshape_noop", lambda x, y: ti.reshape(x, y.shape), (F, F), {"reshape": 1}, fires=False),
    Case("squeeze_expand_dims", lambda x: ti.squeeze(ti.expand_dims(x, 1), 1), (F,), {"squeeze": 0, "expand_dims": 0}),
    Case("expand_dims_squeeze", lambda x: ti.expand_dims(ti.squeeze(x, 1), 1), (COL,),
         {"squeeze": 0, "expand_dims": 0}),
    Case("expand_dims_expand_dims", lambda x: ti.expand_dims(ti.expand_dims(x, 0), 2), (F,), {"expand_dims": 1},
         text="axes = array<i64: 0, 2>"),
    Case("squeeze_squeeze", lambda x: ti.squeeze(ti.squeeze(x, 0), 1), (((1, 3, 1), "float64"),), {"squeeze": 1},
         text="axes = array<i64: 0, 2>"),
    Case("broadcast_noop", _ir('    %d0 = "tir.dim"(%x) {axis = 0 : i64} : (tensor<?xf32>) -> index\n'
                               '    %0 = "tir.broadcast_to"(%x, %d0) {shape = array<i64: -1>} : '
                               "(tensor<?xf32>, index) -> tensor<?xf32>\n    return %0 : tensor<?xf32>",
                               "tensor<?xf32>", "tensor<?xf32>"), (V,), {"broadcast_to": 0, "dim": 0}),
    Case("broadcast_broadcast", lambda x: ti.broadcast_to(ti.broadcast_to(x, (2, 3)), (4, 2, 3)), (V,),
         {"broadcast_to": 1}),
    Case("elementwise_absorbs_broadcast", lambda x, y: ti.broadcast_to(x, y.shape) * y, (V, W),
         {"broadcast_to": 0, "mul": 1}),
    Case("elementwise_absorbs_broadcast", lambda c, x, y: ti.where(c, ti.broadcast_to(x, y.shape), y),
         (((2, 3), "bool"), V, W),
         {"broadcast_to": 0, "select": 1}),
    Case("elementwise_hoists_broadcast", lambda x: ti.exp(ti.broadcast_to(x, (4, 3))), (V,),
         {"broadcast_to": 1, "exp": 1}, text='"tir.exp"(%arg0)'),
    Case("elementwise_hoists_broadcast", lambda x: ti.broadcast_to(x, (4, 3)) / 3.0, (V,),
         {"broadcast_to": 1, "div": 1}, text='"tir.div"(%arg0, %'),
    # reductions
    Case("reduce_unit_axes", lambda x: ti.sum(x, axis=1), (COL,), {"sum": 0, "add": 1}),
    Case("reduce_unit_axes", lambda x: ti.max(x, axis=1, keepdims=True), (COL,), {"max": 0}),
    Case("reduce_unit_axes", lambda x: ti.mean(x, axis=()), (F,), {"mean": 0, "add": 1}),
    Case("reduce_unit_axes", lambda x: ti.prod(x, axis=1), (((3, 1), "int64"),), {"prod": 0, "squeeze": 1}),
    # the broadcast left gives the result its static type (3,): x is (?,)
    Case("sum_of_broadcast", lambda x: ti.sum(ti.broadcast_to(x, (4, 3)), axis=0), (V,),
         {"sum": 0, "broadcast_to": 1, "mul": 1, "add": 1}, check=close(1e-6), moderate=True,
         text='"tir.broadcast_to"(%3) {shape = array<i64: 3>} : (tensor<?xf32>) -> tensor<3xf32>'),
    Case("sum_of_broadcast", lambda x, y: ti.sum(ti.broadcast_to(x, y.shape), axis=0), (V, ((5, 3), "float32")),
         {"sum": 0, "broadcast_to": 0, "mul_nonan": 1, "size": 1}, check=close(1e-6), moderate=True),
    Case("sum_of_broadcast", lambda x, y: ti.sum(ti.broadcast_to(x, y.shape), axis=0, keepdims=True),
         (((3,), "int64"), ((5, 3), "int64")), {"sum": 0, "mul": 1}),
    Case("sum_of_broadcast", lambda x: ti.sum(ti.broadcast_to(x, (2, 3, 4)), axis=(0, 2)), (COL,),
         {"sum": 0, "mul": 1}, check=close(1e-6), moderate=True),
    Case("mean_of_broadcast", lambda x: ti.mean(ti.broadcast_to(x, (4, 3)), axis=0), (V,),
         {"mean": 0}, check=close(1e-6), moderate=True),
    Case("mean_of_broadcast", lambda x, y: ti.mean(ti.broadcast_to(x, y.shape), axis=(0,)), (V, W),
         {"mean": 0, "broadcast_to": 0, "size": 1}, check=close(1e-6), moderate=True),
    Case("extreme_of_broadcast", lambda x: ti.max(ti.broadcast_to(x, (4, 3)), axis=0), (V,), {"max": 0}),
    Case("extreme_of_broadcast", lambda x, y: ti.min(ti.broadcast_to(x, y.shape), axis=1), (COL, F),
         {"min": 0, "broadcast_to": 0, "squeeze": 1}),
]

for _i, _c in enumerate(CASES):
    _c.id = f"{_c.rule}-{_i}"


def _examples(case: Case) -> list[np.ndarray]:
    return [np.ones(shape, dtype) for shape, dtype in case.args]


@functools.lru_cache(maxsize=None)
def _run(index: int) -> tuple[ir.Context, ir.Module, ir.Module, list[Fired], str]:
    """(context, module before, module after tir-simplify, rewrites, printed result) of a case."""
    case = CASES[index]
    text = case.fn if isinstance(case.fn, str) else ti.jit(case.fn).lower(*_examples(case)).as_text("tir")
    ctx = new_context()
    with ctx, ir.Location.unknown():
        before = ir.Module.parse(text)
        after = ir.Module.parse(text)
        with recording() as fired:
            run_pipeline(after, [(tir_simplify, "tir-simplify")], "tir-simplify")
        assert after.operation.verify()
        return ctx, before, after, fired, str(after)


def op_counts(module: ir.Module) -> Counter:
    return Counter(op.name[4:] for op in walk(module.operation) if op.name.startswith("tir."))


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c.id for c in CASES])
def test_rule_ir_before_after(index: int) -> None:
    case = CASES[index]
    _, _, after, fired, printed = _run(index)
    counts = op_counts(after)
    assert {k: counts[k] for k in case.after} == case.after, printed
    names = {f.rule for f in fired}
    if case.fires:
        assert case.rule in names, f"{case.rule} did not fire:\n{printed}"
    else:
        assert case.rule not in names, printed
    if case.text is not None:
        assert case.text in printed, printed


SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 2.0, -3.0, 0.5, 1e-40, 1e30, -1e30]


def _elements(dtype: str, moderate: bool) -> st.SearchStrategy:
    if dtype == "bool":
        return st.booleans()
    if dtype.startswith("int"):
        info = np.iinfo(dtype)
        return st.one_of(st.sampled_from([0, 1, -1, int(info.min), int(info.max)]),
                         st.integers(int(info.min), int(info.max)))
    width = 32 if dtype == "float32" else 64
    bound = {"min_value": -(2.0**100), "max_value": 2.0**100} if moderate else {}
    finite_or_not = st.floats(width=width, allow_nan=not moderate, allow_infinity=not moderate, **bound)
    return st.one_of(st.sampled_from(SPECIAL), finite_or_not)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c.id for c in CASES])
@given(data=st.data())
def test_rule_numerics(index: int, data: st.DataObject) -> None:
    case = CASES[index]
    ctx, before, after, _, _ = _run(index)
    args = [
        data.draw(hnp.arrays(np.dtype(dtype), shape, elements=_elements(dtype, case.moderate)), label=f"arg{k}")
        for k, (shape, dtype) in enumerate(case.args)
    ]
    with ctx, ir.Location.unknown(), np.errstate(all="ignore"):
        want = interpret(before, args)
        got = interpret(after, args)
    assert len(want) == len(got)
    for w, g in zip(want, got):
        w, g = np.asarray(w), np.asarray(g)
        if case.check is not None:
            case.check(w, g, args)
        else:
            assert_same_bits(w, g)


def test_every_rule_has_a_case_that_fires_it() -> None:
    firing = {c.rule for c in CASES if c.fires}
    missing = [r.name for r in SIMPLIFY if r.name not in firing]
    assert not missing, f"rules without a before/after test: {missing}"
    unknown = {c.rule for c in CASES} - {r.name for r in SIMPLIFY}
    assert not unknown, f"cases of rules not in the table: {unknown}"


def test_inexact_rules_are_checked_loosely_and_only_they() -> None:
    for case in CASES:
        if case.fires and case.check is None:
            assert SIMPLIFY[case.rule].exact or "int" in case.args[0][1], case.id


def test_every_rule_states_its_identity() -> None:
    for rule in SIMPLIFY:
        assert "->" in rule.doc, rule.name
        assert rule.match_and_build.__doc__ and "->" in rule.match_and_build.__doc__, rule.name


def test_registered_as_a_pass() -> None:
    assert PASSES["tir-simplify"].run is tir_simplify


# ---------------------------------------------------------------------------
# Edge cases of single rules


@pytest.mark.filterwarnings("ignore:Mean of empty slice")
def test_mean_of_an_empty_broadcast_stays_nan() -> None:
    def f(x, y):  # noqa: ANN001
        return ti.mean(ti.broadcast_to(x, y.shape), axis=0)

    x, y = np.array([1.0, -2.0, np.inf]), np.ones((0, 3))
    text = ti.jit(f).lower(x, y).as_text("tir")
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        before = interpret(module, [x, y])[0]
        run_pipeline(module, [(tir_simplify, "tir-simplify")], "tir-simplify")
        after = interpret(module, [x, y])[0]
        assert "tir.mean" not in str(module)
    assert np.isnan(before).all() and np.isnan(after).all()


def test_sum_of_an_empty_broadcast_is_zero_even_for_inf() -> None:
    def f(x, y):  # noqa: ANN001
        return ti.sum(ti.broadcast_to(x, y.shape), axis=0)

    x, y = np.array([1.0, -np.inf, np.nan], "float32"), np.ones((0, 3), "float32")
    text = ti.jit(f).lower(x, y).as_text("tir")
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        run_pipeline(module, [(tir_simplify, "tir-simplify")], "tir-simplify")
        after = interpret(module, [x, y])[0]
        assert "tir.sum" not in str(module)
    assert_same_bits(np.zeros(3, "float32"), after)


TRACED = [i for i, c in enumerate(CASES) if c.fires and not isinstance(c.fn, str)]


@pytest.mark.parametrize("index", TRACED, ids=[CASES[i].id for i in TRACED])
def test_compiled_simplified_code_matches_the_reference(index: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The simplified IR compiles, and gives the reference interpreter's result on the unsimplified IR."""
    monkeypatch.setitem(PIPELINES, "simplify_test", ["tir-autodiff", "tir-simplify", "tir-dce"])
    case = CASES[index]
    rng = np.random.default_rng(index)
    args = []
    for shape, dtype in case.args:
        if dtype == "bool":
            args.append(rng.random(shape) < 0.5)
        elif dtype.startswith("int"):
            args.append(rng.integers(-50, 50, shape).astype(dtype))
        else:
            args.append((rng.normal(size=shape) * 3).astype(dtype))
    _, before, _, _, _ = _run(index)
    with new_context(), ir.Location.unknown():
        want = interpret(ir.Module.parse(str(before)), args)
    got = ti.jit(case.fn, pipeline="simplify_test")(*args)
    got = list(got) if isinstance(got, (tuple, list)) else [got]
    for w, g in zip(want, got):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, equal_nan=True, **tolerance(w.dtype))


# ---------------------------------------------------------------------------
# The small MLP gradient


def _mlp_loss(w1, b1, w2, b2, x, y):  # noqa: ANN001, ANN202
    h = ti.tanh(x @ w1 + b1)
    return ti.mean((h @ w2 + b2 - y) ** 2)


MLP_SHAPES = [(4, 8), (8,), (8, 3), (3,), (5, 4), (5, 3)]


def _mlp_grad_text() -> str:
    args = [np.ones(s, "float32") for s in MLP_SHAPES]
    return ti.jit(ti.grad(_mlp_loss, argnums=(0, 1, 2, 3))).lower(*args).as_text("tir")


def test_mlp_gradient_compiled_with_simplify(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PIPELINES, "simplify_test", ["tir-autodiff", "tir-simplify", "tir-dce"])
    rng = np.random.default_rng(7)
    args = [rng.normal(size=s).astype("float32") for s in MLP_SHAPES]
    grad = ti.grad(_mlp_loss, argnums=(0, 1, 2, 3))
    got = ti.jit(grad, pipeline="simplify_test")(*args)
    want = reference(ti.jit(grad), *args)  # the interpreter on the unsimplified IR
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_mlp_gradient_op_counts() -> None:
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(_mlp_grad_text())
        run_pipeline(module, [(PASSES[n].run, n) for n in ("tir-autodiff", "tir-dce")], "autodiff")
        before = op_counts(module)
        with recording() as fired:
            run_pipeline(module, [(tir_simplify, "tir-simplify"), (tir_dce, "tir-dce")], "simplify")
        after = op_counts(module)
    # (o - y) ** 2 became a product; the broadcast of d mean / d x was absorbed by the mul_nonan
    assert before["pow"] - after["pow"] == 1 and after["mul"] == before["mul"] + 1
    assert before["broadcast_to"] == 1 and after["broadcast_to"] == 0 and after["dim"] == 0
    assert sum(after.values()) == sum(before.values()) - 3
    assert {"pow_two", "constant_right", "elementwise_hoists_broadcast", "elementwise_absorbs_broadcast"} <= {
        f.rule for f in fired
    }


# ---------------------------------------------------------------------------
# The driver


def _module(fn: Callable[..., Any], *args: np.ndarray) -> str:
    return ti.jit(fn).lower(*args).as_text("tir")


def test_trace_names_the_rule_and_the_location() -> None:
    text = _module(lambda x: -(-x), np.ones(3, "float32"))
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        with recording() as fired:
            run_pipeline(module, [(tir_simplify, "tir-simplify")], "tir-simplify")
    assert [(f.rule_set, f.rule, f.op) for f in fired] == [("simplify", "neg_neg", "tir.neg")]
    assert str(fired[0]).startswith('loc("-":4:')
    assert str(fired[0]).endswith(": simplify.neg_neg on tir.neg")


def test_recording_is_off_outside_the_block() -> None:
    text = _module(lambda x: -(-x), np.ones(3, "float32"))
    with recording() as outer:
        pass
    with new_context(), ir.Location.unknown():
        run_pipeline(ir.Module.parse(text), [(tir_simplify, "tir-simplify")], "tir-simplify")
    assert outer == []


def _flip(op: ir.Operation) -> Any:
    """x * y -> y * x"""
    a, b = op.operands
    return E(b) * E(a)


def test_rules_that_undo_each_other_raise_a_clear_error() -> None:
    text = _module(lambda x, y: x * y, np.ones(3, "float32"), np.ones(3, "float32"))
    rules = RuleSet("test", (Rule("flip", "tir.mul", _flip, "x * y -> y * x"),))
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        with pytest.raises(IRError, match=r"the test rules did not reach a fixed point within 5 sweeps; "
                                          r"the last rewrites were \['flip'"):
            apply_rules(module.operation, rules, max_sweeps=5)


def _wrong_type(op: ir.Operation) -> Any:
    """x * y -> sum(x) (a broken rule)"""
    return E(op.operands[0]).sum([0])


def test_a_rule_giving_the_wrong_type_is_reported() -> None:
    text = _module(lambda x, y: x * y, np.ones(3, "float32"), np.ones(3, "float32"))
    rules = RuleSet("test", (Rule("broken", "tir.mul", _wrong_type, "x * y -> sum(x)"),))
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        with pytest.raises(IRError, match=r"rule test.broken \(x \* y -> sum\(x\)\) replaced tir.mul at .* of type "
                                          r"\['tensor<\?xf32>'\] by values of type \['tensor<f32>'\]"):
            apply_rules(module.operation, rules)


def test_rule_sets_reject_duplicate_names_and_unknown_ops() -> None:
    rule = Rule("r", "tir.mul", _flip, "x * y -> y * x")
    with pytest.raises(ValueError, match="two rules named 'r'"):
        RuleSet("s", (rule, rule))
    with pytest.raises(ValueError, match="rooted at tir.nope, which is not a tir op"):
        RuleSet("s", (Rule("r", "tir.nope", _flip, "x -> x"),))


def test_rewrites_leave_no_dead_ops() -> None:
    text = _module(lambda x: ti.transpose(ti.transpose(x * 1.0)), np.ones((2, 3), "float32"))
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        run_pipeline(module, [(tir_simplify, "tir-simplify")], "tir-simplify")
        assert op_counts(module) == Counter()


