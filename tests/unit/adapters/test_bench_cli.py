"""`agnostream bench` flags: the Kafka target's partitions and broker warm-up reach the options, bad values
are refused before anything starts."""

from __future__ import annotations

import argparse

import pytest

from adapters.bench import cli as bench_cli
from adapters.bench import run as bench_run
from engine import ConfigurationError


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    bench_cli.add_parser(sub)
    return parser.parse_args(["bench", *argv])


def test_defaults_give_one_partition_and_a_warm_broker() -> None:
    args = _parse()
    assert args.kafka_partitions == 1
    assert args.broker_warmup == 90.0
    assert args.broker_core == "server"


@pytest.mark.parametrize(
    ("argv", "field"),
    [(("--kafka-partitions", "0"), "--kafka-partitions"), (("--broker-warmup", "-1"), "--broker-warmup")],
)
def test_bad_values_are_refused_naming_the_flag(
    argv: tuple[str, ...], field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def never(_opts: object) -> dict[str, object]:
        raise AssertionError("the benchmark must not start")

    monkeypatch.setattr(bench_run, "run_bench", never)
    with pytest.raises(ConfigurationError, match=field):
        bench_cli.bench(_parse("--targets", "kafka", *argv))


def test_flags_reach_the_options(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bench_run.BenchOptions] = []

    async def capture(opts: bench_run.BenchOptions) -> dict[str, object]:
        seen.append(opts)
        raise RuntimeError("stop here")

    monkeypatch.setattr(bench_run, "run_bench", capture)
    with pytest.raises(RuntimeError, match="stop here"):
        bench_cli.bench(
            _parse("--targets", "kafka", "--kafka-partitions", "6", "--broker-warmup", "0", "--broker-core", "client")
        )
    assert (seen[0].kafka_partitions, seen[0].broker_warmup_s, seen[0].broker_core) == (6, 0.0, "client")
