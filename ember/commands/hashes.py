"""Hash commands: HSET HSETNX HMSET HGET HMGET HGETALL HKEYS HVALS HDEL HEXISTS HLEN HSTRLEN
HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN.

Also Redis's long double arithmetic for HINCRBYFLOAT (`parse_long_double`, `add_long_doubles`,
`format_long_double`): Redis parses with strtold and adds in x87 80-bit long doubles (64-bit
significand), then prints with "%.17Lf" and trims trailing zeros. Python floats are 53-bit, which
would print 0.1 as 0.10000000000000001, so values are kept as exact binary numbers rounded to the
long double grid after every step, giving Redis's digits exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from ..keyspace.hashes import Hash, hash_limits
from ..protocol.errors import NOT_FLOAT, OVERFLOW, SYNTAX, CommandError, wrong_arity
from .sets import parse_scan_cursor, parse_scan_options, parse_signed_count, remove_elements
from .table import command, parse_int

if TYPE_CHECKING:
    from ..server.client import Client

GROUP = "hash"
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
LONG_HALF = _INT64_MAX // 2  # HRANDFIELD WITHVALUES's count limit: the reply holds 2 * count entries


# -- long double arithmetic (HINCRBYFLOAT) -----------------------------------------------------

# A finite long double is kept as (mantissa, exponent), worth mantissa * 2**exponent, with at most
# 64 significant bits in the mantissa: plain integer arithmetic, exact and much faster than
# fractions. Infinities (which only parsing can produce) are Python floats.
LongDouble = tuple[int, int]
ZERO: LongDouble = (0, 0)

_LD_SIGNIFICAND_BITS = 64
_LD_MIN_EXPONENT = -16445  # 2**-16445 is the smallest subnormal x87 long double
_LD_LIMIT_BITS = 16384  # magnitudes from 2**16384 up overflow to infinity
_LD_MAX_CHARS = 5 * 1024  # Redis's MAX_LONG_DOUBLE_CHARS: longer inputs are rejected
_GUARD_BITS = _LD_SIGNIFICAND_BITS + 2  # quotient bits that make rounding a division exact

_DECIMAL = re.compile(rb"([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?")
_HEX = re.compile(rb"([+-]?)0[xX](?:([0-9a-fA-F]+)(?:\.([0-9a-fA-F]*))?|\.([0-9a-fA-F]+))(?:[pP]([+-]?\d+))?")
_INFINITY = re.compile(rb"([+-]?)(?:inf|infinity)", re.IGNORECASE)


def _int_from_digits(text: bytes) -> int:
    # int(str) refuses more than 4300 digits by default; Decimal has no such limit.
    return int(text) if len(text) <= 4000 else int(Decimal(text.decode()))


def _digits_of(number: int) -> str:
    return str(number) if number.bit_length() <= 13000 else str(Decimal(number))


def _exponent(text: bytes | None) -> int:
    if not text:
        return 0
    sign = -1 if text[:1] == b"-" else 1
    digits = text.lstrip(b"+-").lstrip(b"0") or b"0"
    # Beyond 9 digits the value is out of range either way; keep the number small.
    return sign * (10**10 if len(digits) > 9 else int(digits))


def _round(mantissa: int, exponent: int, inexact: bool = False) -> LongDouble | None:
    """mantissa * 2**exponent rounded to the nearest long double, ties to even; None on overflow.

    `inexact` says the true value is a little above |mantissa| (a division left a remainder):
    callers then give at least _GUARD_BITS bits, so it only decides exact-looking ties.
    """
    magnitude = -mantissa if mantissa < 0 else mantissa
    if magnitude == 0:
        return ZERO
    quantum = max(exponent + magnitude.bit_length() - _LD_SIGNIFICAND_BITS, _LD_MIN_EXPONENT)
    shift = quantum - exponent
    if shift > 0:
        kept = magnitude >> shift
        dropped = magnitude & ((1 << shift) - 1)
        half = 1 << (shift - 1)
        if dropped > half or (dropped == half and (inexact or kept & 1)):
            kept += 1
        magnitude = kept
    else:
        quantum = exponent
    if magnitude.bit_length() + quantum > _LD_LIMIT_BITS:
        return None
    return (-magnitude if mantissa < 0 else magnitude), quantum


def _round_quotient(numerator: int, denominator: int) -> LongDouble | None:
    """numerator / denominator (both > 0) rounded to a long double."""
    shift = max(0, _GUARD_BITS - (numerator.bit_length() - denominator.bit_length()))
    quotient, remainder = divmod(numerator << shift, denominator)
    return _round(quotient, -shift, remainder != 0)


def parse_long_double(raw: bytes) -> LongDouble | float | None:
    """The long double Redis's string2ld reads from raw (a float for +/-inf), or None when it
    rejects it: strtold's syntax (decimal, hexadecimal, inf/infinity) with no surrounding spaces,
    no NaN, and no value that overflows or underflows to zero."""
    if not raw or len(raw) >= _LD_MAX_CHARS:
        return None
    match = _DECIMAL.fullmatch(raw)
    if match is not None:
        sign, whole, fraction, only_fraction, exponent = match.groups()
        fraction = fraction or only_fraction or b""
        significant = ((whole or b"") + fraction).lstrip(b"0")
        if not significant:
            return ZERO
        power = _exponent(exponent) - len(fraction)
        if not -4951 <= power + len(significant) <= 4934:  # surely beyond the long double range
            return None
        mantissa = _int_from_digits(significant)
        value = _round(mantissa * 10**power, 0) if power >= 0 else _round_quotient(mantissa, 10**-power)
    else:
        match = _HEX.fullmatch(raw)
        if match is None:
            infinity = _INFINITY.fullmatch(raw)
            if infinity is None:
                return None
            return float("-inf") if infinity.group(1) == b"-" else float("inf")
        sign, whole, fraction, only_fraction, exponent = match.groups()
        fraction = fraction or only_fraction or b""
        mantissa = int((whole or b"") + fraction, 16)
        if mantissa == 0:
            return ZERO
        power = _exponent(exponent) - 4 * len(fraction)
        if not -16500 < mantissa.bit_length() + power <= _LD_LIMIT_BITS + 1:
            return None
        value = _round(mantissa, power)
    if value is None or value[0] == 0:
        return None  # overflow or underflow: strtold's ERANGE, which string2ld refuses
    return (-value[0], value[1]) if sign == b"-" else value


def add_long_doubles(a: LongDouble, b: LongDouble) -> LongDouble | None:
    """a + b in long double arithmetic; None when the sum overflows."""
    exponent = min(a[1], b[1])
    return _round((a[0] << (a[1] - exponent)) + (b[0] << (b[1] - exponent)), exponent)


def format_long_double(value: LongDouble) -> bytes:
    """Redis's human long double form: "%.17Lf" without trailing zeros ("1.5", "3", "0")."""
    mantissa, exponent = value
    magnitude = -mantissa if mantissa < 0 else mantissa
    if exponent >= 0:
        text = _digits_of(magnitude << exponent)
    else:
        scaled = magnitude * 10**17
        shift = -exponent
        units = scaled >> shift
        dropped = scaled & ((1 << shift) - 1)
        half = 1 << (shift - 1)
        if dropped > half or (dropped == half and units & 1):
            units += 1
        digits = _digits_of(units).rjust(18, "0")
        whole, fraction = digits[:-17], digits[-17:].rstrip("0")
        text = f"{whole}.{fraction}" if fraction else whole
    if mantissa < 0 and text != "0":
        text = "-" + text
    return text.encode()


# -- helpers -----------------------------------------------------------------------------------


def _notify(client: Client, event: str, key: bytes) -> None:
    client.server.notifier.notify(client.db, "h", event, key)


def _hash_for_write(client: Client, key: bytes) -> tuple[Hash, bool]:
    """The hash at key for a write, or a new empty one; (hash, created)."""
    value = client.db.write_lookup(key, "hash")
    if value is None:
        return Hash(), True
    return value, False


def _save(client: Client, key: bytes, value: Hash, created: bool, event: str) -> None:
    """Store a new hash or record the change to an existing one, then notify."""
    if created:
        client.db.set(key, value)
    else:
        client.db.modified(key)
    _notify(client, event, key)


# -- writing -----------------------------------------------------------------------------------


def _set_pairs(client: Client, args: list[bytes]) -> int:
    """HSET/HMSET: set every field/value pair; the number of new fields."""
    if len(args) % 2:
        raise wrong_arity(args[0].decode("utf-8", "replace").lower())
    key = args[1]
    value, created = _hash_for_write(client, key)
    limits = hash_limits(client.server)
    pairs = args[2:]
    value.prepare(pairs, limits)
    set_field = value.set
    new_fields = 0
    for index in range(0, len(pairs), 2):
        new_fields += set_field(pairs[index], pairs[index + 1], limits)
    _save(client, key, value, created, "hset")
    return new_fields


@command("hset", -4, flags="write denyoom fast", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Sets fields of a hash, creating it if needed; replies with how many fields were new.")
def hset(client: Client, args: list[bytes]):
    return _set_pairs(client, args)


@command("hmset", -4, flags="write denyoom fast", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Sets fields of a hash (deprecated form of HSET that replies OK).")
def hmset(client: Client, args: list[bytes]):
    _set_pairs(client, args)
    return "OK"


@command("hsetnx", 4, flags="write denyoom fast", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Sets a field of a hash only when the field does not exist yet.")
def hsetnx(client: Client, args: list[bytes]):
    key, field = args[1], args[2]
    value, created = _hash_for_write(client, key)
    if field in value.fields:
        return 0
    limits = hash_limits(client.server)
    value.prepare(args[2:4], limits)
    value.set(field, args[3], limits)
    _save(client, key, value, created, "hset")
    return 1


@command("hdel", -3, flags="write fast", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Deletes fields of a hash; replies with how many existed.")
def hdel(client: Client, args: list[bytes]):
    return remove_elements(client, args, "hash", "h", "hdel")


def _update_number(client: Client, args: list[bytes], event: str, update: Callable[[bytes | None], bytes]) -> bytes:
    """HINCRBY/HINCRBYFLOAT: store update(current value or None) in the field; returns it."""
    key, field = args[1], args[2]
    value, created = _hash_for_write(client, key)
    text = update(value.get(field))
    value.set(field, text, hash_limits(client.server))
    _save(client, key, value, created, event)
    return text


@command("hincrby", 4, flags="write denyoom fast", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Adds an integer to the integer in a hash field (0 when absent).")
def hincrby(client: Client, args: list[bytes]):
    increment = parse_int(args[3])

    def add(current: bytes | None) -> bytes:
        number = increment if current is None else parse_int(current, "ERR hash value is not an integer") + increment
        if not _INT64_MIN <= number <= _INT64_MAX:
            raise CommandError(OVERFLOW)
        return b"%d" % number

    return int(_update_number(client, args, "hincrby", add))


@command("hincrbyfloat", 4, flags="write denyoom fast", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.6.0",
         summary="Adds a floating-point number to the number in a hash field (0 when absent).")
def hincrbyfloat(client: Client, args: list[bytes]):
    increment = parse_long_double(args[3])
    if increment is None:
        raise CommandError(NOT_FLOAT)
    if isinstance(increment, float):
        raise CommandError("ERR value is NaN or Infinity")

    def add(current: bytes | None) -> bytes:
        number = ZERO if current is None else parse_long_double(current)
        if number is None:
            raise CommandError("ERR hash value is not a float")
        total = None if isinstance(number, float) else add_long_doubles(number, increment)
        if total is None:
            raise CommandError("ERR increment would produce NaN or Infinity")
        return format_long_double(total)

    return _update_number(client, args, "hincrbyfloat", add)


# -- reading -----------------------------------------------------------------------------------


@command("hget", 3, flags="readonly fast", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Returns the value of a hash field.")
def hget(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "hash")
    return None if value is None else value.fields.get(args[2])


@command("hmget", -3, flags="readonly fast", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Returns the values of several hash fields.")
def hmget(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "hash")
    fields = {} if value is None else value.fields
    return [fields.get(field) for field in args[2:]]


@command("hgetall", 2, flags="readonly", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Returns every field and value of a hash.")
def hgetall(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "hash")
    return {} if value is None else value.fields.copy()


@command("hkeys", 2, flags="readonly", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Returns the field names of a hash.")
def hkeys(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "hash")
    return [] if value is None else list(value.fields)


@command("hvals", 2, flags="readonly", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Returns the values of a hash.")
def hvals(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "hash")
    return [] if value is None else list(value.fields.values())


@command("hexists", 3, flags="readonly fast", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Tells whether a hash has a field (1 or 0).")
def hexists(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "hash")
    return 0 if value is None else int(args[2] in value.fields)


@command("hlen", 2, flags="readonly fast", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Counts the fields of a hash.")
def hlen(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "hash")
    return 0 if value is None else len(value)


@command("hstrlen", 3, flags="readonly fast", keys=(1, 1, 1), acl="hash", group=GROUP, since="3.2.0",
         summary="Returns the length of the value of a hash field.")
def hstrlen(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "hash")
    found = None if value is None else value.fields.get(args[2])
    return 0 if found is None else len(found)


@command("hrandfield", -2, flags="readonly", keys=(1, 1, 1), acl="hash", group=GROUP, since="6.2.0",
         summary="Returns random fields of a hash, optionally with values; a negative count allows repeats.")
def hrandfield(client: Client, args: list[bytes]):
    if len(args) == 2:
        value = client.db.read(args[1], "hash")
        return None if value is None else value.random_element()
    count = parse_signed_count(args[2])
    with_values = len(args) == 4
    if len(args) > 4 or (with_values and args[3].lower() != b"withvalues"):
        raise CommandError(SYNTAX)
    if with_values and not -LONG_HALF <= count <= LONG_HALF:
        raise CommandError("ERR value is out of range")
    value = client.db.read(args[1], "hash")
    if value is None or count == 0:
        return []
    fields = value.sample(count)
    if not with_values:
        return fields
    get = value.fields.__getitem__
    if client.resp == 3:
        return [[field, get(field)] for field in fields]
    return [item for field in fields for item in (field, get(field))]


@command("hscan", -3, flags="readonly", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.8.0",
         summary="Iterates over the fields and values of a hash with a cursor.")
def hscan(client: Client, args: list[bytes]):
    cursor = parse_scan_cursor(args[2])
    value = client.db.read(args[1], "hash")
    if value is None:
        return [b"0", []]
    count, matcher = parse_scan_options(args, 3)
    if value.listpack:
        # A listpack is returned whole in one call, whatever the cursor, as Redis does.
        cursor, fields = 0, list(value.fields)
    else:
        cursor, fields = value.scan_page(cursor, count)
    if matcher is not None:
        fields = [field for field in fields if matcher(field)]
    get = value.fields.__getitem__
    return [b"%d" % cursor, [item for field in fields for item in (field, get(field))]]
