"""The dispatcher: the single choke point every command passes through (Redis's processCommand
and call()).

Before the handler: command lookup, arity, authentication and the other admission checks, in
Redis's order, so a rejected command gets the same error Redis gives. After it: command and error
statistics, the slow log, the latency monitor and MONITOR feeds. Handlers only return a reply or
raise CommandError.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..commands.table import TABLE, Command
from ..protocol.encoder import BULK_HEADERS, CRLF, STATUS_CACHE, encode_into
from ..protocol.errors import NOAUTH, CommandError, unknown_subcommand, wrong_arity
from .client import NO_REPLY, NoReply
from .latency_histogram import record as record_latency
from .memory import OOM
from .multi import abort_exec

if TYPE_CHECKING:
    from .app import Server
    from .client import Client

log = logging.getLogger("ember")

_perf_ns = time.perf_counter_ns
QUEUED = STATUS_CACHE["QUEUED"]


def unknown_command(args: list[bytes]) -> CommandError:
    """Redis's text: the name, then up to ~128 characters of arguments, each quoted."""
    name = args[0].decode("utf-8", "replace")[:128]
    tail = ""
    for arg in args[1:]:
        if len(tail) >= 128:
            break
        tail += "'" + arg.decode("utf-8", "replace")[: 128 - len(tail)] + "' "
    return CommandError(f"ERR unknown command '{name}', with args beginning with: {tail}")


def resolve(args: list[bytes]) -> Command | CommandError:
    """The command args name, or the error Redis gives when it can't be run with these args."""
    cmd = _by_sent_name.get(args[0])
    if cmd is None:
        cmd = TABLE.lookup(args[0])
        if cmd is None:
            return unknown_command(args)
        if len(_by_sent_name) < 1024:
            _by_sent_name[args[0]] = cmd
            if cmd.runs_lean():
                LEAN[args[0]] = cmd
                if "no_multi" not in cmd.flags and cmd.name not in _TRANSACTION_CONTROL:
                    QUEUEABLE[args[0]] = cmd
    if cmd.subcommands:
        if len(args) < 2:
            if cmd.handler is None:
                return wrong_arity(cmd.name)
        else:
            sub = cmd.subcommands.get(args[1].lower())
            if sub is None:
                return unknown_subcommand(args[1], cmd.name)
            cmd = sub
    if len(args) not in cmd.argc:  # Command.arity_ok, inlined
        cmd.rejected_calls += 1
        return wrong_arity(cmd.name)
    return cmd


# Commands by the exact bytes clients send ("SET", "set"), so the usual lookup is one dict get
# with no lower(). Bounded: odd spellings past the cap just take the slow lookup. The table is
# final once the server runs (rename-command applies at start-up).
_by_sent_name: dict[bytes, Command] = {}
# Those among them that may run lean (Command.runs_lean): for a client with nothing to check
# before a command (Client.lean_commands), Client.process calls these without execute()'s
# admission checks.
LEAN: dict[bytes, Command] = {}
# Those of them a client inside MULTI queues the same way, skipping execute(): not refused in a
# transaction (no_multi) and not a transaction command itself (WATCH).
QUEUEABLE: dict[bytes, Command] = {}


# An HTTP request sent to the server (cross-protocol scripting from a browser) starts like this.
_CROSS_PROTOCOL_MARKERS = frozenset((b"post", b"host:"))
_last_security_warning = 0.0


def refuse_cross_protocol(client: Client) -> NoReply:
    """Drop the connection without a reply, as Redis does, warning at most once a minute."""
    global _last_security_warning
    now = time.monotonic()
    if now - _last_security_warning > 60:
        _last_security_warning = now
        log.warning("Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: "
                    "commands to Redis. This is likely due to an attacker attempting to use Cross Protocol "
                    "Scripting to compromise your Redis instance. Connection aborted.")
    client.out.clear()
    client.pending.clear()
    client.close()
    return NO_REPLY


# Commands that act on the transaction itself instead of being queued after MULTI.
_TRANSACTION_CONTROL = frozenset(("exec", "discard", "multi", "watch", "quit", "reset"))
# The only commands a RESP2 client may send while subscribed.
_SUBSCRIBED_CONTEXT = frozenset((
    "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe", "psubscribe", "punsubscribe",
    "ping", "quit", "reset",
))


def execute(client: Client, args: list[bytes]) -> Any:
    """Admit and run one command for client; returns the reply value."""
    cmd = _by_sent_name.get(args[0])
    if cmd is None or cmd.subcommands or len(args) not in cmd.argc:
        cmd = resolve(args)  # the usual command is one dict get; anything else resolves in full
        if cmd.__class__ is CommandError:
            return _unresolved(client, args, cmd)
    client.last_command = cmd.name  # as Redis's lastcmd: set before the checks, kept through EXEC and scripts
    server = client.server
    tx = client.tx
    if tx is not None or not client.authenticated or server.write_error is not None or server.memory.limit or \
            (client.resp == 2 and (client.channels or client.patterns or client.shard_channels)):
        refused = _admission_error(client, cmd)
        if refused is not None:
            return refused
    blocking = server.blocking
    if blocking.pause_mode and _must_pause(client, cmd):
        return blocking.hold(client, args)
    if tx is not None and cmd.name not in _TRANSACTION_CONTROL:
        tx.queue(client, cmd, args)  # after the pause check: Redis holds a write even when queued
        return "QUEUED"
    reply = call(client, cmd, args)
    if server.propagator.pending:
        server.propagator.flush()
    if blocking.ready:
        blocking.serve_ready()  # after the whole top-level command, as Redis's handleClientsBlockedOnKeys
    return reply


def _unresolved(client: Client, args: list[bytes], error: CommandError) -> Any:
    """An unknown command or wrong arity: the error reply (or a dropped connection for HTTP)."""
    if args[0].lower() in _CROSS_PROTOCOL_MARKERS:
        return refuse_cross_protocol(client)
    if client.tx is not None:
        client.tx.failed = True
    known = TABLE.lookup(args[0])
    if known is not None and known.name == "exec":  # EXEC with arguments
        error = abort_exec(client, error)
    client.server.stats.count_error(error.code)
    return error


def _admission_error(client: Client, cmd: Command) -> CommandError | None:
    """The checks only clients in an unusual state need, in Redis's order (processCommand):
    authentication, MULTI rules, maxmemory (evicting first), MISCONF, the RESP2 subscribed
    context. Returns the error that refuses the command, or None to go on."""
    if not client.authenticated and "no_auth" not in cmd.flags:
        return reject(client, cmd, CommandError(NOAUTH))
    if client.tx is not None and "no_multi" in cmd.flags:
        return reject(client, cmd, CommandError("ERR Command not allowed inside a transaction"))
    server = client.server
    if server.memory.limit and not server.memory.admits(client, cmd):
        return reject(client, cmd, CommandError(OOM))
    if server.write_error is not None and ("write" in cmd.flags or cmd.name == "ping"):
        return reject(client, cmd, server.write_error)  # MISCONF: the last background save failed
    if client.resp == 2 and (client.channels or client.patterns or client.shard_channels) \
            and cmd.name not in _SUBSCRIBED_CONTEXT:
        return reject(client, cmd, CommandError(
            f"ERR Can't execute '{cmd.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
            "are allowed in this context"))
    return None


def _must_pause(client: Client, cmd: Command) -> bool:
    """CLIENT PAUSE holds cmd. Under WRITE an EXEC counts as a write when a queued command
    writes (Redis looks at the flags of the whole transaction)."""
    blocking = client.server.blocking
    if blocking.must_pause(client, cmd):
        return True
    tx = client.tx
    return blocking.pause_mode == "write" and cmd.name == "exec" and tx is not None and tx.writes


def reject(client: Client, cmd: Command, error: CommandError) -> CommandError:
    """Refuse to run cmd; inside MULTI this also dooms the transaction (EXECABORT). A refused
    EXEC ends the transaction with the reason, as Redis's execCommandAbort."""
    cmd.rejected_calls += 1
    if client.tx is not None:
        client.tx.failed = True
    if cmd.name == "exec":
        error = abort_exec(client, error)
    client.server.stats.count_error(error.code)
    return error


# Reply classes that cannot be errors: call() skips its error checks for them.
_PLAIN_REPLIES = frozenset((bytes, str, int, type(None), list))


def call(client: Client, cmd: Command, args: list[bytes]) -> Any:
    """Run the handler and do the after-call bookkeeping."""
    server = client.server
    server.current_client = client
    dirty_before = server.dirty
    start = _perf_ns()
    try:
        reply = cmd.handler(client, args)
    except CommandError as err:
        reply = err
    except Exception as exc:  # a bug in a handler must not take the server down
        reply = _crashed(server, cmd, exc)
    _account(client, cmd, 1, start, args)
    if server.propagator.sinks and server.dirty != dirty_before and "write" in cmd.flags:
        server.propagator.add_command(client, args)
    client.rewritten = None
    if reply.__class__ not in _PLAIN_REPLIES and isinstance(reply, CommandError):
        _count_failure(server, cmd, reply)
    if client.tracking is not None and "readonly" in cmd.flags and not isinstance(reply, CommandError):
        server.tracking.remember_keys(client, cmd.keys(args))
    return reply


def queue_lean(client: Client, pending: deque[list[bytes]], queueable: Mapping[bytes, Command]) -> None:
    """Inside MULTI, queue the commands at the head of pending that may be queued without
    execute()'s checks (Client.lean_commands gave QUEUEABLE); stop at the first other one, or
    at one maxmemory refuses (execute() then refuses it as Redis does). The loop head is
    run_lean's: shared through a helper, it would cost run_lean a call per command."""
    tx = client.tx
    append = client.out.append
    memory = client.server.memory
    while pending:
        args = pending.popleft()
        cmd = queueable.get(args[0])
        if cmd is None or len(args) not in cmd.argc or (memory.limit and not memory.admits(client, cmd)):
            pending.appendleft(args)
            return
        client.last_command = cmd.name
        tx.queue(client, cmd, args)  # type: ignore[union-attr]
        append(QUEUED)


def run_lean(client: Client, pending: deque[list[bytes]], lean: Mapping[bytes, Command]) -> None:
    """Run the lean commands (Client.lean_commands) at the head of pending, encoding their
    replies into client.out; stop at the first other command, leaving it queued, at one that
    maxmemory refuses (execute() then refuses it as Redis does), or when the client blocks.

    With no AOF or replica to propagate to and no client-side tracking, nothing in call()'s
    bookkeeping but the statistics, the error counts and the notable-call check applies, and
    lean commands change none of that: the run does call()'s work inline, and times its
    commands in groups (see TIMING_GROUP): one clock read per group, which starts where the
    previous one ended, so a duration includes encoding the previous reply (well under a
    microsecond) and, with maxmemory set, the admission."""
    server = client.server
    propagator, blocking = server.propagator, server.blocking
    observed = propagator.sinks or client.tracking is not None
    memory = server.memory
    limited = memory.limit  # (no lean command can change it)
    group_limit = TIMING_GROUP if server.notable_call_ns >= TIMING_GROUP_MIN_NS else 1
    append = client.out.append
    timed = timed_args = None  # the command of the timing group, and the args of its first call
    calls = limit = 0
    server.current_client = client  # handlers leave it so; serving waiters does not (below)
    start = _perf_ns()
    while pending:
        args = pending.popleft()
        cmd = lean.get(args[0])
        if cmd is None or len(args) not in cmd.argc or (limited and not memory.admits(client, cmd)):
            pending.appendleft(args)
            break
        if observed:
            client.last_command = cmd.name
            reply = call(client, cmd, args)
            if propagator.pending:
                propagator.flush()
        else:
            if cmd is not timed or calls == limit:
                if timed is not None:
                    start = _account(client, timed, calls, start, timed_args)
                timed, timed_args, calls = cmd, args, 0
                limit = group_limit if cmd.constant_time else 1
                client.last_command = cmd.name  # (a group is calls of one command)
            calls += 1
            try:
                reply = cmd.handler(client, args)
            except CommandError as err:
                reply = err
            except Exception as exc:  # a bug in a handler must not take the server down
                reply = _crashed(server, cmd, exc)
        if blocking.ready:
            if timed is not None:  # waiters served are not part of this command's time
                _account(client, timed, calls, start, timed_args)
                timed = None
            blocking.serve_ready()  # (a waiter served runs its client's queue: current_client changes)
            server.current_client = client
            start = _perf_ns()
        # encode_into, with the commonest replies (a short bulk, "OK", an integer) inlined
        if reply.__class__ is bytes and len(reply) < 1024:
            append(BULK_HEADERS[len(reply)])  # (three appends beat out += (...): no tuple)
            append(reply)
            append(CRLF)
        elif reply.__class__ is str and reply in STATUS_CACHE:
            append(STATUS_CACHE[reply])
        elif reply.__class__ is int:
            append(b":%d\r\n" % reply)
        elif reply is not NO_REPLY:
            if not observed and isinstance(reply, CommandError):  # (call() counted those it ran)
                _count_failure(server, cmd, reply)
            encode_into(client.out, reply, client.resp)
        elif client.blocked:
            break
    if timed is not None:
        _account(client, timed, calls, start, timed_args)


# run_lean times up to TIMING_GROUP calls of one O(1) command in a row with a single clock read
# (a clock read costs as much as running GET). A group's time is its calls' time summed, so
# commandstats are unchanged; the latency histogram gets the group's mean for each of its calls
# (calls of an O(1) command in a row differ by fractions of a µs, below its 1 µs resolution).
# Only a group past the notable-call threshold is ambiguous, and it is reported as its first
# call. That can only happen when the server stalls (a group of O(1) calls takes microseconds)
# and only while the threshold is at least TIMING_GROUP_MIN_NS: below it (a low slowlog
# threshold, a MONITOR client) and for other commands every call is timed.
TIMING_GROUP = 16
TIMING_GROUP_MIN_NS = 1_000_000


def _account(client: Client, cmd: Command, calls: int, start: int, args: list[bytes]) -> int:
    """Account for `calls` calls of cmd timed from start (call()'s one, or a timing group of
    run_lean's, reported as its first call's args): commandstats, the latency histogram, the
    notable-call check. Returns the time it ended."""
    end = _perf_ns()
    duration_ns = end - start
    cmd.calls += calls
    cmd.nsec += duration_ns
    server = client.server
    if server.latency_tracking:  # each call of a group as the group's mean
        record_latency(cmd.latency, duration_ns // calls, calls)
    if duration_ns >= server.notable_call_ns:
        after_notable_call(client, cmd, args, duration_ns // 1000)
    return end


def _count_failure(server: Server, cmd: Command, error: CommandError) -> None:
    cmd.failed_calls += 1
    if error.__class__ is CommandError:  # one relayed from a script was counted where it arose
        server.stats.count_error(error.code)


def _crashed(server: Server, cmd: Command, exc: Exception) -> CommandError:
    log.exception("Unexpected error running %s", cmd.name)
    server.stats.unexpected_error_replies += 1
    return CommandError(f"ERR internal error running '{cmd.name}': {exc.__class__.__name__}")


def after_notable_call(client: Client, cmd: Command, args: list[bytes], duration_us: int) -> None:
    """A call past slowlog-log-slower-than or latency-monitor-threshold, or any call while a
    client monitors (Server.notable_call_ns is the lowest of these)."""
    server = client.server
    if duration_us >= server.slowlog_threshold_us >= 0 and "skip_slowlog" not in cmd.flags:
        server.slowlog_add(client, args, duration_us)
    if server.latency_threshold_ms and duration_us >= server.latency_threshold_ms * 1000:
        server.latency_add("command", duration_us // 1000)
    if server.monitors and "skip_monitor" not in cmd.flags and "admin" not in cmd.flags:
        server.feed_monitors(client, args)
