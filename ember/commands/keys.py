"""Generic key commands (Redis's db.c, expire.c and object.c): DEL UNLINK EXISTS TYPE KEYS SCAN
RANDOMKEY RENAME RENAMENX MOVE COPY TOUCH, the EXPIRE/TTL families and PERSIST, OBJECT, DBSIZE,
FLUSHDB FLUSHALL SWAPDB.

They work on any value type; what they need from a value is its TYPE_NAME, `encoding(server)`
and `copy()` (strings are bytes/bytearray, see strings.py). `expire_or_delete` is shared with
GETEX: a deadline already in the past deletes the key, as Redis does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..keyspace.database import type_name
from ..keyspace.glob import glob_matcher
from ..keyspace.lfu import LFU_POLICIES
from ..persistence import snapshot
from ..protocol.errors import NO_SUCH_KEY, SYNTAX, CommandError, invalid_expire_time
from ..server.propagate import propagate_as
from .server_admin import declare_help
from .table import command, container, parse_int

if TYPE_CHECKING:
    from ..keyspace.database import Database
    from ..server.client import Client

GROUP = "generic"
LLONG_MAX = 2**63 - 1
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
SAME_OBJECT = "ERR source and destination objects are the same"
DB_OUT_OF_RANGE = "ERR DB index is out of range"
INVALID_CURSOR = "ERR invalid cursor"
SHARED_REFCOUNT = 2**31 - 1  # what OBJECT REFCOUNT shows for Redis's shared integers 0..9999
SHARED_INTEGERS = 10000


def notify(client: Client, db: Database, event: str, key: bytes) -> None:
    client.server.notifier.notify(db, "g", event, key)


def parse_db_number(raw: bytes, error: str | None = None) -> int:
    """A C int, with the errors of Redis's getIntFromObjectOrReply (`error` replaces both)."""
    value = parse_int(raw, error or "ERR value is not an integer or out of range")
    if not INT_MIN <= value <= INT_MAX:
        raise CommandError(error or f"ERR value is out of range, value must between {INT_MIN} and {INT_MAX}")
    return value


def select_db(client: Client, number: int) -> Database:
    dbs = client.server.dbs
    if not 0 <= number < len(dbs):
        raise CommandError(DB_OUT_OF_RANGE)
    return dbs[number]


def copy_value(value: Any) -> Any:
    """An independent copy for COPY: bytes are immutable; bytearray (raw strings) and
    collections are duplicated."""
    if value.__class__ is bytes:
        return value
    if value.__class__ is bytearray:
        return bytearray(value)
    return value.copy()


# -- deleting and testing keys --------------------------------------------------------------------

@command("unlink", -2, flags="write fast", keys=(1, -1, 1), acl="keyspace", group=GROUP, since="4.0.0",
         summary="Asynchronously deletes one or more keys.",
         complexity="O(1) for each key removed regardless of its size. Then the command does O(N) work "
                    "in a different thread in order to reclaim memory, where N is the number of "
                    "allocations the deleted objects where composed of.")
@command("del", -2, flags="write", keys=(1, -1, 1), acl="keyspace", group=GROUP, since="1.0.0",
         summary="Deletes one or more keys.",
         complexity="O(N) where N is the number of keys that will be removed. When a key to remove "
                    "holds a value other than a string, the individual complexity for this key is "
                    "O(M) where M is the number of elements in the list, set, sorted set or hash. "
                    "Removing a single key that holds a string value is O(1).")
def del_(client: Client, args: list[bytes]):
    db = client.db
    deleted = 0
    for key in args[1:]:
        if db.delete(key):
            deleted += 1
            notify(client, db, "del", key)
    return deleted


@command("exists", -2, flags="readonly fast", keys=(1, -1, 1), acl="keyspace", group=GROUP,
         since="1.0.0", summary="Determines whether one or more keys exist.",
         complexity="O(N) where N is the number of keys to check.")
def exists(client: Client, args: list[bytes]):
    read = client.db.read
    return sum(1 for key in args[1:] if read(key, None, False) is not None)


@command("touch", -2, flags="readonly fast", keys=(1, -1, 1), acl="keyspace", group=GROUP,
         since="3.2.1",
         summary="Returns the number of existing keys out of those specified after updating the time "
                 "they were last accessed.",
         complexity="O(N) where N is the number of keys that will be touched.")
def touch(client: Client, args: list[bytes]):
    read = client.db.read
    return sum(1 for key in args[1:] if read(key) is not None)


@command("type", 2, flags="readonly fast", keys=(1, 1, 1), acl="keyspace", group=GROUP, since="1.0.0",
         summary="Determines the type of value stored at a key.", complexity="O(1)")
def type_(client: Client, args: list[bytes]):
    value = client.db.read(args[1], None, False)
    return "none" if value is None else type_name(value)


# -- listing keys ---------------------------------------------------------------------------------

@command("keys", 2, flags="readonly", acl="keyspace dangerous", group=GROUP, since="1.0.0",
         summary="Returns all key names that match a pattern.",
         complexity="O(N) with N being the number of keys in the database, under the assumption that "
                    "the key names in the database and the given pattern have limited length.")
def keys(client: Client, args: list[bytes]):
    live = client.db.iter_live_keys()
    if args[1] == b"*":  # Redis's shortcut: '*' lists every key, the empty one included
        return list(live)
    match = glob_matcher(args[1])
    return [key for key in live if match(key)]


# strtoul() as SCAN's cursor parser uses it: optional sign, decimal digits, parsed up to the first
# NUL byte (the C string ends there); "-n" wraps around like C's unsigned negation.
_CURSOR = re.compile(rb"([+-]?)([0-9]+)")


def parse_scan_cursor(raw: bytes) -> int:
    text = raw.split(b"\0", 1)[0]
    if not text:
        return 0  # strtoul("") converts nothing and stops at the terminator: Redis accepts it
    found = _CURSOR.fullmatch(text)
    if found is None:
        raise CommandError(INVALID_CURSOR)
    value = int(found.group(2))
    if value >= 2**64:
        raise CommandError(INVALID_CURSOR)  # ERANGE
    return (-value) % 2**64 if found.group(1) == b"-" else value


@command("scan", -2, flags="readonly", acl="keyspace", group=GROUP, since="2.8.0",
         summary="Iterates over the key names in the database.",
         complexity="O(1) for every call. O(N) for a complete iteration, including enough command "
                    "calls for the cursor to return back to 0. N is the number of elements inside the "
                    "collection.")
def scan(client: Client, args: list[bytes]):
    cursor = parse_scan_cursor(args[1])
    count, pattern, wanted_type = 10, None, None
    i = 2
    while i < len(args):
        option = args[i].lower()
        if i + 1 >= len(args):
            raise CommandError(SYNTAX)
        if option == b"count":
            count = parse_int(args[i + 1])
            if count < 1:
                raise CommandError(SYNTAX)
        elif option == b"match":
            pattern = args[i + 1]
        elif option == b"type":
            wanted_type = args[i + 1].decode("latin-1").lower()
        else:
            raise CommandError(SYNTAX)
        i += 2
    db = client.db
    next_cursor, page = db.scan_page(cursor, count)
    if pattern is not None and pattern != b"*":
        match = glob_matcher(pattern)
        page = [key for key in page if match(key)]
    if wanted_type is not None:
        page = [key for key in page if _has_type(db, key, wanted_type)]
    else:
        page = [key for key in page if db.lookup(key) is not None]  # drops (and expires) due keys
    return [b"%d" % next_cursor, page]


def _has_type(db: Database, key: bytes, wanted: str) -> bool:
    value = db.read(key, None, False)
    return value is not None and type_name(value) == wanted


@command("randomkey", 1, flags="readonly", acl="keyspace", group=GROUP, since="1.0.0",
         summary="Returns a random key name from the database.", complexity="O(1)")
def randomkey(client: Client, args: list[bytes]):
    return client.db.random_key()


@command("dbsize", 1, flags="readonly fast", acl="keyspace", group="server", since="1.0.0",
         summary="Returns the number of keys in the database.", complexity="O(1)")
def dbsize(client: Client, args: list[bytes]):
    return len(client.db)


# -- renaming, moving, copying --------------------------------------------------------------------

@command("rename", 3, flags="write", keys=(1, 2, 1), acl="keyspace", group=GROUP, since="1.0.0",
         summary="Renames a key and overwrites the destination.", complexity="O(1)")
def rename(client: Client, args: list[bytes]):
    rename_generic(client, args[1], args[2], overwrite=True)
    return "OK"


@command("renamenx", 3, flags="write fast", keys=(1, 2, 1), acl="keyspace", group=GROUP, since="1.0.0",
         summary="Renames a key only when the target key name doesn't exist.", complexity="O(1)")
def renamenx(client: Client, args: list[bytes]):
    return 1 if rename_generic(client, args[1], args[2], overwrite=False) else 0


def rename_generic(client: Client, src: bytes, dst: bytes, overwrite: bool) -> bool:
    """RENAME/RENAMENX: True when src was moved to dst (its TTL travels with it)."""
    db = client.db
    value = db.write_lookup(src)
    if value is None:
        raise CommandError(NO_SUCH_KEY)
    if src == dst:
        return overwrite  # nothing to do; RENAMENX reports "not renamed"
    if db.write_lookup(dst) is not None and not overwrite:
        return False
    db.rename(src, dst, value)
    notify(client, db, "rename_from", src)
    notify(client, db, "rename_to", dst)
    return True


@command("move", 3, flags="write fast", keys=(1, 1, 1), acl="keyspace", group=GROUP, since="1.0.0",
         summary="Moves a key to another database.", complexity="O(1)")
def move(client: Client, args: list[bytes]):
    key, src = args[1], client.db
    dst = select_db(client, parse_db_number(args[2]))
    if dst is src:
        raise CommandError(SAME_OBJECT)
    value = src.write_lookup(key)
    if value is None or dst.write_lookup(key) is not None:
        return 0
    when = src.ttl_ms(key)
    dst.set(key, value, changes=0)  # one change in all, counted by the delete
    if when is not None:
        dst.set_expire(key, when)
    src.delete(key)
    notify(client, src, "move_from", key)
    notify(client, dst, "move_to", key)
    return 1


@command("copy", -3, flags="write denyoom", keys=(1, 2, 1), acl="keyspace", group=GROUP, since="6.2.0",
         summary="Copies the value of a key to a new key.",
         complexity="O(N) worst case for collections, where N is the number of nested items. O(1) for "
                    "string values.")
def copy(client: Client, args: list[bytes]):
    key, new_key, src = args[1], args[2], client.db
    dst, replace = src, False
    i = 3
    while i < len(args):
        option = args[i].lower()
        if option == b"replace":
            replace = True
        elif option == b"db" and i + 1 < len(args):
            dst = select_db(client, parse_db_number(args[i + 1]))
            i += 1
        else:
            raise CommandError(SYNTAX)
        i += 1
    if dst is src and key == new_key:
        raise CommandError(SAME_OBJECT)
    value = src.read(key)
    if value is None:
        return 0
    if dst.write_lookup(new_key) is not None and not replace:
        return 0
    when = src.ttl_ms(key)
    dst.recreate(new_key, copy_value(value))  # REPLACE deletes, then adds: a 'new' event, as Redis
    if when is not None:
        dst.set_expire(new_key, when)
    notify(client, dst, "copy_to", new_key)
    return 1


# -- expiry ---------------------------------------------------------------------------------------

def expire_or_delete(client: Client, db: Database, key: bytes, when_ms: int) -> None:
    """Give an existing key an absolute deadline; one already past deletes the key instead."""
    if when_ms <= client.server.clock_ms():
        db.delete(key)
        notify(client, db, "del", key)
        propagate_as(client, [b"UNLINK" if client.server.config["lazyfree-lazy-expire"] else b"DEL", key])
    else:
        db.set_expire(key, when_ms)
        db.modified(key)
        notify(client, db, "expire", key)


_NX, _XX, _GT, _LT = 1, 2, 4, 8
_EXPIRE_CONDITIONS = {b"nx": _NX, b"xx": _XX, b"gt": _GT, b"lt": _LT}


def parse_expire_conditions(options: list[bytes]) -> int:
    conditions = 0
    for option in options:
        flag = _EXPIRE_CONDITIONS.get(option.lower())
        if flag is None:
            raise CommandError(f"ERR Unsupported option {option.decode('utf-8', 'surrogateescape')}")
        conditions |= flag
    if conditions & _NX and conditions & (_XX | _GT | _LT):
        raise CommandError("ERR NX and XX, GT or LT options at the same time are not compatible")
    if conditions & _GT and conditions & _LT:
        raise CommandError("ERR GT and LT options at the same time are not compatible")
    return conditions


def _conditions_allow(conditions: int, current: int | None, when: int) -> bool:
    """NX/XX/GT/LT against the current deadline (None: no TTL, which counts as infinite)."""
    if conditions & _NX and current is not None:
        return False
    if conditions & _XX and current is None:
        return False
    if conditions & _GT and (current is None or when <= current):
        return False
    return not (conditions & _LT and current is not None and when >= current)


def expire_generic(client: Client, args: list[bytes], name: str, relative: bool, unit_ms: int) -> int:
    """EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT: negative or past times are allowed and delete the key;
    only arithmetic overflow is an error."""
    conditions = parse_expire_conditions(args[3:])
    when = parse_int(args[2])
    if unit_ms == 1000:
        if abs(when) > LLONG_MAX // 1000:
            raise invalid_expire_time(name)
        when *= 1000
    base = client.server.clock_ms() if relative else 0
    if when > LLONG_MAX - base:
        raise invalid_expire_time(name)
    when += base
    db, key = client.db, args[1]
    if db.write_lookup(key) is None:
        return 0
    if conditions and not _conditions_allow(conditions, db.ttl_ms(key), when):
        return 0
    if name != "pexpireat":  # as PEXPIREAT with the absolute time, options kept (Redis rewrites argv 0 and 2)
        propagate_as(client, [b"PEXPIREAT", key, b"%d" % when, *args[3:]])
    expire_or_delete(client, db, key, when)
    return 1


@command("expire", -3, flags="write fast", keys=(1, 1, 1), acl="keyspace", group=GROUP, since="1.0.0",
         summary="Sets the expiration time of a key in seconds.", complexity="O(1)")
def expire(client: Client, args: list[bytes]):
    return expire_generic(client, args, "expire", relative=True, unit_ms=1000)


@command("pexpire", -3, flags="write fast", keys=(1, 1, 1), acl="keyspace", group=GROUP, since="2.6.0",
         summary="Sets the expiration time of a key in milliseconds.", complexity="O(1)")
def pexpire(client: Client, args: list[bytes]):
    return expire_generic(client, args, "pexpire", relative=True, unit_ms=1)


@command("expireat", -3, flags="write fast", keys=(1, 1, 1), acl="keyspace", group=GROUP, since="1.2.0",
         summary="Sets the expiration time of a key to a Unix timestamp.", complexity="O(1)")
def expireat(client: Client, args: list[bytes]):
    return expire_generic(client, args, "expireat", relative=False, unit_ms=1000)


@command("pexpireat", -3, flags="write fast", keys=(1, 1, 1), acl="keyspace", group=GROUP,
         since="2.6.0", summary="Sets the expiration time of a key to a Unix milliseconds timestamp.",
         complexity="O(1)")
def pexpireat(client: Client, args: list[bytes]):
    return expire_generic(client, args, "pexpireat", relative=False, unit_ms=1)


def ttl_generic(client: Client, key: bytes, in_ms: bool, absolute: bool) -> int:
    """TTL/PTTL/EXPIRETIME/PEXPIRETIME: -2 no key, -1 no TTL; seconds are rounded to nearest."""
    db = client.db
    if db.read(key, None, False) is None:
        return -2
    when = db.ttl_ms(key)
    if when is None:
        return -1
    remaining = when if absolute else max(when - client.server.clock_ms(), 0)
    return remaining if in_ms else (remaining + 500) // 1000


@command("ttl", 2, flags="readonly fast", keys=(1, 1, 1), acl="keyspace", group=GROUP, since="1.0.0",
         summary="Returns the expiration time in seconds of a key.", complexity="O(1)")
def ttl(client: Client, args: list[bytes]):
    return ttl_generic(client, args[1], in_ms=False, absolute=False)


@command("pttl", 2, flags="readonly fast", keys=(1, 1, 1), acl="keyspace", group=GROUP, since="2.6.0",
         summary="Returns the expiration time in milliseconds of a key.", complexity="O(1)")
def pttl(client: Client, args: list[bytes]):
    return ttl_generic(client, args[1], in_ms=True, absolute=False)


@command("expiretime", 2, flags="readonly fast", keys=(1, 1, 1), acl="keyspace", group=GROUP,
         since="7.0.0", summary="Returns the expiration time of a key as a Unix timestamp.",
         complexity="O(1)")
def expiretime(client: Client, args: list[bytes]):
    return ttl_generic(client, args[1], in_ms=False, absolute=True)


@command("pexpiretime", 2, flags="readonly fast", keys=(1, 1, 1), acl="keyspace", group=GROUP,
         since="7.0.0", summary="Returns the expiration time of a key as a Unix milliseconds timestamp.",
         complexity="O(1)")
def pexpiretime(client: Client, args: list[bytes]):
    return ttl_generic(client, args[1], in_ms=True, absolute=True)


@command("persist", 2, flags="write fast", keys=(1, 1, 1), acl="keyspace", group=GROUP, since="2.2.0",
         summary="Removes the expiration time of a key.", complexity="O(1)")
def persist(client: Client, args: list[bytes]):
    db, key = client.db, args[1]
    if db.write_lookup(key) is None or not db.persist(key):
        return 0
    db.modified(key)
    notify(client, db, "persist", key)
    return 1


# -- OBJECT ---------------------------------------------------------------------------------------

container("object", -2, group=GROUP, since="2.2.3",
          summary="A container for object introspection commands.")

_INT_TEXT = re.compile(rb"-?[1-9][0-9]*|0")
_LRU_LFU_POLICIES = LFU_POLICIES | {"allkeys-lru", "volatile-lru"}
_POLICY_SWITCH_NOTE = ("Please note that when switching between policies at runtime LRU and LFU data will "
                       "take some time to adjust.")


def int_encodable(value: bytes | bytearray) -> int | None:
    """The integer Redis would store a SET value as ("int" encoding), or None: canonical decimal
    text of a signed 64-bit integer, at most 20 bytes."""
    if len(value) > 20 or _INT_TEXT.fullmatch(value) is None:
        return None
    number = int(value)
    return number if -(2**63) <= number <= LLONG_MAX else None


def string_encoding(value: bytes | bytearray) -> bytes:
    """OBJECT ENCODING of a string: bytearray marks a value Redis keeps "raw" (edited in place);
    other values are "int" when integer-like, "embstr" up to 44 bytes, "raw" beyond."""
    if value.__class__ is bytearray:
        return b"raw"
    if int_encodable(value) is not None:
        return b"int"
    return b"embstr" if len(value) <= 44 else b"raw"


def _maxmemory_policy(client: Client) -> str:
    # maxmemory-policy may not be in the directive table of every build yet.
    return client.server.config.values.get("maxmemory-policy", "noeviction")


def _require_lfu_policy(client: Client, wanted: bool) -> None:
    """FREQ needs an LFU policy and IDLETIME needs any other: Redis keeps one or the other."""
    if (_maxmemory_policy(client) in LFU_POLICIES) != wanted:
        if wanted:
            raise CommandError("ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
                               + _POLICY_SWITCH_NOTE)
        raise CommandError("ERR An LFU maxmemory policy is selected, idle time not tracked. "
                           + _POLICY_SWITCH_NOTE)


def _is_shared_integer(client: Client, value: Any) -> bool:
    """Redis stores small integers 0..9999 as shared objects unless an LRU/LFU maxmemory policy
    needs a per-key access field."""
    if value.__class__ is not bytes:
        return False
    number = int_encodable(value)
    if number is None or not 0 <= number < SHARED_INTEGERS:
        return False
    config = client.server.config.values
    return not config.get("maxmemory", 0) or _maxmemory_policy(client) not in _LRU_LFU_POLICIES


def _object_subcommand(sub: str, since: str, summary: str):
    """Declare OBJECT <sub> <key>: a missing key answers null, otherwise describe(client, key, value)."""

    def register(describe: Callable[[Client, bytes, Any], Any]):
        def handler(client: Client, args: list[bytes]):
            value = client.db.read(args[2], None, False, notify_miss=False)  # no LRU update, no keymiss (LOOKUP_NONOTIFY)
            return None if value is None else describe(client, args[2], value)

        command(f"object|{sub}", 3, flags="readonly", keys=(2, 2, 1), acl="keyspace", group=GROUP,
                since=since, summary=summary, complexity="O(1)")(handler)
        return describe

    return register


@_object_subcommand("encoding", "2.2.3", "Returns the internal encoding of a Redis object.")
def object_encoding(client: Client, key: bytes, value: Any):
    if value.__class__ in (bytes, bytearray):
        return string_encoding(value)
    return value.encoding(client.server).encode()


@_object_subcommand("refcount", "2.2.3", "Returns the reference count of a value of a key.")
def object_refcount(client: Client, key: bytes, value: Any):
    return SHARED_REFCOUNT if _is_shared_integer(client, value) else 1


@_object_subcommand("idletime", "2.2.3", "Returns the time since the last access to a Redis object.")
def object_idletime(client: Client, key: bytes, value: Any):
    _require_lfu_policy(client, False)
    now = client.server.clock_ms()
    return (now - client.db.lru.get(key, now)) // 1000


@_object_subcommand("freq", "4.0.0", "Returns the logarithmic access frequency counter of a Redis object.")
def object_freq(client: Client, key: bytes, value: Any):
    _require_lfu_policy(client, True)
    if _is_shared_integer(client, value):
        return 0  # shared objects keep the counter they were created with
    # Under an LFU policy Database.lru is an LfuAccessTimes (Memory.track_access).
    return client.db.lru.frequency(key, client.server.clock_ms())  # type: ignore[attr-defined]


declare_help("object", (
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
), since="6.2.0", group=GROUP, acl="keyspace")


# -- whole databases ------------------------------------------------------------------------------

def parse_flush_mode(args: list[bytes]) -> None:
    """FLUSHDB/FLUSHALL [ASYNC|SYNC]: both modes free synchronously here (a Python dict's memory
    is released as its references drop), so the option is only validated."""
    if len(args) > 2 or (len(args) == 2 and args[1].lower() not in (b"async", b"sync")):
        raise CommandError(SYNTAX)


_FLUSH_FLAGS = dict(flags="write", acl="keyspace dangerous", group="server")


@command("flushdb", -1, since="1.0.0", summary="Remove all keys from the current database.",
         complexity="O(N) where N is the number of keys in the selected database", **_FLUSH_FLAGS)
def flushdb(client: Client, args: list[bytes]):
    parse_flush_mode(args)
    client.db.flush()
    return "OK"


@command("flushall", -1, since="1.0.0", summary="Removes all keys from all databases.",
         complexity="O(N) where N is the total number of keys in all databases", **_FLUSH_FLAGS)
def flushall(client: Client, args: list[bytes]):
    parse_flush_mode(args)
    for db in client.server.dbs:
        db.flush()
    snapshot.after_flushall(client.server)  # stops a BGSAVE; saves the empty dataset under save points
    client.server.dirty += 1  # Redis counts the FLUSHALL itself on top of the removed keys
    return "OK"


@command("swapdb", 3, flags="write fast", acl="keyspace dangerous", group="server", since="4.0.0",
         summary="Swaps two Redis databases.",
         complexity="O(N) where N is the count of clients watching or blocking on keys from both "
                    "databases.")
def swapdb(client: Client, args: list[bytes]):
    first_number = parse_db_number(args[1], "ERR invalid first DB index")
    second_number = parse_db_number(args[2], "ERR invalid second DB index")
    first, second = select_db(client, first_number), select_db(client, second_number)
    if first is not second:
        first.swap_contents(second)
    return "OK"
