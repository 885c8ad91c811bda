"""The stream value type: entries, consumer groups and their pending entries lists (PELs).

This module owns a stream's data and every piece of Redis's bookkeeping about it: the last
generated ID, `entries_added`, `max_deleted_entry_id`, the recorded first entry ID, each group's
last delivered ID, `entries_read` counter and lag, consumers' seen/active times and the PEL
delivery counts and times. Argument parsing and replies live in `ember.commands.streams`.

Stream IDs are single Python ints, `ms << 64 | seq`: they compare, sort and bisect like Redis's
128-bit big-endian rax keys, and cost one object instead of a tuple.

Layout, and why: like Redis's radix tree of listpacks, entries live in *nodes* of at most
`stream-node-max-entries` entries / `stream-node-max-bytes` bytes, kept in a list sorted by their
first ("master") ID. A node holds parallel lists of IDs and field-value lists, so
- XADD appends to the tail node: amortized O(1);
- XRANGE/XREVRANGE bisect the node list, then the node: O(log N + M);
- trimming drops whole head nodes (`~`) or marks head entries deleted: O(entries removed);
- XDEL marks an entry deleted (a tombstone, as in Redis) and frees the node when its last live
  entry goes.
Mirroring Redis's node boundaries is not only for XINFO: `MAXLEN ~`/`MINID ~` only remove whole
nodes, so the lengths they leave depend on where nodes split. Node sizes are computed with the
listpack encoding's exact element sizes so that the byte limit splits nodes where Redis does.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator

from sortedcontainers import SortedDict

SEQ_MASK = (1 << 64) - 1
MAX_ID = (1 << 128) - 1
INVALID_READS = -1  # a group's entries_read when it is unknown (Redis's SCG_INVALID_ENTRIES_READ)
LISTPACK_MAX_SIZE = 1 << 30  # Redis never lets a stream listpack grow past 1 GiB
_LISTPACK_EMPTY_BYTES = 7  # header (total bytes + element count) and the end marker
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

Fields = tuple[bytes, ...]  # field, value, field, value... (a tuple of bytes: once seen by the
# garbage collector it is untracked, so millions of entries add nothing to full collections)
Entry = tuple[int, Fields]


def make_id(ms: int, seq: int) -> int:
    return (ms << 64) | seq


def format_id(stream_id: int) -> bytes:
    return b"%d-%d" % (stream_id >> 64, stream_id & SEQ_MASK)


# -- listpack element sizes ---------------------------------------------------------------------
# Redis stores each node as a listpack; a node is full when its byte size plus the new entry's
# raw field/value lengths reaches stream-node-max-bytes. These functions give the exact encoded
# size of one listpack element (encoding header + data + back-length).

def _backlen_size(encoded: int) -> int:
    if encoded <= 127:
        return 1
    if encoded < 16383:
        return 2
    if encoded < 2097151:
        return 3
    if encoded < 268435455:
        return 4
    return 5


def int_element_size(value: int) -> int:
    """Bytes a listpack uses for an integer element (the back-length is one byte for all)."""
    if 0 <= value <= 127:
        return 2
    if -4096 <= value <= 4095:
        return 3
    if -32768 <= value <= 32767:
        return 4
    if -8388608 <= value <= 8388607:
        return 5
    if -2147483648 <= value <= 2147483647:
        return 6
    return 10


def _as_listpack_int(value: bytes) -> int | None:
    """The integer a listpack would store `value` as (canonical int64 text), else None."""
    digits = value[1:] if value[:1] == b"-" else value
    if not digits.isdigit() or len(value) > 20 or (digits[:1] == b"0" and value != b"0"):
        return None
    number = int(value)
    return number if _INT64_MIN <= number <= _INT64_MAX else None


def element_size(value: bytes) -> int:
    """Bytes a listpack uses for a string element (integers in canonical form are stored as ints)."""
    length = len(value)
    if 0 < length <= 20:
        number = _as_listpack_int(value)
        if number is not None:
            return int_element_size(number)
    if length < 64:
        encoded = 1 + length
    elif length < 4096:
        encoded = 2 + length
    else:
        encoded = 5 + length
    return encoded + _backlen_size(encoded)


def _signed64(value: int) -> int:
    """A uint64 difference as the int64 Redis writes into the listpack."""
    value &= SEQ_MASK
    return value - (1 << 64) if value > _INT64_MAX else value


# -- nodes ----------------------------------------------------------------------------------------

class StreamNode:
    """One listpack-like node: entries with IDs >= master_id, tombstones kept until the node goes."""

    __slots__ = ("master_id", "master_fields", "ids", "items", "live", "deleted", "body_bytes", "first_live")

    def __init__(self, master_id: int, master_fields: tuple[bytes, ...]) -> None:
        self.master_id = master_id
        self.master_fields = master_fields
        self.ids: list[int] = []
        self.items: list[Fields | None] = []  # None marks a deleted entry (tombstone)
        self.live = 0
        self.deleted = 0
        self.first_live = 0  # every entry before this index is a tombstone
        # The master entry: field count, the fields, and its zero terminator (2 bytes).
        self.body_bytes = int_element_size(len(master_fields)) + sum(map(element_size, master_fields)) + 2

    def listpack_bytes(self) -> int:
        return _LISTPACK_EMPTY_BYTES + int_element_size(self.live) + int_element_size(self.deleted) + self.body_bytes

    def append(self, stream_id: int, fields_values: Fields) -> None:
        if fields_values.__class__ is not tuple:  # e.g. lists from the RDB loader
            fields_values = tuple(fields_values)
        fields = fields_values[0::2]
        same_fields = fields == self.master_fields
        field_count = len(fields)
        # flags (one small int), ms and seq deltas from the master ID, the values, lp-count.
        size = 2 + int_element_size(_signed64((stream_id >> 64) - (self.master_id >> 64)))
        size += int_element_size(_signed64((stream_id & SEQ_MASK) - (self.master_id & SEQ_MASK)))
        if same_fields:
            size += sum(map(element_size, fields_values[1::2]))
            size += int_element_size(field_count + 3)
        else:
            size += int_element_size(field_count) + sum(map(element_size, fields_values))
            size += int_element_size(2 * field_count + 4)
        self.body_bytes += size
        self.ids.append(stream_id)
        self.items.append(fields_values)
        self.live += 1

    def mark_deleted(self, index: int) -> None:
        self.items[index] = None
        self.live -= 1
        self.deleted += 1
        if index == self.first_live:
            self.skip_tombstones()

    def skip_tombstones(self) -> None:
        items, index = self.items, self.first_live
        while index < len(items) and items[index] is None:
            index += 1
        self.first_live = index

    def copy(self) -> StreamNode:
        clone = StreamNode.__new__(StreamNode)
        clone.master_id, clone.master_fields = self.master_id, self.master_fields
        clone.ids, clone.items = self.ids[:], self.items[:]
        clone.live, clone.deleted = self.live, self.deleted
        clone.body_bytes, clone.first_live = self.body_bytes, self.first_live
        return clone


class RaxShape:
    """Size of the radix tree Redis would hold for the node keys (XINFO radix-tree-nodes).

    Redis indexes nodes in a rax keyed by the 16-byte big-endian master ID. For a set of
    fixed-length keys a compressed radix tree has one node at: the root, each key (leaf), each
    prefix where keys branch, and each child of a branching prefix (a chain without branches is
    one compressed node). For sorted keys the branching prefixes are the longest common prefixes
    of neighbours, so keeping reference counts of the prefixes each key and each neighbour pair
    contribute gives the count in O(1) per node added or removed.

    Approximation: this is the canonical (fully compressed) tree. Redis's rax re-compresses
    after deletions, which for stream keys (all 16 bytes, inserted in increasing order) gives
    the same tree; the differential tests compare the count with redis-server after random
    appends, XDELs and trims, but a rax that kept a less compressed shape would differ.
    """

    __slots__ = ("refs",)

    def __init__(self) -> None:
        self.refs: dict[int, int] = {0: 1}  # the root node always exists

    @staticmethod
    def _prefix(key: int, length: int) -> int:
        return (length << 128) | (key >> (8 * (16 - length)))

    def _pair_prefixes(self, left: int, right: int) -> tuple[int, int, int]:
        common = (128 - (left ^ right).bit_length()) // 8
        return (self._prefix(left, common), self._prefix(left, common + 1), self._prefix(right, common + 1))

    def _change(self, prefixes: tuple[int, ...], delta: int) -> None:
        refs = self.refs
        for prefix in prefixes:
            count = refs.get(prefix, 0) + delta
            if count:
                refs[prefix] = count
            else:
                del refs[prefix]

    def add_key(self, key: int, before: int | None, after: int | None) -> None:
        if before is not None and after is not None:
            self._change(self._pair_prefixes(before, after), -1)
        self._change((self._prefix(key, 16),), 1)
        if before is not None:
            self._change(self._pair_prefixes(before, key), 1)
        if after is not None:
            self._change(self._pair_prefixes(key, after), 1)

    def remove_key(self, key: int, before: int | None, after: int | None) -> None:
        self._change((self._prefix(key, 16),), -1)
        if before is not None:
            self._change(self._pair_prefixes(before, key), -1)
        if after is not None:
            self._change(self._pair_prefixes(key, after), -1)
        if before is not None and after is not None:
            self._change(self._pair_prefixes(before, after), 1)

    @property
    def node_count(self) -> int:
        return len(self.refs)

    def copy(self) -> RaxShape:
        clone = RaxShape()
        clone.refs = dict(self.refs)
        return clone


# -- consumer groups ------------------------------------------------------------------------------

class PendingEntry:
    """A delivered, not yet acknowledged entry: who has it, when it was delivered, how often."""

    __slots__ = ("consumer", "delivery_time", "delivery_count")

    def __init__(self, consumer: Consumer | None, delivery_time: int, delivery_count: int = 1) -> None:
        self.consumer = consumer
        self.delivery_time = delivery_time
        self.delivery_count = delivery_count


class Consumer:
    __slots__ = ("name", "seen_time", "active_time", "pel")

    def __init__(self, name: bytes, now_ms: int) -> None:
        self.name = name
        self.seen_time = now_ms  # last time it attempted anything (read, claim)
        self.active_time = -1  # last successful delivery or claim; -1: never
        self.pel: SortedDict[int, PendingEntry] = SortedDict()


class ConsumerGroup:
    __slots__ = ("name", "last_id", "entries_read", "pel", "consumers")

    def __init__(self, name: bytes, last_id: int, entries_read: int) -> None:
        self.name = name
        self.last_id = last_id
        self.entries_read = entries_read
        self.pel: SortedDict[int, PendingEntry] = SortedDict()
        self.consumers: dict[bytes, Consumer] = {}

    def add_consumer(self, name: bytes, now_ms: int) -> Consumer | None:
        """Create a consumer; None when one with that name exists."""
        if name in self.consumers:
            return None
        consumer = self.consumers[name] = Consumer(name, now_ms)
        return consumer

    def sorted_consumers(self) -> list[Consumer]:
        """Consumers in Redis's order (its rax sorts them by name bytes)."""
        return [self.consumers[name] for name in sorted(self.consumers)]

    def delete_consumer(self, consumer: Consumer) -> int:
        """Remove a consumer and its pending entries; returns how many it had pending."""
        pending = len(consumer.pel)
        for stream_id in consumer.pel:
            del self.pel[stream_id]
        del self.consumers[consumer.name]
        return pending

    def acknowledge(self, stream_id: int) -> bool:
        pending = self.pel.pop(stream_id, None)
        if pending is None:
            return False
        del pending.consumer.pel[stream_id]
        return True

    def assign(self, stream_id: int, pending: PendingEntry, consumer: Consumer) -> None:
        """Make consumer the owner of a pending entry (moving it out of its old owner's PEL)."""
        owner = pending.consumer
        if owner is not consumer:
            if owner is not None:
                del owner.pel[stream_id]
            consumer.pel[stream_id] = pending
            pending.consumer = consumer

    def record_delivery(self, stream_id: int, consumer: Consumer, now_ms: int) -> None:
        """A `>` read delivered stream_id to consumer: a fresh PEL entry, or a reassigned one
        (possible after XGROUP SETID moved the group back), with its count restarted."""
        pending = self.pel.get(stream_id)
        if pending is None:
            pending = self.pel[stream_id] = PendingEntry(consumer, now_ms)
            consumer.pel[stream_id] = pending
        else:
            self.assign(stream_id, pending, consumer)
            pending.delivery_time = now_ms
            pending.delivery_count = 1

    def copy(self) -> ConsumerGroup:
        clone = ConsumerGroup(self.name, self.last_id, self.entries_read)
        for name, consumer in self.consumers.items():
            twin = clone.consumers[name] = Consumer(name, consumer.seen_time)
            twin.active_time = consumer.active_time
        for stream_id, pending in self.pel.items():
            owner = clone.consumers[pending.consumer.name]
            copied = PendingEntry(owner, pending.delivery_time, pending.delivery_count)
            clone.pel[stream_id] = copied
            owner.pel[stream_id] = copied
        return clone


# -- the stream -----------------------------------------------------------------------------------

class Stream:
    """A Redis stream. See the module docstring for the layout."""

    TYPE_NAME = "stream"
    __slots__ = ("nodes", "node_ids", "length", "last_id", "first_id", "max_deleted_id", "entries_added",
                 "groups", "wake_serial", "rax")

    def __init__(self) -> None:
        self.nodes: list[StreamNode] = []
        self.node_ids: list[int] = []  # master ID of each node, for bisecting
        self.length = 0
        self.last_id = 0
        self.first_id = 0  # recorded-first-entry-id: 0 when empty
        self.max_deleted_id = 0
        self.entries_added = 0
        self.groups: dict[bytes, ConsumerGroup] = {}
        # Bumped when blocked readers must look again (XADD, XGROUP DESTROY), as Redis signals
        # the key as ready only for those: other writes (XACK, SETID...) never wake a reader.
        self.wake_serial = 0
        self.rax = RaxShape()

    def __len__(self) -> int:
        return self.length

    def encoding(self, server: object) -> str:
        return "stream"

    def copy(self) -> Stream:
        clone = Stream()
        clone.nodes = [node.copy() for node in self.nodes]
        clone.node_ids = self.node_ids[:]
        for attr in ("length", "last_id", "first_id", "max_deleted_id", "entries_added"):
            setattr(clone, attr, getattr(self, attr))
        clone.groups = {name: group.copy() for name, group in self.groups.items()}
        clone.rax = self.rax.copy()
        return clone

    # -- adding -------------------------------------------------------------------------------

    def next_auto_id(self, now_ms: int) -> int | None:
        """The ID `*` generates: the clock, or the last ID's successor; None if that overflows."""
        if now_ms > self.last_id >> 64:
            return now_ms << 64
        return self.last_id + 1 if self.last_id < MAX_ID else None

    def append(self, stream_id: int, fields_values: Fields, max_bytes: int, max_entries: int) -> None:
        """Add an entry (stream_id must be above last_id), opening a node when the tail is full."""
        nodes = self.nodes
        tail = nodes[-1] if nodes else None
        if tail is not None:
            limit = max_bytes if 0 < max_bytes <= LISTPACK_MAX_SIZE else LISTPACK_MAX_SIZE
            if tail.listpack_bytes() + sum(map(len, fields_values)) >= limit or (
                    max_entries and tail.live + tail.deleted >= max_entries):
                tail = None
        if tail is None:
            tail = StreamNode(stream_id, fields_values[0::2])
            self.rax.add_key(stream_id, self.node_ids[-1] if nodes else None, None)
            nodes.append(tail)
            self.node_ids.append(stream_id)
        tail.append(stream_id, fields_values)
        self.length += 1
        self.entries_added += 1
        self.last_id = stream_id
        if self.length == 1:
            self.first_id = stream_id

    # -- reading ------------------------------------------------------------------------------

    def _locate(self, stream_id: int) -> tuple[int, int]:
        """(node index, entry index) where entries >= stream_id start (tombstones included)."""
        index = bisect_right(self.node_ids, stream_id) - 1
        if index < 0:
            return 0, 0
        return index, bisect_left(self.nodes[index].ids, stream_id)

    def entries(self, start: int = 0, end: int = MAX_ID) -> Iterator[Entry]:
        """Live entries with start <= ID <= end, oldest first."""
        nodes = self.nodes
        node_index, position = self._locate(start)
        while node_index < len(nodes):
            node = nodes[node_index]
            ids, items = node.ids, node.items
            for index in range(max(position, node.first_live), len(ids)):
                stream_id = ids[index]
                if stream_id > end:
                    return
                item = items[index]
                if item is not None:
                    yield stream_id, item
            node_index += 1
            position = 0

    def entries_reversed(self, start: int = 0, end: int = MAX_ID) -> Iterator[Entry]:
        """Live entries with start <= ID <= end, newest first."""
        nodes = self.nodes
        node_index = bisect_right(self.node_ids, end) - 1
        if node_index < 0:
            return
        position = bisect_right(nodes[node_index].ids, end) - 1
        while node_index >= 0:
            node = nodes[node_index]
            ids, items = node.ids, node.items
            for index in range(position, node.first_live - 1, -1):
                stream_id = ids[index]
                if stream_id < start:
                    return
                item = items[index]
                if item is not None:
                    yield stream_id, item
            node_index -= 1
            if node_index >= 0:
                position = len(nodes[node_index].ids) - 1

    def _find(self, stream_id: int) -> tuple[int, int] | None:
        """(node index, entry index) of a live entry, or None."""
        node_index, position = self._locate(stream_id)
        if node_index < len(self.nodes):
            node = self.nodes[node_index]
            if position < len(node.ids) and node.ids[position] == stream_id and node.items[position] is not None:
                return node_index, position
        return None

    def get(self, stream_id: int) -> Fields | None:
        """The fields of a live entry, or None."""
        found = self._find(stream_id)
        return None if found is None else self.nodes[found[0]].items[found[1]]

    def first_entry(self) -> Entry | None:
        return next(self.entries(), None)

    def last_entry(self) -> Entry | None:
        return next(self.entries_reversed(), None)

    def last_valid_id(self) -> int:
        """ID of the newest live entry (0 when empty): what readers compare against."""
        entry = self.last_entry()
        return entry[0] if entry is not None else 0

    # -- removing -----------------------------------------------------------------------------

    def _drop_node(self, index: int) -> None:
        node_ids = self.node_ids
        key = node_ids[index]
        before = node_ids[index - 1] if index > 0 else None
        after = node_ids[index + 1] if index + 1 < len(node_ids) else None
        self.rax.remove_key(key, before, after)
        del self.nodes[index]
        del node_ids[index]

    def _refresh_first_id(self) -> None:
        entry = self.first_entry() if self.length else None
        self.first_id = entry[0] if entry is not None else 0

    def delete(self, stream_id: int) -> bool:
        """XDEL one entry: leaves a tombstone, or frees the node if it was its last live entry."""
        found = self._find(stream_id)
        if found is None:
            return False
        node_index, position = found
        node = self.nodes[node_index]
        if node.live == 1:
            self._drop_node(node_index)
        else:
            node.mark_deleted(position)
        self.length -= 1
        if stream_id > self.max_deleted_id:
            self.max_deleted_id = stream_id
        return True

    def delete_many(self, ids: list[int]) -> int:
        """XDEL: delete each ID, then fix the recorded first ID once. Returns how many went."""
        first_deleted = False
        deleted = 0
        for stream_id in ids:
            if self.delete(stream_id):
                deleted += 1
                first_deleted = first_deleted or stream_id == self.first_id
        if deleted and (self.length == 0 or first_deleted):
            self._refresh_first_id()
        return deleted

    def trim(self, maxlen: int | None, minid: int, approx: bool, limit: int) -> int:
        """Remove head entries until at most maxlen remain (or none is below minid when maxlen is
        None). `approx` only removes whole nodes; `limit` (0: none) caps the entries removed.
        Returns the number of entries removed."""
        removed = 0
        while self.nodes:
            if maxlen is not None and self.length <= maxlen:
                break
            node = self.nodes[0]
            if limit and removed + node.live > limit:
                break
            # MINID compares the node's last stored ID, tombstone or not, as Redis does.
            whole_node = self.length - node.live >= maxlen if maxlen is not None else node.ids[-1] < minid
            if whole_node:
                self.length -= node.live
                removed += node.live
                self._drop_node(0)
                continue
            if not approx:
                removed += self._trim_inside(node, maxlen, minid)
            break
        if self.length == 0:
            self.first_id = 0
        elif removed:
            self._refresh_first_id()
        return removed

    def _trim_inside(self, node: StreamNode, maxlen: int | None, minid: int) -> int:
        """Exact trimming within the head node: tombstone entries from its start."""
        ids, items = node.ids, node.items
        removed = 0
        for index in range(node.first_live, len(ids)):
            if (self.length <= maxlen) if maxlen is not None else (ids[index] >= minid):
                break
            if items[index] is not None:
                node.mark_deleted(index)
                self.length -= 1
                removed += 1
        return removed

    # -- consumer group bookkeeping -------------------------------------------------------------

    def has_tombstone_between(self, start: int, end: int = MAX_ID) -> bool:
        """Whether a deleted entry may lie in [start, end], judged by max_deleted_entry_id."""
        deleted = self.max_deleted_id
        if not self.length or not deleted or self.first_id > deleted:
            return False
        return start <= deleted <= end

    def estimate_reads(self, stream_id: int) -> int:
        """How many entries were ever added up to stream_id, when that can be known (else
        INVALID_READS): the logical read counter a group at that ID has."""
        if not self.entries_added:
            return 0
        if not self.length and stream_id <= self.last_id:
            return self.entries_added
        if stream_id == self.last_id:
            return self.entries_added
        if stream_id > self.last_id:
            return INVALID_READS
        if not self.max_deleted_id or self.max_deleted_id < self.first_id:
            if stream_id < self.first_id:
                return self.entries_added - self.length
            if stream_id == self.first_id:
                return self.entries_added - self.length + 1
        return INVALID_READS

    def lag(self, group: ConsumerGroup) -> int | None:
        """Entries not yet delivered to the group, or None when tombstones make it unknowable."""
        if not self.entries_added:
            return 0
        if group.entries_read != INVALID_READS and not self.has_tombstone_between(group.last_id):
            return self.entries_added - group.entries_read
        reads = self.estimate_reads(group.last_id)
        return self.entries_added - reads if reads != INVALID_READS else None

    def deliver(self, group: ConsumerGroup, consumer: Consumer, start: int, count: int, noack: bool,
                now_ms: int) -> list[Entry]:
        """A `>` read: entries from start on (count 0: all), advancing the group's last ID and
        read counter, and recording each delivery in the PELs unless noack."""
        delivered = []
        for stream_id, fields in self.entries(start):
            if stream_id > group.last_id:
                if group.entries_read != INVALID_READS and not self.has_tombstone_between(stream_id):
                    group.entries_read += 1
                elif self.entries_added:
                    group.entries_read = self.estimate_reads(stream_id)
                group.last_id = stream_id
            delivered.append((stream_id, fields))
            if not noack:
                group.record_delivery(stream_id, consumer, now_ms)
                consumer.active_time = now_ms
            if len(delivered) == count:
                break
        return delivered

    def consumer_history(self, consumer: Consumer, start: int, count: int,
                         now_ms: int) -> list[tuple[int, Fields | None]]:
        """An XREADGROUP with an explicit ID: the consumer's pending entries from start on.
        Entries deleted from the stream come back with None fields; the others count as
        delivered again."""
        history: list[tuple[int, Fields | None]] = []
        pel = consumer.pel
        for stream_id in pel.irange(minimum=start):
            if count and len(history) >= count:
                break
            fields = self.get(stream_id)
            if fields is not None:
                pending = pel[stream_id]
                pending.delivery_time = now_ms
                pending.delivery_count += 1
            history.append((stream_id, fields))
        return history

    # -- introspection --------------------------------------------------------------------------

    def rax_size(self) -> tuple[int, int]:
        """(radix-tree-keys, radix-tree-nodes) as XINFO STREAM reports them."""
        return len(self.nodes), self.rax.node_count
