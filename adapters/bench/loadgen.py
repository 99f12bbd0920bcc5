"""The load generator: C sessions sending prompts in sequence for a fixed time, timing each request.

Each of `concurrency` workers owns one session (a uuid4 `session_id`) and sends request after request
until the run ends: a warm-up of `warmup_s` (not measured) and then the measured window of
`duration_s`. Sessions start spread over the first half of the warm-up (worker i after
i/C * warmup_s/2), not all in the same millisecond: a simultaneous start would keep the sessions
moving in lock-step waves for the whole run. A request counts in the statistics when it *started*
inside the window; requests still running at the end are awaited (up to `request_timeout_s`), so slow
requests are not dropped.

Two kinds of request, both read to the end of the stream:
- `AgentOSRequest`: `POST /agents/{agent_id}/runs` (multipart `message`, `stream=true`, `session_id`), as
  agno clients send it, on agnostream or agno's AgentOS. TTFT is the first `RunContent` frame with
  non-empty content; the request is an error on a non-200 status, a `RunError` frame, or a stream that
  ends without `RunCompleted`.
- `ModelRequest`: the floor, a streamed chat completion straight to the fake model. With tools it does
  what the agent does (a request that returns the tool call, then one with the tool result), without
  running a tool. TTFT is the first non-empty `delta.content`; an error is a non-200 status or no
  `[DONE]`.

The client is aiohttp rather than httpx: it costs several times less CPU per request and per streamed
chunk, and the load generator shares its core with the fake model, so client overhead would otherwise
show up as server latency. Frames are parsed only until the first token; after it the stream is only
scanned for the terminal marker.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
import orjson

__all__ = [
    "AgentOSRequest",
    "LoadConfig",
    "LoadResult",
    "ModelRequest",
    "Outcome",
    "Request",
    "Sample",
    "prime",
    "prompt",
    "run_load",
]

_PROMPT = (
    "I am planning a trip next week and need help deciding what to pack. I will spend three days in the "
    "city visiting museums and walking between neighbourhoods, then two days in the hills hiking short "
    "trails. Please consider the likely weather, how layers work for changing temperatures, which shoes "
    "make sense for both pavements and muddy paths, and whether an umbrella or a light rain jacket is "
    "the better choice. Keep the answer practical and short, list the essentials first, and mention "
    "anything people usually forget, such as chargers, adapters, medicine, or a reusable water bottle."
)
_BOUNDARY = "agnostreambenchboundary7f3a"
_TERMINAL_TAIL = 64
"""Bytes of the previous chunk kept when scanning for a terminal marker split across two reads."""


def prompt(session: int, n: int) -> str:
    """The `n`-th prompt of worker `session`: about 128 tokens, unique per request."""
    return f"[session {session}, message {n}] What is the weather in Paris like? {_PROMPT}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one request returned: seconds from its start to the first token (None if none came), error kind."""

    ttft_s: float | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Sample:
    """One measured request: start (seconds since the window opened), TTFT and total seconds, error kind."""

    start_s: float
    ttft_s: float | None
    total_s: float
    error: str | None


class Request(Protocol):
    """Sends one request of worker `worker` (its `n`-th) in session `session_id` and reads it to the end."""

    async def __call__(self, http: aiohttp.ClientSession, worker: int, session_id: str, n: int) -> Outcome: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadConfig:
    """How much load, for how long.

    Attributes:
        concurrency: sessions sending at the same time (one request in flight each).
        duration_s: length of the measured window, seconds.
        warmup_s: seconds of load before the window, not measured; sessions start over its first half.
        request_timeout_s: limit of one request, seconds; a request over it is an error (`timeout`).
    """

    concurrency: int
    duration_s: float
    warmup_s: float = 5.0
    request_timeout_s: float = 120.0


@dataclass(slots=True)
class LoadResult:
    """Every measured request, and when the window opened and closed (`time.monotonic()` seconds)."""

    samples: list[Sample] = field(default_factory=list)
    window_start: float = 0.0
    window_end: float = 0.0
    error_examples: list[str] = field(default_factory=list)

    @property
    def error_kinds(self) -> dict[str, int]:
        """Error count by kind (`http_503`, `run_error`, `incomplete`, `timeout`, exception names)."""
        return dict(Counter(s.error for s in self.samples if s.error is not None))


async def run_load(
    request: Request, config: LoadConfig, *, on_window: Callable[[str], Awaitable[None] | None] | None = None
) -> LoadResult:
    """Run `config.concurrency` workers sending `request` for warm-up + window; return the measured samples.

    Args:
        request: what each worker sends.
        config: concurrency and timing.
        on_window: called with "start" when the measured window opens and "end" when it closes.
    """
    result = LoadResult()
    now = time.monotonic()
    result.window_start = now + config.warmup_s
    result.window_end = result.window_start + config.duration_s
    connector = aiohttp.TCPConnector(limit=0, force_close=False, enable_cleanup_closed=False)
    timeout = aiohttp.ClientTimeout(total=config.request_timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False) as http:
        workers = [asyncio.create_task(_worker(http, request, i, config, result)) for i in range(config.concurrency)]
        await _sleep_until(result.window_start)
        await _notify(on_window, "start")
        await _sleep_until(result.window_end)
        await _notify(on_window, "end")
        await asyncio.gather(*workers)
    result.samples.sort(key=lambda s: s.start_s)
    return result


async def prime(request: Request, timeout_s: float = 120.0) -> str | None:
    """Send `request` until one succeeds (a fresh server may need seconds, e.g. a Kafka group join).

    Returns:
        None once a request succeeded; the last error kind when `timeout_s` seconds passed without one.
    """
    deadline = time.monotonic() + timeout_s
    error: str | None = "timeout"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as http:
        n = 0
        while (left := deadline - time.monotonic()) > 0:
            n += 1
            try:
                outcome = await asyncio.wait_for(request(http, -1, str(uuid.uuid4()), n), left)
                error = outcome.error
            except TimeoutError:
                return "timeout"
            except (aiohttp.ClientError, OSError, ValueError) as exc:
                error = type(exc).__name__
            if error is None:
                return None
            await asyncio.sleep(0.5)
    return error


async def _notify(callback: Callable[[str], Awaitable[None] | None] | None, what: str) -> None:
    if callback is not None:
        maybe = callback(what)
        if maybe is not None:
            await maybe


async def _sleep_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


async def _worker(http: aiohttp.ClientSession, request: Request, worker: int, cfg: LoadConfig, out: LoadResult) -> None:
    session_id = str(uuid.uuid4())
    await asyncio.sleep(worker * cfg.warmup_s / 2 / cfg.concurrency)
    n = 0
    while (start := time.monotonic()) < out.window_end:
        n += 1
        try:
            outcome = await asyncio.wait_for(request(http, worker, session_id, n), cfg.request_timeout_s)
        except TimeoutError:
            outcome = Outcome(None, "timeout")
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            outcome = Outcome(None, type(exc).__name__)
            if len(out.error_examples) < 5:
                out.error_examples.append(f"{type(exc).__name__}: {exc}")
        total = time.monotonic() - start
        if start >= out.window_start:
            out.samples.append(Sample(start - out.window_start, outcome.ttft_s, total, outcome.error))
        if outcome.error is not None:
            await asyncio.sleep(0.05)  # a failing server must not turn the loop into a busy spin


def _multipart(fields: dict[str, str]) -> bytes:
    parts = [
        f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    return ("".join(parts) + f"--{_BOUNDARY}--\r\n").encode()


@dataclass(frozen=True, slots=True)
class AgentOSRequest:
    """A streamed agent run on an AgentOS-compatible server (agnostream or agno); see module docstring."""

    base_url: str
    agent_id: str

    async def __call__(self, http: aiohttp.ClientSession, worker: int, session_id: str, n: int) -> Outcome:
        body = _multipart({"message": prompt(worker, n), "stream": "true", "session_id": session_id})
        headers = {"Content-Type": f"multipart/form-data; boundary={_BOUNDARY}", "Accept": "text/event-stream"}
        start = time.monotonic()
        async with http.post(f"{self.base_url}/agents/{self.agent_id}/runs", data=body, headers=headers) as resp:
            if resp.status != 200:
                await resp.read()
                return Outcome(None, f"http_{resp.status}")
            ttft: float | None = None
            terminal: str | None = None
            buffer = b""
            async for chunk in resp.content.iter_any():
                if ttft is None:
                    buffer, found = _first_content_frame(buffer + chunk)
                    if not found:
                        continue
                    ttft = time.monotonic() - start
                    window = buffer
                else:
                    window = buffer + chunk
                terminal = _scan_terminal(window) or terminal
                if terminal == "RunError":
                    return Outcome(ttft, "run_error")
                buffer = window[-_TERMINAL_TAIL:]
        if ttft is None:
            terminal = _scan_terminal(buffer)
        if terminal == "RunError":
            return Outcome(ttft, "run_error")
        if terminal != "RunCompleted":
            return Outcome(ttft, "incomplete")
        return Outcome(ttft, None if ttft is not None else "no_content")


def _first_content_frame(buffer: bytes) -> tuple[bytes, bool]:
    """Consume whole frames of `buffer` up to the first RunContent with content; return (rest, found)."""
    while (end := buffer.find(b"\n\n")) >= 0:
        frame, rest = buffer[:end], buffer[end + 2 :]
        name_end = frame.find(b"\n")
        if frame[7:name_end] == b"RunContent":
            data = frame[name_end + 7 :] if frame[name_end + 1 : name_end + 7] == b"data: " else b"{}"
            if orjson.loads(data).get("content"):
                return rest, True
        elif frame[7:name_end] in (b"RunError", b"RunCompleted"):
            return buffer, False
        buffer = rest
    return buffer, False


def _scan_terminal(tail: bytes) -> str | None:
    """The terminal event named in the last bytes of a stream: RunCompleted, RunError, or None."""
    if b"event: RunError\n" in tail:
        return "RunError"
    if b"event: RunCompleted\n" in tail:
        return "RunCompleted"
    return None


_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": 'Name of the city, e.g. "Paris".'}},
                "required": ["city"],
            },
        },
    }
]


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """The floor: the same conversation sent straight to the fake model; see module docstring."""

    base_url: str
    model: str
    tools: bool
    system: str = "You are a concise assistant answering benchmark questions."

    async def __call__(self, http: aiohttp.ClientSession, worker: int, session_id: str, n: int) -> Outcome:
        start = time.monotonic()
        messages: list[dict[str, Any]] = [
            {"role": "developer", "content": self.system},
            {"role": "user", "content": prompt(worker, n)},
        ]
        if self.tools:
            status, _ttft, call = await self._completion(http, messages, start)
            if status is not None:
                return Outcome(None, status)
            if call is None:
                return Outcome(None, "no_tool_call")
            messages.append({"role": "assistant", "content": "", "tool_calls": [call]})
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": "Sunny, 21C in Paris"})
        status, ttft, _call = await self._completion(http, messages, start)
        return Outcome(ttft, status)

    async def _completion(
        self, http: aiohttp.ClientSession, messages: list[dict[str, Any]], start: float
    ) -> tuple[str | None, float | None, dict[str, Any] | None]:
        """One streamed completion: (error kind or None, TTFT, the tool call if one was made)."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.tools:
            body["tools"] = _TOOLS
        headers = {"Content-Type": "application/json", "Authorization": "Bearer bench"}
        ttft: float | None = None
        call: dict[str, Any] = {}
        async with http.post(f"{self.base_url}/chat/completions", data=orjson.dumps(body), headers=headers) as resp:
            if resp.status != 200:
                await resp.read()
                return f"http_{resp.status}", None, None
            buffer = b""
            async for chunk in resp.content.iter_any():
                buffer = buffer[-_TERMINAL_TAIL:] + chunk if ttft is not None else buffer + chunk
                if ttft is None:
                    buffer, ttft = _model_frames(buffer, start, call)
        if b"data: [DONE]" not in buffer:
            return "incomplete", ttft, None
        if not call:
            return None, ttft, None
        function = {"name": call.get("name", ""), "arguments": call.get("arguments", "")}
        return None, ttft, {"id": call.get("id", ""), "type": "function", "function": function}


def _model_frames(buffer: bytes, start: float, call: dict[str, Any]) -> tuple[bytes, float | None]:
    """Parse whole `data:` frames until the first text token; collect tool-call fragments into `call`."""
    while (end := buffer.find(b"\n\n")) >= 0:
        frame = buffer[:end]
        if frame == b"data: [DONE]":
            return buffer, None
        buffer = buffer[end + 2 :]
        choices = orjson.loads(frame[6:]).get("choices") or [{}]
        delta = choices[0].get("delta") or {}
        if delta.get("content"):
            return buffer, time.monotonic() - start
        for fragment in delta.get("tool_calls") or ():
            function = fragment.get("function") or {}
            call.setdefault("id", fragment.get("id"))
            call.setdefault("name", function.get("name"))
            call["arguments"] = call.get("arguments", "") + (function.get("arguments") or "")
    return buffer, None
