"""CONFIG GET / SET / RESETSTAT / REWRITE / HELP.

The directive table, value parsing and the rewrite algorithm live in ember/config.py; this
module is the command surface plus the runtime actions some settings need when CONFIG SET
changes them (listening on a new port or address, the log level). As in Redis, CONFIG SET is
all or nothing: a value that does not parse, or an action that fails, restores every value the
command had already set.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..config import DIRECTIVE_INDEX, ConfigError, ConfigSetError
from ..protocol.errors import SYNTAX, CommandError
from .connection import REDACTED
from .server_admin import declare_help, is_local_client
from .table import TABLE, command, container

if TYPE_CHECKING:
    from ..server.app import Server
    from ..server.client import Client

log = logging.getLogger("ember")

GROUP = "server"
FLAGS = "admin noscript loading stale"

container("config", -2, group=GROUP, since="2.0.0", summary="A container for server configuration commands.")


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


@command("config|get", -3, flags=FLAGS, group=GROUP, since="2.0.0",
         summary="Returns the effective values of configuration parameters.", complexity="O(N) when N is the "
         "number of configuration parameters provided")
def config_get(client: Client, args: list[bytes]):
    matches = client.server.config.get_many(_decode(pattern) for pattern in args[2:])
    return {_encode(name): _encode(value) for name, value in matches.items()}


@command("config|set", -4, flags=FLAGS, group=GROUP, since="2.0.0",
         summary="Sets configuration parameters in-flight.",
         complexity="O(N) when N is the number of configuration parameters provided")
def config_set(client: Client, args: list[bytes]):
    if len(args) % 2:
        raise CommandError(SYNTAX)
    pairs = [(_decode(args[i]), _decode(args[i + 1])) for i in range(2, len(args), 2)]
    _redact_sensitive_values(args)
    server = client.server
    try:
        server.config.set_many(pairs, protected_allowed=_protected_configs_allowed(client),
                               loading=bool(getattr(server, "loading", False)),
                               appliers=_runtime_appliers(server))
    except ConfigSetError as err:
        raise CommandError(err.text) from None
    for name, _ in pairs:
        if not DIRECTIVE_INDEX[name.lower()].acted_on:
            log.info("CONFIG SET %s: accepted, but Ember does not act on this setting yet", name)
    return "OK"


def _redact_sensitive_values(args: list[bytes]) -> None:
    """Passwords never reach SLOWLOG or MONITOR (Redis's redactClientCommandArgument)."""
    for index in range(2, len(args) - 1, 2):
        directive = DIRECTIVE_INDEX.get(_decode(args[index]).lower())
        if directive is not None and directive.sensitive:
            args[index + 1] = REDACTED


def _protected_configs_allowed(client: Client) -> bool:
    setting = client.server.config["enable-protected-configs"]
    return setting == "yes" or (setting == "local" and is_local_client(client))


@command("config|resetstat", 2, flags=FLAGS, group=GROUP, since="2.0.0",
         summary="Resets the server's statistics.", complexity="O(1)")
def config_resetstat(client: Client, args: list[bytes]):
    """Server counters, per-command and per-error statistics; like Redis, not the slow log."""
    client.server.stats.reset()
    client.server.memory.reset_exceeded_time()
    for cmd in TABLE.commands.values():
        cmd.reset_stats()
    return "OK"


@command("config|rewrite", 2, flags=FLAGS, group=GROUP, since="2.8.0",
         summary="Persists the effective configuration to file.", complexity="O(1)")
def config_rewrite(client: Client, args: list[bytes]):
    config = client.server.config
    if config.config_file is None:
        raise CommandError("ERR The server is running without a config file")
    try:
        config.rewrite()
    except OSError as err:
        reason = os.strerror(err.errno) if err.errno else str(err)
        log.warning("CONFIG REWRITE failed: %s", reason)
        raise CommandError(f"ERR Rewriting config file: {reason}") from None
    log.warning("CONFIG REWRITE executed with success.")
    return "OK"


declare_help("config", (
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
), since="5.0.0")


# -- what some settings need done when CONFIG SET changes them ------------------------------------


def _runtime_appliers(server: Server) -> dict[str, Callable[[], None]]:
    """Directive name -> action run after CONFIG SET stored the new values (each action once)."""

    def listen_on_port() -> None:
        _relisten(server, "Unable to listen on this port. Check server logs.")

    def listen_on_addresses() -> None:
        _relisten(server, "Failed to bind to specified addresses.")

    def set_log_level() -> None:
        from ..server.main import LOG_LEVELS

        logging.getLogger("ember").setLevel(LOG_LEVELS[server.config["loglevel"]])

    def switch_append_only() -> None:
        from ..persistence import aof

        aof.apply_appendonly(server)

    return {"port": listen_on_port, "bind": listen_on_addresses, "loglevel": set_log_level,
            "appendonly": switch_append_only}


def _relisten(server: Server, failure: str) -> None:
    """Close the listening sockets and listen on the configured `bind` addresses and `port`.
    On failure nothing listens; CONFIG SET's rollback then runs this again with the old values."""
    if server.loop is None:  # not serving (embedded in tests): nothing to move
        return
    for listener in server.listeners:
        listener.close()
    server.listeners = []
    port = server.config["port"]
    try:
        sockets = open_listening_sockets(server.config["bind"].split(), port, server.config["tcp-backlog"])
    except OSError as err:
        log.warning("Failed listening on port %d (tcp): %s", port, err)
        raise ConfigError(failure) from None
    server.tcp_port = port
    for sock in sockets:
        asyncio.ensure_future(_serve_socket(server, sock))


async def _serve_socket(server: Server, sock: socket.socket) -> None:
    from ..server.network import ClientProtocol

    assert server.loop is not None
    listener = await server.loop.create_server(lambda: ClientProtocol(server), sock=sock)
    server.listeners.append(listener)


def open_listening_sockets(addresses: list[str], port: int, backlog: int) -> list[socket.socket]:
    """Bound, listening sockets for `bind` addresses ('-' marks an address that may be missing,
    '*' is every IPv4 address, '::*' every IPv6 one). Port 0 means no TCP listener."""
    sockets: list[socket.socket] = []
    if port == 0:
        return sockets
    try:
        for address in addresses:
            optional = address.startswith("-")
            host = address.lstrip("-")
            host = "0.0.0.0" if host == "*" else ("::" if host == "::*" else host)
            try:
                sockets.append(_listening_socket(host, port, backlog))
            except OSError:
                if not optional:
                    raise
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    family, kind, proto, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                          flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(sockaddr)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock
