import orjson

from adapters.runtime import Runtime
from streams import TopicPartition


async def test_each_finished_run_leaves_one_telemetry_envelope(runtime: Runtime) -> None:
    for i in range(3):
        _cmd, sub = await runtime.start_run("a1", "What's the weather in Paris?", session_id=f"t{i}")
        [e async for e in sub]
    topic = runtime.topics.telemetry
    n = runtime.log.partitions_for(topic)
    tps = [TopicPartition(topic, p) for p in range(n)]
    ends = await runtime.log.end_offsets(tps)
    envelopes = [orjson.loads(r.value) for tp in tps for r in await runtime.log.read(tp, 0, ends[tp])]
    assert sorted(e["session_id"] for e in envelopes) == ["t0", "t1", "t2"]
    assert all(e["status"] == "COMPLETED" and e["total_tokens"] > 0 and e["runtime"] == "agnostream" for e in envelopes)
