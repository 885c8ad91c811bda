"""Behaviour the hot-path shortcuts must keep: replies written once per loop pass stay in order
and complete, access times are never stale across batches while TTLs stay exact inside one, and
the keymiss event comes from reads."""

from __future__ import annotations

import socket

import pytest
import redis

from tests.conftest import wait_until
from tests.differential.harness import RawConnection, encode_command


def pipeline(*commands: tuple) -> bytes:
    return b"".join(encode_command(command) for command in commands)


def read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


@pytest.fixture
def conn(ember, r):
    connection = RawConnection(ember.port)
    yield connection
    connection.close()


def test_a_pipelined_read_gets_every_reply_in_order(conn):
    conn.sock.sendall(pipeline(*[("SET", f"k{i}", f"v{i}") for i in range(200)],
                               *[("GET", f"k{i}") for i in range(200)], ("INCR", "n"), ("GET", "missing")))
    replies = [conn.read_reply() for _ in range(402)]
    assert replies[:200] == [b"+OK\r\n"] * 200
    assert replies[200:400] == [b"$%d\r\nv%d\r\n" % (len(b"v%d" % i), i) for i in range(200)]
    assert replies[400:] == [b":1\r\n", b"$-1\r\n"]


def test_large_and_small_replies_keep_their_order(conn):
    big = "x" * 100_000
    conn.sock.sendall(pipeline(("SET", "big", big), ("GET", "big"), ("PING",), ("RPUSH", "l", big, "a"),
                               ("LRANGE", "l", "0", "-1")))
    assert conn.read_reply() == b"+OK\r\n"
    assert conn.read_reply() == b"$100000\r\n" + big.encode() + b"\r\n"
    assert conn.read_reply() == b"+PONG\r\n"
    assert conn.read_reply() == b":2\r\n"
    assert conn.read_reply() == b"*2\r\n$100000\r\n" + big.encode() + b"\r\n$1\r\na\r\n"


def test_replies_before_a_protocol_error_are_written_before_it(ember):
    with socket.create_connection(("127.0.0.1", ember.port), timeout=10) as sock:
        sock.sendall(pipeline(("PING",), ("ECHO", "hi")) + b"*1\r\n+bad\r\n")
        data = read_until_closed(sock)
    assert data == b"+PONG\r\n$2\r\nhi\r\n-ERR Protocol error: expected '$', got '+'\r\n"


def test_quit_answers_what_came_before_it_then_closes(ember):
    with socket.create_connection(("127.0.0.1", ember.port), timeout=10) as sock:
        sock.sendall(pipeline(("PING",), ("QUIT",), ("PING",)))
        assert read_until_closed(sock) == b"+PONG\r\n+OK\r\n"


def test_many_clients_served_in_one_pass_all_get_their_replies(ember, r):
    connections = [RawConnection(ember.port) for _ in range(30)]
    try:
        for number, connection in enumerate(connections):
            connection.sock.sendall(pipeline(("INCR", "shared"), ("ECHO", f"client-{number}")))
        for number, connection in enumerate(connections):
            assert connection.read_reply().startswith(b":")
            assert connection.read_reply() == b"$%d\r\nclient-%d\r\n" % (len(f"client-{number}"), number)
        assert r.get("shared") == b"30"
    finally:
        for connection in connections:
            connection.close()


def test_a_push_and_the_replies_around_it_keep_their_order(ember, r):
    subscriber = RawConnection(ember.port)
    try:
        assert subscriber.call("HELLO", "3").startswith(b"%")
        assert subscriber.call("SUBSCRIBE", "ch") == b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
        assert subscriber.call("PUBLISH", "ch", "to-myself") == b":1\r\n"  # the reply, then the push
        assert subscriber.read_reply() == b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$9\r\nto-myself\r\n"
        assert r.publish("ch", "from-other") == 1
        subscriber.sock.sendall(pipeline(*[("PING", str(n)) for n in range(20)]))
        assert r.publish("ch", "after-the-pings") == 1
        # Whatever lands between the PONGs, the message sent before them comes first and every
        # PONG arrives once, in order.
        assert subscriber.read_reply() == b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$10\r\nfrom-other\r\n"
        replies = [subscriber.read_reply() for _ in range(21)]
        pongs = [reply for reply in replies if not reply.startswith(b">")]
        assert pongs == [b"$%d\r\n%d\r\n" % (len(str(n)), n) for n in range(20)]
        assert b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$15\r\nafter-the-pings\r\n" in replies
    finally:
        subscriber.close()


def test_access_time_is_read_again_for_every_batch(r):
    r.set("k", "v")
    wait_until(lambda: r.object("idletime", "k") >= 1, timeout=5, message="the key to look idle")
    assert r.get("k") == b"v"  # a new batch: its access time is now, not the previous batch's
    assert r.object("idletime", "k") == 0


# Spins for 50 ms of wall time (DEBUG SLEEP needs enable-debug-command).
SPIN_50_MS = ("local s = redis.call('TIME') repeat local n = redis.call('TIME') "
              "until (n[1] - s[1]) * 1000000 + (n[2] - s[2]) > 50000 return 1")


def test_expiry_inside_one_batch_uses_the_time_of_each_command(conn):
    conn.sock.sendall(pipeline(("SET", "short", "v", "PX", "20"), ("GET", "short"), ("EVAL", SPIN_50_MS, "0"),
                               ("GET", "short"), ("EXISTS", "short")))
    assert [conn.read_reply() for _ in range(5)] == [b"+OK\r\n", b"$1\r\nv\r\n", b":1\r\n", b"$-1\r\n", b":0\r\n"]


def keymiss_events(ember, r, command: tuple) -> list:
    r.config_set("notify-keyspace-events", "Em")
    listener = ember.client().pubsub()
    try:
        listener.subscribe("__keyevent@0__:keymiss")
        wait_until(lambda: listener.get_message(timeout=0.1), message="subscribed")
        r.execute_command("SET", "present", "v")
        r.execute_command(*command)
        r.execute_command("GET", "marker-of-the-end")
        events = []
        while True:
            message = listener.get_message(timeout=5)
            assert message is not None, "no keymiss for the final GET"
            if message["data"] == b"marker-of-the-end":
                return events
            events.append(message["data"])
    finally:
        listener.close()
        r.config_set("notify-keyspace-events", "")


@pytest.mark.parametrize(("command", "expected"), [
    (("GET", "nokey"), [b"nokey"]),
    (("GET", "present"), []),
    (("MGET", "nokey", "present", "other"), [b"nokey", b"other"]),
    (("HGET", "nohash", "f"), [b"nohash"]),
])
def test_reads_of_missing_keys_are_keymiss_events(ember, r, command, expected):
    assert keymiss_events(ember, r, command) == expected


def test_object_of_a_missing_key_is_no_keymiss(ember, r):
    assert keymiss_events(ember, r, ("OBJECT", "ENCODING", "nokey")) == []


def test_wrong_type_reads_still_fail(r):
    r.rpush("list", "a")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.get("list")
    r.set("string", "v")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.lrange("string", 0, -1)
    assert r.append("string", "w") == 2  # a raw (bytearray) string still reads as a string
    assert r.get("string") == b"vw"


def test_commandstats_count_every_command_of_a_pipeline(conn, r):
    r.config_resetstat()
    conn.sock.sendall(pipeline(*[("SET", "a", "1")] * 50, *[("GET", "a")] * 30, ("GET",)))
    replies = [conn.read_reply() for _ in range(81)]
    assert replies[-1] == b"-ERR wrong number of arguments for 'get' command\r\n"
    stats = r.info("commandstats")
    assert stats["cmdstat_set"]["calls"] == 50
    assert (stats["cmdstat_get"]["calls"], stats["cmdstat_get"]["rejected_calls"]) == (30, 1)
    assert r.info("stats")["total_commands_processed"] >= 80


def test_a_low_slowlog_threshold_logs_every_call_of_a_pipeline(conn, r):
    """Pipelined O(1) calls are timed in groups (dispatch.TIMING_GROUP) only while the slow
    threshold is high; at 0 every call is still its own slowlog entry, with its own arguments."""
    conn.sock.sendall(pipeline(("GET", "warm")))  # GET runs lean from its second read on
    conn.read_reply()
    r.config_set("slowlog-log-slower-than", 0)
    try:
        r.slowlog_reset()
        conn.sock.sendall(pipeline(*[("GET", f"k{i}") for i in range(40)]))
        assert [conn.read_reply() for _ in range(40)] == [b"$-1\r\n"] * 40
        logged = [entry["command"] for entry in reversed(r.slowlog_get(128))
                  if entry["command"].startswith(b"GET")]
        assert logged == [f"GET k{i}".encode() for i in range(40)]
    finally:
        r.config_set("slowlog-log-slower-than", 10000)


def test_monitor_sees_every_call_of_a_pipeline_in_order(ember, conn):
    conn.sock.sendall(pipeline(("GET", "warm")))
    conn.read_reply()
    monitor = RawConnection(ember.port)
    try:
        monitor.sock.sendall(pipeline(("MONITOR",)))
        assert monitor.read_reply() == b"+OK\r\n"
        conn.sock.sendall(pipeline(*[("GET", f"k{i}") for i in range(40)]))
        assert [conn.read_reply() for _ in range(40)] == [b"$-1\r\n"] * 40
        lines = [monitor.read_reply() for _ in range(40)]
        assert [line.rsplit(b" ", 2)[-2:] for line in lines] == \
            [[b'"GET"', f'"k{i}"\r\n'.encode()] for i in range(40)]
    finally:
        monitor.close()
