"""EVALSHA throughput, redis-server and Ember side by side, with redis-benchmark.

Each script is loaded with SCRIPT LOAD on both servers, then redis-benchmark sends
`EVALSHA <sha> 1 <key> <arg>` at each pipeline depth (bench_core's pinning: servers on one core,
redis-benchmark on another). The scripts are the short ones real clients run all the time:

- `lock-release`: redis-py's Lock release script (GET, compare, DEL) on a key nobody holds;
- `set`: one write through redis.call;
- `return-arg`: no command at all, only the script call and its reply (the engine's own cost).

It prints requests/s and server CPU per request with Ember/Redis ratios. Not a test.

    python bench/bench_scripting.py                 # -n 200000 -c 50, -P 1 and 16
    python bench/bench_scripting.py --quick         # -n 20000
    python bench/bench_scripting.py --scripts lock-release --pipelines 16
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import Run, cpu_seconds, pin, tools_installed  # noqa: E402  (shared measuring helpers)

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
    command = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(server.port), "-n", str(args.requests),
               "-c", str(args.clients), "-P", str(pipeline), "--csv", "EVALSHA", sha, "1", "bench:key", "token"]
    if args.client_core is not None:
        command = ["taskset", "-c", str(args.client_core), *command]
    before = cpu_seconds(server.process.pid)
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    cpu = cpu_seconds(server.process.pid) - before
    rows = [row for row in csv.reader(io.StringIO(result.stdout)) if row and row[0] != "test"]
    if len(rows) != 1:
        raise RuntimeError(f"unexpected redis-benchmark output for {name}:\n{result.stdout}{result.stderr}")
    return Run(name, float(rows[0][1]), cpu * 1e6 / args.requests)


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
    args = parser.parse_args()
    if args.quick and "-n" not in sys.argv and "--requests" not in sys.argv:
        args.requests = 20_000
    args.scripts = [name.strip() for name in args.scripts.split(",") if name.strip()]
    unknown = set(args.scripts) - set(SCRIPTS)
    if unknown:
        parser.error(f"unknown scripts: {', '.join(sorted(unknown))}")
    return args


def main() -> int:
    args = parse_args()
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
