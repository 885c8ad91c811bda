"""Celery throughput on redis-server and on Ember, in one run: tasks per second end to end.

For each server it starts the server, one real `celery worker` on it (broker and
result backend both on that server; the app is tests/clients/apps/celery_app.py), warms up, then
sends N trivial tasks (`add`) from this process and waits for every result through the Redis
result backend (pub/sub). Reported: wall time from the first send to the last result, tasks/s,
the server's CPU time per task (utime + stime from /proc), Ember's ratio to Redis, and where the
servers spent their time (INFO commandstats over the timed run). Target: Ember at least 0.95x
Redis's tasks/s. On a shared host single runs swing by 10% or more, so each server is measured
`--rounds` times, in turn (the order alternating), and the table shows each server's median run
by tasks/s; every round's ratio is listed under it. Not a test: the test suite never runs it.

    python bench/bench_celery.py                       # 2000 tasks, prefork -c 2, 3 rounds
    python bench/bench_celery.py -n 500 --pool solo --rounds 1    # a quick run
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_core import CLOCK_TICKS, cpu_seconds  # noqa: E402  (same /proc accounting as bench_core)
from bench.bench_pubsub_fanout import on_each_server  # noqa: E402
from tests.clients.apps.celery_app import TASKS, make_app  # noqa: E402
from tests.clients.conftest import ProcessGroup, app_command, server_url  # noqa: E402
from tests.conftest import ServerProcess  # noqa: E402


@dataclass
class Run:
    seconds: float
    tasks: int
    server_cpu_ms_per_task: float
    machine_cpu_ms_per_task: float  # every process's, server and Celery's: the CPU is shared
    reads_per_task: float  # the server's reads and reply writes (INFO total_reads/writes_processed)
    writes_per_task: float
    commands: dict[str, tuple[int, int]]  # command -> (calls, usec) during the timed run

    @property
    def tasks_per_second(self) -> float:
        return self.tasks / self.seconds


def run_tasks(app, count: int, timeout: float) -> None:
    """Send count add tasks and wait for all their results."""
    add = app.signature(f"{TASKS}.add")
    results = [add.clone((n, n)).delay() for n in range(count)]
    values = app.ResultSet(results).get(timeout=timeout)
    if values != [2 * n for n in range(count)]:
        raise RuntimeError("wrong task results")


def measure(server: ServerProcess, args: argparse.Namespace, workdir: Path) -> Run:
    url = server_url(server)
    workers = ProcessGroup(workdir)
    app = make_app(url)
    try:
        worker = workers.start("bench-worker", app_command(
            "celery", "-A", TASKS, "worker", "--loglevel=warning", "-n", "bench@ember", "--without-mingle",
            "--without-gossip", f"--pool={args.pool}", "-c", str(args.concurrency), "-Q", "celery"),
            env={"EMBER_CELERY_URL": url})
        # with --loglevel=warning the worker prints no "ready": ask it directly
        deadline = time.monotonic() + 60
        while not app.control.inspect(destination=["bench@ember"], timeout=1).ping():
            if time.monotonic() > deadline or worker.process.poll() is not None:
                raise RuntimeError(f"the worker did not start:\n{worker.log()}")
        run_tasks(app, args.warmup, args.timeout)
        with server.client() as admin:
            admin.config_resetstat()
            cpu_before, machine_before = cpu_seconds(server.process.pid), machine_cpu_seconds()
            start = time.perf_counter()
            run_tasks(app, args.tasks, args.timeout)
            seconds = time.perf_counter() - start
            cpu, machine = cpu_seconds(server.process.pid) - cpu_before, machine_cpu_seconds() - machine_before
            stats = admin.info("stats")
            commands = {name.removeprefix("cmdstat_"): (int(stats["calls"]), int(stats["usec"]))
                        for name, stats in admin.info("commandstats").items()}
        per_task = 1 / args.tasks
        return Run(seconds, args.tasks, cpu * 1000 * per_task, machine * 1000 * per_task,
                   stats["total_reads_processed"] * per_task, stats["total_writes_processed"] * per_task, commands)
    finally:
        app.close()
        workers.stop_all()


def machine_cpu_seconds() -> float:
    """CPU time every core spent busy (all but idle and iowait), from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(field) for field in stat.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLOCK_TICKS


def median_run(runs: list[Run]) -> Run:
    """The run with the median tasks/s (the lower middle one of an even count)."""
    return sorted(runs, key=lambda run: run.tasks_per_second)[(len(runs) - 1) // 2]


def report(redis_runs: list[Run], ember_runs: list[Run], args: argparse.Namespace) -> str:
    redis_run, ember_run = median_run(redis_runs), median_run(ember_runs)
    ratio = ember_run.tasks_per_second / redis_run.tasks_per_second
    each_round = ", ".join(f"{ember.tasks_per_second / redis.tasks_per_second:.2f}"
                           for redis, ember in zip(redis_runs, ember_runs, strict=True))
    lines = [
        f"Celery: {args.tasks} tasks, worker --pool={args.pool} -c {args.concurrency}, results via the Redis backend, "
        f"median of {len(redis_runs)} rounds",
        "",
        "| server | seconds | tasks/s | server CPU ms/task | machine CPU ms/task | reads/task | writes/task |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, run in (("redis-server", redis_run), ("Ember", ember_run)):
        lines.append(f"| {name} | {run.seconds:.2f} | {run.tasks_per_second:,.0f} | "
                     f"{run.server_cpu_ms_per_task:.3f} | {run.machine_cpu_ms_per_task:.3f} | "
                     f"{run.reads_per_task:.1f} | {run.writes_per_task:.1f} |")
    verdict = "meets" if ratio >= 0.95 else "below"
    lines += ["", f"Ember/Redis tasks/s: {ratio:.2f}x ({verdict} the 0.95x target); each round: {each_round}", "",
              "Commands per task and server time per task (µs, INFO commandstats), Ember's costliest first:", "",
              "| command | calls/task | Redis µs/task | Ember µs/task |", "|---|---|---|---|"]
    by_cost = sorted(ember_run.commands, key=lambda name: -ember_run.commands[name][1])
    for name in by_cost[:args.top]:
        calls, ember_usec = ember_run.commands[name]
        redis_usec = redis_run.commands.get(name, (0, 0))[1]
        lines.append(f"| {name} | {calls / ember_run.tasks:.2f} | {redis_usec / redis_run.tasks:.1f} | "
                     f"{ember_usec / ember_run.tasks:.1f} |")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--tasks", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--pool", default="prefork", choices=["prefork", "solo", "threads"])
    parser.add_argument("-c", "--concurrency", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for all results")
    parser.add_argument("--top", type=int, default=10, help="commands listed in the cost table")
    parser.add_argument("--rounds", type=int, default=3, help="runs per server, in turn (medians reported)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if shutil.which("redis-server") is None:
        print("redis-server is not installed", file=sys.stderr)
        return 2
    rounds = [on_each_server("ember-bench-celery-", lambda server, workdir: measure(server, args, workdir),
                             ember_first=number % 2 == 1) for number in range(args.rounds)]
    print(report([runs["redis"] for runs in rounds], [runs["ember"] for runs in rounds], args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
