"""String commands against a real Ember process through redis-py (RESP2 `r`, RESP3 `r3`)."""

from __future__ import annotations

import pytest
import redis

from tests.conftest import wait_until


def test_get_set_basics(r):
    assert r.get("missing") is None
    assert r.set("k", "v") is True
    assert r.get("k") == b"v"
    assert r.set("bin", b"\x00\xff\r\n") and r.get("bin") == b"\x00\xff\r\n"
    assert r.set("empty", "") and r.get("empty") == b""
    r.sadd("set", "a")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.get("set")


def test_set_conditions_and_get_option(r):
    assert r.set("k", "1", nx=True) is True
    assert r.set("k", "2", nx=True) is None
    assert r.set("other", "1", xx=True) is None
    assert r.set("k", "3", xx=True) is True
    assert r.set("k", "4", get=True) == b"3"
    assert r.set("k", "5", nx=True, get=True) == b"4"  # aborted, but still returns the old value
    assert r.get("k") == b"4"
    assert r.set("new", "x", get=True) is None and r.get("new") == b"x"
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("SET", "k", "v", "NX", "XX")
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("SET", "k", "v", "EX", "10", "KEEPTTL")
    r.sadd("set", "a")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.set("set", "v", get=True)


def test_set_expiry_options(r):
    now_ms = int(r.time()[0]) * 1000
    assert r.set("ex", "v", ex=100) and 99 <= r.ttl("ex") <= 100
    assert r.set("px", "v", px=100_000) and 99_000 < r.pttl("px") <= 100_000
    assert r.set("exat", "v", exat=now_ms // 1000 + 100) and 98 <= r.ttl("exat") <= 100
    assert r.set("pxat", "v", pxat=now_ms + 100_000) and 98 <= r.ttl("pxat") <= 100
    assert r.set("ex", "w", keepttl=True) and r.ttl("ex") > 0
    assert r.set("ex", "w") and r.ttl("ex") == -1
    for bad in ("0", "-1"):
        with pytest.raises(redis.ResponseError, match="invalid expire time in 'set' command"):
            r.execute_command("SET", "k", "v", "EX", bad)
    with pytest.raises(redis.ResponseError, match="invalid expire time in 'set' command"):
        r.execute_command("SET", "k", "v", "EX", "9223372036854775")  # * 1000 + now overflows
    with pytest.raises(redis.ResponseError, match="not an integer"):
        r.execute_command("SET", "k", "v", "PX", "soon")
    assert r.set("past", "v", pxat=1) and r.get("past") is None


def test_set_expiry_lapses(r):
    r.set("short", "v", px=30)
    wait_until(lambda: r.exists("short") == 0, message="key expiry")


def test_setnx_setex_psetex(r):
    assert r.setnx("k", "a") is True and r.setnx("k", "b") is False and r.get("k") == b"a"
    assert r.execute_command("SETEX", "k", 100, "v") and 99 <= r.ttl("k") <= 100
    assert r.psetex("k", 100_000, "v") and 99 <= r.ttl("k") <= 100
    with pytest.raises(redis.ResponseError, match="invalid expire time in 'setex' command"):
        r.execute_command("SETEX", "k", 0, "v")
    with pytest.raises(redis.ResponseError, match="invalid expire time in 'psetex' command"):
        r.psetex("k", -5, "v")


def test_mget_mset_msetnx(r):
    r.sadd("set", "a")
    assert r.mset({"a": "1", "b": "2"}) is True
    assert r.mget("a", "set", "b", "nokey") == [b"1", None, b"2", None]
    assert r.msetnx({"c": "3", "a": "x"}) is False and r.get("c") is None
    assert r.msetnx({"c": "3", "d": "4"}) is True
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'mset' command"):
        r.execute_command("MSET", "a", "1", "b")


def test_getset_getdel_getex(r):
    assert r.getset("k", "1") is None
    r.expire("k", 100)
    assert r.getset("k", "2") == b"1" and r.ttl("k") == -1  # GETSET drops the TTL
    assert r.getdel("k") == b"2" and r.exists("k") == 0
    assert r.getdel("k") is None
    r.set("k", "v")
    assert r.getex("k", ex=100) == b"v" and 99 <= r.ttl("k") <= 100
    assert r.getex("k", persist=True) == b"v" and r.ttl("k") == -1
    assert r.getex("k", pxat=1) == b"v" and r.exists("k") == 0  # a past deadline deletes
    assert r.getex("missing", ex=10) is None
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("GETEX", "k", "EX", "10", "PERSIST")
    r.set("k", "v")
    with pytest.raises(redis.ResponseError, match="invalid expire time in 'getex' command"):
        r.execute_command("GETEX", "k", "EX", "0")


def test_append_strlen_setrange_getrange(r):
    assert r.append("k", "Hello") == 5
    assert r.append("k", " World") == 11
    assert r.strlen("k") == 11 and r.strlen("nokey") == 0
    assert r.getrange("k", 0, 4) == b"Hello"
    assert r.getrange("k", -5, -1) == b"World"
    assert r.getrange("k", 0, -100) == b"H"
    assert r.getrange("k", -1, -5) == b""
    assert r.getrange("nokey", 0, -1) == b""
    assert r.substr("k", 6, 100) == b"World"
    assert r.setrange("k", 6, "Redis") == 11 and r.get("k") == b"Hello Redis"
    assert r.setrange("pad", 3, "x") == 4 and r.get("pad") == b"\x00\x00\x00x"
    assert r.setrange("none", 5, "") == 0 and r.exists("none") == 0
    with pytest.raises(redis.ResponseError, match="offset is out of range"):
        r.setrange("k", -1, "x")
    with pytest.raises(redis.ResponseError, match=r"string exceeds maximum allowed size \(proto-max-bulk-len\)"):
        r.setrange("k", 536870912, "x")


def test_in_place_edit_does_not_change_earlier_replies(r):
    r.append("k", "abc")
    r.append("k", "def")  # now held as an in-place editable (raw) string
    pipe = r.pipeline(transaction=False)
    pipe.get("k").append("k", "ghi").getrange("k", 0, -1).setrange("k", 0, "X").get("k")
    assert pipe.execute() == [b"abcdef", 9, b"abcdefghi", 9, b"Xbcdefghi"]


def test_incr_decr_family(r):
    assert r.incr("n") == 1 and r.incrby("n", 10) == 11
    assert r.decr("n") == 10 and r.decrby("n", 20) == -10
    r.set("big", 2**63 - 1)
    with pytest.raises(redis.ResponseError, match="increment or decrement would overflow"):
        r.incr("big")
    with pytest.raises(redis.ResponseError, match="decrement would overflow"):
        r.decrby("n", -(2**63))
    r.set("text", "12a")
    with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
        r.incr("text")
    r.set("ttl", 5, ex=100)
    assert r.incr("ttl") == 6 and r.ttl("ttl") > 0  # counters keep the TTL


def test_incrbyfloat_formatting(r):
    r.set("f", "10.5")
    assert r.incrbyfloat("f", 0.1) == pytest.approx(10.6)
    assert r.get("f") == b"10.6"  # long double arithmetic, not double's 10.59999999999999964
    r.set("g", "3.0e3")
    r.incrbyfloat("g", 0)
    assert r.get("g") == b"3000"
    r.execute_command("INCRBYFLOAT", "h", "0x10")  # strtold reads hex floats
    assert r.get("h") == b"16"
    r.execute_command("INCRBYFLOAT", "h", "-16")
    assert r.get("h") == b"0"
    with pytest.raises(redis.ResponseError, match="increment would produce NaN or Infinity"):
        r.execute_command("INCRBYFLOAT", "h", "inf")
    with pytest.raises(redis.ResponseError, match="value is not a valid float"):
        r.execute_command("INCRBYFLOAT", "h", "nan")
    with pytest.raises(redis.ResponseError, match="value is not a valid float"):
        r.execute_command("INCRBYFLOAT", "h", " 1")


def test_lcs(r, r3):
    r.mset({"a": "ohmytext", "b": "mynewtext"})
    assert r.lcs("a", "b") == b"mytext"
    assert r.lcs("a", "b", len=True) == 6
    assert r.execute_command("LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN") == [
        b"matches", [[[4, 7], [5, 8], 4]], b"len", 6]
    assert r3.execute_command("LCS", "a", "b", "IDX") == {
        b"matches": [[[4, 7], [5, 8]], [[2, 3], [0, 1]]], b"len": 6}
    with pytest.raises(redis.ResponseError, match="please just use IDX"):
        r.execute_command("LCS", "a", "b", "LEN", "IDX")
    r.sadd("set", "x")
    with pytest.raises(redis.ResponseError, match="The specified keys must contain string values"):
        r.lcs("a", "set")


def test_resp3_replies(r3):
    assert r3.set("k", "v") is True
    assert r3.get("k") == b"v" and r3.get("missing") is None
    assert r3.mget("k", "missing") == [b"v", None]
    assert r3.incrbyfloat("f", 1.5) == 1.5


def test_object_encoding_of_strings(r):
    cases = {"int": "12345", "maxint": str(2**63 - 1), "overint": str(2**63), "neg0": "-0",
             "short": "a" * 44, "long": "a" * 45}
    r.mset(cases)
    encodings = {key: r.object("encoding", key) for key in cases}
    assert encodings == {"int": b"int", "maxint": b"int", "overint": b"embstr", "neg0": b"embstr",
                         "short": b"embstr", "long": b"raw"}
    r.append("int", "")
    assert r.object("encoding", "int") == b"raw"  # edited in place: raw, as in Redis
    r.incr("counter")
    assert r.object("encoding", "counter") == b"int"
