"""Generic key commands against a real Ember process through redis-py (RESP2 `r`, RESP3 `r3`)."""

from __future__ import annotations

import pytest
import redis

from tests.conftest import wait_until


def test_del_unlink_exists_touch_type(r):
    r.mset({"a": "1", "b": "2", "c": "3"})
    r.sadd("s", "x")
    assert r.exists("a", "a", "nokey") == 2  # duplicates count twice
    assert r.touch("a", "b", "nokey") == 2
    assert r.type("a") == b"string" and r.type("s") == b"set" and r.type("nokey") == b"none"
    assert r.delete("a", "a", "nokey") == 1
    assert r.unlink("b", "c", "s") == 3
    assert r.dbsize() == 0


def test_keys_patterns(r):
    r.mset({"user:1": "a", "user:2": "b", "user:10": "c", "other": "d", "": "empty"})
    assert sorted(r.keys("*")) == [b"", b"other", b"user:1", b"user:10", b"user:2"]
    assert sorted(r.keys("user:?")) == [b"user:1", b"user:2"]
    assert sorted(r.keys("user:[12]*")) == [b"user:1", b"user:10", b"user:2"]
    # Only the '*' shortcut lists the empty key: Redis's matcher never matches an empty string.
    assert sorted(r.keys("**")) == [b"other", b"user:1", b"user:10", b"user:2"]
    assert r.keys("nomatch*") == []


def test_scan_iterates_everything(r):
    keys = {f"key:{i}".encode() for i in range(300)}
    r.mset({key: "v" for key in keys})
    r.sadd("aset", "x")
    seen, cursor, calls = set(), 0, 0
    while True:
        cursor, page = r.scan(cursor, count=25)
        seen.update(page)
        calls += 1
        if cursor == 0:
            break
    assert seen == keys | {b"aset"} and calls > 1
    assert set(r.scan_iter(match="key:1?")) == {f"key:1{d}".encode() for d in range(10)}
    assert set(r.scan_iter(_type="set")) == {b"aset"}
    assert set(r.scan_iter(_type="STRING", match="key:29?")) == {f"key:29{d}".encode() for d in range(10)}


def test_scan_errors(r):
    for cursor in ("x", " 0", "18446744073709551616"):
        with pytest.raises(redis.ResponseError, match="invalid cursor"):
            r.execute_command("SCAN", cursor)
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("SCAN", "0", "COUNT", "0")
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("SCAN", "0", "MATCH")
    assert r.execute_command("SCAN", "-0") == (0, [])  # strtoul accepts a signed zero


def test_randomkey(r):
    assert r.randomkey() is None
    r.mset({"a": "1", "b": "2"})
    assert r.randomkey() in (b"a", b"b")


def test_randomkey_reaches_every_key_and_follows_writes(r):
    r.mset({f"k{i}": i for i in range(5)})
    pipe = r.pipeline(transaction=False)
    for _ in range(400):
        pipe.randomkey()
    # Missing one of 5 keys in 400 uniform draws has a probability under 1e-37.
    assert set(pipe.execute()) == {b"k0", b"k1", b"k2", b"k3", b"k4"}
    r.delete("k0", "k1", "k2", "k3")  # the index RANDOMKEY built follows deletes...
    r.set("new", "1")  # ...and new keys
    for _ in range(400):
        pipe.randomkey()
    assert set(pipe.execute()) == {b"k4", b"new"}
    r.flushdb()
    assert r.randomkey() is None


def test_rename_and_renamenx(r):
    r.set("a", "1", ex=100)
    r.set("b", "2")
    assert r.rename("a", "c") is True
    assert r.exists("a") == 0 and r.get("c") == b"1" and r.ttl("c") > 0  # the TTL moves along
    assert r.renamenx("c", "b") is False
    assert r.rename("b", "c") and r.get("c") == b"2" and r.ttl("c") == -1
    assert r.rename("c", "c") is True and r.renamenx("c", "c") is False
    with pytest.raises(redis.ResponseError, match="no such key"):
        r.rename("nokey", "x")


def test_move_and_copy_between_databases(ember):
    conn0, conn1 = ember.client(db=0), ember.client(db=1)
    conn0.flushall()
    conn0.set("k", "v", ex=100)
    assert conn0.move("k", 1) is True and conn0.exists("k") == 0
    assert conn1.get("k") == b"v" and conn1.ttl("k") > 0
    with pytest.raises(redis.ResponseError, match="source and destination objects are the same"):
        conn1.move("k", 1)
    with pytest.raises(redis.ResponseError, match="DB index is out of range"):
        conn1.move("k", 16)
    assert conn1.copy("k", "k", destination_db=0) is True and conn0.get("k") == b"v"
    assert conn1.copy("k", "k", destination_db=0) is False
    conn1.set("k", "new")
    assert conn1.copy("k", "k", destination_db=0, replace=True) is True and conn0.get("k") == b"new"
    conn0.sadd("s", "a", "b")
    assert conn0.copy("s", "s2") is True
    conn0.srem("s", "a")
    assert conn0.smembers("s2") == {b"a", b"b"}  # a real copy, not shared
    conn0.append("raw", "ab")
    conn0.append("raw", "c")
    conn0.copy("raw", "raw2")
    conn0.append("raw", "d")
    assert conn0.get("raw2") == b"abc"
    conn0.close()
    conn1.close()


def test_expire_family_and_ttl(r):
    r.set("k", "v")
    assert r.ttl("k") == -1 and r.pttl("k") == -1 and r.expiretime("k") == -1
    assert r.ttl("nokey") == -2 and r.pexpiretime("nokey") == -2
    assert r.expire("k", 100) is True and 99 <= r.ttl("k") <= 100
    assert r.pexpire("k", 50_000) is True and 49_000 < r.pttl("k") <= 50_000
    at = int(r.time()[0]) + 200
    assert r.expireat("k", at) is True and r.expiretime("k") == at
    assert r.pexpireat("k", at * 1000 + 7) is True and r.pexpiretime("k") == at * 1000 + 7
    assert r.persist("k") is True and r.persist("k") is False and r.ttl("k") == -1
    assert r.expire("nokey", 10) is False
    assert r.expire("k", -1) is True and r.exists("k") == 0  # a past time deletes the key


def test_expire_conditions(r):
    r.set("k", "v")
    assert r.expire("k", 100, xx=True) is False
    assert r.expire("k", 100, gt=True) is False  # no TTL counts as infinite
    assert r.expire("k", 100, lt=True) is True
    assert r.expire("k", 200, nx=True) is False
    assert r.expire("k", 200, gt=True) is True and r.ttl("k") > 100
    assert r.expire("k", 300, lt=True) is False
    with pytest.raises(redis.ResponseError, match="NX and XX, GT or LT options at the same time are not compatible"):
        r.execute_command("EXPIRE", "k", "10", "NX", "XX")
    with pytest.raises(redis.ResponseError, match="GT and LT options at the same time are not compatible"):
        r.execute_command("EXPIRE", "k", "10", "GT", "LT")
    with pytest.raises(redis.ResponseError, match="Unsupported option FOO"):
        r.execute_command("EXPIRE", "k", "10", "FOO")
    with pytest.raises(redis.ResponseError, match="invalid expire time in 'expire' command"):
        r.execute_command("EXPIRE", "k", "9223372036854776")


def test_expired_keys_vanish(r):
    r.set("k", "v")
    r.pexpire("k", 20)
    wait_until(lambda: r.ttl("k") == -2, message="expiry")
    assert r.get("k") is None and r.dbsize() == 0


def test_object_subcommands(r, r3):
    r.set("k", "hello")
    assert r.object("encoding", "k") == b"embstr"
    assert r.object("refcount", "k") == 1
    assert r.object("idletime", "k") == 0
    assert r.object("encoding", "nokey") is None
    r.set("small", "42")
    assert r.object("refcount", "small") == 2**31 - 1  # a shared integer
    with pytest.raises(redis.ResponseError, match="An LFU maxmemory policy is not selected"):
        r.object("freq", "k")
    help_lines = r.execute_command("OBJECT", "HELP")
    assert help_lines[0].startswith(b"OBJECT <subcommand>") and help_lines[-1] == b"    Prints this help."
    assert r3.execute_command("OBJECT", "HELP") == help_lines
    with pytest.raises(redis.ResponseError, match="unknown subcommand 'FOO'. Try OBJECT HELP."):
        r.execute_command("OBJECT", "FOO")


def test_object_freq_under_lfu(r):
    r.config_set("maxmemory-policy", "allkeys-lfu")
    try:
        r.set("k", "hello")
        assert r.object("freq", "k") == 5  # LFU_INIT_VAL for a new key
        with pytest.raises(redis.ResponseError, match="An LFU maxmemory policy is selected"):
            r.object("idletime", "k")
    finally:
        r.config_set("maxmemory-policy", "noeviction")


def test_flush_and_swapdb(ember):
    conn0, conn1 = ember.client(db=0), ember.client(db=1)
    conn0.flushall()
    conn0.set("zero", "0")
    conn1.set("one", "1")
    assert conn0.swapdb(0, 1) is True
    assert conn0.get("one") == b"1" and conn1.get("zero") == b"0"
    with pytest.raises(redis.ResponseError, match="invalid first DB index"):
        conn0.execute_command("SWAPDB", "x", "0")
    with pytest.raises(redis.ResponseError, match="DB index is out of range"):
        conn0.swapdb(0, 99)
    assert conn1.flushdb() is True and conn1.dbsize() == 0 and conn0.dbsize() == 1
    with pytest.raises(redis.ResponseError, match="syntax error"):
        conn0.execute_command("FLUSHDB", "LATER")
    assert conn0.flushall(asynchronous=True) is True and conn0.dbsize() == 0
    conn0.close()
    conn1.close()


def test_resp3_generic_replies(r3):
    r3.set("k", "v")
    assert r3.type("k") == b"string"
    assert r3.scan(0) == (0, [b"k"])
    assert r3.ttl("k") == -1
    assert r3.keys("*") == [b"k"]
