"""The Kafka transport: the log protocol on a real Apache Kafka (aiokafka).

`KafkaLog` implements `streams.transport.Log`:
- appends through an idempotent producer (`enable_idempotence`, acks=all);
- `transaction()` runs consume-transform-produce in Kafka transactions on a transactional producer, and
  consumers read with `isolation_level="read_committed"`, so a transaction's records become visible together
  or not at all. Its offsets are committed right after it by the member of their group that holds the
  partitions (`_KafkaConsumer.defer_commit`, at most every `offset_commit_interval_ms`), or inside it
  (`send_offsets_to_transaction`) when this log has no such member. Logical transactions that close in
  the same event-loop tick share one Kafka transaction (group commit), since a transactional producer runs
  one transaction at a time;
- group consumers commit explicitly (`enable_auto_commit=False`) and report rebalances through the
  rebalance callbacks;
- every aiokafka error is translated at this boundary (`_map_kafka_errors`).

Offsets in a transactional topic have gaps (commit markers take offsets): positions are always "the
offset after the last record read", never counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka import errors as kafka_errors
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]

from ._kafka_consumer import _KafkaConsumer
from ._kafka_util import (
    _SEQUENCE_BREAKERS,
    _check_alive,
    _map_kafka_errors,
    _paced,
    _record,
    _sender_stopped,
    _tp,
)
from .errors import CommitFailedError, StreamTimeoutError, TopicMismatchError
from .partitioner import partition_for
from .records import DEADLETTER_HEADER, Record, TopicPartition
from .transport import Consumer, OutRecord, RebalanceCallback, TopicSpec

__all__ = ["KafkaLog"]


@dataclass(slots=True)
class _Committer:
    """One transactional producer and the logical transactions waiting to be committed on it."""

    producer: Any
    pending: list[tuple[_KafkaTransaction, asyncio.Future[None]]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


@dataclass(slots=True)
class _KafkaTransaction:
    records: list[OutRecord] = field(default_factory=list)
    offsets: dict[str, dict[TopicPartition, int]] = field(default_factory=dict)

    def send(self, record: OutRecord) -> None:
        self.records.append(record)

    def commit_offsets(self, group_id: str, offsets: Mapping[TopicPartition, int]) -> None:
        self.offsets.setdefault(group_id, {}).update(offsets)


def _dead_letters(batch: list[tuple[_KafkaTransaction, asyncio.Future[None]]]) -> bool:
    return any(any(k == DEADLETTER_HEADER for k, _ in r.headers) for tx, _ in batch for r in tx.records)


class KafkaLog:
    """The log on a Kafka cluster (see module docstring).

    Args:
        bootstrap_servers: `host:port[,host:port]` (from `--broker kafka://...` / settings).
        transactional_id: stable id of this process's transactional producer; a restarted process with
            the same id fences its previous incarnation and aborts its open transaction at once.
            Default: a random id (no fencing across restarts; open transactions then expire after
            `transaction_timeout_ms`).
        client_id: client id prefix shown in broker logs.
        default_partitions: partitions assumed for topics not described yet.
        transaction_timeout_ms: broker-side timeout of an open transaction, milliseconds.
        group_instance_id: static group membership (KIP-345) for this process's group consumers: a
            restarted worker with the same id takes its partitions back without a rebalance.
        fetch_max_wait_ms: how long a consumer's fetch waits on the broker for new records, milliseconds
            (aiokafka's default is 500; each hop of a run is a fetch, so this bounds per-hop latency).
        txn_retry_backoff_ms: the transactional producers' retry backoff, milliseconds (aiokafka's default
            is 100). A transaction that begins while the broker still writes the previous one's commit
            markers is refused with CONCURRENT_TRANSACTIONS and retried after this backoff (AddOffsetsToTxn
            and TxnOffsetCommit; AddPartitionsToTxn after aiokafka's fixed 20 ms, the Java client's value
            for this case, KAFKA-5477), holding its whole group commit meanwhile. A lower value also retries
            faster while the broker is unreachable: measured, one producer stuck retrying a commit used
            1.0 / 2.7 / 4.4-7.0 % of a core at 100 / 20 / 10 ms, and there is one per partition and role.
        offset_commit_interval_ms: how often a group member commits the offsets its transactions covered,
            at most, milliseconds (Kafka Streams' `commit.interval.ms` under exactly-once is 100 ms). Offsets
            in the transaction itself cost it two more requests in sequence (AddOffsetsToTxn, TxnOffsetCommit)
            and a commit marker: measured, ~0.45 ms of the broker's CPU and ~0.35 ms of the client's per
            transaction. Committed after it, they may lag the log by this interval when a member dies; its
            successor then finds what was already handled in the log (`Orchestrator.rebuild`'s floors, the
            workers' answered-check).
    """

    shared_transactions = False
    """Each owner commits on its own fenced transactional producer (see `fence`)."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        transactional_id: str | None = None,
        client_id: str = "agnostream",
        default_partitions: int = 12,
        transaction_timeout_ms: int = 15000,
        group_instance_id: str | None = None,
        fetch_max_wait_ms: int = 50,
        txn_retry_backoff_ms: int = 20,
        offset_commit_interval_ms: int = 100,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self._txn_retry_backoff_ms = txn_retry_backoff_ms
        self._offset_commit_interval_s = offset_commit_interval_ms / 1000
        self._members: set[_KafkaConsumer] = set()
        """Started group consumers: the offsets of a transaction are committed by the one holding them."""
        self._txn_id = transactional_id or f"agnostream-{uuid.uuid4()}"
        self._pinned_txn_id = transactional_id is not None
        self._client_id = client_id
        self._default_partitions = default_partitions
        self._txn_timeout_ms = transaction_timeout_ms
        self._group_instance_id = group_instance_id
        self._partitions: dict[str, int] = {}
        self._admin: Any = None
        self._producer: Any = None
        self._committers: dict[str | None, _Committer] = {}
        """Transactional producers: None = this process's own, else one per fenced owner."""
        self._replacing = asyncio.Lock()
        self._broken: Any = None
        """The idempotent producer after an error that breaks its sequences (replaced at the next append)."""
        self._sending = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def _common(self) -> dict[str, Any]:
        return {"bootstrap_servers": self.bootstrap_servers, "client_id": self._client_id}

    async def start(self) -> None:
        """Connect the admin client and the idempotent producer.

        Raises:
            BrokerUnavailableError: no broker answered.
        """
        with _map_kafka_errors("connecting to Kafka"):
            self._admin = _paced(AIOKafkaAdminClient(**self._common()))
            await self._admin.start()
            self._producer = await self._start_idempotent()
            await self.describe(await self._admin.list_topics())
        if self._pinned_txn_id:
            # A pinned id fences the previous incarnation now, aborting its open transaction, so readers
            # are not held back until that transaction times out.
            self._committers[None] = _Committer(await self._start_transactional(self._txn_id))

    async def close(self) -> None:
        """Finish pending appends and transactions, then close every client."""
        await self._idle.wait()
        await self._release(list(self._committers))
        for client in (self._producer, self._admin):
            if client is not None:
                with contextlib.suppress(Exception):
                    await (client.close() if client is self._admin else client.stop())
        self._producer = self._admin = None

    # ------------------------------------------------------------------ topics

    async def describe(self, topics: Sequence[str]) -> dict[str, int]:
        """Return {topic: partition count} for the existing ones among `topics`."""
        with _map_kafka_errors("describing topics"):
            existing = set(await self._admin.list_topics())
            wanted = [t for t in topics if t in existing]
            found = await self._admin.describe_topics(wanted) if wanted else []
        counts = {d["topic"]: len(d["partitions"]) for d in found if not d.get("error_code")}
        self._partitions.update(counts)
        return counts

    async def create_topics(self, specs: Sequence[TopicSpec]) -> None:
        """Create missing topics (idempotent); existing ones must have the configured partition count.

        Raises:
            TopicMismatchError: a topic exists with another partition count.
            BrokerUnavailableError: Kafka is unreachable.
        """
        existing = await self.describe([s.name for s in specs])
        for spec in specs:
            if spec.name in existing and existing[spec.name] != spec.partitions:
                raise TopicMismatchError(
                    f"topic {spec.name!r} has {existing[spec.name]} partitions, configured {spec.partitions}; "
                    "use the existing count (AGNOSTREAM_PARTITIONS) or a new topic prefix"
                )
        missing = [s for s in specs if s.name not in existing]
        if missing:
            new = [
                NewTopic(s.name, s.partitions, s.replication_factor, topic_configs=dict(s.config or {}))
                for s in missing
            ]
            with _map_kafka_errors("creating topics"), contextlib.suppress(kafka_errors.TopicAlreadyExistsError):
                await self._admin.create_topics(new)
            for spec in missing:
                self._partitions[spec.name] = spec.partitions
            await self._wait_for_metadata([s.name for s in missing])

    async def _wait_for_metadata(self, topics: list[str], timeout_s: float = 15.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            counts = await self.describe(topics)
            if all(counts.get(t) for t in topics):
                return
            await asyncio.sleep(0.1)
        raise StreamTimeoutError(f"topics {topics} were created but their metadata did not appear in {timeout_s}s")

    def partitions_for(self, topic: str) -> int:
        """Partition count of `topic` (as described or created by this log)."""
        return self._partitions.get(topic, self._default_partitions)

    # ------------------------------------------------------------------ appends

    async def send(self, record: OutRecord) -> TopicPartition:
        """Append one record with the idempotent producer; returns its partition once acknowledged."""
        with self._tracked(), _map_kafka_errors(f"producing to {record.topic}"):
            producer = await self._appender()
            (meta,) = await self._acknowledged(producer, [await self._produce(producer, record)])
        return TopicPartition(meta.topic, meta.partition)

    async def send_many(self, records: Sequence[OutRecord]) -> None:
        """Append records (order kept per partition) and wait for every acknowledgement."""
        with self._tracked(), _map_kafka_errors("producing"):
            producer = await self._appender()
            await self._acknowledged(producer, [await self._produce(producer, r) for r in records])

    async def _acknowledged(self, producer: Any, futures: list[asyncio.Future[Any]]) -> list[Any]:
        """The metadata of `producer`'s appends once all of them ended; raises the first error.

        A single append (a command) is awaited directly, not through `gather`: an event-loop iteration sooner.

        An error that breaks the idempotent producer's sequences marks it for replacement (`_appender`).
        """
        try:
            results = (
                [await futures[0]] if len(futures) == 1 else await asyncio.gather(*futures, return_exceptions=True)
            )
        except Exception as exc:  # the one append failed
            results = [exc]
        errors = [r for r in results if isinstance(r, BaseException)]
        if any(isinstance(e, _SEQUENCE_BREAKERS) for e in errors):
            self._broken = producer
        if errors:
            raise errors[0]
        return results

    async def _start_idempotent(self) -> Any:
        producer = _paced(AIOKafkaProducer(**self._common(), enable_idempotence=True, acks="all", linger_ms=1))
        await producer.start()
        return producer

    async def _appender(self) -> Any:
        """The idempotent producer, replaced first when an error broke its sequences or its sender stopped.

        A broker restart can break it: batches queued longer than the request timeout expire while a
        partition has no leader yet (LeaderNotAvailableError), and every later batch of that partition then
        arrives with a sequence gap and is refused (OutOfOrderSequenceNumber), or the sender stops. After
        either error (`_broken`) or a stopped sender, a new producer takes over: a new producer id, whose
        sequences start afresh.
        """
        if self._broken is not self._producer and not _sender_stopped(self._producer):
            return self._producer
        async with self._replacing:
            if self._broken is self._producer or _sender_stopped(self._producer):
                old, self._producer = self._producer, await self._start_idempotent()
                with contextlib.suppress(Exception):  # its pending batches fail; bounded if one still retries
                    await asyncio.wait_for(old.stop(), 5)
        return self._producer

    async def _produce(self, producer: Any, record: OutRecord) -> asyncio.Future[Any]:
        """Hand `record` to `producer` (idempotent or in a transaction); the future resolves to its metadata.

        The partition is `partition_for(key)` (Kafka's default partitioner, cached) when the topic's count is
        known here; otherwise aiokafka chooses, hashing the key again in pure Python.
        """
        count = self._partitions.get(record.topic)
        future: asyncio.Future[Any] = await producer.send(
            record.topic,
            value=record.value,
            key=record.key,
            headers=list(record.headers),
            partition=partition_for(record.key, count) if count else None,
        )
        return future

    @contextlib.contextmanager
    def _tracked(self) -> Iterator[None]:
        """Count an append in flight so `close()` waits for it."""
        self._sending += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._sending -= 1
            if self._sending == 0:
                self._idle.set()

    @asynccontextmanager
    async def transaction(self, owner: str | None = None) -> AsyncIterator[_KafkaTransaction]:
        """A logical transaction; on normal exit it commits (in a Kafka transaction) before returning.

        With `owner`, it commits on the transactional producer `fence(owner)` started, whose transactional id
        is derived from the owner: the next owner's `fence` bumps its epoch, so a member that lost `owner`
        (a zombie of a rebalance or a crash) can no longer commit for it (Kafka's own zombie fencing, as in
        Kafka Streams' exactly-once; aiokafka lacks KIP-447's generation-checked offset commits).

        Raises:
            CommitFailedError: `owner` is not fenced by this log (never taken over, or released).
        """
        tx = _KafkaTransaction()
        yield tx
        if not tx.records and not tx.offsets:
            return
        committer = self._committers.get(owner)
        if committer is None:
            if owner is not None:
                raise CommitFailedError(f"{owner!r} is not owned by this member (rebalanced); nothing committed")
            committer = self._committers[None] = _Committer(await self._start_transactional(self._txn_id))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        committer.pending.append((tx, done))
        if committer.task is None or committer.task.done():
            committer.task = asyncio.create_task(self._commit_pending(committer))
        await done

    async def fence(self, owners: Collection[str]) -> None:
        """Start a transactional producer per new owner (id `agnostream:<owner>`); see `transaction`.

        InitProducerId bumps the id's epoch, fencing every earlier holder, and returns only once the earlier
        holder's open transaction is resolved (aborted, or its commit completed).
        """
        new = [o for o in dict.fromkeys(owners) if o not in self._committers]
        producers = await asyncio.gather(*(self._start_transactional(f"agnostream:{o}") for o in new))
        for owner, producer in zip(new, producers, strict=True):
            self._committers[owner] = _Committer(producer)

    async def release(self, owners: Collection[str]) -> None:
        """Stop the producers of `owners` once their pending commits finished."""
        await self._release(owners)

    async def _release(self, owners: Iterable[str | None]) -> None:
        for owner in owners:
            committer = self._committers.pop(owner, None)
            if committer is None:
                continue
            if committer.task is not None:
                with contextlib.suppress(Exception):
                    await committer.task
            with contextlib.suppress(Exception):
                await committer.producer.stop()

    async def _start_transactional(self, transactional_id: str) -> Any:
        with _map_kafka_errors(f"starting the transactional producer {transactional_id}"):
            producer = _paced(
                AIOKafkaProducer(
                    **self._common(),
                    transactional_id=transactional_id,
                    enable_idempotence=True,
                    acks="all",
                    transaction_timeout_ms=self._txn_timeout_ms,
                    retry_backoff_ms=self._txn_retry_backoff_ms,
                )
            )
            await producer.start()
        return producer

    async def _commit_pending(self, committer: _Committer) -> None:
        while committer.pending:
            await asyncio.sleep(0)  # let transactions closing in this tick join the batch
            batch, committer.pending = committer.pending, []
            try:
                producer = committer.producer
                offsets: dict[str, dict[TopicPartition, int]] = {}
                for tx, _ in batch:
                    for group_id, group_offsets in tx.offsets.items():
                        offsets.setdefault(group_id, {}).update(group_offsets)
                if _dead_letters(batch):
                    self._supersede(offsets)
                    deferred = []
                else:
                    deferred = self._deferrable(offsets)
                if offsets or any(tx.records for tx, _ in batch):
                    await self._commit_batch(producer, batch, offsets)
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for member, member_offsets in deferred:
                member.defer_commit(member_offsets)
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    def _deferrable(
        self, offsets: dict[str, dict[TopicPartition, int]]
    ) -> list[tuple[_KafkaConsumer, dict[TopicPartition, int]]]:
        """Take out of `offsets` each group's offsets that one of its members here holds; return them by member.

        The rest stay in `offsets`, for the transaction itself (a group without a member in this log).
        """
        out: list[tuple[_KafkaConsumer, dict[TopicPartition, int]]] = []
        for member in self._members:
            group_offsets = offsets.get(member.group_id or "")
            if not group_offsets:
                continue
            held = member.assignment()
            mine = {tp: o for tp, o in group_offsets.items() if tp in held}
            if mine:
                out.append((member, mine))
                for tp in mine:
                    del group_offsets[tp]
        for group_id in [g for g, o in offsets.items() if not o]:
            del offsets[group_id]
        return out

    def _supersede(self, offsets: dict[str, dict[TopicPartition, int]]) -> None:
        """Keep `offsets` in the transaction, and drop the older offsets its groups' members here still defer.

        For a batch that dead-letters a record: its offsets commit with the dead letter, so a crash cannot
        dead-letter that record twice.
        """
        for member in self._members:
            member.forget(offsets.get(member.group_id or "", {}))

    async def _commit_batch(
        self,
        producer: Any,
        batch: list[tuple[_KafkaTransaction, asyncio.Future[None]]],
        offsets: dict[str, dict[TopicPartition, int]],
    ) -> None:
        """One Kafka transaction holding the records and offsets of `batch`'s logical transactions.

        Every record is acknowledged before the commit, or the transaction is aborted.

        Raises:
            StreamError: the producer's sender has ended (see `_check_alive`), or the commit failed.
        """
        futures: list[asyncio.Future[Any]] = []
        try:
            with _map_kafka_errors("committing a transaction"):
                _check_alive(producer)
                async with producer.transaction():
                    for tx, _ in batch:
                        futures += [await self._produce(producer, r) for r in tx.records]
                    for group_id, group_offsets in offsets.items():
                        _check_alive(producer)  # no await between this and the offsets' registration
                        await producer.send_offsets_to_transaction(
                            {_tp(tp): o for tp, o in group_offsets.items()}, group_id
                        )
                    # aiokafka commits a transaction even when one of its batches failed (a batch that
                    # expired while its partition had no leader, after a broker restart): the offsets would
                    # commit without those records. A failed record aborts the transaction instead.
                    pending = [f for f in futures if not f.done()]
                    if pending:
                        await asyncio.wait(pending)
                    errors = [e for e in (f.exception() for f in futures) if e is not None]
                    if errors:
                        raise errors[0]
        finally:
            for future in futures:  # errors after the first are the same failure's
                if future.done() and not future.cancelled():
                    future.exception()

    # ------------------------------------------------------------------ reads

    def _reader(self) -> Any:
        return _paced(
            AIOKafkaConsumer(
                **self._common(), group_id=None, enable_auto_commit=False, isolation_level="read_committed"
            )
        )

    async def end_offsets(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        """The last stable offset of each partition (read_committed high watermark)."""
        tps = list(tps)
        reader = self._reader()
        with _map_kafka_errors("reading end offsets"):
            await reader.start()
            try:
                ends = await reader.end_offsets([_tp(tp) for tp in tps])
            finally:
                await reader.stop()
        return {tp: int(ends[_tp(tp)]) for tp in tps}

    @property
    def settle_timeout_s(self) -> float:
        """How long `settled_end_offsets` waits by default, seconds: the transaction timeout plus 15 s.

        A transaction left open by a producer that died (a crash, or a broker restart that broke its
        connection mid-commit) holds the last stable offset until its next incarnation fences it or the
        broker aborts it, `transaction_timeout_ms` after it began, at the broker's next check for timed-out
        transactions (`transaction.abort.timed.out.transaction.cleanup.interval.ms`, 10 s by default).
        """
        return self._txn_timeout_ms / 1000 + 15.0

    async def settled_end_offsets(
        self, tps: Iterable[TopicPartition], timeout_s: float | None = None
    ) -> dict[TopicPartition, int]:
        """End offsets once every transaction that wrote below the current high watermark is resolved.

        A committed transaction's markers are written after EndTxn returns, and any transaction still open
        below the high watermark holds back the last stable offset, so a `read_committed` read right after a
        crash, a rebalance or a broker restart may not see answers and decisions that are already committed
        (aiokafka has no KIP-447 `require_stable`). This waits until the last stable offset reaches the high
        watermark seen at the call, then returns the last stable offsets.

        Args:
            tps: the partitions.
            timeout_s: how long to wait, seconds; default `settle_timeout_s`.

        Raises:
            StreamTimeoutError: a partition did not settle in time; its error names the open range.
            BrokerUnavailableError: Kafka is unreachable.
        """
        tps = list(tps)
        wait = self.settle_timeout_s if timeout_s is None else timeout_s
        reader = _paced(AIOKafkaConsumer(**self._common(), group_id=None, isolation_level="read_uncommitted"))
        with _map_kafka_errors("reading high watermarks"):
            await reader.start()
            try:
                high = {tp: int(o) for tp, o in (await reader.end_offsets([_tp(tp) for tp in tps])).items()}
            finally:
                await reader.stop()
        reader = self._reader()
        loop = asyncio.get_running_loop()
        deadline, pause = loop.time() + wait, 0.02
        with _map_kafka_errors("reading last stable offsets"):
            await reader.start()
            try:
                while True:
                    stable = {tp: int(o) for tp, o in (await reader.end_offsets([_tp(tp) for tp in tps])).items()}
                    open_ = {tp: (stable[tp], high[tp]) for tp in high if stable[tp] < high[tp]}
                    if not open_:
                        return {TopicPartition(tp.topic, tp.partition): o for tp, o in stable.items()}
                    if loop.time() > deadline:
                        ranges = ", ".join(f"{tp.topic}/{tp.partition} [{lo}, {hi})" for tp, (lo, hi) in open_.items())
                        raise StreamTimeoutError(
                            f"a transaction is still open after {wait:.0f} s below the high watermark of {ranges}; "
                            "its producer is gone or stuck (the broker aborts it after transaction_timeout_ms). If "
                            "it stays open, `kafka-transactions.sh describe-producers --topic T --partition P` "
                            "shows it and `kafka-transactions.sh abort --topic T --partition P --start-offset O` "
                            "ends it"
                        )
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 0.5)
            finally:
                await reader.stop()

    async def committed(self, group_id: str, tp: TopicPartition) -> int | None:
        """The committed next offset of `group_id` on `tp`, or None."""
        with _map_kafka_errors("reading committed offsets"):
            offsets = await self._admin.list_consumer_group_offsets(group_id, partitions=[_tp(tp)])
        meta = offsets.get(_tp(tp))
        return int(meta.offset) if meta is not None and meta.offset >= 0 else None

    async def read(self, tp: TopicPartition, start: int, end: int) -> list[Record]:
        """Committed records of `tp` with `start <= offset < end`."""
        if end <= start:
            return []
        reader = self._reader()
        out: list[Record] = []
        with _map_kafka_errors(f"reading {tp.topic}/{tp.partition}"):
            await reader.start()
            try:
                end = min(end, int((await reader.end_offsets([_tp(tp)]))[_tp(tp)]))
                reader.assign([_tp(tp)])
                reader.seek(_tp(tp), start)
                while await reader.position(_tp(tp)) < end:
                    batch = await reader.getmany(_tp(tp), timeout_ms=1000)
                    records = batch.get(_tp(tp), [])
                    out.extend(_record(r) for r in records if r.offset < end)
                    if not records and await reader.position(_tp(tp)) >= end:
                        break
            finally:
                await reader.stop()
        return out

    async def scan(self, topic: str, partitions: Collection[int] | None = None) -> AsyncIterator[Record]:
        """Every committed record of `topic` (of `partitions`, or all) below the last stable offsets at the call.

        One reader over the partitions, a fetch at a time: each partition's records in offset order,
        partitions interleaved.

        Raises:
            BrokerUnavailableError: Kafka is unreachable.
        """
        count = self.partitions_for(topic)
        wanted = range(count) if partitions is None else [p for p in partitions if 0 <= p < count]
        tps = [_tp(TopicPartition(topic, p)) for p in wanted]
        reader = self._reader()
        with _map_kafka_errors(f"scanning {topic}"):
            await reader.start()
        try:
            with _map_kafka_errors(f"scanning {topic}"):
                ends = {tp: int(end) for tp, end in (await reader.end_offsets(tps)).items() if end > 0}
                if not ends:
                    return
                reader.assign(list(ends))
                await reader.seek_to_beginning(*ends)
            while ends:
                with _map_kafka_errors(f"scanning {topic}"):
                    batch = await reader.getmany(*ends, timeout_ms=1000)
                for tp, records in batch.items():
                    for r in records:
                        if r.offset < ends[tp]:
                            yield _record(r)
                for tp in list(ends):
                    with _map_kafka_errors(f"scanning {topic}"):
                        if await reader.position(tp) >= ends[tp]:
                            del ends[tp]
        finally:
            await reader.stop()

    def consumer(
        self,
        topics: Sequence[str],
        *,
        group_id: str | None,
        on_assign: RebalanceCallback | None = None,
        on_revoke: RebalanceCallback | None = None,
        auto_offset_reset: str = "earliest",
        on_pause: RebalanceCallback | None = None,
    ) -> Consumer:
        """A consumer of `topics` (group member with `group_id`, manual assignment without)."""
        return _KafkaConsumer(
            self,
            list(topics),
            group_id,
            on_assign,
            on_revoke,
            auto_offset_reset,
            on_pause,
            commit_interval_s=self._offset_commit_interval_s,
        )
