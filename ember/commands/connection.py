"""Connection commands: PING ECHO HELLO AUTH SELECT QUIT RESET and the CLIENT family."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..protocol.encoder import SetReply, Verbatim
from ..protocol.errors import OUT_OF_RANGE_DB, SYNTAX, WRONGPASS, CommandError
from ..server.blocking import timeout_ms
from ..server.client import NO_REPLY
from ..server.tracking import TrackingState
from .server_admin import declare_help, subcommand_syntax_error
from .table import command, container, parse_int

if TYPE_CHECKING:
    from ..server.client import Client

GROUP = "connection"


@command("ping", -1, flags="fast", acl="connection", group=GROUP, since="1.0.0",
         summary="Answers PONG, or echoes the optional message back.",
         complexity="O(1)")
def ping(client: Client, args: list[bytes]):
    if len(args) > 2:
        raise CommandError("ERR wrong number of arguments for 'ping' command")
    if client.resp == 2 and (client.channels or client.patterns or client.shard_channels):
        # A RESP2 subscriber reads every reply as a Pub/Sub message: answer in that shape.
        return [b"pong", args[1] if len(args) == 2 else b""]
    return args[1] if len(args) == 2 else "PONG"


@command("echo", 2, flags="loading stale fast", acl="connection", group=GROUP, since="1.0.0",
         summary="Replies with the given message.",
         complexity="O(1)")
def echo(client: Client, args: list[bytes]):
    return args[1]


@command("select", 2, flags="loading stale fast", acl="connection", group=GROUP, since="1.0.0",
         summary="Switches the connection to another numbered database.",
         complexity="O(1)")
def select(client: Client, args: list[bytes]):
    index = parse_int(args[1])
    if not 0 <= index < len(client.server.dbs):
        raise CommandError(OUT_OF_RANGE_DB)
    client.db = client.server.dbs[index]
    return "OK"


@command("quit", -1, flags="noscript loading stale fast no_auth allow_busy", acl="connection",
         group=GROUP, since="1.0.0", summary="Closes the connection after replying OK.",
         complexity="O(1)")
def quit_(client: Client, args: list[bytes]):
    client.close_after_reply = True
    return "OK"


REDACTED = b"(redacted)"  # what MONITOR and SLOWLOG show in place of credentials


def check_password(client: Client, command_name: bytes, username: bytes, password: bytes) -> None:
    """Authenticate as `username` (only 'default' until ACL users exist) or raise WRONGPASS, with
    the denial in ACL LOG under the command's name as sent."""
    server = client.server
    required = server.config["requirepass"].encode()
    if username != b"default" or not required or not hmac.compare_digest(password, required):
        if username == b"default" and not required:
            return  # the default user has nopass while requirepass is empty
        server.stats.acl_access_denied_auth += 1
        server.acl_log.add(client, "auth", command_name.decode("utf-8", "replace"), username.decode("utf-8", "replace"),
                           server.config["acllog-max-len"])
        raise CommandError(WRONGPASS)
    client.authenticated = True
    client.user = "default"


@command("auth", -2, flags="noscript loading stale fast no_auth allow_busy", acl="connection",
         group=GROUP, since="1.0.0", summary="Authenticates the connection with a password or user and password.",
         complexity="O(N) where N is the number of the user's passwords.")
def auth(client: Client, args: list[bytes]):
    if len(args) > 3:
        raise CommandError("ERR syntax error")
    username, password = (b"default", args[1]) if len(args) == 2 else (args[1], args[2])
    args[1:] = [REDACTED] * (len(args) - 1)  # as Redis: MONITOR and SLOWLOG never see them
    if len(args) == 2 and not client.server.config["requirepass"]:
        raise CommandError(
            "ERR AUTH <password> called without any password configured for the default user. "
            "Are you sure your configuration is correct?")
    check_password(client, args[0], username, password)
    return "OK"


@command("hello", -1, flags="noscript loading stale fast no_auth allow_busy", acl="connection",
         group=GROUP, since="6.0.0", summary="Negotiates the protocol version (2 or 3), optionally authenticating and naming the connection.",
         complexity="O(1)")
def hello(client: Client, args: list[bytes]):
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
            username, password = args[index + 1], args[index + 2]
            args[index + 1] = args[index + 2] = REDACTED
            check_password(client, args[0], username, password)
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
         group=GROUP, since="6.2.0", summary="Resets the connection's state: database, protocol, name, modes.",
         complexity="O(1)")
def reset(client: Client, args: list[bytes]):
    server = client.server
    if client.monitor:
        server.remove_monitor(client)
    server.tracking.disable(client)
    client.db = server.dbs[0]
    client.resp = 2
    client.authenticated = not server.requires_auth()
    client.tx = None
    server.watches.forget(client)
    server.pubsub.unsubscribe_everything(client)  # silently, as Redis: no confirmations
    client.name = b""
    client.reply_mode = "on"
    client.no_evict = client.no_touch = False
    return "RESET"


# -- CLIENT -----------------------------------------------------------------------------------

container("client", -2, group=GROUP, since="2.4.0",
          summary="A container for client connection commands.")

CLIENT_FLAGS = "noscript loading stale"
CLIENT_ADMIN_FLAGS = "admin noscript loading stale"

# CLIENT LIST TYPE / CLIENT KILL TYPE names, as Redis's getClientTypeByName accepts them.
CLIENT_TYPES = {b"normal": "normal", b"slave": "replica", b"replica": "replica",
                b"master": "master", b"pubsub": "pubsub"}


def client_type(client: Client) -> str:
    """Redis's getClientType. Ember has no replication links yet: normal or pubsub."""
    if client.channels or client.patterns or client.shard_channels:
        return "pubsub"
    return "normal"


def parse_client_type(raw: bytes) -> str:
    kind = CLIENT_TYPES.get(raw.lower())
    if kind is None:
        raise CommandError(f"ERR Unknown client type '{raw.decode('utf-8', 'replace')}'")
    return kind


def client_lines(clients) -> Verbatim:
    """CLIENT LIST / INFO text: one line per client, each ending in a newline."""
    return Verbatim("".join(c.info_line() + "\n" for c in clients).encode())


@command("client|id", 2, flags=CLIENT_FLAGS, acl="connection", group=GROUP, since="5.0.0",
         summary="Returns the unique client ID of the connection.", complexity="O(1)")
def client_id(client: Client, args: list[bytes]):
    return client.id


@command("client|setname", 3, flags=CLIENT_FLAGS, acl="connection", group=GROUP, since="2.6.9",
         summary="Sets the connection name.", complexity="O(1)")
def client_setname(client: Client, args: list[bytes]):
    validate_client_name(args[2])
    client.name = args[2]
    return "OK"


@command("client|getname", 2, flags=CLIENT_FLAGS, acl="connection", group=GROUP, since="2.6.9",
         summary="Returns the name of the connection.", complexity="O(1)")
def client_getname(client: Client, args: list[bytes]):
    return client.name or None


@command("client|setinfo", 4, flags=CLIENT_FLAGS, acl="connection", group=GROUP, since="7.2.0",
         summary="Sets information specific to the client or connection.", complexity="O(1)")
def client_setinfo(client: Client, args: list[bytes]):
    attribute, value = args[2], args[3]
    field = attribute.lower()
    if field not in (b"lib-name", b"lib-ver"):
        raise CommandError(f"ERR Unrecognized option '{attribute.decode('utf-8', 'replace')}'")
    if any(byte < 33 or byte > 126 for byte in value):
        raise CommandError(f"ERR {attribute.decode('utf-8', 'replace')} cannot contain spaces, "
                           "newlines or special characters.")
    if field == b"lib-name":
        client.lib_name = value
    else:
        client.lib_ver = value
    return "OK"


@command("client|list", -2, flags=CLIENT_ADMIN_FLAGS, acl="connection", group=GROUP, since="2.4.0",
         summary="Lists open connections.",
         complexity="O(N) where N is the number of client connections")
def client_list(client: Client, args: list[bytes]):
    clients = client.server.clients
    if len(args) == 2:
        return client_lines(clients.values())
    option = args[2].lower()
    if option == b"type" and len(args) == 4:
        kind = parse_client_type(args[3])
        return client_lines(c for c in clients.values() if client_type(c) == kind)
    if option == b"id" and len(args) > 3:
        ids = [parse_int(raw, "ERR Invalid client ID") for raw in args[3:]]
        return client_lines(clients[i] for i in ids if i in clients)
    raise CommandError(SYNTAX)


@command("client|info", 2, flags=CLIENT_FLAGS, acl="connection", group=GROUP, since="6.2.0",
         summary="Returns information about the connection.", complexity="O(1)")
def client_info(client: Client, args: list[bytes]):
    return client_lines([client])


@dataclass
class KillFilter:
    """CLIENT KILL's options: a client must match every one that is set."""

    addr: bytes | None = None
    laddr: bytes | None = None
    kind: str | None = None
    client_id: int = 0
    user: str | None = None
    skip_me: bool = True
    max_age: int = 0

    def matches(self, target: Client, caller: Client, now: float) -> bool:
        return not (
            (self.addr is not None and target.addr.encode() != self.addr)
            or (self.laddr is not None and target.laddr.encode() != self.laddr)
            or (self.kind is not None and client_type(target) != self.kind)
            or (self.client_id and target.id != self.client_id)
            or (self.user is not None and target.user != self.user)
            or (self.skip_me and target is caller)
            or (self.max_age and now - target.created < self.max_age)
        )


def _known_user(client: Client, name: str) -> bool:
    # Until ACL users exist, the users are 'default' and whoever is logged in.
    return name == "default" or any(c.user == name for c in client.server.clients.values())


def parse_kill_filter(client: Client, args: list[bytes]) -> KillFilter:
    """The option/value pairs of the new CLIENT KILL form, with Redis's errors."""
    kill = KillFilter()
    for index in range(2, len(args), 2):
        option = args[index].lower()
        if index + 1 >= len(args):
            raise CommandError(SYNTAX)
        value = args[index + 1]
        if option == b"id":
            kill.client_id = parse_int(value, "ERR client-id should be greater than 0")
            if kill.client_id < 1:
                raise CommandError("ERR client-id should be greater than 0")
        elif option == b"maxage":  # Redis 7.4's option, accepted here too
            kill.max_age = parse_int(value, "ERR maxage is not an integer or out of range")
            if kill.max_age <= 0:
                raise CommandError("ERR maxage should be greater than 0")
        elif option == b"type":
            kill.kind = parse_client_type(value)
        elif option == b"addr":
            kill.addr = value
        elif option == b"laddr":
            kill.laddr = value
        elif option == b"user":
            kill.user = value.decode("utf-8", "replace")
            if not _known_user(client, kill.user):
                raise CommandError(f"ERR No such user '{kill.user}'")
        elif option == b"skipme" and value.lower() in (b"yes", b"no"):
            kill.skip_me = value.lower() == b"yes"
        else:
            raise CommandError(SYNTAX)
    return kill


@command("client|kill", -3, flags=CLIENT_ADMIN_FLAGS, acl="connection", group=GROUP, since="2.4.0",
         summary="Terminates open connections.",
         complexity="O(N) where N is the number of client connections")
def client_kill(client: Client, args: list[bytes]):
    old_form = len(args) == 3  # CLIENT KILL addr: may kill the caller itself
    kill = KillFilter(addr=args[2], skip_me=False) if old_form else parse_kill_filter(client, args)
    now = time.time()
    victims = [c for c in client.server.clients.values() if kill.matches(c, client, now)]
    for victim in victims:
        if victim is client:
            victim.close_after_reply = True  # after this reply is written
        else:
            victim.close()
    if old_form:
        if not victims:
            raise CommandError("ERR No such client")
        return "OK"
    return len(victims)


@command("client|reply", 3, flags=CLIENT_FLAGS, acl="connection", group=GROUP, since="3.2.0",
         summary="Instructs the server whether to reply to commands.", complexity="O(1)")
def client_reply(client: Client, args: list[bytes]):
    mode = args[2].lower()
    if mode == b"on":
        client.reply_mode = "on"
        return "OK"
    if mode == b"off":
        client.reply_mode = "off"
    elif mode == b"skip":
        if client.reply_mode != "off":
            client.reply_mode = "skip"  # swallows the next command's reply
    else:
        raise CommandError(SYNTAX)
    return NO_REPLY


def parse_on_off(raw: bytes) -> bool:
    mode = raw.lower()
    if mode not in (b"on", b"off"):
        raise CommandError(SYNTAX)
    return mode == b"on"


@command("client|no-evict", 3, flags=CLIENT_ADMIN_FLAGS, acl="connection", group=GROUP,
         since="7.0.0", summary="Sets the client eviction mode of the connection.", complexity="O(1)")
def client_no_evict(client: Client, args: list[bytes]):
    client.no_evict = parse_on_off(args[2])
    return "OK"


@command("client|no-touch", 3, flags=CLIENT_FLAGS, acl="connection", group=GROUP, since="7.2.0",
         summary="Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
         complexity="O(1)")
def client_no_touch(client: Client, args: list[bytes]):
    client.no_touch = parse_on_off(args[2])
    return "OK"


@command("client|pause", -3, flags=CLIENT_ADMIN_FLAGS, acl="connection", group=GROUP,
         since="2.9.50", summary="Suspends commands processing.", complexity="O(1)")
def client_pause(client: Client, args: list[bytes]):
    if len(args) > 4:
        raise subcommand_syntax_error(args)
    mode = "all"
    if len(args) == 4:
        mode = args[3].lower().decode("utf-8", "replace")
        if mode not in ("write", "all"):
            raise CommandError("ERR CLIENT PAUSE mode must be WRITE or ALL")
    server = client.server
    now = server.clock_ms()
    millis = timeout_ms(args[2], unit_seconds=False, now_ms=now)
    server.pause_clients(mode, now + millis if millis else 0)
    return "OK"


@command("client|unpause", 2, flags=CLIENT_ADMIN_FLAGS, acl="connection", group=GROUP,
         since="6.2.0", summary="Resumes processing commands from paused clients.",
         complexity="O(N) Where N is the number of paused clients")
def client_unpause(client: Client, args: list[bytes]):
    client.server.unpause_clients()
    return "OK"


@command("client|unblock", -3, flags=CLIENT_ADMIN_FLAGS, acl="connection", group=GROUP,
         since="5.0.0", summary="Unblocks a client blocked by a blocking command from a different connection.",
         complexity="O(log N) where N is the number of client connections")
def client_unblock(client: Client, args: list[bytes]):
    if len(args) > 4:
        raise subcommand_syntax_error(args)
    with_error = False
    if len(args) == 4:
        reason = args[3].lower()
        if reason not in (b"timeout", b"error"):
            raise CommandError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
        with_error = reason == b"error"
    target = client.server.clients.get(parse_int(args[2]))
    return int(target is not None and client.server.blocking.unblock(target, with_error))


def _tracking_options(client: Client, args: list[bytes]) -> tuple[TrackingState, list[bytes]]:
    """CLIENT TRACKING's options after ON|OFF, parsed in Redis's order with its errors:
    the options, and the prefixes given."""
    redirect, prefixes, flags = 0, [], set()
    index = 3
    while index < len(args):
        option = args[index].lower()
        has_value = index + 1 < len(args)
        if option == b"redirect" and has_value:
            index += 1
            if redirect:
                raise CommandError("ERR A client can only redirect to a single other client")
            redirect = parse_int(args[index])
            if redirect not in client.server.clients:
                raise CommandError("ERR The client ID you want redirect to does not exist")
        elif option in (b"bcast", b"optin", b"optout", b"noloop"):
            flags.add(option)
        elif option == b"prefix" and has_value:
            index += 1
            prefixes.append(args[index])
        else:
            raise CommandError(SYNTAX)
        index += 1
    state = TrackingState(redirect, b"bcast" in flags, b"optin" in flags, b"optout" in flags,
                          b"noloop" in flags)
    return state, prefixes


def _check_tracking_switch(current: TrackingState | None, wanted: TrackingState, prefixes: list[bytes]) -> None:
    if not wanted.bcast and prefixes:
        raise CommandError("ERR PREFIX option requires BCAST mode to be enabled")
    if current is not None and current.bcast != wanted.bcast:
        raise CommandError("ERR You can't switch BCAST mode on/off before disabling tracking for "
                           "this client, and then re-enabling it with a different mode.")
    if wanted.bcast and (wanted.optin or wanted.optout):
        raise CommandError("ERR OPTIN and OPTOUT are not compatible with BCAST")
    if wanted.optin and wanted.optout:
        raise CommandError("ERR You can't specify both OPTIN mode and OPTOUT mode")
    if current is not None and ((wanted.optin and current.optout) or (wanted.optout and current.optin)):
        raise CommandError("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for "
                           "this client, and then re-enabling it with a different mode.")


def _overlap(first: bytes, second: bytes) -> bool:
    """Two BCAST prefixes overlap when one starts the other: a key could match both."""
    return first.startswith(second) or second.startswith(first)


def _check_prefix_overlap(existing: list[bytes], prefixes: list[bytes]) -> None:
    """A client's BCAST prefixes must not overlap, neither its existing ones nor the new ones."""
    def text(prefix: bytes) -> str:
        return prefix.decode("utf-8", "replace")

    for i, prefix in enumerate(prefixes):
        for old in existing:
            if _overlap(old, prefix):
                raise CommandError(f"ERR Prefix '{text(prefix)}' overlaps with an existing prefix "
                                   f"'{text(old)}'. Prefixes for a single client must not overlap.")
        for other in prefixes[i + 1:]:
            if _overlap(prefix, other):
                raise CommandError(f"ERR Prefix '{text(prefix)}' overlaps with another provided prefix "
                                   f"'{text(other)}'. Prefixes for a single client must not overlap.")


@command("client|tracking", -3, flags=CLIENT_FLAGS, acl="connection", group=GROUP, since="6.0.0",
         summary="Controls server-assisted client-side caching for the connection.",
         complexity="O(1). Some options may introduce additional complexity.")
def client_tracking(client: Client, args: list[bytes]):
    wanted, prefixes = _tracking_options(client, args)
    mode = args[2].lower()
    tracking = client.server.tracking
    if mode == b"off":
        tracking.disable(client)
        return "OK"
    if mode != b"on":
        raise CommandError(SYNTAX)
    current = client.tracking
    _check_tracking_switch(current, wanted, prefixes)
    if wanted.bcast:
        _check_prefix_overlap(current.prefixes if current is not None else [], prefixes)
    tracking.enable(client, wanted, prefixes)
    return "OK"


@command("client|caching", 3, flags=CLIENT_FLAGS, acl="connection", group=GROUP, since="6.0.0",
         summary="Instructs the server whether to track the keys in the next request.",
         complexity="O(1)")
def client_caching(client: Client, args: list[bytes]):
    state = client.tracking
    if state is None:
        raise CommandError("ERR CLIENT CACHING can be called only when the client is in tracking "
                           "mode with OPTIN or OPTOUT mode enabled")
    answer = args[2].lower()
    if answer == b"yes":
        if not state.optin:
            raise CommandError("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
    elif answer == b"no":
        if not state.optout:
            raise CommandError("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
    else:
        raise CommandError(SYNTAX)
    state.caching = True  # one flag, as Redis: YES under OPTIN, NO under OPTOUT
    return "OK"


@command("client|trackinginfo", 2, flags=CLIENT_FLAGS, acl="connection", group=GROUP,
         since="6.2.0", summary="Returns information about server-assisted client-side caching for the connection.",
         complexity="O(1)")
def client_trackinginfo(client: Client, args: list[bytes]):
    state = client.tracking
    if state is None:
        return {b"flags": SetReply([b"off"]), b"redirect": -1, b"prefixes": []}
    return {b"flags": SetReply(state.flags()), b"redirect": state.redirect, b"prefixes": list(state.prefixes)}


@command("client|getredir", 2, flags=CLIENT_FLAGS, acl="connection", group=GROUP, since="6.0.0",
         summary="Returns the client ID to which the connection's tracking notifications are redirected.",
         complexity="O(1)")
def client_getredir(client: Client, args: list[bytes]):
    return -1 if client.tracking is None else client.tracking.redirect


_CLIENT_HELP = (
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "NO-TOUCH (ON|OFF)",
    "    Will not touch LRU/LFU stats when this mode is on.",
)

declare_help("client", _CLIENT_HELP, since="5.0.0", group=GROUP, acl="connection")
