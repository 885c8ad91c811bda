"""Hash commands against a real Ember process: replies in RESP2 and RESP3, error texts,
encodings (listpack -> hashtable conversion) and HSCAN cursors."""

from __future__ import annotations

import pytest
import redis

from tests.integration.test_sets import WRONGTYPE, ember_with, encoding, keyevents, raw


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """An Ember with tiny listpack limits, so conversions happen with a handful of fields."""
    with ember_with(tmp_path_factory, "--hash-max-listpack-entries", "4", "--hash-max-listpack-value", "8") as client:
        yield client


def test_hset_hget_and_counts(r):
    assert r.hset("h", mapping={"a": "1", "b": "2"}) == 2
    assert r.hset("h", mapping={"a": "10", "c": "3"}) == 1
    assert r.hget("h", "a") == b"10"
    assert r.hget("h", "zz") is None
    assert r.hget("nokey", "a") is None
    assert r.hlen("h") == 3
    assert r.hlen("nokey") == 0
    assert r.hmget("h", "a", "zz", "c") == [b"10", None, b"3"]
    assert r.hmget("nokey", "a", "b") == [None, None]
    assert r.hexists("h", "a") == 1
    assert r.hexists("h", "zz") == 0
    assert r.hstrlen("h", "a") == 2
    assert r.hstrlen("h", "zz") == 0


def test_hgetall_keeps_listpack_insertion_order(r):
    r.hset("h", mapping={"z": "1", "a": "2", "m": "3"})
    r.hset("h", "a", "updated")  # updating in place keeps the position
    r.hdel("h", "z")
    r.hset("h", "z", "again")  # re-added fields go last
    assert list(r.hgetall("h").items()) == [(b"a", b"updated"), (b"m", b"3"), (b"z", b"again")]
    assert r.hkeys("h") == [b"a", b"m", b"z"]
    assert r.hvals("h") == [b"updated", b"3", b"again"]


def test_hgetall_is_a_map_in_resp3(r3):
    r3.hset("h", mapping={"a": "1", "b": "2"})
    assert r3.hgetall("h") == {b"a": b"1", b"b": b"2"}
    assert r3.hgetall("nokey") == {}


def test_hmset_replies_ok_and_arity_errors(r):
    assert raw(r, "HMSET", "h", "a", "1", "b", "2") == b"OK"
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'hset' command"):
        r.execute_command("HSET", "h", "a", "1", "b")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'hmset' command"):
        raw(r, "HMSET", "h", "a", "1", "b")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'hset' command"):
        r.execute_command("HSET", "h", "a")


def test_hsetnx(r):
    assert r.hsetnx("h", "a", "1") == 1
    assert r.hsetnx("h", "a", "2") == 0
    assert r.hget("h", "a") == b"1"


def test_hdel_removes_empty_hash(r):
    r.hset("h", mapping={"a": "1", "b": "2"})
    assert r.hdel("h", "a", "a", "zz") == 1
    assert r.exists("h") == 1
    assert r.hdel("h", "b") == 1
    assert r.exists("h") == 0
    assert r.hdel("nokey", "a") == 0


def test_hincrby(r):
    assert r.hincrby("h", "n", 5) == 5
    assert r.hincrby("h", "n", -7) == -2
    r.hset("h", "big", str(2**63 - 1))
    with pytest.raises(redis.ResponseError, match="^increment or decrement would overflow$"):
        r.hincrby("h", "big", 1)
    r.hset("h", "s", "abc")
    with pytest.raises(redis.ResponseError, match="^hash value is not an integer$"):
        r.hincrby("h", "s", 1)
    r.hset("h", "lead", "01")
    with pytest.raises(redis.ResponseError, match="^hash value is not an integer$"):
        r.hincrby("h", "lead", 1)
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        r.hincrby("h", "n", "x")


def test_hincrbyfloat_formats_like_redis_long_doubles(r):
    assert r.hincrbyfloat("h", "f", "0.1") == 0.1
    assert r.hget("h", "f") == b"0.1"
    assert raw(r, "HINCRBYFLOAT", "h", "f", "0.2") == b"0.3"
    assert raw(r, "HINCRBYFLOAT", "h", "g", "1e17") == b"100000000000000000"
    assert raw(r, "HINCRBYFLOAT", "h", "g", "0.5") == b"100000000000000000.5"
    assert raw(r, "HINCRBYFLOAT", "h", "x", "0x1.8p1") == b"3"
    assert raw(r, "HINCRBYFLOAT", "h", "x", "-3") == b"0"
    assert raw(r, "HINCRBYFLOAT", "h", "t", "0.000003814697265625") == b"0.00000381469726562"
    r.hset("h", "s", "abc")
    with pytest.raises(redis.ResponseError, match="^hash value is not a float$"):
        r.hincrbyfloat("h", "s", 1)
    with pytest.raises(redis.ResponseError, match="^value is not a valid float$"):
        r.hincrbyfloat("h", "f", "1 ")
    with pytest.raises(redis.ResponseError, match="^value is NaN or Infinity$"):
        r.hincrbyfloat("h", "f", "inf")
    r.hset("h", "huge", "1.18973149535723176502e+4932")
    with pytest.raises(redis.ResponseError, match="^increment would produce NaN or Infinity$"):
        r.hincrbyfloat("h", "huge", "1e4932")


def test_wrongtype_errors(r):
    r.set("str", "x")
    for args in (("HGET", "str", "a"), ("HSET", "str", "a", "b"), ("HGETALL", "str"), ("HLEN", "str"),
                 ("HDEL", "str", "a"), ("HINCRBY", "str", "a", "1"), ("HINCRBYFLOAT", "str", "a", "1"),
                 ("HRANDFIELD", "str"), ("HSCAN", "str", "0"), ("HMGET", "str", "a"), ("HSTRLEN", "str", "a")):
        with pytest.raises(redis.ResponseError, match=f"^{WRONGTYPE}$"):
            r.execute_command(*args)


def test_hrandfield(r, r3):
    assert r.hrandfield("nokey") is None
    assert r.hrandfield("nokey", 3) == []
    fields = {f"f{i}": str(i) for i in range(10)}
    r.hset("h", mapping=fields)
    assert r.hrandfield("h").decode() in fields
    picked = r.hrandfield("h", 5)
    assert len(picked) == 5 and len(set(picked)) == 5
    assert r.hrandfield("h", 100) == [f.encode() for f in fields]  # the whole hash, in order
    assert len(r.hrandfield("h", -30)) == 30
    assert r.hrandfield("h", 0) == []
    flat = r.hrandfield("h", 2, withvalues=True)
    assert len(flat) == 4 and all(fields[flat[i].decode()] == flat[i + 1].decode() for i in (0, 2))
    pairs = raw(r3, "HRANDFIELD", "h", -3, "WITHVALUES")
    assert len(pairs) == 3 and all(fields[f.decode()] == v.decode() for f, v in pairs)
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        raw(r, "HRANDFIELD", "h", 1, "WITHVALUE")
    with pytest.raises(redis.ResponseError, match="^value is out of range$"):
        raw(r, "HRANDFIELD", "h", 2**62, "WITHVALUES")
    with pytest.raises(redis.ResponseError, match="value is out of range, value must between"):
        raw(r, "HRANDFIELD", "h", -(2**63))


def test_hrandfield_on_big_hash_is_uniform_enough(r):
    r.hset("h", mapping={f"f{i}": i for i in range(1000)})
    seen = set()
    for _ in range(20):
        seen.update(r.hrandfield("h", 100))
    assert len(seen) > 500  # 2000 draws of 1000 fields: a stuck sampler would repeat itself


def test_encoding_conversions(small):
    small.flushall()
    small.hset("h", mapping={"a": "1", "b": "2", "c": "3", "d": "4"})
    assert encoding(small, "h") == "listpack"
    small.hset("h", "e", "5")
    assert encoding(small, "h") == "hashtable"
    small.hdel("h", "a", "b", "c", "d")
    assert encoding(small, "h") == "hashtable"  # never converts back
    small.hset("v", "a", "12345678")
    assert encoding(small, "v") == "listpack"
    small.hset("v", "a", "123456789")
    assert encoding(small, "v") == "hashtable"
    small.hset("i", "n", "99999999")
    small.hincrby("i", "n", 10)  # the result is 9 bytes long
    assert encoding(small, "i") == "hashtable"
    # Since 7.2 a single HSET with more pairs than the limit converts up front, even for duplicates.
    small.execute_command("HSET", "dup", *["a", "1"] * 5)
    assert small.hlen("dup") == 1
    assert encoding(small, "dup") == "hashtable"
    # HSETNX on an existing field does not convert.
    small.hset("nx", "a", "1")
    small.hsetnx("nx", "a", "123456789")
    assert encoding(small, "nx") == "listpack"


def test_hscan_small_hash_in_one_call(r):
    r.hset("h", mapping={"a": "1", "b": "2", "ab": "3"})
    assert r.hscan("h", 0) == (0, {b"a": b"1", b"b": b"2", b"ab": b"3"})
    assert raw(r, "HSCAN", "h", "12345") == [b"0", [b"a", b"1", b"b", b"2", b"ab", b"3"]]
    assert r.hscan("h", 0, match="a*") == (0, {b"a": b"1", b"ab": b"3"})
    assert raw(r, "HSCAN", "nokey", "0", "COUNT", "0") == [b"0", []]
    with pytest.raises(redis.ResponseError, match="^invalid cursor$"):
        raw(r, "HSCAN", "h", "x")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        raw(r, "HSCAN", "h", "0", "COUNT", "0")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        raw(r, "HSCAN", "h", "0", "NOVALUES")


def test_hscan_big_hash_full_iteration_under_changes(r):
    fields = {f"f{i}": str(i) for i in range(2000)}
    r.hset("h", mapping=fields)
    seen: dict[bytes, bytes] = {}
    cursor = 0
    calls = 0
    while True:
        cursor, page = r.hscan("h", cursor, count=50)
        seen.update(page)
        calls += 1
        # Churn: fields added and removed during the iteration must not hide the stable ones.
        r.hset("h", f"extra{calls}", "x")
        r.hdel("h", f"extra{calls - 1}")
        if cursor == 0:
            break
    assert calls > 10
    for field, value in fields.items():
        assert seen[field.encode()] == value.encode()


def test_keyspace_notifications_match_redis(ember, redis_server):
    commands = [
        ("HSET", "h", "a", "1", "b", "2"), ("HSETNX", "h", "a", "x"), ("HSETNX", "h", "c", "3"),
        ("HMSET", "h", "d", "4"), ("HINCRBY", "h", "n", "1"), ("HINCRBYFLOAT", "h", "f", "1.5"),
        ("HDEL", "h", "a", "zz"), ("HDEL", "h", "zz"), ("HDEL", "h", "b", "c", "d", "n", "f"),
    ]
    expected = keyevents(redis_server, commands)
    assert (b"hdel", b"h") in expected and (b"del", b"h") in expected
    assert keyevents(ember, commands) == expected
