"""The hash value type (HSET & co).

A `Hash` is a dict field -> value. Dicts keep insertion order and keep it across deletions and
in-place updates, which is exactly the order of Redis's listpack encoding (HGETALL of a small hash
lists fields as they were first set), so one structure serves both encodings; Redis's hashtable
order is unspecified. Lookups, updates and deletions are O(1) as in Redis's dict.

Redis keeps a hash in a listpack until it has more than `hash-max-listpack-entries` fields or a
field or value longer than `hash-max-listpack-value` bytes, then converts it to a hashtable for
good; `listpack` records that state for OBJECT ENCODING. HRANDFIELD's O(1) random picks and
HSCAN's stable cursors come from the lazily built indexes of `IndexedCollection` (see
`keyspace.sets`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from .sets import IndexedCollection

if TYPE_CHECKING:
    from ..server.app import Server


class HashLimits(NamedTuple):
    """The listpack thresholds in force for one command."""

    entries: int
    value: int


def hash_limits(server: Server) -> HashLimits:
    values = server.config.values  # the canonical names: no alias lookup on HSET's path
    return _limits(values["hash-max-listpack-entries"], values["hash-max-listpack-value"])


# Limits for given settings, made once: building a NamedTuple costs more than HSET's own work.
_limits = functools.lru_cache(maxsize=16)(HashLimits)


class Hash(IndexedCollection):
    TYPE_NAME = "hash"
    __slots__ = ("fields", "listpack")

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[bytes, bytes] = {}
        self.listpack = True

    def __len__(self) -> int:
        return len(self.fields)

    def encoding(self, server: Server) -> str:
        return "listpack" if self.listpack else "hashtable"

    def copy(self) -> Hash:
        duplicate = Hash()
        duplicate.fields = self.fields.copy()
        duplicate.listpack = self.listpack
        return duplicate

    def get(self, field: bytes) -> bytes | None:
        return self.fields.get(field)

    def prepare(self, pairs: list[bytes], limits: HashLimits) -> None:
        """Before writing field/value `pairs`: go to a hashtable if they can't all fit a listpack
        (Redis's hashTypeTryConversion, which since 7.2 also counts the pairs up front)."""
        if self.listpack and (len(pairs) // 2 > limits.entries or max(map(len, pairs)) > limits.value):
            self.listpack = False

    def set(self, field: bytes, value: bytes, limits: HashLimits) -> bool:
        """Set field to value; True when the field is new."""
        fields = self.fields
        if self.listpack and (len(field) > limits.value or len(value) > limits.value):
            self.listpack = False
        created = field not in fields
        fields[field] = value
        if created:
            self._indexed_add(field)
            if self.listpack and len(fields) > limits.entries:
                self.listpack = False
        return created

    def remove(self, field: bytes) -> bool:
        fields = self.fields
        if field not in fields:
            return False
        del fields[field]
        self._indexed_discard(field)
        return True

    def _elements(self) -> Iterable[bytes]:
        return self.fields

    def ordered_elements(self) -> list[bytes]:
        return list(self.fields)

    def is_listpack(self) -> bool:
        return self.listpack

    is_compact = is_listpack
