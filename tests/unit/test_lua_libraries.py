"""The scripting building blocks without a server: the bit/cjson/cmsgpack/struct libraries (checked
against Python's json, the msgpack package and struct as independent references), the Lua value
rules in convert.py, Redis's math.random generator and the shebang/metadata parsers."""

from __future__ import annotations

import json
import math
import struct

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lupa import lua51

from ember.protocol.errors import CommandError
from ember.scripting.convert import error_buffer, lua_arg_to_bytes, lua_number_to_integer, lua_tonumber
from ember.scripting.functions import FunctionError, parse_metadata
from ember.scripting.libraries import LibraryError, install_libraries, strtod_prefix, tobit
from ember.scripting.lua import Lrand48, parse_shebang, version_num


@pytest.fixture(scope="module")
def lua():
    runtime = lua51.LuaRuntime(unpack_returned_tuples=True, encoding=None)
    libraries = install_libraries(runtime, lambda function: function)
    return runtime, {name: dict(table.items()) for name, table in libraries.items()}


def lua_value(runtime, value):
    """A Python value as a Lua value: text becomes strings, lists and dicts tables."""
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, list):
        return runtime.table_from([lua_value(runtime, item) for item in value])
    if isinstance(value, dict):
        return runtime.table_from({lua_value(runtime, key): lua_value(runtime, item) for key, item in value.items()})
    return value


def python_value(value):
    """A Lua table read back as a list (keys 1..n) or a dict."""
    if lua51.lua_type(value) != "table":
        return value
    items = dict(value.items())
    if list(items) == list(range(1, len(items) + 1)):
        return [python_value(item) for item in items.values()]
    return {key: python_value(item) for key, item in items.items()}


# -- bit ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "expected"), [
    (0, 0), (1.5, 2), (2.5, 2), (-2.5, -2), (3.5, 4), (2**32 + 5, 5), (2**31, -(2**31)),
    (2**53, 0), (2**52 + 1.5, 1), (math.inf, 0), (math.nan, 0), (-1, -1),
])
def test_tobit_rounds_and_wraps_like_luabitop(lua, number, expected):
    _, libs = lua
    assert libs[b"bit"][b"tobit"](number) == expected
    assert tobit(number) == expected & 0xFFFFFFFF


def test_bit_operations(lua):
    bit = lua[1][b"bit"]
    assert bit[b"band"](0xFF, 0x0F) == 15
    assert bit[b"bor"](1, 2, 4) == 7
    assert bit[b"bxor"](5, 3) == 6
    assert bit[b"lshift"](1, 31) == -(2**31)
    assert bit[b"rshift"](-1, 28) == 15
    assert bit[b"arshift"](-256, 4) == -16
    assert bit[b"rol"](1, 33) == 2
    assert bit[b"bswap"](0x12345678) == 0x78563412
    assert bit[b"tohex"](255, -4) == b"00FF"
    assert bit[b"tohex"](255, 0) == b""
    with pytest.raises(LibraryError, match=r"bad argument #3 to 'band' \(number expected, got string\)"):
        bit[b"band"](1, b"x", b"y")


# -- cjson ------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=20),
    lambda children: st.lists(children, min_size=1, max_size=5)
    | st.dictionaries(st.text(min_size=1, max_size=8), children, min_size=1, max_size=5),
    max_leaves=20,
)


def from_cjson(value, null):
    """A decoded value in Python's json terms (cjson.null is None)."""
    if lua51.lua_type(value) == "userdata":
        return None
    if lua51.lua_type(value) == "table":
        items = dict(value.items())
        if items and all(isinstance(key, int) for key in items):
            return [from_cjson(items[index], null) for index in range(1, len(items) + 1)]
        return {key.decode(): from_cjson(item, null) for key, item in items.items()}
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@settings(max_examples=150, deadline=None)
@given(value=json_values)
def test_cjson_decode_agrees_with_python_json(lua, value):
    cjson = lua[1][b"cjson"]
    decoded = cjson[b"decode"](json.dumps(value).encode())
    assert from_cjson(decoded, cjson[b"null"]) == value


json_encodable = st.recursive(  # no nulls: a Lua table cannot hold nil
    st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=20),
    lambda children: st.lists(children, min_size=1, max_size=5)
    | st.dictionaries(st.text(min_size=1, max_size=8), children, min_size=1, max_size=5),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(value=json_encodable)
def test_cjson_encode_is_valid_json(lua, value):
    runtime, libs = lua
    encoded = libs[b"cjson"][b"encode"](lua_value(runtime, value))
    assert json.loads(encoded) == value


def test_cjson_encoding_details(lua):
    runtime, libs = lua
    encode = libs[b"cjson"][b"encode"]
    assert encode(b'a/b"c\x01\x7f\x80') == b'"a\\/b\\"c\\u0001\\u007f\x80"'
    assert encode(lua_value(runtime, {1: 1, 3: 3})) == b"[1,null,3]"
    assert encode(3.14159265358979) == b"3.1415926535898"
    with pytest.raises(LibraryError, match="excessively sparse array"):
        encode(lua_value(runtime, {1: 1, 20: 2}))
    with pytest.raises(LibraryError, match="must not be NaN or Inf"):
        encode(math.inf)


def test_cjson_decode_errors(lua):
    decode = lua[1][b"cjson"][b"decode"]
    for text, message in ((b"[1,2", "Expected comma or array end but found T_END at character 5"),
                          (b'{"a" 1}', "Expected colon but found T_NUMBER at character 6"),
                          (b'"\\ud800"', "invalid unicode escape code at character 2"),
                          (b"[" * 1001, "Found too many nested data structures (1001) at character 1001"),
                          (b"\x00a", "JSON parser does not support UTF-16 or UTF-32")):
        with pytest.raises(LibraryError, match=message.replace("(", r"\(").replace(")", r"\)")):
            decode(text)


@pytest.mark.parametrize(("text", "expected"), [
    (b"12", (12.0, 2)), (b"-1.5e3x", (-1500.0, 6)), (b"0x10", (16.0, 4)), (b"1e", (1.0, 1)),
    (b"Infinity", (math.inf, 8)), (b"+5", (5.0, 2)), (b".5", (0.5, 2)), (b"-", None), (b"x", None),
])
def test_strtod_prefix(text, expected):
    assert strtod_prefix(text, 0) == expected


# -- cmsgpack -------------------------------------------------------------------------------------

msgpack_values = st.recursive(
    st.booleans() | st.integers(-(2**53), 2**53) | st.binary(max_size=300)  # Lua numbers are doubles
    | st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()),
    lambda children: st.lists(children, min_size=1, max_size=5),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(value=msgpack_values)
def test_cmsgpack_pack_is_valid_msgpack(lua, value):
    runtime, libs = lua
    packed = libs[b"cmsgpack"][b"pack"](lua_value(runtime, value))
    assert msgpack.unpackb(packed, raw=True, strict_map_key=False) == value
    [unpacked] = libs[b"cmsgpack"][b"unpack"](packed)
    assert python_value(unpacked) == value


def test_cmsgpack_smallest_encodings(lua):
    pack = lua[1][b"cmsgpack"][b"pack"]
    assert pack(1.5) == b"\xca?\xc0\x00\x00"  # fits a float32
    assert pack(0.1) == b"\xcb" + struct.pack(">d", 0.1)
    assert pack(-33) == b"\xd0\xdf"
    assert pack(b"x" * 40) == b"\xd9\x28" + b"x" * 40
    with pytest.raises(LibraryError, match="MessagePack pack needs input"):
        pack()


def test_cmsgpack_unpack_streams(lua):
    libs = lua[1][b"cmsgpack"]
    assert libs[b"unpack_one"](b"\x01\x02") == (1, 1)
    assert libs[b"unpack_limit"](b"\x01\x02\x03", 2) == (2, 1, 2)
    assert libs[b"unpack_one"](b"\x01\x02", 1) == (-1, 2)
    with pytest.raises(LibraryError, match="Missing bytes in input."):
        libs[b"unpack"](b"\x93\x01")
    with pytest.raises(LibraryError, match="Bad data format in input."):
        libs[b"unpack"](b"\xc1")


# -- struct -----------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(values=st.tuples(st.integers(-128, 127), st.integers(0, 65535), st.integers(-(2**31), 2**31 - 1),
                        st.floats(allow_nan=False, width=64)),
       big_endian=st.booleans())
def test_struct_matches_python_struct(lua, values, big_endian):
    lib = lua[1][b"struct"]
    order = b">" if big_endian else b"<"
    packed = lib[b"pack"](order + b"bHi4d", *values)
    assert packed == struct.pack((">" if big_endian else "<") + "bHid", *values)
    assert lib[b"unpack"](order + b"bHi4d", packed) == (*values, len(packed) + 1)


def test_struct_alignment_and_errors(lua):
    lib = lua[1][b"struct"]
    assert lib[b"pack"](b"!4 b i4", 1, 2) == b"\x01\x00\x00\x00\x02\x00\x00\x00"
    assert lib[b"size"](b"!8 b d") == 16
    with pytest.raises(LibraryError, match="integral size 33 is larger than limit of 32"):
        lib[b"pack"](b"i33", 1)
    with pytest.raises(LibraryError, match=r"bad argument #2 to 'unpack' \(data string too short\)"):
        lib[b"unpack"](b">i2", b"\xff")


# -- convert.py and friends ------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    (b"x", b"x"), (3, b"3"), (-0.5, b"-0.5"), (0.1, b"0.10000000000000001"), (1e17, b"1e+17"),
    (10**17, b"1e+17"), (math.inf, b"inf"), (None, None), (True, None),
])
def test_command_arguments_use_percent_17g(value, expected):
    assert lua_arg_to_bytes(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (b"12", 12), (b" 0x10 ", 16), (b"1e2", 100), (b"inf", math.inf), (b"", None), (b"1_0", None), (b"z", None),
])
def test_lua_tonumber(value, expected):
    assert lua_tonumber(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (3.99, 3), (-3.99, -3), (1e300, -(2**63)), (math.nan, -(2**63)), (2.0**63, -(2**63)),
])
def test_numbers_returned_by_scripts_truncate_like_c(value, expected):
    assert lua_number_to_integer(value) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    (b"-x y", b"x y"), (b"-x", b"ERR x"), (b"-", b"ERR "), (b"plain text", b"ERR plain text"),
    (b"-CODE msg\r\n", b"CODE msg"),
])
def test_error_buffer(raw, expected):
    assert error_buffer(raw) == expected


def test_math_random_is_drand48():
    generator = Lrand48()
    generator.seed(42)
    assert f"{generator.uniform():.14g}" == "0.74452500033403"
    assert math.floor(generator.uniform() * 1000) + 1 == 343


def test_version_num():
    assert version_num("7.2.4") == 0x070204


@pytest.mark.parametrize(("body", "flags", "code"), [
    (b"return 1", frozenset(), b"return 1"),
    (b"#!lua flags=no-writes,allow-oom\nreturn 1", frozenset({"no-writes", "allow-oom"}), b"\nreturn 1"),
    (b"#!lua  flags=\r\nreturn 1", frozenset(), b"\nreturn 1"),
])
def test_parse_shebang(body, flags, code):
    parsed_flags, _, parsed_code = parse_shebang(body)
    assert (parsed_flags, parsed_code) == (flags, code)


@pytest.mark.parametrize(("body", "error"), [
    (b"#!lua", "ERR Invalid script shebang"),
    (b"#!python\n", "ERR Unexpected engine in script shebang: #!python"),
    (b"#!lua flags=nope\n", "ERR Unexpected flag in script shebang: nope"),
    (b"#!lua x=y\n", "ERR Unknown lua shebang option: x=y"),
])
def test_parse_shebang_errors(body, error):
    with pytest.raises(CommandError) as info:
        parse_shebang(body)
    assert info.value.message == error


def test_parse_library_metadata():
    assert parse_metadata(b'#!lua name="my lib"\ncode') == (b"lua", b"my lib", b"\ncode")
    for code, error in ((b"code", "Missing library metadata"), (b"#!lua name=x", "Invalid library metadata"),
                        (b"#!lua\n", "Library name was not given"),
                        (b"#!lua name=a NAME=b\n", "Invalid metadata value, name argument was given multiple times")):
        with pytest.raises(FunctionError, match=error):
            parse_metadata(code)


def test_memory_info_counts_scripts_and_functions():
    from ember.commands import load_all
    from ember.config import Config
    from ember.server.app import Server

    load_all()
    engine = Server(Config()).scripts
    engine.load(b"return 1")
    engine.functions.create(b"#!lua name=lib\nredis.register_function('f', function() return 1 end)", False)
    info = engine.memory_info()
    assert (info["number_of_cached_scripts"], info["number_of_functions"], info["number_of_libraries"]) == (1, 1, 1)
    assert info["used_memory_vm_eval"] > 0 and info["used_memory_vm_total"] > info["used_memory_vm_eval"]
    engine.flush()
    engine.functions.flush()
    assert engine.memory_info()["number_of_cached_scripts"] == engine.memory_info()["number_of_functions"] == 0
