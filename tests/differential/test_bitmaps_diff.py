"""Bitmap commands (SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO) compared byte for byte
with redis-server: hand-picked edge cases per command, the BITFIELD overflow matrix, keyspace
events, and hypothesis-generated operation sequences checked down to the stored bytes.

Redis 7.0 (the oracle) looks the key up before parsing BITCOUNT's and BITPOS's range arguments,
so a missing or wrong-type key hides argument errors there; 7.2 parses first. Those cases are
checked against 7.2's behaviour on Ember alone (test_range_errors_come_before_the_lookup).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .harness import Differ
from .test_strings_keys_diff import _keyspace_events

FUNCTION_FIXTURE = [HealthCheck.function_scoped_fixture]


def check_all(differ: Differ, commands) -> None:
    for args in commands:
        differ.check(*args)


def test_setbit_getbit(diff):
    check_all(diff, [
        ("SETBIT", "k", "-1", "1"), ("SETBIT", "k", "abc", "1"), ("SETBIT", "k", "4294967296", "1"),
        ("SETBIT", "k", "01", "1"), ("SETBIT", "k", "1", "2"), ("SETBIT", "k", "1", "-1"),
        ("SETBIT", "k", "1", "01"), ("SETBIT", "k", "4294967295", "x"), ("EXISTS", "k"),
        ("SETBIT", "k", "100", "1"), ("GET", "k"), ("SETBIT", "k", "100", "1"), ("SETBIT", "k", "100", "0"),
        ("STRLEN", "k"), ("OBJECT", "ENCODING", "k"), ("GETBIT", "k", "100"), ("GETBIT", "k", "99999"),
        ("GETBIT", "k", "-1"), ("GETBIT", "nokey", "3"), ("GETBIT", "nokey", "x"),
        # Editing an embstr or int string makes it raw; an unchanged bit still does.
        ("SET", "s", "hello"), ("OBJECT", "ENCODING", "s"), ("SETBIT", "s", "1", "1"),
        ("OBJECT", "ENCODING", "s"), ("GET", "s"), ("SET", "n", "123"), ("GETBIT", "n", "2"),
        ("GETBIT", "n", "100"), ("SETBIT", "n", "0", "0"), ("OBJECT", "ENCODING", "n"), ("GET", "n"),
        ("SET", "t", "x", "EX", "100"), ("SETBIT", "t", "20", "1"), ("TTL", "t"), ("GET", "t"),
        ("LPUSH", "l", "a"), ("SETBIT", "l", "1", "1"), ("GETBIT", "l", "1"), ("SETBIT", "l", "x", "1"),
    ])


def test_bitcount(diff):
    check_all(diff, [
        ("SET", "s", "foobar"), ("SET", "e", ""), ("SET", "m", b"\x00\xff\x0f\xf0\x81"), ("LPUSH", "l", "x"),
        ("BITCOUNT", "s"), ("BITCOUNT", "e"), ("BITCOUNT", "nokey"), ("BITCOUNT", "l"),
        ("BITCOUNT", "s", "0", "1", "2"), ("BITCOUNT", "s", "0", "1", "bits"), ("BITCOUNT", "s", "a", "1"),
        ("BITCOUNT", "s", "0", "b"), ("BITCOUNT", "s", "0"), ("BITCOUNT", "l", "0", "1"),
    ])
    for start, end in [("0", "-1"), ("1", "1"), ("-2", "-1"), ("-1", "-2"), ("5", "100"), ("-100", "-50"),
                       ("-100", "100"), ("2", "1"), ("0", "0"), ("3", "9"), ("9223372036854775807", "-1")]:
        for key in ("s", "e", "m", "nokey"):
            diff.check("BITCOUNT", key, start, end)
            diff.check("BITCOUNT", key, start, end, "BIT")
            diff.check("BITCOUNT", key, start, end, "byte")


def test_bitpos(diff):
    check_all(diff, [
        ("SET", "ff", b"\xff\xff\xff"), ("SET", "z", b"\x00\x00\x00"), ("SET", "m", b"\x00\xff\x0f\xf0"),
        ("SET", "e", ""), ("SET", "s", "foobar"), ("SET", "n", "77"),
        ("BITPOS", "s", "2"), ("BITPOS", "s", "x"), ("BITPOS", "s", "1", "a"), ("BITPOS", "s", "1", "0", "b"),
        ("BITPOS", "s", "1", "0", "1", "x"), ("BITPOS", "s", "1", "0", "1", "bit", "x"),
        ("BITPOS", "s", "1", "0", "x", "foo"), ("BITPOS", "nokey", "0"), ("BITPOS", "nokey", "1"),
    ])
    ranges = [(), ("0",), ("1",), ("-1",), ("2", "-1"), ("0", "0"), ("1", "1"), ("-2", "-1"), ("3", "2"),
              ("0", "100"), ("0", "-1", "bit"), ("3", "20", "bit"), ("7", "9", "bit"), ("8", "15", "bit"),
              ("9", "9", "bit"), ("-5", "-1", "bit"), ("12", "bit"), ("5", "BYTE"), ("0", "0", "BIT"),
              ("100", "200"), ("-100", "-1", "bit")]
    for key in ("ff", "z", "m", "e", "s", "n"):
        for bit in ("0", "1"):
            for extra in ranges:
                diff.check("BITPOS", key, bit, *extra)


def test_bitop(diff):
    check_all(diff, [
        ("SET", "s", "foobar"), ("SET", "m", b"\x00\xff\x0f\xf0"), ("SET", "ff", b"\xff\xff\xff"), ("SET", "e", ""),
        ("SET", "n", "12"), ("LPUSH", "l", "x"),
        ("BITOP", "and", "d", "s", "m"), ("GET", "d"), ("OBJECT", "ENCODING", "d"),
        ("BITOP", "OR", "d", "s", "m", "nokey"), ("GET", "d"), ("BITOP", "xor", "d", "s", "m", "ff"), ("GET", "d"),
        ("BITOP", "not", "d", "m"), ("GET", "d"), ("BITOP", "NOT", "d", "m", "s"), ("BITOP", "NOT", "d"),
        ("BITOP", "nand", "d", "m"), ("BITOP", "and", "d", "m", "l"), ("BITOP", "and", "d", "l", "nokey"),
        ("BITOP", "and", "d", "nokey", "nokey2"), ("EXISTS", "d"), ("SET", "d2", "x"), ("EXPIRE", "d2", "100"),
        ("BITOP", "or", "d2", "s"), ("TTL", "d2"), ("OBJECT", "ENCODING", "d2"), ("BITOP", "or", "d2", "e"),
        ("EXISTS", "d2"), ("BITOP", "and", "d", "s", "e"), ("GET", "d"), ("BITOP", "not", "d", "e"),
        ("BITOP", "or", "l", "s"), ("TYPE", "l"), ("GET", "l"), ("BITOP", "xor", "x", "n", "n"), ("GET", "x"),
        ("BITOP", "and", "x", "s", "s", "s"), ("GET", "x"), ("BITOP", "or", "s", "s", "ff"), ("GET", "s"),
    ])


BITFIELD_TYPES = ["u1", "u7", "u8", "u63", "i1", "i8", "i63", "i64", "u64", "i65", "u0", "i0", "I8", "U8", "u",
                  "i", "u8x", "u 8", "i-1", "u+8", "u08", "", "x8"]
BITFIELD_OFFSETS = ["0", "7", "#1", "#0", "-1", "#-1", "#x", "x", "4294967296", "#536870912",
                    "#9223372036854775807", "1#", "", "#"]


def test_bitfield_arguments(diff):
    for kind in BITFIELD_TYPES:
        diff.check("BITFIELD", "bf", "GET", kind, "0")
    for offset in BITFIELD_OFFSETS:
        diff.check("BITFIELD", "bf", "SET", "u8", offset, "1")
        diff.check("BITFIELD", "bf", "GET", "i16", offset)
    check_all(diff, [
        ("BITFIELD", "bf"), ("BITFIELD", "bf", "GET"), ("BITFIELD", "bf", "GET", "u8"),
        ("BITFIELD", "bf", "SET", "u8", "0"), ("BITFIELD", "bf", "OVERFLOW"),
        ("BITFIELD", "bf", "OVERFLOW", "bad", "GET", "u8", "0"), ("BITFIELD", "bf", "FOO", "u8", "0"),
        ("BITFIELD", "bf", "SET", "u8", "0", "x"), ("BITFIELD", "bf", "INCRBY", "u8", "0", "9223372036854775808"),
        ("BITFIELD", "bf", "GET", "u8", "0", "SET", "u8", "0", "300", "GET", "i4", "4", "bad"),
        ("BITFIELD_RO", "bf", "GET", "u8", "0", "SET", "u8", "0", "1"), ("BITFIELD_RO", "bf", "INCRBY", "x", "0", "1"),
        ("BITFIELD_RO", "bf", "OVERFLOW", "SAT", "GET", "u8", "0"), ("BITFIELD_RO", "nokey", "GET", "i16", "3"),
        ("LPUSH", "l", "a"), ("BITFIELD_RO", "l", "GET", "u8", "0"), ("BITFIELD", "l", "GET", "u8", "0"),
        ("BITFIELD", "l", "SET", "u8", "0", "1"), ("BITFIELD", "l"), ("BITFIELD_RO", "l"),
        ("SET", "n", "1234"), ("BITFIELD", "n", "GET", "u16", "0", "GET", "i64", "4"), ("OBJECT", "ENCODING", "n"),
        ("BITFIELD", "n", "SET", "u8", "0", "49"), ("OBJECT", "ENCODING", "n"),
        ("BITFIELD", "grow", "SET", "i5", "#100", "-3", "GET", "i5", "#100", "GET", "u64", "0"), ("STRLEN", "grow"),
        ("BITFIELD", "created", "OVERFLOW", "FAIL", "SET", "u8", "0", "300"), ("EXISTS", "created"), ("GET", "created"),
        ("GET", "bf"),
    ])


@pytest.mark.parametrize("overflow", ["WRAP", "SAT", "FAIL"])
def test_bitfield_overflow_matrix(diff, overflow):
    values = ["0", "1", "-1", "127", "128", "255", "256", "-128", "-129", "9223372036854775807",
              "-9223372036854775808", "4611686018427387904", "-4611686018427387905"]
    for kind in ["u1", "u5", "u8", "u63", "i1", "i5", "i8", "i63", "i64"]:
        for value in values:
            diff.check("BITFIELD", "bf", "OVERFLOW", overflow, "SET", kind, "3", value, "GET", kind, "3")
            diff.check("BITFIELD", "bf", "OVERFLOW", overflow, "INCRBY", kind, "3", value)
            diff.check("BITFIELD", "bf", "OVERFLOW", overflow, "INCRBY", kind, "#2", value, "GET", "u8", "0")
    diff.check("GET", "bf")


def test_keyspace_events(diff, redis_server, ember):
    commands = [
        ("SETBIT", "a", "3", "1"), ("SETBIT", "a", "3", "1"), ("SETBIT", "a", "3", "0"), ("SETBIT", "a", "40", "0"),
        ("BITFIELD", "b", "SET", "u8", "0", "5"), ("BITFIELD", "b", "SET", "u8", "0", "5"),
        ("BITFIELD", "b", "INCRBY", "u8", "0", "0", "INCRBY", "u8", "8", "1", "INCRBY", "u8", "0", "1"),
        ("BITFIELD", "b", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1000"), ("BITFIELD", "b", "GET", "u8", "0"),
        ("BITOP", "or", "c", "a", "b"), ("BITOP", "and", "c", "nokey"), ("BITOP", "and", "c", "nokey"),
    ]
    expected = _keyspace_events(redis_server.port, commands)
    diff.check("FLUSHALL")
    assert _keyspace_events(ember.port, commands) == expected


def test_range_errors_come_before_the_lookup(ember):
    """Redis 7.2 parses BITCOUNT/BITPOS arguments before looking the key up (7.0 did not)."""
    client = ember.client()
    client.flushall()
    client.lpush("list", "x")
    for args in [("BITCOUNT", "nokey", "0"), ("BITCOUNT", "list", "0"), ("BITCOUNT", "nokey", "a", "1"),
                 ("BITPOS", "nokey", "1", "a"), ("BITPOS", "list", "1", "0", "1", "foo")]:
        with pytest.raises(Exception, match="syntax error|not an integer"):
            client.execute_command(*args)
    client.close()


# -- random sequences ---------------------------------------------------------------------------

KEY = st.sampled_from(["a", "b", "c"])
OFFSET = st.one_of(st.integers(0, 80), st.sampled_from([127, 128, 1000, 4095])).map(str)
INDEX = st.integers(-12, 12).map(str)
FIELD_TYPE = st.sampled_from(["u1", "u3", "u8", "u16", "u63", "i1", "i4", "i8", "i32", "i64"])
FIELD_OFFSET = st.one_of(st.integers(0, 70).map(str), st.integers(0, 9).map(lambda n: f"#{n}"))
FIELD_VALUE = st.one_of(st.integers(-300, 300), st.sampled_from([2**63 - 1, -(2**63), 2**31, -(2**31)])).map(str)

bitmap_ops = st.one_of(
    st.tuples(st.just("SETBIT"), KEY, OFFSET, st.sampled_from(["0", "1"])),
    st.tuples(st.just("GETBIT"), KEY, OFFSET),
    st.tuples(st.just("BITCOUNT"), KEY),
    st.tuples(st.just("BITCOUNT"), KEY, INDEX, INDEX, st.sampled_from(["BIT", "BYTE"])),
    st.tuples(st.just("BITPOS"), KEY, st.sampled_from(["0", "1"])),
    st.tuples(st.just("BITPOS"), KEY, st.sampled_from(["0", "1"]), INDEX),
    st.tuples(st.just("BITPOS"), KEY, st.sampled_from(["0", "1"]), INDEX, INDEX, st.sampled_from(["BIT", "BYTE"])),
    st.tuples(st.just("BITOP"), st.sampled_from(["AND", "OR", "XOR"]), KEY, KEY, KEY),
    st.tuples(st.just("BITOP"), st.just("NOT"), KEY, KEY),
    st.tuples(st.just("BITFIELD"), KEY, st.just("OVERFLOW"), st.sampled_from(["WRAP", "SAT", "FAIL"]),
              st.sampled_from(["SET", "INCRBY"]), FIELD_TYPE, FIELD_OFFSET, FIELD_VALUE, st.just("GET"), FIELD_TYPE,
              FIELD_OFFSET),
    st.tuples(st.just("BITFIELD_RO"), KEY, st.just("GET"), FIELD_TYPE, FIELD_OFFSET),
    st.tuples(st.just("SET"), KEY, st.sampled_from(["", b"\x00", b"\xff\x00\xff", "hello", "123"])),
    st.tuples(st.just("APPEND"), KEY, st.sampled_from([b"\x01", "zz"])),
    st.tuples(st.just("DEL"), KEY),
)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=FUNCTION_FIXTURE)
@given(st.lists(bitmap_ops, min_size=1, max_size=25))
def test_random_sequences(diff, operations):
    diff.check("FLUSHALL")
    for args in operations:
        diff.check(*args)
    for key in ("a", "b", "c"):
        diff.check("GET", key)
        diff.check("OBJECT", "ENCODING", key)
