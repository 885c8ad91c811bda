"""The RDB format: writing Ember's keyspace as a Redis RDB file and reading any Redis RDB back.

Writing produces RDB version 10, what Redis 7.0 writes and what Redis 7.0-7.4 and Valkey all
load, using only the encodings they all read:

    string      0  (integers as 8/16/32-bit encodings; LZF when rdbcompression and > 20 bytes)
    list       18  quicklist of listpack nodes, one per node of Ember's quicklist model
    set        11  intset / 2 plain (7.2's set listpack, type 20, is a version 11 encoding)
    zset       17  listpack / 5 plain with binary doubles
    hash       16  listpack / 4 plain
    stream     19  listpacks + metadata + consumer groups (type 21 is version 11)

plus EXPIRETIME_MS, IDLE/FREQ when the maxmemory policy is LRU/LFU, AUX fields (redis-ver,
redis-bits, ctime, used-mem, aof-base), SELECTDB, RESIZEDB, FUNCTION2 for function libraries,
EOF and the CRC-64 (zero when rdbchecksum is off). `write_rdb(server, fileobj, aof_base=...)`
is the entry point for snapshots and for an AOF's RDB preamble; `dump_payload` /
`restore_payload` are DUMP/RESTORE's value encoding (value + RDB version + CRC-64).

Reading accepts versions 1 to 11 and every encoding Redis ever wrote: ziplists, zipmaps,
intsets, quicklists of ziplists (v1) or listpacks (v2), set/hash/zset listpacks, streams v1-v3,
function libraries (both opcodes). Values are rebuilt with the encoding Redis 7.2 would give
them under the current *-max-* settings. Module data cannot be loaded and is reported by module
name. Every malformed input ends in `RDBError` with the byte offset where reading stopped; the
reader never trusts a length it has not checked against the bytes that remain, so corrupt input
cannot make it allocate or loop without bound.

Function libraries: when the server has a functions engine (`server.functions` with
`library_codes() -> Iterable[bytes]` and `load_library(code, replace)`), libraries go to and
come from it; until then they are kept in `server.rdb_function_libraries` so that a load/save
round trip keeps them.
"""

from __future__ import annotations

import gc
import math
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import chain
from typing import TYPE_CHECKING, Any, BinaryIO

from sortedcontainers import SortedList

from ..keyspace.hashes import Hash
from ..keyspace.lfu import LFU_INIT_VAL, LFU_POLICIES, LfuAccessTimes
from ..keyspace.lists import ListValue
from ..keyspace.sets import HASHTABLE, INTSET, LISTPACK, RedisSet, SetLimits
from ..keyspace.streams import (
    INVALID_READS,
    SEQ_MASK,
    Consumer,
    ConsumerGroup,
    PendingEntry,
    Stream,
    StreamNode,
)
from ..keyspace.zsets import ZSet
from ..protocol.encoder import format_double
from . import lzf
from .crc64 import crc64
from .encodings import (
    EncodingError,
    as_bytes,
    as_int64,
    intset_decode,
    intset_encode,
    listpack_decode,
    listpack_encode,
    ziplist_decode,
    zipmap_decode,
)

if TYPE_CHECKING:
    from ..keyspace.database import Database
    from ..server.app import Server

RDB_VERSION = 10  # what Ember writes
MAX_RDB_VERSION = 11  # the newest version Ember reads (Redis 7.2)

# Value types.
TYPE_STRING = 0
TYPE_LIST = 1
TYPE_SET = 2
TYPE_ZSET = 3
TYPE_HASH = 4
TYPE_ZSET_2 = 5
TYPE_MODULE_PRE_GA = 6
TYPE_MODULE_2 = 7
TYPE_HASH_ZIPMAP = 9
TYPE_LIST_ZIPLIST = 10
TYPE_SET_INTSET = 11
TYPE_ZSET_ZIPLIST = 12
TYPE_HASH_ZIPLIST = 13
TYPE_LIST_QUICKLIST = 14
TYPE_STREAM_LISTPACKS = 15
TYPE_HASH_LISTPACK = 16
TYPE_ZSET_LISTPACK = 17
TYPE_LIST_QUICKLIST_2 = 18
TYPE_STREAM_LISTPACKS_2 = 19
TYPE_SET_LISTPACK = 20
TYPE_STREAM_LISTPACKS_3 = 21

# Opcodes.
OP_FUNCTION2 = 245
OP_FUNCTION_PRE_GA = 246
OP_MODULE_AUX = 247
OP_IDLE = 248
OP_FREQ = 249
OP_AUX = 250
OP_RESIZEDB = 251
OP_EXPIRETIME_MS = 252
OP_EXPIRETIME = 253
OP_SELECTDB = 254
OP_EOF = 255

# Length prefixes (first byte's top two bits).
LEN_6BIT, LEN_14BIT, LEN_32BIT, LEN_64BIT = 0, 1, 0x80, 0x81
ENC_INT8, ENC_INT16, ENC_INT32, ENC_LZF = 0, 1, 2, 3

QUICKLIST_PLAIN, QUICKLIST_PACKED = 1, 2
STREAM_FLAG_DELETED, STREAM_FLAG_SAMEFIELDS = 1, 2
MODULE_OPCODE_EOF, MODULE_OPCODE_UINT = 0, 2

MASK64 = (1 << 64) - 1
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
LZF_MAX_RATIO = 88  # an LZF block cannot expand more than this (264 bytes from a 3-byte reference)
FLUSH_BYTES = 1 << 20

_pack_double = struct.Struct("<d").pack
_unpack_double = struct.Struct("<d").unpack_from
_pack_i64 = struct.Struct("<q").pack
_unpack_i64 = struct.Struct("<q").unpack_from
_unpack_u32_be = struct.Struct(">I").unpack_from
_unpack_u64_be = struct.Struct(">Q").unpack_from
_LENGTH_1 = [bytes((n,)) for n in range(64)]
_NUMERIC_LEAD = frozenset(b"-0123456789")
_LRU_POLICIES = ("allkeys-lru", "volatile-lru")


class RDBError(Exception):
    """Malformed RDB data; `offset` is where reading stopped (None when unknown)."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset

    def __str__(self) -> str:
        if self.offset is None:
            return self.message
        return f"{self.message} (at byte offset {self.offset})"


# == writing =======================================================================================

def put_length(out: bytearray, length: int) -> None:
    if length < 64:
        out += _LENGTH_1[length]
    elif length < 16384:
        out += bytes((0x40 | (length >> 8), length & 0xFF))
    elif length <= 0xFFFFFFFF:
        out.append(LEN_32BIT)
        out += length.to_bytes(4, "big")
    else:
        out.append(LEN_64BIT)
        out += length.to_bytes(8, "big")


def _put_int_encoded(out: bytearray, number: int) -> None:
    if -128 <= number <= 127:
        out += bytes((0xC0 | ENC_INT8, number & 0xFF))
    elif -32768 <= number <= 32767:
        out.append(0xC0 | ENC_INT16)
        out += (number & 0xFFFF).to_bytes(2, "little")
    else:
        out.append(0xC0 | ENC_INT32)
        out += (number & 0xFFFFFFFF).to_bytes(4, "little")


def put_string(out: bytearray, value: bytes | bytearray, compress: bool) -> None:
    """A string as rdbSaveRawString writes it: an integer encoding when it spells an int32
    (at most 11 bytes), LZF when compressing and it is longer than 20 bytes and shrinks,
    else length + bytes."""
    length = len(value)
    if length <= 11:
        if length and value[0] in _NUMERIC_LEAD:
            number = as_int64(value)
            if number is not None and INT32_MIN <= number <= INT32_MAX:
                _put_int_encoded(out, number)
                return
        out += _LENGTH_1[length]
        out += value
        return
    if compress and length > 20:
        packed = lzf.compress(value)
        if packed is not None:
            out.append(0xC0 | ENC_LZF)
            put_length(out, len(packed))
            put_length(out, length)
            out += packed
            return
    put_length(out, length)
    out += value


def _put_millis(out: bytearray, when: int) -> None:
    out += _pack_i64(when)


# -- values: each encoder appends the body and returns the RDB type -----------------------------

def _encode_list(out: bytearray, value: ListValue, compress: bool) -> int:
    """Quicklist v2: one listpack per node of the quicklist shape the list models."""
    chunks = list(value.node_chunks())
    put_length(out, len(chunks))
    for chunk in chunks:
        out.append(QUICKLIST_PACKED)
        put_string(out, listpack_encode(chunk), compress)
    return TYPE_LIST_QUICKLIST_2


def _encode_set(out: bytearray, value: RedisSet, compress: bool) -> int:
    if value.kind == INTSET:
        put_string(out, intset_encode(sorted(map(int, value.members))), compress)
        return TYPE_SET_INTSET
    put_length(out, len(value.members))
    for member in value.members:
        put_string(out, member, compress)
    return TYPE_SET


def _encode_zset(out: bytearray, value: ZSet, compress: bool) -> int:
    if not value.skiplist:
        flat: list[Any] = []
        for score, member in value.order:
            flat.append(member)
            flat.append(_listpack_score(score))
        put_string(out, listpack_encode(flat), compress)
        return TYPE_ZSET_LISTPACK
    put_length(out, len(value.scores))
    # Greatest first, as Redis walks its skiplist backwards: loading then appends at the head.
    for score, member in reversed(value.order):
        put_string(out, member, compress)
        out += _pack_double(score)
    return TYPE_ZSET_2


def _listpack_score(score: float) -> int | bytes:
    """A score as zzlInsertAt stores it: an integer entry when integral (double2ll), else text."""
    text = format_double(score)
    number = as_int64(text.encode())
    return number if number is not None else text.encode()


def _encode_hash(out: bytearray, value: Hash, compress: bool) -> int:
    fields = value.fields
    if value.listpack:
        put_string(out, listpack_encode(chain.from_iterable(fields.items())), compress)
        return TYPE_HASH_LISTPACK
    put_length(out, len(fields))
    for name, content in fields.items():
        put_string(out, name, compress)
        put_string(out, content, compress)
    return TYPE_HASH


def _encode_stream(out: bytearray, value: Stream, compress: bool) -> int:
    put_length(out, len(value.nodes))
    for node in value.nodes:
        put_string(out, node.master_id.to_bytes(16, "big"), compress)
        put_string(out, listpack_encode(_stream_node_entries(node)), compress)
    put_length(out, value.length)
    for stream_id in (value.last_id, value.first_id, value.max_deleted_id):
        put_length(out, stream_id >> 64)
        put_length(out, stream_id & SEQ_MASK)
    put_length(out, value.entries_added)
    groups = [value.groups[name] for name in sorted(value.groups)]
    put_length(out, len(groups))
    for group in groups:
        _encode_group(out, group, compress)
    return TYPE_STREAM_LISTPACKS_2


def _stream_node_entries(node: StreamNode) -> list[Any]:
    """The listpack entries of one stream node (t_stream.c's layout): the master entry (count,
    deleted, fields, 0), then per entry: flags, ID deltas, [field count, fields and] values,
    and the entry's element count. A deleted entry (tombstone) no longer has its fields, so it
    is written with the master fields and empty values: same IDs and flags, valid layout."""
    master = node.master_fields
    master_ms, master_seq = node.master_id >> 64, node.master_id & SEQ_MASK
    entries: list[Any] = [node.live, node.deleted, len(master), *master, 0]
    for stream_id, fields_values in zip(node.ids, node.items, strict=True):
        ms_delta = _signed64((stream_id >> 64) - master_ms)
        seq_delta = _signed64((stream_id & SEQ_MASK) - master_seq)
        if fields_values is None:
            entries += (STREAM_FLAG_DELETED | STREAM_FLAG_SAMEFIELDS, ms_delta, seq_delta)
            entries += [b""] * len(master)
            entries.append(len(master) + 3)
        elif tuple(fields_values[0::2]) == master:
            entries += (STREAM_FLAG_SAMEFIELDS, ms_delta, seq_delta)
            entries += fields_values[1::2]
            entries.append(len(master) + 3)
        else:
            pairs = len(fields_values) // 2
            entries += (0, ms_delta, seq_delta, pairs)
            entries += fields_values
            entries.append(2 * pairs + 4)
    return entries


def _signed64(value: int) -> int:
    value &= MASK64
    return value - (1 << 64) if value >> 63 else value


def _encode_group(out: bytearray, group: ConsumerGroup, compress: bool) -> None:
    put_string(out, group.name, compress)
    put_length(out, group.last_id >> 64)
    put_length(out, group.last_id & SEQ_MASK)
    put_length(out, group.entries_read & MASK64)  # -1 (unknown) is written as 2^64 - 1
    put_length(out, len(group.pel))
    for stream_id, pending in group.pel.items():
        out += stream_id.to_bytes(16, "big")
        _put_millis(out, pending.delivery_time)
        put_length(out, pending.delivery_count)
    consumers = group.sorted_consumers()
    put_length(out, len(consumers))
    for consumer in consumers:
        put_string(out, consumer.name, compress)
        _put_millis(out, consumer.seen_time)
        put_length(out, len(consumer.pel))
        for stream_id in consumer.pel:
            out += stream_id.to_bytes(16, "big")


_ENCODERS: dict[type, Callable[[bytearray, Any, bool], int]] = {
    ListValue: _encode_list,
    RedisSet: _encode_set,
    ZSet: _encode_zset,
    Hash: _encode_hash,
    Stream: _encode_stream,
}


def put_value(out: bytearray, value: Any, compress: bool) -> int:
    """Append the body of value; returns its RDB type."""
    cls = value.__class__
    if cls is bytes or cls is bytearray:
        put_string(out, value, compress)
        return TYPE_STRING
    encoder = _ENCODERS.get(cls)
    if encoder is None:
        raise TypeError(f"cannot serialize a value of type {cls.__name__}")
    return encoder(out, value, compress)


def _put_aux(out: bytearray, name: bytes, value: bytes) -> None:
    out.append(OP_AUX)
    put_string(out, name, False)
    put_string(out, value, False)


def _used_memory() -> int:
    try:
        import os

        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0


def function_library_codes(server: Server) -> list[bytes]:
    engine = getattr(server, "functions", None)
    if engine is not None and hasattr(engine, "library_codes"):
        return list(engine.library_codes())
    return list(getattr(server, "rdb_function_libraries", ()))


@dataclass
class SaveStats:
    keys: int = 0
    bytes: int = 0
    crc: int = 0


class _Sink:
    """Buffers the output, checksums it and hands it to the file in large writes."""

    __slots__ = ("out", "write", "checksum", "crc", "written")

    def __init__(self, write: Callable[[bytes], Any], checksum: bool) -> None:
        self.out = bytearray()
        self.write = write
        self.checksum = checksum
        self.crc = 0
        self.written = 0

    def flush(self) -> None:
        out = self.out
        if out:
            if self.checksum:
                self.crc = crc64(out, self.crc)
            self.write(bytes(out))
            self.written += len(out)
            out.clear()


def write_rdb(server: Server, fileobj: BinaryIO, *, aof_base: bool = False,
              key_delay: Callable[[], None] | None = None) -> SaveStats:
    """Write the whole dataset to fileobj as an RDB file (version 10); returns what was written.

    `aof_base` marks the file as an AOF's base (the RDB preamble of a rewritten AOF), as Redis's
    aof-base AUX field does. `key_delay` runs after each key (rdb-key-save-delay, for tests).
    """
    config = server.config
    compress = bool(config["rdbcompression"])
    sink = _Sink(fileobj.write, bool(config["rdbchecksum"]))
    out = sink.out
    out += b"REDIS%04d" % RDB_VERSION
    _put_aux(out, b"redis-ver", server.redis_version.encode())
    _put_aux(out, b"redis-bits", b"64")
    _put_aux(out, b"ctime", b"%d" % int(time.time()))
    _put_aux(out, b"used-mem", b"%d" % _used_memory())
    _put_aux(out, b"aof-base", b"1" if aof_base else b"0")
    for code in function_library_codes(server):
        out.append(OP_FUNCTION2)
        put_string(out, code, compress)
    stats = SaveStats()
    policy = config.values.get("maxmemory-policy", "noeviction")
    for db in server.dbs:
        if db.data:
            stats.keys += _write_db(sink, db, compress, policy, key_delay)
    out.append(OP_EOF)
    sink.flush()
    crc = sink.crc if sink.checksum else 0
    fileobj.write(crc.to_bytes(8, "little"))
    stats.bytes = sink.written + 8
    stats.crc = crc
    return stats


def _write_db(sink: _Sink, db: Database, compress: bool, policy: str,
              key_delay: Callable[[], None] | None) -> int:
    out = sink.out
    data, expires = db.data, db.expires
    out.append(OP_SELECTDB)
    put_length(out, db.id)
    out.append(OP_RESIZEDB)
    put_length(out, len(data))
    put_length(out, len(expires))
    access = _access_writer(db, policy)
    expiry_opcode = bytes((OP_EXPIRETIME_MS,))
    for key, value in data.items():
        if expires:
            when = expires.get(key)
            if when is not None:
                out += expiry_opcode
                out += _pack_i64(when)
        if access is not None:
            access(out, key)
        cls = value.__class__
        if cls is bytes or cls is bytearray:  # the common case, inline
            out.append(TYPE_STRING)
            put_string(out, key, compress)
            put_string(out, value, compress)
        else:
            type_at = len(out)
            out.append(0)
            put_string(out, key, compress)
            out[type_at] = put_value(out, value, compress)
        if len(out) >= FLUSH_BYTES:
            sink.flush()
        if key_delay is not None:
            key_delay()
    return len(data)


def _access_writer(db: Database, policy: str) -> Callable[[bytearray, bytes], None] | None:
    """The IDLE (LRU) or FREQ (LFU) opcode writer for the policy in force, as Redis saves one or
    the other only when the maxmemory policy uses it."""
    now = db.server.clock_ms()
    lru = db.lru
    if policy in _LRU_POLICIES:
        def write_idle(out: bytearray, key: bytes) -> None:
            out.append(OP_IDLE)
            put_length(out, max(now - lru.get(key, now), 0) // 1000)
        return write_idle
    if policy in LFU_POLICIES:
        def write_freq(out: bytearray, key: bytes) -> None:
            counter = lru.frequency(key, now) if lru.__class__ is LfuAccessTimes else LFU_INIT_VAL
            out += bytes((OP_FREQ, counter))
        return write_freq
    return None


def dump_payload(value: Any, compress: bool = True) -> bytes:
    """DUMP's serialization: type, value, RDB version (2 bytes LE), CRC-64 of all that (LE)."""
    out = bytearray(b"\x00")
    out[0] = put_value(out, value, compress)
    out += RDB_VERSION.to_bytes(2, "little")
    out += crc64(out).to_bytes(8, "little")
    return bytes(out)


def serialized_length(value: Any, compress: bool) -> int:
    """Bytes the value takes in an RDB file (DEBUG OBJECT's serializedlength)."""
    out = bytearray()
    put_value(out, value, compress)
    return len(out)


# == reading =======================================================================================

@dataclass
class LoadLimits:
    """The encoding thresholds in force while loading (read once per load)."""

    list_fill: int
    set_intset_entries: int
    set_listpack_entries: int
    set_listpack_value: int
    hash_entries: int
    hash_value: int
    zset_entries: int
    zset_value: int

    @classmethod
    def from_server(cls, server: Server) -> LoadLimits:
        config = server.config
        return cls(config["list-max-listpack-size"], min(config["set-max-intset-entries"], 1 << 30),
                   config["set-max-listpack-entries"], config["set-max-listpack-value"],
                   config["hash-max-listpack-entries"], config["hash-max-listpack-value"],
                   config["zset-max-listpack-entries"], config["zset-max-listpack-value"])


class Reader:
    """Reads RDB primitives from a buffer (bytes, or an mmap of a file) between pos and end."""

    __slots__ = ("data", "pos", "end", "base")

    def __init__(self, data: Any, pos: int = 0, end: int | None = None, base: int = 0) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end
        self.base = base  # added to positions in error messages

    def fail(self, message: str) -> RDBError:
        return RDBError(message, self.base + self.pos)

    def remaining(self) -> int:
        return self.end - self.pos

    def byte(self) -> int:
        pos = self.pos
        if pos >= self.end:
            raise self.fail("unexpected end of data")
        self.pos = pos + 1
        return self.data[pos]

    def take(self, count: int) -> bytes:
        pos = self.pos
        end = pos + count
        if end > self.end:
            raise self.fail("unexpected end of data")
        self.pos = end
        return self.data[pos:end]

    def length_or_encoding(self) -> tuple[int, bool]:
        """(length, False), or (special encoding number, True) for a 11xxxxxx prefix."""
        first = self.byte()
        kind = first >> 6
        if kind == 0:
            return first, False
        if kind == 1:
            return ((first & 0x3F) << 8) | self.byte(), False
        if kind == 3:
            return first & 0x3F, True
        if first == LEN_32BIT:
            return _unpack_u32_be(self.take(4))[0], False
        if first == LEN_64BIT:
            return _unpack_u64_be(self.take(8))[0], False
        raise self.fail(f"unknown length encoding 0x{first:02x}")

    def length(self) -> int:
        pos = self.pos
        if pos < self.end:
            first = self.data[pos]
            if first < 64:  # the common case: a 6-bit length
                self.pos = pos + 1
                return first
        value, encoded = self.length_or_encoding()
        if encoded:
            raise self.fail("unexpected string encoding where a length was expected")
        return value

    def count(self, what: str, min_bytes: int = 1) -> int:
        """A length that counts following items of at least min_bytes each: checked against the
        bytes left, so a corrupt count cannot drive a long loop."""
        value = self.length()
        if value * min_bytes > self.end - self.pos:
            raise self.fail(f"{what} count {value} larger than the data left")
        return value

    def string(self) -> bytes:
        data, pos, limit = self.data, self.pos, self.end
        if pos >= limit:
            raise self.fail("unexpected end of data")
        first = data[pos]
        # Fast paths for the common prefixes: 6-bit and 14-bit lengths, 8-bit integers.
        if first < 64:
            start, end = pos + 1, pos + 1 + first
        elif first < 128:
            start = pos + 2
            end = start + (((first & 0x3F) << 8) | (data[pos + 1] if start <= limit else 0))
        elif first == 0xC0 | ENC_INT8 and pos + 2 <= limit:
            self.pos = pos + 2
            number = data[pos + 1]
            return b"%d" % (number - 256 if number > 127 else number)
        else:
            return self._encoded_string()
        if end > limit:
            raise self.fail("unexpected end of data")
        self.pos = end
        return data[start:end]

    def _encoded_string(self) -> bytes:
        value, encoded = self.length_or_encoding()
        if not encoded:
            return self.take(value)
        if value == ENC_INT8:
            return b"%d" % int.from_bytes(self.take(1), "little", signed=True)
        if value == ENC_INT16:
            return b"%d" % int.from_bytes(self.take(2), "little", signed=True)
        if value == ENC_INT32:
            return b"%d" % int.from_bytes(self.take(4), "little", signed=True)
        if value == ENC_LZF:
            return self._lzf_string()
        raise self.fail(f"unknown string encoding {value}")

    def _lzf_string(self) -> bytes:
        start = self.pos
        compressed_length = self.length()
        length = self.length()
        if length > compressed_length * LZF_MAX_RATIO + 64:
            raise self.fail("LZF string claims an impossible length")
        block = self.take(compressed_length)
        try:
            return lzf.decompress(block, length)
        except lzf.LZFError as err:
            self.pos = start
            raise self.fail(f"Invalid LZF compressed string: {err}") from None

    def millis(self) -> int:
        return _unpack_i64(self.take(8))[0]

    def binary_double(self) -> float:
        return _unpack_double(self.take(8))[0]

    def text_double(self) -> float:
        """The old (RDB < 8) double: a length byte (253 nan, 254 +inf, 255 -inf) and text."""
        length = self.byte()
        if length == 255:
            return -math.inf
        if length == 254:
            return math.inf
        if length == 253:
            return math.nan
        text = self.take(length)
        try:
            return float(text)
        except ValueError:
            raise self.fail("bad double value") from None

    def stream_id(self) -> int:
        return int.from_bytes(self.take(16), "big")


@dataclass
class LoadStats:
    version: int = 0
    keys_loaded: int = 0
    keys_expired: int = 0
    empty_keys_skipped: int = 0
    functions: list[bytes] = field(default_factory=list)
    aux: dict[bytes, bytes] = field(default_factory=dict)
    checksum_checked: bool = False
    end_offset: int = 0  # where the RDB data ended (an AOF's commands follow its RDB preamble)


def load_rdb(server: Server, data: Any, *, merge: bool = False, keep_expired: bool = False,
             verify_checksum: bool = True, dbs: list[Database] | None = None) -> LoadStats:
    """Load a whole RDB file (bytes or mmap) into the server's databases.

    merge: keys already present are replaced (DEBUG RELOAD MERGE) instead of being an error.
    keep_expired: keep keys whose TTL has passed (an AOF base is replayed as it was).
    Raises RDBError (with the byte offset) on anything malformed; what was loaded before the
    error stays loaded.
    """
    reader = Reader(data)
    # Loading only creates objects that live on: the cyclic collector would walk the growing
    # heap again and again for nothing (it roughly halves the load time to pause it).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load(server, reader, merge, keep_expired, verify_checksum, dbs or server.dbs)
    except RDBError:
        raise
    except (EncodingError, ValueError, IndexError, OverflowError, struct.error, MemoryError) as err:
        raise RDBError(f"corrupt data: {err}", reader.pos) from None
    finally:
        if collecting:
            gc.enable()


def _load(server: Server, reader: Reader, merge: bool, keep_expired: bool, verify_checksum: bool,
          dbs: list[Database]) -> LoadStats:
    magic = reader.take(9)
    if magic[:5] != b"REDIS" or not magic[5:].isdigit():
        raise RDBError("Wrong signature trying to load DB from file", 0)
    stats = LoadStats(version=int(magic[5:]))
    if not 1 <= stats.version <= MAX_RDB_VERSION:
        raise RDBError(f"Can't handle RDB format version {stats.version}", 5)
    limits = LoadLimits.from_server(server)
    now = server.clock_ms()
    policy = server.config.values.get("maxmemory-policy", "noeviction")
    db = dbs[0]
    expire_at = idle = freq = None
    while True:
        opcode = reader.byte()
        if opcode == OP_EXPIRETIME_MS:
            expire_at = reader.millis()
            continue
        if opcode == OP_EXPIRETIME:
            expire_at = int.from_bytes(reader.take(4), "little", signed=True) * 1000
            continue
        if opcode == OP_SELECTDB:
            number = reader.length()
            if number >= len(dbs):
                raise reader.fail(f"Data file was created with a Redis server configured to handle "
                                  f"more than {len(dbs)} databases")
            db = dbs[number]
            continue
        if opcode == OP_RESIZEDB:
            reader.length()
            reader.length()
            continue
        if opcode == OP_AUX:
            name = reader.string()
            stats.aux[name] = reader.string()
            continue
        if opcode == OP_IDLE:
            idle = reader.length()
            continue
        if opcode == OP_FREQ:
            freq = reader.byte()
            continue
        if opcode == OP_EOF:
            break
        if opcode in (OP_FUNCTION2, OP_FUNCTION_PRE_GA):
            stats.functions.append(_read_function(reader, opcode))
            continue
        if opcode == OP_MODULE_AUX:
            module_id = reader.length()
            raise reader.fail("The RDB file contains AUX module data I can't load: no matching module "
                              f"'{module_type_name(module_id)}'")
        key = reader.string()
        value = read_value(reader, opcode, limits)
        if value is None:
            stats.empty_keys_skipped += 1
        elif expire_at is not None and expire_at < now and not keep_expired:
            stats.keys_expired += 1
        else:
            _insert_key(db, key, value, expire_at, merge, reader)
            if idle is not None and policy in _LRU_POLICIES:
                db.lru[key] = now - idle * 1000
            elif freq is not None and db.lru.__class__ is LfuAccessTimes:
                db.lru.set_frequency(key, freq, now)
            stats.keys_loaded += 1
        expire_at = idle = freq = None
    if stats.version >= 5:
        checksum_at = reader.pos
        stored = int.from_bytes(reader.take(8), "little")
        if verify_checksum and stored != 0:
            if crc64_of(reader.data, checksum_at) != stored:
                raise RDBError("RDB CRC error: wrong checksum", checksum_at)
            stats.checksum_checked = True
    stats.end_offset = reader.pos
    _install_functions(server, stats.functions, replace=merge)
    server.memory.recount()  # keys were stored around the change hooks
    return stats


def crc64_of(data: Any, end: int, chunk: int = 64 << 20) -> int:
    """CRC-64 of data[0:end], in chunks so that an mmap is never copied whole."""
    crc = 0
    for start in range(0, end, chunk):
        crc = crc64(data[start:min(start + chunk, end)], crc)
    return crc


def _insert_key(db: Database, key: bytes, value: Any, expire_at: int | None, merge: bool,
                reader: Reader) -> None:
    data = db.data
    if key in data:
        if not merge:
            raise reader.fail(f"RDB has duplicated key '{key.decode('utf-8', 'replace')}' in DB {db.id}")
        db.expires.pop(key, None)
    elif db.scan_index is not None:
        db.scan_index.add(key)
    data[key] = value
    if expire_at is not None:
        db.set_expire(key, expire_at)


def _read_function(reader: Reader, opcode: int) -> bytes:
    if opcode == OP_FUNCTION2:
        return reader.string()
    # Redis 7.0 release candidates: name, engine, optional description, then the code.
    name = reader.string()
    engine = reader.string()
    if reader.length():
        reader.string()
    code = reader.string()
    return b"#!%s name=%s\n%s" % (engine, name, code)


def _install_functions(server: Server, codes: list[bytes], replace: bool) -> None:
    if not codes:
        return
    engine = getattr(server, "functions", None)
    if engine is not None and hasattr(engine, "load_library"):
        for code in codes:
            try:
                engine.load_library(code, replace)
            except Exception as err:  # the engine's own error type: report it as a load failure
                raise RDBError(f"Failed loading library, {err}") from None
        return
    kept = getattr(server, "rdb_function_libraries", [])
    server.rdb_function_libraries = kept + [code for code in codes if code not in kept]


MODULE_NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def module_type_name(module_id: int) -> str:
    """The 9-character module type name packed in a module ID (above its 10-bit version)."""
    module_id >>= 10
    name = []
    for _ in range(9):
        name.append(MODULE_NAME_CHARS[module_id & 63])
        module_id >>= 6
    return "".join(reversed(name))


# -- values -------------------------------------------------------------------------------------

def read_value(reader: Reader, rdb_type: int, limits: LoadLimits) -> Any:
    """One value of the given RDB type; None for an empty collection (Redis skips those)."""
    if rdb_type == TYPE_STRING:
        return reader.string()
    loader = _LOADERS.get(rdb_type)
    if loader is None:
        if rdb_type in (TYPE_MODULE_PRE_GA, TYPE_MODULE_2):
            module_id = reader.length()
            raise reader.fail("The RDB file contains module data I can't load: no matching module type "
                              f"'{module_type_name(module_id)}'")
        raise reader.fail(f"Unknown RDB encoding type {rdb_type}")
    return loader(reader, rdb_type, limits)


def _blob_entries(reader: Reader, decode: Callable[[bytes], list], what: str) -> list:
    start = reader.pos
    blob = reader.string()
    try:
        return decode(blob)
    except EncodingError as err:
        reader.pos = start
        raise reader.fail(f"{what} integrity check failed: {err}") from None


# lists

def _load_list_plain(reader: Reader, rdb_type: int, limits: LoadLimits) -> ListValue | None:
    count = reader.count("list")
    if not count:
        return None
    return ListValue.from_elements([reader.string() for _ in range(count)], limits.list_fill)


def _load_list_ziplist(reader: Reader, rdb_type: int, limits: LoadLimits) -> ListValue | None:
    entries = _blob_entries(reader, ziplist_decode, "List ziplist")
    if not entries:
        return None
    return ListValue.from_elements([as_bytes(entry) for entry in entries], limits.list_fill)


def _load_quicklist(reader: Reader, rdb_type: int, limits: LoadLimits) -> ListValue | None:
    count = reader.count("quicklist node")
    nodes: list[list[bytes]] = []
    for _ in range(count):
        container = QUICKLIST_PACKED
        if rdb_type == TYPE_LIST_QUICKLIST_2:
            container = reader.length()
            if container not in (QUICKLIST_PLAIN, QUICKLIST_PACKED):
                raise reader.fail("Quicklist integrity check failed.")
        if container == QUICKLIST_PLAIN:
            nodes.append([reader.string()])
            continue
        decode = listpack_decode if rdb_type == TYPE_LIST_QUICKLIST_2 else ziplist_decode
        entries = _blob_entries(reader, decode, "Listpack" if rdb_type == TYPE_LIST_QUICKLIST_2 else "Ziplist")
        if entries:  # Redis silently skips empty nodes
            nodes.append([as_bytes(entry) for entry in entries])
    if not nodes:
        return None
    return ListValue.from_node_chunks(nodes, limits.list_fill)


# sets

def _set_from_members(reader: Reader, members: list[bytes], kind: str, limits: LoadLimits) -> RedisSet:
    result = RedisSet(kind)
    set_limits = SetLimits(limits.set_intset_entries, limits.set_listpack_entries, limits.set_listpack_value)
    for member in members:
        if not result.add(member, set_limits):
            raise reader.fail("Duplicate set members detected")
    return result


def _load_set_plain(reader: Reader, rdb_type: int, limits: LoadLimits) -> RedisSet | None:
    count = reader.count("set")
    if not count:
        return None
    members = [reader.string() for _ in range(count)]
    if count <= limits.set_intset_entries:
        kind = INTSET
    elif count <= limits.set_listpack_entries:
        kind = LISTPACK
    else:
        kind = HASHTABLE
    return _set_from_members(reader, members, kind, limits)


def _load_set_intset(reader: Reader, rdb_type: int, limits: LoadLimits) -> RedisSet:
    numbers = _blob_entries(reader, intset_decode, "Intset")
    kind = INTSET if len(numbers) <= limits.set_intset_entries else HASHTABLE
    return RedisSet(kind, [b"%d" % number for number in numbers])


def _load_set_listpack(reader: Reader, rdb_type: int, limits: LoadLimits) -> RedisSet | None:
    entries = _blob_entries(reader, listpack_decode, "Set listpack")
    if not entries:
        return None
    members = [as_bytes(entry) for entry in entries]
    result = RedisSet(LISTPACK if len(members) <= limits.set_listpack_entries else HASHTABLE, members)
    if len(result) != len(members):
        raise reader.fail("Set listpack integrity check failed: duplicate members")
    return result


# sorted sets

def _zset_from_pairs(reader: Reader, pairs: Iterable[tuple[bytes, float]], listpack: bool) -> ZSet:
    scores: dict[bytes, float] = {}
    for member, score in pairs:
        if score != score:
            raise reader.fail("Zset with NAN score detected")
        if listpack and score == 0:
            score = 0.0  # a listpack stores -0 as the integer 0
        scores[member] = score
    value = ZSet()
    value.scores = scores
    value.order = SortedList((score, member) for member, score in scores.items())
    value.skiplist = not listpack
    return value


def _load_zset_plain(reader: Reader, rdb_type: int, limits: LoadLimits) -> ZSet | None:
    count = reader.count("sorted set", 2)
    if not count:
        return None
    read_score = reader.binary_double if rdb_type == TYPE_ZSET_2 else reader.text_double
    pairs = []
    seen: set[bytes] = set()
    longest = 0
    for _ in range(count):
        member = reader.string()
        if member in seen:
            raise reader.fail("Duplicate zset fields detected")
        seen.add(member)
        longest = max(longest, len(member))
        pairs.append((member, read_score()))
    listpack = count <= limits.zset_entries and longest <= limits.zset_value
    return _zset_from_pairs(reader, pairs, listpack)


def _load_zset_packed(reader: Reader, rdb_type: int, limits: LoadLimits) -> ZSet | None:
    if rdb_type == TYPE_ZSET_LISTPACK:
        entries = _blob_entries(reader, listpack_decode, "Zset listpack")
    else:
        entries = _blob_entries(reader, ziplist_decode, "Zset ziplist")
    if len(entries) % 2:
        raise reader.fail("Zset listpack integrity check failed: odd number of entries")
    if not entries:
        return None
    pairs = []
    for index in range(0, len(entries), 2):
        score = entries[index + 1]
        try:
            number = float(score) if score.__class__ is int else float(score.decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            raise reader.fail("Zset listpack integrity check failed: bad score") from None
        pairs.append((as_bytes(entries[index]), number))
    value = _zset_from_pairs(reader, pairs, len(pairs) <= limits.zset_entries)
    if len(value) != len(pairs):
        raise reader.fail("Zset listpack integrity check failed: duplicate members")
    return value


# hashes

def _hash_from_pairs(reader: Reader, pairs: list[tuple[bytes, bytes]], listpack: bool, what: str) -> Hash:
    value = Hash()
    value.fields = dict(pairs)
    if len(value.fields) != len(pairs):
        raise reader.fail(what)
    value.listpack = listpack
    return value


def _load_hash_plain(reader: Reader, rdb_type: int, limits: LoadLimits) -> Hash | None:
    count = reader.count("hash", 2)
    if not count:
        return None
    pairs = [(reader.string(), reader.string()) for _ in range(count)]
    listpack = count <= limits.hash_entries and all(
        len(name) <= limits.hash_value and len(content) <= limits.hash_value for name, content in pairs)
    return _hash_from_pairs(reader, pairs, listpack, "Duplicate hash fields detected")


def _load_hash_packed(reader: Reader, rdb_type: int, limits: LoadLimits) -> Hash | None:
    if rdb_type == TYPE_HASH_ZIPMAP:
        pairs = _blob_entries(reader, zipmap_decode, "Zipmap")
        longest = max((max(len(name), len(content)) for name, content in pairs), default=0)
        listpack = len(pairs) <= limits.hash_entries and longest <= limits.hash_value
    else:
        decode = listpack_decode if rdb_type == TYPE_HASH_LISTPACK else ziplist_decode
        entries = _blob_entries(reader, decode, "Hash listpack" if rdb_type == TYPE_HASH_LISTPACK else "Hash ziplist")
        if len(entries) % 2:
            raise reader.fail("Hash listpack integrity check failed: odd number of entries")
        flat = [as_bytes(entry) for entry in entries]
        pairs = list(zip(flat[0::2], flat[1::2], strict=True))
        listpack = len(pairs) <= limits.hash_entries
    if not pairs:
        return None
    return _hash_from_pairs(reader, pairs, listpack, "Hash with dup elements")


# streams

def _load_stream(reader: Reader, rdb_type: int, limits: LoadLimits) -> Stream:
    stream = Stream()
    node_count = reader.count("stream listpack", 2)
    nodes = []
    for _ in range(node_count):
        key = reader.string()
        if len(key) != 16:
            raise reader.fail("Stream node key entry is not the size of a stream ID")
        entries = _blob_entries(reader, listpack_decode, "Stream listpack")
        if not entries:
            raise reader.fail("Empty listpack inside stream")
        nodes.append(_stream_node(reader, int.from_bytes(key, "big"), entries))
    nodes.sort(key=lambda node: node.master_id)
    _attach_nodes(reader, stream, nodes)
    length = reader.length()
    last_id = _read_id_pair(reader)
    if rdb_type >= TYPE_STREAM_LISTPACKS_2:
        stream.first_id = _read_id_pair(reader)
        stream.max_deleted_id = _read_id_pair(reader)
        stream.entries_added = reader.length()
    else:
        first = stream.first_entry()
        stream.first_id = first[0] if first is not None else 0
        stream.entries_added = length
    if length != stream.length:
        raise reader.fail("Stream length does not match its entries")
    if stream.nodes and last_id < stream.nodes[-1].ids[-1]:
        raise reader.fail("Stream last ID is smaller than its last entry")
    stream.last_id = last_id
    group_count = reader.count("stream consumer group")
    for _ in range(group_count):
        group = _load_group(reader, stream, rdb_type)
        if group.name in stream.groups:
            raise reader.fail(f"Duplicated consumer group name {group.name.decode('utf-8', 'replace')}")
        stream.groups[group.name] = group
    return stream


def _read_id_pair(reader: Reader) -> int:
    ms = reader.length()
    seq = reader.length()
    if ms > MASK64 or seq > MASK64:
        raise reader.fail("bad stream ID")
    return (ms << 64) | seq


def _lp_int(reader: Reader, entry: int | bytes) -> int:
    """An integer listpack entry (strings spelling integers are accepted, as lpGetInteger does)."""
    if entry.__class__ is int:
        return entry  # type: ignore[return-value]
    number = as_int64(entry)  # type: ignore[arg-type]
    if number is None:
        raise reader.fail("Stream listpack integrity check failed: integer expected")
    return number


def _stream_node(reader: Reader, master_id: int, entries: list) -> StreamNode:
    """Rebuild one node from its listpack entries (see _stream_node_entries for the layout)."""
    def integer(index: int) -> int:
        if index >= len(entries):
            raise reader.fail("Stream listpack integrity check failed: entry cut short")
        return _lp_int(reader, entries[index])

    live, deleted, field_count = integer(0), integer(1), integer(2)
    if field_count < 0 or 3 + field_count >= len(entries) or integer(3 + field_count) != 0:
        raise reader.fail("Stream listpack integrity check failed: bad master entry")
    master = tuple(as_bytes(entry) for entry in entries[3:3 + field_count])
    node = StreamNode(master_id, master)
    master_ms, master_seq = master_id >> 64, master_id & SEQ_MASK
    index = 4 + field_count
    tombstones = []
    previous = -1
    while index < len(entries):
        flags, ms_delta, seq_delta = integer(index), integer(index + 1), integer(index + 2)
        index += 3
        if flags & STREAM_FLAG_SAMEFIELDS:
            values = [as_bytes(entry) for entry in entries[index:index + field_count]]
            if len(values) != field_count:
                raise reader.fail("Stream listpack integrity check failed: entry cut short")
            fields_values = [item for pair in zip(master, values, strict=True) for item in pair]
            index += field_count
            expected = field_count + 3
        else:
            pairs = integer(index)
            fields_values = [as_bytes(entry) for entry in entries[index + 1:index + 1 + 2 * pairs]]
            if pairs <= 0 or len(fields_values) != 2 * pairs:
                raise reader.fail("Stream listpack integrity check failed: bad field count")
            index += 1 + 2 * pairs
            expected = 2 * pairs + 4
        if integer(index) != expected:
            raise reader.fail("Stream listpack integrity check failed: bad entry element count")
        index += 1
        stream_id = (((master_ms + ms_delta) & MASK64) << 64) | ((master_seq + seq_delta) & MASK64)
        if stream_id <= previous or stream_id < master_id:
            raise reader.fail("Stream listpack integrity check failed: entries out of order")
        previous = stream_id
        node.append(stream_id, fields_values)
        if flags & STREAM_FLAG_DELETED:
            tombstones.append(len(node.ids) - 1)
    for position in tombstones:
        node.mark_deleted(position)
    if node.live != live or node.deleted != deleted:
        raise reader.fail("Stream listpack integrity check failed: master entry counts do not match")
    return node


def _attach_nodes(reader: Reader, stream: Stream, nodes: list[StreamNode]) -> None:
    previous_last = -1
    for node in nodes:
        if not node.ids:
            raise reader.fail("Empty listpack inside stream")
        if node.master_id <= previous_last:
            raise reader.fail("Stream listpacks overlap")
        previous_last = node.ids[-1]
        stream.rax.add_key(node.master_id, stream.node_ids[-1] if stream.node_ids else None, None)
        stream.nodes.append(node)
        stream.node_ids.append(node.master_id)
        stream.length += node.live


def _load_group(reader: Reader, stream: Stream, rdb_type: int) -> ConsumerGroup:
    name = reader.string()
    last_id = _read_id_pair(reader)
    if rdb_type >= TYPE_STREAM_LISTPACKS_2:
        entries_read = reader.length()
        if entries_read > MASK64:
            raise reader.fail("bad consumer group read counter")
        if entries_read >> 63:
            entries_read -= 1 << 64  # SCG_INVALID_ENTRIES_READ was written as an unsigned -1
    else:
        entries_read = stream.estimate_reads(last_id)
    group = ConsumerGroup(name, last_id, entries_read if entries_read >= 0 else INVALID_READS)
    for _ in range(reader.count("consumer group PEL", 17)):
        stream_id = reader.stream_id()
        delivery_time = reader.millis()
        delivery_count = reader.length()
        if stream_id in group.pel:
            raise reader.fail("Duplicated global PEL entry loading stream consumer group")
        group.pel[stream_id] = PendingEntry(None, delivery_time, delivery_count)
    for _ in range(reader.count("stream consumer", 10)):
        consumer_name = reader.string()
        seen_time = reader.millis()
        consumer = Consumer(consumer_name, seen_time)
        # Redis 7.2 estimates the last active time from the seen time for older encodings.
        consumer.active_time = reader.millis() if rdb_type >= TYPE_STREAM_LISTPACKS_3 else seen_time
        if consumer_name in group.consumers:
            raise reader.fail("Duplicate stream consumer detected.")
        group.consumers[consumer_name] = consumer
        for _ in range(reader.count("consumer PEL", 16)):
            stream_id = reader.stream_id()
            pending = group.pel.get(stream_id)
            if pending is None:
                raise reader.fail("Consumer entry not found in group global PEL")
            if pending.consumer is not None:
                raise reader.fail("Duplicated consumer PEL entry loading a stream consumer group")
            pending.consumer = consumer
            consumer.pel[stream_id] = pending
    if any(pending.consumer is None for pending in group.pel.values()):
        raise reader.fail("Stream CG PEL entry without consumer")
    return group


_LOADERS: dict[int, Callable[[Reader, int, LoadLimits], Any]] = {
    TYPE_LIST: _load_list_plain,
    TYPE_LIST_ZIPLIST: _load_list_ziplist,
    TYPE_LIST_QUICKLIST: _load_quicklist,
    TYPE_LIST_QUICKLIST_2: _load_quicklist,
    TYPE_SET: _load_set_plain,
    TYPE_SET_INTSET: _load_set_intset,
    TYPE_SET_LISTPACK: _load_set_listpack,
    TYPE_ZSET: _load_zset_plain,
    TYPE_ZSET_2: _load_zset_plain,
    TYPE_ZSET_ZIPLIST: _load_zset_packed,
    TYPE_ZSET_LISTPACK: _load_zset_packed,
    TYPE_HASH: _load_hash_plain,
    TYPE_HASH_ZIPMAP: _load_hash_packed,
    TYPE_HASH_ZIPLIST: _load_hash_packed,
    TYPE_HASH_LISTPACK: _load_hash_packed,
    TYPE_STREAM_LISTPACKS: _load_stream,
    TYPE_STREAM_LISTPACKS_2: _load_stream,
    TYPE_STREAM_LISTPACKS_3: _load_stream,
}


# -- DUMP / RESTORE payloads ----------------------------------------------------------------------

def verify_dump_payload(payload: bytes, skip_checksum: bool = False) -> bool:
    """Redis's verifyDumpPayload: a 2-byte RDB version this server reads and a matching CRC-64."""
    if len(payload) < 10:
        return False
    version = int.from_bytes(payload[-10:-8], "little")
    if version > MAX_RDB_VERSION:
        return False
    if skip_checksum:
        return True
    return crc64(payload[:-8]) == int.from_bytes(payload[-8:], "little")


def restore_payload(payload: bytes, server: Server) -> Any:
    """The value a (verified) DUMP payload holds; RDBError when it is malformed or empty."""
    reader = Reader(payload, 0, len(payload) - 10)
    try:
        rdb_type = reader.byte()
        value = read_value(reader, rdb_type, LoadLimits.from_server(server))
    except RDBError:
        raise
    except (EncodingError, ValueError, IndexError, OverflowError, struct.error, MemoryError) as err:
        raise RDBError(f"corrupt data: {err}", reader.pos) from None
    if value is None:
        raise RDBError("empty collection", reader.pos)
    return value
