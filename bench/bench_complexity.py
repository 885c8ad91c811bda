"""Per-operation cost at small and large sizes, redis-server and Ember side by side.

Each bench/complexity_<family>.py declares `setup(client, n)` (build structures of n elements)
and `OPS` (name -> function of i returning the command to send). For every size this runner
flushes the server, builds the structures, sends each op `--ops` times (pipelined in batches) and
reports microseconds per op. An operation whose cost grows more than ~3x from 1k to 1M elements
does not have Redis's complexity: that is a bug to fix.

    python bench/bench_complexity.py                      # every family, sizes 1k and 1M
    python bench/bench_complexity.py --families lists --sizes 1000 100000 --ops 2000
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from tests.conftest import start_ember, start_redis  # noqa: E402  (reuse the test servers' start-up)

BATCH = 100
GROWTH_LIMIT = 3.0


def discover_families() -> list[str]:
    return sorted(p.stem.removeprefix("complexity_") for p in (ROOT / "bench").glob("complexity_*.py"))


def time_op(client, make_args, count: int) -> float:
    """Microseconds per op: `count` calls sent in pipelined batches of BATCH."""
    start = time.perf_counter()
    for base in range(0, count, BATCH):
        pipe = client.pipeline(transaction=False)
        for i in range(base, min(base + BATCH, count)):
            pipe.execute_command(*make_args(i))
        pipe.execute(raise_on_error=False)
    return (time.perf_counter() - start) * 1e6 / count


def measure(server, family, sizes: list[int], ops: int) -> dict[tuple[str, int], float]:
    client = server.client(socket_timeout=600)
    results = {}
    for size in sizes:
        client.flushall()
        family.setup(client, size)
        for name, make_args in family.OPS.items():
            results[(name, size)] = time_op(client, make_args, ops)
    client.close()
    return results


def report(family_name: str, sizes: list[int], redis_r: dict, ember_r: dict, ops: list[str]) -> list[str]:
    small, large = sizes[0], sizes[-1]
    rows = []
    for op in ops:
        growth = ember_r[(op, large)] / ember_r[(op, small)]
        flag = "  <-- grows" if growth > GROWTH_LIMIT else ""
        rows.append(
            f"| {family_name} | {op} | {redis_r[(op, small)]:.1f} | {redis_r[(op, large)]:.1f} | "
            f"{ember_r[(op, small)]:.1f} | {ember_r[(op, large)]:.1f} | {growth:.2f}x{flag} | "
            f"{ember_r[(op, large)] / redis_r[(op, large)]:.2f} |"
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="*", default=None)
    parser.add_argument("--sizes", nargs="*", type=int, default=[1_000, 1_000_000])
    parser.add_argument("--ops", type=int, default=2_000)
    args = parser.parse_args()
    families = args.families or discover_families()
    workdir = Path(tempfile.mkdtemp(prefix="ember-bench-"))
    redis_server = start_redis(workdir)
    ember_server = start_ember(workdir)
    header = [
        f"Per-op cost in µs (pipelined, {args.ops} ops per measurement); growth = Ember {args.sizes[-1]:,} / {args.sizes[0]:,}",
        "",
        f"| family | op | redis {args.sizes[0]:,} | redis {args.sizes[-1]:,} | ember {args.sizes[0]:,} | "
        f"ember {args.sizes[-1]:,} | ember growth | ember/redis at {args.sizes[-1]:,} |",
        "|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(header), flush=True)
    try:
        for name in families:
            family = importlib.import_module(f"complexity_{name}")
            redis_r = measure(redis_server, family, args.sizes, args.ops)
            ember_r = measure(ember_server, family, args.sizes, args.ops)
            print("\n".join(report(name, args.sizes, redis_r, ember_r, list(family.OPS))), flush=True)
    finally:
        redis_server.stop()
        ember_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
