"""Pub/Sub delivery: channel, pattern and shard-channel subscriptions (Redis's pubsub.c).

Channels are global across databases. A message goes to channel subscribers first, then to
pattern subscribers in subscription order, as Redis does. Delivery writes to the subscriber's
transport at once; `client-output-buffer-limit pubsub <hard> <soft> <seconds>` then disconnects a
subscriber whose unsent output passes the hard limit, or stays above the soft limit for longer
than the soft time, so one stuck consumer cannot exhaust the server's memory.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..protocol.encoder import Push

if TYPE_CHECKING:
    from .app import Server
    from .client import Client

log = logging.getLogger("ember")

MESSAGE = b"message"
PMESSAGE = b"pmessage"
SMESSAGE = b"smessage"


class PubSub:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.channels: dict[bytes, dict[Client, None]] = {}
        self.shard_channels: dict[bytes, dict[Client, None]] = {}
        self.patterns: dict[bytes, dict[Client, None]] = {}
        self._matchers: dict[bytes, Callable[[bytes], bool]] = {}

    # -- subscriptions ------------------------------------------------------------------------

    def subscribe(self, client: Client, channel: bytes, shard: bool = False) -> bool:
        """Add a subscription; False if the client already had it."""
        own = client.shard_channels if shard else client.channels
        if channel in own:
            return False
        own.add(channel)
        table = self.shard_channels if shard else self.channels
        table.setdefault(channel, {})[client] = None
        return True

    def unsubscribe(self, client: Client, channel: bytes, shard: bool = False) -> bool:
        own = client.shard_channels if shard else client.channels
        if channel not in own:
            return False
        own.discard(channel)
        table = self.shard_channels if shard else self.channels
        _drop(table, channel, client)
        return True

    def psubscribe(self, client: Client, pattern: bytes) -> bool:
        if pattern in client.patterns:
            return False
        clients = self.patterns.get(pattern)
        if clients is None:
            from ..keyspace.glob import glob_matcher

            self._matchers[pattern] = glob_matcher(pattern)
            clients = self.patterns[pattern] = {}
        clients[client] = None
        client.patterns.add(pattern)
        return True

    def punsubscribe(self, client: Client, pattern: bytes) -> bool:
        if pattern not in client.patterns:
            return False
        client.patterns.discard(pattern)
        _drop(self.patterns, pattern, client)
        if pattern not in self.patterns:
            del self._matchers[pattern]
        return True

    def client_closed(self, client: Client) -> None:
        for channel in list(client.channels):
            self.unsubscribe(client, channel)
        for channel in list(client.shard_channels):
            self.unsubscribe(client, channel, shard=True)
        for pattern in list(client.patterns):
            self.punsubscribe(client, pattern)

    # -- delivery -----------------------------------------------------------------------------

    def publish(self, channel: bytes, message: bytes) -> int:
        """Deliver to channel and pattern subscribers; the number of clients that received it."""
        received = 0
        for client in list(self.channels.get(channel, ())):
            self.deliver(client, Push([MESSAGE, channel, message]))
            received += 1
        if self.patterns:
            for pattern, clients in list(self.patterns.items()):
                if self._matchers[pattern](channel):
                    for client in list(clients):
                        self.deliver(client, Push([PMESSAGE, pattern, channel, message]))
                        received += 1
        return received

    def spublish(self, channel: bytes, message: bytes) -> int:
        clients = list(self.shard_channels.get(channel, ()))
        for client in clients:
            self.deliver(client, Push([SMESSAGE, channel, message]))
        return len(clients)

    def deliver(self, client: Client, message: Push) -> None:
        if client.closed:
            return
        client.send(message)
        self._enforce_output_limit(client)

    def _enforce_output_limit(self, client: Client) -> None:
        if client.transport is None:
            return
        pending = client.transport.get_write_buffer_size()
        hard, soft, soft_seconds = self.server.output_buffer_limit("pubsub")
        if not pending:
            client.soft_limit_since = 0.0
            return
        over_soft = soft and pending > soft
        if over_soft and not client.soft_limit_since:
            client.soft_limit_since = time.monotonic()
        too_long = over_soft and time.monotonic() - client.soft_limit_since > soft_seconds
        if (hard and pending > hard) or too_long:
            log.warning("Client id=%d addr=%s scheduled to be closed ASAP for overcoming of output buffer limits.",
                        client.id, client.addr)
            self.server.stats.client_output_buffer_limit_disconnections += 1
            client.transport.abort()
            client.close()

    # -- introspection ------------------------------------------------------------------------

    def subscription_count(self, client: Client) -> int:
        """What (P)SUBSCRIBE replies report: channels plus patterns (shard channels separately)."""
        return len(client.channels) + len(client.patterns)


def _drop(table: dict[bytes, dict[Client, None]], name: bytes, client: Client) -> None:
    clients = table.get(name)
    if clients is not None:
        clients.pop(client, None)
        if not clients:
            del table[name]
