"""DEBUG DIGEST and DEBUG DIGEST-VALUE: Redis's dataset digest (debug.c), bit for bit.

Two SHA1-based combinators build it:
- xor_digest(d, data):  d ^= SHA1(data)              order-insensitive (set members, keys,
                                                      pairs: data is then another digest)
- mix_digest(d, data):  d = SHA1(d ^ SHA1(data))      order-sensitive (list elements, ...)
A key's digest mixes the key, the type number (4 bytes, big endian), the value by type, and
xors "!!expire!!" when the key has a TTL. Sets xor their members; hashes and sorted sets xor
one mixed digest per field/value or member/score pair (scores as fpconv_dtoa prints them, the
shortest round-trip form Redis 7.2 uses); lists and streams mix their elements in order
(stream entries as "<ms>.<seq>" then each field and value). The dataset digest mixes each
non-empty database's number (4 bytes, big endian) and xors the key digests of that database,
logically expired keys included, as Redis's dictionary walk includes them. So the same data
gives the same digest in Ember and in Redis.
"""

from __future__ import annotations

from hashlib import sha1
from typing import TYPE_CHECKING, Any

from ..keyspace.hashes import Hash
from ..keyspace.lists import ListValue
from ..keyspace.sets import RedisSet
from ..keyspace.streams import SEQ_MASK, Stream
from ..keyspace.zsets import ZSet
from ..protocol.encoder import _grisu2_text, format_double

if TYPE_CHECKING:
    from ..keyspace.database import Database
    from ..server.app import Server

ZERO = 0
_EXPIRE_MARK = b"!!expire!!"
# Redis's OBJ_* type numbers, which the digest mixes in.
_OBJECT_TYPES: dict[type, int] = {bytes: 0, bytearray: 0, ListValue: 1, RedisSet: 2, ZSet: 3, Hash: 4, Stream: 6}


def _sha1_int(data: bytes) -> int:
    return int.from_bytes(sha1(data).digest(), "big")


def xor_digest(digest: int, data: bytes) -> int:
    return digest ^ _sha1_int(data)


def mix_digest(digest: int, data: bytes) -> int:
    return _sha1_int((digest ^ _sha1_int(data)).to_bytes(20, "big"))


def fpconv_dtoa(value: float) -> bytes:
    """A double as Redis's fpconv_dtoa prints it (not d2string: no integer shortcut)."""
    if value == 0 or value != value or value in (float("inf"), float("-inf")):
        return format_double(value).encode()
    return _grisu2_text(value).encode()


def xor_digest_of_digest(digest: int, other: int) -> int:
    """xorDigest with another 20-byte digest as the data: digest ^ SHA1(other)."""
    return digest ^ _sha1_int(other.to_bytes(20, "big"))


def _pairs_digest(pairs) -> int:
    """The xor over pairs of SHA1(mix(mix(0, first), second)): hashes and sorted sets."""
    result = 0
    for first, second in pairs:
        result = xor_digest_of_digest(result, mix_digest(mix_digest(0, first), second))
    return result


def _stream_digest(digest: int, stream: Stream) -> int:
    for stream_id, fields_values in stream.entries():
        digest = mix_digest(digest, b"%d.%d" % (stream_id >> 64, stream_id & SEQ_MASK))
        for item in fields_values:
            digest = mix_digest(digest, item)
    return digest


def value_digest(db: Database, key: bytes, value: Any, digest: int = 0) -> int:
    """xorObjectDigest: the value's digest mixed into `digest` (the key is not included)."""
    cls = value.__class__
    digest = mix_digest(digest, _OBJECT_TYPES[cls].to_bytes(4, "big"))
    if cls is bytes or cls is bytearray:
        digest = mix_digest(digest, bytes(value))
    elif cls is ListValue:
        for element in value.items:
            digest = mix_digest(digest, element)
    elif cls is RedisSet:
        for member in value.members:
            digest ^= _sha1_int(member)
    elif cls is ZSet:
        digest ^= _pairs_digest((member, fpconv_dtoa(score)) for member, score in value.scores.items())
    elif cls is Hash:
        digest ^= _pairs_digest(value.fields.items())
    else:
        digest = _stream_digest(digest, value)
    if key in db.expires:
        digest ^= _sha1_int(_EXPIRE_MARK)
    return digest


def dataset_digest(server: Server) -> int:
    """computeDatasetDigest over every database."""
    final = 0
    for db in server.dbs:
        if not db.data:
            continue
        final = mix_digest(final, db.id.to_bytes(4, "big"))
        for key, value in db.data.items():
            final = xor_digest_of_digest(final, value_digest(db, key, value, mix_digest(0, key)))
    return final


def hex_digest(digest: int) -> str:
    return digest.to_bytes(20, "big").hex()
