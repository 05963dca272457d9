"""Bad input gets a typed exception naming the argument, what was expected,
what was found and how to fix it; nothing crashes the process."""

from __future__ import annotations

import numpy as np
import pytest

import tensorir as ti


@ti.jit
def add(x, y):
    return x + y


def test_list_argument_is_rejected_with_a_fix() -> None:
    with pytest.raises(ti.ArgumentError, match=r"argument 'x'.*list.*np\.asarray"):
        add([1.0, 2.0], np.ones(2))


def test_unsupported_dtype_names_the_argument() -> None:
    with pytest.raises(ti.DTypeError, match=r"argument 'y'.*float16.*astype\(np\.float32\)"):
        add(np.ones(2), np.ones(2, np.float16))
    with pytest.raises(ti.DTypeError, match=r"argument 'x'.*complex128"):
        add(np.ones(2, complex), np.ones(2))


def test_object_argument() -> None:
    with pytest.raises(ti.ArgumentError, match=r"argument 'y'.*expected a NumPy array.*str"):
        add(np.ones(2), "two")


def test_wrong_number_of_arguments() -> None:
    with pytest.raises(ti.ArgumentError, match=r"add\(\) called with 3 argument"):
        add(np.ones(2), np.ones(2), np.ones(2))


def test_static_shape_mismatch_points_at_the_user_line() -> None:
    with pytest.raises(ti.ShapeError, match=r"shapes \(3,\), \(4,\) cannot be broadcast together: axis -1 has sizes 3 and 4") as info:
        ti.jit(lambda a: a + ti.add(np.ones(3), np.ones(4)))(np.ones(3))
    assert "test_errors.py" in str(info.value)


def test_free_shape_mismatch_is_caught_at_call_time() -> None:
    add(np.ones(3), np.ones(3))
    with pytest.raises(ti.ShapeError, match=r"incompatible shapes.*x\.shape\[0\] = 3 but y\.shape\[0\] = 5") as info:
        add(np.ones(3), np.ones(5))
    assert "return x + y" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_python_if_on_traced_value() -> None:
    @ti.jit
    def f(x):
        if x.sum() > 0:
            return x
        return -x

    with pytest.raises(ti.TracerBoolConversionError, match=r"Python bool.*tensorir\.where"):
        f(np.ones(3))


def test_python_while_on_traced_value() -> None:
    @ti.jit
    def f(x):
        while x.max() > 1:
            x = x / 2
        return x

    with pytest.raises(ti.TracerBoolConversionError, match="tensorir.scan"):
        f(np.ones(3))


def test_float_of_traced_value() -> None:
    with pytest.raises(ti.TracerError, match="converted to a Python number"):
        ti.jit(lambda x: x * float(x.sum()))(np.ones(3))


def test_numpy_function_on_traced_value() -> None:
    with pytest.raises(ti.TracerError, match="use tensorir functions"):
        ti.jit(lambda x: np.asarray(x) + 1)(np.ones(3))


def test_len_of_free_dim() -> None:
    with pytest.raises(ti.TracerError, match="first dimension is free"):
        ti.jit(lambda x: x * len(x))(np.ones(3))


def test_returning_a_non_array() -> None:
    with pytest.raises(ti.ArgumentError, match="must return arrays"):
        ti.jit(lambda x: "done")(np.ones(3))


def test_non_finite_inputs_when_asked() -> None:
    f = ti.jit(lambda x: x * 2, check_finite=True)
    np.testing.assert_array_equal(f(np.ones(2)), [2.0, 2.0])
    with pytest.raises(ti.NonFiniteError, match=r"argument 'x' holds 1 NaN or infinite"):
        f(np.array([1.0, np.nan]))


def test_non_finite_values_propagate_by_default() -> None:
    out = ti.jit(lambda x: x * 2)(np.array([np.inf, np.nan, -np.inf]))
    assert np.isposinf(out[0]) and np.isnan(out[1]) and np.isneginf(out[2])


def test_unhashable_static_argument() -> None:
    f = ti.jit(lambda x, n: x * n, static_argnums=1)
    np.testing.assert_array_equal(f(np.ones(2), 3), [3.0, 3.0])
    with pytest.raises(ti.ArgumentError, match="must be hashable"):
        f(np.ones(2), [3])


def test_bitwise_on_floats() -> None:
    with pytest.raises(ti.TracerError, match="bool arrays only"):
        ti.jit(lambda x: x & x)(np.ones(2))


def test_errors_are_typed_subclasses() -> None:
    assert issubclass(ti.ShapeError, ValueError)
    assert issubclass(ti.DTypeError, TypeError)
    assert issubclass(ti.TracerBoolConversionError, TypeError)
    assert issubclass(ti.NonFiniteError, FloatingPointError)
    for cls in (ti.ShapeError, ti.DTypeError, ti.ArgumentError, ti.CompileError):
        assert issubclass(cls, ti.TensorIRError)


def test_negating_a_bool_array() -> None:
    with pytest.raises(ti.DTypeError, match="logical_not"):
        ti.jit(lambda x: -x)(np.array([True, False]))
