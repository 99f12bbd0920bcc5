"""The HTTP edge: AgentOS-compatible routes (agents, runs with SSE, sessions, health)."""

from .app import create_app

__all__ = ["create_app"]
