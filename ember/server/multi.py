"""Transactions: MULTI queues and optimistic locking with WATCH (Redis's multi.c).

A client in MULTI gets its commands queued (the dispatcher does the queuing after the admission
checks, so a command that can't be run — unknown, wrong arity — flags the transaction and EXEC
answers EXECABORT). WATCH records (db, key) pairs; a change to such a key, from any client and by
any path that goes through the Database change hook (writes, expiry, eviction, RENAME, scripts),
makes the watcher's EXEC fail with a null reply. A flush or SWAPDB touches only the watched keys
that exist on either side, and a key that was already expired when it was WATCHed is not
"changed" by its own deletion: both as in Redis 7.2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..protocol.errors import CommandError
from .listening import PerDatabaseListener

if TYPE_CHECKING:
    from ..commands.table import Command
    from ..keyspace.database import Database
    from .app import Server
    from .client import Client

Slot = tuple[int, bytes]  # (db index, key)


class Transaction:
    """The commands a client queued after MULTI."""

    __slots__ = ("queued", "failed", "writes")

    def __init__(self) -> None:
        # Each command as the dispatcher resolved it, so EXEC runs it without a second lookup.
        self.queued: list[tuple[Command, list[bytes]]] = []
        self.failed = False  # a queued command was rejected: EXEC must abort
        self.writes = False  # a queued command may write or replicate: CLIENT PAUSE WRITE holds EXEC

    def queue(self, client: Client, cmd: Command, args: list[bytes]) -> None:
        """Queue a command, unless EXEC is already bound to fail: then, as Redis, keeping it
        would only waste memory (CLIENT LIST's multi= shows what was kept)."""
        if self.failed or client.watch_dirty:
            return
        self.queued.append((cmd, args))
        if not self.writes and ("write" in cmd.flags or "may_replicate" in cmd.flags):
            self.writes = True


def abort_exec(client: Client, error: CommandError) -> CommandError:
    """EXEC itself was refused (wrong arity, NOAUTH...): as Redis's execCommandAbort, any
    transaction ends and the reply names the reason under EXECABORT, inside MULTI or not (the
    dispatcher calls this when it rejects an EXEC)."""
    client.tx = None
    client.server.watches.forget(client)
    reason = error.message[4:] if error.message.startswith("ERR ") else error.message
    return CommandError(f"EXECABORT Transaction discarded because of: {reason}")


def key_is_expired(db: Database, key: bytes) -> bool:
    """Whether key is stored but logically expired; unlike a lookup, this deletes nothing."""
    when = db.expires.get(key)
    return when is not None and when <= db.server.clock_ms() and key in db.data


class WatchedKey:
    """What WATCH saw of one key (Redis's watchedKey, plus whether the key was stored).

    No change to a watched key can go unnoticed (the first one makes the client dirty and
    forgets its keys), so for a client that is still clean `exists` stays true to the database
    until a flush or SWAPDB replaces the whole contents, which is when it is needed.
    """

    __slots__ = ("expired", "exists")

    def __init__(self, expired: bool, exists: bool) -> None:
        self.expired = expired  # already logically expired when watched
        self.exists = exists  # stored in the database (expired or not)


class WatchRegistry:
    """Which clients watch which keys; marks them dirty when a key changes."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.watchers: dict[Slot, list[Client]] = {}
        self.listening = PerDatabaseListener(self._key_changed)  # in the databases with watched keys

    def watch(self, client: Client, key: bytes) -> None:
        if client.watch_dirty:
            return  # the next EXEC fails anyway: no point remembering more keys
        db = client.db
        slot = (db.id, key)
        if slot in client.watched:
            return
        client.watched[slot] = WatchedKey(key_is_expired(db, key), key in db.data)
        clients = self.watchers.get(slot)
        if clients is None:
            clients = self.watchers[slot] = []
            self.listening.add(db)
        clients.append(client)

    def unwatch_all(self, client: Client) -> None:
        for slot in client.watched:
            clients = self.watchers.get(slot)
            if clients is not None:
                clients.remove(client)
                if not clients:
                    del self.watchers[slot]
                    self.listening.remove(self.server.dbs[slot[0]])
        client.watched.clear()

    def forget(self, client: Client) -> None:
        """UNWATCH, DISCARD, EXEC, RESET, disconnect: no keys, and a clean slate."""
        if client.watched:  # most transactions watch nothing
            self.unwatch_all(client)
        client.watch_dirty = False

    def changed_since_watch(self, client: Client) -> bool:
        """EXEC's check: a watched key was changed, or has expired since WATCH."""
        return client.watch_dirty or (bool(client.watched) and self.expired_since_watch(client))

    def _mark_dirty(self, client: Client) -> None:
        client.watch_dirty = True
        # As Redis: a dirty client's EXEC fails whatever happens next, so stop tracking its keys.
        self.unwatch_all(client)

    def _key_changed(self, db: Database, key: bytes | None) -> None:
        if key is None:
            self._contents_replaced(db)
            return
        slot = (db.id, key)
        clients = self.watchers.get(slot)
        if not clients:
            return
        for client in list(clients):
            watched = client.watched[slot]
            if watched.expired and key not in db.data:
                watched.expired = watched.exists = False  # an expired key went: no change
                continue
            self._mark_dirty(client)

    def _contents_replaced(self, db: Database) -> None:
        """After a flush (db now empty) or SWAPDB (db now holds the other's keys): touch only
        the watched keys that existed before or exist now, with the expired-key rules of
        Redis's touchAllWatchedKeysInDb."""
        dirty: list[Client] = []
        for (db_id, key), clients in self.watchers.items():
            if db_id != db.id:
                continue
            exists_now = key in db.data
            for client in clients:
                watched = client.watched[(db_id, key)]
                if self._replacement_is_a_change(watched, db, key, exists_now):
                    dirty.append(client)
                else:
                    watched.exists = exists_now
        for client in dirty:
            self._mark_dirty(client)

    @staticmethod
    def _replacement_is_a_change(watched: WatchedKey, db: Database, key: bytes, exists_now: bool) -> bool:
        if not (watched.exists or exists_now):
            return False  # absent before and after
        if watched.expired:
            if not exists_now:
                watched.expired = False  # the expired key is gone: no logical change
                return False
            return not key_is_expired(db, key)  # still expired: no change either
        if not watched.exists and key_is_expired(db, key):
            watched.expired = True  # a missing key was replaced by an already expired one
            return False
        return True

    @staticmethod
    def expired_since_watch(client: Client) -> bool:
        """A watched key that expired after WATCH counts as changed at EXEC time, even if it
        was not deleted yet (Redis's isWatchedKeyExpired); the check deletes nothing."""
        dbs = client.server.dbs
        for (db_id, key), watched in client.watched.items():
            if not watched.expired and key_is_expired(dbs[db_id], key):
                return True
        return False
