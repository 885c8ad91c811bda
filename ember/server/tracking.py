"""Client-side caching support: CLIENT TRACKING invalidations (Redis's tracking.c).

Default mode remembers, per key name, which tracking clients read it (keys of read-only commands);
the first change to that key sends each of them one invalidation and forgets them. BCAST mode
remembers nothing per key: every change to a key under a registered prefix is announced to the
clients of that prefix. OPTIN/OPTOUT narrow default mode through CLIENT CACHING; NOLOOP skips
changes made by the client itself. Invalidations go to the client itself as a RESP3 push
`invalidate [keys]`, or with REDIRECT to another connection: a RESP3 push, or for a RESP2 client
a message on the `__redis__:invalidate` Pub/Sub channel. A flush sends a null invalidation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..protocol.encoder import Push

if TYPE_CHECKING:
    from ..keyspace.database import Database
    from .app import Server
    from .client import Client

INVALIDATE = b"invalidate"
INVALIDATION_CHANNEL = b"__redis__:invalidate"


class TrackingState:
    """One client's CLIENT TRACKING options."""

    __slots__ = ("redirect", "bcast", "optin", "optout", "noloop", "prefixes", "caching")

    def __init__(self, redirect: int, bcast: bool, optin: bool, optout: bool, noloop: bool,
                 prefixes: list[bytes]) -> None:
        self.redirect = redirect
        self.bcast = bcast
        self.optin = optin
        self.optout = optout
        self.noloop = noloop
        self.prefixes = prefixes
        self.caching: bool | None = None  # CLIENT CACHING yes/no, valid for the next command only

    def flags(self) -> list[bytes]:
        names = [b"on"]
        for name, enabled in ((b"bcast", self.bcast), (b"optin", self.optin), (b"optout", self.optout),
                              (b"noloop", self.noloop)):
            if enabled:
                names.append(name)
        if self.caching is True:
            names.append(b"caching-yes")
        elif self.caching is False:
            names.append(b"caching-no")
        return names


class Tracking:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.readers: dict[bytes, set[int]] = {}  # key -> ids of clients that may cache it
        self.prefixes: dict[bytes, set[int]] = {}  # BCAST prefix -> client ids
        self.tracking_clients = 0
        for db in server.dbs:
            db.on_key_change.append(self._key_changed)

    def enable(self, client: Client, state: TrackingState) -> None:
        if client.tracking is None:
            self.tracking_clients += 1
        else:
            self._drop_prefixes(client)
        client.tracking = state
        if state.bcast:
            for prefix in state.prefixes or [b""]:
                self.prefixes.setdefault(prefix, set()).add(client.id)

    def disable(self, client: Client) -> None:
        if client.tracking is None:
            return
        self._drop_prefixes(client)
        client.tracking = None
        self.tracking_clients -= 1

    def _drop_prefixes(self, client: Client) -> None:
        for prefix in client.tracking.prefixes or [b""]:
            ids = self.prefixes.get(prefix)
            if ids is not None:
                ids.discard(client.id)
                if not ids:
                    del self.prefixes[prefix]

    def remember_keys(self, client: Client, keys: list[bytes]) -> None:
        """After a read-only command: the client may now cache these keys (default mode)."""
        state = client.tracking
        caching, state.caching = state.caching, None
        if state.bcast or (state.optin and caching is not True) or (state.optout and caching is False):
            return
        for key in keys:
            self.readers.setdefault(key, set()).add(client.id)

    def _key_changed(self, db: Database, key: bytes | None) -> None:
        if not self.tracking_clients:
            return
        current = self.server.current_client
        if key is None:
            self._invalidate_all()
            return
        readers = self.readers.pop(key, None)
        if readers:
            for client_id in readers:
                self._send(client_id, [key], current)
        for prefix, ids in self.prefixes.items():
            if key.startswith(prefix):
                for client_id in list(ids):
                    self._send(client_id, [key], current)

    def _invalidate_all(self) -> None:
        """FLUSHDB/FLUSHALL/SWAPDB: every tracking client drops its whole cache."""
        self.readers.clear()
        for client in list(self.server.clients.values()):
            if client.tracking is not None:
                self._send(client.id, None, None)

    def _send(self, client_id: int, keys: list[bytes] | None, changed_by: Client | None) -> None:
        client = self.server.clients.get(client_id)
        if client is None or client.tracking is None:
            return
        if client.tracking.noloop and changed_by is client:
            return
        target = client
        if client.tracking.redirect:
            target = self.server.clients.get(client.tracking.redirect)
            if target is None:
                return  # Redis sends tracking-redir-broken once; the redirect client is gone
        if target.resp == 3:
            target.send(Push([INVALIDATE, keys]))
        elif target.channels and INVALIDATION_CHANNEL in target.channels:
            target.send(Push([b"message", INVALIDATION_CHANNEL, keys]))

    def client_closed(self, client: Client) -> None:
        self.disable(client)
