"""The AOF on real ember-server processes: appendonly on at start-up, writes, restarts that
load the same data back, BGREWRITEAOF (new base, manifest switched, history removed),
CONFIG SET appendonly yes/no at runtime, automatic rewrites, DEBUG LOADAOF, INFO persistence,
torn tails and corrupt files at start-up, and disk write errors (MISCONF, then recovery).

The server-side hooks (start-up load, cron, shutdown flush, the dispatcher's MISCONF check)
live in ember/server; tests needing one are skipped, with the reason, while it is missing.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import redis

from ember.persistence.aof import parse_manifest
from tests.conftest import ROOT, ServerProcess, free_port, start_ember, wait_until

SERVER_SOURCE = "\n".join(p.read_text() for p in (ROOT / "ember" / "server").glob("*.py"))
needs_hooks = pytest.mark.skipif(
    not ("aof import load_at_startup" in SERVER_SOURCE or "aof.load_at_startup" in SERVER_SOURCE)
    or "aof.cron" not in SERVER_SOURCE,
    reason="ember/server does not call persistence.aof.load_at_startup / aof.cron yet")
pytestmark = needs_hooks

AOF = ("--appendonly", "yes", "--enable-debug-command", "yes")


def info(client: redis.Redis) -> dict:
    return client.info("persistence")


def manifest(workdir: Path) -> list[tuple[str, int, str]]:
    parsed = parse_manifest((workdir / "appendonlydir" / "appendonly.aof.manifest").read_bytes())
    return [(f.name, f.seq, f.kind) for f in ([parsed.base] if parsed.base else []) + parsed.history + parsed.incrs]


def populate(client: redis.Redis) -> None:
    client.set("string", "hello")
    client.set("counter", 10)
    client.incrbyfloat("float", "1.1")
    client.set("ttl", "v", ex=1000)
    client.rpush("list", *range(300))
    client.sadd("set", *[f"m{i}" for i in range(50)])
    client.spop("set", 5)
    client.hset("hash", mapping={"a": 1, "b": 2})
    client.hincrbyfloat("hash", "a", 0.5)
    client.zadd("zset", {"a": 1.5, "b": 2})
    client.xadd("stream", {"f": "v"}, id="1-1")
    client.xgroup_create("stream", "g", id="0")
    client.xreadgroup("g", "alice", {"stream": ">"})
    client.expire("list", 5000)
    with client.pipeline(transaction=True) as tx:
        tx.incr("counter")
        tx.lpush("list", "head")
        tx.execute()
    client.execute_command("MOVE", "string", 5)  # a key in another database: SELECTs in the AOF
    client.set("string", "hello")


def snapshot_of(client: redis.Redis) -> tuple:
    """What a restart must keep: DEBUG DIGEST (every database) and the TTLs (to ten seconds)."""
    digest = client.execute_command("DEBUG", "DIGEST")
    ttls = sorted((key, (client.ttl(key) + 5) // 10) for key in client.scan_iter(count=1000))
    return digest, ttls


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def restart(process: ServerProcess, *extra: str) -> ServerProcess:
    process.stop()
    return start_ember(process.workdir, *extra)


def test_writes_survive_a_restart(workdir: Path) -> None:
    server = start_ember(workdir, *AOF)
    try:
        client = server.client()
        populate(client)
        before = snapshot_of(client)
        assert manifest(workdir) == [("appendonly.aof.1.base.rdb", 1, "b"), ("appendonly.aof.1.incr.aof", 1, "i")]
        fields = info(client)
        assert fields["aof_enabled"] == 1 and fields["aof_last_write_status"] == "ok"
        assert fields["aof_current_size"] > fields["aof_base_size"] > 0
        server = restart(server, *AOF)
        client = server.client()
        assert snapshot_of(client) == before
        client.set("after-restart", 1)  # appended to the same incr file
        server = restart(server, *AOF)
        assert server.client().get("after-restart") == b"1"
        assert "Opening AOF incr file appendonly.aof.1.incr.aof on server start" in server.log()
    finally:
        server.stop()


def test_stream_ids_chosen_by_the_server_are_replayed(workdir: Path) -> None:
    server = start_ember(workdir, *AOF)
    try:
        client = server.client()
        for i in range(3):
            client.xadd("stream", {"n": i})
        client.xadd("stream", {"n": "last"}, id="99999999999999-*")
        before = client.xrange("stream")
        server = restart(server, *AOF)
        assert server.client().xrange("stream") == before
    finally:
        server.stop()


def test_a_served_blocked_xreadgroup_is_replayed(workdir: Path) -> None:
    server = start_ember(workdir, *AOF)
    try:
        client = server.client()
        client.xgroup_create("stream", "group", id="0", mkstream=True)
        replies = []
        reader = threading.Thread(target=lambda: replies.append(
            server.client().xreadgroup("group", "alice", {"stream": ">"}, count=1, block=5000)))
        reader.start()
        wait_until(lambda: client.info("clients")["blocked_clients"] == 1, message="reader blocked")
        client.xadd("stream", {"n": 1})
        reader.join(timeout=10)
        assert replies and replies[0][0][0] == b"stream"
        before = client.xpending("stream", "group")
        server = restart(server, *AOF)
        assert server.client().xpending("stream", "group") == before
    finally:
        server.stop()


def test_sigkill_loses_no_acknowledged_write(workdir: Path) -> None:
    # Written before the reply (fsync left to the OS): a crash of the process alone loses nothing.
    # (everysec may hold writes back while a background fsync runs, as Redis does: see durability/.)
    server = start_ember(workdir, *AOF, "--appendfsync", "no")
    try:
        client = server.client()
        for i in range(200):
            client.set(f"k{i}", i)
        server.process.kill()  # the page cache keeps what was written
        server.process.wait()
        server = start_ember(workdir, *AOF)
        assert server.client().dbsize() == 200
    finally:
        server.stop()


def test_bgrewriteaof_switches_base_and_removes_history(workdir: Path) -> None:
    server = start_ember(workdir, *AOF)
    try:
        client = server.client()
        populate(client)
        before = snapshot_of(client)
        assert client.bgrewriteaof() is True
        wait_until(lambda: info(client)["aof_rewrite_in_progress"] == 0 and info(client)["aof_rewrites"] == 1)
        assert manifest(workdir) == [("appendonly.aof.2.base.rdb", 2, "b"), ("appendonly.aof.2.incr.aof", 2, "i")]
        assert sorted(p.name for p in (workdir / "appendonlydir").iterdir()) == [
            "appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"]
        fields = info(client)
        assert fields["aof_last_bgrewrite_status"] == "ok" and fields["aof_base_size"] > 0
        client.set("after-rewrite", "yes")
        server = restart(server, *AOF)
        client = server.client()
        assert client.get("after-rewrite") == b"yes"
        client.delete("after-rewrite")
        assert snapshot_of(client) == before
    finally:
        server.stop()


def test_rewrite_in_progress_and_scheduled_replies(workdir: Path) -> None:
    server = start_ember(workdir, *AOF, "--aof-use-rdb-preamble", "no")
    try:
        client = server.client()
        client.set_response_callback("BGREWRITEAOF", lambda reply, **_: reply)  # keep the status text
        client.mset({f"k{i}": i for i in range(30)})
        client.config_set("rdb-key-save-delay", 100_000)  # 0.1 s per key: the child runs for 3 s
        assert client.bgrewriteaof() == b"Background append only file rewriting started"
        with pytest.raises(redis.ResponseError, match="^Background append only file rewriting already in progress$"):
            client.bgrewriteaof()
        assert info(client)["aof_rewrite_in_progress"] == 1
        client.config_set("rdb-key-save-delay", 0)
        wait_until(lambda: info(client)["aof_rewrite_in_progress"] == 0, timeout=20)
        with client.pipeline(transaction=True) as tx:  # inside EXEC Redis only schedules it
            tx.bgrewriteaof()
            assert tx.execute() == [b"Background append only file rewriting scheduled"]
        wait_until(lambda: info(client)["aof_rewrites"] == 2 and info(client)["aof_rewrite_in_progress"] == 0,
                   timeout=20)
        assert manifest(workdir)[0] == ("appendonly.aof.3.base.aof", 3, "b")
        assert (workdir / "appendonlydir" / "appendonly.aof.3.base.aof").read_bytes().startswith(b"*2\r\n$6\r\nSELECT")
    finally:
        server.stop()


def test_config_set_appendonly_at_runtime(workdir: Path) -> None:
    server = start_ember(workdir, "--enable-debug-command", "yes")
    try:
        client = server.client()
        populate(client)
        assert info(client)["aof_enabled"] == 0
        assert client.config_set("appendonly", "yes") is True
        wait_until(lambda: info(client)["aof_enabled"] == 1 and info(client)["aof_rewrite_in_progress"] == 0)
        assert manifest(workdir) == [("appendonly.aof.1.base.rdb", 1, "b"), ("appendonly.aof.1.incr.aof", 1, "i")]
        client.set("after-switch", 1)
        before = snapshot_of(client)
        server = restart(server, *AOF)
        client = server.client()
        assert snapshot_of(client) == before
        client.config_set("appendonly", "no")
        assert info(client)["aof_enabled"] == 0
        size = (workdir / "appendonlydir" / "appendonly.aof.1.incr.aof").stat().st_size
        client.set("not-in-the-aof", 1)
        assert (workdir / "appendonlydir" / "appendonly.aof.1.incr.aof").stat().st_size == size
    finally:
        server.stop()


def test_automatic_rewrite_on_growth(workdir: Path) -> None:
    server = start_ember(workdir, *AOF, "--auto-aof-rewrite-min-size", "4096", "--auto-aof-rewrite-percentage", "100")
    try:
        client = server.client()
        for i in range(100):
            client.set(f"key-{i}", "x" * 100)
        wait_until(lambda: info(client)["aof_rewrites"] >= 1, timeout=10)
        assert "Starting automatic rewriting of AOF on" in server.log()
    finally:
        server.stop()


def test_debug_loadaof_reloads_the_same_data(workdir: Path) -> None:
    server = start_ember(workdir, *AOF)
    try:
        client = server.client()
        populate(client)
        before = snapshot_of(client)
        assert client.execute_command("DEBUG", "LOADAOF") == b"OK"
        assert snapshot_of(client) == before
    finally:
        server.stop()


def run_until_exit(workdir: Path, *extra: str) -> tuple[int, str]:
    """Start a server expected to refuse to start; its exit code and output."""
    args = [sys.executable, "-m", "ember", "--port", str(free_port()), "--bind", "127.0.0.1",
            "--dir", str(workdir), "--save", "", *extra]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(args, cwd=workdir, env=env, capture_output=True, timeout=30)
    return done.returncode, (done.stdout + done.stderr).decode(errors="replace")


def incr_file(workdir: Path) -> Path:
    return workdir / "appendonlydir" / "appendonly.aof.1.incr.aof"


def test_torn_tail_is_cut_off_at_start(workdir: Path) -> None:
    server = start_ember(workdir, *AOF)
    server.client().set("kept", 1)
    server.stop()
    size = incr_file(workdir).stat().st_size
    with open(incr_file(workdir), "ab") as handle:
        handle.write(b"*3\r\n$3\r\nSET\r\n$4\r\nlost")
    code, output = run_until_exit(workdir, *AOF, "--aof-load-truncated", "no")
    assert code != 0
    assert "Unexpected end of file reading the append only file appendonly.aof.1.incr.aof" in output
    server = start_ember(workdir, *AOF)
    try:
        assert server.client().get("kept") == b"1"
        assert f"!!! Truncating the AOF appendonly.aof.1.incr.aof at offset {size} !!!" in server.log()
        assert incr_file(workdir).stat().st_size == size
    finally:
        server.stop()


def test_corrupt_aof_refuses_to_start(workdir: Path) -> None:
    server = start_ember(workdir, *AOF)
    server.client().set("a", 1)
    server.client().set("b", 2)
    server.stop()
    data = bytearray(incr_file(workdir).read_bytes())
    offset = data.index(b"*3", 20)
    data[offset] = ord("?")
    incr_file(workdir).write_bytes(bytes(data))
    code, output = run_until_exit(workdir, *AOF)
    assert code != 0
    assert f"appendonly.aof.1.incr.aof at offset {offset}" in output
    (workdir / "appendonlydir" / "appendonly.aof.manifest").write_bytes(b"file x seq 1 type z\n")
    code, output = run_until_exit(workdir, *AOF)
    assert code != 0 and "Unknown AOF file type" in output


def test_write_errors_refuse_writes_until_the_disk_recovers(workdir: Path) -> None:
    server = start_ember(workdir, *AOF)
    try:
        client = server.client()
        client.set("before", 1)
        limit = incr_file(workdir).stat().st_size + 100
        resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
        for i in range(20):  # fill the allowance; the write that crosses it fails
            try:
                client.set(f"k{i}", "x" * 50)
            except redis.ResponseError:
                break
        wait_until(lambda: info(client)["aof_last_write_status"] == "err")
        # A short write counts as ENOSPC (Redis's choice); a write refused whole keeps its errno (EFBIG).
        with pytest.raises(redis.ResponseError,
                           match="^MISCONF Errors writing to the AOF file: (No space left on device|File too large)$"):
            client.set("refused", 1)
        assert client.get("before") == b"1"  # reads still work
        resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        wait_until(lambda: info(client)["aof_last_write_status"] == "ok", timeout=10)
        client.set("after", 1)
        assert "AOF write error looks solved, Redis can write again." in server.log()
        server = restart(server, *AOF)
        assert server.client().get("after") == b"1"
    finally:
        server.stop()


def test_files_of_an_earlier_aof_are_retired_when_it_is_turned_on_again(workdir: Path) -> None:
    server = start_ember(workdir, *AOF)
    server.client().set("old", 1)
    server = restart(server, "--enable-debug-command", "yes")  # AOF off: the RDB (none) is loaded
    try:
        client = server.client()
        assert client.dbsize() == 0
        client.set("new", 1)
        client.config_set("appendonly", "yes")
        wait_until(lambda: info(client)["aof_enabled"] == 1 and info(client)["aof_rewrite_in_progress"] == 0)
        assert manifest(workdir) == [("appendonly.aof.2.base.rdb", 2, "b"), ("appendonly.aof.2.incr.aof", 2, "i")]
        assert sorted(p.name for p in (workdir / "appendonlydir").iterdir()) == [
            "appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"]
    finally:
        server.stop()
