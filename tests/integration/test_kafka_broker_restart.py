"""Runs in flight survive a broker restart (marker `broker`, slow, fault).

The test starts a broker of its own (`scripts/kafka.sh` on free ports, so the shared test broker is never
touched) and one `agnostream serve --roles all` process on it. Eight streaming runs start; once every one
of them has started, the broker is stopped, kept down for 45 s and started again on the same data
(`scripts/kafka.sh restart`). The runs' tools finish once the broker is down (they wait for a file the
test creates then), so every answer is ready while nothing can take it. 45 s is longer than aiokafka's
40 s request timeout and the consumer groups' session timeout, so every client of the process meets a
dead broker: producers retrying, groups losing their coordinator, answers waiting to be committed.
Afterwards:
- every stream ended with RunCompleted, and its run answered `done <token>`;
- every run's tool ran (again, if the broker was down when its answer was to be committed);
- the committed log holds exactly one terminal event per run and no event id twice (so one answer per tool);
- the sessions view shows every run COMPLETED;
- a run started after the restart completes.

Opt-in (`make outage-test`, or AGNOSTREAM_OUTAGE_TEST=1): in 20 of 22 runs with the settled rebuilds
(`KafkaLog.settled_end_offsets`) every check passed and nothing was decided or answered twice, but in 2 the
runs of one partition never finished: a transaction of the orchestrator's producer stayed open on the
partition after its coordinator had completed the commit (a hanging transaction), holding back the last
stable offset. The message of a duplicate lists the runs' events and tool work items with offsets and times.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from streams import KafkaLog, Record, TopicPartition, Topics
from tests.kafka_broker import broker_marks

from ..conftest import free_port
from .test_crash import wait_healthy

ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = ROOT / "scripts" / "kafka.sh"
RUNS = 8
DOWN_S = 45

pytestmark = [
    *broker_marks(),
    pytest.mark.slow,
    pytest.mark.fault,
    pytest.mark.timeout(420),
    pytest.mark.skipif(
        os.environ.get("AGNOSTREAM_OUTAGE_TEST") != "1",
        reason="opt-in (make outage-test): in 2 of 22 runs a hanging transaction (open on a partition after its "
        "coordinator completed it) held back the runs of that partition; nothing was decided twice",
    ),
]


def _free_port_pair() -> int:
    """A port p with p + 1 free too (the broker's controller listens on p + 1)."""
    for _ in range(50):
        port = free_port()
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no two consecutive free ports on 127.0.0.1")


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A broker of this test's own: its bootstrap servers and the environment that names it to kafka.sh."""
    env = {**os.environ, "KAFKA_PORT": str(_free_port_pair()), "KAFKA_DATA": str(tmp_path / "kafka")}
    started = subprocess.run(["bash", str(KAFKA_SH), "start"], env=env, capture_output=True, text=True, timeout=180)
    assert started.returncode == 0, f"scripts/kafka.sh start failed:\n{started.stderr}"
    try:
        yield started.stdout.strip().splitlines()[-1].partition("=")[2], env
    finally:
        subprocess.run(["bash", str(KAFKA_SH), "stop"], env=env, capture_output=True, timeout=60)


def _start_server(tmp: Path, port: int, bootstrap: str, prefix: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "AGNOSTREAM_TOPIC_PREFIX": prefix, "AGNOSTREAM_PARTITIONS": "2",
        "AGNOSTREAM_CONTENT_FLUSH_MS": "5",
    }  # fmt: skip
    with (tmp / "server.log").open("ab") as log:
        return subprocess.Popen(
            [
                sys.executable, "-m", "adapters.cli", "serve", "--agents", "tests.integration.outage_agents",
                "--broker", f"kafka://{bootstrap}", "--roles", "all", "--port", str(port),
                "--log", str(tmp / "log.db"), "--db", str(tmp / "views.db"),
            ],
            env=env, stdout=subprocess.DEVNULL, stderr=log, cwd=ROOT,
        )  # fmt: skip


async def _stream(client: httpx.AsyncClient, message: str, session_id: str, started: asyncio.Event) -> list[dict]:
    """POST a streaming run; return its events (`started` is set at the first one)."""
    events = []
    form = {"message": message, "session_id": session_id}
    async with client.stream("POST", "/agents/outage/runs", data=form) as response:
        assert response.status_code == 200, await response.aread()
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                events.append(orjson.loads(line[6:]))
                started.set()
    return events


async def test_runs_in_flight_survive_a_broker_restart(tmp_path: Path, own_broker: tuple[str, dict[str, str]]) -> None:
    bootstrap, broker_env = own_broker
    prefix = f"restart-{uuid.uuid4().hex[:8]}."
    calls = tmp_path / "calls.txt"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start_server(tmp_path, port, bootstrap, prefix)
    timeout = httpx.Timeout(300, connect=10)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=timeout) as client:
            await wait_healthy(base, 60, server=server, log=tmp_path / "server.log")
            go = Path(f"{calls}.go")
            await asyncio.to_thread(go.touch)
            warm = await _stream(client, f"{calls}|warm", "warm", asyncio.Event())
            assert warm[-1]["event"] == "RunCompleted"
            await asyncio.to_thread(go.unlink)

            tokens = [f"t{i}" for i in range(RUNS)]
            starts = [asyncio.Event() for _ in tokens]
            streams = [
                asyncio.create_task(_stream(client, f"{calls}|{token}", f"s-{token}", started))
                for token, started in zip(tokens, starts, strict=True)
            ]
            await asyncio.wait_for(asyncio.gather(*(s.wait() for s in starts)), 30)
            restart = await asyncio.create_subprocess_exec(
                "bash", str(KAFKA_SH), "restart", env={**broker_env, "DOWN_S": str(DOWN_S)},
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            # The tools finish while the broker is down: their answers must wait for it.
            await _until_closed(bootstrap)
            assert not any(s.done() for s in streams), "a run ended before its tool was let go"
            await asyncio.to_thread(go.touch)
            _out, err = await restart.communicate()
            assert restart.returncode == 0, err.decode()
            results = await asyncio.wait_for(asyncio.gather(*streams), 180)

            after = await _stream(client, f"{calls}|after", "after", asyncio.Event())
            assert after[-1]["event"] == "RunCompleted"
            rows = await _completed_rows(client, [f"s-{t}" for t in tokens], tmp_path)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    for token, events in zip(tokens, results, strict=True):
        assert [e["event"] for e in events].count("RunCompleted") == 1, (token, [e["event"] for e in events])
        assert events[-1]["event"] == "RunCompleted"
        assert events[-1]["content"] == f"done {token}"
    assert all(row["status"] == "COMPLETED" for row in rows), rows
    # Every tool ran; those clear of the outage ran once. A tool whose answer the dead broker could not take
    # may run again when its item comes back (at least once until its completion commits, as after a
    # crash); the log below still holds each answer once.
    executions = Counter(line.split()[0] for line in calls.read_text().splitlines())
    assert executions["warm"] == executions["after"] == 1
    assert all(executions[token] >= 1 for token in tokens), executions
    await _assert_log_exactly_once(bootstrap, prefix, len(tokens) + 2)


async def _until_closed(bootstrap: str) -> None:
    """Return once nothing accepts connections at `bootstrap` (the broker has stopped)."""
    host, _, port = bootstrap.rpartition(":")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            _reader, writer = await asyncio.open_connection(host, int(port))
        except OSError:
            return
        writer.close()
        await asyncio.sleep(0.1)
    raise TimeoutError(f"the broker at {bootstrap} did not stop")


async def _completed_rows(client: httpx.AsyncClient, session_ids: list[str], tmp: Path) -> list[dict]:
    """The sessions view's run rows of `session_ids`, once the projection shows each run finished."""
    deadline = time.monotonic() + 60
    while True:
        rows = []
        for session_id in session_ids:
            response = await client.get(f"/sessions/{session_id}/runs")
            rows += response.json() if response.status_code == 200 else []
        if len(rows) == len(session_ids) and all(r["status"] != "RUNNING" for r in rows):
            return rows
        assert time.monotonic() < deadline, f"the projection shows {rows}\n{(tmp / 'server.log').read_text()[-3000:]}"
        await asyncio.sleep(0.5)


async def _assert_log_exactly_once(bootstrap: str, prefix: str, runs: int) -> None:
    """The committed run events: one terminal event per run, and no event id twice."""
    topics = Topics(prefix=prefix, partitions=2)
    log = KafkaLog(bootstrap)
    await log.start()
    try:
        tps = [TopicPartition(topic, p) for topic in (topics.events, topics.work_tools) for p in range(2)]
        ends = await log.settled_end_offsets(tps)
        records = [r for tp in tps if tp.topic == topics.events for r in await log.read(tp, 0, ends[tp])]
        work = [r for tp in tps if tp.topic == topics.work_tools for r in await log.read(tp, 0, ends[tp])]
    finally:
        await log.close()
    events = [orjson.loads(r.value) for r in records]
    terminal = Counter(e["run_id"] for e in events if e["event"] in ("RunCompleted", "RunError", "RunCancelled"))
    assert len(terminal) == runs, terminal
    assert set(terminal.values()) == {1}, terminal
    assert not [e for e in events if e["event"] in ("RunError", "RunCancelled")]
    duplicated = [i for i, n in Counter(e["event_id"] for e in events).items() if n > 1]
    assert duplicated == [], _where(duplicated, events, records, work)


def _where(event_ids: list[str], events: list[dict[str, Any]], records: list[Record], work: list[Record]) -> str:
    """Each of the runs behind `event_ids`, event by event (name, event id, partition/offset, create time),
    then their committed tool work items."""
    runs = {i.split(":")[0] for i in event_ids}
    lines = [
        f"{e['event']} {e['event_id']} at {r.partition}/{r.offset} {r.timestamp_ms}"
        for e, r in zip(events, records, strict=True)
        if e["run_id"] in runs
    ]
    for r in work:
        item = orjson.loads(r.value)
        if item.get("run_id") in runs:
            lines.append(f"tool work {item['run_id']}:{item.get('seq')} at {r.partition}/{r.offset} {r.timestamp_ms}")
    return "\n".join(lines)
