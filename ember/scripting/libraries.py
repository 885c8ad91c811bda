"""The Lua libraries Redis preloads for scripts, in Python: bit (LuaBitOp), cjson, struct and
cmsgpack, with the behaviour scripts written for Redis rely on (cjson's %.14g numbers and '\\/'
escapes, LuaBitOp's 32-bit wrap-around, struct's formats, cmsgpack's smallest encodings)."""

from __future__ import annotations

import json
import math
import struct as pystruct
from collections.abc import Callable
from typing import Any

import msgpack
from lupa import lua51

lua_type = lua51.lua_type


class LibraryError(Exception):
    """Raised inside a library function: becomes the script's error, like luaL_error."""


def install_libraries(runtime: Any, wrap: Callable[[Callable], Callable]) -> dict[bytes, Any]:
    """Library name -> Lua table, for the sandbox to expose as read-only globals. `wrap` turns
    each function into what Lua calls (it gives LibraryError its script position)."""
    null = runtime.eval("newproxy()")  # cjson.null: a unique userdata, as cjson's lightuserdata
    libraries = {
        b"bit": _bit_library(),
        b"cjson": _cjson_library(runtime, null),
        b"struct": _struct_library(runtime),
        b"cmsgpack": _cmsgpack_library(runtime),
    }
    return {name: runtime.table_from({key: wrap(value) if callable(value) else value for key, value in lib.items()})
            for name, lib in libraries.items()}


# -- bit ------------------------------------------------------------------------------------


def tobit(value: Any) -> int:
    """LuaBitOp's normalisation: round to an integer, wrap to a signed 32-bit value."""
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        return 0
    wrapped = int(round(number)) & 0xFFFFFFFF
    return wrapped - (1 << 32) if wrapped & 0x80000000 else wrapped


def _signed(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _fold(op: Callable[[int, int], int]) -> Callable[..., int]:
    def apply(first: Any, *rest: Any) -> int:
        result = tobit(first)
        for value in rest:
            result = op(result, tobit(value))
        return _signed(result)

    return apply


def _tohex(value: Any, digits: Any = 8) -> bytes:
    count = int(digits)
    upper = count < 0
    count = min(abs(count), 8) or 8
    text = f"{tobit(value) & ((1 << (4 * count)) - 1):0{count}x}"
    return (text.upper() if upper else text).encode()


def _rotate_left(value: int, shift: int) -> int:
    unsigned = value & 0xFFFFFFFF
    shift &= 31
    return _signed((unsigned << shift) | (unsigned >> (32 - shift)))


def _bit_library() -> dict[bytes, Any]:
    return {
        b"tobit": tobit,
        b"tohex": _tohex,
        b"bnot": lambda x: _signed(~tobit(x)),
        b"band": _fold(lambda a, b: a & b),
        b"bor": _fold(lambda a, b: a | b),
        b"bxor": _fold(lambda a, b: a ^ b),
        b"lshift": lambda x, n: _signed(tobit(x) << (tobit(n) & 31)),
        b"rshift": lambda x, n: _signed((tobit(x) & 0xFFFFFFFF) >> (tobit(n) & 31)),
        b"arshift": lambda x, n: _signed(tobit(x) >> (tobit(n) & 31)),
        b"rol": lambda x, n: _rotate_left(tobit(x), tobit(n)),
        b"ror": lambda x, n: _rotate_left(tobit(x), 32 - (tobit(n) & 31)),
        b"bswap": lambda x: _signed(int.from_bytes((tobit(x) & 0xFFFFFFFF).to_bytes(4, "little"), "big")),
    }


# -- cjson ----------------------------------------------------------------------------------

_JSON_ESCAPES = {0x22: b'\\"', 0x5C: b"\\\\", 0x2F: b"\\/", 0x08: b"\\b", 0x0C: b"\\f",
                 0x0A: b"\\n", 0x0D: b"\\r", 0x09: b"\\t"}
MAX_DEPTH = 1000
SPARSE_RATIO, SPARSE_SAFE = 2, 10


def _json_string(raw: bytes) -> bytes:
    out = bytearray(b'"')
    for byte in raw:
        escaped = _JSON_ESCAPES.get(byte)
        if escaped is not None:
            out += escaped
        elif byte < 0x20 or byte == 0x7F:
            out += b"\\u%04x" % byte
        else:
            out.append(byte)
    out += b'"'
    return bytes(out)


def _json_number(value: float | int) -> bytes:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise LibraryError("Cannot serialise number: must not be NaN or Inf")
    return b"%.14g" % value


def _array_length(table: Any) -> int | None:
    """cjson's rule: a table whose keys are all positive integers is an array (of the largest
    key's length) unless it is excessively sparse; anything else is an object."""
    largest = count = 0
    for key in table:
        if not isinstance(key, (int, float)) or key < 1 or key != int(key):
            return None
        largest = max(largest, int(key))
        count += 1
    if largest > SPARSE_SAFE and largest > count * SPARSE_RATIO:
        raise LibraryError("Cannot serialise table: excessively sparse array")
    return largest if count else None


def _json_encode(value: Any, depth: int = 0) -> bytes:
    # cjson.null is the only Lua-native userdata a script can hold (lupa re-wraps it on every
    # access, so identity can't be used).
    if value is None or lua_type(value) == "userdata":
        return b"null"
    if value is True or value is False:
        return b"true" if value else b"false"
    if isinstance(value, (int, float)):
        return _json_number(value)
    if isinstance(value, bytes):
        return _json_string(value)
    if lua_type(value) == "table":
        if depth >= MAX_DEPTH:
            raise LibraryError("Cannot serialise, excessive nesting (1001)")
        length = _array_length(value)
        if length is not None:
            return b"[" + b",".join(_json_encode(value[i], depth + 1) for i in range(1, length + 1)) + b"]"
        members = []
        for key, item in value.items():
            if isinstance(key, bytes):
                name = key
            elif isinstance(key, (int, float)):
                name = _json_number(key)
            else:
                raise LibraryError(f"Cannot serialise {_lua_type_name(key)}: table key must be a number or string")
            members.append(_json_string(name) + b":" + _json_encode(item, depth + 1))
        return b"{" + b",".join(members) + b"}"
    raise LibraryError(f"Cannot serialise {_lua_type_name(value)}: type not supported")


def _lua_type_name(value: Any) -> str:
    if value is True or value is False:
        return "boolean"
    return lua_type(value) or "userdata"


def _json_to_lua(runtime: Any, value: Any, null: Any) -> Any:
    if value is None:
        return null
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, list):
        return runtime.table_from([_json_to_lua(runtime, item, null) for item in value])
    if isinstance(value, dict):
        return runtime.table_from({k.encode("utf-8", "surrogateescape"): _json_to_lua(runtime, v, null)
                                   for k, v in value.items()})
    return value


def _cjson_library(runtime: Any, null: Any) -> dict[bytes, Any]:
    def decode(text: Any) -> Any:
        if not isinstance(text, bytes):
            raise LibraryError("bad argument #1 to 'decode' (string expected)")
        try:
            parsed = json.loads(text.decode("utf-8", "surrogateescape"))
        except (ValueError, RecursionError) as err:
            position = getattr(err, "pos", 0) + 1
            raise LibraryError(f"Expected value but found invalid token at character {position}") from None
        return _json_to_lua(runtime, parsed, null)

    return {
        b"encode": _json_encode,
        b"decode": decode,
        b"null": null,
    }


# -- struct ---------------------------------------------------------------------------------

_FIXED_SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8, "i": 4, "I": 4}


def _struct_items(fmt: bytes):
    """(endian, code, size) for each item of a struct format, sizes resolved."""
    text = fmt.decode("latin-1")
    endian = "<"
    index = 0
    while index < len(text):
        code = text[index]
        index += 1
        digits = ""
        while index < len(text) and text[index].isdigit():
            digits += text[index]
            index += 1
        if code in "<>=!":
            endian = ">" if code == ">" else "<"
            continue
        if code == " ":
            continue
        if code in _FIXED_SIZES:
            size = int(digits) if digits and code in "iI" else _FIXED_SIZES[code]
            if not 1 <= size <= 16:
                raise LibraryError(f"integral size {size} is larger than limit of 16")
        elif code in "fd":
            size = 4 if code == "f" else 8
        elif code == "c":
            size = int(digits) if digits else 1
        elif code in "sx":
            size = 0 if code == "s" else 1
        else:
            raise LibraryError(f"invalid format option '{code}'")
        yield endian, code, size


def _struct_library(runtime: Any) -> dict[bytes, Any]:
    def pack(fmt: bytes, *values: Any) -> bytes:
        out = bytearray()
        args = iter(values)
        for endian, code, size in _struct_items(fmt):
            if code == "x":
                out.append(0)
            elif code in "fd":
                out += pystruct.pack(endian + code, float(next(args)))
            elif code == "s":
                out += _as_bytes(next(args)) + b"\0"
            elif code == "c":
                data = _as_bytes(next(args))
                out += data if size == 0 else data[:size].ljust(size, b"\0")
            else:
                number = int(float(next(args)))
                out += (number & ((1 << (8 * size)) - 1)).to_bytes(size, "big" if endian == ">" else "little")
        return bytes(out)

    def unpack(fmt: bytes, data: bytes, start: Any = 1) -> tuple:
        position = int(start) - 1
        results: list[Any] = []
        for endian, code, size in _struct_items(fmt):
            if code == "s":
                end = data.find(b"\0", position)
                if end < 0:
                    raise LibraryError("unfinished string in data")
                results.append(data[position:end])
                position = end + 1
                continue
            if code == "c" and size == 0:
                size = int(results.pop()) if results else 0
            if position + size > len(data):
                raise LibraryError("data string too short")
            chunk = data[position : position + size]
            position += size
            if code == "x":
                continue
            if code in "fd":
                results.append(pystruct.unpack(endian + code, chunk)[0])
            elif code == "c":
                results.append(chunk)
            else:
                results.append(int.from_bytes(chunk, "big" if endian == ">" else "little", signed=code.islower()))
        return (*results, position + 1)

    def size(fmt: bytes) -> int:
        total = 0
        for _endian, code, item_size in _struct_items(fmt):
            if code == "s" or (code == "c" and item_size == 0):
                raise LibraryError("options 'c0' - 's' have undefined sizes")
            total += item_size
        return total

    return {b"pack": pack, b"unpack": unpack, b"size": size}


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (int, float)):
        return b"%.14g" % value
    raise LibraryError("bad argument (string expected)")


# -- cmsgpack -------------------------------------------------------------------------------

MAX_NESTING = 16


def _msgpack_int(value: int) -> bytes:
    if 0 <= value < 128:
        return bytes((value,))
    if -32 <= value < 0:
        return bytes((value & 0xFF,))
    for marker, fmt, low, high in ((0xCC, ">B", 0, 0xFF), (0xCD, ">H", 0, 0xFFFF), (0xCE, ">I", 0, 0xFFFFFFFF),
                                   (0xCF, ">Q", 0, 2**64 - 1), (0xD0, ">b", -128, 127),
                                   (0xD1, ">h", -(2**15), 2**15 - 1), (0xD2, ">i", -(2**31), 2**31 - 1),
                                   (0xD3, ">q", -(2**63), 2**63 - 1)):
        if low <= value <= high:
            return bytes((marker,)) + pystruct.pack(fmt, value)
    return b"\xcb" + pystruct.pack(">d", float(value))


def _msgpack_length(length: int, fix_base: int, fix_limit: int, markers: tuple[int, int, int]) -> bytes:
    if length < fix_limit:
        return bytes((fix_base | length,))
    if markers[0] and length <= 0xFF:
        return bytes((markers[0], length))
    if length <= 0xFFFF:
        return bytes((markers[1],)) + pystruct.pack(">H", length)
    return bytes((markers[2],)) + pystruct.pack(">I", length)


def _msgpack_encode(value: Any, depth: int = 0) -> bytes:
    if value is None:
        return b"\xc0"
    if value is True or value is False:
        return b"\xc3" if value else b"\xc2"
    if isinstance(value, int):
        return _msgpack_int(value)
    if isinstance(value, float):
        if value.is_integer() and -(2**63) <= value < 2**64:
            return _msgpack_int(int(value))
        single = pystruct.pack(">f", value)
        if pystruct.unpack(">f", single)[0] == value:
            return b"\xca" + single
        return b"\xcb" + pystruct.pack(">d", value)
    if isinstance(value, bytes):
        return _msgpack_length(len(value), 0xA0, 32, (0xD9, 0xDA, 0xDB)) + value
    if lua_type(value) == "table":
        if depth >= MAX_NESTING:
            return b"\xc0"
        keys = list(value.keys())
        if keys and all(isinstance(k, (int, float)) and k == int(k) and k >= 1 for k in keys) \
                and max(keys) == len(keys):
            body = b"".join(_msgpack_encode(value[i], depth + 1) for i in range(1, len(keys) + 1))
            return _msgpack_length(len(keys), 0x90, 16, (0, 0xDC, 0xDD)) + body
        body = b"".join(_msgpack_encode(k, depth + 1) + _msgpack_encode(value[k], depth + 1) for k in keys)
        return _msgpack_length(len(keys), 0x80, 16, (0, 0xDE, 0xDF)) + body
    return b"\xc0"


def _msgpack_to_lua(runtime: Any, value: Any) -> Any:
    if isinstance(value, list):
        return runtime.table_from([_msgpack_to_lua(runtime, item) for item in value])
    if isinstance(value, dict):
        return runtime.table_from({_msgpack_to_lua(runtime, k): _msgpack_to_lua(runtime, v) for k, v in value.items()})
    return value


def _cmsgpack_library(runtime: Any) -> dict[bytes, Any]:
    def pack(*values: Any) -> bytes:
        if not values:
            raise LibraryError("MessagePack pack needs input.")
        return b"".join(_msgpack_encode(value) for value in values)

    def unpack(data: bytes) -> tuple:
        unpacker = msgpack.Unpacker(raw=True, strict_map_key=False)
        unpacker.feed(data)
        try:
            return tuple(_msgpack_to_lua(runtime, item) for item in unpacker)
        except (ValueError, msgpack.UnpackException) as err:
            raise LibraryError(f"Missing bytes in input. {err}") from None

    return {b"pack": pack, b"unpack": unpack}
