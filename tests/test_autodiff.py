"""grad, value_and_grad, vjp, jvp, jacobian and hessian: the API, composition,
higher order, hand-derived formulas and the tir-autodiff pass's IR."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tensorir as ti
from conftest import reference
from tensorir.dialects import new_context
from tensorir.dialects._bindings import ir
from tensorir.errors import ArgumentError, DTypeError, ShapeError
from tensorir.lowering.cpu import run_pipeline
from tensorir.passes.autodiff import tir_autodiff


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


# ---------------------------------------------------------------------------
# Higher order and composition


def test_grad_of_grad_of_sin_is_minus_sin() -> None:
    d2 = ti.grad(ti.grad(ti.sin))
    for x in (-2.0, 0.0, 0.5, 3.0):
        np.testing.assert_allclose(d2(np.float64(x)), -np.sin(x), rtol=1e-14, atol=1e-15)
    d3 = ti.grad(ti.grad(ti.grad(ti.sin)))
    np.testing.assert_allclose(d3(np.float64(0.7)), -np.cos(0.7), rtol=1e-14)


def test_hessian_of_quadratic_form_is_a_plus_a_transpose() -> None:
    A = rand(5, 5, seed=1)
    H = ti.hessian(lambda x: x @ A @ x)(rand(5, seed=2))
    np.testing.assert_allclose(H, A + A.T, rtol=1e-13, atol=1e-13)


def test_hessian_of_a_non_quadratic_function() -> None:
    # f(x) = sum(x * sin(x)): H = diag(2 cos x - x sin x), also at x = 0
    x = np.array([0.0, 0.5, -1.5])
    H = ti.hessian(lambda x: (x * ti.sin(x)).sum())(x)
    np.testing.assert_allclose(H, np.diag(2 * np.cos(x) - x * np.sin(x)), atol=1e-14)


def test_hessian_vector_product_forward_over_reverse() -> None:
    A = rand(4, 4, seed=3)
    x, v = rand(4, seed=4), rand(4, seed=5)

    def f(x):  # noqa: ANN001
        return (ti.tanh(A @ x) ** 2).sum()

    hvp = ti.jvp(ti.grad(f), (x,), (v,))[1]
    np.testing.assert_allclose(hvp, ti.hessian(f)(x) @ v, rtol=1e-12, atol=1e-13)


def test_jit_of_grad_and_grad_of_jit_agree() -> None:
    f = ti.jit(lambda w, x: ti.mean(ti.tanh(x @ w) ** 2))
    w, x = rand(3, 2, seed=6), rand(5, 3, seed=7)
    g1 = ti.grad(f)(w, x)
    g2 = ti.jit(ti.grad(f))(w, x)
    g3 = ti.jit(ti.grad(f.fun))(w, x)
    np.testing.assert_allclose(g1, g2, rtol=1e-14)
    np.testing.assert_allclose(g1, g3, rtol=1e-14)


def test_closures_are_not_confused_in_nested_gradients() -> None:
    # d/dx [ d/dy (x * y) at y = x ] = d/dx x = 1
    inner = lambda x: ti.grad(lambda y: x * y)(x)  # noqa: E731
    assert float(ti.grad(inner)(np.float64(3.0))) == 1.0


def test_one_compile_serves_every_batch_size() -> None:
    g = ti.grad(lambda w, x: ((x @ w) ** 2).sum())
    w = rand(3, 2)
    for n in (1, 4, 9):
        x = rand(n, 3, seed=n) if n != 1 else rand(2, 3)
        np.testing.assert_allclose(g(w, x), 2 * x.T @ (x @ w), rtol=1e-13)
    assert g.compile_count == 1


# ---------------------------------------------------------------------------
# Hand-derived formulas


def test_gradient_through_broadcasting() -> None:
    x, b = rand(4, 3), rand(3, seed=1)
    gx, gb = ti.grad(lambda x, b: ((x + b) * x).sum(), argnums=(0, 1))(x, b)
    np.testing.assert_allclose(gx, 2 * x + b, rtol=1e-14)
    np.testing.assert_allclose(gb, x.sum(axis=0), rtol=1e-14)
    c = rand(4, 1, seed=2)
    gc = ti.grad(lambda c: (x * c).sum())(c)
    np.testing.assert_allclose(gc, x.sum(axis=1, keepdims=True), rtol=1e-14)


def test_gradient_through_reductions_over_several_axes() -> None:
    x, w = rand(2, 3, 4), rand(3, seed=1)
    g = ti.grad(lambda x: (ti.sum(x, axis=(0, 2)) * w).sum() + ti.mean(x ** 2, axis=(1, 2)).sum())(x)
    np.testing.assert_allclose(g, w[None, :, None] + 2 * x / 12, rtol=1e-14)
    g = ti.grad(lambda x: ti.max(x, axis=(0, 2)).sum())(x)
    expected = (x == x.max(axis=(0, 2), keepdims=True)).astype(float)
    np.testing.assert_array_equal(g, expected)


def test_gradient_of_batched_matmul() -> None:
    a, b = rand(5, 3, 4), rand(4, 2, seed=1)
    u = rand(5, 3, 2, seed=2)
    ga, gb = ti.grad(lambda a, b: ((a @ b) * u).sum(), argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, u @ b.T, rtol=1e-13)
    np.testing.assert_allclose(gb, np.einsum("bik,bij->kj", a, u), rtol=1e-13)


def test_prod_gradient_with_zeros_is_exact() -> None:
    g = ti.grad(lambda x: ti.prod(x))
    np.testing.assert_array_equal(g(np.array([2.0, 0.0, 3.0])), [0.0, 6.0, 0.0])
    np.testing.assert_array_equal(g(np.array([0.0, 0.0, 3.0])), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(g(np.array([2.0, 4.0, 3.0])), [12.0, 6.0, 8.0])


def test_softmax_cross_entropy_gradient_is_p_minus_y() -> None:
    logits, y = rand(6, 4), np.eye(4)[[0, 1, 2, 3, 0, 1]]
    g = ti.grad(lambda z: -(ti.nn.log_softmax(z) * y).sum())(logits)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(g, p - y, rtol=1e-12, atol=1e-14)


@given(st.integers(1, 6), st.integers(1, 5), st.integers(0, 2**31 - 1))
def test_gradient_of_mlp_loss_matches_finite_differences(n: int, h: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((n, 3)), rng.standard_normal((n, 2))
    params = {"w1": rng.standard_normal((3, h)), "b1": rng.standard_normal(h),
              "w2": rng.standard_normal((h, 2)), "b2": rng.standard_normal(2)}

    def loss(p, x, y):  # noqa: ANN001
        hidden = ti.tanh(x @ p["w1"] + p["b1"])
        return ti.mean((hidden @ p["w2"] + p["b2"] - y) ** 2)

    value, grads = ti.value_and_grad(loss)(params, x, y)
    f = ti.jit(loss)
    np.testing.assert_allclose(value, f(params, x, y), rtol=1e-14)
    direction = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    eps = 1e-6
    plus = f({k: v + eps * direction[k] for k, v in params.items()}, x, y)
    minus = f({k: v - eps * direction[k] for k, v in params.items()}, x, y)
    fd = (plus - minus) / (2 * eps)
    analytic = sum(float(np.sum(grads[k] * direction[k])) for k in params)
    assert abs(analytic - fd) <= 1e-6 * max(1.0, abs(fd))


# ---------------------------------------------------------------------------
# Conventions


def test_where_does_not_leak_nan_from_the_branch_not_taken() -> None:
    g = ti.grad(lambda x: ti.where(x > 0, ti.sqrt(x), 0.0).sum())
    np.testing.assert_array_equal(g(np.array([-1.0, 4.0, 0.0])), [0.0, 0.25, 0.0])
    g = ti.grad(lambda x: ti.where(x < 100, ti.exp(x), 0.0).sum())
    np.testing.assert_array_equal(g(np.array([1000.0])), [0.0])
    g = ti.grad(lambda x: ti.where(x > 0, x * ti.log(x), 0.0).sum())
    np.testing.assert_allclose(g(np.array([-1.0, 1.0])), [0.0, 1.0])


def test_kinks_and_ties_follow_the_documented_conventions() -> None:
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(ti.grad(lambda x: ti.nn.relu(x).sum())(x), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(ti.grad(lambda x: ti.abs(x).sum())(x), [-1.0, 0.0, 1.0])
    gx, gy = ti.grad(lambda x, y: ti.maximum(x, y).sum(), argnums=(0, 1))(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    np.testing.assert_array_equal(gx, [0.5, 1.0])
    np.testing.assert_array_equal(gy, [0.5, 0.0])
    np.testing.assert_array_equal(ti.grad(lambda x: ti.max(x))(np.array([3.0, 1.0, 3.0])), [0.5, 0.0, 0.5])


def test_non_differentiable_ops_contribute_zero() -> None:
    x = np.array([0.3, 1.7, -2.2])
    np.testing.assert_array_equal(ti.grad(lambda x: (ti.floor(x) * 2.0).sum())(x), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(ti.grad(lambda x: (x.astype(ti.int64) * x).sum())(x), [0.0, 1.0, -2.0])
    np.testing.assert_array_equal(ti.grad(lambda x: ti.where(ti.argmax(x) == 1, x, 0.0).sum())(x), [1.0, 1.0, 1.0])


def test_output_independent_of_argument_has_zero_gradient() -> None:
    g = ti.grad(lambda x, y: (y ** 2).sum(), argnums=(0, 1))(np.ones((2, 3)), np.array([1.0, 2.0]))
    np.testing.assert_array_equal(g[0], np.zeros((2, 3)))
    np.testing.assert_array_equal(g[1], [2.0, 4.0])
    np.testing.assert_array_equal(ti.grad(lambda x: 3.0)(np.ones(2)), [0.0, 0.0])


# ---------------------------------------------------------------------------
# API shapes: pytrees, has_aux, argnums, vjp, jvp, jacobian


def test_pytrees_of_arguments() -> None:
    p = {"a": np.array([1.0, 2.0]), "b": (np.array(3.0), [np.array([4.0])])}
    g = ti.grad(lambda p: (p["a"] * p["b"][0]).sum() + p["b"][1][0].sum() ** 2)(p)
    assert set(g) == {"a", "b"} and isinstance(g["b"], tuple) and isinstance(g["b"][1], list)
    np.testing.assert_array_equal(g["a"], [3.0, 3.0])
    np.testing.assert_array_equal(g["b"][0], 3.0)
    np.testing.assert_array_equal(g["b"][1][0], [8.0])


def test_has_aux_and_value_and_grad() -> None:
    def f(x):  # noqa: ANN001
        y = ti.sin(x)
        return y.sum(), {"y": y}

    x = np.array([0.0, 1.0])
    g, aux = ti.grad(f, has_aux=True)(x)
    np.testing.assert_allclose(g, np.cos(x))
    np.testing.assert_allclose(aux["y"], np.sin(x))
    (value, aux), g = ti.value_and_grad(f, has_aux=True)(x)
    np.testing.assert_allclose(value, np.sin(x).sum())
    v, (gx,) = ti.value_and_grad(lambda x: (x ** 3).sum(), argnums=(0,))(x)
    np.testing.assert_allclose(gx, 3 * x ** 2)


def test_vjp_and_jvp_of_several_outputs() -> None:
    def f(x, y):  # noqa: ANN001
        return {"s": (x * y).sum(), "p": x * 2.0}

    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    out, back = ti.vjp(f, x, y)
    np.testing.assert_allclose(out["p"], 2 * x)
    gx, gy = back({"s": np.array(1.0), "p": np.array([10.0, 100.0])})
    np.testing.assert_allclose(gx, y + [20.0, 200.0])
    np.testing.assert_allclose(gy, x)
    out, tangent = ti.jvp(f, (x, y), (np.array([1.0, 0.0]), np.array([0.0, 1.0])))
    np.testing.assert_allclose(tangent["s"], y[0] + x[1])
    np.testing.assert_allclose(tangent["p"], [2.0, 0.0])


def test_jacobian_shapes_and_values() -> None:
    x = rand(3, 2)
    J = ti.jacobian(lambda x: ti.tanh(x).sum(axis=1))(x)
    assert J.shape == (3, 3, 2)
    expected = np.zeros((3, 3, 2))
    for i in range(3):
        expected[i, i] = 1 - np.tanh(x[i]) ** 2
    np.testing.assert_allclose(J, expected, rtol=1e-14)
    Ja, Jb = ti.jacobian(lambda a, b: a * b, argnums=(0, 1))(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    np.testing.assert_array_equal(Ja, np.diag([3.0, 4.0]))
    np.testing.assert_array_equal(Jb, np.diag([1.0, 2.0]))
    f = ti.jacobian(lambda x: x[::-1] * 2.0)
    for n in (2, 5):
        np.testing.assert_array_equal(f(np.ones(n)), 2 * np.eye(n)[::-1])
    assert f.compile_count == 1


# ---------------------------------------------------------------------------
# Bad input


def test_grad_of_non_scalar_output_is_a_clear_error() -> None:
    with pytest.raises(ShapeError, match=r"grad\(<lambda>\) needs a scalar output, found shape \(\?,\); reduce it"):
        ti.grad(lambda x: x * 2.0)(np.ones(3))


def test_argnums_out_of_range() -> None:
    with pytest.raises(ArgumentError, match=r"argument 2 is out of range, f was called with 2 positional argument"):
        def f(x, y):  # noqa: ANN001
            return (x * y).sum()

        ti.grad(f, argnums=2)(np.ones(2), np.ones(2))


def test_integer_input_is_a_clear_error() -> None:
    with pytest.raises(DTypeError, match=r"argument 0 \('x'\) has dtype int64; only float32 and float64 inputs can be differentiated"):
        ti.grad(lambda x: x.sum())(np.arange(3))


def test_integer_output_and_bad_aux() -> None:
    with pytest.raises(DTypeError, match="needs a float output, found int64"):
        ti.grad(lambda x: ti.argmax(x))(np.ones(3))
    with pytest.raises(ArgumentError, match=r"must return a pair \(output, aux\)"):
        ti.grad(lambda x: x.sum(), has_aux=True)(np.ones(3))


def test_bad_cotangents_and_tangents() -> None:
    _, back = ti.vjp(lambda x: x * 2.0, np.ones(3))
    with pytest.raises(ShapeError, match=r"the cotangent must have the shape of the differentiated output \(\?,\): cotangent.shape\[0\] = 4 but primals\[0\].shape\[0\] = 3"):
        back(np.ones(4))
    _, back = ti.vjp(lambda x: x * 2.0, np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"cotangent 0 must have the output's shape \(\?, \?\), found \(\?,\)"):
        back(np.ones(3))
    with pytest.raises(ArgumentError, match="tangents must have the structure of primals"):
        ti.jvp(ti.sin, (np.ones(2),), (np.ones(2), np.ones(2)))
    with pytest.raises(ArgumentError, match="primals and tangents must be tuples"):
        ti.jvp(ti.sin, np.ones(2), np.ones(2))


# ---------------------------------------------------------------------------
# The pass


def test_ir_before_and_after_tir_autodiff() -> None:
    lowered = ti.grad(lambda x: ti.exp(x).sum()).lower(np.ones(3))
    before, after = lowered.as_text("tir"), lowered.as_text("tir-opt")
    assert '"tir.grad"' in before and '"tir.wrt"' in before
    assert "tir.grad" not in after and "tir.wrt" not in after
    assert after.count('"tir.') == 1 and '"tir.exp"' in after  # fast_run: d/dx sum(exp x) = exp x
    with new_context(), ir.Location.unknown():  # tir-autodiff alone: the rule's product
        module = ir.Module.parse(before)
        run_pipeline(module, [(tir_autodiff, "tir-autodiff")], "tir-autodiff")
        expanded = str(module)
    assert "tir.grad" not in expanded and '"tir.mul_nonan"' in expanded and '"tir.exp"' in expanded


def test_reference_interpreter_agrees_after_expansion() -> None:
    g = ti.grad(lambda x, y: (ti.tanh(x) @ y).sum(), argnums=(0, 1))
    x, y = rand(3, 4), rand(4, 2, seed=1)
    got = g(x, y)
    ref = reference(g, x, y)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-13)


def test_forward_values_are_shared_with_the_backward_pass() -> None:
    text = ti.value_and_grad(lambda x: ti.tanh(x).sum()).lower(np.ones(3)).as_text("tir-opt")
    assert text.count('"tir.tanh"') == 1  # the backward pass reuses tanh(x)
