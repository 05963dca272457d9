"""The tir dialect as real MLIR: IRDL generated from the op table, generic
form that prints, parses and prints the same, and verification errors."""

from __future__ import annotations

import numpy as np
import pytest

import tensorir as ti
from tensorir.dialects import OPS, new_context
from tensorir.dialects._bindings import MLIRError, ir
from tensorir.dialects.interpreter import interpret
from tensorir.dialects.optable import irdl_text


def test_irdl_lists_every_op() -> None:
    text = irdl_text(OPS)
    for name in OPS:
        assert f"irdl.operation @{name} " in text


def test_round_trip_print_parse_print(rng: np.random.Generator) -> None:
    @ti.jit
    def f(x, y):
        return ti.where(x > 0, ti.exp(x) * y, ti.log1p(ti.abs(y))).sum(axis=0), (x < y).astype("int32")

    x = rng.standard_normal((3, 4)).astype(np.float32)
    y = rng.standard_normal((1, 4)).astype(np.float32)
    text = f.lower(x, y).as_text("tir")
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        assert module.operation.verify()
        again = str(module)
        with new_context():
            assert str(ir.Module.parse(again)) == again
        out = interpret(module, [x, y])
    got = f(x, y)
    np.testing.assert_allclose(got[0], out[0], rtol=2e-6)
    np.testing.assert_array_equal(got[1], out[1])


def test_unknown_tir_op_is_rejected() -> None:
    with new_context(), ir.Location.unknown():
        with pytest.raises(MLIRError, match="tir.frobnicate"):
            ir.Module.parse(
                'func.func @f(%a: tensor<?xf32>) -> tensor<?xf32> {\n'
                '  %0 = "tir.frobnicate"(%a) : (tensor<?xf32>) -> tensor<?xf32>\n'
                "  return %0 : tensor<?xf32>\n}"
            )


def test_missing_attribute_fails_verification() -> None:
    with new_context(), ir.Location.unknown():
        with pytest.raises(MLIRError):
            ir.Module.parse(
                'func.func @f(%a: tensor<?xf32>) -> tensor<f32> {\n'
                '  %0 = "tir.sum"(%a) {keepdims = false} : (tensor<?xf32>) -> tensor<f32>\n'
                "  return %0 : tensor<f32>\n}"
            )


def test_user_source_line_is_the_op_location(rng: np.random.Generator) -> None:
    @ti.jit
    def f(x):
        return ti.exp(x)  # this line

    text = f.lower(rng.standard_normal(3)).as_text("tir", debug_info=True)
    alias = next(l for l in text.splitlines() if "tir.exp" in l).rsplit("loc(", 1)[1].rstrip(")")
    definition = next(l for l in text.splitlines() if l.startswith(alias + " = loc("))
    assert "test_ir.py" in definition
