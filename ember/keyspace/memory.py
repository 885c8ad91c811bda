"""What a key would take in Redis's memory: the estimate maxmemory is enforced against.

Ember's process is a Python interpreter (tens of MB before any key exists), so its RSS says
little about the data. maxmemory instead bounds an estimate of what Redis itself would
allocate for the same keys: its per-key overhead (dict entry, key and value objects) plus the
elements, with collections sampled as MEMORY USAGE does (a few elements, scaled to the
length), so a limit carried over from redis.conf admits about as much data as it did there.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from .hashes import Hash
from .lists import ListValue
from .sets import RedisSet
from .streams import Stream
from .zsets import ZSet

# Redis's own per-key cost: the dict entry (24), the key sds (header + NUL) and the value's
# robj (16), rounded to the allocator's classes.
KEY_OVERHEAD = 48
STRING_OVERHEAD = 16  # sds header and NUL of a string value
COLLECTION_OVERHEAD = 64  # the collection's own header (quicklist, dict, skiplist)
STREAM_OVERHEAD = 4600  # a stream's rax and its first listpack node, allocated whole (4 KB)
# Per element on top of its bytes: a listpack entry (small collections), else a quicklist
# entry, dict entry (sets, hashes) or dict entry plus skiplist node (sorted sets).
LISTPACK_ENTRY = 4
_ELEMENT_OVERHEAD = {ListValue: 11, RedisSet: 60, Hash: 60, ZSet: 96, Stream: 0}
SAMPLES = 5  # MEMORY USAGE's default sample


def key_size(key: bytes, value: Any, samples: int | None = SAMPLES) -> int:
    """Estimated bytes Redis would use for key holding value, collections sampled from their
    first `samples` elements (None: all of them)."""
    return KEY_OVERHEAD + len(key) + value_size(value, samples)


def value_size(value: Any, samples: int | None = SAMPLES) -> int:
    if value.__class__ is bytes or value.__class__ is bytearray:
        return STRING_OVERHEAD + len(value)
    count = len(value)
    sample = _sample_lengths(value, samples)
    overhead = STREAM_OVERHEAD if value.__class__ is Stream else COLLECTION_OVERHEAD
    if not count or not sample:
        return overhead
    per_element = sum(sample) / len(sample) + _element_overhead(value)
    return overhead + int(per_element * count)


def _element_overhead(value: Any) -> int:
    compact = ((value.__class__ is Hash and value.listpack) or (value.__class__ is ZSet and not value.skiplist)
               or (value.__class__ is RedisSet and value.is_compact()))
    return LISTPACK_ENTRY if compact else _ELEMENT_OVERHEAD.get(value.__class__, 16)


def _sample_lengths(value: Any, samples: int | None) -> list[int]:
    """Bytes of the first elements (members, fields with their values, entries)."""
    if isinstance(value, Hash):
        return [len(field) + len(item) for field, item in islice(value.fields.items(), samples)]
    if isinstance(value, ZSet):
        return [len(member) + 8 for member in islice(value.scores, samples)]
    if isinstance(value, RedisSet):
        return [len(member) for member in islice(value.members, samples)]
    if isinstance(value, Stream):
        return [sum(map(len, fields)) for _, fields in islice(value.entries(), samples)]
    return [len(element) for element in islice(value, samples)]  # lists
