"""Complexity benchmark for sets: every op must cost O(1) per element it touches, whatever the
set size (SINTER & co over a small set and a big one cost what the small one holds).

Command names are bytes so that redis-py skips its reply parsers; Redis does not care.

setup(n) builds `s` (n members m<i>, a hashtable), `i` (n integers, a hashtable once past
set-max-intset-entries), `small` (10 members, half of them in `s`) and `scanned`, a copy of `s`
for SSCAN. Ops keep sizes constant: additions are paired with removals, SPOP with SADD.
"""

from __future__ import annotations

from collections.abc import Callable

KEY_PREFIX = "bench:sets"
S = f"{KEY_PREFIX}:s"
INTS = f"{KEY_PREFIX}:i"
SMALL = f"{KEY_PREFIX}:small"
OTHER = f"{KEY_PREFIX}:other"
SCANNED = f"{KEY_PREFIX}:scanned"
BATCH = 10_000

_size = 1  # set by setup(): the n of the current run


def setup(client, n: int) -> None:
    global _size
    _size = n
    for base in range(0, n, BATCH):
        chunk = range(base, min(base + BATCH, n))
        client.execute_command(b"SADD", S, *[f"m{i}" for i in chunk])
        client.execute_command(b"SADD", INTS, *chunk)
    client.execute_command(b"SADD", SMALL, *[f"m{i}" for i in range(5)], *[f"x{i}" for i in range(5)])
    client.execute_command(b"SADD", OTHER, "o")
    # Ember builds a big set's SSCAN cursor index at the first SSCAN (O(n log n) once, then kept
    # up to date, O(log n) per change): build it here, on a set of its own, so that "SSCAN 10"
    # measures a page rather than that one-off build, and the other ops a set never scanned.
    client.execute_command(b"SUNIONSTORE", SCANNED, S)
    client.execute_command(b"SSCAN", SCANNED, 0)


def _member(i: int) -> str:
    return f"m{(i * 7919) % _size}"


def _pop_or_refill(i: int) -> tuple:
    return (b"SPOP", S) if i % 2 == 0 else (b"SADD", S, f"p{i}")


OPS: dict[str, Callable[[int], tuple]] = {
    "SADD new+SREM": lambda i: (b"SADD", S, f"new{i}") if i % 2 == 0 else (b"SREM", S, f"new{i - 1}"),
    "SADD existing": lambda i: (b"SADD", S, _member(i)),
    "SADD int+SREM": lambda i: (b"SADD", INTS, -1 - i) if i % 2 == 0 else (b"SREM", INTS, -i),
    "SISMEMBER": lambda i: (b"SISMEMBER", S, _member(i)),
    "SMISMEMBER 5": lambda i: (b"SMISMEMBER", S, *[_member(i + k) for k in range(5)]),
    "SCARD": lambda i: (b"SCARD", S),
    "SPOP+SADD": _pop_or_refill,
    "SPOP 10+SADD 10": lambda i: (b"SPOP", S, 10) if i % 2 == 0 else (b"SADD", S, *[f"q{i}:{k}" for k in range(10)]),
    "SRANDMEMBER": lambda i: (b"SRANDMEMBER", S),
    "SRANDMEMBER 10": lambda i: (b"SRANDMEMBER", S, 10),
    "SRANDMEMBER -10": lambda i: (b"SRANDMEMBER", S, -10),
    "SMOVE there+back": lambda i: (b"SMOVE", S, OTHER, _member(i // 2)) if i % 2 == 0
    else (b"SMOVE", OTHER, S, _member((i - 1) // 2)),
    "SINTER small big": lambda i: (b"SINTER", SMALL, S),
    "SINTERCARD small big": lambda i: (b"SINTERCARD", 2, SMALL, S),
    "SDIFF small big": lambda i: (b"SDIFF", SMALL, S),
    "SSCAN 10": lambda i: (b"SSCAN", SCANNED, 0, b"COUNT", 10),
}
