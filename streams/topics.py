"""Topic names and keys, as DESIGN.md fixes them.

| topic                                | key        | what                                     |
|--------------------------------------|------------|------------------------------------------|
| `<prefix>runs.commands`              | session_id | StartRun, ContinueRun, CancelRun         |
| `<prefix>runs.events`                | session_id | every run event (agno names + internal)  |
| `<prefix>work.model`                 | run_id     | ModelWork items                          |
| `<prefix>work.tools`                 | run_id     | ToolWork items                           |
| `<prefix>telemetry`                  | session_id | telemetry envelopes                      |
| `<prefix>deadletter`                 | original   | undecodable / unappliable records        |
"""

from __future__ import annotations

from dataclasses import dataclass

from .transport import TopicSpec

__all__ = ["Topics"]


@dataclass(frozen=True, slots=True)
class Topics:
    """The topic set of one deployment.

    Attributes:
        prefix: topic name prefix (default `agno.`; from settings `AGNOSTREAM_TOPIC_PREFIX`).
        partitions: partitions per topic (default 12; from settings `AGNOSTREAM_PARTITIONS`).
    """

    prefix: str = "agno."
    partitions: int = 12

    @property
    def commands(self) -> str:
        """Run commands topic."""
        return f"{self.prefix}runs.commands"

    @property
    def events(self) -> str:
        """Run events topic."""
        return f"{self.prefix}runs.events"

    @property
    def work_model(self) -> str:
        """Model work topic."""
        return f"{self.prefix}work.model"

    @property
    def work_tools(self) -> str:
        """Tool work topic."""
        return f"{self.prefix}work.tools"

    @property
    def telemetry(self) -> str:
        """Telemetry topic."""
        return f"{self.prefix}telemetry"

    @property
    def deadletter(self) -> str:
        """Dead-letter topic."""
        return f"{self.prefix}deadletter"

    def group(self, name: str) -> str:
        """The consumer group id of processor group `name` (e.g. `process.model`) in this deployment.

        Prefixed like the topics, so two deployments on one cluster never share a group (a member joining
        one would otherwise rebalance the other's workers).
        """
        return f"{self.prefix}{name}"

    def specs(self) -> list[TopicSpec]:
        """Specs of every topic: run events and commands keep data (no deletion); work is short-lived."""
        keep = {"retention.ms": "-1"}
        work = {"retention.ms": str(7 * 24 * 3600 * 1000)}
        return [
            TopicSpec(self.commands, self.partitions, config=keep),
            TopicSpec(self.events, self.partitions, config=keep),
            TopicSpec(self.work_model, self.partitions, config=work),
            TopicSpec(self.work_tools, self.partitions, config=work),
            TopicSpec(self.telemetry, self.partitions, config=work),
            TopicSpec(self.deadletter, self.partitions, config=keep),
        ]
