"""The benchmark harness behind `agnostream bench` / `make bench` (issue 6).

Owns: the fake OpenAI-compatible model server (`fake_model`, `_chunks`), the benchmark agents
(`agent`), the load generator (`loadgen`), resource sampling (`monitor`), statistics (`stats`), the
processes under test (`processes`), replay throughput (`replay`), one run of every target (`run`),
the report and target checks (`report`) and the CLI flags (`cli`).
May import: `engine`, `streams`, `projections`, `adapters`, plus aiohttp and psutil.

Only the CLI surface is re-exported here: `agnostream` imports this package on every start, and the
rest pulls in aiohttp and psutil, so the other modules are imported by their own paths.
"""

from .cli import add_parser, bench

__all__ = ["add_parser", "bench"]
