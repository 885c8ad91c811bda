"""AOF commands (Redis's aof.c and debug.c): BGREWRITEAOF and DEBUG LOADAOF.

The format, the writer and the rewrite live in `ember.persistence.aof`; these handlers answer
with Redis's replies and error texts.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..persistence import aof, snapshot
from ..protocol.errors import CommandError
from .server_admin import debug_subcommand
from .table import command

if TYPE_CHECKING:
    from ..server.client import Client

log = logging.getLogger("ember")


@command("bgrewriteaof", 1, flags="admin noscript no_async_loading", group="server", since="1.0.0",
         summary="Asynchronously rewrites the append-only file to disk.", complexity="O(1)")
def bgrewriteaof(client: Client, args: list[bytes]):
    server = client.server
    state = aof.state(server)
    if aof.child_active(server):
        raise CommandError("ERR Background append only file rewriting already in progress")
    if snapshot.child_active(server) or client.in_exec:
        state.rewrite_scheduled = True
        state.consecutive_failures = 0  # asked for by hand: not held back by the failure limit
        return "Background append only file rewriting scheduled"
    if aof.rewrite_background(server):
        return "Background append only file rewriting started"
    raise CommandError("ERR Can't execute an AOF background rewriting. Please check the server logs for more "
                       "information.")


@debug_subcommand("loadaof", 2, "LOADAOF", "    Flush the AOF buffers on disk and reload the AOF in memory.")
def debug_loadaof(client: Client, args: list[bytes]):
    """Empty the dataset and load it back from the AOF; like Redis, a load failure exits."""
    server = client.server
    state = aof.state(server)
    if state.status == aof.ON:
        state.flush(force=True)
    for db in server.dbs:
        db.flush()
    try:
        state.manifest = aof.load_manifest_from_disk(server)
        aof.delete_history_files(server)
        aof.load_files(server, state.manifest)
    except (aof.ManifestError, aof.AOFLoadError, OSError) as err:
        log.warning("DEBUG LOADAOF failed: %s. Exiting.", err)
        aof.exit_now(1)
    server.dirty = 0  # what was reloaded is no change to propagate or save
    log.info("Append Only File loaded by DEBUG LOADAOF")
    return "OK"
