"""Set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE, the
SINTER/SUNION/SDIFF family with their STORE variants and SINTERCARD, and SSCAN.

Also what the hash family shares with it: count and SCAN argument parsing (cursor, MATCH, COUNT),
element removal that deletes emptied keys (SREM/HDEL), and the HSCAN/SSCAN body.

Replies follow Redis 7.2's t_set.c: where Redis answers in the iteration order of a set it builds
(SUNION, SDIFF, SPOP of the whole set) the result is built with the same encoding rules, so an
all-integer result comes back sorted like Redis's intset and a small one in listpack order.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sized
from itertools import chain
from typing import TYPE_CHECKING

from ..keyspace.database import type_name
from ..keyspace.glob import glob_matcher
from ..keyspace.sets import INTSET, LISTPACK, IndexedCollection, RedisSet, SetLimits, set_limits
from ..protocol.encoder import SetReply
from ..protocol.errors import NOT_INTEGER, SYNTAX, WRONGTYPE, CommandError
from ..server.propagate import propagate_as
from .table import command, parse_int

if TYPE_CHECKING:
    from ..keyspace.database import Database
    from ..server.client import Client

GROUP = "set"
LONG_MAX = 2**63 - 1
OUT_OF_RANGE_POSITIVE = "ERR value is out of range, must be positive"


# -- argument helpers shared by families -------------------------------------------------------


def parse_positive(raw: bytes, error: str = OUT_OF_RANGE_POSITIVE) -> int:
    """A count that must be >= 0 (Redis's getPositiveLongFromObjectOrReply: one text for both
    a non-integer and a negative number)."""
    value = parse_int(raw, error)
    if value < 0:
        raise CommandError(error)
    return value


def parse_signed_count(raw: bytes) -> int:
    """SRANDMEMBER/HRANDFIELD count: any long except LONG_MIN, whose negation would overflow."""
    value = parse_int(raw)
    if value < -LONG_MAX:
        raise CommandError(f"ERR value is out of range, value must between {-LONG_MAX} and {LONG_MAX}")
    return value


_CURSOR = re.compile(rb"([+-]?)(\d*)")


def parse_scan_cursor(raw: bytes) -> int:
    """A SCAN-family cursor as Redis 7.2 reads it (strtoul): '-1' wraps around, '' is 0."""
    match = _CURSOR.fullmatch(raw)
    if match is None or (match.group(1) and not match.group(2)):
        raise CommandError("ERR invalid cursor")
    digits = match.group(2).lstrip(b"0") or b"0"
    if len(digits) > 20 or int(digits) >= 2**64:
        raise CommandError("ERR invalid cursor")
    value = int(digits)
    return (-value) % 2**64 if match.group(1) == b"-" else value


def parse_scan_options(args: list[bytes], start: int) -> tuple[int, Callable[[bytes], bool] | None]:
    """COUNT and MATCH of HSCAN/SSCAN/ZSCAN; returns (count, matcher or None for "match all")."""
    count = 10
    pattern = None
    index = start
    while index < len(args):
        option = args[index].lower()
        if option == b"count" and index + 1 < len(args):
            count = parse_int(args[index + 1], NOT_INTEGER)
            if count < 1:
                raise CommandError(SYNTAX)
        elif option == b"match" and index + 1 < len(args):
            pattern = args[index + 1]
        else:
            raise CommandError(SYNTAX)
        index += 2
    matcher = None if pattern is None or pattern == b"*" else glob_matcher(pattern)
    return count, matcher


# -- set helpers -------------------------------------------------------------------------------


def _notify(client: Client, event: str, key: bytes) -> None:
    client.server.notifier.notify(client.db, "s", event, key)


def after_removal(client: Client, key: bytes, value: Sized, event_class: str, event: str, removed: int) -> None:
    """Account for `removed` elements gone from the collection at key (notifying `event`);
    an emptied collection loses its key, as Redis never keeps empty aggregates."""
    db = client.db
    notifier = client.server.notifier
    notifier.notify(db, event_class, event, key)
    if value:
        db.modified(key, removed)
    else:
        db.delete(key, changes=removed)
        notifier.notify(db, "g", "del", key)


def remove_elements(client: Client, args: list[bytes], expected_type: str, event_class: str, event: str) -> int:
    """SREM/HDEL: remove args[2:] from the collection at args[1]; how many were there."""
    key = args[1]
    value = client.db.write_lookup(key, expected_type)
    if value is None:
        return 0
    remove = value.remove
    removed = 0
    for element in args[2:]:
        if remove(element):
            removed += 1
            if not value:
                break
    if removed:
        after_removal(client, key, value, event_class, event, removed)
    return removed


def _store_result(client: Client, key: bytes, result: RedisSet, event: str) -> int:
    """The *STORE commands: the result replaces key (and its TTL); an empty result deletes it."""
    db = client.db
    if result:
        db.set(key, result)
        _notify(client, event, key)
        return len(result)
    if db.delete(key):
        client.server.notifier.notify(db, "g", "del", key)
    return 0


def _read_sets(db: Database, keys: list[bytes]) -> list[RedisSet | None]:
    """The sets at keys (None for missing ones); WRONGTYPE for the first key of another type."""
    return [db.read(key, "set") for key in keys]


# -- single-set commands -----------------------------------------------------------------------


@command("sadd", -3, flags="write denyoom fast", keys=(1, 1, 1), acl="set", group=GROUP, since="1.0.0",
         summary="Adds members to a set, creating it if needed; replies with how many were new.",
         complexity="O(1) per member added: O(N) for N members.")
def sadd(client: Client, args: list[bytes]):
    db = client.db
    key = args[1]
    limits = set_limits(client.server)
    value = db.write_lookup(key, "set")
    created = value is None
    if created:
        value = RedisSet.for_first(args[2], len(args) - 2, limits)
    else:
        value.reserve(len(args) - 2, limits)
    add = value.add
    added = 0
    for member in args[2:]:
        added += add(member, limits)
    if created:
        db.set(key, value, changes=added)
    elif added:
        db.modified(key, added)
    if added:
        _notify(client, "sadd", key)
    return added


@command("srem", -3, flags="write fast", keys=(1, 1, 1), acl="set", group=GROUP, since="1.0.0",
         summary="Removes members from a set; replies with how many were there.",
         complexity="O(N) where N is the number of members removed.")
def srem(client: Client, args: list[bytes]):
    return remove_elements(client, args, "set", "s", "srem")


@command("smembers", 2, flags="readonly", keys=(1, 1, 1), acl="set", group=GROUP, since="1.0.0",
         summary="Lists every member of a set.",
         complexity="O(N) where N is the size of the set.")
def smembers(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "set")
    return SetReply() if value is None else SetReply(value.ordered_elements())


@command("sismember", 3, flags="readonly fast", keys=(1, 1, 1), acl="set", group=GROUP, since="1.0.0",
         summary="Tells whether a member belongs to a set (1 or 0).",
         complexity="O(1)")
def sismember(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "set")
    return 0 if value is None else int(args[2] in value.members)


@command("smismember", -3, flags="readonly fast", keys=(1, 1, 1), acl="set", group=GROUP, since="6.2.0",
         summary="Tells for each of several members whether it belongs to a set.",
         complexity="O(N) where N is the number of members checked.")
def smismember(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "set")
    members = {} if value is None else value.members
    return [int(member in members) for member in args[2:]]


@command("scard", 2, flags="readonly fast", keys=(1, 1, 1), acl="set", group=GROUP, since="1.0.0",
         summary="Counts the members of a set.",
         complexity="O(1)")
def scard(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "set")
    return 0 if value is None else len(value)


@command("spop", -2, flags="write fast", keys=(1, 1, 1), acl="set", group=GROUP, since="1.0.0",
         summary="Removes and returns one or several random members of a set.",
         complexity="O(1) without a count; with one, O(N) where N is the count.")
def spop(client: Client, args: list[bytes]):
    if len(args) == 3:
        return _spop_count(client, args[1], parse_positive(args[2]))
    if len(args) > 3:
        raise CommandError(SYNTAX)
    key = args[1]
    value = client.db.write_lookup(key, "set")
    if value is None:
        return None
    member = value.pop_random()
    after_removal(client, key, value, "s", "spop", 1)
    propagate_as(client, [b"SREM", key, member])  # the member chosen, not another random one
    return member


# SPOP with a count leaves a new set behind instead of popping one by one once fewer than one
# member in 5 stays (Redis's SPOP_MOVE_STRATEGY_MUL): that set is built from scratch, which can
# change its encoding, and OBJECT ENCODING shows it.
_SPOP_REBUILD_RATIO = 5


def _spop_count(client: Client, key: bytes, count: int) -> SetReply:
    db = client.db
    value = db.write_lookup(key, "set")
    if value is None or count == 0:
        return SetReply()
    limits = set_limits(client.server)
    size = len(value)
    _notify(client, "spop", key)
    if count >= size:
        # Redis answers with the union of the set alone, in that freshly built set's order.
        reply = SetReply(RedisSet.build(value.ordered_elements(), limits).ordered_elements())
        db.delete(key, changes=size)
        client.server.notifier.notify(db, "g", "del", key)
        propagate_as(client, [b"UNLINK" if client.server.config["lazyfree-lazy-server-del"] else b"DEL", key])
        return reply
    remaining = size - count
    if remaining * _SPOP_REBUILD_RATIO > count:
        popped = SetReply(value.pop_random() for _ in range(count))
        db.modified(key, count)
        propagate_as(client, *_srem_batches(key, popped))
        return popped
    kept = random.sample(value.random_index().items, remaining)
    survivors = RedisSet.build(kept, limits, INTSET if value.kind == INTSET else LISTPACK)
    kept_set = set(kept)
    popped = SetReply(member for member in value.ordered_elements() if member not in kept_set)
    db.set(key, survivors, keep_ttl=True, changes=count)
    propagate_as(client, *_srem_batches(key, popped))
    return popped


def _srem_batches(key: bytes, members: list[bytes]) -> list[list[bytes]]:
    """SPOP with a count propagates SREMs of at most 1024 members each (Redis 7.2)."""
    return [[b"SREM", key, *members[start:start + 1024]] for start in range(0, len(members), 1024)]


@command("srandmember", -2, flags="readonly", keys=(1, 1, 1), acl="set", group=GROUP, since="1.0.0",
         summary="Returns random members of a set without removing them; a negative count allows repeats.",
         complexity="O(1) without a count; with one, O(N) where N is the count's absolute value.")
def srandmember(client: Client, args: list[bytes]):
    if len(args) == 3:
        count = parse_signed_count(args[2])
        value = client.db.read(args[1], "set")
        if value is None or count == 0:
            return []
        return value.sample(count)
    if len(args) > 3:
        raise CommandError(SYNTAX)
    value = client.db.read(args[1], "set")
    return None if value is None else value.random_element()


@command("smove", 4, flags="write fast", keys=(1, 2, 1), acl="set", group=GROUP, since="1.0.0",
         summary="Moves a member from one set to another.",
         complexity="O(1)")
def smove(client: Client, args: list[bytes]):
    db = client.db
    src_key, dst_key, member = args[1], args[2], args[3]
    source = db.write_lookup(src_key)
    destination = db.write_lookup(dst_key)
    if source is None:
        return 0
    if type_name(source) != "set" or (destination is not None and type_name(destination) != "set"):
        raise CommandError(WRONGTYPE)
    if source is destination:
        return int(member in source)
    if not source.remove(member):
        return 0
    after_removal(client, src_key, source, "s", "srem", 1)
    limits = set_limits(client.server)
    if destination is None:
        destination = RedisSet.for_first(member, 1, limits)
        destination.add(member, limits)
        db.set(dst_key, destination)
        _notify(client, "sadd", dst_key)
    elif destination.add(member, limits):
        db.modified(dst_key)
        _notify(client, "sadd", dst_key)
    return 1


# -- SINTER family -----------------------------------------------------------------------------


def _intersection(sets: list[RedisSet], limit: int = 0) -> tuple[RedisSet, list[bytes]]:
    """Members common to all sets, in the order of the smallest one (which is returned too).

    Like Redis, the sets are visited smallest first (a stable sort, as glibc's qsort is for
    these sizes) and the result follows the smallest set's iteration order.
    """
    ordered = sorted(sets, key=len)
    smallest = ordered[0]
    others = [other.members for other in ordered[1:] if other is not smallest]
    result = []
    for member in smallest.ordered_elements():
        if all(member in other for other in others):
            result.append(member)
            if len(result) == limit:
                break
    return smallest, result


@command("sinter", -2, flags="readonly", keys=(1, -1, 1), acl="set", group=GROUP, since="1.0.0",
         summary="Returns the intersection of sets.",
         complexity="O(N*M) at worst, where N is the size of the smallest set and M the number of sets.")
def sinter(client: Client, args: list[bytes]):
    sets = _read_sets(client.db, args[1:])
    if None in sets:
        return SetReply()
    return SetReply(_intersection(sets)[1])


def _sintercard_keys(args: list[bytes]) -> list[int]:
    try:
        numkeys = int(args[1])
    except ValueError:
        return []
    return list(range(2, 2 + numkeys)) if 0 < numkeys <= len(args) - 2 else []


@command("sintercard", -3, flags="readonly", acl="set", group=GROUP, since="7.0.0", get_keys=_sintercard_keys,
         summary="Counts the members of the intersection of sets, optionally stopping at a limit.",
         complexity="O(N*M) at worst, where N is the size of the smallest set and M the number of sets.")
def sintercard(client: Client, args: list[bytes]):
    numkeys_error = "ERR numkeys should be greater than 0"
    numkeys = parse_int(args[1], numkeys_error)
    if numkeys < 1:
        raise CommandError(numkeys_error)
    if numkeys > len(args) - 2:
        raise CommandError("ERR Number of keys can't be greater than number of args")
    limit = 0
    index = 2 + numkeys
    while index < len(args):
        if args[index].lower() == b"limit" and index + 1 < len(args):
            limit = parse_positive(args[index + 1], "ERR LIMIT can't be negative")
            index += 2
        else:
            raise CommandError(SYNTAX)
    sets = _read_sets(client.db, args[2:2 + numkeys])
    if None in sets:
        return 0
    return len(_intersection(sets, limit)[1])


@command("sinterstore", -3, flags="write denyoom", keys=(1, -1, 1), acl="set", group=GROUP, since="1.0.0",
         summary="Stores the intersection of sets in a key; replies with its size.",
         complexity="O(N*M) at worst, where N is the size of the smallest set and M the number of sets.")
def sinterstore(client: Client, args: list[bytes]):
    sets = _read_sets(client.db, args[2:])
    limits = set_limits(client.server)
    if None in sets:
        return _store_result(client, args[1], RedisSet(), "sinterstore")
    smallest, members = _intersection(sets)
    # Redis fills an intset when the smallest set is one and a listpack otherwise, and settles
    # on an intset at the end when every member turned out to be an integer.
    result = RedisSet.build(members, limits, INTSET if smallest.kind == INTSET else LISTPACK)
    result.to_intset_if_fits(limits)
    return _store_result(client, args[1], result, "sinterstore")


def _union(sets: list[RedisSet | None], limits: SetLimits) -> RedisSet:
    return RedisSet.build(chain.from_iterable(s.ordered_elements() for s in sets if s is not None), limits)


def _difference(sets: list[RedisSet | None], limits: SetLimits) -> RedisSet:
    """Members of the first set in none of the others, built as Redis does.

    Redis picks between two algorithms by estimated work: checking each member of the first set
    against the others, or copying the first set and removing the others' members. They give the
    same members but can leave different encodings (a copy may have become a hashtable before
    shrinking), so the same choice is made here.
    """
    first = sets[0]
    if first is None or any(s is first for s in sets[1:]):
        return RedisSet()
    others = [s for s in sets[1:] if s is not None]
    present = 1 + len(others)
    check_each_work = len(first) * present // 2
    copy_and_remove_work = len(first) + sum(map(len, others))
    if check_each_work <= copy_and_remove_work:
        return RedisSet.build(
            (m for m in first.ordered_elements() if not any(m in other.members for other in others)), limits)
    result = RedisSet.build(first.ordered_elements(), limits)
    for other in others:
        for member in other.ordered_elements():
            result.remove(member)
        if not result:
            break
    return result


def _combine(client: Client, keys: list[bytes], build: Callable[[list, SetLimits], RedisSet]) -> RedisSet:
    return build(_read_sets(client.db, keys), set_limits(client.server))


@command("sunion", -2, flags="readonly", keys=(1, -1, 1), acl="set", group=GROUP, since="1.0.0",
         summary="Returns the union of sets.",
         complexity="O(N) where N is the total size of the sets given.")
def sunion(client: Client, args: list[bytes]):
    return SetReply(_combine(client, args[1:], _union).ordered_elements())


@command("sunionstore", -3, flags="write denyoom", keys=(1, -1, 1), acl="set", group=GROUP, since="1.0.0",
         summary="Stores the union of sets in a key; replies with its size.",
         complexity="O(N) where N is the total size of the sets given.")
def sunionstore(client: Client, args: list[bytes]):
    return _store_result(client, args[1], _combine(client, args[2:], _union), "sunionstore")


@command("sdiff", -2, flags="readonly", keys=(1, -1, 1), acl="set", group=GROUP, since="1.0.0",
         summary="Returns the members of the first set that are in none of the following ones.",
         complexity="O(N) where N is the total size of the sets given.")
def sdiff(client: Client, args: list[bytes]):
    return SetReply(_combine(client, args[1:], _difference).ordered_elements())


@command("sdiffstore", -3, flags="write denyoom", keys=(1, -1, 1), acl="set", group=GROUP, since="1.0.0",
         summary="Stores the difference of sets in a key; replies with its size.",
         complexity="O(N) where N is the total size of the sets given.")
def sdiffstore(client: Client, args: list[bytes]):
    return _store_result(client, args[1], _combine(client, args[2:], _difference), "sdiffstore")


# -- SSCAN -------------------------------------------------------------------------------------

def scan_collection(client: Client, args: list[bytes], expected_type: str,
                    reply_items: Callable[[IndexedCollection, list[bytes]], list[bytes]]) -> list:
    """HSCAN/SSCAN: a page of the collection at args[1] from cursor args[2], COUNT and MATCH
    applied; reply_items turns the page's elements into the reply's items."""
    cursor = parse_scan_cursor(args[2])
    value = client.db.read(args[1], expected_type)
    if value is None:
        return [b"0", []]  # Redis answers before looking at the options
    count, matcher = parse_scan_options(args, 3)
    if value.is_compact():
        # Small encodings are returned whole in one call, whatever the cursor, as Redis does.
        cursor, elements = 0, value.ordered_elements()
    else:
        cursor, elements = value.scan_page(cursor, count)
    if matcher is not None:
        elements = [element for element in elements if matcher(element)]
    return [b"%d" % cursor, reply_items(value, elements)]


@command("sscan", -3, flags="readonly", keys=(1, 1, 1), acl="set", group=GROUP, since="2.8.0",
         summary="Iterates over the members of a set with a cursor.",
         complexity="O(1) per call; O(N) for a full iteration, where N is the number of members.")
def sscan(client: Client, args: list[bytes]):
    return scan_collection(client, args, "set", lambda value, members: members)
