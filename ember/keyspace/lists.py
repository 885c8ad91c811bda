"""The list value type (LPUSH & co) and the encoding Redis 7.2 would give the same list.

Storage: one `collections.deque` of the elements. It gives Redis's complexities where they matter:
O(1) pushes and pops at both ends; indexing (LINDEX, LSET) walks blocks of 64 elements from the
nearer end in C, so positions near either end are cheap; LRANGE slices with `islice` from the
nearer end (reversed for the tail). LINSERT and LREM are O(N) as in Redis.

Encoding: Redis 7.2 keeps a small list in one listpack and a larger one in a quicklist, a linked
list of listpack nodes whose sizes are bounded by `list-max-listpack-size` (N > 0: N entries and
at most 8 KB; -1..-5: 4/8/16/32/64 KB). When a quicklist shrinks back to a single node of at
most half the limit it becomes a listpack again. Whether that happens depends on how the
nodes were split and merged by earlier pushes, pops, inserts and trims, so to answer OBJECT
ENCODING exactly the object mirrors the quicklist's node shapes: for each node, its entry count
and the exact byte size of its listpack (`entry_size` reproduces listpack's entry encoding:
integers in 1-9 bytes, strings with a 1/2/5-byte header, plus the back-length). Only the shapes
are kept; elements live in the deque. Node compression (`list-compress-depth`) changes no
shape and is not modelled, nor are "plain" nodes (single elements of 1 GB or more).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

# Bytes one element takes in a listpack (encoding header, data, back-length; canonical integers
# stored as integers); the stream type sizes its listpack nodes with the same arithmetic.
from .streams import element_size as entry_size

LP_EMPTY_SIZE = 7  # bytes of an empty listpack: 6-byte header and the end marker
SIZE_SAFETY_LIMIT = 8192  # node byte cap when list-max-listpack-size counts entries
SIZE_ESTIMATE_OVERHEAD = 8  # what a quicklist push adds to an element's length when checking room
SIZE_LEVELS = (4096, 8192, 16384, 32768, 65536)  # list-max-listpack-size -1 .. -5
FILL_MAX = 32767  # a quicklist clamps its fill to [-5, FILL_MAX]
UNLIMITED = 1 << 64
FEW_REMOVALS = 8  # LREM deletes up to this many matches in place rather than rebuilding the deque


# -- listpack and quicklist arithmetic ----------------------------------------------------------

def node_limits(fill: int) -> tuple[int, int]:
    """(byte limit, entry limit) of one listpack for a list-max-listpack-size value."""
    if fill >= 0:
        return UNLIMITED, fill or 1
    return SIZE_LEVELS[min(-fill - 1, len(SIZE_LEVELS) - 1)], UNLIMITED


def exceeds_limit(fill: int, size: int, count: int) -> bool:
    """Whether a listpack of `size` bytes and `count` entries is too big for one node."""
    if fill < 0:
        return size > SIZE_LEVELS[min(-fill - 1, len(SIZE_LEVELS) - 1)]
    return size > SIZE_SAFETY_LIMIT or count > (fill or 1)


def clamp_range(start: int, end: int, length: int) -> tuple[int, int] | None:
    """Redis's LRANGE/LTRIM index rules: negative indexes count from the tail, start is
    clamped to the head and end to the tail; None when the range holds nothing."""
    if start < 0:
        start = max(start + length, 0)
    if end < 0:
        end += length
    if start > end or start >= length:
        return None
    return start, min(end, length - 1)


class Node:
    """The shape of one quicklist node: how many entries, and its listpack's byte size."""

    __slots__ = ("count", "size")

    def __init__(self, count: int, size: int) -> None:
        self.count = count
        self.size = size

    def __repr__(self) -> str:
        return f"Node({self.count}, {self.size})"


# -- the list ---------------------------------------------------------------------------------

class ListValue:
    """A Redis list: elements in a deque, plus the listpack/quicklist shape Redis would have.

    `nodes` is None while Redis would hold the list in a single listpack (of `packed_size`
    bytes), else the quicklist's node shapes, head first, for a quicklist created with `fill`.
    Mutators that can change the encoding take `fill`, the current list-max-listpack-size.
    """

    TYPE_NAME = "list"
    __slots__ = ("items", "nodes", "packed_size", "fill")

    def __init__(self) -> None:
        self.items: deque[bytes] = deque()
        self.nodes: deque[Node] | None = None
        self.packed_size = LP_EMPTY_SIZE
        self.fill = -2

    @classmethod
    def from_elements(cls, elements: Iterable[bytes], fill: int) -> ListValue:
        """A list built in one go (SORT ... STORE, loading): pushed into a quicklist, then made
        a listpack if it fits one node (Redis's LIST_CONV_AUTO)."""
        value = cls()
        value._to_quicklist(fill)
        for element in elements:
            value._node_push(element, False)
            value.items.append(element)
        value.fit(fill, shrinking=False)
        return value

    @classmethod
    def from_node_chunks(cls, chunks: Iterable[Sequence[bytes]], fill: int) -> ListValue:
        """A list loaded node by node (an RDB quicklist): the nodes keep their boundaries, and a
        single node that fits becomes a listpack, as Redis 7.2 does when loading."""
        value = cls()
        value._to_quicklist(fill)
        for chunk in chunks:
            if chunk:
                value.nodes.append(Node(len(chunk), LP_EMPTY_SIZE + sum(map(entry_size, chunk))))
                value.items.extend(chunk)
        value.fit(fill, shrinking=False)
        return value

    def node_chunks(self) -> Iterator[list[bytes]]:
        """The elements grouped as Redis would store them: one listpack, or one per quicklist
        node (what an RDB file holds)."""
        if self.nodes is None:
            yield list(self.items)
            return
        items = iter(self.items)
        for node in self.nodes:
            yield list(islice(items, node.count))

    def quicklist_info(self, compress_depth: int = 0) -> str:
        """The fields Redis's DEBUG OBJECT adds for a quicklist ('' for a listpack)."""
        nodes = self.nodes
        if nodes is None:
            return ""
        count = len(nodes)
        average = len(self.items) / count if count else 0.0
        size = sum(node.size for node in nodes)
        return (f" ql_nodes:{count} ql_avg_node:{average:.2f} ql_listpack_max:{self.fill}"
                f" ql_compressed:{int(compress_depth != 0)} ql_uncompressed_size:{size}")

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.items)

    def encoding(self, server: object = None) -> str:
        return "listpack" if self.nodes is None else "quicklist"

    def copy(self) -> ListValue:
        duplicate = ListValue.__new__(ListValue)
        duplicate.items = self.items.copy()
        duplicate.nodes = None if self.nodes is None else deque(Node(n.count, n.size) for n in self.nodes)
        duplicate.packed_size = self.packed_size
        duplicate.fill = self.fill
        return duplicate

    # -- encoding transitions (Redis's listTypeTryConversion*) --------------------------------

    def prepare_growth(self, fill: int, added: Sequence[bytes]) -> None:
        """Before adding elements: a listpack that would pass the limit becomes a quicklist.
        Like Redis, this counts the raw lengths of the new elements and converts even when
        the command then adds nothing (LINSERT with a missing pivot, LSET out of range)."""
        if self.nodes is None and exceeds_limit(
                fill, self.packed_size + sum(map(len, added)), len(self.items) + len(added)):
            self._to_quicklist(fill)

    def fit(self, fill: int, shrinking: bool = True) -> None:
        """After removing elements: a quicklist down to one node of at most half the limit
        (the whole limit when not `shrinking`) becomes a listpack again."""
        nodes = self.nodes
        if nodes is None or len(nodes) != 1:
            return
        size_limit, count_limit = node_limits(fill)
        if shrinking:  # hysteresis, so a list at the limit does not convert on every change
            size_limit //= 2
            count_limit //= 2
        node = nodes[0]
        if node.size <= size_limit and node.count <= count_limit:
            self.packed_size = node.size
            self.nodes = None

    def _to_quicklist(self, fill: int) -> None:
        self.fill = max(-5, min(fill, FILL_MAX))
        self.nodes = deque([Node(len(self.items), self.packed_size)]) if self.items else deque()

    # -- pushes and pops at the ends -------------------------------------------------------------

    def push(self, values: Sequence[bytes], left: bool, fill: int) -> None:
        """LPUSH/RPUSH values one after the other (so LPUSH a b c leaves c first)."""
        self.prepare_growth(fill, values)
        if self.nodes is None:
            self.packed_size += sum(map(entry_size, values))
        else:
            for value in values:
                self._node_push(value, left)
        if left:
            self.items.extendleft(values)
        else:
            self.items.extend(values)

    def _node_push(self, value: bytes, left: bool) -> None:
        nodes = self.nodes
        size = entry_size(value)
        if nodes:
            end = nodes[0] if left else nodes[-1]
            if self._room_for(end, len(value)):
                end.count += 1
                end.size += size
                return
        node = Node(1, LP_EMPTY_SIZE + size)
        if left:
            nodes.appendleft(node)
        else:
            nodes.append(node)

    def _room_for(self, node: Node, length: int) -> bool:
        """quicklist's insert check: a node takes an element of `length` bytes if its size plus
        the length plus a small overhead estimate stays within the limit."""
        return not exceeds_limit(self.fill, node.size + length + SIZE_ESTIMATE_OVERHEAD, node.count + 1)

    def pop(self, left: bool) -> bytes:
        """Remove and return the first (left) or last element; the list must not be empty."""
        value = self.items.popleft() if left else self.items.pop()
        nodes = self.nodes
        if nodes is None:
            self.packed_size -= entry_size(value)
        else:
            end = nodes[0] if left else nodes[-1]
            if end.count == 1:
                if left:
                    nodes.popleft()
                else:
                    nodes.pop()
            else:
                end.count -= 1
                end.size -= entry_size(value)
        return value

    def pop_many(self, count: int, left: bool) -> list[bytes]:
        """Remove up to count elements from one end, in the order they come off it."""
        count = min(count, len(self.items))
        if count == 1:
            return [self.pop(left)]
        self._drop_shapes(count, left)
        take = self.items.popleft if left else self.items.pop
        return [take() for _ in range(count)]

    def trim(self, start: int, end: int) -> int:
        """LTRIM: keep only [start, end] (Redis's index rules, as LRANGE); returns how many
        elements were removed."""
        length = len(self.items)
        bounds = clamp_range(start, end, length)
        if bounds is None:
            from_head, from_tail = length, 0
        else:
            from_head, from_tail = bounds[0], length - 1 - bounds[1]
        self._drop_shapes(from_head, True)
        self._drop_shapes(from_tail, False)
        kept = length - from_head - from_tail
        if kept < from_head + from_tail:
            self.items = deque(islice(self.items, from_head, from_head + kept))
        else:
            for _ in range(from_head):
                self.items.popleft()
            for _ in range(from_tail):
                self.items.pop()
        return from_head + from_tail

    def _drop_shapes(self, count: int, left: bool) -> None:
        """Account for removing `count` elements from one end (before they are removed): whole
        nodes go, the innermost one loses the bytes of the elements taken from it."""
        if count <= 0:
            return
        nodes = self.nodes
        if nodes is None:
            self.packed_size -= sum(map(entry_size, self._end_slice(0, count, left)))
            return
        passed = 0
        while passed < count:
            node = nodes[0] if left else nodes[-1]
            if passed + node.count <= count:
                passed += node.count
                if left:
                    nodes.popleft()
                else:
                    nodes.pop()
            else:
                node.size -= sum(map(entry_size, self._end_slice(passed, count, left)))
                node.count -= count - passed
                return

    def _end_slice(self, start: int, stop: int, left: bool) -> Iterator[bytes]:
        """Elements start..stop-1 counted from the head (left) or from the tail."""
        return islice(self.items if left else reversed(self.items), start, stop)

    # -- positions ------------------------------------------------------------------------------

    def index(self, position: int) -> bytes | None:
        """LINDEX: the element at position (negative counts from the tail), or None."""
        try:
            return self.items[position]
        except IndexError:
            return None

    def replace(self, position: int, value: bytes, fill: int) -> bool:
        """LSET; False when position is out of range."""
        self.prepare_growth(fill, (value,))
        length = len(self.items)
        if position < 0:
            position += length
        if not 0 <= position < length:
            return False
        old = self.items[position]
        self.items[position] = value
        delta = entry_size(value) - entry_size(old)
        if self.nodes is None:
            self.packed_size += delta
        else:
            # quicklist replaces in place, even when that makes the node bigger than the limit
            node, _ = self._locate(position)
            self.nodes[node].size += delta
            self.fit(fill)
        return True

    def range(self, start: int, end: int) -> list[bytes]:
        """LRANGE: the elements from start to end inclusive, read from the nearer end."""
        length = len(self.items)
        bounds = clamp_range(start, end, length)
        if bounds is None:
            return []
        start, end = bounds
        if start == 0 and end == length - 1:
            return list(self.items)
        if start <= length - 1 - end:
            return list(islice(self.items, start, end + 1))
        from_tail = list(islice(reversed(self.items), length - 1 - end, length - start))
        from_tail.reverse()
        return from_tail

    def _locate(self, position: int, length: int | None = None) -> tuple[int, int]:
        """(node number, offset in that node) of the element at position, walking the nodes
        from the nearer end as quicklist does; `length` is the list's length when the nodes
        are ahead of the deque (while removals are being accounted for)."""
        nodes = self.nodes
        if length is None:
            length = len(self.items)
        passed = 0
        if position <= (length - 1) // 2:
            for number, node in enumerate(nodes):
                if passed + node.count > position:
                    return number, position - passed
                passed += node.count
        else:
            from_tail = length - 1 - position
            last = len(nodes) - 1
            for back, node in enumerate(reversed(nodes)):
                if passed + node.count > from_tail:
                    return last - back, node.count - 1 - (from_tail - passed)
                passed += node.count
        raise IndexError(position)

    # -- LINSERT --------------------------------------------------------------------------------

    def insert(self, pivot: bytes, value: bytes, after: bool, fill: int) -> int:
        """LINSERT next to the first pivot from the head; the new length, or -1 if no pivot."""
        self.prepare_growth(fill, (value,))
        try:
            position = self.items.index(pivot)
        except ValueError:
            return -1
        if self.nodes is None:
            self.packed_size += entry_size(value)
        else:
            self._node_insert(position, value, after)
        self.items.insert(position + after, value)
        return len(self.items)

    def _node_insert(self, position: int, value: bytes, after: bool) -> None:
        """quicklist's insert next to an entry: into its node if there is room; at a node's edge,
        into the neighbour if it has room or else a new node; otherwise split the node, put the
        value at the edge of the split-off part and merge small neighbours back together."""
        nodes = self.nodes
        number, offset = self._locate(position)
        node = nodes[number]
        size = entry_size(value)
        length = len(value)
        if self._room_for(node, length):
            node.count += 1
            node.size += size
            return
        at_edge = (offset == node.count - 1) if after else (offset == 0)
        if at_edge:
            neighbour_number = number + 1 if after else number - 1
            if 0 <= neighbour_number < len(nodes) and self._room_for(nodes[neighbour_number], length):
                neighbour = nodes[neighbour_number]
                neighbour.count += 1
                neighbour.size += size
            else:
                nodes.insert(number + 1 if after else number, Node(1, LP_EMPTY_SIZE + size))
            return
        split = self._split(number, position - offset, offset, after)
        split.count += 1
        split.size += size
        nodes.insert(number + 1 if after else number, split)
        self._merge_around(number if after else number + 1)

    def _split(self, number: int, first: int, offset: int, after: bool) -> Node:
        """Cut node `number` (whose first element is at position `first`) at offset: after,
        the new node takes the elements past offset; before, those ahead of it."""
        node = self.nodes[number]
        if after:
            moved = islice(self.items, first + offset + 1, first + node.count)
            moved_count = node.count - offset - 1
        else:
            moved = islice(self.items, first, first + offset)
            moved_count = offset
        moved_size = sum(map(entry_size, moved))
        node.count -= moved_count
        node.size -= moved_size
        return Node(moved_count, LP_EMPTY_SIZE + moved_size)

    def _merge_around(self, center: int) -> None:
        """quicklist's _quicklistMergeNodes: try merging the two nodes before center, the two
        after it, center with its previous node, then the result with its next node."""
        nodes = self.nodes
        if center >= 2 and self._mergeable(center - 2):
            self._merge(center - 2)
            center -= 1
        if center + 2 < len(nodes) and self._mergeable(center + 1):
            self._merge(center + 1)
        if center >= 1 and self._mergeable(center - 1):
            self._merge(center - 1)
            center -= 1
        if center + 1 < len(nodes) and self._mergeable(center):
            self._merge(center)

    def _mergeable(self, number: int) -> bool:
        first, second = self.nodes[number], self.nodes[number + 1]
        return not exceeds_limit(self.fill, first.size + second.size - LP_EMPTY_SIZE, first.count + second.count)

    def _merge(self, number: int) -> None:
        nodes = self.nodes
        second = nodes[number + 1]
        nodes[number].count += second.count
        nodes[number].size += second.size - LP_EMPTY_SIZE
        del nodes[number + 1]

    # -- LREM and LPOS --------------------------------------------------------------------------

    def remove(self, value: bytes, count: int) -> int:
        """LREM: remove up to |count| occurrences (all when 0; from the tail when negative)."""
        items = self.items
        length = len(items)
        if count == 0:
            positions = [i for i, element in enumerate(items) if element == value]
        elif count > 0:
            positions = list(islice((i for i, element in enumerate(items) if element == value), count))
        else:
            positions = list(islice(
                (length - 1 - i for i, element in enumerate(reversed(items)) if element == value), -count))
            positions.reverse()
        if not positions:
            return 0
        self._forget_positions(positions, entry_size(value))
        if len(positions) <= FEW_REMOVALS:
            # deleting in place moves only the elements between each position and the nearer
            # end, so removing a match near either end stays cheap on a long list
            for position in reversed(positions):
                del items[position]
        elif count == 0:
            self.items = deque(element for element in items if element != value)
        else:
            doomed = set(positions)
            self.items = deque(element for i, element in enumerate(items) if i not in doomed)
        return len(positions)

    def _forget_positions(self, positions: list[int], size: int) -> None:
        """Account for removing elements (all of one entry size) at ascending positions, before
        they leave the deque: each node loses its share, and a node left empty goes (quicklist
        does not merge nodes after deletions)."""
        nodes = self.nodes
        if nodes is None:
            self.packed_size -= size * len(positions)
            return
        if len(positions) <= FEW_REMOVALS:
            length = len(self.items)
            for position in reversed(positions):  # later positions first: earlier ones stay put
                number, _ = self._locate(position, length)
                self._shrink_node(number, size)
                length -= 1
            return
        kept: deque[Node] = deque()
        first = cursor = 0
        for node in nodes:
            end = first + node.count
            removed = 0
            while cursor < len(positions) and positions[cursor] < end:
                removed += 1
                cursor += 1
            if removed < node.count:
                node.count -= removed
                node.size -= removed * size
                kept.append(node)
            first = end
        self.nodes = kept

    def _shrink_node(self, number: int, size: int) -> None:
        """One element of `size` bytes leaves node `number`; an emptied node goes."""
        node = self.nodes[number]
        if node.count == 1:
            del self.nodes[number]
        else:
            node.count -= 1
            node.size -= size

    def positions(self, value: bytes, rank: int, count: int, maxlen: int) -> list[int]:
        """LPOS: indexes of matches, starting at the rank-th match (from the tail when rank is
        negative), at most count of them (0: all), scanning at most maxlen elements (0: all)."""
        items = self.items
        length = len(items)
        backwards = rank < 0
        skip = abs(rank) - 1
        scanned = reversed(items) if backwards else items
        if maxlen:
            scanned = islice(scanned, maxlen)
        found: list[int] = []
        for index, element in enumerate(scanned):
            if element == value:
                if skip:
                    skip -= 1
                    continue
                found.append(length - 1 - index if backwards else index)
                if len(found) == count:
                    break
        return found
