"""String commands (Redis's t_string.c): GET SET SETNX SETEX PSETEX MGET MSET MSETNX GETSET GETDEL
GETEX APPEND STRLEN GETRANGE SUBSTR SETRANGE INCR DECR INCRBY DECRBY INCRBYFLOAT LCS.

Values are `bytes`; a `bytearray` marks what Redis holds "raw" after in-place edits (APPEND,
SETRANGE), which `edit_string` produces and edits in place. Because a bytearray can change after a
reply referencing it was queued, every reply of a stored string goes through `string_reply`.

As in Redis, families share one generic body: `set_generic` serves SET/SETNX/SETEX/PSETEX,
`parse_string_options` parses SET's and GETEX's options, `incr_decr` the four integer commands.
INCRBYFLOAT reproduces C `long double` (x87 80-bit) arithmetic and `%.17Lf` formatting exactly
(protocol/long_double.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..protocol.errors import OVERFLOW, SYNTAX, WRONGTYPE, CommandError, invalid_expire_time, wrong_arity
from ..protocol.long_double import ZERO, add_long_doubles, format_long_double, parse_long_double
from ..server.propagate import propagate_as
from .keys import expire_or_delete
from .table import command, parse_int

if TYPE_CHECKING:
    from ..keyspace.database import Database
    from ..server.client import Client

GROUP = "string"
LLONG_MIN, LLONG_MAX = -(2**63), 2**63 - 1
STRING_TOO_LONG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"


def string_reply(value: bytes | bytearray | None) -> bytes | None:
    """A stored string as a reply: bytearrays are snapshotted, as they may be edited in place."""
    return bytes(value) if value.__class__ is bytearray else value


def notify(client: Client, db: Database, event: str, key: bytes) -> None:
    notifier = client.server.notifier
    if "$" in notifier.classes:  # checked here too: most writes have no event to publish
        notifier.notify(db, "$", event, key)


def check_string_length(client: Client, size: int, extra: int) -> None:
    """Redis's checkStringLength: a string may not grow past proto-max-bulk-len."""
    if size + extra > client.server.proto_max_bulk_len:
        raise CommandError(STRING_TOO_LONG)


def edit_string(db: Database, key: bytes, value: bytes | bytearray | None,
                edit: Callable[[bytearray], None]) -> bytearray:
    """Apply `edit` to the string at key in place (Redis's dbUnshareStringValue: bytes become a
    bytearray, which is then stored) and record one modification. None means a new empty key."""
    if value.__class__ is bytearray:
        edit(value)
        db.modified(key)
        return value
    raw = bytearray(value or b"")
    edit(raw)
    db.set(key, raw, keep_ttl=True)
    return raw


def store_string(client: Client, db: Database, key: bytes, value: bytes) -> None:
    """Plain SET/MSET of one key: replaces any value and TTL. The lookup first lets a key whose
    TTL is due expire properly (stats, "expired" event) before it is replaced, as in Redis."""
    if db.expires:
        db.lookup(key)
    db.set(key, value)
    notifier = client.server.notifier
    if "$" in notifier.classes:
        notifier.notify(db, "$", "set", key)


# -- GET and friends ------------------------------------------------------------------------------

@command("get", 2, flags="readonly fast", keys=(1, 1, 1), acl="string", group=GROUP, since="1.0.0",
         summary="Returns the string value of a key.", complexity="O(1)")
def get(client: Client, args: list[bytes]):
    value = client.db.read(args[1])  # the type is checked here: cheaper for the usual bytes
    if value.__class__ is bytes or value is None:
        return value
    if value.__class__ is bytearray:
        return bytes(value)
    raise CommandError(WRONGTYPE)


@command("mget", -2, flags="readonly fast", keys=(1, -1, 1), acl="string", group=GROUP, since="1.0.0",
         summary="Atomically returns the string values of one or more keys.",
         complexity="O(N) where N is the number of keys to retrieve.")
def mget(client: Client, args: list[bytes]):
    read = client.db.read
    values = []
    for key in args[1:]:
        value = read(key)
        values.append(string_reply(value) if value.__class__ in (bytes, bytearray) else None)
    return values


@command("strlen", 2, flags="readonly fast", keys=(1, 1, 1), acl="string", group=GROUP, since="2.2.0",
         summary="Returns the length of a string value.", complexity="O(1)")
def strlen(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "string")
    return 0 if value is None else len(value)


@command("substr", 4, flags="readonly", keys=(1, 1, 1), acl="string", group=GROUP, since="1.0.0",
         summary="Returns a substring from a string value.",
         complexity="O(N) where N is the length of the returned string. The complexity is ultimately "
                    "determined by the returned length, but because creating a substring from an "
                    "existing string is very cheap, it can be considered O(1) for small strings.")
@command("getrange", 4, flags="readonly", keys=(1, 1, 1), acl="string", group=GROUP, since="2.4.0",
         summary="Returns a substring of the string stored at a key.",
         complexity="O(N) where N is the length of the returned string. The complexity is ultimately "
                    "determined by the returned length, but because creating a substring from an "
                    "existing string is very cheap, it can be considered O(1) for small strings.")
def getrange(client: Client, args: list[bytes]):
    start, end = parse_int(args[2]), parse_int(args[3])
    value = client.db.read(args[1], "string")
    if value is None:
        return b""
    length = len(value)
    if start < 0 and end < 0 and start > end:
        return b""
    # Negative indexes count from the end; both ends are then clamped into the string.
    start = max(length + start, 0) if start < 0 else start
    end = max(length + end, 0) if end < 0 else min(end, length - 1)
    if start > end or length == 0:
        return b""
    return bytes(value[start:end + 1])


@command("getdel", 2, flags="write fast", keys=(1, 1, 1), acl="string", group=GROUP, since="6.2.0",
         summary="Returns the string value of a key after deleting the key.", complexity="O(1)")
def getdel(client: Client, args: list[bytes]):
    db, key = client.db, args[1]
    value = db.read(key, "string")
    if value is not None:
        db.delete(key)
        client.server.notifier.notify(db, "g", "del", key)
        propagate_as(client, [b"DEL", key])
    return string_reply(value)


@command("getset", 3, flags="write denyoom fast", keys=(1, 1, 1), acl="string", group=GROUP,
         since="1.0.0", summary="Returns the previous string value of a key after setting it to a new value.",
         complexity="O(1)")
def getset(client: Client, args: list[bytes]):
    db, key = client.db, args[1]
    old = string_reply(db.read(key, "string"))
    db.set(key, args[2])
    notify(client, db, "set", key)
    return old


# -- SET and its variants -------------------------------------------------------------------------

# Option flags of SET and GETEX (Redis's OBJ_* flags).
NX, XX, GET, KEEPTTL, EX, PX, EXAT, PXAT, PERSIST = (1 << bit for bit in range(9))
_SET_ONLY, _GETEX_ONLY, _BOTH = 1, 2, 3
_EXPIRY = EX | PX | EXAT | PXAT

# option -> (flag, flags it cannot be combined with, commands accepting it, takes a value)
_STRING_OPTIONS: dict[bytes, tuple[int, int, int, bool]] = {
    b"nx": (NX, XX, _SET_ONLY, False),
    b"xx": (XX, NX, _SET_ONLY, False),
    b"get": (GET, 0, _SET_ONLY, False),
    b"keepttl": (KEEPTTL, PERSIST | _EXPIRY, _SET_ONLY, False),
    b"persist": (PERSIST, KEEPTTL | _EXPIRY, _GETEX_ONLY, False),
    b"ex": (EX, KEEPTTL | PERSIST | EXAT | PX | PXAT, _BOTH, True),
    b"px": (PX, KEEPTTL | PERSIST | EX | EXAT | PXAT, _BOTH, True),
    b"exat": (EXAT, KEEPTTL | PERSIST | EX | PX | PXAT, _BOTH, True),
    b"pxat": (PXAT, KEEPTTL | PERSIST | EX | EXAT | PX, _BOTH, True),
}


def parse_string_options(args: list[bytes], start: int, command_kind: int) -> tuple[int, bytes | None]:
    """SET's [NX|XX] [GET] [EX|PX|EXAT|PXAT t|KEEPTTL] or GETEX's [EX|PX|EXAT|PXAT t|PERSIST].
    Returns (flags, raw expire argument). Repeating an option is allowed (the last time wins)."""
    flags, expire = 0, None
    i = start
    while i < len(args):
        spec = _STRING_OPTIONS.get(args[i].lower())
        if spec is None:
            raise CommandError(SYNTAX)
        flag, conflicts, kinds, takes_value = spec
        if flags & conflicts or not kinds & command_kind or (takes_value and i + 1 >= len(args)):
            raise CommandError(SYNTAX)
        flags |= flag
        if takes_value:
            expire = args[i + 1]
            i += 1
        i += 1
    return flags, expire


def expire_deadline(client: Client, raw: bytes, flags: int, name: str) -> int:
    """The absolute unix-ms deadline of an EX/PX/EXAT/PXAT argument; it must be positive and
    must not overflow a signed 64-bit integer."""
    amount = parse_int(raw)
    in_seconds = flags & (EX | EXAT)
    if amount <= 0 or (in_seconds and amount > LLONG_MAX // 1000):
        raise invalid_expire_time(name)
    if in_seconds:
        amount *= 1000
    if flags & (EX | PX):
        amount += client.server.clock_ms()
    if amount > LLONG_MAX:
        raise invalid_expire_time(name)
    return amount


def set_generic(client: Client, key: bytes, value: bytes, flags: int, expire: bytes | None, name: str,
                ok_reply: object = "OK", abort_reply: object = None):
    """Redis's setGenericCommand: SET with options, SETNX, SETEX and PSETEX."""
    deadline = expire_deadline(client, expire, flags, name) if expire is not None else None
    db = client.db
    if flags & GET:
        old = string_reply(db.read(key, "string"))
        found = old is not None
    else:
        found = db.write_lookup(key) is not None
    if (flags & NX and found) or (flags & XX and not found):
        return old if flags & GET else abort_reply
    db.set(key, value, keep_ttl=bool(flags & KEEPTTL) or deadline is not None)
    notify(client, db, "set", key)
    if deadline is not None:
        db.set_expire(key, deadline)
        client.server.notifier.notify(db, "g", "expire", key)
        if not flags & PXAT:  # relative times become absolute, so that a replay sets the same deadline
            propagate_as(client, [b"SET", key, value, b"PXAT", b"%d" % deadline])
    return old if flags & GET else ok_reply


@command("set", -3, flags="write denyoom", keys=(1, 1, 1), acl="string", group=GROUP, since="1.0.0",
         summary="Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
         complexity="O(1)")
def set_(client: Client, args: list[bytes]):
    if len(args) == 3:  # the plain form skips option parsing
        store_string(client, client.db, args[1], args[2])
        return "OK"
    flags, expire = parse_string_options(args, 3, _SET_ONLY)
    if flags & GET and expire is None:  # propagated without GET (set_generic rewrites the expiring forms)
        propagate_as(client, [arg for index, arg in enumerate(args) if index < 3 or arg.lower() != b"get"])
    return set_generic(client, args[1], args[2], flags, expire, "set")


@command("setnx", 3, flags="write denyoom fast", keys=(1, 1, 1), acl="string", group=GROUP, since="1.0.0",
         summary="Set the string value of a key only when the key doesn't exist.", complexity="O(1)")
def setnx(client: Client, args: list[bytes]):
    return set_generic(client, args[1], args[2], NX, None, "setnx", ok_reply=1, abort_reply=0)


@command("setex", 4, flags="write denyoom", keys=(1, 1, 1), acl="string", group=GROUP, since="2.0.0",
         summary="Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
         complexity="O(1)")
def setex(client: Client, args: list[bytes]):
    return set_generic(client, args[1], args[3], EX, args[2], "setex")


@command("psetex", 4, flags="write denyoom", keys=(1, 1, 1), acl="string", group=GROUP, since="2.6.0",
         summary="Sets both string value and expiration time in milliseconds of a key. The key is "
                 "created if it doesn't exist.", complexity="O(1)")
def psetex(client: Client, args: list[bytes]):
    return set_generic(client, args[1], args[3], PX, args[2], "psetex")


@command("getex", -2, flags="write fast", keys=(1, 1, 1), acl="string", group=GROUP, since="6.2.0",
         summary="Returns the string value of a key after setting its expiration time.", complexity="O(1)")
def getex(client: Client, args: list[bytes]):
    flags, expire = parse_string_options(args, 2, _GETEX_ONLY)
    db, key = client.db, args[1]
    value = db.read(key, "string")
    if value is None:
        return None
    reply = string_reply(value)  # taken before the key may be deleted
    if expire is not None:
        deadline = expire_deadline(client, expire, flags, "getex")
        if not flags & PXAT:  # Redis keeps GETEX ... PXAT as it is
            propagate_as(client, [b"PEXPIREAT", key, b"%d" % deadline])
        expire_or_delete(client, db, key, deadline)  # propagates DEL instead when already past
    elif flags & PERSIST and db.persist(key):
        db.modified(key)
        client.server.notifier.notify(db, "g", "persist", key)
        propagate_as(client, [b"PERSIST", key])
    return reply


def mset_generic(client: Client, args: list[bytes], name: str, only_new: bool) -> bool:
    """MSET/MSETNX: False (nothing set) when only_new and any key exists."""
    if len(args) % 2 == 0:
        raise wrong_arity(name)
    db = client.db
    if only_new and any(db.write_lookup(key) is not None for key in args[1::2]):
        return False
    for i in range(1, len(args), 2):
        store_string(client, db, args[i], args[i + 1])
    return True


@command("mset", -3, flags="write denyoom", keys=(1, -1, 2), acl="string", group=GROUP, since="1.0.1",
         summary="Atomically creates or modifies the string values of one or more keys.",
         complexity="O(N) where N is the number of keys to set.")
def mset(client: Client, args: list[bytes]):
    mset_generic(client, args, "mset", only_new=False)
    return "OK"


@command("msetnx", -3, flags="write denyoom", keys=(1, -1, 2), acl="string", group=GROUP, since="1.0.1",
         summary="Atomically modifies the string values of one or more keys only when all keys don't exist.",
         complexity="O(N) where N is the number of keys to set.")
def msetnx(client: Client, args: list[bytes]):
    return 1 if mset_generic(client, args, "msetnx", only_new=True) else 0


# -- in-place edits -------------------------------------------------------------------------------

@command("append", 3, flags="write denyoom fast", keys=(1, 1, 1), acl="string", group=GROUP,
         since="2.0.0", summary="Appends a string to the value of a key. Creates the key if it doesn't exist.",
         complexity="O(1). The amortized time complexity is O(1) assuming the appended value is small "
                    "and the already present value is of any size, since the dynamic string library "
                    "used by Redis will double the free space available on every reallocation.")
def append(client: Client, args: list[bytes]):
    db, key, suffix = client.db, args[1], args[2]
    value = db.write_lookup(key, "string")
    if value is None:
        db.set(key, suffix)  # a new key holds the argument as SET would (int/embstr/raw)
        length = len(suffix)
    else:
        check_string_length(client, len(value), len(suffix))
        length = len(edit_string(db, key, value, lambda raw: raw.extend(suffix)))
    notify(client, db, "append", key)
    return length


@command("setrange", 4, flags="write denyoom", keys=(1, 1, 1), acl="string", group=GROUP, since="2.2.0",
         summary="Overwrites a part of a string value with another by an offset. Creates the key if it "
                 "doesn't exist.",
         complexity="O(1), not counting the time taken to copy the new string in place. Usually, this "
                    "string is very small so the amortized complexity is O(1). Otherwise, complexity is "
                    "O(M) with M being the length of the value argument.")
def setrange(client: Client, args: list[bytes]):
    offset, patch = parse_int(args[2]), args[3]
    if offset < 0:
        raise CommandError("ERR offset is out of range")
    db, key = client.db, args[1]
    value = db.write_lookup(key, "string")
    if not patch:  # nothing to write: report the current length, create nothing
        return 0 if value is None else len(value)
    check_string_length(client, offset, len(patch))

    def overwrite(raw: bytearray) -> None:
        if len(raw) < offset:
            raw.extend(bytes(offset - len(raw)))  # zero padding up to the offset
        raw[offset:offset + len(patch)] = patch

    length = len(edit_string(db, key, value, overwrite))
    notify(client, db, "setrange", key)
    return length


# -- counters -------------------------------------------------------------------------------------

def incr_decr(client: Client, key: bytes, delta: int) -> int:
    """Redis's incrDecrCommand: add delta to the integer at key (0 when missing), keeping its TTL."""
    db = client.db
    value = db.write_lookup(key, "string")
    current = 0 if value is None else parse_int(value)
    result = current + delta
    if not LLONG_MIN <= result <= LLONG_MAX:
        raise CommandError(OVERFLOW)
    db.set(key, b"%d" % result, keep_ttl=True)
    notify(client, db, "incrby", key)
    return result


_COUNTER = dict(flags="write denyoom fast", keys=(1, 1, 1), acl="string", group=GROUP, complexity="O(1)")


@command("incr", 2, since="1.0.0", summary="Increments the integer value of a key by one. Uses 0 as "
         "initial value if the key doesn't exist.", **_COUNTER)
def incr(client: Client, args: list[bytes]):
    return incr_decr(client, args[1], 1)


@command("decr", 2, since="1.0.0", summary="Decrements the integer value of a key by one. Uses 0 as "
         "initial value if the key doesn't exist.", **_COUNTER)
def decr(client: Client, args: list[bytes]):
    return incr_decr(client, args[1], -1)


@command("incrby", 3, since="1.0.0", summary="Increments the integer value of a key by a number. Uses 0 "
         "as initial value if the key doesn't exist.", **_COUNTER)
def incrby(client: Client, args: list[bytes]):
    return incr_decr(client, args[1], parse_int(args[2]))


@command("decrby", 3, since="1.0.0", summary="Decrements a number from the integer value of a key. Uses 0 "
         "as initial value if the key doesn't exist.", **_COUNTER)
def decrby(client: Client, args: list[bytes]):
    amount = parse_int(args[2])
    if amount == LLONG_MIN:  # its negation does not fit
        raise CommandError("ERR decrement would overflow")
    return incr_decr(client, args[1], -amount)


@command("incrbyfloat", 3, since="2.6.0", summary="Increment the floating point value of a key by a "
         "number. Uses 0 as initial value if the key doesn't exist.", **_COUNTER)
def incrbyfloat(client: Client, args: list[bytes]):
    db, key = client.db, args[1]
    value = db.write_lookup(key, "string")
    current = ZERO if value is None else parse_long_double(bytes(value))
    increment = parse_long_double(args[2])
    total = add_long_doubles(current, increment)
    text = format_long_double(total)
    db.set(key, text, keep_ttl=True)
    notify(client, db, "incrbyfloat", key)
    propagate_as(client, [b"SET", key, text, b"KEEPTTL"])  # the result, not the float arithmetic
    return text


# -- LCS ------------------------------------------------------------------------------------------

@command("lcs", -3, flags="readonly", keys=(1, 2, 1), acl="string", group=GROUP, since="7.0.0",
         summary="Finds the longest common substring.",
         complexity="O(N*M) where N and M are the lengths of s1 and s2, respectively")
def lcs(client: Client, args: list[bytes]):
    db = client.db
    first, second = db.read(args[1]), db.read(args[2])
    for value in (first, second):
        if value is not None and value.__class__ not in (bytes, bytearray):
            raise CommandError("ERR The specified keys must contain string values")
    a, b = bytes(first or b""), bytes(second or b"")
    want_len = want_idx = with_match_len = False
    min_match_len = 0
    i = 3
    while i < len(args):
        option = args[i].lower()
        if option == b"idx":
            want_idx = True
        elif option == b"len":
            want_len = True
        elif option == b"withmatchlen":
            with_match_len = True
        elif option == b"minmatchlen" and i + 1 < len(args):
            min_match_len = max(parse_int(args[i + 1]), 0)
            i += 1
        else:
            raise CommandError(SYNTAX)
        i += 1
    if want_len and want_idx:
        raise CommandError("ERR If you want both the length and indexes, please just use IDX.")
    _check_lcs_size(client, len(a), len(b))
    if want_len:
        return _lcs_length(a, b)
    rows = _lcs_rows(a, b)
    text, matches = _lcs_backtrack(a, b, rows, min_match_len, with_match_len)
    if want_idx:
        return {b"matches": matches, b"len": len(text)}
    return text


def _check_lcs_size(client: Client, alen: int, blen: int) -> None:
    """Redis refuses inputs whose DP table ((alen+1)*(blen+1) uint32s) would be too big."""
    if alen >= 2**32 - 2 or blen >= 2**32 - 2:
        raise CommandError("ERR String too long for LCS")
    if (alen + 1) * (blen + 1) * 4 > client.server.proto_max_bulk_len:
        raise CommandError("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")


# The LCS table is computed bit-parallel (Hyyro's algorithm): row i is an int whose bit j is 0 where
# the prefix length grows, so LCS(a[:i], b[:j]) = j - popcount(row_i & (2**j - 1)). Same table as
# Redis's dynamic programming, without its O(N*M) Python-level loop.

def _match_masks(b: bytes) -> dict[int, int]:
    """For each byte value in b, the int with bit j set where b[j] is that byte."""
    backwards = b[::-1]  # int(text, 2) reads the most significant bit first
    masks = {}
    for byte in set(b):
        to_bits = bytes(0x31 if x == byte else 0x30 for x in range(256))
        masks[byte] = int(backwards.translate(to_bits), 2)
    return masks


def _lcs_step(row: int, mask: int, full: int) -> int:
    matched = row & mask
    return ((row + matched) | (row - matched)) & full


def _lcs_length(a: bytes, b: bytes) -> int:
    masks, full = _match_masks(b), (1 << len(b)) - 1
    row = full
    for ch in a:
        row = _lcs_step(row, masks.get(ch, 0), full)
    return len(b) - row.bit_count()


def _lcs_rows(a: bytes, b: bytes) -> list[int]:
    masks, full = _match_masks(b), (1 << len(b)) - 1
    rows = [full]
    for ch in a:
        rows.append(_lcs_step(rows[-1], masks.get(ch, 0), full))
    return rows


def _lcs_backtrack(a: bytes, b: bytes, rows: list[int], min_match_len: int,
                   with_match_len: bool) -> tuple[bytes, list]:
    """Walk the table back from the end as Redis does, collecting the LCS and its matching
    ranges (latest first), so that ties pick the same path and ranges as Redis."""

    def table(i: int, j: int) -> int:
        return j - (rows[i] & ((1 << j) - 1)).bit_count()

    i, j = len(a), len(b)
    picked = bytearray()
    matches: list = []
    open_range = False
    a_start = a_end = b_start = b_end = 0
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            picked.append(a[i - 1])
            if not open_range:
                a_start = a_end = i - 1
                b_start = b_end = j - 1
                open_range = True
            elif a_start == i and b_start == j:  # contiguous: extend the range backwards
                a_start -= 1
                b_start -= 1
            else:
                emit = True
            if a_start == 0 or b_start == 0:
                emit = True
            i -= 1
            j -= 1
        else:
            if table(i - 1, j) > table(i, j - 1):
                i -= 1
            else:
                j -= 1
            emit = open_range
        if emit:
            match_len = a_end - a_start + 1
            if min_match_len == 0 or match_len >= min_match_len:
                entry = [[a_start, a_end], [b_start, b_end]]
                if with_match_len:
                    entry.append(match_len)
                matches.append(entry)
            open_range = False
    picked.reverse()
    return bytes(picked), matches
