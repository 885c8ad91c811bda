"""Stream commands against a real Ember process: redis-py in RESP2 and RESP3, the Redis 7.2
behaviour the 7.0 oracle cannot check (consumer active-time / `inactive`, consumers created by
empty reads and claims, XSETID's max-deleted check, error texts), the clock-dependent
bookkeeping (PEL delivery times and counts, idle filters), blocking XREAD/XREADGROUP and the
paths RQ uses for job results."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from ember.protocol.errors import WRONGTYPE
from tests.conftest import raw, wait_until
from tests.differential.harness import RawConnection, decode


def wire(client: redis.Redis, *args) -> bytes:
    """The exact reply bytes (error replies keep their code, e.g. '-ERR ...')."""
    connection = RawConnection(client.connection_pool.connection_kwargs["port"])
    try:
        return connection.call(*args)
    finally:
        connection.close()


def blocked_clients(client: redis.Redis) -> int:
    return int(client.info("clients")["blocked_clients"])


class Background:
    """Runs one blocking command on its own raw connection; `result` is the reply's bytes."""

    def __init__(self, ember, *args, protocol: int = 2) -> None:
        self.connection = RawConnection(ember.port, timeout=20)
        if protocol == 3:
            self.connection.call("HELLO", "3")
        self.result: bytes | Exception | None = None
        self.thread = threading.Thread(target=self._run, args=(args,), daemon=True)
        self.thread.start()

    def _run(self, args) -> None:
        try:
            self.result = self.connection.call(*args)
        except Exception as exc:  # surfaced by join()
            self.result = exc

    def join(self):
        """The parsed reply (errors as hiredis ReplyError values)."""
        self.thread.join(20)
        assert not self.thread.is_alive(), "blocked command never answered"
        self.connection.close()
        if isinstance(self.result, Exception):
            raise self.result
        return decode(self.result)


def block(r, ember, *args, protocol: int = 2, already: int = 0) -> Background:
    """Start a blocking command and wait until the server reports it blocked."""
    waiter = Background(ember, *args, protocol=protocol)
    wait_until(lambda: blocked_clients(r) == already + 1, message="client to block")
    return waiter


def pairs(flat: list) -> dict:
    """A RESP2 map (flat key, value list) as a dict."""
    return dict(zip(flat[0::2], flat[1::2], strict=True))


def load(r, key="s", count=3):
    for i in range(1, count + 1):
        r.xadd(key, {"f": str(i)}, id=f"{i}-0")


# -- basics in both protocols ---------------------------------------------------------------------

def test_xadd_xrange_xread_resp2(r):
    assert r.xadd("s", {"a": "1", "b": "2"}, id="1-1") == b"1-1"
    assert r.xadd("s", {"c": "3"}, id="2-*") == b"2-0"
    assert r.xadd("s", {"d": "4"}, id="2-*") == b"2-1"
    assert r.xlen("s") == 3
    assert r.xrange("s") == [(b"1-1", {b"a": b"1", b"b": b"2"}), (b"2-0", {b"c": b"3"}), (b"2-1", {b"d": b"4"})]
    assert r.xrevrange("s", count=1) == [(b"2-1", {b"d": b"4"})]
    assert r.xread({"s": "1-1"}, count=1) == [[b"s", [(b"2-0", {b"c": b"3"})]]]
    assert raw(r, "XREAD", "STREAMS", "s", "nokey", "2-0", "0") == [[b"s", [[b"2-1", [b"d", b"4"]]]]]
    assert raw(r, "XRANGE", "s", "-", "+", "COUNT", "0") is None


def test_xadd_xrange_xread_resp3(r3):
    r3.xadd("s", {"a": "1"}, id="1-0")
    r3.xadd("s", {"b": "2"}, id="2-0")
    assert raw(r3, "XREAD", "STREAMS", "s", "0") == {b"s": [[b"1-0", [b"a", b"1"]], [b"2-0", [b"b", b"2"]]]}
    assert raw(r3, "XREAD", "STREAMS", "s", "s", "0", "1-0") == {b"s": [[b"2-0", [b"b", b"2"]]]}
    assert raw(r3, "XREAD", "STREAMS", "s", "9") is None
    info = raw(r3, "XINFO", "STREAM", "s")
    assert info[b"length"] == 2 and info[b"first-entry"] == [b"1-0", [b"a", b"1"]]
    r3.xgroup_create("s", "g", "0")
    assert raw(r3, "XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">") == {
        b"s": [[b"1-0", [b"a", b"1"]]]}
    assert raw(r3, "XINFO", "GROUPS", "s")[0][b"lag"] == 1


def test_auto_ids_follow_the_clock_and_never_go_back(r):
    before = int(time.time() * 1000)
    first = r.xadd("s", {"f": "v"}).decode()
    ms, seq = map(int, first.split("-"))
    assert ms >= before - 1000 and seq == 0
    second = r.xadd("s", {"f": "v"}).decode()
    assert tuple(map(int, second.split("-"))) > (ms, seq)
    r.xadd("future", {"f": "v"}, id="99999999999999-5")
    assert r.xadd("future", {"f": "v"}) == b"99999999999999-6"
    r.execute_command("XSETID", "future", "99999999999999-18446744073709551615")
    assert r.xadd("future", {"f": "v"}) == b"100000000000000-0"


def test_xadd_errors(r):
    r.xadd("s", {"f": "v"}, id="5-5")
    cases = [
        (("XADD", "s", "5-5", "f", "v"), "ERR The ID specified in XADD is equal or smaller than the target stream top item"),
        (("XADD", "s", "5-*", "f", "v"), None),
        (("XADD", "new", "0-0", "f", "v"), "ERR The ID specified in XADD must be greater than 0-0"),
        (("XADD", "s", "x-1", "f", "v"), "ERR Invalid stream ID specified as stream command argument"),
        (("XADD", "s", "MAXLEN", "1", "MINID", "1", "*", "f", "v"),
         "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"),
        (("XADD", "s", "MAXLEN", "-1", "*", "f", "v"), "ERR The MAXLEN argument must be >= 0."),
        (("XADD", "s", "LIMIT", "5", "*", "f", "v"),
         "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"),
        (("XADD", "s", "MAXLEN", "5", "LIMIT", "5", "*", "f", "v"),
         "ERR syntax error, LIMIT cannot be used without the special ~ option"),
        (("XADD", "s", "*", "f"), "ERR wrong number of arguments for 'xadd' command"),
    ]
    for args, error in cases:
        if error is None:
            assert raw(r, *args) == b"5-6"
        else:
            assert wire(r, *args) == f"-{error}\r\n".encode(), args
    assert raw(r, "XADD", "nokey", "NOMKSTREAM", "*", "f", "v") is None
    assert r.exists("nokey") == 0
    r.execute_command("XSETID", "s", "18446744073709551615-18446744073709551615")
    with pytest.raises(redis.ResponseError, match="^The stream has exhausted the last possible ID, unable to add more items$"):
        raw(r, "XADD", "s", "*", "f", "v")
    r.sadd("set", "x")
    with pytest.raises(redis.ResponseError, match=f"^{WRONGTYPE}$"):
        r.xadd("set", {"f": "v"})


def test_redis_72_error_texts(r):
    load(r)
    with pytest.raises(redis.ResponseError) as info:
        raw(r, "XREAD", "STREAMS", "s", "s2", "0")
    assert str(info.value) == "Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be specified."
    with pytest.raises(redis.ResponseError) as info:
        raw(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "s2", ">")
    assert str(info.value) == ("Unbalanced 'xreadgroup' list of streams: for each stream key an ID or '>' must "
                               "be specified.")
    with pytest.raises(redis.ResponseError, match="^timeout is out of range$"):
        raw(r, "XREAD", "BLOCK", "9223372036854775807", "STREAMS", "s", "0")
    with pytest.raises(redis.ResponseError, match="^timeout is not an integer or out of range$"):
        raw(r, "XREAD", "BLOCK", "+5", "STREAMS", "s", "0")
    with pytest.raises(redis.ResponseError, match="^timeout is negative$"):
        raw(r, "XREAD", "BLOCK", "-5", "STREAMS", "s", "0")
    r.xdel("s", "2-0")
    assert raw(r, "XSETID", "s", "3-0") == b"OK"  # equal to the top entry is fine
    r.xdel("s", "3-0")
    with pytest.raises(redis.ResponseError) as info:
        raw(r, "XSETID", "s", "2-5")  # above the top entry (1-0), below the max deleted ID (3-0)
    assert str(info.value) == "The ID specified in XSETID is smaller than current max_deleted_entry_id"


def test_type_encoding_and_copy(r):
    load(r)
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "c", {"s": ">"}, count=2)
    assert r.type("s") == b"stream"
    assert r.object("encoding", "s") == b"stream"
    assert r.copy("s", "t") == 1
    r.xack("s", "g", "1-0")
    r.xadd("s", {"f": "4"}, id="4-0")
    assert r.xlen("t") == 3
    assert r.xpending("t", "g")["pending"] == 2
    assert r.xinfo_groups("t")[0]["last-delivered-id"] == b"2-0"


def test_radix_tree_numbers_match_redis(r):
    """Values reported by redis-server for the same operations (100 entries per node)."""
    pipe = r.pipeline(transaction=False)
    for i in range(1, 1001):
        pipe.xadd("rt", {"field": "value"}, id=f"{i}-0")
    pipe.execute()
    info = r.xinfo_stream("rt")
    assert (info["radix-tree-keys"], info["radix-tree-nodes"]) == (10, 26)
    r.xtrim("rt", maxlen=500, approximate=True)
    info = r.xinfo_stream("rt")
    assert (info["length"], info["radix-tree-keys"], info["radix-tree-nodes"]) == (500, 5, 14)
    r.xadd("rt", {"f": "x" * 5000}, id="2000-0")  # too big for the tail node's 4096 bytes
    info = r.xinfo_stream("rt")
    assert (info["length"], info["radix-tree-keys"], info["radix-tree-nodes"]) == (501, 6, 16)


# -- consumer bookkeeping (7.2) -------------------------------------------------------------------

def consumers(r, key="s", group="g") -> dict:
    return {c["name"]: c for c in r.xinfo_consumers(key, group)}


def test_empty_read_creates_consumer_seen_but_never_active(r):
    r.xgroup_create("s", "g", "$", mkstream=True)
    assert r.xreadgroup("g", "alice", {"s": ">"}) == []
    alice = consumers(r)[b"alice"]
    assert alice["pending"] == 0 and alice["inactive"] == -1 and alice["idle"] >= 0
    wait_until(lambda: consumers(r)[b"alice"]["idle"] >= 50, message="idle time to grow")
    r.xadd("s", {"f": "v"}, id="1-0")
    r.xreadgroup("g", "alice", {"s": ">"})
    alice = consumers(r)[b"alice"]
    assert alice["pending"] == 1 and 0 <= alice["inactive"] < 5000 and alice["idle"] < 50
    group = pairs(pairs(raw(r, "XINFO", "STREAM", "s", "FULL"))[b"groups"][0])
    consumer = pairs(group[b"consumers"][0])
    assert list(consumer) == [b"name", b"seen-time", b"active-time", b"pel-count", b"pending"]
    assert consumer[b"active-time"] <= consumer[b"seen-time"]
    assert consumer[b"pending"] == [[b"1-0", consumer[b"active-time"], 1]]


def test_claims_create_the_consumer(r):
    load(r)
    r.xgroup_create("s", "g", "0")
    assert r.xclaim("s", "g", "bob", 0, ["1-0"]) == []
    assert r.xautoclaim("s", "g", "carol", 0, "0") == [b"0-0", [], []]
    assert set(consumers(r)) == {b"bob", b"carol"}
    assert consumers(r)[b"bob"]["inactive"] == -1


def test_pel_delivery_counts_and_times(r):
    load(r)
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "c1", {"s": ">"})
    rows = r.xpending_range("s", "g", "-", "+", 10)
    assert [(row["message_id"], row["consumer"], row["times_delivered"]) for row in rows] == [
        (b"1-0", b"c1", 1), (b"2-0", b"c1", 1), (b"3-0", b"c1", 1)]
    r.xreadgroup("g", "c1", {"s": "0"}, count=2)  # history re-delivers
    assert [row["times_delivered"] for row in r.xpending_range("s", "g", "-", "+", 10)] == [2, 2, 1]
    assert r.xclaim("s", "g", "c2", 0, ["1-0"], idle=60_000, justid=True) == [b"1-0"]
    row = r.xpending_range("s", "g", "1-0", "1-0", 1)[0]
    assert row["consumer"] == b"c2" and row["times_delivered"] == 2 and 60_000 <= row["time_since_delivered"] < 70_000
    r.xclaim("s", "g", "c2", 0, ["2-0"], time=int(time.time() * 1000) - 30_000, retrycount=9)
    row = r.xpending_range("s", "g", "2-0", "2-0", 1)[0]
    assert row["times_delivered"] == 9 and 30_000 <= row["time_since_delivered"] < 40_000
    assert [row["message_id"] for row in r.xpending_range("s", "g", "-", "+", 10, idle=20_000)] == [b"1-0", b"2-0"]
    assert r.xclaim("s", "g", "c3", 50_000, ["1-0", "2-0", "3-0"], justid=True) == [b"1-0"]
    summary = r.xpending("s", "g")
    assert summary["pending"] == 3 and summary["min"] == b"1-0" and summary["max"] == b"3-0"
    assert summary["consumers"] == [{"name": b"c1", "pending": 1}, {"name": b"c2", "pending": 1},
                                    {"name": b"c3", "pending": 1}]


def test_xautoclaim_reports_and_drops_deleted_entries(r):
    load(r, count=5)
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "c1", {"s": ">"})
    r.xdel("s", "2-0", "3-0")
    # COUNT counts the deleted entries too; the cursor is the next PEL entry.
    assert raw(r, "XAUTOCLAIM", "s", "g", "c2", "0", "0", "COUNT", "3", "JUSTID") == [
        b"4-0", [b"1-0"], [b"2-0", b"3-0"]]
    assert raw(r, "XAUTOCLAIM", "s", "g", "c2", "0", "4-0", "JUSTID") == [b"0-0", [b"4-0", b"5-0"], []]
    assert r.xpending("s", "g")["pending"] == 3


def test_lag_becomes_unknown_behind_a_tombstone(r):
    load(r, count=5)
    r.xgroup_create("s", "g", "0")
    assert r.xinfo_groups("s")[0]["lag"] == 5
    r.xreadgroup("g", "c", {"s": ">"}, count=1)
    r.xdel("s", "3-0")
    group = r.xinfo_groups("s")[0]
    assert group["entries-read"] == 1 and group["lag"] is None
    r.xreadgroup("g", "c", {"s": ">"})
    group = r.xinfo_groups("s")[0]
    assert group["entries-read"] == 5 and group["lag"] == 0


# -- keyspace events, key positions ---------------------------------------------------------------

def test_keyspace_notifications(r, ember):
    r.config_set("notify-keyspace-events", "Et")
    listener = ember.client()
    pubsub = listener.pubsub()
    pubsub.psubscribe("__keyevent@0__:*")
    wait_until(lambda: pubsub.get_message(timeout=0.1) is not None, message="psubscribe confirmation")
    try:
        r.xadd("s", {"f": "v"}, id="1-0")
        r.xadd("s", {"f": "v"}, id="2-0", maxlen=1, approximate=False)
        r.xgroup_create("s", "g", "0")
        r.xgroup_createconsumer("s", "g", "c")
        r.xreadgroup("g", "d", {"s": ">"})
        r.xdel("s", "2-0")
        r.execute_command("XSETID", "s", "5-0")
        r.xgroup_delconsumer("s", "g", "c")
        r.xgroup_destroy("s", "g")
        events: list[bytes] = []

        def collect() -> bool:
            message = pubsub.get_message(timeout=0.05)
            if message is not None:
                events.append(message["channel"].split(b":", 1)[1])
            return len(events) >= 10

        wait_until(collect, message="all events")
        assert events == [b"xadd", b"xadd", b"xtrim", b"xgroup-create", b"xgroup-createconsumer",
                          b"xgroup-createconsumer", b"xdel", b"xsetid", b"xgroup-delconsumer", b"xgroup-destroy"]
    finally:
        r.config_set("notify-keyspace-events", "")
        pubsub.close()
        listener.close()


def test_command_getkeys_for_reads(r):
    assert raw(r, "COMMAND", "GETKEYS", "XREAD", "COUNT", "1", "STREAMS", "a", "b", "0", "0") == [b"a", b"b"]
    assert raw(r, "COMMAND", "GETKEYS", "XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", ">") == [b"a"]
    assert raw(r, "COMMAND", "GETKEYS", "XGROUP", "CREATE", "k", "g", "$") == [b"k"]


# -- blocking -------------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol,timeout_reply", [(2, b"*-1\r\n"), (3, b"_\r\n")])
def test_block_timeout_is_a_null_array(ember, protocol, timeout_reply):
    from tests.differential.harness import RawConnection
    connection = RawConnection(ember.port)
    try:
        if protocol == 3:
            connection.call("HELLO", "3")
        connection.call("XADD", "tmo", "1-0", "f", "v")
        assert connection.call("XREAD", "BLOCK", "20", "STREAMS", "tmo", "$") == timeout_reply
        connection.call("XGROUP", "CREATE", "tmo", "g", "$")
        assert connection.call("XREADGROUP", "GROUP", "g", "c", "BLOCK", "20", "STREAMS", "tmo", ">") == timeout_reply
    finally:
        connection.call("DEL", "tmo")
        connection.close()


def test_xread_block_served_by_xadd(r, ember):
    r.xadd("s", {"f": "old"}, id="1-0")
    waiter = block(r, ember, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    r.xadd("s", {"f": "new"}, id="2-0")
    assert waiter.join() == [[b"s", [[b"2-0", [b"f", b"new"]]]]]


def test_xread_block_resp3_reply_is_a_map(r, ember):
    waiter = block(r, ember, "XREAD", "BLOCK", "0", "STREAMS", "s", "$", protocol=3)
    r.xadd("s", {"f": "new"}, id="2-0")
    assert waiter.join() == {b"s": [[b"2-0", [b"f", b"new"]]]}


def test_xread_block_waits_through_deletion_and_wrong_type(r, ember):
    r.xadd("s", {"f": "old"}, id="5-0")
    waiter = block(r, ember, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    r.delete("s")
    r.sadd("s", "member")  # not a stream: the reader is not woken
    r.delete("s")
    assert blocked_clients(r) == 1  # a woken reader would have been answered before DEL's reply
    r.xadd("s", {"f": "new"}, id="1-0")  # a new stream; the rewritten $ is 5-0
    r.xadd("s", {"f": "newer"}, id="6-0")
    assert waiter.join() == [[b"s", [[b"6-0", [b"f", b"newer"]]]]]


def test_xreadgroup_block_served_and_recorded(r, ember):
    r.xgroup_create("s", "g", "$", mkstream=True)
    waiter = block(r, ember, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
    r.xadd("s", {"f": "v"}, id="1-0")
    assert waiter.join() == [[b"s", [[b"1-0", [b"f", b"v"]]]]]
    assert r.xpending("s", "g")["consumers"] == [{"name": b"c", "pending": 1}]


def test_one_entry_goes_to_the_first_of_two_group_readers(r, ember):
    r.xgroup_create("s", "g", "$", mkstream=True)
    first = block(r, ember, "XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">")
    second = block(r, ember, "XREADGROUP", "GROUP", "g", "c2", "BLOCK", "0", "STREAMS", "s", ">", already=1)
    r.xadd("s", {"f": "v"}, id="1-0")
    assert first.join() == [[b"s", [[b"1-0", [b"f", b"v"]]]]]
    assert blocked_clients(r) == 1
    r.xadd("s", {"f": "w"}, id="2-0")
    assert second.join() == [[b"s", [[b"2-0", [b"f", b"w"]]]]]


NOGROUP = "NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option"


@pytest.mark.parametrize("change,error", [
    (lambda r: r.delete("s"), NOGROUP),
    (lambda r: r.xgroup_destroy("s", "g"), NOGROUP),
    (lambda r: r.flushall(), NOGROUP),
    (lambda r: r.rename("s", "elsewhere"), NOGROUP),
    (lambda r: r.pipeline(transaction=True).delete("s").sadd("s", "x").execute(), WRONGTYPE),
    (lambda r: r.swapdb(0, 9), NOGROUP),
    (lambda r: (r.execute_command("SELECT", "9"), r.sadd("s", "x"), r.execute_command("SELECT", "0"),
                r.swapdb(0, 9)), WRONGTYPE),
], ids=["deleted", "group-destroyed", "flushall", "renamed", "type-changed", "swapdb-missing", "swapdb-set"])
def test_xreadgroup_block_woken_with_error(r, ember, change, error):
    """Redis 7.2 re-runs the blocked XREADGROUP, which now fails (7.0 said 'UNBLOCKED ...')."""
    r.xgroup_create("s", "g", "$", mkstream=True)
    waiter = block(r, ember, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
    change(r)
    assert str(waiter.join()) == error


def test_setid_alone_does_not_wake_a_group_reader(r, ember):
    load(r)
    r.xgroup_create("s", "g", "$")
    waiter = block(r, ember, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
    r.xgroup_setid("s", "g", "0")  # entries are now undelivered, but nothing signals the key
    assert blocked_clients(r) == 1
    r.xadd("s", {"f": "4"}, id="4-0")
    reply = waiter.join()
    assert [entry[0] for entry in reply[0][1]] == [b"1-0", b"2-0", b"3-0", b"4-0"]


def test_readers_behind_an_unservable_one_are_served(r, ember):
    r.xadd("s", {"f": "old"}, id="1-0")
    future = block(r, ember, "XREAD", "BLOCK", "3000", "STREAMS", "s", "99999999999999-0")
    current = block(r, ember, "XREAD", "BLOCK", "3000", "STREAMS", "s", "$", already=1)
    r.xadd("s", {"f": "new"}, id="2-0")
    assert current.join() == [[b"s", [[b"2-0", [b"f", b"new"]]]]]
    future.join()


def test_block_inside_multi_answers_at_once(r, ember):
    r.xgroup_create("s", "g", "$", mkstream=True)
    connection = RawConnection(ember.port)
    try:
        connection.call("MULTI")
        connection.call("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
        connection.call("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
        assert connection.call("EXEC") == b"*2\r\n*-1\r\n*-1\r\n"
    finally:
        connection.close()


def test_history_read_ignores_block(r):
    r.xgroup_create("s", "g", "$", mkstream=True)
    assert raw(r, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", "0") == [[b"s", []]]


# -- RQ's result-stream paths ---------------------------------------------------------------------

def test_rq_result_stream(r, ember):
    key = "rq:results:job-1"
    for i in range(25):
        r.xadd(key, {"type": "1", "result": f"r{i}"}, maxlen=10, approximate=True)
    assert 10 <= r.xlen(key) <= 25
    latest = r.xrevrange(key, "+", "-", count=1)
    assert latest[0][1] == {b"type": b"1", b"result": b"r24"}
    last_id = latest[0][0]
    waiter = block(r, ember, "XREAD", "BLOCK", "5000", "STREAMS", key, last_id)
    r.xadd(key, {"type": "2", "result": "done"}, maxlen=10, approximate=True)
    reply = waiter.join()
    assert reply[0][0] == key.encode() and reply[0][1][0][1] == [b"type", b"2", b"result", b"done"]
    assert r.xread({key: "$"}, block=10) == []
    assert len(r.xrevrange(key, "+", "-")) == r.xlen(key)


def test_rq_fetch_latest_waits_for_the_first_result(r, ember):
    """Result.fetch_latest(timeout=...): XREAD BLOCK from 0-0 on a key that does not exist yet."""
    key = "rq:results:job-2"
    waiter = block(r, ember, "XREAD", "BLOCK", "5000", "STREAMS", key, "0-0")
    r.xadd(key, {"type": "1", "worker_name": "w", "execution_started_at": 1700000000.25}, maxlen=10)
    r.expire(key, 500)
    reply = waiter.join()
    assert reply[0][0] == key.encode()
    assert reply[0][1][-1][1] == [b"type", b"1", b"worker_name", b"w", b"execution_started_at", b"1700000000.25"]
    assert 0 < r.ttl(key) <= 500
    r.xadd(key, {"type": "2"}, maxlen=10)
    assert 0 < r.ttl(key) <= 500  # XADD keeps the key's TTL
