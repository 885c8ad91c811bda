"""Pub/sub fan-out on redis-server and on Ember, in one run: messages delivered per second.

One publisher and S subscribers (default 50) on one channel (or one pattern with --pattern). The
publisher pipelines PUBLISH in batches and waits for each batch's replies (each must say S
receivers); the run ends when every subscriber has received every message. Clients are raw
asyncio sockets that only count bytes (every message frame has the same size), so the client
side costs little next to the server. The servers are pinned to one core, this process to
another (as bench_core.py does). Reported: deliveries/s (messages x subscribers / wall time),
publishes/s, the server's CPU time per delivery, and Ember's ratio to Redis. Not a test: the
test suite never runs it.

With --in-process it measures Ember alone, as bench_hotpath.py does: the publisher's batches are
fed to a ClientProtocol, subscribers' transports drop what they get and a stand-in event loop
runs the end-of-pass writes after each batch. Best round of process CPU per delivery, without
the socket writes: steady on a loaded machine, for comparing two versions (--root).

    python bench/bench_pubsub_fanout.py                    # 20000 messages of 64 bytes, 50 subscribers
    python bench/bench_pubsub_fanout.py --pattern -n 5000  # PSUBSCRIBE / pmessage
    python bench/bench_pubsub_fanout.py --in-process [--root /path/to/older/checkout]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_core import cpu_seconds, pin  # noqa: E402  (same /proc accounting and pinning)
from tests.conftest import ServerProcess, start_ember, start_redis  # noqa: E402
from tests.differential.harness import encode_command  # noqa: E402

Run_T = TypeVar("Run_T")
CHANNEL = b"bench:fanout"
PATTERN = b"bench:*"


@dataclass
class Run:
    seconds: float
    deliveries: int
    publishes: int
    server_cpu_us_per_delivery: float


class Counter(asyncio.Protocol):
    """Counts the bytes a connection receives and wakes whoever waits for a byte total."""

    def __init__(self) -> None:
        self.received = 0
        self.target = 0
        self.reached = asyncio.Event()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        if self.received >= self.target:
            self.reached.set()

    async def wait_for(self, total: int, timeout: float) -> None:
        self.target = total
        if self.received < total:
            self.reached.clear()
            await asyncio.wait_for(self.reached.wait(), timeout)
        if self.received != total:
            raise RuntimeError(f"expected {total} bytes, got {self.received}")


def bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def subscription_reply(args: argparse.Namespace) -> bytes:
    kind = b"psubscribe" if args.pattern else b"subscribe"
    return b"*3\r\n" + bulk(kind) + bulk(PATTERN if args.pattern else CHANNEL) + b":1\r\n"


def message_frame(args: argparse.Namespace, payload: bytes) -> bytes:
    if args.pattern:
        return b"*4\r\n" + bulk(b"pmessage") + bulk(PATTERN) + bulk(CHANNEL) + bulk(payload)
    return b"*3\r\n" + bulk(b"message") + bulk(CHANNEL) + bulk(payload)


async def connect(port: int) -> Counter:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(Counter, "127.0.0.1", port)
    return protocol


async def fan_out(server: ServerProcess, args: argparse.Namespace, messages: int) -> tuple[float, int]:
    """Publish `messages` messages to args.subscribers subscribers; (seconds, deliveries)."""
    subscribe = encode_command(("PSUBSCRIBE", PATTERN) if args.pattern else ("SUBSCRIBE", CHANNEL))
    subscribers = [await connect(server.port) for _ in range(args.subscribers)]
    for subscriber in subscribers:
        subscriber.transport.write(subscribe)
    confirmed = len(subscription_reply(args))
    await asyncio.gather(*(s.wait_for(confirmed, 10) for s in subscribers))
    publisher = await connect(server.port)
    payload = b"x" * args.size
    publish = encode_command(("PUBLISH", CHANNEL, payload))
    reply = b":%d\r\n" % args.subscribers  # each PUBLISH must reach every subscriber
    start = time.perf_counter()
    sent = 0
    while sent < messages:
        batch = min(args.batch, messages - sent)
        publisher.transport.write(publish * batch)
        sent += batch
        await publisher.wait_for(sent * len(reply), args.timeout)
    frame = len(message_frame(args, payload))
    await asyncio.gather(*(s.wait_for(confirmed + messages * frame, args.timeout) for s in subscribers))
    seconds = time.perf_counter() - start
    for connection in (publisher, *subscribers):
        connection.transport.close()
    return seconds, messages * args.subscribers


def measure(server: ServerProcess, args: argparse.Namespace) -> Run:
    asyncio.run(fan_out(server, args, args.warmup))
    cpu_before = cpu_seconds(server.process.pid)
    seconds, deliveries = asyncio.run(fan_out(server, args, args.messages))
    cpu = cpu_seconds(server.process.pid) - cpu_before
    return Run(seconds, deliveries, args.messages, cpu * 1e6 / deliveries)


class PassLoop:
    """The event loop as Ember's batching sees it: call_soon callbacks wait for run_pass()."""

    def __init__(self) -> None:
        self.callbacks: list = []

    def call_soon(self, callback, *args) -> None:
        self.callbacks.append((callback, args))

    def call_later(self, delay, callback, *args) -> None:
        pass  # output-limit rechecks: no limits are reached here

    def run_pass(self) -> None:
        while self.callbacks:
            callbacks, self.callbacks = self.callbacks, []
            for callback, args in callbacks:
                callback(*args)


def in_process_ns_per_delivery(args: argparse.Namespace) -> float:
    """Best round's process CPU time per delivery, in nanoseconds."""
    from bench_hotpath import DroppingTransport, request

    from ember.cli import build_config
    from ember.commands import load_all
    from ember.server.app import Server
    from ember.server.client import ReplyWriter
    from ember.server.network import ClientProtocol

    class SubscriberTransport(DroppingTransport):
        def get_write_buffer_size(self) -> int:  # read by the pubsub output-limit check
            return 0

    load_all()
    server = Server(build_config(["--save", "", "--port", "0"]))
    loop = server.loop = PassLoop()
    writer = ReplyWriter(loop)

    def connect() -> ClientProtocol:
        protocol = ClientProtocol(server, writer)
        protocol.connection_made(SubscriberTransport())
        return protocol

    subscribe = request(b"PSUBSCRIBE", PATTERN) if args.pattern else request(b"SUBSCRIBE", CHANNEL)
    for _ in range(args.subscribers):
        connect().data_received(subscribe)
    loop.run_pass()
    publisher = connect()
    batch = request(b"PUBLISH", CHANNEL, b"x" * args.size) * args.batch
    reads = max(args.messages // args.batch, 1)
    best = float("inf")
    for _ in range(args.rounds + 1):  # the first round warms up
        started = time.process_time()
        for _ in range(reads):
            publisher.data_received(batch)
            loop.run_pass()
        best = min(best, time.process_time() - started)
    return best / (reads * args.batch * args.subscribers) * 1e9


def report(redis_run: Run, ember_run: Run, args: argparse.Namespace) -> str:
    kind = "PSUBSCRIBE" if args.pattern else "SUBSCRIBE"
    lines = [
        f"Pub/sub fan-out: 1 publisher (batches of {args.batch}), {args.subscribers} subscribers ({kind}), "
        f"{args.messages} messages of {args.size} bytes",
        "",
        "| server | seconds | deliveries/s | publishes/s | server CPU µs/delivery |",
        "|---|---|---|---|---|",
    ]
    for name, run in (("redis-server", redis_run), ("Ember", ember_run)):
        lines.append(f"| {name} | {run.seconds:.2f} | {run.deliveries / run.seconds:,.0f} | "
                     f"{run.publishes / run.seconds:,.0f} | {run.server_cpu_us_per_delivery:.2f} |")
    ratio = redis_run.seconds / ember_run.seconds
    lines += ["", f"Ember/Redis deliveries/s: {ratio:.2f}x"]
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--messages", type=int, default=20_000)
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--size", type=int, default=64, help="payload bytes")
    parser.add_argument("--batch", type=int, default=64, help="PUBLISH commands per pipelined batch")
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--pattern", action="store_true", help="subscribers use PSUBSCRIBE")
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1 if (os.cpu_count() or 1) > 1 else None)
    parser.add_argument("--in-process", action="store_true", help="Ember alone, CPU per delivery in-process")
    parser.add_argument("--rounds", type=int, default=7, help="with --in-process")
    parser.add_argument("--root", default=str(ROOT), help="with --in-process: the checkout whose ember is measured")
    return parser.parse_args()


def on_each_server(prefix: str, measure: Callable[[ServerProcess, Path], Run_T],
                   ember_first: bool = False) -> dict[str, Run_T]:
    """Start redis-server, then Ember (or the other way round), each in turn on a free port, and
    measure each while it runs."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    runs = {}
    servers = (("redis", start_redis), ("ember", start_ember))
    for name, start in reversed(servers) if ember_first else servers:
        server = start(workdir)
        try:
            runs[name] = measure(server, workdir)
        finally:
            server.stop()
    return runs


def main() -> int:
    args = parse_args()
    if args.in_process:
        sys.path[:0] = [args.root, str(ROOT / "bench")]  # the measured ember, then bench_hotpath
        kind = "PSUBSCRIBE" if args.pattern else "SUBSCRIBE"
        print(f"in-process, code from {args.root}: {args.subscribers} subscribers ({kind}), batches of "
              f"{args.batch}, {args.size}-byte messages: {in_process_ns_per_delivery(args):.0f} ns CPU per delivery")
        return 0
    if shutil.which("redis-server") is None:
        print("redis-server is not installed", file=sys.stderr)
        return 2
    if args.client_core is not None:
        os.sched_setaffinity(0, {args.client_core})
    try:
        import uvloop  # the client side should not be the bottleneck
        uvloop.install()
    except ImportError:
        pass

    def pinned_measure(server: ServerProcess, _workdir: Path) -> Run:
        pin(server.process.pid, args.server_core)
        return measure(server, args)

    runs = on_each_server("ember-bench-pubsub-", pinned_measure)
    print(report(runs["redis"], runs["ember"], args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
