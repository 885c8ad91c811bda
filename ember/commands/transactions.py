"""Transaction commands: MULTI EXEC DISCARD WATCH UNWATCH (Redis's multi.c).

Queuing itself happens in the dispatcher; the WATCH bookkeeping lives in server/multi.py.
EXEC writes its array header and then each queued command's reply as that command runs, as
Redis's execCommand does, so a command that answers with several replies (SUBSCRIBE a b inside
MULTI) or a message pushed to the client mid-transaction lands exactly where Redis puts it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..protocol.encoder import NULL_ARRAY, encode_into
from ..protocol.errors import CommandError
from ..server.client import NO_REPLY
from ..server.dispatch import call
from ..server.multi import Transaction
from .table import command

if TYPE_CHECKING:
    from ..server.client import Client
    from .table import Command

GROUP = "transactions"
CONTROL_FLAGS = "noscript loading stale fast allow_busy"
EXECABORT = CommandError("EXECABORT Transaction discarded because of previous errors.")


@command("multi", 1, flags=CONTROL_FLAGS, acl="transaction", group=GROUP, since="1.2.0",
         summary="Starts a transaction.", complexity="O(1)")
def multi(client: Client, args: list[bytes]):
    if client.tx is not None:
        raise CommandError("ERR MULTI calls can not be nested")
    client.tx = Transaction()
    return "OK"


@command("exec", 1, flags="noscript loading stale skip_slowlog", acl="transaction", group=GROUP,
         since="1.2.0", summary="Executes all commands in a transaction.",
         complexity="Depends on commands in the transaction")
def exec_(client: Client, args: list[bytes]):
    tx = client.tx
    if tx is None:
        raise CommandError("ERR EXEC without MULTI")
    client.tx = None
    aborted = tx.failed
    changed = False
    if client.watched or client.watch_dirty:  # after WATCH; most transactions have none
        watches = client.server.watches
        changed = not aborted and watches.changed_since_watch(client)
        watches.forget(client)
    try:
        if aborted:
            return EXECABORT
        if changed:
            return NULL_ARRAY
        return run_queued(client, tx.queued)
    finally:
        if client.tracking is not None:
            client.server.tracking.transaction_done(client)  # CLIENT CACHING covered this whole EXEC


def run_queued(client: Client, queued: list[tuple[Command, list[bytes]]]):
    """Run the queued commands with blocking denied; each reply is added as soon as it exists.

    The header is the one array header RESP2 and RESP3 share, written like any reply: not at
    all under CLIENT REPLY OFF.
    """
    out = client.out
    if client.reply_mode == "on":
        out.append(b"*%d\r\n" % len(queued))
    client.in_exec = True
    try:
        for cmd, args in queued:
            reply = call(client, cmd, args)
            if reply is NO_REPLY:
                continue
            if client.reply_mode == "on":  # Client.add_reply's usual case, without the call
                encode_into(out, reply, client.resp)  # resp read each time: HELLO may be queued
            else:
                client.add_reply(reply)
    finally:
        client.in_exec = False
    return NO_REPLY


@command("discard", 1, flags=CONTROL_FLAGS, acl="transaction", group=GROUP, since="2.0.0",
         summary="Discards a transaction.", complexity="O(N), when N is the number of queued commands")
def discard(client: Client, args: list[bytes]):
    if client.tx is None:
        raise CommandError("ERR DISCARD without MULTI")
    client.tx = None
    client.server.watches.forget(client)
    return "OK"


@command("watch", -2, flags=CONTROL_FLAGS, keys=(1, -1, 1), acl="transaction", group=GROUP,
         since="2.2.0", summary="Monitors changes to keys to determine the execution of a transaction.",
         complexity="O(1) for every key.")
def watch(client: Client, args: list[bytes]):
    if client.tx is not None:
        raise CommandError("ERR WATCH inside MULTI is not allowed")
    watches = client.server.watches
    for key in args[1:]:
        watches.watch(client, key)
    return "OK"


@command("unwatch", 1, flags=CONTROL_FLAGS, acl="transaction", group=GROUP, since="2.2.0",
         summary="Forgets about watched keys of a transaction.", complexity="O(1)")
def unwatch(client: Client, args: list[bytes]):
    client.server.watches.forget(client)
    return "OK"
