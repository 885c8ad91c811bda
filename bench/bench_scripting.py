"""EVALSHA throughput, redis-server and Ember side by side, with redis-benchmark.

Each script is loaded with SCRIPT LOAD on both servers, then redis-benchmark sends
`EVALSHA <sha> 1 <key> <arg>` at each pipeline depth (bench_core's pinning: servers on one core,
redis-benchmark on another). The scripts are the short ones real clients run all the time:

- `lock-release`: redis-py's Lock release script (GET, compare, DEL) on a key nobody holds;
- `set`: one write through redis.call;
- `return-arg`: no command at all, only the script call and its reply (the engine's own cost).

It prints requests/s and server CPU per request with Ember/Redis ratios. With --in-process it
measures Ember alone the way bench_hotpath.py does (pipelined requests fed to a ClientProtocol,
best round of process CPU per EVALSHA): steady on a loaded machine, for comparing two versions
of the engine (--root). Not a test.

    python bench/bench_scripting.py                 # -n 200000 -c 50, -P 1 and 16
    python bench/bench_scripting.py --quick         # -n 20000
    python bench/bench_scripting.py --scripts lock-release --pipelines 16
    python bench/bench_scripting.py --in-process [--root /path/to/older/checkout]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import Run, pin, redis_benchmark, tools_installed  # noqa: E402  (shared measuring helpers)

from tests.conftest import ServerProcess, start_ember, start_redis  # noqa: E402

SCRIPTS = {
    "lock-release": ("local token = redis.call('get', KEYS[1])\n"
                     "if not token or token ~= ARGV[1] then\n    return 0\nend\n"
                     "redis.call('del', KEYS[1])\nreturn 1"),
    "set": "return redis.call('set', KEYS[1], ARGV[1])",
    "return-arg": "return ARGV[1]",
}


def run_evalsha(server: ServerProcess, name: str, args: argparse.Namespace, pipeline: int) -> Run:
    sha = server.client().script_load(SCRIPTS[name])
    run = redis_benchmark(server, args, pipeline, "EVALSHA", sha, "1", "bench:key", "token")
    return Run(name, run.rps, run.cpu_us_per_op)


def in_process_cost(name: str, pipeline: int, commands: int, rounds: int) -> float:
    """Best round's process CPU time per EVALSHA, in microseconds (bench_hotpath's method)."""
    from bench_hotpath import connect, request

    protocol = connect()
    body = SCRIPTS[name].encode()
    protocol.data_received(request(b"SCRIPT", b"LOAD", body))
    sha = hashlib.sha1(body).hexdigest().encode()
    batch = request(b"EVALSHA", sha, b"1", b"bench:key", b"token") * pipeline
    reads = max(commands // pipeline, 1)
    protocol.data_received(batch)  # warm up
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(reads):
            protocol.data_received(batch)
        best = min(best, time.process_time() - started)
    return best / (reads * pipeline) * 1e6


def in_process(args: argparse.Namespace) -> int:
    sys.path.insert(0, args.root)  # the ember package measured, ahead of this checkout's
    print(f"in-process, {args.requests} EVALSHA x {args.rounds} rounds (best), code from {args.root}\n")
    print("| script | -P | CPU µs/EVALSHA |\n|---|---|---|")
    for pipeline in args.pipelines:
        for name in args.scripts:
            print(f"| {name} | {pipeline} | {in_process_cost(name, pipeline, args.requests, args.rounds):.2f} |")
    return 0


def measure(server: ServerProcess, args: argparse.Namespace) -> dict[tuple[str, int], Run]:
    return {(name, pipeline): run_evalsha(server, name, args, pipeline)
            for pipeline in args.pipelines for name in args.scripts}


def table(redis_runs: dict, ember_runs: dict) -> str:
    lines = ["| script | -P | Redis req/s | Ember req/s | Ember/Redis req/s | Redis CPU µs/op | Ember CPU µs/op |",
             "|---|---|---|---|---|---|---|"]
    for key, redis_run in redis_runs.items():
        ember_run = ember_runs[key]
        lines.append(f"| {key[0]} | {key[1]} | {redis_run.rps:,.0f} | {ember_run.rps:,.0f} | "
                     f"{ember_run.rps / redis_run.rps:.2f} | {redis_run.cpu_us_per_op:.2f} | "
                     f"{ember_run.cpu_us_per_op:.2f} |")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scripts", default=",".join(SCRIPTS), help=f"comma-separated, from {', '.join(SCRIPTS)}")
    parser.add_argument("-n", "--requests", type=int, default=200_000)
    parser.add_argument("-c", "--clients", type=int, default=50)
    parser.add_argument("--pipelines", type=int, nargs="+", default=[1, 16], help="-P values")
    parser.add_argument("--quick", action="store_true", help="-n 20000 unless -n is given")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1 if (os.cpu_count() or 1) > 1 else None)
    parser.add_argument("--in-process", action="store_true", help="Ember alone, CPU per EVALSHA in-process")
    parser.add_argument("--rounds", type=int, default=9, help="with --in-process")
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent),
                        help="with --in-process: the checkout whose ember package is measured")
    args = parser.parse_args()
    if args.quick and "-n" not in sys.argv and "--requests" not in sys.argv:
        args.requests = 20_000
    elif args.in_process and "-n" not in sys.argv and "--requests" not in sys.argv:
        args.requests = 30_000  # per round
    args.scripts = [name.strip() for name in args.scripts.split(",") if name.strip()]
    unknown = set(args.scripts) - set(SCRIPTS)
    if unknown:
        parser.error(f"unknown scripts: {', '.join(sorted(unknown))}")
    return args


def main() -> int:
    args = parse_args()
    if args.in_process:
        return in_process(args)
    if not tools_installed():
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="ember-bench-scripting-"))
    servers: list[ServerProcess] = []
    try:
        redis_server = start_redis(workdir)
        servers.append(redis_server)
        ember = start_ember(workdir, "--appendonly", "no")
        servers.append(ember)
        for server in servers:
            pin(server.process.pid, args.server_core)
        print(f"requests={args.requests} clients={args.clients} pipelines={args.pipelines}", file=sys.stderr)
        redis_runs = measure(redis_server, args)
        ember_runs = measure(ember, args)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(table(redis_runs, ember_runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
