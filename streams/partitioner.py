"""Kafka's default partitioner: murmur2 of the key bytes, positive, modulo the partition count.

The embedded log uses the same function as Kafka clients (Java's `Utils.murmur2`, aiokafka's
`murmur2`), so a session lands on the same partition number on both transports.
"""

from __future__ import annotations

import functools

__all__ = ["murmur2", "partition_for"]

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Return Kafka's murmur2 hash of `data` as a signed 32-bit int (seed 0x9747B28C)."""
    length = len(data)
    h = (0x9747B28C ^ length) & _MASK
    n4 = length // 4
    for i in range(n4):
        i4 = i * 4
        k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24)
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = (h * _M) & _MASK
        h ^= k
    extra = length % 4
    tail = n4 * 4
    if extra >= 3:
        h ^= data[tail + 2] << 16
    if extra >= 2:
        h ^= data[tail + 1] << 8
    if extra >= 1:
        h ^= data[tail]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


# Keys are session ids (every record of a session hashes the same key) and, on the work topics, run ids
# (1-3 records each). 1024 keeps the sessions in use; 16 384 filled up with run ids within a minute of the
# benchmark and held ~3 MB more of the server's peak RSS.
@functools.lru_cache(maxsize=1024)
def partition_for(key: bytes, partitions: int) -> int:
    """Return the partition of `key` among `partitions` (Kafka: `toPositive(murmur2(key)) % n`)."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
