"""Unit tests for the RDB format: the blob encodings, LZF and CRC-64, every value type and
encoding through DUMP payloads and whole files, old formats Redis no longer writes, Redis 7.0's
own payloads byte for byte, error reporting, and the DEBUG DIGEST algorithm.

Values are built with the value classes' own APIs and compared by content and by the encoding
OBJECT ENCODING would report, so a round trip must keep both.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ember.config import Config
from ember.keyspace.hashes import Hash, hash_limits
from ember.keyspace.lists import ListValue
from ember.keyspace.sets import RedisSet, set_limits
from ember.keyspace.sets import as_int64 as canonical_int64
from ember.keyspace.streams import ConsumerGroup, Stream, make_id
from ember.keyspace.zsets import ZSet, listpack_limits
from ember.persistence import crc64 as crc64_module
from ember.persistence import lzf
from ember.persistence.digest import dataset_digest, hex_digest, value_digest
from ember.persistence.encodings import (
    EncodingError,
    intset_decode,
    intset_encode,
    listpack_decode,
    listpack_encode,
    ziplist_decode,
    zipmap_decode,
)
from ember.persistence.rdb import (
    RDBError,
    dump_payload,
    load_rdb,
    module_type_name,
    put_length,
    put_string,
    restore_payload,
    verify_dump_payload,
    write_rdb,
)
from ember.server.app import Server


def make_server(**settings_: object) -> Server:
    config = Config()
    for name, value in settings_.items():
        config.values[name.replace("_", "-")] = value
    return Server(config)


@pytest.fixture(scope="module")
def server() -> Server:
    return make_server()


# -- value builders and comparison -------------------------------------------------------------

def build_list(server: Server, items: list[bytes]) -> ListValue:
    return ListValue.from_elements(items, server.config["list-max-listpack-size"])


def build_set(server: Server, members: list[bytes]) -> RedisSet:
    return RedisSet.build(members, set_limits(server))


def build_hash(server: Server, pairs: list[tuple[bytes, bytes]]) -> Hash:
    """A hash of the final value of each field: a long value later replaced by a short one
    would leave a hashtable that no loader (Redis's included) rebuilds from the contents."""
    value = Hash()
    for name, content in dict(pairs).items():
        value.set(name, content, hash_limits(server))
    return value


def build_zset(server: Server, pairs: list[tuple[bytes, float]]) -> ZSet:
    value = ZSet()
    limits = listpack_limits(server)
    for member, score in pairs:
        if member in value.scores:
            value.update(member, score)
        else:
            value.insert(member, score, limits)
    return value


def build_stream(entries: list[tuple[int, list[bytes]]], node_entries: int = 100) -> Stream:
    value = Stream()
    for stream_id, fields in entries:
        value.append(stream_id, fields, 4096, node_entries)
    return value


def entries_of(stream: Stream) -> list[tuple[int, list[bytes]]]:
    return [(stream_id, list(fields)) for stream_id, fields in stream.entries()]


def describe(value: object, server: Server) -> object:
    """Content and encoding, in the order Redis would list them where that order is defined."""
    if isinstance(value, (bytes, bytearray)):
        return ("string", bytes(value))
    encoding = value.encoding(server)
    if isinstance(value, ListValue):
        return ("list", encoding, list(value.items), list(value.node_chunks()))
    if isinstance(value, RedisSet):
        members = list(value.members) if encoding == "listpack" else sorted(value.members)
        return ("set", encoding, members)
    if isinstance(value, Hash):
        pairs = list(value.fields.items()) if encoding == "listpack" else sorted(value.fields.items())
        return ("hash", encoding, pairs)
    if isinstance(value, ZSet):
        return ("zset", encoding, [(member, score, math.copysign(1, score)) for score, member in value.order])
    assert isinstance(value, Stream)
    groups = {}
    for name, group in value.groups.items():
        pel = {sid: (p.consumer.name, p.delivery_time, p.delivery_count) for sid, p in group.pel.items()}
        consumers = {c.name: (c.seen_time, list(c.pel)) for c in group.consumers.values()}
        groups[name] = (group.last_id, group.entries_read, pel, consumers)
    return ("stream", entries_of(value), value.length, value.last_id, value.first_id,
            value.max_deleted_id, value.entries_added, [n.master_id for n in value.nodes], groups)


def round_trip(server: Server, value: object) -> object:
    payload = dump_payload(value)
    assert verify_dump_payload(payload)
    return restore_payload(payload, server)


# -- CRC-64 and LZF ---------------------------------------------------------------------------------

def test_crc64_matches_redis_test_vector():
    assert crc64_module.crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    assert crc64_module.crc64_python(b"123456789") == 0xE9C6D914C4B8D9CA


@given(st.binary(max_size=300), st.integers(0, 300))
@settings(max_examples=60, deadline=None)
def test_crc64_backends_agree_and_continue_across_chunks(data, cut):
    whole = crc64_module.crc64_python(data)
    assert crc64_module.crc64(data) == whole
    assert crc64_module.crc64(data[cut:], crc64_module.crc64(data[:cut])) == whole


@given(st.one_of(st.binary(max_size=2000),
                 st.lists(st.sampled_from([b"ab", b"abc", b"x", b"hello world "]), max_size=300).map(b"".join)))
@settings(max_examples=120, deadline=None)
def test_lzf_round_trips_across_backends(data):
    block = lzf.compress_python(data)
    assert lzf.decompress_python(block, len(data)) == data
    if data:
        assert lzf.decompress(block, len(data)) == data
    packed = lzf.compress(data)
    if packed is not None:
        assert len(packed) <= len(data) - 4
        assert lzf.decompress_python(packed, len(data)) == data


@pytest.mark.parametrize("block, length", [
    (b"\x05ab", 6),            # literal run past the end of the block
    (b"\x00a\x20\x05", 4),     # back reference before the start of the output
    (b"\x00a\xe0", 10),        # back reference cut short
    (b"\x00a", 5),             # shorter than announced
    (b"\x02abc", 2),           # longer than announced
])
def test_lzf_rejects_malformed_blocks(block, length):
    with pytest.raises(lzf.LZFError):
        lzf.decompress(block, length)
    with pytest.raises(lzf.LZFError):
        lzf.decompress_python(block, length)


# -- listpack, ziplist, intset, zipmap -------------------------------------------------------------

def test_listpack_bytes_match_redis():
    # HSET h f v f2 22 in Redis 7.0: the body of its DUMP payload.
    assert listpack_encode([b"f", b"v", b"f2", b"22"]) == b"\x13\x00\x00\x00\x04\x00\x81f\x02\x81v\x02\x82f2\x03\x16\x01\xff"
    # ZADD z -3 c 1 a 2.5 b: -3 as a 13-bit integer, 2.5 as text.
    assert listpack_encode([b"c", -3, b"a", 1, b"b", b"2.5"]) == (
        b"\x1a\x00\x00\x00\x06\x00\x81c\x02\xdf\xfd\x02\x81a\x02\x01\x01\x81b\x02\x832.5\x04\xff")


INTEGER_EDGES = [0, 127, 128, -1, -4096, 4095, 4096, -4097, -32768, 32767, 32768, -8388608, 8388607,
                 8388608, -2**31, 2**31 - 1, 2**31, -2**63, 2**63 - 1]
STRING_EDGES = [b"", b"a", b"x" * 63, b"x" * 64, b"y" * 127, b"y" * 128, b"z" * 4095, b"z" * 4096,
                b"w" * 20000, b"01", b"-0", b"+1", b" 1", b"9223372036854775808", b"1e3"]


def test_listpack_round_trips_every_entry_encoding():
    values = INTEGER_EDGES + STRING_EDGES
    decoded = listpack_decode(listpack_encode(values))
    assert decoded == values


@given(st.lists(st.one_of(st.integers(-2**63, 2**63 - 1), st.binary(max_size=300)), max_size=60))
@settings(max_examples=80, deadline=None)
def test_listpack_property(values):
    expected = [canonical_int64(v) if isinstance(v, bytes) and canonical_int64(v) is not None else v
                for v in values]
    assert listpack_decode(listpack_encode(values)) == expected


@pytest.mark.parametrize("mutate", [
    lambda b: b[:-1],                                  # no end marker
    lambda b: b[:4] + b"\x09\x00" + b[6:],              # wrong element count
    lambda b: struct.pack("<I", len(b) + 1) + b[4:],   # wrong total bytes
    lambda b: b[:8] + b"\x7f" + b[9:],                 # wrong back-length of the first entry
    lambda b: b[:6] + b"\xf5" + b[7:],                 # unknown encoding
])
def test_listpack_rejects_corruption(mutate):
    blob = listpack_encode([b"a", 1, b"hello"])
    with pytest.raises(EncodingError):
        listpack_decode(mutate(blob))


def ziplist(entries: list[int | bytes]) -> bytes:
    """A ziplist built as Redis < 7 wrote them, to feed the reader (which must not trust it)."""
    body = bytearray()
    previous = 0
    last_offset = 10
    for entry in entries:
        start = len(body)
        body += bytes((previous,)) if previous < 254 else b"\xfe" + struct.pack("<I", previous)
        if isinstance(entry, int):
            if 0 <= entry <= 12:
                body.append(0xF1 + entry)
            elif -128 <= entry <= 127:
                body += b"\xfe" + struct.pack("<b", entry)
            elif -32768 <= entry <= 32767:
                body += b"\xc0" + struct.pack("<h", entry)
            elif -8388608 <= entry <= 8388607:
                body += b"\xf0" + (entry & 0xFFFFFF).to_bytes(3, "little")
            elif -2**31 <= entry < 2**31:
                body += b"\xd0" + struct.pack("<i", entry)
            else:
                body += b"\xe0" + struct.pack("<q", entry)
        else:
            length = len(entry)
            if length < 64:
                body.append(length)
            elif length < 16384:
                body += bytes((0x40 | (length >> 8), length & 0xFF))
            else:
                body += b"\x80" + length.to_bytes(4, "big")
            body += entry
        last_offset = 10 + start
        previous = len(body) - start
    total = 10 + len(body) + 1
    return struct.pack("<IIH", total, last_offset, len(entries)) + bytes(body) + b"\xff"


ZIPLIST_VALUES = [0, 12, 13, -1, 300, -30000, 100000, -2**31, 2**40, b"", b"short", b"m" * 300, b"l" * 17000]


def test_ziplist_decodes_every_entry_encoding():
    assert ziplist_decode(ziplist(ZIPLIST_VALUES)) == ZIPLIST_VALUES
    assert ziplist_decode(ziplist([])) == []


@pytest.mark.parametrize("mutate", [
    lambda b: b[:-1] + b"\x00",                       # end marker
    lambda b: b[:10] + b"\x05" + b[11:],              # prevlen of the first entry must be 0
    lambda b: struct.pack("<I", len(b) - 1) + b[4:],  # total bytes
    lambda b: b[:4] + struct.pack("<I", 11) + b[8:],  # tail offset
])
def test_ziplist_rejects_corruption(mutate):
    with pytest.raises(EncodingError):
        ziplist_decode(mutate(ziplist([b"a", 5, b"bc"])))


@pytest.mark.parametrize("values, width", [([1, 2, 3], 2), ([-70000, 5], 4), ([1, 2**40], 8)])
def test_intset_round_trip_in_narrowest_width(values, width):
    blob = intset_encode(values)
    assert struct.unpack_from("<I", blob)[0] == width
    assert intset_decode(blob) == values


def test_intset_rejects_unsorted_and_bad_sizes():
    for blob in (struct.pack("<II2h", 2, 2, 5, 3), struct.pack("<II2h", 2, 3, 1, 2), struct.pack("<II", 3, 0)):
        with pytest.raises(EncodingError):
            intset_decode(blob)


def test_zipmap_decodes_fields_values_and_free_bytes():
    blob = b"\x02" + b"\x01a\x03\x00abc" + b"\x02bb\x01\x02xyz" + b"\xff"
    assert zipmap_decode(blob) == [(b"a", b"abc"), (b"bb", b"x")]
    with pytest.raises(EncodingError):
        zipmap_decode(b"\x01\x01a\x05\x00ab\xff")


# -- strings ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, body", [
    (b"0", b"\xc0\x00"), (b"-128", b"\xc0\x80"), (b"127", b"\xc0\x7f"), (b"128", b"\xc1\x80\x00"),
    (b"-32768", b"\xc1\x00\x80"), (b"32768", b"\xc2\x00\x80\x00\x00"),
    (b"2147483647", b"\xc2\xff\xff\xff\x7f"), (b"2147483648", b"\x0a2147483648"),
    (b"01", b"\x0201"), (b"-0", b"\x02-0"), (b" 1", b"\x02 1"), (b"", b"\x00"),
])
def test_string_integer_encodings(value, body):
    out = bytearray()
    put_string(out, value, True)
    assert bytes(out) == body


def test_long_strings_are_compressed_only_when_they_shrink(server):
    compressible = b"abc" * 100
    assert dump_payload(compressible)[1] == 0xC3  # LZF
    assert dump_payload(compressible, compress=False)[1:3] == b"\x41\x2c"  # 14-bit length 300
    random_bytes = hashlib.sha256(b"seed").digest() * 1  # 32 bytes that LZF cannot shrink
    assert dump_payload(random_bytes)[1] == 32
    for value in (compressible, random_bytes, b"x" * 70000, bytearray(b"raw string")):
        assert round_trip(server, value) == value


@pytest.mark.parametrize("length", [0, 63, 64, 16383, 16384, 70000])
def test_length_prefixes(length):
    out = bytearray()
    put_length(out, length)
    expected = {0: b"\x00", 63: b"\x3f", 64: b"\x40\x40", 16383: b"\x7f\xff", 16384: b"\x80\x00\x00\x40\x00",
                70000: b"\x80\x00\x01\x11\x70"}[length]
    assert bytes(out) == expected


# -- Redis 7.0's own DUMP payloads --------------------------------------------------------------------

REDIS_PAYLOADS = {
    "string": b"\x00\x05hello\n\x00cr\xdfve4 \n",
    "int": b"\x00\xc0{\n\x00H\xe2S\xe1\x00zg\xb9",
    "lzf": b"\x00\xc3\x0eA,\x03abca\xe0\xff\x02\xe1\x15\x07\x01bc\n\x00\xd2W3\xce\xc0D\xe1+",
    "list": b"\x12\x01\x02\x11\x11\x00\x00\x00\x04\x00\x81a\x02\x81b\x02\x01\x01\x02\x01\xff\n\x00mrq>\x9bCH+",
    "hash": b"\x10\x13\x13\x00\x00\x00\x04\x00\x81f\x02\x81v\x02\x82f2\x03\x16\x01\xff\n\x00\t\xc1\xc0i\xdd\xf7\xfc\xe4",
    "intset": b"\x0b\x0e\x02\x00\x00\x00\x03\x00\x00\x00\x01\x00\x02\x00\x03\x00\n\x00\xa5\x02\\\xe2mnM\x1b",
    "zset": (b"\x11\x1a\x1a\x00\x00\x00\x06\x00\x81c\x02\xdf\xfd\x02\x81a\x02\x01\x01\x81b\x02\x832.5\x04\xff"
             b"\n\x00\xa6\x8a\x1a\xb1\xa9\xf2\xdc\xc2"),
    # XADD st 1-1 f v; XADD st 1-2 g w h x; XADD st 2-0 f y; XDEL st 2-0; XGROUP CREATE st g 0;
    # XREADGROUP GROUP g c1 COUNT 1 STREAMS st >
    "stream": (b"\x13\x01\x10\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01??\x00\x00\x00\x18"
               b"\x00\x02\x01\x01\x01\x01\x01\x81f\x02\x00\x01\x02\x01\x00\x01\x00\x01\x81v\x02\x04\x01\x00\x01"
               b"\x00\x01\x01\x01\x02\x01\x81g\x02\x81w\x02\x81h\x02\x81x\x02\x08\x01\x03\x01\x01\x01\xdf\xff"
               b"\x02\x81y\x02\x04\x01\xff\x02\x02\x00\x01\x01\x02\x00\x03\x01\x01g\x01\x01\x81\xff\xff\xff"
               b"\xff\xff\xff\xff\xff\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\xd8"
               b"\x96M\x01\xa2\x01\x00\x00\x01\x01\x02c1\xd8\x96M\x01\xa2\x01\x00\x00\x01\x00\x00\x00\x00\x00"
               b"\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\n\x00\xe4\x966\x83^\xb8\r+"),
}


@pytest.mark.parametrize("name", [name for name in REDIS_PAYLOADS if name != "stream"])
def test_redis_payloads_restore_and_dump_back_byte_for_byte(server, name):
    payload = REDIS_PAYLOADS[name]
    assert verify_dump_payload(payload)
    assert dump_payload(restore_payload(payload, server)) == payload


def test_redis_stream_payload_restores_with_tombstone_and_group(server):
    value = restore_payload(REDIS_PAYLOADS["stream"], server)
    assert isinstance(value, Stream)
    assert entries_of(value) == [(make_id(1, 1), [b"f", b"v"]), (make_id(1, 2), [b"g", b"w", b"h", b"x"])]
    assert (value.length, value.last_id, value.first_id) == (2, make_id(2, 0), make_id(1, 1))
    assert (value.max_deleted_id, value.entries_added) == (make_id(2, 0), 3)
    assert value.nodes[0].deleted == 1 and value.nodes[0].live == 2
    group = value.groups[b"g"]
    assert (group.last_id, group.entries_read) == (make_id(1, 1), -1)
    (pending_id, pending), = group.pel.items()
    assert pending_id == make_id(1, 1) and pending.consumer.name == b"c1" and pending.delivery_count == 1
    assert list(group.consumers[b"c1"].pel) == [make_id(1, 1)]
    again = restore_payload(dump_payload(value), server)
    assert describe(again, server) == describe(value, server)


def test_redis_skiplist_zset_dumps_identically(server):
    # ZADD zs with m0..m199 scored i*1.5: sha1 of Redis 7.0's DUMP payload.
    value = build_zset(server, [(b"m%d" % i, i * 1.5) for i in range(200)])
    assert value.encoding(server) == "skiplist"
    assert hashlib.sha1(dump_payload(value)).hexdigest() == "8737858e66ace115b6d36c26dc9e1a48e265ef18"


def test_verify_dump_payload_checks_version_and_crc():
    payload = REDIS_PAYLOADS["string"]
    assert not verify_dump_payload(payload[:-1] + bytes((payload[-1] ^ 1,)))
    assert not verify_dump_payload(b"short")
    newer = payload[:-10] + (12).to_bytes(2, "little")
    newer += crc64_module.crc64(newer).to_bytes(8, "little")
    assert not verify_dump_payload(newer)
    v11 = payload[:-10] + (11).to_bytes(2, "little")
    v11 += crc64_module.crc64(v11).to_bytes(8, "little")
    assert verify_dump_payload(v11)
    assert verify_dump_payload(payload[:-1] + b"\x00", skip_checksum=True)


# -- every type and encoding round trips ----------------------------------------------------------------

def _values(server: Server) -> dict[str, object]:
    stream = build_stream([(make_id(5, i), [b"f", b"%d" % i, b"g", b"x" * i]) for i in range(1, 40)], node_entries=10)
    stream.append(make_id(9, 0), [b"other", b"fields"], 4096, 10)
    stream.delete_many([make_id(5, 3), make_id(5, 20)])
    group = ConsumerGroup(b"workers", make_id(5, 9), 9)
    stream.groups[b"workers"] = group
    alice = group.add_consumer(b"alice", 1000)
    bob = group.add_consumer(b"bob", 2000)
    for index, consumer in ((1, alice), (2, alice), (5, bob)):
        group.record_delivery(make_id(5, index), consumer, 3000 + index)
    stream.groups[b"idle"] = ConsumerGroup(b"idle", 0, -1)
    return {
        "list-listpack": build_list(server, [b"a", b"1", b"-7", b"x" * 70]),
        "list-quicklist": build_list(server, [b"e%d" % i for i in range(2000)] + [b"big" * 3000]),
        "set-intset": build_set(server, [b"3", b"-1", b"99999999999"]),
        "set-listpack": build_set(server, [b"b", b"a", b"10"]),
        "set-hashtable": build_set(server, [b"m%d" % i for i in range(600)]),
        "hash-listpack": build_hash(server, [(b"z", b"1"), (b"a", b"")]),
        "hash-hashtable": build_hash(server, [(b"f%d" % i, b"v" * (i % 90)) for i in range(700)]),
        "zset-listpack": build_zset(server, [(b"a", 1.0), (b"b", -0.0), (b"c", math.inf), (b"d", -math.inf),
                                             (b"e", 0.1), (b"f", 1e300)]),
        "zset-skiplist": build_zset(server, [(b"m%d" % i, i / 7) for i in range(300)] + [(b"neg", -0.0)]),
        "stream": stream,
        "stream-empty": Stream(),
    }


@pytest.mark.parametrize("name", ["list-listpack", "list-quicklist", "set-intset", "set-listpack",
                                  "set-hashtable", "hash-listpack", "hash-hashtable", "zset-listpack",
                                  "zset-skiplist", "stream", "stream-empty"])
def test_value_round_trips_with_its_encoding(server, name):
    value = _values(server)[name]
    expected_encoding = {"list-listpack": "listpack", "list-quicklist": "quicklist", "set-intset": "intset",
                         "set-listpack": "listpack", "set-hashtable": "hashtable", "hash-listpack": "listpack",
                         "hash-hashtable": "hashtable", "zset-listpack": "listpack", "zset-skiplist": "skiplist",
                         "stream": "stream", "stream-empty": "stream"}[name]
    assert value.encoding(server) == expected_encoding
    restored = round_trip(server, value)
    assert describe(restored, server) == describe(value, server)


def test_negative_zero_survives_in_a_skiplist_only(server):
    values = _values(server)
    skiplist = round_trip(server, values["zset-skiplist"])
    assert math.copysign(1, skiplist.scores[b"neg"]) == -1
    assert math.copysign(1, round_trip(server, values["zset-listpack"]).scores[b"b"]) == 1


# -- whole files --------------------------------------------------------------------------------------

def fill_server(server: Server, now: int) -> None:
    values = _values(server)
    db0, db2 = server.dbs[0], server.dbs[2]
    for name, value in values.items():
        db0.data[name.encode()] = value
    db0.data[b"plain"] = b"value"
    db0.data[b"ttl"] = b"soon"
    db0.set_expire(b"ttl", now + 100_000)
    db0.data[b"gone"] = b"expired"
    db0.set_expire(b"gone", now - 1)
    db2.data[b"other-db"] = b"x"


def save_bytes(server: Server) -> bytes:
    out = io.BytesIO()
    write_rdb(server, out)
    return out.getvalue()


def test_file_round_trip_keeps_databases_ttls_and_drops_expired_keys():
    source = make_server()
    now = source.clock_ms()
    fill_server(source, now)
    data = save_bytes(source)
    assert data.startswith(b"REDIS0010")
    target = make_server()
    stats = load_rdb(target, data)
    assert stats.checksum_checked and stats.keys_expired == 1 and stats.keys_loaded == len(source.dbs[0].data) - 1 + 1
    assert stats.aux[b"redis-ver"] == source.redis_version.encode() and stats.aux[b"aof-base"] == b"0"
    assert set(target.dbs[0].data) == set(source.dbs[0].data) - {b"gone"}
    for key, value in target.dbs[0].data.items():
        assert describe(value, target) == describe(source.dbs[0].data[key], source), key
    assert target.dbs[0].expires == {b"ttl": now + 100_000}
    assert target.dbs[2].data == {b"other-db": b"x"}
    kept = make_server()
    assert load_rdb(kept, data, keep_expired=True).keys_expired == 0
    assert b"gone" in kept.dbs[0].data


def test_aof_base_flag_and_disabled_checksum():
    source = make_server(rdbchecksum=False)
    source.dbs[0].data[b"k"] = b"v"
    out = io.BytesIO()
    write_rdb(source, out, aof_base=True)
    data = out.getvalue()
    assert data.endswith(b"\x00" * 8)
    stats = load_rdb(make_server(), data + b"*1\r\n$4\r\nPING\r\n")  # an AOF's commands after the preamble
    assert stats.aux[b"aof-base"] == b"1" and not stats.checksum_checked
    assert stats.end_offset == len(data)


def test_checksum_mismatch_is_reported():
    source = make_server()
    source.dbs[0].data[b"k"] = b"v"
    data = bytearray(save_bytes(source))
    data[-1] ^= 0xFF
    with pytest.raises(RDBError, match="CRC"):
        load_rdb(make_server(), bytes(data))
    assert load_rdb(make_server(), bytes(data), verify_checksum=False).keys_loaded == 1


def test_lru_idle_times_are_saved_and_loaded_under_an_lru_policy():
    source = make_server(maxmemory_policy="allkeys-lru")
    now = source.clock_ms()
    source.dbs[0].data[b"k"] = b"v"
    source.dbs[0].lru[b"k"] = now - 50_000
    data = save_bytes(source)
    assert bytes((248, 50)) in data  # RDB_OPCODE_IDLE, 50 seconds
    target = make_server(maxmemory_policy="allkeys-lru")
    load_rdb(target, data)
    assert now - 52_000 <= target.dbs[0].lru[b"k"] <= target.clock_ms() - 50_000


LIBRARY = b"#!lua name=mylib\nredis.register_function('f', function() return 1 end)"


def test_function_libraries_are_saved_and_loaded_through_the_functions_engine():
    source = make_server()
    source.functions.load_library(LIBRARY, replace=False)
    data = save_bytes(source)
    assert b"\xf5" in data  # RDB_OPCODE_FUNCTION2
    target = make_server()
    assert load_rdb(target, data).functions == [LIBRARY]
    assert list(target.functions.library_codes()) == [LIBRARY]
    with pytest.raises(RDBError, match="Failed loading library"):
        load_rdb(target, data)  # the library exists already and this is no merge


def test_function_libraries_are_kept_without_a_functions_engine():
    source = make_server()
    source.functions = None
    source.rdb_function_libraries = [LIBRARY]
    target = make_server()
    target.functions = None
    assert load_rdb(target, save_bytes(source)).functions == [LIBRARY]
    assert target.rdb_function_libraries == [LIBRARY]


# -- formats Redis no longer writes -------------------------------------------------------------------

def rdb_file(body: bytes, version: int = 10) -> bytes:
    """A minimal RDB file around body (opcodes and keys), with its checksum."""
    data = b"REDIS%04d" % version + body + b"\xff"
    return data + crc64_module.crc64(data).to_bytes(8, "little")


def encoded(*strings: bytes) -> bytes:
    out = bytearray()
    for value in strings:
        put_string(out, value, False)
    return bytes(out)


def length(n: int) -> bytes:
    out = bytearray()
    put_length(out, n)
    return bytes(out)


def load_single(body: bytes, version: int = 10, **settings_) -> tuple[Server, object]:
    target = make_server(**settings_)
    load_rdb(target, rdb_file(body, version))
    (value,) = target.dbs[0].data.values()
    return target, value


def test_old_list_set_zset_hash_types():
    _, value = load_single(b"\x01" + encoded(b"l") + length(3) + encoded(b"a", b"1", b"c"), version=6)
    assert list(value.items) == [b"a", b"1", b"c"] and value.encoding(None) == "listpack"
    target, value = load_single(b"\x02" + encoded(b"s") + length(2) + encoded(b"5", b"-3"), version=6)
    assert value.encoding(target) == "intset" and set(value.members) == {b"5", b"-3"}
    target, value = load_single(b"\x02" + encoded(b"s") + length(2) + encoded(b"5", b"x"))
    assert value.encoding(target) == "listpack" and set(value.members) == {b"5", b"x"}
    zset_body = b"\x03" + encoded(b"z") + length(3) + encoded(b"a") + b"\x031.5" + encoded(b"b") + b"\xfe"
    zset_body += encoded(b"c") + b"\xff"
    target, value = load_single(zset_body, version=6)
    assert value.scores == {b"a": 1.5, b"b": math.inf, b"c": -math.inf} and value.encoding(target) == "listpack"
    target, value = load_single(b"\x04" + encoded(b"h") + length(1) + encoded(b"f", b"v"), version=6)
    assert value.fields == {b"f": b"v"} and value.encoding(target) == "listpack"


def test_ziplist_and_zipmap_encodings():
    _, value = load_single(b"\x0a" + encoded(b"l") + encoded(ziplist([b"a", 7, b"b"])), version=6)
    assert list(value.items) == [b"a", b"7", b"b"]
    target, value = load_single(b"\x0c" + encoded(b"z") + encoded(ziplist([b"a", b"1.5", b"b", 2])), version=7)
    assert value.scores == {b"a": 1.5, b"b": 2.0} and value.encoding(target) == "listpack"
    target, value = load_single(b"\x0d" + encoded(b"h") + encoded(ziplist([b"f", b"v", b"n", 300])), version=7)
    assert list(value.fields.items()) == [(b"f", b"v"), (b"n", b"300")]
    zipmap = b"\x01" + b"\x01f\x01\x00v" + b"\xff"
    _, value = load_single(b"\x09" + encoded(b"h") + encoded(zipmap), version=3)
    assert value.fields == {b"f": b"v"}
    nodes = [ziplist([b"x%d" % i for i in range(3)]), ziplist([]), ziplist([b"y", 9])]
    _, value = load_single(b"\x0e" + encoded(b"q") + length(3) + encoded(*nodes), version=8)
    assert list(value.items) == [b"x0", b"x1", b"x2", b"y", b"9"]


def test_quicklist_v2_plain_node_and_set_listpack():
    body = b"\x12" + encoded(b"q") + length(2) + b"\x02" + encoded(listpack_encode([b"a", b"b"]))
    body += b"\x01" + encoded(b"plain")
    _, value = load_single(body)
    assert list(value.items) == [b"a", b"b", b"plain"]
    target, value = load_single(b"\x14" + encoded(b"s") + encoded(listpack_encode([b"b", 1, b"a"])), version=11)
    assert list(value.members) == [b"b", b"1", b"a"] and value.encoding(target) == "listpack"


def test_expiretime_in_seconds_and_empty_keys():
    target = make_server()
    body = b"\xfd" + struct.pack("<i", 2_000_000_000) + b"\x00" + encoded(b"k", b"v")
    body += b"\x02" + encoded(b"empty") + length(0)
    stats = load_rdb(target, rdb_file(body, version=6))
    assert target.dbs[0].expires == {b"k": 2_000_000_000_000}
    assert stats.empty_keys_skipped == 1 and b"empty" not in target.dbs[0].data


def _stream_body(rdb_type: int, with_metadata: bool, active_times: bool) -> bytes:
    node = listpack_encode([2, 0, 1, b"f", 0, 2, 0, 0, b"v1", 4, 2, 0, 1, b"v2", 4])
    body = bytes((rdb_type,)) + encoded(b"st") + length(1) + encoded(make_id(7, 0).to_bytes(16, "big"), node)
    body += length(2) + length(7) + length(1)
    if with_metadata:
        body += length(7) + length(0) + length(0) + length(0) + length(5)
    body += length(1) + encoded(b"g") + length(7) + length(0)
    if with_metadata:
        body += length(1)
    body += length(1) + make_id(7, 0).to_bytes(16, "big") + struct.pack("<q", 111) + length(2)
    body += length(1) + encoded(b"c") + struct.pack("<q", 222)
    if active_times:
        body += struct.pack("<q", 333)
    body += length(1) + make_id(7, 0).to_bytes(16, "big")
    return body


@pytest.mark.parametrize("rdb_type, version", [(15, 9), (19, 10), (21, 11)])
def test_stream_encodings_v1_to_v3(rdb_type, version):
    _, value = load_single(_stream_body(rdb_type, rdb_type >= 19, rdb_type == 21), version=version)
    assert entries_of(value) == [(make_id(7, 0), [b"f", b"v1"]), (make_id(7, 1), [b"f", b"v2"])]
    assert value.first_id == make_id(7, 0) and value.last_id == make_id(7, 1)
    assert value.entries_added == (5 if rdb_type >= 19 else 2)
    group = value.groups[b"g"]
    assert group.entries_read == 1  # v1: estimated from the stream, as Redis does
    consumer = group.consumers[b"c"]
    assert consumer.seen_time == 222 and consumer.active_time == (333 if rdb_type == 21 else 222)
    assert group.pel[make_id(7, 0)].consumer is consumer and group.pel[make_id(7, 0)].delivery_count == 2


def test_encodings_follow_the_current_settings():
    target, value = load_single(b"\x10" + encoded(b"h") + encoded(listpack_encode([b"a", b"1", b"b", b"2"])),
                                hash_max_listpack_entries=1)
    assert value.encoding(target) == "hashtable"
    target, value = load_single(b"\x0b" + encoded(b"s") + encoded(intset_encode([1, 2, 3])), set_max_intset_entries=2)
    assert value.encoding(target) == "hashtable"
    body = b"\x05" + encoded(b"z") + length(2) + encoded(b"a") + struct.pack("<d", 1) + encoded(b"b")
    body += struct.pack("<d", 2)
    target, value = load_single(body)
    assert value.encoding(target) == "listpack"
    target, value = load_single(body, zset_max_listpack_entries=1)
    assert value.encoding(target) == "skiplist"
    body = b"\x12" + encoded(b"l") + length(2) + b"\x02" + encoded(listpack_encode([b"a"])) + b"\x02"
    body += encoded(listpack_encode([b"b"]))
    target, value = load_single(body)
    assert value.encoding(target) == "quicklist" and len(list(value.node_chunks())) == 2


# -- errors ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data, message", [
    (b"RADIS0010\xff", "Wrong signature"),
    (b"REDIS0012\xff", "Can't handle RDB format version 12"),
    (b"REDIS0010\x00\x05ab", "unexpected end of data"),
    (b"REDIS0010\xfe\x20", "more than 16 databases"),
    (b"REDIS0010\x1e\x01k", "Unknown RDB encoding type 30"),
    (b"REDIS0010\x00\x01k\xc5", "unknown string encoding 5"),
    (b"REDIS0010\x02\x01k\x80\xff\xff\xff\xff", "set count 4294967295 larger than the data left"),
    (b"REDIS0010\x0b\x01k\x09" + struct.pack("<II", 2, 1) + b"\x01", "Intset integrity check failed"),
    (b"REDIS0010\x00\x01k\xc3\x02\x7f\x00a", "impossible length"),
])
def test_malformed_files_raise_with_offsets(data, message):
    with pytest.raises(RDBError, match=message) as error:
        load_rdb(make_server(), data)
    assert error.value.offset is not None and 0 <= error.value.offset <= len(data)
    assert "byte offset" in str(error.value)


def test_duplicates_and_modules_are_reported():
    body = b"\x00" + encoded(b"k", b"1") + b"\x00" + encoded(b"k", b"2")
    with pytest.raises(RDBError, match="duplicated key 'k' in DB 0"):
        load_rdb(make_server(), rdb_file(body))
    merged = make_server()
    load_rdb(merged, rdb_file(body), merge=True)
    assert merged.dbs[0].data == {b"k": b"2"}
    module_id = (0x123456789 << 10) | 3
    with pytest.raises(RDBError, match=f"no matching module '{module_type_name(module_id)}'"):
        load_rdb(make_server(), rdb_file(b"\xf7" + length(module_id) + length(2) + length(1)))
    with pytest.raises(RDBError, match="module data I can't load"):
        load_rdb(make_server(), rdb_file(b"\x07" + encoded(b"k") + length(module_id)))
    with pytest.raises(RDBError, match="Duplicate set members"):
        load_rdb(make_server(), rdb_file(b"\x02" + encoded(b"s") + length(2) + encoded(b"a", b"a")))
    with pytest.raises(RDBError, match="NAN"):
        load_rdb(make_server(), rdb_file(b"\x05" + encoded(b"z") + length(1) + encoded(b"a") + struct.pack("<d", math.nan)))


def test_module_type_names():
    # "A" is 0 in the name alphabet, "_" is 63: the 9 characters sit above the 10-bit version.
    assert module_type_name(5) == "AAAAAAAAA"
    assert module_type_name((63 << 10) | 7) == "AAAAAAAA_"


# -- DEBUG DIGEST ----------------------------------------------------------------------------------------

def test_dataset_and_value_digests_match_redis():
    """The same data in Redis 7.0 (see the module docstring of digest.py) gives these digests."""
    target = make_server()
    db = target.dbs[0]
    now = target.clock_ms()
    db.data[b"s"] = b"hello"
    db.set_expire(b"s", now + 1_000_000)
    db.data[b"n"] = b"123"
    db.data[b"l"] = build_list(target, [b"a", b"b", b"1", b"2"])
    db.data[b"h"] = build_hash(target, [(b"f", b"v"), (b"f2", b"22")])
    db.data[b"si"] = build_set(target, [b"1", b"2", b"3"])
    db.data[b"ss"] = build_set(target, [b"a", b"b", b"c"])
    db.data[b"z"] = build_zset(target, [(b"a", 1), (b"b", 2.5), (b"c", -3)])
    db.data[b"st"] = build_stream([(make_id(1, 1), [b"f", b"v"]), (make_id(1, 2), [b"g", b"w", b"h", b"x"])])
    target.dbs[3].data[b"x"] = b"y"
    assert hex_digest(dataset_digest(target)) == "140a6fb2e62b7017b31bc36ac562a86771cbe25a"
    expected = {
        b"s": "d037c4eb8a8b36b602fbced4000daeab0714c1e3", b"n": "89f7f51b707418f666d5b45e053bd5bbbf82ac2b",
        b"l": "6b15aa298e0e4d1f6244448df32b23e74a4147ce", b"h": "49924dd1f7c48e8f6284a4d81f5d3fdeb43c8ae7",
        b"si": "2a462a3f51a1db89738ebbeef0c47ce1bbc85246", b"ss": "593c2414786d75446e97f4ea5d4b731f3313da72",
        b"z": "2dd2ef669bd842b340aed0cb20be587954151e2b", b"st": "5d8d10a11056d47440be525833ab604c45cbf876",
    }
    for key, digest in expected.items():
        assert hex_digest(value_digest(db, key, db.data[key])) == digest, key
    assert hex_digest(dataset_digest(make_server())) == "0" * 40


def test_digest_ignores_set_and_hash_order_but_not_list_order(server):
    db = server.dbs[0]
    one = value_digest(db, b"k", build_set(server, [b"a", b"b"]))
    assert one == value_digest(db, b"k", build_set(server, [b"b", b"a"]))
    assert value_digest(db, b"k", build_hash(server, [(b"a", b"1"), (b"b", b"2")])) == value_digest(
        db, b"k", build_hash(server, [(b"b", b"2"), (b"a", b"1")]))
    assert value_digest(db, b"k", build_list(server, [b"a", b"b"])) != value_digest(
        db, b"k", build_list(server, [b"b", b"a"]))


# -- property: random datasets survive a save and a load ---------------------------------------------

members = st.one_of(st.binary(max_size=12), st.integers(-10**6, 10**6).map(lambda n: b"%d" % n),
                    st.binary(min_size=60, max_size=120))
scores = st.one_of(st.integers(-1000, 1000).map(float), st.floats(allow_nan=False, width=64))
values = st.one_of(
    st.binary(max_size=200).map(lambda b: ("string", b)),
    st.lists(members, max_size=40).map(lambda m: ("list", m)),
    st.lists(members, min_size=1, max_size=40).map(lambda m: ("set", m)),
    st.lists(st.tuples(members, members), min_size=1, max_size=40).map(lambda p: ("hash", p)),
    st.lists(st.tuples(members, scores), min_size=1, max_size=40).map(lambda p: ("zset", p)),
)


def build(server: Server, kind: str, spec) -> object:
    if kind == "string":
        return spec
    if kind == "list":
        return build_list(server, spec) if spec else None
    return {"set": build_set, "hash": build_hash, "zset": build_zset}[kind](server, spec)


@given(st.dictionaries(st.binary(min_size=1, max_size=10), values, max_size=12),
       st.sampled_from([0, 1, 2]))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_datasets_round_trip(dataset, fill_choice):
    source = make_server(list_max_listpack_size=[-2, 3, -1][fill_choice], hash_max_listpack_entries=8,
                         zset_max_listpack_entries=8, set_max_listpack_entries=8, set_max_intset_entries=8)
    for key, (kind, spec) in dataset.items():
        value = build(source, kind, spec)
        if value is not None:
            source.dbs[0].data[key] = value
    target = make_server(list_max_listpack_size=[-2, 3, -1][fill_choice], hash_max_listpack_entries=8,
                         zset_max_listpack_entries=8, set_max_listpack_entries=8, set_max_intset_entries=8)
    load_rdb(target, save_bytes(source))
    assert set(target.dbs[0].data) == set(source.dbs[0].data)
    for key, value in source.dbs[0].data.items():
        assert describe(target.dbs[0].data[key], target) == describe(value, source), key


# -- RESTORE's propagated form -----------------------------------------------------------------------

def test_restore_propagates_an_absolute_ttl_and_expired_replacements_as_del():
    from ember.commands import load_all
    from ember.server.client import Client
    from ember.server.dispatch import execute

    load_all()
    target = make_server()
    client = Client(target, None, "127.0.0.1:1", "127.0.0.1:2")
    batches: list = []
    target.propagator.sinks.append(batches.extend)
    payload = dump_payload(b"value")
    before = target.clock_ms()
    assert execute(client, [b"RESTORE", b"k", b"5000", payload]) == "OK"
    (_, argv), = batches
    assert argv[:2] == [b"RESTORE", b"k"] and argv[3:] == [payload, b"ABSTTL"]
    assert before + 5000 <= int(argv[2]) <= target.clock_ms() + 5000
    batches.clear()
    assert execute(client, [b"RESTORE", b"k", b"1", payload, b"ABSTTL", b"REPLACE"]) == "OK"
    assert batches == [(0, [b"DEL", b"k"])] and b"k" not in target.dbs[0].data
