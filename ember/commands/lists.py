"""List commands: pushes and pops at both ends, ranges and positions, LMOVE/LMPOP and the
blocking family (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP).

Redis's t_list.c is the model: one generic implementation per family, the variants differing by
arguments (`push_generic` serves LPUSH/RPUSH/LPUSHX/RPUSHX, `pop_generic` LPOP/RPOP, `first_list`
and `pop_reply` every multi-key pop, `move_generic` LMOVE/RPOPLPUSH and their blocking forms).
Arguments are checked in Redis's order, so an invalid command gets the error Redis gives, and
after every removal `elements_removed` does what Redis's listElementsRemoved does: the pop event,
deleting an emptied list, or letting a shrunken quicklist become a listpack again.

Blocking: a blocking command first tries to serve itself; when every key is empty it parks the
client with the BlockingManager, handing it a closure that retries the command. Redis 7.2 re-runs
the command of a woken client, so a retry scans the keys left to right again (kombu's priority
queues depend on it); a waiter is only retried once one of its keys holds a list, so a key set
to another type does not wake it. Timeouts answer with a null array, also for BLMOVE and
BRPOPLPUSH, as Redis does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..keyspace.lists import ListValue
from ..protocol.encoder import NULL_ARRAY
from ..protocol.errors import INDEX_OUT_OF_RANGE, NO_SUCH_KEY, SYNTAX, CommandError, wrong_arity
from ..server.blocking import parse_timeout
from ..server.propagate import propagate_as
from .table import command, parse_int
from .zsets import mpop_keys, parse_positive, parse_ranged_int

if TYPE_CHECKING:
    from ..keyspace.database import Database
    from ..server.client import Client

GROUP = "list"
ACL = "list"
LONG_MAX = 2**63 - 1
RANK_ZERO = ("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
             "or use negative to start from the end of the list")


# -- shared helpers -----------------------------------------------------------------------------

def list_fill(client: Client) -> int:
    """list-max-listpack-size, which decides listpack vs quicklist."""
    return client.server.config.values["list-max-listpack-size"]  # canonical name: no alias lookup


def notify(client: Client, event: str, key: bytes, cls: str = "l") -> None:
    client.server.notifier.notify(client.db, cls, event, key)


def store_new(db: Database, key: bytes, value: ListValue, changes: int) -> None:
    """Add a new list at key, counting `changes` towards the dirty counter (Redis counts the
    elements written, not the key creation)."""
    db.set(key, value)
    db.server.dirty += changes - 1


def elements_removed(client: Client, key: bytes, value: ListValue, left: bool, count: int) -> None:
    """After popping count elements from one end: the pop event, then delete the list if it is
    empty, else give a shrunken quicklist the chance to become a listpack."""
    notify(client, "lpop" if left else "rpop", key)
    settle(client, key, value, count)


def settle(client: Client, key: bytes, value: ListValue, changes: int) -> None:
    """Record a change to a stored list: delete it when it became empty (Redis keeps no empty
    lists), else re-check its encoding."""
    db = client.db
    if value:
        value.fit(list_fill(client))
        db.modified(key, changes)
    else:
        db.delete(key)
        db.server.dirty += changes - 1
        notify(client, "del", key, "g")


def parse_side(raw: bytes) -> bool:
    """LEFT or RIGHT (any case): True for LEFT."""
    side = raw.lower()
    if side == b"left":
        return True
    if side == b"right":
        return False
    raise CommandError(SYNTAX)


def first_list(client: Client, keys: Sequence[bytes]) -> tuple[bytes, ListValue] | None:
    """The first key holding a list, scanning left to right (WRONGTYPE for another type met
    before it)."""
    lookup = client.db.write_lookup
    for key in keys:
        value = lookup(key, "list")
        if value:
            return key, value
    return None


def pop_reply(client: Client, found: tuple[bytes, ListValue], left: bool, count: int | None) -> list:
    """[key, element] for a single pop (count None), [key, [elements]] for LMPOP's count."""
    key, value = found
    if count is None:
        popped: Any = value.pop(left)
        removed = 1
    else:
        popped = value.pop_many(count, left)
        removed = len(popped)
    elements_removed(client, key, value, left, removed)
    return [key, popped]


# -- pushes ---------------------------------------------------------------------------------------

def push_generic(client: Client, args: list[bytes], left: bool, only_existing: bool) -> int:
    """LPUSH/RPUSH (creating the list) and LPUSHX/RPUSHX (only onto an existing list)."""
    key = args[1]
    values = args[2:]
    db = client.db
    value = db.write_lookup(key, "list")
    if value is None:
        if only_existing:
            return 0
        value = ListValue()
        value.push(values, left, list_fill(client))
        store_new(db, key, value, len(values))
    else:
        value.push(values, left, list_fill(client))
        db.modified(key, len(values))
    notify(client, "lpush" if left else "rpush", key)
    return len(value)


def _push_command(name: str, left: bool, only_existing: bool, since: str, summary: str) -> None:
    @command(name, -3, flags="write denyoom fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since=since,
             summary=summary, complexity="O(1) per element added: O(N) for N elements.")
    def handler(client: Client, args: list[bytes]):
        return push_generic(client, args, left, only_existing)


_push_command("lpush", True, False, "1.0.0", "Prepends elements to a list, creating it if needed; replies with the new length.")
_push_command("rpush", False, False, "1.0.0", "Appends elements to a list, creating it if needed; replies with the new length.")
_push_command("lpushx", True, True, "2.2.0", "Prepends elements to a list only when the list exists.")
_push_command("rpushx", False, True, "2.2.0", "Appends elements to a list only when the list exists.")


# -- pops -----------------------------------------------------------------------------------------

def pop_generic(client: Client, args: list[bytes], left: bool) -> Any:
    """LPOP/RPOP: one element (a bulk), or with a count an array of up to count elements."""
    if len(args) > 3:
        raise wrong_arity("lpop" if left else "rpop")
    count = parse_positive(args[2]) if len(args) == 3 else None
    key = args[1]
    value = client.db.write_lookup(key, "list")
    if value is None:
        return None if count is None else NULL_ARRAY
    if count == 0:
        return []
    return pop_reply(client, (key, value), left, count)[1]


def _pop_command(name: str, left: bool, summary: str) -> None:
    @command(name, -2, flags="write fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since="1.0.0", summary=summary,
             complexity="O(N) where N is the number of elements popped.")
    def handler(client: Client, args: list[bytes]):
        return pop_generic(client, args, left)


_pop_command("lpop", True, "Removes and returns the first elements of a list; deletes the list when it empties.")
_pop_command("rpop", False, "Removes and returns the last elements of a list; deletes the list when it empties.")


def parse_mpop(args: list[bytes], numkeys_index: int) -> tuple[list[bytes], bool, int]:
    """LMPOP/BLMPOP's `numkeys key... LEFT|RIGHT [COUNT count]`: (keys, left, count)."""
    numkeys = parse_ranged_int(args[numkeys_index], 1, LONG_MAX, "ERR numkeys should be greater than 0")
    side_index = numkeys_index + numkeys + 1
    if side_index >= len(args):
        raise CommandError(SYNTAX)
    left = parse_side(args[side_index])
    count = None
    index = side_index + 1
    while index < len(args):
        if count is None and args[index].lower() == b"count" and index + 1 < len(args):
            count = parse_ranged_int(args[index + 1], 1, LONG_MAX, "ERR count should be greater than 0")
            index += 2
        else:
            raise CommandError(SYNTAX)
    return args[numkeys_index + 1:side_index], left, count or 1


@command("lmpop", -4, flags="write", acl=ACL, group=GROUP, since="7.0.0", get_keys=mpop_keys(1),
         summary="Pops elements from the first non-empty list among several keys.",
         complexity="O(N+M) where N is the number of keys given and M the number of elements popped.")
def lmpop(client: Client, args: list[bytes]):
    keys, left, count = parse_mpop(args, 1)
    found = first_list(client, keys)
    if found is None:
        return NULL_ARRAY
    reply = pop_reply(client, found, left, count)
    propagate_as(client, [b"LPOP" if left else b"RPOP", reply[0], b"%d" % len(reply[1])])
    return reply


# -- reading ------------------------------------------------------------------------------------

@command("llen", 2, flags="readonly fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since="1.0.0",
         summary="Returns the length of a list (0 when the key does not exist).",
         complexity="O(1)")
def llen(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "list")
    return 0 if value is None else len(value)


@command("lrange", 4, flags="readonly", keys=(1, 1, 1), acl=ACL, group=GROUP, since="1.0.0",
         summary="Returns the elements between two indexes of a list (negative indexes count from the end).",
         complexity=("O(S+N) where S is the distance of start from the nearer end (the head for small lists)"
                     " and N the number of elements in the range."))
def lrange(client: Client, args: list[bytes]):
    start, end = parse_int(args[2]), parse_int(args[3])
    value = client.db.read(args[1], "list")
    return [] if value is None else value.range(start, end)


@command("lindex", 3, flags="readonly", keys=(1, 1, 1), acl=ACL, group=GROUP, since="1.0.0",
         summary="Returns the element at an index of a list.",
         complexity="O(N) where N is the number of elements walked to the index: O(1) for the first or last.")
def lindex(client: Client, args: list[bytes]):
    value = client.db.read(args[1], "list")
    if value is None:
        return None
    return value.index(parse_int(args[2]))


@command("lpos", -3, flags="readonly", keys=(1, 1, 1), acl=ACL, group=GROUP, since="6.0.6",
         summary="Returns the index of matching elements in a list, with RANK, COUNT and MAXLEN options.",
         complexity="O(N) where N is the length of the list; less with MAXLEN or a match near an end.")
def lpos(client: Client, args: list[bytes]):
    rank, count, maxlen = 1, None, 0
    index = 3
    while index < len(args):
        option = args[index].lower()
        if index + 1 >= len(args):
            raise CommandError(SYNTAX)
        raw = args[index + 1]
        if option == b"rank":
            rank = parse_ranged_int(raw, -LONG_MAX, LONG_MAX)
            if rank == 0:
                raise CommandError(RANK_ZERO)
        elif option == b"count":
            count = parse_positive(raw, "ERR COUNT can't be negative")
        elif option == b"maxlen":
            maxlen = parse_positive(raw, "ERR MAXLEN can't be negative")
        else:
            raise CommandError(SYNTAX)
        index += 2
    value = client.db.read(args[1], "list")
    if value is None:
        return None if count is None else []
    found = value.positions(args[2], rank, 1 if count is None else count, maxlen)
    if count is None:
        return found[0] if found else None
    return found


# -- changing elements in place -----------------------------------------------------------------

@command("lset", 4, flags="write denyoom", keys=(1, 1, 1), acl=ACL, group=GROUP, since="1.0.0",
         summary="Sets the element at an index of a list.",
         complexity="O(N) where N is the length of the list: O(1) for the first or last element.")
def lset(client: Client, args: list[bytes]):
    key = args[1]
    value = client.db.write_lookup(key, "list")
    if value is None:
        raise CommandError(NO_SUCH_KEY)
    position = parse_int(args[2])
    if not value.replace(position, args[3], list_fill(client)):
        raise CommandError(INDEX_OUT_OF_RANGE)
    client.db.modified(key)
    notify(client, "lset", key)
    return "OK"


@command("linsert", 5, flags="write denyoom", keys=(1, 1, 1), acl=ACL, group=GROUP, since="2.2.0",
         summary="Inserts an element before or after the first occurrence of a pivot element.",
         complexity="O(N) where N is the number of elements walked before the pivot.")
def linsert(client: Client, args: list[bytes]):
    where = args[2].lower()
    if where not in (b"before", b"after"):
        raise CommandError(SYNTAX)
    key = args[1]
    value = client.db.write_lookup(key, "list")
    if value is None:
        return 0
    length = value.insert(args[3], args[4], where == b"after", list_fill(client))
    if length > 0:
        client.db.modified(key)
        notify(client, "linsert", key)
    return length


@command("lrem", 4, flags="write", keys=(1, 1, 1), acl=ACL, group=GROUP, since="1.0.0",
         summary="Removes occurrences of an element (count > 0 from the head, < 0 from the tail, 0 all).",
         complexity="O(N+M) where N is the length of the list and M the number of elements removed.")
def lrem(client: Client, args: list[bytes]):
    count = parse_int(args[2])
    key = args[1]
    value = client.db.write_lookup(key, "list")
    if value is None:
        return 0
    removed = value.remove(args[3], count)
    if removed:
        notify(client, "lrem", key)
        settle(client, key, value, removed)
    return removed


@command("ltrim", 4, flags="write", keys=(1, 1, 1), acl=ACL, group=GROUP, since="1.0.0",
         summary="Keeps only the elements between two indexes of a list; deletes it when none remain.",
         complexity="O(N) where N is the number of elements removed.")
def ltrim(client: Client, args: list[bytes]):
    start, end = parse_int(args[2]), parse_int(args[3])
    key = args[1]
    value = client.db.write_lookup(key, "list")
    if value is None:
        return "OK"
    removed = value.trim(start, end)
    notify(client, "ltrim", key)
    settle(client, key, value, removed)  # a trim that removes nothing still touches the key (WATCH)
    return "OK"


# -- moving between lists -----------------------------------------------------------------------

def move_generic(client: Client, source: bytes, destination: bytes, from_left: bool, to_left: bool) -> bytes | None:
    """LMOVE: pop from one end of source, push onto one end of destination (which may be the
    same list); None when source does not exist. Both types are checked before anything moves,
    so a WRONGTYPE destination leaves the element in source."""
    db = client.db
    src = db.write_lookup(source, "list")
    if src is None:
        return None
    dst = db.write_lookup(destination, "list")
    element = src.pop(from_left)
    fill = list_fill(client)
    if dst is None:
        dst = ListValue()
        dst.push((element,), to_left, fill)
        store_new(db, destination, dst, 0)
    else:
        dst.push((element,), to_left, fill)
        db.modified(destination, 0)
    notify(client, "lpush" if to_left else "rpush", destination)
    elements_removed(client, source, src, from_left, 1)
    return element


@command("lmove", 5, flags="write denyoom", keys=(1, 2, 1), acl=ACL, group=GROUP, since="6.2.0",
         summary="Moves an element from one end of a list to one end of another (or the same) list.",
         complexity="O(1)")
def lmove(client: Client, args: list[bytes]):
    from_left, to_left = parse_side(args[3]), parse_side(args[4])
    return move_generic(client, args[1], args[2], from_left, to_left)


@command("rpoplpush", 3, flags="write denyoom", keys=(1, 2, 1), acl=ACL, group=GROUP, since="1.2.0",
         summary="Moves the last element of a list to the head of another list (LMOVE RIGHT LEFT).",
         complexity="O(1)")
def rpoplpush(client: Client, args: list[bytes]):
    return move_generic(client, args[1], args[2], False, True)


# -- blocking -----------------------------------------------------------------------------------

def holds_list(client: Client, keys: Sequence[bytes]) -> bool:
    lookup = client.db.lookup
    return any(lookup(key).__class__ is ListValue for key in keys)


def block_for_lists(client: Client, keys: Sequence[bytes], timeout: float, serve: Callable[[], Any],
                    denied_reply: Any = NULL_ARRAY) -> Any:
    """Serve now if a key has elements (WRONGTYPE for a key of another type met first), else
    wait until one of the keys holds a list, then retry the whole command."""
    reply = serve()
    if reply is not None:
        return reply

    def retry() -> Any:
        return serve() if holds_list(client, keys) else None

    return client.server.blocking.block(client, keys, timeout, retry, denied_reply=denied_reply)


def blocking_pop(client: Client, keys: list[bytes], left: bool, timeout: float, count: int | None) -> Any:
    def serve() -> Any:
        found = first_list(client, keys)
        if found is None:
            return None
        reply = pop_reply(client, found, left, count)
        # Propagated as the plain pop it was (LPOP key, or LPOP key n for BLMPOP's count).
        pop = [b"LPOP" if left else b"RPOP", reply[0]]
        if count is not None:
            pop.append(b"%d" % len(reply[1]))
        propagate_as(client, pop)
        return reply

    return block_for_lists(client, keys, timeout, serve)


def _blocking_pop_command(name: str, left: bool, summary: str) -> None:
    @command(name, -3, flags="write noscript blocking", keys=(1, -2, 1), acl=ACL, group=GROUP, since="2.0.0",
             summary=summary, complexity="O(N) where N is the number of keys given.")
    def handler(client: Client, args: list[bytes]):
        return blocking_pop(client, args[1:-1], left, parse_timeout(args[-1]), None)


_blocking_pop_command("blpop", True, "Pops the first element of the first non-empty list, or blocks until one is available.")
_blocking_pop_command("brpop", False, "Pops the last element of the first non-empty list, or blocks until one is available.")


@command("blmpop", -5, flags="write blocking", acl=ACL, group=GROUP, since="7.0.0", get_keys=mpop_keys(2),
         summary="Pops elements from the first non-empty list among several keys, or blocks until one is available.",
         complexity="O(N+M) where N is the number of keys given and M the number of elements popped.")
def blmpop(client: Client, args: list[bytes]):
    keys, left, count = parse_mpop(args, 2)
    return blocking_pop(client, keys, left, parse_timeout(args[1]), count)


def blocking_move(client: Client, args: list[bytes], from_left: bool, to_left: bool, timeout: float) -> Any:
    source, destination = args[1], args[2]

    def serve() -> bytes | None:
        element = move_generic(client, source, destination, from_left, to_left)
        # Propagated as the non-blocking move: LMOVE with the sides as sent, or RPOPLPUSH.
        propagate_as(client, [b"LMOVE", source, destination, args[3], args[4]] if len(args) == 6
                     else [b"RPOPLPUSH", source, destination])
        return element

    # Where blocking is not allowed Redis answers a null bulk here, not the timeout's null array
    return block_for_lists(client, (source,), timeout, serve, denied_reply=None)


@command("blmove", 6, flags="write denyoom noscript blocking", keys=(1, 2, 1), acl=ACL, group=GROUP,
         since="6.2.0", summary="Moves an element between lists like LMOVE, blocking until the source has one.",
         complexity="O(1)")
def blmove(client: Client, args: list[bytes]):
    from_left, to_left = parse_side(args[3]), parse_side(args[4])
    return blocking_move(client, args, from_left, to_left, parse_timeout(args[5]))


@command("brpoplpush", 4, flags="write denyoom noscript blocking", keys=(1, 2, 1), acl=ACL, group=GROUP,
         since="2.2.0", summary="Moves the last element of a list to the head of another, blocking until there is one.",
         complexity="O(1)")
def brpoplpush(client: Client, args: list[bytes]):
    return blocking_move(client, args, False, True, parse_timeout(args[3]))
