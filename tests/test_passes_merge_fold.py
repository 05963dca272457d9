"""tir-merge (common subexpressions) and tir-fold (constant folding): IR
before/after, numerics of random expression graphs through fast_run against
the reference interpreter of the unoptimised graph, and gradients."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from conftest import interpret_after, op_counts, reference, run_passes
from hypothesis import given
from hypothesis import strategies as st

import tensorir as ti
from tensorir.dialects import new_context
from tensorir.dialects._bindings import ir
from tensorir.passes import PIPELINES
from tensorir.passes.fold import MAX_ELEMENTS

# ---------------------------------------------------------------------------
# helpers


def tir_text(f: Callable[..., Any], *args: Any) -> str:
    return ti.jit(f).lower(*args).as_text("tir")


X = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
Y = np.cos(np.arange(12.0)).reshape(3, 4)

# ---------------------------------------------------------------------------
# tir-merge: IR before/after


def test_repeated_subexpression_becomes_one_op() -> None:
    def f(x, y):  # noqa: ANN001
        return ti.tanh(x * y) + ti.tanh(x * y)

    text = tir_text(f, X, Y)
    _, before = run_passes(text)
    _, after = run_passes(text, "tir-merge")
    assert (before["tir.mul"], before["tir.tanh"], before["tir.add"]) == (2, 2, 1)
    assert (after["tir.mul"], after["tir.tanh"], after["tir.add"]) == (1, 1, 1)


def test_whole_equal_subgraphs_merge_bottom_up() -> None:
    def f(x, y):  # noqa: ANN001
        a = ti.sum(ti.exp(x - 1.5) * y, axis=1)
        b = ti.sum(ti.exp(x - 1.5) * y, axis=1)
        c = ti.sum(ti.exp(x - 1.5) * y, axis=0)  # differs only in an attribute
        return a * b, c

    text = tir_text(f, X, Y)
    _, before = run_passes(text)
    _, after = run_passes(text, "tir-merge", "tir-dce")
    assert before["tir.constant"] == 3 and before["tir.exp"] == 3 and before["tir.sum"] == 3
    assert after["tir.constant"] == 1 and after["tir.sub"] == 1 and after["tir.exp"] == 1
    assert after["tir.mul"] == 2  # exp(..) * y once, a * b once
    assert after["tir.sum"] == 2  # axis=1 and axis=0 stay apart
    np.testing.assert_allclose(interpret_after(text, ("tir-merge",), [X, Y])[0], interpret_after(text, (), [X, Y])[0])


def test_equal_constants_merge_but_different_ones_do_not() -> None:
    a = np.array([1.0, 2.0, 3.0, 4.0])

    def f(x):  # noqa: ANN001
        x32 = ti.astype(x, "float32") * a.astype(np.float32)
        return x * a + x * a.copy() + x * -0.0 + x * 0.0 + x * 0.0, x32

    text = tir_text(f, X)
    out, after = run_passes(text, "tir-merge")
    # a twice -> one; float32 a, -0.0 and 0.0 each stay (different type or bits); 0.0 twice -> one
    assert after["tir.constant"] == 4
    assert out.count("dense<-0.000000e+00>") == 1 and out.count("dense<0.000000e+00>") == 1


def test_two_wrt_of_one_value_are_not_merged() -> None:
    # g = d/dp sum(p * q) with p = wrt(x), q = wrt(x): q, that is x, and not 2x
    text = """
    func.func @f(%x: tensor<3xf64>) -> tensor<3xf64> {
      %p = "tir.wrt"(%x) : (tensor<3xf64>) -> tensor<3xf64>
      %q = "tir.wrt"(%x) : (tensor<3xf64>) -> tensor<3xf64>
      %m = "tir.mul"(%p, %q) : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
      %s = "tir.sum"(%m) {axes = array<i64: 0>, keepdims = false} : (tensor<3xf64>) -> tensor<f64>
      %g = "tir.grad"(%s, %p) : (tensor<f64>, tensor<3xf64>) -> tensor<3xf64>
      return %g : tensor<3xf64>
    }
    """
    x = np.array([1.0, -2.0, 3.0])
    _, after = run_passes(text, "tir-merge")
    assert after["tir.wrt"] == 2
    (g,) = interpret_after(text, ("tir-merge", "tir-autodiff"), [x])
    np.testing.assert_array_equal(g, x)


def test_equal_gradient_markers_merge() -> None:
    def f(x):  # noqa: ANN001
        return ti.grad(lambda z: ti.sin(z).sum())(x) * ti.grad(lambda z: ti.sin(z).sum())(x)

    text = tir_text(f, X)
    _, before = run_passes(text)
    _, after = run_passes(text, "tir-merge")
    # each grad has its own wrt, so its sin and sum and marker stay its own
    assert before["tir.wrt"] == after["tir.wrt"] == 2
    assert after["tir.grad"] == 2

    marker = """
    func.func @f(%x: tensor<3xf64>) -> (tensor<3xf64>, tensor<3xf64>) {
      %p = "tir.wrt"(%x) : (tensor<3xf64>) -> tensor<3xf64>
      %e = "tir.sin"(%p) : (tensor<3xf64>) -> tensor<3xf64>
      %s = "tir.sum"(%e) {axes = array<i64: 0>, keepdims = false} : (tensor<3xf64>) -> tensor<f64>
      %g1 = "tir.grad"(%s, %p) : (tensor<f64>, tensor<3xf64>) -> tensor<3xf64>
      %g2 = "tir.grad"(%s, %p) : (tensor<f64>, tensor<3xf64>) -> tensor<3xf64>
      return %g1, %g2 : tensor<3xf64>, tensor<3xf64>
    }
    """
    out, after = run_passes(marker, "tir-merge")
    assert after["tir.grad"] == 1 and "return %3, %3" in out


def test_upstream_ops_are_left_alone() -> None:
    text = """
    func.func @f(%x: tensor<3xf64>) -> (tensor<3xf64>, tensor<3xf64>) {
      %a = arith.constant dense<1.0> : tensor<3xf64>
      %b = arith.constant dense<1.0> : tensor<3xf64>
      %c = "tir.add"(%x, %a) : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
      %d = "tir.add"(%x, %b) : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
      return %c, %d : tensor<3xf64>, tensor<3xf64>
    }
    """
    out, after = run_passes(text, "tir-merge")
    assert out.count("arith.constant") == 2 and after["tir.add"] == 2


def test_merge_runs_in_every_function() -> None:
    body = """
    func.func @{name}(%x: tensor<3xf64>) -> tensor<3xf64> {{
      %a = "tir.exp"(%x) : (tensor<3xf64>) -> tensor<3xf64>
      %b = "tir.exp"(%x) : (tensor<3xf64>) -> tensor<3xf64>
      %c = "tir.add"(%a, %b) : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
      return %c : tensor<3xf64>
    }}
    """
    _, after = run_passes(body.format(name="f") + body.format(name="g"), "tir-merge")
    assert after["tir.exp"] == 2 and after["tir.add"] == 2  # one exp per function


def test_forward_and_backward_share_values_in_fast_compile() -> None:
    def loss(w, x):  # noqa: ANN001
        h = ti.tanh(x @ w)
        return ti.sum(h * h) + ti.sum(ti.tanh(x @ w))

    w = np.ones((4, 2)) * 0.1
    g = ti.jit(ti.grad(loss), pipeline="fast_compile")
    text = g.lower(w, X).as_text("tir-opt")
    # merged before tir-autodiff: one x @ w, so one backward matmul serves both uses
    assert text.count('"tir.tanh"') == 1 and text.count('"tir.matmul"') == 2
    # merged only after tir-autodiff, the forward is shared but each copy of
    # x @ w got its own backward matmul, with a different cotangent
    _, late = run_passes(g.lower(w, X).as_text("tir"), "tir-autodiff", "tir-merge", "tir-dce")
    assert late["tir.matmul"] == 3 and late["tir.tanh"] == 1


# ---------------------------------------------------------------------------
# tir-fold: IR before/after


def test_constant_chain_folds_to_one_constant() -> None:
    a = np.array([[1.0, 2.0], [3.0, 4.0]])

    def f(x):  # noqa: ANN001
        c = ti.exp(ti.sum(ti.transpose(ti.matmul(ti.negative(a), a)), axis=0) * 0.01)
        return x + c

    x = np.zeros((5, 2))
    text = tir_text(f, x)
    out, after = run_passes(text, "tir-fold", "tir-dce")
    assert dict(after) == {"tir.constant": 1, "tir.add": 1}
    expected = np.exp(np.sum((-a @ a).T, axis=0) * 0.01)
    (got,) = interpret_after(text, ("tir-fold", "tir-dce"), [x])
    np.testing.assert_array_equal(got, x + expected)


def test_fold_keeps_the_result_type_exactly() -> None:
    def f(x):  # noqa: ANN001
        ints = ti.sum(np.arange(6, dtype=np.int32).reshape(2, 3), axis=1)  # int32, shape (2,)
        return x + (ints > 3).astype("float32") + ti.astype(ints, "float32")

    x = np.zeros(2, np.float32)
    out, after = run_passes(tir_text(f, x), "tir-fold", "tir-dce")
    assert after["tir.constant"] == 2 and after["tir.add"] == 2
    assert "dense<[0.000000e+00, 1.000000e+00]> : tensor<2xf32>" in out
    assert "dense<[3.000000e+00, 1.200000e+01]> : tensor<2xf32>" in out


def test_constructors_feed_folding() -> None:
    def f(x):  # noqa: ANN001
        return x * (ti.ones((3, 4)) * 2.0 + ti.arange(4.0))

    text = tir_text(f, X)
    out, after = run_passes(text, "tir-fold", "tir-dce")
    assert dict(after) == {"tir.constant": 1, "tir.mul": 1}
    (got,) = interpret_after(text, ("tir-fold", "tir-dce"), [X])
    np.testing.assert_array_equal(got, X * (np.ones((3, 4)) * 2.0 + np.arange(4.0)))


def test_equal_folded_elements_make_a_splat() -> None:
    def f(x):  # noqa: ANN001
        return x + ti.broadcast_to(np.float64(0.5), (3, 4))

    out, _ = run_passes(tir_text(f, X), "tir-fold", "tir-dce")
    assert "dense<5.000000e-01> : tensor<3x4xf64>" in out


def test_not_folded_dynamic_index_large_or_wrt() -> None:
    big = np.int64(MAX_ELEMENTS + 1)

    def f(x):  # noqa: ANN001
        dynamic = ti.zeros_like(x) + 1.0  # full with a tir.dim operand
        large = ti.sum(ti.ones((int(big),)) * 2.0)  # the product has > MAX_ELEMENTS elements
        return dynamic + large

    out, after = run_passes(tir_text(f, X), "tir-fold")
    assert after["tir.mul"] == 1  # ones(big) * 2 is too large to fold
    assert after["tir.sum"] == 1
    assert after["tir.dim"] == 2 and after["tir.full"] >= 1

    wrt = """
    func.func @f(%x: tensor<3xf64>) -> tensor<3xf64> {
      %c = "tir.constant"() {value = dense<2.0> : tensor<3xf64>} : () -> tensor<3xf64>
      %p = "tir.wrt"(%c) : (tensor<3xf64>) -> tensor<3xf64>
      %e = "tir.exp"(%p) : (tensor<3xf64>) -> tensor<3xf64>
      %s = "tir.sum"(%e) {axes = array<i64: 0>, keepdims = false} : (tensor<3xf64>) -> tensor<f64>
      %g = "tir.grad"(%s, %p) : (tensor<f64>, tensor<3xf64>) -> tensor<3xf64>
      return %g : tensor<3xf64>
    }
    """
    _, after = run_passes(wrt, "tir-fold")
    assert after["tir.wrt"] == 1 and after["tir.exp"] == 1 and after["tir.grad"] == 1
    (g,) = interpret_after(wrt, ("tir-fold", "tir-autodiff"), [np.zeros(3)])
    np.testing.assert_allclose(g, np.exp(2.0) * np.ones(3), rtol=1e-15)


def test_integer_division_by_zero_folds_to_the_reference_result() -> None:
    def divisions(a: np.ndarray, b: np.ndarray) -> Callable[..., Any]:
        return lambda x: x + ti.floor_divide(a, b) * 100 + ti.remainder(a, b)

    a = np.array([7, -7, 0, 5, np.iinfo(np.int32).min], np.int32)
    b = np.array([0, 0, 0, -2, -1], np.int32)
    f, x = divisions(a, b), np.zeros(5, np.int32)
    _, after = run_passes(tir_text(f, x), "tir-fold", "tir-dce")
    assert after["tir.floordiv"] == 0 and after["tir.mod"] == 0
    (ref,) = reference(ti.jit(f, pipeline="none"), x)
    # x // 0 == x % 0 == 0; INT_MIN // -1 wraps to INT_MIN (times 100, wrapping)
    with np.errstate(all="ignore"):
        expected = np.array([0, 0, 0, -3 * 100 - 1, np.iinfo(np.int32).min * np.int32(100)], np.int32)
    np.testing.assert_array_equal(ref, expected)
    np.testing.assert_array_equal(ti.jit(f)(x), ref)  # folded at compile time
    # computed at run time (without INT_MIN // -1: the compiled division traps)
    unfolded = ti.jit(divisions(a[:4], b[:4]), pipeline="fast_compile")
    np.testing.assert_array_equal(unfolded(x[:4]), ref[:4])


def test_float_overflow_and_nan_fold_to_the_reference_result() -> None:
    big = np.array([1e30, -1e30, 3.0], np.float32)
    zero = np.zeros(3, np.float32)

    def f(x):  # noqa: ANN001
        return x + ti.multiply(big, big), x + ti.exp(big), x + ti.divide(zero, zero), x + ti.divide(big, zero)

    x = np.zeros(3, np.float32)
    _, after = run_passes(tir_text(f, x), "tir-fold", "tir-dce")
    assert after["tir.mul"] == after["tir.exp"] == after["tir.div"] == 0
    got = ti.jit(f)(x)
    ref = reference(ti.jit(f, pipeline="none"), x)
    inf, nan = np.inf, np.nan
    expected = [[inf, inf, 9.0], [inf, 0.0, np.exp(np.float32(3.0))], [nan, nan, nan], [inf, -inf, inf]]
    for g, r, e in zip(got, ref, expected):
        assert g.dtype == np.float32
        np.testing.assert_array_equal(g, r)
        np.testing.assert_array_equal(g, np.asarray(e, np.float32))


def test_integer_overflow_wraps_as_the_reference_does() -> None:
    m = np.array([np.iinfo(np.int32).max], np.int32)

    def f(x):  # noqa: ANN001
        return x + (m + np.int32(1)) + ti.multiply(m, m)

    x = np.zeros(1, np.int32)
    (ref,) = reference(ti.jit(f, pipeline="none"), x)
    with np.errstate(all="ignore"):
        assert ref[0] == np.int32(np.iinfo(np.int32).min) + m[0] * m[0]
    np.testing.assert_array_equal(ti.jit(f)(x), ref)


# ---------------------------------------------------------------------------
# pipelines


def test_pipelines() -> None:
    # merge before autodiff (a forward written twice is differentiated once)
    # and after it (the sweeps make their own duplicates)
    assert PIPELINES["fast_run"][:6] == ["tir-stabilize", "tir-merge", "tir-autodiff", "tir-merge", "tir-fold",
                                         "tir-simplify"]
    assert PIPELINES["fast_run"][-2:] == ["tir-merge", "tir-dce"]
    assert PIPELINES["fast_compile"] == ["tir-merge", "tir-autodiff", "tir-merge", "tir-dce"]
    assert "tir-merge" not in PIPELINES["none"] and "tir-fold" not in PIPELINES["none"]


def test_mlp_gradient_gets_smaller_and_stays_correct() -> None:
    def loss(w1, b1, w2, x, y):  # noqa: ANN001
        h = ti.tanh(x @ w1 + b1)
        return ti.mean((h @ w2 - y) ** 2)

    rng = np.random.default_rng(0)
    args = [rng.standard_normal(s) for s in [(4, 8), (8,), (8, 2), (5, 4), (5, 2)]]
    vg = ti.value_and_grad(loss, argnums=(0, 1, 2))
    counts = {}
    for pipeline in ("none", "fast_compile", "fast_run"):
        text = ti.jit(vg, pipeline=pipeline).lower(*args).as_text("tir-opt")
        counts[pipeline] = text.count('"tir.')
    assert counts["fast_run"] < counts["fast_compile"] < counts["none"]
    v0, g0 = ti.jit(vg, pipeline="none")(*args)
    v1, g1 = ti.jit(vg)(*args)
    np.testing.assert_allclose(v1, v0, rtol=1e-14)
    for a, b in zip(g1, g0):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------
# gradients after merging


def test_gradient_of_repeated_subexpression_matches_finite_differences() -> None:
    def f(x, w):  # noqa: ANN001
        a = ti.sin(x @ w) * ti.sin(x @ w)
        b = ti.exp(ti.sin(x @ w) * 0.5) + a * 2.0 + a * 2.0
        return ti.sum(b * ti.sin(x @ w))

    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    g = ti.jit(ti.grad(f, argnums=(0, 1)))
    text = g.lower(x, w).as_text("tir-opt")
    assert text.count('"tir.sin"') == 1 and text.count('"tir.cos"') == 1
    gx, gw = g(x, w)
    for arg, grad in ((0, gx), (1, gw)):
        d = rng.standard_normal(grad.shape)
        eps = 1e-6
        plus = [x, w]
        minus = [x, w]
        plus[arg] = plus[arg] + eps * d
        minus[arg] = minus[arg] - eps * d
        fd = (ti.jit(f)(*plus) - ti.jit(f)(*minus)) / (2 * eps)
        np.testing.assert_allclose(np.sum(grad * d), fd, rtol=1e-6)


# ---------------------------------------------------------------------------
# soundness: random expression graphs, fast_run vs the unoptimised reference

UNARY = {"neg": ti.negative, "tanh": ti.tanh, "sin": ti.sin, "abs": ti.abs, "sigmoid": ti.sigmoid,
         "exp": lambda v: ti.exp(ti.tanh(v))}
BINARY = {"add": ti.add, "sub": ti.subtract, "mul": ti.multiply, "max": ti.maximum, "min": ti.minimum}
REDUCE = {"sum": ti.sum, "mean": ti.mean, "amax": ti.max}
SHAPES = [(3, 4), (4,), (3, 1), ()]


@st.composite
def programs(draw: Any, dtypes: tuple[str, ...] = ("float64", "float32")) -> tuple[list[tuple], str]:
    """A list of nodes over inputs x, y (3, 4) and w (4, 4) and constants;
    node i may refer to any earlier node, and some nodes repeat an earlier
    one verbatim (repeated subexpressions for tir-merge); ops of constants
    only are what tir-fold folds."""
    dtype = draw(st.sampled_from(dtypes))
    nodes: list[tuple] = [("input", 0), ("input", 1)]

    def operand(n: int) -> int:  # any earlier node, constants more often
        consts = [i for i, node in enumerate(nodes) if node[0] == "const"]
        if consts and draw(st.booleans()):
            return draw(st.sampled_from(consts))
        return draw(st.integers(0, n - 1))

    for _ in range(draw(st.integers(3, 12))):
        n = len(nodes)
        kind = draw(st.sampled_from(["unary", "binary", "const", "reduce", "matmul", "repeat"]))
        if kind == "const":
            shape = draw(st.sampled_from(SHAPES))
            seed = draw(st.integers(0, 2))  # few seeds: equal constants recur
            nodes.append(("const", shape, seed))
        elif kind == "unary":
            nodes.append(("unary", draw(st.sampled_from(sorted(UNARY))), operand(n)))
        elif kind == "binary":
            i, j = operand(n), operand(n)
            nodes.append(("binary", draw(st.sampled_from(sorted(BINARY))), i, j))
        elif kind == "reduce":
            axis = draw(st.sampled_from([0, 1, None]))
            nodes.append(("reduce", draw(st.sampled_from(sorted(REDUCE))), operand(n), axis))
        elif kind == "matmul":
            nodes.append(("matmul", operand(n), draw(st.booleans())))
        else:
            k = draw(st.integers(0, n - 1))
            nodes.append(nodes[k])
    return nodes, dtype


def build(nodes: list[tuple], dtype: str) -> Callable[..., Any]:
    def f(x, y, w):  # noqa: ANN001
        vals: list[Any] = []
        for node in nodes:
            kind = node[0]
            if kind == "input":
                v = (x, y)[node[1]]
            elif kind == "const":
                _, shape, seed = node
                v = np.random.default_rng(seed).uniform(-1, 1, shape).astype(dtype)
                if shape == ():  # keep a 0-d constant a tir value, not a Python scalar
                    v = ti.full((), float(v), dtype)
            elif kind == "unary":
                v = UNARY[node[1]](vals[node[2]])
            elif kind == "binary":
                v = BINARY[node[1]](vals[node[2]], vals[node[3]])
            elif kind == "reduce":
                operand, axis = vals[node[2]], node[3]
                if axis is not None and axis >= np.ndim(operand):
                    axis = None
                v = REDUCE[node[1]](operand, axis=axis, keepdims=True)
            else:  # matmul: (3, 4) @ (w or a constant), the operand broadcast to (3, 4)
                right = w if node[2] else np.eye(4, dtype=dtype)[::-1] * 0.5
                v = ti.matmul(ti.broadcast_to(vals[node[1]], (3, 4)) * 0.5, right)
            vals.append(v)
        return ti.add(vals[-1], x), ti.multiply(vals[len(vals) // 2], vals[-1])

    return f


@given(programs())
def test_random_graphs_fast_run_matches_unoptimised_reference(program: tuple[list[tuple], str]) -> None:
    nodes, dtype = program
    rng = np.random.default_rng(len(nodes))
    x, y = (rng.uniform(-2, 2, (3, 4)).astype(dtype) for _ in range(2))
    w = rng.uniform(-1, 1, (4, 4)).astype(dtype)
    f = ti.jit(build(nodes, dtype))
    got = f(x, y, w)
    ref = reference(ti.jit(build(nodes, dtype), pipeline="none"), x, y, w)
    # stated tolerance: a few ulps of the accumulated rounding (sums are reassociated)
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == "float32" else {"rtol": 1e-11, "atol": 1e-11}
    for g, r in zip(got, ref):
        assert g.dtype == r.dtype and g.shape == r.shape
        np.testing.assert_allclose(g, r, equal_nan=True, **tol)
    # after fast_run nothing is left to merge or fold
    text = f.lower(x, y, w).as_text("tir-opt")
    _, again = run_passes(text, "tir-merge", "tir-fold", "tir-merge", "tir-dce")
    with new_context():
        assert again == op_counts(ir.Module.parse(text))


@given(programs(dtypes=("float64",)))
def test_random_graphs_gradient_after_merging(program: tuple[list[tuple], str]) -> None:
    nodes, dtype = program
    rng = np.random.default_rng(len(nodes) + 1)
    x, y = (rng.uniform(-2, 2, (3, 4)) for _ in range(2))
    w = rng.uniform(-1, 1, (4, 4))
    f = build(nodes, dtype)

    def cost(x, y, w):  # noqa: ANN001
        a, b = f(x, y, w)
        return ti.sum(a) + ti.sum(b * b)

    vg = ti.value_and_grad(cost, argnums=(0, 1, 2))
    got = ti.jit(vg)(x, y, w)
    ref = ti.jit(vg, pipeline="none")(x, y, w)
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-11, atol=1e-11)
    for g, r in zip(got[1], ref[1]):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-10)


def test_regression_matmul_of_matmul_then_elementwise() -> None:
    # found by the random graphs: CSE gave both gemms one zero-filled
    # destination, which bufferization could not write in place twice
    x, w = np.ones((3, 4)), np.ones((4, 4))
    f = ti.jit(lambda x, w: (x @ w) @ w + x, pipeline="none")
    np.testing.assert_array_equal(f(x, w), (x @ w) @ w + x)
