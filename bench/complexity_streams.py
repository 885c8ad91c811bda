"""Complexity benchmark for streams: per-op cost must not grow with the stream or PEL size.

Command names are bytes so that redis-py skips its reply parsers (they cannot read the XPENDING
range form or JUSTID replies without per-call options); Redis does not care.

setup(n) builds `a` (n entries with IDs 1-0..n-0, XADD with MAXLEN ~ keeps it near n) and
`b` (n entries, a group `g` whose PEL holds all n, owned by consumer c0). Each op keeps sizes
roughly constant: XADD is paired with approximate trimming, claims move entries between two
consumers, XREADGROUP `>` alternates with XADDs that feed it.
"""

from __future__ import annotations

from collections.abc import Callable

KEY_PREFIX = "bench:streams"
A = f"{KEY_PREFIX}:a"  # plain stream
B = f"{KEY_PREFIX}:b"  # stream with a consumer group and a full PEL
BATCH = 10_000

_size = 1  # set by setup(): the n of the current run, used by the ops


def _fill(client, key: str, n: int) -> None:
    for base in range(0, n, BATCH):
        pipe = client.pipeline(transaction=False)
        for i in range(base + 1, min(base + BATCH, n) + 1):
            pipe.execute_command(b"XADD", key, f"{i}-0", "field", "value", "n", i)
        pipe.execute()


def setup(client, n: int) -> None:
    global _size
    _size = n
    _fill(client, A, n)
    _fill(client, B, n)
    client.execute_command("XGROUP", "CREATE", B, "g", "0")
    for _ in range(0, n, BATCH):
        client.execute_command(b"XREADGROUP", "GROUP", "g", "c0", "COUNT", BATCH, "STREAMS", B, ">")


def _existing(i: int) -> str:
    """A pseudo-random ID present in both streams' original range."""
    return f"{(i * 7919) % _size + 1}-0"


def _feed_and_read(i: int) -> tuple:
    """Even ops add an entry to B, odd ops read it as a new delivery (PEL grows by ops / 2)."""
    if i % 2 == 0:
        return (b"XADD", B, f"{_size + 1 + i // 2}-0", "field", "value")
    return (b"XREADGROUP", "GROUP", "g", "c1", "COUNT", 1, "STREAMS", B, ">")


OPS: dict[str, Callable[[int], tuple]] = {
    "XADD MAXLEN ~": lambda i: (b"XADD", A, "MAXLEN", "~", _size, "*", "field", "value"),
    "XLEN": lambda i: (b"XLEN", A),
    "XRANGE COUNT 10": lambda i: (b"XRANGE", B, _existing(i), "+", "COUNT", 10),
    "XREVRANGE + - COUNT 1": lambda i: (b"XREVRANGE", A, "+", "-", "COUNT", 1),
    "XREAD COUNT 10": lambda i: (b"XREAD", "COUNT", 10, "STREAMS", B, _existing(i)),
    "XADD/XREADGROUP >": _feed_and_read,
    "XCLAIM JUSTID": lambda i: (b"XCLAIM", B, "g", f"c{i % 2}", 0, _existing(i), "JUSTID"),
    "XPENDING range 10": lambda i: (b"XPENDING", B, "g", _existing(i), "+", 10),
    "XPENDING summary": lambda i: (b"XPENDING", B, "g"),
    "XAUTOCLAIM COUNT 10": lambda i: (b"XAUTOCLAIM", B, "g", f"c{i % 2}", 0, _existing(i), "COUNT", 10, "JUSTID"),
    "XINFO STREAM": lambda i: (b"XINFO", "STREAM", A),
    "XINFO GROUPS": lambda i: (b"XINFO", "GROUPS", B),
    "XDEL+XADD": lambda i: (b"XDEL", B, _existing(i)) if i % 2 == 0 else (b"XADD", B, "*", "field", "value"),
}
