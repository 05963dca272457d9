"""tir-merge before tir-autodiff: a forward computation written twice is one
op before differentiation, so its backward ops are built once. Op counts
against the same function written once, first and second derivatives of
repeated subexpressions (nested grad, jvp of grad, hessian) against their
closed forms in every pipeline, and the tir.wrt boundary merge must keep."""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable

import numpy as np
import pytest

from conftest import interpret_after, op_counts, run_passes

import tensorir as ti
from tensorir.dialects import new_context
from tensorir.dialects._bindings import ir
from tensorir.passes import PIPELINES


def pipeline_counts(f: Callable[..., Any], *args: Any, pipeline: str) -> Counter:
    with new_context():
        return op_counts(ir.Module.parse(ti.jit(f, pipeline=pipeline).lower(*args).as_text("tir-opt")))


def sin_w_twice(x, w):  # noqa: ANN001
    a = ti.sin(x) * w
    b = ti.sin(x) * w
    return ti.sum(a * b)


def sin_w_once(x, w):  # noqa: ANN001
    a = ti.sin(x) * w
    return ti.sum(a * a)


XS, WS, TS = np.linspace(-1.2, 1.3, 7), np.cos(np.arange(7.0)) + 0.1, np.sin(np.arange(7.0) + 0.5)


@pytest.mark.parametrize("pipeline", ["fast_run", "fast_compile"])
def test_forward_written_twice_is_differentiated_once(pipeline: str) -> None:
    g = ti.grad(sin_w_twice, argnums=(0, 1))
    twice = pipeline_counts(g, XS, WS, pipeline=pipeline)
    # op for op the graph of the function written once: a * b is a * a before
    # differentiation, whose two cotangent terms one add sums
    assert twice == pipeline_counts(ti.grad(sin_w_once, argnums=(0, 1)), XS, WS, pipeline=pipeline)
    assert twice["tir.sin"] == twice["tir.cos"] == twice["tir.add"] == 1
    # merged only after tir-autodiff, a and b each got a backward chain: one add more
    late = list(PIPELINES[pipeline])
    late.remove("tir-merge")  # the first one, before tir-autodiff
    _, after = run_passes(g.lower(XS, WS).as_text("tir"), *late)
    assert after["tir.add"] == 2 and sum(after.values()) == sum(twice.values()) + 1
    gx, gw = ti.jit(g, pipeline=pipeline)(XS, WS)
    np.testing.assert_allclose(gx, 2 * np.sin(XS) * np.cos(XS) * WS**2, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(gw, 2 * np.sin(XS) ** 2 * WS, rtol=1e-14, atol=1e-15)
    loss, eps = ti.jit(sin_w_twice, pipeline=pipeline), 1e-6
    fd = (loss(XS + eps * TS, WS) - loss(XS - eps * TS, WS)) / (2 * eps)
    np.testing.assert_allclose(np.sum(gx * TS), fd, rtol=1e-8)


def tanh_sin_twice(x, w):  # noqa: ANN001
    return ti.sum(ti.sin(x) * w * (ti.sin(x) * w)) + ti.sum(ti.tanh(ti.sin(x) * w))


def tanh_sin_once(x, w):  # noqa: ANN001
    s = ti.sin(x) * w
    return ti.sum(s * s) + ti.sum(ti.tanh(s))


def tanh_sin_hessian_diagonal(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """d2/dx_i2 of sum(s * s) + sum(tanh s), s = sin(x) * w (the Hessian is diagonal)."""
    s = np.sin(x) * w
    sech2 = 1 - np.tanh(s) ** 2
    return (2 - 2 * np.tanh(s) * sech2) * (w * np.cos(x)) ** 2 - (2 * s + sech2) * w * np.sin(x)


# second derivatives with respect to x (w is a closed-over constant of the
# inner derivative), and what each gives for the diagonal Hessian d
SECOND = {
    "grad_grad": (lambda f: lambda x, w, t: ti.grad(lambda x: ti.sum(ti.grad(f)(x, w)))(x), lambda d, t: d),
    "grad_of_two_grads": (
        lambda f: lambda x, w, t: ti.grad(lambda x: ti.sum(ti.grad(f)(x, w)) + ti.sum(ti.grad(f)(x, w)))(x),
        lambda d, t: 2 * d,
    ),
    "jvp_grad": (lambda f: lambda x, w, t: ti.jvp(lambda x: ti.grad(f)(x, w), (x,), (t,))[1], lambda d, t: d * t),
    "hessian": (lambda f: lambda x, w, t: ti.hessian(f)(x, w), lambda d, t: np.diag(d)),
}


@pytest.mark.parametrize("pipeline", ["fast_run", "fast_compile", "none"])
@pytest.mark.parametrize("kind", sorted(SECOND))
def test_second_derivatives_of_repeated_subexpressions(kind: str, pipeline: str) -> None:
    make, expected = SECOND[kind]
    got = ti.jit(make(tanh_sin_twice), pipeline=pipeline)(XS, WS, TS)
    np.testing.assert_allclose(got, expected(tanh_sin_hessian_diagonal(XS, WS), TS), rtol=1e-13, atol=1e-14)
    if pipeline != "none":  # nested markers too: the repeated forms cost nothing
        twice = pipeline_counts(make(tanh_sin_twice), XS, WS, TS, pipeline=pipeline)
        assert twice == pipeline_counts(make(tanh_sin_once), XS, WS, TS, pipeline=pipeline)
        assert twice["tir.sin"] == twice["tir.cos"] == twice["tir.tanh"] == 1


@pytest.mark.parametrize("pipeline", ["fast_run", "fast_compile"])
def test_two_grads_of_one_function_share_their_work(pipeline: str) -> None:
    # each ti.grad call has its own tir.wrt, so its forward merges with the
    # other's only once tir-autodiff has replaced the wrt; the two expansions
    # are then op for op equal and the merge after autodiff makes them one
    g = ti.grad(tanh_sin_twice)

    def both(x, w):  # noqa: ANN001
        return g(x, w), g(x, w)

    def value_then_grad(x, w):  # noqa: ANN001
        return tanh_sin_twice(x, w), g(x, w)

    one = pipeline_counts(g, XS, WS, pipeline=pipeline)
    assert pipeline_counts(both, XS, WS, pipeline=pipeline) == one
    vg = pipeline_counts(ti.value_and_grad(tanh_sin_twice), XS, WS, pipeline=pipeline)
    assert pipeline_counts(value_then_grad, XS, WS, pipeline=pipeline) == vg
    assert one["tir.sin"] == vg["tir.sin"] == 1
    s = np.sin(XS) * WS
    expected = (2 * s + 1 - np.tanh(s) ** 2) * WS * np.cos(XS)
    for out in ti.jit(both, pipeline=pipeline)(XS, WS):
        np.testing.assert_allclose(out, expected, rtol=1e-14, atol=1e-15)
    value, grad = ti.jit(value_then_grad, pipeline=pipeline)(XS, WS)
    np.testing.assert_allclose(value, np.sum(s * s) + np.sum(np.tanh(s)), rtol=1e-14)
    np.testing.assert_allclose(grad, expected, rtol=1e-14, atol=1e-15)


def test_merge_before_autodiff_respects_the_wrt_boundary() -> None:
    # inside the wrt..grad region: sin(p) twice (one variable: merged), exp(w)
    # (independent of p: merged with the same op outside); sin(x) outside is
    # not sin(p), so it stays apart until tir-autodiff has replaced p by x
    text = """
    func.func @f(%x: tensor<3xf64>, %w: tensor<3xf64>) -> (tensor<3xf64>, tensor<3xf64>, tensor<3xf64>) {
      %p = "tir.wrt"(%x) : (tensor<3xf64>) -> tensor<3xf64>
      %e = "tir.exp"(%w) : (tensor<3xf64>) -> tensor<3xf64>
      %s1 = "tir.sin"(%p) : (tensor<3xf64>) -> tensor<3xf64>
      %a = "tir.mul"(%s1, %e) : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
      %s2 = "tir.sin"(%p) : (tensor<3xf64>) -> tensor<3xf64>
      %b = "tir.mul"(%s2, %e) : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
      %m = "tir.mul"(%a, %b) : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
      %l = "tir.sum"(%m) {axes = array<i64: 0>, keepdims = false} : (tensor<3xf64>) -> tensor<f64>
      %g = "tir.grad"(%l, %p) : (tensor<f64>, tensor<3xf64>) -> tensor<3xf64>
      %e2 = "tir.exp"(%w) : (tensor<3xf64>) -> tensor<3xf64>
      %s3 = "tir.sin"(%x) : (tensor<3xf64>) -> tensor<3xf64>
      %q = "tir.mul"(%s3, %e2) : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
      return %g, %e2, %q : tensor<3xf64>, tensor<3xf64>, tensor<3xf64>
    }
    """
    _, merged = run_passes(text, "tir-merge")
    assert (merged["tir.wrt"], merged["tir.exp"], merged["tir.sin"], merged["tir.mul"]) == (1, 1, 2, 3)
    _, done = run_passes(text, *PIPELINES["fast_compile"])
    assert (done["tir.exp"], done["tir.sin"], done["tir.cos"]) == (1, 1, 1)
    x, w = np.array([0.3, -1.1, 2.0]), np.array([0.5, -0.2, 0.1])
    g, e, q = interpret_after(text, ("tir-merge", "tir-autodiff"), [x, w])
    for got, ref in zip((g, e, q), interpret_after(text, ("tir-autodiff",), [x, w])):
        np.testing.assert_allclose(got, ref, rtol=1e-15)
    np.testing.assert_allclose(g, 2 * np.sin(x) * np.cos(x) * np.exp(w) ** 2, rtol=1e-15)
    np.testing.assert_allclose(q, np.sin(x) * np.exp(w), rtol=1e-15)


def test_jvp_of_outputs_written_twice() -> None:
    # the two outputs and their two jvp markers merge: one forward sweep
    def f(x, t):  # noqa: ANN001
        return ti.jvp(lambda x: (ti.sin(x) * 2.0, ti.sin(x) * 2.0), (x,), (t,))

    for pipeline in ("fast_run", "fast_compile", "none"):
        (y1, y2), (t1, t2) = ti.jit(f, pipeline=pipeline)(XS, TS)
        for y, t in ((y1, t1), (y2, t2)):
            np.testing.assert_allclose(y, 2 * np.sin(XS), rtol=1e-15)
            np.testing.assert_allclose(t, 2 * np.cos(XS) * TS, rtol=1e-15)
    _, merged = run_passes(ti.jit(f).lower(XS, TS).as_text("tir"), "tir-merge")
    assert merged["tir.jvp"] == 1 and merged["tir.sin"] == 1
