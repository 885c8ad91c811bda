"""Replication commands of a standalone master: WAIT, WAITAOF, ROLE, REPLICAOF/SLAVEOF.

Ember does not replicate yet, so it always answers as a master without replicas: ROLE reports
["master", 0, []] and WAIT gets no acknowledgement. WAITAOF counts the local AOF once everything
written to it so far is fsynced (which covers the caller's writes), and no replica. Like Redis,
WAIT and WAITAOF block until their timeout when more acknowledgements are asked for than have
arrived (timeout 0: until the client is unblocked or disconnects), WAITAOF is answered early when
the local fsync catches up, and both answer at once inside MULTI/EXEC or a script. REPLICAOF NO
ONE is accepted (already a master); REPLICAOF <host> <port> is refused with an explicit error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..persistence import aof
from ..protocol.errors import CommandError
from ..server.blocking import parse_timeout
from ..server.client import NO_REPLY
from .table import command, parse_int

if TYPE_CHECKING:
    from ..server.app import Server
    from ..server.client import Client

GROUP = "generic"
FSYNC_POLL_SECONDS = 0.01  # how often a WAITAOF waiting for the local fsync looks again
REPLICATION_FLAGS = "admin noscript stale no_async_loading"
NOT_SUPPORTED = ("ERR REPLICAOF <host> <port> is not supported: Ember does not implement replication "
                 "yet (only REPLICAOF NO ONE is accepted)")


def _range_long(raw: bytes, low: int, high: int, message: str | None = None) -> int:
    """Redis's getRangeLongFromObjectOrReply: an integer within [low, high], or its error."""
    value = parse_int(raw, message or "ERR value is not an integer or out of range")
    if not low <= value <= high:
        raise CommandError(message or f"ERR value is out of range, value must between {low} and {high}")
    return value


def _acknowledged(client: Client, reply, timeout_s: float, satisfied: bool):
    """Reply at once when enough acknowledgements are in (or blocking is denied), otherwise
    block with nothing to wait for: the timeout reply is the same counts."""
    if satisfied:
        return reply
    return client.server.blocking.block(client, [], timeout_s, lambda: None,
                                        timeout_reply=reply, denied_reply=reply)


@command("wait", 3, flags="noscript", acl="connection", group=GROUP, since="3.0.0",
         summary="Blocks until the asynchronous replication of all preceding write commands sent "
                 "by the connection is completed.", complexity="O(1)")
def wait(client: Client, args: list[bytes]):
    wanted = parse_int(args[1])
    timeout_s = parse_timeout(args[2], unit_seconds=False)
    replicas = 0  # no replica can acknowledge anything
    return _acknowledged(client, replicas, timeout_s, replicas >= wanted)


@command("waitaof", 4, flags="noscript", acl="connection", group=GROUP, since="7.2.0",
         summary="Blocks until all of the preceding write commands sent by the connection are "
                 "written to the append-only file of the master and/or replicas.", complexity="O(1)")
def waitaof(client: Client, args: list[bytes]):
    wanted_local = _range_long(args[1], 0, 1)
    wanted_replicas = _range_long(args[2], 0, 2**63 - 1, "ERR value is out of range, must be positive")
    timeout_s = parse_timeout(args[3], unit_seconds=False)
    server = client.server
    if wanted_local and not server.config["appendonly"]:
        raise CommandError("ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled.")
    local, replicas = _local_aof_synced(server), 0  # no replica exists
    satisfied = local >= wanted_local and replicas >= wanted_replicas
    reply = _acknowledged(client, [local, replicas], timeout_s, satisfied)
    if reply is NO_REPLY and local < wanted_local and replicas >= wanted_replicas:
        _poll_local_fsync(client, server.blocking.waiters.get(client.id))
    return reply


def _local_aof_synced(server: Server) -> int:
    """1 when the AOF is on and everything written to it so far is fsynced."""
    state = getattr(server, "aof", None)  # created by the AOF module once it is used
    return int(state is not None and state.status == aof.ON and not state.buf
               and state.fsync_offset == state.current_size and not state.fsync_worker.pending)


def _poll_local_fsync(client: Client, waiter) -> None:
    """Answer a WAITAOF that waits for the local fsync as soon as it has happened."""
    server = client.server
    if waiter is None or server.loop is None or server.blocking.waiters.get(client.id) is not waiter:
        return  # answered already (timeout, CLIENT UNBLOCK) or gone
    if _local_aof_synced(server):
        waiter.timeout_reply = [1, 0]
        server.blocking.unblock(client, with_error=False)
        return
    server.loop.call_later(FSYNC_POLL_SECONDS, _poll_local_fsync, client, waiter)


@command("role", 1, flags="noscript loading stale fast", acl="admin dangerous", group="server",
         since="2.8.12", summary="Returns the replication role.", complexity="O(1)")
def role(client: Client, args: list[bytes]):
    return [b"master", 0, []]  # master, replication offset, connected replicas


def _replicaof(client: Client, args: list[bytes]):
    if args[1].lower() == b"no" and args[2].lower() == b"one":
        return "OK"  # already a master
    _range_long(args[2], 0, 65535, "ERR Invalid master port")
    raise CommandError(NOT_SUPPORTED)


command("replicaof", 3, flags=REPLICATION_FLAGS, group="server", since="5.0.0",
        summary="Configures a server as replica of another, or promotes it to a master.",
        complexity="O(1)")(_replicaof)
command("slaveof", 3, flags=REPLICATION_FLAGS, group="server", since="1.0.0",
        summary="Sets a Redis server as a replica of another, or promotes it to being a master.",
        complexity="O(1)")(_replicaof)
