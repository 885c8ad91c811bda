"""Client-side caching (CLIENT TRACKING) against a real Ember, over raw sockets so that every
push and its position relative to replies is checked: default mode, NOLOOP, OPTIN/OPTOUT with
CLIENT CACHING (one command, or one whole transaction), BCAST prefixes batched per event-loop
turn, REDIRECT to RESP3 clients and to RESP2 subscribers of __redis__:invalidate, broken
redirects, flushes (one null invalidation), key names shared by all databases, expiry,
tracking-table-max-keys, RESET. redis-py's own client-side cache refuses servers older than 7.4,
so it cannot be used here.
"""

from __future__ import annotations

import pytest

from tests.conftest import wait_until
from tests.differential.harness import RawConnection, decode


def invalidate(*keys: str) -> bytes:
    """The RESP3 push for these keys."""
    body = b"".join(b"$%d\r\n%s\r\n" % (len(k), k.encode()) for k in keys)
    return b">2\r\n$10\r\ninvalidate\r\n*%d\r\n%s" % (len(keys), body)


INVALIDATE_ALL = b">2\r\n$10\r\ninvalidate\r\n_\r\n"


@pytest.fixture
def connect(ember, r):
    opened: list[RawConnection] = []

    def open_connection(resp: int = 3, *tracking: str) -> RawConnection:
        connection = RawConnection(ember.port)
        opened.append(connection)
        if resp == 3:
            connection.call("HELLO", "3")
        if tracking:
            assert connection.call("CLIENT", "TRACKING", *tracking) == b"+OK\r\n"
        return connection

    yield open_connection
    for connection in opened:
        connection.close()
    r.config_set("tracking-table-max-keys", 1000000)


def nothing_pending(connection: RawConnection) -> bool:
    """True when the next reply is PING's own: no push was waiting before it."""
    return connection.call("PING") == b"+PONG\r\n"


def client_id(connection: RawConnection) -> int:
    return decode(connection.call("CLIENT", "ID"))


def test_default_mode_invalidates_once(connect, r):
    tracker = connect(3, "ON")
    tracker.call("GET", "k")
    r.set("k", "1")
    assert tracker.read_reply() == invalidate("k")
    r.set("k", "2")  # not read again since: forgotten
    assert nothing_pending(tracker)
    tracker.call("MGET", "k", "other")
    r.delete("k")
    r.set("other", "x")
    assert [tracker.read_reply(), tracker.read_reply()] == [invalidate("k"), invalidate("other")]


def test_only_read_commands_remember_keys(connect, r):
    tracker = connect(3, "ON")
    tracker.call("SET", "w", "1")  # a write: not cached by the client
    r.set("w", "2")
    assert nothing_pending(tracker)


def test_own_change_is_pushed_after_the_reply(connect):
    tracker = connect(3, "ON")
    tracker.call("GET", "k")
    assert tracker.call("SET", "k", "v") == b"+OK\r\n"
    assert tracker.read_reply() == invalidate("k")
    tracker.call("GET", "a")
    tracker.call("GET", "b")
    tracker.call("MULTI")
    tracker.call("SET", "a", "1")
    tracker.call("SET", "b", "1")
    assert tracker.call("EXEC") == b"*2\r\n+OK\r\n+OK\r\n"  # no push inside the array
    assert [tracker.read_reply(), tracker.read_reply()] == [invalidate("a"), invalidate("b")]


def test_noloop_skips_own_changes(connect, r):
    tracker = connect(3, "ON", "NOLOOP")
    tracker.call("GET", "k")
    tracker.call("SET", "k", "mine")
    assert nothing_pending(tracker)
    tracker.call("GET", "k")
    r.set("k", "theirs")
    assert tracker.read_reply() == invalidate("k")


def test_optin_tracks_only_after_caching_yes(connect, r):
    tracker = connect(3, "ON", "OPTIN")
    tracker.call("GET", "plain")
    assert tracker.call("CLIENT", "CACHING", "YES") == b"+OK\r\n"
    tracker.call("GET", "chosen")
    tracker.call("GET", "after")  # CACHING covered one command only
    r.mset({"plain": 1, "chosen": 1, "after": 1})
    assert tracker.read_reply() == invalidate("chosen")
    assert nothing_pending(tracker)


def test_optin_caching_covers_a_whole_transaction(connect, r):
    tracker = connect(3, "ON", "OPTIN")
    tracker.call("CLIENT", "CACHING", "YES")
    tracker.call("MULTI")
    tracker.call("GET", "a")
    tracker.call("GET", "b")
    tracker.call("EXEC")
    tracker.call("GET", "c")
    r.mset({"a": 1, "b": 1, "c": 1})
    assert [tracker.read_reply(), tracker.read_reply()] == [invalidate("a"), invalidate("b")]
    assert nothing_pending(tracker)


def test_optout_skips_after_caching_no(connect, r):
    tracker = connect(3, "ON", "OPTOUT")
    tracker.call("CLIENT", "CACHING", "NO")
    tracker.call("GET", "skipped")
    tracker.call("GET", "tracked")
    r.mset({"skipped": 1, "tracked": 1})
    assert tracker.read_reply() == invalidate("tracked")
    assert nothing_pending(tracker)


def test_bcast_prefixes_batch_sorted_keys(connect, r):
    tracker = connect(3, "ON", "BCAST", "PREFIX", "user:", "PREFIX", "job:")
    pipe = r.pipeline(transaction=True)
    pipe.set("user:2", 1).set("user:1", 1).set("job:9", 1).set("other", 1).set("user:1", 2)
    pipe.execute()
    pushes = {tracker.read_reply(), tracker.read_reply()}
    assert pushes == {invalidate("user:1", "user:2"), invalidate("job:9")}
    assert nothing_pending(tracker)


def test_bcast_without_prefix_and_noloop(connect, r):
    tracker = connect(3, "ON", "BCAST", "NOLOOP")
    tracker.call("SET", "mine", "1")
    r.set("theirs", "1")
    assert tracker.read_reply() == invalidate("theirs")
    assert nothing_pending(tracker)


def test_redirect_to_a_resp2_subscriber(connect, r):
    receiver = connect(2)
    receiver_id = client_id(receiver)
    assert receiver.call("SUBSCRIBE", "__redis__:invalidate").startswith(b"*3\r\n$9\r\nsubscribe")
    tracker = connect(2, "ON", "REDIRECT", str(receiver_id))
    tracker.call("GET", "k")
    r.set("k", "v")
    assert decode(receiver.read_reply()) == [b"message", b"__redis__:invalidate", [b"k"]]
    r.flushdb()
    assert decode(receiver.read_reply()) == [b"message", b"__redis__:invalidate", None]


def test_redirect_to_a_resp3_client(connect, r):
    receiver = connect(3)
    tracker = connect(2, "ON", "REDIRECT", str(client_id(receiver)))
    tracker.call("GET", "k")
    tracker.call("SET", "k", "v")
    assert receiver.read_reply() == invalidate("k")
    assert nothing_pending(tracker)  # RESP2: the tracking client itself never gets pushes


def test_resp2_without_redirect_receives_nothing(connect, r):
    tracker = connect(2, "ON")
    tracker.call("GET", "k")
    r.set("k", "v")
    assert nothing_pending(tracker)


def test_broken_redirect_is_reported(connect, r):
    receiver = connect(3)
    receiver_id = client_id(receiver)
    tracker = connect(3, "ON", "REDIRECT", str(receiver_id))
    tracker.call("GET", "k")
    receiver.close()
    wait_until(lambda: receiver_id not in [int(c["id"]) for c in r.client_list()], message="receiver gone")
    assert b"broken_redirect" not in tracker.call("CLIENT", "TRACKINGINFO")  # noticed lazily, as Redis
    r.set("k", "v")
    assert decode(tracker.read_reply()) == [b"tracking-redir-broken", receiver_id]
    assert b"broken_redirect" in tracker.call("CLIENT", "TRACKINGINFO")


def test_flushall_sends_one_null_invalidation(connect, r):
    tracker = connect(3, "ON")
    bcast = connect(3, "ON", "BCAST")
    r.flushall()
    assert tracker.read_reply() == INVALIDATE_ALL
    assert bcast.read_reply() == INVALIDATE_ALL
    assert nothing_pending(tracker) and nothing_pending(bcast)
    assert tracker.call("FLUSHDB") == b"+OK\r\n"  # the flusher's own: after its reply
    assert tracker.read_reply() == INVALIDATE_ALL


def test_keys_are_shared_by_all_databases(ember, connect):
    tracker = connect(3, "ON")
    tracker.call("GET", "k")
    other_db = ember.client(db=5)
    other_db.set("k", "v")
    other_db.close()
    assert tracker.read_reply() == invalidate("k")


def test_expiry_invalidates(connect, r):
    r.set("short", "v", px=20)
    tracker = connect(3, "ON")
    tracker.call("GET", "short")
    assert tracker.read_reply() == invalidate("short")  # active expiry deleted it


def test_table_limit_evicts_keys_with_invalidations(connect, r):
    r.config_set("tracking-table-max-keys", 2)
    tracker = connect(3, "ON")
    for key in ("a", "b", "c"):
        tracker.call("GET", key)
    assert tracker.read_reply() in (invalidate("a"), invalidate("b"), invalidate("c"))  # Redis: a random one
    assert r.info("stats")["tracking_total_keys"] == 2


def test_info_counts(connect, r):
    before = r.info("clients")["tracking_clients"]
    tracker = connect(3, "ON")
    connect(3, "ON", "BCAST", "PREFIX", "p:")
    tracker.call("MGET", "x", "y")
    assert r.info("clients")["tracking_clients"] == before + 2
    stats = r.info("stats")
    assert (stats["tracking_total_keys"], stats["tracking_total_prefixes"]) == (2, 1)


def test_reset_and_off_stop_tracking(connect, r):
    tracker = connect(3, "ON", "BCAST")
    assert tracker.call("RESET") == b"+RESET\r\n"
    tracker.call("HELLO", "3")
    r.set("k", "v")
    assert nothing_pending(tracker)
    assert decode(tracker.call("CLIENT", "TRACKINGINFO"))[b"flags"] == [b"off"]
    tracker.call("CLIENT", "TRACKING", "ON")
    tracker.call("GET", "k")
    tracker.call("CLIENT", "TRACKING", "OFF")
    r.set("k", "w")
    assert nothing_pending(tracker)
