"""Agents for the human-in-the-loop, cancel and resume tests (also loaded by `agnostream serve --agents`).

`hitl` is the agent of `reference/agno-sse/agent_run_paused_hitl.sse`: its first turn calls `delete_file`
(requires_confirmation), its second streams "The weather in Paris is sunny and 21C. ". The others answer,
after their held call, with the tool message they got, so a test sees what the model was told. `slow`
streams 200 words 50 ms apart (10 s), for cancels.

Teams: `hitl-team` delegates the user's message to its member `team-recorder`, whose `record` tool needs
confirmation, then answers with what the member said; `guarded-team`'s leader calls its own `record`
(confirmation) itself, then answers with the tool's result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from adapters.models.scripted import FunctionModel, ScriptedCall, ScriptedModel, Turn, step_of
from engine import Agent, Message, Team, Tool


def delete_file(path: str) -> str:
    """Delete a file.

    Args:
        path: The file to delete.
    """
    return f"deleted {path}"


def send_email(subject: str, to_address: str) -> str:
    """Send an email.

    Args:
        subject: The subject.
        to_address: The recipient.
    """
    return f"sent {subject!r} to {to_address}"


def run_shell(command: str) -> str:
    """Run a shell command on the user's machine.

    Args:
        command: The command line.
    """
    raise RuntimeError("an external tool is never executed by the runtime")


def _echo(call: ScriptedCall) -> FunctionModel:
    """Call `call` first; then answer with the content of the last tool message."""

    def turn(messages: Sequence[Message], _tools: Sequence[Tool]) -> Turn:
        if step_of(messages) == 0:
            return Turn(tool_calls=(call,))
        return Turn(text=f"The tool said: {next(m.content for m in reversed(messages) if m.role == 'tool')}")

    return FunctionModel(turn, id="fake-model", provider="OpenAI", name="OpenAI Chat")


def hitl_agent() -> Agent:
    model = ScriptedModel(
        [
            Turn(tool_calls=(ScriptedCall("delete_file", {"path": "/tmp/x.txt"}),)),
            Turn(text="The weather in Paris is sunny and 21C. "),
        ],
        id="fake-model",
        provider="OpenAI",
        name="OpenAI Chat",
    )
    return Agent(
        id="hitl", name="HITL Agent", model=model, tools=[Tool.from_callable(delete_file, requires_confirmation=True)]
    )


def _record(path: str) -> str:
    """Record a call in the file at `path` (the restart test counts executions)."""
    with Path(path).open("a") as f:
        f.write("executed\n")
    return f"recorded in {path}"


def record(path: str) -> str:
    """Record a call in a file.

    Args:
        path: The file to append to.
    """
    return _record(path)


def _record_turn(messages: Sequence[Message], _tools: Sequence[Tool]) -> Turn:
    if step_of(messages) == 0:
        path = next(m.content or "" for m in reversed(messages) if m.role == "user")
        return Turn(tool_calls=(ScriptedCall("record", {"path": path}),))
    return Turn(text="Recorded after your confirmation.")


agents = [
    hitl_agent(),
    Agent(
        id="careful",
        name="Careful Agent",
        model=_echo(ScriptedCall("delete_file", {"path": "/tmp/x.txt"})),
        tools=[Tool.from_callable(delete_file, requires_confirmation=True)],
    ),
    Agent(
        id="mailer",
        name="Mailer",
        model=_echo(ScriptedCall("send_email", {"subject": "Hello"})),
        tools=[Tool.from_callable(send_email, requires_user_input=True, user_input_fields=["to_address"])],
    ),
    Agent(
        id="shell",
        name="Shell Agent",
        model=_echo(ScriptedCall("run_shell", {"command": "ls"})),
        tools=[Tool.from_callable(run_shell, external_execution=True)],
    ),
    Agent(
        id="slow",
        name="Slow Agent",
        model=FunctionModel(
            lambda _m, _t: Turn(text=" ".join(f"w{i}" for i in range(200))),
            id="slow-model",
            provider="Scripted",
            token_delay_s=0.05,
        ),
    ),
    Agent(
        id="recorder",
        name="Recorder",
        model=FunctionModel(_record_turn, id="fake-model", provider="OpenAI", name="OpenAI Chat"),
        tools=[Tool.from_callable(record, requires_confirmation=True)],
    ),
]


def _last(messages: Sequence[Message], role: str) -> str:
    return next(m.content or "" for m in reversed(messages) if m.role == role)


def _lead_turn(messages: Sequence[Message], _tools: Sequence[Tool]) -> Turn:
    if step_of(messages) == 0:
        call = ScriptedCall("delegate_task_to_member", {"member_id": "team-recorder", "task": _last(messages, "user")})
        return Turn(tool_calls=(call,))
    return Turn(text=f"The member said: {_last(messages, 'tool')}")


def _guarded_turn(messages: Sequence[Message], _tools: Sequence[Tool]) -> Turn:
    if step_of(messages) == 0:
        return Turn(tool_calls=(ScriptedCall("record", {"path": _last(messages, "user")}),))
    return Turn(text=f"Recorded: {_last(messages, 'tool')}")


def _model(fn: Callable[[Sequence[Message], Sequence[Tool]], Turn]) -> FunctionModel:
    return FunctionModel(fn, id="fake-model", provider="OpenAI", name="OpenAI Chat")


teams = [
    Team(
        id="hitl-team",
        name="HITL Team",
        model=_model(_lead_turn),
        members=[
            Agent(
                id="team-recorder",
                name="Team Recorder",
                model=_model(_record_turn),
                tools=[Tool.from_callable(record, requires_confirmation=True)],
            )
        ],
    ),
    Team(
        id="guarded-team",
        name="Guarded Team",
        model=_model(_guarded_turn),
        members=[Agent(id="helper", name="Helper", model=_model(lambda _m, _t: Turn(text="ok")))],
        tools=[Tool.from_callable(record, requires_confirmation=True)],
    ),
]
