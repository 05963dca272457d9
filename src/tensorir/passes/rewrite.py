"""A small rewrite driver: named sets of one-identity rules, applied to a fixed point.

A :class:`Rule` is one row: a name, the op it is rooted at, the identity it
applies (``doc``, e.g. ``"x * 1 -> x"``) and a function ``match_and_build(op)``
that returns ``None`` when the identity does not apply, or else the values
that replace ``op``'s results, built with the IR builder of
``passes/autodiff/builder.py`` (``E``, ``op``, ``const``). Rules are grouped
into a :class:`RuleSet` (``simplify``, ``stabilize``) that a pass applies with
:func:`apply_rules`.

The driver is MLIR's greedy pattern driver: each rule becomes a Python
pattern of an ``mlir.rewrite.RewritePatternSet`` rooted at the op name (a
string root works for the IRDL-defined tir ops, which have no ``OpView``
class) and the set is applied with ``apply_patterns_and_fold_greedily``
(through ``dialects/_bindings.py``), without folding, constant CSE or
region simplification, so only the rules change the IR. The driver visits
every op of every block of every function; ``match_and_build`` runs with the
insertion point just before ``op`` and ``op``'s location as the current
location, so replacement ops stand where ``op`` stood and carry its
location. After a replacement the driver erases the tir ops that the
rewrite left without users (tir ops have no side effects), so each rewrite
leaves no dead ops behind; ops that were dead before are left to
``tir-dce``.

Contract of a rule: ``match_and_build`` builds nothing unless it returns a
replacement, and the replacement values have exactly the types of the
results they replace (a rule checks the inferred type, see
:func:`result_type`, before building). A replacement of another type is a
bug of the rule and raises :class:`~tensorir.errors.IRError` naming it.

Which rule fired on which op is recorded while :func:`recording` is active::

    with recording() as fired:
        run_pipeline(module, [(tir_simplify, "tir-simplify")], "tir-simplify")
    for f in fired:
        print(f)        # loc("f.py":3:11): simplify.mul_one on tir.mul
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence, Union

import numpy as np

from ..dialects import OPS, opdef_of
from ..dialects._bindings import RewritePatternSet, Rewriter, add_pattern, apply_patterns, ir
from ..dialects.optable import decode_attr, element_dtype, from_mlir_type, op_attrs, to_mlir_type
from ..errors import IRError, TensorIRError
from .autodiff.builder import E

__all__ = [
    "Rule",
    "RuleSet",
    "Fired",
    "apply_rules",
    "recording",
    "producer",
    "attrs",
    "splat",
    "dtype_of",
    "is_float",
    "result_type",
]

Replacement = Union[ir.Value, E, Sequence[Union[ir.Value, E]]]


@dataclass(frozen=True)
class Rule:
    """One identity: ``match_and_build(op)`` gives ``op``'s replacement or ``None``.

    ``root`` is the name of the op the rule matches (``"tir.mul"``), or a
    tuple of names when one identity holds for a family of ops.
    ``exact``: the replacement equals the original bit for bit on every
    input (any NaN equals any NaN). A rule that is not exact says in its
    ``doc`` how it differs (e.g. more accurate, never less).
    """

    name: str
    root: str | tuple[str, ...]
    match_and_build: Callable[[ir.Operation], "Replacement | None"]
    doc: str = ""
    exact: bool = True

    @property
    def roots(self) -> tuple[str, ...]:
        return (self.root,) if isinstance(self.root, str) else tuple(self.root)


@dataclass(frozen=True)
class RuleSet:
    """Rules a pass applies together, by name (``simplify``, ``stabilize``)."""

    name: str
    rules: tuple[Rule, ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"rule set {self.name!r} has two rules named {rule.name!r}")
            seen.add(rule.name)
            for root in rule.roots:
                if root.startswith("tir.") and root[4:] not in OPS:
                    raise ValueError(f"rule {rule.name!r} is rooted at {root}, which is not a tir op")

    def __getitem__(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(f"rule set {self.name!r} has no rule {name!r}")

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)


@dataclass(frozen=True)
class Fired:
    """One rewrite: rule ``rule`` of set ``rule_set`` replaced an ``op`` at ``location``."""

    rule_set: str
    rule: str
    op: str
    location: str

    def __str__(self) -> str:
        return f"{self.location}: {self.rule_set}.{self.rule} on {self.op}"


_RECORDERS: list[list[Fired]] = []


@contextmanager
def recording() -> Iterator[list[Fired]]:
    """Collect a :class:`Fired` entry for every rewrite made inside the block."""
    fired: list[Fired] = []
    _RECORDERS.append(fired)
    try:
        yield fired
    finally:
        _RECORDERS.remove(fired)


MAX_SWEEPS = 100


def apply_rules(module_op: ir.Operation, rule_set: RuleSet, *, max_sweeps: int = MAX_SWEEPS) -> int:
    """Apply ``rule_set`` to every op nested in ``module_op`` until none applies.

    Returns the number of rewrites. Raises :class:`IRError` when the rules
    still fire after ``max_sweeps`` sweeps over the IR (two rules undoing
    each other), naming the last rules that fired.
    """
    count = [0]
    recent: list[str] = []
    patterns = RewritePatternSet(module_op.context)
    for rule in rule_set:
        for root in rule.roots:
            add_pattern(patterns, root, _pattern(rule, rule_set.name, count, recent))
    try:
        apply_patterns(module_op, patterns, fold=False, max_sweeps=max_sweeps)
    except RuntimeError as exc:
        if "converge" not in str(exc):
            raise
        raise IRError(
            f"the {rule_set.name} rules did not reach a fixed point within {max_sweeps} sweeps; "
            f"the last rewrites were {recent[-8:]}: two rules undo each other"
        ) from None
    return count[0]


def _pattern(
    rule: Rule, set_name: str, count: list[int], recent: list[str]
) -> Callable[[ir.Operation, Rewriter], bool]:
    def rewrite(op: ir.Operation, rewriter: Rewriter) -> bool:
        with op.location, rewriter.insertion_point:
            try:
                out = rule.match_and_build(op)
            except TensorIRError as exc:
                raise IRError(
                    f"rule {set_name}.{rule.name} ({rule.doc}) failed on {op.name} at {op.location}: {exc}"
                ) from exc
        if out is None:
            return False
        values = _values(out)
        old = list(op.results)
        if len(values) != len(old) or any(v.type != r.type for v, r in zip(values, old)):
            raise IRError(
                f"rule {set_name}.{rule.name} ({rule.doc}) replaced {op.name} at {op.location} of type "
                f"{[str(r.type) for r in old]} by values of type {[str(v.type) for v in values]}"
            )
        if any(v == r for v, r in zip(values, old)):
            raise IRError(f"rule {set_name}.{rule.name} replaced {op.name} at {op.location} by itself")
        fired = Fired(set_name, rule.name, op.name, str(op.location))
        operands = list(op.operands)
        rewriter.replace(op, values)
        _erase_dead(operands, rewriter)
        count[0] += 1
        recent.append(rule.name)
        del recent[:-16]
        for recorder in _RECORDERS:
            recorder.append(fired)
        return True

    return rewrite


def _values(out: Replacement) -> list[ir.Value]:
    items = [out] if isinstance(out, (ir.Value, E)) else list(out)
    return [v.value if isinstance(v, E) else v for v in items]


def _erase_dead(values: list[ir.Value], rewriter: Rewriter) -> None:
    """Erase the tir ops defining ``values`` that have no users left, transitively."""
    work = list(values)
    while work:
        op = producer(work.pop())
        if op is None or any(_used(r) for r in op.results):
            continue
        # a value can be pending twice (``c`` of ``c / (c + x)``): drop the
        # other copies of op's results, which would outlive the erased op
        results = list(op.results)
        work = [v for v in work if not any(v == r for r in results)]
        work.extend(op.operands)
        rewriter.erase(op)


def _used(value: ir.Value) -> bool:
    for _ in value.uses:
        return True
    return False


# ---------------------------------------------------------------------------
# Matching helpers shared by the rule sets


def producer(value: ir.Value, name: str | None = None) -> ir.Operation | None:
    """The tir op defining ``value`` (``tir.<name>`` only, when given), else ``None``."""
    if not isinstance(value, ir.OpResult):
        return None
    op = value.owner.operation
    if not op.name.startswith("tir."):
        return None
    if name is not None and op.name != "tir." + name:
        return None
    return op


def attrs(op: ir.Operation) -> dict[str, Any]:
    """The decoded attributes of a tir op (see ``dialects.op_attrs``)."""
    return op_attrs(op, opdef_of(op))


def dtype_of(value: ir.Value) -> str:
    t = value.type
    return "index" if isinstance(t, ir.IndexType) else element_dtype(ir.ShapedType(t).element_type)


def is_float(value: ir.Value) -> bool:
    return dtype_of(value) in ("float32", "float64")


# ops that rearrange or repeat elements: a splat goes through them unchanged
_SPLAT_VIEWS = ("tir.broadcast_to", "tir.expand_dims", "tir.squeeze", "tir.reshape", "tir.transpose")
_SMALL = 64  # non-splat-encoded constants up to this size are checked element by element


def splat(value: ir.Value) -> bool | int | float | None:
    """The one value every element of ``value`` has, when the IR shows it.

    Sees ``tir.constant`` (splat or small), ``tir.full`` and the layout ops
    over them. Signed zeros are kept (``-0.0``); a NaN splat gives NaN.
    """
    op = producer(value)
    while op is not None and op.name in _SPLAT_VIEWS:
        op = producer(op.operands[0])
    if op is None:
        return None
    dtype = dtype_of(op.results[0])
    if op.name == "tir.full":
        with np.errstate(all="ignore"):
            return np.asarray(attrs(op)["value"]).astype(dtype).item()  # type: ignore[no-any-return]
    if op.name != "tir.constant":
        return None
    attr = op.attributes["value"]
    size = math.prod(ir.ShapedType(attr.type).shape)
    if not ir.DenseElementsAttr(attr).is_splat and size > _SMALL:
        return None
    arr = decode_attr("dense", attr).reshape(-1)
    if arr.size == 0:
        return None
    first = arr[0]
    if arr.dtype.kind == "f":
        if np.isnan(first):
            return float("nan") if np.isnan(arr).all() else None
        if not ((arr == first) & (np.signbit(arr) == np.signbit(first))).all():
            return None
    elif not (arr == first).all():
        return None
    return first.item()  # type: ignore[no-any-return]


def result_type(name: str, operands: Sequence[ir.Value | ir.Type], **attributes: Any) -> ir.Type | None:
    """The type ``tir.<name>`` would have (its first result) for operands of
    these values or types, or ``None`` when its type rule rejects them.
    Needs a current context."""
    try:
        operand_types = [from_mlir_type(v.type if isinstance(v, ir.Value) else v) for v in operands]
        types = OPS[name].result_types(operand_types, attributes)
    except TensorIRError:
        return None
    return to_mlir_type(types[0])
