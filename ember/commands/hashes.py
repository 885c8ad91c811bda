"""Hash commands: HSET HSETNX HMSET HGET HMGET HGETALL HKEYS HVALS HDEL HEXISTS HLEN HSTRLEN
HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN.

Replies follow Redis 7.2's t_hash.c. HINCRBYFLOAT shares INCRBYFLOAT's long double arithmetic
(`commands.strings`), so both print Redis's "%.17Lf" digits exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING

from ..keyspace.hashes import Hash, hash_limits
from ..protocol.errors import OVERFLOW, SYNTAX, CommandError, wrong_arity
from ..protocol.long_double import add_long_doubles, format_long_double, parse_long_double
from ..server.propagate import propagate_as
from .sets import parse_signed_count, remove_elements, scan_collection
from .table import command, parse_int

if TYPE_CHECKING:
    from ..server.client import Client

GROUP = "hash"
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
LONG_HALF = _INT64_MAX // 2  # HRANDFIELD WITHVALUES's count limit: the reply holds 2 * count entries


# -- helpers -----------------------------------------------------------------------------------


def _notify(client: Client, event: str, key: bytes) -> None:
    client.server.notifier.notify(client.db, "h", event, key)


def _hash_for_write(client: Client, key: bytes) -> tuple[Hash, bool]:
    """The hash at key for a write, or a new empty one; (hash, created)."""
    value = client.db.write_lookup(key, "hash")
    if value is None:
        return Hash(), True
    return value, False


def _save(client: Client, key: bytes, value: Hash, created: bool, event: str, changes: int = 1) -> None:
    """Store a new hash or record the change to an existing one, then notify. changes: what
    the dirty counter gains (HSET counts every pair it was given, as Redis)."""
    if created:
        client.db.set(key, value, changes=changes)
    else:
        client.db.modified(key, changes)
    _notify(client, event, key)


# -- writing -----------------------------------------------------------------------------------


def _set_pairs(client: Client, args: list[bytes], name: str) -> int:
    """HSET/HMSET: set every field/value pair; the number of new fields."""
    if len(args) % 2:
        raise wrong_arity(name)
    key = args[1]
    value, created = _hash_for_write(client, key)
    limits = hash_limits(client.server)
    pairs = args[2:]
    value.prepare(pairs, limits)
    set_field = value.set
    new_fields = 0
    for index in range(0, len(pairs), 2):
        new_fields += set_field(pairs[index], pairs[index + 1], limits)
    _save(client, key, value, created, "hset", len(pairs) // 2)
    return new_fields


@command("hset", -4, flags="write denyoom fast", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Sets fields of a hash, creating it if needed; replies with how many fields were new.",
         complexity="O(1) per field added: O(N) for N fields.")
def hset(client: Client, args: list[bytes]):
    return _set_pairs(client, args, "hset")


@command("hmset", -4, flags="write denyoom fast", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Sets fields of a hash (deprecated form of HSET that replies OK).",
         complexity="O(N) where N is the number of fields set.")
def hmset(client: Client, args: list[bytes]):
    _set_pairs(client, args, "hmset")
    return "OK"


@command("hsetnx", 4, flags="write denyoom fast", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Sets a field of a hash only when the field does not exist yet.",
         complexity="O(1)")
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
         summary="Deletes fields of a hash; replies with how many existed.",
         complexity="O(N) where N is the number of fields removed.")
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
         summary="Adds an integer to the integer in a hash field (0 when absent).",
         complexity="O(1)")
def hincrby(client: Client, args: list[bytes]):
    increment = parse_int(args[3])

    def add(current: bytes | None) -> bytes:
        number = increment if current is None else parse_int(current, "ERR hash value is not an integer") + increment
        if not _INT64_MIN <= number <= _INT64_MAX:
            raise CommandError(OVERFLOW)
        return b"%d" % number

    return int(_update_number(client, args, "hincrby", add))


@command("hincrbyfloat", 4, flags="write denyoom fast", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.6.0",
         summary="Adds a floating-point number to the number in a hash field (0 when absent).",
         complexity="O(1)")
def hincrbyfloat(client: Client, args: list[bytes]):
    increment = parse_long_double(args[3])
    if isinstance(increment, float):
        raise CommandError("ERR value is NaN or Infinity")

    def add(current: bytes | None) -> bytes:
        if current is None:
            number = Fraction(0)
        else:
            try:
                number = parse_long_double(current)
            except CommandError:
                raise CommandError("ERR hash value is not a float") from None
        return format_long_double(add_long_doubles(number, increment))

    text = _update_number(client, args, "hincrbyfloat", add)
    propagate_as(client, [b"HSET", args[1], args[2], text])  # the result, not the float arithmetic
    return text


# -- reading -----------------------------------------------------------------------------------


@command("hget", 3, flags="readonly fast", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Returns the value of a hash field.",
         complexity="O(1)")
def hget(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "hash")
    return None if value is None else value.fields.get(args[2])


@command("hmget", -3, flags="readonly fast", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Returns the values of several hash fields.",
         complexity="O(N) where N is the number of fields asked for.")
def hmget(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "hash")
    fields = {} if value is None else value.fields
    return [fields.get(field) for field in args[2:]]


@command("hgetall", 2, flags="readonly", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Returns every field and value of a hash.",
         complexity="O(N) where N is the size of the hash.")
def hgetall(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "hash")
    return {} if value is None else value.fields.copy()


@command("hkeys", 2, flags="readonly", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Returns the field names of a hash.",
         complexity="O(N) where N is the size of the hash.")
def hkeys(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "hash")
    return [] if value is None else list(value.fields)


@command("hvals", 2, flags="readonly", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Returns the values of a hash.",
         complexity="O(N) where N is the size of the hash.")
def hvals(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "hash")
    return [] if value is None else list(value.fields.values())


@command("hexists", 3, flags="readonly fast", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Tells whether a hash has a field (1 or 0).",
         complexity="O(1)")
def hexists(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "hash")
    return 0 if value is None else int(args[2] in value.fields)


@command("hlen", 2, flags="readonly fast", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.0.0",
         summary="Counts the fields of a hash.",
         complexity="O(1)")
def hlen(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "hash")
    return 0 if value is None else len(value)


@command("hstrlen", 3, flags="readonly fast", keys=(1, 1, 1), acl="hash", group=GROUP, since="3.2.0",
         summary="Returns the length of the value of a hash field.",
         complexity="O(1)")
def hstrlen(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "hash")
    found = None if value is None else value.fields.get(args[2])
    return 0 if found is None else len(found)


@command("hrandfield", -2, flags="readonly", keys=(1, 1, 1), acl="hash", group=GROUP, since="6.2.0",
         summary="Returns random fields of a hash, optionally with values; a negative count allows repeats.",
         complexity="O(N) where N is the number of fields returned.")
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
    if client.resp == 3:
        get = value.fields.__getitem__
        return [[field, get(field)] for field in fields]
    return _with_values(value, fields)


@command("hscan", -3, flags="readonly", keys=(1, 1, 1), acl="hash", group=GROUP, since="2.8.0",
         summary="Iterates over the fields and values of a hash with a cursor.",
         complexity="O(1) per call; O(N) for a full iteration, where N is the number of fields.")
def hscan(client: Client, args: list[bytes]):
    return scan_collection(client, args, "hash", _with_values)


def _with_values(value: Hash, fields: list[bytes]) -> list[bytes]:
    get = value.fields.__getitem__
    return [item for field in fields for item in (field, get(field))]
