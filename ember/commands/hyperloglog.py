"""HyperLogLog commands (Redis's hyperloglog.c): PFADD PFCOUNT PFMERGE PFSELFTEST PFDEBUG.

A HyperLogLog is a string value in Redis's own representation; `keyspace.hll` reads and edits
those bytes. This module adds the command semantics: the validity check of existing strings
("WRONGTYPE Key is not a valid HyperLogLog string value."), editing in place as a raw string, the
cached cardinality that PFCOUNT writes back (a change of the key, like in Redis), and the dense
shortcut of PFMERGE when any input is dense.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

from ..keyspace import hll
from ..protocol.errors import WRONGTYPE, CommandError
from .bitmaps import unshare_string
from .table import command

if TYPE_CHECKING:
    from ..server.client import Client

GROUP = "hyperloglog"
NOT_AN_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value."
INVALID_HLL = "INVALIDOBJ Corrupted HLL object detected"
STRING_TYPES = (bytes, bytearray)


def check_hll(value: object) -> bytes | bytearray:
    """An existing value as a HyperLogLog string (isHLLObjectOrReply), or the WRONGTYPE error."""
    if value.__class__ not in STRING_TYPES:
        raise CommandError(WRONGTYPE)
    if not hll.is_hll(value):
        raise CommandError(NOT_AN_HLL)
    return value


def read_hlls(client: Client, keys: list[bytes]) -> list[bytes | bytearray]:
    """The HyperLogLogs at keys, checked in order; missing keys count as empty and are skipped."""
    read = client.db.read
    values = []
    for key in keys:
        value = read(key)
        if value is not None:
            values.append(check_hll(value))
    return values


def merged_registers(values: list[bytes | bytearray]) -> int:
    try:
        return hll.merged_registers(values)
    except hll.InvalidHLL:
        raise CommandError(INVALID_HLL) from None


def sparse_max_bytes(client: Client) -> int:
    return client.server.config["hll-sparse-max-bytes"]


def notify_pfadd(client: Client, key: bytes) -> None:
    client.server.notifier.notify(client.db, "$", "pfadd", key)


@command("pfadd", -2, flags="write denyoom fast", keys=(1, 1, 1), acl="hyperloglog", group=GROUP,
         since="2.8.9", complexity="O(1) to add every element.",
         summary="Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.")
def pfadd(client: Client, args: list[bytes]):
    db, key = client.db, args[1]
    value = db.write_lookup(key)
    created = value is None
    if created:
        registers = hll.new_sparse()
        db.set(key, registers)
    else:
        registers = unshare_string(db, key, check_hll(value))
    max_bytes = sparse_max_bytes(client)
    updated = int(created)
    for element in args[2:]:
        result = hll.add(registers, element, max_bytes)
        if result < 0:
            raise CommandError(INVALID_HLL)
        updated += result
    if updated:
        hll.invalidate_cache(registers)
        db.modified(key, updated - created)  # a created key was counted when it was stored
        notify_pfadd(client, key)
    return int(bool(updated))


# may_replicate: a count may store the cardinality cache in the value, which replicas must see,
# so CLIENT PAUSE WRITE holds PFCOUNT as Redis does.
@command("pfcount", -2, flags="readonly may_replicate", keys=(1, -1, 1), acl="hyperloglog", group=GROUP,
         since="2.8.9",
         complexity="O(1) with a very small average constant time when called with a single key. O(N) "
                    "with N being the number of keys, and much bigger constant times, when called with "
                    "multiple keys.",
         summary="Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s).")
def pfcount(client: Client, args: list[bytes]):
    if len(args) > 2:  # the cardinality of the union, computed afresh
        return hll.estimate(hll.histogram(merged_registers(read_hlls(client, args[1:]))))
    db, key = client.db, args[1]
    value = db.read(key)
    if value is None:
        return 0
    registers = unshare_string(db, key, check_hll(value))
    card = hll.cached_cardinality(registers)
    if card is None:
        try:
            card = hll.count(registers)
        except hll.InvalidHLL:
            raise CommandError(INVALID_HLL) from None
        hll.store_cardinality(registers, card)
        db.modified(key)  # the cache lives in the value: replicas and WATCH see a change
    return card


@command("pfmerge", -2, flags="write denyoom", keys=(1, -1, 1), acl="hyperloglog", group=GROUP,
         since="2.8.9", complexity="O(N) to merge N HyperLogLogs, but with high constant times.",
         summary="Merges one or more HyperLogLog values into a single key.")
def pfmerge(client: Client, args: list[bytes]):
    db, destination = client.db, args[1]
    sources = read_hlls(client, args[1:])  # the destination is one of the inputs
    merged = hll.int_to_raw(merged_registers(sources))
    value = db.write_lookup(destination)
    if value is None:
        registers = hll.new_sparse()
        db.set(destination, registers)
    else:
        registers = unshare_string(db, destination, value)
        db.modified(destination)
    if any(source[hll.ENCODING_BYTE] == hll.DENSE for source in sources) and not hll.to_dense(registers):
        raise CommandError(INVALID_HLL)
    hll.raise_registers(registers, merged, sparse_max_bytes(client))
    hll.invalidate_cache(registers)
    notify_pfadd(client, destination)
    return "OK"


# -- testing and debugging --------------------------------------------------------------------

SELFTEST_REGISTER_CYCLES = 8
SELFTEST_MAX_CARDINALITY = 10_000


@command("pfselftest", 1, flags="admin", acl="hyperloglog", group=GROUP, since="2.8.9",
         complexity="N/A", summary="An internal command for testing HyperLogLog values.")
def pfselftest(client: Client, args: list[bytes]):
    """Redis's self-test on a smaller scale (it adds ten million elements, far too slow here):
    random registers survive packing, and dense and sparse estimates agree and stay within
    six standard errors at each power of ten."""
    rng = random.Random()
    for _ in range(SELFTEST_REGISTER_CYCLES):
        raw = bytes(rng.getrandbits(6) for _ in range(hll.REGISTERS))
        unpacked = hll.dense_to_raw(bytes(hll.HEADER_SIZE) + hll.raw_to_dense_body(raw))
        if unpacked != raw:
            index = next(i for i in range(hll.REGISTERS) if unpacked[i] != raw[i])
            raise CommandError(f"TESTFAILED Register {index} should be {raw[index]} but is {unpacked[index]}")
    dense = bytearray(hll.MAGIC) + bytes(hll.DENSE_SIZE - 4)
    sparse = hll.new_sparse()
    max_bytes = sparse_max_bytes(client)
    seed = rng.getrandbits(64)
    checkpoint = 1
    standard_error = 1.04 / hll.REGISTERS ** 0.5
    for j in range(1, SELFTEST_MAX_CARDINALITY + 1):
        element = (j ^ seed).to_bytes(8, "little")
        hll.add(dense, element, max_bytes)
        hll.add(sparse, element, max_bytes)
        if j != checkpoint:
            continue
        if j < max_bytes // 2 and sparse[hll.ENCODING_BYTE] != hll.SPARSE:
            raise CommandError("TESTFAILED sparse encoding not used")
        estimate = hll.count(dense)
        if estimate != hll.count(sparse):
            raise CommandError("TESTFAILED dense/sparse disagree")
        allowed = 1 if j == 10 else math.ceil(standard_error * 6 * checkpoint)
        error = abs(checkpoint - estimate)
        if error > allowed:
            raise CommandError(f"TESTFAILED Too big error. card:{checkpoint} abserr:{error}")
        checkpoint *= 10
    return "OK"


def _pfdebug_getreg(client: Client, key: bytes, registers: bytearray):
    if registers[hll.ENCODING_BYTE] == hll.SPARSE:
        _convert_to_dense(client, registers)
    return list(hll.dense_to_raw(registers))


def _pfdebug_decode(client: Client, key: bytes, registers: bytearray):
    if registers[hll.ENCODING_BYTE] != hll.SPARSE:
        raise CommandError("ERR HLL encoding is not sparse")
    return hll.decode_sparse(registers).encode()


def _pfdebug_encoding(client: Client, key: bytes, registers: bytearray):
    return "sparse" if registers[hll.ENCODING_BYTE] == hll.SPARSE else "dense"


def _pfdebug_todense(client: Client, key: bytes, registers: bytearray):
    if registers[hll.ENCODING_BYTE] != hll.SPARSE:
        return 0
    _convert_to_dense(client, registers)
    return 1


def _convert_to_dense(client: Client, registers: bytearray) -> None:
    """Redis counts this encoding change as dirty (so it propagates) but signals no change."""
    if not hll.to_dense(registers):
        raise CommandError(INVALID_HLL)
    client.server.dirty += 1


_PFDEBUG = {b"getreg": _pfdebug_getreg, b"decode": _pfdebug_decode,
            b"encoding": _pfdebug_encoding, b"todense": _pfdebug_todense}


@command("pfdebug", 3, flags="write denyoom admin", keys=(2, 2, 1), acl="hyperloglog", group=GROUP,
         since="2.8.9", complexity="N/A", summary="Internal commands for debugging HyperLogLog values.")
def pfdebug(client: Client, args: list[bytes]):
    db, key = client.db, args[2]
    value = db.write_lookup(key)
    if value is None:
        raise CommandError("ERR The specified key does not exist")
    registers = unshare_string(db, key, check_hll(value))
    subcommand = _PFDEBUG.get(args[1].lower())
    if subcommand is None:
        name = args[1].decode("utf-8", "replace")
        raise CommandError(f"ERR Unknown PFDEBUG subcommand '{name}'")
    return subcommand(client, key, registers)
