"""redis-py's higher-level features against Ember, in RESP2 and RESP3: Lock (its acquire, extend,
reacquire and release Lua scripts), pipelines with and without MULTI/EXEC, `transaction()` with
WATCH retries under a real concurrent writer, and PubSub.run_in_thread.
"""

from __future__ import annotations

import threading

import pytest
from redis.exceptions import LockError, LockNotOwnedError, ResponseError, WatchError

from tests.clients.conftest import command_calls, unexpected_errors
from tests.conftest import wait_until


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def client(request, ember):
    connection = ember.client(protocol=request.param)
    connection.flushall()
    yield connection
    connection.close()


@pytest.fixture
def other(ember, client):
    """A second connection (same protocol) playing another process."""
    connection = ember.client(protocol=client.get_connection_kwargs()["protocol"])
    yield connection
    connection.close()


# -- Lock ----------------------------------------------------------------------------------------

def test_lock_excludes_others_until_released(client, other):
    lock = client.lock("resource", timeout=10)
    assert lock.acquire(blocking=False)
    assert lock.owned() and lock.locked()
    assert not other.lock("resource", timeout=10).acquire(blocking=False)
    assert not other.lock("resource", timeout=10, blocking_timeout=0.2).acquire()
    lock.release()
    assert not lock.locked()
    assert other.lock("resource", timeout=10).acquire(blocking=False)


def test_lock_extend_and_reacquire_scripts(client):
    scripts = command_calls(client, "evalsha") + command_calls(client, "eval")
    lock = client.lock("resource", timeout=10)
    assert lock.acquire()
    assert 9_000 < client.pttl("resource") <= 10_000
    assert lock.extend(20)  # adds to the remaining time
    assert 29_000 < client.pttl("resource") <= 30_000
    assert lock.extend(5, replace_ttl=True)
    assert 4_000 < client.pttl("resource") <= 5_000
    assert lock.reacquire()  # back to the lock's own timeout
    assert 9_000 < client.pttl("resource") <= 10_000
    lock.release()
    assert client.exists("resource") == 0
    assert command_calls(client, "evalsha") + command_calls(client, "eval") >= scripts + 4


def test_lock_scripts_refuse_a_lock_that_changed_hands(client, other):
    lock = client.lock("resource", timeout=0.2)
    assert lock.acquire()
    wait_until(lambda: not client.exists("resource"), timeout=5, message="the lock to time out")
    stealer = other.lock("resource", timeout=10)
    assert stealer.acquire(blocking=False)
    with pytest.raises(LockNotOwnedError):
        lock.extend(10)
    with pytest.raises(LockNotOwnedError):
        lock.reacquire()
    with pytest.raises(LockNotOwnedError):
        lock.release()
    assert stealer.owned()  # the scripts left the new owner's token alone
    stealer.release()


def test_blocked_acquirer_gets_the_lock_when_released(client, other):
    holder = client.lock("resource", timeout=10)
    assert holder.acquire()
    acquired = threading.Event()

    def wait_and_take() -> None:
        waiter = other.lock("resource", timeout=10, sleep=0.01, blocking_timeout=10)
        if waiter.acquire():
            acquired.set()
            waiter.release()

    thread = threading.Thread(target=wait_and_take)
    thread.start()
    assert not acquired.wait(0.1)  # still held
    holder.release()
    thread.join(10)
    assert acquired.is_set()


def test_lock_as_context_manager_and_errors(client):
    with client.lock("resource", timeout=5) as lock:
        assert lock.owned()
    assert not client.exists("resource")
    with pytest.raises(LockError):
        client.lock("resource").release()  # never acquired


# -- pipelines ------------------------------------------------------------------------------------

def test_pipeline_without_transaction(client):
    multis = command_calls(client, "multi")
    with client.pipeline(transaction=False) as pipe:
        pipe.set("a", 1).incr("a").rpush("list", "x", "y").lrange("list", 0, -1).hset("h", "f", "v")
        pipe.hgetall("h").get("missing")
        assert pipe.execute() == [True, 2, 2, [b"x", b"y"], 1, {b"f": b"v"}, None]
    assert command_calls(client, "multi") == multis  # sent as a plain pipeline


def test_pipeline_errors_stay_in_place(client):
    client.set("string", "x")
    with client.pipeline(transaction=False) as pipe:
        pipe.incr("counter").lpush("string", 1).incr("counter")
        results = pipe.execute(raise_on_error=False)
    assert results[0] == 1 and results[2] == 2
    assert isinstance(results[1], ResponseError)
    assert str(results[1]) == "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_transaction_pipeline(client):
    execs = command_calls(client, "exec")
    with client.pipeline() as pipe:
        pipe.set("a", 1).incr("a").get("a")
        assert pipe.execute() == [True, 2, b"2"]
    assert command_calls(client, "exec") == execs + 1


def test_transaction_runtime_error_does_not_roll_back(client):
    client.set("string", "x")
    with client.pipeline() as pipe:
        pipe.incr("counter").lpush("string", 1).incr("counter")
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            pipe.execute()
    assert client.get("counter") == b"2"  # commands around the failed one ran


def test_transaction_queueing_error_aborts_everything(client):
    with client.pipeline() as pipe:
        pipe.set("a", 1).execute_command("SET", "b")  # wrong arity: rejected while queueing
        with pytest.raises(ResponseError) as error:
            pipe.execute()
    assert "EXECABORT" in str(error.value) or "wrong number of arguments" in str(error.value)
    assert client.exists("a") == 0


def test_watch_retry_with_a_concurrent_writer(client, other):
    client.set("balance", 100)
    attempts = []
    writer_done = threading.Event()

    def concurrent_writer() -> None:
        other.incrby("balance", 50)
        writer_done.set()

    def withdraw(pipe) -> None:
        balance = int(pipe.get("balance"))  # immediate mode: WATCH is already active
        attempts.append(balance)
        if len(attempts) == 1:  # another process writes between our read and EXEC
            threading.Thread(target=concurrent_writer).start()
            assert writer_done.wait(10)
        pipe.multi()
        pipe.set("balance", balance - 30)

    client.transaction(withdraw, "balance")
    assert attempts == [100, 150]  # the first EXEC failed (nil reply), redis-py retried
    assert client.get("balance") == b"120"


def test_watch_error_without_retry(client, other):
    client.set("k", 1)
    with client.pipeline() as pipe:
        pipe.watch("k")
        other.set("k", 2)
        pipe.multi()
        pipe.set("k", 3)
        with pytest.raises(WatchError):
            pipe.execute()
    assert client.get("k") == b"2"


def test_optimistic_counter_under_contention(ember, client):
    threads, per_thread = 4, 25

    def increment(pipe) -> None:
        value = int(pipe.get("counter") or 0)
        pipe.multi()
        pipe.set("counter", value + 1)

    def bump() -> None:
        connection = ember.client(protocol=client.get_connection_kwargs()["protocol"])
        for _ in range(per_thread):
            connection.transaction(increment, "counter")
        connection.close()

    workers = [threading.Thread(target=bump) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert client.get("counter") == str(threads * per_thread).encode()


# -- pub/sub --------------------------------------------------------------------------------------

def test_pubsub_run_in_thread(client, other):
    received: list[tuple[bytes, bytes, bytes | None]] = []
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(**{"news": lambda m: received.append((m["channel"], m["data"], None))})
    pubsub.psubscribe(**{"news.*": lambda m: received.append((m["channel"], m["data"], m["pattern"]))})
    thread = pubsub.run_in_thread(sleep_time=0.01, daemon=True)
    try:
        wait_until(lambda: other.pubsub_numsub("news")[0][1] == 1 and other.pubsub_numpat() == 1,
                   message="the subscriptions")
        assert other.publish("news", "hello") == 1
        assert other.publish("news.sport", "goal") == 1
        assert other.publish("weather", "rain") == 0
        wait_until(lambda: len(received) == 2, message="both messages")
        assert received == [(b"news", b"hello", None), (b"news.sport", b"goal", b"news.*")]
    finally:
        thread.stop()
        thread.join(5)
        pubsub.close()
    wait_until(lambda: other.pubsub_numpat() == 0, message="the pattern to go when the connection closed")


def test_pubsub_get_message_and_unsubscribe(client, other):
    pubsub = client.pubsub()
    pubsub.subscribe("a", "b")
    kinds = [pubsub.get_message(timeout=5)["type"] for _ in range(2)]
    assert kinds == ["subscribe", "subscribe"]
    other.publish("b", "payload")
    message = pubsub.get_message(timeout=5)
    assert (message["type"], message["channel"], message["data"]) == ("message", b"b", b"payload")
    pubsub.unsubscribe("a")
    assert pubsub.get_message(timeout=5) == {"type": "unsubscribe", "pattern": None, "channel": b"a", "data": 1}
    pubsub.close()


# -- RESP2 and RESP3 -------------------------------------------------------------------------------

def test_typical_replies_decode_alike_in_both_protocols(client):
    client.hset("h", mapping={"a": 1, "b": 2})
    client.zadd("z", {"x": 1.5, "y": 2})
    client.sadd("s", "m")
    assert client.hgetall("h") == {b"a": b"1", b"b": b"2"}
    # redis-py keeps RESP3's [member, score] pairs as lists, RESP2's become tuples
    assert [tuple(pair) for pair in client.zrange("z", 0, -1, withscores=True)] == [(b"x", 1.5), (b"y", 2.0)]
    assert client.zscore("z", "x") == 1.5
    assert client.smembers("s") == {b"m"}
    assert client.exists("h", "z", "nope") == 2
    assert client.ttl("h") == -1
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    info = client.info("server")
    assert info["redis_version"].startswith("7.")


def test_protocol_negotiated(client):
    protocol = client.get_connection_kwargs()["protocol"]
    hello = client.execute_command("HELLO", protocol)
    if protocol == 2:  # a flat list of field, value in RESP2; a map in RESP3
        hello = dict(zip(hello[::2], hello[1::2], strict=True))
    assert hello[b"proto"] == protocol
    assert client.client_info()["resp"] == str(protocol)


def test_arity_error_counts_as_a_rejected_call(client):
    rejected = int(client.info("commandstats").get("cmdstat_set", {}).get("rejected_calls", 0))
    with pytest.raises(ResponseError, match="wrong number of arguments"):
        client.execute_command("SET", "b")
    assert int(client.info("commandstats")["cmdstat_set"]["rejected_calls"]) == rejected + 1


def test_no_command_failed_on_the_server(client):
    # Runs last: only the errors provoked above, per protocol: two WRONGTYPE LPUSHes, one of them
    # failing its EXEC, and the EXECABORT after a queueing error. (ERR and SET's rejected calls
    # are the arity errors, left to the test above.)
    errors = unexpected_errors(client)
    errors.pop("ERR", None)
    errors.pop("cmdstat_set", None)
    assert errors == {"WRONGTYPE": 4, "cmdstat_lpush": 4, "EXECABORT": 2, "cmdstat_exec": 2}
