"""The dirty counter (INFO rdb_changes_since_last_save) compared with redis-server.

Save points (`save 900 1`) fire on it, so each write must count the changes Redis counts: one
per command for most writes, one per element for multi-element writes, none for a write that
changes nothing. Each case runs its setup, then the command, on both servers, and compares the
replies and how far the counter moved.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from .harness import Differ, RawConnection, sorted_reply

CASES = [
    ([["SET", "a", "1"]], ["RENAME", "a", "b"]),
    ([["SET", "a", "1"], ["SET", "b", "2"]], ["RENAME", "a", "b"]),
    ([["SET", "a", "1"]], ["RENAMENX", "a", "b"]),
    ([["SET", "a", "1"]], ["COPY", "a", "b"]),
    ([["SET", "a", "1"], ["SET", "b", "2"]], ["COPY", "a", "b", "REPLACE"]),
    ([["SET", "a", "1"]], ["MOVE", "a", "1"]),
    ([], ["MSET", "a", "1", "b", "2", "c", "3"]),
    ([["SET", "a", "1"]], ["DEL", "a", "missing"]),
    ([["SET", "a", "1"]], ["EXPIRE", "a", "100"]),
    ([["SET", "a", "1", "EX", "100"]], ["PERSIST", "a"]),
    ([], ["SET", "a", "1", "NX"]),
    ([["SET", "a", "1"]], ["SET", "a", "2", "NX"]),
    ([["SET", "a", "1"]], ["GETDEL", "a"]),
    ([], ["INCR", "n"]),
    ([], ["APPEND", "s", "xyz"]),
    ([], ["SETRANGE", "s", "0", ""]),
    ([], ["RPUSH", "l", "a", "b", "c"]),
    ([["RPUSH", "l", "a", "b", "c"]], ["LMOVE", "l", "m", "LEFT", "RIGHT"]),
    ([], ["SADD", "s", "a", "b", "a"]),
    ([["SADD", "s", "a", "b"]], ["SREM", "s", "a", "x"]),
    ([["SADD", "s", "a", "b"]], ["SREM", "s", "a", "b"]),  # emptied: the key goes too
    ([["HSET", "h", "f", "1", "g", "2"]], ["HDEL", "h", "f", "g"]),
    ([["SADD", "s", "a", "b"], ["SADD", "t", "b"]], ["SINTERSTORE", "d", "s", "t"]),
    ([], ["HSET", "h", "f", "1", "g", "2"]),
    ([["HSET", "h", "f", "1"]], ["HDEL", "h", "f", "x"]),
    ([], ["ZADD", "z", "1", "a", "2", "b"]),
    ([["ZADD", "z", "1", "a"]], ["ZADD", "z", "1", "a"]),
    ([["ZADD", "z", "1", "a", "2", "b"]], ["ZPOPMIN", "z", "2"]),
    ([], ["XADD", "x", "1-1", "f", "v"]),
    ([], ["PFADD", "p", "a", "b"]),
    ([["SET", "a", "1"]], ["FLUSHDB"]),
    ([["SET", "a", "1"]], ["SWAPDB", "0", "1"]),
    ([["SET", "a", "1"], ["SET", "b", "1"]], ["UNLINK", "a", "b"]),
    ([["SET", "a", "1"]], ["EXPIREAT", "a", "1"]),
    ([], ["INCRBYFLOAT", "f", "1.5"]),
    ([["SET", "a", "1"]], ["GETSET", "a", "2"]),
    ([], ["SETEX", "a", "100", "v"]),
    ([["SET", "a", "1"]], ["GETEX", "a", "EX", "100"]),
    ([], ["MSETNX", "a", "1", "b", "2"]),
    ([], ["SETBIT", "b", "7", "1"]),
    ([["SET", "a", "x"], ["SET", "b", "y"]], ["BITOP", "AND", "d", "a", "b"]),
    ([], ["BITFIELD", "b", "SET", "u8", "0", "1", "INCRBY", "u8", "0", "1"]),
    ([], ["LPUSH", "l", "a", "b"]),
    ([["RPUSH", "l", "a", "b", "c"]], ["LPOP", "l", "2"]),
    ([["RPUSH", "l", "a", "b", "a"]], ["LREM", "l", "0", "a"]),
    ([["RPUSH", "l", "a", "b", "c"]], ["LTRIM", "l", "1", "1"]),
    ([["RPUSH", "l", "a", "b", "c"]], ["LSET", "l", "0", "x"]),
    ([["RPUSH", "l", "a", "b", "c"]], ["LINSERT", "l", "BEFORE", "b", "x"]),
    ([["RPUSH", "l", "a", "b", "c"]], ["BLPOP", "l", "0"]),
    ([["SADD", "s", "a", "b", "c"]], ["SPOP", "s", "3"]),  # all of them (which ones is chance)

    ([["SADD", "s", "a", "b"]], ["SMOVE", "s", "t", "a"]),
    ([["SADD", "s", "a", "b"], ["SADD", "t", "c"]], ["SUNIONSTORE", "d", "s", "t"]),
    ([["HSET", "h", "f", "1"]], ["HINCRBY", "h", "f", "2"]),
    ([], ["HSETNX", "h", "f", "1"]),
    ([], ["HMSET", "h", "f", "1", "g", "2"]),
    ([["ZADD", "z", "1", "a"]], ["ZINCRBY", "z", "2", "a"]),
    ([["ZADD", "z", "1", "a", "2", "b"]], ["ZREM", "z", "a", "b", "x"]),
    ([["ZADD", "z", "1", "a", "2", "b"]], ["ZREMRANGEBYSCORE", "z", "0", "5"]),
    ([["ZADD", "z", "1", "a", "2", "b"]], ["ZUNIONSTORE", "d", "1", "z"]),
    ([["ZADD", "z", "1", "a", "2", "b"]], ["ZRANGESTORE", "d", "z", "0", "-1"]),
    ([["ZADD", "z", "1", "a", "2", "b"]], ["BZPOPMIN", "z", "0"]),
    ([["XADD", "x", "1-1", "f", "v"], ["XADD", "x", "1-2", "f", "v"]], ["XDEL", "x", "1-1", "1-2"]),
    ([["XADD", "x", "1-1", "f", "v"], ["XADD", "x", "1-2", "f", "v"]], ["XTRIM", "x", "MAXLEN", "0"]),
    ([["XADD", "x", "1-1", "f", "v"]], ["XGROUP", "CREATE", "x", "g", "0"]),
    ([["XADD", "x", "1-1", "f", "v"], ["XGROUP", "CREATE", "x", "g", "0"]],
     ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">"]),
    ([], ["PFADD", "p"]),
    ([["PFADD", "p", "a"], ["PFADD", "q", "b"]], ["PFMERGE", "d", "p", "q"]),
    ([], ["GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"]),
    ([["RPUSH", "l", "3", "1", "2"]], ["SORT", "l", "STORE", "d"]),
    ([], ["EVAL", "redis.call('set', 'a', '1') redis.call('set', 'b', '2')", "0"]),
]


def dirty(conn: RawConnection) -> int:
    info = conn.call("INFO", "persistence").decode()
    return int(re.search(r"rdb_changes_since_last_save:(\d+)", info).group(1))


def dirty_moves(diff: Differ, run: Callable[[], object]) -> tuple[int, int]:
    """How far run() moves the counter on (redis, ember)."""
    before = dirty(diff.redis), dirty(diff.ember)
    run()
    return dirty(diff.redis) - before[0], dirty(diff.ember) - before[1]


@pytest.mark.parametrize(("setup", "command"), CASES, ids=[" ".join(command) for _, command in CASES])
def test_dirty_delta_matches_redis(diff: Differ, setup: list[list[str]], command: list[str]) -> None:
    for args in setup:
        diff.check(*args)
    redis_moved, ember_moved = dirty_moves(diff, lambda: diff.check(*command, normalize=sorted_reply))
    assert ember_moved == redis_moved


@pytest.mark.parametrize("count", [2, 9])  # members popped one by one; the rest rebuilt as a new set
def test_spop_counts_each_member_popped(diff: Differ, count: int) -> None:
    diff.check("SADD", "s", *"abcdefghij")
    # Which members is chance: only the counts are compared.
    assert dirty_moves(diff, lambda: diff.both("SPOP", "s", count)) == (count, count)
