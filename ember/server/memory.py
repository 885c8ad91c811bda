"""maxmemory: the dataset's estimated size, eviction and the OOM refusal (Redis's evict.c).

With maxmemory 0 (the default) nothing here runs: no key-change listener, and admission tests
`limit` once per command. With a limit, a key-change listener (as WATCH's) notes every changed
key; before the next command is admitted (dispatch: execute() and the lean runs) their estimates (keyspace/memory.py) are brought up to date, and while
the total is over the limit the policy's victims are deleted: the best of maxmemory-samples
sampled keys, by idle time, TTL or at random. When nothing can be evicted (noeviction, or no
key with a TTL for a volatile policy), commands that may grow memory are refused with OOM.

The total is Redis's baseline (an empty server's used_memory) plus the keys' estimates, not the
Python process's size, so a limit from redis.conf admits about the data it did under Redis.

The LFU policies evict the key with the lowest access counter (keyspace/lfu.py), the LRU ones
the longest idle. Eviction before a command has a time budget set by
maxmemory-eviction-tenacity, as in Redis: past it, the command runs anyway and eviction goes on
in the event loop, a pass per loop iteration, until the estimate fits (Redis's eviction time
proc); a CONFIG SET of maxmemory starts those passes too.
"""

from __future__ import annotations

import math
import random
import time
from itertools import islice
from typing import TYPE_CHECKING

from ..keyspace.database import ACCESS_CLOCK
from ..keyspace.lfu import LfuAccessTimes, access_times
from ..keyspace.memory import KEY_OVERHEAD, STRING_OVERHEAD, key_size

if TYPE_CHECKING:
    from ..commands.table import Command
    from ..keyspace.database import Database
    from .app import Server
    from .client import Client

OOM = "OOM command not allowed when used memory > 'maxmemory'."
BASELINE = 940_000  # used_memory of an empty Redis 7 with one client connected
# Commands a client inside MULTI may still send when memory is full (anything else is refused).
_TRANSACTION_ENDS = frozenset(("exec", "discard", "quit", "reset"))
STRING_KEY_OVERHEAD = KEY_OVERHEAD + STRING_OVERHEAD
_SAMPLE_TRIES = 4  # draws per wanted sample when a volatile policy samples all keys for TTLs
# Eviction's outcomes (Redis's EVICT_OK, EVICT_RUNNING, EVICT_FAIL): within the limit; out of
# time, with eviction going on in the event loop; or over the limit with nothing to evict.
FITS, EVICTING, FULL = range(3)
_KEYS_PER_CLOCK_READ = 16  # the budget is checked every 16 evictions, as Redis does


def eviction_budget_ns(tenacity: int) -> float:
    """How long one eviction pass may run (Redis's evictionTimeLimitUs): 50 µs per step up to
    10 (the default, 500 µs), then 15% more per step; no limit at 100."""
    if tenacity <= 10:
        return 50_000 * tenacity
    if tenacity < 100:
        return 500_000 * 1.15 ** (tenacity - 10)
    return math.inf


class Memory:
    """The maxmemory state of a server (Server.memory)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.limit = 0  # maxmemory in bytes, 0: off
        self.dataset = 0  # the sum of sizes
        self.sizes: list[dict[bytes, int]] = []  # per database: key -> estimated bytes
        # By database id, the keys to measure again before the next admission (a set: repeated
        # writes to a key between commands are measured once); and databases to measure whole.
        self.changed: dict[int, set[bytes]] = {}
        self.changed_dbs: set[int] = set()
        self.out_of_memory = False  # as of the last admission (Redis's pre_command_oom_state)
        self.evicting = False  # eviction passes are scheduled in the event loop
        # Since when the estimate stays over the limit after eviction (0: it fits), and the
        # time it did before: INFO's current/total_eviction_exceeded_time.
        self.exceeded_since_ns = 0
        self.exceeded_total_ns = 0
        server.config.on_change("maxmemory", lambda _value: self.configure())
        server.config.on_change("maxmemory-policy", lambda _value: self.track_access())
        self.configure()

    def track_access(self) -> None:
        """Keep what the policy ranks keys by: access counters under LFU, times alone otherwise."""
        settings = self.server.config.values
        for db in self.server.dbs:
            db.lru = access_times(settings, db.lru)

    def configure(self) -> None:
        """Start or stop accounting as maxmemory becomes set or 0."""
        limit = self.server.config["maxmemory"]
        if limit and not self.limit:
            self.sizes = [{} for _ in self.server.dbs]
            self.dataset = 0
            self.server.watch_keys(self._key_changed, True)
            self.changed_dbs.update(range(len(self.server.dbs)))  # measured before the next command
        elif not limit and self.limit:
            self.server.watch_keys(self._key_changed, False)
            self.sizes, self.dataset = [], 0
            self.changed.clear()
            self.changed_dbs.clear()
            self.out_of_memory = False
            self._exceeded(False)
        self.limit = limit
        if limit:
            self._evict_later()  # as Redis after CONFIG SET maxmemory: evict without waiting for a command

    def recount(self) -> None:
        """Measure every database again (after a load, which writes around the change hooks)."""
        if self.limit:
            self.changed_dbs.update(range(len(self.server.dbs)))

    def used(self) -> int:
        """What maxmemory is compared with: the baseline plus the keys' estimated sizes."""
        if self.changed or self.changed_dbs:
            self._settle()
        return BASELINE + self.dataset

    # -- accounting -------------------------------------------------------------------------

    def _key_changed(self, db: Database, key: bytes | None) -> None:
        if key is None:
            self.changed_dbs.add(db.id)
        elif (keys := self.changed.get(db.id)) is not None:
            keys.add(key)
        else:
            self.changed[db.id] = {key}

    def _settle(self) -> None:
        """Measure what changed (in any order: a measure reads the key's current value)."""
        dbs = self.server.dbs
        if self.changed_dbs:
            whole, self.changed_dbs = self.changed_dbs, set()
            for db_id in whole:
                self._measure_all(dbs[db_id])
                self.changed.pop(db_id, None)
        changed, self.changed = self.changed, {}
        for db_id, keys in changed.items():
            data, sizes = dbs[db_id].data, self.sizes[db_id]
            for key in keys:
                value = data.get(key)
                if value is None:
                    size = 0
                elif value.__class__ is bytes:  # key_size() of a string, inlined: the commonest write
                    size = STRING_KEY_OVERHEAD + len(key) + len(value)
                else:
                    size = key_size(key, value)
                self.dataset += size - sizes.pop(key, 0)
                if size:
                    sizes[key] = size

    def _measure_all(self, db: Database) -> None:
        sizes = {key: key_size(key, value) for key, value in db.data.items()}
        self.dataset += sum(sizes.values()) - sum(self.sizes[db.id].values())
        self.sizes[db.id] = sizes

    # -- admission and eviction ---------------------------------------------------------------

    def admits(self, client: Client, cmd: Command) -> bool:
        """Evict as needed before cmd runs (Redis's performEvictions in processCommand); False
        when memory stays full and cmd may grow it: a denyoom command, anything queued in
        MULTI, or an EXEC of a transaction holding a denyoom command. While eviction is out
        of time and goes on in the event loop, commands are admitted, as in Redis."""
        if self.used() <= self.limit:
            self.out_of_memory = False
            if self.exceeded_since_ns:
                self._exceeded(False)
            return True
        self.out_of_memory = self.evict() == FULL
        if not self.out_of_memory:
            return True
        tx = client.tx
        if "denyoom" in cmd.flags:
            return False
        if tx is not None:
            if cmd.name not in _TRANSACTION_ENDS:
                return False
            if cmd.name == "exec" and any("denyoom" in queued.flags for queued, _ in tx.queued):
                return False
        return True

    def evict(self) -> int:
        """Delete keys by maxmemory-policy until the estimate is within the limit (FITS), nothing
        may or can be evicted (FULL), or the pass is out of time (EVICTING: it goes on in the
        event loop)."""
        outcome = self._evict_for(eviction_budget_ns(self.server.config["maxmemory-eviction-tenacity"]))
        self._exceeded(outcome != FITS)
        return outcome

    def _evict_for(self, budget_ns: float) -> int:
        policy = self.server.config["maxmemory-policy"]
        start = time.perf_counter_ns()
        evicted = 0
        while self.used() > self.limit:
            if policy == "noeviction":
                return FULL
            victim = self._pick(policy)
            if victim is None:
                return FULL
            self._evict(*victim)
            evicted += 1
            if evicted % _KEYS_PER_CLOCK_READ == 0 and time.perf_counter_ns() - start > budget_ns \
                    and self._evict_later():
                return EVICTING
        return FITS

    def _evict_later(self) -> bool:
        """Have eviction passes run in the event loop until the estimate fits (Redis's
        startEvictionTimeProc); False when there is no running loop to run them."""
        loop = self.server.loop
        if loop is None or not loop.is_running():
            return False
        if not self.evicting:
            self.evicting = True
            loop.call_soon(self._eviction_pass)
        return True

    def _eviction_pass(self) -> None:
        self.evicting = False
        if self.limit:
            self.evict()  # (out of time again, it schedules the next pass)

    def _exceeded(self, over: bool) -> None:
        """Note when the estimate starts and stops staying over the limit after eviction."""
        if over and not self.exceeded_since_ns:
            self.exceeded_since_ns = time.monotonic_ns()
        elif not over and self.exceeded_since_ns:
            self.exceeded_total_ns += time.monotonic_ns() - self.exceeded_since_ns
            self.exceeded_since_ns = 0

    def reset_exceeded_time(self) -> None:
        """CONFIG RESETSTAT: a period still going on is counted again from the next pass."""
        self.exceeded_since_ns = self.exceeded_total_ns = 0

    def exceeded_times_ms(self) -> tuple[int, int]:
        """INFO's total_eviction_exceeded_time (including the current period) and
        current_eviction_exceeded_time, in ms."""
        current = time.monotonic_ns() - self.exceeded_since_ns if self.exceeded_since_ns else 0
        return (self.exceeded_total_ns + current) // 1_000_000, current // 1_000_000

    def _pick(self, policy: str) -> tuple[Database, bytes] | None:
        """The best victim among maxmemory-samples keys sampled in each database."""
        volatile = policy.startswith("volatile-")
        samples = self.server.config["maxmemory-samples"]
        best: tuple[Database, bytes] | None = None
        best_score = 0.0
        for db in self.server.dbs:
            if not (db.expires if volatile else db.data):
                continue
            for key in _sample(db, samples, volatile):
                score = _eviction_score(policy, db, key)
                if best is None or score > best_score:
                    best, best_score = (db, key), score
        return best

    def _evict(self, db: Database, key: bytes) -> None:
        """Delete key as Redis evicts: DEL propagated, change signalled, 'evicted' event."""
        server = self.server
        lazy = server.config["lazyfree-lazy-eviction"]
        server.propagator.add(db.id, [b"UNLINK" if lazy else b"DEL", key])
        db.evict(key)
        server.notifier.notify(db, "e", "evicted", key)
        server.stats.evicted_keys += 1
        server.propagator.flush()


def _sample(db: Database, count: int, volatile: bool) -> list[bytes]:
    """Up to count keys drawn at random (all keys, or those with a TTL). Keys with a TTL are
    drawn from all keys (a dict has no random access); when few keys have one, the first
    ones in the TTL table stand in."""
    pick = db.sample_key
    if not volatile:
        return [pick() for _ in range(count)]
    expires = db.expires
    found = [key for key in (pick() for _ in range(count * _SAMPLE_TRIES)) if key in expires][:count]
    if not found:
        found = list(islice(expires, count))
    return found


def _eviction_score(policy: str, db: Database, key: bytes) -> float:
    """Higher evicts first: idle time for LRU, rarity of access for LFU (Redis's 255 - counter),
    nearness of expiry for volatile-ttl."""
    if policy.endswith("-random"):
        return random.random()
    if policy == "volatile-ttl":
        return -db.expires[key]
    now = ACCESS_CLOCK.ms
    lru = db.lru
    if lru.__class__ is LfuAccessTimes:
        return 255 - lru.frequency(key, now)
    return now - lru.get(key, 0)
