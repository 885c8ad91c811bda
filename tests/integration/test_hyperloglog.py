"""HyperLogLog commands against a real Ember process: replies in RESP2 and RESP3, error texts, the
raw string representation (header, sparse and dense encodings, cached cardinality), the
hll-sparse-max-bytes setting, PFDEBUG/PFSELFTEST, accuracy, and speed on dense values."""

from __future__ import annotations

import pytest

from .test_bitmaps import error_of, rdb_changes

NOT_AN_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value."
INVALID = "INVALIDOBJ Corrupted HLL object detected"
EMPTY_SPARSE = b"HYLL\x01" + bytes(11) + b"\x7f\xff"


@pytest.mark.parametrize("client_name", ["r", "r3"])
def test_pfadd_pfcount_both_protocols(request, client_name):
    client = request.getfixturevalue(client_name)
    assert client.pfadd("h") == 1
    assert client.get("h") == b"HYLL\x01" + bytes(10) + b"\x80\x7f\xff"  # created: cache marked stale
    assert client.pfadd("h") == 0
    assert client.pfadd("h", "a", "b", "c") == 1
    assert client.pfadd("h", "a") == 0
    assert client.pfcount("h") == 3
    assert client.pfcount("h", "missing") == 3
    assert client.pfcount("missing") == 0
    assert client.object("encoding", "h") in (b"raw", "raw")
    assert client.execute_command("PFDEBUG", "ENCODING", "h") in (b"sparse", "sparse")
    assert client.execute_command("PFDEBUG", "DECODE", "h") == b"Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603"


def test_cached_cardinality_in_the_header(r):
    r.pfadd("h", *range(100))
    before = rdb_changes(r)
    count = r.pfcount("h")
    assert r.get("h")[8:16] == count.to_bytes(8, "little")  # cached, valid (top bit clear)
    assert rdb_changes(r) == before + 1  # writing the cache is a change, as in Redis
    assert r.pfcount("h") == count
    assert rdb_changes(r) == before + 1  # a valid cache is only read
    r.pfadd("h", "new element")
    assert r.get("h")[15] & 0x80


def test_errors(r3):
    r3.set("s", "not an hll")
    assert error_of(r3, "PFADD", "s", "a") == NOT_AN_HLL
    assert error_of(r3, "PFCOUNT", "s") == NOT_AN_HLL
    assert error_of(r3, "PFMERGE", "d", "s") == NOT_AN_HLL
    r3.lpush("l", "x")
    assert error_of(r3, "PFADD", "l", "a").startswith("WRONGTYPE Operation against a key")
    r3.set("corrupt", b"HYLL\x01" + bytes(10) + b"\x80\x7f\xfe")  # 16383 registers
    assert error_of(r3, "PFCOUNT", "corrupt") == INVALID
    assert error_of(r3, "PFCOUNT", "corrupt", "missing") == INVALID
    assert error_of(r3, "PFDEBUG", "TODENSE", "corrupt") == INVALID
    assert error_of(r3, "PFDEBUG", "GETREG", "missing") == "The specified key does not exist"
    assert error_of(r3, "PFDEBUG", "NOPE", "corrupt") == "Unknown PFDEBUG subcommand 'NOPE'"
    r3.pfadd("dense", *range(5000))
    assert error_of(r3, "PFDEBUG", "DECODE", "dense") == "HLL encoding is not sparse"


def test_sparse_limit_setting(r):
    r.config_set("hll-sparse-max-bytes", 60)
    try:
        r.pfadd("h", *range(10))
        assert r.execute_command("PFDEBUG", "ENCODING", "h") == b"sparse"
        r.pfadd("h", *range(10, 40))
        assert r.execute_command("PFDEBUG", "ENCODING", "h") == b"dense"
        assert r.strlen("h") == 16 + 12288
    finally:
        r.config_set("hll-sparse-max-bytes", 3000)


def test_pfmerge_and_debug(r):
    r.pfadd("a", *range(0, 3000))
    r.pfadd("b", *range(2000, 4000))
    assert r.pfmerge("m", "a", "b") is True
    assert abs(r.pfcount("m") - 4000) < 4000 * 0.02
    assert r.pfcount("m") == r.pfcount("a", "b")
    registers = r.execute_command("PFDEBUG", "GETREG", "m")
    assert len(registers) == 16384 and max(registers) <= 51
    assert r.execute_command("PFDEBUG", "TODENSE", "m") == 0
    assert r.pfmerge("alone") is True
    assert r.get("alone") == b"HYLL\x01" + bytes(10) + b"\x80\x7f\xff"
    assert r.execute_command("PFSELFTEST") == b"OK"


def test_accuracy_on_a_large_set(r):
    for start in range(0, 200_000, 20_000):
        r.pfadd("big", *range(start, start + 20_000))
    estimate = r.pfcount("big")
    assert abs(estimate - 200_000) < 200_000 * 0.02
