"""murmur2 / partition_for match Kafka's default partitioner (vectors from Kafka's UtilsTest.testMurmur2)."""

from __future__ import annotations

import pytest

from streams import murmur2, partition_for

KAFKA_VECTORS = [
    (b"21", -973932308),
    (b"foobar", -790332482),
    (b"a-little-bit-long-string", -985981536),
    (b"a-little-bit-longer-string", -1486304829),
    (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
    (b"abc", 479470107),
]


@pytest.mark.parametrize(("data", "expected"), KAFKA_VECTORS)
def test_murmur2_matches_kafka(data: bytes, expected: int) -> None:
    assert murmur2(data) == expected


def _int32(x: int) -> int:
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


def _ushr(x: int, n: int) -> int:
    """Java's `x >>> n` on an int."""
    return _int32((x & 0xFFFFFFFF) >> n)


def java_murmur2(data: bytes) -> int:
    """A line-by-line transliteration of Kafka's `Utils.murmur2` in Java int arithmetic (an independent oracle)."""
    length = len(data)
    m = _int32(0x5BD1E995)
    h = _int32(_int32(0x9747B28C) ^ length)
    for i in range(length // 4):
        i4 = i * 4
        k = _int32(data[i4] + (data[i4 + 1] << 8) + (data[i4 + 2] << 16) + (data[i4 + 3] << 24))
        k = _int32(k * m)
        k ^= _ushr(k, 24)
        k = _int32(k * m)
        h = _int32(h * m)
        h ^= k
    tail = length & ~3
    rest = length % 4
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = _int32(h * m)
    h ^= _ushr(h, 13)
    h = _int32(h * m)
    h ^= _ushr(h, 15)
    return _int32(h)


@pytest.mark.parametrize(("data", "expected"), KAFKA_VECTORS)
def test_the_oracle_matches_kafka(data: bytes, expected: int) -> None:
    assert java_murmur2(data) == expected


def test_murmur2_matches_the_java_transliteration_for_every_tail_length() -> None:
    samples = [bytes((i * 37 + j * 11) % 256 for j in range(n)) for i in range(8) for n in range(41)]

    assert {len(s) % 4 for s in samples} == {0, 1, 2, 3}
    assert [murmur2(s) for s in samples] == [java_murmur2(s) for s in samples]


@pytest.mark.parametrize("data", [b"", b"x", b"\xff" * 7, bytes(range(256))])
def test_murmur2_is_a_signed_32_bit_int(data: bytes) -> None:
    assert -(2**31) <= murmur2(data) < 2**31


@pytest.mark.parametrize(("data", "hashed"), KAFKA_VECTORS)
@pytest.mark.parametrize("partitions", [1, 3, 12, 50])
def test_partition_for_is_kafkas_to_positive_modulo(data: bytes, hashed: int, partitions: int) -> None:
    # Kafka: Utils.toPositive(murmur2(key)) % numPartitions, toPositive = number & 0x7fffffff.
    assert partition_for(data, partitions) == (hashed & 0x7FFFFFFF) % partitions


def test_partition_for_is_stable_and_in_range() -> None:
    keys = [f"session-{i}".encode() for i in range(500)]
    partitions = [partition_for(k, 12) for k in keys]

    assert partitions == [partition_for(k, 12) for k in keys]
    assert set(partitions) == set(range(12))
