"""One numbered database: keys, their values, their expiry times, and lazy/active expiry.

Every change to a key goes through this class (set, delete, modified, expire), which is where
the cross-cutting effects hang: the dirty counter that drives save rules, WATCH invalidation,
client-side-caching invalidation and the SCAN index. Handlers read and change values; they never
touch `data` or `expires` of another database directly.

Values are `bytes`/`bytearray` for strings (bytearray marks a string Redis would hold as "raw",
e.g. after APPEND) and objects of the classes in `keyspace.types` for the other types.

Hot path: reads and writes stamp the access time from `ACCESS_CLOCK`, which the server cron
refreshes (Redis's LRU clock), instead of reading the clock; expiry checks always read the real
clock. Change listeners are called only while registered, so subsystems with
nothing to watch (no WATCH, no blocked client, no tracking) cost a write nothing.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..protocol.errors import WRONGTYPE, CommandError
from .lfu import access_times
from .scan import ScanIndex

if TYPE_CHECKING:
    from ..server.app import Server

ChangeListener = Callable[["Database", "bytes | None"], None]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class AccessClock:
    """The unix-ms time stamped as keys' last access (OBJECT IDLETIME, LRU and LFU).

    Coarse on purpose, as Redis's LRU clock: the server cron refreshes it `hz` times a second
    (`tick`), so stamping a key costs an attribute read, not a clock read. Access times are
    shown in seconds (OBJECT IDLETIME) and compared in minutes (LFU decay), so a tenth of a
    second behind is exact enough; expiry never uses it: TTL checks read the real clock.
    """

    __slots__ = ("ms",)

    def __init__(self) -> None:
        self.ms = now_ms()

    def tick(self) -> None:
        self.ms = now_ms()


ACCESS_CLOCK = AccessClock()


STRING_TYPES = (bytes, bytearray)
# TYPE names by value class, for the type check of every read: strings without a call.
_STRING_TYPE_NAMES = {bytes: "string", bytearray: "string"}


def type_name(value: Any) -> str:
    """The name TYPE reports: 'string', or the value class's TYPE_NAME."""
    return _STRING_TYPE_NAMES.get(value.__class__) or value.TYPE_NAME


class Database:
    __slots__ = (
        "id", "server", "data", "expires", "_expiry_heap", "scan_index", "lru",
        "avg_ttl", "on_key_change",
    )

    def __init__(self, db_id: int, server: Server) -> None:
        self.id = db_id
        self.server = server
        self.data: dict[bytes, Any] = {}
        self.expires: dict[bytes, int] = {}  # key -> absolute unix time in ms
        # (when, key) candidates for active expiry; stale entries are skipped when popped.
        self._expiry_heap: list[tuple[int, bytes]] = []
        self.scan_index: ScanIndex | None = None
        # key -> last access (ms), for OBJECT IDLETIME and eviction; under an LFU policy it
        # counts each access too (keyspace/lfu.py). Every read, store and change of a key stamps
        # it, as Redis's lookups do (CLIENT NO-TOUCH aside).
        self.lru: dict[bytes, int] = access_times(server.config.values)
        self.avg_ttl = 0
        # Callbacks run with (db, key) whenever a key is changed (key None: possibly all keys):
        # WATCH, blocked clients, client-side caching. A subsystem may keep its callback here
        # only while it has state (see listen/unlisten), so the usual write calls nothing.
        self.on_key_change: list[ChangeListener] = []

    # -- reading ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.data)

    def __contains__(self, key: bytes) -> bool:
        return self.lookup(key) is not None

    def lookup(self, key: bytes) -> Any:
        """The live value of key (expiring it first if due), or None. Counts no hit/miss."""
        expires = self.expires
        if expires and key in expires and expires[key] <= self.server.clock_ms():
            self.expire_found(key)
            return None
        return self.data.get(key)

    def read(self, key: bytes, expected_type: str | None = None, touch: bool = True,
             notify_miss: bool = True) -> Any:
        """Lookup for a read command: counts keyspace hits/misses, updates the access time and
        raises WRONGTYPE when the key holds another type. A miss is a 'keymiss' event unless
        notify_miss is false (OBJECT: Redis's LOOKUP_NONOTIFY)."""
        expires = self.expires
        server = self.server
        if expires and key in expires and expires[key] <= server.clock_ms():  # lookup(), inlined
            self.expire_found(key)
            value = None
        else:
            value = self.data.get(key)
        if value is None:
            server.stats.keyspace_misses += 1
            if notify_miss:
                server.notifier.notify(self, "m", "keymiss", key)
            return None
        server.stats.keyspace_hits += 1
        if touch:
            current = server.current_client
            if current is None or not current.no_touch:  # CLIENT NO-TOUCH reads leave LRU alone
                self.lru[key] = ACCESS_CLOCK.ms
        if expected_type is not None and expected_type != \
                ("string" if value.__class__ is bytes else _STRING_TYPE_NAMES.get(value.__class__) or value.TYPE_NAME):
            raise CommandError(WRONGTYPE)
        return value

    def write_lookup(self, key: bytes, expected_type: str | None = None) -> Any:
        """Lookup for a write command (no hit/miss accounting), with the type check."""
        value = self.lookup(key)
        if value is not None and expected_type is not None and expected_type != \
                ("string" if value.__class__ is bytes else _STRING_TYPE_NAMES.get(value.__class__) or value.TYPE_NAME):
            raise CommandError(WRONGTYPE)
        return value

    def ttl_ms(self, key: bytes) -> int | None:
        """Absolute expiry time of key in ms, or None when it has no TTL."""
        return self.expires.get(key)

    def random_key(self) -> bytes | None:
        """RANDOMKEY: O(log N) through the SCAN index (a dict has no random access), where Redis's
        is O(1). The index is built on first use, O(N) once, as by the first SCAN, and kept up to
        date by every write after that. Up to 100 tries past keys whose TTL is due, as Redis."""
        for _ in range(100):
            if not self.data:
                return None
            key = self._scan_index().random_element()
            if self.lookup(key) is not None:
                return key
        return None

    def sample_key(self) -> bytes:
        """A key at random, whether past its TTL or not (eviction's samples): the database
        must not be empty."""
        return self._scan_index().random_element()

    def iter_live_keys(self) -> Iterator[bytes]:
        clock = self.server.clock_ms()
        expires = self.expires
        for key in list(self.data):
            when = expires.get(key)
            if when is None or when > clock:
                yield key

    # -- writing ------------------------------------------------------------------------------

    def set(self, key: bytes, value: Any, keep_ttl: bool = False, changes: int = 1) -> None:
        """Store value at key, replacing any old value (and its TTL unless keep_ttl). changes:
        what the dirty counter gains (Redis counts per element for some writes, e.g. SADD)."""
        data = self.data
        if key not in data:
            if self.scan_index is not None:
                self.scan_index.add(key)
            notifier = self.server.notifier
            if "n" in notifier.classes:
                notifier.notify(self, "n", "new", key)
        data[key] = value
        if not keep_ttl and self.expires:
            self.expires.pop(key, None)
        self.lru[key] = ACCESS_CLOCK.ms
        self.server.dirty += changes  # modified(key, changes), inlined
        if self.on_key_change:
            for callback in self.on_key_change:
                callback(self, key)

    def delete(self, key: bytes, changes: int = 1) -> bool:
        """Remove key; True if it existed (expired keys count as absent). changes: as in set()."""
        if self.lookup(key) is None:
            return False
        self._remove(key)
        self.modified(key, changes)
        return True

    def evict(self, key: bytes) -> None:
        """Remove key for maxmemory, whatever its TTL (server/memory.py sends the event)."""
        self._remove(key)
        self.modified(key)

    def modified(self, key: bytes, changes: int = 1) -> None:
        """Record that key changed in place (or went): its access time, the dirty counter, WATCH
        and tracking invalidation."""
        server = self.server
        if key in self.data:  # (Redis's write lookup stamps it; a deleted key has no time)
            current = server.current_client
            if current is None or not current.no_touch:
                self.lru[key] = ACCESS_CLOCK.ms
        server.dirty += changes
        if self.on_key_change:
            for callback in self.on_key_change:
                callback(self, key)

    # Listeners are replaced, never edited in place: a callback may unlisten (its last watched
    # key went) while the list it was called from is being iterated.

    def listen(self, callback: ChangeListener) -> None:
        """Call callback on every change from now on (once, however often it is added)."""
        if callback not in self.on_key_change:
            self.on_key_change = [*self.on_key_change, callback]

    def unlisten(self, callback: ChangeListener) -> None:
        """Stop calling callback (a subsystem left with nothing to watch)."""
        if callback in self.on_key_change:
            self.on_key_change = [listener for listener in self.on_key_change if listener != callback]

    def set_expire(self, key: bytes, when_ms: int) -> None:
        self.expires[key] = when_ms
        heapq.heappush(self._expiry_heap, (when_ms, key))
        if len(self._expiry_heap) > 2 * len(self.expires) + 1024:
            self._rebuild_expiry_heap()

    def persist(self, key: bytes) -> bool:
        return self.expires.pop(key, None) is not None

    def flush(self) -> int:
        removed = len(self.data)
        self.data = {}
        self.expires = {}
        self._expiry_heap = []
        self.lru = access_times(self.server.config.values)
        self.scan_index = None
        self.modified_all(removed)
        return removed

    def swap_contents(self, other: Database) -> None:
        """SWAPDB: exchange the data of two databases (the clients stay where they are)."""
        for attr in ("data", "expires", "_expiry_heap", "scan_index", "lru", "avg_ttl"):
            mine, theirs = getattr(self, attr), getattr(other, attr)
            setattr(self, attr, theirs)
            setattr(other, attr, mine)
        self.modified_all(1)
        other.modified_all(0)

    def modified_all(self, changes: int) -> None:
        """Every key may have changed (FLUSHDB, SWAPDB): change hooks get key None."""
        self.server.dirty += changes
        for callback in self.on_key_change:
            callback(self, None)

    def rename(self, src: bytes, dst: bytes, value: Any) -> None:
        """Move value from src to dst, carrying the TTL along (RENAME)."""
        when = self.expires.get(src)
        self._remove(src)
        self.modified(src, 0)  # one change in all, counted by the store at dst (Redis's dirty++)
        self.recreate(dst, value)
        if when is not None:
            self.set_expire(dst, when)

    def recreate(self, key: bytes, value: Any) -> None:
        """Store value at key as a new key, deleting any old one first. RENAME, COPY ... REPLACE
        and RESTORE ... REPLACE do this in Redis (dbDelete, then dbAdd) where other overwrites
        keep the key (setKey): so here, unlike set(), replacing a key fires 'new' too."""
        if key in self.data:  # stored, even if due: the caller's lookup may not expire it (pause)
            self._remove(key)
        self.set(key, value)

    # -- expiry -------------------------------------------------------------------------------

    def expiry_paused(self) -> bool:
        """CLIENT PAUSE (WRITE or ALL) holds expiry too: due keys read as missing but stay
        stored, uncounted, until the pause ends (Redis's PAUSE_ACTION_EXPIRE)."""
        blocking = self.server.blocking
        return bool(blocking.pause_mode) and self.server.clock_ms() < blocking.pause_until_ms

    def expire_found(self, key: bytes) -> None:
        """A lookup met key past its TTL: delete it, unless expiry is paused."""
        if not self.expiry_paused():
            self.expire_now(key)

    def expire_now(self, key: bytes) -> None:
        """Delete a key whose TTL has passed (lazily on access or from the active cycle)."""
        self._remove(key)
        self.server.stats.expired_keys += 1
        self.server.propagator.add(self.id, [b"DEL", key])
        self.modified(key)
        self.server.notifier.notify(self, "x", "expired", key)

    def expire_due_keys(self, deadline_ns: int) -> tuple[int, int]:
        """Active expiry: delete due keys until none is due or the time budget runs out.

        Returns (expired, sampled). Redis samples random keys because it can't order its hash
        table by time; a heap gives the due keys directly, and the time budget keeps the
        cycle from stalling the event loop when many keys expire at once, as Redis's does.
        """
        if self.expiry_paused():
            return 0, 0
        heap = self._expiry_heap
        clock = self.server.clock_ms()
        expired = sampled = 0
        while heap and heap[0][0] <= clock:
            when, key = heapq.heappop(heap)
            sampled += 1
            if self.expires.get(key) == when:
                self.expire_now(key)
                expired += 1
            if sampled % 32 == 0 and time.perf_counter_ns() >= deadline_ns:
                break
        return expired, sampled

    def _rebuild_expiry_heap(self) -> None:
        self._expiry_heap = [(when, key) for key, when in self.expires.items()]
        heapq.heapify(self._expiry_heap)

    def _remove(self, key: bytes) -> None:
        del self.data[key]
        self.expires.pop(key, None)
        self.lru.pop(key, None)
        if self.scan_index is not None:
            self.scan_index.discard(key)

    # -- SCAN ---------------------------------------------------------------------------------

    def scan_page(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        return self._scan_index().page(cursor, count)

    def _scan_index(self) -> ScanIndex:
        """The index of keys in hash order, built on first use (O(N) once) and kept up to date
        by every write after that."""
        if self.scan_index is None:
            self.scan_index = ScanIndex(self.data)
        return self.scan_index

