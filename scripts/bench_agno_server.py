"""agno's own AgentOS serving the benchmark agents, for `agnostream bench --targets agno`.

Runs in its own venv (`make bench-agno-venv` → `.venv-bench-agno`, the `bench-agno` extra's packages),
never the project's: agno ships its own dependency tree, and agnostream is not importable here. The
agents come as JSON (`--spec`, `adapters.bench.agent.AGENT_SPEC`), so both runtimes serve the same
agents: agno `Agent` + `OpenAIChat(id, base_url=<fake model>, api_key=<dummy>)` + the same tool, with
a `SqliteDb` for sessions, in `AgentOS(...).get_app()` under uvicorn (one process, one worker).

    .venv-bench-agno/bin/python scripts/bench_agno_server.py --port 7778 \
        --model-url http://127.0.0.1:8080/v1 --db /tmp/agno.db --spec '{"agents": [...], ...}'
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

# agno reads these at import/first use; telemetry would try to reach agno's API (no network here).
os.environ.setdefault("AGNO_TELEMETRY", "false")
os.environ.setdefault("AGNO_DEBUG", "false")

import uvicorn
from agno.agent import Agent
from agno.db.sqlite import SqliteDb
from agno.models.openai import OpenAIChat
from agno.os import AgentOS


def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: Name of the city, e.g. "Paris".
    """
    return f"Sunny, 21C in {city}"


TOOLS = {"get_weather": get_weather}


def build_app(spec: dict[str, Any], model_url: str, db_file: str) -> Any:
    db = SqliteDb(db_file=db_file)
    agents = [
        Agent(
            id=a["id"],
            name=a["name"],
            model=OpenAIChat(id=spec["model"], base_url=model_url, api_key="bench"),
            description=spec["description"],
            instructions=spec["instructions"],
            tools=[TOOLS[name] for name in a["tools"]],
            db=db,
            telemetry=False,
        )
        for a in spec["agents"]
    ]
    return AgentOS(id="bench", agents=agents, db=db, telemetry=False).get_app()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model-url", required=True, help="the fake model's API root, e.g. http://127.0.0.1:8080/v1")
    parser.add_argument("--db", required=True, help="SQLite file for agno's sessions")
    parser.add_argument("--spec", required=True, help="the agents as JSON (adapters.bench.agent.AGENT_SPEC)")
    args = parser.parse_args()
    app = build_app(json.loads(args.spec), args.model_url, args.db)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
