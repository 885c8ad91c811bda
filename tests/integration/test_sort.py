"""SORT and SORT_RO against a real Ember process: replies in RESP2 and RESP3 (missing GET values are
nulls), error texts, BY/GET patterns over strings and hash fields, STORE (list encodings, TTL,
dirty count), the sorted-set conversion Redis performs, scripts, key extraction, and speed."""

from __future__ import annotations

import pytest

from .test_bitmaps import error_of

SCORE_ERROR = "One or more scores can't be converted into double"


@pytest.mark.parametrize("client_name", ["r", "r3"])
def test_sort_lists_both_protocols(request, client_name):
    client = request.getfixturevalue(client_name)
    client.rpush("l", 3, 1, 2, 10)
    client.mset({"w_1": 4, "w_2": 3, "w_3": 2, "o_1": "one", "o_10": "ten"})
    client.hset("h_2", "f", "two")
    assert client.sort("l") == [b"1", b"2", b"3", b"10"]
    assert client.sort("l", desc=True, start=1, num=2) == [b"3", b"2"]
    assert client.sort("l", alpha=True) == [b"1", b"10", b"2", b"3"]
    assert client.sort("l", by="w_*") == [b"10", b"3", b"2", b"1"]
    assert client.sort("l", by="nosort", get=["#", "o_*", "h_*->f"]) == [
        b"3", None, None, b"1", b"one", None, b"2", None, b"two", b"10", b"ten", None]
    assert client.sort_ro("l", by="nosort", desc=True) == [b"10", b"2", b"1", b"3"]


def test_errors(r):
    r.rpush("l", "1", "x")
    assert error_of(r, "SORT", "l") == SCORE_ERROR
    assert r.sort("l", alpha=True) == [b"1", b"x"]
    assert error_of(r, "SORT", "l", "LIMIT", "0") == "syntax error"
    assert error_of(r, "SORT", "l", "LIMIT", "a", "1") == "value is not an integer or out of range"
    assert error_of(r, "SORT_RO", "l", "STORE", "d") == "syntax error"
    r.set("s", "x")
    assert error_of(r, "SORT", "s").startswith("WRONGTYPE")
    assert error_of(r, "SORT", "s", "FOO") == "syntax error"  # options are parsed before the lookup
    assert error_of(r, "SORT", "l", "STORE", "d") == SCORE_ERROR
    assert not r.exists("d")


def test_store(r):
    r.rpush("l", *range(20, 0, -1))
    r.set("d", "old", ex=100)
    before = r.info("persistence")["rdb_changes_since_last_save"]
    assert r.sort("l", store="d") == 20
    assert r.info("persistence")["rdb_changes_since_last_save"] == before + 20  # one per element
    assert r.ttl("d") == -1
    assert r.lrange("d", 0, 2) == [b"1", b"2", b"3"]
    assert r.object("encoding", "d") == b"listpack"
    r.config_set("list-max-listpack-size", 4)
    try:
        assert r.sort("l", store="d") == 20
        assert r.object("encoding", "d") == b"quicklist"
    finally:
        r.config_set("list-max-listpack-size", -2)
    assert r.sort("l", get="missing_*", store="d", start=0, num=2) == 2
    assert r.lrange("d", 0, -1) == [b"", b""]
    assert r.sort("missing", store="d") == 0
    assert not r.exists("d")


def test_sets_and_sorted_sets(r3):
    r3.sadd("s", "b", "c", "a")
    assert r3.sort("s", alpha=True) == [b"a", b"b", b"c"]
    assert r3.sort("s", by="nosort") == [b"b", b"c", b"a"]  # listpack order, as in Redis 7.2
    assert r3.sort("s", by="nosort", store="d") == 3
    assert r3.lrange("d", 0, -1) == [b"a", b"b", b"c"]  # forced ALPHA when storing
    assert r3.eval("return redis.call('SORT', KEYS[1], 'BY', 'nosort')", 1, "s") == [b"a", b"b", b"c"]
    r3.zadd("z", {"x": 3, "y": 1, "z": 2})
    assert r3.object("encoding", "z") in (b"listpack", "listpack")
    assert r3.sort("z", by="nosort", desc=True) == [b"x", b"z", b"y"]
    assert r3.object("encoding", "z") in (b"skiplist", "skiplist")  # SORT converts it, like Redis


def test_key_extraction(r):
    assert r.command_getkeys("SORT", "l", "BY", "w_*", "STORE", "a", "STORE", "b") == ["l", "b"]
    assert r.command_getkeys("SORT_RO", "l", "GET", "x") == ["l"]


def test_sort_on_big_collections(r):
    r.rpush("big", *range(100_000, 0, -1))
    pipe = r.pipeline(transaction=False)
    for i in range(0, 100_000, 10_000):
        pipe.mset({f"w_{n}": n % 977 for n in range(i + 1, i + 10_001)})
    pipe.execute()
    assert r.sort("big", start=0, num=3) == [b"1", b"2", b"3"]
    assert len(r.sort("big", by="w_*", start=10, num=5)) == 5
    assert r.sort("big", by="nosort", start=99_998, num=5) == [b"2", b"1"]
