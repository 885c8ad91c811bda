"""AOF interoperability with Debian's redis-server 7.0 (multi-part AOF, the format 7.2 keeps):

- the AOF directory Ember writes (RDB-preamble base, or a command base after BGREWRITEAOF with
  aof-use-rdb-preamble no, plus incr files holding the deterministic forms of SET EX,
  INCRBYFLOAT, SPOP, blocking pops...) passes `redis-check-aof` and loads into redis-server
  with the same contents, TTLs and DEBUG DIGEST;
- the AOF directory redis-server writes (base, rewrite, incr files) loads into Ember the same way.

The dataset is test_rdb_interop's (every type and encoding, TTLs, stream groups, two databases)
plus commands whose propagated form differs from what was sent.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import redis

from tests.conftest import start_ember, start_redis, wait_until
from tests.differential.test_rdb_interop import dataset, populate
from tests.integration.test_aof import needs_hooks

pytestmark = [needs_hooks,
              pytest.mark.skipif(shutil.which("redis-check-aof") is None, reason="redis-tools not installed")]

AOF = ("--appendonly", "yes", "--enable-debug-command", "yes")


def rewritten_forms(client: redis.Redis) -> None:
    """Commands an AOF records in another form than the one sent."""
    client.set("ex", "v", ex=3000)
    client.execute_command("SETEX", "setex", 3000, "v")
    client.incrbyfloat("float", "10.5")
    client.incrbyfloat("float", "0.1")
    client.hincrbyfloat("hfloat", "f", "2.5")
    client.sadd("popped", *range(20))
    client.spop("popped")
    client.spop("popped", 5)
    client.rpush("queue", "a", "b", "c")
    client.blpop(["queue"], timeout=1)
    client.lmpop(1, "queue", direction="RIGHT", count=5)
    client.set("getex", "v")
    client.getex("getex", px=500_000)
    client.expire("hash", 900)
    client.zadd("pz", {"a": 1, "b": 2, "c": 3})
    client.bzpopmin(["pz"], timeout=1)
    client.set("gone", "x")
    client.expire("gone", -1)


def snapshot(client: redis.Redis) -> tuple[dict, bytes]:
    return dataset(client), client.execute_command("DEBUG", "DIGEST")


def check_aof(directory: Path) -> None:
    result = subprocess.run(["redis-check-aof", str(directory / "appendonly.aof.manifest")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "All AOF files and manifest are valid" in result.stdout, \
        result.stdout + result.stderr


def info(client: redis.Redis) -> dict:
    return client.info("persistence")


def rewrite(client: redis.Redis) -> None:
    client.bgrewriteaof()
    wait_until(lambda: info(client)["aof_rewrite_in_progress"] == 0 and info(client)["aof_rewrites"] >= 1,
               timeout=30)


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_ember_aof_loads_into_redis(tmp_path: Path, preamble: str) -> None:
    (tmp_path / "ember").mkdir()
    ember = start_ember(tmp_path / "ember", *AOF, "--aof-use-rdb-preamble", preamble)
    try:
        client = ember.client()
        populate(client)
        if preamble == "no":
            rewrite(client)  # the base becomes commands: SET, RPUSH, SADD, ZADD, HMSET, XADD, XSETID...
        rewritten_forms(client)
        expected = snapshot(client)
    finally:
        ember.stop()
    source = ember.workdir / "appendonlydir"
    check_aof(source)
    target = tmp_path / "redis"
    target.mkdir()
    shutil.copytree(source, target / "appendonlydir")
    loaded = start_redis(target, "--appendonly", "yes")
    try:
        assert snapshot(loaded.client()) == expected
    finally:
        loaded.stop()


def test_redis_aof_loads_into_ember(tmp_path: Path) -> None:
    source = tmp_path / "redis"
    source.mkdir()
    oracle = start_redis(source, "--appendonly", "yes")
    try:
        client = oracle.client()
        populate(client)
        rewrite(client)  # a base from a rewrite, then incr files
        rewritten_forms(client)
        expected = snapshot(client)
    finally:
        oracle.stop()
    target = tmp_path / "ember"
    target.mkdir()
    shutil.copytree(source / "appendonlydir", target / "appendonlydir")
    ember = start_ember(target, *AOF)
    try:
        assert snapshot(ember.client()) == expected
    finally:
        ember.stop()
