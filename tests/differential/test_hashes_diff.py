"""Hash commands compared byte for byte with redis-server: hand-picked edge cases per command,
HINCRBYFLOAT's long double digits, and hypothesis-generated operation sequences.

Small hashes are listpacks in both servers and list fields in insertion order, so their replies
are compared exactly; once Redis reports a hashtable the order is unspecified and replies are
compared as sorted field/value pairs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import start_ember, start_redis

from .harness import Differ, decode, sorted_reply


def sorted_pairs(raw: bytes):
    """A flat field/value array as sorted (field, value) pairs; errors stay raw bytes."""
    if raw[:1] == b"-":
        return raw
    value = decode(raw)
    return sorted(zip(value[0::2], value[1::2], strict=True))


def sorted_items(raw: bytes):
    return raw if raw[:1] == b"-" else sorted_reply(raw)


def sorted_scan(raw: bytes):
    if raw[:1] == b"-":
        return raw
    value = decode(raw)
    return [value[0], sorted(zip(value[1][0::2], value[1][1::2], strict=True))]


def is_listpack(differ: Differ, key: str) -> bool:
    return differ.redis.call("OBJECT", "ENCODING", key) == b"$8\r\nlistpack\r\n"


def check_ordered(differ: Differ, key: str, *args, pairs: bool = False):
    """Exact comparison while Redis keeps the hash in a listpack, order-free otherwise."""
    if is_listpack(differ, key):
        return differ.check(*args)
    return differ.check(*args, normalize=sorted_pairs if pairs else sorted_items)


# -- hand-picked cases -----------------------------------------------------------------------


def test_basic_replies_and_errors(diff):
    for args in [
        ("HSET", "h", "a", "1", "b", "2"), ("HSET", "h", "a", "3", "c", "4"), ("HGET", "h", "a"),
        ("HGET", "h", "zz"), ("HGET", "nokey", "a"), ("HMGET", "h", "a", "zz", "c"), ("HMGET", "nokey", "a"),
        ("HGETALL", "h"), ("HKEYS", "h"), ("HVALS", "h"), ("HLEN", "h"), ("HLEN", "nokey"),
        ("HGETALL", "nokey"), ("HKEYS", "nokey"), ("HEXISTS", "h", "a"), ("HEXISTS", "h", "zz"),
        ("HSTRLEN", "h", "a"), ("HSTRLEN", "h", "zz"), ("HSTRLEN", "nokey", "zz"),
        ("HSETNX", "h", "a", "x"), ("HSETNX", "h", "n", "x"), ("HMSET", "h", "m", "1"),
        ("HSET", "h", "a"), ("HSET", "h", "a", "1", "b"), ("HMSET", "h", "a", "1", "b"), ("HSET", "h"),
        ("HDEL", "h", "a", "a", "zz"), ("HDEL", "nokey", "a"), ("HDEL", "h"),
        ("HSET", "bin", "\x00\xff", ""), ("HGETALL", "bin"), ("HSTRLEN", "bin", "\x00\xff"),
        ("HDEL", "bin", "\x00\xff"), ("EXISTS", "bin"),
    ]:
        diff.check(*args)


def test_wrongtype(diff):
    diff.check("SADD", "s", "member")
    for args in [
        ("HSET", "s", "a", "1"), ("HSETNX", "s", "a", "1"), ("HMSET", "s", "a", "1"), ("HGET", "s", "a"),
        ("HMGET", "s", "a"), ("HGETALL", "s"), ("HKEYS", "s"), ("HVALS", "s"), ("HDEL", "s", "a"),
        ("HEXISTS", "s", "a"), ("HLEN", "s"), ("HSTRLEN", "s", "a"), ("HINCRBY", "s", "a", "1"),
        ("HINCRBYFLOAT", "s", "a", "1"), ("HRANDFIELD", "s"), ("HRANDFIELD", "s", "1"),
        ("HRANDFIELD", "s", "1", "WITHVALUES"), ("HSCAN", "s", "0"),
        # argument errors come before the type check where Redis parses first
        ("HINCRBY", "s", "a", "x"), ("HINCRBYFLOAT", "s", "a", "x"), ("HRANDFIELD", "s", "x"),
        ("HSCAN", "s", "x"), ("HSCAN", "s", "0", "COUNT", "0"),
    ]:
        diff.check(*args)


def test_hincrby_edges(diff):
    for args in [
        ("HINCRBY", "h", "n", "5"), ("HINCRBY", "h", "n", "-9223372036854775808"),
        ("HINCRBY", "h", "n", "-9223372036854775808"), ("HINCRBY", "h", "n", "9223372036854775807"),
        ("HSET", "h", "m", "9223372036854775807"), ("HINCRBY", "h", "m", "1"), ("HINCRBY", "h", "m", "0"),
        ("HSET", "h", "s", "abc"), ("HINCRBY", "h", "s", "1"), ("HSET", "h", "z", "01"),
        ("HINCRBY", "h", "z", "1"), ("HSET", "h", "z", "-0"), ("HINCRBY", "h", "z", "1"),
        ("HSET", "h", "z", " 1"), ("HINCRBY", "h", "z", "1"), ("HINCRBY", "h", "n", "1.5"),
        ("HINCRBY", "h", "n", "+1"), ("HINCRBY", "h", "n", "9223372036854775808"), ("HINCRBY", "h", "n", ""),
        ("HGETALL", "h"),
    ]:
        diff.check(*args)


FLOAT_INPUTS = [
    "0.1", "0.2", "-0.3", "1e17", "0.5", "1e-18", "-1e-18", "3.14159265358979323846264338327950288",
    "2.7e-400", "123456789012345678901234567890", "0x1.8p-3", ".5e1", "5.", "+1", "1E2", "10.5e-3",
    "0.000003814697265625", "0.000001907348632812500", "1.18973149535723176502e+4932",
    "1.18973149535723176508e+4932", "-1.18973149535723176502e+4932", "0X1P-16445", "0X1P-16446",
    "1e-5000", "1e5000", "inf", "-inf", "InFiNiTy", "nan", "1_0", " 1", "1 ", "", "0x", "1e", ".",
    "-.e1", "0x.8", "0x1.", "1e+", "9" * 400, "0." + "0" * 300 + "1", "1e-4940", "-0", "0e99999999999",
]


def test_hincrbyfloat_long_double_digits(diff):
    for index, increment in enumerate(FLOAT_INPUTS):
        diff.check("HINCRBYFLOAT", "acc", "f", increment)
        diff.check("HINCRBYFLOAT", "fresh", f"f{index}", increment)
    for stored in ["1 ", "inf", "-0", "abc", "0x10", "1e4932", "-1e4932", "4.5"]:
        diff.check("HSET", "stored", "v", stored)
        diff.check("HINCRBYFLOAT", "stored", "v", "1e4932")
        diff.check("HINCRBYFLOAT", "stored", "v", "0.1")
    check_ordered(diff, "acc", "HGETALL", "acc", pairs=True)
    check_ordered(diff, "fresh", "HGETALL", "fresh", pairs=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda f: f"{f:.30f}"),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=20).map(str),
), min_size=1, max_size=6))
def test_hincrbyfloat_random_sums(diff, increments):
    diff.check("DEL", "sum")
    for increment in increments:
        diff.check("HINCRBYFLOAT", "sum", "f", increment)


def test_hrandfield_deterministic_cases(diff):
    for args in [
        ("HRANDFIELD", "nokey"), ("HRANDFIELD", "nokey", "5"), ("HRANDFIELD", "nokey", "-5", "WITHVALUES"),
        ("HSET", "h", "a", "1", "b", "2", "c", "3"), ("HRANDFIELD", "h", "0"), ("HRANDFIELD", "h", "3"),
        ("HRANDFIELD", "h", "100", "WITHVALUES"), ("HRANDFIELD", "h", "0", "WITHVALUES"),
        ("HRANDFIELD", "h", "1", "WITHVALUE"), ("HRANDFIELD", "h", "1", "WITHVALUES", "x"),
        ("HRANDFIELD", "h", "x"), ("HRANDFIELD", "h", "-9223372036854775808"),
        ("HRANDFIELD", "h", "9223372036854775807"), ("HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"),
        ("HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"),
        ("HRANDFIELD", "h", "4611686018427387903", "WITHVALUES"),
        ("HSET", "one", "only", "v"), ("HRANDFIELD", "one"), ("HRANDFIELD", "one", "-3", "WITHVALUES"),
        ("HRANDFIELD", "one", "1", "WITHVALUES"),
    ]:
        diff.check(*args)
    diff.check("HELLO", "3", normalize=lambda raw: None)
    for args in [("HRANDFIELD", "h", "100", "WITHVALUES"), ("HRANDFIELD", "one", "-2", "WITHVALUES"),
                 ("HGETALL", "h"), ("HGETALL", "nokey"), ("HRANDFIELD", "nokey", "3")]:
        diff.check(*args)


def test_hscan_arguments(diff):
    diff.check("HSET", "h", "a", "1", "ab", "2", "b", "3")
    for cursor in ["0", "7", "-1", "+5", "-0", "", "18446744073709551615", "18446744073709551616", " 7",
                   "x", "-", "1.5", "0" * 40 + "5", "-" + "0" * 40 + "18446744073709551615", "0" * 5000 + "7",
                   "9" * 5000, "7 ", "\t7"]:
        diff.check("HSCAN", "h", cursor)
    for args in [
        ("MATCH", "a*"), ("MATCH", "*"), ("MATCH", "[ab]"), ("COUNT", "1"), ("COUNT", "0"), ("COUNT", "-1"),
        ("COUNT", "x"), ("MATCH",), ("COUNT",), ("MATCH", "a*", "COUNT", "5", "MATCH", "b"), ("NOVALUES",),
        ("TYPE", "hash"),
    ]:
        diff.check("HSCAN", "h", "0", *args)
    diff.check("HSCAN", "nokey", "0", "COUNT", "0")


def test_hscan_full_iteration_of_a_big_hash(diff):
    fields = []
    for i in range(700):
        fields += [f"f{i}", f"v{i}"]
    diff.check("HSET", "big", *fields)
    diff.check("OBJECT", "ENCODING", "big")
    results = []
    for differ_side in (diff.redis, diff.ember):
        seen, cursor = {}, "0"
        while True:
            reply = decode(differ_side.call("HSCAN", "big", cursor, "COUNT", "37"))
            cursor = reply[0].decode()
            seen.update(zip(reply[1][0::2], reply[1][1::2], strict=True))
            if cursor == "0":
                break
        results.append(seen)
    assert results[0] == results[1] and len(results[0]) == 700


# -- encodings under small limits --------------------------------------------------------------

SMALL_LIMITS = ("--hash-max-listpack-entries", "4", "--hash-max-listpack-value", "8")


@contextmanager
def servers_with(tmp_path_factory, *options: str) -> Iterator[Differ]:
    """A Differ over a redis-server and an Ember both started with `options`."""
    redis_side = start_redis(tmp_path_factory.mktemp("redis"), *options)
    ember_side = start_ember(tmp_path_factory.mktemp("ember"), *options)
    differ = Differ(redis_side.port, ember_side.port)
    try:
        yield differ
    finally:
        differ.close()
        redis_side.stop()
        ember_side.stop()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Both servers with tiny listpack limits, so conversions happen within a few commands."""
    with servers_with(tmp_path_factory, *SMALL_LIMITS) as differ:
        yield differ


def test_encoding_conversions(small):
    small.check("FLUSHALL")
    for args in [
        ("HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4"), ("OBJECT", "ENCODING", "h"),
        ("HSET", "h", "e", "5"), ("OBJECT", "ENCODING", "h"), ("HDEL", "h", "a", "b", "c", "d"),
        ("OBJECT", "ENCODING", "h"), ("HSET", "v", "a", "12345678"), ("OBJECT", "ENCODING", "v"),
        ("HSET", "v", "a", "123456789"), ("OBJECT", "ENCODING", "v"), ("HSET", "f", "123456789", "1"),
        ("OBJECT", "ENCODING", "f"), ("HSET", "i", "n", "9999999"), ("HINCRBY", "i", "n", "10"),
        ("OBJECT", "ENCODING", "i"), ("HSET", "x", "n", "1"), ("HINCRBYFLOAT", "x", "n", "0.1234567"),
        ("OBJECT", "ENCODING", "x"), ("HSET", "nx", "a", "1"), ("HSETNX", "nx", "a", "123456789"),
        ("OBJECT", "ENCODING", "nx"), ("HSETNX", "nx", "b", "123456789"), ("OBJECT", "ENCODING", "nx"),
        ("HSET", "k", "123456789", "1"), ("HINCRBY", "k2", "123456789", "1"), ("OBJECT", "ENCODING", "k2"),
    ]:
        small.check(*args)


# -- random operation sequences ----------------------------------------------------------------

KEYS = ["h1", "h2", "s"]  # "s" holds a set: every hash command on it is a WRONGTYPE
FIELDS = ["a", "b", "c", "d", "", "1", "01", "-1", "\x00\xff"]
VALUES = ["0", "1", "-5", "9223372036854775807", "-9223372036854775808", "1.5", "abc", "", "1e5",
          "0.1", "inf", " 1", "9223372036854775808"]
INCREMENTS = ["1", "-1", "0", "100", "9223372036854775807", "-9223372036854775808", "x", "1.5"]
FLOAT_INCREMENTS = ["0.1", "-2.5", "1e10", "3", "inf", "x", "1e-3"]

# Fields and values longer than hash-max-listpack-value turn a hash into a hashtable, whose order
# is not compared; they are rare so that most sequences check the listpack order exactly.
LONG = "x" * 70
fields = st.sampled_from(FIELDS * 6 + [LONG])
values = st.sampled_from(VALUES * 6 + [LONG])
keys = st.sampled_from(["h1", "h1", "h1", "h2", "s"])

writes = st.tuples(st.just("HSET"), keys, st.lists(st.tuples(fields, values), min_size=1, max_size=4)).map(
    lambda t: (t[0], t[1], *[x for pair in t[2] for x in pair]))
operations = st.one_of(
    writes, writes, writes,  # mostly writes, so that hashes grow and change
    st.tuples(st.just("HSETNX"), keys, fields, values),
    st.tuples(st.sampled_from(["HGET", "HEXISTS", "HSTRLEN"]), keys, fields),
    st.tuples(st.just("HMGET"), keys, fields, fields),
    st.tuples(st.just("HDEL"), keys, fields, fields),
    st.tuples(st.sampled_from(["HLEN", "HGETALL", "HKEYS", "HVALS"]), keys),
    st.tuples(st.just("HINCRBY"), keys, fields, st.sampled_from(INCREMENTS)),
    st.tuples(st.just("HINCRBYFLOAT"), keys, fields, st.sampled_from(FLOAT_INCREMENTS)),
    st.tuples(st.just("HRANDFIELD"), keys, st.sampled_from(["0", "1000", "-0"]),
              st.sampled_from([(), ("WITHVALUES",)])).map(lambda t: (t[0], t[1], t[2], *t[3])),
    st.tuples(st.just("HSCAN"), keys, st.just("0"), st.just("COUNT"), st.just("1000")),
)

UNORDERED = {"HGETALL": True, "HKEYS": False, "HVALS": False, "HRANDFIELD": None, "HSCAN": None}


def run_operation(differ: Differ, op: tuple) -> None:
    name, key = op[0], op[1]
    if name not in UNORDERED or key == "s":
        differ.check(*op)
    elif name == "HSCAN":
        differ.check(*op, normalize=None if is_listpack(differ, key) else sorted_scan)
    elif name == "HRANDFIELD":
        check_ordered(differ, key, *op, pairs=len(op) == 4)
    else:
        check_ordered(differ, key, *op, pairs=UNORDERED[name])


def run_sequence(differ: Differ, ops: list[tuple]) -> None:
    differ.check("FLUSHALL")
    differ.check("SADD", "s", "member")
    for op in ops:
        run_operation(differ, op)
    for key in KEYS[:2]:
        differ.check("OBJECT", "ENCODING", key)
        check_ordered(differ, key, "HGETALL", key, pairs=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(operations, min_size=1, max_size=30))
def test_random_sequences(diff, ops):
    run_sequence(diff, ops)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(operations, min_size=1, max_size=30))
def test_random_sequences_small_limits(small, ops):
    run_sequence(small, ops)
