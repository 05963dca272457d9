"""ti.scan in symbolic functions: inputs from ti.vector/ti.matrix/ti.tensor3,
shared variables read by the step and updated from a scan's result, givens
and clone_replace that replace a value the step closes over (the body is
rebuilt and retyped), Variable.eval, debugprint/to_dot of a scan and its
body, and DebugMode/NanGuardMode on functions with scans."""

from __future__ import annotations

import numpy as np
import pytest

import tensorir as ti
from tensorir.errors import NanGuardError, ShapeError


def rnn_numpy(xs, h0, W, U, b):
    h, out = h0, []
    for x_t in xs:
        h = np.tanh(h @ W + x_t @ U + b)
        out.append(h)
    return np.array(out).reshape((len(xs),) + np.shape(h0))


def test_polynomial_from_theanos_tutorial() -> None:
    coefficients = ti.vector("coefficients", "float64")
    x = ti.scalar("x", "float64")
    components, updates = ti.scan(
        fn=lambda coefficient, power, free_variable: coefficient * (free_variable ** power),
        outputs_info=None,
        sequences=[coefficients, ti.arange(coefficients.shape[0])],
        non_sequences=x,
    )
    polynomial = components.sum()
    calculate = ti.function(inputs=[coefficients, x], outputs=polynomial, updates=updates)
    for c in ([1.0, 0.0, 2.0], [0.5, -1.0, 3.0, 0.25, 2.0], [4.0]):
        assert calculate(np.array(c), 3.0) == pytest.approx(np.polynomial.polynomial.polyval(3.0, c), rel=1e-12)


@pytest.fixture
def rnn_graph():
    rng = np.random.default_rng(0)
    batch, n_in, hidden = 3, 2, 4
    W = ti.shared(rng.normal(size=(hidden, hidden)) * 0.5, name="W")
    U = ti.shared(rng.normal(size=(n_in, hidden)), name="U")
    b = ti.shared(rng.normal(size=hidden), name="b")
    xs = ti.tensor3("xs", "float64")
    h0 = ti.matrix("h0", "float64")
    hs, updates = ti.scan(lambda x_t, h: ti.tanh(h @ W + x_t @ U + b), sequences=xs, outputs_info=h0)
    assert not updates
    return xs, h0, hs, (W, U, b), (batch, n_in, hidden), rng


def test_rnn_over_a_tensor3_in_a_symbolic_function(rnn_graph) -> None:
    xs, h0, hs, (W, U, b), (batch, n_in, hidden), rng = rnn_graph
    f = ti.function([xs, h0], hs)
    for T in (5, 1, 0, 8):
        x, h = rng.normal(size=(T, batch, n_in)), rng.normal(size=(batch, hidden))
        out = f(x, h)
        assert out.shape == (T, batch, hidden)
        np.testing.assert_allclose(out, rnn_numpy(x, h, W.get_value(), U.get_value(), b.get_value()), rtol=1e-9,
                                   atol=1e-12)


def test_a_shared_state_carried_across_calls_by_an_update_from_the_scan() -> None:
    rng = np.random.default_rng(1)
    W = ti.shared(rng.normal(size=(3, 3)) * 0.5, name="W")
    state = ti.shared(np.zeros(3), name="state")
    x = ti.matrix("x", "float64")
    hs, _ = ti.scan(lambda x_t, h: ti.tanh(h @ W + x_t), sequences=x, outputs_info=state)
    stream = ti.function([x], hs, updates=[(state, hs[-1])])
    data = rng.normal(size=(7, 3))
    first, second = stream(data[:4]), stream(data[4:])
    expected = rnn_numpy(data, np.zeros(3), W.get_value(), np.eye(3), np.zeros(3))
    np.testing.assert_allclose(np.concatenate([first, second]), expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(state.get_value(), expected[-1], rtol=1e-9, atol=1e-12)


def test_givens_replace_a_value_the_step_closes_over(rnn_graph) -> None:
    xs, h0, hs, (W, U, b), (batch, n_in, hidden), rng = rnn_graph
    W2 = ti.matrix("W2", "float64")
    f = ti.function([xs, h0, W2], hs, givens={W: 0.5 * W2})
    x, h, w2 = rng.normal(size=(4, batch, n_in)), rng.normal(size=(batch, hidden)), rng.normal(size=(hidden, hidden))
    np.testing.assert_allclose(f(x, h, w2), rnn_numpy(x, h, 0.5 * w2, U.get_value(), b.get_value()), rtol=1e-9,
                               atol=1e-12)
    # the original graph still reads W
    g = ti.function([xs, h0], hs)
    np.testing.assert_allclose(g(x, h), rnn_numpy(x, h, W.get_value(), U.get_value(), b.get_value()), rtol=1e-9,
                               atol=1e-12)


def test_clone_replace_of_a_closure_a_sequence_and_an_initial_value(rnn_graph) -> None:
    xs, h0, hs, (W, U, b), (batch, n_in, hidden), rng = rnn_graph
    x, h = rng.normal(size=(4, batch, n_in)), rng.normal(size=(batch, hidden))
    cloned = ti.clone_replace(hs, {W: W * 2.0, xs: xs[::-1], h0: ti.zeros_like(h0) + 1.0})
    assert cloned.owner.op == "scan" and cloned.owner is not hs.owner
    got = cloned.eval({xs: x, h0: h})
    np.testing.assert_allclose(got, rnn_numpy(x[::-1], np.ones_like(h), 2 * W.get_value(), U.get_value(),
                                              b.get_value()), rtol=1e-9, atol=1e-12)


def test_a_replacement_with_other_dims_retypes_the_body() -> None:
    x = ti.matrix("x", "float64")
    ys, _ = ti.map(lambda row: row * 2.0, sequences=x)
    assert [d == 1 for d in ys.shape] == [False, False]
    column = ti.tensor("column", "float64", shape=(None, 1))
    cloned = ti.clone_replace(ys, {x: column})
    body = cloned.owner.attrs["body"]
    assert body.inputs[0].shape == (1,)  # the per-step slice of a (?, 1) sequence
    assert cloned.shape[1] == 1 and body.outputs[0].shape == (1,)
    np.testing.assert_array_equal(cloned.eval({column: np.array([[1.0], [2.0]])}), [[2.0], [4.0]])


def test_clone_replace_reaches_a_value_read_by_a_nested_scan() -> None:
    x = ti.matrix("x", "float64")
    w = ti.vector("w", "float64")

    def row(x_t, acc):
        inner, _ = ti.scan(lambda v, a: a + v * w, sequences=x_t, outputs_info=ti.zeros_like(w))
        return acc + inner[-1]

    out, _ = ti.scan(row, sequences=x, outputs_info=ti.zeros_like(w))
    cloned = ti.clone_replace(out, {w: 3.0 * w})
    xv, wv = np.arange(6.0).reshape(2, 3), np.array([1.0, -1.0])
    expected = np.cumsum(xv.sum(axis=1))[:, None] * wv
    np.testing.assert_allclose(out.eval({x: xv, w: wv}), expected, rtol=1e-12)
    np.testing.assert_allclose(cloned.eval({x: xv, w: wv}), 3 * expected, rtol=1e-12)


def test_givens_keep_the_call_time_check_of_sequence_lengths() -> None:
    x, y, z = ti.vector("x", "float64"), ti.vector("y", "float64"), ti.vector("z", "float64")
    total, _ = ti.scan(lambda a, b: a + b, sequences=[x, y])
    f = ti.function([x, z], total, givens={y: z * 2.0})
    np.testing.assert_array_equal(f(np.ones(3), np.ones(3)), [3.0, 3.0, 3.0])
    with pytest.raises(ShapeError) as info:
        f(np.ones(3), np.ones(4))
    assert "sequences[1] and sequences[0] must give the same number of steps" in str(info.value)
    assert "x.shape[0] = 3 but z.shape[0] = 4" in str(info.value)


def test_gradient_through_a_rebuilt_scan_matches_finite_differences() -> None:
    rng = np.random.default_rng(2)
    W = ti.shared(rng.normal(size=(3, 3)) * 0.5, name="W")
    x = ti.matrix("x", "float64")
    h0 = ti.vector("h0", "float64")
    hs, _ = ti.scan(lambda x_t, h: ti.tanh(h @ W + x_t), sequences=x, outputs_info=h0)
    cost = (hs ** 2).sum()
    f = ti.function([x, h0], [cost, ti.grad(cost, W)])
    xv, hv = rng.normal(size=(5, 3)), rng.normal(size=3)
    _, g = f(xv, hv)
    w = W.get_value()
    direction = rng.normal(size=w.shape)
    eps = 1e-6
    W.set_value(w + eps * direction)
    plus = f(xv, hv)[0]
    W.set_value(w - eps * direction)
    minus = f(xv, hv)[0]
    assert (g * direction).sum() == pytest.approx((plus - minus) / (2 * eps), rel=1e-6)


def test_variable_eval_of_a_scan() -> None:
    x = ti.vector("x", "float64")
    out, _ = ti.scan(lambda x_t, acc: acc * x_t, sequences=x, outputs_info=1.0)
    np.testing.assert_array_equal(out.eval({x: np.array([2.0, 3.0, 4.0])}), [2.0, 6.0, 24.0])
    last, _ = ti.reduce(lambda x_t, acc: acc + x_t, sequences=x, outputs_info=0.0)
    assert float(last.eval({x: np.array([2.0, 3.0, 4.0])})) == 9.0


# ---------------------------------------------------------------------------
# Printing


def _small_rnn():
    x = ti.matrix("x", "float64")
    W = ti.shared(np.eye(3), name="W")
    h0 = ti.vector("h0", "float64")
    hs, _ = ti.scan(lambda x_t, h: ti.tanh(h @ W + x_t), sequences=x, outputs_info=h0)
    return x, W, h0, hs


def test_debugprint_shows_the_scan_then_its_body() -> None:
    x, W, h0, hs = _small_rnn()
    text = ti.debugprint(hs.sum(), file="str")
    assert text == (
        "sum{axes=(0, 1), keepdims=False} [id A] float64[]\n"
        " |scan{body=step, num_carry=1, num_xs=1, length=-1, reverse=False}.1 [id B] float64[?, ?]\n"
        "   |h0 [id C] float64[?]\n"
        "   |x [id D] float64[?, ?]\n"
        "   |W [id E] float64[?, ?] shared\n"
        "\n"
        "Inner graphs:\n"
        "\n"
        "scan{body=step, num_carry=1, num_xs=1, length=-1, reverse=False} [id B]\n"
        " >tanh [id F] float64[?]\n"
        " > |add [id G] float64[?]\n"
        " >   |matmul [id H] float64[?]\n"
        " >   | |h0[t-1] [id I] float64[?]\n"
        " >   | |W [id E] float64[?, ?] shared\n"
        " >   |x[t] [id J] float64[?]\n"
        " >tanh [id F] float64[?]\n"
    )


def test_debugprint_lists_nested_bodies_after_their_scan() -> None:
    x = ti.matrix("x", "float64")

    def row(x_t, acc):
        inner, _ = ti.scan(lambda v, a: a * v, sequences=x_t, outputs_info=acc, name="inner")
        return inner[-1]

    out, _ = ti.scan(row, sequences=x, outputs_info=1.0, name="outer")
    text = ti.debugprint(out, file="str", print_type=False)
    headers = [line for line in text.splitlines() if line.startswith("scan{")]
    assert [h.split(",")[0] for h in headers] == ["scan{body=outer", "scan{body=outer", "scan{body=inner"]
    inner = text.split("scan{body=inner")[-1]
    assert " >mul [id" in inner and "outputs_info[0][t-1][t-1]" in inner


def test_debugprint_of_the_optimised_function_reads_the_body_back() -> None:
    x, W, h0, hs = _small_rnn()
    f = ti.function([x, h0], hs.sum())
    text = ti.debugprint(f, file="str", optimized=True)
    assert "Inner graphs:" in text
    body = text.split("Inner graphs:")[1]
    assert " >tanh" in body and "carry0[t-1]" in body and "xs0[t]" in body
    assert "W [id" in body and "shared" in body  # the constant is the function's own shared variable


def test_to_dot_draws_the_body_as_a_cluster() -> None:
    x, W, h0, hs = _small_rnn()
    text = ti.to_dot(hs)
    assert "compound=true;" in text
    cluster = text.split("subgraph cluster_")[1].split("\n  }")[0]
    assert 'label="body step of ' in cluster
    assert 'label="h0[t-1]\\nfloat64[?]", shape=ellipse' in cluster
    assert 'label="matmul\\nfloat64[?]", shape=box' in cluster
    assert 'label="carry 0\\nfloat64[?]"' in cluster and 'label="y 0\\nfloat64[?]"' in cluster
    # the body reads the shared W drawn outside it
    w_name = [line.split()[0] for line in text.splitlines() if line.strip().startswith("i") and '"W\\n' in line][0]
    assert f"{w_name.strip()} -> n" in cluster
    assert "style=dotted, arrowhead=none, lhead=cluster_" in text


# ---------------------------------------------------------------------------
# Modes


def test_debug_mode_checks_a_function_with_a_scan() -> None:
    x, W, h0, hs = _small_rnn()
    f = ti.function([x, h0], hs, mode="DebugMode")
    xv = np.arange(12.0).reshape(4, 3) / 10
    expected = rnn_numpy(xv, np.zeros(3), np.eye(3), np.eye(3), np.zeros(3))
    np.testing.assert_allclose(f(xv, np.zeros(3)), expected, rtol=1e-9, atol=1e-12)


def test_nan_guard_mode_blames_the_scan_at_the_users_line() -> None:
    x = ti.matrix("x", "float64")
    h0 = ti.vector("h0", "float64")
    logs, _ = ti.scan(lambda x_t, h: h + ti.log(x_t), sequences=x, outputs_info=h0)  # the line blamed
    f = ti.function([x, h0], logs, mode="NanGuardMode")
    np.testing.assert_array_equal(f(np.ones((2, 3)), np.zeros(3)), np.zeros((2, 3)))
    with pytest.raises(NanGuardError) as info:
        f(-np.ones((2, 3)), np.zeros(3))
    msg = str(info.value)
    assert msg.startswith("NanGuardMode: output 0 of function holds 6 NaNs (of 6 elements, first at index (0, 0)); "
                          "tir.scan makes it from operands without one")
    assert "logs, _ = ti.scan(lambda x_t, h: h + ti.log(x_t)" in msg
