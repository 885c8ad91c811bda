"""Stable SCAN cursors over a changing dict.

Redis guarantees that a full SCAN iteration returns every element present for the whole iteration,
even while the table grows, shrinks or rehashes. Python dicts give no position that survives
mutation, so the cursor here is a position in hash order: elements are kept in a sorted index of
(hash, element) and a cursor is "the next hash to visit". Inserting or deleting other elements never
moves an element to an already-visited hash, which is exactly Redis's guarantee (and, unlike Redis,
it never returns an element twice).

The index is built on the first SCAN of a container and maintained from then on, so workloads that
never SCAN pay nothing on their write path.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from sortedcontainers import SortedList

_MASK = (1 << 64) - 1


def _hash(item: bytes) -> int:
    # Per-process randomised hash: cursors are only meaningful inside one server process, as in Redis.
    # Shifted into 1..2**63 so that no element's position is cursor 0, which means "done".
    return ((hash(item) & _MASK) >> 1) + 1


class ScanIndex:
    """Keeps elements sorted by hash so that a cursor is a resumable position."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[bytes]) -> None:
        self._items = SortedList((_hash(i), i) for i in items)

    def add(self, item: bytes) -> None:
        self._items.add((_hash(item), item))

    def discard(self, item: bytes) -> None:
        self._items.discard((_hash(item), item))

    def random_element(self) -> bytes:
        """One element chosen uniformly, in O(log N) (the index is a positional tree)."""
        return self._items[random.randrange(len(self._items))][1]

    def page(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """Up to about `count` elements from `cursor` on, and the cursor to continue from (0: done).

        A page never splits elements that share a hash, so none can be skipped between pages.
        """
        items = self._items
        start = items.bisect_left((cursor, b""))
        end = min(start + max(count, 1), len(items))
        while end < len(items) and items[end][0] == items[end - 1][0]:
            end += 1
        page = [item for _, item in items.islice(start, end)]
        next_cursor = 0 if end >= len(items) else items[end][0]
        return next_cursor, page
