"""Access tracking against redis-server: the idle time LRU keeps and the LFU counters.

LFU: with lfu-log-factor 0 every access adds one and with lfu-decay-time 0 nothing decays, so
OBJECT FREQ must follow Redis exactly: which commands count an access (reads, writes, stores),
which do not (TYPE, EXISTS, TTL, OBJECT itself), and where a new key starts. A limit is set (far
above the data) as with any real LFU setup: without one Redis shares small integers, whose
counter is not the key's."""

from __future__ import annotations

import pytest

KEYS = ("s", "n", "l", "h", "z")
STEPS = [
    ("SET", "s", "v"), ("GET", "s"), ("GET", "s"), ("SET", "s", "w"), ("SET", "s", "x", "EX", "100"),
    ("APPEND", "s", "y"), ("APPEND", "s", "z"), ("STRLEN", "s"), ("TYPE", "s"), ("EXISTS", "s"),
    ("TTL", "s"), ("EXPIRE", "s", "200"), ("PERSIST", "s"), ("SET", "s", "q", "GET"), ("GETSET", "s", "r"),
    ("INCR", "n"), ("INCR", "n"), ("INCRBY", "n", "5"), ("MGET", "s", "n"),
    ("LPUSH", "l", "a"), ("LPUSH", "l", "b"), ("LRANGE", "l", "0", "-1"), ("LPOP", "l"), ("LLEN", "l"),
    ("HSET", "h", "f", "v"), ("HSET", "h", "g", "v"), ("HGET", "h", "f"), ("HDEL", "h", "g"),
    ("ZADD", "z", "1", "a"), ("ZINCRBY", "z", "2", "a"), ("ZSCORE", "z", "a"), ("ZRANGE", "z", "0", "-1"),
]


@pytest.fixture
def lfu(diff):
    diff.check("CONFIG", "SET", "maxmemory", "1gb", "maxmemory-policy", "allkeys-lfu", "lfu-log-factor", "0",
               "lfu-decay-time", "0")
    yield diff
    diff.check("CONFIG", "SET", "maxmemory", "0", "maxmemory-policy", "noeviction", "lfu-log-factor", "10",
               "lfu-decay-time", "1")


def test_object_freq_counts_accesses_as_redis_does(lfu):
    for step in STEPS:
        lfu.check(*step)
        for key in KEYS:
            lfu.check("OBJECT", "FREQ", key)


def test_restore_sets_the_counter_it_is_given(lfu):
    for server in (lfu.redis, lfu.ember):
        server.call("SET", "src", "v")
        payload = server.call("DUMP", "src").split(b"\r\n", 1)[1][:-2]  # the bulk's bytes
        server.call("RESTORE", "k", "0", payload, "FREQ", "100")
    lfu.check("OBJECT", "FREQ", "k")
    lfu.check("GET", "k")
    lfu.check("OBJECT", "FREQ", "k")


def test_object_freq_and_idletime_need_their_policy(lfu):
    """(Right after a switch Redis reads one field as the other, "LRU and LFU data will take
    some time to adjust": only the errors are compared.)"""
    lfu.check("SET", "s", "v")
    lfu.check("OBJECT", "IDLETIME", "s")
    lfu.check("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    lfu.check("OBJECT", "FREQ", "s")


@pytest.mark.parametrize("write", [("RPUSH", "k", "b"), ("LPOP", "k"), ("EXPIRE", "k", "100"), ("GET", "k")],
                         ids=lambda args: args[0])
def test_a_write_in_place_resets_the_idle_time(diff, write):
    """Each server restores its own DUMP of a list as idle for 1000 s; a read or any write to the
    key (even in place: a push, a pop, a TTL) makes it idle 0 again, as Redis's lookups do."""
    for server in (diff.redis, diff.ember):
        server.call("RPUSH", "src", "a", "a")
        payload = server.call("DUMP", "src").split(b"\r\n", 1)[1][:-2]  # the bulk's bytes
        server.call("RESTORE", "k", "0", payload, "IDLETIME", "1000")
    diff.check("OBJECT", "IDLETIME", "k")
    diff.check(*write)
    diff.check("OBJECT", "IDLETIME", "k")
