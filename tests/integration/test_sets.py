"""Set commands against a real Ember process: replies in RESP2 and RESP3, error texts,
encodings (intset / listpack / hashtable) with their orders, SPOP/SRANDMEMBER and SSCAN."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis

from ember.protocol.errors import WRONGTYPE
from tests.conftest import encoding, raw, start_ember


def members(client: redis.Redis, key: str) -> list[bytes]:
    """SMEMBERS in server order (redis-py turns it into an unordered Python set)."""
    return raw(client, "SMEMBERS", key)


@contextmanager
def ember_with(tmp_path_factory, *options: str) -> Iterator[redis.Redis]:
    """A client of an Ember started with `options`."""
    server = start_ember(tmp_path_factory.mktemp("ember"), *options)
    client = server.client(protocol=2)
    try:
        yield client
    finally:
        client.close()
        server.stop()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """An Ember with tiny encoding limits, so conversions happen with a handful of members."""
    with ember_with(tmp_path_factory, "--set-max-intset-entries", "4", "--set-max-listpack-entries", "5",
                    "--set-max-listpack-value", "8") as client:
        yield client


def test_sadd_srem_and_membership(r):
    assert r.sadd("s", "a", "b", "a") == 2
    assert r.sadd("s", "b", "c") == 1
    assert r.scard("s") == 3
    assert r.scard("nokey") == 0
    assert r.sismember("s", "a") == 1
    assert r.sismember("s", "zz") == 0
    assert r.sismember("nokey", "a") == 0
    assert r.smismember("s", "a", "zz", "c") == [1, 0, 1]
    assert r.smismember("nokey", "a", "b") == [0, 0]
    assert r.srem("s", "a", "zz", "a") == 1
    assert r.srem("nokey", "a") == 0
    assert r.srem("s", "b", "c") == 2
    assert r.exists("s") == 0


def test_smembers_orders(r, r3):
    r.sadd("ints", 30, -5, 7, 100)
    assert members(r, "ints") == [b"-5", b"7", b"30", b"100"]  # intset: ascending
    r.sadd("strs", "z", "a", "m")
    r.srem("strs", "a")
    r.sadd("strs", "b")
    assert members(r, "strs") == [b"z", b"m", b"b"]  # listpack: insertion order
    assert r3.smembers("ints") == {b"-5", b"7", b"30", b"100"}
    assert r3.smembers("nokey") == set()
    assert members(r, "nokey") == []


def test_encodings_and_conversions(small):
    small.flushall()
    small.sadd("i", 1, 2, 3, 4)
    assert encoding(small, "i") == "intset"
    small.sadd("i", 5)  # more than set-max-intset-entries
    assert encoding(small, "i") == "hashtable"
    small.sadd("mix", 3, 1, 2)
    small.sadd("mix", "x")  # a string joins a small intset: listpack, integers first, ascending
    assert encoding(small, "mix") == "listpack"
    assert members(small, "mix") == [b"1", b"2", b"3", b"x"]
    small.sadd("mix", "y")
    assert encoding(small, "mix") == "listpack"
    small.sadd("mix", "z")  # more than set-max-listpack-entries
    assert encoding(small, "mix") == "hashtable"
    small.sadd("long", "abcdefghi")
    assert encoding(small, "long") == "hashtable"
    small.sadd("canon", "01")  # not a canonical integer: no intset
    assert encoding(small, "canon") == "listpack"
    # Redis 7.2 sizes a new set from the SADD's argument count, duplicates included.
    small.sadd("ints", 1, 1, 1, 1, 1)  # 5 announced, more than set-max-intset-entries
    assert encoding(small, "ints") == "listpack"
    small.sadd("hint", "a", "b", "c", "a", "b", "c")  # 6 members announced: straight to a hashtable
    assert encoding(small, "hint") == "hashtable"


def test_big_intset_joined_by_a_string_becomes_a_hashtable(r):
    r.sadd("s", *range(200))  # an intset longer than set-max-listpack-entries (128)
    assert encoding(r, "s") == "intset"
    r.sadd("s", "x")
    assert encoding(r, "s") == "hashtable"


def test_intset_holds_int64_only(r):
    r.sadd("in", str(2**63 - 1), str(-(2**63)))
    assert encoding(r, "in") == "intset"
    r.sadd("out", str(2**63))
    assert encoding(r, "out") == "listpack"


def test_spop(r, r3):
    assert r.spop("nokey") is None
    assert r.spop("nokey", 3) == []
    assert r3.spop("nokey", 3) in ([], set())
    r.sadd("s", *range(10))
    popped = r.spop("s")
    assert int(popped) in range(10) and r.scard("s") == 9
    popped = r.spop("s", 4)
    assert len(set(popped)) == 4 and r.scard("s") == 5
    assert r.spop("s", 0) == []
    rest = raw(r, "SPOP", "s", 100)
    assert rest == sorted(rest, key=int)  # the whole intset, ascending
    assert r.exists("s") == 0
    with pytest.raises(redis.ResponseError, match="^value is out of range, must be positive$"):
        r.spop("s", -1)
    with pytest.raises(redis.ResponseError, match="^value is out of range, must be positive$"):
        raw(r, "SPOP", "s", "x")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        raw(r, "SPOP", "s", 1, 2)


def test_spop_most_of_a_big_set_rebuilds_it(r):
    r.sadd("s", *[f"m{i}" for i in range(300)])
    assert encoding(r, "s") == "hashtable"
    r.expire("s", 1000)
    popped = r.spop("s", 290)
    assert len(set(popped)) == 290
    assert r.scard("s") == 10
    assert encoding(r, "s") == "listpack"  # Redis builds the 10 survivors into a new set
    assert r.ttl("s") > 0
    assert not set(popped) & set(members(r, "s"))


def test_srandmember(r, r3):
    assert r.srandmember("nokey") is None
    assert r.srandmember("nokey", 5) == []
    r.sadd("s", *range(20))
    assert int(r.srandmember("s")) in range(20)
    picked = r.srandmember("s", 7)
    assert len(picked) == 7 and len(set(picked)) == 7
    assert len(r.srandmember("s", -50)) == 50
    assert r.srandmember("s", 0) == []
    assert r.srandmember("s", 100) == [str(i).encode() for i in range(20)]  # whole intset, sorted
    assert isinstance(raw(r3, "SRANDMEMBER", "s", 3), list)
    with pytest.raises(redis.ResponseError, match="value is out of range, value must between"):
        r.srandmember("s", -(2**63))
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        raw(r, "SRANDMEMBER", "s", 1, 2)


def test_random_picks_are_spread(r):
    r.sadd("s", *[f"m{i}" for i in range(1000)])
    seen = set()
    for _ in range(40):
        seen.add(r.srandmember("s"))
        seen.update(r.srandmember("s", 50))
    assert len(seen) > 600


def test_smove(r):
    r.sadd("a", "x", "y")
    assert r.smove("a", "b", "x") == 1
    assert members(r, "b") == [b"x"]
    assert r.smove("a", "b", "zz") == 0
    assert r.smove("nokey", "b", "x") == 0
    assert r.smove("a", "a", "y") == 1
    assert r.smove("a", "a", "zz") == 0
    assert r.smove("a", "b", "y") == 1
    assert r.exists("a") == 0
    r.set("str", "v")
    assert r.smove("nokey", "str", "x") == 0  # a missing source wins over a wrong destination
    with pytest.raises(redis.ResponseError, match=f"^{WRONGTYPE}$"):
        r.smove("b", "str", "x")
    with pytest.raises(redis.ResponseError, match=f"^{WRONGTYPE}$"):
        r.smove("str", "b", "x")


def test_set_algebra(r, r3):
    r.sadd("a", 1, 2, 3, 4)
    r.sadd("b", 3, 4, 5)
    r.sadd("c", "x", 4)
    assert raw(r, "SINTER", "a", "b") == [b"3", b"4"]
    assert raw(r, "SUNION", "a", "b") == [b"1", b"2", b"3", b"4", b"5"]
    assert raw(r, "SDIFF", "a", "b") == [b"1", b"2"]
    assert raw(r, "SINTER", "a", "b", "c") == [b"4"]
    assert raw(r, "SINTER", "a", "nokey") == []
    assert raw(r, "SDIFF", "nokey", "a") == []
    assert raw(r, "SDIFF", "a", "a") == []
    assert r3.sunion("a", "c") == {b"1", b"2", b"3", b"4", b"x"}
    assert r.sintercard(2, ["a", "b"]) == 2
    assert r.sintercard(2, ["a", "b"], limit=1) == 1
    assert r.sintercard(2, ["a", "nokey"]) == 0
    with pytest.raises(redis.ResponseError, match="^numkeys should be greater than 0$"):
        r.execute_command("SINTERCARD", 0, "a")
    with pytest.raises(redis.ResponseError, match="^Number of keys can't be greater than number of args$"):
        r.execute_command("SINTERCARD", 3, "a", "b")
    with pytest.raises(redis.ResponseError, match="^LIMIT can't be negative$"):
        r.execute_command("SINTERCARD", 1, "a", "LIMIT", -1)
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("SINTERCARD", 1, "a", "LIMIT")
    r.set("str", "v")
    with pytest.raises(redis.ResponseError, match=f"^{WRONGTYPE}$"):
        raw(r, "SINTER", "nokey", "str")
    with pytest.raises(redis.ResponseError, match=f"^{WRONGTYPE}$"):
        raw(r, "SUNION", "a", "str")


def test_store_variants(r):
    r.sadd("a", 1, 2, 3)
    r.sadd("b", 2, 3, 4)
    r.set("dst", "a string is overwritten")
    r.expire("dst", 100)
    assert r.sinterstore("dst", ["a", "b"]) == 2
    assert members(r, "dst") == [b"2", b"3"]
    assert r.ttl("dst") == -1
    assert encoding(r, "dst") == "intset"
    assert r.sunionstore("dst", ["a", "b"]) == 4
    assert r.sdiffstore("dst", ["a", "b"]) == 1
    assert members(r, "dst") == [b"1"]
    assert r.sdiffstore("dst", ["a", "a"]) == 0
    assert r.exists("dst") == 0
    r.sadd("dst", "x")
    assert r.sinterstore("dst", ["a", "nokey"]) == 0
    assert r.exists("dst") == 0
    r.sadd("strs", "2", "3", "x")
    assert r.sinterstore("dst", ["strs", "b"]) == 2
    assert encoding(r, "dst") == "intset"  # all-integer results are stored as intsets


def test_sscan(r):
    r.sadd("ints", 3, 1, 2)
    assert raw(r, "SSCAN", "ints", 99) == [b"0", [b"1", b"2", b"3"]]
    r.sadd("s", "apple", "avocado", "banana")
    assert raw(r, "SSCAN", "s", 0, "MATCH", "a*") == [b"0", [b"apple", b"avocado"]]
    assert raw(r, "SSCAN", "nokey", 0) == [b"0", []]
    with pytest.raises(redis.ResponseError, match="^invalid cursor$"):
        raw(r, "SSCAN", "s", "-x")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        raw(r, "SSCAN", "s", 0, "COUNT")
    big = {f"m{i}" for i in range(3000)}
    r.sadd("big", *big)
    seen: set[bytes] = set()
    cursor = 0
    calls = 0
    while True:
        cursor, page = raw(r, "SSCAN", "big", cursor, "COUNT", 100)
        cursor = int(cursor)
        seen.update(page)
        calls += 1
        r.srem("big", f"m{calls}")  # removed members may or may not show up; the rest must
        r.sadd("big", f"new{calls}")
        if cursor == 0:
            break
    assert calls > 10
    assert {m.encode() for m in big} - {f"m{i}".encode() for i in range(calls + 1)} <= seen


def test_wrongtype_errors(r):
    r.set("str", "x")
    for args in (("SADD", "str", "a"), ("SREM", "str", "a"), ("SMEMBERS", "str"), ("SCARD", "str"),
                 ("SISMEMBER", "str", "a"), ("SMISMEMBER", "str", "a"), ("SPOP", "str"),
                 ("SPOP", "str", "2"), ("SRANDMEMBER", "str"), ("SRANDMEMBER", "str", "2"),
                 ("SSCAN", "str", "0"), ("SINTERCARD", "1", "str")):
        with pytest.raises(redis.ResponseError, match=f"^{WRONGTYPE}$"):
            r.execute_command(*args)


NOTIFIED_COMMANDS = [
    ("SADD", "s", 1, 2, 3), ("SADD", "s", 1), ("SREM", "s", 1, 9), ("SPOP", "s"), ("SPOP", "s", 5),
    ("SADD", "a", "x", "y"), ("SMOVE", "a", "b", "x"), ("SMOVE", "a", "b", "nope"), ("SMOVE", "a", "b", "y"),
    ("SINTERSTORE", "d", "b", "b"), ("SUNIONSTORE", "d", "nokey"), ("SDIFFSTORE", "d", "b", "b"),
    ("SADD", "e", "1"), ("SMOVE", "e", "b", "1"),
]


def keyevents(server, commands) -> list[tuple[bytes, bytes]]:
    """(event, key) pairs published on __keyevent@0__ while `commands` run on a flushed server."""
    client = server.client(protocol=2)
    client.flushall()
    client.config_set("notify-keyspace-events", "KEA")
    pubsub = client.pubsub()
    pubsub.psubscribe("__keyevent@0__:*")
    pubsub.get_message(timeout=5)  # the psubscribe confirmation
    try:
        for command in commands:
            client.execute_command(*command)
        client.publish("__keyevent@0__:end", "end")
        events = []
        while True:
            message = pubsub.get_message(timeout=5)
            assert message is not None, "notifications stopped before the end marker"
            event = message["channel"].split(b":", 1)[1]
            if event == b"end":
                return events
            events.append((event, message["data"]))
    finally:
        client.config_set("notify-keyspace-events", "")
        pubsub.close()
        client.close()


def test_keyspace_notifications_match_redis(ember, redis_server):
    expected = keyevents(redis_server, NOTIFIED_COMMANDS)
    assert (b"srem", b"a") in expected and (b"del", b"a") in expected  # the comparison sees events
    assert keyevents(ember, NOTIFIED_COMMANDS) == expected
