"""tir passes: one explicit registry, and the ordered standard pipelines.

Every pass is a Python function over the module operation, run as a real
MLIR pass (``PassManager.add`` of a callable) under its registered argument,
so it mixes with upstream passes in one pipeline and shows up in MLIR's IR
printing and timing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..dialects._bindings import ir
from .autodiff import tir_autodiff
from .dce import tir_dce
from .fold import tir_fold
from .hoist import tir_hoist
from .merge import tir_merge
from .pushout import tir_scan_pushout
from .simplify import tir_simplify
from .stabilize import tir_stabilize

__all__ = ["Pass", "PASSES", "PIPELINES", "BEFORE_AUTODIFF", "pipeline_steps"]


@dataclass(frozen=True)
class Pass:
    argument: str
    run: Callable[[ir.Operation], None]
    description: str


PASSES: dict[str, Pass] = {
    p.argument: p
    for p in [
        Pass("tir-autodiff", tir_autodiff, "replace tir.grad/vjp/jvp markers by the derivative computation"),
        Pass("tir-dce", tir_dce, "remove tir ops whose results are unused"),
        Pass("tir-simplify", tir_simplify, "algebraic identities: x * 1, -(-x), x ** 2, transpose of transpose, sums of broadcasts, ..."),
        Pass("tir-merge", tir_merge, "merge equal tir ops and constants (common subexpression elimination)"),
        Pass("tir-stabilize", tir_stabilize, "numerically stable forms: log(1 + x) -> log1p(x), log(sum(exp(x))) -> logsumexp(x), ..."),
        Pass("tir-fold", tir_fold, "replace tir ops of constant operands by the constant they compute"),
        Pass("tir-hoist", tir_hoist, "compute the values of a scan body that do not change across steps once, before the loop"),
        Pass("tir-scan-pushout", tir_scan_pushout, "compute what a scan step computes from its sequence slices alone for all steps at once, before the loop"),
    ]
}

# Ordered tir-level pipelines, by the name users choose (Theano's optimizer modes).
# Every pipeline runs tir-autodiff (markers have no lowering); only passes of
# BEFORE_AUTODIFF may run before it, passes that keep the markers' meaning:
# tir-stabilize (so the stable ops' own gradient rules are used) and tir-merge
# (a forward computation written twice becomes one before differentiation, so
# its backward ops are built once; merge never joins two tir.wrt, see merge.py).
# Merge runs again after autodiff, whose sweeps make their own duplicates, and
# fast_run stabilizes again after simplify (so the backward pass's forms are
# stabilized too). tir-hoist runs once the loop bodies are in their final
# form (after autodiff, which builds the backward loops, and the rewrites),
# so merge and dce after it share the hoisted values of several loops and
# drop the constants the bodies no longer read.
BEFORE_AUTODIFF = frozenset({"tir-stabilize", "tir-merge"})
PIPELINES: dict[str, list[str]] = {
    "fast_run": ["tir-stabilize", "tir-merge", "tir-autodiff", "tir-merge", "tir-fold", "tir-simplify",
                 "tir-stabilize", "tir-hoist", "tir-scan-pushout", "tir-merge", "tir-dce"],
    "fast_compile": ["tir-merge", "tir-autodiff", "tir-merge", "tir-dce"],
    "none": ["tir-autodiff"],
}


def pipeline_steps(name: str) -> list[tuple[Callable[[ir.Operation], None], str]]:
    """(callable, argument) pairs of a named pipeline, for ``run_pipeline``."""
    if name not in PIPELINES:
        raise ValueError(f"unknown pipeline {name!r}; choose one of {sorted(PIPELINES)}")
    return [(PASSES[a].run, a) for a in PIPELINES[name]]
