"""RDB snapshots: SAVE, BGSAVE in a forked child, save points, start-up load, shutdown save.

This module owns the persistence state Redis keeps in its server struct (last save time, last
background save status, the child's pid, the save counters) and the policies around it:
- `save(server)` writes dir/dbfilename in the foreground: "temp-<pid>.rdb", fsync, atomic rename.
- `bgsave(server)` forks (os.fork) a child that does the same from its copy-on-write image and
  `os._exit`s; the parent keeps serving and `cron(server)` reaps it with waitpid(WNOHANG). The
  child disables the garbage collector and the parent freezes it around the fork, so neither
  walks (and so copies) every page of the heap; the child runs at a lower CPU priority. Without fork (Windows) the save runs in the
  foreground, said so in the log.
- `cron(server)` also fires the `save` points ("3600 1 300 100 60 10000") like serverCron, with
  Redis's 5-second back-off after a failed background save, and runs scheduled BGSAVEs.
- `server.write_error` holds the MISCONF error while writes must be refused
  (stop-writes-on-bgsave-error, save points configured, last background save failed).
- `load_at_startup(server)` loads the RDB before connections are accepted; a corrupt file stops
  the start with a message naming the file and the byte offset.
- `prepare_for_shutdown(server, ...)` kills a running child and saves when SHUTDOWN/SIGTERM ask
  for it (or save points are configured), refusing to exit on failure unless forced.
INFO's persistence fields come from here through server_admin's `info_fields` hook.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import mmap
import os
import signal
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..commands.server_admin import info_fields
from ..config import save_points
from ..protocol.errors import CommandError
from .rdb import LoadStats, RDBError, load_rdb, write_rdb

if TYPE_CHECKING:
    from ..server.app import Server

log = logging.getLogger("ember")

BGSAVE_RETRY_DELAY = 5  # seconds before retrying after a failed background save (Redis's)
MISCONF = CommandError(
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. "
    "Commands that may modify the data set are disabled, because this instance is configured to report "
    "errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check "
    "the Redis logs for details about the RDB error.")
CAN_FORK = hasattr(os, "fork")


@dataclass
class PersistenceState:
    lastsave: int  # unix time of the last successful save (start-up time before any)
    bgsave_ok: bool = True  # rdb_last_bgsave_status
    last_bgsave_try: int = 0
    last_bgsave_seconds: int = -1
    child_pid: int | None = None
    child_started: float = 0.0
    dirty_before_bgsave: int = 0
    bgsave_scheduled: bool = False
    saves: int = 0  # rdb_saves
    latest_fork_usec: int = 0
    total_forks: int = 0
    keys_loaded: int = 0  # rdb_last_load_keys_loaded / _expired
    keys_expired: int = 0
    skip_checksum_validation: bool = False  # DEBUG SET-SKIP-CHECKSUM-VALIDATION


def state(server: Server) -> PersistenceState:
    """The server's persistence state, created (with its config listeners) on first use."""
    current = getattr(server, "persistence", None)
    if current is None:
        current = PersistenceState(lastsave=int(server.start_time))
        server.persistence = current
        for name in ("save", "stop-writes-on-bgsave-error"):
            server.config.on_change(name, lambda _value: refresh_write_error(server))
        refresh_write_error(server)
    return current


def refresh_write_error(server: Server) -> None:
    """Set or clear server.write_error (MISCONF), read by the dispatcher before write commands."""
    persistence = state(server)
    config = server.config
    refuse = (not persistence.bgsave_ok and bool(config["stop-writes-on-bgsave-error"])
              and bool(config["save"].strip()))
    server.write_error = MISCONF if refuse else getattr(server, "aof_write_error", None)


def rdb_filename(server: Server) -> str:
    """dbfilename, relative to `dir`, which is the working directory (CONFIG SET dir chdirs)."""
    return server.config["dbfilename"]


def child_active(server: Server) -> bool:
    """Whether a background save is running (a finished one is reaped first, so that commands
    and INFO are exact even between cron ticks)."""
    persistence = state(server)
    if persistence.child_pid is not None:
        reap_child(server)
    return persistence.child_pid is not None


# -- writing ----------------------------------------------------------------------------------------

def write_snapshot(server: Server, filename: str) -> bool:
    """Write the dataset to filename through "temp-<pid>.rdb": fsync, then rename atomically."""
    temp = f"temp-{os.getpid()}.rdb"
    delay_us = server.config.values.get("rdb-key-save-delay", 0)
    key_delay = (lambda: time.sleep(delay_us / 1e6)) if delay_us > 0 else None
    try:
        with open(temp, "wb") as fileobj:
            write_rdb(server, fileobj, key_delay=key_delay)
            fileobj.flush()
            os.fsync(fileobj.fileno())
    except OSError as err:
        log.warning("Write error saving DB on disk: %s", err.strerror or err)
        _unlink_quietly(temp)
        return False
    except Exception as err:  # a value the writer cannot serialize: a bug, but never a half file
        log.warning("Write error saving DB on disk: %r", err)
        _unlink_quietly(temp)
        return False
    try:
        os.replace(temp, filename)
    except OSError as err:
        log.warning("Error moving temp DB file %s on the final destination %s (in server root dir %s): %s",
                    temp, filename, os.getcwd(), err.strerror or err)
        _unlink_quietly(temp)
        return False
    log.info("DB saved on disk")
    return True


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def save(server: Server) -> bool:
    """SAVE: a foreground snapshot. Resets the change counter and records the time on success."""
    persistence = state(server)
    persistence.saves += 1
    if not write_snapshot(server, rdb_filename(server)):
        return False
    server.dirty = 0
    persistence.lastsave = int(time.time())
    persistence.bgsave_ok = True
    refresh_write_error(server)
    return True


def bgsave(server: Server) -> bool:
    """Start a background save; False if a child is already running or fork failed."""
    from . import aof

    persistence = state(server)
    if persistence.child_pid is not None or aof.child_active(server):
        return False  # one child at a time, as Redis
    persistence.saves += 1
    persistence.dirty_before_bgsave = server.dirty
    persistence.last_bgsave_try = int(time.time())
    if not CAN_FORK:
        log.warning("Background saving is not available on this platform: saving in the foreground")
        ok = write_snapshot(server, rdb_filename(server))
        _background_save_done(server, 0 if ok else 1, 0, time.time())
        return ok
    start = time.perf_counter()
    gc.freeze()  # the parent's next collections then skip the objects the child is reading
    try:
        pid = os.fork()
    except OSError as err:
        gc.unfreeze()
        persistence.bgsave_ok = False
        refresh_write_error(server)
        log.warning("Can't save in background: fork: %s", err.strerror or err)
        return False
    if pid == 0:
        _run_child(server)
    persistence.latest_fork_usec = int((time.perf_counter() - start) * 1e6)
    persistence.total_forks += 1
    persistence.child_pid = pid
    persistence.child_started = time.time()
    log.info("Background saving started by pid %d", pid)
    return True


def _run_child(server: Server) -> None:
    """In the forked child: write the snapshot and exit without running any parent cleanup."""
    code = 1
    try:
        gc.disable()
        # Serving clients matters more than finishing the snapshot a little sooner: on a busy
        # machine the child yields the CPU to the parent (Redis pins it with bgsave_cpulist).
        with contextlib.suppress(OSError):
            os.nice(10)
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)
        code = 0 if write_snapshot(server, rdb_filename(server)) else 1
    except BaseException:  # the child must never return into the parent's event loop
        code = 1
    finally:
        os._exit(code)


def _background_save_done(server: Server, exit_code: int, by_signal: int, started: float) -> None:
    persistence = state(server)
    now = time.time()
    if not by_signal and exit_code == 0:
        log.info("Background saving terminated with success")
        server.dirty -= persistence.dirty_before_bgsave
        persistence.lastsave = int(now)
        persistence.bgsave_ok = True
    elif not by_signal:
        log.warning("Background saving error")
        persistence.bgsave_ok = False
    else:
        log.warning("Background saving terminated by signal %d", by_signal)
        if persistence.child_pid is not None:
            _unlink_quietly(f"temp-{persistence.child_pid}.rdb")
        if by_signal != signal.SIGUSR1:  # SIGUSR1 is how Ember itself stops a save: not an error
            persistence.bgsave_ok = False
    persistence.last_bgsave_seconds = int(now - started)
    persistence.child_pid = None
    refresh_write_error(server)


def reap_child(server: Server) -> bool:
    """Collect a finished background save (non-blocking); True when one finished."""
    persistence = state(server)
    pid = persistence.child_pid
    if pid is None:
        return False
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        done, status = pid, 1 << 8  # already reaped elsewhere: count it as failed
    if done == 0:
        return False
    gc.unfreeze()
    by_signal = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
    exit_code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 0
    _background_save_done(server, exit_code, by_signal, persistence.child_started)
    return True


def kill_child(server: Server) -> None:
    """Stop a running background save (SHUTDOWN, FLUSHALL) and remove its temp file."""
    persistence = state(server)
    pid = persistence.child_pid
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGUSR1)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
    gc.unfreeze()
    _unlink_quietly(f"temp-{pid}.rdb")
    persistence.child_pid = None
    persistence.last_bgsave_seconds = int(time.time() - persistence.child_started)


def wait_for_child(server: Server, timeout: float = 600.0) -> None:
    """Block until the running background save ends (tests, DEBUG RELOAD, benchmarks)."""
    deadline = time.monotonic() + timeout
    while child_active(server) and time.monotonic() < deadline:
        if not reap_child(server):
            time.sleep(0.005)


# -- cron -------------------------------------------------------------------------------------------

def cron(server: Server) -> None:
    """Called every cron tick: reap a finished child, else start a BGSAVE when a save point is
    reached (N seconds since the last save and at least M changes) or one was scheduled."""
    persistence = state(server)
    if persistence.child_pid is not None:
        reap_child(server)
        return
    now = int(time.time())
    retry_allowed = persistence.bgsave_ok or now - persistence.last_bgsave_try > BGSAVE_RETRY_DELAY
    if persistence.bgsave_scheduled and retry_allowed:
        if bgsave(server):
            persistence.bgsave_scheduled = False
        return
    if not retry_allowed:
        return
    for seconds, changes in save_points(server.config["save"]):
        if server.dirty >= changes and now - persistence.lastsave > seconds:
            log.info("%d changes in %d seconds. Saving...", changes, seconds)
            bgsave(server)
            return


# -- start-up and shutdown --------------------------------------------------------------------------

def load_file(server: Server, path: str, *, merge: bool = False) -> LoadStats | None:
    """Load an RDB file into the server; None when it does not exist. RDBError names the file."""
    if not os.path.exists(path):
        return None
    with open(path, "rb") as fileobj:
        size = os.fstat(fileobj.fileno()).st_size
        data: Any = mmap.mmap(fileobj.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        try:
            stats = load_rdb(server, data, merge=merge,
                             verify_checksum=not state(server).skip_checksum_validation)
        except RDBError as err:
            raise RDBError(f"Bad RDB file {os.path.abspath(path)}: {err.message}", err.offset) from None
        finally:
            if size:
                data.close()
    persistence = state(server)
    persistence.keys_loaded, persistence.keys_expired = stats.keys_loaded, stats.keys_expired
    return stats


def load_at_startup(server: Server) -> bool:
    """Load dir/dbfilename before accepting connections. False (after logging why) when the file
    is corrupt: the server must not start with a partial dataset."""
    started = time.perf_counter()
    path = rdb_filename(server)
    try:
        stats = load_file(server, path)
    except RDBError as err:
        log.warning("%s", err)
        log.warning("Fatal error loading the DB, check server logs. Exiting.")
        return False
    except OSError as err:
        log.warning("Fatal error loading the DB: %s. Exiting.", err.strerror or err)
        return False
    if stats is None:
        return True
    version = stats.aux.get(b"redis-ver")
    if version:
        log.info("Loading RDB produced by version %s", version.decode("utf-8", "replace"))
    log.info("Done loading RDB, keys loaded: %d, keys expired: %d.", stats.keys_loaded, stats.keys_expired)
    log.info("DB loaded from disk: %.3f seconds", time.perf_counter() - started)
    server.dirty = 0
    return True


def prepare_for_shutdown(server: Server, *, save_flag: bool = False, nosave: bool = False,
                         force: bool = False) -> bool:
    """Before exiting: stop a background save, then save if asked (SAVE) or if save points are
    configured (unless NOSAVE). False when the save failed and FORCE was not given: the caller
    must not exit (SHUTDOWN replies "ERR Errors trying to SHUTDOWN. Check logs.")."""
    from . import aof  # aof builds on this module

    if not aof.prepare_for_shutdown(server, force=force):
        return False
    if child_active(server):
        log.warning("There is a child saving an .rdb. Killing it!")
        kill_child(server)
    wants_save = save_flag or (not nosave and bool(server.config["save"].strip()))
    if not wants_save:
        return True
    log.info("Saving the final RDB snapshot before exiting.")
    if save(server):
        return True
    if force:
        log.warning("Error trying to save the DB. Exit anyway.")
        return True
    log.warning("Error trying to save the DB, can't exit.")
    return False


def empty_dataset(server: Server) -> None:
    """Redis's emptyData: every database and the function libraries (DEBUG RELOAD before it
    loads the file back; FLUSHALL keeps the functions)."""
    for db in server.dbs:
        db.flush()
    functions = getattr(server, "functions", None)
    if functions is not None and hasattr(functions, "flush"):
        functions.flush()
    server.rdb_function_libraries = []


def after_flushall(server: Server) -> None:
    """FLUSHALL's persistence side (Redis's flushAllDataAndResetRDB): a running background save
    is stopped and, when save points are configured, the now empty dataset is saved."""
    if child_active(server):
        kill_child(server)
    if server.config["save"].strip():
        save(server)


# -- INFO ---------------------------------------------------------------------------------------------

@info_fields("persistence")
def persistence_info(server: Server) -> dict[str, Any]:
    persistence = state(server)
    running = child_active(server)
    return {
        "rdb_changes_since_last_save": server.dirty,
        "rdb_bgsave_in_progress": int(running),
        "rdb_last_save_time": persistence.lastsave,
        "rdb_last_bgsave_status": "ok" if persistence.bgsave_ok else "err",
        "rdb_last_bgsave_time_sec": persistence.last_bgsave_seconds,
        "rdb_current_bgsave_time_sec": int(time.time() - persistence.child_started) if running else -1,
        "rdb_saves": persistence.saves,
        "rdb_last_load_keys_expired": persistence.keys_expired,
        "rdb_last_load_keys_loaded": persistence.keys_loaded,
    }


@info_fields("stats")
def fork_info(server: Server) -> dict[str, Any]:
    persistence = state(server)
    return {"latest_fork_usec": persistence.latest_fork_usec, "total_forks": persistence.total_forks}
