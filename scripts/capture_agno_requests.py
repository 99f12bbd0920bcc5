"""Capture the OpenAI Chat Completions request bodies agno's `OpenAIChat` sends, for the parity test.

Runs every scenario of `tests/parity/scenarios.py` through a real agno `Agent` whose model is
`OpenAIChat(id="fake-model", base_url=<stub>, api_key="test")`. The stub is a tiny OpenAI-compatible server
on 127.0.0.1 that records each request body and answers with the scenario's scripted replies (SSE when the
request asks for `stream: true`, one JSON body otherwise). Each scenario runs twice, streamed and not.
The bodies, the scenario definitions and the scripted replies go to
`fixtures/parity/agno_openai_requests.json`, which `tests/parity/test_openai_request_parity.py` replays.

agno must NOT be installed into the project venv (it ships its own dependency tree). Use a separate venv
with the `parity` extra's pins:

    python3 -m venv /tmp/agno-venv
    /tmp/agno-venv/bin/pip install 'agno==3.1.10' openai
    /tmp/agno-venv/bin/python scripts/capture_agno_requests.py

The script needs no network beyond loopback and no API key.
"""

from __future__ import annotations

import json
import platform
import sys
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "fixtures" / "parity" / "agno_openai_requests.json"
COMMAND = "/tmp/agno-venv/bin/python scripts/capture_agno_requests.py  # venv: pip install 'agno==3.1.10' openai"
MODEL_ID = "fake-model"

sys.path.insert(0, str(ROOT))
from tests.parity.scenarios import SCENARIOS, TOOLS, chat_completion, sse_chunks  # noqa: E402


class Stub:
    """The scripted OpenAI-compatible server: `replies` are served in order, `bodies` recorded in order."""

    def __init__(self) -> None:
        self.replies: deque[dict[str, Any]] = deque()
        self.bodies: list[dict[str, Any]] = []
        self.served = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                stub.bodies.append(body)
                if self.path.rstrip("/") != "/v1/chat/completions" or not stub.replies:
                    self.send_error(500, f"unexpected request {self.path} (replies left: {len(stub.replies)})")
                    return
                stub.served += 1
                reply = stub.replies.popleft()
                if body.get("stream"):
                    payload = "".join(
                        f"data: {json.dumps(c)}\n\n" for c in sse_chunks(reply, MODEL_ID, stub.served)
                    ).encode()
                    payload += b"data: [DONE]\n\n"
                    content_type = "text/event-stream"
                else:
                    payload = json.dumps(chat_completion(reply, MODEL_ID, stub.served)).encode()
                    content_type = "application/json"
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> Stub:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_scenario(stub: Stub, scenario: dict[str, Any], *, stream: bool) -> list[dict[str, Any]]:
    """Run one scenario through agno; return `[{"run": i, "request": body}, ...]` in request order."""
    from agno.agent import Agent
    from agno.db.in_memory import InMemoryDb
    from agno.models.openai import OpenAIChat

    spec = dict(scenario["agent"])
    tools = [TOOLS[name] for name in spec.pop("tools")]
    agent = Agent(
        model=OpenAIChat(id=MODEL_ID, base_url=stub.base_url, api_key="test"),
        tools=tools,
        db=InMemoryDb(),
        telemetry=False,
        **spec,
    )
    captured: list[dict[str, Any]] = []
    for index, run in enumerate(scenario["runs"]):
        stub.replies.extend(run["replies"])
        start = len(stub.bodies)
        if stream:
            for _ in agent.run(run["input"], stream=True, session_id="parity-session"):
                pass
        else:
            agent.run(run["input"], stream=False, session_id="parity-session")
        if stub.replies:
            raise SystemExit(f"{scenario['name']} run {index}: agno left {len(stub.replies)} scripted replies unused")
        captured += [{"run": index, "request": body} for body in stub.bodies[start:]]
    return captured


def main() -> None:
    results = []
    with Stub() as stub:
        for scenario in SCENARIOS:
            captures = {
                mode: run_scenario(stub, scenario, stream=mode == "stream") for mode in ("stream", "non_stream")
            }
            results.append({**scenario, "captures": captures})
    document = {
        "about": "OpenAI Chat Completions request bodies sent by agno's OpenAIChat; see the script's docstring",
        "agno_version": metadata.version("agno"),
        "openai_version": metadata.version("openai"),
        "python": platform.python_version(),
        "command": COMMAND,
        "model_id": MODEL_ID,
        "scenarios": results,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}: {sum(len(c) for r in results for c in r['captures'].values())} requests")


if __name__ == "__main__":
    main()
