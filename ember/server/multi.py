"""Transactions: MULTI queues, EXEC, and WATCH (Redis's multi.c).

A client in MULTI gets its commands queued (the dispatcher does the queuing after the admission
checks, so a command that can't be run — unknown, wrong arity — flags the transaction and EXEC
answers EXECABORT). WATCH records (db, key) pairs; any change to such a key, from any client and
by any path that goes through the Database change hook (writes, expiry, eviction, FLUSHDB/ALL,
SWAPDB, RENAME, scripts), makes the watcher's EXEC fail with a null reply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..keyspace.database import Database
    from .app import Server
    from .client import Client


class Transaction:
    """The commands a client queued after MULTI."""

    __slots__ = ("queued", "failed")

    def __init__(self) -> None:
        self.queued: list[list[bytes]] = []
        self.failed = False  # a queued command was rejected: EXEC must abort


class WatchRegistry:
    """Which clients watch which keys; marks them dirty when a key changes."""

    def __init__(self, server: Server) -> None:
        self.watchers: dict[tuple[int, bytes], list[Client]] = {}
        for db in server.dbs:
            db.on_key_change.append(self._key_changed)

    def watch(self, client: Client, key: bytes) -> None:
        slot = (client.db.id, key)
        if slot in client.watched:
            return
        client.watched[slot] = client.db.expires.get(key)
        self.watchers.setdefault(slot, []).append(client)

    def unwatch_all(self, client: Client) -> None:
        for slot in client.watched:
            clients = self.watchers.get(slot)
            if clients is not None:
                clients.remove(client)
                if not clients:
                    del self.watchers[slot]
        client.watched.clear()
        client.watch_dirty = False

    def _key_changed(self, db: Database, key: bytes | None) -> None:
        watchers = self.watchers
        if not watchers:
            return
        if key is not None:
            for client in watchers.get((db.id, key), ()):
                client.watch_dirty = True
            return
        for (db_id, _key), clients in watchers.items():  # the whole db changed (FLUSHDB, SWAPDB)
            if db_id == db.id:
                for client in clients:
                    client.watch_dirty = True

    @staticmethod
    def expired_since_watch(client: Client) -> bool:
        """A watched key that has expired by EXEC time counts as changed, as in Redis 7."""
        server = client.server
        for (db_id, key) in client.watched:
            db = server.dbs[db_id]
            if key in db.data and db.lookup(key) is None:
                return True
        return False
