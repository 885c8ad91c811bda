"""Reply conversions between Ember's reply values and Lua values, both directions, RESP2 and RESP3,
following the tables in Redis's scripting documentation."""

from __future__ import annotations

from typing import Any

from lupa import lua51

from ..protocol.encoder import NULL_ARRAY, BigNumber, Bool, SetReply, Verbatim, format_double
from ..protocol.errors import CommandError

lua_type = lua51.lua_type


def reply_to_lua(runtime: lua51.LuaRuntime, reply: Any, resp: int) -> Any:
    """A command reply as the Lua value redis.call returns (resp: the script's setresp)."""
    cls = reply.__class__
    if cls is bytes or cls is int:
        return reply
    if cls is str:
        return runtime.table_from({b"ok": reply.encode()})
    if cls is CommandError:
        return runtime.table_from({b"err": reply.message.encode("utf-8", "surrogateescape")})
    if reply is None or reply is NULL_ARRAY:
        return None if resp == 3 else False
    if cls is list or cls is tuple or cls is SetReply and resp == 2:
        return runtime.table_from([reply_to_lua(runtime, item, resp) for item in reply])
    if cls is dict:
        if resp == 2:
            flat = []
            for key, value in reply.items():
                flat += (reply_to_lua(runtime, key, resp), reply_to_lua(runtime, value, resp))
            return runtime.table_from(flat)
        inner = {reply_to_lua(runtime, k, resp): reply_to_lua(runtime, v, resp) for k, v in reply.items()}
        return runtime.table_from({b"map": runtime.table_from(inner)})
    if cls is SetReply:
        members = {reply_to_lua(runtime, item, resp): True for item in reply}
        return runtime.table_from({b"set": runtime.table_from(members)})
    if cls is float:
        if resp == 2:
            return format_double(reply).encode()
        return runtime.table_from({b"double": reply})
    if cls is Bool:
        return bool(reply) if resp == 3 else int(reply)
    if cls is BigNumber:
        return b"%d" % reply if resp == 2 else runtime.table_from({b"big_number": b"%d" % reply})
    if cls is Verbatim:
        if resp == 2:
            return bytes(reply)
        verbatim = runtime.table_from({b"format": b"txt", b"string": bytes(reply)})
        return runtime.table_from({b"verbatim_string": verbatim})
    if cls is bytearray or cls is memoryview:
        return bytes(reply)
    raise TypeError(f"cannot convert reply of type {cls.__name__} to Lua")


def lua_to_reply(value: Any, resp: int) -> Any:
    """A Lua value returned by a script as the reply sent to the client."""
    if value is None:
        return None
    cls = value.__class__
    if cls is bytes:
        return value
    if cls is int:
        return value
    if cls is float:
        return int(value)  # Lua numbers become integers, truncated toward zero
    if cls is bool:
        if value:
            return 1 if resp == 2 else Bool(1)
        return None if resp == 2 else Bool(0)
    if lua_type(value) == "table":
        return _table_to_reply(value, resp)
    return None


def _table_to_reply(table: Any, resp: int) -> Any:
    err = table[b"err"]
    if err is not None and err.__class__ is bytes:
        return CommandError(error_text(err))
    ok = table[b"ok"]
    if ok is not None and ok.__class__ is bytes:
        return ok.decode("utf-8", "surrogateescape")
    if resp == 3:
        special = _resp3_table(table)
        if special is not _NOT_SPECIAL:
            return special
    items = []
    index = 1
    while True:
        item = table[index]
        if item is None:
            break
        items.append(lua_to_reply(item, resp) if item is not False else None)
        index += 1
    return items


_NOT_SPECIAL = object()


def _resp3_table(table: Any) -> Any:
    double = table[b"double"]
    if double is not None:
        return float(double)
    mapping = table[b"map"]
    if mapping is not None and lua_type(mapping) == "table":
        return {lua_to_reply(k, 3): lua_to_reply(v, 3) for k, v in mapping.items()}
    members = table[b"set"]
    if members is not None and lua_type(members) == "table":
        return SetReply(lua_to_reply(k, 3) for k in members.keys())
    big = table[b"big_number"]
    if big is not None:
        return BigNumber(int(big))
    verbatim = table[b"verbatim_string"]
    if verbatim is not None and lua_type(verbatim) == "table":
        return Verbatim(verbatim[b"string"] or b"")
    return _NOT_SPECIAL


def error_text(raw: bytes) -> str:
    """An error string from a script as Redis replies it: the leading '-' dropped, and 'ERR '
    added when the text does not start with an error code."""
    text = raw.decode("utf-8", "surrogateescape")
    if text.startswith("-"):
        return text[1:]
    return text if text[:1].isupper() and " " in text and text.split(" ", 1)[0].isupper() else f"ERR {text}"


def lua_arg_to_bytes(value: Any) -> bytes | None:
    """A redis.call argument as the bytes Redis passes: strings as is, numbers as Lua prints
    them ('%.17g'), anything else is rejected (None)."""
    cls = value.__class__
    if cls is bytes:
        return value
    if cls is int:
        return b"%d" % value
    if cls is float:
        return (b"%d" % value) if value.is_integer() and abs(value) < 1e17 else (b"%.17g" % value)
    return None
