"""The Lua engine behind EVAL/EVALSHA/SCRIPT (and FCALL): one lupa Lua 5.1 runtime per server.

Scripts run synchronously on the event loop, so they are atomic like Redis's. A Lua count hook
(every 100k instructions, as Redis) watches the run time: once `busy-reply-threshold` passes,
the hook itself reads the other clients' sockets and answers BUSY to everything but SCRIPT KILL,
FUNCTION KILL and SHUTDOWN NOSAVE (Redis's processEventsWhileBlocked), and it stops the script
when SCRIPT KILL arrives (unless the script already wrote: UNKILLABLE).

The sandbox (sandbox.lua) leaves Redis 7's globals: no io/os/debug/loadfile/dofile/print, and
reading an undefined global or creating one is an error.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lupa import lua51

from .. import REDIS_COMPAT_VERSION
from ..protocol.errors import CommandError
from .convert import lua_arg_to_bytes, lua_to_reply, reply_to_lua

if TYPE_CHECKING:
    from ..server.app import Server
    from ..server.client import Client

log = logging.getLogger("ember")

HOOK_INSTRUCTIONS = 100_000
SHEBANG_FLAGS = frozenset({"no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"})
KILLED = "ERR Script killed by user with SCRIPT KILL..."
BUSY = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
_LOG_LEVELS = {0: logging.DEBUG, 1: logging.INFO, 2: logging.INFO, 3: logging.WARNING}


def sha1hex(body: bytes) -> str:
    return hashlib.sha1(body).hexdigest()


def _version_num(version: str) -> int:
    major, minor, patch = (int(part) for part in version.split("."))
    return (major << 16) | (minor << 8) | patch


@dataclass
class Script:
    sha: str
    body: bytes
    function: Any
    flags: frozenset[str]  # shebang flags; None-shebang scripts may write


@dataclass
class Run:
    """The script being executed: who runs it and what it has done so far."""

    caller: Client
    sha: str
    read_only: bool
    started: float
    resp: int = 2
    wrote: bool = False
    kill: str = ""
    busy: bool = False


class ScriptEngine:
    def __init__(self, server: Server) -> None:
        from ..server.client import Client

        self.server = server
        self.scripts: dict[str, Script] = {}
        self.run: Run | None = None
        self.kill_requested = False
        # The fake client commands from scripts run as (Redis's script client).
        self.script_client = Client(server, None, "", "")
        self.script_client.in_exec = True
        self.runtime = lua51.LuaRuntime(unpack_returned_tuples=True, encoding=None,
                                        register_eval=False, register_builtins=False)
        self.helpers = self._bootstrap()

    # -- runtime set-up -----------------------------------------------------------------------

    def _bootstrap(self) -> Any:
        from .libraries import install_libraries

        py = self.runtime.table_from({
            b"call": self._redis_call,
            b"error_reply": self._error_reply,
            b"sha1hex": lambda body: sha1hex(_as_bytes(body)).encode(),
            b"log": self._log,
            b"setresp": self._setresp,
            b"set_repl": lambda *_args: None,
            b"acl_check_cmd": self._acl_check_cmd,
            b"version": REDIS_COMPAT_VERSION.encode(),
            b"version_num": _version_num(REDIS_COMPAT_VERSION),
            b"libraries": self.runtime.table_from(install_libraries(self.runtime)),
        })
        source = (Path(__file__).with_name("sandbox.lua")).read_bytes()
        bootstrap = self.runtime.execute(b"return loadstring(...)", source, b"=sandbox")
        return bootstrap(py)

    def reset(self) -> None:
        """SCRIPT FLUSH: forget every script and start from a fresh runtime."""
        self.scripts.clear()
        self.runtime = lua51.LuaRuntime(unpack_returned_tuples=True, encoding=None,
                                        register_eval=False, register_builtins=False)
        self.helpers = self._bootstrap()

    # -- compiling ----------------------------------------------------------------------------

    def load(self, body: bytes) -> Script:
        """Compile body (once per SHA1) or raise Redis's compile error."""
        sha = sha1hex(body)
        script = self.scripts.get(sha)
        if script is not None:
            return script
        flags, code = parse_shebang(body)
        compiled = self.helpers.compile(code, b"@user_script")
        function = compiled[0] if isinstance(compiled, tuple) else compiled
        if function is None:
            message = compiled[1].decode("utf-8", "replace") if isinstance(compiled, tuple) else "?"
            raise CommandError(f"ERR Error compiling script (new function): {message}")
        script = Script(sha, body, function, flags)
        self.scripts[sha] = script
        return script

    # -- running ------------------------------------------------------------------------------

    def execute(self, client: Client, script: Script, keys: list[bytes], argv: list[bytes],
                read_only: bool) -> Any:
        if self.run is not None:
            raise CommandError("ERR Script execution is not allowed from within a script")  # noscript guards this
        read_only = read_only or "no-writes" in script.flags
        run = self.run = Run(client, script.sha, read_only, time.monotonic())
        script_client = self.script_client
        script_client.db = client.db
        self.kill_requested = False
        self.helpers.set_hook(self._hook, HOOK_INSTRUCTIONS)
        try:
            result = self.helpers.run(script.function, self.runtime.table_from(keys),
                                      self.runtime.table_from(argv))
        finally:
            self.helpers.clear_hook()
            self.run = None
        ok, value = (result[0], result[1] if len(result) > 1 else None) if isinstance(result, tuple) else (result, None)
        if not ok:
            return self._script_error(value, script.sha)
        return lua_to_reply(value, run.resp)

    def _script_error(self, error: Any, sha: str) -> CommandError:
        """Redis's form: '<error> script: <sha>, on @user_script:<line>.'"""
        if lua51.lua_type(error) != "table":
            return CommandError(f"ERR {error!r} script: {sha}")
        text = (error[b"err"] or b"").decode("utf-8", "surrogateescape")
        if error[b"lua_error"]:
            text = "ERR " + text
        source = (error[b"source"] or b"@user_script").decode("utf-8", "replace")
        line = error[b"line"]
        location = f", on {source}:{line}." if line is not None else "."
        return CommandError(f"{text} script: {sha}{location}")

    def _redis_call(self, *lua_args: Any) -> tuple[Any, bool]:
        """redis.call/pcall body: (reply, failed). Errors are {err=...} tables."""
        from ..server.dispatch import call, resolve

        run = self.run
        runtime = self.runtime
        if not lua_args:
            return self._error_table("ERR Please specify at least one argument for this redis lib call"), True
        args = []
        for value in lua_args:
            arg = lua_arg_to_bytes(value)
            if arg is None:
                return self._error_table("ERR Lua redis lib command arguments must be strings or integers"), True
            args.append(arg)
        cmd = resolve(args)
        if cmd.__class__ is CommandError:
            if cmd.message.startswith("ERR unknown command"):
                cmd = CommandError("ERR Unknown Redis command called from script")
            return self._error_table(cmd.message), True
        if "noscript" in cmd.flags:
            return self._error_table("ERR This Redis command is not allowed from script"), True
        if "write" in cmd.flags:
            if run.read_only:
                return self._error_table("ERR Write commands are not allowed from read-only scripts."), True
            run.wrote = True
        client = self.script_client
        client.resp = run.resp
        reply = call(client, cmd, args)
        self.server.current_client = run.caller
        converted = reply_to_lua(runtime, reply, run.resp)
        return converted, reply.__class__ is CommandError

    def _error_table(self, message: str) -> Any:
        return self.runtime.table_from({b"err": message.encode("utf-8", "surrogateescape")})

    def _error_reply(self, message: Any) -> Any:
        """redis.error_reply: 'CODE text' (with or without '-') keeps its code; a single word
        becomes 'ERR word'."""
        body = _as_bytes(message).removeprefix(b"-")
        if b" " not in body:
            body = b"ERR " + body
        return self.runtime.table_from({b"err": body})

    def _log(self, level: Any, *parts: Any) -> None:
        if not parts:
            raise CommandError("ERR redis.log() requires two arguments or more.")
        message = b" ".join(_as_bytes(part) for part in parts).decode("utf-8", "replace")
        log.log(_LOG_LEVELS.get(int(level), logging.INFO), "%s", message)

    def _setresp(self, version: Any) -> None:
        if version not in (2, 3):
            raise _LuaRaise("ERR RESP version must be 2 or 3.")
        self.run.resp = int(version)

    def _acl_check_cmd(self, *lua_args: Any) -> bool:
        from ..server.dispatch import resolve

        args = [lua_arg_to_bytes(value) or b"" for value in lua_args]
        if not args or resolve(args).__class__ is CommandError:
            raise _LuaRaise("ERR Invalid command passed to redis.acl_check_cmd()")
        return True

    # -- time limit, BUSY and SCRIPT KILL ----------------------------------------------------

    def _hook(self) -> bytes | None:
        """Called every HOOK_INSTRUCTIONS; returns an error text to stop the script."""
        run = self.run
        if run is None:
            return None
        threshold_ms = self.server.config["busy-reply-threshold"]
        if not run.busy and threshold_ms and (time.monotonic() - run.started) * 1000 >= threshold_ms:
            run.busy = True
            log.warning("Slow script detected: still in execution after %d milliseconds. "
                        "You can try killing the script using the SCRIPT KILL command. Script SHA1 is: %s",
                        int((time.monotonic() - run.started) * 1000), run.sha)
        if run.busy:
            self.server.serve_while_busy(run.caller)
        if self.kill_requested or self.server.stopping:
            return KILLED.encode()
        return None

    def kill(self) -> CommandError | str:
        """SCRIPT KILL from another client (reached through serve_while_busy)."""
        run = self.run
        if run is None:
            return CommandError("NOTBUSY No scripts in execution right now.")
        if run.wrote:
            return CommandError(
                "UNKILLABLE Sorry the script already executed write commands against the dataset. "
                "You can either wait the script termination or kill the server in a hard way using "
                "the SHUTDOWN NOSAVE command.")
        self.kill_requested = True
        return "OK"


class _LuaRaise(Exception):
    """Raised by a Python API function to fail the script with this error text."""


def parse_shebang(body: bytes) -> tuple[frozenset[str], bytes]:
    """Flags of a '#!lua flags=a,b' first line, and the code to compile (line numbers kept)."""
    if not body.startswith(b"#!"):
        return frozenset(), body
    line, newline, rest = body.partition(b"\n")
    words = line[2:].decode("utf-8", "replace").split()
    if not words or words[0] != "lua":
        engine = words[0] if words else ""
        raise CommandError(f"ERR Could not find scripting engine '{engine}'")
    flags: set[str] = set()
    for word in words[1:]:
        if not word.startswith("flags="):
            raise CommandError(f"ERR Unknown lua shebang option: {word}")
        for flag in filter(None, word[len("flags="):].split(",")):
            if flag not in SHEBANG_FLAGS:
                raise CommandError(f"ERR Unexpected flag in script shebang: {flag}")
            flags.add(flag)
    return frozenset(flags), b"--" + newline + rest if newline else b""


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    converted = lua_arg_to_bytes(value)
    return converted if converted is not None else str(value).encode()

