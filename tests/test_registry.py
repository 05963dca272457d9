"""Every op of the table has every fact the stages need (CONVENTIONS.md)."""

from __future__ import annotations

import pytest

from tensorir.dialects import OPS
from tensorir.lowering.scan import LOWERS as LOOP_LOWERED
from tensorir.lowering.to_linalg import RULES
from tensorir.passes import BEFORE_AUTODIFF, PASSES, PIPELINES
from tensorir.passes.autodiff import JVP, VJP


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_has_type_rule_reference_and_lowering(name: str) -> None:
    op = OPS[name]
    assert callable(op.infer), f"tir.{name} has no type rule"
    assert callable(op.reference), f"tir.{name} has no reference implementation"
    if op.family == "autodiff":
        assert name not in RULES, f"tir.{name} is expanded by tir-autodiff, it has no lowering"
    elif op.family == "control":
        assert name in LOOP_LOWERED and name not in RULES, f"tir.{name} has no lowering to a loop"
    else:
        assert name in RULES, f"tir.{name} has no lowering to linalg"
    assert op.doc, f"tir.{name} has no one-line description"


def test_no_lowering_for_unknown_ops() -> None:
    assert set(RULES) <= set(OPS)


def test_pipelines_name_registered_passes() -> None:
    for name, steps in PIPELINES.items():
        for step in steps:
            assert step in PASSES, f"pipeline {name} names unknown pass {step}"


@pytest.mark.parametrize("name", sorted(OPS))
def test_differentiable_ops_have_gradient_rules(name: str) -> None:
    op = OPS[name]
    if op.differentiable:
        assert name in VJP, f"tir.{name} is differentiable but has no reverse-mode (VJP) rule"
        assert name in JVP, f"tir.{name} is differentiable but has no forward-mode (JVP) rule"
    else:
        assert name not in VJP and name not in JVP, f"tir.{name} is not differentiable but has a rule"


def test_every_pipeline_runs_autodiff_after_only_marker_safe_passes() -> None:
    for name, steps in PIPELINES.items():
        assert "tir-autodiff" in steps, name
        before = steps[: steps.index("tir-autodiff")]
        assert set(before) <= BEFORE_AUTODIFF == {"tir-stabilize", "tir-merge"}, (name, before)
