"""The runtime on a real Kafka broker (marker `broker`): runs, projections and BFCL cases end to end."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from adapters.runtime import Runtime
from projections import SqliteViewStore
from streams import KafkaLog, Topics
from tests.conftest import capture_agent
from tests.kafka_broker import BOOTSTRAP, broker_marks

pytestmark = [*broker_marks(), pytest.mark.timeout(300)]


async def test_runs_with_tool_calls_complete_once_on_kafka(tmp_path: Path) -> None:
    topics = Topics(prefix=f"it-{uuid.uuid4().hex[:8]}.", partitions=3)
    runtime = Runtime(
        KafkaLog(BOOTSTRAP, transactional_id=f"it-{uuid.uuid4().hex[:8]}"),
        topics,
        {"a1": capture_agent()},
        view_store=SqliteViewStore(tmp_path / "views.db"),
    )
    await runtime.start()
    try:
        finals = []
        for i in range(6):
            _cmd, sub = await runtime.start_run("a1", "What's the weather in Paris?", session_id=f"s{i % 2}")
            events = [e async for e in sub]
            finals.append(events[-1])
            names = [e["event"] for e in events if not e.get("part") or e["event"] != "RunContent"]
            assert names.count("RunCompleted") == 1
        assert all(e["event"] == "RunCompleted" for e in finals)
        assert runtime.projection is not None
        await runtime.projection.wait_caught_up(timeout_s=60)
        runs = runtime.projection.store.get_runs("s0") + runtime.projection.store.get_runs("s1")
        assert sorted(r["run_index"] for r in runs) == [0, 0, 1, 1, 2, 2]
        assert all(r["status"] == "COMPLETED" for r in runs)
        assert all(
            [m["role"] for m in r["run_data"]["messages"]] == ["user", "assistant", "tool", "assistant"] for r in runs
        )
        # History: the third run of a session saw the two before it.
        third = next(r for r in runs if r["run_index"] == 2)
        assert third["run_data"]["content"] == "The weather in Paris is sunny and 21C. "
    finally:
        await runtime.stop()


@pytest.mark.bfcl
async def test_bfcl_cases_pass_on_kafka(tmp_path: Path) -> None:
    pytest.importorskip("bfcl_eval", reason="bfcl-eval is not installed (make install)")
    from adapters.bfcl import load_cases, run_cases
    from adapters.bfcl.rebuild import check_in_fresh_process

    run = await run_cases(load_cases("multi_turn_base", limit=10), tmp_path, broker=f"kafka://{BOOTSTRAP}")
    assert [r.status for r in run.results] == ["passed"] * 10, [r.reason for r in run.results]
    check = check_in_fresh_process(run.events_path, run.views_path)
    assert check["ok"] is True, check
