"""Fuzzing the RDB reader: random bytes, and valid files and DUMP payloads with bytes flipped,
inserted, deleted or cut, must end in a clean load or an RDBError with an offset, never another
exception, and quickly (a corrupt length must not drive a long loop or a huge allocation).

The seed corpus is a file holding every type and encoding Ember writes plus old encodings; the
checksum is either kept wrong (the reader must still parse up to the end) or recomputed (so
the mutation reaches the value decoders and is not just caught by the CRC).
"""

from __future__ import annotations

import contextlib
import io
import math
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ember.config import Config
from ember.keyspace.hashes import Hash, hash_limits
from ember.keyspace.lists import ListValue
from ember.keyspace.sets import RedisSet, set_limits
from ember.keyspace.streams import ConsumerGroup, Stream, make_id
from ember.keyspace.zsets import ZSet, listpack_limits
from ember.persistence.crc64 import crc64
from ember.persistence.rdb import RDBError, dump_payload, load_rdb, restore_payload, write_rdb
from ember.server.app import Server

TIME_LIMIT = 2.0  # seconds any single load may take, whatever the input


def _server() -> Server:
    return Server(Config())


def _seed_values(server: Server) -> list[object]:
    hash_value = Hash()
    for index in range(5):
        hash_value.set(b"f%d" % index, b"v" * index, hash_limits(server))
    zset = ZSet()
    for index, score in enumerate((1.5, -2.0, math.inf, 0.25)):
        zset.insert(b"m%d" % index, score, listpack_limits(server))
    stream = Stream()
    for index in range(1, 8):
        stream.append(make_id(3, index), [b"a", b"%d" % index], 4096, 3)
    stream.delete_many([make_id(3, 2)])
    group = ConsumerGroup(b"g", make_id(3, 4), 4)
    stream.groups[b"g"] = group
    consumer = group.add_consumer(b"c", 10)
    group.record_delivery(make_id(3, 1), consumer, 20)
    return [
        b"string value " * 4,
        b"12345",
        ListValue.from_elements([b"x%d" % i for i in range(20)], 4),
        RedisSet.build([b"1", b"2", b"3"], set_limits(server)),
        RedisSet.build([b"a", b"b"], set_limits(server)),
        hash_value,
        zset,
        stream,
    ]


def _seed_file() -> bytes:
    server = _server()
    for index, value in enumerate(_seed_values(server)):
        server.dbs[index % 2].data[b"key%d" % index] = value
    server.dbs[0].data[b"ttl"] = b"v"
    server.dbs[0].set_expire(b"ttl", server.clock_ms() + 10**6)
    out = io.BytesIO()
    write_rdb(server, out)
    return out.getvalue()


SEED = _seed_file()
PAYLOADS = [dump_payload(value) for value in _seed_values(_server())]


def _load_quietly(data: bytes, server: Server) -> None:
    started = time.monotonic()
    try:
        load_rdb(server, data)
    except RDBError as err:
        assert err.offset is None or 0 <= err.offset <= len(data) + 16, err
    assert time.monotonic() - started < TIME_LIMIT


def _with_checksum(data: bytes) -> bytes:
    if len(data) < 8:
        return data
    body = data[:-8]
    return body + crc64(body).to_bytes(8, "little")


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 16)),
    st.tuples(st.just("cut"), st.integers(0, 10**6), st.just(0)),
)


def mutate(data: bytes, steps) -> bytes:
    buffer = bytearray(data)
    for kind, position, argument in steps:
        if not buffer:
            break
        position %= len(buffer)
        if kind == "flip":
            buffer[position] ^= argument
        elif kind == "insert":
            buffer[position:position] = argument
        elif kind == "delete":
            del buffer[position:position + argument]
        else:
            del buffer[position:]
    return bytes(buffer)


@given(st.binary(max_size=400))
@settings(max_examples=150, deadline=None)
def test_random_bytes_never_crash_the_loader(data):
    _load_quietly(b"REDIS0010" + data, _server())
    _load_quietly(data, _server())


@given(st.lists(mutation, min_size=1, max_size=4), st.booleans())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_files_never_crash_the_loader(steps, fix_checksum):
    data = mutate(SEED, steps)
    _load_quietly(_with_checksum(data) if fix_checksum else data, _server())


@given(st.sampled_from(range(len(PAYLOADS))), st.lists(mutation, min_size=1, max_size=3))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_payloads_restore_or_fail_cleanly(index, steps):
    # RESTORE checks the CRC first; decode the mutated body as if the checksum had been skipped.
    payload = mutate(PAYLOADS[index], steps)
    if len(payload) < 10:
        return
    started = time.monotonic()
    with contextlib.suppress(RDBError):
        restore_payload(payload, _server())
    assert time.monotonic() - started < TIME_LIMIT


def test_the_seed_itself_loads():
    server = _server()
    stats = load_rdb(server, SEED)
    assert stats.keys_loaded == 9 and stats.checksum_checked


def test_huge_declared_lengths_fail_fast():
    # A string, a set and a stream each claiming 2^32-1 items or bytes, with nothing behind them.
    for body in (b"\x00\x01k\x80\xff\xff\xff\xff", b"\x02\x01k\x80\xff\xff\xff\xff",
                 b"\x13\x01k\x80\xff\xff\xff\xff", b"\x00\x01k\xc3\x80\xff\xff\xff\xff\x80\xff\xff\xff\xff"):
        _load_quietly(b"REDIS0010" + body, _server())
