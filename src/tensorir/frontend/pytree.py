"""Nested containers of arrays (tuples, lists, dicts, None), flattened to leaves.

The structure is a hashable tree definition, so it can key a compile cache.
Dict keys are visited in sorted order, as JAX does.
"""

from __future__ import annotations

from typing import Any

__all__ = ["flatten", "unflatten", "TreeDef"]

TreeDef = tuple


def flatten(tree: Any) -> tuple[list[Any], TreeDef]:
    leaves: list[Any] = []

    def go(x: Any) -> TreeDef:
        if isinstance(x, tuple) and not hasattr(x, "_fields"):
            return ("tuple", tuple(go(v) for v in x))
        if isinstance(x, list):
            return ("list", tuple(go(v) for v in x))
        if isinstance(x, dict):
            keys = sorted(x)
            return ("dict", tuple(keys), tuple(go(x[k]) for k in keys))
        if x is None:
            return ("none",)
        leaves.append(x)
        return ("leaf",)

    return leaves, go(tree)


def unflatten(treedef: TreeDef, leaves: list[Any]) -> Any:
    it = iter(leaves)

    def build(t: TreeDef) -> Any:
        kind = t[0]
        if kind == "leaf":
            return next(it)
        if kind == "none":
            return None
        if kind == "tuple":
            return tuple(build(c) for c in t[1])
        if kind == "list":
            return [build(c) for c in t[1]]
        return {k: build(c) for k, c in zip(t[1], t[2])}

    return build(treedef)


def num_leaves(treedef: TreeDef) -> int:
    kind = treedef[0]
    if kind == "leaf":
        return 1
    if kind == "none":
        return 0
    children = treedef[2] if kind == "dict" else treedef[1]
    return sum(num_leaves(c) for c in children)
