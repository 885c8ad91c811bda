"""Connection commands: PING ECHO HELLO AUTH SELECT QUIT RESET and the CLIENT family."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from ..protocol.errors import OUT_OF_RANGE_DB, WRONGPASS, CommandError
from .table import command, parse_int

if TYPE_CHECKING:
    from ..server.client import Client

GROUP = "connection"


@command("ping", -1, flags="fast", acl="connection", group=GROUP, since="1.0.0",
         summary="Answers PONG, or echoes the optional message back.")
def ping(client: "Client", args: list[bytes]):
    if len(args) > 2:
        raise CommandError("ERR wrong number of arguments for 'ping' command")
    return args[1] if len(args) == 2 else "PONG"


@command("echo", 2, flags="fast", acl="connection", group=GROUP, since="1.0.0",
         summary="Replies with the given message.")
def echo(client: "Client", args: list[bytes]):
    return args[1]


@command("select", 2, flags="loading stale fast", acl="connection", group=GROUP, since="1.0.0",
         summary="Switches the connection to another numbered database.")
def select(client: "Client", args: list[bytes]):
    index = parse_int(args[1])
    if not 0 <= index < len(client.server.dbs):
        raise CommandError(OUT_OF_RANGE_DB)
    client.db = client.server.dbs[index]
    return "OK"


@command("quit", -1, flags="noscript loading stale fast no_auth allow_busy", acl="connection",
         group=GROUP, since="1.0.0", summary="Closes the connection after replying OK.")
def quit_(client: "Client", args: list[bytes]):
    client.close_after_reply = True
    return "OK"


def check_password(client: "Client", username: bytes, password: bytes) -> None:
    """Authenticate as `username` (only 'default' until ACL users exist) or raise WRONGPASS."""
    required = client.server.config["requirepass"].encode()
    if username != b"default" or not required or not hmac.compare_digest(password, required):
        if username == b"default" and not required:
            return  # the default user has nopass while requirepass is empty
        raise CommandError(WRONGPASS)
    client.authenticated = True
    client.user = "default"


@command("auth", -2, flags="noscript loading stale fast no_auth allow_busy", acl="connection",
         group=GROUP, since="1.0.0", summary="Authenticates the connection with a password or user and password.")
def auth(client: "Client", args: list[bytes]):
    if len(args) > 3:
        raise CommandError("ERR syntax error")
    if len(args) == 2 and not client.server.config["requirepass"]:
        raise CommandError(
            "ERR AUTH <password> called without any password configured for the default user. "
            "Are you sure your configuration is correct?")
    username, password = (b"default", args[1]) if len(args) == 2 else (args[1], args[2])
    check_password(client, username, password)
    return "OK"


@command("hello", -1, flags="noscript loading stale fast no_auth allow_busy", acl="connection",
         group=GROUP, since="6.0.0", summary="Negotiates the protocol version (2 or 3), optionally authenticating and naming the connection.")
def hello(client: "Client", args: list[bytes]):
    version = client.resp
    index = 1
    if len(args) > 1:
        try:
            version = parse_int(args[1])
        except CommandError:
            raise CommandError("ERR Protocol version is not an integer or out of range") from None
        if version not in (2, 3):
            raise CommandError("NOPROTO unsupported protocol version")
        index = 2
    name = None
    while index < len(args):
        option = args[index].lower()
        remaining = len(args) - index - 1
        if option == b"auth" and remaining >= 2:
            check_password(client, args[index + 1], args[index + 2])
            index += 3
        elif option == b"setname" and remaining >= 1:
            name = args[index + 1]
            index += 2
        else:
            raise CommandError(f"ERR Syntax error in HELLO option '{args[index].decode('utf-8', 'replace')}'")
    if not client.authenticated:
        raise CommandError("NOAUTH HELLO must be called with the client already authenticated, "
                           "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
                           "authenticate the client and select the RESP protocol version at the same time")
    if name is not None:
        validate_client_name(name)
        client.name = name
    client.resp = version
    server = client.server
    return {
        b"server": b"redis",
        b"version": server.redis_version.encode(),
        b"proto": version,
        b"id": client.id,
        b"mode": b"standalone",
        b"role": b"master",
        b"modules": [],
    }


def validate_client_name(name: bytes) -> None:
    if any(byte <= 32 or byte > 126 for byte in name):
        raise CommandError("ERR Client names cannot contain spaces, newlines or special characters.")


@command("reset", 1, flags="noscript loading stale fast no_auth allow_busy", acl="connection",
         group=GROUP, since="6.2.0", summary="Resets the connection's state: database, protocol, name, modes.")
def reset(client: "Client", args: list[bytes]):
    client.db = client.server.dbs[0]
    client.resp = 2
    client.name = b""
    client.reply_mode = "on"
    client.no_evict = client.no_touch = False
    if client.monitor:
        client.monitor = False
        client.server.monitors.remove(client)
    client.authenticated = not client.server.requires_auth()
    return "RESET"
