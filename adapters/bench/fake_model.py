"""A cheap fake OpenAI-compatible model server for benchmarks: `POST /v1/chat/completions`.

It answers every request after `ttft_s` with `tokens` tokens, one every `token_s` seconds, streamed as
OpenAI does (SSE chunks, the usage chunk when `stream_options.include_usage`, `data: [DONE]`) or as one
JSON completion when `stream` is false. When the request offers `tools` and no tool result follows the
last user message, it answers instead with one call of the first offered tool (`tool_arguments`,
streamed in fragments, `finish_reason: "tool_calls"`); after the tool result it answers with text.
`GET /health` answers 200.

It shares a core with the load generator, so it is written to cost little per token: a raw asyncio
`Protocol` speaking HTTP/1.1 keep-alive (request bodies need a Content-Length), chunks pre-encoded by
`_chunks.Payloads`, and one timer for all open streams (a heap of due times; every wake-up writes all
chunks due within `_SLACK_S`), instead of one `asyncio.sleep` per token per stream.

    python -m adapters.bench.fake_model --port 0 --tokens 64 --ttft-ms 50 --token-ms 5

prints `FAKE_MODEL_PORT=<port>` once listening and serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import signal
from dataclasses import dataclass
from typing import Any

import orjson

from ._chunks import Payloads

__all__ = ["FakeModelConfig", "FakeModelServer", "main"]

_SLACK_S = 0.001
"""Chunks due within this many seconds after a timer wake-up are written in that wake-up."""
_MAX_HEAD_BYTES = 65_536
_STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class FakeModelConfig:
    """What the fake model answers and how fast.

    Attributes:
        tokens: completion tokens of a text answer.
        ttft_s: seconds from the request to the first token (or the first tool-call chunk).
        token_s: seconds between two tokens (and between tool-call argument fragments); 0 sends them at once.
        tool_calls: answer with a tool call when tools are offered and no tool result is there yet.
        tool_arguments: the JSON arguments of that call.
        model: the `model` field of every answer.
    """

    tokens: int = 64
    ttft_s: float = 0.05
    token_s: float = 0.005
    tool_calls: bool = True
    tool_arguments: str = '{"city":"Paris"}'
    model: str = "fake-model"


class _Stream:
    """One streamed answer: framed pieces, each due at an absolute loop time."""

    __slots__ = ("conn", "due", "index", "pieces", "step")

    def __init__(self, conn: _Connection, pieces: list[bytes], first_due: float, step: float) -> None:
        self.conn = conn
        self.pieces = pieces
        self.index = 0
        self.due = first_due
        self.step = step

    def emit(self, horizon: float) -> float | None:
        """Write every piece due by `horizon` in one write; return the next due time, or None when done."""
        transport = self.conn.transport
        if transport is None or transport.is_closing():
            return None
        end = self.index + 1
        if self.step > 0:
            end = max(end, min(len(self.pieces), self.index + 1 + int((horizon - self.due) / self.step)))
        else:
            end = len(self.pieces)
        transport.write(b"".join(self.pieces[self.index : end]))
        self.due += self.step * (end - self.index)
        self.index = end
        if self.index < len(self.pieces):
            return self.due
        self.conn.response_done()
        return None


class FakeModelServer:
    """The server (see module docstring). `start()` listens; `port` is then the bound port."""

    def __init__(self, config: FakeModelConfig) -> None:
        self.config = config
        self.payloads = Payloads.build(model=config.model, tokens=config.tokens)
        self.requests = 0
        """Chat completion requests answered so far."""
        self.connections = 0
        """TCP connections accepted so far (a client that reuses keep-alive connections opens few)."""
        self._heap: list[tuple[float, int, _Stream]] = []
        self._order = itertools.count()
        self._call_ids = itertools.count(1)
        self._timer: asyncio.TimerHandle | None = None
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def port(self) -> int:
        """The bound port (after `start`)."""
        assert self._server is not None, "start() first"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on `host:port` (0 = a free port)."""
        self._loop = asyncio.get_running_loop()
        self._server = await self._loop.create_server(lambda: _Connection(self), host, port, backlog=1024)

    async def close(self) -> None:
        """Stop listening and drop open streams."""
        if self._timer is not None:
            self._timer.cancel()
        self._heap.clear()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    # -- answering -------------------------------------------------------------------------------

    def answer(self, conn: _Connection, body: dict[str, Any], body_bytes: int) -> None:
        """Answer one chat completion request on `conn`."""
        assert self._loop is not None
        self.requests += 1
        cfg = self.config
        usage_in = max(1, body_bytes // 4)
        call = self._tool_call(body)
        if not body.get("stream"):
            completion_tokens = len(call[2]) // 4 + 1 if call else self.payloads.tokens
            delay = cfg.ttft_s + cfg.token_s * (3 if call else self.payloads.tokens - 1)
            payload = self.payloads.completion((usage_in, completion_tokens), call)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(payload)
            self._loop.call_later(delay, conn.send_whole, head + payload)
            return
        options = body.get("stream_options")
        wants_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        if call is not None:
            pieces = list(self.payloads.tool_call_pieces(*call))
            tail = self.payloads.tail("tool_calls", (usage_in, len(call[2]) // 4 + 1) if wants_usage else None)
        else:
            pieces = list(self.payloads.text_pieces)
            tail = self.payloads.tail("stop", (usage_in, self.payloads.tokens) if wants_usage else None)
        pieces[-1] += tail
        conn.transport_write(_STREAM_HEAD)
        self._schedule(_Stream(conn, pieces, self._loop.time() + cfg.ttft_s, cfg.token_s))

    def _tool_call(self, body: dict[str, Any]) -> tuple[str, str, str] | None:
        """(id, name, arguments) of the call to make, or None to answer with text."""
        tools = body.get("tools")
        if not self.config.tool_calls or not tools or not isinstance(tools, list):
            return None
        messages = body.get("messages") or []
        for message in reversed(messages):
            role = message.get("role") if isinstance(message, dict) else None
            if role == "tool":
                return None
            if role == "user":
                break
        function = tools[0].get("function") if isinstance(tools[0], dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str):
            return None
        return f"call_bench{next(self._call_ids):08x}", name, self.config.tool_arguments

    def _schedule(self, stream: _Stream) -> None:
        assert self._loop is not None
        heapq.heappush(self._heap, (stream.due, next(self._order), stream))
        if self._timer is None or stream.due < self._timer.when():
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._loop.call_at(stream.due, self._on_timer)

    def _on_timer(self) -> None:
        assert self._loop is not None
        self._timer = None
        horizon = self._loop.time() + _SLACK_S
        heap = self._heap
        while heap and heap[0][0] <= horizon:
            _due, _n, stream = heapq.heappop(heap)
            following = stream.emit(horizon)
            if following is not None:
                heapq.heappush(heap, (following, next(self._order), stream))
        if heap:
            self._timer = self._loop.call_at(heap[0][0], self._on_timer)


class _Connection(asyncio.Protocol):
    """One client connection: parses HTTP/1.1 requests one at a time (keep-alive, Content-Length bodies)."""

    def __init__(self, server: FakeModelServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._busy = False
        self._close_after = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.connections += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._busy:
            self._next_request()

    def transport_write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def send_whole(self, data: bytes) -> None:
        self.transport_write(data)
        self.response_done()

    def response_done(self) -> None:
        self._busy = False
        if self._close_after and self.transport is not None:
            self.transport.close()
        elif self._buffer:
            self._next_request()

    def _reply(self, status: bytes, body: bytes) -> None:
        self._busy = True
        head = b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body)
        self.send_whole(head + body)

    def _next_request(self) -> None:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > _MAX_HEAD_BYTES and self.transport is not None:
                self.transport.close()
            return
        lines = bytes(self._buffer[:end]).split(b"\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get(b"content-length", b"0") or 0)
        if len(self._buffer) < end + 4 + length:
            return
        body = bytes(self._buffer[end + 4 : end + 4 + length])
        del self._buffer[: end + 4 + length]
        self._close_after = headers.get(b"connection", b"").lower() == b"close"
        method, _, rest = lines[0].partition(b" ")
        path = rest.partition(b" ")[0].split(b"?")[0]
        if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
            self._close_after = True
            self._reply(b"411 Length Required", b"send a Content-Length")
        elif method == b"GET" and path == b"/health":
            self._reply(b"200 OK", b"ok")
        elif method == b"POST" and path.endswith(b"/chat/completions"):
            try:
                request = orjson.loads(body)
            except orjson.JSONDecodeError:
                self._reply(b"400 Bad Request", b"body is not JSON")
                return
            self._busy = True
            self.server.answer(self, request if isinstance(request, dict) else {}, len(body))
        else:
            self._reply(b"404 Not Found", b"not found")


async def _serve(config: FakeModelConfig, host: str, port: int) -> None:
    server = FakeModelServer(config)
    await server.start(host, port)
    print(f"FAKE_MODEL_PORT={server.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.close()


def main(argv: list[str] | None = None) -> int:
    """Run the fake model server until SIGINT/SIGTERM (see module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m adapters.bench.fake_model", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--ttft-ms", type=float, default=50.0)
    parser.add_argument("--token-ms", type=float, default=5.0)
    parser.add_argument("--no-tool-calls", action="store_true", help="never answer with a tool call")
    args = parser.parse_args(argv)
    config = FakeModelConfig(
        tokens=args.tokens, ttft_s=args.ttft_ms / 1000, token_s=args.token_ms / 1000, tool_calls=not args.no_tool_calls
    )
    asyncio.run(_serve(config, args.host, args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
