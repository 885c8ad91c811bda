"""Keyspace notifications with real clients: the notify-keyspace-events setting, the keyspace and
keyevent channels, class filtering, active expiry, RESP3 pushes (after the reply, for the client
that caused them), and redis-py PubSub consumers. The event names of every command family are
compared with redis-server in tests/differential/test_notifications_diff.py.
"""

from __future__ import annotations

import time

import pytest
import redis

from tests.conftest import wait_until
from tests.differential.harness import RawConnection, decode


@pytest.fixture
def events(ember, r):
    """Set notify-keyspace-events and return a function collecting what a listener received."""
    listener = RawConnection(ember.port)
    listener.call("PSUBSCRIBE", "__key*__:*")

    def configure(flags: str) -> None:
        r.config_set("notify-keyspace-events", flags)

    def collect() -> list[tuple[bytes, bytes]]:
        """Everything published so far: a marker publish ends the collection."""
        r.publish("__keyevent@0__:end-of-test", "x")
        received = []
        while True:
            _kind, _pattern, channel, message = decode(listener.read_reply())
            if channel == b"__keyevent@0__:end-of-test":
                return received
            received.append((channel, message))

    configure.collect = collect  # type: ignore[attr-defined]
    yield configure
    r.config_set("notify-keyspace-events", "")
    listener.close()


@pytest.mark.parametrize(("given", "shown"), [
    ("", ""), ("KEA", "AKE"), ("AKE", "AKE"), ("K$", "$K"), ("El", "lE"), ("Kgx", "gxK"), ("KEn", "nKE"),
    ("KEm", "KEm"), ("KA", "AK"), ("g$lshzxetdKE", "AKE"), ("gA", "A"),
])
def test_setting_is_shown_like_redis(r, given, shown):
    r.config_set("notify-keyspace-events", given)
    try:
        assert r.config_get("notify-keyspace-events") == {"notify-keyspace-events": shown}
    finally:
        r.config_set("notify-keyspace-events", "")


def test_invalid_class_letter_is_refused(r):
    with pytest.raises(redis.ResponseError, match="Invalid event class character. Use 'Ag\\$lshzxeKEtmdn'."):
        r.config_set("notify-keyspace-events", "KEQ")


def test_keyspace_and_keyevent_channels(r, events):
    events("KEA")
    r.set("user:1", "x")
    assert events.collect() == [(b"__keyspace@0__:user:1", b"set"), (b"__keyevent@0__:set", b"user:1")]


def test_only_the_chosen_channel_kind(r, events):
    events("K$")
    r.set("a", "1")
    r.lpush("l", "x")  # list class not enabled
    assert events.collect() == [(b"__keyspace@0__:a", b"set")]
    events("El")
    r.set("a", "2")
    r.lpush("l", "y")
    assert events.collect() == [(b"__keyevent@0__:lpush", b"l")]


def test_nothing_without_a_channel_kind_or_a_class(r, events):
    events("A")  # classes but no K/E
    r.set("a", "1")
    events("KE")  # channels but no class
    r.set("a", "2")
    assert events.collect() == []


def test_database_number_in_channels(ember, events):
    events("E$")
    client = ember.client(db=11)
    client.set("k", "v")
    client.close()
    assert events.collect() == [(b"__keyevent@11__:set", b"k")]


def test_active_expiry_publishes_expired(r, events):
    events("Ex")
    r.set("short", "v", px=20)
    wait_until(lambda: r.info("stats")["expired_keys"] > 0 and not r.exists("short"), message="expired")
    assert (b"__keyevent@0__:expired", b"short") in events.collect()


def test_new_key_class(r, events):
    events("En")
    r.set("a", "1")
    r.set("a", "2")
    r.hset("h", "f", "v")
    assert events.collect() == [(b"__keyevent@0__:new", b"a"), (b"__keyevent@0__:new", b"h")]


def test_generic_events_from_several_commands(r, events):
    events("Eg")
    r.set("a", "1")
    r.expire("a", 100)
    r.rename("a", "b")
    r.delete("b")
    assert [channel.rsplit(b":", 1)[1] for channel, _key in events.collect()] == [
        b"expire", b"rename_from", b"rename_to", b"del"]


def test_redis_py_listener(ember, r):
    r.config_set("notify-keyspace-events", "KEA")
    client = ember.client()
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.psubscribe("__keyspace@0__:job:*")
    try:
        wait_until(lambda: r.pubsub_numpat() == 1, message="subscribed")
        r.hset("job:7", "state", "done")
        deadline = time.monotonic() + 5
        message = None
        while message is None and time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.1)
        assert message is not None
        assert (message["channel"], message["data"]) == (b"__keyspace@0__:job:7", b"hset")
    finally:
        r.config_set("notify-keyspace-events", "")
        pubsub.close()
        client.close()


def test_resp3_subscriber_gets_its_own_events_after_the_reply(ember, r):
    r.config_set("notify-keyspace-events", "E$")
    connection = RawConnection(ember.port)
    try:
        connection.call("HELLO", "3")
        connection.call("SUBSCRIBE", "__keyevent@0__:set")
        assert connection.call("SET", "mine", "v") == b"+OK\r\n"
        assert connection.read_reply() == b">3\r\n$7\r\nmessage\r\n$18\r\n__keyevent@0__:set\r\n$4\r\nmine\r\n"
        connection.call("MULTI")
        connection.call("SET", "a", "1")
        connection.call("SET", "b", "2")
        assert connection.call("EXEC") == b"*2\r\n+OK\r\n+OK\r\n"
        pushes = [connection.read_reply(), connection.read_reply()]
        assert [decode(push)[2] for push in pushes] == [b"a", b"b"]
    finally:
        r.config_set("notify-keyspace-events", "")
        connection.close()
