"""Set commands compared byte for byte with redis-server: hand-picked edge cases per command and
hypothesis-generated operation sequences.

The oracle is Redis 7.0, which has no listpack encoding for sets (7.2 added it): small sets of
strings are hashtables there, in an unspecified order, while Ember, like 7.2, keeps them in a
listpack in insertion order. So replies listing members are compared exactly only when Redis
holds the set as an intset (ascending integers in both) and as sorted lists otherwise, and
OBJECT ENCODING is compared only as "intset or not".
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .harness import Differ, decode, sorted_reply
from .test_hashes_diff import servers_with

INTSET = b"$6\r\nintset\r\n"


def sorted_members(raw: bytes):
    """Members as a sorted list; errors stay as their raw bytes (error objects don't compare)."""
    return raw if raw[:1] == b"-" else sorted_reply(raw)


def is_intset(differ: Differ, key: str) -> bool:
    return differ.redis.call("OBJECT", "ENCODING", key) == INTSET


def check_members(differ: Differ, key: str, *args):
    """Exact comparison while Redis holds `key` as an intset, order-free otherwise."""
    return differ.check(*args, normalize=None if is_intset(differ, key) else sorted_members)


def check_intset_state(differ: Differ, key: str) -> None:
    """Both servers agree on whether key is an intset (7.0 says hashtable where 7.2 says listpack)."""
    redis_encoding, ember_encoding = differ.both("OBJECT", "ENCODING", key)
    assert (redis_encoding == INTSET) == (ember_encoding == INTSET), (key, redis_encoding, ember_encoding)


def sorted_scan(raw: bytes):
    if raw[:1] == b"-":
        return raw
    value = decode(raw)
    return [value[0], sorted(value[1])]


# -- hand-picked cases -----------------------------------------------------------------------


def test_basic_replies_and_errors(diff):
    for args in [
        ("SADD", "s", "a", "b", "a"), ("SADD", "s", "b", "c"), ("SCARD", "s"), ("SCARD", "nokey"),
        ("SISMEMBER", "s", "a"), ("SISMEMBER", "s", "zz"), ("SISMEMBER", "nokey", "a"),
        ("SMISMEMBER", "s", "a", "zz", "c"), ("SMISMEMBER", "nokey", "a"), ("SMISMEMBER", "s"),
        ("SREM", "s", "a", "zz", "a"), ("SREM", "nokey", "a"), ("SREM", "s"), ("SADD", "s"),
        ("SMEMBERS", "nokey"), ("SREM", "s", "b", "c"), ("EXISTS", "s"),
        ("SADD", "bin", "\x00\xff", ""), ("SISMEMBER", "bin", ""), ("SCARD", "bin"),
    ]:
        diff.check(*args)


def test_intset_orders_exactly(diff):
    for args in [
        ("SADD", "i", "30", "-5", "7", "100", "9223372036854775807", "-9223372036854775808"),
        ("SMEMBERS", "i"), ("OBJECT", "ENCODING", "i"), ("SRANDMEMBER", "i", "100"), ("SSCAN", "i", "0"),
        ("SSCAN", "i", "77", "MATCH", "*0"), ("SINTER", "i", "i"), ("SUNION", "i", "nokey"),
        ("SADD", "j", "7", "100", "8"), ("SINTER", "i", "j"), ("SINTER", "j", "i"), ("SUNION", "j", "i"),
        ("SDIFF", "i", "j"), ("SDIFF", "j", "i"), ("SINTERSTORE", "d", "i", "j"), ("SMEMBERS", "d"),
        ("OBJECT", "ENCODING", "d"), ("SUNIONSTORE", "d", "j", "i"), ("SMEMBERS", "d"),
        ("SDIFFSTORE", "d", "i", "j"), ("SMEMBERS", "d"), ("SPOP", "d", "100"), ("EXISTS", "d"),
        ("SISMEMBER", "i", "07"), ("SISMEMBER", "i", "7"), ("SREM", "i", "+7"), ("SREM", "i", "7"),
        ("SMEMBERS", "i"),
    ]:
        diff.check(*args)
    # Non-canonical integers never enter an intset.
    for member in ["01", "+1", "-0", "9223372036854775808", " 1", "1 ", "0x1", "1.0", "-9223372036854775809"]:
        diff.check("SADD", f"c{member}", member)
        check_intset_state(diff, f"c{member}")


def test_wrongtype(diff):
    diff.check("HSET", "h", "f", "v")
    diff.check("SADD", "s", "a")
    for args in [
        ("SADD", "h", "a"), ("SREM", "h", "a"), ("SMEMBERS", "h"), ("SISMEMBER", "h", "a"),
        ("SMISMEMBER", "h", "a"), ("SCARD", "h"), ("SPOP", "h"), ("SPOP", "h", "1"), ("SRANDMEMBER", "h"),
        ("SRANDMEMBER", "h", "1"), ("SMOVE", "h", "s", "a"), ("SMOVE", "s", "h", "a"),
        ("SMOVE", "nokey", "h", "a"), ("SINTER", "nokey", "h"), ("SINTER", "s", "h"), ("SUNION", "s", "h"),
        ("SDIFF", "nokey", "h"), ("SINTERCARD", "2", "s", "h"), ("SINTERSTORE", "d", "s", "h"),
        ("SUNIONSTORE", "d", "h"), ("SDIFFSTORE", "d", "s", "h"), ("SSCAN", "h", "0"),
        ("SINTERSTORE", "h", "s"), ("TYPE", "h"),  # a STORE overwrites a destination of any type
        ("SPOP", "h", "-1"), ("SPOP", "h", "x"), ("SRANDMEMBER", "h", "x"), ("SSCAN", "h", "x"),
    ]:
        diff.check(*args)


def test_spop_and_srandmember_deterministic_cases(diff):
    for args in [
        ("SPOP", "nokey"), ("SPOP", "nokey", "3"), ("SPOP", "nokey", "0"), ("SPOP", "nokey", "-1"),
        ("SRANDMEMBER", "nokey"), ("SRANDMEMBER", "nokey", "3"), ("SRANDMEMBER", "nokey", "-3"),
        ("SADD", "s", "1", "2", "3"), ("SPOP", "s", "0"), ("SPOP", "s", "-1"), ("SPOP", "s", "x"),
        ("SPOP", "s", "1", "2"), ("SRANDMEMBER", "s", "0"), ("SRANDMEMBER", "s", "3"),
        ("SRANDMEMBER", "s", "9223372036854775807"), ("SRANDMEMBER", "s", "-9223372036854775808"),
        ("SRANDMEMBER", "s", "1", "2"), ("SRANDMEMBER", "s", "x"), ("SADD", "one", "x"),
        ("SRANDMEMBER", "one", "-3"), ("SRANDMEMBER", "one"), ("SPOP", "one"), ("EXISTS", "one"),
        ("SPOP", "s", "9223372036854775807"), ("EXISTS", "s"),
    ]:
        diff.check(*args)
    diff.check("HELLO", "3", normalize=lambda raw: None)
    for args in [("SPOP", "nokey", "2"), ("SMEMBERS", "nokey"), ("SADD", "t", "5", "4"), ("SPOP", "t", "5"),
                 ("SADD", "t", "5", "4"), ("SMEMBERS", "t"), ("SRANDMEMBER", "t", "5"), ("SINTER", "t", "nokey"),
                 ("SSCAN", "t", "0")]:
        diff.check(*args)


def test_smove(diff):
    for args in [
        ("SADD", "a", "1", "x"), ("SMOVE", "a", "b", "1"), ("SMEMBERS", "b"), ("OBJECT", "ENCODING", "b"),
        ("SMOVE", "a", "b", "zz"), ("SMOVE", "nokey", "b", "1"), ("SMOVE", "a", "a", "x"),
        ("SMOVE", "a", "a", "zz"), ("SMOVE", "b", "a", "1"), ("SMOVE", "a", "b", "x"), ("EXISTS", "a"),
        ("SMOVE", "b", "b", "x"), ("SMOVE", "b", "c", "x"), ("EXISTS", "b"), ("SMEMBERS", "c"),
    ]:
        diff.check(*args)


def test_set_algebra(diff):
    for args in [
        ("SADD", "a", "1", "2", "3", "4"), ("SADD", "b", "3", "4", "5"), ("SADD", "c", "x", "4", "y"),
        ("SINTERCARD", "2", "a", "b"), ("SINTERCARD", "2", "a", "b", "LIMIT", "1"),
        ("SINTERCARD", "2", "a", "b", "LIMIT", "0"), ("SINTERCARD", "2", "a", "b", "limit", "100"),
        ("SINTERCARD", "3", "a", "b", "c"), ("SINTERCARD", "2", "a", "nokey"), ("SINTERCARD", "0", "a"),
        ("SINTERCARD", "-1", "a"), ("SINTERCARD", "x", "a"), ("SINTERCARD", "3", "a", "b"),
        ("SINTERCARD", "1", "a", "LIMIT", "-1"), ("SINTERCARD", "1", "a", "LIMIT", "x"),
        ("SINTERCARD", "1", "a", "LIMIT"), ("SINTERCARD", "1", "a", "FOO", "1"),
        ("SINTERCARD", "2", "a", "LIMIT"), ("SINTER", "a", "nokey"), ("SDIFF", "nokey", "a"),
        ("SDIFF", "a", "a"), ("SDIFF", "a", "nokey", "a"), ("SUNION", "nokey"),
        ("SINTERSTORE", "d", "a", "nokey"), ("EXISTS", "d"), ("SUNIONSTORE", "d", "nokey"),
        ("SDIFFSTORE", "d", "a", "a"), ("SADD", "d", "z"), ("SDIFFSTORE", "d", "a", "a"), ("EXISTS", "d"),
        ("SADD", "d", "z"), ("SINTERSTORE", "d", "a", "nokey"), ("EXISTS", "d"),
    ]:
        diff.check(*args)
    for args in [("SINTER", "a", "c"), ("SUNION", "a", "c"), ("SDIFF", "c", "a"), ("SDIFF", "a", "c"),
                 ("SINTER", "c", "c", "c")]:
        diff.check(*args, normalize=sorted_members)
    for args in [("SINTERSTORE", "d", "c", "a"), ("SUNIONSTORE", "d", "c", "a"), ("SDIFFSTORE", "d", "a", "c")]:
        diff.check(*args)
        check_members(diff, "d", "SMEMBERS", "d")
        check_intset_state(diff, "d")
    # An all-integer result is stored as an intset whatever the sources were.
    diff.check("SADD", "strs", "2", "3", "x")
    diff.check("SINTERSTORE", "d", "strs", "a")
    diff.check("OBJECT", "ENCODING", "d")
    diff.check("SMEMBERS", "d")


def test_store_replaces_ttl_and_type(diff):
    for args in [("SET", "d", "v"), ("EXPIRE", "d", "100"), ("SADD", "a", "1"), ("SUNIONSTORE", "d", "a"),
                 ("TTL", "d"), ("TYPE", "d"), ("SMEMBERS", "d")]:
        diff.check(*args)


def test_sscan_arguments(diff):
    diff.check("SADD", "i", "1", "2", "3")
    for cursor in ["0", "7", "-1", "+5", "", "18446744073709551616", " 7", "x"]:
        diff.check("SSCAN", "i", cursor)
    for args in [("MATCH", "1*"), ("COUNT", "1"), ("COUNT", "0"), ("COUNT", "x"), ("MATCH",), ("TYPE", "set")]:
        diff.check("SSCAN", "i", "0", *args)
    diff.check("SSCAN", "nokey", "0", "COUNT", "0")


def test_sscan_full_iteration_of_a_big_set(diff):
    diff.check("SADD", "big", *[f"m{i}" for i in range(1500)])
    results = []
    for side in (diff.redis, diff.ember):
        seen, cursor = set(), "0"
        while True:
            reply = decode(side.call("SSCAN", "big", cursor, "COUNT", "50", "MATCH", "m1*"))
            cursor = reply[0].decode()
            seen.update(reply[1])
            if cursor == "0":
                break
        results.append(seen)
    assert results[0] == results[1] and len(results[0]) == 1 + 10 + 100 + 500


# -- encodings under small limits --------------------------------------------------------------

# Redis 7.0 knows no set-max-listpack-*; the intset limit is what both servers share.
SMALL_LIMITS = ("--set-max-intset-entries", "4")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    with servers_with(tmp_path_factory, *SMALL_LIMITS) as differ:
        yield differ


def test_intset_limit(small):
    small.check("FLUSHALL")
    for args in [("SADD", "i", "4", "3", "2", "1"), ("SMEMBERS", "i"), ("SADD", "i", "5"),
                 ("SINTERSTORE", "d", "i", "i"), ("SREM", "i", "5"), ("SINTERSTORE", "e", "i", "i"),
                 ("SMEMBERS", "e"), ("SUNIONSTORE", "f", "i"), ("SMEMBERS", "f"), ("SUNIONSTORE", "g", "i", "d")]:
        small.check(*args, normalize=sorted_members if args[0] == "SMEMBERS" else None)
        if args[0] != "SMEMBERS":
            check_intset_state(small, args[1])


# -- random operation sequences ----------------------------------------------------------------

KEYS = ["s1", "s2", "s3", "h"]  # "h" holds a hash: every set command on it is a WRONGTYPE
# Counts whose answer is not random: none, everything, or an error.
COUNTS = ["0", "1000", "-0", "x"]

keys = st.sampled_from(["s1", "s1", "s2", "s3", "h"])
# Two integers for one string, so that intsets (whose order is compared exactly) are common.
INTEGER_MEMBERS = [str(i) for i in range(-20, 21)] + ["9223372036854775807", "-9223372036854775808"]
OTHER_MEMBERS = ["01", "+1", "-0", "9223372036854775808", "a", "b", "c", "d", "", "\x00\xff", "x" * 70]
members = st.sampled_from(INTEGER_MEMBERS + OTHER_MEMBERS * 2)
some_keys = st.lists(keys, min_size=1, max_size=3)

# At most 4 members per SADD: Redis 7.2 (and Ember) skip the intset when one SADD brings more
# members than set-max-intset-entries (4 in `small`), which 7.0 doesn't.
writes = st.tuples(st.just("SADD"), keys, st.lists(members, min_size=1, max_size=4)).map(lambda t: (t[0], t[1], *t[2]))
operations = st.one_of(
    writes, writes, writes,  # mostly writes, so that sets grow and change
    st.tuples(st.just("SREM"), keys, st.lists(members, min_size=1, max_size=3)).map(lambda t: (t[0], t[1], *t[2])),
    st.tuples(st.sampled_from(["SISMEMBER"]), keys, members),
    st.tuples(st.just("SMISMEMBER"), keys, members, members),
    st.tuples(st.sampled_from(["SCARD", "SMEMBERS"]), keys),
    st.tuples(st.just("SRANDMEMBER"), keys, st.sampled_from(COUNTS)),
    st.tuples(st.just("SPOP"), keys, st.sampled_from([*COUNTS, "-1"])),
    st.tuples(st.just("SMOVE"), keys, keys, members),
    st.tuples(st.sampled_from(["SINTER", "SUNION", "SDIFF"]), some_keys).map(lambda t: (t[0], *t[1])),
    st.tuples(st.sampled_from(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), keys, some_keys)
    .map(lambda t: (t[0], t[1], *t[2])),
    st.tuples(st.just("SINTERCARD"), some_keys, st.sampled_from([(), ("LIMIT", "1"), ("LIMIT", "0")]))
    .map(lambda t: ("SINTERCARD", str(len(t[1])), *t[1], *t[2])),
    st.tuples(st.just("SSCAN"), keys, st.just("0"), st.just("COUNT"), st.just("1000")),
)

# Commands whose reply lists members (deterministic as a collection once sorted).
LISTING = {"SMEMBERS", "SRANDMEMBER", "SPOP", "SINTER", "SUNION", "SDIFF"}


def run_operation(differ: Differ, op: tuple) -> None:
    name, key = op[0], op[1]
    if name == "SSCAN":
        differ.check(*op, normalize=None if is_intset(differ, key) else sorted_scan)
    elif name in ("SMEMBERS", "SRANDMEMBER", "SPOP") and key != "h":
        # SRANDMEMBER/SPOP are only generated with counts whose answer is not random.
        check_members(differ, key, *op)
    elif name in LISTING:
        differ.check(*op, normalize=sorted_members)
    else:
        differ.check(*op)


def run_sequence(differ: Differ, ops: list[tuple]) -> None:
    differ.check("FLUSHALL")
    differ.check("HSET", "h", "f", "v")
    for op in ops:
        run_operation(differ, op)
    for key in KEYS[:3]:
        check_members(differ, key, "SMEMBERS", key)
        check_intset_state(differ, key)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(operations, min_size=1, max_size=30))
def test_random_sequences(diff, ops):
    run_sequence(diff, ops)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(operations, min_size=1, max_size=30))
def test_random_sequences_small_intsets(small, ops):
    run_sequence(small, ops)
