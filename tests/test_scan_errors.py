"""ti.scan's errors for bad input, with their messages pinned: at trace time
where the shapes are static, on the call (naming both dims) where they are
free."""

from __future__ import annotations

import numpy as np
import pytest

import tensorir as ti
from tensorir.errors import ArgumentError, DTypeError, ShapeError, UnsupportedError


def _raises(kind: type, f, *args):
    with pytest.raises(kind) as info:
        f(*args)
    return str(info.value)


def test_a_step_returning_the_wrong_number_of_outputs() -> None:
    @ti.jit
    def f(x):
        return ti.scan(lambda x_t, h: h + x_t, sequences=x, outputs_info=[ti.zeros_like(x[0]), None])[0]

    msg = _raises(ArgumentError, f, np.zeros((3, 2)))
    assert msg.startswith("scan: the step function returned 1 output(s) but outputs_info has 2 entries "
                          "(one per output: None for an output that is not fed back)")
    assert "test_scan_errors.py" in msg  # the user's line


def test_a_state_whose_shape_or_dtype_changes_fails_at_trace_time() -> None:
    @ti.jit
    def grows(x):
        return ti.scan(lambda h: ti.concatenate([h, h]), outputs_info=ti.zeros(3), n_steps=2)[0]

    @ti.jit
    def rank(x):
        return ti.scan(lambda h: h[None], outputs_info=ti.zeros(3), n_steps=2)[0]

    @ti.jit
    def dtype(x):
        return ti.scan(lambda h: h + 0.5, outputs_info=ti.zeros(3, "int64"), n_steps=2)[0]

    msg = _raises(ShapeError, grows, np.zeros(2))
    assert msg.startswith("scan: output 0 of the step function (the new outputs_info[0]) is float64 (6,) but the "
                          "state is float64 (3,): a state must keep its dtype and shape from one step to the next\n")
    msg = _raises(ShapeError, rank, np.zeros(2))
    assert "is float64 (1, 3) but the state is float64 (3,)" in msg
    msg = _raises(DTypeError, dtype, np.zeros(2))
    assert "is float64 (3,) but the state is int64 (3,)" in msg and "cast the initial value" in msg


def test_a_state_whose_free_dims_change_fails_on_the_call() -> None:
    @ti.jit
    def f(h0, W):
        return ti.scan(lambda h: h @ W, outputs_info=h0, n_steps=2)[0]

    np.testing.assert_allclose(f(np.ones(3), np.eye(3)), np.ones((2, 3)))
    msg = _raises(ShapeError, f, np.ones(3), np.ones((3, 4)))
    assert msg.startswith("the arguments of f have incompatible shapes: scan: output 0 of the step function (the new "
                          "outputs_info[0]) is float64 (?,) but the state is float64 (?,)")
    assert "W.shape[1] = 4 but h0.shape[0] = 3" in msg


def test_a_size_one_state_that_grows_says_how_to_fix_it() -> None:
    @ti.jit
    def f(x):
        return ti.scan(lambda x_t, h: h + x_t, sequences=x, outputs_info=ti.zeros(1))[0]

    msg = _raises(ShapeError, f, np.zeros((3, 4)))
    assert "is float64 (?,) but the state is float64 (1,)" in msg and "give the initial value the full shape" in msg


def test_sequences_of_different_lengths() -> None:
    @ti.jit
    def static(x):
        return ti.scan(lambda a, b: a + b, sequences=[ti.zeros((3, 2)), ti.zeros((4, 2))])[0]

    @ti.jit
    def free(x, y):
        return ti.scan(lambda a, b: a + b, sequences=[x, y])[0]

    msg = _raises(ShapeError, static, np.zeros(2))
    assert msg.startswith("scan: the sequences give different numbers of steps: sequences[1] has length 4 but "
                          "sequences[0] has length 3; every sequence must give the same number of steps")
    assert free(np.ones((3, 2)), np.ones((3, 2))).shape == (3, 2)
    msg = _raises(ShapeError, free, np.zeros((3, 2)), np.zeros((4, 2)))
    assert msg.startswith("the arguments of free have incompatible shapes: scan: sequences[1] and sequences[0] must "
                          "give the same number of steps")
    assert "x.shape[0] = 3 but y.shape[0] = 4" in msg


def test_sequences_of_different_lengths_with_taps_name_their_steps() -> None:
    @ti.jit
    def f(x):
        return ti.scan(lambda a, b, c: a + b + c, sequences=[dict(input=ti.zeros(6), taps=[-2, 0]), ti.zeros(5)])[0]

    msg = _raises(ShapeError, f, np.zeros(2))
    assert "sequences[1] has length 5 but sequences[0] has length 6 and taps [-2, 0], so 4 steps" in msg


def test_n_steps_inconsistent_with_the_sequences() -> None:
    @ti.jit
    def static(x):
        return ti.scan(lambda a: a, sequences=ti.zeros((3, 2)), n_steps=5)[0]

    @ti.jit
    def free(x, like):
        return ti.scan(lambda a: a, sequences=x, n_steps=like.shape[0])[0]

    msg = _raises(ShapeError, static, np.zeros(2))
    assert msg.startswith("scan: n_steps = 5 but the sequences give 3 steps; leave n_steps out")
    msg = _raises(ShapeError, free, np.zeros((3, 2)), np.zeros(4))
    assert "scan: n_steps must equal the number of steps the sequences give: x.shape[0] = 3 but like.shape[0] = 4" in msg


@pytest.mark.parametrize("n_steps, kind, text", [
    (None, ArgumentError, "scan: without sequences, n_steps must say how many steps to run"),
    (-2, ArgumentError, "scan: n_steps must be >= 0, found -2 (use go_backwards to run backwards)"),
    (2.5, ArgumentError, "scan: n_steps must be an int or a dim from .shape, found float"),
    ("x", ArgumentError, "scan: n_steps must be an int or a dim read from an array's .shape"),
])
def test_bad_n_steps(n_steps, kind, text) -> None:
    @ti.jit
    def f(x):
        return ti.scan(lambda h: h + 1.0, outputs_info=x, n_steps=x.sum() if n_steps == "x" else n_steps)[0]

    assert _raises(kind, f, np.zeros(2)).startswith(text)


@pytest.mark.parametrize("sequences, outputs_info, text", [
    (dict(taps=[-1.5]), None, "scan: the taps of sequences[0] must be a non-empty list of ints, found [-1.5]"),
    (dict(taps="a"), None, "scan: the taps of sequences[0] must be a non-empty list of ints, found 'a'"),
    (dict(taps=[]), None, "scan: the taps of sequences[0] must be a non-empty list of ints, found []"),
    (dict(taps=[0, 0]), None, "scan: the taps of sequences[0] repeat a tap: [0, 0]"),
    (None, dict(taps=[0]), "scan: the taps of outputs_info[0] must be negative (-1 is the previous step's value), "
                           "found [0]"),
    (None, dict(taps=[-1, 2]), "scan: the taps of outputs_info[0] must be negative"),
    (None, dict(taps=[True]), "scan: the taps of outputs_info[0] must be a non-empty list of ints, found [True]"),
])
def test_bad_taps(sequences, outputs_info, text) -> None:
    @ti.jit
    def f(x):
        seq = dict(input=x, **sequences) if sequences is not None else x
        out = dict(initial=x, **outputs_info) if outputs_info is not None else None
        return ti.scan(lambda *args: args[0], sequences=seq, outputs_info=out)[0]

    assert _raises(ArgumentError, f, np.zeros((4, 2))).startswith(text)


def test_output_taps_without_an_initial_value() -> None:
    @ti.jit
    def f(x):
        return ti.scan(lambda x_t: x_t, sequences=x, outputs_info=dict(taps=[-1]))[0]

    assert _raises(ArgumentError, f, np.zeros(3)).startswith(
        "scan: outputs_info[0] has taps [-1] but no initial value")


def test_a_scalar_sequence() -> None:
    @ti.jit
    def f(x):
        return ti.scan(lambda a: a, sequences=x.sum())[0]

    assert _raises(ShapeError, f, np.zeros(3)).startswith(
        "scan: sequences[0] is a scalar (float64); a sequence needs a first axis to iterate over")


@pytest.mark.parametrize("form", ["dict", "tuple"])
def test_updates_returned_by_the_step(form: str) -> None:
    w = ti.shared(np.zeros(2), name="w")

    @ti.jit
    def f(x):
        if form == "dict":
            return ti.scan(lambda a: {w: w + a}, sequences=x)[0]
        return ti.scan(lambda a: (a, {w: w + a}), sequences=x)[0]

    msg = _raises(UnsupportedError, f, np.zeros((3, 2)))
    assert msg.startswith("scan: the step function returned updates (of 'w'); updates of shared variables inside a "
                          "scan are not supported")


def test_an_initial_value_too_short_for_its_taps() -> None:
    @ti.jit
    def f(y0):
        return ti.scan(lambda a, b: a + b, outputs_info=dict(initial=y0, taps=[-2, -1]), n_steps=3)[0]

    @ti.jit
    def scalar(y0):
        return ti.scan(lambda a: a, outputs_info=dict(initial=y0.sum(), taps=[-2]), n_steps=3)[0]

    assert _raises(ShapeError, f, np.zeros(1)).startswith(
        "scan: outputs_info[0] has taps [-2, -1], so its initial value needs at least 2 rows (y[-2] ... y[-1]); found 1")
    msg = _raises(ShapeError, f, np.zeros(0))  # a free length: checked on the call
    assert msg.startswith("the arguments of f have incompatible shapes: scan: the initial value of outputs_info[0] "
                          "needs at least 2 rows (y[-2] ... y[-1]) for its taps [-2, -1]")
    assert _raises(ShapeError, scalar, np.zeros(3)).startswith(
        "scan: outputs_info[0] has taps [-2], so its initial value must hold y[-2] ... y[-1] along its first axis")


def test_a_sequence_too_short_for_its_taps() -> None:
    @ti.jit
    def f(x):
        return ti.scan(lambda a, b: a + b, sequences=dict(input=x, taps=[-2, 0]))[0]

    assert _raises(ShapeError, f, np.zeros(1)).startswith(
        "scan: sequences[0] has length 1, shorter than the span of its taps [-2, 0] (2 rows besides the current one)")
    assert _raises(ShapeError, f, np.zeros(0)).startswith(
        "the arguments of f have incompatible shapes: scan: sequences[0] must be at least 2 long for its taps [-2, 0]")
    assert f(np.arange(2.0)).shape == (0,)  # exactly the span: no step


def test_other_bad_arguments() -> None:
    @ti.jit
    def not_callable(x):
        return ti.scan(3, sequences=x)[0]

    @ti.jit
    def nothing(x):
        return ti.scan(lambda a: None, sequences=x)[0]

    @ti.jit
    def bad_dict(x):
        return ti.scan(lambda a: a, sequences=dict(value=x))[0]

    @ti.jit
    def bad_info(x):
        return ti.scan(lambda a, h: a, sequences=x, outputs_info=dict(init=x[0]))[0]

    @ti.jit
    def no_accumulator(x):
        return ti.reduce(lambda a: a, sequences=x, outputs_info=None)[0]

    @ti.jit
    def strict(x, w):
        return ti.scan(lambda a: a * w, sequences=x, strict=True)[0]

    x = np.zeros((3, 2))
    assert _raises(ArgumentError, not_callable, x).startswith(
        "scan(fn, ...): fn must be a function of the per-step values, found int")
    assert _raises(ArgumentError, nothing, x).startswith(
        "scan: the step function returned nothing; it must return the step's outputs")
    assert _raises(ArgumentError, bad_dict, x).startswith(
        "scan: sequences[0] must be an array or dict(input=x, taps=[...]), found a dict with keys ['value']")
    assert _raises(ArgumentError, bad_info, x).startswith(
        "scan: outputs_info[0] must be None, an initial value or dict(initial=x0, taps=[...]); found a dict with keys ['init']")
    assert _raises(ArgumentError, no_accumulator, x).startswith(
        "reduce: every output needs an initial value in outputs_info (the accumulator)")
    msg = _raises(ArgumentError, strict, x, np.ones(2))
    assert msg.startswith("scan(strict=True): the step function reads <Variable 'w' float64[?]>, which is not in "
                          "non_sequences; pass it there")
