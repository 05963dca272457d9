"""Nested containers of arrays (tuples, lists, dicts, None), flattened to leaves.

The structure is a hashable tree definition, so it can key a compile cache.
Dict keys are visited in sorted order, as JAX does.
"""

from __future__ import annotations

from typing import Any, Iterator

__all__ = ["flatten", "unflatten", "TreeDef"]

TreeDef = tuple


def flatten(tree: Any) -> tuple[list[Any], TreeDef]:
    leaves: list[Any] = []
    return leaves, _flatten(tree, leaves)


def unflatten(treedef: TreeDef, leaves: list[Any]) -> Any:
    return _unflatten(treedef, iter(leaves))


# Module-level recursion, not closures: a closure calling itself is a
# reference cycle, which would keep the leaves (a call's arguments and
# results) alive until the cyclic garbage collector runs.
def _flatten(x: Any, leaves: list[Any]) -> TreeDef:
    if isinstance(x, tuple) and not hasattr(x, "_fields"):
        return ("tuple", tuple([_flatten(v, leaves) for v in x]))
    if isinstance(x, list):
        return ("list", tuple([_flatten(v, leaves) for v in x]))
    if isinstance(x, dict):
        keys = sorted(x)
        return ("dict", tuple(keys), tuple([_flatten(x[k], leaves) for k in keys]))
    if x is None:
        return ("none",)
    leaves.append(x)
    return _LEAF


_LEAF: TreeDef = ("leaf",)


def _unflatten(t: TreeDef, it: Iterator[Any]) -> Any:
    kind = t[0]
    if kind == "leaf":
        return next(it)
    if kind == "none":
        return None
    if kind == "tuple":
        return tuple([_unflatten(c, it) for c in t[1]])
    if kind == "list":
        return [_unflatten(c, it) for c in t[1]]
    return {k: _unflatten(c, it) for k, c in zip(t[1], t[2])}


def num_leaves(treedef: TreeDef) -> int:
    kind = treedef[0]
    if kind == "leaf":
        return 1
    if kind == "none":
        return 0
    children = treedef[2] if kind == "dict" else treedef[1]
    return sum(num_leaves(c) for c in children)
