"""Blocked clients: BLPOP & co waiting on keys, and clients held by CLIENT PAUSE.

A blocking command that finds nothing calls `BlockingManager.block()` with a `serve` callback
that retries the operation; the client then stops processing its queue. Every key change marks
the key ready if someone waits on it; after the current top-level command (or a whole MULTI/EXEC
or script) completes, `serve_ready()` retries waiters in the order they blocked, for as long as
the key can serve them. This is Redis's ready-keys design (blocked.c): pushes inside a
transaction wake waiters only once the transaction completes, and the first client to block is
the first served. A waiter whose client disconnects is dropped before it can receive anything.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..commands.table import TABLE
from ..protocol.encoder import NULL_ARRAY
from ..protocol.errors import CommandError
from ..protocol.long_double import INF, parse_long_double, round_long_double
from ..protocol.numbers import parse_int
from .client import NO_REPLY, NoReply
from .listening import PerDatabaseListener

if TYPE_CHECKING:
    import asyncio

    from ..commands.table import Command
    from ..keyspace.database import Database
    from .app import Server
    from .client import Client

Serve = Callable[[], Any]  # returns the reply, or None while the keys still can't serve


LLONG_MAX = 2**63 - 1
PLAIN_TIMEOUT_MAX = 16  # characters: under 10**15 seconds, whose deadline fits in a long long


def parse_timeout(raw: bytes, unit_seconds: bool = True, now_ms: int | None = None) -> float:
    """A blocking timeout in seconds, parsed as Redis does (0 means forever): see timeout_ms."""
    if unit_seconds and len(raw) < PLAIN_TIMEOUT_MAX and raw.isdigit():
        # The usual "1": whole seconds are exact in any float type, and so short a number can
        # neither be negative nor push the deadline past a long long.
        return float(raw)
    return timeout_ms(raw, unit_seconds, now_ms) / 1000.0


def timeout_ms(raw: bytes, unit_seconds: bool = True, now_ms: int | None = None) -> int:
    """A timeout in milliseconds, as Redis's getTimeoutFromObjectOrReply reads it (0: none).

    Seconds are a long double (string2ld: hex, inf, no surrounding spaces, the 80-bit range)
    turned into milliseconds in long double and rounded up; XREAD's BLOCK and CLIENT PAUSE are
    integer milliseconds. The deadline (now plus the timeout) must fit in a long long.
    """
    if unit_seconds:
        millis = long_double_millis(raw)
    else:
        millis = parse_int(raw, "ERR timeout is not an integer or out of range")
    if millis < 0:
        raise CommandError("ERR timeout is negative")
    if now_ms is None:
        now_ms = time.time_ns() // 1_000_000
    if millis > LLONG_MAX - now_ms:
        raise CommandError("ERR timeout is out of range")
    return millis


def long_double_millis(raw: bytes) -> int:
    """ceill(seconds * 1000) in long double, as Redis's getTimeoutFromObjectOrReply."""
    seconds = parse_long_double(raw, "ERR timeout is not a float or out of range")
    if seconds == -INF:
        return -1  # C turns -inf into LLONG_MIN: negative
    millis = round_long_double(seconds * 1000) if seconds != INF else INF
    if millis > LLONG_MAX:
        raise CommandError("ERR timeout is out of range")
    return math.ceil(millis)


class Waiter:
    __slots__ = ("client", "db", "keys", "serve", "timeout_reply", "timer")

    def __init__(self, client: Client, keys: Iterable[bytes], serve: Serve, timeout_reply: Any) -> None:
        self.client = client
        self.db = client.db
        self.keys = dict.fromkeys(keys)  # each key once, in order (BLPOP k k waits once on k)
        self.serve = serve
        self.timeout_reply = timeout_reply
        self.timer: asyncio.TimerHandle | None = None


class BlockingManager:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.by_key: dict[tuple[int, bytes], list[Waiter]] = {}  # oldest waiter first
        self.listening = PerDatabaseListener(self._key_changed)  # in the databases with waiters
        self.waiters: dict[int, Waiter] = {}  # client id -> its waiter
        self.ready: dict[tuple[int, bytes], Database] = {}
        self.paused_clients: deque[Client] = deque()
        self.pause_mode = ""  # "" | "write" | "all"
        self.pause_until_ms = 0
        self._pause_timer: asyncio.TimerHandle | None = None

    # -- blocking on keys ---------------------------------------------------------------------

    def block(self, client: Client, keys: Iterable[bytes], timeout_s: float, serve: Serve,
              timeout_reply: Any = NULL_ARRAY, denied_reply: Any = NULL_ARRAY) -> Any:
        """Park client until serve() yields a reply or timeout_s passes (0 = forever).

        Inside EXEC (or a script) nothing may block: the command answers denied_reply at once
        (BLMOVE's is a null bulk while its timeout reply is a null array, as in Redis).
        """
        if client.in_exec:
            return denied_reply
        waiter = Waiter(client, keys, serve, timeout_reply)
        db = waiter.db
        self.listening.add(db)
        by_key = self.by_key
        db_id = db.id
        for key in waiter.keys:
            queue = by_key.get((db_id, key))
            if queue is None:
                by_key[(db_id, key)] = [waiter]
            else:
                queue.append(waiter)
        self.waiters[client.id] = waiter
        client.blocked = True
        if timeout_s > 0 and self.server.loop is not None:
            waiter.timer = self.server.loop.call_later(timeout_s, self._timed_out, waiter)
        return NO_REPLY

    def signal(self, db: Database, key: bytes) -> None:
        """Wake waiters on key without it counting as a change (XGROUP DESTROY, for WATCH)."""
        self._key_changed(db, key)

    def _key_changed(self, db: Database, key: bytes | None) -> None:
        if key is not None:
            slot = (db.id, key)
            if slot in self.by_key:
                self.ready[slot] = db
            return
        for slot in self.by_key:  # the whole db changed (SWAPDB): every waited key may serve now
            if slot[0] == db.id:
                self.ready[slot] = db

    def serve_ready(self) -> None:
        """Serve waiters on keys that changed, oldest waiter first, while the keys can serve."""
        while self.ready:
            ready, self.ready = self.ready, {}
            for slot in ready:
                # Every waiter gets one try, oldest first: one that can't be served (an XREAD
                # after a later ID, another consumer group) must not starve those behind it.
                for waiter in list(self.by_key.get(slot, ())):
                    if self.waiters.get(waiter.client.id) is not waiter:
                        continue  # released by an earlier serve in this round
                    reply = self._retry(waiter)
                    if reply is not None:
                        # Each served command propagates on its own, before its reply leaves.
                        self.server.propagator.flush()
                        self._release(waiter, reply)

    def _retry(self, waiter: Waiter) -> Any:
        client = waiter.client
        server = self.server
        selected, client.db = client.db, waiter.db  # serve in the db the client blocked in
        dirty_before = server.dirty
        try:
            return waiter.serve()
        except CommandError as err:
            return err
        finally:
            # A served waiter propagates the non-blocking form its command gave with propagate_as.
            if server.dirty != dirty_before and client.rewritten is not None:
                server.propagator.add_command(client, [])
            client.rewritten = None
            client.db = selected

    def _timed_out(self, waiter: Waiter) -> None:
        if self.waiters.get(waiter.client.id) is waiter:
            self._release(waiter, waiter.timeout_reply)

    def unblock(self, client: Client, with_error: bool) -> bool:
        """CLIENT UNBLOCK: end a key wait early, as a timeout or with an UNBLOCKED error."""
        waiter = self.waiters.get(client.id)
        if waiter is None:
            return False
        reply = CommandError("UNBLOCKED client unblocked via CLIENT UNBLOCK") if with_error else waiter.timeout_reply
        self._release(waiter, reply)
        return True

    def _release(self, waiter: Waiter, reply: Any) -> None:
        self._forget(waiter)
        client = waiter.client
        client.blocked = False
        if reply.__class__ is CommandError:
            self.server.stats.count_error(reply.code)
            served = TABLE.lookup(client.last_command.encode())
            if served is not None:
                served.failed_calls += 1
        client.send(reply)
        self._resume(client)

    def _forget(self, waiter: Waiter) -> None:
        # Once only: a client can close (and be forgotten) while its waiter is being served.
        if self.waiters.get(waiter.client.id) is not waiter:
            return
        del self.waiters[waiter.client.id]
        if waiter.timer is not None:
            waiter.timer.cancel()
        db = waiter.db
        by_key = self.by_key
        db_id = db.id
        for key in waiter.keys:
            slot = (db_id, key)
            queue = by_key[slot]
            queue.remove(waiter)
            if not queue:
                del by_key[slot]
        self.listening.remove(db)

    def _resume(self, client: Client) -> None:
        """Run what the client queued while it was blocked, after the current work finishes."""
        if client.pending and self.server.loop is not None:
            self.server.loop.call_soon(client.process)

    def client_closed(self, client: Client) -> None:
        waiter = self.waiters.get(client.id)
        if waiter is not None:
            self._forget(waiter)
        if client in self.paused_clients:
            self.paused_clients.remove(client)

    @property
    def blocked_count(self) -> int:
        """INFO's blocked_clients: waiters on keys and clients held by CLIENT PAUSE, which
        Redis blocks too (BLOCKED_POSTPONE) and counts alike."""
        return len(self.waiters) + len(self.paused_clients)

    # -- CLIENT PAUSE -------------------------------------------------------------------------

    def must_pause(self, client: Client, cmd: Command) -> bool:
        """Whether cmd from client has to wait for CLIENT UNPAUSE (or the pause deadline)."""
        if not self.pause_mode:
            return False
        if self.server.clock_ms() >= self.pause_until_ms:
            self.unpause()
            return False
        if self.pause_mode == "all":
            return True
        return "write" in cmd.flags or "may_replicate" in cmd.flags

    def hold(self, client: Client, args: list[bytes]) -> NoReply:
        """Keep a paused command (it runs first when the pause ends)."""
        client.pending.appendleft(args)
        client.blocked = True
        self.paused_clients.append(client)
        return NO_REPLY

    def pause(self, mode: str, until_ms: int) -> None:
        """CLIENT PAUSE: a later pause can extend the deadline; ALL takes over from WRITE."""
        if self.pause_mode != "all":
            self.pause_mode = mode
        self.pause_until_ms = max(self.pause_until_ms, until_ms)
        if self._pause_timer is not None:
            self._pause_timer.cancel()
        if self.server.loop is not None:
            delay = max(self.pause_until_ms - self.server.clock_ms(), 0) / 1000.0
            self._pause_timer = self.server.loop.call_later(delay, self.unpause)

    def unpause(self) -> None:
        self.pause_mode = ""
        self.pause_until_ms = 0
        if self._pause_timer is not None:
            self._pause_timer.cancel()
            self._pause_timer = None
        while self.paused_clients:
            client = self.paused_clients.popleft()
            client.blocked = False
            if self.server.loop is not None:
                self.server.loop.call_soon(client.process)
