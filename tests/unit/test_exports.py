"""Each package's `__all__` lists exactly its public names (STYLE 7.4)."""

from __future__ import annotations

import importlib
import types

import pytest


@pytest.mark.parametrize("name", ["engine", "streams", "projections"])
def test_all_equals_public_names(name: str) -> None:
    module = importlib.import_module(name)
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType) and n != "annotations"
    }
    assert len(set(module.__all__)) == len(module.__all__)  # order is ruff RUF022 (isort-style)
    lazy = set(getattr(module, "_LAZY", {}))  # imported on first use (optional heavy dependencies)
    assert set(module.__all__) == public | lazy
    for lazy_name in lazy:
        assert getattr(module, lazy_name) is not None
