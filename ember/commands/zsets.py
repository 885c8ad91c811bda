"""Sorted set commands: ZADD ... ZSCAN, the ZUNION/ZINTER/ZDIFF family and the blocking pops.

Redis's t_zset.c is the model: one generic implementation per family of commands (ZADD/ZINCRBY,
every ZRANGE variant and ZRANGESTORE, ZREMRANGEBY*, the pops, the set operations) with the
variants differing by arguments. Parsing follows Redis's order of checks so an invalid command
gets the same error Redis gives, and scores are parsed like C's strtod (hex floats, "inf",
overflow errors), which Python's float() alone does not do.

Reply shapes that differ between RESP2 and RESP3 (flat member/score lists vs [member, score]
pairs) are chosen here, as Redis does from the client's protocol; score values are floats and
the encoder prints them (bulk strings in RESP2, doubles in RESP3).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..keyspace.database import type_name
from ..keyspace.zsets import (
    LEX_MAX,
    LEX_MIN,
    LexBound,
    Limits,
    ScoreRange,
    ZSet,
    listpack_limits,
)
from ..protocol.encoder import NULL_ARRAY, format_double
from ..protocol.errors import SYNTAX, WRONGTYPE, CommandError, wrong_arity
from ..protocol.numbers import C_SPACES, c_strtod
from ..server.blocking import parse_timeout
from ..server.propagate import propagate_as
from .sets import after_removal, parse_scan_cursor, parse_scan_options, remove_elements
from .table import command, parse_int

if TYPE_CHECKING:
    from ..server.client import Client

GROUP = "sorted-set"
ACL = "sortedset"

NAN_SCORE = "ERR resulting score is not a number (NaN)"
NOT_FLOAT = "ERR value is not a valid float"
MINMAX_NOT_FLOAT = "ERR min or max is not a float"
MINMAX_NOT_LEX = "ERR min or max not valid string range item"
LONG_MAX = 2**63 - 1

# COMMAND DOCS complexity texts (part of the reply, so Redis's own wording).
COMPLEXITY = {
    "zadd": "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
    "zincrby": "O(log(N)) where N is the number of elements in the sorted set.",
    "zrem": "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.",
    "zcard": "O(1)",
    "zcount": "O(log(N)) with N being the number of elements in the sorted set.",
    "zlexcount": "O(log(N)) with N being the number of elements in the sorted set.",
    "zscore": "O(1)",
    "zmscore": "O(N) where N is the number of members being requested.",
    "zrank": "O(log(N))",
    "zrevrank": "O(log(N))",
    "zrange": "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.",
    "zrevrange": "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.",
    "zrangestore": "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.",
    "zrangebyscore": "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).",
    "zremrangebyrank": "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
    "zpopmin": "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.",
    "zmpop": "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
    "bzpopmin": "O(log(N)) with N being the number of elements in the sorted set.",
    "zrandmember": "O(N) where N is the number of elements returned",
    "zunion": "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.",
    "zunionstore": "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.",
    "zinter": "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.",
    "zdiff": "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.",
    "zintercard": "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.",
    "zscan": "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..",
    "zrevrangebyscore": "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).",
    "zrangebylex": "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).",
    "zrevrangebylex": "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).",
    "zremrangebyscore": "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
    "zremrangebylex": "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
    "zpopmax": "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.",
    "bzpopmax": "O(log(N)) with N being the number of elements in the sorted set.",
    "bzmpop": "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
    "zinterstore": "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.",
    "zdiffstore": "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.",
}

# A plain decimal ([-]digits[.digits]) shorter than this can neither overflow nor underflow.
PLAIN_SCORE_MAX = 40


def parse_score(raw: bytes, error: str = NOT_FLOAT) -> float:
    """A double argument as Redis's getDoubleFromObject reads it (NaN and overflow rejected)."""
    unsigned = raw[1:] if raw[:1] == b"-" else raw
    if len(raw) < PLAIN_SCORE_MAX and unsigned.replace(b".", b"", 1).isdigit():
        return float(raw)  # the common case: strtod reads a plain decimal as float() does
    value, consumed, out_of_range = c_strtod(raw)
    if not raw or raw[:1] in C_SPACES or consumed != len(raw) or out_of_range or value != value:
        raise CommandError(error)
    return value


def parse_score_bound(raw: bytes) -> tuple[float, bool]:
    """One end of a ZRANGEBYSCORE interval: (value, exclusive). Like Redis (plain strtod), this
    accepts leading spaces, an empty number (0) and overflow (+-inf); it rejects NaN."""
    exclusive = raw[:1] == b"("
    text = raw[1:] if exclusive else raw
    text = text.split(b"\0", 1)[0]  # C stops reading at a NUL
    value, consumed, _ = c_strtod(text)
    if consumed != len(text) or value != value:
        raise CommandError(MINMAX_NOT_FLOAT)
    return value, exclusive


def parse_score_range(low: bytes, high: bytes) -> ScoreRange:
    return ScoreRange(*parse_score_bound(low), *parse_score_bound(high))


def parse_lex_bound(raw: bytes) -> LexBound:
    first = raw[:1]
    if first == b"+" and len(raw) == 1:
        return LexBound(LEX_MAX, True)
    if first == b"-" and len(raw) == 1:
        return LexBound(LEX_MIN, True)
    if first == b"(":
        return LexBound(raw[1:], True)
    if first == b"[":
        return LexBound(raw[1:], False)
    raise CommandError(MINMAX_NOT_LEX)


def parse_lex_range(low: bytes, high: bytes) -> tuple[LexBound, LexBound]:
    return parse_lex_bound(low), parse_lex_bound(high)


def parse_ranged_int(raw: bytes, low: int, high: int, error: str | None = None) -> int:
    """Redis's getRangeLongFromObjectOrReply: an integer within [low, high]."""
    value = parse_int(raw, error) if error else parse_int(raw)  # its own text for non-integers
    if not low <= value <= high:
        raise CommandError(error or f"ERR value is out of range, value must between {low} and {high}")
    return value


def parse_positive(raw: bytes, error: str = "ERR value is out of range, must be positive") -> int:
    """Redis's getPositiveLongFromObjectOrReply (0 allowed; one message for every failure)."""
    return parse_ranged_int(raw, 0, LONG_MAX, error)


# -- shared helpers -----------------------------------------------------------------------------

def notify(client: Client, event: str, key: bytes, cls: str = "z") -> None:
    client.server.notifier.notify(client.db, cls, event, key)


def read_zset(client: Client, key: bytes) -> ZSet | None:
    return client.db.read(key, "zset")


def store_result(client: Client, dest: bytes, result: ZSet, event: str, refit: bool = True) -> int:
    """Put a computed set at dest (deleting dest when it is empty); returns its size.
    With refit the set gets the encoding its contents call for, as Redis's *STORE commands do."""
    db = client.db
    if result:
        if refit:
            result.fit_encoding(listpack_limits(client.server))
        db.set(dest, result)
        notify(client, event, dest)
    elif db.delete(dest):
        notify(client, "del", dest, "g")
    return len(result)


def removed_from(client: Client, key: bytes, zset: ZSet, event: str, removed: int) -> None:
    """Bookkeeping after elements left a stored set (deleting it when emptied)."""
    if removed:
        after_removal(client, key, zset, "z", event, removed)


def scored(pairs: Iterable[tuple[float, bytes]], withscores: bool, resp: int) -> list:
    """Members, or members with scores: flat in RESP2, [member, score] pairs in RESP3."""
    if not withscores:
        return [member for _, member in pairs]
    if resp == 3:
        return [[member, score] for score, member in pairs]
    flat: list = []
    for score, member in pairs:
        flat.append(member)
        flat.append(score)
    return flat


# -- ZADD / ZINCRBY ------------------------------------------------------------------------------

ADDED, UPDATED, PROCESSED, SKIPPED, NAN = range(5)


class AddOptions:
    __slots__ = ("nx", "xx", "gt", "lt", "incr", "ch")

    def __init__(self, incr: bool = False) -> None:
        self.nx = self.xx = self.gt = self.lt = self.ch = False
        self.incr = incr


_ZADD_FLAGS = {b"nx": "nx", b"xx": "xx", b"gt": "gt", b"lt": "lt", b"incr": "incr", b"ch": "ch"}
# Shared (never modified) options of the common calls without flags: ZADD and ZINCRBY.
_NO_FLAGS = AddOptions()
_INCR_ONLY = AddOptions(incr=True)


def add_member(zset: ZSet, member: bytes, score: float, opts: AddOptions,
               limits: Limits | None) -> tuple[int, float]:
    """Redis's zsetAdd: (outcome, resulting score) for one score/member pair."""
    current = zset.scores.get(member)
    if current is None:
        if opts.xx:
            return SKIPPED, score
        zset.insert(member, score, limits)
        return ADDED, score
    if opts.nx:
        return SKIPPED, score
    if opts.incr:
        score += current
        if score != score:
            return NAN, score
    if (opts.lt and score >= current) or (opts.gt and score <= current):
        return SKIPPED, score
    if score != current:
        zset.update(member, score)
        return UPDATED, score
    return PROCESSED, score


def _parse_zadd_options(args: list[bytes], incr: bool) -> tuple[AddOptions, int]:
    opts = _INCR_ONLY if incr else _NO_FLAGS
    index = 2
    while index < len(args):
        flag = _ZADD_FLAGS.get(args[index].lower())
        if flag is None:
            break
        if index == 2:
            opts = AddOptions(incr)
        setattr(opts, flag, True)
        index += 1
    pairs = len(args) - index
    if pairs % 2 or not pairs:
        raise CommandError(SYNTAX)
    if index > 2:  # flags given: they may clash
        if opts.nx and opts.xx:
            raise CommandError("ERR XX and NX options at the same time are not compatible")
        if (opts.gt and opts.nx) or (opts.lt and opts.nx) or (opts.gt and opts.lt):
            raise CommandError("ERR GT, LT, and/or NX options at the same time are not compatible")
    if opts.incr and pairs > 2:
        raise CommandError("ERR INCR option supports a single increment-element pair")
    return opts, index


def zadd_generic(client: Client, args: list[bytes], incr: bool) -> Any:
    opts, first = _parse_zadd_options(args, incr)  # which checked that pairs follow
    scores = list(map(parse_score, args[first::2]))  # every score, before anything changes
    members = args[first + 1::2]
    key = args[1]
    db = client.db
    zset = db.write_lookup(key, "zset")
    created = zset is None
    if created:
        if opts.xx:
            return None if opts.incr else 0
        zset = ZSet()
    limits = None
    if not zset.skiplist:
        limits = listpack_limits(client.server)
        # Redis 7.2 sizes the set from the pair count (a new set also from the longest member).
        zset.reserve(len(members), max(map(len, members)) if created else 0, limits)
    added = updated = processed = 0
    score = 0.0
    failed = False
    # The last score is INCR's reply. Equal lengths by construction: zip(strict=True) would
    # only cost a keyword call.
    for member, score in zip(members, scores):  # noqa: B905
        outcome, score = add_member(zset, member, score, opts, limits)
        if outcome == NAN:
            failed = True
            break
        added += outcome == ADDED
        updated += outcome == UPDATED
        processed += outcome != SKIPPED
    if created and zset:
        db.set(key, zset)
        client.server.dirty += added - 1  # Redis counts every change; set() counted one
    if added or updated:
        if not created:
            db.modified(key, added + updated)
        notify(client, "zincr" if opts.incr else "zadd", key)
    if failed:
        raise CommandError(NAN_SCORE)
    if opts.incr:
        return score if processed else None
    return added + updated if opts.ch else added


@command("zadd", -4, complexity=COMPLEXITY["zadd"],
         flags="write denyoom fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since="1.2.0",
         summary="Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.")
def zadd(client: Client, args: list[bytes]):
    return zadd_generic(client, args, incr=False)


@command("zincrby", 4, complexity=COMPLEXITY["zincrby"],
         flags="write denyoom fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since="1.2.0",
         summary="Increments the score of a member in a sorted set.")
def zincrby(client: Client, args: list[bytes]):
    return zadd_generic(client, args, incr=True)


# -- single-member reads and ZREM -------------------------------------------------------------

@command("zrem", -3, complexity=COMPLEXITY["zrem"],
         flags="write fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since="1.2.0",
         summary="Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.")
def zrem(client: Client, args: list[bytes]):
    return remove_elements(client, args, "zset", "z", "zrem")


@command("zcard", 2, complexity=COMPLEXITY["zcard"],
         flags="readonly fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since="1.2.0",
         summary="Returns the number of members in a sorted set.")
def zcard(client: Client, args: list[bytes]):
    zset = read_zset(client, args[1])
    return 0 if zset is None else len(zset)


@command("zscore", 3, complexity=COMPLEXITY["zscore"],
         flags="readonly fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since="1.2.0",
         summary="Returns the score of a member in a sorted set.")
def zscore(client: Client, args: list[bytes]):
    zset = read_zset(client, args[1])
    return None if zset is None else zset.scores.get(args[2])


@command("zmscore", -3, complexity=COMPLEXITY["zmscore"],
         flags="readonly fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since="6.2.0",
         summary="Returns the score of one or more members in a sorted set.")
def zmscore(client: Client, args: list[bytes]):
    zset = read_zset(client, args[1])
    if zset is None:
        return [None] * (len(args) - 2)
    scores = zset.scores
    return [scores.get(member) for member in args[2:]]


def zrank_generic(client: Client, args: list[bytes], reverse: bool) -> Any:
    if len(args) > 4:
        raise wrong_arity(args[0].decode("utf-8", "replace").lower())
    withscore = len(args) == 4
    if withscore and args[3].lower() != b"withscore":
        raise CommandError(SYNTAX)
    zset = read_zset(client, args[1])
    rank = None if zset is None else zset.rank(args[2])
    if rank is None:
        return NULL_ARRAY if withscore else None
    if reverse:
        rank = len(zset) - 1 - rank
    return [rank, zset.scores[args[2]]] if withscore else rank


@command("zrank", -3, complexity=COMPLEXITY["zrank"],
         flags="readonly fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since="2.0.0",
         summary="Returns the index of a member in a sorted set ordered by ascending scores.")
def zrank(client: Client, args: list[bytes]):
    return zrank_generic(client, args, reverse=False)


@command("zrevrank", -3, complexity=COMPLEXITY["zrevrank"],
         flags="readonly fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since="2.0.0",
         summary="Returns the index of a member in a sorted set ordered by descending scores.")
def zrevrank(client: Client, args: list[bytes]):
    return zrank_generic(client, args, reverse=True)


@command("zcount", 4, complexity=COMPLEXITY["zcount"],
         flags="readonly fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since="2.0.0",
         summary="Returns the count of members in a sorted set that have scores within a range.")
def zcount(client: Client, args: list[bytes]):
    spec = parse_score_range(args[2], args[3])
    zset = read_zset(client, args[1])
    if zset is None:
        return 0
    start, stop = zset.score_span(spec)
    return stop - start


@command("zlexcount", 4, complexity=COMPLEXITY["zlexcount"],
         flags="readonly fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since="2.8.9",
         summary="Returns the number of members in a sorted set within a lexicographical range.")
def zlexcount(client: Client, args: list[bytes]):
    low, high = parse_lex_range(args[2], args[3])
    zset = read_zset(client, args[1])
    if zset is None:
        return 0
    start, stop = zset.lex_span(low, high)
    return stop - start


# -- the ZRANGE family --------------------------------------------------------------------------

BY_RANK, BY_SCORE, BY_LEX = "rank", "score", "lex"


def rank_span(length: int, start: int, end: int) -> tuple[int, int]:
    """Positions [start, stop) of a ZRANGE-style inclusive index range (negatives from the end)."""
    if start < 0:
        start += length
    if end < 0:
        end += length
    start = max(start, 0)
    if start > end or start >= length:
        return 0, 0
    return start, min(end, length - 1) + 1


def parse_bounds(kind: str, low: bytes, high: bytes) -> Any:
    """The two ends of a range of `kind`: indexes, a ScoreRange, or two LexBounds."""
    if kind == BY_RANK:
        return parse_int(low), parse_int(high)
    if kind == BY_SCORE:
        return parse_score_range(low, high)
    return parse_lex_range(low, high)


def span_of(zset: ZSet, kind: str, bounds: Any) -> tuple[int, int]:
    """Positions [start, stop) of the elements a parsed range selects (ascending order)."""
    if kind == BY_RANK:
        return rank_span(len(zset), *bounds)
    if kind == BY_SCORE:
        return zset.score_span(bounds)
    return zset.lex_span(*bounds)


def limited_slice(zset: ZSet, span: tuple[int, int], offset: int, limit: int,
                  reverse: bool) -> Iterable[tuple[float, bytes]]:
    """The pairs of span after skipping `offset` and taking at most `limit` (negative: all),
    walking from the high end when reverse."""
    start, stop = span
    if offset < 0 or start >= stop:
        return ()
    if reverse:
        end = stop - offset
        begin = start if limit < 0 else max(start, end - limit)
    else:
        begin = start + offset
        end = stop if limit < 0 else min(stop, begin + limit)
    return zset.slice(begin, end, reverse) if begin < end else ()


class RangeRequest:
    """A parsed ZRANGE-style command: which kind of range, its bounds and options."""

    __slots__ = ("kind", "reverse", "withscores", "offset", "limit", "bounds")

    def __init__(self, kind: str, reverse: bool) -> None:
        self.kind = kind
        self.reverse = reverse
        self.withscores = False
        self.offset = 0
        self.limit = -1
        self.bounds: Any = None

    def select(self, zset: ZSet) -> Iterable[tuple[float, bytes]]:
        if self.kind == BY_RANK:
            start, stop = span_of(zset, BY_RANK, self.bounds)
            if self.reverse:  # ranks count from the top
                start, stop = len(zset) - stop, len(zset) - start
            return zset.slice(start, stop, self.reverse)
        if self.kind == BY_LEX and not zset.skiplist:
            # a listpack is walked element by element, which matters when scores differ
            return zset.lex_walk(*self.bounds, self.reverse, self.offset, self.limit)
        return limited_slice(zset, span_of(zset, self.kind, self.bounds), self.offset, self.limit, self.reverse)


def parse_range_request(args: list[bytes], src_index: int, store: bool, kind: str | None,
                        reverse: bool | None) -> RangeRequest:
    """Options, then bounds, of ZRANGE & co, checked in Redis's order (zrangeGenericCommand)."""
    withscores = False
    offset, limit = 0, -1
    index = src_index + 3
    while index < len(args):
        option = args[index].lower()
        remaining = len(args) - index - 1
        if not store and option == b"withscores":
            withscores = True
        elif option == b"limit" and remaining >= 2:
            offset = parse_int(args[index + 1])
            limit = parse_int(args[index + 2])
            index += 2
        elif reverse is None and option == b"rev":
            reverse = True
        elif kind is None and option == b"bylex":
            kind = BY_LEX
        elif kind is None and option == b"byscore":
            kind = BY_SCORE
        else:
            raise CommandError(SYNTAX)
        index += 1
    request = RangeRequest(kind or BY_RANK, bool(reverse))
    if limit != -1 and request.kind == BY_RANK:
        raise CommandError("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
    if withscores and request.kind == BY_LEX:
        raise CommandError("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    low, high = args[src_index + 1], args[src_index + 2]
    if request.reverse and request.kind != BY_RANK:
        low, high = high, low  # the reverse variants take max before min
    request.bounds = parse_bounds(request.kind, low, high)
    request.withscores = withscores
    request.offset, request.limit = offset, limit
    return request


def zrange_generic(client: Client, args: list[bytes], kind: str | None = None,
                   reverse: bool | None = None) -> Any:
    request = parse_range_request(args, 1, False, kind, reverse)
    zset = read_zset(client, args[1])
    if zset is None:
        return []
    return scored(request.select(zset), request.withscores, client.resp)


def _range_command(name: str, since: str, summary: str, kind: str | None, reverse: bool | None) -> None:
    @command(name, -4, complexity=COMPLEXITY[name],
             flags="readonly", keys=(1, 1, 1), acl=ACL, group=GROUP, since=since, summary=summary)
    def handler(client: Client, args: list[bytes]):
        return zrange_generic(client, args, kind, reverse)


_range_command("zrange", "1.2.0", "Returns members in a sorted set within a range of indexes.", None, None)
_range_command("zrevrange", "1.2.0", "Returns members in a sorted set within a range of indexes in reverse order.",
               BY_RANK, True)
_range_command("zrangebyscore", "1.0.5", "Returns members in a sorted set within a range of scores.", BY_SCORE, False)
_range_command("zrevrangebyscore", "2.2.0",
               "Returns members in a sorted set within a range of scores in reverse order.", BY_SCORE, True)
_range_command("zrangebylex", "2.8.9", "Returns members in a sorted set within a lexicographical range.",
               BY_LEX, False)
_range_command("zrevrangebylex", "2.8.9",
               "Returns members in a sorted set within a lexicographical range in reverse order.", BY_LEX, True)


@command("zrangestore", -5, complexity=COMPLEXITY["zrangestore"],
         flags="write denyoom", keys=(1, 2, 1), acl=ACL, group=GROUP, since="6.2.0",
         summary="Stores a range of members from sorted set in a key.")
def zrangestore(client: Client, args: list[bytes]):
    request = parse_range_request(args, 2, True, None, None)
    source = read_zset(client, args[2])
    result = ZSet()
    # Redis 7.2.4 sizes the destination from the result length, which it does not know in
    # advance for BYSCORE/BYLEX: it passes -1, read as a huge size, so those results are
    # always skiplists (fixed after 7.2.4 by redis/redis#13148).
    result.skiplist = request.kind != BY_RANK
    if source is not None:
        for score, member in request.select(source):
            result.insert(member, score)
    return store_result(client, args[1], result, "zrangestore", refit=request.kind == BY_RANK)


# -- ZREMRANGEBY* -------------------------------------------------------------------------------

def zremrange_generic(client: Client, args: list[bytes], kind: str) -> int:
    bounds = parse_bounds(kind, args[2], args[3])
    key = args[1]
    zset = client.db.write_lookup(key, "zset")
    if zset is None:
        return 0
    removed = zset.remove_span(*span_of(zset, kind, bounds))
    removed_from(client, key, zset, f"zremrangeby{kind}", removed)
    return removed


def _remrange_command(kind: str, since: str, summary: str) -> None:
    @command(f"zremrangeby{kind}", 4, complexity=COMPLEXITY[f"zremrangeby{kind}"],
             flags="write", keys=(1, 1, 1), acl=ACL, group=GROUP, since=since,
             summary=summary)
    def handler(client: Client, args: list[bytes]):
        return zremrange_generic(client, args, kind)


_remrange_command(BY_RANK, "2.0.0", "Removes members in a sorted set within a range of indexes. "
                  "Deletes the sorted set if all members were removed.")
_remrange_command(BY_SCORE, "1.2.0", "Removes members in a sorted set within a range of scores. "
                  "Deletes the sorted set if all members were removed.")
_remrange_command(BY_LEX, "2.8.9", "Removes members in a sorted set within a lexicographical range. "
                  "Deletes the sorted set if all members were removed.")


# -- pops (ZPOPMIN/ZPOPMAX, ZMPOP and the blocking variants) ------------------------------------

def pop_elements(client: Client, key: bytes, zset: ZSet, from_max: bool, count: int) -> list[tuple[float, bytes]]:
    """Remove up to count elements from one end of a stored set (deleting it when emptied)."""
    popped = []
    for _ in range(min(count, len(zset))):
        member, score = zset.pop(from_max)
        popped.append((score, member))
    removed_from(client, key, zset, "zpopmax" if from_max else "zpopmin", len(popped))
    return popped


def first_nonempty(client: Client, keys: Iterable[bytes]) -> tuple[bytes, ZSet] | None:
    """The first key holding a sorted set (WRONGTYPE if a key before it holds another type)."""
    db = client.db
    for key in keys:
        zset = db.write_lookup(key, "zset")
        if zset is not None:
            return key, zset
    return None


def nested_pop_reply(client: Client, found: tuple[bytes, ZSet] | None, from_max: bool, count: int) -> Any:
    """ZMPOP/BZMPOP's [key, [[member, score], ...]] (null array when nothing could be popped)."""
    if found is None:
        return NULL_ARRAY
    key, zset = found
    popped = pop_elements(client, key, zset, from_max, count)
    propagate_as(client, [b"ZPOPMAX" if from_max else b"ZPOPMIN", key, b"%d" % len(popped)])
    return [key, [[member, score] for score, member in popped]]


def zpop_generic(client: Client, args: list[bytes], from_max: bool) -> Any:
    if len(args) > 3:
        raise CommandError(SYNTAX)
    count = parse_positive(args[2]) if len(args) == 3 else None
    key = args[1]
    zset = client.db.write_lookup(key, "zset")
    if zset is None or count == 0:
        return []
    popped = pop_elements(client, key, zset, from_max, 1 if count is None else count)
    # A count always gets nested pairs in RESP3; a plain pop is one flat [member, score].
    return scored(popped, True, client.resp if count is not None else 2)


@command("zpopmin", -2, complexity=COMPLEXITY["zpopmin"],
         flags="write fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since="5.0.0",
         summary="Returns the lowest-scoring members from a sorted set after removing them. "
                 "Deletes the sorted set if the last member was popped.")
def zpopmin(client: Client, args: list[bytes]):
    return zpop_generic(client, args, from_max=False)


@command("zpopmax", -2, complexity=COMPLEXITY["zpopmax"],
         flags="write fast", keys=(1, 1, 1), acl=ACL, group=GROUP, since="5.0.0",
         summary="Returns the highest-scoring members from a sorted set after removing them. "
                 "Deletes the sorted set if the last member was popped.")
def zpopmax(client: Client, args: list[bytes]):
    return zpop_generic(client, args, from_max=True)


def parse_mpop(args: list[bytes], numkeys_index: int) -> tuple[list[bytes], bool, int]:
    """ZMPOP/BZMPOP arguments after the timeout: (keys, from_max, count)."""
    numkeys = parse_ranged_int(args[numkeys_index], 1, LONG_MAX, "ERR numkeys should be greater than 0")
    where_index = numkeys_index + numkeys + 1
    if where_index >= len(args):
        raise CommandError(SYNTAX)
    where = args[where_index].lower()
    if where not in (b"min", b"max"):
        raise CommandError(SYNTAX)
    count = -1
    index = where_index + 1
    while index < len(args):
        if count == -1 and args[index].lower() == b"count" and index + 1 < len(args):
            count = parse_ranged_int(args[index + 1], 1, LONG_MAX, "ERR count should be greater than 0")
            index += 2
        else:
            raise CommandError(SYNTAX)
    return args[numkeys_index + 1:where_index], where == b"max", max(count, 1)


def mpop_keys(numkeys_index: int) -> Callable[[list[bytes]], list[int]]:
    def positions(args: list[bytes]) -> list[int]:
        try:
            numkeys = int(args[numkeys_index])
        except (ValueError, IndexError):
            return []
        first = numkeys_index + 1
        return list(range(first, min(first + max(numkeys, 0), len(args))))

    return positions


@command("zmpop", -4, complexity=COMPLEXITY["zmpop"],
         flags="write", acl=ACL, group=GROUP, since="7.0.0", get_keys=mpop_keys(1),
         summary="Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. "
                 "Deletes the sorted set if the last member was popped.")
def zmpop(client: Client, args: list[bytes]):
    keys, from_max, count = parse_mpop(args, 1)
    return nested_pop_reply(client, first_nonempty(client, keys), from_max, count)


def _holds_zset(client: Client, keys: list[bytes]) -> bool:
    lookup = client.db.lookup
    return any(value is not None and type_name(value) == "zset" for value in map(lookup, keys))


def block_for_zsets(client: Client, keys: list[bytes], timeout: float, serve: Callable[[], Any]) -> Any:
    """Serve now if a key holds a sorted set (WRONGTYPE for a key of another type before it),
    else wait. A waiter is retried only once some key holds a sorted set; Redis 7.2 then re-runs
    the command, so keys are tried in argument order again."""
    reply = serve()
    if reply is not None:
        return reply

    def retry() -> Any:
        return serve() if _holds_zset(client, keys) else None

    return client.server.blocking.block(client, keys, timeout, retry)


def bzpop_generic(client: Client, args: list[bytes], from_max: bool) -> Any:
    timeout = parse_timeout(args[-1])
    keys = args[1:-1]

    def serve() -> Any:
        found = first_nonempty(client, keys)
        if found is None:
            return None
        key, zset = found
        ((score, member),) = pop_elements(client, key, zset, from_max, 1)
        propagate_as(client, [b"ZPOPMAX" if from_max else b"ZPOPMIN", key])
        return [key, member, score]

    return block_for_zsets(client, keys, timeout, serve)


@command("bzpopmin", -3, complexity=COMPLEXITY["bzpopmin"],
         flags="write noscript blocking fast", keys=(1, -2, 1), acl=ACL, group=GROUP,
         since="5.0.0", summary="Removes and returns the member with the lowest score from one or more sorted sets. "
                                "Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.")
def bzpopmin(client: Client, args: list[bytes]):
    return bzpop_generic(client, args, from_max=False)


@command("bzpopmax", -3, complexity=COMPLEXITY["bzpopmax"],
         flags="write noscript blocking fast", keys=(1, -2, 1), acl=ACL, group=GROUP,
         since="5.0.0", summary="Removes and returns the member with the highest score from one or more sorted sets. "
                                "Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.")
def bzpopmax(client: Client, args: list[bytes]):
    return bzpop_generic(client, args, from_max=True)


@command("bzmpop", -5, complexity=COMPLEXITY["bzmpop"],
         flags="write blocking", acl=ACL, group=GROUP, since="7.0.0", get_keys=mpop_keys(2),
         summary="Removes and returns a member by score from one or more sorted sets. Blocks until a member is "
                 "available otherwise. Deletes the sorted set if the last element was popped.")
def bzmpop(client: Client, args: list[bytes]):
    keys, from_max, count = parse_mpop(args, 2)
    timeout = parse_timeout(args[1])

    def serve() -> Any:
        found = first_nonempty(client, keys)
        return None if found is None else nested_pop_reply(client, found, from_max, count)

    return block_for_zsets(client, keys, timeout, serve)


# -- ZRANDMEMBER --------------------------------------------------------------------------------

def random_members(zset: ZSet, count: int) -> list[tuple[float, bytes]]:
    """ZRANDMEMBER with a count, choosing elements as Redis does (see zrandmemberWithCountCommand)."""
    order = zset.order
    size = len(order)
    if count < 0:  # repetitions allowed, random order
        return [order[random.randrange(size)] for _ in range(-count)]
    if count == 1:
        return [order[random.randrange(size)]]
    if count >= size:  # the whole set, which Redis walks from the tail
        return list(zset.slice(0, size, reverse=True))
    positions = random.sample(range(size), count)
    if not zset.skiplist:
        positions.sort()  # a listpack is sampled in place: picks come out in set order
    return [order[i] for i in positions]


@command("zrandmember", -2, complexity=COMPLEXITY["zrandmember"],
         flags="readonly", keys=(1, 1, 1), acl=ACL, group=GROUP, since="6.2.0",
         summary="Returns one or more random members from a sorted set.")
def zrandmember(client: Client, args: list[bytes]):
    if len(args) == 2:
        zset = read_zset(client, args[1])
        return None if zset is None else zset.order[random.randrange(len(zset))][1]
    count = parse_ranged_int(args[2], -LONG_MAX, LONG_MAX)
    withscores = False
    if len(args) > 4 or (len(args) == 4 and args[3].lower() != b"withscores"):
        raise CommandError(SYNTAX)
    if len(args) == 4:
        withscores = True
        if not -LONG_MAX // 2 <= count <= LONG_MAX // 2:
            raise CommandError("ERR value is out of range")
    zset = read_zset(client, args[1])
    if zset is None or count == 0:
        return []
    return scored(random_members(zset, count), withscores, client.resp)


# -- ZUNION / ZINTER / ZDIFF and their STORE forms, ZINTERCARD -----------------------------------

UNION, INTER, DIFF = "union", "inter", "diff"


def _aggregate_sum(total: float, value: float) -> float:
    total += value
    return 0.0 if total != total else total  # inf + -inf counts as 0, as in Redis


def _aggregate_min(total: float, value: float) -> float:
    return value if value < total else total


def _aggregate_max(total: float, value: float) -> float:
    return value if value > total else total


AGGREGATORS = {b"sum": _aggregate_sum, b"min": _aggregate_min, b"max": _aggregate_max}


class Source:
    """One input of a set operation: a sorted set, a plain set (every score 1) or nothing."""

    __slots__ = ("value", "weight")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.weight = 1.0

    def __len__(self) -> int:
        return 0 if self.value is None else len(self.value)

    def pairs(self) -> Iterable[tuple[bytes, float]]:
        value = self.value
        if value is None:
            return ()
        if value.__class__ is ZSet:
            return value.scores.items()
        return ((member, 1.0) for member in value)

    def find(self, member: bytes) -> float | None:
        value = self.value
        if value is None:
            return None
        if value.__class__ is ZSet:
            return value.scores.get(member)
        return 1.0 if member in value else None


class SetOperation:
    __slots__ = ("sources", "aggregate", "withscores", "limit")

    def __init__(self, sources: list[Source]) -> None:
        self.sources = sources
        self.aggregate = _aggregate_sum
        self.withscores = False
        self.limit = 0


def parse_set_operation(client: Client, args: list[bytes], numkeys_index: int, op: str, store: bool,
                        cardinality_only: bool = False) -> SetOperation:
    name = args[0].decode("utf-8", "replace").lower()
    numkeys = parse_int(args[numkeys_index])
    if numkeys < 1:
        raise CommandError(f"ERR at least 1 input key is needed for '{name}' command")
    if numkeys > len(args) - numkeys_index - 1:
        raise CommandError(SYNTAX)
    db = client.db
    sources = []
    for key in args[numkeys_index + 1:numkeys_index + 1 + numkeys]:
        value = db.read(key)
        if value is not None and type_name(value) not in ("zset", "set"):
            raise CommandError(WRONGTYPE)
        sources.append(Source(value))
    operation = SetOperation(sources)
    index = numkeys_index + 1 + numkeys
    while index < len(args):
        option = args[index].lower()
        remaining = len(args) - index
        weighted = op != DIFF and not cardinality_only
        if weighted and option == b"weights" and remaining >= numkeys + 1:
            for offset, source in enumerate(sources, start=1):
                source.weight = parse_score(args[index + offset], "ERR weight value is not a float")
            index += numkeys + 1
        elif weighted and option == b"aggregate" and remaining >= 2:
            aggregate = AGGREGATORS.get(args[index + 1].lower())
            if aggregate is None:
                raise CommandError(SYNTAX)
            operation.aggregate = aggregate
            index += 2
        elif not store and not cardinality_only and option == b"withscores":
            operation.withscores = True
            index += 1
        elif cardinality_only and option == b"limit" and remaining >= 2:
            operation.limit = parse_positive(args[index + 1], "ERR LIMIT can't be negative")
            index += 2
        else:
            raise CommandError(SYNTAX)
    if op != DIFF:
        sources.sort(key=len)  # smallest first, a stable sort like glibc's qsort here
    return operation


def _weighted(score: float, weight: float) -> float:
    product = weight * score
    return 0.0 if product != product else product


def union_scores(operation: SetOperation) -> dict[bytes, float]:
    result: dict[bytes, float] = {}
    aggregate = operation.aggregate
    for source in operation.sources:
        weight = source.weight
        for member, score in source.pairs():
            value = _weighted(score, weight)
            current = result.get(member)
            result[member] = value if current is None else aggregate(current, value)
    return result


def inter_scores(operation: SetOperation, limit: int = 0) -> dict[bytes, float]:
    """Members present in every source with their aggregated scores (stops after limit > 0)."""
    first, *others = operation.sources
    aggregate = operation.aggregate
    result: dict[bytes, float] = {}
    if not len(first):
        return result
    for member, score in first.pairs():
        total = _weighted(score, first.weight)
        for source in others:
            value = source.find(member)
            if value is None:
                break
            total = aggregate(total, value * source.weight)
        else:
            result[member] = total
            if limit and len(result) >= limit:
                break
    return result


def diff_scores(operation: SetOperation) -> dict[bytes, float]:
    first, *others = operation.sources
    if any(source.value is first.value for source in others):
        return {}
    return {member: score for member, score in first.pairs()
            if all(source.find(member) is None for source in others)}


COMPUTE = {UNION: union_scores, INTER: inter_scores, DIFF: diff_scores}


def computed_zset(scores: dict[bytes, float]) -> ZSet:
    # Redis builds results as skiplists (keeping -0.0); STORE refits them.
    return ZSet.build(scores.items())


def set_operation_command(client: Client, args: list[bytes], op: str, store: bool) -> Any:
    operation = parse_set_operation(client, args, 2 if store else 1, op, store)
    result = computed_zset(COMPUTE[op](operation))
    if store:
        return store_result(client, args[1], result, f"z{op}store")
    return scored(result.items(), operation.withscores, client.resp)


def numkeys_keys(numkeys_index: int, dest: bool) -> Callable[[list[bytes]], list[int]]:
    """Key positions of commands with a numkeys argument (plus the destination for *STORE)."""
    counted = mpop_keys(numkeys_index)

    def positions(args: list[bytes]) -> list[int]:
        return ([1] if dest else []) + counted(args)

    return positions


def _set_operation_commands(op: str, since: str, summary: str, store_summary: str) -> None:
    @command(f"z{op}", -3, complexity=COMPLEXITY[f"z{op}"], flags="readonly", acl=ACL, group=GROUP, since="6.2.0",
             get_keys=numkeys_keys(1, False), summary=summary)
    def plain(client: Client, args: list[bytes]):
        return set_operation_command(client, args, op, store=False)

    @command(f"z{op}store", -4, complexity=COMPLEXITY[f"z{op}store"],
             flags="write denyoom", keys=(1, 1, 1), acl=ACL, group=GROUP, since=since,
             get_keys=numkeys_keys(2, True), summary=store_summary)
    def stored(client: Client, args: list[bytes]):
        return set_operation_command(client, args, op, store=True)


_set_operation_commands(UNION, "2.0.0", "Returns the union of multiple sorted sets.",
                        "Stores the union of multiple sorted sets in a key.")
_set_operation_commands(INTER, "2.0.0", "Returns the intersect of multiple sorted sets.",
                        "Stores the intersect of multiple sorted sets in a key.")
_set_operation_commands(DIFF, "6.2.0", "Returns the difference between multiple sorted sets.",
                        "Stores the difference of multiple sorted sets in a key.")


@command("zintercard", -3, complexity=COMPLEXITY["zintercard"], flags="readonly", acl=ACL, group=GROUP, since="7.0.0",
         get_keys=numkeys_keys(1, False), summary="Returns the number of members of the intersect of multiple sorted sets.")
def zintercard(client: Client, args: list[bytes]):
    operation = parse_set_operation(client, args, 1, INTER, False, cardinality_only=True)
    return len(inter_scores(operation, operation.limit))


# -- ZSCAN --------------------------------------------------------------------------------------

@command("zscan", -3, complexity=COMPLEXITY["zscan"],
         flags="readonly", keys=(1, 1, 1), acl=ACL, group=GROUP, since="2.8.0",
         summary="Iterates over members and scores of a sorted set.")
def zscan(client: Client, args: list[bytes]):
    cursor = parse_scan_cursor(args[2])
    zset = read_zset(client, args[1])
    if zset is None:
        return [b"0", []]  # Redis answers before looking at the options
    count, match = parse_scan_options(args, 3)
    if zset.skiplist:
        cursor, members = zset.scan_page(cursor, count)
    else:  # a listpack is returned whole in one call, as Redis does
        cursor, members = 0, [member for _, member in zset.items()]
    scores = zset.scores
    flat: list[bytes] = []
    for member in members:
        if match is None or match(member):
            flat.append(member)
            flat.append(format_double(scores[member]).encode())
    return [b"%d" % cursor, flat]
