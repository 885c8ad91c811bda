"""Pub/Sub against a real Ember: redis-py PubSub objects in RESP2 and RESP3 (including
run_in_thread), raw sockets for exact bytes, and a subscriber that never reads while a publisher
floods, which the server must disconnect (client-output-buffer-limit pubsub) while staying healthy.
"""

from __future__ import annotations

import socket
import time

import pytest

from tests.conftest import wait_until
from tests.differential.harness import RawConnection, decode, encode_command

SUBSCRIBED_ONLY = ("Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
                   "are allowed in this context")


@pytest.fixture
def raw(ember, r):
    connection = RawConnection(ember.port)
    yield connection
    connection.close()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def protocol(request) -> int:
    return request.param


@pytest.fixture
def subscriber(ember, r, protocol):
    client = ember.client(protocol=protocol)
    pubsub = client.pubsub()
    yield pubsub
    pubsub.close()
    client.close()


def next_message(pubsub, timeout: float = 5.0) -> dict:
    """The next message of any kind (confirmations included), failing after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.1)
        if message is not None:
            return message
    raise AssertionError("no message arrived")


def numsub(r, channel: str) -> int:
    return dict(r.pubsub_numsub(channel))[channel.encode()]


# -- subscribing and receiving ------------------------------------------------------------------


def test_subscribe_publish_and_message(r, subscriber):
    subscriber.subscribe("news", "sport")
    assert next_message(subscriber) == {"type": "subscribe", "pattern": None, "channel": b"news", "data": 1}
    assert next_message(subscriber)["data"] == 2
    assert r.publish("news", "hello") == 1
    assert next_message(subscriber) == {"type": "message", "pattern": None, "channel": b"news", "data": b"hello"}
    assert r.publish("nobody", "x") == 0


def test_pattern_subscription(r, subscriber):
    subscriber.psubscribe("news.[ab]*")
    assert next_message(subscriber)["type"] == "psubscribe"
    assert r.publish("news.alpha", "1") == 1
    assert r.publish("news.c", "2") == 0
    assert next_message(subscriber) == {"type": "pmessage", "pattern": b"news.[ab]*", "channel": b"news.alpha",
                                        "data": b"1"}


def test_each_matching_subscription_receives_and_counts(r, subscriber):
    subscriber.subscribe("news.a")
    subscriber.psubscribe("news.*", "*")
    for _ in range(3):
        next_message(subscriber)
    assert r.publish("news.a", "m") == 3
    kinds = [next_message(subscriber)["type"] for _ in range(3)]
    assert kinds == ["message", "pmessage", "pmessage"]  # channel subscribers first


def test_binary_channels_and_messages(r, subscriber):
    channel, payload = b"\x00ch\xff\r\n", bytes(range(256))
    subscriber.subscribe(channel)
    next_message(subscriber)
    assert r.publish(channel, payload) == 1
    message = next_message(subscriber)
    assert (message["channel"], message["data"]) == (channel, payload)


def test_channels_are_global_across_databases(ember, r, protocol):
    client = ember.client(protocol=protocol, db=5)
    pubsub = client.pubsub()
    try:
        pubsub.subscribe("shared")
        next_message(pubsub)
        publisher = ember.client(db=9)
        assert publisher.publish("shared", "from db 9") == 1
        assert next_message(pubsub)["data"] == b"from db 9"
        publisher.close()
    finally:
        pubsub.close()
        client.close()


def test_run_in_thread_delivers_to_handlers(ember, r, protocol):
    client = ember.client(protocol=protocol)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    received: list[tuple[bytes, bytes]] = []
    pubsub.subscribe(jobs=lambda m: received.append((m["channel"], m["data"])))
    pubsub.psubscribe(**{"evt.*": lambda m: received.append((m["pattern"], m["data"]))})
    worker = pubsub.run_in_thread(sleep_time=0.01, daemon=True)
    try:
        wait_until(lambda: numsub(r, "jobs") == 1 and r.pubsub_numpat() == 1, message="subscribed")
        for i in range(20):
            r.publish("jobs", f"job{i}")
        r.publish("evt.x", "event")
        wait_until(lambda: len(received) == 21, message="21 deliveries")
        assert received[:20] == [(b"jobs", f"job{i}".encode()) for i in range(20)]
        assert received[20] == (b"evt.*", b"event")
    finally:
        worker.stop()
        worker.join(timeout=10)
        pubsub.close()
        client.close()
    wait_until(lambda: numsub(r, "jobs") == 0, message="unsubscribed on close")


def test_unsubscribe_counts_down_and_leaves_pubsub_mode(r, subscriber):
    subscriber.subscribe("a", "b")
    subscriber.psubscribe("p*")
    for expected in (1, 2, 3):
        assert next_message(subscriber)["data"] == expected
    subscriber.unsubscribe()
    confirmations = sorted((m["channel"], m["data"]) for m in (next_message(subscriber), next_message(subscriber)))
    assert [count for _channel, count in confirmations] in ([1, 2], [2, 1])
    assert {channel for channel, _count in confirmations} == {b"a", b"b"}
    subscriber.punsubscribe()
    assert next_message(subscriber) == {"type": "punsubscribe", "pattern": None, "channel": b"p*", "data": 0}
    assert r.pubsub_numpat() == 0 and r.pubsub_channels() == []


def test_unsubscribe_from_nothing_confirms_with_null(raw):
    assert raw.call("UNSUBSCRIBE") == b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
    assert raw.call("PUNSUBSCRIBE") == b"*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n"
    assert raw.call("SUNSUBSCRIBE") == b"*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n"
    assert raw.call("UNSUBSCRIBE", "never") == b"*3\r\n$11\r\nunsubscribe\r\n$5\r\nnever\r\n:0\r\n"
    raw.call("HELLO", "3")
    assert raw.call("UNSUBSCRIBE") == b">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n"


def test_shard_channels(r, raw):
    assert raw.call("SSUBSCRIBE", "s1", "s2") == b"*3\r\n$10\r\nssubscribe\r\n$2\r\ns1\r\n:1\r\n"
    assert raw.read_reply() == b"*3\r\n$10\r\nssubscribe\r\n$2\r\ns2\r\n:2\r\n"
    assert raw.call("SUBSCRIBE", "c") == b"*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n"  # its own count
    assert r.execute_command("SPUBLISH", "s1", "hi") == 1
    assert r.publish("s1", "not for shard subscribers") == 0
    assert raw.read_reply() == b"*3\r\n$8\r\nsmessage\r\n$2\r\ns1\r\n$2\r\nhi\r\n"
    assert sorted(r.execute_command("PUBSUB", "SHARDCHANNELS")) == [b"s1", b"s2"]
    assert r.execute_command("PUBSUB", "SHARDCHANNELS", "*2") == [b"s2"]
    assert r.execute_command("PUBSUB", "SHARDNUMSUB", "s1", "zz") == [b"s1", 1, b"zz", 0]
    assert raw.call("SUNSUBSCRIBE", "s1") == b"*3\r\n$12\r\nsunsubscribe\r\n$2\r\ns1\r\n:1\r\n"


def test_pubsub_introspection(r, subscriber):
    subscriber.subscribe("news.a", "news.b", "other")
    subscriber.psubscribe("x*", "y*")
    for _ in range(5):
        next_message(subscriber)
    assert sorted(r.pubsub_channels()) == [b"news.a", b"news.b", b"other"]
    assert sorted(r.pubsub_channels("news.*")) == [b"news.a", b"news.b"]
    assert r.pubsub_numsub("news.a", "missing") == [(b"news.a", 1), (b"missing", 0)]
    assert r.pubsub_numpat() == 2
    info = r.info("stats")
    assert (info["pubsub_channels"], info["pubsub_patterns"]) == (3, 2)


def test_pubsub_numsub_is_a_flat_array_in_resp3(ember, r3, raw):
    raw.call("SUBSCRIBE", "c")
    connection = RawConnection(ember.port)
    try:
        connection.call("HELLO", "3")
        assert connection.call("PUBSUB", "NUMSUB", "c") == b"*2\r\n$1\r\nc\r\n:1\r\n"
        assert connection.call("PUBSUB", "NUMPAT") == b":0\r\n"
    finally:
        connection.close()


def test_client_list_and_kill_by_pubsub_type(ember, r, raw):
    raw.call("CLIENT", "SETNAME", "sub")
    raw.call("SUBSCRIBE", "a")
    raw.call("PSUBSCRIBE", "b*")
    entry = next(c for c in r.client_list() if c["name"] == "sub")
    assert "P" in entry["flags"] and (entry["sub"], entry["psub"]) == ("1", "1")
    assert [c["name"] for c in r.client_list(_type="pubsub")] == ["sub"]
    assert r.client_kill_filter(_type="pubsub") == 1
    wait_until(lambda: numsub(r, "a") == 0, message="killed subscriber unsubscribed")


def test_disconnect_drops_subscriptions(ember, r):
    connection = RawConnection(ember.port)
    connection.call("SUBSCRIBE", "gone")
    connection.call("PSUBSCRIBE", "gone*")
    assert numsub(r, "gone") == 1
    connection.close()
    wait_until(lambda: numsub(r, "gone") == 0 and r.pubsub_numpat() == 0, message="subscriptions dropped")


# -- the RESP2 subscribed context --------------------------------------------------------------


def test_resp2_subscriber_may_only_run_pubsub_commands(raw):
    raw.call("SUBSCRIBE", "a")
    assert raw.call("GET", "k") == b"-ERR " + SUBSCRIBED_ONLY.format("get").encode() + b"\r\n"
    assert raw.call("CLIENT", "LIST").startswith(b"-ERR Can't execute 'client|list'")
    assert raw.call("PING") == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    assert raw.call("PING", "hi") == b"*2\r\n$4\r\npong\r\n$2\r\nhi\r\n"
    assert raw.call("PSUBSCRIBE", "x*") == b"*3\r\n$10\r\npsubscribe\r\n$2\r\nx*\r\n:2\r\n"
    raw.call("UNSUBSCRIBE")
    assert raw.call("GET", "k").startswith(b"-ERR Can't execute")  # a pattern is left
    raw.call("PUNSUBSCRIBE")
    assert raw.call("GET", "k") == b"$-1\r\n"
    assert raw.call("PING") == b"+PONG\r\n"


def test_resp2_subscriber_can_reset_and_quit(ember, raw):
    raw.call("SUBSCRIBE", "a")
    assert raw.call("RESET") == b"+RESET\r\n"
    assert raw.call("GET", "k") == b"$-1\r\n"
    other = RawConnection(ember.port)
    other.call("SUBSCRIBE", "a")
    assert other.call("QUIT") == b"+OK\r\n"
    other.close()


def test_resp3_subscriber_may_run_anything(r, raw):
    raw.call("HELLO", "3")
    assert raw.call("SUBSCRIBE", "a") == b">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
    assert raw.call("SET", "k", "v") == b"+OK\r\n"
    assert raw.call("PING") == b"+PONG\r\n"
    r.publish("a", "m")
    assert raw.read_reply() == b">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nm\r\n"


def test_message_to_self_follows_the_reply(raw):
    """Redis 7.2: a client's own PUBLISH is answered first, then the message is pushed."""
    raw.call("HELLO", "3")
    raw.call("SUBSCRIBE", "me")
    assert raw.call("PUBLISH", "me", "hi") == b":1\r\n"
    assert raw.read_reply() == b">3\r\n$7\r\nmessage\r\n$2\r\nme\r\n$2\r\nhi\r\n"
    raw.call("MULTI")
    raw.call("PUBLISH", "me", "in tx")
    raw.call("PING")
    assert raw.call("EXEC") == b"*2\r\n:1\r\n+PONG\r\n"  # the push never lands inside the array
    assert raw.read_reply() == b">3\r\n$7\r\nmessage\r\n$2\r\nme\r\n$5\r\nin tx\r\n"


def test_client_reply_does_not_silence_confirmations(r, raw):
    """Confirmations are pushes, like messages: CLIENT REPLY SKIP/OFF leave them alone."""
    raw.sock.sendall(encode_command(("CLIENT", "REPLY", "SKIP")) + encode_command(("SUBSCRIBE", "a", "b")))
    assert raw.read_reply() == b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
    assert raw.read_reply() == b"*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"
    assert raw.call("PING") == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"  # the SKIP was used up
    raw.sock.sendall(encode_command(("UNSUBSCRIBE",)) + encode_command(("CLIENT", "REPLY", "OFF"))
                     + encode_command(("SUBSCRIBE", "c")) + encode_command(("PING",)))
    replies = [raw.read_reply(), raw.read_reply()]  # the two unsubscribe confirmations
    assert {decode(reply)[1] for reply in replies} == {b"a", b"b"}
    assert raw.read_reply() == b"*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n"  # PING's pong is off
    assert raw.call("UNSUBSCRIBE") == b"*3\r\n$11\r\nunsubscribe\r\n$1\r\nc\r\n:0\r\n"
    assert numsub(r, "c") == 0


def test_pubsub_help(r):
    lines = r.execute_command("PUBSUB", "HELP")
    assert lines[0] == b"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert lines[-2:] == [b"HELP", b"    Prints this help."]


# -- slow subscribers ---------------------------------------------------------------------------


@pytest.fixture
def small_pubsub_limit(r):
    def configure(hard: str, soft: str, seconds: str) -> None:
        r.config_set("client-output-buffer-limit", f"pubsub {hard} {soft} {seconds}")

    yield configure
    r.config_set("client-output-buffer-limit", "pubsub 32mb 8mb 60")


def stalled_subscriber(ember, channel: str) -> socket.socket:
    """A subscriber with a tiny receive buffer that never reads after its confirmation."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", ember.port))
    sock.sendall(encode_command(("SUBSCRIBE", channel)))
    sock.settimeout(10)
    assert decode(sock.recv(1024)) == [b"subscribe", channel.encode(), 1]
    return sock


def flood_until_disconnected(r, channel: str, size: int = 16384, pause: float = 0.0,
                             max_bytes: int = 256 * 1024 * 1024, max_seconds: float = 30) -> int:
    """Publish messages of `size` bytes, 64 per round trip with `pause` seconds between rounds,
    until the channel has no subscriber left; the bytes sent. Bounded in bytes and time."""
    payload = b"x" * size
    sent, deadline = 0, time.monotonic() + max_seconds
    pipe = r.pipeline(transaction=False)
    while sent < max_bytes and time.monotonic() < deadline:
        for _ in range(64):
            pipe.publish(channel, payload)
        receivers = pipe.execute()
        sent += 64 * size
        if receivers[-1] == 0:
            return sent
        time.sleep(pause)
    raise AssertionError(f"subscriber still connected after {sent} bytes")


def test_slow_subscriber_hits_the_hard_limit_and_is_disconnected(ember, r, small_pubsub_limit):
    small_pubsub_limit("1mb", "0", "0")
    sock = stalled_subscriber(ember, "flood")
    try:
        flood_until_disconnected(r, "flood")
        assert "flags=P" in ember.log() and "for overcoming of output buffer limits" in ember.log()
        assert r.ping() and r.set("still", "healthy") and r.get("still") == b"healthy"
        assert numsub(r, "flood") == 0
    finally:
        sock.close()


def test_slow_subscriber_over_the_soft_limit_for_too_long_is_disconnected(ember, r, small_pubsub_limit):
    small_pubsub_limit("0", "512kb", "1")
    sock = stalled_subscriber(ember, "soft")
    try:
        started = time.monotonic()
        flood_until_disconnected(r, "soft", size=1024, pause=0.005)  # slowly: the limit is about time
        assert time.monotonic() - started >= 1  # the soft limit allows its grace period
        assert r.ping()
    finally:
        sock.close()


def test_idle_subscriber_left_over_the_soft_limit_is_disconnected(ember, r, small_pubsub_limit):
    """No more traffic after the soft limit was passed: the grace time still runs out."""
    small_pubsub_limit("0", "256kb", "1")
    sock = stalled_subscriber(ember, "idle")
    try:
        payload = b"z" * 16384
        pipe = r.pipeline(transaction=False)
        for _ in range(12 * 64):  # 12 MB: more than socket buffers absorb
            pipe.publish("idle", payload)
        assert pipe.execute()[-1] == 1
        wait_until(lambda: numsub(r, "idle") == 0, timeout=10, message="idle subscriber cut")
    finally:
        sock.close()


def test_reading_subscriber_is_not_disconnected(ember, r, small_pubsub_limit):
    small_pubsub_limit("1mb", "256kb", "1")
    client = ember.client()
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe("steady")
    try:
        wait_until(lambda: numsub(r, "steady") == 1, message="subscribed")
        payload = b"y" * 4096
        for _ in range(500):  # 2 MB in total, read as it comes
            assert r.publish("steady", payload) == 1
            assert next_message(pubsub)["data"] == payload
    finally:
        pubsub.close()
        client.close()
