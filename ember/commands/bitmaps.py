"""Bitmap commands on string values (Redis's bitops.c): SETBIT GETBIT BITCOUNT BITPOS BITOP
BITFIELD BITFIELD_RO.

Bit 0 is the most significant bit of the first byte. Writers grow the string with zero bytes up
to the highest bit they touch and edit it in place as a `bytearray` (Redis's "raw" encoding);
`unshare_string` is Redis's dbUnshareStringValue and is shared with the HyperLogLog family. As in
Redis 7.2, a write that changes no bit (and grows nothing) counts no change, fires no event and
leaves WATCH alone. Whole-range work (BITCOUNT, BITPOS, BITOP) runs in C through big integers
(`int.from_bytes`, `bit_count`) and regex scans rather than Python loops over bytes.

BITFIELD reproduces Redis's 64-bit arithmetic, including how its overflow checks wrap
(`check_unsigned_overflow`, `check_signed_overflow`), so WRAP/SAT/FAIL give the same numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import reduce
from operator import and_, or_, xor
from typing import TYPE_CHECKING, NamedTuple

from ..protocol.errors import SYNTAX, CommandError
from .strings import store_string
from .table import command, parse_int

if TYPE_CHECKING:
    from ..keyspace.database import Database
    from ..server.client import Client

GROUP = "bitmap"
BIT_OFFSET_ERROR = "ERR bit offset is not an integer or out of range"
BIT_VALUE_ERROR = "ERR bit is not an integer or out of range"
BITFIELD_TYPE_ERROR = ("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not "
                       "supported but i64 is.")
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
UINT64_MASK = (1 << 64) - 1


def wrap_int64(value: int) -> int:
    """value as C's int64_t would hold it after wrapping arithmetic."""
    return ((value - INT64_MIN) & UINT64_MASK) + INT64_MIN


def unshare_string(db: Database, key: bytes, value: bytes | bytearray) -> bytearray:
    """The string at key as an editable bytearray (Redis's dbUnshareStringValue): an immutable
    value is replaced by a private raw copy. Like Redis, this alone is not a change of the key
    (no dirty count, no WATCH invalidation), so the value object is swapped directly."""
    if value.__class__ is bytearray:
        return value
    raw = bytearray(value)
    db.data[key] = raw
    return raw


def parse_bit_offset(client: Client, raw: bytes, bits: int = 0) -> int:
    """A bit offset (getBitOffsetFromArgument): a non-negative integer whose byte is within
    proto-max-bulk-len. With `bits` (BITFIELD), "#N" means N * bits, in 64-bit arithmetic."""
    by_width = bits > 0 and raw[:1] == b"#"
    offset = parse_int(raw[1:] if by_width else raw, BIT_OFFSET_ERROR)
    if by_width:
        offset = wrap_int64(offset * bits)
    if offset < 0 or (offset >> 3) >= client.server.proto_max_bulk_len:
        raise CommandError(BIT_OFFSET_ERROR)
    return offset


class BitTarget(NamedTuple):
    """A string opened for writing bits: its bytes, and whether the key was created or grown."""

    data: bytearray
    created: bool
    grew: bool


def open_for_bits(client: Client, key: bytes, highest_bit: int) -> BitTarget:
    """The string at key, created or zero-padded so that `highest_bit` exists
    (lookupStringForBitCommand); WRONGTYPE for other types."""
    db = client.db
    value = db.write_lookup(key, "string")
    size = (highest_bit >> 3) + 1
    if value is None:
        data = bytearray(size)
        db.set(key, data)
        return BitTarget(data, True, True)
    data = unshare_string(db, key, value)
    grew = len(data) < size
    if grew:
        data.extend(bytes(size - len(data)))
    return BitTarget(data, False, grew)


def record_bit_changes(client: Client, key: bytes, target: BitTarget, changes: int) -> None:
    """After a bit write: count the changes, fire "setbit" (nothing when nothing changed).
    A created key was already counted once when it was stored."""
    if changes:
        client.db.modified(key, changes - target.created)
        client.server.notifier.notify(client.db, "$", "setbit", key)


# -- SETBIT / GETBIT --------------------------------------------------------------------------

@command("setbit", 4, flags="write denyoom", keys=(1, 1, 1), acl="bitmap", group=GROUP,
         since="2.2.0", complexity="O(1)",
         summary="Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.")
def setbit(client: Client, args: list[bytes]):
    offset = parse_bit_offset(client, args[2])
    on = parse_int(args[3], BIT_VALUE_ERROR)
    if on & ~1:
        raise CommandError(BIT_VALUE_ERROR)
    target = open_for_bits(client, args[1], offset)
    data = target.data
    byte, shift = offset >> 3, 7 - (offset & 7)
    old = (data[byte] >> shift) & 1
    if target.grew or old != on:
        data[byte] = (data[byte] & ~(1 << shift)) | (on << shift)
        record_bit_changes(client, args[1], target, 1)
    return old


@command("getbit", 3, flags="readonly fast", keys=(1, 1, 1), acl="bitmap", group=GROUP,
         since="2.2.0", complexity="O(1)", summary="Returns a bit value by offset.")
def getbit(client: Client, args: list[bytes]):
    offset = parse_bit_offset(client, args[2])
    value = client.db.read(args[1], "string")
    byte = offset >> 3
    if value is None or byte >= len(value):
        return 0
    return (value[byte] >> (7 - (offset & 7))) & 1


# -- BITCOUNT / BITPOS ------------------------------------------------------------------------

def parse_bit_unit(raw: bytes) -> bool:
    """BYTE or BIT: True for BIT."""
    unit = raw.lower()
    if unit == b"bit":
        return True
    if unit != b"byte":
        raise CommandError(SYNTAX)
    return False


def clamp_span(start: int, end: int, length: int) -> tuple[int, int]:
    """Negative indexes count from the end; both are clamped into [0, length - 1], so start > end
    afterwards means an empty span (it also is for an empty string)."""
    if start < 0:
        start = max(length + start, 0)
    if end < 0:
        end = max(length + end, 0)
    return start, min(end, length - 1)


def count_bits(data: bytes | bytearray, first_bit: int, last_bit: int) -> int:
    """Set bits from first_bit to last_bit inclusive (popcount in C over the covered bytes)."""
    first_byte, last_byte = first_bit >> 3, last_bit >> 3
    chunk = int.from_bytes(data[first_byte:last_byte + 1], "big")
    chunk >>= 7 - (last_bit & 7)
    return (chunk & ((1 << (last_bit - first_bit + 1)) - 1)).bit_count()


@command("bitcount", -2, flags="readonly", keys=(1, 1, 1), acl="bitmap", group=GROUP,
         since="2.6.0", complexity="O(N)",
         summary="Counts the number of set bits (population counting) in a string.")
def bitcount(client: Client, args: list[bytes]):
    if len(args) not in (2, 4, 5):
        raise CommandError(SYNTAX)
    in_bits = False
    if len(args) > 2:
        start, end = parse_int(args[2]), parse_int(args[3])
        if len(args) == 5:
            in_bits = parse_bit_unit(args[4])
    value = client.db.read(args[1], "string")
    if value is None:
        return 0
    if len(args) == 2:
        return count_bits(value, 0, len(value) * 8 - 1) if value else 0
    if start < 0 and end < 0 and start > end:
        return 0
    scale = 8 if in_bits else 1
    start, end = clamp_span(start, end, len(value) * scale)
    if start > end:
        return 0
    if not in_bits:
        start, end = start * 8, end * 8 + 7
    return count_bits(value, start, end)


_NOT_ZERO_BYTE = re.compile(rb"[^\x00]")
_NOT_FF_BYTE = re.compile(rb"[^\xff]")


def find_bit(data: bytes | bytearray, bit: int, first_bit: int, last_bit: int) -> int | None:
    """Position of the first bit equal to `bit` in [first_bit, last_bit], or None.

    A regex scan in C finds the first byte that is not all-zero (looking for 1) or not all-one
    (looking for 0); only the two edge bytes need masking, so at most three bytes are examined."""
    first_byte, last_byte = first_bit >> 3, last_bit >> 3
    scanner = _NOT_ZERO_BYTE if bit else _NOT_FF_BYTE
    position = first_byte
    while True:
        found = scanner.search(data, position, last_byte + 1)
        if found is None:
            return None
        byte_index = found.start()
        wanted = data[byte_index] if bit else data[byte_index] ^ 0xFF  # wanted bits set
        if byte_index == first_byte:
            wanted &= 0xFF >> (first_bit & 7)
        if byte_index == last_byte:
            wanted &= (0xFF << (7 - (last_bit & 7))) & 0xFF
        if wanted:
            return byte_index * 8 + 8 - wanted.bit_length()
        position = byte_index + 1


@command("bitpos", -3, flags="readonly", keys=(1, 1, 1), acl="bitmap", group=GROUP,
         since="2.8.7", complexity="O(N)",
         summary="Finds the first set (1) or clear (0) bit in a string.")
def bitpos(client: Client, args: list[bytes]):
    bit = parse_int(args[2])
    if bit not in (0, 1):
        raise CommandError("ERR The bit argument must be 1 or 0.")
    if len(args) > 6:
        raise CommandError(SYNTAX)
    in_bits = end_given = False
    if len(args) > 3:
        start = parse_int(args[3])
        if len(args) == 6:
            in_bits = parse_bit_unit(args[5])
        if len(args) >= 5:
            end, end_given = parse_int(args[4]), True
    value = client.db.read(args[1], "string")
    if value is None:
        return -1 if bit else 0
    if len(args) == 3:
        start, end = 0, len(value) - 1
    elif not end_given:
        end = len(value) * 8 + 7 if in_bits else len(value) - 1
    start, end = clamp_span(start, end, len(value) * (8 if in_bits else 1))
    if start > end:
        return -1
    if not in_bits:
        start, end = start * 8, end * 8 + 7
    found = find_bit(value, bit, start, end)
    if found is not None:
        return found
    # Looking for a 0 past an open-ended range: the string counts as zero-padded on the right.
    return -1 if bit or end_given else end + 1


# -- BITOP ------------------------------------------------------------------------------------

# Each operation combines the sources as big integers of `width` bits.
_BITOPS: dict[bytes, Callable[[list[int], int], int]] = {
    b"and": lambda numbers, width: reduce(and_, numbers),
    b"or": lambda numbers, width: reduce(or_, numbers),
    b"xor": lambda numbers, width: reduce(xor, numbers),
    b"not": lambda numbers, width: ~numbers[0] & ((1 << width) - 1),
}


@command("bitop", -4, flags="write denyoom", keys=(2, -1, 1), acl="bitmap", group=GROUP,
         since="2.6.0", complexity="O(N)",
         summary="Performs bitwise operations on multiple strings, and stores the result.")
def bitop(client: Client, args: list[bytes]):
    name = args[1].lower()
    if name not in _BITOPS:
        raise CommandError(SYNTAX)
    if name == b"not" and len(args) != 4:
        raise CommandError("ERR BITOP NOT must be called with a single source key.")
    db, destination = client.db, args[2]
    sources = [db.read(key, "string") or b"" for key in args[3:]]
    size = max(map(len, sources))
    if not size:
        if db.delete(destination):
            client.server.notifier.notify(db, "g", "del", destination)
        return 0
    # Shorter strings count as zero-padded on the right: shift them to line up.
    numbers = [int.from_bytes(source, "big") << (8 * (size - len(source))) for source in sources]
    result = _BITOPS[name](numbers, 8 * size)
    store_string(client, db, destination, bytearray(result.to_bytes(size, "big")))
    return size


# -- BITFIELD ---------------------------------------------------------------------------------

WRAP, SAT, FAIL = "wrap", "sat", "fail"
_OVERFLOW_KINDS = {b"wrap": WRAP, b"sat": SAT, b"fail": FAIL}
GET, SET, INCRBY = "get", "set", "incrby"
_ARGUMENTS = {b"get": (GET, 2), b"set": (SET, 3), b"incrby": (INCRBY, 3)}


class BitfieldOp(NamedTuple):
    kind: str
    signed: bool
    bits: int
    offset: int
    value: int  # SET's value or INCRBY's increment
    overflow: str


def parse_bitfield_type(raw: bytes) -> tuple[bool, int]:
    """i1..i64 or u1..u63 (the letter is case-sensitive; digits end at a NUL as in C)."""
    sign = raw[:1]
    if sign not in (b"i", b"u"):
        raise CommandError(BITFIELD_TYPE_ERROR)
    bits = parse_int(raw[1:].split(b"\0", 1)[0], BITFIELD_TYPE_ERROR)
    if not 1 <= bits <= (64 if sign == b"i" else 63):
        raise CommandError(BITFIELD_TYPE_ERROR)
    return sign == b"i", bits


def parse_bitfield_ops(client: Client, args: list[bytes]) -> list[BitfieldOp]:
    """BITFIELD's subcommands in order; OVERFLOW applies to the operations after it."""
    ops: list[BitfieldOp] = []
    overflow = WRAP
    j = 2
    while j < len(args):
        remaining = len(args) - j - 1
        name = args[j].lower()
        if name == b"overflow" and remaining >= 1:
            overflow = _OVERFLOW_KINDS.get(args[j + 1].lower())
            if overflow is None:
                raise CommandError("ERR Invalid OVERFLOW type specified")
            j += 2
            continue
        kind, needed = _ARGUMENTS.get(name, (None, 0))
        if kind is None or remaining < needed:
            raise CommandError(SYNTAX)
        signed, bits = parse_bitfield_type(args[j + 1])
        offset = parse_bit_offset(client, args[j + 2], bits)
        value = parse_int(args[j + 3]) if kind != GET else 0
        ops.append(BitfieldOp(kind, signed, bits, offset, value, overflow))
        j += needed + 1
    return ops


def read_field(data: bytes | bytearray, offset: int, bits: int, signed: bool) -> int:
    """The integer of `bits` bits at bit `offset`, big-endian; missing bytes read as zero."""
    first, last = offset >> 3, (offset + bits - 1) >> 3
    width = last - first + 1
    present = data[first:last + 1]
    chunk = int.from_bytes(present, "big") << (8 * (width - len(present)))
    value = (chunk >> (8 * width - (offset & 7) - bits)) & ((1 << bits) - 1)
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


def write_field(data: bytearray, offset: int, bits: int, value: int) -> None:
    """Store the low `bits` bits of value (two's complement for negatives) at bit `offset`."""
    first, last = offset >> 3, (offset + bits - 1) >> 3
    width = last - first + 1
    shift = 8 * width - (offset & 7) - bits
    field_mask = ((1 << bits) - 1) << shift
    chunk = int.from_bytes(data[first:last + 1], "big")
    chunk = (chunk & ~field_mask) | ((value << shift) & field_mask)
    data[first:last + 1] = chunk.to_bytes(width, "big")


def check_unsigned_overflow(value: int, increment: int, bits: int, overflow: str) -> tuple[int, int]:
    """Redis's checkUnsignedBitfieldOverflow on uint64 `value`: (1 overflow / -1 underflow / 0,
    the value to store instead: wrapped for WRAP, the bound for SAT)."""
    maximum = (1 << bits) - 1
    max_increment = wrap_int64(maximum - value)
    min_increment = wrap_int64(-value)
    if value > maximum or (increment > 0 and increment > max_increment):
        direction, bound = 1, maximum
    elif increment < 0 and increment < min_increment:
        direction, bound = -1, 0
    else:
        return 0, value
    if overflow == WRAP:
        return direction, (value + increment) & maximum
    return direction, bound


def check_signed_overflow(value: int, increment: int, bits: int, overflow: str) -> tuple[int, int]:
    """Redis's checkSignedBitfieldOverflow, with its int64 wrap-arounds in the limits."""
    maximum = INT64_MAX if bits == 64 else (1 << (bits - 1)) - 1
    minimum = -maximum - 1
    max_increment = wrap_int64(maximum - value)
    min_increment = wrap_int64(minimum - value)
    if value > maximum or (bits != 64 and increment > max_increment) or (
            value >= 0 and increment > 0 and increment > max_increment):
        direction, bound = 1, maximum
    elif value < minimum or (bits != 64 and increment < min_increment) or (
            value < 0 and increment < 0 and increment < min_increment):
        direction, bound = -1, minimum
    else:
        return 0, value
    if overflow == WRAP:
        wrapped = (value + increment) & ((1 << bits) - 1)  # the low bits, then sign-extended
        return direction, wrapped - (1 << bits) if wrapped >> (bits - 1) else wrapped
    return direction, bound


def apply_write(data: bytearray, op: BitfieldOp) -> tuple[int | None, bool]:
    """One SET or INCRBY: (the reply, None when OVERFLOW FAIL refused it; whether bits changed)."""
    old = read_field(data, op.offset, op.bits, op.signed)
    check = check_signed_overflow if op.signed else check_unsigned_overflow
    if op.kind == INCRBY:
        overflowed, new = check(old, op.value, op.bits, op.overflow)
        if not overflowed:
            new = old + op.value
        reply = new
    else:
        candidate = op.value if op.signed else op.value & UINT64_MASK
        overflowed, new = check(candidate, 0, op.bits, op.overflow)
        reply = old
    if overflowed and op.overflow == FAIL:
        return None, False
    write_field(data, op.offset, op.bits, new)
    return reply, new != old


def bitfield_generic(client: Client, args: list[bytes], read_only: bool):
    """BITFIELD and BITFIELD_RO: parse every operation first, then run them in order."""
    ops = parse_bitfield_ops(client, args)
    writes = [op for op in ops if op.kind != GET]
    if not writes:
        value = client.db.read(args[1], "string") or b""
        return [read_field(value, op.offset, op.bits, op.signed) for op in ops]
    if read_only:
        raise CommandError("ERR BITFIELD_RO only supports the GET subcommand")
    target = open_for_bits(client, args[1], max(op.offset + op.bits - 1 for op in writes))
    replies: list[int | None] = []
    changes = 0
    for op in ops:
        if op.kind == GET:
            replies.append(read_field(target.data, op.offset, op.bits, op.signed))
            continue
        reply, changed = apply_write(target.data, op)
        replies.append(reply)
        changes += reply is not None and (changed or target.grew)
    record_bit_changes(client, args[1], target, changes)
    return replies


@command("bitfield", -2, flags="write denyoom", keys=(1, 1, 1), acl="bitmap", group=GROUP,
         since="3.2.0", complexity="O(1) for each subcommand specified",
         summary="Performs arbitrary bitfield integer operations on strings.")
def bitfield(client: Client, args: list[bytes]):
    return bitfield_generic(client, args, read_only=False)


@command("bitfield_ro", -2, flags="readonly fast", keys=(1, 1, 1), acl="bitmap", group=GROUP,
         since="6.0.0", complexity="O(1) for each subcommand specified",
         summary="Performs arbitrary read-only bitfield integer operations on strings.")
def bitfield_ro(client: Client, args: list[bytes]):
    return bitfield_generic(client, args, read_only=True)
