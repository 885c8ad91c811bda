"""Sorted set commands against a real Ember process: redis-py in RESP2 and RESP3, Redis 7.2
behaviour the 7.0 oracle cannot check (ZRANK WITHSCORE, shortest double texts, up-front
conversion), encodings, ZSCAN over big sets and the blocking pops."""

from __future__ import annotations

import pytest
import redis

from ember.protocol.errors import WRONGTYPE
from tests.conftest import encoding, raw, start_ember, wait_until


@pytest.fixture(scope="module")
def small_server(tmp_path_factory):
    """An Ember with tiny listpack limits, so conversions happen with a handful of members."""
    server = start_ember(tmp_path_factory.mktemp("ember-small-zset"),
                         "--zset-max-listpack-entries", "4", "--zset-max-listpack-value", "8")
    yield server
    server.stop()


@pytest.fixture
def small(small_server):
    client = small_server.client(protocol=2)
    client.flushall()
    yield client
    client.close()


# -- basics in both protocols --------------------------------------------------------------------

def test_zadd_zscore_zrange_resp2(r):
    assert r.zadd("z", {"a": 1, "b": 2.5, "c": -3}) == 3
    assert r.zadd("z", {"a": 10, "d": 4}, ch=True) == 2
    assert r.zscore("z", "b") == 2.5
    assert r.zscore("z", "nope") is None
    assert r.zrange("z", 0, -1) == [b"c", b"b", b"d", b"a"]
    assert r.zrange("z", 0, 1, withscores=True) == [(b"c", -3.0), (b"b", 2.5)]
    assert r.zrangebyscore("z", "(2.5", "+inf") == [b"d", b"a"]
    assert r.zcard("z") == 4
    assert r.zmscore("z", ["a", "x"]) == [10.0, None]


def test_resp3_reply_shapes(r3):
    r3.zadd("z", {"a": 1, "b": 2, "c": 3})
    raw = r3.execute_command
    assert raw("ZSCORE", "z", "a") == 1.0
    assert raw("ZRANGE", "z", "0", "-1", "WITHSCORES") == [[b"a", 1.0], [b"b", 2.0], [b"c", 3.0]]
    assert raw("ZINCRBY", "z", "0.5", "a") == 1.5
    assert raw("ZMSCORE", "z", "a", "nope") == [1.5, None]
    assert raw("ZUNION", "1", "z", "WITHSCORES") == [[b"a", 1.5], [b"b", 2.0], [b"c", 3.0]]
    assert raw("ZPOPMIN", "z") == [b"a", 1.5]  # no count: one flat pair
    assert raw("ZPOPMIN", "z", "1") == [[b"b", 2.0]]  # a count: nested pairs
    assert raw("ZRANDMEMBER", "z", "1", "WITHSCORES") == [[b"c", 3.0]]
    assert raw("ZMPOP", "1", "z", "MAX") == [b"z", [[b"c", 3.0]]]


def test_zrank_withscore_is_redis_7_2(r, r3):
    r.zadd("z", {"a": 1, "b": 2.5})
    assert raw(r, "ZRANK", "z", "b", "WITHSCORE") == [1, b"2.5"]
    assert raw(r, "ZREVRANK", "z", "b", "WITHSCORE") == [0, b"2.5"]
    assert r.execute_command("ZRANK", "z", "nope", "WITHSCORE") is None
    assert r.execute_command("ZRANK", "nokey", "a", "WITHSCORE") is None
    assert r3.execute_command("ZRANK", "z", "a", "WITHSCORE") == [0, 1.0]
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("ZRANK", "z", "a", "WITHSCORES")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'zrank'"):
        r.execute_command("ZRANK", "z", "a", "WITHSCORE", "x")


def test_scores_print_in_shortest_form(r):
    r.zadd("z", {"a": 0.1, "b": 1.1, "c": 1e20, "d": 3.0, "e": 1 / 3})
    assert raw(r, "ZSCORE", "z", "a") == b"0.1"
    assert raw(r, "ZSCORE", "z", "b") == b"1.1"
    assert raw(r, "ZSCORE", "z", "d") == b"3"
    assert raw(r, "ZSCORE", "z", "e") == b"0.3333333333333333"
    assert raw(r, "ZINCRBY", "z", "0.2", "a") == b"0.30000000000000004"
    assert raw(r, "ZSCAN", "z", "0")[1][:2] == [b"a", b"0.30000000000000004"]


def test_errors(r):
    r.set("str", "x")
    cases = {
        ("ZADD", "str", "1", "a"): WRONGTYPE,
        ("ZADD", "z", "nx", "xx", "1", "a"): "XX and NX options at the same time are not compatible",
        ("ZADD", "z", "gt", "lt", "1", "a"): "GT, LT, and/or NX options at the same time are not compatible",
        ("ZADD", "z", "incr", "1", "a", "2", "b"): "INCR option supports a single increment-element pair",
        ("ZADD", "z", "nan", "a"): "value is not a valid float",
        ("ZRANGEBYSCORE", "z", "x", "1"): "min or max is not a float",
        ("ZRANGEBYLEX", "z", "a", "b"): "min or max not valid string range item",
        ("ZUNIONSTORE", "d", "0", "z"): "at least 1 input key is needed for 'zunionstore' command",
        ("ZINTER", "1", "z", "WEIGHTS", "x"): "weight value is not a float",
        ("ZMPOP", "0", "z", "MIN"): "numkeys should be greater than 0",
        ("BZPOPMIN", "z", "-1"): "timeout is negative",
    }
    for args, text in cases.items():
        with pytest.raises(redis.ResponseError) as info:
            r.execute_command(*args)
        assert str(info.value) == text, args
    r.zadd("z", {"a": float("inf")})
    with pytest.raises(redis.ResponseError, match=r"resulting score is not a number \(NaN\)"):
        r.zincrby("z", float("-inf"), "a")


def test_ranges_and_removals(r):
    r.zadd("l", {m: 0 for m in "abcdefg"})
    assert r.zrangebylex("l", "[b", "(e") == [b"b", b"c", b"d"]
    assert r.zrevrangebylex("l", "+", "-", start=1, num=2) == [b"f", b"e"]
    assert r.zlexcount("l", "-", "+") == 7
    assert r.zremrangebylex("l", "[a", "[b") == 2
    assert r.zremrangebyrank("l", 0, 0) == 1
    assert r.zremrangebyscore("l", "-inf", "+inf") == 4
    assert r.exists("l") == 0
    r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert r.zrangestore("dst", "z", 1, 2) == 2
    assert r.zrange("dst", 0, -1, withscores=True) == [(b"b", 2.0), (b"c", 3.0)]
    assert r.zrange("z", "+inf", "-inf", byscore=True, desc=True, offset=1, num=1) == [b"b"]


def test_set_operations(r):
    r.zadd("a", {"x": 1, "y": 2})
    r.zadd("b", {"y": 10, "z": 20})
    r.sadd("s", "x", "z")
    assert r.zunion(["a", "b"], withscores=True) == [(b"x", 1.0), (b"y", 12.0), (b"z", 20.0)]
    assert r.zinter({"a": 2, "b": 1}, aggregate="MAX", withscores=True) == [(b"y", 10.0)]
    assert raw(r, "ZDIFF", "2", "a", "b", "WITHSCORES") == [b"x", b"1"]
    assert r.zunion(["a", "s"], withscores=True) == [(b"z", 1.0), (b"x", 2.0), (b"y", 2.0)]
    assert r.zintercard(2, ["a", "b"]) == 1
    assert r.zunionstore("dst", ["a", "b"]) == 3
    assert r.zinterstore("dst", ["a", "nokey"]) == 0
    assert r.exists("dst") == 0


def test_zrandmember(r):
    r.zadd("z", {m: i for i, m in enumerate("abcde")})
    assert r.zrandmember("z") in {b"a", b"b", b"c", b"d", b"e"}
    assert r.zrandmember("z", 10) == [b"e", b"d", b"c", b"b", b"a"]
    picked = r.zrandmember("z", 3)
    assert len(set(picked)) == 3
    assert len(r.zrandmember("z", -20)) == 20
    assert r.zrandmember("nokey") is None
    assert r.zrandmember("nokey", 3) == []


# -- encodings ---------------------------------------------------------------------------------

def test_encoding_conversions(small):
    small.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert encoding(small, "z") == "listpack"
    small.zadd("z", {"e": 5})
    assert encoding(small, "z") == "skiplist"
    small.zrem("z", "a", "b", "c")
    assert encoding(small, "z") == "skiplist"  # never converted back
    small.zadd("long", {"123456789": 1})
    assert encoding(small, "long") == "skiplist"
    # The result of a STORE command gets the encoding its contents call for.
    assert small.zunionstore("u", ["z"]) == 2
    assert encoding(small, "u") == "listpack"


def test_zadd_with_many_pairs_converts_up_front(small):
    """Redis 7.2 sizes the set from ZADD's pair count, even when the pairs repeat a member."""
    small.execute_command("ZADD", "z", "1", "x", "2", "x", "3", "x", "4", "x", "5", "x")
    assert small.zcard("z") == 1
    assert encoding(small, "z") == "skiplist"
    small.zadd("y", {"a": 1})
    small.execute_command("ZADD", "y", "XX", "1", "a", "2", "a", "3", "a", "4", "a", "5", "a")
    assert encoding(small, "y") == "skiplist"
    # For an existing set only the pair count counts: a long member that is not added is no reason.
    small.zadd("x", {"a": 1})
    small.execute_command("ZADD", "x", "XX", "1", "a-very-long-member")
    assert encoding(small, "x") == "listpack"


def test_zrangestore_by_score_or_lex_stores_a_skiplist(small):
    """Redis 7.2.4 quirk: the unknown result length of BYSCORE/BYLEX is taken as huge."""
    small.zadd("src", {"a": 1, "b": 2})
    assert small.zrangestore("by-rank", "src", 0, 0) == 1
    assert encoding(small, "by-rank") == "listpack"
    assert small.zrangestore("by-score", "src", 1, 1, byscore=True) == 1
    assert encoding(small, "by-score") == "skiplist"
    assert small.zrangestore("by-lex", "src", "-", "+", bylex=True) == 2
    assert encoding(small, "by-lex") == "skiplist"


def test_negative_zero_survives_only_in_a_skiplist(small):
    small.zadd("lp", {"m": -0.0})
    assert raw(small, "ZSCORE", "lp", "m") == b"0"
    small.zadd("sl", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    small.zadd("sl", {"m": -0.0})
    assert raw(small, "ZSCORE", "sl", "m") == b"-0"


def test_zscan_walks_a_big_set(small):
    members = {f"m{i}": i for i in range(200)}
    small.zadd("big", members)
    seen = {}
    cursor = 0
    while True:
        cursor, page = small.zscan("big", cursor, count=15)
        seen.update(page)
        if cursor == 0:
            break
    assert seen == {k.encode(): float(v) for k, v in members.items()}


# -- blocking pops -------------------------------------------------------------------------------

def _blocked(client: redis.Redis, count: int = 1):
    return wait_until(lambda: client.info("clients")["blocked_clients"] == count, message="client blocked")


def _send(ember, *args):
    client = ember.client(protocol=2)
    connection = client.connection_pool.get_connection()
    connection.send_command(*args)
    return client, connection


def test_bzpopmin_serves_immediately_and_after_a_push(ember, r):
    r.zadd("z", {"a": 1, "b": 2})
    assert r.bzpopmin(["nokey", "z"], timeout=0) == (b"z", b"a", 1.0)
    r.delete("z")
    client, connection = _send(ember, "BZPOPMAX", "k1", "k2", "0")
    _blocked(r)
    r.zadd("k2", {"x": 5, "y": 7})
    assert connection.read_response() == [b"k2", b"y", b"7"]
    assert r.zrange("k2", 0, -1) == [b"x"]
    client.connection_pool.release(connection)
    client.close()


def test_bzpop_timeout_and_fifo_order(ember, r):
    assert r.bzpopmin("nokey", timeout=0.05) is None
    first, conn1 = _send(ember, "BZPOPMIN", "q", "0")
    _blocked(r, 1)
    second, conn2 = _send(ember, "BZPOPMIN", "q", "0")
    _blocked(r, 2)
    r.zadd("q", {"a": 1, "b": 2})
    assert conn1.read_response() == [b"q", b"a", b"1"]
    assert conn2.read_response() == [b"q", b"b", b"2"]
    for client, connection in ((first, conn1), (second, conn2)):
        client.connection_pool.release(connection)
        client.close()


def test_bzmpop_and_wrong_type_does_not_wake(ember, r):
    client, connection = _send(ember, "BZMPOP", "0", "2", "w1", "w2", "MAX", "COUNT", "2")
    _blocked(r)
    r.set("w1", "not a zset")  # a key of another type does not wake the waiter (Redis 7.2)
    r.zadd("w2", {"a": 1})
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        connection.read_response()  # re-run in key order, the command meets w1's string
    client.connection_pool.release(connection)
    client.close()
    r.delete("w1")
    client, connection = _send(ember, "BZMPOP", "0", "1", "w3", "MIN", "COUNT", "5")
    _blocked(r)
    r.zadd("w3", {"a": 1, "b": 2, "c": 3})
    assert connection.read_response() == [b"w3", [[b"a", b"1"], [b"b", b"2"], [b"c", b"3"]]]
    assert r.exists("w3") == 0
    client.connection_pool.release(connection)
    client.close()


def test_blocking_pop_inside_multi_does_not_block(r):
    pipe = r.pipeline(transaction=True)
    pipe.bzpopmin("nokey", timeout=0)
    pipe.zadd("z", {"a": 1})
    assert pipe.execute() == [None, 1]
