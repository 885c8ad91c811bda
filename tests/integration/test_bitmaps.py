"""Bitmap commands against a real Ember process: replies in RESP2 and RESP3, Redis 7.2's error texts
and argument order, raw encoding of edited strings, proto-max-bulk-len limits, WATCH and dirty
accounting for writes that change nothing, and the speed of whole-range commands on big strings."""

from __future__ import annotations

import pytest
import redis

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
BIT_OFFSET = "bit offset is not an integer or out of range"
BITFIELD_TYPE = "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."


def error_of(client: redis.Redis, *args) -> str:
    with pytest.raises(redis.ResponseError) as caught:
        client.execute_command(*args)
    return str(caught.value)


def rdb_changes(client: redis.Redis) -> int:
    return client.info("persistence")["rdb_changes_since_last_save"]


@pytest.mark.parametrize("client_name", ["r", "r3"])
def test_setbit_getbit_both_protocols(request, client_name):
    client = request.getfixturevalue(client_name)
    assert client.setbit("k", 7, 1) == 0
    assert client.setbit("k", 7, 0) == 1
    assert client.setbit("k", 17, 1) == 0
    assert client.get("k") == b"\x00\x00\x40"
    assert client.getbit("k", 17) == 1
    assert client.getbit("k", 1000) == 0
    assert client.getbit("missing", 3) == 0
    assert client.object("encoding", "k") in (b"raw", "raw")


def test_setbit_errors(r):
    assert error_of(r, "SETBIT", "k", "-1", "1") == BIT_OFFSET
    assert error_of(r, "SETBIT", "k", "4294967296", "1") == BIT_OFFSET  # byte 512 MB: past proto-max-bulk-len
    assert error_of(r, "SETBIT", "k", "0", "2") == "bit is not an integer or out of range"
    assert error_of(r, "SETBIT", "k", "x", "2") == BIT_OFFSET  # the offset is checked first
    assert error_of(r, "GETBIT", "k", "x") == BIT_OFFSET
    r.lpush("l", "a")
    assert error_of(r, "SETBIT", "l", "0", "1") == WRONGTYPE
    assert error_of(r, "GETBIT", "l", "0") == WRONGTYPE
    assert not r.exists("k")


def test_offset_limit_follows_proto_max_bulk_len(r):
    r.config_set("proto-max-bulk-len", 1024 * 1024)
    try:
        assert error_of(r, "SETBIT", "k", str(8 * 1024 * 1024), "1") == BIT_OFFSET
        assert r.setbit("k", 8 * 1024 * 1024 - 1, 1) == 0
        assert r.strlen("k") == 1024 * 1024
    finally:
        r.config_set("proto-max-bulk-len", 512 * 1024 * 1024)


def test_unchanged_bits_are_not_writes(r):
    """Redis 7.2: a SETBIT/BITFIELD that changes nothing is not a change (WATCH, dirty, events)."""
    r.set("k", "a")  # 0x61: bit 1 is set
    before = rdb_changes(r)
    with r.pipeline() as pipe:
        pipe.watch("k")
        assert r.setbit("k", 1, 1) == 1
        assert r.execute_command("BITFIELD", "k", "SET", "u8", "0", "97") == [97]
        pipe.multi()
        pipe.get("k")
        assert pipe.execute() == [b"a"]
    assert rdb_changes(r) == before
    assert r.object("encoding", "k") == b"raw"  # made raw anyway, as Redis does
    with r.pipeline() as pipe:
        pipe.watch("k")
        r.setbit("k", 0, 1)
        pipe.multi()
        pipe.get("k")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert rdb_changes(r) == before + 1


def test_bitcount_and_bitpos(r):
    r.set("s", "foobar")
    assert r.bitcount("s") == 26
    assert r.bitcount("s", 1, 1) == 6
    assert r.bitcount("s", 5, 30, "BIT") == 17
    assert r.bitcount("missing") == 0
    assert error_of(r, "BITCOUNT", "s", "0") == "syntax error"
    assert error_of(r, "BITCOUNT", "s", "0", "1", "bits") == "syntax error"
    assert error_of(r, "BITCOUNT", "missing", "a", "1") == "value is not an integer or out of range"
    r.set("z", b"\xff\xf0\x00")
    assert r.bitpos("z", 0) == 12
    assert r.bitpos("z", 1, 2) == -1
    assert r.bitpos("z", 0, 0, 0) == -1  # an explicit end: no zero-padding
    assert r.bitpos("z", 0, 2) == 16
    assert r.bitpos("z", 1, 7, 15, "BIT") == 7
    assert r.bitpos("missing", 0) == 0
    assert r.bitpos("missing", 1) == -1
    assert error_of(r, "BITPOS", "z", "2") == "The bit argument must be 1 or 0."
    assert error_of(r, "BITPOS", "missing", "1", "0", "1", "foo") == "syntax error"


def test_bitop(r3):
    r3.set("a", b"\x0f\xf0")
    r3.set("b", b"\xff")
    assert r3.bitop("AND", "d", "a", "b") == 2
    assert r3.get("d") == b"\x0f\x00"
    assert r3.bitop("OR", "d", "a", "b", "missing") == 2
    assert r3.get("d") == b"\xff\xf0"
    assert r3.bitop("XOR", "d", "a", "b") == 2
    assert r3.get("d") == b"\xf0\xf0"
    assert r3.bitop("NOT", "d", "a") == 2
    assert r3.get("d") == b"\xf0\x0f"
    assert r3.object("encoding", "d") in (b"raw", "raw")
    assert error_of(r3, "BITOP", "NOT", "d", "a", "b") == "BITOP NOT must be called with a single source key."
    assert error_of(r3, "BITOP", "NAND", "d", "a") == "syntax error"
    assert r3.bitop("AND", "d", "missing") == 0
    assert not r3.exists("d")


def test_bitfield(r3):
    assert r3.execute_command("BITFIELD", "k", "SET", "i8", "0", "-100", "INCRBY", "i8", "0", "-100",
                              "GET", "u8", "0") == [0, 56, 56]
    assert r3.execute_command("BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "u4", "#1", "100",
                              "OVERFLOW", "FAIL", "INCRBY", "u4", "#1", "1", "GET", "u4", "#1") == [15, None, 15]
    assert r3.execute_command("BITFIELD_RO", "k", "GET", "i64", "0") == [63 << 56]
    assert r3.execute_command("BITFIELD", "k") == []
    assert error_of(r3, "BITFIELD", "k", "GET", "u64", "0") == BITFIELD_TYPE
    assert error_of(r3, "BITFIELD", "k", "GET", "i8", "#-1") == BIT_OFFSET
    assert error_of(r3, "BITFIELD", "k", "OVERFLOW", "MAYBE") == "Invalid OVERFLOW type specified"
    assert error_of(r3, "BITFIELD_RO", "k", "SET", "u8", "0", "1") == "BITFIELD_RO only supports the GET subcommand"
    assert error_of(r3, "BITFIELD_RO", "k", "SET", "u8", "0", "x") == "value is not an integer or out of range"


def test_whole_range_commands_are_fast_on_big_strings(r):
    size = 32 * 1024 * 1024
    r.setrange("big", size - 1, b"\x01")
    r.setbit("other", 8 * size - 1, 1)
    assert r.bitcount("big") == 1
    assert r.bitpos("big", 1) == 8 * size - 1
    assert r.bitcount("big", 5, -1, "BIT") == 1
    assert r.bitcount("big", 5, -2, "BIT") == 0
    assert r.bitop("XOR", "big", "big", "other") == size
    assert r.bitcount("big") == 0
    assert r.bitpos("big", 0) == 0
    r.delete("big", "other")
