"""INFO keyspace_hits / keyspace_misses compared with redis-server.

Cache dashboards compute the hit ratio from these two counters, so each read must count what
Redis counts: one hit or miss per key looked up for reading, nothing for writes, existence
checks that Redis does not count, or introspection. Each case runs its setup, then the command, on
both servers, and compares the replies and how far each counter moved.
"""

from __future__ import annotations

import re

import pytest

from .harness import Differ, RawConnection, sorted_reply

SETUP = [["SET", "s", "v"], ["RPUSH", "l", "a", "b"], ["HSET", "h", "f", "1"], ["SADD", "set", "a"],
         ["ZADD", "z", "1", "a"], ["XADD", "x", "1-1", "f", "v"], ["PFADD", "p", "a"]]

COMMANDS = [
    ["GET", "s"], ["GET", "missing"], ["MGET", "s", "missing", "s"], ["STRLEN", "s"], ["GETRANGE", "s", "0", "1"],
    ["EXISTS", "s", "missing"], ["TYPE", "s"], ["TTL", "s"], ["PTTL", "missing"], ["OBJECT", "ENCODING", "s"],
    ["DUMP", "s"], ["TOUCH", "s", "missing"], ["RANDOMKEY"], ["DBSIZE"], ["KEYS", "*"],
    ["SET", "s", "w"], ["SET", "s", "w", "GET"], ["INCR", "n"], ["APPEND", "s", "x"], ["DEL", "missing"],
    ["GETDEL", "s"], ["GETEX", "s"], ["COPY", "s", "s2"], ["RENAME", "s", "s3"],
    ["LRANGE", "l", "0", "-1"], ["LLEN", "missing"], ["LINDEX", "l", "0"], ["LPOS", "l", "b"], ["LPOP", "l"],
    ["HGET", "h", "f"], ["HGETALL", "h"], ["HEXISTS", "h", "x"], ["HMGET", "h", "f", "g"], ["HINCRBY", "h", "f", "1"],
    ["SMEMBERS", "set"], ["SISMEMBER", "set", "a"], ["SCARD", "missing"], ["SINTER", "set", "missing"],
    ["SUNIONSTORE", "d", "set", "missing"],
    ["ZRANGE", "z", "0", "-1"], ["ZSCORE", "z", "a"], ["ZCARD", "z"], ["ZUNIONSTORE", "d", "2", "z", "missing"],
    ["XRANGE", "x", "-", "+"], ["XLEN", "x"], ["XREAD", "STREAMS", "x", "0"],
    ["PFCOUNT", "p", "missing"], ["BITCOUNT", "s"], ["SORT", "l", "ALPHA"], ["SCAN", "0"],
]


# Replies that depend on chance or on the hash table: only their type is compared.
BY_CHANCE = {"RANDOMKEY", "SCAN"}


def reply_type(raw: bytes) -> bytes:
    return raw[:1]


def counters(conn: RawConnection) -> tuple[int, int]:
    info = conn.call("INFO", "stats").decode()
    return tuple(int(re.search(rf"{name}:(\d+)", info).group(1)) for name in ("keyspace_hits", "keyspace_misses"))


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(command) for command in COMMANDS])
def test_hits_and_misses_match_redis(diff: Differ, command: list[str]) -> None:
    for args in SETUP:
        diff.check(*args)
    before = counters(diff.redis), counters(diff.ember)
    diff.check(*command, normalize=reply_type if command[0] in BY_CHANCE else sorted_reply)  # KEYS: any order
    after = counters(diff.redis), counters(diff.ember)
    redis_moved = [a - b for a, b in zip(after[0], before[0], strict=True)]
    ember_moved = [a - b for a, b in zip(after[1], before[1], strict=True)]
    assert ember_moved == redis_moved, "hits, misses"
