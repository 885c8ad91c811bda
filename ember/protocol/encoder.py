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

import math
from typing import Any, Callable

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
    """Redis's shortest round-trip double text: 'inf', '-inf', '3' (not '3.0'), '1.5', '1e+20'."""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value.is_integer() and abs(value) < 1e17:
        return str(int(value))
    return repr(value)


_STATUS_CACHE: dict[str, bytes] = {}


def _status(out: list, value: str, resp: int) -> None:
    encoded = _STATUS_CACHE.get(value)
    if encoded is None:
        encoded = b"+" + value.encode() + b"\r\n"
        if len(_STATUS_CACHE) < 64:
            _STATUS_CACHE[value] = encoded
    out.append(encoded)


def _bulk(out: list, value: bytes, resp: int) -> None:
    out.append(b"$%d\r\n" % len(value))
    out.append(value)
    out.append(b"\r\n")


def _integer(out: list, value: int, resp: int) -> None:
    out.append(b":%d\r\n" % value)


def _null(out: list, value: None, resp: int) -> None:
    out.append(b"_\r\n" if resp == 3 else b"$-1\r\n")


def _null_array(out: list, value: _NullArray, resp: int) -> None:
    out.append(b"_\r\n" if resp == 3 else b"*-1\r\n")


def _double(out: list, value: float, resp: int) -> None:
    text = format_double(value).encode()
    if resp == 3:
        out.append(b"," + text + b"\r\n")
    else:
        _bulk(out, text, resp)


def _aggregate(marker: bytes) -> Callable[[list, Any, int], None]:
    def encode_items(out: list, value: list, resp: int) -> None:
        out.append(b"%s%d\r\n" % (marker if resp == 3 else b"*", len(value)))
        for item in value:
            _ENCODERS.get(item.__class__, _encode_other)(out, item, resp)

    return encode_items


def _array(out: list, value: list, resp: int) -> None:
    out.append(b"*%d\r\n" % len(value))
    for item in value:
        _ENCODERS.get(item.__class__, _encode_other)(out, item, resp)


def _map(out: list, value: dict, resp: int) -> None:
    if resp == 3:
        out.append(b"%%%d\r\n" % len(value))
    else:
        out.append(b"*%d\r\n" % (2 * len(value)))
    for key, item in value.items():
        _ENCODERS.get(key.__class__, _encode_other)(out, key, resp)
        _ENCODERS.get(item.__class__, _encode_other)(out, item, resp)


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
