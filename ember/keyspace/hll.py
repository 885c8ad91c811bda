"""HyperLogLog values in Redis's exact string representation (PFADD, PFCOUNT, PFMERGE, PFDEBUG).

A HyperLogLog is an ordinary string value, so GET, DUMP and replication carry it byte for byte;
this module reads and edits those bytes exactly as Redis's hyperloglog.c does, so a PFADD
sequence leaves the same string in Ember as in Redis and PFCOUNT answers the same number.

Layout: a 16-byte header ("HYLL", the encoding byte, three unused bytes, then the cached
cardinality as a little-endian uint64 whose top bit marks it stale) followed by the registers,
16384 of them, each holding the longest run of zero hash bits (plus one) seen for its bucket:
- dense: 6 bits per register, packed from the least significant bit of each byte (12288 bytes);
- sparse: a run-length code of ZERO (00xxxxxx, 1-64 zero registers), XZERO (01xxxxxx yyyyyyyy,
  1-16384 zero registers) and VAL (1vvvvvxx, 1-4 registers of value 1-32) opcodes. A sparse value
  becomes dense when a register needs more than 32 or the string would pass
  `hll-sparse-max-bytes`.

Elements are hashed with MurmurHash64A (seed 0xadc83b19): the low 14 bits pick the register, the
position of the lowest set bit of the rest is the run. The estimate is Ertl's improved estimator
over the register histogram, evaluated in the same floating-point order as Redis.

Speed: a sparse update walks the opcodes like Redis, but sums runs of single-byte opcodes in C
(`bytes.translate` + `sum`) instead of one Python step per opcode. Whole-register work (PFCOUNT,
PFMERGE, dense conversion) goes through a "raw" form, one byte per register, that is unpacked from
and packed into the 6-bit layout with big-integer bit slicing, and merged with a SWAR maximum.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterable
from typing import NamedTuple

P = 14
Q = 64 - P
REGISTERS = 1 << P  # 16384
REGISTER_MASK = REGISTERS - 1
HEADER_SIZE = 16
DENSE_BYTES = REGISTERS * 6 // 8  # 12288
DENSE_SIZE = HEADER_SIZE + DENSE_BYTES
DENSE, SPARSE = 0, 1
MAGIC = b"HYLL"
ENCODING_BYTE = 4
CACHE_STALE_BYTE = 15  # most significant byte of the cached cardinality
SPARSE_VAL_MAX_VALUE = 32
SPARSE_VAL_MAX_LEN = 4
SPARSE_ZERO_MAX_LEN = 64
ALPHA_INF = 0.721347520444481703680  # 0.5 / ln(2)
SEED = 0xADC83B19
_MURMUR_M = 0xC6A4A7935BD1E995
_U64 = (1 << 64) - 1


class InvalidHLL(Exception):
    """The sparse opcodes don't describe exactly 16384 registers (Redis's INVALIDOBJ)."""


# -- hashing ----------------------------------------------------------------------------------

_UINT64S = struct.Struct("<Q")


def murmurhash64a(data: bytes, seed: int = SEED) -> int:
    """MurmurHash2, 64-bit version, reading words little-endian as Redis does on every platform."""
    length = len(data)
    h = (seed ^ (length * _MURMUR_M)) & _U64
    whole = length & ~7
    for (k,) in _UINT64S.iter_unpack(data[:whole]):
        k = (k * _MURMUR_M) & _U64
        k ^= k >> 47
        h ^= (k * _MURMUR_M) & _U64
        h = (h * _MURMUR_M) & _U64
    if length & 7:
        h ^= int.from_bytes(data[whole:], "little")
        h = (h * _MURMUR_M) & _U64
    h ^= h >> 47
    h = (h * _MURMUR_M) & _U64
    return h ^ (h >> 47)


def register_and_run(element: bytes) -> tuple[int, int]:
    """(register index, run length) for element: Redis's hllPatLen."""
    hashed = murmurhash64a(element)
    rest = (hashed >> P) | (1 << Q)  # the sentinel bit bounds the run at Q + 1
    return hashed & REGISTER_MASK, (rest & -rest).bit_length()


# -- the header -------------------------------------------------------------------------------

def new_sparse() -> bytearray:
    """An empty HyperLogLog: sparse, a single XZERO opcode covering every register."""
    return bytearray(MAGIC + bytes([SPARSE]) + bytes(11) + _xzero(REGISTERS))


def is_hll(value: bytes | bytearray) -> bool:
    """Redis's isHLLObjectOrReply checks: header, known encoding, exact size when dense."""
    if len(value) < HEADER_SIZE or value[:4] != MAGIC:
        return False
    encoding = value[ENCODING_BYTE]
    return encoding == SPARSE or (encoding == DENSE and len(value) == DENSE_SIZE)


def cached_cardinality(hll: bytearray) -> int | None:
    """The cached cardinality, or None when it is stale."""
    if hll[CACHE_STALE_BYTE] & 0x80:
        return None
    return int.from_bytes(hll[8:16], "little")


def store_cardinality(hll: bytearray, card: int) -> None:
    hll[8:16] = card.to_bytes(8, "little")


def invalidate_cache(hll: bytearray) -> None:
    hll[CACHE_STALE_BYTE] |= 0x80


# -- dense registers --------------------------------------------------------------------------

def _dense_set(hll: bytearray, index: int, count: int) -> bool:
    """Raise register `index` to `count` if it is lower (hllDenseSet); True when it changed."""
    bit = index * 6
    byte = HEADER_SIZE + (bit >> 3)
    shift = bit & 7
    window = hll[byte:byte + 2]  # a register spans at most two bytes
    word = int.from_bytes(window, "little")
    if (word >> shift) & 63 >= count:
        return False
    word = (word & ~(63 << shift)) | (count << shift)
    hll[byte:byte + len(window)] = word.to_bytes(len(window), "little")
    return True


def _lanes(byte: int, count: int) -> int:
    """A big integer whose `count` little-endian bytes all equal `byte` (a SWAR mask)."""
    return int.from_bytes(bytes([byte]) * count, "little")


_THIRD = DENSE_BYTES // 3  # 4096 groups of 3 bytes = 4 registers
_L3F, _L03, _L3C, _L0F, _L30, _LC0, _LF0, _LFC = (
    _lanes(b, _THIRD) for b in (0x3F, 0x03, 0x3C, 0x0F, 0x30, 0xC0, 0xF0, 0xFC))


def dense_to_raw(hll: bytes | bytearray) -> bytes:
    """The 16384 registers of a dense value, one byte each.

    Every 3 bytes hold 4 registers; slicing the bytes by position in their group gives three
    integers whose byte lanes are shifted and masked all at once."""
    body = bytes(hll[HEADER_SIZE:DENSE_SIZE])
    b0, b1, b2 = (int.from_bytes(body[i::3], "little") for i in range(3))
    quarters = (
        b0 & _L3F,
        ((b0 >> 6) & _L03) | ((b1 << 2) & _L3C),
        ((b1 >> 4) & _L0F) | ((b2 << 4) & _L30),
        (b2 >> 2) & _L3F,
    )
    raw = bytearray(REGISTERS)
    for i, quarter in enumerate(quarters):
        raw[i::4] = quarter.to_bytes(_THIRD, "little")
    return bytes(raw)


def raw_to_dense_body(raw: bytes) -> bytearray:
    """The 6-bit packed registers for one-byte-per-register `raw` (values 0-63)."""
    r0, r1, r2, r3 = (int.from_bytes(raw[i::4], "little") for i in range(4))
    groups = (
        r0 | ((r1 << 6) & _LC0),
        ((r1 >> 2) & _L0F) | ((r2 << 4) & _LF0),
        ((r2 >> 4) & _L03) | ((r3 << 2) & _LFC),
    )
    body = bytearray(DENSE_BYTES)
    for i, group in enumerate(groups):
        body[i::3] = group.to_bytes(_THIRD, "little")
    return body


# -- sparse opcodes ---------------------------------------------------------------------------

def _val(value: int, run: int) -> int:
    return 0x80 | ((value - 1) << 2) | (run - 1)


def _xzero(run: int) -> bytes:
    return bytes((0x40 | ((run - 1) >> 8), (run - 1) & 0xFF))


def _zeros(run: int) -> bytes:
    """The shortest opcode for `run` zero registers."""
    return _xzero(run) if run > SPARSE_ZERO_MAX_LEN else bytes((run - 1,))


# Registers covered by each single-byte opcode (ZERO and VAL); XZERO first bytes are never
# looked up here, they are found and measured separately.
_SPAN = bytes((b & 0x3F) + 1 if b < 0x40 else (b & 3) + 1 if b & 0x80 else 0 for b in range(256))
_XZERO_BYTE = re.compile(rb"[\x40-\x7f]")
_OPCODE = re.compile(rb"[\x40-\x7f][\x00-\xff]|[\x00-\xff]")
_NONZERO = re.compile(rb"[^\x00]")


Opcode = tuple[int, int]  # (offset in the string, first register covered)


class Walk(NamedTuple):
    """Where a walk over the sparse opcodes starts: an opcode's offset, its first register, and
    up to two opcodes before it, nearest last (None when unknown: a walk resumed mid-way)."""

    pos: int = HEADER_SIZE
    first: int = 0
    trail: tuple[Opcode, ...] | None = ()


FROM_START = Walk()


def _locate(hll: bytearray, index: int, start: Walk = FROM_START) -> tuple[int, int, tuple[Opcode, ...]] | None:
    """The opcode covering register `index`: (its offset, its first register, the two opcodes
    before it), walking as Redis's hllSparseSet does from `start`; None when the opcodes end
    first (a corrupt value). Runs of single-byte opcodes are measured in C; only XZERO opcodes
    cost a Python step."""
    end = len(hll)
    pos, first, trail = start.pos, start.first, start.trail or ()
    while pos < end:
        found = _XZERO_BYTE.search(hll, pos)
        xzero = found.start() if found else end
        if xzero > pos:
            spans = hll[pos:xzero].translate(_SPAN)
            total = sum(spans)
            if index < first + total:
                k, covered = _first_exceeding(spans, index - first)
                trail = (trail + _run_tail(spans[:k], pos, first + covered))[-2:]
                return _found(hll, index, start, pos + k, first + covered, trail)
            trail = (trail + _run_tail(spans, pos, first + total))[-2:]
            first += total
        if xzero + 1 >= end:  # no XZERO left (or one cut short)
            return None
        run = (((hll[xzero] & 0x3F) << 8) | hll[xzero + 1]) + 1
        if index < first + run:
            return _found(hll, index, start, xzero, first, trail)
        trail = (trail + ((xzero, first),))[-2:]
        first += run
        pos = xzero + 2
    return None


def _run_tail(spans: bytes, pos: int, end_first: int) -> tuple[Opcode, ...]:
    """The last two opcodes of a run of single-byte opcodes at `pos` ending before register
    `end_first`."""
    if not spans:
        return ()
    last = (pos + len(spans) - 1, end_first - spans[-1])
    if len(spans) == 1:
        return (last,)
    return ((last[0] - 1, last[1] - spans[-2]), last)


def _found(hll: bytearray, index: int, start: Walk, p: int, first: int,
           trail: tuple[Opcode, ...]) -> tuple[int, int, tuple[Opcode, ...]] | None:
    if p == start.pos and start.trail is None:  # the opcode before is unknown: walk it all
        return _locate(hll, index)
    return p, first, trail


def _first_exceeding(spans: bytes, limit: int) -> tuple[int, int]:
    """The first k with spans[0] + ... + spans[k] > limit (there is one), and the sum of the
    spans before it. Halves with C-level sums, then finishes one short stretch step by step."""
    low, high, before = 0, len(spans), 0
    while high - low > 32:
        middle = (low + high) // 2
        upto = before + sum(spans[low:middle])
        if upto > limit:
            high = middle
        else:
            low, before = middle, upto
    for k in range(low, high):
        if before + spans[k] > limit:
            return k, before
        before += spans[k]
    raise AssertionError("no opcode covers the register")


def sparse_set(hll: bytearray, index: int, count: int, max_bytes: int) -> int:
    """Raise register `index` of a sparse value to `count` if it is lower (hllSparseSet).

    Returns 1 if the value changed, 0 if not, -1 if the opcodes are corrupt. The opcode holding
    the register is split (XZERO -> XZERO VAL XZERO at worst); when a register needs more than
    32 or the split would grow the string past `max_bytes`, the value becomes dense in place.
    """
    return _sparse_set(hll, index, count, max_bytes, FROM_START)[0]


def _sparse_set(hll: bytearray, index: int, count: int, max_bytes: int, start: Walk) -> tuple[int, Walk]:
    """sparse_set walking from `start`; also returns where a walk for a higher register may
    start next time: two opcodes before this one, which no edit here moves or changes."""
    if count > SPARSE_VAL_MAX_VALUE:
        return _promote_and_set(hll, index, count), FROM_START
    located = _locate(hll, index, start)
    if located is None:
        return -1, FROM_START
    p, first, trail = located
    resume = Walk(*trail[0], None) if len(trail) == 2 else FROM_START
    op = hll[p]
    if op & 0x80:  # VAL
        run, current, old_length = (op & 3) + 1, ((op >> 2) & 0x1F) + 1, 1
        if current >= count:
            return 0, resume
    elif op < 0x40:  # ZERO
        run, current, old_length = op + 1, 0, 1
    else:  # XZERO
        run, current, old_length = (((op & 0x3F) << 8) | hll[p + 1]) + 1, 0, 2
    if run == 1:  # a lone register: rewrite its opcode in place
        hll[p] = _val(count, 1)
    else:
        sequence = _split(index - first, run, current, count)
        if len(sequence) > old_length and len(hll) + len(sequence) - old_length > max_bytes:
            return _promote_and_set(hll, index, count), FROM_START
        hll[p:p + old_length] = sequence
    _merge_neighbours(hll, trail[-1][0] if trail else HEADER_SIZE)
    invalidate_cache(hll)
    return 1, resume


def raise_registers(hll: bytearray, raw: bytes, max_bytes: int) -> None:
    """PFMERGE's write-back: raise every register to `raw`, which is never lower. A sparse value
    gets one hllSparseSet per non-zero register in ascending order, as in Redis, so its opcodes
    come out the same (each walk resumes just before the previous update); once dense, from the
    start or promoted midway, the result is `raw` itself."""
    if hll[ENCODING_BYTE] == SPARSE:
        # Registers already at their value would be left alone (hllSparseSet returns 0 before
        # touching anything), so only the ones that grow are visited.
        grown = (raw_to_int(raw) ^ raw_to_int(sparse_to_raw(hll))).to_bytes(REGISTERS, "little")
        start = FROM_START
        for found in _NONZERO.finditer(grown):
            index = found.start()
            start = _sparse_set(hll, index, raw[index], max_bytes, start)[1]
            if hll[ENCODING_BYTE] == DENSE:
                break
        else:
            return
    set_dense_registers(hll, raw)


def _split(offset: int, run: int, current: int, count: int) -> bytes:
    """The opcodes replacing a run of `run` registers of value `current` when the one at
    `offset` becomes `count`: the part before, the single VAL, the part after."""
    before, after = offset, run - offset - 1
    if current:
        head = bytes((_val(current, before),)) if before else b""
        tail = bytes((_val(current, after),)) if after else b""
    else:
        head = _zeros(before) if before else b""
        tail = _zeros(after) if after else b""
    return head + bytes((_val(count, 1),)) + tail


def _merge_neighbours(hll: bytearray, p: int) -> None:
    """Join adjacent VAL opcodes of equal value (up to 4 registers) within 5 opcodes from p,
    the window Redis scans after an update."""
    end = len(hll)
    for _ in range(5):
        if p >= end:
            return
        op = hll[p]
        if not op & 0x80:
            p += 2 if op & 0x40 else 1
            continue
        if p + 1 < end and hll[p + 1] & 0x80:
            follower = hll[p + 1]
            run = (op & 3) + (follower & 3) + 2
            if (op ^ follower) & 0x7C == 0 and run <= SPARSE_VAL_MAX_LEN:
                hll[p + 1] = _val(((op >> 2) & 0x1F) + 1, run)
                del hll[p]
                end -= 1
                continue
        p += 1


def _promote_and_set(hll: bytearray, index: int, count: int) -> int:
    """Convert to dense in place, then set the register (which, as Redis asserts, changes)."""
    if not to_dense(hll):
        return -1
    _dense_set(hll, index, count)
    return 1


# -- whole-register views ---------------------------------------------------------------------

class _Runs(dict):
    """Opcode -> the raw registers it stands for, filled on first use (at most 256 single-byte
    opcodes and 16384 XZERO ones; XZERO runs are views of one zero buffer)."""

    _ZEROS = memoryview(bytes(REGISTERS))

    def __missing__(self, opcode: bytes) -> bytes | memoryview:
        op = opcode[0]
        if len(opcode) == 2:
            run = self._ZEROS[:(((op & 0x3F) << 8) | opcode[1]) + 1]
        elif op & 0x80:
            run = bytes((((op >> 2) & 0x1F) + 1,)) * ((op & 3) + 1)
        elif op & 0x40:  # an XZERO cut short by the end of the string
            run = self._ZEROS[:((op & 0x3F) << 8) + 1]
        else:
            run = bytes(op + 1)
        self[opcode] = run
        return run


_RUNS = _Runs()


def sparse_to_raw(hll: bytes | bytearray) -> bytes:
    """The registers of a sparse value, one byte each; InvalidHLL unless the opcodes cover
    exactly 16384 registers."""
    raw = b"".join(map(_RUNS.__getitem__, _OPCODE.findall(hll, HEADER_SIZE)))
    if len(raw) != REGISTERS:
        raise InvalidHLL
    return raw


def raw_registers(hll: bytes | bytearray) -> bytes:
    """The registers of a valid HyperLogLog value, one byte each, whatever its encoding."""
    return dense_to_raw(hll) if hll[ENCODING_BYTE] == DENSE else sparse_to_raw(hll)


def to_dense(hll: bytearray) -> bool:
    """Convert a sparse value to dense in place, keeping the header but for the encoding byte
    (hllSparseToDense); False, leaving it unchanged, when the opcodes are corrupt."""
    if hll[ENCODING_BYTE] == DENSE:
        return True
    try:
        raw = sparse_to_raw(hll)
    except InvalidHLL:
        return False
    header = hll[:HEADER_SIZE]
    header[ENCODING_BYTE] = DENSE
    hll[:] = header + raw_to_dense_body(raw)
    return True


def set_dense_registers(hll: bytearray, raw: bytes) -> None:
    """Overwrite every register of a dense value."""
    hll[HEADER_SIZE:] = raw_to_dense_body(raw)


_HIGH_BITS = _lanes(0x80, REGISTERS)


def max_registers(a: int, b: int) -> int:
    """Lane-wise maximum of two raw register sets held as little-endian integers.

    With values below 128, (a | 0x80) - b never borrows across a byte, and its high bit says
    a >= b; that bit, spread to a full byte mask, selects a's or b's byte in every lane."""
    a_wins = (((a | _HIGH_BITS) - b) & _HIGH_BITS) >> 7
    mask = (a_wins << 8) - a_wins
    return (a & mask) | (b & ~mask)


def merged_registers(values: Iterable[bytes | bytearray]) -> int:
    """The register-wise maximum of several valid HyperLogLog values (hllMerge), as lanes of
    a little-endian integer (see `raw_to_int`)."""
    merged = 0
    for value in values:
        merged = max_registers(merged, raw_to_int(raw_registers(value)))
    return merged


def raw_to_int(raw: bytes) -> int:
    return int.from_bytes(raw, "little")


def int_to_raw(lanes: int) -> bytes:
    return lanes.to_bytes(REGISTERS, "little")


# -- cardinality --------------------------------------------------------------------------------

_ONES = _lanes(1, REGISTERS)
_THRESHOLDS = [_ONES * value for value in range(64)]


def histogram(lanes: int) -> list[int]:
    """How many registers hold each value 0..63, from register lanes.

    (lanes | 0x80..) - v*0x01.. keeps a lane's high bit exactly when that register is >= v,
    so one subtraction and a popcount per value give "registers >= v"; neighbouring
    differences are the counts. Values are few and low, so the loop stops early."""
    counts = [0] * 64
    flagged = lanes | _HIGH_BITS
    at_least_previous = REGISTERS
    for value in range(1, 64):
        at_least = ((flagged - _THRESHOLDS[value]) & _HIGH_BITS).bit_count()
        counts[value - 1] = at_least_previous - at_least
        if not at_least:
            return counts
        at_least_previous = at_least
    counts[63] = at_least_previous
    return counts


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        previous = z
        z += x * y
        y += y
        if previous == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y, z = 1.0, 1 - x
    while True:
        x = math.sqrt(x)
        previous = z
        y *= 0.5
        z -= (1 - x) ** 2 * y
        if previous == z:
            return z / 3


def estimate(counts: list[int]) -> int:
    """Ertl's improved estimator ("New cardinality estimation algorithms for HyperLogLog
    sketches", arXiv:1702.01284), in the operation order of Redis's hllCount so the doubles,
    and so the rounded result, are identical."""
    m = float(REGISTERS)
    z = m * _tau((m - counts[Q + 1]) / m)
    for j in range(Q, 0, -1):
        z += counts[j]
        z *= 0.5
    z += m * _sigma(counts[0] / m)
    return _round_half_away(ALPHA_INF * m * m / z)


def _round_half_away(x: float) -> int:
    """C's llround for a non-negative double."""
    whole = math.floor(x)
    return int(whole) + (x - whole >= 0.5)


def count(hll: bytes | bytearray) -> int:
    """The estimated cardinality of one valid value (InvalidHLL for corrupt sparse opcodes)."""
    return estimate(histogram(raw_to_int(raw_registers(hll))))


def add(hll: bytearray, element: bytes, max_bytes: int) -> int:
    """PFADD of one element: 1 if a register grew, 0 if not, -1 for corrupt sparse opcodes."""
    index, run = register_and_run(element)
    if hll[ENCODING_BYTE] == DENSE:
        return int(_dense_set(hll, index, run))
    return sparse_set(hll, index, run, max_bytes)


# -- PFDEBUG ------------------------------------------------------------------------------------

def decode_sparse(hll: bytes | bytearray) -> str:
    """PFDEBUG DECODE's text: "Z:run" for XZERO, "z:run" for ZERO, "v:value,run" for VAL."""
    parts = []
    for opcode in _OPCODE.findall(hll, HEADER_SIZE):
        op = opcode[0]
        if op & 0x80:
            parts.append(f"v:{((op >> 2) & 0x1F) + 1},{(op & 3) + 1}")
        elif op & 0x40:
            low = opcode[1] if len(opcode) == 2 else 0
            parts.append(f"Z:{(((op & 0x3F) << 8) | low) + 1}")
        else:
            parts.append(f"z:{op + 1}")
    return " ".join(parts)
