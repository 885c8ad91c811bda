"""Reply encoding: Python reply values -> RESP2 or RESP3 bytes.

Handlers return plain values and the encoder alone knows the wire format, so no command
special-cases the protocol version (Redis's addReply* helpers play the same role):

    bytes / bytearray     bulk string            str        simple string (status)
    int                   integer                float      double (RESP2: bulk string)
    None                  null (RESP2 '$-1')     NULL_ARRAY null (RESP2 '*-1')
    list / tuple          array                  dict       map (RESP2: flat array)
    SetReply              set (RESP2: array)     Push       push (RESP2: array)
    Verbatim              verbatim string        BigNumber  big number (RESP2: bulk)
    Bool                  boolean (RESP2: 1/0)   CommandError  error
"""

from __future__ import annotations

import functools
import itertools
import math
import struct
from collections.abc import Callable, Iterable
from typing import Any

from .errors import CommandError


class SetReply(list):
    """An unordered collection: a RESP3 set, a plain array in RESP2."""

    __slots__ = ()


class Push(list):
    """Out-of-band data (pub/sub messages, invalidations): '>' in RESP3, an array in RESP2."""

    __slots__ = ()


class Verbatim(bytes):
    """A verbatim string ('=' with a 3-letter format in RESP3), e.g. INFO and CLIENT INFO."""

    __slots__ = ()


class BigNumber(int):
    """An arbitrary-precision integer ('(' in RESP3, a bulk string in RESP2)."""

    __slots__ = ()


class Bool(int):
    """A RESP3 boolean; RESP2 clients get the integers 1 and 0."""

    __slots__ = ()


class _NullArray:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NULL_ARRAY"


NULL_ARRAY = _NullArray()


def format_double(value: float) -> str:
    """A double as Redis 7.2's d2string writes it (addReplyDouble, RESP2 and RESP3 alike).

    'nan', 'inf', '-inf', '0', '-0'; integral values within +-2^62 as integers ('3', not '3.0');
    anything else through Grisu2 (Redis's fpconv_dtoa): '1.5', '0.0001', '1e-07', '1e+20',
    '2.3000000000000002e+22'. Grisu2 is not always the shortest form, so repr() is not enough.
    """
    if value != value:
        return "nan"
    if value == _INF:
        return "inf"
    if value == -_INF:
        return "-inf"
    if value == 0.0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    if -_TWO_POW_62 <= value <= _TWO_POW_62 and value.is_integer():
        return str(int(value))
    return _grisu2_text(value)


_INF = float("inf")
_chain = itertools.chain
_TWO_POW_62 = float(2**62)  # double2ll's (double)(LLONG_MAX/2) bound


def _cached_powers() -> list[tuple[int, int]]:
    """10^k for k = -348, -340, ..., 340 as (64-bit significand rounded to nearest, binary exponent)."""
    powers = []
    for k in range(-348, 341, 8):
        num, den = (10**k, 1) if k >= 0 else (1, 10**-k)
        exp = (num.bit_length() - den.bit_length()) - 64
        while True:  # find exp with 2^63 <= 10^k / 2^exp < 2^64
            scaled_num, scaled_den = (num, den << exp) if exp >= 0 else (num << -exp, den)
            frac = (2 * scaled_num + scaled_den) // (2 * scaled_den)
            if frac < 2**63:
                exp -= 1
            elif frac >= 2**64:
                exp += 1
            else:
                break
        powers.append((frac, exp))
    return powers


_POWERS = _cached_powers()
_LOG10_2 = 0.30102999566398114
_MANTISSA_MASK = (1 << 52) - 1
_HIDDEN_BIT = 1 << 52


def _cached_power(exp: int) -> tuple[int, int, int]:
    """The cached power that brings exp into [-60, -32], found as fpconv does: (frac, exp, k)."""
    idx = (int(-(exp + 87) * _LOG10_2) + 348) // 8
    while True:
        frac, power_exp = _POWERS[idx]
        current = exp + power_exp + 64
        if current < -60:
            idx += 1
        elif current > -32:
            idx -= 1
        else:
            return frac, power_exp, -348 + idx * 8


@functools.lru_cache(maxsize=4096)
def _grisu2_text(value: float) -> str:
    """fpconv_dtoa: Grisu2 digits (64-bit fixed point, so not always shortest), then layout."""
    bits = struct.unpack("<Q", struct.pack("<d", value))[0]
    frac, biased = bits & _MANTISSA_MASK, (bits >> 52) & 0x7FF
    if biased:
        frac, exp = frac + _HIDDEN_BIT, biased - 1075
    else:
        exp = -1074
    # Boundaries halfway to the neighbouring doubles, normalised to the same exponent.
    upper, upper_exp = (frac << 1) + 1, exp - 1
    while not upper & (_HIDDEN_BIT << 1):
        upper, upper_exp = upper << 1, upper_exp - 1
    upper, upper_exp = upper << 10, upper_exp - 10
    lower_shift = 2 if frac == _HIDDEN_BIT else 1
    lower = ((frac << lower_shift) - 1) << (exp - lower_shift - upper_exp)
    while not frac & _HIDDEN_BIT:
        frac, exp = frac << 1, exp - 1
    frac <<= 11
    power, power_exp, k = _cached_power(upper_exp)
    half = 1 << 63
    w = (frac * power + half) >> 64
    upper = ((upper * power + half) >> 64) - 1
    lower = ((lower * power + half) >> 64) + 1
    digits, K = _generate_digits(w, upper, lower, -(upper_exp + power_exp + 64), -k)
    return ("-" if bits >> 63 else "") + _layout_digits(digits, K, bool(bits >> 63))


_POW10 = tuple(10**i for i in range(20))


def _generate_digits(w: int, upper: int, lower: int, shift: int, K: int) -> tuple[str, int]:
    """Digits of `upper` until what is left fits in the interval, then nudged towards w."""
    wfrac, delta = upper - w, upper - lower
    one = 1 << shift
    part1, part2 = upper >> shift, upper & (one - 1)
    digits = ""
    # Positions above part1's first digit emit nothing and cannot stop (upper > delta): skip them.
    for kappa in range(len(str(part1)) - 1 if part1 else -1, -1, -1):
        div = _POW10[kappa]
        digit, part1 = divmod(part1, div)
        if digit or digits:
            digits += chr(48 + digit)
        rest = (part1 << shift) + part2
        if rest <= delta:
            return _round_last_digit(digits, delta, rest, div << shift, wfrac), K + kappa
    unit = 10
    kappa = 0
    while True:
        part2 *= 10
        delta *= 10
        kappa -= 1
        digit = part2 >> shift
        if digit or digits:
            digits += chr(48 + digit)
        part2 &= one - 1
        if part2 < delta:
            return _round_last_digit(digits, delta, part2, one, wfrac * unit), K + kappa
        unit *= 10


def _round_last_digit(digits: str, delta: int, rest: int, step: int, target: int) -> str:
    last = ord(digits[-1])
    while rest < target and delta - rest >= step and (rest + step < target or target - rest > rest + step - target):
        last -= 1
        rest += step
    return digits[:-1] + chr(last)


def _layout_digits(digits: str, K: int, negative: bool) -> str:
    """fpconv's layout: plain integer, plain decimal, or d.ddde[+-]x with a 1-3 digit exponent."""
    ndigits = len(digits)
    exp = abs(K + ndigits - 1)
    if K >= 0 and exp < ndigits + 7:
        return digits + "0" * K
    if K < 0 and (K > -7 or exp < 4):
        offset = ndigits + K
        if offset <= 0:
            return "0." + "0" * -offset + digits
        return digits[:offset] + "." + digits[offset:]
    digits = digits[: 18 - negative]
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{mantissa}e{'-' if K + len(digits) - 1 < 0 else '+'}{exp}"


# Encoded status replies. The usual ones are seeded, and only short texts are added later, so
# one-off statuses (MONITOR lines) cannot fill the cache before "OK" is seen. Public so that the
# client's reply loop can take a cached status without a call.
STATUS_CACHE: dict[str, bytes] = {text: b"+%s\r\n" % text.encode() for text in ("OK", "PONG", "QUEUED")}
_STATUS_CACHE = STATUS_CACHE


def _status(out: list, value: str, resp: int) -> None:
    encoded = _STATUS_CACHE.get(value)
    if encoded is None:
        encoded = b"+" + value.encode() + b"\r\n"
        if len(value) <= 16 and len(_STATUS_CACHE) < 64:
            _STATUS_CACHE[value] = encoded
    out.append(encoded)


# Headers of short bulk strings, prebuilt: formatting one costs more than the rest of the bulk.
BULK_HEADERS = [b"$%d\r\n" % size for size in range(1024)]
CRLF = b"\r\n"


def _bulk(out: list, value: bytes, resp: int) -> None:
    size = len(value)
    out.append(BULK_HEADERS[size] if size < 1024 else b"$%d\r\n" % size)
    out.append(value)
    out.append(CRLF)


def _integer(out: list, value: int, resp: int) -> None:
    out.append(b":%d\r\n" % value)


NULL_BULK = {2: b"$-1\r\n", 3: b"_\r\n"}  # a None reply, by RESP version


def _null(out: list, value: None, resp: int) -> None:
    out.append(NULL_BULK[resp])


def _null_array(out: list, value: _NullArray, resp: int) -> None:
    out.append(b"_\r\n" if resp == 3 else b"*-1\r\n")


def _double(out: list, value: float, resp: int) -> None:
    text = format_double(value).encode()
    if resp == 3:
        out.append(b"," + text + b"\r\n")
    else:
        _bulk(out, text, resp)


def _items(out: list, items: Iterable[Any], resp: int) -> None:
    """The elements of an aggregate; short bulk strings, the usual element, without a call."""
    encoders = _ENCODERS
    headers = BULK_HEADERS
    append = out.append
    for item in items:
        if item.__class__ is bytes and len(item) < 1024:
            append(headers[len(item)])
            append(item)
            append(CRLF)
        else:
            encoders.get(item.__class__, _encode_other)(out, item, resp)


def _aggregate(marker: bytes) -> Callable[[list, Any, int], None]:
    def encode_items(out: list, value: list, resp: int) -> None:
        out.append(b"%s%d\r\n" % (marker if resp == 3 else b"*", len(value)))
        _items(out, value, resp)

    return encode_items


def _array(out: list, value: list, resp: int) -> None:
    out.append(b"*%d\r\n" % len(value))
    _items(out, value, resp)


def _map(out: list, value: dict, resp: int) -> None:
    if resp == 3:
        out.append(b"%%%d\r\n" % len(value))
    else:
        out.append(b"*%d\r\n" % (2 * len(value)))
    _items(out, _chain.from_iterable(value.items()), resp)


def _verbatim(out: list, value: Verbatim, resp: int) -> None:
    if resp == 3:
        out.append(b"=%d\r\ntxt:" % (len(value) + 4))
        out.append(bytes(value))
        out.append(b"\r\n")
    else:
        _bulk(out, bytes(value), resp)


def _big_number(out: list, value: BigNumber, resp: int) -> None:
    if resp == 3:
        out.append(b"(%d\r\n" % value)
    else:
        _bulk(out, b"%d" % value, resp)


def _bool(out: list, value: Bool, resp: int) -> None:
    if resp == 3:
        out.append(b"#t\r\n" if value else b"#f\r\n")
    else:
        out.append(b":1\r\n" if value else b":0\r\n")


def _error(out: list, value: CommandError, resp: int) -> None:
    # Error text is one line on the wire: Redis replaces newlines so a reply can't be split.
    text = value.message.replace("\r", " ").replace("\n", " ")
    out.append(b"-" + text.encode("utf-8", "surrogateescape") + b"\r\n")


def _encode_other(out: list, value: Any, resp: int) -> None:
    for cls, encoder in _ENCODERS.items():
        if isinstance(value, cls):
            encoder(out, value, resp)
            return
    raise TypeError(f"cannot encode reply of type {type(value).__name__}")


_ENCODERS: dict[type, Callable[[list, Any, int], None]] = {
    bytes: _bulk,
    str: _status,
    int: _integer,
    type(None): _null,
    list: _array,
    tuple: _array,
    bytearray: _bulk,
    float: _double,
    dict: _map,
    SetReply: _aggregate(b"~"),
    Push: _aggregate(b">"),
    Verbatim: _verbatim,
    BigNumber: _big_number,
    Bool: _bool,
    _NullArray: _null_array,
    CommandError: _error,
    memoryview: lambda out, value, resp: _bulk(out, bytes(value), resp),
}


def encode_into(out: list, reply: Any, resp: int) -> None:
    """Append the wire form of `reply` to `out` (a list of byte chunks joined once per batch)."""
    _ENCODERS.get(reply.__class__, _encode_other)(out, reply, resp)


def encode(reply: Any, resp: int = 2) -> bytes:
    out: list = []
    encode_into(out, reply, resp)
    return b"".join(out)
