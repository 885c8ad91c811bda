"""Core throughput and CPU cost, redis-server and Ember side by side, with redis-benchmark.

Starts both servers on free loopback ports (`--save "" --appendonly no`), pins each server to one
core and redis-benchmark to another, and runs every test at each pipeline depth against Redis and
Ember in turn, `--rounds` times (the order alternating between rounds), so that a slow spell of a
shared host falls on both. For each server it reports the median requests/s and the median
server CPU time per request (utime + stime from /proc/PID/stat before and after, divided by the
requests sent), and Ember's ratio to Redis for both. Prints a markdown table. Not a test: the test
suite never runs it.

    python bench/bench_core.py                    # ping,set,get,incr,mset; -n 200000 -c 50; -P 1 and 16
    python bench/bench_core.py --quick            # -n 20000: a one-minute sanity run
    python bench/bench_core.py --tests set,get --pipelines 16 -n 500000
    python bench/bench_core.py --tests set,get --floor  # also the Python floor (null_server.py)

With --floor it also measures bench/null_server.py, a Python server on uvloop and hiredis that
parses each request and answers it without running any command: what remains between Ember and
that floor is Ember's own command path.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import ServerProcess, free_port, start_ember, start_redis, wait_until  # noqa: E402  (same start-up as the tests)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# redis-benchmark's -t ping runs two tests; they are measured one at a time.
EXPANDED_TESTS = {"ping": ["ping_inline", "ping_mbulk"]}


@dataclass
class Run:
    name: str  # redis-benchmark's row name, e.g. "SET" or "MSET (10 keys)"
    rps: float
    cpu_us_per_op: float


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (all threads), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 and 15 of the full line


def pin(pid: int, core: int) -> None:
    """Pin every thread of pid to one core (taskset -a), so server and client never share one."""
    subprocess.run(["taskset", "-a", "-p", "-c", str(core), str(pid)], check=True, capture_output=True)


def run_benchmark(server: ServerProcess, test: str, args: argparse.Namespace, pipeline: int) -> Run:
    return redis_benchmark(server, args, pipeline, "-t", test)


def redis_benchmark(server: ServerProcess, args: argparse.Namespace, pipeline: int, *workload: str) -> Run:
    """One redis-benchmark run of workload (`-t test`, or a command to send) on the client core:
    its requests/s and the server's CPU µs per request."""
    command = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(server.port), "-n", str(args.requests),
               "-c", str(args.clients), "-P", str(pipeline), "--csv", *workload]
    if args.client_core is not None:
        command = ["taskset", "-c", str(args.client_core), *command]
    before = cpu_seconds(server.process.pid)
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    cpu = cpu_seconds(server.process.pid) - before
    rows = [row for row in csv.reader(io.StringIO(result.stdout)) if row and row[0] != "test"]
    if len(rows) != 1:
        raise RuntimeError(f"unexpected redis-benchmark output for {workload}:\n{result.stdout}{result.stderr}")
    name, rps = rows[0][0], float(rows[0][1])
    return Run(name, rps, cpu * 1e6 / args.requests)


def measure(servers: list[ServerProcess], args: argparse.Namespace) -> list[dict[tuple[str, int], Run]]:
    """Every test at every depth on each server, args.rounds times, each round visiting the
    servers in turn (in reverse order every other round); per server, the median run."""
    runs: list[dict[tuple[str, int], list[Run]]] = [{} for _ in servers]
    for pipeline in args.pipelines:
        for test in args.tests:
            for single in EXPANDED_TESTS.get(test, [test]):
                for round_number in range(args.rounds):
                    order = list(enumerate(servers))
                    for index, server in order if round_number % 2 == 0 else reversed(order):
                        runs[index].setdefault((single, pipeline), []).append(
                            run_benchmark(server, single, args, pipeline))
    return [{key: median_run(samples) for key, samples in server_runs.items()} for server_runs in runs]


def median_run(samples: list[Run]) -> Run:
    """The median requests/s and the median CPU per request of several runs of one test."""
    return Run(samples[0].name, statistics.median(run.rps for run in samples),
               statistics.median(run.cpu_us_per_op for run in samples))


def table(redis_runs: dict, ember_runs: dict, floor_runs: dict | None = None) -> str:
    floor_columns = " Python floor CPU µs/op | floor/Redis CPU |" if floor_runs else ""
    lines = [
        "| test | -P | Redis req/s | Ember req/s | Ember/Redis req/s | Redis CPU µs/op | Ember CPU µs/op "
        "| Ember/Redis CPU |" + floor_columns,
        "|---|---|---|---|---|---|---|---|" + "---|---|" * bool(floor_runs),
    ]
    for key, redis_run in redis_runs.items():
        ember_run = ember_runs[key]
        line = (f"| {redis_run.name} | {key[1]} | {redis_run.rps:,.0f} | {ember_run.rps:,.0f} | "
                f"{ember_run.rps / redis_run.rps:.2f} | {redis_run.cpu_us_per_op:.2f} | "
                f"{ember_run.cpu_us_per_op:.2f} | {cpu_ratio(ember_run, redis_run):.2f} |")
        if floor_runs:
            floor_run = floor_runs[key]
            line += f" {floor_run.cpu_us_per_op:.2f} | {cpu_ratio(floor_run, redis_run):.2f} |"
        lines.append(line)
    return "\n".join(lines)


def cpu_ratio(run: Run, redis_run: Run) -> float:
    return run.cpu_us_per_op / redis_run.cpu_us_per_op if redis_run.cpu_us_per_op else float("inf")


def start_null_server(workdir: Path) -> ServerProcess:
    """bench/null_server.py on a free port, ready when it answers PING."""
    port = free_port()
    log_path = workdir / f"null-{port}.log"
    args = [sys.executable, str(ROOT / "bench" / "null_server.py"), str(port)]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    server = ServerProcess(port, process, workdir, log_path, args)
    try:
        wait_until(lambda: server.client(socket_timeout=1, protocol=2).ping(), message="the null server to answer")
    except BaseException:
        server.stop()  # not in main()'s list yet: nobody else would stop it
        raise
    return server


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", default="ping,set,get,incr,mset", help="redis-benchmark -t list")
    parser.add_argument("-n", "--requests", type=int, default=200_000)
    parser.add_argument("-c", "--clients", type=int, default=50)
    parser.add_argument("--pipelines", type=int, nargs="+", default=[1, 16], help="-P values")
    parser.add_argument("--quick", action="store_true", help="-n 20000 unless -n is given")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1 if (os.cpu_count() or 1) > 1 else None)
    parser.add_argument("--ember-args", default="", help="extra ember-server arguments, space separated")
    parser.add_argument("--floor", action="store_true", help="also measure bench/null_server.py (the Python floor)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each test per server (medians reported)")
    args = parser.parse_args()
    if args.quick and "-n" not in sys.argv and "--requests" not in sys.argv:
        args.requests = 20_000
    args.tests = [t.strip().lower() for t in args.tests.split(",") if t.strip()]
    return args


def tools_installed(tools: tuple[str, ...] = ("redis-server", "redis-benchmark", "taskset")) -> bool:
    """Whether the side-by-side benchmarks can run here; names what is missing on stderr."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    for tool in missing:
        print(f"{tool} is not installed", file=sys.stderr)
    return not missing


def main() -> int:
    args = parse_args()
    if not tools_installed():
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="ember-bench-core-"))
    servers: list[ServerProcess] = []
    try:
        redis_server = start_redis(workdir)
        servers.append(redis_server)
        ember = start_ember(workdir, "--appendonly", "no", *args.ember_args.split())
        servers.append(ember)
        floor = start_null_server(workdir) if args.floor else None
        if floor is not None:
            servers.append(floor)
        for server in servers:
            pin(server.process.pid, args.server_core)
        print(f"requests={args.requests} clients={args.clients} pipelines={args.pipelines} rounds={args.rounds} "
              f"server core={args.server_core} client core={args.client_core}", file=sys.stderr)
        redis_runs, ember_runs, *floor_runs = measure(servers, args)
    finally:
        for server in servers:
            server.stop()
    print(table(redis_runs, ember_runs, floor_runs[0] if floor_runs else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
