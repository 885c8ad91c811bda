"""Conversions between Ember's reply values and Lua values, both directions, RESP2 and RESP3,
as Redis's script_lua.c does them (redisProtocolToLuaType and luaReplyToRedisReply), plus the
Lua number/string rules the API functions need (lua_tonumber, '%.17g' command arguments).

Tables returned by scripts are read raw (lua_next), never through metatables, so a table with
a hostile metatable can't run code or raise while its reply is built.
"""

from __future__ import annotations

import math
from typing import Any

from lupa import lua51

from ..protocol.encoder import NULL_ARRAY, BigNumber, Bool, SetReply, Verbatim, format_double
from ..protocol.errors import CommandError

lua_type = lua51.lua_type
INT64_MIN = -(2**63)


class RelayedError(CommandError):
    """An error reply a command inside the script already gave (and the error statistics already
    counted): the script passes it on (Redis's ignore_error_stats_update)."""

    __slots__ = ()


class PairsMap(dict):
    """A RESP3 map whose keys can't all be Python dict keys (tables as keys, or keys that only
    differ in Lua, like 1 and 1.5 both truncated to 1): the encoder reads `items()` and `len()`."""

    def __init__(self, pairs: list[tuple[Any, Any]]) -> None:
        super().__init__()
        self.pairs = pairs

    def items(self):  # type: ignore[override]
        return self.pairs

    def __len__(self) -> int:
        return len(self.pairs)


# -- command replies -> Lua (what redis.call returns) ------------------------------------------

def reply_to_lua(runtime: Any, reply: Any, resp: int) -> Any:
    """A command reply as the Lua value redis.call returns; resp is the script's setresp."""
    cls = reply.__class__
    if cls is bytes or cls is int:
        return reply
    if reply is None or reply is NULL_ARRAY:
        return None if resp == 3 else False
    if cls is list or cls is tuple or (cls is SetReply and resp == 2):
        return runtime.table_from([reply_to_lua(runtime, item, resp) for item in reply])
    if cls is str:
        return runtime.table_from({b"ok": reply.encode("utf-8", "surrogateescape")})
    if cls is float:
        if resp == 2:
            return format_double(reply).encode()
        return runtime.table_from({b"double": reply})
    if cls is Bool:
        return bool(reply) if resp == 3 else int(reply)
    if cls is bytearray or cls is memoryview:
        return bytes(reply)
    if isinstance(reply, CommandError):
        return runtime.table_from({b"err": reply.message.encode("utf-8", "surrogateescape")})
    if isinstance(reply, dict):
        return _map_to_lua(runtime, reply, resp)
    if cls is SetReply:
        members = {reply_to_lua(runtime, item, resp): True for item in reply}
        return runtime.table_from({b"set": runtime.table_from(members)})
    if cls is BigNumber:
        return b"%d" % reply if resp == 2 else runtime.table_from({b"big_number": b"%d" % reply})
    if cls is Verbatim:
        if resp == 2:
            return bytes(reply)
        verbatim = runtime.table_from({b"format": b"txt", b"string": bytes(reply)})
        return runtime.table_from({b"verbatim_string": verbatim})
    if isinstance(reply, list):  # Push and other list kinds
        return runtime.table_from([reply_to_lua(runtime, item, resp) for item in reply])
    raise TypeError(f"cannot convert a reply of type {cls.__name__} to Lua")


def _map_to_lua(runtime: Any, reply: dict, resp: int) -> Any:
    if resp == 2:
        flat: list[Any] = []
        for key, value in reply.items():
            flat += (reply_to_lua(runtime, key, resp), reply_to_lua(runtime, value, resp))
        return runtime.table_from(flat)
    inner = {reply_to_lua(runtime, key, resp): reply_to_lua(runtime, value, resp) for key, value in reply.items()}
    return runtime.table_from({b"map": runtime.table_from(inner)})


# -- Lua values -> the reply sent to the client (what a script returns) -------------------------

def lua_to_reply(value: Any, resp: int) -> Any:
    """A value returned by a script as the reply to send; resp is the script's setresp (it
    decides how booleans are sent; nulls follow the caller's protocol)."""
    cls = value.__class__
    if cls is bytes or cls is int:
        return value
    if value is None:
        return None
    if cls is float:
        return lua_number_to_integer(value)
    if cls is bool:
        if resp == 3:
            return Bool(value)
        return 1 if value else None
    if lua_type(value) == "table":
        return _table_to_reply(table_fields(value), resp)
    return None  # functions, userdata, coroutines: a null, as Redis replies


def lua_number_to_integer(value: float) -> int:
    """(long long)number in C: truncated toward zero; NaN and out-of-range values give
    LLONG_MIN on the platforms Redis runs on."""
    if value != value or not -9.223372036854775808e18 <= value < 9.223372036854775808e18:
        return INT64_MIN
    return int(value)


def table_fields(table: Any) -> dict[Any, Any]:
    """A Lua table's contents read raw (lua_next). Boolean keys are left out: no conversion
    reads them, and in Python True == 1 would shadow the first array element."""
    return {key: item for key, item in table.items() if key.__class__ is not bool}


# The reply shapes sandbox.lua's shaped_reply tells apart, so that Python need not walk the table.
REPLY_STATUS, REPLY_ERROR, REPLY_RELAYED_ERROR, REPLY_ARRAY = 1, 2, 3, 4


def run_result_to_reply(result: tuple, resp: int) -> Any:
    """The reply for a successful run's result from sandbox.lua: (true, value) for anything
    lua_to_reply reads, (true, text, status or error shape), or (true, n, array shape, items...)."""
    if len(result) == 2:
        return lua_to_reply(result[1], resp)
    shape = result[2]
    if shape == REPLY_ARRAY:
        return [item if item.__class__ is bytes else lua_to_reply(item, resp) for item in result[3:]]
    if shape == REPLY_STATUS:
        return _status_text(result[1])
    return _error_reply(result[1], shape == REPLY_RELAYED_ERROR)


def _error_reply(err: bytes, relayed: bool) -> CommandError:
    message = err.decode("utf-8", "surrogateescape")
    return RelayedError(message) if relayed else CommandError(message)


def _table_to_reply(fields: dict[Any, Any], resp: int) -> Any:
    err = fields.get(b"err")
    if err.__class__ is bytes:
        return _error_reply(err, fields.get(b"ignore_error_stats_update") is True)
    ok = fields.get(b"ok")
    if ok.__class__ is bytes:
        return _status_text(ok)
    special = _special_table(fields, resp)
    if special is not _NOT_SPECIAL:
        return special
    items = []
    index = 1
    get = fields.get
    item = get(1)
    while item is not None:
        items.append(lua_to_reply(item, resp))
        index += 1
        item = get(index)
    return items


_NOT_SPECIAL = object()


def _special_table(fields: dict[Any, Any], resp: int) -> Any:
    """The RESP3 reply tables ({double=}, {big_number=}, {verbatim_string=}, {map=}, {set=}),
    recognised whatever the script's setresp, as Redis does."""
    double = fields.get(b"double")
    if double.__class__ is int or double.__class__ is float:
        return float(double)
    big = fields.get(b"big_number")
    if big.__class__ is bytes:
        digits = big.replace(b"\r", b" ").replace(b"\n", b" ")
        try:
            return BigNumber(int(digits))
        except ValueError:
            return digits  # not an integer: Ember's encoder can only send big numbers it can parse
    verbatim = fields.get(b"verbatim_string")
    if verbatim is not None and lua_type(verbatim) == "table":
        parts = table_fields(verbatim)
        if parts.get(b"format").__class__ is bytes and parts.get(b"string").__class__ is bytes:
            return Verbatim(parts[b"string"])
    mapping = fields.get(b"map")
    if mapping is not None and lua_type(mapping) == "table":
        pairs = [(lua_to_reply(key, resp), lua_to_reply(item, resp)) for key, item in mapping.items()]
        try:
            reply = dict(pairs)
        except TypeError:  # a table as a key
            return PairsMap(pairs)
        return reply if len(reply) == len(pairs) else PairsMap(pairs)
    members = fields.get(b"set")
    if members is not None and lua_type(members) == "table":
        return SetReply(lua_to_reply(key, resp) for key in members)
    return _NOT_SPECIAL


_COMMON_STATUSES = {b"OK": "OK", b"QUEUED": "QUEUED", b"PONG": "PONG"}


def _status_text(raw: bytes) -> str:
    text = _COMMON_STATUSES.get(raw)
    if text is not None:
        return text
    # A status is one line on the wire: Redis turns CR and LF into spaces.
    return raw.replace(b"\r", b" ").replace(b"\n", b" ").decode("utf-8", "replace")


# -- Lua value rules --------------------------------------------------------------------------

def error_buffer(raw: bytes) -> bytes:
    """Redis's luaPushErrorBuff: "-CODE message" keeps its code, a text without a code (or
    without a space) gets "ERR"; trailing CR/LF are trimmed."""
    if raw.startswith(b"-"):
        code, space, message = raw[1:].partition(b" ")
        if not space:
            code, message = b"ERR", raw[1:]
    else:
        code, message = b"ERR", raw
    return (code + b" " + message.strip(b"\r\n")).split(b"\0", 1)[0]


def lua_arg_to_bytes(value: Any) -> bytes | None:
    """A redis.call argument as Redis passes it: strings as they are, numbers formatted with
    '%.17g' (so 3 is "3" and 0.1 is "0.10000000000000001"), anything else None."""
    cls = value.__class__
    if cls is bytes:
        return value
    if cls is int:
        return b"%d" % value if -10**17 < value < 10**17 else b"%.17g" % value
    if cls is float:
        if value != value:
            return b"-nan" if math.copysign(1.0, value) < 0 else b"nan"
        return b"%.17g" % value
    return None


def lua_tostring(value: Any) -> bytes | None:
    """lua_tolstring: strings as they are, numbers as Lua prints them ('%.14g'), else None."""
    cls = value.__class__
    if cls is bytes:
        return value
    if cls is int or cls is float:
        return b"%.14g" % value
    return None


def lua_tonumber(value: Any) -> int | float | None:
    """Lua 5.1's tonumber for a value: numbers, and strings strtod (or hex) can read whole."""
    cls = value.__class__
    if cls is int or cls is float:
        return value
    if cls is not bytes:
        return None
    text = value.strip(b" \t\n\r\f\v")
    if not text or b"_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return int(text, 16) if text.lower().lstrip(b"+-").startswith(b"0x") else None
    except ValueError:
        return None


def lua_type_name(value: Any) -> str:
    """Lua's type() of a value lupa handed to Python; Python callables (redis.call...) are
    C functions in Redis, so "function"."""
    cls = value.__class__
    if cls is bytes:
        return "string"
    if cls is int or cls is float:
        return "number"
    if cls is bool:
        return "boolean"
    if value is None:
        return "nil"
    kind = lua_type(value)
    if kind is None:
        return "function" if callable(value) else "userdata"
    return kind
