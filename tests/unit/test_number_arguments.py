"""Number arguments. Sorted-set scores: the plain-decimal fast path of `parse_score` must answer
exactly as C's strtod rules (`c_strtod`) do for every text, including the forms it leaves to the
full parser. Blocking timeouts: `parse_timeout`'s whole-seconds fast path must answer as its
long double route (strtold's rules, tested against Redis through INCRBYFLOAT). Integers:
`parse_int` must accept exactly what Redis's string2ll accepts."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ember.commands.zsets import parse_score
from ember.protocol.errors import CommandError
from ember.protocol.numbers import C_SPACES, c_strtod, parse_int
from ember.server.blocking import long_double_millis, parse_timeout

NOT_FLOAT = "ERR value is not a valid float"
TIMEOUT_NOT_FLOAT = "ERR timeout is not a float or out of range"


def strtod_score(raw: bytes) -> float:
    """Redis's getDoubleFromObject: the whole text is one strtod number, finite and not NaN."""
    value, consumed, out_of_range = c_strtod(raw)
    if not raw or raw[:1] in C_SPACES or consumed != len(raw) or out_of_range or value != value:
        raise CommandError(NOT_FLOAT)
    return value


def outcome(parse, raw: bytes):
    try:
        value = parse(raw)
    except CommandError as err:
        return "error", err.message
    return "value", value, math.copysign(1.0, value)


numeric_text = st.text(alphabet="0123456789.-+eE xX_infa\t", max_size=45).map(str.encode)


@settings(max_examples=2000)
@given(numeric_text)
@example(b"-0")
@example(b"1" * 39)
@example(b"1" * 400)
@example(b"0." + b"0" * 400 + b"1")
def test_score_agrees_with_strtod(raw):
    assert outcome(parse_score, raw) == outcome(strtod_score, raw)


@pytest.mark.parametrize(("raw", "expected"), [
    (b"1732000000.123456", 1732000000.123456), (b"1", 1.0), (b"-2.5", -2.5), (b"1.", 1.0),
    (b".5", 0.5), (b"1e3", 1000.0), (b"0x1p3", 8.0), (b"-inf", -math.inf), (b"+7", 7.0),
])
def test_score_values(raw, expected):
    assert parse_score(raw) == expected


@pytest.mark.parametrize("raw", [b"", b".", b"-", b"1.2.3", b" 1", b"1 ", b"1_0", b"nan", b"1" * 400])
def test_score_errors(raw):
    with pytest.raises(CommandError, match=NOT_FLOAT):
        parse_score(raw)


def test_negative_zero_score_keeps_its_sign():
    assert math.copysign(1.0, parse_score(b"-0")) == -1.0


def long_double_timeout(raw: bytes) -> float:
    """Seconds as BLPOP & co read them, by the full route alone: string2ld, milliseconds
    in long double rounded up."""
    millis = long_double_millis(raw)
    if millis < 0:
        raise CommandError("ERR timeout is negative")
    return millis / 1000.0


@settings(max_examples=2000)
@given(numeric_text)
@example(b"9" * 15)
@example(b"0.0001")
@example(b"007")
def test_timeout_fast_path_agrees_with_long_double_route(raw):
    assert outcome(parse_timeout, raw) == outcome(long_double_timeout, raw)


@pytest.mark.parametrize(("raw", "expected"), [
    (b"1", 1.0), (b"0", 0.0), (b"0.5", 0.5), (b"0.0001", 0.001), (b"1.", 1.0), (b".25", 0.25),
    (b"0x10", 16.0), (b"999999999999999", 999999999999999.0),
    # Beyond a double's range but within a long double's (Redis reads timeouts with strtold)
    (b"1e-400", 0.001), (b"-1e-400", 0.0), (b"-0.0001", 0.0),
])
def test_timeout_values(raw, expected):
    assert parse_timeout(raw) == expected


@pytest.mark.parametrize(("raw", "error"), [
    (b"-1", "ERR timeout is negative"), (b".", TIMEOUT_NOT_FLOAT), (b"1.2.3", TIMEOUT_NOT_FLOAT),
    (b" 1", TIMEOUT_NOT_FLOAT), (b"", TIMEOUT_NOT_FLOAT), (b"1e300", "ERR timeout is out of range"),
    (b"inf", "ERR timeout is out of range"), (b"-inf", "ERR timeout is negative"),
    (b"1e400", "ERR timeout is out of range"), (b"1.7976931348623159e308", "ERR timeout is out of range"),
    (b"-1e400", "ERR timeout is negative"), (b"1e-5000", TIMEOUT_NOT_FLOAT), (b"nan", TIMEOUT_NOT_FLOAT),
])
def test_timeout_errors(raw, error):
    with pytest.raises(CommandError, match=error):
        parse_timeout(raw)


# -- integers: parse_int as Redis's string2ll ----------------------------------------------------

def string2ll(raw: bytes) -> int:
    """Redis's string2ll, by its rules: '0', or an optional '-' then a non-zero digit and more
    digits, nothing else, within a signed 64-bit range."""
    text = raw.decode("latin-1")
    body = text[1:] if text.startswith("-") else text
    canonical = text == "0" or (body[:1] in tuple("123456789") and all(c in "0123456789" for c in body))
    if not canonical or not -(2**63) <= int(text) < 2**63:
        raise CommandError("ERR value is not an integer or out of range")
    return int(text)


integer_text = st.one_of(
    st.text(alphabet="0123456789-+ _\t", max_size=22).map(str.encode),
    st.integers(min_value=-(2**64), max_value=2**64).map(lambda n: b"%d" % n),
)


@given(integer_text)
@example(b"-0")
@example(b"007")
@example(b"+5")
@example(b"1_000")
@example(b" 1")
@example(b"9223372036854775807")
@example(b"9223372036854775808")
@example(b"-9223372036854775808")
@example(b"-9223372036854775809")
@example("\u0661".encode())  # a non-ASCII digit, which str.isdigit() and int() accept as text
def test_int_agrees_with_string2ll(raw):
    assert outcome_int(parse_int, raw) == outcome_int(string2ll, raw)


def outcome_int(parse, raw: bytes):
    try:
        return "value", parse(raw)
    except CommandError as err:
        return "error", err.message
