"""Blocking list commands (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP) with several real redis-py
clients in threads.

Every ordering is made deterministic by waiting on the server's own state: a waiter counts as
blocked once INFO's blocked_clients (or CLIENT LIST's `b` flag) shows it, and results are read
from the threads; nothing sleeps to let things happen.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import redis

from ember.protocol.errors import WRONGTYPE
from tests.conftest import wait_until
from tests.differential.harness import RawConnection, encode_command


def blocked_clients(client: redis.Redis) -> int:
    info = client.info("clients")
    if "blocked_clients" in info:
        return int(info["blocked_clients"])
    return sum("b" in entry["flags"] for entry in client.client_list())


def wait_blocked(client: redis.Redis, count: int) -> None:
    wait_until(lambda: blocked_clients(client) == count, message=f"{count} blocked clients")


def as_lists(reply: Any) -> Any:
    """redis-py turns some array replies into tuples; compare them as lists."""
    if isinstance(reply, (list, tuple)):
        return [as_lists(item) for item in reply]
    return reply


def server_has(ember, name: str) -> bool:
    """Whether the server implements a command (COMMAND INFO answers nil for unknown ones)."""
    connection = RawConnection(ember.port)
    try:
        reply = connection.call("COMMAND", "INFO", name)
    finally:
        connection.close()
    return reply.startswith(b"*1\r\n*") and reply != b"*1\r\n*-1\r\n"


class Waiter(threading.Thread):
    """One client running one (blocking) command in a thread."""

    def __init__(self, ember, *command: Any, protocol: int = 2, db: int = 0) -> None:
        super().__init__(daemon=True)
        self.client = ember.client(protocol=protocol, db=db)
        self.id = self.client.client_id()
        self.command = command
        self.result: Any = None
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            self.result = self.client.execute_command(*self.command)
        except Exception as exc:  # the test inspects it
            self.error = exc

    def outcome(self, timeout: float = 10.0) -> Any:
        self.join(timeout)
        assert not self.is_alive(), f"{self.command} is still blocked"
        self.client.close()
        if self.error is not None:
            raise self.error
        return as_lists(self.result)


def block(ember, r: redis.Redis, *command: Any, **kwargs: Any) -> Waiter:
    """Start a waiter and return once the server counts it as blocked."""
    already = blocked_clients(r)
    waiter = Waiter(ember, *command, **kwargs)
    waiter.start()
    wait_blocked(r, already + 1)
    return waiter


@pytest.fixture
def needs_multi(ember):
    if not server_has(ember, "multi"):
        pytest.skip("MULTI/EXEC is not implemented yet")


# -- order and keys ---------------------------------------------------------------------------

def test_three_waiters_are_served_in_the_order_they_blocked(ember, r):
    waiters = [block(ember, r, "BLPOP", "q", 0) for _ in range(3)]
    assert r.rpush("q", "a", "b", "c") == 3
    assert [w.outcome() for w in waiters] == [[b"q", b"a"], [b"q", b"b"], [b"q", b"c"]]
    assert r.exists("q") == 0
    assert blocked_clients(r) == 0


def test_one_push_serves_only_the_oldest_waiter(ember, r):
    first = block(ember, r, "BRPOP", "q", 0)
    second = block(ember, r, "BRPOP", "q", 0)
    r.rpush("q", "x")
    assert first.outcome() == [b"q", b"x"]
    assert blocked_clients(r) == 1
    r.rpush("q", "y")
    assert second.outcome() == [b"q", b"y"]


def test_keys_are_tried_left_to_right(ember, r):
    r.rpush("q6", "low")
    r.rpush("q3", "mid")
    assert r.brpop(["q0", "q3", "q6"], 1) == (b"q3", b"mid")  # kombu's priority queues rely on this
    waiter = block(ember, r, "BLPOP", "q0", "q3", 0)
    r.rpush("q3", "again")
    assert waiter.outcome() == [b"q3", b"again"]


def test_woken_waiter_rescans_keys_from_the_left(ember, r, needs_multi):
    """Redis 7.2 re-runs the command of a woken client: a key earlier in its list that got
    elements in the same transaction wins over the key that woke it."""
    waiter = block(ember, r, "BLPOP", "a", "b", 0)
    with r.pipeline(transaction=True) as pipe:
        pipe.rpush("b", "x")
        pipe.rpush("a", "y")
        pipe.execute()
    assert waiter.outcome() == [b"a", b"y"]
    assert r.lrange("b", 0, -1) == [b"x"]


def test_same_key_given_twice(ember, r):
    waiter = block(ember, r, "BLPOP", "l1", "l2", "l2", "l1", 0)
    r.lpush("l2", "b")
    assert waiter.outcome() == [b"l2", b"b"]
    assert blocked_clients(r) == 0
    r.lpush("l1", "a")
    r.lpush("l2", "b")
    assert r.blpop(["l1", "l2", "l2", "l1"], 0) == (b"l1", b"a")


def test_blmpop_waiters(ember, r, needs_multi):
    rd1 = block(ember, r, "BLMPOP", 0, 2, "blist", "blist2", "LEFT", "COUNT", 1)
    rd2 = block(ember, r, "BLMPOP", 0, 2, "blist", "blist2", "RIGHT", "COUNT", 10)
    rd3 = block(ember, r, "BLMPOP", 0, 2, "blist", "blist2", "LEFT", "COUNT", 10)
    rd4 = block(ember, r, "BLMPOP", 0, 2, "blist", "blist2", "RIGHT", "COUNT", 1)
    with r.pipeline(transaction=True) as pipe:
        pipe.lpush("blist", "a", "b", "c", "d", "e")
        pipe.lpush("blist2", "1", "2", "3", "4", "5")
        pipe.execute()
    assert rd1.outcome() == [b"blist", [b"e"]]
    assert rd2.outcome() == [b"blist", [b"a", b"b", b"c", b"d"]]
    assert rd3.outcome() == [b"blist2", [b"5", b"4", b"3", b"2", b"1"]]
    assert blocked_clients(r) == 1
    r.lpush("blist2", "1", "2", "3")
    assert rd4.outcome() == [b"blist2", [b"1"]]


# -- timeouts ------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    ("BLPOP", "nokey", "other"), ("BRPOP", "nokey"), ("BLMPOP", None, 1, "nokey", "LEFT"),
    ("BLMOVE", "nokey", "dst", "LEFT", "RIGHT"), ("BRPOPLPUSH", "nokey", "dst"),
])
def test_fractional_timeout_returns_null(ember, r, command):
    timeout = 0.25
    args = [timeout if part is None else part for part in command]
    if command[0] != "BLMPOP":
        args.append(timeout)
    started = time.monotonic()
    assert r.execute_command(*args) is None
    elapsed = time.monotonic() - started
    # The event loop's timers have millisecond granularity, so allow a hair under the timeout.
    assert timeout - 0.005 <= elapsed < timeout + 5
    assert r.exists("dst") == 0


def test_tiny_timeout_still_times_out(ember, r):
    assert r.blpop(["nokey"], 0.001) is None
    assert r.execute_command("BLPOP", "nokey", "0.0001") is None


def test_timeout_reply_shapes(ember, r):
    for protocol, expected in ((2, b"*-1\r\n"), (3, b"_\r\n")):
        connection = RawConnection(ember.port)
        if protocol == 3:
            connection.call("HELLO", "3")
        assert connection.call("BLPOP", "nokey", "0.01") == expected
        assert connection.call("BLMOVE", "nokey", "d", "LEFT", "LEFT", "0.01") == expected
        connection.close()


def test_zero_timeout_waits_for_a_push(ember, r):
    waiter = block(ember, r, "BRPOPLPUSH", "src", "dst", 0)
    assert waiter.is_alive()
    r.rpush("src", "foo")
    assert waiter.outcome() == b"foo"
    assert r.lrange("dst", 0, -1) == [b"foo"]


# -- disconnects, unblocking ---------------------------------------------------------------------

def test_client_that_disconnects_while_blocked_never_takes_an_element(ember, r):
    connection = RawConnection(ember.port)
    connection.sock.sendall(encode_command(("BLPOP", "q", "0")))
    wait_blocked(r, 1)
    survivor = block(ember, r, "BLPOP", "q", 0)
    connection.close()
    wait_blocked(r, 1)  # the server has dropped the disconnected waiter
    r.rpush("q", "x", "y")
    assert survivor.outcome() == [b"q", b"x"]
    connection = RawConnection(ember.port)
    connection.sock.sendall(encode_command(("BLPOP", "q2", "0")))
    wait_blocked(r, 1)
    connection.close()
    wait_blocked(r, 0)
    r.rpush("q2", "kept")
    assert r.lrange("q2", 0, -1) == [b"kept"]
    assert r.lrange("q", 0, -1) == [b"y"]


def test_client_unblock(ember, r):
    if not server_has(ember, "client"):
        pytest.skip("CLIENT is not implemented yet")
    waiter = block(ember, r, "BLPOP", "l", 0)
    assert r.client_unblock(waiter.id) == 1
    assert waiter.outcome() is None
    waiter = block(ember, r, "BLMPOP", 0, 1, "l", "RIGHT")
    assert r.execute_command("CLIENT", "UNBLOCK", waiter.id, "TIMEOUT") == 1
    assert waiter.outcome() is None
    waiter = block(ember, r, "BLMOVE", "l", "d", "LEFT", "LEFT", 0)
    assert r.client_unblock(waiter.id, error=True) == 1
    with pytest.raises(redis.ResponseError, match="UNBLOCKED client unblocked via CLIENT UNBLOCK"):
        waiter.outcome()
    assert r.client_unblock(r.client_id()) == 0
    waiter = block(ember, r, "BLPOP", "l", 0)  # the list still works afterwards
    r.lpush("l", "foo")
    assert waiter.outcome() == [b"l", b"foo"]


def test_blocked_client_shows_in_client_list(ember, r):
    waiter = block(ember, r, "BLPOP", "l", 0)
    entry = next(e for e in r.client_list() if int(e["id"]) == waiter.id)
    assert "b" in entry["flags"]
    assert entry["cmd"] == "blpop"
    r.rpush("l", "x")
    waiter.outcome()
    entry = next((e for e in r.client_list() if int(e["id"]) == waiter.id), None)
    assert entry is None or "b" not in entry["flags"]


# -- what wakes a waiter --------------------------------------------------------------------------

def test_push_inside_multi_wakes_once_exec_completes(ember, r, needs_multi):
    waiter = block(ember, r, "BLPOP", "list", 0)
    with r.pipeline(transaction=True) as pipe:
        pipe.lpush("list", "a")
        pipe.lpush("list", "b")
        pipe.lpush("list", "c")
        pipe.execute()
    assert waiter.outcome() == [b"list", b"c"]
    assert r.lrange("list", 0, -1) == [b"b", b"a"]


def test_push_then_delete_inside_multi_does_not_wake(ember, r, needs_multi):
    waiter = block(ember, r, "BLPOP", "list", 0)
    with r.pipeline(transaction=True) as pipe:
        pipe.lpush("list", "a")
        pipe.delete("list")
        pipe.hset("list", "f", "v")  # now another type: must not wake the waiter either
        pipe.execute()
    assert blocked_clients(r) == 1
    r.delete("list")
    r.lpush("list", "b")
    assert waiter.outcome() == [b"list", b"b"]


def test_another_type_at_the_key_does_not_wake(ember, r):
    waiter = block(ember, r, "BLPOP", "k", 0)
    r.hset("k", "f", "v")
    assert blocked_clients(r) == 1
    r.delete("k")
    r.rpush("k", "v")
    assert waiter.outcome() == [b"k", b"v"]


def test_wrongtype_key_before_the_woken_one(ember, r):
    waiter = block(ember, r, "BLPOP", "k1", "k2", 0)
    r.hset("k1", "f", "v")
    r.rpush("k2", "x")
    with pytest.raises(redis.ResponseError, match=WRONGTYPE):
        waiter.outcome()
    assert r.lrange("k2", 0, -1) == [b"x"]


def test_lmove_and_rpoplpush_wake_waiters(ember, r):
    waiter = block(ember, r, "BLPOP", "target", 0)
    r.rpush("src", "x", "y")
    assert r.lmove("src", "target", "LEFT", "LEFT") == b"x"
    assert waiter.outcome() == [b"target", b"x"]
    assert r.exists("target") == 0
    waiter = block(ember, r, "BRPOP", "target2", 0)
    assert r.rpoplpush("src", "target2") == b"y"
    assert waiter.outcome() == [b"target2", b"y"]


@pytest.mark.parametrize("wherefrom", ["LEFT", "RIGHT"])
@pytest.mark.parametrize("whereto", ["LEFT", "RIGHT"])
def test_blmove_feeding_a_blpop_on_its_destination(ember, r, wherefrom, whereto):
    popper = block(ember, r, "BLPOP", "target", 0)
    mover = block(ember, r, "BLMOVE", "blist", "target", wherefrom, whereto, 0)
    r.rpush("blist", "foo")
    assert mover.outcome() == b"foo"
    assert popper.outcome() == [b"target", b"foo"]
    assert r.exists("target") == 0


def test_linked_and_circular_moves(ember, r):
    first = block(ember, r, "BLMOVE", "list1", "list2", "RIGHT", "LEFT", 0)
    second = block(ember, r, "BLMOVE", "list2", "list3", "LEFT", "RIGHT", 0)
    r.rpush("list1", "foo")
    assert first.outcome() == b"foo"
    assert second.outcome() == b"foo"
    assert r.lrange("list3", 0, -1) == [b"foo"]
    assert r.exists("list1", "list2") == 0

    first = block(ember, r, "BRPOPLPUSH", "c1", "c2", 0)
    second = block(ember, r, "BRPOPLPUSH", "c2", "c1", 0)
    r.rpush("c1", "foo")
    assert first.outcome() == b"foo"
    assert second.outcome() == b"foo"
    assert r.lrange("c1", 0, -1) == [b"foo"]
    assert r.exists("c2") == 0

    waiter = block(ember, r, "BRPOPLPUSH", "self", "self", 0)
    r.rpush("self", "foo")
    assert waiter.outcome() == b"foo"
    assert r.lrange("self", 0, -1) == [b"foo"]


def test_blmove_with_wrong_destination_type(ember, r):
    r.hset("h", "f", "v")
    r.rpush("src", "foo")
    with pytest.raises(redis.ResponseError, match=WRONGTYPE):
        r.blmove("src", "h", 0, "LEFT", "LEFT")
    r.delete("src")
    waiter = block(ember, r, "BRPOPLPUSH", "src", "h", 0)
    r.rpush("src", "a", "b", "c")
    with pytest.raises(redis.ResponseError, match=WRONGTYPE):
        waiter.outcome()
    assert r.lrange("src", 0, -1) == [b"a", b"b", b"c"]  # the element stays, in order


def test_failing_waiter_does_not_stop_the_next_one(ember, r):
    r.hset("target1", "f", "v")
    failing = block(ember, r, "BRPOPLPUSH", "blist", "target1", 0)
    served = block(ember, r, "BRPOPLPUSH", "blist", "target2", 0)
    r.lpush("blist", "foo")
    with pytest.raises(redis.ResponseError, match=WRONGTYPE):
        failing.outcome()
    assert served.outcome() == b"foo"
    assert r.lrange("target2", 0, -1) == [b"foo"]


def test_waiter_in_another_database(ember, r):
    waiter = block(ember, r, "BLPOP", "k", 0, db=1)
    r.rpush("k", "db0")
    assert blocked_clients(r) == 1
    other = ember.client(db=1)
    other.rpush("k", "db1")
    assert waiter.outcome() == [b"k", b"db1"]
    assert r.lrange("k", 0, -1) == [b"db0"]
    other.close()


@pytest.mark.parametrize("arrival", ["swapdb", "move"])
def test_list_arriving_from_another_database_wakes_the_waiter(ember, r, arrival):
    """Only databases with waiters listen to key changes: a list that comes in by SWAPDB or
    MOVE must still wake a waiter there, as it does in Redis."""
    waiter = block(ember, r, "BLPOP", "k", 0, db=1)
    r.rpush("k", "from0")
    if arrival == "swapdb":
        r.swapdb(0, 1)
    else:
        r.move("k", 1)
    assert waiter.outcome() == [b"k", b"from0"]
    assert blocked_clients(r) == 0


def test_rename_moves_a_list_into_place(ember, r):
    if not server_has(ember, "rename"):
        pytest.skip("RENAME is not implemented yet")
    waiter = block(ember, r, "BLPOP", "foo", 0)
    r.lpush("bob", "abc", "def", "hij")
    r.rename("bob", "foo")
    assert waiter.outcome() == [b"foo", b"hij"]


def test_blocking_commands_inside_multi_do_not_block(ember, r, needs_multi):
    r.lpush("xlist", "foo", "bar")
    connection = RawConnection(ember.port)
    for args in (("MULTI",), ("BLPOP", "xlist", "0"), ("BLPOP", "xlist", "0"), ("BLPOP", "xlist", "0"),
                 ("BRPOPLPUSH", "empty", "d", "0"), ("BLMOVE", "empty", "d", "LEFT", "LEFT", "0"),
                 ("BLMPOP", "0", "1", "empty", "LEFT")):
        connection.call(*args)
    assert connection.call("EXEC") == (
        b"*6\r\n*2\r\n$5\r\nxlist\r\n$3\r\nbar\r\n*2\r\n$5\r\nxlist\r\n$3\r\nfoo\r\n*-1\r\n"
        b"$-1\r\n$-1\r\n*-1\r\n")  # BLMOVE/BRPOPLPUSH answer a null bulk there, the pops a null array
    connection.close()
    assert blocked_clients(r) == 0


# -- fairness and bookkeeping ---------------------------------------------------------------------

def test_fairness_with_a_pipelined_push_and_pop(ember, r):
    first = block(ember, r, "BLPOP", "mylist", 0)
    connection = RawConnection(ember.port)
    connection.sock.sendall(encode_command(("LPUSH", "mylist", "1")) + encode_command(("BLPOP", "mylist", "0")))
    assert connection.read_reply() == b":1\r\n"
    assert first.outcome() == [b"mylist", b"1"]
    wait_blocked(r, 1)  # the pipelined BLPOP came after the older waiter, so it waits
    r.lpush("mylist", "2")
    assert connection.read_reply() == b"*2\r\n$6\r\nmylist\r\n$1\r\n2\r\n"
    connection.close()


def test_nested_unblock_keeps_fairness(ember, r, needs_multi):
    rd1 = block(ember, r, "BRPOPLPUSH", "l1", "l3", 0)
    rd2 = block(ember, r, "BLPOP", "l2", 0)
    rd3 = block(ember, r, "BLMPOP", 0, 2, "l2", "l3", "LEFT", "COUNT", 1)
    with r.pipeline(transaction=True) as pipe:
        pipe.lpush("l1", "1")
        pipe.lpush("l2", "2")
        pipe.execute()
    assert rd1.outcome() == b"1"
    assert rd2.outcome() == [b"l2", b"2"]
    assert rd3.outcome() == [b"l3", [b"1"]]


def test_served_commands_are_counted_once_and_dirty(ember, r):
    r.config_resetstat()
    dirty = r.info("persistence")["rdb_changes_since_last_save"]
    waiter = block(ember, r, "BLPOP", "lst", 0)
    r.lpush("lst", "a")
    assert waiter.outcome() == [b"lst", b"a"]
    stats = r.info("commandstats")["cmdstat_blpop"]
    assert (stats["calls"], stats["rejected_calls"], stats["failed_calls"]) == (1, 0, 0)
    assert r.info("persistence")["rdb_changes_since_last_save"] == dirty + 2
    waiter = block(ember, r, "BLMOVE", "lst", "lst1", "LEFT", "LEFT", 0)
    r.lpush("lst", "a")
    assert waiter.outcome() == b"a"
    assert r.info("persistence")["rdb_changes_since_last_save"] == dirty + 4


def test_resp3_waiter(ember, r):
    waiter = block(ember, r, "BLMPOP", 0, 1, "k", "RIGHT", "COUNT", 2, protocol=3)
    r.rpush("k", "a", "b", "c")
    assert waiter.outcome() == [b"k", [b"c", b"b"]]


def test_served_error_counts_as_failed_call(ember, r):
    r.config_resetstat()
    r.hset("h", "f", "v")
    waiter = block(ember, r, "BLMOVE", "src", "h", "LEFT", "LEFT", 0)
    r.rpush("src", "x")
    with pytest.raises(redis.ResponseError, match=WRONGTYPE):
        waiter.outcome()
    assert r.info("errorstats")["errorstat_WRONGTYPE"]["count"] == 1
    stats = r.info("commandstats")["cmdstat_blmove"]
    assert (stats["calls"], stats["failed_calls"]) == (1, 1)
