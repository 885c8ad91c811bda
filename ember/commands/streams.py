"""Stream commands: XADD XRANGE XREVRANGE XLEN XDEL XTRIM XREAD XREADGROUP XACK XPENDING XCLAIM
XAUTOCLAIM XSETID and the XGROUP / XINFO families.

Argument parsing, error texts and reply shapes follow Redis 7.2's t_stream.c, including the
order in which errors are found (e.g. XADD/XTRIM options before the key's type, XCLAIM's key
before its arguments). The data and its bookkeeping live in `ember.keyspace.streams`.

Blocking XREAD/XREADGROUP follow Redis 7.2, which re-runs the whole command when a key it waits
on is signalled (XADD, XGROUP DESTROY, the key deleted or replaced): a waiting XREADGROUP whose
stream was deleted gets the NOGROUP error, one whose key now holds another type gets WRONGTYPE.
"""

from __future__ import annotations

import re
from itertools import islice
from typing import TYPE_CHECKING, Any

from ..keyspace.streams import (
    INVALID_READS,
    MAX_ID,
    SEQ_MASK,
    Consumer,
    ConsumerGroup,
    Fields,
    PendingEntry,
    Stream,
    format_id,
)
from ..protocol.encoder import NULL_ARRAY
from ..protocol.errors import SYNTAX, CommandError, wrong_arity
from ..server.blocking import timeout_ms
from ..server.propagate import propagate_as
from .server_admin import declare_help, subcommand_syntax_error
from .table import command, container, parse_int

if TYPE_CHECKING:
    from ..keyspace.database import Database
    from ..server.client import Client

GROUP = "stream"
ACL = "stream"

INVALID_ID = "ERR Invalid stream ID specified as stream command argument"
NO_SUCH_KEY = "ERR no such key"
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
# The `>` ID of XREADGROUP ("entries never delivered to the group"). Like Redis, the largest
# possible ID stands for it, so an explicit 18446744073709551615-18446744073709551615 means `>`.
NEW_ENTRIES = MAX_ID


def _text(raw: bytes) -> str:
    """A name as Redis's %s prints it in an error: up to the first NUL byte."""
    return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _entry_reply(stream_id: int, fields: Fields | None) -> list:
    return [format_id(stream_id), fields if fields is not None else NULL_ARRAY]


def _notify(client: Client, event: str, key: bytes) -> None:
    client.server.notifier.notify(client.db, "t", event, key)


# -- stream IDs -----------------------------------------------------------------------------------

_STRTOULL = re.compile(rb"[ \t\n\v\f\r]*([+-]?)([0-9]+)")


def _parse_u64(text: bytes) -> int | None:
    """Redis's string2ull: a canonical int64 (negatives rejected), else what C's strtoull
    accepts for the whole string (leading spaces, a sign, leading zeros; '-' wraps around)."""
    digits = text[1:] if text[:1] == b"-" else text
    if digits.isdigit() and len(text) <= 20 and (digits[:1] != b"0" or text == b"0"):
        value = int(text)
        if _INT64_MIN <= value <= _INT64_MAX:
            return value if value >= 0 else None
    match = _STRTOULL.fullmatch(text)
    if match is None:
        return None
    value = int(match[2])
    if value > SEQ_MASK:
        return None
    return (-value) & SEQ_MASK if match[1] == b"-" else value


def _split_id(raw: bytes, missing_seq: int, strict: bool, auto_seq: bool) -> tuple[int, bool]:
    """Parse `ms[-seq]`, `-`, `+` (unless strict) and, with auto_seq, `ms-*`.
    Returns (id, seq_given); raises the invalid-ID error."""
    if len(raw) > 127:
        raise CommandError(INVALID_ID)
    text = raw.split(b"\0", 1)[0] if b"\0" in raw else raw  # Redis parses a C string
    if text == b"-" or text == b"+":
        if strict:
            raise CommandError(INVALID_ID)
        return (0 if text == b"-" else MAX_ID), True
    ms_part, dash, seq_part = text.partition(b"-")
    ms = _parse_u64(ms_part)
    if ms is None:
        raise CommandError(INVALID_ID)
    if not dash:
        return (ms << 64) | missing_seq, True
    if auto_seq and seq_part == b"*":
        return ms << 64, False
    seq = _parse_u64(seq_part)
    if seq is None:
        raise CommandError(INVALID_ID)
    return (ms << 64) | seq, True


def parse_id(raw: bytes, missing_seq: int = 0, strict: bool = False) -> int:
    return _split_id(raw, missing_seq, strict, False)[0]


def parse_strict_id(raw: bytes) -> int:
    """An ID where `-` and `+` are not allowed (XDEL, XACK, XCLAIM, XSETID...)."""
    return _split_id(raw, 0, True, False)[0]


def _parse_range_start(raw: bytes) -> int:
    """A range start: `-`, an ID (missing seq = 0) or `(ID` for an exclusive start."""
    if len(raw) > 1 and raw[:1] == b"(":
        start = _split_id(raw[1:], 0, True, False)[0]
        if start == MAX_ID:
            raise CommandError("ERR invalid start ID for the interval")
        return start + 1
    return parse_id(raw, 0)


def _parse_range_end(raw: bytes) -> int:
    """A range end: `+`, an ID (missing seq = max) or `(ID` for an exclusive end."""
    if len(raw) > 1 and raw[:1] == b"(":
        end = _split_id(raw[1:], SEQ_MASK, True, False)[0]
        if end == 0:
            raise CommandError("ERR invalid end ID for the interval")
        return end - 1
    return parse_id(raw, SEQ_MASK)


# -- key lookups ----------------------------------------------------------------------------------

def _node_limits(client: Client) -> tuple[int, int]:
    config = client.server.config
    return config["stream-node-max-bytes"], config["stream-node-max-entries"]


def _group_or_error(stream: Stream | None, key: bytes, group_name: bytes) -> ConsumerGroup:
    """The group for XPENDING/XCLAIM/XAUTOCLAIM, or their NOGROUP error."""
    group = stream.groups.get(group_name) if stream is not None else None
    if group is None:
        raise CommandError(f"NOGROUP No such key '{_text(key)}' or consumer group '{_text(group_name)}'")
    return group


def _consumer(client: Client, key: bytes, group: ConsumerGroup, name: bytes, now_ms: int) -> Consumer:
    """Look a consumer up, creating it as XREADGROUP/XCLAIM/XAUTOCLAIM do; marks it seen now."""
    consumer = group.consumers.get(name)
    if consumer is None:
        consumer = group.add_consumer(name, now_ms)
        client.server.dirty += 1
        _notify(client, "xgroup-createconsumer", key)
    consumer.seen_time = now_ms
    return consumer


# -- XADD / XTRIM ---------------------------------------------------------------------------------

class TrimArgs:
    """The trimming part of XADD/XTRIM: MAXLEN or MINID, `~`/`=`, LIMIT."""

    __slots__ = ("maxlen", "minid", "approx", "limit", "limit_given")

    def __init__(self) -> None:
        self.maxlen: int | None = None
        self.minid: int | None = None
        self.approx = False
        self.limit = 0
        self.limit_given = False

    @property
    def active(self) -> bool:
        return self.maxlen is not None or self.minid is not None

    def apply(self, stream: Stream) -> int:
        return stream.trim(self.maxlen, self.minid or 0, self.approx, self.limit)


class AddArgs:
    """XADD's own options: where its ID is, the ID when one was given (and whether its sequence
    was, as opposed to `ms-*`), NOMKSTREAM."""

    __slots__ = ("id_index", "entry_id", "seq_given", "no_mkstream")

    def __init__(self) -> None:
        self.id_index = 0
        self.entry_id: int | None = None  # None: `*`
        self.seq_given = True
        self.no_mkstream = False


def parse_add_trim(client: Client, args: list[bytes], xadd: bool) -> tuple[TrimArgs, AddArgs]:
    """Options of XADD (up to and including its ID) or XTRIM, in Redis's order of errors."""
    trim = TrimArgs()
    add = AddArgs()
    index = 2
    argc = len(args)
    while index < argc:
        more = argc - 1 - index
        option = args[index]
        lowered = option.lower()
        if xadd and option == b"*":
            break
        if lowered in (b"maxlen", b"minid") and more:
            if trim.active:
                raise CommandError("ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
            trim.approx = False
            if more >= 2 and args[index + 1] in (b"~", b"="):
                trim.approx = args[index + 1] == b"~"
                index += 1
            value = args[index + 1]
            if lowered == b"maxlen":
                trim.maxlen = parse_int(value)
                if trim.maxlen < 0:
                    raise CommandError("ERR The MAXLEN argument must be >= 0.")
            else:
                trim.minid = parse_strict_id(value)
            index += 2
        elif lowered == b"limit" and more:
            trim.limit = parse_int(args[index + 1])
            if trim.limit < 0:
                raise CommandError("ERR The LIMIT argument must be >= 0.")
            trim.limit_given = True
            index += 2
        elif xadd and lowered == b"nomkstream":
            add.no_mkstream = True
            index += 1
        elif xadd:
            add.entry_id, add.seq_given = _split_id(option, 0, True, True)
            break
        else:
            raise CommandError(SYNTAX)
    if trim.limit and not trim.active:
        raise CommandError("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy")
    if not xadd and not trim.active:
        raise CommandError("ERR syntax error, XTRIM must be called with a trimming strategy")
    if trim.limit_given:
        if not trim.approx:
            raise CommandError("ERR syntax error, LIMIT cannot be used without the special ~ option")
    elif trim.approx:
        # Approximate trimming does a bounded amount of work unless told otherwise.
        limit = 100 * client.server.config["stream-node-max-entries"]
        trim.limit = 10000 if limit <= 0 else min(limit, 1_000_000)
    else:
        trim.limit = 0
    add.id_index = index
    return trim, add


def _resolve_xadd_id(stream: Stream, add: AddArgs, now_ms: int) -> int:
    """The ID of the entry XADD adds, or Redis's error when it would not be above the top."""
    new_id = add.entry_id
    if new_id is None:
        new_id = stream.next_auto_id(now_ms)
    elif not add.seq_given and stream.last_id >> 64 == new_id >> 64:
        # `ms-*` in the last ID's millisecond continues its sequence.
        new_id = stream.last_id + 1 if stream.last_id & SEQ_MASK != SEQ_MASK else None
    if new_id is None or new_id <= stream.last_id:
        raise CommandError("ERR The ID specified in XADD is equal or smaller than the target stream top item")
    return new_id


@command("xadd", -5, flags="write denyoom fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since="5.0.0",
         summary="Adds an entry to a stream (creating it), optionally trimming old entries.",
         complexity="O(1) to add; O(N) for the N entries trimmed.")
def xadd(client: Client, args: list[bytes]):
    trim, add = parse_add_trim(client, args, xadd=True)
    fields_values = tuple(args[add.id_index + 1:])
    if len(fields_values) < 2 or len(fields_values) % 2:
        raise wrong_arity("xadd")
    if add.entry_id == 0 and add.seq_given:
        raise CommandError("ERR The ID specified in XADD must be greater than 0-0")
    db = client.db
    key = args[1]
    stream = db.write_lookup(key, "stream")
    created = stream is None
    if created:
        if add.no_mkstream:
            return None
        stream = Stream()
    elif stream.last_id == MAX_ID:
        raise CommandError("ERR The stream has exhausted the last possible ID, unable to add more items")
    new_id = _resolve_xadd_id(stream, add, client.server.clock_ms())
    stream.append(new_id, fields_values, *_node_limits(client))
    stream.wake_serial += 1
    if created:
        db.set(key, stream, changes=0)  # one change in all, counted below
    _notify(client, "xadd", key)
    if trim.active and trim.apply(stream):
        _notify(client, "xtrim", key)
    db.modified(key)
    reply = format_id(new_id)
    if args[add.id_index] != reply:  # '*' or 'ms-*': the AOF must replay the ID actually chosen
        propagate_as(client, [*args[:add.id_index], reply, *args[add.id_index + 1:]])
    return reply


@command("xtrim", -4, flags="write", keys=(1, 1, 1), acl=ACL, group=GROUP, since="5.0.0",
         summary="Removes the oldest entries of a stream, by length or by minimum ID.",
         complexity="O(N) for the N entries removed.")
def xtrim(client: Client, args: list[bytes]):
    trim = parse_add_trim(client, args, xadd=False)[0]
    stream = client.db.write_lookup(args[1], "stream")
    if stream is None:
        return 0
    removed = trim.apply(stream)
    if removed:
        _notify(client, "xtrim", args[1])
        client.db.modified(args[1], removed)
    return removed


# -- XRANGE / XREVRANGE / XLEN / XDEL -------------------------------------------------------------

def _range_generic(client: Client, args: list[bytes], reverse: bool) -> Any:
    start = _parse_range_start(args[3] if reverse else args[2])
    end = _parse_range_end(args[2] if reverse else args[3])
    count = -1
    index = 4
    while index < len(args):
        if args[index].lower() == b"count" and index + 1 < len(args):
            count = max(parse_int(args[index + 1]), 0)
            index += 2
        else:
            raise CommandError(SYNTAX)
    stream = client.db.read(args[1], "stream")
    if stream is None:
        return []
    if count == 0:
        return NULL_ARRAY
    entries = stream.entries_reversed(start, end) if reverse else stream.entries(start, end)
    if count > 0:
        entries = islice(entries, count)
    return [[format_id(stream_id), fields] for stream_id, fields in entries]


@command("xrange", -4, flags="readonly", keys=(1, 1, 1), acl=ACL, group=GROUP, since="5.0.0",
         summary="Returns the entries of a stream within a range of IDs.",
         complexity="O(log N + M) for the M entries returned.")
def xrange(client: Client, args: list[bytes]):
    return _range_generic(client, args, reverse=False)


@command("xrevrange", -4, flags="readonly", keys=(1, 1, 1), acl=ACL, group=GROUP, since="5.0.0",
         summary="Returns the entries of a stream within a range of IDs, newest first.",
         complexity="O(log N + M) for the M entries returned.")
def xrevrange(client: Client, args: list[bytes]):
    return _range_generic(client, args, reverse=True)


@command("xlen", 2, flags="readonly fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since="5.0.0",
         summary="Returns the number of entries in a stream.", complexity="O(1)")
def xlen(client: Client, args: list[bytes]):
    stream = client.db.read(args[1], "stream")
    return 0 if stream is None else stream.length


@command("xdel", -3, flags="write fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since="5.0.0",
         summary="Deletes entries from a stream by ID; returns how many existed.",
         complexity="O(log N) per ID.")
def xdel(client: Client, args: list[bytes]):
    stream = client.db.write_lookup(args[1], "stream")
    if stream is None:
        return 0
    ids = [parse_strict_id(raw) for raw in args[2:]]  # all valid before any is deleted
    deleted = stream.delete_many(ids)
    if deleted:
        _notify(client, "xdel", args[1])
        client.db.modified(args[1], deleted)
    return deleted


# -- XREAD / XREADGROUP ---------------------------------------------------------------------------

class ReadRequest:
    """The parsed options of one XREAD/XREADGROUP call."""

    __slots__ = ("group_name", "consumer_name", "count", "timeout_ms", "noack", "keys", "raw_ids")

    def __init__(self) -> None:
        self.group_name: bytes | None = None
        self.consumer_name = b""
        self.count = 0
        self.timeout_ms: int | None = None  # None: no BLOCK
        self.noack = False
        self.keys: list[bytes] = []
        self.raw_ids: list[bytes] = []


def _parse_block_timeout(client: Client, raw: bytes) -> int:
    """BLOCK's milliseconds, with Redis's errors (0 = forever)."""
    return timeout_ms(raw, unit_seconds=False, now_ms=client.server.clock_ms())


def _parse_read(client: Client, args: list[bytes], group_mode: bool) -> ReadRequest:
    request = ReadRequest()
    name = "xreadgroup" if group_mode else "xread"
    argc = len(args)
    index = 1
    streams_at = 0
    while index < argc:
        more = argc - index - 1
        option = args[index].lower()
        if option == b"block" and more:
            request.timeout_ms = _parse_block_timeout(client, args[index + 1])
            index += 2
        elif option == b"count" and more:
            request.count = max(parse_int(args[index + 1]), 0)
            index += 2
        elif option == b"streams" and more:
            streams_at = index + 1
            if (argc - streams_at) % 2:
                symbol = ">" if group_mode else "$"
                raise CommandError(f"ERR Unbalanced '{name}' list of streams: for each stream key an ID "
                                   f"or '{symbol}' must be specified.")
            break
        elif option == b"group" and more >= 2:
            if not group_mode:
                raise CommandError("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
            request.group_name, request.consumer_name = args[index + 1], args[index + 2]
            index += 3
        elif option == b"noack":
            if not group_mode:
                raise CommandError("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
            request.noack = True
            index += 1
        else:
            raise CommandError(SYNTAX)
    if not streams_at:
        raise CommandError(SYNTAX)
    if group_mode and request.group_name is None:
        raise CommandError("ERR Missing GROUP option for XREADGROUP")
    half = (argc - streams_at) // 2
    request.keys = args[streams_at:streams_at + half]
    request.raw_ids = args[streams_at + half:]
    return request


def _parse_read_id(raw: bytes, stream: Stream | None, group_mode: bool) -> int:
    if raw == b"$":
        if group_mode:
            raise CommandError(
                "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history "
                "of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ "
                "ID would just return an empty result set.")
        return stream.last_id if stream is not None else 0
    if raw == b">":
        if not group_mode:
            raise CommandError("ERR The > ID can be specified only when calling XREADGROUP using the GROUP "
                               "<group> <consumer> option.")
        return NEW_ENTRIES
    return parse_strict_id(raw)


def _check_streams(db: Database, request: ReadRequest, ids: list[int] | None) -> tuple[list[int], list]:
    """Per key, in order: type check, group check, and (when ids is None) ID parsing.
    Returns (ids, groups)."""
    parse = ids is None
    if parse:
        ids = []
    groups: list[ConsumerGroup | None] = []
    group_name = request.group_name
    for position, key in enumerate(request.keys):
        stream = db.read(key, "stream")
        group = None
        if group_name is not None:
            group = stream.groups.get(group_name) if stream is not None else None
            if group is None:
                raise CommandError(f"NOGROUP No such key '{_text(key)}' or consumer group "
                                   f"'{_text(group_name)}' in XREADGROUP with GROUP option")
        groups.append(group)
        if parse:
            ids.append(_parse_read_id(request.raw_ids[position], stream, group_name is not None))
    return ids, groups


class _PairsMap(dict):
    """A RESP3 map reply that may repeat a key (XREAD STREAMS s s ...): the encoder takes its
    length and items from the pairs, not from the dict."""

    def __init__(self, pairs: list[tuple[bytes, list]]) -> None:
        super().__init__()
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def items(self):  # type: ignore[override]
        return self.pairs


def _read_reply(client: Client, served: list[tuple[bytes, list]]) -> Any:
    if client.resp == 2:
        return [[key, entries] for key, entries in served]
    keys = {key for key, _ in served}
    return dict(served) if len(keys) == len(served) else _PairsMap(served)


def _serve_read(client: Client, request: ReadRequest, ids: list[int], groups: list) -> Any:
    """One attempt at serving XREAD/XREADGROUP: the reply, or None when no stream has data."""
    db = client.db
    now = client.server.clock_ms()
    count = request.count
    served: list[tuple[bytes, list]] = []
    for position, key in enumerate(request.keys):
        stream = db.read(key)  # a second lookup, as Redis's serving loop does
        if stream is None:
            continue
        after = ids[position]
        group = groups[position]
        if group is not None:
            consumer = _consumer(client, key, group, request.consumer_name, now)
            if after != NEW_ENTRIES:
                history = stream.consumer_history(consumer, (after + 1) & MAX_ID, count, now)
                served.append((key, [_entry_reply(i, fields) for i, fields in history]))
                client.server.dirty += 1
            elif stream.length and stream.last_valid_id() > group.last_id:
                entries = stream.deliver(group, consumer, group.last_id + 1, count, request.noack, now)
                served.append((key, [[format_id(i), fields] for i, fields in entries]))
                client.server.dirty += 1
        elif stream.length and stream.last_valid_id() > after:
            entries = stream.entries(after + 1)
            if count:
                entries = islice(entries, count)
            served.append((key, [[format_id(i), fields] for i, fields in entries]))
    return _read_reply(client, served) if served else None


class _BlockedRead:
    """A parked XREAD/XREADGROUP. Like Redis 7.2 it re-runs the command only when a key it
    waits on was signalled: an XADD or XGROUP DESTROY on the same stream (its wake_serial
    moved), or the key now holds another value. XREAD ignores keys that were deleted or now
    hold another type; XREADGROUP re-runs, and answers the NOGROUP or WRONGTYPE error."""

    __slots__ = ("client", "request", "ids", "seen", "replay")

    def __init__(self, client: Client, request: ReadRequest, ids: list[int], args: list[bytes]) -> None:
        self.client = client
        self.request = request
        self.ids = ids
        self.seen = self._snapshot(client.db)
        # What the AOF gets when a blocked XREADGROUP is served: the same read without BLOCK,
        # which delivers the same entries when replayed at that point.
        self.replay = _without_block(args) if request.group_name is not None else None

    def _snapshot(self, db: Database) -> list[tuple[Any, int]]:
        snapshot = []
        for key in self.request.keys:
            value = db.lookup(key)
            snapshot.append((value, value.wake_serial if value.__class__ is Stream else 0))
        return snapshot

    def _signalled(self, db: Database) -> bool:
        group_mode = self.request.group_name is not None
        for key, (before, serial) in zip(self.request.keys, self.seen, strict=True):
            value = db.lookup(key)
            if value is before:
                if value.__class__ is Stream and value.wake_serial != serial:
                    return True
            elif group_mode or value.__class__ is Stream:
                return True
        return False

    def serve(self) -> Any:
        db = self.client.db
        if not self._signalled(db):
            return None
        ids, groups = _check_streams(db, self.request, self.ids)
        reply = _serve_read(self.client, self.request, ids, groups)
        if reply is None:
            self.seen = self._snapshot(db)
        elif self.replay is not None:
            propagate_as(self.client, self.replay)
        return reply


def _without_block(args: list[bytes]) -> list[bytes]:
    """args with its BLOCK option removed (options come before STREAMS)."""
    result: list[bytes] = []
    index = 0
    while index < len(args):
        word = args[index].lower()
        if word == b"streams":
            return result + args[index:]
        if word == b"block":
            index += 2
            continue
        result.append(args[index])
        index += 1
    return result


def _read_generic(client: Client, args: list[bytes], group_mode: bool) -> Any:
    request = _parse_read(client, args, group_mode)
    ids, groups = _check_streams(client.db, request, None)
    reply = _serve_read(client, request, ids, groups)
    if reply is not None:
        return reply
    if request.timeout_ms is None:
        return NULL_ARRAY
    waiter = _BlockedRead(client, request, ids, args)
    return client.server.blocking.block(client, request.keys, request.timeout_ms / 1000.0, waiter.serve)


def _read_keys(args: list[bytes], first_option: int) -> list[int]:
    """Key positions of XREAD/XREADGROUP: the first half of the arguments after STREAMS."""
    for index in range(first_option, len(args)):
        if args[index].lower() == b"streams":
            remaining = len(args) - index - 1
            if remaining % 2:
                return []
            return list(range(index + 1, index + 1 + remaining // 2))
    return []


@command("xread", -4, flags="readonly blocking", get_keys=lambda args: _read_keys(args, 1), acl=ACL,
         group=GROUP, since="5.0.0",
         summary="Returns entries newer than the given IDs from one or more streams; can wait for them.",
         complexity="O(M) for the M entries returned per stream.")
def xread(client: Client, args: list[bytes]):
    return _read_generic(client, args, group_mode=False)


@command("xreadgroup", -7, flags="write blocking", get_keys=lambda args: _read_keys(args, 4), acl=ACL,
         group=GROUP, since="5.0.0",
         summary="Reads entries as a consumer of a group: new ones (>) or its own pending history.",
         complexity="O(M) for the M entries returned per stream.")
def xreadgroup(client: Client, args: list[bytes]):
    return _read_generic(client, args, group_mode=True)


# -- XACK / XPENDING / XCLAIM / XAUTOCLAIM --------------------------------------------------------

@command("xack", -4, flags="write fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since="5.0.0",
         summary="Acknowledges entries of a consumer group, removing them from its pending list.",
         complexity="O(log N) per ID.")
def xack(client: Client, args: list[bytes]):
    stream = client.db.read(args[1], "stream")
    group = stream.groups.get(args[2]) if stream is not None else None
    if group is None:
        return 0
    ids = [parse_strict_id(raw) for raw in args[3:]]  # all or nothing
    acknowledged = sum(1 for stream_id in ids if group.acknowledge(stream_id))
    client.server.dirty += acknowledged
    return acknowledged


def _parse_pending_range(args: list[bytes]) -> tuple[int, int, int, int, bytes | None]:
    """XPENDING's [IDLE ms] start end count [consumer]: (min idle, start, end, count, consumer)."""
    start_at = 3
    min_idle = 0
    if args[3].lower() == b"idle":
        min_idle = parse_int(args[4])
        if len(args) < 8:
            raise CommandError(SYNTAX)
        start_at = 5
    count = max(parse_int(args[start_at + 2]), 0)
    start = _parse_range_start(args[start_at])
    end = _parse_range_end(args[start_at + 1])
    consumer = args[start_at + 3] if start_at + 3 < len(args) else None
    return min_idle, start, end, count, consumer


def _pending_summary(group: ConsumerGroup) -> list:
    pel = group.pel
    if not pel:
        return [0, None, None, NULL_ARRAY]
    owners = [[c.name, b"%d" % len(c.pel)] for c in group.sorted_consumers() if c.pel]
    return [len(pel), format_id(pel.keys()[0]), format_id(pel.keys()[-1]), owners]


@command("xpending", -3, flags="readonly", keys=(1, 1, 1), acl=ACL, group=GROUP, since="5.0.0",
         summary="Shows a consumer group's pending entries: a summary, or a range with owners and delivery data.",
         complexity="O(log N + M) for the M entries returned.")
def xpending(client: Client, args: list[bytes]):
    argc = len(args)
    if argc != 3 and not 6 <= argc <= 9:
        raise CommandError(SYNTAX)
    extended = _parse_pending_range(args) if argc >= 6 else None
    group = _group_or_error(client.db.read(args[1], "stream"), args[1], args[2])
    if extended is None:
        return _pending_summary(group)
    min_idle, start, end, count, consumer_name = extended
    pel = group.pel
    if consumer_name is not None:
        consumer = group.consumers.get(consumer_name)
        if consumer is None:
            return []
        pel = consumer.pel
    now = client.server.clock_ms()
    rows = []
    if count:
        for stream_id in pel.irange(start, end):
            pending = pel[stream_id]
            idle = now - pending.delivery_time
            if min_idle and idle < min_idle:
                continue
            rows.append([format_id(stream_id), pending.consumer.name, max(idle, 0), pending.delivery_count])
            if len(rows) == count:
                break
    return rows


class ClaimOptions:
    __slots__ = ("delivery_time", "retry_count", "force", "just_id", "last_id")

    def __init__(self) -> None:
        self.delivery_time = -1  # -1: neither IDLE nor TIME given
        self.retry_count = -1
        self.force = False
        self.just_id = False
        self.last_id = 0


def _parse_claim_options(args: list[bytes], index: int, now: int) -> ClaimOptions:
    options = ClaimOptions()
    argc = len(args)
    while index < argc:
        more = argc - 1 - index
        option = args[index].lower()
        if option == b"force":
            options.force = True
        elif option == b"justid":
            options.just_id = True
        elif option == b"idle" and more:
            index += 1
            options.delivery_time = now - parse_int(args[index], "ERR Invalid IDLE option argument for XCLAIM")
        elif option == b"time" and more:
            index += 1
            options.delivery_time = parse_int(args[index], "ERR Invalid TIME option argument for XCLAIM")
        elif option == b"retrycount" and more:
            index += 1
            options.retry_count = parse_int(args[index], "ERR Invalid RETRYCOUNT option argument for XCLAIM")
        elif option == b"lastid" and more:
            index += 1
            options.last_id = parse_strict_id(args[index])
        else:
            raise CommandError(f"ERR Unrecognized XCLAIM option '{_text(args[index])}'")
        index += 1
    # A delivery time in the future or before the epoch is taken as "now", not as an error.
    if options.delivery_time < 0 or options.delivery_time > now:
        options.delivery_time = now
    return options


def _claimed_reply(stream: Stream, stream_id: int, just_id: bool) -> Any:
    if just_id:
        return format_id(stream_id)
    return [format_id(stream_id), stream.get(stream_id)]


@command("xclaim", -6, flags="write fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since="5.0.0",
         summary="Transfers pending entries idle long enough to another consumer of the group.",
         complexity="O(log N) per ID.")
def xclaim(client: Client, args: list[bytes]):
    key = args[1]
    stream = client.db.read(key, "stream")
    group = _group_or_error(stream, key, args[2])
    min_idle = max(parse_int(args[4], "ERR Invalid min-idle-time argument for XCLAIM"), 0)
    ids = []
    index = 5
    while index < len(args):  # IDs run until the first argument that is not one
        try:
            ids.append(parse_strict_id(args[index]))
        except CommandError:
            break
        index += 1
    now = client.server.clock_ms()
    options = _parse_claim_options(args, index, now)
    if options.last_id > group.last_id:
        group.last_id = options.last_id
        client.server.dirty += 1
    consumer = _consumer(client, key, group, args[3], now)
    claimed = []
    for stream_id in ids:
        pending = group.pel.get(stream_id)
        if stream.get(stream_id) is None:
            if pending is not None:  # the entry is gone: forget it
                group.acknowledge(stream_id)
                client.server.dirty += 1
            continue
        if pending is None:
            if not options.force:
                continue
            pending = group.pel[stream_id] = PendingEntry(None, now)
        if pending.consumer is not None and min_idle and now - pending.delivery_time < min_idle:
            continue
        group.assign(stream_id, pending, consumer)
        pending.delivery_time = options.delivery_time
        if options.retry_count >= 0:
            pending.delivery_count = options.retry_count
        elif not options.just_id:
            pending.delivery_count += 1
        claimed.append(_claimed_reply(stream, stream_id, options.just_id))
        consumer.active_time = now
        client.server.dirty += 1
    return claimed


@command("xautoclaim", -6, flags="write fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since="6.2.0",
         summary="Claims pending entries idle long enough for a consumer, scanning the PEL like a cursor.",
         complexity="O(log N + COUNT)")
def xautoclaim(client: Client, args: list[bytes]):
    min_idle = max(parse_int(args[4], "ERR Invalid min-idle-time argument for XAUTOCLAIM"), 0)
    start = _parse_range_start(args[5])
    count = 100
    just_id = False
    index = 6
    while index < len(args):
        option = args[index].lower()
        if option == b"count" and index + 1 < len(args):
            count = parse_int(args[index + 1], "ERR COUNT must be > 0")
            if not 1 <= count <= _INT64_MAX // 16:
                raise CommandError("ERR COUNT must be > 0")
            if count * 16 >= 1 << 47:  # Redis allocates 16 bytes per COUNT up front; this fails
                raise CommandError("ERR Insufficient memory, failed allocating transient memory, COUNT too high.")
            index += 1
        elif option == b"justid":
            just_id = True
        else:
            raise CommandError(SYNTAX)
        index += 1
    key = args[1]
    stream = client.db.read(key, "stream")
    group = _group_or_error(stream, key, args[2])
    now = client.server.clock_ms()
    consumer = _consumer(client, key, group, args[3], now)
    pel = group.pel
    pel_ids = pel.keys()
    position = pel.bisect_left(start)
    attempts = count * 10
    claimed, deleted = [], []
    while attempts and count and position < len(pel):
        attempts -= 1
        stream_id = pel_ids[position]
        pending = pel[stream_id]
        if stream.get(stream_id) is None:  # deleted from the stream: drop it, report it
            group.acknowledge(stream_id)
            deleted.append(format_id(stream_id))
            count -= 1
            client.server.dirty += 1
            continue
        position += 1
        if min_idle and now - pending.delivery_time < min_idle:
            continue
        group.assign(stream_id, pending, consumer)
        pending.delivery_time = now
        if not just_id:
            pending.delivery_count += 1
        claimed.append(_claimed_reply(stream, stream_id, just_id))
        count -= 1
        consumer.active_time = now
        client.server.dirty += 1
    cursor = format_id(pel_ids[position]) if position < len(pel) else b"0-0"
    return [cursor, claimed, deleted]


# -- XSETID ---------------------------------------------------------------------------------------

@command("xsetid", -3, flags="write denyoom fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since="5.0.0",
         summary="Sets a stream's last generated ID and, optionally, its added-entries count and max deleted ID.",
         complexity="O(1)")
def xsetid(client: Client, args: list[bytes]):
    last_id = parse_strict_id(args[2])
    entries_added = -1
    max_deleted = 0
    index = 3
    while index < len(args):
        option = args[index].lower()
        if option == b"entriesadded" and index + 1 < len(args):
            entries_added = parse_int(args[index + 1])
            if entries_added < 0:
                raise CommandError("ERR entries_added must be positive")
        elif option == b"maxdeletedid" and index + 1 < len(args):
            max_deleted = parse_strict_id(args[index + 1])
            if last_id < max_deleted:
                raise CommandError("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
        else:
            raise CommandError(SYNTAX)
        index += 2
    stream = client.db.write_lookup(args[1], "stream")
    if stream is None:
        raise CommandError(NO_SUCH_KEY)
    if last_id < stream.max_deleted_id:
        raise CommandError("ERR The ID specified in XSETID is smaller than current max_deleted_entry_id")
    if stream.length:
        if last_id < stream.last_valid_id():
            raise CommandError("ERR The ID specified in XSETID is smaller than the target stream top item")
        if entries_added != -1 and stream.length > entries_added:
            raise CommandError("ERR The entries_added specified in XSETID is smaller than the target stream length")
    stream.last_id = last_id
    if entries_added != -1:
        stream.entries_added = entries_added
    if max_deleted:
        stream.max_deleted_id = max_deleted
    client.server.dirty += 1
    _notify(client, "xsetid", args[1])
    return "OK"


# -- XGROUP ---------------------------------------------------------------------------------------

container("xgroup", -2, group=GROUP, since="5.0.0", summary="Manages the consumer groups of a stream.")

_XGROUP_HELP = (
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
)
declare_help("xgroup", _XGROUP_HELP, since="5.0.0", group=GROUP, acl=ACL)


class _GroupCall:
    """What every XGROUP subcommand shares: options, the stream and the group, checked in
    Redis's order (options, key type, key existence, group existence)."""

    __slots__ = ("stream", "group", "mkstream", "entries_read")

    def __init__(self, client: Client, args: list[bytes], group_required: bool) -> None:
        sub = args[1].lower()
        self.mkstream = False
        self.entries_read = INVALID_READS
        index = 5
        while index < len(args):
            option = args[index].lower()
            if sub == b"create" and option == b"mkstream":
                self.mkstream = True
                index += 1
            elif sub in (b"create", b"setid") and option == b"entriesread" and index + 1 < len(args):
                self.entries_read = parse_int(args[index + 1])
                if self.entries_read < 0 and self.entries_read != INVALID_READS:
                    raise CommandError("ERR value for ENTRIESREAD must be positive or -1")
                index += 2
            else:
                raise subcommand_syntax_error(args)
        self.stream: Stream | None = client.db.write_lookup(args[2], "stream")
        self.group: ConsumerGroup | None = None
        if self.mkstream:
            return
        if self.stream is None:
            raise CommandError(
                "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want "
                "to use the MKSTREAM option to create an empty stream automatically.")
        self.group = self.stream.groups.get(args[3])
        if self.group is None and group_required:
            raise CommandError(f"NOGROUP No such consumer group '{_text(args[3])}' for key name '{_text(args[2])}'")


def _group_start_id(raw: bytes, stream: Stream | None, strict: bool) -> int:
    if raw == b"$":
        return stream.last_id if stream is not None else 0
    return parse_strict_id(raw) if strict else parse_id(raw)


@command("xgroup|create", -5, flags="write denyoom", keys=(2, 2, 1), acl=ACL, group=GROUP, since="5.0.0",
         summary="Creates a consumer group, optionally creating the stream (MKSTREAM).", complexity="O(1)")
def xgroup_create(client: Client, args: list[bytes]):
    call = _GroupCall(client, args, group_required=False)
    if len(args) > 8:
        raise subcommand_syntax_error(args)
    start = _group_start_id(args[4], call.stream, strict=True)
    key, name = args[2], args[3]
    stream = call.stream
    if stream is None:
        stream = Stream()
        client.db.set(key, stream)
    if name in stream.groups:
        raise CommandError("BUSYGROUP Consumer Group name already exists")
    stream.groups[name] = ConsumerGroup(name, start, call.entries_read)
    client.server.dirty += 1
    _notify(client, "xgroup-create", key)
    return "OK"


@command("xgroup|setid", -5, flags="write", keys=(2, 2, 1), acl=ACL, group=GROUP, since="5.0.0",
         summary="Moves a consumer group's last delivered ID (and sets its entries-read counter).",
         complexity="O(1)")
def xgroup_setid(client: Client, args: list[bytes]):
    call = _GroupCall(client, args, group_required=True)
    if len(args) not in (5, 7):
        raise subcommand_syntax_error(args)
    group = call.group
    group.last_id = _group_start_id(args[4], call.stream, strict=False)
    group.entries_read = call.entries_read
    client.server.dirty += 1
    _notify(client, "xgroup-setid", args[2])
    return "OK"


@command("xgroup|destroy", 4, flags="write", keys=(2, 2, 1), acl=ACL, group=GROUP, since="5.0.0",
         summary="Deletes a consumer group with its consumers and pending entries.",
         complexity="O(N) for the N pending entries of the group.")
def xgroup_destroy(client: Client, args: list[bytes]):
    call = _GroupCall(client, args, group_required=False)
    if call.group is None:
        return 0
    del call.stream.groups[args[3]]
    call.stream.wake_serial += 1
    client.server.dirty += 1
    _notify(client, "xgroup-destroy", args[2])
    # Readers blocked on this group must wake up (to get NOGROUP); this also counts as a change
    # of the key for WATCH, where Redis only signals the blocked readers.
    client.db.modified(args[2], 0)
    return 1


@command("xgroup|createconsumer", 5, flags="write denyoom", keys=(2, 2, 1), acl=ACL, group=GROUP,
         since="6.2.0", summary="Adds a consumer to a consumer group.", complexity="O(1)")
def xgroup_createconsumer(client: Client, args: list[bytes]):
    call = _GroupCall(client, args, group_required=True)
    if call.group.add_consumer(args[4], client.server.clock_ms()) is None:
        return 0
    client.server.dirty += 1
    _notify(client, "xgroup-createconsumer", args[2])
    return 1


@command("xgroup|delconsumer", 5, flags="write", keys=(2, 2, 1), acl=ACL, group=GROUP, since="5.0.0",
         summary="Removes a consumer from a group; returns how many entries it had pending.",
         complexity="O(N) for the N entries the consumer had pending.")
def xgroup_delconsumer(client: Client, args: list[bytes]):
    call = _GroupCall(client, args, group_required=True)
    consumer = call.group.consumers.get(args[4])
    if consumer is None:
        return 0
    pending = call.group.delete_consumer(consumer)
    client.server.dirty += 1
    _notify(client, "xgroup-delconsumer", args[2])
    return pending


# -- XINFO ----------------------------------------------------------------------------------------

container("xinfo", -2, group=GROUP, since="5.0.0", summary="Shows information about streams and their groups.")

_XINFO_HELP = (
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
)
declare_help("xinfo", _XINFO_HELP, since="5.0.0", group=GROUP, acl=ACL)


def _info_stream(client: Client, key: bytes) -> Stream:
    stream = client.db.read(key, "stream")
    if stream is None:
        raise CommandError(NO_SUCH_KEY)
    return stream


def _stream_header(stream: Stream) -> dict:
    keys, nodes = stream.rax_size()
    return {
        b"length": stream.length,
        # Node counts are computed for the nodes Ember keeps, which split where Redis's listpacks
        # would; radix-tree-nodes is the canonical compressed radix tree over their IDs.
        b"radix-tree-keys": keys,
        b"radix-tree-nodes": nodes,
        b"last-generated-id": format_id(stream.last_id),
        b"max-deleted-entry-id": format_id(stream.max_deleted_id),
        b"entries-added": stream.entries_added,
        b"recorded-first-entry-id": format_id(stream.first_id),
    }


def _full_group(stream: Stream, group: ConsumerGroup, count: int) -> dict:
    pel = group.pel
    limit = count or None
    return {
        b"name": group.name,
        b"last-delivered-id": format_id(group.last_id),
        b"entries-read": group.entries_read if group.entries_read != INVALID_READS else None,
        b"lag": stream.lag(group),
        b"pel-count": len(pel),
        b"pending": [[format_id(i), p.consumer.name, p.delivery_time, p.delivery_count]
                     for i, p in islice(pel.items(), limit)],
        b"consumers": [{
            b"name": consumer.name,
            b"seen-time": consumer.seen_time,
            b"active-time": consumer.active_time,
            b"pel-count": len(consumer.pel),
            b"pending": [[format_id(i), p.delivery_time, p.delivery_count]
                         for i, p in islice(consumer.pel.items(), limit)],
        } for consumer in group.sorted_consumers()],
    }


@command("xinfo|stream", -3, flags="readonly", keys=(2, 2, 1), acl=ACL, group=GROUP, since="5.0.0",
         summary="Shows a stream's length, IDs, counters and first/last entries (FULL: entries and groups too).",
         complexity="O(1); FULL: O(N) for the N entries and pending entries shown.")
def xinfo_stream(client: Client, args: list[bytes]):
    stream = _info_stream(client, args[2])
    options = args[3:]
    if not options:
        info = _stream_header(stream)
        info[b"groups"] = len(stream.groups)
        first, last = stream.first_entry(), stream.last_entry()
        info[b"first-entry"] = [format_id(first[0]), first[1]] if first else None
        info[b"last-entry"] = [format_id(last[0]), last[1]] if last else None
        return info
    if len(options) not in (1, 3) or options[0].lower() != b"full":
        raise subcommand_syntax_error(args)
    count = 10
    if len(options) == 3:
        if options[1].lower() != b"count":
            raise subcommand_syntax_error(args)
        count = parse_int(options[2])
        if count < 0:
            count = 10
    info = _stream_header(stream)
    info[b"entries"] = [[format_id(i), fields] for i, fields in islice(stream.entries(), count or None)]
    info[b"groups"] = [_full_group(stream, stream.groups[name], count) for name in sorted(stream.groups)]
    return info


@command("xinfo|groups", 3, flags="readonly", keys=(2, 2, 1), acl=ACL, group=GROUP, since="5.0.0",
         summary="Lists a stream's consumer groups with their counters.", complexity="O(1) per group.")
def xinfo_groups(client: Client, args: list[bytes]):
    stream = _info_stream(client, args[2])
    groups = []
    for name in sorted(stream.groups):
        group = stream.groups[name]
        groups.append({
            b"name": name,
            b"consumers": len(group.consumers),
            b"pending": len(group.pel),
            b"last-delivered-id": format_id(group.last_id),
            b"entries-read": group.entries_read if group.entries_read != INVALID_READS else None,
            b"lag": stream.lag(group),
        })
    return groups


@command("xinfo|consumers", 4, flags="readonly", keys=(2, 2, 1), acl=ACL, group=GROUP, since="5.0.0",
         summary="Lists the consumers of a group: pending count, idle and inactive times.",
         complexity="O(1) per consumer.")
def xinfo_consumers(client: Client, args: list[bytes]):
    stream = _info_stream(client, args[2])
    group = stream.groups.get(args[3])
    if group is None:
        raise CommandError(f"NOGROUP No such consumer group '{_text(args[3])}' for key name '{_text(args[2])}'")
    now = client.server.clock_ms()
    return [{
        b"name": consumer.name,
        b"pending": len(consumer.pel),
        b"idle": max(now - consumer.seen_time, 0),
        b"inactive": now - consumer.active_time if consumer.active_time != -1 else -1,
    } for consumer in group.sorted_consumers()]

