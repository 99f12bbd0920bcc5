"""The sessions view on PostgreSQL: a real agent run through the Runtime, read back over the HTTP API, and
served by a second API server process pointed at the same database (`AGNOSTREAM_DB_URL`).

Needs `AGNOSTREAM_TEST_POSTGRES_URL` (scripts/postgres.sh start); skips without it unless
`AGNOSTREAM_REQUIRE_POSTGRES=1`. Each test works in its own schema.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.runtime import Runtime
from projections import PostgresViewStore, make_view_store
from streams import MemoryLog, Topics
from tests.postgres_db import fresh_schema

from ..conftest import capture_agent, free_port
from .test_crash import wait_healthy


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_schema() as url:
        yield url


@pytest.fixture
async def runtime(tmp_path: Path, pg_url: str) -> AsyncIterator[Runtime]:
    """The conftest runtime (embedded log, scripted capture agent) with its view on PostgreSQL."""
    rt = Runtime(
        MemoryLog(tmp_path / "log.db", default_partitions=4),
        Topics(partitions=4),
        {"a1": capture_agent()},
        view_store=make_view_store(pg_url),
    )
    await rt.start()
    yield rt
    await rt.stop()


async def run_and_project(client: httpx.AsyncClient, runtime: Runtime, message: str, session_id: str) -> None:
    response = await client.post("/agents/a1/runs", data={"message": message, "session_id": session_id, "user_id": "u"})
    assert response.status_code == 200
    assert runtime.projection is not None
    await runtime.projection.wait_caught_up()


async def session_views(client: httpx.AsyncClient, session_id: str) -> dict[str, Any]:
    listing = (await client.get("/sessions", params={"user_id": "u"})).json()
    listing["meta"].pop("search_time_ms")
    return {
        "listing": listing,
        "detail": (await client.get(f"/sessions/{session_id}")).json(),
        "runs": (await client.get(f"/sessions/{session_id}/runs")).json(),
    }


async def test_a_run_on_the_postgres_view_reads_back_over_http(server: str, runtime: Runtime) -> None:
    assert runtime.projection is not None
    assert isinstance(runtime.projection.store, PostgresViewStore)
    async with httpx.AsyncClient(base_url=server) as client:
        await run_and_project(client, runtime, "Weather in Paris?", "pg-s1")
        await run_and_project(client, runtime, "And tomorrow?", "pg-s1")
        views = await session_views(client, "pg-s1")

    assert views["listing"]["meta"]["total_count"] == 1
    assert views["listing"]["data"][0]["total_tokens"] > 0
    assert views["detail"]["agent_id"] == "a1"
    assert [m["role"] for m in views["detail"]["chat_history"]] == ["user", "assistant", "tool", "assistant"] * 2
    assert [r["run_input"] for r in views["runs"]] == ["Weather in Paris?", "And tomorrow?"]
    assert all(r["status"] == "COMPLETED" for r in views["runs"])
    assert views["runs"][0]["content"] == "The weather in Paris is sunny and 21C. "


def start_replica(tmp_path: Path, port: int, pg_url: str) -> subprocess.Popen[bytes]:
    """`agnostream serve` without processors on its own (empty) log, its view from AGNOSTREAM_DB_URL."""
    env = {**os.environ, "AGNOSTREAM_DB_URL": pg_url, "AGNOSTREAM_DEMO_PROVIDER": "scripted"}
    with (tmp_path / "replica.log").open("wb") as log:
        return subprocess.Popen(
            [
                sys.executable, "-m", "adapters.cli", "serve", "--roles", "",
                "--port", str(port), "--log", str(tmp_path / "replica-log.db"),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )  # fmt: skip


@pytest.mark.slow
async def test_a_second_api_server_process_serves_the_same_view(
    server: str, runtime: Runtime, pg_url: str, tmp_path: Path
) -> None:
    port = free_port()
    replica = start_replica(tmp_path, port, pg_url)
    try:
        await wait_healthy(f"http://127.0.0.1:{port}", timeout_s=30)
        async with (
            httpx.AsyncClient(base_url=server) as first,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as second,
        ):
            await run_and_project(first, runtime, "Weather in Paris?", "pg-s2")
            assert await session_views(second, "pg-s2") == await session_views(first, "pg-s2")

            # a later run shows on the replica as soon as the projection wrote it
            await run_and_project(first, runtime, "And tomorrow?", "pg-s2")
            views = await session_views(second, "pg-s2")
            assert [r["run_input"] for r in views["runs"]] == ["Weather in Paris?", "And tomorrow?"]
            assert views == await session_views(first, "pg-s2")
    finally:
        replica.terminate()
        replica.wait(timeout=20)
    output = (tmp_path / "replica.log").read_text()
    # uvicorn shuts down cleanly on SIGTERM, then re-raises it (exit status -SIGTERM)
    assert replica.returncode in (0, -signal.SIGTERM), output
    assert "Traceback" not in output, output
