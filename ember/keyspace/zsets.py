"""The sorted set value type (ZADD & co, and GEO, which stores its points in sorted sets).

A `ZSet` holds two views of the same elements, as Redis does: a dict member -> score for O(1)
ZSCORE/membership, and a `SortedList` of (score, member) tuples for order. Tuples compare by
score and then by member bytes, which is exactly Redis's order (ties broken by memcmp), and the
SortedList gives O(log N) insert/delete, O(log N) rank (bisect) and O(log N + M) ranges by rank,
score or member: the costs of Redis's skiplist.

Redis keeps small sorted sets in a listpack and converts them for good to a skiplist once
`zset-max-listpack-entries` or `zset-max-listpack-value` is exceeded; `skiplist` records that
state so OBJECT ENCODING can report it. The only observable difference the listpack makes is
that it stores -0.0 as the integer 0, so a listpack set never holds a negative zero.

Range helpers return (start, stop) positions in the order, so commands slice once.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, NamedTuple

from sortedcontainers import SortedList

from .scan import ScanIndex

if TYPE_CHECKING:
    from ..server.app import Server

INF = math.inf
_next_up = math.nextafter


class Limits(NamedTuple):
    """The listpack thresholds in force for one command (zset-max-listpack-entries/value)."""

    entries: int
    value: int


def listpack_limits(server: Server) -> Limits:
    values = server.config.values  # the canonical names: no alias lookup on ZADD's path
    return _limits(values["zset-max-listpack-entries"], values["zset-max-listpack-value"])


# Limits for given settings, made once: building a NamedTuple costs more than ZADD's own work.
_limits = functools.lru_cache(maxsize=16)(Limits)


class ScoreRange(NamedTuple):
    """A ZRANGEBYSCORE interval: min/max with their exclusive flags."""

    low: float
    low_exclusive: bool
    high: float
    high_exclusive: bool

    def is_empty(self) -> bool:
        return self.low > self.high or (self.low == self.high and (self.low_exclusive or self.high_exclusive))

    def contains(self, score: float) -> bool:
        above = score > self.low if self.low_exclusive else score >= self.low
        below = score < self.high if self.high_exclusive else score <= self.high
        return above and below


# Lex range bounds: a member with an inclusive/exclusive flag, or one of the two infinities.
LEX_MIN = "-"
LEX_MAX = "+"


class LexBound(NamedTuple):
    member: bytes | str  # bytes, or LEX_MIN / LEX_MAX
    exclusive: bool


def _lex_compare(a: bytes | str, b: bytes | str) -> int:
    """Order of two lex bounds, with '-' below and '+' above every string."""
    if a == b:
        return 0
    if a == LEX_MIN or b == LEX_MAX:
        return -1
    if a == LEX_MAX or b == LEX_MIN:
        return 1
    return -1 if a < b else 1


def lex_at_least(member: bytes, low: LexBound) -> bool:
    bound = low.member
    if bound.__class__ is str:  # one of the infinities
        return bound == LEX_MIN
    return member > bound if low.exclusive else member >= bound


def lex_at_most(member: bytes, high: LexBound) -> bool:
    bound = high.member
    if bound.__class__ is str:
        return bound == LEX_MAX
    return member < bound if high.exclusive else member <= bound


def lex_range_is_empty(low: LexBound, high: LexBound) -> bool:
    order = _lex_compare(low.member, high.member)
    return order > 0 or (order == 0 and (low.exclusive or high.exclusive))


class ZSet:
    """A sorted set. Members are bytes, scores are floats (never NaN)."""

    TYPE_NAME = "zset"
    __slots__ = ("scores", "order", "skiplist", "scan_index")

    def __init__(self) -> None:
        self.scores: dict[bytes, float] = {}
        self.order: SortedList = SortedList()
        self.skiplist = False  # Redis's encoding: False while it would still be a listpack
        self.scan_index: ScanIndex | None = None  # built by the first ZSCAN of a big set

    # -- protocol shared by the value types ---------------------------------------------------

    def __len__(self) -> int:
        return len(self.scores)

    def encoding(self, server: Server) -> str:
        return "skiplist" if self.skiplist else "listpack"

    @classmethod
    def build(cls, pairs: Iterable[tuple[bytes, float]], skiplist: bool = True) -> ZSet:
        """A set from distinct (member, score) pairs in one O(N log N) sort (results of set
        operations, RDB/RESTORE loading). A listpack set gets -0.0 stored as 0, as Redis does."""
        zset = cls()
        zset.skiplist = skiplist
        scores = dict(pairs)
        if not skiplist:
            scores = {member: (0.0 if score == 0 else score) for member, score in scores.items()}
        zset.scores = scores
        zset.order = SortedList((score, member) for member, score in scores.items())
        return zset

    def copy(self) -> ZSet:
        clone = ZSet()
        clone.scores = self.scores.copy()
        clone.order = SortedList(self.order)
        clone.skiplist = self.skiplist
        return clone

    # -- encoding -----------------------------------------------------------------------------

    def reserve(self, size_hint: int, length_hint: int, limits: Limits) -> None:
        """Convert ahead of a bulk insert, as Redis does from ZADD's argument count."""
        if not self.skiplist and (size_hint > limits.entries or length_hint > limits.value):
            self.skiplist = True

    def fit_encoding(self, limits: Limits) -> None:
        """Pick the encoding for a freshly built result set (ZUNIONSTORE, ZRANGESTORE...)."""
        longest = max(map(len, self.scores), default=0)
        self.skiplist = len(self.scores) > limits.entries or longest > limits.value
        if not self.skiplist and -0.0 in self.scores.values():
            self._drop_negative_zeros()

    def _drop_negative_zeros(self) -> None:
        for member, score in list(self.scores.items()):
            if score == 0 and math.copysign(1.0, score) < 0:
                self.update(member, 0.0)

    # -- single elements ----------------------------------------------------------------------

    def score(self, member: bytes) -> float | None:
        return self.scores.get(member)

    def insert(self, member: bytes, score: float, limits: Limits | None = None) -> None:
        """Add a member that is not present. With limits, convert to skiplist when it overflows."""
        if not self.skiplist:
            if limits is not None and (len(self.scores) >= limits.entries or len(member) > limits.value):
                self.skiplist = True
            elif score == 0:
                score = 0.0  # a listpack stores -0.0 as the integer 0
        self.scores[member] = score
        self.order.add((score, member))
        if self.scan_index is not None:
            self.scan_index.add(member)

    def update(self, member: bytes, score: float) -> None:
        """Change the score of a present member."""
        if score == 0 and not self.skiplist:
            score = 0.0
        order = self.order
        order.remove((self.scores[member], member))
        self.scores[member] = score
        order.add((score, member))

    def remove(self, member: bytes) -> bool:
        score = self.scores.pop(member, None)
        if score is None:
            return False
        self.order.remove((score, member))
        if self.scan_index is not None:
            self.scan_index.discard(member)
        return True

    def rank(self, member: bytes) -> int | None:
        """0-based position in ascending order, or None when absent. O(log N)."""
        score = self.scores.get(member)
        if score is None:
            return None
        return self.order.bisect_left((score, member))

    def pop(self, from_max: bool) -> tuple[bytes, float]:
        score, member = self.order.pop(-1 if from_max else 0)
        del self.scores[member]
        if self.scan_index is not None:
            self.scan_index.discard(member)
        return member, score

    # -- ranges -------------------------------------------------------------------------------

    def _first_above(self, score: float) -> int:
        """Position of the first element whose score is > score."""
        if score == INF:
            return len(self.order)
        return self.order.bisect_left((_next_up(score, INF),))

    def score_span(self, spec: ScoreRange) -> tuple[int, int]:
        """Positions [start, stop) of the elements whose scores fall in spec."""
        if spec.is_empty() or not self.order:
            return 0, 0
        start = self._first_above(spec.low) if spec.low_exclusive else self.order.bisect_left((spec.low,))
        stop = self.order.bisect_left((spec.high,)) if spec.high_exclusive else self._first_above(spec.high)
        return start, max(start, stop)

    def _lex_position(self, bound: LexBound, is_low: bool) -> int:
        """Where a lex bound falls in a skiplist-encoded set, assuming its elements share one
        score (the documented use of the BYLEX commands; otherwise Redis's skiplist answer
        depends on its random node levels, and is unspecified)."""
        member = bound.member
        if member == LEX_MIN:
            return 0
        if member == LEX_MAX:
            return len(self.order)
        probe = (self.order[0][0], member)
        # A low bound starts at the first member >= it (> when exclusive); a high bound stops
        # after the last member <= it (< when exclusive).
        after_equal = bound.exclusive if is_low else not bound.exclusive
        return self.order.bisect_right(probe) if after_equal else self.order.bisect_left(probe)

    def _lex_endpoint(self, low: LexBound, high: LexBound, from_tail: bool) -> int | None:
        """A listpack's walk to its first (from_tail: last) element in a lex range: a linear
        scan, exactly as Redis's listpack code does, so even sets with mixed scores answer
        like Redis's small sets."""
        order = self.order
        if not (lex_at_least(order[-1][1], low) and lex_at_most(order[0][1], high)):
            return None
        positions = range(len(order) - 1, -1, -1) if from_tail else range(len(order))
        for position in positions:
            member = order[position][1]
            if from_tail and lex_at_most(member, high):
                return position if lex_at_least(member, low) else None
            if not from_tail and lex_at_least(member, low):
                return position if lex_at_most(member, high) else None
        return None

    def lex_span(self, low: LexBound, high: LexBound) -> tuple[int, int]:
        """Positions [start, stop) of the run of elements in a lex range (ZLEXCOUNT, ZREMRANGEBYLEX)."""
        if not self.order or lex_range_is_empty(low, high):
            return 0, 0
        if self.skiplist:
            start = self._lex_position(low, True)
            return start, max(start, self._lex_position(high, False))
        start = self._lex_endpoint(low, high, False)
        if start is None:
            return 0, 0
        stop = start
        while stop < len(self.order) and lex_at_most(self.order[stop][1], high):
            stop += 1
        return start, stop

    def lex_walk(self, low: LexBound, high: LexBound, reverse: bool, offset: int,
                 limit: int) -> list[tuple[float, bytes]]:
        """ZRANGEBYLEX on a listpack: from the first element in range skip `offset` elements
        unchecked, then take up to `limit` (negative: all) while they stay in range."""
        if not self.order or lex_range_is_empty(low, high) or offset < 0:
            return []
        start = self._lex_endpoint(low, high, reverse)
        if start is None:
            return []
        order = self.order
        step = -1 if reverse else 1
        position = start + step * offset
        taken: list[tuple[float, bytes]] = []
        while 0 <= position < len(order) and limit != 0:
            pair = order[position]
            if not (lex_at_least(pair[1], low) if reverse else lex_at_most(pair[1], high)):
                break
            taken.append(pair)
            limit -= 1
            position += step
        return taken

    def slice(self, start: int, stop: int, reverse: bool = False) -> Iterator[tuple[float, bytes]]:
        """(score, member) pairs at positions [start, stop), descending when reverse."""
        return self.order.islice(start, stop, reverse=reverse)

    def remove_span(self, start: int, stop: int) -> int:
        """Delete the elements at positions [start, stop); returns how many."""
        if stop <= start:
            return 0
        scores = self.scores
        index = self.scan_index
        for _, member in self.order.islice(start, stop):
            del scores[member]
            if index is not None:
                index.discard(member)
        del self.order[start:stop]
        return stop - start

    def items(self) -> Iterator[tuple[float, bytes]]:
        """Every (score, member) pair in ascending order."""
        return iter(self.order)

    def scan_page(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        if self.scan_index is None:
            self.scan_index = ScanIndex(self.scores)
        return self.scan_index.page(cursor, count)
