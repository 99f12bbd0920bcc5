"""Load the agent registry from a Python module path (the module defines `agents: list[Agent]`)."""

from __future__ import annotations

import importlib

from engine import Agent, ConfigurationError

__all__ = ["load_agents"]


def load_agents(module_path: str) -> dict[str, Agent]:
    """Import `module_path` and return its agents by id.

    The module must define `agents` (a list of `engine.Agent`) or a function `get_agents()` returning one.

    Raises:
        ConfigurationError: the module cannot be imported, defines no agents, or two agents share an id.
    """
    try:
        module = importlib.import_module(module_path)
    except ImportError as exc:
        raise ConfigurationError(
            f"cannot import agents module {module_path!r} (set AGNOSTREAM_AGENTS or --agents): {exc}"
        ) from exc
    agents = getattr(module, "agents", None)
    if agents is None and callable(getattr(module, "get_agents", None)):
        agents = module.get_agents()
    if not agents:
        raise ConfigurationError(f"module {module_path!r} defines no `agents` list (or get_agents())")
    registry: dict[str, Agent] = {}
    for agent in agents:
        if not isinstance(agent, Agent):
            raise ConfigurationError(f"{module_path}.agents contains {agent!r}, which is not an engine.Agent")
        if agent.id in registry:
            raise ConfigurationError(f"{module_path}.agents has two agents with id {agent.id!r}")
        registry[agent.id] = agent
    return registry
