"""agno parity of requests: the Chat Completions bodies agnostream sends equal those agno's `OpenAIChat` sends.

Each scenario of `tests/parity/scenarios.py` (same agent, same inputs, same scripted model replies) was run
through agno 3.1.10 by `scripts/capture_agno_requests.py`, which stored every request body agno sent in
`fixtures/parity/agno_openai_requests.json`. Here the same scenario runs through agnostream (a `Runtime` on
the embedded log, `OpenAIChat` pointed at a loopback stub replaying the same replies), and the bodies we send
are compared with agno's: messages (roles, order, content, tool_calls, tool messages with tool_call_id),
`tools` (names, order, descriptions, parameter schemas) and the other top-level fields.

agno is not needed here, only the captured JSON; the tests skip when it is missing. To refresh it, install
the `parity` extra's pins (`agno==3.1.10`, `openai`) into a separate venv, never into the project's, and
run the capture script with that venv's python; see its docstring.

Tolerances, all declared here and applied in `_comparable` / the asserts below:
- JSON object key order is ignored (bodies are compared as parsed JSON; agno happens to emit
  `{"role", "tool_calls", "content"}` for a tool-call-only turn, we emit `{"role", "content", "tool_calls"}`),
  except for the order of each tool's parameter `properties`, which is checked separately because it is the
  order the model reads the parameters in.
- Against agno's non-streamed capture, `stream` and `stream_options` are ignored: agnostream always streams,
  and the rest of the body must still match.
Nothing else is tolerated: tool call ids are the scripted ones on both sides (or renamed identically), so
they are compared too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.models.openai import OpenAIChat
from adapters.runtime import Runtime
from engine import Agent
from streams import MemoryLog, Topics
from tests.parity.scenarios import SCENARIOS, TOOLS, sse_chunks

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "parity" / "agno_openai_requests.json"
SESSION_ID = "parity-session"

STREAM_ONLY_FIELDS = ("stream", "stream_options")
"""Fields agno sends only when streaming; agnostream always streams (tolerance against the non-streamed capture)."""


def _captured() -> dict[str, Any]:
    if not FIXTURE.exists():
        pytest.skip(
            f"{FIXTURE.relative_to(FIXTURE.parents[2])} is missing: capture it with agno in its own venv "
            "(pip install 'agno==3.1.10' openai, the `parity` extra, then run scripts/capture_agno_requests.py with it)"
        )
    document: dict[str, Any] = json.loads(FIXTURE.read_text())
    return document


def _scenario(name: str) -> dict[str, Any]:
    return next(s for s in _captured()["scenarios"] if s["name"] == name)


def _comparable(body: dict[str, Any], *, streamed: bool) -> dict[str, Any]:
    """`body` as compared: parsed JSON (key order ignored); without the stream-only fields unless `streamed`."""
    if streamed:
        return body
    return {k: v for k, v in body.items() if k not in STREAM_ONLY_FIELDS}


# -- the loopback stub model ----------------------------------------------------------------------------------


class StubModelServer:
    """An OpenAI-compatible server on 127.0.0.1: streams the queued replies in order and records each body."""

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        self.replies: deque[dict[str, Any]] = deque()
        self.bodies: list[dict[str, Any]] = []
        self._server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/v1"

    async def __aenter__(self) -> StubModelServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
            body = json.loads(await reader.readexactly(int(headers.get("content-length", "0"))))
            self.bodies.append(body)
            if not self.replies:
                writer.write(b"HTTP/1.1 500 X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            chunks = sse_chunks(self.replies.popleft(), self.model_id, len(self.bodies))
            payload = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks).encode() + b"data: [DONE]\n\n"
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n"
                + f"Content-Length: {len(payload)}\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def run_through_agnostream(
    scenario: dict[str, Any], model_id: str, tmp_path: Path, http_client: httpx.AsyncClient
) -> list[dict[str, Any]]:
    """Run `scenario` through agnostream; return `[{"run": i, "request": body}, ...]` like the capture."""
    captured: list[dict[str, Any]] = []
    async with StubModelServer(model_id) as stub:
        spec = dict(scenario["agent"])
        tools = [TOOLS[name] for name in spec.pop("tools")]
        model = OpenAIChat(model_id, api_key="test", base_url=stub.base_url, http_client=http_client, max_retries=0)
        agent = Agent(model=model, tools=tools, **spec)
        runtime = Runtime(MemoryLog(tmp_path / "log.db"), Topics(), {agent.id: agent})
        await runtime.start()
        try:
            for index, run in enumerate(scenario["runs"]):
                stub.replies.extend(run["replies"])
                start = len(stub.bodies)
                _command, subscription = await runtime.start_run(agent.id, run["input"], session_id=SESSION_ID)
                events = [event async for event in subscription]
                assert events[-1]["event"] == "RunCompleted", events[-1]
                assert not stub.replies, f"run {index} left scripted replies unused"
                captured += [{"run": index, "request": body} for body in stub.bodies[start:]]
        finally:
            await runtime.stop()
    return captured


# -- the checks -----------------------------------------------------------------------------------------------


def test_the_fixture_was_captured_from_the_current_scenarios_with_agno_3_1_10() -> None:
    captured = _captured()

    assert captured["agno_version"] == "3.1.10"
    assert "capture_agno_requests.py" in captured["command"]
    stored = [{k: v for k, v in s.items() if k != "captures"} for s in captured["scenarios"]]
    # a mismatch means scenarios.py changed after the capture: re-run scripts/capture_agno_requests.py
    assert stored == json.loads(json.dumps(SCENARIOS))


@pytest.mark.parametrize("name", [s["name"] for s in SCENARIOS])
@pytest.mark.parametrize("mode", ["stream", "non_stream"])
async def test_request_bodies_match_agno(name: str, mode: str, tmp_path: Path, http_client: httpx.AsyncClient) -> None:
    # given: what agno sent for this scenario
    scenario = _scenario(name)
    agno_requests = scenario["captures"][mode]

    # when: the same conversation runs through agnostream
    ours = await run_through_agnostream(scenario, _captured()["model_id"], tmp_path, http_client)

    # then: the same requests, in the same order, one run at a time
    streamed = mode == "stream"
    assert [r["run"] for r in ours] == [r["run"] for r in agno_requests]
    for our_request, agno_request in zip(ours, agno_requests, strict=True):
        mine = _comparable(our_request["request"], streamed=streamed)
        theirs = _comparable(agno_request["request"], streamed=streamed)
        # messages first, then tools, then the whole body, so a failure points at the part that differs
        assert [m["role"] for m in mine["messages"]] == [m["role"] for m in theirs["messages"]]
        assert mine["messages"] == theirs["messages"]
        assert mine.get("tools") == theirs.get("tools")
        assert [list(t["function"]["parameters"]["properties"]) for t in mine.get("tools", [])] == [
            list(t["function"]["parameters"]["properties"]) for t in theirs.get("tools", [])
        ]
        assert mine == theirs
