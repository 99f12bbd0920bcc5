"""The pure core of agnostream: event, command and state types, and the run state machine.

Owns: agno-compatible run events (`events`), commands (`commands`), work items (`work`), messages and
tool executions (`messages`), tool and agent definitions (`tools`, `agent`), the session/run state
machine `decide` / `evolve` (`run`) and the replay check (`replay`).
May import: nothing outside the standard library's pure modules. No I/O, no clock, no env, no asyncio
(enforced by import-linter).
"""

from .agent import DEFAULT_NUM_HISTORY_RUNS, Agent, ModelRef
from .commands import COMMAND_TYPES, CancelRun, Command, StartRun, decode_command
from .errors import (
    CommandRejectedError,
    ConfigurationError,
    EngineError,
    EventSequenceError,
    NondeterminismError,
    RunNotActiveError,
    SchemaError,
    UnknownAgentError,
)
from .events import (
    EVENT_TYPES,
    ModelRequestCompleted,
    ModelRequested,
    ModelRequestFailed,
    ModelRequestStarted,
    RunCancelled,
    RunCompleted,
    RunContent,
    RunContentCompleted,
    RunError,
    RunEvent,
    RunStarted,
    ToolCallCompleted,
    ToolCallError,
    ToolCallRequested,
    ToolCallStarted,
    decode_event,
    event_id,
)
from .messages import Message, ModelUsage, Role, ToolCall, ToolExecution
from .replay import Divergence, ReplayReport, comparable, replay_check
from .run import (
    MAX_HISTORY_RUNS,
    TOOL_CALL_LIMIT_MESSAGE,
    CompletedRun,
    Decision,
    DecisionContext,
    RunState,
    RunStatus,
    SessionState,
    decide,
    evolve,
    message_id,
)
from .tools import FRAMEWORK_INJECTED_PARAMS, Tool, tool
from .work import ModelWork, ToolWork, WorkItem, decode_work

__all__ = [
    "COMMAND_TYPES",
    "DEFAULT_NUM_HISTORY_RUNS",
    "EVENT_TYPES",
    "FRAMEWORK_INJECTED_PARAMS",
    "MAX_HISTORY_RUNS",
    "TOOL_CALL_LIMIT_MESSAGE",
    "Agent",
    "CancelRun",
    "Command",
    "CommandRejectedError",
    "CompletedRun",
    "ConfigurationError",
    "Decision",
    "DecisionContext",
    "Divergence",
    "EngineError",
    "EventSequenceError",
    "Message",
    "ModelRef",
    "ModelRequestCompleted",
    "ModelRequestFailed",
    "ModelRequestStarted",
    "ModelRequested",
    "ModelUsage",
    "ModelWork",
    "NondeterminismError",
    "ReplayReport",
    "Role",
    "RunCancelled",
    "RunCompleted",
    "RunContent",
    "RunContentCompleted",
    "RunError",
    "RunEvent",
    "RunNotActiveError",
    "RunStarted",
    "RunState",
    "RunStatus",
    "SchemaError",
    "SessionState",
    "StartRun",
    "Tool",
    "ToolCall",
    "ToolCallCompleted",
    "ToolCallError",
    "ToolCallRequested",
    "ToolCallStarted",
    "ToolExecution",
    "ToolWork",
    "UnknownAgentError",
    "WorkItem",
    "comparable",
    "decide",
    "decode_command",
    "decode_event",
    "decode_work",
    "event_id",
    "evolve",
    "message_id",
    "replay_check",
    "tool",
]
