"""Unit tests for the hot-path pieces that have no wire-level view of their own: Database change
listeners (listen/unlisten, safe while being called), blocked-client bookkeeping, the access
clock (cached only inside a batch), the encoder's call-free bulk strings inside aggregates, and
the parser's request check for reads too large to join."""

from __future__ import annotations

import time

import pytest

from ember.commands import load_all
from ember.config import Config
from ember.keyspace.database import ACCESS_CLOCK
from ember.protocol.encoder import Push, SetReply, encode
from ember.protocol.parser import RequestParser
from ember.server.app import Server
from ember.server.client import Client

load_all()


@pytest.fixture
def db():
    return Server(Config()).dbs[0]


def test_listeners_run_on_every_change_until_unlistened(db):
    seen = []

    def listener(database, key):
        seen.append(key)

    db.listen(listener)
    db.listen(listener)  # listening twice still calls once
    db.set(b"a", b"1")
    db.modified(b"a")
    db.delete(b"a")
    db.flush()
    assert seen.count(b"a") == 3 and seen[-1] is None
    db.unlisten(listener)
    db.set(b"b", b"1")
    assert b"b" not in seen


def test_a_listener_may_unlisten_while_being_called(db):
    calls = []

    def first(database, key):
        calls.append("first")
        database.unlisten(first)

    def second(database, key):
        calls.append("second")

    db.listen(first)
    db.listen(second)
    db.set(b"k", b"v")
    db.set(b"k", b"w")
    assert calls == ["first", "second", "second"]


def test_writes_count_as_dirty_with_or_without_listeners(db):
    db.on_key_change = []
    before = db.server.dirty
    db.set(b"k", b"v")
    db.modified(b"k", 3)
    assert db.server.dirty == before + 4


def test_access_times_come_from_the_ticking_clock(db):
    """Stamps are the clock's last tick (Redis's LRU clock), whatever the real time since."""
    ACCESS_CLOCK.tick()
    assert abs(ACCESS_CLOCK.ms - time.time() * 1000) < 1000
    ACCESS_CLOCK.ms -= 5000  # as if the last tick were five seconds ago
    try:
        db.set(b"k", b"v")
        db.set(b"list", b"v")
        db.read(b"k")
        assert db.lru[b"k"] == db.lru[b"list"] == ACCESS_CLOCK.ms
        ACCESS_CLOCK.tick()
        db.modified(b"list")  # a change in place is an access too
        assert db.lru[b"list"] == ACCESS_CLOCK.ms > db.lru[b"k"]
        db.delete(b"k")
        assert b"k" not in db.lru  # a deleted key keeps no time
    finally:
        ACCESS_CLOCK.tick()


@pytest.mark.parametrize("resp", [2, 3])
def test_aggregates_mix_short_long_and_other_items(resp):
    long_value = b"x" * 5000
    items = [b"a", long_value, b"", 7, None, [b"nested", b"y" * 1023, b"z" * 1024], bytearray(b"raw")]
    null = b"_\r\n" if resp == 3 else b"$-1\r\n"
    expected = (b"*7\r\n$1\r\na\r\n$5000\r\n" + long_value + b"\r\n$0\r\n\r\n:7\r\n" + null
                + b"*3\r\n$6\r\nnested\r\n$1023\r\n" + b"y" * 1023 + b"\r\n$1024\r\n" + b"z" * 1024 + b"\r\n"
                + b"$3\r\nraw\r\n")
    assert encode(items, resp) == expected


def test_maps_sets_and_pushes_encode_their_items():
    assert encode({b"f": b"v", b"n": 1}, 2) == b"*4\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\nn\r\n:1\r\n"
    assert encode({b"f": b"v", b"n": 1}, 3) == b"%2\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\nn\r\n:1\r\n"
    assert encode(SetReply([b"m"]), 3) == b"~1\r\n$1\r\nm\r\n"
    assert encode(Push([b"message", b"c", b"d"]), 3) == b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nd\r\n"
    assert encode(Push([b"message", b"c", b"d"]), 2) == b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nd\r\n"


def request(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(arg), arg) for arg in args)


def test_a_read_too_large_to_join_is_checked_request_by_request():
    big = b"v" * 700_000
    commands, error = RequestParser().feed(request(b"SET", b"a", big) + request(b"SET", b"b", big))
    assert error is None
    assert commands == [[b"SET", b"a", big], [b"SET", b"b", big]]


@pytest.mark.parametrize("size", [10, 700_000])
def test_a_non_bulk_argument_is_refused_whatever_the_read_size(size):
    data = request(b"SET", b"a", b"v" * size) + b"*2\r\n$3\r\nGET\r\n:1\r\n"
    commands, error = RequestParser().feed(data)
    assert commands == [[b"SET", b"a", b"v" * size]]
    assert error is not None and error.reply.message == "ERR Protocol error: expected '$', got ':'"


def test_a_waiter_whose_client_closes_while_served_is_forgotten_once():
    """serve_ready releases a waiter after serving it; if its client closed meanwhile (and was
    forgotten then), the release must not forget it a second time."""
    server = Server(Config())
    blocking = server.blocking
    db = server.dbs[0]
    closed_during_serve = []
    client = Client(server, None, "127.0.0.1:1", "127.0.0.1:6379")  # no socket: replies dropped

    def serve():
        blocking.client_closed(client)  # e.g. its output buffer overflowed while being served
        closed_during_serve.append(True)
        return b"served"

    blocking.block(client, [b"k"], 0, serve)
    assert blocking.by_key and db.on_key_change
    db.set(b"k", b"v")
    blocking.serve_ready()
    assert closed_during_serve == [True]
    assert not blocking.by_key and not blocking.waiters and not db.on_key_change
