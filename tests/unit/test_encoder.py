"""The reply encoder: every reply type in RESP2 and RESP3, read back by hiredis, and Redis 7.2's
double formatting (d2string: integers, -0, nan/inf, Grisu2 digits in fpconv's layout)."""

from __future__ import annotations

import math

import hiredis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ember.protocol.encoder import (
    NULL_ARRAY,
    BigNumber,
    Bool,
    Push,
    SetReply,
    Verbatim,
    encode,
    encode_into,
    format_double,
)
from ember.protocol.errors import CommandError

PROPERTY = settings(max_examples=300, deadline=None)


def read_back(data: bytes):
    """The one reply in data. A sentinel reply follows it: RESP3 false reads back as False,
    which is also what gets() says when a reply is incomplete."""
    reader = hiredis.Reader(replyError=lambda e: ("error", str(e)))
    reader.feed(data + b":7777\r\n")
    value = reader.gets()
    assert reader.gets() == 7777, "the reply was not exactly one complete reply"
    assert not reader.has_data()
    return value


def expected(value, resp: int):
    """What hiredis must read for `value` encoded in `resp` (Redis's RESP2 down-conversions)."""
    if isinstance(value, CommandError):
        return ("error", value.message.replace("\r", " ").replace("\n", " "))  # one line on the wire
    if value is NULL_ARRAY:
        return None
    if isinstance(value, Bool):
        return bool(value) if resp == 3 else int(value)
    if isinstance(value, BigNumber):
        return b"%d" % value
    if isinstance(value, Verbatim):
        return bytes(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, float):
        return value if resp == 3 else format_double(value).encode()
    if isinstance(value, dict):
        if resp == 3:
            return {expected(k, resp): expected(v, resp) for k, v in value.items()}
        return [expected(x, resp) for pair in value.items() for x in pair]
    if isinstance(value, (list, tuple)):
        return [expected(x, resp) for x in value]
    return value  # int, None


scalars = (
    st.binary(max_size=30)
    | st.binary(max_size=30).map(bytearray)
    | st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=20)
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.none()
    | st.just(NULL_ARRAY)
    | st.floats(allow_nan=False)
    | st.binary(max_size=30).map(Verbatim)
    | st.integers(min_value=-(10**40), max_value=10**40).map(BigNumber)
    | st.booleans().map(Bool)
    | st.text(alphabet="ERR abc\r\n", min_size=1, max_size=20).map(lambda t: CommandError("ERR " + t))
)
replies = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.lists(inner, max_size=4).map(tuple)
    | st.lists(inner, max_size=4).map(SetReply)
    | st.lists(inner, max_size=4).map(Push)
    | st.dictionaries(st.binary(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@PROPERTY
@given(replies)
def test_resp2_reads_back(value):
    assert read_back(encode(value, 2)) == expected(value, 2)


@PROPERTY
@given(replies)
def test_resp3_reads_back(value):
    assert read_back(encode(value, 3)) == expected(value, 3)


def test_encode_into_appends_chunks():
    out: list = []
    encode_into(out, "OK", 2)
    encode_into(out, [b"a", 1], 2)
    assert b"".join(out) == b"+OK\r\n*2\r\n$1\r\na\r\n:1\r\n"


@pytest.mark.parametrize(("value", "resp2", "resp3"), [
    (None, b"$-1\r\n", b"_\r\n"),
    (NULL_ARRAY, b"*-1\r\n", b"_\r\n"),
    ({b"a": 1}, b"*2\r\n$1\r\na\r\n:1\r\n", b"%1\r\n$1\r\na\r\n:1\r\n"),
    (SetReply([b"x"]), b"*1\r\n$1\r\nx\r\n", b"~1\r\n$1\r\nx\r\n"),
    (Push([b"message"]), b"*1\r\n$7\r\nmessage\r\n", b">1\r\n$7\r\nmessage\r\n"),
    (Verbatim(b"hi"), b"$2\r\nhi\r\n", b"=6\r\ntxt:hi\r\n"),
    (BigNumber(10**20), b"$21\r\n100000000000000000000\r\n", b"(100000000000000000000\r\n"),
    (Bool(1), b":1\r\n", b"#t\r\n"),
    (Bool(0), b":0\r\n", b"#f\r\n"),
    (1.5, b"$3\r\n1.5\r\n", b",1.5\r\n"),
    (float("inf"), b"$3\r\ninf\r\n", b",inf\r\n"),
    (CommandError("ERR a\r\nb"), b"-ERR a  b\r\n", b"-ERR a  b\r\n"),
    (CommandError("ERR caf\udce9"), b"-ERR caf\xe9\r\n", b"-ERR caf\xe9\r\n"),  # raw byte kept
])
def test_wire_forms(value, resp2, resp3):
    assert encode(value, 2) == resp2
    assert encode(value, 3) == resp3


def test_unknown_type_is_a_bug_not_a_reply():
    with pytest.raises(TypeError):
        encode(object(), 2)


# -- doubles --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "text"), [
    (0.0, "0"),
    (-0.0, "-0"),
    (float("nan"), "nan"),
    (float("inf"), "inf"),
    (float("-inf"), "-inf"),
    (3.0, "3"),
    (-17.0, "-17"),
    (1.5, "1.5"),
    (0.1, "0.1"),  # 7.0 printed %.17g: 0.10000000000000001
    (100.5, "100.5"),
    (0.30000000000000004, "0.30000000000000004"),
    (123456.789, "123456.789"),
    (0.0001, "0.0001"),
    (1e-05, "0.00001"),  # fixed notation down to 6 zeros after the point
    (1.5e-05, "0.000015"),
    (1.23e-06, "1.23e-6"),  # past 7 decimals: an exponent, without padding
    (1e-07, "1e-7"),
    (1.23e-07, "1.23e-7"),
    (-1.5e-300, "-1.5e-300"),
    (5e-324, "5e-324"),
    (1e17, "100000000000000000"),  # integral and within +-2^62: printed as an integer
    (4.5e18, "4500000000000000000"),
    (2.0**62, "4611686018427387904"),
    (2.0**62 + 2048, "4611686018427390000"),  # past 2^62: Grisu2 digits, plain layout
    (1e20, "1e+20"),
    (1.5e20, "1.5e+20"),
    (1e21, "1e+21"),
    (1e100, "1e+100"),
    (1.7976931348623157e308, "1.7976931348623157e+308"),
    (2.3e22, "23000000000000002000000"),  # Grisu2 is not always the shortest round trip
    (4.59990589538e-05, "4.5999058953799997e-5"),
    (0.208305639244436, "0.20830563924443601"),
    (3.5799532641803447e-05, "3.5799532641803446e-5"),
])
def test_format_double_like_redis_7_2(value, text):
    assert format_double(value) == text


@settings(max_examples=2000, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_double_round_trips(value):
    text = format_double(value)
    assert float(text) == value
    assert math.copysign(1.0, float(text)) == math.copysign(1.0, value)
    if not (value.is_integer() and abs(value) <= 2.0**62):  # Grisu2 gives at most 17 digits
        assert len(text.lstrip("-").replace(".", "").split("e")[0].strip("0")) <= 17


@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=-(2**53), max_value=2**53))
def test_integral_doubles_print_as_integers(value):
    assert format_double(float(value)) == str(value)
