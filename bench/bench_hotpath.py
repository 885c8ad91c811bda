"""The command hot path in-process: CPU per command without sockets, event loop or a second process.

Feeds pipelined requests straight into a `ClientProtocol` (parser, dispatcher, handler, encoder,
reply join) with a transport that drops what it is given, and reports the best of several
rounds of process CPU time per command. No syscalls and no peer to wake, so it isolates the
Python cost of a command and is far steadier than redis-benchmark on a shared machine; use it
to compare two versions of the code, and bench_core.py for what a client sees. Not a test.

    python bench/bench_hotpath.py                      # set,get,incr,ping at -P 1 and 16
    python bench/bench_hotpath.py --tests get -P 16 --root /path/to/other/checkout
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# One request per test, as redis-benchmark sends it (the same key every time, as without -r).
REQUESTS: dict[str, tuple[bytes, ...]] = {
    "ping": (b"PING",),
    "set": (b"SET", b"key:__rand_int__", b"xxx"),
    "get": (b"GET", b"key:__rand_int__"),
    "incr": (b"INCR", b"counter:__rand_int__"),
    "lpush": (b"LPUSH", b"mylist", b"xxx"),
    "hset": (b"HSET", b"myhash", b"element:__rand_int__", b"xxx"),
    "zadd": (b"ZADD", b"myzset", b"1", b"element:__rand_int__"),
    "mset": (b"MSET", *[b"key:__rand_int__", b"xxx"] * 10),
}


class DroppingTransport:
    """Enough of an asyncio transport for ClientProtocol; written bytes are discarded."""

    def write(self, data: bytes) -> None:
        pass

    def get_extra_info(self, name: str, default: object = None) -> object:
        return ("127.0.0.1", 6379) if name in ("peername", "sockname") else default

    def close(self) -> None:
        pass


def request(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(arg), arg) for arg in args)


def connect():
    """A server without listeners and one connected client's protocol object."""
    from ember.cli import build_config
    from ember.commands import load_all
    from ember.server.app import Server
    from ember.server.network import ClientProtocol

    load_all()
    server = Server(build_config(["--save", "", "--port", "0"]))
    protocol = ClientProtocol(server)
    protocol.connection_made(DroppingTransport())
    protocol.data_received(request(b"SET", b"key:__rand_int__", b"xxx"))  # GET hits, like after -t set
    return protocol


def cost_per_command(test: str, pipeline: int, commands: int, rounds: int) -> float:
    """Best round's process CPU time per command, in microseconds."""
    protocol = connect()
    batch = request(*REQUESTS[test]) * pipeline
    reads = max(commands // pipeline, 1)
    protocol.data_received(batch)  # warm up
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(reads):
            protocol.data_received(batch)
        best = min(best, time.process_time() - started)
    return best / (reads * pipeline) * 1e6


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", default="set,get,incr,ping", help=f"comma-separated: {', '.join(REQUESTS)}")
    parser.add_argument("-P", "--pipelines", type=int, nargs="+", default=[1, 16])
    parser.add_argument("-n", "--commands", type=int, default=50_000, help="commands per round")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--root", default=str(ROOT), help="checkout whose ember package is measured")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    sys.path.insert(0, args.root)
    print(f"in-process, {args.commands} commands x {args.rounds} rounds (best), code from {args.root}\n")
    print("| test | -P | CPU µs/command |\n|---|---|---|")
    for pipeline in args.pipelines:
        for test in args.tests.split(","):
            print(f"| {test.upper()} | {pipeline} | {cost_per_command(test, pipeline, args.commands, args.rounds):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
