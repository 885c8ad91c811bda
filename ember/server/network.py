"""asyncio transport glue: accept connections, feed bytes to the parser, queue commands.

One `ClientProtocol` per connection. A read is parsed into commands that are queued on the
Client and run at once; the replies of the whole read leave in one transport.write().
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING

from ..protocol.encoder import encode
from ..protocol.errors import ProtocolError
from ..protocol.parser import RequestParser
from .app import quote_arg
from .client import Client, ReplyWriter

if TYPE_CHECKING:
    from .app import Server

log = logging.getLogger("ember")

MAX_CLIENTS_ERROR = b"-ERR max number of clients reached\r\n"


def _peer(sockname: object) -> str:
    if isinstance(sockname, tuple) and len(sockname) >= 2:
        host = sockname[0]
        return f"[{host}]:{sockname[1]}" if ":" in host else f"{host}:{sockname[1]}"
    return f"{sockname}:0"


def keep_alive(sock: socket.socket, interval: int) -> None:
    """tcp-keepalive as Redis sets it on a client's socket (anetKeepAlive): the first probe after
    `interval` idle seconds, then one every third of it, and the peer is dead after 3 unanswered.
    Where the platform lacks the timing options, the system's own timings apply; a refused
    option is ignored, as Redis ignores it, rather than costing the client its connection."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for option, value in (("TCP_KEEPIDLE", interval), ("TCP_KEEPINTVL", max(interval // 3, 1)),
                              ("TCP_KEEPCNT", 3)):
            if (number := getattr(socket, option, None)) is not None:
                sock.setsockopt(socket.IPPROTO_TCP, number, value)
    except OSError as error:
        log.debug("tcp-keepalive not set on a client's socket: %s", error)


class ClientProtocol(asyncio.Protocol):
    __slots__ = ("server", "client", "parser", "reply_writer")

    def __init__(self, server: Server, reply_writer: ReplyWriter | None = None) -> None:
        self.server = server
        self.client: Client | None = None
        self.parser = RequestParser(server.proto_max_bulk_len)
        self.reply_writer = reply_writer

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        server = self.server
        if len(server.clients) >= server.config["maxclients"]:
            server.stats.rejected_connections += 1
            transport.write(MAX_CLIENTS_ERROR)
            transport.close()
            return
        sock = transport.get_extra_info("socket")  # (None from a transport with no socket)
        if sock is not None and (interval := server.config["tcp-keepalive"]):
            keep_alive(sock, interval)
        client = Client(server, transport, _peer(transport.get_extra_info("peername")),
                        _peer(transport.get_extra_info("sockname")))
        self.client = client
        client.parser = self.parser
        client.reply_writer = self.reply_writer
        self.parser.authenticated = client.authenticated
        server.client_opened(client)

    def data_received(self, data: bytes) -> None:
        client = self.client
        if client is None or client.closed:
            return
        server = self.server
        stats = server.stats
        stats.total_net_input_bytes += len(data)
        stats.total_reads_processed += 1
        parser = self.parser
        if client.authenticated:
            parser.authenticated = True
            commands, error = parser.feed(data)
            if commands:
                client.pending.extend(commands)
                client.process()
        else:
            error = self._feed_unauthenticated(client, data)
        if client.closed:
            return
        if error is not None:
            self._protocol_error(client, error.reply)
            return
        if parser.buffer and parser.buffered > server.query_buffer_limit:
            # As Redis: no reply, just a log line with the client and the start of its buffer.
            log.warning("Closing client that reached max query buffer length: %s (qbuf initial bytes: %s)",
                        client.info_line(), quote_arg(parser.peek(64)))
            server.stats.client_query_buffer_limit_disconnections += 1
            client.close()
        elif server.client_eviction.limit:
            server.client_eviction.update(client)

    def _feed_unauthenticated(self, client: Client, data: bytes) -> ProtocolError | None:
        """Parse and run one command at a time while the client is not authenticated, so that an
        AUTH in a pipeline lifts the unauthenticated limits for the commands behind it, as in
        Redis. Returns the protocol error that ends the connection, if any."""
        parser = self.parser
        while True:
            parser.authenticated = authenticated = client.authenticated
            commands, error = parser.feed(data)
            data = b""
            if commands:
                client.pending.extend(commands)
                client.process()
            if client.closed or error is not None or authenticated or not commands or client.blocked:
                return error

    def _protocol_error(self, client: Client, reply: object) -> None:
        # Whatever is still queued behind a blocked command is dropped with the connection;
        # replies to the commands before the bad bytes go out first.
        client.pending.clear()
        client.flush()
        server = self.server
        server.stats.count_error("ERR")
        if client.transport is not None:
            client.transport.write(encode(reply, client.resp))
        client.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.client is not None and not self.client.closed:
            self.client.closed = True
            self.server.client_closed(self.client)


async def start_listeners(server: Server) -> None:
    """Listen on every address of `bind` (a leading '-' marks an optional address, as in Redis)."""
    loop = asyncio.get_running_loop()
    port = server.config["port"]
    if port == 0:
        return
    reply_writer = ReplyWriter(loop)
    for address in server.config["bind"].split():
        optional = address.startswith("-")
        host = address.lstrip("-")
        host = None if host == "*" else ("::" if host == "::*" else host)
        try:
            listener = await loop.create_server(
                lambda: ClientProtocol(server, reply_writer), host=host, port=port,
                backlog=server.config["tcp-backlog"], reuse_address=True,
            )
        except OSError as err:
            if optional:
                continue
            raise OSError(f"Failed listening on port {port} (tcp), aborting: {err}") from err
        server.listeners.append(listener)
    if server.listeners:
        bound = server.listeners[0].sockets[0].getsockname()
        server.tcp_port = bound[1]
