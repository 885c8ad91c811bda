"""Redis Functions (functions.c, function_lua.c): libraries of Lua functions loaded with FUNCTION
LOAD, kept with the dataset (RDB, FUNCTION DUMP/RESTORE) and run with FCALL.

A library is its source code ("#!lua name=<lib>" then Lua) and the functions its code registered
with redis.register_function while it ran once at load time. That run sees only the library API
(`redis.register_function`, `redis.log`, the version constants), as in Redis; the registered
functions later run with the full sandbox. Library names are case-sensitive; function names are
looked up case-insensitively (Redis's dict type for them), and are unique across libraries.

All libraries share one Lua runtime (the "LUA" engine), separate from EVAL's; FUNCTION FLUSH
starts it afresh.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from lupa import lua51

from ..keyspace.glob import glob_match
from ..persistence.crc64 import crc64
from ..persistence.rdb import OP_FUNCTION2, OP_FUNCTION_PRE_GA, RDB_VERSION, RDBError, Reader, put_string
from ..protocol.encoder import SetReply
from ..protocol.errors import CommandError
from ..protocol.parser import split_inline
from .convert import lua_tostring, lua_type_name, table_fields
from .lua import HOOK_INSTRUCTIONS, SCRIPT_FLAGS, LuaSandbox, ScriptError, count_keys

if TYPE_CHECKING:
    from ..server.client import Client
    from .lua import ScriptEngine

ENGINE = "LUA"
LOAD_TIMEOUT_MS = 500
NAME_ERROR = ("Library names can only contain letters, numbers, or underscores(_) and must be at least one "
              "character long")
_NAME_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class FunctionError(Exception):
    """A FUNCTION/FCALL failure; the text is Redis's, without the "ERR " the reply adds."""


def valid_name(name: bytes) -> bool:
    return bool(name) and _NAME_CHARS.issuperset(name)


class Function:
    __slots__ = ("name", "callback", "library", "description", "flags")

    def __init__(self, name: bytes, callback: Any, library: Library, description: bytes | None,
                 flags: frozenset[str]) -> None:
        self.name = name
        self.callback = callback  # the Lua function
        self.library = library
        self.description = description
        self.flags = flags


class Library:
    __slots__ = ("name", "code", "functions")

    def __init__(self, name: bytes, code: bytes) -> None:
        self.name = name
        self.code = code  # the whole source, shebang included (FUNCTION LIST WITHCODE, DUMP)
        self.functions: dict[bytes, Function] = {}


class LibrarySet:
    """Libraries and the function index over them (Redis's functionsLibCtx)."""

    def __init__(self) -> None:
        self.libraries: dict[bytes, Library] = {}
        self.functions: dict[bytes, Function] = {}  # lower-cased name -> function

    def link(self, library: Library) -> None:
        for key, function in library.functions.items():
            self.functions[key] = function
        self.libraries[library.name] = library

    def unlink(self, library: Library) -> None:
        for key in library.functions:
            del self.functions[key]
        del self.libraries[library.name]

    def function_count(self) -> int:
        return len(self.functions)

    def join(self, other: LibrarySet, replace: bool) -> None:
        """Add other's libraries (Redis's libraryJoin): all or nothing."""
        replaced = []
        try:
            for name in other.libraries:
                old = self.libraries.get(name)
                if old is None:
                    continue
                if not replace:
                    raise FunctionError(f"Library {_text(name)} already exists")
                self.unlink(old)
                replaced.append(old)
            for key, function in other.functions.items():
                if key in self.functions:
                    raise FunctionError(f"Function {_text(function.name)} already exists")
        except FunctionError:
            for old in replaced:
                self.link(old)
            raise
        for library in other.libraries.values():
            self.link(library)


class FunctionLibraries:
    """The function libraries of the server and the Lua runtime they run in."""

    def __init__(self, engine: ScriptEngine) -> None:
        self.engine = engine
        self.server = engine.server
        self.current = LibrarySet()
        self._loading: Library | None = None
        self._load_started = 0.0
        self.sandbox = self._new_sandbox()

    def _new_sandbox(self) -> LuaSandbox:
        return LuaSandbox(self.engine, "function", {
            b"register_function": self._register_function,
            b"check_load": self._check_load_time,
        })

    # -- FUNCTION LOAD ------------------------------------------------------------------------

    def create(self, code: bytes, replace: bool, target: LibrarySet | None = None, timeout: bool = True) -> bytes:
        """Compile and register the library in code (functionsCreateWithLibraryCtx); returns
        its name. Raises FunctionError with Redis's text."""
        target = self.current if target is None else target
        engine_name, name, body = parse_metadata(code)
        if not valid_name(name):
            raise FunctionError(NAME_ERROR)
        if engine_name.upper() != ENGINE.encode():
            raise FunctionError(f"Engine '{_text(engine_name)}' not found")
        old = target.libraries.get(name)
        if old is not None and not replace:
            raise FunctionError(f"Library '{_text(name)}' already exists")
        if old is not None:
            target.unlink(old)
        try:
            library = self._evaluate(Library(name, code), body, timeout)
            for key, function in library.functions.items():
                if key in target.functions:
                    raise FunctionError(f"Function {_text(function.name)} already exists")
        except FunctionError:
            if old is not None:
                target.link(old)
            raise
        target.link(library)
        return name

    def _evaluate(self, library: Library, body: bytes, timeout: bool) -> Library:
        """Run the library's code once with the library API (luaEngineCreate)."""
        sandbox = self.sandbox
        chunk, error = sandbox.compile(body, b"@user_function")
        if chunk is None:
            raise FunctionError(f"Error compiling function: {_text(error)}")
        self._loading = library
        self._load_started = time.monotonic()
        try:
            result = sandbox.helpers.load_library(chunk, HOOK_INSTRUCTIONS if timeout else 0)
        except lua51.LuaError:  # an error outside the protected call: never the library's
            sandbox.helpers.clear_hook()
            raise FunctionError("Error registering functions: internal Lua engine error") from None
        finally:
            self._loading = None
        ok, error = (result[0], result[1]) if isinstance(result, tuple) else (result, None)
        if not ok:
            raise FunctionError(f"Error registering functions: {_text(_load_error_text(error))}")
        if not library.functions:
            raise FunctionError("No functions registered")
        return library

    def _check_load_time(self) -> bytes | None:
        if (time.monotonic() - self._load_started) * 1000 > LOAD_TIMEOUT_MS:
            return b"ERR FUNCTION LOAD timeout"
        return None

    def _register_function(self, *args: Any) -> None:
        """redis.register_function(name, callback) or redis.register_function{function_name=,
        callback=, flags=, description=}; errors are Redis's texts."""
        library = self._loading
        if library is None:
            raise ScriptError("ERR redis.register_function can only be called on FUNCTION LOAD command")
        if len(args) not in (1, 2):
            raise ScriptError("ERR wrong number of arguments to redis.register_function")
        if len(args) == 1:
            name, callback, description, flags = _named_arguments(args[0])
        else:
            name, callback, description, flags = _positional_arguments(*args)
        if not valid_name(name):
            raise ScriptError("ERR " + NAME_ERROR)
        key = name.lower()
        if key in library.functions:
            raise ScriptError("ERR Function already exists in the library")
        library.functions[key] = Function(name, callback, library, description, flags)

    # -- FCALL ----------------------------------------------------------------------------------

    def fcall(self, client: Client, args: list[bytes], read_only_command: bool) -> Any:
        function = self.current.functions.get(args[1].lower())
        if function is None:
            raise CommandError("ERR Function not found")
        numkeys = count_keys(args, "ERR Bad number of keys provided")
        return self.sandbox.run(client, function.name.decode("utf-8", "replace"), function.callback,
                                function.flags, numkeys, args, read_only_command, False)

    # -- the other FUNCTION subcommands -------------------------------------------------------

    def delete(self, name: bytes) -> None:
        library = self.current.libraries.get(name)
        if library is None:
            raise FunctionError("Library not found")
        self.current.unlink(library)

    def flush(self) -> None:
        """FUNCTION FLUSH: no libraries, and a fresh Lua runtime for the next ones."""
        self.current = LibrarySet()
        self.sandbox = self._new_sandbox()

    def restore(self, payload: bytes, policy: str) -> None:
        """FUNCTION RESTORE of a verified payload; policy is FLUSH, APPEND or REPLACE."""
        restored = LibrarySet()
        reader = Reader(payload, 0, len(payload) - 10)
        try:
            while reader.remaining() > 0:
                opcode = reader.byte()
                if opcode == OP_FUNCTION_PRE_GA:
                    raise FunctionError("Pre-GA function format not supported")
                if opcode != OP_FUNCTION2:
                    raise FunctionError("given type is not a function")
                self.create(reader.string(), replace=False, target=restored, timeout=False)
        except RDBError:
            raise FunctionError("Failed loading library payload") from None
        if policy == "FLUSH":
            self.current = restored
        else:
            self.current.join(restored, replace=policy == "REPLACE")

    def dump(self) -> bytes:
        """FUNCTION DUMP: each library as RDB's FUNCTION2 record, then the RDB version and CRC."""
        out = bytearray()
        compress = bool(self.server.config["rdbcompression"])
        for code in self.library_codes():
            out.append(OP_FUNCTION2)
            put_string(out, code, compress)
        out += RDB_VERSION.to_bytes(2, "little")
        out += crc64(out).to_bytes(8, "little")
        return bytes(out)

    def list(self, pattern: bytes | None, with_code: bool) -> list[dict[bytes, Any]]:
        reply = []
        for library in self.current.libraries.values():
            if pattern is not None and not glob_match(pattern, library.name, nocase=True):
                continue
            entry: dict[bytes, Any] = {
                b"library_name": library.name,
                b"engine": ENGINE.encode(),
                b"functions": [function_entry(function) for function in library.functions.values()],
            }
            if with_code:
                entry[b"library_code"] = library.code
            reply.append(entry)
        return reply

    def stats(self) -> dict[bytes, Any]:
        run = self.engine.run
        if run is not None and run.eval_mode:
            raise CommandError(self.engine.busy_error().message)
        running = None if run is None else {
            b"name": run.name.encode("utf-8", "surrogateescape"),
            b"command": list(run.args),
            b"duration_ms": run.duration_ms(),
        }
        counts = {b"libraries_count": len(self.current.libraries), b"functions_count": self.current.function_count()}
        return {b"running_script": running, b"engines": {ENGINE.encode(): counts}}

    # -- persistence (ember/persistence/rdb.py) --------------------------------------------------

    def library_codes(self) -> Iterator[bytes]:
        return (library.code for library in self.current.libraries.values())

    def load_library(self, code: bytes, replace: bool) -> None:
        """A library read from an RDB file (no load time limit, as for a master's commands)."""
        self.create(code, replace, timeout=False)

    def load_libraries(self, codes: Iterable[bytes]) -> None:
        for code in codes:
            self.load_library(code, replace=False)


def function_entry(function: Function) -> dict[bytes, Any]:
    return {
        b"name": function.name,
        b"description": function.description,
        b"flags": SetReply(flag for flag in SCRIPT_FLAGS if flag in function.flags),
    }


def parse_metadata(code: bytes) -> tuple[bytes, bytes, bytes]:
    """(engine, library name, code after the shebang line) of FUNCTION LOAD's payload
    (functionExtractLibMetaData); the code keeps the shebang's newline so lines match."""
    if not code.startswith(b"#!"):
        raise FunctionError("Missing library metadata")
    end = code.find(b"\n")
    if end < 0:
        raise FunctionError("Invalid library metadata")
    parts = split_inline(code[:end])
    if not parts:
        raise FunctionError("Invalid library metadata")
    name = None
    for part in parts[1:]:
        if part[:5].lower() == b"name=":
            if name is not None:
                raise FunctionError("Invalid metadata value, name argument was given multiple times")
            name = part[5:]
            continue
        raise FunctionError(f"Invalid metadata value given: {_text(part)}")
    if name is None:
        raise FunctionError("Library name was not given")
    return parts[0][2:], name, code[end:]


def _load_error_text(error: Any) -> bytes:
    """luaExtractErrorInformation's message for an error raised while a library loads."""
    if isinstance(error, bytes):
        return b"ERR " + error
    if isinstance(error, (int, float)):
        return b"ERR %s" % str(error).encode()
    if lua51.lua_type(error) == "table":
        text = table_fields(error).get(b"err")
        if isinstance(text, bytes):
            return text
    return b"ERR unknown error"


def _is_function(value: Any) -> bool:
    return lua_type_name(value) == "function"


def _positional_arguments(name: Any, callback: Any) -> tuple[bytes, Any, bytes | None, frozenset[str]]:
    text = lua_tostring(name)
    if text is None:
        raise ScriptError("ERR first argument to redis.register_function must be a string")
    if not _is_function(callback):
        raise ScriptError("ERR second argument to redis.register_function must be a function")
    return text, callback, None, frozenset()


def _named_arguments(table: Any) -> tuple[bytes, Any, bytes | None, frozenset[str]]:
    if lua_type_name(table) != "table":
        raise ScriptError("ERR calling redis.register_function with a single argument is only applicable to "
                          "Lua table (representing named arguments).")
    name = description = callback = None
    flags: frozenset[str] = frozenset()
    for key, value in table.items():
        key_text = lua_tostring(key)
        if key_text is None:
            raise ScriptError("ERR named argument key given to redis.register_function is not a string")
        key_text = key_text.lower()
        if key_text == b"function_name":
            name = lua_tostring(value)
            if name is None:
                raise ScriptError("ERR function_name argument given to redis.register_function must be a string")
        elif key_text == b"description":
            description = lua_tostring(value)
            if description is None:
                raise ScriptError("ERR description argument given to redis.register_function must be a string")
        elif key_text == b"callback":
            if not _is_function(value):
                raise ScriptError("ERR callback argument given to redis.register_function must be a function")
            callback = value
        elif key_text == b"flags":
            flags = _function_flags(value)
        else:
            raise ScriptError("ERR unknown argument given to redis.register_function")
    if name is None:
        raise ScriptError("ERR redis.register_function must get a function name argument")
    if callback is None:
        raise ScriptError("ERR redis.register_function must get a callback argument")
    return name, callback, description, flags


def _function_flags(value: Any) -> frozenset[str]:
    if lua_type_name(value) != "table":
        raise ScriptError("ERR flags argument to redis.register_function must be a table representing function flags")
    flags = set()
    index = 1
    fields = table_fields(value)
    while index in fields:
        text = lua_tostring(fields[index])
        flag = text.decode("latin-1").lower() if text is not None else ""
        if flag not in SCRIPT_FLAGS:
            raise ScriptError("ERR unknown flag given")
        flags.add(flag)
        index += 1
    return frozenset(flags)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")
