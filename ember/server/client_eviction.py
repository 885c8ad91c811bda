"""maxmemory-clients: when the connections together hold more memory than the limit, the ones
holding the most are disconnected (Redis 7's client eviction).

A connection's memory is what it holds outside the keyspace: bytes received and not parsed into
commands yet (a large argument still arriving), replies not written yet (a slow reader, a
subscriber falling behind), and a fixed amount for the connection itself. Redis counts the same
things from its allocator. The total is kept as each client's figure changes: after its reads,
after Pub/Sub writes to it, and for every client in the cron. Past the limit, clients are
disconnected from the largest down, CLIENT NO-EVICT ones excepted, until the total fits.
With maxmemory-clients 0 (the default) nothing here runs.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .app import Server
    from .client import Client

log = logging.getLogger("ember")

# A connection's own share: about what Redis's client structure and its 16 KB reply buffer take
# (an idle Redis connection shows tot-mem of 20-40 KB in CLIENT LIST, most of it buffers).
CONNECTION_BYTES = 20 * 1024


def pending_output(client: Client) -> int:
    """Reply bytes not written to the socket yet (CLIENT LIST omem)."""
    transport = client.transport
    queued = transport.get_write_buffer_size() if transport is not None and not client.closed else 0
    return queued + sum(map(len, client.out))


def client_memory(client: Client) -> int:
    """What the connection holds (CLIENT LIST tot-mem)."""
    return CONNECTION_BYTES + client.query_buffer + pending_output(client)


class ClientEviction:
    """The total memory of the connections, and the eviction past maxmemory-clients."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.limit = 0  # bytes; 0: off
        self.total = 0  # the sum of the clients' counted figures (Client.memory_counted)
        for name in ("maxmemory-clients", "maxmemory"):
            server.config.on_change(name, lambda _value: self.configure())
        self.configure()

    def configure(self) -> None:
        """The limit in bytes: a size, or a percentage of maxmemory (stored negative; none
        while maxmemory is 0)."""
        config = self.server.config
        value = config["maxmemory-clients"]
        self.limit = value if value >= 0 else config["maxmemory"] * -value // 100
        self.recount()

    def cron(self) -> None:
        if self.limit:
            self.recount()

    def recount(self) -> None:
        """Measure every client again (the cron, and a new limit) and evict if over."""
        total = 0
        for client in self.server.clients.values():
            client.memory_counted = client_memory(client) if self.limit else 0
            total += client.memory_counted
        self.total = total
        self._evict_if_over()

    def update(self, client: Client) -> None:
        """client's figure changed (it read, or was written to): count it and evict if over."""
        if client.closed:
            return
        usage = client_memory(client)
        self.total += usage - client.memory_counted
        client.memory_counted = usage
        self._evict_if_over()

    def forget(self, client: Client) -> None:
        self.total -= client.memory_counted
        client.memory_counted = 0

    def _evict_if_over(self) -> None:
        if not self.limit or self.total <= self.limit:
            return
        candidates = sorted((c for c in self.server.clients.values() if not c.no_evict),
                            key=lambda c: c.memory_counted, reverse=True)
        for client in candidates:
            if self.total <= self.limit:
                return
            log.info("Evicting client: %s", client.info_line())
            self.server.stats.evicted_clients += 1
            if client.transport is not None:
                client.transport.abort()  # its pending output goes too: that is what is freed
            client.close()  # (Server.client_closed takes its figure off the total)
