"""Load the agent, team and workflow registries from a Python module path.

The module defines `agents: list[Agent]` (or `get_agents()`), `teams: list[Team]` (or `get_teams()`) and/or
`workflows: list[Workflow]` (or `get_workflows()`); team members and a workflow's step agents need not be
listed in `agents`.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TypeVar

from engine import Agent, ConfigurationError, Team, Workflow

__all__ = ["load_agents", "load_teams", "load_workflows"]

_T = TypeVar("_T")


def _module(module_path: str) -> ModuleType:
    try:
        return importlib.import_module(module_path)
    except ImportError as exc:
        raise ConfigurationError(
            f"cannot import agents module {module_path!r} (set AGNOSTREAM_AGENTS or --agents): {exc}"
        ) from exc


def _listed(module: ModuleType, name: str) -> list[object]:
    items = getattr(module, name, None)
    getter = getattr(module, f"get_{name}", None)
    if items is None and callable(getter):
        items = getter()
    return list(items or ())


def _registry(module_path: str, name: str, items: list[object], kind: type[_T]) -> dict[str, _T]:
    """`items` (the module's `name` list) by id; each must be a `kind` and ids must be unique."""
    registry: dict[str, _T] = {}
    for item in items:
        if not isinstance(item, kind):
            raise ConfigurationError(f"{module_path}.{name} contains {item!r}, which is not an engine.{kind.__name__}")
        item_id = str(getattr(item, "id"))  # noqa: B009 - Agent, Team and Workflow share no base type
        if item_id in registry:
            raise ConfigurationError(f"{module_path}.{name} has two {name} with id {item_id!r}")
        registry[item_id] = item
    return registry


def load_workflows(module_path: str) -> dict[str, Workflow]:
    """Import `module_path` and return its workflows by id (empty when it defines none).

    Raises:
        ConfigurationError: the module cannot be imported, lists something that is not a Workflow, or two
            workflows share an id.
    """
    return _registry(module_path, "workflows", _listed(_module(module_path), "workflows"), Workflow)


def load_teams(module_path: str) -> dict[str, Team]:
    """Import `module_path` and return its teams by id (empty when it defines none).

    Raises:
        ConfigurationError: the module cannot be imported, lists something that is not a Team, or two teams
            share an id.
    """
    return _registry(module_path, "teams", _listed(_module(module_path), "teams"), Team)


def load_agents(module_path: str) -> dict[str, Agent]:
    """Import `module_path` and return its agents by id.

    The module must define `agents` (a list of `engine.Agent`) or a function `get_agents()` returning one,
    unless it defines workflows or teams (then no agents is fine).

    Raises:
        ConfigurationError: the module cannot be imported, defines neither agents nor workflows, or two
            agents share an id.
    """
    module = _module(module_path)
    agents = _listed(module, "agents")
    if not agents and not _listed(module, "workflows") and not _listed(module, "teams"):
        raise ConfigurationError(f"module {module_path!r} defines no `agents` list (or get_agents())")
    return _registry(module_path, "agents", agents, Agent)
