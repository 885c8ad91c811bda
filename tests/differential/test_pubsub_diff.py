"""Pub/Sub and client-side-caching pushes compared byte for byte with redis-server, RESP2 and RESP3:
subscription confirmations, messages, the RESP2 subscribed context, PUBSUB introspection, and
CLIENT TRACKING invalidations (default, BCAST, redirected to a RESP2 subscriber, flushes) with the
tracking command's options and errors. Where Redis leaves an order open (UNSUBSCRIBE with no
arguments walks a hash table) only single-subscription cases are compared. Redis 7.0 pushes a
client's message to itself before the reply and 7.2 after it: those cases are in the integration
tests only.
"""

from __future__ import annotations

import pytest

from .harness import Differ, RawConnection, decode


@pytest.fixture
def pair(diff, redis_server, ember):
    """Two connections per server: a subscriber (`diff`) and a publisher."""
    publisher = Differ(redis_server.port, ember.port)
    yield diff, publisher
    publisher.close()


def check_all(differ: Differ, commands) -> None:
    for args in commands:
        differ.check(*args)


def read_both(differ: Differ) -> bytes:
    """The next pushed reply on both servers' connections, which must be identical."""
    expected, actual = differ.redis.read_reply(), differ.ember.read_reply()
    assert actual == expected
    return actual


def resp3(differ: Differ) -> None:
    differ.both("HELLO", "3")  # the HELLO replies differ in version and id


@pytest.mark.parametrize("protocol", [2, 3])
def test_confirmations_and_messages(pair, protocol):
    subscriber, publisher = pair
    if protocol == 3:
        resp3(subscriber)
    subscriber.check("SUBSCRIBE", "a", "b")
    read_both(subscriber)
    subscriber.check("PSUBSCRIBE", "a*")
    subscriber.check("SSUBSCRIBE", "s")
    subscriber.check("SUBSCRIBE", "a")  # already subscribed: confirmed again with the same count
    publisher.check("PUBLISH", "a", "hello")
    read_both(subscriber)
    read_both(subscriber)
    publisher.check("PUBLISH", "ab", "")
    read_both(subscriber)
    publisher.check("SPUBLISH", "s", "shard")
    read_both(subscriber)
    publisher.check("PUBLISH", b"\x00bin\xff", b"\r\n")
    check_all(subscriber, [("UNSUBSCRIBE", "a", "nope"), ("PUNSUBSCRIBE", "a*"), ("SUNSUBSCRIBE",),
                           ("UNSUBSCRIBE", "b"), ("UNSUBSCRIBE",), ("PUNSUBSCRIBE",), ("SUNSUBSCRIBE", "x")])
    read_both(subscriber)


def test_resp2_subscribed_context(diff):
    check_all(diff, [
        ("SUBSCRIBE", "c"), ("GET", "k"), ("SET", "k", "v"), ("PING",), ("PING", "msg"), ("PING", "a", "b"),
        ("CLIENT", "ID"), ("CONFIG", "GET", "x"), ("MULTI",), ("PUBLISH", "c", "m"), ("SSUBSCRIBE", "s"),
        ("SUNSUBSCRIBE", "s"), ("NOSUCH",), ("GET",), ("UNSUBSCRIBE", "c"), ("GET", "k"), ("PING",),
        ("PSUBSCRIBE", "p"), ("ECHO", "x"), ("RESET",), ("ECHO", "x"),
    ])


def test_resp3_subscriber_runs_anything(diff):
    resp3(diff)
    check_all(diff, [("SUBSCRIBE", "c"), ("SET", "k", "v"), ("GET", "k"), ("PING",), ("PING", "x"), ("UNSUBSCRIBE",)])


def test_arity_and_introspection(pair):
    subscriber, publisher = pair
    check_all(publisher, [
        ("SUBSCRIBE",), ("PSUBSCRIBE",), ("SSUBSCRIBE",), ("PUBLISH", "c"), ("PUBLISH", "c", "m", "x"), ("SPUBLISH", "c"),
        ("PUBSUB",), ("PUBSUB", "NOSUCH"), ("PUBSUB", "NUMPAT", "x"), ("PUBSUB", "CHANNELS", "a", "b"),
        ("PUBSUB", "HELP"), ("PUBSUB", "HELP", "x"), ("PUBSUB", "SHARDCHANNELS", "a", "b"),
    ])
    subscriber.check("SUBSCRIBE", "news.1")
    subscriber.check("PSUBSCRIBE", "x*")
    check_all(publisher, [
        ("PUBSUB", "CHANNELS"), ("PUBSUB", "CHANNELS", "news.*"), ("PUBSUB", "CHANNELS", "none*"),
        ("PUBSUB", "NUMSUB"), ("PUBSUB", "NUMSUB", "news.1", "other", "news.1"), ("PUBSUB", "NUMPAT"),
        ("PUBSUB", "SHARDCHANNELS"), ("PUBSUB", "SHARDNUMSUB", "a"), ("PUBLISH", "news.1", "m"), ("PUBLISH", "xyz", "m"),
    ])
    resp3(publisher)
    check_all(publisher, [("PUBSUB", "NUMSUB", "news.1"), ("PUBSUB", "CHANNELS"), ("PUBSUB", "SHARDNUMSUB", "a")])


def test_keyspace_event_messages(pair):
    subscriber, publisher = pair
    resp3(subscriber)
    subscriber.check("PSUBSCRIBE", "__keyevent@0__:*")
    publisher.check("CONFIG", "SET", "notify-keyspace-events", "E$")
    try:
        publisher.check("SET", "k", "v")
        read_both(subscriber)
    finally:
        publisher.check("CONFIG", "SET", "notify-keyspace-events", "")


# -- client-side caching -------------------------------------------------------------------------


def test_tracking_options_and_errors(diff):
    check_all(diff, [
        ("CLIENT", "TRACKINGINFO"), ("CLIENT", "GETREDIR"), ("CLIENT", "TRACKING", "ON", "REDIRECT", "999999"),
        ("CLIENT", "TRACKING", "ON", "REDIRECT", "x"), ("CLIENT", "TRACKING", "ON", "PREFIX", "a"),
        ("CLIENT", "TRACKING", "ON", "BCAST", "OPTIN"), ("CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"),
        ("CLIENT", "TRACKING", "ON", "BOGUS"), ("CLIENT", "TRACKING", "MAYBE"), ("CLIENT", "TRACKING", "ON", "REDIRECT"),
        ("CLIENT", "CACHING", "YES"), ("CLIENT", "TRACKING", "ON", "OPTIN", "NOLOOP"), ("CLIENT", "CACHING", "YES"),
        ("CLIENT", "TRACKINGINFO"), ("CLIENT", "CACHING", "NO"), ("CLIENT", "CACHING", "MAYBE"),
        ("CLIENT", "TRACKING", "ON", "OPTOUT"), ("CLIENT", "TRACKING", "ON", "BCAST"), ("CLIENT", "TRACKING", "ON"),
        ("CLIENT", "TRACKINGINFO"), ("CLIENT", "TRACKING", "OFF"), ("CLIENT", "TRACKING", "OFF"),
        ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "b", "PREFIX", "a"), ("CLIENT", "TRACKINGINFO"),
        ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "ab"), ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "c", "NOLOOP"),
        ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "x", "PREFIX", "xy"), ("CLIENT", "TRACKINGINFO"),
        ("CLIENT", "TRACKING", "OFF"), ("CLIENT", "TRACKING", "ON", "BCAST"), ("CLIENT", "TRACKINGINFO"),
        ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a"), ("CLIENT", "GETREDIR"), ("CLIENT", "TRACKING", "OFF"),
    ])
    resp3(diff)
    check_all(diff, [("CLIENT", "TRACKINGINFO"), ("CLIENT", "TRACKING", "ON", "OPTOUT"), ("CLIENT", "CACHING", "NO"),
                     ("CLIENT", "TRACKINGINFO"), ("CLIENT", "TRACKING", "OFF")])


def test_default_mode_invalidations(pair):
    tracker, writer = pair
    resp3(tracker)
    writer.check("MSET", "b", "1", "c", "1")
    check_all(tracker, [("CLIENT", "TRACKING", "ON"), ("GET", "a"), ("MGET", "b", "c"), ("HGET", "h", "f")])
    check_all(writer, [("SET", "a", "1"), ("DEL", "b", "c"), ("HSET", "h", "f", "v"), ("SET", "a", "2")])
    for _ in range(4):
        read_both(tracker)
    check_all(tracker, [("PING",), ("SET", "own", "1"), ("GET", "own"), ("CLIENT", "TRACKING", "ON", "NOLOOP"),
                        ("SET", "own", "2"), ("PING",)])


def test_bcast_invalidations(pair):
    tracker, writer = pair
    resp3(tracker)
    tracker.check("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "PREFIX", "b")
    writer.check("MSET", "b2", "1", "a1", "1", "c", "1", "a0", "1")
    read_both(tracker)
    read_both(tracker)
    writer.check("FLUSHALL")
    read_both(tracker)
    tracker.check("PING")


def test_redirect_to_a_resp2_subscriber(redis_server, ember):
    """The redirect target's id differs per server, so each side is driven separately."""
    def run(port: int) -> list[bytes]:
        receiver, tracker, writer = RawConnection(port), RawConnection(port), RawConnection(port)
        try:
            writer.call("FLUSHALL")
            receiver_id = decode(receiver.call("CLIENT", "ID"))
            replies = [receiver.call("SUBSCRIBE", "__redis__:invalidate"),
                       tracker.call("CLIENT", "TRACKING", "ON", "REDIRECT", str(receiver_id)), tracker.call("GET", "k"),
                       writer.call("SET", "k", "v"), receiver.read_reply(), writer.call("FLUSHDB"), receiver.read_reply(),
                       tracker.call("CLIENT", "TRACKING", "ON", "BCAST", "REDIRECT", str(receiver_id)).replace(
                           str(receiver_id).encode(), b"<id>")]
            tracker.call("CLIENT", "TRACKING", "OFF")
            tracker.call("CLIENT", "TRACKING", "ON", "BCAST", "REDIRECT", str(receiver_id))
            replies += [writer.call("SET", "x", "1"), receiver.read_reply()]
            return replies
        finally:
            for connection in (receiver, tracker, writer):
                connection.close()

    assert run(ember.port) == run(redis_server.port)
