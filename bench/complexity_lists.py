"""Complexity benchmark for lists: pushes and pops at either end, and reads, writes and searches
near either end, must cost the same on a list of 1k elements as on one of 1M.

Command names are bytes so that redis-py skips its reply parsers; Redis does not care.

setup(n) builds `a`, a list of n elements v<i> (a quicklist at both sizes), and `pos`, a list
whose first element is "needle" followed by n filler elements. Ops keep sizes constant: every
push is paired with a pop, LINSERT with LREM of the same element, and the moves rotate a list
onto itself.
"""

from __future__ import annotations

from collections.abc import Callable

KEY_PREFIX = "bench:lists"
A = f"{KEY_PREFIX}:a"
POS = f"{KEY_PREFIX}:pos"
BATCH = 10_000


def setup(client, n: int) -> None:
    for key, first in ((A, None), (POS, "needle")):
        if first is not None:
            client.execute_command(b"RPUSH", key, first)
        for base in range(0, n, BATCH):
            client.execute_command(b"RPUSH", key, *(f"v{i}" for i in range(base, min(base + BATCH, n))))


def paired(first: Callable[[int], tuple], second: Callable[[int], tuple]) -> Callable[[int], tuple]:
    """Even calls send first(i), odd ones second(i): a change and the change that undoes it."""
    return lambda i: first(i) if i % 2 == 0 else second(i)


OPS: dict[str, Callable[[int], tuple]] = {
    "LPUSH+RPOP": paired(lambda i: (b"LPUSH", A, f"x{i}"), lambda i: (b"RPOP", A)),
    "RPUSH+LPOP": paired(lambda i: (b"RPUSH", A, f"x{i}"), lambda i: (b"LPOP", A)),
    "RPUSH 3+LPOP 3": paired(lambda i: (b"RPUSH", A, "p", "q", "r"), lambda i: (b"LPOP", A, 3)),
    "LPUSH int+RPOP": paired(lambda i: (b"LPUSH", A, i), lambda i: (b"RPOP", A)),
    "LLEN": lambda i: (b"LLEN", A),
    "LINDEX 3": lambda i: (b"LINDEX", A, 3),
    "LINDEX -3": lambda i: (b"LINDEX", A, -3),
    "LSET 2": lambda i: (b"LSET", A, 2, f"s{i}"),
    "LSET -2": lambda i: (b"LSET", A, -2, f"s{i}"),
    "LRANGE 0 9": lambda i: (b"LRANGE", A, 0, 9),
    "LRANGE -10 -1": lambda i: (b"LRANGE", A, -10, -1),
    "LPOS head": lambda i: (b"LPOS", POS, "needle"),
    "LPOS RANK -1 MAXLEN 10": lambda i: (b"LPOS", A, "nothing", b"RANK", -1, b"MAXLEN", 10),
    "LINSERT+LREM near head": paired(lambda i: (b"LINSERT", POS, b"AFTER", "needle", "ins"),
                                     lambda i: (b"LREM", POS, 1, "ins")),
    "LMOVE self": lambda i: (b"LMOVE", A, A, b"LEFT", b"RIGHT"),
    "RPOPLPUSH self": lambda i: (b"RPOPLPUSH", A, A),
    "BLPOP+RPUSH": paired(lambda i: (b"BLPOP", A, 0), lambda i: (b"RPUSH", A, f"b{i}")),
    "BLMOVE self": lambda i: (b"BLMOVE", A, A, b"RIGHT", b"LEFT", 0),
    "LMPOP+LPUSH": paired(lambda i: (b"LMPOP", 2, "nokey", A, b"LEFT", b"COUNT", 2),
                          lambda i: (b"LPUSH", A, "m", "n")),
    "LTRIM keep all": lambda i: (b"LTRIM", A, 0, -1),
}
