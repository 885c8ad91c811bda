"""The set value type (SADD & co) and the indexes that hashes and sets share for sampling and SCAN.

A `RedisSet` keeps its members in a dict used as an ordered set: O(1) add, remove and membership,
and iteration in insertion order with order kept across deletions, which is exactly the order of
Redis's listpack encoding (SMEMBERS of a small set of strings lists members as they were added).
Redis's intset encoding keeps integers sorted ascending, so an intset-encoded set is listed in
ascending numeric order (sorted once and cached until the next change). The hashtable order of
Redis is unspecified, so insertion order serves there too.

Redis chooses the encoding from the contents and three settings (`set-max-intset-entries`,
`set-max-listpack-entries`, `set-max-listpack-value`) at each write and converts towards
"hashtable" only, never back (except that a whole new set is built by SPOP with a large count and
by the SINTERSTORE/SUNIONSTORE/SDIFFSTORE family). `kind` records that state so OBJECT ENCODING
answers as Redis 7.2 would; the conversion rules are the ones of Redis's t_set.c.

Random sampling (SPOP, SRANDMEMBER, HRANDFIELD) needs O(1) access by position, which neither a dict
nor a set has: `RandomIndex` (a list plus each item's position, removal by swap-with-last) gives
O(1) uniform picks and O(1) upkeep. Sets keep one from the start (their members dict doubles as
its position map); hashes build theirs at the first HRANDFIELD. The SCAN index (`ScanIndex`,
stable cursors for SSCAN/HSCAN over the hashtable encoding) is built at the first scan and
maintained from then on, so collections that are never scanned pay nothing for it.
`IndexedCollection` holds both for sets and hashes.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, NamedTuple

from .scan import ScanIndex

if TYPE_CHECKING:
    from ..server.app import Server

INTSET = "intset"
LISTPACK = "listpack"
HASHTABLE = "hashtable"

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
# Redis caps intsets at 2**30 entries whatever set-max-intset-entries says.
_INTSET_HARD_LIMIT = 1 << 30


def as_int64(member: bytes) -> int | None:
    """The integer `member` spells in canonical form within int64 (Redis's string2ll), else None.

    Only such members may live in an intset: "1" can, "01", "+1", "-0" and " 1" cannot.
    """
    if not 0 < len(member) <= 20:
        return None
    try:
        value = int(member)
    except ValueError:
        return None
    if _INT64_MIN <= value <= _INT64_MAX and b"%d" % value == member:
        return value
    return None


class SetLimits(NamedTuple):
    """The encoding thresholds in force for one command."""

    intset_entries: int
    listpack_entries: int
    listpack_value: int


def set_limits(server: Server) -> SetLimits:
    config = server.config
    return SetLimits(
        min(config["set-max-intset-entries"], _INTSET_HARD_LIMIT),
        config["set-max-listpack-entries"],
        config["set-max-listpack-value"],
    )


class RandomIndex:
    """Items in a list plus each item's position: O(1) uniform pick, O(1) add and remove.

    `positions` may be a dict the owner also uses for itself: a set's members dict maps each
    member to its slot here, so the index costs one list rather than a second dict.
    """

    __slots__ = ("items", "positions")

    def __init__(self, items: Iterable[bytes]) -> None:
        self.items = list(items)
        self.positions: dict[bytes, int] = {item: index for index, item in enumerate(self.items)}

    def add(self, item: bytes) -> None:
        self.positions[item] = len(self.items)
        self.items.append(item)

    def discard(self, item: bytes) -> None:
        index = self.positions.pop(item)
        last = self.items.pop()
        if index < len(self.items):  # fill the hole with the former last item
            self.items[index] = last
            self.positions[last] = index

    def choice(self) -> bytes:
        return random.choice(self.items)

    def choices(self, count: int) -> list[bytes]:
        """`count` picks with repetition."""
        return random.choices(self.items, k=count)

    def sample(self, count: int) -> list[bytes]:
        """`count` distinct items (count <= len), in random order."""
        return random.sample(self.items, count)


class IndexedCollection:
    """The random-pick and SCAN indexes of a set or hash, kept in step with it.

    The SCAN index is built at the first scan; the random index is built at the first random pick
    unless the subclass creates it up front. Subclasses call `_indexed_add`/`_indexed_discard`
    whenever an element appears or disappears and implement `_elements()`.
    """

    __slots__ = ("_random", "_scan")

    def __init__(self) -> None:
        self._random: RandomIndex | None = None
        self._scan: ScanIndex | None = None

    def __len__(self) -> int:
        raise NotImplementedError

    def _elements(self) -> Iterable[bytes]:
        """The elements in any order."""
        raise NotImplementedError

    def ordered_elements(self) -> list[bytes]:
        """The elements in Redis's iteration order for the current encoding."""
        raise NotImplementedError

    def is_listpack(self) -> bool:
        raise NotImplementedError

    def is_compact(self) -> bool:
        """Held in a small encoding (listpack, intset), which SCAN returns whole in one call."""
        raise NotImplementedError

    def _indexed_add(self, item: bytes) -> None:
        if self._random is not None:
            self._random.add(item)
        if self._scan is not None:
            self._scan.add(item)

    def _indexed_discard(self, item: bytes) -> None:
        if self._random is not None:
            self._random.discard(item)
        if self._scan is not None:
            self._scan.discard(item)

    def random_index(self) -> RandomIndex:
        if self._random is None:
            self._random = RandomIndex(self._elements())
        return self._random

    def random_element(self) -> bytes:
        return random.choice(self.random_index().items)

    def sample(self, count: int) -> list[bytes]:
        """SRANDMEMBER/HRANDFIELD's picks for a non-zero count (negative: repeats allowed).

        Distinct picks come in the order Redis gives them: the whole collection in iteration order
        when the count covers it, picks from a listpack in listpack order, random order otherwise.
        """
        if count < 0 or count == 1:
            return random.choices(self.random_index().items, k=abs(count))
        size = len(self)
        if count >= size:
            return self.ordered_elements()
        if self.is_listpack():
            elements = self.ordered_elements()
            return [elements[i] for i in sorted(random.sample(range(size), count))]
        return random.sample(self.random_index().items, count)

    def scan_page(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """A page of elements from a stable cursor (for the hashtable encoding)."""
        if self._scan is None:
            self._scan = ScanIndex(self._elements())
        return self._scan.page(cursor, count)


class RedisSet(IndexedCollection):
    """A Redis set; see the module docstring for the order and encoding rules.

    `members` maps each member to its slot in the random index's list: the dict gives membership
    and Redis's listpack order, the list O(1) random picks, with a single dict for both. The
    random index is kept from the start because SPOP and SRANDMEMBER are core set operations: a
    first pick on a big set must not stall the server building it.
    """

    TYPE_NAME = "set"
    __slots__ = ("members", "kind", "_sorted")

    def __init__(self, kind: str = INTSET, members: Iterable[bytes] = ()) -> None:
        super().__init__()
        self._random = RandomIndex(members)
        self.members = self._random.positions
        self.kind = kind
        self._sorted: list[bytes] | None = None  # cached ascending order of an intset

    # -- creation (Redis's setTypeCreate / setTypeMaybeConvert) ----------------------------------

    @classmethod
    def for_first(cls, member: bytes, size_hint: int, limits: SetLimits) -> RedisSet:
        """An empty set in the encoding Redis picks for `member` and about `size_hint` members."""
        if size_hint <= limits.intset_entries and as_int64(member) is not None:
            return cls(INTSET)
        if size_hint <= limits.listpack_entries:
            return cls(LISTPACK)
        return cls(HASHTABLE)

    @classmethod
    def build(cls, members: Iterable[bytes], limits: SetLimits, kind: str = INTSET) -> RedisSet:
        """A new set holding `members`, converted along the way as adding them one by one would."""
        result = cls(kind)
        for member in members:
            result.add(member, limits)
        return result

    def reserve(self, size_hint: int, limits: SetLimits) -> None:
        """Go to a hashtable up front when about `size_hint` new members can't fit the encoding."""
        if (self.kind == LISTPACK and size_hint > limits.listpack_entries) or (
            self.kind == INTSET and size_hint > limits.intset_entries
        ):
            self._convert(HASHTABLE)

    # -- the value-type protocol --------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.members)

    def __contains__(self, member: bytes) -> bool:
        return member in self.members

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.ordered_elements())

    def encoding(self, server: Server) -> str:
        return self.kind

    def copy(self) -> RedisSet:
        return RedisSet(self.kind, self.members)

    def is_listpack(self) -> bool:
        return self.kind == LISTPACK

    def is_compact(self) -> bool:
        return self.kind != HASHTABLE

    def ordered_elements(self) -> list[bytes]:
        """The members in Redis's iteration order for the current encoding."""
        if self.kind == INTSET:
            if self._sorted is None:
                self._sorted = sorted(self.members, key=int)
            return self._sorted.copy()
        return list(self.members)

    def all_integers(self) -> bool:
        return self.kind == INTSET or all(as_int64(member) is not None for member in self.members)

    # -- changes ------------------------------------------------------------------------------

    def add(self, member: bytes, limits: SetLimits) -> bool:
        """Add member (Redis's setTypeAdd); False when it was already there."""
        members = self.members
        if member in members:
            return False
        kind = self.kind
        if kind == INTSET:
            if as_int64(member) is not None:
                self._insert(member)
                self._sorted = None
                if len(members) > limits.intset_entries:
                    self._convert(HASHTABLE)
                return True
            self._leave_intset(member, limits)
        elif kind == LISTPACK and (len(members) >= limits.listpack_entries or len(member) > limits.listpack_value):
            self._convert(HASHTABLE)
        self._insert(member)
        return True

    def remove(self, member: bytes) -> bool:
        if member not in self.members:
            return False
        self._indexed_discard(member)  # the random index's discard drops it from `members` too
        self._sorted = None
        return True

    def pop_random(self) -> bytes:
        member = self.random_element()
        self.remove(member)
        return member

    def to_intset_if_fits(self, limits: SetLimits) -> None:
        """Become an intset when every member is an integer and they are few enough (SINTERSTORE)."""
        if self.kind != INTSET and len(self.members) <= limits.intset_entries and self.all_integers():
            self.kind = INTSET
            self._sorted = None

    # -- internals ----------------------------------------------------------------------------

    def _elements(self) -> Iterable[bytes]:
        return self.members

    def _insert(self, member: bytes) -> None:
        self._indexed_add(member)  # the random index's add puts it in `members` too

    def _leave_intset(self, member: bytes, limits: SetLimits) -> None:
        """A non-integer is joining an intset: a listpack if everything fits in one, else a hashtable."""
        longest = max(map(len, self.members), default=0)
        if (len(self.members) < limits.listpack_entries and len(member) <= limits.listpack_value
                and longest <= limits.listpack_value):
            self._convert(LISTPACK)
        else:
            self._convert(HASHTABLE)

    def _convert(self, kind: str) -> None:
        if self.kind == INTSET:
            # A listpack made from an intset lists the integers in ascending order.
            self._random = RandomIndex(self.ordered_elements())
            self.members = self._random.positions
        self.kind = kind
        self._sorted = None
