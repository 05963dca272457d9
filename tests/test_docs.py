"""The runnable examples in public docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "tensorir",
    "tensorir.jit",
    "tensorir.config",
    "tensorir.frontend.autodiff",
    "tensorir.frontend.nn",
    "tensorir.frontend.ops_elementwise",
    "tensorir.frontend.ops_reduce",
    "tensorir.frontend.ops_shape",
    "tensorir.frontend.indexing",
    "tensorir.frontend.ops_linalg",
    "tensorir.frontend.symbolic",
    "tensorir.frontend.nnet",
    "tensorir.function",
    "tensorir.modes",
    "tensorir.printing",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed (run doctest on it)"
    if name == "tensorir.frontend.autodiff":
        assert result.attempted >= 8
