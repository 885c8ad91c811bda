"""maxmemory's refusals against redis-server. With maxmemory 1 both servers are over the limit
whatever they hold, so under noeviction every command that may grow memory, anything queued
in MULTI and a flagged script that may write must be refused with Redis's errors, and every
other command must still run."""

from __future__ import annotations

import pytest


@pytest.fixture
def full(diff):
    diff.check("CONFIG", "SET", "maxmemory-policy", "noeviction")
    diff.check("CONFIG", "SET", "maxmemory", "1")
    yield diff
    diff.check("CONFIG", "SET", "maxmemory", "0")


COMMANDS = [
    ("SET", "a", "b"), ("GET", "a"), ("INCR", "n"), ("LPUSH", "l", "x"), ("EXISTS", "a"), ("DEL", "a"),
    ("EXPIRE", "a", "10"), ("PING",), ("DBSIZE",),
    ("EVAL", "return redis.call('set', 'x', 'y')", "0"),
    ("EVAL", "return redis.call('get', 'x')", "0"),
    ("EVAL", "#!lua\nreturn 1", "0"),
    ("EVAL", "#!lua flags=no-writes\nreturn 1", "0"),
    ("EVAL", "#!lua flags=allow-oom\nreturn redis.call('set', 'x', 'y')", "0"),
    ("GET", "x"), ("DEL", "x"),
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: " ".join(args)[:40])
def test_commands_when_memory_is_full(full, args):
    full.check(*args)


def test_transactions_when_memory_is_full(full):
    full.check_pipeline([("MULTI",), ("GET", "a"), ("EXEC",)])
    full.check_pipeline([("MULTI",), ("SET", "a", "b"), ("DISCARD",), ("GET", "a")])
    full.check_pipeline([("MULTI",), ("EXEC",)])


BIG = [  # (name, commands that build the key "k"): sizes where both servers use the same encoding
    ("string", [("SET", "k", "x" * 1000)]),
    ("list", [("RPUSH", "k", *["x" * 100] * 300)]),
    ("hash", [("HSET", "k", *[part for n in range(300) for part in (f"f{n}", "x" * 20)])]),
    ("set", [("SADD", "k", *[f"m{n}" * 10 for n in range(300)])]),
    ("zset", [("ZADD", "k", *[part for n in range(300) for part in (str(n), f"m{n}" * 10)])]),
]


@pytest.mark.parametrize("commands", [commands for _, commands in BIG], ids=[name for name, _ in BIG])
def test_memory_usage_is_near_redis(diff, commands):
    """maxmemory compares Ember's estimate with the limit: it must be close to what Redis uses."""
    for args in commands:
        diff.check(*args)
    redis_usage, ember_usage = (int(raw[1:-2]) for raw in diff.both("MEMORY", "USAGE", "k"))
    assert 0.75 <= ember_usage / redis_usage <= 1.25, (redis_usage, ember_usage)

