"""Redis's compact blob encodings as they appear inside RDB files: listpack (written and read),
ziplist, intset (written and read) and zipmap (read only, Redis 2.4 files).

Decoders validate as strictly as Redis's deep sanitisation (lpValidateIntegrity,
ziplistValidateIntegrity, intsetValidateIntegrity, zipmapValidateIntegrity): every length and
back-length must agree with the bytes, headers must match the blob, and nothing may run past
the end. They raise `EncodingError` on anything else, never IndexError. Integer entries come
back as Python ints and string entries as bytes; `as_bytes` turns an entry into Redis's
string form.

Listpack entry encodings (listpack.c):
    0xxxxxxx                    7-bit unsigned integer
    10LLLLLL                    string of up to 63 bytes
    110xxxxx xxxxxxxx           13-bit signed integer
    1110LLLL LLLLLLLL           string of up to 4095 bytes
    11110000 <4 bytes>          string, 32-bit length
    11110001/0010/0011/0100     16/24/32/64-bit signed integer, little endian
each followed by its "back-length": the size of encoding + data in 1-5 bytes of 7 bits, so the
list can be walked from the end. Header: total bytes (u32), element count (u16, 65535 =
unknown); trailer 0xFF.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from ..keyspace.sets import as_int64 as canonical_int64

LP_HEADER_SIZE = 6
LP_EOF = 0xFF
LP_COUNT_UNKNOWN = 65535

_pack_u32 = struct.Struct("<I").pack
_unpack_u32 = struct.Struct("<I").unpack_from
_unpack_u16 = struct.Struct("<H").unpack_from
_NUMERIC_LEAD = frozenset(b"-0123456789")


class EncodingError(ValueError):
    """A blob that is not a valid listpack/ziplist/intset/zipmap."""


def as_int64(value: bytes | bytearray) -> int | None:
    """The int64 that value spells in canonical decimal (Redis's string2ll), else None. The
    first-byte test keeps the common non-numeric case free of a failed int() call."""
    if value and value[0] in _NUMERIC_LEAD:
        return canonical_int64(value)  # type: ignore[arg-type]
    return None


def as_bytes(entry: int | bytes) -> bytes:
    return b"%d" % entry if entry.__class__ is int else entry  # type: ignore[return-value]


# -- listpack: writing --------------------------------------------------------------------------

def _backlen(length: int) -> bytes:
    """The back-length bytes for an entry of `length` bytes (encoding + data)."""
    if length <= 127:
        return bytes((length,))
    if length < 16383:
        return bytes((length >> 7, (length & 127) | 128))
    if length < 2097151:
        return bytes((length >> 14, ((length >> 7) & 127) | 128, (length & 127) | 128))
    if length < 268435455:
        return bytes((length >> 21, ((length >> 14) & 127) | 128, ((length >> 7) & 127) | 128,
                      (length & 127) | 128))
    return bytes((length >> 28, ((length >> 21) & 127) | 128, ((length >> 14) & 127) | 128,
                  ((length >> 7) & 127) | 128, (length & 127) | 128))


# Small integers and short strings are by far the most common entries: precompute them.
_SMALL_INT_ENTRIES = [bytes((value, 1)) for value in range(128)]


def _int_entry(number: int) -> bytes:
    if 0 <= number <= 127:
        return _SMALL_INT_ENTRIES[number]
    if -4096 <= number <= 4095:
        unsigned = number & 0x1FFF
        return bytes((0xC0 | (unsigned >> 8), unsigned & 0xFF, 2))
    if -32768 <= number <= 32767:
        return b"\xf1" + struct.pack("<h", number) + b"\x03"
    if -8388608 <= number <= 8388607:
        return b"\xf2" + (number & 0xFFFFFF).to_bytes(3, "little") + b"\x04"
    if -2147483648 <= number <= 2147483647:
        return b"\xf3" + struct.pack("<i", number) + b"\x05"
    return b"\xf4" + struct.pack("<q", number) + b"\x09"


_SHORT_HEADERS = [bytes((0x80 | length,)) for length in range(64)]
_SHORT_BACKLENS = [bytes((length + 1,)) for length in range(64)]


def lp_entry(value: int | bytes | bytearray) -> bytes:
    """One listpack entry. Strings that spell an int64 are stored as integers, as lpAppend does."""
    if value.__class__ is int:
        return _int_entry(value)  # type: ignore[arg-type]
    length = len(value)  # type: ignore[arg-type]
    if length < 64:
        if 0 < length <= 20 and value[0] in _NUMERIC_LEAD:  # type: ignore[index]
            number = canonical_int64(value)  # type: ignore[arg-type]
            if number is not None:
                return _int_entry(number)
        return _SHORT_HEADERS[length] + value + _SHORT_BACKLENS[length]  # type: ignore[operator]
    if length < 4096:
        return bytes((0xE0 | (length >> 8), length & 0xFF)) + value + _backlen(length + 2)
    return b"\xf0" + _pack_u32(length) + value + _backlen(length + 5)


def listpack_encode(values: Iterable[int | bytes | bytearray]) -> bytes:
    entries = [lp_entry(value) for value in values]
    body = b"".join(entries)
    count = len(entries)
    total = LP_HEADER_SIZE + len(body) + 1
    return _pack_u32(total) + struct.pack("<H", min(count, LP_COUNT_UNKNOWN)) + body + b"\xff"


# -- listpack: reading --------------------------------------------------------------------------

def listpack_decode(blob: bytes) -> list[int | bytes]:
    """Every entry of a listpack, validated like lpValidateIntegrity(deep=1)."""
    size = len(blob)
    if size < LP_HEADER_SIZE + 1:
        raise EncodingError("listpack too short")
    if _unpack_u32(blob, 0)[0] != size:
        raise EncodingError("listpack total bytes do not match its size")
    if blob[size - 1] != LP_EOF:
        raise EncodingError("listpack without its end marker")
    declared = _unpack_u16(blob, 4)[0]
    entries: list[int | bytes] = []
    append = entries.append
    pos = LP_HEADER_SIZE
    last = size - 1
    while pos < last:
        start = pos
        first = blob[pos]
        if first < 0x80:
            append(first)
            pos += 1
        elif first < 0xC0:
            length = first & 0x3F
            pos += 1 + length
            append(blob[start + 1:pos])
        elif first < 0xE0:
            if pos + 2 > last:
                raise EncodingError("listpack entry past the end")
            unsigned = ((first & 0x1F) << 8) | blob[pos + 1]
            append(unsigned - 8192 if unsigned >= 4096 else unsigned)
            pos += 2
        elif first < 0xF0:
            if pos + 2 > last:
                raise EncodingError("listpack entry past the end")
            length = ((first & 0x0F) << 8) | blob[pos + 1]
            pos += 2 + length
            append(blob[start + 2:pos])
        else:
            pos = _decode_wide_entry(blob, pos, first, last, append)
        # The back-length must be the canonical encoding of the entry's size (lpValidateNext).
        encoded = pos - start
        if encoded <= 127:
            if pos >= last or blob[pos] != encoded:
                raise EncodingError("listpack back-length does not match its entry")
            pos += 1
        else:
            back = _backlen(encoded)
            end = pos + len(back)
            if end > last or blob[pos:end] != back:
                raise EncodingError("listpack back-length does not match its entry")
            pos = end
    if pos != last:
        raise EncodingError("listpack entry past the end")
    if declared != LP_COUNT_UNKNOWN and declared != len(entries):
        raise EncodingError("listpack element count does not match its entries")
    return entries


def _decode_wide_entry(blob: bytes, pos: int, first: int, last: int, append) -> int:
    """Entries with a 1-byte 1111xxxx header: 32-bit strings and 16..64-bit integers."""
    if first == 0xF0:
        if pos + 5 > last:
            raise EncodingError("listpack entry past the end")
        length = _unpack_u32(blob, pos + 1)[0]
        end = pos + 5 + length
        if end > last:
            raise EncodingError("listpack entry past the end")
        append(blob[pos + 5:end])
        return end
    width = {0xF1: 2, 0xF2: 3, 0xF3: 4, 0xF4: 8}.get(first)
    if width is None:
        raise EncodingError(f"unknown listpack entry encoding 0x{first:02x}")
    end = pos + 1 + width
    if end > last:
        raise EncodingError("listpack entry past the end")
    append(int.from_bytes(blob[pos + 1:end], "little", signed=True))
    return end


# -- ziplist (read only: Redis < 7 files) -------------------------------------------------------

def ziplist_decode(blob: bytes) -> list[int | bytes]:
    """Every entry of a ziplist, validated like ziplistValidateIntegrity(deep=1)."""
    size = len(blob)
    if size < 11:
        raise EncodingError("ziplist too short")
    zlbytes, zltail = struct.unpack_from("<II", blob, 0)
    declared = _unpack_u16(blob, 8)[0]
    if zlbytes != size:
        raise EncodingError("ziplist total bytes do not match its size")
    if blob[size - 1] != 0xFF:
        raise EncodingError("ziplist without its end marker")
    entries: list[int | bytes] = []
    pos, last, previous_size, previous_start = 10, size - 1, 0, 10
    while pos < last:
        start = pos
        prevlen, pos = _escaped_length(blob, pos, last, 0xFE, "ziplist")
        if prevlen != previous_size:
            raise EncodingError("ziplist prevlen does not match the previous entry")
        if pos >= last:
            raise EncodingError("ziplist entry past the end")
        pos = _ziplist_payload(blob, pos, last, entries)
        previous_size = pos - start
        previous_start = start
    if pos != last:
        raise EncodingError("ziplist entry past the end")
    if entries and zltail != previous_start or not entries and zltail != 10:
        raise EncodingError("ziplist tail offset does not match its last entry")
    if declared != 0xFFFF and declared != len(entries):
        raise EncodingError("ziplist element count does not match its entries")
    return entries


_ZIPLIST_INTS = {0xC0: (2, 1), 0xD0: (4, 1), 0xE0: (8, 1), 0xF0: (3, 1), 0xFE: (1, 1)}


def _ziplist_payload(blob: bytes, pos: int, last: int, entries: list[int | bytes]) -> int:
    encoding = blob[pos]
    kind = encoding >> 6
    if kind < 3:  # a string: 6-bit, 14-bit (big endian) or 32-bit (big endian) length
        if kind == 0:
            length, header = encoding & 0x3F, 1
        elif kind == 1:
            if pos + 2 > last:
                raise EncodingError("ziplist entry past the end")
            length, header = ((encoding & 0x3F) << 8) | blob[pos + 1], 2
        else:
            if encoding != 0x80 or pos + 5 > last:
                raise EncodingError("bad ziplist string encoding")
            length, header = int.from_bytes(blob[pos + 1:pos + 5], "big"), 5
        end = pos + header + length
        if end > last:
            raise EncodingError("ziplist entry past the end")
        entries.append(blob[pos + header:end])
        return end
    if 0xF1 <= encoding <= 0xFD:  # 4-bit immediate: 0..12
        entries.append((encoding & 0x0F) - 1)
        return pos + 1
    width = _ZIPLIST_INTS.get(encoding)
    if width is None:
        raise EncodingError(f"unknown ziplist entry encoding 0x{encoding:02x}")
    end = pos + 1 + width[0]
    if end > last:
        raise EncodingError("ziplist entry past the end")
    entries.append(int.from_bytes(blob[pos + 1:end], "little", signed=True))
    return end


# -- intset ---------------------------------------------------------------------------------------

_INTSET_FORMATS = {2: "h", 4: "i", 8: "q"}


def intset_encode(values: list[int]) -> bytes:
    """An intset of ascending values, in the narrowest width that holds them all."""
    low, high = (values[0], values[-1]) if values else (0, 0)
    if low >= -32768 and high <= 32767:
        width = 2
    elif low >= -2147483648 and high <= 2147483647:
        width = 4
    else:
        width = 8
    return struct.pack(f"<II{len(values)}{_INTSET_FORMATS[width]}", width, len(values), *values)


def intset_decode(blob: bytes) -> list[int]:
    """The integers of an intset, validated like intsetValidateIntegrity(deep=1)."""
    if len(blob) < 8:
        raise EncodingError("intset too short")
    width, count = struct.unpack_from("<II", blob, 0)
    fmt = _INTSET_FORMATS.get(width)
    if fmt is None:
        raise EncodingError("bad intset encoding")
    if 8 + count * width != len(blob):
        raise EncodingError("intset length does not match its size")
    if count == 0:
        raise EncodingError("empty intset")
    values = list(struct.unpack_from(f"<{count}{fmt}", blob, 8))
    for before, after in zip(values, values[1:], strict=False):
        if before >= after:
            raise EncodingError("intset not sorted or with duplicates")
    return values


def _escaped_length(blob: bytes, pos: int, last: int, escape: int, what: str) -> tuple[int, int]:
    """A one-byte length, or the escape byte followed by a 32-bit little-endian length (ziplist
    prevlen, zipmap lengths); returns (length, position after it)."""
    length = blob[pos]
    if length != escape:
        return length, pos + 1
    if pos + 5 > last:
        raise EncodingError(f"{what} entry past the end")
    return _unpack_u32(blob, pos + 1)[0], pos + 5


# -- zipmap (read only: Redis 2.4 hashes) ---------------------------------------------------------

def zipmap_decode(blob: bytes) -> list[tuple[bytes, bytes]]:
    """The field/value pairs of a zipmap, validated like zipmapValidateIntegrity(deep=1)."""
    size = len(blob)
    if size < 2:
        raise EncodingError("zipmap too short")
    pairs: list[tuple[bytes, bytes]] = []
    pos, last = 1, size - 1
    if blob[last] != 0xFF:
        raise EncodingError("zipmap without its end marker")
    while pos < last:
        field, pos = _zipmap_string(blob, pos, last, with_free=False)
        if pos >= last:
            raise EncodingError("zipmap field without a value")
        value, pos = _zipmap_string(blob, pos, last, with_free=True)
        pairs.append((field, value))
    if pos != last:
        raise EncodingError("zipmap entry past the end")
    if blob[0] < 254 and blob[0] != len(pairs):
        raise EncodingError("zipmap element count does not match its entries")
    return pairs


def _zipmap_string(blob: bytes, pos: int, last: int, with_free: bool) -> tuple[bytes, int]:
    if blob[pos] == 255:
        raise EncodingError("zipmap end marker inside an entry")
    length, pos = _escaped_length(blob, pos, last, 254, "zipmap")
    free = 0
    if with_free:
        if pos >= last:
            raise EncodingError("zipmap entry past the end")
        free = blob[pos]
        pos += 1
    end = pos + length
    if end + free > last:
        raise EncodingError("zipmap entry past the end")
    return blob[pos:end], end + free
