"""maxmemory against a real Ember: eviction by each kind of policy, the OOM refusal, and what an
eviction does to the rest of the server (evicted events, WATCH, statistics, the AOF).

Limits are set with CONFIG SET relative to the server's own estimate (INFO's baseline is not
used: it is the Python process's size), so every test knows how many keys fit.
"""

from __future__ import annotations

import pytest
import redis

from ember.keyspace.memory import key_size
from ember.server.memory import BASELINE, OOM
from tests.conftest import start_ember, wait_until

VALUE = b"x" * 1000
ENTRY = key_size(b"key:0000", VALUE)  # what one of the keys below is counted as


def key(n: int) -> str:
    return f"key:{n:04d}"


def limit_for(keys: int) -> int:
    """A maxmemory with room for this many of the keys above, and less than one more."""
    return BASELINE + keys * ENTRY + ENTRY // 2


@pytest.fixture
def r(ember):
    client = ember.client(protocol=2)
    client.flushall()
    yield client
    client.config_set("maxmemory", 0)
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory-samples", 5)
    client.config_set("maxmemory-eviction-tenacity", 10)
    client.config_set("lfu-log-factor", 10)
    client.config_set("notify-keyspace-events", "")
    client.config_resetstat()
    client.close()


def evicted(client: redis.Redis) -> int:
    return int(client.info("stats")["evicted_keys"])


def test_noeviction_refuses_writes_and_keeps_reads(r):
    r.config_set("maxmemory-policy", "noeviction")
    r.config_set("maxmemory", limit_for(10))
    for n in range(10):
        r.set(key(n), VALUE)
    r.set(key(10), VALUE)  # admitted while under the limit: now over it
    with pytest.raises(redis.exceptions.OutOfMemoryError) as refused:
        r.set(key(11), VALUE)
    assert "OOM " + str(refused.value) == OOM  # (redis-py strips the error code)
    assert r.get(key(0)) == VALUE and r.dbsize() == 11
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        r.incr("counter")
    r.delete(key(0), key(1))  # DEL is not denyoom, and frees room
    assert r.set(key(11), VALUE)
    assert evicted(r) == 0


def test_oom_inside_multi_aborts_the_transaction(r):
    r.config_set("maxmemory", limit_for(1))
    r.set(key(0), VALUE)
    r.set(key(1), VALUE)  # over the limit now
    connection = r.connection_pool.get_connection()
    try:
        connection.send_command("MULTI")
        assert connection.read_response() == b"OK"
        connection.send_command("GET", key(0))  # even a read is refused while queuing
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            connection.read_response()
        connection.send_command("EXEC")
        with pytest.raises(redis.exceptions.ExecAbortError):
            connection.read_response()
    finally:
        r.connection_pool.release(connection)


@pytest.mark.parametrize("policy", ["allkeys-lru", "allkeys-lfu", "allkeys-random"])
def test_allkeys_policies_hold_the_dataset_within_the_limit(r, policy):
    r.config_set("maxmemory-policy", policy)
    r.config_set("maxmemory", limit_for(50))
    for n in range(199):
        r.set(key(n), VALUE)
    # Eviction runs before a command, never after its write: the write stays until the next
    # command (which may evict it, as Redis may, when its access time ties with the others').
    # Inside EXEC no eviction runs, so the transaction reads what it wrote.
    written, size = r.pipeline().set(key(199), VALUE).memory_usage(key(199)).execute()
    assert written and int(size) == ENTRY
    assert 45 <= r.dbsize() <= 51
    assert evicted(r) == 200 - r.dbsize()


def test_lfu_keeps_the_keys_read_most(r):
    r.config_set("lfu-log-factor", 0)  # every read counts (default 10: the counter is logarithmic)
    r.config_set("maxmemory-policy", "allkeys-lfu")
    r.config_set("maxmemory-samples", 10)  # all ten sampled keys hot: ~1e-6 a round, not 1e-3
    r.config_set("maxmemory", limit_for(40))
    for n in range(40):
        r.set(key(n), VALUE)
    for _ in range(3):
        for n in range(10):
            r.get(key(n))
    assert {int(r.object("freq", key(n))) for n in range(10)} == {8}
    assert int(r.object("freq", key(10))) == 5
    for n in range(40, 100):
        r.set(key(n), VALUE)
    assert evicted(r) >= 60
    assert all(r.exists(key(n)) for n in range(10))  # read three times: never the least used


def test_volatile_policies_evict_only_keys_with_a_ttl(r):
    r.config_set("maxmemory-policy", "volatile-lru")
    r.config_set("maxmemory", limit_for(30))
    for n in range(20):
        r.set(f"persistent:{n:03d}", VALUE)
    for n in range(50):
        r.set(key(n), VALUE, ex=1000)
    assert all(r.exists(f"persistent:{n:03d}") for n in range(20))
    assert evicted(r) > 0 and r.dbsize() <= 31
    for n in range(20, 40):  # persistent keys only: once the volatile ones are gone, OOM
        try:
            r.set(f"persistent:{n:03d}", VALUE)
        except redis.exceptions.OutOfMemoryError:
            break
    else:
        pytest.fail("writes were never refused once no key with a TTL was left")
    assert r.keys("key:*") == []
    assert all(r.exists(f"persistent:{n:03d}") for n in range(20))


def test_volatile_ttl_evicts_the_key_that_expires_first(r):
    r.config_set("maxmemory-policy", "volatile-ttl")
    r.config_set("maxmemory-samples", 64)  # every key sampled: the choice is exact
    r.set(key(1), VALUE, ex=1000)
    r.set(key(2), VALUE, ex=10)
    r.set(key(3), VALUE, ex=500)
    r.config_set("maxmemory", limit_for(2))
    assert r.dbsize() == 2  # the next command evicts first
    assert r.exists(key(2)) == 0 and evicted(r) == 1


def test_eviction_is_an_evicted_event_and_a_change_to_watched_keys(ember, r):
    r.config_set("notify-keyspace-events", "Ee")
    r.config_set("maxmemory-policy", "allkeys-random")
    listener = ember.client(protocol=2)
    pubsub = listener.pubsub()
    pubsub.subscribe("__keyevent@0__:evicted")
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    watcher = ember.client(protocol=2)
    try:
        r.set(key(0), VALUE)
        with watcher.pipeline() as transaction:
            transaction.watch(key(0))
            r.config_set("maxmemory", limit_for(0))  # room for no key: the next command evicts it
            assert r.dbsize() == 0
            transaction.multi()
            transaction.set("after", "1")
            with pytest.raises(redis.exceptions.WatchError):
                transaction.execute()
        message = pubsub.get_message(timeout=5)
        assert message["channel"] == b"__keyevent@0__:evicted" and message["data"] == key(0).encode()
    finally:
        pubsub.close()
        listener.close()
        watcher.close()


def test_eviction_past_its_time_budget_goes_on_in_the_event_loop(ember, r):
    """With tenacity 0 a pass may evict only 16 keys; as in Redis, the rest goes on between
    commands (and here without any: only the evicted events are read)."""
    for n in range(0, 400, 100):
        r.mset({key(m): VALUE for m in range(n, n + 100)})
    r.config_set("notify-keyspace-events", "Ee")
    r.config_set("maxmemory-policy", "allkeys-random")
    r.config_set("maxmemory-eviction-tenacity", 0)
    listener = ember.client(protocol=2)
    pubsub = listener.pubsub()
    pubsub.subscribe("__keyevent@0__:evicted")
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    try:
        pipe = r.pipeline(transaction=False)
        pipe.config_set("maxmemory", limit_for(50))  # 350 keys to evict, in passes of 16
        pipe.dbsize()
        done, size = pipe.execute()
        assert done and 50 < size <= 400 - 16  # DBSIZE ran after a pass of 16, long before the end
        events = 0
        while events < 350:
            message = pubsub.get_message(timeout=5)
            assert message is not None, f"eviction stopped after {events} keys"
            events += 1
        assert r.dbsize() == 50 and evicted(r) == 350
    finally:
        pubsub.close()
        listener.close()


def test_time_over_the_limit_is_reported(r):
    r.config_set("maxmemory", limit_for(0))
    r.set(key(0), VALUE)  # over the limit from here on, under noeviction
    wait_until(lambda: r.info("stats")["current_eviction_exceeded_time"] > 0, message="time over the limit")
    over = r.info("stats")
    assert over["total_eviction_exceeded_time"] >= over["current_eviction_exceeded_time"] > 0
    r.delete(key(0))  # fits again: the period ends at the next command's admission
    r.ping()
    fitted = r.info("stats")
    assert fitted["current_eviction_exceeded_time"] == 0
    assert fitted["total_eviction_exceeded_time"] >= over["current_eviction_exceeded_time"]
    r.config_resetstat()
    assert r.info("stats")["total_eviction_exceeded_time"] == 0


def test_scripts_follow_the_memory_state(r):
    r.config_set("maxmemory", limit_for(0))
    r.set(key(0), VALUE)  # over the limit from here on, under noeviction
    with pytest.raises(redis.exceptions.OutOfMemoryError, match="script: "):
        r.eval("return redis.call('set', 'x', 'y')", 0)
    assert r.eval("return redis.call('get', KEYS[1])", 1, key(0)) == VALUE  # reads still run
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        r.eval("#!lua\nreturn 1", 0)  # a flagged script that may write is refused up front
    assert r.eval("#!lua flags=no-writes\nreturn 1", 0) == 1
    assert r.eval("#!lua flags=allow-oom\nreturn redis.call('set', 'x', 'y')", 0) == b"OK"


def test_info_reports_the_memory_that_eviction_counts(r):
    """With a limit, INFO's used_memory is the figure compared with maxmemory (as in Redis,
    where tools watch one against the other); the process's size stays in used_memory_rss."""
    r.config_set("maxmemory-policy", "allkeys-random")
    r.config_set("maxmemory", limit_for(20))
    for n in range(60):
        r.set(key(n), VALUE)
    memory = r.info("memory")
    assert memory["used_memory"] == BASELINE + r.dbsize() * ENTRY <= memory["maxmemory"]
    assert memory["used_memory_startup"] == BASELINE
    assert memory["used_memory_dataset"] == r.dbsize() * ENTRY
    assert memory["used_memory_rss"] > memory["used_memory"]  # the Python process itself
    assert memory["used_memory"] <= memory["used_memory_peak"] <= memory["maxmemory"]  # not the process's peak
    r.config_set("maxmemory", 0)  # no limit, no estimate kept: the process's size
    memory = r.info("memory")
    assert memory["used_memory"] == memory["used_memory_rss"] > BASELINE + r.dbsize() * ENTRY


def test_memory_usage_and_stats(r):
    r.set(key(0), VALUE)
    assert r.memory_usage(key(0)) == ENTRY
    assert r.memory_usage("missing") is None
    r.rpush("list", *[b"y" * 100] * 50)
    assert 50 * 100 < r.memory_usage("list") == r.memory_usage("list", samples=0) < 50 * 200
    stats = r.memory_stats()
    assert stats["keys.count"] == 2
    with pytest.raises(redis.exceptions.ResponseError, match="syntax error"):
        r.execute_command("MEMORY", "USAGE", key(0), "SAMPLES", "-1")


def test_evictions_reach_the_aof(tmp_path):
    server = start_ember(tmp_path, "--appendonly", "yes", "--maxmemory-policy", "allkeys-lru",
                         "--maxmemory", str(limit_for(20)))
    try:
        client = server.client()
        for n in range(100):
            client.set(key(n), VALUE)
        kept = sorted(client.keys())
        assert len(kept) <= 21 and evicted(client) > 0
        client.close()
    finally:
        server.stop()
    restarted = start_ember(tmp_path, "--appendonly", "yes")
    try:
        client = restarted.client()
        wait_until(lambda: client.dbsize() == len(kept), message="the AOF to be loaded")
        assert sorted(client.keys()) == kept
        client.close()
    finally:
        restarted.stop()
