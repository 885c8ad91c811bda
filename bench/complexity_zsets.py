"""Complexity benchmark for sorted sets and GEO: per-op cost must grow at most like log N.

Command names are bytes so that redis-py skips its reply parsers; Redis does not care.

setup(n) builds `z` (n members m<i> with score i, a skiplist), `g` (n GEO points spread over a
grid around Sicily) and a small `s` (10 members) for the set operations. Ops keep sizes roughly
constant: ZADD of a new member is paired with ZPOPMIN/ZREM, score updates move existing members,
range reads take a fixed-size window wherever it is.

Random member access makes both servers slower on big sets through cache misses alone (Ember more,
Python objects being scattered): compare ZSCORE, a plain dict lookup, to judge the other ops.
"""

from __future__ import annotations

from collections.abc import Callable

KEY_PREFIX = "bench:zsets"
Z = f"{KEY_PREFIX}:z"
G = f"{KEY_PREFIX}:g"
S = f"{KEY_PREFIX}:s"
BATCH = 10_000

_size = 1  # set by setup(): the n of the current run


def _fill(client, key: str, n: int, make_pair: Callable[[int], tuple]) -> None:
    for base in range(0, n, BATCH):
        args: list = []
        for i in range(base, min(base + BATCH, n)):
            args.extend(make_pair(i))
        client.execute_command(b"ZADD" if key != G else b"GEOADD", key, *args)


def _grid_point(i: int) -> tuple:
    side = 1000
    return 12.0 + (i % side) * 0.004, 36.0 + (i // side % side) * 0.004, f"p{i}"


def setup(client, n: int) -> None:
    global _size
    _size = n
    _fill(client, Z, n, lambda i: (i, f"m{i}"))
    _fill(client, G, n, _grid_point)
    client.execute_command(b"ZADD", S, *[x for i in range(10) for x in (i, f"m{i}")])
    # Ember builds a big set's ZSCAN cursor index on the first ZSCAN (O(n log n) once, then kept
    # up to date): build it here so "ZSCAN 10" measures a page, not that one-off build.
    client.execute_command(b"ZSCAN", Z, 0)


def _member(i: int) -> str:
    return f"m{(i * 7919) % _size}"


def _mid(i: int) -> int:
    return (i * 7919) % max(_size - 20, 1)


OPS: dict[str, Callable[[int], tuple]] = {
    "ZADD new+ZREM": lambda i: (b"ZADD", Z, -1 - i, f"new{i}") if i % 2 == 0 else (b"ZREM", Z, f"new{i - 1}"),
    "ZADD update": lambda i: (b"ZADD", Z, (i * 31) % _size + 0.5, _member(i)),
    "ZINCRBY": lambda i: (b"ZINCRBY", Z, 0, _member(i)),
    "ZSCORE": lambda i: (b"ZSCORE", Z, _member(i)),
    "ZRANK": lambda i: (b"ZRANK", Z, _member(i)),
    "ZREVRANK": lambda i: (b"ZREVRANK", Z, _member(i)),
    "ZRANGE 10 by rank": lambda i: (b"ZRANGE", Z, _mid(i), _mid(i) + 9),
    "ZRANGEBYSCORE 10": lambda i: (b"ZRANGEBYSCORE", Z, _mid(i), _mid(i) + 9.5, b"WITHSCORES"),
    "ZREVRANGEBYSCORE LIMIT": lambda i: (b"ZREVRANGEBYSCORE", Z, b"+inf", b"-inf", b"LIMIT", 0, 10),
    "ZCOUNT": lambda i: (b"ZCOUNT", Z, _mid(i), _mid(i) + _size // 2),
    "ZLEXCOUNT -+": lambda i: (b"ZLEXCOUNT", Z, b"-", b"+"),
    "ZCARD": lambda i: (b"ZCARD", Z),
    "ZPOPMIN+ZADD": lambda i: (b"ZPOPMIN", Z) if i % 2 == 0 else (b"ZADD", Z, -10, f"p{i}"),
    "ZRANDMEMBER 5": lambda i: (b"ZRANDMEMBER", Z, 5),
    "ZREMRANGEBYRANK+ZADD": lambda i: (b"ZREMRANGEBYRANK", Z, 0, 0) if i % 2 == 0 else (b"ZADD", Z, -20, f"q{i}"),
    "ZINTER small*big": lambda i: (b"ZINTER", 2, S, Z),
    "ZSCAN 10": lambda i: (b"ZSCAN", Z, 0, b"COUNT", 10),
    "GEOADD update": lambda i: (b"GEOADD", G, *_grid_point((i * 7919) % _size)),
    "GEOPOS": lambda i: (b"GEOPOS", G, f"p{(i * 7919) % _size}"),
    "GEODIST": lambda i: (b"GEODIST", G, b"p0", f"p{(i * 7919) % _size}"),
    # Searches at the grid's corner find the same few points whatever n is.
    "GEOSEARCH radius": lambda i: (b"GEOSEARCH", G, b"FROMLONLAT", 12.0, 36.0, b"BYRADIUS", 300, b"m"),
    "GEOSEARCH box COUNT": lambda i: (b"GEOSEARCH", G, b"FROMMEMBER", b"p0", b"BYBOX", 0.6, 0.6, b"km", b"COUNT", 5),
}
