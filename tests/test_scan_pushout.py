"""tir-scan-pushout: sequence-only step values computed for all steps before the loop."""

from __future__ import annotations

import numpy as np
import pytest

import tensorir as ti
from tensorir.dialects import new_context
from tensorir.dialects._bindings import ir
from tensorir.dialects.interpreter import interpret
from tensorir.frontend.emit import emit_function
from tensorir.frontend.trace import ArgSpec, trace
from tensorir.lowering.cpu import run_pipeline
from tensorir.passes import PASSES, PIPELINES

from conftest import op_counts


def _module_text(f, *args: np.ndarray) -> str:
    specs = [ArgSpec(f"a{i}", a.dtype.name, tuple(d == 1 for d in a.shape)) for i, a in enumerate(args)]
    traced = trace(f, f.__name__, ("tuple", tuple(("leaf",) for _ in args)), specs)
    with new_context(), ir.Location.unknown():
        module = ir.Module.create()
        emit_function(module, "main", traced.inputs, traced.outputs, traced.updates)
        return str(module)


def _run(text: str, names: tuple[str, ...], args: list[np.ndarray]) -> tuple[list[np.ndarray], dict, dict]:
    """Interpreter outputs after the passes, and the op counts of the body
    function(s) and of the entry function."""
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        run_pipeline(module, [(PASSES[n].run, n) for n in names], "test")
        assert module.operation.verify()
        out = interpret(module, args, "main")
        counts: dict[str, dict] = {"body": {}, "main": {}}
        for view in module.body.operations:
            fn = view.operation
            where = "main" if ir.StringAttr(fn.attributes["sym_name"]).value == "main" else "body"
            for name, k in op_counts(fn).items():
                counts[where][name] = counts[where].get(name, 0) + k
        return out, counts["body"], counts["main"]


def _rnn(xs, h0, W, U, b):
    hs, _ = ti.scan(lambda x_t, h: ti.tanh(h @ W + (x_t @ U + b)), sequences=xs, outputs_info=h0)
    return hs


def _numpy_rnn(xs, h0, W, U, b):
    h, out = h0, []
    for x in xs:
        h = np.tanh(h @ W + (x @ U + b))
        out.append(h)
    return np.stack(out)


def test_pushout_is_in_the_fast_run_pipeline_after_autodiff_and_before_dce() -> None:
    steps = PIPELINES["fast_run"]
    assert steps.index("tir-autodiff") < steps.index("tir-scan-pushout") < steps.index("tir-dce")


def test_rnn_input_projection_becomes_one_batched_matmul(rng: np.random.Generator) -> None:
    T, B, I, H = 6, 3, 4, 5
    args = [rng.standard_normal((T, B, I)), rng.standard_normal((B, H)), rng.standard_normal((H, H)) * 0.4,
            rng.standard_normal((I, H)), rng.standard_normal(H)]
    text = _module_text(_rnn, *args)
    before, body0, main0 = _run(text, (), args)
    after, body1, main1 = _run(text, ("tir-scan-pushout", "tir-dce"), args)
    np.testing.assert_allclose(after[0], _numpy_rnn(*args), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(before[0], after[0])
    assert body0["tir.matmul"] == 2 and body1["tir.matmul"] == 1  # only h @ W is left in the step
    assert main0.get("tir.matmul", 0) == 0 and main1["tir.matmul"] == 1  # xs @ U, once for all steps
    assert body1.get("tir.add", 0) == 1 and main1["tir.add"] == 1  # + b moved out with it


def test_rnn_compiled_with_fast_run_matches_numpy_for_several_lengths(rng: np.random.Generator) -> None:
    f = ti.jit(_rnn)
    W, U, b = rng.standard_normal((5, 5)) * 0.4, rng.standard_normal((4, 5)), rng.standard_normal(5)
    for T, B in [(2, 2), (7, 3), (12, 5)]:
        xs, h0 = rng.standard_normal((T, B, 4)), rng.standard_normal((B, 5))
        np.testing.assert_allclose(f(xs, h0, W, U, b), _numpy_rnn(xs, h0, W, U, b), rtol=1e-12, atol=1e-12)
    assert f.compile_count == 1
    assert "tir.matmul" in f.lower(xs, h0, W, U, b).as_text("tir-opt").split("tir.scan")[0].split("func.func public")[1]


def _reduce_then_scale(xs, c0):
    out, _ = ti.scan(lambda x_t, c: c * ti.exp(x_t).sum(axis=-1) - x_t.max(axis=1), sequences=xs, outputs_info=c0)
    return out


def test_reductions_shift_their_axes(rng: np.random.Generator) -> None:
    args = [rng.standard_normal((5, 4, 3)), rng.standard_normal(4)]
    text = _module_text(_reduce_then_scale, *args)
    (before,), _, _ = _run(text, (), args)
    (after,), body, main = _run(text, ("tir-scan-pushout", "tir-dce"), args)
    c, expect = args[1], []
    for x in args[0]:
        c = c * np.exp(x).sum(axis=-1) - x.max(axis=1)
        expect.append(c)
    np.testing.assert_allclose(after, np.stack(expect), rtol=1e-12)
    np.testing.assert_array_equal(after, before)
    assert main.get("tir.sum", 0) == 1 and body.get("tir.sum", 0) == 0
    assert main.get("tir.max", 0) == 1 and body.get("tir.max", 0) == 0
    assert main.get("tir.exp", 0) == 1 and body.get("tir.exp", 0) == 0


@pytest.mark.parametrize("case", ["lower_rank_slice", "vector_on_the_right", "reads_the_carry"])
def test_what_stays_in_the_step(case: str, rng: np.random.Generator) -> None:
    """A slice of lower rank than the result (it broadcasts against a constant),
    a vector on the right of a matmul with a constant on the left, and ops that
    read the carry have no batched form here: they stay, results unchanged."""
    K = rng.standard_normal((4, 4))

    def f(xs, c0, K):
        def step(x_t, c):
            if case == "lower_rank_slice":
                return c + (x_t + K).sum(axis=0)
            if case == "vector_on_the_right":
                return c + (K @ x_t).sum()
            return ti.exp(c * x_t)
        out, _ = ti.scan(step, sequences=xs, outputs_info=c0)
        return out

    args = [rng.standard_normal((6, 4)), rng.standard_normal(4), K]
    text = _module_text(f, *args)
    (before,), body0, _ = _run(text, (), args)
    (after,), body1, main1 = _run(text, ("tir-scan-pushout", "tir-dce"), args)
    np.testing.assert_allclose(after, before, rtol=1e-14)
    moved = {"lower_rank_slice": "tir.add", "vector_on_the_right": "tir.matmul", "reads_the_carry": "tir.exp"}[case]
    assert body1.get(moved, 0) == body0.get(moved, 0) and moved not in main1


# -- accumulators, summed after the loop ----------------------------------------


def _accumulate(case: str, backwards: bool):
    def f(xs, ys, C, a0):
        def step(x_t, y_t, acc):
            if case == "seq_seq":
                return acc + x_t.T @ ti.tanh(y_t)
            if case == "const_left":
                return acc + C.T @ (x_t * 2.0)
            if case == "const_right":
                return acc + ti.tanh(x_t).T @ C
            return acc + ti.sin(y_t).sum(axis=0)
        out, _ = ti.reduce(step, sequences=[xs, ys], outputs_info=a0, go_backwards=backwards)
        return out

    return f


def _numpy_accumulate(case: str, xs, ys, C, a0):
    acc = a0
    for x, y in zip(xs, ys):  # a sum: the order only changes rounding
        acc = acc + {
            "seq_seq": lambda: x.T @ np.tanh(y),
            "const_left": lambda: C.T @ (x * 2.0),
            "const_right": lambda: np.tanh(x).T @ C,
            "sum": lambda: np.sin(y).sum(axis=0),
        }[case]()
    return acc


@pytest.mark.parametrize("backwards", [False, True])
@pytest.mark.parametrize("case", ["seq_seq", "const_left", "const_right", "sum"])
def test_accumulators_are_summed_after_the_loop(case: str, backwards: bool, rng: np.random.Generator) -> None:
    """``acc + transpose(p_t) @ q_t`` becomes one matrix product over the
    stacked steps after the loop (a constant factor is taken out of the
    sum), ``acc + sum(q_t, axes)`` one sum: the accumulator leaves the loop."""
    T, B, I, H = 7, 3, 4, 4
    xs, ys = rng.standard_normal((T, B, I)), rng.standard_normal((T, B, H))
    C = rng.standard_normal((B, H))
    a0 = rng.standard_normal((H,) if case == "sum" else (I, H))
    args = [xs, ys, C, a0]
    text = _module_text(_accumulate(case, backwards), *args)
    (before,), body0, _ = _run(text, (), args)
    (after,), body1, main1 = _run(text, ("tir-scan-pushout", "tir-dce"), args)
    np.testing.assert_allclose(after, _numpy_accumulate(case, *args), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(after, before, rtol=1e-12, atol=1e-12)
    moved = "tir.sum" if case == "sum" else "tir.matmul"
    assert body0[moved] == 1 and body1.get(moved, 0) == 0 and main1[moved] >= 1
    assert "tir.add" not in body1  # the accumulation is gone from the step
    # compiled, for several lengths (zero steps leave the initial value)
    f = ti.jit(_accumulate(case, backwards))
    for n in (1, 5, 0):
        got = f(xs[:n], ys[:n], C, a0)
        np.testing.assert_allclose(got, _numpy_accumulate(case, xs[:n], ys[:n], C, a0), rtol=1e-12, atol=1e-12)


def test_rnn_weight_gradients_are_one_gemm_each_after_the_backward_loop(rng: np.random.Generator) -> None:
    """The backward loop of an RNN keeps only the state's cotangent as a
    carry: dW, dU and db are one matrix product or sum each over all steps
    after it (as backpropagation through time is written by hand)."""
    T, B, I, H = 6, 3, 4, 5
    xs, h0 = rng.standard_normal((T, B, I)), rng.standard_normal((B, H))
    W, U, b = rng.standard_normal((H, H)) * 0.4, rng.standard_normal((I, H)), rng.standard_normal(H)

    def loss(W, U, b, xs, h0):
        return _rnn(xs, h0, W, U, b).sum()

    vg = ti.value_and_grad(loss, argnums=(0, 1, 2))
    value, (dW, dU, db) = vg(W, U, b, xs, h0)
    # float64 backpropagation through time
    hs = [h0]
    for x in xs:
        hs.append(np.tanh(hs[-1] @ W + x @ U + b))
    dz, dh = [], np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        d = (1.0 + dh) * (1 - hs[t + 1] ** 2)
        dz.insert(0, d)
        dh = d @ W.T
    dz = np.stack(dz)
    np.testing.assert_allclose(value, np.sum(hs[1:]), rtol=1e-12)
    np.testing.assert_allclose(dW, np.einsum("tbi,tbj->ij", np.stack(hs[:-1]), dz), rtol=1e-10)
    np.testing.assert_allclose(dU, np.einsum("tbi,tbj->ij", xs, dz), rtol=1e-10)
    np.testing.assert_allclose(db, dz.sum(axis=(0, 1)), rtol=1e-10)
    text = vg.lower(W, U, b, xs, h0).as_text("tir-opt")
    backward = [line for line in text.splitlines() if '"tir.scan"' in line and "reverse = true" in line]
    assert len(backward) == 1 and "num_carry = 1 " in backward[0]
    vjp_body = text.split("_vjp")[1].split("func.func")[0]
    assert "tir.matmul" in vjp_body and vjp_body.count("tir.matmul") == 1  # dz @ W.T only
    assert text.count('"tir.reshape"') >= 3  # the stacked rows of h, x and dz


def test_a_sequence_broadcast_along_the_steps_is_read_as_a_constant(rng: np.random.Generator) -> None:
    def f(xs, c0, v):
        ones = ti.broadcast_to(v, xs.shape)  # the same row at every step
        out, _ = ti.scan(lambda x_t, o_t, c: c * o_t + x_t, sequences=[xs, ones], outputs_info=c0)
        return out

    args = [rng.standard_normal((6, 3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((1, 3, 4))]
    text = _module_text(f, *args)
    (before,), _, _ = _run(text, (), args)
    (after,), body, main = _run(text, ("tir-scan-pushout", "tir-dce"), args)
    np.testing.assert_array_equal(after, before)
    c, expect = args[1], []
    for x in args[0]:
        c = c * args[2][0] + x
        expect.append(c)
    np.testing.assert_allclose(after, np.stack(expect), rtol=1e-12)
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        run_pipeline(module, [(PASSES["tir-scan-pushout"].run, "tir-scan-pushout")], "test")
        (scan,) = [op for op in _walk(module) if op.name == "tir.scan"]
        assert ir.IntegerAttr(scan.attributes["num_xs"]).value == 1


def test_a_per_step_output_that_is_a_sequence_slice_is_the_sequence(rng: np.random.Generator) -> None:
    def f(xs, c0):
        (cs, copies), _ = ti.scan(lambda x_t, c: (c + x_t, x_t), sequences=xs, outputs_info=[c0, None])
        return cs, copies

    args = [rng.standard_normal((5, 3)), rng.standard_normal(3)]
    text = _module_text(f, *args)
    (cs, copies), _, main = _run(text, ("tir-scan-pushout", "tir-dce"), args)
    np.testing.assert_array_equal(copies, args[0])
    np.testing.assert_allclose(cs, args[1] + np.cumsum(args[0], axis=0), rtol=1e-12)
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        run_pipeline(module, [(PASSES["tir-scan-pushout"].run, "tir-scan-pushout")], "test")
        (scan,) = [op for op in _walk(module) if op.name == "tir.scan"]
        assert len(list(scan.results)) == 2  # the final carry and the stacked carries; the copy is xs


def _walk(module: ir.Module) -> list:
    from tensorir.dialects._bindings import walk

    return walk(module.operation)
