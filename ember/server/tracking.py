"""Client-side caching support: CLIENT TRACKING invalidations (Redis's tracking.c).

Default mode remembers, per key name (across databases, as Redis), which tracking clients read it
through a read-only command; the first change to that key sends each of them one invalidation and
forgets them. OPTIN/OPTOUT narrow what is remembered through CLIENT CACHING; NOLOOP skips changes
made by the client itself. BCAST mode remembers nothing per key: each prefix collects the keys
changed under it, and once per event-loop turn every client of the prefix gets them as one array.

Invalidations go to the client itself as a RESP3 push `invalidate [keys]`, or with REDIRECT to
another connection: a RESP3 push there, or, for a RESP2 connection in Pub/Sub mode, a message on
the `__redis__:invalidate` channel. When the redirect target has gone, the tracking client gets a
`tracking-redir-broken` push instead (RESP3 only) and TRACKINGINFO reports `broken_redirect`.
A flush sends a null invalidation meaning "everything". Invalidations for the client whose
command is running wait until its reply is written, as in Redis 7.2.
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
REDIRECT_BROKEN = b"tracking-redir-broken"
MAX_KEYS_DIRECTIVE = "tracking-table-max-keys"


class TrackingState:
    """One client's CLIENT TRACKING options (Redis's CLIENT_TRACKING_* flags)."""

    __slots__ = ("redirect", "bcast", "optin", "optout", "noloop", "prefixes", "caching",
                 "broken_redirect")

    def __init__(self, redirect: int = 0, bcast: bool = False, optin: bool = False,
                 optout: bool = False, noloop: bool = False, prefixes: list[bytes] | None = None) -> None:
        self.redirect = redirect
        self.bcast = bcast
        self.optin = optin
        self.optout = optout
        self.noloop = noloop
        self.prefixes: list[bytes] = prefixes or []  # kept sorted, as Redis's radix tree lists them
        self.caching = False  # CLIENT CACHING given for the next command (or transaction)
        self.broken_redirect = False  # an invalidation found the redirect target gone

    def flags(self) -> list[bytes]:
        """TRACKINGINFO's flags, in Redis's order."""
        names = [b"on"]
        if self.bcast:
            names.append(b"bcast")
        for mode, enabled, caching in ((b"optin", self.optin, b"caching-yes"),
                                       (b"optout", self.optout, b"caching-no")):
            if enabled:
                names.append(mode)
                if self.caching:
                    names.append(caching)
        if self.noloop:
            names.append(b"noloop")
        if self.broken_redirect:
            names.append(b"broken_redirect")
        return names

    def remembers_reads(self) -> bool:
        """Whether the read-only command that just ran may be cached (default mode only)."""
        if self.bcast:
            return False
        if self.optin:
            return self.caching
        return not (self.optout and self.caching)


class Prefix:
    """A BCAST prefix: its clients, and the keys changed under it since the last broadcast
    (each with the client that changed it last, for NOLOOP)."""

    __slots__ = ("clients", "changed")

    def __init__(self) -> None:
        self.clients: dict[Client, None] = {}
        self.changed: dict[bytes, Client | None] = {}


class Tracking:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.readers: dict[bytes, set[int]] = {}  # key -> ids of clients that may cache it
        self.prefixes: dict[bytes, Prefix] = {}
        self.tracking_clients = 0
        # Invalidations held for the client whose command is running (key None: everything).
        self.pending: list[tuple[Client, bytes | None]] = []
        self._broadcast_due = False
        self._last_flush_command = -1  # FLUSHALL flushes every db but sends one null

    # -- switching tracking on and off --------------------------------------------------------

    def enable(self, client: Client, state: TrackingState, new_prefixes: list[bytes]) -> None:
        """CLIENT TRACKING ON: state replaces the options; BCAST prefixes accumulate."""
        if client.tracking is None:
            self.tracking_clients += 1
            if self.tracking_clients == 1:
                self.server.watch_keys(self._key_changed, True)
        else:
            state.prefixes = client.tracking.prefixes
            state.caching = client.tracking.caching
        client.tracking = state
        if state.bcast:
            for prefix in new_prefixes or [b""]:
                self._add_prefix(client, state, prefix)

    def _add_prefix(self, client: Client, state: TrackingState, prefix: bytes) -> None:
        entry = self.prefixes.get(prefix)
        if entry is None:
            entry = self.prefixes[prefix] = Prefix()
        if client not in entry.clients:
            entry.clients[client] = None
            state.prefixes.append(prefix)
            state.prefixes.sort()

    def disable(self, client: Client) -> None:
        state = client.tracking
        if state is None:
            return
        for prefix in state.prefixes:
            entry = self.prefixes.get(prefix)
            if entry is not None:
                entry.clients.pop(client, None)
                if not entry.clients:
                    del self.prefixes[prefix]
        client.tracking = None
        self.tracking_clients -= 1
        if not self.tracking_clients:
            # Nobody left to invalidate: a new tracking client starts clean. (Redis keeps the keys,
            # counted by INFO tracking_total_keys, until they change or FLUSHALL.)
            self.readers.clear()
            self.server.watch_keys(self._key_changed, False)

    def client_closed(self, client: Client) -> None:
        self.disable(client)

    # -- remembering reads --------------------------------------------------------------------

    def remember_keys(self, client: Client, keys: list[bytes]) -> None:
        """After a read-only command of a tracking client: it may now cache these keys."""
        state = client.tracking
        if state is None:
            return
        remember = state.remembers_reads()
        if not client.in_exec:
            state.caching = False  # CLIENT CACHING covers one command, or one whole EXEC
        if not remember or not keys:
            return
        readers = self.readers
        for key in keys:
            ids = readers.get(key)
            if ids is None:
                readers[key] = {client.id}
            else:
                ids.add(client.id)
        self._limit_table()

    def transaction_done(self, client: Client) -> None:
        """EXEC finished: the CLIENT CACHING given before MULTI is used up."""
        if client.tracking is not None:
            client.tracking.caching = False

    def _limit_table(self) -> None:
        """tracking-table-max-keys: past it, forget the oldest keys, invalidating them as if they
        had changed, so their readers do not keep serving values nobody tracks any more."""
        limit = self.server.config[MAX_KEYS_DIRECTIVE]
        while limit and len(self.readers) > limit:
            key = next(iter(self.readers))
            self._invalidate_readers(key, None)

    # -- invalidating -------------------------------------------------------------------------

    def _key_changed(self, db: Database, key: bytes | None) -> None:
        if key is None:
            self._invalidate_all()
            return
        changed_by = self.server.pubsub.executing_client()
        if self.prefixes:
            self._note_for_broadcast(key, changed_by)
        if key in self.readers:
            self._invalidate_readers(key, changed_by)

    def _invalidate_readers(self, key: bytes, changed_by: Client | None) -> None:
        clients = self.server.clients
        executing = self.server.pubsub.executing_client()
        for client_id in self.readers.pop(key):
            client = clients.get(client_id)
            state = client.tracking if client is not None else None
            if state is None or state.bcast:
                continue  # gone, tracking off, or switched to BCAST since it read the key
            if state.noloop and client is changed_by:
                continue
            if client is executing:
                self._hold(client, key)  # until the running command has replied
            else:
                self.send(client, [key])

    def _invalidate_all(self) -> None:
        """FLUSHDB/FLUSHALL (and SWAPDB): every tracking client drops its whole cache, once per
        command however many databases it emptied."""
        self.readers.clear()
        command_number = self.server.stats.total_commands_processed
        if command_number == self._last_flush_command:
            return
        self._last_flush_command = command_number
        executing = self.server.pubsub.executing_client()
        for client in list(self.server.clients.values()):
            if client.tracking is None:
                continue
            if client is executing:
                self._hold(client, None)
            else:
                self.send(client, None)

    def _hold(self, client: Client, key: bytes | None) -> None:
        self.pending.append((client, key))
        self.server.pubsub.schedule_flush()

    def flush_pending(self) -> None:
        """Invalidations held for the client whose command ran: one message each, in order."""
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        for client, key in pending:
            if not client.closed and client.tracking is not None:
                self.send(client, None if key is None else [key])

    # -- BCAST --------------------------------------------------------------------------------

    def _note_for_broadcast(self, key: bytes, changed_by: Client | None) -> None:
        for prefix, entry in self.prefixes.items():
            if key.startswith(prefix):
                entry.changed[key] = changed_by
                self._broadcast_due = True
        if self._broadcast_due:
            self.server.pubsub.schedule_flush()

    def broadcast(self) -> None:
        """Send each BCAST client the keys changed under its prefixes (sorted, as Redis's radix
        tree orders them); NOLOOP clients do not hear about their own changes."""
        if not self._broadcast_due:
            return
        self._broadcast_due = False
        for entry in list(self.prefixes.values()):
            if not entry.changed:
                continue
            changed, entry.changed = entry.changed, {}
            keys = sorted(changed)
            for client in list(entry.clients):
                state = client.tracking
                if state is None:
                    continue
                if state.noloop:
                    own = [key for key in keys if changed[key] is not client]
                    if own:
                        self.send(client, own)
                else:
                    self.send(client, keys)

    # -- sending ------------------------------------------------------------------------------

    def send(self, client: Client, keys: list[bytes] | None) -> None:
        """One invalidation (keys None: everything) for a tracking client, wherever it goes."""
        state = client.tracking
        pubsub = self.server.pubsub
        target = client
        if state is not None and state.redirect:
            target = self.server.clients.get(state.redirect)
            if target is None or target.closed:
                state.broken_redirect = True
                if client.resp == 3:
                    pubsub.write_now(client, Push([REDIRECT_BROKEN, state.redirect]))
                return
        if target.resp == 3:
            pubsub.write_now(target, Push([INVALIDATE, keys]))
        elif state is not None and state.redirect and (target.channels or target.patterns or target.shard_channels):
            pubsub.write_now(target, Push([b"message", INVALIDATION_CHANNEL, keys]))
        # A RESP2 connection without redirection has no way to receive pushes: nothing is sent.
