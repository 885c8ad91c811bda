"""Persistence on a real ember-server process: SAVE, BGSAVE while serving (the child writes the
copy-on-write image as of the fork), LASTSAVE and INFO persistence, DUMP/RESTORE with every
option and error, DEBUG RELOAD/DIGEST/DIGEST-VALUE, and restarts that load the snapshot (or
refuse a corrupt one).

The restart tests need the start-up, cron and dispatcher hooks in ember/server (see the
persistence report); each is skipped, with the reason, while its hook is not in the source.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from ember.config import Config
from ember.persistence.rdb import load_rdb
from ember.server.app import Server
from tests.conftest import ROOT, start_ember, wait_until
from tests.differential.harness import RawConnection

DEBUG = ("--enable-debug-command", "yes")


def _hook_installed(path: str, name: str) -> bool:
    return name in (ROOT / path).read_text()


needs_startup_load = pytest.mark.skipif(
    not _hook_installed("ember/server/main.py", "load_at_startup"),
    reason="ember/server/main.py does not call persistence.snapshot.load_at_startup yet")
needs_cron = pytest.mark.skipif(
    not _hook_installed("ember/server/cron.py", "snapshot.cron"),
    reason="ember/server/cron.py does not call persistence.snapshot.cron yet")
needs_misconf = pytest.mark.skipif(
    not _hook_installed("ember/server/dispatch.py", "write_error"),
    reason="ember/server/dispatch.py does not check server.write_error yet")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = start_ember(tmp_path_factory.mktemp("persistence"), *DEBUG)
    yield process
    process.stop()


@pytest.fixture
def r(server):
    client = server.client()
    client.config_set("rdb-key-save-delay", 0)
    client.flushall()
    yield client
    client.close()


def populate(client: redis.Redis) -> None:
    """One key of each type and encoding, a TTL, and a second database."""
    client.set("string", "hello")
    client.set("int", 12345)
    client.set("big", "x" * 70000)
    client.set("ttl", "v", px=500_000)
    client.rpush("list", *[f"e{i}" for i in range(300)])
    client.rpush("small-list", "a", "1")
    client.sadd("intset", 1, 2, 3)
    client.sadd("set", "a", "b")
    client.sadd("big-set", *[f"m{i}" for i in range(600)])
    client.hset("hash", mapping={"f": "v", "n": "2"})
    client.hset("big-hash", mapping={f"f{i}": "v" * i for i in range(200)})
    client.zadd("zset", {"a": 1, "b": 2.5, "c": -3})
    client.zadd("big-zset", {f"m{i}": i / 4 for i in range(300)})
    client.xadd("stream", {"f": "v"}, id="1-1")
    client.xadd("stream", {"g": "w"}, id="1-2")
    client.xgroup_create("stream", "group", id="0")
    client.xreadgroup("group", "consumer", {"stream": ">"}, count=1)
    client.execute_command("SELECT", 5)
    client.set("in-db5", "x")
    client.execute_command("SELECT", 0)


def snapshot_of(client: redis.Redis) -> dict:
    """Everything DEBUG DIGEST covers, plus encodings and TTLs, for before/after comparisons."""
    keys = sorted(client.keys())
    return {
        "digest": client.execute_command("DEBUG", "DIGEST"),
        "encodings": {key: client.object("encoding", key) for key in keys},
        "ttls": {key: client.ttl(key) > 0 for key in keys},
        "db5": client.execute_command("DEBUG", "DIGEST-VALUE", "in-db5"),
    }


def raw_call(server, *args) -> bytes:
    """One command's exact reply bytes (redis-py turns status replies into True)."""
    connection = RawConnection(server.port)
    try:
        return connection.call(*args)
    finally:
        connection.close()


def info(client: redis.Redis) -> dict:
    return client.info("persistence")


# -- SAVE, LASTSAVE, INFO, DEBUG RELOAD -----------------------------------------------------------

def test_save_writes_the_file_and_resets_the_change_counter(server, r):
    populate(r)
    before = info(r)
    assert before["rdb_changes_since_last_save"] > 0
    assert r.save() is True
    after = info(r)
    assert after["rdb_changes_since_last_save"] == 0
    assert after["rdb_saves"] == before["rdb_saves"] + 1
    assert r.lastsave().timestamp() == after["rdb_last_save_time"] >= int(time.time()) - 5
    data = (server.workdir / "dump.rdb").read_bytes()
    assert data.startswith(b"REDIS0010")
    loaded = Server(Config())
    stats = load_rdb(loaded, data)
    assert stats.keys_loaded == len(r.keys()) + 1 and stats.checksum_checked


def test_debug_reload_keeps_every_type_encoding_and_ttl(r):
    populate(r)
    before = snapshot_of(r)
    assert r.execute_command("DEBUG", "RELOAD") == b"OK"
    assert snapshot_of(r) == before
    assert r.xinfo_groups("stream")[0]["pending"] == 1
    assert r.execute_command("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE") == b"OK"
    assert snapshot_of(r) == before


def test_debug_reload_keeps_function_libraries(r):
    code = "#!lua name=reloadlib\nredis.register_function('answer', function() return 42 end)"
    r.execute_command("FUNCTION", "FLUSH")
    assert r.execute_command("FUNCTION", "LOAD", code) == b"reloadlib"
    try:
        assert r.execute_command("DEBUG", "RELOAD") == b"OK"
        assert r.execute_command("FCALL", "answer", 0) == 42
        with pytest.raises(redis.ResponseError):  # the library is already there: only MERGE replaces
            r.execute_command("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH")
        assert r.execute_command("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE") == b"OK"
    finally:
        r.execute_command("FUNCTION", "FLUSH")


def test_debug_reload_errors(server, r):
    with pytest.raises(redis.ResponseError, match="^DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.$"):
        r.execute_command("DEBUG", "RELOAD", "FAST")
    (server.workdir / "dump.rdb").unlink(missing_ok=True)
    with pytest.raises(redis.ResponseError, match="^Error trying to load the RDB dump, check server logs.$"):
        r.execute_command("DEBUG", "RELOAD", "NOSAVE")


def test_digest_value_of_missing_keys_and_digest_of_nothing(r):
    assert r.execute_command("DEBUG", "DIGEST") == b"0" * 40
    r.set("k", "v")
    (digest, missing) = r.execute_command("DEBUG", "DIGEST-VALUE", "k", "nokey")
    assert len(digest) == 40 and digest != b"0" * 40 and missing == b"0" * 40
    assert r.execute_command("DEBUG", "DIGEST-VALUE") == []
    assert r.execute_command("DEBUG", "DIGEST") not in (b"0" * 40, digest)


# -- BGSAVE -----------------------------------------------------------------------------------------

def test_bgsave_runs_in_a_child_while_the_server_keeps_serving(server, r):
    for start in range(0, 400, 100):
        r.mset({f"key:{i}": i for i in range(start, start + 100)})
    r.config_set("rdb-key-save-delay", 2000)  # 400 keys x 2 ms: the child takes about 0.8 s
    started = time.monotonic()
    assert r.bgsave() is True
    assert info(r)["rdb_bgsave_in_progress"] == 1
    with pytest.raises(redis.ResponseError, match="^Background save already in progress$"):
        r.bgsave()
    with pytest.raises(redis.ResponseError, match="^Background save already in progress$"):
        r.execute_command("SAVE")
    # The parent answers at once while the child is writing.
    r.set("written-during-save", "1")
    assert r.get("key:7") == b"7"
    assert r.ping() and time.monotonic() - started < 0.6
    assert info(r)["rdb_current_bgsave_time_sec"] >= 0
    wait_until(lambda: info(r)["rdb_bgsave_in_progress"] == 0, timeout=30, message="BGSAVE to finish")
    after = info(r)
    assert after["rdb_last_bgsave_status"] == "ok" and after["rdb_last_bgsave_time_sec"] >= 0
    assert after["rdb_changes_since_last_save"] == 1  # the SET made while the child was saving
    assert r.info("stats")["total_forks"] >= 1
    loaded = Server(Config())
    load_rdb(loaded, (server.workdir / "dump.rdb").read_bytes())
    assert len(loaded.dbs[0].data) == 400 and b"written-during-save" not in loaded.dbs[0].data
    assert not list(server.workdir.glob("temp-*.rdb"))


def test_bgsave_options_and_failure_status(server, r):
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("BGSAVE", "NOW")
    assert raw_call(server, "BGSAVE", "SCHEDULE") == b"+Background saving started\r\n"
    wait_until(lambda: info(r)["rdb_bgsave_in_progress"] == 0, message="BGSAVE to finish")
    blocker = server.workdir / "dump.rdb"
    blocker.unlink(missing_ok=True)
    blocker.mkdir()  # the rename onto dump.rdb fails: the save must report an error
    try:
        r.set("k", "v")
        assert r.bgsave() is True
        wait_until(lambda: info(r)["rdb_bgsave_in_progress"] == 0, message="BGSAVE to finish")
        assert info(r)["rdb_last_bgsave_status"] == "err"
        assert raw_call(server, "SAVE") == b"-ERR\r\n"
        assert not list(server.workdir.glob("temp-*.rdb"))
    finally:
        blocker.rmdir()
    assert r.save() is True
    assert info(r)["rdb_last_bgsave_status"] == "ok"


def test_bgsave_inside_multi_is_scheduled(server, r):
    connection = RawConnection(server.port)
    try:
        assert connection.call("MULTI") == b"+OK\r\n"
        assert connection.call("BGSAVE") == b"+QUEUED\r\n"
        assert connection.call("EXEC") == b"*1\r\n+Background saving scheduled\r\n"
    finally:
        connection.close()


# -- DUMP / RESTORE ----------------------------------------------------------------------------------

def test_dump_restore_every_type(r):
    populate(r)
    keys = [key for key in r.scan_iter() if key != b"ttl"]
    digests = {key: r.execute_command("DEBUG", "DIGEST-VALUE", key) for key in keys}
    payloads = {key: r.dump(key) for key in keys}
    r.flushall()
    for key, payload in payloads.items():
        assert r.restore(key, 0, payload) == b"OK"
        assert r.execute_command("DEBUG", "DIGEST-VALUE", key) == digests[key]
    assert r.dump("missing") is None


def test_restore_options(r):
    r.set("src", "value")
    payload = r.dump("src")
    assert r.restore("dst", 10_000, payload) == b"OK"
    assert 9_000 < r.pttl("dst") <= 10_000
    with pytest.raises(redis.ResponseError, match="^BUSYKEY Target key name already exists.$"):
        r.restore("dst", 0, payload)
    assert r.restore("dst", 0, payload, replace=True) == b"OK" and r.ttl("dst") == -1
    deadline = int(time.time() * 1000) + 50_000
    assert r.restore("abs", deadline, payload, absttl=True) == b"OK"
    assert r.execute_command("PEXPIRETIME", "abs") == deadline
    assert r.restore("old", 1, payload, absttl=True) == b"OK" and r.exists("old") == 0  # already expired
    assert r.restore("dst", 1, payload, absttl=True, replace=True) == b"OK" and r.exists("dst") == 0
    assert r.restore("idle", 0, payload, idletime=1000) == b"OK"
    assert r.object("idletime", "idle") >= 1000
    assert r.restore("freq", 0, payload, frequency=100) == b"OK" and r.get("freq") == b"value"


@pytest.mark.parametrize("args, error", [
    (("k", "-1", "P"), b"-ERR Invalid TTL value, must be >= 0\r\n"),
    (("k", "x", "P"), b"-ERR value is not an integer or out of range\r\n"),
    (("k", "0", "P", "IDLETIME", "-1"), b"-ERR Invalid IDLETIME value, must be >= 0\r\n"),
    (("k", "0", "P", "FREQ", "256"), b"-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n"),
    (("k", "0", "P", "IDLETIME", "1", "FREQ", "1"), b"-ERR syntax error\r\n"),
    (("k", "0", "P", "IDLETIME"), b"-ERR syntax error\r\n"),
    (("k", "0", "P", "NOPE"), b"-ERR syntax error\r\n"),
    (("k", "0", "not a payload"), b"-ERR DUMP payload version or checksum are wrong\r\n"),
    (("k", "0"), b"-ERR wrong number of arguments for 'restore' command\r\n"),
])
def test_restore_errors(server, r, args, error):
    r.set("k", "v")
    payload = r.dump("k")
    r.delete("k")
    assert raw_call(server, "RESTORE", *(payload if arg == "P" else arg for arg in args)) == error


def test_restore_checksum_skip_and_bad_data(r):
    r.set("k", "value")
    payload = bytearray(r.dump("k"))
    payload[-1] ^= 1
    with pytest.raises(redis.ResponseError, match="payload version or checksum are wrong"):
        r.restore("copy", 0, bytes(payload))
    assert r.execute_command("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1") == b"OK"
    try:
        assert r.restore("copy", 0, bytes(payload)) == b"OK"
        with pytest.raises(redis.ResponseError, match="^Bad data format$"):
            r.restore("bad", 0, b"\x02\x05\x0a\x00" + b"\x00" * 8)  # a set of 5 members, none there
    finally:
        r.execute_command("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0")


# -- restarts ---------------------------------------------------------------------------------------

@needs_startup_load
def test_restart_loads_the_snapshot(tmp_path):
    first = start_ember(tmp_path, *DEBUG)
    try:
        client = first.client()
        populate(client)
        expected = snapshot_of(client)
        client.execute_command("SAVE")
    finally:
        first.stop()
    second = start_ember(tmp_path, *DEBUG)
    try:
        client = second.client()
        assert snapshot_of(client) == expected
        assert client.info("persistence")["rdb_last_load_keys_loaded"] == len(expected["encodings"]) + 1
    finally:
        second.stop()


@needs_startup_load
def test_corrupt_snapshot_refuses_to_start(tmp_path):
    good = Path(tmp_path) / "dump.rdb"
    good.write_bytes(b"REDIS0010\x00\x01k\x05ab")  # a string cut short
    with pytest.raises(RuntimeError) as failure:
        start_ember(tmp_path, *DEBUG)
    text = str(failure.value)
    assert "dump.rdb" in text and "byte offset" in text


@needs_cron
def test_save_points_trigger_a_background_save(tmp_path):
    process = start_ember(tmp_path, "--save", "1 2", *DEBUG)
    try:
        client = process.client()
        client.set("a", 1)
        client.set("b", 2)
        wait_until(lambda: client.info("persistence")["rdb_changes_since_last_save"] == 0, timeout=10,
                   message="a save point to fire")
        assert (tmp_path / "dump.rdb").exists()
    finally:
        process.stop()


@needs_misconf
def test_failed_background_save_refuses_writes(tmp_path):
    process = start_ember(tmp_path, "--save", "3600 1", *DEBUG)
    blocker = tmp_path / "dump.rdb"
    blocker.mkdir()
    try:
        client = process.client()
        client.set("k", "v")
        client.bgsave()
        wait_until(lambda: client.info("persistence")["rdb_bgsave_in_progress"] == 0, message="BGSAVE")
        with pytest.raises(redis.ResponseError, match="^MISCONF "):
            client.set("k2", "v")
        assert client.get("k") == b"v"
        blocker.rmdir()
        client.execute_command("SAVE")
        assert client.set("k2", "v") is True
    finally:
        process.stop()
