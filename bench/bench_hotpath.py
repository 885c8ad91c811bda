"""The command hot path in-process: CPU per command without sockets, event loop or a second process.

Feeds pipelined requests straight into a `ClientProtocol` (parser, dispatcher, handler, encoder,
reply join) with a transport that drops what it is given, and reports the best of several
rounds of process CPU time per command. No syscalls and no peer to wake, so it isolates the
Python cost of a command and is far steadier than redis-benchmark on a shared machine; use it
to compare two versions of the code, and bench_core.py for what a client sees. Not a test.

    python bench/bench_hotpath.py                      # set,get,incr,ping at -P 1 and 16
    python bench/bench_hotpath.py --tests get -P 16 --root /path/to/other/checkout
    python bench/bench_hotpath.py --tests celery-task,brpop-blocked -P 1   # Celery's traffic
    python bench/bench_hotpath.py --bytecodes --root /path/to/other/checkout   # exact, no timing

When the machine is too busy for timings to agree between runs, `--bytecodes` counts the Python
bytecodes each command executes: the same on every run, and a good guide to the interpreter's
share of the cost (not to C work such as hiredis, dict lookups or clock reads).
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

# Celery's traffic (kombu's broker calls and the Redis result backend, with a ~1 KB message):
# several commands per case, so their figure is CPU per sequence, not per command.
_TAG = b"3f1c1a52-5a8e-4f7e-9a55-0f3a7f1d2c4b"
_MESSAGE = b'{"body": "%b"}' % (b"x" * 1000)
_PRIORITY_QUEUES = (b"celery", b"celery\x06\x163", b"celery\x06\x166", b"celery\x06\x169")
SEQUENCES: dict[str, tuple[tuple[bytes, ...], ...]] = {
    # a BRPOP that finds data (the worker's fetch), with the LPUSH that put it there
    "lpush+brpop": ((b"LPUSH", b"celery", _MESSAGE), (b"BRPOP", *_PRIORITY_QUEUES, b"1")),
    # QoS.append: the unacked index and payload, in a transaction; ack removes them again
    "exec-zadd-hset": ((b"MULTI",), (b"ZADD", b"unacked_index", b"1732000000.123456", _TAG),
                       (b"HSET", b"unacked", _TAG, _MESSAGE), (b"EXEC",)),
    "exec-zrem-hdel": ((b"MULTI",), (b"ZREM", b"unacked_index", _TAG), (b"HDEL", b"unacked", _TAG), (b"EXEC",)),
    # optimistic locking as redis-py's transaction() and RQ do it
    "watch-exec": ((b"WATCH", b"job"), (b"MULTI",), (b"SET", b"job", b"xxx"), (b"EXEC",)),
    # one task end to end: publish, fetch, unacked index, result stored and published, ack
    "celery-task": (
        (b"LPUSH", b"celery", _MESSAGE), (b"BRPOP", *_PRIORITY_QUEUES, b"1"),
        (b"MULTI",), (b"ZADD", b"unacked_index", b"1732000000.123456", _TAG),
        (b"HSET", b"unacked", _TAG, _MESSAGE), (b"EXEC",),
        (b"MULTI",), (b"SETEX", b"celery-task-meta-" + _TAG, b"86400", b'{"status": "SUCCESS"}'),
        (b"PUBLISH", b"celery-task-meta-" + _TAG, b'{"status": "SUCCESS"}'), (b"EXEC",),
        (b"MULTI",), (b"ZREM", b"unacked_index", _TAG), (b"HDEL", b"unacked", _TAG), (b"EXEC",),
        (b"GET", b"celery-task-meta-" + _TAG),
    ),
}
# The same task as Celery's processes send it: each group is one read (a pipeline), so the
# figure includes the per-read work that dominates at -P 1.
SEPARATE_READS: dict[str, tuple[tuple[tuple[bytes, ...], ...], ...]] = {
    "celery-reads": tuple((group,) if isinstance(group[0], bytes) else group for group in (
        SEQUENCES["celery-task"][0], SEQUENCES["celery-task"][1], SEQUENCES["celery-task"][2:6],
        SEQUENCES["celery-task"][6:10], SEQUENCES["celery-task"][10:14], SEQUENCES["celery-task"][14])),
}
# Two clients: the first one's command blocks, the second one's serves it (an idle worker's
# BRPOP woken by a publisher's LPUSH); the figure is CPU per block-and-serve cycle.
BLOCKING: dict[str, tuple[tuple[bytes, ...], tuple[bytes, ...]]] = {
    "brpop-blocked": ((b"BRPOP", *_PRIORITY_QUEUES, b"1"), (b"LPUSH", b"celery", _MESSAGE)),
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


def connect(server=None):
    """One connected client's protocol object, on server or on a new server without listeners."""
    from ember.cli import build_config
    from ember.commands import load_all
    from ember.server.app import Server
    from ember.server.network import ClientProtocol

    if server is None:
        load_all()
        server = Server(build_config(["--save", "", "--port", "0"]))
    protocol = ClientProtocol(server)
    protocol.connection_made(DroppingTransport())
    protocol.data_received(request(b"SET", b"key:__rand_int__", b"xxx"))  # GET hits, like after -t set
    return protocol


def feeds_for(test: str, pipeline: int) -> tuple[tuple[object, bytes], ...]:
    """(protocol, bytes) pairs that make one read of the test for each connection, warmed up."""
    protocol = connect()
    if test in BLOCKING:  # one command per read: a pipeline would queue behind the blocked one
        blocks, serves = BLOCKING[test]
        feeds = ((protocol, request(*blocks)), (connect(protocol.server), request(*serves)))
    elif test in SEPARATE_READS:
        feeds = tuple((protocol, b"".join(request(*args) for args in read)) for read in SEPARATE_READS[test])
    else:
        sequence = SEQUENCES[test] if test in SEQUENCES else (REQUESTS[test],)
        feeds = ((protocol, b"".join(request(*args) for args in sequence) * pipeline),)
    for connection, batch in feeds:
        connection.data_received(batch)
    return feeds


def cost_per_command(test: str, pipeline: int, commands: int, rounds: int) -> float:
    """Best round's process CPU time per command (per sequence for SEQUENCES, per cycle for
    BLOCKING), in microseconds."""
    if test in BLOCKING or test in SEPARATE_READS:
        pipeline = 1
    feeds = feeds_for(test, pipeline)
    reads = max(commands // pipeline, 1)
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(reads):
            for connection, batch in feeds:
                connection.data_received(batch)
        best = min(best, time.process_time() - started)
    return best / (reads * pipeline) * 1e6


def bytecodes_per_command(test: str, pipeline: int, reads: int = 20) -> float:
    """Python bytecodes executed per command (per sequence or cycle, as cost_per_command):
    exact and the same on every run, so it compares two versions on a machine too noisy for
    timings. C work (hiredis, dict lookups, the clock) is not in it."""
    if test in BLOCKING or test in SEPARATE_READS:
        pipeline = 1
    feeds = feeds_for(test, pipeline)
    executed = 0

    def count(frame, event, _arg):
        nonlocal executed
        frame.f_trace_opcodes = True
        if event == "opcode":
            executed += 1
        return count

    sys.settrace(count)
    try:
        for _ in range(reads):
            for connection, batch in feeds:
                connection.data_received(batch)
    finally:
        sys.settrace(None)
    return executed / (reads * pipeline)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", default="set,get,incr,ping", help=f"comma-separated: {', '.join([*REQUESTS, *SEQUENCES, *SEPARATE_READS, *BLOCKING])}")
    parser.add_argument("-P", "--pipelines", type=int, nargs="+", default=[1, 16])
    parser.add_argument("-n", "--commands", type=int, default=50_000, help="commands per round")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--root", default=str(ROOT), help="checkout whose ember package is measured")
    parser.add_argument("--bytecodes", action="store_true",
                        help="count Python bytecodes per command instead of timing (exact on any machine)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    sys.path.insert(0, args.root)
    if args.bytecodes:
        print(f"in-process, Python bytecodes executed, code from {args.root}\n")
        unit, measure = "bytecodes/command", lambda test, pipeline: f"{bytecodes_per_command(test, pipeline):.0f}"
    else:
        print(f"in-process, {args.commands} commands x {args.rounds} rounds (best), code from {args.root}\n")
        unit, measure = "CPU µs/command", \
            lambda test, pipeline: f"{cost_per_command(test, pipeline, args.commands, args.rounds):.2f}"
    print(f"| test | -P | {unit} |\n|---|---|---|")
    for pipeline in args.pipelines:
        for test in args.tests.split(","):
            print(f"| {test.upper()} | {pipeline} | {measure(test, pipeline)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
