"""The C libraries Redis preloads for Lua scripts, rewritten in Python with the behaviour scripts
see on Redis 7: `bit` (LuaBitOp), `cjson` (lua-cjson 2.1.0), `cmsgpack` (lua-cmsgpack 0.4.0) and
`struct` (Roberto Ierusalimschy's struct 0.2 with Redis's fixes) — same outputs byte for byte,
same error texts.

Functions receive Lua values as lupa converts them (strings as bytes, numbers as int/float, other
values as lupa objects) and raise `LibraryError` with the luaL_error text; the engine adds the
caller's position ("user_script:1: "), as luaL_error does. Deeply nested data is walked with
explicit stacks, never Python recursion, so the depth limits are the libraries' own.
"""

from __future__ import annotations

import math
import re
import struct as pystruct
from collections.abc import Callable
from typing import Any

from lupa import lua51

from .convert import lua_tonumber, lua_tostring, lua_type_name

lua_type = lua51.lua_type
INT_MAX = 2**31 - 1


class LibraryError(Exception):
    """Raised inside a library function: the script's error, as luaL_error raises it (with the
    caller's position in front)."""

    positioned = True


class TableIndexError(LibraryError):
    """lua_settable's "table index is nil": raised by the Lua core, so without a position."""

    positioned = False


def install_libraries(runtime: Any, wrap: Callable[[Callable], Callable]) -> dict[bytes, Any]:
    """Library name -> Lua table, for the sandbox to expose as read-only globals. `wrap` turns
    each function into what Lua calls (it gives LibraryError its script position)."""
    # cjson.null: the one userdata scripts can hold; it prints as Redis's NULL lightuserdata does.
    null = runtime.execute("local null = newproxy(true) local meta = getmetatable(null) "
                           "meta.__tostring = function() return 'userdata: (nil)' end "
                           "meta.__metatable = false return null")
    libraries = {
        b"bit": bit_library(),
        b"cjson": cjson_library(runtime, null, wrap),
        b"struct": struct_library(),
        b"cmsgpack": cmsgpack_library(runtime),
    }
    return {name: lua_library(runtime, functions, wrap) for name, functions in libraries.items()}


def lua_library(runtime: Any, members: dict[bytes, Any], wrap: Callable[[Callable], Callable]) -> Any:
    return runtime.table_from({key: wrap(value) if _is_python_function(value) else value
                               for key, value in members.items()})


def _is_python_function(value: Any) -> bool:
    return callable(value) and lua_type(value) is None


# -- argument checks (lauxlib's luaL_check*) ------------------------------------------------------

def argument_error(position: int, function: str, message: str) -> LibraryError:
    return LibraryError(f"bad argument #{position} to '{function}' ({message})")


def _type_error(args: tuple, position: int, function: str, expected: str) -> LibraryError:
    got = lua_type_name(args[position - 1]) if len(args) >= position else "no value"
    return argument_error(position, function, f"{expected} expected, got {got}")


def check_number(args: tuple, position: int, function: str) -> int | float:
    value = lua_tonumber(args[position - 1]) if len(args) >= position else None
    if value is None:
        raise _type_error(args, position, function, "number")
    return value


def check_integer(args: tuple, position: int, function: str) -> int:
    """luaL_checkinteger: the number truncated toward zero (a cast in C)."""
    value = check_number(args, position, function)
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and abs(value) < 2**63 else -(2**63)
    return value


def check_string(args: tuple, position: int, function: str) -> bytes:
    """luaL_checklstring: strings, and numbers as Lua prints them ('%.14g')."""
    text = lua_tostring(args[position - 1]) if len(args) >= position else None
    if text is None:
        raise _type_error(args, position, function, "string")
    return text


def is_none(args: tuple, position: int) -> bool:
    return len(args) < position or args[position - 1] is None


def _c_int64(number: float) -> int:
    """(int64_t)number as x86 computes it: truncation, LLONG_MIN when out of range."""
    if number != number or not -9.223372036854775808e18 <= number < 9.223372036854775808e18:
        return -(2**63)
    return int(number)


# -- bit (LuaBitOp) -----------------------------------------------------------------------------

_pack_double = pystruct.Struct("<d").pack
_unpack_u64 = pystruct.Struct("<Q").unpack


def tobit(number: int | float) -> int:
    """LuaBitOp's barg: round to nearest (ties to even) by adding 2^52+2^51 in double precision
    and keeping the low 32 bits of the result's representation, as the C code does."""
    return _unpack_u64(_pack_double(float(number) + 6755399441055744.0))[0] & 0xFFFFFFFF


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def bit_library() -> dict[bytes, Any]:
    def arg(args: tuple, position: int, function: str) -> int:
        return tobit(check_number(args, position, function))

    def folding(function: str, combine: Callable[[int, int], int]) -> Callable:
        def fold(*args: Any) -> int:
            result = arg(args, 1, function)
            for position in range(len(args), 1, -1):  # LuaBitOp folds from the last argument
                result = combine(result, arg(args, position, function))
            return _signed32(result)
        return fold

    def shifting(function: str, shift: Callable[[int, int], int]) -> Callable:
        def apply(*args: Any) -> int:
            value = arg(args, 1, function)
            return _signed32(shift(value, arg(args, 2, function) & 31))
        return apply

    def tohex(*args: Any) -> bytes:
        value = arg(args, 1, "tohex")
        digits = 8 if len(args) < 2 else _signed32(arg(args, 2, "tohex"))
        text = "0123456789abcdef"
        if digits < 0:
            digits, text = -digits, "0123456789ABCDEF"
        digits = min(digits, 8)
        out = []
        for _ in range(digits):
            out.append(text[value & 15])
            value >>= 4
        return "".join(reversed(out)).encode()

    return {
        b"tobit": lambda *args: _signed32(arg(args, 1, "tobit")),
        b"tohex": tohex,
        b"bnot": lambda *args: _signed32(~arg(args, 1, "bnot")),
        b"band": folding("band", lambda a, b: a & b),
        b"bor": folding("bor", lambda a, b: a | b),
        b"bxor": folding("bxor", lambda a, b: a ^ b),
        b"lshift": shifting("lshift", lambda b, n: b << n),
        b"rshift": shifting("rshift", lambda b, n: b >> n),
        b"arshift": shifting("arshift", lambda b, n: _signed32(b) >> n),
        b"rol": shifting("rol", lambda b, n: (b << n) | (b >> (32 - n))),
        b"ror": shifting("ror", lambda b, n: (b >> n) | (b << (32 - n))),
        b"bswap": lambda *args: _signed32(int.from_bytes(arg(args, 1, "bswap").to_bytes(4, "little"), "big")),
    }


# -- cjson ----------------------------------------------------------------------------------------

_JSON_ESCAPES = {byte: b"\\u%04x" % byte for byte in range(32)}
_JSON_ESCAPES.update({0x08: b"\\b", 0x09: b"\\t", 0x0A: b"\\n", 0x0C: b"\\f", 0x0D: b"\\r", 0x22: b'\\"',
                      0x2F: b"\\/", 0x5C: b"\\\\", 0x7F: b"\\u007f"})
_JSON_NEEDS_ESCAPE = re.compile(b"[\\x00-\\x1f\"/\\\\\\x7f]")


class JSONConfig:
    """One cjson instance's settings (cjson.new() makes another)."""

    def __init__(self) -> None:
        self.sparse_convert = 0
        self.sparse_ratio = 2
        self.sparse_safe = 10
        self.encode_max_depth = 1000
        self.decode_max_depth = 1000
        self.encode_invalid_numbers = 0  # 0 refuse, 1 allow, 2 as null
        self.decode_invalid_numbers = 1
        self.encode_keep_buffer = 1
        self.precision = 14


def json_string(raw: bytes) -> bytes:
    if _JSON_NEEDS_ESCAPE.search(raw) is None:
        return b'"' + raw + b'"'
    return b'"' + _JSON_NEEDS_ESCAPE.sub(lambda match: _JSON_ESCAPES[match.group()[0]], raw) + b'"'


def _json_number(value: int | float, cfg: JSONConfig) -> bytes:
    if isinstance(value, float) and not math.isfinite(value):
        if cfg.encode_invalid_numbers == 0:
            raise LibraryError("Cannot serialise number: must not be NaN or Inf")
        if cfg.encode_invalid_numbers == 2:
            return b"null"
        if value != value:
            return b"nan"
    return b"%.*g" % (cfg.precision, value)


def _json_array_length(table: Any, cfg: JSONConfig) -> int:
    """lua_array_length: the array length, or -1 when the table is an object."""
    largest = count = 0
    for key in table:
        if key.__class__ is bool or not isinstance(key, (int, float)) or key < 1 or key != math.floor(key):
            return -1
        largest = max(largest, int(key))
        count += 1
    if cfg.sparse_ratio > 0 and largest > count * cfg.sparse_ratio and largest > cfg.sparse_safe:
        if not cfg.sparse_convert:
            raise LibraryError("Cannot serialise table: excessively sparse array")
        return -1
    return largest


class _Literal(bytes):
    """Output that is written as is (brackets and commas) in the encoder's work list."""


class _Key:
    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key


_CLOSE_ARRAY, _CLOSE_OBJECT, _COMMA = _Literal(b"]"), _Literal(b"}"), _Literal(b",")


def json_encode(value: Any, cfg: JSONConfig) -> bytes:
    """cjson.encode, walking nested tables with a work list (deepest first, in output order)."""
    out: list[bytes] = []
    work: list[Any] = [value]
    depth = 0
    while work:
        item = work.pop()
        cls = item.__class__
        if cls is _Literal:
            out.append(item)
            if item is _CLOSE_ARRAY or item is _CLOSE_OBJECT:
                depth -= 1
        elif cls is _Key:
            out.append(_json_key(item.key, cfg))
        elif cls is bytes:
            out.append(json_string(item))
        elif cls is bool:
            out.append(b"true" if item else b"false")
        elif cls is int or cls is float:
            out.append(_json_number(item, cfg))
        elif item is None or lua_type(item) == "userdata":  # nil, and cjson.null
            out.append(b"null")
        elif lua_type(item) == "table":
            depth += 1
            if depth > cfg.encode_max_depth:
                raise LibraryError(f"Cannot serialise, excessive nesting ({depth})")
            work.extend(_json_table_work(item, cfg))
        else:
            raise LibraryError(f"Cannot serialise {lua_type_name(item)}: type not supported")
    return b"".join(out)


def _json_table_work(table: Any, cfg: JSONConfig) -> list[Any]:
    """The work list entries (reversed) that write one table: '[' items ']' or '{' k:v '}'."""
    length = _json_array_length(table, cfg)
    entries: list[Any]
    if length > 0:
        entries = [_Literal(b"[")]
        for index in range(1, length + 1):
            if index > 1:
                entries.append(_COMMA)
            entries.append(table[index])
        entries.append(_CLOSE_ARRAY)
    else:
        entries = [_Literal(b"{")]
        for position, (key, item) in enumerate(table.items()):
            if position:
                entries.append(_COMMA)
            entries.append(_Key(key))
            entries.append(item)
        entries.append(_CLOSE_OBJECT)
    entries.reverse()
    return entries


def _json_key(key: Any, cfg: JSONConfig) -> bytes:
    if key.__class__ is bytes:
        return json_string(key) + b":"
    if key.__class__ is not bool and isinstance(key, (int, float)):
        return b'"' + _json_number(key, cfg) + b'":'
    raise LibraryError(f"Cannot serialise {lua_type_name(key)}: table key must be a number or string")


# Decoding: a tokenizer with lua-cjson's token names and error positions.
_WHITESPACE = b" \t\n\r"
_SINGLE_TOKENS = {ord("{"): "T_OBJ_BEGIN", ord("}"): "T_OBJ_END", ord("["): "T_ARR_BEGIN",
                  ord("]"): "T_ARR_END", ord(","): "T_COMMA", ord(":"): "T_COLON"}
_JSON_UNESCAPE = {ord('"'): b'"', ord("\\"): b"\\", ord("/"): b"/", ord("b"): b"\b", ord("t"): b"\t",
                  ord("n"): b"\n", ord("f"): b"\f", ord("r"): b"\r"}
# strtod's prefix: decimal or hex, inf/infinity, nan.
_STRTOD = re.compile(rb"[+-]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
                     rb"|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
                     rb"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN])")


def strtod_prefix(data: bytes, start: int) -> tuple[float, int] | None:
    """(value, end) of the longest number strtod reads at start, or None."""
    match = _STRTOD.match(data, start)
    if match is None:
        return None
    text = match.group()
    body = text.lstrip(b"+-")
    negative = text.startswith(b"-")
    value = float.fromhex(body.decode()) if body[:2].lower() == b"0x" else float(body)
    return (-value if negative else value), match.end()


class _Token:
    __slots__ = ("kind", "index", "value")

    def __init__(self, kind: str, index: int, value: Any = None) -> None:
        self.kind = kind
        self.index = index
        self.value = value


class _Container:
    """An array or object being decoded, and the key its next value goes to."""

    __slots__ = ("items", "key", "closer")

    def __init__(self, is_array: bool) -> None:
        self.items: list[Any] | dict[bytes, Any] = [] if is_array else {}
        self.key: bytes = b""
        self.closer = "T_ARR_END" if is_array else "T_OBJ_END"

    def add(self, value: Any) -> None:
        if self.closer == "T_ARR_END":
            self.items.append(value)  # type: ignore[union-attr]
        else:
            self.items[self.key] = value  # type: ignore[index]


class JSONDecoder:
    """lua-cjson's decoder: its tokens, error texts and positions; nesting is followed with an
    explicit stack of open containers, and each one becomes a Lua table when it closes."""

    def __init__(self, runtime: Any, null: Any, cfg: JSONConfig, data: bytes) -> None:
        self.runtime = runtime
        self.null = null
        self.cfg = cfg
        self.data = data + b"\0"  # the C parser reads up to a NUL, which is its T_END
        self.pos = 0
        self.peeked: _Token | None = None

    def error(self, expected: str, token: _Token) -> LibraryError:
        found = token.value if token.kind == "T_ERROR" else token.kind
        return LibraryError(f"Expected {expected} but found {found} at character {token.index + 1}")

    def decode(self) -> Any:
        stack: list[_Container] = []
        token = self.next_token()
        while True:
            value = self._start_value(token, stack)
            if value is _OPENED:
                token = self.next_token()
                continue
            while True:  # a value is complete: store it, then close containers or move on
                if not stack:
                    end = self.next_token()
                    if end.kind != "T_END":
                        raise self.error("the end", end)
                    return value
                container = stack[-1]
                container.add(value)
                token = self.next_token()
                if token.kind == container.closer:
                    stack.pop()
                    value = self.runtime.table_from(container.items)
                    continue
                if token.kind != "T_COMMA":
                    expected = "comma or array end" if container.closer == "T_ARR_END" else "comma or object end"
                    raise self.error(expected, token)
                if container.closer == "T_OBJ_END":
                    container.key = self._object_key(self.next_token())
                token = self.next_token()
                break

    def _start_value(self, token: _Token, stack: list[_Container]) -> Any:
        """A scalar's value, an empty container's table, or _OPENED once a container is
        pushed (and, for an object, its first key read)."""
        kind = token.kind
        if kind == "T_STRING" or kind == "T_NUMBER" or kind == "T_BOOLEAN":
            return token.value
        if kind == "T_NULL":
            return self.null
        if kind != "T_ARR_BEGIN" and kind != "T_OBJ_BEGIN":
            raise self.error("value", token)
        if len(stack) + 1 > self.cfg.decode_max_depth:
            raise LibraryError(f"Found too many nested data structures ({len(stack) + 1}) at character "
                               f"{token.index + 1}")
        first = self.next_token()
        if kind == "T_ARR_BEGIN":
            if first.kind == "T_ARR_END":
                return self.runtime.table_from([])
            self.peeked = first
            stack.append(_Container(is_array=True))
            return _OPENED
        if first.kind == "T_OBJ_END":
            return self.runtime.table_from({})
        container = _Container(is_array=False)
        container.key = self._object_key(first)
        stack.append(container)
        return _OPENED

    def _object_key(self, token: _Token) -> bytes:
        if token.kind != "T_STRING":
            raise self.error("object key string", token)
        colon = self.next_token()
        if colon.kind != "T_COLON":
            raise self.error("colon", colon)
        return token.value

    def next_token(self) -> _Token:
        if self.peeked is not None:
            token, self.peeked = self.peeked, None
            return token
        data = self.data
        while data[self.pos] in _WHITESPACE:
            self.pos += 1
        start = self.pos
        char = data[start]
        single = _SINGLE_TOKENS.get(char)
        if single is not None:
            self.pos += 1
            return _Token(single, start)
        if char == 0:
            return _Token("T_END", start)
        if char == ord('"'):
            return self._string_token()
        if char == ord("-") or 48 <= char <= 57:
            if not self.cfg.decode_invalid_numbers and self._invalid_number():
                return _Token("T_ERROR", start, "invalid number")
            return self._number_token()
        for literal, kind, value in ((b"true", "T_BOOLEAN", True), (b"false", "T_BOOLEAN", False),
                                     (b"null", "T_NULL", None)):
            if data.startswith(literal, start):
                self.pos += len(literal)
                return _Token(kind, start, value)
        if char in b"iInN+" and self.cfg.decode_invalid_numbers and self._invalid_number():
            return self._number_token()
        return _Token("T_ERROR", start, "invalid token")

    def _invalid_number(self) -> bool:
        """json_is_invalid_number: '+', hex, leading zeros, inf and nan are not JSON."""
        data, pos = self.data, self.pos
        if data[pos] == ord("+"):
            return True
        if data[pos] == ord("-"):
            pos += 1
        if data[pos] == ord("0"):
            following = data[pos + 1]
            return (following | 0x20) == ord("x") or 48 <= following <= 57
        if data[pos] <= ord("9"):
            return False
        return data[pos:pos + 3].lower() in (b"inf", b"nan")

    def _number_token(self) -> _Token:
        start = self.pos
        parsed = strtod_prefix(self.data, start)
        if parsed is None:
            return _Token("T_ERROR", start, "invalid number")
        self.pos = parsed[1]
        return _Token("T_NUMBER", start, parsed[0])

    def _string_token(self) -> _Token:
        data = self.data
        start = self.pos
        pos = start + 1
        out = bytearray()
        while True:
            char = data[pos]
            if char == ord('"'):
                break
            if char == 0:
                return _Token("T_ERROR", pos, "unexpected end of string")
            if char != ord("\\"):
                out.append(char)
                pos += 1
                continue
            escape = data[pos + 1]
            if escape == ord("u"):
                decoded = self._unicode_escape(pos)
                if decoded is None:
                    return _Token("T_ERROR", pos, "invalid unicode escape code")
                text, pos = decoded
            else:
                text = _JSON_UNESCAPE.get(escape)
                if text is None:
                    return _Token("T_ERROR", pos, "invalid escape code")
                pos += 2
            out += text
        self.pos = pos + 1
        return _Token("T_STRING", start, bytes(out))

    def _unicode_escape(self, pos: int) -> tuple[bytes, int] | None:
        """\\uXXXX (or a surrogate pair) at pos as UTF-8, and the position after it."""
        data = self.data
        code = _hex4(data, pos + 2)
        if code is None:
            return None
        end = pos + 6
        if code & 0xF800 == 0xD800:
            if code & 0x400 or data[end:end + 2] != b"\\u":
                return None
            low = _hex4(data, end + 2)
            if low is None or low & 0xFC00 != 0xDC00:
                return None
            code = (((code & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000
            end += 6
        return chr(code).encode("utf-8", "surrogatepass"), end


_OPENED = object()


def _hex4(data: bytes, pos: int) -> int | None:
    digits = data[pos:pos + 4]
    if len(digits) != 4 or not all(chr(d) in "0123456789abcdefABCDEF" for d in digits):
        return None
    return int(digits, 16)


def cjson_library(runtime: Any, null: Any, wrap: Callable[[Callable], Callable]) -> dict[bytes, Any]:
    cfg = JSONConfig()

    def encode(*args: Any) -> bytes:
        if len(args) != 1:
            raise argument_error(1, "encode", "expected 1 argument")
        return json_encode(args[0], cfg)

    def decode(*args: Any) -> Any:
        if len(args) != 1:
            raise argument_error(1, "decode", "expected 1 argument")
        text = check_string(args, 1, "decode")
        if len(text) >= 2 and (text[0] == 0 or text[1] == 0):
            raise LibraryError("JSON parser does not support UTF-16 or UTF-32")
        return JSONDecoder(runtime, null, cfg, text.split(b"\0", 1)[0]).decode()

    def new(*_args: Any) -> Any:
        return lua_library(runtime, cjson_library(runtime, null, wrap), wrap)

    members: dict[bytes, Any] = {
        b"encode": encode, b"decode": decode, b"new": new, b"null": null,
        b"_NAME": b"cjson", b"_VERSION": b"2.1.0",
    }
    members.update(_cjson_settings(cfg))
    return members


def _cjson_settings(cfg: JSONConfig) -> dict[bytes, Callable]:
    """The configuration functions: each reads its arguments (nil keeps a value) and returns
    the settings now in force."""

    def arguments(function: str, args: tuple, count: int) -> tuple:
        if len(args) > count:
            raise argument_error(count + 1, function, "found too many arguments")
        return args + (None,) * (count - len(args))

    def integer(function: str, args: tuple, position: int, attribute: str, low: int, high: int) -> int:
        if args[position - 1] is not None:
            value = check_integer(args, position, function)
            if not low <= value <= high:
                # lua-cjson reports every range error as argument #1
                raise argument_error(1, function, f"expected integer between {low} and {high}")
            setattr(cfg, attribute, value)
        return getattr(cfg, attribute)

    def option(function: str, args: tuple, position: int, attribute: str,
               names: tuple[str, ...] = ("off", "on")) -> bool | bytes:
        value = args[position - 1]
        if value is not None:
            if value.__class__ is bool:
                setting = int(value)
            else:
                text = check_string(args, position, function).decode("latin-1")
                if text not in names:
                    raise argument_error(position, function, f"invalid option '{text}'")
                setting = names.index(text)
            setattr(cfg, attribute, setting)
        setting = getattr(cfg, attribute)
        return bool(setting) if setting in (0, 1) else names[setting].encode()

    def sparse_array(*args: Any) -> tuple:
        args = arguments("encode_sparse_array", args, 3)
        return (option("encode_sparse_array", args, 1, "sparse_convert"),
                integer("encode_sparse_array", args, 2, "sparse_ratio", 0, INT_MAX),
                integer("encode_sparse_array", args, 3, "sparse_safe", 0, INT_MAX))

    def integer_setting(function: str, attribute: str, low: int, high: int) -> Callable:
        return lambda *args: integer(function, arguments(function, args, 1), 1, attribute, low, high)

    def option_setting(function: str, attribute: str, names: tuple[str, ...] = ("off", "on")) -> Callable:
        return lambda *args: option(function, arguments(function, args, 1), 1, attribute, names)

    return {
        b"encode_sparse_array": sparse_array,
        b"encode_max_depth": integer_setting("encode_max_depth", "encode_max_depth", 1, INT_MAX),
        b"decode_max_depth": integer_setting("decode_max_depth", "decode_max_depth", 1, INT_MAX),
        b"encode_number_precision": integer_setting("encode_number_precision", "precision", 1, 14),
        b"encode_keep_buffer": option_setting("encode_keep_buffer", "encode_keep_buffer"),
        b"encode_invalid_numbers": option_setting("encode_invalid_numbers", "encode_invalid_numbers",
                                                  ("off", "on", "null")),
        b"decode_invalid_numbers": option_setting("decode_invalid_numbers", "decode_invalid_numbers"),
    }


# -- struct ---------------------------------------------------------------------------------------

MAX_INT_SIZE = 32
MAX_ALIGN = 8
_FIXED_SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8, "f": 4, "d": 8, "x": 1}
_MASK64 = (1 << 64) - 1


class _Format:
    """A struct format string read one option at a time (with its size and alignment)."""

    def __init__(self, fmt: bytes, function: str) -> None:
        self.text = fmt.decode("latin-1")
        self.pos = 0
        self.function = function
        self.little = True  # native order on the platforms Redis runs on
        self.align = 1

    def __iter__(self):
        while self.pos < len(self.text):
            option = self.text[self.pos]
            self.pos += 1
            yield option, self._size(option)

    def _number(self, default: int) -> int:
        if self.pos >= len(self.text) or not self.text[self.pos].isdigit():
            return default
        value = 0
        while self.pos < len(self.text) and self.text[self.pos].isdigit():
            digit = int(self.text[self.pos])
            if value > INT_MAX // 10 or value * 10 > INT_MAX - digit:
                raise LibraryError("integral size overflow")
            value = value * 10 + digit
            self.pos += 1
        return value

    def _size(self, option: str) -> int:
        if option in _FIXED_SIZES:
            return _FIXED_SIZES[option]
        if option == "c":
            return self._number(1)
        if option in "iI":
            size = self._number(4)
            if size > MAX_INT_SIZE:
                raise LibraryError(f"integral size {size} is larger than limit of {MAX_INT_SIZE}")
            return size
        return 0

    def padding(self, length: int, option: str, size: int) -> int:
        if size == 0 or option == "c":
            return 0
        size = min(size, self.align)
        return (size - (length & (size - 1))) & (size - 1)

    def control(self, option: str) -> None:
        """Options that are not data: spaces, byte order, alignment; anything else is an error."""
        if option == " ":
            return
        if option in "<>":
            self.little = option == "<"
            return
        if option == "!":
            align = self._number(MAX_ALIGN)
            if align <= 0 or align & (align - 1):
                raise LibraryError(f"alignment {align} is not a power of 2")
            self.align = align
            return
        raise argument_error(1, self.function, f"invalid format option '{option}'")


def _struct_int(value: float | int, size: int, little: bool) -> bytes:
    number = _c_int64(value) & _MASK64 if value < 0 else (int(value) if value < 2**64 else 0) & _MASK64
    data = number.to_bytes(8, "little")[:size].ljust(size, b"\0")
    return data if little else data[::-1]


def struct_library() -> dict[bytes, Any]:
    def pack(*args: Any) -> bytes:
        fmt = _Format(check_string(args, 1, "pack"), "pack")
        out = bytearray()
        position = 2
        for option, size in fmt:
            out += b"\0" * fmt.padding(len(out), option, size)
            if option in "bBhHlLTiI":
                out += _struct_int(_pack_number(args, position), size, fmt.little)
                position += 1
            elif option == "x":
                out.append(0)
            elif option in "fd":
                number = float(_pack_number(args, position))
                position += 1
                out += pystruct.pack(("<" if fmt.little else ">") + option, _c_float(number) if option == "f" else number)
            elif option in "cs":
                text = check_string(args, position, "pack")
                position += 1
                size = size or len(text)
                if len(text) < size:
                    raise argument_error(position, "pack", "string too short")
                out += text[:size] + (b"\0" if option == "s" else b"")
            else:
                fmt.control(option)
        return bytes(out)

    def _pack_number(args: tuple, position: int) -> int | float:
        if len(args) == position - 1:  # pack leaves a nil after its arguments
            raise argument_error(position, "pack", "number expected, got nil")
        return check_number(args, position, "pack")

    def unpack(*args: Any) -> tuple:
        fmt = _Format(check_string(args, 1, "unpack"), "unpack")
        data = check_string(args, 2, "unpack")
        start = 1 if is_none(args, 3) else check_integer(args, 3, "unpack")
        if start < 1:
            raise argument_error(3, "unpack", "offset must be 1 or greater")
        pos = start - 1
        results: list[Any] = []
        for option, size in fmt:
            pos += fmt.padding(pos, option, size)
            if size > len(data) or pos > len(data) - size:
                raise argument_error(2, "unpack", "data string too short")
            if option in "bBhHlLTiI":
                results.append(_struct_read_int(data[pos:pos + size], fmt.little, option.islower()))
            elif option in "fd":
                chunk = data[pos:pos + size]
                results.append(pystruct.unpack(("<" if fmt.little else ">") + option, chunk)[0])
            elif option == "c":
                if size == 0:
                    if not results or lua_tonumber(results[-1]) is None:
                        raise LibraryError("format 'c0' needs a previous size")
                    size = int(lua_tonumber(results.pop()))
                    if size > len(data) or pos > len(data) - size:
                        raise argument_error(2, "unpack", "data string too short")
                results.append(data[pos:pos + size])
            elif option == "s":
                end = data.find(b"\0", pos)
                if end < 0:
                    raise LibraryError("unfinished string in data")
                results.append(data[pos:end])
                size = end - pos + 1
            elif option != "x":
                fmt.control(option)
            pos += size
        return (*results, pos + 1)

    def size(*args: Any) -> int:
        fmt = _Format(check_string(args, 1, "size"), "size")
        pos = 0
        for option, item_size in fmt:
            pos += fmt.padding(pos, option, item_size)
            if option == "s":
                raise argument_error(1, "size", "option 's' has no fixed size")
            if option == "c" and item_size == 0:
                raise argument_error(1, "size", "option 'c0' has no fixed size")
            if not option.isalnum():
                fmt.control(option)
            pos += item_size
        return pos

    return {b"pack": pack, b"unpack": unpack, b"size": size}


def _c_float(number: float) -> float:
    """(float)number: out-of-range values become infinities instead of raising."""
    try:
        pystruct.pack("<f", number)
    except OverflowError:
        return math.copysign(math.inf, number)
    return number


def _struct_read_int(chunk: bytes, little: bool, signed: bool) -> int:
    value = int.from_bytes(chunk, "little" if little else "big") & _MASK64  # the C code keeps 64 bits
    if signed:
        mask = (_MASK64 << ((len(chunk) * 8 - 1) & 63)) & _MASK64
        if value & mask:
            value |= mask
        if value >= 1 << 63:
            value -= 1 << 64
    return value


# -- cmsgpack ---------------------------------------------------------------------------------------

MAX_NESTING = 16
MISSING_BYTES = "Missing bytes in input."
BAD_FORMAT = "Bad data format in input."


def _msgpack_int(value: int) -> bytes:
    if value >= 0:
        if value <= 127:
            return bytes((value,))
        for marker, limit, width in ((0xCC, 0xFF, 1), (0xCD, 0xFFFF, 2), (0xCE, 0xFFFFFFFF, 4)):
            if value <= limit:
                return bytes((marker,)) + value.to_bytes(width, "big")
        return b"\xcf" + value.to_bytes(8, "big")
    if value >= -32:
        return bytes((value & 0xFF,))
    for marker, limit, width in ((0xD0, -128, 1), (0xD1, -32768, 2), (0xD2, -(2**31), 4)):
        if value >= limit:
            return bytes((marker,)) + value.to_bytes(width, "big", signed=True)
    return b"\xd3" + value.to_bytes(8, "big", signed=True)


def _msgpack_double(value: float) -> bytes:
    try:
        single = pystruct.pack(">f", value)
    except OverflowError:
        single = None
    if single is not None and pystruct.unpack(">f", single)[0] == value:
        return b"\xca" + single
    return b"\xcb" + pystruct.pack(">d", value)


def _msgpack_length(length: int, fix: int, fix_limit: int, markers: tuple[int | None, int, int]) -> bytes:
    if length < fix_limit:
        return bytes((fix | length,))
    if markers[0] is not None and length <= 0xFF:
        return bytes((markers[0], length))
    if length <= 0xFFFF:
        return bytes((markers[1],)) + length.to_bytes(2, "big")
    return bytes((markers[2],)) + (length & 0xFFFFFFFF).to_bytes(4, "big")


def _msgpack_table_is_array(table: Any) -> bool:
    """Keys exactly 1..n (integers that fit an int), so the table packs as an array."""
    count = largest = 0
    for key in table:
        if key.__class__ is bool or not isinstance(key, (int, float)) or key <= 0 \
                or key != math.floor(key) or key > INT_MAX:
            return False
        largest = max(largest, int(key))
        count += 1
    return largest == count


def msgpack_encode(value: Any, level: int = 0) -> bytes:
    cls = value.__class__
    if cls is bytes:
        return _msgpack_length(len(value), 0xA0, 32, (0xD9, 0xDA, 0xDB)) + value
    if cls is bool:
        return b"\xc3" if value else b"\xc2"
    if cls is int:
        return _msgpack_int(value) if -(2**63) <= value < 2**63 else _msgpack_double(float(value))
    if cls is float:
        if math.isfinite(value) and value == math.floor(value) and -(2**63) <= value < 2**63:
            return _msgpack_int(int(value))
        return _msgpack_double(value)
    if lua_type(value) == "table" and level < MAX_NESTING:  # deeper tables pack as nil, as in C
        if _msgpack_table_is_array(value):
            length = len(value)
            items = b"".join(msgpack_encode(value[index], level + 1) for index in range(1, length + 1))
            return _msgpack_length(length, 0x90, 16, (None, 0xDC, 0xDD)) + items
        pairs = list(value.items())
        body = b"".join(msgpack_encode(key, level + 1) + msgpack_encode(item, level + 1) for key, item in pairs)
        return _msgpack_length(len(pairs), 0x80, 16, (None, 0xDE, 0xDF)) + body
    return b"\xc0"


class _MsgpackCursor:
    def __init__(self, runtime: Any, data: bytes, pos: int) -> None:
        self.runtime = runtime
        self.data = data
        self.pos = pos

    def take(self, count: int) -> bytes:
        end = self.pos + count
        if end > len(self.data):
            raise LibraryError(MISSING_BYTES)
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def value(self) -> Any:
        """One object; containers are filled with an explicit stack, not recursion."""
        stack: list[list[Any]] = []  # [items so far, items wanted, is_map]
        while True:
            item = self._scalar_or_open(stack)
            while item is not _OPENED:
                if not stack:
                    return item
                frame = stack[-1]
                frame[0].append(item)
                if len(frame[0]) < frame[1]:
                    break
                stack.pop()
                item = self._close(frame)

    def _scalar_or_open(self, stack: list) -> Any:
        marker = self.take(1)[0]
        if marker <= 0x7F:
            return marker
        if marker >= 0xE0:
            return marker - 256
        if 0xA0 <= marker <= 0xBF:
            return self.take(marker & 0x1F)
        if 0x90 <= marker <= 0x9F or 0x80 <= marker <= 0x8F:
            return self._open(stack, marker & 0x0F, is_map=marker < 0x90)
        handler = _MSGPACK_FIXED.get(marker)
        if handler is not None:
            return handler(self)
        if marker in (0xD9, 0xDA, 0xDB):
            width = {0xD9: 1, 0xDA: 2, 0xDB: 4}[marker]
            return self.take(int.from_bytes(self.take(width), "big"))
        if marker in (0xDC, 0xDD, 0xDE, 0xDF):
            count = int.from_bytes(self.take(2 if marker in (0xDC, 0xDE) else 4), "big")
            return self._open(stack, count, is_map=marker >= 0xDE)
        raise LibraryError(BAD_FORMAT)

    def _open(self, stack: list, count: int, is_map: bool) -> Any:
        frame = [[], count * 2 if is_map else count, is_map]
        if frame[1] == 0:
            return self._close(frame)
        stack.append(frame)
        return _OPENED

    def _close(self, frame: list) -> Any:
        items, _, is_map = frame
        if not is_map:
            return self.runtime.table_from(items)
        table = self.runtime.table_from({})
        for index in range(0, len(items), 2):
            key = items[index]
            if key is None:
                raise TableIndexError("table index is nil")
            if key.__class__ is float and key != key:
                raise TableIndexError("table index is NaN")
            table[key] = items[index + 1]
        return table


def _unsigned(width: int) -> Callable[[_MsgpackCursor], int]:
    def read(cursor: _MsgpackCursor) -> int:
        value = int.from_bytes(cursor.take(width), "big")
        return value - (1 << 64) if value >= 1 << 63 else value  # lua_pushinteger of a uint64
    return read


def _signed(width: int) -> Callable[[_MsgpackCursor], int]:
    return lambda cursor: int.from_bytes(cursor.take(width), "big", signed=True)


_MSGPACK_FIXED: dict[int, Callable[[_MsgpackCursor], Any]] = {
    0xC0: lambda cursor: None, 0xC2: lambda cursor: False, 0xC3: lambda cursor: True,
    0xCC: _unsigned(1), 0xCD: _unsigned(2), 0xCE: _unsigned(4), 0xCF: _unsigned(8),
    0xD0: _signed(1), 0xD1: _signed(2), 0xD2: _signed(4), 0xD3: _signed(8),
    0xCA: lambda cursor: pystruct.unpack(">f", cursor.take(4))[0],
    0xCB: lambda cursor: pystruct.unpack(">d", cursor.take(8))[0],
}


def cmsgpack_library(runtime: Any) -> dict[bytes, Any]:
    def pack(*values: Any) -> bytes:
        if not values:
            raise argument_error(0, "pack", "MessagePack pack needs input.")
        return b"".join(msgpack_encode(value) for value in values)

    def unpack_full(data: bytes, limit: int, offset: int) -> tuple:
        decode_all = not limit and not offset
        if offset < 0 or limit < 0:
            raise LibraryError(f"Invalid request to unpack with offset of {offset} and limit of {len(data)}.")
        if offset > len(data):
            raise LibraryError(f"Start offset {offset} greater than input length {len(data)}.")
        if decode_all:
            limit = INT_MAX
        cursor = _MsgpackCursor(runtime, data, offset)
        results = []
        while cursor.pos < len(data) and len(results) < limit:
            results.append(cursor.value())
        if decode_all:
            return tuple(results)
        return (-1 if cursor.pos == len(data) else cursor.pos, *results)

    def unpack(*args: Any) -> tuple:
        return unpack_full(check_string(args, 1, "unpack"), 0, 0)

    def unpack_one(*args: Any) -> tuple:
        offset = 0 if is_none(args, 2) else check_integer(args, 2, "unpack_one")
        return unpack_full(check_string(args, 1, "unpack_one"), 1, offset)

    def unpack_limit(*args: Any) -> tuple:
        limit = check_integer(args, 2, "unpack_limit")
        offset = 0 if is_none(args, 3) else check_integer(args, 3, "unpack_limit")
        return unpack_full(check_string(args, 1, "unpack_limit"), limit, offset)

    return {
        b"pack": pack, b"unpack": unpack, b"unpack_one": unpack_one, b"unpack_limit": unpack_limit,
        b"_NAME": b"cmsgpack", b"_VERSION": b"lua-cmsgpack 0.4.0",
        b"_COPYRIGHT": b"Copyright (C) 2012, Salvatore Sanfilippo",
        b"_DESCRIPTION": b"MessagePack C implementation for Lua",
    }
