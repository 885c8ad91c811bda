"""The append-only file (Redis 7's multi-part AOF, src/aof.c): manifest, writer, loader, rewrite.

Layout, as Redis 7 writes it: `dir/appenddirname/` holds a manifest (`appendonly.aof.manifest`,
one `file <name> seq <n> type b|h|i` line per file), at most one base file (`.base.rdb` when
aof-use-rdb-preamble is on, else `.base.aof` made of commands) and the incremental files
(`.incr.aof`) that hold the writes made since that base, in order. History files (`h`) are
what a finished rewrite left behind; they are deleted unless aof-disable-auto-gc is on.

This module owns:
- the manifest: parsing with Redis's strictness and error texts, atomic persisting;
- the writer (`AOFState.feed`, a sink of `server.propagator`): each effective write arrives in
  its deterministic form and is appended as RESP, with SELECT when the database changes and
  `#TS:` annotations when aof-timestamp-enabled is on. Each batch is written before the
  dispatcher lets the reply go out; `appendfsync always` also fsyncs then, `everysec` fsyncs
  from a background thread at most once a second, so the loop never waits on the disk, and
  `no` leaves fsync to the OS. Write errors keep the data buffered, set
  aof_last_write_status:err and `server.aof_write_error` (the MISCONF error writers must get)
  until a retry from the cron succeeds;
- the loader: manifest, base (RDB or commands), incr files in order, replayed through the
  command handlers with a fake client; a torn tail of the last file is cut off (with Redis's
  warnings) when aof-load-truncated is on; anything else malformed stops the start with a
  message naming the file and the byte offset;
- BGREWRITEAOF: a forked child writes a new base from its copy-on-write image while the parent
  appends to a new incr file opened at the fork; when the child succeeds the manifest switches
  atomically and the old base and incr files become history (Redis's
  backgroundRewriteDoneHandler), also the automatic rewrite on growth;
- turning AOF on and off at runtime (CONFIG SET appendonly), start-up and shutdown, INFO fields.

Hooks the server calls: `load_at_startup` (instead of snapshot's: it loads the RDB when AOF is
off), `cron` (every tick) and `prepare_for_shutdown`; write errors reach the dispatcher through
`server.write_error`, which snapshot.py owns too.
"""

from __future__ import annotations

import contextlib
import errno as errno_codes
import gc
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, BinaryIO

from ..commands.server_admin import info_fields
from ..config import ConfigError, tokenize_line
from ..keyspace.hashes import Hash
from ..keyspace.lists import ListValue
from ..keyspace.sets import RedisSet
from ..keyspace.streams import Stream, format_id
from ..keyspace.zsets import ZSet
from ..protocol.encoder import format_double
from ..protocol.errors import CommandError
from . import snapshot
from .rdb import RDBError, function_library_codes, load_rdb, write_rdb

if TYPE_CHECKING:
    from ..server.app import Server
    from ..server.client import Client

log = logging.getLogger("ember")

OFF, ON, WAIT_REWRITE = "off", "on", "wait-rewrite"  # Redis's AOF_OFF / AOF_ON / AOF_WAIT_REWRITE

BASE, HISTORY, INCR = "b", "h", "i"
MANIFEST_MAX_LINE = 1024
REWRITE_ITEMS_PER_CMD = 64  # AOF_REWRITE_ITEMS_PER_CMD
WRITE_ERROR_LOG_RATE = 30  # seconds between two logged write errors (AOF_WRITE_LOG_ERROR_RATE)
REWRITE_LIMIT_THRESHOLD = 3  # consecutive failed rewrites before automatic ones are delayed
REWRITE_LIMIT_MAX_MINUTES = 60

_fsync: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)  # redis_fsync


class AOFLoadError(Exception):
    """The AOF cannot be loaded; the server must not start (or DEBUG LOADAOF exits)."""


# -- the manifest ------------------------------------------------------------------------------------

@dataclass
class AOFFile:
    name: str
    seq: int
    kind: str  # BASE, HISTORY or INCR


@dataclass
class Manifest:
    base: AOFFile | None = None
    incrs: list[AOFFile] = field(default_factory=list)
    history: list[AOFFile] = field(default_factory=list)
    base_seq: int = 0
    incr_seq: int = 0

    def copy(self) -> Manifest:
        return replace(self, base=replace(self.base) if self.base else None,
                       incrs=[replace(f) for f in self.incrs], history=[replace(f) for f in self.history])

    def text(self) -> bytes:
        """The manifest file: base first, then history, then incr files."""
        files = ([self.base] if self.base else []) + self.history + self.incrs
        return "".join(_manifest_line(f) for f in files).encode("utf-8", "surrogateescape")

    def new_base(self, filename: str, rdb: bool) -> str:
        """Name the next base file; the current one becomes history."""
        if self.base is not None:
            self.base.kind = HISTORY
            self.history.insert(0, self.base)
        self.base_seq += 1
        name = f"{filename}.{self.base_seq}.base.{'rdb' if rdb else 'aof'}"
        self.base = AOFFile(name, self.base_seq, BASE)
        return name

    def new_incr(self, filename: str) -> str:
        self.incr_seq += 1
        name = f"{filename}.{self.incr_seq}.incr.aof"
        self.incrs.append(AOFFile(name, self.incr_seq, INCR))
        return name

    def last_incr(self, filename: str) -> str:
        return self.incrs[-1].name if self.incrs else self.new_incr(filename)

    def incrs_to_history(self, keep_last: bool) -> None:
        """After a rewrite the incr files it covered become history; the one being written
        (the last, when AOF is on) stays."""
        moved = self.incrs[:-1] if keep_last and self.incrs else self.incrs
        for info in reversed(moved):
            self.history.insert(0, AOFFile(info.name, info.seq, HISTORY))
        self.incrs = self.incrs[-1:] if keep_last and self.incrs else []

    def loadable(self) -> list[AOFFile]:
        return ([self.base] if self.base else []) + self.incrs


def _manifest_line(info: AOFFile) -> str:
    name = info.name
    raw = name.encode("utf-8", "surrogateescape")
    if any(byte in _NEEDS_REPR for byte in raw):  # sdsneedsrepr: quote it as sdscatrepr does
        from ..server.app import quote_arg  # rare (an odd appendfilename): imported when needed

        name = quote_arg(raw)
    return f"file {name} seq {info.seq} type {info.kind}\n"


# Bytes that make Redis quote a file name: backslash, double quote, blanks, non-printables.
_NEEDS_REPR = frozenset(b'\\" \t\n\r\v\f') | frozenset(range(32)) | frozenset(range(127, 256))


class ManifestError(Exception):
    def __init__(self, message: str, line: str | None = None, number: int = 0) -> None:
        super().__init__(message)
        self.message, self.line, self.number = message, line, number


def parse_manifest(data: bytes) -> Manifest:
    """Read a manifest as aofLoadManifestFromFile does; ManifestError with Redis's texts."""
    manifest = Manifest()
    max_seq = 0
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines and lines[-1][:1] != b"#":  # Redis's fgets finds no "\n" in a last unterminated line
        raise ManifestError("The AOF manifest file contains too long line", None, len(lines))
    if not lines:
        raise ManifestError("Found an empty AOF manifest")
    for number, raw in enumerate(lines, 1):
        if raw.startswith(b"#"):
            continue
        if len(raw) + 1 > MANIFEST_MAX_LINE:
            raise ManifestError("The AOF manifest file contains too long line", None, number)
        line = raw.decode("utf-8", "surrogateescape").strip(" \t\r\n")
        info = _manifest_entry(line, number)
        if info.kind == BASE:
            if manifest.base is not None:
                raise ManifestError("Found duplicate base file information", line, number)
            manifest.base, manifest.base_seq = info, info.seq
        elif info.kind == HISTORY:
            manifest.history.append(info)
        elif info.kind == INCR:
            if info.seq <= max_seq:
                raise ManifestError("Found a non-monotonic sequence number", line, number)
            manifest.incrs.append(info)
            manifest.incr_seq = max_seq = info.seq
        else:
            raise ManifestError("Unknown AOF file type", line, number)
    return manifest


def _manifest_entry(line: str, number: int) -> AOFFile:
    words = tokenize_line(line) if line else None
    if not words or len(words) < 6 or len(words) % 2:
        raise ManifestError("Invalid AOF manifest file format", line, number)
    name, seq, kind = None, 0, ""
    for key, value in zip(words[0::2], words[1::2], strict=True):
        key = key.lower()
        if key == "file":
            if "/" in value or value in (".", ".."):
                raise ManifestError("File can't be a path, just a filename", line, number)
            name = value
        elif key == "seq":
            seq = c_atoi(value.encode())
        elif key == "type":
            kind = value[:1]
    if not name or not seq or not kind:
        raise ManifestError("Invalid AOF manifest file format", line, number)
    return AOFFile(name, seq, kind)


def c_atoi(raw: bytes) -> int:
    """C's atoi/strtol prefix parse: leading blanks, a sign, digits; 0 when there are none."""
    text = raw.lstrip(b" \t\n\v\f\r")
    end = 1 if text[:1] in (b"-", b"+") else 0
    while end < len(text) and 48 <= text[end] <= 57:
        end += 1
    digits = text[:end]
    return int(digits) if digits not in (b"", b"-", b"+") else 0


# -- RESP encoding of commands -------------------------------------------------------------------

def encode_command(out: bytearray, argv: list[bytes]) -> None:
    """Append argv as a RESP multibulk, as catAppendOnlyGenericCommand does."""
    out += b"*%d\r\n" % len(argv)
    for arg in argv:
        out += b"$%d\r\n%b\r\n" % (len(arg), arg)


def select_command(db_id: int) -> bytes:
    digits = b"%d" % db_id
    return b"*2\r\n$6\r\nSELECT\r\n$%d\r\n%b\r\n" % (len(digits), digits)


# -- the background fsync thread (Redis's BIO_AOF_FSYNC) ----------------------------------------------

class FsyncWorker:
    """fsyncs (and closes) AOF descriptors off the event loop; one job at a time, in order."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._jobs: list[tuple[int, bool]] = []
        self.pending = 0
        self.error: int = 0  # errno of the last failed fsync, 0 after a success (aof_bio_fsync_status)
        self._thread: threading.Thread | None = None

    def submit(self, fd: int, close: bool = False) -> None:
        with self._cond:
            self._jobs.append((fd, close))
            self.pending += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="aof-fsync", daemon=True)
                self._thread.start()
            self._cond.notify()

    def drain(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.pending and time.monotonic() < deadline:
                self._cond.wait(0.05)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._jobs:
                    self._cond.wait()
                fd, close = self._jobs.pop(0)
            try:
                _fsync(fd)
                failure = 0
            except OSError as err:
                failure = err.errno or errno_codes.EIO
            if close:
                with contextlib.suppress(OSError):
                    os.close(fd)
            with self._cond:
                if not close:
                    self.error = failure
                self.pending -= 1
                self._cond.notify_all()


# -- the AOF state and writer --------------------------------------------------------------------------

@dataclass
class AOFState:
    server: Server
    status: str = OFF
    fd: int = -1
    buf: bytearray = field(default_factory=bytearray)
    selected_db: int = -1
    manifest: Manifest = field(default_factory=Manifest)
    current_size: int = 0  # aof_current_size: base + incr files
    last_incr_size: int = 0  # size of the incr file being written
    rewrite_base_size: int = 0
    fsync_offset: int = 0  # current_size at the last fsync
    last_fsync: int = 0  # unix seconds
    last_timestamp: int = 0  # the last #TS annotation
    write_deferred: bool = False  # a write waits for the last command of a pipelined read
    held: list[Client] = field(default_factory=list)  # clients whose replies wait for the fsync
    sync_scheduled: bool = False
    flush_postponed_since: int = 0
    write_ok: bool = True  # aof_last_write_status
    write_errno: int = 0
    last_error_log: float = 0.0
    delayed_fsync: int = 0
    child_pid: int | None = None
    rewrite_started: float = -1.0
    last_rewrite_seconds: int = -1
    rewrite_ok: bool = True  # aof_last_bgrewrite_status
    rewrite_scheduled: bool = False
    rewrites: int = 0
    consecutive_failures: int = 0
    next_limited_rewrite: float = 0.0
    limit_delay_minutes: int = 0
    fsync_worker: FsyncWorker = field(default_factory=FsyncWorker)

    # -- settings ---------------------------------------------------------------------------------

    @property
    def config(self) -> Any:
        return self.server.config

    @property
    def dirname(self) -> str:
        return self.config["appenddirname"]

    @property
    def filename(self) -> str:
        return self.config["appendfilename"]

    def path(self, name: str) -> str:
        return os.path.join(self.dirname, name)

    def refresh_settings(self) -> None:
        config = self.config
        self.policy = config["appendfsync"]
        self.timestamps = bool(config["aof-timestamp-enabled"])
        self.no_fsync_on_rewrite = bool(config["no-appendfsync-on-rewrite"])

    # -- feeding (the propagator's sink) ----------------------------------------------------------

    def feed(self, batch: list[tuple[int, list[bytes]]]) -> None:
        """Append one propagated batch (feedAppendOnlyFile for each command)."""
        buf = self.buf
        for db_id, argv in batch:
            if self.timestamps:
                self._timestamp(buf)
            if db_id != self.selected_db:
                buf += select_command(db_id)
                self.selected_db = db_id
            buf += b"*%d\r\n" % len(argv)
            for arg in argv:
                buf += b"$%d\r\n%b\r\n" % (len(arg), arg)
        # Written before the reply goes out, as Redis writes its buffer before replying: an
        # acknowledged write survives a crash of the process (and with `always`, fsynced too, of
        # the machine). A client's replies to a pipelined read are sent together after its last
        # command, so while more of its commands are queued the write waits for that last one:
        # one write (and fsync) per read instead of one per command.
        client = self.server.current_client
        if self.policy == "always" and client is not None and self.server.loop is not None \
                and client.transport is not None and not client.closed:
            self._hold_replies(client)
            return
        if client is not None and client.pending and not client.blocked and self.server.loop is not None:
            if not self.write_deferred:
                self.write_deferred = True
                # In case the batch stops early (the client blocks, pauses or closes).
                self.server.loop.call_soon(self.write_deferred_data)
            return
        self.flush()

    def write_deferred_data(self) -> None:
        self.write_deferred = False
        if self.buf:
            self.flush()

    # -- appendfsync always: group commit ----------------------------------------------------------

    def _hold_replies(self, client: Client) -> None:
        """Keep client's replies until the next pass of the event loop has written and fsynced
        everything fed until then: one fsync covers the writes of every client served in one
        pass, as Redis's one fsync per event-loop iteration does, and no reply leaves before
        its write is on disk."""
        transport = client.transport
        if transport.__class__ is not HeldTransport:
            client.transport = HeldTransport(transport, self)
            self.held.append(client)
        if not self.sync_scheduled:
            self.sync_scheduled = True
            self.server.loop.call_soon(self.sync_and_release)

    def sync_and_release(self) -> None:
        """Write and fsync what is buffered, then let the held replies go out."""
        self.sync_scheduled = False
        if self.buf:
            self.flush(force=True)
        held, self.held = self.held, []
        for client in held:
            proxy = client.transport
            if proxy.__class__ is HeldTransport:
                client.transport = proxy.real
                if proxy.chunks and not proxy.real.is_closing():
                    proxy.real.write(b"".join(proxy.chunks))

    def _timestamp(self, buf: bytearray) -> None:
        now = int(time.time())
        if now > self.last_timestamp:
            self.last_timestamp = now
            buf += b"#TS:%d\r\n" % now

    # -- writing and fsync (flushAppendOnlyFile) --------------------------------------------------

    def flush(self, force: bool = False) -> None:
        if self.fd < 0:
            return
        everysec = self.policy == "everysec"
        now = int(time.time())
        if not self.buf:
            # Data written but not synced yet (writes stopped within the second): sync it now.
            if (everysec and self.fsync_offset != self.current_size and now > self.last_fsync
                    and not self.fsync_worker.pending):
                self._try_fsync(now)
            return
        if everysec and not force and self.fsync_worker.pending:
            # A background fsync is running: write(2) would wait on it; wait up to 2 seconds.
            if not self.flush_postponed_since:
                self.flush_postponed_since = now
                return
            if now - self.flush_postponed_since < 2:
                return
            self.delayed_fsync += 1
            log.info("Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer "
                     "without waiting for fsync to complete, this may slow down Redis.")
        self.flush_postponed_since = 0
        if not self._write_buffer(now):
            return
        self._try_fsync(now)

    def _write_buffer(self, now: int) -> bool:
        """Write the whole buffer; on failure undo a partial write, keep the data buffered and
        enter the error state (or exit under appendfsync always, as Redis must)."""
        data = self.buf
        written, error = _write_all(self.fd, data)
        if written == len(data):
            self.current_size += written
            self.last_incr_size += written
            self.buf = bytearray()
            if not self.write_ok:
                log.warning("AOF write error looks solved, Redis can write again.")
                self._set_write_status(True)
            return True
        can_log = now - self.last_error_log > WRITE_ERROR_LOG_RATE
        if can_log:
            self.last_error_log = now
        if written == 0 and error is not None:
            if can_log:
                log.warning("Error writing to the AOF file: %s", os.strerror(error))
            self.write_errno = error
        else:
            if can_log:
                log.warning("Short write while writing to the AOF file: (nwritten=%d, expected=%d)",
                            written, len(data))
            try:
                os.ftruncate(self.fd, self.last_incr_size)
                written = 0  # the partial command is gone: the whole buffer is retried later
            except OSError as err:
                if can_log:
                    log.warning("Could not remove short write from the append-only file.  Redis may refuse "
                                "to load the AOF the next time it starts.  ftruncate: %s", err.strerror)
            self.write_errno = errno_codes.ENOSPC
        if self.policy == "always":
            log.warning("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...")
            exit_now(1)
        if written > 0:  # could not be undone: those bytes are in the file now
            self.current_size += written
            self.last_incr_size += written
            del self.buf[:written]
        self._set_write_status(False)
        return False

    def _try_fsync(self, now: int) -> None:
        if self.no_fsync_on_rewrite and (self.child_pid is not None or snapshot.child_active(self.server)):
            return
        if self.policy == "always":
            try:
                _fsync(self.fd)
            except OSError as err:
                log.warning("Can't persist AOF for fsync error when the AOF fsync policy is 'always': %s. "
                            "Exiting...", err.strerror)
                exit_now(1)
            self.fsync_offset = self.current_size
            self.last_fsync = now
        elif self.policy == "everysec" and now > self.last_fsync:
            if not self.fsync_worker.pending:
                self.fsync_worker.submit(self.fd)
                self.fsync_offset = self.current_size
            self.last_fsync = now

    def _set_write_status(self, ok: bool) -> None:
        self.write_ok = ok
        self.refresh_write_error()

    def refresh_write_error(self) -> None:
        """The MISCONF error the dispatcher gives write commands (and PING) while the AOF cannot
        be written or fsynced (writeCommandsDeniedByDiskError): `server.aof_write_error`, and
        `server.write_error` (which the dispatcher checks) unless the RDB's error, which Redis
        checks first, is set."""
        error = None
        if self.status != OFF:
            if not self.write_ok:
                error = self.write_errno
            elif self.fsync_worker.error:
                error = self.write_errno = self.fsync_worker.error
        server = self.server
        server.aof_write_error = (
            None if error is None else CommandError(f"MISCONF Errors writing to the AOF file: {os.strerror(error)}"))
        snapshot.refresh_write_error(server)
        if server.write_error is None:
            server.write_error = server.aof_write_error

    def sync_now(self) -> None:
        """Write the buffer and fsync in the foreground (shutdown, turning AOF off)."""
        self.flush(force=True)
        if self.fd >= 0:
            try:
                _fsync(self.fd)
                self.fsync_offset = self.current_size
                self.last_fsync = int(time.time())
            except OSError as err:
                log.warning("Fail to fsync the AOF file: %s", err.strerror)
        self.sync_and_release()

    # -- files -------------------------------------------------------------------------------------

    def persist_manifest(self, manifest: Manifest) -> bool:
        """Write the manifest to a temp file, fsync, rename over the old one, fsync the dir."""
        name = f"{self.filename}.manifest"
        temp = self.path(f"temp-{name}")
        try:
            with open(temp, "wb") as handle:
                handle.write(manifest.text())
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as err:
            log.warning("Can't open the AOF manifest file temp-%s: %s", name, err.strerror)
            return False
        try:
            os.replace(temp, self.path(name))
        except OSError as err:
            log.warning("Error trying to rename the temporary AOF manifest file temp-%s into %s: %s",
                        name, name, err.strerror)
            return False
        fsync_directory(self.dirname)
        return True

    def file_size(self, name: str) -> int:
        try:
            return os.stat(self.path(name)).st_size
        except OSError as err:
            log.warning("Unable to obtain the AOF file %s length. stat: %s", name, err.strerror)
            return 0

    def open_incr(self, name: str, truncate: bool) -> int:
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if truncate else os.O_APPEND)
        fd = os.open(self.path(name), flags, 0o644)
        if truncate:  # O_TRUNC for a fresh file, then appends like every other write
            os.close(fd)
            fd = os.open(self.path(name), os.O_WRONLY | os.O_APPEND)
        return fd

    def replace_fd(self, fd: int) -> None:
        """Switch writing to fd; the old descriptor is fsynced and closed in the background."""
        if self.fd >= 0:
            self.fsync_worker.submit(self.fd, close=True)
            self.fsync_offset = self.current_size
            self.last_fsync = int(time.time())
        self.fd = fd
        self.last_incr_size = 0

    def child_running(self) -> bool:
        if self.child_pid is not None:
            reap_child(self.server)
        return self.child_pid is not None


class HeldTransport:
    """Stands in for a client's transport while its replies wait for the group fsync
    (appendfsync always): writes are kept, everything else goes to the real transport."""

    __slots__ = ("real", "state", "chunks")

    def __init__(self, real: Any, state: AOFState) -> None:
        self.real = real
        self.state = state
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.chunks.append(data)

    def close(self) -> None:
        self.state.sync_and_release()  # the replies already made go out (synced) before closing
        self.real.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _write_all(fd: int, data: bytearray) -> tuple[int, int | None]:
    """aofWrite: retry short writes; (bytes written, errno of the failure or None)."""
    try:
        total = os.write(fd, data)
    except InterruptedError:
        total = 0
    except OSError as err:
        return 0, err.errno or errno_codes.EIO
    if total == len(data):  # the usual case: one write
        return total, None
    view = memoryview(data)
    try:
        while total < len(data):
            try:
                total += os.write(fd, view[total:])
            except InterruptedError:
                continue
    except OSError as err:
        return total, err.errno or errno_codes.EIO
    finally:
        view.release()
    return total, None


def exit_now(code: int) -> None:
    logging.shutdown()
    os._exit(code)


def fsync_directory(path: str) -> None:
    """Make renames and new files in a directory durable (fsyncFileDir)."""
    try:
        fd = os.open(path or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as err:
        log.warning("Fail to fsync AOF directory %s: %s.", path, err.strerror)
    finally:
        os.close(fd)


def state(server: Server) -> AOFState:
    """The server's AOF state, created (with its config listeners) on first use."""
    current = getattr(server, "aof", None)
    if current is None:
        current = AOFState(server)
        server.aof = current
        server.aof_write_error = None
        current.refresh_settings()
        for name in ("appendfsync", "aof-timestamp-enabled", "no-appendfsync-on-rewrite"):
            server.config.on_change(name, lambda _value: current.refresh_settings())
    return current


def child_active(server: Server) -> bool:
    """Whether an AOF rewrite child is running (a finished one is reaped first)."""
    aof = getattr(server, "aof", None)
    return aof is not None and aof.child_running()


def any_child_active(server: Server) -> bool:
    """hasActiveChildProcess: a background save or an AOF rewrite."""
    return snapshot.child_active(server) or child_active(server)


# -- loading ---------------------------------------------------------------------------------------------

LOAD_OK, LOAD_NOT_EXIST, LOAD_EMPTY, LOAD_TRUNCATED = "ok", "not-exist", "empty", "truncated"


class _Truncated(Exception):
    """The data ends in the middle of a command (or of a MULTI): the valid part ends at offset."""

    def __init__(self, offset: int) -> None:
        self.offset = offset


class _BadFormat(Exception):
    def __init__(self, offset: int, detail: str) -> None:
        self.offset, self.detail = offset, detail


def load_manifest_from_disk(server: Server) -> Manifest:
    """The manifest in the AOF directory; an empty one when the directory or file is missing
    (an upgrade from a single-file AOF). ManifestError when it is malformed."""
    aof = state(server)
    path = aof.path(f"{aof.filename}.manifest")
    if not os.path.isdir(aof.dirname) or not os.path.exists(path):
        return Manifest()
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as err:
        raise ManifestError(f"Fatal error: can't open the AOF manifest file {path} for reading: "
                            f"{err.strerror}") from None
    return parse_manifest(data)


def upgrade_single_file(server: Server, manifest: Manifest) -> None:
    """A Redis < 7 `appendonly.aof` in `dir` becomes the base of a manifest in the AOF
    directory (aofUpgradePrepare). Safe to retry after a crash."""
    aof = state(server)
    filename = aof.filename
    if not os.path.exists(filename):
        return
    only_base = manifest.base is not None and not manifest.incrs and manifest.base.name == filename \
        and not os.path.exists(aof.path(filename))
    if os.path.isdir(aof.dirname) and manifest.loadable() and not only_base:
        return
    os.makedirs(aof.dirname, exist_ok=True)
    manifest.base, manifest.base_seq = AOFFile(filename, 1, BASE), 1
    if not aof.persist_manifest(manifest):
        raise AOFLoadError("Can't persist the AOF manifest while upgrading the old AOF file")
    os.replace(filename, aof.path(filename))
    log.info("Successfully migrated an old-style AOF file (%s) into the AOF directory (%s).", filename, aof.dirname)


def load_files(server: Server, manifest: Manifest) -> str:
    """Load the base and incr files the manifest lists (loadAppendOnlyFiles). Returns LOAD_*;
    raises AOFLoadError (after logging why) when the server must not go on."""
    aof = state(server)
    upgrade_single_file(server, manifest)
    files = manifest.loadable()
    if not files:
        return LOAD_NOT_EXIST
    sizes = []
    for info in files:
        if not os.path.exists(aof.path(info.name)):
            log.warning("Unable to obtain the AOF file %s length. stat: No such file or directory", info.name)
            raise AOFLoadError(f"The AOF file {info.name} listed in the manifest is missing")
        sizes.append(aof.file_size(info.name))
    total = sum(sizes)
    if total == 0:
        return LOAD_EMPTY
    result = LOAD_OK
    server.loading = True
    sinks, server.propagator.sinks = server.propagator.sinks, []  # replaying must not append to the AOF
    try:
        for index, info in enumerate(files):
            last = index == len(files) - 1
            started = time.perf_counter()
            status = load_single_file(server, info.name)
            if status == LOAD_TRUNCATED and not last:
                log.warning("Fatal error: the truncated file is not the last file")
                raise AOFLoadError(f"the truncated file {info.name} is not the last file")
            if status in (LOAD_OK, LOAD_TRUNCATED):
                log.info("DB loaded from %s file %s: %.3f seconds", "base" if info.kind == BASE else "incr",
                         info.name, time.perf_counter() - started)
            if status == LOAD_TRUNCATED:
                result = LOAD_TRUNCATED
    finally:
        server.loading = False
        server.propagator.sinks = sinks
    aof.current_size = sum(aof.file_size(info.name) for info in files)
    aof.rewrite_base_size = aof.file_size(manifest.base.name) if manifest.base else 0
    aof.fsync_offset = aof.current_size
    return result


def load_single_file(server: Server, name: str) -> str:
    """Replay one file (loadSingleAppendOnlyFile): an RDB body when it starts with "REDIS",
    then commands. Returns LOAD_OK, LOAD_EMPTY or LOAD_TRUNCATED; AOFLoadError otherwise."""
    aof = state(server)
    path = aof.path(name)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        log.warning("The append log file %s doesn't exist: No such file or directory", name)
        raise AOFLoadError(f"The append log file {name} doesn't exist") from None
    except OSError as err:
        log.warning("Fatal error: can't open the append log file %s for reading: %s", name, err.strerror)
        raise AOFLoadError(f"can't open the append log file {name}") from None
    if not data:
        return LOAD_EMPTY
    start = 0
    if data[:5] == b"REDIS":
        start = _load_rdb_part(server, data, name, old_style=name == aof.filename)
    try:
        replay_commands(server, data, start)
    except _BadFormat as err:
        log.warning("Bad file format reading the append only file %s: make a backup of your AOF file, then use "
                    "./redis-check-aof --fix <filename.manifest>", name)
        log.warning("The command at offset %d of %s is malformed: %s", err.offset, name, err.detail)
        raise AOFLoadError(f"Bad file format reading the append only file {name} at offset {err.offset}: "
                           f"{err.detail}") from None
    except _Truncated as cut:
        return _handle_truncation(server, name, path, cut.offset)
    return LOAD_OK


def _load_rdb_part(server: Server, data: bytes, name: str, *, old_style: bool) -> int:
    """Load an RDB base (or the RDB preamble of a Redis 4-6 AOF); returns where it ends."""
    log.info("Reading RDB preamble from AOF file..." if old_style else "Reading RDB base file on AOF loading...")
    try:
        stats = load_rdb(server, data, keep_expired=True,
                         verify_checksum=not snapshot.state(server).skip_checksum_validation)
    except RDBError as err:
        if old_style:
            log.warning("Error reading the RDB preamble of the AOF file %s, AOF loading aborted", name)
        else:
            log.warning("Error reading the RDB base file %s, AOF loading aborted", name)
        log.warning("%s: %s", name, err)
        raise AOFLoadError(f"Error reading the RDB part of {name}: {err}") from None
    end = getattr(stats, "end_offset", None)
    if end is None:  # the RDB reader does not report where it stopped: take the file as all RDB
        if old_style:
            log.warning("The RDB reader gives no end offset: commands after the preamble of %s are not loaded", name)
        end = len(data)
    if old_style:
        log.info("Reading the remaining AOF tail...")
    return end


def _handle_truncation(server: Server, name: str, path: str, valid_up_to: int) -> str:
    if server.config["aof-load-truncated"]:
        log.warning("!!! Warning: short read while loading the AOF file %s!!!", name)
        log.warning("!!! Truncating the AOF %s at offset %d !!!", name, valid_up_to)
        try:
            os.truncate(path, valid_up_to)
        except OSError as err:
            log.warning("Error truncating the AOF file %s: %s", name, err.strerror)
        else:
            log.warning("AOF %s loaded anyway because aof-load-truncated is enabled", name)
            return LOAD_TRUNCATED
    log.warning("Unexpected end of file reading the append only file %s. You can: 1) Make a backup of your AOF "
                "file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the "
                "'aof-load-truncated' configuration option to yes and restart the server.", name)
    raise AOFLoadError(f"Unexpected end of file reading the append only file {name} "
                       f"(the last complete command ends at offset {valid_up_to})")


def loading_client(server: Server) -> Client:
    """The fake client the AOF is replayed through: no socket, never blocks, never replies."""
    from ..server.client import Client

    last_id = server._last_client_id
    client = Client(server, None, "", "")
    server._last_client_id = last_id  # Redis's AOF client has its own id: real clients keep theirs
    client.authenticated = True
    client.in_exec = True  # blocking commands answer at once instead of blocking (CLIENT_DENY_BLOCKING)
    return client


def replay_commands(server: Server, data: bytes, pos: int) -> None:
    """Run every command in data[pos:]. Raises _BadFormat, or _Truncated with the offset of
    the end of the last complete command (before an unfinished MULTI)."""
    from ..server.dispatch import resolve

    client = loading_client(server)
    previous = server.current_client
    server.current_client = client
    queued: list[tuple[Any, list[bytes]]] | None = None
    valid_up_to = valid_before_multi = pos
    end = len(data)
    try:
        while pos < end:
            if data[pos] == 0x23:  # "#": an annotation line (#TS:...)
                newline = data.find(b"\n", pos)
                pos = end if newline < 0 else newline + 1
                continue
            command_start = pos
            args, pos = _read_command(data, pos, end, valid_up_to)
            cmd = resolve(args)
            if cmd.__class__ is CommandError:
                name = args[0].decode("utf-8", "replace")
                log.warning("Unknown command '%s' reading the append only file", name)
                raise _BadFormat(command_start, f"unknown command '{name}' or wrong number of arguments "
                                                f"({cmd.message})")
            if cmd.name == "multi":
                valid_before_multi = valid_up_to
                queued = []
            elif cmd.name == "exec" and queued is not None:
                for queued_cmd, queued_args in queued:
                    _run(client, queued_cmd, queued_args, command_start)
                queued = None
            elif queued is not None:
                queued.append((cmd, args))
            else:
                _run(client, cmd, args, command_start)
            valid_up_to = pos
        if queued is not None:
            log.warning("Revert incomplete MULTI/EXEC transaction in AOF file")
            raise _Truncated(valid_before_multi)
    finally:
        server.current_client = previous


def _read_command(data: bytes, pos: int, end: int, valid_up_to: int) -> tuple[list[bytes], int]:
    """One `*argc` then argc `$len` bulks, parsed as leniently as Redis's fgets/atoi reader."""
    argc, next_line = _header(data, pos, 0x2A, valid_up_to)  # "*"
    if argc < 1:
        raise _BadFormat(pos, "invalid argument count")
    pos = next_line
    args = []
    for _ in range(argc):
        if pos >= end:
            raise _Truncated(valid_up_to)
        length, start = _header(data, pos, 0x24, valid_up_to)  # "$"
        if length < 0:
            raise _BadFormat(pos, "negative argument length")
        pos = start + length + 2  # the argument and its CRLF
        if pos > end:
            raise _Truncated(valid_up_to)
        args.append(data[start:start + length])
    return args, pos


def _header(data: bytes, pos: int, marker: int, valid_up_to: int) -> tuple[int, int]:
    """A `*n` or `$n` line: (n, where the next line starts)."""
    if data[pos] != marker:
        raise _BadFormat(pos, f"expected '{chr(marker)}'")
    newline = data.find(b"\n", pos)
    if newline < 0:
        raise _Truncated(valid_up_to)
    return c_atoi(data[pos + 1:newline]), newline + 1


def _run(client: Client, cmd: Any, args: list[bytes], offset: int) -> None:
    """Run one command for the loader; its reply, errors included, is dropped as in Redis."""
    try:
        cmd.handler(client, args)
    except CommandError:
        pass
    except Exception as exc:
        log.exception("Error replaying %s from the AOF", cmd.name)
        raise _BadFormat(offset, f"the command {cmd.name} failed: {exc!r}") from None
    finally:
        client.rewritten = None


# -- start-up, runtime switch, shutdown -----------------------------------------------------------------

def load_at_startup(server: Server) -> bool:
    """Load the dataset before accepting connections: the AOF when appendonly is on (its files
    only, as Redis: no RDB fallback), else the RDB; then open the AOF for appending. False
    (after logging why) when the server must not start."""
    aof = state(server)
    if not server.config["appendonly"]:
        # Known files still count with AOF off: a later rewrite or CONFIG SET appendonly yes
        # continues their numbering and retires them, as Redis (which always reads the manifest).
        with contextlib.suppress(ManifestError, OSError):
            aof.manifest = load_manifest_from_disk(server)
        return snapshot.load_at_startup(server)
    aof.status = ON
    started = time.perf_counter()
    try:
        aof.manifest = load_manifest_from_disk(server)
        status = load_files(server, aof.manifest)
    except ManifestError as err:
        log.warning("\n*** FATAL AOF MANIFEST FILE ERROR ***\n")
        if err.line is not None:
            log.warning("Reading the manifest file, at line %d\n", err.number)
            log.warning(">>> '%s'\n", err.line)
        log.warning("%s\n", err.message)
        return False
    except AOFLoadError as err:
        log.warning("Fatal error loading the AOF: %s. Exiting.", err)
        return False
    except OSError as err:
        log.warning("Fatal error loading the AOF: %s. Exiting.", err.strerror or err)
        return False
    if status != LOAD_NOT_EXIST:
        log.info("DB loaded from append only file: %.3f seconds", time.perf_counter() - started)
    server.dirty = 0
    if not open_on_startup(server):
        return False
    delete_history_files(server)
    return True


def open_on_startup(server: Server) -> bool:
    """aofOpenIfNeededOnServerStart: make the AOF directory, a base file when there is none
    (an empty dataset's), and open the last incr file (or a new one) for appending."""
    aof = state(server)
    manifest = aof.manifest
    try:
        os.makedirs(aof.dirname, exist_ok=True)
    except OSError as err:
        log.warning("Can't open or create append-only dir %s: %s", aof.dirname, err.strerror)
        return False
    if manifest.base is None and not manifest.incrs:
        base = manifest.new_base(aof.filename, bool(server.config["aof-use-rdb-preamble"]))
        if not write_base_file(server, aof.path(base)):
            return False
        log.info("Creating AOF base file %s on server start", base)
    had_incr = bool(manifest.incrs)
    name = manifest.last_incr(aof.filename)
    try:
        aof.fd = aof.open_incr(name, truncate=False)
    except OSError as err:
        log.warning("Can't open the append-only file %s: %s", name, err.strerror)
        return False
    if not aof.persist_manifest(manifest):
        return False
    aof.last_incr_size = aof.file_size(name)
    aof.current_size = sum(aof.file_size(info.name) for info in manifest.loadable())
    if not aof.rewrite_base_size and manifest.base:
        aof.rewrite_base_size = aof.file_size(manifest.base.name)
    aof.fsync_offset = aof.current_size
    log.info("%s AOF incr file %s on server start", "Opening" if had_incr else "Creating", name)
    _attach(server)
    return True


def _attach(server: Server) -> None:
    aof = state(server)
    if aof.feed not in server.propagator.sinks:
        server.propagator.sinks.append(aof.feed)
    aof.selected_db = -1
    aof.refresh_write_error()


def _detach(server: Server) -> None:
    aof = state(server)
    with contextlib.suppress(ValueError):
        server.propagator.sinks.remove(aof.feed)
    aof.refresh_write_error()


def start_append_only(server: Server) -> bool:
    """CONFIG SET appendonly yes: start a rewrite; commands go to a temporary incr file until
    it succeeds, then the AOF is on (startAppendOnly)."""
    aof = state(server)
    aof.status = WAIT_REWRITE
    client = server.current_client
    if snapshot.child_active(server):
        aof.rewrite_scheduled = True
        log.warning("AOF was enabled but there is already another background operation. An AOF background was "
                    "scheduled to start when possible.")
    elif client is not None and client.in_exec:
        aof.rewrite_scheduled = True
        log.warning("AOF was enabled during a transaction. An AOF background was scheduled to start when possible.")
    else:
        if child_active(server):
            log.warning("AOF was enabled but there is already an AOF rewriting in background. Stopping background "
                        "AOF and starting a rewrite now.")
            kill_child(server)
        if not rewrite_background(server):
            aof.status = OFF
            log.warning("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check "
                        "the above logs for more info about the error.")
            return False
    aof.last_fsync = int(time.time())
    if aof.fsync_worker.error:
        log.warning("AOF reopen, just ignore the AOF fsync error in bio job")
        aof.fsync_worker.error = 0
    if not aof.write_ok:
        log.warning("AOF reopen, just ignore the last error.")
        aof.write_ok = True
    aof.refresh_write_error()
    return True


def stop_append_only(server: Server) -> None:
    """CONFIG SET appendonly no: flush, fsync and close; stop a rewrite (stopAppendOnly)."""
    aof = state(server)
    if aof.status == OFF:
        return
    aof.sync_now()
    if aof.fd >= 0:
        with contextlib.suppress(OSError):
            os.close(aof.fd)
    aof.fd = -1
    aof.status = OFF
    aof.selected_db = -1
    aof.rewrite_scheduled = False
    aof.last_incr_size = 0
    kill_child(server)
    aof.buf = bytearray()
    _detach(server)


def apply_appendonly(server: Server) -> None:
    """The CONFIG SET appendonly applier (updateAppendonly)."""
    aof = state(server)
    enabled = bool(server.config["appendonly"])
    if not enabled and aof.status != OFF:
        stop_append_only(server)
    elif enabled and aof.status == OFF and not start_append_only(server):
        raise ConfigError("Unable to turn on AOF. Check server logs.")


def prepare_for_shutdown(server: Server, *, force: bool = False) -> bool:
    """Before exiting: stop a rewrite, then write and fsync what is buffered. False when the
    first AOF is still being written and FORCE was not given (Redis refuses to exit)."""
    aof = state(server)
    if child_active(server):
        log.warning("There is a child rewriting the AOF. Killing it!")
        kill_child(server)
    if aof.status == OFF:
        return True
    if aof.status == WAIT_REWRITE:
        if not force:
            log.warning("Writing initial AOF, can't exit.")
            return False
        log.warning("Writing initial AOF. Exit anyway.")
    log.info("Calling fsync() on the AOF file.")
    aof.sync_now()
    aof.fsync_worker.drain()
    return True


# -- rewriting ---------------------------------------------------------------------------------------------

def rewrite_background(server: Server) -> bool:
    """Fork a child writing a new base; the parent appends to a new incr file from now on
    (rewriteAppendOnlyFileBackground). False when it could not start."""
    aof = state(server)
    if any_child_active(server):
        return False
    try:
        os.makedirs(aof.dirname, exist_ok=True)
    except OSError as err:
        log.warning("Can't open or create append-only dir %s: %s", aof.dirname, err.strerror)
        aof.rewrite_ok = False
        return False
    aof.selected_db = -1  # the new incr file starts with a SELECT
    aof.flush(force=True)
    if not open_new_incr(server):
        aof.rewrite_ok = False
        return False
    aof.rewrites += 1
    persistence = snapshot.state(server)
    started = time.perf_counter()
    if not snapshot.CAN_FORK:
        log.warning("Background AOF rewrite is not available on this platform: rewriting in the foreground")
        ok = write_base_file(server, _child_temp_name(os.getpid()))
        aof.child_pid, aof.rewrite_started = os.getpid(), time.time()
        rewrite_done(server, 0 if ok else 1, 0)
        return ok
    gc.freeze()
    try:
        pid = os.fork()
    except OSError as err:
        gc.unfreeze()
        aof.rewrite_ok = False
        log.warning("Can't rewrite append only file in background: fork: %s", err.strerror)
        return False
    if pid == 0:
        _run_child(server)
    persistence.latest_fork_usec = int((time.perf_counter() - started) * 1e6)
    persistence.total_forks += 1
    log.info("Background append only file rewriting started by pid %d", pid)
    aof.child_pid = pid
    aof.rewrite_scheduled = False
    aof.rewrite_started = time.time()
    return True


def open_new_incr(server: Server) -> bool:
    """openNewIncrAofForAppend: a new incr file (a temp one while waiting for the first
    rewrite), recorded in the manifest before the parent switches to it."""
    aof = state(server)
    if aof.status == OFF:
        return True
    if aof.status == WAIT_REWRITE:
        name, manifest = _temp_incr_name(aof), None
    else:
        manifest = aof.manifest.copy()
        name = manifest.new_incr(aof.filename)
    try:
        fd = aof.open_incr(name, truncate=True)
    except OSError as err:
        log.warning("Can't open the append-only file %s: %s", name, err.strerror)
        return False
    if manifest is not None and not aof.persist_manifest(manifest):
        os.close(fd)
        return False
    log.info("Creating AOF incr file %s on background rewrite", name)
    aof.replace_fd(fd)
    if manifest is not None:
        aof.manifest = manifest
    if aof.status == WAIT_REWRITE:
        _attach(server)
    return True


def _temp_incr_name(aof: AOFState) -> str:
    return f"temp-{aof.filename}.incr"


def _child_temp_name(pid: int) -> str:
    return f"temp-rewriteaof-bg-{pid}.aof"


def _run_child(server: Server) -> None:
    """In the forked child: write the new base and exit without running any parent cleanup."""
    code = 1
    try:
        gc.disable()
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
            signal.signal(sig, signal.SIG_DFL)
        path = _child_temp_name(os.getpid())
        if write_base_file(server, path):
            log.info("Successfully created the temporary AOF base file %s", path)
            code = 0
    except BaseException:  # the child must never return into the parent's event loop
        code = 1
    finally:
        os._exit(code)


def write_base_file(server: Server, path: str) -> bool:
    """rewriteAppendOnlyFile: the dataset as RDB (aof-use-rdb-preamble) or as commands, through
    a temp file that is fsynced and renamed over path."""
    temp = f"temp-rewriteaof-{os.getpid()}.aof"
    delay_us = server.config.values.get("rdb-key-save-delay", 0)
    key_delay = (lambda: time.sleep(delay_us / 1e6)) if delay_us > 0 else None  # tests slow rewrites down
    try:
        with open(temp, "wb") as handle:
            if server.config["aof-use-rdb-preamble"]:
                write_rdb(server, handle, aof_base=True, key_delay=key_delay)
            else:
                write_commands(server, handle, key_delay)
            handle.flush()
            os.fsync(handle.fileno())
    except Exception as err:  # OSError, or a value the writers cannot serialize: never a half file
        log.warning("Write error writing append only file on disk: %s", getattr(err, "strerror", None) or err)
        with contextlib.suppress(OSError):
            os.unlink(temp)
        return False
    try:
        os.replace(temp, path)
    except OSError as err:
        log.warning("Error moving temp append only file on the final destination: %s", err.strerror)
        with contextlib.suppress(OSError):
            os.unlink(temp)
        return False
    return True


def rewrite_done(server: Server, exit_code: int, by_signal: int) -> None:
    """backgroundRewriteDoneHandler: install the new base, switch the manifest, drop history."""
    aof = state(server)
    pid = aof.child_pid
    if not by_signal and exit_code == 0:
        log.info("Background AOF rewrite terminated with success")
        if _install_rewrite(server, _child_temp_name(pid)):
            aof.rewrite_ok = True
            aof.consecutive_failures = 0
            log.info("Background AOF rewrite finished successfully")
            if aof.status == WAIT_REWRITE:
                aof.status = ON
        else:
            aof.rewrite_ok = False
            aof.consecutive_failures += 1
    elif not by_signal:
        aof.rewrite_ok = False
        aof.consecutive_failures += 1
        log.warning("Background AOF rewrite terminated with error")
    else:
        if by_signal != signal.SIGUSR1:  # SIGUSR1 is how a rewrite is stopped on purpose
            aof.rewrite_ok = False
            aof.consecutive_failures += 1
        log.warning("Background AOF rewrite terminated by signal %d", by_signal)
    with contextlib.suppress(OSError):
        os.unlink(_child_temp_name(pid))
    if aof.status == WAIT_REWRITE:
        # Still not on: what was gathered for this attempt is dropped, the next one starts over.
        aof.buf = bytearray()
        if aof.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(aof.fd)
            aof.fd = -1
        with contextlib.suppress(OSError):
            os.unlink(aof.path(_temp_incr_name(aof)))
        _detach(server)
        aof.rewrite_scheduled = True
    aof.last_rewrite_seconds = int(time.time() - aof.rewrite_started)
    aof.rewrite_started = -1.0
    aof.child_pid = None


def _install_rewrite(server: Server, temp: str) -> bool:
    aof = state(server)
    manifest = aof.manifest.copy()
    base = manifest.new_base(aof.filename, bool(server.config["aof-use-rdb-preamble"]))
    try:
        os.replace(temp, aof.path(base))
    except OSError as err:
        log.warning("Error trying to rename the temporary AOF base file %s into %s: %s", temp, base, err.strerror)
        return False
    log.info("Successfully renamed the temporary AOF base file %s into %s", temp, base)
    new_incr = None
    if aof.status == WAIT_REWRITE:
        temp_incr = _temp_incr_name(aof)
        new_incr = manifest.new_incr(aof.filename)
        try:
            os.replace(aof.path(temp_incr), aof.path(new_incr))
        except OSError as err:
            log.warning("Error trying to rename the temporary AOF incr file %s into %s: %s",
                        temp_incr, new_incr, err.strerror)
            with contextlib.suppress(OSError):
                os.unlink(aof.path(base))
            return False
        log.info("Successfully renamed the temporary AOF incr file %s into %s", temp_incr, new_incr)
    manifest.incrs_to_history(keep_last=aof.fd >= 0)
    if not aof.persist_manifest(manifest):
        for name in (base, new_incr):
            if name:
                with contextlib.suppress(OSError):
                    os.unlink(aof.path(name))
        return False
    aof.manifest = manifest
    if aof.fd >= 0:
        aof.selected_db = -1
        aof.current_size = aof.file_size(base) + aof.last_incr_size
        aof.rewrite_base_size = aof.current_size
        aof.fsync_offset = aof.current_size
        aof.last_fsync = int(time.time())
    delete_history_files(server)
    return True


def delete_history_files(server: Server) -> None:
    """aofDelHistoryFiles (unless aof-disable-auto-gc)."""
    aof = state(server)
    manifest = aof.manifest
    if server.config["aof-disable-auto-gc"] or not manifest.history:
        return
    for info in manifest.history:
        log.info("Removing the history file %s in the background", info.name)
        with contextlib.suppress(OSError):
            os.unlink(aof.path(info.name))
    manifest.history = []
    aof.persist_manifest(manifest)


def reap_child(server: Server) -> bool:
    """Collect a finished rewrite child (non-blocking); True when one finished."""
    aof = state(server)
    pid = aof.child_pid
    if pid is None or pid == os.getpid():
        return False
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        done, status = pid, 1 << 8
    if done == 0:
        return False
    gc.unfreeze()
    by_signal = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
    exit_code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 0
    rewrite_done(server, exit_code, by_signal)
    return True


def kill_child(server: Server) -> None:
    """killAppendOnlyChild: stop a running rewrite and remove its temp files."""
    aof = state(server)
    pid = aof.child_pid
    if pid is None:
        return
    log.info("Killing running AOF rewrite child: %d", pid)
    try:
        os.kill(pid, signal.SIGUSR1)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
    gc.unfreeze()
    for name in (_child_temp_name(pid), f"temp-rewriteaof-{pid}.aof"):
        with contextlib.suppress(OSError):
            os.unlink(name)
    aof.child_pid = None
    aof.rewrite_started = -1.0


def wait_for_child(server: Server, timeout: float = 600.0) -> None:
    """Block until the running rewrite ends (DEBUG LOADAOF, tests, benchmarks)."""
    deadline = time.monotonic() + timeout
    while child_active(server) and time.monotonic() < deadline:
        time.sleep(0.005)


def rewrite_limited(server: Server) -> bool:
    """aofRewriteLimited: after 3 failures in a row, automatic rewrites wait 1, 2, 4... 60 minutes."""
    aof = state(server)
    if aof.consecutive_failures < REWRITE_LIMIT_THRESHOLD:
        aof.limit_delay_minutes, aof.next_limited_rewrite = 0, 0.0
        return False
    now = time.time()
    if aof.next_limited_rewrite:
        if now < aof.next_limited_rewrite:
            return True
        aof.next_limited_rewrite = 0.0
        return False
    aof.limit_delay_minutes = min(max(aof.limit_delay_minutes * 2, 1), REWRITE_LIMIT_MAX_MINUTES)
    aof.next_limited_rewrite = now + aof.limit_delay_minutes * 60
    log.warning("Background AOF rewrite has repeatedly failed and triggered the limit, will retry in %d minutes",
                aof.limit_delay_minutes)
    return True


# -- cron -----------------------------------------------------------------------------------------------------

def cron(server: Server) -> None:
    """Every cron tick (serverCron's AOF duties): reap the rewrite child, start a scheduled or
    automatic rewrite, retry a postponed or failed write, sync data left unsynced."""
    aof = getattr(server, "aof", None)
    if aof is None:
        return
    if aof.child_pid is not None:
        reap_child(server)
    busy = any_child_active(server)
    if not busy and aof.rewrite_scheduled and not rewrite_limited(server):
        rewrite_background(server)
        busy = True
    if not busy and aof.status == ON and _wants_auto_rewrite(server):
        rewrite_background(server)
    if aof.status != OFF:
        aof.flush()  # a postponed or failed write, or data written but not yet synced
        aof.refresh_write_error()


def _wants_auto_rewrite(server: Server) -> bool:
    aof = state(server)
    config = server.config
    percentage = config["auto-aof-rewrite-percentage"]
    if not percentage or aof.current_size <= config["auto-aof-rewrite-min-size"]:
        return False
    base = aof.rewrite_base_size or 1
    growth = aof.current_size * 100 // base - 100
    if growth < percentage or rewrite_limited(server):
        return False
    log.info("Starting automatic rewriting of AOF on %d%% growth", growth)
    return True


# -- the dataset as commands (aof-use-rdb-preamble no) -----------------------------------------------------

def write_commands(server: Server, handle: BinaryIO, key_delay: Callable[[], None] | None = None) -> None:
    """rewriteAppendOnlyFileRio: FUNCTION LOAD for each library, then per database a SELECT
    and the commands rebuilding each key (variadic, 64 items at most), with PEXPIREAT."""
    out = bytearray()
    if server.config["aof-timestamp-enabled"]:
        out += b"#TS:%d\r\n" % int(time.time())
    for code in function_library_codes(server):
        encode_command(out, [b"FUNCTION", b"LOAD", code])
    for db in server.dbs:
        if not db.data:
            continue
        out += select_command(db.id)
        expires = db.expires
        for key, value in list(db.data.items()):
            for argv in rebuild_commands(key, value):
                encode_command(out, argv)
            when = expires.get(key)
            if when is not None:
                encode_command(out, [b"PEXPIREAT", key, b"%d" % when])
            if len(out) > 1 << 20:
                handle.write(out)
                out.clear()
            if key_delay is not None:
                key_delay()
    handle.write(out)


def rebuild_commands(key: bytes, value: Any) -> Iterator[list[bytes]]:
    cls = value.__class__
    if cls is bytes or cls is bytearray:
        yield [b"SET", key, bytes(value)]
    elif cls is ListValue:
        yield from _chunked(b"RPUSH", key, list(value))
    elif cls is RedisSet:
        yield from _chunked(b"SADD", key, list(value))
    elif cls is ZSet:
        pairs = [item for score, member in value.order for item in (format_double(score).encode(), member)]
        yield from _chunked(b"ZADD", key, pairs, 2)
    elif cls is Hash:
        pairs = [item for pair in value.fields.items() for item in pair]
        yield from _chunked(b"HMSET", key, pairs, 2)
    elif cls is Stream:
        yield from _stream_commands(key, value)
    else:
        raise TypeError(f"cannot rewrite a value of type {cls.__name__}")


def _chunked(name: bytes, key: bytes, items: list[bytes], width: int = 1) -> Iterator[list[bytes]]:
    step = REWRITE_ITEMS_PER_CMD * width
    for start in range(0, len(items), step):
        yield [name, key, *items[start:start + step]]


def _stream_commands(key: bytes, stream: Stream) -> Iterator[list[bytes]]:
    """rewriteStreamObject: XADDs (or the XADD MAXLEN 0 trick for an empty stream), XSETID with
    the stream's counters, each group with its consumers and pending entries."""
    live = 0
    for node in stream.nodes:
        for stream_id, fields_values in zip(node.ids, node.items, strict=True):
            if fields_values is not None:
                live += 1
                yield [b"XADD", key, format_id(stream_id), *fields_values]
    if not live:
        yield [b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"]
    yield [b"XSETID", key, format_id(stream.last_id), b"ENTRIESADDED", b"%d" % stream.entries_added,
           b"MAXDELETEDID", format_id(stream.max_deleted_id)]
    for name in sorted(stream.groups):
        group = stream.groups[name]
        yield [b"XGROUP", b"CREATE", key, name, format_id(group.last_id), b"ENTRIESREAD", b"%d" % group.entries_read]
        for consumer in group.sorted_consumers():
            if not consumer.pel:
                yield [b"XGROUP", b"CREATECONSUMER", key, name, consumer.name]
                continue
            for stream_id, pending in consumer.pel.items():
                yield [b"XCLAIM", key, name, consumer.name, b"0", format_id(stream_id), b"TIME",
                       b"%d" % pending.delivery_time, b"RETRYCOUNT", b"%d" % pending.delivery_count,
                       b"JUSTID", b"FORCE"]


# -- INFO ------------------------------------------------------------------------------------------------------

@info_fields("persistence")
def aof_info(server: Server) -> dict[str, Any]:
    aof = state(server)
    running = child_active(server)
    fields: dict[str, Any] = {
        "aof_enabled": int(aof.status != OFF),
        "aof_rewrite_in_progress": int(running),
        "aof_rewrite_scheduled": int(aof.rewrite_scheduled),
        "aof_last_rewrite_time_sec": aof.last_rewrite_seconds,
        "aof_current_rewrite_time_sec": int(time.time() - aof.rewrite_started) if running else -1,
        "aof_last_bgrewrite_status": "ok" if aof.rewrite_ok else "err",
        "aof_rewrites": aof.rewrites,
        "aof_rewrites_consecutive_failures": aof.consecutive_failures,
        "aof_last_write_status": "ok" if aof.write_ok and not aof.fsync_worker.error else "err",
    }
    if aof.status != OFF:
        fields.update({
            "aof_current_size": aof.current_size,
            "aof_base_size": aof.rewrite_base_size,
            "aof_pending_rewrite": int(aof.rewrite_scheduled),
            "aof_buffer_length": len(aof.buf),
            "aof_pending_bio_fsync": aof.fsync_worker.pending,
            "aof_delayed_fsync": aof.delayed_fsync,
        })
    return fields
