"""Crash recovery of the AOF: a writer thread sends INCR and SET commands and records every
acknowledged reply; the server is SIGKILLed at a random point of the stream (after a random
number of acknowledged writes, so no test waits a fixed time), restarted on the same directory,
and checked:

- appendfsync always: every acknowledged write is present, and at most the one write that was
  in flight when the server died is there without having been acknowledged;
- appendfsync everysec: whatever is missing was acknowledged within the last 2 s before the
  kill (Redis's documented worst case: while a background fsync runs, writes wait up to 2 s);
- a kill in the middle of a BGREWRITEAOF: the old manifest still describes a complete AOF;
- a torn tail (a partial last command, as a crash mid-write leaves) is cut off with Redis's
  warnings, and a corrupted byte stops the start with the file and offset named.

Five kill rounds in all; the seed is printed so a failure can be replayed.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest
import redis

from tests.conftest import ServerProcess, start_ember, wait_until
from tests.integration.test_aof import needs_hooks, run_until_exit

pytestmark = needs_hooks

SEED = random.randrange(1 << 32)
AOF = ("--appendonly", "yes", "--enable-debug-command", "yes")


class Writer(threading.Thread):
    """INCR counter / SET w:<n> n until the connection dies; records what was acknowledged."""

    def __init__(self, server: ServerProcess) -> None:
        super().__init__(daemon=True)
        self.client = server.client(socket_timeout=10)
        self.acked: list[tuple[int, float]] = []  # (counter value, when acknowledged)

    def run(self) -> None:
        try:
            while True:
                value = self.client.incr("counter")
                self.client.set(f"w:{value}", value)
                self.acked.append((value, time.monotonic()))
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return


def kill_under_load(server: ServerProcess, rng: random.Random) -> tuple[Writer, float]:
    writer = Writer(server)
    writer.start()
    target = rng.randrange(50, 300)
    wait_until(lambda: len(writer.acked) >= target, timeout=30, message=f"{target} acknowledged writes")
    server.process.kill()
    killed_at = time.monotonic()
    server.process.wait()
    writer.join(timeout=10)
    return writer, killed_at


def recovered(workdir: Path, *extra: str) -> tuple[ServerProcess, int, set[int]]:
    server = start_ember(workdir, *AOF, *extra)
    client = server.client()
    counter = int(client.get("counter") or 0)
    present = {int(key.split(b":")[1]) for key in client.scan_iter("w:*", count=1000)}
    return server, counter, present


@pytest.mark.parametrize("round_", range(3))
def test_appendfsync_always_keeps_every_acknowledged_write(tmp_path: Path, round_: int) -> None:
    rng = random.Random(SEED + round_)
    print(f"seed {SEED + round_}")
    server = start_ember(tmp_path, *AOF, "--appendfsync", "always")
    writer, _ = kill_under_load(server, rng)
    last_acked = writer.acked[-1][0]
    server, counter, present = recovered(tmp_path)
    try:
        assert last_acked <= counter <= last_acked + 1
        assert {value for value, _ in writer.acked} <= present
        assert present <= set(range(1, counter + 1))
    finally:
        server.stop()


def test_appendfsync_everysec_loses_at_most_a_second(tmp_path: Path) -> None:
    rng = random.Random(SEED + 10)
    print(f"seed {SEED + 10}")
    server = start_ember(tmp_path, *AOF, "--appendfsync", "everysec")
    writer, killed_at = kill_under_load(server, rng)
    server, counter, present = recovered(tmp_path)
    try:
        lost = [(value, when) for value, when in writer.acked if value not in present]
        assert all(killed_at - when <= 2.5 for _, when in lost), lost[:5]
        assert counter >= writer.acked[-1][0] - len(lost)
    finally:
        server.stop()


def test_kill_during_rewrite_keeps_the_old_manifest_complete(tmp_path: Path) -> None:
    rng = random.Random(SEED + 20)
    print(f"seed {SEED + 20}")
    server = start_ember(tmp_path, *AOF, "--appendfsync", "always")
    client = server.client()
    client.mset({f"pre:{i}": i for i in range(20)})
    client.config_set("rdb-key-save-delay", 20_000)  # the child takes ~0.4 s: the kill lands inside it
    client.bgrewriteaof()
    assert client.info("persistence")["aof_rewrite_in_progress"] == 1
    writer, _ = kill_under_load(server, rng)
    server, counter, present = recovered(tmp_path)
    try:
        assert counter >= writer.acked[-1][0]
        assert {value for value, _ in writer.acked} <= present
        assert server.client().dbsize() >= 21
    finally:
        server.stop()


def test_torn_tail_and_corrupted_bytes_are_detected(tmp_path: Path) -> None:
    server = start_ember(tmp_path, *AOF, "--appendfsync", "always")
    client = server.client()
    for i in range(50):
        client.set(f"k{i}", i)
    server.process.kill()
    server.process.wait()
    incr = tmp_path / "appendonlydir" / "appendonly.aof.1.incr.aof"
    whole = incr.read_bytes()
    incr.write_bytes(whole + b"*3\r\n$3\r\nSET\r\n$3\r\nk50\r\n$2\r\n5")  # a write torn by the crash
    server = start_ember(tmp_path, *AOF)
    try:
        assert server.client().dbsize() == 50
        assert "!!! Warning: short read while loading the AOF file appendonly.aof.1.incr.aof!!!" in server.log()
        assert incr.read_bytes() == whole
    finally:
        server.stop()
    corrupted = bytearray(whole)
    offset = len(whole) // 2
    offset = corrupted.index(b"*", offset)
    corrupted[offset + 1:offset + 2] = b"x"  # "*x": not a valid argument count
    incr.write_bytes(bytes(corrupted))
    code, output = run_until_exit(tmp_path, *AOF)
    assert code != 0
    assert f"Bad file format reading the append only file appendonly.aof.1.incr.aof at offset {offset}" in output

