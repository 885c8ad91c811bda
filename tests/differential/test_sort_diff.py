"""SORT and SORT_RO compared byte for byte with redis-server: options and their errors, numeric
parsing as strtod does it, ALPHA collation, BY/GET patterns (hash fields, NUL bytes), LIMIT
windows, ties (including the order Redis's partial quicksort leaves them in), STORE, keyspace
events, and hypothesis-generated data and commands.

Oracle caveats (Redis 7.0): sets of strings are hashtables there (7.2: listpacks in insertion
order), so set cases use integer members (intsets, ascending in both) or orders that are total;
small lists are always "quicklist" there, so OBJECT ENCODING of stored lists is compared only for
big ones. Redis never clears errno before strtod, so after a value that overflows (ERANGE) every
later numeric SORT on the same connection fails; such values end their own connection here.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from .harness import Differ
from .test_bitmaps_diff import FUNCTION_FIXTURE, check_all
from .test_strings_keys_diff import _keyspace_events


def test_options_and_errors(diff):
    check_all(diff, [
        ("RPUSH", "l", "3", "1", "2", "10", "-5", "1.5", "1e2", "0x10", " 7", "", "inf", "-inf"),
        ("SORT", "l"), ("SORT", "l", "DESC"), ("SORT", "l", "ALPHA"), ("SORT", "l", "ALPHA", "DESC"),
        ("SORT", "l", "LIMIT", "2", "3"), ("SORT", "l", "LIMIT", "-1", "3"), ("SORT", "l", "LIMIT", "2", "-1"),
        ("SORT", "l", "LIMIT", "100", "2"), ("SORT", "l", "LIMIT", "0", "0"), ("SORT", "l", "LIMIT", "a", "1"),
        ("SORT", "l", "LIMIT", "1"), ("SORT", "l", "LIMIT"), ("SORT", "l", "FOO"), ("SORT", "l", "STORE"),
        ("SORT", "l", "BY"), ("SORT", "l", "GET"), ("SORT_RO", "l", "STORE", "x"), ("SORT_RO", "l", "DESC"),
        ("SORT", "l", "ASC", "DESC", "ASC"), ("SORT", "l", "LIMIT", "0", "2", "LIMIT", "1", "1"),
        ("SORT", "l", "LIMIT", "9223372036854775807", "9223372036854775807"),
        ("SORT", "l", "LIMIT", "-9223372036854775808", "-1"),
        ("RPUSH", "bad", "1", "x", "2"), ("SORT", "bad"), ("SORT", "bad", "ALPHA"), ("SORT", "bad", "STORE", "d"),
        ("EXISTS", "d"), ("SORT", "bad", "BY", "nosort"), ("SORT", "bad", "LIMIT", "0", "1"),
        ("SET", "str", "x"), ("SORT", "str"), ("SORT", "str", "BY", "nosort"), ("SORT", "str", "FOO"),
        ("SORT", "nokey"), ("SORT", "nokey", "BY", "w_*", "GET", "#"), ("SORT", "nokey", "LIMIT", "0", "5"),
        ("COMMAND", "GETKEYS", "SORT", "l", "STORE", "x", "STORE", "y"),
        ("COMMAND", "GETKEYS", "SORT", "l", "LIMIT", "0", "1", "BY", "store", "GET", "store", "STORE", "x"),
        ("COMMAND", "GETKEYS", "SORT", "l", "STORE", "limit", "0", "1"),
    ])


def test_by_get_and_nosort(diff):
    check_all(diff, [
        ("RPUSH", "n", "3", "1", "2", "1", "5", "4"),
        ("MSET", "w_3", "30", "w_1", "10", "w_2", "20", "w_5", "x", "o_1", "one", "o_2", "two", "o_3", "three"),
        ("HSET", "h_1", "f", "c", "g", "9"), ("HSET", "h_2", "f", "a"), ("HSET", "h_3", "f", "b", "g", "1"),
        ("SORT", "n", "BY", "nosort"), ("SORT", "n", "BY", "nosort", "DESC"), ("SORT", "n", "BY", "nosort", "LIMIT", "1", "2"),
        ("SORT", "n", "BY", "nosort", "DESC", "LIMIT", "1", "2"), ("SORT", "n", "BY", "nosort", "LIMIT", "4", "10"),
        ("SORT", "n", "BY", "nosort", "DESC", "LIMIT", "4", "10"), ("SORT", "n", "BY", "w_*"),
        ("SORT", "n", "BY", "w_*", "GET", "o_*"), ("SORT", "n", "BY", "w_*", "GET", "#", "GET", "o_*", "GET", "h_*->f"),
        ("SORT", "n", "BY", "h_*->f", "ALPHA"), ("SORT", "n", "BY", "h_*->g"), ("SORT", "n", "BY", "h_*->f"),
        ("SORT", "n", "BY", "h_*->f", "ALPHA", "DESC"), ("SORT", "n", "GET", "h_*->"), ("SORT", "n", "GET", "h_*-"),
        ("SORT", "n", "GET", "nostar"), ("SORT", "n", "GET", "#"), ("SORT", "n", "BY", "nosort", "GET", "o_*", "GET", "w_*"),
        ("SORT", "n", "GET", "o_*->f"), ("SORT", "n", "GET", "h_*"), ("SORT", "n", "BY", "o_*", "ALPHA"),
        ("SORT", "n", "BY", "w_*", "BY", "nosort"), ("SORT", "n", "BY", "nosort", "BY", "w_*"),
        ("SORT", "n", "BY", "#"), ("SORT", "n", "BY", "w_*", "LIMIT", "1", "2"), ("SORT", "n", "BY", "*", "ALPHA"),
        ("SORT_RO", "n", "BY", "w_*", "GET", "o_*", "DESC"),
        # NUL bytes end the pattern for '*', '->' and '#', but the key keeps every byte.
        ("SET", b"pat\x00*x", "5"), ("SORT", "n", "GET", b"pat\x00*"), ("SORT", "n", "BY", b"w_\x00*"),
        ("SORT", "n", "GET", b"#\x00foo"), ("HSET", "hh1", b"\x00", "v"), ("SORT", "n", "GET", b"h*->\x00"),
        ("SET", b"w_1\x00", "7"), ("SORT", "n", "GET", b"w_*\x00"), ("HSET", "h_1", b"f\x00g", "z"),
        ("SORT", "n", "GET", b"h_*->f\x00g"),
    ])


def test_sets_and_sorted_sets(diff):
    check_all(diff, [
        ("SADD", "si", "5", "3", "9", "1", "-2"), ("SORT", "si"), ("SORT", "si", "DESC"), ("SORT", "si", "BY", "nosort"),
        ("SORT", "si", "ALPHA"), ("SORT", "si", "BY", "nosort", "STORE", "d2"), ("LRANGE", "d2", "0", "-1"),
        ("SORT", "si", "BY", "nosort", "DESC", "LIMIT", "1", "2"),
        ("SADD", "ss", "b", "a", "c", "B", "é", b"\xff", "a b"), ("SORT", "ss", "ALPHA"), ("SORT", "ss", "ALPHA", "DESC"),
        ("SORT", "ss", "ALPHA", "STORE", "d3"), ("LRANGE", "d3", "0", "-1"), ("SORT", "ss", "BY", "nosort", "STORE", "d3"),
        ("LRANGE", "d3", "0", "-1"), ("SORT", "ss"),
        ("ZADD", "z", "3", "c", "1", "a", "2", "b", "2", "bb"), ("OBJECT", "ENCODING", "z"), ("SORT", "z", "BY", "nosort"),
        ("OBJECT", "ENCODING", "z"), ("SORT", "z", "BY", "nosort", "DESC"), ("SORT", "z", "BY", "nosort", "LIMIT", "1", "2"),
        ("SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "2"), ("SORT", "z", "ALPHA"),
        ("SORT", "z", "ALPHA", "DESC", "LIMIT", "0", "2"), ("ZADD", "zn", "1", "10", "2", "9", "3", "8"), ("SORT", "zn"),
        ("SORT_RO", "zn", "BY", "nosort"), ("OBJECT", "ENCODING", "zn"), ("SORT", "zn", "BY", "nosort", "STORE", "d4"),
        ("LRANGE", "d4", "0", "-1"),
    ])


def test_ties_keep_redis_order(diff):
    rng = random.Random(1)
    for n in [3, 7, 8, 10, 41, 200]:
        elements = [rng.choice("abcdefg") + str(rng.randrange(5)) for _ in range(n)]
        diff.check("DEL", "t")
        diff.check("RPUSH", "t", *elements)
        for element in elements:
            diff.check("SET", f"wt_{element}", rng.choice("xyz"))
        for window in [("0", "3"), ("1", "2"), ("2", "5"), ("0", str(n)), ("0", str(n - 1)), ("1", str(n))]:
            diff.check("SORT", "t", "BY", "nokey_*", "ALPHA", "LIMIT", *window)
            diff.check("SORT", "t", "BY", "wt_*", "ALPHA", "LIMIT", *window)
            diff.check("SORT", "t", "BY", "wt_*", "ALPHA", "DESC", "LIMIT", *window)
            diff.check("SORT", "t", "BY", "wt_*", "LIMIT", *window)
        diff.check("SORT", "t", "BY", "wt_*", "ALPHA")
        diff.check("SORT", "t", "BY", "nokey_*", "DESC")
    check_all(diff, [
        ("RPUSH", "nul", b"a\x00b", b"a\x00a", "a", b"a\x00c", "a"), ("SORT", "nul", "ALPHA"),
        ("SORT", "nul", "ALPHA", "DESC"), ("SORT", "nul", "ALPHA", "STORE", "d5"), ("LRANGE", "d5", "0", "-1"),
        ("SORT", "nul", "ALPHA", "DESC", "STORE", "d5"), ("LRANGE", "d5", "0", "-1"),
    ])


def test_numbers_read_like_strtod(diff):
    texts = ["1\x00x", "0x1p-1074", " 3", "3 ", "+4", "-0", "1_0", "infinity", "-INF", "1e", "0x1A", "0x", "\t5",
             "2.2250738585072014e-308", "", " ", "0x1.8p1", "0X.8P1", ".5", "5.", "-.5e1", "nan", "nan(12)", "INFINITY",
             "infx", "1.7976931348623158e308", "0x0.0000000000001p-1022", "0e-500", "00000.000e-400", "\v\f\r\n 1",
             "12345678901234567890123", "-9223372036854775808", "0.1", "1e-5"]
    diff.check("RPUSH", "many", *[text for text in texts if text not in ("nan", "nan(12)", "1e", "0x", " ", "1_0",
                                                                      "3 ", "infx")])
    diff.check("SORT", "many")
    diff.check("SORT", "many", "DESC")
    for text in texts:
        check_all(diff, [("DEL", "one"), ("RPUSH", "one", text, "1"), ("SORT", "one"), ("SORT", "one", "DESC")])


def test_out_of_range_numbers_fail(redis_server, ember):
    for text in ["1e400", "-1e400", "1e-400", "4.9e-324", "1e-310", "2.2250738585072011e-308", "1.7976931348623159e308",
                 "0x1p-1075", "0x1.0000000000001p-1074", "1e-324", "0x1p99999"]:
        differ = Differ(redis_server.port, ember.port)  # a new connection clears Redis's stale errno
        check_all(differ, [("DEL", "one"), ("RPUSH", "one", "1", text), ("SORT", "one", "ALPHA"), ("SORT", "one")])
        differ.close()


def test_store(diff):
    big = [f"element-{i:05}" for i in range(1000)]  # past one 8 KB listpack: a quicklist in 7.0 and 7.2
    check_all(diff, [
        ("RPUSH", "n", "3", "1", "2"), ("MSET", "o_1", "one", "o_3", "three"), ("SET", "dst", "x"), ("EXPIRE", "dst", "100"),
        ("SORT", "n", "STORE", "dst"), ("TYPE", "dst"), ("TTL", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SORT", "n", "GET", "o_*", "GET", "#", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SORT", "n", "LIMIT", "5", "1", "STORE", "dst"), ("EXISTS", "dst"), ("SORT", "nokey", "STORE", "dst"),
        ("SORT", "n", "STORE", "a", "STORE", "b"), ("EXISTS", "a"), ("LRANGE", "b", "0", "-1"),
        ("SORT", "n", "STORE", "n"), ("LRANGE", "n", "0", "-1"),
        ("RPUSH", "big", *big), ("SORT", "big", "STORE", "bs"), ("OBJECT", "ENCODING", "bs"), ("LLEN", "bs"),
        ("SORT", "big", "ALPHA", "DESC", "LIMIT", "10", "5", "STORE", "bs"), ("LRANGE", "bs", "0", "-1"),
    ])


def test_keyspace_events(diff, redis_server, ember):
    commands = [
        ("RPUSH", "l", "2", "1"), ("SORT", "l", "STORE", "d"), ("SORT", "l", "STORE", "d"), ("SORT", "l"),
        ("SORT", "nokey", "STORE", "d"), ("SORT", "nokey", "STORE", "d"), ("ZADD", "z", "1", "a"), ("SORT", "z", "ALPHA"),
    ]
    expected = _keyspace_events(redis_server.port, commands)
    diff.check("FLUSHALL")
    assert _keyspace_events(ember.port, commands) == expected


def test_script_sorts_sets_deterministically(diff):
    check_all(diff, [
        ("SADD", "s", "c", "a", "b", "10", "9"),
        ("EVAL", "return redis.call('SORT', KEYS[1], 'BY', 'nosort')", "1", "s"),
        ("EVAL", "return redis.call('SORT_RO', KEYS[1], 'BY', 'nosort', 'DESC', 'LIMIT', 1, 3)", "1", "s"),
    ])


# -- random data and commands ---------------------------------------------------------------------

ELEMENT = st.sampled_from(["1", "2", "10", "-3", "2.5", "1e1", "0", "-0", "inf", "a", "b", "B", "ab", "é", "",
                           "07", "3", "x y"])
KEY = st.sampled_from(["l1", "l2", "i1"])
WEIGHT = st.sampled_from(["1", "2", "3", "10", "-1", "0.5", "a", "b", ""])

data_ops = st.one_of(
    st.builds(lambda key, items: ("RPUSH", key, *items), st.sampled_from(["l1", "l2"]), st.lists(ELEMENT, min_size=1, max_size=12)),
    st.builds(lambda items: ("SADD", "i1", *items), st.lists(st.integers(-20, 20).map(str), min_size=1, max_size=10)),
    st.builds(lambda element, weight: ("SET", f"w_{element}", weight), ELEMENT, WEIGHT),
    st.builds(lambda element, weight: ("HSET", f"h_{element}", "f", weight), ELEMENT, WEIGHT),
    st.builds(lambda element, value: ("SET", f"g_{element}", value), ELEMENT, ELEMENT),
)


@st.composite
def sort_commands(draw):
    args = [draw(st.sampled_from(["SORT", "SORT_RO"])), draw(KEY)]
    if draw(st.booleans()):
        args += ["BY", draw(st.sampled_from(["w_*", "h_*->f", "nosort", "missing_*"]))]
    if draw(st.booleans()):
        args += ["LIMIT", str(draw(st.integers(-2, 8))), str(draw(st.integers(-2, 8)))]
    for _ in range(draw(st.integers(0, 2))):
        args += ["GET", draw(st.sampled_from(["#", "g_*", "h_*->f", "w_*"]))]
    if draw(st.booleans()):
        args.append("ALPHA")
    if draw(st.booleans()):
        args.append(draw(st.sampled_from(["ASC", "DESC"])))
    if args[0] == "SORT" and draw(st.booleans()):
        args += ["STORE", "dest"]
    return tuple(args)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=FUNCTION_FIXTURE)
@given(st.lists(data_ops, min_size=1, max_size=12), st.lists(sort_commands(), min_size=1, max_size=8))
def test_random_sorts(diff, data, commands):
    diff.check("FLUSHALL")
    check_all(diff, data)
    for args in commands:
        diff.check(*args)
        if "STORE" in args:
            diff.check("LRANGE", "dest", "0", "-1")
