"""`GET /v1/support-matrix` over a real server on loopback: the registry's matrix as JSON."""

from __future__ import annotations

import httpx

from adapters.models.support_matrix import support_matrix


async def test_support_matrix_route(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        response = await client.get("/v1/support-matrix")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body == support_matrix()
    entries = {entry["provider"]: entry for entry in body["providers"]}
    assert len(entries) == 9
    assert entries["openai"]["capabilities"] == {
        "chat": True,
        "streaming": True,
        "tools": True,
        "parallel_tools": True,
        "embeddings": True,
        "structured_output": False,
    }
    assert entries["groq"]["capabilities"]["embeddings"] is False
    assert entries["glm"]["env"]["api_key"] == "ZHIPUAI_API_KEY"
    assert entries["siliconflow"]["default_base_url"] == "https://api.siliconflow.cn/v1"
