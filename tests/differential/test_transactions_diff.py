"""Transactions compared byte for byte with redis-server: MULTI/EXEC/DISCARD/WATCH/UNWATCH edge
cases in RESP2 and RESP3, WATCH touched by a second connection, and hypothesis-generated
interleavings of two connections (one watching and queuing, both writing) whose every reply must
match. Time-based expiry stays out of the random sequences so that they are deterministic; the
expiry rules of WATCH are checked in tests/integration/test_transactions.py (also against Redis).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .harness import Differ


@pytest.fixture
def pair(diff, redis_server, ember):
    """Two connections per server: `diff` (A) and a second one (B)."""
    second = Differ(redis_server.port, ember.port)
    yield diff, second
    second.close()


def check_all(differ: Differ, commands) -> None:
    for args in commands:
        differ.check(*args)


def test_queuing_and_exec_replies(diff):
    check_all(diff, [
        ("MULTI",), ("SET", "a", "1"), ("INCR", "a"), ("LPUSH", "a", "x"), ("GET", "a"), ("EXEC",),
        ("MULTI",), ("EXEC",), ("EXEC",), ("DISCARD",), ("MULTI",), ("MULTI",), ("WATCH", "a"), ("PING",), ("EXEC",),
        ("MULTI",), ("SET", "b", "1"), ("DISCARD",), ("GET", "b"), ("WATCH",), ("UNWATCH",), ("UNWATCH", "x"),
        ("MULTI", "x"), ("DISCARD", "x"),
    ])


def test_refused_exec_aborts_the_transaction(diff):
    check_all(diff, [("MULTI",), ("SET", "a", "1"), ("EXEC", "x"), ("EXEC",), ("GET", "a"), ("EXEC", "x")])


@pytest.mark.parametrize("bad", [
    ("NOSUCH", "a", "b"), ("GET",), ("SET", "a"), ("CONFIG", "NOSUCH"), ("CLIENT",), ("OBJECT", "x", "y"),
    ("SUBSCRIBE",), ("EVAL",),
])
def test_queuing_errors_abort(diff, bad):
    check_all(diff, [("MULTI",), ("SET", "a", "1"), bad, ("SET", "b", "2"), ("EXEC",), ("EXISTS", "a", "b")])


def test_runtime_errors_inside_exec(diff):
    check_all(diff, [
        ("SET", "s", "text"), ("MULTI",), ("INCR", "s"), ("LPUSH", "s", "x"), ("SET", "n", "1"), ("INCRBY", "n", "x"),
        ("HSET", "s", "f", "v"), ("EVAL", "return redis.call('incr', 's')", "0"), ("GET", "n"), ("EXEC",),
    ])


def test_resp3_exec(diff, pair):
    first, second = pair
    first.both("HELLO", "3")  # (the versions differ)
    check_all(first, [("MULTI",), ("HSET", "h", "f", "v"), ("HGETALL", "h"), ("ZADD", "z", "1.5", "m"),
                      ("ZSCORE", "z", "m"), ("EXEC",), ("WATCH", "h")])
    second.check("DEL", "h")
    check_all(first, [("MULTI",), ("PING",), ("EXEC",)])


def test_blocking_and_special_commands_inside_exec(diff):
    check_all(diff, [
        ("MULTI",), ("BLPOP", "none", "0"), ("BRPOPLPUSH", "none", "d", "0"), ("BLMOVE", "none", "d", "LEFT", "LEFT", "0"),
        ("BZPOPMIN", "none", "0"), ("XREAD", "BLOCK", "0", "STREAMS", "none", "$"), ("WAIT", "0", "0"), ("EXEC",),
        ("MULTI",), ("SUBSCRIBE", "c"), ("EXEC",), ("UNSUBSCRIBE", "c"),
    ])
    check_all(diff, [("MULTI",), ("SSUBSCRIBE", "c"), ("EXEC",), ("MULTI",), ("PSUBSCRIBE", "p"), ("EXEC",),
                     ("PUNSUBSCRIBE",)])


def test_watch_touched_by_another_connection(pair):
    first, second = pair
    for change in [("SET", "k", "2"), ("DEL", "k"), ("EXPIRE", "k", "100"), ("RENAME", "k", "k2"), ("FLUSHDB",),
                   ("FLUSHALL",), ("SWAPDB", "0", "1"), ("MOVE", "k", "1"), ("LPUSH", "other", "x"),
                   ("EVAL", "redis.call('set', KEYS[1], 'x')", "1", "k"), ("SELECT", "1"), ("SET", "k", "db1")]:
        check_all(first, [("FLUSHALL",), ("SET", "k", "1"), ("WATCH", "k", "absent")])
        second.check(*change)
        check_all(first, [("MULTI",), ("GET", "k"), ("EXEC",)])
        second.check("SELECT", "0")


def test_reset_and_unwatch_forget(pair):
    first, second = pair
    check_all(first, [("WATCH", "k"), ("UNWATCH",)])
    second.check("SET", "k", "1")
    check_all(first, [("MULTI",), ("PING",), ("EXEC",), ("WATCH", "k"), ("MULTI",), ("RESET",)])
    second.check("SET", "k", "2")
    check_all(first, [("MULTI",), ("PING",), ("EXEC",)])


# -- random interleavings of two connections -------------------------------------------------------

KEYS = ("k", "j")
connection_index = st.sampled_from([0, 0, 1])
key = st.sampled_from(KEYS)
operation = st.one_of(
    st.tuples(st.just("MULTI")), st.tuples(st.just("EXEC")), st.tuples(st.just("DISCARD")),
    st.tuples(st.just("WATCH"), key), st.tuples(st.just("WATCH"), key, key), st.tuples(st.just("UNWATCH")),
    st.tuples(st.just("SET"), key, st.sampled_from(["1", "x"])), st.tuples(st.just("INCR"), key),
    st.tuples(st.just("DEL"), key), st.tuples(st.just("GET"), key), st.tuples(st.just("LPUSH"), key, st.just("v")),
    st.tuples(st.just("EXPIRE"), key, st.just("100")), st.tuples(st.just("PERSIST"), key),
    st.tuples(st.just("RENAME"), key, key), st.tuples(st.just("SELECT"), st.sampled_from(["0", "1"])),
    st.tuples(st.just("SWAPDB"), st.just("0"), st.just("1")), st.tuples(st.just("FLUSHDB")),
    st.tuples(st.just("NOSUCH")), st.tuples(st.just("GET")), st.tuples(st.just("PING")), st.tuples(st.just("RESET")),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(connection_index, operation), min_size=1, max_size=25))
def test_random_interleavings(pair, steps):
    connections = pair
    for connection in connections:
        connection.check("RESET")
    connections[0].check("FLUSHALL")
    for index, args in steps:
        connections[index].check(*args)
    for connection in connections:  # leave no transaction open for the next example
        connection.check("RESET")


# -- pipelines: state changes in the middle of one read ------------------------------------------

# Commands whose effect on the connection (MULTI, CLIENT REPLY, SELECT, errors) decides how the
# commands after them in the same read are run: Ember runs key commands of a client in the usual
# state without the admission checks, and must notice every change of state mid-batch.
PIPELINED = st.sampled_from([
    ("MULTI",), ("EXEC",), ("DISCARD",), ("WATCH", "k"), ("UNWATCH",), ("SET", "k", "1"), ("GET", "k"),
    ("INCR", "k"), ("INCRBY", "k", "x"), ("LPUSH", "l", "x"), ("GET", "l"), ("GET",), ("SET", "k"),
    ("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "ON"), ("CLIENT", "REPLY", "SKIP"), ("PING",),
    ("PING", "a", "b"), ("ECHO", "x"), ("SELECT", "1"), ("SELECT", "0"), ("EXISTS", "k", "l"), ("DEL", "k"),
    ("MGET", "k", "l"), ("NOSUCH",), ("EVAL", "return redis.call('incr', KEYS[1])", "1", "k"),
])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(PIPELINED, min_size=1, max_size=20), st.sampled_from(["2", "3"]))
def test_pipelined_state_changes(diff, commands, protocol):
    diff.both("FLUSHALL")
    diff.both("HELLO", protocol)  # (the version fields differ; RESET at the end goes back to 2)
    diff.check_pipeline(commands)


def test_pipelined_transaction_with_refused_commands(diff):
    diff.check_pipeline([
        ("MULTI",), ("SET", "k", "1"), ("WATCH", "k"), ("GET",), ("INCR", "k"), ("EXEC",), ("GET", "k"),
        ("MULTI",), ("SET", "k", "2"), ("PING",), ("EXEC",), ("GET", "k"),
    ])
