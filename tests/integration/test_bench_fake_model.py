"""The benchmark's fake model speaks what our OpenAI client parses: streamed text, a tool call, usage, whole JSON.

The server runs in-process on loopback with zero delays; `OpenAIChat` (the client agnostream's benchmark
agent uses) talks to it exactly as it talks to OpenAI.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from adapters.bench.agent import get_weather
from adapters.bench.fake_model import FakeModelConfig, FakeModelServer
from adapters.models import _h1
from adapters.models.base import ModelResponse, TextDelta, text_read_interval
from adapters.models.openai import OpenAIChat
from adapters.settings import ProviderKeys
from engine import Message, Tool


@pytest.fixture
async def fake() -> AsyncIterator[FakeModelServer]:
    server = FakeModelServer(FakeModelConfig(tokens=8, ttft_s=0.0, token_s=0.001))
    await server.start()
    yield server
    await server.close()


def client(server: FakeModelServer) -> OpenAIChat:
    keys = ProviderKeys(_env_file=None)
    return OpenAIChat("fake-model", api_key="k", base_url=f"http://127.0.0.1:{server.port}/v1", provider_keys=keys)


async def turn(model: OpenAIChat, messages: list[Message], tools: list[Tool]) -> tuple[str, ModelResponse]:
    text = ""
    final = None
    async for update in model.stream(messages, tools):
        if isinstance(update, TextDelta):
            text += update.text
        else:
            final = update
    assert final is not None
    return text, final


async def test_streams_a_tool_call_then_text_after_the_tool_result(fake: FakeModelServer) -> None:
    tools = [Tool.from_callable(get_weather)]
    user = Message(id="u", role="user", content="What is the weather in Paris?")
    async with client(fake) as model:
        text, first = await turn(model, [user], tools)
        assert text == ""
        assert [(c.name, c.arguments) for c in first.tool_calls] == [("get_weather", '{"city":"Paris"}')]
        assert first.usage.output_tokens > 0

        call = first.tool_calls[0]
        assistant = Message(id="a", role="assistant", tool_calls=(call,))
        result = Message(id="t", role="tool", tool_call_id=call.id, tool_name=call.name, content="Sunny, 21C in Paris")
        text, second = await turn(model, [user, assistant, result], tools)
    assert text == second.content == "lorem ipsum dolor sit amet consectetur adipiscing elit"
    assert second.tool_calls == ()
    assert second.usage.output_tokens == 8
    assert fake.requests == 2


async def test_answers_text_without_tools_and_whole_json_when_not_streaming(fake: FakeModelServer) -> None:
    async with client(fake) as model:
        text, final = await turn(model, [Message(id="u", role="user", content="hi")], [])
    assert text.split() == ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit"]
    assert final.usage.input_tokens > 0

    body = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{fake.port}") as http:
        response = await http.post("/v1/chat/completions", json=body)
        health = await http.get("/health")
    assert response.json()["choices"][0]["message"]["content"].startswith("lorem ipsum")
    assert response.json()["usage"]["completion_tokens"] == 8
    assert health.status_code == 200


async def test_sequential_streams_reuse_one_keep_alive_connection(fake: FakeModelServer) -> None:
    # A stream closed right after `[DONE]`, before the body's last chunk, loses its connection: each
    # request would then open a new one (a TCP connect per model call under load).
    user = Message(id="u", role="user", content="Hello")
    async with client(fake) as model:
        for _ in range(3):
            text, _final = await turn(model, [user], [])
            assert text
    assert fake.requests == 3
    assert fake.connections == 1


async def test_a_text_turn_is_paced_from_its_first_text_and_a_tool_call_turn_is_never(
    fake: FakeModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    paced: list[tuple[float, bool]] = []  # (interval, whether the turn had streamed text by then)
    text = ""
    pace = _h1.H1Response.pace

    def spy(response: _h1.H1Response, seconds: float) -> None:
        paced.append((seconds, bool(text)))
        pace(response, seconds)

    monkeypatch.setattr(_h1.H1Response, "pace", spy)
    tools = [Tool.from_callable(get_weather)]
    user = Message(id="u", role="user", content="What is the weather in Paris?")
    token = text_read_interval.set(0.02)
    try:
        async with client(fake) as model:
            _text, first = await turn(model, [user], tools)  # a tool call: no text, so never paced
            assert first.tool_calls
            assert paced == []
            call = first.tool_calls[0]
            assistant = Message(id="a", role="assistant", tool_calls=(call,))
            result = Message(id="t", role="tool", tool_call_id=call.id, tool_name=call.name, content="Sunny")
            async for update in model.stream([user, assistant, result], tools):
                if isinstance(update, TextDelta):
                    text += update.text
    finally:
        text_read_interval.reset(token)
    assert paced == [(0.02, True)]  # once, after the first text
    assert text == "lorem ipsum dolor sit amet consectetur adipiscing elit"  # nothing lost to the holds

    async with client(fake) as model:  # no interval set: read as it arrives
        await turn(model, [Message(id="u", role="user", content="hi")], [])
    assert len(paced) == 1
