"""Complexity benchmark for hashes: every op must cost O(1) (O(count) for HRANDFIELD/HSCAN pages).

Command names are bytes so that redis-py skips its reply parsers; Redis does not care.

setup(n) builds `h`, a hash of n fields f<i> -> v<i> (a hashtable at both sizes), with two numeric
fields for the increments, and `scanned`, the same fields for HSCAN. Ops keep sizes constant: HSET
of a new field is paired with HDEL.
"""

from __future__ import annotations

from collections.abc import Callable

KEY_PREFIX = "bench:hashes"
H = f"{KEY_PREFIX}:h"
SCANNED = f"{KEY_PREFIX}:scanned"
BATCH = 10_000

_size = 1  # set by setup(): the n of the current run


def setup(client, n: int) -> None:
    global _size
    _size = n
    for base in range(0, n, BATCH):
        pairs: list = []
        for i in range(base, min(base + BATCH, n)):
            pairs += (f"f{i}", f"v{i}")
        client.execute_command(b"HSET", H, *pairs)
        client.execute_command(b"HSET", SCANNED, *pairs)
    client.execute_command(b"HSET", H, "counter", 0, "real", "0.5")
    # Ember builds a big hash's HRANDFIELD and HSCAN indexes at their first use (O(n) once, then
    # kept up to date): build them here so the ops measure the steady state, not that one-off;
    # the HSCAN index on a hash of its own, so that the other ops measure a hash never scanned.
    client.execute_command(b"HRANDFIELD", H)
    client.execute_command(b"HSCAN", SCANNED, 0)


def _field(i: int) -> str:
    return f"f{(i * 7919) % _size}"


OPS: dict[str, Callable[[int], tuple]] = {
    "HSET new+HDEL": lambda i: (b"HSET", H, f"new{i}", "x") if i % 2 == 0 else (b"HDEL", H, f"new{i - 1}"),
    "HSET existing": lambda i: (b"HSET", H, _field(i), "y"),
    "HGET": lambda i: (b"HGET", H, _field(i)),
    "HMGET 5": lambda i: (b"HMGET", H, *[_field(i + k) for k in range(5)]),
    "HEXISTS": lambda i: (b"HEXISTS", H, _field(i)),
    "HSTRLEN": lambda i: (b"HSTRLEN", H, _field(i)),
    "HLEN": lambda i: (b"HLEN", H),
    "HSETNX existing": lambda i: (b"HSETNX", H, _field(i), "z"),
    "HINCRBY": lambda i: (b"HINCRBY", H, "counter", 1),
    "HINCRBYFLOAT": lambda i: (b"HINCRBYFLOAT", H, "real", "0.25"),
    "HRANDFIELD": lambda i: (b"HRANDFIELD", H),
    "HRANDFIELD 10": lambda i: (b"HRANDFIELD", H, 10),
    "HRANDFIELD -10 WITHVALUES": lambda i: (b"HRANDFIELD", H, -10, b"WITHVALUES"),
    "HSCAN 10": lambda i: (b"HSCAN", SCANNED, 0, b"COUNT", 10),
}
