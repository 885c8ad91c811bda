"""The Server: configuration, databases, connected clients and server-wide state.

One asyncio event loop (uvloop when installed) owns all of it: no locks on the hot path.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections import deque
from typing import TYPE_CHECKING

from .. import REDIS_COMPAT_VERSION, __version__
from ..config import Config
from ..keyspace.database import ChangeListener, Database
from ..protocol.errors import CommandError
from ..scripting.lua import ScriptEngine
from .acl_log import AclLog
from .blocking import BlockingManager
from .client_eviction import ClientEviction
from .memory import Memory
from .multi import WatchRegistry
from .notify import KeyspaceNotifier
from .propagate import Propagator
from .pubsub import PubSub
from .stats import SlowlogEntry, Stats
from .tracking import Tracking

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger("ember")


class Server:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.dbs = [Database(i, self) for i in range(config["databases"])]
        self.clients: dict[int, Client] = {}
        self.monitors: list[Client] = []
        self.stats = Stats()
        self.acl_log = AclLog()
        self.dirty = 0
        self.start_time = time.time()
        self.start_monotonic = time.monotonic()
        self.run_id = os.urandom(20).hex()
        self.version = __version__
        self.redis_version = REDIS_COMPAT_VERSION
        self._last_client_id = 0
        self.slowlog: deque[SlowlogEntry] = deque(maxlen=config["slowlog-max-len"])
        self.slowlog_next_id = 0
        self.latency_events: dict[str, deque[tuple[int, int]]] = {}
        self.tcp_port = config["port"]
        self.loop: asyncio.AbstractEventLoop | None = None
        self.listeners: list[asyncio.AbstractServer] = []
        self.exit_code = 0
        self.on_stop = lambda: None  # set by the event loop runner
        self.stopping = False
        self.write_error: CommandError | None = None  # MISCONF while snapshots fail (persistence.snapshot)
        self.active_expire_enabled = True  # DEBUG SET-ACTIVE-EXPIRE 0 turns the cron cycle off
        self.propagator = Propagator()
        self.blocking = BlockingManager(self)
        self.watches = WatchRegistry(self)
        self.pubsub = PubSub(self)
        self.notifier = KeyspaceNotifier(self)
        self.tracking = Tracking(self)
        self.memory = Memory(self)
        self.client_eviction = ClientEviction(self)
        self.scripts = ScriptEngine(self)
        self.current_client: Client | None = None  # whose command is running (NOLOOP, scripts)
        self._cache_hot_settings()

    # -- settings read on the hot path are cached as attributes, refreshed on CONFIG SET ------

    def _cache_hot_settings(self) -> None:
        for name in ("slowlog-log-slower-than", "latency-monitor-threshold", "proto-max-bulk-len",
                     "client-query-buffer-limit", "slowlog-max-len", "latency-tracking"):
            self.config.on_change(name, lambda _value: self._refresh_hot_settings())
        self._refresh_hot_settings()

    def _refresh_hot_settings(self) -> None:
        cfg = self.config
        self.slowlog_threshold_us = cfg["slowlog-log-slower-than"]
        self.latency_threshold_ms = cfg["latency-monitor-threshold"]
        self.latency_tracking = cfg["latency-tracking"]
        self._refresh_notable_call_ns()
        self.proto_max_bulk_len = cfg["proto-max-bulk-len"]
        for client in self.clients.values():  # (new connections' parsers start with it)
            if client.parser is not None:
                client.parser.max_bulk_len = self.proto_max_bulk_len
        self.query_buffer_limit = cfg["client-query-buffer-limit"]
        if self.slowlog.maxlen != cfg["slowlog-max-len"]:
            self.slowlog = deque(self.slowlog, maxlen=cfg["slowlog-max-len"])

    def _refresh_notable_call_ns(self) -> None:
        """The one duration call() compares each command with (dispatch.after_notable_call):
        the lower enabled slow threshold, or 0 while a MONITOR client wants every command."""
        slow_us = min(self.slowlog_threshold_us if self.slowlog_threshold_us >= 0 else 2**52,
                      self.latency_threshold_ms * 1000 if self.latency_threshold_ms > 0 else 2**52)
        self.notable_call_ns = 0 if self.monitors else slow_us * 1000

    # -- clients ------------------------------------------------------------------------------

    def next_client_id(self) -> int:
        self._last_client_id += 1
        return self._last_client_id

    def watch_keys(self, callback: ChangeListener, on: bool) -> None:
        """Have callback told of every key change in every database (on), or no more. Subsystems
        listen only while they have state (a WATCH, a blocked client, a tracking client), so a
        plain write pays for no listener."""
        for db in self.dbs:
            if on:
                db.listen(callback)
            else:
                db.unlisten(callback)

    def requires_auth(self) -> bool:
        return bool(self.config["requirepass"])

    def client_opened(self, client: Client) -> None:
        self.clients[client.id] = client
        self.stats.total_connections_received += 1

    def client_closed(self, client: Client) -> None:
        self.clients.pop(client.id, None)
        self.blocking.client_closed(client)
        self.watches.unwatch_all(client)
        self.pubsub.client_closed(client)
        self.tracking.client_closed(client)
        self.client_eviction.forget(client)
        if client.monitor:
            self.remove_monitor(client)

    def pause_clients(self, mode: str, until_ms: int) -> None:
        """CLIENT PAUSE: hold commands of other clients ('write' or 'all') until until_ms."""
        self.blocking.pause(mode, until_ms)

    def unpause_clients(self) -> None:
        self.blocking.unpause()

    # -- time ---------------------------------------------------------------------------------

    @staticmethod
    def clock_ms() -> int:
        return time.time_ns() // 1_000_000

    def uptime(self) -> int:
        return int(time.monotonic() - self.start_monotonic)

    # -- slow log, latency monitor, MONITOR ---------------------------------------------------

    def slowlog_add(self, client: Client, args: list[bytes], duration_us: int) -> None:
        # Like Redis: at most 32 arguments, each cut to 128 bytes, with a note of what was left out.
        shown = [a if len(a) <= 128 else a[:128] + b"... (%d more bytes)" % (len(a) - 128) for a in args[:32]]
        if len(args) > 32:
            shown[-1] = b"... (%d more arguments)" % (len(args) - 31)
        entry = SlowlogEntry(self.slowlog_next_id, int(time.time()), duration_us, shown,
                             client.addr, client.name.decode("utf-8", "replace"))
        self.slowlog_next_id += 1
        self.slowlog.appendleft(entry)

    def latency_add(self, event: str, latency_ms: int) -> None:
        samples = self.latency_events.setdefault(event, deque(maxlen=160))
        now = int(time.time())
        if samples and samples[-1][0] == now:
            if latency_ms > samples[-1][1]:
                samples[-1] = (now, latency_ms)
        else:
            samples.append((now, latency_ms))

    def add_monitor(self, client: Client) -> None:
        client.monitor = True
        self.monitors.append(client)
        self._refresh_notable_call_ns()

    def remove_monitor(self, client: Client) -> None:
        client.monitor = False
        self.monitors.remove(client)
        self._refresh_notable_call_ns()

    def feed_monitors(self, client: Client, args: list[bytes]) -> None:
        line = monitor_line(time.time(), client.db.id, client.addr, args)
        for monitor in list(self.monitors):
            if monitor is not client:
                monitor.send(line)

    # -- lifecycle ----------------------------------------------------------------------------

    def request_shutdown(self, exit_code: int = 0) -> None:
        self.exit_code = exit_code
        self.stopping = True
        self.on_stop()

    def install_signal_handlers(self) -> None:
        assert self.loop is not None
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self.loop.add_signal_handler(sig, self._on_signal, sig)
            except (NotImplementedError, RuntimeError):  # Windows: no loop signal handlers
                signal.signal(sig, lambda s, _f: self.loop.call_soon_threadsafe(self._on_signal, s))

    def _on_signal(self, sig: int) -> None:
        from ..persistence.snapshot import prepare_for_shutdown

        name = signal.Signals(sig).name
        log.warning("Received %s scheduling shutdown...", name)
        directive = "shutdown-on-sigterm" if sig == signal.SIGTERM else "shutdown-on-sigint"
        flags = str(self.config[directive]).split()
        if not prepare_for_shutdown(self, save_flag="save" in flags, nosave="nosave" in flags, force="force" in flags):
            log.warning("%s received but errors trying to shut down the server, check the logs for more information",
                        name)
            return
        self.request_shutdown(0)


def quote_arg(arg: bytes) -> str:
    """An argument as Redis's sdscatrepr shows it: double-quoted, with C-style escapes."""
    parts = ['"']
    for byte in arg:
        ch = chr(byte)
        if ch in '\\"':
            parts.append("\\" + ch)
        elif ch in _REPR_ESCAPES:
            parts.append(_REPR_ESCAPES[ch])
        elif 32 <= byte < 127:
            parts.append(ch)
        else:
            parts.append(f"\\x{byte:02x}")
    parts.append('"')
    return "".join(parts)


_REPR_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\a": "\\a", "\b": "\\b"}


def monitor_line(when: float, db: int, addr: str, args: list[bytes]) -> str:
    """A MONITOR line: '1339518083.107412 [0 127.0.0.1:60866] "keys" "*"' (sent as a status)."""
    quoted = " ".join(quote_arg(a) for a in args)
    return f"{when:.6f} [{db} {addr}] {quoted}"

