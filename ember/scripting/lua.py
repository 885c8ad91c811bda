"""The Lua engine behind EVAL/EVALSHA/SCRIPT and FCALL: lupa's Lua 5.1 runtimes with Redis's
sandbox (sandbox.lua), the `redis.*` API, and the one-script-at-a-time run state.

Scripts run synchronously on the event loop, so they are atomic like Redis's. A Lua count hook
(every 100k instructions, as Redis) watches the run time: once `busy-reply-threshold` passes,
the hook itself reads the other clients' sockets (`ScriptEngine.serve_while_busy`, Redis's
processEventsWhileBlocked) so they get BUSY, or have SCRIPT KILL / FUNCTION KILL / SHUTDOWN NOSAVE
run; a kill makes the hook raise the kill error on every line, so pcall can't swallow it.
(Connections opened while a script is busy wait in the listen backlog until it ends.)

`redis.call` and the other API functions are Python callables, i.e. C functions as far as Lua
is concerned, exactly like Redis's: a Lua tail call to them keeps the script's frame, so errors
are reported "on @user_script:<line>". They raise Python exceptions that the sandbox turns into
what Redis's C code raises: an error table ({err=...}) or a positioned string ("user_script:1: ...").

EVAL and FUNCTION each get their own runtime (`LuaSandbox`); `ScriptEngine` owns both, the EVAL
script cache and the run in progress (SCRIPT KILL, FUNCTION KILL and FUNCTION STATS look at it).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lupa import lua51

from .. import REDIS_COMPAT_VERSION
from ..commands.table import TABLE, Command
from ..protocol.errors import CommandError
from ..protocol.numbers import parse_int
from ..server.client import NO_REPLY, Client
from ..server.dispatch import call, execute, resolve
from ..server.memory import OOM
from .convert import (
    RelayedError,
    error_buffer,
    lua_arg_to_bytes,
    lua_tonumber,
    lua_tostring,
    lua_type_name,
    reply_to_lua,
    run_result_to_reply,
    table_fields,
)
from .libraries import LibraryError, install_libraries

if TYPE_CHECKING:
    from ..server.app import Server
    from .functions import FunctionLibraries

log = logging.getLogger("ember")

HOOK_INSTRUCTIONS = 100_000
# Script flags (shebang `flags=` and register_function's `flags`), in the order Redis lists them.
SCRIPT_FLAGS = ("no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys")
KILLED = "ERR Script killed by user with SCRIPT KILL..."
BUSY_EVAL = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
BUSY_FUNCTION = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
NOTBUSY = "NOTBUSY No scripts in execution right now."
UNKILLABLE = ("UNKILLABLE Sorry the script already executed write commands against the dataset. You can "
              "either wait the script termination or kill the server in a hard way using the SHUTDOWN "
              "NOSAVE command.")
WRITE_FLAG_ON_RO = "ERR Can not execute a script with write flag using *_ro command."
READONLY = "Attempt to modify a readonly table"
_LOG_LEVELS = (logging.DEBUG, logging.INFO, logging.INFO, logging.WARNING)
_VERBOSITY = {"debug": 0, "verbose": 1, "notice": 2, "warning": 3, "nothing": 4}
_SANDBOX = (Path(__file__).with_name("sandbox.lua")).read_bytes()


def sha1hex(body: bytes) -> str:
    return hashlib.sha1(body).hexdigest()


def version_num(version: str) -> int:
    major, minor, patch = (int(part) for part in version.split("."))
    return (major << 16) | (minor << 8) | patch


class ScriptError(Exception):
    """Raised by a redis.* API function: the script fails with the error table {err=text}.
    `relayed` marks an error a command already replied (and counted in the error stats)."""

    def __init__(self, text: str | bytes, relayed: bool = False) -> None:
        super().__init__(text)
        self.text = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
        self.relayed = relayed


class PositionedError(Exception):
    """A luaL_error-style error: a string that already carries the caller's position."""

    def __init__(self, text: bytes) -> None:
        super().__init__(text)
        self.text = text


class Run:
    """The script being executed: who runs it, how, and what it has done so far."""

    __slots__ = ("caller", "name", "args", "eval_mode", "read_only", "oom_denied", "started", "resp", "wrote",
                 "killed", "timed_out")

    def __init__(self, caller: Client, name: str, args: list[bytes], eval_mode: bool, read_only: bool,
                 oom_denied: bool = False) -> None:
        self.caller = caller
        self.name = name  # the SHA1 for EVAL, the function name for FCALL
        self.args = args  # the command that runs it (FUNCTION STATS shows it)
        self.eval_mode = eval_mode
        self.read_only = read_only
        self.oom_denied = oom_denied  # memory was full when the script started: denyoom commands fail
        self.started = time.monotonic()
        self.resp = 2  # redis.setresp
        self.wrote = False  # a write command was called: SCRIPT KILL can't stop it any more
        self.killed = False
        self.timed_out = False  # past busy-reply-threshold: other clients are being served BUSY

    def duration_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)


class Lrand48:
    """Redis's math.random source (rand.c): the 48-bit drand48 generator, seeded with
    math.randomseed, so a seeded script gets the same numbers as on Redis on any platform."""

    MAX = 2**31 - 1

    def __init__(self) -> None:
        self.state = 0x1234ABCD330E

    def seed(self, value: int) -> None:
        self.state = ((value & 0xFFFFFFFF) << 16) | 0x330E

    def next(self) -> int:
        self.state = (0x5DEECE66D * self.state + 0xB) & 0xFFFFFFFFFFFF
        return self.state >> 17

    def uniform(self) -> float:
        return (self.next() % self.MAX) / self.MAX


class LuaSandbox:
    """One Lua runtime with Redis's sandbox and API, in "eval" or "function" mode."""

    def __init__(self, engine: ScriptEngine, mode: str, extra_api: dict[bytes, Callable] | None = None) -> None:
        self.engine = engine
        self.server = engine.server
        # No Python attribute is reachable from Lua: Python callables are opaque to scripts.
        self.runtime = lua51.LuaRuntime(unpack_returned_tuples=True, encoding=None, register_eval=False,
                                        register_builtins=False, attribute_filter=_deny_attributes)
        self.table_from = self.runtime.table_from
        self._commands: dict[bytes, Command] = {}
        bootstrap = self.runtime.execute(b"return loadstring(...)", _SANDBOX, b"=sandbox")
        api = {
            b"call": self._redis_call,
            b"pcall": self._redis_pcall,
            b"error_reply": self._error_reply,
            b"status_reply": self._status_reply,
            b"sha1hex": self._sha1hex,
            b"log": self._log,
            b"setresp": self._setresp,
            b"set_repl": self._set_repl,
            b"acl_check_cmd": self._acl_check_cmd,
            b"random": self._random,
            b"randomseed": self._randomseed,
            b"pairs": self._pairs,
            b"ipairs": self._ipairs,
            b"next": self._next,
            b"rawget": self._rawget,
            b"rawset": self._rawset,
            b"setmetatable": self._setmetatable,
            b"loadstring": self._loadstring,
            b"load": self._load,
            b"check": self._check_busy,
            b"error_value": self._error_value,
            b"version": REDIS_COMPAT_VERSION.encode(),
            b"version_num": version_num(REDIS_COMPAT_VERSION),
        }
        api.update(extra_api or {})
        api[b"libraries"] = self.table_from(install_libraries(self.runtime, self._positioned))
        real_globals = self.runtime.globals()
        self._raw = {name: real_globals[name] for name in (b"next", b"ipairs", b"rawget", b"rawset", b"setmetatable")}
        self.helpers = bootstrap(self.table_from(api), mode.encode())
        self._where = self.helpers.where
        self._run = self.helpers.run
        self._unproxy = self.helpers.unproxy
        self._compile = self.helpers.compile

    # -- compiling and running ----------------------------------------------------------------

    def compile(self, source: bytes, chunkname: bytes) -> tuple[Any, bytes]:
        """(function, b"") or (None, Lua's compile error)."""
        result = self._compile(source, chunkname)
        if isinstance(result, tuple):
            return result[0], result[1] if result[0] is None else b""
        return result, b""

    def run(self, caller: Client, name: str, function: Any, flags: frozenset[str] | None, numkeys: int,
            args: Sequence[bytes], read_only_command: bool, eval_mode: bool) -> Any:
        """Run function (a compiled script, or a registered function) for caller with the keys
        and arguments after args[2] (EVAL/FCALL's own arguments) and return its reply. First
        Redis's scriptPrepareForRun: refuse what the flags forbid (None for an EVAL script
        without a shebang: no flags apply). name is the SHA1 or the function name."""
        if flags is not None and read_only_command and "no-writes" not in flags:
            raise CommandError(WRITE_FLAG_ON_RO)
        read_only = read_only_command or (flags is not None and "no-writes" in flags)
        memory = self.engine.server.memory
        oom_denied = bool(memory.limit) and memory.out_of_memory and not (flags and "allow-oom" in flags)
        if oom_denied and flags is not None and not read_only:  # a flagged script that may write
            return CommandError(OOM)
        engine = self.engine
        engine.script_client.db = caller.db
        run = engine.run = Run(caller, name, args, eval_mode, read_only, oom_denied)
        try:
            result = self._run(function, engine.hook_count, numkeys, *args[3:])
        except lua51.LuaError as err:  # an error outside the protected call: never the script's
            self.helpers.clear_hook()
            log.error("Lua engine error: %s", err)
            return CommandError("ERR Error running script (internal Lua engine error)")
        finally:
            engine.run = None
        if not result[0]:
            return self._script_error(result[1], run.name)
        try:
            return run_result_to_reply(result, run.resp)
        except RecursionError:
            return CommandError("ERR reached lua stack limit")

    def _script_error(self, error: Any, name: str) -> CommandError:
        """Redis's text: '<err> script: <name>, on <source>:<line>.' (no position when unknown)."""
        if lua51.lua_type(error) != "table":
            detail = error.decode("utf-8", "replace") if isinstance(error, bytes) else "execution failure"
            return CommandError(f"ERR Error running script {name}, {detail[:100]}")
        fields = table_fields(error)
        text = lua_tostring(fields.get(b"err"))
        if text is None:
            text = b"ERR unknown error"  # error({}): Redis 7.2 crashes here; Ember answers
        source, line = lua_tostring(fields.get(b"source")), lua_tostring(fields.get(b"line"))
        if source is not None and line is not None:
            text += b" script: %s, on %s:%s." % (name.encode(), source, line)
        message = text.decode("utf-8", "surrogateescape")
        return RelayedError(message) if fields.get(b"ignore_error_stats_update") is True else CommandError(message)

    def vm_memory(self) -> int:
        """Bytes the Lua runtime uses (collectgarbage('count'), as Redis's luaMemory)."""
        return int(self.runtime.eval("collectgarbage('count')") * 1024)

    def where(self) -> bytes:
        """luaL_where for the Lua code calling the running Python function ("user_script:1: ")."""
        return self._where()

    def _positioned(self, function: Callable) -> Callable:
        """A library function whose LibraryError becomes a positioned Lua error, as luaL_error."""
        where = self.where

        def library_function(*args: Any) -> Any:
            try:
                return function(*args)
            except LibraryError as err:
                position = where() if err.positioned else b""
                raise PositionedError(position + str(err).encode("utf-8", "surrogateescape")) from None

        return library_function

    # -- redis.call / redis.pcall ----------------------------------------------------------------

    def _redis_call(self, *lua_args: Any) -> Any:
        reply = self._command(lua_args)
        cls = reply.__class__
        if cls is bytes or cls is int:  # the commonest replies are the same Lua values
            return reply
        if cls is CommandError:
            raise ScriptError(reply.message, relayed=True)
        return reply_to_lua(self.runtime, reply, self.engine.run.resp)

    def _redis_pcall(self, *lua_args: Any) -> Any:
        try:
            reply = self._command(lua_args)
        except ScriptError as err:
            return self.error_table(err.text)
        if reply.__class__ is CommandError:
            return self.error_table(reply.message.encode("utf-8", "surrogateescape"), relayed=True)
        return reply_to_lua(self.runtime, reply, self.engine.run.resp)

    def _command(self, lua_args: tuple) -> Any:
        """Run one command for the script (Redis's scriptCall): its reply, or ScriptError when
        the command may not run."""
        engine = self.engine
        run = engine.run
        if run is None:
            raise ScriptError("ERR redis.call/pcall can only be called inside a script invocation")
        args = command_args(lua_args)
        cmd = self._commands.get(args[0])
        if cmd is None or cmd.subcommands:  # not seen spelt so yet, or a container
            cmd = self._lookup(args)
            if cmd is None:
                raise ScriptError("ERR Unknown Redis command called from script")
        if len(args) not in cmd.argc:  # Command.arity_ok, inlined
            raise ScriptError("ERR Wrong number of args calling Redis command from script")
        flags = cmd.flags
        if "noscript" in flags:
            raise ScriptError("ERR This Redis command is not allowed from script")
        if run.read_only and ("write" in flags or "may_replicate" in flags):  # PUBLISH, PFCOUNT too
            raise ScriptError("ERR Write commands are not allowed from read-only scripts.")
        if "denyoom" in flags and run.oom_denied:
            raise ScriptError(OOM)
        if "write" in flags:
            run.wrote = True
        client = engine.script_client
        client.resp = run.resp
        reply = call(client, cmd, args)
        engine.server.current_client = run.caller
        return reply

    def _lookup(self, args: list[bytes]) -> Command | None:
        """Redis's lookupCommand: an unknown subcommand is an unknown command."""
        cmd = self._commands.get(args[0])
        if cmd is None:
            cmd = TABLE.lookup(args[0])
            if cmd is None:
                return None
            if len(self._commands) < 1024:
                self._commands[args[0]] = cmd
        if cmd.subcommands and len(args) > 1:
            return cmd.subcommands.get(args[1].lower())
        return cmd

    def error_table(self, text: bytes, relayed: bool = False) -> Any:
        fields: dict[bytes, Any] = {b"err": text}
        if relayed:
            fields[b"ignore_error_stats_update"] = True
        return self.table_from(fields)

    def _error_value(self, error: Any) -> Any:
        """The Lua value a Python exception raised into Lua stands for (sandbox `normalize`)."""
        if isinstance(error, ScriptError):
            return self.error_table(error.text, error.relayed)
        if isinstance(error, PositionedError):
            return error.text
        if isinstance(error, BaseException):
            log.error("Unexpected error in a Lua API function: %r", error)
            return f"internal error: {error!r}".encode("utf-8", "replace")
        return str(error).encode("utf-8", "replace")

    # -- the other redis.* functions --------------------------------------------------------------

    def _error_reply(self, *args: Any) -> Any:
        if len(args) != 1 or args[0].__class__ is not bytes:
            return self.error_table(b"ERR wrong number or type of arguments")
        text = args[0]
        return self.error_table(error_buffer(text if text.startswith(b"-") else b"-" + text))

    def _status_reply(self, *args: Any) -> Any:
        if len(args) != 1 or args[0].__class__ is not bytes:
            return self.error_table(b"ERR wrong number or type of arguments")
        return self.table_from({b"ok": args[0]})

    @staticmethod
    def _sha1hex(*args: Any) -> bytes:
        if len(args) != 1:
            raise ScriptError("ERR wrong number of arguments")
        return sha1hex(lua_tostring(args[0]) or b"").encode()

    def _log(self, *args: Any) -> None:
        if len(args) < 2:
            raise ScriptError("ERR redis.log() requires two arguments or more.")
        level = lua_tonumber(args[0])
        if level is None:
            raise ScriptError("ERR First argument must be a number (log level).")
        level = int(level)
        if not 0 <= level <= 3:
            raise ScriptError("ERR Invalid debug level.")
        if level < _VERBOSITY.get(self.server.config["loglevel"], 2):
            return
        parts = [text for text in map(lua_tostring, args[1:]) if text is not None]
        log.log(_LOG_LEVELS[level], "%s", b" ".join(parts).decode("utf-8", "replace"))

    def _setresp(self, *args: Any) -> None:
        run = self._current_run("redis.setresp")
        if len(args) != 1:
            raise ScriptError("ERR redis.setresp() requires one argument.")
        resp = int(lua_tonumber(args[0]) or 0)
        if resp not in (2, 3):
            raise ScriptError("ERR RESP version must be 2 or 3.")
        run.resp = resp

    def _set_repl(self, *args: Any) -> None:
        self._current_run("redis.set_repl")
        if len(args) != 1:
            raise ScriptError("ERR redis.set_repl() requires two arguments.")
        if int(lua_tonumber(args[0]) or 0) & ~3:
            raise ScriptError("ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
        # Ember has no replicas and no AOF propagation from scripts yet: nothing to switch.

    def _acl_check_cmd(self, *lua_args: Any) -> bool:
        self._current_run("redis.acl_check_cmd")
        args = command_args(lua_args)
        if self._lookup(args) is None:
            raise ScriptError("ERR Invalid command passed to redis.acl_check_cmd()")
        return True  # every user may run every command until Ember has ACLs

    def _current_run(self, api_name: str) -> Run:
        run = self.engine.run
        if run is None:
            raise ScriptError(f"ERR {api_name} can only be called inside a script invocation")
        return run

    # -- math.random / math.randomseed (Redis's replacements) -------------------------------------

    def _random(self, *args: Any) -> float | int:
        value = self.engine.random.uniform()
        if not args:
            return value
        if len(args) == 1:
            upper = self._check_int(args, 1, "random")
            if upper < 1:
                raise self.argument_error(1, "random", "interval is empty")
            return math.floor(value * upper) + 1
        if len(args) == 2:
            lower, upper = self._check_int(args, 1, "random"), self._check_int(args, 2, "random")
            if lower > upper:
                raise self.argument_error(2, "random", "interval is empty")
            return math.floor(value * (upper - lower + 1)) + lower
        raise PositionedError(self.where() + b"wrong number of arguments")

    def _randomseed(self, *args: Any) -> None:
        self.engine.random.seed(self._check_int(args, 1, "randomseed"))

    def _check_int(self, args: tuple, position: int, function: str) -> int:
        """luaL_checkint: a number (or numeric string), truncated to an int."""
        value = lua_tonumber(args[position - 1]) if len(args) >= position else None
        if value is None:
            got = lua_type_name(args[position - 1]) if len(args) >= position else "no value"
            raise self.argument_error(position, function, f"number expected, got {got}")
        return int(value) if math.isfinite(value) else -(2**31)

    def argument_error(self, position: int, function: str, message: str) -> PositionedError:
        """luaL_argerror: "user_script:1: bad argument #1 to 'f' (message)"."""
        return PositionedError(self.where() + f"bad argument #{position} to '{function}' ({message})".encode())

    # -- builtins that see through the read-only proxies ------------------------------------------
    # They are Python (C functions for Lua) rather than Lua wrappers so that `return pairs(x)` is no
    # tail call: an argument error then still names the script line, as Redis's C builtins do.

    def _checked_table(self, args: tuple, function: str) -> Any:
        value = args[0] if args else None
        if lua51.lua_type(value) != "table":
            got = lua_type_name(value) if args else "no value"
            raise self.argument_error(1, function, f"table expected, got {got}")
        return self._unproxy(value) or value

    def _raw_call(self, name: bytes, *args: Any) -> Any:
        """A Lua builtin on real tables; its error becomes this function's error."""
        try:
            return self._raw[name](*args)
        except lua51.LuaError as err:
            raise PositionedError(str(err).split("\nstack traceback:", 1)[0].encode("utf-8", "surrogateescape")) from None

    def _pairs(self, *args: Any) -> tuple:
        return self._raw[b"next"], self._checked_table(args, "pairs"), None

    def _ipairs(self, *args: Any) -> Any:
        return self._raw_call(b"ipairs", self._checked_table(args, "ipairs"))

    def _next(self, *args: Any) -> Any:
        return self._raw_call(b"next", self._checked_table(args, "next"), args[1] if len(args) > 1 else None)

    def _rawget(self, *args: Any) -> Any:
        table = self._checked_table(args, "rawget")
        if len(args) < 2:
            raise self.argument_error(2, "rawget", "value expected")
        return self._raw_call(b"rawget", table, args[1])

    def _rawset(self, *args: Any) -> Any:
        if self._checked_table(args, "rawset") is not args[0] or self._unproxy(args[0]) is not None:
            raise PositionedError(READONLY.encode())
        for position in (2, 3):
            if len(args) < position:
                raise self.argument_error(position, "rawset", "value expected")
        return self._raw_call(b"rawset", *args[:3])

    def _setmetatable(self, *args: Any) -> Any:
        self._checked_table(args, "setmetatable")
        if len(args) < 2 or (args[1] is not None and lua51.lua_type(args[1]) != "table"):
            raise self.argument_error(2, "setmetatable", "nil or table expected")
        if self._unproxy(args[0]) is not None:
            raise PositionedError(READONLY.encode())
        return self._raw_call(b"setmetatable", args[0], args[1])

    def _loadstring(self, *args: Any) -> Any:
        source = lua_tostring(args[0]) if args else None
        if source is None:
            got = lua_type_name(args[0]) if args else "no value"
            raise self.argument_error(1, "loadstring", f"string expected, got {got}")
        name = lua_tostring(args[1]) if len(args) > 1 and args[1] is not None else source
        return self._compile(source, name)

    def _load(self, *args: Any) -> Any:
        reader = args[0] if args else None
        if lua51.lua_type(reader) != "function":
            got = lua_type_name(reader) if args else "no value"
            raise self.argument_error(1, "load", f"function expected, got {got}")
        pieces = []
        while True:
            piece = reader()
            if piece is None or piece == b"":
                break
            text = lua_tostring(piece)
            if text is None:
                return None, b"reader function must return a string"
            pieces.append(text)
        name = lua_tostring(args[1]) if len(args) > 1 and args[1] is not None else b"=(load)"
        return self._compile(b"".join(pieces), name)

    # -- time limit, BUSY and SCRIPT KILL ----------------------------------------------------------

    def _check_busy(self) -> bytes | None:
        """The count hook: past busy-reply-threshold, serve the other clients; returns the
        error text that stops the script once it is killed (or the server is shutting down)."""
        engine = self.engine
        run = engine.run
        if run is None:
            return None
        server = self.server
        if not run.timed_out:
            elapsed = run.duration_ms()
            if elapsed < server.config["busy-reply-threshold"]:
                return None
            run.timed_out = True
            log.warning("Slow script detected: still in execution after %d milliseconds. You can try killing "
                        "the script using the %s command. Script name is: %s.", elapsed,
                        "SCRIPT KILL" if run.eval_mode else "FUNCTION KILL", run.name)
        engine.serve_while_busy(run.caller)
        if run.killed or server.stopping:
            log.warning("Lua script killed by user with SCRIPT KILL.")
            return KILLED.encode()
        return None


def _deny_attributes(obj: Any, name: Any, is_setting: bool) -> Any:
    raise AttributeError("access to Python attributes is not allowed from Lua")


def command_args(lua_args: tuple) -> list[bytes]:
    """redis.call's arguments as the bytes Redis passes (luaArgsToRedisArgv)."""
    if not lua_args:
        raise ScriptError("ERR Please specify at least one argument for this redis lib call")
    for value in lua_args:
        if value.__class__ is not bytes:
            return [_command_arg(value) for value in lua_args]
    return list(lua_args)


def _command_arg(value: Any) -> bytes:
    arg = lua_arg_to_bytes(value)
    if arg is None:
        raise ScriptError("ERR Lua redis lib command arguments must be strings or integers")
    return arg


_SMALL_COUNTS = {b"%d" % count: count for count in range(16)}


def count_keys(args: list[bytes], not_a_number: str = "ERR value is not an integer or out of range") -> int:
    """numkeys of EVAL/FCALL-style arguments, with Redis's errors (the common small counts
    skip the parser)."""
    numkeys = _SMALL_COUNTS.get(args[2])
    if numkeys is None:
        numkeys = parse_int(args[2], not_a_number)
    if numkeys > len(args) - 3:
        raise CommandError("ERR Number of keys can't be greater than number of args")
    if numkeys < 0:
        raise CommandError("ERR Number of keys can't be negative")
    return numkeys


def _saving_shutdown(cmd: Command, args: list[bytes]) -> bool:
    """SHUTDOWN without NOSAVE: refused while a script is busy (Redis only lets NOSAVE through)."""
    return cmd.name == "shutdown" and not any(arg.lower() == b"nosave" for arg in args[1:])


def _read_available(client: Client) -> bytes:
    """What a client's socket holds now, read without blocking (the event loop is not running)."""
    sock = client.transport.get_extra_info("socket")
    if sock is None:
        return b""
    chunks = []
    while True:
        try:
            chunk = os.read(sock.fileno(), 65536)
        except OSError:  # EAGAIN (nothing more), or a reset the event loop will see later
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


class Script:
    """A cached EVAL script: its compiled function and shebang flags."""

    __slots__ = ("sha", "body", "function", "flags")

    def __init__(self, sha: str, body: bytes, function: Any, flags: frozenset[str] | None) -> None:
        self.sha = sha
        self.body = body
        self.function = function
        self.flags = flags  # None without a shebang: Redis's "eval compatibility mode", no flags apply


def parse_shebang(body: bytes) -> tuple[frozenset[str], bool, bytes]:
    """(flags, has_shebang, code to compile) of an EVAL body; the shebang line's newline is
    kept so line numbers match the script's. Raises Redis's errors for bad shebangs."""
    if not body.startswith(b"#!"):
        return frozenset(), False, body
    end = body.find(b"\n")
    if end < 0:
        raise CommandError("ERR Invalid script shebang")
    parts = body[:end].split()  # sdssplitargs: any run of whitespace separates
    if parts[0] != b"#!lua":
        raise CommandError(f"ERR Unexpected engine in script shebang: {parts[0].decode('utf-8', 'replace')}")
    flags: set[str] = set()
    for part in parts[1:]:
        text = part.decode("utf-8", "replace")
        if not text.startswith("flags="):
            raise CommandError(f"ERR Unknown lua shebang option: {text}")
        flags.update(parse_flag_list(text[len("flags="):]))
    return frozenset(flags), True, body[end:]


def parse_flag_list(text: str) -> list[str]:
    if not text:
        return []
    flags = text.split(",")
    for flag in flags:
        if flag not in SCRIPT_FLAGS:
            raise CommandError(f"ERR Unexpected flag in script shebang: {flag}")
    return flags


class ScriptEngine:
    """Server-wide scripting state: the EVAL script cache and runtime, the function libraries
    (`functions`), and the script running now (only one at a time, as in Redis)."""

    def __init__(self, server: Server) -> None:
        from .functions import FunctionLibraries

        self.server = server
        self.run: Run | None = None
        self.random = Lrand48()
        # The fake client commands from scripts run as (Redis's lua client): never blocks.
        self.script_client = Client(server, None, "lua", "")
        self.script_client.in_exec = True
        self.scripts: dict[bytes, Script] = {}  # by lower-case hex SHA1
        self._configure_hook(server.config["busy-reply-threshold"])
        server.config.on_change("busy-reply-threshold", self._configure_hook)
        self.sandbox = LuaSandbox(self, "eval")
        self.functions: FunctionLibraries = FunctionLibraries(self)
        # persistence/rdb.py saves and loads libraries through `server.functions`.
        server.functions = self.functions

    # -- the EVAL script cache ------------------------------------------------------------------

    def load(self, body: bytes) -> Script:
        """The cached script for body, compiled on first sight (Redis's luaCreateFunction)."""
        sha = sha1hex(body)
        script = self.scripts.get(sha.encode())
        if script is not None:
            return script
        flags, shebang, code = parse_shebang(body)
        function, error = self.sandbox.compile(code, b"@user_script")
        if function is None:
            raise CommandError(f"ERR Error compiling script (new function): {error.decode('utf-8', 'replace')}")
        script = self.scripts[sha.encode()] = Script(sha, body, function, flags if shebang else None)
        return script

    def cached(self, sha: bytes) -> Script | None:
        """The script with this SHA1, in either case (Redis compares SHA1s case-insensitively)."""
        script = self.scripts.get(sha)
        return script if script is not None else self.scripts.get(sha.lower())

    def flush(self) -> None:
        """SCRIPT FLUSH: forget every script and start again from a fresh runtime."""
        self.scripts = {}
        self.sandbox = LuaSandbox(self, "eval")

    def eval(self, caller: Client, script: Script, numkeys: int, args: list[bytes], read_only_command: bool) -> Any:
        return self.sandbox.run(caller, script.sha, script.function, script.flags, numkeys, args,
                                read_only_command, True)

    # -- running ---------------------------------------------------------------------------------

    def _configure_hook(self, threshold: int) -> None:
        """The Lua count hook watches for busy-reply-threshold only while it is on."""
        self.hook_count = HOOK_INSTRUCTIONS if threshold > 0 else 0

    def memory_info(self) -> dict[str, int]:
        """The scripting fields of INFO memory (number_of_cached_scripts, used_memory_vm_eval...)."""
        functions = self.functions.current
        vm_eval, vm_functions = self.sandbox.vm_memory(), self.functions.sandbox.vm_memory()
        scripts_eval = sum(len(script.body) + 100 for script in self.scripts.values())
        functions_memory = sum(len(library.code) + 100 * (1 + len(library.functions))
                               for library in functions.libraries.values())
        return {
            "used_memory_lua": vm_eval,
            "used_memory_vm_eval": vm_eval,
            "used_memory_scripts_eval": scripts_eval,
            "number_of_cached_scripts": len(self.scripts),
            "number_of_functions": functions.function_count(),
            "number_of_libraries": len(functions.libraries),
            "used_memory_vm_functions": vm_functions,
            "used_memory_vm_total": vm_eval + vm_functions,
            "used_memory_functions": functions_memory,
            "used_memory_scripts": scripts_eval + functions_memory,
        }

    def busy_error(self) -> CommandError:
        """What other clients get while a script is past busy-reply-threshold."""
        run = self.run
        return CommandError(BUSY_FUNCTION if run is not None and not run.eval_mode else BUSY_EVAL)

    def serve_while_busy(self, running: Client) -> None:
        """Redis's processEventsWhileBlocked for a script past busy-reply-threshold: read what the
        other clients sent; commands flagged allow_busy run (SCRIPT KILL, FUNCTION KILL/STATS,
        SHUTDOWN NOSAVE...), everything else is answered BUSY."""
        writer = running.reply_writer
        if writer is not None and writer.clients:
            writer.write_all()  # replies held for the end of the loop pass the script interrupted
        busy = self.busy_error()
        server = self.server
        current = server.current_client
        try:
            for client in list(server.clients.values()):
                if client is running or client.closed or client.transport is None:
                    continue
                data = _read_available(client)
                if data:
                    self._answer_while_busy(client, data, busy)
        finally:
            server.current_client = current  # the script's caller, as dispatch.run_lean expects

    def _answer_while_busy(self, client: Client, data: bytes, busy: CommandError) -> None:
        commands, error = client.parser.feed(data)
        for args in commands:
            cmd = resolve(args)
            if cmd.__class__ is CommandError or "allow_busy" not in cmd.flags or _saving_shutdown(cmd, args):
                self.server.stats.count_error("BUSY")
                client.add_reply(busy)
                continue
            reply = execute(client, args)
            if reply is not NO_REPLY:
                client.add_reply(reply)
        if error is not None:
            client.add_reply(error.reply)
            client.close_after_reply = True
        client.flush()

    def kill(self, eval_mode: bool) -> str:
        """SCRIPT KILL (eval_mode) or FUNCTION KILL, reached through serve_while_busy."""
        run = self.run
        if run is None:
            raise CommandError(NOTBUSY)
        if run.wrote:
            raise CommandError(UNKILLABLE)
        if run.eval_mode != eval_mode:
            raise CommandError(BUSY_EVAL if run.eval_mode else BUSY_FUNCTION)
        run.killed = True
        return "OK"
