"""The benchmark report: issue-6 target checks, `bench.json` and the markdown table `bench.md`.

`results` is `{target: {mode: figures}}` with targets `floor`, `embedded`, `kafka`, `agno` and modes
`no_tools` / `tools`; figures are `stats.summarize` plus `server` (a `ResourceSummary` dict), `broker`
(Kafka only), `client` (CPU of the load generator and the fake model, to show whether the client
core was saturated, which would make every latency look worse than the server makes it) and
`machine` (per-core busy % and the CPU other processes took from the server and client cores),
`window_ms` (the measured window's wall-clock bounds, epoch ms) and, for the embedded and Kafka targets,
`hops` (`hops.run_hops` / `hops.kafka_run_hops`: where their runs' time went).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .hops import HOPS

__all__ = ["MODES", "TARGETS", "checks", "markdown"]

TARGETS = ("floor", "embedded", "kafka", "agno")
"""Benchmark targets, in run order."""
MODES = ("no_tools", "tools")
"""Tool modes: `tools` makes one tool call per request."""

Figures = Mapping[str, Any]


def _get(results: Mapping[str, Mapping[str, Figures]], target: str, mode: str) -> Figures | None:
    return results.get(target, {}).get(mode)


def _check(
    name: str, mode: str, value: float | None, limit: float, *, at_most: bool = True, why: str = ""
) -> dict[str, Any]:
    is_met = value is not None and (value <= limit if at_most else value >= limit)
    status = "n/a" if value is None else "pass" if is_met else "fail"
    return {
        "check": name,
        "mode": mode,
        "value": None if value is None else round(value, 3),
        "limit": ("<= " if at_most else ">= ") + f"{limit:g}",
        "status": status,
        "note": why if value is None else "",
    }


def _ratio(a: float, b: float) -> float | None:
    return a / b if a and b else None


def _pair(
    results: Mapping[str, Mapping[str, Figures]], a: str, b: str, mode: str, fn: Callable[[Figures, Figures], Any]
) -> Any:
    x, y = _get(results, a, mode), _get(results, b, mode)
    return None if x is None or y is None else fn(x, y)


def checks(
    results: Mapping[str, Mapping[str, Figures]],
    *,
    replay: Mapping[str, Any] | None = None,
    baseline: Mapping[str, Mapping[str, Figures]] | None = None,
    long_run: bool = False,
) -> list[dict[str, Any]]:
    """Evaluate issue 6's targets on `results`; one dict per check with status pass / fail / n/a.

    Args:
        results: `{target: {mode: figures}}` of this run.
        replay: the replay throughput figures (`events_per_s`), or None when not measured.
        baseline: the results of an earlier (60-second) report, for the long-run comparisons.
        long_run: this run is the 10-minute soak (adds the RSS-growth and vs-baseline checks).
    """
    out: list[dict[str, Any]] = []
    for target, modes in results.items():
        for mode, figures in modes.items():
            if figures["ok"] == 0:  # every other check of this target would be vacuous
                out.append(_check(f"{target} successful requests", mode, 0, 1, at_most=False))
    for mode in MODES:
        if _get(results, "embedded", mode) is None and _get(results, "kafka", mode) is None:
            continue
        no_floor = "floor not run"
        no_agno = "agno not run (make bench-agno-venv)"
        p95 = _pair(results, "embedded", "floor", mode, lambda e, f: _ratio(e["total_ms"]["p95"], f["total_ms"]["p95"]))
        out.append(_check("embedded p95 total / floor p95 total", mode, p95, 1.5, why=no_floor))
        ttft = _pair(
            results, "embedded", "floor", mode,
            lambda e, f: e["ttft_ms"]["p95"] - f["ttft_ms"]["p95"] if e["ok"] and f["ok"] else None,
        )  # fmt: skip
        out.append(_check("embedded p95 TTFT - floor p95 TTFT (ms)", mode, ttft, 100, why=no_floor))
        rps = _pair(results, "embedded", "agno", mode, lambda e, a: _ratio(e["rps"], a["rps"]))
        out.append(_check("embedded req/s / agno req/s", mode, rps, 5, at_most=False, why=no_agno))
        rss = _pair(
            results,
            "embedded",
            "agno",
            mode,
            lambda e, a: _ratio(e["server"]["peak_rss_mb"], a["server"]["peak_rss_mb"]),
        )
        out.append(_check("embedded peak RSS / agno peak RSS", mode, rss, 0.5, why=no_agno))
        emb = _get(results, "embedded", mode)
        out.append(_check("embedded errors", mode, None if emb is None else emb["errors"], 0, why="embedded not run"))
        kafka_p95 = _pair(
            results, "kafka", "floor", mode, lambda k, f: _ratio(k["total_ms"]["p95"], f["total_ms"]["p95"])
        )
        out.append(_check("kafka p95 total / floor p95 total", mode, kafka_p95, 2, why="kafka or floor not run"))
        kafka = _get(results, "kafka", mode)
        out.append(_check("kafka errors", mode, None if kafka is None else kafka["errors"], 0, why="kafka not run"))
        if long_run:
            out.extend(_long_run_checks(results, baseline, mode))
    if replay is not None:
        out.append(_check("replay divergences", "-", replay.get("divergences"), 0))
    rate = None if replay is None else replay.get("events_per_s")
    out.append(_check("replay events/s", "-", rate, 50_000, at_most=False, why="replay not measured (--replay-events)"))
    return out


def _long_run_checks(
    results: Mapping[str, Mapping[str, Figures]], baseline: Mapping[str, Mapping[str, Figures]] | None, mode: str
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for target in ("embedded", "kafka"):
        figures = _get(results, target, mode)
        if figures is None:
            continue
        growth = figures["server"]["rss_growth_pct"] if figures.get("server") else None
        out.append(_check(f"{target} RSS growth after warm-up (%)", mode, growth, 10, why="no RSS samples"))
        base = _get(baseline or {}, target, mode)
        why = "no --baseline report with this target"
        rps = None if base is None else abs(figures["rps"] / base["rps"] - 1) * 100 if base["rps"] else None
        out.append(_check(f"{target} req/s vs 60 s run (% off)", mode, rps, 10, why=why))
        p95 = None
        if base is not None and base["total_ms"]["p95"]:
            p95 = abs(figures["total_ms"]["p95"] / base["total_ms"]["p95"] - 1) * 100
        out.append(_check(f"{target} p95 total vs 60 s run (% off)", mode, p95, 10, why=why))
        out.extend(_edge_checks(target, mode, figures.get("edges")))
    return out


def _edge_checks(target: str, mode: str, edges: Mapping[str, Mapping[str, float]] | None) -> list[dict[str, Any]]:
    """The last minute of a long run against its first (`stats.edges`): the same machine, minutes apart."""
    why = "window shorter than 5 minutes"
    rps = p95 = None
    if edges is not None:  # `stats.edges` gives both stretches or none
        first, last = edges["first"], edges["last"]
        rps = (1 - last["rps"] / first["rps"]) * 100 if first["rps"] else None
        p95 = (last["p95_total_ms"] / first["p95_total_ms"] - 1) * 100 if first["p95_total_ms"] else None
    return [
        _check(f"{target} req/s lost, last vs first minute (%)", mode, rps, 10, why=why),
        _check(f"{target} p95 total gained, last vs first minute (%)", mode, p95, 10, why=why),
    ]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def _broker_cell(broker: Mapping[str, Any]) -> str:
    if not broker:
        return "-"
    return f"{_cell(broker.get('peak_rss_mb'))} / {_cell(broker.get('cpu_mean_pct'))}"


def _core_cell(machine: Mapping[str, Any]) -> str:
    """The server core's busy % and its busy ms per request (`stats.core_ms_per_request`)."""
    busy = machine.get("core_busy_pct") or []
    if not busy or machine.get("server_core_ms_per_request") is None:
        return "-"
    return f"{_cell(float(busy[0]))}, {_cell(machine.get('server_core_ms_per_request'))}"


def markdown(report: Mapping[str, Any]) -> str:
    """Render `report` (the bench.json dict) as markdown: config, results table, ratios, checks, notes."""
    cfg = report["config"]
    lines = [
        "# agnostream benchmark",
        "",
        f"C={cfg['concurrency']}, D={cfg['duration_s']} s (+{cfg['warmup_s']} s warm-up), fake model: "
        f"{cfg['tokens']} tokens, {cfg['ttft_ms']} ms to first token, {cfg['token_ms']} ms per token. "
        f"Machine: {report['machine'].get('cpu_model', '?')}, {report['machine'].get('cpus')} CPUs, "
        f"pinned: {report['machine'].get('pinned')}.",
        "",
        "| target | tools | req/s | requests | errors | TTFT p50 / p95 / p99 ms | total p50 / p95 / p99 ms "
        "| server peak RSS MB | server CPU % | broker RSS MB / CPU % | server core busy %, ms / request "
        "| client CPU % (loadgen + model) | other processes' CPU % on server / client core |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for target, modes in report["results"].items():
        for mode, f in modes.items():
            t, tot = f["ttft_ms"], f["total_ms"]
            server = f.get("server") or {}
            broker = f.get("broker") or {}
            client = f.get("client") or {}
            machine = f.get("machine") or {}
            lines.append(
                f"| {target} | {'yes' if mode == 'tools' else 'no'} | {_cell(f['rps'])} | {f['requests']} "
                f"| {f['errors']} | {t['p50']:.0f} / {t['p95']:.0f} / {t['p99']:.0f} "
                f"| {tot['p50']:.0f} / {tot['p95']:.0f} / {tot['p99']:.0f} | {_cell(server.get('peak_rss_mb'))} "
                f"| {_cell(server.get('cpu_mean_pct'))} | {_broker_cell(broker)} | {_core_cell(machine)} "
                f"| {_cell(client.get('loadgen_cpu_pct'))} + {_cell(client.get('fake_model_cpu_pct'))} "
                f"| {_cell(machine.get('server_core_foreign_pct'))} / {_cell(machine.get('client_core_foreign_pct'))} |"
            )
    replay = report.get("replay")
    if replay:
        lines += [
            "",
            f"Replay: {replay['events']:,} events in {replay['wall_s']:.1f} s → **{replay['events_per_s']:,.0f} "
            f"events/s** with {replay.get('workers', 1)} worker process(es) "
            f"{'pinned to the server core' if replay.get('pinned', True) else 'on every core'} "
            f"(`agnostream replay` wall time including process start; divergences: {replay['divergences']}).",
        ]
        single = replay.get("one_process")
        if single:
            lines.append(
                f"One process pinned to the server core: {single['wall_s']:.1f} s → "
                f"{single['events_per_s']:,.0f} events/s (divergences: {single['divergences']})."
            )
    lines += ["", "## Issue 6 targets", "", "| check | tools | value | target | status |", "|---|---|---:|---|---|"]
    for c in report["checks"]:
        status = {"pass": "PASS", "fail": "**FAIL**"}.get(c["status"], f"n/a ({c['note']})")
        value = "-" if c["value"] is None else f"{c['value']:g}"
        lines.append(f"| {c['check']} | {c['mode']} | {value} | {c['limit']} | {status} |")
    lines += _hops(report["results"])
    lines += [
        "",
        "A target whose server core is ~95 % busy or more is CPU-bound: C sessions without think time then take "
        "about C * (server core ms / request) each on average, whichever hop they queue in.",
    ]
    if report.get("notes"):
        lines += ["", "## Notes", "", *(f"- {n}" for n in report["notes"])]
    return "\n".join(lines) + "\n"


def _hops(results: Mapping[str, Mapping[str, Figures]]) -> list[str]:
    """Per-hop tables of the embedded and Kafka targets (`hops.run_hops`), one column pair per tool mode."""
    lines: list[str] = []
    for target, title in (("embedded", "the embedded runs'"), ("kafka", "the Kafka runs'")):
        modes = [m for m in MODES if (_get(results, target, m) or {}).get("hops")]
        if not modes:
            continue
        rows: dict[str, dict[str, Mapping[str, Any]]] = {}
        for mode in modes:
            for hop in results[target][mode]["hops"]:
                rows.setdefault(hop["hop"], {})[mode] = hop
        header = " | ".join(f"{'with' if m == 'tools' else 'without'} tools: p50 / p95 ms" for m in modes)
        lines += [
            "",
            f"## Where {title} time went",
            "",
            "Per hop of the runs started in the measured window, from the log's record timestamps "
            "(`adapters/bench/hops.py`).",
            "",
            f"| hop | {header} |",
            "|---|" + "---:|" * len(modes),
        ]
        for hop, by_mode in sorted(rows.items(), key=lambda item: HOPS.index(item[0])):
            cells = [f"{by_mode[m]['p50_ms']:.0f} / {by_mode[m]['p95_ms']:.0f}" if m in by_mode else "-" for m in modes]
            lines.append(f"| {hop} | " + " | ".join(cells) + " |")
    return lines
