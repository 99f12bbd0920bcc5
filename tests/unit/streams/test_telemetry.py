from typing import Any

import orjson

from engine import RunCancelled, RunCompleted, RunError, RunStarted
from streams import telemetry_envelope, telemetry_record


def test_completed_run_envelope_has_tokens_and_latency_but_no_content() -> None:
    event = RunCompleted(
        created_at=10, run_id="r", session_id="s", seq=5, agent_id="a", content="secret answer",
        metrics={"input_tokens": 3, "output_tokens": 4, "total_tokens": 7, "duration": 0.5},
    )  # fmt: skip
    envelope = telemetry_envelope(event)
    assert envelope == {
        "version": 1, "runtime": "agnostream", "type": "agent", "run_id": "r", "session_id": "s", "agent_id": "a",
        "created_at": 10, "status": "COMPLETED", "latency_s": 0.5, "input_tokens": 3, "output_tokens": 4,
        "total_tokens": 7,
    }  # fmt: skip
    record = telemetry_record("agno.telemetry", event)
    assert record is not None
    assert record.key == b"s"
    assert b"secret" not in record.value


def test_error_envelope_carries_type_and_code() -> None:
    event = RunError(
        created_at=1, run_id="r", session_id="s", seq=2, content="OPENAI_API_KEY is not set",
        error_type="ModelAuthError", error_id="auth",
    )  # fmt: skip
    envelope = telemetry_envelope(event)
    assert envelope is not None
    assert (envelope["status"], envelope["error_type"], envelope["error_code"]) == ("ERROR", "ModelAuthError", "auth")
    assert "OPENAI_API_KEY" not in orjson.dumps(envelope).decode()


def test_cancelled_and_non_terminal() -> None:
    cancelled = telemetry_envelope(RunCancelled(created_at=1, run_id="r", session_id="s", seq=3))
    assert cancelled is not None
    assert cancelled["status"] == "CANCELLED"
    assert telemetry_envelope(RunStarted(created_at=1, run_id="r", session_id="s", seq=0)) is None
    assert telemetry_record("t", RunStarted(created_at=1, run_id="r", session_id="s", seq=0)) is None


def test_workflow_runs_report_as_workflows() -> None:
    from engine import StepStarted, WorkflowCancelled, WorkflowCompleted, WorkflowError

    common: dict[str, Any] = {"created_at": 1, "run_id": "w1", "session_id": "s", "seq": 4, "workflow_id": "w"}
    done = telemetry_envelope(WorkflowCompleted(content="secret", metrics={"steps": {}, "duration": 0.25}, **common))
    failed = telemetry_envelope(WorkflowError(error="kaput", error_type="RuntimeError", **common))
    cancelled = telemetry_envelope(WorkflowCancelled(reason="stop", **common))

    assert done == {
        "version": 1, "runtime": "agnostream", "type": "workflow", "run_id": "w1", "session_id": "s",
        "workflow_id": "w", "created_at": 1, "status": "COMPLETED", "latency_s": 0.25,
    }  # fmt: skip
    assert failed is not None
    assert (failed["status"], failed["error_type"], failed["error_code"]) == ("ERROR", "RuntimeError", "workflow_error")
    assert cancelled is not None
    assert cancelled["status"] == "CANCELLED"
    assert telemetry_envelope(StepStarted(**common)) is None
