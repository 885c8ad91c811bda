"""HyperLogLog commands compared byte for byte with redis-server, including the stored strings:
after every PFADD/PFMERGE sequence the GET of each key must be identical, so the sparse opcodes,
the sparse->dense promotion (at several hll-sparse-max-bytes values), the dense registers and the
cached cardinality in the header all match Redis's, and PFCOUNT returns the same numbers.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .test_bitmaps_diff import FUNCTION_FIXTURE, check_all
from .test_strings_keys_diff import _keyspace_events

EMPTY_SPARSE = b"HYLL\x01" + bytes(11) + b"\x7f\xff"  # the value PFADD creates, cache valid


@pytest.fixture
def sparse_limit(diff):
    """Set hll-sparse-max-bytes on both servers for one test, restoring the default after."""
    def configure(limit: int) -> None:
        diff.check("CONFIG", "SET", "hll-sparse-max-bytes", str(limit))
    yield configure
    diff.check("CONFIG", "SET", "hll-sparse-max-bytes", "3000")


def test_basic_replies_and_the_stored_bytes(diff):
    check_all(diff, [
        ("PFADD", "h"), ("GET", "h"), ("PFADD", "h"), ("PFCOUNT", "h"), ("GET", "h"),
        ("PFADD", "h", "a", "b", "c"), ("GET", "h"), ("PFCOUNT", "h"), ("GET", "h"), ("OBJECT", "ENCODING", "h"),
        ("PFADD", "h", "a"), ("PFADD", "h", "", b"\x00\xff", "12345678901234567890"), ("PFCOUNT", "nokey"),
        ("PFCOUNT", "h", "nokey"), ("PFCOUNT", "h", "h"), ("PFCOUNT", "nokey", "nokey2"), ("GET", "h"),
        ("PFMERGE", "m"), ("GET", "m"), ("PFMERGE", "m", "nokey"), ("GET", "m"), ("PFMERGE", "m", "h"), ("GET", "m"),
        ("PFCOUNT", "m"), ("TYPE", "m"),
    ])


def test_wrong_types_and_corrupt_values(diff):
    check_all(diff, [
        ("SET", "s", "hello"), ("PFADD", "s", "a"), ("PFCOUNT", "s"), ("PFADD", "h", "x"), ("PFCOUNT", "h", "s"),
        ("PFMERGE", "h", "s"), ("PFMERGE", "s", "h"), ("SET", "n", "123"), ("PFADD", "n", "a"),
        ("LPUSH", "l", "x"), ("PFADD", "l", "a"), ("PFCOUNT", "l"), ("PFCOUNT", "h", "l"), ("PFMERGE", "d", "l"),
        ("PFDEBUG", "GETREG", "l"), ("SET", "short", "HYLL"), ("PFADD", "short", "a"),
        ("SET", "badenc", b"HYLL\x02" + bytes(11) + b"\x7f\xff"), ("PFADD", "badenc", "a"),
        ("SET", "baddense", b"HYLL\x00" + bytes(11) + b"\x7f\xff"), ("PFADD", "baddense", "a"),
        ("PFCOUNT", "baddense"),
        # Sparse opcodes covering 16383 registers instead of 16384.
        ("SET", "corrupt", b"HYLL\x01" + bytes(10) + b"\x80\x7f\xfe"), ("PFCOUNT", "corrupt"),
        ("PFADD", "corrupt", "a", "b", "c", "d", "e", "f", "g", "h"), ("GET", "corrupt"), ("PFMERGE", "x", "corrupt"),
        ("PFCOUNT", "corrupt", "h"), ("PFDEBUG", "TODENSE", "corrupt"), ("PFDEBUG", "DECODE", "corrupt"),
        ("PFDEBUG", "GETREG", "corrupt"),
        ("SET", "over", b"HYLL\x01" + bytes(10) + b"\x80\x7f\xff\x00"), ("PFCOUNT", "over"), ("PFADD", "over", "zz"),
    ])


def test_embstr_hll_becomes_raw(diff):
    check_all(diff, [
        ("SET", "e", EMPTY_SPARSE), ("OBJECT", "ENCODING", "e"), ("PFCOUNT", "e"), ("OBJECT", "ENCODING", "e"),
        ("SET", "f", EMPTY_SPARSE[:15] + b"\x80\x7f\xff"), ("PFCOUNT", "f"), ("GET", "f"), ("OBJECT", "ENCODING", "f"),
        ("SET", "g", EMPTY_SPARSE), ("PFADD", "g", "a"), ("OBJECT", "ENCODING", "g"), ("GET", "g"),
    ])


def test_pfdebug(diff):
    check_all(diff, [
        ("PFADD", "h", "a", "b", "c"), ("PFDEBUG", "ENCODING", "h"), ("PFDEBUG", "DECODE", "h"),
        ("PFDEBUG", "FOO", "h"), ("PFDEBUG", "FOO", "nokey"), ("PFDEBUG", "GETREG", "nokey"),
        ("SET", "s", "x"), ("PFDEBUG", "encoding", "s"), ("PFDEBUG", "TODENSE", "h"), ("PFDEBUG", "TODENSE", "h"),
        ("PFDEBUG", "ENCODING", "h"), ("PFDEBUG", "DECODE", "h"), ("GET", "h"), ("PFCOUNT", "h"),
        ("PFDEBUG", "GETREG", "h"), ("PFADD", "g", "x"), ("PFDEBUG", "GETREG", "g"), ("GET", "g"),
        ("PFDEBUG", "ENCODING"),
    ])


def test_promotion_to_dense_and_big_cardinalities(diff):
    elements = [str(i) for i in range(20000)]
    check_all(diff, [
        ("PFADD", "big", *elements[:5000]), ("PFCOUNT", "big"), ("GET", "big"),
        ("PFADD", "sp", *elements[:300]), ("PFADD", "sp2", *elements[200:700]), ("PFMERGE", "mm", "sp", "sp2"),
        ("GET", "mm"), ("PFCOUNT", "mm"), ("PFCOUNT", "sp", "sp2"), ("PFMERGE", "mm2", "sp", "big"), ("GET", "mm2"),
        ("PFCOUNT", "mm2"), ("PFMERGE", "sp", "sp2"), ("GET", "sp"), ("PFMERGE", "sp2", "big"), ("GET", "sp2"),
        ("PFCOUNT", "sp2", "big", "sp", "nokey"), ("PFADD", "huge", *elements), ("PFCOUNT", "huge"), ("GET", "huge"),
    ])
    rng = random.Random(7)
    for _ in range(20):  # one key growing step by step across the sparse->dense threshold
        diff.check("PFADD", "r", *[rng.randbytes(rng.randrange(12)) for _ in range(rng.randrange(1, 200))])
        diff.check("GET", "r")
        diff.check("PFCOUNT", "r")
    for start in range(0, 400_000, 50_000):  # cardinalities far into the dense range
        diff.check("PFADD", "large", *[b"e%d" % i for i in range(start, start + 50_000)])
        diff.check("PFCOUNT", "large")
    diff.check("GET", "large")
    diff.check("PFCOUNT", "large", "huge", "sp")


@pytest.mark.parametrize("limit", [0, 20, 100, 700])
def test_small_sparse_limits(diff, sparse_limit, limit):
    sparse_limit(limit)
    elements = [f"x{i}" for i in range(120)]
    for first in range(0, 120, 15):
        diff.check("PFADD", "t", *elements[first:first + 15])
        diff.check("GET", "t")
    check_all(diff, [
        ("PFADD", "u", *elements[:40]), ("PFMERGE", "v", "u"), ("GET", "v"), ("PFMERGE", "u", "t"), ("GET", "u"),
        ("PFADD", "w", "only"), ("PFMERGE", "w", "u", "v"), ("GET", "w"), ("PFCOUNT", "w"),
    ])


def test_watch_sees_the_cache_write(diff):
    check_all(diff, [
        ("PFADD", "h", "a", "b"), ("WATCH", "h"), ("PFCOUNT", "h"), ("MULTI",), ("PING",), ("EXEC",),
        ("WATCH", "h"), ("PFCOUNT", "h"), ("MULTI",), ("PING",), ("EXEC",),
        ("WATCH", "h"), ("PFADD", "h", "a"), ("MULTI",), ("PING",), ("EXEC",),
    ])


def test_keyspace_events(diff, redis_server, ember):
    commands = [
        ("PFADD", "a", "x"), ("PFADD", "a", "x"), ("PFADD", "a"), ("PFCOUNT", "a"), ("PFADD", "b"),
        ("PFMERGE", "c", "a", "b"), ("PFMERGE", "c"), ("PFDEBUG", "TODENSE", "c"),
    ]
    expected = _keyspace_events(redis_server.port, commands)
    diff.check("FLUSHALL")
    assert _keyspace_events(ember.port, commands) == expected


ELEMENT = st.one_of(st.binary(max_size=10), st.integers(0, 5000).map(str), st.sampled_from(["a", "b", ""]))
KEY = st.sampled_from(["h1", "h2", "h3"])
hll_ops = st.one_of(
    st.builds(lambda key, items: ("PFADD", key, *items), KEY, st.lists(ELEMENT, max_size=40)),
    st.tuples(st.just("PFCOUNT"), KEY),
    st.tuples(st.just("PFCOUNT"), KEY, KEY),
    st.tuples(st.just("PFMERGE"), KEY, KEY),
    st.tuples(st.just("PFMERGE"), KEY, KEY, KEY),
    st.tuples(st.just("PFDEBUG"), st.sampled_from(["ENCODING", "DECODE", "TODENSE"]), KEY),
    st.tuples(st.just("DEL"), KEY),
)


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=FUNCTION_FIXTURE)
@given(st.sampled_from([3000, 60, 300]), st.lists(hll_ops, min_size=1, max_size=20))
def test_random_sequences(diff, limit, operations):
    diff.check("FLUSHALL")
    diff.check("CONFIG", "SET", "hll-sparse-max-bytes", str(limit))
    try:
        for args in operations:
            diff.check(*args)
        for key in ("h1", "h2", "h3"):
            diff.check("GET", key)
    finally:
        diff.check("CONFIG", "SET", "hll-sparse-max-bytes", "3000")
