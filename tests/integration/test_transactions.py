"""MULTI/EXEC/DISCARD/WATCH/UNWATCH against a real Ember, with redis-py (RESP2 and RESP3) and raw
sockets where the exact bytes matter.

WATCH is exercised through every path that changes a key: writes from this and other clients,
expiry (lazy, active, and expired-but-not-yet-deleted at EXEC time), FLUSHDB/FLUSHALL, SWAPDB,
RENAME, scripts; keys of another database; and the Redis 7 rules that keep a key that was
already expired at WATCH time from dirtying the transaction when it is deleted. Races between
threads are bounded in rounds and time.
"""

from __future__ import annotations

import threading
import time

import pytest
import redis

from tests.conftest import start_ember, wait_until
from tests.differential.harness import RawConnection, decode, encode_command

EXECABORT = "EXECABORT Transaction discarded because of previous errors."


@pytest.fixture(scope="module")
def ember(tmp_path_factory):
    """DEBUG SET-ACTIVE-EXPIRE lets the expiry tests choose between lazy and active expiry."""
    server = start_ember(tmp_path_factory.mktemp("ember"), "--enable-debug-command", "yes")
    yield server
    server.stop()


@pytest.fixture
def raw(ember, r):
    connection = RawConnection(ember.port)
    yield connection
    connection.close()


@pytest.fixture
def other(ember):
    client = ember.client()
    yield client
    client.close()


def exec_watched(connection: RawConnection, *commands) -> object:
    """MULTI, the commands, EXEC on a connection that WATCHed keys: EXEC's reply, None if aborted."""
    assert connection.call("MULTI") == b"+OK\r\n"
    for command in commands:
        assert connection.call(*command) == b"+QUEUED\r\n"
    return decode(connection.call("EXEC"))


@pytest.fixture
def active_expire_off(r):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    yield
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")


# -- basics ---------------------------------------------------------------------------------------


def test_pipeline_transaction_runs_atomically(r):
    pipe = r.pipeline(transaction=True)
    pipe.set("a", 1).incr("a").lpush("l", "x", "y").lrange("l", 0, -1)
    assert pipe.execute() == [True, 2, 2, [b"y", b"x"]]


def test_replies_while_queuing_and_exec_array(raw):
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "a", "1") == b"+QUEUED\r\n"
    assert raw.call("GET", "a") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*2\r\n+OK\r\n$1\r\n1\r\n"
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("EXEC") == b"*0\r\n"


@pytest.mark.parametrize("bad", [("NOSUCHCOMMAND", "x"), ("GET",), ("SET", "a"), ("CONFIG", "NOSUCH")])
def test_queuing_error_aborts_exec(raw, r, bad):
    raw.call("MULTI")
    assert raw.call("SET", "kept", "no") == b"+QUEUED\r\n"
    assert raw.call(*bad).startswith(b"-ERR ")
    assert raw.call("SET", "also", "no") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"-" + EXECABORT.encode() + b"\r\n"
    assert r.exists("kept", "also") == 0
    assert raw.call("EXEC") == b"-ERR EXEC without MULTI\r\n"  # the transaction is over


def test_runtime_errors_go_inside_the_exec_array(r):
    r.set("s", "text")
    pipe = r.pipeline(transaction=True)
    pipe.set("a", "1").incr("s").lpush("s", "x").incr("a")
    results = pipe.execute(raise_on_error=False)
    assert results[0] is True and results[3] == 2
    assert isinstance(results[1], redis.ResponseError) and str(results[1]) == "value is not an integer or out of range"
    assert str(results[2]) == "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_control_command_errors(raw):
    assert raw.call("EXEC") == b"-ERR EXEC without MULTI\r\n"
    assert raw.call("DISCARD") == b"-ERR DISCARD without MULTI\r\n"
    raw.call("MULTI")
    # Neither error dooms the transaction: they are not queuing errors.
    assert raw.call("MULTI") == b"-ERR MULTI calls can not be nested\r\n"
    assert raw.call("WATCH", "k") == b"-ERR WATCH inside MULTI is not allowed\r\n"
    assert raw.call("PING") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*1\r\n+PONG\r\n"


def test_discard_drops_the_queue(raw, r):
    raw.call("MULTI")
    raw.call("SET", "a", "1")
    assert raw.call("DISCARD") == b"+OK\r\n"
    assert r.exists("a") == 0
    assert raw.call("EXEC") == b"-ERR EXEC without MULTI\r\n"


def test_no_multi_commands_are_refused_and_abort(raw):
    raw.call("MULTI")
    assert raw.call("WATCH", "x") == b"-ERR WATCH inside MULTI is not allowed\r\n"
    error = raw.call("SUBSCRIBE")  # wrong arity: a queuing error
    assert error.startswith(b"-ERR wrong number of arguments")
    assert raw.call("EXEC").startswith(b"-EXECABORT")


def test_blocking_commands_do_not_block_inside_exec(raw):
    raw.call("MULTI")
    raw.call("BLPOP", "nolist", "0")
    raw.call("BRPOPLPUSH", "nolist", "dst", "0")
    raw.call("BZPOPMIN", "nozset", "0")
    assert raw.call("EXEC") == b"*3\r\n*-1\r\n$-1\r\n*-1\r\n"


def test_exec_null_reply_in_resp3(ember, r):
    client = ember.client(protocol=3)
    try:
        client.execute_command("WATCH", "k")
        r.set("k", "changed")
        client.execute_command("MULTI")
        assert client.execute_command("EXEC") is None
    finally:
        client.close()
    connection = RawConnection(ember.port)
    try:
        connection.call("HELLO", "3")
        connection.call("WATCH", "k")
        r.set("k", "again")
        connection.call("MULTI")
        assert connection.call("EXEC") == b"_\r\n"
    finally:
        connection.close()


def _client_line(observer: redis.Redis, name: str) -> dict[str, str]:
    return next(c for c in observer.client_list() if c["name"] == name)


def test_client_list_shows_multi_and_dirty_flags(raw, other):
    raw.call("CLIENT", "SETNAME", "tx")
    raw.call("WATCH", "k")
    assert "d" not in _client_line(other, "tx")["flags"]
    raw.call("MULTI")
    raw.call("PING")
    raw.call("PING")
    line = _client_line(other, "tx")
    assert line["flags"] == "x" and line["multi"] == "2"
    other.set("k", "v")
    assert _client_line(other, "tx")["flags"] == "xd"
    assert decode(raw.call("EXEC")) is None
    line = _client_line(other, "tx")
    assert line["flags"] == "N" and line["multi"] == "-1"


def test_doomed_transaction_keeps_no_commands(raw, other):
    raw.call("CLIENT", "SETNAME", "doomed")
    raw.call("WATCH", "k")
    other.set("k", "v")
    raw.call("MULTI")
    raw.call("PING")
    assert _client_line(other, "doomed")["multi"] == "0"
    raw.call("NOSUCHCOMMAND")
    raw.call("PING")
    assert _client_line(other, "doomed")["multi"] == "0"


# -- WATCH -----------------------------------------------------------------------------------------


def test_watch_without_changes_lets_exec_run(raw, r):
    r.set("k", "1")
    raw.call("WATCH", "k", "missing")
    assert exec_watched(raw, ("INCR", "k")) == [2]


def test_write_by_another_client_aborts(raw, r, other):
    raw.call("WATCH", "k")
    other.set("k", "x")
    assert exec_watched(raw, ("SET", "k", "mine")) is None
    assert r.get("k") == b"x"


def test_own_write_before_multi_aborts(raw):
    raw.call("WATCH", "k")
    raw.call("SET", "k", "x")
    assert exec_watched(raw, ("PING",)) is None


def test_watch_is_per_database(raw, r, other):
    raw.call("WATCH", "k")
    other.execute_command("SELECT", "1")
    other.set("k", "elsewhere")
    assert exec_watched(raw, ("PING",)) == [b"PONG"]


def test_watch_in_another_database_is_touched_there(raw, r, other):
    raw.call("SELECT", "3")
    raw.call("WATCH", "k")
    raw.call("SELECT", "0")
    other.execute_command("SELECT", "3")
    other.set("k", "x")
    assert exec_watched(raw, ("PING",)) is None


def test_no_op_writes_do_not_touch(raw, r, other):
    r.sadd("s", "a")
    raw.call("WATCH", "s", "absent")
    other.sadd("s", "a")  # already a member: nothing changes
    other.delete("absent")  # nothing to delete
    other.srem("s", "zzz")
    assert exec_watched(raw, ("PING",)) == [b"PONG"]


@pytest.mark.parametrize("change", [
    ("DEL", "k"), ("EXPIRE", "k", "100"), ("PERSIST", "k"), ("APPEND", "k", "x"), ("RENAME", "k", "k2"),
    ("RENAME", "src", "k"), ("MOVE", "k", "5"), ("COPY", "src", "k", "REPLACE"), ("FLUSHDB",), ("FLUSHALL",),
    ("SWAPDB", "0", "1"), ("EVAL", "redis.call('set', KEYS[1], 'lua')", "1", "k"), ("UNLINK", "k"),
    ("GETDEL", "k"), ("SET", "k", "same"),
])
def test_changes_that_touch_a_watched_key(raw, r, other, change):
    r.set("k", "same", ex=1000)
    r.set("src", "s")
    raw.call("WATCH", "k")
    other.execute_command(*change)
    assert exec_watched(raw, ("PING",)) is None


def test_flush_does_not_touch_a_watched_key_that_does_not_exist(raw, r, other):
    r.set("unrelated", "1")
    raw.call("WATCH", "k")
    other.flushdb()
    other.flushall()
    assert exec_watched(raw, ("PING",)) == [b"PONG"]


def test_swapdb_touches_keys_that_exist_on_either_side(raw, r, other):
    other.execute_command("SELECT", "1")
    other.set("k", "in db 1")
    raw.call("WATCH", "k", "neither")
    other.execute_command("SWAPDB", "0", "1")
    assert exec_watched(raw, ("PING",)) is None
    raw.call("WATCH", "neither")
    other.execute_command("SWAPDB", "0", "1")
    assert exec_watched(raw, ("PING",)) == [b"PONG"]


def test_key_expiring_after_watch_aborts_even_before_deletion(raw, r, active_expire_off):
    r.set("k", "v", px=50)
    raw.call("WATCH", "k")
    wait_until(lambda: r.pttl("k") == -2, message="key logically expired")
    assert exec_watched(raw, ("PING",)) is None


def test_key_expired_by_active_cycle_aborts(raw, r):
    expired_before = r.info("stats")["expired_keys"]
    r.set("k", "v", px=30)
    raw.call("WATCH", "k")
    wait_until(lambda: r.info("stats")["expired_keys"] > expired_before, message="active expiry")
    assert exec_watched(raw, ("PING",)) is None


def test_key_already_expired_at_watch_time_is_no_change(raw, r, other, active_expire_off):
    r.set("k", "v", px=1)
    wait_until(lambda: other.pttl("k") == -2, message="expired")  # PTTL does not delete
    raw.call("WATCH", "k")
    assert other.get("k") is None  # the lazy deletion of an already expired key
    assert exec_watched(raw, ("PING",)) == [b"PONG"]
    r.set("k2", "v", px=1)
    wait_until(lambda: other.pttl("k2") == -2, message="expired")
    raw.call("WATCH", "k2")
    other.set("k2", "new")  # but replacing it is a change
    assert exec_watched(raw, ("PING",)) is None


def test_flush_of_an_already_expired_watched_key_is_no_change(raw, r, other, active_expire_off):
    r.set("k", "v", px=1)
    wait_until(lambda: other.pttl("k") == -2, message="expired")
    raw.call("WATCH", "k")
    other.flushall()
    assert exec_watched(raw, ("PING",)) == [b"PONG"]


@pytest.mark.parametrize("ender", [("EXEC",), ("DISCARD",), ("UNWATCH",), ("RESET",)])
def test_exec_discard_unwatch_and_reset_forget_watched_keys(raw, r, other, ender):
    raw.call("WATCH", "k")
    if ender[0] in ("EXEC", "DISCARD"):
        raw.call("MULTI")
    raw.call(*ender)
    other.set("k", "changed later")
    assert exec_watched(raw, ("PING",)) == [b"PONG"]


def test_unwatch_clears_a_dirty_client(raw, r, other):
    raw.call("WATCH", "k")
    other.set("k", "x")
    raw.call("UNWATCH")
    assert exec_watched(raw, ("PING",)) == [b"PONG"]


def test_watch_while_dirty_stays_dirty(raw, r, other):
    raw.call("WATCH", "a")
    other.set("a", "x")
    raw.call("WATCH", "b")
    assert exec_watched(raw, ("PING",)) is None


def test_reset_leaves_multi(raw, r):
    raw.call("MULTI")
    raw.call("SET", "a", "1")
    assert raw.call("RESET") == b"+RESET\r\n"
    assert raw.call("EXEC") == b"-ERR EXEC without MULTI\r\n"
    assert r.exists("a") == 0


def test_disconnect_forgets_watches(ember, r):
    client = ember.client()
    client.execute_command("WATCH", *[f"key{i}" for i in range(100)])
    client.close()
    r.set("key1", "x")  # touching keys of a gone client must not fail
    assert r.get("key1") == b"x"


def test_redis_py_transaction_helper_retries_after_conflict(ember, r, other):
    r.set("counter", 0)
    attempts = []

    def body(pipe: redis.client.Pipeline) -> None:
        value = int(pipe.get("counter"))
        attempts.append(value)
        if len(attempts) == 1:
            other.incr("counter")  # a conflicting write between WATCH and EXEC
        pipe.multi()
        pipe.set("counter", value + 10)

    r.transaction(body, "counter")
    assert len(attempts) == 2
    assert r.get("counter") == b"11"


def test_concurrent_optimistic_increments_lose_nothing(ember, r):
    """Threads increment one counter with WATCH/GET/MULTI/SET/EXEC; conflicts retry. Bounded."""
    r.set("n", 0)
    threads, per_thread = 4, 50
    deadline = time.monotonic() + 60
    conflicts = []

    def worker() -> None:
        client = ember.client()
        try:
            done = 0
            while done < per_thread and time.monotonic() < deadline:
                with client.pipeline() as pipe:
                    try:
                        pipe.watch("n")
                        value = int(pipe.get("n"))
                        pipe.multi()
                        pipe.set("n", value + 1)
                        pipe.execute()
                        done += 1
                    except redis.WatchError:
                        conflicts.append(1)
        finally:
            client.close()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=90)
    assert int(r.get("n")) == threads * per_thread


def test_subscribe_inside_multi_answers_like_redis(raw):
    """Backward compatibility: allowed, and like Redis the array counts one reply per command."""
    raw.call("MULTI")
    raw.call("SUBSCRIBE", "a", "b")
    assert raw.call("EXEC") == b"*1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
    assert raw.read_reply() == b"*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"
    assert raw.call("MULTI").startswith(b"-ERR Can't execute 'multi'")  # now a subscriber
    assert raw.call("RESET") == b"+RESET\r\n"
    raw.call("MULTI")
    assert raw.call("SSUBSCRIBE", "s") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*1\r\n-ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client\r\n"


def test_client_reply_off_silences_the_whole_exec(raw, r):
    for args in (("CLIENT", "REPLY", "OFF"), ("MULTI",), ("SET", "a", "1"), ("GET", "a"), ("EXEC",)):
        raw.sock.sendall(encode_command(args))
    assert raw.call("CLIENT", "REPLY", "ON") == b"+OK\r\n"  # the first reply since OFF
    assert r.get("a") == b"1"
