"""RDB interoperability with Debian's redis-server 7.0 (the RDB version Ember writes).

- A snapshot Ember saves passes `redis-check-rdb` and loads into redis-server with the same
  contents, TTLs and DEBUG DIGEST; one redis-server saves loads into Ember the same way.
- DUMP payloads cross in both directions, and are byte-identical where both servers hold the
  value in the same encoding with a defined order.
- RESTORE's errors match byte for byte.

The dataset covers every type, small (listpack/intset) and big (hashtable/skiplist/quicklist)
encodings, strings above 64 KB that compress and that do not, TTLs, stream consumer groups with
pending entries and deleted entries, and several databases. Sorted set scores are integers or
quarters: Redis 7.0 digests scores with "%.17g" where 7.2 (and Ember) use the shortest form,
and those two agree only on such numbers.
"""

from __future__ import annotations

import random
import shutil
import subprocess

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import start_ember, start_redis

pytestmark = pytest.mark.skipif(shutil.which("redis-check-rdb") is None, reason="redis-tools not installed")


def populate(client: redis.Redis) -> None:
    rng = random.Random(7)
    client.flushall()
    client.set("string", "hello")
    client.set("int", 12345)
    client.set("negative", -7)
    client.set("big-int", 2**40)
    client.set("compressible", "abcdefgh" * 12500)  # 100 KB that LZF shrinks
    client.set("incompressible", rng.randbytes(70000))
    client.set("ttl", "v", px=900_000)
    client.rpush("list", "a", "b", "1", "-2")
    client.rpush("quicklist", *[f"element-{i}" for i in range(5000)])
    client.rpush("big-elements", *["x" * 9000, "y" * 100, rng.randbytes(20000)])
    client.sadd("intset", *range(300))
    client.sadd("int-hashtable", *range(1000))
    client.sadd("strings", "a", "b", "c")
    client.sadd("string-hashtable", *[f"member-{i}" for i in range(1000)])
    client.hset("hash", mapping={"f": "v", "n": "12"})
    client.hset("big-hash", mapping={f"field-{i}": f"value-{i}" for i in range(1000)})
    client.hset("long-value-hash", mapping={"k": "v" * 100})
    client.zadd("zset", {"a": 1, "b": 2.5, "c": -3, "d": 0})
    client.zadd("big-zset", {f"m{i}": i * 0.25 for i in range(1000)})
    for i in range(1, 400):
        client.xadd("stream", {"field": f"value-{i}", "other": "x" * (i % 7)}, id=f"{1000 + i // 3}-{i % 3}")
    client.xadd("stream", {"different": "fields"}, id="2000-0")
    client.xdel("stream", "1001-1", "1050-2", "1100-0")
    client.xgroup_create("stream", "workers", id="0")
    client.xreadgroup("workers", "alice", {"stream": ">"}, count=5)
    client.xreadgroup("workers", "bob", {"stream": ">"}, count=3)
    client.xack("stream", "workers", "1000-1")
    client.xgroup_create("stream", "late", id="$")
    client.xgroup_create("empty-stream", "g", id="0", mkstream=True)
    client.pexpire("hash", 600_000)
    client.execute_command("SELECT", 3)
    client.set("in-db3", "value")
    client.execute_command("SELECT", 0)


def content(client: redis.Redis, key: bytes) -> object:
    kind = client.type(key)
    if kind == b"string":
        return client.get(key)
    if kind == b"list":
        return client.lrange(key, 0, -1)
    if kind == b"set":
        return sorted(client.smembers(key))
    if kind == b"hash":
        return sorted(client.hgetall(key).items())
    if kind == b"zset":
        return client.zrange(key, 0, -1, withscores=True)
    groups = client.xinfo_groups(key)
    pending = [client.xpending_range(key, group["name"], "-", "+", 1000) for group in groups]
    for entries in pending:
        for entry in entries:
            entry.pop("time_since_delivered")
    return client.xrange(key), client.xinfo_stream(key)["length"], groups, pending


def dataset(client: redis.Redis) -> dict:
    result = {}
    for db in (0, 3):
        client.execute_command("SELECT", db)
        for key in sorted(client.keys()):
            result[(db, key)] = (client.type(key), content(client, key), client.pttl(key) // 60_000)
    client.execute_command("SELECT", 0)
    return result


@pytest.fixture(scope="module")
def ember(tmp_path_factory):
    process = start_ember(tmp_path_factory.mktemp("ember-rdb"), "--enable-debug-command", "yes")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    process = start_redis(tmp_path_factory.mktemp("redis-rdb"))
    yield process
    process.stop()


def check_rdb(path) -> None:
    result = subprocess.run(["redis-check-rdb", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "RDB looks OK" in result.stdout, result.stdout + result.stderr


def save_populated(server, destination) -> tuple[dict, bytes]:
    """Fill server with the dataset, SAVE, copy the file to destination; (dataset, digest)."""
    client = server.client()
    populate(client)
    expected = dataset(client), client.execute_command("DEBUG", "DIGEST")
    assert client.save() is True
    shutil.copy(server.workdir / "dump.rdb", destination / "dump.rdb")
    return expected


def test_ember_snapshot_loads_into_redis(ember, tmp_path):
    expected, digest = save_populated(ember, tmp_path)
    check_rdb(tmp_path / "dump.rdb")
    loaded = start_redis(tmp_path)
    try:
        other = loaded.client()
        assert dataset(other) == expected
        assert other.execute_command("DEBUG", "DIGEST") == digest
        assert other.info("persistence")["rdb_last_load_keys_loaded"] == len(expected)
    finally:
        loaded.stop()


def test_redis_snapshot_loads_into_ember(ember, oracle):
    expected, digest = save_populated(oracle, ember.workdir)
    source = oracle.client()
    client = ember.client()
    client.flushall()
    assert client.execute_command("DEBUG", "RELOAD", "NOSAVE") == b"OK"
    assert dataset(client) == expected
    assert client.execute_command("DEBUG", "DIGEST") == digest
    # Encodings as Redis 7.2 would choose them. 7.0 has no listpack sets or lists: a small set
    # of strings is a hashtable there and a small list a quicklist; 7.2 makes both listpacks.
    for key in client.scan_iter():
        if key in (b"strings", b"list"):
            assert client.object("encoding", key) == b"listpack"
        else:
            assert client.object("encoding", key) == source.object("encoding", key), key


def test_dump_payloads_cross_both_ways(ember, oracle):
    source, target = oracle.client(), ember.client()
    populate(source)
    populate(target)
    for key in sorted(source.scan_iter()):
        digest = source.execute_command("DEBUG", "DIGEST-VALUE", key)  # includes whether a TTL is set
        ttl = max(source.pttl(key), 0)
        assert target.restore(b"from-redis", ttl, source.dump(key), replace=True) == b"OK"
        assert target.execute_command("DEBUG", "DIGEST-VALUE", "from-redis") == digest, key
        assert source.restore(b"from-ember", ttl, target.dump(key), replace=True), key
        assert source.execute_command("DEBUG", "DIGEST-VALUE", "from-ember") == digest, key


# Keys whose encoding and element order are the same in both servers.
SAME_BYTES = ["string", "int", "negative", "big-int", "compressible", "incompressible", "list", "quicklist",
              "big-elements", "intset", "hash", "long-value-hash", "zset", "big-zset", "empty-stream"]


@pytest.mark.parametrize("key", SAME_BYTES)
def test_dump_bytes_match_redis(ember, oracle, key):
    source, target = oracle.client(), ember.client()
    if not source.exists("quicklist"):
        populate(source)
    if not target.exists("quicklist"):
        populate(target)
    assert target.dump(key) == source.dump(key)


@pytest.mark.parametrize("args", [
    ("RESTORE", "k", "0", "P"),
    ("RESTORE", "k", "-5", "P", "REPLACE"),
    ("RESTORE", "new", "abc", "P"),
    ("RESTORE", "new", "0", "bad payload"),
    ("RESTORE", "new", "0", "P", "IDLETIME", "-1"),
    ("RESTORE", "new", "0", "P", "FREQ", "300"),
    ("RESTORE", "new", "0", "P", "FREQ", "1", "IDLETIME", "1"),
    ("RESTORE", "new", "0", "P", "ABSTTL", "FOO"),
    ("RESTORE", "new", "0"),
    ("RESTORE", "new", "0", "P", "REPLACE", "ABSTTL", "IDLETIME", "10"),
    ("DUMP", "missing"),
    ("DUMP",),
])
def test_restore_and_dump_replies_match(diff, args):
    diff.check("SET", "k", "value")
    body = diff.redis.call("DUMP", "k").split(b"\r\n", 1)[1][:-2]  # the bulk string's bytes
    diff.check(*(body if arg == "P" else arg for arg in args))
    diff.check("EXISTS", "new")


element = st.one_of(st.integers(-2**63, 2**63 - 1).map(str), st.integers(-300, 300).map(str),
                    st.binary(max_size=70), st.sampled_from(["", "0", "-0", "01", "x" * 5000]))
quarter_scores = st.integers(-4000, 4000).map(lambda n: n / 4)
random_value = st.one_of(
    st.tuples(st.just("SET"), element.map(lambda e: [e])),
    st.tuples(st.just("RPUSH"), st.lists(element, min_size=1, max_size=200)),
    st.tuples(st.just("SADD"), st.lists(element, min_size=1, max_size=200)),
    st.tuples(st.just("HSET"), st.lists(element, min_size=2, max_size=300).map(lambda e: e[: len(e) // 2 * 2])),
    st.tuples(st.just("ZADD"), st.lists(st.tuples(quarter_scores, element), min_size=1, max_size=200)
              .map(lambda pairs: [str(item) for pair in pairs for item in pair])),
)


@given(random_value)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_values_cross_as_dump_payloads(ember, oracle, value):
    command, arguments = value
    source, target = oracle.client(), ember.client()
    for client in (source, target):
        client.delete("k", "back")
        client.execute_command(command, "k", *arguments)
    digest = source.execute_command("DEBUG", "DIGEST-VALUE", "k")
    assert target.execute_command("DEBUG", "DIGEST-VALUE", "k") == digest
    assert target.restore("back", 0, source.dump("k")) == b"OK"
    assert target.execute_command("DEBUG", "DIGEST-VALUE", "back") == digest
    assert source.restore("back", 0, target.dump("k"), replace=True)
    assert source.execute_command("DEBUG", "DIGEST-VALUE", "back") == digest
    assert target.object("encoding", "back") == target.object("encoding", "k")


LFU_CONFIG = {"maxmemory": "1gb", "maxmemory-policy": "allkeys-lfu", "lfu-log-factor": "0", "lfu-decay-time": "0"}


def count_reads(client: redis.Redis) -> dict[bytes, int]:
    """Keys read 0 to 9 times under LFU_CONFIG (each read adds one); their OBJECT FREQ."""
    client.flushall()
    for n in range(10):
        client.set(f"read:{n}", "v")
        for _ in range(n):
            client.get(f"read:{n}")
    return {key: client.object("freq", key) for key in client.keys("read:*")}


def test_lfu_counters_cross_in_snapshots(ember, oracle, tmp_path):
    """Under an LFU policy a snapshot carries each key's counter (RDB's FREQ), both ways."""
    clients = ember.client(), oracle.client()
    for client in clients:
        client.config_set(*[part for pair in LFU_CONFIG.items() for part in pair])
    try:
        expected = count_reads(clients[0])
        assert sorted(expected.values()) == list(range(5, 15))
        assert clients[0].save() is True
        shutil.copy(ember.workdir / "dump.rdb", tmp_path / "dump.rdb")
        loaded = start_redis(tmp_path, *[part for name, value in LFU_CONFIG.items() for part in (f"--{name}", value)])
        try:
            other = loaded.client()
            assert {key: other.object("freq", key) for key in other.keys("read:*")} == expected
        finally:
            loaded.stop()
        expected = count_reads(clients[1])
        assert clients[1].save() is True
        shutil.copy(oracle.workdir / "dump.rdb", ember.workdir / "dump.rdb")
        assert clients[0].execute_command("DEBUG", "RELOAD", "NOSAVE") == b"OK"
        assert {key: clients[0].object("freq", key) for key in clients[0].keys("read:*")} == expected
    finally:
        for client in clients:
            client.flushall()
            client.config_set("maxmemory", 0, "maxmemory-policy", "noeviction", "lfu-log-factor", 10, "lfu-decay-time", 1)
