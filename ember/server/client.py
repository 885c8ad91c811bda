"""A connected client: its session state and the queue of commands it has sent.

Commands are run from `process()`, which stops early when the client blocks (BLPOP & co) or
pauses, and resumes when it is woken; replies of one batch are joined into a single write.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..keyspace.database import ACCESS_CLOCK, now_ms
from ..protocol.encoder import encode_into
from .client_eviction import client_memory, pending_output

if TYPE_CHECKING:
    import asyncio

    from ..commands.table import Command
    from ..keyspace.database import Database
    from ..protocol.parser import RequestParser
    from .app import Server
    from .multi import Transaction
    from .tracking import TrackingState


class NoReply:
    """Returned by handlers that answer later (blocking commands) or never (MONITOR's stream)."""

    __slots__ = ()


NO_REPLY = NoReply()

_execute = _run_lean = _queue_lean = None  # dispatch.execute, run_lean and queue_lean, imported
_LEAN: dict = {}  # on first use (dispatch imports the command table), and dispatch.LEAN and QUEUEABLE
_QUEUEABLE: dict = {}
_NO_COMMANDS: Mapping[bytes, Command] = MappingProxyType({})


def _import_execute():
    global _execute, _run_lean, _queue_lean, _LEAN, _QUEUEABLE
    from .dispatch import LEAN, QUEUEABLE, execute, queue_lean, run_lean

    _execute, _run_lean, _queue_lean, _LEAN, _QUEUEABLE = execute, run_lean, queue_lean, LEAN, QUEUEABLE
    return execute


class ReplyWriter:
    """Clients whose replies wait for the end of the event-loop pass (Redis's clients pending
    write, written in beforeSleep): those that sent a pipeline (Client.process).

    Serving every readable client first and writing all the replies afterwards wakes a client
    process (a benchmark, a worker pool) once per pass instead of once per reply, and a write
    costs the server much less when its reader is already awake: at -P 16 with 50 clients,
    0.3-0.4 µs of system time per request instead of 0.8-0.95. Replies stay in `Client.out`
    meanwhile, so anything that flushes the client earlier (a push, an unblocked reply) keeps
    their order.
    """

    __slots__ = ("loop", "clients")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.clients: list[Client] = []

    def defer(self, client: Client) -> None:
        if client.write_pending:
            return
        client.write_pending = True
        if not self.clients:
            self.loop.call_soon(self.write_all)
        self.clients.append(client)

    def write_all(self) -> None:
        clients, self.clients = self.clients, []
        for client in clients:
            client.write_pending = False
            client.flush()


class Client:
    __slots__ = (
        "id", "server", "transport", "db", "resp", "name", "lib_name", "lib_ver", "authenticated",
        "user", "addr", "laddr", "created", "last_interaction", "last_command", "pending",
        "close_after_reply", "closed", "reply_mode", "no_evict", "no_touch", "monitor",
        "blocked", "out", "flags", "kill_reason", "tx", "in_exec", "watched",
        "watch_dirty", "channels", "patterns", "shard_channels", "soft_limit_since", "tracking", "parser", "rewritten",
        "reply_writer", "write_pending", "memory_counted",
    )

    def __init__(self, server: Server, transport: asyncio.Transport | None, addr: str, laddr: str) -> None:
        self.id = server.next_client_id()
        self.server = server
        self.transport = transport
        self.db: Database = server.dbs[0]
        self.resp = 2
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        self.authenticated = not server.requires_auth()
        self.user = "default"
        self.addr = addr
        self.laddr = laddr
        self.created = time.time()
        self.last_interaction = ACCESS_CLOCK.ms  # unix ms, as coarse as Redis's (server.unixtime)
        self.last_command = "NULL"
        self.pending: deque[list[bytes]] = deque()
        self.close_after_reply = False
        self.closed = False
        self.reply_mode = "on"  # CLIENT REPLY: on | off | skip
        self.no_evict = False
        self.no_touch = False
        self.monitor = False
        self.blocked = False
        self.out: list[bytes] = []  # reply chunks of the batch being processed
        self.flags = ""
        self.kill_reason = ""
        self.tx: Transaction | None = None  # set between MULTI and EXEC/DISCARD
        self.in_exec = False  # running EXEC's queue (or a script): blocking commands must not block
        self.watched: dict[tuple[int, bytes], int | None] = {}
        self.watch_dirty = False
        self.channels: set[bytes] = set()
        self.patterns: set[bytes] = set()
        self.shard_channels: set[bytes] = set()
        self.soft_limit_since = 0.0  # when pending output first passed the soft limit
        self.tracking: TrackingState | None = None  # CLIENT TRACKING options when on
        self.parser: RequestParser | None = None  # set by the network layer
        self.rewritten: list[list[bytes]] | None = None  # propagate_as() of the running command
        self.reply_writer: ReplyWriter | None = None  # set by the network layer
        self.write_pending = False  # queued on reply_writer
        self.memory_counted = 0  # its share of ClientEviction.total (maxmemory-clients)

    # -- running commands ---------------------------------------------------------------------

    def lean_commands(self) -> Mapping[bytes, Command]:
        """The commands this client's batch may run without dispatch.execute's admission checks
        (dispatch.LEAN), or queue inside MULTI (dispatch.QUEUEABLE): those while nothing is to
        be checked (authenticated, not in RESP2 pub/sub mode, no MISCONF, no CLIENT PAUSE,
        replies on), else none; with maxmemory set, each still gets its admission. Lean commands
        change none of this, nor the MULTI state, so a batch decides it once and again after any
        other command."""
        server = self.server
        if (self.authenticated and server.write_error is None
                and not server.blocking.pause_mode and self.reply_mode == "on"
                and not (self.resp == 2 and (self.channels or self.patterns or self.shard_channels))):
            return _LEAN if self.tx is None else _QUEUEABLE
        return _NO_COMMANDS

    def process(self) -> None:
        """Run queued commands until the queue is empty or the client blocks, then queue the
        replies for one write. Runs of lean commands go to dispatch.run_lean while
        lean_commands() allows; anything else through dispatch.execute, one at a time."""
        self.last_interaction = ACCESS_CLOCK.ms  # per read, as Redis's readQueryFromClient
        pending = self.pending
        pipelined = len(pending) > 1
        if not self.blocked and not self.close_after_reply:
            execute = _execute or _import_execute()
            while pending:
                lean = self.lean_commands()
                if pending[0][0] in lean:  # (a run's set-up is wasted on a head that is not lean)
                    if lean is _QUEUEABLE:
                        _queue_lean(self, pending, lean)
                    else:
                        _run_lean(self, pending, lean)
                    if self.blocked or not pending:
                        break
                self.add_reply(execute(self, pending.popleft()))
                if self.blocked or self.close_after_reply:
                    break
        # A pipeline's replies wait for the end of the loop pass (ReplyWriter), except when the
        # AOF must see the batch's writes before its replies leave (its own hooks order that) or
        # the client is closing. A lone command's reply leaves at once: there, waiting saved no
        # system time and its scheduling cost a lone request 3-4 µs of user time.
        writer = self.reply_writer
        if pipelined and writer is not None and self.out and not self.close_after_reply \
                and not self.server.propagator.sinks:
            writer.defer(self)
        else:
            self.flush()

    def add_reply(self, reply: Any) -> None:
        if reply is NO_REPLY:
            return
        mode = self.reply_mode
        if mode == "on":
            encode_into(self.out, reply, self.resp)
        elif mode == "skip":
            self.reply_mode = "on"

    def flush(self) -> None:
        if self.out and self.transport is not None and not self.closed:
            data = b"".join(self.out)
            stats = self.server.stats
            stats.total_net_output_bytes += len(data)
            stats.total_writes_processed += 1
            self.transport.write(data)
        self.out.clear()
        if self.close_after_reply and not self.closed:
            self.close()

    def send(self, reply: Any) -> None:
        """Deliver an out-of-band reply now (pub/sub messages, MONITOR lines, unblocked replies)."""
        encode_into(self.out, reply, self.resp)
        self.flush()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()
            self.server.client_closed(self)

    # -- introspection ------------------------------------------------------------------------

    @property
    def query_buffer(self) -> int:
        """Bytes received and not parsed into a command yet (CLIENT LIST qbuf)."""
        return self.parser.buffered if self.parser is not None else 0

    def info_line(self) -> str:
        """One CLIENT LIST / CLIENT INFO line, with Redis 7.2's fields in its order."""
        now = time.time()
        tx = self.tx
        tracking = self.tracking
        flags = "".join((
            "O" if self.monitor else "",
            "P" if self.channels or self.patterns or self.shard_channels else "",
            "x" if tx is not None else "",
            "b" if self.blocked else "",
            "t" if tracking is not None else "",
            "B" if tracking is not None and tracking.bcast else "",
            "d" if self.watch_dirty else "",
            "c" if self.close_after_reply else "",
            "e" if self.no_evict else "",
            "T" if self.no_touch else "",
        )) or "N"
        try:
            fd = self.transport.get_extra_info("socket").fileno()  # type: ignore[union-attr]
        except (AttributeError, OSError):
            fd = -1  # Redis's value for clients without a socket
        return (
            f"id={self.id} addr={self.addr} laddr={self.laddr} fd={fd} name={self.name.decode('utf-8', 'replace')} "
            f"age={int(now - self.created)} idle={max(now_ms() - self.last_interaction, 0) // 1000} "
            f"flags={flags} db={self.db.id} sub={len(self.channels)} psub={len(self.patterns)} "
            f"ssub={len(self.shard_channels)} multi={len(tx.queued) if tx is not None else -1} "
            f"qbuf={self.query_buffer} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 "
            f"omem={pending_output(self)} tot-mem={client_memory(self)} events=r cmd={self.last_command} "
            f"user={self.user} "
            f"redir={tracking.redirect if tracking is not None else -1} resp={self.resp} "
            f"lib-name={self.lib_name.decode('utf-8', 'replace')} lib-ver={self.lib_ver.decode('utf-8', 'replace')}"
        )
