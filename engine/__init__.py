"""The pure core of agnostream: event, command and state types, and the run state machine.

Owns: agno-compatible run events (`events`, registry in `schema`), commands (`commands`), work items
(`work`), messages and tool executions (`messages`), tool and agent definitions (`tools`, `agent`,
`user_input`), the session/run state (`state`) and state machine `decide` (`run`) / `evolve` (`fold`),
human-in-the-loop pauses and continues (`hitl`) and the replay check (`replay`).
May import: nothing outside the standard library's pure modules. No I/O, no clock, no env, no asyncio
(enforced by import-linter).
"""

from .agent import DEFAULT_NUM_HISTORY_RUNS, Agent, ModelRef
from .commands import COMMAND_TYPES, CancelRun, Command, ContinueRun, StartRun, decode_command
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
    ModelRequestCompleted,
    ModelRequested,
    ModelRequestFailed,
    ModelRequestStarted,
    RunCancelled,
    RunCompleted,
    RunContent,
    RunContentCompleted,
    RunContinued,
    RunError,
    RunEvent,
    RunPaused,
    RunStarted,
    ToolCallCompleted,
    ToolCallError,
    ToolCallPaused,
    ToolCallRequested,
    ToolCallStarted,
    event_id,
)
from .fold import evolve
from .hitl import MISSING_UPDATES, REJECTED_NOTE, REJECTED_RESULT, continue_problem, paused_content
from .messages import Message, ModelUsage, Requirement, Role, ToolCall, ToolExecution, UserInputField
from .replay import Divergence, ReplayReport, comparable, replay_check
from .run import TOOL_CALL_LIMIT_MESSAGE, decide
from .schema import EVENT_TYPES, decode_event
from .state import (
    MAX_HISTORY_RUNS,
    CompletedRun,
    Decision,
    DecisionContext,
    RunState,
    RunStatus,
    SessionState,
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
    "MISSING_UPDATES",
    "REJECTED_NOTE",
    "REJECTED_RESULT",
    "TOOL_CALL_LIMIT_MESSAGE",
    "Agent",
    "CancelRun",
    "Command",
    "CommandRejectedError",
    "CompletedRun",
    "ConfigurationError",
    "ContinueRun",
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
    "Requirement",
    "Role",
    "RunCancelled",
    "RunCompleted",
    "RunContent",
    "RunContentCompleted",
    "RunContinued",
    "RunError",
    "RunEvent",
    "RunNotActiveError",
    "RunPaused",
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
    "ToolCallPaused",
    "ToolCallRequested",
    "ToolCallStarted",
    "ToolExecution",
    "ToolWork",
    "UnknownAgentError",
    "UserInputField",
    "WorkItem",
    "comparable",
    "continue_problem",
    "decide",
    "decode_command",
    "decode_event",
    "decode_work",
    "event_id",
    "evolve",
    "message_id",
    "paused_content",
    "replay_check",
    "tool",
]
