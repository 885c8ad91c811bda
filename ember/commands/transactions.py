"""Transactions: MULTI EXEC DISCARD WATCH UNWATCH (queuing itself happens in the dispatcher)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..protocol.encoder import NULL_ARRAY
from ..protocol.errors import CommandError
from ..server.dispatch import call, resolve
from ..server.multi import Transaction
from .table import command

if TYPE_CHECKING:
    from ..server.client import Client

GROUP = "transactions"
CONTROL_FLAGS = "noscript loading stale fast allow_busy"


@command("multi", 1, flags=CONTROL_FLAGS, acl="transaction", group=GROUP, since="1.2.0",
         summary="Starts a transaction: later commands are queued until EXEC.")
def multi(client: Client, args: list[bytes]):
    if client.tx is not None:
        raise CommandError("ERR MULTI calls can not be nested")
    client.tx = Transaction()
    return "OK"


@command("exec", 1, flags="noscript loading stale skip_slowlog", acl="transaction", group=GROUP,
         since="1.2.0", summary="Runs the queued commands atomically, unless a watched key changed.")
def exec_(client: Client, args: list[bytes]):
    tx = client.tx
    if tx is None:
        raise CommandError("ERR EXEC without MULTI")
    client.tx = None
    watches = client.server.watches
    try:
        if tx.failed:
            raise CommandError("EXECABORT Transaction discarded because of previous errors.")
        if client.watch_dirty or watches.expired_since_watch(client):
            return NULL_ARRAY
        watches.unwatch_all(client)
        client.in_exec = True
        # Every queued command passed resolve() when it was queued; its errors go in the array.
        return [call(client, resolve(queued), queued) for queued in tx.queued]
    finally:
        client.in_exec = False
        watches.unwatch_all(client)


@command("discard", 1, flags=CONTROL_FLAGS, acl="transaction", group=GROUP, since="2.0.0",
         summary="Drops the queued commands and leaves the transaction.")
def discard(client: Client, args: list[bytes]):
    if client.tx is None:
        raise CommandError("ERR DISCARD without MULTI")
    client.tx = None
    client.server.watches.unwatch_all(client)
    return "OK"


@command("watch", -2, flags=CONTROL_FLAGS, keys=(1, -1, 1), acl="transaction", group=GROUP,
         since="2.2.0", summary="Makes the next EXEC fail if any of these keys changes first.")
def watch(client: Client, args: list[bytes]):
    if client.tx is not None:
        raise CommandError("ERR WATCH inside MULTI is not allowed")
    for key in args[1:]:
        client.server.watches.watch(client, key)
    return "OK"


@command("unwatch", 1, flags=CONTROL_FLAGS, acl="transaction", group=GROUP, since="2.2.0",
         summary="Forgets every key WATCHed by this connection.")
def unwatch(client: Client, args: list[bytes]):
    client.server.watches.unwatch_all(client)
    return "OK"
