"""SORT and SORT_RO (Redis's sort.c): sort a list, set or sorted set numerically or
lexicographically, optionally by external keys (BY pattern, with "->field" for hash fields),
take a LIMIT window, fetch external values (GET), and store the result as a list (STORE).

Redis's order is reproduced exactly:
- numeric sort compares the doubles strtod reads from each element (or BY value), and breaks ties
  by comparing the elements' bytes, so the order is total; a value strtod can't read whole,
  NaN or out of range (ERANGE) fails the command after the lookups;
- ALPHA compares with strcoll when replying (the C.UTF-8 locale: bytes up to the first NUL) and
  with a binary compare when storing; BY values missing sort first;
- ties left by ALPHA sorting keep the input order, as glibc's merge-sort qsort does (Python's sort
  is stable too);
- BY without '*' ("nosort") keeps the native order of lists and sorted sets (reversed for DESC,
  with LIMIT applied directly), while a set is forced into an ALPHA sort when storing or inside
  a script, so replicas and script effects are deterministic;
- sorting a sorted set converts it to the skiplist encoding, as Redis does (OBJECT ENCODING).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ..keyspace.database import type_name
from ..keyspace.lists import ListValue
from ..protocol.errors import SYNTAX, WRONGTYPE, CommandError
from .geo import partial_quicksort
from .table import command, parse_int

if TYPE_CHECKING:
    from ..keyspace.database import Database
    from ..server.client import Client

GROUP = "generic"
SORTABLE_TYPES = ("list", "set", "zset")
SCORE_ERROR = "ERR One or more scores can't be converted into double"
COMPLEXITY = ("O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the "
              "number of returned elements. When the elements are not sorted, complexity is O(N).")
DBL_MIN = 2.2250738585072014e-308


# -- key patterns -------------------------------------------------------------------------------

class KeyPattern:
    """A BY/GET pattern (lookupKeyByPattern): "#" is the element itself; otherwise the first '*'
    is replaced by the element to name a string key, or a hash key and field when "->field"
    follows the '*'. Like Redis's C string functions, '*', '->' and "#" are only recognised
    before the first NUL byte of the pattern."""

    __slots__ = ("is_self", "prefix", "suffix", "field")

    def __init__(self, pattern: bytes) -> None:
        visible = pattern.split(b"\0", 1)[0]
        self.is_self = visible == b"#"
        star = visible.find(b"*")
        self.prefix: bytes | None = None if star < 0 else pattern[:star]
        self.field: bytes | None = None
        key_end = len(pattern)
        if star >= 0:
            arrow = visible.find(b"->", star + 1)
            if 0 <= arrow < len(visible) - 2:  # a non-empty field name follows the arrow
                self.field = pattern[arrow + 2:]
                key_end = arrow
        self.suffix = pattern[star + 1:key_end]

    def lookup(self, db: Database, element: bytes) -> bytes | None:
        """The value the pattern names for element, or None (missing key or field, wrong type)."""
        if self.is_self:
            return element
        if self.prefix is None:
            return None
        value = db.read(self.prefix + element + self.suffix)
        if value is None:
            return None
        if self.field is not None:
            return value.get(self.field) if type_name(value) == "hash" else None
        if value.__class__ is bytearray:
            return bytes(value)
        return value if value.__class__ is bytes else None


def has_star(pattern: bytes) -> bool:
    return b"*" in pattern.split(b"\0", 1)[0]


# -- options ----------------------------------------------------------------------------------

@dataclass(slots=True)
class SortOptions:
    descending: bool = False
    alpha: bool = False
    offset: int = 0
    count: int = -1
    store: bytes | None = None
    by: KeyPattern | None = None
    dont_sort: bool = False  # BY with a pattern without '*'
    gets: list[KeyPattern] = field(default_factory=list)


def parse_sort_options(args: list[bytes], read_only: bool) -> SortOptions:
    options = SortOptions()
    j = 2
    while j < len(args):
        word, remaining = args[j].lower(), len(args) - j - 1
        if word == b"asc":
            options.descending = False
        elif word == b"desc":
            options.descending = True
        elif word == b"alpha":
            options.alpha = True
        elif word == b"limit" and remaining >= 2:
            options.offset, options.count = parse_int(args[j + 1]), parse_int(args[j + 2])
            j += 2
        elif word == b"store" and remaining >= 1 and not read_only:
            options.store = args[j + 1]
            j += 1
        elif word == b"by" and remaining >= 1:
            options.by = KeyPattern(args[j + 1])
            options.dont_sort |= not has_star(args[j + 1])  # once set, a later BY can't undo it
            j += 1
        elif word == b"get" and remaining >= 1:
            options.gets.append(KeyPattern(args[j + 1]))
            j += 1
        else:
            raise CommandError(SYNTAX)
        j += 1
    return options


def sort_keys(args: list[bytes]) -> list[int]:
    """Key positions of SORT: the sorted key and the last STORE destination (sortGetKeys)."""
    store = None
    i = 2
    while i < len(args):
        word = args[i].lower()
        if word == b"limit":
            i += 2
        elif word in (b"get", b"by"):
            i += 1
        elif word == b"store" and i + 1 < len(args):
            store = i + 1
        i += 1
    return [1] if store is None else [1, store]


# -- numbers as strtod reads them ---------------------------------------------------------------

_STRTOD = re.compile(rb"""[ \t\n\v\f\r]*(?P<number>[+-]?(?:
      (?P<hex>0[xX](?P<mantissa>[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP](?P<power>[+-]?[0-9]+))?)
    | (?P<decimal>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    | (?P<inf>[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)
    | (?P<nan>[nN][aA][nN](?:\([0-9A-Za-z_]*\))?)
))""", re.VERBOSE)


def strtod_score(raw: bytes) -> float | None:
    """The double glibc's strtod reads from raw as a C string (up to the first NUL), or None
    when SORT must refuse it: not consumed whole, NaN, or out of range (ERANGE: overflow, or an
    inexact result below the smallest normal double)."""
    text = raw.split(b"\0", 1)[0]
    if not text:
        return 0.0  # strtod converts nothing, and the end pointer is already at the NUL
    found = _STRTOD.fullmatch(text)
    if found is None or found["nan"] is not None:
        return None
    number = found["number"].decode()
    try:
        value = float.fromhex(number) if found["hex"] is not None else float(number)
    except OverflowError:  # float.fromhex refuses what strtod would turn into HUGE_VAL
        return None
    if math.isinf(value):
        return value if found["inf"] is not None else None
    if abs(value) < DBL_MIN and not _tiny_result_is_exact(found, abs(value)):
        return None
    return value


def _tiny_result_is_exact(found: re.Match[bytes], magnitude: float) -> bool:
    """Whether a result below DBL_MIN equals the numeral exactly (glibc sets ERANGE when it
    doesn't). A zero significand is exact, a zero result from a non-zero one is not; otherwise
    the numeral's magnitude is close to the result, so its exponent is small."""
    if found["hex"] is not None:
        whole, _, fraction = found["mantissa"].decode().partition(".")
        significand = int(whole + fraction or "0", 16)
        if not significand or not magnitude:
            return not significand
        exact = Fraction(significand, 16 ** len(fraction)) * Fraction(2) ** int(found["power"] or 0)
    else:
        mantissa, _, exponent = found["decimal"].decode().lower().partition("e")
        significant = mantissa.replace(".", "").strip("0")
        if not significant or not magnitude:
            return not significant
        exact = Fraction(mantissa) * Fraction(10) ** int(exponent or 0)
    return Fraction(magnitude) == exact


# -- sorting --------------------------------------------------------------------------------------

def limit_window(offset: int, count: int, length: int) -> tuple[int, int]:
    """LIMIT as Redis clamps it: the inclusive [start, end] of the output (empty if end < start)."""
    start = min(max(offset, 0), length)
    count = min(max(count, -1), length)
    end = length - 1 if count < 0 else start + count - 1
    if start >= length:
        start, end = length - 1, length - 2
    return start, min(end, length - 1)


def native_window(value: Any, kind: str, descending: bool, start: int, end: int) -> list[bytes]:
    """Elements start..end of a list or sorted set in their own order, from the tail for DESC."""
    if end < start:
        return []
    length, taken = len(value), end - start + 1
    if kind == "list":
        if not descending:
            return value.range(start, end)
        elements = value.range(length - start - taken, length - start - 1)
        elements.reverse()
        return elements
    if not descending:
        return [member for _, member in value.slice(start, start + taken)]
    return [member for _, member in value.slice(length - start - taken, length - start, reverse=True)]


def all_elements(value: Any, kind: str) -> list[bytes]:
    """Every element in the order Redis iterates the value."""
    if kind == "list":
        return list(value)
    if kind == "set":
        return value.ordered_elements()
    return list(value.scores)  # a sorted set's dict, whose order Redis leaves unspecified


def c_string(element: bytes) -> bytes:
    """What strcoll compares under the C.UTF-8 locale: the bytes before the first NUL."""
    return element.split(b"\0", 1)[0] if b"\0" in element else element


def sort_keys_of(db: Database, elements: list[bytes], options: SortOptions,
                 storing: bool) -> dict[bytes, Any]:
    """Each element's sort key, following sortCompare: (score, element) numerically (ties
    broken by the bytes), the bytes (up to a NUL unless storing) for ALPHA, and for ALPHA BY
    the looked-up value with missing ones first. Lookups run once per element, as in Redis."""
    by = options.by
    if options.alpha:
        compared = (lambda value: value) if storing else c_string
        if by is None:
            return {element: compared(element) for element in elements}
        keys = {}
        for element in elements:
            value = by.lookup(db, element)
            keys[element] = (False, b"") if value is None else (True, compared(value))
        return keys
    keys, failed = {}, False
    for element in elements:
        value = element if by is None else by.lookup(db, element)
        score = 0.0 if value is None else strtod_score(value)
        if score is None:
            failed, score = True, 0.0
        keys[element] = (score, element)
    if failed:
        raise CommandError(SCORE_ERROR)
    return keys


def sort_elements(db: Database, elements: list[bytes], options: SortOptions, storing: bool,
                  start: int, end: int) -> None:
    """Sort elements in place as Redis does. Redis uses glibc's qsort (a stable merge sort),
    except with BY and a LIMIT window, where its partial quicksort (pqsort, shared with GEO)
    leaves equal keys in its own order; only then, and only if different elements tie, is that
    slower step-by-step algorithm run."""
    keys = sort_keys_of(db, elements, options, storing)
    partial = options.by is not None and (start != 0 or end != len(elements) - 1)
    if partial and len(set(keys.values())) < len(keys):
        sign = -1 if options.descending else 1

        def compare(x: bytes, y: bytes) -> int:
            kx, ky = keys[x], keys[y]
            return sign * ((kx > ky) - (kx < ky))

        partial_quicksort(elements, 0, len(elements), compare, start, end)
    else:
        elements.sort(key=keys.__getitem__, reverse=options.descending)


def sort_generic(client: Client, args: list[bytes], read_only: bool):
    options = parse_sort_options(args, read_only)
    db = client.db
    value = db.read(args[1])
    kind = "list" if value is None else type_name(value)
    if kind not in SORTABLE_TYPES:
        raise CommandError(WRONGTYPE)
    storing = options.store is not None
    if options.dont_sort and kind == "set" and (storing or client is client.server.scripts.script_client):
        options.dont_sort, options.alpha, options.by = False, True, None  # a deterministic order
    if kind == "zset":
        value.skiplist = True  # Redis converts the value itself before sorting
    length = 0 if value is None else len(value)
    start, end = limit_window(options.offset, options.count, length)
    if options.dont_sort and kind != "set":
        elements = native_window(value, kind, options.descending, start, end)
        start, end = 0, len(elements) - 1
    else:
        elements = [] if value is None else all_elements(value, kind)
        if not options.dont_sort:
            sort_elements(db, elements, options, storing, start, end)
    window = elements[start:end + 1] if end >= start else []
    if not storing:
        return sort_output(db, window, options.gets, missing=None)
    return store_sorted(client, options.store, sort_output(db, window, options.gets, missing=b""))


def sort_output(db: Database, window: list[bytes], gets: list[KeyPattern],
                missing: bytes | None) -> list[bytes | None]:
    """The window's elements, or for each element the values its GET patterns name."""
    if not gets:
        return window
    return [missing if (found := get.lookup(db, element)) is None else found
            for element in window for get in gets]


def store_sorted(client: Client, key: bytes, values: list[bytes]) -> int:
    """STORE: the output replaces key as a list (deleting key when empty)."""
    db = client.db
    if values:
        db.lookup(key)  # a due key expires before it is overwritten
        db.set(key, ListValue.from_elements(values, client.server.config["list-max-listpack-size"]))
        db.modified(key, len(values) - 1)  # Redis counts one change per stored element
        client.server.notifier.notify(db, "l", "sortstore", key)
    elif db.delete(key):
        client.server.notifier.notify(db, "g", "del", key)
    return len(values)


@command("sort", -2, flags="write denyoom", keys=(1, 1, 1), get_keys=sort_keys,
         acl="set sortedset list dangerous", group=GROUP, since="1.0.0", complexity=COMPLEXITY,
         summary="Sorts the elements in a list, a set, or a sorted set, optionally storing the result.")
def sort(client: Client, args: list[bytes]):
    return sort_generic(client, args, read_only=False)


@command("sort_ro", -2, flags="readonly", keys=(1, 1, 1), get_keys=lambda args: [1],
         acl="set sortedset list dangerous", group=GROUP, since="7.0.0", complexity=COMPLEXITY,
         summary="Returns the sorted elements of a list, a set, or a sorted set.")
def sort_ro(client: Client, args: list[bytes]):
    return sort_generic(client, args, read_only=True)
