"""AOF write throughput, redis-server and Ember side by side, with redis-benchmark.

For each server and each persistence mode (no AOF, appendonly with appendfsync everysec, with
appendfsync always) it starts a fresh server in its own directory, pins it to one core and
redis-benchmark to another (bench_core's helpers), and runs the write tests at each pipeline
depth. It prints requests/s with two kinds of ratio:

- Ember with the AOF / Ember without it (the cost of the AOF itself; target: everysec >= 0.8);
- Ember / Redis in the same mode.

`always` fsyncs before every reply batch: on a disk where fsync takes milliseconds it is
orders of magnitude slower than the rest, so it runs fewer requests (--always-requests).
Not a test: the test suite never runs it.

    python bench/bench_aof.py                      # set,incr,lpush; -n 200000 -c 50; -P 1 and 16
    python bench/bench_aof.py --quick              # -n 20000 (always: 2000)
    python bench/bench_aof.py --modes no,everysec --tests set -P 16
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import Run, pin, run_benchmark, tools_installed  # noqa: E402  (shared measuring helpers)

from tests.conftest import ServerProcess, start_ember, start_redis  # noqa: E402

MODES = {
    "no": ("--appendonly", "no"),
    "everysec": ("--appendonly", "yes", "--appendfsync", "everysec"),
    "always": ("--appendonly", "yes", "--appendfsync", "always"),
}


def measure_mode(kind: str, mode: str, args: argparse.Namespace) -> dict[tuple[str, int], Run]:
    workdir = Path(tempfile.mkdtemp(prefix=f"ember-bench-aof-{kind}-{mode}-"))
    start = start_redis if kind == "redis" else start_ember
    server: ServerProcess = start(workdir, *MODES[mode])
    runs = {}
    try:
        pin(server.process.pid, args.server_core)
        requests = args.always_requests if mode == "always" else args.requests
        run_args = argparse.Namespace(**{**vars(args), "requests": requests})
        for pipeline in args.pipelines:
            for test in args.tests:
                runs[(test, pipeline)] = run_benchmark(server, test, run_args, pipeline)
                server.client().flushall()
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return runs


def table(results: dict[tuple[str, str], dict[tuple[str, int], Run]], modes: list[str]) -> str:
    header = ["test", "-P"]
    for mode in modes:
        header += [f"Redis {mode}", f"Ember {mode}", f"Ember/Redis {mode}"]
    header += [f"Ember {mode}/no" for mode in modes if mode != "no" and "no" in modes]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key in results[("redis", modes[0])]:
        cells = [results[("redis", modes[0])][key].name, str(key[1])]
        for mode in modes:
            redis_rps, ember_rps = results[("redis", mode)][key].rps, results[("ember", mode)][key].rps
            cells += [f"{redis_rps:,.0f}", f"{ember_rps:,.0f}", f"{ember_rps / redis_rps:.2f}"]
        if "no" in modes:
            base = results[("ember", "no")][key].rps
            cells += [f"{results[('ember', mode)][key].rps / base:.2f}" for mode in modes if mode != "no"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", default="set,incr,lpush", help="redis-benchmark -t list (write commands)")
    parser.add_argument("--modes", default="no,everysec,always", help="persistence modes: no, everysec, always")
    parser.add_argument("-n", "--requests", type=int, default=200_000)
    parser.add_argument("--always-requests", type=int, default=None, help="-n for appendfsync always")
    parser.add_argument("-c", "--clients", type=int, default=50)
    parser.add_argument("-P", "--pipelines", type=int, nargs="+", default=[1, 16], help="-P values")
    parser.add_argument("--quick", action="store_true", help="-n 20000 unless -n is given")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1 if (os.cpu_count() or 1) > 1 else None)
    args = parser.parse_args()
    if args.quick and "-n" not in sys.argv and "--requests" not in sys.argv:
        args.requests = 20_000
    if args.always_requests is None:
        args.always_requests = max(args.requests // 10, 1000)
    args.tests = [t.strip().lower() for t in args.tests.split(",") if t.strip()]
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip() in MODES]
    return args


def main() -> int:
    args = parse_args()
    if not tools_installed():
        return 2
    print(f"requests={args.requests} (always: {args.always_requests}) clients={args.clients} "
          f"pipelines={args.pipelines} modes={args.modes}", file=sys.stderr)
    results = {}
    for mode in args.modes:
        for kind in ("redis", "ember"):
            results[(kind, mode)] = measure_mode(kind, mode, args)
    print(table(results, args.modes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
