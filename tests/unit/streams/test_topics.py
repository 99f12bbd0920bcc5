"""Topics: names under the prefix and the specs the runtime creates."""

from __future__ import annotations

from streams import Topics, TopicSpec


def test_default_names() -> None:
    t = Topics()

    assert (t.commands, t.events, t.work_model, t.work_tools, t.telemetry, t.deadletter) == (
        "agno.runs.commands",
        "agno.runs.events",
        "agno.work.model",
        "agno.work.tools",
        "agno.telemetry",
        "agno.deadletter",
    )
    assert t.partitions == 12


def test_prefix_applies_to_every_topic() -> None:
    t = Topics(prefix="test-1.", partitions=3)

    assert all(spec.name.startswith("test-1.") for spec in t.specs())


def test_specs_cover_every_topic_with_the_partition_count() -> None:
    t = Topics(prefix="p.", partitions=5)
    specs = t.specs()

    assert [s.name for s in specs] == [t.commands, t.events, t.work_model, t.work_tools, t.telemetry, t.deadletter]
    assert {s.partitions for s in specs} == {5}
    assert {s.replication_factor for s in specs} == {1}


def test_run_data_is_kept_and_work_expires_after_a_week() -> None:
    t = Topics(prefix="p.")
    retention = {s.name: (s.config or {}).get("retention.ms") for s in t.specs()}
    week = str(7 * 24 * 3600 * 1000)

    assert retention == {
        t.commands: "-1",
        t.events: "-1",
        t.deadletter: "-1",
        t.work_model: week,
        t.work_tools: week,
        t.telemetry: week,
    }


def test_specs_are_topic_specs() -> None:
    assert all(isinstance(s, TopicSpec) for s in Topics().specs())
