"""Pub/Sub delivery: channel, pattern and shard-channel subscriptions (Redis's pubsub.c).

Channels are global across databases. A message goes to the channel's subscribers first, then to
pattern subscribers, and is encoded once per protocol version however many clients receive it.
A message for the client whose command is running (it PUBLISHed to itself, or its own write
raised a keyspace event) is held back until that command's reply has been written, as Redis 7.2
does, so it can never land inside the reply (an EXEC array, say); tracking invalidations for
that client are held the same way and go first. `client-output-buffer-limit pubsub <hard> <soft>
<seconds>` disconnects a subscriber whose unsent output reaches the hard limit, or stays at or
above the soft limit for longer than the soft time, so one stuck consumer cannot exhaust memory.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from ..config import output_buffer_limits
from ..keyspace.glob import Matcher, glob_matcher
from ..protocol.encoder import Push, encode

if TYPE_CHECKING:
    from .app import Server
    from .client import Client

log = logging.getLogger("ember")

MESSAGE = b"message"
PMESSAGE = b"pmessage"
SMESSAGE = b"smessage"
OUTPUT_LIMIT_DIRECTIVE = "client-output-buffer-limit"


def push_heads(kind: bytes, length: int) -> dict[int, bytes]:
    """The wire form of a push of `length` elements up to its kind (a message, a subscription
    confirmation), by RESP version: a push in RESP3, an array in RESP2. The bulks after it are
    the same in both."""
    rest = b"%d\r\n$%d\r\n%b\r\n" % (length, len(kind), kind)
    return {2: b"*" + rest, 3: b">" + rest}


_PUSH_HEADS = {MESSAGE: push_heads(MESSAGE, 3), PMESSAGE: push_heads(PMESSAGE, 4),
               SMESSAGE: push_heads(SMESSAGE, 3)}
BULK = b"$%d\r\n%b\r\n"
TWO_BULKS = BULK * 2  # channel and message, formatted at once


def push_frames(kind: bytes, bulks: bytes) -> dict[int, bytes]:
    """encode(Push([kind, *fields]), resp) for RESP2 and RESP3, from the fields already
    formatted as bulks; no generic encoder. Both versions at once: the extra copy of the
    message costs less than choosing a version per subscriber, and no more than one of the
    socket writes that deliver it."""
    heads = _PUSH_HEADS[kind]
    return {2: heads[2] + bulks, 3: heads[3] + bulks}


Subscribers = dict["Client", None]  # insertion-ordered set of clients


class PubSub:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.channels: dict[bytes, Subscribers] = {}
        self.shard_channels: dict[bytes, Subscribers] = {}
        self.patterns: dict[bytes, Subscribers] = {}
        self._matchers: dict[bytes, Matcher] = {}
        # Pushes held back until the running command has replied: (client, encoded-later push).
        self.deferred: list[tuple[Client, Push]] = []
        self._flush_scheduled = False
        self._unflushed: dict[Client, None] = {}  # clients with deliveries not written out yet
        self.limits = (0, 0, 0)  # pubsub class: hard bytes, soft bytes, soft seconds
        self.limits_on = False
        config = server.config
        if OUTPUT_LIMIT_DIRECTIVE in config:
            self._configure_limits(config[OUTPUT_LIMIT_DIRECTIVE])
            config.on_change(OUTPUT_LIMIT_DIRECTIVE, self._configure_limits)

    def _configure_limits(self, text: str) -> None:
        self.limits = output_buffer_limits(text).get("pubsub", (0, 0, 0))
        self.limits_on = any(self.limits[:2])

    # -- subscriptions ------------------------------------------------------------------------

    def subscribe(self, client: Client, channel: bytes) -> None:
        _add(self.channels, client.channels, client, channel)

    def unsubscribe(self, client: Client, channel: bytes) -> None:
        _remove(self.channels, client.channels, client, channel)

    def ssubscribe(self, client: Client, channel: bytes) -> None:
        _add(self.shard_channels, client.shard_channels, client, channel)

    def sunsubscribe(self, client: Client, channel: bytes) -> None:
        _remove(self.shard_channels, client.shard_channels, client, channel)

    def psubscribe(self, client: Client, pattern: bytes) -> None:
        if pattern not in self.patterns:
            self._matchers[pattern] = glob_matcher(pattern)
        _add(self.patterns, client.patterns, client, pattern)

    def punsubscribe(self, client: Client, pattern: bytes) -> None:
        _remove(self.patterns, client.patterns, client, pattern)
        if pattern not in self.patterns:
            self._matchers.pop(pattern, None)

    def unsubscribe_everything(self, client: Client) -> None:
        """Disconnect and RESET: drop every subscription without confirmations."""
        for channel in list(client.channels):
            self.unsubscribe(client, channel)
        for channel in list(client.shard_channels):
            self.sunsubscribe(client, channel)
        for pattern in list(client.patterns):
            self.punsubscribe(client, pattern)

    def client_closed(self, client: Client) -> None:
        self.unsubscribe_everything(client)

    # -- delivery -----------------------------------------------------------------------------

    def publish(self, channel: bytes, message: bytes) -> int:
        """Deliver to channel and pattern subscribers; the number of deliveries made."""
        subscribers = self.channels.get(channel)
        if not subscribers and not self.patterns:
            return 0
        received = 0
        bulks = TWO_BULKS % (len(channel), channel, len(message), message)
        if subscribers:
            received += self._deliver_all(list(subscribers), MESSAGE, (channel, message), bulks)
        if self.patterns:
            matching = [(pattern, list(clients)) for pattern, clients in self.patterns.items()
                        if self._matchers[pattern](channel)]
            for pattern, clients in matching:
                received += self._deliver_all(clients, PMESSAGE, (pattern, channel, message),
                                              BULK % (len(pattern), pattern) + bulks)
        return received

    def spublish(self, channel: bytes, message: bytes) -> int:
        subscribers = self.shard_channels.get(channel)
        if not subscribers:
            return 0
        return self._deliver_all(list(subscribers), SMESSAGE, (channel, message),
                                 TWO_BULKS % (len(channel), channel, len(message), message))

    def _deliver_all(self, clients: list[Client], kind: bytes, fields: tuple[bytes, ...], bulks: bytes) -> int:
        """Send the push [kind, *fields] (bulks: the fields' wire form) to each client: it is
        built once, and each delivery only queues it for the client's write at the end of the
        loop turn (write())."""
        frames = push_frames(kind, bulks)
        executing = self.executing_client()
        unflushed = self._unflushed
        idle = not unflushed
        for client in clients:
            if client is executing:
                self.defer(client, Push([kind, *fields]))
            elif not client.closed:
                client.out.append(frames[client.resp])
                unflushed[client] = None
        if idle and unflushed:
            self._schedule(self._flush_clients)
        return len(clients)

    def write_now(self, client: Client, message: Push) -> None:
        """One push to one client at once (tracking decides itself what to hold back)."""
        self.write(client, encode(message, client.resp))

    def write(self, client: Client, data: bytes) -> None:
        """Queue data behind whatever the client has not been sent yet; the socket write happens
        once per client per event-loop turn (like Redis's beforeSleep), however many messages
        a pipelined burst of PUBLISHes produced."""
        if client.closed:
            return
        client.out.append(data)
        if client not in self._unflushed:
            self._unflushed[client] = None
            if len(self._unflushed) == 1:
                self._schedule(self._flush_clients)

    def _flush_clients(self) -> None:
        unflushed, self._unflushed = self._unflushed, {}
        limits_on = self.limits_on
        eviction = self.server.client_eviction
        for client in unflushed:
            client.flush()
            # The pubsub class is for subscribers; a client that only gets invalidations is "normal".
            if limits_on and (client.channels or client.patterns or client.shard_channels):
                self._enforce_output_limit(client)
            if eviction.limit:
                eviction.update(client)

    def _schedule(self, callback) -> None:
        loop = self.server.loop
        if loop is None:  # no event loop (embedded use): nothing to batch with
            callback()
        else:
            loop.call_soon(callback)

    # -- pushes held back until the running command has replied ------------------------------

    def executing_client(self) -> Client | None:
        """The client whose command is running (a script's caller while it runs)."""
        run = self.server.scripts.run
        return run.caller if run is not None else self.server.current_client

    def defer(self, client: Client, message: Push) -> None:
        self.deferred.append((client, message))
        self.schedule_flush()

    def schedule_flush(self) -> None:
        """Send held-back pushes once the running command's reply is out (next loop turn)."""
        if not self._flush_scheduled:
            self._flush_scheduled = self.server.loop is not None
            self._schedule(self.flush_deferred)

    def flush_deferred(self) -> None:
        """Held-back tracking invalidations, then Pub/Sub messages (Redis's afterCommand), then
        the BCAST invalidations of this loop turn (Redis's beforeSleep)."""
        self._flush_scheduled = False
        tracking = self.server.tracking
        tracking.flush_pending()
        if self.deferred:
            deferred, self.deferred = self.deferred, []
            for client, message in deferred:
                self.write(client, encode(message, client.resp))
        tracking.broadcast()

    # -- output buffer limit ------------------------------------------------------------------

    def _enforce_output_limit(self, client: Client) -> None:
        transport = client.transport
        if transport is None or client.closed:
            return
        hard, soft, soft_seconds = self.limits
        pending = transport.get_write_buffer_size()
        over_soft_too_long = False
        if soft and pending >= soft:
            now = time.monotonic()
            if not client.soft_limit_since:
                client.soft_limit_since = now
                self._recheck_later(client, soft_seconds)
            else:
                over_soft_too_long = now - client.soft_limit_since > soft_seconds
        else:
            client.soft_limit_since = 0.0
        if (hard and pending >= hard) or over_soft_too_long:
            log.warning("Client %s scheduled to be closed ASAP for overcoming of output buffer limits.",
                        client.info_line())
            self.server.stats.client_output_buffer_limit_disconnections += 1
            transport.abort()
            client.close()

    def _recheck_later(self, client: Client, soft_seconds: int) -> None:
        """A subscriber over the soft limit is cut once the grace time is over even when no more
        messages come (Redis checks from its clients cron)."""
        loop = self.server.loop
        if loop is not None:
            loop.call_later(soft_seconds + 0.05, self._enforce_output_limit, client)


def _add(table: dict[bytes, Subscribers], own: set[bytes], client: Client, name: bytes) -> None:
    """Subscribe client to name in table (channels, shard channels or patterns)."""
    if name not in own:
        own.add(name)
        table.setdefault(name, {})[client] = None


def _remove(table: dict[bytes, Subscribers], own: set[bytes], client: Client, name: bytes) -> None:
    if name in own:
        own.discard(name)
        clients = table[name]
        del clients[client]
        if not clients:
            del table[name]
