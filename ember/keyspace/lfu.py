"""Access frequency for the LFU maxmemory policies (Redis's LFU counters, evict.c).

Redis gives every key an 8-bit logarithmic counter while allkeys-lfu or volatile-lfu is the
policy: a new key starts at LFU_INIT_VAL, each access first takes one off per lfu-decay-time
minutes since the previous access, then adds one with probability
1 / ((counter - LFU_INIT_VAL) * lfu-log-factor + 1), so that 255 stands for about a million
accesses at the default factor. OBJECT FREQ reports it, eviction removes the lowest, and RDB
files and DUMP payloads carry it.

Here the counters live beside a database's access times: while an LFU policy is set,
`Database.lru` is an `LfuAccessTimes`, a dict of access times whose item assignment (what a
read, a write or a store of a key does) counts the access too. With any other policy it is a
plain dict, so LRU reads and writes pay nothing for LFU.

Switching policies: Redis keeps one field per key and reads the LRU clock as a counter (or the
reverse) until accesses rewrite it; here the access times are kept and every key starts at
LFU_INIT_VAL, as a new key does.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

LFU_INIT_VAL = 5
LFU_POLICIES = frozenset(("allkeys-lfu", "volatile-lfu"))
_MAX_COUNTER = 255
_MINUTE_MS = 60_000


def decayed(counter: int, last_access_ms: int, now_ms: int, decay_minutes: int) -> int:
    """The counter less one per decay_minutes whole minutes since the last access (Redis's
    LFUDecrAndReturn; decay 0 never decays)."""
    if not decay_minutes:
        return counter
    periods = (now_ms // _MINUTE_MS - last_access_ms // _MINUTE_MS) // decay_minutes
    return max(counter - periods, 0) if periods > 0 else counter


def incremented(counter: int, log_factor: int) -> int:
    """The counter after one access: one more, with a probability that falls as it grows
    (Redis's LFULogIncr)."""
    if counter >= _MAX_COUNTER:
        return _MAX_COUNTER
    base = max(counter - LFU_INIT_VAL, 0)
    return counter + 1 if random.random() < 1.0 / (base * log_factor + 1) else counter


class LfuAccessTimes(dict):
    """key -> last access (ms), and each key's LFU counter: Database.lru under an LFU policy.

    Storing an access time is an access: a key without a counter gets LFU_INIT_VAL (a new key,
    as Redis creates it), a key with one gets it decayed and incremented. Removing a key drops
    its counter."""

    __slots__ = ("counters", "settings")

    def __init__(self, settings: Mapping[str, Any], times: Mapping[bytes, int] | None = None) -> None:
        super().__init__(times or {})
        self.settings = settings  # the live config values: lfu-log-factor and lfu-decay-time
        self.counters: dict[bytes, int] = dict.fromkeys(self, LFU_INIT_VAL)

    def __setitem__(self, key: bytes, now_ms: int) -> None:
        counter = self.counters.get(key)
        if counter is None:
            counter = LFU_INIT_VAL
        else:
            settings = self.settings
            counter = incremented(decayed(counter, self.get(key, now_ms), now_ms, settings["lfu-decay-time"]),
                                  settings["lfu-log-factor"])
        self.counters[key] = counter
        dict.__setitem__(self, key, now_ms)

    def pop(self, key: bytes, default: Any = None) -> Any:
        self.counters.pop(key, None)
        return dict.pop(self, key, default)

    def frequency(self, key: bytes, now_ms: int) -> int:
        """The counter as of now, decayed but not counted as an access (OBJECT FREQ, eviction,
        RDB's FREQ); a key never accessed since it was loaded has LFU_INIT_VAL."""
        counter = self.counters.get(key)
        if counter is None:
            return LFU_INIT_VAL
        return decayed(counter, self.get(key, now_ms), now_ms, self.settings["lfu-decay-time"])

    def set_frequency(self, key: bytes, counter: int, now_ms: int) -> None:
        """Give key this counter as of now (RDB's FREQ opcode, RESTORE ... FREQ)."""
        self.counters[key] = min(max(counter, 0), _MAX_COUNTER)
        dict.__setitem__(self, key, now_ms)


def access_times(settings: Mapping[str, Any], times: dict[bytes, int] | None = None) -> dict[bytes, int]:
    """A database's access-time table for the maxmemory-policy in settings: a new empty one, or
    `times` kept or converted (keys gaining counters start at LFU_INIT_VAL)."""
    lfu = settings["maxmemory-policy"] in LFU_POLICIES
    if times is None:
        return LfuAccessTimes(settings) if lfu else {}
    if lfu:
        return times if isinstance(times, LfuAccessTimes) else LfuAccessTimes(settings, times)
    return times if times.__class__ is dict else dict(times)
