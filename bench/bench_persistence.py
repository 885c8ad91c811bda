"""Snapshot cost, redis-server and Ember side by side: SAVE time, load time, file size, and what a
BGSAVE does to command latency while it runs.

Both servers (free loopback ports, `--save ""`) get the same dataset of N keys (default 1M):
70% strings (integers, short texts, 100-byte values), 10% small hashes, 10% small lists, 5%
small sets, 5% small sorted sets, plus a few big collections so the non-listpack encodings are
written too. Then, for each server:
- SAVE: the round trip of a foreground SAVE (the snapshot written, fsynced and renamed);
- load: DEBUG RELOAD NOSAVE, i.e. empty the dataset and load the file back;
- latency: a single client sends GETs back to back for a few seconds, then BGSAVE starts and it
  keeps going until the child exits; p50/p99/max of each phase show what the fork and the
  copy-on-write cost the serving process.
Prints a markdown table with Ember/Redis ratios. Not a test: the test suite never runs it.

    python bench/bench_persistence.py             # 1,000,000 keys
    python bench/bench_persistence.py --keys 100000
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from tests.conftest import ServerProcess, start_ember, start_redis  # noqa: E402  (same start-up as the tests)

BATCH = 10_000


def populate(client: redis.Redis, keys: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    pipe = client.pipeline(transaction=False)
    for index in range(keys):
        key = f"key:{index}"
        kind = rng.random()
        if kind < 0.25:
            pipe.set(key, rng.randrange(10**9))
        elif kind < 0.45:
            pipe.set(key, f"value-{index}")
        elif kind < 0.70:
            pipe.set(key, "v" * 100)
        elif kind < 0.80:
            pipe.hset(key, mapping={f"f{i}": f"value-{i}" for i in range(5)})
        elif kind < 0.90:
            pipe.rpush(key, *[f"item-{i}" for i in range(5)])
        elif kind < 0.95:
            pipe.sadd(key, *[f"m{i}" for i in range(5)])
        else:
            pipe.zadd(key, {f"m{i}": i for i in range(5)})
        if index % 1000 == 0:
            pipe.pexpire(key, 3_600_000)
        if len(pipe) >= BATCH:
            pipe.execute()
    pipe.set("probe", "value")
    pipe.rpush("big:list", *range(100_000))
    pipe.hset("big:hash", mapping={f"f{i}": i for i in range(50_000)})
    pipe.sadd("big:set", *[f"member-{i}" for i in range(50_000)])
    pipe.zadd("big:zset", {f"m{i}": i / 3 for i in range(50_000)})
    pipe.execute()


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def latency_probe(client: redis.Redis, seconds: float, until=None) -> list[float]:
    """Round-trip times (ms) of GETs sent one after the other, for `seconds` or until `until()`."""
    samples = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            start = time.perf_counter()
            client.get("probe")
            samples.append((time.perf_counter() - start) * 1000)
        if until is not None and until():
            break
    return samples


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    return (statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1], ordered[-1])


def measure(server: ServerProcess, keys: int) -> dict[str, float]:
    client = server.client(socket_timeout=600)
    client.flushall()
    started = time.perf_counter()
    populate(client, keys)
    print(f"  populated {client.dbsize()} keys in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    results = {"save_s": timed(client.save)}
    results["file_mb"] = (server.workdir / "dump.rdb").stat().st_size / 1e6
    results["load_s"] = timed(lambda: client.execute_command("DEBUG", "RELOAD", "NOSAVE"))
    before = percentiles(latency_probe(client, 3.0))
    watcher = server.client()
    client.bgsave()
    during = percentiles(latency_probe(
        client, 600.0, until=lambda: watcher.info("persistence")["rdb_bgsave_in_progress"] == 0))
    for name, values in (("before", before), ("during", during)):
        for label, value in zip(("p50", "p99", "max"), values, strict=True):
            results[f"{name}_{label}_ms"] = value
    return results


ROWS = [("SAVE (s)", "save_s"), ("load: DEBUG RELOAD NOSAVE (s)", "load_s"), ("RDB file (MB)", "file_mb"),
        ("GET p50 before BGSAVE (ms)", "before_p50_ms"), ("GET p99 before BGSAVE (ms)", "before_p99_ms"),
        ("GET p50 during BGSAVE (ms)", "during_p50_ms"), ("GET p99 during BGSAVE (ms)", "during_p99_ms"),
        ("GET max during BGSAVE (ms)", "during_max_ms")]


def table(redis_results: dict[str, float], ember_results: dict[str, float]) -> str:
    lines = ["| measure | redis-server | Ember | Ember / Redis |", "|---|---:|---:|---:|"]
    for label, key in ROWS:
        theirs, ours = redis_results[key], ember_results[key]
        ratio = f"{ours / theirs:.2f}" if theirs else "-"
        lines.append(f"| {label} | {theirs:.3f} | {ours:.3f} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=1_000_000)
    args = parser.parse_args()
    results = {}
    for name, start in (("redis-server", start_redis), ("Ember", start_ember)):
        with tempfile.TemporaryDirectory() as workdir:
            server = start(Path(workdir), "--enable-debug-command", "yes")
            try:
                print(f"{name}:", file=sys.stderr)
                results[name] = measure(server, args.keys)
            finally:
                server.stop()
    print(f"{args.keys} keys (mixed types)\n")
    print(table(results["redis-server"], results["Ember"]))


if __name__ == "__main__":
    main()
