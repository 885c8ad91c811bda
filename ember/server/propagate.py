"""Write propagation: what the AOF (and replicas) receive (Redis's alsoPropagate/propagateNow).

Only effective writes are propagated: the dispatcher queues a write command when it changed the
dataset (the dirty counter moved), in its deterministic form when the handler gave one with
`propagate_as` (SET ... EX becomes PXAT, SPOP becomes SREM, a served BLPOP becomes LPOP...).
Expired and evicted keys propagate as DEL. Everything one top-level command caused (an EXEC, a
script, a served blocked client) is flushed as one batch, wrapped in MULTI/EXEC when it holds
more than one command, so a reader never sees half of an atomic change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .client import Client

Entry = tuple[int, list[bytes]]  # (db index, argv)
Sink = Callable[[list[Entry]], None]


def propagate_as(client: Client, *argvs: list[bytes]) -> None:
    """Propagate these commands instead of the one being run (its deterministic equivalent);
    nothing to remember while nothing is propagated to (dispatch.run_lean relies on it)."""
    if client.server.propagator.sinks:
        client.rewritten = list(argvs)


class Propagator:
    def __init__(self) -> None:
        self.sinks: list[Sink] = []  # the AOF writer, replicas
        self.pending: list[Entry] = []

    def add(self, db_id: int, argv: list[bytes]) -> None:
        if self.sinks:
            self.pending.append((db_id, argv))

    def add_command(self, client: Client, args: list[bytes]) -> None:
        """Queue a command the client ran (or its rewritten form)."""
        if client.rewritten is None:
            self.add(client.db.id, args)
        else:
            for argv in client.rewritten:
                self.add(client.db.id, argv)

    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        if len(batch) > 1:
            batch = [(batch[0][0], [b"MULTI"]), *batch, (batch[-1][0], [b"EXEC"])]
        for sink in self.sinks:
            sink(batch)
