"""Complexity benchmark for bitmaps, HyperLogLog and SORT's nosort windows: each op must cost the
same whatever n is (bitmap bits, HLL elements, list/sorted-set members).

setup(n) builds `bits` (a bitmap of n bits, random bytes), `hll` (a HyperLogLog of n elements:
sparse at 1k, dense at 1M), `hll:small` (100 elements), `list` and `zset` (n members). Bit
commands address offsets spread over the whole bitmap and read fixed-size ranges (BITCOUNT over
a whole bitmap is O(N) by definition and is not here); SORT BY nosort LIMIT reads a fixed window.
Command names are bytes so that redis-py skips its reply parsers.
"""

from __future__ import annotations

import random
from collections.abc import Callable

KEY_PREFIX = "bench:bitmaps"
BITS = f"{KEY_PREFIX}:bits"
HLL = f"{KEY_PREFIX}:hll"
HLL_SMALL = f"{KEY_PREFIX}:hll:small"
MERGED = f"{KEY_PREFIX}:merged"
LIST = f"{KEY_PREFIX}:list"
ZSET = f"{KEY_PREFIX}:zset"
BATCH = 10_000

_size = 8  # set by setup(): bits in the bitmap


def setup(client, n: int) -> None:
    global _size
    _size = max(n, 800)
    client.execute_command(b"SET", BITS, random.Random(n).randbytes(_size // 8))
    for base in range(0, n, BATCH):
        chunk = range(base, min(base + BATCH, n))
        client.execute_command(b"PFADD", HLL, *[f"e{i}" for i in chunk])
        client.execute_command(b"RPUSH", LIST, *chunk)
        client.execute_command(b"ZADD", ZSET, *[x for i in chunk for x in (i, f"m{i}")])
    client.execute_command(b"PFADD", HLL_SMALL, *range(100))


def _bit(i: int) -> int:
    """An offset spread over the bitmap, leaving room for 100-byte ranges and 64-bit fields."""
    return (i * 7919) % (_size - 800)


OPS: dict[str, Callable[[int], tuple]] = {
    "SETBIT": lambda i: (b"SETBIT", BITS, _bit(i), i % 2),
    "GETBIT": lambda i: (b"GETBIT", BITS, _bit(i)),
    "BITCOUNT 100 bytes": lambda i: (b"BITCOUNT", BITS, _bit(i) // 8, _bit(i) // 8 + 99),
    "BITCOUNT 500 bits": lambda i: (b"BITCOUNT", BITS, _bit(i), _bit(i) + 499, b"BIT"),
    "BITPOS 0 in 100 bytes": lambda i: (b"BITPOS", BITS, 0, _bit(i) // 8, _bit(i) // 8 + 99),
    "BITFIELD SET+GET": lambda i: (b"BITFIELD", BITS, b"SET", b"u16", _bit(i), i % 65536, b"GET", b"i32", _bit(i)),
    "BITFIELD INCRBY SAT": lambda i: (b"BITFIELD", BITS, b"OVERFLOW", b"SAT", b"INCRBY", b"i64", _bit(i), i),
    "BITFIELD_RO GET": lambda i: (b"BITFIELD_RO", BITS, b"GET", b"u63", _bit(i)),
    "PFADD": lambda i: (b"PFADD", HLL, f"new{i}"),
    "PFCOUNT (cached)": lambda i: (b"PFCOUNT", HLL),
    "PFADD+PFCOUNT": lambda i: (b"PFADD", HLL, f"more{i}") if i % 2 == 0 else (b"PFCOUNT", HLL),
    "PFCOUNT 2 keys": lambda i: (b"PFCOUNT", HLL, HLL_SMALL),
    "PFMERGE small": lambda i: (b"PFMERGE", MERGED, HLL_SMALL),
    "SORT list nosort LIMIT 10": lambda i: (b"SORT", LIST, b"BY", b"nosort", b"LIMIT", 0, 10),
    "SORT list nosort DESC LIMIT 10": lambda i: (b"SORT", LIST, b"BY", b"nosort", b"DESC", b"LIMIT", 0, 10),
    "SORT zset nosort LIMIT 10": lambda i: (b"SORT", ZSET, b"BY", b"nosort", b"LIMIT", 5, 10),
}
